//! Downloading one file: streamed into a temporary file in the destination
//! directory while its sha256 (and md5 when that is the only hash the
//! index gives) is computed, checked against the index's hash, then
//! renamed into place. A mismatch or an interrupted transfer deletes the
//! temporary file: nothing else is ever written.

use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use md5::Md5;
use sha2::{Digest, Sha256};

use super::http::{Http, error_text, redact};
use super::{DistFile, Error, Reporter, Result};

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// Removes the temporary file unless disarmed.
struct TempFile {
    path: PathBuf,
    armed: bool,
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if self.armed {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// The digests computed while streaming.
pub struct Digests {
    pub sha256: String,
    pub md5: String,
}

/// Checks `digests` against the file's known hashes.
pub fn verify(file: &DistFile, digests: &Digests) -> Result<()> {
    let (algo, expected, actual) = if let Some(e) = file.hashes.get("sha256") {
        ("sha256", e, &digests.sha256)
    } else if let Some(e) = file.hashes.get("md5") {
        ("md5", e, &digests.md5)
    } else {
        return Ok(());
    };
    if !expected.eq_ignore_ascii_case(actual) {
        return Err(Error::HashMismatch {
            file: file.filename.to_string(),
            url: redact(&file.url),
            algorithm: algo,
            expected: expected.clone(),
            actual: actual.clone(),
        });
    }
    Ok(())
}

/// Checks a local file against `file`'s known hashes (reading it only when
/// there is one, and computing md5 only when that is the only one).
pub fn verify_local(file: &DistFile, path: &Path) -> Result<()> {
    if file.hashes.contains_key("sha256") || file.hashes.contains_key("md5") {
        verify(
            file,
            &digest_file(path, !file.hashes.contains_key("sha256"))?,
        )?;
    }
    Ok(())
}

/// Hashes a local file (sha256, and md5 when `md5` is set).
pub fn digest_file(path: &Path, md5: bool) -> Result<Digests> {
    let mut f = std::fs::File::open(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut sha = Sha256::new();
    let mut md5 = md5.then(Md5::new);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = f.read(&mut buf).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        if n == 0 {
            break;
        }
        sha.update(&buf[..n]);
        if let Some(md5) = md5.as_mut() {
            md5.update(&buf[..n]);
        }
    }
    Ok(Digests {
        sha256: hex::encode(sha.finalize()),
        md5: md5.map(|m| hex::encode(m.finalize())).unwrap_or_default(),
    })
}

/// Downloads `file` into `dest_dir/<filename>`, verified. `id` is passed to
/// the reporter to tell parallel downloads apart.
pub fn fetch(
    http: &Http,
    file: &DistFile,
    dest_dir: &Path,
    reporter: &dyn Reporter,
    id: usize,
) -> Result<PathBuf> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Io { path, source }
    };
    crate::fs::create_dir_all(dest_dir).map_err(io(dest_dir))?;
    let mode = crate::fs::file_mode_in(dest_dir, false).map_err(io(dest_dir))?;
    let name = file.filename.filename();
    let target = dest_dir.join(name);
    let tmp_path = dest_dir.join(format!(
        ".{name}.{}.{}.part",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let mut response = http.get(&file.url, None)?;
    if response.status() == reqwest::StatusCode::NOT_FOUND {
        return Err(Error::Status {
            url: redact(&file.url),
            status: 404,
        });
    }
    let size = response.content_length().or(file.size);
    reporter.on_download_start(id, name, size);
    let mut out = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&tmp_path)
        .map_err(io(&tmp_path))?;
    let mut guard = TempFile {
        path: tmp_path.clone(),
        armed: true,
    };
    let mut sha = Sha256::new();
    let mut md5 = Md5::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match response.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(Error::Network {
                    url: redact(&file.url),
                    message: match e.into_inner() {
                        Some(inner) => match inner.downcast::<reqwest::Error>() {
                            Ok(re) => error_text(*re),
                            Err(other) => other.to_string(),
                        },
                        None => "the transfer was interrupted".to_string(),
                    },
                });
            }
        };
        http.received(n);
        sha.update(&buf[..n]);
        md5.update(&buf[..n]);
        out.write_all(&buf[..n]).map_err(io(&tmp_path))?;
        reporter.on_download_progress(id, n as u64);
    }
    out.flush().map_err(io(&tmp_path))?;
    drop(out);
    verify(
        file,
        &Digests {
            sha256: hex::encode(sha.finalize()),
            md5: hex::encode(md5.finalize()),
        },
    )?;
    std::fs::rename(&tmp_path, &target).map_err(io(&target))?;
    guard.armed = false;
    reporter.on_download_complete(id);
    Ok(target)
}
