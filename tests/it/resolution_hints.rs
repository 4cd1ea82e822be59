//! What a failed resolution tells the user (issue 14): the versions that
//! exist nearest to a request that matches none, yanked versions only when
//! they would have matched; and find-links or index URLs that cannot be
//! read are a warning, named again in the error when something is missing.

use crate::common::TestContext;
use crate::common::index::IndexServer;
use crate::common::wheel::Wheel;

fn config(server: &IndexServer, eggs: &str) -> String {
    format!(
        "[buildout]\nparts = app\nindex = {}\n\n[app]\nrecipe = zc.recipe.egg:eggs\neggs = {eggs}\n",
        server.index_url()
    )
}

fn requests_index() -> IndexServer {
    let server = IndexServer::start();
    for v in ["2.0.0", "2.25.0", "2.28.0", "2.31.0", "2.32.0", "2.32.3"] {
        server.publish(Wheel::new("requests", v).build());
    }
    server.publish(Wheel::new("requests", "1.0.0").build().yanked("broken"));
    server.publish(Wheel::new("requests", "2.29.0").build().yanked("broken"));
    server
}

#[test]
fn a_version_that_does_not_exist_shows_the_nearest_that_do() {
    let server = requests_index();
    let ctx = TestContext::new();
    ctx.write("buildout.cfg", &config(&server, "requests==99.99.99"));
    let (_, err) = ctx.fails(&[]);
    // zc.buildout 6.0.1's own line first, then the hint; no word about
    // yanked versions that would not match anyway.
    assert!(
        err.contains(
            "Couldn't find a distribution for 'requests==99.99.99'.\n\
             available versions of requests: 2.31.0, 2.32.0, 2.32.3 (the newest)\n"
        ),
        "{err}"
    );
    assert!(!err.contains("yanked"), "{err}");
}

#[test]
fn nearest_versions_below_and_above_a_range_and_yanked_ones_that_would_match() {
    let server = requests_index();
    let ctx = TestContext::new();
    ctx.write("buildout.cfg", &config(&server, "requests>2.28.0,<2.31"));
    let (_, err) = ctx.fails(&[]);
    assert!(
        err.contains("Couldn't find a distribution for 'requests<2.31,>2.28.0'.\n"),
        "{err}"
    );
    assert!(err.contains("`requests 2.29.0` is yanked"), "{err}");
    assert!(!err.contains("1.0.0"), "{err}");
    assert!(
        err.contains("available versions of requests: 2.0.0, 2.25.0, 2.28.0, 2.31.0, 2.32.0, 2.32.3 (the newest)"),
        "{err}"
    );
}

/// `http://user:secret@127.0.0.1:<port>/links/` on a port nothing listens
/// on (bound, then released).
fn closed_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://user:secret@127.0.0.1:{port}/links/")
}

#[test]
fn an_unreachable_find_links_url_is_a_warning_and_the_run_goes_on() {
    let server = requests_index();
    let ctx = TestContext::new();
    let dead = closed_url();
    let shown = dead.replace("user:secret@", "");
    ctx.write(
        "buildout.cfg",
        &config(&server, "requests").replace(
            "parts = app\n",
            &format!("parts = app\nfind-links = {dead}\n"),
        ),
    );
    let run = ctx.run(&[]);
    let out = String::from_utf8_lossy(&run.stdout);
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{out}\n{err}");
    let all = format!("{out}{err}");
    assert!(
        all.contains(&format!("Download error on {shown}: ")),
        "{all}"
    );
    assert!(
        all.contains(" -- Some packages may not be found!\n"),
        "{all}"
    );
    assert!(!all.contains("secret"), "{all}");
    assert!(out.contains("Got requests 2.32.3.\n"), "{out}");
}

#[test]
fn an_unreachable_index_is_a_warning_when_find_links_has_the_distribution() {
    let ctx = TestContext::new();
    let links = ctx.path("links");
    std::fs::create_dir_all(&links).unwrap();
    let dist = Wheel::new("requests", "2.32.3").build();
    std::fs::write(links.join(&dist.filename), &dist.bytes).unwrap();
    let dead = closed_url();
    ctx.write(
        "buildout.cfg",
        &format!(
            "[buildout]\nparts = app\nindex = {dead}\nfind-links = {}\n\n[app]\nrecipe = zc.recipe.egg:eggs\neggs = requests\n",
            links.display()
        ),
    );
    let run = ctx.run(&[]);
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(run.status.success(), "{all}");
    let shown = dead.replace("user:secret@", "");
    assert!(
        all.contains(&format!("Download error on {shown}requests/: ")),
        "{all}"
    );
    assert!(!all.contains("secret"), "{all}");
    assert!(all.contains("Got requests 2.32.3.\n"), "{all}");
}

#[test]
fn a_missing_distribution_names_the_urls_that_could_not_be_read() {
    let server = requests_index();
    let ctx = TestContext::new();
    let dead = closed_url();
    let shown = dead.replace("user:secret@", "");
    ctx.write(
        "buildout.cfg",
        &config(&server, "requests==99.99.99").replace(
            "parts = app\n",
            &format!("parts = app\nfind-links = {dead}\n"),
        ),
    );
    let (out, err) = ctx.fails(&[]);
    assert!(
        err.contains("Couldn't find a distribution for 'requests==99.99.99'.\n"),
        "{err}"
    );
    assert!(err.contains(&format!("could not read {shown}: ")), "{err}");
    assert!(!format!("{out}{err}").contains("secret"), "{out}{err}");
}
