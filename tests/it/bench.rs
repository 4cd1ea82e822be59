//! `bench/run --quick` (issue 7): the benchmark harness keeps working.
//! Quick mode is offline (tiny wheels made by the harness, peers only if
//! already installed; pip comes with `python3 -m venv`), so it runs here
//! with our debug binary; the numbers are not checked, only that every
//! scenario ran and the table was written.

use std::path::Path;
use std::process::Command;

#[test]
fn quick_mode_runs_offline_and_writes_the_table() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let scratch = tempfile::tempdir().unwrap();
    let results = scratch.path().join("RESULTS.md");
    let out = Command::new("python3")
        .arg(repo.join("bench/run"))
        .args([
            "--quick",
            "--tools",
            "ours,pip",
            "--bin",
            env!("CARGO_BIN_EXE_buildout"),
        ])
        .arg("--scratch")
        .arg(scratch.path().join("s"))
        .arg("--output")
        .arg(&results)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "bench/run --quick failed:\n{stderr}");
    let text = std::fs::read_to_string(&results).unwrap();
    for row in [
        "| 1. cold assemble",
        "| 2. warm assemble",
        "| 3. no-op re-run",
        "| 4. change one part option",
        "| 5. start-up",
        "| 6a. rollback",
        "| 6b. gc",
    ] {
        assert!(text.contains(row), "no row {row:?} in:\n{text}\n{stderr}");
    }
    assert!(
        !text.contains("failed"),
        "a measurement failed:\n{text}\n{stderr}"
    );
    assert!(
        text.contains("## Machine") && text.contains("## Versions"),
        "{text}"
    );
}
