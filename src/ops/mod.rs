//! One file per user action; each is a function callable from tests.
//!
//! [`run`] parses the command line, dispatches to the operation and returns a
//! [`Failure`] carrying zc.buildout-style context lines (`While:`) on error.
//! Operations print only through [`crate::output::Printer`].

mod annotate;
mod bootstrap;
mod dists;
mod gc;
mod generations;
mod init;
mod install;
mod load;
mod query;
mod store;

use crate::cli::{self, Command, GlobalOptions, Invocation};
use crate::output::{self, Printer};
use std::path::PathBuf;

/// Everything an operation needs from the command line and environment.
#[derive(Debug, Clone)]
pub struct Context {
    pub global: GlobalOptions,
    pub printer: Printer,
    /// The directory `buildout` was started in.
    pub cwd: PathBuf,
}

/// Errors of the operations layer: each module's error, plus usage errors.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Config(#[from] crate::config::Error),
    #[error(transparent)]
    Store(#[from] crate::store::Error),
    #[error(transparent)]
    Profile(#[from] crate::profile::Error),
    #[error(transparent)]
    Build(#[from] crate::build::Error),
    #[error(transparent)]
    Recipe(#[from] crate::recipe::Error),
    #[error(transparent)]
    Index(#[from] crate::index::Error),
    /// A command-line problem, in zc.buildout's words.
    #[error("{0}")]
    Usage(cli::UsageError),
    /// A user error with zc.buildout's exact wording (`Error: <text>`).
    #[error("{0}")]
    User(String),
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    /// A capability that a later release provides; never a silent success.
    #[error("{0}")]
    NotAvailable(String),
}

/// A failed run: the error and what was being done (`While:` lines).
#[derive(Debug)]
pub struct Failure {
    pub doing: Vec<String>,
    pub error: Box<Error>,
    pub debug: bool,
}

impl Failure {
    pub fn new(error: impl Into<Error>) -> Self {
        Self {
            doing: Vec::new(),
            error: Box::new(error.into()),
            debug: false,
        }
    }

    /// Adds an outer context line (printed first).
    #[must_use]
    pub fn doing(mut self, line: impl Into<String>) -> Self {
        self.doing.insert(0, line.into());
        self
    }

    /// All context lines, outermost first: ours, then the error's own.
    pub fn context(&self) -> Vec<String> {
        let mut lines = self.doing.clone();
        let config = match self.error.as_ref() {
            Error::Config(e)
            | Error::Recipe(crate::recipe::Error::Config(e))
            | Error::Build(crate::build::Error::Recipe(crate::recipe::Error::Config(e))) => Some(e),
            _ => None,
        };
        if let Some(e) = config {
            lines.extend(e.context().iter().cloned());
        }
        lines
    }

    /// The `Error:` message.
    pub fn message(&self) -> String {
        match self.error.as_ref() {
            Error::Config(e)
            | Error::Recipe(crate::recipe::Error::Config(e))
            | Error::Build(crate::build::Error::Recipe(crate::recipe::Error::Config(e))) => {
                e.message()
            }
            other => other.to_string(),
        }
    }

    /// Output that is already fully formatted (clap's usage errors).
    pub fn preformatted(&self) -> Option<&str> {
        match self.error.as_ref() {
            Error::Usage(cli::UsageError::Clap(text)) => Some(text),
            _ => None,
        }
    }

    pub fn exit_code(&self) -> u8 {
        match self.error.as_ref() {
            Error::Usage(cli::UsageError::Clap(_)) => 2,
            _ => 1,
        }
    }
}

impl<E: Into<Error>> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure::new(e)
    }
}

pub type Result<T, E = Failure> = std::result::Result<T, E>;

/// Runs `buildout` with `args` (without the program name).
pub fn run(args: Vec<String>) -> Result<()> {
    let invocation = cli::parse(args).map_err(|e| Failure::new(Error::Usage(e)))?;
    let (global, command) = match invocation {
        Invocation::Help => {
            use clap::CommandFactory;
            output::help(&cli::Cli::command().render_long_help().to_string());
            return Ok(());
        }
        Invocation::Version => {
            output::help(&format!("buildout version {}\n", env!("CARGO_PKG_VERSION")));
            return Ok(());
        }
        Invocation::Run { global, command } => (global, command),
    };
    let cwd = std::env::current_dir().map_err(|source| Error::Io {
        what: "cannot determine the current directory".into(),
        source,
    })?;
    let debug = global.debug;
    let ctx = Context {
        printer: Printer::new(global.verbosity),
        global,
        cwd,
    };
    dispatch(&ctx, command).map_err(|mut f| {
        f.debug = debug;
        f
    })
}

fn dispatch(ctx: &Context, command: Command) -> Result<()> {
    match command {
        Command::Install(args) => install::install(ctx, &args),
        Command::Annotate(args) => annotate::annotate(ctx, &args.sections),
        Command::Query(args) => query::query(ctx, &args.keys),
        Command::Init(args) => init::init(ctx, &args.requirements),
        Command::Bootstrap => bootstrap::bootstrap(ctx),
        Command::Generations(args) => generations::generations(ctx, &args),
        Command::Rollback(args) => generations::rollback(ctx, &args),
        Command::Gc(args) => gc::gc(ctx, &args),
        Command::Store(command) => store::store(ctx, command),
    }
}
