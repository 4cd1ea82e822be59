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
}

/// Adds a small text object; returns its path.
fn add_text(ctx: &TestContext, name: &str, text: &str) -> String {
    crate::common::added_path(&ctx.ok(&["store", "debug-add", name, "--text", text]))
}

/// A buildout-like directory `<root>/<name>` whose `.buildout/generations/1`
/// links to `object`, registered as an indirect root.
fn rooted_project(ctx: &TestContext, name: &str, object: &str) -> PathBuf {
    let project = ctx.root.join(name);
    let gens = project.join(".buildout/generations");
    std::fs::create_dir_all(&gens).unwrap();
    std::os::unix::fs::symlink(object, gens.join("1")).unwrap();
    ctx.ok(&["store", "debug-indirect-root", gens.to_str().unwrap()]);
    project
}

fn registry_entries(ctx: &TestContext) -> usize {
    std::fs::read_dir(ctx.store.join(".roots/auto"))
        .unwrap()
        .count()
}

#[test]
fn gc_stops_at_an_indirect_root_it_cannot_read_and_drops_only_missing_ones() {
    let ctx = TestContext::new();
    let kept = add_text(&ctx, "generation", "kept");
    let project = rooted_project(&ctx, "project", &kept);
    assert!(ctx.ok(&["gc"]).contains("deleted 0 store objects"));
    // `.buildout` becomes a symlink loop: lstat of the root fails with
    // ELOOP (for root too). That is not "gone": gc must stop, name the
    // root, delete nothing and keep the registry entry.
    let state = project.join(".buildout");
    std::fs::rename(&state, project.join(".buildout-real")).unwrap();
    std::os::unix::fs::symlink(".buildout", &state).unwrap();
    for args in [&["gc"][..], &["gc", "--dry-run"][..]] {
        let (_, err) = ctx.fails(args);
        let gens = state.join("generations");
        assert!(
            err.contains(&format!("`{}`", gens.display())) && err.contains("symbolic links"),
            "{args:?}: {err}"
        );
    }
    assert!(
        std::fs::symlink_metadata(&kept).is_ok(),
        "{kept} was deleted"
    );
    assert_eq!(registry_entries(&ctx), 1);
    std::fs::remove_file(&state).unwrap();
    std::fs::rename(project.join(".buildout-real"), &state).unwrap();
    assert!(ctx.ok(&["gc"]).contains("deleted 0 store objects"));
    // A component that is a regular file (ENOTDIR) means the directory is
    // gone, as ENOENT does: the root is stale.
    std::fs::remove_dir_all(&project).unwrap();
    std::fs::write(&project, "not a directory").unwrap();
    let out = ctx.ok(&["gc"]);
    assert!(out.contains("removed stale root"), "{out}");
    assert!(out.contains("deleted 1 store object"), "{out}");
    assert_eq!(registry_entries(&ctx), 0);
}

#[test]
fn gc_stops_at_temporary_roots_it_cannot_read() {
    let ctx = TestContext::new();
    add_text(&ctx, "garbage", "garbage");
    // An entry of `.temproots` that cannot be opened (ELOOP, for root too).
    let bad = ctx.store.join(".temproots/999999");
    std::os::unix::fs::symlink("999999", &bad).unwrap();
    let (_, err) = ctx.fails(&["gc"]);
    assert!(
        err.contains(&format!("`{}`", bad.display())) && err.contains("temporary roots"),
        "{err}"
    );
    assert_eq!(ctx.ok(&["store", "ls"]).lines().count(), 1);
    std::fs::remove_file(&bad).unwrap();
    assert!(ctx.ok(&["gc"]).contains("deleted 1 store object"));
}

/// Says why a test could not run here (the harness shows it with
/// `--nocapture`).
#[allow(clippy::print_stderr)]
fn skipped(test: &str, reason: &str) {
    eprintln!("{test}: skipped: {reason}");
}

/// Starts `cmd` (`buildout store`) as an adder of an object `child`
/// referencing `base` (with `extra` options) that takes 1.5 s to build:
/// its temporary roots protect `base` meanwhile.
fn spawn_slow_child(cmd: &mut Command, base: &str, extra: &[&str]) -> std::process::Child {
    cmd.args(["debug-add", "child", "--text", "c", "--ref", base])
        .args(extra)
        .args(["--build-delay-ms", "1500"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

/// What only a non-root user can be denied (root reads through modes).
fn skip_as_root(test: &str) -> bool {
    if nix::unistd::geteuid().is_root() {
        skipped(test, "running as root, whom file modes do not deny");
        return true;
    }
    false
}

#[test]
fn gc_stops_at_a_root_directory_or_temporary_roots_file_it_may_not_read() {
    use std::os::unix::fs::PermissionsExt;
    if skip_as_root("gc_stops_at_a_root_directory_or_temporary_roots_file_it_may_not_read") {
        return;
    }
    let ctx = TestContext::new();
    let kept = add_text(&ctx, "generation", "kept");
    let project = rooted_project(&ctx, "project", &kept);
    let gens = project.join(".buildout/generations");
    std::fs::set_permissions(&gens, std::fs::Permissions::from_mode(0o000)).unwrap();
    let (_, err) = ctx.fails(&["gc"]);
    assert!(err.contains(&format!("`{}`", gens.display())), "{err}");
    std::fs::set_permissions(&gens, std::fs::Permissions::from_mode(0o755)).unwrap();
    assert!(std::fs::symlink_metadata(&kept).is_ok());
    // A running adder's temporary roots, made unreadable: its reference
    // must survive (gc stops) instead of being deleted under it.
    let base = add_text(&ctx, "base", "base");
    let mut cmd = ctx.command();
    let child = spawn_slow_child(cmd.arg("store"), &base, &[]);
    let file = ctx.store.join(format!(".temproots/{}", child.id()));
    let t0 = std::time::Instant::now();
    while !file.exists() && t0.elapsed() < std::time::Duration::from_secs(5) {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o000)).unwrap();
    let (_, err) = ctx.fails(&["gc"]);
    assert!(err.contains(&format!("`{}`", file.display())), "{err}");
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `buildout args` (in `dir`) under `umask`, with `ctx`'s environment.
fn with_umask(ctx: &TestContext, umask: &str, dir: &Path, args: &[&str]) -> Command {
    let template = ctx.command();
    let mut cmd = Command::new("sh");
    cmd.env_clear()
        .arg("-c")
        .arg(format!("umask {umask}; exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_buildout"))
        .args(args)
        .current_dir(dir);
    for (k, v) in template.get_envs() {
        if let Some(v) = v {
            cmd.env(k, v);
        }
    }
    cmd
}

fn ok_with_umask(ctx: &TestContext, umask: &str, dir: &Path, args: &[&str]) {
    let out = with_umask(ctx, umask, dir, args).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        describe(&format!("{args:?}"), &out)
    );
}

fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777
}

/// Every file and directory under `dir` that anyone may write.
fn world_writable(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let meta = std::fs::symlink_metadata(dir).unwrap();
    if meta.file_type().is_symlink() {
        return found;
    }
    if mode(dir) & 0o002 != 0 {
        found.push(format!("{:o} {}", mode(dir), dir.display()));
    }
    if meta.is_dir() {
        for e in std::fs::read_dir(dir).unwrap() {
            found.extend(world_writable(&e.unwrap().path()));
        }
    }
    found
}

/// The store's own directories all have `expected` as their mode.
fn assert_dir_modes(store: &Path, expected: u32) {
    for sub in [
        ".db",
        ".staging",
        ".locks",
        ".temproots",
        ".roots",
        ".roots/pins",
        ".roots/auto",
        ".trash",
        ".links",
    ] {
        assert_eq!(mode(&store.join(sub)), expected, "{sub}");
    }
}

const TEMPLATE_CFG: &str = "[buildout]\nparts = motd\n\n[motd]\nrecipe = collective.recipe.template\n\
                            output = ${buildout:directory}/etc/motd\ninline = hello\n";

#[test]
fn store_and_buildout_directories_get_explicit_modes_under_umask_000() {
    let ctx = TestContext::new();
    ctx.write("buildout.cfg", TEMPLATE_CFG);
    ok_with_umask(&ctx, "000", &ctx.work, &[]);
    ok_with_umask(
        &ctx,
        "000",
        &ctx.work,
        &["store", "debug-add", "x", "--text", "x"],
    );
    assert_eq!(world_writable(&ctx.store), Vec::<String>::new());
    assert_eq!(
        world_writable(&ctx.work.join(".buildout")),
        Vec::<String>::new()
    );
    // The interpreter facts cache decides scripts' `#!`.
    let cache = ctx.home.join(".buildout/cache/interpreters");
    assert!(cache.is_dir());
    assert_eq!(
        world_writable(&ctx.home.join(".buildout")),
        Vec::<String>::new()
    );
    assert_eq!(mode(&ctx.store), 0o755);
    assert_dir_modes(&ctx.store, 0o755);
    assert_eq!(mode(&ctx.store.join(".db/db.sqlite")), 0o644);
    assert_eq!(mode(&ctx.store.join(".db/gc.lock")), 0o600);
    assert_eq!(mode(&ctx.work.join(".buildout")), 0o755);
    assert_eq!(mode(&ctx.work.join(".buildout/generations")), 0o755);
    assert_eq!(mode(&ctx.work.join(".buildout/lock")), 0o600);
    assert_eq!(mode(&ctx.work.join("etc")), 0o755);
}

#[test]
fn caches_under_home_are_not_world_writable_under_umask_000() {
    // The page cache holds the hashes downloads are checked against, the
    // metadata cache what resolution trusts: another user must not be able
    // to rewrite them for this user's next run.
    let server = small_index();
    let ctx = TestContext::new();
    ctx.write(
        "buildout.cfg",
        &format!(
            "[buildout]\nparts = app\nindex = {}\ndownload-cache = ${{buildout:directory}}/downloads\n\n\
             [app]\nrecipe = zc.recipe.egg\neggs = tool\n",
            server.index_url()
        ),
    );
    ok_with_umask(&ctx, "000", &ctx.work, &[]);
    let cache = ctx.home.join(".buildout/cache/index");
    assert!(cache.join("simple-v1").is_dir(), "pages were cached");
    assert!(cache.join("metadata-v1").is_dir(), "metadata was cached");
    assert_eq!(
        world_writable(&ctx.home.join(".buildout")),
        Vec::<String>::new()
    );
    assert!(ctx.work.join("downloads").is_dir());
    assert_eq!(
        world_writable(&ctx.work.join("downloads")),
        Vec::<String>::new()
    );
}

#[test]
fn a_group_writable_store_is_shared_with_its_group_whatever_the_umask() {
    use std::os::unix::fs::PermissionsExt;
    let ctx = TestContext::new();
    // The admin makes the store root group-writable (and setgid).
    std::fs::create_dir(&ctx.store).unwrap();
    std::fs::set_permissions(&ctx.store, std::fs::Permissions::from_mode(0o2775)).unwrap();
    ctx.write("buildout.cfg", TEMPLATE_CFG);
    ok_with_umask(&ctx, "077", &ctx.work, &[]);
    assert_dir_modes(&ctx.store, 0o2775);
    assert_eq!(mode(&ctx.store.join(".db/db.sqlite")), 0o664);
    assert_eq!(mode(&ctx.store.join(".db/gc.lock")), 0o660);
    assert_eq!(world_writable(&ctx.store), Vec::<String>::new());
    // A running process's temporary roots are readable by the group's gc.
    let child = with_umask(
        &ctx,
        "077",
        &ctx.work,
        &[
            "store",
            "debug-add",
            "slow",
            "--text",
            "s",
            "--build-delay-ms",
            "1500",
        ],
    )
    .stdout(std::process::Stdio::null())
    .spawn()
    .unwrap();
    let t0 = std::time::Instant::now();
    let file = loop {
        let found = std::fs::read_dir(ctx.store.join(".temproots"))
            .unwrap()
            .flatten()
            .next();
        if let Some(e) = found {
            break e.path();
        }
        assert!(
            t0.elapsed().as_secs() < 5,
            "no temporary roots file appeared"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert_eq!(mode(&file), 0o644, "{}", file.display());
    assert!(child.wait_with_output().unwrap().status.success());
}

#[test]
fn a_world_writable_store_is_refused_and_world_writable_leftovers_are_corrected() {
    use std::os::unix::fs::PermissionsExt;
    let ctx = TestContext::new();
    ctx.ok(&["store", "ls"]);
    // `.db` made world-writable (as an older version did under umask 000).
    std::fs::set_permissions(
        ctx.store.join(".db"),
        std::fs::Permissions::from_mode(0o777),
    )
    .unwrap();
    ctx.ok(&["store", "ls"]);
    assert_eq!(mode(&ctx.store.join(".db")), 0o755);
    std::fs::set_permissions(&ctx.store, std::fs::Permissions::from_mode(0o777)).unwrap();
    let (_, err) = ctx.fails(&["store", "ls"]);
    assert!(
        err.contains(&format!(
            "the store `{}` is writable by every user",
            ctx.store.display()
        )),
        "{err}"
    );
}

/// Runs `script` (sh) as root of a new user and mount namespace, where it
/// may mount a small tmpfs whoever runs the tests; `None` (with the reason)
/// where this system allows no such namespace.
fn in_mount_namespace(script: &str, args: &[&str]) -> Result<std::process::Output, String> {
    let probe = Command::new("unshare")
        .args(["--user", "--map-root-user", "--mount", "true"])
        .output();
    match probe {
        Ok(out) if out.status.success() => {}
        Ok(out) => return Err(String::from_utf8_lossy(&out.stderr).trim().to_string()),
        Err(e) => return Err(format!("cannot run unshare: {e}")),
    }
    Ok(Command::new("unshare")
        .args([
            "--user",
            "--map-root-user",
            "--mount",
            "sh",
            "-c",
            script,
            "sh",
        ])
        .args(args)
        .output()
        .unwrap())
}

#[test]
fn a_full_disk_while_opening_the_database_says_so() {
    let ctx = TestContext::new();
    let mnt = ctx.root.join("small");
    std::fs::create_dir(&mnt).unwrap();
    let store = mnt.join("store");
    // A store made on a 512 KiB tmpfs, the disk then filled, the store
    // opened again: SQLite cannot grow its -shm file.
    let script = r#"set -e
        mount -t tmpfs -o size=512k none "$1"
        env -i HOME="$3" BUILDOUT_STORE="$2" "$4" store debug-add x --text x >/dev/null
        dd if=/dev/zero of="$1/fill" bs=4k 2>/dev/null || true
        env -i HOME="$3" BUILDOUT_STORE="$2" "$4" store ls"#;
    let out = match in_mount_namespace(
        script,
        &[
            mnt.to_str().unwrap(),
            store.to_str().unwrap(),
            ctx.home.to_str().unwrap(),
            env!("CARGO_BIN_EXE_buildout"),
        ],
    ) {
        Ok(out) => out,
        Err(reason) => {
            skipped("a_full_disk_while_opening_the_database_says_so", &reason);
            return;
        }
    };
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{}", describe("store ls", &out));
    let db = store.join(".db/db.sqlite");
    assert!(
        stderr.contains(&format!(
            "the disk holding the store database `{}` is full",
            db.display()
        )),
        "{stderr}"
    );
}

/// `buildout args` in `dir` as user `uid` (group `gid`, plus the store's
/// group), under `umask 077`, with `home` as HOME.
fn as_user(
    ctx: &TestContext,
    uid: u32,
    group: u32,
    home: &Path,
    dir: &Path,
    args: &[&str],
) -> Command {
    let mut cmd = Command::new("setpriv");
    cmd.env_clear()
        .args([
            format!("--reuid={uid}"),
            format!("--regid={uid}"),
            format!("--groups={group}"),
        ])
        .arg("sh")
        .arg("-c")
        .arg("umask 077; exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_buildout"))
        .args(args)
        .current_dir(dir);
    for (k, v) in ctx.command().get_envs() {
        if let Some(v) = v {
            cmd.env(k, v);
        }
    }
    cmd.env("HOME", home);
    cmd
}

#[test]
fn two_users_of_a_group_shared_store_neither_lose_nor_block_each_other() {
    use std::os::unix::fs::PermissionsExt;
    if !nix::unistd::geteuid().is_root() {
        skipped(
            "two_users_of_a_group_shared_store_neither_lose_nor_block_each_other",
            "it needs root to run as two users",
        );
        return;
    }
    if Command::new("setpriv").arg("--version").output().is_err() {
        skipped(
            "two_users_of_a_group_shared_store_neither_lose_nor_block_each_other",
            "no setpriv",
        );
        return;
    }
    let (alice, bob, group) = (43001, 43002, 43000);
    let ctx = TestContext::new();
    let open = |p: &Path| {
        std::fs::create_dir_all(p).unwrap();
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o777)).unwrap();
    };
    std::fs::set_permissions(&ctx.root, std::fs::Permissions::from_mode(0o755)).unwrap();
    // The admin's part: a store root owned by the group, 2775.
    std::fs::create_dir(&ctx.store).unwrap();
    nix::unistd::chown(&ctx.store, None, Some(nix::unistd::Gid::from_raw(group))).unwrap();
    std::fs::set_permissions(&ctx.store, std::fs::Permissions::from_mode(0o2775)).unwrap();
    let dirs: Vec<PathBuf> = ["alice", "bob"].iter().map(|n| ctx.root.join(n)).collect();
    for (dir, text) in dirs.iter().zip(["alice", "bob"]) {
        open(dir);
        open(&dir.join("home"));
        std::fs::write(
            dir.join("buildout.cfg"),
            TEMPLATE_CFG.replace("hello", text),
        )
        .unwrap();
    }
    let run = |uid: u32, dir: &Path, args: &[&str]| {
        let out = as_user(&ctx, uid, group, &dir.join("home"), dir, args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            describe(&format!("{uid} {args:?}"), &out)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    run(alice, &dirs[0], &[]);
    run(bob, &dirs[1], &[]);
    // Bob's buildout goes away: his objects are garbage, which Alice's gc
    // cannot delete (read-only directories only he may change): it keeps
    // them, and says so, instead of failing halfway.
    std::fs::remove_dir_all(dirs[1].join(".buildout")).unwrap();
    let out = run(alice, &dirs[0], &["gc"]);
    assert!(out.contains("that other users own"), "{out}");
    run(alice, &dirs[0], &["store", "verify"]);
    let out = run(bob, &dirs[1], &["gc"]);
    assert!(!out.contains("deleted 0 store objects"), "{out}");
    // A run of Bob's uses an unrooted object of Alice's: Alice's gc reads
    // Bob's temporary roots and keeps it.
    let base = crate::common::added_path(&run(
        alice,
        &dirs[0],
        &["store", "debug-add", "base", "--text", "b"],
    ));
    let mut child = as_user(
        &ctx,
        bob,
        group,
        &dirs[1].join("home"),
        &dirs[1],
        &["store"],
    );
    let child = spawn_slow_child(&mut child, &base, &["--root", "child"]);
    let gc = std::thread::spawn({
        let (dir, home) = (dirs[0].clone(), dirs[0].join("home"));
        let cmd = as_user(&ctx, alice, group, &home, &dir, &["gc"]);
        move || {
            std::thread::sleep(std::time::Duration::from_millis(500));
            let mut cmd = cmd;
            cmd.output().unwrap()
        }
    });
    let child = child.wait_with_output().unwrap();
    let gc = gc.join().unwrap();
    assert!(
        child.status.success(),
        "{}",
        describe("bob's debug-add", &child)
    );
    assert!(gc.status.success(), "{}", describe("alice's gc", &gc));
    assert!(std::fs::symlink_metadata(&base).is_ok());
}
