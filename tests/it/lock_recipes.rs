//! The lock file and the recipe host: `buildout lock` resolves the host's,
//! the extensions' and the recipes' distributions itself (group
//! `buildout-host`) and fetches the recipes' `url` downloads, so a fresh
//! lock is complete before any install; with `--locked` or `--frozen` a
//! download the lock does not record is refused.

use crate::common::index::IndexServer;
use crate::common::wheel::Wheel;
use crate::common::{TestContext, WRITER_RECIPE, host_config};
use crate::lock::{LOCK, current, pages, pip_group, pip_venv, validate};
use crate::lock_more::FETCH_RECIPE;
use std::fs;

/// An extension that does nothing but exist.
const EXTENSION: &str = "def load(buildout):\n    pass\n";

/// The index: an extension, a recipe with a dependency, a fetching recipe.
fn server() -> IndexServer {
    let server = IndexServer::start();
    server
        .publish(
            Wheel::new("myext", "1.0")
                .module("myext.py", EXTENSION)
                .entry_point("zc.buildout.extension", "default", "myext:load")
                .build(),
        )
        .publish(
            Wheel::new("writer", "1.0")
                .dep("helper")
                .module("writer.py", WRITER_RECIPE)
                .entry_point("zc.buildout", "default", "writer:Writer")
                .build(),
        )
        .publish(Wheel::new("helper", "1.0").build())
        .publish(
            Wheel::new("other", "1.0")
                .module("other.py", WRITER_RECIPE)
                .entry_point("zc.buildout", "default", "other:Writer")
                .build(),
        )
        .publish(
            Wheel::new("fetchrecipe", "1.0")
                .module("fetchrecipe.py", FETCH_RECIPE)
                .entry_point("zc.buildout", "default", "fetchrecipe:Fetch")
                .build(),
        );
    server
}

fn sha256_hex(text: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// `[[packages]]` names of `text` in group `group`.
fn group_names(text: &str, group: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut name = None;
    for line in text.lines() {
        if let Some(n) = line.strip_prefix("name = \"") {
            name = Some(n.trim_end_matches('"').to_string());
        }
        if line.starts_with("marker = ")
            && line.contains(&format!("'{group}' in dependency_groups"))
            && let Some(n) = name.take()
        {
            out.push(n);
        }
    }
    out.sort();
    out
}

#[test]
fn lock_resolves_the_recipe_host_extensions_and_recipes_before_any_install() {
    let server = server();
    let ctx = TestContext::new();
    let config = |text: &str| {
        host_config(
            &server,
            "parts = w1 w2 w3\nextensions = myext",
            &format!(
                "[w1]\nrecipe = writer\ntext = one\n\n[w2]\nrecipe = writer\ntext = two\n\n\
                 [w3]\nrecipe = other\ntext = {text}\n"
            ),
        )
    };
    ctx.write("buildout.cfg", &config("three"));
    let out = ctx.ok(&["lock"]);
    assert!(!out.contains("would load the extensions"), "{out}");
    let text = fs::read_to_string(ctx.path(LOCK)).unwrap();
    for name in [
        "helper",
        "myext",
        "other",
        "writer",
        "zc-buildout",
        "zc-recipe-egg",
    ] {
        assert!(
            group_names(&text, "buildout-host").contains(&name.to_string()),
            "{name}: {text}"
        );
    }
    // The parts' groups do not hold the host's distributions.
    assert_eq!(group_names(&text, "w1"), Vec::<String>::new());
    // One request per distinct set (w2 asks for what w1 did).
    assert_eq!(text.matches("part = \"\"\n").count(), 3, "{text}");
    assert_eq!(validate(&ctx.path(LOCK)), "valid environments-here=1");
    // pip reads the host's group as PEP 751 says: its entries narrow to
    // the host's set.
    let python = pip_venv(&ctx);
    let host: Vec<String> = pip_group(&ctx, &python, "buildout-host")
        .into_iter()
        .map(|(name, _)| name.to_lowercase().replace(['_', '.'], "-"))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    // (pip 26.3, the host's, is the venv's own: already installed.)
    let mut expected = group_names(&text, "buildout-host");
    expected.retain(|n| n != "pip");
    assert_eq!(host, expected);
    // `--check` compares inputs: it resolves nothing.
    server.clear_log();
    ctx.ok(&["lock", "--check"]);
    assert_eq!(pages(&server), Vec::<String>::new());
    // Locking again: the same bytes (the host's set is not carried over,
    // it is resolved again, to the same).
    let again = ctx.ok(&["lock"]);
    assert!(again.contains(&format!("{LOCK} is up to date.")), "{again}");
    // A fresh store, the lock only: no index page, and the lock is
    // complete (an install adds nothing to it).
    let store = ctx.root.join("fresh-store");
    let store = store.to_str().unwrap();
    server.clear_log();
    let out = ctx.ok(&["--store", store, "install", "--locked"]);
    assert!(!out.contains("did not cover"), "{out}");
    assert_eq!(pages(&server), Vec::<String>::new());
    assert_eq!(fs::read_to_string(ctx.path(LOCK)).unwrap(), text);
    assert_eq!(
        fs::read_to_string(ctx.path("parts/w1/out.txt")).unwrap(),
        "one\n"
    );
    // Only w3's options change: its recipe loads when it is constructed,
    // w1's (memoised) when it is installed, another order than locking's;
    // the lock still covers it.
    ctx.write("buildout.cfg", &config("tres"));
    ctx.ok(&["lock"]);
    server.clear_log();
    let out = ctx.ok(&["--store", store, "install", "--locked"]);
    assert!(!out.contains("did not cover"), "{out}");
    assert_eq!(pages(&server), Vec::<String>::new());
    assert_eq!(
        fs::read_to_string(ctx.path("parts/w3/out.txt")).unwrap(),
        "tres\n"
    );
}

/// A buildout of part `f` (recipe `fetchrecipe`) fetching `data.txt` of
/// [`server`] named by its `option`, locked: the server, the URL and the
/// buildout.
fn locked_fetch(option: &str) -> (IndexServer, String, TestContext) {
    let server = server();
    let url = server.page("data.txt", "first\n");
    let ctx = TestContext::new();
    ctx.write(
        "buildout.cfg",
        &host_config(
            &server,
            "parts = f",
            &format!("[f]\nrecipe = fetchrecipe\n{option} = {url}\n"),
        ),
    );
    ctx.ok(&["lock"]);
    (server, url, ctx)
}

#[test]
fn lock_records_a_recipes_url_download_before_any_install() {
    let (server, url, ctx) = locked_fetch("url");
    let text = fs::read_to_string(ctx.path(LOCK)).unwrap();
    let entry = format!(
        "{{ url = \"{url}\", size = 6, sha256 = \"{}\" }}",
        sha256_hex("first\n")
    );
    assert!(text.contains(&entry), "{entry}\n{text}");
    ctx.ok(&["install", "--locked"]);
    assert_eq!(fs::read_to_string(ctx.path(LOCK)).unwrap(), text);
    assert_eq!(
        fs::read_to_string(ctx.path("parts/f/out.txt")).unwrap(),
        "first\n"
    );
    // Changed upstream: refused, whatever the flag.
    server.page("data.txt", "second\n");
    let before = current(&ctx).unwrap();
    for args in [&["install", "--frozen"][..], &["install"]] {
        ctx.write(
            "buildout.cfg",
            &host_config(
                &server,
                "parts = f",
                &format!(
                    "[f]\nrecipe = fetchrecipe\nurl = {url}\nx = {}\n",
                    args.len()
                ),
            ),
        );
        let (_, err) = ctx.fails(args);
        assert!(
            err.contains(LOCK) && err.contains(&url) && err.contains("changed"),
            "{err}"
        );
        assert_eq!(current(&ctx).unwrap(), before);
    }
    // Locking again takes the new content.
    ctx.ok(&["lock"]);
    assert!(
        fs::read_to_string(ctx.path(LOCK))
            .unwrap()
            .contains(&sha256_hex("second\n"))
    );
}

#[test]
fn a_download_the_lock_does_not_record_is_refused_with_locked_or_frozen() {
    // `src`, not `url`: locking does not know the recipe fetches it.
    let (server, url, ctx) = locked_fetch("src");
    let text = fs::read_to_string(ctx.path(LOCK)).unwrap();
    assert!(!text.contains(&url), "{text}");
    for flag in ["--locked", "--frozen"] {
        let (_, err) = ctx.fails(&["install", flag]);
        assert!(
            err.contains(&format!("{url} is not in {LOCK}")),
            "{flag}: {err}"
        );
        assert!(!ctx.path("parts/f/out.txt").exists());
        assert!(current(&ctx).is_none());
        assert_eq!(fs::read_to_string(ctx.path(LOCK)).unwrap(), text);
    }
    // Without them it is added to the lock.
    ctx.ok(&["install"]);
    let added = fs::read_to_string(ctx.path(LOCK)).unwrap();
    assert!(added.contains(&format!("url = \"{url}\"")), "{added}");
    ctx.ok(&["install", "--locked"]);

    // An HTTP `extends` the lock does not record: refused before anything.
    let base = server.page("base.cfg", "[buildout]\nparts =\n");
    let other = TestContext::new();
    other.write(
        "buildout.cfg",
        &format!(
            "[buildout]\nextends = {base}\nindex = {}\n",
            server.index_url()
        ),
    );
    other.ok(&["lock"]);
    let text = fs::read_to_string(other.path(LOCK)).unwrap();
    assert!(text.contains(&base), "{text}");
    let start = text.find("downloads = [").unwrap();
    let end = start + text[start..].find("]\n").unwrap() + 2;
    other.write(LOCK, &format!("{}{}", &text[..start], &text[end..]));
    for flag in ["--locked", "--frozen"] {
        let (_, err) = other.fails(&["install", flag]);
        assert!(
            err.contains(&format!("{base} is not in {LOCK}")),
            "{flag}: {err}"
        );
    }
    other.ok(&["install"]);
}

/// An install calls the uninstall entry point of an action part it
/// removes, loading its recipe: locking loads it too, so `--locked`
/// covers it.
#[test]
fn the_recipe_of_a_removed_action_part_is_locked_for_its_uninstall() {
    let server = server();
    let ctx = TestContext::new();
    let config = |parts: &str| {
        host_config(
            &server,
            &format!("parts = {parts}"),
            "[a]\nrecipe = writer\ntext = one\nbuildout-action = true\n\n\
             [b]\nrecipe = other\ntext = two\n",
        )
    };
    ctx.write("buildout.cfg", &config("a b"));
    ctx.ok(&["lock"]);
    ctx.ok(&["install", "--locked"]);
    assert_eq!(
        fs::read_to_string(ctx.path("parts/a/out.txt")).unwrap(),
        "one\n"
    );
    ctx.write("buildout.cfg", &config("b"));
    ctx.ok(&["lock"]);
    let text = fs::read_to_string(ctx.path(LOCK)).unwrap();
    assert!(
        group_names(&text, "buildout-host").contains(&"writer".to_string()),
        "{text}"
    );
    let out = ctx.ok(&["install", "--locked"]);
    assert!(out.contains("Uninstalling a."), "{out}");
    assert_eq!(fs::read_to_string(ctx.path(LOCK)).unwrap(), text);
}

/// Issue 17's trial, as a new user would make it: lock a set from the
/// (local) index, a day's worth of new releases arrives (a newer version
/// of every distribution, one with a new dependency), and another checkout
/// (fresh store, fresh caches) installs from the lock: the same files.
#[test]
fn a_day_of_new_releases_changes_nothing_a_fresh_checkout_installs_from_the_lock() {
    use crate::common::wheel::Dist;
    let server = IndexServer::start();
    let set = |v: &str| -> Vec<Dist> {
        let newer = v != "1.0";
        let mut app = Wheel::new("webapp", v)
            .dep("routes>=1")
            .dep("templates")
            .dep("orm[pg]");
        if newer {
            app = app.dep("telemetry");
        }
        let mut out = vec![
            app.build(),
            Wheel::new("routes", v).dep("urlkit").build(),
            Wheel::new("templates", v)
                .dep("markup>=1")
                .dep("urlkit")
                .build(),
            Wheel::new("markup", v).build(),
            Wheel::new("urlkit", v).build(),
            Wheel::new("orm", v).extra("pg", "pgdriver").build(),
            Wheel::new("pgdriver", v).build(),
            Wheel::new("testkit", v).dep("webapp").build(),
        ];
        if newer {
            out.push(Wheel::new("telemetry", v).build());
        }
        out
    };
    let first = set("1.0");
    for d in &first {
        server.publish(d.clone());
    }
    let config = format!(
        "[buildout]\nparts = app tests\nindex = {}\n\n[app]\nrecipe = zc.recipe.egg:eggs\neggs = webapp\n\n\
         [tests]\nrecipe = zc.recipe.egg:eggs\neggs = testkit\n",
        server.index_url()
    );
    let one = TestContext::new();
    one.write("buildout.cfg", &config);
    one.ok(&["lock"]);
    one.ok(&["install", "--locked"]);
    let lock = fs::read_to_string(one.path(LOCK)).unwrap();
    for d in &first {
        assert!(lock.contains(&d.sha256()), "{}: {lock}", d.filename);
    }
    assert_eq!(crate::common::working_set(&one).len(), first.len());
    // The next day.
    for d in set("1.1") {
        server.publish(d);
    }
    server.clear_log();
    let two = TestContext::new();
    two.write("buildout.cfg", &config);
    two.write(LOCK, &lock);
    two.ok(&["install"]);
    assert_eq!(
        crate::common::working_set(&two),
        crate::common::working_set(&one)
    );
    let mut fetched: Vec<String> = server
        .requests()
        .into_iter()
        .map(|r| r.path.rsplit('/').next().unwrap_or_default().to_string())
        .collect();
    fetched.sort();
    fetched.dedup();
    let mut locked: Vec<String> = first.iter().map(|d| d.filename.clone()).collect();
    locked.sort();
    // (Its own store: every locked file fetched, checked against the
    // lock's sha256, and nothing else.)
    assert_eq!(fetched, locked, "only the locked files, no index page");
    // Without the lock, the same configuration takes the new releases.
    let three = TestContext::new();
    three.write("buildout.cfg", &config);
    three.ok(&["install"]);
    assert!(
        crate::common::working_set(&three).contains(&("telemetry".to_string(), "1.1".to_string()))
    );
}

/// A recipe's `url` locking cannot fetch: offline, the entry the lock
/// has is kept, and locking says when there is none; online, a URL that
/// does not answer is said and not recorded.
#[test]
fn a_recipe_url_locking_cannot_fetch_is_kept_or_warned_about() {
    let server = IndexServer::start();
    let url = server.page("data.txt", "first\n");
    let ctx = TestContext::new();
    let wheels = ctx.path("wheels");
    fs::create_dir_all(&wheels).unwrap();
    let recipe = Wheel::new("fetchrecipe", "1.0")
        .module("fetchrecipe.py", FETCH_RECIPE)
        .entry_point("zc.buildout", "default", "fetchrecipe:Fetch")
        .build();
    fs::write(wheels.join(&recipe.filename), &recipe.bytes).unwrap();
    ctx.write(
        "buildout.cfg",
        &format!(
            "[buildout]\nparts = f\nindex = {}\nfind-links =\n    {}\n    {}\n\n\
             [f]\nrecipe = fetchrecipe\nurl = {url}\n",
            server.index_url(),
            crate::common::fixture_dists().display(),
            wheels.display()
        ),
    );
    ctx.ok(&["-o", "lock"]);
    let out_text = fs::read_to_string(ctx.path(LOCK)).unwrap();
    assert!(!out_text.contains(&url), "{out_text}");
    ctx.ok(&["lock"]);
    let text = fs::read_to_string(ctx.path(LOCK)).unwrap();
    let entry = format!(
        "{{ url = \"{url}\", size = 6, sha256 = \"{}\" }}",
        sha256_hex("first\n")
    );
    assert!(text.contains(&entry), "{entry}\n{text}");
    server.clear_log();
    let out = ctx.ok(&["-o", "lock"]);
    assert!(!out.contains("cannot be fetched offline"), "{out}");
    assert_eq!(fs::read_to_string(ctx.path(LOCK)).unwrap(), text);
    assert_eq!(server.requests_for("/pages/data.txt").len(), 0);
    fs::write(ctx.path(LOCK), &out_text).unwrap();
    let out = ctx.ok(&["-o", "lock"]);
    assert!(
        out.contains(&format!(
            "part `f`: {url} cannot be fetched offline: {LOCK} does not record it"
        )),
        "{out}"
    );
    // A `url` that cannot be fetched (not every `url` option is a
    // download): said, and not recorded.
    let missing = format!("{}/pages/missing.txt", server.url());
    let config = fs::read_to_string(ctx.path("buildout.cfg")).unwrap();
    ctx.write("buildout.cfg", &config.replace(&url, &missing));
    let out = ctx.ok(&["lock"]);
    assert!(
        out.contains(&format!(
            "part `f`: {missing} cannot be fetched (HTTP Error 404: Not Found): {LOCK} does not record it"
        )),
        "{out}"
    );
    assert!(
        !fs::read_to_string(ctx.path(LOCK))
            .unwrap()
            .contains(&missing)
    );
}
