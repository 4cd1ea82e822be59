//! `buildout query`.

use super::{Context, Error, Result};

pub fn query(_ctx: &Context, _keys: &[String]) -> Result<()> {
    Err(Error::NotAvailable("query: being built".into()).into())
}
