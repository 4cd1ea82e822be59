//! Reading a distribution's `METADATA`: from a wheel file (an sdist's
//! built wheel) and from an installed distribution in the store, whose
//! header block is all that is read.

use super::{Error, Result};
use crate::index;
use std::path::Path;

/// `METADATA` of a wheel file.
pub(super) fn wheel_metadata(wheel: &Path) -> Result<index::Metadata> {
    let bad = |message: String| Error::StoreMetadata {
        path: wheel.display().to_string(),
        message,
    };
    let file = std::fs::File::open(wheel).map_err(crate::fs::io("open", wheel))?;
    let mut zip =
        zip::ZipArchive::new(std::io::BufReader::new(file)).map_err(|e| bad(e.to_string()))?;
    let name = zip
        .file_names()
        .filter_map(|n| n.ok().map(|n| n.to_string()))
        .find(|n| {
            let mut parts = n.split('/');
            parts.next().is_some_and(|t| t.ends_with(".dist-info"))
                && parts.next() == Some("METADATA")
                && parts.next().is_none()
        })
        .ok_or_else(|| bad("no .dist-info/METADATA".into()))?;
    let member = zip.by_name(&name).map_err(|e| bad(e.to_string()))?;
    let bytes = crate::build::extract::read_small(&wheel.display().to_string(), &name, member)
        .map_err(|e| bad(e.to_string()))?;
    index::Metadata::parse(&bytes).map_err(|e| bad(e.0))
}

/// The header block of a METADATA file (up to the first empty line): the
/// description after it can be most of the file, and nothing reads it.
fn read_headers(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let mut text = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let n = file.read(&mut chunk)?;
        if n == 0 {
            return Ok(text);
        }
        let from = text.len().saturating_sub(2);
        text.extend_from_slice(&chunk[..n]);
        if let Some(at) = blank_line(&text[from..]) {
            text.truncate(from + at + 1);
            return Ok(text);
        }
    }
}

/// Reads `METADATA` of an installed distribution (in the store directory
/// `dir`).
/// Where the first blank line (`\n\n` or `\n\r\n`) of `text` starts: the
/// position of its first `\n`.
fn blank_line(text: &[u8]) -> Option<usize> {
    text.iter().enumerate().find_map(|(i, &b)| {
        (b == b'\n'
            && match text.get(i + 1) {
                Some(b'\n') => true,
                Some(b'\r') => text.get(i + 2) == Some(&b'\n'),
                _ => false,
            })
        .then_some(i)
    })
}

pub fn read_store_metadata(dir: &str) -> Result<index::Metadata> {
    let entries =
        std::fs::read_dir(dir).map_err(crate::fs::io("read", std::path::Path::new(dir)))?;
    for entry in entries.flatten() {
        let name = entry.file_name();
        if name.to_string_lossy().ends_with(".dist-info") {
            let path = entry.path().join("METADATA");
            let bytes = read_headers(&path).map_err(crate::fs::io("read", &path))?;
            return index::Metadata::parse(&bytes).map_err(|e| Error::StoreMetadata {
                path: path.display().to_string(),
                message: e.0,
            });
        }
    }
    Err(Error::StoreMetadata {
        path: dir.to_string(),
        message: "no .dist-info directory".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_lines_are_found_in_either_line_ending() {
        assert_eq!(blank_line(b"a: 1\nb: 2\n\nbody"), Some(9));
        assert_eq!(blank_line(b"a: 1\r\n\r\nbody"), Some(5));
        assert_eq!(blank_line(b"a: 1\nb: 2\n"), None);
        assert_eq!(blank_line(b"\n\n"), Some(0));
    }

    #[test]
    fn store_metadata_is_read_up_to_the_description() {
        let dir = tempfile::tempdir().unwrap();
        let info = dir.path().join("demo-1.0.dist-info");
        std::fs::create_dir(&info).unwrap();
        let body = "x".repeat(20_000);
        std::fs::write(
            info.join("METADATA"),
            format!("Metadata-Version: 2.1\r\nName: demo\r\nVersion: 1.0\r\nRequires-Dist: dep>=1\r\n\r\nName: not-a-header\n{body}"),
        )
        .unwrap();
        let headers = read_headers(&info.join("METADATA")).unwrap();
        assert!(headers.ends_with(b"dep>=1\r\n"), "{}", headers.len());
        let meta = read_store_metadata(dir.path().to_str().unwrap()).unwrap();
        assert_eq!(meta.name.as_str(), "demo");
        assert_eq!(meta.requires_dist, ["dep>=1"]);
        // Without a description: the whole file.
        std::fs::write(info.join("METADATA"), "Name: demo\nVersion: 2.0").unwrap();
        let meta = read_store_metadata(dir.path().to_str().unwrap()).unwrap();
        assert_eq!(meta.version.to_string(), "2.0");
    }
}
