//! Every `examples/*/buildout.cfg` loads and annotates.

use crate::common::TestContext;
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
