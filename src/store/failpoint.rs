//! Fault injection: `BUILDOUT_FAILPOINT=<name>` makes the process abort at the
//! named point, as a crash or power cut would. Integration tests abort at
//! every point in [`POINTS`] and then check that the store is consistent.

use crate::env;

/// Every named point, in the order a run reaches them.
pub const POINTS: &[&str] = &[
    // write path (add.rs)
    "add-staged",
    "add-hashed",
    "add-synced",
    "add-renamed",
    "add-registered",
    // gc (gc.rs)
    "gc-marked",
    "gc-unregistered",
    "gc-trashed",
    // optimise (optimise.rs)
    "optimise-tmp-link",
    // install and generations (ops/install.rs, profile)
    "install-parts-built",
    "install-generation-added",
    "install-link-added",
    "switch-before-rename",
    "switch-after-rename",
];

/// Aborts the process if `BUILDOUT_FAILPOINT` names `point`.
pub fn hit(point: &str) {
    debug_assert!(POINTS.contains(&point), "unknown failpoint {point}");
    if let Some(wanted) = env::var(env::BUILDOUT_FAILPOINT)
        && wanted.split(',').any(|w| w.trim() == point)
    {
        std::process::abort();
    }
}
