//! Writing archive members (of wheels and sdists) into a directory: never
//! through a symbolic link, and never more than the unpack limits allow.
//!
//! Every member is placed by walking its parent directories from the
//! tree's root one component at a time with `openat(O_NOFOLLOW |
//! O_DIRECTORY)`: a member placed under a symbolic link (`a -> ..`, then
//! `a/b/file`) is an error naming the archive, the member and the link,
//! not a file outside the tree. Files are created with `O_EXCL |
//! O_NOFOLLOW` (a name listed twice replaces the first entry, never writes
//! through it) and their content is streamed to disk, counted as it
//! arrives: a size a header declares is checked early but never trusted,
//! and never used to allocate.
//!
//! Limits ([`Limits`], `[buildout]` options read by `ops::dists`):
//!
//! * `max-unpacked-file-size` (default 1 GiB, [`DEFAULT_MAX_FILE_SIZE`]):
//!   the most one member may unpack to. The largest files in real wheels
//!   (CUDA libraries in `nvidia-*` and `torch`) are a few hundred MiB.
//! * `max-unpacked-size` (default 4 GiB, [`DEFAULT_MAX_UNPACKED_SIZE`]):
//!   the most one archive may unpack to in total; the largest wheels on
//!   PyPI unpack to about 3 GiB.
//! * `max-unpacked-files` (default 100,000, [`DEFAULT_MAX_FILES`]): the
//!   most members one archive may have; large projects ship a few tens of
//!   thousands of files.
//!
//! Sizes are given in bytes with an optional binary suffix (`K`, `M`,
//! `G`, `T`, optionally followed by `B` or `iB`): `max-unpacked-size = 8G`.

use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag, openat, readlinkat};
use nix::sys::stat::{Mode, SFlag, fstatat, mkdirat};
use nix::unistd::{UnlinkatFlags, symlinkat, unlinkat};
use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::path::{Component, Path, PathBuf};

/// Default of `max-unpacked-size`: 4 GiB per archive.
pub const DEFAULT_MAX_UNPACKED_SIZE: u64 = 4 << 30;
/// Default of `max-unpacked-file-size`: 1 GiB per member.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 1 << 30;
/// Default of `max-unpacked-files`: members per archive.
pub const DEFAULT_MAX_FILES: u64 = 100_000;
/// The most a metadata file read into memory (`METADATA`, `WHEEL`,
/// `RECORD`, `PKG-INFO`) may hold; not configurable.
pub const MAX_METADATA_FILE: u64 = 64 << 20;

/// How much one archive may unpack to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// All members together, in bytes (`max-unpacked-size`).
    pub total: u64,
    /// One member, in bytes (`max-unpacked-file-size`).
    pub file: u64,
    /// The number of members (`max-unpacked-files`).
    pub files: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            total: DEFAULT_MAX_UNPACKED_SIZE,
            file: DEFAULT_MAX_FILE_SIZE,
            files: DEFAULT_MAX_FILES,
        }
    }
}

/// Parses a size: digits with an optional binary suffix (`512K`, `4G`,
/// `1MiB`, `10MB`: all powers of 1024).
pub fn parse_size(value: &str) -> Option<u64> {
    let v = value.trim();
    let digits = v.bytes().take_while(u8::is_ascii_digit).count();
    let (number, suffix) = v.split_at(digits);
    let number: u64 = number.parse().ok()?;
    let suffix = suffix.trim().to_ascii_uppercase();
    let unit = suffix
        .strip_suffix("IB")
        .or_else(|| suffix.strip_suffix('B'))
        .unwrap_or(&suffix);
    let shift = match unit {
        "" => 0,
        "K" => 10,
        "M" => 20,
        "G" => 30,
        "T" => 40,
        _ => return None,
    };
    number.checked_mul(1 << shift)
}

/// `1 GiB`, `256 KiB`, `1000 bytes`.
pub fn human(bytes: u64) -> String {
    for (shift, unit) in [(40, "TiB"), (30, "GiB"), (20, "MiB"), (10, "KiB")] {
        if bytes >= 1 << shift && bytes.is_multiple_of(1 << shift) {
            return format!("{} {unit}", bytes >> shift);
        }
    }
    format!("{bytes} bytes")
}

/// An unpack error; `archive` is the archive with its kind (``wheel
/// `a-1.0-py3-none-any.whl` ``).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "{archive}: `{member}` unpacks to more than {} (the limit per file, `[buildout] max-unpacked-file-size`)",
        human(*limit)
    )]
    FileTooLarge {
        archive: String,
        member: String,
        limit: u64,
    },
    #[error(
        "{archive}: unpacking `{member}` goes over {} in total (`[buildout] max-unpacked-size`)",
        human(*limit)
    )]
    TotalTooLarge {
        archive: String,
        member: String,
        limit: u64,
    },
    #[error(
        "{archive} has more than {limit} members (`[buildout] max-unpacked-files`); `{member}` is one too many"
    )]
    TooManyFiles {
        archive: String,
        member: String,
        limit: u64,
    },
    #[error("{archive}: `{member}` {why}")]
    Unsafe {
        archive: String,
        member: String,
        why: String,
    },
    #[error("{archive}: cannot read `{member}`: {message}")]
    Read {
        archive: String,
        member: String,
        message: String,
    },
    #[error(transparent)]
    Io(#[from] crate::fs::IoError),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Reads a small member (metadata) into memory, refusing more than
/// [`MAX_METADATA_FILE`] bytes whatever its header says.
pub fn read_small(archive: &str, member: &str, reader: impl Read) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    reader
        .take(MAX_METADATA_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::Read {
            archive: archive.to_string(),
            member: member.to_string(),
            message: e.to_string(),
        })?;
    if bytes.len() as u64 > MAX_METADATA_FILE {
        return Err(Error::FileTooLarge {
            archive: archive.to_string(),
            member: member.to_string(),
            limit: MAX_METADATA_FILE,
        });
    }
    Ok(bytes)
}

/// Why a zip member with this unix mode cannot be unpacked: symbolic
/// links and special files (fifos, devices, sockets) are refused; only
/// regular files and directories (or no file type at all) pass.
pub fn zip_special(unix_mode: Option<u32>) -> Option<&'static str> {
    let kind = unix_mode.map_or(0, |m| m & 0o170_000);
    match kind {
        0 | 0o100_000 | 0o040_000 => None,
        0o120_000 => Some("symbolic links are not allowed"),
        _ => Some("device, fifo and other special files are not allowed"),
    }
}

fn errno_io(e: Errno) -> std::io::Error {
    std::io::Error::from_raw_os_error(e as i32)
}

/// A directory being filled from one archive.
pub struct Tree {
    root: OwnedFd,
    path: PathBuf,
    archive: String,
    limits: Limits,
    written: u64,
    members: u64,
    /// The last parent directory used (archives list members directory
    /// by directory): its path relative to the root, and its descriptor.
    last_dir: Option<(PathBuf, OwnedFd)>,
    buf: Vec<u8>,
}

impl Tree {
    /// Opens the existing directory `path` for `archive` (its kind and
    /// name, for messages).
    pub fn open(path: &Path, archive: String, limits: Limits) -> Result<Self> {
        let root = nix::fcntl::open(
            path,
            OFlag::O_DIRECTORY | OFlag::O_RDONLY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| Error::from(crate::fs::io("open", path)(errno_io(e))))?;
        Ok(Self {
            root,
            path: path.to_path_buf(),
            archive,
            limits,
            written: 0,
            members: 0,
            last_dir: None,
            buf: Vec::new(),
        })
    }

    /// The archive, as messages name it.
    pub fn archive(&self) -> &str {
        &self.archive
    }

    fn unsafe_member(&self, member: &str, why: String) -> Error {
        Error::Unsafe {
            archive: self.archive.clone(),
            member: member.to_string(),
            why,
        }
    }

    fn io(&self, action: &'static str, rel: &Path, e: Errno) -> Error {
        crate::fs::io(action, &self.path.join(rel))(errno_io(e)).into()
    }

    /// Counts one more member against `max-unpacked-files`.
    pub fn count(&mut self, member: &str) -> Result<()> {
        self.members += 1;
        if self.members > self.limits.files {
            return Err(Error::TooManyFiles {
                archive: self.archive.clone(),
                member: member.to_string(),
                limit: self.limits.files,
            });
        }
        Ok(())
    }

    /// Refuses a member whose declared size is already over a limit
    /// (before reading it; the bytes are counted again as they come).
    pub fn check_declared(&self, member: &str, size: u64) -> Result<()> {
        if size > self.limits.file {
            return Err(Error::FileTooLarge {
                archive: self.archive.clone(),
                member: member.to_string(),
                limit: self.limits.file,
            });
        }
        if self.written.saturating_add(size) > self.limits.total {
            return Err(Error::TotalTooLarge {
                archive: self.archive.clone(),
                member: member.to_string(),
                limit: self.limits.total,
            });
        }
        Ok(())
    }

    /// The components of a relative path; anything but plain names is
    /// refused (callers check member names first; this is the backstop).
    fn names<'p>(&self, member: &str, rel: &'p Path) -> Result<Vec<&'p OsStr>> {
        rel.components()
            .filter(|c| *c != Component::CurDir)
            .map(|c| match c {
                Component::Normal(n) => Ok(n),
                _ => Err(self.unsafe_member(member, "is not a plain relative path".into())),
            })
            .collect()
    }

    /// Opens directory `dir` (relative), creating missing components when
    /// `create`; a component that is a symbolic link or not a directory is
    /// an error naming it.
    fn open_dir(&self, member: &str, dir: &Path, create: bool) -> Result<OwnedFd> {
        let flags = OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_RDONLY | OFlag::O_CLOEXEC;
        let mut fd = openat(&self.root, ".", flags, Mode::empty())
            .map_err(|e| self.io("open", Path::new(""), e))?;
        let mut walked = PathBuf::new();
        for name in self.names(member, dir)? {
            walked.push(name);
            let mut next = openat(&fd, name, flags, Mode::empty());
            if matches!(next, Err(Errno::ENOENT)) && create {
                match mkdirat(&fd, name, Mode::from_bits_truncate(0o755)) {
                    Ok(()) | Err(Errno::EEXIST) => {}
                    Err(e) => return Err(self.io("create", &walked, e)),
                }
                next = openat(&fd, name, flags, Mode::empty());
            }
            fd = match next {
                Ok(next) => next,
                Err(Errno::ELOOP | Errno::ENOTDIR) => {
                    let link = fstatat(&fd, name, AtFlags::AT_SYMLINK_NOFOLLOW).is_ok_and(|st| {
                        SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFLNK
                    });
                    let why = if link {
                        format!("is placed under the symbolic link `{}`", walked.display())
                    } else {
                        format!(
                            "is placed under `{}`, which is not a directory",
                            walked.display()
                        )
                    };
                    return Err(self.unsafe_member(member, why));
                }
                Err(e) => return Err(self.io("open", &walked, e)),
            };
        }
        Ok(fd)
    }

    /// Opens (creates) the parent directory of `rel` as the last
    /// directory ([`Tree::last_dir`]); returns `rel`'s last component.
    fn parent<'p>(&mut self, member: &str, rel: &'p Path) -> Result<&'p OsStr> {
        let name = rel
            .file_name()
            .ok_or_else(|| self.unsafe_member(member, "has no file name".into()))?;
        let dir = rel.parent().unwrap_or(Path::new(""));
        if self.last_dir.as_ref().is_none_or(|(d, _)| d != dir) {
            let fd = self.open_dir(member, dir, true)?;
            self.last_dir = Some((dir.to_path_buf(), fd));
        }
        Ok(name)
    }

    fn last_dir(&self) -> &OwnedFd {
        &self.last_dir.as_ref().expect("set by parent()").1
    }

    /// Creates directory `rel` (and its parents).
    pub fn dir(&mut self, member: &str, rel: &Path) -> Result<()> {
        self.open_dir(member, rel, true).map(drop)
    }

    /// Runs `make` for the entry `name` of `dir`; when the name is taken
    /// (a member listed twice), removes that entry (never following it:
    /// a link is removed, not its target; a directory stays and is an
    /// error) and runs `make` again.
    fn replacing<T>(
        &self,
        dir: &OwnedFd,
        name: &OsStr,
        rel: &Path,
        mut make: impl FnMut() -> nix::Result<T>,
    ) -> Result<T> {
        match make() {
            Err(Errno::EEXIST) => {
                unlinkat(dir, name, UnlinkatFlags::NoRemoveDir)
                    .map_err(|e| self.io("replace", rel, e))?;
                make().map_err(|e| self.io("create", rel, e))
            }
            other => other.map_err(|e| self.io("create", rel, e)),
        }
    }

    /// Creates the file `rel` with `mode` (less the umask) and streams
    /// `content` into it, within the limits. Returns the open file.
    pub fn file(
        &mut self,
        member: &str,
        rel: &Path,
        mode: u32,
        content: &mut dyn Read,
    ) -> Result<File> {
        let name = self.parent(member, rel)?;
        let dir = self.last_dir();
        let flags =
            OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
        let mode_bits = Mode::from_bits_truncate(mode as nix::libc::mode_t);
        let fd = self.replacing(dir, name, rel, || openat(dir, name, flags, mode_bits))?;
        let mut file = File::from(fd);
        let mut buf = std::mem::take(&mut self.buf);
        buf.resize(1 << 16, 0);
        let copied = self.copy(member, rel, content, &mut file, &mut buf);
        self.buf = buf;
        copied.map(|()| file)
    }

    fn copy(
        &mut self,
        member: &str,
        rel: &Path,
        content: &mut dyn Read,
        file: &mut File,
        buf: &mut [u8],
    ) -> Result<()> {
        let mut size: u64 = 0;
        loop {
            let n = match content.read(buf) {
                Ok(0) => return Ok(()),
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(Error::Read {
                        archive: self.archive.clone(),
                        member: member.to_string(),
                        message: e.to_string(),
                    });
                }
            };
            size += n as u64;
            self.written += n as u64;
            if size > self.limits.file {
                return Err(Error::FileTooLarge {
                    archive: self.archive.clone(),
                    member: member.to_string(),
                    limit: self.limits.file,
                });
            }
            if self.written > self.limits.total {
                return Err(Error::TotalTooLarge {
                    archive: self.archive.clone(),
                    member: member.to_string(),
                    limit: self.limits.total,
                });
            }
            file.write_all(&buf[..n]).map_err(|source| {
                Error::from(crate::fs::io("write", &self.path.join(rel))(source))
            })?;
        }
    }

    /// Creates the symbolic link `rel` -> `target` (the caller has checked
    /// the target; [`Tree::check_link`] checks it again once every member
    /// is in place).
    pub fn symlink(&mut self, member: &str, rel: &Path, target: &Path) -> Result<()> {
        let name = self.parent(member, rel)?;
        let dir = self.last_dir();
        self.replacing(dir, name, rel, || symlinkat(target, dir, name))
    }

    /// Opens the regular file `rel` for reading (a hard link's source):
    /// neither it nor any directory on the way may be a symbolic link.
    pub fn open_regular(&mut self, member: &str, rel: &Path) -> Result<File> {
        let name = self.parent(member, rel)?;
        let dir = self.last_dir();
        let flags = OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC;
        let fd = match openat(dir, name, flags, Mode::empty()) {
            Ok(fd) => fd,
            Err(Errno::ELOOP) => {
                return Err(self.unsafe_member(
                    member,
                    format!("links to the symbolic link `{}`", rel.display()),
                ));
            }
            Err(Errno::ENOENT) => {
                return Err(self.unsafe_member(
                    member,
                    format!(
                        "links to `{}`, which the archive does not hold before it",
                        rel.display()
                    ),
                ));
            }
            Err(e) => return Err(self.io("open", rel, e)),
        };
        let file = File::from(fd);
        let regular = file
            .metadata()
            .map_err(crate::fs::io("read", &self.path.join(rel)))?
            .is_file();
        if !regular {
            return Err(self.unsafe_member(
                member,
                format!("links to `{}`, which is not a regular file", rel.display()),
            ));
        }
        Ok(file)
    }

    /// Checks that the symbolic link `rel` resolves inside the tree,
    /// following the links it meets on the way as the system would (a
    /// link that is lexically inside can leave through another link:
    /// `up -> ..`, `x -> up/../..`). Components that do not exist are
    /// taken lexically.
    pub fn check_link(&self, member: &str, rel: &Path) -> Result<()> {
        let outside = || self.unsafe_member(member, "is a link that leads outside the tree".into());
        let mut todo: std::collections::VecDeque<OsString> = self
            .names(member, rel)?
            .into_iter()
            .map(OsStr::to_os_string)
            .collect();
        let mut at: Vec<OsString> = Vec::new();
        let mut hops = 0;
        while let Some(name) = todo.pop_front() {
            if name == ".." {
                if at.pop().is_none() {
                    return Err(outside());
                }
                continue;
            }
            if name.is_empty() || name == "." {
                continue;
            }
            at.push(name);
            let path: PathBuf = at.iter().collect();
            let st = match fstatat(&self.root, &path, AtFlags::AT_SYMLINK_NOFOLLOW) {
                Ok(st) => st,
                Err(Errno::ENOENT | Errno::ENOTDIR) => continue,
                Err(e) => return Err(self.io("read", &path, e)),
            };
            if SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT != SFlag::S_IFLNK {
                continue;
            }
            hops += 1;
            if hops > 40 {
                return Err(self.unsafe_member(member, "is a link in a loop".into()));
            }
            let target = readlinkat(&self.root, &path).map_err(|e| self.io("read", &path, e))?;
            at.pop();
            let target = PathBuf::from(target);
            let mut parts = Vec::new();
            for c in target.components() {
                match c {
                    Component::Normal(n) => parts.push(n.to_os_string()),
                    Component::ParentDir => parts.push("..".into()),
                    Component::CurDir => {}
                    Component::RootDir | Component::Prefix(_) => return Err(outside()),
                }
            }
            for p in parts.into_iter().rev() {
                todo.push_front(p);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("100"), Some(100));
        assert_eq!(parse_size("4G"), Some(4 << 30));
        assert_eq!(parse_size(" 256 KiB "), Some(256 << 10));
        assert_eq!(parse_size("1mb"), Some(1 << 20));
        assert_eq!(parse_size("lots"), None);
        assert_eq!(parse_size("1P"), None);
        assert_eq!(parse_size(""), None);
        assert_eq!(parse_size("99999999999T"), None);
        assert_eq!(human(1 << 30), "1 GiB");
        assert_eq!(human(1000), "1000 bytes");
    }

    fn tree(dir: &Path, limits: Limits) -> Tree {
        Tree::open(dir, "archive `t`".into(), limits).unwrap()
    }

    #[test]
    fn members_never_go_through_symlinks() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("root");
        std::fs::create_dir(&root).unwrap();
        let mut t = tree(&root, Limits::default());
        t.symlink("a", Path::new("a"), Path::new("..")).unwrap();
        let err = t
            .file("a/x", Path::new("a/x"), 0o644, &mut &b"x"[..])
            .unwrap_err();
        assert!(err.to_string().contains("symbolic link `a`"), "{err}");
        assert!(!tmp.path().join("x").exists());
        let err = t.dir("a/d", Path::new("a/d")).unwrap_err();
        assert!(matches!(err, Error::Unsafe { .. }), "{err}");
        // A name listed again replaces the link, not what it points at.
        t.symlink("f", Path::new("f"), Path::new("../outside"))
            .unwrap();
        t.file("f", Path::new("f"), 0o644, &mut &b"y"[..]).unwrap();
        assert!(!tmp.path().join("outside").exists());
        assert_eq!(std::fs::read(root.join("f")).unwrap(), b"y");
        // Hard link sources: regular files only, no links.
        t.symlink("s", Path::new("s"), Path::new("f")).unwrap();
        assert!(t.open_regular("h", Path::new("s")).is_err());
        assert!(t.open_regular("h", Path::new("a/f")).is_err());
        assert!(t.open_regular("h", Path::new("f")).is_ok());
        // Link chains are resolved.
        t.symlink("up", Path::new("d/up"), Path::new("..")).unwrap();
        t.symlink("x", Path::new("d/x"), Path::new("up/../.."))
            .unwrap();
        assert!(t.check_link("x", Path::new("d/x")).is_err());
        t.symlink("y", Path::new("d/y"), Path::new("up/f")).unwrap();
        t.check_link("y", Path::new("d/y")).unwrap();
        t.symlink("l1", Path::new("l1"), Path::new("l2")).unwrap();
        t.symlink("l2", Path::new("l2"), Path::new("l1")).unwrap();
        assert!(t.check_link("l1", Path::new("l1")).is_err());
    }

    #[test]
    fn limits_are_counted_not_declared() {
        let tmp = tempfile::tempdir().unwrap();
        let limits = Limits {
            total: 100,
            file: 60,
            files: 3,
        };
        let mut t = tree(tmp.path(), limits);
        assert!(t.check_declared("big", 1 << 62).is_err());
        t.count("a").unwrap();
        t.file("a", Path::new("a"), 0o644, &mut &[0u8; 50][..])
            .unwrap();
        let err = t
            .file("b", Path::new("b"), 0o644, &mut std::io::repeat(0).take(61))
            .unwrap_err();
        assert!(matches!(err, Error::FileTooLarge { .. }), "{err}");
        t.count("c").unwrap();
        let err = t
            .file("c", Path::new("c"), 0o644, &mut &[0u8; 55][..])
            .unwrap_err();
        assert!(matches!(err, Error::TotalTooLarge { .. }), "{err}");
        t.count("d").unwrap();
        assert!(matches!(t.count("e"), Err(Error::TooManyFiles { .. })));
        assert!(read_small("a", "m", std::io::repeat(0).take(MAX_METADATA_FILE + 1)).is_err());
    }
}
