//! PEP 508 requirement strings: `name[extra1,extra2] (>=1,<2) ; marker` and
//! `name @ url ; marker`.
//!
//! Parsing is what `packaging.requirements.Requirement` accepts (which is
//! what zc.buildout and pip use): specifiers may be parenthesised, a trailing
//! comma in specifier and extra lists is allowed, whitespace around every
//! token is ignored. [`Requirement`]'s `Display` is packaging's `str()`
//! (extras sorted, specifiers sorted by their text and joined with `,`,
//! `; marker` at the end), because zc.buildout's messages quote requirements
//! that way (`The requirement ('demo>0.2') is not allowed ...`).

use std::fmt;
use std::str::FromStr;

use pep440_rs::{Operator, Version, VersionSpecifier, VersionSpecifiers};

use super::marker::{Marker, canonicalize_name};
use super::name::PackageName;

/// A parsed PEP 508 requirement.
#[derive(Debug, Clone)]
pub struct Requirement {
    /// The distribution name (normalised for comparison, spelling kept).
    pub name: PackageName,
    /// Requested extras, as written (compare with [`Requirement::has_extra`]
    /// or through [`canonicalize_name`]).
    pub extras: Vec<String>,
    /// The version specifiers (empty: any version).
    pub specifiers: VersionSpecifiers,
    /// The marker after `;`, if any.
    pub marker: Option<Marker>,
    /// The direct reference after `@`, if any, kept verbatim.
    pub url: Option<String>,
    /// Each specifier's text as written (whitespace removed), for `Display`;
    /// `None` once the specifiers were replaced programmatically.
    spec_texts: Option<Vec<String>>,
}

/// Why a requirement string could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid requirement `{text}`: {message} at position {position}")]
pub struct ParseError {
    /// What went wrong (lowercase, no position).
    pub message: String,
    /// Character offset (0-based) in `text` where parsing failed.
    pub position: usize,
    /// The requirement text.
    pub text: String,
}

pub type Result<T, E = ParseError> = std::result::Result<T, E>;

impl Requirement {
    /// A requirement on `name` with no extras, specifiers, marker or URL.
    pub fn bare(name: PackageName) -> Self {
        Requirement {
            name,
            extras: Vec::new(),
            specifiers: VersionSpecifiers::empty(),
            marker: None,
            url: None,
            spec_texts: Some(Vec::new()),
        }
    }

    /// The same requirement with other specifiers.
    pub fn with_specifiers(mut self, specifiers: VersionSpecifiers) -> Self {
        self.specifiers = specifiers;
        self.spec_texts = None;
        self
    }

    /// Whether `extra` is requested (PEP 685 comparison).
    pub fn has_extra(&self, extra: &str) -> bool {
        let want = canonicalize_name(extra);
        self.extras.iter().any(|e| canonicalize_name(e) == want)
    }

    /// The extras in PEP 685 normal form, sorted and deduplicated.
    pub fn normalized_extras(&self) -> Vec<String> {
        let mut out: Vec<String> = self.extras.iter().map(|e| canonicalize_name(e)).collect();
        out.sort();
        out.dedup();
        out
    }

    /// The single version this requirement fixes, if its specifiers are
    /// exactly one `==V` (no wildcard) or `===V`: zc.buildout's test for a
    /// pinned ("not picked") requirement, and PEP 592's exact pin.
    pub fn exact_version(&self) -> Option<&Version> {
        exact_version(&self.specifiers)
    }

    /// The specifier texts, as packaging prints them (sorted by text).
    fn sorted_spec_texts(&self) -> Vec<String> {
        let mut texts = match &self.spec_texts {
            Some(texts) => texts.clone(),
            None => self.specifiers.iter().map(ToString::to_string).collect(),
        };
        texts.sort();
        texts
    }

    /// The specifiers as packaging prints them (`<2.0,>=1.0`).
    pub fn specifier_text(&self) -> String {
        self.sorted_spec_texts().join(",")
    }
}

/// `Some(V)` if `specifiers` is exactly one `==V` (no wildcard) or `===V`.
pub fn exact_version(specifiers: &VersionSpecifiers) -> Option<&Version> {
    match &specifiers[..] {
        [one] if matches!(one.operator(), Operator::Equal | Operator::ExactEqual) => {
            Some(one.version())
        }
        _ => None,
    }
}

impl PartialEq for Requirement {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
            && self.normalized_extras() == other.normalized_extras()
            && self.specifiers == other.specifiers
            && self.marker == other.marker
            && self.url == other.url
    }
}

impl Eq for Requirement {}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name.original())?;
        if !self.extras.is_empty() {
            let mut extras = self.extras.clone();
            extras.sort();
            write!(f, "[{}]", extras.join(","))?;
        }
        f.write_str(&self.specifier_text())?;
        if let Some(url) = &self.url {
            write!(f, " @ {url}")?;
            if self.marker.is_some() {
                f.write_str(" ")?;
            }
        }
        if let Some(marker) = &self.marker {
            write!(f, "; {marker}")?;
        }
        Ok(())
    }
}

impl FromStr for Requirement {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self> {
        Parser { src: s, pos: 0 }.parse()
    }
}

struct Parser<'s> {
    src: &'s str,
    /// Byte offset into `src`.
    pos: usize,
}

impl Parser<'_> {
    fn rest(&self) -> &str {
        &self.src[self.pos..]
    }

    fn error_at<T>(&self, byte_pos: usize, message: impl Into<String>) -> Result<T> {
        Err(ParseError {
            message: message.into(),
            position: self.src[..byte_pos].chars().count(),
            text: self.src.to_string(),
        })
    }

    fn error<T>(&self, message: impl Into<String>) -> Result<T> {
        self.error_at(self.pos, message)
    }

    fn skip_ws(&mut self) {
        let rest = self.rest();
        self.pos += rest.len() - rest.trim_start().len();
    }

    fn eat(&mut self, c: char) -> bool {
        if self.rest().starts_with(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    /// `[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?`
    fn identifier(&mut self, what: &str) -> Result<&str> {
        let start = self.pos;
        let len = self
            .rest()
            .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
            .unwrap_or(self.rest().len());
        let word = &self.src[start..start + len];
        if word.is_empty() || !word.starts_with(|c: char| c.is_ascii_alphanumeric()) {
            return self.error(format!("expected {what}"));
        }
        if !word.ends_with(|c: char| c.is_ascii_alphanumeric()) {
            return self.error_at(
                start + len - 1,
                format!("{what} must end with a letter or digit"),
            );
        }
        self.pos += len;
        Ok(word)
    }

    fn parse(mut self) -> Result<Requirement> {
        self.skip_ws();
        let name_start = self.pos;
        let name = self.identifier("a distribution name")?.to_string();
        let name = match PackageName::new(&name) {
            Ok(name) => name,
            Err(_) => return self.error_at(name_start, "invalid distribution name"),
        };
        self.skip_ws();
        let extras = if self.eat('[') {
            self.extras()?
        } else {
            Vec::new()
        };
        self.skip_ws();

        let mut requirement = Requirement::bare(name);
        requirement.extras = extras;
        if self.eat('@') {
            self.skip_ws();
            let start = self.pos;
            let len = self
                .rest()
                .find(char::is_whitespace)
                .unwrap_or(self.rest().len());
            let url = &self.src[start..start + len];
            if url.is_empty() {
                return self.error("expected a URL after `@`");
            }
            if !url.contains(':') {
                return self.error("expected a URL with a scheme after `@`");
            }
            // A `;` glued to the URL belongs to the URL (PEP 508 needs
            // whitespace before the marker of a URL requirement).
            requirement.url = Some(url.to_string());
            self.pos += len;
            let before_ws = self.pos;
            self.skip_ws();
            if !self.rest().is_empty() && (!self.rest().starts_with(';') || before_ws == self.pos) {
                return self.error("expected end of URL requirement or `;` after whitespace");
            }
        } else {
            let (specifiers, texts) = self.specifiers()?;
            requirement.specifiers = specifiers;
            requirement.spec_texts = Some(texts);
        }

        self.skip_ws();
        if self.eat(';') {
            let offset = self.pos;
            let text = self.rest();
            if text.trim().is_empty() {
                return self.error("expected a marker after `;`");
            }
            match Marker::from_str(text) {
                Ok(marker) => requirement.marker = Some(marker),
                Err(err) => {
                    let byte = text
                        .char_indices()
                        .nth(err.position)
                        .map_or(text.len(), |(i, _)| i);
                    return self.error_at(offset + byte, err.message);
                }
            }
        } else if !self.rest().is_empty() {
            return self.error("expected a version specifier, `;` or end of requirement");
        }
        Ok(requirement)
    }

    /// After `[`: `extra (, extra)* ,? ]`.
    fn extras(&mut self) -> Result<Vec<String>> {
        let mut extras = Vec::new();
        loop {
            self.skip_ws();
            if self.eat(']') {
                return Ok(extras);
            }
            extras.push(self.identifier("an extra name")?.to_string());
            self.skip_ws();
            if self.eat(',') {
                continue;
            }
            if self.eat(']') {
                return Ok(extras);
            }
            return self.error("expected `,` or `]` after extra name");
        }
    }

    /// Optional `(`, then `spec (, spec)*`, then `)` if opened.
    fn specifiers(&mut self) -> Result<(VersionSpecifiers, Vec<String>)> {
        let open = self.pos;
        let parenthesised = self.eat('(');
        let start = self.pos;
        let end_rel = self
            .rest()
            .find(|c: char| c == ';' || (parenthesised && c == ')'))
            .unwrap_or(self.rest().len());
        let body = &self.src[start..start + end_rel];
        self.pos = start + end_rel;
        if parenthesised && !self.eat(')') {
            return self.error_at(open, "expected `)` to close the version specifiers");
        }

        let mut specs = Vec::new();
        let mut texts = Vec::new();
        let mut offset = start;
        let pieces: Vec<&str> = body.split(',').collect();
        let count = pieces.len();
        for (i, piece) in pieces.into_iter().enumerate() {
            let trimmed = piece.trim();
            let lead = piece.len() - piece.trim_start().len();
            if trimmed.is_empty() {
                // `>=1,` (trailing comma) and an empty body are allowed.
                if (i + 1 == count && i > 0) || count == 1 {
                    offset += piece.len() + 1;
                    continue;
                }
                return self.error_at(offset + lead, "expected a version specifier");
            }
            if !trimmed.starts_with(['<', '>', '=', '!', '~']) {
                return self.error_at(
                    offset + lead,
                    "expected a version specifier (`==`, `>=`, `<`, ...)",
                );
            }
            match VersionSpecifier::from_str(trimmed) {
                Ok(spec) => {
                    specs.push(spec);
                    texts.push(trimmed.split_whitespace().collect::<String>());
                }
                Err(err) => {
                    return self.error_at(
                        offset + lead,
                        format!("invalid version specifier `{trimmed}`: {err}"),
                    );
                }
            }
            offset += piece.len() + 1;
        }
        Ok((specs.into_iter().collect(), texts))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(s: &str) -> Requirement {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn parses_name_extras_specifiers_and_marker() {
        let r = req("bar>=1.0,<2.0;python_version<\"3.12\"");
        assert_eq!(r.name.as_str(), "bar");
        assert!(r.extras.is_empty());
        assert_eq!(r.specifiers.len(), 2);
        assert!(r.specifiers.contains(&"1.5".parse().unwrap()));
        assert!(!r.specifiers.contains(&"2.0".parse().unwrap()));
        assert_eq!(
            r.marker.as_ref().unwrap().to_string(),
            "python_version < \"3.12\""
        );
        assert_eq!(r.to_string(), "bar<2.0,>=1.0; python_version < \"3.12\"");
    }

    #[test]
    fn dotted_name_with_extra() {
        let r = req("zope.site[test]");
        assert_eq!(r.name.as_str(), "zope-site");
        assert_eq!(r.name.original(), "zope.site");
        assert_eq!(r.extras, vec!["test"]);
        assert!(r.specifiers.is_empty());
        assert_eq!(r.to_string(), "zope.site[test]");
    }

    #[test]
    fn wildcard_specifier() {
        let r = req("foo==1.0.*");
        assert!(r.specifiers.contains(&"1.0.5".parse().unwrap()));
        assert!(!r.specifiers.contains(&"1.1".parse().unwrap()));
        assert_eq!(r.exact_version(), None);
        assert_eq!(r.to_string(), "foo==1.0.*");
    }

    #[test]
    fn parenthesised_specifiers_old_style() {
        let r = req("Name (>=1.0)");
        assert_eq!(r.name.original(), "Name");
        assert_eq!(r.to_string(), "Name>=1.0");
        let r = req("Name (>= 1.0, < 2) ; os_name == 'posix'");
        assert_eq!(r.to_string(), "Name<2,>=1.0; os_name == \"posix\"");
    }

    #[test]
    fn whitespace_and_trailing_commas() {
        let r = req("  demo >0.2 ");
        assert_eq!(r.to_string(), "demo>0.2");
        let r = req("a[ x , y, ] >=1,");
        assert_eq!(r.extras, vec!["x", "y"]);
        assert_eq!(r.to_string(), "a[x,y]>=1");
        let r = req("a[]");
        assert!(r.extras.is_empty());
    }

    #[test]
    fn exact_version_is_single_equals() {
        assert_eq!(req("a==1.0").exact_version(), Some(&"1.0".parse().unwrap()));
        assert_eq!(
            req("a===1.0").exact_version(),
            Some(&"1.0".parse().unwrap())
        );
        assert_eq!(req("a==1.0,<2").exact_version(), None);
        assert_eq!(req("a>=1.0").exact_version(), None);
    }

    #[test]
    fn url_requirements_are_kept() {
        let r = req("pip @ https://example.org/pip-1.0.whl");
        assert_eq!(r.url.as_deref(), Some("https://example.org/pip-1.0.whl"));
        assert_eq!(r.to_string(), "pip @ https://example.org/pip-1.0.whl");
        let r = req("pip[x] @ file:///tmp/pip.whl ; sys_platform == 'linux'");
        assert_eq!(
            r.to_string(),
            "pip[x] @ file:///tmp/pip.whl ; sys_platform == \"linux\""
        );
    }

    #[test]
    fn extras_compare_normalised() {
        let r = req("a[Foo_Bar]");
        assert!(r.has_extra("foo-bar"));
        assert_eq!(r.normalized_extras(), vec!["foo-bar"]);
        assert_eq!(req("A[x,y]"), req("a[y, x]"));
    }

    #[test]
    fn errors_carry_positions() {
        let cases = [
            ("", 0, "expected a distribution name"),
            ("-a", 0, "expected a distribution name"),
            (
                "a-",
                1,
                "a distribution name must end with a letter or digit",
            ),
            ("a[b", 3, "expected `,` or `]` after extra name"),
            ("a >=", 2, "invalid version specifier"),
            ("a 1.0", 2, "expected a version specifier"),
            ("a (>=1", 2, "expected `)`"),
            ("a>=1,,<2", 5, "expected a version specifier"),
            ("a; bogus == 'x'", 3, ""),
            ("a;", 2, "expected a marker"),
            ("a @ ", 4, "expected a URL"),
            ("a @ https://x/y.whl junk", 20, "expected end of URL"),
            ("a @ nourl", 4, "expected a URL with a scheme"),
        ];
        for (text, position, message) in cases {
            let err = Requirement::from_str(text).unwrap_err();
            assert_eq!(err.position, position, "{text}: {err}");
            assert!(err.message.contains(message), "{text}: {err}");
        }
    }

    #[test]
    fn marker_evaluation_follows_the_environment() {
        let r = req("x; extra == 'test'");
        let env = crate::python::MarkerEnvironment {
            implementation_name: "cpython".into(),
            implementation_version: "3.11.7".into(),
            os_name: "posix".into(),
            platform_machine: "x86_64".into(),
            platform_python_implementation: "CPython".into(),
            platform_release: "6.1".into(),
            platform_system: "Linux".into(),
            platform_version: "#1".into(),
            python_full_version: "3.11.7".into(),
            python_version: "3.11".into(),
            sys_platform: "linux".into(),
        };
        let m = r.marker.unwrap();
        assert!(m.evaluate(&env, &["test"]));
        assert!(!m.evaluate(&env, &[]));
    }
}
