//! One file per user action; each is a function callable from tests.
//!
//! [`crate::cli`] parses the command line into [`GlobalOptions`] and an
//! action's own options, builds a [`Context`] and calls the action, which
//! returns a [`Failure`] carrying zc.buildout-style context lines
//! (`While:`) on error. Operations print only through
//! [`crate::output::Printer`]; [`crate::output::exit`] renders a failure.

mod annotate;
mod bootstrap;
mod cache;
mod deploy;
mod dists;
mod gc;
mod generations;
mod init;
mod install;
mod load;
mod lock;
mod query;
mod store;

pub use annotate::annotate;
pub use bootstrap::bootstrap;
pub use cache::{Compression, PushOptions, cache_gc, key_generate, key_public, push};
pub use deploy::{CopyOptions, copy};
pub use gc::{GcOptions, gc};
pub use generations::{GenerationsAction, generations, rollback};
pub use init::init;
pub use install::{InstallOptions, install, lock};
pub use lock::{Export, LockCommand, LockUse};
pub use query::query;
pub use store::{DebugAdd, StoreAction, store};

use crate::config::Assignment;
pub use crate::output::ColorChoice;
use crate::output::{Printer, Report};
use std::fmt;
use std::path::PathBuf;

/// Everything the global part of the command line said.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GlobalOptions {
    /// `-c`: configuration file or URL; `None` means `buildout.cfg`.
    pub config: Option<String>,
    /// Net verbosity: +10 per `-v`, -10 per `-q` (zc.buildout's units).
    pub verbosity: i32,
    pub use_user_defaults: bool,
    pub debug: bool,
    pub store: Option<PathBuf>,
    pub json: bool,
    pub no_progress: bool,
    pub color: ColorChoice,
    /// Assignments in command-line order, including those the flags imply
    /// (`-o` → `buildout:offline=true`, `-t 5` → `buildout:socket-timeout=5`).
    pub assignments: Vec<Assignment>,
}

/// A command line that cannot be run; rendered as `Error: <message>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UsageError {
    /// zc.buildout's own wording, printed after `Error: `.
    Message(String),
    /// clap's rendering of a bad command argument (already formatted).
    Clap(String),
}

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Message(m) | Self::Clap(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for UsageError {}

/// Everything an operation needs from the command line and environment.
#[derive(Debug, Clone)]
pub struct Context {
    pub global: GlobalOptions,
    pub printer: Printer,
    /// The directory `buildout` was started in.
    pub cwd: PathBuf,
}

impl Context {
    /// The context of a run started in the current directory.
    pub fn new(global: GlobalOptions) -> Result<Self> {
        let cwd = std::env::current_dir().map_err(|source| Error::Io {
            what: "cannot determine the current directory".into(),
            source,
        })?;
        let printer = Printer::new(global.verbosity, global.color);
        crate::output::progress::setup(printer, global.no_progress);
        Ok(Self {
            printer,
            global,
            cwd,
        })
    }
}

/// Opens the buildout directory `dir` for a change, waiting (and saying
/// so) while another buildout runs there.
pub(crate) fn lock_profile(
    ctx: &Context,
    dir: &std::path::Path,
) -> Result<crate::profile::Profile> {
    let printer = ctx.printer;
    Ok(crate::profile::Profile::open_locked(dir, &mut || {
        printer.warn(&format!(
            "Waiting for another buildout running in {}...",
            dir.display()
        ));
    })?)
}

/// Says what a switch moved aside, and what stands in its place now.
pub(crate) fn report_moved(ctx: &Context, moved: &[crate::profile::Moved]) {
    for m in moved {
        let now = if m.linked {
            "buildout now manages it as a link into the current generation"
        } else {
            "the generation's manifest replaces it"
        };
        ctx.printer.warn(&format!(
            "Moved {} to {}: {now}.",
            m.from.display(),
            m.to.display()
        ));
    }
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
    #[error(transparent)]
    Cache(#[from] crate::build::cache::Error),
    /// A command-line problem, in zc.buildout's words.
    #[error("{0}")]
    Usage(UsageError),
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
    /// `--color`, for the `Error:` line.
    pub color: ColorChoice,
}

impl Failure {
    pub fn new(error: impl Into<Error>) -> Self {
        Self {
            doing: Vec::new(),
            error: Box::new(error.into()),
            debug: false,
            color: ColorChoice::Auto,
        }
    }

    /// Adds an outer context line (printed first).
    #[must_use]
    pub fn doing(mut self, line: impl Into<String>) -> Self {
        self.doing.insert(0, line.into());
        self
    }
}

impl Failure {
    /// The Python exception this failure reports, if it is one.
    fn raised(&self) -> Option<&crate::recipe::host::Raised> {
        match self.error.as_ref() {
            Error::Recipe(crate::recipe::Error::Host(crate::recipe::host::Error::Raised(r))) => {
                Some(r)
            }
            _ => None,
        }
    }
}

impl Report for Failure {
    /// All context lines, outermost first: ours, then the error's own.
    fn context(&self) -> Vec<String> {
        let mut lines = self.doing.clone();
        let config = match self.error.as_ref() {
            Error::Config(e) | Error::Recipe(crate::recipe::Error::Config(e)) => Some(e),
            _ => None,
        };
        if let Some(e) = config {
            lines.extend(e.context().iter().cloned());
        }
        if let Some(raised) = self.raised() {
            lines.extend(raised.doing.iter().cloned());
        }
        lines
    }

    fn traceback(&self) -> Option<String> {
        if let Some(raised) = self.raised() {
            return raised
                .is_internal()
                .then(|| raised.traceback.clone())
                .flatten();
        }
        match self.error.as_ref() {
            Error::Config(e) | Error::Recipe(crate::recipe::Error::Config(e)) => match e.kind() {
                crate::config::ErrorKind::Recipe { traceback, .. } => traceback.clone(),
                _ => None,
            },
            _ => None,
        }
    }

    /// The `Error:` message.
    fn message(&self) -> String {
        match self.error.as_ref() {
            Error::Config(e) | Error::Recipe(crate::recipe::Error::Config(e)) => e.message(),
            other => other.to_string(),
        }
    }

    /// Output that is already fully formatted (clap's usage errors).
    fn preformatted(&self) -> Option<&str> {
        match self.error.as_ref() {
            Error::Usage(UsageError::Clap(text)) => Some(text),
            _ => None,
        }
    }

    fn exit_code(&self) -> u8 {
        match self.error.as_ref() {
            Error::Usage(UsageError::Clap(_)) => 2,
            _ => 1,
        }
    }

    fn debug(&self) -> bool {
        self.debug
    }

    fn color(&self) -> ColorChoice {
        self.color
    }

    fn error(&self) -> &(dyn std::error::Error + 'static) {
        self.error.as_ref()
    }
}

impl<E: Into<Error>> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure::new(e)
    }
}

pub type Result<T, E = Failure> = std::result::Result<T, E>;
