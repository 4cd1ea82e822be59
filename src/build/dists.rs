//! Distributions into the store: the resolver's view of the index and the
//! store, and realising a resolution as store objects.
//!
//! [`IndexProvider`] answers the resolver from the index (compatible
//! wheels only, grouped by version) and from the store (distributions
//! already installed, which is what `newest = false` and offline mode
//! reuse). [`realise`] turns each resolved version into its store object:
//! the address is the digest of the wheel's sha256 (plus the interpreter's
//! cache tag for non-pure wheels), so a distribution already in the store
//! costs one database lookup; missing wheels are downloaded in parallel,
//! verified, and installed through the store's write path.

use super::wheel;
use crate::index::{self, DistFile};
use crate::profile::manifest::DistEntry;
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
    #[error(
        "no compatible wheel of `{name} {version}` for this interpreter ({python}); building sdists is not available yet"
    )]
    NoWheel {
        name: String,
        version: String,
        python: String,
    },
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
    /// The interpreter (scripts' `#!python`, bytecode).
    pub python: String,
}

impl DistEnv<'_> {
    fn python_version(&self) -> Version {
        Version::from_str(self.facts.markers.python_full_version.trim_end_matches('+'))
            .unwrap_or_else(|_| Version::new([0]))
    }

    /// The cache tag (`cpython-311`) separating non-pure installs.
    fn cache_tag(&self) -> String {
        format!(
            "{}-{}{}",
            self.facts.implementation_name,
            self.facts.version_info.major,
            self.facts.version_info.minor
        )
    }
}

/// A distribution already in the store.
#[derive(Debug, Clone)]
struct StoreDist {
    version: Version,
    path: StorePath,
}

/// Compatible wheels of one project, by version (best first).
type FilesByVersion = Rc<BTreeMap<Version, Vec<DistFile>>>;

/// The resolver's view of the index and the store.
pub struct IndexProvider<'a> {
    env: &'a DistEnv<'a>,
    files: RefCell<HashMap<PackageName, FilesByVersion>>,
    store: HashMap<PackageName, Vec<StoreDist>>,
    /// Answer from the store alone (no index access at all).
    store_only: bool,
}

impl<'a> IndexProvider<'a> {
    pub fn new(env: &'a DistEnv<'a>) -> Result<Self> {
        let mut by_name: HashMap<PackageName, Vec<StoreDist>> = HashMap::new();
        for (path, origin) in env.store.list_kind(Kind::Dist)? {
            // The origin is the wheel's URL: its file name says what it is
            // and for which interpreters.
            let Some(origin) = origin else { continue };
            let filename = origin.rsplit('/').next().unwrap_or_default();
            let Ok(wheel) = WheelFilename::from_str(filename) else {
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
                });
        }
        Ok(Self {
            env,
            files: RefCell::new(HashMap::new()),
            store: by_name,
            store_only: false,
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
            Err(e) if self.store.contains_key(name) => {
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
            let DistFilename::Wheel(w) = &f.filename else {
                continue;
            };
            if w.compatibility(self.env.tags).is_none() || !f.requires_python_allows(&python) {
                continue;
            }
            by_version.entry(w.version.clone()).or_default().push(f);
        }
        for files in by_version.values_mut() {
            files.sort_by_key(|f| {
                f.filename
                    .as_wheel()
                    .and_then(|w| w.compatibility(self.env.tags))
                    .unwrap_or(usize::MAX)
            });
        }
        let rc = Rc::new(by_version);
        self.files.borrow_mut().insert(name.clone(), Rc::clone(&rc));
        Ok(rc)
    }

    fn store_dist(&self, name: &PackageName, version: &Version) -> Option<&StoreDist> {
        self.store
            .get(name)
            .and_then(|v| v.iter().find(|d| &d.version == version))
    }

    /// The best wheel of `name` `version`, if the index has one.
    pub fn best_file(&self, name: &PackageName, version: &Version) -> Option<DistFile> {
        self.files(name)
            .ok()
            .and_then(|f| f.get(version).and_then(|v| v.first().cloned()))
    }
}

impl resolve::Provider for IndexProvider<'_> {
    fn versions(&self, name: &PackageName) -> Result<Vec<Candidate>, ProviderError> {
        let files = match self.files(name) {
            Ok(f) => f,
            Err(ProviderError::NotFound(_)) if self.store.contains_key(name) => {
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
        for d in self.store.get(name).into_iter().flatten() {
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
        let meta = if let Some(d) = self.store_dist(name, version) {
            read_store_metadata(&d.path.to_absolute(self.env.store.dir_str()))
                .map_err(|e| ProviderError::Other(e.to_string()))?
        } else {
            let file = self
                .best_file(name, version)
                .ok_or_else(|| ProviderError::NotFound(name.clone()))?;
            self.env
                .client
                .metadata(&file)
                .map_err(|e| ProviderError::Other(e.to_string()))?
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
        self.store
            .get(name)
            .map(|v| v.iter().map(|d| d.version.clone()).collect())
            .unwrap_or_default()
    }
}

/// Reads `METADATA` of an installed distribution.
fn read_store_metadata(dir: &str) -> Result<index::Metadata> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::Io {
        action: "read".into(),
        path: dir.into(),
        source: e,
    })?;
    for entry in entries.flatten() {
        let name = entry.file_name();
        if name.to_string_lossy().ends_with(".dist-info") {
            let path = entry.path().join("METADATA");
            let bytes = std::fs::read(&path).map_err(|e| Error::Io {
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
    for (i, r) in resolution.packages.iter().enumerate() {
        let entry = |path: &StorePath| DistEntry {
            name: r.project_name.clone(),
            version: r.version.to_string(),
            path: path.to_absolute(dir),
        };
        let file = provider.best_file(&r.name, &r.version);
        let address = file.as_ref().and_then(|f| dist_path(env, f).ok());
        match (address, provider.store_dist(&r.name, &r.version)) {
            (Some(path), _) if env.store.is_valid(&path)? => entries[i] = Some(entry(&path)),
            (Some(path), _) => missing.push((i, file.expect("address from a file"), path)),
            (None, Some(d)) => entries[i] = Some(entry(&d.path)),
            (None, None) => {
                return Err(Error::NoWheel {
                    name: r.project_name.clone(),
                    version: r.version.to_string(),
                    python: env.python.clone(),
                });
            }
        }
    }
    if !missing.is_empty() {
        let staging = tempfile::Builder::new()
            .prefix(".downloads-")
            .tempdir_in(env.store.dir())
            .map_err(|e| Error::Io {
                action: "create a download directory in".into(),
                path: env.store.dir().to_path_buf(),
                source: e,
            })?;
        for (i, _, _) in &missing {
            let r = &resolution.packages[*i];
            progress.getting(&r.project_name, &r.version.to_string());
        }
        let files: Vec<DistFile> = missing.iter().map(|(_, f, _)| f.clone()).collect();
        let downloaded = env
            .client
            .download_many(&files, staging.path(), &index::NoReporter);
        for ((i, file, path), result) in missing.into_iter().zip(downloaded) {
            let wheel_path = result?;
            let mut obj = NewObject::known(path.clone(), Kind::Dist);
            obj.origin = Some(file.url.clone());
            let python = env.python.clone();
            let failure: RefCell<Option<wheel::Error>> = RefCell::new(None);
            let added = env.store.add(&obj, |out| {
                wheel::install(&wheel_path, out, Some(&python))
                    .map(|_| ())
                    .map_err(|e| {
                        let message = e.to_string();
                        *failure.borrow_mut() = Some(e);
                        store::Error::Build(message)
                    })
            });
            if let Err(e) = added {
                return Err(match failure.into_inner() {
                    Some(w) => Error::Wheel(w),
                    None => Error::Store(e),
                });
            }
            let r = &resolution.packages[i];
            progress.got(&r.project_name, &r.version.to_string());
            entries[i] = Some(DistEntry {
                name: r.project_name.clone(),
                version: r.version.to_string(),
                path: path.to_absolute(dir),
            });
        }
    }
    Ok(entries.into_iter().flatten().collect())
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
    let sha = match file.sha256() {
        Some(s) => s.to_string(),
        None => match file.local_path() {
            Some(p) => local_sha256(&p)?,
            None => {
                // No hash from the index: the URL names the content.
                file.url.clone()
            }
        },
    };
    let pure = w.abi.iter().all(|a| a == "none") && w.platform.iter().all(|p| p == "any");
    let key = serde_json::json!({
        "wheel": sha,
        "installer": INSTALLER,
        "interpreter": if pure { String::new() } else { env.cache_tag() },
    });
    let digest = store::path::sha256(key.to_string().as_bytes());
    let name = format!("{}-{}", w.name.as_str(), w.version);
    Ok(
        store::path::output_path(&name, "out", &digest, env.store.dir_str())
            .map_err(store::Error::from)?,
    )
}

fn local_sha256(path: &Path) -> Result<String> {
    use sha2::{Digest, Sha256};
    let bytes = std::fs::read(path).map_err(|e| Error::Io {
        action: "read".into(),
        path: path.to_path_buf(),
        source: e,
    })?;
    Ok(Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}
