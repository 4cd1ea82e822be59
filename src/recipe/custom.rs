//! `zc.recipe.egg:custom`, built in: build one distribution from its sdist
//! with custom compiler and linker settings.
//!
//! zc.buildout edits the sdist's `setup.cfg` `[build_ext]` section; modern
//! PEP 517 builds read the standard environment instead, so the options
//! that still make sense become build environment variables:
//! `include-dirs` → `CFLAGS`/`CPPFLAGS` `-I<dir>`, `define` → `-D<name>[=<value>]`
//! (comma-separated), `undef` → `-U<name>`, `library-dirs` → `LDFLAGS`
//! `-L<dir>`, `rpath` → `-Wl,-rpath,<dir>`, `libraries` → `-l<lib>`, and
//! `environment` names a section whose options are set as variables
//! (`%(NAME)s` expanded from the process environment). Relative directories
//! are taken from the buildout directory, except rpath entries starting with
//! `$ORIGIN`, `$LIB` or `$PLATFORM`. `link-objects`, `debug`, `force`,
//! `compiler`, `swig`, `swig-cpp` and `swig-opts` cannot be expressed for a
//! PEP 517 backend and are errors naming the option.
//!
//! The built distribution (its address includes the settings) wins over
//! index versions for the parts installed after this one, as zc.buildout's
//! develop-eggs copy does. Like zc.buildout's recipe, it makes no scripts.

use super::{CustomRequest, Error, Recipe, Result, Services};
use crate::config::{Buildout, pystr};
use crate::profile::manifest::DistEntry;
use crate::python::Requirement;
use std::path::Path;
use std::str::FromStr;

/// Options that cannot work with a PEP 517 build.
const UNSUPPORTED: &[&str] = &[
    "link-objects",
    "debug",
    "force",
    "compiler",
    "swig",
    "swig-cpp",
    "swig-opts",
];

/// A constructed `zc.recipe.egg:custom` part.
#[derive(Debug)]
pub struct Custom {
    requirement: Requirement,
    python: String,
    index: Option<String>,
    find_links: Option<Vec<String>>,
    environment: Vec<(String, String)>,
    dist: Option<DistEntry>,
}

impl Custom {
    pub fn new(buildout: &mut Buildout, part: &str, directory: &str) -> Result<Self> {
        for option in UNSUPPORTED {
            if buildout.get(part, option, None)?.is_some() {
                return Err(Error::User(format!(
                    "the `{option}` option of zc.recipe.egg:custom (part {part}) cannot be honoured by PEP 517 builds; \
                     configure it in the project's own build settings instead"
                )));
            }
        }
        let egg = match buildout.get(part, "egg", None)? {
            Some(e) => e,
            None => buildout
                .get(part, "eggs", None)?
                .unwrap_or_else(|| part.to_string()),
        };
        let egg = egg.trim();
        let requirement = Requirement::from_str(egg).map_err(|e| {
            Error::User(format!(
                "Invalid requirement {egg:?} in the egg option of part {part}: {e}"
            ))
        })?;
        let python = super::part_interpreter(buildout, part)?;
        let environment = build_environment(buildout, part, directory)?;
        let index = buildout.get(part, "index", None)?;
        let find_links = buildout
            .get(part, "find-links", None)?
            .map(|f| f.split_whitespace().map(String::from).collect());
        Ok(Self {
            requirement,
            python,
            index,
            find_links,
            environment,
            dist: None,
        })
    }
}

/// The build's environment: `CFLAGS`/`CPPFLAGS` from `include-dirs`,
/// `define` and `undef`, `LDFLAGS` from `library-dirs`, `rpath` and
/// `libraries` (each after the process's own value), then the variables of
/// the `environment` section.
fn build_environment(
    buildout: &mut Buildout,
    part: &str,
    directory: &str,
) -> Result<Vec<(String, String)>> {
    let mut cflags: Vec<String> = Vec::new();
    let mut ldflags: Vec<String> = Vec::new();
    for d in directories(buildout, part, "include-dirs", directory)? {
        cflags.push(format!("-I{d}"));
    }
    let listed = |value: Option<String>| -> Vec<String> {
        value
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map(String::from)
            .collect()
    };
    for d in listed(buildout.get(part, "define", None)?) {
        cflags.push(format!("-D{d}"));
    }
    for u in listed(buildout.get(part, "undef", None)?) {
        cflags.push(format!("-U{u}"));
    }
    for d in directories(buildout, part, "library-dirs", directory)? {
        ldflags.push(format!("-L{d}"));
    }
    for d in directories(buildout, part, "rpath", directory)? {
        ldflags.push(format!("-Wl,-rpath,{d}"));
    }
    if let Some(libs) = buildout.get(part, "libraries", None)? {
        for l in libs.split_whitespace() {
            ldflags.push(format!("-l{l}"));
        }
    }
    let mut environment: Vec<(String, String)> = Vec::new();
    let join = |name: &str, flags: &[String]| -> Option<(String, String)> {
        if flags.is_empty() {
            return None;
        }
        let mut all: Vec<String> = crate::env::var(name).into_iter().collect();
        all.extend(flags.iter().cloned());
        Some((name.to_string(), all.join(" ")))
    };
    environment.extend(join("CFLAGS", &cflags));
    environment.extend(join("CPPFLAGS", &cflags));
    environment.extend(join("LDFLAGS", &ldflags));
    if let Some(section) = buildout.get(part, "environment", None)? {
        let section = section.trim().to_string();
        for (k, v) in buildout.options(&section)? {
            environment.push((k, expand_environ(&v)));
        }
    }
    Ok(environment)
}

/// The directories of option `key`, one per line, made absolute against
/// the buildout directory unless they start with a dynamic linker token
/// (`$ORIGIN`, `$LIB`, `$PLATFORM`).
fn directories(
    buildout: &mut Buildout,
    part: &str,
    key: &str,
    directory: &str,
) -> Result<Vec<String>> {
    const TOKENS: [&str; 6] = [
        "$ORIGIN",
        "${ORIGIN}",
        "$LIB",
        "${LIB}",
        "$PLATFORM",
        "${PLATFORM}",
    ];
    Ok(buildout
        .get(part, key, None)?
        .map(|v| {
            v.split('\n')
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(|d| {
                    if TOKENS.iter().any(|p| d.starts_with(p)) {
                        d.to_string()
                    } else {
                        pystr::abspath(d, directory)
                    }
                })
                .collect()
        })
        .unwrap_or_default())
}

/// `%(NAME)s` replaced by the process environment's value (zc.recipe.egg
/// interpolates `environment` values with `os.environ`).
fn expand_environ(value: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    while let Some(start) = rest.find("%(") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find(")s") {
            Some(end) => {
                out.push_str(&crate::env::var(&after[..end]).unwrap_or_default());
                rest = &after[end + 2..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

impl Recipe for Custom {
    fn identity(&self) -> String {
        "zc.recipe.egg:custom 6.0.0 (built in)".into()
    }

    fn content_key(&self) -> String {
        serde_json::to_string(&self.dist).unwrap_or_default()
    }

    fn outputs(&self) -> Vec<String> {
        Vec::new()
    }

    fn prepare(&mut self, services: &mut dyn Services) -> Result<()> {
        self.dist = Some(services.custom(&CustomRequest {
            requirement: &self.requirement,
            python: &self.python,
            index: self.index.as_deref(),
            find_links: self.find_links.as_deref(),
            environment: &self.environment,
        })?);
        Ok(())
    }

    fn distributions(&self) -> Vec<DistEntry> {
        self.dist.iter().cloned().collect()
    }

    fn interpreter(&self) -> Option<String> {
        Some(self.python.clone())
    }

    fn build(&self, out: &Path) -> Result<()> {
        super::write_dists_record(out, "working-set.json", &self.distributions())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environ_interpolation() {
        let home = crate::env::var("PATH").unwrap_or_default();
        assert_eq!(expand_environ("a %(PATH)s b"), format!("a {home} b"));
        assert_eq!(expand_environ("%(broken"), "%(broken");
    }
}
