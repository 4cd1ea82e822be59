//! Binary caches: keys, `push`, substitution during `install`, and the
//! faults a cache can have (tampered NAR, edited narinfo, unknown key,
//! truncated download, a cache that goes away mid-push). Every fault is a
//! warning with a fallback to building, or a clear error; nothing is left
//! half-registered and `store verify --check-contents` stays clean.
//!
//! Caches are `file://` directories, `python3 -m http.server` (read-only
//! substituter) and nginx with WebDAV PUT (skipped with a message when
//! nginx is not installed: `.ci/run` installs it).

use crate::common::index::IndexServer;
use crate::common::wheel::Wheel;
use crate::common::{TestContext, run};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

pub(crate) fn index() -> IndexServer {
    let server = IndexServer::start();
    server
        .publish(Wheel::new("web", "1.0").dep("util>=1").build())
        .publish(Wheel::new("util", "1.5").build());
    server
}

/// A buildout with one eggs part, `extra` lines added to `[buildout]`.
pub(crate) fn config(server: &IndexServer, extra: &str) -> String {
    format!(
        "[buildout]\nparts = app\nindex = {}\n{extra}\n[app]\nrecipe = zc.recipe.egg:eggs\neggs = web\n",
        server.index_url(),
    )
}

/// Makes a key pair in the buildout directory: (secret file, public key).
pub(crate) fn key(ctx: &TestContext, name: &str) -> (PathBuf, String) {
    let file = ctx.path(&format!("{name}.secret"));
    let out = ctx.ok(&[
        "key",
        "generate",
        name,
        "--secret-file",
        &format!("{name}.secret"),
    ]);
    let public = out
        .lines()
        .find(|l| l.starts_with(&format!("{name}:")))
        .unwrap_or_else(|| panic!("no public key in {out}"))
        .to_string();
    (file, public)
}

/// The registered objects, as `store ls` lists them.
pub(crate) fn objects(ctx: &TestContext) -> Vec<String> {
    let mut v: Vec<String> = ctx
        .ok(&["store", "ls"])
        .lines()
        .map(str::to_string)
        .collect();
    v.sort();
    v
}

/// The registered object whose name starts with `name`.
pub(crate) fn object(ctx: &TestContext, name: &str) -> String {
    objects(ctx)
        .into_iter()
        .find(|l| l.contains(&format!("-{name}")))
        .unwrap_or_else(|| panic!("no object {name}"))
        .split_whitespace()
        .last()
        .unwrap()
        .to_string()
}

/// The buildout directory as a fresh host has it: the configuration and
/// the key files only, and an empty store at the same path.
pub(crate) fn fresh_host(ctx: &TestContext) {
    let old = ctx.root.join(format!(
        "store.{}",
        fs::read_dir(&ctx.root).unwrap().count()
    ));
    fs::rename(&ctx.store, &old).unwrap();
    // The index client's caches too: a new host has none.
    let _ = fs::remove_dir_all(ctx.home.join(".buildout/cache"));
    for e in fs::read_dir(&ctx.work).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name == "buildout.cfg" || name.ends_with(".secret") {
            continue;
        }
        let p = e.path();
        if fs::symlink_metadata(&p).unwrap().is_dir() {
            fs::remove_dir_all(&p).unwrap();
        } else {
            fs::remove_file(&p).unwrap();
        }
    }
}

/// The distribution files downloaded from the index (resolution still
/// reads its pages: substitution starts from the resolved store paths).
pub(crate) fn downloads(server: &IndexServer) -> Vec<String> {
    server
        .requests()
        .into_iter()
        .map(|r| r.path)
        .filter(|p| p.ends_with(".whl") || p.ends_with(".tar.gz"))
        .collect()
}

/// Machine A: installs, pushes to `cache` (a URL), and returns its objects.
fn build_and_push(
    ctx: &TestContext,
    server: &IndexServer,
    cache: &str,
    secret: &Path,
    compression: &str,
) -> Vec<String> {
    ctx.write(
        "buildout.cfg",
        &config(server, &format!("secret-key-files = {}", secret.display())),
    );
    ctx.ok(&[]);
    let out = ctx.ok(&["push", cache, "--compression", compression]);
    assert!(out.contains("Pushed "), "{out}");
    objects(ctx)
}

/// Machine A with a new key `build-1` in `secret-key-files`, installed:
/// (secret file, public key).
pub(crate) fn build_signed(ctx: &TestContext, server: &IndexServer) -> (PathBuf, String) {
    let (secret, public) = key(ctx, "build-1");
    ctx.write(
        "buildout.cfg",
        &config(server, &format!("secret-key-files = {}", secret.display())),
    );
    ctx.ok(&[]);
    (secret, public)
}

/// A fresh host with `extra` in `[buildout]` installs `before` (machine
/// A's objects) without downloading a distribution; its store verifies.
pub(crate) fn install_on_a_fresh_host(
    ctx: &TestContext,
    server: &IndexServer,
    extra: &str,
    before: &[String],
) {
    fresh_host(ctx);
    ctx.write("buildout.cfg", &config(server, extra));
    server.clear_log();
    let out = ctx.ok(&[]);
    assert!(downloads(server).is_empty(), "{out}");
    assert_eq!(objects(ctx), before);
    verify_clean(ctx);
}

/// Machine A with a key `build-1`, pushed to the `file://` cache
/// `<root>/cache`: (cache directory, public key, objects).
fn machine_a(ctx: &TestContext, server: &IndexServer) -> (PathBuf, String, Vec<String>) {
    let (secret, public) = key(ctx, "build-1");
    let cache = ctx.root.join("cache");
    let url = format!("file://{}", cache.display());
    let before = build_and_push(ctx, server, &url, &secret, "zstd");
    (cache, public, before)
}

pub(crate) fn verify_clean(ctx: &TestContext) {
    let r = ctx.buildout(&["store", "verify", "--check-contents"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
}

fn cache_files(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = walk(dir)
        .into_iter()
        .filter(|p| p.to_string_lossy().ends_with(suffix))
        .collect();
    v.sort();
    v
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).unwrap().flatten() {
        if e.path().is_dir() {
            out.extend(walk(&e.path()));
        } else {
            out.push(e.path());
        }
    }
    out
}

/// The narinfo of the object whose name starts with `name`.
fn narinfo_of(cache: &Path, name: &str) -> PathBuf {
    cache_files(cache, ".narinfo")
        .into_iter()
        .find(|p| {
            fs::read_to_string(p)
                .unwrap()
                .lines()
                .next()
                .is_some_and(|l| l.contains(&format!("-{name}")))
        })
        .unwrap_or_else(|| panic!("no narinfo for {name}"))
}

#[test]
fn keys_are_nix_format_and_the_secret_is_never_shown() {
    let ctx = TestContext::new();
    let out = ctx.buildout(&[
        "key",
        "generate",
        "cache.example.org-1",
        "--secret-file",
        "s.key",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let secret = fs::read_to_string(ctx.path("s.key")).unwrap();
    let mode = fs::metadata(ctx.path("s.key"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let (name, data) = secret.trim().split_once(':').unwrap();
    assert_eq!(name, "cache.example.org-1");
    assert_eq!(data.len(), 88, "64 bytes in base64");
    assert!(!out.stdout.contains(data) && !out.stderr.contains(data));
    let public = out.stdout.lines().last().unwrap().to_string();
    assert!(public.starts_with("cache.example.org-1:") && public.len() == 20 + 44);
    // `key public` from the file and from standard input.
    assert_eq!(ctx.ok(&["key", "public", "s.key"]).trim(), public);
    let mut cmd = ctx.command();
    cmd.args(["key", "public"])
        .stdin(fs::File::open(ctx.path("s.key")).unwrap());
    assert_eq!(run(&mut cmd).stdout.trim(), public);
    // An existing file is never replaced; a bad name is refused.
    let again = ctx.buildout(&["key", "generate", "other", "--secret-file", "s.key"]);
    assert_ne!(again.code, 0);
    assert_eq!(fs::read_to_string(ctx.path("s.key")).unwrap(), secret);
    assert_ne!(
        ctx.buildout(&["key", "generate", "bad name", "--secret-file", "t.key"])
            .code,
        0
    );
    // A damaged key file: an error naming the file, not its contents.
    fs::write(ctx.path("bad.key"), "k:c2VjcmV0LXNlY3JldA==").unwrap();
    let r = ctx.buildout(&["key", "public", "bad.key"]);
    assert_ne!(r.code, 0);
    assert!(
        r.stderr.contains("bad.key") && !r.stderr.contains("c2VjcmV0"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_fresh_store_installs_from_the_cache_without_building_or_downloading() {
    let ctx = TestContext::new();
    let server = index();
    let (secret, public) = key(&ctx, "build-1");
    let cache = ctx.root.join("cache");
    let url = format!("file://{}", cache.display());
    let before = build_and_push(&ctx, &server, &url, &secret, "zstd");
    let generation = fs::read_link(ctx.path(".buildout/current")).unwrap();
    assert!(
        fs::read_to_string(cache.join("nix-cache-info"))
            .unwrap()
            .contains(&format!("StoreDir: {}", ctx.store.display()))
    );
    let infos = cache_files(&cache, ".narinfo");
    assert_eq!(infos.len(), before.len(), "{infos:?} {before:?}");
    assert_eq!(cache_files(&cache, ".nar.zst").len(), before.len());
    // Signatures are kept in the store: verify --check-signatures is clean
    // with the key trusted, and fails without it.
    let trusted = format!("trusted-public-keys = {public}");
    ctx.write("buildout.cfg", &config(&server, &trusted));
    ctx.ok(&["store", "verify", "--check-signatures"]);
    ctx.write("buildout.cfg", &config(&server, ""));
    let r = ctx.buildout(&["store", "verify", "--check-signatures"]);
    assert_ne!(r.code, 0, "{}", r.stdout);
    // A second push uploads nothing.
    assert!(ctx.ok(&["push", &url]).contains("Pushed 0 of"));

    fresh_host(&ctx);
    ctx.write(
        "buildout.cfg",
        &config(&server, &format!("substituters = {url}\n{trusted}")),
    );
    server.clear_log();
    let out = ctx.ok(&[]);
    assert!(
        !out.contains("warning") && !out.contains("Warning"),
        "{out}"
    );
    assert!(downloads(&server).is_empty(), "{:?}", server.requests());
    assert_eq!(objects(&ctx), before);
    assert_eq!(
        fs::read_link(ctx.path(".buildout/current")).unwrap(),
        generation
    );
    verify_clean(&ctx);
    ctx.write("buildout.cfg", &config(&server, &trusted));
    ctx.ok(&["store", "verify", "--check-signatures"]);
}

/// Machine A pushes to a `file://` cache; the host's store is fresh; then
/// `damage` changes the cache. The host's install must warn, fall back to
/// the index, register nothing it did not check, and verify clean.
fn faulty_cache(
    compression: &str,
    damage: impl FnOnce(&Path),
    trust_other_key: bool,
    expect: &str,
) {
    let ctx = TestContext::new();
    let server = index();
    let (secret, public) = key(&ctx, "build-1");
    let cache = ctx.root.join("cache");
    let url = format!("file://{}", cache.display());
    ctx.write("buildout.cfg", &config(&server, ""));
    build_and_push(&ctx, &server, &url, &secret, compression);
    damage(&cache);
    fresh_host(&ctx);
    let trusted = if trust_other_key {
        let (_, other) = key(&ctx, "other-1");
        other
    } else {
        public
    };
    ctx.write(
        "buildout.cfg",
        &config(
            &server,
            &format!("substituters = {url}\ntrusted-public-keys = {trusted}"),
        ),
    );
    server.clear_log();
    let r = ctx.buildout(&[]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let all = format!("{}{}", r.stdout, r.stderr);
    assert!(all.contains(expect), "expected `{expect}` in:\n{all}");
    assert!(all.contains("building it instead"), "{all}");
    // util (a distribution) comes from the index again; `app` (a part) is
    // made again from its distributions.
    if all.contains("-app`") {
        assert!(all.contains("Installing app."), "{all}");
    } else {
        assert!(!downloads(&server).is_empty(), "fell back to the index");
    }
    verify_clean(&ctx);
}

/// Rewrites the narinfo of `name` with `edit`.
fn edit_narinfo(cache: &Path, name: &str, edit: impl Fn(&str) -> String) {
    let p = narinfo_of(cache, name);
    let text = fs::read_to_string(&p).unwrap();
    fs::write(&p, edit(&text)).unwrap();
}

#[test]
fn a_tampered_nar_is_refused_and_built_instead() {
    // One byte of a file in util's NAR flipped; FileHash/FileSize
    // removed, so that the NAR hash itself must catch it.
    faulty_cache(
        "none",
        |cache| {
            edit_narinfo(cache, "util", |t| {
                let url = t.lines().find_map(|l| l.strip_prefix("URL: ")).unwrap();
                let nar = cache.join(url);
                let mut bytes = fs::read(&nar).unwrap();
                flip_content_byte(&mut bytes);
                fs::write(&nar, bytes).unwrap();
                t.lines()
                    .filter(|l| !l.starts_with("File"))
                    .map(|l| format!("{l}\n"))
                    .collect()
            });
        },
        false,
        "NarHash",
    );
}

/// Flips the first byte of the first non-empty file in an uncompressed NAR.
fn flip_content_byte(nar: &mut [u8]) {
    let token = b"\x08\0\0\0\0\0\0\0contents";
    let mut at = 0;
    while let Some(i) = nar[at..].windows(token.len()).position(|w| w == token) {
        let len_at = at + i + token.len();
        let len = u64::from_le_bytes(nar[len_at..len_at + 8].try_into().unwrap());
        if len > 0 {
            nar[len_at + 8] ^= 1;
            return;
        }
        at = len_at;
    }
    panic!("no file contents in the NAR");
}

#[test]
fn a_tampered_compressed_file_fails_its_file_hash() {
    faulty_cache(
        "zstd",
        |cache| {
            let p = narinfo_of(cache, "util");
            let text = fs::read_to_string(&p).unwrap();
            let url = text.lines().find_map(|l| l.strip_prefix("URL: ")).unwrap();
            let nar = cache.join(url);
            let mut bytes = fs::read(&nar).unwrap();
            let last = bytes.len() - 1;
            bytes[last] ^= 0x40;
            fs::write(&nar, bytes).unwrap();
        },
        false,
        "FileHash",
    );
}

#[test]
fn a_truncated_download_is_refused() {
    faulty_cache(
        "zstd",
        |cache| {
            let p = narinfo_of(cache, "util");
            let text = fs::read_to_string(&p).unwrap();
            let url = text.lines().find_map(|l| l.strip_prefix("URL: ")).unwrap();
            let nar = cache.join(url);
            let bytes = fs::read(&nar).unwrap();
            fs::write(&nar, &bytes[..bytes.len() / 2]).unwrap();
        },
        false,
        "truncated",
    );
}

#[test]
fn an_edited_reference_list_breaks_the_signature() {
    faulty_cache(
        "zstd",
        |cache| {
            // The part's object without its distributions.
            edit_narinfo(cache, "app", |t| {
                t.lines()
                    .map(|l| {
                        if l.starts_with("References:") {
                            "References: \n".to_string()
                        } else {
                            format!("{l}\n")
                        }
                    })
                    .collect()
            });
        },
        false,
        "no valid signature",
    );
}

#[test]
fn a_narinfo_for_another_path_is_refused() {
    faulty_cache(
        "zstd",
        |cache| {
            // util's narinfo served under web's name.
            let util = fs::read_to_string(narinfo_of(cache, "util")).unwrap();
            fs::write(narinfo_of(cache, "web"), util).unwrap();
        },
        false,
        "describes",
    );
}

#[test]
fn an_unknown_signing_key_is_refused_with_require_sigs() {
    faulty_cache("zstd", |_| {}, true, "no valid signature");
}

#[test]
fn require_sigs_false_accepts_unsigned_narinfos() {
    let ctx = TestContext::new();
    let server = index();
    let cache = ctx.root.join("cache");
    let url = format!("file://{}", cache.display());
    ctx.write("buildout.cfg", &config(&server, ""));
    ctx.ok(&[]);
    let out = ctx.ok(&["push", &url]);
    assert!(out.contains("unsigned"), "{out}");
    let before = objects(&ctx);
    fresh_host(&ctx);
    ctx.write(
        "buildout.cfg",
        &config(&server, &format!("substituters = {url}")),
    );
    // Unsigned and require-sigs (the default): built.
    let r = ctx.buildout(&[]);
    assert!(r.stdout.contains("not signed"), "{}", r.stdout);
    install_on_a_fresh_host(
        &ctx,
        &server,
        &format!("substituters = {url}\nrequire-sigs = false"),
        &before,
    );
}

#[test]
fn a_cache_of_another_store_directory_is_ignored_with_a_warning() {
    let ctx = TestContext::new();
    let server = index();
    let cache = ctx.root.join("cache");
    fs::create_dir_all(&cache).unwrap();
    fs::write(cache.join("nix-cache-info"), "StoreDir: /nix/store\n").unwrap();
    let url = format!("file://{}", cache.display());
    ctx.write(
        "buildout.cfg",
        &config(&server, &format!("substituters = {url}")),
    );
    let r = ctx.buildout(&[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("/nix/store"), "{}", r.stdout);
    // And push refuses it.
    let r = ctx.buildout(&["push", &url]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("/nix/store"), "{}", r.stderr);
}

#[test]
fn an_interrupted_push_resumes_and_the_cache_holds_only_whole_closures() {
    let ctx = TestContext::new();
    let server = index();
    let (secret, _) = key(&ctx, "build-1");
    let cache = ctx.root.join("cache");
    let url = format!("file://{}", cache.display());
    ctx.write(
        "buildout.cfg",
        &config(&server, &format!("secret-key-files = {}", secret.display())),
    );
    ctx.ok(&[]);
    let total = objects(&ctx).len();
    // util alone first, then the whole closure, killed right after the
    // next object's NAR is uploaded.
    ctx.ok(&["push", &url, &object(&ctx, "util")]);
    let mut cmd = ctx.command();
    cmd.args(["push", &url])
        .env("BUILDOUT_FAILPOINT", "push-nar-uploaded");
    let r = run(&mut cmd);
    assert_ne!(r.code, 0);
    let infos = cache_files(&cache, ".narinfo");
    assert_eq!(infos.len(), 1, "{infos:?}");
    assert_eq!(cache_files(&cache, ".nar.zst").len(), 2);
    // Every narinfo's references have narinfos.
    check_closed(&cache);
    let out = ctx.ok(&["push", &url]);
    assert!(
        out.contains(&format!("Pushed {} of {total}", total - 1)),
        "{out}"
    );
    assert!(out.contains("1 already there"), "{out}");
    assert_eq!(cache_files(&cache, ".nar.zst").len(), total);
    check_closed(&cache);
}

/// The cache-side closure invariant: a narinfo exists only if its
/// references' narinfos do.
pub(crate) fn check_closed(cache: &Path) {
    let infos = cache_files(cache, ".narinfo");
    let hashes: Vec<String> = infos
        .iter()
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    for p in &infos {
        let text = fs::read_to_string(p).unwrap();
        let refs = text
            .lines()
            .find_map(|l| l.strip_prefix("References:"))
            .unwrap_or("");
        for r in refs.split_whitespace() {
            assert!(
                hashes.contains(&r[..32].to_string()),
                "{p:?} references {r}"
            );
        }
    }
}

/// Listens on a free loopback port briefly, to learn one.
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub(crate) fn wait_for_port(port: u16) {
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("nothing listens on port {port}");
}

/// A child process killed when dropped.
pub(crate) struct Daemon(pub(crate) Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn python_http_server_is_a_read_only_substituter() {
    let ctx = TestContext::new();
    let server = index();
    let (cache, public, before) = machine_a(&ctx, &server);
    let port = free_port();
    let _http = Daemon(
        Command::new("python3")
            .args([
                "-m",
                "http.server",
                "--bind",
                "127.0.0.1",
                &port.to_string(),
            ])
            .arg("--directory")
            .arg(&cache)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 -m http.server"),
    );
    wait_for_port(port);
    fresh_host(&ctx);
    ctx.write(
        "buildout.cfg",
        &config(
            &server,
            &format!("substituters = http://127.0.0.1:{port}\ntrusted-public-keys = {public}"),
        ),
    );
    server.clear_log();
    let out = ctx.ok(&[]);
    assert!(downloads(&server).is_empty(), "{out}");
    assert_eq!(objects(&ctx), before);
    verify_clean(&ctx);
    // Pushing to it is refused (it has no PUT): a clear error.
    let r = ctx.buildout(&["push", &format!("http://127.0.0.1:{port}/new")]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("upload"), "{}", r.stderr);
}

/// nginx serving `root` with WebDAV PUT on `port`, or `None` (with a
/// message) when nginx is not installed.
#[allow(clippy::print_stderr)]
fn nginx(dir: &Path, root: &Path, port: u16) -> Option<Daemon> {
    let bin = ["/usr/sbin/nginx", "/usr/local/sbin/nginx"]
        .into_iter()
        .find(|p| Path::new(p).exists());
    let Some(bin) = bin else {
        eprintln!("SKIPPED: nginx is not installed (apt-get install nginx; .ci/run does)");
        return None;
    };
    fs::create_dir_all(dir.join("logs")).unwrap();
    fs::create_dir_all(root).unwrap();
    let user = if nix_is_root() {
        "user root root;\n"
    } else {
        ""
    };
    let conf = format!(
        "{user}daemon off;\nmaster_process off;\nerror_log {dir}/logs/error.log;\npid {dir}/nginx.pid;\n\
         events {{}}\nhttp {{\n  access_log off;\n  client_body_temp_path {dir}/body;\n\
         proxy_temp_path {dir}/proxy;\n  fastcgi_temp_path {dir}/fastcgi;\n  uwsgi_temp_path {dir}/uwsgi;\n\
         scgi_temp_path {dir}/scgi;\n  server {{\n    listen 127.0.0.1:{port};\n    root {root};\n\
         client_max_body_size 0;\n    location / {{\n      dav_methods PUT;\n      create_full_put_path on;\n\
         dav_access user:rw group:r all:r;\n    }}\n  }}\n}}\n",
        dir = dir.display(),
        root = root.display(),
    );
    fs::write(dir.join("nginx.conf"), conf).unwrap();
    let child = Command::new(bin)
        .arg("-p")
        .arg(dir)
        .arg("-c")
        .arg(dir.join("nginx.conf"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start nginx");
    wait_for_port(port);
    Some(Daemon(child))
}

fn nix_is_root() -> bool {
    fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .is_some_and(|u| u.split_whitespace().next() == Some("0"))
}

#[test]
fn push_to_nginx_webdav_resumes_after_the_server_goes_away() {
    let ctx = TestContext::new();
    let server = index();
    let (secret, public) = key(&ctx, "build-1");
    let root = ctx.root.join("www");
    let port = free_port();
    let Some(daemon) = nginx(&ctx.root.join("nginx"), &root, port) else {
        return;
    };
    // Credentials from ~/.netrc: sent, never shown.
    fs::write(
        ctx.home.join(".netrc"),
        "machine 127.0.0.1 login pusher password n3tRcS3cret\n",
    )
    .unwrap();
    let url = format!("http://127.0.0.1:{port}/cache");
    ctx.write(
        "buildout.cfg",
        &config(&server, &format!("secret-key-files = {}", secret.display())),
    );
    ctx.ok(&[]);
    let before = objects(&ctx);
    // util alone, then the rest interrupted after one NAR; then the
    // server disappears.
    ctx.ok(&["push", &url, &object(&ctx, "util")]);
    let mut cmd = ctx.command();
    cmd.args(["push", &url])
        .env("BUILDOUT_FAILPOINT", "push-nar-uploaded");
    assert_ne!(run(&mut cmd).code, 0);
    drop(daemon);
    let r = ctx.buildout(&["-vv", "push", &url]);
    assert_ne!(r.code, 0);
    let all = format!("{}{}", r.stdout, r.stderr);
    assert!(all.contains(&format!("127.0.0.1:{port}")), "{all}");
    assert!(!all.contains("n3tRcS3cret"), "{all}");
    let secret_text = fs::read_to_string(&secret).unwrap();
    assert!(!all.contains(secret_text.trim().split(':').nth(1).unwrap()));
    // Back again: the push resumes.
    let _daemon = nginx(&ctx.root.join("nginx"), &root, port).unwrap();
    let out = ctx.ok(&["push", &url]);
    assert!(out.contains("1 already there"), "{out}");
    assert!(!out.contains("n3tRcS3cret"));
    check_closed(&root.join("cache"));
    // And a fresh host substitutes from it.
    install_on_a_fresh_host(
        &ctx,
        &server,
        &format!("substituters = {url}\ntrusted-public-keys = {public}"),
        &before,
    );
}

#[test]
fn credentials_in_a_cache_url_never_appear_in_output() {
    let ctx = TestContext::new();
    let server = index();
    ctx.write("buildout.cfg", &config(&server, ""));
    ctx.ok(&[]);
    let port = free_port();
    let url = format!("http://user:hunter2Secret@127.0.0.1:{port}/c");
    let r = ctx.buildout(&["push", &url]);
    assert_ne!(r.code, 0);
    let all = format!("{}{}", r.stdout, r.stderr);
    assert!(all.contains(&format!("127.0.0.1:{port}")), "{all}");
    assert!(!all.contains("hunter2Secret"), "{all}");
    // As a substituter: a warning, without the password, and a build.
    fresh_host(&ctx);
    ctx.write(
        "buildout.cfg",
        &config(&server, &format!("substituters = {url}")),
    );
    let r = ctx.buildout(&[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let all = format!("{}{}", r.stdout, r.stderr);
    assert!(all.contains("ignoring substituter"), "{all}");
    assert!(!all.contains("hunter2Secret"), "{all}");
}

/// Runs `buildout store export` into `file`.
fn export_to(ctx: &TestContext, file: &Path) {
    let mut cmd = ctx.command();
    cmd.args(["store", "export"])
        .stdout(fs::File::create(file).unwrap());
    let r = run(&mut cmd);
    assert_eq!(r.code, 0, "{}", r.stderr);
}

/// Runs `buildout store import` from `file`.
fn import_from(ctx: &TestContext, file: &Path) -> crate::common::Run {
    let mut cmd = ctx.command();
    cmd.args(["store", "import"])
        .stdin(fs::File::open(file).unwrap());
    run(&mut cmd)
}

#[test]
fn export_and_import_move_a_closure_with_the_same_checks() {
    let ctx = TestContext::new();
    let server = index();
    // Signed by export itself (secret-key-files), not by a push.
    let (secret, public) = key(&ctx, "build-1");
    ctx.write(
        "buildout.cfg",
        &config(&server, &format!("secret-key-files = {}", secret.display())),
    );
    ctx.ok(&[]);
    let before = objects(&ctx);
    let stream = ctx.root.join("closure.bin");
    export_to(&ctx, &stream);
    let bytes = fs::read(&stream).unwrap();
    assert!(
        bytes.starts_with(&17u64.to_le_bytes()),
        "binary only on stdout"
    );

    // Unsigned for this host (another key trusted): refused, nothing added.
    fresh_host(&ctx);
    let (_, other) = key(&ctx, "other-1");
    ctx.write(
        "buildout.cfg",
        &config(&server, &format!("trusted-public-keys = {other}")),
    );
    let r = import_from(&ctx, &stream);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("no valid signature"), "{}", r.stderr);
    verify_clean(&ctx);

    // Truncated: a clear error; what was whole before the cut is fine.
    fresh_host(&ctx);
    ctx.write(
        "buildout.cfg",
        &config(&server, &format!("trusted-public-keys = {public}")),
    );
    let cut = ctx.root.join("cut.bin");
    fs::write(&cut, &bytes[..bytes.len() - 100]).unwrap();
    let r = import_from(&ctx, &cut);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("truncated"), "{}", r.stderr);
    verify_clean(&ctx);

    // Whole and trusted: the same objects, and install downloads nothing.
    let r = import_from(&ctx, &stream);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains(&format!("Imported {}", before.len())),
        "{}",
        r.stdout
    );
    assert_eq!(objects(&ctx), before);
    verify_clean(&ctx);
    server.clear_log();
    ctx.ok(&[]);
    assert!(downloads(&server).is_empty());
    assert_eq!(objects(&ctx), before);
}

#[test]
fn cache_gc_keeps_pinned_closures_and_deletes_narinfos_before_nars() {
    let ctx = TestContext::new();
    let server = index();
    let (secret, public) = key(&ctx, "build-1");
    let cache = ctx.root.join("cache");
    let url = format!("file://{}", cache.display());
    let signing = format!("secret-key-files = {}", secret.display());
    ctx.write("buildout.cfg", &config(&server, &signing));
    ctx.ok(&[]);
    let pinned = objects(&ctx);
    ctx.ok(&["push", &url, "--pin", "prod"]);
    // A second generation, pushed without a pin.
    ctx.write(
        "buildout.cfg",
        &config(&server, &signing).replace("eggs = web", "eggs = util"),
    );
    ctx.ok(&[]);
    ctx.ok(&["push", &url]);
    let all = cache_files(&cache, ".narinfo").len();
    assert!(all > pinned.len());
    // Everything is old now: only the pin keeps objects.
    let mut touch = Command::new("touch");
    touch.arg("-d").arg("200 days ago").args(walk(&cache));
    assert!(touch.status().unwrap().success());
    let dry = ctx.ok(&["cache", "gc", &url, "--dry-run"]);
    assert!(dry.contains("Would delete"), "{dry}");
    assert_eq!(cache_files(&cache, ".narinfo").len(), all);
    // Recent objects are kept.
    let out = ctx.ok(&["cache", "gc", &url, "--keep", "365d"]);
    assert!(out.contains("Deleted 0 narinfo"), "{out}");
    let out = ctx.ok(&["cache", "gc", &url]);
    assert!(out.contains(&format!("kept {}", pinned.len())), "{out}");
    assert_eq!(cache_files(&cache, ".narinfo").len(), pinned.len());
    assert_eq!(cache_files(&cache, ".nar.zst").len(), pinned.len());
    check_closed(&cache);
    // The pinned generation still substitutes whole.
    ctx.write("buildout.cfg", &config(&server, ""));
    install_on_a_fresh_host(
        &ctx,
        &server,
        &format!("substituters = {url}\ntrusted-public-keys = {public}"),
        &pinned,
    );
    // A cache that cannot be listed is refused; a bad pin name too.
    let r = ctx.buildout(&["cache", "gc", "http://127.0.0.1:9/c"]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("file://"), "{}", r.stderr);
    let r = ctx.buildout(&["push", &url, "--pin", "../x"]);
    assert_ne!(r.code, 0);
}

#[test]
fn an_sdist_built_on_the_build_machine_is_downloaded_not_rebuilt() {
    let server = IndexServer::start();
    server
        .publish(Wheel::new("app", "1.0").dep("helper>=1").build())
        .publish(
            crate::common::wheel::Sdist::new("helper", "1.2")
                .module("helper/__init__.py", "VALUE = 'built on machine A'\n")
                .build(),
        );
    let ctx = TestContext::new();
    let (secret, public) = key(&ctx, "build-1");
    let cache = ctx.root.join("cache");
    let url = format!("file://{}", cache.display());
    ctx.write(
        "buildout.cfg",
        &config(&server, &format!("secret-key-files = {}", secret.display()))
            .replace("eggs = web", "eggs = app"),
    );
    assert!(ctx.ok(&[]).contains("Building helper 1.2 from its sdist."));
    ctx.ok(&["push", &url]);
    fresh_host(&ctx);
    ctx.write(
        "buildout.cfg",
        &config(
            &server,
            &format!("substituters = {url}\ntrusted-public-keys = {public}"),
        )
        .replace("eggs = web", "eggs = app"),
    );
    server.clear_log();
    let out = ctx.ok(&[]);
    assert!(!out.contains("Building"), "{out}");
    // The resolver still reads the sdist's PKG-INFO (resolution is not
    // substituted); nothing else is downloaded.
    assert_eq!(downloads(&server), ["/files/helper-1.2.tar.gz"]);
    let manifest: serde_json::Value = serde_json::from_str(
        &fs::read_to_string(ctx.path(".buildout/current/manifest.json")).unwrap(),
    )
    .unwrap();
    let helper = manifest["distributions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == "helper")
        .unwrap()["path"]
        .as_str()
        .unwrap()
        .to_string();
    let run = run(Command::new("python3")
        .env("PYTHONPATH", &helper)
        .args(["-c", "import helper; print(helper.VALUE)"]));
    assert_eq!(run.stdout, "built on machine A\n", "{}", run.stderr);
    verify_clean(&ctx);
}
