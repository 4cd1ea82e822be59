//! Every `examples/*/buildout.cfg` loads and annotates; those that need
//! only built-in recipes install, offline, from a local index serving
//! stand-ins of their distributions at the versions they pin.

use crate::common::TestContext;
use crate::common::index::IndexServer;
use crate::common::wheel::Wheel;
use std::path::Path;

#[test]
fn every_example_annotates() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut seen = 0;
    for entry in std::fs::read_dir(&examples).unwrap() {
        let dir = entry.unwrap().path();
        if !dir.join("buildout.cfg").exists() {
            continue;
        }
        seen += 1;
        let ctx = TestContext::new();
        copy_tree(&dir, &ctx.work);
        let out = ctx.buildout(&["-U", "annotate"]);
        assert_eq!(out.code, 0, "{}: {}", dir.display(), out.stderr);
        assert!(
            out.stdout.contains("Annotated sections"),
            "{}",
            dir.display()
        );
        assert!(out.stdout.contains("[buildout]"));
        let out = ctx.buildout(&["-U", "query", "buildout:parts"]);
        assert_eq!(out.code, 0, "{}: {}", dir.display(), out.stderr);
    }
    assert!(seen >= 3, "expected at least three examples, found {seen}");
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let dest = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_tree(&path, &dest);
        } else {
            std::fs::copy(&path, &dest).unwrap();
        }
    }
}

#[test]
fn the_templates_example_installs_and_rolls_back() {
    let ctx = TestContext::new();
    copy_tree(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/templates"),
        &ctx.work,
    );
    ctx.ok(&["-U", "install"]);
    let conf = std::fs::read_to_string(ctx.path("etc/nginx.conf")).unwrap();
    assert!(conf.contains("server_name localhost;"), "{conf}");
    assert!(conf.contains("proxy_pass http://127.0.0.1:8080;"), "{conf}");
    let start = std::fs::read_to_string(ctx.path("bin/start")).unwrap();
    assert!(
        start.ends_with("exec python3 -m http.server 8080"),
        "{start}"
    );
    ctx.ok(&["-U", "port=9000"]);
    assert!(
        std::fs::read_to_string(ctx.path("etc/nginx.conf"))
            .unwrap()
            .contains(":9000;")
    );
    ctx.ok(&["-U", "rollback"]);
    assert!(
        std::fs::read_to_string(ctx.path("etc/nginx.conf"))
            .unwrap()
            .contains(":8080;")
    );
}

/// A stand-in distribution with console scripts `scripts` (each calling
/// `<module>:main`).
fn stand_in(name: &str, version: &str, scripts: &[&str]) -> Wheel {
    let module = name.replace('-', "_");
    let mut w = Wheel::new(name, version).module(
        &format!("{module}/__init__.py"),
        "def main():\n    print('ok')\n",
    );
    for script in scripts {
        w = w.entry_point("console_scripts", script, &format!("{module}:main"));
    }
    w
}

/// Installs `examples/<name>` with `index` pointing at `server`.
fn install_example(name: &str, server: &IndexServer) -> TestContext {
    let ctx = TestContext::new();
    copy_tree(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("examples")
            .join(name),
        &ctx.work,
    );
    let index = format!("index={}", server.index_url());
    ctx.ok(&[&index]);
    ctx
}

#[test]
fn the_webapp_example_installs_its_scripts_and_interpreter() {
    let server = IndexServer::start();
    server
        .publish(stand_in("flask", "3.1.0", &["flask"]).build())
        .publish(stand_in("requests", "2.32.3", &[]).build());
    let ctx = install_example("webapp", &server);
    for script in ["bin/flask", "bin/py"] {
        assert!(ctx.path(script).exists(), "{script}");
    }
    let out = std::process::Command::new(ctx.path("bin/flask"))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "ok\n");
}

#[test]
fn the_macros_example_installs_both_workers_and_the_control_part() {
    let server = IndexServer::start();
    server
        .publish(stand_in("celery", "5.4.0", &["celery"]).build())
        .publish(stand_in("redis", "5.2.1", &[]).build())
        .publish(stand_in("supervisor", "4.2.5", &["supervisord", "supervisorctl"]).build());
    let ctx = install_example("macros-and-conditions", &server);
    // Both workers make bin/celery: the later part's wins, as in
    // zc.buildout, where it writes the script again.
    for script in ["bin/celery", "bin/supervisord", "bin/supervisorctl"] {
        assert!(ctx.path(script).exists(), "{script}");
    }
    let manifest = std::fs::read_to_string(ctx.path(".buildout/current/manifest.json")).unwrap();
    for part in ["worker-1", "worker-2", "ctl"] {
        assert!(
            manifest.contains(&format!("\"name\": \"{part}\"")),
            "{part}"
        );
    }
}
