//! Facts and value types about Python: interpreters, PEP 508 markers.
//!
//! * [`marker`]: PEP 508 environment markers ([`Marker`], [`MarkerEnvironment`]).
//! * [`interpreter`]: facts probed from a Python interpreter ([`Facts`]),
//!   cached on disk, and [`LazyFacts`], which probes at most once and only
//!   when first asked.
//! * [`pystr`]: Python's `str`/`repr`/`textwrap`/`posixpath` rules, where
//!   zc.buildout's output depends on them.
//! * [`name`]: [`PackageName`], normalised distribution names.
//! * [`requirement`]: PEP 508 requirement strings ([`Requirement`]).
//! * [`tags`]: the ordered wheel tags an interpreter accepts ([`Tags`]).
//! * [`filename`]: wheel and sdist file names ([`DistFilename`]).

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
    #[error("cannot read the facts printed by python interpreter `{path}`: {source}")]
    BadOutput {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
}

/// Interpreter facts, probed at most once, and only when first needed.
#[derive(Debug, Default)]
pub struct LazyFacts {
    /// The interpreter to ask (`None`: `python3` on PATH, resolved to its
    /// real path).
    pub executable: Option<PathBuf>,
    /// The cache directory override (`None`: `~/.buildout/cache/interpreters`).
    cache_dir: Option<PathBuf>,
    facts: Option<Facts>,
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
            cache_dir: None,
            facts: Some(facts),
        }
    }

    /// Uses `dir` instead of `~/.buildout/cache/interpreters` for the cache.
    pub fn with_cache_dir(mut self, dir: PathBuf) -> Self {
        self.cache_dir = Some(dir);
        self
    }

    /// Whether the facts are known already (probed or given).
    pub fn is_probed(&self) -> bool {
        self.facts.is_some()
    }

    /// The facts, probing the interpreter (or reading the cache) on first use.
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
