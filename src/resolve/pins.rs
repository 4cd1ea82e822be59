//! zc.buildout's `[versions]` rules: reading the section and constraining
//! requirements with it (`Installer._constrain` /
//! `_constrained_requirement`).
//!
//! * `X` or `==X`: an exact pin. The requirement must allow `X`, otherwise
//!   zc.buildout's `IncompatibleConstraintError` text; the constrained
//!   requirement is `name==X` (extras and marker kept).
//! * a value starting with `<` or `>` (`>=2.0`, `<99`, `>=1,<2`): AND-ed with
//!   the requirement's specifiers.
//! * an empty value: unpinned.
//! * names are compared in PEP 503 normal form (case, `-_.`).

use std::collections::BTreeMap;
use std::str::FromStr;

use pep440_rs::{Version, VersionSpecifier, VersionSpecifiers};

use crate::python::{PackageName, Requirement};

/// Why a `[versions]` section could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("invalid distribution name `{0}` in [versions]")]
    Name(String),
    #[error("invalid version `{value}` for `{name}` in [versions]")]
    Version { name: String, value: String },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// One `[versions]` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pin {
    /// `X` or `==X`; the text is `X` as written.
    Exact(Version, String),
    /// `<...` or `>...`; the text as written.
    Range(VersionSpecifiers, String),
}

impl Pin {}

/// The requirement is not allowed by an exact `[versions]` pin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incompatible {
    /// The requirement before constraining.
    pub requirement: Box<Requirement>,
    /// The pinned version, as written.
    pub version: String,
}

/// The `[versions]` section, names normalised.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pins {
    pins: BTreeMap<PackageName, Pin>,
}

impl Pins {
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads a `[versions]` section (option name → value). Empty values are
    /// skipped; when two spellings of one name are given, the later one in
    /// the map's order wins (zc.buildout's dict behaves the same way).
    pub fn from_section(section: &BTreeMap<String, String>) -> Result<Self> {
        let mut pins = Pins::new();
        for (name, value) in section {
            pins.insert(name, value)?;
        }
        Ok(pins)
    }

    /// Adds or replaces one pin (`value` empty: removes it).
    pub fn insert(&mut self, name: &str, value: &str) -> Result<()> {
        let pname = PackageName::new(name.trim()).map_err(|_| Error::Name(name.to_string()))?;
        let value = value.trim();
        if value.is_empty() {
            self.pins.remove(&pname);
            return Ok(());
        }
        let bad = || Error::Version {
            name: name.to_string(),
            value: value.to_string(),
        };
        let pin = if value.starts_with(['<', '>']) {
            Pin::Range(
                VersionSpecifiers::from_str(value).map_err(|_| bad())?,
                value.to_string(),
            )
        } else {
            let text = value.strip_prefix("==").unwrap_or(value).trim();
            Pin::Exact(
                Version::from_str(text).map_err(|_| bad())?,
                text.to_string(),
            )
        };
        self.pins.insert(pname, pin);
        Ok(())
    }

    /// The exact version `name` is pinned to, if it is.
    pub fn exact(&self, name: &PackageName) -> Option<&Version> {
        match self.pins.get(name) {
            Some(Pin::Exact(v, _)) => Some(v),
            _ => None,
        }
    }

    /// `requirement` with its pin applied (zc.buildout's `_constrain`).
    pub fn constrain(&self, requirement: &Requirement) -> Result<Requirement, Incompatible> {
        let Some(pin) = self.pins.get(&requirement.name) else {
            return Ok(requirement.clone());
        };
        match pin {
            Pin::Exact(version, text) => {
                // pkg_resources' `version in requirement` admits
                // pre-releases.
                if !requirement.specifiers.contains(version) {
                    return Err(Incompatible {
                        requirement: Box::new(requirement.clone()),
                        version: text.clone(),
                    });
                }
                let spec = VersionSpecifier::equals_version(version.clone());
                Ok(requirement
                    .clone()
                    .with_specifiers(VersionSpecifiers::from(spec)))
            }
            Pin::Range(specs, _) => {
                let joined: VersionSpecifiers = requirement
                    .specifiers
                    .iter()
                    .chain(specs.iter())
                    .cloned()
                    .collect();
                Ok(requirement.clone().with_specifiers(joined))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pins(entries: &[(&str, &str)]) -> Pins {
        let map = entries
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Pins::from_section(&map).unwrap()
    }

    fn req(s: &str) -> Requirement {
        s.parse().unwrap()
    }

    #[test]
    fn bare_and_double_equals_pins_are_exact() {
        let p = pins(&[("demo", "0.3"), ("other", "==1.0")]);
        assert_eq!(p.constrain(&req("demo")).unwrap().to_string(), "demo==0.3");
        assert_eq!(
            p.constrain(&req("Other>=0.5")).unwrap().to_string(),
            "Other==1.0"
        );
        assert_eq!(
            p.constrain(&req("demo[x]>0.1; os_name == 'posix'"))
                .unwrap()
                .to_string(),
            "demo[x]==0.3; os_name == \"posix\""
        );
    }

    #[test]
    fn incompatible_exact_pin_is_reported() {
        let p = pins(&[("demo", "0.2")]);
        let err = p.constrain(&req("demo>0.2")).unwrap_err();
        assert_eq!(err.requirement.to_string(), "demo>0.2");
        assert_eq!(err.version, "0.2");
    }

    #[test]
    fn range_pins_are_anded() {
        let p = pins(&[("demo", ">=2.0"), ("x", "<99")]);
        let r = p.constrain(&req("demo<3")).unwrap();
        assert!(r.specifiers.contains(&"2.5".parse().unwrap()));
        assert!(!r.specifiers.contains(&"1.5".parse().unwrap()));
        assert!(!r.specifiers.contains(&"3.0".parse().unwrap()));
        assert_eq!(r.to_string(), "demo<3,>=2.0");
        assert_eq!(p.constrain(&req("x")).unwrap().to_string(), "x<99");
    }

    #[test]
    fn empty_values_unpin_and_names_are_normalised() {
        let p = pins(&[("Zope.Interface", "5.0"), ("demo", "")]);
        assert!(!p.pins.contains_key(&"demo".parse::<PackageName>().unwrap()));
        let r = p.constrain(&req("zope_interface")).unwrap();
        assert_eq!(r.exact_version(), Some(&"5.0".parse().unwrap()));
    }

    #[test]
    fn invalid_values_are_errors() {
        let map = [("a".to_string(), "~=1.0".to_string())]
            .into_iter()
            .collect();
        assert!(matches!(
            Pins::from_section(&map),
            Err(Error::Version { .. })
        ));
        let map = [("-a".to_string(), "1".to_string())].into_iter().collect();
        assert!(matches!(Pins::from_section(&map), Err(Error::Name(_))));
    }
}
