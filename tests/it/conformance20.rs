//! Issue 20 conformance: words after `annotate`/`query` belong to the
//! command, `log-format`/`log-level`, and Python `repr` in parse errors,
//! each as zc.buildout 6.0.1 behaves (see also golden cases 193-202).

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

#[test]
fn log_format_and_level_apply_to_buildout_messages() {
    let ctx = TestContext::new();
    ctx.write("buildout.cfg", CFG);
    let out = ctx.buildout(&[
        "-t",
        "5",
        "log-format=%(levelname)-7s|%(name)s| %(message)s",
        "query",
        "s:k",
    ]);
    assert_eq!(
        out.stdout, "INFO   |zc.buildout| Setting socket time out to 5 seconds.\nv\n",
        "{}",
        out.stderr
    );
    // The level hides info; -v brings it back (WARNING - 10).
    assert_eq!(
        ctx.ok(&["log-level=WARNING", "-t", "5", "query", "s:k"]),
        "v\n"
    );
    let out = ctx.ok(&["log-level=30", "-v", "-t", "5", "annotate", "x"]);
    assert!(
        out.starts_with("Setting socket time out to 5 seconds.\n"),
        "{out}"
    );
    // Our own commands' messages go through the same logging.
    let out = ctx.ok(&["log-format=%(levelno)d %(message)s", "bootstrap"]);
    assert!(out.contains("20 Creating directory "), "{out}");
    // Python refuses a format without a field; zc.buildout's level names
    // are case-sensitive.
    let (_, err) = ctx.fails(&["log-format=plain", "query", "s:k"]);
    assert!(
        err.ends_with("Error: Invalid format 'plain' for '%' style\n"),
        "{err}"
    );
    let (_, err) = ctx.fails(&["log-level=warning", "query", "s:k"]);
    assert!(
        err.ends_with("Error: Invalid logging level warning\n"),
        "{err}"
    );
}

/// A recipe that logs through Python's logging, as recipes do.
const LOGGING_RECIPE: &str = r#"
import logging

class Recipe:
    def __init__(self, buildout, name, options):
        self.name = name

    def install(self):
        log = logging.getLogger(self.name)
        log.info('made %s', self.name)
        log.warning('careful')
        log.debug('detail')
        logging.getLogger('zc.buildout.custom').info('from zc')
        return ()
"#;

#[test]
fn recipe_log_records_follow_log_format_and_level() {
    use crate::common::index::IndexServer;
    use crate::common::wheel::Wheel;
    let server = IndexServer::start();
    server.publish(
        Wheel::new("logrecipe", "1.0")
            .module("logrecipe.py", LOGGING_RECIPE)
            .entry_point("zc.buildout", "default", "logrecipe:Recipe")
            .build(),
    );
    let ctx = TestContext::new();
    ctx.write(
        "buildout.cfg",
        &crate::common::host_config(
            &server,
            "parts = p\nlog-format = %(levelname)s [%(name)s] %(message)s",
            "[p]\nrecipe = logrecipe\n",
        ),
    );
    let out = ctx.ok(&[]);
    assert!(out.contains("INFO [zc.buildout] Installing p.\n"), "{out}");
    assert!(out.contains("INFO [p] made p\n"), "{out}");
    assert!(out.contains("WARNING [p] careful\n"), "{out}");
    assert!(out.contains("INFO [zc.buildout.custom] from zc\n"), "{out}");
    assert!(!out.contains("detail"), "{out}");
    // The default format: the logger's name unless it is zc.buildout's;
    // log-level=WARNING keeps only the warning, -v lets debug through.
    ctx.write(
        "buildout.cfg",
        &crate::common::host_config(
            &server,
            "parts = p\nlog-level = WARNING",
            "[p]\nrecipe = logrecipe\nchanged = 1\n",
        ),
    );
    let out = ctx.ok(&[]);
    assert!(out.contains("p: careful\n"), "{out}");
    assert!(!out.contains("made p") && !out.contains("from zc"), "{out}");
    ctx.write(
        "buildout.cfg",
        &crate::common::host_config(
            &server,
            "parts = p\nlog-level = 20",
            "[p]\nrecipe = logrecipe\nchanged = 2\n",
        ),
    );
    let out = ctx.ok(&["-v"]);
    for line in ["p: made p\n", "from zc\n", "p: detail\n"] {
        assert!(out.contains(line), "{line:?} missing:\n{out}");
    }
}
