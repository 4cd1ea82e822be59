//! Repair: a damaged distribution object made again from the wheel its
//! origin names, for `store verify --repair` ([`rebuild_dist`]).

use super::address::{split_origin, wheel_address};
use super::store_scratch;
use crate::build::wheel;
use crate::index::{self, DistFile};
use crate::python::{DistFilename, WheelFilename};
use crate::store::{self, Store};
use std::path::PathBuf;
use std::str::FromStr;

/// Makes a distribution object again for `store verify --repair`: the
/// wheel named by its origin (`<url>#sha256=<hex>`) is fetched and checked,
/// the interpreter and bytecode setting are the ones whose address is the
/// object's path (among the interpreters probed before, and `python3`),
/// and the tree is installed and compiled exactly as an install does. The
/// store compares the result's hash with the recorded one.
pub fn rebuild_dist(
    store: &Store,
    client: &index::Client,
    obj: &store::ObjectInfo,
) -> std::result::Result<store::HashedTree, String> {
    let origin = obj
        .origin
        .as_deref()
        .ok_or("no origin is recorded, so there is nothing to fetch it from")?;
    let (filename, sha) = split_origin(origin);
    let sha = sha.ok_or("its origin records no sha256 (registered by an older buildout)")?;
    let w = WheelFilename::from_str(filename)
        .map_err(|_| format!("rebuilding from an sdist (`{filename}`) is not implemented yet"))?;
    // Which interpreter and setting made it.
    use crate::python::interpreter;
    let cache = interpreter::default_cache_dir();
    let mut interpreters: Vec<Option<PathBuf>> = vec![None];
    if let Some(dir) = &cache {
        interpreters.extend(interpreter::cached_interpreters(dir).into_iter().map(Some));
    }
    let mut found = None;
    'search: for exe in &interpreters {
        let Ok(facts) = interpreter::probe(exe.as_deref(), cache.as_deref()) else {
            continue;
        };
        let tag = facts.cache_tag();
        for compile in [true, false] {
            if wheel_address(store, compile, &tag, &w, sha).map_err(|e| e.to_string())? == obj.path
            {
                found = Some((facts.executable.clone(), compile));
                break 'search;
            }
        }
    }
    let (python, compile) = found.ok_or(
        "no interpreter on this machine makes this address (the one that installed it is gone)",
    )?;
    let url = origin.split('#').next().unwrap_or_default().to_string();
    let file = DistFile {
        filename: DistFilename::Wheel(w),
        url,
        hashes: [("sha256".to_string(), sha.to_string())].into(),
        requires_python: None,
        yanked: None,
        core_metadata: Default::default(),
        size: None,
        upload_time: None,
        source: index::Source::Index,
    };
    let work = store_scratch(store).map_err(|e| e.to_string())?;
    let wheel = client
        .download(&file, work.path(), &index::NoReporter)
        .map_err(|e| e.to_string())?;
    let tree = work.path().join("tree");
    wheel::install(&wheel, &tree, Some(&python), Default::default()).map_err(|e| e.to_string())?;
    if compile {
        wheel::compile_trees(
            &python,
            &[(tree.clone(), obj.path.to_absolute(store.dir_str()))],
        )
        .map_err(|e| e.to_string())?;
    }
    // The tree stays in its locked working directory until it is in place.
    store.hash_tree_in(work, tree).map_err(|e| e.to_string())
}
