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

use crate::python::{Facts, LazyFacts, Marker};

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

// ---------------------------------------------------------------------------
// Tokens

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Name(String),
    Int(i64),
    Float(f64),
    Str(String),
    Op(&'static str),
    End,
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    /// Byte offset in the source.
    pos: usize,
}

const OPERATORS: [&str; 41] = [
    "**=", "//=", ">>=", "<<=", "...", "**", "//", "==", "!=", "<=", ">=", "<>", "->", ":=", "<<",
    ">>", "+=", "-=", "*=", "/=", "(", ")", "[", "]", "{", "}", ",", ":", ".", "+", "-", "*", "/",
    "%", "<", ">", "~", "&", "|", "^", "@",
];

fn tokenize(src: &str) -> Result<Vec<Token>, Fail> {
    let mut tokens = Vec::new();
    let mut pos = 0;
    while pos < src.len() {
        let rest = &src[pos..];
        let Some(c) = rest.chars().next() else { break };
        if matches!(c, ' ' | '\t' | '\x0c' | '\n' | '\r') {
            pos += c.len_utf8();
            continue;
        }
        if c == '#' {
            pos += rest.find('\n').unwrap_or(rest.len());
            continue;
        }
        if c == '\\' && (rest[1..].starts_with('\n') || rest[1..].starts_with("\r\n")) {
            pos += if rest[1..].starts_with('\n') { 2 } else { 3 };
            continue;
        }
        if c.is_alphabetic() || c == '_' {
            let len = rest
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            let word = &rest[..len];
            if word.len() <= 2
                && word.chars().all(|c| "rRbBuUfF".contains(c))
                && rest[len..].starts_with(['\'', '"'])
            {
                let (value, used) = string_literal(src, pos + len, word)?;
                tokens.push(Token {
                    tok: Tok::Str(value),
                    pos,
                });
                pos += len + used;
                continue;
            }
            tokens.push(Token {
                tok: Tok::Name(word.to_string()),
                pos,
            });
            pos += len;
            continue;
        }
        if c == '\'' || c == '"' {
            let (value, used) = string_literal(src, pos, "")?;
            tokens.push(Token {
                tok: Tok::Str(value),
                pos,
            });
            pos += used;
            continue;
        }
        if c.is_ascii_digit() || (c == '.' && rest[1..].starts_with(|c: char| c.is_ascii_digit())) {
            let (tok, used) = number(rest).map_err(|m| Fail::Syntax(format!("{m} at {pos}")))?;
            tokens.push(Token { tok, pos });
            pos += used;
            continue;
        }
        if let Some(op) = OPERATORS.iter().find(|op| rest.starts_with(**op)) {
            tokens.push(Token {
                tok: Tok::Op(op),
                pos,
            });
            pos += op.len();
            continue;
        }
        if c == '=' || c == '!' {
            tokens.push(Token {
                tok: Tok::Op(if c == '=' { "=" } else { "!" }),
                pos,
            });
            pos += 1;
            continue;
        }
        return Err(Fail::Syntax(format!("invalid character {c:?}")));
    }
    tokens.push(Token { tok: Tok::End, pos });
    Ok(tokens)
}

/// Scans a string literal starting with its quote at `start`; returns the
/// value and the bytes used (prefix not included).
fn string_literal(src: &str, start: usize, prefix: &str) -> Result<(String, usize), Fail> {
    let lower = prefix.to_ascii_lowercase();
    if lower.contains('b') {
        return unsupported(format!("{prefix}'...' (bytes)"));
    }
    if lower.contains('f') {
        return unsupported(format!("{prefix}'...' (f-string)"));
    }
    let raw = lower.contains('r');
    let rest = &src[start..];
    let quote = rest.chars().next().unwrap_or('\'');
    let triple: String = std::iter::repeat_n(quote, 3).collect();
    let (open, close): (usize, &str) = if rest.starts_with(&triple) {
        (3, &triple)
    } else {
        (1, &rest[..1])
    };
    let body_start = open;
    let mut i = body_start;
    let unterminated = || {
        Err(Fail::Syntax(format!(
            "unterminated string literal at position {}",
            start.saturating_sub(1)
        )))
    };
    loop {
        let Some(c) = rest[i..].chars().next() else {
            return unterminated();
        };
        if c == '\\' {
            i += 1;
            if let Some(next) = rest[i..].chars().next() {
                i += next.len_utf8();
            }
            continue;
        }
        if open == 1 && (c == '\n' || c == '\r') {
            return unterminated();
        }
        if rest[i..].starts_with(close) {
            break;
        }
        i += c.len_utf8();
    }
    let body = &rest[body_start..i];
    let value = if raw {
        body.to_string()
    } else {
        let q = (open == 1).then_some(quote);
        crate::python::marker::unescape_python(body, q).map_err(Fail::Syntax)?
    };
    Ok((value, i + close.len()))
}

fn number(rest: &str) -> Result<(Tok, usize), String> {
    let lower = rest.to_ascii_lowercase();
    for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] {
        if lower.starts_with(prefix) {
            let len = 2 + lower[2..]
                .find(|c: char| !(c.is_digit(radix) || c == '_'))
                .unwrap_or(lower.len() - 2);
            let digits: String = lower[2..len].chars().filter(|c| *c != '_').collect();
            let value = i64::from_str_radix(&digits, radix)
                .map_err(|_| "invalid or too large integer literal".to_string())?;
            return Ok((Tok::Int(value), len));
        }
    }
    let mut len = 0;
    let mut float = false;
    let b = lower.as_bytes();
    while len < b.len() && (b[len].is_ascii_digit() || b[len] == b'_') {
        len += 1;
    }
    if len < b.len() && b[len] == b'.' {
        float = true;
        len += 1;
        while len < b.len() && (b[len].is_ascii_digit() || b[len] == b'_') {
            len += 1;
        }
    }
    if len < b.len() && b[len] == b'e' {
        let mut j = len + 1;
        if j < b.len() && (b[j] == b'+' || b[j] == b'-') {
            j += 1;
        }
        if j < b.len() && b[j].is_ascii_digit() {
            float = true;
            len = j;
            while len < b.len() && (b[len].is_ascii_digit() || b[len] == b'_') {
                len += 1;
            }
        }
    }
    if len < b.len() && b[len] == b'j' {
        return Err("complex literals are not supported".into());
    }
    let text: String = lower[..len].chars().filter(|c| *c != '_').collect();
    if float {
        let value: f64 = text
            .parse()
            .map_err(|_| "invalid float literal".to_string())?;
        Ok((Tok::Float(value), len))
    } else {
        if text.len() > 1 && text.starts_with('0') && text.chars().any(|c| c != '0') {
            return Err("leading zeros in decimal integer literals are not permitted".into());
        }
        let value: i64 = text
            .parse()
            .map_err(|_| "integer literal too large".to_string())?;
        Ok((Tok::Int(value), len))
    }
}

// ---------------------------------------------------------------------------
// Syntax tree

#[derive(Debug, Clone, Copy, PartialEq)]
enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
    NotIn,
    Is,
    IsNot,
}

impl CmpOp {
    fn symbol(self) -> &'static str {
        match self {
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
            CmpOp::In => "in",
            CmpOp::NotIn => "not in",
            CmpOp::Is => "is",
            CmpOp::IsNot => "is not",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum BinOp {
    Add,
    Sub,
    Mul,
}

#[derive(Debug)]
enum Expr {
    Name(String),
    Const(Value),
    Tuple(Vec<Expr>),
    List(Vec<Expr>),
    Attr(Box<Expr>, String),
    Call(Box<Expr>, Vec<Expr>),
    Index(Box<Expr>, Box<Expr>),
    Slice(Box<Expr>, [Option<Box<Expr>>; 3]),
    Not(Box<Expr>),
    Neg(Box<Expr>),
    Pos(Box<Expr>),
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Compare(Box<Expr>, Vec<(CmpOp, Expr)>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    IfElse(Box<Expr>, Box<Expr>, Box<Expr>),
}

const KEYWORDS: [&str; 35] = [
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue",
    "def", "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import",
    "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while",
    "with", "yield",
];

struct Parser<'s> {
    src: &'s str,
    expr: &'s str,
    tokens: Vec<Token>,
    at: usize,
    depth: usize,
}

impl<'s> Parser<'s> {
    fn new(src: &'s str, expr: &'s str) -> Self {
        Parser {
            src,
            expr,
            tokens: Vec::new(),
            at: 0,
            depth: 0,
        }
    }

    fn peek(&self) -> &Tok {
        &self.tokens[self.at.min(self.tokens.len() - 1)].tok
    }

    fn peek2(&self) -> &Tok {
        &self.tokens[(self.at + 1).min(self.tokens.len() - 1)].tok
    }

    fn next(&mut self) -> Tok {
        let tok = self.peek().clone();
        if self.at < self.tokens.len() - 1 {
            self.at += 1;
        }
        tok
    }

    fn is_op(&self, op: &str) -> bool {
        matches!(self.peek(), Tok::Op(o) if *o == op)
    }

    fn is_name(&self, name: &str) -> bool {
        matches!(self.peek(), Tok::Name(n) if n == name)
    }

    fn eat_op(&mut self, op: &str) -> bool {
        let yes = self.is_op(op);
        if yes {
            self.next();
        }
        yes
    }

    fn eat_name(&mut self, name: &str) -> bool {
        let yes = self.is_name(name);
        if yes {
            self.next();
        }
        yes
    }

    fn syntax<T>(&self) -> Result<T, Fail> {
        let pos = self.tokens[self.at.min(self.tokens.len() - 1)].pos;
        // Positions count from the start of the expression (after `[`).
        let column = self.src[..pos.min(self.src.len())]
            .chars()
            .count()
            .saturating_sub(1);
        let column = column.min(self.expr.chars().count());
        Err(Fail::Syntax(format!("invalid syntax at position {column}")))
    }

    fn expect_op(&mut self, op: &str) -> Result<(), Fail> {
        if self.eat_op(op) {
            Ok(())
        } else {
            self.syntax()
        }
    }

    fn enter(&mut self) -> Result<(), Fail> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(Fail::Syntax("expression is nested too deeply".into()));
        }
        Ok(())
    }

    fn parse_source(mut self) -> Result<Expr, Fail> {
        self.tokens = tokenize(self.src)?;
        let expr = self.parse_tuple_or_test()?;
        if *self.peek() != Tok::End {
            return self.syntax();
        }
        Ok(expr)
    }

    /// `test (',' test)* [',']` — a bare tuple when there is a comma.
    fn parse_tuple_or_test(&mut self) -> Result<Expr, Fail> {
        let first = self.parse_test()?;
        if !self.is_op(",") {
            return Ok(first);
        }
        let mut items = vec![first];
        while self.eat_op(",") {
            if self.starts_test() {
                items.push(self.parse_test()?);
            } else {
                break;
            }
        }
        Ok(Expr::Tuple(items))
    }

    fn starts_test(&self) -> bool {
        match self.peek() {
            Tok::End => false,
            Tok::Op(op) => matches!(*op, "(" | "[" | "{" | "-" | "+" | "~" | "*" | "..."),
            Tok::Name(n) => {
                !KEYWORDS.contains(&n.as_str())
                    || matches!(n.as_str(), "not" | "None" | "True" | "False" | "lambda")
            }
            _ => true,
        }
    }

    fn parse_test(&mut self) -> Result<Expr, Fail> {
        self.enter()?;
        if self.is_name("lambda") {
            return unsupported("lambda");
        }
        if self.is_name("yield") || self.is_name("await") {
            return unsupported(self.peek_name());
        }
        let body = self.parse_or()?;
        let result = if self.eat_name("if") {
            let cond = self.parse_or()?;
            if !self.eat_name("else") {
                return self.syntax();
            }
            let other = self.parse_test()?;
            Expr::IfElse(Box::new(cond), Box::new(body), Box::new(other))
        } else {
            body
        };
        if self.is_op(":=") {
            return unsupported(":=");
        }
        self.depth -= 1;
        Ok(result)
    }

    fn peek_name(&self) -> String {
        match self.peek() {
            Tok::Name(n) => n.clone(),
            _ => String::new(),
        }
    }

    fn parse_or(&mut self) -> Result<Expr, Fail> {
        let mut items = vec![self.parse_and()?];
        while self.eat_name("or") {
            items.push(self.parse_and()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Expr::Or(items)
        })
    }

    fn parse_and(&mut self) -> Result<Expr, Fail> {
        let mut items = vec![self.parse_not()?];
        while self.eat_name("and") {
            items.push(self.parse_not()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Expr::And(items)
        })
    }

    fn parse_not(&mut self) -> Result<Expr, Fail> {
        if self.eat_name("not") {
            self.enter()?;
            let inner = self.parse_not()?;
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(inner)));
        }
        self.parse_comparison()
    }

    fn parse_comparison(&mut self) -> Result<Expr, Fail> {
        let left = self.parse_arith()?;
        let mut rest = Vec::new();
        loop {
            let op = match self.peek() {
                Tok::Op("==") => CmpOp::Eq,
                Tok::Op("!=") => CmpOp::Ne,
                Tok::Op("<") => CmpOp::Lt,
                Tok::Op("<=") => CmpOp::Le,
                Tok::Op(">") => CmpOp::Gt,
                Tok::Op(">=") => CmpOp::Ge,
                Tok::Name(n) if n == "in" => CmpOp::In,
                Tok::Name(n) if n == "is" => {
                    if matches!(self.peek2(), Tok::Name(m) if m == "not") {
                        self.next();
                        CmpOp::IsNot
                    } else {
                        CmpOp::Is
                    }
                }
                Tok::Name(n) if n == "not" && matches!(self.peek2(), Tok::Name(m) if m == "in") => {
                    self.next();
                    CmpOp::NotIn
                }
                _ => break,
            };
            self.next();
            rest.push((op, self.parse_arith()?));
        }
        Ok(if rest.is_empty() {
            left
        } else {
            Expr::Compare(Box::new(left), rest)
        })
    }

    fn parse_arith(&mut self) -> Result<Expr, Fail> {
        let mut left = self.parse_term()?;
        loop {
            let op = if self.eat_op("+") {
                BinOp::Add
            } else if self.eat_op("-") {
                BinOp::Sub
            } else {
                break;
            };
            let right = self.parse_term()?;
            left = Expr::Binary(op, Box::new(left), Box::new(right));
            self.enter()?;
        }
        Ok(left)
    }

    fn parse_term(&mut self) -> Result<Expr, Fail> {
        let mut left = self.parse_factor()?;
        loop {
            if self.eat_op("*") {
                let right = self.parse_factor()?;
                left = Expr::Binary(BinOp::Mul, Box::new(left), Box::new(right));
                self.enter()?;
            } else if let Tok::Op(op @ ("/" | "//" | "%" | "@" | "<<" | ">>" | "&" | "|" | "^")) =
                self.peek()
            {
                return unsupported(format!("operator {op}"));
            } else {
                break;
            }
        }
        Ok(left)
    }

    fn parse_factor(&mut self) -> Result<Expr, Fail> {
        if self.is_op("-") || self.is_op("+") {
            let neg = self.is_op("-");
            self.next();
            self.enter()?;
            let inner = self.parse_factor()?;
            self.depth -= 1;
            return Ok(if neg {
                Expr::Neg(Box::new(inner))
            } else {
                Expr::Pos(Box::new(inner))
            });
        }
        if self.is_op("~") {
            return unsupported("operator ~");
        }
        let primary = self.parse_primary()?;
        if self.is_op("**") {
            return unsupported("operator **");
        }
        Ok(primary)
    }

    fn parse_primary(&mut self) -> Result<Expr, Fail> {
        let saved = self.depth;
        let mut expr = self.parse_atom()?;
        loop {
            if self.eat_op(".") {
                let Tok::Name(name) = self.next() else {
                    return self.syntax();
                };
                expr = Expr::Attr(Box::new(expr), name);
            } else if self.eat_op("(") {
                let args = self.parse_call_args()?;
                expr = Expr::Call(Box::new(expr), args);
            } else if self.eat_op("[") {
                expr = self.parse_subscript(expr)?;
            } else {
                break;
            }
            self.enter()?;
        }
        self.depth = saved;
        Ok(expr)
    }

    fn parse_call_args(&mut self) -> Result<Vec<Expr>, Fail> {
        let mut args = Vec::new();
        while !self.eat_op(")") {
            if self.is_op("*") || self.is_op("**") {
                return unsupported("*args in calls");
            }
            if matches!(self.peek(), Tok::Name(_)) && matches!(self.peek2(), Tok::Op("=")) {
                return unsupported("keyword arguments");
            }
            args.push(self.parse_test()?);
            if self.is_name("for") {
                return unsupported("comprehension");
            }
            if !self.eat_op(",") {
                self.expect_op(")")?;
                break;
            }
        }
        Ok(args)
    }

    fn parse_subscript(&mut self, target: Expr) -> Result<Expr, Fail> {
        let mut parts: [Option<Box<Expr>>; 3] = [None, None, None];
        let mut colons = 0;
        loop {
            if self.is_op(":") {
                colons += 1;
                if colons > 2 {
                    return self.syntax();
                }
                self.next();
                continue;
            }
            if self.is_op("]") {
                break;
            }
            if parts[colons].is_some() {
                return self.syntax();
            }
            parts[colons] = Some(Box::new(self.parse_test()?));
            if self.is_op(",") {
                return unsupported("tuple subscripts");
            }
        }
        self.expect_op("]")?;
        if colons == 0 {
            match parts[0].take() {
                Some(index) => Ok(Expr::Index(Box::new(target), index)),
                None => self.syntax(),
            }
        } else {
            Ok(Expr::Slice(Box::new(target), parts))
        }
    }

    fn parse_display(&mut self, close: &str) -> Result<(Vec<Expr>, bool), Fail> {
        let mut items = Vec::new();
        let mut comma = false;
        while !self.eat_op(close) {
            if self.is_op("*") {
                return unsupported("*unpacking");
            }
            items.push(self.parse_test()?);
            if self.is_name("for") || self.is_name("async") {
                return unsupported("comprehension");
            }
            if self.eat_op(",") {
                comma = true;
            } else {
                self.expect_op(close)?;
                break;
            }
        }
        Ok((items, comma))
    }

    fn parse_atom(&mut self) -> Result<Expr, Fail> {
        self.enter()?;
        let expr = match self.next() {
            Tok::Int(i) => Expr::Const(Value::Int(i)),
            Tok::Float(f) => Expr::Const(Value::Float(f)),
            Tok::Str(mut s) => {
                while let Tok::Str(more) = self.peek() {
                    s.push_str(more);
                    self.next();
                }
                Expr::Const(Value::Str(s))
            }
            Tok::Name(name) => match name.as_str() {
                "True" => Expr::Const(Value::Bool(true)),
                "False" => Expr::Const(Value::Bool(false)),
                "None" => Expr::Const(Value::None),
                "lambda" | "yield" | "await" => return unsupported(name),
                n if KEYWORDS.contains(&n) => {
                    self.at -= 1;
                    return self.syntax();
                }
                _ => Expr::Name(name),
            },
            Tok::Op("(") => {
                let (mut items, comma) = self.parse_display(")")?;
                if items.len() == 1 && !comma {
                    items.remove(0)
                } else {
                    Expr::Tuple(items)
                }
            }
            Tok::Op("[") => Expr::List(self.parse_display("]")?.0),
            Tok::Op("{") => return unsupported("{...} (dict or set)"),
            Tok::Op("...") => return unsupported("..."),
            _ => {
                self.at = self.at.saturating_sub(1);
                return self.syntax();
            }
        };
        self.depth -= 1;
        Ok(expr)
    }
}

// ---------------------------------------------------------------------------
// Values

#[derive(Debug, Clone, Copy, PartialEq)]
enum Module {
    Sys,
    Os,
    Platform,
    Re,
}

impl Module {
    fn name(self) -> &'static str {
        match self {
            Module::Sys => "sys",
            Module::Os => "os",
            Module::Platform => "platform",
            Module::Re => "re",
        }
    }
}

#[derive(Debug, Clone)]
enum Value {
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
    fn type_name(&self) -> &'static str {
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

    fn truthy(&self) -> bool {
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
    fn items(&self) -> Option<&[Value]> {
        match self {
            Value::Tuple(v) | Value::List(v) | Value::VersionInfo(v) => Some(v),
            _ => None,
        }
    }

    fn is_tuple(&self) -> bool {
        matches!(self, Value::Tuple(_) | Value::VersionInfo(_))
    }

    fn number(&self) -> Option<f64> {
        match self {
            Value::Bool(b) => Some(f64::from(u8::from(*b))),
            #[allow(clippy::cast_precision_loss)]
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            _ => None,
        }
    }

    fn int(&self) -> Option<i64> {
        match self {
            Value::Bool(b) => Some(i64::from(*b)),
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// Python's `repr()`.
    fn repr(&self) -> String {
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
    fn str(&self) -> String {
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

fn py_repr_str(s: &str) -> String {
    crate::python::pystr::repr(s)
}

fn py_eq(a: &Value, b: &Value) -> bool {
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
fn py_cmp(a: &Value, b: &Value, op: CmpOp) -> Result<std::cmp::Ordering, Fail> {
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

fn py_in(needle: &Value, haystack: &Value) -> Result<bool, Fail> {
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

fn py_is(a: &Value, b: &Value) -> bool {
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
fn slice_indices(
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

// ---------------------------------------------------------------------------
// Evaluation

/// The Python globals zc.buildout's `_default_globals()` defines, besides
/// the modules.
const MINOR_VERSIONS: [&str; 24] = [
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

struct Eval<'f> {
    facts: &'f mut LazyFacts,
    depth: usize,
}

impl Eval<'_> {
    fn facts(&mut self) -> Result<&Facts, Fail> {
        self.facts.get().map_err(|e| Fail::Runtime(e.to_string()))
    }

    fn eval(&mut self, expr: &Expr) -> Result<Value, Fail> {
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
                let mut bounds = [None, None, None];
                for (bound, part) in bounds.iter_mut().zip(parts) {
                    if let Some(part) = part {
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
                }
                slice(target, bounds)?
            }
            Expr::Not(inner) => Value::Bool(!self.eval(inner)?.truthy()),
            Expr::Neg(inner) => match self.eval(inner)? {
                Value::Float(f) => Value::Float(-f),
                v => match v.int() {
                    Some(i) => Value::Int(i.checked_neg().ok_or_else(overflow)?),
                    None => {
                        return runtime(format!(
                            "bad operand type for unary -: '{}'",
                            v.type_name()
                        ));
                    }
                },
            },
            Expr::Pos(inner) => match self.eval(inner)? {
                Value::Float(f) => Value::Float(f),
                v => match v.int() {
                    Some(i) => Value::Int(i),
                    None => {
                        return runtime(format!(
                            "bad operand type for unary +: '{}'",
                            v.type_name()
                        ));
                    }
                },
            },
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

    fn eval_all(&mut self, items: &[Expr]) -> Result<Vec<Value>, Fail> {
        items.iter().map(|i| self.eval(i)).collect()
    }

    fn global(&mut self, name: &str) -> Result<Value, Fail> {
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

    fn attribute(&mut self, target: Value, name: &str) -> Result<Value, Fail> {
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
        let arity = |min: usize, max: usize| {
            if args.len() < min || args.len() > max {
                let expected = if min == max {
                    format!("exactly {min}")
                } else {
                    format!("{min} to {max}")
                };
                runtime(format!(
                    "{name}() takes {expected} arguments ({} given)",
                    args.len()
                ))
            } else {
                Ok(())
            }
        };
        if let Some(receiver) = receiver {
            return match *receiver {
                Value::Environ => {
                    arity(1, 2)?;
                    env_get(&args)
                }
                Value::Str(s) => {
                    let arity_result = match name.as_str() {
                        "startswith" | "endswith" => arity(1, 1),
                        "lower" | "upper" => arity(0, 0),
                        _ => arity(0, 1),
                    };
                    arity_result?;
                    str_method(&s, &name, args)
                }
                _ => unsupported(format!("{name}()")),
            };
        }
        match name.as_str() {
            "len" => {
                arity(1, 1)?;
                let n = match &args[0] {
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
            "int" => {
                arity(0, 1)?;
                match args.first() {
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
            "chr" => {
                arity(1, 1)?;
                let code = args[0].int().and_then(|i| u32::try_from(i).ok());
                match code.and_then(char::from_u32) {
                    Some(c) => Ok(Value::Str(c.to_string())),
                    None => runtime("chr() arg not in range(0x110000)".to_string()),
                }
            }
            "ord" => {
                arity(1, 1)?;
                match &args[0] {
                    Value::Str(s) if s.chars().count() == 1 => Ok(Value::Int(i64::from(
                        u32::from(s.chars().next().unwrap_or('\0')),
                    ))),
                    other => runtime(format!(
                        "ord() expected a character, but got {}",
                        other.type_name()
                    )),
                }
            }
            "str" => {
                arity(0, 1)?;
                Ok(Value::Str(args.first().map(Value::str).unwrap_or_default()))
            }
            "bool" => {
                arity(0, 1)?;
                Ok(Value::Bool(args.first().is_some_and(Value::truthy)))
            }
            "tuple" | "list" => {
                arity(0, 1)?;
                let items = match args.first() {
                    None => Vec::new(),
                    Some(Value::Str(s)) => s.chars().map(|c| Value::Str(c.to_string())).collect(),
                    Some(other) => match other.items() {
                        Some(items) => items.to_vec(),
                        None => {
                            return runtime(format!(
                                "'{}' object is not iterable",
                                other.type_name()
                            ));
                        }
                    },
                };
                Ok(if name == "tuple" {
                    Value::Tuple(items)
                } else {
                    Value::List(items)
                })
            }
            "os.getenv" => {
                arity(1, 2)?;
                env_get(&args)
            }
            platform_fn => {
                arity(0, 0)?;
                let facts = self.facts()?;
                Ok(match platform_fn {
                    "platform.machine" => Value::Str(facts.machine().to_string()),
                    "platform.system" => Value::Str(facts.system().to_string()),
                    "platform.release" => Value::Str(facts.release().to_string()),
                    "platform.version" => Value::Str(facts.markers.platform_version.clone()),
                    "platform.python_version" => {
                        Value::Str(facts.platform_python_version().to_string())
                    }
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
        }
    }

    fn subscript(&mut self, target: Value, index: Value) -> Result<Value, Fail> {
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

fn overflow() -> Fail {
    Fail::Runtime("integer overflow in condition".into())
}

fn resolve_index(i: i64, len: usize) -> Option<usize> {
    let len_i = i64::try_from(len).ok()?;
    let i = if i < 0 { i.checked_add(len_i)? } else { i };
    usize::try_from(i).ok().filter(|i| *i < len)
}

fn slice(target: Value, [start, stop, step]: [Option<i64>; 3]) -> Result<Value, Fail> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::python::interpreter::tests::fake_facts;

    fn eval_with(expr: &str, facts: Facts) -> Result<bool, Error> {
        let mut lazy = LazyFacts::with_facts(facts);
        evaluate(expr, "]", &mut lazy)
    }

    fn eval(expr: &str) -> Result<bool, Error> {
        eval_with(expr, fake_facts())
    }

    fn yes(expr: &str) {
        assert!(
            eval(expr).unwrap_or_else(|e| panic!("{expr}: {e}")),
            "{expr}"
        );
    }

    fn no(expr: &str) {
        assert!(
            !eval(expr).unwrap_or_else(|e| panic!("{expr}: {e}")),
            "{expr}"
        );
    }

    fn err(expr: &str) -> String {
        match eval(expr) {
            Ok(v) => panic!("{expr} should fail, got {v}"),
            Err(e) => e.0,
        }
    }

    /// A `LazyFacts` whose probe would fail, to prove it is not used.
    fn unprobeable() -> LazyFacts {
        LazyFacts::new(Some("/nonexistent/python-for-tests".into()))
    }

    /// Results recorded from zc.buildout 6.0.1 (`configparser.parse` with
    /// `_default_globals`) on CPython 3.11.7, x86_64 Linux, with `PATH` set
    /// and `BUILDOUT_COND_UNSET` unset.
    const REFERENCE: &[(&str, bool)] = &[
        ("python3", true),
        ("python2", false),
        ("python311", true),
        ("python310", false),
        ("python27 or python311", true),
        ("cpython and not pypy", true),
        ("jython or ironpython", false),
        ("linux", true),
        ("windows", false),
        ("macosx or cygwin or solaris", false),
        ("posix", true),
        ("bits64 and not bits32", true),
        ("little_endian and not big_endian", true),
        ("not windows and bits64", true),
        ("sys.version_info >= (3, 8)", true),
        ("sys.version_info[:2] == (3, 11)", true),
        ("sys.version_info < (3,)", false),
        (
            "sys.version_info.major == 3 and sys.version_info.minor > 10",
            true,
        ),
        ("sys.platform.startswith('linux')", true),
        ("sys.platform == 'linux'", true),
        ("os.name == 'nt'", false),
        ("platform.system() == 'Linux'", true),
        ("platform.machine() in ('x86_64', 'AMD64')", true),
        ("platform.python_version_tuple()[0] == '3'", true),
        ("os.environ.get('PATH')", true),
        ("os.environ.get('BUILDOUT_COND_UNSET')", false),
        ("os.environ.get('BUILDOUT_COND_UNSET', 'x') == 'x'", true),
        ("'PATH' in os.environ", true),
        ("os.getenv('BUILDOUT_COND_UNSET') is None", true),
        ("python_version >= '3.8'", true),
        ("python_version < '3' or sys_platform == 'win32'", false),
        (
            "platform_system == 'Linux' and platform_machine == 'x86_64'",
            true,
        ),
        ("False, True", false),
        ("[]", false),
        ("''", false),
        ("'0'", true),
        ("0", false),
        ("None", false),
        ("1 < 2 < 3", true),
        ("3 > 2 > 2", false),
        ("sys.maxsize > 4294967296", true),
        ("(1, 2) == [1, 2]", false),
        ("'abcdef'[::2] == 'ace'", true),
        ("len(sys.version) > 0", true),
        ("sys.version_info > (3, 11, 7)", true),
        ("sys.version_info == (3, 11, 7, 'final', 0)", true),
    ];

    #[test]
    fn reference_table_matches_zc_buildout() {
        for (expr, expected) in REFERENCE {
            let got = eval(expr).unwrap_or_else(|e| panic!("{expr}: {e}"));
            assert_eq!(got, *expected, "{expr}");
        }
    }

    #[test]
    fn every_default_global_is_defined() {
        for name in [
            "python2",
            "python3",
            "cpython",
            "pypy",
            "jython",
            "ironpython",
            "linux",
            "windows",
            "cygwin",
            "solaris",
            "macosx",
            "posix",
            "bits32",
            "bits64",
            "little_endian",
            "big_endian",
            "sys",
            "os",
            "platform",
            "re",
            "True",
            "False",
            "None",
        ] {
            assert!(eval(name).is_ok(), "{name}");
        }
        for v in MINOR_VERSIONS {
            let name = format!("python{v}");
            assert_eq!(eval(&name).unwrap(), v == "311", "{name}");
        }
    }

    #[test]
    fn other_platforms() {
        let mut facts = fake_facts();
        facts.platform = "win32".into();
        facts.os_name = "nt".into();
        facts.pointer_bits = 32;
        facts.byteorder = "big".into();
        facts.version = "3.10.13 (PyPy 7.3.15) [GCC]".into();
        facts.python_version_tuple = vec!["3".into(), "10".into(), "13".into()];
        for (expr, expected) in [
            ("windows", true),
            ("linux", false),
            ("posix", false),
            ("bits32", true),
            ("big_endian", true),
            ("pypy", true),
            ("cpython", false),
            ("python310", true),
            ("python311", false),
            ("python3", true),
        ] {
            assert_eq!(eval_with(expr, facts.clone()).unwrap(), expected, "{expr}");
        }
        facts.platform = "darwin".into();
        assert!(eval_with("macosx", facts).unwrap());
    }

    #[test]
    fn python_subset_semantics() {
        yes("(3, 8) < (3, 10)");
        yes("(3, 8, 1) > (3, 8)");
        yes("[1, 2] == [1, 2]");
        no("(1, 2) == [1, 2]");
        yes("1 == 1.0 == True");
        yes("'ab' 'cd' == 'abcd'");
        yes("'a' < 'b' < 'c'");
        yes("not 'x' in 'abc'");
        yes("2 in (1, 2)");
        yes("None is None");
        yes("1 is not None");
        yes("not ''");
        yes("-1 < 0");
        yes("- -1 == 1");
        yes("(1,)");
        no("()");
        yes("'abc'[1] == 'b'");
        yes("'abc'[-1] == 'c'");
        yes("'abcdef'[::2] == 'ace'");
        yes("(1, 2, 3)[::-1] == (3, 2, 1)");
        yes("sys.version_info[0] == 3");
        yes("sys.version_info[-2] == 'final'");
        yes("sys.version_info.releaselevel == 'final'");
        yes("sys.byteorder == 'little'");
        yes("sys.executable.endswith('python3.11')");
        yes("os.sep == '/'");
        yes("platform.release().startswith('6.')");
        yes("platform.python_version() == '3.11.7'");
        yes("platform.python_implementation() == 'CPython'");
        yes("sys.implementation.name == 'cpython'");
        yes("sys.platform.upper() == 'LINUX'");
        yes("'LiNuX'.lower() == 'linux'");
        yes("sys.platform.startswith(('win', 'lin'))");
        yes("int('3') + 1 == 4");
        yes("str(3) == '3'");
        yes("bool(1)");
        yes("tuple([1, 2]) == (1, 2)");
        yes("len((1, 2)) == 2");
        yes("1 if linux else 0");
        yes("'a' + 'b' == 'ab'");
        yes("(1,) + (2,) == (1, 2)");
        yes("r'\\d' == '\\\\d'");
        yes("'\\x41' + '' == 'A'");
        yes("0x10 == 16");
        yes("1.5 > 1");
        yes("'a b'.split() == ['a', 'b']");
        yes("' x '.strip() == 'x'");
        // `and`/`or` return operands, as in Python.
        yes("(0 or 'x') == 'x'");
        yes("(1 and 0) == 0");
        // Only the first element of the list decides.
        yes("True, False");
        no("False, True");
    }

    #[test]
    fn tail_comments_are_python_comments() {
        let mut lazy = LazyFacts::with_facts(fake_facts());
        assert!(evaluate("linux", "] # a comment", &mut lazy).unwrap());
        assert!(!evaluate("windows", "] ; another (comment", &mut lazy).unwrap());
        assert!(evaluate("python3 ", "]", &mut lazy).unwrap());
        // `\x23` and `\x3b` become `#` and `;` inside the expression.
        assert!(evaluate(r"'a\x23b' == 'a' + chr", "]", &mut lazy).is_err());
        assert!(evaluate(r"len('a\x23b\x3b') == 4", "]", &mut lazy).unwrap());
        // A marker with an escaped `#`.
        assert!(!evaluate(r"os_name == 'a\x23b'", "]", &mut lazy).unwrap());
        // Empty expression: no condition.
        assert!(evaluate("", "]", &mut lazy).unwrap());
        // Whitespace only: `[ ][0]`, an IndexError.
        assert_eq!(
            evaluate("  ", "]", &mut lazy).unwrap_err().0,
            "list index out of range"
        );
    }

    #[test]
    fn errors_are_clear() {
        assert_eq!(err("iron"), "name 'iron' is not defined");
        assert_eq!(err("sys_version"), "name 'sys_version' is not defined");
        assert_eq!(err("python320"), "name 'python320' is not defined");
        assert_eq!(
            err("sys.version_info > '3'"),
            "'>' not supported between instances of 'sys.version_info' and 'str'"
        );
        assert_eq!(
            err("'3' < 4"),
            "'<' not supported between instances of 'str' and 'int'"
        );
        assert_eq!(
            err("lambda: 1"),
            "unsupported expression `lambda`: only the zc.buildout condition subset is available (see README)"
        );
        assert!(err("[x for x in ()]").contains("`comprehension`"));
        assert!(err("{1: 2}").contains("unsupported expression"));
        assert!(err("open('x')").contains("`open`"));
        assert!(err("sys.modules").contains("`sys.modules`"));
        assert!(err("os.path.exists('x')").contains("`os.path`"));
        assert_eq!(
            err("re.match('a', 'a')"),
            "re.match is not supported in conditions"
        );
        assert!(err("2 ** 3").contains("`operator **`"));
        assert_eq!(err("(1, 2)[5]"), "tuple index out of range");
        assert!(err("linux and").starts_with("invalid condition `linux and`: invalid syntax"));
        assert!(err("'abc").contains("unterminated string"));
        assert!(err("1 +* 2").starts_with("invalid condition"));
        assert_eq!(err("1 in 2"), "argument of type 'int' is not iterable");
        assert_eq!(err("(1)()"), "'int' object is not callable");
        assert!(err("'x'.nope()").contains("`str.nope`"));
        assert_eq!(
            err("sys.version_info.nope"),
            "'sys.version_info' object has no attribute 'nope'"
        );
        let deep = format!("{}1{}", "(".repeat(300), ")".repeat(300));
        assert!(err(&deep).contains("nested too deeply"));
        let chain = format!("sys{}", ".platform".repeat(300));
        assert!(eval(&chain).is_err());
    }

    #[test]
    fn environ_lookups() {
        // `PATH` is set wherever tests run; tests cannot set variables
        // (that needs `unsafe` in edition 2024).
        yes("os.environ['PATH'] == os.environ.get('PATH') == os.getenv('PATH')");
        yes("len(os.environ['PATH']) > 0");
        yes("os.getenv('BUILDOUT_COND_ENV_MISSING', 'd') == 'd'");
        yes("os.getenv('BUILDOUT_COND_ENV_MISSING') is None");
        yes("'BUILDOUT_COND_ENV_MISSING' not in os.environ");
        assert_eq!(
            err("os.environ['BUILDOUT_COND_ENV_MISSING']"),
            "environment variable 'BUILDOUT_COND_ENV_MISSING' is not set (KeyError in os.environ)"
        );
    }

    #[test]
    fn facts_are_probed_only_when_needed() {
        let mut lazy = unprobeable();
        assert!(evaluate("os.environ.get('PATH')", "]", &mut lazy).unwrap());
        assert!(evaluate("'x' in os.environ or 1 < 2", "]", &mut lazy).unwrap());
        assert!(evaluate("os.sep == '/'", "]", &mut lazy).unwrap());
        assert!(evaluate("True or linux", "]", &mut lazy).unwrap());
        assert!(!lazy.is_probed());
        // Names that need the interpreter probe it, and its error shows.
        let e = evaluate("linux", "]", &mut lazy).unwrap_err().0;
        assert!(
            e.starts_with("cannot run python interpreter `/nonexistent/python-for-tests`"),
            "{e}"
        );
        // Markers always need the marker environment.
        assert!(evaluate("os_name == 'posix'", "]", &mut lazy).is_err());
    }

    #[test]
    fn marker_errors_are_reported() {
        let e = eval("os_name ~= 'posix'").unwrap_err().0;
        assert!(
            e.starts_with("cannot evaluate marker `os_name ~= 'posix'`"),
            "{e}"
        );
        // Two quoted strings make a valid marker whose right side is looked
        // up as a variable, so zc.buildout fails here too.
        let e = eval("'a' < 'b'").unwrap_err().0;
        assert!(e.contains("marker variable `b` is not defined"), "{e}");
    }

    #[test]
    fn string_scanning_respects_char_boundaries() {
        // Found by proptest: an unterminated string before a 4-byte character.
        let mut lazy = LazyFacts::with_facts(fake_facts());
        assert!(evaluate("\"", "]\u{11d0b}", &mut lazy).is_err());
        assert!(evaluate("'\\\u{11d0b}' + '' == 'x'", "]", &mut lazy).is_ok());
    }

    proptest::proptest! {
        #[test]
        fn evaluator_never_panics(s in "\\PC{0,60}", tail in "\\] ?[#;]?\\PC{0,5}") {
            let mut lazy = LazyFacts::with_facts(fake_facts());
            let _ = evaluate(&s, &tail, &mut lazy);
        }

        #[test]
        fn python_like_input_never_panics(
            s in "[ ()\\[\\]'\"a-z_.,:=<>!+*0-9-]{0,50}"
        ) {
            let mut lazy = LazyFacts::with_facts(fake_facts());
            let _ = evaluate(&s, "]", &mut lazy);
        }
    }
}
