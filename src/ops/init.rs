//! `buildout init`.

use super::{Context, Error, Result};

pub fn init(_ctx: &Context, _reqs: &[String]) -> Result<()> {
    Err(Error::NotAvailable("init: being built".into()).into())
}
