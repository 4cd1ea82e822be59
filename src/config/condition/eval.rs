//! Evaluation of a condition's syntax tree with zc.buildout's globals
//! (`python3`, `linux`, `bits64`, ...), the builtins of the subset and the
//! string methods, with Python's semantics and error texts.

use super::*;

/// The Python globals zc.buildout's `_default_globals()` defines, besides
/// the modules.
pub(super) const MINOR_VERSIONS: [&str; 24] = [
    "24", "25", "26", "27", "30", "31", "32", "33", "34", "35", "36", "37", "38", "39", "310",
    "311", "312", "313", "314", "315", "316", "317", "318", "319",
];

/// Python builtins this evaluator implements.
const BUILTINS: [&str; 8] = ["len", "int", "str", "bool", "tuple", "list", "chr", "ord"];

/// Python builtins outside the subset: using them is "unsupported", not a
/// `NameError`, because zc.buildout would find them.
const OTHER_BUILTINS: [&str; 50] = [
    "abs",
    "all",
    "any",
    "ascii",
    "bin",
    "breakpoint",
    "bytearray",
    "bytes",
    "callable",
    "classmethod",
    "compile",
    "complex",
    "delattr",
    "dict",
    "dir",
    "divmod",
    "enumerate",
    "eval",
    "exec",
    "filter",
    "float",
    "format",
    "frozenset",
    "getattr",
    "globals",
    "hasattr",
    "hash",
    "help",
    "hex",
    "id",
    "input",
    "isinstance",
    "issubclass",
    "iter",
    "locals",
    "map",
    "max",
    "min",
    "next",
    "object",
    "oct",
    "open",
    "pow",
    "print",
    "range",
    "repr",
    "reversed",
    "round",
    "set",
    "__import__",
];

pub(super) struct Eval<'f> {
    pub(super) facts: &'f mut LazyFacts,
    pub(super) depth: usize,
}

impl Eval<'_> {
    pub(super) fn facts(&mut self) -> Result<&Facts, Fail> {
        self.facts.get().map_err(|e| Fail::Runtime(e.to_string()))
    }

    pub(super) fn eval(&mut self, expr: &Expr) -> Result<Value, Fail> {
        self.depth += 1;
        if self.depth > 4 * MAX_DEPTH {
            return Err(Fail::Syntax("expression is nested too deeply".into()));
        }
        let result = self.eval_inner(expr);
        self.depth -= 1;
        result
    }

    fn eval_inner(&mut self, expr: &Expr) -> Result<Value, Fail> {
        Ok(match expr {
            Expr::Const(v) => v.clone(),
            Expr::Name(name) => self.global(name)?,
            Expr::Tuple(items) => Value::Tuple(self.eval_all(items)?),
            Expr::List(items) => Value::List(self.eval_all(items)?),
            Expr::Attr(target, name) => {
                let target = self.eval(target)?;
                self.attribute(target, name)?
            }
            Expr::Call(target, args) => {
                let target = self.eval(target)?;
                let args = self.eval_all(args)?;
                self.call(target, args)?
            }
            Expr::Index(target, index) => {
                let target = self.eval(target)?;
                let index = self.eval(index)?;
                self.subscript(target, index)?
            }
            Expr::Slice(target, parts) => {
                let target = self.eval(target)?;
                let bounds = self.slice_bounds(parts)?;
                slice(target, bounds)?
            }
            Expr::Not(inner) => Value::Bool(!self.eval(inner)?.truthy()),
            Expr::Neg(inner) => negate(self.eval(inner)?)?,
            Expr::Pos(inner) => positive(self.eval(inner)?)?,
            Expr::And(items) => {
                let mut last = Value::Bool(true);
                for item in items {
                    last = self.eval(item)?;
                    if !last.truthy() {
                        break;
                    }
                }
                last
            }
            Expr::Or(items) => {
                let mut last = Value::Bool(false);
                for item in items {
                    last = self.eval(item)?;
                    if last.truthy() {
                        break;
                    }
                }
                last
            }
            Expr::Compare(first, rest) => {
                let mut left = self.eval(first)?;
                for (op, right) in rest {
                    let right = self.eval(right)?;
                    if !compare(&left, *op, &right)? {
                        return Ok(Value::Bool(false));
                    }
                    left = right;
                }
                Value::Bool(true)
            }
            Expr::Binary(op, left, right) => {
                let left = self.eval(left)?;
                let right = self.eval(right)?;
                binary(*op, left, right)?
            }
            Expr::IfElse(cond, body, other) => {
                if self.eval(cond)?.truthy() {
                    self.eval(body)?
                } else {
                    self.eval(other)?
                }
            }
        })
    }

    /// The evaluated `start:stop:step` of a slice (`None` where omitted).
    fn slice_bounds(&mut self, parts: &[Option<Box<Expr>>; 3]) -> Result<[Option<i64>; 3], Fail> {
        let mut bounds = [None, None, None];
        for (bound, part) in bounds.iter_mut().zip(parts) {
            let Some(part) = part else { continue };
            match self.eval(part)? {
                Value::None => {}
                v => match v.int() {
                    Some(i) => *bound = Some(i),
                    None => {
                        return runtime(
                            "slice indices must be integers or None or have an __index__ method",
                        );
                    }
                },
            }
        }
        Ok(bounds)
    }

    fn eval_all(&mut self, items: &[Expr]) -> Result<Vec<Value>, Fail> {
        items.iter().map(|i| self.eval(i)).collect()
    }

    pub(super) fn global(&mut self, name: &str) -> Result<Value, Fail> {
        let bool_of = |b: bool| Ok(Value::Bool(b));
        match name {
            "sys" => return Ok(Value::Module(Module::Sys)),
            "os" => return Ok(Value::Module(Module::Os)),
            "platform" => return Ok(Value::Module(Module::Platform)),
            "re" => return Ok(Value::Module(Module::Re)),
            n if BUILTINS.contains(&n) => return Ok(Value::Func(n.to_string(), None)),
            n if OTHER_BUILTINS.contains(&n) => return unsupported(n),
            _ => {}
        }
        let known = matches!(
            name,
            "python2"
                | "python3"
                | "cpython"
                | "pypy"
                | "jython"
                | "ironpython"
                | "linux"
                | "windows"
                | "cygwin"
                | "solaris"
                | "macosx"
                | "posix"
                | "bits32"
                | "bits64"
                | "little_endian"
                | "big_endian"
        ) || name
            .strip_prefix("python")
            .is_some_and(|v| MINOR_VERSIONS.contains(&v));
        if !known {
            return runtime(format!("name '{name}' is not defined"));
        }
        let facts = self.facts()?;
        let tuple = &facts.python_version_tuple;
        let part = |i: usize| tuple.get(i).map_or("", String::as_str);
        let version = facts.version.to_lowercase();
        let pypy = version.contains("pypy");
        let jython = version.contains("java");
        let ironpython = version.contains("iron");
        let platform = facts.platform.to_lowercase();
        match name {
            "python2" => bool_of(part(0) == "2"),
            "python3" => bool_of(part(0) == "3"),
            "cpython" => bool_of(!(pypy || jython || ironpython)),
            "pypy" => bool_of(pypy),
            "jython" => bool_of(jython),
            "ironpython" => bool_of(ironpython),
            "linux" => bool_of(platform.contains("linux")),
            "windows" => bool_of(platform.contains("win32")),
            "cygwin" => bool_of(platform.contains("cygwin")),
            "solaris" => bool_of(platform.contains("sunos")),
            "macosx" => bool_of(platform.contains("darwin")),
            "posix" => bool_of(facts.os_name.to_lowercase().contains("posix")),
            "bits32" => bool_of(facts.pointer_bits == 32),
            "bits64" => bool_of(facts.pointer_bits == 64),
            "little_endian" => bool_of(facts.byteorder == "little"),
            "big_endian" => bool_of(facts.byteorder == "big"),
            _ => {
                let wanted = name.strip_prefix("python").unwrap_or_default();
                bool_of(format!("{}{}", part(0), part(1)) == wanted)
            }
        }
    }

    pub(super) fn attribute(&mut self, target: Value, name: &str) -> Result<Value, Fail> {
        let no_attr = |target: &Value| {
            let what = match target {
                Value::Module(m) => format!("module '{}'", m.name()),
                other => format!("'{}' object", other.type_name()),
            };
            runtime(format!("{what} has no attribute '{name}'"))
        };
        let method = |target: Value| Ok(Value::Func(name.to_string(), Some(Box::new(target))));
        match &target {
            Value::Module(Module::Sys) => {
                let facts = match name {
                    "platform" | "version" | "version_info" | "maxsize" | "byteorder"
                    | "executable" | "prefix" | "base_prefix" | "path" => self.facts()?,
                    "implementation" => return Ok(Value::Implementation),
                    other => return unsupported(format!("sys.{other}")),
                };
                Ok(match name {
                    "platform" => Value::Str(facts.platform.clone()),
                    "version" => Value::Str(facts.version.clone()),
                    "version_info" => {
                        let vi = &facts.version_info;
                        Value::VersionInfo(vec![
                            Value::Int(i64::from(vi.major)),
                            Value::Int(i64::from(vi.minor)),
                            Value::Int(i64::from(vi.micro)),
                            Value::Str(vi.releaselevel.clone()),
                            Value::Int(i64::from(vi.serial)),
                        ])
                    }
                    "maxsize" => Value::Int(facts.maxsize),
                    "byteorder" => Value::Str(facts.byteorder.clone()),
                    "executable" => Value::Str(facts.executable.clone()),
                    "prefix" => Value::Str(facts.prefix.clone()),
                    "base_prefix" => Value::Str(facts.base_prefix.clone()),
                    _ => Value::List(facts.sys_path.iter().cloned().map(Value::Str).collect()),
                })
            }
            Value::Module(Module::Os) => match name {
                "name" => Ok(Value::Str(self.facts()?.os_name.clone())),
                "sep" => Ok(Value::Str(std::path::MAIN_SEPARATOR.to_string())),
                "pathsep" => Ok(Value::Str(
                    if cfg!(windows) { ";" } else { ":" }.to_string(),
                )),
                "linesep" => Ok(Value::Str(
                    if cfg!(windows) { "\r\n" } else { "\n" }.to_string(),
                )),
                "environ" => Ok(Value::Environ),
                "getenv" => Ok(Value::Func("os.getenv".into(), None)),
                other => unsupported(format!("os.{other}")),
            },
            Value::Module(Module::Platform) => match name {
                "machine"
                | "system"
                | "release"
                | "version"
                | "python_version"
                | "python_implementation"
                | "python_version_tuple" => Ok(Value::Func(format!("platform.{name}"), None)),
                other => unsupported(format!("platform.{other}")),
            },
            Value::Module(Module::Re) => {
                runtime(format!("re.{name} is not supported in conditions"))
            }
            Value::VersionInfo(items) => {
                let index = match name {
                    "major" => 0,
                    "minor" => 1,
                    "micro" => 2,
                    "releaselevel" => 3,
                    "serial" => 4,
                    _ => return no_attr(&target),
                };
                Ok(items.get(index).cloned().unwrap_or(Value::None))
            }
            Value::Implementation => match name {
                "name" => Ok(Value::Str(self.facts()?.implementation_name.clone())),
                other => unsupported(format!("sys.implementation.{other}")),
            },
            Value::Environ => match name {
                "get" => method(target),
                other => unsupported(format!("os.environ.{other}")),
            },
            Value::Str(_) => match name {
                "startswith" | "endswith" | "lower" | "upper" | "strip" | "lstrip" | "rstrip"
                | "split" => method(target),
                other => unsupported(format!("str.{other}")),
            },
            _ => no_attr(&target),
        }
    }

    fn call(&mut self, target: Value, args: Vec<Value>) -> Result<Value, Fail> {
        let Value::Func(name, receiver) = target else {
            return runtime(format!("'{}' object is not callable", target.type_name()));
        };
        if let Some(receiver) = receiver {
            return call_method(*receiver, &name, args);
        }
        if name.starts_with("platform.") {
            check_arity(&name, &args, 0, 0)?;
            return self.call_platform(&name);
        }
        call_builtin(&name, args)
    }

    /// `platform.machine()` and the other `platform` functions, from the
    /// interpreter's facts.
    fn call_platform(&mut self, name: &str) -> Result<Value, Fail> {
        let facts = self.facts()?;
        Ok(match name {
            "platform.machine" => Value::Str(facts.machine().to_string()),
            "platform.system" => Value::Str(facts.system().to_string()),
            "platform.release" => Value::Str(facts.release().to_string()),
            "platform.version" => Value::Str(facts.markers.platform_version.clone()),
            "platform.python_version" => Value::Str(facts.platform_python_version().to_string()),
            "platform.python_implementation" => {
                Value::Str(facts.python_implementation().to_string())
            }
            "platform.python_version_tuple" => Value::Tuple(
                facts
                    .python_version_tuple
                    .iter()
                    .cloned()
                    .map(Value::Str)
                    .collect(),
            ),
            other => return unsupported(format!("{other}()")),
        })
    }

    pub(super) fn subscript(&mut self, target: Value, index: Value) -> Result<Value, Fail> {
        if let Value::Environ = target {
            return match &index {
                Value::Str(key) => match crate::env::var(key) {
                    Some(v) => Ok(Value::Str(v)),
                    None => runtime(format!(
                        "environment variable {} is not set (KeyError in os.environ)",
                        py_repr_str(key)
                    )),
                },
                other => runtime(format!("str expected, not {}", other.type_name())),
            };
        }
        let kind = match &target {
            Value::Str(_) => "string",
            Value::List(_) => "list",
            Value::Tuple(_) | Value::VersionInfo(_) => "tuple",
            other => {
                return runtime(format!(
                    "'{}' object is not subscriptable",
                    other.type_name()
                ));
            }
        };
        let Some(i) = index.int() else {
            return runtime(format!(
                "{} indices must be integers{}, not {}",
                if kind == "string" { "string" } else { kind },
                if kind == "string" { "" } else { " or slices" },
                index.type_name()
            ));
        };
        let out_of_range = || runtime(format!("{kind} index out of range"));
        match &target {
            Value::Str(s) => {
                let chars: Vec<char> = s.chars().collect();
                let at = resolve_index(i, chars.len())
                    .ok_or(())
                    .or_else(|()| out_of_range())?;
                Ok(Value::Str(chars[at].to_string()))
            }
            other => {
                let items = other.items().unwrap_or_default();
                let at = resolve_index(i, items.len())
                    .ok_or(())
                    .or_else(|()| out_of_range())?;
                Ok(items[at].clone())
            }
        }
    }
}

/// Python's `TypeError` for a call with the wrong number of arguments.
fn check_arity(name: &str, args: &[Value], min: usize, max: usize) -> Result<(), Fail> {
    if args.len() < min || args.len() > max {
        let expected = if min == max {
            format!("exactly {min}")
        } else {
            format!("{min} to {max}")
        };
        return runtime(format!(
            "{name}() takes {expected} arguments ({} given)",
            args.len()
        ));
    }
    Ok(())
}

/// A bound method: `os.environ.get(...)` or a string method.
fn call_method(receiver: Value, name: &str, args: Vec<Value>) -> Result<Value, Fail> {
    match receiver {
        Value::Environ => {
            check_arity(name, &args, 1, 2)?;
            env_get(&args)
        }
        Value::Str(s) => {
            match name {
                "startswith" | "endswith" => check_arity(name, &args, 1, 1),
                "lower" | "upper" => check_arity(name, &args, 0, 0),
                _ => check_arity(name, &args, 0, 1),
            }?;
            str_method(&s, name, args)
        }
        _ => unsupported(format!("{name}()")),
    }
}

/// The builtins of the subset (`len`, `int`, `str`, ...) and `os.getenv`.
fn call_builtin(name: &str, args: Vec<Value>) -> Result<Value, Fail> {
    match name {
        "len" => {
            check_arity(name, &args, 1, 1)?;
            py_len(&args[0])
        }
        "int" => {
            check_arity(name, &args, 0, 1)?;
            py_int(args.first())
        }
        "chr" => {
            check_arity(name, &args, 1, 1)?;
            let code = args[0].int().and_then(|i| u32::try_from(i).ok());
            match code.and_then(char::from_u32) {
                Some(c) => Ok(Value::Str(c.to_string())),
                None => runtime("chr() arg not in range(0x110000)".to_string()),
            }
        }
        "ord" => {
            check_arity(name, &args, 1, 1)?;
            match &args[0] {
                Value::Str(s) if s.chars().count() == 1 => Ok(Value::Int(i64::from(u32::from(
                    s.chars().next().unwrap_or('\0'),
                )))),
                other => runtime(format!(
                    "ord() expected a character, but got {}",
                    other.type_name()
                )),
            }
        }
        "str" => {
            check_arity(name, &args, 0, 1)?;
            Ok(Value::Str(args.first().map(Value::str).unwrap_or_default()))
        }
        "bool" => {
            check_arity(name, &args, 0, 1)?;
            Ok(Value::Bool(args.first().is_some_and(Value::truthy)))
        }
        "tuple" | "list" => {
            check_arity(name, &args, 0, 1)?;
            let items = py_items(args.first())?;
            Ok(if name == "tuple" {
                Value::Tuple(items)
            } else {
                Value::List(items)
            })
        }
        "os.getenv" => {
            check_arity(name, &args, 1, 2)?;
            env_get(&args)
        }
        other => unsupported(format!("{other}()")),
    }
}

/// `len(value)`.
fn py_len(value: &Value) -> Result<Value, Fail> {
    let n = match value {
        Value::Str(s) => s.chars().count(),
        Value::Environ => crate::env::vars().len(),
        other => match other.items() {
            Some(items) => items.len(),
            None => {
                return runtime(format!(
                    "object of type '{}' has no len()",
                    other.type_name()
                ));
            }
        },
    };
    Ok(Value::Int(i64::try_from(n).unwrap_or(i64::MAX)))
}

/// `int()` or `int(value)`.
fn py_int(value: Option<&Value>) -> Result<Value, Fail> {
    match value {
        None => Ok(Value::Int(0)),
        Some(Value::Float(f)) if f.is_finite() => {
            #[allow(clippy::cast_possible_truncation)]
            let i = f.trunc() as i64;
            Ok(Value::Int(i))
        }
        Some(Value::Str(s)) => {
            let text: String = s.trim().chars().filter(|c| *c != '_').collect();
            text.parse::<i64>().map(Value::Int).or_else(|_| {
                runtime(format!(
                    "invalid literal for int() with base 10: {}",
                    py_repr_str(s)
                ))
            })
        }
        Some(other) => match other.int() {
            Some(i) => Ok(Value::Int(i)),
            None => runtime(format!(
                "int() argument must be a string, a bytes-like object or a real number, not '{}'",
                other.type_name()
            )),
        },
    }
}

/// The items `tuple(value)`/`list(value)` iterate over.
fn py_items(value: Option<&Value>) -> Result<Vec<Value>, Fail> {
    Ok(match value {
        None => Vec::new(),
        Some(Value::Str(s)) => s.chars().map(|c| Value::Str(c.to_string())).collect(),
        Some(other) => match other.items() {
            Some(items) => items.to_vec(),
            None => {
                return runtime(format!("'{}' object is not iterable", other.type_name()));
            }
        },
    })
}

/// Unary `-value`.
fn negate(value: Value) -> Result<Value, Fail> {
    match value {
        Value::Float(f) => Ok(Value::Float(-f)),
        v => match v.int() {
            Some(i) => Ok(Value::Int(i.checked_neg().ok_or_else(overflow)?)),
            None => runtime(format!("bad operand type for unary -: '{}'", v.type_name())),
        },
    }
}

/// Unary `+value`.
fn positive(value: Value) -> Result<Value, Fail> {
    match value {
        Value::Float(f) => Ok(Value::Float(f)),
        v => match v.int() {
            Some(i) => Ok(Value::Int(i)),
            None => runtime(format!("bad operand type for unary +: '{}'", v.type_name())),
        },
    }
}

fn overflow() -> Fail {
    Fail::Runtime("integer overflow in condition".into())
}

fn resolve_index(i: i64, len: usize) -> Option<usize> {
    let len_i = i64::try_from(len).ok()?;
    let i = if i < 0 { i.checked_add(len_i)? } else { i };
    usize::try_from(i).ok().filter(|i| *i < len)
}

pub(super) fn slice(target: Value, [start, stop, step]: [Option<i64>; 3]) -> Result<Value, Fail> {
    match target {
        Value::Str(s) => {
            let chars: Vec<char> = s.chars().collect();
            let picked = slice_indices(chars.len(), start, stop, step)?;
            Ok(Value::Str(picked.into_iter().map(|i| chars[i]).collect()))
        }
        Value::Tuple(items) | Value::VersionInfo(items) => {
            let picked = slice_indices(items.len(), start, stop, step)?;
            Ok(Value::Tuple(
                picked.into_iter().map(|i| items[i].clone()).collect(),
            ))
        }
        Value::List(items) => {
            let picked = slice_indices(items.len(), start, stop, step)?;
            Ok(Value::List(
                picked.into_iter().map(|i| items[i].clone()).collect(),
            ))
        }
        other => runtime(format!(
            "'{}' object is not subscriptable",
            other.type_name()
        )),
    }
}

fn compare(left: &Value, op: CmpOp, right: &Value) -> Result<bool, Fail> {
    use std::cmp::Ordering::{Greater, Less};
    // Floats (NaN included) compare with IEEE semantics, as in Python.
    if matches!(op, CmpOp::Lt | CmpOp::Le | CmpOp::Gt | CmpOp::Ge)
        && (matches!(left, Value::Float(_)) || matches!(right, Value::Float(_)))
        && let (Some(x), Some(y)) = (left.number(), right.number())
    {
        return Ok(match op {
            CmpOp::Lt => x < y,
            CmpOp::Le => x <= y,
            CmpOp::Gt => x > y,
            _ => x >= y,
        });
    }
    Ok(match op {
        CmpOp::Eq => py_eq(left, right),
        CmpOp::Ne => !py_eq(left, right),
        CmpOp::In => py_in(left, right)?,
        CmpOp::NotIn => !py_in(left, right)?,
        CmpOp::Is => py_is(left, right),
        CmpOp::IsNot => !py_is(left, right),
        CmpOp::Lt => py_cmp(left, right, op)? == Less,
        CmpOp::Le => py_cmp(left, right, op)? != Greater,
        CmpOp::Gt => py_cmp(left, right, op)? == Greater,
        CmpOp::Ge => py_cmp(left, right, op)? != Less,
    })
}

fn binary(op: BinOp, left: Value, right: Value) -> Result<Value, Fail> {
    let symbol = match op {
        BinOp::Add => "+",
        BinOp::Sub => "-",
        BinOp::Mul => "*",
    };
    if let (Some(x), Some(y)) = (left.int(), right.int()) {
        let value = match op {
            BinOp::Add => x.checked_add(y),
            BinOp::Sub => x.checked_sub(y),
            BinOp::Mul => x.checked_mul(y),
        };
        return value.map(Value::Int).ok_or_else(overflow);
    }
    if let (Some(x), Some(y)) = (left.number(), right.number()) {
        return Ok(Value::Float(match op {
            BinOp::Add => x + y,
            BinOp::Sub => x - y,
            BinOp::Mul => x * y,
        }));
    }
    match (op, left, right) {
        (BinOp::Add, Value::Str(x), Value::Str(y)) => Ok(Value::Str(x + &y)),
        (BinOp::Add, Value::List(mut x), Value::List(y)) => {
            x.extend(y);
            Ok(Value::List(x))
        }
        (BinOp::Add, l @ (Value::Tuple(_) | Value::VersionInfo(_)), r) if r.is_tuple() => {
            let mut items = l.items().unwrap_or_default().to_vec();
            items.extend_from_slice(r.items().unwrap_or_default());
            Ok(Value::Tuple(items))
        }
        (_, l, r) => runtime(format!(
            "unsupported operand type(s) for {symbol}: '{}' and '{}'",
            l.type_name(),
            r.type_name()
        )),
    }
}

/// `os.environ.get(key[, default])` and `os.getenv(key[, default])`.
fn env_get(args: &[Value]) -> Result<Value, Fail> {
    let default = args.get(1).cloned().unwrap_or(Value::None);
    match &args[0] {
        Value::Str(key) => Ok(crate::env::var(key).map_or(default, Value::Str)),
        other => runtime(format!("str expected, not {}", other.type_name())),
    }
}

fn str_method(s: &str, name: &str, args: Vec<Value>) -> Result<Value, Fail> {
    let chars_arg = |args: &[Value]| -> Result<Option<Vec<char>>, Fail> {
        match args.first() {
            None | Some(Value::None) => Ok(None),
            Some(Value::Str(c)) => Ok(Some(c.chars().collect())),
            Some(other) => runtime(format!(
                "{name} arg must be None or str, not {}",
                other.type_name()
            )),
        }
    };
    Ok(match name {
        "startswith" | "endswith" => {
            let test = |p: &str| {
                if name == "startswith" {
                    s.starts_with(p)
                } else {
                    s.ends_with(p)
                }
            };
            let ok = match &args[0] {
                Value::Str(p) => test(p),
                Value::Tuple(items) => {
                    let mut any = false;
                    for item in items {
                        match item {
                            Value::Str(p) => any |= test(p),
                            other => {
                                return runtime(format!(
                                    "tuple for {name} must only contain str, not {}",
                                    other.type_name()
                                ));
                            }
                        }
                    }
                    any
                }
                other => {
                    return runtime(format!(
                        "{name} first arg must be str or a tuple of str, not {}",
                        other.type_name()
                    ));
                }
            };
            Value::Bool(ok)
        }
        "lower" => Value::Str(s.to_lowercase()),
        "upper" => Value::Str(s.to_uppercase()),
        "strip" | "lstrip" | "rstrip" => {
            let set = chars_arg(&args)?;
            let pred = |c: char| match &set {
                None => c.is_whitespace(),
                Some(set) => set.contains(&c),
            };
            Value::Str(
                match name {
                    "strip" => s.trim_matches(pred),
                    "lstrip" => s.trim_start_matches(pred),
                    _ => s.trim_end_matches(pred),
                }
                .to_string(),
            )
        }
        _ => {
            // split
            let parts: Vec<Value> = match chars_arg(&args)? {
                None => s.split_whitespace().map(|p| Value::Str(p.into())).collect(),
                Some(sep) if sep.is_empty() => return runtime("empty separator"),
                Some(sep) => {
                    let sep: String = sep.into_iter().collect();
                    s.split(sep.as_str())
                        .map(|p| Value::Str(p.into()))
                        .collect()
                }
            };
            Value::List(parts)
        }
    })
}
