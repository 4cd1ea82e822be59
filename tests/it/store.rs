//! The store through the command line: the new-user flow, gc, roots,
//! corruption and repair, crashes at every failpoint, concurrent adders.

use crate::common::{TestContext, added_path, exists, run};
use std::process::{Child, Stdio};

fn add_text(ctx: &TestContext, name: &str, text: &str, extra: &[&str]) -> String {
    let mut args = vec!["store", "debug-add", name, "--text", text];
    args.extend_from_slice(extra);
    added_path(&ctx.ok(&args))
}

fn ls_paths(ctx: &TestContext) -> Vec<String> {
    let json: serde_json::Value =
        serde_json::from_str(&ctx.ok(&["--json", "store", "ls"])).unwrap();
    json.as_array()
        .unwrap()
        .iter()
        .map(|o| o["path"].as_str().unwrap().to_string())
        .collect()
}

fn verify_passes(ctx: &TestContext) {
    let out = ctx.ok(&["store", "verify", "--check-contents"]);
    assert!(out.contains("no problems"), "{out}");
}

#[test]
fn new_user_sees_clear_output_from_every_command() {
    let ctx = TestContext::new();
    assert_eq!(
        ctx.filter(&ctx.ok(&["store", "ls"])),
        "the store `[STORE]` has no objects\n"
    );
    let tree = ctx.work.join("tree");
    std::fs::create_dir_all(tree.join("sub")).unwrap();
    std::fs::write(tree.join("sub/lib.py"), "x = 1\n").unwrap();
    std::os::unix::fs::symlink("sub/lib.py", tree.join("link")).unwrap();
    let lib = added_path(&ctx.ok(&["store", "debug-add", "lib", "--dir", tree.to_str().unwrap()]));
    let app = add_text(
        &ctx,
        "app",
        &format!("uses {lib}"),
        &["--ref", &lib, "--root", "app"],
    );
    let junk = add_text(&ctx, "junk", "nobody needs me", &[]);

    assert_eq!(
        ctx.filter(&ctx.ok(&["store", "ls"])),
        "source       176 B  [STORE]/[HASH]-app\n\
         source       128 B  [STORE]/[HASH]-junk\n\
         source       656 B  [STORE]/[HASH]-lib\n"
    );
    let json: serde_json::Value =
        serde_json::from_str(&ctx.ok(&["--json", "store", "ls"])).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 3);
    assert_eq!(json[0]["references"][0], lib.as_str());

    let info = ctx.filter(&ctx.ok(&["store", "info", &lib]));
    assert!(
        info.starts_with(
            "path:        [STORE]/[HASH]-lib\nkind:        source\nnar hash:    sha256:"
        ),
        "{info}"
    );
    assert!(
        info.contains("deriver:     none recorded (cannot be rebuilt)\n"),
        "{info}"
    );
    assert!(
        info.contains("references:  none\nreferrers:   [STORE]/[HASH]-app\n"),
        "{info}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&ctx.ok(&["--json", "store", "info", &app])).unwrap();
    assert_eq!(json["referrers"].as_array().unwrap().len(), 0);
    // A hash part or a path inside an object names it too.
    let hash = &lib[ctx.store.to_str().unwrap().len() + 1..][..32];
    assert_eq!(
        ctx.ok(&["store", "info", hash]),
        ctx.ok(&["store", "info", &lib])
    );
    assert!(
        ctx.ok(&["store", "info", &format!("{lib}/sub/lib.py")])
            .contains("-lib\n")
    );

    assert_eq!(
        ctx.filter(&ctx.ok(&["store", "why", &lib])),
        "[STORE]/[HASH]-lib is alive, reachable from pin `app`:\n  pin `app`\n  -> [STORE]/[HASH]-app\n  -> [STORE]/[HASH]-lib\n"
    );
    assert_eq!(
        ctx.filter(&ctx.ok(&["store", "why", &junk])),
        "[STORE]/[HASH]-junk is not reachable from any root: the next `buildout gc` deletes it\n"
    );
    assert_eq!(
        ctx.filter(&ctx.ok(&["gc", "--dry-run"])),
        "[STORE]/[HASH]-junk\nwould delete 1 store object, freeing 15 B\n"
    );
    assert!(exists(&junk));
    assert_eq!(ctx.ok(&["gc"]), "deleted 1 store object, freed 15 B\n");
    assert!(!exists(&junk));
    assert_eq!(ls_paths(&ctx), vec![app.clone(), lib.clone()]);
    assert_eq!(
        ctx.ok(&["store", "verify", "--check-contents"]),
        "checked the contents of 2 store object(s): no problems\n"
    );
    let (_, err) = ctx.fails(&["store", "info", &junk]);
    assert!(err.contains("is not a registered store object"), "{err}");
    let (_, err) = ctx.fails(&["store", "info", "/etc/passwd"]);
    assert!(err.contains("is not inside the store"), "{err}");
}

#[test]
fn store_location_precedence_and_safety() {
    let ctx = TestContext::new();
    let other = ctx.work.join("other-store");
    ctx.ok(&[
        "--store",
        other.to_str().unwrap(),
        "store",
        "debug-add",
        "x",
        "--text",
        "x",
    ]);
    assert!(other.join(".db/db.sqlite").exists());
    assert!(!ctx.store.exists());
    // Default: ~/.buildout/store.
    let out = ctx
        .command()
        .env_remove("BUILDOUT_STORE")
        .args(["store", "debug-add", "y", "--text", "y"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(ctx.home.join(".buildout/store/.db/db.sqlite").exists());
    // A non-empty directory that is not a store is refused, never swept.
    let (_, err) = ctx.fails(&["--store", ctx.home.to_str().unwrap(), "gc"]);
    assert!(err.contains("is not a buildout store"), "{err}");
}

#[test]
fn gc_deletes_unreachable_chains_and_keeps_rooted_closures() {
    let ctx = TestContext::new();
    let base = add_text(&ctx, "base", "base", &[]);
    let mid = add_text(&ctx, "mid", "mid", &["--ref", &base]);
    let top = add_text(&ctx, "top", "top", &["--ref", &mid, "--root", "top"]);
    let d1 = add_text(&ctx, "dead1", "d1", &[]);
    let d2 = add_text(&ctx, "dead2", "d2", &["--ref", &d1]);
    let d3 = add_text(&ctx, "dead3", "d3", &["--ref", &d2, "--ref", &base]);
    let out = ctx.ok(&["-v", "gc"]);
    assert!(out.contains("deleted 3 store objects"), "{out}");
    // Referrers first.
    let order: Vec<&str> = out.lines().filter(|l| l.starts_with("deleted /")).collect();
    assert!(
        order[0].contains(&d3) && order[1].contains(&d2) && order[2].contains(&d1),
        "{out}"
    );
    for p in [&base, &mid, &top] {
        assert!(exists(p));
    }
    for p in [&d1, &d2, &d3] {
        assert!(!exists(p));
    }
    verify_passes(&ctx);
    // Unpinning frees the whole closure.
    ctx.ok(&["store", "debug-unpin", "top"]);
    assert!(ctx.ok(&["gc"]).contains("deleted 3 store objects"));
    assert!(ls_paths(&ctx).is_empty());
}

#[test]
fn gc_max_freed_stops_early() {
    let ctx = TestContext::new();
    for i in 0..5 {
        add_text(&ctx, &format!("o{i}"), &"x".repeat(1000 + i), &[]);
    }
    let out = ctx.ok(&["gc", "--max-freed", "1500"]);
    assert!(out.contains("deleted 2 store objects"), "{out}");
    assert!(out.contains("--max-freed reached"), "{out}");
    assert_eq!(ls_paths(&ctx).len(), 3);
    let (_, err) = ctx.fails(&["gc", "--max-freed", "lots"]);
    assert!(err.contains("invalid size `lots`"), "{err}");
}

#[test]
fn indirect_roots_keep_generations_alive_and_dangling_ones_are_removed() {
    let ctx = TestContext::new();
    let g1 = add_text(&ctx, "gen-1", "g1", &[]);
    let g2 = add_text(&ctx, "gen-2", "g2", &[]);
    let gens = ctx.work.join("project/.buildout/generations");
    std::fs::create_dir_all(&gens).unwrap();
    std::os::unix::fs::symlink(&g1, gens.join("1")).unwrap();
    std::os::unix::fs::symlink(&g2, gens.join("2")).unwrap();
    ctx.ok(&["store", "debug-indirect-root", gens.to_str().unwrap()]);
    let why = ctx.filter(&ctx.ok(&["store", "why", &g1]));
    assert!(
        why.contains("reachable from root `")
            && why.ends_with("generations/1`:\n  root `".to_owned().as_str())
            || why.contains("generations/1`"),
        "{why}"
    );
    assert!(ctx.ok(&["gc"]).contains("deleted 0 store objects"));
    // Deleting a generation is an unlink.
    std::fs::remove_file(gens.join("1")).unwrap();
    assert!(ctx.ok(&["gc"]).contains("deleted 1 store object,"));
    assert!(!exists(&g1) && exists(&g2));
    // The buildout directory goes away: its registry entry is dropped.
    std::fs::remove_dir_all(ctx.work.join("project")).unwrap();
    let out = ctx.ok(&["gc"]);
    assert!(out.contains("removed stale root"), "{out}");
    assert!(out.contains("deleted 1 store object,"), "{out}");
}

#[test]
fn verify_reports_hand_edits_and_repairs_what_it_can() {
    let ctx = TestContext::new();
    let tree = ctx.work.join("tree");
    std::fs::create_dir_all(&tree).unwrap();
    std::fs::write(tree.join("a.py"), "a = 1\n").unwrap();
    let obj = added_path(&ctx.ok(&[
        "store",
        "debug-add",
        "t",
        "--dir",
        tree.to_str().unwrap(),
        "--root",
        "t",
    ]));
    let other = add_text(&ctx, "other", "other", &["--root", "o"]);
    use std::os::unix::fs::PermissionsExt;
    // Only the mode changed: repaired.
    std::fs::set_permissions(&other, std::fs::Permissions::from_mode(0o644)).unwrap();
    // Contents changed: reported, cannot be rebuilt, explained.
    std::fs::set_permissions(&obj, std::fs::Permissions::from_mode(0o755)).unwrap();
    let file = format!("{obj}/a.py");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::write(&file, "a = 2\n").unwrap();

    let (out, err) = ctx.fails(&["store", "verify"]);
    assert!(out.contains("has been made writable"), "{out}");
    assert!(err.contains("found 2 unrepaired problem(s)"), "{err}");
    let (out, _) = ctx.fails(&["store", "verify", "--check-contents"]);
    assert!(
        ctx.filter(&out)
            .contains("problem: [STORE]/[HASH]-t: contents were modified: expected hash sha256:"),
        "{out}"
    );
    let (out, err) = ctx.fails(&["store", "verify", "--check-contents", "--repair"]);
    assert!(
        out.contains("repaired: restored read-only modes (contents are intact)"),
        "{out}"
    );
    assert!(
        out.contains(
            "cannot repair: nothing records how to rebuild or re-fetch it; delete it instead"
        ),
        "{out}"
    );
    assert!(err.contains("found 1 unrepaired problem(s)"), "{err}");
    // Following the advice fixes the store.
    ctx.ok(&["store", "debug-unpin", "t"]);
    ctx.ok(&["gc"]);
    verify_passes(&ctx);
    assert!(exists(&other));
}

#[test]
fn optimise_deduplicates_identical_files() {
    let ctx = TestContext::new();
    let big = "z".repeat(10_000);
    for name in ["a", "b"] {
        let dir = ctx.work.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("data"), &big).unwrap();
        std::fs::write(dir.join("own"), name).unwrap();
        ctx.ok(&[
            "store",
            "debug-add",
            name,
            "--dir",
            dir.to_str().unwrap(),
            "--root",
            name,
        ]);
    }
    assert_eq!(
        ctx.ok(&["store", "optimise"]),
        "deduplicated 1 file(s), saved 9.8 KiB\n"
    );
    assert_eq!(
        ctx.ok(&["store", "optimise"]),
        "deduplicated 0 file(s), saved 0 B\n"
    );
    verify_passes(&ctx);
    ctx.ok(&["store", "debug-unpin", "a"]);
    ctx.ok(&["store", "debug-unpin", "b"]);
    ctx.ok(&["gc"]);
    assert_eq!(
        std::fs::read_dir(ctx.store.join(".links")).unwrap().count(),
        0
    );
}

#[test]
fn two_adders_of_the_same_object_build_it_once() {
    let ctx = TestContext::new();
    let spawn = || -> Child {
        ctx.command()
            .args([
                "store",
                "debug-add",
                "slow",
                "--text",
                "same",
                "--build-delay-ms",
                "400",
            ])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let outs: Vec<String> = [a, b]
        .into_iter()
        .map(|c| String::from_utf8(c.wait_with_output().unwrap().stdout).unwrap())
        .collect();
    let added = outs.iter().filter(|o| o.starts_with("added ")).count();
    let reused = outs.iter().filter(|o| o.starts_with("reused ")).count();
    assert_eq!((added, reused), (1, 1), "{outs:?}");
    assert_eq!(added_path(&outs[0]), added_path(&outs[1]));
    verify_passes(&ctx);
}

#[test]
fn a_running_adder_protects_its_references_from_gc() {
    let ctx = TestContext::new();
    let base = add_text(&ctx, "base", "base", &[]);
    let child = ctx
        .command()
        .args([
            "store",
            "debug-add",
            "child",
            "--text",
            "c",
            "--ref",
            &base,
            "--root",
            "child",
            "--build-delay-ms",
            "800",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let out = ctx.ok(&["gc"]);
    assert!(out.contains("deleted 0 store objects"), "{out}");
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert!(exists(&base));
    assert!(ctx.ok(&["gc"]).contains("deleted 0 store objects"));
    verify_passes(&ctx);
}

/// Runs `args` with `BUILDOUT_FAILPOINT=point` and checks it crashed.
fn crash_at(ctx: &TestContext, point: &str, args: &[&str]) {
    let out = ctx
        .command()
        .env("BUILDOUT_FAILPOINT", point)
        .args(args)
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "failpoint {point} not reached by {args:?}"
    );
}

#[test]
fn a_crash_at_any_point_of_the_write_path_leaves_the_store_consistent() {
    for point in [
        "add-staged",
        "add-hashed",
        "add-synced",
        "add-renamed",
        "add-registered",
    ] {
        for tree in [false, true] {
            let ctx = TestContext::new();
            let base = add_text(&ctx, "base", "base", &["--root", "base"]);
            let dir = ctx.work.join("t");
            std::fs::create_dir_all(dir.join("d")).unwrap();
            std::fs::write(dir.join("d/f"), "f").unwrap();
            let args: Vec<&str> = if tree {
                vec![
                    "store",
                    "debug-add",
                    "obj",
                    "--dir",
                    dir.to_str().unwrap(),
                    "--ref",
                    &base,
                    "--root",
                    "obj",
                ]
            } else {
                vec![
                    "store",
                    "debug-add",
                    "obj",
                    "--text",
                    "obj",
                    "--root",
                    "obj",
                ]
            };
            crash_at(&ctx, point, &args);
            verify_passes(&ctx);
            let listed = ls_paths(&ctx);
            let registered = listed.iter().any(|p| p.ends_with("-obj"));
            assert_eq!(registered, point == "add-registered", "{point}: {listed:?}");
            // Either registered and complete, or absent from the database.
            let path = added_path(&ctx.ok(&args));
            assert!(exists(&path));
            verify_passes(&ctx);
            assert!(
                ctx.ok(&["gc"]).contains("deleted 0 store objects"),
                "{point}"
            );
            verify_passes(&ctx);
            assert!(exists(&path) && exists(&base), "{point}");
            // Nothing is left in staging.
            assert_eq!(
                std::fs::read_dir(ctx.store.join(".staging"))
                    .unwrap()
                    .count(),
                0,
                "{point}"
            );
        }
    }
}

#[test]
fn a_crash_at_any_point_of_gc_leaves_the_store_consistent() {
    for point in ["gc-marked", "gc-unregistered", "gc-trashed"] {
        let ctx = TestContext::new();
        let base = add_text(&ctx, "base", "base", &[]);
        let top = add_text(&ctx, "top", "top", &["--ref", &base, "--root", "top"]);
        let d1 = add_text(&ctx, "d1", "d1", &["--ref", &base]);
        let d2 = add_text(&ctx, "d2", "d2", &["--ref", &d1]);
        crash_at(&ctx, point, &["gc"]);
        verify_passes(&ctx);
        assert!(exists(&base) && exists(&top), "{point}");
        let out = ctx.ok(&["gc"]);
        assert!(!exists(&d1) && !exists(&d2), "{point}: {out}");
        verify_passes(&ctx);
        assert_eq!(ls_paths(&ctx), vec![base.clone(), top.clone()], "{point}");
        assert_eq!(
            std::fs::read_dir(ctx.store.join(".trash")).unwrap().count(),
            0
        );
    }
}

#[test]
fn a_crash_during_optimise_leaves_the_store_consistent() {
    let ctx = TestContext::new();
    for name in ["a", "b"] {
        let dir = ctx.work.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("data"), "same data").unwrap();
        std::fs::write(dir.join("own"), name).unwrap();
        ctx.ok(&[
            "store",
            "debug-add",
            name,
            "--dir",
            dir.to_str().unwrap(),
            "--root",
            name,
        ]);
    }
    crash_at(&ctx, "optimise-tmp-link", &["store", "optimise"]);
    verify_passes(&ctx);
    assert!(
        ctx.ok(&["store", "optimise"])
            .starts_with("deduplicated 1 file(s)")
    );
    verify_passes(&ctx);
}

#[test]
fn concurrent_adders_and_gc_keep_every_rooted_object_intact() {
    let ctx = TestContext::new();
    for round in 0..4 {
        // Each adder: a shared base (pinned), then objects overlapping with
        // the other adders' (same contents, same paths), half of them
        // referencing the base, every other one pinned. gc runs meanwhile.
        let adders: Vec<_> = (0..4)
            .map(|proc| {
                let bin = env!("CARGO_BIN_EXE_buildout").to_string();
                let (home, store, work) = (ctx.home.clone(), ctx.store.clone(), ctx.work.clone());
                std::thread::spawn(move || {
                    let run = |args: &[String]| -> String {
                        let out = std::process::Command::new(&bin)
                            .env_clear()
                            .env("HOME", &home)
                            .env("BUILDOUT_STORE", &store)
                            .current_dir(&work)
                            .args(args)
                            .output()
                            .unwrap();
                        assert!(
                            out.status.success(),
                            "{args:?}: {}",
                            String::from_utf8_lossy(&out.stderr)
                        );
                        added_path(&String::from_utf8_lossy(&out.stdout))
                    };
                    let s = |x: &str| x.to_string();
                    let base = run(&[
                        s("store"),
                        s("debug-add"),
                        s("base"),
                        s("--text"),
                        format!("base {round}"),
                        s("--root"),
                        format!("base-{round}-{proc}"),
                    ]);
                    let mut rooted = vec![base.clone()];
                    for i in 0..6 {
                        let mut args = vec![
                            s("store"),
                            s("debug-add"),
                            format!("o{i}"),
                            s("--text"),
                            format!("obj {round} {i}"),
                        ];
                        if i % 3 == 0 {
                            args.extend([s("--ref"), base.clone()]);
                        }
                        let pinned = i % 2 == 0;
                        if pinned {
                            args.extend([s("--root"), format!("o-{round}-{proc}-{i}")]);
                        }
                        let p = run(&args);
                        if pinned {
                            rooted.push(p);
                        }
                    }
                    rooted
                })
            })
            .collect();
        let gcs: Vec<_> = (0..3)
            .map(|_| {
                ctx.command()
                    .arg("gc")
                    .stdout(Stdio::null())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let rooted: Vec<String> = adders.into_iter().flat_map(|a| a.join().unwrap()).collect();
        for mut g in gcs {
            assert!(g.wait().unwrap().success());
        }
        ctx.ok(&["gc"]);
        verify_passes(&ctx);
        let listed = ls_paths(&ctx);
        for p in &rooted {
            assert!(listed.contains(p), "rooted {p} lost in round {round}");
        }
    }
}

#[test]
fn buildout_store_option_is_used_when_nothing_overrides_it() {
    let ctx = TestContext::new();
    ctx.write(
        "buildout.cfg",
        "[buildout]\nparts =\nstore = ${:directory}/var/store\n",
    );
    let out = run(ctx
        .command()
        .env_remove("BUILDOUT_STORE")
        .args(["store", "ls"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let configured = ctx.work.join("var/store");
    assert!(
        out.stdout.contains(configured.to_str().unwrap()),
        "{}",
        out.stdout
    );
    // BUILDOUT_STORE and then --store win over the configuration.
    let out = ctx.buildout(&["store", "ls"]);
    assert!(
        out.stdout.contains(ctx.store.to_str().unwrap()),
        "{}",
        out.stdout
    );
    let flag = ctx.root.join("flag-store");
    let out = ctx.buildout(&["--store", flag.to_str().unwrap(), "store", "ls"]);
    assert!(
        out.stdout.contains(flag.to_str().unwrap()),
        "{}",
        out.stdout
    );
}
