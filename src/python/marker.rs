//! PEP 508 environment markers: parsing, display and evaluation.
//!
//! The grammar and the evaluation rules follow `packaging.markers` (26.x),
//! which is what zc.buildout uses for `[section:marker]` headers and what pip
//! uses for requirement markers:
//!
//! * variables may be written `os.name`, `sys.platform`, `platform.machine`,
//!   ...; `python_implementation` is an alias of
//!   `platform_python_implementation`;
//! * only spaces and tabs are whitespace; strings are `'...'` or `"..."`
//!   (Python escapes are decoded);
//! * for `python_version`, `python_full_version`, `implementation_version` and
//!   `platform_release`, the comparison is a PEP 440 specifier check when
//!   `<op><right side>` parses as a specifier (an unparsable left side is then
//!   simply not contained); otherwise, and for every other variable, `==`,
//!   `!=`, `in`, `not in` compare strings, `<=`/`>=` mean `==`, `<`/`>` are
//!   false and `~=`/`===` are an evaluation error;
//! * `extra` compares normalised names (PEP 685);
//! * a comparison needs a variable on one side; the other side's *text* is
//!   taken literally, exactly as packaging does (so `os_name == os_name`
//!   compares the value with the string `"os_name"`).
//!
//! [`Marker::try_evaluate`] reports comparisons packaging rejects;
//! [`Marker::evaluate`] treats them as false (what an installer wants).

use std::fmt;
use std::str::FromStr;

use pep440_rs::{Version, VersionSpecifier};
use serde::{Deserialize, Serialize};

/// The values of the PEP 508 marker variables for one interpreter.
///
/// Field names are the marker variable names, so the JSON printed by the
/// interpreter probe deserialises directly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarkerEnvironment {
    pub implementation_name: String,
    pub implementation_version: String,
    pub os_name: String,
    pub platform_machine: String,
    pub platform_python_implementation: String,
    pub platform_release: String,
    pub platform_system: String,
    pub platform_version: String,
    pub python_full_version: String,
    pub python_version: String,
    pub sys_platform: String,
}

impl MarkerEnvironment {
    /// The value of a marker variable (`None` for unknown names and `extra`).
    pub fn get(&self, name: &str) -> Option<&str> {
        Some(match name {
            "implementation_name" => &self.implementation_name,
            "implementation_version" => &self.implementation_version,
            "os_name" => &self.os_name,
            "platform_machine" => &self.platform_machine,
            "platform_python_implementation" => &self.platform_python_implementation,
            "platform_release" => &self.platform_release,
            "platform_system" => &self.platform_system,
            "platform_version" => &self.platform_version,
            "python_full_version" => &self.python_full_version,
            "python_version" => &self.python_version,
            "sys_platform" => &self.sys_platform,
            _ => return None,
        })
    }
}

/// Why a marker string could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid marker `{source_text}`: {message} at position {position}")]
pub struct ParseError {
    /// What was expected (lowercase, no position).
    pub message: String,
    /// Character offset (0-based) in the marker text where parsing failed.
    pub position: usize,
    /// The marker text.
    pub source_text: String,
}

/// A comparison packaging refuses to evaluate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvalError {
    #[error("undefined comparison `{lhs:?} {op} {rhs:?}`")]
    UndefinedComparison { lhs: String, op: Op, rhs: String },
    #[error("marker variable `{0}` is not defined in this environment")]
    UndefinedName(String),
}

/// A marker comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Compatible,
    Arbitrary,
    In,
    NotIn,
}

impl Op {
    fn as_str(self) -> &'static str {
        match self {
            Op::Eq => "==",
            Op::Ne => "!=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Compatible => "~=",
            Op::Arbitrary => "===",
            Op::In => "in",
            Op::NotIn => "not in",
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One side of a comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operand {
    /// A marker variable, by its canonical name (`os.name` → `os_name`).
    Variable(String),
    /// A quoted string, decoded.
    Value(String),
}

impl Operand {
    fn text(&self) -> &str {
        match self {
            Operand::Variable(s) | Operand::Value(s) => s,
        }
    }
}

impl fmt::Display for Operand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Operand::Variable(v) => f.write_str(v),
            Operand::Value(v) if v.contains('"') => write!(f, "'{v}'"),
            Operand::Value(v) => write!(f, "\"{v}\""),
        }
    }
}

/// A parsed marker expression tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MarkerTree {
    Compare(Operand, Op, Operand),
    And(Vec<MarkerTree>),
    Or(Vec<MarkerTree>),
}

/// A parsed PEP 508 marker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Marker {
    tree: MarkerTree,
}

impl Marker {
    /// The expression tree.
    pub fn tree(&self) -> &MarkerTree {
        &self.tree
    }

    /// Evaluates the marker; comparisons packaging rejects count as false.
    ///
    /// `extras` are the extras requested for the distribution whose
    /// requirement carries the marker (empty: `extra` is `""`).
    pub fn evaluate(&self, env: &MarkerEnvironment, extras: &[&str]) -> bool {
        let ctx = Context::new(env, extras);
        eval_lenient(&self.tree, &ctx)
    }

    /// Evaluates the marker like `packaging.markers.Marker.evaluate`,
    /// reporting what packaging raises for.
    ///
    /// Like packaging, every comparison is evaluated (no short circuit), so
    /// an undefined comparison anywhere is an error.
    pub fn try_evaluate(
        &self,
        env: &MarkerEnvironment,
        extras: &[&str],
    ) -> Result<bool, EvalError> {
        let ctx = Context::new(env, extras);
        eval_strict(&self.tree, &ctx)
    }
}

impl FromStr for Marker {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Parser::new(s).parse_full()
    }
}

impl fmt::Display for Marker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_tree(&self.tree, f, true)
    }
}

fn fmt_tree(tree: &MarkerTree, f: &mut fmt::Formatter<'_>, top: bool) -> fmt::Result {
    let (items, word) = match tree {
        MarkerTree::Compare(l, op, r) => return write!(f, "{l} {op} {r}"),
        MarkerTree::And(items) => (items, " and "),
        MarkerTree::Or(items) => (items, " or "),
    };
    if !top {
        f.write_str("(")?;
    }
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(word)?;
        }
        // `and` inside `or` needs no parentheses; anything else nested does.
        let bare = matches!(item, MarkerTree::Compare(..))
            || (matches!(tree, MarkerTree::Or(_)) && matches!(item, MarkerTree::And(_)));
        fmt_tree(item, f, bare)?;
    }
    if !top {
        f.write_str(")")?;
    }
    Ok(())
}

/// PEP 503 name normalisation, used for `extra` (PEP 685).
pub fn canonicalize_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut sep = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            sep = true;
        } else {
            if sep {
                out.push('-');
                sep = false;
            }
            out.extend(c.to_lowercase());
        }
    }
    if sep {
        out.push('-');
    }
    out
}

// ---------------------------------------------------------------------------
// Evaluation

/// The `extra` value: packaging uses a string for none or one extra and a set
/// for several.
enum Extra {
    One(String),
    Set(Vec<String>),
}

struct Context<'a> {
    env: &'a MarkerEnvironment,
    extra: Extra,
    /// `python_full_version`, repaired for local builds (`3.11.1+`).
    full_version: String,
}

impl<'a> Context<'a> {
    fn new(env: &'a MarkerEnvironment, extras: &[&str]) -> Self {
        let extra = match extras {
            [] => Extra::One(String::new()),
            [one] => Extra::One(canonicalize_name(one)),
            many => Extra::Set(many.iter().map(|e| canonicalize_name(e)).collect()),
        };
        let mut full_version = env.python_full_version.clone();
        if full_version.ends_with('+') {
            full_version.push_str("local");
        }
        Context {
            env,
            extra,
            full_version,
        }
    }

    fn lookup(&self, key: &str) -> Result<Lookup<'_>, EvalError> {
        match key {
            "extra" => Ok(match &self.extra {
                Extra::One(s) => Lookup::Str(s),
                Extra::Set(v) => Lookup::Set(v),
            }),
            "python_full_version" => Ok(Lookup::Str(&self.full_version)),
            _ => self
                .env
                .get(key)
                .map(Lookup::Str)
                .ok_or_else(|| EvalError::UndefinedName(key.to_string())),
        }
    }
}

enum Lookup<'a> {
    Str(&'a str),
    Set(&'a [String]),
}

fn eval_strict(tree: &MarkerTree, ctx: &Context<'_>) -> Result<bool, EvalError> {
    match tree {
        MarkerTree::Compare(l, op, r) => compare(l, *op, r, ctx),
        MarkerTree::And(items) => {
            let mut all = true;
            for item in items {
                all &= eval_strict(item, ctx)?;
            }
            Ok(all)
        }
        MarkerTree::Or(items) => {
            let mut any = false;
            for item in items {
                any |= eval_strict(item, ctx)?;
            }
            Ok(any)
        }
    }
}

fn eval_lenient(tree: &MarkerTree, ctx: &Context<'_>) -> bool {
    match tree {
        MarkerTree::Compare(l, op, r) => compare(l, *op, r, ctx).unwrap_or(false),
        MarkerTree::And(items) => items.iter().all(|i| eval_lenient(i, ctx)),
        MarkerTree::Or(items) => items.iter().any(|i| eval_lenient(i, ctx)),
    }
}

const VERSION_KEYS: [&str; 4] = [
    "implementation_version",
    "platform_release",
    "python_full_version",
    "python_version",
];

fn compare(l: &Operand, op: Op, r: &Operand, ctx: &Context<'_>) -> Result<bool, EvalError> {
    let (key, lhs, rhs): (&str, &str, &str) = match l {
        Operand::Variable(key) => match ctx.lookup(key)? {
            Lookup::Str(v) => (key, v, r.text()),
            Lookup::Set(set) => return extra_set(set, op, r.text()),
        },
        Operand::Value(lit) => {
            let key = r.text();
            match ctx.lookup(key)? {
                Lookup::Str(v) => (key, lit, v),
                Lookup::Set(set) => return extra_set(set, op, lit),
            }
        }
    };
    if VERSION_KEYS.contains(&key)
        && let Some(result) = version_compare(lhs, op, rhs)
    {
        return Ok(result);
    }
    Ok(match op {
        Op::In => rhs.contains(lhs),
        Op::NotIn => !rhs.contains(lhs),
        Op::Lt | Op::Gt => false,
        Op::Le | Op::Eq | Op::Ge => lhs == rhs,
        Op::Ne => lhs != rhs,
        Op::Compatible | Op::Arbitrary => {
            return Err(EvalError::UndefinedComparison {
                lhs: lhs.to_string(),
                op,
                rhs: rhs.to_string(),
            });
        }
    })
}

fn extra_set(set: &[String], op: Op, literal: &str) -> Result<bool, EvalError> {
    match op {
        Op::Eq => Ok(set.iter().any(|e| e == literal)),
        Op::Ne => Ok(!set.iter().any(|e| e == literal)),
        _ => Err(EvalError::UndefinedComparison {
            lhs: set.join(","),
            op,
            rhs: literal.to_string(),
        }),
    }
}

/// `Specifier(op + rhs).contains(lhs, prereleases=True)`; `None` when the
/// specifier does not parse (string comparison applies then).
fn version_compare(lhs: &str, op: Op, rhs: &str) -> Option<bool> {
    let op_text = match op {
        Op::In | Op::NotIn => return None,
        other => other.as_str(),
    };
    if op == Op::Arbitrary {
        // `===` accepts any text without whitespace, `;` or `)` and compares
        // case-insensitively with the raw candidate.
        let spec = rhs.trim_matches(|c: char| c.is_whitespace());
        if spec.is_empty() || spec.contains(|c: char| c.is_whitespace() || c == ';' || c == ')') {
            return None;
        }
        return Some(lhs.to_lowercase() == spec.to_lowercase());
    }
    let specifier = VersionSpecifier::from_str(&format!("{op_text}{rhs}")).ok()?;
    // An unparsable candidate is never contained.
    Some(
        Version::from_str(lhs.trim())
            .map(|v| specifier.contains(&v))
            .unwrap_or(false),
    )
}

// ---------------------------------------------------------------------------
// Parsing

/// Parenthesis nesting allowed (CPython's and packaging's limit).
const MAX_NESTING: usize = 200;

/// Marker variable spellings, as packaging's tokenizer accepts them.
const VARIABLES: [&str; 20] = [
    "python_version",
    "python_full_version",
    "os_name",
    "os.name",
    "sys_platform",
    "sys.platform",
    "platform_release",
    "platform_system",
    "platform_version",
    "platform.version",
    "platform_machine",
    "platform.machine",
    "platform_python_implementation",
    "platform.python_implementation",
    "python_implementation",
    "implementation_name",
    "implementation_version",
    "extras",
    "extra",
    "dependency_groups",
];

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

struct Parser<'s> {
    src: &'s str,
    /// Byte offset into `src`.
    pos: usize,
}

impl<'s> Parser<'s> {
    fn new(src: &'s str) -> Self {
        Parser { src, pos: 0 }
    }

    fn rest(&self) -> &'s str {
        &self.src[self.pos..]
    }

    fn error<T>(&self, message: impl Into<String>) -> Result<T, ParseError> {
        self.error_at(self.pos, message)
    }

    fn error_at<T>(&self, byte_pos: usize, message: impl Into<String>) -> Result<T, ParseError> {
        Err(ParseError {
            message: message.into(),
            position: self.src[..byte_pos].chars().count(),
            source_text: self.src.to_string(),
        })
    }

    fn skip_ws(&mut self) {
        let n = self.rest().len() - self.rest().trim_start_matches([' ', '\t']).len();
        self.pos += n;
    }

    /// `\b` at byte offset `at`.
    fn boundary(&self, at: usize) -> bool {
        let before = self.src[..at].chars().next_back().is_some_and(is_word);
        let after = self.src[at..].chars().next().is_some_and(is_word);
        before != after
    }

    /// Matches `\bword\b` and consumes it.
    fn keyword(&mut self, word: &str) -> bool {
        if self.rest().starts_with(word)
            && self.boundary(self.pos)
            && self.boundary(self.pos + word.len())
        {
            self.pos += word.len();
            true
        } else {
            false
        }
    }

    fn parse_full(mut self) -> Result<Marker, ParseError> {
        let tree = self.parse_marker(0)?;
        if !self.rest().is_empty() {
            return self.error("expected end of marker expression");
        }
        Ok(Marker { tree })
    }

    fn parse_marker(&mut self, depth: usize) -> Result<MarkerTree, ParseError> {
        // `and` binds tighter than `or`.
        let mut ors = Vec::new();
        let mut ands = vec![self.parse_atom(depth)?];
        loop {
            if self.keyword("and") {
                ands.push(self.parse_atom(depth)?);
            } else if self.keyword("or") {
                ors.push(collapse(std::mem::take(&mut ands), MarkerTree::And));
                ands.push(self.parse_atom(depth)?);
            } else {
                break;
            }
        }
        ors.push(collapse(ands, MarkerTree::And));
        Ok(collapse(ors, MarkerTree::Or))
    }

    fn parse_atom(&mut self, depth: usize) -> Result<MarkerTree, ParseError> {
        self.skip_ws();
        let tree = if self.rest().starts_with('(') {
            if depth >= MAX_NESTING {
                return self.error(format!(
                    "marker expression is nested more than {MAX_NESTING} levels deep"
                ));
            }
            let open = self.pos;
            self.pos += 1;
            let inner = self.parse_marker(depth + 1)?;
            if !self.rest().starts_with(')') {
                return self.error_at(
                    open,
                    "expected matching right parenthesis for left parenthesis, after marker expression",
                );
            }
            self.pos += 1;
            inner
        } else {
            self.parse_item()?
        };
        self.skip_ws();
        Ok(tree)
    }

    fn parse_item(&mut self) -> Result<MarkerTree, ParseError> {
        let mut left = self.parse_var()?;
        self.skip_ws();
        let op = self.parse_op()?;
        self.skip_ws();
        let mut right = self.parse_var()?;
        // packaging normalises the literal compared with `extra` (PEP 685)
        // and the member tested against `extras`/`dependency_groups`.
        match (&mut left, &mut right) {
            (Operand::Variable(var), Operand::Value(lit)) if var == "extra" => {
                *lit = canonicalize_name(lit);
            }
            (Operand::Value(lit), Operand::Variable(var))
                if matches!(var.as_str(), "extra" | "extras" | "dependency_groups") =>
            {
                *lit = canonicalize_name(lit);
            }
            _ => {}
        }
        Ok(MarkerTree::Compare(left, op, right))
    }

    fn parse_var(&mut self) -> Result<Operand, ParseError> {
        if self.boundary(self.pos) {
            for name in VARIABLES {
                if self.rest().starts_with(name) && self.boundary(self.pos + name.len()) {
                    self.pos += name.len();
                    let canonical = match name.replace('.', "_").as_str() {
                        "python_implementation" => "platform_python_implementation".to_string(),
                        other => other.to_string(),
                    };
                    return Ok(Operand::Variable(canonical));
                }
            }
        }
        let start = self.pos;
        if let Some(quote) = self
            .rest()
            .chars()
            .next()
            .filter(|c| matches!(c, '\'' | '"'))
            && let Some(len) = self.rest()[1..].find(quote)
        {
            let body = &self.rest()[1..1 + len];
            self.pos += len + 2;
            return match unescape_python(body, Some(quote)) {
                Ok(value) => Ok(Operand::Value(value)),
                Err(_) => self.error_at(start, "invalid quoted string"),
            };
        }
        self.error("expected a marker variable or quoted string")
    }

    fn parse_op(&mut self) -> Result<Op, ParseError> {
        if self.keyword("in") {
            return Ok(Op::In);
        }
        if self.keyword("not") {
            let before = self.pos;
            self.skip_ws();
            if self.pos == before {
                return self.error("expected whitespace after 'not'");
            }
            if !self.keyword("in") {
                return self.error("expected 'in' after 'not'");
            }
            return Ok(Op::NotIn);
        }
        for (text, op) in [
            ("===", Op::Arbitrary),
            ("==", Op::Eq),
            ("~=", Op::Compatible),
            ("!=", Op::Ne),
            ("<=", Op::Le),
            (">=", Op::Ge),
            ("<", Op::Lt),
            (">", Op::Gt),
        ] {
            if self.rest().starts_with(text) {
                self.pos += text.len();
                return Ok(op);
            }
        }
        self.error("expected marker operator, one of <=, <, !=, ==, >=, >, ~=, ===, in, not in")
    }
}

fn collapse(mut items: Vec<MarkerTree>, make: fn(Vec<MarkerTree>) -> MarkerTree) -> MarkerTree {
    if items.len() == 1 {
        items.pop().unwrap_or(MarkerTree::And(Vec::new()))
    } else {
        make(items)
    }
}

/// Decodes the body of a Python string literal (no prefix), as
/// `ast.literal_eval` would; `quote` is the delimiter of a one-line literal,
/// `None` for a triple-quoted one (raw newlines and quotes allowed).
///
/// Errors are lowercase descriptions (invalid `\x`, `\u`, `\N{...}`, a raw
/// newline, a lone surrogate...).
pub(crate) fn unescape_python(body: &str, quote: Option<char>) -> Result<String, String> {
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\n' | '\r' if quote.is_some() => {
                return Err("end of line in string literal".into());
            }
            '\\' => {}
            c if Some(c) == quote => return Err("unescaped quote in string literal".into()),
            c => {
                out.push(c);
                continue;
            }
        }
        let Some(e) = chars.next() else {
            return Err("string literal ends with a backslash".into());
        };
        match e {
            '\n' => {}
            '\\' => out.push('\\'),
            '\'' => out.push('\''),
            '"' => out.push('"'),
            'a' => out.push('\x07'),
            'b' => out.push('\x08'),
            'f' => out.push('\x0c'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            'v' => out.push('\x0b'),
            '0'..='7' => {
                let mut value = e.to_digit(8).unwrap_or(0);
                for _ in 0..2 {
                    match chars.peek().and_then(|c| c.to_digit(8)) {
                        Some(d) => {
                            value = value * 8 + d;
                            chars.next();
                        }
                        None => break,
                    }
                }
                out.push(char::from_u32(value).ok_or("invalid octal escape")?);
            }
            'x' | 'u' | 'U' => {
                let width = match e {
                    'x' => 2,
                    'u' => 4,
                    _ => 8,
                };
                let mut value = 0u32;
                for _ in 0..width {
                    let d = chars
                        .next()
                        .and_then(|c| c.to_digit(16))
                        .ok_or_else(|| format!("truncated \\{e} escape"))?;
                    value = value.wrapping_mul(16).wrapping_add(d);
                }
                out.push(char::from_u32(value).ok_or_else(|| format!("invalid \\{e} escape"))?);
            }
            'N' => return Err("\\N{...} escapes are not supported".into()),
            other => {
                // Python keeps unknown escapes verbatim.
                out.push('\\');
                out.push(other);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn linux_env() -> MarkerEnvironment {
        MarkerEnvironment {
            implementation_name: "cpython".into(),
            implementation_version: "3.11.7".into(),
            os_name: "posix".into(),
            platform_machine: "x86_64".into(),
            platform_python_implementation: "CPython".into(),
            platform_release: "6.18.44-fc-v769".into(),
            platform_system: "Linux".into(),
            platform_version: "#1 SMP PREEMPT_DYNAMIC @0".into(),
            python_full_version: "3.11.7".into(),
            python_version: "3.11".into(),
            sys_platform: "linux".into(),
        }
    }

    /// Expected values recorded from packaging 26.4 on CPython 3.11.7/Linux
    /// (`Marker(m).evaluate()`); `None` means packaging raised while
    /// evaluating.
    const TABLE: &[(&str, Option<bool>)] = &[
        (r#"platform_release >= "6""#, Some(false)),
        (r#"platform_release < "abc""#, Some(false)),
        (r#"python_version === "3.11""#, Some(true)),
        (r#"python_version === "3.11.0""#, Some(false)),
        (r#"python_full_version === "3.11.7x""#, Some(false)),
        (r#"os_name ~= "posix""#, None),
        (r#"os_name < "z""#, Some(false)),
        (r#"os_name <= "posix""#, Some(true)),
        (r#"python_version ~= "3""#, None),
        (r#"python_version in "3.10 3.11""#, Some(true)),
        (r#""3.8" <= python_version"#, Some(true)),
        (r#"sys.platform == "linux""#, Some(true)),
        (r#"os.name=="posix""#, Some(true)),
        (r#" python_version<"4"  "#, Some(true)),
        (
            r#"python_version < "3.12" and platform_system == "Linux" or os_name == "nt""#,
            Some(true),
        ),
        (r#"extra == "Foo_Bar""#, Some(false)),
        (r#"extras == "x""#, None),
        ("python_version < \"4\t\"", Some(true)),
        ("python_version == '3.11' and(os_name=='posix')", Some(true)),
        (r#"python_version=="3.11"and os_name=="posix""#, Some(true)),
        (r#"python_version >= "3.11.0a1""#, Some(true)),
        (r#"python_implementation == "CPython""#, Some(true)),
        (r#"platform_version != """#, Some(true)),
        (r#""a" == "a""#, None),
        ("os_name == os_name", Some(false)),
        (r#"python_version > "3.11""#, Some(false)),
        (r#"python_full_version > "3.11""#, Some(true)),
        (r#"python_version < "3.11.0""#, Some(false)),
        (r#"python_version == "3.11.*""#, Some(true)),
        (r#"python_version == "3.*""#, Some(true)),
        (r#"python_version != "3.11""#, Some(false)),
        (r#"python_version not in "2.7 3.5""#, Some(true)),
        (r#""linux" in sys_platform"#, Some(true)),
        (
            r#"platform_machine == "x86_64" and implementation_name == "cpython""#,
            Some(true),
        ),
        (
            r#"(os_name == "nt" or os_name == "posix") and python_version >= "3.8""#,
            Some(true),
        ),
        (
            r#"os_name == "nt" or (os_name == "posix" and python_version < "3.8")"#,
            Some(false),
        ),
        (r#"implementation_version >= "3.11.7""#, Some(true)),
        (r#"python_full_version < "3.11.8rc1""#, Some(true)),
        (r#"os_name == 'a\x23b'"#, Some(false)),
        (r#"python_version > "3.8" or os_name ~= "x""#, None),
    ];

    #[test]
    fn marker_table_matches_packaging() {
        let env = linux_env();
        for (text, expected) in TABLE {
            let marker: Marker = text
                .parse()
                .unwrap_or_else(|e| panic!("{text:?} should parse: {e}"));
            let got = marker.try_evaluate(&env, &[]).ok();
            assert_eq!(got, *expected, "{text}");
        }
    }

    #[test]
    fn invalid_markers_report_position() {
        for (text, pos) in [
            ("python_version < \"3.12\" or", 26),
            ("sys.platform.startswith(\"linux\")", 12),
            ("python3", 0),
            ("", 0),
            ("python_version", 14),
            ("python_version <", 16),
            ("(python_version < '3'", 0),
            ("os_name == 'x' andx", 15),
            ("os_name not  'x'", 13),
            ("os_name notin 'x'", 8),
            ("os_name == 'a\\'", 11),
            ("os_name == \"unterminated", 11),
            ("python_versionx == '3'", 0),
            ("os_name\n== 'x'", 7),
        ] {
            let err = text.parse::<Marker>().unwrap_err();
            assert_eq!(err.position, pos, "{text}: {err}");
        }
        let err = "python3".parse::<Marker>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid marker `python3`: expected a marker variable or quoted string at position 0"
        );
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let text = format!("{}os_name == 'posix'{}", "(".repeat(500), ")".repeat(500));
        assert!(text.parse::<Marker>().is_err());
        let ok = format!("{}os_name == 'posix'{}", "(".repeat(50), ")".repeat(50));
        assert!(ok.parse::<Marker>().unwrap().evaluate(&linux_env(), &[]));
    }

    #[test]
    fn extras_are_normalised() {
        let env = linux_env();
        let m: Marker = "extra == 'Foo_Bar'".parse().unwrap();
        assert!(m.evaluate(&env, &["foo.bar"]));
        assert!(!m.evaluate(&env, &[]));
        assert!(m.evaluate(&env, &["x", "FOO-bar"]));
        assert!(!m.evaluate(&env, &["x", "y"]));
        let m: Marker = "'foo' != extra".parse().unwrap();
        assert!(m.evaluate(&env, &["x", "y"]));
        assert!(!m.evaluate(&env, &["foo", "y"]));
        let m: Marker = "extra < 'a'".parse().unwrap();
        assert!(m.try_evaluate(&env, &["x", "y"]).is_err());
        assert!(!m.evaluate(&env, &["x", "y"]));
    }

    #[test]
    fn local_python_builds_compare_as_versions() {
        let mut env = linux_env();
        env.python_full_version = "3.11.1+".into();
        let m: Marker = "python_full_version >= '3.11'".parse().unwrap();
        assert!(m.evaluate(&env, &[]));
    }

    #[test]
    fn display_round_trips() {
        for text in [
            "python_version < \"3.12\" and os_name == \"posix\"",
            "os_name == \"nt\" or python_version < \"3\" and sys_platform == \"x\"",
            "(os_name == \"nt\" or os_name == \"posix\") and python_version >= \"3.8\"",
            "platform_python_implementation == 'a\"b'",
        ] {
            let m: Marker = text.parse().unwrap();
            let again: Marker = m.to_string().parse().unwrap();
            assert_eq!(m, again, "{text} -> {m}");
        }
        let m: Marker = "sys.platform=='linux' and(os.name=='posix')"
            .parse()
            .unwrap();
        assert_eq!(
            m.to_string(),
            "sys_platform == \"linux\" and os_name == \"posix\""
        );
    }

    #[test]
    fn unescape_decodes_python_escapes() {
        assert_eq!(unescape_python(r"a\x23b", Some('\'')).unwrap(), "a#b");
        assert_eq!(unescape_python(r"\t\n\\\'", Some('\'')).unwrap(), "\t\n\\'");
        assert_eq!(
            unescape_python(r"\101\u00e9\U0001F600", Some('\'')).unwrap(),
            "Aé😀"
        );
        assert_eq!(unescape_python(r"\d", Some('\'')).unwrap(), "\\d");
        assert!(unescape_python(r"\x2", Some('\'')).is_err());
        assert!(unescape_python(r"\ud800", Some('\'')).is_err());
        assert!(unescape_python("a\\", Some('\'')).is_err());
    }

    proptest::proptest! {
        #[test]
        fn parser_never_panics(s in "\\PC{0,60}") {
            let env = linux_env();
            if let Ok(m) = s.parse::<Marker>() {
                let _ = m.try_evaluate(&env, &[]);
                let _ = m.evaluate(&env, &["a", "b"]);
            }
        }

        #[test]
        fn marker_like_input_never_panics(
            s in "[ ()'\"a-z_.=<>!~0-9]{0,40}"
        ) {
            let env = linux_env();
            if let Ok(m) = s.parse::<Marker>() {
                let _ = m.try_evaluate(&env, &[]);
                let again = m.to_string().parse::<Marker>();
                proptest::prop_assert!(again.is_ok(), "{} -> {}", s, m);
            }
        }
    }
}
