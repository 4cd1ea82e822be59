//! Where a part may write: [`decide`] is the one decision for every path a
//! part names in the buildout directory, whoever named it.
//!
//! * A **script** (a console script named in a distribution's
//!   `entry_points.txt`, a name or rename in `scripts`, `entry-points`,
//!   `interpreter`) is a plain file name under `bin/`: not empty, not `.`
//!   or `..`, without `/` or NUL. zc.buildout joins such a name to the bin
//!   directory as it is, so `/abs/x = pkg:main` or `../../x` in a wheel
//!   would write anywhere; here it is an error naming the distribution or
//!   the option.
//! * A **managed output** (collective.recipe.template's `output`, or an
//!   output recorded in a generation's manifest) is inside the buildout
//!   directory, lexically (after `..` is resolved) and on disk (no existing
//!   directory on the way is a symbolic link that leads outside), and not
//!   the directory itself nor inside `.buildout/`. zc.buildout's template
//!   recipe writes an absolute `output` anywhere; this buildout manages
//!   only files inside the buildout directory (they are links into the
//!   current generation).
//!
//! Every check runs before the part writes anything.

use super::Error;
use crate::python::pystr;
use std::path::{Component, Path};

/// Who named a path (for the error).
#[derive(Debug, Clone, Copy)]
pub enum Origin<'a> {
    /// A distribution's entry points: `name version`.
    Distribution(&'a str),
    /// An option of the part.
    Option(&'a str),
    /// The manifest of the generation being made current.
    Manifest,
    /// What the part's recipe (in the recipe host) returned.
    Returned,
}

impl std::fmt::Display for Origin<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Distribution(d) => write!(f, "distribution `{d}`"),
            Origin::Option(o) => write!(f, "option `{o}`"),
            Origin::Manifest => f.write_str("the generation manifest's entry"),
            Origin::Returned => f.write_str("a path returned by the recipe"),
        }
    }
}

/// A path a part asks to write.
#[derive(Debug, Clone, Copy)]
pub enum Request<'a> {
    /// A script named `name`, written as `bin/<name>`.
    Script { name: &'a str, origin: Origin<'a> },
    /// A managed file: absolute, or relative to the buildout directory.
    Output { path: &'a str, origin: Origin<'a> },
}

/// Decides where `part` may write what `request` names: the path relative
/// to the buildout `directory` (absolute, normalised), or an error naming
/// the part, the distribution or option and the path.
pub fn decide(directory: &str, part: &str, request: Request<'_>) -> Result<String, Error> {
    match request {
        Request::Script { name, origin } => {
            if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\0']) {
                return Err(Error::BadScriptName {
                    who: who(origin, part),
                    name: name.to_string(),
                });
            }
            Ok(format!("bin/{name}"))
        }
        Request::Output { path, origin } => {
            let outside = |shown: &str, link: Option<String>| Error::OutsideBuildout {
                who: who(origin, part),
                path: shown.to_string(),
                directory: directory.to_string(),
                link,
            };
            if path.contains('\0') {
                return Err(outside(&path.replace('\0', "\\0"), None));
            }
            let abs = pystr::abspath(path, directory);
            let Some(rel) = lexically_inside(&abs, directory) else {
                return Err(outside(&abs, None));
            };
            if let Some(link) = escaping_link(directory, &rel) {
                return Err(outside(&abs, Some(link)));
            }
            Ok(rel)
        }
    }
}

/// `origin of part `part``, the start of the errors.
fn who(origin: Origin<'_>, part: &str) -> String {
    format!("{origin} of part `{part}`")
}

/// Checks every output a generation's `manifest` records with [`decide`]
/// (a manifest made by an older release may name anything), before a
/// generation object is assembled or made current in `directory`.
pub fn check_manifest(directory: &str, manifest: &super::Manifest) -> Result<(), Error> {
    for part in &manifest.parts {
        for path in &part.outputs {
            let request = Request::Output {
                path,
                origin: Origin::Manifest,
            };
            if decide(directory, &part.name, request)? != *path {
                return Err(Error::OutsideBuildout {
                    who: who(Origin::Manifest, &part.name),
                    path: path.clone(),
                    directory: directory.to_string(),
                    link: None,
                });
            }
        }
    }
    Ok(())
}

/// `abs` relative to `directory` when it is strictly inside it and not in
/// the state directory `.buildout`.
fn lexically_inside(abs: &str, directory: &str) -> Option<String> {
    let rel = pystr::relpath(abs, directory);
    let mut components = Path::new(&rel).components();
    match components.next() {
        Some(Component::Normal(first)) if first != super::STATE => {}
        _ => return None,
    }
    components
        .all(|c| matches!(c, Component::Normal(_)))
        .then_some(rel)
}

/// The first existing directory on the way to `rel` (not `rel` itself,
/// which is replaced, never followed) that is a symbolic link leading
/// outside the buildout directory (or that cannot be resolved), if any.
///
/// Outputs under `bin/` and `parts/` are placed in the generation itself
/// (the buildout directory's `bin` and `parts` are links to it), never
/// written through the directory: only their names matter.
fn escaping_link(directory: &str, rel: &str) -> Option<String> {
    if super::is_generation_dir_output(rel) {
        return None;
    }
    let root = std::fs::canonicalize(directory).ok()?;
    let root = root.to_string_lossy();
    let mut at = Path::new(directory).to_path_buf();
    let components: Vec<Component<'_>> = Path::new(rel).components().collect();
    for c in &components[..components.len().saturating_sub(1)] {
        at.push(c);
        let Ok(meta) = std::fs::symlink_metadata(&at) else {
            return None;
        };
        if !meta.file_type().is_symlink() {
            continue;
        }
        let escapes = match std::fs::canonicalize(&at) {
            Ok(target) => lexically_inside(&target.to_string_lossy(), &root).is_none(),
            Err(_) => true,
        };
        if escapes {
            return Some(at.display().to_string());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn script(name: &str) -> Result<String, Error> {
        decide(
            "/b",
            "app",
            Request::Script {
                name,
                origin: Origin::Distribution("evil 1.0"),
            },
        )
    }

    fn output(path: &str, directory: &str) -> Result<String, Error> {
        decide(
            directory,
            "t",
            Request::Output {
                path,
                origin: Origin::Option("output"),
            },
        )
    }

    #[test]
    fn scripts_are_plain_file_names() {
        assert_eq!(script("tool").unwrap(), "bin/tool");
        assert_eq!(script("..tool").unwrap(), "bin/..tool");
        for bad in ["", ".", "..", "../x", "/abs/x", "a/b", "x\0y"] {
            let e = script(bad).unwrap_err().to_string();
            assert!(
                e.contains("distribution `evil 1.0` of part `app`")
                    && e.contains("not a plain file name"),
                "{e}"
            );
        }
    }

    #[test]
    fn outputs_stay_lexically_inside() {
        assert_eq!(output("etc/x", "/b").unwrap(), "etc/x");
        assert_eq!(output("/b/etc/../x", "/b").unwrap(), "x");
        assert_eq!(output("..x", "/b").unwrap(), "..x");
        for bad in [
            "/b",
            ".",
            "../x",
            "/b/../x",
            "/elsewhere/x",
            ".buildout/x",
            "a\0b",
        ] {
            let e = output(bad, "/b").unwrap_err().to_string();
            assert!(
                e.contains("option `output` of part `t`")
                    && e.contains("outside the buildout directory `/b`"),
                "{e}"
            );
        }
    }

    #[test]
    fn outputs_do_not_escape_through_links() {
        let tmp = tempfile::tempdir().unwrap();
        let b = tmp.path().join("b");
        std::fs::create_dir_all(b.join("real")).unwrap();
        std::os::unix::fs::symlink(tmp.path(), b.join("out")).unwrap();
        std::os::unix::fs::symlink("real", b.join("in")).unwrap();
        std::os::unix::fs::symlink("/nonexistent", b.join("dangling")).unwrap();
        // `bin` links into the store: its outputs go into the generation.
        std::os::unix::fs::symlink(tmp.path(), b.join("bin")).unwrap();
        assert_eq!(output("bin/x", b.to_str().unwrap()).unwrap(), "bin/x");
        let dir = b.to_str().unwrap();
        assert_eq!(output("in/x", dir).unwrap(), "in/x");
        // The last component is replaced by a link, never followed.
        assert_eq!(output("out", dir).unwrap(), "out");
        for bad in ["out/x", "dangling/x"] {
            let e = output(bad, dir).unwrap_err().to_string();
            assert!(e.contains("through the symbolic link"), "{e}");
        }
    }
}
