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
        for file in std::fs::read_dir(&dir).unwrap() {
            let file = file.unwrap().path();
            std::fs::copy(&file, ctx.path(file.file_name().unwrap().to_str().unwrap())).unwrap();
        }
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
