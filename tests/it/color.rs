//! `--color` and `NO_COLOR`: warnings yellow, `Error:` red, the new
//! generation green; never on a pipe unless asked for, and never when
//! `NO_COLOR` is set unless `--color always` says so.

use crate::common::TestContext;

const YELLOW: &str = "\x1b[33m";
const RED: &str = "\x1b[1;31m";
const GREEN: &str = "\x1b[32m";

fn project() -> TestContext {
    let ctx = TestContext::new();
    ctx.write(
        "buildout.cfg",
        "[buildout]\nparts = tpl\n\n[tpl]\nrecipe = collective.recipe.template\n\
         output = ${buildout:directory}/out.txt\ninline = hello\ntypo-option = 1\n",
    );
    ctx
}

#[test]
fn always_colours_warnings_the_generation_and_errors() {
    let ctx = project();
    let out = ctx.buildout(&["--color", "always"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout
            .contains(&format!("{YELLOW}Section `tpl` contains unused option(s)")),
        "{:?}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains(&format!("{GREEN}Generation 1 is current")),
        "{:?}",
        out.stdout
    );
    let bad = ctx.buildout(&["--color", "always", "query", "tpl:nothing"]);
    assert_eq!(bad.code, 1);
    assert!(
        bad.stderr.starts_with(&format!("{RED}Error:")),
        "{:?}",
        bad.stderr
    );
}

#[test]
fn never_and_pipes_and_no_color_get_plain_text() {
    let ctx = project();
    // The harness sets NO_COLOR=1; `--color auto` on a pipe is plain too.
    for args in [&["--color", "never"][..], &["--color", "auto"][..], &[][..]] {
        let out = ctx.buildout(args);
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert!(!out.stdout.contains('\x1b'), "{args:?}: {:?}", out.stdout);
        let bad = ctx.buildout(&[args, &["query", "tpl:nothing"][..]].concat());
        assert!(!bad.stderr.contains('\x1b'), "{args:?}: {:?}", bad.stderr);
    }
}
