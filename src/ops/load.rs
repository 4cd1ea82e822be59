//! Loading the configuration for an operation, with its messages printed.

use super::{Context, Result};
use crate::config::{Config, LoadOptions, Purpose, Reporter, level};
use crate::output::Printer;

/// Prints configuration messages through the printer, filtered by the log
/// threshold once the configuration has set it.
pub struct PrintReporter {
    pub printer: Printer,
    pub threshold: i32,
}

impl Reporter for PrintReporter {
    fn message(&mut self, level: i32, text: &str) {
        if level >= self.threshold {
            self.printer.data(&format!("{text}\n"));
        }
    }

    fn set_threshold(&mut self, threshold: i32) {
        self.threshold = threshold;
    }
}

/// Loads the configuration named on the command line.
pub fn load(ctx: &Context, purpose: Purpose) -> Result<(Config, PrintReporter)> {
    let opts = LoadOptions {
        config_file: ctx.global.config.clone(),
        cwd: ctx.cwd.to_string_lossy().into_owned(),
        assignments: ctx.global.assignments.clone(),
        verbosity: ctx.global.verbosity,
        use_user_defaults: ctx.global.use_user_defaults,
        purpose,
        executable: None,
    };
    let mut reporter = PrintReporter {
        printer: ctx.printer,
        threshold: level::INFO - ctx.global.verbosity,
    };
    let config = Config::load(&opts, &mut reporter)?;
    Ok((config, reporter))
}
