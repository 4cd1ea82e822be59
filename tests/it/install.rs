//! `zc.recipe.egg:eggs` parts against the local test index: resolution
//! with buildout's rules, downloads verified, wheels installed into the
//! store, the working set recorded in the generation.

use crate::common::index::IndexServer;
use crate::common::wheel::Wheel;
use crate::common::{TestContext, pairs, working_set};
use std::fs;

fn config(server: &IndexServer, eggs: &str, extra: &str) -> String {
    format!(
        "[buildout]\nparts = app\nindex = {}\n{extra}\n[app]\nrecipe = zc.recipe.egg:eggs\neggs =\n    {}\n",
        server.index_url(),
        eggs.replace('\n', "\n    ")
    )
}

fn web_index() -> IndexServer {
    let server = IndexServer::start();
    server
        .publish(Wheel::new("web", "1.0").dep("util>=1").build())
        .publish(
            Wheel::new("web", "2.0")
                .dep("util>=2")
                .dep("legacy; python_version < \"3\"")
                .extra("fast", "speedup")
                .build(),
        )
        .publish(Wheel::new("web", "3.0b1").dep("util>=2").build())
        .publish(Wheel::new("util", "1.5").build())
        .publish(Wheel::new("util", "2.1").build())
        .publish(Wheel::new("util", "2.2").build().yanked("broken"))
        .publish(Wheel::new("speedup", "0.9").build());
    server
}

#[test]
fn eggs_part_resolves_downloads_and_records_the_working_set() {
    let server = web_index();
    let ctx = TestContext::new();
    ctx.write("buildout.cfg", &config(&server, "web[fast]", ""));
    let out = ctx.ok(&[]);
    assert!(out.contains("Got web 2.0.\n"), "{out}");
    assert!(out.contains("Installing app.\n"), "{out}");
    assert_eq!(
        working_set(&ctx),
        pairs(&[("speedup", "0.9"), ("util", "2.1"), ("web", "2.0")]),
        "final releases preferred, yanked skipped, marker-excluded deps dropped, extras followed"
    );
    // Each distribution is a store object the part references.
    let part = fs::read_link(ctx.path("parts/app")).unwrap();
    let set: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(part.join("working-set.json")).unwrap()).unwrap();
    let web = set
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == "web")
        .unwrap()["path"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(web.starts_with(ctx.store.to_str().unwrap()));
    assert!(std::path::Path::new(&web).join("web/__init__.py").is_file());
    let why = ctx.ok(&["store", "why", &web]);
    assert!(why.contains(".buildout/generations/1"), "{why}");
    // The interpreter imports it from the store, bytecode already there.
    let import = std::process::Command::new("python3")
        .args(["-c", "import web, sys; print(web.__version__)"])
        .env("PYTHONPATH", &web)
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&import.stdout), "2.0\n");
    assert!(std::path::Path::new(&web).join("web/__pycache__").is_dir());
}

#[test]
fn versions_pins_and_show_picked_versions() {
    let server = web_index();
    let ctx = TestContext::new();
    ctx.write(
        "buildout.cfg",
        &config(
            &server,
            "web",
            "show-picked-versions = true\n[versions]\nweb = 1.0\n",
        ),
    );
    let out = ctx.ok(&[]);
    assert_eq!(working_set(&ctx), pairs(&[("util", "2.1"), ("web", "1.0")]));
    assert!(
        out.contains(
            "Versions had to be automatically picked.\nThe following part definition lists the versions picked:\n[versions]\nutil = 2.1\n"
        ),
        "{out}"
    );
}

#[test]
fn a_second_run_reuses_the_store_and_minus_n_offline_make_no_request() {
    let server = web_index();
    let ctx = TestContext::new();
    ctx.write("buildout.cfg", &config(&server, "web", ""));
    ctx.ok(&[]);
    server.clear_log();
    let out = ctx.ok(&["-N"]);
    assert_eq!(out, "Updating app.\n");
    assert!(
        server
            .requests()
            .iter()
            .all(|r| !r.path.starts_with("/files/")),
        "no download: {:?}",
        server.requests()
    );
    server.clear_log();
    let out = ctx.ok(&["-o"]);
    assert_eq!(out, "Updating app.\n");
    assert_eq!(server.requests(), vec![], "offline touches no network");
    assert_eq!(
        ctx.ok(&["generations"]).lines().count(),
        1,
        "no new generation"
    );
}

#[test]
fn offline_with_a_missing_distribution_says_what_is_missing() {
    let server = web_index();
    let ctx = TestContext::new();
    ctx.write("buildout.cfg", &config(&server, "web", ""));
    let (_, err) = ctx.fails(&["-o"]);
    assert!(
        err.starts_with("While:\n  Installing.\n  Installing app.\n"),
        "{err}"
    );
    assert!(err.contains("web"), "{err}");
    assert!(err.contains("offline"), "{err}");
    assert_eq!(server.requests(), vec![], "offline touches no network");
    assert!(!ctx.path(".buildout/current").exists());
}

#[test]
fn unknown_project_and_unsatisfiable_pin_are_clear_errors() {
    let server = web_index();
    let ctx = TestContext::new();
    ctx.write("buildout.cfg", &config(&server, "nosuchthing", ""));
    let (_, err) = ctx.fails(&[]);
    assert!(err.contains("nosuchthing"), "{err}");
    ctx.write(
        "buildout.cfg",
        &config(&server, "web>=2", "[versions]\nweb = 1.0\n"),
    );
    let (_, err) = ctx.fails(&[]);
    assert!(
        err.contains(
            "The requirement ('web>=2') is not allowed by your [versions] constraint (1.0)"
        ),
        "{err}"
    );
    ctx.write(
        "buildout.cfg",
        &config(&server, "web==2.0", "[versions]\nutil = 1.5\n"),
    );
    let (_, err) = ctx.fails(&[]);
    assert!(err.contains("util"), "{err}");
    assert!(err.contains("1.5"), "{err}");
}

#[test]
fn a_hash_mismatch_registers_nothing() {
    let server = IndexServer::start();
    let dist = Wheel::new("solo", "1.0").build();
    let filename = dist.filename.clone();
    server.publish(dist);
    server.corrupt(&filename, b"not the wheel the index promised");
    let ctx = TestContext::new();
    ctx.write("buildout.cfg", &config(&server, "solo", ""));
    let (_, err) = ctx.fails(&[]);
    assert!(err.contains("sha256"), "{err}");
    let ls = ctx.ok(&["store", "ls"]);
    assert!(!ls.contains("solo"), "{ls}");
    ctx.ok(&["store", "verify", "--check-contents"]);
}

#[test]
fn a_wheel_with_parent_directory_paths_is_rejected() {
    let server = IndexServer::start();
    server
        .publish(
            Wheel::new("evil", "1.0")
                .dep("good")
                .module("evil/__init__.py", "")
                .module("../escape.py", "print('gotcha')")
                .build(),
        )
        .publish(Wheel::new("good", "1.0").build());
    let ctx = TestContext::new();
    ctx.write("buildout.cfg", &config(&server, "evil", ""));
    let (_, err) = ctx.fails(&[]);
    assert!(err.contains("unsafe path `../escape.py`"), "{err}");
    assert!(!ctx.store.join("escape.py").exists());
    assert!(!ctx.store.parent().unwrap().join("escape.py").exists());
    let ls = ctx.ok(&["store", "ls"]);
    assert!(!ls.contains("evil"), "{ls}");
    // Its dependency, unpacked beside it, is not registered either: the
    // distributions of a run enter the store together or not at all.
    assert!(!ls.contains("good"), "{ls}");
    ctx.ok(&["store", "verify", "--check-contents"]);
    assert_eq!(fs::read_dir(ctx.store.join(".staging")).unwrap().count(), 0);
}

#[test]
fn two_parts_with_conflicting_versions_live_side_by_side() {
    let server = web_index();
    let ctx = TestContext::new();
    ctx.write(
        "buildout.cfg",
        &format!(
            "[buildout]\nparts = old new\nindex = {}\n[old]\nrecipe = zc.recipe.egg:eggs\neggs = util==1.5\n[new]\nrecipe = zc.recipe.egg:eggs\neggs = util\n",
            server.index_url()
        ),
    );
    ctx.ok(&[]);
    assert_eq!(
        working_set(&ctx),
        pairs(&[("util", "1.5"), ("util", "2.1")])
    );
}

#[test]
fn update_versions_file_appends_picked_versions_once() {
    let server = web_index();
    let ctx = TestContext::new();
    ctx.write(
        "buildout.cfg",
        &config(&server, "web", "update-versions-file = versions.cfg\n"),
    );
    let out = ctx.ok(&[]);
    assert!(
        out.contains("Picked versions have been written to"),
        "{out}"
    );
    let first = fs::read_to_string(ctx.path("versions.cfg")).unwrap();
    assert!(first.starts_with("[versions]\n"), "{first}");
    assert!(
        first.contains("util = 2.1\n") && first.contains("web = 2.0\n"),
        "{first}"
    );
    // zc.buildout appends the same pins again on every run; here a pin the
    // file already has is not repeated.
    ctx.ok(&["-N"]);
    assert_eq!(fs::read_to_string(ctx.path("versions.cfg")).unwrap(), first);
}

#[test]
fn download_cache_is_filled_and_reused() {
    let server = web_index();
    let ctx = TestContext::new();
    fs::create_dir_all(ctx.path("cache")).unwrap();
    ctx.write(
        "buildout.cfg",
        &config(&server, "web", "download-cache = cache\n"),
    );
    ctx.ok(&[]);
    let cached: Vec<String> = fs::read_dir(ctx.path("cache/dist"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        cached.iter().any(|f| f.starts_with("web-2.0")),
        "{cached:?}"
    );
    // A fresh store installs from the cache without downloading again.
    let store2 = ctx.root.join("store2");
    server.clear_log();
    let out = crate::common::run(ctx.command().env("BUILDOUT_STORE", &store2).arg("-N"));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        server
            .requests()
            .iter()
            .all(|r| !r.path.starts_with("/files/")),
        "{:?}",
        server.requests()
    );
}

#[test]
fn options_nothing_reads_are_reported_as_zc_buildout_does() {
    // Expected text as zc.buildout 6.0.1 with collective.recipe.template
    // 3.0.0 prints it for this configuration.
    let ctx = TestContext::new();
    ctx.write(
        "buildout.cfg",
        "[buildout]\nparts = tpl\nshow-picked-version = true\nunzip = true\n\n\
         [tpl]\nrecipe = collective.recipe.template\ninput = inline:hello ${other:used}\n\
         output = ${buildout:directory}/out.txt\ntypo-option = 1\ntimeout = 5\n\n\
         [other]\nused = x\nnotused = y\n",
    );
    let out = ctx.ok(&[]);
    let warning = "This may be an indication for either a typo in the option's name or a bug in the used recipe.\n";
    assert!(
        out.starts_with(&format!(
            "Section `buildout` contains unused option(s): 'show-picked-version' 'unzip'.\n{warning}\
             Installing tpl.\n\
             Section `tpl` contains unused option(s): 'typo-option'.\n{warning}"
        )),
        "{out}"
    );
    // Sections that are not parts are not checked; -qq hides warnings.
    assert!(!out.contains("other"), "{out}");
    assert!(!ctx.ok(&["-qq"]).contains("unused"));
}

#[test]
fn credentials_in_index_urls_reach_neither_the_store_nor_the_output() {
    let server = web_index();
    server.require_auth("alice", "s3cret");
    let ctx = TestContext::new();
    let with_auth = server.index_url_with_auth("alice", "s3cret");
    ctx.write(
        "buildout.cfg",
        &format!(
            "[buildout]\nparts = app\nindex = {with_auth}\n\n\
             [app]\nrecipe = zc.recipe.egg:eggs\neggs = web\nindex = {with_auth}\n"
        ),
    );
    let mut out = ctx.ok(&[]);
    // A second generation whose only change is the part's index option.
    ctx.write(
        "buildout.cfg",
        &format!(
            "[buildout]\nparts = app\nindex = {with_auth}\n\n\
             [app]\nrecipe = zc.recipe.egg:eggs\neggs = web\nindex = {}\n",
            with_auth.trim_end_matches('/')
        ),
    );
    out += &ctx.ok(&[]);
    let diff = ctx.ok(&["generations", "diff", "1", "2"]);
    assert!(diff.contains("index"), "{diff}");
    out += &diff;
    out += &ctx.ok(&["store", "ls"]);
    let part = fs::read_link(ctx.path("parts/app")).unwrap();
    out += &ctx.ok(&["store", "info", part.to_str().unwrap()]);
    for line in ctx.ok(&["store", "ls"]).lines() {
        if let Some(path) = line
            .split_whitespace()
            .last()
            .filter(|p| p.contains("-web-"))
        {
            out += &ctx.ok(&["store", "info", path]);
            out += &ctx.ok(&["--json", "store", "info", path]);
        }
    }
    assert!(out.contains("origin:"), "{out}");
    assert!(!out.contains("s3cret") && !out.contains("alice"), "{out}");
    // Nothing written to the store (objects and database) holds them.
    let mut todo = vec![ctx.store.clone()];
    while let Some(dir) = todo.pop() {
        for e in fs::read_dir(&dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() && !p.is_symlink() {
                todo.push(p);
            } else if p.is_file() {
                let bytes = fs::read(&p).unwrap();
                assert!(
                    !bytes.windows(6).any(|w| w == b"s3cret"),
                    "{} holds the password",
                    p.display()
                );
            }
        }
    }
}

#[test]
fn verify_repair_fetches_and_reinstalls_a_damaged_or_missing_distribution() {
    let server = web_index();
    let ctx = TestContext::new();
    ctx.write("buildout.cfg", &config(&server, "web", ""));
    ctx.ok(&[]);
    let ls = ctx.ok(&["store", "ls"]);
    let path_of = |name: &str| -> std::path::PathBuf {
        ls.split_whitespace()
            .find(|w| w.contains(&format!("-{name}-")) && w.starts_with('/'))
            .unwrap_or_else(|| panic!("{name} in {ls}"))
            .into()
    };
    let util = path_of("util");
    let web = path_of("web");
    let init = util.join("util/__init__.py");
    let original = fs::read(&init).unwrap();
    let chmod = |p: &std::path::Path, mode: u32| {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(p, fs::Permissions::from_mode(mode)).unwrap();
    };
    chmod(&init, 0o644);
    fs::write(&init, "raise SystemExit('tampered')\n").unwrap();

    // Offline, nothing can be fetched: reported, not repaired.
    let run = ctx.buildout(&["-o", "store", "verify", "--check-contents", "--repair"]);
    assert_ne!(run.code, 0);
    assert!(
        run.stdout.contains("contents were modified")
            || run.stderr.contains("contents were modified"),
        "{}{}",
        run.stdout,
        run.stderr
    );
    assert!(
        format!("{}{}", run.stdout, run.stderr).contains("cannot rebuild it:"),
        "{}{}",
        run.stdout,
        run.stderr
    );

    let out = ctx.buildout(&["store", "verify", "--check-contents", "--repair"]);
    let text = format!("{}{}", out.stdout, out.stderr);
    assert_eq!(out.code, 0, "{text}");
    assert!(
        text.contains("repaired: rebuilt it (same hash as recorded)"),
        "{text}"
    );
    assert_eq!(fs::read(&init).unwrap(), original);
    ctx.ok(&["store", "verify", "--check-contents"]);

    // A whole object gone while the part still refers to it.
    chmod(&web, 0o755);
    fs::remove_dir_all(&web).unwrap();
    let out = ctx.buildout(&["store", "verify", "--check-contents", "--repair"]);
    let text = format!("{}{}", out.stdout, out.stderr);
    assert_eq!(out.code, 0, "{text}");
    assert!(text.contains("registered but missing on disk"), "{text}");
    assert!(web.join("web/__init__.py").is_file());
    ctx.ok(&["store", "verify", "--check-contents"]);
    assert!(
        fs::read_dir(ctx.store.join(".staging"))
            .unwrap()
            .next()
            .is_none()
    );
}
