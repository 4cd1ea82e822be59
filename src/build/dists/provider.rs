//! The resolver's view of distributions ([`IndexProvider`]): compatible
//! files from the index grouped by version, distributions already in the
//! store that are exactly what this run would install, and local projects
//! ([`LocalDist`]) that hide every other version of their name. Metadata
//! comes from the store object, the index, or an sdist (its trusted
//! `PKG-INFO`, else its built wheel).

use super::address::{sdist_dist_path, sdist_object_path, split_origin, wheel_object_path};
use super::metadata::{read_store_metadata, wheel_metadata};
use super::sdist_build::built_wheel;
use super::{DistEnv, Error, NoProgress, Result, store_scratch};
use crate::index::{self, DistFile};
use crate::python::filename::SdistFilename;
use crate::python::{DistFilename, PackageName, Requirement, WheelFilename};
use crate::resolve::{self, Candidate, Dependencies, ProviderError};
use crate::store::{self, Kind, StorePath};
use pep440_rs::{Version, VersionSpecifiers};
use std::cell::{OnceCell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::rc::Rc;
use std::str::FromStr;
use std::sync::Arc;

/// A distribution already in the store.
#[derive(Debug, Clone)]
pub(super) struct StoreDist {
    version: Version,
    pub(super) path: StorePath,
    /// What its origin says it was made from (`None`: registered before
    /// origins recorded the sha256).
    made_from: Option<MadeFrom>,
}

/// The file a distribution object was installed from, with its sha256.
#[derive(Debug, Clone)]
enum MadeFrom {
    Wheel(WheelFilename, String),
    Sdist(PackageName, String),
}

/// A distribution built from a local project (a develop egg): it is the
/// only candidate of its name.
#[derive(Debug, Clone)]
pub struct LocalDist {
    pub name: PackageName,
    /// The name as the project spells it.
    pub project_name: String,
    pub version: Version,
    pub metadata: index::Metadata,
    /// Its store object.
    pub path: StorePath,
}

/// Compatible files of one project, by version (best first: wheels by tag
/// priority, then the sdist).
type FilesByVersion = Rc<BTreeMap<Version, Vec<DistFile>>>;

/// The resolver's view of the index and the store.
pub struct IndexProvider<'a> {
    env: &'a DistEnv<'a>,
    files: RefCell<HashMap<PackageName, FilesByVersion>>,
    store: HashMap<PackageName, Vec<StoreDist>>,
    /// Answer from the store alone (no index access at all).
    store_only: bool,
    local: HashMap<PackageName, LocalDist>,
    /// Downloaded sdists (by URL), kept for the build.
    sdists: RefCell<HashMap<String, PathBuf>>,
    staging: RefCell<Option<store::lock::Stage>>,
    /// The store object each distribution of a kept resolution was
    /// realised as ([`super::reuse`]).
    known: RefCell<HashMap<PackageName, (Version, StorePath)>>,
    /// Which of [`Self::store`]'s objects of a name are usable (see
    /// [`Self::store_dists`]).
    usable: RefCell<HashMap<PackageName, Vec<bool>>>,
    /// The resolver's rules for the index client's prefetch workers.
    speculation: OnceCell<Arc<dyn index::prefetch::Speculator>>,
}

impl<'a> IndexProvider<'a> {
    pub fn new(env: &'a DistEnv<'a>) -> Result<Self> {
        let mut by_name: HashMap<PackageName, Vec<StoreDist>> = HashMap::new();
        for (path, origin) in env.store.list_kind(Kind::Dist)? {
            // The origin is the wheel's URL: its file name says what it is
            // and for which interpreters.
            let Some(origin) = origin else { continue };
            // `zc.recipe.egg:custom` builds carry their part's build
            // settings: only the part that asked for them may use them.
            if path.name().ends_with("-custom") {
                continue;
            }
            // With the sha256 its address came from, an object is usable
            // only if it is exactly what this run would install (same
            // interpreter, same bytecode setting, same installer); that is
            // checked when its name is asked for ([`Self::store_dists`]).
            let (filename, sha) = split_origin(&origin);
            let Ok(wheel) = WheelFilename::from_str(filename) else {
                // Built from an sdist: usable when built for this interpreter.
                if let Ok(sdist) = SdistFilename::parse(filename, None)
                    && (sha.is_some() || built_here(env, &path))
                {
                    by_name
                        .entry(sdist.name.clone())
                        .or_default()
                        .push(StoreDist {
                            version: sdist.version.clone(),
                            path,
                            made_from: sha.map(|sha| MadeFrom::Sdist(sdist.name, sha.to_string())),
                        });
                }
                continue;
            };
            if wheel.compatibility(env.tags).is_none() {
                continue;
            }
            by_name
                .entry(wheel.name.clone())
                .or_default()
                .push(StoreDist {
                    version: wheel.version.clone(),
                    path,
                    made_from: sha.map(|sha| MadeFrom::Wheel(wheel, sha.to_string())),
                });
        }
        Ok(Self {
            env,
            files: RefCell::new(HashMap::new()),
            store: by_name,
            store_only: false,
            local: HashMap::new(),
            sdists: RefCell::new(HashMap::new()),
            staging: RefCell::new(None),
            known: RefCell::new(HashMap::new()),
            usable: RefCell::new(HashMap::new()),
            speculation: OnceCell::new(),
        })
    }

    /// A provider that sees only what the store already has: `-N` tries it
    /// first, so a run whose distributions are all in the store never
    /// touches the index.
    #[must_use]
    pub fn store_only(mut self) -> Self {
        self.store_only = true;
        self
    }

    /// Adds local distributions (develop eggs): each hides every other
    /// version of its name.
    pub fn with_local(mut self, dists: impl IntoIterator<Item = LocalDist>) -> Self {
        for d in dists {
            self.local.insert(d.name.clone(), d);
        }
        self
    }

    /// A local copy of `file` (sdists are kept for their build).
    pub(super) fn fetch(&self, file: &DistFile) -> Result<PathBuf> {
        if let Some(p) = self.sdists.borrow().get(&file.url) {
            return Ok(p.clone());
        }
        let dir = {
            let mut staging = self.staging.borrow_mut();
            if staging.is_none() {
                *staging = Some(store_scratch(self.env.store)?);
            }
            staging
                .as_ref()
                .map(|t| t.path().to_path_buf())
                .unwrap_or_default()
        };
        let path = self.env.client.download(file, &dir, self.env.reporter)?;
        self.sdists
            .borrow_mut()
            .insert(file.url.clone(), path.clone());
        Ok(path)
    }

    /// The metadata of an sdist: from its installed form, its trusted
    /// `PKG-INFO`, or its built wheel.
    fn sdist_metadata(&self, file: &DistFile) -> Result<index::Metadata> {
        let installed = sdist_dist_path(self.env, file)?;
        if self.env.store.root_and_check(&installed)? {
            return read_store_metadata(&installed.to_absolute(self.env.store.dir_str()));
        }
        let archive = self.fetch(file)?;
        if let Some(meta) = crate::build::sdist::static_metadata(&archive)? {
            return Ok(meta);
        }
        let wheel = built_wheel(self.env, file, &archive, &mut NoProgress)?;
        wheel_metadata(&wheel)
    }

    /// Compatible wheels of `name` by version (empty when the index does not
    /// know the project, or cannot be asked offline).
    pub(super) fn files(
        &self,
        name: &PackageName,
    ) -> Result<Rc<BTreeMap<Version, Vec<DistFile>>>, ProviderError> {
        if let Some(hit) = self.files.borrow().get(name) {
            return Ok(Rc::clone(hit));
        }
        if self.store_only {
            return Ok(Rc::new(BTreeMap::new()));
        }
        let python = self.env.python_version();
        self.env.reporter.on_lookup(name.as_str());
        // (requests are reported in flight by the client itself)
        let files = match self.env.client.shared_candidates(name) {
            Ok(files) => files,
            Err(e) if self.store_dists(name).next().is_some() => {
                let _ = e;
                Default::default()
            }
            Err(index::Error::ProjectNotFound { .. }) => {
                return Err(ProviderError::NotFound(name.clone()));
            }
            Err(e) => return Err(ProviderError::Other(e.to_string())),
        };
        let mut by_version: BTreeMap<Version, Vec<DistFile>> = BTreeMap::new();
        for f in files.iter() {
            let usable = match &f.filename {
                DistFilename::Wheel(w) => w.compatibility(self.env.tags).is_some(),
                // Every sdist format is unpacked (`build::sdist`).
                DistFilename::Sdist(_) => true,
            };
            if !usable || !f.requires_python_allows(&python) {
                continue;
            }
            by_version
                .entry(f.filename.version().clone())
                .or_default()
                .push(f.clone());
        }
        for files in by_version.values_mut() {
            files.sort_by_key(|f| match &f.filename {
                DistFilename::Wheel(w) => w.compatibility(self.env.tags).unwrap_or(usize::MAX),
                DistFilename::Sdist(_) => usize::MAX,
            });
        }
        let rc = Rc::new(by_version);
        self.files.borrow_mut().insert(name.clone(), Rc::clone(&rc));
        Ok(rc)
    }

    /// The store's objects of `name` that are exactly what this run would
    /// install (checked once per name: each check hashes an address).
    fn store_dists(&self, name: &PackageName) -> impl Iterator<Item = &StoreDist> {
        let all = self.store.get(name).map(Vec::as_slice).unwrap_or_default();
        let usable = self
            .usable
            .borrow_mut()
            .entry(name.clone())
            .or_insert_with(|| all.iter().map(|d| self.is_usable(d)).collect())
            .clone();
        all.iter()
            .zip(usable)
            .filter_map(|(d, usable)| usable.then_some(d))
    }

    fn is_usable(&self, d: &StoreDist) -> bool {
        match &d.made_from {
            None => true,
            Some(MadeFrom::Wheel(w, sha)) => {
                wheel_object_path(self.env, w, sha).is_ok_and(|p| p == d.path)
            }
            Some(MadeFrom::Sdist(name, sha)) => {
                sdist_object_path(self.env, name, &d.version, sha).is_ok_and(|p| p == d.path)
            }
        }
    }

    pub(super) fn store_dist(&self, name: &PackageName, version: &Version) -> Option<&StoreDist> {
        self.store_dists(name).find(|d| &d.version == version)
    }

    /// Takes the store objects a kept resolution was realised as: [`super::realise`]
    /// uses them (once checked valid) without looking for the files again.
    pub fn know(&self, paths: HashMap<PackageName, (Version, StorePath)>) {
        *self.known.borrow_mut() = paths;
    }

    /// The store object `name` `version` was realised as by the kept
    /// resolution in use, if any.
    pub(super) fn known(&self, name: &PackageName, version: &Version) -> Option<StorePath> {
        self.known
            .borrow()
            .get(name)
            .filter(|(v, _)| v == version)
            .map(|(_, p)| p.clone())
    }

    /// Whether this provider answers from the store alone.
    pub(super) fn is_store_only(&self) -> bool {
        self.store_only
    }

    /// What this provider knows before any question (the store's
    /// distribution objects, the local projects and their metadata), as
    /// text for a digest ([`super::reuse`]).
    pub(super) fn fingerprint(&self) -> String {
        let mut lines: Vec<String> = Vec::new();
        for dists in self.store.values() {
            for d in dists {
                lines.push(format!("store {} {:?}", d.path, d.made_from));
            }
        }
        for l in self.local.values() {
            lines.push(format!("local {} {:?}", l.path, l.metadata));
        }
        lines.sort();
        lines.join("\n")
    }

    /// The local distribution (develop egg) of `name`, if there is one.
    pub(super) fn local(&self, name: &PackageName) -> Option<&LocalDist> {
        self.local.get(name)
    }

    /// The best file (compatible wheel, else sdist) of `name` `version`.
    pub(super) fn best_file(&self, name: &PackageName, version: &Version) -> Option<DistFile> {
        self.files(name)
            .ok()
            .and_then(|f| f.get(version).and_then(|v| v.first().cloned()))
    }
}

impl resolve::Provider for IndexProvider<'_> {
    fn is_local(&self, name: &PackageName) -> bool {
        self.local.contains_key(name)
    }

    fn versions(&self, name: &PackageName) -> Result<Vec<Candidate>, ProviderError> {
        if let Some(local) = self.local.get(name) {
            return Ok(vec![Candidate {
                version: local.version.clone(),
                requires_python: None,
                yanked: false,
            }]);
        }
        let files = match self.files(name) {
            Ok(f) => f,
            Err(ProviderError::NotFound(_)) if self.store_dists(name).next().is_some() => {
                Rc::new(BTreeMap::new())
            }
            Err(e) => return Err(e),
        };
        let mut out: Vec<Candidate> = files
            .iter()
            .map(|(version, files)| Candidate {
                version: version.clone(),
                requires_python: files
                    .iter()
                    .find_map(|f| f.requires_python.as_deref())
                    .and_then(|s| VersionSpecifiers::from_str(s).ok()),
                yanked: files.iter().all(DistFile::is_yanked),
            })
            .collect();
        for d in self.store_dists(name) {
            if !out.iter().any(|c| c.version == d.version) {
                out.push(Candidate {
                    version: d.version.clone(),
                    requires_python: None,
                    yanked: false,
                });
            }
        }
        if out.is_empty() {
            return Err(ProviderError::NotFound(name.clone()));
        }
        Ok(out)
    }

    fn metadata(
        &self,
        name: &PackageName,
        version: &Version,
    ) -> Result<Dependencies, ProviderError> {
        let other = |e: Error| ProviderError::Other(e.to_string());
        // A store object is read only once it is rooted and known valid
        // (a concurrent gc may have deleted it since the store was listed:
        // then the index answers, and `realise` installs it again).
        let local = self.local.get(name).filter(|l| &l.version == version);
        let stored = match self.store_dist(name, version).filter(|_| local.is_none()) {
            Some(d)
                if self
                    .env
                    .store
                    .root_and_check(&d.path)
                    .map_err(|e| other(e.into()))? =>
            {
                Some(d)
            }
            _ => None,
        };
        let meta = if let Some(local) = local {
            local.metadata.clone()
        } else if let Some(d) = stored {
            read_store_metadata(&d.path.to_absolute(self.env.store.dir_str())).map_err(other)?
        } else {
            let file = self
                .best_file(name, version)
                .ok_or_else(|| ProviderError::NotFound(name.clone()))?;
            self.env.reporter.on_lookup(name.as_str());
            if file.filename.is_wheel() {
                self.env
                    .client
                    .metadata(&file)
                    .map_err(|e| ProviderError::Other(e.to_string()))?
            } else {
                self.sdist_metadata(&file).map_err(other)?
            }
        };
        let mut requires_dist = Vec::new();
        for r in &meta.requires_dist {
            let req = Requirement::from_str(r).map_err(|e| {
                ProviderError::Other(format!(
                    "`{name} {version}` has an invalid requirement `{r}`: {e}"
                ))
            })?;
            requires_dist.push(req);
        }
        self.env.reporter.on_resolved(name.as_str());
        Ok(Dependencies {
            name: Some(meta.name.original().to_string()),
            requires_dist,
            provides_extra: meta.provides_extra.clone(),
            requires_python: meta
                .requires_python
                .as_deref()
                .and_then(|s| VersionSpecifiers::from_str(s).ok()),
        })
    }

    fn prefetch(&self, requirements: &[Requirement]) {
        if self.store_only {
            return;
        }
        let speculation = self.speculation.get_or_init(|| {
            Arc::new(super::speculate::Speculation {
                tags: self.env.tags.clone(),
                python: self.env.python_version(),
                options: self.env.options.clone(),
                local: self.local.keys().cloned().collect(),
            })
        });
        let wanted = requirements
            .iter()
            .filter(|r| r.url.is_none() && !self.local.contains_key(&r.name))
            .cloned();
        self.env.client.prefetch(wanted, speculation);
    }

    fn installed(&self, name: &PackageName) -> Vec<Version> {
        if let Some(local) = self.local.get(name) {
            return vec![local.version.clone()];
        }
        self.store_dists(name).map(|d| d.version.clone()).collect()
    }
}

/// Whether the sdist-built distribution at `path` was built for `env`'s
/// interpreter (its `WHEEL` tags are compatible).
fn built_here(env: &DistEnv<'_>, path: &StorePath) -> bool {
    let dir = PathBuf::from(path.to_absolute(env.store.dir_str()));
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return false;
    };
    for entry in entries.flatten() {
        if entry.file_name().to_string_lossy().ends_with(".dist-info") {
            let Ok(text) = std::fs::read_to_string(entry.path().join("WHEEL")) else {
                return false;
            };
            return text
                .lines()
                .filter_map(|l| l.strip_prefix("Tag:"))
                .any(|t| {
                    let stem = format!("x-0-{}.whl", t.trim());
                    WheelFilename::from_str(&stem)
                        .is_ok_and(|w| w.compatibility(env.tags).is_some())
                });
        }
    }
    false
}
