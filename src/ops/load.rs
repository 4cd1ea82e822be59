//! Loading the configuration for an operation, with its messages printed.

use super::{Context, Result};
use crate::config::{Config, LoadOptions, Purpose, Reporter, level};
use crate::output::{BUILDOUT_LOGGER, Printer};

/// Prints configuration messages through the printer as zc.buildout's log
/// records (bare prints always), and sets up the printer's logging once the
/// configuration has set it.
pub struct PrintReporter {
    pub printer: Printer,
}

impl Reporter for PrintReporter {
    fn message(&mut self, level: i32, text: &str) {
        if level == level::ALWAYS {
            self.printer.data(&format!("{text}\n"));
        } else {
            self.printer.log(level, BUILDOUT_LOGGER, text);
        }
    }

    fn set_logging(&mut self, threshold: i32, format: &str) -> std::result::Result<(), String> {
        crate::output::configure_log(threshold, format)
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
    };
    let config = Config::load(&opts, &mut reporter)?;
    Ok((config, reporter))
}

/// The store directory: `--store` > `BUILDOUT_STORE` > `[buildout] store`
/// (when a configuration file is present; relative to the buildout
/// directory, `~` expanded) > `~/.buildout/store`.
pub fn store_dir(ctx: &Context) -> Result<std::path::PathBuf> {
    let explicit =
        ctx.global.store.is_some() || crate::env::var_os(crate::env::BUILDOUT_STORE).is_some();
    let mut configured = None;
    if !explicit && config_present(ctx) {
        let (mut config, _) = load(ctx, Purpose::Other)?;
        configured = store_option(&mut config)?;
    }
    store_dir_for(ctx, configured)
}

/// Whether the configuration file named on the command line (default
/// `buildout.cfg`) exists (a URL is taken to).
pub fn config_present(ctx: &Context) -> bool {
    let file = ctx
        .global
        .config
        .clone()
        .unwrap_or_else(|| "buildout.cfg".into());
    crate::config::load::is_url(&file) || ctx.cwd.join(&file).exists()
}

/// The store directory given the `[buildout] store` value (if any).
pub fn store_dir_for(ctx: &Context, configured: Option<String>) -> Result<std::path::PathBuf> {
    Ok(crate::store::locate_from_env(
        ctx.global.store.as_deref(),
        configured.as_deref(),
    )?)
}

/// `[buildout] store`, made absolute relative to the buildout directory.
pub fn store_option(config: &mut Config) -> Result<Option<String>> {
    use crate::config::pystr;
    let Some(value) = config.buildout.get("buildout", "store", None)? else {
        return Ok(None);
    };
    let value = pystr::expanduser(value.trim());
    if value.is_empty() {
        return Ok(None);
    }
    Ok(Some(pystr::abspath(&value, &config.directory)))
}
