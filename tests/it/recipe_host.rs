//! The recipe host (issue 13): recipes and extensions from Python
//! distributions, made here, run in one Python process with zc.buildout's
//! own code (from the offline fixture `tests/fixtures/dists`).

use crate::common::index::IndexServer;
use crate::common::wheel::{Sdist, Wheel};
use crate::common::{TestContext, fixture_dists};

/// The recipes, one class per behaviour.
const FAKE: &str = r#"
import logging, os
import zc.buildout
import zc.buildout.easy_install


def _location(buildout, name):
    return os.path.join(buildout['buildout']['parts-directory'], name)


class Computer:
    """Computes an option others substitute; makes parts/<name> and a script."""
    def __init__(self, buildout, name, options):
        self.name, self.buildout, self.options = name, buildout, options
        options['computed'] = 'computed-by-' + name
        options['location'] = _location(buildout, name)

    def install(self):
        location = self.options['location']
        os.makedirs(location)
        with open(os.path.join(location, 'data.txt'), 'w') as f:
            f.write(self.options['computed'] + '\n')
        script = os.path.join(self.buildout['buildout']['bin-directory'], self.name + '-where')
        with open(script, 'w') as f:
            f.write('#!/bin/sh\ncat %s/data.txt\n' % location)
        os.chmod(script, 0o755)
        logging.getLogger(self.name).info('wrote %s', script)
        return location


class Writer:
    """Writes its `text` option to parts/<name>/out.txt."""
    def __init__(self, buildout, name, options):
        self.options = options
        options['location'] = _location(buildout, name)

    def install(self):
        os.makedirs(self.options['location'])
        with open(os.path.join(self.options['location'], 'out.txt'), 'w') as f:
            f.write(self.options['text'] + '\n')
        return self.options['location']


class Meta:
    """A meta-recipe: adds a part of its own."""
    def __init__(self, buildout, name, options):
        buildout[options['new']] = {'recipe': 'fake:writer', 'text': options['text']}
        self.options = options

    def install(self):
        return ()


class Created:
    def __init__(self, buildout, name, options):
        self.options = options
        self.directory = buildout['buildout']['directory']

    def install(self):
        path = self.options.created(os.path.join(self.directory, 'half-done.txt'))
        with open(path[-1], 'w') as f:
            f.write('partial\n')
        raise zc.buildout.UserError('gave up after creating half-done.txt')


class Crash:
    def __init__(self, buildout, name, options):
        pass

    def install(self):
        raise ValueError('boom')


class SetEnv:
    def __init__(self, buildout, name, options):
        os.environ['FAKE_ENV'] = options['value']

    def install(self):
        return ()


class ReadEnv(Writer):
    def __init__(self, buildout, name, options):
        options['text'] = os.environ.get('FAKE_ENV', 'unset')
        Writer.__init__(self, buildout, name, options)


class Action:
    """Appends to the file `log`; its uninstaller says so too."""
    def __init__(self, buildout, name, options):
        self.name, self.options = name, options

    def install(self):
        with open(self.options['log'], 'a') as f:
            f.write('install %s %s\n' % (self.name, self.options['say']))
        return ()

    def update(self):
        with open(self.options['log'], 'a') as f:
            f.write('update %s %s\n' % (self.name, self.options['say']))


def uninstall(name, options):
    with open(options['log'], 'a') as f:
        f.write('uninstall %s %s\n' % (name, options['say']))


class FailAction(Action):
    def install(self):
        raise zc.buildout.UserError('the action failed')


def extension(buildout):
    buildout['buildout']['develop'] = 'src/demo'
    versions = buildout._raw[buildout['buildout']['versions']]
    versions['tiny'] = '1.0'
    zc.buildout.easy_install.default_versions(dict(versions))
"#;

fn fake_recipes() -> Wheel {
    let mut w = Wheel::new("fake", "1.0").module("fake.py", FAKE);
    for (name, value) in [
        ("default", "fake:Computer"),
        ("writer", "fake:Writer"),
        ("meta", "fake:Meta"),
        ("created", "fake:Created"),
        ("crash", "fake:Crash"),
        ("setenv", "fake:SetEnv"),
        ("readenv", "fake:ReadEnv"),
        ("action", "fake:Action"),
        ("fail", "fake:FailAction"),
    ] {
        w = w.entry_point("zc.buildout", name, value);
    }
    w.entry_point("zc.buildout.uninstall", "action", "fake:uninstall")
        .entry_point("zc.buildout.extension", "default", "fake:extension")
}

/// An index serving the fake recipes (and `tiny` 1.0 and 2.0).
fn server() -> IndexServer {
    let server = IndexServer::start();
    server
        .publish(fake_recipes().build())
        .publish(Wheel::new("tiny", "1.0").build())
        .publish(Wheel::new("tiny", "2.0").build());
    server
}

/// A configuration with `server` as index and the fixture as find-links.
pub(crate) fn config(server: &IndexServer, buildout: &str, rest: &str) -> String {
    format!(
        "[buildout]\nindex = {}\nfind-links = {}\n{buildout}\n{rest}",
        server.index_url(),
        fixture_dists().display()
    )
}

fn read(ctx: &TestContext, rel: &str) -> String {
    std::fs::read_to_string(ctx.path(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

#[test]
fn a_constructor_computes_an_option_a_later_part_substitutes() {
    let server = server();
    let ctx = TestContext::new();
    ctx.write(
        "buildout.cfg",
        &config(
            &server,
            "parts = b",
            "[a]\nrecipe = fake\n\n[b]\nrecipe = fake:writer\ntext = a said ${a:computed}\n",
        ),
    );
    let out = ctx.ok(&[]);
    assert!(out.contains("Installing a.\n"), "{out}");
    assert!(out.contains("a: wrote "), "{out}");
    assert_eq!(read(&ctx, "parts/b/out.txt"), "a said computed-by-a\n");
    assert_eq!(read(&ctx, "parts/a/data.txt"), "computed-by-a\n");
    // The script written into bin/ is an output of the generation, and
    // what it names (parts/a) resolves through the generation.
    let run = std::process::Command::new(ctx.path("bin/a-where"))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&run.stdout), "computed-by-a\n");
    assert!(
        std::fs::symlink_metadata(ctx.path("bin/a-where"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    // Nothing changed: nothing installed again, no new generation.
    let again = ctx.ok(&[]);
    assert!(again.contains("Updating a.\n"), "{again}");
    assert!(!again.contains("Installing"), "{again}");
    assert!(!again.contains("Generation 2"), "{again}");
}

#[test]
fn a_meta_recipe_adds_a_part() {
    let server = server();
    let ctx = TestContext::new();
    ctx.write(
        "buildout.cfg",
        &config(
            &server,
            "parts = m",
            "[m]\nrecipe = fake:meta\nnew = made\ntext = made by m\n",
        ),
    );
    let out = ctx.ok(&[]);
    assert!(out.contains("Installing made.\n"), "{out}");
    assert_eq!(read(&ctx, "parts/made/out.txt"), "made by m\n");
}

#[test]
fn created_paths_are_removed_when_install_fails_and_the_generation_stays() {
    let server = server();
    let ctx = TestContext::new();
    ctx.write(
        "buildout.cfg",
        &config(
            &server,
            "parts = w",
            "[w]\nrecipe = fake:writer\ntext = one\n",
        ),
    );
    ctx.ok(&[]);
    ctx.write(
        "buildout.cfg",
        &config(
            &server,
            "parts = w c",
            "[w]\nrecipe = fake:writer\ntext = two\n\n[c]\nrecipe = fake:created\n",
        ),
    );
    let (_, err) = ctx.fails(&[]);
    assert!(
        err.ends_with(
            "While:\n  Installing.\n  Installing c.\nError: gave up after creating half-done.txt\n"
        ),
        "{err}"
    );
    assert!(!ctx.path("half-done.txt").exists());
    // The previous generation is current and untouched.
    assert_eq!(read(&ctx, "parts/w/out.txt"), "one\n");
    assert!(
        std::fs::read_link(ctx.path("parts"))
            .unwrap()
            .ends_with(".buildout/current/parts")
    );
    assert!(!ctx.path(".buildout/view").exists());
}

#[test]
fn an_exception_is_an_internal_error_with_its_traceback() {
    let server = server();
    let ctx = TestContext::new();
    ctx.write(
        "buildout.cfg",
        &config(&server, "parts = c", "[c]\nrecipe = fake:crash\n"),
    );
    let (_, err) = ctx.fails(&[]);
    assert!(
        err.contains(
            "While:\n  Installing.\n  Installing c.\n\nAn internal error occurred due to a bug in \
             either zc.buildout or in a\nrecipe being used:\nTraceback (most recent call last):\n"
        ),
        "{err}"
    );
    assert!(err.ends_with("ValueError: boom\n"), "{err}");
}

#[test]
fn an_environment_change_reaches_later_parts() {
    let server = server();
    let ctx = TestContext::new();
    ctx.write(
        "buildout.cfg",
        &config(
            &server,
            "parts = env reader",
            "[env]\nrecipe = fake:setenv\nvalue = from-env\n\n[reader]\nrecipe = fake:readenv\n",
        ),
    );
    ctx.ok(&[]);
    assert_eq!(read(&ctx, "parts/reader/out.txt"), "from-env\n");
}

#[test]
fn actions_run_after_the_switch_with_update_and_uninstall() {
    let server = server();
    let ctx = TestContext::new();
    let log = ctx.path("actions.log");
    let cfg = |say: &str| {
        config(
            &server,
            "parts = act",
            &format!(
                "[act]\nrecipe = fake:action\nbuildout-action = true\nlog = {}\nsay = {say}\n",
                log.display()
            ),
        )
    };
    ctx.write("buildout.cfg", &cfg("one"));
    ctx.ok(&[]);
    ctx.ok(&[]);
    ctx.write("buildout.cfg", &cfg("two"));
    ctx.ok(&[]);
    ctx.write("buildout.cfg", &config(&server, "parts =", ""));
    ctx.ok(&[]);
    assert_eq!(
        read(&ctx, "actions.log"),
        "install act one\nupdate act one\nuninstall act one\ninstall act two\nuninstall act two\n"
    );
}

#[test]
fn a_failing_action_switches_the_previous_generation_back() {
    let server = server();
    let ctx = TestContext::new();
    ctx.write(
        "buildout.cfg",
        &config(
            &server,
            "parts = w",
            "[w]\nrecipe = fake:writer\ntext = one\n",
        ),
    );
    ctx.ok(&[]);
    ctx.write(
        "buildout.cfg",
        &config(
            &server,
            "parts = w bad",
            &format!(
                "[w]\nrecipe = fake:writer\ntext = two\n\n[bad]\nrecipe = fake:fail\nbuildout-action = true\nlog = {}\nsay = x\n",
                ctx.path("log").display()
            ),
        ),
    );
    let (out, err) = ctx.fails(&[]);
    let all = format!("{out}{err}");
    assert!(all.contains("Generation 2 is current"), "{all}");
    assert!(
        all.contains("An action failed: generation 1, current before this run, is current again."),
        "{all}"
    );
    assert!(err.ends_with("Error: the action failed\n"), "{err}");
    assert_eq!(read(&ctx, "parts/w/out.txt"), "one\n");
}

#[test]
fn an_extension_rewrites_develop_and_versions() {
    let server = server();
    let ctx = TestContext::new();
    Sdist::new("demo", "0.1")
        .dep("tiny")
        .module("demo/__init__.py", "X = 1\n")
        .write_tree(&ctx.path("src/demo"));
    ctx.write(
        "buildout.cfg",
        &config(
            &server,
            "parts = app\nextensions = fake",
            "[app]\nrecipe = zc.recipe.egg:eggs\neggs = demo\n",
        ),
    );
    let out = ctx.ok(&[]);
    assert!(out.contains("Develop: "), "{out}");
    let manifest = read(&ctx, ".buildout/current/manifest.json");
    assert!(manifest.contains("\"name\": \"demo\""), "{manifest}");
    assert!(
        manifest.contains("\"name\": \"tiny\",\n      \"version\": \"1.0\""),
        "{manifest}"
    );
}
