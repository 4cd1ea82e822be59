//! Python `logging` format strings (`[buildout] log-format`), rendered as
//! `logging.Formatter` renders a record: `%(name)s`, `%(levelname)-8s`,
//! `%(levelno)03d`, `%(message).20r`, `%%`.
//!
//! Only the record attributes that do not depend on Python's own frames or
//! clock are known (see [`FIELDS`]); a format naming another one is refused
//! when the configuration is read, where Python would print a logging error
//! for every message.

use crate::python::pystr;

/// The record attributes a format may name.
pub const FIELDS: [&str; 7] = [
    "name",
    "levelname",
    "levelno",
    "message",
    "process",
    "processName",
    "threadName",
];

/// A parsed format: literal text and `%(key)…` conversions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogFormat(Vec<Piece>);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Field(Spec),
}

/// One `%(key)[flags][width][.precision]conversion`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Spec {
    key: String,
    left: bool,
    zero: bool,
    plus: bool,
    space: bool,
    alternate: bool,
    width: usize,
    precision: Option<usize>,
    conversion: char,
}

/// A log record as the formatter sees it.
#[derive(Debug, Clone, Copy)]
pub struct Record<'a> {
    pub name: &'a str,
    pub level: i32,
    pub message: &'a str,
}

/// Python's `logging.getLevelName`.
pub fn level_name(level: i32) -> String {
    match level {
        0 => "NOTSET".into(),
        10 => "DEBUG".into(),
        20 => "INFO".into(),
        30 => "WARNING".into(),
        40 => "ERROR".into(),
        50 => "CRITICAL".into(),
        n => format!("Level {n}"),
    }
}

enum Value {
    Str(String),
    Int(i64),
}

impl LogFormat {
    /// Parses `format` as `logging.Formatter(format)` does, refusing what
    /// it refuses (`Invalid format '…' for '%' style`: no `%(key)`
    /// conversion at all) and what it would fail on for every record.
    pub fn parse(format: &str) -> Result<Self, String> {
        let invalid = || format!("Invalid format '{format}' for '%' style");
        let mut pieces = Vec::new();
        let mut text = String::new();
        let mut rest = format;
        let mut fields = 0;
        while let Some(i) = rest.find('%') {
            text.push_str(&rest[..i]);
            rest = &rest[i + 1..];
            if let Some(r) = rest.strip_prefix('%') {
                text.push('%');
                rest = r;
                continue;
            }
            let Some(r) = rest.strip_prefix('(') else {
                return Err(format!(
                    "{}: every conversion needs a record attribute, as in %(message)s",
                    invalid()
                ));
            };
            let close = r.find(')').ok_or_else(invalid)?;
            let key = &r[..close];
            rest = &r[close + 1..];
            let mut spec = Spec {
                key: key.to_string(),
                left: false,
                zero: false,
                plus: false,
                space: false,
                alternate: false,
                width: 0,
                precision: None,
                conversion: 's',
            };
            while let Some(c) = rest.chars().next() {
                match c {
                    '-' => spec.left = true,
                    '0' => spec.zero = true,
                    '+' => spec.plus = true,
                    ' ' => spec.space = true,
                    '#' => spec.alternate = true,
                    _ => break,
                }
                rest = &rest[1..];
            }
            let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
            spec.width = rest[..digits].parse().unwrap_or(0);
            rest = &rest[digits..];
            if let Some(r) = rest.strip_prefix('.') {
                let digits = r.len() - r.trim_start_matches(|c: char| c.is_ascii_digit()).len();
                spec.precision = Some(r[..digits].parse().unwrap_or(0));
                rest = &r[digits..];
            }
            let conversion = rest.chars().next().ok_or_else(invalid)?;
            rest = &rest[conversion.len_utf8()..];
            if !"srdixXo".contains(conversion) {
                return Err(format!(
                    "{}: unsupported conversion '{conversion}' (s, r, d, i, x, X, o)",
                    invalid()
                ));
            }
            if key.is_empty() || !key.chars().all(|c| c.is_alphanumeric() || c == '_') {
                return Err(invalid());
            }
            if !FIELDS.contains(&key) {
                return Err(format!(
                    "Unsupported field %({key}) in log-format (supported: {})",
                    FIELDS.join(", ")
                ));
            }
            let numeric = key == "levelno" || key == "process";
            if !numeric && "dixXo".contains(conversion) {
                return Err(format!(
                    "Invalid log-format: %({key}) is text, not a number (%{conversion})"
                ));
            }
            spec.conversion = conversion;
            fields += 1;
            if !text.is_empty() {
                pieces.push(Piece::Text(std::mem::take(&mut text)));
            }
            pieces.push(Piece::Field(spec));
        }
        text.push_str(rest);
        if fields == 0 {
            return Err(invalid());
        }
        if !text.is_empty() {
            pieces.push(Piece::Text(text));
        }
        Ok(Self(pieces))
    }

    /// The formatted record (without a trailing newline).
    pub fn render(&self, record: &Record<'_>) -> String {
        let mut out = String::new();
        for piece in &self.0 {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Field(spec) => out.push_str(&spec.render(value(&spec.key, record))),
            }
        }
        out
    }
}

fn value(key: &str, record: &Record<'_>) -> Value {
    match key {
        "name" => Value::Str(record.name.into()),
        "levelname" => Value::Str(level_name(record.level)),
        "levelno" => Value::Int(record.level.into()),
        "message" => Value::Str(record.message.into()),
        "process" => Value::Int(std::process::id().into()),
        "processName" => Value::Str("MainProcess".into()),
        // "threadName" (checked at parse time)
        _ => Value::Str("MainThread".into()),
    }
}

impl Spec {
    /// Python's `%` conversion of one value.
    fn render(&self, value: Value) -> String {
        let body = match (value, self.conversion) {
            (Value::Str(s), 'r') => truncate(&pystr::repr(&s), self.precision),
            (Value::Str(s), _) => truncate(&s, self.precision),
            (Value::Int(n), 's') => truncate(&n.to_string(), self.precision),
            (Value::Int(n), 'r') => truncate(&n.to_string(), self.precision),
            (Value::Int(n), c) => return self.pad_number(n, c),
        };
        self.pad(body)
    }

    fn pad_number(&self, n: i64, conversion: char) -> String {
        let magnitude = n.unsigned_abs();
        let (prefix, mut digits) = match conversion {
            'x' => ("0x", format!("{magnitude:x}")),
            'X' => ("0X", format!("{magnitude:X}")),
            'o' => ("0o", format!("{magnitude:o}")),
            _ => ("", magnitude.to_string()),
        };
        if let Some(p) = self.precision
            && digits.len() < p
        {
            digits = format!("{}{digits}", "0".repeat(p - digits.len()));
        }
        let sign = if n < 0 {
            "-"
        } else if self.plus {
            "+"
        } else if self.space {
            " "
        } else {
            ""
        };
        let prefix = if self.alternate { prefix } else { "" };
        let head = format!("{sign}{prefix}");
        if self.zero && !self.left {
            let used = head.chars().count() + digits.chars().count();
            let fill = self.width.saturating_sub(used);
            return format!("{head}{}{digits}", "0".repeat(fill));
        }
        self.pad(format!("{head}{digits}"))
    }

    fn pad(&self, body: String) -> String {
        let fill = self.width.saturating_sub(body.chars().count());
        if fill == 0 {
            body
        } else if self.left {
            format!("{body}{}", " ".repeat(fill))
        } else {
            format!("{}{body}", " ".repeat(fill))
        }
    }
}

fn truncate(s: &str, precision: Option<usize>) -> String {
    match precision {
        Some(p) => s.chars().take(p).collect(),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(format: &str, name: &str, level: i32, message: &str) -> String {
        LogFormat::parse(format).unwrap().render(&Record {
            name,
            level,
            message,
        })
    }

    #[test]
    fn renders_like_logging_formatter() {
        // Expected texts from Python 3.11's logging.Formatter.
        assert_eq!(
            render("%(levelname)s: %(message)s", "zc.buildout", 20, "m"),
            "INFO: m"
        );
        assert_eq!(
            render(
                "%(name)s %(levelname)-8s|%(message)s|",
                "zc.buildout",
                30,
                "a\nb"
            ),
            "zc.buildout WARNING |a\nb|"
        );
        assert_eq!(
            render("[%(levelno)03d] %(name)s: %(message)s", "x", 20, "m"),
            "[020] x: m"
        );
        assert_eq!(
            render(
                "%(levelname)5.2s %(message).7s %(levelno)-4d%(levelno)+x",
                "x",
                20,
                "Setting socket"
            ),
            "   IN Setting 20  +14"
        );
        assert_eq!(render("%(message)r%%", "x", 20, "it's"), "\"it's\"%");
        assert_eq!(render("%(levelname)s", "x", 25, ""), "Level 25");
        assert_eq!(render("%(levelno)#06x", "x", 20, ""), "0x0014");
    }

    #[test]
    fn refuses_what_python_refuses_or_fails_on() {
        assert_eq!(
            LogFormat::parse("plain").unwrap_err(),
            "Invalid format 'plain' for '%' style"
        );
        assert_eq!(
            LogFormat::parse("100%% sure").unwrap_err(),
            "Invalid format '100%% sure' for '%' style"
        );
        assert!(
            LogFormat::parse("%(foo)s")
                .unwrap_err()
                .starts_with("Unsupported field %(foo) in log-format")
        );
        assert!(LogFormat::parse("%(message)s %s").is_err());
        assert!(LogFormat::parse("%(message)d").is_err());
        assert!(LogFormat::parse("%(message)").is_err());
    }
}
