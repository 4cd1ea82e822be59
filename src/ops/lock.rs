//! `buildout lock` and the lock file's part in `buildout install`.
//!
//! The lock (`pylock.<config-stem>.toml` beside the configuration, PEP 751,
//! see [`crate::resolve::lock`]) is made by running the install pipeline
//! as a dry run ([`LockCommand`]): every distribution request a part (or
//! the recipe host) makes is resolved from the index, with the versions of
//! the existing lock as preferences (`--upgrade` drops them,
//! `--upgrade-package NAME[==V]` drops or replaces one) and `[versions]`
//! as constraints, and recorded with the file it would install
//! ([`Recorded`]); then [`finish`] writes the lock atomically and prints
//! what changed (`flask 3.1.0 → 3.1.1`).
//!
//! The inputs that decide resolution ([`inputs`]: `[versions]` after
//! conditions, `index`, `find-links`, `allow-hosts`, `prefer-final`,
//! `allow-unknown-extras`, `use-dependency-links`, `executable`,
//! `extensions`, `develop`, and per part its recipe, `eggs`, `index`,
//! `find-links` and interpreter) are digested one by one into
//! `[tool.buildout.input]`. `install` ([`begin`]) then uses a lock whose
//! digests match the run's: each request is answered from the lock (no
//! index page, no resolver; files checked against the lock's sha256 on
//! download); a stale lock is warned about and ignored; `--locked` makes a
//! missing or stale lock (or a request it does not cover) an error,
//! `--frozen` uses it without the check. The generation's manifest records
//! the lock file's sha256.
//!
//! Each sdist's build environment (`[build-system] requires` and what the
//! backend's `get_requires_for_build_wheel` adds) is locked as a request
//! of its own (group `build-<name>-<version>`): locking asks the backend,
//! an install from the lock builds the sdist with exactly that set.
//!
//! The non-Python files the configuration fetches (HTTP `extends`,
//! template `url`s, and the `url` of each part whose recipe runs in the
//! recipe host, fetched by locking for that, [`recipe_downloads`]) are
//! recorded with their sha256 (`[tool.buildout] downloads`); once an
//! install uses a lock, a recorded file whose content changed is an error
//! naming the lock and the URL, and with `--locked` or `--frozen` so is a
//! file the lock does not record ([`crate::config::fetch::expect_downloads`]);
//! without them an install adds it ([`complete`]).
//!
//! Locking constructs no recipe in Python, but asks for the recipe host's
//! distributions as an install without a constructor memo would (the
//! host's own, each extension's, each recipe's as its part is
//! constructed, and those of the recipes of removed action parts, whose
//! uninstall entry points an install calls): one `buildout-host` request
//! per set, growing one requirement at a time
//! ([`crate::recipe::host::Session::locking`]). An install asking in
//! another order (a memoised constructor loads its recipe at install)
//! gets the smallest locked host set holding its request. A request the
//! lock still does not cover (a lock of an older buildout) is, without
//! `--locked`, resolved, warned about and added to the lock ([`complete`]).

use super::{Context, Error};
use crate::build::dists::LockedDist;
use crate::config::Buildout;
use crate::resolve::lock::{self, Location, Lock};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type Result<T, E = Error> = std::result::Result<T, E>;

/// How `install` uses the lock.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LockUse {
    /// Use it when its inputs match the run's; otherwise warn and resolve.
    #[default]
    Auto,
    /// `--locked`: the lock must exist and match.
    Locked,
    /// `--frozen`: use the lock without checking its inputs.
    Frozen,
}

/// `buildout lock`'s own options.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LockCommand {
    /// `--upgrade`: ignore the locked versions.
    pub upgrade: bool,
    /// `--upgrade-package NAME[==V]`.
    pub upgrade_packages: Vec<String>,
    /// `--check`: only say whether the lock is current.
    pub check: bool,
    /// `--export versions|requirements`.
    pub export: Option<Export>,
}

/// What `--export` prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Export {
    /// A zc.buildout `[versions]` section.
    Versions,
    /// A hashed requirements file of one part.
    Requirements(String),
}

/// The lock's state during one run (held by the installer).
#[derive(Debug)]
pub struct LockState {
    pub mode: Mode,
    /// The part whose distributions are being asked for (empty: the
    /// recipe host, before any part).
    pub part: String,
    pub recorded: Vec<Recorded>,
    /// The lock file, as the user sees its name.
    pub file: String,
    /// The lock file's directory (relative `path`s are relative to it).
    pub dir: PathBuf,
}

#[derive(Debug)]
pub enum Mode {
    /// `buildout lock`: resolve and record.
    Record {
        previous: Option<Lock>,
        upgrade_all: bool,
        /// Normalised name → the version asked for, if any.
        upgrade: BTreeMap<String, Option<String>>,
    },
    /// `install` from the lock. `strict`: a request the lock does not
    /// cover is an error.
    Install { lock: Lock, strict: bool },
}

/// One distribution request resolved by `buildout lock`.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub part: String,
    pub python: String,
    pub environment: String,
    pub requirements: Vec<String>,
    pub index: String,
    pub dists: Vec<LockedDist>,
    /// Local projects (develop eggs): normalised name → directory.
    pub directories: BTreeMap<String, String>,
    /// `Some("name version")`: the build environment of that sdist.
    pub build: Option<String>,
}

/// The marker that holds for exactly this interpreter (PEP 751
/// `environments`).
pub fn environment_marker(m: &crate::python::MarkerEnvironment) -> String {
    format!(
        "python_full_version == '{}' and implementation_name == '{}' and sys_platform == '{}' and platform_machine == '{}'",
        m.python_full_version, m.implementation_name, m.sys_platform, m.platform_machine
    )
}

/// `pylock.<stem>.toml` beside the configuration file.
pub fn lock_path(ctx: &Context) -> Result<PathBuf> {
    let config = ctx.global.config.as_deref().unwrap_or("buildout.cfg");
    if crate::config::load::is_url(config) {
        return Err(Error::User(format!(
            "A lock file needs a local configuration file, not {config}"
        )));
    }
    let path = ctx.cwd.join(config);
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "buildout".into());
    let dir = path.parent().unwrap_or(&ctx.cwd).to_path_buf();
    Ok(dir.join(format!("pylock.{stem}.toml")))
}

/// The digest of each input that decides resolution.
pub fn inputs(
    buildout: &mut Buildout<'_>,
    versions: &BTreeMap<String, String>,
    parts: &[String],
) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    let text: String = versions
        .iter()
        .map(|(k, v)| format!("{} = {}\n", lock::normalize(k), v.trim()))
        .collect();
    out.insert("versions".to_string(), lock::digest_text(&text));
    let main = buildout.peek_options("buildout")?;
    for key in [
        "index",
        "find-links",
        "allow-hosts",
        "prefer-final",
        "allow-unknown-extras",
        "use-dependency-links",
        "executable",
        "extensions",
        "develop",
    ] {
        let value = main
            .get(key)
            .map(|v| v.trim().to_string())
            .unwrap_or_default();
        out.insert(format!("buildout:{key}"), lock::digest_text(&value));
    }
    for part in parts {
        let options = buildout.peek_options(part)?;
        let mut text = String::new();
        for key in [
            "recipe",
            "eggs",
            "index",
            "find-links",
            "executable",
            "python",
        ] {
            if let Some(v) = options.get(key) {
                text.push_str(&format!("{key}={}\n", v.trim()));
            }
        }
        if let Some(section) = options.get("python").map(|s| s.trim().to_string())
            && !section.is_empty()
            && let Ok(py) = buildout.peek_options(&section)
            && let Some(exe) = py.get("executable")
        {
            text.push_str(&format!("python-executable={}\n", exe.trim()));
        }
        out.insert(format!("part:{part}"), lock::digest_text(&text));
    }
    Ok(out)
}

/// Reads and validates a lock file; `None` when it does not exist.
pub fn read(path: &Path) -> Result<Option<Lock>> {
    let shown = path.display().to_string();
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(Error::Io {
                what: format!("cannot read the lock file `{shown}`"),
                source,
            });
        }
    };
    Lock::parse(&text)
        .map(Some)
        .map_err(|e| Error::User(e.in_file(&shown).to_string()))
}

/// The sha256 of the lock file (recorded in the generation's manifest).
pub fn file_digest(path: &Path) -> Option<String> {
    use sha2::{Digest, Sha256};
    let bytes = std::fs::read(path).ok()?;
    Some(format!("sha256:{}", hex::encode(Sha256::digest(&bytes))))
}

/// What [`begin`] decided.
pub enum Flow {
    /// Go on with the run (with the lock state, if any).
    Continue(Option<Box<LockState>>),
    /// The command is done (`lock --check`, `lock --export`).
    Done,
}

/// At the start of a run, once the parts are known: checks the lock
/// against the run's inputs and says how the run uses it.
pub fn begin(
    ctx: &Context,
    buildout: &mut Buildout<'_>,
    versions: &BTreeMap<String, String>,
    command: Option<&LockCommand>,
    using: LockUse,
) -> Result<Flow> {
    let path = match lock_path(ctx) {
        Ok(path) => path,
        // A configuration read from a URL has no lock beside it.
        Err(_) if command.is_none() && using == LockUse::Auto => {
            return Ok(Flow::Continue(None));
        }
        Err(e) => return Err(e),
    };
    let file = path
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let state = |mode: Mode| {
        Box::new(LockState {
            mode,
            part: String::new(),
            recorded: Vec::new(),
            file: file.clone(),
            dir: dir.clone(),
        })
    };
    if let Some(command) = command {
        if let Some(export) = &command.export {
            let lock = read(&path)?.ok_or_else(|| missing(&file))?;
            ctx.printer.data(&export_text(&lock, export, &file)?);
            return Ok(Flow::Done);
        }
        let previous = read(&path)?;
        if command.check {
            // Checked once the parts are known ([`after_order`]).
            previous.ok_or_else(|| missing(&file))?;
            return Ok(Flow::Continue(None));
        }
        let mut upgrade = BTreeMap::new();
        for spec in &command.upgrade_packages {
            let (name, version) = match spec.split_once("==") {
                Some((n, v)) => (n.trim(), Some(v.trim().to_string())),
                None => (spec.trim(), None),
            };
            upgrade.insert(lock::normalize(name), version);
        }
        return Ok(Flow::Continue(Some(state(Mode::Record {
            previous,
            upgrade_all: command.upgrade,
            upgrade,
        }))));
    }
    let Some(lock) = read(&path)? else {
        if using == LockUse::Locked || using == LockUse::Frozen {
            return Err(missing(&file));
        }
        return Ok(Flow::Continue(None));
    };
    // Files the configuration fetched (HTTP `extends`) must be the locked
    // ones, and so must the ones fetched later (template `url`s).
    let expected = lock
        .tool
        .downloads
        .iter()
        .map(|d| (d.url.clone(), d.sha256.clone()))
        .collect();
    crate::config::fetch::expect_downloads(&file, expected, using != LockUse::Auto)
        .map_err(Error::User)?;
    // The inputs of `[buildout]` now (extensions and recipes are loaded
    // next, from the lock); the parts' once they are known.
    if using != LockUse::Frozen {
        let current = inputs(buildout, versions, &[])?;
        if !still_current(ctx, &lock, &current, &file, using)? {
            return Ok(Flow::Continue(None));
        }
    }
    Ok(Flow::Continue(Some(state(Mode::Install {
        lock,
        strict: using != LockUse::Auto,
    }))))
}

/// Whether `lock` holds for the `current` inputs (parts this run does not
/// install do not make it stale); a stale lock is an error with
/// `--locked`, else warned about.
fn still_current(
    ctx: &Context,
    lock: &Lock,
    current: &BTreeMap<String, String>,
    file: &str,
    using: LockUse,
) -> Result<bool> {
    let changed: Vec<String> = current
        .iter()
        .filter(|(k, v)| lock.tool.input.get(*k) != Some(*v))
        .map(|(k, _)| k.clone())
        .collect();
    if changed.is_empty() {
        return Ok(true);
    }
    if using == LockUse::Locked {
        return Err(stale(file, &changed));
    }
    ctx.printer.warn(&format!(
        "{file} is stale ({} changed): resolving from the index; run `buildout lock` to update it",
        describe(&changed)
    ));
    Ok(false)
}

/// Once the parts are known: `lock --check` (true: the command is done),
/// and the parts' inputs against the lock an install uses (a stale one is
/// dropped, or an error with `--locked`).
pub fn after_order(
    ctx: &Context,
    buildout: &mut Buildout<'_>,
    versions: &BTreeMap<String, String>,
    parts: &[String],
    command: Option<&LockCommand>,
    state: &mut Option<LockState>,
    using: LockUse,
) -> Result<bool> {
    if command.is_some_and(|c| c.check) {
        let path = lock_path(ctx)?;
        let file = path
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        let lock = read(&path)?.ok_or_else(|| missing(&file))?;
        let current = inputs(buildout, versions, parts)?;
        let changed = lock::changed_inputs(&lock.tool.input, &current);
        if !changed.is_empty() {
            return Err(stale(&file, &changed));
        }
        ctx.printer.info(&format!("{file} is up to date."));
        return Ok(true);
    }
    let Some(s) = state else {
        return Ok(false);
    };
    let Mode::Install { lock, .. } = &s.mode else {
        return Ok(false);
    };
    if using == LockUse::Frozen {
        return Ok(false);
    }
    let current: BTreeMap<String, String> = inputs(buildout, versions, parts)?
        .into_iter()
        .filter(|(k, _)| k.starts_with("part:"))
        .collect();
    if !still_current(ctx, lock, &current, &s.file, using)? {
        *state = None;
    }
    Ok(false)
}

fn missing(file: &str) -> Error {
    Error::User(format!("{file} does not exist; run `buildout lock`"))
}

/// Input keys as the user reads them (`[versions]`, `part app`,
/// `buildout:index`).
fn describe(changed: &[String]) -> String {
    changed
        .iter()
        .map(|k| match k.as_str() {
            "versions" => "[versions]".to_string(),
            k => match k.strip_prefix("part:") {
                Some(p) => format!("part {p}"),
                None => k.to_string(),
            },
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn stale(file: &str, changed: &[String]) -> Error {
    Error::User(format!(
        "{file} is stale: {} changed since it was written; run `buildout lock`",
        describe(changed)
    ))
}

/// The end of `buildout lock`: builds the lock from what was recorded,
/// writes it atomically (when it changed) and prints what changed.
pub fn finish(
    ctx: &Context,
    buildout: &mut Buildout<'_>,
    versions: &BTreeMap<String, String>,
    parts: &[String],
    state: LockState,
) -> Result<()> {
    let path = state.dir.join(&state.file);
    let previous = match state.mode {
        Mode::Record { previous, .. } => previous,
        Mode::Install { .. } => None,
    };
    let input = inputs(buildout, versions, parts)?;
    let mut new = build(&state.recorded, input, &state.dir)?;
    recipe_downloads(ctx, buildout, parts, previous.as_ref(), &state.file)?;
    new.tool.downloads = with_downloads(previous.as_ref().map_or(&[], |l| &l.tool.downloads));
    let text = new.to_toml();
    let old_text = std::fs::read_to_string(&path).ok();
    for line in changes(previous.as_ref(), &new) {
        ctx.printer.info(&line);
    }
    if old_text.as_deref() == Some(text.as_str()) {
        ctx.printer.info(&format!("{} is up to date.", state.file));
        return Ok(());
    }
    crate::fs::replace_file(&path, text.as_bytes()).map_err(|source| Error::Io {
        what: format!("cannot write the lock file `{}`", path.display()),
        source,
    })?;
    ctx.printer.info(&format!("Wrote {}.", state.file));
    Ok(())
}

/// How long locking waits for one recipe download.
const RECIPE_DOWNLOAD_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(600);

/// The `url` of each part whose recipe runs in the recipe host (what
/// `zc.recipe.cmmi`, `hexagonit.recipe.download`, `gocept.download` and
/// the like fetch with zc.buildout's `Download` when they install):
/// fetched now, so that the lock records it before any install (one that
/// cannot be fetched is warned about and not recorded). Offline,
/// a URL the previous lock records keeps its entry; one it does not is
/// warned about (an install with `--locked` will refuse it). Other URLs a
/// recipe fetches join the lock at an install without `--locked`.
fn recipe_downloads(
    ctx: &Context,
    buildout: &mut Buildout<'_>,
    parts: &[String],
    previous: Option<&Lock>,
    file: &str,
) -> Result<()> {
    let offline = buildout
        .peek_options("buildout")?
        .get("offline")
        .is_some_and(|v| v.trim() == "true");
    for part in parts {
        let options = buildout.peek_options(part)?;
        let (Some(recipe), Some(url)) = (options.get("recipe"), options.get("url")) else {
            continue;
        };
        let url = url.trim();
        if crate::recipe::is_builtin(recipe)
            || !(url.starts_with("http://") || url.starts_with("https://"))
        {
            continue;
        }
        let shown = crate::index::redact(url);
        if offline {
            if !previous.is_some_and(|l| l.tool.downloads.iter().any(|d| d.url == shown)) {
                ctx.printer.warn(&format!(
                    "part `{part}`: {shown} cannot be fetched offline: {file} does not record it"
                ));
            }
            continue;
        }
        match crate::config::fetch::hash_url(url, RECIPE_DOWNLOAD_TIMEOUT) {
            Ok(d) => {
                crate::config::fetch::note_hashed(url, d.size, &d.sha256).map_err(Error::User)?;
            }
            // Not every `url` option is a download: said, not recorded
            // (an install with `--locked` refuses it if it is one).
            Err(why) => ctx.printer.warn(&format!(
                "part `{part}`: {shown} cannot be fetched ({why}): {file} does not record it"
            )),
        }
    }
    Ok(())
}

/// `name old → new` for each distribution whose locked versions changed.
fn changes(old: Option<&Lock>, new: &Lock) -> Vec<String> {
    let versions = |lock: &Lock| -> BTreeMap<String, BTreeSet<String>> {
        let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for p in &lock.packages {
            if let Some(v) = &p.version {
                out.entry(p.name.clone()).or_default().insert(v.clone());
            }
        }
        out
    };
    let old = old.map(versions).unwrap_or_default();
    let new = versions(new);
    let join = |s: &BTreeSet<String>| s.iter().cloned().collect::<Vec<_>>().join(", ");
    let names: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    names
        .into_iter()
        .filter_map(|n| match (old.get(n), new.get(n)) {
            (Some(a), Some(b)) if a != b => Some(format!("{n} {} → {}", join(a), join(b))),
            (None, Some(b)) => Some(format!("{n} {} (added)", join(b))),
            (Some(a), None) => Some(format!("{n} {} (removed)", join(a))),
            _ => None,
        })
        .collect()
}

/// A file's place in the lock: a path (relative to the lock's directory
/// when under it) for local files, else its URL.
fn location(url: &str, dir: &Path) -> Location {
    match crate::index::find_links::file_url_path(url) {
        Some(p) => match p.strip_prefix(dir) {
            Ok(rel) => Location::Path(rel.display().to_string()),
            Err(_) => Location::Path(p.display().to_string()),
        },
        None => Location::Url(url.to_string()),
    }
}

/// The lock of what was recorded.
fn build(recorded: &[Recorded], input: BTreeMap<String, String>, dir: &Path) -> Result<Lock> {
    let mut lock = Lock {
        created_by: format!("buildout {}", env!("CARGO_PKG_VERSION")),
        ..Lock::default()
    };
    extend(&mut lock, recorded, dir)?;
    lock.tool.inputs = lock::digest(&input);
    lock.tool.input = input;
    Ok(lock)
}

/// The group of `part` before numbering.
fn base_group(part: &str) -> String {
    if part.is_empty() {
        lock::HOST_GROUP.to_string()
    } else {
        lock::normalize(part)
    }
}

/// The Python version of an `environments` marker.
fn marker_python(marker: &str) -> Option<String> {
    let rest = marker.strip_prefix("python_full_version == '")?;
    Some(rest.split('\'').next()?.to_string())
}

/// Adds `recorded` to `lock` (its entries, groups and environments).
fn extend(lock: &mut Lock, recorded: &[Recorded], dir: &Path) -> Result<()> {
    // Group names: each part's (normalised; a clash is an error), and a
    // numbered one for a request that disagrees with its part's earlier
    // requests.
    let mut group_parts: BTreeMap<String, String> = lock
        .tool
        .requests
        .iter()
        .map(|r| (base_group(&r.part), r.part.clone()))
        .collect();
    let mut group_versions: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for p in &lock.packages {
        for g in &p.groups {
            if let Some(v) = &p.version {
                group_versions
                    .entry(g.clone())
                    .or_default()
                    .insert(p.name.clone(), v.clone());
            }
        }
    }
    let mut packages: BTreeMap<(String, Option<String>), lock::Package> =
        std::mem::take(&mut lock.packages)
            .into_iter()
            .map(|p| ((p.name.clone(), p.version.clone()), p))
            .collect();
    for r in recorded {
        let base = match &r.build {
            Some(sdist) => lock::normalize(&format!("build-{}", sdist.replace(' ', "-"))),
            None => base_group(&r.part),
        };
        if r.build.is_none()
            && lock.tool.requests.iter().any(|o| {
                o.build.is_none()
                    && o.part == r.part
                    && o.python == r.python
                    && o.requirements == r.requirements
            })
        {
            // Asked again (the recipe host, for a second part with the
            // same recipe): one request is enough.
            continue;
        }
        if r.build.is_some()
            && lock
                .tool
                .requests
                .iter()
                .any(|o| o.build == r.build && o.python == r.python)
        {
            // One build environment an sdist and interpreter, whichever
            // parts use it.
            continue;
        }
        if r.build.is_none()
            && let Some(other) = group_parts.insert(base.clone(), r.part.clone())
            && other != r.part
        {
            return Err(Error::User(format!(
                "parts `{other}` and `{}` have the same dependency group name `{base}` in the lock",
                r.part
            )));
        }
        let conflicts = |g: &str, versions: &BTreeMap<String, BTreeMap<String, String>>| {
            versions.get(g).is_some_and(|have| {
                r.dists.iter().any(|d| {
                    have.get(d.resolved.name.as_str())
                        .is_some_and(|v| v != &d.resolved.version.to_string())
                })
            })
        };
        let mut group = base.clone();
        let mut n = 2;
        while conflicts(&group, &group_versions) {
            group = format!("{base}-{n}");
            n += 1;
        }
        let have = group_versions.entry(group.clone()).or_default();
        if !lock.environments.contains(&r.environment) {
            lock.environments.push(r.environment.clone());
        }
        let mut request = lock::Request {
            part: r.part.clone(),
            group: group.clone(),
            python: r.python.clone(),
            environment: r.environment.clone(),
            requirements: r.requirements.clone(),
            packages: Vec::new(),
            build: r.build.clone(),
        };
        for d in &r.dists {
            let name = d.resolved.name.as_str().to_string();
            let version = d.resolved.version.to_string();
            have.insert(name.clone(), version.clone());
            request
                .packages
                .push(format!("{}=={version}", d.resolved.project_name));
            let key = match &d.file {
                Some(_) => (name.clone(), Some(version.clone())),
                None => (name.clone(), None),
            };
            let entry = packages.entry(key).or_insert_with(|| lock::Package {
                name: name.clone(),
                version: d.file.as_ref().map(|_| version.clone()),
                ..lock::Package::default()
            });
            entry.groups.insert(group.clone());
            match &d.file {
                None => {
                    let path = r.directories.get(&name).cloned().unwrap_or_default();
                    let path = match Path::new(&path).strip_prefix(dir) {
                        Ok(rel) => rel.display().to_string(),
                        Err(_) => path,
                    };
                    entry.directory = Some(lock::Directory {
                        path,
                        editable: true,
                    });
                }
                Some(f) => {
                    let file = lock::File {
                        name: f.name.clone(),
                        location: location(&f.url, dir),
                        size: f.size,
                        sha256: f.sha256.clone(),
                    };
                    if f.from_index {
                        entry.index = Some(r.index.clone());
                    }
                    if f.is_wheel {
                        if !entry.wheels.iter().any(|w| w.name == file.name) {
                            entry.wheels.push(file);
                        }
                    } else {
                        entry.sdist = Some(file);
                    }
                }
            }
        }
        request
            .packages
            .sort_by_key(|p| lock::normalize(p.split_once("==").map_or(p.as_str(), |(n, _)| n)));
        lock.tool.requests.push(request);
    }
    lock.packages = packages.into_values().collect();
    set_requires_python(lock);
    Ok(())
}

/// `requires-python` from the interpreters of `environments`: `==V` for
/// one version, `>=` the lowest for several.
fn set_requires_python(lock: &mut Lock) {
    let pythons: BTreeSet<(pep440_rs::Version, String)> = lock
        .environments
        .iter()
        .filter_map(|e| marker_python(e))
        .filter_map(|v| Some((v.trim_end_matches('+').parse().ok()?, v)))
        .collect();
    lock.requires_python = match (pythons.first(), pythons.last()) {
        (Some(lo), Some(hi)) if lo == hi => Some(format!("=={}", lo.1)),
        (Some(lo), Some(_)) => Some(format!(">={}", lo.1)),
        _ => None,
    };
}

/// `old` with the files this run downloaded (a new sha256 replaces the
/// old one; files not fetched this run are kept), sorted by URL.
fn with_downloads(old: &[lock::Download]) -> Vec<lock::Download> {
    let mut out: BTreeMap<String, lock::Download> =
        old.iter().map(|d| (d.url.clone(), d.clone())).collect();
    for d in crate::config::fetch::downloads() {
        out.insert(
            d.url.clone(),
            lock::Download {
                url: d.url,
                size: d.size,
                sha256: d.sha256,
            },
        );
    }
    out.into_values().collect()
}

/// At the end of an install from a lock that did not cover every request
/// (the recipe host's, made when recipes are constructed) or every
/// download: adds what they resolved to (and the downloads), and writes
/// the lock again.
pub fn complete(ctx: &Context, state: &mut LockState) -> Result<()> {
    let Mode::Install { lock, .. } = &mut state.mode else {
        return Ok(());
    };
    let downloads = with_downloads(&lock.tool.downloads);
    if state.recorded.is_empty() && downloads == lock.tool.downloads {
        return Ok(());
    }
    lock.tool.downloads = downloads;
    extend(lock, &std::mem::take(&mut state.recorded), &state.dir)?;
    let path = state.dir.join(&state.file);
    crate::fs::replace_file(&path, lock.to_toml().as_bytes()).map_err(|source| Error::Io {
        what: format!("cannot write the lock file `{}`", path.display()),
        source,
    })?;
    ctx.printer.info(&format!(
        "Added the distributions it did not cover to {}.",
        state.file
    ));
    Ok(())
}

/// `--export versions` and `--export requirements PART`.
fn export_text(lock: &Lock, export: &Export, file: &str) -> Result<String> {
    match export {
        Export::Versions => {
            let mut pins: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
            for r in lock.tool.requests.iter().filter(|r| r.build.is_none()) {
                for (name, version) in r.pins() {
                    if lock.package(name, version, &r.group).is_some() {
                        pins.entry(name.to_string())
                            .or_default()
                            .insert(version.to_string());
                    }
                }
            }
            let mut text = format!("# Exported from {file}\n[versions]\n");
            for (name, versions) in pins {
                let versions: Vec<&String> = versions.iter().collect();
                if versions.len() > 1 {
                    // zc.buildout has one pin a name: the others in comments.
                    text.push_str(&format!(
                        "# {name}: several versions, one per part: {}\n",
                        versions
                            .iter()
                            .map(|v| v.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                }
                text.push_str(&format!("{name} = {}\n", versions[versions.len() - 1]));
            }
            Ok(text)
        }
        Export::Requirements(part) => {
            let requests: Vec<&lock::Request> = lock
                .tool
                .requests
                .iter()
                .filter(|r| &r.part == part && r.build.is_none())
                .collect();
            if requests.is_empty() {
                return Err(Error::User(format!("{file} has no part `{part}`")));
            }
            let mut lines: BTreeMap<String, String> = BTreeMap::new();
            for r in requests {
                for (name, version) in r.pins() {
                    let Some(p) = lock.package(name, version, &r.group) else {
                        continue;
                    };
                    let hashes: Vec<String> = p
                        .wheels
                        .iter()
                        .chain(&p.sdist)
                        .map(|f| format!(" \\\n    --hash=sha256:{}", f.sha256))
                        .collect();
                    lines.insert(
                        p.name.clone(),
                        format!("{}=={version}{}\n", p.name, hashes.concat()),
                    );
                }
            }
            Ok(format!(
                "# Exported from {file}, part {part}: pip install --require-hashes -r\n{}",
                lines.into_values().collect::<String>()
            ))
        }
    }
}
