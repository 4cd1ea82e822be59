//! Conditional section expressions: `[name:expression]`.
//!
//! zc.buildout (`configparser.parse`) evaluates the text after `:` when it
//! reads the header: `\x23` and `\x3b` become `#` and `;`; the text is first
//! tried as a PEP 508 marker (evaluated against the interpreter's marker
//! environment); if it is not a valid marker, `"[" + expr + tail` (the tail's
//! `;` turned into `#`, a Python comment) is evaluated as Python with the
//! globals of `_default_globals()`, and the first element of the resulting
//! list decides, by Python truthiness.
//!
//! We do not embed Python: this module evaluates the subset of Python that
//! conditions use (the globals `sys`, `os`, `platform`, `python3`, `linux`,
//! `bits64`, ...; literals, comparisons, boolean operators, attribute
//! access, a few calls and string methods), with Python's semantics, and
//! rejects anything else with a clear error. Interpreter facts are probed
//! only when the expression needs them (`os.environ` does not).

mod eval;
mod lex;
mod parse;
#[cfg(test)]
mod tests;
mod value;

use crate::python::{Facts, LazyFacts, Marker};
use eval::*;
use lex::*;
use parse::*;
use value::*;

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
    // zc.buildout: `if expression:` — an empty expression is no condition.
    if expression.is_empty() {
        return Ok(true);
    }
    let expr = expression.replace(r"\x23", "#").replace(r"\x3b", ";");
    if let Ok(marker) = expr.parse::<Marker>() {
        let env = &facts.get().map_err(|e| Error(e.to_string()))?.markers;
        return marker
            .try_evaluate(env, &[])
            .map_err(|e| Error(format!("cannot evaluate marker `{}`: {e}", expr.trim())));
    }
    let mut tail = tail.replace(';', "#");
    if !tail.trim_start().starts_with(']') {
        tail.insert(0, ']');
    }
    let source = format!("[{expr}{tail}");
    let ast = Parser::new(&source, expr.trim())
        .parse_source()
        .map_err(|f| f.into_error(expr.trim()))?;
    let mut eval = Eval { facts, depth: 0 };
    let list = eval.eval(&ast).map_err(|f| f.into_error(expr.trim()))?;
    let first = eval
        .subscript(list, Value::Int(0))
        .map_err(|f| f.into_error(expr.trim()))?;
    Ok(first.truthy())
}

/// Nesting allowed in expressions (parentheses, unary operators, trailers).
const MAX_DEPTH: usize = 100;

/// Why evaluation stopped, before it becomes an [`Error`].
#[derive(Debug)]
enum Fail {
    Syntax(String),
    Unsupported(String),
    Runtime(String),
}

impl Fail {
    fn into_error(self, expr: &str) -> Error {
        Error(match self {
            Fail::Syntax(msg) => format!("invalid condition `{expr}`: {msg}"),
            Fail::Unsupported(what) => format!(
                "unsupported expression `{what}`: only the zc.buildout condition subset is available (see README)"
            ),
            Fail::Runtime(msg) => msg,
        })
    }
}

fn runtime<T>(msg: impl Into<String>) -> Result<T, Fail> {
    Err(Fail::Runtime(msg.into()))
}

fn unsupported<T>(what: impl Into<String>) -> Result<T, Fail> {
    Err(Fail::Unsupported(what.into()))
}
