//! Resolver tests over in-memory registries (cargo's resolver-tests style).

use super::*;
use crate::python::MarkerEnvironment;

fn env() -> MarkerEnvironment {
    MarkerEnvironment {
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
    }
}

/// `registry!("a" "1.0" => ["b>=1"], "b" "1.0" => [])`
macro_rules! registry {
    ($($name:literal $version:literal => [$($dep:literal),* $(,)?]),* $(,)?) => {{
        #[allow(unused_mut)]
        let mut p = MemoryProvider::new();
        $( p.add($name, $version, &[$($dep),*]).unwrap(); )*
        p
    }};
}

fn opts() -> Options {
    Options::new(env())
}

fn pinned(entries: &[(&str, &str)]) -> Options {
    let mut o = opts();
    for (k, v) in entries {
        o.pins.insert(k, v).unwrap();
    }
    o
}

fn reqs(list: &[&str]) -> Vec<Requirement> {
    list.iter().map(|r| r.parse().unwrap()).collect()
}

fn run(p: &MemoryProvider, roots: &[&str], o: &Options) -> Result<Resolution> {
    resolve(&reqs(roots), p, o)
}

/// `name==version[extras]` lines of a successful resolution.
fn ok(p: &MemoryProvider, roots: &[&str], o: &Options) -> Vec<String> {
    let r = run(p, roots, o).unwrap_or_else(|e| panic!("{e}\n{:?}", e.explanation()));
    r.packages
        .iter()
        .map(|d| {
            let extras = if d.extras.is_empty() {
                String::new()
            } else {
                format!("[{}]", d.extras.join(","))
            };
            format!("{}=={}{extras}", d.name, d.version)
        })
        .collect()
}

#[test]
fn simple_chain_takes_highest_versions() {
    let p = registry!(
        "a" "1.0" => ["b>=1"],
        "b" "0.9" => [],
        "b" "1.0" => ["c"],
        "b" "1.1" => ["c<2"],
        "c" "1.5" => [],
        "c" "2.0" => [],
    );
    assert_eq!(ok(&p, &["a"], &opts()), ["a==1.0", "b==1.1", "c==1.5"]);
}

#[test]
fn extras_add_their_requirements() {
    let p = registry!(
        "a" "1.0" => ["b; extra == 'x'", "c"],
        "b" "1.0" => [],
        "c" "1.0" => [],
    );
    assert_eq!(ok(&p, &["a"], &opts()), ["a==1.0", "c==1.0"]);
    assert_eq!(
        ok(&p, &["a[X]"], &opts()),
        ["a==1.0[x]", "b==1.0", "c==1.0"]
    );
}

#[test]
fn extras_of_extras_are_followed() {
    let p = registry!(
        "a" "1.0" => ["a[y]; extra == 'all'", "b; extra == 'y'", "c[z]; extra == 'y'"],
        "b" "1.0" => [],
        "c" "1.0" => ["d; extra == 'z'"],
        "d" "1.0" => [],
    );
    assert_eq!(
        ok(&p, &["a[all]"], &opts()),
        ["a==1.0[all,y]", "b==1.0", "c==1.0[z]", "d==1.0"]
    );
}

#[test]
fn markers_drop_requirements() {
    let p = registry!(
        "a" "1.0" => ["b; python_version < '3.0'", "c; sys_platform == 'linux'", "d; os_name == 'nt'"],
        "b" "1.0" => [],
        "c" "1.0" => [],
        "d" "1.0" => [],
    );
    assert_eq!(
        ok(&p, &["a", "e; sys_platform == 'win32'"], &opts()),
        ["a==1.0", "c==1.0"]
    );
}

#[test]
fn requires_python_filters_candidates() {
    let mut p = registry!("a" "1.0" => ["b"], "b" "1.0" => []);
    p.add_with("b", "2.0", |c, _| {
        c.requires_python = Some(">=3.12".parse().unwrap());
    })
    .unwrap();
    p.add_with("b", "1.5", |_, d| {
        d.requires_python = Some(">=3.12".parse().unwrap());
    })
    .unwrap();
    assert_eq!(ok(&p, &["a"], &opts()), ["a==1.0", "b==1.0"]);

    let err = run(&p, &["b>=1.5"], &opts()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Couldn't find a distribution for 'b>=1.5'."
    );
    let err = run(&p, &["b>=2"], &opts()).unwrap_err();
    assert_eq!(err.to_string(), "Couldn't find a distribution for 'b>=2'.");
    assert_eq!(
        err.explanation(),
        [
            "`b 2.0` requires Python `>=3.12`, but the interpreter is Python 3.11.7",
            "available versions of b: 1.0, 1.5 (the newest)"
        ]
    );
}

#[test]
fn yanked_versions_only_when_pinned_exactly() {
    let mut p = registry!("b" "1.0" => []);
    p.add_with("b", "2.0", |c, _| c.yanked = true).unwrap();
    assert_eq!(ok(&p, &["b"], &opts()), ["b==1.0"]);
    assert_eq!(ok(&p, &["b==2.0"], &opts()), ["b==2.0"]);
    assert_eq!(ok(&p, &["b"], &pinned(&[("b", "2.0")])), ["b==2.0"]);
    let err = run(&p, &["b>1.0"], &opts()).unwrap_err();
    assert_eq!(err.to_string(), "Couldn't find a distribution for 'b>1.0'.");
    assert_eq!(
        err.explanation(),
        [
            "`b 2.0` is yanked",
            "available versions of b: 1.0 (the newest)"
        ]
    );
    assert_eq!(
        err.explained(),
        "Couldn't find a distribution for 'b>1.0'.\n`b 2.0` is yanked\n\
         available versions of b: 1.0 (the newest)"
    );
    // A yanked version the request would not match is not worth a word.
    let err = run(&p, &["b<1.0"], &opts()).unwrap_err();
    assert_eq!(
        err.explanation(),
        ["available versions of b: 1.0 (the newest)"]
    );
    // ... unless no version is usable at all: then they are the story.
    p.add_with("c", "3.0", |c, _| c.yanked = true).unwrap();
    let err = run(&p, &["c<3"], &opts()).unwrap_err();
    assert_eq!(err.explanation(), ["`c 3.0` is yanked"]);
}

#[test]
fn pins_of_every_form() {
    let p = registry!(
        "Demo" "0.1" => [], "Demo" "0.2" => [], "Demo" "0.3" => [],
        "zope.interface" "4.0" => [], "zope.interface" "5.0" => [],
    );
    let all = ["demo", "zope.interface"];
    assert_eq!(ok(&p, &all, &opts()), ["demo==0.3", "zope-interface==5.0"]);
    assert_eq!(
        ok(
            &p,
            &all,
            &pinned(&[("demo", "0.2"), ("Zope_Interface", "==4.0")])
        ),
        ["demo==0.2", "zope-interface==4.0"]
    );
    assert_eq!(
        ok(&p, &all, &pinned(&[("DEMO", "<0.3")])),
        ["demo==0.2", "zope-interface==5.0"]
    );
    assert_eq!(
        ok(&p, &["demo<0.3"], &pinned(&[("demo", ">0.1")])),
        ["demo==0.2"]
    );
    assert_eq!(
        ok(&p, &all, &pinned(&[("demo", "")])),
        ["demo==0.3", "zope-interface==5.0"]
    );
    let section = [("demo".to_string(), ">=0.1,<0.3".to_string())]
        .into_iter()
        .collect();
    let mut o = opts();
    o.pins = Pins::from_section(&section).unwrap();
    assert_eq!(ok(&p, &["demo"], &o), ["demo==0.2"]);
}

#[test]
fn incompatible_pin_uses_zc_buildout_text() {
    let p = registry!("demo" "0.2" => [], "demo" "0.3" => []);
    let err = run(&p, &["demo>0.2"], &pinned(&[("demo", "0.2")])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "The requirement ('demo>0.2') is not allowed by your [versions] constraint (0.2)"
    );
}

#[test]
fn transitive_pin_clash_names_the_requirer() {
    let p = registry!(
        "sampley" "1.0" => ["demoneeded==1.0"],
        "demoneeded" "1.0" => [],
        "demoneeded" "1.1" => [],
    );
    let err = run(&p, &["sampley"], &pinned(&[("demoneeded", "1.1")])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "The requirement ('demoneeded==1.0') is not allowed by your [versions] constraint (1.1)"
    );
    assert_eq!(
        err.explanation(),
        ["`sampley 1.0` requires `demoneeded==1.0`, but `demoneeded 1.1` is pinned in [versions]"]
    );
}

#[test]
fn transitive_pin_clash_backtracks_when_possible() {
    let p = registry!(
        "sampley" "1.0" => ["demoneeded"],
        "sampley" "2.0" => ["demoneeded==1.0"],
        "demoneeded" "1.0" => [],
        "demoneeded" "1.1" => [],
    );
    assert_eq!(
        ok(&p, &["sampley"], &pinned(&[("demoneeded", "1.1")])),
        ["demoneeded==1.1", "sampley==1.0"]
    );
}

#[test]
fn prefer_final_follows_zc_buildout() {
    let p = registry!("demo" "0.3" => [], "demo" "0.4a1" => [], "dev" "1.0b1" => []);
    assert_eq!(ok(&p, &["demo"], &opts()), ["demo==0.3"]);
    // A pre-release in the specifier does not matter while a final fits.
    assert_eq!(ok(&p, &["demo>=0.3a1"], &opts()), ["demo==0.3"]);
    // Only pre-releases fit: take one.
    assert_eq!(ok(&p, &["demo>0.3"], &opts()), ["demo==0.4a1"]);
    assert_eq!(ok(&p, &["dev"], &opts()), ["dev==1.0b1"]);
    let mut o = opts();
    o.prefer_final = false;
    assert_eq!(ok(&p, &["demo"], &o), ["demo==0.4a1"]);
}

#[test]
fn newest_false_reuses_the_store() {
    let mut p = registry!("a" "1.0" => [], "a" "2.0" => [], "b" "1.0" => [], "b" "1.1a1" => []);
    p.install("a", "1.0").unwrap();
    p.install("b", "1.1a1").unwrap();
    p.install("b", "1.0").unwrap();
    p.install("old", "0.5").unwrap();
    let mut o = opts();
    assert_eq!(ok(&p, &["a", "b"], &o), ["a==2.0", "b==1.0"]);
    o.newest = false;
    assert_eq!(ok(&p, &["a", "b"], &o), ["a==1.0", "b==1.0"]);
    // What the store has does not satisfy: fall back to the index.
    assert_eq!(ok(&p, &["a>1"], &o), ["a==2.0"]);
    // Only in the store (offline): still a candidate.
    assert_eq!(ok(&p, &["old"], &o), ["old==0.5"]);
}

fn demo_registry() -> MemoryProvider {
    registry!(
        "demo" "0.2" => ["demoneeded"],
        "demo" "0.3" => ["demoneeded"],
        "demo" "0.4rc1" => ["demoneeded"],
        "demoneeded" "1.0" => [],
        "demoneeded" "1.1" => [],
        "demoneeded" "1.2rc1" => [],
    )
}

#[test]
fn picked_versions_block_matches_zc_buildout() {
    // zc.buildout's doctest buildout_prefer_final_option.
    let r = run(&demo_registry(), &["demo"], &opts()).unwrap();
    assert_eq!(
        report::picked_versions_lines(&r.picked).join("\n"),
        "[versions]\ndemo = 0.3\n\n# Required by:\n# demo==0.3\ndemoneeded = 1.1"
    );
    assert_eq!(
        report::show_picked_versions(&r.picked).unwrap()[..2],
        [
            "Versions had to be automatically picked.",
            "The following part definition lists the versions picked:"
        ]
    );
}

#[test]
fn picked_versions_show_who_requires() {
    // zc.buildout's doctest show_who_requires_picked_versions: the develop
    // eggs are pinned here.
    let mut p = demo_registry();
    p.add("sampley", "1", &["demo"]).unwrap();
    p.add("samplea", "1", &["sampleb"]).unwrap();
    p.add("sampleb", "1", &["sampley", "samplea"]).unwrap();
    let o = pinned(&[("sampley", "1"), ("samplea", "1"), ("sampleb", "1")]);
    let r = run(&p, &["samplea"], &o).unwrap();
    assert_eq!(
        report::show_picked_versions(&r.picked).unwrap().join("\n"),
        "Versions had to be automatically picked.\n\
         The following part definition lists the versions picked:\n\
         [versions]\n\
         \n\
         # Required by:\n\
         # sampley==1\n\
         demo = 0.3\n\
         \n\
         # Required by:\n\
         # demo==0.3\n\
         demoneeded = 1.1"
    );
}

#[test]
fn picked_versions_exclude_exact_requirements_and_pins() {
    let p = registry!(
        "sampley" "1.0" => ["demoneeded==1.0", "other>=1"],
        "demoneeded" "1.0" => [],
        "demoneeded" "1.1" => [],
        "other" "1.0" => [],
    );
    let r = run(&p, &["sampley"], &pinned(&[("sampley", "1.0")])).unwrap();
    let picked: Vec<_> = r.picked.iter().map(|p| p.project_name.as_str()).collect();
    assert_eq!(picked, ["other"]);
    // Required through a specifier: zc.buildout lists it without a group.
    assert!(r.picked[0].required_by.is_empty());
    assert_eq!(
        report::picked_versions_lines(&r.picked),
        ["[versions]", "other = 1.0"]
    );
    assert!(report::show_picked_versions(&[]).is_none());
}

#[test]
fn allow_picked_versions_false_uses_zc_buildout_text() {
    let mut o = pinned(&[("demo", "0.3")]);
    o.allow_picked_versions = false;
    let err = run(&demo_registry(), &["demo"], &o).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Picked: demoneeded = 1.1\n\
         \n\
         The `demoneeded` egg does not have a version pin and `allow-picked-versions = false`.\n\
         \n\
         To resolve this, add\n\
         \n    demoneeded = 1.1\n\
         \n\
         to the [versions] section,\n\
         \n\
         OR set `allow-picked-versions = true`."
    );
    o.pins.insert("demoneeded", "1.0").unwrap();
    assert!(
        run(&demo_registry(), &["demo"], &o)
            .unwrap()
            .picked
            .is_empty()
    );
}

#[test]
fn update_versions_file_appends_only_new_pins() {
    let r = run(&demo_registry(), &["demo"], &opts()).unwrap();
    let ts = "2026-01-31 12:34:56.789012";
    let fresh = report::versions_file_append(None, &r.picked, ts).unwrap();
    assert_eq!(
        fresh,
        "[versions]\ndemo = 0.3\n\n# Required by:\n# demo==0.3\ndemoneeded = 1.1\n"
    );
    // Appending to a file that already pins `demo`.
    let existing = "[versions]\nDemo = 0.3\n";
    assert_eq!(
        report::versions_file_append(Some(existing), &r.picked, ts).unwrap(),
        "\n# Added by buildout at 2026-01-31 12:34:56.789012\n\n# Required by:\n# demo==0.3\ndemoneeded = 1.1\n"
    );
    // Everything is there already: nothing to append.
    let full = format!(
        "{existing}{}",
        "\n# Added by buildout at x\ndemoneeded = 1.1\n"
    );
    assert_eq!(
        report::versions_file_append(Some(&full), &r.picked, ts),
        None
    );
    assert_eq!(
        report::written_message("versions.cfg"),
        "Picked versions have been written to versions.cfg"
    );
}

#[test]
fn merge_picked_accumulates_over_parts() {
    let a = run(&demo_registry(), &["demo"], &opts()).unwrap();
    let b = run(&demo_registry(), &["demoneeded"], &opts()).unwrap();
    let mut all = Vec::new();
    report::merge_picked(&mut all, &a.picked);
    report::merge_picked(&mut all, &b.picked);
    assert_eq!(all.len(), 2);
    assert_eq!(all[1].required_by, ["demo==0.3"]);
}

#[test]
fn conflicts_are_explained() {
    let p = registry!(
        "a" "1.0" => ["c<2"],
        "b" "1.0" => ["c>=2"],
        "c" "1.0" => [],
        "c" "2.0" => [],
    );
    let err = run(&p, &["a", "b"], &opts()).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::Conflict(_)), "{text}");
    assert!(
        text.starts_with("There is a version conflict.\nWe already have: c "),
        "{text}"
    );
    assert!(
        text.contains("`a 1.0` requires `c<2`, but `b 1.0` requires `c>=2`")
            || text.contains("`b 1.0` requires `c>=2`, but `a 1.0` requires `c<2`"),
        "{text}"
    );
}

#[test]
fn conflict_with_root_requirement_uses_zc_phrasing() {
    let p = registry!(
        "sampley" "1" => ["demoneeded==1.0"],
        "demoneeded" "1.0" => [],
        "demoneeded" "1.1" => [],
    );
    let err = run(&p, &["sampley", "demoneeded>1.0"], &opts()).unwrap_err();
    let text = err.to_string();
    assert!(text.starts_with("There is a version conflict.\n"), "{text}");
    assert!(text.contains("We already have: demoneeded 1.1\n"), "{text}");
    assert!(
        text.contains("but sampley 1 requires 'demoneeded==1.0'."),
        "{text}"
    );
}

#[test]
fn diamond_needs_backtracking() {
    let p = registry!(
        "a" "1.0" => ["c==1.0"],
        "a" "2.0" => ["c==2.0"],
        "b" "1.0" => ["c<2"],
        "c" "1.0" => [],
        "c" "2.0" => [],
        "top" "1.0" => ["a", "b"],
    );
    assert_eq!(
        ok(&p, &["top"], &opts()),
        ["a==1.0", "b==1.0", "c==1.0", "top==1.0"]
    );
}

#[test]
fn missing_distributions_use_zc_buildout_text() {
    let p = registry!("a" "1.0" => ["nope>=1"], "b" "1.0" => []);
    let err = run(&p, &["nothere"], &opts()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Couldn't find a distribution for 'nothere'."
    );
    let err = run(&p, &["b>1"], &opts()).unwrap_err();
    assert_eq!(err.to_string(), "Couldn't find a distribution for 'b>1'.");
    let err = run(&p, &["a"], &opts()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Couldn't find a distribution for 'nope>=1'."
    );
}

#[test]
fn unknown_extras_warn_and_fail_unless_allowed() {
    let p = registry!("a" "1.0" => ["b; extra == 'x'"], "b" "1.0" => []);
    let err = run(&p, &["a[bogus]"], &opts()).unwrap_err();
    assert!(
        err.to_string().starts_with(
            "Couldn't find the required extra. This means the requirement is incorrect."
        ),
        "{err}"
    );
    let mut o = opts();
    o.allow_unknown_extras = true;
    let r = run(&p, &["a[bogus]"], &o).unwrap();
    assert_eq!(r.warnings, ["a 1.0 does not provide the extra 'bogus'"]);
    assert_eq!(r.packages.len(), 1);
}

#[test]
fn root_markers_and_local_versions() {
    let p = registry!("a" "1.0+local" => [], "b" "1.0" => ["a==1.0"]);
    // `==1.0` admits `1.0+local` (PEP 440), which pep440_rs ranges do not.
    assert_eq!(ok(&p, &["b"], &opts()), ["a==1.0+local", "b==1.0"]);
}

#[test]
fn resolution_order_is_stable() {
    let p = registry!("z" "1" => ["y"], "y" "1" => ["x"], "x" "1" => []);
    let first = run(&p, &["z"], &opts()).unwrap();
    for _ in 0..5 {
        assert_eq!(run(&p, &["z"], &opts()).unwrap(), first);
    }
    let names: Vec<_> = first
        .picked
        .iter()
        .map(|p| p.project_name.as_str())
        .collect();
    assert_eq!(names, ["z", "y", "x"]);
}

mod property {
    use super::*;
    use proptest::prelude::*;

    const NAMES: [&str; 4] = ["a", "b", "c", "d"];
    const VERSIONS: [&str; 4] = ["1.0", "1.1", "2.0a1", "2.0"];
    const OPS: [&str; 5] = ["==", ">=", "<", "!=", ""];

    type Dep = (usize, usize, usize);
    type Dist = (usize, usize, Vec<Dep>, bool);

    fn dist() -> impl Strategy<Value = Dist> {
        (
            0..NAMES.len(),
            0..VERSIONS.len(),
            prop::collection::vec((0..NAMES.len(), 0..OPS.len(), 0..VERSIONS.len()), 0..3),
            prop::bool::weighted(0.1),
        )
    }

    fn dep_text((n, o, v): &Dep) -> String {
        if OPS[*o].is_empty() {
            NAMES[*n].to_string()
        } else {
            format!("{}{}{}", NAMES[*n], OPS[*o], VERSIONS[*v])
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        #[test]
        fn resolutions_satisfy_every_requirement_or_fail_cleanly(
            dists in prop::collection::vec(dist(), 0..10),
            roots in prop::collection::vec((0..NAMES.len(), 0..OPS.len(), 0..VERSIONS.len()), 1..3),
            pin in prop::option::of((0..NAMES.len(), 0..VERSIONS.len())),
        ) {
            let mut p = MemoryProvider::new();
            for (n, v, deps, yanked) in &dists {
                let texts: Vec<String> = deps.iter().map(dep_text).collect();
                let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
                p.add(NAMES[*n], VERSIONS[*v], &refs).unwrap();
                if *yanked {
                    p.add_with(NAMES[*n], VERSIONS[*v], |c, _| c.yanked = true).unwrap();
                }
            }
            let mut o = opts();
            if let Some((n, v)) = pin {
                o.pins.insert(NAMES[n], VERSIONS[v]).unwrap();
            }
            let root_texts: Vec<String> = roots.iter().map(dep_text).collect();
            let root_refs: Vec<&str> = root_texts.iter().map(String::as_str).collect();
            if let Ok(r) = run(&p, &root_refs, &o) {
                let chosen: BTreeMap<&PackageName, &Version> =
                    r.packages.iter().map(|d| (&d.name, &d.version)).collect();
                let mut check: Vec<Requirement> = reqs(&root_refs);
                for d in &r.packages {
                    let meta = p.metadata(&d.name, &d.version).unwrap();
                    check.extend(meta.requires_dist.clone());
                }
                for req in &check {
                    let req = o.pins.constrain(req).unwrap();
                    let v = chosen.get(&req.name);
                    prop_assert!(v.is_some(), "{req} not installed");
                    prop_assert!(req.specifiers.contains(v.unwrap()), "{req} violated by {:?}", v);
                }
            }
        }
    }
}

#[test]
fn metadata_requires_python_is_explained() {
    let mut p = registry!("a" "1.0" => ["b>=1.5"], "b" "1.0" => []);
    p.add_with("b", "1.5", |_, d| {
        d.requires_python = Some(">=3.12".parse().unwrap());
    })
    .unwrap();
    let err = run(&p, &["a"], &opts()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Couldn't find a distribution for 'b>=1.5'."
    );
    assert_eq!(
        err.explanation(),
        [
            "`b 1.5` requires Python `>=3.12`, but the interpreter is Python 3.11.7",
            "`a 1.0` requires `b>=1.5`"
        ]
    );
}

#[test]
fn conflict_over_several_parent_versions_is_summarised() {
    let p = registry!(
        "a" "1.0" => ["c<2"], "a" "1.1" => ["c<2"], "a" "1.2" => ["c<2"], "a" "1.3" => ["c<2"],
        "b" "1.0" => ["c>=2"], "c" "1.0" => [], "c" "2.0" => [], "top" "1" => ["a", "b"],
    );
    let err = run(&p, &["top"], &opts()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "There is a version conflict.\n\
         We already have: c 2.0\n\
         but a 1.3 requires 'c<2'.\n\
         `b 1.0` requires `c>=2`, but `a` 1.0 to 1.3 require `c<2`\n\
         `top 1` requires `a`\n\
         `top 1` requires `b`"
    );
}
