//! The lock file (`buildout lock`, `pylock.<config>.toml`, PEP 751) and
//! installing from it, against the local test index only.

use crate::common::index::IndexServer;
use crate::common::wheel::Wheel;
use crate::common::{TestContext, other_python, pairs, working_set};
use std::fs;
use std::path::Path;

pub(crate) const LOCK: &str = "pylock.buildout.toml";

fn index() -> IndexServer {
    let server = IndexServer::start();
    server
        .publish(Wheel::new("web", "1.0").dep("util>=1").build())
        .publish(Wheel::new("util", "1.5").build())
        .publish(Wheel::new("util", "2.1").build())
        .publish(Wheel::new("tool", "0.1").build());
    server
}

/// Part `app` (eggs `web`) and part `old` (`util<2`).
fn two_parts(server: &IndexServer) -> String {
    format!(
        "[buildout]\nparts = app old\nindex = {}\n\n[app]\nrecipe = zc.recipe.egg:eggs\neggs = web\n\n[old]\nrecipe = zc.recipe.egg:eggs\neggs = util<2\n",
        server.index_url()
    )
}

/// The index, a buildout of [`two_parts`] and its lock.
fn locked_two_parts() -> (IndexServer, TestContext) {
    let server = index();
    let ctx = TestContext::new();
    ctx.write("buildout.cfg", &two_parts(&server));
    ctx.ok(&["lock"]);
    (server, ctx)
}

/// `wheels/` in the buildout directory, holding `dists` (a find-links
/// directory).
fn wheel_dir(ctx: &TestContext, dists: &[crate::common::wheel::Dist]) {
    let wheels = ctx.path("wheels");
    fs::create_dir_all(&wheels).unwrap();
    for dist in dists {
        fs::write(wheels.join(&dist.filename), &dist.bytes).unwrap();
    }
}

/// Index pages (not files) the server was asked for.
pub(crate) fn pages(server: &IndexServer) -> Vec<String> {
    server
        .requests()
        .into_iter()
        .map(|r| r.path)
        .filter(|p| p.starts_with("/simple"))
        .collect()
}

/// What a day does to the index client: its cached pages (and files)
/// expire.
fn a_day_passes(ctx: &TestContext) {
    let _ = fs::remove_dir_all(ctx.home.join(".buildout/cache"));
}

/// Says why a test could not run here (shown with `--nocapture`).
#[allow(clippy::print_stderr)]
fn skipped(reason: &str) {
    eprintln!("a_second_interpreter_is_a_second_environment: skipped: {reason}");
}

/// Where `.buildout/current` points (the current generation).
pub(crate) fn current(ctx: &TestContext) -> Option<std::path::PathBuf> {
    fs::read_link(ctx.path(".buildout/current")).ok()
}

/// PEP 751's rules, checked by an implementation independent of ours
/// (Python's `tomllib`): the keys and their types, normalised names, one
/// source per package, hashes, wheel names, the environments marker of
/// this interpreter, the groups every marker names, and that each group
/// narrows to at most one entry per distribution in each environment
/// (markers evaluated as the expressions they are). Local files' sha256
/// and size are checked against the files.
const VALIDATOR: &str = r#"
import hashlib, os, re, sys, tomllib, platform

path = sys.argv[1]
lock = tomllib.load(open(path, "rb"))
problems = []
def bad(m): problems.append(m)
top = {"lock-version", "environments", "requires-python", "extras", "dependency-groups",
       "default-groups", "created-by", "packages", "tool"}
for k in lock:
    if k not in top: bad(f"unknown top-level key {k}")
if lock.get("lock-version") != "1.0": bad("lock-version")
if not isinstance(lock.get("created-by"), str): bad("created-by")
if not isinstance(lock.get("packages"), list): bad("packages")
groups = set(lock.get("dependency-groups", []))
if not isinstance(lock.get("default-groups", []), list): bad("default-groups")
def norm(n): return re.sub(r"[-_.]+", "-", n).lower()
pkgkeys = {"name", "version", "marker", "requires-python", "dependencies", "vcs", "directory",
           "archive", "index", "sdist", "wheels", "attestation-identities", "tool"}
base = os.path.dirname(os.path.abspath(path))
def check_file(f, what, wheel):
    if not ("url" in f or "path" in f): bad(f"{what}: no url or path")
    h = f.get("hashes")
    if not isinstance(h, dict) or not h: bad(f"{what}: no hashes"); return
    if not re.fullmatch(r"[0-9a-f]{64}", h.get("sha256", "")): bad(f"{what}: sha256")
    name = f.get("name") or (f.get("url") or f.get("path")).rsplit("/", 1)[-1]
    if wheel and not name.endswith(".whl"): bad(f"{what}: wheel name {name}")
    if "path" in f:
        p = os.path.join(base, f["path"])
        data = open(p, "rb").read()
        if hashlib.sha256(data).hexdigest() != h["sha256"]: bad(f"{what}: hash of {p}")
        if "size" in f and f["size"] != len(data): bad(f"{what}: size")
    return name
env = {
    "python_full_version": platform.python_version(),
    "implementation_name": sys.implementation.name,
    "sys_platform": sys.platform,
    "platform_machine": platform.machine(),
}
envs = lock.get("environments", [])
here = [e for e in envs if eval(e, {}, dict(env))]
for p in lock["packages"]:
    what = f"package {p.get('name')} {p.get('version')}"
    for k in p:
        if k not in pkgkeys: bad(f"{what}: unknown key {k}")
    if p["name"] != norm(p["name"]): bad(f"{what}: name not normalised")
    sources = [k for k in ("vcs", "directory", "archive") if k in p]
    if "sdist" in p or "wheels" in p: sources.append("dists")
    if len(sources) != 1: bad(f"{what}: sources {sources}")
    if "directory" not in p and "vcs" not in p and "version" not in p: bad(f"{what}: no version")
    if "sdist" in p: check_file(p["sdist"], what, False)
    for w in p.get("wheels", []):
        n = check_file(w, what, True)
        if n and norm(n.split("-")[0]) != p["name"]: bad(f"{what}: wheel {n} of another project")
    for g in re.findall(r"'([^']*)' in dependency_groups", p.get("marker", "")):
        if g not in groups: bad(f"{what}: group {g} not in dependency-groups")
for e in envs:
    for g in groups:
        seen = {}
        for p in lock["packages"]:
            vars = dict(env); vars["dependency_groups"] = {g}; vars["extras"] = set()
            if eval(p.get("marker", "True"), {}, vars):
                if p["name"] in seen: bad(f"group {g}: two entries of {p['name']}")
                seen[p["name"]] = p
print("\n".join(problems) if problems else "valid", "environments-here=%d" % len(here))
"#;

/// Runs [`VALIDATOR`] on `lock`; returns its verdict line.
pub(crate) fn validate(lock: &Path) -> String {
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(VALIDATOR)
        .arg(lock)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn lock_writes_a_valid_pep751_lock_and_install_uses_only_it() {
    let server = index();
    let ctx = TestContext::new();
    ctx.write("buildout.cfg", &two_parts(&server));
    let out = ctx.ok(&["lock"]);
    assert!(out.contains("util 1.5, 2.1 (added)"), "{out}");
    assert!(out.contains(&format!("Wrote {LOCK}.")), "{out}");
    let text = fs::read_to_string(ctx.path(LOCK)).unwrap();
    assert_eq!(validate(&ctx.path(LOCK)), "valid environments-here=1");
    // Two parts needing different versions of `util`: two entries with
    // disjoint groups.
    assert!(
        text.contains("version = \"1.5\"\nmarker = \"'old' in dependency_groups\""),
        "{text}"
    );
    assert!(
        text.contains("version = \"2.1\"\nmarker = \"'app' in dependency_groups\""),
        "{text}"
    );
    assert!(
        text.contains("dependency-groups = [\"app\", \"old\"]"),
        "{text}"
    );
    assert!(
        text.contains(&format!("index = \"{}\"", server.index_url())),
        "{text}"
    );
    // Locking does not build: no generation yet.
    assert!(current(&ctx).is_none());
    // annotate says where the lock applies.
    let annotated = ctx.ok(&["annotate"]);
    assert!(
        annotated.contains(&format!(
            "\nLock file {LOCK} applies to:\n    part app: group app, 2 distributions, "
        )) && annotated.contains("    part old: group old, 1 distribution, "),
        "{annotated}"
    );
    assert!(!ctx.ok(&["annotate", "app"]).contains("Lock file"));
    // The same inputs: the same bytes.
    let again = ctx.ok(&["lock"]);
    assert!(again.contains(&format!("{LOCK} is up to date.")), "{again}");
    assert_eq!(fs::read_to_string(ctx.path(LOCK)).unwrap(), text);

    server.clear_log();
    ctx.ok(&["install", "--locked"]);
    assert_eq!(pages(&server), Vec::<String>::new(), "no index page read");
    assert_eq!(
        working_set(&ctx),
        pairs(&[("util", "1.5"), ("util", "2.1"), ("web", "1.0")])
    );
    ctx.ok(&["lock", "--check"]);
}

#[test]
fn install_offline_from_a_wheel_directory_with_the_lock_only() {
    let ctx = TestContext::new();
    wheel_dir(
        &ctx,
        &[
            Wheel::new("web", "1.0").dep("util>=1").build(),
            Wheel::new("util", "2.1").build(),
        ],
    );
    ctx.write(
        "buildout.cfg",
        "[buildout]\nparts = app\nindex = http://127.0.0.1:9/simple/\nfind-links = ${buildout:directory}/wheels\n\n[app]\nrecipe = zc.recipe.egg:eggs\neggs = web\n",
    );
    ctx.ok(&["-o", "lock"]);
    let text = fs::read_to_string(ctx.path(LOCK)).unwrap();
    assert!(
        text.contains("path = \"wheels/web-1.0-py3-none-any.whl\""),
        "{text}"
    );
    assert_eq!(validate(&ctx.path(LOCK)), "valid environments-here=1");
    // A fresh store, offline, with an unreachable index: only the lock.
    let store = ctx.root.join("other-store");
    ctx.ok(&[
        "-o",
        "--store",
        store.to_str().unwrap(),
        "install",
        "--locked",
    ]);
    assert_eq!(working_set(&ctx), pairs(&[("util", "2.1"), ("web", "1.0")]));
}

#[test]
fn a_stale_lock_is_an_error_with_locked_and_check_and_ignored_otherwise() {
    let (server, ctx) = locked_two_parts();
    ctx.write(
        "buildout.cfg",
        &two_parts(&server).replace("eggs = web", "eggs = web\n    tool"),
    );
    let (_, err) = ctx.fails(&["install", "--locked"]);
    assert!(
        err.contains(&format!(
            "Error: {LOCK} is stale: part app changed since it was written; run `buildout lock`"
        )),
        "{err}"
    );
    assert!(current(&ctx).is_none());
    let (_, err) = ctx.fails(&["lock", "--check"]);
    assert!(err.contains("part app changed"), "{err}");
    // Without --locked: warned about, resolved from the index.
    let out = ctx.ok(&["install"]);
    assert!(
        out.contains(&format!("{LOCK} is stale (part app changed)")),
        "{out}"
    );
    assert!(working_set(&ctx).contains(&("tool".into(), "0.1".into())));
    // [versions] changes make it stale too.
    ctx.ok(&["lock"]);
    ctx.write(
        "buildout.cfg",
        &format!("{}\n[versions]\nutil = 1.5\n", two_parts(&server)),
    );
    let (_, err) = ctx.fails(&["lock", "--check"]);
    assert!(err.contains("[versions] changed"), "{err}");
    // [versions] stay constraints: they win over the locked versions.
    let out = ctx.ok(&["lock"]);
    assert!(out.contains("util 1.5, 2.1 → 1.5"), "{out}");
    ctx.ok(&["lock", "--check"]);
    // No lock at all.
    fs::remove_file(ctx.path(LOCK)).unwrap();
    let (_, err) = ctx.fails(&["install", "--locked"]);
    assert!(
        err.contains(&format!("{LOCK} does not exist; run `buildout lock`")),
        "{err}"
    );
}

#[test]
fn frozen_uses_a_stale_lock_without_checking() {
    let (server, ctx) = locked_two_parts();
    // A part option that is an input changes, but the requests stay the
    // same: --frozen installs from the lock.
    ctx.write(
        "buildout.cfg",
        &two_parts(&server).replace("[old]\n", "[old]\nfind-links =\n"),
    );
    ctx.fails(&["install", "--locked"]);
    server.clear_log();
    ctx.ok(&["install", "--frozen"]);
    assert_eq!(pages(&server), Vec::<String>::new());
    // A request the lock does not cover is an error with --frozen.
    ctx.write(
        "buildout.cfg",
        &two_parts(&server).replace("eggs = web", "eggs = web\n    tool"),
    );
    let (_, err) = ctx.fails(&["install", "--frozen"]);
    assert!(
        err.contains("part `app` asked for `web, tool`")
            && err.contains(&format!("which {LOCK} does not cover; run `buildout lock`")),
        "{err}"
    );
}

#[test]
fn a_download_whose_hash_is_not_the_locks_is_an_error_naming_file_and_entry() {
    let (server, ctx) = locked_two_parts();
    ctx.ok(&["install", "--locked"]);
    let before = current(&ctx).unwrap();
    // Hand-edited: web's hash is another file's.
    let text = fs::read_to_string(ctx.path(LOCK)).unwrap();
    let web_sha = Wheel::new("web", "1.0").dep("util>=1").build().sha256();
    assert!(text.contains(&web_sha));
    fs::write(ctx.path(LOCK), text.replace(&web_sha, &"0".repeat(64))).unwrap();
    let store = ctx.root.join("fresh-store");
    let (_, err) = ctx.fails(&["--store", store.to_str().unwrap(), "install", "--frozen"]);
    assert!(
        err.contains(&format!(
            "{LOCK}: package `web 1.0`, file `web-1.0-py3-none-any.whl`"
        )),
        "{err}"
    );
    assert!(err.contains("sha256"), "{err}");
    assert_eq!(
        current(&ctx).unwrap(),
        before,
        "the current generation is untouched"
    );
    // The index serving other bytes than the lock's: the same error.
    fs::write(ctx.path(LOCK), &text).unwrap();
    server.corrupt("util-1.5-py3-none-any.whl", b"tampered");
    let (_, err) = ctx.fails(&["--store", store.to_str().unwrap(), "install", "--locked"]);
    assert!(
        err.contains("package `util 1.5`, file `util-1.5-py3-none-any.whl`"),
        "{err}"
    );
    assert_eq!(current(&ctx).unwrap(), before);
}

#[test]
fn bad_lock_files_are_clear_errors_and_leave_the_generation_alone() {
    let (server, ctx) = locked_two_parts();
    ctx.ok(&["install"]);
    let before = current(&ctx).unwrap();
    let good = fs::read_to_string(ctx.path(LOCK)).unwrap();

    // Malformed TOML: the file and the line.
    fs::write(
        ctx.path(LOCK),
        good.replacen("[[packages]]", "[[packages]\n", 1),
    )
    .unwrap();
    let (_, err) = ctx.fails(&["install"]);
    assert!(
        err.contains(&format!("{}` is not valid TOML", ctx.path(LOCK).display())),
        "{err}"
    );
    assert!(err.contains("line 8"), "{err}");
    assert_eq!(current(&ctx).unwrap(), before);

    // A lock for another interpreter.
    let marker = good
        .lines()
        .find_map(|l| l.strip_prefix("environment = \""))
        .unwrap()
        .trim_end_matches('"')
        .to_string();
    let version = marker.split('\'').nth(1).unwrap().to_string();
    let other = format!("python_full_version == '{version}'");
    fs::write(
        ctx.path(LOCK),
        good.replace(&other, "python_full_version == '2.7.18'"),
    )
    .unwrap();
    let (_, err) = ctx.fails(&["install"]);
    assert!(
        err.contains(&format!("{LOCK} was made for another interpreter")),
        "{err}"
    );
    assert!(err.contains("python_full_version == '2.7.18'"), "{err}");
    assert_eq!(current(&ctx).unwrap(), before);

    // A file the index no longer has (and no cache has either).
    a_day_passes(&ctx);
    let url = server.file_url("web-1.0-py3-none-any.whl");
    assert!(good.contains(&url), "{good}");
    fs::write(
        ctx.path(LOCK),
        good.replace(&url, &server.file_url("gone/web-1.0-py3-none-any.whl")),
    )
    .unwrap();
    let store = ctx.root.join("fresh-store");
    let (_, err) = ctx.fails(&["--store", store.to_str().unwrap(), "install"]);
    assert!(
        err.contains(&format!("{LOCK}: ")) && err.contains("web-1.0-py3-none-any.whl"),
        "{err}"
    );
    assert_eq!(current(&ctx).unwrap(), before);

    // An entry PEP 751 does not allow: a wheel without hashes.
    let sha = Wheel::new("util", "1.5").build().sha256();
    fs::write(
        ctx.path(LOCK),
        good.replace(&format!(", hashes = {{ sha256 = \"{sha}\" }}"), ""),
    )
    .unwrap();
    let (_, err) = ctx.fails(&["install"]);
    assert!(
        err.contains("package `util 1.5`, file `util-1.5-py3-none-any.whl`: `hashes` is missing"),
        "{err}"
    );
    assert_eq!(current(&ctx).unwrap(), before);
}

#[test]
fn locked_versions_are_kept_and_upgrade_package_moves_only_one() {
    let server = index();
    let ctx = TestContext::new();
    ctx.write(
        "buildout.cfg",
        &two_parts(&server).replace("parts = app old", "parts = app"),
    );
    ctx.ok(&["lock"]);
    // A day's worth of new releases.
    server
        .publish(Wheel::new("web", "1.1").dep("util>=1").build())
        .publish(Wheel::new("util", "2.2").build());
    a_day_passes(&ctx);
    let out = ctx.ok(&["lock"]);
    assert!(out.contains(&format!("{LOCK} is up to date.")), "{out}");
    ctx.ok(&["install"]);
    assert_eq!(working_set(&ctx), pairs(&[("util", "2.1"), ("web", "1.0")]));
    let out = ctx.ok(&["lock", "--upgrade-package", "util"]);
    assert!(out.contains("util 2.1 → 2.2"), "{out}");
    assert!(!out.contains("web"), "{out}");
    let out = ctx.ok(&["lock", "--upgrade-package", "util==1.5"]);
    assert!(out.contains("util 2.2 → 1.5"), "{out}");
    let out = ctx.ok(&["lock", "--upgrade"]);
    assert!(
        out.contains("util 1.5 → 2.2") && out.contains("web 1.0 → 1.1"),
        "{out}"
    );
}

#[test]
fn new_releases_do_not_change_what_a_lock_installs() {
    let (server, ctx) = locked_two_parts();
    ctx.ok(&["install"]);
    let first = working_set(&ctx);
    let manifest = fs::read_to_string(ctx.path(".buildout/current/manifest.json")).unwrap();
    server
        .publish(Wheel::new("web", "2.0").dep("util>=1").build())
        .publish(Wheel::new("util", "1.9").build())
        .publish(Wheel::new("util", "3.0").build());
    a_day_passes(&ctx);
    ctx.ok(&["install"]);
    assert_eq!(working_set(&ctx), first);
    let again = fs::read_to_string(ctx.path(".buildout/current/manifest.json")).unwrap();
    let paths = |m: &str| -> Vec<String> {
        let v: serde_json::Value = serde_json::from_str(m).unwrap();
        v["distributions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| {
                let p = d["path"].as_str().unwrap();
                p.rsplit('/').next().unwrap().to_string()
            })
            .collect()
    };
    assert_eq!(
        paths(&manifest),
        paths(&again),
        "the same objects, from the same files"
    );
}

#[test]
fn a_second_interpreter_is_a_second_environment() {
    let Some(py312) = other_python() else {
        skipped("no Python 3.12 under ~/.pyenv/versions");
        return;
    };
    let server = index();
    let ctx = TestContext::new();
    ctx.write(
        "buildout.cfg",
        &format!(
            "{}\n[py312]\nexecutable = {py312}\n\n[new]\nrecipe = zc.recipe.egg:eggs\neggs = util\npython = py312\n",
            two_parts(&server).replace("parts = app old", "parts = app old new")
        ),
    );
    ctx.ok(&["lock"]);
    let text = fs::read_to_string(ctx.path(LOCK)).unwrap();
    assert!(text.contains("python_full_version == '3.12."), "{text}");
    let environments = text
        .lines()
        .find(|l| l.starts_with("environments = "))
        .unwrap();
    assert_eq!(
        environments.matches("python_full_version").count(),
        2,
        "{text}"
    );
    assert!(
        text.contains("marker = \"'app' in dependency_groups or 'new' in dependency_groups\""),
        "{text}"
    );
    assert_eq!(validate(&ctx.path(LOCK)), "valid environments-here=1");
    server.clear_log();
    ctx.ok(&["install", "--locked"]);
    assert_eq!(pages(&server), Vec::<String>::new());
    // util 2.1 once per interpreter (its bytecode differs).
    assert_eq!(
        working_set(&ctx),
        pairs(&[
            ("util", "1.5"),
            ("util", "2.1"),
            ("util", "2.1"),
            ("web", "1.0")
        ])
    );
}

#[test]
fn exports_a_versions_section_and_a_hashed_requirements_file() {
    let (_server, ctx) = locked_two_parts();
    let versions = ctx.ok(&["lock", "--export", "versions"]);
    assert!(versions.contains("[versions]\n"), "{versions}");
    assert!(
        versions
            .contains("# util: several versions, one per part: 1.5, 2.1\nutil = 2.1\nweb = 1.0\n"),
        "{versions}"
    );
    let reqs = ctx.ok(&["lock", "--export", "requirements", "app"]);
    let sha = Wheel::new("web", "1.0").dep("util>=1").build().sha256();
    assert!(
        reqs.contains(&format!("web==1.0 \\\n    --hash=sha256:{sha}\n")),
        "{reqs}"
    );
    assert!(reqs.contains("util==2.1 \\\n"), "{reqs}");
    assert!(!reqs.contains("util==1.5"), "{reqs}");
    let (_, err) = ctx.fails(&["lock", "--export", "requirements", "nope"]);
    assert!(err.contains(&format!("{LOCK} has no part `nope`")), "{err}");
}

#[test]
fn the_generation_records_the_lock_and_diff_says_it_changed() {
    let server = index();
    let ctx = TestContext::new();
    ctx.write("buildout.cfg", &two_parts(&server));
    ctx.ok(&["install"]);
    ctx.ok(&["lock"]);
    ctx.ok(&["install"]);
    let digest = |ctx: &TestContext| -> Option<String> {
        let m: serde_json::Value = serde_json::from_str(
            &fs::read_to_string(ctx.path(".buildout/current/manifest.json")).unwrap(),
        )
        .unwrap();
        m["lock"].as_str().map(String::from)
    };
    let first = digest(&ctx).expect("the manifest records the lock");
    assert!(first.starts_with("sha256:"), "{first}");
    let diff = ctx.ok(&["generations", "diff"]);
    assert!(
        diff.contains(&format!("lock file: (none) -> {first}")),
        "{diff}"
    );
    // Another lock (util of part old upgraded within its range).
    ctx.ok(&["lock", "--upgrade-package", "util==1.5"]);
    server.publish(Wheel::new("util", "1.6").build());
    a_day_passes(&ctx);
    ctx.ok(&["lock", "--upgrade-package", "util"]);
    ctx.ok(&["install"]);
    let second = digest(&ctx).unwrap();
    assert_ne!(first, second);
    let diff = ctx.ok(&["generations", "diff"]);
    assert!(
        diff.contains(&format!("lock file: {first} -> {second}")),
        "{diff}"
    );
    assert!(diff.contains("util"), "{diff}");
}

/// A venv under `ctx.root` with pip 26.3 (the committed fixture wheel,
/// installed offline); returns its `python`.
pub(crate) fn pip_venv(ctx: &TestContext) -> std::path::PathBuf {
    let venv = ctx.root.join("venv");
    let python = venv.join("bin/python");
    let pip_wheel = crate::common::fixture_dists().join("pip-26.3-py3-none-any.whl");
    let status = std::process::Command::new("python3")
        .args(["-m", "venv", "--without-pip"])
        .arg(&venv)
        .status()
        .unwrap();
    assert!(status.success());
    let out = std::process::Command::new(&python)
        .arg(pip_wheel.join("pip"))
        .args(["install", "-q", "--no-index", "--isolated"])
        .arg(&pip_wheel)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    python
}

/// What pip (`python` of [`pip_venv`]) would install of dependency group
/// `name` of the lock of `ctx` (`pip install --dry-run --group
/// pylock.buildout.toml:NAME`): (name, version), sorted.
pub(crate) fn pip_group(ctx: &TestContext, python: &Path, name: &str) -> Vec<(String, String)> {
    let report = ctx.root.join(format!("report-{name}.json"));
    let out = std::process::Command::new(python)
        .args([
            "-m",
            "pip",
            "install",
            "--isolated",
            "--no-index",
            "--dry-run",
            "--report",
        ])
        .arg(&report)
        .arg("--group")
        .arg(format!("{}:{name}", ctx.path(LOCK).display()))
        .env("HOME", &ctx.home)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: serde_json::Value = serde_json::from_str(&fs::read_to_string(&report).unwrap()).unwrap();
    let mut set: Vec<(String, String)> = r["install"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["metadata"]["name"].as_str().unwrap().to_string(),
                i["metadata"]["version"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    set.sort();
    set
}

/// pip 26.3 (from the committed fixture wheel, installed offline into a
/// venv) reads the lock as PEP 751 says: each part's dependency group
/// narrows to that part's distributions.
#[test]
fn pip_reads_each_part_as_a_dependency_group() {
    let ctx = TestContext::new();
    wheel_dir(
        &ctx,
        &[
            Wheel::new("web", "1.0").dep("util>=1").build(),
            Wheel::new("util", "1.5").build(),
            Wheel::new("util", "2.1").build(),
        ],
    );
    ctx.write(
        "buildout.cfg",
        "[buildout]\nparts = app old\nindex = http://127.0.0.1:9/simple/\nfind-links = ${buildout:directory}/wheels\n\n\
         [app]\nrecipe = zc.recipe.egg:eggs\neggs = web\n\n[old]\nrecipe = zc.recipe.egg:eggs\neggs = util<2\n",
    );
    ctx.ok(&["-o", "lock"]);
    let python = pip_venv(&ctx);
    let group = |name: &str| pip_group(&ctx, &python, name);
    assert_eq!(group("app"), pairs(&[("util", "2.1"), ("web", "1.0")]));
    assert_eq!(group("old"), pairs(&[("util", "1.5")]));
}

#[test]
fn credentials_never_reach_the_lock_and_locked_downloads_still_get_them() {
    let server = index();
    server.require_auth("alice", "s3cret");
    let ctx = TestContext::new();
    let with_auth = server.index_url_with_auth("alice", "s3cret");
    ctx.write(
        "buildout.cfg",
        &format!("[buildout]\nparts = app\nindex = {with_auth}\n\n[app]\nrecipe = zc.recipe.egg:eggs\neggs = web\n"),
    );
    ctx.ok(&["lock"]);
    let text = fs::read_to_string(ctx.path(LOCK)).unwrap();
    assert!(
        !text.contains("s3cret") && !text.contains("alice"),
        "{text}"
    );
    assert!(
        text.contains(&format!("index = \"{}\"", server.index_url())),
        "{text}"
    );
    ctx.ok(&["install", "--locked"]);
    assert_eq!(working_set(&ctx), pairs(&[("util", "2.1"), ("web", "1.0")]));
}

/// `lock` resolves the recipe host's distributions (its own and the
/// recipes') itself (group `buildout-host`, see `lock_recipes.rs`); a
/// lock written without them (by an older buildout) gets them at the
/// next install, and later installs take them from the lock.
#[test]
fn a_lock_without_the_recipe_host_gets_it_at_the_next_install() {
    let server = IndexServer::start();
    let ctx = TestContext::new();
    ctx.write(
        "buildout.cfg",
        &crate::common::host_config(
            &server,
            "parts = dirs",
            "[dirs]\nrecipe = z3c.recipe.mkdir\npaths = var/a\n",
        ),
    );
    ctx.ok(&["lock"]);
    let text = fs::read_to_string(ctx.path(LOCK)).unwrap();
    assert!(text.contains("name = \"z3c-recipe-mkdir\""), "{text}");
    // The same lock without the host's requests.
    let old: String = text
        .split("\n[[tool.buildout.requests]]\n")
        .filter(|block| !block.starts_with("part = \"\"\n"))
        .collect::<Vec<_>>()
        .join("\n[[tool.buildout.requests]]\n");
    assert_ne!(old, text);
    fs::write(ctx.path(LOCK), &old).unwrap();
    let (_, err) = ctx.fails(&["install", "--locked"]);
    assert!(
        err.contains("the recipe host asked for `zc.buildout, zc.recipe.egg, z3c.recipe.mkdir`")
            && err.contains(&format!("which {LOCK} does not cover; run `buildout lock`")),
        "{err}"
    );
    let out = ctx.ok(&["install"]);
    assert!(
        out.contains(&format!(
            "Added the distributions it did not cover to {LOCK}."
        )),
        "{out}"
    );
    let text = fs::read_to_string(ctx.path(LOCK)).unwrap();
    assert!(
        text.contains("'buildout-host' in dependency_groups"),
        "{text}"
    );
    assert!(text.contains("name = \"z3c-recipe-mkdir\""), "{text}");
    assert!(text.contains("name = \"zc-buildout\""), "{text}");
    assert_eq!(validate(&ctx.path(LOCK)), "valid environments-here=1");
    ctx.ok(&["lock", "--check"]);
    // A fresh store and no recipe memo: the host starts, from the lock.
    fs::remove_file(ctx.path(".buildout/constructors.json")).unwrap();
    let store = ctx.root.join("fresh-store");
    server.clear_log();
    ctx.ok(&[
        "--store",
        store.to_str().unwrap(),
        "dirs:paths=var/b",
        "install",
        "--locked",
    ]);
    assert!(ctx.path("var/b").is_dir());
    assert_eq!(pages(&server), Vec::<String>::new());
}

#[test]
fn develop_eggs_are_editable_directories_and_sdists_are_locked_as_sdists() {
    use crate::common::wheel::Sdist;
    let server = IndexServer::start();
    server
        .publish(Wheel::new("tiny", "1.0").build())
        .publish(Sdist::new("legacy", "2.0").build());
    let ctx = TestContext::new();
    Sdist::new("demo", "0.1.dev0")
        .dep("tiny")
        .dep("legacy")
        .module("demo/__init__.py", "MESSAGE = 'first'\n")
        .write_tree(&ctx.path("src/demo"));
    ctx.write(
        "buildout.cfg",
        &format!(
            "[buildout]\nparts = app\nindex = {}\ndevelop = src/demo\n\n[app]\nrecipe = zc.recipe.egg:eggs\neggs = demo\n",
            server.index_url()
        ),
    );
    ctx.ok(&["lock"]);
    let text = fs::read_to_string(ctx.path(LOCK)).unwrap();
    assert!(
        text.contains(
            "name = \"demo\"\nmarker = \"'app' in dependency_groups\"\ndirectory = { path = \"src/demo\", editable = true }\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("sdist = { name = \"legacy-2.0.tar.gz\""),
        "{text}"
    );
    assert_eq!(validate(&ctx.path(LOCK)), "valid environments-here=1");
    let store = ctx.root.join("fresh-store");
    server.clear_log();
    ctx.ok(&["--store", store.to_str().unwrap(), "install", "--locked"]);
    assert_eq!(pages(&server), Vec::<String>::new());
    assert_eq!(
        working_set(&ctx),
        pairs(&[("demo", "0.1.dev0"), ("legacy", "2.0"), ("tiny", "1.0")])
    );
}

#[test]
fn a_configuration_read_from_a_url_installs_without_a_lock_and_cannot_be_locked() {
    let server = index();
    let ctx = TestContext::new();
    let url = server.page(
        "buildout.cfg",
        &format!(
            "[buildout]\ndirectory = {}\nparts = app\nindex = {}\n\n[app]\nrecipe = zc.recipe.egg:eggs\neggs = web\n",
            ctx.work.display(),
            server.index_url()
        ),
    );
    ctx.ok(&["-c", &url, "install"]);
    assert_eq!(working_set(&ctx), pairs(&[("util", "2.1"), ("web", "1.0")]));
    assert!(!ctx.ok(&["-c", &url, "annotate"]).contains("Lock file"));
    let (_, err) = ctx.fails(&["-c", &url, "lock"]);
    assert!(
        err.contains("A lock file needs a local configuration file, not http://"),
        "{err}"
    );
    ctx.fails(&["-c", &url, "install", "--locked"]);
}
