//! Our long options (`--store`, `--json`, `--no-progress`, `--color`) before
//! and after the command, and man pages that name every option's value.

use crate::common::TestContext;
use buildout::Cli;
use clap::CommandFactory;
use std::path::Path;

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

/// The SYNOPSIS line of a man page, roff escapes removed.
fn synopsis(page: &str) -> String {
    let mut lines = page.lines().skip_while(|l| *l != ".SH SYNOPSIS").skip(1);
    let line = lines.next().unwrap_or_default();
    line.replace("\\fB", "")
        .replace("\\fI", "")
        .replace("\\fR", "")
        .replace("\\-", "-")
}

#[test]
fn man_synopses_name_the_value_of_every_option() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("man");
    let mut cmd = Cli::command();
    cmd.build();
    let mut pages = vec![("buildout.1".to_string(), cmd.clone())];
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("buildout-{}", sub.get_name());
        pages.push((format!("{name}.1"), sub.clone()));
        for nested in sub.get_subcommands().filter(|s| !s.is_hide_set()) {
            pages.push((format!("{name}-{}.1", nested.get_name()), nested.clone()));
        }
    }
    let mut checked = 0;
    for (file, cmd) in pages {
        let page = std::fs::read_to_string(dir.join(&file)).unwrap();
        let synopsis = synopsis(&page);
        for arg in cmd.get_arguments() {
            let takes_values = arg.get_num_args().is_some_and(|n| n.takes_values());
            if arg.is_positional() || arg.is_hide_set() || !takes_values {
                continue;
            }
            let Some(values) = arg.get_value_names() else {
                continue;
            };
            let flag = match (arg.get_short(), arg.get_long()) {
                (Some(s), _) => format!("-{s}"),
                (None, Some(l)) => format!("--{l}"),
                (None, None) => continue,
            };
            let want = format!("[{flag} {}]", values.join(" "));
            assert!(
                synopsis.contains(&want),
                "{file}: synopsis lacks {want}:\n{synopsis}"
            );
            checked += 1;
        }
    }
    assert!(checked >= 5, "only {checked} options with values checked");
}
