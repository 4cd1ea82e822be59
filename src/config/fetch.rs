//! Fetching remote configuration files (`extends = https://...`), and the
//! one plain HTTP GET ([`http_get`]) that recipes fetching a URL share.
//!
//! zc.buildout's `Download` rules for extends: with an `extends-cache`, the
//! file is cached under the MD5 of its URL; in newest mode it is fetched
//! again (once per run) and the cached copy is the fallback; otherwise a
//! cached copy is used without touching the network. Offline mode never
//! touches the network. Credentials in URLs are sent but never printed.
//!
//! Every `http(s)://` file a run reads (extends, cached or not, template
//! `url`s, [`note_download`], and what recipes fetch through zc.buildout's
//! `Download` in the recipe host, [`note_hashed`]) is noted with its size and sha256
//! for the lock file ([`downloads`]); once a lock is in use
//! ([`expect_downloads`]) a file whose sha256 is not the one the lock
//! records is an error naming the lock and the URL, and so, with
//! `--locked` or `--frozen` (`strict`), is a file the lock does not record
//! (without them it is added to the lock).

use super::{Error, ErrorKind};
use md5::{Digest, Md5};
use std::path::Path;
use std::time::Duration;

/// How one download behaves.
#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// `buildout:directory`, the base of a relative cache.
    pub directory: String,
    /// `extends-cache`, if set.
    pub cache: Option<String>,
    pub offline: bool,
    /// Try the network first and fall back to the cached copy.
    pub fallback: bool,
    pub cwd: String,
}

/// Removes `user:password@` from a URL for messages (one implementation,
/// the index client's).
pub use crate::index::redact;

/// A file fetched over HTTP(S) by this run: what a lock records of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Download {
    /// Without credentials.
    pub url: String,
    pub size: u64,
    pub sha256: String,
}

/// The lock a run's downloads are checked against.
struct Expected {
    /// The lock file's name.
    file: String,
    /// URL → sha256.
    hashes: std::collections::BTreeMap<String, String>,
    /// `--locked` / `--frozen`: a URL the lock does not record is refused.
    strict: bool,
}

/// The downloads of this run, and the lock they are checked against.
#[derive(Default)]
struct Ledger {
    seen: Vec<Download>,
    expected: Option<Expected>,
}

static LEDGER: std::sync::Mutex<Ledger> = std::sync::Mutex::new(Ledger {
    seen: Vec::new(),
    expected: None,
});

fn ledger() -> std::sync::MutexGuard<'static, Ledger> {
    LEDGER
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Why `d` is not what `expected` says, if it is not: another sha256,
/// or (strict) no entry at all.
fn mismatch(d: &Download, expected: &Expected) -> Option<String> {
    let file = &expected.file;
    let Some(want) = expected.hashes.get(&d.url) else {
        return expected.strict.then(|| {
            format!(
                "{} is not in {file} (with --locked or --frozen every download must be); run `buildout lock` to add it",
                d.url
            )
        });
    };
    (want != &d.sha256).then(|| {
        format!(
            "{} changed since {file} was written: its sha256 is {}, the lock has {want}; run `buildout lock` if the change is wanted",
            d.url, d.sha256
        )
    })
}

/// Notes the content of `url` (an `http(s)://` URL) as read by this run;
/// an error when a lock in use records another sha256 for it.
pub fn note_download(url: &str, bytes: &[u8]) -> Result<(), String> {
    use sha2::{Digest, Sha256};
    note_hashed(url, bytes.len() as u64, &hex::encode(Sha256::digest(bytes)))
}

/// [`note_download`] of a file already hashed (a recipe's download,
/// reported by the recipe host).
pub fn note_hashed(url: &str, size: u64, sha256: &str) -> Result<(), String> {
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Ok(());
    }
    let d = Download {
        url: redact(url),
        size,
        sha256: sha256.to_ascii_lowercase(),
    };
    let mut ledger = ledger();
    if let Some(expected) = &ledger.expected
        && let Some(why) = mismatch(&d, expected)
    {
        return Err(why);
    }
    ledger.seen.retain(|s| s.url != d.url);
    ledger.seen.push(d);
    Ok(())
}

/// The files this run downloaded, sorted by URL.
pub fn downloads() -> Vec<Download> {
    let mut out = ledger().seen.clone();
    out.sort_by(|a, b| a.url.cmp(&b.url));
    out
}

/// From now on, the downloads of this run must have the sha256 the lock
/// `file` records (`hashes`: URL → sha256) and, when `strict`, be
/// recorded there at all; the ones already made are checked now.
pub fn expect_downloads(
    file: &str,
    hashes: std::collections::BTreeMap<String, String>,
    strict: bool,
) -> Result<(), String> {
    let expected = Expected {
        file: file.to_string(),
        hashes,
        strict,
    };
    let mut ledger = ledger();
    if let Some(why) = ledger.seen.iter().find_map(|d| mismatch(d, &expected)) {
        return Err(why);
    }
    ledger.expected = Some(expected);
    Ok(())
}

/// Downloads `url` and returns its text.
pub fn download(url: &str, options: &FetchOptions) -> Result<String, Error> {
    let bytes = match &options.cache {
        Some(cache) => download_cached(url, cache, options)?,
        None => download_direct(url, options)?,
    };
    note_download(url, &bytes).map_err(|why| -> Error {
        ErrorKind::User(format!(
            "Error downloading extends for URL {}: {why}",
            redact(url)
        ))
        .into()
    })?;
    String::from_utf8(bytes).map_err(|_| {
        ErrorKind::Io {
            path: redact(url),
            message: "the file is not valid UTF-8".into(),
        }
        .into()
    })
}

fn download_cached(url: &str, cache: &str, options: &FetchOptions) -> Result<Vec<u8>, Error> {
    let joined = super::pystr::join(&options.directory, cache);
    let cache_dir = super::pystr::abspath(&joined, &options.cwd);
    let cache_dir = std::fs::canonicalize(&cache_dir)
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or(cache_dir);
    if !Path::new(&cache_dir).exists() {
        return Err(ErrorKind::User(format!(
            "The directory:\n{}\nto be used as a download cache doesn't exist.\n",
            super::pystr::repr(&cache_dir)
        ))
        .into());
    }
    let key = hex::encode(Md5::digest(url.as_bytes()));
    let cached = Path::new(&cache_dir).join(key);
    if cached.exists() {
        if options.fallback
            && let Ok(fresh) = download_direct(url, options)
        {
            write_cache(&cached, &fresh)?;
            return Ok(fresh);
        }
        let cached = cached.to_string_lossy();
        return super::load::read_config_file(&cached).map_err(|e| {
            ErrorKind::Io {
                path: cached.into_owned(),
                message: e.to_string(),
            }
            .into()
        });
    }
    let fresh = download_direct(url, options)?;
    write_cache(&cached, &fresh)?;
    Ok(fresh)
}

fn write_cache(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let io = |e: std::io::Error| -> Error {
        ErrorKind::Io {
            path: path.to_string_lossy().into_owned(),
            message: e.to_string(),
        }
        .into()
    };
    crate::fs::write_cache_file(path, bytes).map_err(io)
}

fn download_direct(url: &str, options: &FetchOptions) -> Result<Vec<u8>, Error> {
    if let Some(path) = url.strip_prefix("file://") {
        return super::load::read_config_file(path).map_err(|e| {
            ErrorKind::User(format!(
                "Error downloading extends for URL {}: {e}",
                redact(url)
            ))
            .into()
        });
    }
    if options.offline {
        return Err(ErrorKind::User(format!(
            "Couldn't download {} in offline mode.",
            super::pystr::repr(&redact(url))
        ))
        .into());
    }
    let failed = |reason: String| -> Error {
        ErrorKind::User(format!(
            "Error downloading extends for URL {}: {reason}",
            redact(url)
        ))
        .into()
    };
    http_get(url, Duration::from_secs(60)).map_err(failed)
}

/// GETs an `http(s)://` URL within `timeout`, at most
/// [`super::MAX_CONFIG_FILE_SIZE`] bytes of it. The error is a reason that
/// never contains the URL (it may hold credentials): `HTTP Error 404: Not
/// Found`, `timed out`, ...; the caller says what was being fetched.
pub fn http_get(url: &str, timeout: Duration) -> Result<Vec<u8>, String> {
    let response = get_ok(url, timeout)?;
    super::load::read_bounded(response, super::MAX_CONFIG_FILE_SIZE)
        .map_err(|_| "request failed".to_string())?
        .ok_or_else(super::load::too_large)
}

/// GETs an `http(s)://` URL within `timeout` and returns what a lock
/// records of it (size and sha256, streamed: no size limit, nothing
/// kept). The error is a reason without the URL, as [`http_get`]'s.
pub fn hash_url(url: &str, timeout: Duration) -> Result<Download, String> {
    use sha2::{Digest, Sha256};
    use std::io::Read;
    let mut response = get_ok(url, timeout)?;
    let mut digest = Sha256::new();
    let mut size = 0u64;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = response
            .read(&mut buf)
            .map_err(|_| "request failed".to_string())?;
        if n == 0 {
            break;
        }
        digest.update(&buf[..n]);
        size += n as u64;
    }
    Ok(Download {
        url: redact(url),
        size,
        sha256: hex::encode(digest.finalize()),
    })
}

/// The response to a GET of `url` within `timeout`, if it succeeded; the
/// error is a reason without the URL.
fn get_ok(url: &str, timeout: Duration) -> Result<reqwest::blocking::Response, String> {
    let response = reqwest::blocking::Client::builder()
        .timeout(timeout)
        .build()
        .map_err(|e| e.to_string())?
        .get(url)
        .send()
        .map_err(|e| without_url(&e))?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!(
            "HTTP Error {}: {}",
            status.as_u16(),
            status.canonical_reason().unwrap_or("")
        ));
    }
    Ok(response)
}

/// reqwest's message without the URL it embeds (which may hold credentials).
fn without_url(e: &reqwest::Error) -> String {
    let mut message = e.without_url_ref_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        message = format!("{message}: {s}");
        source = s.source();
    }
    message
}

trait WithoutUrl {
    fn without_url_ref_string(&self) -> String;
}

impl WithoutUrl for reqwest::Error {
    fn without_url_ref_string(&self) -> String {
        if self.is_timeout() {
            "timed out".into()
        } else if self.is_connect() {
            "connection failed".into()
        } else {
            "request failed".into()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_redacted() {
        assert_eq!(
            redact("https://user:secret@example.org/a/b.cfg"),
            "https://example.org/a/b.cfg"
        );
        assert_eq!(redact("https://example.org/x@y"), "https://example.org/x@y");
    }
}
