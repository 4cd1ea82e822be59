//! `bench/run --quick` (issues 7 and 15): the benchmark harness keeps
//! working. Quick mode is offline (tiny wheels made by the harness, peers
//! only if already installed; pip comes with `python3 -m venv`; the
//! network scenarios 10 and 11 are skipped), so it runs here with our debug
//! binary; the numbers are not checked, only that every offline scenario
//! ran and the table, the commit and the targets were written.

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
        "| 3n. no-op re-run: ours in its default (newest) mode",
        "| 9. resolution alone",
        "| 12w5. scaling, 5 generated distributions: warm assemble",
        "| 12n20. scaling, 20: no-op re-run, ours in default (newest) mode",
        "| 12N20. scaling, 20: no-op re-run, ours with -N",
        "| 13w. install from the lock, warm store/cache",
        "| 13c. install from the lock, cold",
        "| 14s. substituted install: the set from a warm binary cache",
        "| 14c. … against: cold install from the wheels with bytecode",
        "| 14p. buildout push of the set's closure",
        "## Targets (issue 16)",
        "## Targets (issue 17)",
        "## Targets (issue 7)",
        "## Targets (issue 15)",
        "## Scaling (scenario 12)",
        "**Commit measured:** `",
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
    // The network scenarios never run in quick mode: no row, and their
    // targets say so instead of a verdict.
    assert!(!text.contains("| 10. cold from the network"), "{text}");
    assert!(!text.contains("| 11a. Plone"), "{text}");
    assert!(
        text.contains("Scenario 11a (Plone cold): ours ≤ 0.1 × zc.buildout: **not measured**"),
        "{text}"
    );
}
