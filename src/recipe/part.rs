//! A part's store object: its address and its build.
//!
//! A part's address is the digest of its recipe's identity, its options
//! after substitution and whatever else its output depends on (a rendered
//! template), so unchanged inputs give the same path and no work. The
//! object is built through the store's one write path
//! ([`crate::store::Store::add`]).

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
            Some(recipe_error) => recipe_error,
            None => Error::Store(e),
        }),
    }
}
