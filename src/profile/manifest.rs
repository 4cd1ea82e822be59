//! The manifest of a generation: what a run assembled (replaces zc.buildout's
//! `.installed.cfg`), stored as `manifest.json` inside the generation object,
//! and the comparison of two manifests (`generations diff`): parts, their
//! options (credentials redacted) and working sets, and the distributions.

use crate::index::http::redact_all;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Manifest format version; bump on incompatible changes.
pub const FORMAT: u32 = 1;

/// One part of a generation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartEntry {
    pub name: String,
    /// The recipe as written (`collective.recipe.template`).
    pub recipe: String,
    /// The part's options after substitution.
    pub options: BTreeMap<String, String>,
    /// The part's store object (absolute path).
    pub path: String,
    /// Files the part manages in the buildout directory, relative to it
    /// (`bin/start`, `etc/app.conf`); each is `outputs/<rel>` in the part.
    pub outputs: Vec<String>,
    /// The part's working set (distributions), in order.
    #[serde(default)]
    pub distributions: Vec<DistEntry>,
    /// What `parts/<name>` links to; absent: the part's object itself
    /// (built-in recipes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<PartLink>,
    /// The part is an action: its recipe ran after the switch, in the
    /// buildout directory (recipe host parts only).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub action: bool,
}

/// What a recipe-host part's `parts/<name>` is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PartLink {
    /// Nothing: the recipe made no `parts/<name>`.
    None,
    /// `location/` inside the part's object: what the recipe wrote there.
    Location,
    /// A mutable directory (absolute), `.buildout/state/<name>`: the
    /// recipe made `parts/<name>` empty, for its programs to write in at
    /// run time.
    State(String),
}

/// A distribution in the working set of a generation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DistEntry {
    pub name: String,
    pub version: String,
    pub path: String,
}

/// Everything a generation is made of.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    /// `buildout` version that assembled it.
    pub tool_version: String,
    pub buildout_directory: String,
    /// Raw configuration sections as composed (the config snapshot).
    pub config: BTreeMap<String, BTreeMap<String, String>>,
    /// Parts in install order.
    pub parts: Vec<PartEntry>,
    #[serde(default)]
    pub distributions: Vec<DistEntry>,
    /// Interpreters the parts use.
    #[serde(default)]
    pub interpreters: Vec<String>,
    /// The sha256 of the lock file the distributions were installed from
    /// (`sha256:<hex>`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lock: Option<String>,
}

impl Manifest {
    /// Canonical JSON (sorted maps, no whitespace): the input of the
    /// generation's address, so equal manifests give the same object.
    pub fn canonical_json(&self) -> String {
        serde_json::to_string(self).expect("a manifest serialises")
    }

    pub fn part(&self, name: &str) -> Option<&PartEntry> {
        self.parts.iter().find(|p| p.name == name)
    }

    /// The union of the parts' working sets (sorted, without duplicates).
    pub fn collect_distributions(parts: &[PartEntry]) -> Vec<DistEntry> {
        let mut all: Vec<DistEntry> = parts
            .iter()
            .flat_map(|p| p.distributions.iter().cloned())
            .collect();
        all.sort_by(|a, b| (&a.name, &a.version, &a.path).cmp(&(&b.name, &b.version, &b.path)));
        all.dedup();
        all
    }

    /// Every managed output path, relative to the buildout directory.
    pub fn outputs(&self) -> Vec<&str> {
        let mut all: Vec<&str> = self
            .parts
            .iter()
            .flat_map(|p| p.outputs.iter().map(String::as_str))
            .collect();
        all.sort_unstable();
        all.dedup();
        all
    }
}

/// One difference between two manifests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "change", rename_all = "kebab-case")]
pub enum Change {
    PartAdded {
        part: String,
    },
    PartRemoved {
        part: String,
    },
    /// The part's object changed; the options (values with credentials
    /// redacted) and the distributions of its working set that differ are
    /// listed (both empty: another input changed, e.g. a file it reads).
    PartChanged {
        part: String,
        options: Vec<OptionChange>,
        /// `DistAdded`, `DistRemoved` and `DistChanged` only.
        distributions: Vec<Change>,
    },
    DistAdded {
        name: String,
        version: String,
    },
    DistRemoved {
        name: String,
        version: String,
    },
    DistChanged {
        name: String,
        from: String,
        to: String,
    },
    /// The lock file installed from changed (its sha256; `None`: no lock).
    LockChanged {
        from: Option<String>,
        to: Option<String>,
    },
}

/// An option whose value differs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OptionChange {
    pub option: String,
    pub from: Option<String>,
    pub to: Option<String>,
}

/// What changed from `a` to `b`.
pub fn diff(a: &Manifest, b: &Manifest) -> Vec<Change> {
    let mut changes = Vec::new();
    for pa in &a.parts {
        match b.part(&pa.name) {
            None => changes.push(Change::PartRemoved {
                part: pa.name.clone(),
            }),
            Some(pb) if pb.path != pa.path => {
                let keys: std::collections::BTreeSet<&String> =
                    pa.options.keys().chain(pb.options.keys()).collect();
                let redacted = |v: Option<&String>| v.map(|v| redact_all(v));
                let mut options: Vec<OptionChange> = keys
                    .into_iter()
                    .filter(|k| pa.options.get(*k) != pb.options.get(*k))
                    .map(|k| OptionChange {
                        option: k.clone(),
                        from: redacted(pa.options.get(k)),
                        to: redacted(pb.options.get(k)),
                    })
                    .collect();
                if pa.recipe != pb.recipe && !options.iter().any(|o| o.option == "recipe") {
                    options.push(OptionChange {
                        option: "recipe".into(),
                        from: Some(pa.recipe.clone()),
                        to: Some(pb.recipe.clone()),
                    });
                }
                changes.push(Change::PartChanged {
                    part: pa.name.clone(),
                    options,
                    distributions: dist_changes(&pa.distributions, &pb.distributions),
                });
            }
            Some(_) => {}
        }
    }
    for pb in &b.parts {
        if a.part(&pb.name).is_none() {
            changes.push(Change::PartAdded {
                part: pb.name.clone(),
            });
        }
    }
    changes.extend(dist_changes(&a.distributions, &b.distributions));
    if a.lock != b.lock {
        changes.push(Change::LockChanged {
            from: a.lock.clone(),
            to: b.lock.clone(),
        });
    }
    changes
}

/// What changed from working set `a` to `b`, by name. Versions are
/// compared per name as sets: two parts may use two versions side by side.
fn dist_changes(a: &[DistEntry], b: &[DistEntry]) -> Vec<Change> {
    let versions = |dists: &[DistEntry]| {
        let mut map: BTreeMap<String, std::collections::BTreeSet<String>> = BTreeMap::new();
        for d in dists {
            map.entry(d.name.clone())
                .or_default()
                .insert(d.version.clone());
        }
        map
    };
    let mut changes = Vec::new();
    let (va, vb) = (versions(a), versions(b));
    let names: std::collections::BTreeSet<&String> = va.keys().chain(vb.keys()).collect();
    let none = std::collections::BTreeSet::new();
    for name in names {
        let (sa, sb) = (va.get(name).unwrap_or(&none), vb.get(name).unwrap_or(&none));
        if sa == sb {
            continue;
        }
        if sa.len() == 1 && sb.len() == 1 {
            changes.push(Change::DistChanged {
                name: name.clone(),
                from: sa.iter().next().cloned().unwrap_or_default(),
                to: sb.iter().next().cloned().unwrap_or_default(),
            });
            continue;
        }
        for v in sa.difference(sb) {
            changes.push(Change::DistRemoved {
                name: name.clone(),
                version: v.clone(),
            });
        }
        for v in sb.difference(sa) {
            changes.push(Change::DistAdded {
                name: name.clone(),
                version: v.clone(),
            });
        }
    }
    changes
}

/// Up to this many changes, the summary names each (`+app ~config -old`);
/// beyond it, it counts them per kind.
const SHORT_SUMMARY: usize = 6;
/// Names shown per kind in a counted summary.
const NAMES_SHOWN: usize = 3;

/// A one-line summary of changes whose length does not grow with the
/// generation: each change named (`+app ~config -old`) when there are few,
/// otherwise counts per kind with the first few names (`+1 part (app),
/// +41 distributions (flask 3.1.0, werkzeug 3.1.3, … and 38 more)`). The
/// full list is [`describe`]'s.
pub fn summary(changes: &[Change]) -> String {
    if changes.is_empty() {
        return "no changes".into();
    }
    if changes.len() <= SHORT_SUMMARY {
        let words: Vec<String> = changes
            .iter()
            .map(|c| match c {
                Change::PartAdded { part } => format!("+{part}"),
                Change::PartRemoved { part } => format!("-{part}"),
                Change::PartChanged { part, .. } => format!("~{part}"),
                Change::DistAdded { name, version } => format!("+{name}=={version}"),
                Change::DistRemoved { name, version } => format!("-{name}=={version}"),
                Change::DistChanged { name, to, .. } => format!("~{name}=={to}"),
                Change::LockChanged { .. } => "~lock".to_string(),
            })
            .collect();
        return words.join(" ");
    }
    // (sign, noun, names) per kind, in a fixed order.
    let mut kinds: [(&str, &str, Vec<String>); 7] = [
        ("+", "part", Vec::new()),
        ("~", "part", Vec::new()),
        ("-", "part", Vec::new()),
        ("+", "distribution", Vec::new()),
        ("~", "distribution", Vec::new()),
        ("-", "distribution", Vec::new()),
        ("~", "lock file", Vec::new()),
    ];
    for c in changes {
        let (kind, name) = match c {
            Change::PartAdded { part } => (0, part.clone()),
            Change::PartChanged { part, .. } => (1, part.clone()),
            Change::PartRemoved { part } => (2, part.clone()),
            Change::DistAdded { name, version } => (3, format!("{name} {version}")),
            Change::DistChanged { name, from, to } => (4, format!("{name} {from} -> {to}")),
            Change::DistRemoved { name, version } => (5, format!("{name} {version}")),
            Change::LockChanged { .. } => (6, "pylock".to_string()),
        };
        kinds[kind].2.push(name);
    }
    let segments: Vec<String> = kinds
        .iter()
        .filter(|(_, _, names)| !names.is_empty())
        .map(|(sign, noun, names)| {
            let n = names.len();
            let plural = if n == 1 { "" } else { "s" };
            let mut shown = names[..n.min(NAMES_SHOWN)].join(", ");
            if n > NAMES_SHOWN {
                shown.push_str(&format!(", … and {} more", n - NAMES_SHOWN));
            }
            format!("{sign}{n} {noun}{plural} ({shown})")
        })
        .collect();
    segments.join(", ")
}

/// Human-readable lines for `generations diff`.
pub fn describe(changes: &[Change]) -> Vec<String> {
    let mut lines = Vec::new();
    for c in changes {
        match c {
            Change::PartAdded { part } => lines.push(format!("part {part}: added")),
            Change::PartRemoved { part } => lines.push(format!("part {part}: removed")),
            Change::PartChanged {
                part,
                options,
                distributions,
            } => {
                lines.push(format!("part {part}: changed"));
                if options.is_empty() && distributions.is_empty() {
                    lines.push(
                        "    same options and distributions (another input changed: \
                         a file it reads, its interpreter or buildout's version)"
                            .into(),
                    );
                }
                for o in options {
                    let show = |v: &Option<String>| {
                        v.as_ref()
                            .map_or_else(|| "(unset)".to_string(), |s| format!("{s:?}"))
                    };
                    lines.push(format!(
                        "    {}: {} -> {}",
                        o.option,
                        show(&o.from),
                        show(&o.to)
                    ));
                }
                for line in describe(distributions) {
                    lines.push(format!("    {line}"));
                }
            }
            Change::DistAdded { name, version } => {
                lines.push(format!("distribution {name}: added {version}"));
            }
            Change::DistRemoved { name, version } => {
                lines.push(format!("distribution {name}: removed {version}"));
            }
            Change::DistChanged { name, from, to } => {
                lines.push(format!("distribution {name}: {from} -> {to}"));
            }
            Change::LockChanged { from, to } => {
                let show = |d: &Option<String>| d.clone().unwrap_or_else(|| "(none)".into());
                lines.push(format!("lock file: {} -> {}", show(from), show(to)));
            }
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    type PartSpec<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)]);

    fn manifest(parts: &[PartSpec<'_>]) -> Manifest {
        Manifest {
            format: FORMAT,
            tool_version: "0".into(),
            buildout_directory: "/b".into(),
            config: BTreeMap::new(),
            parts: parts
                .iter()
                .map(|(name, path, opts)| PartEntry {
                    name: (*name).into(),
                    recipe: "r".into(),
                    options: opts
                        .iter()
                        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
                        .collect(),
                    path: (*path).into(),
                    outputs: vec![],
                    distributions: vec![],
                    link: None,
                    action: false,
                })
                .collect(),
            distributions: vec![],
            interpreters: vec![],
            lock: None,
        }
    }

    #[test]
    fn diff_reports_added_removed_and_changed_parts() {
        let a = manifest(&[("a", "/s/1-a", &[("x", "1")]), ("b", "/s/1-b", &[])]);
        let b = manifest(&[("a", "/s/2-a", &[("x", "2")]), ("c", "/s/1-c", &[])]);
        let changes = diff(&a, &b);
        assert_eq!(summary(&changes), "~a -b +c");
        assert_eq!(
            describe(&changes),
            vec![
                "part a: changed",
                "    x: \"1\" -> \"2\"",
                "part b: removed",
                "part c: added"
            ]
        );
        assert_eq!(summary(&diff(&a, &a)), "no changes");
    }

    #[test]
    fn a_part_changed_by_another_input_says_so() {
        let a = manifest(&[("nginx", "/s/1-nginx", &[("x", "1")])]);
        let b = manifest(&[("nginx", "/s/2-nginx", &[("x", "1")])]);
        assert_eq!(
            describe(&diff(&a, &b)),
            vec![
                "part nginx: changed",
                "    same options and distributions (another input changed: a file it reads, \
                 its interpreter or buildout's version)"
            ]
        );
    }

    #[test]
    fn changed_options_are_shown_without_credentials() {
        let a = manifest(&[("a", "/s/1-a", &[("url", "https://u:s3cret@h/x")])]);
        let b = manifest(&[("a", "/s/2-a", &[("url", "https://u:s3cret@h/y")])]);
        let changes = diff(&a, &b);
        assert_eq!(
            describe(&changes),
            vec![
                "part a: changed",
                "    url: \"https://h/x\" -> \"https://h/y\""
            ]
        );
        let json = serde_json::to_string(&changes).unwrap();
        assert!(!json.contains("s3cret"), "{json}");
    }
}

#[cfg(test)]
mod dist_tests {
    use super::*;

    fn with_dists(dists: &[(&str, &str)]) -> Manifest {
        Manifest {
            format: FORMAT,
            tool_version: "0".into(),
            buildout_directory: "/b".into(),
            config: BTreeMap::new(),
            parts: vec![],
            distributions: dists
                .iter()
                .map(|(n, v)| DistEntry {
                    name: (*n).into(),
                    version: (*v).into(),
                    path: format!("/s/x-{n}-{v}"),
                })
                .collect(),
            interpreters: vec![],
            lock: None,
        }
    }

    #[test]
    fn side_by_side_versions_are_compared_as_sets() {
        let a = with_dists(&[("requests", "2.25.1"), ("six", "1.0")]);
        let b = with_dists(&[
            ("requests", "2.25.1"),
            ("requests", "2.34.2"),
            ("six", "1.1"),
        ]);
        assert_eq!(summary(&diff(&a, &b)), "+requests==2.34.2 ~six==1.1");
        assert_eq!(summary(&diff(&b, &a)), "-requests==2.34.2 ~six==1.0");
    }

    #[test]
    fn a_long_summary_counts_and_names_the_first_few() {
        let names: Vec<String> = (0..41).map(|i| format!("d{i:02}")).collect();
        let many: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "1.0")).collect();
        let a = with_dists(&[("six", "1.0"), ("gone", "2.0")]);
        let mut b_dists = many.clone();
        b_dists.push(("six", "1.1"));
        let b = with_dists(&b_dists);
        assert_eq!(
            summary(&diff(&a, &b)),
            "+41 distributions (d00 1.0, d01 1.0, d02 1.0, … and 38 more), \
             ~1 distribution (six 1.0 -> 1.1), -1 distribution (gone 2.0)"
        );
    }
}
