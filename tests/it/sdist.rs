//! Sdists and develop eggs against the local test index. Every sdist here
//! carries an in-tree PEP 517 backend (`backend-path`), so nothing needs
//! the network or setuptools.

use crate::common::TestContext;
use crate::common::index::IndexServer;
use crate::common::wheel::{Sdist, Wheel};
use std::fs;

fn config(server: &IndexServer, eggs: &str, extra: &str) -> String {
    format!(
        "[buildout]\nparts = app\nindex = {}\n{extra}\n[app]\nrecipe = zc.recipe.egg:eggs\neggs =\n    {}\n",
        server.index_url(),
        eggs.replace('\n', "\n    ")
    )
}

/// (name, version, path) of the current generation's working set.
fn working_set(ctx: &TestContext) -> Vec<(String, String, String)> {
    let manifest: serde_json::Value = serde_json::from_str(
        &fs::read_to_string(ctx.path(".buildout/current/manifest.json")).unwrap(),
    )
    .unwrap();
    manifest["distributions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["name"].as_str().unwrap().to_string(),
                d["version"].as_str().unwrap().to_string(),
                d["path"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn python(paths: &[&str], code: &str) -> String {
    let out = std::process::Command::new("python3")
        .args(["-c", code])
        .env("PYTHONPATH", paths.join(":"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn store_kinds(ctx: &TestContext, kind: &str) -> usize {
    ctx.ok(&["store", "ls"])
        .lines()
        .filter(|l| l.split_whitespace().next() == Some(kind))
        .count()
}

#[test]
fn sdist_only_dependency_is_built_once_and_reused() {
    let server = IndexServer::start();
    server
        .publish(Wheel::new("app", "1.0").dep("helper>=1").build())
        .publish(
            Sdist::new("helper", "1.2")
                .dep("tiny")
                .module("helper/__init__.py", "VALUE = 'built from source'\n")
                .build(),
        )
        .publish(Wheel::new("tiny", "1.0").build());
    let ctx = TestContext::new();
    ctx.write("buildout.cfg", &config(&server, "app", ""));
    let out = ctx.ok(&[]);
    assert!(
        out.contains("Building helper 1.2 from its sdist.\n"),
        "{out}"
    );
    assert!(out.contains("Got helper 1.2.\n"), "{out}");
    let set = working_set(&ctx);
    let names: Vec<&str> = set.iter().map(|(n, _, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["app", "helper", "tiny"],
        "PKG-INFO's Requires-Dist followed"
    );
    let helper = &set[1].2;
    assert_eq!(
        python(&[helper], "import helper; print(helper.VALUE)"),
        "built from source\n"
    );
    assert_eq!(store_kinds(&ctx, "artifact"), 1, "one built wheel");

    // A second buildout on the same store: nothing is built again.
    let other = ctx.root.join("other");
    fs::create_dir_all(&other).unwrap();
    fs::write(other.join("buildout.cfg"), config(&server, "app", "")).unwrap();
    let run = crate::common::run(ctx.command().current_dir(&other));
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(!run.stdout.contains("Building"), "{}", run.stdout);
    assert!(
        !run.stdout.contains("Getting distribution for 'helper"),
        "{}",
        run.stdout
    );
    assert_eq!(store_kinds(&ctx, "artifact"), 1);
}

#[test]
fn sdist_metadata_from_a_build_when_pkg_info_is_old() {
    let server = IndexServer::start();
    server
        .publish(
            Sdist::new("oldmeta", "0.5")
                .metadata_version("1.2")
                .dep("tiny")
                .build(),
        )
        .publish(Wheel::new("tiny", "1.0").build());
    let ctx = TestContext::new();
    ctx.write("buildout.cfg", &config(&server, "oldmeta", ""));
    ctx.ok(&[]);
    assert_eq!(
        store_kinds(&ctx, "artifact"),
        1,
        "built once, for metadata and install"
    );
    let names: Vec<String> = working_set(&ctx).into_iter().map(|d| d.0).collect();
    assert_eq!(names, ["oldmeta", "tiny"]);
}

#[test]
fn wheels_win_over_sdists() {
    let server = IndexServer::start();
    server
        .publish(
            Sdist::new("both", "1.0")
                .failing("must not be built")
                .build(),
        )
        .publish(Wheel::new("both", "1.0").build());
    let ctx = TestContext::new();
    ctx.write("buildout.cfg", &config(&server, "both", ""));
    let out = ctx.ok(&[]);
    assert!(!out.contains("Building"), "{out}");
}

#[test]
fn build_failure_shows_the_backend_output() {
    let server = IndexServer::start();
    server.publish(
        Sdist::new("broken", "1.0")
            .metadata_version("2.1")
            .failing("error: broken.h: No such file or directory")
            .build(),
    );
    let ctx = TestContext::new();
    ctx.write("buildout.cfg", &config(&server, "broken", ""));
    let (stdout, stderr) = ctx.fails(&[]);
    let all = format!("{stdout}{stderr}");
    assert!(
        all.contains(
            "building `broken 1.0` failed: the backend's `build_wheel` exited with status 1"
        ),
        "{all}"
    );
    assert!(all.contains("test backend: compiling"), "{all}");
    assert!(
        all.contains("error: broken.h: No such file or directory"),
        "{all}"
    );
    assert!(!ctx.path(".buildout/current").exists());
}

#[test]
fn unsafe_sdist_paths_are_rejected() {
    for (i, (member, kind, target)) in [
        ("evil-1.0/../../escaped", tar::EntryType::Regular, "x"),
        (
            "evil-1.0/link",
            tar::EntryType::Symlink,
            "../../../etc/passwd",
        ),
        ("evil-1.0/abs", tar::EntryType::Symlink, "/etc/passwd"),
    ]
    .into_iter()
    .enumerate()
    {
        let server = IndexServer::start();
        server.publish(
            Sdist::new("evil", "1.0")
                .metadata_version("2.1")
                .raw_member(member, kind, target)
                .build(),
        );
        let ctx = TestContext::new();
        ctx.write("buildout.cfg", &config(&server, "evil", ""));
        let (stdout, stderr) = ctx.fails(&[]);
        let all = format!("{stdout}{stderr}");
        assert!(
            all.contains("sdist `evil-1.0.tar.gz` contains an unsafe path"),
            "{i}: {all}"
        );
        assert!(!ctx.store.join("escaped").exists());
    }
}

fn develop_config(server: &IndexServer, develop: &str, eggs: &str) -> String {
    config(server, eggs, &format!("develop = {develop}"))
}

#[test]
fn develop_egg_is_editable_and_wins_over_the_index() {
    let server = IndexServer::start();
    server
        .publish(Wheel::new("demo", "9.0").build())
        .publish(Wheel::new("tiny", "1.0").build());
    let ctx = TestContext::new();
    Sdist::new("demo", "0.1.dev0")
        .dep("tiny")
        .module("demo/__init__.py", "MESSAGE = 'first'\n")
        .write_tree(&ctx.path("src/demo"));
    ctx.write(
        "buildout.cfg",
        &develop_config(&server, "src/demo src/missing*", "demo"),
    );
    let out = ctx.ok(&[]);
    let src = ctx.path("src/demo");
    assert!(
        out.contains(&format!("Develop: '{}'\n", src.display())),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "Couldn't develop '{}' (not found)\n",
            ctx.path("src/missing*").display()
        )),
        "{out}"
    );
    let set = working_set(&ctx);
    assert_eq!(
        set.iter()
            .map(|d| (d.0.as_str(), d.1.as_str()))
            .collect::<Vec<_>>(),
        [("demo", "0.1.dev0"), ("tiny", "1.0")],
        "the develop egg wins over demo 9.0 on the index"
    );
    let demo = &set[0].2;
    // The editable install's .pth points at the mutable source.
    let pth = fs::read_to_string(format!("{demo}/_demo_editable.pth")).unwrap();
    assert_eq!(pth.trim(), src.join("src").display().to_string());
    let read = format!("import site; site.addsitedir({demo:?}); import demo; print(demo.MESSAGE)");
    assert_eq!(python(&[], &read), "first\n");
    fs::write(src.join("src/demo/__init__.py"), "MESSAGE = 'edited'\n").unwrap();
    assert_eq!(python(&[], &read), "edited\n", "edits show without a rerun");

    // Unchanged metadata files: the develop object is reused, no backend call.
    let out = ctx.ok(&[]);
    assert!(out.contains("Develop: "), "{out}");
    assert_eq!(working_set(&ctx)[0].2, *demo);
    // A metadata change rebuilds.
    let toml = src.join("pyproject.toml");
    let text = fs::read_to_string(&toml).unwrap();
    fs::write(&toml, text + "# changed\n").unwrap();
    ctx.ok(&[]);
    assert_ne!(working_set(&ctx)[0].2, *demo);
}

#[test]
fn develop_build_failure_names_the_directory() {
    let server = IndexServer::start();
    let ctx = TestContext::new();
    Sdist::new("bad", "1.0")
        .failing("no editable for you")
        .write_tree(&ctx.path("bad"));
    ctx.write("buildout.cfg", &develop_config(&server, "bad", "bad"));
    let (stdout, stderr) = ctx.fails(&[]);
    let all = format!("{stdout}{stderr}");
    assert!(all.contains("no editable for you"), "{all}");
    assert!(
        all.contains(&format!(
            "Processing develop directory '{}'.",
            ctx.path("bad").display()
        )),
        "{all}"
    );
}

#[test]
fn develop_recipe_makes_later_parts_use_the_project() {
    let server = IndexServer::start();
    server.publish(Wheel::new("lib", "5.0").build());
    let ctx = TestContext::new();
    Sdist::new("lib", "0.1").write_tree(&ctx.path("lib"));
    ctx.write(
        "buildout.cfg",
        &format!(
            "[buildout]\nparts = dev app\nindex = {}\n\n[dev]\nrecipe = zc.recipe.egg:develop\nsetup = lib\n\n\
             [app]\nrecipe = zc.recipe.egg:eggs\neggs = lib\n",
            server.index_url()
        ),
    );
    ctx.ok(&[]);
    let set = working_set(&ctx);
    assert!(set.iter().all(|d| d.1 == "0.1"), "{set:?}");
}

/// Opt-in (`--features net-tests`): a `setup.py`-only project developed
/// through setuptools from PyPI (the `__legacy__` fallback and setuptools'
/// PEP 660 hook).
#[cfg(feature = "net-tests")]
#[test]
fn develop_with_setuptools_from_pypi() {
    let ctx = TestContext::new();
    ctx.write(
        "proj/setup.py",
        "from setuptools import setup\nsetup(name='proj', version='0.3', py_modules=['proj'])\n",
    );
    ctx.write("proj/proj.py", "X = 'setuptools'\n");
    ctx.write(
        "buildout.cfg",
        "[buildout]\nparts = app\ndevelop = proj\n[app]\nrecipe = zc.recipe.egg:eggs\neggs = proj\n",
    );
    ctx.ok(&[]);
    let set = working_set(&ctx);
    assert_eq!((set[0].0.as_str(), set[0].1.as_str()), ("proj", "0.3"));
    let read = format!(
        "import site; site.addsitedir({:?}); import proj; print(proj.X)",
        set[0].2
    );
    assert_eq!(python(&[], &read), "setuptools\n");
}

/// Opt-in (`--features net-tests`): `docopt 0.6.2` exists only as a
/// `setup.py` sdist on PyPI; it is built with setuptools from PyPI.
#[cfg(feature = "net-tests")]
#[test]
fn real_sdist_from_pypi() {
    let ctx = TestContext::new();
    ctx.write(
        "buildout.cfg",
        "[buildout]\nparts = app\n[app]\nrecipe = zc.recipe.egg:eggs\neggs = docopt==0.6.2\n",
    );
    ctx.ok(&[]);
    // Its PKG-INFO is old (1.x): the metadata came from the build, whose
    // wheel the install then reused.
    assert_eq!(store_kinds(&ctx, "artifact"), 1);
    let set = working_set(&ctx);
    assert_eq!(
        python(&[&set[0].2], "import docopt; print(docopt.__version__)"),
        "0.6.2\n"
    );
    let out = ctx.ok(&[]);
    assert!(!out.contains("Building"), "{out}");
}

#[test]
fn custom_builds_the_sdist_with_its_settings_and_wins_for_later_parts() {
    let server = IndexServer::start();
    server.publish(Sdist::new("fastmath", "1.0").build());
    server.publish(Wheel::new("fastmath", "1.0").build());
    let ctx = TestContext::new();
    ctx.write(
        "buildout.cfg",
        &format!(
            "[buildout]\nparts = custom app\nindex = {}\n\
             [custom]\nrecipe = zc.recipe.egg:custom\negg = fastmath\n\
             include-dirs = include\n  /opt/x/include\nlibrary-dirs = lib\n\
             rpath = $ORIGIN/../lib\ndefine = FAST,LEVEL=3\nlibraries = m z\n\
             environment = build-env\n\
             [build-env]\nCUSTOM_VAR = from-buildout\n\
             [app]\nrecipe = zc.recipe.egg:eggs\neggs = fastmath\n",
            server.index_url()
        ),
    );
    let out = ctx.ok(&[]);
    assert!(
        out.contains("Building fastmath 1.0 from its sdist."),
        "{out}"
    );
    let set = working_set(&ctx);
    assert_eq!(set.len(), 1, "one fastmath, the custom one: {set:?}");
    let dir = &set[0].2;
    assert!(dir.ends_with("-fastmath-1.0-custom"), "{dir}");
    let seen = python(
        &[dir],
        "import fastmath_build_env as e; print(e.CFLAGS); print(e.LDFLAGS); print(e.CUSTOM_VAR)",
    );
    let lines: Vec<&str> = seen.lines().collect();
    let work = ctx.work.display();
    assert!(
        lines[0].ends_with(&format!(
            "-I{work}/include -I/opt/x/include -DFAST -DLEVEL=3"
        )),
        "{seen}"
    );
    assert!(
        lines[1].ends_with(&format!("-L{work}/lib -Wl,-rpath,$ORIGIN/../lib -lm -lz")),
        "{seen}"
    );
    assert_eq!(lines[2], "from-buildout");
    // A rerun builds nothing.
    let out = ctx.ok(&[]);
    assert!(!out.contains("Building"), "{out}");
}

#[test]
fn custom_options_that_cannot_work_are_named() {
    let ctx = TestContext::new();
    ctx.write(
        "buildout.cfg",
        "[buildout]\nparts = c\n[c]\nrecipe = zc.recipe.egg:custom\negg = x\nswig = /usr/bin/swig\n",
    );
    let (_, err) = ctx.fails(&[]);
    assert!(
        err.contains("the `swig` option of zc.recipe.egg:custom (part c) cannot be honoured by PEP 517 builds"),
        "{err}"
    );
}

#[test]
fn a_custom_build_is_not_reused_by_other_buildouts() {
    let server = IndexServer::start();
    server.publish(Sdist::new("fastmath", "1.0").build());
    let ctx = TestContext::new();
    ctx.write(
        "buildout.cfg",
        &format!(
            "[buildout]\nparts = custom\nindex = {}\n[custom]\nrecipe = zc.recipe.egg:custom\negg = fastmath\ndefine = SPECIAL\n",
            server.index_url()
        ),
    );
    ctx.ok(&[]);
    // Another buildout on the same store, not newest: it must get an
    // ordinary build, not the one made with the first buildout's flags.
    let other = ctx.root.join("other");
    fs::create_dir_all(&other).unwrap();
    fs::write(other.join("buildout.cfg"), config(&server, "fastmath", "")).unwrap();
    let run = crate::common::run(ctx.command().current_dir(&other).arg("-N"));
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let manifest: serde_json::Value = serde_json::from_str(
        &fs::read_to_string(other.join(".buildout/current/manifest.json")).unwrap(),
    )
    .unwrap();
    let path = manifest["distributions"][0]["path"].as_str().unwrap();
    assert!(!path.ends_with("-custom"), "{path}");
}
