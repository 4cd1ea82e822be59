//! Every executable a distribution ships lands in `bin/` (issue 19): wheel
//! data scripts (Python ones wrapped like zc.buildout's distutils scripts,
//! others linked as they are), `gui_scripts` entry points, under the same
//! `scripts =` selection and renaming as console scripts; the part's
//! `site/bin/` holds the data scripts where a distribution looks for its
//! own executables.

use crate::common::TestContext;
use crate::common::index::IndexServer;
use crate::common::wheel::{Sdist, Wheel};
use std::process::Command;

fn tooly() -> Wheel {
    Wheel::new("tooly", "1.0")
        .module(
            "tooly/__init__.py",
            "def main():\n    print('console')\n\ndef gui():\n    print('gui')\n",
        )
        .module(
            "tooly/__main__.py",
            "import sys\nprint('main', sys.argv[1:])\n",
        )
        .module(
            "tooly-1.0.data/scripts/pytool",
            "#!python\n# a distutils-style script\nimport sys\nimport tooly\nprint('data', tooly.__name__, len(sys.argv))\n",
        )
        .module(
            "tooly-1.0.data/scripts/shtool",
            "#!/bin/sh\necho shell tool \"$@\"\n",
        )
        .entry_point("console_scripts", "toolcli", "tooly:main")
        .entry_point("gui_scripts", "toolgui", "tooly:gui")
}

fn project(extra: &str) -> TestContext {
    let server = IndexServer::start();
    server.publish(tooly().build());
    let ctx = TestContext::new();
    ctx.write(
        "buildout.cfg",
        &format!(
            "[buildout]\nparts = app\nindex = {}\n\n[app]\nrecipe = zc.recipe.egg\neggs = tooly\n{extra}",
            server.index_url()
        ),
    );
    // The server must outlive the run.
    ctx.ok(&[]);
    drop(server);
    ctx
}

fn run(ctx: &TestContext, script: &str, args: &[&str]) -> String {
    let out = Command::new(ctx.path(script)).args(args).output().unwrap();
    assert!(out.status.success(), "{script}: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn data_scripts_and_gui_scripts_land_in_bin() {
    let ctx = project("interpreter = py\n");
    assert_eq!(run(&ctx, "bin/toolcli", &[]), "console\n");
    assert_eq!(run(&ctx, "bin/toolgui", &[]), "gui\n");
    assert_eq!(run(&ctx, "bin/pytool", &["a"]), "data tooly 2\n");
    assert_eq!(run(&ctx, "bin/shtool", &["x"]), "shell tool x\n");
    // The Python data script is wrapped: the part's path before its first
    // import, its comment kept.
    let text = std::fs::read_to_string(ctx.path("bin/pytool")).unwrap();
    assert!(text.contains("# a distutils-style script\n"), "{text}");
    assert!(
        text.find("sys.path[0:0]") < text.find("import tooly"),
        "{text}"
    );
    // Next to the package root, as `pip install --target` lays it out.
    let found = run(
        &ctx,
        "bin/py",
        &[
            "-c",
            "import os, tooly; print(os.access(os.path.join(os.path.dirname(os.path.dirname(tooly.__file__)), 'bin', 'shtool'), os.X_OK))",
        ],
    );
    assert_eq!(found, "True\n");
    // What follows `-m MOD` is the module's, as python has it (zc.buildout's
    // interpreter reads `--version` as its own option and fails).
    assert_eq!(
        run(&ctx, "bin/py", &["-m", "tooly", "--version", "x"]),
        "main ['--version', 'x']\n"
    );
    assert_eq!(
        run(&ctx, "bin/py", &["-m", "tooly", "--", "--version"]),
        "main ['--version']\n"
    );
}

#[test]
fn scripts_selects_and_renames_data_scripts_too() {
    let ctx = project("scripts =\n    shtool=renamed\n    pytool\n");
    assert_eq!(run(&ctx, "bin/renamed", &["y"]), "shell tool y\n");
    assert_eq!(run(&ctx, "bin/pytool", &[]), "data tooly 1\n");
    for absent in ["bin/shtool", "bin/toolcli", "bin/toolgui"] {
        assert!(!ctx.path(absent).exists(), "{absent}");
    }
}

/// A setuptools-style `scripts=` script of an sdist and of a develop
/// project: both arrive as data scripts of the wheel their backend builds.
#[test]
fn scripts_of_sdists_and_develop_eggs_land_in_bin() {
    let project = |name: &str| {
        Sdist::new(name, "0.1")
            .module(&format!("{name}/__init__.py"), "WHO = __name__\n")
            .module(
                &format!("{name}-0.1.data/scripts/{name}-run"),
                &format!("#!python\nimport {name}\nprint('ran', {name}.WHO)\n"),
            )
    };
    let server = IndexServer::start();
    server.publish(project("sdisty").build());
    let ctx = TestContext::new();
    project("localy").write_tree(&ctx.path("src/localy"));
    ctx.write(
        "buildout.cfg",
        &format!(
            "[buildout]\nparts = app\nindex = {}\ndevelop = src/localy\n\n\
             [app]\nrecipe = zc.recipe.egg\neggs =\n    sdisty\n    localy\n",
            server.index_url()
        ),
    );
    ctx.ok(&[]);
    assert_eq!(run(&ctx, "bin/sdisty-run", &[]), "ran sdisty\n");
    assert_eq!(run(&ctx, "bin/localy-run", &[]), "ran localy\n");
}

#[test]
fn two_distributions_shipping_one_script_name_are_warned_about() {
    let server = IndexServer::start();
    server
        .publish(
            Wheel::new("one", "1.0")
                .module("one/__init__.py", "def main():\n    print('one')\n")
                .entry_point("console_scripts", "tool", "one:main")
                .build(),
        )
        .publish(
            Wheel::new("two", "1.0")
                .module("two/__init__.py", "")
                .module("two-1.0.data/scripts/tool", "#!/bin/sh\necho two\n")
                .build(),
        );
    let ctx = TestContext::new();
    ctx.write(
        "buildout.cfg",
        &format!(
            "[buildout]\nparts = app\nindex = {}\n\n[app]\nrecipe = zc.recipe.egg\neggs =\n    one\n    two\n",
            server.index_url()
        ),
    );
    let out = ctx.ok(&[]);
    assert!(
        out.contains("app: two scripts are named tool (two 1.0): the later one is generated.\n"),
        "{out}"
    );
    assert_eq!(run(&ctx, "bin/tool", &[]), "two\n");
}
