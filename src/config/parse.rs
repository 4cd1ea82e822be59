//! The line syntax of one configuration file.
//!
//! Same rules as zc.buildout's `configparser.parse`: column-0 `#`/`;`
//! comments, `[name]` and `[name:condition]` headers, `name = value` option
//! lines (no `:` form), `=>` part dependencies, continuation lines in line
//! mode (first line has data: each line stripped, blank lines dropped) or
//! block mode (empty first line: dedented, blank lines kept). Every bad line
//! is collected and reported together.
//!
//! One deliberate difference: `k+=v` and `k += v` are the same operator (the
//! key is stored as `"k +"` for both), which fixes zc.buildout renaming the
//! option to `egg` for `eggs+=x` in a new section.

use super::condition;
use super::pystr;
use crate::python::LazyFacts;
use regex::Regex;
use std::collections::BTreeMap;
use std::sync::LazyLock;

/// Options of one section: key (with `" +"`/`" -"` suffix for operators) to value.
pub type RawSection = BTreeMap<String, String>;
/// Sections of one file.
pub type RawSections = BTreeMap<String, RawSection>;

/// Why a file could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Lines that are neither comments, headers, options nor continuations.
    #[error("File contains parsing errors: {file}{}", render_bad_lines(.lines))]
    Syntax {
        file: String,
        /// Line number and the line as Python's `repr` shows it.
        lines: Vec<(usize, String)>,
    },
    /// An option before any section header.
    #[error("File contains no section headers.\nfile: {file}, line: {line}\n{text}")]
    NoSectionHeader {
        file: String,
        line: usize,
        /// The line as Python's `repr` shows it.
        text: String,
    },
    /// A `[name:condition]` that could not be evaluated.
    #[error("{file}, line {line}: cannot evaluate the condition of section [{section}]: {message}")]
    Condition {
        file: String,
        line: usize,
        section: String,
        message: String,
    },
}

fn render_bad_lines(lines: &[(usize, String)]) -> String {
    lines
        .iter()
        .map(|(n, l)| format!("\n\t[line {n:>2}]: {l}"))
        .collect()
}

// zc.buildout's two line patterns, matched by hand: compiling them as
// regexes (Unicode `\s`) cost a few hundred microseconds of every run. The
// tests check both functions against the patterns themselves
// (`SECTION_HEADER_RE`, `OPTION_START_RE` below) on many generated lines.
//
//   section header: ^(?P<head>\[)\s*(?P<name>[^\s#\[\]:;{}]+)\s*(:(?P<expression>[^#;]*))?\s*(?P<tail>\]\s*([#;].*)?)$
//   option start:   ^(?P<name>[^\s{}\[\]=:]+\s*[-+]?)=(?P<value>.*)$

/// A section header line's parts.
struct Header<'a> {
    name: &'a str,
    expression: Option<&'a str>,
    /// From the closing `]` to the end of the line.
    tail: &'a str,
}

/// `\]\s*([#;].*)?$` at the start of `s`.
fn header_tail(s: &str) -> bool {
    let Some(rest) = s.strip_prefix(']') else {
        return false;
    };
    let rest = rest.trim_start_matches(char::is_whitespace);
    rest.is_empty() || (rest.starts_with(['#', ';']) && !rest.contains('\n'))
}

fn section_header(line: &str) -> Option<Header<'_>> {
    let rest = line.strip_prefix('[')?;
    let rest = rest.trim_start_matches(char::is_whitespace);
    let name_end = rest
        .find(|c: char| c.is_whitespace() || "#[]:;{}".contains(c))
        .unwrap_or(rest.len());
    if name_end == 0 {
        return None;
    }
    let name = &rest[..name_end];
    let rest = rest[name_end..].trim_start_matches(char::is_whitespace);
    if let Some(after) = rest.strip_prefix(':') {
        // The expression runs to the last `]` before any `#`/`;` (the
        // greedy match); only whitespace may follow that `]` up to there,
        // which `header_tail` checks.
        let limit = after.find(['#', ';']).unwrap_or(after.len());
        let close = after[..limit].rfind(']')?;
        if !header_tail(&after[close..]) {
            return None;
        }
        return Some(Header {
            name,
            expression: Some(&after[..close]),
            tail: &after[close..],
        });
    }
    header_tail(rest).then_some(Header {
        name,
        expression: None,
        tail: rest,
    })
}

/// An option line's name (as written before `=`, operator included) and
/// value.
fn option_start(line: &str) -> Option<(&str, &str)> {
    let eq = line.find('=')?;
    let (name, value) = (&line[..eq], &line[eq + 1..]);
    if value.contains('\n') {
        return None;
    }
    let plain = |s: &str| {
        let core = s.trim_end_matches(char::is_whitespace);
        !core.is_empty() && !core.contains(|c: char| c.is_whitespace() || "{}[]=:".contains(c))
    };
    let ok = plain(name) || name.strip_suffix(['+', '-']).is_some_and(plain);
    ok.then_some((name, value))
}

static LEADING_BLANK_LINES: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(\s*\n)+").expect("valid regex"));

/// Normalises an option name as written before `=`: strips it and spells
/// operators as `"name +"` / `"name -"` whatever the spacing.
fn option_key(name: &str) -> String {
    let name = pystr::rstrip(name);
    if let Some(base) = name.strip_suffix('+') {
        format!("{} +", pystr::rstrip(base))
    } else if let Some(base) = name.strip_suffix('-') {
        format!("{} -", pystr::rstrip(base))
    } else {
        name.to_string()
    }
}

/// Splits an option key into its name and operator (`'='`, `'+'`, `'-'`).
pub fn split_key(key: &str) -> (&str, char) {
    if let Some(base) = key.strip_suffix(" +") {
        (base, '+')
    } else if let Some(base) = key.strip_suffix(" -") {
        (base, '-')
    } else {
        (key, '=')
    }
}

/// Parses one file's text. `file` is the name used in messages.
pub fn parse(text: &str, file: &str, facts: &mut LazyFacts) -> Result<RawSections, ParseError> {
    // Universal newlines, as Python's text mode reads files.
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let mut parser = Parser {
        file,
        facts,
        sections: RawSections::new(),
        in_effect: true,
        section: None,
        option: None,
        block_mode: false,
        bad: Vec::new(),
    };
    for (index, raw_line) in text.split_inclusive('\n').enumerate() {
        parser.line(index + 1, raw_line)?;
    }
    parser.finish()
}

/// The state of one file's parse.
struct Parser<'a> {
    file: &'a str,
    facts: &'a mut LazyFacts,
    sections: RawSections,
    /// Whether the last header's condition holds (lines under a false one
    /// are skipped).
    in_effect: bool,
    /// The section options go to.
    section: Option<String>,
    /// The option continuation lines go to.
    option: Option<String>,
    /// The option's first line was empty: continuation lines keep their
    /// indentation and blank lines.
    block_mode: bool,
    /// Lines that are none of the above: line number and `repr`.
    bad: Vec<(usize, String)>,
}

impl Parser<'_> {
    /// One line (with its newline, if any).
    fn line(&mut self, lineno: usize, raw_line: &str) -> Result<(), ParseError> {
        let line = raw_line.strip_suffix('\n').unwrap_or(raw_line);
        let first = raw_line.chars().next().unwrap_or('\n');
        if first == '#' || first == ';' {
            return Ok(());
        }
        if pystr::is_space(first) && self.section.is_some() && self.option.is_some() {
            self.continuation(line);
            return Ok(());
        }
        if let Some(header) = section_header(line) {
            return self.header(lineno, &header);
        }
        let Some(current) = self.section.clone() else {
            if pystr::strip(line).is_empty() {
                return Ok(());
            }
            return Err(ParseError::NoSectionHeader {
                file: self.file.to_string(),
                line: lineno,
                text: pystr::repr(raw_line),
            });
        };
        let rewritten;
        let line = if let Some(rest) = line.strip_prefix("=>") {
            rewritten = format!("<part-dependencies> = {rest}");
            rewritten.as_str()
        } else {
            line
        };
        if let Some((name, value)) = option_start(line) {
            if self.in_effect {
                self.option(&current, name, value);
            }
        } else if self.option.is_some() || !pystr::strip(line).is_empty() {
            self.bad.push((lineno, pystr::repr(raw_line)));
        }
        Ok(())
    }

    /// A continuation line of the current option.
    fn continuation(&mut self, line: &str) {
        if !self.in_effect {
            return;
        }
        let piece = if self.block_mode {
            pystr::rstrip(line)
        } else {
            let s = pystr::strip(line);
            if s.is_empty() {
                return;
            }
            s
        };
        let sect = self
            .sections
            .get_mut(self.section.as_deref().unwrap_or_default())
            .expect("current section exists");
        let key = self.option.as_deref().unwrap_or_default();
        let value = sect.entry(key.to_string()).or_default();
        value.push('\n');
        value.push_str(piece);
    }

    /// A `[name]` or `[name:condition]` header.
    fn header(&mut self, lineno: usize, header: &Header<'_>) -> Result<(), ParseError> {
        self.in_effect = true;
        let name = header.name.to_string();
        let expression = header.expression.unwrap_or("");
        if !expression.is_empty() {
            let tail = header.tail;
            self.in_effect = condition::evaluate(expression, tail, self.facts).map_err(|e| {
                ParseError::Condition {
                    file: self.file.to_string(),
                    line: lineno,
                    section: name.clone(),
                    message: e.to_string(),
                }
            })?;
            if !self.in_effect {
                return Ok(());
            }
        }
        self.sections.entry(name.clone()).or_default();
        self.section = Some(name);
        self.option = None;
        Ok(())
    }

    /// A `name = value` line (also `name += value`, `name -= value`).
    fn option(&mut self, section: &str, name: &str, value: &str) {
        let key = option_key(name);
        let value = pystr::strip(value).to_string();
        let (base, op) = split_key(&key);
        let sect = self
            .sections
            .get_mut(section)
            .expect("current section exists");
        if op != '=' && sect.contains_key(&key) {
            // A repeated operator in one file (possible with conditional
            // sections) adds its lines to the pending one.
            let pending = sect.get_mut(&key).expect("checked");
            let trimmed = pystr::rstrip(pending).len();
            pending.truncate(trimmed);
            if !value.is_empty() {
                pending.push('\n');
                pending.push_str(&value);
            }
        } else {
            if op == '=' {
                sect.remove(&format!("{base} +"));
                sect.remove(&format!("{base} -"));
            }
            sect.insert(key.clone(), value.clone());
        }
        self.block_mode = value.is_empty();
        self.option = Some(key);
    }

    /// Every bad line, or the sections with indented values dedented.
    fn finish(mut self) -> Result<RawSections, ParseError> {
        if !self.bad.is_empty() {
            return Err(ParseError::Syntax {
                file: self.file.to_string(),
                lines: self.bad,
            });
        }
        for section in self.sections.values_mut() {
            for value in section.values_mut() {
                if value.chars().next().is_some_and(pystr::is_space) {
                    let dedented = pystr::dedent(pystr::rstrip(value));
                    *value = LEADING_BLANK_LINES.replace(&dedented, "").into_owned();
                }
            }
        }
        Ok(self.sections)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static SECTION_HEADER_RE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r"^(?P<head>\[)\s*(?P<name>[^\s#\[\]:;{}]+)\s*(:(?P<expression>[^#;]*))?\s*(?P<tail>\]\s*([#;].*)?)$",
        )
        .unwrap()
    });

    static OPTION_START_RE: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"^(?P<name>[^\s{}\[\]=:]+\s*[-+]?)=(?P<value>.*)$").unwrap());

    /// Lines over an alphabet of the characters the patterns care about.
    fn lines() -> Vec<String> {
        const ALPHABET: &[char] = &[
            '[', ']', ' ', '\t', '#', ';', ':', '=', '+', '-', '{', '}', 'a', 'b', '.', '\u{a0}',
            '\n', '\r', 'é',
        ];
        let mut out = Vec::new();
        // Every line up to length 4, then pseudo-random longer ones.
        let mut frontier = vec![String::new()];
        for _ in 0..4 {
            let mut next = Vec::new();
            for s in &frontier {
                for c in ALPHABET {
                    next.push(format!("{s}{c}"));
                }
            }
            out.extend(next.iter().cloned());
            frontier = next;
        }
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..100_000 {
            let mut s = String::new();
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let len = 5 + (seed % 12) as usize;
            for _ in 0..len {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                s.push(ALPHABET[(seed % ALPHABET.len() as u64) as usize]);
            }
            out.push(s.clone());
            out.push(format!("[{s}"));
            out.push(format!("a{s}"));
        }
        out
    }

    #[test]
    fn hand_matchers_agree_with_zc_buildouts_patterns() {
        for line in lines() {
            let want = SECTION_HEADER_RE.captures(&line).map(|c| {
                (
                    c["name"].to_string(),
                    c.name("expression").map(|m| m.as_str().to_string()),
                    c["tail"].to_string(),
                )
            });
            let got = section_header(&line).map(|h| {
                (
                    h.name.to_string(),
                    h.expression.map(str::to_string),
                    h.tail.to_string(),
                )
            });
            assert_eq!(got, want, "section header {line:?}");
            let want = OPTION_START_RE
                .captures(&line)
                .map(|c| (c["name"].to_string(), c["value"].to_string()));
            let got = option_start(&line).map(|(n, v)| (n.to_string(), v.to_string()));
            assert_eq!(got, want, "option start {line:?}");
        }
    }

    fn p(text: &str) -> RawSections {
        parse(text, "t.cfg", &mut LazyFacts::default()).unwrap()
    }

    fn get<'a>(s: &'a RawSections, sec: &str, key: &str) -> &'a str {
        &s[sec][key]
    }

    #[test]
    fn line_mode_strips_and_drops_blank_lines() {
        let s = p("[a]\nbaz = a\n  b\n\n  c\n");
        assert_eq!(get(&s, "a", "baz"), "a\nb\nc");
    }

    #[test]
    fn block_mode_dedents_and_keeps_blank_lines() {
        let s = p("[a]\nbaz =\n\n  a\n    b\n\n  c\n");
        assert_eq!(get(&s, "a", "baz"), "a\n  b\n\nc");
    }

    #[test]
    fn comments_values_and_operators() {
        let s = p("# c\n[a] # hdr\nk = v # not a comment\n; c\nx += 1\ny+=2\nz -= 3\n=> p q\n");
        assert_eq!(get(&s, "a", "k"), "v # not a comment");
        assert_eq!(get(&s, "a", "x +"), "1");
        assert_eq!(get(&s, "a", "y +"), "2");
        assert_eq!(get(&s, "a", "z -"), "3");
        assert_eq!(get(&s, "a", "<part-dependencies>"), "p q");
    }

    #[test]
    fn indented_hash_is_a_value_line() {
        let s = p("[a]\nk = 1\n  # two\n");
        assert_eq!(get(&s, "a", "k"), "1\n# two");
    }

    #[test]
    fn every_bad_line_is_reported() {
        let e = parse(
            "[a]\nk: v\nok = 1\nbad\n",
            "/x/b.cfg",
            &mut LazyFacts::default(),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "File contains parsing errors: /x/b.cfg\n\t[line  2]: 'k: v\\n'\n\t[line  4]: 'bad\\n'"
        );
    }

    #[test]
    fn text_before_header() {
        let e = parse("k = v\n", "/x/b.cfg", &mut LazyFacts::default()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "File contains no section headers.\nfile: /x/b.cfg, line: 1\n'k = v\\n'"
        );
    }

    #[test]
    fn repeated_sections_merge_and_assignment_cancels_operators() {
        let s = p("[a]\nx += 1\n[b]\n[a]\nx += 2\ny -= 1\ny = 5\n");
        assert_eq!(get(&s, "a", "x +"), "1\n2");
        assert_eq!(get(&s, "a", "y"), "5");
        assert!(!s["a"].contains_key("y -"));
    }

    #[test]
    fn empty_condition_is_unconditional() {
        let s = p("[a:]\nk = v\n");
        assert_eq!(get(&s, "a", "k"), "v");
    }
}
