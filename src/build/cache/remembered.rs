//! Narinfo answers of HTTP and S3 caches remembered across runs (a
//! `file://` cache is simply read again), as Nix's narinfo disk cache:
//! `~/.buildout/cache/narinfo-v1/<digest of the cache URL>/` holds
//! `<hashpart>.narinfo` (a positive answer: the narinfo's text) and
//! `<hashpart>.missing` (a negative one: empty), each as old as its
//! modification time. Positive answers are used for [`POSITIVE_TTL`] (30
//! days, Nix's `narinfo-cache-positive-ttl`), negative ones for
//! [`NEGATIVE_TTL`] (1 hour, `narinfo-cache-negative-ttl`). A remembered
//! narinfo is parsed and checked like a downloaded one (the store checks
//! its path, signature, NAR hash and size); one whose NAR cannot be
//! fetched is forgotten ([`Remembered::forget`]). Entries are written
//! whole (temporary name, rename); a lost or damaged entry is asked again.

use sha2::{Digest, Sha256};
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

/// How long a positive answer is used.
pub const POSITIVE_TTL: Duration = Duration::from_secs(30 * 24 * 3600);
/// How long a negative answer is used.
pub const NEGATIVE_TTL: Duration = Duration::from_secs(3600);

/// What the disk says about one narinfo.
#[derive(Debug, PartialEq, Eq)]
pub enum Answer {
    /// The narinfo's text.
    Present(String),
    Absent,
}

/// The remembered answers of one cache.
#[derive(Debug)]
pub struct Remembered {
    dir: PathBuf,
}

impl Remembered {
    /// The answers of the cache shown as `url`, under `root`
    /// (`~/.buildout/cache/narinfo-v1`).
    pub fn new(root: PathBuf, url: &str) -> Self {
        let digest = hex::encode(Sha256::digest(url.as_bytes()));
        Self {
            dir: root.join(&digest[..32]),
        }
    }

    /// The answers of the cache `url` in the user's cache directory (none
    /// without `HOME`).
    pub fn for_user(url: &str) -> Option<Self> {
        crate::env::home_dir().map(|h| Self::new(h.join(".buildout/cache/narinfo-v1"), url))
    }

    fn file(&self, hash: &str, present: bool) -> PathBuf {
        self.dir.join(if present {
            format!("{hash}.narinfo")
        } else {
            format!("{hash}.missing")
        })
    }

    /// A fresh answer for `hash`, or `None` (never asked, or expired).
    pub fn get(&self, hash: &str) -> Option<Answer> {
        let fresh = |p: &PathBuf, ttl: Duration| {
            let modified = std::fs::metadata(p).and_then(|m| m.modified()).ok()?;
            let age = SystemTime::now().duration_since(modified).ok()?;
            (age < ttl).then_some(())
        };
        let positive = self.file(hash, true);
        if fresh(&positive, POSITIVE_TTL).is_some()
            && let Ok(text) = std::fs::read_to_string(&positive)
        {
            return Some(Answer::Present(text));
        }
        let negative = self.file(hash, false);
        fresh(&negative, NEGATIVE_TTL).map(|()| Answer::Absent)
    }

    /// Remembers an answer (best effort: an entry not written is asked
    /// again); the opposite answer is dropped.
    pub fn put(&self, hash: &str, answer: &Answer) {
        let (present, bytes) = match answer {
            Answer::Present(text) => (true, text.as_bytes()),
            Answer::Absent => (false, &b""[..]),
        };
        let _ = crate::fs::write_cache_file(&self.file(hash, present), bytes);
        let _ = std::fs::remove_file(self.file(hash, !present));
    }

    /// Drops every answer for `hash`.
    pub fn forget(&self, hash: &str) {
        let _ = std::fs::remove_file(self.file(hash, true));
        let _ = std::fs::remove_file(self.file(hash, false));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn age(file: &std::path::Path, secs: u64) {
        let t = SystemTime::now() - Duration::from_secs(secs);
        std::fs::File::options()
            .write(true)
            .open(file)
            .unwrap()
            .set_modified(t)
            .unwrap();
    }

    #[test]
    fn answers_expire_after_their_ttl() {
        let tmp = tempfile::tempdir().unwrap();
        let r = Remembered::new(tmp.path().to_path_buf(), "http://c");
        let other = Remembered::new(tmp.path().to_path_buf(), "http://d");
        assert_eq!(r.get("h"), None);
        r.put("h", &Answer::Absent);
        assert_eq!(r.get("h"), Some(Answer::Absent));
        assert_eq!(other.get("h"), None);
        age(&r.file("h", false), NEGATIVE_TTL.as_secs() + 1);
        assert_eq!(r.get("h"), None);
        r.put("h", &Answer::Present("StorePath: x".into()));
        assert_eq!(r.get("h"), Some(Answer::Present("StorePath: x".into())));
        assert!(!r.file("h", false).exists());
        age(&r.file("h", true), NEGATIVE_TTL.as_secs() + 1);
        assert!(r.get("h").is_some());
        age(&r.file("h", true), POSITIVE_TTL.as_secs() + 1);
        assert_eq!(r.get("h"), None);
        r.put("h", &Answer::Present("y".into()));
        r.forget("h");
        assert_eq!(r.get("h"), None);
    }
}
