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
fn a_recipe_whose_distribution_is_missing_is_a_clear_error() {
    let ctx = TestContext::new();
    let server = crate::common::index::IndexServer::start();
    ctx.write(
        "buildout.cfg",
        &format!(
            "[buildout]\nparts = app\nindex = {}\nfind-links = {}\n[app]\nrecipe = no.such.recipe\n",
            server.index_url(),
            crate::common::fixture_dists().display()
        ),
    );
    let out = ctx.buildout(&[]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.starts_with(
            "While:\n  Installing.\n  Getting section app.\n  Initializing section app.\n  \
             Loading recipe 'no.such.recipe'.\n  Installing recipe no.such.recipe.\n\
             Error: Couldn't find a distribution for 'no.such.recipe'."
        ),
        "{}",
        out.stderr
    );
    assert!(
        !ctx.path(".buildout/current").exists(),
        "no generation was made"
    );
}

#[test]
fn bad_subcommand_arguments_are_usage_errors() {
    let out = TestContext::new().buildout(&["gc", "--frobnicate"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("--frobnicate"), "{}", out.stderr);
}
