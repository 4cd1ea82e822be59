//! A wheel's `RECORD`: its rows, the hash each member must have (sha256 or
//! stronger), computed while the member streams to disk.

use super::{Error, Result};
use base64::Engine;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;

/// `RECORD`'s rows, and where it is in the wheel.
pub(super) struct Record {
    /// `<dist-info>/RECORD`.
    name: String,
    /// Path → hash (`algo=digest`, possibly empty).
    rows: BTreeMap<String, String>,
}

impl Record {
    pub(super) fn new(text: &str, name: String) -> Self {
        Self {
            name,
            rows: parse_record(text),
        }
    }

    /// The hash member `path` must have: `None` for RECORD itself and its
    /// signatures (`RECORD.jws`, `RECORD.p7s`); an error if RECORD does not
    /// list it, or lists it without a hash.
    pub(super) fn expected(&self, wheel: &str, path: &str) -> Result<Option<&str>> {
        let exempt = path == self.name
            || path == format!("{}.jws", self.name)
            || path == format!("{}.p7s", self.name);
        if exempt {
            return Ok(None);
        }
        match self.rows.get(path).map(String::as_str) {
            None => Err(Error::NotInRecord {
                wheel: wheel.to_string(),
                path: path.to_string(),
            }),
            Some("") => Err(Error::NoHash {
                wheel: wheel.to_string(),
                path: path.to_string(),
            }),
            Some(hash) => Ok(Some(hash)),
        }
    }

    /// Every row names a member the archive held (`seen`), `.pyc` rows
    /// excepted: RECORDs of installed trees list them.
    pub(super) fn check_complete(&self, wheel: &str, seen: &BTreeSet<String>) -> Result<()> {
        match self
            .rows
            .keys()
            .find(|path| !seen.contains(*path) && !path.ends_with(".pyc"))
        {
            Some(path) => Err(Error::MissingFile {
                wheel: wheel.to_string(),
                path: path.clone(),
            }),
            None => Ok(()),
        }
    }
}

/// A RECORD hash being computed.
pub(super) enum Digester {
    Sha256(Sha256),
    Sha384(sha2::Sha384),
    Sha512(sha2::Sha512),
}

impl Digester {
    /// The digester for RECORD's `hash` (`algo=digest`): sha256 or
    /// stronger, as the wheel spec demands.
    pub(super) fn new(wheel: &str, path: &str, hash: &str) -> Result<Self> {
        let algo = hash.split_once('=').map_or(hash, |(a, _)| a);
        Ok(match algo {
            "sha256" => Self::Sha256(Sha256::new()),
            "sha384" => Self::Sha384(sha2::Sha384::new()),
            "sha512" => Self::Sha512(sha2::Sha512::new()),
            other => {
                return Err(Error::WeakHash {
                    wheel: wheel.to_string(),
                    path: path.to_string(),
                    algo: other.to_string(),
                });
            }
        })
    }

    fn update(&mut self, bytes: &[u8]) {
        match self {
            Self::Sha256(d) => d.update(bytes),
            Self::Sha384(d) => d.update(bytes),
            Self::Sha512(d) => d.update(bytes),
        }
    }

    pub(super) fn finish(self) -> Vec<u8> {
        match self {
            Self::Sha256(d) => d.finalize().to_vec(),
            Self::Sha384(d) => d.finalize().to_vec(),
            Self::Sha512(d) => d.finalize().to_vec(),
        }
    }
}

/// A reader that hashes what passes through it.
pub(super) struct Hashing<R> {
    pub(super) inner: R,
    pub(super) digester: Option<Digester>,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(d) = &mut self.digester {
            d.update(&buf[..n]);
        }
        Ok(n)
    }
}

/// Compares the digest of `path` with RECORD's `hash`.
pub(super) fn check_digest(wheel: &str, path: &str, hash: &str, digest: &[u8]) -> Result<()> {
    let (algo, expected) = hash.split_once('=').unwrap_or((hash, ""));
    let actual = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest);
    if actual != expected.trim_end_matches('=') {
        return Err(Error::HashMismatch {
            wheel: wheel.to_string(),
            path: path.to_string(),
            expected: hash.to_string(),
            actual: format!("{algo}={actual}"),
        });
    }
    Ok(())
}

/// RECORD rows: path → hash (`algo=digest`, possibly empty). CSV with
/// Python's default dialect (double quotes, doubled to escape).
pub fn parse_record(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let fields = split_csv(line);
        if let Some(path) = fields.first() {
            out.insert(path.clone(), fields.get(1).cloned().unwrap_or_default());
        }
    }
    out
}

fn split_csv(line: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(std::mem::take(&mut field)),
            (c, _) => field.push(c),
        }
    }
    fields.push(field);
    fields
}
