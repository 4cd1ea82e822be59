//! Bytecode: compiled into each distribution object at install (default,
//! hash-based `.pyc` files that a read-only store never rewrites), or, with
//! `compile-bytecode = false`, left to the first import, which writes into
//! the store's bytecode cache that `gc` prunes. Also the batched write path
//! that installs many distributions at once, crashed at every step.

use crate::common::TestContext;
use crate::common::index::IndexServer;
use crate::common::wheel::{Sdist, Wheel};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn config(server: &IndexServer, extra: &str) -> String {
    format!(
        "[buildout]\nparts = app\nindex = {}\n{extra}\n[app]\nrecipe = zc.recipe.egg\neggs = tool\ninterpreter = py\n",
        server.index_url()
    )
}

pub(crate) fn tool_index() -> IndexServer {
    let server = IndexServer::start();
    server
        .publish(
            Wheel::new("tool", "1.0")
                .dep("helper")
                .module(
                    "tool/__init__.py",
                    "import helper\n\ndef main():\n    print('tool', helper.VALUE)\n",
                )
                .module("tool/py2only.py", "print 'not Python 3'\n")
                .module("tool-1.0.dist-info/INSTALLER", "pip\n")
                .entry_point("console_scripts", "tool", "tool:main")
                .build(),
        )
        .publish(
            Wheel::new("helper", "2.0")
                .module("helper.py", "VALUE = 'helper-2.0'\n")
                .module("helper_data/table.txt", "no Python here\n")
                .build(),
        );
    server
}

/// The `python3 -c` cache tag (`cpython-311`) of the interpreter the tests use.
fn cache_tag() -> String {
    let out = Command::new("python3")
        .args(["-c", "import sys; print(sys.implementation.cache_tag)"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The store path of distribution `name` in the current generation.
fn dist(ctx: &TestContext, name: &str) -> PathBuf {
    let part = fs::read_link(ctx.path("parts/app")).unwrap();
    let set: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(part.join("working-set.json")).unwrap()).unwrap();
    let path = set
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == name)
        .unwrap_or_else(|| panic!("{name} in {set}"))["path"]
        .as_str()
        .unwrap()
        .to_string();
    PathBuf::from(path)
}

/// Writes the configuration (with `compile-bytecode = false` when `lazy`),
/// runs `buildout args` and returns the store path of `tool`.
fn install(ctx: &TestContext, server: &IndexServer, lazy: bool, args: &[&str]) -> PathBuf {
    let extra = if lazy {
        "compile-bytecode = false\n"
    } else {
        ""
    };
    ctx.write("buildout.cfg", &config(server, extra));
    ctx.ok(args);
    dist(ctx, "tool")
}

fn pycs(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() && !p.is_symlink() {
                todo.push(p);
            } else if p.extension().is_some_and(|x| x == "pyc") {
                found.push(p);
            }
        }
    }
    found.sort();
    found
}

fn run_tool(ctx: &TestContext) {
    let out = Command::new(ctx.path("bin/tool"))
        .env_remove("PYTHONPYCACHEPREFIX")
        .env_remove("PYTHONDONTWRITEBYTECODE")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "tool helper-2.0\n",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn bytecode_is_compiled_into_the_store_hash_based() {
    let server = tool_index();
    let ctx = TestContext::new();
    ctx.write("buildout.cfg", &config(&server, ""));
    ctx.ok(&[]);
    let tag = cache_tag();
    let tool = dist(&ctx, "tool");
    let pyc = tool.join(format!("tool/__pycache__/__init__.{tag}.pyc"));
    let bytes = fs::read(&pyc).unwrap_or_else(|e| panic!("{}: {e}", pyc.display()));
    // PEP 552 flags: bit 0 = hash-based, bit 1 = check the source: unchecked.
    assert_eq!(&bytes[4..8], &[1, 0, 0, 0], "{}", pyc.display());
    // A file that does not compile gets no bytecode and fails nothing.
    assert!(
        !tool
            .join(format!("tool/__pycache__/py2only.{tag}.pyc"))
            .exists()
    );
    assert!(
        dist(&ctx, "helper")
            .join(format!("__pycache__/helper.{tag}.pyc"))
            .is_file()
    );
    // The wheel's own INSTALLER is replaced by ours.
    assert_eq!(
        fs::read_to_string(tool.join("tool-1.0.dist-info/INSTALLER")).unwrap(),
        "buildout\n"
    );
    // Running the scripts writes nothing anywhere: no cache, no rewrite.
    let before = pycs(&tool);
    run_tool(&ctx);
    assert_eq!(pycs(&tool), before);
    assert!(!ctx.store.join(".bytecode").exists());
    let text = fs::read_to_string(ctx.path("bin/tool")).unwrap();
    assert!(!text.contains("pycache_prefix"), "{text}");
    ctx.ok(&["store", "verify", "--check-contents"]);
}

#[test]
fn without_store_bytecode_the_first_import_fills_the_cache_and_gc_prunes_it() {
    let server = tool_index();
    let ctx = TestContext::new();
    let compiled = install(&ctx, &server, false, &[]);
    let tool = install(&ctx, &server, true, &[]);
    assert_ne!(tool, compiled, "objects without bytecode are other objects");
    assert_eq!(pycs(&tool), Vec::<PathBuf>::new());
    let cache = ctx.store.join(".bytecode");
    for script in ["bin/tool", "bin/py"] {
        let text = fs::read_to_string(ctx.path(script)).unwrap();
        assert!(
            text.contains(&format!(
                "import sys\n{}sys.pycache_prefix = sys.pycache_prefix or '{}'\nsys.path[0:0] = [\n",
                if script == "bin/py" { "\n" } else { "" },
                cache.display()
            )),
            "{script}: {text}"
        );
    }
    run_tool(&ctx);
    let part = fs::read_link(ctx.path("parts/app")).unwrap();
    let mirror = cache.join(part.strip_prefix("/").unwrap());
    let tag = cache_tag();
    assert!(
        mirror
            .join(format!("site/tool/__init__.{tag}.pyc"))
            .is_file(),
        "{:?}",
        pycs(&cache)
    );
    assert_eq!(pycs(&tool), Vec::<PathBuf>::new(), "the store is untouched");
    ctx.ok(&["store", "verify", "--check-contents"]);

    // Back to compiled objects; once the generation without bytecode is
    // deleted, gc removes its part and the part's cached bytecode.
    ctx.write("buildout.cfg", &config(&server, ""));
    ctx.ok(&[]);
    ctx.ok(&["generations", "delete", "1", "2"]);
    ctx.ok(&["gc"]);
    assert!(!part.exists());
    assert!(!mirror.exists(), "{:?}", pycs(&cache));
    run_tool(&ctx);
}

#[test]
fn compile_bytecode_must_be_true_or_false() {
    let server = tool_index();
    let ctx = TestContext::new();
    ctx.write("buildout.cfg", &config(&server, "compile-bytecode = yes\n"));
    let (_, err) = ctx.fails(&[]);
    assert!(
        err.contains("Error: Invalid value for 'compile-bytecode' option: 'yes'\n"),
        "{err}"
    );
}

#[test]
fn a_crash_while_adding_many_distributions_leaves_the_store_consistent() {
    let server = tool_index();
    for point in [
        "add-staged",
        "add-hashed",
        "add-synced",
        "add-renamed",
        "add-registered",
    ] {
        let ctx = TestContext::new();
        ctx.write("buildout.cfg", &config(&server, ""));
        let status = ctx
            .command()
            .env("BUILDOUT_FAILPOINT", point)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(!status.success(), "{point}: the run should have crashed");
        ctx.ok(&["store", "verify", "--check-contents"]);
        let ls = ctx.ok(&["store", "ls"]);
        assert_eq!(
            ls.contains("-tool-1.0"),
            point == "add-registered",
            "{point}: all of the batch is registered, or none: {ls}"
        );
        // The rerun completes, and gc leaves nothing half-made behind.
        ctx.ok(&[]);
        run_tool(&ctx);
        ctx.ok(&["gc"]);
        ctx.ok(&["store", "verify", "--check-contents"]);
        run_tool(&ctx);
        let leftovers: Vec<_> = fs::read_dir(ctx.store.join(".staging"))
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert!(leftovers.is_empty(), "{point}: {leftovers:?}");
    }
}

#[test]
fn minus_n_reuses_only_objects_made_with_the_same_bytecode_setting() {
    let server = tool_index();
    let ctx = TestContext::new();
    let compiled = install(&ctx, &server, false, &[]);
    // Not newest: the store-only attempt must not take the compiled object
    // for a buildout that wants none (or the reverse).
    let lazy = install(&ctx, &server, true, &["-N"]);
    assert_ne!(lazy, compiled);
    assert_eq!(pycs(&lazy), Vec::<PathBuf>::new());
    assert_eq!(install(&ctx, &server, false, &["-N"]), compiled);
    assert_eq!(install(&ctx, &server, true, &["-N"]), lazy);
    run_tool(&ctx);
}

#[test]
fn a_pure_wheel_gets_bytecode_for_each_python_that_uses_it() {
    let Some(py312) = crate::common::other_python() else {
        // No second interpreter on this machine: nothing to compare.
        return;
    };
    let server = tool_index();
    let ctx = TestContext::new();
    ctx.write(
        "buildout.cfg",
        &format!(
            "[buildout]\nparts = app new\nindex = {}\n\n[app]\nrecipe = zc.recipe.egg:eggs\neggs = helper\n\n\
             [new]\nrecipe = zc.recipe.egg:eggs\neggs = helper\nexecutable = {py312}\n",
            server.index_url()
        ),
    );
    ctx.ok(&[]);
    let manifest: serde_json::Value = serde_json::from_str(
        &fs::read_to_string(ctx.path(".buildout/current/manifest.json")).unwrap(),
    )
    .unwrap();
    let paths: Vec<PathBuf> = manifest["parts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| PathBuf::from(p["distributions"][0]["path"].as_str().unwrap()))
        .collect();
    assert_eq!(paths.len(), 2);
    assert_ne!(paths[0], paths[1], "one object per Python version");
    let tags: Vec<Vec<PathBuf>> = paths.iter().map(|p| pycs(p)).collect();
    assert!(
        tags[0][0].to_string_lossy().contains(&cache_tag()),
        "{tags:?}"
    );
    assert!(tags[1][0].to_string_lossy().contains("-312"), "{tags:?}");
}

#[test]
fn a_distribution_built_from_an_sdist_follows_the_setting_too() {
    let server = IndexServer::start();
    server.publish(
        Sdist::new("tool", "1.0")
            .module("tool/__init__.py", "def main():\n    print('tool built')\n")
            .build(),
    );
    let ctx = TestContext::new();
    let compiled = install(&ctx, &server, false, &[]);
    assert!(!pycs(&compiled).is_empty());
    // The sdist's built wheel is reused; the install without bytecode is
    // another object.
    let lazy = install(&ctx, &server, true, &[]);
    assert_ne!(lazy, compiled);
    assert_eq!(pycs(&lazy), Vec::<PathBuf>::new());
    ctx.ok(&["store", "verify", "--check-contents"]);
}
