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
    /// cache (first source wins for a file name), in that order. Cached for
    /// the life of the client.
    pub fn candidates(&self, project: &PackageName) -> Result<Vec<DistFile>> {
        if let Some(hit) = self
            .memo
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(project)
        {
            return Ok(hit.as_ref().clone());
        }
        let mut found = Found {
            project,
            files: Vec::new(),
            seen: HashSet::new(),
        };
        let not_found_on = self.index_links(project, &mut found)?;
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
        self.memo
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(project.clone(), Arc::new(files.clone()));
        Ok(files)
    }

    /// The project's files on the index; returns the index's name when it
    /// has no page for the project.
    fn index_links(&self, project: &PackageName, found: &mut Found) -> Result<Option<String>> {
        match &self.index {
            Some(IndexLocation::Remote(base)) if !self.options.offline => {
                let url = format!("{base}{}/", project.as_str());
                if !self.allowed(&url) {
                    return Err(Error::HostNotAllowed { url: redact(base) });
                }
                if self.index_unreachable.load(Ordering::SeqCst) {
                    return Ok(None);
                }
                let page = match self.http.page(&url, SIMPLE_ACCEPT) {
                    Ok(Some(page)) => page,
                    Ok(None) => return Ok(Some(redact(base))),
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
