//! Where the resolver learns what exists: the [`Provider`] trait (versions,
//! metadata, what the store already has) and [`MemoryProvider`], an
//! in-memory registry for tests and for callers that gathered everything
//! up front.
//!
//! A provider does the IO (index pages, `METADATA` files, the store); the
//! solver only asks. Answers should be cached by the provider if they are
//! expensive: the solver may ask for the same thing more than once.

#[cfg(test)]
use std::collections::BTreeMap;

use pep440_rs::{Version, VersionSpecifiers};

use crate::python::{PackageName, Requirement};

/// One released version of a distribution, as an index lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub version: Version,
    /// The `Requires-Python` of its files (`data-requires-python`), if known.
    pub requires_python: Option<VersionSpecifiers>,
    /// Whether every file of this version is yanked (PEP 592).
    pub yanked: bool,
}

impl Candidate {
    /// A non-yanked candidate without a `Requires-Python`.
    pub fn new(version: Version) -> Self {
        Candidate {
            version,
            requires_python: None,
            yanked: false,
        }
    }

    /// Whether this is a pre-release or development release (PEP 440).
    pub fn is_prerelease(&self) -> bool {
        self.version.any_prerelease()
    }
}

/// The dependency metadata of one version of a distribution.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dependencies {
    /// The `Name` field, spelled as the distribution spells it (used in
    /// picked-versions output, like zc.buildout's `dist.project_name`).
    pub name: Option<String>,
    /// `Requires-Dist`, markers not yet evaluated.
    pub requires_dist: Vec<Requirement>,
    /// `Provides-Extra`.
    pub provides_extra: Vec<String>,
    /// `Requires-Python` of the metadata.
    pub requires_python: Option<VersionSpecifiers>,
}

/// Why a provider could not answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// The project does not exist (no index page, nothing in find-links).
    #[error("no distribution named `{0}` was found")]
    NotFound(PackageName),
    /// Anything else (network, unreadable metadata, a failed build).
    #[error("{0}")]
    Other(String),
}

/// What the solver asks the outside world.
pub trait Provider {
    /// Every known version of `name`, in any order.
    fn versions(&self, name: &PackageName) -> Result<Vec<Candidate>, ProviderError>;

    /// The dependency metadata of `name` at `version`.
    fn metadata(
        &self,
        name: &PackageName,
        version: &Version,
    ) -> Result<Dependencies, ProviderError>;

    /// The versions of `name` the store already has (reused first when
    /// `newest = false`). They are candidates even if [`Provider::versions`]
    /// does not list them (offline).
    fn installed(&self, _name: &PackageName) -> Vec<Version> {
        Vec::new()
    }

    /// Whether `name` is a local project (a develop egg): its one version
    /// is the only candidate.
    fn is_local(&self, _name: &PackageName) -> bool {
        false
    }

    /// The solver will soon ask about `requirements` (a distribution's
    /// dependencies, markers already evaluated): a provider that does IO
    /// may start fetching what they need now. Must not block.
    fn prefetch(&self, _requirements: &[Requirement]) {}
}

#[cfg(test)]
/// An in-memory registry.
#[derive(Debug, Clone, Default)]
pub struct MemoryProvider {
    dists: BTreeMap<PackageName, BTreeMap<Version, (Candidate, Dependencies)>>,
    installed: BTreeMap<PackageName, Vec<Version>>,
}

#[cfg(test)]
/// Why [`MemoryProvider::add`] rejected its input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddError {
    #[error("invalid distribution name `{0}`")]
    Name(String),
    #[error("invalid version `{0}`")]
    Version(String),
    #[error(transparent)]
    Requirement(#[from] crate::python::requirement::ParseError),
}

#[cfg(test)]
impl MemoryProvider {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `name version` requiring `requires` (PEP 508 strings), with
    /// `Provides-Extra` computed from the `extra == "..."` markers used.
    pub fn add(&mut self, name: &str, version: &str, requires: &[&str]) -> Result<(), AddError> {
        let requires_dist = requires
            .iter()
            .map(|r| r.parse::<Requirement>())
            .collect::<Result<Vec<_>, _>>()?;
        let mut provides_extra = Vec::new();
        for r in &requires_dist {
            if let Some(marker) = &r.marker {
                collect_extras(marker.tree(), &mut provides_extra);
            }
        }
        provides_extra.sort();
        provides_extra.dedup();
        let deps = Dependencies {
            name: Some(name.to_string()),
            requires_dist,
            provides_extra,
            requires_python: None,
        };
        self.add_with(name, version, |_, d| *d = deps)
    }

    /// Adds `name version` and lets `edit` adjust its candidate and metadata.
    pub fn add_with(
        &mut self,
        name: &str,
        version: &str,
        edit: impl FnOnce(&mut Candidate, &mut Dependencies),
    ) -> Result<(), AddError> {
        let pname = PackageName::new(name).map_err(|_| AddError::Name(name.to_string()))?;
        let v: Version = version
            .parse()
            .map_err(|_| AddError::Version(version.to_string()))?;
        let entry = self
            .dists
            .entry(pname)
            .or_default()
            .entry(v.clone())
            .or_insert_with(|| {
                (
                    Candidate::new(v),
                    Dependencies {
                        name: Some(name.to_string()),
                        ..Dependencies::default()
                    },
                )
            });
        edit(&mut entry.0, &mut entry.1);
        Ok(())
    }

    /// Marks `name version` as already in the store (with no requirements
    /// unless [`MemoryProvider::add`] describes it too).
    pub fn install(&mut self, name: &str, version: &str) -> Result<(), AddError> {
        let pname = PackageName::new(name).map_err(|_| AddError::Name(name.to_string()))?;
        let v: Version = version
            .parse()
            .map_err(|_| AddError::Version(version.to_string()))?;
        self.installed.entry(pname).or_default().push(v);
        Ok(())
    }
}

#[cfg(test)]
fn collect_extras(tree: &crate::python::marker::MarkerTree, out: &mut Vec<String>) {
    use crate::python::marker::{MarkerTree, Operand};
    match tree {
        MarkerTree::Compare(l, _, r) => match (l, r) {
            (Operand::Variable(v), Operand::Value(e))
            | (Operand::Value(e), Operand::Variable(v))
                if v == "extra" =>
            {
                out.push(e.clone());
            }
            _ => {}
        },
        MarkerTree::And(items) | MarkerTree::Or(items) => {
            for item in items {
                collect_extras(item, out);
            }
        }
    }
}

#[cfg(test)]
impl Provider for MemoryProvider {
    fn versions(&self, name: &PackageName) -> Result<Vec<Candidate>, ProviderError> {
        match self.dists.get(name) {
            Some(versions) => Ok(versions.values().map(|(c, _)| c.clone()).collect()),
            None if self.installed.contains_key(name) => Ok(Vec::new()),
            None => Err(ProviderError::NotFound(name.clone())),
        }
    }

    fn metadata(
        &self,
        name: &PackageName,
        version: &Version,
    ) -> Result<Dependencies, ProviderError> {
        if let Some((_, d)) = self.dists.get(name).and_then(|v| v.get(version)) {
            return Ok(d.clone());
        }
        // Installed without index metadata: no requirements.
        if self.installed(name).contains(version) {
            return Ok(Dependencies {
                name: Some(name.original().to_string()),
                ..Dependencies::default()
            });
        }
        Err(ProviderError::Other(format!(
            "no metadata for {name} {version}"
        )))
    }

    fn installed(&self, name: &PackageName) -> Vec<Version> {
        self.installed.get(name).cloned().unwrap_or_default()
    }
}
