//! `buildout annotate`.

use super::{Context, Error, Result};

pub fn annotate(_ctx: &Context, _sections: &[String]) -> Result<()> {
    Err(Error::NotAvailable("annotate: being built".into()).into())
}
