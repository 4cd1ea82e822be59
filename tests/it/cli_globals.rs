//! Our long options (`--store`, `--json`, `--no-progress`, `--color`) before
//! and after the command.

use crate::common::TestContext;

#[test]
fn json_works_after_the_command_as_design_md_writes_it() {
    let ctx = TestContext::new();
    let before = ctx.ok(&["--json", "generations", "list"]);
    for args in [
        &["generations", "list", "--json"][..],
        &["generations", "--json", "list"],
        &["generations", "--json"],
    ] {
        let after = ctx.ok(args);
        assert_eq!(after, before, "buildout {args:?}");
    }
    let parsed: serde_json::Value = serde_json::from_str(&before).expect("JSON listing");
    assert_eq!(parsed, serde_json::json!([]));
}

#[test]
fn store_no_progress_and_color_work_after_the_command() {
    let ctx = TestContext::new();
    let other = ctx.root.join("other-store");
    let other = other.to_str().unwrap();
    ctx.ok(&[
        "--store",
        other,
        "store",
        "debug-add",
        "only-there",
        "--text",
        "x",
    ]);
    let default_store = ctx.ok(&["store", "ls", "--json"]);
    assert!(!default_store.contains("only-there"), "{default_store}");
    let store_eq = format!("--store={other}");
    for args in [
        &["store", "ls", "--json", "--store", other][..],
        &["store", "ls", &store_eq, "--json"],
        &["store", "--store", other, "ls", "--json"],
        &[
            "store",
            "ls",
            "--no-progress",
            "--color",
            "never",
            "--store",
            other,
        ],
        &["store", "ls", "--color=always", &store_eq],
    ] {
        let out = ctx.ok(args);
        assert!(out.contains("only-there"), "buildout {args:?}:\n{out}");
    }
    // After the command as before it, the store is the one named; gc of a
    // store given after the command finds the unreferenced object there.
    let out = ctx.ok(&["gc", "--dry-run", "--no-progress", "--store", other]);
    assert!(out.contains("would delete 1 store object,"), "{out}");
    ctx.write("buildout.cfg", "[buildout]\nparts =\n");
    let out = ctx.ok(&["bootstrap", "--no-progress", "--color", "never"]);
    assert!(ctx.path("develop-eggs").is_dir(), "{out}");
}

#[test]
fn a_bad_value_after_the_command_is_a_usage_error() {
    let ctx = TestContext::new();
    let out = ctx.buildout(&["gc", "--color", "sometimes"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("--color"), "{}", out.stderr);
    let out = ctx.buildout(&["generations", "list", "--store"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("--store"), "{}", out.stderr);
}

#[test]
fn arguments_after_annotate_and_query_stay_the_commands() {
    // zc.buildout hands every word after `annotate`/`query` to the command;
    // ours never reads them as our options (annotate has no JSON output).
    let ctx = TestContext::new();
    ctx.write("buildout.cfg", "[buildout]\nparts =\n");
    for args in [&["annotate", "--json"][..], &["query", "--json"]] {
        let out = ctx.buildout(args);
        assert!(
            !out.stdout.trim_start().starts_with(['[', '{']),
            "buildout {args:?} printed JSON:\n{}",
            out.stdout
        );
    }
}
