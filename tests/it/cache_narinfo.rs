//! Narinfo answers remembered across runs (`~/.buildout/cache/narinfo-v1`,
//! Nix's narinfo disk cache: positive 30 days, negative 1 hour): a second
//! install against the same HTTP cache asks fewer narinfos, a negative
//! answer is asked again once older than an hour, a remembered narinfo is
//! still checked, and one whose NAR is gone is dropped. The cache is a
//! directory served by a small HTTP server in the test that logs every
//! request.

use crate::binary_cache::{build_signed, config, fresh_host, index, object, objects, verify_clean};
use crate::common::TestContext;
use crate::common::index::IndexServer;
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

/// Serves the files under a directory (GET and HEAD; 404 otherwise) and
/// logs each request's path.
struct FileServer {
    port: u16,
    log: Arc<Mutex<Vec<String>>>,
}

impl FileServer {
    fn start(root: PathBuf) -> FileServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let log: Arc<Mutex<Vec<String>>> = Arc::default();
        let l = log.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let (root, log) = (root.clone(), l.clone());
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(conn.try_clone().unwrap());
                    let mut line = String::new();
                    if reader.read_line(&mut line).is_err() {
                        return;
                    }
                    loop {
                        let mut h = String::new();
                        if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
                            break;
                        }
                    }
                    let mut parts = line.split_whitespace();
                    let method = parts.next().unwrap_or_default().to_string();
                    let path = parts.next().unwrap_or_default().to_string();
                    log.lock().unwrap().push(path.clone());
                    let rel = path.trim_start_matches('/');
                    let body = (!rel.contains(".."))
                        .then(|| fs::read(root.join(rel)).ok())
                        .flatten();
                    let mut out = conn;
                    let _ = match body {
                        Some(b) => {
                            let head = format!(
                                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                                b.len()
                            );
                            out.write_all(head.as_bytes()).and_then(|()| {
                                if method == "HEAD" {
                                    Ok(())
                                } else {
                                    out.write_all(&b)
                                }
                            })
                        }
                        None => out.write_all(
                            b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                        ),
                    };
                });
            }
        });
        FileServer { port, log }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/c", self.port)
    }

    /// The paths asked for since the last call ending in `suffix`.
    fn asked(&self, suffix: &str) -> Vec<String> {
        let mut v: Vec<String> = self
            .log
            .lock()
            .unwrap()
            .iter()
            .filter(|p| p.ends_with(suffix))
            .cloned()
            .collect();
        v.sort();
        v
    }

    fn clear(&self) {
        self.log.lock().unwrap().clear();
    }
}

/// The directory of remembered answers.
fn answers(ctx: &TestContext) -> PathBuf {
    ctx.home.join(".buildout/cache/narinfo-v1")
}

/// Remembered answer files ending in `suffix`.
fn remembered(ctx: &TestContext, suffix: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for d in fs::read_dir(answers(ctx)).into_iter().flatten().flatten() {
        for f in fs::read_dir(d.path()).unwrap().flatten() {
            if f.file_name().to_string_lossy().ends_with(suffix) {
                out.push(f.path());
            }
        }
    }
    out.sort();
    out
}

/// A fresh store and buildout directory, keeping the remembered answers
/// (which [`fresh_host`] drops with the rest of `~/.buildout/cache`).
fn fresh_host_keeping_answers(ctx: &TestContext) {
    let aside = ctx.root.join("answers-aside");
    let _ = fs::rename(answers(ctx), &aside);
    fresh_host(ctx);
    fs::create_dir_all(answers(ctx).parent().unwrap()).unwrap();
    let _ = fs::rename(&aside, answers(ctx));
}

/// Machine A pushes the closure of `what` (everything when empty) to
/// `<root>/www/<name>` with `compression`; returns the public key.
fn push(ctx: &TestContext, name: &str, what: &[&str], compression: &str) {
    let url = format!("file://{}", ctx.root.join("www").join(name).display());
    let mut args = vec!["push", url.as_str(), "--compression", compression];
    args.extend(what);
    ctx.ok(&args);
}

fn age(files: &[PathBuf], ago: &str) {
    if files.is_empty() {
        return;
    }
    let mut touch = Command::new("touch");
    touch.arg("-d").arg(ago).args(files);
    assert!(touch.status().unwrap().success());
}

/// The hash part of a store path's base name.
fn hash_of(path: &str) -> String {
    Path::new(path).file_name().unwrap().to_string_lossy()[..32].to_string()
}

/// Serves `<root>/www`; a fresh host substitutes from `www/c` (trusting
/// `public`) and installs.
fn first_host_install(ctx: &TestContext, server: &IndexServer, public: &str) -> FileServer {
    let http = FileServer::start(ctx.root.join("www"));
    fresh_host(ctx);
    ctx.write(
        "buildout.cfg",
        &config(
            server,
            &format!(
                "substituters = {}\ntrusted-public-keys = {public}",
                http.url()
            ),
        ),
    );
    ctx.ok(&[]);
    http
}

#[test]
fn remembered_narinfos_spare_requests_and_negative_answers_expire() {
    let ctx = TestContext::new();
    let server = index();
    let (_, public) = build_signed(&ctx, &server);
    // Only util is in the cache: everything else is a negative answer.
    let util = object(&ctx, "util");
    push(&ctx, "c", &[&util], "zstd");
    let http = first_host_install(&ctx, &server, &public);
    let first = objects(&ctx);
    let asked = http.asked(".narinfo");
    assert!(asked.len() > 1, "{asked:?}");
    assert!(asked.iter().any(|p| p.contains(&hash_of(&util))));
    assert_eq!(remembered(&ctx, ".narinfo").len(), 1);
    let negative = remembered(&ctx, ".missing");
    assert_eq!(negative.len(), asked.len() - 1);

    // Again, with the answers: no narinfo asked; util still substituted.
    fresh_host_keeping_answers(&ctx);
    http.clear();
    let out = ctx.ok(&[]);
    assert!(out.contains("Substituted"), "{out}");
    assert_eq!(http.asked(".narinfo"), Vec::<String>::new());
    assert_eq!(http.asked(".nar.zst").len(), 1);
    assert_eq!(objects(&ctx), first);
    verify_clean(&ctx);

    // Negative answers older than an hour are asked again; the positive
    // one (30 days) is not.
    age(&negative, "61 minutes ago");
    age(&remembered(&ctx, ".narinfo"), "29 days ago");
    fresh_host_keeping_answers(&ctx);
    http.clear();
    ctx.ok(&[]);
    let again = http.asked(".narinfo");
    assert_eq!(again.len(), negative.len(), "{again:?}");
    assert!(!again.iter().any(|p| p.contains(&hash_of(&util))));
    // Under an hour: still used.
    age(&remembered(&ctx, ".missing"), "59 minutes ago");
    fresh_host_keeping_answers(&ctx);
    http.clear();
    ctx.ok(&[]);
    assert_eq!(http.asked(".narinfo"), Vec::<String>::new());
}

#[test]
fn a_remembered_narinfo_is_still_checked_and_dropped_when_its_nar_is_gone() {
    let ctx = TestContext::new();
    let server = index();
    let (_, public) = build_signed(&ctx, &server);
    let util = object(&ctx, "util");
    let before = objects(&ctx);
    push(&ctx, "c", &[], "zstd");
    push(&ctx, "plain", &[], "none");
    let _http = first_host_install(&ctx, &server, &public);
    let util_answer = remembered(&ctx, ".narinfo")
        .into_iter()
        .find(|p| p.to_string_lossy().contains(&hash_of(&util)))
        .unwrap();

    // An edited remembered narinfo fails its signature like a downloaded
    // one: a warning, util built, the store clean.
    let good = fs::read_to_string(&util_answer).unwrap();
    let edited: String = good
        .lines()
        .map(|l| {
            if l.starts_with("NarSize:") {
                "NarSize: 1".to_string()
            } else {
                l.to_string()
            }
        })
        .map(|l| l + "\n")
        .collect();
    fs::write(&util_answer, &edited).unwrap();
    fresh_host_keeping_answers(&ctx);
    let r = ctx.buildout(&[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let all = format!("{}{}", r.stdout, r.stderr);
    assert!(all.contains("no valid signature"), "{all}");
    assert_eq!(objects(&ctx), before);
    verify_clean(&ctx);

    // The cache is pushed again with other NAR files: the remembered
    // narinfos name NARs that are gone, so they are dropped and asked
    // again; the new narinfos give the same NARs: nothing is built.
    fs::write(&util_answer, &good).unwrap();
    fs::rename(ctx.root.join("www/c"), ctx.root.join("www/old")).unwrap();
    fs::rename(ctx.root.join("www/plain"), ctx.root.join("www/c")).unwrap();
    fresh_host_keeping_answers(&ctx);
    server.clear_log();
    let r = ctx.buildout(&[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let all = format!("{}{}", r.stdout, r.stderr);
    assert!(!all.contains("arning"), "{all}");
    assert!(all.contains("Substituted"), "{all}");
    assert_eq!(objects(&ctx), before);
    assert!(
        fs::read_to_string(&util_answer)
            .unwrap()
            .contains("Compression: none")
    );
    verify_clean(&ctx);

    // util's narinfo and NAR gone from the cache: the remembered answer
    // fails, is dropped, and util is built.
    fs::write(&util_answer, &good).unwrap();
    for e in fs::read_dir(ctx.root.join("www/c")).unwrap().flatten() {
        if e.file_name().to_string_lossy().starts_with(&hash_of(&util)) {
            fs::remove_file(e.path()).unwrap();
        }
    }
    fresh_host_keeping_answers(&ctx);
    let r = ctx.buildout(&[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let all = format!("{}{}", r.stdout, r.stderr);
    assert!(all.contains("building it instead"), "{all}");
    assert!(!util_answer.exists());
    assert_eq!(objects(&ctx), before);
    verify_clean(&ctx);
}
