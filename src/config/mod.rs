//! The zc.buildout configuration language.
//!
//! (Being built: parsing, extends, macros, conditional sections,
//! substitution and annotations.)

pub mod condition;

/// A configuration error, with zc.buildout's context lines.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    context: Vec<String>,
    message: String,
}

impl Error {
    /// `While:` lines contributed by the configuration layer.
    pub fn context(&self) -> &[String] {
        &self.context
    }

    /// The `Error:` text.
    pub fn message(&self) -> String {
        self.message.clone()
    }
}
