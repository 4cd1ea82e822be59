//! Distribution file names: wheels (`name-ver(-build)?-py-abi-plat.whl`,
//! with compressed tag sets like `py2.py3`) and sdists (`name-ver.tar.gz`,
//! legacy `.zip`, `.tar.bz2`, `.tgz`), parsed into name, version and tags.
//!
//! A legacy sdist name whose project name contains `-` (`zope-interface-1.0.zip`)
//! is ambiguous on its own; [`DistFilename::parse`] takes the expected
//! project name to split it, and without one splits at the last `-`
//! followed by a digit.

use std::fmt;
use std::str::FromStr;

use pep440_rs::Version;

use super::PackageName;
use super::tags::Tags;

/// Why a file name is not a distribution file name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("invalid wheel file name `{filename}`: {reason}")]
    Wheel { filename: String, reason: String },
    #[error("invalid sdist file name `{filename}`: {reason}")]
    Sdist { filename: String, reason: String },
    #[error("`{0}` is not a wheel or sdist file name")]
    NotADistribution(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A wheel build tag: leading digits, then the rest (sorts as
/// `(int, str)`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BuildTag {
    pub number: u64,
    pub rest: String,
}

/// A parsed wheel file name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WheelFilename {
    pub name: PackageName,
    pub version: Version,
    pub build: Option<BuildTag>,
    /// Python tags (`py2`, `py3`, `cp311`), as in the name.
    pub python: Vec<String>,
    /// ABI tags (`none`, `abi3`, `cp311`).
    pub abi: Vec<String>,
    /// Platform tags (`any`, `manylinux_2_17_x86_64`).
    pub platform: Vec<String>,
    filename: String,
}

impl WheelFilename {
    /// The file name as given.
    pub fn filename(&self) -> &str {
        &self.filename
    }

    /// The expanded tag set (the cartesian product of the three parts).
    pub fn tags(&self) -> impl Iterator<Item = super::tags::Tag> + '_ {
        self.python.iter().flat_map(move |p| {
            self.abi.iter().flat_map(move |a| {
                self.platform
                    .iter()
                    .map(move |pl| super::tags::Tag::new(p, a, pl))
            })
        })
    }

    /// The wheel's best rank among `tags` (0 is best), or `None` when the
    /// interpreter cannot use it. Lower is better.
    pub fn compatibility(&self, tags: &Tags) -> Option<usize> {
        tags.best_rank(&self.python, &self.abi, &self.platform)
    }

    /// The `.dist-info` directory name inside the wheel
    /// (`name-version.dist-info`, with the name as the file name spells it).
    pub fn dist_info_prefix(&self) -> String {
        let stem = self.filename.trim_end_matches(".whl");
        let mut parts = stem.splitn(3, '-');
        let name = parts.next().unwrap_or_default();
        let version = parts.next().unwrap_or_default();
        format!("{name}-{version}")
    }
}

impl fmt::Display for WheelFilename {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.filename)
    }
}

impl FromStr for WheelFilename {
    type Err = Error;
    fn from_str(filename: &str) -> Result<Self> {
        let bad = |reason: &str| Error::Wheel {
            filename: filename.to_string(),
            reason: reason.to_string(),
        };
        let stem = filename
            .strip_suffix(".whl")
            .ok_or_else(|| bad("the name does not end in `.whl`"))?;
        let parts: Vec<&str> = stem.split('-').collect();
        let (name, version, build, py, abi, plat) = match parts.as_slice() {
            [n, v, p, a, pl] => (*n, *v, None, *p, *a, *pl),
            [n, v, b, p, a, pl] => (*n, *v, Some(*b), *p, *a, *pl),
            _ => return Err(bad("expected 5 or 6 `-`-separated parts")),
        };
        let name = PackageName::new(name).map_err(|e| bad(&e.to_string()))?;
        let version = Version::from_str(version).map_err(|e| bad(&e.to_string()))?;
        let build = match build {
            None => None,
            Some(b) => {
                let digits: String = b.chars().take_while(char::is_ascii_digit).collect();
                if digits.is_empty() {
                    return Err(bad("the build tag must start with a digit"));
                }
                Some(BuildTag {
                    number: digits.parse().map_err(|_| bad("build tag too large"))?,
                    rest: b[digits.len()..].to_string(),
                })
            }
        };
        let split = |s: &str| -> Result<Vec<String>> {
            let v: Vec<String> = s.split('.').map(str::to_lowercase).collect();
            if v.iter().any(String::is_empty) {
                return Err(bad("empty tag"));
            }
            Ok(v)
        };
        Ok(WheelFilename {
            name,
            version,
            build,
            python: split(py)?,
            abi: split(abi)?,
            platform: split(plat)?,
            filename: filename.to_string(),
        })
    }
}

/// The archive format of an sdist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SdistFormat {
    TarGz,
    Zip,
    TarBz2,
    Tgz,
    TarXz,
}

impl SdistFormat {
    const ALL: [(&'static str, SdistFormat); 5] = [
        (".tar.gz", SdistFormat::TarGz),
        (".zip", SdistFormat::Zip),
        (".tar.bz2", SdistFormat::TarBz2),
        (".tgz", SdistFormat::Tgz),
        (".tar.xz", SdistFormat::TarXz),
    ];

    pub fn extension(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, f)| *f == self)
            .map_or("", |(e, _)| e)
    }
}

/// A parsed sdist file name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdistFilename {
    pub name: PackageName,
    pub version: Version,
    pub format: SdistFormat,
    filename: String,
}

impl SdistFilename {
    /// Parses `filename`; `expected` (the project being looked up) splits
    /// legacy names whose project part contains `-`.
    pub fn parse(filename: &str, expected: Option<&PackageName>) -> Result<Self> {
        let bad = |reason: &str| Error::Sdist {
            filename: filename.to_string(),
            reason: reason.to_string(),
        };
        let lower = filename.to_lowercase();
        let (ext, format) = SdistFormat::ALL
            .iter()
            .find(|(e, _)| lower.ends_with(e))
            .copied()
            .ok_or_else(|| bad("unknown archive extension"))?;
        let stem = &filename[..filename.len() - ext.len()];
        let split_at = match expected {
            Some(name) => {
                // The first `-` after which the prefix normalises to `name`.
                stem.match_indices('-')
                    .map(|(i, _)| i)
                    .find(|&i| super::marker::canonicalize_name(&stem[..i]) == name.as_str())
            }
            None => stem
                .match_indices('-')
                .map(|(i, _)| i)
                .rfind(|&i| stem[i + 1..].starts_with(|c: char| c.is_ascii_digit())),
        }
        .ok_or_else(|| bad("cannot split it into name and version"))?;
        let name = PackageName::new(&stem[..split_at]).map_err(|e| bad(&e.to_string()))?;
        let version = Version::from_str(&stem[split_at + 1..]).map_err(|e| bad(&e.to_string()))?;
        Ok(SdistFilename {
            name,
            version,
            format,
            filename: filename.to_string(),
        })
    }

    pub fn filename(&self) -> &str {
        &self.filename
    }
}

impl fmt::Display for SdistFilename {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.filename)
    }
}

/// A wheel or an sdist file name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DistFilename {
    Wheel(WheelFilename),
    Sdist(SdistFilename),
}

impl DistFilename {
    /// Parses a wheel or sdist name; `expected` helps split legacy sdist
    /// names. Anything else (`.egg`, `.exe`, `.txt`) is
    /// [`Error::NotADistribution`].
    pub fn parse(filename: &str, expected: Option<&PackageName>) -> Result<Self> {
        if filename.ends_with(".whl") {
            return filename.parse().map(DistFilename::Wheel);
        }
        let lower = filename.to_lowercase();
        if SdistFormat::ALL.iter().any(|(e, _)| lower.ends_with(e)) {
            return SdistFilename::parse(filename, expected).map(DistFilename::Sdist);
        }
        Err(Error::NotADistribution(filename.to_string()))
    }

    pub fn name(&self) -> &PackageName {
        match self {
            DistFilename::Wheel(w) => &w.name,
            DistFilename::Sdist(s) => &s.name,
        }
    }

    pub fn version(&self) -> &Version {
        match self {
            DistFilename::Wheel(w) => &w.version,
            DistFilename::Sdist(s) => &s.version,
        }
    }

    pub fn filename(&self) -> &str {
        match self {
            DistFilename::Wheel(w) => w.filename(),
            DistFilename::Sdist(s) => s.filename(),
        }
    }

    pub fn is_wheel(&self) -> bool {
        matches!(self, DistFilename::Wheel(_))
    }

    pub fn as_wheel(&self) -> Option<&WheelFilename> {
        match self {
            DistFilename::Wheel(w) => Some(w),
            DistFilename::Sdist(_) => None,
        }
    }
}

impl fmt::Display for DistFilename {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.filename())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_wheel_with_compressed_tags_and_build() {
        let w: WheelFilename = "Foo.Bar-1.0.post1-2b-py2.py3-none-any.whl".parse().unwrap();
        assert_eq!(w.name.as_str(), "foo-bar");
        assert_eq!(w.version.to_string(), "1.0.post1");
        assert_eq!(
            w.build,
            Some(BuildTag {
                number: 2,
                rest: "b".into()
            })
        );
        assert_eq!(w.python, ["py2", "py3"]);
        assert_eq!(w.tags().count(), 2);
        assert_eq!(w.dist_info_prefix(), "Foo.Bar-1.0.post1");
        let w: WheelFilename =
            "numpy-2.0.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
                .parse()
                .unwrap();
        assert_eq!(w.build, None);
        assert_eq!(w.platform.len(), 2);
    }

    #[test]
    fn rejects_bad_wheel_names() {
        for bad in [
            "a-1.0-py3-none.whl",
            "a-1.0-x-y-py3-none-any.whl",
            "a-1.0-b1-py3-none-any.whl",
            "a-notaversion!-py3-none-any.whl",
            "a-1.0-py3-none-any.zip",
            "a-1.0-py3..-none-any.whl",
        ] {
            assert!(bad.parse::<WheelFilename>().is_err(), "{bad}");
        }
    }

    #[test]
    fn wheel_compatibility_uses_tags() {
        let tags = Tags::from_facts(&crate::python::interpreter::tests::fake_facts());
        let pure: WheelFilename = "a-1.0-py3-none-any.whl".parse().unwrap();
        let native: WheelFilename = "a-1.0-cp311-cp311-manylinux_2_17_x86_64.whl"
            .parse()
            .unwrap();
        let win: WheelFilename = "a-1.0-cp311-cp311-win_amd64.whl".parse().unwrap();
        assert!(native.compatibility(&tags).unwrap() < pure.compatibility(&tags).unwrap());
        assert_eq!(win.compatibility(&tags), None);
    }

    #[test]
    fn parses_sdists_modern_and_legacy() {
        let s = SdistFilename::parse("foo_bar-1.2.tar.gz", None).unwrap();
        assert_eq!(
            (s.name.as_str(), s.version.to_string().as_str()),
            ("foo-bar", "1.2")
        );
        assert_eq!(s.format, SdistFormat::TarGz);
        let s = SdistFilename::parse("zope-interface-4.0.zip", None).unwrap();
        assert_eq!(s.name.as_str(), "zope-interface");
        assert_eq!(s.format, SdistFormat::Zip);
        let a = PackageName::new("a").unwrap();
        let s = SdistFilename::parse("a-1-1.tar.bz2", Some(&a)).unwrap();
        assert_eq!(s.version.to_string(), "1.post1");
        assert!(SdistFilename::parse("a-1.0.rar", None).is_err());
        assert!(SdistFilename::parse("nodash.tar.gz", None).is_err());
        let other = PackageName::new("b").unwrap();
        assert!(SdistFilename::parse("a-1.0.tar.gz", Some(&other)).is_err());
    }

    #[test]
    fn dist_filename_dispatches_on_extension() {
        assert!(
            DistFilename::parse("a-1.0-py3-none-any.whl", None)
                .unwrap()
                .is_wheel()
        );
        assert!(!DistFilename::parse("a-1.0.tgz", None).unwrap().is_wheel());
        assert!(matches!(
            DistFilename::parse("a-1.0-py2.7.egg", None),
            Err(Error::NotADistribution(_))
        ));
    }
}
