//! Generations: install builds a generation and switches to it atomically;
//! rollback, delete, diff, gc after delete, adoption of a zc.buildout
//! directory, the directory lock, and crashes during a switch.

use crate::common::{TestContext, run};
use std::fs;
use std::process::Stdio;

/// A configuration with a script in `bin/` and a managed file in `etc/`,
/// both depending on `[buildout] port`.
const CONFIG: &str = r#"[buildout]
parts = start conf
port = 8080

[start]
recipe = collective.recipe.template
output = ${buildout:bin-directory}/start
mode = 755
inline =
    #!/bin/sh
    echo "port ${buildout:port}"

[conf]
recipe = collective.recipe.template
output = ${buildout:directory}/etc/app.conf
inline = port = ${buildout:port}
"#;

fn setup() -> TestContext {
    let ctx = TestContext::new();
    ctx.write("buildout.cfg", CONFIG);
    ctx
}

fn read(ctx: &TestContext, rel: &str) -> String {
    fs::read_to_string(ctx.path(rel)).unwrap_or_else(|e| panic!("read {rel}: {e}"))
}

fn current(ctx: &TestContext) -> String {
    fs::read_link(ctx.path(".buildout/current"))
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

#[test]
fn install_builds_a_generation_and_links_the_directory_to_it() {
    let ctx = setup();
    let out = ctx.ok(&["install"]);
    assert_eq!(
        out,
        "Installing start.\nInstalling conf.\nGeneration 1 is current (+start +conf).\n"
    );
    assert_eq!(
        fs::read_link(ctx.path("bin")).unwrap().to_str(),
        Some(".buildout/current/bin")
    );
    assert_eq!(
        fs::read_link(ctx.path("parts")).unwrap().to_str(),
        Some(".buildout/current/parts")
    );
    assert_eq!(read(&ctx, "bin/start"), "#!/bin/sh\necho \"port 8080\"");
    assert_eq!(read(&ctx, "etc/app.conf"), "port = 8080");
    let script = run(&mut std::process::Command::new(ctx.path("bin/start")));
    assert_eq!(script.stdout, "port 8080\n");
    // parts/<name> is the part's store object.
    let part = fs::read_link(ctx.path("parts/start")).unwrap();
    assert!(part.starts_with(&ctx.store), "{}", part.display());
    assert_eq!(current(&ctx), "generations/1");
}

#[test]
fn an_unchanged_rerun_makes_no_new_generation() {
    let ctx = setup();
    ctx.ok(&["install"]);
    let out = ctx.ok(&[]);
    assert_eq!(out, "Updating start.\nUpdating conf.\n");
    let list = ctx.ok(&["generations"]);
    assert_eq!(list.lines().count(), 1, "{list}");
}

#[test]
fn rollback_and_rollback_to_n_switch_bin_and_files() {
    let ctx = setup();
    ctx.ok(&["install"]);
    ctx.ok(&["port=9090"]);
    ctx.ok(&["port=7070"]);
    assert_eq!(read(&ctx, "etc/app.conf"), "port = 7070");
    let out = ctx.ok(&["rollback"]);
    assert_eq!(out, "Switched from generation 3 to generation 2.\n");
    assert_eq!(read(&ctx, "etc/app.conf"), "port = 9090");
    assert_eq!(read(&ctx, "bin/start"), "#!/bin/sh\necho \"port 9090\"");
    ctx.ok(&["rollback", "1"]);
    assert_eq!(read(&ctx, "etc/app.conf"), "port = 8080");
    assert_eq!(current(&ctx), "generations/1");
    let (_, err) = ctx.fails(&["rollback"]);
    assert_eq!(
        err,
        "Error: there is no generation before 1 to roll back to\n"
    );
    let (_, err) = ctx.fails(&["rollback", "9"]);
    assert_eq!(err, "Error: generation 9 does not exist in this buildout\n");
    ctx.ok(&["rollback", "3"]);
    assert_eq!(read(&ctx, "etc/app.conf"), "port = 7070");
}

#[test]
fn generations_list_and_diff() {
    let ctx = setup();
    ctx.ok(&["install"]);
    ctx.ok(&["port=9090", "parts=start"]);
    let list = ctx.ok(&["generations"]);
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines.len(), 2, "{list}");
    assert!(
        lines[0].starts_with("   1   ") && lines[0].ends_with("+start +conf"),
        "{list}"
    );
    assert!(lines[1].ends_with("~start -conf   (current)"), "{list}");
    let diff = ctx.ok(&["generations", "diff"]);
    assert_eq!(
        diff,
        "generation 1 -> 2\npart start: changed\n    inline: \"#!/bin/sh\\necho \\\"port 8080\\\"\" -> \"#!/bin/sh\\necho \\\"port 9090\\\"\"\npart conf: removed\n"
    );
    assert_eq!(
        ctx.ok(&["generations", "diff", "2", "2"]),
        "generation 2 -> 2\nno changes\n"
    );
    let json: serde_json::Value =
        serde_json::from_str(&ctx.ok(&["--json", "generations", "list"])).unwrap();
    assert_eq!(json[1]["current"], true);
    assert_eq!(json[0]["generation"], 1);
    // The managed file of the removed part is gone from the directory.
    assert!(!ctx.path("etc/app.conf").exists());
    assert!(ctx.path("etc").is_dir(), "the user's directory stays");
}

#[test]
fn delete_specs_never_touch_the_current_generation() {
    let ctx = setup();
    for port in ["1", "2", "3", "4", "5"] {
        ctx.ok(&[&format!("port={port}")]);
    }
    ctx.ok(&["rollback", "4"]);
    let (_, err) = ctx.fails(&["generations", "delete", "4"]);
    assert!(err.contains("generation 4 is current"), "{err}");
    ctx.ok(&["generations", "delete", "1", "2"]);
    let numbers = |ctx: &TestContext| -> Vec<String> {
        ctx.ok(&["generations"])
            .lines()
            .map(|l| l.split_whitespace().next().unwrap().to_string())
            .collect()
    };
    assert_eq!(numbers(&ctx), ["3", "4", "5"]);
    ctx.ok(&["generations", "delete", "+1"]);
    assert_eq!(
        numbers(&ctx),
        ["4", "5"],
        "+1 keeps the last one and the current"
    );
    ctx.ok(&["generations", "delete", "30d"]);
    assert_eq!(numbers(&ctx), ["4", "5"], "nothing is 30 days old");
    ctx.ok(&["generations", "delete", "old"]);
    assert_eq!(numbers(&ctx), ["4"]);
    let (_, err) = ctx.fails(&["generations", "delete", "x"]);
    assert!(
        err.contains("invalid generation specification `x`"),
        "{err}"
    );
}

#[test]
fn gc_after_delete_frees_exactly_the_deleted_generations_objects() {
    let ctx = setup();
    ctx.ok(&["install"]);
    let first = fs::read_link(ctx.path(".buildout/generations/1")).unwrap();
    let first_conf = fs::read_link(ctx.path("parts/conf")).unwrap();
    ctx.ok(&["port=9090", "parts=start"]);
    assert_eq!(
        ctx.ok(&["gc", "--dry-run"]),
        "would delete 0 store objects, freeing 0 B\n"
    );
    ctx.ok(&["generations", "delete", "old"]);
    let dry = ctx.ok(&["gc", "--dry-run"]);
    let mut listed: Vec<&str> = dry.lines().filter(|l| l.starts_with('/')).collect();
    listed.sort_unstable();
    let mut expected = vec![first.to_str().unwrap(), first_conf.to_str().unwrap()];
    let first_start = fs::read_link(first.join("parts/start")).unwrap();
    expected.push(first_start.to_str().unwrap());
    expected.sort_unstable();
    assert_eq!(listed, expected, "{dry}");
    ctx.ok(&["gc"]);
    assert!(!first.exists());
    ctx.ok(&["store", "verify", "--check-contents"]);
    assert_eq!(read(&ctx, "bin/start"), "#!/bin/sh\necho \"port 9090\"");
}

#[test]
fn a_zc_buildout_directory_is_adopted_without_losing_anything() {
    let ctx = setup();
    ctx.write(
        "bin/buildout",
        "#!/usr/bin/python\n# zc.buildout's script\n",
    );
    ctx.write("parts/old/file", "old part\n");
    ctx.write(".installed.cfg", "[buildout]\nparts = old\n");
    ctx.write("etc/app.conf", "written by hand\n");
    ctx.write("develop-eggs/x.egg-link", "/src/x\n");
    ctx.write("var/data.fs", "precious\n");
    let out = ctx.ok(&["install"]);
    for moved in ["bin", "parts", ".installed.cfg", "etc/app.conf"] {
        let line = out
            .lines()
            .find(|l| l.starts_with(&format!("Moved {} ", ctx.path(moved).display())))
            .unwrap_or_else(|| panic!("{moved} not reported:\n{out}"));
        // The message says what stands there now, and it is true.
        if moved == ".installed.cfg" {
            assert!(
                line.ends_with(": the generation's manifest replaces it."),
                "{line}"
            );
            assert!(!ctx.path(moved).exists(), "{line}");
        } else {
            assert!(
                line.ends_with(": buildout now manages it as a link into the current generation."),
                "{line}"
            );
            assert!(
                fs::symlink_metadata(ctx.path(moved))
                    .unwrap()
                    .file_type()
                    .is_symlink(),
                "{line}"
            );
        }
    }
    let backup = fs::read_dir(ctx.path(".buildout/backup"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    assert_eq!(
        fs::read_to_string(backup.join("bin/buildout")).unwrap(),
        "#!/usr/bin/python\n# zc.buildout's script\n"
    );
    assert_eq!(
        fs::read_to_string(backup.join("parts/old/file")).unwrap(),
        "old part\n"
    );
    assert_eq!(
        fs::read_to_string(backup.join("etc/app.conf")).unwrap(),
        "written by hand\n"
    );
    assert!(backup.join(".installed.cfg").exists());
    assert_eq!(read(&ctx, "var/data.fs"), "precious\n");
    assert_eq!(read(&ctx, "develop-eggs/x.egg-link"), "/src/x\n");
    assert_eq!(read(&ctx, "etc/app.conf"), "port = 8080");
}

#[test]
fn a_failed_run_leaves_the_current_generation_untouched() {
    let ctx = setup();
    ctx.ok(&["install"]);
    ctx.write(
        "buildout.cfg",
        &format!("{CONFIG}\n[broken]\nrecipe = collective.recipe.template\noutput = x\n"),
    );
    let (_, err) = ctx.fails(&["parts+=broken"]);
    assert_eq!(
        err,
        "While:\n  Installing.\n  Installing broken.\nError: No input file, inline template, or URL specified.\n"
    );
    assert_eq!(current(&ctx), "generations/1");
    assert_eq!(ctx.ok(&["generations"]).lines().count(), 1);
    assert_eq!(read(&ctx, "etc/app.conf"), "port = 8080");
}

#[test]
fn a_crash_at_every_point_of_a_run_leaves_a_complete_generation_current() {
    for point in [
        "add-registered",
        "install-parts-built",
        "install-generation-added",
        "install-link-added",
        "switch-before-rename",
        "switch-after-rename",
    ] {
        let ctx = setup();
        ctx.ok(&["install"]);
        let out = ctx
            .command()
            .env("BUILDOUT_FAILPOINT", point)
            .arg("port=9090")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(!out.success(), "{point}: the run should have crashed");
        // Whatever the crash point, the directory shows one whole generation.
        let conf = read(&ctx, "etc/app.conf");
        let start = read(&ctx, "bin/start");
        let port = conf.trim_start_matches("port = ").to_string();
        assert!(port == "8080" || port == "9090", "{point}: {conf}");
        assert_eq!(start, format!("#!/bin/sh\necho \"port {port}\""), "{point}");
        ctx.ok(&["store", "verify", "--check-contents"]);
        // A rerun completes and switches to the new generation.
        ctx.ok(&["port=9090"]);
        assert_eq!(read(&ctx, "etc/app.conf"), "port = 9090", "{point}");
        ctx.ok(&["rollback", "1"]);
        assert_eq!(read(&ctx, "etc/app.conf"), "port = 8080", "{point}");
    }
}

#[test]
fn a_second_buildout_in_the_same_directory_waits_for_the_first() {
    let ctx = setup();
    ctx.ok(&["install"]);
    // Hold the directory lock from this process, then start a run.
    let lock_path = ctx.path(".buildout/lock");
    let file = fs::OpenOptions::new().write(true).open(&lock_path).unwrap();
    let lock = nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusive).unwrap();
    let child = ctx
        .command()
        .arg("port=9090")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    assert_eq!(
        read(&ctx, "etc/app.conf"),
        "port = 8080",
        "must not run while locked"
    );
    drop(lock);
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains("Waiting for another buildout running in"),
        "{stdout}"
    );
    assert_eq!(read(&ctx, "etc/app.conf"), "port = 9090");
}

#[test]
fn a_template_url_is_fetched_each_run_and_a_change_makes_a_new_generation() {
    let ctx = TestContext::new();
    let served = ctx.root.join("served");
    fs::create_dir_all(&served).unwrap();
    fs::write(served.join("app.conf.in"), "port = ${:port}\n").unwrap();
    let server = crate::common::http::Server::start(&served);
    let config = |url: &str| {
        format!(
            "[buildout]\nparts = conf\n\n[conf]\nrecipe = collective.recipe.template\n\
             url = {url}\noutput = ${{buildout:directory}}/etc/app.conf\nport = 8080\ntimeout = 5\n"
        )
    };
    ctx.write(
        "buildout.cfg",
        &config(&format!("{}/app.conf.in", server.url())),
    );
    ctx.ok(&[]);
    assert_eq!(read(&ctx, "etc/app.conf"), "port = 8080\n");
    // Same options, new template text: a new part and generation.
    fs::write(served.join("app.conf.in"), "listen = ${:port}\n").unwrap();
    ctx.ok(&[]);
    assert_eq!(read(&ctx, "etc/app.conf"), "listen = 8080\n");
    assert_eq!(current(&ctx), "generations/2");
    // Offline: no request, a clear error naming the URL.
    let before = server.total_requests();
    let (_, err) = ctx.fails(&["-o"]);
    assert!(
        err.contains(&format!(
            "Error: Couldn't download '{}/app.conf.in' in offline mode.",
            server.url()
        )),
        "{err}"
    );
    assert_eq!(server.total_requests(), before);
    // A missing template: the HTTP status, with the URL.
    ctx.write(
        "buildout.cfg",
        &config(&format!("{}/nope.in", server.url())),
    );
    let (_, err) = ctx.fails(&[]);
    assert!(err.contains("Error: HTTP Error 404: Not Found ("), "{err}");
    // file:// URLs are read from disk.
    let local = ctx.root.join("local.in");
    fs::write(&local, "local ${:port}\n").unwrap();
    ctx.write(
        "buildout.cfg",
        &config(&format!("file://{}", local.display())),
    );
    ctx.ok(&[]);
    assert_eq!(read(&ctx, "etc/app.conf"), "local 8080\n");
}
