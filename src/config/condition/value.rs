//! Python values as conditions see them (`None`, numbers, strings, tuples,
//! the modules `sys`/`os`/`platform`/`re` and their attributes) and Python's
//! equality, ordering, membership and identity on them.

use super::*;

#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Module {
    Sys,
    Os,
    Platform,
    Re,
}

impl Module {
    pub(super) fn name(self) -> &'static str {
        match self {
            Module::Sys => "sys",
            Module::Os => "os",
            Module::Platform => "platform",
            Module::Re => "re",
        }
    }
}

#[derive(Debug, Clone)]
pub(super) enum Value {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Tuple(Vec<Value>),
    List(Vec<Value>),
    /// `sys.version_info`: a tuple with attributes.
    VersionInfo(Vec<Value>),
    Module(Module),
    /// `os.environ`.
    Environ,
    /// `sys.implementation`.
    Implementation,
    /// A callable: `len`, `os.getenv`, `platform.machine`, a bound method
    /// (`receiver.name`).
    Func(String, Option<Box<Value>>),
}

impl Value {
    pub(super) fn type_name(&self) -> &'static str {
        match self {
            Value::None => "NoneType",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::Str(_) => "str",
            Value::Tuple(_) => "tuple",
            Value::List(_) => "list",
            Value::VersionInfo(_) => "sys.version_info",
            Value::Module(_) => "module",
            Value::Environ => "_Environ",
            Value::Implementation => "types.SimpleNamespace",
            Value::Func(..) => "builtin_function_or_method",
        }
    }

    pub(super) fn truthy(&self) -> bool {
        match self {
            Value::None => false,
            Value::Bool(b) => *b,
            Value::Int(i) => *i != 0,
            Value::Float(f) => *f != 0.0,
            Value::Str(s) => !s.is_empty(),
            Value::Tuple(v) | Value::List(v) | Value::VersionInfo(v) => !v.is_empty(),
            Value::Environ => !crate::env::vars().is_empty(),
            Value::Module(_) | Value::Implementation | Value::Func(..) => true,
        }
    }

    /// Tuple-like and list items (strings excluded).
    pub(super) fn items(&self) -> Option<&[Value]> {
        match self {
            Value::Tuple(v) | Value::List(v) | Value::VersionInfo(v) => Some(v),
            _ => None,
        }
    }

    pub(super) fn is_tuple(&self) -> bool {
        matches!(self, Value::Tuple(_) | Value::VersionInfo(_))
    }

    pub(super) fn number(&self) -> Option<f64> {
        match self {
            Value::Bool(b) => Some(f64::from(u8::from(*b))),
            #[allow(clippy::cast_precision_loss)]
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            _ => None,
        }
    }

    pub(super) fn int(&self) -> Option<i64> {
        match self {
            Value::Bool(b) => Some(i64::from(*b)),
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// Python's `repr()`.
    pub(super) fn repr(&self) -> String {
        match self {
            Value::Str(s) => py_repr_str(s),
            Value::Tuple(v) | Value::VersionInfo(v) => {
                let inner: Vec<String> = v.iter().map(Value::repr).collect();
                if v.len() == 1 {
                    format!("({},)", inner[0])
                } else {
                    format!("({})", inner.join(", "))
                }
            }
            Value::List(v) => {
                let inner: Vec<String> = v.iter().map(Value::repr).collect();
                format!("[{}]", inner.join(", "))
            }
            other => other.str(),
        }
    }

    /// Python's `str()`.
    pub(super) fn str(&self) -> String {
        match self {
            Value::None => "None".into(),
            Value::Bool(true) => "True".into(),
            Value::Bool(false) => "False".into(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => py_float(*f),
            Value::Str(s) => s.clone(),
            Value::Module(m) => format!("<module '{}'>", m.name()),
            Value::Environ => "environ({...})".into(),
            Value::Implementation => "namespace(...)".into(),
            Value::Func(name, _) => format!("<built-in function {name}>"),
            Value::Tuple(_) | Value::List(_) | Value::VersionInfo(_) => self.repr(),
        }
    }
}

fn py_float(f: f64) -> String {
    if f.is_nan() {
        "nan".into()
    } else if f.is_infinite() {
        if f > 0.0 { "inf".into() } else { "-inf".into() }
    } else if f.fract() == 0.0 && f.abs() < 1e16 {
        format!("{f:.1}")
    } else {
        format!("{f}")
    }
}

pub(super) fn py_repr_str(s: &str) -> String {
    crate::python::pystr::repr(s)
}

pub(super) fn py_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::None, Value::None) => true,
        (Value::Str(x), Value::Str(y)) => x == y,
        (Value::Module(x), Value::Module(y)) => x == y,
        (Value::Environ, Value::Environ) | (Value::Implementation, Value::Implementation) => true,
        (Value::Func(x, rx), Value::Func(y, ry)) => x == y && rx.is_none() && ry.is_none(),
        _ => {
            if let (Some(x), Some(y)) = (a.int(), b.int()) {
                return x == y;
            }
            if let (Some(x), Some(y)) = (a.number(), b.number()) {
                return x == y;
            }
            match (a.items(), b.items()) {
                (Some(x), Some(y)) if a.is_tuple() == b.is_tuple() => {
                    x.len() == y.len() && x.iter().zip(y).all(|(p, q)| py_eq(p, q))
                }
                _ => false,
            }
        }
    }
}

/// Python's ordering, or the `TypeError` message.
pub(super) fn py_cmp(a: &Value, b: &Value, op: CmpOp) -> Result<std::cmp::Ordering, Fail> {
    use std::cmp::Ordering;
    let type_error = || {
        runtime(format!(
            "'{}' not supported between instances of '{}' and '{}'",
            op.symbol(),
            a.type_name(),
            b.type_name()
        ))
    };
    if let (Some(x), Some(y)) = (a.int(), b.int()) {
        return Ok(x.cmp(&y));
    }
    if let (Some(x), Some(y)) = (a.number(), b.number()) {
        // NaN: unordered; callers treat it as "not less, not greater".
        return Ok(x.partial_cmp(&y).unwrap_or(Ordering::Equal));
    }
    match (a, b) {
        (Value::Str(x), Value::Str(y)) => Ok(x.cmp(y)),
        _ => match (a.items(), b.items()) {
            (Some(x), Some(y)) if a.is_tuple() == b.is_tuple() => {
                for (p, q) in x.iter().zip(y) {
                    if !py_eq(p, q) {
                        return py_cmp(p, q, op);
                    }
                }
                Ok(x.len().cmp(&y.len()))
            }
            _ => type_error(),
        },
    }
}

pub(super) fn py_in(needle: &Value, haystack: &Value) -> Result<bool, Fail> {
    match haystack {
        Value::Str(h) => match needle {
            Value::Str(n) => Ok(h.contains(n.as_str())),
            other => runtime(format!(
                "'in <string>' requires string as left operand, not {}",
                other.type_name()
            )),
        },
        Value::Environ => match needle {
            Value::Str(n) => Ok(crate::env::var(n).is_some()),
            other => runtime(format!("str expected, not {}", other.type_name())),
        },
        other => match other.items() {
            Some(items) => Ok(items.iter().any(|i| py_eq(i, needle))),
            None => runtime(format!(
                "argument of type '{}' is not iterable",
                other.type_name()
            )),
        },
    }
}

pub(super) fn py_is(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::None, Value::None) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Int(x), Value::Int(y)) => x == y && (-5..=256).contains(x),
        (Value::Str(x), Value::Str(y)) => x == y,
        (Value::Module(x), Value::Module(y)) => x == y,
        (Value::Environ, Value::Environ) | (Value::Implementation, Value::Implementation) => true,
        _ => false,
    }
}

/// Python's slice indices for a sequence of `len` items.
pub(super) fn slice_indices(
    len: usize,
    start: Option<i64>,
    stop: Option<i64>,
    step: Option<i64>,
) -> Result<Vec<usize>, Fail> {
    let step = step.unwrap_or(1);
    if step == 0 {
        return runtime("slice step cannot be zero");
    }
    let len = i64::try_from(len).unwrap_or(i64::MAX);
    let clamp = |v: i64, low: i64, high: i64| {
        let v = if v < 0 { v.saturating_add(len) } else { v };
        v.clamp(low, high)
    };
    let mut out = Vec::new();
    if step > 0 {
        let start = start.map_or(0, |s| clamp(s, 0, len));
        let stop = stop.map_or(len, |s| clamp(s, 0, len));
        let mut i = start;
        while i < stop {
            out.push(usize::try_from(i).unwrap_or(0));
            i = i.saturating_add(step);
        }
    } else {
        let start = start.map_or(len - 1, |s| clamp(s, -1, len - 1));
        let stop = stop.map_or(-1, |s| clamp(s, -1, len - 1));
        let mut i = start;
        while i > stop {
            out.push(usize::try_from(i).unwrap_or(0));
            i = i.saturating_add(step);
        }
    }
    Ok(out)
}
