//! Deploying to hosts: `buildout copy --to ssh://…` talking to `buildout
//! store serve --stdio` on the host through `$BUILDOUT_SSH`.
//!
//! A host must use the same store path (and, to activate, the same
//! buildout directory path) as the build machine, so the "host" here runs
//! in a private mount namespace (`unshare -rm`, no privileges needed)
//! where its own, initially empty, store and buildout directory are
//! bind-mounted over the build machine's paths: the shim script below is
//! what `ssh` would be. Without user namespaces the tests say so and skip.

use crate::common::index::IndexServer;
use crate::common::wheel::Wheel;
use crate::common::{Run, TestContext, run};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

fn index() -> IndexServer {
    let server = IndexServer::start();
    server.publish(
        Wheel::new("web", "1.0")
            .dep("util>=1")
            .module("web.py", "def main():\n    print('web served')\n")
            .entry_point("console_scripts", "web", "web:main")
            .build(),
    );
    server.publish(Wheel::new("util", "1.5").build());
    server
}

fn config(server: &IndexServer, extra: &str) -> String {
    format!(
        "[buildout]\nparts = app\nindex = {}\n{extra}\n[app]\nrecipe = zc.recipe.egg:scripts\neggs = web\n",
        server.index_url(),
    )
}

/// The second machine: its store and buildout directory (mounted over the
/// build machine's paths inside the shim), and the shim.
pub(crate) struct Host {
    pub(crate) store: PathBuf,
    pub(crate) work: PathBuf,
    shim: PathBuf,
    log: PathBuf,
}

pub(crate) fn namespaces_work() -> bool {
    Command::new("unshare")
        .args(["-rm", "true"])
        .status()
        .is_ok_and(|s| s.success())
}

/// Writes the `BUILDOUT_SSH` shim: called as `ssh` is (`[-p PORT] --
/// [USER@]HOST COMMAND`), it logs its arguments and runs COMMAND with the
/// host's store and buildout directory in place. `store_dir`, when set,
/// is the store path the host uses instead of the build machine's.
pub(crate) fn host(ctx: &TestContext, name: &str, store_dir: Option<&Path>) -> Host {
    let store = ctx.root.join(format!("{name}-store"));
    let work = ctx.root.join(format!("{name}-work"));
    fs::create_dir_all(&store).unwrap();
    fs::create_dir_all(&work).unwrap();
    let log = ctx.root.join(format!("{name}.log"));
    let shim = ctx.root.join(format!("{name}-ssh"));
    let store_env = format!(
        "BUILDOUT_STORE='{}'; export BUILDOUT_STORE\n",
        store_dir.unwrap_or(&ctx.store).display()
    );
    fs::write(
        &shim,
        format!(
            "#!/bin/sh\n\
             echo \"$@\" >> '{log}'\n\
             while [ $# -gt 0 ]; do case \"$1\" in -p) shift 2;; --) shift; break;; *) break;; esac; done\n\
             shift\n\
             HOME='{home}'; export HOME\n\
             {store_env}\
             exec unshare -rm sh -c 'mount --bind \"$1\" \"$2\" && mount --bind \"$3\" \"$4\" && cd \"$4\" && exec sh -c \"$5\"' \
             sh '{store}' '{real_store}' '{work}' '{real_work}' \"$*\"\n",
            log = log.display(),
            home = ctx.root.join(format!("{name}-home")).display(),
            store = store.display(),
            real_store = ctx.store.display(),
            work = work.display(),
            real_work = ctx.work.display(),
        ),
    )
    .unwrap();
    fs::set_permissions(&shim, fs::Permissions::from_mode(0o755)).unwrap();
    fs::create_dir_all(ctx.root.join(format!("{name}-home"))).unwrap();
    Host {
        store,
        work,
        shim,
        log,
    }
}

impl Host {
    /// Runs a shell command on the host, in its buildout directory.
    pub(crate) fn sh(&self, command: &str) -> Run {
        run(Command::new(&self.shim).args(["--", "host", command]))
    }

    /// Runs `buildout ARGS` on the host.
    pub(crate) fn buildout(&self, args: &str) -> Run {
        self.sh(&format!(
            "BUILDOUT_NO_PROGRESS=1 NO_COLOR=1 '{}' {args}",
            env!("CARGO_BIN_EXE_buildout")
        ))
    }
}

/// `buildout copy ARGS` on the build machine through `host`'s shim.
pub(crate) fn copy(ctx: &TestContext, host: &Host, args: &[&str]) -> Run {
    let mut cmd = ctx.command();
    cmd.env("BUILDOUT_SSH", &host.shim)
        .arg("copy")
        .args(args)
        .args(["--remote-buildout", env!("CARGO_BIN_EXE_buildout")]);
    run(&mut cmd)
}

/// Machine A's key `build-1` (secret in `build-1.secret`); returns the
/// public key.
pub(crate) fn build_key(ctx: &TestContext) -> String {
    let out = ctx.ok(&[
        "key",
        "generate",
        "build-1",
        "--secret-file",
        "build-1.secret",
    ]);
    out.lines()
        .find(|l| l.starts_with("build-1:"))
        .unwrap()
        .to_string()
}

/// Machine A: a key, the buildout installed and signed; returns the public key.
fn build_machine(ctx: &TestContext, server: &IndexServer) -> String {
    let public = build_key(ctx);
    ctx.write(
        "buildout.cfg",
        &config(server, "secret-key-files = build-1.secret"),
    );
    ctx.ok(&[]);
    public
}

pub(crate) fn host_objects(host: &Host) -> Vec<String> {
    let r = host.buildout("store ls");
    assert_eq!(r.code, 0, "{}", r.stderr);
    r.stdout
        .lines()
        .filter(|l| !l.contains("has no objects"))
        .map(str::to_string)
        .collect()
}

pub(crate) fn host_verify_clean(host: &Host) {
    let r = host.buildout("store verify --check-contents");
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
}

macro_rules! need_namespaces {
    () => {
        if !namespaces_work() {
            eprintln!("skipped: `unshare -rm` (user namespaces) is not available here");
            return;
        }
    };
}

#[test]
fn copy_activates_on_the_host_sends_only_what_is_missing_and_rolls_back() {
    need_namespaces!();
    let ctx = TestContext::new();
    let server = index();
    let public = build_machine(&ctx, &server);
    let prod = host(&ctx, "prod1", None);
    fs::write(
        prod.work.join("buildout.cfg"),
        format!("[buildout]\ntrusted-public-keys = {public}\n"),
    )
    .unwrap();
    let work = ctx.work.display().to_string();

    let r = copy(
        &ctx,
        &prod,
        &["--to", "ssh://deploy@prod1:2222", "--activate", &work],
    );
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let all = ctx.ok(&["store", "ls"]).lines().count();
    assert!(
        r.stdout
            .contains(&format!("Copied {all} of {all} object(s)")),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains(&format!(
            "Generation 1 is current in {work} on deploy@prod1"
        )),
        "{}",
        r.stdout
    );
    // The shim was called as ssh is.
    let log = fs::read_to_string(&prod.log).unwrap();
    assert!(log.starts_with("-p 2222 -- deploy@prod1 '"), "{log}");
    assert!(log.contains("store serve --stdio"), "{log}");
    // The host has the objects in its own store, and the script runs there.
    assert_eq!(host_objects(&prod).len(), all, "{:?}", host_objects(&prod));
    assert!(fs::read_dir(prod.store.clone()).unwrap().count() > 0);
    let r = prod.sh("bin/web");
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, "web served\n");
    host_verify_clean(&prod);

    // A second copy sends nothing; a new generation after a change does.
    let r = copy(&ctx, &prod, &["--to", "ssh://prod1", "--activate", &work]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("Copied 0 of"), "{}", r.stdout);
    ctx.write(
        "buildout.cfg",
        &format!(
            "{}initialization = print('release 2')\n",
            config(&server, "secret-key-files = build-1.secret")
        ),
    );
    ctx.ok(&[]);
    let r = copy(&ctx, &prod, &["--to", "ssh://prod1", "--activate", &work]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!r.stdout.contains("Copied 0 of"), "{}", r.stdout);
    assert!(r.stdout.contains("Generation 2 is current"), "{}", r.stdout);
    assert_eq!(prod.sh("bin/web").stdout, "release 2\nweb served\n");

    // Rollback on the host, as after a local install.
    let r = prod.buildout("rollback");
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout
            .contains("Switched from generation 2 to generation 1"),
        "{}",
        r.stdout
    );
    assert_eq!(prod.sh("bin/web").stdout, "web served\n");
    host_verify_clean(&prod);
    // A generation is made for one buildout directory path.
    let r = copy(
        &ctx,
        &prod,
        &["--to", "ssh://prod1", "--activate", "/srv/elsewhere"],
    );
    assert_ne!(r.code, 0);
    assert!(
        r.stderr.contains(&format!(
            "was made for the buildout directory {work}, not /srv/elsewhere"
        )),
        "{}",
        r.stderr
    );
    assert!(prod.buildout("generations").stdout.contains("1   "));
    // The build machine's directory is its own.
    assert!(ctx.ok(&["generations"]).contains("(current)"));
}

#[test]
fn an_untrusted_or_truncated_stream_registers_nothing() {
    need_namespaces!();
    let ctx = TestContext::new();
    let server = index();
    build_machine(&ctx, &server);
    let work = ctx.work.display().to_string();

    // A host that trusts another key: refused, nothing registered.
    let prod = host(&ctx, "prod1", None);
    let r = copy(&ctx, &prod, &["--to", "ssh://prod1", "--activate", &work]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("no valid signature"), "{}", r.stderr);
    assert!(host_objects(&prod).is_empty());
    assert!(!prod.work.join(".buildout/current").exists());
    host_verify_clean(&prod);

    // A stream cut short on its way to `store serve`.
    let stream = ctx.root.join("closure.bin");
    let mut cmd = ctx.command();
    cmd.args(["store", "export"])
        .stdout(fs::File::create(&stream).unwrap());
    assert_eq!(run(&mut cmd).code, 0);
    let bytes = fs::read(&stream).unwrap();
    let mut request = b"import\n".to_vec();
    request.extend_from_slice(&bytes[..bytes.len() - 100]);
    let cut = ctx.root.join("cut.bin");
    fs::write(&cut, request).unwrap();
    let r = prod.buildout(&format!("store serve --stdio < '{}'", cut.display()));
    assert_ne!(r.code, 0);
    assert!(
        r.stdout.starts_with("buildout-serve-1\nstore "),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("error "), "{}", r.stdout);
    assert!(r.stdout.contains("truncated"), "{}", r.stdout);
    assert!(host_objects(&prod).is_empty());
    host_verify_clean(&prod);
}

#[test]
fn a_host_with_another_store_directory_is_refused_before_sending() {
    need_namespaces!();
    let ctx = TestContext::new();
    let server = index();
    build_machine(&ctx, &server);
    let other = ctx.root.join("other-store");
    let prod = host(&ctx, "prod1", Some(&other));
    let r = copy(&ctx, &prod, &["--to", "ssh://prod1"]);
    assert_ne!(r.code, 0);
    assert!(
        r.stderr.contains(&format!(
            "prod1 keeps its store in {}, not {}",
            other.display(),
            ctx.store.display()
        )),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("nothing was sent"), "{}", r.stderr);
    assert!(!other.join(".buildout").exists() || host_objects(&prod).is_empty());
}

#[test]
fn copy_never_prints_the_secret_key() {
    need_namespaces!();
    let ctx = TestContext::new();
    let server = index();
    let public = build_machine(&ctx, &server);
    let secret = fs::read_to_string(ctx.path("build-1.secret")).unwrap();
    let secret = secret.trim().split_once(':').unwrap().1.to_string();
    let prod = host(&ctx, "prod1", None);
    fs::write(
        prod.work.join("buildout.cfg"),
        format!("[buildout]\ntrusted-public-keys = {public}\n"),
    )
    .unwrap();
    let work = ctx.work.display().to_string();
    let r = copy(&ctx, &prod, &["--to", "ssh://prod1", "--activate", &work]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for text in [&r.stdout, &r.stderr] {
        assert!(!text.contains(&secret), "secret key printed: {text}");
    }
    // A bad URL is refused before ssh runs (no option injection).
    let r = copy(&ctx, &prod, &["--to", "ssh://-oProxyCommand=touch"]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("invalid --to"), "{}", r.stderr);
}
