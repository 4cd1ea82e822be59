//! Distributions and lock files ([`crate::resolve::lock`]): which file a
//! resolution uses, with its sha256 and size, for `buildout lock`
//! ([`lock_files`]); and installing exactly the locked files, without the
//! index or the resolver ([`realise_locked`]): the wheel among the locked
//! ones that best matches the interpreter's tags (by name, offline, as PEP
//! 751 says), else the locked sdist, each download checked against the
//! lock's sha256 whatever its URL. Sdists' build environments are
//! recorded ([`lock_builds`]) and installed from the lock through
//! [`super::BuildLock`].

use super::address::{dist_path, file_sha256, sdist_dist_path};
use super::install::{Action, Pending, Preview, install_missing};
use super::sdist_build::{built_wheel, record_build};
use super::{
    BuildRecord, DistEnv, Error, IndexProvider, LocalDist, Progress, Result, store_scratch,
};
use crate::index::{CoreMetadata, DistFile, Source, find_links};
use crate::profile::manifest::DistEntry;
use crate::python::{DistFilename, PackageName};
use crate::resolve::{Resolution, Resolved};
use crate::store::{Kind, NewObject};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The file a resolved distribution is installed from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockedFile {
    /// The file name (`demo-1.0-py3-none-any.whl`).
    pub name: String,
    /// Its URL (`file:` for local files).
    pub url: String,
    pub size: Option<u64>,
    pub sha256: String,
    pub is_wheel: bool,
    /// Whether it came from the index (not find-links or a cache).
    pub from_index: bool,
}

/// One distribution of a resolution, as a lock records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockedDist {
    pub resolved: Resolved,
    /// `None` for a local project (develop egg).
    pub file: Option<LockedFile>,
}

/// The file each distribution of `resolution` would be installed from,
/// with its sha256 (from the index, else the file itself: a remote file
/// without a hash is downloaded to hash it).
pub fn lock_files(
    env: &DistEnv<'_>,
    provider: &IndexProvider<'_>,
    resolution: &Resolution,
) -> Result<Vec<LockedDist>> {
    let mut out = Vec::new();
    for r in &resolution.packages {
        if provider.local(&r.name).is_some() {
            out.push(LockedDist {
                resolved: r.clone(),
                file: None,
            });
            continue;
        }
        let file = provider
            .best_file(&r.name, &r.version)
            .ok_or_else(|| Error::NoWheel {
                name: r.project_name.clone(),
                version: r.version.to_string(),
                python: env.python.clone(),
            })?;
        let (sha256, size) = match (file.sha256(), file.local_path()) {
            (Some(sha), _) => (sha.to_string(), file.size),
            (None, Some(path)) => (
                file_sha256(&file)?,
                std::fs::metadata(&path).ok().map(|m| m.len()),
            ),
            (None, None) => {
                let path = provider.fetch(&file)?;
                let digests =
                    crate::index::download::digest_file(&path, false).map_err(Error::Index)?;
                (
                    digests.sha256,
                    std::fs::metadata(&path).ok().map(|m| m.len()),
                )
            }
        };
        let size = size.or_else(|| {
            file.local_path()
                .and_then(|p| std::fs::metadata(p).ok())
                .map(|m| m.len())
        });
        out.push(LockedDist {
            resolved: r.clone(),
            file: Some(LockedFile {
                name: file.filename.to_string(),
                url: file.url.clone(),
                size,
                sha256,
                is_wheel: file.filename.is_wheel(),
                from_index: file.source == Source::Index,
            }),
        });
    }
    super::hash_cache::save();
    Ok(out)
}

/// While locking: records the build environment of every sdist of
/// `resolution` not recorded yet (the backend is asked for
/// `get_requires_for_build_wheel`, nothing is built), and returns the
/// records made since the last call.
pub fn lock_builds(
    env: &DistEnv<'_>,
    provider: &IndexProvider<'_>,
    resolution: &Resolution,
    progress: &mut dyn Progress,
) -> Result<Vec<BuildRecord>> {
    for r in &resolution.packages {
        if provider.local(&r.name).is_some() {
            continue;
        }
        let Some(file) = provider.best_file(&r.name, &r.version) else {
            continue;
        };
        if file.filename.is_wheel() {
            continue;
        }
        let label = format!(
            "{} {}",
            file.filename.name().as_str(),
            file.filename.version()
        );
        if env.builds.has_record(&env.python, &label) {
            continue;
        }
        let archive = match file.local_path() {
            Some(p) => p,
            None => provider.fetch(&file)?,
        };
        record_build(env, &label, &archive, progress)?;
    }
    // Sdists among the build requirements: their own build environments
    // (a build requirement already built in the store was not built now).
    let mut seen = std::collections::BTreeSet::new();
    loop {
        let nested: Vec<(String, DistFile)> = env
            .builds
            .recorded
            .borrow()
            .iter()
            .flat_map(|b| &b.dists)
            .filter_map(|d| {
                let f = d.file.as_ref().filter(|f| !f.is_wheel)?;
                let label = format!("{} {}", d.resolved.name, d.resolved.version);
                Some((label, dist_file(f, &d.resolved.name)?))
            })
            .filter(|(label, _)| !env.builds.has_record(&env.python, label))
            .filter(|(label, _)| seen.insert(label.clone()))
            .collect();
        if nested.is_empty() {
            break;
        }
        for (label, file) in nested {
            let staging = store_scratch(env.store)?;
            let archive = match file.local_path() {
                Some(p) => p,
                None => env.client.download(&file, staging.path(), env.reporter)?,
            };
            record_build(env, &label, &archive, progress)?;
        }
    }
    Ok(env.builds.recorded.borrow_mut().drain(..).collect())
}

/// A locked distribution to install: what it is, and the files the lock
/// lists for it.
#[derive(Debug, Clone)]
pub struct Wanted {
    pub resolved: Resolved,
    pub wheels: Vec<LockedFile>,
    pub sdist: Option<LockedFile>,
}

/// Why [`realise_locked`] failed: the error, and the distribution (name,
/// version) and file it concerns.
#[derive(Debug)]
pub struct LockedError {
    pub entry: String,
    pub file: Option<String>,
    pub error: Box<Error>,
}

/// Makes every wanted distribution a store object from exactly its locked
/// file (local projects from `local`), returns them in `wanted`'s order.
pub fn realise_locked(
    env: &DistEnv<'_>,
    wanted: &[Wanted],
    local: &[LocalDist],
    progress: &mut dyn Progress,
) -> Result<Vec<DistEntry>, LockedError> {
    let mut entries: Vec<Option<DistEntry>> = vec![None; wanted.len()];
    let mut missing: Vec<Pending> = Vec::new();
    let mut to_build: Vec<Pending> = Vec::new();
    let store_dir = env.store.dir_str().to_string();
    let packages: Vec<Resolved> = wanted.iter().map(|w| w.resolved.clone()).collect();
    for (i, w) in wanted.iter().enumerate() {
        let r = &w.resolved;
        let (chosen, file, path) = match locate(env, w, local)? {
            Located::Local(path) => {
                entries[i] = Some(dist_entry(r, &path, &store_dir));
                continue;
            }
            Located::File(chosen, file, path) => (chosen, *file, path),
        };
        if env.store.root_and_check(&path).map_err(|e| LockedError {
            entry: format!("{} {}", r.name, r.version),
            file: Some(chosen.name.clone()),
            error: Box::new(e.into()),
        })? {
            entries[i] = Some(dist_entry(r, &path, &store_dir));
        } else if file.filename.is_wheel() {
            missing.push((i, file, path));
        } else {
            to_build.push((i, file, path));
        }
    }
    if !missing.is_empty() {
        install_missing(env, &packages, &missing, progress).map_err(|error| {
            // A download names its file: name its entry too.
            let file = match &error {
                Error::Index(crate::index::Error::HashMismatch { file, .. }) => Some(file.clone()),
                _ => None,
            };
            let entry = file
                .as_ref()
                .and_then(|f| {
                    missing
                        .iter()
                        .find(|(_, d, _)| &d.filename.to_string() == f)
                })
                .map(|(i, _, _)| format!("{} {}", packages[*i].name, packages[*i].version))
                .unwrap_or_default();
            LockedError {
                entry,
                file,
                error: Box::new(error),
            }
        })?;
        for (i, _, path) in &missing {
            entries[*i] = Some(dist_entry(&packages[*i], path, &store_dir));
        }
    }
    for (i, file, path) in to_build {
        let r = &packages[i];
        let fail = |error: Error| LockedError {
            entry: format!("{} {}", r.name, r.version),
            file: Some(file.filename.to_string()),
            error: Box::new(error),
        };
        progress.getting(&r.project_name, &r.version.to_string());
        let staging = store_scratch(env.store).map_err(fail)?;
        let archive = env
            .client
            .download(&file, staging.path(), env.reporter)
            .map_err(|e| fail(e.into()))?;
        let wheel = built_wheel(env, &file, &archive, progress).map_err(fail)?;
        let mut obj = NewObject::known(path.clone(), Kind::Dist);
        obj.origin = Some(super::address::origin(&file).map_err(fail)?);
        super::install_wheel(env, &obj, &wheel).map_err(fail)?;
        progress.got(&r.project_name, &r.version.to_string());
        entries[i] = Some(dist_entry(r, &path, &store_dir));
    }
    Ok(entries.into_iter().flatten().collect())
}

/// Where a wanted distribution comes from.
enum Located<'w> {
    /// A local project's object.
    Local(crate::store::StorePath),
    /// Its locked file (see [`choose`]) and the store path of its object.
    File(&'w LockedFile, Box<DistFile>, crate::store::StorePath),
}

/// The manifest entry of `r` at `path`.
fn dist_entry(r: &Resolved, path: &crate::store::StorePath, store_dir: &str) -> DistEntry {
    DistEntry {
        name: r.project_name.clone(),
        version: r.version.to_string(),
        path: path.to_absolute(store_dir),
    }
}

/// Where `w` comes from: `local`, else its locked file.
fn locate<'w>(
    env: &DistEnv<'_>,
    w: &'w Wanted,
    local: &[LocalDist],
) -> Result<Located<'w>, LockedError> {
    let r = &w.resolved;
    if let Some(l) = local.iter().find(|l| l.name == r.name) {
        return Ok(Located::Local(l.path.clone()));
    }
    let fail = |file: Option<&LockedFile>, error: Error| LockedError {
        entry: format!("{} {}", r.name, r.version),
        file: file.map(|f| f.name.clone()),
        error: Box::new(error),
    };
    let Some((chosen, file)) = choose(env, w) else {
        return Err(fail(
            None,
            Error::NoWheel {
                name: r.project_name.clone(),
                version: r.version.to_string(),
                python: env.python.clone(),
            },
        ));
    };
    let path = if file.filename.is_wheel() {
        dist_path(env, &file)
    } else {
        sdist_dist_path(env, &file)
    }
    .map_err(|e| fail(Some(chosen), e))?;
    Ok(Located::File(chosen, Box::new(file), path))
}

/// What [`realise_locked`] would do, without doing it (`install
/// --dry-run` with a lock): the working set with the store paths its
/// members have or would have, and what each needs.
pub fn preview_locked(
    env: &DistEnv<'_>,
    wanted: &[Wanted],
    local: &[LocalDist],
) -> Result<(Vec<DistEntry>, Vec<Preview>), LockedError> {
    let store_dir = env.store.dir_str().to_string();
    let mut entries = Vec::new();
    let mut previews = Vec::new();
    for w in wanted {
        let r = &w.resolved;
        let (chosen, file, path) = match locate(env, w, local)? {
            Located::Local(path) => {
                entries.push(dist_entry(r, &path, &store_dir));
                continue;
            }
            Located::File(chosen, file, path) => (chosen, *file, path),
        };
        let action = if env.store.is_valid(&path).map_err(|e| LockedError {
            entry: format!("{} {}", r.name, r.version),
            file: Some(chosen.name.clone()),
            error: Box::new(e.into()),
        })? {
            Action::Reuse
        } else if file.filename.is_wheel() {
            Action::Download(chosen.size)
        } else {
            Action::Build
        };
        entries.push(dist_entry(r, &path, &store_dir));
        previews.push(Preview {
            name: r.project_name.clone(),
            version: r.version.to_string(),
            action,
        });
    }
    Ok((entries, previews))
}

/// The locked wheel that best matches the interpreter, else the sdist, as
/// a [`DistFile`] whose only hash is the lock's.
fn choose<'w>(env: &DistEnv<'_>, w: &'w Wanted) -> Option<(&'w LockedFile, DistFile)> {
    let name: &PackageName = &w.resolved.name;
    let best = w
        .wheels
        .iter()
        .filter_map(|f| {
            let DistFilename::Wheel(wheel) = DistFilename::parse(&f.name, Some(name)).ok()? else {
                return None;
            };
            Some((wheel.compatibility(env.tags)?, f))
        })
        .min_by_key(|(rank, _)| *rank)
        .map(|(_, f)| f)
        .or(w.sdist.as_ref())?;
    Some((best, dist_file(best, name)?))
}

/// The [`DistFile`] of a locked file, whose only hash is the lock's.
fn dist_file(f: &LockedFile, name: &PackageName) -> Option<DistFile> {
    let filename = DistFilename::parse(&f.name, Some(name)).ok()?;
    let mut hashes = BTreeMap::new();
    hashes.insert("sha256".to_string(), f.sha256.clone());
    let source = if find_links::file_url_path(&f.url).is_some() {
        Source::FindLinks
    } else {
        Source::Index
    };
    Some(DistFile {
        filename,
        url: f.url.clone(),
        hashes,
        requires_python: None,
        yanked: None,
        core_metadata: CoreMetadata::Absent,
        size: f.size,
        upload_time: None,
        source,
    })
}

/// The `file:` URL of a local path (a lock's `path` entries).
pub fn path_url(path: &std::path::Path) -> String {
    find_links::path_url(&PathBuf::from(path))
}
