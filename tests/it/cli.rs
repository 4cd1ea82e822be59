//! The command line as a user meets it: help, version, usage errors.

use crate::common::TestContext;

#[test]
fn help_lists_commands_and_zc_buildout_options() {
    let ctx = TestContext::new();
    let out = ctx.buildout(&["--help"]);
    assert_eq!(out.code, 0);
    for needle in [
        "annotate",
        "query",
        "rollback",
        "gc",
        "-c <FILE>",
        "-N",
        "--store <DIR>",
    ] {
        assert!(
            out.stdout.contains(needle),
            "help lacks {needle}:\n{}",
            out.stdout
        );
    }
    assert_eq!(ctx.buildout(&["-h"]).stdout, out.stdout);
}

#[test]
fn version_is_printed_like_zc_buildout() {
    let out = TestContext::new().buildout(&["--version"]);
    assert_eq!(out.code, 0);
    assert_eq!(
        out.stdout,
        format!("buildout version {}\n", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn install_says_it_is_not_available_instead_of_pretending() {
    let ctx = TestContext::new();
    ctx.write("buildout.cfg", "[buildout]\nparts =\n");
    let out = ctx.buildout(&[]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("not available yet"), "{}", out.stderr);
}

#[test]
fn bad_subcommand_arguments_are_usage_errors() {
    let out = TestContext::new().buildout(&["gc", "--frobnicate"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("--frobnicate"), "{}", out.stderr);
}
