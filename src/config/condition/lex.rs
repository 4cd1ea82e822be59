//! Tokens of a condition expression: Python's operators, names, numbers and
//! string literals (with prefixes and escapes), each with its byte offset.

use super::*;

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
    Name(String),
    Int(i64),
    Float(f64),
    Str(String),
    Op(&'static str),
    End,
}

#[derive(Debug, Clone)]
pub(super) struct Token {
    pub(super) tok: Tok,
    /// Byte offset in the source.
    pub(super) pos: usize,
}

const OPERATORS: [&str; 41] = [
    "**=", "//=", ">>=", "<<=", "...", "**", "//", "==", "!=", "<=", ">=", "<>", "->", ":=", "<<",
    ">>", "+=", "-=", "*=", "/=", "(", ")", "[", "]", "{", "}", ",", ":", ".", "+", "-", "*", "/",
    "%", "<", ">", "~", "&", "|", "^", "@",
];

pub(super) fn tokenize(src: &str) -> Result<Vec<Token>, Fail> {
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

pub(super) fn number(rest: &str) -> Result<(Tok, usize), String> {
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
