//! NAR (Nix ARchive) serialisation of a file tree, streamed into SHA-256.
//!
//! The NAR of an object is its canonical byte form: only file types, names,
//! contents, symlink targets and the executable bit (spec `store.md` §6.3).
//! Its SHA-256 and length are what the database records (`nar_sha256`,
//! `nar_size`) and what `store verify --check-contents` recomputes.
//!
//! [`restore`] is the inverse, for NARs that come from elsewhere (a binary
//! cache): it accepts only canonical archives (entries sorted and unique,
//! names without `/`, `.`, `..` or NUL), creates every entry new
//! (`O_EXCL`; a symlink is made as a symlink and never followed), and
//! stops at a byte limit.

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

/// Reads NAR tokens from a stream, counting the bytes read.
struct NarReader<R: Read> {
    inp: R,
    read: u64,
    limit: u64,
}

fn bad(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.into())
}

/// Longest string token other than file contents (names, symlink targets).
const MAX_TOKEN: u64 = 4096;

impl<R: Read> NarReader<R> {
    fn exact(&mut self, buf: &mut [u8]) -> io::Result<()> {
        self.read += buf.len() as u64;
        if self.read > self.limit {
            return Err(bad(format!(
                "the archive is larger than {} bytes",
                self.limit
            )));
        }
        self.inp.read_exact(buf).map_err(|e| {
            if e.kind() == io::ErrorKind::UnexpectedEof {
                bad("the archive is truncated")
            } else {
                e
            }
        })
    }

    fn u64(&mut self) -> io::Result<u64> {
        let mut b = [0u8; 8];
        self.exact(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    fn skip_pad(&mut self, len: u64) -> io::Result<()> {
        let pad = ((8 - (len % 8)) % 8) as usize;
        let mut b = [0u8; 8];
        self.exact(&mut b[..pad])?;
        if b[..pad].iter().any(|&x| x != 0) {
            return Err(bad("non-zero padding"));
        }
        Ok(())
    }

    fn token(&mut self) -> io::Result<Vec<u8>> {
        let len = self.u64()?;
        if len > MAX_TOKEN {
            return Err(bad(format!("a {len}-byte string token")));
        }
        let mut v = vec![0u8; len as usize];
        self.exact(&mut v)?;
        self.skip_pad(len)?;
        Ok(v)
    }

    fn expect(&mut self, what: &[u8]) -> io::Result<()> {
        let t = self.token()?;
        if t != what {
            return Err(bad(format!(
                "expected `{}`, found `{}`",
                String::from_utf8_lossy(what),
                String::from_utf8_lossy(&t)
            )));
        }
        Ok(())
    }

    fn node(&mut self, dest: &Path, depth: usize) -> io::Result<()> {
        use std::os::unix::fs::OpenOptionsExt;
        if depth > 256 {
            return Err(bad("directories nested deeper than 256"));
        }
        self.expect(b"(")?;
        self.expect(b"type")?;
        match self.token()?.as_slice() {
            b"symlink" => {
                self.expect(b"target")?;
                let target = self.token()?;
                if target.is_empty() || target.contains(&0) {
                    return Err(bad("an empty symlink target"));
                }
                std::os::unix::fs::symlink(std::ffi::OsStr::from_bytes(&target), dest)?;
                self.expect(b")")
            }
            b"regular" => {
                let mut t = self.token()?;
                let mut mode = 0o644;
                if t == b"executable" {
                    self.expect(b"")?;
                    mode = 0o755;
                    t = self.token()?;
                }
                if t != b"contents" {
                    return Err(bad("expected `contents`"));
                }
                let len = self.u64()?;
                if self.read.saturating_add(len) > self.limit {
                    return Err(bad(format!(
                        "the archive is larger than {} bytes",
                        self.limit
                    )));
                }
                let mut f = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .custom_flags(nix::libc::O_NOFOLLOW)
                    .mode(mode)
                    .open(dest)?;
                let copied = io::copy(&mut (&mut self.inp).take(len), &mut f)?;
                self.read += copied;
                if copied != len {
                    return Err(bad("the archive is truncated"));
                }
                self.skip_pad(len)?;
                self.expect(b")")
            }
            b"directory" => {
                std::fs::create_dir(dest)?;
                let mut prev: Option<Vec<u8>> = None;
                loop {
                    match self.token()?.as_slice() {
                        b")" => return Ok(()),
                        b"entry" => {}
                        other => {
                            return Err(bad(format!(
                                "unexpected `{}` in a directory",
                                String::from_utf8_lossy(other)
                            )));
                        }
                    }
                    self.expect(b"(")?;
                    self.expect(b"name")?;
                    let name = self.token()?;
                    if name.is_empty()
                        || name == b"."
                        || name == b".."
                        || name.contains(&b'/')
                        || name.contains(&0)
                    {
                        return Err(bad(format!(
                            "invalid entry name `{}`",
                            String::from_utf8_lossy(&name)
                        )));
                    }
                    if prev
                        .as_ref()
                        .is_some_and(|p| p.as_slice() >= name.as_slice())
                    {
                        return Err(bad(format!(
                            "entry `{}` is duplicated or out of order",
                            String::from_utf8_lossy(&name)
                        )));
                    }
                    self.expect(b"node")?;
                    self.node(&dest.join(std::ffi::OsStr::from_bytes(&name)), depth + 1)?;
                    self.expect(b")")?;
                    prev = Some(name);
                }
            }
            other => Err(bad(format!(
                "unknown node type `{}`",
                String::from_utf8_lossy(other)
            ))),
        }
    }
}

/// Unpacks the NAR read from `input` at `dest` (which must not exist),
/// reading at most `limit` bytes. Returns the bytes read. Anything left
/// after the archive is an error. On error, `dest` may hold a partial
/// tree: the caller unpacks into a staging directory it discards.
pub fn restore(input: impl Read, dest: &Path, limit: u64) -> io::Result<u64> {
    let mut r = NarReader {
        inp: input,
        read: 0,
        limit,
    };
    r.expect(b"nix-archive-1")?;
    r.node(dest, 0)?;
    let mut extra = [0u8; 1];
    if r.inp.read(&mut extra)? != 0 {
        return Err(bad("trailing bytes after the archive"));
    }
    Ok(r.read)
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

    fn nar_of(root: &Path) -> Vec<u8> {
        let mut nar = Vec::new();
        dump(root, &mut nar).unwrap();
        nar
    }

    #[test]
    fn restore_round_trips_files_dirs_symlinks() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("t");
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::write(root.join("sub/x.py"), "print(1)\n").unwrap();
        std::fs::write(root.join("run"), "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(root.join("run"), std::fs::Permissions::from_mode(0o755)).unwrap();
        std::os::unix::fs::symlink("../../../etc/passwd", root.join("escape")).unwrap();
        let nar = nar_of(&root);
        let out = dir.path().join("out");
        let n = restore(&nar[..], &out, nar.len() as u64).unwrap();
        assert_eq!(n, nar.len() as u64);
        assert_eq!(nar_of(&out), nar);
        assert!(
            std::fs::symlink_metadata(out.join("escape"))
                .unwrap()
                .file_type()
                .is_symlink()
        );
        // One byte short of the limit, or cut: refused.
        let e = restore(&nar[..], &dir.path().join("o2"), nar.len() as u64 - 1).unwrap_err();
        assert!(e.to_string().contains("larger than"), "{e}");
        let e = restore(&nar[..nar.len() - 9], &dir.path().join("o3"), u64::MAX).unwrap_err();
        assert!(e.to_string().contains("truncated"), "{e}");
    }

    /// A NAR of a directory with the given entry names, each an empty file.
    fn dir_nar(names: &[&[u8]]) -> Vec<u8> {
        let mut w = NarWriter { out: Vec::new() };
        for t in [&b"nix-archive-1"[..], b"(", b"type", b"directory"] {
            w.bytes(t).unwrap();
        }
        for name in names {
            for t in [
                &b"entry"[..],
                b"(",
                b"name",
                name,
                b"node",
                b"(",
                b"type",
                b"regular",
                b"contents",
            ] {
                w.bytes(t).unwrap();
            }
            w.out.extend_from_slice(&0u64.to_le_bytes());
            w.bytes(b")").unwrap();
            w.bytes(b")").unwrap();
        }
        w.bytes(b")").unwrap();
        w.out
    }

    #[test]
    fn restore_refuses_hostile_names_and_order() {
        let dir = tempfile::tempdir().unwrap();
        let ok = dir_nar(&[b"a", b"b"]);
        restore(&ok[..], &dir.path().join("ok"), u64::MAX).unwrap();
        for (i, names) in [
            vec![&b".."[..]],
            vec![b"."],
            vec![b"a/b"],
            vec![b"/etc"],
            vec![b""],
            vec![b"b", b"a"],
            vec![b"a", b"a"],
        ]
        .into_iter()
        .enumerate()
        {
            let nar = dir_nar(&names);
            let out = dir.path().join(format!("bad{i}"));
            assert!(restore(&nar[..], &out, u64::MAX).is_err(), "{names:?}");
        }
        assert!(!dir.path().join("etc").exists());
        let mut trailing = ok.clone();
        trailing.push(0);
        assert!(restore(&trailing[..], &dir.path().join("t"), u64::MAX).is_err());
    }
}
