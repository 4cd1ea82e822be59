//! `find-links` entries (zc.buildout §5.5): local directories (listed, not
//! recursively), local files (a distribution, or an HTML page of links),
//! and remote URLs (a distribution, or an HTML page of links, fetched once
//! per client through the simple-page cache). Links to other projects are
//! kept here; the caller filters by name.

use std::path::{Path, PathBuf};

use super::http::{Http, redact};
use super::simple::{self, Link};
use super::{Error, Result};

/// One `find-links` entry, classified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// A local directory or file (from a path or a `file:` URL).
    Local(PathBuf),
    /// An `http(s):` URL, credentials removed.
    Remote(String),
}

impl Entry {
    /// Classifies `entry` (a path, a `file:` URL or an `http(s):` URL),
    /// remembering any credentials in it with `http`.
    pub fn new(entry: &str, http: &Http) -> Entry {
        if let Some(path) = file_url_path(entry) {
            return Entry::Local(path);
        }
        if entry.starts_with("http://") || entry.starts_with("https://") {
            return Entry::Remote(http.register(entry));
        }
        Entry::Local(PathBuf::from(entry))
    }
}

/// The path of a `file:` URL, or `None`.
pub fn file_url_path(url: &str) -> Option<PathBuf> {
    if !url.starts_with("file:") {
        return None;
    }
    url::Url::parse(url)
        .ok()
        .and_then(|u| u.to_file_path().ok())
        .or_else(|| Some(PathBuf::from(url.trim_start_matches("file://"))))
}

/// A `file://` URL for a local path.
pub fn path_url(path: &Path) -> String {
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    url::Url::from_file_path(&abs)
        .map(|u| u.to_string())
        .unwrap_or_else(|_| format!("file://{}", abs.display()))
}

fn is_dist_name(name: &str) -> bool {
    let lower = name.to_lowercase();
    [".whl", ".tar.gz", ".zip", ".tar.bz2", ".tgz", ".tar.xz"]
        .iter()
        .any(|e| lower.ends_with(e))
}

fn local_link(path: &Path) -> Option<Link> {
    let filename = path.file_name()?.to_str()?.to_string();
    Some(Link {
        filename,
        url: path_url(path),
        hashes: Default::default(),
        requires_python: None,
        yanked: None,
        core_metadata: simple::CoreMetadata::Absent,
        size: std::fs::metadata(path).ok().map(|m| m.len()),
        upload_time: None,
    })
}

/// The distribution files in a local directory (sorted by name, so results
/// are stable). A missing directory has none.
pub fn list_dir(dir: &Path) -> Vec<Link> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(is_dist_name)
        })
        .collect();
    paths.sort();
    paths.iter().filter_map(|p| local_link(p)).collect()
}

/// The links one local entry provides (never touches the network).
pub fn local(path: &Path) -> Result<Vec<Link>> {
    if path.is_dir() {
        return Ok(list_dir(path));
    }
    if !path.exists() {
        return Ok(Vec::new());
    }
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if is_dist_name(name) {
        return Ok(local_link(path).into_iter().collect());
    }
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut links = simple::parse_html(&text, &path_url(path)).map_err(|e| Error::BadPage {
        url: path.display().to_string(),
        message: e.0,
    })?;
    // Local links in a local page get their real size.
    for link in &mut links {
        if let Some(p) = file_url_path(&link.url) {
            link.size = std::fs::metadata(p).ok().map(|m| m.len());
        }
    }
    Ok(links)
}

/// The links a remote entry provides: itself when it names a
/// distribution, otherwise the links on the page.
pub fn remote(url: &str, http: &Http) -> Result<Vec<Link>> {
    let last = url.rsplit('/').next().unwrap_or("");
    let last = last.split(['#', '?']).next().unwrap_or("");
    if is_dist_name(last) {
        let (clean, hashes) = match url.split_once('#') {
            Some((u, frag)) => (
                u.to_string(),
                frag.split_once('=')
                    .map(|(a, d)| (a.to_lowercase(), d.to_lowercase()))
                    .into_iter()
                    .collect(),
            ),
            None => (url.to_string(), Default::default()),
        };
        return Ok(vec![Link {
            filename: last.to_string(),
            url: clean,
            hashes,
            requires_python: None,
            yanked: None,
            core_metadata: simple::CoreMetadata::Unknown,
            size: None,
            upload_time: None,
        }]);
    }
    match http.page(url, "text/html")? {
        Some(page) => simple::parse_html(&page.body, &page.url).map_err(|e| Error::BadPage {
            url: redact(url),
            message: e.0,
        }),
        None => Err(Error::Status {
            url: redact(url),
            status: 404,
        }),
    }
}
