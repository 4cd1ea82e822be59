//! HTTP for the index client: one blocking reqwest client, credentials,
//! redaction, retries, and a TTL cache for simple pages.
//!
//! * **Credentials** come from a URL's `user:password@` (remembered for
//!   that host and port, so files on the index host are authenticated too)
//!   or from the netrc file (`$NETRC`, else `~/.netrc`). They are stripped
//!   from every URL before it is sent, stored or shown: [`redact`] is
//!   applied to every URL that reaches an error message.
//! * **Retries**: connection errors, 429 and 5xx are retried twice, with a
//!   short backoff.
//! * **Simple-page cache**: `<cache>/simple-v1/<sha256(url)>.json` holds the
//!   body, its content type and the fetch time. Within the TTL a page is
//!   served without a request (the registry sends no cache headers, so
//!   standard revalidation would cost a request every time); after it, the
//!   page is fetched again, conditionally when an `ETag` or
//!   `Last-Modified` was stored.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::StatusCode;
use reqwest::blocking::{Client, RequestBuilder, Response};
use reqwest::header::{self, HeaderMap};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::Error;

/// Removes `user:password@` from a URL, for messages and logs (one
/// implementation: [`redact_all`]).
pub fn redact(url: &str) -> String {
    redact_all(url)
}

/// Removes the userinfo of every URL in a text (an option value may list
/// several): everything between `scheme://` and the last `@` before the
/// end of the authority (`/`, `?`, `#` or whitespace), as a password may
/// hold `@`.
pub fn redact_all(text: &str) -> String {
    static USERINFO: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        // Greedy: backtracks to the last `@` of the authority.
        regex::Regex::new(r"([A-Za-z][A-Za-z0-9+.-]*://)[^/?#\s]*@").expect("valid regex")
    });
    USERINFO.replace_all(text, "$1").into_owned()
}

/// Username and password for one host.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: Option<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials({}, ****)", self.username)
    }
}

/// The `host[:port]` key credentials are stored under.
fn host_key(url: &url::Url) -> Option<String> {
    let host = url.host_str()?.to_lowercase();
    Some(match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host,
    })
}

/// Splits the credentials off `url`: the URL without them, and them.
pub fn split_credentials(url: &str) -> (String, Option<Credentials>) {
    let Ok(mut parsed) = url::Url::parse(url) else {
        return (url.to_string(), None);
    };
    if parsed.username().is_empty() && parsed.password().is_none() {
        return (url.to_string(), None);
    }
    let decode = |s: &str| percent_decode(s);
    let creds = Credentials {
        username: decode(parsed.username()),
        password: parsed.password().map(decode),
    };
    let _ = parsed.set_username("");
    let _ = parsed.set_password(None);
    (parsed.to_string(), Some(creds))
}

/// `%XX` escapes decoded (invalid ones kept as they are, invalid UTF-8
/// replaced).
pub(crate) fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// A token of a netrc file.
enum Token {
    /// An unquoted token starting with `#`: the rest of the line is a
    /// comment.
    Comment,
    Word(String),
}

/// The tokens of a netrc file (Python's `netrc._netrclex`).
struct NetrcLexer<'a> {
    chars: std::iter::Peekable<std::str::Chars<'a>>,
}

impl NetrcLexer<'_> {
    fn token(&mut self) -> Option<Token> {
        while self.chars.next_if(|c| c.is_whitespace()).is_some() {}
        let first = self.chars.next()?;
        let mut word = String::new();
        if first == '"' {
            while let Some(c) = self.chars.next() {
                match c {
                    '"' => break,
                    '\\' => word.extend(self.chars.next()),
                    c => word.push(c),
                }
            }
            return Some(Token::Word(word));
        }
        if first == '#' {
            return Some(Token::Comment);
        }
        let mut c = first;
        loop {
            match c {
                '\\' => word.extend(self.chars.next()),
                c => word.push(c),
            }
            match self.chars.next_if(|c| !c.is_whitespace()) {
                Some(next) => c = next,
                None => return Some(Token::Word(word)),
            }
        }
    }

    /// The value after a keyword (a `#...` token is a value here, as in
    /// Python: `password #secret`).
    fn value(&mut self) -> Option<String> {
        while self.chars.next_if(|c| c.is_whitespace()).is_some() {}
        if self.chars.peek() == Some(&'#') {
            let mut word = String::new();
            while let Some(c) = self.chars.next_if(|c| !c.is_whitespace()) {
                word.push(c);
            }
            return Some(word);
        }
        match self.token()? {
            Token::Word(w) => Some(w),
            Token::Comment => None,
        }
    }

    /// Skips to the start of the next line.
    fn skip_line(&mut self) {
        for c in self.chars.by_ref() {
            if c == '\n' {
                break;
            }
        }
    }

    /// Skips a `macdef` body: lines up to and including an empty one.
    fn skip_macro_body(&mut self) {
        loop {
            if self.chars.peek().is_none() || self.chars.next_if_eq(&'\n').is_some() {
                return;
            }
            self.skip_line();
        }
    }
}

/// A parsed netrc file: `machine` entries and an optional `default`.
#[derive(Debug, Default, Clone)]
pub struct Netrc {
    machines: HashMap<String, Credentials>,
    default: Option<Credentials>,
}

impl Netrc {
    /// Reads `$NETRC` or `~/.netrc`; a missing or unreadable file is empty.
    pub fn load() -> Netrc {
        let path = crate::env::var_os(crate::env::NETRC)
            .map(PathBuf::from)
            .or_else(|| crate::env::home_dir().map(|h| h.join(".netrc")));
        path.map_or_else(Netrc::default, |p| Netrc::load_from(&p))
    }

    /// Reads `path`; a missing or unreadable file is empty.
    pub fn load_from(path: &Path) -> Netrc {
        match std::fs::read_to_string(path) {
            Ok(text) => Netrc::parse(&text),
            Err(_) => Netrc::default(),
        }
    }

    /// Parses netrc text as Python's `netrc` module does: `machine`,
    /// `default`, `login` (or `user`), `password`, `account`; `macdef`
    /// bodies (to the next empty line) skipped; a token starting with `#`
    /// comments out the rest of its line; tokens may be quoted (`"a b"`)
    /// and `\` escapes the next character, quoted or not. The first entry
    /// for a machine wins (the last `default`).
    pub fn parse(text: &str) -> Netrc {
        let mut netrc = Netrc::default();
        let mut lexer = NetrcLexer {
            chars: text.chars().peekable(),
        };
        // (machine name or None for default, login, password)
        let mut current: Option<(Option<String>, String, Option<String>)> = None;
        let flush = |netrc: &mut Netrc, cur: Option<(Option<String>, String, Option<String>)>| {
            if let Some((machine, login, password)) = cur {
                let creds = Credentials {
                    username: login,
                    password,
                };
                match machine {
                    Some(m) => {
                        netrc.machines.entry(m.to_lowercase()).or_insert(creds);
                    }
                    None => netrc.default = Some(creds),
                }
            }
        };
        while let Some(tok) = lexer.token() {
            match tok {
                Token::Comment => lexer.skip_line(),
                Token::Word(w) => match w.as_str() {
                    "machine" => {
                        flush(&mut netrc, current.take());
                        let name = lexer.value().unwrap_or_default();
                        current = Some((Some(name), String::new(), None));
                    }
                    "default" => {
                        flush(&mut netrc, current.take());
                        current = Some((None, String::new(), None));
                    }
                    "login" | "user" => {
                        if let (Some(c), Some(v)) = (current.as_mut(), lexer.value()) {
                            c.1 = v;
                        }
                    }
                    "password" => {
                        if let (Some(c), Some(v)) = (current.as_mut(), lexer.value()) {
                            c.2 = Some(v);
                        }
                    }
                    "account" => {
                        lexer.value();
                    }
                    "macdef" => {
                        flush(&mut netrc, current.take());
                        lexer.value();
                        lexer.skip_line();
                        lexer.skip_macro_body();
                    }
                    _ => {}
                },
            }
        }
        flush(&mut netrc, current.take());
        netrc
    }

    /// Credentials for `host` (with or without the port).
    pub fn get(&self, host: &str) -> Option<&Credentials> {
        let bare = host.split(':').next().unwrap_or(host);
        self.machines
            .get(host)
            .or_else(|| self.machines.get(bare))
            .or(self.default.as_ref())
    }
}

/// A fetched simple page.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Page {
    /// The final URL (after redirects), without credentials.
    pub url: String,
    pub content_type: String,
    pub body: String,
    /// Unix time of the fetch, in milliseconds.
    fetched: u64,
    etag: Option<String>,
    last_modified: Option<String>,
}

/// What one client sent and received over HTTP in this run.
#[derive(Debug, Default)]
pub struct Traffic {
    requests: AtomicU64,
    bytes: AtomicU64,
}

impl Traffic {
    /// Requests sent (retries included) and body bytes received.
    pub fn get(&self) -> (u64, u64) {
        (
            self.requests.load(Ordering::Relaxed),
            self.bytes.load(Ordering::Relaxed),
        )
    }
}

/// The HTTP side of the index client.
#[derive(Debug)]
pub struct Http {
    /// Built on first use: loading the TLS roots costs milliseconds that a
    /// run which never goes to the network should not pay.
    client: std::sync::OnceLock<Result<Client, String>>,
    credentials: Mutex<HashMap<String, Credentials>>,
    netrc: Netrc,
    cache_dir: Option<PathBuf>,
    ttl: Duration,
    traffic: Traffic,
    /// The cache file and modification time of every simple page used so
    /// far (`None` once a page was used that is not in the cache).
    pages_used: Mutex<Option<BTreeMap<PathBuf, u128>>>,
}

const RETRIES: u32 = 2;

impl Drop for Http {
    /// Dropping the HTTP client joins its runtime, which waits for every
    /// connection still being opened (a prefetch nobody needs any more):
    /// that is done on a thread of its own so that the run never waits for
    /// it (the process may exit first).
    fn drop(&mut self) {
        if let Some(Ok(client)) = self.client.take() {
            // Should no thread start, the closure (and the client) is
            // dropped here.
            let _ = std::thread::Builder::new()
                .name("http-close".into())
                .spawn(move || drop(client));
        }
    }
}

impl Http {
    pub fn new(cache_dir: Option<PathBuf>, ttl: Duration, netrc: Netrc) -> Result<Http, Error> {
        Ok(Http {
            client: std::sync::OnceLock::new(),
            credentials: Mutex::new(HashMap::new()),
            netrc,
            cache_dir,
            ttl,
            traffic: Traffic::default(),
            pages_used: Mutex::new(Some(BTreeMap::new())),
        })
    }

    /// The HTTP client, built on first use, once: threads asking while it
    /// is built wait for it (building one reads and parses the system's
    /// CA certificates; sixteen prefetch workers each building their own
    /// starved the rest of the run).
    fn client(&self) -> Result<&Client, Error> {
        self.client
            .get_or_init(|| {
                Client::builder()
                    .connect_timeout(Duration::from_secs(30))
                    .timeout(Duration::from_secs(120))
                    .user_agent(concat!("buildout/", env!("CARGO_PKG_VERSION")))
                    .dns_resolver(std::sync::Arc::new(super::dns::Resolver::default()))
                    .build()
                    .map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(|message| Error::Client {
                message: message.clone(),
            })
    }

    /// Remembers credentials embedded in `url` and returns the URL without
    /// them.
    pub fn register(&self, url: &str) -> String {
        let (clean, creds) = split_credentials(url);
        if let Some(creds) = creds
            && let Some(key) = url::Url::parse(&clean).ok().as_ref().and_then(host_key)
        {
            self.credentials
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(key, creds);
        }
        clean
    }

    fn authenticate(&self, request: RequestBuilder, url: &str) -> RequestBuilder {
        let Some(key) = url::Url::parse(url).ok().as_ref().and_then(host_key) else {
            return request;
        };
        let known = self
            .credentials
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
            .cloned();
        match known.as_ref().or_else(|| self.netrc.get(&key)) {
            Some(c) => request.basic_auth(&c.username, c.password.as_deref()),
            None => request,
        }
    }

    /// Sends a request built by `build` (called again for each retry),
    /// authenticated for `url`; connection errors, 429 and 5xx are retried.
    pub fn send(
        &self,
        url: &str,
        build: impl Fn(&Client) -> RequestBuilder,
    ) -> Result<Response, Error> {
        let mut attempt = 0;
        loop {
            let request = self.authenticate(build(self.client()?), url);
            self.traffic.requests.fetch_add(1, Ordering::Relaxed);
            match request.send() {
                Ok(r)
                    if attempt < RETRIES
                        && (r.status().is_server_error()
                            || r.status() == StatusCode::TOO_MANY_REQUESTS) => {}
                Ok(r) => return Ok(r),
                Err(e) if attempt < RETRIES && (e.is_connect() || e.is_timeout()) => {}
                Err(e) => {
                    return Err(Error::Network {
                        url: redact(url),
                        message: error_text(e),
                    });
                }
            }
            attempt += 1;
            std::thread::sleep(Duration::from_millis(200 * u64::from(attempt)));
        }
    }

    /// GETs `url` and returns the response, or an error for a non-success
    /// status (404 is returned as a response for the caller to judge).
    pub fn get(&self, url: &str, accept: Option<&str>) -> Result<Response, Error> {
        let response = self.send(url, |c| {
            let r = c.get(url);
            match accept {
                Some(a) => r.header(header::ACCEPT, a),
                None => r,
            }
        })?;
        check_status(url, response)
    }

    /// A simple page, from the TTL cache or the network. `Ok(None)`: 404.
    pub fn page(&self, url: &str, accept: &str) -> Result<Option<Page>, Error> {
        let cache_file = self.cache_file(url);
        let cached: Option<Page> = cache_file
            .as_ref()
            .and_then(|f| std::fs::read(f).ok())
            .and_then(|b| serde_json::from_slice(&b).ok());
        let now = now_millis();
        if let Some(page) = &cached
            && now >= page.fetched
            && u128::from(now - page.fetched) < self.ttl.as_millis()
        {
            self.used(cache_file.as_deref());
            return Ok(Some(page.clone()));
        }
        let response = self.send(url, |c| {
            let mut r = c.get(url).header(header::ACCEPT, accept);
            if let Some(page) = &cached {
                if let Some(etag) = &page.etag {
                    r = r.header(header::IF_NONE_MATCH, etag);
                }
                if let Some(lm) = &page.last_modified {
                    r = r.header(header::IF_MODIFIED_SINCE, lm);
                }
            }
            r
        })?;
        if response.status() == StatusCode::NOT_MODIFIED
            && let Some(mut page) = cached
        {
            page.fetched = now;
            let stored = self.store(cache_file.as_deref(), &page);
            self.used(cache_file.as_deref().filter(|_| stored));
            return Ok(Some(page));
        }
        if response.status() == StatusCode::NOT_FOUND {
            // Not a page of the cache: what uses it cannot be kept.
            self.used(None);
            return Ok(None);
        }
        let response = check_status(url, response)?;
        let headers = response.headers().clone();
        let final_url = response.url().to_string();
        let body = response.text().map_err(|e| Error::Network {
            url: redact(url),
            message: error_text(e),
        })?;
        self.received(body.len());
        let page = Page {
            url: final_url,
            content_type: header_str(&headers, header::CONTENT_TYPE).unwrap_or_default(),
            body,
            fetched: now,
            etag: header_str(&headers, header::ETAG),
            last_modified: header_str(&headers, header::LAST_MODIFIED),
        };
        let stored = self.store(cache_file.as_deref(), &page);
        self.used(cache_file.as_deref().filter(|_| stored));
        Ok(Some(page))
    }

    /// Records that the page cached in `file` was used (`None`: a page
    /// that is not in the cache).
    fn used(&self, file: Option<&Path>) {
        let mut pages = self.pages_used.lock().unwrap_or_else(|e| e.into_inner());
        let stamp = file.and_then(|f| Some((f.to_path_buf(), modified_nanos(f)?)));
        match (pages.as_mut(), stamp) {
            (Some(map), Some((file, nanos))) => {
                map.insert(file, nanos);
            }
            _ => *pages = None,
        }
    }

    /// Every simple page used so far, as (cache file, modification time);
    /// `None` when one of them was not cached.
    pub fn pages_used(&self) -> Option<Vec<(PathBuf, u128)>> {
        let pages = self.pages_used.lock().unwrap_or_else(|e| e.into_inner());
        pages
            .as_ref()
            .map(|m| m.iter().map(|(f, t)| (f.clone(), *t)).collect())
    }

    /// Whether the page cached in `file` is still the one last modified at
    /// `nanos`, and within the TTL: what [`Self::page`] would use without
    /// asking the index.
    pub fn page_current(&self, file: &Path, nanos: u128) -> bool {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        modified_nanos(file) == Some(nanos) && now >= nanos && now - nanos < self.ttl.as_nanos()
    }

    /// Counts `n` body bytes received.
    pub fn received(&self, n: usize) {
        self.traffic.bytes.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// What this client sent and received so far.
    pub fn traffic(&self) -> &Traffic {
        &self.traffic
    }

    fn cache_file(&self, url: &str) -> Option<PathBuf> {
        let dir = self.cache_dir.as_ref()?;
        let digest = Sha256::digest(url.as_bytes());
        Some(
            dir.join("simple-v1")
                .join(format!("{}.json", hex::encode(&digest[..16]))),
        )
    }

    /// Best effort: a page that cannot be cached is fetched again later.
    /// Whether `page` is now in `file`.
    fn store(&self, file: Option<&Path>, page: &Page) -> bool {
        let Some(file) = file else { return false };
        serde_json::to_vec(page)
            .is_ok_and(|bytes| crate::fs::write_cache_file(file, &bytes).is_ok())
    }
}

/// A reqwest error's text without its URL (which could hold credentials).
pub fn error_text(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

fn check_status(url: &str, response: Response) -> Result<Response, Error> {
    let status = response.status();
    if status.is_success() || status == StatusCode::NOT_FOUND {
        return Ok(response);
    }
    Err(Error::Status {
        url: redact(url),
        status: status.as_u16(),
    })
}

pub fn header_str(headers: &HeaderMap, name: header::HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// A file's modification time in nanoseconds since the epoch.
fn modified_nanos(file: &Path) -> Option<u128> {
    let modified = std::fs::metadata(file).ok()?.modified().ok()?;
    Some(modified.duration_since(UNIX_EPOCH).ok()?.as_nanos())
}

fn now_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    #[test]
    fn redact_all_removes_every_userinfo() {
        assert_eq!(
            super::redact_all("https://u:p@a/x\n  http://b/y  file:///z git+https://t@c/r.git"),
            "https://a/x\n  http://b/y  file:///z git+https://c/r.git"
        );
    }

    #[test]
    fn redaction_takes_userinfo_to_the_last_at_sign_of_the_authority() {
        for url in [
            "http://user:p@ss:w@rd@index.example/simple/",
            "http://user:p@ss@index.example/simple/",
            "http://p@ss@index.example",
        ] {
            let want = url[url.rfind('@').unwrap() + 1..].to_string();
            let want = format!("http://{want}");
            assert_eq!(redact(url), want, "{url}");
            assert_eq!(redact_all(url), want, "{url}");
            assert_eq!(
                redact_all(&format!("a {url}\n  https://h/x@y")),
                format!("a {want}\n  https://h/x@y")
            );
        }
    }

    use super::*;

    #[test]
    fn redact_removes_userinfo_only() {
        assert_eq!(redact("https://u:p@host/simple/"), "https://host/simple/");
        assert_eq!(redact("https://host/a@b"), "https://host/a@b");
        assert_eq!(redact("/local/path"), "/local/path");
    }

    #[test]
    fn split_credentials_decodes_and_strips() {
        let (url, creds) = split_credentials("https://al%40ice:s%3Acret@h:8080/simple/");
        assert_eq!(url, "https://h:8080/simple/");
        let creds = creds.unwrap();
        assert_eq!(creds.username, "al@ice");
        assert_eq!(creds.password.as_deref(), Some("s:cret"));
        assert!(!format!("{creds:?}").contains("s:cret"));
    }

    #[test]
    fn netrc_machines_and_default() {
        let n = Netrc::parse(
            "machine a.example login alice password one\n\
             macdef init\n  cd /\n\n\
             machine b.example:81 login bob password two\n\
             default login anon password three\n",
        );
        assert_eq!(n.get("a.example").unwrap().username, "alice");
        assert_eq!(n.get("a.example:443").unwrap().username, "alice");
        assert_eq!(
            n.get("b.example:81").unwrap().password.as_deref(),
            Some("two")
        );
        assert_eq!(n.get("c.example").unwrap().username, "anon");
    }

    #[test]
    fn netrc_comments_are_skipped() {
        let n = Netrc::parse(
            "# machine a.example login old password stale\n\
             machine a.example login alice password one # the real one\n\
             #machine b.example login nobody password none\n\
             machine b.example login bob password two\n",
        );
        let a = n.get("a.example").unwrap();
        assert_eq!(
            (a.username.as_str(), a.password.as_deref()),
            ("alice", Some("one"))
        );
        let b = n.get("b.example").unwrap();
        assert_eq!(
            (b.username.as_str(), b.password.as_deref()),
            ("bob", Some("two"))
        );
        assert!(n.get("c.example").is_none());
    }

    #[test]
    fn netrc_quoted_and_escaped_tokens() {
        let n = Netrc::parse(
            "machine a.example login \"al ice\" password \"p\\\"w d#x\"\n\
             machine b.example user b\\ ob password #notacomment\n\
             macdef init\n  machine evil login x password y\n\n\
             machine c.example login carol password three\n",
        );
        let a = n.get("a.example").unwrap();
        assert_eq!(a.username, "al ice");
        assert_eq!(a.password.as_deref(), Some("p\"w d#x"));
        let b = n.get("b.example").unwrap();
        assert_eq!(b.username, "b ob");
        assert_eq!(b.password.as_deref(), Some("#notacomment"));
        assert!(!n.machines.contains_key("evil"));
        assert_eq!(n.get("c.example").unwrap().username, "carol");
    }
}
