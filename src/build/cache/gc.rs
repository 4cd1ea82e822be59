//! Garbage collection of a cache in a directory (`buildout cache gc
//! file:///dir [--keep 90d] [--dry-run]`), Cachix-style pins as roots.
//!
//! Roots are the objects named by `pins/<name>` files (written by `push
//! --pin NAME`) and every narinfo written within `--keep`. Their closures
//! (narinfo `References`) are kept. Unreachable narinfos are deleted
//! first, then the NAR files no remaining narinfo names, so a client never
//! sees a narinfo whose NAR or references are gone; NAR files written
//! within `--keep` are kept too (a push still running writes its NARs
//! first). An HTTP cache cannot be listed: it is refused.

use super::backend::Backend;
use super::{Error, Result, io};
use crate::store::narinfo::NarInfo;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
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

fn listing(dir: &Path) -> Result<Vec<PathBuf>> {
    match std::fs::read_dir(dir) {
        Ok(entries) => Ok(entries.flatten().map(|e| e.path()).collect()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(io("read", dir)(e)),
    }
}

/// Collects the cache at `url` (which must be `file://`).
pub fn gc(url: &str, keep: Duration, dry_run: bool) -> Result<GcReport> {
    let Backend::File(dir) = Backend::open(url)? else {
        return Err(Error::Backend(format!(
            "`{}` cannot be listed: cache gc works on file:// caches (run it where the \
             directory is)",
            crate::index::redact(url)
        )));
    };
    // The store directory its narinfos name: the cache's own.
    let info_file = dir.join("nix-cache-info");
    let text = std::fs::read_to_string(&info_file).map_err(|e| {
        Error::Backend(format!(
            "`{}` is not a binary cache: cannot read its nix-cache-info ({e})",
            dir.display()
        ))
    })?;
    let store_dir = super::cache_store_dir(&text)
        .ok_or_else(|| Error::Backend(format!("{} has no StoreDir", info_file.display())))?
        .to_string();
    let store_dir = store_dir.as_str();
    let now = SystemTime::now();
    // Every narinfo: hash part -> (info, recent).
    let mut infos: HashMap<String, (NarInfo, bool)> = HashMap::new();
    for p in listing(&dir)? {
        let Some(hash) = p
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".narinfo"))
        else {
            continue;
        };
        let text = std::fs::read_to_string(&p).map_err(io("read", &p))?;
        let info = NarInfo::parse(&text, store_dir).map_err(|e| {
            Error::Backend(format!("{}: {e} (gc stops rather than guess)", p.display()))
        })?;
        let modified = std::fs::metadata(&p)
            .and_then(|m| m.modified())
            .map_err(io("read", &p))?;
        let recent = now.duration_since(modified).unwrap_or_default() <= keep;
        infos.insert(hash.to_string(), (info, recent));
    }
    let mut roots: Vec<String> = infos
        .iter()
        .filter(|(_, (_, recent))| *recent)
        .map(|(h, _)| h.clone())
        .collect();
    for pin in listing(&dir.join("pins"))? {
        let text = std::fs::read_to_string(&pin).map_err(io("read", &pin))?;
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
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
        let p = dir.join(format!("{h}.narinfo"));
        if !dry_run {
            std::fs::remove_file(&p).map_err(io("delete", &p))?;
        }
        report.narinfos.push(h.clone());
    }
    if !dry_run {
        std::fs::File::open(&dir)
            .and_then(|d| d.sync_all())
            .map_err(io("sync", &dir))?;
    }
    let used: HashSet<&str> = infos
        .iter()
        .filter(|(h, _)| live.contains(*h))
        .map(|(_, (i, _))| i.url.as_str())
        .collect();
    report.kept = infos.len() - report.narinfos.len();
    for p in listing(&dir.join("nar"))? {
        let Some(name) = p.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let rel = format!("nar/{name}");
        // A NAR of a push still running (its narinfo not yet written) is
        // recent: kept like recent narinfos.
        let recent = std::fs::metadata(&p)
            .and_then(|m| m.modified())
            .is_ok_and(|t| now.duration_since(t).unwrap_or_default() <= keep);
        if used.contains(rel.as_str()) || recent {
            continue;
        }
        report.bytes += std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0);
        if !dry_run {
            std::fs::remove_file(&p).map_err(io("delete", &p))?;
        }
        report.nars.push(rel);
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
