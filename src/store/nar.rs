//! NAR (Nix ARchive) serialisation of a file tree, streamed into SHA-256.
//!
//! The NAR of an object is its canonical byte form: only file types, names,
//! contents, symlink targets and the executable bit (spec `store.md` §6.3).
//! Its SHA-256 and length are what the database records (`nar_sha256`,
//! `nar_size`) and what `store verify --check-contents` recomputes.

use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// Writes NAR tokens to any sink.
struct NarWriter<W: Write> {
    out: W,
}

impl<W: Write> NarWriter<W> {
    fn bytes(&mut self, s: &[u8]) -> io::Result<()> {
        self.out.write_all(&(s.len() as u64).to_le_bytes())?;
        self.out.write_all(s)?;
        self.pad(s.len() as u64)
    }

    fn pad(&mut self, len: u64) -> io::Result<()> {
        let pad = (8 - (len % 8)) % 8;
        self.out.write_all(&[0u8; 8][..pad as usize])
    }

    fn node(&mut self, path: &Path) -> io::Result<()> {
        let meta = std::fs::symlink_metadata(path)?;
        let ft = meta.file_type();
        self.bytes(b"(")?;
        self.bytes(b"type")?;
        if ft.is_symlink() {
            self.bytes(b"symlink")?;
            self.bytes(b"target")?;
            self.bytes(std::fs::read_link(path)?.as_os_str().as_bytes())?;
        } else if ft.is_file() {
            self.bytes(b"regular")?;
            if meta.permissions().mode() & 0o100 != 0 {
                self.bytes(b"executable")?;
                self.bytes(b"")?;
            }
            self.bytes(b"contents")?;
            let len = meta.len();
            self.out.write_all(&len.to_le_bytes())?;
            let copied = io::copy(&mut File::open(path)?.take(len), &mut self.out)?;
            if copied != len {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("`{}` changed size while being read", path.display()),
                ));
            }
            self.pad(len)?;
        } else if ft.is_dir() {
            self.bytes(b"directory")?;
            let mut names: Vec<_> = std::fs::read_dir(path)?
                .map(|e| e.map(|e| e.file_name()))
                .collect::<io::Result<_>>()?;
            names.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
            for name in names {
                self.bytes(b"entry")?;
                self.bytes(b"(")?;
                self.bytes(b"name")?;
                self.bytes(name.as_bytes())?;
                self.bytes(b"node")?;
                self.node(&path.join(&name))?;
                self.bytes(b")")?;
            }
        } else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "`{}` is not a regular file, directory or symlink",
                    path.display()
                ),
            ));
        }
        self.bytes(b")")
    }
}

/// Serialises the tree at `path` as a NAR into `out`.
pub fn dump(path: &Path, out: impl Write) -> io::Result<()> {
    let mut w = NarWriter { out };
    w.bytes(b"nix-archive-1")?;
    w.node(path)
}

/// A sink that hashes and counts.
struct HashSink {
    hasher: Sha256,
    len: u64,
}

impl Write for HashSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.hasher.update(buf);
        self.len += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The SHA-256 and length of the NAR of `path`.
pub fn hash_path(path: &Path) -> io::Result<([u8; 32], u64)> {
    let mut sink = io::BufWriter::with_capacity(
        64 * 1024,
        HashSink {
            hasher: Sha256::new(),
            len: 0,
        },
    );
    dump(path, &mut sink)?;
    let sink = sink.into_inner().map_err(io::IntoInnerError::into_error)?;
    Ok((sink.hasher.finalize().into(), sink.len))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::path::nix32_encode;

    #[test]
    fn hello_world_file_matches_nix_compat_fixture() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("hello");
        std::fs::write(&f, "Hello World!").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
        let mut nar = Vec::new();
        dump(&f, &mut nar).unwrap();
        assert_eq!(nar.len(), 128);
        let (h, len) = hash_path(&f).unwrap();
        assert_eq!(len, 128);
        assert_eq!(
            hex::encode(h),
            "03e7f63be30b065d78bcf615f5473545fdb4eb69aa416f43495b4e05cdfb8040"
        );
        assert_eq!(
            nix32_encode(&h),
            "0h40zg6hakjv951nyhdad7mv9za56m3za5gnpiw5s1hbwcxzdrq3"
        );
    }

    #[test]
    fn empty_file_hash_matches_nix_truncation_marker() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("empty");
        std::fs::write(&f, "").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o444)).unwrap();
        let (h, _) = hash_path(&f).unwrap();
        assert_eq!(
            nix32_encode(&h),
            "0ip26j2h11n1kgkz36rl4akv694yz65hr72q4kv4b3lxcbi65b3p"
        );
    }

    #[test]
    fn directory_entries_are_sorted_and_exec_bit_counts() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("t");
        std::fs::create_dir(&root).unwrap();
        std::fs::write(root.join("b"), "x").unwrap();
        std::fs::write(root.join("a"), "x").unwrap();
        std::os::unix::fs::symlink("a", root.join("c")).unwrap();
        let mut nar = Vec::new();
        dump(&root, &mut nar).unwrap();
        let text = String::from_utf8_lossy(&nar);
        assert!(
            text.find("\u{1}\0\0\0\0\0\0\0a").unwrap() < text.find("\u{1}\0\0\0\0\0\0\0b").unwrap()
        );
        let (before, _) = hash_path(&root).unwrap();
        std::fs::set_permissions(root.join("b"), std::fs::Permissions::from_mode(0o755)).unwrap();
        let (after, _) = hash_path(&root).unwrap();
        assert_ne!(before, after);
    }
}
