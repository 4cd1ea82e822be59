//! `find-links` entries (zc.buildout §5.5): local directories (listed, not
//! recursively), local files (a distribution, or an HTML page of links),
//! and remote URLs (a distribution, or an HTML page of links, fetched once
//! per client through the simple-page cache). Links to other projects are
//! kept here, grouped by the names their file names may start with
//! ([`Listing`]); the caller parses each file name against the project.

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

/// Links grouped by the project names their file names may start with, so
/// that looking up one project does not parse every file of a large
/// directory. A file name is filed under each `-`-separated prefix
/// (canonicalised): `foo_bar-1.0-py3-none-any.whl` under `foo-bar`,
/// `foo-1.0-py3-none-any.whl`, ...; an sdist's `a-b-1.0.tar.gz` under `a`
/// and `a-b`, since only the project being looked up tells where its name
/// ends.
#[derive(Debug, Default)]
pub struct Listing {
    links: Vec<Link>,
    by_prefix: std::collections::HashMap<String, Vec<usize>>,
}

impl Listing {
    pub fn new(links: Vec<Link>) -> Self {
        let mut by_prefix: std::collections::HashMap<String, Vec<usize>> =
            std::collections::HashMap::new();
        for (i, link) in links.iter().enumerate() {
            let name = &link.filename;
            let mut seen: Vec<String> = Vec::new();
            for (at, _) in name.match_indices('-') {
                let key = crate::python::marker::canonicalize_name(&name[..at]);
                if !seen.contains(&key) {
                    by_prefix.entry(key.clone()).or_default().push(i);
                    seen.push(key);
                }
            }
        }
        Self { links, by_prefix }
    }

    /// The links whose file names may belong to `project` (canonical name).
    pub fn for_project(&self, project: &str) -> impl Iterator<Item = &Link> {
        self.by_prefix
            .get(project)
            .into_iter()
            .flatten()
            .map(|&i| &self.links[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listing_files_links_under_every_name_prefix() {
        let links = simple::parse_html(
            r#"<a href="Foo_Bar-1.0-py3-none-any.whl">w</a>
               <a href="foo-2.0.tar.gz">s</a>
               <a href="zope.interface-5.0.tar.gz">z</a>"#,
            "file:///d/",
        )
        .unwrap();
        let l = Listing::new(links);
        let names = |p: &str| {
            l.for_project(p)
                .map(|k| k.filename.as_str())
                .collect::<Vec<_>>()
        };
        assert_eq!(names("foo-bar"), ["Foo_Bar-1.0-py3-none-any.whl"]);
        assert_eq!(names("foo"), ["foo-2.0.tar.gz"]);
        assert_eq!(names("zope-interface"), ["zope.interface-5.0.tar.gz"]);
        assert!(names("bar").is_empty());
    }
}
