//! Conditional sections that only Python can evaluate: one interpreter
//! process per configuration load, none when every condition is a marker,
//! one of zc.buildout's names or part of our own evaluator's subset.
//!
//! Debug builds append a line to `BUILDOUT_DEBUG_CONDITION_LOG` for each
//! evaluator process they start, which is what these tests count (the
//! interpreter probe is cached and runs another program, so watching
//! `python3` on PATH would prove nothing).

use crate::common::{Run, TestContext, run};

/// Runs `buildout args` and returns its result with the number of condition
/// evaluators it started.
fn with_starts(ctx: &TestContext, args: &[&str]) -> (Run, usize) {
    let log = ctx.root.join("evaluators.log");
    let _ = std::fs::remove_file(&log);
    let result = run(ctx
        .command()
        .env("BUILDOUT_DEBUG_CONDITION_LOG", &log)
        .args(args));
    let starts = std::fs::read_to_string(&log).map_or(0, |text| text.lines().count());
    (result, starts)
}

#[test]
fn no_python_starts_for_markers_names_and_our_subset() {
    let ctx = TestContext::new();
    ctx.write(
        "base.cfg",
        "[x:python_version >= \"3\"]\nmarker = yes\n\n[x:linux or macosx or windows]\nname = yes\n",
    );
    ctx.write(
        "buildout.cfg",
        "[buildout]\nextends = base.cfg\nparts =\n\n\
         [x:sys.version_info >= (3, 0) and os.environ.get('HOME') is not None]\nsubset = yes\n\n\
         [x:platform.machine() == 'no-such-machine']\nfalse = no\n",
    );
    for args in [
        &["annotate", "x"][..],
        &["query", "x:subset"],
        &["-N"],
        &["-N"],
    ] {
        let (result, starts) = with_starts(&ctx, args);
        assert_eq!(result.code, 0, "{args:?}: {}", result.stderr);
        assert_eq!(starts, 0, "{args:?} started a condition evaluator");
    }
    let (annotated, _) = with_starts(&ctx, &["annotate", "x"]);
    for line in ["marker= yes", "name= yes", "subset= yes"] {
        assert!(annotated.stdout.contains(line), "{}", annotated.stdout);
    }
    assert!(!annotated.stdout.contains("false="), "{}", annotated.stdout);
}

#[test]
fn one_python_evaluates_every_other_condition_of_a_load() {
    let ctx = TestContext::new();
    ctx.write(
        "base.cfg",
        "[x:os.path.exists('base.cfg')]\nexists = yes\n\n[x:(seen := 1)]\nwalrus = yes\n\n[x:seen]\nsame_file = yes\n",
    );
    ctx.write(
        "buildout.cfg",
        "[buildout]\nextends = base.cfg\nparts =\n\n\
         [x:re.match(r'^[a-z]', sys.platform) is not None]\nregex = yes\n\n\
         [x:'seen' in globals()]\nother_file = no\n\n\
         [x:os.path.exists('nope.cfg')]\nmissing = no\n\n\
         [x:[c for c in platform.system() if c.isupper()]]\ncomprehension = yes\n",
    );
    let (result, starts) = with_starts(&ctx, &["annotate", "x"]);
    assert_eq!(result.code, 0, "{}", result.stderr);
    assert_eq!(starts, 1, "one evaluator for the whole load");
    let lines: Vec<&str> = result.stdout.lines().filter(|l| l.contains("= ")).collect();
    assert_eq!(
        lines,
        [
            "comprehension= yes",
            "exists= yes",
            "regex= yes",
            "same_file= yes",
            "walrus= yes"
        ]
    );
}

#[test]
fn python_exceptions_name_the_file_line_and_exception() {
    let ctx = TestContext::new();
    ctx.write("base.cfg", "[x]\na = 1\n\n[y:1 / 0]\nb = 1\n");
    ctx.write("buildout.cfg", "[buildout]\nextends = base.cfg\nparts =\n");
    let (result, starts) = with_starts(&ctx, &["annotate"]);
    assert_eq!(result.code, 1);
    assert_eq!(starts, 1);
    assert_eq!(
        result.stderr,
        format!(
            "While:\n  Initializing.\nError: {}, line 4: cannot evaluate the condition of section [y]: ZeroDivisionError: division by zero\n",
            ctx.path("base.cfg").display()
        )
    );
}

#[test]
fn what_a_condition_prints_does_not_disturb_the_evaluator() {
    let ctx = TestContext::new();
    ctx.write(
        "buildout.cfg",
        "[buildout]\nparts =\n\n[x:print('{\"value\": false}') or True]\nprinted = yes\n\n\
         [x:sys.stdout.write('noise\\n') and False]\nwritten = no\n",
    );
    let (result, starts) = with_starts(&ctx, &["annotate", "x"]);
    assert_eq!(result.code, 0, "{}", result.stderr);
    assert_eq!(starts, 1);
    assert!(result.stdout.contains("printed= yes"), "{}", result.stdout);
    assert!(!result.stdout.contains("written="), "{}", result.stdout);
}
