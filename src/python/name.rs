//! Distribution names, normalised (PEP 503) at construction.

use std::fmt;
use std::str::FromStr;

/// A distribution name in PEP 503 normal form (`Zope.Interface` →
/// `zope-interface`). Comparisons and hashing use the normal form; the
/// spelling the user wrote is kept for messages.
#[derive(Debug, Clone)]
pub struct PackageName {
    normalized: String,
    original: String,
}

/// A name that is not a valid distribution name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid distribution name `{0}`: names are letters, digits, `-`, `_` and `.`, starting and ending with a letter or digit"
)]
pub struct InvalidName(pub String);

impl PackageName {
    /// Validates and normalises `name`.
    pub fn new(name: &str) -> Result<Self, InvalidName> {
        let valid = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            && name.starts_with(|c: char| c.is_ascii_alphanumeric())
            && name.ends_with(|c: char| c.is_ascii_alphanumeric());
        if !valid {
            return Err(InvalidName(name.to_string()));
        }
        Ok(Self {
            normalized: super::marker::canonicalize_name(name),
            original: name.to_string(),
        })
    }

    /// The PEP 503 normal form.
    pub fn as_str(&self) -> &str {
        &self.normalized
    }

    /// The name as it was written.
    pub fn original(&self) -> &str {
        &self.original
    }
}

impl fmt::Display for PackageName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.normalized)
    }
}

impl FromStr for PackageName {
    type Err = InvalidName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl PartialEq for PackageName {
    fn eq(&self, other: &Self) -> bool {
        self.normalized == other.normalized
    }
}

impl Eq for PackageName {}

impl std::hash::Hash for PackageName {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.normalized.hash(state);
    }
}

impl PartialOrd for PackageName {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for PackageName {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.normalized.cmp(&other.normalized)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_and_compares_by_normal_form() {
        let a = PackageName::new("Zope.Interface").unwrap();
        let b = PackageName::new("zope_interface").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.as_str(), "zope-interface");
        assert_eq!(a.original(), "Zope.Interface");
    }

    #[test]
    fn rejects_invalid_names() {
        for bad in ["", "-a", "a-", "a b", "a/b"] {
            assert!(PackageName::new(bad).is_err(), "{bad}");
        }
    }
}
