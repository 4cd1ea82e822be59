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
