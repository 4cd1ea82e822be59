//! Reusing a resolution whose inputs are unchanged ([`Reuse`]).
//!
//! A resolution is a function of what it reads: the requirements, the
//! resolution rules (`[versions]`, `newest`, `prefer-final`, …), the
//! interpreter, the local projects, the distributions in the store, and
//! the files the index and find-links list. When every source is on this
//! machine (a local find-links directory or index, the download cache;
//! or `-N`'s store-only attempt, which reads no source at all) all of it
//! can be fingerprinted cheaply: a directory listing with sizes and
//! modification times, the store's list of distribution objects. The
//! resolution is then kept under that fingerprint
//! (`~/.buildout/cache/resolutions-v1/<sha256>.json`) and a later run with
//! the same fingerprint, in any buildout directory, takes it instead of
//! resolving again. A remote source is never fingerprinted (its pages
//! change without notice): such runs always resolve.
//!
//! The entry is only an optimisation: one that cannot be read or parsed
//! is ignored and replaced, and the realisation that follows checks every
//! distribution against the store as usual.

use std::path::PathBuf;
use std::str::FromStr;

use pep440_rs::Version;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{DistEnv, IndexProvider};
use crate::python::{PackageName, Requirement};
use crate::resolve::{self, Picked, Resolution, Resolved};

/// Bumped when what is hashed, or the file format, changes.
const FORMAT: &str = "buildout-resolution-1";

/// Where the resolution of one set of inputs is kept.
pub struct Reuse {
    file: PathBuf,
}

impl Reuse {
    /// The entry for resolving `requirements` with `provider` and
    /// `options`; `None` when an input cannot be fingerprinted (a remote
    /// index or find-links) or there is no cache directory.
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
        if !provider.is_store_only() {
            line(&env.client.local_sources_digest()?);
        }
        let key = hex::encode(hasher.finalize());
        Some(Reuse {
            file: dir.join(format!("{key}.json")),
        })
    }

    /// The kept resolution, if there is a readable one.
    pub fn load(&self) -> Option<Resolution> {
        let bytes = std::fs::read(&self.file).ok()?;
        let value: Value = serde_json::from_slice(&bytes).ok()?;
        decode(&value)
    }

    /// Keeps `resolution` (best effort: a cache that cannot be written
    /// only costs the next run a resolution).
    pub fn save(&self, resolution: &Resolution) {
        let value = encode(resolution);
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

fn decode(v: &Value) -> Option<Resolution> {
    if v.get("format")?.as_str()? != FORMAT {
        return None;
    }
    let text = |v: &Value, key: &str| v.get(key)?.as_str().map(str::to_string);
    let texts = |v: &Value, key: &str| -> Option<Vec<String>> {
        v.get(key)?
            .as_array()?
            .iter()
            .map(|s| s.as_str().map(str::to_string))
            .collect()
    };
    let name = |v: &Value| PackageName::new(v.get("name")?.as_str()?).ok();
    let version = |v: &Value| Version::from_str(v.get("version")?.as_str()?).ok();
    let packages = v
        .get("packages")?
        .as_array()?
        .iter()
        .map(|p| {
            Some(Resolved {
                name: name(p)?,
                project_name: text(p, "project_name")?,
                version: version(p)?,
                extras: texts(p, "extras")?,
            })
        })
        .collect::<Option<Vec<_>>>()?;
    let picked = v
        .get("picked")?
        .as_array()?
        .iter()
        .map(|p| {
            Some(Picked {
                name: name(p)?,
                project_name: text(p, "project_name")?,
                version: version(p)?,
                required_by: texts(p, "required_by")?,
            })
        })
        .collect::<Option<Vec<_>>>()?;
    Some(Resolution {
        packages,
        picked,
        warnings: texts(v, "warnings")?,
    })
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
