//! What real buildouts (Zope's, ZODB's, a djangorecipe project, a
//! plone.recipe.zope2instance part) needed of the recipe host when tried
//! against PyPI (issue 13), each reduced to fake recipe distributions made
//! here and the offline fixture `tests/fixtures/dists`.

use crate::common::host_config as config;
use crate::common::index::IndexServer;
use crate::common::wheel::{Sdist, Wheel};
use crate::common::{TestContext, fixture_dists};

/// A recipe distribution `tryrecipe` 1.0 with `module` as `tryrecipe.py`
/// and `entries` as its `zc.buildout` entry points.
fn recipe_server(module: &str, entries: &[(&str, &str)]) -> IndexServer {
    let mut w = Wheel::new("tryrecipe", "1.0").module("tryrecipe.py", module);
    for (name, value) in entries {
        w = w.entry_point("zc.buildout", name, value);
    }
    let server = IndexServer::start();
    server.publish(w.build());
    server
}

use crate::common::WRITER_RECIPE as WRITER;

/// Zope's buildout: `allow-picked-versions = false` and no pins for
/// setuptools, pip, wheel, packaging or platformdirs. zc.buildout runs
/// those from its own environment; the host's own distributions are not
/// the buildout's picks either.
#[test]
fn the_hosts_own_requirements_are_not_picked_versions() {
    let server = recipe_server(WRITER, &[("default", "tryrecipe:Writer")]);
    let ctx = TestContext::new();
    ctx.write(
        "buildout.cfg",
        &config(
            &server,
            "parts = w\nallow-picked-versions = false\nshow-picked-versions = true",
            "[versions]\ntryrecipe = 1.0\n\n[w]\nrecipe = tryrecipe\ntext = hello\n",
        ),
    );
    let out = ctx.ok(&[]);
    assert_eq!(
        std::fs::read_to_string(ctx.path("parts/w/out.txt")).unwrap(),
        "hello\n"
    );
    assert!(
        !out.contains("Versions had to be automatically picked"),
        "{out}"
    );
    // A recipe's own unpinned requirement is still refused.
    let server = IndexServer::start();
    server
        .publish(
            Wheel::new("tryrecipe", "1.0")
                .module("tryrecipe.py", WRITER)
                .dep("tiny")
                .entry_point("zc.buildout", "default", "tryrecipe:Writer")
                .build(),
        )
        .publish(Wheel::new("tiny", "1.0").build());
    let ctx = TestContext::new();
    ctx.write(
        "buildout.cfg",
        &config(
            &server,
            "parts = w\nallow-picked-versions = false",
            "[versions]\ntryrecipe = 1.0\n\n[w]\nrecipe = tryrecipe\ntext = hello\n",
        ),
    );
    let (_, err) = ctx.fails(&[]);
    assert!(err.contains("Error: Picked: tiny = 1.0"), "{err}");
}

/// Zope's buildout again: plone.versioncheck needs httpx, which requires
/// `httpcore==1.*`. zc.buildout counts any single `==` requirement, a
/// wildcard too, as fixing the version, so httpcore needs no pin.
#[test]
fn a_wildcard_equal_requirement_is_not_a_picked_version() {
    let server = IndexServer::start();
    server
        .publish(
            Wheel::new("tryrecipe", "1.0")
                .module("tryrecipe.py", WRITER)
                .dep("tiny==1.*")
                .dep("other===1.0")
                .entry_point("zc.buildout", "default", "tryrecipe:Writer")
                .build(),
        )
        .publish(Wheel::new("tiny", "1.0").build())
        .publish(Wheel::new("tiny", "1.1").build())
        .publish(Wheel::new("tiny", "2.0").build())
        .publish(Wheel::new("other", "1.0").build());
    let ctx = TestContext::new();
    let versions = "[versions]\ntryrecipe = 1.0\n";
    let part = "[w]\nrecipe = tryrecipe\ntext = hello\n";
    ctx.write(
        "buildout.cfg",
        &config(
            &server,
            "parts = w\nallow-picked-versions = false",
            &format!("{versions}\n{part}"),
        ),
    );
    // `===` is not `==` for zc.buildout: other must be pinned.
    let (_, err) = ctx.fails(&[]);
    assert!(err.contains("Error: Picked: other = 1.0"), "{err}");
    ctx.write(
        "buildout.cfg",
        &config(
            &server,
            "parts = w\nallow-picked-versions = false",
            &format!("{versions}other = 1.0\n\n{part}"),
        ),
    );
    ctx.ok(&[]);
    assert_eq!(
        std::fs::read_to_string(ctx.path("parts/w/out.txt")).unwrap(),
        "hello\n"
    );
}

/// Zope's buildout: `command = ${zopescripts:bin-directory}/...` reads an
/// option zc.recipe.egg's constructor sets, when the section is initialised
/// (here by the reference, before its own turn in `parts`).
#[test]
fn options_zc_recipe_egg_constructors_set_are_seen_by_substitutions() {
    let server = recipe_server(WRITER, &[("default", "tryrecipe:Writer")]);
    server.publish(Wheel::new("tiny", "1.0").build());
    let ctx = TestContext::new();
    ctx.write(
        "buildout.cfg",
        &config(
            &server,
            "parts = w scripts eggs",
            "[w]\nrecipe = tryrecipe\n\
             text = ${scripts:bin-directory} ${scripts:_b} ${eggs:eggs-directory} \
             ${eggs:_e} ${eggs:develop-eggs-directory} ${eggs:_d}\n\n\
             [scripts]\nrecipe = zc.recipe.egg\neggs = tiny\n\n\
             [eggs]\nrecipe = zc.recipe.egg:eggs\neggs = tiny\n",
        ),
    );
    ctx.ok(&[]);
    let d = ctx.path("").display().to_string();
    let d = d.trim_end_matches('/');
    assert_eq!(
        std::fs::read_to_string(ctx.path("parts/w/out.txt")).unwrap(),
        format!("{d}/bin {d}/bin {d}/eggs/v5 {d}/eggs/v5 {d}/develop-eggs {d}/develop-eggs\n")
    );
}

/// Zope's buildout: plone.recipe.command 1.1 exists only as an sdist, whose
/// build needs setuptools. Build requirements are the builder's (zc.buildout
/// has pip build sdists): `allow-picked-versions = false` asks no pins of
/// them.
#[test]
fn an_sdist_recipes_build_requirements_need_no_pins() {
    let ctx = TestContext::new();
    ctx.write(
        "buildout.cfg",
        &format!(
            "[buildout]\nindex = http://127.0.0.1:9/nothing\nfind-links = {}\n\
             parts = run\nallow-picked-versions = false\n\n\
             [versions]\nplone.recipe.command = 1.1\n\n\
             [run]\nrecipe = plone.recipe.command\ncommand = echo ran > ran.txt\n",
            fixture_dists().display()
        ),
    );
    ctx.ok(&[]);
    assert_eq!(
        std::fs::read_to_string(ctx.path("ran.txt")).unwrap(),
        "ran\n"
    );
}

/// Zope's buildout: mr.developer's `_mr.developer` part (zc.recipe.egg,
/// `eggs = mr.developer`) needs setuptools, unpinned. zc.buildout's own
/// environment (zc.buildout, setuptools, pip, wheel, packaging,
/// platformdirs) is a develop precedence working set there: never picked,
/// in any part.
#[test]
fn zc_buildouts_environment_is_never_picked_in_a_part() {
    let server = IndexServer::start();
    server.publish(
        Wheel::new("needy", "1.0")
            .dep("setuptools")
            .module("needy.py", "")
            .build(),
    );
    let ctx = TestContext::new();
    ctx.write(
        "buildout.cfg",
        &config(
            &server,
            "parts = eggs\nallow-picked-versions = false\nshow-picked-versions = true",
            "[versions]\nneedy = 1.0\n\n[eggs]\nrecipe = zc.recipe.egg:eggs\neggs = needy\n",
        ),
    );
    let out = ctx.ok(&[]);
    assert!(
        !out.contains("Versions had to be automatically picked"),
        "{out}"
    );
}

/// Zope's buildout: `develop = .` makes Zope 6.3.dev0, which `[versions]`
/// names without a version (`Zope =`). A develop egg is never a picked
/// version (zc.buildout finds it with develop precedence), what it
/// requires still is.
#[test]
fn a_develop_egg_is_never_a_picked_version() {
    let server = IndexServer::start();
    server
        .publish(Wheel::new("tiny", "1.0").build())
        .publish(Wheel::new("other", "1.0").build());
    let ctx = TestContext::new();
    Sdist::new("demo", "0.1.dev0")
        .dep("tiny")
        .module("demo/__init__.py", "")
        .write_tree(&ctx.path("src/demo"));
    let write = |versions: &str| {
        ctx.write(
            "buildout.cfg",
            &config(
                &server,
                "parts = eggs\ndevelop = src/demo\nallow-picked-versions = false",
                &format!("[versions]\ndemo =\n{versions}\n[eggs]\nrecipe = zc.recipe.egg:eggs\neggs = demo\n"),
            ),
        )
    };
    write("");
    let (_, err) = ctx.fails(&[]);
    assert!(err.contains("Error: Picked: tiny = 1.0"), "{err}");
    write("tiny = 1.0\n");
    ctx.ok(&[]);
}

const LOCATOR: &str = r#"
import importlib.metadata
import os
import pkg_resources
import zc.recipe.egg

class Locator:
    """Writes where the working set locates each of its eggs (as
    zc.recipe.testrunner computes --test-path)."""
    def __init__(self, buildout, name, options):
        self.egg = zc.recipe.egg.Egg(buildout, name, options)
        self.options = options
        options['location'] = os.path.join(buildout['buildout']['parts-directory'], name)

    def install(self):
        reqs, ws = self.egg.working_set()
        os.makedirs(self.options['location'])
        with open(os.path.join(self.options['location'], 'where.txt'), 'w') as f:
            for r in reqs:
                found = ws.find(pkg_resources.Requirement.parse(r))
                f.write('%s %s\n' % (r, found.location))
            # zc.recipe.testrunner 4's way.
            for d in importlib.metadata.distributions(path=list(ws.entries)):
                if d.metadata['Name'] == 'demo':
                    f.write('metadata %s\n' % d.locate_file(''))
                    break
        return self.options['location']
"#;

/// Zope's and ZODB's `bin/test`: zc.recipe.testrunner passes the location
/// of each egg as `--test-path`. A develop egg is located at its source
/// (zc.buildout's egg-link points there), not at the store object holding
/// its editable `.pth`: there it found no tests at all.
#[test]
fn a_develop_egg_is_located_at_its_source_in_working_sets() {
    let server = recipe_server(LOCATOR, &[("default", "tryrecipe:Locator")]);
    server.publish(Wheel::new("tiny", "1.0").build());
    let ctx = TestContext::new();
    Sdist::new("demo", "0.1")
        .module("demo/__init__.py", "")
        .write_tree(&ctx.path("src/demo"));
    ctx.write(
        "buildout.cfg",
        &config(
            &server,
            "parts = where\ndevelop = src/demo",
            "[where]\nrecipe = tryrecipe\neggs = demo\n    tiny\n",
        ),
    );
    ctx.ok(&[]);
    let where_ = std::fs::read_to_string(ctx.path("parts/where/where.txt")).unwrap();
    let mut lines = where_.lines();
    assert_eq!(
        lines.next().unwrap(),
        format!("demo {}", ctx.path("src/demo/src").display())
    );
    let tiny = lines.next().unwrap();
    assert!(
        tiny.starts_with("tiny ") && tiny.ends_with("-tiny-1.0"),
        "{tiny}"
    );
    assert_eq!(
        lines.next().unwrap(),
        format!("metadata {}", ctx.path("src/demo/src").display())
    );
}
