//! `buildout query [section:]option`: the raw value of one option.

use super::{Context, Error, Result, load};
use crate::config::Purpose;

pub fn query(ctx: &Context, keys: &[String]) -> Result<()> {
    let (mut config, _) = load::load(ctx, Purpose::Other)?;
    let [key] = keys else {
        return Err(Error::User("The query command requires a single argument.".into()).into());
    };
    let parts: Vec<&str> = key.split(':').collect();
    let (section, option) = match parts.as_slice() {
        [option] => ("buildout", *option),
        [section, option] => (*section, *option),
        _ => return Err(Error::User(format!("Invalid option: {key}")).into()),
    };
    if config.verbose()? {
        ctx.printer.data(&format!("${{{section}:{option}}}\n"));
    }
    match config.raw_value(section, option) {
        Some(Some(value)) => {
            ctx.printer.data(&format!("{value}\n"));
            Ok(())
        }
        Some(None) => Err(Error::User(format!("Key not found: {option}")).into()),
        None => Err(Error::User(format!("Section not found: {section}")).into()),
    }
}
