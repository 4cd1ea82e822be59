//! Resolution fetches ahead of the resolver (issue 15): index pages and
//! metadata of everything a requirement leads to are requested at once,
//! the answer is the same as one fetch at a time would give, and a
//! prefetch that guesses wrong or fails leaves no trace in the output.

use std::time::Duration;

use crate::common::TestContext;
use crate::common::index::IndexServer;
use crate::common::wheel::{MetadataFile, Wheel};

/// `app` requires `a0`..`a5`, each `aN` requires `bN`: a tree the resolver
/// walks one project at a time. Wheels advertise no metadata file (range
/// requests), as on indexes without PEP 658.
fn wide_index() -> IndexServer {
    let server = IndexServer::start();
    let mut app = Wheel::new("app", "1.0");
    for i in 0..6 {
        app = app.dep(&format!("a{i}"));
        server.publish(
            Wheel::new(&format!("a{i}"), "1.0")
                .dep(&format!("b{i}>=1"))
                .build()
                .metadata_file(MetadataFile::Absent),
        );
        for v in ["1.0", "2.0"] {
            server.publish(
                Wheel::new(&format!("b{i}"), v)
                    .build()
                    .metadata_file(MetadataFile::Absent),
            );
        }
    }
    // Never needed: its marker is false for every Python 3.
    app = app.dep("ghost; python_version < \"3\"");
    server.publish(app.build().metadata_file(MetadataFile::Absent));
    server
}

fn sandbox(server: &IndexServer, extra: &str) -> TestContext {
    let ctx = TestContext::new();
    ctx.write(
        "buildout.cfg",
        &format!(
            "[buildout]\nparts = app\nindex = {}\nshow-picked-versions = true\n{extra}\n\
             [app]\nrecipe = zc.recipe.egg:eggs\neggs = app\n",
            server.index_url()
        ),
    );
    ctx
}

#[test]
fn resolution_fetches_pages_and_metadata_concurrently() {
    let server = wide_index();
    server.set_delay(Duration::from_millis(200));
    let ctx = sandbox(&server, "");
    // A dry run fetches metadata only: any concurrency is the resolver's.
    let out = ctx.ok(&["install", "--dry-run"]);
    assert!(
        server.max_in_flight() >= 4,
        "at most {} requests at once",
        server.max_in_flight()
    );
    // The same choices as one request at a time: newest b's.
    for i in 0..6 {
        assert!(out.contains(&format!("would download b{i} 2.0")), "{out}");
    }
    // A requirement whose marker is false is never asked for.
    assert!(
        server.requests_for("/simple/ghost/").is_empty(),
        "{:?}",
        server.requests()
    );
}

#[test]
fn a_pinned_version_is_what_is_fetched_ahead() {
    let server = wide_index();
    let ctx = sandbox(&server, "\n[versions]\nb3 = 1.0\n");
    let out = ctx.ok(&["install", "--dry-run"]);
    assert!(out.contains("would download b3 1.0"), "{out}");
    // The pinned file's metadata was read; the newer one's never was.
    let wheel = |f: &str| server.requests_for(&format!("/files/{f}"));
    assert!(!wheel("b3-1.0-py3-none-any.whl").is_empty());
    assert!(
        wheel("b3-2.0-py3-none-any.whl").is_empty(),
        "{:?}",
        wheel("b3-2.0-py3-none-any.whl")
    );
}

#[test]
fn every_request_is_made_once_and_metadata_files_are_not_asked_again() {
    let server = wide_index();
    let ctx = sandbox(&server, "");
    ctx.ok(&[]);
    let requests = server.requests();
    let mut seen = std::collections::BTreeSet::new();
    for r in &requests {
        assert!(
            seen.insert((r.method.clone(), r.path.clone(), r.range.clone())),
            "{} {} {:?} was requested twice: {requests:?}",
            r.method,
            r.path,
            r.range
        );
    }
    // The index serves no `.metadata` files it does not advertise: after
    // the first miss(es) on this host, no more are asked for.
    let misses = requests
        .iter()
        .filter(|r| r.path.ends_with(".metadata"))
        .count();
    assert!(misses <= 16, "{misses} metadata files asked for");
    // No HEAD before range requests: one suffix request gives the length.
    assert!(requests.iter().all(|r| r.method != "HEAD"), "{requests:?}");
}

#[test]
fn a_failing_page_is_warned_about_once_with_prefetch() {
    // `a2`'s page is broken (HTTP 500): the prefetch meets it first and
    // says nothing; the resolver meets it again, warns once and fails
    // naming the missing distribution.
    let server = wide_index();
    server.fail_path("/simple/a2/", "500 Internal Server Error");
    let ctx = sandbox(&server, "");
    let (out, err) = ctx.fails(&["install", "--dry-run"]);
    let text = format!("{out}{err}");
    assert_eq!(
        text.matches("Download error on").count(),
        1,
        "one warning for the broken page: {text}"
    );
    assert!(text.contains("a2"), "{text}");
}

#[test]
fn verbose_runs_report_the_requests_made_and_bytes_received() {
    let server = wide_index();
    let ctx = sandbox(&server, "");
    let out = ctx.ok(&["-v"]);
    let line = out
        .lines()
        .find(|l| l.starts_with("Network: "))
        .unwrap_or_else(|| panic!("no Network line: {out}"));
    let words: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(words[2], "requests,", "{line}");
    let requests: usize = words[1].parse().unwrap();
    assert_eq!(requests, server.requests().len(), "{line}");
    let bytes: u64 = words[3].parse().unwrap();
    assert!(bytes > 0, "{line}");
    // Without -v, nothing of it.
    let quiet = sandbox(&server, "");
    assert!(!quiet.ok(&[]).contains("Network: "));
}

/// A first run probes the interpreter before it can resolve: the index
/// pages of the part's requirements are fetched meanwhile. The probe is
/// made slow here (an interpreter that sleeps 3 s before starting), and
/// the page request must arrive while it sleeps.
#[test]
fn pages_are_fetched_while_a_first_run_probes_the_interpreter() {
    use std::os::unix::fs::PermissionsExt;
    let server = wide_index();
    let ctx = TestContext::new();
    let python = ctx.write("slow-python", "#!/bin/sh\nsleep 3\nexec python3 \"$@\"\n");
    std::fs::set_permissions(&python, std::fs::Permissions::from_mode(0o755)).unwrap();
    ctx.write(
        "buildout.cfg",
        &format!(
            "[buildout]\nparts = app\nindex = {}\nexecutable = {}\n\
             [app]\nrecipe = zc.recipe.egg:eggs\neggs = app\n",
            server.index_url(),
            python.display()
        ),
    );
    let mut child = ctx
        .command()
        .args(["install", "--dry-run"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let early = server.requests_for("/simple/app/").len();
    let status = child.wait().unwrap();
    assert!(status.success());
    assert!(
        early >= 1,
        "no page asked for during the probe: {:?}",
        server.requests()
    );
    // Fetched once, whoever asked.
    assert_eq!(
        server.requests_for("/simple/app/").len(),
        1,
        "{:?}",
        server.requests()
    );
}
