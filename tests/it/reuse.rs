//! A resolution whose inputs are unchanged is reused (issue 15), in any
//! buildout directory, and never when anything it read changed: a new
//! file in find-links, a pin, the store's distributions, a remote page
//! older than the TTL; not at all after a page could not be read.

use std::path::Path;

use crate::common::index::IndexServer;
use crate::common::wheel::Wheel;
use crate::common::{TestContext, run};

/// `lib` pinned to 1.0.
const PINNED: &str = "\n[versions]\nlib = 1.0\n";

const REUSED: &str = "Reusing the resolution of the same inputs";

fn links(ctx: &TestContext) -> std::path::PathBuf {
    let links = ctx.path("links");
    std::fs::create_dir_all(&links).unwrap();
    for dist in [
        Wheel::new("app", "1.0").dep("lib>=1").build(),
        Wheel::new("lib", "1.0").build(),
    ] {
        std::fs::write(links.join(&dist.filename), &dist.bytes).unwrap();
    }
    links
}

fn config(links: &Path, extra: &str) -> String {
    format!(
        "[buildout]\nparts = app\nfind-links = {}\nindex = {}\nshow-picked-versions = true\n{extra}\n\
         [app]\nrecipe = zc.recipe.egg:eggs\neggs = app\n",
        links.display(),
        links.join("no-index").display(),
    )
}

/// Runs `buildout -v` in `dir` (a buildout directory under the sandbox).
fn verbose_in(ctx: &TestContext, dir: &Path) -> String {
    let out = run(ctx.command().arg("-v").current_dir(dir));
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    format!("{}{}", out.stdout, out.stderr)
}

fn directory(ctx: &TestContext, name: &str, cfg: &str) -> std::path::PathBuf {
    let dir = ctx.path(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("buildout.cfg"), cfg).unwrap();
    dir
}

#[test]
fn a_fresh_directory_with_the_same_inputs_reuses_the_resolution() {
    let ctx = TestContext::new();
    let links = links(&ctx);
    let cfg = config(&links, "");
    let first = verbose_in(&ctx, &directory(&ctx, "a", &cfg));
    assert!(!first.contains(REUSED), "{first}");
    // The first run added distributions to the store, an input: the next
    // run resolves (with the same answer) and keeps that.
    let second = verbose_in(&ctx, &directory(&ctx, "b", &cfg));
    assert!(!second.contains(REUSED), "{second}");
    let second = verbose_in(&ctx, &directory(&ctx, "c", &cfg));
    assert!(second.contains(REUSED), "{second}");
    // The same picked versions are reported.
    assert!(second.contains("lib = 1.0"), "{second}");
    assert!(second.contains("Generation 1 is current"), "{second}");
}

#[test]
fn a_new_file_in_find_links_is_seen_at_once() {
    let ctx = TestContext::new();
    let links = links(&ctx);
    let cfg = config(&links, "");
    let dir = directory(&ctx, "a", &cfg);
    verbose_in(&ctx, &dir);
    let newer = Wheel::new("lib", "2.0").build();
    std::fs::write(links.join(&newer.filename), &newer.bytes).unwrap();
    let again = verbose_in(&ctx, &directory(&ctx, "b", &cfg));
    assert!(!again.contains(REUSED), "{again}");
    assert!(again.contains("lib = 2.0"), "{again}");
}

#[test]
fn a_changed_pin_or_store_resolves_again() {
    let ctx = TestContext::new();
    let links = links(&ctx);
    let newer = Wheel::new("lib", "2.0").build();
    std::fs::write(links.join(&newer.filename), &newer.bytes).unwrap();
    let dir = directory(&ctx, "a", &config(&links, ""));
    verbose_in(&ctx, &dir);
    // Same inputs (the store now has what the first run added): reused.
    verbose_in(&ctx, &dir);
    assert!(verbose_in(&ctx, &dir).contains(REUSED));
    // A pin is an input.
    std::fs::write(dir.join("buildout.cfg"), config(&links, PINNED)).unwrap();
    let pinned = verbose_in(&ctx, &dir);
    assert!(!pinned.contains(REUSED), "{pinned}");
    assert!(pinned.contains("Got lib 1.0"), "{pinned}");
    // `-N` resolves from the store alone; the store is its input: kept,
    // then reused until a distribution is added or removed.
    let n = |dir: &Path| {
        let out = run(ctx.command().args(["-v", "-N"]).current_dir(dir));
        assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
        out.stdout
    };
    assert!(!n(&dir).contains(REUSED));
    assert!(n(&dir).contains(REUSED));
    let extra = Wheel::new("extra", "1.0").build();
    std::fs::write(links.join(&extra.filename), &extra.bytes).unwrap();
    std::fs::write(
        dir.join("buildout.cfg"),
        config(&links, PINNED).replace("eggs = app", "eggs = app\n    extra"),
    )
    .unwrap();
    verbose_in(&ctx, &dir);
    std::fs::write(dir.join("buildout.cfg"), config(&links, PINNED)).unwrap();
    assert!(!n(&dir).contains(REUSED), "the store has `extra` now");
}

#[test]
fn a_damaged_entry_is_ignored_and_replaced() {
    let ctx = TestContext::new();
    let links = links(&ctx);
    let cfg = config(&links, "");
    verbose_in(&ctx, &directory(&ctx, "a", &cfg));
    let dir = ctx.home.join(".buildout/cache/resolutions-v1");
    let entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
    std::fs::write(
        &entries[0],
        b"{\"format\": \"buildout-resolution-1\", \"pack",
    )
    .unwrap();
    let again = verbose_in(&ctx, &directory(&ctx, "b", &cfg));
    assert!(!again.contains(REUSED), "{again}");
    let third = verbose_in(&ctx, &directory(&ctx, "c", &cfg));
    assert!(third.contains(REUSED), "{third}");
}

#[test]
fn a_remote_index_is_reused_only_while_its_cached_pages_are_current() {
    let ctx = TestContext::new();
    let server = IndexServer::start();
    server.publish(Wheel::new("app", "1.0").dep("lib").build());
    server.publish(Wheel::new("lib", "1.0").build());
    let cfg = format!(
        "[buildout]\nparts = app\nindex = {}\n\n[app]\nrecipe = zc.recipe.egg:eggs\neggs = app\n",
        server.index_url()
    );
    verbose_in(&ctx, &directory(&ctx, "a", &cfg));
    let second = verbose_in(&ctx, &directory(&ctx, "b", &cfg));
    assert!(!second.contains(REUSED), "{second}");
    server.clear_log();
    let third = verbose_in(&ctx, &directory(&ctx, "c", &cfg));
    assert!(third.contains(REUSED), "{third}");
    // Nothing asked of the index: pages, metadata and files all known.
    assert!(server.requests().is_empty(), "{:?}", server.requests());
    // A page older than the TTL would be asked for again: so is the
    // resolution.
    let pages = ctx.home.join(".buildout/cache/index/simple-v1");
    let an_hour_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    for page in std::fs::read_dir(&pages).unwrap() {
        let file = std::fs::File::options()
            .write(true)
            .open(page.unwrap().path())
            .unwrap();
        file.set_modified(an_hour_ago).unwrap();
    }
    let fourth = verbose_in(&ctx, &directory(&ctx, "d", &cfg));
    assert!(!fourth.contains(REUSED), "{fourth}");
}

#[test]
fn a_run_that_could_not_read_a_page_is_not_kept() {
    let ctx = TestContext::new();
    let server = IndexServer::start();
    server.publish(Wheel::new("app", "1.0").build());
    let links = ctx.path("links");
    std::fs::create_dir_all(&links).unwrap();
    let cfg = format!(
        "[buildout]\nparts = app\nindex = {}\nfind-links = http://127.0.0.1:9/nothing/\n\n\
         [app]\nrecipe = zc.recipe.egg:eggs\neggs = app\n",
        server.index_url()
    );
    for dir in ["a", "b", "c"] {
        let out = verbose_in(&ctx, &directory(&ctx, dir, &cfg));
        assert!(out.contains("Download error on"), "{out}");
        assert!(!out.contains(REUSED), "{out}");
    }
}
