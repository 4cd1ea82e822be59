//! `buildout annotate [sections]`: the effective configuration, sorted, with
//! the origin of every value (its whole history with `-v`).

use super::{Context, Result, load};
use crate::config::{Purpose, annotate};

pub fn annotate(ctx: &Context, sections: &[String]) -> Result<()> {
    let (mut config, _) = load::load(ctx, Purpose::Other)?;
    let verbose = config.verbose()?;
    config.resolve_annotated_executable();
    ctx.printer.data(&annotate::render(
        &config.annotated,
        verbose,
        sections,
        &config.directory,
    ));
    Ok(())
}
