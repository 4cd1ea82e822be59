//! Garbage collection of a cache that can be listed, a directory or an S3
//! bucket (`buildout cache gc file:///dir|s3://bucket [--keep 90d]
//! [--dry-run]`), Cachix-style pins as roots.
//!
//! Roots are the objects named by `pins/<name>` files (written by `push
//! --pin NAME`) and every narinfo written within `--keep`. Their closures
//! (narinfo `References`) are kept. Unreachable narinfos are deleted
//! first, then the NAR files no remaining narinfo names, so a client never
//! sees a narinfo whose NAR or references are gone; NAR files written
//! within `--keep` are kept too (a push still running writes its NARs
//! first; the age is a file's mtime or an object's S3 `LastModified`).
//! An HTTP cache cannot be listed: it is refused.

use super::backend::Backend;
use super::{Error, Result, io};
use crate::store::narinfo::NarInfo;
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::{Duration, SystemTime};

/// What [`gc`] did (or would do, with `dry_run`).
#[derive(Debug, Default)]
pub struct GcReport {
    pub kept: usize,
    /// Deleted narinfos (hash parts) and NAR files (relative paths).
    pub narinfos: Vec<String>,
    pub nars: Vec<String>,
    pub bytes: u64,
}

/// Parses `90d`, `12h`, `30m`, `45s` (a bare number is days).
pub fn parse_keep(text: &str) -> Option<Duration> {
    let t = text.trim();
    let (num, unit) = match t.char_indices().last()? {
        (i, c) if c.is_ascii_alphabetic() => (&t[..i], c),
        _ => (t, 'd'),
    };
    let n: u64 = num.parse().ok()?;
    let secs = match unit {
        'd' => n.checked_mul(86400)?,
        'h' => n.checked_mul(3600)?,
        'm' => n.checked_mul(60)?,
        's' => n,
        _ => return None,
    };
    Some(Duration::from_secs(secs))
}

/// Collects the cache at `url` (a directory or a bucket: what can be
/// listed).
pub fn gc(url: &str, keep: Duration, dry_run: bool) -> Result<GcReport> {
    let b = Backend::open(url)?;
    let scratch = tempfile::tempdir().map_err(io("create", Path::new("a temporary directory")))?;
    let scratch = scratch.path();
    // Refused before anything is read when it cannot be listed.
    let top = b.list("")?;
    // The store directory its narinfos name: the cache's own.
    let text = b.get_small("nix-cache-info", scratch)?.ok_or_else(|| {
        Error::Backend(format!(
            "`{}` is not a binary cache: it has no nix-cache-info",
            b.display()
        ))
    })?;
    let text = String::from_utf8_lossy(&text);
    let store_dir = super::cache_store_dir(&text)
        .ok_or_else(|| {
            Error::Backend(format!(
                "the nix-cache-info of `{}` has no StoreDir",
                b.display()
            ))
        })?
        .to_string();
    let store_dir = store_dir.as_str();
    let now = SystemTime::now();
    let recent = |t: SystemTime| now.duration_since(t).unwrap_or_default() <= keep;
    let read = |key: &str| -> Result<String> {
        let bytes = b.get_small(key, scratch)?.ok_or_else(|| {
            Error::Backend(format!(
                "`{key}` in `{}` went away during gc: run it again",
                b.display()
            ))
        })?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    };
    // Every narinfo: hash part -> (info, recent).
    let mut infos: HashMap<String, (NarInfo, bool)> = HashMap::new();
    for e in &top {
        let Some(hash) = e.key.strip_suffix(".narinfo") else {
            continue;
        };
        let info = NarInfo::parse(&read(&e.key)?, store_dir).map_err(|err| {
            Error::Backend(format!(
                "`{}` in `{}`: {err} (gc stops rather than guess)",
                e.key,
                b.display()
            ))
        })?;
        infos.insert(hash.to_string(), (info, recent(e.modified)));
    }
    let mut roots: Vec<String> = infos
        .iter()
        .filter(|(_, (_, recent))| *recent)
        .map(|(h, _)| h.clone())
        .collect();
    for pin in b.list("pins/")? {
        for line in read(&pin.key)?.lines().filter(|l| !l.trim().is_empty()) {
            let base = line.trim().rsplit('/').next().unwrap_or_default();
            roots.push(base.chars().take(32).collect());
        }
    }
    let mut live: HashSet<String> = HashSet::new();
    while let Some(h) = roots.pop() {
        if !live.insert(h.clone()) {
            continue;
        }
        if let Some((info, _)) = infos.get(&h) {
            roots.extend(info.references.iter().map(|r| r.hash_part()));
        }
    }
    let mut report = GcReport::default();
    let mut dead: Vec<&String> = infos.keys().filter(|h| !live.contains(*h)).collect();
    dead.sort();
    for h in dead {
        if !dry_run {
            b.delete(&format!("{h}.narinfo"))?;
        }
        report.narinfos.push(h.clone());
    }
    if !dry_run {
        b.flush()?;
    }
    let used: HashSet<&str> = infos
        .iter()
        .filter(|(h, _)| live.contains(*h))
        .map(|(_, (i, _))| i.url.as_str())
        .collect();
    report.kept = infos.len() - report.narinfos.len();
    for e in b.list("nar/")? {
        // A NAR of a push still running (its narinfo not yet written) is
        // recent: kept like recent narinfos.
        if used.contains(e.key.as_str()) || recent(e.modified) {
            continue;
        }
        report.bytes += e.size;
        if !dry_run {
            b.delete(&e.key)?;
        }
        report.nars.push(e.key);
    }
    report.nars.sort();
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keep_durations() {
        assert_eq!(parse_keep("90d"), Some(Duration::from_secs(90 * 86400)));
        assert_eq!(parse_keep("12h"), Some(Duration::from_secs(12 * 3600)));
        assert_eq!(parse_keep("0"), Some(Duration::ZERO));
        assert_eq!(parse_keep("3w"), None);
        assert_eq!(parse_keep("d"), None);
    }
}
