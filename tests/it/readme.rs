//! README.md stays true: its tour runs, and CI runs its test command.

use crate::common::{TestContext, run};
use std::path::Path;
use std::process::Command;

fn readme() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap()
}

/// The first ```sh block after `heading`.
fn block_after(text: &str, heading: &str) -> String {
    let start = text
        .find(heading)
        .unwrap_or_else(|| panic!("README lacks {heading}"));
    let rest = &text[start..];
    let open = rest.find("```sh\n").expect("a sh block") + "```sh\n".len();
    let close = rest[open..].find("```").expect("closed block");
    rest[open..open + close].to_string()
}

#[test]
fn ci_runs_the_readme_test_command() {
    let command = block_after(&readme(), "## Test");
    let ci =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(".ci/run")).unwrap();
    assert!(
        ci.contains(command.trim()),
        ".ci/run must run `{}`",
        command.trim()
    );
}

#[test]
fn readme_tour_runs() {
    let tour = block_after(&readme(), "## A short tour");
    let ctx = TestContext::new();
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_buildout")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut cmd = Command::new("bash");
    cmd.arg("-euo")
        .arg("pipefail")
        .arg("-c")
        .arg(&tour)
        .current_dir(&ctx.project)
        .env_clear()
        .env("HOME", &ctx.home)
        .env("PATH", path)
        .env("LANG", "C.UTF-8");
    let out = run(&mut cmd);
    assert_eq!(out.code, 0, "tour failed:\n{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("Annotated sections"));
    assert!(out.stdout.contains("3.1.0"), "{}", out.stdout);
    assert!(out.stdout.contains("Welcome to django"), "{}", out.stdout);
    assert!(out.stdout.ends_with("Welcome to flask"), "{}", out.stdout);
}
