//! Talking to package indexes: where distribution files come from, their
//! metadata, and verified downloads.
//!
//! [`Client`] is the facade. It merges three sources of files for a
//! project ([`Client::candidates`]):
//!
//! 1. the **index** (`[buildout] index`): the PEP 691 JSON simple API,
//!    with PEP 503 HTML as the fallback (chosen by the response's
//!    `Content-Type`); a local directory (or `file:` URL) works too
//!    (`<dir>/<name>/index.html`, or the files in `<dir>/<name>/`);
//! 2. **find-links** ([`find_links`]): local directories, files, HTML pages;
//! 3. the **download cache** (`[buildout] download-cache`, its `dist`
//!    directory), which also acts as a find-link.
//!
//! Rules, all deliberate:
//!
//! * An index or find-links page that cannot be reached (or whose server
//!   fails, 5xx) is not an error: it adds no files and is remembered
//!   ([`Client::unreadable`]) for the caller to warn about, as zc.buildout
//!   does (`Download error on …`); a 4xx is an error.
//! * An unknown project is an error naming the project and the index
//!   ("no project `foo` on index `…` (HTTP 404)") unless find-links have
//!   files for it; the index root page is never scanned (zc.buildout does).
//! * `allow-hosts` globs (fnmatch, on `host` and `host:port`) filter every
//!   remote link; local files are always allowed; an index on a host that
//!   is not allowed is an error.
//! * Yanked files (PEP 592) are listed with [`DistFile::yanked`] set; the
//!   resolver decides. `Requires-Python` is attached, not applied.
//! * Metadata ([`Client::metadata`]) comes from the cache, then the PEP
//!   658/714 `<url>.metadata` file (tried even when not advertised, unless
//!   the index says there is none or a host had none unadvertised; its
//!   hash checked when given), then HTTP range requests on the wheel's zip
//!   central directory (the first one a suffix range, which also gives the
//!   length), then the whole wheel (kept in the download cache when there
//!   is one).
//! * Pages and metadata are fetched once per client, into slots a second
//!   asker waits on; [`prefetch`] fills them ahead of the resolver. A
//!   [`Client`] is a cheap handle: clones share all of it.
//! * Every download is verified against the index's hash; see [`download`].
//! * Offline mode never touches the network: only find-links on disk and
//!   the download cache are used, and a missing project or file is an
//!   error that says so.
//! * Credentials (URL `user:pass@`, netrc) are used and never shown; see
//!   [`http`].
//! * Host names are looked up once per client, hedged against dropped DNS
//!   queries (`dns`); the HTTP client is built once and closed off the
//!   main thread, so nothing still connecting delays the exit.
//!
//! On disk (under `cache_dir`): `simple-v1/` (simple and find-links pages,
//! TTL cache) and `metadata-v1/<sha256>.metadata` (core metadata of files
//! whose sha256 is known: immutable).
//!
//! Nothing here prints: progress goes to a [`Reporter`].

mod candidates;
mod dns;
pub mod download;
pub mod find_links;
pub mod http;
pub mod metadata;
pub mod prefetch;
pub mod simple;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use pep440_rs::{Version, VersionSpecifiers};
use sha2::{Digest, Sha256};

use crate::python::{DistFilename, PackageName};

pub use http::{redact, redact_all};
pub use metadata::Metadata;
pub use simple::CoreMetadata;

/// PyPI's simple index, zc.buildout's default `index`.
pub const DEFAULT_INDEX_URL: &str = "https://pypi.org/simple/";

/// The `Accept` header for project pages (PEP 691: JSON preferred).
pub const SIMPLE_ACCEPT: &str = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01";

/// The default time a simple page is reused without asking the index.
pub const DEFAULT_SIMPLE_TTL: Duration = Duration::from_secs(600);

/// How many bytes the first range request asks for, from the end of a
/// wheel (its central directory).
const TAIL: u64 = 64 * 1024;

/// At most this many downloads run at once in [`Client::download_each`].
pub const MAX_PARALLEL_DOWNLOADS: usize = 8;

/// What went wrong talking to an index. URLs are always redacted.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("no project `{project}` on index `{index}` (HTTP 404)")]
    ProjectNotFound { project: String, index: String },
    #[error("HTTP {status} from `{url}`")]
    Status { url: String, status: u16 },
    #[error("cannot reach `{url}`: {message}")]
    Network { url: String, message: String },
    #[error("cannot parse the page `{url}`: {message}")]
    BadPage { url: String, message: String },
    #[error("{algorithm} mismatch for `{file}` from `{url}`: expected {expected}, got {actual}")]
    HashMismatch {
        file: String,
        url: String,
        algorithm: &'static str,
        expected: String,
        actual: String,
    },
    #[error(
        "offline mode: `{project}` is not in the download cache or find-links, and the network is not used"
    )]
    OfflineProject { project: String },
    #[error(
        "offline mode: `{file}` is not in the download cache or find-links, and the network is not used"
    )]
    OfflineFile { file: String },
    #[error("the index `{url}` is not on a host allowed by `allow-hosts`")]
    HostNotAllowed { url: String },
    #[error("invalid metadata in `{file}` from `{url}`: {message}")]
    Metadata {
        file: String,
        url: String,
        message: String,
    },
    #[error("the metadata of sdist `{file}` is only known after building it")]
    SdistMetadata { file: String },
    #[error("cannot access `{path}`: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot create the HTTP client: {message}")]
    Client { message: String },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Progress (downloads, resolution look-ups, builds), reported by the
/// library; rendering is the caller's
/// (`crate::output`). `id` tells parallel downloads apart.
pub trait Reporter: Send + Sync {
    fn on_download_start(&self, _id: usize, _name: &str, _size: Option<u64>) {}
    fn on_download_progress(&self, _id: usize, _bytes: u64) {}
    fn on_download_complete(&self, _id: usize) {}
    /// The index is asked about project `name` (its page, or a file's
    /// metadata) while resolving.
    fn on_lookup(&self, _name: &str) {}
    /// The metadata of `name` is known: one more distribution resolved.
    fn on_resolved(&self, _name: &str) {}
    /// An index page or metadata request for `name` started (may run concurrently).
    fn on_fetch_start(&self, _name: &str) {}
    /// The request `on_fetch_start` announced for `name` ended (successfully or not).
    fn on_fetch_end(&self, _name: &str) {}
    /// A source tree (`label`: the distribution) starts building.
    fn on_build_start(&self, _label: &str) {}
    /// The build of `label` ended (built or failed).
    fn on_build_end(&self, _label: &str) {}
    /// The backend building `label` printed `line` (its last non-empty
    /// output line so far).
    fn on_build_output(&self, _label: &str, _line: &str) {}
    /// Bytecode compilation: `done` of `total` installed trees are complete.
    fn on_compiled(&self, _done: usize, _total: usize) {}
}

/// A reporter that reports nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoReporter;

impl Reporter for NoReporter {}

/// `~/.buildout/cache/index`, where simple pages and metadata are cached
/// (`None` without a home directory).
pub fn default_cache_dir() -> Option<PathBuf> {
    crate::env::home_dir().map(|h| h.join(".buildout/cache/index"))
}

/// How to build a [`Client`]; mirrors the `[buildout]` options.
#[derive(Debug, Clone)]
pub struct Options {
    /// `index` (URL, `file:` URL or directory); `None`: no index, only
    /// find-links. Credentials in it are used and never shown.
    pub index_url: Option<String>,
    /// `find-links` entries.
    pub find_links: Vec<String>,
    /// `allow-hosts` globs; empty allows every host.
    pub allow_hosts: Vec<String>,
    /// `offline` / `-o`: never touch the network.
    pub offline: bool,
    /// Where simple pages and metadata are cached; `None`: no disk cache.
    pub cache_dir: Option<PathBuf>,
    /// How long a cached simple page is used without asking the index.
    pub simple_ttl: Duration,
    /// The download cache's distribution directory (`<download-cache>/dist`):
    /// downloads land here and are reused; it is also a find-link.
    pub download_cache: Option<PathBuf>,
    /// The netrc file; `None`: `$NETRC`, else `~/.netrc`.
    pub netrc: Option<PathBuf>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            index_url: Some(DEFAULT_INDEX_URL.to_string()),
            find_links: Vec::new(),
            allow_hosts: Vec::new(),
            offline: false,
            cache_dir: None,
            simple_ttl: DEFAULT_SIMPLE_TTL,
            download_cache: None,
            netrc: None,
        }
    }
}

/// Where a [`DistFile`] was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Index,
    FindLinks,
    DownloadCache,
}

/// One distribution file of a project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DistFile {
    pub filename: DistFilename,
    /// Absolute URL (`file:` for local files), without credentials.
    pub url: String,
    /// Algorithm → lowercase hex digest, from the index or the URL fragment.
    pub hashes: BTreeMap<String, String>,
    /// `Requires-Python` from the index, unparsed.
    pub requires_python: Option<String>,
    /// `Some(reason)` when yanked (PEP 592); the reason may be empty.
    pub yanked: Option<String>,
    /// What the index says about `<url>.metadata`.
    pub core_metadata: CoreMetadata,
    pub size: Option<u64>,
    pub upload_time: Option<String>,
    pub source: Source,
}

impl DistFile {
    pub fn sha256(&self) -> Option<&str> {
        self.hashes.get("sha256").map(String::as_str)
    }

    pub fn is_yanked(&self) -> bool {
        self.yanked.is_some()
    }

    /// The local path of a `file:` URL.
    pub fn local_path(&self) -> Option<PathBuf> {
        find_links::file_url_path(&self.url)
    }

    /// Whether `Requires-Python` admits `python` (`python_full_version`).
    /// An unparseable value admits everything (as pip does, with a warning
    /// left to the caller).
    pub fn requires_python_allows(&self, python: &Version) -> bool {
        match &self.requires_python {
            None => true,
            Some(spec) => VersionSpecifiers::from_str(spec).map_or(true, |s| s.contains(python)),
        }
    }
}

/// The index client: a cheap handle (clones share everything: caches,
/// connections, the prefetch pool), usable from any thread.
#[derive(Debug, Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

impl std::ops::Deref for Client {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.inner
    }
}

/// A project's files once fetched; `None`: a prefetch failed (the caller
/// asks again, to get the error and its warnings).
type FilesSlot = Arc<OnceLock<Option<Arc<Vec<DistFile>>>>>;
/// A wheel's `METADATA` bytes once fetched; `None`: a prefetch failed.
type MetadataSlot = Arc<OnceLock<Option<Arc<Vec<u8>>>>>;

/// What [`Client`] handles share.
pub struct Inner {
    options: Options,
    http: http::Http,
    /// The index, credentials removed, ending in `/`.
    index: Option<IndexLocation>,
    find_links: Vec<find_links::Entry>,
    /// Links of remote find-links pages, fetched once.
    remote_links: OnceLock<find_links::Listing>,
    /// Each project's files, fetched once (by the resolver or ahead of
    /// it: a second asker waits for the first).
    memo: Mutex<HashMap<PackageName, FilesSlot>>,
    /// Wheels' metadata fetched in this run, by URL (as [`Self::memo`]).
    metadata_memo: Mutex<HashMap<String, MetadataSlot>>,
    /// Fetching ahead of the resolver ([`prefetch`]).
    prefetch: prefetch::Pool,
    /// Where fetches are reported (requests in flight).
    reporter: OnceLock<Arc<dyn Reporter>>,
    /// Hosts that answered a range request badly: no more tries.
    no_ranges: Mutex<HashSet<String>>,
    /// Hosts that had no `.metadata` file the index did not advertise: not
    /// asked for others.
    no_metadata: Mutex<HashSet<String>>,
    /// Local find-links and download-cache listings, read once per client
    /// (one directory listing for all projects, not one per project).
    local_links: Mutex<HashMap<PathBuf, Arc<find_links::Listing>>>,
    /// Index and find-links pages that could not be read, in order.
    unreadable: Mutex<Vec<Unreadable>>,
    /// How many of [`Self::unreadable`] [`Client::new_unreadable`] handed out.
    unreadable_told: AtomicUsize,
    /// The index could not be reached once: not asked again for other
    /// projects (each try costs the connection retries).
    index_unreachable: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("options", &self.options)
            .field("index", &self.index)
            .finish_non_exhaustive()
    }
}

/// A find-links or index page that could not be read (unreachable host,
/// HTTP error): zc.buildout warns and goes on without its links.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable {
    /// The URL, credentials removed.
    pub url: String,
    /// Why, in words.
    pub reason: String,
}

impl Unreadable {
    /// zc.buildout's (setuptools') warning, word for word.
    pub fn warning(&self) -> String {
        format!(
            "Download error on {}: {} -- Some packages may not be found!",
            self.url, self.reason
        )
    }

    /// The line an error about a missing distribution adds for it.
    pub fn note(&self) -> String {
        format!("could not read {}: {}", self.url, self.reason)
    }
}

#[derive(Debug, Clone)]
enum IndexLocation {
    Remote(String),
    Local(PathBuf),
}

impl Client {
    pub fn new(options: Options) -> Result<Client> {
        let netrc = match &options.netrc {
            Some(path) => http::Netrc::load_from(path),
            None => http::Netrc::load(),
        };
        let http = http::Http::new(options.cache_dir.clone(), options.simple_ttl, netrc)?;
        let index = options.index_url.as_deref().map(|raw| {
            if let Some(path) = find_links::file_url_path(raw) {
                IndexLocation::Local(path)
            } else if raw.starts_with("http://") || raw.starts_with("https://") {
                let mut clean = http.register(raw);
                if !clean.ends_with('/') {
                    clean.push('/');
                }
                IndexLocation::Remote(clean)
            } else {
                IndexLocation::Local(PathBuf::from(raw))
            }
        });
        let find_links = options
            .find_links
            .iter()
            .map(|e| find_links::Entry::new(e, &http))
            .collect();
        Ok(Client {
            inner: Arc::new(Inner {
                options,
                http,
                index,
                find_links,
                remote_links: OnceLock::new(),
                memo: Mutex::new(HashMap::new()),
                metadata_memo: Mutex::new(HashMap::new()),
                prefetch: prefetch::Pool::default(),
                reporter: OnceLock::new(),

                no_ranges: Mutex::new(HashSet::new()),
                no_metadata: Mutex::new(HashSet::new()),
                local_links: Mutex::new(HashMap::new()),
                unreadable: Mutex::new(Vec::new()),
                unreadable_told: AtomicUsize::new(0),
                index_unreachable: std::sync::atomic::AtomicBool::new(false),
            }),
        })
    }

    pub fn options(&self) -> &Options {
        &self.options
    }

    /// Every page this client could not read so far.
    pub fn unreadable(&self) -> Vec<Unreadable> {
        self.unreadable
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The pages that could not be read since the last call (to warn about
    /// each once).
    pub fn new_unreadable(&self) -> Vec<Unreadable> {
        let all = self.unreadable.lock().unwrap_or_else(|e| e.into_inner());
        let told = self.unreadable_told.swap(all.len(), Ordering::SeqCst);
        all.get(told..).unwrap_or_default().to_vec()
    }

    /// Remembers a page that could not be read, when `error` says it could
    /// not be reached or its server failed (5xx, after the retries); other
    /// errors are returned: a 4xx (wrong credentials, wrong URL), a page
    /// that does not parse, a host `allow-hosts` forbids.
    fn unreadable_page(&self, error: Error) -> Result<()> {
        let (url, reason) = match error {
            Error::Network { url, message } => (url, message),
            Error::Status { url, status } if status >= 500 => (url, format!("HTTP {status}")),
            other => return Err(other),
        };
        let mut all = self.unreadable.lock().unwrap_or_else(|e| e.into_inner());
        if !all.iter().any(|u| u.url == url) {
            all.push(Unreadable { url, reason });
        }
        Ok(())
    }

    /// Whether `url` passes `allow-hosts` (local files always do).
    pub fn allowed(&self, url: &str) -> bool {
        if self.options.allow_hosts.is_empty() || url.starts_with("file:") {
            return true;
        }
        let Ok(parsed) = url::Url::parse(url) else {
            return false;
        };
        let Some(host) = parsed.host_str() else {
            return true;
        };
        let host = host.to_lowercase();
        let with_port = parsed.port().map(|p| format!("{host}:{p}"));
        self.options.allow_hosts.iter().any(|glob| {
            let glob = glob.trim().to_lowercase();
            fnmatch(&glob, &host) || with_port.as_deref().is_some_and(|h| fnmatch(&glob, h))
        })
    }

    /// The core metadata of a wheel (see the module docs for the order of
    /// sources). Sdists are [`Error::SdistMetadata`]: they need a build.
    pub fn metadata(&self, file: &DistFile) -> Result<Metadata> {
        let DistFilename::Wheel(wheel) = &file.filename else {
            return Err(Error::SdistMetadata {
                file: file.filename.to_string(),
            });
        };
        let prefix = wheel.dist_info_prefix();
        let slot = self.metadata_slot(&file.url);
        let mut failed = None;
        let bytes = slot.get_or_init(|| match self.metadata_bytes(file, &prefix) {
            Ok(bytes) => Some(Arc::new(bytes)),
            Err(e) => {
                failed = Some(e);
                None
            }
        });
        if let Some(e) = failed {
            return Err(e);
        }
        let bytes = match bytes {
            Some(bytes) => Arc::clone(bytes),
            // A prefetch failed quietly: again, for the error.
            None => Arc::new(self.metadata_bytes(file, &prefix)?),
        };
        Metadata::parse(&bytes).map_err(|e| Error::Metadata {
            file: file.filename.to_string(),
            url: redact(&file.url),
            message: e.0,
        })
    }

    /// Fetches a wheel's metadata ahead of the resolver (see
    /// [`Self::metadata`]), unless it is fetched already; `None` when it
    /// cannot be had (the resolver meets the error again if it asks).
    pub(crate) fn prefetch_metadata(&self, file: &DistFile) -> Option<Metadata> {
        let DistFilename::Wheel(wheel) = &file.filename else {
            return None;
        };
        let prefix = wheel.dist_info_prefix();
        let bytes = self
            .metadata_slot(&file.url)
            .get_or_init(|| self.metadata_bytes(file, &prefix).ok().map(Arc::new))
            .clone()?;
        Metadata::parse(&bytes).ok()
    }

    fn metadata_slot(&self, url: &str) -> MetadataSlot {
        let mut memo = self.metadata_memo.lock().unwrap_or_else(|e| e.into_inner());
        Arc::clone(memo.entry(url.to_string()).or_default())
    }

    /// The metadata bytes from the disk cache, else fetched (and cached).
    fn metadata_bytes(&self, file: &DistFile, prefix: &str) -> Result<Vec<u8>> {
        if let Some(bytes) = self.cached_metadata(file) {
            return Ok(bytes);
        }
        let name = file.filename.name().as_str();
        let bytes = self.fetching(name, || self.fetch_metadata(file, prefix))?;
        self.store_metadata(file, &bytes);
        Ok(bytes)
    }

    /// Runs the request `f` for `name`, reported as in flight meanwhile.
    fn fetching<T>(&self, name: &str, f: impl FnOnce() -> T) -> T {
        let reporter = self.reporter.get();
        if let Some(r) = reporter {
            r.on_fetch_start(name);
        }
        let out = f();
        if let Some(r) = reporter {
            r.on_fetch_end(name);
        }
        out
    }

    /// Where requests in flight are reported (set once).
    pub fn set_reporter(&self, reporter: Arc<dyn Reporter>) {
        let _ = self.reporter.set(reporter);
    }

    /// Requests sent and body bytes received by this client so far.
    pub fn traffic(&self) -> (u64, u64) {
        self.http.traffic().get()
    }

    fn metadata_cache_file(&self, file: &DistFile) -> Option<PathBuf> {
        let sha = file.sha256()?;
        if sha.len() != 64 || !sha.chars().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        Some(
            self.options
                .cache_dir
                .as_ref()?
                .join("metadata-v1")
                .join(format!("{sha}.metadata")),
        )
    }

    fn cached_metadata(&self, file: &DistFile) -> Option<Vec<u8>> {
        std::fs::read(self.metadata_cache_file(file)?).ok()
    }

    fn store_metadata(&self, file: &DistFile, bytes: &[u8]) {
        let Some(path) = self.metadata_cache_file(file) else {
            return;
        };
        let _ = crate::fs::write_cache_file(&path, bytes);
    }

    fn metadata_error(file: &DistFile) -> impl Fn(metadata::ParseError) -> Error + '_ {
        move |e| Error::Metadata {
            file: file.filename.to_string(),
            url: redact(&file.url),
            message: e.0,
        }
    }

    fn fetch_metadata(&self, file: &DistFile, prefix: &str) -> Result<Vec<u8>> {
        // A local copy: the file itself, or the download cache.
        if let Some(path) = self.local_copy(file) {
            let f = std::fs::File::open(&path).map_err(|source| Error::Io {
                path: path.clone(),
                source,
            })?;
            return metadata::read_wheel_metadata(std::io::BufReader::new(f), prefix)
                .map_err(Self::metadata_error(file));
        }
        if self.options.offline {
            return Err(Error::OfflineFile {
                file: file.filename.to_string(),
            });
        }
        // 1. PEP 658/714.
        if file.core_metadata != CoreMetadata::Absent
            && let Some(bytes) = self.metadata_file(file)?
        {
            return Ok(bytes);
        }
        // 2. Range requests on the zip.
        if let Some(bytes) = self.metadata_by_ranges(file, prefix) {
            return Ok(bytes);
        }
        // 3. The whole wheel.
        let (path, _temp) = match &self.options.download_cache {
            Some(_) => (self.download(file, Path::new("."), &NoReporter)?, None),
            None => {
                let dir = self.scratch_dir()?;
                let path = download::fetch(&self.http, file, &dir, &NoReporter, 0)?;
                (path, Some(ScratchDir(dir)))
            }
        };
        let f = std::fs::File::open(&path).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        metadata::read_wheel_metadata(std::io::BufReader::new(f), prefix)
            .map_err(Self::metadata_error(file))
    }

    fn scratch_dir(&self) -> Result<PathBuf> {
        static N: AtomicUsize = AtomicUsize::new(0);
        let base = self
            .options
            .cache_dir
            .clone()
            .unwrap_or_else(std::env::temp_dir);
        let dir = base.join(format!(
            "tmp-wheel-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).map_err(|source| Error::Io {
            path: dir.clone(),
            source,
        })?;
        Ok(dir)
    }

    /// `<url>.metadata`; `Ok(None)` when the index has none.
    fn metadata_file(&self, file: &DistFile) -> Result<Option<Vec<u8>>> {
        let url = format!("{}.metadata", file.url);
        let unadvertised = file.core_metadata == CoreMetadata::Unknown;
        let host = url::Url::parse(&file.url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string));
        let no_metadata = || {
            if let Some(host) = &host {
                self.no_metadata
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(host.clone());
            }
        };
        if unadvertised
            && host.as_ref().is_some_and(|h| {
                self.no_metadata
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .contains(h)
            })
        {
            return Ok(None);
        }
        let response = match self.http.get(&url, None) {
            Ok(r) => r,
            // Not advertised: any failure just means "try the next way".
            Err(_) if unadvertised => {
                no_metadata();
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        if !response.status().is_success() {
            // A host that has no unadvertised metadata files is not asked
            // for more.
            if unadvertised {
                no_metadata();
            }
            return Ok(None);
        }
        let bytes = response.bytes().map_err(|e| Error::Network {
            url: redact(&url),
            message: http::error_text(e),
        })?;
        self.http.received(bytes.len());
        if let CoreMetadata::Available(hashes) = &file.core_metadata
            && let Some(expected) = hashes.get("sha256")
        {
            let actual = hex::encode(Sha256::digest(&bytes));
            if !expected.eq_ignore_ascii_case(&actual) {
                return Err(Error::HashMismatch {
                    file: format!("{}.metadata", file.filename),
                    url: redact(&url),
                    algorithm: "sha256",
                    expected: expected.clone(),
                    actual,
                });
            }
        }
        Ok(Some(bytes.to_vec()))
    }

    /// METADATA through range requests; `None` when the server does not
    /// support them (remembered per host) or anything goes wrong.
    fn metadata_by_ranges(&self, file: &DistFile, prefix: &str) -> Option<Vec<u8>> {
        let host = url::Url::parse(&file.url)
            .ok()?
            .host_str()
            .map(str::to_string)?;
        if self
            .no_ranges
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(&host)
        {
            return None;
        }
        let give_up = || {
            self.no_ranges
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(host.clone());
            None
        };
        // One suffix request gives both the end of the zip (its central
        // directory, usually whole) and the file's length.
        let tail = self
            .http
            .send(&file.url, |c| {
                c.get(&file.url)
                    .header(reqwest::header::RANGE, format!("bytes=-{TAIL}"))
                    .header(reqwest::header::ACCEPT_ENCODING, "identity")
            })
            .ok()?;
        let status = tail.status();
        if status == reqwest::StatusCode::OK {
            // Ranges ignored: this is the whole wheel (a big one is better
            // downloaded to disk).
            if tail.content_length().is_none_or(|l| l > 16 << 20) {
                return give_up();
            }
            let bytes = tail.bytes().ok()?;
            self.http.received(bytes.len());
            give_up();
            return metadata::read_wheel_metadata(std::io::Cursor::new(bytes), prefix).ok();
        }
        let len = http::header_str(tail.headers(), reqwest::header::CONTENT_RANGE)
            .and_then(|v| {
                v.rsplit_once('/')
                    .and_then(|(_, l)| l.trim().parse::<u64>().ok())
            })
            .filter(|&l| l > 0);
        let (reqwest::StatusCode::PARTIAL_CONTENT, Some(len)) = (status, len) else {
            return give_up();
        };
        let tail = tail.bytes().ok()?;
        self.http.received(tail.len());
        if tail.len() as u64 > len {
            return give_up();
        }
        let mut reader = metadata::RangeReader::with_tail(len, tail.to_vec(), |start, end| {
            let range = format!("bytes={start}-{}", end - 1);
            let r = self
                .http
                .send(&file.url, |c| {
                    c.get(&file.url)
                        .header(reqwest::header::RANGE, &range)
                        .header(reqwest::header::ACCEPT_ENCODING, "identity")
                })
                .map_err(std::io::Error::other)?;
            if r.status() != reqwest::StatusCode::PARTIAL_CONTENT {
                return Err(std::io::Error::other(format!(
                    "HTTP {} to a range request",
                    r.status().as_u16()
                )));
            }
            let bytes = r.bytes().map_err(std::io::Error::other)?;
            self.http.received(bytes.len());
            Ok(bytes.to_vec())
        });
        metadata::read_wheel_metadata(&mut reader, prefix).ok()
    }

    /// A verified local copy of `file` if one exists: the file itself for
    /// local find-links, or the download cache's copy.
    fn local_copy(&self, file: &DistFile) -> Option<PathBuf> {
        if let Some(path) = file.local_path() {
            return path.is_file().then_some(path);
        }
        let cached = self
            .options
            .download_cache
            .as_ref()?
            .join(file.filename.filename());
        if !cached.is_file() {
            return None;
        }
        download::verify_local(file, &cached).ok().map(|()| cached)
    }

    /// A verified local copy of `file`: the file itself for local
    /// find-links (its hash checked when known), the download cache's copy
    /// when it has one, otherwise a new download into the download cache
    /// (when set) or `dest_dir`.
    pub fn download(
        &self,
        file: &DistFile,
        dest_dir: &Path,
        reporter: &dyn Reporter,
    ) -> Result<PathBuf> {
        self.download_with_id(file, dest_dir, reporter, 0)
    }

    fn download_with_id(
        &self,
        file: &DistFile,
        dest_dir: &Path,
        reporter: &dyn Reporter,
        id: usize,
    ) -> Result<PathBuf> {
        if let Some(path) = file.local_path() {
            if !path.is_file() {
                return Err(Error::Io {
                    path: path.clone(),
                    source: std::io::Error::from(std::io::ErrorKind::NotFound),
                });
            }
            download::verify_local(file, &path)?;
            return Ok(path);
        }
        if let Some(path) = self.local_copy(file) {
            return Ok(path);
        }
        if self.options.offline {
            return Err(Error::OfflineFile {
                file: file.filename.to_string(),
            });
        }
        if !self.allowed(&file.url) {
            return Err(Error::HostNotAllowed {
                url: redact(&file.url),
            });
        }
        let dir = self.options.download_cache.as_deref().unwrap_or(dest_dir);
        download::fetch(&self.http, file, dir, reporter, id)
    }

    /// Downloads `files` in parallel (at most [`MAX_PARALLEL_DOWNLOADS`] at
    /// once), calling `done(i, result)` as each one finishes (from the
    /// downloading thread), so that the caller can start on it at once.
    pub fn download_each(
        &self,
        files: &[DistFile],
        dest_dir: &Path,
        reporter: &dyn Reporter,
        done: &(dyn Fn(usize, Result<PathBuf>) + Sync),
    ) {
        let next = AtomicUsize::new(0);
        let workers = files.len().clamp(1, MAX_PARALLEL_DOWNLOADS);
        std::thread::scope(|scope| {
            for _ in 0..workers {
                scope.spawn(|| {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(file) = files.get(i) else { break };
                        done(i, self.download_with_id(file, dest_dir, reporter, i));
                    }
                });
            }
        });
    }
}

/// Removes a scratch directory when dropped.
struct ScratchDir(PathBuf);

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Python's `fnmatch` (`*`, `?`, `[seq]`, `[!seq]`), on already
/// lowercased text.
pub fn fnmatch(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    fn go(p: &[char], t: &[char]) -> bool {
        match p.first() {
            None => t.is_empty(),
            Some('*') => (0..=t.len()).any(|i| go(&p[1..], &t[i..])),
            Some('?') => !t.is_empty() && go(&p[1..], &t[1..]),
            Some('[') => {
                let Some(close) = p.iter().skip(2).position(|&c| c == ']').map(|i| i + 2) else {
                    return t.first() == Some(&'[') && go(&p[1..], &t[1..]);
                };
                let Some(&c) = t.first() else { return false };
                let (negate, set) = match p[1] {
                    '!' => (true, &p[2..close]),
                    _ => (false, &p[1..close]),
                };
                let mut matched = false;
                let mut i = 0;
                while i < set.len() {
                    if i + 2 < set.len() && set[i + 1] == '-' {
                        matched |= set[i] <= c && c <= set[i + 2];
                        i += 3;
                    } else {
                        matched |= set[i] == c;
                        i += 1;
                    }
                }
                matched != negate && go(&p[close + 1..], &t[1..])
            }
            Some(&c) => t.first() == Some(&c) && go(&p[1..], &t[1..]),
        }
    }
    go(&p, &t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnmatch_globs() {
        assert!(fnmatch("*.example.com", "files.example.com"));
        assert!(!fnmatch("*.example.com", "example.com"));
        assert!(fnmatch("127.0.0.1:*", "127.0.0.1:8080"));
        assert!(fnmatch("host[0-9]", "host7"));
        assert!(!fnmatch("host[!0-9]", "host7"));
        assert!(fnmatch("h?st", "host"));
    }

    #[test]
    fn requires_python_check() {
        let file = DistFile {
            filename: DistFilename::parse("a-1.0-py3-none-any.whl", None).unwrap(),
            url: "https://x/a-1.0-py3-none-any.whl".into(),
            hashes: BTreeMap::new(),
            requires_python: Some(">=3.12".into()),
            yanked: None,
            core_metadata: CoreMetadata::Unknown,
            size: None,
            upload_time: None,
            source: Source::Index,
        };
        assert!(!file.requires_python_allows(&Version::from_str("3.11.7").unwrap()));
        assert!(file.requires_python_allows(&Version::from_str("3.12.0").unwrap()));
    }
}
