//! The only module that prints.
//!
//! zc.buildout sends its log (progress, warnings) to stdout and failures to
//! stderr as a `While:` block of context lines followed by `Error: <message>`,
//! exit status 1. [`Printer`] is the stdout channel handed to every
//! operation: log records go through zc.buildout's logging set-up
//! (`log-level`, `log-format`: [`configure_log`], [`logfmt`]), data the user
//! asked for is printed as it is. [`exit`] renders the final outcome, any [`Report`] (the
//! operations' failure type implements it, so this module depends on no
//! layer above it).
#![allow(clippy::print_stdout, clippy::print_stderr)]

pub mod logfmt;
pub mod progress;

use std::io::Write;
use std::process::ExitCode;

/// When to colour output (`--color`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ColorChoice {
    /// On a terminal, unless `NO_COLOR` is set.
    #[default]
    Auto,
    Always,
    Never,
}

impl ColorChoice {
    /// Whether a stream that is (or is not) a terminal gets colour.
    fn enabled(self, terminal: bool) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                terminal && crate::env::var(crate::env::NO_COLOR).is_none_or(|v| v.is_empty())
            }
        }
    }
}

/// SGR codes: warnings yellow, errors bold red, the new generation green.
const YELLOW: &str = "\x1b[33m";
const RED: &str = "\x1b[1;31m";
const GREEN: &str = "\x1b[32m";
const RESET: &str = "\x1b[0m";

/// Python `logging` levels.
const DEBUG: i32 = 10;
const INFO: i32 = 20;
const WARNING: i32 = 30;

/// zc.buildout's logger, whose records print without its name.
pub const BUILDOUT_LOGGER: &str = "zc.buildout";
/// zc.buildout's installer logger (distributions, generated scripts).
pub const INSTALLER_LOGGER: &str = "zc.buildout.easy_install";

/// The logging set up by the configuration (`log-level` minus verbosity,
/// `log-format`): process-wide, like Python's root logger, because it is
/// known only once the configuration is read, after every [`Printer`] copy
/// was made.
#[derive(Debug)]
struct LogSettings {
    threshold: i32,
    format: Option<logfmt::LogFormat>,
}

static LOG: std::sync::RwLock<Option<LogSettings>> = std::sync::RwLock::new(None);

/// Sets the log threshold and format (`[buildout] log-format`; empty is
/// zc.buildout's default: the message alone for its own loggers, `name:
/// message` for the others). Fails with Python's complaint about the format.
pub fn configure_log(threshold: i32, format: &str) -> Result<(), String> {
    let format = if format.is_empty() {
        None
    } else {
        Some(logfmt::LogFormat::parse(format)?)
    };
    let mut log = LOG
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    *log = Some(LogSettings { threshold, format });
    Ok(())
}

/// The stdout channel, filtered by log level: zc.buildout's levels, `-q`
/// hides info, `-qq` hides warnings too, and once the configuration is read
/// its `log-level` and `log-format` apply ([`configure_log`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct Printer {
    /// Net verbosity in zc.buildout's units (+10 per `-v`, -10 per `-q`).
    pub verbosity: i32,
    /// Whether warnings and the summary are coloured.
    pub color: bool,
}

impl Printer {
    pub fn new(verbosity: i32, color: ColorChoice) -> Self {
        use std::io::IsTerminal;
        Self {
            verbosity,
            color: color.enabled(std::io::stdout().is_terminal()),
        }
    }

    fn paint(&self, code: &str, line: &str) -> String {
        if self.color {
            format!("{code}{line}{RESET}\n")
        } else {
            format!("{line}\n")
        }
    }

    /// Data the user asked for (annotate, query, listings): always printed.
    pub fn data(&self, text: &str) {
        // The status line (stderr, same terminal) is cleared first.
        progress::suspended(|| {
            let mut out = std::io::stdout().lock();
            // A closed pipe (`buildout annotate | head`) is not an error.
            let _ = out.write_all(text.as_bytes());
        });
    }

    /// Binary data the user asked for on standard output (`store
    /// export > file`): `write` gets the locked, buffered stream.
    pub fn binary(
        &self,
        write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        write(&mut out)?;
        out.flush()
    }

    /// A log record of `logger` at `level` (Python's numbers), printed if
    /// it passes the threshold, formatted as zc.buildout's logging would.
    pub fn log(&self, level: i32, logger: &str, message: &str) {
        let log = LOG
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let threshold = log.as_ref().map_or(INFO - self.verbosity, |l| l.threshold);
        if level < threshold {
            return;
        }
        let line = match log.as_ref().and_then(|l| l.format.as_ref()) {
            Some(format) => format.render(&logfmt::Record {
                name: logger,
                level,
                message,
            }),
            None if logger == BUILDOUT_LOGGER
                || logger.starts_with(&format!("{BUILDOUT_LOGGER}.")) =>
            {
                message.to_string()
            }
            None => format!("{logger}: {message}"),
        };
        drop(log);
        if level >= WARNING {
            self.data(&self.paint(YELLOW, &line));
        } else {
            self.data(&format!("{line}\n"));
        }
    }

    /// An informational log line (hidden by `-q`).
    pub fn info(&self, line: &str) {
        self.log(INFO, BUILDOUT_LOGGER, line);
    }

    /// An informational line that reports success (the new generation),
    /// green on a colour terminal.
    pub fn success(&self, line: &str) {
        if self.color {
            self.log(INFO, BUILDOUT_LOGGER, &format!("{GREEN}{line}{RESET}"));
        } else {
            self.info(line);
        }
    }

    /// A detail shown with `-v` (a debug record).
    pub fn verbose(&self, line: &str) {
        self.log(DEBUG, BUILDOUT_LOGGER, line);
    }

    /// A warning (hidden by `-qq`).
    pub fn warn(&self, line: &str) {
        self.log(WARNING, BUILDOUT_LOGGER, line);
    }
}

/// Renders help text (from clap) on stdout.
pub fn help(text: &str) {
    Printer::default().data(text);
}

/// A failed run as the user sees it.
pub trait Report {
    /// Context lines, outermost first (the `While:` block).
    fn context(&self) -> Vec<String>;
    /// The text after `Error: `.
    fn message(&self) -> String;
    /// Output that is already fully formatted (clap's usage errors).
    fn preformatted(&self) -> Option<&str>;
    /// The process exit status.
    fn exit_code(&self) -> u8;
    /// Whether `-D` asked for the chain of causes.
    fn debug(&self) -> bool;
    /// `--color`, for the `Error:` line.
    fn color(&self) -> ColorChoice;
    /// The error itself, whose sources are the causes.
    fn error(&self) -> &(dyn std::error::Error + 'static);
    /// A Python traceback: the failure is reported as zc.buildout reports
    /// an exception that is not a `UserError` (an internal error).
    fn traceback(&self) -> Option<String> {
        None
    }
}

/// zc.buildout's heading of an internal error's traceback.
const INTERNAL_ERROR: &str =
    "\nAn internal error occurred due to a bug in either zc.buildout or in a\nrecipe being used:\n";

/// Renders the outcome of a run and turns it into the exit status.
pub fn exit<R: Report>(result: Result<(), R>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            let mut err = std::io::stderr().lock();
            let _ = err.write_all(render_failure(&failure).as_bytes());
            ExitCode::from(failure.exit_code())
        }
    }
}

/// zc.buildout's failure shape: `While:` and indented context lines, then
/// `Error: ` and the message.
pub fn render_failure(failure: &dyn Report) -> String {
    let mut text = String::new();
    let context = failure.context();
    if !context.is_empty() {
        text.push_str("While:\n");
        for line in &context {
            text.push_str("  ");
            text.push_str(line);
            text.push('\n');
        }
    }
    if let Some(raw) = failure.preformatted() {
        text.push_str(raw);
        return text;
    }
    if let Some(traceback) = failure.traceback() {
        text.push_str(INTERNAL_ERROR);
        text.push_str(&traceback);
        if !traceback.ends_with('\n') {
            text.push('\n');
        }
        return text;
    }
    use std::io::IsTerminal;
    if failure.color().enabled(std::io::stderr().is_terminal()) {
        text.push_str(&format!("{RED}Error:{RESET} "));
    } else {
        text.push_str("Error: ");
    }
    text.push_str(&failure.message());
    text.push('\n');
    if failure.debug() {
        let mut source = failure.error().source();
        while let Some(cause) = source {
            text.push_str(&format!("  caused by: {cause}\n"));
            source = cause.source();
        }
    }
    text
}

/// Standard output as a byte channel of its own (`store serve --stdio`):
/// returns a handle on the real standard output, and from then on
/// everything printed for the user goes to standard error, so messages
/// never mix with the protocol. The handle is not inherited: programs
/// started from here (recipes run by actions) write to standard error and
/// cannot hold the channel open.
pub fn take_stdout() -> std::io::Result<std::fs::File> {
    use std::io::Write;
    use std::os::fd::AsFd;
    let _ = std::io::stdout().flush();
    // A duplicate made close-on-exec.
    let channel = std::io::stdout().as_fd().try_clone_to_owned()?;
    nix::unistd::dup2_stdout(std::io::stderr()).map_err(std::io::Error::from)?;
    Ok(std::fs::File::from(channel))
}

/// Standard input as a byte channel of its own (`store serve --stdio`):
/// returns a handle on the real standard input (not inherited), and from
/// then on programs started from here read `/dev/null`, so a command an
/// action runs can never consume the protocol.
pub fn take_stdin() -> std::io::Result<std::fs::File> {
    use std::os::fd::AsFd;
    let channel = std::io::stdin().as_fd().try_clone_to_owned()?;
    let null = std::fs::File::open("/dev/null")?;
    nix::unistd::dup2_stdin(&null).map_err(std::io::Error::from)?;
    Ok(std::fs::File::from(channel))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_only_where_chosen() {
        assert!(ColorChoice::Always.enabled(false));
        assert!(!ColorChoice::Never.enabled(true));
        assert!(!ColorChoice::Auto.enabled(false));
        let on = Printer {
            verbosity: 0,
            color: true,
        };
        assert_eq!(on.paint(YELLOW, "w"), "\x1b[33mw\x1b[0m\n");
        assert_eq!(Printer::default().paint(YELLOW, "w"), "w\n");
    }
}
