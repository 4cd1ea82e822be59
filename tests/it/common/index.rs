//! A local package index for tests: std only, on `127.0.0.1:0`, one thread
//! per connection.
//!
//! * `GET /simple/<name>/`: PEP 691 JSON when the `Accept` header asks for
//!   `application/vnd.pypi.simple.v1+json` (unless [`IndexServer::html_only`]),
//!   else PEP 503 HTML; 404 for unknown projects. `/simple/` lists projects.
//! * `GET|HEAD /files/<file>`: the file, with `Accept-Ranges: bytes` and
//!   `Range` support (206) unless [`IndexServer::set_ranges`] turned it off.
//! * `GET /files/<file>.metadata`: the core metadata (PEP 658/714), when
//!   the dist's [`MetadataFile`] is not `Absent`.
//! * `GET /pages/<path>`: pages registered with [`IndexServer::page`]
//!   (find-links pages).
//! * Optional basic auth ([`IndexServer::require_auth`]): 401 without it.
//! * Every request is logged ([`IndexServer::requests`]), so tests can
//!   assert what was (not) asked.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use base64::Engine;

use super::wheel::{Dist, MetadataFile};

/// One logged request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub range: Option<String>,
    pub accept: Option<String>,
    pub authorization: Option<String>,
}

#[derive(Default)]
struct State {
    /// Normalised project name → its dists.
    projects: BTreeMap<String, Vec<Dist>>,
    /// Bytes served for a file name instead of the real ones (hash tests).
    corrupt: BTreeMap<String, Vec<u8>>,
    pages: BTreeMap<String, String>,
    log: Vec<Request>,
    auth: Option<(String, String)>,
    no_ranges: bool,
    html_only: bool,
    /// How long each answer waits (a slow index).
    delay: std::time::Duration,
    /// Paths answered with an error status instead (a broken page).
    failing: BTreeMap<String, String>,
    /// Requests being answered now, and the most at any one time.
    in_flight: usize,
    max_in_flight: usize,
    /// Files sent slowly: half, then the rest this much later.
    slow_files: BTreeMap<String, std::time::Duration>,
}

/// A running index; stopped when dropped.
pub struct IndexServer {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

pub fn normalize(name: &str) -> String {
    let mut out = String::new();
    let mut sep = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            sep = true;
        } else {
            if sep {
                out.push('-');
                sep = false;
            }
            out.extend(c.to_lowercase());
        }
    }
    out
}

impl IndexServer {
    pub fn start() -> IndexServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        let state = Arc::new(Mutex::new(State::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let state = Arc::clone(&state);
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    if let Ok(stream) = stream {
                        let state = Arc::clone(&state);
                        std::thread::spawn(move || {
                            let _ = serve(stream, &state);
                        });
                    }
                }
            })
        };
        IndexServer {
            addr,
            state,
            stop,
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `http://127.0.0.1:PORT/simple/`.
    pub fn index_url(&self) -> String {
        format!("{}/simple/", self.url())
    }

    /// The index URL with `user:password@` in it.
    pub fn index_url_with_auth(&self, user: &str, password: &str) -> String {
        format!("http://{user}:{password}@{}/simple/", self.addr)
    }

    /// `http://127.0.0.1:PORT/files/<filename>`.
    pub fn file_url(&self, filename: &str) -> String {
        format!("{}/files/{filename}", self.url())
    }

    /// Publishes a dist under its project (the name before the first `-`).
    pub fn publish(&self, dist: Dist) -> &Self {
        let project = normalize(dist.filename.split('-').next().unwrap_or(""));
        self.state
            .lock()
            .unwrap()
            .projects
            .entry(project)
            .or_default()
            .push(dist);
        self
    }

    /// Serves `bytes` for `filename` while the page keeps the real hash.
    pub fn corrupt(&self, filename: &str, bytes: &[u8]) {
        self.state
            .lock()
            .unwrap()
            .corrupt
            .insert(filename.to_string(), bytes.to_vec());
    }

    /// Serves `html` at `/pages/<path>`; returns its URL.
    pub fn page(&self, path: &str, html: &str) -> String {
        self.state
            .lock()
            .unwrap()
            .pages
            .insert(path.to_string(), html.to_string());
        format!("{}/pages/{path}", self.url())
    }

    pub fn require_auth(&self, user: &str, password: &str) {
        self.state.lock().unwrap().auth = Some((user.to_string(), password.to_string()));
    }

    pub fn set_ranges(&self, supported: bool) {
        self.state.lock().unwrap().no_ranges = !supported;
    }

    /// Answers `path` with `status` (e.g. `500 Internal Server Error`)
    /// from now on.
    pub fn fail_path(&self, path: &str, status: &str) {
        self.state
            .lock()
            .unwrap()
            .failing
            .insert(path.to_string(), status.to_string());
    }

    /// The most requests this server was answering at one time (while
    /// each waits its delay).
    pub fn max_in_flight(&self) -> usize {
        self.state.lock().unwrap().max_in_flight
    }

    /// Makes every answer wait `delay` (a slow index, for progress).
    pub fn set_delay(&self, delay: std::time::Duration) {
        self.state.lock().unwrap().delay = delay;
    }

    /// Sends the file `filename` slowly: its first half at once, the rest
    /// `delay` later (a download that stays in flight, for progress).
    pub fn set_file_delay(&self, filename: &str, delay: std::time::Duration) {
        self.state
            .lock()
            .unwrap()
            .slow_files
            .insert(filename.to_string(), delay);
    }

    pub fn html_only(&self, yes: bool) {
        self.state.lock().unwrap().html_only = yes;
    }

    pub fn requests(&self) -> Vec<Request> {
        self.state.lock().unwrap().log.clone()
    }

    /// Requests whose path is `path`.
    pub fn requests_for(&self, path: &str) -> Vec<Request> {
        self.requests()
            .into_iter()
            .filter(|r| r.path == path)
            .collect()
    }

    pub fn clear_log(&self) {
        self.state.lock().unwrap().log.clear();
    }

    /// An HTML find-links style page linking every published file.
    pub fn links_html(&self) -> String {
        let state = self.state.lock().unwrap();
        let mut html = String::from("<html><body>\n");
        for dists in state.projects.values() {
            for d in dists {
                html.push_str(&format!(
                    "<a href=\"{}#sha256={}\">{}</a><br>\n",
                    self.file_url(&d.filename),
                    d.sha256(),
                    d.filename
                ));
            }
        }
        html.push_str("</body></html>\n");
        html
    }
}

impl Drop for IndexServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    super::wheel::hex(&sha2::Sha256::digest(bytes))
}

fn project_json(name: &str, dists: &[Dist]) -> String {
    let files: Vec<serde_json::Value> = dists
        .iter()
        .map(|d| {
            let mut f = serde_json::json!({
                "filename": d.filename,
                "url": format!("../../files/{}", d.filename),
                "hashes": {"sha256": d.sha256()},
                "requires-python": d.requires_python,
                "size": d.bytes.len(),
                "yanked": match &d.yanked {
                    None => serde_json::Value::Bool(false),
                    Some(r) if r.is_empty() => serde_json::Value::Bool(true),
                    Some(r) => serde_json::Value::String(r.clone()),
                },
            });
            if d.metadata_file == MetadataFile::Advertised {
                f["core-metadata"] = serde_json::json!({"sha256": sha256_hex(&d.metadata)});
            }
            f
        })
        .collect();
    serde_json::json!({
        "meta": {"api-version": "1.1", "_last-serial": 1},
        "name": name,
        "files": files,
    })
    .to_string()
}

fn project_html(dists: &[Dist]) -> String {
    let mut html = String::from(
        "<!DOCTYPE html>\n<html><head><meta name=\"pypi:repository-version\" content=\"1.1\"></head><body>\n",
    );
    for d in dists {
        let mut attrs = String::new();
        if let Some(rp) = &d.requires_python {
            attrs.push_str(&format!(" data-requires-python=\"{}\"", html_escape(rp)));
        }
        if let Some(y) = &d.yanked {
            attrs.push_str(&format!(" data-yanked=\"{}\"", html_escape(y)));
        }
        if d.metadata_file == MetadataFile::Advertised {
            attrs.push_str(&format!(
                " data-dist-info-metadata=\"sha256={0}\" data-core-metadata=\"sha256={0}\"",
                sha256_hex(&d.metadata)
            ));
        }
        html.push_str(&format!(
            "<a href=\"../../files/{0}#sha256={1}\"{attrs}>{0}</a><br/>\n",
            d.filename,
            d.sha256()
        ));
    }
    html.push_str("</body></html>\n");
    html
}

fn serve(stream: TcpStream, state: &Mutex<State>) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut headers: BTreeMap<String, String> = BTreeMap::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" || line == "\n" {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    let delay = {
        let mut state = state.lock().unwrap();
        state.in_flight += 1;
        state.max_in_flight = state.max_in_flight.max(state.in_flight);
        state.delay
    };
    std::thread::sleep(delay);
    state.lock().unwrap().in_flight -= 1;
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let target = parts.next().unwrap_or("/");
    let path = target.split(['?', '#']).next().unwrap_or("/").to_string();
    let request = Request {
        method: method.clone(),
        path: path.clone(),
        range: headers.get("range").cloned(),
        accept: headers.get("accept").cloned(),
        authorization: headers.get("authorization").cloned(),
    };
    let mut stream = stream;
    let head_only = method == "HEAD";
    let mut state = state.lock().unwrap();
    state.log.push(request.clone());
    if let Some((user, password)) = &state.auth {
        let expected = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
        );
        if request.authorization.as_deref() != Some(expected.as_str()) {
            drop(state);
            return respond(
                &mut stream,
                "401 Unauthorized",
                &[("WWW-Authenticate", "Basic realm=\"test\"".into())],
                b"unauthorized\n",
                head_only,
            );
        }
    }
    if let Some(status) = state.failing.get(&path).cloned() {
        drop(state);
        return respond(&mut stream, &status, &[], b"failed\n", head_only);
    }
    if let Some(rest) = path.strip_prefix("/simple/") {
        let name = rest.trim_end_matches('/');
        if name.is_empty() {
            let mut html = String::from("<html><body>\n");
            for p in state.projects.keys() {
                html.push_str(&format!("<a href=\"{p}/\">{p}</a>\n"));
            }
            drop(state);
            return respond(
                &mut stream,
                "200 OK",
                &[("Content-Type", "text/html".into())],
                html.as_bytes(),
                head_only,
            );
        }
        let Some(dists) = state.projects.get(&normalize(name)).cloned() else {
            drop(state);
            return respond(&mut stream, "404 Not Found", &[], b"not found\n", head_only);
        };
        let wants_json = !state.html_only
            && request
                .accept
                .as_deref()
                .is_some_and(|a| a.contains("application/vnd.pypi.simple.v1+json"));
        drop(state);
        return if wants_json {
            respond(
                &mut stream,
                "200 OK",
                &[("Content-Type", "application/vnd.pypi.simple.v1+json".into())],
                project_json(&normalize(name), &dists).as_bytes(),
                head_only,
            )
        } else {
            respond(
                &mut stream,
                "200 OK",
                &[("Content-Type", "application/vnd.pypi.simple.v1+html".into())],
                project_html(&dists).as_bytes(),
                head_only,
            )
        };
    }
    if let Some(page) = path.strip_prefix("/pages/") {
        let body = state.pages.get(page).cloned();
        drop(state);
        return match body {
            Some(html) => respond(
                &mut stream,
                "200 OK",
                &[("Content-Type", "text/html".into())],
                html.as_bytes(),
                head_only,
            ),
            None => respond(&mut stream, "404 Not Found", &[], b"not found\n", head_only),
        };
    }
    if let Some(file) = path.strip_prefix("/files/") {
        let all: Vec<Dist> = state.projects.values().flatten().cloned().collect();
        if let Some(base) = file.strip_suffix(".metadata") {
            let found = all
                .iter()
                .find(|d| d.filename == base && d.metadata_file != MetadataFile::Absent)
                .map(|d| d.metadata.clone());
            drop(state);
            return match found {
                Some(m) => respond(&mut stream, "200 OK", &[], &m, head_only),
                None => respond(&mut stream, "404 Not Found", &[], b"not found\n", head_only),
            };
        }
        let body = state.corrupt.get(file).cloned().or_else(|| {
            all.iter()
                .find(|d| d.filename == file)
                .map(|d| d.bytes.clone())
        });
        let ranges = !state.no_ranges;
        let slow = state.slow_files.get(file).copied();
        drop(state);
        if let (Some(delay), Some(body)) = (slow, &body)
            && request.range.is_none()
            && !head_only
        {
            return respond_slowly(&mut stream, body, delay);
        }
        let Some(body) = body else {
            return respond(&mut stream, "404 Not Found", &[], b"not found\n", head_only);
        };
        let len = body.len();
        if ranges && let Some(range) = request.range.as_deref().and_then(|r| parse_range(r, len)) {
            let (start, end) = range;
            return respond(
                &mut stream,
                "206 Partial Content",
                &[
                    ("Accept-Ranges", "bytes".into()),
                    ("Content-Range", format!("bytes {start}-{}/{len}", end - 1)),
                ],
                &body[start..end],
                head_only,
            );
        }
        let extra: Vec<(&str, String)> = if ranges {
            vec![("Accept-Ranges", "bytes".into())]
        } else {
            vec![]
        };
        return respond(&mut stream, "200 OK", &extra, &body, head_only);
    }
    drop(state);
    respond(&mut stream, "404 Not Found", &[], b"not found\n", head_only)
}

/// A 200 answer whose body's second half comes `delay` after the first.
fn respond_slowly(
    stream: &mut TcpStream,
    body: &[u8],
    delay: std::time::Duration,
) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\
         Content-Type: application/octet-stream\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    let half = body.len() / 2;
    stream.write_all(&body[..half])?;
    stream.flush()?;
    std::thread::sleep(delay);
    stream.write_all(&body[half..])?;
    stream.flush()
}

/// `bytes=a-b`, `bytes=a-`, `bytes=-n` → `start..end` (exclusive).
fn parse_range(header: &str, len: usize) -> Option<(usize, usize)> {
    let spec = header.strip_prefix("bytes=")?;
    let (a, b) = spec.split_once('-')?;
    let (start, end) = if a.is_empty() {
        let n: usize = b.parse().ok()?;
        (len.saturating_sub(n), len)
    } else {
        let start: usize = a.parse().ok()?;
        let end = if b.is_empty() {
            len
        } else {
            (b.parse::<usize>().ok()? + 1).min(len)
        };
        (start, end)
    };
    (start < end).then_some((start, end))
}

fn respond(
    stream: &mut TcpStream,
    status: &str,
    headers: &[(&str, String)],
    body: &[u8],
    head_only: bool,
) -> std::io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    if !headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
    {
        head.push_str("Content-Type: application/octet-stream\r\n");
    }
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    if !head_only {
        stream.write_all(body)?;
    }
    stream.flush()
}
