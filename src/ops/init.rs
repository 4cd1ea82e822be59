//! `buildout init [requirements]`: write a `buildout.cfg`, bootstrap, and
//! install when requirements were given.

use super::{Context, Result, bootstrap, install, load};
use crate::config::Purpose;

pub fn init(ctx: &Context, requirements: &[String]) -> Result<()> {
    let (mut config, _) = load::load(ctx, Purpose::Init(requirements.to_vec()))?;
    bootstrap::setup_directories(ctx, &mut config)?;
    if !requirements.is_empty() {
        install::install(ctx, &install::InstallOptions::default())?;
    }
    Ok(())
}
