//! `buildout bootstrap`.

use super::{Context, Error, Result};

pub fn bootstrap(_ctx: &Context) -> Result<()> {
    Err(Error::NotAvailable("bootstrap: being built".into()).into())
}
