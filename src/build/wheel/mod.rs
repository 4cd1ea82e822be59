//! Installing a wheel into its own store object.
//!
//! Layout of the object (PEP 427 spread into one directory, as
//! `python-packaging.md` §1.8 recommends): the object's root is the import
//! root (`purelib` and `platlib` both map to it, so `Root-Is-Purelib` does not
//! matter), holding the packages and `<name>-<version>.dist-info/` (so
//! `importlib.metadata` finds the distribution); `.data/scripts` go to
//! `.prefix/bin/` (with `#!python` rewritten), `.data/headers` to
//! `.prefix/include/<name>/`, `.data/data` to `.prefix/data/` — a hidden
//! directory that cannot be imported by accident.
//!
//! The wheel must be what its file name says (as pip and uv require): the
//! `.dist-info` directory and `METADATA`'s `Name` and `Version` must give
//! the file name's project (PEP 503 normalised) and version (PEP 440
//! equal), or the install fails naming the wheel and the entry.
//!
//! Every file is checked against `RECORD` (sha256 or stronger, as the spec
//! demands and pip and uv skip), hashed while it streams to disk: a file
//! missing from `RECORD`, listed without a hash (only `RECORD` itself and
//! `RECORD.jws`/`RECORD.p7s` may lack one), listed but absent (`.pyc` rows
//! excepted: RECORDs of installed trees list them), or with another hash
//! fails the install, and nothing is registered. Paths that are absolute
//! or contain `..` and entries that are symlinks or special files (by unix
//! mode) are rejected before they are written. Members are written through
//! [`super::extract`]: never through a link, and within the unpack limits
//! (`max-unpacked-size`, `max-unpacked-file-size`, `max-unpacked-files`);
//! a size the zip declares is never trusted (`wheel/record.rs` holds the
//! RECORD side). Bytecode is compiled once, separately
//! (`wheel/compile.rs`), with hash-based `.pyc` files (PEP 552,
//! `unchecked-hash`): the store is immutable, so no timestamp check is
//! needed and a read-only object never triggers recompilation.

mod compile;
mod record;

pub use compile::{Compiler, compile_trees};
#[cfg(test)]
use record::parse_record;

use super::extract::{self, Limits, Tree};
use crate::python::{PackageName, WheelFilename};
use pep440_rs::Version;
use record::{Digester, Hashing, Record, check_digest};
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Read;
use std::path::{Component, Path, PathBuf};
use std::str::FromStr;

/// A wheel install error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read wheel `{wheel}`: {message}")]
    Archive { wheel: String, message: String },
    #[error("wheel `{wheel}` has no `.dist-info` directory with METADATA, WHEEL and RECORD")]
    NoDistInfo { wheel: String },
    #[error("wheel `{wheel}` is not supported: Wheel-Version {version} (this installer reads 1.x)")]
    WheelVersion { wheel: String, version: String },
    #[error("wheel `{wheel}` contains an unsafe path `{path}`: {why}")]
    UnsafePath {
        wheel: String,
        path: String,
        why: &'static str,
    },
    #[error("wheel `{wheel}`: `{path}` is not listed in RECORD")]
    NotInRecord { wheel: String, path: String },
    #[error("wheel `{wheel}`: RECORD lists `{path}`, which the archive does not contain")]
    MissingFile { wheel: String, path: String },
    #[error(
        "wheel `{wheel}`: hash mismatch for `{path}`: RECORD says {expected}, the file has {actual}"
    )]
    HashMismatch {
        wheel: String,
        path: String,
        expected: String,
        actual: String,
    },
    #[error(
        "wheel `{wheel}`: RECORD entry for `{path}` uses `{algo}`; wheels must use sha256 or stronger"
    )]
    WeakHash {
        wheel: String,
        path: String,
        algo: String,
    },
    #[error("wheel `{wheel}`: RECORD has no hash for `{path}` (only RECORD itself may lack one)")]
    NoHash { wheel: String, path: String },
    #[error("invalid wheel `{wheel}`: {message}")]
    FileName { wheel: String, message: String },
    #[error(
        "wheel `{wheel}` is not what its file name says: `{inside}` gives {what} `{found}`, the file name `{expected}`"
    )]
    Mismatch {
        wheel: String,
        inside: String,
        what: &'static str,
        found: String,
        expected: String,
    },
    #[error(transparent)]
    Extract(#[from] extract::Error),
    #[error("wheel `{wheel}`: unknown `.data` directory `{key}`")]
    UnknownDataKey { wheel: String, key: String },
    #[error(transparent)]
    Io(#[from] crate::fs::IoError),
    #[error("compiling bytecode with `{python}` failed: {message}")]
    Compile { python: String, message: String },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

use crate::fs::io;

/// What an installed wheel provides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installed {
    /// The `.dist-info` directory name.
    pub dist_info: String,
    /// `[group] -> name -> value` from `entry_points.txt`.
    pub entry_points: BTreeMap<String, BTreeMap<String, String>>,
    /// Whether the wheel is pure Python (`Root-Is-Purelib: true` and no
    /// compiled tags): pure wheels are shared by every interpreter.
    pub purelib: bool,
}

/// Installs `wheel` into `out` (which must not exist). `python` is the
/// interpreter that `#!python` script lines are rewritten to; `limits`
/// bound what the wheel may unpack to. Bytecode is compiled separately
/// ([`Compiler`]), many objects at a time.
pub fn install(
    wheel: &Path,
    out: &Path,
    python: Option<&str>,
    limits: Limits,
) -> Result<Installed> {
    let label = wheel.file_name().map_or_else(
        || wheel.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let filename = WheelFilename::from_str(&label).map_err(|e| Error::FileName {
        wheel: label.clone(),
        message: e.to_string(),
    })?;
    let file = fs::File::open(wheel).map_err(io("open", wheel))?;
    let size = file.metadata().map_err(io("read", wheel))?.len();
    let arch_err = |e: zip::result::ZipError| Error::Archive {
        wheel: label.clone(),
        message: e.to_string(),
    };
    let unpack = Unpack {
        label: &label,
        filename: &filename,
        out,
        python,
        limits,
    };
    if size <= READ_WHOLE {
        // One read of the whole archive: zip's seeks and small reads on a
        // file cost a system call each.
        let mut bytes = Vec::new();
        (&file).read_to_end(&mut bytes).map_err(io("read", wheel))?;
        let zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(arch_err)?;
        unpack.run(zip)
    } else {
        let reader = std::io::BufReader::with_capacity(1 << 16, file);
        unpack.run(zip::ZipArchive::new(reader).map_err(arch_err)?)
    }
}

/// Wheels up to this size are read into memory at once; larger ones are
/// read from the file.
const READ_WHOLE: u64 = 64 << 20;

/// One wheel being installed.
struct Unpack<'a> {
    label: &'a str,
    filename: &'a WheelFilename,
    out: &'a Path,
    python: Option<&'a str>,
    limits: Limits,
}

impl Unpack<'_> {
    fn arch_err(&self) -> impl Fn(zip::result::ZipError) -> Error + '_ {
        |e| Error::Archive {
            wheel: self.label.to_string(),
            message: e.to_string(),
        }
    }

    /// The `.dist-info` directory of the project and version the file
    /// name gives (names compared normalised, versions as PEP 440 does).
    fn dist_info(&self, names: &[String]) -> Result<String> {
        let complete: Vec<&str> = names
            .iter()
            .filter_map(|n| n.split('/').next())
            .filter(|top| top.ends_with(".dist-info"))
            .filter(|top| {
                ["METADATA", "WHEEL", "RECORD"]
                    .iter()
                    .all(|f| names.contains(&format!("{top}/{f}")))
            })
            .collect();
        let Some(first) = complete.first() else {
            return Err(Error::NoDistInfo {
                wheel: self.label.to_string(),
            });
        };
        let split = |top: &str| -> (String, String) {
            let stem = top.trim_end_matches(".dist-info");
            let (name, version) = stem.split_once('-').unwrap_or((stem, ""));
            (name.to_string(), version.to_string())
        };
        let ours = complete
            .iter()
            .find(|top| PackageName::new(&split(top).0).is_ok_and(|n| n == self.filename.name));
        let Some(ours) = ours else {
            let (name, _) = split(first);
            return Err(self.mismatch(first, "project", name, self.filename.name.to_string()));
        };
        let (_, version) = split(ours);
        if !self.same_version(&version) {
            return Err(self.mismatch(ours, "version", version, self.filename.version.to_string()));
        }
        Ok((*ours).to_string())
    }

    fn same_version(&self, version: &str) -> bool {
        Version::from_str(version.trim())
            .is_ok_and(|v| v.cmp(&self.filename.version) == std::cmp::Ordering::Equal)
    }

    fn mismatch(&self, inside: &str, what: &'static str, found: String, expected: String) -> Error {
        Error::Mismatch {
            wheel: self.label.to_string(),
            inside: inside.to_string(),
            what,
            found,
            expected,
        }
    }

    /// `METADATA`'s `Name` and `Version` must be the file name's.
    fn check_metadata(&self, dist_info: &str, metadata: &str) -> Result<()> {
        let headers = parse_headers(metadata);
        let field = |k: &str| headers.get(k).map_or("", String::as_str);
        let name = field("name");
        let version = field("version");
        let inside = format!("{dist_info}/METADATA");
        if PackageName::new(name).ok().as_ref() != Some(&self.filename.name) {
            let expected = self.filename.name.to_string();
            return Err(self.mismatch(&inside, "project", name.to_string(), expected));
        }
        if !self.same_version(version) {
            let expected = self.filename.version.to_string();
            return Err(self.mismatch(&inside, "version", version.to_string(), expected));
        }
        Ok(())
    }

    fn read_text<R: Read + std::io::Seek>(
        &self,
        zip: &mut zip::ZipArchive<R>,
        name: &str,
    ) -> Result<String> {
        let f = zip.by_name(name).map_err(self.arch_err())?;
        let bytes = extract::read_small(&format!("wheel `{}`", self.label), name, f)?;
        String::from_utf8(bytes).map_err(|e| Error::Archive {
            wheel: self.label.to_string(),
            message: format!("{name}: {e}"),
        })
    }

    /// Installs the archive: `.dist-info` first, then every member
    /// (checked, placed and verified against RECORD as it is written),
    /// then what RECORD lists but the archive lacks, `INSTALLER`, and the
    /// entry points.
    fn run<R: Read + std::io::Seek>(&self, mut zip: zip::ZipArchive<R>) -> Result<Installed> {
        let info = self.read_dist_info(&mut zip)?;
        fs::create_dir(self.out).map_err(io("create", self.out))?;
        let mut tree = Tree::open(self.out, format!("wheel `{}`", self.label), self.limits)?;
        let mut seen: BTreeSet<String> = BTreeSet::new();
        for i in 0..zip.len() {
            let mut entry = zip.by_index(i).map_err(self.arch_err())?;
            if let Some(name) = self.member(&mut tree, &info, &mut entry)? {
                seen.insert(name);
            }
        }
        info.record.check_complete(self.label, &seen)?;
        let installer = Path::new(&info.name).join("INSTALLER");
        tree.file("INSTALLER", &installer, 0o444, &mut &b"buildout\n"[..])?;
        let entry_points = self.entry_points(&tree, &info.name)?;
        Ok(Installed {
            dist_info: info.name,
            entry_points,
            purelib: info.purelib,
        })
    }

    /// Finds the `.dist-info` directory, checks `METADATA` and `WHEEL`
    /// against the file name and reads `RECORD`.
    fn read_dist_info<R: Read + std::io::Seek>(
        &self,
        zip: &mut zip::ZipArchive<R>,
    ) -> Result<DistInfo> {
        let names: Vec<String> = (0..zip.len())
            .filter_map(|i| {
                zip.name_for_index(i)
                    .and_then(|n| n.ok())
                    .map(|n| n.to_string())
            })
            .collect();
        let dist_info = self.dist_info(&names)?;
        let metadata = self.read_text(zip, &format!("{dist_info}/METADATA"))?;
        self.check_metadata(&dist_info, &metadata)?;
        let wheel_meta = self.read_text(zip, &format!("{dist_info}/WHEEL"))?;
        let headers = parse_headers(&wheel_meta);
        let version = headers.get("wheel-version").cloned().unwrap_or_default();
        if !version.starts_with("1.") && version != "0.1" {
            return Err(Error::WheelVersion {
                wheel: self.label.to_string(),
                version,
            });
        }
        let tags: Vec<String> = wheel_meta
            .lines()
            .filter_map(|l| l.strip_prefix("Tag:").map(|t| t.trim().to_string()))
            .collect();
        let purelib = headers
            .get("root-is-purelib")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
            && tags.iter().all(|t| t.split('-').nth(1) == Some("none"));
        let record_name = format!("{dist_info}/RECORD");
        let record = Record::new(&self.read_text(zip, &record_name)?, record_name);
        Ok(DistInfo {
            name: dist_info,
            purelib,
            record,
        })
    }

    /// Writes one member into the tree: its path and kind checked and
    /// counted, its hash computed while it is written and compared with
    /// RECORD's. Returns its name unless it is a directory.
    fn member<R: Read + ?Sized>(
        &self,
        tree: &mut Tree,
        info: &DistInfo,
        entry: &mut zip::read::ZipFile<'_, R>,
    ) -> Result<Option<String>> {
        let label = self.label;
        let name = entry.name().map_err(self.arch_err())?.to_string();
        check_path(label, &name)?;
        if let Some(why) = extract::zip_special(entry.unix_mode()) {
            return Err(Error::UnsafePath {
                wheel: label.to_string(),
                path: name,
                why,
            });
        }
        tree.count(&name)?;
        if entry.is_dir() {
            return Ok(None);
        }
        tree.check_declared(&name, entry.size())?;
        let executable = entry.unix_mode().is_some_and(|m| m & 0o111 != 0);
        let expected = info.record.expected(label, &name)?;
        let digester = expected
            .map(|hash| Digester::new(label, &name, hash))
            .transpose()?;
        let (dest, is_script) = self.destination(info, &name)?;
        let mut hashing = Hashing {
            inner: entry,
            digester,
        };
        // `#!python` of scripts is rewritten: only the head is held.
        let mut head = Vec::new();
        if is_script && let Some(python) = self.python {
            (&mut hashing)
                .take(16)
                .read_to_end(&mut head)
                .map_err(|e| Error::Archive {
                    wheel: label.to_string(),
                    message: format!("{name}: {e}"),
                })?;
            if let Some(rest) = strip_python_shebang(&head) {
                let mut rewritten = format!("#!{python}").into_bytes();
                rewritten.extend_from_slice(rest);
                head = rewritten;
            }
        }
        let mode = if executable || is_script {
            0o555
        } else {
            0o444
        };
        let mut content = std::io::Cursor::new(head).chain(&mut hashing);
        tree.file(&name, &dest, mode, &mut content)?;
        if let (Some(hash), Some(digester)) = (expected, hashing.digester) {
            check_digest(label, &name, hash, &digester.finish())?;
        }
        Ok(Some(name))
    }

    /// Where member `name` goes in the object, and whether it is a script:
    /// the `.data` subtrees are spread (`purelib` and `platlib` to the
    /// root, `scripts`, `headers` and `data` under `.prefix/`).
    fn destination(&self, info: &DistInfo, name: &str) -> Result<(PathBuf, bool)> {
        let stem = info.name.trim_end_matches(".dist-info");
        let data_dir = format!("{stem}.data");
        let Some(rest) = name.strip_prefix(&format!("{data_dir}/")) else {
            return Ok((PathBuf::from(name), false));
        };
        let project = stem.split('-').next().unwrap_or("dist");
        let (key, sub) = rest.split_once('/').unwrap_or((rest, ""));
        Ok(match key {
            "purelib" | "platlib" => (PathBuf::from(sub), false),
            "scripts" => (Path::new(".prefix/bin").join(sub), true),
            "headers" => (Path::new(".prefix/include").join(project).join(sub), false),
            "data" => (Path::new(".prefix/data").join(sub), false),
            other => {
                return Err(Error::UnknownDataKey {
                    wheel: self.label.to_string(),
                    key: other.to_string(),
                });
            }
        })
    }

    /// `entry_points.txt` as installed (none if it is missing or not
    /// UTF-8).
    fn entry_points(
        &self,
        tree: &Tree,
        dist_info: &str,
    ) -> Result<BTreeMap<String, BTreeMap<String, String>>> {
        let entry_points_file = format!("{dist_info}/entry_points.txt");
        Ok(match fs::File::open(self.out.join(&entry_points_file)) {
            Ok(f) => {
                let bytes = extract::read_small(tree.archive(), &entry_points_file, f)?;
                String::from_utf8(bytes)
                    .map_or_else(|_| BTreeMap::new(), |t| parse_entry_points(&t))
            }
            Err(_) => BTreeMap::new(),
        })
    }
}

/// What a wheel's `.dist-info` says about it.
struct DistInfo {
    /// The directory's name (`<name>-<version>.dist-info`).
    name: String,
    /// Pure Python: shared by every interpreter.
    purelib: bool,
    record: Record,
}

/// Rejects absolute paths, `..`, and other escapes.
fn check_path(wheel: &str, name: &str) -> Result<()> {
    let bad = |why| Error::UnsafePath {
        wheel: wheel.to_string(),
        path: name.to_string(),
        why,
    };
    if name.starts_with('/') || name.contains('\\') || name.contains('\0') {
        return Err(bad("absolute paths, backslashes and NUL are not allowed"));
    }
    for c in Path::new(name).components() {
        match c {
            Component::Normal(_) | Component::CurDir => {}
            Component::ParentDir => return Err(bad("`..` would escape the install directory")),
            _ => return Err(bad("absolute paths are not allowed")),
        }
    }
    if name.starts_with(".prefix") {
        return Err(bad("`.prefix` is reserved for the installer"));
    }
    Ok(())
}

/// `#!python` / `#!pythonw` script first lines (the rest of the file).
fn strip_python_shebang(content: &[u8]) -> Option<&[u8]> {
    for prefix in [&b"#!pythonw"[..], &b"#!python"[..]] {
        if let Some(rest) = content.strip_prefix(prefix)
            && rest
                .first()
                .is_some_and(|b| *b == b'\n' || *b == b'\r' || *b == b' ')
        {
            return Some(rest);
        }
    }
    None
}

/// Email-style headers (keys lowercased; first value wins).
pub fn parse_headers(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            out.entry(k.trim().to_ascii_lowercase())
                .or_insert_with(|| v.trim().to_string());
        }
    }
    out
}

/// `entry_points.txt`: `[group]` sections of `name = value` (only `=`
/// delimits; names are case-sensitive).
pub fn parse_entry_points(text: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut out: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut group: Option<String> = None;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(g) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            group = Some(g.trim().to_string());
            continue;
        }
        if let (Some(g), Some((k, v))) = (&group, line.split_once('=')) {
            out.entry(g.clone())
                .or_default()
                .insert(k.trim().to_string(), v.trim().to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use sha2::{Digest, Sha256};
    use std::io::Write;

    fn b64(bytes: &[u8]) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(bytes))
    }

    /// Builds a wheel in memory: files (name, content); RECORD computed
    /// unless `record` overrides it.
    fn wheel(dir: &Path, files: &[(&str, &[u8])], record: Option<&str>) -> PathBuf {
        let path = dir.join("demo-1.0-py3-none-any.whl");
        let f = fs::File::create(&path).unwrap();
        let mut z = zip::ZipWriter::new(f);
        let opts = zip::write::SimpleFileOptions::default().unix_permissions(0o644);
        let mut rec = String::new();
        let mut all: Vec<(String, Vec<u8>)> = files
            .iter()
            .map(|(n, c)| ((*n).to_string(), c.to_vec()))
            .collect();
        all.push((
            "demo-1.0.dist-info/WHEEL".into(),
            b"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n".to_vec(),
        ));
        all.push((
            "demo-1.0.dist-info/METADATA".into(),
            b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n".to_vec(),
        ));
        for (n, c) in &all {
            rec.push_str(&format!("{n},sha256={},{}\n", b64(c), c.len()));
        }
        rec.push_str("demo-1.0.dist-info/RECORD,,\n");
        all.push((
            "demo-1.0.dist-info/RECORD".into(),
            record.map_or(rec, str::to_string).into_bytes(),
        ));
        for (n, c) in all {
            z.start_file(n, opts).unwrap();
            z.write_all(&c).unwrap();
        }
        z.finish().unwrap();
        path
    }

    #[test]
    fn installs_and_spreads_data() {
        let tmp = tempfile::tempdir().unwrap();
        let w = wheel(
            tmp.path(),
            &[
                ("demo/__init__.py", b"X = 1\n"),
                ("demo-1.0.data/scripts/tool", b"#!python\nprint('hi')\n"),
                ("demo-1.0.data/headers/demo.h", b"int x;\n"),
                ("demo-1.0.data/purelib/extra.py", b"Y = 2\n"),
                (
                    "demo-1.0.dist-info/entry_points.txt",
                    b"[console_scripts]\ndemo = demo:main\n",
                ),
            ],
            None,
        );
        let out = tmp.path().join("out");
        let installed = install(&w, &out, None, Limits::default()).unwrap();
        assert!(installed.purelib);
        assert_eq!(
            installed.entry_points["console_scripts"]["demo"],
            "demo:main"
        );
        assert!(out.join("demo/__init__.py").is_file());
        assert!(out.join("extra.py").is_file());
        assert!(out.join(".prefix/include/demo/demo.h").is_file());
        assert_eq!(
            fs::read_to_string(out.join("demo-1.0.dist-info/INSTALLER")).unwrap(),
            "buildout\n"
        );
        let install_with_python = tmp.path().join("out2");
        install(
            &w,
            &install_with_python,
            Some("/usr/bin/python3"),
            Limits::default(),
        )
        .ok();
        let script = fs::read_to_string(install_with_python.join(".prefix/bin/tool"));
        if let Ok(script) = script {
            assert!(script.starts_with("#!/usr/bin/python3\n"), "{script}");
        }
    }

    #[test]
    fn rejects_path_escapes() {
        let tmp = tempfile::tempdir().unwrap();
        let w = wheel(tmp.path(), &[("../evil.py", b"x")], None);
        let err = install(&w, &tmp.path().join("out"), None, Limits::default()).unwrap_err();
        assert!(matches!(err, Error::UnsafePath { .. }), "{err}");
        assert!(!tmp.path().join("evil.py").exists());
        let w = wheel(tmp.path(), &[("/abs/evil.py", b"x")], None);
        let err = install(&w, &tmp.path().join("out2"), None, Limits::default()).unwrap_err();
        assert!(matches!(err, Error::UnsafePath { .. }), "{err}");
        // A symbolic link, by its unix mode, even one listed in RECORD.
        let path = wheel(tmp.path(), &[("demo/__init__.py", b"")], None);
        let file = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .unwrap();
        let mut z = zip::ZipWriter::new_append(file).unwrap();
        z.add_symlink(
            "demo/link",
            "../../etc",
            zip::write::SimpleFileOptions::default(),
        )
        .unwrap();
        z.finish().unwrap();
        let err = install(&path, &tmp.path().join("out3"), None, Limits::default()).unwrap_err();
        assert!(err.to_string().contains("`demo/link`"), "{err}");
        assert!(matches!(err, Error::UnsafePath { .. }), "{err}");
        assert_eq!(
            extract::zip_special(Some(0o120_777)),
            Some("symbolic links are not allowed")
        );
        assert!(extract::zip_special(Some(0o010_644)).is_some());
        assert!(extract::zip_special(Some(0o100_644)).is_none());
    }

    #[test]
    fn rejects_hash_mismatches_and_unlisted_files() {
        let tmp = tempfile::tempdir().unwrap();
        let bad_record = format!("demo/__init__.py,sha256={},6\n", b64(b"something else"));
        let w = wheel(
            tmp.path(),
            &[("demo/__init__.py", b"X = 1\n")],
            Some(&bad_record),
        );
        let err = install(&w, &tmp.path().join("a"), None, Limits::default()).unwrap_err();
        assert!(
            matches!(err, Error::HashMismatch { .. } | Error::NotInRecord { .. }),
            "{err}"
        );
        let missing = "demo/gone.py,sha256=x,1\n";
        let w = wheel(tmp.path(), &[], Some(missing));
        let err = install(&w, &tmp.path().join("b"), None, Limits::default()).unwrap_err();
        assert!(matches!(err, Error::NotInRecord { .. }), "{err}");
    }

    #[test]
    fn record_csv_quotes() {
        let r = parse_record("\"a,b.py\",sha256=x,1\nc.py,,\n");
        assert_eq!(r["a,b.py"], "sha256=x");
        assert_eq!(r["c.py"], "");
    }
}
