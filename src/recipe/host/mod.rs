//! The Python recipe host: third-party recipes and extensions, run
//! unmodified.
//!
//! A recipe that is not built in is a Python distribution. Its requirement
//! (`recipe = name[extras]<spec>:entry`) is resolved like any other, with
//! `[versions]`, find-links, the index and develop eggs, jointly with the
//! host's own `zc.buildout` and `zc.recipe.egg` (pinned to the versions the
//! host is written against, [`HOST_PINS`]): all recipes share one process
//! and one `sys.path`, as in zc.buildout. Every distribution is a store
//! object whose import root goes on the host's `sys.path`.
//!
//! One host per run ([`Session`]), started when the first such recipe is
//! constructed or `extensions` are loaded, never otherwise (`buildout
//! lock`, [`Session::locking`], asks for the distributions it would load,
//! in the same order, without starting it). It is
//! `[buildout] executable -s -S -c host.py` (see [`rpc`] for the channel);
//! it runs zc.buildout's and zc.recipe.egg's own library code (exceptions,
//! `easy_install.scripts`, `Download`, `Options._call`, `created()`, ...)
//! with zc.buildout's `Buildout` and `Options` subclassed so that every
//! option lives here, in [`crate::config::Buildout`]: a constructor's
//! `options['x'] = ...` is a `set` request, `buildout['other']` initialises
//! `other` here (which may construct another recipe: the calls nest), and
//! `easy_install.install` / `working_set` are `resolve` requests answered
//! with store paths ([`serve`]). `os.environ` changes of one recipe reach
//! the later ones, as in zc.buildout.
//!
//! The session is the configuration's [`crate::config::sections::Hook`]:
//! a part's recipe is constructed when its section is initialised, exactly
//! where zc.buildout constructs it, so values a constructor sets are seen
//! by the substitutions that read them later. Install, update, uninstall
//! and extensions are called by the install ([`Session::install`],
//! [`Session::uninstall`], [`Session::load_extensions`]).
//!
//! What the host is busy with (starting, a recipe's install or update)
//! is told to the caller's [`Events`], for the progress display (this
//! layer prints nothing).
//!
//! Errors raised in Python come back as [`Raised`]: `zc.buildout.UserError`
//! is printed as `Error: ...`, anything else with its traceback as
//! zc.buildout's internal-error report, both after the `While:` lines of
//! both sides.

pub mod memo;
mod rpc;
mod serve;

use crate::config::{self, Buildout, ErrorKind, pystr};
use crate::profile::manifest::DistEntry;
use crate::python::Requirement;
use crate::recipe::{DistRequest, Services};
use serde_json::{Value, json};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::str::FromStr;

/// The versions of zc.buildout's own distributions the host runs,
/// whatever `[versions]` says of them (`zc.buildout` there names the
/// version of the tool, which is this one).
pub const HOST_PINS: &[(&str, &str)] = &[("zc.buildout", "6.0.1"), ("zc.recipe.egg", "6.0.0")];

/// A host error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot start the recipe host `{python}`: {source}")]
    Start {
        python: String,
        source: std::io::Error,
    },
    #[error("the recipe host `{python}` stopped unexpectedly{status}")]
    Died { python: String, status: String },
    #[error("the recipe host sent a line that is not a protocol message: {line}")]
    Protocol { line: String },
    /// An exception raised in Python.
    #[error("{0}")]
    Raised(Raised),
    /// Resolving a recipe's or extension's distributions failed.
    #[error("{0}")]
    Distributions(String),
}

/// An exception raised by a recipe or an extension.
#[derive(Debug, Clone)]
pub struct Raised {
    /// Its kind: `UserError`, `MissingSection`, `MissingOption`,
    /// `SystemExit` or `Error` (anything else).
    pub kind: String,
    pub message: String,
    /// The formatted traceback (not for `UserError`).
    pub traceback: Option<String>,
    /// zc.buildout's `__doing__` lines found in the traceback.
    pub doing: Vec<String>,
}

impl std::fmt::Display for Raised {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.kind.as_str() {
            "SystemExit" => write!(f, "a recipe or extension exited (status {})", self.message),
            _ => f.write_str(&self.message),
        }
    }
}

impl Raised {
    /// Whether zc.buildout prints it as an internal error (traceback).
    pub fn is_internal(&self) -> bool {
        self.kind == "Error" && self.traceback.is_some()
    }
}

/// A Python `logging` record from the host.
#[derive(Debug, Clone)]
pub struct LogRecord {
    pub name: String,
    pub level: i64,
    pub message: String,
}

/// What the host needs to know of the run.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The buildout directory (the host's working directory).
    pub directory: String,
    /// `[buildout] executable`.
    pub python: String,
    /// `sys.argv` for the host (`buildout` and the command line).
    pub argv: Vec<String>,
    /// The Python logging threshold.
    pub log_level: i64,
    pub offline: bool,
    pub newest: bool,
}

/// A recipe constructed in the host.
#[derive(Debug, Clone)]
pub struct Constructed {
    /// The `recipe` option.
    pub spec: String,
    /// The project name of the recipe's distribution.
    pub dist: String,
    /// The entry point name.
    pub entry: String,
    /// The recipe's distribution and the host's own `zc.buildout` and
    /// `zc.recipe.egg`.
    pub host_dists: Vec<DistEntry>,
    /// Those that are develop projects, with a digest of their sources
    /// ([`memo::tree_digest`]): editing a local recipe changes its parts.
    pub sources: Vec<(String, String)>,
}

/// What the host is busy with, told to the caller's [`Events`] when it
/// begins and when it ends (however it ends): the slow steps a user would
/// otherwise wait for in silence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activity<'a> {
    /// Starting the host process (Python importing zc.buildout and
    /// setuptools: about a second).
    Start,
    /// Calling the install (`update`: update) method of `part`'s recipe.
    Install { part: &'a str, update: bool },
}

/// Told each [`Activity`]: `true` when it begins, `false` when it ends.
pub type Events<'s> = &'s dyn Fn(Activity<'_>, bool);

/// Tells `events` that `activity` began, and that it ended when dropped.
struct Busy<'a> {
    events: Option<Events<'a>>,
    activity: Activity<'a>,
}

impl<'a> Busy<'a> {
    fn new(events: Option<Events<'a>>, activity: Activity<'a>) -> Self {
        if let Some(tell) = events {
            tell(activity, true);
        }
        Self { events, activity }
    }
}

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        if let Some(tell) = self.events {
            tell(self.activity, false);
        }
    }
}

/// One run's recipe host, started on first use.
pub struct Session<'s> {
    settings: Settings,
    services: &'s RefCell<dyn Services + 's>,
    log: &'s dyn Fn(&LogRecord),
    /// Told what the host is busy with ([`Session::with_events`]).
    events: Option<Events<'s>>,
    channel: RefCell<Option<rpc::Channel>>,
    state: RefCell<State>,
    /// The last configuration error answered to the host: when the host's
    /// call fails with it, the original (with its `While:` lines) is
    /// reported.
    stashed: RefCell<Option<config::Error>>,
    memo: Memo,
    /// `install --dry-run`: no Python runs; a constructor is replayed
    /// from its memo or not run at all ([`Session::not_run`]).
    dry_run: bool,
    /// `buildout lock` (a dry run): the host's distribution requests are
    /// made as an install would make them, without starting the host
    /// ([`Session::locking`]).
    locking: bool,
    not_run: RefCell<Vec<(String, String)>>,
}

/// The memoised constructors ([`memo`]): last run's, this run's, and the
/// recorders of the constructors running now (they nest).
#[derive(Debug, Default)]
struct Memo {
    path: Option<std::path::PathBuf>,
    environment: String,
    previous: BTreeMap<String, memo::Record>,
    fresh: RefCell<BTreeMap<String, memo::Record>>,
    recorders: RefCell<Vec<memo::Recorder>>,
    /// Parts whose constructor was replayed, not run in the host.
    replayed: RefCell<std::collections::BTreeSet<String>>,
}

#[derive(Debug, Default)]
struct State {
    /// Requirements the host's `sys.path` satisfies (its own first).
    requirements: Vec<String>,
    /// The host's distributions, by canonical name.
    loaded: BTreeMap<String, DistEntry>,
    recipes: BTreeMap<String, Constructed>,
    /// The part whose recipe is being called: `resolve` requests count as
    /// its distributions.
    current: Vec<String>,
    part_dists: BTreeMap<String, Vec<DistEntry>>,
    extensions: bool,
}

/// `dist[:entry]` of a `recipe` option, entry defaulting to `default`.
pub fn split_spec(spec: &str) -> (String, String) {
    match spec.split_once(':') {
        Some((d, e)) => (d.trim().to_string(), e.trim().to_string()),
        None => (spec.trim().to_string(), "default".to_string()),
    }
}

impl<'s> Session<'s> {
    pub fn new(
        settings: Settings,
        services: &'s RefCell<dyn Services + 's>,
        log: &'s dyn Fn(&LogRecord),
    ) -> Self {
        Self {
            settings,
            services,
            log,
            events: None,
            channel: RefCell::new(None),
            state: RefCell::new(State::default()),
            stashed: RefCell::new(None),
            memo: Memo::default(),
            dry_run: false,
            locking: false,
            not_run: RefCell::new(Vec::new()),
        }
    }

    /// Tells `events` when the host starts and when recipes install.
    #[must_use]
    pub fn with_events(mut self, events: Events<'s>) -> Self {
        self.events = Some(events);
        self
    }

    /// For `install --dry-run`: recipes are never run.
    #[must_use]
    pub fn dry_run(mut self) -> Self {
        self.dry_run = true;
        self
    }

    /// Whether this is a dry run's session.
    pub fn is_dry_run(&self) -> bool {
        self.dry_run
    }

    /// For `buildout lock` (a dry run): the distributions of the host,
    /// of each extension and of each recipe constructed (memoised or not)
    /// are asked for, in the order and with the requirements an install
    /// without a memo asks for them, so that the lock records them (group
    /// `buildout-host`); the host itself never starts.
    #[must_use]
    pub fn locking(mut self) -> Self {
        self.dry_run = true;
        self.locking = true;
        self
    }

    /// Asks for the distributions of `requirements` (`[buildout]
    /// extensions`, or the recipes of the parts an install would
    /// uninstall) as loading them would, in order, without starting the
    /// host ([`Session::locking`]).
    pub fn lock_requirements(&self, requirements: &[String]) -> Result<(), Error> {
        for r in requirements {
            self.resolve_host(r)?;
        }
        Ok(())
    }

    /// The recipe (`recipe` option) of `part` if a dry run did not
    /// construct it (no memo of its constructor held).
    pub fn not_run(&self, part: &str) -> Option<String> {
        self.not_run
            .borrow()
            .iter()
            .find(|(p, _)| p == part)
            .map(|(_, spec)| spec.clone())
    }

    /// Memoises constructors in `path` (`.buildout/constructors.json`).
    #[must_use]
    pub fn with_memo(mut self, path: std::path::PathBuf) -> Self {
        self.memo.previous = memo::load(&path);
        self.memo.environment = memo::environment_digest();
        self.memo.path = Some(path);
        self
    }

    /// Keeps this run's constructor records for the next run.
    pub fn save_memo(&self) -> Result<(), crate::recipe::Error> {
        let fresh = self.memo.fresh.borrow();
        if fresh.is_empty() && self.memo.previous.is_empty() {
            return Ok(());
        }
        if let Some(path) = &self.memo.path {
            memo::save(path, &fresh).map_err(crate::fs::io("write", path))?;
        }
        Ok(())
    }

    /// Whether the host process runs (it starts only when needed).
    pub fn started(&self) -> bool {
        self.channel.borrow().is_some()
    }

    /// The recipe constructed for `part`, if it runs in the host.
    pub fn recipe(&self, part: &str) -> Option<Constructed> {
        self.state.borrow().recipes.get(part).cloned()
    }

    /// The distributions `part`'s recipe asked for (working sets of
    /// `zc.recipe.egg` and `easy_install`), in order, without repeats.
    pub fn part_dists(&self, part: &str) -> Vec<DistEntry> {
        self.state
            .borrow()
            .part_dists
            .get(part)
            .cloned()
            .unwrap_or_default()
    }

    /// The distributions the host runs with `spec`'s recipe loaded (what
    /// its `sys.path` holds once the recipe is constructed), resolved as
    /// loading it resolves them, without starting the host: what must
    /// travel with an action to run it on another machine.
    pub fn working_set(&self, spec: &str) -> Result<Vec<DistEntry>, Error> {
        let (requirement, _) = split_spec(spec);
        Ok(self.resolve_with(&requirement)?.1)
    }

    /// Resolves the host's requirements with `requirement` added: the
    /// requirements and the working set.
    fn resolve_with(&self, requirement: &str) -> Result<(Vec<String>, Vec<DistEntry>), Error> {
        let mut requirements = self.state.borrow().requirements.clone();
        if requirements.is_empty() {
            requirements = HOST_PINS.iter().map(|(n, _)| (*n).to_string()).collect();
        }
        if !requirements.iter().any(|r| r == requirement) {
            requirements.push(requirement.to_string());
        }
        let parsed = requirements
            .iter()
            .map(|r| Requirement::from_str(r))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| Error::Distributions(e.to_string()))?;
        let overrides: Vec<(String, String)> = HOST_PINS
            .iter()
            .map(|(n, v)| ((*n).to_string(), (*v).to_string()))
            .collect();
        let dists = self
            .services
            .borrow_mut()
            .distributions(&DistRequest {
                requirements: &parsed,
                python: &self.settings.python,
                index: None,
                find_links: None,
                overrides: &overrides,
            })
            .map_err(|e| Error::Distributions(e.to_string()))?;
        Ok((requirements, dists))
    }

    /// Makes `requirement` importable in the host (starting it if needed)
    /// and returns the distribution it names.
    fn load(&self, requirement: &str) -> Result<DistEntry, Error> {
        let (found, fresh) = self.resolve_host(requirement)?;
        if self.channel.borrow().is_none() {
            self.start(&fresh)?;
        } else if !fresh.is_empty() {
            self.call_plain("add_path", json!({ "path": fresh }))?;
        }
        Ok(found)
    }

    /// Resolves the host's working set with `requirement` added (jointly
    /// with what it already runs); returns the distribution it names and
    /// the paths not yet on the host's `sys.path`.
    fn resolve_host(&self, requirement: &str) -> Result<(DistEntry, Vec<String>), Error> {
        let req = Requirement::from_str(requirement).map_err(|e| {
            Error::Distributions(format!("invalid requirement {requirement:?}: {e}"))
        })?;
        let name = crate::python::marker::canonicalize_name(req.name.as_str());
        let (requirements, dists) = self.resolve_with(requirement)?;
        let mut fresh = Vec::new();
        {
            let mut state = self.state.borrow_mut();
            for d in &dists {
                let key = crate::python::marker::canonicalize_name(&d.name);
                match state.loaded.get(&key) {
                    Some(old) if old.path != d.path => {
                        return Err(Error::Distributions(format!(
                            "{requirement} needs {} {}, but the recipe host already runs {} {} \
                             (recipes and extensions share one process)",
                            d.name, d.version, old.name, old.version
                        )));
                    }
                    Some(_) => {}
                    None => {
                        state.loaded.insert(key, d.clone());
                        fresh.push(d.path.clone());
                    }
                }
            }
            state.requirements = requirements;
        }
        let found = dists
            .iter()
            .find(|d| crate::python::marker::canonicalize_name(&d.name) == name)
            .cloned()
            .ok_or_else(|| Error::Distributions(format!("{requirement} was not resolved")))?;
        Ok((found, fresh))
    }

    /// Starts the host with `path` on its `sys.path`.
    fn start(&self, path: &[String]) -> Result<(), Error> {
        let _busy = Busy::new(self.events, Activity::Start);
        let channel = rpc::Channel::spawn(&self.settings.python, &self.settings.directory)?;
        *self.channel.borrow_mut() = Some(channel);
        self.call_plain(
            "hello",
            json!({
                "argv": self.settings.argv,
                "path": path,
                "directory": self.settings.directory,
                "log_level": self.settings.log_level,
                "buildout": {"offline": self.settings.offline, "newest": self.settings.newest},
            }),
        )?;
        Ok(())
    }

    /// A call during which the host may ask nothing of the configuration.
    fn call_plain(&self, method: &str, params: Value) -> Result<Value, Error> {
        let mut empty = Buildout::default();
        self.call(&mut empty, method, params)
    }

    /// Sends a request and serves the host's requests until it answers.
    fn call(&self, b: &mut Buildout<'_>, method: &str, params: Value) -> Result<Value, Error> {
        let id = self.with_channel(|c| c.request(method, params))?;
        loop {
            match self.with_channel(rpc::Channel::next)? {
                rpc::Message::Log(record) => (self.log)(&record),
                rpc::Message::Request { id, method, params } => {
                    let outcome = self.serve(b, &method, &params);
                    self.with_channel(|c| c.answer(id, outcome))?;
                }
                rpc::Message::Answer { id: got, outcome } if got == id => {
                    return outcome.map_err(Error::Raised);
                }
                rpc::Message::Answer { .. } => {
                    return Err(Error::Protocol {
                        line: format!("an answer to a request that is not waiting ({method})"),
                    });
                }
            }
        }
    }

    fn with_channel<T>(
        &self,
        f: impl FnOnce(&mut rpc::Channel) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let mut channel = self.channel.borrow_mut();
        let channel = channel.as_mut().ok_or_else(|| Error::Died {
            python: self.settings.python.clone(),
            status: " (not started)".into(),
        })?;
        f(channel)
    }

    /// Runs `f` with `part` as the part whose recipe is called.
    fn for_part<T>(&self, part: &str, f: impl FnOnce() -> T) -> T {
        self.state.borrow_mut().current.push(part.to_string());
        let out = f();
        self.state.borrow_mut().current.pop();
        out
    }

    /// A host error as a configuration error: the original when the host
    /// only passed ours back, else the exception with the `While:` lines
    /// of both sides.
    fn config_error(&self, b: &Buildout<'_>, e: Error) -> config::Error {
        let stashed = self.stashed.borrow_mut().take();
        match e {
            Error::Raised(raised) => {
                if let Some(original) = stashed
                    && original.message() == raised.message
                {
                    return original;
                }
                let kind = match raised.kind.as_str() {
                    "MissingSection" => ErrorKind::MissingSection(raised.message.clone()),
                    "UserError" | "MissingOption" => ErrorKind::User(raised.message.clone()),
                    _ => ErrorKind::Recipe {
                        message: raised.to_string(),
                        traceback: raised.traceback.clone(),
                    },
                };
                let mut error = b.error(kind);
                error.context.extend(raised.doing.iter().cloned());
                error
            }
            other => b.error(ErrorKind::User(other.to_string())),
        }
    }

    /// A host error raised while a part is installed: the configuration
    /// error the host passed back, if that is what it is.
    fn install_error(&self, e: Error) -> crate::recipe::Error {
        let stashed = self.stashed.borrow_mut().take();
        if let (Error::Raised(raised), Some(original)) = (&e, stashed)
            && original.message() == raised.message
        {
            return crate::recipe::Error::Config(original);
        }
        crate::recipe::Error::Host(e)
    }

    /// Calls the install (or update) method of `part`'s recipe. Returns
    /// the paths it returned, `None` when it returned `None`.
    pub fn install(
        &self,
        b: &mut Buildout<'_>,
        part: &str,
        update: bool,
    ) -> Result<Option<Vec<String>>, crate::recipe::Error> {
        if self.memo.replayed.borrow_mut().remove(part) {
            // Its constructor was replayed from the memo: the host needs
            // the recipe object itself now.
            let recipe = self.recipe(part).expect("a replayed part has a recipe");
            self.construct_in_host(b, part, &recipe.spec)
                .map_err(crate::recipe::Error::Config)?;
        }
        let busy = Busy::new(self.events, Activity::Install { part, update });
        let result = self
            .for_part(part, || {
                self.call(b, "install", json!({"part": part, "update": update}))
            })
            .map_err(|e| self.install_error(e));
        drop(busy);
        let result = result?;
        Ok(result.get("paths").and_then(Value::as_array).map(|paths| {
            paths
                .iter()
                .filter_map(|p| p.as_str().map(String::from))
                .collect()
        }))
    }

    /// Calls the `zc.buildout.uninstall` entry point of `spec` (if it has
    /// one) for `part`, with the options it was installed with. Returns
    /// whether there was one.
    pub fn uninstall(
        &self,
        b: &mut Buildout<'_>,
        part: &str,
        spec: &str,
        options: &BTreeMap<String, String>,
    ) -> Result<bool, crate::recipe::Error> {
        let (requirement, entry) = split_spec(spec);
        let dist = self.load(&requirement)?;
        let result = self
            .for_part(part, || {
                self.call(
                    b,
                    "uninstall",
                    json!({"part": part, "dist": dist.name, "entry": entry, "options": options}),
                )
            })
            .map_err(|e| self.install_error(e))?;
        Ok(result.get("called").and_then(Value::as_bool) == Some(true))
    }

    /// Loads `[buildout] extensions` and calls their `zc.buildout.extension`
    /// entry points with the buildout. Returns the extensions that patch
    /// zc.buildout internals the host does not run.
    pub fn load_extensions(
        &self,
        b: &mut Buildout<'_>,
        requirements: &[String],
    ) -> Result<Vec<String>, crate::recipe::Error> {
        for r in requirements {
            b.with_doing(
                format!("Getting distribution for {}.", pystr::repr(r)),
                |b| {
                    self.load(r)
                        .map_err(|e| b.error(ErrorKind::User(e.to_string())))
                },
            )?;
        }
        self.state.borrow_mut().extensions = true;
        let result = self
            .call(b, "load_extensions", json!({}))
            .map_err(|e| self.install_error(e))?;
        Ok(result
            .get("patched")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|p| p.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Calls the `zc.buildout.unloadextension` entry points, if extensions
    /// were loaded.
    pub fn unload_extensions(&self, b: &mut Buildout<'_>) -> Result<(), crate::recipe::Error> {
        if !self.state.borrow().extensions {
            return Ok(());
        }
        self.call(b, "unload_extensions", json!({}))
            .map_err(|e| self.install_error(e))?;
        Ok(())
    }

    /// Stops the host, if it runs.
    pub fn shutdown(&self) {
        if self.channel.borrow().is_none() {
            return;
        }
        let _ = self.call_plain("shutdown", json!({}));
        if let Some(mut channel) = self.channel.borrow_mut().take() {
            channel.close();
        }
    }
}

impl Drop for Session<'_> {
    fn drop(&mut self) {
        self.shutdown();
    }
}

impl Session<'_> {
    /// Runs `part`'s constructor in the host; returns its record when it
    /// can be memoised.
    fn construct_in_host(
        &self,
        b: &mut Buildout<'_>,
        part: &str,
        spec: &str,
    ) -> config::Result<Option<memo::Record>> {
        let (requirement, entry) = split_spec(spec);
        let dist = b.with_doing(format!("Loading recipe {}.", pystr::repr(spec)), |b| {
            b.with_doing(format!("Installing recipe {spec}."), |b| {
                self.load(&requirement)
                    .map_err(|e| b.error(ErrorKind::User(e.to_string())))
            })
        })?;
        self.memo
            .recorders
            .borrow_mut()
            .push(memo::Recorder::default());
        let result = self.for_part(part, || {
            self.call(
                b,
                "construct",
                json!({"part": part, "dist": dist.name, "entry": entry}),
            )
        });
        let recorder = self.memo.recorders.borrow_mut().pop().unwrap_or_default();
        let result = result.map_err(|e| self.config_error(b, e))?;
        // The code the recipe runs: its own distribution and the host's
        // zc.buildout (the recipe's identity, see `hosted`).
        let own = |d: &&DistEntry| {
            let name = crate::python::marker::canonicalize_name(&d.name);
            name == crate::python::marker::canonicalize_name(&dist.name)
                || HOST_PINS
                    .iter()
                    .any(|(n, _)| crate::python::marker::canonicalize_name(n) == name)
        };
        let host_dists: Vec<DistEntry> = self
            .state
            .borrow()
            .loaded
            .values()
            .filter(own)
            .cloned()
            .collect();
        let sources: Vec<(String, String)> = host_dists
            .iter()
            .filter_map(|d| self.services.borrow().develop_source(&d.path))
            .map(|dir| (dir.display().to_string(), memo::tree_digest(&dir)))
            .collect();
        self.state.borrow_mut().recipes.insert(
            part.to_string(),
            Constructed {
                spec: spec.to_string(),
                dist: dist.name.clone(),
                entry: entry.clone(),
                host_dists: host_dists.clone(),
                sources: sources.clone(),
            },
        );
        if recorder.spoiled.is_some()
            || result.get("environ").and_then(Value::as_bool) != Some(false)
        {
            return Ok(None);
        }
        let inside = std::path::Path::new(&self.settings.directory);
        let files = result
            .get("files")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect::<Vec<_>>())
            .unwrap_or_default()
            .into_iter()
            .map(std::path::Path::new)
            .filter(|p| p.starts_with(inside) && !p.starts_with(inside.join(".buildout")))
            .map(|p| (p.display().to_string(), memo::file_digest(p)))
            .collect();
        let env = result
            .get("env")
            .and_then(|e| serde_json::from_value(e.clone()).ok());
        Ok(Some(memo::Record {
            env,
            python: self.settings.python.clone(),
            spec: spec.to_string(),
            dist: dist.name,
            entry,
            host_dists,
            environment: self.memo.environment.clone(),
            events: recorder.events,
            files,
            sources,
        }))
    }
}

impl config::sections::Hook for Session<'_> {
    fn construct(&self, b: &mut Buildout<'_>, part: &str) -> config::Result<()> {
        let spec = b.require(part, "recipe")?;
        if crate::recipe::is_builtin(&spec) {
            return crate::recipe::preset(b, part, &spec);
        }
        if self.locking {
            let (requirement, _) = split_spec(&spec);
            b.with_doing(format!("Loading recipe {}.", pystr::repr(&spec)), |b| {
                self.resolve_host(&requirement)
                    .map_err(|e| b.error(ErrorKind::User(e.to_string())))
            })?;
        }
        if self.memo.path.is_some()
            && let Some(record) = self.memo.previous.get(part)
            && memo::holds(
                b,
                record,
                (&spec, &self.settings.python),
                &self.memo.environment,
            )
        {
            memo::replay(b, record)?;
            self.state.borrow_mut().recipes.insert(
                part.to_string(),
                Constructed {
                    spec,
                    dist: record.dist.clone(),
                    entry: record.entry.clone(),
                    host_dists: record.host_dists.clone(),
                    sources: record.sources.clone(),
                },
            );
            self.memo.replayed.borrow_mut().insert(part.to_string());
            self.memo
                .fresh
                .borrow_mut()
                .insert(part.to_string(), record.clone());
            return Ok(());
        }
        if self.dry_run {
            self.not_run.borrow_mut().push((part.to_string(), spec));
            return Ok(());
        }
        if let Some(record) = self.construct_in_host(b, part, &spec)? {
            self.memo
                .fresh
                .borrow_mut()
                .insert(part.to_string(), record);
        }
        Ok(())
    }
}
