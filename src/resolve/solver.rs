//! The algorithm: PubGrub (the `pubgrub` crate) over PEP 440 versions, for
//! one concrete interpreter. Pure: everything it knows comes through a
//! [`Provider`], and it prints nothing.
//!
//! Modelling (uv's, simplified to one environment, see
//! `python-packaging.md` §4.4):
//!
//! * packages are [`Pkg::Root`] (the buildout's requirements),
//!   [`Pkg::Dist`] and [`Pkg::Extra`] (`name[extra]`, a virtual package that
//!   depends on `name` at the same version plus the extra's requirements);
//! * markers are evaluated up front against the one environment (with the
//!   extra for [`Pkg::Extra`]), so there is no forking;
//! * version sets are `Ranges<Version>` built *from the candidate list*: a
//!   requirement becomes the union of the runs of candidates it admits, as
//!   decided by `VersionSpecifiers::contains` (exact PEP 440 semantics,
//!   local versions included), `Requires-Python` and PEP 592 yanks. This
//!   sidesteps the lossy specifier→range conversion of pep440_rs;
//! * `[versions]` pins are applied to every edge (zc.buildout's
//!   `_constrain`); an edge an exact pin forbids gets the empty set, which
//!   makes its parent version unusable and is explained later;
//! * `choose_version` applies zc.buildout's preferences: with `newest =
//!   false` the store's versions first, then with `prefer-final` the highest
//!   final release if there is one, else the highest version.

use std::cell::RefCell;
use std::cmp::Reverse;
use std::collections::HashMap;
use std::fmt;
use std::rc::Rc;

use pep440_rs::{Version, VersionSpecifiers};
use pubgrub::{DependencyConstraints, DependencyProvider, PackageResolutionStatistics, Ranges};

use super::Options;
use super::provider::{Candidate, Dependencies, Provider, ProviderError};
use crate::python::marker::canonicalize_name;
use crate::python::{PackageName, Requirement};

/// A version set: unions of candidate runs.
pub(crate) type Range = Ranges<Version>;

/// A node of the resolution graph.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Pkg {
    Root,
    Dist(PackageName),
    /// A distribution with one extra (normalised).
    Extra(PackageName, String),
}

impl Pkg {
    pub(crate) fn name(&self) -> Option<&PackageName> {
        match self {
            Pkg::Root => None,
            Pkg::Dist(n) | Pkg::Extra(n, _) => Some(n),
        }
    }
}

impl fmt::Display for Pkg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pkg::Root => f.write_str("the buildout"),
            Pkg::Dist(n) => write!(f, "{n}"),
            Pkg::Extra(n, e) => write!(f, "{n}[{e}]"),
        }
    }
}

/// Why a version cannot be used at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Unusable {
    RequiresPython {
        specifiers: VersionSpecifiers,
        python: Version,
    },
    Metadata(String),
}

impl fmt::Display for Unusable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unusable::RequiresPython { specifiers, python } => {
                write!(
                    f,
                    "requires Python `{specifiers}`, but the interpreter is Python {python}"
                )
            }
            Unusable::Metadata(why) => write!(f, "has unusable metadata: {why}"),
        }
    }
}

/// One requirement edge, recorded for explanations and picked versions.
#[derive(Debug, Clone)]
pub(crate) struct Edge {
    pub target: PackageName,
    /// The requirement after `[versions]` constraining.
    pub requirement: Requirement,
    /// The requirement as the metadata (or the buildout) states it.
    pub original: Requirement,
    /// The exact `[versions]` pin this requirement does not allow.
    pub pin_clash: Option<String>,
}

/// The pubgrub [`DependencyProvider`] over a [`Provider`].
pub(crate) struct Solver<'a, P: Provider> {
    provider: &'a P,
    options: &'a Options,
    roots: Vec<Requirement>,
    python: Version,
    candidates: RefCell<HashMap<PackageName, Rc<Vec<Candidate>>>>,
    installed: RefCell<HashMap<PackageName, Rc<Vec<Version>>>>,
    metadata: RefCell<HashMap<(PackageName, Version), Rc<Dependencies>>>,
    /// Edges out of every (package, version) whose dependencies were asked.
    pub edges: RefCell<HashMap<(Pkg, Version), Vec<Edge>>>,
    /// How each distribution spells its name (metadata first).
    pub spelling: RefCell<HashMap<PackageName, String>>,
    pub warnings: RefCell<Vec<String>>,
}

/// The root package's only version.
pub(crate) fn root_version() -> Version {
    Version::new([0])
}

impl<'a, P: Provider> Solver<'a, P> {
    /// Whether `name` is a develop egg (its only candidate).
    pub(crate) fn is_local(&self, name: &PackageName) -> bool {
        self.provider.is_local(name)
    }

    pub(crate) fn new(provider: &'a P, options: &'a Options, roots: Vec<Requirement>) -> Self {
        Solver {
            provider,
            options,
            roots,
            python: options.python_version.only_release(),
            candidates: RefCell::default(),
            installed: RefCell::default(),
            metadata: RefCell::default(),
            edges: RefCell::default(),
            spelling: RefCell::default(),
            warnings: RefCell::default(),
        }
    }

    /// Every known version of `name` (index and store), ascending.
    pub(crate) fn candidates(
        &self,
        name: &PackageName,
    ) -> Result<Rc<Vec<Candidate>>, super::Error> {
        if let Some(c) = self.candidates.borrow().get(name) {
            return Ok(Rc::clone(c));
        }
        let mut list = match self.provider.versions(name) {
            Ok(list) => list,
            Err(ProviderError::NotFound(_)) => Vec::new(),
            Err(source) => {
                return Err(super::Error::Provider {
                    name: name.clone(),
                    source,
                });
            }
        };
        for v in self.installed(name).iter() {
            if !list.iter().any(|c| &c.version == v) {
                list.push(Candidate::new(v.clone()));
            }
        }
        list.sort_by(|a, b| a.version.cmp(&b.version));
        list.dedup_by(|a, b| a.version == b.version);
        let list = Rc::new(list);
        self.candidates
            .borrow_mut()
            .insert(name.clone(), Rc::clone(&list));
        Ok(list)
    }

    fn installed(&self, name: &PackageName) -> Rc<Vec<Version>> {
        if let Some(v) = self.installed.borrow().get(name) {
            return Rc::clone(v);
        }
        let v = Rc::new(self.provider.installed(name));
        self.installed
            .borrow_mut()
            .insert(name.clone(), Rc::clone(&v));
        v
    }

    fn metadata(&self, name: &PackageName, version: &Version) -> Result<Rc<Dependencies>, String> {
        let key = (name.clone(), version.clone());
        if let Some(m) = self.metadata.borrow().get(&key) {
            return Ok(Rc::clone(m));
        }
        let m = Rc::new(
            self.provider
                .metadata(name, version)
                .map_err(|e| e.to_string())?,
        );
        if let Some(spelled) = &m.name {
            self.spelling
                .borrow_mut()
                .insert(name.clone(), spelled.clone());
        }
        self.metadata.borrow_mut().insert(key, Rc::clone(&m));
        Ok(m)
    }

    /// Whether the interpreter satisfies `requires_python` (release-only
    /// comparison, as pip and uv do: 3.13.0b1 satisfies `>=3.13`).
    pub(crate) fn python_ok(&self, requires_python: Option<&VersionSpecifiers>) -> bool {
        requires_python.is_none_or(|s| s.contains(&self.python))
    }

    /// Whether `candidate` may satisfy `requirement` at all.
    pub(crate) fn admits(&self, requirement: &Requirement, candidate: &Candidate) -> bool {
        requirement.specifiers.contains(&candidate.version)
            && self.python_ok(candidate.requires_python.as_ref())
            && (!candidate.yanked || requirement.exact_version() == Some(&candidate.version))
    }

    /// The version set of `requirement`: the runs of candidates it admits.
    pub(crate) fn range_for(&self, requirement: &Requirement) -> Result<Range, super::Error> {
        let candidates = self.candidates(&requirement.name)?;
        let mut range = Range::empty();
        let mut run: Option<(Version, Version)> = None;
        for c in candidates.iter() {
            if self.admits(requirement, c) {
                run = Some(match run {
                    None => (c.version.clone(), c.version.clone()),
                    Some((first, _)) => (first, c.version.clone()),
                });
            } else if let Some((first, last)) = run.take() {
                range = range.union(&Range::from_range_bounds(first..=last));
            }
        }
        if let Some((first, last)) = run {
            range = range.union(&Range::from_range_bounds(first..=last));
        }
        Ok(range)
    }

    fn note_spelling(&self, name: &PackageName) {
        self.spelling
            .borrow_mut()
            .entry(name.clone())
            .or_insert_with(|| name.original().to_string());
    }

    /// How `name` is spelled in messages.
    pub(crate) fn spelled(&self, name: &PackageName) -> String {
        self.spelling
            .borrow()
            .get(name)
            .cloned()
            .unwrap_or_else(|| name.original().to_string())
    }

    fn add_requirement(
        &self,
        deps: &mut Vec<(Pkg, Range)>,
        edges: &mut Vec<Edge>,
        requirement: &Requirement,
    ) -> Result<(), super::Error> {
        let name = requirement.name.clone();
        self.note_spelling(&name);
        let (constrained, pin_clash) = match self.options.pins.constrain(requirement) {
            Ok(c) => (c, None),
            Err(incompatible) => (requirement.clone(), Some(incompatible.version)),
        };
        let range = if pin_clash.is_some() {
            Range::empty()
        } else {
            self.range_for(&constrained)?
        };
        let mut add = |pkg: Pkg| match deps.iter_mut().find(|(p, _)| *p == pkg) {
            Some((_, existing)) => *existing = existing.intersection(&range),
            None => deps.push((pkg, range.clone())),
        };
        add(Pkg::Dist(name.clone()));
        for extra in constrained.normalized_extras() {
            add(Pkg::Extra(name.clone(), extra));
        }
        edges.push(Edge {
            target: name,
            requirement: constrained,
            original: requirement.clone(),
            pin_clash,
        });
        Ok(())
    }

    fn dist_dependencies(
        &self,
        pkg: &Pkg,
        name: &PackageName,
        version: &Version,
        extra: Option<&str>,
    ) -> Result<pubgrub::Dependencies<Pkg, Range, Unusable>, super::Error> {
        let meta = match self.metadata(name, version) {
            Ok(m) => m,
            Err(why) => return Ok(pubgrub::Dependencies::Unavailable(Unusable::Metadata(why))),
        };
        if let Some(rp) = &meta.requires_python
            && !self.python_ok(Some(rp))
        {
            return Ok(pubgrub::Dependencies::Unavailable(
                Unusable::RequiresPython {
                    specifiers: rp.clone(),
                    python: self.options.python_version.clone(),
                },
            ));
        }
        let env = &self.options.environment;
        let mut deps = Vec::new();
        let mut edges = Vec::new();
        // What applies: unconditional requirements and those whose marker
        // holds (for an extra: those only the extra makes hold).
        let applies: Vec<&Requirement> = meta
            .requires_dist
            .iter()
            .filter(|r| match (&r.marker, extra) {
                (None, None) => true,
                (None, Some(_)) => false,
                (Some(m), None) => m.evaluate(env, &[]),
                (Some(m), Some(extra)) => m.evaluate(env, &[extra]) && !m.evaluate(env, &[]),
            })
            .collect();
        let itself = |r: &Requirement| &r.name == name && r.extras.is_empty();
        // Everything this distribution requires is asked for below, one
        // after another: let the provider fetch it all at once.
        let wanted: Vec<Requirement> = applies
            .iter()
            .filter(|r| !itself(r))
            .map(|r| (*r).clone())
            .collect();
        self.provider.prefetch(&wanted);
        if let Some(extra) = extra {
            deps.push((Pkg::Dist(name.clone()), Range::singleton(version.clone())));
            let provided = meta
                .provides_extra
                .iter()
                .any(|e| canonicalize_name(e) == extra);
            if !provided {
                self.warnings.borrow_mut().push(format!(
                    "{} {} does not provide the extra '{}'",
                    self.spelled(name),
                    version,
                    extra
                ));
                if !self.options.allow_unknown_extras {
                    return Err(super::Error::UnknownExtra {
                        dist: format!("{} {}", self.spelled(name), version),
                        extra: extra.to_string(),
                    });
                }
            }
        }
        for r in applies {
            if itself(r) {
                // A distribution requiring itself: satisfied by this very
                // version, or this version is unusable.
                if extra.is_none() && !r.specifiers.contains(version) {
                    return Ok(pubgrub::Dependencies::Unavailable(Unusable::Metadata(
                        format!("it requires `{r}`"),
                    )));
                }
                continue;
            }
            self.add_requirement(&mut deps, &mut edges, r)?;
        }
        self.edges
            .borrow_mut()
            .insert((pkg.clone(), version.clone()), edges);
        Ok(pubgrub::Dependencies::Available(
            deps.into_iter()
                .collect::<DependencyConstraints<Pkg, Range>>(),
        ))
    }

    /// The interpreter's version (as given).
    pub(crate) fn python_version(&self) -> &Version {
        &self.options.python_version
    }

    /// The version [`DependencyProvider::choose_version`] would pick.
    pub(crate) fn best_in(
        &self,
        name: &PackageName,
        range: &Range,
    ) -> Result<Option<Version>, super::Error> {
        self.best(name, range)
    }

    /// The best version of `name` in `range` by zc.buildout's preferences.
    fn best(&self, name: &PackageName, range: &Range) -> Result<Option<Version>, super::Error> {
        let candidates = self.candidates(name)?;
        let singleton = range.as_singleton();
        let usable: Vec<&Candidate> = candidates
            .iter()
            .filter(|c| range.contains(&c.version))
            .filter(|c| self.python_ok(c.requires_python.as_ref()))
            .filter(|c| !c.yanked || singleton == Some(&c.version))
            .collect();
        let pick = |list: &[&Candidate]| -> Option<Version> {
            let finals: Vec<&&Candidate> = list.iter().filter(|c| !c.is_prerelease()).collect();
            if self.options.prefer_final && !finals.is_empty() {
                finals.iter().map(|c| c.version.clone()).max()
            } else {
                list.iter().map(|c| c.version.clone()).max()
            }
        };
        if !self.options.newest {
            let installed = self.installed(name);
            let local: Vec<&Candidate> = usable
                .iter()
                .copied()
                .filter(|c| installed.contains(&c.version))
                .collect();
            if !local.is_empty() {
                return Ok(pick(&local));
            }
        }
        Ok(pick(&usable))
    }
}

impl<P: Provider> DependencyProvider for Solver<'_, P> {
    type P = Pkg;
    type V = Version;
    type VS = Range;
    type M = Unusable;
    type Err = super::Error;
    type Priority = (u8, u32, Reverse<usize>);

    fn prioritize(
        &self,
        package: &Pkg,
        range: &Range,
        stats: &PackageResolutionStatistics,
    ) -> Self::Priority {
        let Some(name) = package.name() else {
            return (3, u32::MAX, Reverse(0));
        };
        let count = self
            .candidates(name)
            .map(|c| c.iter().filter(|c| range.contains(&c.version)).count())
            .unwrap_or(0);
        match count {
            0 => (3, u32::MAX, Reverse(0)),
            1 => (2, stats.conflict_count(), Reverse(1)),
            n => (1, stats.conflict_count(), Reverse(n)),
        }
    }

    fn choose_version(
        &self,
        package: &Pkg,
        range: &Range,
    ) -> Result<Option<Version>, super::Error> {
        match package {
            Pkg::Root => Ok(Some(root_version())),
            Pkg::Dist(name) | Pkg::Extra(name, _) => self.best(name, range),
        }
    }

    fn get_dependencies(
        &self,
        package: &Pkg,
        version: &Version,
    ) -> Result<pubgrub::Dependencies<Pkg, Range, Unusable>, super::Error> {
        match package {
            Pkg::Root => {
                let mut deps = Vec::new();
                let mut edges = Vec::new();
                for r in &self.roots {
                    self.add_requirement(&mut deps, &mut edges, r)?;
                }
                self.edges
                    .borrow_mut()
                    .insert((Pkg::Root, version.clone()), edges);
                Ok(pubgrub::Dependencies::Available(
                    deps.into_iter()
                        .collect::<DependencyConstraints<Pkg, Range>>(),
                ))
            }
            Pkg::Dist(name) => self.dist_dependencies(package, name, version, None),
            Pkg::Extra(name, extra) => self.dist_dependencies(package, name, version, Some(extra)),
        }
    }
}
