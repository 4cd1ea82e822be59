//! Fault injection: `BUILDOUT_FAILPOINT=<name>` makes the process abort at the
//! named point, as a crash or power cut would. Integration tests abort at
//! every point in [`POINTS`] and then check that the store is consistent.
//!
//! Only debug builds (what `cargo test` runs) read the variable; in a
//! release build [`hit`] is empty and costs nothing.

#[cfg(debug_assertions)]
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
    // install and generations (ops/install, profile)
    "install-parts-built",
    "install-generation-added",
    "install-link-added",
    "switch-before-rename",
    "switch-after-rename",
    // push (build/cache)
    "push-nar-uploaded",
];

/// Aborts the process if `BUILDOUT_FAILPOINT` names `point`.
#[cfg(debug_assertions)]
pub fn hit(point: &str) {
    debug_assert!(POINTS.contains(&point), "unknown failpoint {point}");
    if let Some(wanted) = env::var(env::BUILDOUT_FAILPOINT)
        && wanted.split(',').any(|w| w.trim() == point)
    {
        std::process::abort();
    }
}

/// Failpoints are not compiled into release builds.
#[cfg(not(debug_assertions))]
#[inline(always)]
pub fn hit(_point: &str) {}
