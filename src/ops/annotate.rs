//! `buildout annotate [sections]`: the effective configuration, sorted, with
//! the origin of every value (its whole history with `-v`); then, when the
//! buildout has a lock file and every section is shown, which parts it
//! applies to (one line per distribution request it records).

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
    if sections.is_empty()
        && let Ok(path) = super::lock::lock_path(ctx)
        && let Some(lock) = super::lock::read(&path).map_err(super::Failure::new)?
    {
        ctx.printer.data(&lock_lines(&lock, &path));
    }
    Ok(())
}

/// Where the lock applies: each request it records, by part.
fn lock_lines(lock: &crate::resolve::lock::Lock, path: &std::path::Path) -> String {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let mut text = format!("\nLock file {name} applies to:\n");
    for r in &lock.tool.requests {
        let who = if r.part.is_empty() {
            "recipe host".to_string()
        } else {
            format!("part {}", r.part)
        };
        let n = r.packages.len();
        let noun = if n == 1 {
            "distribution"
        } else {
            "distributions"
        };
        text.push_str(&format!(
            "    {who}: group {}, {n} {noun}, {}\n",
            r.group, r.python
        ));
    }
    text
}
