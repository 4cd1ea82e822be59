//! Conditional section expressions: `[name:expression]`.
//!
//! (Interface only; the evaluator is being built.)

use crate::python::LazyFacts;

/// Why an expression could not be evaluated (no file/line: the caller adds it).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Error(pub String);

/// Evaluates the expression of a `[name:expression]` header.
///
/// `expression` is the raw text between `:` and `]` (with `\x23`/`\x3b`
/// escapes not yet replaced); `tail` is what follows `]` on the line
/// (a `#`/`;` comment or nothing).
pub fn evaluate(expression: &str, tail: &str, facts: &mut LazyFacts) -> Result<bool, Error> {
    let _ = (expression, tail, facts);
    Err(Error("conditional sections are not supported yet".into()))
}
