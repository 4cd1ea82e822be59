//! Things that produce store objects: generations (here), distributions
//! ([`dists`]: resolution against index and store, wheel installs
//! ([`wheel`]), sdist builds ([`sdist`]), both unpacked by [`extract`] (no
//! link followed, size limits), develop eggs ([`develop`])) and console
//! scripts ([`scripts`]). A part's object is its recipe's business
//! ([`crate::recipe::part`]). Binary caches ([`cache`]: push, the
//! store's substituter, export/import, cache gc) bring objects made
//! elsewhere.
//!
//! A generation's address is the digest of its manifest: `bin/` and
//! `files/` link to the parts' managed outputs, `parts/<name>` links to
//! each part object, and `manifest.json` records the run. It goes through
//! the store's one write path ([`crate::store::Store::add`]); `store verify
//! --repair` proves or rebuilds one from its own manifest.

pub mod cache;
pub mod develop;
pub mod dists;
pub mod extract;
pub mod scripts;
pub mod sdist;
pub mod wheel;

use crate::profile::Manifest;
use crate::profile::manifest::PartLink;
use crate::store::{self, Kind, NewObject, Store, StorePath};
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// A build error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Store(#[from] store::Error),
    #[error(transparent)]
    Profile(#[from] crate::profile::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

pub use crate::profile::object_name;

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
    // Outputs must be inside the buildout directory (`assemble` links
    // each under the generation).
    crate::profile::paths::check_manifest(&manifest.buildout_directory, manifest)?;
    let obj = generation_object(store, manifest)?;
    let added = store.add(&obj, |out| assemble(out, manifest))?;
    // Registered but deleted by hand (the current generation, whose
    // manifest the run could not read): made again.
    if added.reused && store.forget_missing(&added.path)? {
        return Ok(store.add(&obj, |out| assemble(out, manifest))?.path);
    }
    Ok(added.path)
}

/// The generation object of `manifest`: its address and references.
fn generation_object(store: &Store, manifest: &Manifest) -> Result<NewObject> {
    let path = generation_path(store, manifest)?;
    let mut obj = NewObject::known(path, Kind::Generation);
    for part in &manifest.parts {
        obj.references.push(store.parse_user_path(&part.path)?);
    }
    for dist in &manifest.distributions {
        obj.references.push(store.parse_user_path(&dist.path)?);
    }
    obj.references.sort_by(StorePath::cmp_hash_part);
    obj.references.dedup();
    Ok(obj)
}

/// Assembles `manifest` again in a locked stage of `store`, hashed.
fn assemble_staged(
    store: &Store,
    manifest: &Manifest,
) -> std::result::Result<store::HashedTree, String> {
    let stage = dists::store_scratch(store).map_err(|e| e.to_string())?;
    let out = stage.out();
    assemble(&out, manifest).map_err(|e| e.to_string())?;
    store.hash_tree_in(stage, out).map_err(|e| e.to_string())
}

/// The manifest of the generation object at `real`, if its address is the
/// manifest's digest.
fn own_manifest(
    store: &Store,
    path: &StorePath,
    real: &Path,
) -> std::result::Result<(Manifest, NewObject), String> {
    let manifest = crate::profile::read_manifest(crate::profile::Generation(0), real)
        .map_err(|e| e.to_string())?;
    let obj = generation_object(store, &manifest).map_err(|e| e.to_string())?;
    if obj.address != store::Address::Known(path.clone()) {
        return Err("its address is not the digest of its manifest".into());
    }
    Ok((manifest, obj))
}

/// Proves an unregistered generation object at `real` (`store verify
/// --repair` after the database was lost): its address must be the digest
/// of its `manifest.json`, and assembling that manifest again must give
/// exactly its tree. Returns the object to register, or `None` if `path`
/// is not a generation.
pub fn prove_generation(
    store: &Store,
    path: &StorePath,
    real: &Path,
) -> std::result::Result<Option<NewObject>, String> {
    if path.name() != "generation" {
        return Ok(None);
    }
    let (manifest, obj) = own_manifest(store, path, real)?;
    let again = assemble_staged(store, &manifest)?;
    let here = store::nar::hash_path(real).map_err(|e| e.to_string())?;
    if again.nar() != here {
        return Err("its manifest is intact but the rest of its tree was modified".into());
    }
    Ok(Some(obj))
}

/// Makes a damaged generation object again from its own manifest (`store
/// verify --repair`; the store checks the result's hash).
pub fn rebuild_generation(
    store: &Store,
    obj: &store::ObjectInfo,
) -> std::result::Result<store::HashedTree, String> {
    let (manifest, _) = own_manifest(store, &obj.path, &store.real_path(&obj.path))
        .map_err(|e| format!("its manifest cannot be used ({e})"))?;
    assemble_staged(store, &manifest)
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
    // Two parts may manage the same file (two `zc.recipe.egg` parts with
    // the same console script): as in zc.buildout, where the later part
    // writes it again, the later part's output wins.
    let mut linked: HashSet<PathBuf> = HashSet::new();
    for part in &manifest.parts {
        let part_dir = Path::new(&part.path);
        match &part.link {
            None => link(part_dir, &out.join("parts").join(&part.name))?,
            Some(PartLink::None) => {}
            Some(PartLink::Location) => {
                link(
                    &part_dir.join("location"),
                    &out.join("parts").join(&part.name),
                )?;
            }
            Some(PartLink::State(dir)) => {
                let expected = crate::profile::state_dir(&manifest.buildout_directory, &part.name);
                if Path::new(dir) != expected {
                    return Err(store::Error::Build(format!(
                        "part `{}` links `parts/{}` to `{dir}`, not to its state directory `{}`",
                        part.name,
                        part.name,
                        expected.display()
                    )));
                }
                link(Path::new(dir), &out.join("parts").join(&part.name))?;
            }
        }
        for rel in &part.outputs {
            let target = part_dir.join("outputs").join(rel);
            let at = if rel.starts_with("bin/") || rel.starts_with("parts/") {
                out.join(rel)
            } else {
                out.join("files").join(rel)
            };
            if linked.contains(&at) {
                std::fs::remove_file(&at).map_err(store::fsutil::err("replace link", &at))?;
            } else if at.symlink_metadata().is_ok() {
                return Err(store::Error::Build(format!(
                    "part `{}` manages `{rel}`, which another part's link already occupies",
                    part.name
                )));
            }
            link(&target, &at)?;
            linked.insert(at);
        }
    }
    let json = serde_json::to_string_pretty(manifest).expect("a manifest serialises");
    let file = out.join("manifest.json");
    std::fs::write(&file, json + "\n").map_err(store::fsutil::err("write", &file))
}
