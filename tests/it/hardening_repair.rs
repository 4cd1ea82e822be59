//! Issue 11, items 8, 9, 11, 12: the store survives losing its database,
//! repair restores exact contents (or says it cannot), a missing current
//! generation is rebuilt, and a killed run's compiler children stop.

use crate::bytecode::tool_index;
use crate::common::TestContext;
use crate::common::index::IndexServer;
use crate::common::wheel::Wheel;
use std::fs;
use std::path::{Path, PathBuf};

fn config(server: &IndexServer) -> String {
    format!(
        "[buildout]\nparts = app motd\nindex = {}\n\n[app]\nrecipe = zc.recipe.egg\neggs = tool\ninterpreter = py\n\n[motd]\nrecipe = collective.recipe.template\noutput = ${{buildout:directory}}/etc/motd\ninline = hello ${{app:eggs}}\n",
        server.index_url()
    )
}

fn chmod(p: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(p, fs::Permissions::from_mode(mode)).unwrap();
}

/// Edits `file` inside a store object and puts its read-only mode back.
fn tamper(file: &Path, contents: impl AsRef<[u8]>) {
    chmod(file, 0o644);
    fs::write(file, contents).unwrap();
    chmod(file, 0o444);
}

fn text(run: &crate::common::Run) -> String {
    format!("{}{}", run.stdout, run.stderr)
}

fn run_py(ctx: &TestContext) -> crate::common::Run {
    crate::common::run(
        std::process::Command::new(ctx.path("bin/py"))
            .args(["-c", "import tool, helper; print(helper.VALUE)"])
            .current_dir(&ctx.work),
    )
}

fn find_pyc(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() && !p.is_symlink() {
                todo.push(p);
            } else if p.extension().is_some_and(|x| x == "pyc") {
                out.push(p);
            }
        }
    }
    out
}

fn object(ctx: &TestContext, part: &str) -> PathBuf {
    let ls = ctx.ok(&["store", "ls"]);
    ls.split_whitespace()
        .find(|w| w.starts_with('/') && w.contains(&format!("-{part}")))
        .unwrap_or_else(|| panic!("{part} in {ls}"))
        .into()
}

/// `rm <store>/.db/db.sqlite*`.
fn lose_database(ctx: &TestContext) {
    for e in fs::read_dir(ctx.store.join(".db")).unwrap().flatten() {
        if e.file_name().to_string_lossy().starts_with("db.sqlite") {
            fs::remove_file(e.path()).unwrap();
        }
    }
}

/// Asserts that the output of `run` contains `needle`.
fn says(run: &crate::common::Run, needle: &str) {
    assert!(
        text(run).contains(needle),
        "{needle:?} not in:\n{}",
        text(run)
    );
}

fn read(ctx: &TestContext, rel: &str) -> String {
    fs::read_to_string(ctx.path(rel)).unwrap()
}

fn objects_on_disk(ctx: &TestContext) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(&ctx.store)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    names.sort();
    names
}

/// Two generations (`hello` then `bye`), the second current.
fn two_generations(ctx: &TestContext, server: &IndexServer) {
    ctx.write("buildout.cfg", &config(server));
    ctx.ok(&[]);
    ctx.ok(&["motd:inline=bye"]);
    assert_eq!(read(ctx, "etc/motd"), "bye");
    assert_eq!(run_py(ctx).stdout, "helper-2.0\n");
}

#[test]
fn losing_the_database_fails_verify_and_gc_and_repair_registers_the_objects_again() {
    let server = tool_index();
    let ctx = TestContext::new();
    two_generations(&ctx, &server);
    let before = ctx.ok(&["store", "ls"]);
    let on_disk = objects_on_disk(&ctx);
    lose_database(&ctx);
    let run = ctx.buildout(&["store", "verify"]);
    assert_ne!(run.code, 0, "{}", text(&run));
    let expected = format!("{} object(s) in `", on_disk.len());
    says(&run, &expected);
    assert!(text(&run).contains("not registered in the store database"));
    // gc fails closed: nothing is deleted, the current generation included.
    let run = ctx.buildout(&["gc"]);
    assert_ne!(run.code, 0, "{}", text(&run));
    says(&run, "gc refuses to run");
    assert_eq!(objects_on_disk(&ctx), on_disk);
    assert_eq!(read(&ctx, "etc/motd"), "bye");

    let run = ctx.buildout(&["store", "verify", "--repair"]);
    assert_eq!(run.code, 0, "{}", text(&run));
    says(&run, "registered it again");
    assert_eq!(ctx.ok(&["store", "ls"]), before);
    ctx.ok(&["store", "verify", "--check-contents"]);
    // Both generations survive gc, and the directory works as before.
    ctx.ok(&["gc"]);
    assert_eq!(objects_on_disk(&ctx), on_disk);
    assert_eq!(run_py(&ctx).stdout, "helper-2.0\n");
    ctx.ok(&["motd:inline=bye"]);
    ctx.ok(&["rollback"]);
    assert_eq!(read(&ctx, "etc/motd"), "hello tool");
    assert_eq!(run_py(&ctx).stdout, "helper-2.0\n");
    // Records follow the objects: gc drops those of objects that are gone.
    let stray = ctx
        .store
        .join(".meta/00000000000000000000000000000000-gone");
    fs::write(&stray, "{}").unwrap();
    ctx.ok(&["generations", "delete", "2"]);
    ctx.ok(&["gc"]);
    let mut records: Vec<String> = fs::read_dir(ctx.store.join(".meta"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    records.sort();
    assert_eq!(records, objects_on_disk(&ctx));
}

#[test]
fn an_unprovable_unregistered_object_is_reported_and_never_deleted() {
    let ctx = TestContext::new();
    let obj = crate::common::added_path(&ctx.ok(&[
        "store",
        "debug-add",
        "kept",
        "--text",
        "kept",
        "--root",
        "kept",
    ]));
    // Its record gone and the database lost: nothing proves it.
    let base = Path::new(&obj).file_name().unwrap().to_owned();
    fs::remove_file(ctx.store.join(".meta").join(&base)).unwrap();
    lose_database(&ctx);
    let run = ctx.buildout(&["store", "verify", "--repair"]);
    assert_ne!(run.code, 0, "{}", text(&run));
    says(&run, "nothing proves its contents");
    says(&run, "1 object(s) in `");
    assert!(crate::common::exists(&obj));
    assert!(ctx.buildout(&["gc"]).code != 0);
    assert!(crate::common::exists(&obj));
}

#[test]
fn repair_restores_a_modified_pyc_whose_mode_was_put_back() {
    let server = tool_index();
    let ctx = TestContext::new();
    ctx.write("buildout.cfg", &config(&server));
    ctx.ok(&[]);
    let helper = object(&ctx, "helper-2.0");
    let pyc = find_pyc(&helper).pop().expect("compiled bytecode");
    let original = fs::read(&pyc).unwrap();
    let mut bytes = original.clone();
    let n = bytes.len();
    bytes[n - 5] ^= 0xff;
    bytes[n - 9] ^= 0xff;
    tamper(&pyc, bytes);
    assert_ne!(run_py(&ctx).code, 0);
    let run = ctx.buildout(&["store", "verify", "--repair"]);
    assert_eq!(run.code, 0, "{}", text(&run));
    says(&run, "contents were modified");
    says(&run, "repaired: rebuilt it (same hash as recorded)");
    assert_eq!(fs::read(&pyc).unwrap(), original);
    assert_eq!(run_py(&ctx).stdout, "helper-2.0\n");
    ctx.ok(&["store", "verify", "--check-contents"]);
}

#[test]
fn a_deleted_current_generation_is_replaced_by_the_next_run() {
    let server = tool_index();
    let ctx = TestContext::new();
    two_generations(&ctx, &server);
    let current = fs::canonicalize(ctx.path(".buildout/current")).unwrap();
    chmod(&current, 0o755);
    fs::remove_dir_all(&current).unwrap();
    let run = ctx.buildout(&["store", "verify", "--repair"]);
    assert_eq!(run.code, 0, "{}", text(&run));
    let run = ctx.buildout(&[]);
    assert_eq!(run.code, 0, "{}", text(&run));
    says(&run, "The current generation 2 cannot be read");
    assert_eq!(read(&ctx, "etc/motd"), "hello tool");
    ctx.ok(&["motd:inline=bye"]);
    assert_eq!(read(&ctx, "etc/motd"), "bye");
    ctx.ok(&["rollback"]);
    assert_eq!(read(&ctx, "etc/motd"), "hello tool");
    ctx.ok(&["store", "verify", "--check-contents"]);
    // Deleted without a repair (still registered): the run makes it again.
    let current = fs::canonicalize(ctx.path(".buildout/current")).unwrap();
    chmod(&current, 0o755);
    fs::remove_dir_all(&current).unwrap();
    let run = ctx.buildout(&[]);
    assert_eq!(run.code, 0, "{}", text(&run));
    says(&run, "cannot be read");
    assert_eq!(read(&ctx, "etc/motd"), "hello tool");
    ctx.ok(&["store", "verify", "--check-contents"]);
}

/// Processes (other than `except`) whose working directory is `dir`.
fn processes_in(dir: &Path, except: u32) -> Vec<(u32, String)> {
    let mut found = Vec::new();
    for e in fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if pid == except || fs::read_link(e.path().join("cwd")).ok().as_deref() != Some(dir) {
            continue;
        }
        let cmd = fs::read(e.path().join("cmdline")).unwrap_or_default();
        let stat = fs::read_to_string(e.path().join("stat")).unwrap_or_default();
        // Zombies are dead already.
        if stat
            .rsplit(')')
            .next()
            .is_some_and(|s| s.trim_start().starts_with('Z'))
        {
            continue;
        }
        let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
        found.push((pid, cmd.chars().take(60).collect()));
    }
    found
}

fn pyc_in_staging(store: &Path) -> bool {
    fs::read_dir(store.join(".staging"))
        .into_iter()
        .flatten()
        .flatten()
        .any(|e| !find_pyc(&e.path()).is_empty())
}

#[test]
fn killing_buildout_stops_its_bytecode_compiler_and_verify_stays_clean() {
    let server = IndexServer::start();
    let mut big = Wheel::new("big", "1.0");
    let body: String = (0..150)
        .map(|i| format!("def f{i}(x):\n    return [x * {i} + y for y in range({i})]\n"))
        .collect();
    for m in 0..2500 {
        big = big.module(&format!("big/m{m}.py"), &body);
    }
    server.publish(big.build());
    let ctx = TestContext::new();
    ctx.write(
        "buildout.cfg",
        &format!(
            "[buildout]\nparts = app\nindex = {}\n\n[app]\nrecipe = zc.recipe.egg:eggs\neggs = big\n",
            server.index_url()
        ),
    );
    let mut child = ctx
        .command()
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !pyc_in_staging(&ctx.store) {
        assert!(std::time::Instant::now() < deadline, "never compiled");
        assert!(child.try_wait().unwrap().is_none(), "finished too soon");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert!(processes_in(&ctx.work, std::process::id()).len() > 1);
    child.kill().unwrap();
    child.wait().unwrap();
    // The compiler and its workers are gone (they poll every 50 ms),
    // although seconds of their work are not done.
    std::thread::sleep(std::time::Duration::from_millis(500));
    let left = processes_in(&ctx.work, std::process::id());
    assert!(left.is_empty(), "still running: {left:?}");
    // Cleaning the killed run's stage never fails verify.
    ctx.ok(&["store", "verify"]);
    ctx.ok(&["gc"]);
    assert_eq!(fs::read_dir(ctx.store.join(".staging")).unwrap().count(), 0);
}

#[test]
fn damaged_part_and_generation_objects_are_rebuilt_from_their_recorded_inputs() {
    let server = tool_index();
    let ctx = TestContext::new();
    two_generations(&ctx, &server);
    let motd = fs::canonicalize(ctx.path("etc/motd")).unwrap();
    tamper(&motd, "tampered");
    let py = fs::canonicalize(ctx.path("bin/py")).unwrap();
    let script = fs::read(&py).unwrap();
    tamper(&py, "#!/bin/sh\necho tampered\n");
    let current = fs::canonicalize(ctx.path(".buildout/current")).unwrap();
    let manifest = current.join("manifest.json");
    chmod(&current, 0o755);
    fs::remove_file(current.join("bin/py")).unwrap();
    let run = ctx.buildout(&["store", "verify", "--repair"]);
    assert_eq!(run.code, 0, "{}", text(&run));
    assert_eq!(
        text(&run)
            .matches("repaired: rebuilt it (same hash as recorded)")
            .count(),
        3,
        "{}",
        text(&run)
    );
    assert_eq!(read(&ctx, "etc/motd"), "bye");
    assert_eq!(fs::read(&py).unwrap(), script);
    assert!(manifest.is_file());
    assert_eq!(run_py(&ctx).stdout, "helper-2.0\n");
    ctx.ok(&["store", "verify", "--check-contents"]);
    // A generation whose manifest was edited cannot prove its inputs: it
    // stays flagged, never reported repaired.
    let old = fs::canonicalize(ctx.path(".buildout/generations/1")).unwrap();
    let old_manifest = old.join("manifest.json");
    let edited = fs::read_to_string(&old_manifest)
        .unwrap()
        .replace("hello", "HELLO");
    tamper(&old_manifest, &edited);
    let run = ctx.buildout(&["store", "verify", "--repair"]);
    assert_ne!(run.code, 0, "{}", text(&run));
    says(&run, "its address is not the digest of its manifest");
    assert!(!text(&run).contains("repaired: rebuilt"), "{}", text(&run));
}

#[test]
fn a_concurrent_cleaner_never_takes_the_tree_a_repair_is_putting_in_place() {
    let server = IndexServer::start();
    let mut many = Wheel::new("many", "1.0");
    for m in 0..800 {
        many = many.module(&format!("many/m{m}.py"), &format!("X = {m}\n"));
    }
    server.publish(many.build());
    let ctx = TestContext::new();
    ctx.write(
        "buildout.cfg",
        &format!(
            "[buildout]\nparts = app\nindex = {}\n\n[app]\nrecipe = zc.recipe.egg:eggs\neggs = many\n",
            server.index_url()
        ),
    );
    ctx.ok(&[]);
    let obj = object(&ctx, "many-1.0");
    for round in 0..2 {
        let file = obj.join(format!("many/m{round}.py"));
        tamper(&file, "X = 'tampered'\n");
        let mut repair = ctx
            .command()
            .args(["store", "verify", "--check-contents", "--repair"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Every run of buildout cleans abandoned stages when it opens the
        // store.
        while repair.try_wait().unwrap().is_none() {
            ctx.ok(&["store", "info", obj.to_str().unwrap()]);
        }
        let out = repair.wait_with_output().unwrap();
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "round {round}: {all}");
        assert_eq!(fs::read_to_string(&file).unwrap(), format!("X = {round}\n"));
    }
    ctx.ok(&["store", "verify", "--check-contents"]);
}
