//! Live progress, continued (issue 18): things running at once are a line
//! each (parallel downloads), an sdist build shows its backend's last
//! line, the recipe host's start and its recipes' installs are phases, gc
//! and `store verify` count objects; nothing is drawn off a terminal.
//! Driven through a pseudo-terminal (`script`) and replayed by
//! [`Screen`]: what the screen shows at the end is exactly the log of a run
//! without a terminal, so every line drawn was cleared.

use crate::common::TestContext;
use crate::common::index::IndexServer;
use crate::common::terminal::Screen;
use crate::common::wheel::{Dist, Sdist, Wheel};
use crate::progress::on_terminal;
use std::time::Duration;

fn config(server: &IndexServer, eggs: &str) -> String {
    format!(
        "[buildout]\nparts = app\nindex = {}\n\n[app]\nrecipe = zc.recipe.egg:eggs\neggs = {eggs}\n",
        server.index_url()
    )
}

/// Replays `terminal`, checks that every drawn line fits `columns` and
/// that the screen ends with exactly the log `plain` printed without a
/// terminal; returns the screen.
fn replay(ctx: &TestContext, terminal: &str, columns: usize, plain: &str) -> Screen {
    let screen = Screen::replay(terminal, columns);
    for line in screen.drawn() {
        assert!(line.chars().count() < columns, "{line:?} does not fit");
    }
    assert_eq!(
        ctx.filter(&screen.text()),
        ctx.filter(plain),
        "{terminal:?}"
    );
    screen
}

#[test]
fn parallel_downloads_are_a_line_each() {
    let server = IndexServer::start();
    let mut app = Wheel::new("app", "1.0");
    for name in ["alpha", "beta", "gamma"] {
        app = app.dep(name);
        let wheel = Wheel::new(name, "1.0").padding(64 * 1024).build();
        server.set_file_delay(&wheel.filename, Duration::from_millis(1500));
        server.publish(wheel);
    }
    server.publish(app.build());
    let ctx = TestContext::new();
    ctx.write("buildout.cfg", &config(&server, "app"));
    let terminal = on_terminal(&ctx, 60, &[], &[]);
    let plain = TestContext::new();
    plain.write("buildout.cfg", &config(&server, "app"));
    let screen = replay(&ctx, &terminal, 60, &plain.ok(&[]));
    // One frame shows the total and the three slow files, each on its line.
    let together = screen.frames().iter().any(|frame| {
        let files = frame
            .iter()
            .filter(|l| l.starts_with("  ") && l.contains("-1.0-py3-none-any.whl "))
            .count();
        files == 3 && frame.iter().any(|l| l.starts_with("Downloading "))
    });
    assert!(together, "{:#?}", screen.frames());
    assert!(
        screen
            .drawn()
            .iter()
            .any(|l| l.starts_with("  beta-1.0-py3-none-any.whl ") && l.contains(" of ")),
        "{:?}",
        screen.drawn()
    );
}

/// `Sdist` `name` 1.0 whose backend prints a line, then works for a while.
fn slow_sdist(name: &str) -> Dist {
    Sdist::new(name, "1.0").build_edited(|path, text| {
        let building = "    print(\"test backend: building\", NAME)\n";
        if path != "_backend.py" {
            return text;
        }
        assert!(text.contains(building));
        text.replace(
            building,
            &format!(
                "{building}    print('compiling the %s extension' % NAME)\n    import time\n    time.sleep(1.5)\n"
            ),
        )
    })
}

#[test]
fn an_sdist_build_shows_its_backend_line_and_elapsed_time() {
    let server = IndexServer::start();
    server.publish(slow_sdist("slowpoke"));
    let ctx = TestContext::new();
    ctx.write("buildout.cfg", &config(&server, "slowpoke"));
    let terminal = on_terminal(&ctx, 100, &[], &[]);
    let plain = TestContext::new();
    plain.write("buildout.cfg", &config(&server, "slowpoke"));
    let log = plain.ok(&[]);
    assert!(
        log.contains("Building slowpoke 1.0 from its sdist.\n"),
        "{log}"
    );
    assert!(
        !log.contains("compiling the slowpoke extension"),
        "the backend's output is not logged: {log}"
    );
    let screen = replay(&ctx, &terminal, 100, &log);
    let drawn = screen.drawn();
    assert!(
        drawn
            .iter()
            .any(|l| l.starts_with("Building slowpoke 1.0: compiling the slowpoke extension")),
        "{drawn:?}"
    );
    assert!(
        drawn.iter().any(|l| {
            regex::Regex::new(r"^Building slowpoke 1\.0 \(\ds\): compiling the slowpoke extension")
                .unwrap()
                .is_match(l)
        }),
        "the elapsed time: {drawn:?}"
    );
    // A failing build still reports the whole output.
    let broken = IndexServer::start();
    broken.publish(
        Sdist::new("broken", "1.0")
            .failing("error: no compiler")
            .build(),
    );
    let fail = TestContext::new();
    fail.write("buildout.cfg", &config(&broken, "broken"));
    let (out, err) = fail.fails(&[]);
    let all = format!("{out}{err}");
    assert!(
        all.contains("test backend: compiling\nerror: no compiler"),
        "{all}"
    );
}

const SLEEPY_RECIPE: &str = r#"
import os, time


class Sleepy:
    def __init__(self, buildout, name, options):
        self.options = options
        options['location'] = os.path.join(buildout['buildout']['parts-directory'], name)

    def install(self):
        time.sleep(0.5)
        os.makedirs(self.options['location'])
        return self.options['location']
"#;

/// The recipe distribution `sleepy` (its default recipe sleeps half a
/// second in `install`).
fn sleepy_recipe() -> Dist {
    Wheel::new("sleepy", "1.0")
        .module("sleepy.py", SLEEPY_RECIPE)
        .entry_point("zc.buildout", "default", "sleepy:Sleepy")
        .build()
}

#[test]
fn the_recipe_host_start_and_its_recipes_are_phases() {
    let server = IndexServer::start();
    server.publish(sleepy_recipe());
    let cfg = crate::common::host_config(&server, "parts = nap", "[nap]\nrecipe = sleepy\n");
    let ctx = TestContext::new();
    ctx.write("buildout.cfg", &cfg);
    let terminal = on_terminal(&ctx, 80, &[], &[]);
    let plain = TestContext::new();
    plain.write("buildout.cfg", &cfg);
    let screen = replay(&ctx, &terminal, 80, &plain.ok(&[]));
    let drawn = screen.drawn();
    assert!(
        drawn
            .iter()
            .any(|l| l.starts_with("Starting the recipe host")),
        "{drawn:?}"
    );
    assert!(
        drawn.iter().any(|l| l.starts_with("Installing nap")),
        "{drawn:?}"
    );
}

#[test]
fn gc_and_verify_count_objects() {
    let server = IndexServer::start();
    let mut app = Wheel::new("app", "1.0");
    for name in ["alpha", "beta"] {
        app = app.dep(name);
        server.publish(Wheel::new(name, "1.0").build());
    }
    server.publish(app.build());
    let ctx = TestContext::new();
    ctx.write("buildout.cfg", &config(&server, "app"));
    ctx.ok(&[]);
    ctx.write(
        "buildout.cfg",
        &format!("[buildout]\nparts =\nindex = {}\n", server.index_url()),
    );
    ctx.ok(&[]);
    ctx.ok(&["generations", "delete", "old"]);
    let checked = regex::Regex::new(r"^Verifying the store: \d+ of \d+ objects checked").unwrap();
    let terminal = on_terminal(&ctx, 80, &["store", "verify"], &[]);
    let screen = Screen::replay(&terminal, 80);
    assert!(
        screen.drawn().iter().any(|l| checked.is_match(l)),
        "{:?}",
        screen.drawn()
    );
    let terminal = on_terminal(&ctx, 80, &["gc"], &[]);
    let screen = Screen::replay(&terminal, 80);
    let drawn = screen.drawn();
    for what in ["measured", "deleted"] {
        let counted = regex::Regex::new(&format!(
            r"^Collecting garbage: 0 of [1-9]\d* unreachable objects {what}"
        ))
        .unwrap();
        assert!(
            drawn.iter().any(|l| counted.is_match(l)),
            "{what}: {drawn:?}"
        );
    }
    assert!(screen.text().contains("deleted"), "{}", screen.text());
}

#[test]
fn without_a_terminal_nothing_is_drawn_and_verbose_logs_the_new_phases() {
    let server = IndexServer::start();
    server.publish(sleepy_recipe());
    let cfg = crate::common::host_config(&server, "parts = nap", "[nap]\nrecipe = sleepy\n");
    let ctx = TestContext::new();
    ctx.write("buildout.cfg", &cfg);
    let run = crate::common::run(
        ctx.command()
            .arg("-v")
            .env_remove("BUILDOUT_NO_PROGRESS")
            .env("TERM", "xterm"),
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(run.stderr, "", "nothing drawn on a pipe");
    assert!(!run.stdout.contains('\x1b'), "{}", run.stdout);
    for phase in ["Starting the recipe host", "Installing nap"] {
        assert!(
            run.stdout.contains(&format!("{phase}: started.\n")),
            "{}",
            run.stdout
        );
        let done = regex::Regex::new(&format!(r"{phase}: done in \d+\.\d\ds\.\n")).unwrap();
        assert!(done.is_match(&run.stdout), "{phase}: {}", run.stdout);
    }
}
