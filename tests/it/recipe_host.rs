//! The recipe host (issue 13): recipes and extensions from Python
//! distributions, made here, run in one Python process with zc.buildout's
//! own code (from the offline fixture `tests/fixtures/dists`).

use crate::common::TestContext;
use crate::common::index::IndexServer;
use crate::common::wheel::{Sdist, Wheel};

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


class FileReader(Writer):
    """Its constructor reads a file of the buildout directory."""
    def __init__(self, buildout, name, options):
        with open(os.path.join(buildout['buildout']['directory'], options['file'])) as f:
            options['text'] = f.read().strip()
        Writer.__init__(self, buildout, name, options)


class EtcWriter:
    """Writes etc/<name>.conf in the buildout directory and returns it."""
    def __init__(self, buildout, name, options):
        self.options = options
        self.path = os.path.join(buildout['buildout']['directory'], 'etc', name + '.conf')

    def install(self):
        if not os.path.isdir(os.path.dirname(self.path)):
            os.makedirs(os.path.dirname(self.path))
        with open(self.path, 'w') as f:
            f.write(self.options['text'] + '\n')
        return [self.path, os.path.dirname(self.path)]


class Hostile:
    """Returns paths that must never be adopted into its object."""
    def __init__(self, buildout, name, options):
        self.directory = buildout['buildout']['directory']

    def install(self):
        etc = os.path.join(self.directory, 'etc')
        os.makedirs(etc)
        os.symlink('/etc/hostname', os.path.join(etc, 'link.conf'))
        outside = os.path.join(os.path.dirname(self.directory), 'outside.txt')
        with open(outside, 'w') as f:
            f.write('mine\n')
        var = os.path.join(self.directory, 'var')
        os.makedirs(var)
        with open(os.path.join(var, 'state.txt'), 'w') as f:
            f.write('state\n')
        return [os.path.join(etc, 'link.conf'), outside, '/etc/hostname',
                os.path.join(var, 'state.txt'), os.path.join(self.directory, 'missing')]


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
        ("hostile", "fake:Hostile"),
        ("etc", "fake:EtcWriter"),
        ("filereader", "fake:FileReader"),
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

/// An extension replacing a zc.buildout internal (as plone.versioncheck
/// does), with an unload entry point.
const PATCHING: &str = r#"
import os
import zc.buildout.easy_install


def extension(buildout):
    zc.buildout.easy_install.Installer._get_dist = lambda self, *args: None


def unload(buildout):
    with open(os.path.join(buildout['buildout']['directory'], 'unloaded.txt'), 'w') as f:
        f.write('unloaded\n')
"#;

/// An index serving the fake recipes (and `tiny` 1.0 and 2.0).
fn server() -> IndexServer {
    let server = IndexServer::start();
    server
        .publish(
            Wheel::new("fakepatch", "1.0")
                .module("fakepatch.py", PATCHING)
                .entry_point("zc.buildout.extension", "default", "fakepatch:extension")
                .entry_point("zc.buildout.unloadextension", "default", "fakepatch:unload")
                .build(),
        )
        .publish(
            Wheel::new("fakeexit", "1.0")
                .module(
                    "fakeexit.py",
                    "def extension(buildout):\n    raise SystemExit(3)\n",
                )
                .entry_point("zc.buildout.extension", "default", "fakeexit:extension")
                .build(),
        )
        .publish(fake_recipes().build())
        .publish(Wheel::new("tiny", "1.0").build())
        .publish(Wheel::new("tiny", "2.0").build());
    server
}

fn config(server: &IndexServer, buildout: &str, rest: &str) -> String {
    crate::common::host_config(server, buildout, rest)
}

/// A buildout directory whose `buildout.cfg` is [`config`]'s.
fn project(server: &IndexServer, buildout: &str, rest: &str) -> TestContext {
    let ctx = TestContext::new();
    ctx.write("buildout.cfg", &config(server, buildout, rest));
    ctx
}

fn read(ctx: &TestContext, rel: &str) -> String {
    std::fs::read_to_string(ctx.path(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

#[test]
fn a_constructor_computes_an_option_a_later_part_substitutes() {
    let server = server();
    let ctx = project(
        &server,
        "parts = b",
        "[a]\nrecipe = fake\n\n[b]\nrecipe = fake:writer\ntext = a said ${a:computed}\n",
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
    let ctx = project(
        &server,
        "parts = m",
        "[m]\nrecipe = fake:meta\nnew = made\ntext = made by m\n",
    );
    let out = ctx.ok(&[]);
    assert!(out.contains("Installing made.\n"), "{out}");
    assert_eq!(read(&ctx, "parts/made/out.txt"), "made by m\n");
}

#[test]
fn created_paths_are_removed_when_install_fails_and_the_generation_stays() {
    let server = server();
    let ctx = project(
        &server,
        "parts = w",
        "[w]\nrecipe = fake:writer\ntext = one\n",
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
    let ctx = project(&server, "parts = c", "[c]\nrecipe = fake:crash\n");
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
    let ctx = project(
        &server,
        "parts = env reader",
        "[env]\nrecipe = fake:setenv\nvalue = from-env\n\n[reader]\nrecipe = fake:readenv\n",
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
    let ctx = project(
        &server,
        "parts = w",
        "[w]\nrecipe = fake:writer\ntext = one\n",
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

#[test]
fn an_unchanged_rerun_starts_no_python_and_a_changed_input_runs_the_constructor() {
    let server = server();
    let ctx = TestContext::new();
    ctx.write("input.txt", "first\n");
    let cfg = |text: &str| {
        config(
            &server,
            "parts = b f",
            &format!(
                "[a]\nrecipe = fake\n\n[b]\nrecipe = fake:writer\ntext = {text} ${{a:computed}}\n\n\
                 [f]\nrecipe = fake:filereader\nfile = input.txt\n"
            ),
        )
    };
    ctx.write("buildout.cfg", &cfg("one"));
    let first = ctx.ok(&["-v"]);
    assert!(first.contains("The recipe host ran."), "{first}");
    let again = ctx.ok(&["-v"]);
    assert!(again.contains("The recipe host was not needed."), "{again}");
    assert!(again.contains("Nothing changed"), "{again}");
    // The memoised constructor's computed value is still substituted.
    assert_eq!(read(&ctx, "parts/b/out.txt"), "one computed-by-a\n");
    // An option it reads changed: b is constructed and installed again.
    ctx.write("buildout.cfg", &cfg("two"));
    let changed = ctx.ok(&["-v"]);
    assert!(changed.contains("The recipe host ran."), "{changed}");
    assert_eq!(read(&ctx, "parts/b/out.txt"), "two computed-by-a\n");
    // A file a constructor read changed: constructed again.
    ctx.write("input.txt", "second\n");
    ctx.ok(&[]);
    assert_eq!(read(&ctx, "parts/f/out.txt"), "second\n");
    let last = ctx.ok(&["-v"]);
    assert!(last.contains("The recipe host was not needed."), "{last}");
}

#[test]
fn a_returned_file_becomes_a_managed_output_and_rollback_restores_it() {
    let server = server();
    let ctx = TestContext::new();
    let cfg = |text: &str| {
        config(
            &server,
            "parts = conf",
            &format!("[conf]\nrecipe = fake:etc\ntext = {text}\n"),
        )
    };
    ctx.write("buildout.cfg", &cfg("one"));
    ctx.ok(&[]);
    let conf = ctx.path("etc/conf.conf");
    assert!(
        std::fs::symlink_metadata(&conf)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(read(&ctx, "etc/conf.conf"), "one\n");
    ctx.write("buildout.cfg", &cfg("two"));
    let out = ctx.ok(&[]);
    assert!(!out.contains("backup"), "{out}");
    assert_eq!(read(&ctx, "etc/conf.conf"), "two\n");
    ctx.ok(&["rollback"]);
    assert_eq!(read(&ctx, "etc/conf.conf"), "one\n");
    // The directory it returned is the user's: it stays a directory.
    assert!(std::fs::symlink_metadata(ctx.path("etc")).unwrap().is_dir());
}

#[test]
fn an_extension_patching_internals_is_named_and_unloaded_at_the_end() {
    let server = server();
    let ctx = project(
        &server,
        "parts = w\nextensions = fakepatch",
        "[w]\nrecipe = fake:writer\ntext = x\n",
    );
    let run = ctx.buildout(&[]);
    assert_eq!(run.code, 0, "{run:?}");
    // zc.buildout logs its warnings to stdout.
    assert!(
        run.stdout.contains(
            "The extension fakepatch replaces parts of zc.buildout's installer that this \
             buildout does not run; what it changes there has no effect."
        ),
        "{run:?}"
    );
    assert_eq!(read(&ctx, "unloaded.txt"), "unloaded\n");
}

#[test]
fn an_extension_that_exits_is_an_error_not_an_exit() {
    let server = server();
    let ctx = project(&server, "parts =\nextensions = fakeexit", "");
    let run = ctx.buildout(&[]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.ends_with(
            "While:\n  Installing.\n  Loading extensions.\nError: a recipe or extension exited (status 3)\n"
        ),
        "{run:?}"
    );
}

#[test]
fn a_recipe_under_develop_is_used_from_its_project() {
    let server = server();
    let ctx = TestContext::new();
    Sdist::new("localrecipe", "0.1")
        .module(
            "localrecipe.py",
            "import os\n\nclass Recipe:\n    def __init__(self, buildout, name, options):\n        \
             options['location'] = os.path.join(buildout['buildout']['parts-directory'], name)\n        \
             self.options = options\n\n    def install(self):\n        \
             os.makedirs(self.options['location'])\n        \
             open(os.path.join(self.options['location'], 'made.txt'), 'w').write('local\\n')\n        \
             return self.options['location']\n",
        )
        .entry_point("zc.buildout", "default", "localrecipe:Recipe")
        .write_tree(&ctx.path("recipes/localrecipe"));
    ctx.write(
        "buildout.cfg",
        &config(
            &server,
            "parts = here\ndevelop = recipes/localrecipe",
            "[here]\nrecipe = localrecipe\n",
        ),
    );
    let out = ctx.ok(&[]);
    assert!(out.contains("Develop: "), "{out}");
    assert_eq!(read(&ctx, "parts/here/made.txt"), "local\n");
    // Editing the local recipe runs it again (zc.buildout's signature of a
    // develop egg is a digest of its directory).
    let source = ctx.path("recipes/localrecipe/src/localrecipe.py");
    let text = std::fs::read_to_string(&source).unwrap();
    std::fs::write(&source, text.replace("'local\\n'", "'edited\\n'")).unwrap();
    ctx.ok(&[]);
    assert_eq!(read(&ctx, "parts/here/made.txt"), "edited\n");
}

#[test]
fn a_dry_run_runs_no_recipe_and_puts_nothing_into_the_store() {
    let server = server();
    let ctx = project(
        &server,
        "parts = app w",
        "[app]\nrecipe = zc.recipe.egg:eggs\neggs = tiny\n\n[w]\nrecipe = fake:writer\ntext = x\n",
    );
    let out = ctx.ok(&["install", "--dry-run"]);
    assert!(out.contains("would download tiny 2.0 ("), "{out}");
    assert!(
        out.contains("would run the recipe fake:writer of part w in the recipe host\n"),
        "{out}"
    );
    assert!(out.contains("would build part app: "), "{out}");
    let objects: Vec<_> = std::fs::read_dir(&ctx.store)
        .map(|d| {
            d.flatten()
                .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
                .collect()
        })
        .unwrap_or_default();
    assert!(objects.is_empty(), "{objects:?}");
    assert!(!ctx.path(".buildout/current").exists());
    // After a real run, the dry run reuses everything, replaying the
    // memoised constructor.
    ctx.ok(&[]);
    let again = ctx.ok(&["install", "--dry-run"]);
    assert!(again.contains("would reuse tiny 2.0\n"), "{again}");
    assert!(again.contains("would reuse part w: "), "{again}");
}

#[test]
fn returned_paths_outside_links_and_state_are_never_adopted() {
    let server = server();
    let ctx = project(&server, "parts = h", "[h]\nrecipe = fake:hostile\n");
    let hostname = std::fs::read("/etc/hostname").ok();
    ctx.ok(&[]);
    // A link stays the recipe's link, a file outside the buildout
    // directory and one under var/ stay where they are, real files.
    let link = ctx.path("etc/link.conf");
    assert_eq!(
        std::fs::read_link(&link).unwrap(),
        std::path::Path::new("/etc/hostname")
    );
    let outside = ctx.work.parent().unwrap().join("outside.txt");
    assert!(std::fs::symlink_metadata(&outside).unwrap().is_file());
    assert!(
        std::fs::symlink_metadata(ctx.path("var/state.txt"))
            .unwrap()
            .is_file()
    );
    assert_eq!(std::fs::read("/etc/hostname").ok(), hostname);
    let manifest = read(&ctx, ".buildout/current/manifest.json");
    assert!(!manifest.contains("link.conf"), "{manifest}");
    assert!(!manifest.contains("outside.txt"), "{manifest}");
    assert!(!manifest.contains("state.txt"), "{manifest}");
}

#[test]
fn a_damaged_memo_is_ignored_and_replaced() {
    let server = server();
    let ctx = project(
        &server,
        "parts = b",
        "[a]\nrecipe = fake\n\n[b]\nrecipe = fake:writer\ntext = ${a:computed}\n",
    );
    ctx.ok(&[]);
    ctx.write(".buildout/constructors.json", "{not json");
    let again = ctx.ok(&["-v"]);
    assert!(again.contains("The recipe host ran."), "{again}");
    assert_eq!(read(&ctx, "parts/b/out.txt"), "computed-by-a\n");
    let memo = read(&ctx, ".buildout/constructors.json");
    assert!(memo.starts_with('{') && memo.contains("\"a\""), "{memo}");
    let last = ctx.ok(&["-v"]);
    assert!(last.contains("The recipe host was not needed."), "{last}");
}
