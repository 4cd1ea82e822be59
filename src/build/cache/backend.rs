//! Where a binary cache's files are: a directory (`file:///dir`), an
//! HTTP server (`http(s)://`, GET/HEAD to read, PUT to write, e.g. nginx
//! with WebDAV `dav_methods PUT`) or an S3 bucket (`s3://`, [`super::s3`]).
//! HTTP credentials come from the URL's userinfo or `~/.netrc` (the index
//! client's code), S3's from the AWS variables and files; none appears in
//! a message: every URL shown is redacted. Directories and buckets can be
//! listed (for `cache gc`), HTTP servers cannot.

use super::s3::{Entry, S3};
use super::{Error, HashingWriter, Result};
use crate::index::http::{Http, Netrc};
use crate::index::redact;
use sha2::Digest;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Largest narinfo or `nix-cache-info` read.
const MAX_SMALL: u64 = 1 << 20;

/// One cache's storage.
#[derive(Debug)]
pub enum Backend {
    File(PathBuf),
    Http { base: String, http: Box<Http> },
    S3(Box<S3>),
}

impl Backend {
    /// The backend for `url` (`file:///dir`, `http://…`, `https://…`,
    /// `s3://bucket/prefix?…`).
    pub fn open(url: &str) -> Result<Self> {
        if url.starts_with("s3://") {
            return Ok(Self::S3(Box::new(S3::open(url).map_err(Error::Backend)?)));
        }
        if let Some(dir) = url.strip_prefix("file://") {
            if !dir.starts_with('/') {
                return Err(Error::BadUrl(redact(url)));
            }
            return Ok(Self::File(PathBuf::from(dir.trim_end_matches('/'))));
        }
        if url.starts_with("http://") || url.starts_with("https://") {
            let http = Http::new(None, std::time::Duration::ZERO, Netrc::load())
                .map_err(|e| Error::Backend(e.to_string()))?;
            let base = http.register(url).trim_end_matches('/').to_string();
            return Ok(Self::Http {
                base,
                http: Box::new(http),
            });
        }
        Err(Error::BadUrl(redact(url)))
    }

    /// The cache's URL as shown (without credentials).
    pub fn display(&self) -> String {
        match self {
            Self::File(d) => format!("file://{}", d.display()),
            Self::Http { base, .. } => redact(base),
            Self::S3(s3) => s3.display(),
        }
    }

    fn url(base: &str, key: &str) -> String {
        format!("{base}/{key}")
    }

    fn fail(&self, what: &str, key: &str, message: impl std::fmt::Display) -> Error {
        Error::Backend(format!(
            "cannot {what} `{key}` in `{}`: {message}",
            self.display()
        ))
    }

    /// Whether `key` exists (HTTP 404 and 403 mean no).
    pub fn exists(&self, key: &str) -> Result<bool> {
        match self {
            Self::File(d) => Ok(d.join(key).exists()),
            Self::Http { base, http } => {
                let url = Self::url(base, key);
                let r = http
                    .send(&url, |c| c.head(&url))
                    .map_err(|e| self.fail("look up", key, e))?;
                match r.status().as_u16() {
                    200..=299 => Ok(true),
                    403 | 404 => Ok(false),
                    s => Err(self.fail("look up", key, format!("HTTP {s}"))),
                }
            }
            Self::S3(s3) => s3.exists(key).map_err(|m| self.fail("look up", key, m)),
        }
    }

    /// Copies `key` into `dest`, at most `limit` bytes (more is an error);
    /// `Ok(false)` when absent.
    pub fn download(&self, key: &str, dest: &Path, limit: u64) -> Result<bool> {
        let mut out = std::fs::File::create(dest).map_err(|e| self.fail("save", key, e))?;
        let copied = match self {
            Self::File(d) => {
                let src = d.join(key);
                let f = match std::fs::File::open(&src) {
                    Ok(f) => f,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
                    Err(e) => return Err(self.fail("read", key, e)),
                };
                std::io::copy(&mut std::io::Read::take(f, limit + 1), &mut out)
                    .map_err(|e| self.fail("read", key, e))?
            }
            Self::Http { base, http } => {
                let url = Self::url(base, key);
                let r = http
                    .send(&url, |c| c.get(&url))
                    .map_err(|e| self.fail("download", key, e))?;
                match r.status().as_u16() {
                    200..=299 => {}
                    403 | 404 => return Ok(false),
                    s => return Err(self.fail("download", key, format!("HTTP {s}"))),
                }
                std::io::copy(&mut std::io::Read::take(r, limit + 1), &mut out)
                    .map_err(|e| self.fail("download", key, e))?
            }
            Self::S3(s3) => {
                let Some(r) = s3.get(key).map_err(|m| self.fail("download", key, m))? else {
                    return Ok(false);
                };
                std::io::copy(&mut std::io::Read::take(r, limit + 1), &mut out)
                    .map_err(|e| self.fail("download", key, e))?
            }
        };
        if copied > limit {
            return Err(self.fail("download", key, format!("larger than {limit} bytes")));
        }
        Ok(true)
    }

    /// The bytes of a small file (`nix-cache-info`, a narinfo), or `None`.
    pub fn get_small(&self, key: &str, scratch: &Path) -> Result<Option<Vec<u8>>> {
        let tmp = scratch.join(format!(".get-{}", crate::store::fsutil::random_suffix()));
        let found = self.download(key, &tmp, MAX_SMALL);
        let bytes = match found {
            Ok(true) => Some(std::fs::read(&tmp).map_err(|e| self.fail("read", key, e))?),
            Ok(false) => None,
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                return Err(e);
            }
        };
        let _ = std::fs::remove_file(&tmp);
        Ok(bytes)
    }

    /// Writes `key` with `bytes` (see [`Backend::put_file`]).
    pub fn put(&self, key: &str, bytes: &[u8]) -> Result<()> {
        self.put_with(
            key,
            bytes.len() as u64,
            &mut |out| out.write_all(bytes),
            &|| Ok(reqwest::blocking::Body::from(bytes.to_vec())),
        )
    }

    /// Writes `key` from the file `src` (`len` bytes), streaming.
    pub fn put_file(&self, key: &str, src: &Path, len: u64) -> Result<()> {
        self.put_with(
            key,
            len,
            &mut |out| std::io::copy(&mut std::fs::File::open(src)?, out).map(|_| ()),
            &|| {
                let f = std::fs::File::open(src)?;
                Ok(reqwest::blocking::Body::sized(f, len))
            },
        )
    }

    /// In a directory: into a temporary file (`write`), synced, then
    /// renamed (readers never see half a file). Over HTTP: one PUT of
    /// `body` (made again for each retry). To S3: the same, signed with
    /// the payload's SHA-256 (`write` into a hasher first).
    fn put_with(
        &self,
        key: &str,
        len: u64,
        write: &mut dyn FnMut(&mut dyn Write) -> std::io::Result<()>,
        body: &dyn Fn() -> std::io::Result<reqwest::blocking::Body>,
    ) -> Result<()> {
        match self {
            Self::File(d) => {
                let dest = d.join(key);
                let parent = dest.parent().unwrap_or(d);
                std::fs::create_dir_all(parent).map_err(|e| self.fail("write", key, e))?;
                let tmp = parent.join(format!(".tmp-{}", crate::store::fsutil::random_suffix()));
                let mut save = || -> std::io::Result<()> {
                    let mut f = std::fs::File::create(&tmp)?;
                    write(&mut f)?;
                    f.sync_all()?;
                    std::fs::rename(&tmp, &dest)?;
                    std::fs::File::open(parent)?.sync_all()
                };
                save().map_err(|e| {
                    let _ = std::fs::remove_file(&tmp);
                    self.fail("write", key, e)
                })
            }
            Self::Http { base, http } => {
                let url = Self::url(base, key);
                // Checked once here; the retries reopen the same file.
                body().map_err(|e| self.fail("upload", key, e))?;
                let r = http
                    .send(&url, |c| {
                        let request = c.put(&url).header(reqwest::header::CONTENT_LENGTH, len);
                        match body() {
                            Ok(b) => request.body(b),
                            // Gone between two attempts: an empty body
                            // whose declared length the server refuses.
                            Err(_) => request,
                        }
                    })
                    .map_err(|e| self.fail("upload", key, e))?;
                if !r.status().is_success() {
                    return Err(self.fail("upload", key, format!("HTTP {}", r.status().as_u16())));
                }
                Ok(())
            }
            Self::S3(s3) => {
                let mut hasher: HashingWriter = HashingWriter::default();
                write(&mut hasher).map_err(|e| self.fail("upload", key, e))?;
                if hasher.len != len {
                    return Err(self.fail("upload", key, "it changed while being read"));
                }
                let sha: [u8; 32] = hasher.hasher.finalize().into();
                s3.put(key, len, &sha, body)
                    .map_err(|m| self.fail("upload", key, m))
            }
        }
    }

    /// The files directly under `dir` (`""` or `name/`), for `cache gc`;
    /// an HTTP server cannot be listed.
    pub fn list(&self, dir: &str) -> Result<Vec<Entry>> {
        match self {
            Self::File(d) => {
                let path = d.join(dir);
                let entries = match std::fs::read_dir(&path) {
                    Ok(e) => e,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
                    Err(e) => return Err(self.fail("list", dir, e)),
                };
                let mut out = Vec::new();
                for e in entries {
                    let e = e.map_err(|e| self.fail("list", dir, e))?;
                    let name = e.file_name().to_string_lossy().into_owned();
                    let meta = e.metadata().map_err(|e| self.fail("list", dir, e))?;
                    // Directories, and files of a write in progress.
                    if !meta.is_file() || name.starts_with(".tmp-") {
                        continue;
                    }
                    out.push(Entry {
                        key: format!("{dir}{name}"),
                        size: meta.len(),
                        modified: meta.modified().map_err(|e| self.fail("list", dir, e))?,
                    });
                }
                Ok(out)
            }
            Self::Http { .. } => Err(Error::Backend(format!(
                "`{}` cannot be listed: cache gc works on file:// and s3:// caches (run it \
                 where the directory is)",
                self.display()
            ))),
            Self::S3(s3) => s3.list(dir).map_err(|m| self.fail("list", dir, m)),
        }
    }

    /// Deletes `key` (absent is fine).
    pub fn delete(&self, key: &str) -> Result<()> {
        match self {
            Self::File(d) => match std::fs::remove_file(d.join(key)) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    Err(self.fail("delete", key, e))
                }
                _ => Ok(()),
            },
            Self::Http { base, http } => {
                let url = Self::url(base, key);
                let r = http
                    .send(&url, |c| c.delete(&url))
                    .map_err(|e| self.fail("delete", key, e))?;
                match r.status().as_u16() {
                    200..=299 | 404 => Ok(()),
                    s => Err(self.fail("delete", key, format!("HTTP {s}"))),
                }
            }
            Self::S3(s3) => s3.delete(key).map_err(|m| self.fail("delete", key, m)),
        }
    }

    /// Makes the deletions so far durable (a directory is synced).
    pub fn flush(&self) -> Result<()> {
        match self {
            Self::File(d) => std::fs::File::open(d)
                .and_then(|f| f.sync_all())
                .map_err(|e| self.fail("sync", "", e)),
            Self::Http { .. } | Self::S3(_) => Ok(()),
        }
    }
}
