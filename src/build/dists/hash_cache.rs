//! The sha256 of local files (find-links and download-cache wheels the
//! index gives no hash for), remembered across runs.
//!
//! The file `~/.buildout/cache/file-hashes.json` maps path, size,
//! modification time and inode to the digest, so a warm run does not read
//! every wheel again. It is read once per process and written once per
//! batch ([`save`], after a plan hashed what it needed; [`prehash`] hashes
//! many files on all cores), not once per file: a cold run over 53 local
//! wheels used to rewrite it 53 times. Entries whose file is gone are
//! dropped when it is written. The cache only saves time: a file that
//! cannot be read or written is ignored.

use super::{Error, Result};
use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

struct Cache {
    file: Option<PathBuf>,
    entries: HashMap<String, String>,
    dirty: bool,
}

static CACHE: Mutex<Option<Cache>> = Mutex::new(None);

/// Runs `f` on the process's cache, loading it on first use.
fn with_cache<T>(f: impl FnOnce(&mut Cache) -> T) -> T {
    let mut guard = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    let cache = guard.get_or_insert_with(|| {
        let file = crate::env::home_dir().map(|h| h.join(".buildout/cache/file-hashes.json"));
        let entries = file
            .as_ref()
            .and_then(|f| std::fs::read(f).ok())
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        Cache {
            file,
            entries,
            dirty: false,
        }
    });
    f(cache)
}

/// The key of `path`'s current contents, and the path of each key.
fn key(path: &Path) -> Result<String> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path).map_err(|e| Error::from(crate::fs::io("read", path)(e)))?;
    Ok(format!(
        "{}\0{}\0{}\0{}",
        path.display(),
        meta.len(),
        meta.mtime_nsec() + meta.mtime() * 1_000_000_000,
        meta.ino()
    ))
}

fn key_path(key: &str) -> &Path {
    Path::new(key.split('\0').next().unwrap_or(key))
}

/// The sha256 of `path`, read in pieces (a wheel may be hundreds of MiB).
fn hash_file(path: &Path) -> Result<String> {
    use sha2::{Digest, Sha256};
    let io = |e: std::io::Error| Error::from(crate::fs::io("read", path)(e));
    let mut file = std::fs::File::open(path).map_err(io)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = file.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// The sha256 of a local file (a find-links or download-cache wheel the
/// index gave no hash for): from the cache, else read (outside the lock,
/// so that [`prehash`]'s threads hash in parallel). Kept for [`save`].
pub(super) fn local_sha256(path: &Path) -> Result<String> {
    let key = key(path)?;
    if let Some(hit) = with_cache(|c| c.entries.get(&key).cloned()) {
        return Ok(hit);
    }
    let digest = hash_file(path)?;
    with_cache(|c| {
        c.entries.insert(key, digest.clone());
        c.dirty = true;
    });
    Ok(digest)
}

/// Hashes `paths` on all cores (what the cache does not know yet) and
/// saves the cache. Errors are left to the caller's own [`local_sha256`].
pub(super) fn prehash(paths: &[PathBuf]) {
    if paths.is_empty() {
        return;
    }
    let todo: Vec<&PathBuf> = with_cache(|c| {
        paths
            .iter()
            .filter(|p| key(p).is_ok_and(|k| !c.entries.contains_key(&k)))
            .collect()
    });
    if todo.len() > 1 {
        let threads = std::thread::available_parallelism()
            .map_or(2, |n| n.get())
            .min(todo.len())
            .min(8);
        let next = std::sync::atomic::AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..threads {
                s.spawn(|| {
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(path) = todo.get(i) else { break };
                        let _ = local_sha256(path);
                    }
                });
            }
        });
    }
    save();
}

/// Writes the cache if this process added to it (best effort), without
/// the entries of files that no longer exist.
pub(super) fn save() {
    let (file, text) = match with_cache(|c| {
        if !c.dirty {
            return None;
        }
        c.entries.retain(|k, _| key_path(k).exists());
        c.dirty = false;
        Some((c.file.clone()?, serde_json::to_vec(&c.entries).ok()?))
    }) {
        Some(x) => x,
        None => return,
    };
    if let Some(dir) = file.parent()
        && std::fs::create_dir_all(dir).is_ok()
    {
        let tmp = file.with_extension(format!("tmp{}", std::process::id()));
        if std::fs::write(&tmp, text).is_ok() && std::fs::rename(&tmp, &file).is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streamed_hash_is_the_files_sha256() {
        use sha2::{Digest, Sha256};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.whl");
        // Larger than one read buffer, not a multiple of it.
        let bytes: Vec<u8> = (0..700_001u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &bytes).unwrap();
        let want: String = Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(hash_file(&path).unwrap(), want);
        assert_eq!(local_sha256(&path).unwrap(), want);
        // Now from the cache.
        assert_eq!(local_sha256(&path).unwrap(), want);
    }

    #[test]
    fn key_path_is_the_path() {
        let k = key(Path::new("/")).unwrap();
        assert_eq!(key_path(&k), Path::new("/"));
    }
}
