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
//! Two evaluators share that work. Ours, in Rust, covers what conditions
//! usually say (zc.buildout's names `python3`, `linux`, `bits64`, ...;
//! `sys`, `os`, `platform` attributes; literals, comparisons, boolean
//! operators, a few calls and string methods) with Python's semantics,
//! and needs no Python process (interpreter facts are probed only when the
//! expression needs them, from a cache). Anything it does not evaluate to
//! a value (another construct, or an error, whose exact text only Python
//! knows) goes to Python itself ([`crate::python::condition`]): one
//! process per configuration load, started by the first such expression.

mod eval;
mod lex;
mod parse;
#[cfg(test)]
mod tests;
mod value;

use crate::python::condition::Outcome;
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
/// (a `#`/`;` comment or nothing). A Python exception is an [`Error`]
/// with Python's text (`NameError: name 'x' is not defined`).
pub fn evaluate(expression: &str, tail: &str, facts: &mut LazyFacts) -> Result<bool, Error> {
    match evaluate_here(expression, tail, facts)? {
        Here::Done(value) => Ok(value),
        Here::Python { source, .. } => match facts.evaluate_in_python(&source) {
            Ok(Outcome::Value(value)) => Ok(value),
            Ok(Outcome::Raised(exception)) => Err(Error(exception)),
            Err(e) => Err(Error(e.to_string())),
        },
    }
}

/// What our own evaluator made of an expression.
enum Here {
    Done(bool),
    /// Left to Python: the source zc.buildout `eval`s, and why we left it.
    Python {
        source: String,
        #[cfg_attr(not(test), allow(dead_code))]
        why: Error,
    },
}

/// The marker and Rust paths of [`evaluate`]: never starts Python.
fn evaluate_here(expression: &str, tail: &str, facts: &mut LazyFacts) -> Result<Here, Error> {
    // zc.buildout: `if expression:` — an empty expression is no condition.
    if expression.is_empty() {
        return Ok(Here::Done(true));
    }
    let expr = expression.replace(r"\x23", "#").replace(r"\x3b", ";");
    if let Ok(marker) = expr.parse::<Marker>() {
        let env = &facts.get().map_err(|e| Error(e.to_string()))?.markers;
        return marker
            .try_evaluate(env, &[])
            .map(Here::Done)
            .map_err(|e| Error(format!("cannot evaluate marker `{}`: {e}", expr.trim())));
    }
    let mut tail = tail.replace(';', "#");
    if !tail.trim_start().starts_with(']') {
        tail.insert(0, ']');
    }
    let source = format!("[{expr}{tail}");
    Ok(match evaluate_subset(&source, expr.trim(), facts) {
        Ok(value) => Here::Done(value),
        Err(fail) => Here::Python {
            why: fail.into_error(expr.trim()),
            source,
        },
    })
}

/// Our evaluation of `source` (`[expr]` and a comment): the first element's
/// truth, or why we leave it to Python.
fn evaluate_subset(source: &str, expr: &str, facts: &mut LazyFacts) -> Result<bool, Fail> {
    let ast = Parser::new(source, expr).parse_source()?;
    let mut eval = Eval { facts, depth: 0 };
    let list = eval.eval(&ast)?;
    Ok(eval.subscript(list, Value::Int(0))?.truthy())
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
