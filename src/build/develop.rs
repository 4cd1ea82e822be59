//! Develop eggs: editable installs of local projects (`[buildout]
//! develop =`, `zc.recipe.egg:develop`).
//!
//! Each project is built with its PEP 517 backend's `build_editable`
//! (PEP 660; setuptools ≥ 64, hatchling, flit, pdm; `setup.py`-only
//! projects go through setuptools' `__legacy__` backend, which has it) in
//! the same isolated environment of store objects as sdist builds. The
//! small editable wheel is installed like any wheel into a store object of
//! kind `dist` (origin `file://<project>`); its `.pth` file points at the
//! project's source, which stays mutable outside the store, so edits show
//! without re-running buildout.
//!
//! **When it is rebuilt.** zc.buildout re-runs `pip install -e` on every
//! run. Here the object's address is the digest of the project's absolute
//! path, the contents of its `pyproject.toml`, `setup.py` and `setup.cfg`
//! (uv's default cache key), the interpreter's cache tag and the builder
//! and installer identities: a run where none of these changed reuses the
//! object without calling the backend. A change elsewhere in the metadata
//! (a version read from a module by a dynamic backend) needs a touch of
//! one of those files.
//!
//! **Precedence.** A develop dist is handed to the resolver as a
//! [`LocalDist`]: the only candidate of its name, so it wins over every
//! index version, as develop eggs do in zc.buildout.
//!
//! **`sys.path`.** Editable installs work through the `.pth` files at the
//! object's root: scripts read them as zc.buildout does
//! ([`super::scripts::pth_paths`]): path lines join the script's path,
//! `import` lines (setuptools' finder hooks) are skipped.

use super::dists::{self, DistEnv, LocalDist, Progress};
use crate::store::{self, Kind, NewObject, StorePath};
use std::path::{Path, PathBuf};

/// Developer identity, part of a develop dist's address.
pub const DEVELOPER: &str = "buildout-develop-1";

/// Files whose content decides whether a project is rebuilt.
pub const METADATA_FILES: &[&str] = &["pyproject.toml", "setup.py", "setup.cfg"];

/// A develop error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Dists(#[from] dists::Error),
    #[error(transparent)]
    Store(#[from] store::Error),
    #[error(transparent)]
    Io(#[from] crate::fs::IoError),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A developed project.
#[derive(Debug, Clone)]
pub struct Developed {
    pub dist: LocalDist,
}

/// `[buildout] develop` entries, glob-expanded relative to `directory`
/// and sorted per entry; missing ones give zc.buildout's warning.
pub fn expand(entries: &str, directory: &str) -> (Vec<PathBuf>, Vec<String>) {
    let mut found = Vec::new();
    let mut warnings = Vec::new();
    for entry in entries.split_whitespace() {
        let abs = crate::config::pystr::abspath(entry, directory);
        let mut matches = if entry.contains(['*', '?', '[']) {
            glob(&abs)
        } else if Path::new(&abs).exists() {
            vec![PathBuf::from(&abs)]
        } else {
            Vec::new()
        };
        if matches.is_empty() {
            warnings.push(format!("Couldn't develop '{abs}' (not found)"));
        }
        matches.sort();
        for m in matches {
            // `develop = src/x/setup.py` names the project by its setup.py.
            let dir = if m.is_file() {
                m.parent().map(Path::to_path_buf).unwrap_or(m)
            } else {
                m
            };
            if !found.contains(&dir) {
                found.push(dir);
            }
        }
    }
    (found, warnings)
}

/// Existing paths matching an absolute glob pattern (`*`, `?`, `[...]`
/// within one component).
fn glob(pattern: &str) -> Vec<PathBuf> {
    let mut current = vec![PathBuf::from("/")];
    for comp in pattern.split('/').filter(|c| !c.is_empty()) {
        let mut next = Vec::new();
        for base in &current {
            if comp.contains(['*', '?', '[']) {
                let Ok(entries) = std::fs::read_dir(base) else {
                    continue;
                };
                for e in entries.flatten() {
                    let name = e.file_name().to_string_lossy().into_owned();
                    if (!name.starts_with('.') || comp.starts_with('.'))
                        && crate::index::fnmatch(comp, &name)
                    {
                        next.push(base.join(name));
                    }
                }
            } else {
                let p = base.join(comp);
                if p.symlink_metadata().is_ok() {
                    next.push(p);
                }
            }
        }
        current = next;
    }
    current
}

/// The store address of the develop dist of `src`.
pub fn develop_path(env: &DistEnv<'_>, src: &Path) -> Result<StorePath> {
    let mut files = serde_json::Map::new();
    for name in METADATA_FILES {
        let p = src.join(name);
        match std::fs::read(&p) {
            Ok(bytes) => {
                files.insert(
                    (*name).to_string(),
                    serde_json::Value::String(hex::encode(store::path::sha256(&bytes))),
                );
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(Error::from(crate::fs::io("read", &p)(source)));
            }
        }
    }
    let key = serde_json::json!({
        "develop": src.display().to_string(),
        "files": files,
        "developer": DEVELOPER,
        "builder": dists::BUILDER,
        "installer": env.installer(),
        "interpreter": env.cache_tag(),
    });
    let base = src
        .file_name()
        .map_or_else(|| "project".into(), |n| n.to_string_lossy().into_owned());
    let name = format!("{}-develop", super::object_name(&base));
    let digest = store::path::sha256(key.to_string().as_bytes());
    Ok(
        store::path::output_path(&name, "out", &digest, env.store.dir_str())
            .map_err(store::Error::from)?,
    )
}

/// Builds (or reuses) the editable install of the project in `src`
/// (absolute).
pub fn develop(
    env: &DistEnv<'_>,
    src: &Path,
    extra_env: &[(String, String)],
    progress: &mut dyn Progress,
) -> Result<Developed> {
    let path = develop_path(env, src)?;
    let abs = path.to_absolute(env.store.dir_str());
    let built = !env.store.root_and_check(&path)?;
    if built {
        let label = src.display().to_string();
        progress.building(&label, "(develop)");
        let tmp = dists::store_scratch(env.store)?;
        let wheel = dists::build_tree(
            env,
            &label,
            src,
            "editable",
            extra_env,
            progress,
            tmp.path(),
        )?;
        let mut obj = NewObject::known(path.clone(), Kind::Dist);
        obj.origin = Some(format!("file://{}", src.display()));
        dists::install_wheel(env, &obj, &wheel)?;
    }
    let metadata = dists::read_store_metadata(&abs)?;
    Ok(Developed {
        dist: LocalDist {
            name: metadata.name.clone(),
            project_name: metadata.name.original().to_string(),
            version: metadata.version.clone(),
            metadata,
            path,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_globs_and_warns() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path().display().to_string();
        std::fs::create_dir_all(tmp.path().join("src/a")).unwrap();
        std::fs::create_dir_all(tmp.path().join("src/b")).unwrap();
        std::fs::write(tmp.path().join("src/b/setup.py"), "").unwrap();
        let (found, warnings) = expand("src/* missing src/b/setup.py", &d);
        assert_eq!(
            found,
            vec![tmp.path().join("src/a"), tmp.path().join("src/b")]
        );
        assert_eq!(
            warnings,
            vec![format!("Couldn't develop '{d}/missing' (not found)")]
        );
    }
}
