//! Sdists and source trees built into wheels by their PEP 517 backend, in
//! an isolated environment made of store objects: `[build-system]
//! requires`, then `get_requires_for_build_*`, resolved with the
//! buildout's rules (picked versions allowed: they are the builder's) and realised like any distribution
//! ([`build_environment`]). An sdist's built wheel is an `artifact` object
//! ([`built_wheel`]), so it is built once per interpreter; a build that
//! needs itself is a cycle. While locking, each build environment is
//! recorded ([`record_build`] asks the backend without building); from a
//! lock, it is exactly the locked set ([`super::BuildLock`]).

use super::address::{file_sha256, origin, output_path};
use super::install::realise;
use super::{BUILDER, DistEnv, Error, IndexProvider, Progress, Result, store_scratch};
use crate::build::sdist;
use crate::index::DistFile;
use crate::python::Requirement;
use crate::resolve;
use crate::store::{self, Kind, NewObject};
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// The built wheel of an sdist (an `artifact` object holding one `.whl`):
/// reused when the store has it, else built.
pub(super) fn built_wheel(
    env: &DistEnv<'_>,
    file: &DistFile,
    archive: &Path,
    progress: &mut dyn Progress,
) -> Result<PathBuf> {
    let key = serde_json::json!({
        "sdist": file_sha256(file)?,
        "builder": BUILDER,
        "interpreter": env.cache_tag(),
    });
    let f = &file.filename;
    let label = format!("{} {}", f.name().as_str(), f.version());
    let path = output_path(
        env,
        &format!("{}-{}-wheel", f.name().as_str(), f.version()),
        &key,
    )?;
    let abs = PathBuf::from(path.to_absolute(env.store.dir_str()));
    if !env.store.root_and_check(&path)? {
        if env.building.borrow().contains(&label) {
            let mut chain = env.building.borrow().clone();
            chain.push(label);
            return Err(Error::BuildCycle {
                chain: chain.join(" -> "),
            });
        }
        progress.building(f.name().as_str(), &f.version().to_string());
        env.building.borrow_mut().push(label.clone());
        let built = build_sdist_wheel(env, &label, archive, &[], progress);
        env.building.borrow_mut().pop();
        let (_tmp, wheel) = built?;
        let mut obj = NewObject::known(path.clone(), Kind::Artifact);
        obj.origin = Some(origin(file)?);
        let name = wheel
            .file_name()
            .map(std::ffi::OsStr::to_os_string)
            .unwrap_or_default();
        env.store.add(&obj, |out| {
            std::fs::create_dir(out).map_err(store::fsutil::err("create", out))?;
            std::fs::copy(&wheel, out.join(&name))
                .map(|_| ())
                .map_err(store::fsutil::err("copy", &wheel))
        })?;
    }
    let found = std::fs::read_dir(&abs)
        .map_err(crate::fs::io("read", &abs))?
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "whl"));
    found.ok_or_else(|| Error::StoreMetadata {
        path: abs.display().to_string(),
        message: "no built wheel".into(),
    })
}

/// Unpacks and builds an sdist; returns the temporary directory and the
/// wheel in it.
pub(super) fn build_sdist_wheel(
    env: &DistEnv<'_>,
    label: &str,
    archive: &Path,
    extra_env: &[(String, String)],
    progress: &mut dyn Progress,
) -> Result<(store::lock::Stage, PathBuf)> {
    let tmp = store_scratch(env.store)?;
    let src = sdist::unpack(archive, &tmp.path().join("src"), env.limits)?;
    let wheel = build_tree(
        env,
        label,
        &src,
        "wheel",
        extra_env,
        progress,
        &tmp.path().join("dist"),
    )?;
    Ok((tmp, wheel))
}

/// Reports the end of a build when dropped.
struct BuildReported<'e, 'a> {
    env: &'e DistEnv<'a>,
    label: &'e str,
}

impl Drop for BuildReported<'_, '_> {
    fn drop(&mut self) {
        self.env.reporter.on_build_end(self.label);
    }
}

/// Builds the source tree `src` with its PEP 517 backend (`kind`: `wheel`
/// or `editable`) into `out_dir`; `extra_env` is passed to the backend.
pub fn build_tree(
    env: &DistEnv<'_>,
    label: &str,
    src: &Path,
    kind: &str,
    extra_env: &[(String, String)],
    progress: &mut dyn Progress,
    out_dir: &Path,
) -> Result<PathBuf> {
    env.reporter.on_build_start(label);
    // The end is reported however the build ends.
    let _reported = BuildReported { env, label };
    let system = sdist::BuildSystem::read(src)?;
    let paths = prepare_backend(env, label, src, &system, kind, extra_env, progress)?;
    let tell = |line: &str| env.reporter.on_build_output(label, line);
    let backend = sdist::Backend {
        project: label.to_string(),
        python: &env.python,
        src,
        system: &system,
        paths,
        env: extra_env.to_vec(),
        lines: Some(sdist::OutputLines(&tell)),
    };
    std::fs::create_dir_all(out_dir).map_err(crate::fs::io("create", out_dir))?;
    Ok(backend.build(kind, out_dir)?)
}

/// The build environment of `src`: `[build-system] requires`, then what
/// the backend's `get_requires_for_build_<kind>` adds; returns its store
/// directories. From a lock, the locked set is the environment from the
/// start (the backend then asks for what it already holds).
fn prepare_backend(
    env: &DistEnv<'_>,
    label: &str,
    src: &Path,
    system: &sdist::BuildSystem,
    kind: &str,
    extra_env: &[(String, String)],
    progress: &mut dyn Progress,
) -> Result<Vec<PathBuf>> {
    let tell = |line: &str| env.reporter.on_build_output(label, line);
    let mut backend = sdist::Backend {
        project: label.to_string(),
        python: &env.python,
        src,
        system,
        paths: build_environment(env, label, &system.requires, progress)?,
        env: extra_env.to_vec(),
        lines: Some(sdist::OutputLines(&tell)),
    };
    let more = backend.get_requires(kind)?;
    if !more.is_empty() {
        let mut all = system.requires.clone();
        all.extend(more);
        backend.paths = build_environment(env, label, &all, progress)?;
    }
    Ok(backend.paths)
}

/// While locking: what building the sdist `archive` (`label`: `name
/// version`) needs, recorded into [`super::BuildLock::recorded`] (the
/// backend is asked, nothing is built).
pub(super) fn record_build(
    env: &DistEnv<'_>,
    label: &str,
    archive: &Path,
    progress: &mut dyn Progress,
) -> Result<()> {
    let tmp = store_scratch(env.store)?;
    let src = sdist::unpack(archive, &tmp.path().join("src"), env.limits)?;
    let system = sdist::BuildSystem::read(&src)?;
    if system.requires.is_empty() {
        // Recorded even when empty: the lock then says the build needs
        // nothing (until the backend asks for more).
        record(env, label, &[], Vec::new());
    }
    prepare_backend(env, label, &src, &system, "wheel", &[], progress)?;
    Ok(())
}

/// Records (replacing an earlier record of the same build) a build
/// environment while locking.
fn record(env: &DistEnv<'_>, label: &str, requires: &[String], dists: Vec<super::LockedDist>) {
    if !env.builds.record {
        return;
    }
    let mut recorded = env.builds.recorded.borrow_mut();
    recorded.retain(|r| !(r.python == env.python && r.sdist == label));
    recorded.push(super::BuildRecord {
        python: env.python.clone(),
        sdist: label.to_string(),
        requirements: requires.to_vec(),
        dists,
    });
}

/// Resolves and installs build requirements; returns their store
/// directories in resolution order. Installing from a lock, the locked
/// build environment of `project` is installed instead.
pub(super) fn build_environment(
    env: &DistEnv<'_>,
    project: &str,
    requires: &[String],
    progress: &mut dyn Progress,
) -> Result<Vec<PathBuf>> {
    let failed = |message: String| Error::BuildRequirements {
        project: project.to_string(),
        message,
    };
    let key = (env.python.clone(), project.to_string());
    if let Some(wanted) = env.builds.locked.get(&key) {
        let entries = super::realise_locked(env, wanted, &[], progress).map_err(|e| {
            let mut what = format!("{}: build environment of `{project}`", env.builds.file);
            if !e.entry.is_empty() {
                what.push_str(&format!(", package `{}`", e.entry));
            }
            if let Some(f) = &e.file {
                what.push_str(&format!(", file `{f}`"));
            }
            failed(format!("{what}: {}", e.error))
        })?;
        return Ok(entries.into_iter().map(|e| PathBuf::from(e.path)).collect());
    }
    // Only an sdist's own build (not a develop egg's, nor a custom
    // build's) is in the lock.
    if env.builds.strict && env.building.borrow().last().map(String::as_str) == Some(project) {
        return Err(failed(format!(
            "{} does not lock its build requirements; run `buildout lock`",
            env.builds.file
        )));
    }
    if requires.is_empty() {
        return Ok(Vec::new());
    }
    let reqs = requires
        .iter()
        .map(|r| Requirement::from_str(r).map_err(|e| failed(format!("`{r}`: {e}"))))
        .collect::<Result<Vec<_>>>()?;
    let provider = IndexProvider::new(env)?;
    // Build requirements are the builder's, not the buildout's: zc.buildout
    // has pip build sdists, so `allow-picked-versions = false` asks no pins
    // of them (pins still apply).
    let mut options = env.options.clone();
    options.allow_picked_versions = true;
    let mut preferred = options.clone();
    for (name, version) in env.builds.preferred.get(&key).into_iter().flatten() {
        let _ = preferred.pins.insert(name, version);
    }
    // The previously locked versions first (then without them).
    let resolution = resolve::resolve(&reqs, &provider, &preferred)
        .or_else(|_| resolve::resolve(&reqs, &provider, &options))
        .map_err(|e| failed(e.explained()))?;
    if env.builds.record {
        record(
            env,
            project,
            requires,
            super::lock_files(env, &provider, &resolution)?,
        );
    }
    let entries = realise(env, &provider, &resolution, progress)?;
    Ok(entries.into_iter().map(|e| PathBuf::from(e.path)).collect())
}
