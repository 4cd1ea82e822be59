//! Issue 20 conformance: words after `annotate`/`query` belong to the
//! command, `log-format`/`log-level`, and Python `repr` in parse errors,
//! each as zc.buildout 6.0.1 behaves (see also golden cases 190-199).

use crate::common::TestContext;

const CFG: &str = "[buildout]\nparts =\n\n[s]\nk = v\n";

#[test]
fn annotate_takes_option_like_words_as_sections() {
    let ctx = TestContext::new();
    ctx.write("buildout.cfg", CFG);
    let out = ctx.buildout(&["annotate", "-v", "s", "--json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    // `-v` is an unknown section (nothing printed for it), not verbosity:
    // no history lines.
    assert_eq!(
        out.stdout,
        "\nAnnotated sections\n==================\n\n[s]\nk= v\n    buildout.cfg\n"
    );
    assert_eq!(out.stderr, "");
}

#[test]
fn query_counts_option_like_words_as_arguments() {
    let ctx = TestContext::new();
    ctx.write("buildout.cfg", CFG);
    for args in [&["query", "-v", "s:k"][..], &["query", "s:k", "-q"]] {
        let out = ctx.buildout(args);
        assert_eq!(out.code, 1);
        assert_eq!(out.stdout, "");
        assert_eq!(
            out.stderr,
            "Error: The query command requires a single argument.\n"
        );
    }
    let out = ctx.buildout(&["query", "--store"]);
    assert_eq!(out.stderr, "Error: Key not found: --store\n");
    assert_eq!(ctx.ok(&["query", "s:k"]), "v\n");
}
