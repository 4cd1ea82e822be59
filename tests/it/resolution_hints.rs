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

/// Writes a buildout asking `server` for `eggs`, with an unreachable
/// find-links URL (with credentials) next to it; returns that URL as it
/// may be shown (credentials removed).
fn with_dead_find_links(ctx: &TestContext, server: &IndexServer, eggs: &str) -> String {
    let dead = closed_url();
    ctx.write(
        "buildout.cfg",
        &config(server, eggs).replace(
            "parts = app\n",
            &format!("parts = app\nfind-links = {dead}\n"),
        ),
    );
    dead.replace("user:secret@", "")
}

/// Runs, asserts success and that no credential shows; returns stdout and
/// stderr together.
fn succeeds_quietly(ctx: &TestContext) -> String {
    let run = ctx.run(&[]);
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(run.status.success(), "{all}");
    assert!(!all.contains("secret"), "{all}");
    all
}

#[test]
fn an_unreachable_find_links_url_is_a_warning_and_the_run_goes_on() {
    let server = requests_index();
    let ctx = TestContext::new();
    let shown = with_dead_find_links(&ctx, &server, "requests");
    let all = succeeds_quietly(&ctx);
    assert!(
        all.contains(&format!("Download error on {shown}: error sending request")),
        "{all}"
    );
    assert!(
        all.contains(" -- Some packages may not be found!\n"),
        "{all}"
    );
    assert!(all.contains("Got requests 2.32.3.\n"), "{all}");
}

#[test]
fn an_unreachable_index_is_a_warning_when_find_links_has_the_distribution() {
    let ctx = TestContext::new();
    let links = ctx.path("links");
    std::fs::create_dir_all(&links).unwrap();
    for dist in [
        Wheel::new("requests", "2.32.3").dep("idna").build(),
        Wheel::new("idna", "3.7").build(),
    ] {
        std::fs::write(links.join(&dist.filename), &dist.bytes).unwrap();
    }
    let dead = closed_url();
    ctx.write(
        "buildout.cfg",
        &format!(
            "[buildout]\nparts = app\nindex = {dead}\nfind-links = {}\n\n[app]\nrecipe = zc.recipe.egg:eggs\neggs = requests\n",
            links.display()
        ),
    );
    let all = succeeds_quietly(&ctx);
    let shown = dead.replace("user:secret@", "");
    assert!(
        all.contains(&format!("Download error on {shown}requests/: ")),
        "{all}"
    );
    assert!(all.contains("Got requests 2.32.3.\n"), "{all}");
    assert!(all.contains("Got idna 3.7.\n"), "{all}");
    // Asked once: not again (with its retries) for each other project.
    assert_eq!(all.matches("Download error on").count(), 1, "{all}");
}

#[test]
fn a_missing_distribution_names_the_urls_that_could_not_be_read() {
    let server = requests_index();
    let ctx = TestContext::new();
    let shown = with_dead_find_links(&ctx, &server, "requests==99.99.99");
    let (out, err) = ctx.fails(&[]);
    assert!(
        err.contains(&format!(
            "Couldn't find a distribution for 'requests==99.99.99'.\n\
             available versions of requests: 2.31.0, 2.32.0, 2.32.3 (the newest)\n\
             could not read {shown}: error sending request"
        )),
        "{err}"
    );
    assert!(!format!("{out}{err}").contains("secret"), "{out}{err}");
}

#[test]
fn a_develop_egg_that_does_not_fit_the_requirement_is_named() {
    let server = requests_index();
    let ctx = TestContext::new();
    crate::common::wheel::Sdist::new("demo", "0.1").write_tree(&ctx.path("src/demo"));
    ctx.write(
        "buildout.cfg",
        &format!(
            "[buildout]\nparts = app\nindex = {}\ndevelop = src/demo\n\n\
             [app]\nrecipe = zc.recipe.egg:eggs\neggs = demo>=1.0\n",
            server.index_url()
        ),
    );
    let (_, err) = ctx.fails(&[]);
    assert!(
        err.contains(
            "Couldn't find a distribution for 'demo>=1.0'.\n\
             demo 0.1 is a develop egg here, and it does not satisfy `>=1.0`: a develop egg is \
             used instead of every other version (change the requirement, or the project's version)\n"
        ),
        "{err}"
    );
}
