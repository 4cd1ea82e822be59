//! A part's store object: its address and its build.
//!
//! A part's address is the digest of its recipe's identity, its options
//! after substitution and whatever else its output depends on (a rendered
//! template), so unchanged inputs give the same path and no work. The
//! object is built through the store's one write path
//! ([`crate::store::Store::add`]). `store verify --repair` rebuilds a
//! damaged part from the inputs its generation's manifest records
//! ([`rebuild_part`]).

use super::{Error, Recipe, Result};
use crate::build::object_name;
use crate::store::{self, Kind, NewObject, Store, StorePath};
use std::cell::RefCell;
use std::collections::BTreeMap;

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
    let failure: RefCell<Option<Error>> = RefCell::new(None);
    let mut obj = NewObject::known(path.clone(), Kind::Part);
    obj.references = references;
    obj.references.sort_by(StorePath::cmp_hash_part);
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
            Some(recipe_error) => recipe_error,
            None => Error::Store(e),
        }),
    }
}

/// Makes a part object again from the inputs a generation manifest records
/// (`store verify --repair`): the configuration snapshot and the part's
/// working set are replayed, the recipe constructed and built in a locked
/// stage. The inputs must still give the part's address (a file the recipe
/// reads may have changed); the store checks the result's hash.
pub fn rebuild_part(
    store: &Store,
    obj: &store::ObjectInfo,
) -> std::result::Result<store::HashedTree, String> {
    let abs = obj.path.to_absolute(store.dir_str());
    let mut found = None;
    for g in store.referrers(&obj.path).map_err(|e| e.to_string())? {
        let real = store.real_path(&g);
        if let Ok(m) = crate::profile::read_manifest(crate::profile::Generation(0), &real)
            && let Some(entry) = m.parts.iter().find(|p| p.path == abs).cloned()
        {
            found = Some((m, entry));
            break;
        }
    }
    let (manifest, entry) = found.ok_or("no generation manifest records its inputs")?;
    let failed = |e: Error| format!("its recipe failed: {e}");
    let mut buildout = crate::config::Buildout::new(manifest.config.clone());
    let mut recipe = super::construct(&mut buildout, &entry.name, &manifest.buildout_directory)
        .map_err(failed)?;
    let lazy = manifest
        .config
        .get("buildout")
        .and_then(|s| s.get("compile-bytecode"))
        .is_some_and(|v| v.trim() == "false");
    let mut replay = Replay {
        dists: &entry.distributions,
        bytecode_cache: lazy.then(|| store.bytecode_cache().display().to_string()),
    };
    recipe.prepare(&mut replay).map_err(failed)?;
    let again = part_path(store, &entry.name, recipe.as_ref(), &entry.options)
        .map_err(|e| e.to_string())?;
    if again != obj.path {
        return Err(format!(
            "its recorded inputs now give another part (`{}`): a file its recipe reads changed",
            store.real_path(&again).display()
        ));
    }
    recipe.set_location(&abs);
    let stage = crate::build::dists::store_scratch(store).map_err(|e| e.to_string())?;
    let out = stage.out();
    recipe.build(&out).map_err(failed)?;
    store.hash_tree_in(stage, out).map_err(|e| e.to_string())
}

/// The services of a part being rebuilt: its recorded working set.
struct Replay<'a> {
    dists: &'a [crate::profile::manifest::DistEntry],
    bytecode_cache: Option<String>,
}

impl super::Services for Replay<'_> {
    fn distributions(
        &mut self,
        _request: &super::DistRequest<'_>,
    ) -> Result<Vec<crate::profile::manifest::DistEntry>> {
        Ok(self.dists.to_vec())
    }

    fn bytecode_cache(&self) -> Option<String> {
        self.bytecode_cache.clone()
    }
}
