//! Dependency resolution: which distribution versions a buildout uses.
//!
//! [`resolve`] takes the requirements of a part (PEP 508), a [`Provider`]
//! (what exists, and what the store already has) and [`Options`] (the one
//! interpreter, `[versions]`, `prefer-final`, `newest`, ...), and returns a
//! [`Resolution`]: the distributions to install, and which of their versions
//! were *picked* (not fixed by an exact pin), for `show-picked-versions`,
//! `update-versions-file` and `allow-picked-versions = false`.
//!
//! * [`provider`]: the [`Provider`] trait and an in-memory registry;
//! * [`pins`]: zc.buildout's `[versions]` rules;
//! * [`lock`]: the PEP 751 lock file (`pylock.<config>.toml`);
//! * `solver`: PubGrub over PEP 440 versions (pure, no IO);
//! * [`report`]: zc.buildout's picked-versions texts and conflict
//!   explanations.
//!
//! Unlike zc.buildout, which is greedy and stops at the first clash, the
//! solver backtracks; where zc.buildout would have succeeded both give the
//! same versions for the usual cases (highest version, finals preferred, the
//! store's versions first with `newest = false`). Error texts that are part
//! of zc.buildout's user interface are kept verbatim (capitalised, with a
//! final period): `The requirement (...) is not allowed by your [versions]
//! constraint (...)`, `Couldn't find a distribution for '...'.`, the
//! `allow-picked-versions = false` text, the unknown-extra text and `There is
//! a version conflict.`.
//!
//! Nothing here does IO or prints.

pub mod lock;
pub mod pins;
pub mod provider;
pub mod report;
mod solver;

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::fmt;

use pep440_rs::Version;

use crate::python::{MarkerEnvironment, PackageName, Requirement};
pub use pins::Pins;
#[cfg(test)]
pub use provider::MemoryProvider;
pub use provider::{Candidate, Dependencies, Provider, ProviderError};
use solver::{Pkg, Solver};

/// Why a resolution failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A requirement is not allowed by an exact `[versions]` pin
    /// (zc.buildout's `IncompatibleConstraintError`).
    #[error(
        "The requirement ({}) is not allowed by your [versions] constraint ({version})",
        report::py_repr(requirement)
    )]
    IncompatibleConstraint {
        requirement: String,
        version: String,
        /// Plain-words explanation (who requires it), if not a root.
        explanation: Vec<String>,
    },
    /// Nothing satisfies a requirement (zc.buildout's `MissingDistribution`).
    #[error("Couldn't find a distribution for {}.", report::py_repr(requirement))]
    MissingDistribution {
        requirement: String,
        explanation: Vec<String>,
    },
    /// A version was picked and `allow-picked-versions = false`.
    #[error("{}", report::picked_not_allowed(name, version))]
    PickedVersion { name: String, version: String },
    /// A requirement names an extra its distribution does not provide and
    /// `allow-unknown-extras = false`.
    #[error(
        "Couldn't find the required extra. This means the requirement is incorrect. If the requirement is itself from software you requested, then there might be a bug in requested software. You can ignore this by using 'allow-unknown-extras=true', however that may simply cause needed software to be omitted."
    )]
    UnknownExtra { dist: String, extra: String },
    /// The requirements contradict each other.
    #[error("{0}")]
    Conflict(Conflict),
    /// The provider failed.
    #[error("cannot get the versions of `{name}`: {source}")]
    Provider {
        name: PackageName,
        #[source]
        source: ProviderError,
    },
    #[error(transparent)]
    Pins(#[from] pins::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The plain-words explanation of a failed resolution (one sentence a
    /// line): which requirement of which distribution clashes with what.
    /// Empty when the message says it all.
    pub fn explanation(&self) -> &[String] {
        match self {
            Error::IncompatibleConstraint { explanation, .. }
            | Error::MissingDistribution { explanation, .. } => explanation,
            Error::Conflict(c) => &c.explanation,
            _ => &[],
        }
    }

    /// The message followed by its [`Self::explanation`], a line each.
    pub fn explained(&self) -> String {
        let mut text = self.to_string();
        for line in self.explanation() {
            text.push('\n');
            text.push_str(line);
        }
        text
    }
}

/// Requirements that cannot all hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// zc.buildout-style lines: `There is a version conflict.`, `We already
    /// have: X 1.1`, `but Y 1.0 requires 'X==1.0'.`.
    pub headline: Vec<String>,
    /// One plain-words sentence a line, derived from PubGrub's derivation
    /// tree.
    pub explanation: Vec<String>,
}

impl fmt::Display for Conflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lines: Vec<&str> = self
            .headline
            .iter()
            .chain(&self.explanation)
            .map(String::as_str)
            .collect();
        f.write_str(&lines.join("\n"))
    }
}

/// How to resolve: the interpreter and zc.buildout's `[buildout]` options.
#[derive(Debug, Clone)]
pub struct Options {
    /// The marker environment of the one target interpreter.
    pub environment: MarkerEnvironment,
    /// The interpreter's full version, for `Requires-Python`.
    pub python_version: Version,
    /// The `[versions]` section.
    pub pins: Pins,
    /// `prefer-final` (default true).
    pub prefer_final: bool,
    /// `newest` (default true; `-N` sets false): false reuses the store's
    /// versions when they satisfy.
    pub newest: bool,
    /// `allow-picked-versions` (default true).
    pub allow_picked_versions: bool,
    /// `allow-unknown-extras` (default false).
    pub allow_unknown_extras: bool,
    /// The tool's own projects (the recipe host's `zc.buildout`): they and
    /// everything they require are never picked versions, as zc.buildout
    /// runs them from its own environment (`allow-picked-versions = false`
    /// asks no pins of them, `show-picked-versions` does not list them).
    pub own: Vec<PackageName>,
    /// Develop eggs (and custom builds): never picked versions, as
    /// zc.buildout finds them with develop precedence; what they require
    /// may be.
    pub develop: Vec<PackageName>,
}

impl Options {
    /// zc.buildout's defaults for `environment`; the Python version is its
    /// `python_full_version` (a local build's trailing `+` dropped), or
    /// `python_version` if that does not parse.
    pub fn new(environment: MarkerEnvironment) -> Self {
        let full = environment.python_full_version.trim_end_matches('+');
        let python_version = full
            .parse()
            .or_else(|_| environment.python_version.parse())
            .unwrap_or_else(|_| Version::new([0]));
        Options {
            environment,
            python_version,
            pins: Pins::new(),
            prefer_final: true,
            newest: true,
            allow_picked_versions: true,
            allow_unknown_extras: false,
            own: Vec::new(),
            develop: Vec::new(),
        }
    }
}

/// One distribution to install.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub name: PackageName,
    /// The name as the distribution spells it.
    pub project_name: String,
    pub version: Version,
    /// The extras in use (normalised, sorted).
    pub extras: Vec<String>,
}

/// A version that was not fixed by an exact pin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Picked {
    pub name: PackageName,
    /// The name as the distribution spells it (zc.buildout prints this).
    pub project_name: String,
    pub version: Version,
    /// `requirer==version` of each distribution that requires this one by
    /// its bare name (zc.buildout's `# Required by:` lines).
    pub required_by: Vec<String>,
}

/// The outcome of [`resolve`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolution {
    /// Every distribution, sorted by normalised name.
    pub packages: Vec<Resolved>,
    /// Picked versions, in the order the requirements reach them
    /// (breadth-first from the buildout's requirements).
    pub picked: Vec<Picked>,
    /// Warnings (zc.buildout's texts), e.g. `demo 0.3 does not provide the
    /// extra 'x'`.
    pub warnings: Vec<String>,
}

/// Resolves `requirements` for the interpreter and options in `options`.
pub fn resolve<P: Provider>(
    requirements: &[Requirement],
    provider: &P,
    options: &Options,
) -> Result<Resolution> {
    // The buildout's own requirements: markers first, then [versions];
    // zc.buildout fails on these before looking at anything else.
    let mut roots = Vec::new();
    for r in requirements {
        if r.marker
            .as_ref()
            .is_some_and(|m| !m.evaluate(&options.environment, &[]))
        {
            continue;
        }
        let constrained =
            options
                .pins
                .constrain(r)
                .map_err(|inc| Error::IncompatibleConstraint {
                    requirement: inc.requirement.to_string(),
                    version: inc.version,
                    explanation: Vec::new(),
                })?;
        roots.push(constrained);
    }
    provider.prefetch(&roots);
    let solver = Solver::new(provider, options, roots.clone());
    for r in &roots {
        let candidates = solver.candidates(&r.name)?;
        if !candidates.iter().any(|c| solver.admits(r, c)) {
            return Err(Error::MissingDistribution {
                requirement: r.to_string(),
                explanation: report::missing_hints(&solver, r, &candidates),
            });
        }
    }

    let selected = match pubgrub::resolve(&solver, Pkg::Root, solver::root_version()) {
        Ok(selected) => selected,
        Err(pubgrub::PubGrubError::NoSolution(tree)) => {
            return Err(report::explain(&solver, &tree));
        }
        Err(pubgrub::PubGrubError::ErrorRetrievingDependencies { source, .. })
        | Err(pubgrub::PubGrubError::ErrorChoosingVersion { source, .. })
        | Err(pubgrub::PubGrubError::ErrorInShouldCancel(source)) => return Err(source),
    };
    build_resolution(&solver, options, &selected)
}

fn build_resolution<P: Provider>(
    solver: &Solver<'_, P>,
    options: &Options,
    selected: &pubgrub::SelectedDependencies<Pkg, Version>,
) -> Result<Resolution> {
    let by_name = selected_distributions(solver, selected);
    let mut walk = walk_requirements(solver, &by_name);
    let own = own_closure(solver, &by_name, &options.own);
    walk.order
        .retain(|name| !own.contains(name) && !options.develop.contains(name));
    let picked = picked_versions(options, &by_name, walk)?;
    let mut warnings = solver.warnings.borrow().clone();
    warnings.dedup();
    Ok(Resolution {
        packages: by_name.into_values().collect(),
        picked,
        warnings,
    })
}

/// PubGrub's selection as one entry per distribution, its extras merged.
fn selected_distributions<P: Provider>(
    solver: &Solver<'_, P>,
    selected: &pubgrub::SelectedDependencies<Pkg, Version>,
) -> BTreeMap<PackageName, Resolved> {
    let mut by_name: BTreeMap<PackageName, Resolved> = BTreeMap::new();
    for (pkg, version) in selected.iter() {
        let (name, extra) = match pkg {
            Pkg::Root => continue,
            Pkg::Dist(name) => (name, None),
            Pkg::Extra(name, extra) => (name, Some(extra)),
        };
        let resolved = by_name.entry(name.clone()).or_insert_with(|| Resolved {
            name: name.clone(),
            project_name: solver.spelled(name),
            version: version.clone(),
            extras: Vec::new(),
        });
        resolved.extras.extend(extra.cloned());
    }
    for r in by_name.values_mut() {
        r.extras.sort();
        r.extras.dedup();
    }
    by_name
}

/// What a walk over the selected graph found.
struct Walk {
    /// Distributions in zc.buildout's processing order.
    order: Vec<PackageName>,
    /// Distributions some requirement fixed the version of (`==`).
    exact: HashSet<PackageName>,
    /// `parent==version` of each bare requirement, per distribution.
    required_by: BTreeMap<PackageName, Vec<String>>,
}

/// Breadth-first from the buildout's requirements, over the selected
/// graph: zc.buildout's processing order, for picked versions.
fn walk_requirements<P: Provider>(
    solver: &Solver<'_, P>,
    by_name: &BTreeMap<PackageName, Resolved>,
) -> Walk {
    let edges = solver.edges.borrow();
    let mut walk = Walk {
        order: Vec::new(),
        exact: HashSet::new(),
        required_by: BTreeMap::new(),
    };
    let mut seen: HashSet<PackageName> = HashSet::new();
    let mut queue: VecDeque<(Pkg, Version)> = VecDeque::new();
    queue.push_back((Pkg::Root, solver::root_version()));
    let mut visited: HashSet<Pkg> = HashSet::new();
    while let Some((pkg, version)) = queue.pop_front() {
        if !visited.insert(pkg.clone()) {
            continue;
        }
        let Some(out) = edges.get(&(pkg.clone(), version.clone())) else {
            continue;
        };
        for edge in out {
            let Some(target) = by_name.get(&edge.target) else {
                continue;
            };
            if fixes_version(&edge.requirement) {
                walk.exact.insert(edge.target.clone());
            }
            let bare = edge.requirement.specifiers.is_empty()
                && edge.requirement.extras.is_empty()
                && edge.requirement.marker.is_none()
                && edge.requirement.url.is_none();
            if let (Pkg::Dist(parent), true) = (&pkg, bare) {
                walk.required_by
                    .entry(edge.target.clone())
                    .or_default()
                    .push(format!("{}=={}", solver.spelled(parent), version));
            }
            if seen.insert(edge.target.clone()) {
                walk.order.push(edge.target.clone());
            }
            queue.push_back((Pkg::Dist(edge.target.clone()), target.version.clone()));
            for extra in edge.requirement.normalized_extras() {
                queue.push_back((
                    Pkg::Extra(edge.target.clone(), extra),
                    target.version.clone(),
                ));
            }
        }
    }
    walk
}

/// Whether zc.buildout counts `requirement` as fixing the version (not a
/// pick): exactly one specifier whose operator is `==`, a wildcard
/// (`httpcore==1.*`, as httpx requires) included, `===` not.
fn fixes_version(requirement: &Requirement) -> bool {
    use pep440_rs::Operator;
    matches!(
        &requirement.specifiers[..],
        [one] if matches!(one.operator(), Operator::Equal | Operator::EqualStar)
    )
}

/// `own` and everything they require, over the selected graph.
fn own_closure<P: Provider>(
    solver: &Solver<'_, P>,
    by_name: &BTreeMap<PackageName, Resolved>,
    own: &[PackageName],
) -> HashSet<PackageName> {
    let edges = solver.edges.borrow();
    let mut found: HashSet<PackageName> = HashSet::new();
    let mut queue: VecDeque<Pkg> = own
        .iter()
        .filter(|n| by_name.contains_key(*n))
        .map(|n| Pkg::Dist(n.clone()))
        .collect();
    let mut visited: HashSet<Pkg> = HashSet::new();
    while let Some(pkg) = queue.pop_front() {
        let name = match &pkg {
            Pkg::Root => continue,
            Pkg::Dist(name) | Pkg::Extra(name, _) => name.clone(),
        };
        if !visited.insert(pkg.clone()) {
            continue;
        }
        found.insert(name.clone());
        let Some(out) = edges.get(&(pkg, by_name[&name].version.clone())) else {
            continue;
        };
        for edge in out.iter().filter(|e| by_name.contains_key(&e.target)) {
            queue.push_back(Pkg::Dist(edge.target.clone()));
            for extra in edge.requirement.normalized_extras() {
                queue.push_back(Pkg::Extra(edge.target.clone(), extra));
            }
        }
    }
    found
}

/// The versions the resolver picked (neither pinned nor fixed by `==`), in
/// processing order; an error if `allow-picked-versions` is false.
fn picked_versions(
    options: &Options,
    by_name: &BTreeMap<PackageName, Resolved>,
    mut walk: Walk,
) -> Result<Vec<Picked>> {
    let mut picked = Vec::new();
    for name in &walk.order {
        if walk.exact.contains(name) || options.pins.exact(name).is_some() {
            continue;
        }
        let resolved = &by_name[name];
        if !options.allow_picked_versions {
            return Err(Error::PickedVersion {
                name: resolved.project_name.clone(),
                version: resolved.version.to_string(),
            });
        }
        let mut by = walk.required_by.remove(name).unwrap_or_default();
        by.sort();
        by.dedup();
        picked.push(Picked {
            name: name.clone(),
            project_name: resolved.project_name.clone(),
            version: resolved.version.clone(),
            required_by: by,
        });
    }
    Ok(picked)
}

#[cfg(test)]
mod tests;
