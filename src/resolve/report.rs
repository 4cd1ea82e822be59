//! Texts about a resolution: zc.buildout's picked-versions block
//! (`show-picked-versions`), the `update-versions-file` append, the
//! `allow-picked-versions = false` error, conflict explanations derived
//! from PubGrub's derivation tree, and the hints under zc.buildout's
//! "Couldn't find a distribution" (as uv's: the usable versions nearest to
//! the request; yanked or wrong-Python versions only when they would have
//! matched).
//!
//! The picked-versions formats follow `zc.buildout.buildout`
//! (`_format_picked_versions`, `_print_picked_versions`) line for line, with
//! one deliberate difference: `update-versions-file` does not append a pin
//! whose name the file already has (zc.buildout appends the same pins on
//! every run when the file is not extended).

use std::collections::{BTreeMap, HashSet};

use pep440_rs::Version;
use pubgrub::{DerivationTree, External};

use super::provider::{Candidate, Provider};
use super::solver::{Pkg, Range, Solver, Unusable};
use super::{Conflict, Error, Picked};
use crate::python::{PackageName, Requirement};

/// Python's `repr()` of a string (zc.buildout formats requirements with
/// `%r`).
pub fn py_repr(s: &str) -> String {
    crate::python::pystr::repr(s)
}

/// zc.buildout's `allow-picked-versions = false` error text.
pub fn picked_not_allowed(name: &str, version: &str) -> String {
    format!(
        "Picked: {name} = {version}\n\
         \n\
         The `{name}` egg does not have a version pin and `allow-picked-versions = false`.\n\
         \n\
         To resolve this, add\n\
         \n    {name} = {version}\n\
         \n\
         to the [versions] section,\n\
         \n\
         OR set `allow-picked-versions = true`."
    )
}

/// Adds the picked versions of one resolution to those of the run so far
/// (zc.buildout keeps one table for all the parts of a run): a later pick of
/// the same name replaces the version, `required_by` accumulates.
pub fn merge_picked(run: &mut Vec<Picked>, more: &[Picked]) {
    for p in more {
        match run.iter_mut().find(|q| q.name == p.name) {
            Some(q) => {
                q.version = p.version.clone();
                q.project_name = p.project_name.clone();
                q.required_by.extend(p.required_by.iter().cloned());
                q.required_by.sort();
                q.required_by.dedup();
            }
            None => run.push(p.clone()),
        }
    }
}

/// The `[versions]` block of picked versions (`_format_picked_versions`):
/// `[versions]`, then `name = version` for each distribution nobody
/// required by its bare name, then for the others a blank line,
/// `# Required by:`, `# requirer==version` lines and `name = version`.
/// Sorted by name as the distributions spell it.
pub fn picked_versions_lines(picked: &[Picked]) -> Vec<String> {
    let mut sorted: Vec<&Picked> = picked.iter().collect();
    sorted.sort_by(|a, b| a.project_name.cmp(&b.project_name));
    let mut output = vec!["[versions]".to_string()];
    let mut required = Vec::new();
    for p in sorted {
        let line = format!("{} = {}", p.project_name, p.version);
        if p.required_by.is_empty() {
            output.push(line);
        } else {
            required.push(String::new());
            required.push("# Required by:".to_string());
            let mut by = p.required_by.clone();
            by.sort();
            required.extend(by.into_iter().map(|r| format!("# {r}")));
            required.push(line);
        }
    }
    output.extend(required);
    output
}

/// What `show-picked-versions = true` prints at the end of a run, one line
/// per element (`None` when nothing was picked: zc.buildout prints nothing).
pub fn show_picked_versions(picked: &[Picked]) -> Option<Vec<String>> {
    if picked.is_empty() {
        return None;
    }
    let mut lines = vec![
        "Versions had to be automatically picked.".to_string(),
        "The following part definition lists the versions picked:".to_string(),
    ];
    lines.extend(picked_versions_lines(picked));
    Some(lines)
}

/// The names a versions file already pins (`name = value` lines).
fn pinned_names(text: &str) -> HashSet<PackageName> {
    text.lines()
        .filter(|l| !l.starts_with([' ', '\t', '#', ';', '[']))
        .filter_map(|l| l.split_once(['=', ':']))
        .filter_map(|(k, _)| PackageName::new(k.trim()).ok())
        .collect()
}

/// The text to append to the `update-versions-file` (`None`: nothing new
/// to write). `existing` is the file's content, `None` if it does not
/// exist; `timestamp` is Python's `str(datetime.datetime.now())`
/// (`2026-01-31 12:34:56.789012`). Pins whose name the file already has are
/// left out. After writing, zc.buildout prints [`written_message`].
pub fn versions_file_append(
    existing: Option<&str>,
    picked: &[Picked],
    timestamp: &str,
) -> Option<String> {
    let already = existing.map(pinned_names).unwrap_or_default();
    let fresh: Vec<Picked> = picked
        .iter()
        .filter(|p| !already.contains(&p.name))
        .cloned()
        .collect();
    if fresh.is_empty() {
        return None;
    }
    let mut output = picked_versions_lines(&fresh);
    if existing.is_some() {
        output.splice(
            0..1,
            [String::new(), format!("# Added by buildout at {timestamp}")],
        );
    }
    output.push(String::new());
    Some(output.join("\n"))
}

/// The line zc.buildout prints after appending to the versions file.
pub fn written_message(path: &str) -> String {
    format!("Picked versions have been written to {path}")
}

// ---------------------------------------------------------------------------
// Conflict explanations

/// How many existing versions [`available_versions`] names on each side
/// of the request.
const NEAREST: usize = 3;

/// Why candidates of `name` cannot be used (yanked, wrong
/// `Requires-Python`), one sentence each, for "nothing matches" errors:
/// only those `wanted` would have matched, or all of them when no version
/// is usable at all (then they are the whole story).
pub(crate) fn unusable_candidates<P: Provider>(
    solver: &Solver<'_, P>,
    name: &PackageName,
    candidates: &[Candidate],
    wanted: impl Fn(&Version) -> bool,
) -> Vec<String> {
    let spelled = solver.spelled(name);
    let none_usable = !candidates.iter().any(|c| usable(solver, c));
    let mut out = Vec::new();
    for c in candidates.iter().rev() {
        if !none_usable && !wanted(&c.version) {
            continue;
        }
        if c.yanked {
            out.push(format!("`{spelled} {}` is yanked", c.version));
        } else if let Some(rp) = &c.requires_python
            && !solver.python_ok(Some(rp))
        {
            out.push(format!(
                "`{spelled} {}` requires Python `{rp}`, but the interpreter is Python {}",
                c.version,
                solver.python_version()
            ));
        }
    }
    out
}

fn usable<P: Provider>(solver: &Solver<'_, P>, c: &Candidate) -> bool {
    !c.yanked && solver.python_ok(c.requires_python.as_ref())
}

/// uv's hint for a request nothing satisfies: the usable versions nearest
/// to `pivot` (the version the request names), [`NEAREST`] at or below it
/// and as many above, `available versions of NAME: 1.0, 1.1 (the newest)`.
/// `None` when no version is usable.
pub(crate) fn available_versions<P: Provider>(
    solver: &Solver<'_, P>,
    name: &PackageName,
    candidates: &[Candidate],
    pivot: Option<&Version>,
) -> Option<String> {
    let mut versions: Vec<&Version> = candidates
        .iter()
        .filter(|c| usable(solver, c))
        .map(|c| &c.version)
        .collect();
    versions.sort();
    versions.dedup();
    let newest = *versions.last()?;
    let split = pivot.map_or(versions.len(), |p| versions.partition_point(|v| *v <= p));
    let below = &versions[split.saturating_sub(NEAREST)..split];
    let above = &versions[split..(split + NEAREST).min(versions.len())];
    let mut shown: Vec<String> = below.iter().chain(above).map(ToString::to_string).collect();
    if above.last().or(below.last()) == Some(&newest)
        && let Some(last) = shown.last_mut()
    {
        last.push_str(" (the newest)");
    }
    Some(format!(
        "available versions of {}: {}",
        solver.spelled(name),
        shown.join(", ")
    ))
}

/// The version a requirement is about, for [`available_versions`]: the
/// lowest its specifiers name (`None`: any version).
fn requirement_pivot(requirement: &Requirement) -> Option<&Version> {
    requirement.specifiers.iter().map(|s| s.version()).min()
}

/// What to say under "Couldn't find a distribution for `requirement`":
/// the unusable versions it would have matched, then the nearest usable
/// versions.
pub(crate) fn missing_hints<P: Provider>(
    solver: &Solver<'_, P>,
    requirement: &Requirement,
    candidates: &[Candidate],
) -> Vec<String> {
    if solver.is_local(&requirement.name)
        && let Some(local) = candidates.first()
    {
        return vec![format!(
            "{} {} is a develop egg here, and it does not satisfy `{}`: a develop egg is used \
             instead of every other version (change the requirement, or the project's version)",
            solver.spelled(&requirement.name),
            local.version,
            requirement.specifiers
        )];
    }
    let mut hints = unusable_candidates(solver, &requirement.name, candidates, |v| {
        requirement.specifiers.contains(v)
    });
    hints.extend(available_versions(
        solver,
        &requirement.name,
        candidates,
        requirement_pivot(requirement),
    ));
    hints
}

/// One external fact of the derivation tree, in plain words.
enum Fact {
    /// `parent requires req` (parent rendered; `None` parent text for the
    /// buildout itself).
    Requires {
        parent: String,
        /// zc.buildout's spelling of the parent (`sampley 1.0`).
        parent_plain: String,
        plural: bool,
        target: PackageName,
        requirement: String,
        original: String,
        pin_clash: Option<String>,
        range: Range,
    },
    Missing {
        requirement: String,
        /// Who needs it, in plain words.
        sentence: Option<String>,
        /// What exists instead ([`missing_hints`]), a line each.
        hints: Vec<String>,
    },
    /// Something about one distribution's versions.
    Sentence(PackageName, String),
}

fn collect_externals<'t>(
    tree: &'t DerivationTree<Pkg, Range, Unusable>,
    out: &mut Vec<&'t External<Pkg, Range, Unusable>>,
) {
    match tree {
        DerivationTree::External(e) => out.push(e),
        DerivationTree::Derived(d) => {
            collect_externals(&d.cause1, out);
            collect_externals(&d.cause2, out);
        }
    }
}

fn versions_in<P: Provider>(
    solver: &Solver<'_, P>,
    name: &PackageName,
    range: &Range,
) -> Vec<Version> {
    solver
        .candidates(name)
        .map(|c| {
            c.iter()
                .filter(|c| range.contains(&c.version))
                .map(|c| c.version.clone())
                .collect()
        })
        .unwrap_or_default()
}

/// `` `name 1.0` ``, `` `name 1.0`, `name 1.1` `` or `` `name` 1.0 to 1.4 ``.
fn describe_versions(spelled: &str, extra: Option<&str>, versions: &[Version]) -> String {
    let label = match extra {
        Some(e) => format!("{spelled}[{e}]"),
        None => spelled.to_string(),
    };
    match versions {
        [] => format!("`{label}`"),
        [one] => format!("`{label} {one}`"),
        few if few.len() <= 3 => few
            .iter()
            .map(|v| format!("`{label} {v}`"))
            .collect::<Vec<_>>()
            .join(", "),
        many => format!("`{label}` {} to {}", many[0], many[many.len() - 1]),
    }
}

fn fact_for<P: Provider>(
    solver: &Solver<'_, P>,
    external: &External<Pkg, Range, Unusable>,
) -> Option<Fact> {
    match external {
        External::NotRoot(..) => None,
        External::NoVersions(pkg, range) => no_versions_fact(solver, pkg, range),
        External::Custom(pkg, range, why) => unusable_fact(solver, pkg, range, why),
        External::FromDependencyOf(parent, parent_range, dep, _) => {
            dependency_fact(solver, parent, parent_range, dep)
        }
    }
}

/// PubGrub found no version of `pkg` in `range`: nothing at all is
/// available, or some candidates are unusable.
fn no_versions_fact<P: Provider>(solver: &Solver<'_, P>, pkg: &Pkg, range: &Range) -> Option<Fact> {
    let name = pkg.name()?;
    let candidates = solver.candidates(name).ok()?;
    let edges = solver.edges.borrow();
    let reqs: Vec<String> = {
        let mut r: Vec<String> = edges
            .values()
            .flatten()
            .filter(|e| &e.target == name)
            .map(|e| e.requirement.to_string())
            .collect();
        r.sort();
        r.dedup();
        r
    };
    if candidates.is_empty() {
        return Some(Fact::Missing {
            requirement: reqs.first().cloned().unwrap_or_else(|| name.to_string()),
            sentence: None,
            hints: Vec::new(),
        });
    }
    // Otherwise pubgrub is talking about the gaps between
    // candidates, which says nothing to a user.
    if !candidates.iter().any(|c| range.contains(&c.version)) {
        return None;
    }
    let mut text = format!(
        "no usable version of `{}` is in {}",
        solver.spelled(name),
        describe_range(range)
    );
    let why = unusable_candidates(solver, name, &candidates, |v| range.contains(v));
    if !why.is_empty() {
        text.push_str(&format!(" ({})", why.join("; ")));
    }
    Some(Fact::Sentence(name.clone(), text))
}

/// The versions of `pkg` in `range` cannot be used, for the reason `why`.
fn unusable_fact<P: Provider>(
    solver: &Solver<'_, P>,
    pkg: &Pkg,
    range: &Range,
    why: &Unusable,
) -> Option<Fact> {
    let name = pkg.name()?;
    let extra = match pkg {
        Pkg::Extra(_, e) => Some(e.as_str()),
        _ => None,
    };
    let versions = versions_in(solver, name, range);
    Some(Fact::Sentence(
        name.clone(),
        format!(
            "{} {}",
            describe_versions(&solver.spelled(name), extra, &versions),
            why
        ),
    ))
}

/// `parent` (in `parent_range`) requires `dep`.
fn dependency_fact<P: Provider>(
    solver: &Solver<'_, P>,
    parent: &Pkg,
    parent_range: &Range,
    dep: &Pkg,
) -> Option<Fact> {
    let target = dep.name()?.clone();
    if let (Pkg::Extra(n, _), Pkg::Dist(d)) = (parent, dep)
        && n == d
    {
        // `name[extra]` is `name` itself: nothing to explain.
        return None;
    }
    let edges = solver.edges.borrow();
    let mut found: Vec<(Version, super::solver::Edge)> = edges
        .iter()
        .filter(|((p, v), _)| p == parent && parent_range.contains(v))
        .flat_map(|((_, v), es)| {
            es.iter()
                .filter(|e| e.target == target)
                .map(move |e| (v.clone(), e.clone()))
        })
        .collect();
    found.sort_by(|a, b| a.0.cmp(&b.0));
    let (_, edge) = found.last()?.clone();
    let versions: Vec<Version> = found.iter().map(|(v, _)| v.clone()).collect();
    let (parent_text, parent_plain) = match parent {
        Pkg::Root => ("the buildout".to_string(), "the buildout".to_string()),
        Pkg::Dist(n) | Pkg::Extra(n, _) => {
            let extra = match parent {
                Pkg::Extra(_, e) => Some(e.as_str()),
                _ => None,
            };
            let spelled = solver.spelled(n);
            (
                describe_versions(&spelled, extra, &versions),
                format!("{spelled} {}", versions[versions.len() - 1]),
            )
        }
    };
    let range = solver
        .range_for(&edge.requirement)
        .unwrap_or_else(|_| Range::empty());
    if range.is_empty() && edge.pin_clash.is_none() {
        let requirement = edge.requirement.to_string();
        let sentence = format!(
            "{parent_text} {} `{requirement}`, which no available distribution satisfies",
            verb(versions.len() > 1)
        );
        let candidates = solver.candidates(&target).unwrap_or_default();
        return Some(Fact::Missing {
            requirement,
            sentence: Some(sentence),
            hints: missing_hints(solver, &edge.requirement, &candidates),
        });
    }
    Some(Fact::Requires {
        parent: parent_text,
        parent_plain,
        plural: versions.len() > 1,
        target,
        requirement: edge.requirement.to_string(),
        original: edge.original.to_string(),
        pin_clash: edge.pin_clash.clone(),
        range,
    })
}

/// A version set in words, from its bounds.
fn describe_range(range: &Range) -> String {
    use std::ops::Bound::{Excluded, Included, Unbounded};
    let parts: Vec<String> = range
        .iter()
        .map(|(lo, hi)| match (lo, hi) {
            (Included(a), Included(b)) if a == b => format!("=={a}"),
            (Unbounded, Unbounded) => "any version".to_string(),
            _ => {
                let mut s = Vec::new();
                match lo {
                    Included(a) => s.push(format!(">={a}")),
                    Excluded(a) => s.push(format!(">{a}")),
                    Unbounded => {}
                }
                match hi {
                    Included(b) => s.push(format!("<={b}")),
                    Excluded(b) => s.push(format!("<{b}")),
                    Unbounded => {}
                }
                s.join(",")
            }
        })
        .collect();
    if parts.is_empty() {
        "no version".to_string()
    } else {
        format!("`{}`", parts.join("` or `"))
    }
}

fn verb(plural: bool) -> &'static str {
    if plural { "require" } else { "requires" }
}

/// Turns PubGrub's derivation tree into zc.buildout's error where one
/// applies, with a plain-words explanation.
pub(crate) fn explain<P: Provider>(
    solver: &Solver<'_, P>,
    tree: &DerivationTree<Pkg, Range, Unusable>,
) -> Error {
    let facts = gather_facts(solver, tree);
    let groups = RequirementGroups::of(&facts);
    let explanation = explanation(solver, &facts, &groups);
    if let Some(error) = buildout_error(solver, &facts, &groups, &explanation) {
        return error;
    }
    Error::Conflict(Conflict {
        headline: headline(solver, &facts, &groups),
        explanation,
    })
}

/// One fact per distinct incompatibility PubGrub derived from outside.
fn gather_facts<P: Provider>(
    solver: &Solver<'_, P>,
    tree: &DerivationTree<Pkg, Range, Unusable>,
) -> Vec<Fact> {
    let mut externals = Vec::new();
    collect_externals(tree, &mut externals);
    let mut seen = HashSet::new();
    externals
        .into_iter()
        .filter(|external| seen.insert(external.to_string()))
        .filter_map(|external| fact_for(solver, external))
        .collect()
}

/// The requirements (without a pin clash) grouped by the distribution they
/// are about, in the order the distributions first appear.
struct RequirementGroups {
    members: BTreeMap<PackageName, Vec<usize>>,
    order: Vec<PackageName>,
}

impl RequirementGroups {
    fn of(facts: &[Fact]) -> Self {
        let mut members: BTreeMap<PackageName, Vec<usize>> = BTreeMap::new();
        let mut order: Vec<PackageName> = Vec::new();
        for (i, f) in facts.iter().enumerate() {
            if let Fact::Requires {
                target,
                pin_clash: None,
                ..
            } = f
            {
                if !members.contains_key(target) {
                    order.push(target.clone());
                }
                members.entry(target.clone()).or_default().push(i);
            }
        }
        Self { members, order }
    }

    /// The first distribution that two or more requirements are about.
    fn clash(&self) -> Option<&PackageName> {
        self.order.iter().find(|t| self.members[*t].len() >= 2)
    }
}

/// The plain-words sentences: requirements on one distribution joined
/// (`A requires x, but B requires y`), then what is missing or unusable.
fn explanation<P: Provider>(
    solver: &Solver<'_, P>,
    facts: &[Fact],
    groups: &RequirementGroups,
) -> Vec<String> {
    let mut explanation = Vec::new();
    let mut done: HashSet<usize> = HashSet::new();
    for (i, f) in facts.iter().enumerate() {
        if done.contains(&i) {
            continue;
        }
        match f {
            Fact::Requires {
                parent,
                plural,
                target,
                requirement,
                original,
                pin_clash,
                ..
            } => {
                if let Some(pin) = pin_clash {
                    explanation.push(format!(
                        "{parent} {} `{original}`, but `{} {pin}` is pinned in [versions]",
                        verb(*plural),
                        solver.spelled(target)
                    ));
                    continue;
                }
                let members = &groups.members[target];
                if members.len() < 2 && parent == "the buildout" {
                    // The buildout's own requests are only worth saying
                    // when they clash.
                    continue;
                }
                let mut sentence = format!("{parent} {} `{requirement}`", verb(*plural));
                for (k, j) in members.iter().filter(|j| **j != i).enumerate() {
                    if let Fact::Requires {
                        parent,
                        plural,
                        requirement,
                        ..
                    } = &facts[*j]
                    {
                        let joiner = if k == 0 { ", but" } else { ", and" };
                        sentence.push_str(&format!(
                            "{joiner} {parent} {} `{requirement}`",
                            verb(*plural)
                        ));
                    }
                    done.insert(*j);
                }
                explanation.push(sentence);
            }
            Fact::Missing {
                requirement,
                sentence,
                hints,
            } => {
                explanation.push(
                    sentence
                        .clone()
                        .unwrap_or_else(|| format!("no distribution of `{requirement}` was found")),
                );
                explanation.extend(hints.iter().cloned());
            }
            Fact::Sentence(_, s) => explanation.push(s.clone()),
        }
    }
    explanation
}

/// zc.buildout's own error, where one applies: a requirement against a
/// `[versions]` pin, or (when nothing clashes) a missing distribution.
fn buildout_error<P: Provider>(
    solver: &Solver<'_, P>,
    facts: &[Fact],
    groups: &RequirementGroups,
    explanation: &[String],
) -> Option<Error> {
    for f in facts {
        if let Fact::Requires {
            original,
            pin_clash: Some(pin),
            ..
        } = f
        {
            return Some(Error::IncompatibleConstraint {
                requirement: original.clone(),
                version: pin.clone(),
                explanation: explanation.to_vec(),
            });
        }
    }
    if groups.clash().is_some() {
        return None;
    }
    if let Some(Fact::Missing { requirement, .. }) =
        facts.iter().find(|f| matches!(f, Fact::Missing { .. }))
    {
        return Some(Error::MissingDistribution {
            requirement: requirement.clone(),
            explanation: explanation.to_vec(),
        });
    }
    // Nothing clashes: some distribution has no usable version.
    let Some(Fact::Sentence(name, _)) = facts.iter().find(|f| matches!(f, Fact::Sentence(..)))
    else {
        return None;
    };
    let edges = solver.edges.borrow();
    let mut wanted: Vec<(bool, String)> = edges
        .iter()
        .flat_map(|((p, _), es)| es.iter().map(move |e| (p, e)))
        .filter(|(_, e)| &e.target == name)
        .map(|(p, e)| (*p != Pkg::Root, e.requirement.to_string()))
        .collect();
    wanted.sort();
    let (_, requirement) = wanted.into_iter().next()?;
    Some(Error::MissingDistribution {
        requirement,
        explanation: explanation.to_vec(),
    })
}

/// zc.buildout's version-conflict headline: `We already have: X 1.0` (what
/// the buildout itself asked for) `but Y 2.0 requires 'X>=2'.`
fn headline<P: Provider>(
    solver: &Solver<'_, P>,
    facts: &[Fact],
    groups: &RequirementGroups,
) -> Vec<String> {
    let mut headline = vec!["There is a version conflict.".to_string()];
    let Some(target) = groups.clash() else {
        return headline;
    };
    let mut members = groups.members[target].clone();
    if let Some(pos) = members.iter().position(
        |i| matches!(&facts[*i], Fact::Requires { parent, .. } if parent == "the buildout"),
    ) {
        let root = members.remove(pos);
        members.insert(0, root);
    }
    if let (
        Fact::Requires { range, .. },
        Fact::Requires {
            parent_plain,
            requirement,
            ..
        },
    ) = (&facts[members[0]], &facts[members[1]])
        && let Ok(Some(have)) = solver.best_in(target, range)
    {
        headline.push(format!(
            "We already have: {} {have}",
            solver.spelled(target)
        ));
        headline.push(format!(
            "but {parent_plain} requires {}.",
            py_repr(requirement)
        ));
    }
    headline
}
