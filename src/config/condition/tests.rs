//! Tests of condition evaluation against Python's results.

use super::*;
use crate::python::interpreter::tests::fake_facts;

/// Our own evaluator alone (never Python): its value, or why it would
/// leave the expression to Python.
fn ours(expression: &str, tail: &str, facts: &mut LazyFacts) -> Result<bool, Error> {
    match evaluate_here(expression, tail, facts)? {
        Here::Done(value) => Ok(value),
        Here::Python { why, .. } => Err(why),
    }
}

fn eval_with(expr: &str, facts: Facts) -> Result<bool, Error> {
    let mut lazy = LazyFacts::with_facts(facts);
    ours(expr, "]", &mut lazy)
}

fn eval(expr: &str) -> Result<bool, Error> {
    eval_with(expr, fake_facts())
}

fn yes(expr: &str) {
    assert!(
        eval(expr).unwrap_or_else(|e| panic!("{expr}: {e}")),
        "{expr}"
    );
}

fn no(expr: &str) {
    assert!(
        !eval(expr).unwrap_or_else(|e| panic!("{expr}: {e}")),
        "{expr}"
    );
}

fn err(expr: &str) -> String {
    match eval(expr) {
        Ok(v) => panic!("{expr} should fail, got {v}"),
        Err(e) => e.0,
    }
}

/// A `LazyFacts` whose probe would fail, to prove it is not used.
fn unprobeable() -> LazyFacts {
    LazyFacts::new(Some("/nonexistent/python-for-tests".into()))
}

/// Results recorded from zc.buildout 6.0.1 (`configparser.parse` with
/// `_default_globals`) on CPython 3.11.7, x86_64 Linux, with `PATH` set
/// and `BUILDOUT_COND_UNSET` unset.
const REFERENCE: &[(&str, bool)] = &[
    ("python3", true),
    ("python2", false),
    ("python311", true),
    ("python310", false),
    ("python27 or python311", true),
    ("cpython and not pypy", true),
    ("jython or ironpython", false),
    ("linux", true),
    ("windows", false),
    ("macosx or cygwin or solaris", false),
    ("posix", true),
    ("bits64 and not bits32", true),
    ("little_endian and not big_endian", true),
    ("not windows and bits64", true),
    ("sys.version_info >= (3, 8)", true),
    ("sys.version_info[:2] == (3, 11)", true),
    ("sys.version_info < (3,)", false),
    (
        "sys.version_info.major == 3 and sys.version_info.minor > 10",
        true,
    ),
    ("sys.platform.startswith('linux')", true),
    ("sys.platform == 'linux'", true),
    ("os.name == 'nt'", false),
    ("platform.system() == 'Linux'", true),
    ("platform.machine() in ('x86_64', 'AMD64')", true),
    ("platform.python_version_tuple()[0] == '3'", true),
    ("os.environ.get('PATH')", true),
    ("os.environ.get('BUILDOUT_COND_UNSET')", false),
    ("os.environ.get('BUILDOUT_COND_UNSET', 'x') == 'x'", true),
    ("'PATH' in os.environ", true),
    ("os.getenv('BUILDOUT_COND_UNSET') is None", true),
    ("python_version >= '3.8'", true),
    ("python_version < '3' or sys_platform == 'win32'", false),
    (
        "platform_system == 'Linux' and platform_machine == 'x86_64'",
        true,
    ),
    ("False, True", false),
    ("[]", false),
    ("''", false),
    ("'0'", true),
    ("0", false),
    ("None", false),
    ("1 < 2 < 3", true),
    ("3 > 2 > 2", false),
    ("sys.maxsize > 4294967296", true),
    ("(1, 2) == [1, 2]", false),
    ("'abcdef'[::2] == 'ace'", true),
    ("len(sys.version) > 0", true),
    ("sys.version_info > (3, 11, 7)", true),
    ("sys.version_info == (3, 11, 7, 'final', 0)", true),
];

#[test]
fn reference_table_matches_zc_buildout() {
    for (expr, expected) in REFERENCE {
        let got = eval(expr).unwrap_or_else(|e| panic!("{expr}: {e}"));
        assert_eq!(got, *expected, "{expr}");
    }
}

#[test]
fn every_default_global_is_defined() {
    for name in [
        "python2",
        "python3",
        "cpython",
        "pypy",
        "jython",
        "ironpython",
        "linux",
        "windows",
        "cygwin",
        "solaris",
        "macosx",
        "posix",
        "bits32",
        "bits64",
        "little_endian",
        "big_endian",
        "sys",
        "os",
        "platform",
        "re",
        "True",
        "False",
        "None",
    ] {
        assert!(eval(name).is_ok(), "{name}");
    }
    for v in MINOR_VERSIONS {
        let name = format!("python{v}");
        assert_eq!(eval(&name).unwrap(), v == "311", "{name}");
    }
}

#[test]
fn other_platforms() {
    let mut facts = fake_facts();
    facts.platform = "win32".into();
    facts.os_name = "nt".into();
    facts.pointer_bits = 32;
    facts.byteorder = "big".into();
    facts.version = "3.10.13 (PyPy 7.3.15) [GCC]".into();
    facts.python_version_tuple = vec!["3".into(), "10".into(), "13".into()];
    for (expr, expected) in [
        ("windows", true),
        ("linux", false),
        ("posix", false),
        ("bits32", true),
        ("big_endian", true),
        ("pypy", true),
        ("cpython", false),
        ("python310", true),
        ("python311", false),
        ("python3", true),
    ] {
        assert_eq!(eval_with(expr, facts.clone()).unwrap(), expected, "{expr}");
    }
    facts.platform = "darwin".into();
    assert!(eval_with("macosx", facts).unwrap());
}

#[test]
fn python_subset_semantics() {
    yes("(3, 8) < (3, 10)");
    yes("(3, 8, 1) > (3, 8)");
    yes("[1, 2] == [1, 2]");
    no("(1, 2) == [1, 2]");
    yes("1 == 1.0 == True");
    yes("'ab' 'cd' == 'abcd'");
    yes("'a' < 'b' < 'c'");
    yes("not 'x' in 'abc'");
    yes("2 in (1, 2)");
    yes("None is None");
    yes("1 is not None");
    yes("not ''");
    yes("-1 < 0");
    yes("- -1 == 1");
    yes("(1,)");
    no("()");
    yes("'abc'[1] == 'b'");
    yes("'abc'[-1] == 'c'");
    yes("'abcdef'[::2] == 'ace'");
    yes("(1, 2, 3)[::-1] == (3, 2, 1)");
    yes("sys.version_info[0] == 3");
    yes("sys.version_info[-2] == 'final'");
    yes("sys.version_info.releaselevel == 'final'");
    yes("sys.byteorder == 'little'");
    yes("sys.executable.endswith('python3.11')");
    yes("os.sep == '/'");
    yes("platform.release().startswith('6.')");
    yes("platform.python_version() == '3.11.7'");
    yes("platform.python_implementation() == 'CPython'");
    yes("sys.implementation.name == 'cpython'");
    yes("sys.platform.upper() == 'LINUX'");
    yes("'LiNuX'.lower() == 'linux'");
    yes("sys.platform.startswith(('win', 'lin'))");
    yes("int('3') + 1 == 4");
    yes("str(3) == '3'");
    yes("bool(1)");
    yes("tuple([1, 2]) == (1, 2)");
    yes("len((1, 2)) == 2");
    yes("1 if linux else 0");
    yes("'a' + 'b' == 'ab'");
    yes("(1,) + (2,) == (1, 2)");
    yes("r'\\d' == '\\\\d'");
    yes("'\\x41' + '' == 'A'");
    yes("0x10 == 16");
    yes("1.5 > 1");
    yes("'a b'.split() == ['a', 'b']");
    yes("' x '.strip() == 'x'");
    // `and`/`or` return operands, as in Python.
    yes("(0 or 'x') == 'x'");
    yes("(1 and 0) == 0");
    // Only the first element of the list decides.
    yes("True, False");
    no("False, True");
}

#[test]
fn tail_comments_are_python_comments() {
    let mut lazy = LazyFacts::with_facts(fake_facts());
    assert!(ours("linux", "] # a comment", &mut lazy).unwrap());
    assert!(!ours("windows", "] ; another (comment", &mut lazy).unwrap());
    assert!(ours("python3 ", "]", &mut lazy).unwrap());
    // `\x23` and `\x3b` become `#` and `;` inside the expression.
    assert!(ours(r"'a\x23b' == 'a' + chr", "]", &mut lazy).is_err());
    assert!(ours(r"len('a\x23b\x3b') == 4", "]", &mut lazy).unwrap());
    // A marker with an escaped `#`.
    assert!(!ours(r"os_name == 'a\x23b'", "]", &mut lazy).unwrap());
    // Empty expression: no condition.
    assert!(ours("", "]", &mut lazy).unwrap());
    // Whitespace only: `[ ][0]`, an IndexError.
    assert_eq!(
        ours("  ", "]", &mut lazy).unwrap_err().0,
        "list index out of range"
    );
}

#[test]
fn errors_are_clear() {
    assert_eq!(err("iron"), "name 'iron' is not defined");
    assert_eq!(err("sys_version"), "name 'sys_version' is not defined");
    assert_eq!(err("python320"), "name 'python320' is not defined");
    assert_eq!(
        err("sys.version_info > '3'"),
        "'>' not supported between instances of 'sys.version_info' and 'str'"
    );
    assert_eq!(
        err("'3' < 4"),
        "'<' not supported between instances of 'str' and 'int'"
    );
    assert_eq!(
        err("lambda: 1"),
        "unsupported expression `lambda`: only the zc.buildout condition subset is available (see README)"
    );
    assert!(err("[x for x in ()]").contains("`comprehension`"));
    assert!(err("{1: 2}").contains("unsupported expression"));
    assert!(err("open('x')").contains("`open`"));
    assert!(err("sys.modules").contains("`sys.modules`"));
    assert!(err("os.path.exists('x')").contains("`os.path`"));
    assert_eq!(
        err("re.match('a', 'a')"),
        "re.match is not supported in conditions"
    );
    assert!(err("2 ** 3").contains("`operator **`"));
    assert_eq!(err("(1, 2)[5]"), "tuple index out of range");
    assert!(err("linux and").starts_with("invalid condition `linux and`: invalid syntax"));
    assert!(err("'abc").contains("unterminated string"));
    assert!(err("1 +* 2").starts_with("invalid condition"));
    assert_eq!(err("1 in 2"), "argument of type 'int' is not iterable");
    assert_eq!(err("(1)()"), "'int' object is not callable");
    assert!(err("'x'.nope()").contains("`str.nope`"));
    assert_eq!(
        err("sys.version_info.nope"),
        "'sys.version_info' object has no attribute 'nope'"
    );
    let deep = format!("{}1{}", "(".repeat(300), ")".repeat(300));
    assert!(err(&deep).contains("nested too deeply"));
    let chain = format!("sys{}", ".platform".repeat(300));
    assert!(eval(&chain).is_err());
}

#[test]
fn environ_lookups() {
    // `PATH` is set wherever tests run; tests cannot set variables
    // (that needs `unsafe` in edition 2024).
    yes("os.environ['PATH'] == os.environ.get('PATH') == os.getenv('PATH')");
    yes("len(os.environ['PATH']) > 0");
    yes("os.getenv('BUILDOUT_COND_ENV_MISSING', 'd') == 'd'");
    yes("os.getenv('BUILDOUT_COND_ENV_MISSING') is None");
    yes("'BUILDOUT_COND_ENV_MISSING' not in os.environ");
    assert_eq!(
        err("os.environ['BUILDOUT_COND_ENV_MISSING']"),
        "environment variable 'BUILDOUT_COND_ENV_MISSING' is not set (KeyError in os.environ)"
    );
}

#[test]
fn facts_are_probed_only_when_needed() {
    let mut lazy = unprobeable();
    assert!(ours("os.environ.get('PATH')", "]", &mut lazy).unwrap());
    assert!(ours("'x' in os.environ or 1 < 2", "]", &mut lazy).unwrap());
    assert!(ours("os.sep == '/'", "]", &mut lazy).unwrap());
    assert!(ours("True or linux", "]", &mut lazy).unwrap());
    assert!(!lazy.is_probed());
    // Names that need the interpreter probe it, and its error shows.
    let e = ours("linux", "]", &mut lazy).unwrap_err().0;
    assert!(
        e.starts_with("cannot run python interpreter `/nonexistent/python-for-tests`"),
        "{e}"
    );
    // Markers always need the marker environment.
    assert!(ours("os_name == 'posix'", "]", &mut lazy).is_err());
}

#[test]
fn marker_errors_are_reported() {
    let e = eval("os_name ~= 'posix'").unwrap_err().0;
    assert!(
        e.starts_with("cannot evaluate marker `os_name ~= 'posix'`"),
        "{e}"
    );
    // Two quoted strings make a valid marker whose right side is looked
    // up as a variable, so zc.buildout fails here too.
    let e = eval("'a' < 'b'").unwrap_err().0;
    assert!(e.contains("marker variable `b` is not defined"), "{e}");
}

#[test]
fn string_scanning_respects_char_boundaries() {
    // Found by proptest: an unterminated string before a 4-byte character.
    let mut lazy = LazyFacts::with_facts(fake_facts());
    assert!(ours("\"", "]\u{11d0b}", &mut lazy).is_err());
    assert!(ours("'\\\u{11d0b}' + '' == 'x'", "]", &mut lazy).is_ok());
}

proptest::proptest! {
    #[test]
    fn evaluator_never_panics(s in "\\PC{0,60}", tail in "\\] ?[#;]?\\PC{0,5}") {
        let mut lazy = LazyFacts::with_facts(fake_facts());
        let _ = ours(&s, &tail, &mut lazy);
    }

    #[test]
    fn python_like_input_never_panics(
        s in "[ ()\\[\\]'\"a-z_.,:=<>!+*0-9-]{0,50}"
    ) {
        let mut lazy = LazyFacts::with_facts(fake_facts());
        let _ = ours(&s, "]", &mut lazy);
    }
}

/// Conditions our evaluator leaves to Python, evaluated by `python3` on
/// PATH as zc.buildout evaluates them.
#[test]
fn python_evaluates_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("here.cfg"), "").unwrap();
    let mut lazy = LazyFacts::default().with_working_dir(dir.path().to_path_buf());
    let mut python = |expr: &str| evaluate(expr, "]", &mut lazy).map_err(|e| e.0);
    assert_eq!(python("os.path.exists('here.cfg')"), Ok(true));
    assert_eq!(python("os.path.exists('absent.cfg')"), Ok(false));
    assert_eq!(python(r"re.match(r'^x', 'xyz')"), Ok(true));
    assert_eq!(python("[x for x in 'ab' if x == 'c']"), Ok(false));
    assert_eq!(python("{'a': 1}.get('a')"), Ok(true));
    assert_eq!(
        python("nosuchname"),
        Err("NameError: name 'nosuchname' is not defined".into())
    );
    assert_eq!(
        python("os.environ['BUILDOUT_TEST_SURELY_UNSET']"),
        Err("KeyError: 'BUILDOUT_TEST_SURELY_UNSET'".into())
    );
    assert_eq!(python("1 +"), Err("SyntaxError: invalid syntax".into()));
    assert_eq!(
        python("  "),
        Err("IndexError: list index out of range".into())
    );
}

/// Each file gets fresh globals: a name bound by one condition is visible
/// to the next in the same file only.
#[test]
fn python_globals_are_per_scope() {
    let mut lazy = LazyFacts::default();
    assert_eq!(
        evaluate("(seen := 1)", "]", &mut lazy).map_err(|e| e.0),
        Ok(true)
    );
    assert_eq!(evaluate("seen", "]", &mut lazy).map_err(|e| e.0), Ok(true));
    lazy.new_condition_scope();
    assert_eq!(
        evaluate("seen", "]", &mut lazy).map_err(|e| e.0),
        Err("NameError: name 'seen' is not defined".into())
    );
}

/// A condition that ends the evaluator is an error, not a hang.
#[test]
fn python_exiting_is_an_error() {
    let mut lazy = LazyFacts::default();
    let e = evaluate("os._exit(3)", "]", &mut lazy).unwrap_err().0;
    assert!(e.contains("the process exited while evaluating"), "{e}");
    let e = evaluate("os.path.sep", "]", &mut lazy).unwrap_err().0;
    assert!(e.contains("the process is gone"), "{e}");
}
