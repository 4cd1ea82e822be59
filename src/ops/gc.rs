//! `buildout gc [--dry-run] [--max-freed SIZE]`: delete store objects that
//! no root (kept generation, pin, running process) reaches.

use super::{Context, Result};
use crate::store::{self, Store};

/// Opens the store named by `--store`, `BUILDOUT_STORE`, `[buildout] store`
/// or the default (see [`super::load::store_dir`]).
pub(super) fn open_store(ctx: &Context) -> Result<Store> {
    let dir = super::load::store_dir(ctx)?;
    Ok(Store::open(&dir)?)
}

/// What `buildout gc` was asked to do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GcOptions {
    /// `--dry-run`: report, delete nothing.
    pub dry_run: bool,
    /// `--max-freed SIZE`: stop after freeing this much (`500M`, `2G`).
    pub max_freed: Option<String>,
}

pub fn gc(ctx: &Context, args: &GcOptions) -> Result<()> {
    let max_freed = args
        .max_freed
        .as_deref()
        .map(store::parse_size)
        .transpose()?;
    let store = open_store(ctx)?;
    let report = crate::output::progress::phase("gc", "Collecting garbage", || {
        store.gc(
            &store::GcOptions {
                dry_run: args.dry_run,
                max_freed,
            },
            &|what, done, total| {
                crate::output::progress::count("gc", "unreachable objects", what, done, total);
            },
        )
    })?;
    let p = &ctx.printer;
    p.verbose(&format!(
        "marked {} live of {} objects in {:.1} ms",
        report.live,
        report.total,
        report.mark_time.as_secs_f64() * 1000.0
    ));
    for d in &report.dangling_roots {
        if args.dry_run {
            p.info(&format!("would remove stale root `{}`", d.display()));
        } else {
            p.info(&format!("removed stale root `{}`", d.display()));
        }
    }
    if report.foreign > 0 {
        p.info(&format!(
            "kept {} unreachable store object(s) that other users own: their owner's or \
             root's `buildout gc` deletes them",
            report.foreign
        ));
    }
    let n = report.deleted.len();
    let objects = if n == 1 { "object" } else { "objects" };
    let size = store::format_size(report.bytes_freed);
    if args.dry_run {
        for (path, _) in &report.deleted {
            p.data(&format!("{}\n", store.real_path(path).display()));
        }
        p.info(&format!("would delete {n} store {objects}, freeing {size}"));
        return Ok(());
    }
    for (path, bytes) in &report.deleted {
        p.verbose(&format!(
            "deleted {} ({})",
            store.real_path(path).display(),
            store::format_size(*bytes)
        ));
    }
    for l in &report.leftovers {
        p.verbose(&format!("removed unregistered leftover {}", l.display()));
    }
    let leftovers = match report.leftovers.len() {
        0 => String::new(),
        1 => " and 1 leftover of an interrupted run".to_string(),
        k => format!(" and {k} leftovers of interrupted runs"),
    };
    p.info(&format!(
        "deleted {n} store {objects}{leftovers}, freed {size}"
    ));
    if report.stopped_early {
        p.info("stopped early: --max-freed reached");
    }
    Ok(())
}
