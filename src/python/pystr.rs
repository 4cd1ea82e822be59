//! Python's string and `posixpath` semantics, where zc.buildout's behaviour
//! depends on them.
//!
//! zc.buildout is written against `str.strip()`, `str.splitlines()`,
//! `textwrap.dedent`, `repr()` and `os.path`; reproducing its outputs byte
//! for byte means reproducing these helpers' exact rules (which characters
//! are whitespace, which are line breaks, how quotes are chosen).

/// Python's `str.isspace()` for one character.
pub fn is_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

pub fn strip(s: &str) -> &str {
    s.trim_matches(is_space)
}

pub fn rstrip(s: &str) -> &str {
    s.trim_end_matches(is_space)
}

/// Python's `str.splitlines()` (without keepends).
pub fn splitlines(s: &str) -> Vec<&str> {
    let mut lines = Vec::new();
    let mut start = 0;
    let mut chars = s.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let brk = matches!(
            c,
            '\n' | '\r'
                | '\u{b}'
                | '\u{c}'
                | '\u{1c}'
                | '\u{1d}'
                | '\u{1e}'
                | '\u{85}'
                | '\u{2028}'
                | '\u{2029}'
        );
        if brk {
            lines.push(&s[start..i]);
            let mut end = i + c.len_utf8();
            if c == '\r'
                && let Some(&(j, '\n')) = chars.peek()
            {
                chars.next();
                end = j + 1;
            }
            start = end;
        }
    }
    if start < s.len() {
        lines.push(&s[start..]);
    }
    lines
}

/// Python's `repr()` of a `str`.
pub fn repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if is_printable(c) => out.push(c),
            c => match c as u32 {
                n @ ..0x100 => out.push_str(&format!("\\x{n:02x}")),
                n @ ..0x10000 => out.push_str(&format!("\\u{n:04x}")),
                n => out.push_str(&format!("\\U{n:08x}")),
            },
        }
    }
    out.push(quote);
    out
}

/// Python's `str.isprintable()` for one character: what `repr` leaves
/// unescaped.
pub fn is_printable(c: char) -> bool {
    let n = c as u32;
    if n < 0x7f {
        return n >= 0x20;
    }
    use super::printable::NOT_PRINTABLE;
    let i = NOT_PRINTABLE.partition_point(|&(_, end)| end < n);
    NOT_PRINTABLE.get(i).is_none_or(|&(start, _)| start > n)
}

/// Python's repr of a list of strings: `['a', 'b']`.
pub fn repr_list<S: AsRef<str>>(items: &[S]) -> String {
    let parts: Vec<String> = items.iter().map(|s| repr(s.as_ref())).collect();
    format!("[{}]", parts.join(", "))
}

/// `textwrap.dedent`.
pub fn dedent(text: &str) -> String {
    // Lines consisting solely of spaces and tabs become empty.
    let lines: Vec<&str> = text.split('\n').collect();
    let lines: Vec<&str> = lines
        .iter()
        .map(|l| {
            if !l.is_empty() && l.chars().all(|c| c == ' ' || c == '\t') {
                ""
            } else {
                l
            }
        })
        .collect();
    let mut margin: Option<&str> = None;
    for line in &lines {
        let indent_len = line.len() - line.trim_start_matches([' ', '\t']).len();
        if indent_len == line.len() {
            // No non-whitespace character (only possible for empty lines now).
            continue;
        }
        let indent = &line[..indent_len];
        margin = Some(match margin {
            None => indent,
            Some(m) if indent.starts_with(m) => m,
            Some(m) if m.starts_with(indent) => indent,
            Some(m) => {
                let common = m
                    .bytes()
                    .zip(indent.bytes())
                    .take_while(|(a, b)| a == b)
                    .count();
                &m[..common]
            }
        });
    }
    let margin = margin.unwrap_or("");
    let out: Vec<&str> = lines
        .iter()
        .map(|l| l.strip_prefix(margin).unwrap_or(l))
        .collect();
    out.join("\n")
}

/// `posixpath.isabs`.
pub fn isabs(p: &str) -> bool {
    p.starts_with('/')
}

/// `posixpath.join(a, b)`.
pub fn join(a: &str, b: &str) -> String {
    if isabs(b) {
        b.to_string()
    } else if a.is_empty() || a.ends_with('/') {
        format!("{a}{b}")
    } else {
        format!("{a}/{b}")
    }
}

/// `posixpath.dirname`.
pub fn dirname(p: &str) -> String {
    let i = p.rfind('/').map_or(0, |i| i + 1);
    let head = &p[..i];
    if !head.is_empty() && head.chars().any(|c| c != '/') {
        head.trim_end_matches('/').to_string()
    } else {
        head.to_string()
    }
}

/// `posixpath.basename`.
pub fn basename(p: &str) -> &str {
    p.rfind('/').map_or(p, |i| &p[i + 1..])
}

/// `posixpath.normpath`.
pub fn normpath(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let initial = if p.starts_with("//") && !p.starts_with("///") {
        2
    } else {
        usize::from(p.starts_with('/'))
    };
    let mut parts: Vec<&str> = Vec::new();
    for comp in p.split('/') {
        if comp.is_empty() || comp == "." {
            continue;
        }
        if comp != ".." || (initial == 0 && parts.is_empty()) || parts.last() == Some(&"..") {
            parts.push(comp);
        } else if !parts.is_empty() {
            parts.pop();
        }
    }
    let joined = parts.join("/");
    let out = format!("{}{}", "/".repeat(initial), joined);
    if out.is_empty() { ".".into() } else { out }
}

/// `posixpath.abspath` relative to `cwd`.
pub fn abspath(p: &str, cwd: &str) -> String {
    if isabs(p) {
        normpath(p)
    } else {
        normpath(&join(cwd, p))
    }
}

/// `posixpath.relpath(path, start)`, both absolute.
pub fn relpath(path: &str, start: &str) -> String {
    let path = normpath(path);
    let start = normpath(start);
    let pl: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let sl: Vec<&str> = start.split('/').filter(|s| !s.is_empty()).collect();
    let common = pl.iter().zip(&sl).take_while(|(a, b)| a == b).count();
    let mut rel: Vec<&str> = vec![".."; sl.len() - common];
    rel.extend(&pl[common..]);
    if rel.is_empty() {
        ".".into()
    } else {
        rel.join("/")
    }
}

/// `os.path.expanduser` for `~` and `~/...` (other users' homes are left
/// alone, as on a system without them).
pub fn expanduser(p: &str) -> String {
    if (p == "~" || p.starts_with("~/"))
        && let Some(home) = crate::env::home_dir()
    {
        let home = home.to_string_lossy().trim_end_matches('/').to_string();
        let home = if home.is_empty() {
            "/".to_string()
        } else {
            home
        };
        return format!("{home}{}", &p[1..]);
    }
    p.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dedent_like_textwrap() {
        assert_eq!(dedent("\n  a\n    b\n\n  c"), "\na\n  b\n\nc");
        assert_eq!(dedent("  a\n \n  b"), "a\n\nb");
        assert_eq!(dedent("\ta\n  b"), "\ta\n  b");
    }

    #[test]
    fn repr_like_python() {
        assert_eq!(repr("x"), "'x'");
        assert_eq!(repr("it's"), "\"it's\"");
        assert_eq!(repr("a'\""), "'a\\'\"'");
        assert_eq!(repr("l\n"), "'l\\n'");
    }

    #[test]
    fn repr_escapes_what_python_finds_unprintable() {
        // Expected texts from Python 3.11's repr().
        assert_eq!(repr("\u{feff}[buildout]\n"), r"'\ufeff[buildout]\n'");
        assert_eq!(
            repr("bad\x07line\tx\x7f\u{85}\u{2028} é 😀 \u{378} \u{a0}\u{e0001}\u{e000}"),
            r"'bad\x07line\tx\x7f\x85\u2028 é 😀 \u0378 \xa0\U000e0001\ue000'"
        );
        assert!(is_printable(' ') && is_printable('~') && is_printable('é'));
        assert!(!is_printable('\u{10ffff}') && !is_printable('\u{3000}'));
    }

    #[test]
    fn paths_like_posixpath() {
        assert_eq!(dirname("/a/b.cfg"), "/a");
        assert_eq!(dirname("b.cfg"), "");
        assert_eq!(dirname("/b.cfg"), "/");
        assert_eq!(normpath("/a/./b/../c//d/"), "/a/c/d");
        assert_eq!(normpath("../a"), "../a");
        assert_eq!(abspath("x/../y.cfg", "/w"), "/w/y.cfg");
        assert_eq!(relpath("/a/b/c.cfg", "/a/b"), "c.cfg");
        assert_eq!(relpath("/a/x.cfg", "/a/b"), "../x.cfg");
        assert_eq!(relpath("/a/b", "/a/b"), ".");
        assert_eq!(join("/a", "/b"), "/b");
    }

    #[test]
    fn splitlines_like_python() {
        assert_eq!(splitlines("a\nb\r\nc\rd\n"), vec!["a", "b", "c", "d"]);
        assert_eq!(splitlines(""), Vec::<&str>::new());
        assert_eq!(splitlines("a\n\nb"), vec!["a", "", "b"]);
    }
}
