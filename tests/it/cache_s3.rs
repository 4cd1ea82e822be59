//! `s3://` binary caches against a real S3 API: moto's server (PyPI
//! `moto[server]`), started on a loopback port by the test, with its IAM
//! authentication on, so every request's SigV4 signature is checked. The
//! test finds `moto_server` through `BUILDOUT_TEST_MOTO` (set by
//! `.ci/run`, which installs moto in a venv) and skips with a message
//! when it is unset. Requests go through a TCP relay the test can cut, to
//! make the endpoint go away in the middle of a push.

use crate::binary_cache::{
    Daemon, build_signed, check_closed, config, downloads, free_port, fresh_host, index,
    install_on_a_fresh_host, object, objects, verify_clean, wait_for_port,
};
use crate::common::{Run, TestContext, run};
use std::fs;
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

const BUCKET: &str = "build-cache";

/// Creates the bucket and an IAM user allowed `s3:*` (unauthenticated:
/// moto checks nothing yet), then turns authentication on; prints the
/// user's access key and secret. `list DIR` downloads the bucket into DIR.
const HELPER: &str = r#"
import boto3, json, os, sys, urllib.request
ep, cmd = sys.argv[1], sys.argv[2]
kw = dict(endpoint_url=ep, region_name="us-east-1",
          aws_access_key_id=os.environ.get("KEY", "bootstrap"),
          aws_secret_access_key=os.environ.get("SECRET", "bootstrap"))
s3 = boto3.client("s3", **kw)
if cmd == "setup":
    s3.create_bucket(Bucket=sys.argv[3])
    iam = boto3.client("iam", **kw)
    iam.create_user(UserName="pusher")
    iam.put_user_policy(UserName="pusher", PolicyName="cache", PolicyDocument=json.dumps(
        {"Version": "2012-10-17",
         "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
    k = iam.create_access_key(UserName="pusher")["AccessKey"]
    urllib.request.urlopen(urllib.request.Request(ep + "/moto-api/reset-auth", data=b"0", headers={"Content-Type": "text/plain"},
                                                  method="POST"))
    print(k["AccessKeyId"], k["SecretAccessKey"])
elif cmd == "dump":
    out = sys.argv[4]
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=sys.argv[3]):
        for o in page.get("Contents", []):
            p = os.path.join(out, o["Key"])
            os.makedirs(os.path.dirname(p), exist_ok=True)
            s3.download_file(sys.argv[3], o["Key"], p)
"#;

/// A running moto server: its port, the helper's Python and the
/// credentials of a user allowed to use the bucket.
struct Moto {
    _daemon: Daemon,
    port: u16,
    python: PathBuf,
    helper: PathBuf,
    access_key: String,
    secret: String,
}

/// Runs the helper script against moto on `port` (as the user `creds`,
/// else unauthenticated); its output.
fn run_helper(
    python: &Path,
    helper: &Path,
    port: u16,
    args: &[&str],
    creds: Option<(&str, &str)>,
) -> String {
    let mut cmd = Command::new(python);
    cmd.arg(helper)
        .arg(format!("http://127.0.0.1:{port}"))
        .args(args);
    if let Some((key, secret)) = creds {
        cmd.env("KEY", key).env("SECRET", secret);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[allow(clippy::print_stderr)]
fn moto(ctx: &TestContext) -> Option<Moto> {
    let Some(bin) = std::env::var_os("BUILDOUT_TEST_MOTO").map(PathBuf::from) else {
        eprintln!(
            "SKIPPED: BUILDOUT_TEST_MOTO is not set (the path of moto_server, from \
             `pip install 'moto[server]'`; .ci/run installs it and sets it)"
        );
        return None;
    };
    let python = bin.parent().unwrap().join("python");
    let port = free_port();
    let daemon = Daemon(
        Command::new(&bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .env_remove("INITIAL_NO_AUTH_ACTION_COUNT")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display())),
    );
    wait_for_port(port);
    let helper = ctx.root.join("moto_helper.py");
    fs::write(&helper, HELPER).unwrap();
    let text = run_helper(&python, &helper, port, &["setup", BUCKET], None);
    let (access_key, secret) = text.trim().split_once(' ').unwrap();
    Some(Moto {
        _daemon: daemon,
        port,
        python,
        helper,
        access_key: access_key.into(),
        secret: secret.into(),
    })
}

impl Moto {
    /// The bucket's objects, downloaded into a fresh directory.
    fn dump(&self, dir: &Path) -> PathBuf {
        let _ = fs::remove_dir_all(dir);
        fs::create_dir_all(dir).unwrap();
        run_helper(
            &self.python,
            &self.helper,
            self.port,
            &["dump", BUCKET, dir.to_str().unwrap()],
            Some((&self.access_key, &self.secret)),
        );
        dir.join("cache")
    }

    /// `~/.aws/credentials` with the user's key (the default profile).
    fn write_credentials(&self, ctx: &TestContext) {
        fs::create_dir_all(ctx.home.join(".aws")).unwrap();
        fs::write(
            ctx.home.join(".aws/credentials"),
            format!(
                "[default]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
                self.access_key, self.secret
            ),
        )
        .unwrap();
    }
}

/// A TCP relay from a loopback port to moto that can be cut (listener
/// and open connections) and started again on the same port.
struct Relay {
    stop: Arc<AtomicBool>,
    conns: Arc<Mutex<Vec<TcpStream>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Relay {
    fn start(port: u16, to: u16) -> Relay {
        let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let conns: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let (s, c) = (stop.clone(), conns.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::SeqCst) {
                let Ok((client, _)) = listener.accept() else {
                    std::thread::sleep(std::time::Duration::from_millis(10));
                    continue;
                };
                client.set_nonblocking(false).unwrap();
                let Ok(server) = TcpStream::connect(("127.0.0.1", to)) else {
                    continue;
                };
                let mut list = c.lock().unwrap();
                for (mut from, mut into) in [
                    (client.try_clone().unwrap(), server.try_clone().unwrap()),
                    (server.try_clone().unwrap(), client.try_clone().unwrap()),
                ] {
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut from, &mut into);
                        let _ = into.shutdown(Shutdown::Write);
                    });
                }
                list.push(client);
                list.push(server);
            }
        });
        Relay {
            stop,
            conns,
            thread: Some(thread),
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        for c in self.conns.lock().unwrap().drain(..) {
            let _ = c.shutdown(Shutdown::Both);
        }
    }
}

fn url(port: u16) -> String {
    format!("s3://{BUCKET}/cache?endpoint=http://127.0.0.1:{port}&region=us-east-1")
}

/// `buildout ARGS` with `vars` set.
fn with_env(ctx: &TestContext, vars: &[(&str, &str)], args: &[&str]) -> Run {
    let mut cmd = ctx.command();
    cmd.args(args);
    for (k, v) in vars {
        cmd.env(k, v);
    }
    run(&mut cmd)
}

#[test]
fn push_substitute_and_gc_through_a_real_s3_endpoint() {
    let ctx = TestContext::new();
    let Some(moto) = moto(&ctx) else {
        return;
    };
    let server = index();
    let (secret_file, public) = build_signed(&ctx, &server);
    let signing = format!("secret-key-files = {}", secret_file.display());
    let before = objects(&ctx);
    let direct = url(moto.port);

    // A wrong secret key: a clear error naming the bucket; no secret, no
    // signature in the output.
    let wrong = "wRoNgSeCrEt0123456789";
    let r = with_env(
        &ctx,
        &[
            ("AWS_ACCESS_KEY_ID", &moto.access_key),
            ("AWS_SECRET_ACCESS_KEY", wrong),
        ],
        &["-vv", "push", &direct],
    );
    assert_ne!(r.code, 0);
    let all = format!("{}{}", r.stdout, r.stderr);
    assert!(all.contains(&format!("s3://{BUCKET}/cache")), "{all}");
    assert!(all.contains("SignatureDoesNotMatch"), "{all}");
    for secret in [wrong, moto.secret.as_str(), "Signature="] {
        assert!(!all.contains(secret), "{secret} in {all}");
    }
    // No credentials at all: said so, before any request.
    let r = ctx.buildout(&["push", &direct]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("no AWS credentials"), "{}", r.stderr);

    // From here on the credentials come from ~/.aws/credentials; the
    // requests go through a relay that is cut in the middle of a push.
    moto.write_credentials(&ctx);
    let relay_port = free_port();
    let relay = Relay::start(relay_port, moto.port);
    let cache = url(relay_port);
    ctx.ok(&["push", &cache, &object(&ctx, "util")]);
    let mut cmd = ctx.command();
    cmd.args(["push", &cache])
        .env("BUILDOUT_FAILPOINT", "push-nar-uploaded");
    assert_ne!(run(&mut cmd).code, 0);
    drop(relay);
    let r = ctx.buildout(&["-vv", "push", &cache]);
    assert_ne!(r.code, 0);
    let all = format!("{}{}", r.stdout, r.stderr);
    assert!(all.contains(&format!("s3://{BUCKET}/cache")), "{all}");
    assert!(!all.contains(&moto.secret), "{all}");
    let _relay = Relay::start(relay_port, moto.port);
    let out = ctx.ok(&["push", &cache, "--pin", "prod"]);
    assert!(out.contains("1 already there"), "{out}");
    assert!(!out.contains(&moto.secret));
    let dumped = moto.dump(&ctx.root.join("dump"));
    check_closed(&dumped);
    assert_eq!(
        fs::read_dir(&dumped)
            .unwrap()
            .filter(|e| e
                .as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "narinfo"))
            .count(),
        before.len()
    );

    // A second generation pushed without a pin; once everything is older
    // than --keep, gc leaves the pinned closure only.
    ctx.write(
        "buildout.cfg",
        &config(&server, &signing).replace("eggs = web", "eggs = util"),
    );
    ctx.ok(&[]);
    ctx.ok(&["push", &cache]);
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let dry = ctx.ok(&["cache", "gc", &cache, "--keep", "1s", "--dry-run"]);
    assert!(dry.contains("Would delete"), "{dry}");
    let out = ctx.ok(&["cache", "gc", &cache, "--keep", "1s"]);
    assert!(out.contains(&format!("kept {}", before.len())), "{out}");
    let dumped = moto.dump(&ctx.root.join("dump"));
    check_closed(&dumped);
    let count = |dir: &Path, suffix: &str| {
        fs::read_dir(dir)
            .map(|d| {
                d.filter(|e| {
                    e.as_ref()
                        .unwrap()
                        .file_name()
                        .to_string_lossy()
                        .ends_with(suffix)
                })
                .count()
            })
            .unwrap_or(0)
    };
    assert_eq!(count(&dumped, ".narinfo"), before.len());
    assert_eq!(count(&dumped.join("nar"), ".nar.zst"), before.len());

    // A fresh store substitutes the pinned generation whole from the
    // bucket: nothing downloaded from the index, nothing built.
    ctx.write("buildout.cfg", &config(&server, ""));
    install_on_a_fresh_host(
        &ctx,
        &server,
        &format!("substituters = {cache}\ntrusted-public-keys = {public}"),
        &before,
    );

    // And a substituter with a wrong secret is a warning: it is built.
    fresh_host(&ctx);
    ctx.write(
        "buildout.cfg",
        &config(
            &server,
            &format!("substituters = {cache}\ntrusted-public-keys = {public}"),
        ),
    );
    let r = with_env(
        &ctx,
        &[
            ("AWS_ACCESS_KEY_ID", &moto.access_key),
            ("AWS_SECRET_ACCESS_KEY", wrong),
        ],
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let all = format!("{}{}", r.stdout, r.stderr);
    assert!(all.contains("ignoring substituter"), "{all}");
    assert!(!all.contains(wrong) && !all.contains("Signature="), "{all}");
    assert!(!downloads(&server).is_empty());
    verify_clean(&ctx);
}
