//! Reading sdist archives (`.tar.gz`/`.tgz`, `.tar.bz2`, `.tar.xz`,
//! `.zip`): [`unpack`] with the rules of Python's `tarfile` data filter,
//! members written through [`crate::build::extract`], and [`pkg_info`]
//! read without unpacking. The tar stream is metered ([`Budget`]).

use super::{Error, Result, io, label};
use crate::build::extract::{self, Limits, Tree};
use std::cell::Cell;
use std::fs;
use std::io::Read;
use std::path::{Component, Path, PathBuf};
use std::rc::Rc;

enum Format {
    /// A tar archive and its compression.
    Tar(Compression),
    Zip,
}

#[derive(Clone, Copy)]
enum Compression {
    Gzip,
    Bzip2,
    Xz,
}

fn format_of(archive: &Path) -> Result<Format> {
    let name = label(archive).to_lowercase();
    if name.ends_with(".tar.gz") || name.ends_with(".tgz") {
        Ok(Format::Tar(Compression::Gzip))
    } else if name.ends_with(".tar.bz2") {
        Ok(Format::Tar(Compression::Bzip2))
    } else if name.ends_with(".tar.xz") {
        Ok(Format::Tar(Compression::Xz))
    } else if name.ends_with(".zip") {
        Ok(Format::Zip)
    } else {
        Err(Error::Unsupported {
            archive: label(archive),
        })
    }
}

/// Checks one member name: relative, no `..`, no NUL or backslash.
pub(super) fn check_member(archive: &str, name: &str) -> Result<PathBuf> {
    let bad = |why| Error::UnsafePath {
        archive: archive.to_string(),
        path: name.to_string(),
        why,
    };
    if name.starts_with('/') || name.contains('\0') || name.contains('\\') {
        return Err(bad("absolute paths, backslashes and NUL are not allowed"));
    }
    let mut out = PathBuf::new();
    for c in Path::new(name).components() {
        match c {
            Component::Normal(p) => out.push(p),
            Component::CurDir => {}
            Component::ParentDir => return Err(bad("`..` would escape the source tree")),
            _ => return Err(bad("absolute paths are not allowed")),
        }
    }
    Ok(out)
}

/// Whether a link at `member` (relative) pointing to `target` stays inside
/// the tree.
fn link_stays_inside(member: &Path, target: &Path) -> bool {
    if target.is_absolute() {
        return false;
    }
    let mut depth: i64 = member.components().count() as i64 - 1;
    for c in target.components() {
        match c {
            Component::ParentDir => depth -= 1,
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            _ => return false,
        }
        if depth < 0 {
            return false;
        }
    }
    true
}

/// Unpacks `archive` into `dest` (created) and returns the source tree:
/// the single top directory (or `dest` itself when the archive has no
/// single top directory but has `pyproject.toml` or `setup.py` at its
/// root).
pub fn unpack(archive: &Path, dest: &Path, limits: Limits) -> Result<PathBuf> {
    let name = label(archive);
    fs::create_dir_all(dest).map_err(io("create", dest))?;
    let tree = Tree::open(dest, format!("sdist `{name}`"), limits)?;
    match format_of(archive)? {
        Format::Tar(c) => unpack_tar(archive, c, &name, tree)?,
        Format::Zip => unpack_zip(archive, &name, tree)?,
    }
    let tops: Vec<PathBuf> = fs::read_dir(dest)
        .map_err(io("read", dest))?
        .flatten()
        .map(|e| e.path())
        .collect();
    if tops.len() == 1 && tops[0].is_dir() {
        return Ok(tops[0].clone());
    }
    if dest.join("pyproject.toml").is_file() || dest.join("setup.py").is_file() {
        return Ok(dest.to_path_buf());
    }
    Err(Error::NoSourceTree { archive: name })
}

/// How far past the data of the last member the tar stream may be read:
/// room for the next member's headers (a GNU long name, a pax header),
/// which the `tar` crate reads into memory whatever size they declare.
const HEADER_ROOM: u64 = 1 << 20;

/// How far the tar stream has been read, and how far it may be.
#[derive(Default)]
struct Budget {
    seen: Cell<u64>,
    end: Cell<u64>,
}

impl Budget {
    /// A member of `size` bytes was announced: its data (padded to tar's
    /// 512-byte blocks) and the next headers may be read.
    fn allow(&self, size: u64) {
        let padded = size.div_ceil(512).saturating_mul(512);
        self.end.set(
            self.seen
                .get()
                .saturating_add(padded)
                .saturating_add(HEADER_ROOM),
        );
    }
}

/// The decompressed tar stream, metered by its [`Budget`].
struct Metered {
    inner: Box<dyn Read>,
    budget: Rc<Budget>,
}

impl Read for Metered {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let (seen, end) = (self.budget.seen.get(), self.budget.end.get());
        if seen >= end {
            return Err(std::io::Error::other(format!(
                "the headers of a member take more than {}",
                extract::human(HEADER_ROOM)
            )));
        }
        let room = usize::try_from(end - seen).unwrap_or(usize::MAX);
        let len = buf.len().min(room);
        let n = self.inner.read(&mut buf[..len])?;
        self.budget.seen.set(seen + n as u64);
        Ok(n)
    }
}

/// A tar archive read from its compressed file, and its stream's budget.
fn tar_archive(
    archive: &Path,
    compression: Compression,
) -> Result<(tar::Archive<Metered>, Rc<Budget>)> {
    let budget = Rc::new(Budget::default());
    budget.allow(0);
    let inner = tar_stream(archive, compression)?;
    let metered = Metered {
        inner,
        budget: budget.clone(),
    };
    Ok((tar::Archive::new(metered), budget))
}

/// The tar stream of a compressed tar archive, decompressed as it is read.
fn tar_stream(archive: &Path, compression: Compression) -> Result<Box<dyn Read>> {
    let file = std::io::BufReader::new(fs::File::open(archive).map_err(io("open", archive))?);
    Ok(match compression {
        Compression::Gzip => Box::new(flate2::read::GzDecoder::new(file)),
        Compression::Bzip2 => Box::new(bzip2::read::MultiBzDecoder::new(file)),
        Compression::Xz => {
            // lzma-rs decodes into a writer: a thread writes into a pipe
            // that the tar reader reads, so nothing is held in memory.
            let (reader, mut writer) =
                std::io::pipe().map_err(io("create a pipe to decompress", archive))?;
            let mut file = file;
            let thread = std::thread::spawn(move || {
                lzma_rs::xz_decompress(&mut file, &mut writer).map_err(|e| e.to_string())
            });
            Box::new(XzStream {
                reader: Some(reader),
                thread: Some(thread),
            })
        }
    })
}

/// The read end of an xz decoder thread; its end reports the decoder's
/// error, if any.
struct XzStream {
    reader: Option<std::io::PipeReader>,
    thread: Option<std::thread::JoinHandle<Result<(), String>>>,
}

impl Read for XzStream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = match self.reader.as_mut() {
            Some(r) => r.read(buf)?,
            None => 0,
        };
        if n == 0
            && !buf.is_empty()
            && let Some(thread) = self.thread.take()
        {
            match thread.join() {
                Ok(Ok(())) => {}
                Ok(Err(message)) => return Err(std::io::Error::other(format!("xz: {message}"))),
                Err(_) => return Err(std::io::Error::other("xz: the decoder failed")),
            }
        }
        Ok(n)
    }
}

impl Drop for XzStream {
    fn drop(&mut self) {
        // Closing the pipe stops a decoder still writing (EPIPE).
        self.reader.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The mode an unpacked file gets: executable or not, nothing else.
fn file_mode(mode: u32) -> u32 {
    if mode & 0o111 != 0 { 0o755 } else { 0o644 }
}

/// Writes a regular member and gives it its mode whatever the umask.
fn write_member(
    tree: &mut Tree,
    member: &str,
    rel: &Path,
    mode: u32,
    content: &mut dyn Read,
) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let file = tree.file(member, rel, mode, content)?;
    file.set_permissions(fs::Permissions::from_mode(mode))
        .map_err(io("set the mode of", rel))?;
    Ok(())
}

fn unpack_tar(archive: &Path, compression: Compression, name: &str, mut tree: Tree) -> Result<()> {
    let arch = |e: std::io::Error| Error::Archive {
        archive: name.to_string(),
        message: e.to_string(),
    };
    let (mut tar, budget) = tar_archive(archive, compression)?;
    // Every symbolic link is checked again once all members are in place:
    // a link can leave the tree through a link made after it.
    let mut symlinks: Vec<(String, PathBuf)> = Vec::new();
    for entry in tar.entries().map_err(arch)? {
        let mut entry = entry.map_err(arch)?;
        let size = entry.size();
        budget.allow(size);
        let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let kind = entry.header().entry_type();
        use tar::EntryType as T;
        if matches!(
            kind,
            T::XGlobalHeader | T::XHeader | T::GNULongName | T::GNULongLink
        ) {
            continue;
        }
        let rel = check_member(name, &raw)?;
        tree.count(&raw)?;
        if rel.as_os_str().is_empty() {
            continue;
        }
        match kind {
            T::Directory => tree.dir(&raw, &rel)?,
            T::Regular | T::Continuous | T::GNUSparse => {
                tree.check_declared(&raw, size)?;
                let mode = file_mode(entry.header().mode().unwrap_or(0o644));
                write_member(&mut tree, &raw, &rel, mode, &mut entry)?;
            }
            T::Symlink | T::Link => {
                let target = entry
                    .link_name()
                    .map_err(arch)?
                    .map(|t| t.into_owned())
                    .unwrap_or_default();
                let outside = || Error::UnsafePath {
                    archive: name.to_string(),
                    path: raw.clone(),
                    why: "the link points outside the source tree",
                };
                if kind == T::Symlink {
                    if !link_stays_inside(&rel, &target) {
                        return Err(outside());
                    }
                    tree.symlink(&raw, &rel, &target)?;
                    symlinks.push((raw, rel));
                } else {
                    // Hard link names are relative to the archive root; the
                    // file is copied (the tree is a build directory).
                    let source =
                        check_member(name, &target.to_string_lossy()).map_err(|_| outside())?;
                    let mut file = tree.open_regular(&raw, &source)?;
                    use std::os::unix::fs::PermissionsExt;
                    let mode = file
                        .metadata()
                        .map_err(io("read", &source))?
                        .permissions()
                        .mode();
                    write_member(&mut tree, &raw, &rel, file_mode(mode), &mut file)?;
                }
            }
            _ => {
                return Err(Error::UnsafePath {
                    archive: name.to_string(),
                    path: raw,
                    why: "device, fifo and other special files are not allowed",
                });
            }
        }
    }
    for (raw, rel) in &symlinks {
        tree.check_link(raw, rel)?;
    }
    Ok(())
}

fn unpack_zip(archive: &Path, name: &str, mut tree: Tree) -> Result<()> {
    let arch = |e: zip::result::ZipError| Error::Archive {
        archive: name.to_string(),
        message: e.to_string(),
    };
    let file = fs::File::open(archive).map_err(io("open", archive))?;
    let mut zip = zip::ZipArchive::new(std::io::BufReader::new(file)).map_err(arch)?;
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).map_err(arch)?;
        let raw = entry.name().map_err(arch)?.to_string();
        let rel = check_member(name, &raw)?;
        if let Some(why) = extract::zip_special(entry.unix_mode()) {
            return Err(Error::UnsafePath {
                archive: name.to_string(),
                path: raw,
                why,
            });
        }
        tree.count(&raw)?;
        if rel.as_os_str().is_empty() {
            continue;
        }
        if entry.is_dir() {
            tree.dir(&raw, &rel)?;
            continue;
        }
        tree.check_declared(&raw, entry.size())?;
        let mode = file_mode(entry.unix_mode().unwrap_or(0o644));
        write_member(&mut tree, &raw, &rel, mode, &mut entry)?;
    }
    Ok(())
}

/// `PKG-INFO` of the sdist's top directory, read from the archive.
pub fn pkg_info(archive: &Path) -> Result<Option<Vec<u8>>> {
    let name = label(archive);
    let is_pkg_info = |member: &str| {
        let parts: Vec<&str> = member.trim_start_matches("./").split('/').collect();
        parts.len() == 2 && parts[1] == "PKG-INFO"
    };
    match format_of(archive)? {
        Format::Tar(c) => {
            let arch = |e: std::io::Error| Error::Archive {
                archive: name.clone(),
                message: e.to_string(),
            };
            let (mut tar, budget) = tar_archive(archive, c)?;
            for entry in tar.entries().map_err(arch)? {
                let entry = entry.map_err(arch)?;
                budget.allow(entry.size());
                let member = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
                if is_pkg_info(&member) {
                    let label = format!("sdist `{name}`");
                    return Ok(Some(extract::read_small(&label, &member, entry)?));
                }
            }
            Ok(None)
        }
        Format::Zip => {
            let file = fs::File::open(archive).map_err(io("open", archive))?;
            let mut zip = zip::ZipArchive::new(std::io::BufReader::new(file)).map_err(|e| {
                Error::Archive {
                    archive: name.clone(),
                    message: e.to_string(),
                }
            })?;
            let member = zip
                .file_names()
                .filter_map(|n| n.ok().map(|n| n.to_string()))
                .find(|n| is_pkg_info(n));
            let Some(member) = member else {
                return Ok(None);
            };
            let f = zip.by_name(&member).map_err(|e| Error::Archive {
                archive: name.clone(),
                message: e.to_string(),
            })?;
            let label = format!("sdist `{name}`");
            Ok(Some(extract::read_small(&label, &member, f)?))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{BuildSystem, static_metadata};
    use super::*;
    use std::io::Write;

    fn targz(dir: &Path, name: &str, entries: &[(&str, tar::EntryType, &str)]) -> PathBuf {
        let path = dir.join(name);
        let gz = flate2::write::GzEncoder::new(
            fs::File::create(&path).unwrap(),
            flate2::Compression::fast(),
        );
        let mut b = tar::Builder::new(gz);
        for (member, kind, content) in entries {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(*kind);
            h.set_mode(0o644);
            if *kind == tar::EntryType::Symlink {
                h.set_size(0);
                h.set_link_name(content).unwrap();
                // set_path refuses `..`; write the name bytes directly.
                let bytes = h.as_gnu_mut().unwrap();
                bytes.name[..member.len()].copy_from_slice(member.as_bytes());
                h.set_cksum();
                b.append(&h, &[][..]).unwrap();
            } else {
                h.set_size(content.len() as u64);
                let bytes = h.as_gnu_mut().unwrap();
                bytes.name[..member.len()].copy_from_slice(member.as_bytes());
                h.set_cksum();
                b.append(&h, content.as_bytes()).unwrap();
            }
        }
        b.into_inner().unwrap().finish().unwrap().flush().unwrap();
        path
    }

    #[test]
    fn unpacks_and_finds_the_tree() {
        let tmp = tempfile::tempdir().unwrap();
        let a = targz(
            tmp.path(),
            "demo-1.0.tar.gz",
            &[
                (
                    "demo-1.0/PKG-INFO",
                    tar::EntryType::Regular,
                    "Metadata-Version: 2.2\nName: demo\nVersion: 1.0\nRequires-Dist: b\n",
                ),
                (
                    "demo-1.0/pyproject.toml",
                    tar::EntryType::Regular,
                    "[build-system]\nrequires = []\nbuild-backend = \"_b\"\nbackend-path = [\".\"]\n",
                ),
                ("demo-1.0/link", tar::EntryType::Symlink, "PKG-INFO"),
            ],
        );
        let src = unpack(&a, &tmp.path().join("x"), Limits::default()).unwrap();
        assert!(src.ends_with("demo-1.0"));
        let system = BuildSystem::read(&src).unwrap();
        assert_eq!(system.backend, "_b");
        assert_eq!(system.backend_path, vec![src.clone()]);
        let meta = static_metadata(&a).unwrap().unwrap();
        assert_eq!(meta.requires_dist, vec!["b".to_string()]);
    }

    #[test]
    fn bzip2_and_xz_tarballs_unpack_like_gzip_ones() {
        let tmp = tempfile::tempdir().unwrap();
        let entries = [
            (
                "demo-1.0/PKG-INFO",
                tar::EntryType::Regular,
                "Metadata-Version: 2.2\nName: demo\nVersion: 1.0\nRequires-Dist: b\n",
            ),
            ("demo-1.0/setup.py", tar::EntryType::Regular, "# setup\n"),
        ];
        // The same tar, recompressed.
        let gz = targz(tmp.path(), "demo-1.0.tar.gz", &entries);
        let mut tar = Vec::new();
        flate2::read::GzDecoder::new(fs::File::open(&gz).unwrap())
            .read_to_end(&mut tar)
            .unwrap();
        let bz2 = tmp.path().join("demo-1.0.tar.bz2");
        let mut enc = bzip2::write::BzEncoder::new(
            fs::File::create(&bz2).unwrap(),
            bzip2::Compression::fast(),
        );
        enc.write_all(&tar).unwrap();
        enc.finish().unwrap();
        let xz = tmp.path().join("demo-1.0.tar.xz");
        lzma_rs::xz_compress(&mut &tar[..], &mut fs::File::create(&xz).unwrap()).unwrap();
        for archive in [&bz2, &xz] {
            let out = tmp.path().join(format!("{}-out", archive.display()));
            let src = unpack(archive, &out, Limits::default()).unwrap();
            assert_eq!(
                fs::read_to_string(src.join("setup.py")).unwrap(),
                "# setup\n"
            );
            let meta = static_metadata(archive).unwrap().unwrap();
            assert_eq!(meta.requires_dist, vec!["b".to_string()]);
        }
        // A corrupt one is an error naming the archive, not a panic.
        let bad = tmp.path().join("bad-1.0.tar.xz");
        fs::write(&bad, b"not xz at all").unwrap();
        let err = unpack(&bad, &tmp.path().join("bad"), Limits::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("bad-1.0.tar.xz"), "{err}");
        // Still refused: formats that are not sdists.
        let odd = tmp.path().join("demo-1.0.rar");
        fs::write(&odd, b"").unwrap();
        assert!(matches!(
            unpack(&odd, &tmp.path().join("odd"), Limits::default()),
            Err(Error::Unsupported { .. })
        ));
    }

    /// A tar of `demo-1.0/zeros` (`size` zero bytes, streamed) and
    /// `demo-1.0/setup.py`.
    fn zeros_tar(size: u64, out: &mut dyn Write) {
        let mut b = tar::Builder::new(out);
        let mut h = tar::Header::new_gnu();
        h.set_size(size);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, "demo-1.0/zeros", std::io::repeat(0).take(size))
            .unwrap();
        let mut h = tar::Header::new_gnu();
        h.set_size(0);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, "demo-1.0/setup.py", &[][..]).unwrap();
        b.finish().unwrap();
    }

    #[test]
    fn every_format_stops_at_the_limits() {
        let tmp = tempfile::tempdir().unwrap();
        let small = Limits {
            total: 2 << 20,
            file: 1 << 20,
            files: 10,
        };
        let size = 3 << 20;
        let xz = tmp.path().join("demo-1.0.tar.xz");
        let mut tar = Vec::new();
        zeros_tar(size, &mut tar);
        lzma_rs::xz_compress(&mut &tar[..], &mut fs::File::create(&xz).unwrap()).unwrap();
        let bz2 = tmp.path().join("demo-1.0.tar.bz2");
        let mut enc = bzip2::write::BzEncoder::new(
            fs::File::create(&bz2).unwrap(),
            bzip2::Compression::fast(),
        );
        zeros_tar(size, &mut enc);
        enc.finish().unwrap();
        let zip = tmp.path().join("demo-1.0.zip");
        let mut z = zip::ZipWriter::new(fs::File::create(&zip).unwrap());
        z.start_file("demo-1.0/zeros", zip::write::SimpleFileOptions::default())
            .unwrap();
        std::io::copy(&mut std::io::repeat(0).take(size), &mut z).unwrap();
        z.finish().unwrap();
        for archive in [&xz, &bz2, &zip] {
            let out = tmp.path().join(format!("{}-out", archive.display()));
            let err = unpack(archive, &out, small).unwrap_err().to_string();
            assert!(
                err.contains("`demo-1.0/zeros` unpacks to more than 1 MiB"),
                "{err}"
            );
            assert!(err.contains(&label(archive)), "{err}");
            // Under the default limits, it unpacks.
            let out = tmp.path().join(format!("{}-ok", archive.display()));
            let src = unpack(archive, &out, Limits::default()).unwrap();
            assert_eq!(fs::metadata(src.join("zeros")).unwrap().len(), size);
        }
    }

    /// The `tar` crate reads a GNU long name into memory whatever its
    /// size: the metered stream stops it past 1 MiB.
    #[test]
    fn huge_tar_headers_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("demo-1.0.tar.gz");
        let mut gz = flate2::write::GzEncoder::new(
            fs::File::create(&path).unwrap(),
            flate2::Compression::fast(),
        );
        let mut h = tar::Header::new_gnu();
        h.as_gnu_mut().unwrap().name[..13].copy_from_slice(b"././@LongLink");
        h.set_entry_type(tar::EntryType::GNULongName);
        let size: u64 = 8 << 20;
        h.set_size(size);
        h.set_cksum();
        gz.write_all(h.as_bytes()).unwrap();
        std::io::copy(&mut std::io::repeat(b'a').take(size), &mut gz).unwrap();
        gz.write_all(&[0; 1024]).unwrap();
        gz.finish().unwrap();
        let err = unpack(&path, &tmp.path().join("out"), Limits::default())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("the headers of a member take more than 1 MiB"),
            "{err}"
        );
        let err = pkg_info(&path).unwrap_err().to_string();
        assert!(err.contains("more than 1 MiB"), "{err}");
    }

    #[test]
    fn rejects_escapes() {
        let tmp = tempfile::tempdir().unwrap();
        for (i, entries) in [
            vec![("demo-1.0/../../evil", tar::EntryType::Regular, "x")],
            vec![("/abs/evil", tar::EntryType::Regular, "x")],
            vec![("demo-1.0/l", tar::EntryType::Symlink, "../../etc/passwd")],
            vec![("demo-1.0/l", tar::EntryType::Symlink, "/etc/passwd")],
            vec![("demo-1.0/dev", tar::EntryType::Char, "")],
        ]
        .into_iter()
        .enumerate()
        {
            let a = targz(tmp.path(), &format!("e{i}.tar.gz"), &entries);
            let err = unpack(&a, &tmp.path().join(format!("o{i}")), Limits::default()).unwrap_err();
            assert!(matches!(err, Error::UnsafePath { .. }), "{i}: {err}");
        }
        assert!(!tmp.path().join("evil").exists());
    }
}
