//! Things that produce store objects: part outputs and generations (here),
//! distributions ([`dists`]: resolution against index and store, wheel
//! installs ([`wheel`]), sdist builds ([`sdist`]), both unpacked by
//! [`extract`] (no link followed, size limits), develop eggs
//! ([`develop`])) and console scripts ([`scripts`]).
//!
//! A part's address is the digest of its recipe's identity, its options
//! after substitution and whatever else its output depends on (a rendered
//! template), so unchanged inputs give the same path and no work. A
//! generation's address is the digest of its manifest: `bin/` and `files/`
//! link to the parts' managed outputs, `parts/<name>` links to each part
//! object, and `manifest.json` records the run. Both go through the
//! store's one write path ([`crate::store::Store::add`]).

pub mod develop;
pub mod dists;
pub mod extract;
pub mod scripts;
pub mod sdist;
pub mod wheel;

use crate::profile::Manifest;
use crate::recipe::{self, Recipe};
use crate::store::{self, Kind, NewObject, Store, StorePath};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::Path;

/// A build error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Store(#[from] store::Error),
    #[error(transparent)]
    Recipe(#[from] recipe::Error),
    #[error("parts `{first}` and `{second}` both manage `{path}`")]
    OutputClash {
        path: String,
        first: String,
        second: String,
    },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A store-safe object name for a part (`[A-Za-z0-9+-._?=]`).
pub fn object_name(part: &str) -> String {
    let name: String = part
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "+-._?=".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let name = name.trim_start_matches('.').to_string();
    if name.is_empty() { "part".into() } else { name }
}

/// The store path a part will have.
pub fn part_path(
    store: &Store,
    part: &str,
    recipe: &dyn Recipe,
    options: &BTreeMap<String, String>,
) -> Result<StorePath> {
    let key = serde_json::json!({
        "recipe": recipe.identity(),
        "options": options,
        "content": recipe.content_key(),
    });
    let digest = store::path::sha256(key.to_string().as_bytes());
    Ok(
        store::path::output_path(&object_name(part), "out", &digest, store.dir_str())
            .map_err(store::Error::from)?,
    )
}

/// Builds (or reuses) a part's object. Returns the path and whether it
/// already existed.
pub fn build_part(
    store: &Store,
    path: &StorePath,
    recipe: &dyn Recipe,
    references: Vec<StorePath>,
) -> Result<(StorePath, bool)> {
    let failure: RefCell<Option<recipe::Error>> = RefCell::new(None);
    let mut obj = NewObject::known(path.clone(), Kind::Part);
    obj.references = references;
    obj.references.sort_by_key(StorePath::hash_part);
    obj.references.dedup();
    let added = store.add(&obj, |out| {
        recipe.build(out).map_err(|e| {
            let message = e.to_string();
            *failure.borrow_mut() = Some(e);
            store::Error::Build(message)
        })
    });
    match added {
        Ok(a) => Ok((a.path, a.reused)),
        Err(e) => Err(match failure.into_inner() {
            Some(recipe_error) => Error::Recipe(recipe_error),
            None => Error::Store(e),
        }),
    }
}

/// The store path of the generation assembled from `manifest`.
pub fn generation_path(store: &Store, manifest: &Manifest) -> Result<StorePath> {
    let digest = store::path::sha256(manifest.canonical_json().as_bytes());
    Ok(
        store::path::output_path("generation", "out", &digest, store.dir_str())
            .map_err(store::Error::from)?,
    )
}

/// Builds (or reuses) the generation object for `manifest`.
pub fn build_generation(store: &Store, manifest: &Manifest) -> Result<StorePath> {
    // Outputs must be unique across parts.
    let mut owners: BTreeMap<&str, &str> = BTreeMap::new();
    for part in &manifest.parts {
        for out in &part.outputs {
            if let Some(first) = owners.insert(out.as_str(), part.name.as_str()) {
                return Err(Error::OutputClash {
                    path: out.clone(),
                    first: first.to_string(),
                    second: part.name.clone(),
                });
            }
        }
    }
    let path = generation_path(store, manifest)?;
    let mut obj = NewObject::known(path, Kind::Generation);
    for part in &manifest.parts {
        obj.references.push(store.parse_user_path(&part.path)?);
    }
    for dist in &manifest.distributions {
        obj.references.push(store.parse_user_path(&dist.path)?);
    }
    obj.references.sort_by_key(StorePath::hash_part);
    obj.references.dedup();
    let added = store.add(&obj, |out| assemble(out, manifest))?;
    Ok(added.path)
}

fn assemble(out: &Path, manifest: &Manifest) -> store::Result<()> {
    let mk = |p: &Path| std::fs::create_dir_all(p).map_err(store::fsutil::err("create", p));
    let link = |target: &Path, at: &Path| -> store::Result<()> {
        if let Some(parent) = at.parent() {
            std::fs::create_dir_all(parent).map_err(store::fsutil::err("create", parent))?;
        }
        std::os::unix::fs::symlink(target, at).map_err(store::fsutil::err("create link", at))
    };
    mk(out)?;
    mk(&out.join("bin"))?;
    mk(&out.join("parts"))?;
    mk(&out.join("files"))?;
    for part in &manifest.parts {
        let part_dir = Path::new(&part.path);
        link(part_dir, &out.join("parts").join(&part.name))?;
        for rel in &part.outputs {
            let target = part_dir.join("outputs").join(rel);
            let at = if rel.starts_with("bin/") || rel.starts_with("parts/") {
                out.join(rel)
            } else {
                out.join("files").join(rel)
            };
            if at.symlink_metadata().is_ok() {
                return Err(store::Error::Build(format!(
                    "part `{}` manages `{rel}`, which another part's link already occupies",
                    part.name
                )));
            }
            link(&target, &at)?;
        }
    }
    let json = serde_json::to_string_pretty(manifest).expect("a manifest serialises");
    let file = out.join("manifest.json");
    std::fs::write(&file, json + "\n").map_err(store::fsutil::err("write", &file))
}
