//! The immutable, hash-addressed store. (Being built.)

/// A store error.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Error(pub String);
