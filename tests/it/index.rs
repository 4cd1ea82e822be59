//! The index client (`buildout::index::Client`) against the local test
//! index (`common::index`), with wheels built in memory (`common::wheel`).

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use buildout::index::{Client, CoreMetadata, DistFile, Error, Options, Reporter, Source};
use buildout::python::PackageName;

use crate::common::TestContext;
use crate::common::index::IndexServer;
use crate::common::wheel::{MetadataFile, Sdist, Wheel};

fn name(s: &str) -> PackageName {
    PackageName::new(s).unwrap()
}

fn options(ctx: &TestContext, index: Option<String>) -> Options {
    Options {
        index_url: index,
        cache_dir: Some(ctx.root.join("cache")),
        netrc: Some(ctx.home.join(".netrc")),
        ..Options::default()
    }
}

fn filenames(files: &[DistFile]) -> Vec<&str> {
    files.iter().map(|f| f.filename.filename()).collect()
}

/// An index with `demo` (two versions, one yanked, an sdist, a platform
/// wheel) and `dep`.
fn demo_index() -> IndexServer {
    let server = IndexServer::start();
    server
        .publish(
            Wheel::new("demo", "1.0")
                .dep("dep>=1")
                .extra("fast", "speedups; python_version >= \"3.8\"")
                .requires_python(">=3.8")
                .build()
                .metadata_file(MetadataFile::Advertised),
        )
        .publish(Wheel::new("demo", "0.9").build().yanked("broken build"))
        .publish(Sdist::new("demo", "1.0").dep("dep>=1").build())
        .publish(
            Wheel::new("demo", "1.0")
                .tag("cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64")
                .build(),
        )
        .publish(Wheel::new("dep", "1.2").build());
    server
}

#[test]
fn json_page_lists_files_with_hashes_requires_python_and_yanked() {
    let ctx = TestContext::new();
    let server = demo_index();
    let client = Client::new(options(&ctx, Some(server.index_url()))).unwrap();
    let files = client.candidates(&name("Demo")).unwrap();
    assert_eq!(
        filenames(&files),
        [
            "demo-1.0-py3-none-any.whl",
            "demo-0.9-py3-none-any.whl",
            "demo-1.0.tar.gz",
            "demo-1.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
        ]
    );
    assert_eq!(files[0].requires_python.as_deref(), Some(">=3.8"));
    assert_eq!(files[0].sha256().unwrap().len(), 64);
    assert!(matches!(files[0].core_metadata, CoreMetadata::Available(_)));
    assert_eq!(files[0].source, Source::Index);
    assert_eq!(files[0].url, server.file_url("demo-1.0-py3-none-any.whl"));
    assert_eq!(files[1].yanked.as_deref(), Some("broken build"));
    assert!(files[0].size.is_some());
    let simple = server.requests_for("/simple/demo/");
    assert_eq!(simple.len(), 1);
    assert!(
        simple[0]
            .accept
            .as_deref()
            .unwrap()
            .starts_with("application/vnd.pypi.simple.v1+json")
    );
    // A second lookup in the same client is memoised.
    client.candidates(&name("demo")).unwrap();
    assert_eq!(server.requests_for("/simple/demo/").len(), 1);
}

#[test]
fn html_page_is_the_fallback_with_the_same_content() {
    let ctx = TestContext::new();
    let server = demo_index();
    server.html_only(true);
    let client = Client::new(options(&ctx, Some(server.index_url()))).unwrap();
    let files = client.candidates(&name("demo")).unwrap();
    assert_eq!(files.len(), 4);
    assert_eq!(files[0].requires_python.as_deref(), Some(">=3.8"));
    assert_eq!(files[1].yanked.as_deref(), Some("broken build"));
    assert!(matches!(files[0].core_metadata, CoreMetadata::Available(_)));
    assert_eq!(
        files[3].sha256(),
        files[3].hashes.get("sha256").map(String::as_str)
    );
    let meta = client.metadata(&files[0]).unwrap();
    assert_eq!(meta.requires_dist[0], "dep>=1");
}

#[test]
fn unknown_project_is_a_clear_error_and_the_root_is_not_scanned() {
    let ctx = TestContext::new();
    let server = demo_index();
    let client = Client::new(options(&ctx, Some(server.index_url()))).unwrap();
    let err = client.candidates(&name("nope")).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "no project `nope` on index `{}` (HTTP 404)",
            server.index_url()
        )
    );
    assert_eq!(server.requests_for("/simple/").len(), 0);
}

#[test]
fn find_links_directory_file_and_page() {
    let ctx = TestContext::new();
    let server = demo_index();
    let dir = ctx.root.join("links");
    std::fs::create_dir_all(&dir).unwrap();
    let local = Wheel::new("local-pkg", "2.0").build();
    std::fs::write(dir.join(&local.filename), &local.bytes).unwrap();
    std::fs::write(dir.join("README.txt"), "not a dist").unwrap();
    let single = Wheel::new("single", "1.0").build();
    let single_path = ctx.root.join(&single.filename);
    std::fs::write(&single_path, &single.bytes).unwrap();
    let page_url = server.page("links.html", &server.links_html());
    let local_page = ctx.root.join("local.html");
    std::fs::write(
        &local_page,
        format!("<a href=\"links/{0}\">{0}</a>", local.filename),
    )
    .unwrap();

    let mut opts = options(&ctx, None);
    opts.find_links = vec![
        dir.display().to_string(),
        format!("file://{}", single_path.display()),
        page_url,
        local_page.display().to_string(),
    ];
    let client = Client::new(opts).unwrap();
    let files = client.candidates(&name("local_pkg")).unwrap();
    assert_eq!(filenames(&files), ["local_pkg-2.0-py3-none-any.whl"]);
    assert_eq!(files[0].source, Source::FindLinks);
    let path = client
        .download(
            &files[0],
            &ctx.root.join("unused"),
            &buildout::index::NoReporter,
        )
        .unwrap();
    assert_eq!(path, dir.join(&local.filename));
    let files = client.candidates(&name("single")).unwrap();
    assert_eq!(filenames(&files), [single.filename.as_str()]);
    let files = client.candidates(&name("dep")).unwrap();
    assert_eq!(filenames(&files), ["dep-1.2-py3-none-any.whl"]);
    assert_eq!(files[0].url, server.file_url("dep-1.2-py3-none-any.whl"));
    assert!(files[0].sha256().is_some());
    // No index and nothing in find-links: an empty list, not an error.
    assert!(client.candidates(&name("nothing")).unwrap().is_empty());
    // The remote page was fetched once for all lookups.
    assert_eq!(server.requests_for("/pages/links.html").len(), 1);
}

#[test]
fn allow_hosts_filters_links_and_refuses_the_index() {
    let ctx = TestContext::new();
    let server = demo_index();
    let port = server.url().rsplit(':').next().unwrap().to_string();
    let html = format!(
        "<a href=\"http://127.0.0.1:{port}/files/dep-1.2-py3-none-any.whl\">a</a>\
         <a href=\"http://localhost:{port}/files/demo-0.9-py3-none-any.whl\">b</a>"
    );
    let page = server.page("mixed.html", &html);
    let mut opts = options(&ctx, None);
    opts.find_links = vec![page];
    opts.allow_hosts = vec!["127.0.0.1:*".into()];
    let client = Client::new(opts).unwrap();
    assert_eq!(client.candidates(&name("dep")).unwrap().len(), 1);
    assert!(client.candidates(&name("demo")).unwrap().is_empty());

    let mut opts = options(&ctx, Some(server.index_url()));
    opts.allow_hosts = vec!["*.example.com".into()];
    let client = Client::new(opts).unwrap();
    let err = client.candidates(&name("demo")).unwrap_err();
    assert!(matches!(err, Error::HostNotAllowed { .. }), "{err}");
    assert_eq!(server.requests_for("/simple/demo/").len(), 0);
}

#[test]
fn metadata_from_the_pep658_file_without_touching_the_wheel() {
    let ctx = TestContext::new();
    let server = demo_index();
    let client = Client::new(options(&ctx, Some(server.index_url()))).unwrap();
    let files = client.candidates(&name("demo")).unwrap();
    let meta = client.metadata(&files[0]).unwrap();
    assert_eq!(meta.name.as_str(), "demo");
    assert_eq!(meta.version.to_string(), "1.0");
    assert_eq!(
        meta.requires_dist,
        [
            "dep>=1",
            "speedups; python_version >= \"3.8\"; extra == \"fast\""
        ]
    );
    assert_eq!(meta.provides_extra, ["fast"]);
    assert_eq!(meta.requires_python.as_deref(), Some(">=3.8"));
    assert_eq!(
        server
            .requests_for("/files/demo-1.0-py3-none-any.whl.metadata")
            .len(),
        1
    );
    assert_eq!(
        server
            .requests_for("/files/demo-1.0-py3-none-any.whl")
            .len(),
        0
    );
    // Cached on disk by sha256: a new client asks nothing.
    server.clear_log();
    let client = Client::new(options(&ctx, Some(server.index_url()))).unwrap();
    client.metadata(&files[0]).unwrap();
    assert!(
        server
            .requests_for("/files/demo-1.0-py3-none-any.whl.metadata")
            .is_empty()
    );
}

#[test]
fn metadata_via_range_requests_reads_only_part_of_the_wheel() {
    let ctx = TestContext::new();
    let server = IndexServer::start();
    let dist = Wheel::new("big", "1.0")
        .dep("dep")
        .padding(400_000)
        .build()
        .metadata_file(MetadataFile::Absent);
    let size = dist.bytes.len();
    server.publish(dist);
    let client = Client::new(options(&ctx, Some(server.index_url()))).unwrap();
    let files = client.candidates(&name("big")).unwrap();
    let meta = client.metadata(&files[0]).unwrap();
    assert_eq!(meta.requires_dist, ["dep"]);
    let wheel_requests = server.requests_for("/files/big-1.0-py3-none-any.whl");
    assert!(
        wheel_requests.iter().any(|r| r.range.is_some()),
        "{wheel_requests:?}"
    );
    assert!(
        wheel_requests
            .iter()
            .all(|r| r.method == "HEAD" || r.range.is_some()),
        "a full GET was made: {wheel_requests:?}"
    );
    let fetched: usize = wheel_requests
        .iter()
        .filter_map(|r| r.range.as_deref())
        .map(|r| {
            let (a, b) = r.trim_start_matches("bytes=").split_once('-').unwrap();
            if a.is_empty() {
                // A suffix range: the last `b` bytes.
                b.parse::<usize>().unwrap().min(size)
            } else {
                b.parse::<usize>().unwrap() + 1 - a.parse::<usize>().unwrap()
            }
        })
        .sum();
    assert!(fetched < size / 2, "fetched {fetched} of {size} bytes");
}

#[test]
fn metadata_falls_back_to_the_full_wheel_without_ranges() {
    let ctx = TestContext::new();
    let server = IndexServer::start();
    server.set_ranges(false);
    server.publish(
        Wheel::new("plain", "1.0")
            .dep("other>=2")
            .build()
            .metadata_file(MetadataFile::Absent),
    );
    let client = Client::new(options(&ctx, Some(server.index_url()))).unwrap();
    let files = client.candidates(&name("plain")).unwrap();
    let meta = client.metadata(&files[0]).unwrap();
    assert_eq!(meta.requires_dist, ["other>=2"]);
    let gets: Vec<_> = server
        .requests_for("/files/plain-1.0-py3-none-any.whl")
        .into_iter()
        .filter(|r| r.method == "GET")
        .collect();
    // One GET: the range request, answered with the whole wheel, which is
    // read as it is (not downloaded a second time).
    assert_eq!(gets.len(), 1, "{gets:?}");
    // The scratch copy is gone.
    let leftovers: Vec<_> = std::fs::read_dir(ctx.root.join("cache"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("tmp-wheel"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn sdist_metadata_needs_a_build() {
    let ctx = TestContext::new();
    let server = demo_index();
    let client = Client::new(options(&ctx, Some(server.index_url()))).unwrap();
    let files = client.candidates(&name("demo")).unwrap();
    let sdist = files.iter().find(|f| !f.filename.is_wheel()).unwrap();
    let err = client.metadata(sdist).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the metadata of sdist `demo-1.0.tar.gz` is only known after building it"
    );
}

#[test]
fn download_verifies_the_hash_and_a_mismatch_leaves_nothing() {
    let ctx = TestContext::new();
    let server = demo_index();
    let client = Client::new(options(&ctx, Some(server.index_url()))).unwrap();
    let files = client.candidates(&name("dep")).unwrap();
    let dest = ctx.root.join("downloads");
    let path = client
        .download(&files[0], &dest, &buildout::index::NoReporter)
        .unwrap();
    assert_eq!(path, dest.join("dep-1.2-py3-none-any.whl"));
    assert_eq!(
        buildout::index::download::digest_file(&path, false)
            .unwrap()
            .sha256,
        files[0].sha256().unwrap()
    );

    server.corrupt("demo-0.9-py3-none-any.whl", b"evil bytes");
    let files = client.candidates(&name("demo")).unwrap();
    let bad = dest.join("bad");
    let err = client
        .download(&files[1], &bad, &buildout::index::NoReporter)
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with(&format!(
            "sha256 mismatch for `demo-0.9-py3-none-any.whl` from `{}`: expected {}, got ",
            server.file_url("demo-0.9-py3-none-any.whl"),
            files[1].sha256().unwrap()
        )),
        "{text}"
    );
    assert_eq!(
        std::fs::read_dir(&bad).unwrap().count(),
        0,
        "something was left behind"
    );
}

#[test]
fn credentials_in_the_index_url_are_used_and_never_shown() {
    let ctx = TestContext::new();
    let server = demo_index();
    server.require_auth("alice", "s3cret");
    let client = Client::new(options(
        &ctx,
        Some(server.index_url_with_auth("alice", "s3cret")),
    ))
    .unwrap();
    let files = client.candidates(&name("dep")).unwrap();
    assert!(!files[0].url.contains("s3cret"));
    // Files on the index host get the same credentials.
    client
        .download(&files[0], &ctx.root.join("d"), &buildout::index::NoReporter)
        .unwrap();
    assert!(server.requests().iter().all(|r| r.authorization.is_some()));

    let client = Client::new(options(
        &ctx,
        Some(server.index_url_with_auth("alice", "wrong-pw")),
    ))
    .unwrap();
    let err = client.candidates(&name("demo")).unwrap_err().to_string();
    assert_eq!(err, format!("HTTP 401 from `{}demo/`", server.index_url()));
    assert!(!err.contains("wrong-pw") && !err.contains("alice"));
}

#[test]
fn credentials_from_netrc() {
    let ctx = TestContext::new();
    let server = demo_index();
    server.require_auth("bob", "from-netrc");
    let client = Client::new(options(&ctx, Some(server.index_url()))).unwrap();
    let err = client.candidates(&name("dep")).unwrap_err().to_string();
    assert!(err.starts_with("HTTP 401 from "), "{err}");
    std::fs::write(
        ctx.home.join(".netrc"),
        "machine 127.0.0.1 login bob password from-netrc\n",
    )
    .unwrap();
    let client = Client::new(options(&ctx, Some(server.index_url()))).unwrap();
    assert_eq!(client.candidates(&name("dep")).unwrap().len(), 1);
}

#[test]
fn simple_pages_are_cached_for_the_ttl() {
    let ctx = TestContext::new();
    let server = demo_index();
    let first = Client::new(options(&ctx, Some(server.index_url()))).unwrap();
    first.candidates(&name("dep")).unwrap();
    assert_eq!(server.requests_for("/simple/dep/").len(), 1);
    // A new client (a new run) within the TTL: no request.
    let second = Client::new(options(&ctx, Some(server.index_url()))).unwrap();
    assert_eq!(second.candidates(&name("dep")).unwrap().len(), 1);
    assert_eq!(server.requests_for("/simple/dep/").len(), 1);
    // After the TTL (here: zero), the page is fetched again.
    let mut opts = options(&ctx, Some(server.index_url()));
    opts.simple_ttl = Duration::ZERO;
    let third = Client::new(opts).unwrap();
    third.candidates(&name("dep")).unwrap();
    assert_eq!(server.requests_for("/simple/dep/").len(), 2);
}

#[test]
fn download_cache_is_filled_and_reused() {
    let ctx = TestContext::new();
    let server = demo_index();
    let cache = ctx.root.join("downloads").join("dist");
    let mut opts = options(&ctx, Some(server.index_url()));
    opts.download_cache = Some(cache.clone());
    let client = Client::new(opts.clone()).unwrap();
    let files = client.candidates(&name("dep")).unwrap();
    let path = client
        .download(
            &files[0],
            &ctx.root.join("elsewhere"),
            &buildout::index::NoReporter,
        )
        .unwrap();
    assert_eq!(path, cache.join("dep-1.2-py3-none-any.whl"));
    server.clear_log();
    let client = Client::new(opts).unwrap();
    let files = client.candidates(&name("dep")).unwrap();
    assert_eq!(files.len(), 1, "the cached copy is not listed twice");
    let again = client
        .download(
            &files[0],
            &ctx.root.join("elsewhere"),
            &buildout::index::NoReporter,
        )
        .unwrap();
    assert_eq!(again, path);
    assert!(
        server
            .requests_for("/files/dep-1.2-py3-none-any.whl")
            .is_empty()
    );
    // Metadata of a cached wheel is read locally too.
    client.metadata(&files[0]).unwrap();
    assert!(
        server
            .requests()
            .iter()
            .all(|r| !r.path.starts_with("/files/"))
    );
}

#[test]
fn offline_mode_makes_no_request_and_says_what_is_missing() {
    let ctx = TestContext::new();
    let server = demo_index();
    let cache = ctx.root.join("dist");
    std::fs::create_dir_all(&cache).unwrap();
    let cached = Wheel::new("dep", "1.2").build();
    std::fs::write(cache.join(&cached.filename), &cached.bytes).unwrap();
    let mut opts = options(&ctx, Some(server.index_url()));
    opts.offline = true;
    opts.download_cache = Some(cache.clone());
    opts.find_links = vec![server.page("links.html", &server.links_html())];
    let client = Client::new(opts).unwrap();
    let err = client.candidates(&name("demo")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "offline mode: `demo` is not in the download cache or find-links, and the network is not used"
    );
    let files = client.candidates(&name("dep")).unwrap();
    assert_eq!(files[0].source, Source::DownloadCache);
    let path = client
        .download(&files[0], &ctx.root.join("x"), &buildout::index::NoReporter)
        .unwrap();
    assert_eq!(path, cache.join(&cached.filename));
    assert_eq!(client.metadata(&files[0]).unwrap().name.as_str(), "dep");
    // A file known only from an index listing cannot be fetched.
    let online = Client::new(options(&ctx, Some(server.index_url()))).unwrap();
    let remote = online.candidates(&name("demo")).unwrap();
    server.clear_log();
    let err = client
        .download(
            &remote[0],
            &ctx.root.join("x"),
            &buildout::index::NoReporter,
        )
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "offline mode: `demo-1.0-py3-none-any.whl` is not in the download cache or find-links, and the network is not used"
    );
    assert!(server.requests().is_empty(), "{:?}", server.requests());
}

#[derive(Default)]
struct Counting {
    started: AtomicUsize,
    completed: AtomicUsize,
    bytes: AtomicU64,
    names: Mutex<Vec<String>>,
}

impl Reporter for Counting {
    fn on_download_start(&self, _id: usize, name: &str, _size: Option<u64>) {
        self.started.fetch_add(1, Ordering::SeqCst);
        self.names.lock().unwrap().push(name.to_string());
    }
    fn on_download_progress(&self, _id: usize, bytes: u64) {
        self.bytes.fetch_add(bytes, Ordering::SeqCst);
    }
    fn on_download_complete(&self, _id: usize) {
        self.completed.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn downloads_run_in_parallel_and_report_progress() {
    let ctx = TestContext::new();
    let server = IndexServer::start();
    for i in 0..12 {
        server.publish(
            Wheel::new(&format!("pkg{i}"), "1.0")
                .padding(10_000)
                .build(),
        );
    }
    let client = Client::new(options(&ctx, Some(server.index_url()))).unwrap();
    let files: Vec<DistFile> = (0..12)
        .flat_map(|i| client.candidates(&name(&format!("pkg{i}"))).unwrap())
        .collect();
    let reporter = Counting::default();
    let dest = ctx.root.join("many");
    let results = std::sync::Mutex::new(vec![None; files.len()]);
    client.download_each(&files, &dest, &reporter, &|i, result| {
        results.lock().unwrap()[i] = Some(result.unwrap());
    });
    for (file, path) in files.iter().zip(results.into_inner().unwrap()) {
        assert_eq!(path.unwrap(), dest.join(file.filename.filename()));
    }
    assert_eq!(reporter.started.load(Ordering::SeqCst), 12);
    assert_eq!(reporter.completed.load(Ordering::SeqCst), 12);
    let total: u64 = files.iter().map(|f| f.size.unwrap()).sum();
    assert_eq!(reporter.bytes.load(Ordering::SeqCst), total);
    assert!(
        !dest.read_dir().unwrap().any(|e| e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .ends_with(".part"))
    );
}

/// Opt-in: real packages from PyPI (`cargo test --features net-tests`).
#[cfg(feature = "net-tests")]
#[test]
fn real_pypi_candidates_metadata_and_download() {
    let ctx = TestContext::new();
    let client = Client::new(options(
        &ctx,
        Some(buildout::index::DEFAULT_INDEX_URL.to_string()),
    ))
    .unwrap();
    let files = client.candidates(&name("six")).unwrap();
    let wheel = files
        .iter()
        .rev()
        .find(|f| f.filename.is_wheel() && f.yanked.is_none())
        .expect("a six wheel");
    let meta = client.metadata(wheel).unwrap();
    assert_eq!(meta.name.as_str(), "six");
    let path = client
        .download(wheel, &ctx.root.join("dl"), &buildout::index::NoReporter)
        .unwrap();
    assert!(path.is_file());
}
