//! Facts and value types about Python: interpreters, PEP 508 markers.
//!
//! * [`marker`]: PEP 508 environment markers ([`Marker`], [`MarkerEnvironment`]).
//! * [`interpreter`]: facts probed from a Python interpreter ([`Facts`]),
//!   cached on disk, and [`LazyFacts`], which probes at most once and only
//!   when first asked, and starts at most one condition evaluator.
//! * [`condition`]: conditional-section expressions evaluated by Python
//!   itself ([`condition::Evaluator`]), one process for a whole load.
//! * [`pystr`]: Python's `str`/`repr`/`textwrap`/`posixpath` rules, where
//!   zc.buildout's output depends on them.
//! * [`name`]: [`PackageName`], normalised distribution names.
//! * [`requirement`]: PEP 508 requirement strings ([`Requirement`]).
//! * [`tags`]: the ordered wheel tags an interpreter accepts ([`Tags`]).
//! * [`filename`]: wheel and sdist file names ([`DistFilename`]).

pub mod condition;
pub mod filename;
pub mod interpreter;
pub mod marker;
pub mod name;
mod printable;
pub mod pystr;
pub mod requirement;
pub mod tags;

use std::path::PathBuf;

pub use filename::{DistFilename, SdistFilename, WheelFilename};
pub use interpreter::{Facts, TagFacts, VersionInfo};
pub use marker::{Marker, MarkerEnvironment};
pub use name::PackageName;
pub use requirement::Requirement;
pub use tags::{Tag, Tags};

/// Why interpreter facts could not be obtained.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("no `python3` found on PATH")]
    NotOnPath,
    #[error("no `{name}` found on PATH")]
    NameNotOnPath { name: String },
    #[error("cannot run python interpreter `{path}`: {source}")]
    Run {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("python interpreter `{path}` failed ({status}) while probing its facts: {stderr}")]
    Failed {
        path: PathBuf,
        status: std::process::ExitStatus,
        stderr: String,
    },
    #[error("python interpreter `{path}` cannot evaluate conditions: {message}")]
    Evaluator { path: PathBuf, message: String },
    #[error("cannot read the facts printed by python interpreter `{path}`: {source}")]
    BadOutput {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
}

/// Interpreter facts, probed at most once, and only when first needed; and
/// the one Python process that evaluates the conditions our own evaluator
/// leaves to Python, started on the first such condition.
#[derive(Debug, Default)]
pub struct LazyFacts {
    /// The interpreter to ask (`None`: `python3` on PATH, resolved to its
    /// real path).
    pub executable: Option<PathBuf>,
    /// The cache directory override (`None`: `~/.buildout/cache/interpreters`).
    cache_dir: Option<PathBuf>,
    facts: Option<Facts>,
    /// Where the condition evaluator runs (`None`: our working directory).
    working_dir: Option<PathBuf>,
    /// The condition evaluator, once started.
    evaluator: Option<condition::Evaluator>,
    /// The current globals scope of the evaluator (one per file).
    scope: u64,
}

impl LazyFacts {
    /// Facts about `executable` (`None`: `python3` on PATH), not yet probed.
    pub fn new(executable: Option<PathBuf>) -> Self {
        LazyFacts {
            executable,
            ..LazyFacts::default()
        }
    }

    /// Already-known facts; `get` never runs Python (for tests and for
    /// callers that probed elsewhere).
    pub fn with_facts(facts: Facts) -> Self {
        LazyFacts {
            executable: Some(PathBuf::from(&facts.executable)),
            facts: Some(facts),
            ..LazyFacts::default()
        }
    }

    /// Uses `dir` instead of `~/.buildout/cache/interpreters` for the cache.
    pub fn with_cache_dir(mut self, dir: PathBuf) -> Self {
        self.cache_dir = Some(dir);
        self
    }

    /// Runs the condition evaluator in `dir` (what `os.path` sees as `.`).
    pub fn with_working_dir(mut self, dir: PathBuf) -> Self {
        self.working_dir = Some(dir);
        self
    }

    /// Starts a fresh set of condition globals (zc.buildout builds them
    /// once per configuration file).
    pub fn new_condition_scope(&mut self) {
        self.scope += 1;
    }

    /// Evaluates `source` (`[expr]` plus its comment) in Python, starting
    /// the evaluator with the probed interpreter (`sys.executable`) on
    /// first use.
    pub fn evaluate_in_python(&mut self, source: &str) -> Result<condition::Outcome, Error> {
        if self.evaluator.is_none() {
            let executable = self.get()?.executable.clone();
            let python = if executable.is_empty() {
                self.executable.clone().unwrap_or_else(|| "python3".into())
            } else {
                PathBuf::from(executable)
            };
            let evaluator = condition::Evaluator::start(&python, self.working_dir.as_deref())?;
            self.evaluator = Some(evaluator);
        }
        let scope = self.scope;
        match &mut self.evaluator {
            Some(evaluator) => evaluator.evaluate(scope, source),
            None => Err(Error::NotOnPath),
        }
    }

    /// Whether the facts are known already (probed or given).
    pub fn is_probed(&self) -> bool {
        self.facts.is_some()
    }

    /// The facts, probing the interpreter (or reading the cache) on first use.
    /// Whether [`LazyFacts::get`] will run the interpreter (its facts are
    /// neither known nor cached).
    pub fn will_probe(&self) -> bool {
        if self.facts.is_some() {
            return false;
        }
        let cache_dir = self
            .cache_dir
            .clone()
            .or_else(interpreter::default_cache_dir);
        !interpreter::probe_is_cached(self.executable.as_deref(), cache_dir.as_deref())
    }

    pub fn get(&mut self) -> Result<&Facts, Error> {
        if self.facts.is_none() {
            let cache_dir = self
                .cache_dir
                .clone()
                .or_else(interpreter::default_cache_dir);
            let facts = interpreter::probe(self.executable.as_deref(), cache_dir.as_deref())?;
            self.facts = Some(facts);
        }
        match &self.facts {
            Some(facts) => Ok(facts),
            None => Err(Error::NotOnPath),
        }
    }
}
