//! Live progress (issue 18): drawn on stderr only when it is a terminal
//! (here a pseudo-terminal from util-linux's `script`), cleared when each
//! phase ends, never drawn otherwise; zc.buildout's log lines are the same
//! with or without it.

use crate::common::TestContext;
use crate::common::index::IndexServer;
use crate::common::terminal::Screen;
use crate::common::wheel::{Sdist, Wheel};
use std::process::Command;

/// Erases the status line (`\r`, erase the whole line).
const CLEAR: &str = "\r\x1b[2K";

/// `app` (a wheel) needs `helper` (an sdist only, so it is built) which
/// needs `tiny`.
fn index() -> IndexServer {
    let server = IndexServer::start();
    server
        .publish(Wheel::new("app", "1.0").dep("helper>=1").build())
        .publish(
            Sdist::new("helper", "1.2")
                .dep("tiny")
                .module("helper/__init__.py", "VALUE = 1\n")
                .build(),
        )
        .publish(Wheel::new("tiny", "1.0").build());
    server
}

fn sandbox(server: &IndexServer) -> TestContext {
    let ctx = TestContext::new();
    ctx.write(
        "buildout.cfg",
        &format!(
            "[buildout]\nparts = app\nindex = {}\n\n[app]\nrecipe = zc.recipe.egg:eggs\neggs = app\n",
            server.index_url()
        ),
    );
    ctx
}

/// Single quotes for `sh`.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Runs `buildout args` on a pseudo-terminal `columns` wide, with progress
/// allowed by the environment (`env` adds variables); returns what the
/// terminal received (stdout and stderr together) and the exit status.
pub(crate) fn on_terminal(ctx: &TestContext, columns: u32, args: &[&str], env: &[Var]) -> String {
    let mut line = format!(
        "stty cols {columns} rows 24; exec {}",
        quote(env!("CARGO_BIN_EXE_buildout"))
    );
    for a in args {
        line.push(' ');
        line.push_str(&quote(a));
    }
    let mut cmd = ctx.command();
    cmd.env_remove("BUILDOUT_NO_PROGRESS").env("TERM", "xterm");
    for (k, v) in env {
        cmd.env(k, v);
    }
    // `script` from util-linux gives the child a pty; `-e` returns its status.
    let mut script = Command::new("script");
    script.args(["-qec", &line, "/dev/null"]);
    script.env_clear();
    for (k, v) in cmd.get_envs() {
        if let Some(v) = v {
            script.env(k, v);
        }
    }
    script.current_dir(&ctx.work);
    let out = script.output().expect("util-linux `script` runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "buildout {args:?} on a terminal failed: {}\n{text}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

/// The terminal's text split into what was drawn (status lines, cleared
/// since) and the log (what the screen shows at the end), replayed by
/// [`Screen`].
fn split(terminal: &str, columns: usize) -> (Vec<String>, String) {
    let screen = Screen::replay(terminal, columns);
    (screen.drawn(), screen.text())
}

#[test]
fn on_a_terminal_each_phase_draws_and_is_cleared() {
    let server = index();
    // Slow enough for the resolution's updates to be redrawn.
    server.set_delay(std::time::Duration::from_millis(150));
    let ctx = sandbox(&server);
    let terminal = on_terminal(&ctx, 40, &[], &[]);
    server.set_delay(std::time::Duration::ZERO);
    let (drawn, log) = split(&terminal, 40);
    let shows = |prefix: &str| drawn.iter().any(|d| d.starts_with(prefix));
    assert!(shows("Resolving distributions"), "{drawn:?}");
    assert!(shows("Preparing part app"), "{drawn:?}");
    assert!(shows("Building helper 1.2"), "{drawn:?}");
    assert!(shows("Building part app"), "{drawn:?}");
    // Lines never wrap: the last column stays free.
    for d in &drawn {
        assert!(d.chars().count() < 40, "{d:?} is wider than the terminal");
    }
    // The resolution says how far it is.
    assert!(
        drawn
            .iter()
            .any(|d| d.starts_with("Resolving distributions: ")),
        "{drawn:?}"
    );
    // Cleared when the phases end: the screen is left with the log alone
    // (compared below with a run without a terminal).
    // The log is zc.buildout's, exactly as without a terminal.
    let plain = sandbox(&server);
    let run = plain.buildout(&[]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(ctx.filter(&log), plain.filter(&run.stdout));
    assert!(
        log.contains("Building helper 1.2 from its sdist.\n"),
        "{log}"
    );
    assert!(log.contains("Installing app.\n"), "{log}");
}

#[test]
fn without_a_terminal_nothing_is_drawn() {
    let server = index();
    let ctx = sandbox(&server);
    let run = crate::common::run(
        ctx.command()
            .env_remove("BUILDOUT_NO_PROGRESS")
            .env("TERM", "xterm"),
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(run.stderr, "", "no progress on a pipe");
    assert!(!run.stdout.contains('\x1b'), "{}", run.stdout);
    assert!(!run.stdout.contains("Resolving"), "{}", run.stdout);
}

/// An environment variable and its value.
pub(crate) type Var<'a> = (&'a str, &'a str);

#[test]
fn a_terminal_that_asks_for_none_gets_none() {
    let server = index();
    let cases: [(&[&str], &[Var]); 4] = [
        (&["--no-progress"], &[]),
        (&[], &[("BUILDOUT_NO_PROGRESS", "1")]),
        (&[], &[("TERM", "dumb")]),
        (&["-q"], &[]),
    ];
    for (args, env) in cases {
        let ctx = sandbox(&server);
        let terminal = on_terminal(&ctx, 80, args, env);
        assert!(
            !terminal.contains('\x1b'),
            "{args:?} {env:?} drew: {terminal:?}"
        );
        let plain = sandbox(&server);
        let run = plain.buildout(args);
        assert_eq!(
            ctx.filter(&terminal.replace("\r\n", "\n")),
            plain.filter(&run.stdout),
            "{args:?} {env:?}"
        );
    }
}

#[test]
fn verbose_logs_each_phase_start_and_duration() {
    let server = index();
    let ctx = sandbox(&server);
    let out = ctx.ok(&["-v"]);
    for phase in [
        "Resolving distributions",
        "Preparing part app",
        "Building helper 1.2",
        "Building part app",
    ] {
        assert!(out.contains(&format!("{phase}: started.\n")), "{out}");
        let done = regex::Regex::new(&format!(r"{phase}: done in \d+\.\d\ds\.\n")).unwrap();
        assert!(done.is_match(&out), "{phase}: {out}");
    }
    // Drawn on a terminal: not with -v, whose lines say it all.
    let other = sandbox(&server);
    let terminal = on_terminal(&other, 80, &["-v"], &[]);
    assert!(!terminal.contains(CLEAR), "{terminal:?}");
}

#[test]
fn gc_and_verify_show_their_phase_and_clear_it() {
    let server = index();
    let ctx = sandbox(&server);
    ctx.ok(&[]);
    for (args, title) in [
        (
            &["store", "verify", "--check-contents"][..],
            "Verifying the store",
        ),
        (&["gc", "--dry-run"][..], "Collecting garbage"),
    ] {
        let terminal = on_terminal(&ctx, 80, args, &[]);
        let (drawn, log) = split(&terminal, 80);
        assert!(drawn.iter().any(|d| d.starts_with(title)), "{terminal:?}");
        assert_eq!(log, ctx.ok(args), "{args:?}: the same log as on a pipe");
    }
}
