//! Hardening (issue 11): nothing a package or a configuration names is
//! written outside its place, credentials never shown by `annotate`, the
//! versions file never clobbered, and configuration bombs stop with an error.

use crate::common::index::IndexServer;
use crate::common::wheel::Wheel;
use crate::common::{TestContext, exists};
use std::fs;

/// A buildout with one `zc.recipe.egg` part `app` and `options`.
fn egg_config(server: &IndexServer, options: &str) -> String {
    format!(
        "[buildout]\nparts = app\nindex = {}\n\n[app]\nrecipe = zc.recipe.egg\n{options}\n",
        server.index_url()
    )
}

/// An index with `evil 1.0`, whose console scripts are named `names`.
fn evil_index(names: &[&str]) -> IndexServer {
    let server = IndexServer::start();
    let mut wheel = Wheel::new("evil", "1.0").module("evil.py", "def main():\n    return 0\n");
    for name in names {
        wheel = wheel.entry_point("console_scripts", name, "evil:main");
    }
    server.publish(wheel.build());
    server
}

/// Every path under `dir` (recursively, not following links).
fn tree(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    let Ok(entries) = fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let p = e.path();
        out.push(p.display().to_string());
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            out.extend(tree(&p));
        }
    }
    out.sort();
    out
}

fn assert_nothing_installed(ctx: &TestContext) {
    assert!(!exists(ctx.path("bin")), "bin/ was made");
    assert!(
        !exists(ctx.path(".buildout/current")),
        "a generation was made"
    );
}

#[test]
fn console_script_names_from_a_wheel_must_be_plain_file_names() {
    for bad in ["../../escaped", "/ABS/escaped", "..", "sub/dir"] {
        let ctx = TestContext::new();
        let bad = bad.replace("/ABS", &ctx.root.display().to_string());
        let server = evil_index(&[&bad]);
        ctx.write("buildout.cfg", &egg_config(&server, "eggs = evil"));
        let (out, err) = ctx.fails(&[]);
        let all = format!("{out}{err}");
        assert!(
            all.contains("evil 1.0")
                && all.contains(&format!("`{bad}`"))
                && all.contains("not a plain file name"),
            "{bad}: {all}"
        );
        assert_nothing_installed(&ctx);
        assert!(!exists(ctx.root.join("escaped")), "{bad}: written outside");
        // Nothing named `escaped` anywhere, the store's staging included.
        assert!(
            !tree(&ctx.root).iter().any(|p| p.ends_with("/escaped")),
            "{bad}: {:?}",
            tree(&ctx.root)
        );
    }
}

#[test]
fn interpreter_scripts_and_entry_points_options_must_be_plain_file_names() {
    let server = evil_index(&["evil"]);
    for (options, option) in [
        ("interpreter = ../../escaped", "interpreter"),
        ("interpreter = /ABS/escaped", "interpreter"),
        ("scripts = evil=../../escaped", "scripts"),
        ("scripts = evil=/ABS/escaped", "scripts"),
        (
            "scripts = ../x\nentry-points = ../x=evil:main",
            "entry-points",
        ),
    ] {
        let ctx = TestContext::new();
        let options = options.replace("/ABS", &ctx.root.display().to_string());
        ctx.write(
            "buildout.cfg",
            &egg_config(&server, &format!("eggs = evil\n{options}")),
        );
        let (out, err) = ctx.fails(&[]);
        let all = format!("{out}{err}");
        assert!(
            all.contains(&format!("option `{option}` of part `app`"))
                && all.contains("not a plain file name"),
            "{options}: {all}"
        );
        assert_nothing_installed(&ctx);
        assert!(
            !tree(&ctx.root).iter().any(|p| p.ends_with("/escaped")),
            "{options}: {:?}",
            tree(&ctx.root)
        );
    }
}

fn template(output: &str) -> String {
    format!(
        "[buildout]\nparts = t\n\n[t]\nrecipe = collective.recipe.template\ninline = hello\noutput = {output}\n"
    )
}

#[test]
fn template_outputs_must_stay_inside_the_buildout_directory() {
    for output in [
        "/ABS/escaped",
        "../escaped",
        "${buildout:directory}/../escaped",
    ] {
        let ctx = TestContext::new();
        let output = output.replace("/ABS", &ctx.root.display().to_string());
        ctx.write("buildout.cfg", &template(&output));
        let (out, err) = ctx.fails(&[]);
        let all = format!("{out}{err}");
        assert!(
            all.contains("option `output` of part `t`")
                && all.contains("outside the buildout directory"),
            "{output}: {all}"
        );
        assert!(!exists(ctx.root.join("escaped")));
        assert_nothing_installed(&ctx);
    }
}

#[test]
fn template_outputs_must_not_escape_through_a_symlink() {
    for overwrite in ["true", "false"] {
        let ctx = TestContext::new();
        let outside = ctx.root.join("outside");
        fs::create_dir(&outside).unwrap();
        std::os::unix::fs::symlink(&outside, ctx.path("etc")).unwrap();
        ctx.write(
            "buildout.cfg",
            &format!("{}overwrite = {overwrite}\n", template("etc/motd")),
        );
        let (out, err) = ctx.fails(&[]);
        let all = format!("{out}{err}");
        assert!(
            all.contains("option `output` of part `t`")
                && all.contains("outside the buildout directory")
                && all.contains("symbolic link"),
            "{all}"
        );
        assert!(fs::read_dir(&outside).unwrap().next().is_none());
        // A link that stays inside is fine.
        fs::remove_file(ctx.path("etc")).unwrap();
        fs::create_dir(ctx.path("real")).unwrap();
        std::os::unix::fs::symlink("real", ctx.path("etc")).unwrap();
        ctx.ok(&[]);
        assert_eq!(fs::read_to_string(ctx.path("real/motd")).unwrap(), "hello");
    }
}

#[test]
fn annotate_never_shows_userinfo_at_any_verbosity() {
    let ctx = TestContext::new();
    ctx.write(
        "buildout.cfg",
        "[buildout]\nparts =\nindex = http://user:p@ss:w@rd@index.example/simple/\n\
         find-links =\n    https://alice:s3cret@a.example/links/\n    https://b.example/x@y\n",
    );
    for args in [&["annotate"][..], &["-v", "annotate"], &["-vv", "annotate"]] {
        let out = ctx.ok(args);
        for secret in ["p@ss", "w@rd", "rd@", "s3cret", "alice", "user"] {
            assert!(!out.contains(secret), "{args:?} shows {secret}: {out}");
        }
        assert!(out.contains("http://index.example/simple/"), "{out}");
        assert!(out.contains("https://a.example/links/"), "{out}");
        assert!(out.contains("https://b.example/x@y"), "{out}");
    }
    // `query` prints the raw value the user asked for.
    assert_eq!(
        ctx.ok(&["query", "index"]).trim(),
        "http://user:p@ss:w@rd@index.example/simple/"
    );
}

#[test]
fn manifest_never_holds_a_password_containing_an_at_sign() {
    let ctx = TestContext::new();
    ctx.write(
        "buildout.cfg",
        "[buildout]\nparts = t\n\n[t]\nrecipe = collective.recipe.template\ninline = x\n\
         output = out.txt\nsource = https://user:p@ss@host.example/x\n",
    );
    ctx.ok(&[]);
    let manifest = fs::read_to_string(ctx.path(".buildout/current/manifest.json")).unwrap();
    assert!(
        !manifest.contains("p@ss") && !manifest.contains("ss@host"),
        "{manifest}"
    );
    assert!(manifest.contains("https://host.example/x"), "{manifest}");
}

/// An index with `web 1.0` for `update-versions-file` runs.
fn web_index() -> IndexServer {
    let server = IndexServer::start();
    server.publish(Wheel::new("web", "1.0").module("web.py", "").build());
    server
}

fn versions_config(server: &IndexServer) -> String {
    format!(
        "[buildout]\nparts = app\nindex = {}\nupdate-versions-file = versions.cfg\n\n\
         [app]\nrecipe = zc.recipe.egg:eggs\neggs = web\n",
        server.index_url()
    )
}

#[test]
fn update_versions_file_never_overwrites_a_file_it_cannot_read() {
    let server = web_index();
    let ctx = TestContext::new();
    ctx.write("buildout.cfg", &versions_config(&server));
    let mut bytes = b"[versions]\nold = 1.0\n# caf\xe9\n".to_vec();
    bytes.extend_from_slice(b"other = 2.0\n");
    fs::write(ctx.path("versions.cfg"), &bytes).unwrap();
    let (out, err) = ctx.fails(&[]);
    let all = format!("{out}{err}");
    assert!(all.contains("versions.cfg"), "{all}");
    assert_eq!(fs::read(ctx.path("versions.cfg")).unwrap(), bytes);

    // A directory in its place is an error too, not "no file".
    fs::remove_file(ctx.path("versions.cfg")).unwrap();
    fs::create_dir(ctx.path("versions.cfg")).unwrap();
    let (out, err) = ctx.fails(&[]);
    assert!(format!("{out}{err}").contains("versions.cfg"), "{out}{err}");
}

#[test]
fn update_versions_file_appends_in_place_by_rename_keeping_the_mode() {
    use std::os::unix::fs::PermissionsExt;
    let server = web_index();
    let ctx = TestContext::new();
    ctx.write("buildout.cfg", &versions_config(&server));
    let file = ctx.write("versions.cfg", "[versions]\nold = 1.0\n");
    fs::set_permissions(&file, fs::Permissions::from_mode(0o640)).unwrap();
    ctx.ok(&[]);
    let text = fs::read_to_string(&file).unwrap();
    assert!(text.starts_with("[versions]\nold = 1.0\n"), "{text}");
    assert!(text.contains("web = 1.0"), "{text}");
    let mode = fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640);
    // No temporary file left beside it.
    let names: Vec<String> = fs::read_dir(&ctx.work)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("versions"))
        .collect();
    assert_eq!(names, ["versions.cfg"]);
}

#[test]
fn extends_of_a_non_regular_file_is_refused() {
    let ctx = TestContext::new();
    let fifo = ctx.root.join("fifo.cfg");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    fs::create_dir(ctx.path("dir.cfg")).unwrap();
    for target in [
        "/dev/zero".to_string(),
        fifo.display().to_string(),
        "dir.cfg".to_string(),
    ] {
        ctx.write(
            "buildout.cfg",
            &format!("[buildout]\nparts =\nextends = {target}\n"),
        );
        let start = std::time::Instant::now();
        let (out, err) = ctx.fails(&["annotate"]);
        let all = format!("{out}{err}");
        assert!(
            all.contains(target.trim_end_matches(".cfg")) && all.contains("not a regular file"),
            "{target}: {all}"
        );
        assert!(start.elapsed().as_secs() < 20);
    }
}

#[test]
fn a_configuration_file_over_the_size_limit_is_refused() {
    let ctx = TestContext::new();
    let mut big = String::from("[buildout]\nparts =\n");
    let line = format!("# {}\n", "x".repeat(1000));
    while big.len() <= 16 * 1024 * 1024 {
        big.push_str(&line);
    }
    ctx.write("big.cfg", &big);
    ctx.write("buildout.cfg", "[buildout]\nparts =\nextends = big.cfg\n");
    let (out, err) = ctx.fails(&["annotate"]);
    let all = format!("{out}{err}");
    assert!(all.contains("big.cfg") && all.contains("16 MiB"), "{all}");
}

#[test]
fn doubling_substitutions_stop_at_the_value_size_limit() {
    let ctx = TestContext::new();
    let mut cfg = String::from("[buildout]\nparts =\n\n[bomb]\nv0 = xxxxxxxxxxxxxxxx\n");
    for i in 1..=40 {
        cfg.push_str(&format!("v{i} = ${{:v{0}}}${{:v{0}}}\n", i - 1));
    }
    cfg = cfg.replace("parts =\n", "parts =\nuse = ${bomb:v40}\n");
    ctx.write("buildout.cfg", &cfg);
    let start = std::time::Instant::now();
    let (out, err) = ctx.fails(&["annotate"]);
    let all = format!("{out}{err}");
    assert!(
        all.contains("16 MiB") && all.contains("bomb:v"),
        "{}",
        &all[..all.len().min(4000)]
    );
    assert!(start.elapsed().as_secs() < 30);
}

#[test]
fn a_long_substitution_chain_is_an_error_not_a_crash() {
    for cross_sections in [false, true] {
        let ctx = TestContext::new();
        let query = if cross_sections { "s0:v" } else { "chain:v0" };
        let mut cfg = format!("[buildout]\nparts =\nuse = ${{{query}}}\n");
        let n = 5000;
        if cross_sections {
            for i in 0..n {
                cfg.push_str(&format!("\n[s{i}]\nv = ${{s{}:v}}\n", i + 1));
            }
            cfg.push_str(&format!("\n[s{n}]\nv = end\n"));
        } else {
            cfg.push_str("\n[chain]\n");
            for i in 0..n {
                cfg.push_str(&format!("v{i} = ${{:v{}}}\n", i + 1));
            }
            cfg.push_str(&format!("v{n} = end\n"));
        }
        ctx.write("buildout.cfg", &cfg);
        let run = ctx.buildout(&["annotate"]);
        assert_eq!(
            run.code,
            1,
            "{cross_sections}: {}{}",
            run.stdout,
            &run.stderr[..run.stderr.len().min(3000)]
        );
        assert!(
            run.stderr.contains("nested more than") && run.stderr.contains("${buildout:use}"),
            "{}",
            &run.stderr[..run.stderr.len().min(3000)]
        );
        assert!(
            run.stderr.lines().count() < 40,
            "{}",
            run.stderr.lines().count()
        );
    }
}

#[test]
fn a_reasonable_substitution_chain_still_works_and_cycles_keep_their_message() {
    let ctx = TestContext::new();
    let mut cfg = String::from(
        "[buildout]\nparts = t\n\n[t]\nrecipe = collective.recipe.template\n\
         inline = ${chain:v0} ${s0:v}\noutput = out.txt\n\n[chain]\n",
    );
    for i in 0..50 {
        cfg.push_str(&format!("v{i} = ${{:v{}}}\n", i + 1));
    }
    cfg.push_str("v50 = end\n");
    for i in 0..20 {
        cfg.push_str(&format!("\n[s{i}]\nv = ${{s{}:v}}\n", i + 1));
    }
    cfg.push_str("\n[s20]\nv = end\n\n[cycle]\na = ${:b}\nb = ${:a}\n");
    ctx.write("buildout.cfg", &cfg);
    ctx.ok(&[]);
    assert_eq!(fs::read_to_string(ctx.path("out.txt")).unwrap(), "end end");
    ctx.write(
        "buildout.cfg",
        &cfg.replace("parts = t\n", "parts = t\nx = ${cycle:a}\n"),
    );
    let (out, err) = ctx.fails(&["annotate"]);
    assert!(
        format!("{out}{err}").contains("Circular reference in substitutions."),
        "{out}{err}"
    );
}

#[test]
fn long_macro_dependency_and_extends_chains_are_errors_not_crashes() {
    let n = 3000;
    // `<=` macros, `=>` part dependencies.
    let mut macros = String::from("[buildout]\nparts =\nuse = ${s0:v}\n");
    let mut deps = String::from("[buildout]\nparts = s0\n");
    for i in 0..n {
        macros.push_str(&format!("\n[s{i}]\n<= s{}\n", i + 1));
        deps.push_str(&format!(
            "\n[s{i}]\nrecipe = collective.recipe.template\ninline = x\noutput = o{i}\n=> s{}\n",
            i + 1
        ));
    }
    macros.push_str(&format!("\n[s{n}]\nv = end\n"));
    deps.push_str(&format!(
        "\n[s{n}]\nrecipe = collective.recipe.template\ninline = x\noutput = last\n"
    ));
    for (cfg, args) in [(macros, ["annotate"]), (deps, ["install"])] {
        let ctx = TestContext::new();
        ctx.write("buildout.cfg", &cfg);
        let run = ctx.buildout(&args);
        assert_eq!(run.code, 1, "{}", &run.stderr[..run.stderr.len().min(3000)]);
        assert!(
            run.stderr
                .contains("The configuration nests more than 512 steps deep"),
            "{}",
            &run.stderr[..run.stderr.len().min(3000)]
        );
        assert!(run.stderr.lines().count() < 40);
        assert!(!exists(ctx.path(".buildout/current")));
    }
    // A file extending a file extending ...
    let ctx = TestContext::new();
    ctx.write("buildout.cfg", "[buildout]\nparts =\nextends = e0.cfg\n");
    for i in 0..n {
        ctx.write(
            &format!("e{i}.cfg"),
            &format!("[buildout]\nextends = e{}.cfg\n", i + 1),
        );
    }
    ctx.write(&format!("e{n}.cfg"), "[buildout]\nx = 1\n");
    let run = ctx.buildout(&["annotate"]);
    assert_eq!(run.code, 1, "{}", &run.stderr[..run.stderr.len().min(3000)]);
    assert!(
        run.stderr
            .contains("extends nested more than 64 files deep")
            && run.stderr.contains("e63.cfg"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_template_input_must_be_a_regular_file() {
    let ctx = TestContext::new();
    ctx.write(
        "buildout.cfg",
        "[buildout]\nparts = t\n\n[t]\nrecipe = collective.recipe.template\ninput = /dev/zero\noutput = out\n",
    );
    let (out, err) = ctx.fails(&[]);
    let all = format!("{out}{err}");
    assert!(
        all.contains("/dev/zero") && all.contains("not a regular file"),
        "{all}"
    );
}
