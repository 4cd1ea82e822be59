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

#[test]
fn parse_errors_quote_lines_with_python_repr() {
    let ctx = TestContext::new();
    ctx.write("buildout.cfg", "\u{feff}[buildout]\nparts =\n");
    let (_, stderr) = ctx.fails(&["annotate"]);
    assert!(
        stderr.ends_with(", line: 1\n'\\ufeff[buildout]\\n'\n"),
        "{stderr}"
    );
    // Control characters and unprintable Unicode are escaped; form feed and
    // U+2028 do not end a line (Python's file readline splits on \n only).
    ctx.write(
        "buildout.cfg",
        "[buildout]\nparts =\nbad\x07\x0c\u{2028}\u{85}\u{a0}\u{e9}\x1b[0m\n",
    );
    let (_, stderr) = ctx.fails(&["annotate"]);
    assert!(
        stderr.ends_with("\n\t[line  3]: 'bad\\x07\\x0c\\u2028\\x85\\xa0\u{e9}\\x1b[0m\\n'\n"),
        "{stderr}"
    );
}
