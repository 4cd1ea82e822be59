//! Which files a project has: [`Client::candidates`] merges the index's
//! page, find-links and the download cache (first source wins for a file
//! name), filtered by `allow-hosts`, cached for the life of the client.
//! An index or find-links page that cannot be reached (or whose server
//! fails) adds no files and is remembered ([`Client::unreadable`]),
//! as zc.buildout warns and goes on.

use super::{
    Client, DistFile, Error, IndexLocation, Result, SIMPLE_ACCEPT, Source, find_links, redact,
    simple,
};
use crate::python::{DistFilename, PackageName};
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;

impl Client {
    /// The links of a local find-links entry (directory, file or page),
    /// listed once per client.
    fn local_listing(&self, path: &Path) -> Result<Arc<find_links::Listing>> {
        if let Some(hit) = self
            .local_links
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(path)
        {
            return Ok(Arc::clone(hit));
        }
        let links = Arc::new(find_links::Listing::new(find_links::local(path)?));
        self.local_links
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(path.to_path_buf(), Arc::clone(&links));
        Ok(links)
    }

    /// Every file of `project` from the index, find-links and the download
    /// cache (first source wins for a file name), in that order. Fetched
    /// once for the life of the client: a caller that asks while a
    /// prefetch of the same project runs waits for it.
    pub fn candidates(&self, project: &PackageName) -> Result<Vec<DistFile>> {
        Ok(self.shared_candidates(project)?.as_ref().clone())
    }

    /// [`Self::candidates`] without copying them: a project on PyPI may
    /// list thousands of files, of which a resolver keeps a few.
    pub fn shared_candidates(&self, project: &PackageName) -> Result<Arc<Vec<DistFile>>> {
        let slot = self.files_slot(project);
        let mut failed = None;
        let files = slot.get_or_init(|| match self.fetch_candidates(project, Record::Yes) {
            Ok(files) => Some(Arc::new(files)),
            Err(e) => {
                failed = Some(e);
                None
            }
        });
        if let Some(e) = failed {
            return Err(e);
        }
        match files {
            Some(files) => Ok(Arc::clone(files)),
            // A prefetch failed quietly, or an earlier ask failed: ask
            // again, for the error and the warnings.
            None => self.fetch_candidates(project, Record::Yes).map(Arc::new),
        }
    }

    /// Fetches `project`'s files ahead of the resolver, unless they are
    /// fetched already: a failure is left for [`Self::candidates`] to meet
    /// again and report. `None` when nothing was found.
    pub(super) fn prefetch_candidates(&self, project: &PackageName) -> Option<Arc<Vec<DistFile>>> {
        self.files_slot(project)
            .get_or_init(|| {
                self.fetch_candidates(project, Record::No)
                    .ok()
                    .map(Arc::new)
            })
            .clone()
    }

    fn files_slot(&self, project: &PackageName) -> super::FilesSlot {
        let mut memo = self.memo.lock().unwrap_or_else(|e| e.into_inner());
        Arc::clone(memo.entry(project.clone()).or_default())
    }

    fn fetch_candidates(&self, project: &PackageName, record: Record) -> Result<Vec<DistFile>> {
        let mut found = Found {
            project,
            files: Vec::new(),
            seen: HashSet::new(),
        };
        let not_found_on = self.index_links(project, &mut found, record)?;
        self.other_links(project, &mut found)?;
        let files = found.files;
        if files.is_empty() {
            if self.options.offline {
                return Err(Error::OfflineProject {
                    project: project.to_string(),
                });
            }
            if let Some(index) = not_found_on {
                return Err(Error::ProjectNotFound {
                    project: project.to_string(),
                    index,
                });
            }
        }
        Ok(files)
    }

    /// The project's files on the index; returns the index's name when it
    /// has no page for the project.
    fn index_links(
        &self,
        project: &PackageName,
        found: &mut Found,
        record: Record,
    ) -> Result<Option<String>> {
        match &self.index {
            Some(IndexLocation::Remote(base)) if !self.options.offline => {
                let url = format!("{base}{}/", project.as_str());
                if !self.allowed(&url) {
                    return Err(Error::HostNotAllowed { url: redact(base) });
                }
                if self.index_unreachable.load(Ordering::SeqCst) {
                    return Ok(None);
                }
                let page = self.fetching(project.as_str(), || self.http.page(&url, SIMPLE_ACCEPT));
                let page = match page {
                    Ok(Some(page)) => page,
                    Ok(None) => return Ok(Some(redact(base))),
                    // Ahead of the resolver: no side effects.
                    Err(e) if record == Record::No => return Err(e),
                    Err(e) => {
                        if matches!(e, Error::Network { .. }) {
                            self.index_unreachable.store(true, Ordering::SeqCst);
                        }
                        // Warned about; a missing distribution names it.
                        self.unreadable_page(e)?;
                        return Ok(None);
                    }
                };
                let links = if page.content_type.contains("json") {
                    simple::parse_json(&page.body, &page.url)
                } else {
                    simple::parse_html(&page.body, &page.url)
                }
                .map_err(|e| Error::BadPage {
                    url: redact(&url),
                    message: e.0,
                })?;
                found.add(self, links, Source::Index);
            }
            Some(IndexLocation::Local(dir)) => {
                let project_dir = dir.join(project.as_str());
                let page = project_dir.join("index.html");
                if page.is_file() {
                    found.add(self, find_links::local(&page)?, Source::Index);
                } else if project_dir.is_dir() {
                    found.add(self, find_links::list_dir(&project_dir), Source::Index);
                } else {
                    return Ok(Some(dir.display().to_string()));
                }
            }
            _ => {}
        }
        Ok(None)
    }

    /// The project's files in find-links (local, then remote unless
    /// offline) and in the download cache.
    fn other_links(&self, project: &PackageName, found: &mut Found) -> Result<()> {
        let name = project.as_str();
        for entry in &self.find_links {
            if let find_links::Entry::Local(path) = entry {
                let listing = self.local_listing(path)?;
                let links = listing.for_project(name).cloned().collect();
                found.add(self, links, Source::FindLinks);
            }
        }
        if !self.options.offline {
            let links = self
                .remote_find_links()?
                .for_project(name)
                .cloned()
                .collect();
            found.add(self, links, Source::FindLinks);
        }
        if let Some(dir) = &self.options.download_cache {
            let listing = self.local_listing(dir)?;
            let links = listing.for_project(name).cloned().collect();
            found.add(self, links, Source::DownloadCache);
        }
        Ok(())
    }

    fn remote_find_links(&self) -> Result<&find_links::Listing> {
        if let Some(links) = self.remote_links.get() {
            return Ok(links);
        }
        let mut all = Vec::new();
        for entry in &self.find_links {
            if let find_links::Entry::Remote(url) = entry
                && self.allowed(url)
            {
                match find_links::remote(url, &self.http) {
                    Ok(links) => all.extend(links),
                    Err(e) => self.unreadable_page(e)?,
                }
            }
        }
        Ok(self
            .remote_links
            .get_or_init(|| find_links::Listing::new(all)))
    }
}

/// Whether a failure to read a page is remembered (warned about, and the
/// index not asked again when unreachable): not when fetching ahead of the
/// resolver, which may ask for a project the resolution never needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Record {
    Yes,
    No,
}

/// A project's files as they are found, each file name once (the first
/// source to list it wins).
struct Found<'p> {
    project: &'p PackageName,
    files: Vec<DistFile>,
    seen: HashSet<String>,
}

impl Found<'_> {
    /// Adds the links that are allowed, parse as this project's files and
    /// are new.
    fn add(&mut self, client: &Client, links: Vec<simple::Link>, source: Source) {
        for link in links {
            // (links come from a page of this project, or were picked
            // from a listing by name prefix)
            if !client.allowed(&link.url) {
                continue;
            }
            let Ok(filename) = DistFilename::parse(&link.filename, Some(self.project)) else {
                continue;
            };
            if filename.name() != self.project || !self.seen.insert(link.filename.clone()) {
                continue;
            }
            self.files.push(DistFile {
                filename,
                url: link.url,
                hashes: link.hashes,
                requires_python: link.requires_python,
                yanked: link.yanked,
                core_metadata: link.core_metadata,
                size: link.size,
                upload_time: link.upload_time,
                source,
            });
        }
    }
}

/// At most this many files are looked at to fingerprint local sources
/// ([`Client::sources_digest`]); beyond, there is no fingerprint.
const FINGERPRINT_LIMIT: usize = 20_000;

impl Client {
    /// A digest of the sources this client lists: each local find-links
    /// entry, the local index and the download cache file by file (name,
    /// size, modification time), and the URL of each remote one; with
    /// whether any source is remote (then the pages it serves are what
    /// [`Self::pages_used`] names). Two runs with the same digest, whose
    /// remote pages are unchanged, see the same files. `None` when a source
    /// cannot be read or is too big to fingerprint cheaply.
    pub fn sources_digest(&self) -> Option<(String, bool)> {
        let mut hasher = Sha256::new();
        let mut budget = FINGERPRINT_LIMIT;
        let online = !self.options.offline;
        let mut remote = false;
        hasher.update(format!("offline {}\n", self.options.offline));
        match &self.index {
            Some(IndexLocation::Remote(url)) => {
                remote |= online;
                hasher.update(format!("index {url}\n"));
            }
            Some(IndexLocation::Local(dir)) => {
                hasher.update(b"index\n");
                fingerprint(dir, 2, &mut hasher, &mut budget)?;
            }
            None => {}
        }
        for entry in &self.find_links {
            match entry {
                find_links::Entry::Local(path) => {
                    hasher.update(b"find-links\n");
                    fingerprint(path, 1, &mut hasher, &mut budget)?;
                }
                find_links::Entry::Remote(url) => {
                    remote |= online;
                    hasher.update(format!("find-links {url}\n"));
                }
            }
        }
        hasher.update(format!("allow-hosts {:?}\n", self.options.allow_hosts));
        if let Some(dir) = &self.options.download_cache {
            hasher.update(b"download-cache\n");
            fingerprint(dir, 1, &mut hasher, &mut budget)?;
        }
        Some((hex::encode(hasher.finalize()), remote))
    }

    /// The index and find-links pages used so far, as (cache file,
    /// modification time): `None` when one was not cached, or a page could
    /// not be read (a run that warned is not kept).
    pub fn pages_used(&self) -> Option<Vec<(std::path::PathBuf, u128)>> {
        if !self.unreadable().is_empty() || self.index_unreachable.load(Ordering::SeqCst) {
            return None;
        }
        self.http.pages_used()
    }

    /// Whether a page [`Self::pages_used`] named is still what a run would
    /// use without asking the index.
    pub fn page_current(&self, file: &Path, nanos: u128) -> bool {
        self.http.page_current(file, nanos)
    }
}

/// Adds `path` (a file, or a directory `depth` levels deep) to `hasher`:
/// names, sizes and modification times, sorted.
fn fingerprint(path: &Path, depth: usize, hasher: &mut Sha256, budget: &mut usize) -> Option<()> {
    hasher.update(path.as_os_str().as_encoded_bytes());
    hasher.update(b"\0");
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        // Missing: lists nothing, as [`find_links::local`] does.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            hasher.update(b"missing\n");
            return Some(());
        }
        Err(_) => return None,
    };
    *budget = budget.checked_sub(1)?;
    let modified = meta
        .modified()
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_nanos();
    hasher.update(format!("{} {modified}\n", meta.len()));
    if meta.is_dir() && depth > 0 {
        let mut names: Vec<_> = std::fs::read_dir(path)
            .ok()?
            .map(|e| e.map(|e| e.file_name()))
            .collect::<std::io::Result<_>>()
            .ok()?;
        names.sort();
        for name in names {
            fingerprint(&path.join(name), depth - 1, hasher, budget)?;
        }
    }
    Some(())
}
