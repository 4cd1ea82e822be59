//! Reusing a resolution whose inputs are unchanged ([`Reuse`]).
//!
//! A resolution is a function of what it reads: the requirements, the
//! resolution rules (`[versions]`, `newest`, `prefer-final`, …), the
//! interpreter, the local projects, the distributions in the store, and
//! the files the index and find-links list. All of it is fingerprinted
//! cheaply before resolving: local find-links directories, a local index
//! and the download cache as listings with sizes and modification times,
//! the store's list of distribution objects, remote sources by URL. The
//! resolution is kept under that fingerprint
//! (`~/.buildout/cache/resolutions-v1/<sha256>.json`) and a later run with
//! the same fingerprint, in any buildout directory, takes it instead of
//! resolving again, along with the store object each distribution was
//! realised as (the object is still checked and rooted as usual).
//!
//! Remote pages change without notice, so an entry made from them also
//! names the page cache files it used with their modification times, and
//! is taken only while every one of them is unchanged and within the
//! page TTL: exactly when a resolution would read the same pages from the
//! cache without asking the index. A run that could not read a page
//! (and warned) is not kept.
//!
//! The entry is only an optimisation: one that cannot be read or parsed
//! is ignored and replaced.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use pep440_rs::Version;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{DistEnv, IndexProvider};
use crate::index::Client;
use crate::profile::manifest::DistEntry;
use crate::python::{PackageName, Requirement};
use crate::resolve::{self, Picked, Resolution, Resolved};
use crate::store::StorePath;

/// Bumped when what is hashed, or the file format, changes.
const FORMAT: &str = "buildout-resolution-1";

/// Where the resolution of one set of inputs is kept.
pub struct Reuse {
    file: PathBuf,
    /// Whether a remote page is among the inputs.
    remote: bool,
}

/// A kept resolution, with the store object of each distribution as it
/// was realised (when it was).
pub struct Kept {
    pub resolution: Resolution,
    pub paths: HashMap<PackageName, (Version, StorePath)>,
}

impl Reuse {
    /// The entry for resolving `requirements` with `provider` and
    /// `options`; `None` when an input cannot be fingerprinted or there is
    /// no cache directory.
    pub fn new(
        env: &DistEnv<'_>,
        provider: &IndexProvider<'_>,
        requirements: &[Requirement],
        options: &resolve::Options,
    ) -> Option<Reuse> {
        let dir = crate::index::default_cache_dir()?
            .parent()?
            .join("resolutions-v1");
        let mut hasher = Sha256::new();
        let mut line = |s: &str| {
            hasher.update(s.as_bytes());
            hasher.update(b"\n");
        };
        line(FORMAT);
        for r in requirements {
            line(&r.to_string());
        }
        line(&format!("{options:?}"));
        line(&serde_json::to_string(env.facts).ok()?);
        line(&env.python);
        line(env.installer());
        line(&provider.fingerprint());
        let mut remote = false;
        if !provider.is_store_only() {
            let (digest, online) = env.client.sources_digest()?;
            line(&digest);
            remote = online;
        }
        let key = hex::encode(hasher.finalize());
        Some(Reuse {
            file: dir.join(format!("{key}.json")),
            remote,
        })
    }

    /// The kept resolution, if there is a readable one whose pages are
    /// all current.
    pub fn load(&self, client: &Client) -> Option<Kept> {
        let bytes = std::fs::read(&self.file).ok()?;
        // Read into typed records (a tree of `Value`s cost a warm run a
        // few hundred microseconds).
        let file: KeptFile = serde_json::from_slice(&bytes).ok()?;
        if self.remote {
            for (page, nanos) in file.pages.as_ref()? {
                if !client.page_current(Path::new(page), nanos.parse::<u128>().ok()?) {
                    return None;
                }
            }
        }
        let mut paths = HashMap::new();
        for (name, version, path) in &file.paths {
            paths.insert(
                PackageName::new(name).ok()?,
                (
                    Version::from_str(version).ok()?,
                    StorePath::from_str(path).ok()?,
                ),
            );
        }
        let resolution = file.resolution()?;
        Some(Kept { resolution, paths })
    }

    /// Keeps `resolution` as it was realised: with the store object of
    /// each distribution (`entries`, in the resolution's order). Best
    /// effort: a cache that cannot be written only costs the next run a
    /// resolution. Not kept when a page it used cannot be named.
    pub fn save(&self, client: &Client, resolution: &Resolution, entries: &[DistEntry]) {
        let mut value = encode(resolution);
        if self.remote {
            let Some(pages) = client.pages_used() else {
                return;
            };
            value["pages"] = pages
                .iter()
                .map(|(file, nanos)| json!([file.to_string_lossy(), nanos.to_string()]))
                .collect();
        }
        if entries.len() == resolution.packages.len() {
            value["paths"] = resolution
                .packages
                .iter()
                .zip(entries)
                .filter_map(|(r, e)| {
                    let base = Path::new(&e.path).file_name()?.to_str()?;
                    Some(json!([r.name.original(), r.version.to_string(), base]))
                })
                .collect();
        }
        if let Ok(bytes) = serde_json::to_vec(&value) {
            let _ = crate::fs::write_cache_file(&self.file, &bytes);
        }
    }
}

fn encode(r: &Resolution) -> Value {
    json!({
        "format": FORMAT,
        "packages": r.packages.iter().map(|p| json!({
            "name": p.name.original(),
            "project_name": p.project_name,
            "version": p.version.to_string(),
            "extras": p.extras,
        })).collect::<Vec<_>>(),
        "picked": r.picked.iter().map(|p| json!({
            "name": p.name.original(),
            "project_name": p.project_name,
            "version": p.version.to_string(),
            "required_by": p.required_by,
        })).collect::<Vec<_>>(),
        "warnings": r.warnings,
    })
}

/// A kept resolution as written by [`Reuse::save`].
#[derive(serde::Deserialize)]
struct KeptFile {
    format: String,
    packages: Vec<KeptPackage>,
    picked: Vec<KeptPicked>,
    warnings: Vec<String>,
    /// (cache file, modification time in ns as text): remote sources only.
    #[serde(default)]
    pages: Option<Vec<(String, String)>>,
    /// (name, version, store object's base name).
    #[serde(default)]
    paths: Vec<(String, String, String)>,
}

#[derive(serde::Deserialize)]
struct KeptPackage {
    name: String,
    project_name: String,
    version: String,
    extras: Vec<String>,
}

#[derive(serde::Deserialize)]
struct KeptPicked {
    name: String,
    project_name: String,
    version: String,
    required_by: Vec<String>,
}

impl KeptFile {
    fn resolution(self) -> Option<Resolution> {
        if self.format != FORMAT {
            return None;
        }
        let packages = self
            .packages
            .into_iter()
            .map(|p| {
                Some(Resolved {
                    name: PackageName::new(&p.name).ok()?,
                    project_name: p.project_name,
                    version: Version::from_str(&p.version).ok()?,
                    extras: p.extras,
                })
            })
            .collect::<Option<Vec<_>>>()?;
        let picked = self
            .picked
            .into_iter()
            .map(|p| {
                Some(Picked {
                    name: PackageName::new(&p.name).ok()?,
                    project_name: p.project_name,
                    version: Version::from_str(&p.version).ok()?,
                    required_by: p.required_by,
                })
            })
            .collect::<Option<Vec<_>>>()?;
        Some(Resolution {
            packages,
            picked,
            warnings: self.warnings,
        })
    }
}

#[cfg(test)]
fn decode(v: &Value) -> Option<Resolution> {
    serde_json::from_value::<KeptFile>(v.clone())
        .ok()?
        .resolution()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resolution_reads_back_as_written() {
        let resolution = Resolution {
            packages: vec![Resolved {
                name: PackageName::new("Zope.Interface").unwrap(),
                project_name: "zope.interface".into(),
                version: Version::from_str("7.2.post1").unwrap(),
                extras: vec!["test".into()],
            }],
            picked: vec![Picked {
                name: PackageName::new("zope.interface").unwrap(),
                project_name: "zope.interface".into(),
                version: Version::from_str("7.2.post1").unwrap(),
                required_by: vec!["app==1.0".into()],
            }],
            warnings: vec!["demo 0.3 does not provide the extra 'x'".into()],
        };
        assert_eq!(decode(&encode(&resolution)), Some(resolution));
    }

    #[test]
    fn another_format_or_a_damaged_entry_is_not_used() {
        assert_eq!(decode(&json!({"format": "other"})), None);
        assert_eq!(
            decode(&json!({"format": FORMAT, "packages": [{"name": 1}]})),
            None
        );
    }
}
