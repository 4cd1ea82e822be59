//! The installer's side of recipes' distribution requests: one index client
//! per index/find-links combination, interpreter facts per interpreter, the
//! buildout's version rules, and the picked versions of the whole run.
//! [`Settings`] reads the `[buildout]` options installs follow, ours
//! included: `compile-bytecode` and the unpack limits `max-unpacked-size`,
//! `max-unpacked-file-size` and `max-unpacked-files`
//! ([`crate::build::extract`]).
//!
//! Develop eggs (`[buildout] develop`, `zc.recipe.egg:develop`) are built
//! per interpreter, the first time a part of that interpreter asks for
//! distributions (the buildout's interpreter: before any part), and handed
//! to every later resolution as local distributions that win over the
//! index.
//!
//! With a lock file ([`super::lock`]), [`locked`] answers each request
//! from the lock, or records what it resolved to (`buildout lock`).

mod locked;

use super::Context;
use crate::build::develop;
use crate::build::dists::{self, DistEnv, IndexProvider, LocalDist, Progress};
use crate::build::extract::{self, Limits};
use crate::config::{Buildout, level};
use crate::index;
use crate::output::INSTALLER_LOGGER;
use crate::profile::manifest::DistEntry;
use crate::python::{Facts, LazyFacts, Tags};
use crate::recipe::{self, DistRequest, Services};
use crate::resolve::{self, Picked, pins::Pins, report};
use crate::store::Store;
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// `[buildout]` settings that distribution installs follow.
#[derive(Debug, Clone)]
pub struct Settings {
    pub index: Option<String>,
    pub find_links: Vec<String>,
    pub allow_hosts: Vec<String>,
    pub offline: bool,
    pub newest: bool,
    pub prefer_final: bool,
    pub allow_picked_versions: bool,
    pub allow_unknown_extras: bool,
    pub download_cache: Option<PathBuf>,
    pub show_picked_versions: bool,
    pub update_versions_file: Option<String>,
    pub versions: BTreeMap<String, String>,
    /// `compile-bytecode` (ours; default true): `.pyc` files in each
    /// distribution object, or compiled on first import.
    pub compile_bytecode: bool,
    /// `max-unpacked-size`, `max-unpacked-file-size` and
    /// `max-unpacked-files` (ours): how much one wheel or sdist may unpack
    /// to ([`crate::build::extract`]).
    pub limits: Limits,
}

/// A size option (`4G`, `512M`, bytes); `default` when unset or empty.
fn size_option(buildout: &mut Buildout, key: &str, default: u64) -> crate::config::Result<u64> {
    match buildout.get("buildout", key, None)? {
        Some(v) if !v.trim().is_empty() => extract::parse_size(&v).ok_or_else(|| {
            crate::config::ErrorKind::User(format!(
                "Invalid value for {} option: {} (a size: bytes, or a number with K, M, G or T)",
                crate::config::pystr::repr(key),
                crate::config::pystr::repr(v.trim())
            ))
            .into()
        }),
        _ => Ok(default),
    }
}

impl Settings {
    /// Reads the settings from an initialised configuration.
    pub fn read(buildout: &mut Buildout, directory: &str) -> crate::config::Result<Self> {
        let flag =
            |buildout: &mut Buildout, k: &str, default: bool| -> crate::config::Result<bool> {
                Ok(buildout
                    .get("buildout", k, None)?
                    .map_or(default, |v| v.trim() == "true"))
            };
        let offline = flag(buildout, "offline", false)?;
        let newest = !offline && flag(buildout, "newest", true)?;
        let versions_name = buildout.require("buildout", "versions")?;
        let versions = if versions_name.is_empty() {
            BTreeMap::new()
        } else {
            buildout.options(&versions_name)?
        };
        let list = |v: Option<String>| -> Vec<String> {
            v.map(|s| s.split_whitespace().map(String::from).collect())
                .unwrap_or_default()
        };
        Ok(Self {
            index: buildout
                .get("buildout", "index", None)?
                .filter(|s| !s.trim().is_empty()),
            find_links: list(buildout.get("buildout", "find-links", None)?),
            allow_hosts: list(buildout.get("buildout", "allow-hosts", None)?)
                .into_iter()
                .filter(|h| h != "*")
                .collect(),
            offline,
            newest,
            prefer_final: flag(buildout, "prefer-final", true)?,
            allow_picked_versions: flag(buildout, "allow-picked-versions", true)?,
            allow_unknown_extras: flag(buildout, "allow-unknown-extras", false)?,
            download_cache: buildout
                .get("buildout", "download-cache", None)?
                .filter(|s| !s.trim().is_empty())
                .map(|d| {
                    PathBuf::from(crate::config::pystr::abspath(d.trim(), directory)).join("dist")
                }),
            show_picked_versions: flag(buildout, "show-picked-versions", false)?,
            update_versions_file: buildout
                .get("buildout", "update-versions-file", None)?
                .filter(|s| !s.trim().is_empty())
                .map(|f| crate::config::pystr::abspath(f.trim(), directory)),
            versions,
            compile_bytecode: crate::config::load::bool_option(
                buildout
                    .get("buildout", "compile-bytecode", None)?
                    .as_deref()
                    .unwrap_or("true")
                    .trim(),
                "compile-bytecode",
            )?,
            limits: Limits {
                total: size_option(
                    buildout,
                    "max-unpacked-size",
                    extract::DEFAULT_MAX_UNPACKED_SIZE,
                )?,
                file: size_option(
                    buildout,
                    "max-unpacked-file-size",
                    extract::DEFAULT_MAX_FILE_SIZE,
                )?,
                files: match buildout.get("buildout", "max-unpacked-files", None)? {
                    Some(v) if !v.trim().is_empty() => v.trim().parse().map_err(|_| {
                        crate::config::ErrorKind::User(format!(
                            "Invalid value for 'max-unpacked-files' option: {} (a number)",
                            crate::config::pystr::repr(v.trim())
                        ))
                    })?,
                    _ => extract::DEFAULT_MAX_FILES,
                },
            },
        })
    }
}

/// Serves recipes' distribution requests during one install.
pub struct Installer<'a> {
    pub ctx: &'a Context,
    pub store: &'a Store,
    pub settings: Settings,
    clients: HashMap<(Option<String>, Vec<String>), index::Client>,
    facts: HashMap<String, Facts>,
    /// Picked versions of every part.
    pub picked: Vec<Picked>,
    /// Develop projects (absolute directories), in order.
    develop_dirs: Vec<PathBuf>,
    /// Built develop dists by (interpreter, project directory).
    developed: HashMap<(String, PathBuf), LocalDist>,
    /// The library's progress events, for the status line.
    progress: crate::output::progress::Live,
    /// `zc.recipe.egg:custom` builds by interpreter: they win, like develop
    /// dists, for the parts after them.
    custom: HashMap<String, Vec<LocalDist>>,
    /// The `[versions]` pins, parsed once per run.
    pins: std::cell::OnceCell<Pins>,
    /// `install --dry-run`: resolve, but put nothing into the store; what
    /// would be done is collected in [`Installer::previews`].
    pub dry_run: bool,
    pub previews: Vec<dists::Preview>,
    /// The lock file's state, when this run uses or writes one
    /// ([`Installer::set_lock`]).
    pub lock: Option<super::lock::LockState>,
    /// Sdists' build environments from (or for) the lock.
    builds: dists::BuildLock,
}

type ClientKey = (Option<String>, Vec<String>);

impl Drop for Installer<'_> {
    /// The index clients hold every page read this run (a project on PyPI
    /// lists thousands of files): freeing them one by one took a run from
    /// PyPI tens of milliseconds after its work was done. An installer
    /// lives for one command, so they are left to the process's exit.
    fn drop(&mut self) {
        for (_, client) in self.clients.drain() {
            std::mem::forget(client);
        }
    }
}

impl<'a> Installer<'a> {
    pub fn new(ctx: &'a Context, store: &'a Store, settings: Settings) -> Self {
        Self {
            ctx,
            store,
            settings,
            clients: HashMap::new(),
            facts: HashMap::new(),
            picked: Vec::new(),
            develop_dirs: Vec::new(),
            developed: HashMap::new(),
            custom: HashMap::new(),
            pins: std::cell::OnceCell::new(),
            dry_run: false,
            previews: Vec::new(),
            progress: crate::output::progress::Live::new(),
            lock: None,
            builds: dists::BuildLock::default(),
        }
    }

    fn key(&self, index: Option<&str>, find_links: Option<&[String]>) -> ClientKey {
        (
            index
                .map(String::from)
                .or_else(|| self.settings.index.clone()),
            find_links.map_or_else(|| self.settings.find_links.clone(), <[String]>::to_vec),
        )
    }

    /// The resolver options for an interpreter: zc.buildout's own
    /// environment ([`ENVIRONMENT`]) is never picked.
    fn resolve_options(&self, facts: &Facts) -> recipe::Result<resolve::Options> {
        let mut options = resolve::Options::new(facts.markers.clone());
        if self.pins.get().is_none() {
            let pins = Pins::from_section(&self.settings.versions)
                .map_err(|e| recipe::Error::Distributions(e.to_string()))?;
            let _ = self.pins.set(pins);
        }
        options.pins = self.pins.get().cloned().unwrap_or_default();
        options.prefer_final = self.settings.prefer_final;
        options.newest = self.settings.newest;
        options.allow_picked_versions = self.settings.allow_picked_versions;
        options.allow_unknown_extras = self.settings.allow_unknown_extras;
        for name in ENVIRONMENT {
            let own = crate::python::PackageName::new(name)
                .map_err(|e| recipe::Error::Distributions(e.to_string()))?;
            options.own.push(own);
        }
        Ok(options)
    }

    /// Adds the develop project `dir` (absolute) and builds it for
    /// `python` now; returns its distribution.
    pub fn develop_dir(&mut self, dir: &Path, python: &str) -> recipe::Result<DistEntry> {
        if !self.develop_dirs.iter().any(|d| d == dir) {
            self.develop_dirs.push(dir.to_path_buf());
        }
        self.developed(python)?;
        let store_dir = self.store.dir_str().to_string();
        let key = (python.to_string(), dir.to_path_buf());
        let d = self
            .developed
            .get(&key)
            .ok_or_else(|| recipe::Error::Distributions("develop build lost".into()))?;
        Ok(DistEntry {
            name: d.project_name.clone(),
            version: d.version.to_string(),
            path: d.path.to_absolute(&store_dir),
        })
    }

    /// The develop dists for `python`, built when missing.
    fn developed(&mut self, python: &str) -> recipe::Result<Vec<LocalDist>> {
        if self.develop_dirs.is_empty() {
            return Ok(Vec::new());
        }
        let parts = self.env_parts(python, None, None)?;
        let env = dist_env(
            self.store,
            &self.clients,
            &self.progress,
            &parts,
            &self.settings,
            &self.builds,
        );
        let mut out = Vec::new();
        for dir in &self.develop_dirs {
            let k = (python.to_string(), dir.clone());
            if let Some(d) = self.developed.get(&k) {
                out.push(d.clone());
                continue;
            }
            let d = develop::develop(&env, dir, &[], &mut Say(self.ctx))
                .map_err(|e| recipe::Error::Distributions(e.to_string()))?;
            self.developed.insert(k, d.dist.clone());
            out.push(d.dist);
        }
        Ok(out)
    }

    fn client(&mut self, index: Option<&str>, find_links: Option<&[String]>) -> recipe::Result<()> {
        let key = self.key(index, find_links);
        if self.clients.contains_key(&key) {
            return Ok(());
        }
        let options = index::Options {
            index_url: Some(
                key.0
                    .clone()
                    .unwrap_or_else(|| index::DEFAULT_INDEX_URL.to_string()),
            ),
            find_links: key.1.clone(),
            allow_hosts: self.settings.allow_hosts.clone(),
            offline: self.settings.offline,
            cache_dir: index::default_cache_dir(),
            simple_ttl: index::DEFAULT_SIMPLE_TTL,
            download_cache: self.settings.download_cache.clone(),
            netrc: None,
        };
        let client =
            index::Client::new(options).map_err(|e| recipe::Error::Distributions(e.to_string()))?;
        client.set_reporter(std::sync::Arc::new(crate::output::progress::Live::new()));
        self.clients.insert(key, client);
        Ok(())
    }

    fn facts(&mut self, python: &str) -> recipe::Result<Facts> {
        if let Some(f) = self.facts.get(python) {
            return Ok(f.clone());
        }
        let mut lazy = LazyFacts::new(Some(PathBuf::from(python)));
        let facts = lazy
            .get()
            .map_err(|e| recipe::Error::Distributions(e.to_string()))?
            .clone();
        self.facts.insert(python.to_string(), facts.clone());
        Ok(facts)
    }

    /// With `-v`: what the index clients sent and received in this run.
    pub fn report_traffic(&self) {
        let (requests, bytes) = self
            .clients
            .values()
            .map(index::Client::traffic)
            .fold((0, 0), |(r, b), (r2, b2)| (r + r2, b + b2));
        if requests > 0 {
            self.ctx.printer.verbose(&format!(
                "Network: {requests} requests, {bytes} bytes received"
            ));
        }
    }

    /// Prints the picked versions and updates the versions file, as
    /// zc.buildout does at the end of a run.
    ///
    /// The versions file is read whole (only a missing file counts as
    /// empty: any other read error, invalid UTF-8 included, is an error
    /// naming it and the file is left alone) and replaced atomically
    /// ([`crate::fs::replace_file`]).
    pub fn report_picked(&self) -> Result<(), super::Error> {
        if self.settings.show_picked_versions
            && let Some(lines) = report::show_picked_versions(&self.picked)
        {
            for line in lines {
                self.ctx.printer.info(&line);
            }
        }
        if let Some(path) = &self.settings.update_versions_file {
            let existing = match std::fs::read_to_string(path) {
                Ok(text) => Some(text),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                Err(source) => {
                    return Err(super::Error::Io {
                        what: format!("cannot read the versions file `{path}`"),
                        source,
                    });
                }
            };
            let now = timestamp();
            if let Some(text) =
                report::versions_file_append(existing.as_deref(), &self.picked, &now)
            {
                let mut all = existing.unwrap_or_default();
                all.push_str(&text);
                crate::fs::replace_file(Path::new(path), all.as_bytes()).map_err(|source| {
                    super::Error::Io {
                        what: format!("cannot write the versions file `{path}`"),
                        source,
                    }
                })?;
                self.ctx.printer.info(&report::written_message(path));
            }
        }
        Ok(())
    }
}

/// What a [`DistEnv`] borrows: the interpreter's facts and tags, the
/// resolution rules and which index client to use.
struct EnvParts {
    facts: Facts,
    tags: Tags,
    options: resolve::Options,
    key: ClientKey,
}

impl Installer<'_> {
    /// Everything a distribution request for `python` (with the part's
    /// `index`/`find-links`) needs; makes the index client if missing.
    fn env_parts(
        &mut self,
        python: &str,
        index: Option<&str>,
        find_links: Option<&[String]>,
    ) -> recipe::Result<EnvParts> {
        let facts = self.facts(python)?;
        let tags = Tags::from_facts(&facts);
        self.client(index, find_links)?;
        let options = self.resolve_options(&facts)?;
        Ok(EnvParts {
            key: self.key(index, find_links),
            facts,
            tags,
            options,
        })
    }
}

/// The [`DistEnv`] of `parts` (a function of the fields it borrows, so the
/// installer's other fields stay free to change meanwhile).
fn dist_env<'b>(
    store: &'b Store,
    clients: &'b HashMap<ClientKey, index::Client>,
    progress: &'b crate::output::progress::Live,
    parts: &'b EnvParts,
    settings: &Settings,
    builds: &'b dists::BuildLock,
) -> DistEnv<'b> {
    DistEnv {
        store,
        client: &clients[&parts.key],
        facts: &parts.facts,
        tags: &parts.tags,
        python: parts.facts.executable.clone(),
        options: parts.options.clone(),
        building: RefCell::new(Vec::new()),
        reporter: progress,
        compile_bytecode: settings.compile_bytecode,
        limits: settings.limits,
        builds,
    }
}

/// Resolves `requirements`, or takes the kept resolution of exactly the
/// same inputs ([`dists::Reuse`]), whose store objects `provider` then
/// knows. Returns where to keep what is realised from it.
fn resolve_or_reuse(
    ctx: &Context,
    env: &DistEnv<'_>,
    provider: &IndexProvider<'_>,
    requirements: &[crate::python::Requirement],
    options: &resolve::Options,
) -> (resolve::Result<resolve::Resolution>, Option<dists::Reuse>) {
    let reuse = dists::Reuse::new(env, provider, requirements, options);
    if let Some(kept) = reuse.as_ref().and_then(|r| r.load(env.client)) {
        ctx.printer
            .verbose("Reusing the resolution of the same inputs (nothing they list changed).");
        let complete = kept.paths.len() == kept.resolution.packages.len();
        provider.know(kept.paths);
        // Kept again once realised when an object was not named.
        let keep = reuse.filter(|_| !complete);
        return (Ok(kept.resolution), keep);
    }
    let resolved = resolving(|| resolve::resolve(requirements, provider, options));
    (resolved, reuse)
}

/// Keeps `resolution` where `keep` says, when it was realised as
/// `realised` (with the store object of each distribution).
fn keep_realised<E>(
    keep: Option<dists::Reuse>,
    client: &index::Client,
    resolution: &resolve::Resolution,
    realised: &Result<Vec<DistEntry>, E>,
) {
    if let (Some(keep), Ok(entries)) = (keep, realised) {
        keep.save(client, resolution, entries);
    }
}

/// Warns, once each, about the index and find-links pages `client` could
/// not read (zc.buildout's `Download error on …` and goes on).
fn warn_unreadable(ctx: &Context, client: &index::Client) {
    for page in client.new_unreadable() {
        ctx.printer.warn(&page.warning());
    }
}

/// An error's text followed by the pages `client` could not read, a line
/// each: what may explain a distribution that was not found.
fn with_unreadable(mut text: String, client: &index::Client) -> String {
    for page in client.unreadable() {
        text.push('\n');
        text.push_str(&page.note());
    }
    text
}

/// zc.buildout and what it requires: the environment zc.buildout runs in,
/// whose distributions it finds with develop precedence, so it never
/// reports them as picked versions (nor refuses them when
/// `allow-picked-versions = false`), in any part.
pub const ENVIRONMENT: &[&str] = &[
    "zc.buildout",
    "setuptools",
    "pip",
    "wheel",
    "packaging",
    "platformdirs",
];

/// Runs a resolution as the progress layer's resolution phase.
fn resolving<T>(resolve: impl FnOnce() -> T) -> T {
    use crate::output::progress;
    progress::phase(progress::RESOLVE, "Resolving distributions", resolve)
}

struct Say<'a>(&'a Context);

impl Say<'_> {
    /// zc.buildout's installer logs these.
    fn say(&self, message: &str) {
        self.0.printer.log(level::INFO, INSTALLER_LOGGER, message);
    }
}

impl Progress for Say<'_> {
    fn getting(&mut self, name: &str, version: &str) {
        self.say(&format!("Getting distribution for '{name}=={version}'."));
    }
    fn got(&mut self, name: &str, version: &str) {
        self.say(&format!("Got {name} {version}."));
    }
    fn building(&mut self, name: &str, version: &str) {
        self.say(&format!("Building {name} {version} from its sdist."));
    }
    fn installing(&mut self, count: usize) {
        let noun = if count == 1 { "wheel" } else { "wheels" };
        crate::output::progress::begin(
            crate::output::progress::INSTALL,
            &format!("Installing {count} {noun} (unpacking, compiling bytecode)"),
        );
    }
    fn installed(&mut self) {
        crate::output::progress::end(crate::output::progress::INSTALL);
    }
}

/// Adds what a dry run found, each distribution once.
fn add_previews(all: &mut Vec<dists::Preview>, more: Vec<dists::Preview>) {
    for p in more {
        if !all.contains(&p) {
            all.push(p);
        }
    }
}

impl Services for Installer<'_> {
    fn set_versions(&mut self, versions: &BTreeMap<String, String>) -> recipe::Result<()> {
        let pins = Pins::from_section(versions)
            .map_err(|e| recipe::Error::Distributions(e.to_string()))?;
        self.settings.versions = versions.clone();
        self.pins = std::cell::OnceCell::from(pins);
        Ok(())
    }

    fn bytecode_cache(&self) -> Option<String> {
        (!self.settings.compile_bytecode).then(|| self.store.bytecode_cache().display().to_string())
    }

    fn distributions(&mut self, request: &DistRequest<'_>) -> recipe::Result<Vec<DistEntry>> {
        let mut local = self.developed(request.python)?;
        for d in self.custom.get(request.python).into_iter().flatten() {
            local.retain(|l| l.name != d.name);
            local.push(d.clone());
        }
        if let Some(entries) = self.locked_entries(request, &local)? {
            return Ok(entries);
        }
        let local_names: Vec<_> = local.iter().map(|d| d.name.clone()).collect();
        // A first run probes the interpreter (tens of milliseconds); the
        // index pages of what it asks for are fetched meanwhile. (Not with
        // -N: that run may not go to the index at all.)
        if self.settings.newest
            && !self.facts.contains_key(request.python)
            && LazyFacts::new(Some(PathBuf::from(request.python))).will_probe()
        {
            self.client(request.index, request.find_links)?;
            let wanted = request
                .requirements
                .iter()
                .filter(|r| r.marker.is_none() && !local_names.contains(&r.name))
                .cloned();
            self.clients[&self.key(request.index, request.find_links)].prefetch_pages(wanted);
        }
        let mut parts = self.env_parts(request.python, request.index, request.find_links)?;
        parts.options.develop = local_names.clone();
        for (name, version) in request.overrides {
            parts
                .options
                .pins
                .insert(name, version)
                .map_err(|e| recipe::Error::Distributions(e.to_string()))?;
            let own = crate::python::PackageName::new(name)
                .map_err(|e| recipe::Error::Distributions(e.to_string()))?;
            parts.options.own.push(own);
        }
        let env = dist_env(
            self.store,
            &self.clients,
            &self.progress,
            &parts,
            &self.settings,
            &self.builds,
        );
        let failed = |e: String| recipe::Error::Distributions(e);
        // Not newest: first try what the store has, without the index.
        if !self.settings.newest && !self.recording() {
            let store_only = IndexProvider::new(&env)
                .map_err(|e| failed(e.to_string()))?
                .store_only()
                .with_local(local.clone());
            let (resolved, keep) = resolve_or_reuse(
                self.ctx,
                &env,
                &store_only,
                request.requirements,
                &parts.options,
            );
            if let Ok(resolution) = resolved {
                report::merge_picked(&mut self.picked, &resolution.picked);
                let ctx = self.ctx;
                if self.dry_run {
                    let (entries, previews) = dists::preview(&env, &store_only, &resolution)
                        .map_err(|e| failed(e.to_string()))?;
                    add_previews(&mut self.previews, previews);
                    return Ok(entries);
                }
                let realised = dists::realise(&env, &store_only, &resolution, &mut Say(ctx));
                keep_realised(keep, env.client, &resolution, &realised);
                return realised.map_err(|e| failed(e.to_string()));
            }
        }
        let provider = IndexProvider::new(&env)
            .map_err(|e| failed(e.to_string()))?
            .with_local(local);
        // While locking, the locked versions first (then without them).
        let (resolved, keep) = match self.preferred(request, &parts.options) {
            Some(preferred) => (
                resolving(|| {
                    resolve::resolve(request.requirements, &provider, &preferred).or_else(|_| {
                        resolve::resolve(request.requirements, &provider, &parts.options)
                    })
                }),
                None,
            ),
            None => resolve_or_reuse(
                self.ctx,
                &env,
                &provider,
                request.requirements,
                &parts.options,
            ),
        };
        warn_unreadable(self.ctx, env.client);
        let resolution =
            resolved.map_err(|e| failed(with_unreadable(e.explained(), env.client)))?;
        for w in &resolution.warnings {
            self.ctx.printer.warn(w);
        }
        // Develop eggs are not picked: zc.buildout never reports them.
        let picked: Vec<Picked> = resolution
            .picked
            .iter()
            .filter(|p| !local_names.contains(&p.name))
            .cloned()
            .collect();
        report::merge_picked(&mut self.picked, &picked);
        let recorded = self.record(request, &env, &provider, &resolution)?;
        if let Some(state) = &mut self.lock {
            state.recorded.extend(recorded);
        }
        let ctx = self.ctx;
        if self.dry_run {
            let (entries, previews) = dists::preview(&env, &provider, &resolution)
                .map_err(|e| failed(with_unreadable(e.to_string(), env.client)))?;
            add_previews(&mut self.previews, previews);
            return Ok(entries);
        }
        let realised = dists::realise(&env, &provider, &resolution, &mut Say(ctx));
        // (build requirements of sdists are looked up too)
        warn_unreadable(ctx, env.client);
        keep_realised(keep, env.client, &resolution, &realised);
        realised.map_err(|e| failed(with_unreadable(e.to_string(), env.client)))
    }

    fn develop(&mut self, _part: &str, setup: &Path, python: &str) -> recipe::Result<DistEntry> {
        self.develop_dir(setup, python)
    }

    fn develop_source(&self, path: &str) -> Option<PathBuf> {
        let store_dir = self.store.dir_str();
        self.developed
            .iter()
            .find(|(_, d)| d.path.to_absolute(store_dir) == path)
            .map(|((_, dir), _)| dir.clone())
    }

    fn custom(&mut self, request: &recipe::CustomRequest<'_>) -> recipe::Result<DistEntry> {
        let parts = self.env_parts(request.python, request.index, request.find_links)?;
        let env = dist_env(
            self.store,
            &self.clients,
            &self.progress,
            &parts,
            &self.settings,
            &self.builds,
        );
        let failed = |e: dists::Error| recipe::Error::Distributions(e.to_string());
        let provider = IndexProvider::new(&env).map_err(failed)?;
        let dist = dists::custom_build(
            &env,
            &provider,
            request.requirement,
            request.environment,
            &mut Say(self.ctx),
        )
        .map_err(failed)?;
        let entry = DistEntry {
            name: dist.project_name.clone(),
            version: dist.version.to_string(),
            path: dist.path.to_absolute(self.store.dir_str()),
        };
        self.custom
            .entry(request.python.to_string())
            .or_default()
            .retain(|d| d.name != dist.name);
        self.custom
            .entry(request.python.to_string())
            .or_default()
            .push(dist);
        Ok(entry)
    }
}

/// Python's `datetime.now()` text (`YYYY-MM-DD HH:MM:SS.ffffff`), UTC.
fn timestamp() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = i64::try_from(now.as_secs()).unwrap_or(0);
    let base = super::store::format_time(secs);
    let base = base.trim_end_matches(" UTC");
    format!("{base}.{:06}", now.subsec_micros())
}
