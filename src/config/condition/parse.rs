//! The syntax tree of a condition expression and its recursive-descent
//! parser (Python's expression grammar, nesting limited to `MAX_DEPTH`).

use super::*;

#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum CmpOp {
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
    pub(super) fn symbol(self) -> &'static str {
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
pub(super) enum BinOp {
    Add,
    Sub,
    Mul,
}

#[derive(Debug)]
pub(super) enum Expr {
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

pub(super) struct Parser<'s> {
    src: &'s str,
    expr: &'s str,
    tokens: Vec<Token>,
    at: usize,
    depth: usize,
}

impl<'s> Parser<'s> {
    pub(super) fn new(src: &'s str, expr: &'s str) -> Self {
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

    pub(super) fn next(&mut self) -> Tok {
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

    pub(super) fn syntax<T>(&self) -> Result<T, Fail> {
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

    pub(super) fn parse_source(mut self) -> Result<Expr, Fail> {
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
