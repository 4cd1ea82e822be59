//! Core metadata (`METADATA`, `PKG-INFO`): parsing the fields resolution
//! needs, and reading a wheel's `.dist-info/METADATA` from a zip, either a
//! local file or a remote one read through HTTP range requests
//! ([`RangeReader`]: only the central directory and the one member are
//! transferred).
//!
//! The format is email headers (RFC 822 with folded continuation lines);
//! the body after the first blank line (the long description) is ignored.
//! `Requires-Dist` values are kept as raw strings: the resolver parses them.

use std::io::{Read, Seek, SeekFrom};
use std::str::FromStr;

use pep440_rs::Version;

use crate::python::PackageName;

/// The core metadata fields that matter for resolution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metadata {
    pub metadata_version: String,
    pub name: PackageName,
    pub version: Version,
    /// PEP 508 requirement strings, as written.
    pub requires_dist: Vec<String>,
    pub requires_python: Option<String>,
    pub provides_extra: Vec<String>,
    /// Fields marked `Dynamic` (metadata 2.2).
    pub dynamic: Vec<String>,
}

/// Why a metadata text is not usable (the caller adds file and URL).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError(pub String);

impl Metadata {
    /// Parses `METADATA` / `PKG-INFO` text.
    pub fn parse(bytes: &[u8]) -> Result<Metadata, ParseError> {
        let text = String::from_utf8_lossy(bytes);
        let mut headers: Vec<(String, String)> = Vec::new();
        for line in text.lines() {
            if line.is_empty() {
                break;
            }
            if line.starts_with([' ', '\t']) {
                if let Some((_, value)) = headers.last_mut() {
                    value.push(' ');
                    value.push_str(line.trim());
                }
                continue;
            }
            if let Some((key, value)) = line.split_once(':') {
                headers.push((key.trim().to_ascii_lowercase(), value.trim().to_string()));
            }
        }
        let one = |key: &str| {
            headers
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
        };
        let all = |key: &str| -> Vec<String> {
            headers
                .iter()
                .filter(|(k, v)| k == key && !v.is_empty())
                .map(|(_, v)| v.clone())
                .collect()
        };
        let metadata_version = one("metadata-version").unwrap_or_default();
        if let Some(major) = metadata_version
            .split('.')
            .next()
            .and_then(|m| m.parse::<u32>().ok())
            && major > 2
        {
            return Err(ParseError(format!(
                "unsupported Metadata-Version {metadata_version}"
            )));
        }
        let name = one("name").ok_or_else(|| ParseError("no `Name` field".into()))?;
        let name = PackageName::new(&name).map_err(|e| ParseError(e.to_string()))?;
        let version = one("version").ok_or_else(|| ParseError("no `Version` field".into()))?;
        let version = Version::from_str(&version)
            .map_err(|e| ParseError(format!("invalid `Version` `{version}`: {e}")))?;
        Ok(Metadata {
            metadata_version,
            name,
            version,
            requires_dist: all("requires-dist"),
            requires_python: one("requires-python").filter(|s| !s.is_empty()),
            provides_extra: all("provides-extra"),
            dynamic: all("dynamic"),
        })
    }
}

/// The most a `METADATA` file read from a wheel may hold.
const MAX_METADATA: u64 = 64 << 20;

/// Reads the wheel's `<name>-<version>.dist-info/METADATA` from a zip.
/// `prefix` is the expected `.dist-info` stem; when no member matches it
/// exactly (case and name normalisation differ between tools), the only
/// top-level `*.dist-info/METADATA` is used.
pub fn read_wheel_metadata<R: Read + Seek>(reader: R, prefix: &str) -> Result<Vec<u8>, ParseError> {
    let mut archive =
        zip::ZipArchive::new(reader).map_err(|e| ParseError(format!("not a zip archive: {e}")))?;
    let wanted = format!("{prefix}.dist-info/METADATA");
    let name = if archive.index_for_name(&wanted).is_some() {
        wanted
    } else {
        let candidates: Vec<String> = archive
            .file_names()
            .filter_map(|n| n.ok().map(|n| n.into_owned()))
            .filter(|n| n.ends_with(".dist-info/METADATA") && n.matches('/').count() == 1)
            .collect();
        let normalized = crate::python::marker::canonicalize_name(prefix);
        match candidates.as_slice() {
            [one] => one.clone(),
            many => many
                .iter()
                .find(|n| {
                    crate::python::marker::canonicalize_name(
                        n.trim_end_matches(".dist-info/METADATA"),
                    ) == normalized
                })
                .cloned()
                .ok_or_else(|| ParseError("no `.dist-info/METADATA` in the wheel".into()))?,
        }
    };
    let mut file = archive
        .by_name(&name)
        .map_err(|e| ParseError(format!("cannot read `{name}`: {e}")))?;
    // Whatever size the zip header declares: a METADATA file is small.
    let mut out = Vec::new();
    (&mut file)
        .take(MAX_METADATA + 1)
        .read_to_end(&mut out)
        .map_err(|e| ParseError(format!("cannot read `{name}`: {e}")))?;
    if out.len() as u64 > MAX_METADATA {
        return Err(ParseError(format!(
            "`{name}` is larger than {} MiB",
            MAX_METADATA >> 20
        )));
    }
    Ok(out)
}

/// A `Read + Seek` view of a remote file, fetched in blocks with HTTP
/// range requests. The caller gives the total length (from a HEAD
/// request) and a function that fetches `start..end` (exclusive).
pub struct RangeReader<F> {
    len: u64,
    pos: u64,
    fetch: F,
    /// Fetched blocks: (start, bytes), few and small.
    blocks: Vec<(u64, Vec<u8>)>,
    /// How many range requests were made (for tests and logs).
    pub requests: usize,
}

/// The minimum number of bytes one range request asks for.
const BLOCK: u64 = 64 * 1024;

impl<F> RangeReader<F>
where
    F: FnMut(u64, u64) -> std::io::Result<Vec<u8>>,
{
    pub fn new(len: u64, fetch: F) -> Self {
        RangeReader {
            len,
            pos: 0,
            fetch,
            blocks: Vec::new(),
            requests: 0,
        }
    }

    /// A reader whose last bytes, `tail`, are known already (a suffix
    /// range request's answer).
    pub fn with_tail(len: u64, tail: Vec<u8>, fetch: F) -> Self {
        let start = len.saturating_sub(tail.len() as u64);
        let mut reader = Self::new(len, fetch);
        reader.blocks.push((start, tail));
        reader
    }

    /// Fetches the last `n` bytes up front (the end of central directory
    /// and, usually, the whole central directory).
    pub fn prefetch_tail(&mut self, n: u64) -> std::io::Result<()> {
        let start = self.len.saturating_sub(n);
        self.fetch_block(start, self.len)
    }

    fn fetch_block(&mut self, start: u64, end: u64) -> std::io::Result<()> {
        let bytes = (self.fetch)(start, end)?;
        self.requests += 1;
        if bytes.len() as u64 != end - start {
            return Err(std::io::Error::other(format!(
                "range request for bytes {start}-{} returned {} bytes",
                end - 1,
                bytes.len()
            )));
        }
        self.blocks.push((start, bytes));
        Ok(())
    }
}

impl<F> Read for RangeReader<F>
where
    F: FnMut(u64, u64) -> std::io::Result<Vec<u8>>,
{
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.pos >= self.len || buf.is_empty() {
            return Ok(0);
        }
        let pos = self.pos;
        let found = self
            .blocks
            .iter()
            .find(|(start, bytes)| *start <= pos && pos < start + bytes.len() as u64);
        if found.is_none() {
            let end = (pos + (buf.len() as u64).max(BLOCK)).min(self.len);
            self.fetch_block(pos, end)?;
        }
        let (start, bytes) = self
            .blocks
            .iter()
            .find(|(start, bytes)| *start <= pos && pos < start + bytes.len() as u64)
            .ok_or_else(|| std::io::Error::other("range block missing"))?;
        let offset = usize::try_from(pos - start).map_err(std::io::Error::other)?;
        let n = buf.len().min(bytes.len() - offset);
        buf[..n].copy_from_slice(&bytes[offset..offset + n]);
        self.pos += n as u64;
        Ok(n)
    }
}

impl<F> Seek for RangeReader<F> {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        let new = match to {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        match new {
            Some(n) => {
                self.pos = n;
                Ok(n)
            }
            None => Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "seek before the start of the file",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "Metadata-Version: 2.1\nName: Foo_Bar\nVersion: 1.0\n\
        Requires-Python: >=3.8\nRequires-Dist: b>=1\nRequires-Dist: c; extra == \"x\"\n\
        Provides-Extra: x\nSummary: a\n  folded\n\nLong description\nName: not-a-header\n";

    #[test]
    fn parses_fields_and_ignores_body() {
        let m = Metadata::parse(TEXT.as_bytes()).unwrap();
        assert_eq!(m.name.as_str(), "foo-bar");
        assert_eq!(m.version.to_string(), "1.0");
        assert_eq!(m.requires_dist, ["b>=1", "c; extra == \"x\""]);
        assert_eq!(m.requires_python.as_deref(), Some(">=3.8"));
        assert_eq!(m.provides_extra, ["x"]);
    }

    #[test]
    fn rejects_missing_fields_and_future_versions() {
        assert!(Metadata::parse(b"Metadata-Version: 2.1\nVersion: 1\n").is_err());
        assert!(Metadata::parse(b"Metadata-Version: 3.0\nName: a\nVersion: 1\n").is_err());
    }

    fn zip_with(files: &[(&str, &str)]) -> Vec<u8> {
        let mut buf = std::io::Cursor::new(Vec::new());
        let mut w = zip::ZipWriter::new(&mut buf);
        for (name, body) in files {
            let options = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Stored);
            w.start_file(*name, options).unwrap();
            std::io::Write::write_all(&mut w, body.as_bytes()).unwrap();
        }
        w.finish().unwrap();
        buf.into_inner()
    }

    #[test]
    fn range_reader_reads_metadata_with_few_requests() {
        let big = "x".repeat(300_000);
        let bytes = zip_with(&[
            ("foo_bar/__init__.py", &big),
            ("foo_bar-1.0.dist-info/METADATA", TEXT),
            ("foo_bar-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\n"),
        ]);
        let len = bytes.len() as u64;
        let mut fetched = 0u64;
        let mut reader = RangeReader::new(len, |start, end| {
            fetched += end - start;
            Ok(bytes[start as usize..end as usize].to_vec())
        });
        reader.prefetch_tail(16 * 1024).unwrap();
        let got = read_wheel_metadata(&mut reader, "foo_bar-1.0").unwrap();
        assert_eq!(got, TEXT.as_bytes());
        assert!(reader.requests <= 3, "{} requests", reader.requests);
        drop(reader);
        assert!(fetched < len, "fetched {fetched} of {len}");
    }

    #[test]
    fn finds_dist_info_spelled_differently() {
        let bytes = zip_with(&[("Foo.Bar-1.0.dist-info/METADATA", TEXT)]);
        let got = read_wheel_metadata(std::io::Cursor::new(bytes), "foo_bar-1.0").unwrap();
        assert_eq!(got, TEXT.as_bytes());
    }
}
