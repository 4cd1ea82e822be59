//! `zc.recipe.egg` scripts against the local test index: console scripts
//! and interpreters in zc.buildout's shapes, importing from the part's
//! merged `site/` directory, each actually run with `python3`.

use crate::common::TestContext;
use crate::common::index::IndexServer;
use crate::common::wheel::Wheel;
use std::fs;
use std::process::Command;

/// A buildout with one `zc.recipe.egg` part `app` and `options`.
fn config(server: &IndexServer, options: &str) -> String {
    format!(
        "[buildout]\nparts = app\nindex = {}\n\n[app]\nrecipe = zc.recipe.egg\n{options}\n",
        server.index_url()
    )
}

fn tool_index() -> IndexServer {
    let server = IndexServer::start();
    server
        .publish(
            Wheel::new("tool", "1.0")
                .dep("helper")
                .module(
                    "tool/__init__.py",
                    "import sys, helper\n\ndef main(*args):\n    print('tool', helper.VALUE, list(args), sys.argv[1:])\n\ndef fail():\n    return 3\n",
                )
                .entry_point("console_scripts", "tool", "tool:main")
                .entry_point("console_scripts", "tool-fail", "tool:fail")
                .build(),
        )
        .publish(
            Wheel::new("helper", "2.0")
                .module("helper.py", "VALUE = 'helper-2.0'\n\ndef cli():\n    print('helper cli')\n")
                .entry_point("console_scripts", "helper", "helper:cli")
                .build(),
        );
    server
}

/// Runs `bin/<name> args` and returns (status, stdout, stderr).
fn run(ctx: &TestContext, name: &str, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(ctx.path(&format!("bin/{name}")))
        .args(args)
        .current_dir(&ctx.work)
        .env_remove("PYTHONPATH")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn stdout(ctx: &TestContext, name: &str, args: &[&str]) -> String {
    let (code, out, err) = run(ctx, name, args);
    assert_eq!(code, 0, "bin/{name} {args:?}: {out}{err}");
    out
}

#[test]
fn console_scripts_of_listed_eggs_run_from_the_store() {
    let server = tool_index();
    let ctx = TestContext::new();
    ctx.write("buildout.cfg", &config(&server, "eggs = tool"));
    let out = ctx.ok(&[]);
    let dir = ctx.work.display();
    assert!(
        out.contains(&format!(
            "Installing app.\nGenerated script '{dir}/bin/tool'.\nGenerated script '{dir}/bin/tool-fail'.\n"
        )),
        "{out}"
    );
    // Only the listed egg's scripts, not its dependency's.
    assert!(!ctx.path("bin/helper").exists());
    assert_eq!(
        stdout(&ctx, "tool", &["x", "y"]),
        "tool helper-2.0 [] ['x', 'y']\n"
    );
    assert_eq!(run(&ctx, "tool-fail", &[]).0, 3);
    let text = fs::read_to_string(ctx.path("bin/tool")).unwrap();
    let part = fs::read_link(ctx.path("parts/app")).unwrap();
    assert!(
        text.contains(&format!(
            "import sys\nsys.path[0:0] = [\n  '{}/site',\n  ]\n\nimport tool\n\nif __name__ == '__main__':\n    sys.exit(tool.main())\n",
            part.display()
        )),
        "{text}"
    );
    // Nothing changed: no new generation, no "Generated" lines.
    let again = ctx.ok(&[]);
    assert!(!again.contains("Generated"), "{again}");
}

#[test]
fn interpreter_supports_c_m_script_i_and_a_prompt_with_metadata() {
    let server = tool_index();
    let ctx = TestContext::new();
    ctx.write(
        "buildout.cfg",
        &config(&server, "eggs = tool\ninterpreter = py\nscripts = tool"),
    );
    let out = ctx.ok(&[]);
    assert!(
        out.contains(&format!(
            "Generated script '{0}/bin/tool'.\nGenerated interpreter '{0}/bin/py'.\n",
            ctx.work.display()
        )),
        "{out}"
    );
    assert!(!ctx.path("bin/tool-fail").exists(), "scripts selects");
    // -c, with importlib.metadata seeing every member and its entry points.
    assert_eq!(
        stdout(
            &ctx,
            "py",
            &[
                "-c",
                "import importlib.metadata as m, helper; print(m.version('tool'), m.version('helper'), \
                 sorted(e.name for e in m.entry_points(group='console_scripts') if e.dist.name in ('tool', 'helper')), \
                 helper.__file__.startswith(__import__('sys').path[0]))",
            ]
        ),
        "1.0 2.0 ['helper', 'tool', 'tool-fail'] True\n"
    );
    // -m with arguments.
    ctx.write("in.json", "{\"a\": [1, 2]}");
    assert_eq!(
        stdout(&ctx, "py", &["-m", "json.tool", "in.json"]),
        "{\n    \"a\": [\n        1,\n        2\n    ]\n}\n"
    );
    // A script path, with its arguments in sys.argv and __file__ set.
    ctx.write(
        "hello.py",
        "import sys, helper\nprint(helper.VALUE, sys.argv, __file__)\n",
    );
    assert_eq!(
        stdout(&ctx, "py", &["hello.py", "a"]),
        "helper-2.0 ['hello.py', 'a'] hello.py\n"
    );
    // No arguments: an interactive prompt (here fed from stdin); -i runs
    // the code first, then the prompt; -I is accepted and ignored.
    for args in [&[][..], &["-I", "-i", "-c", "x = 41"][..]] {
        let mut child = Command::new(ctx.path("bin/py"))
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(b"import helper\nprint(helper.VALUE, globals().get('x'))\n")
            .unwrap();
        let out = child.wait_with_output().unwrap();
        let want = if args.is_empty() { "None" } else { "41" };
        // The prompts (`>>> `) go to stdout too.
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).replace(">>> ", ""),
            format!("helper-2.0 {want}\n"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // Other python options are rejected, as zc.buildout's getopt does.
    assert_ne!(run(&ctx, "py", &["-X", "dev"]).0, 0);
}

#[test]
fn scripts_option_renames_warns_and_empty_means_none() {
    let server = tool_index();
    let ctx = TestContext::new();
    ctx.write(
        "buildout.cfg",
        &config(
            &server,
            "eggs = tool\nscripts = tool=mytool missing other=renamed",
        ),
    );
    let out = ctx.ok(&[]);
    assert!(
        out.contains(
            "Could not generate script 'missing' as it is not defined in the egg entry points.\n\
             Could not generate script 'other' as script 'renamed' is not defined in the egg entry points.\n"
        ),
        "{out}"
    );
    assert!(ctx.path("bin/mytool").exists());
    assert!(!ctx.path("bin/tool").exists());
    assert_eq!(stdout(&ctx, "mytool", &[]), "tool helper-2.0 [] []\n");

    // Present but empty: no scripts, not even the interpreter.
    ctx.write(
        "buildout.cfg",
        &config(&server, "eggs = tool\nscripts =\ninterpreter = py"),
    );
    let out = ctx.ok(&[]);
    assert!(!out.contains("Generated"), "{out}");
    assert!(!ctx.path("bin/mytool").exists());
    assert!(!ctx.path("bin/py").exists());
}

#[test]
fn entry_points_arguments_and_initialization_in_both_modes() {
    let server = tool_index();
    let ctx = TestContext::new();
    ctx.write(
        "buildout.cfg",
        &config(
            &server,
            "eggs = tool\nscripts = custom\nentry-points = custom=tool:main\narguments = 'a', 1\n\
             initialization = import os\n    os.environ['SEEN'] = 'line'\n",
        ),
    );
    ctx.ok(&[]);
    assert_eq!(
        stdout(&ctx, "custom", &["z"]),
        "tool helper-2.0 ['a', 1] ['z']\n"
    );
    let text = fs::read_to_string(ctx.path("bin/custom")).unwrap();
    assert!(
        text.contains("  ]\n\nimport os\nos.environ['SEEN'] = 'line'\n\nimport tool\n\nif __name__ == '__main__':\n    sys.exit(tool.main('a', 1))\n"),
        "line mode strips every line: {text}"
    );

    // Block mode keeps relative indentation.
    ctx.write(
        "buildout.cfg",
        &config(
            &server,
            "eggs = tool\nscripts = custom\nentry-points = custom=tool:main\n\
             initialization =\n    import sys\n    if True:\n        sys.argv.append('init')\n",
        ),
    );
    ctx.ok(&[]);
    assert_eq!(stdout(&ctx, "custom", &[]), "tool helper-2.0 [] ['init']\n");

    // A bad entry point: zc.buildout's log line and error.
    ctx.write(
        "buildout.cfg",
        &config(&server, "eggs = tool\nentry-points = bad-no-colon"),
    );
    let (out, err) = ctx.fails(&[]);
    assert!(
        out.contains("app: Cannot parse the entry point bad-no-colon.\n"),
        "{out}"
    );
    assert!(err.contains("Error: Invalid entry point"), "{err}");
}

#[test]
fn dependent_scripts_and_extra_paths() {
    let server = tool_index();
    let ctx = TestContext::new();
    ctx.write("src/local_mod.py", "WHERE = 'src'\n");
    ctx.write(
        "buildout.cfg",
        &config(
            &server,
            "eggs = tool\ndependent-scripts = true\ninterpreter = py\nextra-paths = src\n    /nonexistent/abs",
        ),
    );
    ctx.ok(&[]);
    assert_eq!(stdout(&ctx, "helper", &[]), "helper cli\n");
    assert_eq!(
        stdout(
            &ctx,
            "py",
            &["-c", "import local_mod; print(local_mod.WHERE)"]
        ),
        "src\n"
    );
    let text = fs::read_to_string(ctx.path("bin/py")).unwrap();
    assert!(
        text.contains(&format!(
            "/site',\n  '{}/src',\n  '/nonexistent/abs',\n  ]\n",
            ctx.work.display()
        )),
        "{text}"
    );
    let (_, bad) = {
        ctx.write(
            "buildout.cfg",
            &config(&server, "eggs = tool\ndependent-scripts = maybe"),
        );
        ctx.fails(&[])
    };
    assert!(
        bad.contains("Invalid value for dependent-scripts option: maybe"),
        "{bad}"
    );
}

#[test]
fn relative_paths_keep_the_buildout_directory_movable() {
    let server = tool_index();
    let ctx = TestContext::new();
    ctx.write("src/local_mod.py", "WHERE = 'src'\n");
    ctx.write(
        "buildout.cfg",
        &config(
            &server,
            "eggs = tool\ninterpreter = py\nextra-paths = src\nrelative-paths = true",
        ),
    );
    ctx.ok(&[]);
    let text = fs::read_to_string(ctx.path("bin/py")).unwrap();
    assert!(
        text.contains(
            "\nimport os\n\njoin = os.path.join\nbase = os.path.dirname(os.path.abspath(__file__))\nbase = os.path.dirname(base)\n\nimport sys\n"
        ),
        "{text}"
    );
    assert!(text.contains("  join(base, 'src'),\n  ]\n"), "{text}");
    // Store paths stay absolute.
    assert!(
        text.contains(&format!("  '{}/", ctx.store.display())),
        "{text}"
    );
    // The buildout directory moves; the script follows.
    let moved = ctx.root.join("moved");
    fs::rename(&ctx.work, &moved).unwrap();
    let out = Command::new(moved.join("bin/py"))
        .args(["-c", "import local_mod, tool; print(local_mod.__file__)"])
        .output()
        .unwrap();
    fs::rename(&moved, &ctx.work).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("{}/src/local_mod.py\n", moved.display()),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn namespace_packages_merge_pth_paths_count_and_file_is_in_the_store() {
    let server = IndexServer::start();
    server
        .publish(
            Wheel::new("ns-a", "1.0")
                .module("ns/a/__init__.py", "NAME = 'a'\n")
                .module("ns/deep/x/__init__.py", "NAME = 'deep-x'\n")
                .build(),
        )
        .publish(
            Wheel::new("ns-b", "1.0")
                .dep("ns-a")
                .module("ns/b/__init__.py", "NAME = 'b'\n")
                .module("ns/deep/y.py", "NAME = 'deep-y'\n")
                .module(
                    "withpth.pth",
                    "# a comment\nimport os; os.environ['PTH_IMPORT'] = 'ran'\nextra_dir\n",
                )
                .module("extra_dir/hidden_mod.py", "NAME = 'hidden'\n")
                .build(),
        );
    let ctx = TestContext::new();
    ctx.write(
        "buildout.cfg",
        &config(&server, "eggs = ns-b\ninterpreter = py"),
    );
    ctx.ok(&[]);
    assert_eq!(
        stdout(
            &ctx,
            "py",
            &[
                "-c",
                "import os, ns.a, ns.b, ns.deep.x, ns.deep.y, hidden_mod\n\
                 print(ns.a.NAME, ns.b.NAME, ns.deep.x.NAME, ns.deep.y.NAME, hidden_mod.NAME, os.environ.get('PTH_IMPORT'))",
            ]
        ),
        "a b deep-x deep-y hidden None\n",
        "namespace portions merge at every level; .pth path lines are honoured and import lines skipped, as zc.buildout does"
    );
    // The path list has site/ and the .pth path, not one entry per member.
    let text = fs::read_to_string(ctx.path("bin/py")).unwrap();
    let block = text
        .split("sys.path[0:0] = [\n")
        .nth(1)
        .unwrap()
        .split("  ]\n")
        .next()
        .unwrap();
    assert_eq!(block.lines().count(), 2, "{block}");
    assert!(
        block.lines().nth(1).unwrap().ends_with("/extra_dir',"),
        "{block}"
    );
    // __file__ is under site/ in the part's object, and resolves into the
    // member's own object; bytecode comes from the store (nothing written).
    let out = stdout(
        &ctx,
        "py",
        &[
            "-c",
            "import os, sys, ns.a\nprint(ns.a.__file__.startswith(sys.path[0]), os.path.realpath(ns.a.__file__))\nprint(ns.a.__cached__)",
        ],
    );
    let store = ctx.store.display().to_string();
    let mut lines = out.lines();
    let first = lines.next().unwrap();
    assert!(first.starts_with(&format!("True {store}/")), "{out}");
    assert!(
        first.contains("-ns-a-1.0") || first.contains("ns_a"),
        "{out}"
    );
    assert!(first.ends_with("/ns/a/__init__.py"), "{out}");
}

fn two_versions_index() -> IndexServer {
    let server = IndexServer::start();
    for v in ["1.0", "2.0"] {
        server.publish(
            Wheel::new("lib", v)
                .module(
                    "lib/__init__.py",
                    &format!("import sys\nVERSION = {v:?}\n\ndef main():\n    print('lib', VERSION, '%d.%d' % sys.version_info[:2])\n"),
                )
                .entry_point("console_scripts", &format!("lib{}", &v[..1]), "lib:main")
                .build(),
        );
    }
    server
}

#[test]
fn two_parts_with_conflicting_versions_each_import_their_own() {
    let server = two_versions_index();
    let ctx = TestContext::new();
    ctx.write(
        "buildout.cfg",
        &format!(
            "[buildout]\nparts = old new\nindex = {}\n\n[old]\nrecipe = zc.recipe.egg\neggs = lib==1.0\ninterpreter = py-old\n\n\
             [new]\nrecipe = zc.recipe.egg:scripts\neggs = lib\ninterpreter = py-new\n",
            server.index_url()
        ),
    );
    ctx.ok(&[]);
    let py = "lib1";
    assert!(stdout(&ctx, py, &[]).starts_with("lib 1.0 "));
    assert!(stdout(&ctx, "lib2", &[]).starts_with("lib 2.0 "));
    let probe = "import lib, importlib.metadata as m; print(lib.VERSION, m.version('lib'))";
    assert_eq!(stdout(&ctx, "py-old", &["-c", probe]), "1.0 1.0\n");
    assert_eq!(stdout(&ctx, "py-new", &["-c", probe]), "2.0 2.0\n");
}

#[test]
fn two_parts_on_different_pythons_each_run_their_own() {
    let Some(py312) = crate::common::other_python() else {
        // No second interpreter on this machine: nothing to compare.
        return;
    };
    let server = two_versions_index();
    let ctx = TestContext::new();
    ctx.write(
        "buildout.cfg",
        &format!(
            "[buildout]\nparts = old new\nindex = {}\n\n[old]\nrecipe = zc.recipe.egg\neggs = lib==1.0\n\n\
             [py312]\nexecutable = {py312}\n\n\
             [new]\nrecipe = zc.recipe.egg\neggs = lib\npython = py312\n",
            server.index_url()
        ),
    );
    ctx.ok(&[]);
    let old = stdout(&ctx, "lib1", &[]);
    assert!(
        old.starts_with("lib 1.0 3.") && !old.contains("3.12"),
        "{old}"
    );
    assert_eq!(stdout(&ctx, "lib2", &[]), "lib 2.0 3.12\n");
    let text = fs::read_to_string(ctx.path("bin/lib2")).unwrap();
    assert!(text.starts_with(&format!("#!{py312}\n")), "{text}");
}

/// Our one deliberate difference in script text (see `src/build/scripts.rs`):
/// `base` comes from the script's absolute path, not its realpath, which
/// would lead into the store.
/// Our interpreter driver's argument handling (README difference 22),
/// mapped back to zc.buildout's one line.
const OUR_ARGV: &str = "    _argv = sys.argv[1:]
    # As python does, what follows `-c CMD` or `-m MOD` is the command's.
    for _i, _arg in enumerate(_argv):
        if not _arg.startswith('-') or _arg == '--':
            break
        if _arg[:2] in ('-c', '-m'):
            _i += 1 if len(_arg) > 2 else 2
            if _i < len(_argv) and _argv[_i] != '--':
                _argv.insert(_i, '--')
            break
    _options, _args = __import__(\"getopt\").getopt(_argv, 'Iic:m:')
";
const ZC_ARGV: &str = "    _options, _args = __import__(\"getopt\").getopt(sys.argv[1:], 'Iic:m:')
";
const OUR_BASE: &str = "base = os.path.dirname(os.path.abspath(__file__))";
const ZC_BASE: &str = "base = os.path.dirname(os.path.abspath(os.path.realpath(__file__)))";

/// The normalisation of `tests/golden/scripts/regenerate.py`, applied to
/// our output: `{DIR}`, `{PYTHON}`, and no sys.path lines into the store.
fn normalise(text: &str, ctx: &TestContext) -> String {
    let text = text
        .replace(ctx.work.to_str().unwrap(), "{DIR}")
        .replace(OUR_ARGV, ZC_ARGV);
    let store = ctx.store.to_str().unwrap();
    let mut out: Vec<String> = Vec::new();
    let mut in_path = false;
    for (i, line) in text.split('\n').enumerate() {
        if i == 0 && line.starts_with("#!") {
            out.push("#!{PYTHON}".into());
            continue;
        }
        if line.starts_with("sys.path[0:0] = [") {
            in_path = true;
        } else if in_path && line == "  ]" {
            in_path = false;
        } else if in_path && line.contains(store) {
            continue;
        }
        out.push(if line == OUR_BASE {
            ZC_BASE.to_string()
        } else {
            line.to_string()
        });
    }
    out.join("\n")
}

fn copy_tree(from: &std::path::Path, to: &std::path::Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if name == "expected" {
            continue;
        }
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &to.join(&name));
        } else {
            fs::copy(entry.path(), to.join(&name)).unwrap();
        }
    }
}

/// `tests/golden/scripts/cases/*`: our scripts against zc.buildout 6.0.1's
/// for the same configuration, modulo the sys.path lines that name
/// distributions (and the interpreter path).
#[test]
fn scripts_match_zc_buildout() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/scripts");
    let wheels = root.join("wheels");
    let mut cases: Vec<_> = fs::read_dir(root.join("cases"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    cases.sort();
    assert!(cases.len() >= 10);
    let mut failures = Vec::new();
    for case in &cases {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let ctx = TestContext::new();
        copy_tree(case, &ctx.work);
        let empty = ctx.root.join("empty");
        fs::create_dir_all(&empty).unwrap();
        let cfg = fs::read_to_string(ctx.path("buildout.cfg"))
            .unwrap()
            .replace("{WHEELS}", wheels.to_str().unwrap())
            .replace("{EMPTY}", empty.to_str().unwrap());
        ctx.write("buildout.cfg", &cfg);
        let out = ctx.ok(&[]);
        let messages: String = out
            .lines()
            .filter(|l| {
                l.starts_with("Generated ")
                    || l.starts_with("Could not ")
                    || l.contains(": Cannot parse")
                    || l.starts_with("Section `")
                    || l.starts_with("This may be an indication")
            })
            .map(|l| format!("{l}\n"))
            .collect();
        let mut ours: Vec<(String, String)> = vec![("messages".into(), normalise(&messages, &ctx))];
        if let Ok(bin) = fs::read_dir(ctx.path("bin")) {
            for e in bin {
                let e = e.unwrap();
                let text = fs::read_to_string(e.path()).unwrap();
                ours.push((
                    e.file_name().to_string_lossy().into_owned(),
                    normalise(&text, &ctx),
                ));
            }
        }
        ours.sort();
        let mut expected: Vec<(String, String)> = fs::read_dir(case.join("expected"))
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let text = fs::read_to_string(e.path()).unwrap();
                let text = text
                    .lines()
                    .skip_while(|l| l.starts_with("# generated by"))
                    .map(|l| format!("{l}\n"))
                    .collect::<String>();
                (e.file_name().to_string_lossy().into_owned(), text)
            })
            .collect();
        expected.sort();
        // Files end in a newline; `lines()` above keeps that shape.
        let ours: Vec<(String, String)> = ours
            .into_iter()
            .map(|(n, t)| {
                let t = t.lines().map(|l| format!("{l}\n")).collect::<String>();
                (n, t)
            })
            .collect();
        if ours != expected {
            failures.push(format!(
                "case {name}:\n ours: {ours:#?}\n expected: {expected:#?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
