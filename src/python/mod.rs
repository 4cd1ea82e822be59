//! Facts and value types about Python: interpreters, PEP 508 markers.

use std::path::PathBuf;

/// Interpreter facts, probed at most once, and only when first needed.
#[derive(Debug, Default)]
pub struct LazyFacts {
    /// The interpreter to ask (`None`: `python3` on PATH).
    pub executable: Option<PathBuf>,
}
