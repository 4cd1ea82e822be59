//! `buildout bootstrap`: prepare the buildout directory.
//!
//! zc.buildout creates `bin/`, `parts/` and `develop-eggs/` and generates
//! `bin/buildout`. Here `bin` and `parts` are links into the current
//! generation, made by the first `install`, and there is no `bin/buildout`
//! to generate (the tool is installed once, not per buildout); so this
//! creates the mutable `develop-eggs/` directory only.

use super::{Context, Error, Result, load};
use crate::config::{Config, Purpose};
use std::path::Path;

pub fn bootstrap(ctx: &Context) -> Result<()> {
    let (mut config, _) = load::load(ctx, Purpose::Other)?;
    setup_directories(ctx, &mut config)
}

/// Creates the directories a buildout needs before its first install.
pub fn setup_directories(ctx: &Context, config: &mut Config) -> Result<()> {
    let develop = config
        .buildout
        .require("buildout", "develop-eggs-directory")?;
    if !Path::new(&develop).exists() {
        ctx.printer.info(&format!(
            "Creating directory {}.",
            crate::config::pystr::repr(&develop)
        ));
        std::fs::create_dir(&develop).map_err(|source| Error::Io {
            what: format!("cannot create directory `{develop}`"),
            source,
        })?;
    }
    Ok(())
}
