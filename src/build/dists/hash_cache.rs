//! The sha256 of local files (find-links and download-cache wheels the
//! index gives no hash for), remembered across runs.

use super::{Error, Result};
use std::collections::HashMap;
use std::path::Path;

/// The sha256 of a local file (a find-links or download-cache wheel the
/// index gave no hash for). Remembered across runs in
/// `~/.buildout/cache/file-hashes.json`, keyed by path, size, modification
/// time and inode, so a warm run does not read every wheel again.
pub(super) fn local_sha256(path: &Path) -> Result<String> {
    use sha2::{Digest, Sha256};
    use std::os::unix::fs::MetadataExt;
    static CACHE: std::sync::Mutex<Option<HashMap<String, String>>> = std::sync::Mutex::new(None);
    let cache_file = crate::env::home_dir().map(|h| h.join(".buildout/cache/file-hashes.json"));
    let io = |e: std::io::Error| Error::from(crate::fs::io("read", path)(e));
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
