//! Store addresses of distributions and what is recorded with them: an
//! installed wheel is addressed by the wheel's sha256, the installer and
//! (unless pure and without bytecode) the interpreter's cache tag; what is
//! built from an sdist by the sdist's sha256, [`BUILDER`] and the
//! interpreter. An object's origin records the file's URL and that sha256.

use super::hash_cache::local_sha256;
use super::{BUILDER, DistEnv, Error, INSTALLER, INSTALLER_NO_BYTECODE, Result};
use crate::index::DistFile;
use crate::python::{DistFilename, PackageName, WheelFilename};
use crate::store::{self, Store, StorePath};
use pep440_rs::Version;

/// The sha256 of `file` (from the index, else the local file, else its URL).
pub(super) fn file_sha256(file: &DistFile) -> Result<String> {
    Ok(match file.sha256() {
        Some(s) => s.to_string(),
        None => match file.local_path() {
            Some(p) => local_sha256(&p)?,
            None => file.url.clone(),
        },
    })
}

/// The address of an output object named `name` whose inputs are `key`.
pub(super) fn output_path(
    env: &DistEnv<'_>,
    name: &str,
    key: &serde_json::Value,
) -> Result<StorePath> {
    let digest = store::path::sha256(key.to_string().as_bytes());
    Ok(
        store::path::output_path(name, "out", &digest, env.store.dir_str())
            .map_err(store::Error::from)?,
    )
}

/// The store address of the distribution installed from an sdist.
pub(super) fn sdist_dist_path(env: &DistEnv<'_>, file: &DistFile) -> Result<StorePath> {
    let f = &file.filename;
    sdist_object_path(env, f.name(), f.version(), &file_sha256(file)?)
}

/// The address of the distribution built from the sdist whose sha256 is
/// `sha` (see [`origin`]).
pub(super) fn sdist_object_path(
    env: &DistEnv<'_>,
    name: &PackageName,
    version: &Version,
    sha: &str,
) -> Result<StorePath> {
    let key = serde_json::json!({
        "sdist": sha,
        "builder": BUILDER,
        "installer": env.installer(),
        "interpreter": env.cache_tag(),
    });
    output_path(env, &format!("{}-{}", name.as_str(), version), &key)
}

/// A distribution object's origin: the file's URL with the sha256 its
/// address was computed from (`#sha256=`, as on a simple page), so that a
/// later run can tell whether the object is exactly what it would install
/// now ([`super::IndexProvider::new`]).
pub(super) fn origin(file: &DistFile) -> Result<String> {
    // Credentials never reach the store's database (the fetch gets them
    // from the index options or ~/.netrc again).
    let url = crate::index::redact(file.url.split('#').next().unwrap_or_default());
    let sha = file_sha256(file)?;
    if sha == file.url {
        return Ok(url);
    }
    Ok(format!("{url}#sha256={sha}"))
}

/// Splits an origin into its file name and the sha256 it records (none for
/// objects registered before origins carried it).
pub(super) fn split_origin(origin: &str) -> (&str, Option<&str>) {
    let (url, fragment) = origin.split_once('#').unwrap_or((origin, ""));
    let filename = url.rsplit('/').next().unwrap_or_default();
    (filename, fragment.strip_prefix("sha256="))
}

/// The store address of the installed form of `file`.
pub(super) fn dist_path(env: &DistEnv<'_>, file: &DistFile) -> Result<StorePath> {
    let DistFilename::Wheel(w) = &file.filename else {
        return Err(Error::NoWheel {
            name: file.filename.name().to_string(),
            version: file.filename.version().to_string(),
            python: env.python.clone(),
        });
    };
    wheel_object_path(env, w, &file_sha256(file)?)
}

/// The address of the install of wheel `w` whose sha256 is `sha` (without
/// one from the index, the URL, which then names the content). A pure
/// wheel without bytecode serves every interpreter; with bytecode, each
/// cache tag gets its own object (`.pyc` files are per Python version, and
/// one compiled for 3.11 would make 3.12 compile in memory at every start).
/// `buildout store optimise` shares their identical files.
pub(super) fn wheel_object_path(
    env: &DistEnv<'_>,
    w: &WheelFilename,
    sha: &str,
) -> Result<StorePath> {
    wheel_address(env.store, env.compile_bytecode, &env.cache_tag(), w, sha)
}

/// [`wheel_object_path`] from its parts: the store, the bytecode setting,
/// the interpreter's cache tag (`cpython-311`).
pub(super) fn wheel_address(
    store: &Store,
    compile_bytecode: bool,
    cache_tag: &str,
    w: &WheelFilename,
    sha: &str,
) -> Result<StorePath> {
    let pure = w.abi.iter().all(|a| a == "none") && w.platform.iter().all(|p| p == "any");
    let key = serde_json::json!({
        "wheel": sha,
        "installer": if compile_bytecode { INSTALLER } else { INSTALLER_NO_BYTECODE },
        "interpreter": if pure && !compile_bytecode { "" } else { cache_tag },
    });
    let digest = store::path::sha256(key.to_string().as_bytes());
    let name = format!("{}-{}", w.name.as_str(), w.version);
    Ok(
        store::path::output_path(&name, "out", &digest, store.dir_str())
            .map_err(store::Error::from)?,
    )
}
