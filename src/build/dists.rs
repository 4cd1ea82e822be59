//! Distributions into the store: the resolver's view of the index and the
//! store, and realising a resolution as store objects.
//!
//! [`IndexProvider`] answers the resolver from the index (compatible
//! wheels, and sdists of versions that have no compatible wheel, grouped
//! by version; a compatible wheel always wins over the sdist), from the
//! store (distributions already installed, which is what `newest = false`
//! and offline mode reuse) and from local projects ([`LocalDist`]: develop
//! eggs, which hide every index version of their name, as zc.buildout's
//! develop eggs win). [`realise`] turns each resolved version into its
//! store object: the address is the digest of the wheel's sha256, the
//! installer (with or without bytecode: `compile-bytecode`) and the
//! interpreter's cache tag (left out only for pure wheels without
//! bytecode), so a distribution already in the store costs one database
//! lookup. Missing wheels go through one pipeline (`install_wheels`):
//! parallel downloads, each unpacked as it arrives, its bytecode compiled
//! by one pool of Python workers while later wheels are still unpacking,
//! each tree hashed when complete, then all of them added in one batch
//! ([`crate::store::Store::add_batch`]). An object's origin records the
//! file's URL and sha256, which lets the store-only attempt of `-N` take
//! only objects this run would make, and `store verify --repair` make a
//! damaged one again ([`rebuild_dist`]).
//!
//! Sdists ([`super::sdist`]): their metadata is `PKG-INFO` when it can be
//! trusted (read from the downloaded sdist, which the build needs anyway),
//! else the metadata of the built wheel. The build runs in an isolated
//! environment made of store objects: `[build-system] requires` and then
//! `get_requires_for_build_wheel` are resolved with the buildout's rules
//! ([`build_environment`]) and installed like any distribution. The built
//! wheel is an `artifact` object addressed by the sdist's sha256, the
//! interpreter's cache tag and [`BUILDER`], so an sdist is built once per
//! interpreter; the installed distribution is addressed by the same sdist
//! hash and interpreter (a built wheel's own bytes are not reproducible).

use super::wheel;
use crate::index::{self, DistFile};
use crate::profile::manifest::DistEntry;
use crate::python::filename::SdistFilename;
use crate::python::{DistFilename, Facts, PackageName, Requirement, Tags, WheelFilename};
use crate::resolve::{self, Candidate, Dependencies, ProviderError, Resolution};
use crate::store::{self, Kind, NewObject, Store, StorePath};
use pep440_rs::{Version, VersionSpecifiers};
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::str::FromStr;

/// Installer identity, part of every distribution's address: a change in
/// how wheels are installed gives new objects.
pub const INSTALLER: &str = "buildout-wheel-install-1";
/// [`INSTALLER`] with `compile-bytecode = false`.
pub const INSTALLER_NO_BYTECODE: &str = "buildout-wheel-install-1+no-bytecode";

/// Builder identity, part of a built wheel's address.
pub const BUILDER: &str = "buildout-pep517-1";

/// A distribution error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Index(#[from] index::Error),
    #[error(transparent)]
    Store(#[from] store::Error),
    #[error(transparent)]
    Wheel(#[from] wheel::Error),
    #[error(transparent)]
    Resolve(#[from] resolve::Error),
    #[error(transparent)]
    Sdist(#[from] super::sdist::Error),
    #[error("building `{chain}` needs itself: a cycle in build requirements")]
    BuildCycle { chain: String },
    #[error("the build requirements of `{project}` cannot be resolved: {message}")]
    BuildRequirements { project: String, message: String },
    #[error("no compatible wheel or sdist of `{name} {version}` for this interpreter ({python})")]
    NoWheel {
        name: String,
        version: String,
        python: String,
    },
    #[error("`{name} {version}` has no sdist to build with the part's custom build settings")]
    NoSdist { name: String, version: String },
    #[error("cannot read the metadata of `{path}`: {message}")]
    StoreMetadata { path: String, message: String },
    #[error("cannot {action} `{path}`: {source}")]
    Io {
        action: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What realising distributions needs.
pub struct DistEnv<'a> {
    pub store: &'a Store,
    pub client: &'a index::Client,
    pub facts: &'a Facts,
    pub tags: &'a Tags,
    /// The interpreter (scripts' `#!python`, bytecode, builds).
    pub python: String,
    /// The buildout's resolution rules, also used for build requirements.
    pub options: resolve::Options,
    /// Projects being built (`name version`), outermost first: a build
    /// requirement that needs one of them is a cycle.
    pub building: RefCell<Vec<String>>,
    /// Download progress (a terminal status line, or nothing).
    pub reporter: &'a dyn index::Reporter,
    /// `[buildout] compile-bytecode`: compile `.pyc` files into each
    /// distribution object (default), or leave them to the first import
    /// (into [`Store::bytecode_cache`], see `build::scripts`).
    pub compile_bytecode: bool,
    /// `[buildout] max-unpacked-*`: how much one wheel or sdist may
    /// unpack to.
    pub limits: super::extract::Limits,
}

impl DistEnv<'_> {
    /// The installer identity hashed into distribution addresses: objects
    /// without bytecode are other objects than those with it.
    pub fn installer(&self) -> &'static str {
        if self.compile_bytecode {
            INSTALLER
        } else {
            INSTALLER_NO_BYTECODE
        }
    }

    fn python_version(&self) -> Version {
        Version::from_str(self.facts.markers.python_full_version.trim_end_matches('+'))
            .unwrap_or_else(|_| Version::new([0]))
    }

    /// The cache tag (`cpython-311`) separating non-pure installs.
    pub fn cache_tag(&self) -> String {
        self.facts.cache_tag()
    }
}

/// A distribution already in the store.
#[derive(Debug, Clone)]
struct StoreDist {
    version: Version,
    path: StorePath,
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
    fn fetch(&self, file: &DistFile) -> Result<PathBuf> {
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
        if let Some(meta) = super::sdist::static_metadata(&archive)? {
            return Ok(meta);
        }
        let wheel = built_wheel(self.env, file, &archive, &mut NoProgress)?;
        wheel_metadata(&wheel)
    }

    /// Compatible wheels of `name` by version (empty when the index does not
    /// know the project, or cannot be asked offline).
    fn files(
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
        let files = match self.env.client.candidates(name) {
            Ok(files) => files,
            Err(e) if self.store_dists(name).next().is_some() => {
                let _ = e;
                Vec::new()
            }
            Err(index::Error::ProjectNotFound { .. }) => {
                return Err(ProviderError::NotFound(name.clone()));
            }
            Err(e) => return Err(ProviderError::Other(e.to_string())),
        };
        let mut by_version: BTreeMap<Version, Vec<DistFile>> = BTreeMap::new();
        for f in files {
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
                .push(f);
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
    /// install.
    fn store_dists(&self, name: &PackageName) -> impl Iterator<Item = &StoreDist> {
        self.store
            .get(name)
            .into_iter()
            .flatten()
            .filter(|d| match &d.made_from {
                None => true,
                Some(MadeFrom::Wheel(w, sha)) => {
                    wheel_object_path(self.env, w, sha).is_ok_and(|p| p == d.path)
                }
                Some(MadeFrom::Sdist(name, sha)) => {
                    sdist_object_path(self.env, name, &d.version, sha).is_ok_and(|p| p == d.path)
                }
            })
    }

    fn store_dist(&self, name: &PackageName, version: &Version) -> Option<&StoreDist> {
        self.store_dists(name).find(|d| &d.version == version)
    }

    /// The best file (compatible wheel, else sdist) of `name` `version`.
    pub fn best_file(&self, name: &PackageName, version: &Version) -> Option<DistFile> {
        self.files(name)
            .ok()
            .and_then(|f| f.get(version).and_then(|v| v.first().cloned()))
    }
}

impl resolve::Provider for IndexProvider<'_> {
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

/// `METADATA` of a wheel file.
fn wheel_metadata(wheel: &Path) -> Result<index::Metadata> {
    let bad = |message: String| Error::StoreMetadata {
        path: wheel.display().to_string(),
        message,
    };
    let file = std::fs::File::open(wheel).map_err(|e| Error::Io {
        action: "open".into(),
        path: wheel.to_path_buf(),
        source: e,
    })?;
    let mut zip =
        zip::ZipArchive::new(std::io::BufReader::new(file)).map_err(|e| bad(e.to_string()))?;
    let name = zip
        .file_names()
        .filter_map(|n| n.ok().map(|n| n.to_string()))
        .find(|n| {
            let mut parts = n.split('/');
            parts.next().is_some_and(|t| t.ends_with(".dist-info"))
                && parts.next() == Some("METADATA")
                && parts.next().is_none()
        })
        .ok_or_else(|| bad("no .dist-info/METADATA".into()))?;
    let member = zip.by_name(&name).map_err(|e| bad(e.to_string()))?;
    let bytes = super::extract::read_small(&wheel.display().to_string(), &name, member)
        .map_err(|e| bad(e.to_string()))?;
    index::Metadata::parse(&bytes).map_err(|e| bad(e.0))
}

/// Reads `METADATA` of an installed distribution.
/// The header block of a METADATA file (up to the first empty line): the
/// description after it can be most of the file, and nothing reads it.
fn read_headers(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let mut text = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let n = file.read(&mut chunk)?;
        if n == 0 {
            return Ok(text);
        }
        let from = text.len().saturating_sub(2);
        text.extend_from_slice(&chunk[..n]);
        let tail = &text[from..];
        let blank = [&b"\n\n"[..], &b"\n\r\n"[..]]
            .iter()
            .filter_map(|sep| tail.windows(sep.len()).position(|w| w == *sep))
            .min();
        if let Some(at) = blank {
            text.truncate(from + at + 1);
            return Ok(text);
        }
    }
}

pub fn read_store_metadata(dir: &str) -> Result<index::Metadata> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::Io {
        action: "read".into(),
        path: dir.into(),
        source: e,
    })?;
    for entry in entries.flatten() {
        let name = entry.file_name();
        if name.to_string_lossy().ends_with(".dist-info") {
            let path = entry.path().join("METADATA");
            let bytes = read_headers(&path).map_err(|e| Error::Io {
                action: "read".into(),
                path: path.clone(),
                source: e,
            })?;
            return index::Metadata::parse(&bytes).map_err(|e| Error::StoreMetadata {
                path: path.display().to_string(),
                message: e.0,
            });
        }
    }
    Err(Error::StoreMetadata {
        path: dir.to_string(),
        message: "no .dist-info directory".into(),
    })
}

/// What [`realise`] reports as it goes.
pub trait Progress {
    fn getting(&mut self, name: &str, version: &str);
    fn got(&mut self, name: &str, version: &str);
    /// An sdist (or a local project) is being built.
    fn building(&mut self, _name: &str, _version: &str) {}
}

/// A progress that reports nothing.
pub struct NoProgress;

impl Progress for NoProgress {
    fn getting(&mut self, _: &str, _: &str) {}
    fn got(&mut self, _: &str, _: &str) {}
}

/// Makes every resolved distribution a store object; returns them in the
/// resolution's order.
pub fn realise(
    env: &DistEnv<'_>,
    provider: &IndexProvider<'_>,
    resolution: &Resolution,
    progress: &mut dyn Progress,
) -> Result<Vec<DistEntry>> {
    let dir = env.store.dir_str();
    let mut entries: Vec<Option<DistEntry>> = vec![None; resolution.packages.len()];
    let mut missing: Vec<(usize, DistFile, StorePath)> = Vec::new();
    let mut to_build: Vec<(usize, DistFile, StorePath)> = Vec::new();
    for (i, r) in resolution.packages.iter().enumerate() {
        let entry = |path: &StorePath| DistEntry {
            name: r.project_name.clone(),
            version: r.version.to_string(),
            path: path.to_absolute(dir),
        };
        if let Some(local) = provider.local.get(&r.name) {
            entries[i] = Some(entry(&local.path));
            continue;
        }
        let file = provider.best_file(&r.name, &r.version);
        if let Some(f) = file.as_ref().filter(|f| !f.filename.is_wheel()) {
            let path = sdist_dist_path(env, f)?;
            if env.store.root_and_check(&path)? {
                entries[i] = Some(entry(&path));
            } else {
                to_build.push((i, f.clone(), path));
            }
            continue;
        }
        let address = file.as_ref().and_then(|f| dist_path(env, f).ok());
        match (address, provider.store_dist(&r.name, &r.version)) {
            (Some(path), _) if env.store.root_and_check(&path)? => entries[i] = Some(entry(&path)),
            (Some(path), _) => missing.push((i, file.expect("address from a file"), path)),
            (None, Some(d)) if env.store.root_and_check(&d.path)? => {
                entries[i] = Some(entry(&d.path));
            }
            (None, _) => {
                return Err(Error::NoWheel {
                    name: r.project_name.clone(),
                    version: r.version.to_string(),
                    python: env.python.clone(),
                });
            }
        }
    }
    if !missing.is_empty() {
        let staging = store_scratch(env.store)?;
        for (i, _, _) in &missing {
            let r = &resolution.packages[*i];
            progress.getting(&r.project_name, &r.version.to_string());
        }
        let wheels = missing;
        let trees = install_wheels(env, staging.path(), &wheels)?;
        let batch: Vec<store::Prepared> = wheels
            .iter()
            .zip(trees)
            .map(|((_, file, path), tree)| {
                let mut object = NewObject::known(path.clone(), Kind::Dist);
                object.origin = Some(origin(file)?);
                Ok(store::Prepared { object, tree })
            })
            .collect::<Result<_>>()?;
        env.store.add_batch(&batch)?;
        for (i, _, path) in wheels {
            let r = &resolution.packages[i];
            progress.got(&r.project_name, &r.version.to_string());
            entries[i] = Some(DistEntry {
                name: r.project_name.clone(),
                version: r.version.to_string(),
                path: path.to_absolute(dir),
            });
        }
    }
    for (i, file, path) in to_build {
        let r = &resolution.packages[i];
        progress.getting(&r.project_name, &r.version.to_string());
        let archive = provider.fetch(&file)?;
        let wheel = built_wheel(env, &file, &archive, progress)?;
        let mut obj = NewObject::known(path.clone(), Kind::Dist);
        obj.origin = Some(origin(&file)?);
        install_wheel(env, &obj, &wheel)?;
        progress.got(&r.project_name, &r.version.to_string());
        entries[i] = Some(DistEntry {
            name: r.project_name.clone(),
            version: r.version.to_string(),
            path: path.to_absolute(dir),
        });
    }
    Ok(entries.into_iter().flatten().collect())
}

/// Downloads wheels (or finds them locally), unpacks each into
/// `base/tree-<k>` and compiles their bytecode, as a pipeline: the
/// downloads run in parallel and hand each finished file to one unpacking
/// thread per core, which hands each tree to the bytecode compiler (whose
/// worker processes compile while later wheels are still arriving), and one
/// thread canonicalises and hashes each tree as soon as its bytecode is
/// complete. On error, the error of the first failing wheel (in `wheels`
/// order) is returned.
fn install_wheels(
    env: &DistEnv<'_>,
    base: &Path,
    wheels: &[(usize, DistFile, StorePath)],
) -> Result<Vec<store::HashedTree>> {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicBool, Ordering};
    let (store, python, limits) = (env.store, env.python.as_str(), env.limits);
    let dir = store.dir_str();
    let compiler = if env.compile_bytecode {
        Some(wheel::Compiler::start(python)?)
    } else {
        None
    };
    let files: Vec<DistFile> = wheels.iter().map(|(_, f, _)| f.clone()).collect();
    let (arrived, queue) = std::sync::mpsc::channel::<(usize, PathBuf)>();
    let queue = Mutex::new(queue);
    let stop = AtomicBool::new(false);
    let failed: Mutex<Vec<(usize, Error)>> = Mutex::new(Vec::new());
    let hashed: Vec<Mutex<Option<store::HashedTree>>> =
        wheels.iter().map(|_| Mutex::new(None)).collect();
    let tree = |k: usize| base.join(format!("tree-{k}"));
    let fail = |k: usize, e: Error| {
        failed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((k, e));
    };
    // Without bytecode, each unpacker hashes its own trees.
    let compile = |k: usize, tree: &Path, dfile: &str| -> Result<()> {
        if let Some(compiler) = &compiler {
            compiler.submit(k, tree, dfile)?;
        } else {
            let h = store.hash_tree(tree.to_path_buf())?;
            *hashed[k].lock().unwrap_or_else(|e| e.into_inner()) = Some(h);
        }
        Ok(())
    };
    std::thread::scope(|scope| {
        let hasher = scope.spawn(|| {
            let Some(compiler) = &compiler else { return };
            loop {
                match compiler.next_done() {
                    Ok(Some(k)) if k < wheels.len() => match store.hash_tree(tree(k)) {
                        Ok(h) => *hashed[k].lock().unwrap_or_else(|e| e.into_inner()) = Some(h),
                        Err(e) => fail(k, e.into()),
                    },
                    Ok(_) => break,
                    Err(e) => {
                        fail(usize::MAX, e.into());
                        break;
                    }
                }
            }
        });
        // Downloaded (or local) files arrive on a channel in the order they
        // finish; the unpackers share its receiving end.
        let downloader = scope.spawn(|| {
            let arrived = Mutex::new(arrived);
            env.client
                .download_each(&files, base, env.reporter, &|k, result| match result {
                    Ok(file) if !stop.load(Ordering::Relaxed) => {
                        let _ = arrived
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .send((k, file));
                    }
                    Ok(_) => {}
                    Err(e) => {
                        fail(k, e.into());
                        stop.store(true, Ordering::Relaxed);
                    }
                });
        });
        let workers = std::thread::available_parallelism().map_or(2, usize::from);
        let unpackers: Vec<_> = (0..workers.min(wheels.len()))
            .map(|_| {
                scope.spawn(|| {
                    loop {
                        let next = queue.lock().unwrap_or_else(|e| e.into_inner()).recv();
                        let Ok((k, wheel_path)) = next else { break };
                        if stop.load(Ordering::Relaxed) {
                            continue; // drain: a wheel failed
                        }
                        let path = &wheels[k].2;
                        let done = wheel::install(&wheel_path, &tree(k), Some(python), limits)
                            .map_err(Error::from)
                            .and_then(|_| compile(k, &tree(k), &path.to_absolute(dir)));
                        if let Err(e) = done {
                            fail(k, e);
                            stop.store(true, Ordering::Relaxed);
                        }
                    }
                })
            })
            .collect();
        let _ = downloader.join();
        for u in unpackers {
            let _ = u.join();
        }
        if let Some(compiler) = &compiler {
            compiler.close();
        }
        let _ = hasher.join();
    });
    let finished = compiler.map_or(Ok(()), wheel::Compiler::finish);
    let mut failed = failed.into_inner().unwrap_or_else(|e| e.into_inner());
    failed.sort_by_key(|(k, _)| *k);
    // A wheel's own error first; then the compiler's exit (whose stderr
    // says why it stopped, where writing to it only saw a broken pipe).
    let compiling = |e: &Error| matches!(e, Error::Wheel(wheel::Error::Compile { .. }));
    if let Some(i) = failed.iter().position(|(_, e)| !compiling(e)) {
        return Err(failed.swap_remove(i).1);
    }
    finished?;
    if let Some((_, e)) = failed.into_iter().next() {
        return Err(e);
    }
    hashed
        .into_iter()
        .enumerate()
        .map(|(k, h)| {
            h.into_inner()
                .unwrap_or_else(|e| e.into_inner())
                .ok_or_else(|| {
                    Error::Wheel(wheel::Error::Compile {
                        python: env.python.clone(),
                        message: format!(
                            "the compiler stopped before finishing `{}`",
                            wheels[k].1.filename
                        ),
                    })
                })
        })
        .collect()
}

/// Installs `wheel` as the store object `obj`.
pub fn install_wheel(env: &DistEnv<'_>, obj: &NewObject, wheel: &Path) -> Result<StorePath> {
    let failure: RefCell<Option<wheel::Error>> = RefCell::new(None);
    let final_path = match &obj.address {
        store::Address::Known(p) => p.to_absolute(env.store.dir_str()),
        store::Address::Content { .. } => String::new(),
    };
    let added = env.store.add(obj, |out| {
        wheel::install(wheel, out, Some(&env.python), env.limits)
            .map(|_| ())
            .and_then(|()| {
                if env.compile_bytecode {
                    wheel::compile_trees(&env.python, &[(out.to_path_buf(), final_path.clone())])
                } else {
                    Ok(())
                }
            })
            .map_err(|e| {
                let message = e.to_string();
                *failure.borrow_mut() = Some(e);
                store::Error::Build(message)
            })
    });
    match added {
        Ok(a) => Ok(a.path),
        Err(e) => Err(match failure.into_inner() {
            Some(w) => Error::Wheel(w),
            None => Error::Store(e),
        }),
    }
}

/// The sha256 of `file` (from the index, else the local file, else its URL).
fn file_sha256(file: &DistFile) -> Result<String> {
    Ok(match file.sha256() {
        Some(s) => s.to_string(),
        None => match file.local_path() {
            Some(p) => local_sha256(&p)?,
            None => file.url.clone(),
        },
    })
}

fn output_path(env: &DistEnv<'_>, name: &str, key: &serde_json::Value) -> Result<StorePath> {
    let digest = store::path::sha256(key.to_string().as_bytes());
    Ok(
        store::path::output_path(name, "out", &digest, env.store.dir_str())
            .map_err(store::Error::from)?,
    )
}

/// The store address of the distribution installed from an sdist.
fn sdist_dist_path(env: &DistEnv<'_>, file: &DistFile) -> Result<StorePath> {
    let f = &file.filename;
    sdist_object_path(env, f.name(), f.version(), &file_sha256(file)?)
}

/// The address of the distribution built from the sdist whose sha256 is
/// `sha` (see [`origin`]).
fn sdist_object_path(
    env: &DistEnv<'_>,
    name: &PackageName,
    version: &Version,
    sha: &str,
) -> Result<StorePath> {
    let key = serde_json::json!({
        "sdist": sha,
        "builder": BUILDER,
        "installer": env.installer(),
        "interpreter": env.cache_tag(),
    });
    output_path(env, &format!("{}-{}", name.as_str(), version), &key)
}

/// A distribution object's origin: the file's URL with the sha256 its
/// address was computed from (`#sha256=`, as on a simple page), so that a
/// later run can tell whether the object is exactly what it would install
/// now ([`IndexProvider::new`]).
fn origin(file: &DistFile) -> Result<String> {
    // Credentials never reach the store's database (the fetch gets them
    // from the index options or ~/.netrc again).
    let url = crate::index::redact(file.url.split('#').next().unwrap_or_default());
    let sha = file_sha256(file)?;
    if sha == file.url {
        return Ok(url);
    }
    Ok(format!("{url}#sha256={sha}"))
}

/// Splits an origin into its file name and the sha256 it records (none for
/// objects registered before origins carried it).
fn split_origin(origin: &str) -> (&str, Option<&str>) {
    let (url, fragment) = origin.split_once('#').unwrap_or((origin, ""));
    let filename = url.rsplit('/').next().unwrap_or_default();
    (filename, fragment.strip_prefix("sha256="))
}

/// The built wheel of an sdist (an `artifact` object holding one `.whl`):
/// reused when the store has it, else built.
pub fn built_wheel(
    env: &DistEnv<'_>,
    file: &DistFile,
    archive: &Path,
    progress: &mut dyn Progress,
) -> Result<PathBuf> {
    let key = serde_json::json!({
        "sdist": file_sha256(file)?,
        "builder": BUILDER,
        "interpreter": env.cache_tag(),
    });
    let f = &file.filename;
    let label = format!("{} {}", f.name().as_str(), f.version());
    let path = output_path(
        env,
        &format!("{}-{}-wheel", f.name().as_str(), f.version()),
        &key,
    )?;
    let abs = PathBuf::from(path.to_absolute(env.store.dir_str()));
    if !env.store.root_and_check(&path)? {
        if env.building.borrow().contains(&label) {
            let mut chain = env.building.borrow().clone();
            chain.push(label);
            return Err(Error::BuildCycle {
                chain: chain.join(" -> "),
            });
        }
        progress.building(f.name().as_str(), &f.version().to_string());
        env.building.borrow_mut().push(label.clone());
        let built = build_sdist_wheel(env, &label, archive, &[], progress);
        env.building.borrow_mut().pop();
        let (_tmp, wheel) = built?;
        let mut obj = NewObject::known(path.clone(), Kind::Artifact);
        obj.origin = Some(origin(file)?);
        let name = wheel
            .file_name()
            .map(std::ffi::OsStr::to_os_string)
            .unwrap_or_default();
        env.store.add(&obj, |out| {
            std::fs::create_dir(out).map_err(store::fsutil::err("create", out))?;
            std::fs::copy(&wheel, out.join(&name))
                .map(|_| ())
                .map_err(store::fsutil::err("copy", &wheel))
        })?;
    }
    let found = std::fs::read_dir(&abs)
        .map_err(|e| Error::Io {
            action: "read".into(),
            path: abs.clone(),
            source: e,
        })?
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "whl"));
    found.ok_or_else(|| Error::StoreMetadata {
        path: abs.display().to_string(),
        message: "no built wheel".into(),
    })
}

/// A working directory inside the store's staging area (same file system,
/// so what is prepared there can be renamed into place), locked while in
/// use and removed when dropped; after a crash, `gc` removes it (it is no
/// longer locked).
pub fn store_scratch(store: &Store) -> Result<store::lock::Stage> {
    Ok(store::lock::Stage::new(&store.dir().join(".staging"))?)
}

/// Unpacks and builds an sdist; returns the temporary directory and the
/// wheel in it.
fn build_sdist_wheel(
    env: &DistEnv<'_>,
    label: &str,
    archive: &Path,
    extra_env: &[(String, String)],
    progress: &mut dyn Progress,
) -> Result<(store::lock::Stage, PathBuf)> {
    let tmp = store_scratch(env.store)?;
    let src = super::sdist::unpack(archive, &tmp.path().join("src"), env.limits)?;
    let wheel = build_tree(
        env,
        label,
        &src,
        "wheel",
        extra_env,
        progress,
        &tmp.path().join("dist"),
    )?;
    Ok((tmp, wheel))
}

/// Builds the source tree `src` with its PEP 517 backend (`kind`: `wheel`
/// or `editable`) into `out_dir`; `extra_env` is passed to the backend.
pub fn build_tree(
    env: &DistEnv<'_>,
    label: &str,
    src: &Path,
    kind: &str,
    extra_env: &[(String, String)],
    progress: &mut dyn Progress,
    out_dir: &Path,
) -> Result<PathBuf> {
    let system = super::sdist::BuildSystem::read(src)?;
    let mut paths = build_environment(env, label, &system.requires, progress)?;
    let mut backend = super::sdist::Backend {
        project: label.to_string(),
        python: &env.python,
        src,
        system: &system,
        paths: paths.clone(),
        env: extra_env.to_vec(),
    };
    let more = backend.get_requires(kind)?;
    if !more.is_empty() {
        let mut all = system.requires.clone();
        all.extend(more);
        paths = build_environment(env, label, &all, progress)?;
        backend.paths = paths;
    }
    std::fs::create_dir_all(out_dir).map_err(|e| Error::Io {
        action: "create".into(),
        path: out_dir.to_path_buf(),
        source: e,
    })?;
    Ok(backend.build(kind, out_dir)?)
}

/// Resolves and installs build requirements; returns their store
/// directories in resolution order.
pub fn build_environment(
    env: &DistEnv<'_>,
    project: &str,
    requires: &[String],
    progress: &mut dyn Progress,
) -> Result<Vec<PathBuf>> {
    if requires.is_empty() {
        return Ok(Vec::new());
    }
    let failed = |message: String| Error::BuildRequirements {
        project: project.to_string(),
        message,
    };
    let reqs = requires
        .iter()
        .map(|r| Requirement::from_str(r).map_err(|e| failed(format!("`{r}`: {e}"))))
        .collect::<Result<Vec<_>>>()?;
    let provider = IndexProvider::new(env)?;
    let resolution = resolve::resolve(&reqs, &provider, &env.options).map_err(|e| {
        let mut text = e.to_string();
        for line in e.explanation() {
            text.push('\n');
            text.push_str(line);
        }
        failed(text)
    })?;
    let entries = realise(env, &provider, &resolution, progress)?;
    Ok(entries.into_iter().map(|e| PathBuf::from(e.path)).collect())
}

/// The store address of the installed form of `file`.
fn dist_path(env: &DistEnv<'_>, file: &DistFile) -> Result<StorePath> {
    let DistFilename::Wheel(w) = &file.filename else {
        return Err(Error::NoWheel {
            name: file.filename.name().to_string(),
            version: file.filename.version().to_string(),
            python: env.python.clone(),
        });
    };
    wheel_object_path(env, w, &file_sha256(file)?)
}

/// The address of the install of wheel `w` whose sha256 is `sha` (without
/// one from the index, the URL, which then names the content). A pure
/// wheel without bytecode serves every interpreter; with bytecode, each
/// cache tag gets its own object (`.pyc` files are per Python version, and
/// one compiled for 3.11 would make 3.12 compile in memory at every start).
/// `buildout store optimise` shares their identical files.
fn wheel_object_path(env: &DistEnv<'_>, w: &WheelFilename, sha: &str) -> Result<StorePath> {
    wheel_address(env.store, env.compile_bytecode, &env.cache_tag(), w, sha)
}

/// [`wheel_object_path`] from its parts: the store, the bytecode setting,
/// the interpreter's cache tag (`cpython-311`).
fn wheel_address(
    store: &Store,
    compile_bytecode: bool,
    cache_tag: &str,
    w: &WheelFilename,
    sha: &str,
) -> Result<StorePath> {
    let pure = w.abi.iter().all(|a| a == "none") && w.platform.iter().all(|p| p == "any");
    let key = serde_json::json!({
        "wheel": sha,
        "installer": if compile_bytecode { INSTALLER } else { INSTALLER_NO_BYTECODE },
        "interpreter": if pure && !compile_bytecode { "" } else { cache_tag },
    });
    let digest = store::path::sha256(key.to_string().as_bytes());
    let name = format!("{}-{}", w.name.as_str(), w.version);
    Ok(
        store::path::output_path(&name, "out", &digest, store.dir_str())
            .map_err(store::Error::from)?,
    )
}

/// Makes a distribution object again for `store verify --repair`: the
/// wheel named by its origin (`<url>#sha256=<hex>`) is fetched and checked,
/// the interpreter and bytecode setting are the ones whose address is the
/// object's path (among the interpreters probed before, and `python3`),
/// and the tree is installed and compiled exactly as an install does. The
/// store compares the result's hash with the recorded one.
pub fn rebuild_dist(
    store: &Store,
    client: &index::Client,
    obj: &store::ObjectInfo,
) -> std::result::Result<store::HashedTree, String> {
    let origin = obj
        .origin
        .as_deref()
        .ok_or("no origin is recorded, so there is nothing to fetch it from")?;
    let (filename, sha) = split_origin(origin);
    let sha = sha.ok_or("its origin records no sha256 (registered by an older buildout)")?;
    let w = WheelFilename::from_str(filename)
        .map_err(|_| format!("rebuilding from an sdist (`{filename}`) is not implemented yet"))?;
    // Which interpreter and setting made it.
    use crate::python::interpreter;
    let cache = interpreter::default_cache_dir();
    let mut interpreters: Vec<Option<PathBuf>> = vec![None];
    if let Some(dir) = &cache {
        interpreters.extend(interpreter::cached_interpreters(dir).into_iter().map(Some));
    }
    let mut found = None;
    'search: for exe in &interpreters {
        let Ok(facts) = interpreter::probe(exe.as_deref(), cache.as_deref()) else {
            continue;
        };
        let tag = facts.cache_tag();
        for compile in [true, false] {
            if wheel_address(store, compile, &tag, &w, sha).map_err(|e| e.to_string())? == obj.path
            {
                found = Some((facts.executable.clone(), compile));
                break 'search;
            }
        }
    }
    let (python, compile) = found.ok_or(
        "no interpreter on this machine makes this address (the one that installed it is gone)",
    )?;
    let url = origin.split('#').next().unwrap_or_default().to_string();
    let file = DistFile {
        filename: DistFilename::Wheel(w),
        url,
        hashes: [("sha256".to_string(), sha.to_string())].into(),
        requires_python: None,
        yanked: None,
        core_metadata: Default::default(),
        size: None,
        upload_time: None,
        source: index::Source::Index,
    };
    let work = store_scratch(store).map_err(|e| e.to_string())?;
    let wheel = client
        .download(&file, work.path(), &index::NoReporter)
        .map_err(|e| e.to_string())?;
    let tree = work.path().join("tree");
    wheel::install(&wheel, &tree, Some(&python), Default::default()).map_err(|e| e.to_string())?;
    if compile {
        wheel::compile_trees(
            &python,
            &[(tree.clone(), obj.path.to_absolute(store.dir_str()))],
        )
        .map_err(|e| e.to_string())?;
    }
    // The tree stays in its locked working directory until it is in place.
    store.hash_tree_in(work, tree).map_err(|e| e.to_string())
}

/// The sha256 of a local file (a find-links or download-cache wheel the
/// index gave no hash for). Remembered across runs in
/// `~/.buildout/cache/file-hashes.json`, keyed by path, size, modification
/// time and inode, so a warm run does not read every wheel again.
fn local_sha256(path: &Path) -> Result<String> {
    use sha2::{Digest, Sha256};
    use std::os::unix::fs::MetadataExt;
    static CACHE: std::sync::Mutex<Option<HashMap<String, String>>> = std::sync::Mutex::new(None);
    let cache_file = crate::env::home_dir().map(|h| h.join(".buildout/cache/file-hashes.json"));
    let io = |e: std::io::Error| Error::Io {
        action: "read".into(),
        path: path.to_path_buf(),
        source: e,
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    let key = format!(
        "{}\0{}\0{}\0{}",
        path.display(),
        meta.len(),
        meta.mtime_nsec() + meta.mtime() * 1_000_000_000,
        meta.ino()
    );
    let mut guard = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    let cache = guard.get_or_insert_with(|| {
        cache_file
            .as_ref()
            .and_then(|f| std::fs::read(f).ok())
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    });
    if let Some(hit) = cache.get(&key) {
        return Ok(hit.clone());
    }
    let bytes = std::fs::read(path).map_err(io)?;
    let digest: String = Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    cache.insert(key, digest.clone());
    if let Some(file) = &cache_file
        && let Some(dir) = file.parent()
        && std::fs::create_dir_all(dir).is_ok()
    {
        // Best effort: the cache only saves time.
        let tmp = file.with_extension(format!("tmp{}", std::process::id()));
        if std::fs::write(&tmp, serde_json::to_vec(&*cache).unwrap_or_default()).is_ok() {
            let _ = std::fs::rename(&tmp, file);
        }
    }
    Ok(digest)
}

/// Builds `requirement`'s distribution from its sdist with `extra_env` in
/// the build's environment (`zc.recipe.egg:custom`): the version comes from
/// the resolver (so `[versions]` applies), the object's address includes
/// the environment, and the result is returned as a local distribution
/// that wins over index versions for the parts after it.
pub fn custom_build(
    env: &DistEnv<'_>,
    provider: &IndexProvider<'_>,
    requirement: &Requirement,
    extra_env: &[(String, String)],
    progress: &mut dyn Progress,
) -> Result<LocalDist> {
    let resolution = resolve::resolve(std::slice::from_ref(requirement), provider, &env.options)?;
    let target = resolution
        .packages
        .iter()
        .find(|p| p.name == requirement.name)
        .ok_or_else(|| Error::NoSdist {
            name: requirement.name.to_string(),
            version: String::new(),
        })?;
    let sdist = provider
        .files(&target.name)
        .ok()
        .and_then(|f| {
            f.get(&target.version).and_then(|files| {
                files
                    .iter()
                    .find(|f| matches!(f.filename, DistFilename::Sdist(_)))
                    .cloned()
            })
        })
        .ok_or_else(|| Error::NoSdist {
            name: target.project_name.clone(),
            version: target.version.to_string(),
        })?;
    let key = serde_json::json!({
        "sdist": file_sha256(&sdist)?,
        "builder": BUILDER,
        "installer": env.installer(),
        "interpreter": env.cache_tag(),
        "custom-environment": extra_env,
    });
    let name = format!("{}-{}-custom", target.name.as_str(), target.version);
    let path = output_path(env, &name, &key)?;
    if !env.store.root_and_check(&path)? {
        progress.building(&target.project_name, &target.version.to_string());
        let archive = provider.fetch(&sdist)?;
        let label = format!("{} {}", target.name.as_str(), target.version);
        let (_tmp, wheel) = build_sdist_wheel(env, &label, &archive, extra_env, progress)?;
        let mut obj = NewObject::known(path.clone(), Kind::Dist);
        obj.origin = Some(origin(&sdist)?);
        install_wheel(env, &obj, &wheel)?;
    }
    let metadata = read_store_metadata(&path.to_absolute(env.store.dir_str()))?;
    Ok(LocalDist {
        name: target.name.clone(),
        project_name: target.project_name.clone(),
        version: target.version.clone(),
        metadata,
        path,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_metadata_is_read_up_to_the_description() {
        let dir = tempfile::tempdir().unwrap();
        let info = dir.path().join("demo-1.0.dist-info");
        std::fs::create_dir(&info).unwrap();
        let body = "x".repeat(20_000);
        std::fs::write(
            info.join("METADATA"),
            format!("Metadata-Version: 2.1\r\nName: demo\r\nVersion: 1.0\r\nRequires-Dist: dep>=1\r\n\r\nName: not-a-header\n{body}"),
        )
        .unwrap();
        let headers = read_headers(&info.join("METADATA")).unwrap();
        assert!(headers.ends_with(b"dep>=1\r\n"), "{}", headers.len());
        let meta = read_store_metadata(dir.path().to_str().unwrap()).unwrap();
        assert_eq!(meta.name.as_str(), "demo");
        assert_eq!(meta.requires_dist, ["dep>=1"]);
        // Without a description: the whole file.
        std::fs::write(info.join("METADATA"), "Name: demo\nVersion: 2.0").unwrap();
        let meta = read_store_metadata(dir.path().to_str().unwrap()).unwrap();
        assert_eq!(meta.version.to_string(), "2.0");
    }
}
