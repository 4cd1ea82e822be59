//! The lock file, continued: sdists' build environments are locked and a
//! locked install builds with exactly them.

use crate::common::index::IndexServer;
use crate::common::wheel::{Dist, MetadataFile, Sdist, Wheel, tar_header};
use crate::common::{TestContext, pairs, working_set};
use std::fs;
use std::io::Write;

use crate::lock::{LOCK, pages};

/// The sdist `legacy 2.0` whose `[build-system] requires` is `helper` and
/// whose backend's `get_requires_for_build_wheel` adds `extra`; its build
/// imports both and puts their versions into the wheel (`legacy/seen.py`).
fn legacy_needing_build_requirements() -> Dist {
    let base =
        Sdist::new("legacy", "2.0").module("legacy/__init__.py", "from legacy.seen import *\n");
    let stem = "legacy-2.0";
    let mut tar = Vec::new();
    let mut files = base.files();
    for (path, text) in &mut files {
        if path == "pyproject.toml" {
            *text = text.replace("requires = []", "requires = [\"helper\"]");
        }
        if path == "_backend.py" {
            *text = text
                .replace(
                    "def get_requires_for_build_wheel(config_settings=None):\n    return []",
                    "def get_requires_for_build_wheel(config_settings=None):\n    import helper\n    return [\"extra\"]",
                )
                .replace(
                    "    files = []\n    for root, dirs, names",
                    "    import helper, extra\n    files = [(\"legacy/seen.py\", (\"HELPER = %r\\nEXTRA = %r\\n\" % (helper.V, extra.V)).encode())]\n    for root, dirs, names",
                );
        }
    }
    for (path, text) in &files {
        let path = format!("{stem}/{path}");
        tar.extend(tar_header(&path, text.len(), b'0', ""));
        tar.extend(text.as_bytes());
        tar.resize(tar.len().div_ceil(512) * 512, 0);
    }
    tar.resize(tar.len() + 1024, 0);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&tar).unwrap();
    Dist {
        filename: format!("{stem}.tar.gz"),
        bytes: gz.finish().unwrap(),
        metadata: base.pkg_info().into_bytes(),
        requires_python: None,
        yanked: None,
        metadata_file: MetadataFile::Absent,
    }
}

/// A build requirement `name` at `version` (`V` says which).
fn build_requirement(name: &str, version: &str) -> Dist {
    Wheel::new(name, version)
        .module(&format!("{name}.py"), &format!("V = {version:?}\n"))
        .build()
}

#[test]
fn sdist_build_requirements_are_locked_and_a_locked_install_builds_with_them() {
    let server = IndexServer::start();
    server
        .publish(build_requirement("helper", "1.0"))
        .publish(build_requirement("extra", "1.0"))
        .publish(legacy_needing_build_requirements());
    let ctx = TestContext::new();
    ctx.write(
        "buildout.cfg",
        &format!(
            "[buildout]\nparts = app\nindex = {}\n\n[app]\nrecipe = zc.recipe.egg\neggs = legacy\ninterpreter = py\n",
            server.index_url()
        ),
    );
    ctx.ok(&["lock"]);
    let text = fs::read_to_string(ctx.path(LOCK)).unwrap();
    for needle in [
        "name = \"helper\"\nversion = \"1.0\"\nmarker = \"'build-legacy-2-0' in dependency_groups\"",
        "name = \"extra\"\nversion = \"1.0\"\nmarker = \"'build-legacy-2-0' in dependency_groups\"",
        "group = \"build-legacy-2-0\"\nbuild = \"legacy 2.0\"",
        "requirements = [\"helper\", \"extra\"]",
        "dependency-groups = [\"app\", \"build-legacy-2-0\"]",
    ] {
        assert!(text.contains(needle), "{needle}\n{text}");
    }
    // Newer build requirements appear; a locked install on a cold store
    // reads no index page and builds with the locked ones.
    server
        .publish(build_requirement("helper", "9.0"))
        .publish(build_requirement("extra", "9.0"));
    let _ = fs::remove_dir_all(ctx.home.join(".buildout/cache"));
    let store = ctx.root.join("cold-store");
    server.clear_log();
    ctx.ok(&["--store", store.to_str().unwrap(), "install", "--locked"]);
    assert_eq!(pages(&server), Vec::<String>::new());
    assert_eq!(working_set(&ctx), pairs(&[("legacy", "2.0")]));
    let out = std::process::Command::new(ctx.path("bin/py"))
        .args(["-c", "import legacy; print(legacy.HELPER, legacy.EXTRA)"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "1.0 1.0",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Locking again keeps the locked build requirements; upgrading one
    // moves only it.
    ctx.ok(&["lock"]);
    assert_eq!(fs::read_to_string(ctx.path(LOCK)).unwrap(), text);
    ctx.ok(&["lock", "--upgrade-package", "helper"]);
    let upgraded = fs::read_to_string(ctx.path(LOCK)).unwrap();
    assert!(
        upgraded.contains("name = \"helper\"\nversion = \"9.0\"")
            && upgraded.contains("name = \"extra\"\nversion = \"1.0\""),
        "{upgraded}"
    );
}

fn sha256_hex(text: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(text.as_bytes()))
}

#[test]
fn http_extends_and_template_urls_are_locked_and_a_changed_one_is_an_error() {
    let server = IndexServer::start();
    server.publish(Wheel::new("tool", "0.1").build());
    let base_text = "[buildout]\nparts = app motd\n";
    let template_text = "hello ${app:eggs}\n";
    let base = server.page("base.cfg", base_text);
    let template = server.page("motd.in", template_text);
    let ctx = TestContext::new();
    ctx.write(
        "buildout.cfg",
        &format!(
            "[buildout]\nextends = {base}\nindex = {}\n\n[app]\nrecipe = zc.recipe.egg:eggs\neggs = tool\n\n[motd]\nrecipe = collective.recipe.template\nurl = {template}\noutput = ${{buildout:directory}}/motd\n",
            server.index_url()
        ),
    );
    ctx.ok(&["lock"]);
    let text = fs::read_to_string(ctx.path(LOCK)).unwrap();
    ctx.ok(&["install", "--locked"]);
    assert_eq!(fs::read_to_string(ctx.path(LOCK)).unwrap(), text);
    for (url, content) in [(&base, base_text), (&template, template_text)] {
        let entry = format!(
            "{{ url = \"{url}\", size = {}, sha256 = \"{}\" }}",
            content.len(),
            sha256_hex(content)
        );
        assert!(text.contains(&entry), "{entry}\n{text}");
    }
    assert_eq!(
        fs::read_to_string(ctx.path("motd")).unwrap(),
        "hello tool\n"
    );
    let generation = fs::read_link(ctx.path(".buildout/current")).unwrap();
    // The template changes upstream: an error naming the lock and the URL,
    // and nothing installed.
    server.page("motd.in", "goodbye ${app:eggs}\n");
    for args in [&["install"][..], &["install", "--locked"]] {
        let (_, err) = ctx.fails(args);
        assert!(
            err.contains(LOCK) && err.contains(&template) && err.contains("changed"),
            "{err}"
        );
    }
    assert_eq!(
        fs::read_to_string(ctx.path("motd")).unwrap(),
        "hello tool\n"
    );
    assert_eq!(
        fs::read_link(ctx.path(".buildout/current")).unwrap(),
        generation
    );
    // So does the extended configuration.
    server.page("motd.in", template_text);
    server.page("base.cfg", "[buildout]\nparts = app motd\n# edited\n");
    let (_, err) = ctx.fails(&["install"]);
    assert!(err.contains(LOCK) && err.contains(&base), "{err}");
    // Locking again takes the new contents.
    server.page("base.cfg", "[buildout]\nparts = app motd\n# edited\n");
    ctx.ok(&["lock"]);
    ctx.ok(&["install", "--locked"]);
}

/// A recipe fetching its `url` (or, when it has none, its `src`) with
/// zc.buildout's `Download` and copying it to `parts/<name>/out.txt`.
pub(crate) const FETCH_RECIPE: &str = r#"
import os
import shutil
import zc.buildout.download


class Fetch:
    def __init__(self, buildout, name, options):
        self.buildout = buildout
        self.options = options
        options['location'] = os.path.join(buildout['buildout']['parts-directory'], name)

    def install(self):
        download = zc.buildout.download.Download(self.buildout['buildout'])
        url = self.options.get('url') or self.options['src']
        path, is_temp = download(url)
        os.makedirs(self.options['location'])
        shutil.copy(path, os.path.join(self.options['location'], 'out.txt'))
        return self.options['location']
"#;

#[test]
fn recipe_downloads_join_the_lock_and_a_changed_one_is_an_error() {
    let server = IndexServer::start();
    server.publish(
        Wheel::new("fetchrecipe", "1.0")
            .module("fetchrecipe.py", FETCH_RECIPE)
            .entry_point("zc.buildout", "default", "fetchrecipe:Fetch")
            .build(),
    );
    let url = server.page("data.txt", "first\n");
    let config = crate::common::host_config(
        &server,
        "parts = f",
        &format!("[f]\nrecipe = fetchrecipe\nurl = {url}\n"),
    );
    let ctx = TestContext::new();
    ctx.write("buildout.cfg", &config);
    ctx.ok(&["lock"]);
    // Locking runs no recipe: the install adds the download to the lock.
    ctx.ok(&["install"]);
    let text = fs::read_to_string(ctx.path(LOCK)).unwrap();
    let entry = format!(
        "{{ url = \"{url}\", size = 6, sha256 = \"{}\" }}",
        sha256_hex("first\n")
    );
    assert!(text.contains(&entry), "{entry}\n{text}");
    // Another checkout of the same buildout, after the file changed.
    server.page("data.txt", "second\n");
    let other = TestContext::new();
    other.write("buildout.cfg", &config);
    other.write(LOCK, &text);
    let (_, err) = other.fails(&["install", "--locked"]);
    assert!(
        err.contains(LOCK) && err.contains(&url) && err.contains("changed"),
        "{err}"
    );
    assert!(!other.path("parts/f/out.txt").exists());
    server.page("data.txt", "first\n");
    other.ok(&["install", "--locked"]);
    assert_eq!(
        fs::read_to_string(other.path("parts/f/out.txt")).unwrap(),
        "first\n"
    );
}

#[test]
fn a_dry_run_shows_what_the_lock_would_install() {
    let server = IndexServer::start();
    server
        .publish(Wheel::new("web", "1.0").dep("util>=1").build())
        .publish(Wheel::new("util", "1.5").build());
    let ctx = TestContext::new();
    ctx.write(
        "buildout.cfg",
        &format!(
            "[buildout]\nparts = app\nindex = {}\n\n[app]\nrecipe = zc.recipe.egg:eggs\neggs = web\n",
            server.index_url()
        ),
    );
    ctx.ok(&["lock"]);
    server.publish(Wheel::new("util", "3.0").build());
    let _ = fs::remove_dir_all(ctx.home.join(".buildout/cache"));
    server.clear_log();
    let out = ctx.ok(&["install", "--dry-run"]);
    assert!(
        out.contains(&format!("would install the distributions {LOCK} locks")),
        "{out}"
    );
    assert!(out.contains("would download util 1.5"), "{out}");
    assert!(!out.contains("3.0"), "{out}");
    assert_eq!(pages(&server), Vec::<String>::new());
    assert!(!ctx.path(".buildout/current").exists());
    // Once installed, the dry run reuses what the lock names.
    ctx.ok(&["install", "--locked"]);
    let out = ctx.ok(&["install", "--dry-run", "--locked"]);
    assert!(out.contains("would reuse util 1.5"), "{out}");
}

/// The store object names (hash-name-version) of the current generation's
/// distributions.
fn objects(ctx: &TestContext) -> Vec<String> {
    let m = fs::read_to_string(ctx.path(".buildout/current/manifest.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&m).unwrap();
    let mut out: Vec<String> = v["distributions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let p = d["path"].as_str().unwrap();
            p.rsplit('/').next().unwrap().to_string()
        })
        .collect();
    out.sort();
    out
}

#[test]
fn newer_wheels_in_find_links_do_not_change_a_fresh_install_from_the_lock() {
    let root = tempfile::tempdir().unwrap();
    let wheels = root.path().join("wheels");
    fs::create_dir_all(&wheels).unwrap();
    let put = |d: Dist| fs::write(wheels.join(&d.filename), &d.bytes).unwrap();
    put(Wheel::new("web", "1.0").dep("util>=1").dep("tpl").build());
    put(Wheel::new("util", "1.5").build());
    put(Wheel::new("tpl", "2.0").dep("marks>=1").build());
    put(Wheel::new("marks", "1.1").build());
    let config = format!(
        "[buildout]\nparts = app\nindex = http://127.0.0.1:9/simple/\nfind-links = {}\n\n[app]\nrecipe = zc.recipe.egg:eggs\neggs = web\n",
        wheels.display()
    );
    // One store for both machines: an object's address is the digest of
    // the wheel's sha256 (and the interpreter), so the same addresses mean
    // the same files.
    let store = root.path().join("store");
    let store = store.to_str().unwrap();
    let first = TestContext::new();
    first.write("buildout.cfg", &config);
    first.ok(&["-o", "--store", store, "lock"]);
    first.ok(&["-o", "--store", store, "install"]);
    let set = working_set(&first);
    assert_eq!(
        set,
        pairs(&[
            ("marks", "1.1"),
            ("tpl", "2.0"),
            ("util", "1.5"),
            ("web", "1.0")
        ])
    );
    // A day of releases: newer versions of everything.
    put(Wheel::new("web", "1.1").dep("util>=1").dep("tpl").build());
    put(Wheel::new("util", "2.0").build());
    put(Wheel::new("tpl", "2.1").dep("marks>=1").build());
    put(Wheel::new("marks", "1.2").build());
    // Another checkout: the configuration and the lock.
    let second = TestContext::new();
    second.write("buildout.cfg", &config);
    second.write(LOCK, &fs::read_to_string(first.path(LOCK)).unwrap());
    second.ok(&["--store", store, "install"]);
    assert_eq!(working_set(&second), set);
    assert_eq!(objects(&second), objects(&first), "the same files");
    // Without the lock the same buildout (same store) takes the new
    // releases.
    let third = TestContext::new();
    third.write("buildout.cfg", &config);
    third.ok(&["--store", store, "install"]);
    assert_eq!(
        working_set(&third),
        pairs(&[
            ("marks", "1.2"),
            ("tpl", "2.1"),
            ("util", "2.0"),
            ("web", "1.1")
        ])
    );
}

#[test]
fn a_build_requirement_that_is_an_sdist_has_its_build_locked_too() {
    let server = IndexServer::start();
    server
        .publish(
            Sdist::new("helper", "1.0")
                .module("helper.py", "V = '1.0'\n")
                .build(),
        )
        .publish(build_requirement("extra", "1.0"))
        .publish(legacy_needing_build_requirements());
    let ctx = TestContext::new();
    ctx.write(
        "buildout.cfg",
        &format!(
            "[buildout]\nparts = app\nindex = {}\n\n[app]\nrecipe = zc.recipe.egg:eggs\neggs = legacy\n",
            server.index_url()
        ),
    );
    ctx.ok(&["lock"]);
    // Locked again from scratch: `helper` is built in the store by now,
    // its build environment is recorded all the same.
    fs::remove_file(ctx.path(LOCK)).unwrap();
    ctx.ok(&["lock"]);
    let text = fs::read_to_string(ctx.path(LOCK)).unwrap();
    assert!(
        text.contains("group = \"build-helper-1-0\"\nbuild = \"helper 1.0\""),
        "{text}"
    );
    let store = ctx.root.join("cold-store");
    server.clear_log();
    ctx.ok(&["--store", store.to_str().unwrap(), "install", "--locked"]);
    assert_eq!(pages(&server), Vec::<String>::new());
    assert_eq!(working_set(&ctx), pairs(&[("legacy", "2.0")]));
}
