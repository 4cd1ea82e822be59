//! What a failed resolution tells the user (issue 14): the versions that
//! exist nearest to a request that matches none, yanked versions only when
//! they would have matched.

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
