//! Actions of a generation activated on a host (issue 16): `buildout copy
//! --to … --activate DIR` runs the generation's actions there as a local
//! install would (in part order, when their options changed since the
//! generation current on the host), from the copied closure alone; a
//! failing one switches the host back. The host is the `unshare -rm` shim
//! of [`crate::deploy`].

use crate::common::index::IndexServer;
use crate::common::wheel::Wheel;
use crate::common::{Run, TestContext, host_config};
use crate::deploy::{
    Host, build_key, copy, host, host_objects, host_verify_clean, namespaces_work,
};
use std::fs;

/// A `plone.recipe.command` look-alike (the real one's behaviour: runs
/// `command` on install, `update-command` on update, fails on a non-zero
/// exit): recognised as an action by its name, as the real one is.
const COMMAND: &str = r#"
import subprocess
import zc.buildout


class Recipe:
    def __init__(self, buildout, name, options):
        self.name, self.options = name, options

    def _run(self, key):
        command = self.options.get(key, '').strip()
        if command:
            status = subprocess.call(command, shell=True)
            if status:
                raise zc.buildout.UserError('%s exited with %s' % (key, status))
        return ()

    def install(self):
        return self._run('command')

    def update(self):
        return self._run('update-command')
"#;

pub(crate) fn index() -> IndexServer {
    let server = IndexServer::start();
    server
        .publish(
            Wheel::new("web", "1.0")
                .module("web.py", "def main():\n    print('web served')\n")
                .entry_point("console_scripts", "web", "web:main")
                .build(),
        )
        .publish(
            Wheel::new("plone.recipe.command", "1.1")
                .module("fake_command.py", COMMAND)
                .entry_point("zc.buildout", "default", "fake_command:Recipe")
                .build(),
        );
    server
}

/// The build machine's buildout: `app` (a script; `release` goes into its
/// initialization) and the action `hook` running `command`.
pub(crate) fn write_config(ctx: &TestContext, server: &IndexServer, release: &str, command: &str) {
    ctx.write(
        "buildout.cfg",
        &host_config(
            server,
            "parts = app hook\nsecret-key-files = build-1.secret",
            &format!(
                "[app]\nrecipe = zc.recipe.egg:scripts\neggs = web\n\
                 initialization = print('{release}')\n\n\
                 [hook]\nrecipe = plone.recipe.command\ncommand = {command}\n"
            ),
        ),
    );
}

/// The command of the action: appends `word` to `var/actions.log` of the
/// buildout directory it runs in and says so; fails (after printing) where
/// the buildout directory has a file `refuse`.
pub(crate) fn command(word: &str) -> String {
    format!(
        "mkdir -p var && echo {word} >> var/actions.log && echo hook-said-{word} && \
         if [ -e refuse ]; then echo refused-by-this-host; exit 3; fi"
    )
}

/// A key on the build machine and a host trusting it.
pub(crate) fn setup(ctx: &TestContext) -> Host {
    let public = build_key(ctx);
    let prod = host(ctx, "prod1", None);
    fs::write(
        prod.work.join("buildout.cfg"),
        format!("[buildout]\ntrusted-public-keys = {public}\n"),
    )
    .unwrap();
    prod
}

/// A build machine with a key and a host trusting it; `None` (said) where
/// the shim host cannot run.
fn begin() -> Option<(TestContext, IndexServer, Host)> {
    if !namespaces_work() {
        skipped("`unshare -rm` (user namespaces) is not available here");
        return None;
    }
    let ctx = TestContext::new();
    let server = index();
    let prod = setup(&ctx);
    Some((ctx, server, prod))
}

/// Checks that `r` (a `rollback` on a host) switched from 2 to 1.
pub(crate) fn assert_rolled_back(r: &Run) {
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout
            .contains("Switched from generation 2 to generation 1"),
        "{}",
        r.stdout
    );
}

pub(crate) fn activate(ctx: &TestContext, prod: &Host, what: &[&str]) -> Run {
    let work = ctx.work.display().to_string();
    let mut args = vec!["--to", "ssh://prod1", "--activate", &work];
    args.extend_from_slice(what);
    copy(ctx, prod, &args)
}

/// Says why a test could not run here (shown with `--nocapture`).
#[allow(clippy::print_stderr)]
pub(crate) fn skipped(reason: &str) {
    eprintln!("skipped: {reason}");
}

pub(crate) fn host_log(prod: &Host) -> String {
    fs::read_to_string(prod.work.join("var/actions.log")).unwrap_or_default()
}

#[test]
fn an_action_runs_on_the_host_once_per_change_from_the_copied_closure() {
    let Some((ctx, server, prod)) = begin() else {
        return;
    };
    write_config(&ctx, &server, "release 1", &command("one"));
    ctx.ok(&[]);
    // The build machine ran it in its own directory.
    assert_eq!(
        fs::read_to_string(ctx.path("var/actions.log")).unwrap(),
        "one\n"
    );

    let r = activate(&ctx, &prod, &[]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(host_log(&prod), "one\n");
    // What it printed on the host reaches the sender's terminal.
    assert!(r.stderr.contains("hook-said-one"), "{}", r.stderr);
    assert!(r.stdout.contains("Generation 1 is current"), "{}", r.stdout);
    // The recipe host ran from the closure: the recipe and zc.buildout
    // were copied with the generation (the host has no index).
    let objects = host_objects(&prod).join("\n");
    assert!(objects.contains("-plone-recipe-command-1.1"), "{objects}");
    assert!(objects.contains("-zc-buildout-6.0.1"), "{objects}");

    // The same generation again: nothing switched, the action not run.
    let r = activate(&ctx, &prod, &[]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("current already"), "{}", r.stderr);
    assert_eq!(host_log(&prod), "one\n");

    // A new generation where only another part changed: the action's
    // options did not, so it is updated (no `update-command`: nothing).
    write_config(&ctx, &server, "release 2", &command("one"));
    ctx.ok(&[]);
    let r = activate(&ctx, &prod, &[]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("Updating hook."), "{}", r.stderr);
    assert_eq!(host_log(&prod), "one\n");
    assert_eq!(prod.sh("bin/web").stdout, "release 2\nweb served\n");

    // Changed options: it runs again, after the switch.
    write_config(&ctx, &server, "release 3", &command("two"));
    ctx.ok(&[]);
    let r = activate(&ctx, &prod, &[]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("Installing hook."), "{}", r.stderr);
    assert_eq!(host_log(&prod), "one\ntwo\n");
    assert!(r.stdout.contains("Generation 3 is current"), "{}", r.stdout);
    host_verify_clean(&prod);
}

#[test]
fn a_failing_action_on_the_host_switches_it_back_and_copy_fails() {
    let Some((ctx, server, prod)) = begin() else {
        return;
    };
    for (release, word) in [("release 1", "one"), ("release 2", "two")] {
        write_config(&ctx, &server, release, &command(word));
        ctx.ok(&[]);
        let r = activate(&ctx, &prod, &[]);
        assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    }
    assert_eq!(host_log(&prod), "one\ntwo\n");

    // This host refuses the next release's action (the build machine
    // does not).
    fs::write(prod.work.join("refuse"), "").unwrap();
    let before = host_objects(&prod).len();
    write_config(&ctx, &server, "release 3", &command("three"));
    ctx.ok(&[]);
    let r = activate(&ctx, &prod, &[]);
    assert_ne!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains(
            "prod1: the action of part hook (recipe plone.recipe.command) failed, so the \
             generation current before is current again: command exited with 3"
        ),
        "{}",
        r.stderr
    );
    // Its output, and the switch back, were shown here.
    assert!(r.stderr.contains("refused-by-this-host"), "{}", r.stderr);
    assert!(
        r.stderr
            .contains("generation 2, current before this run, is current again"),
        "{}",
        r.stderr
    );
    assert!(
        !r.stdout.contains("Generation 3 is current in"),
        "{}",
        r.stdout
    );
    // The host is back on release 2; the copied objects stay (valid).
    assert_eq!(prod.sh("bin/web").stdout, "release 2\nweb served\n");
    assert_eq!(
        fs::read_link(prod.work.join(".buildout/current")).unwrap(),
        std::path::Path::new("generations/2")
    );
    assert!(host_objects(&prod).len() > before);
    host_verify_clean(&prod);

    // Rollback on the host works from there.
    assert_rolled_back(&prod.buildout("rollback"));
    assert_eq!(prod.sh("bin/web").stdout, "release 1\nweb served\n");
}
