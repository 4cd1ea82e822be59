//! `buildout install [parts]`: assemble the parts into a new generation.

use super::{Context, Error, Result};
use crate::cli::InstallArgs;

/// Installing needs the store, generations and distributions, which later
/// releases provide; until then this says so instead of pretending.
pub fn install(_ctx: &Context, _args: &InstallArgs) -> Result<()> {
    Err(Error::NotAvailable(
        "installing parts is not available yet in this build of buildout; \
         use `buildout annotate` or `buildout query` to inspect the configuration"
            .into(),
    )
    .into())
}
