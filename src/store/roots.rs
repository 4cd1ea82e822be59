//! The GC-root registry, `<store>/.roots/`:
//!
//! - `pins/<name>` → `<store>/<base>`: named pins (direct roots);
//! - `auto/<hash of the link path>` → a path outside the store: an indirect
//!   root. The target is either a symlink (chain) into the store, or a
//!   directory whose symlinks each lead into the store — a buildout
//!   directory registers its `.buildout/generations/` this way, so every
//!   kept generation is a root and deleting one is just an unlink.
//!
//! An indirect root whose target no longer exists (`ENOENT`, or `ENOTDIR`)
//! is removed when roots are collected (the buildout directory was
//! deleted). Any other error reading a root (a directory gc may not
//! search, a link loop, an I/O error) aborts root collection, so gc fails
//! closed: it never deletes what a root it could not read keeps alive. Roots live in the file
//! system, never in the database: symlinks are atomic and visible to `ls`.

use super::fsutil::{self, err};
use super::path::{self, StorePath};
use super::{Error, Result, Store};
use std::path::{Path, PathBuf};

/// Where a root comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RootSource {
    /// `.roots/pins/<name>`.
    Pin(String),
    /// A link outside the store, registered in `.roots/auto/`.
    Indirect(PathBuf),
}

/// One root: an object kept alive, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Root {
    pub path: StorePath,
    pub source: RootSource,
}

impl std::fmt::Display for RootSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RootSource::Pin(n) => write!(f, "pin `{n}`"),
            RootSource::Indirect(p) => write!(f, "`{}`", p.display()),
        }
    }
}

/// Follows a chain of symlinks from `start` until it names a store object
/// (`None` on any error: for naming objects, never for gc).
pub fn resolve_link_chain(store: &Store, start: &Path) -> Option<StorePath> {
    follow_chain(store, start).ok().flatten()
}

/// Whether an error of `lstat`/`readlink` means the path does not exist:
/// `ENOENT`, or `ENOTDIR` (a component of the path is not a directory, so
/// nothing can be at that path; Nix's `pathExists` reads it the same way).
/// Every other error (`EACCES`, `ELOOP`, `ENAMETOOLONG`, `EIO`...) means
/// the path cannot be read, which gc must never take for "gone".
pub(crate) fn is_missing(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::NotFound
        || e.raw_os_error() == Some(nix::errno::Errno::ENOTDIR as i32)
}

/// `Some(value)`, `None` if the path is missing ([`is_missing`]), or the
/// error naming `action` and `path`.
fn existing<T>(r: std::io::Result<T>, action: &str, path: &Path) -> Result<Option<T>> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if is_missing(&e) => Ok(None),
        Err(e) => Err(err(action, path)(e)),
    }
}

/// Follows a chain of symlinks from `start`: `Some` when it leads into the
/// store, `None` when it ends elsewhere (at something that is not a
/// symlink, or at a missing path), an error when a link cannot be read or
/// the chain does not end.
fn follow_chain(store: &Store, start: &Path) -> Result<Option<StorePath>> {
    let mut p = start.to_path_buf();
    for _ in 0..40 {
        if let Some(sp) = store.object_of(&p) {
            return Ok(Some(sp));
        }
        let target = match std::fs::read_link(&p) {
            Ok(t) => t,
            Err(e) if e.raw_os_error() == Some(nix::errno::Errno::EINVAL as i32) => {
                return Ok(None);
            }
            Err(e) if is_missing(&e) => return Ok(None),
            Err(e) => return Err(err("read the root link", &p)(e)),
        };
        p = if target.is_absolute() {
            target
        } else {
            match p.parent() {
                Some(parent) => parent.join(target),
                None => return Ok(None),
            }
        };
    }
    Err(err("read the root link", start)(
        std::io::Error::from_raw_os_error(nix::errno::Errno::ELOOP as i32),
    ))
}

fn check_pin_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"+-._".contains(&c));
    if ok {
        Ok(())
    } else {
        Err(Error::BadRootName(name.to_string()))
    }
}

/// Creates or replaces the symlink `link` → `target` atomically, durably.
fn replace_symlink(target: &Path, link: &Path) -> Result<()> {
    let dir = link.parent().expect("link in a directory");
    let tmp = dir.join(format!(".tmp-{}", fsutil::random_suffix()));
    std::os::unix::fs::symlink(target, &tmp).map_err(err("create symlink", &tmp))?;
    std::fs::rename(&tmp, link).map_err(err("create root", link))?;
    fsutil::fsync_dir(dir)
}

impl Store {
    /// Pins a registered object under `name` (replacing an older pin of
    /// that name).
    pub fn add_pin(&self, name: &str, p: &StorePath) -> Result<()> {
        check_pin_name(name)?;
        if !self.root_and_check(p)? {
            return Err(Error::NotValid(self.real_path(p).display().to_string()));
        }
        replace_symlink(
            &self.real_path(p),
            &self.dir().join(".roots/pins").join(name),
        )
    }

    /// Removes a pin; returns whether it existed.
    pub fn remove_pin(&self, name: &str) -> Result<bool> {
        check_pin_name(name)?;
        let link = self.dir().join(".roots/pins").join(name);
        match std::fs::remove_file(&link) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(err("remove", &link)(e)),
        }
    }

    /// Registers `link` (a symlink into the store, or a directory of such
    /// symlinks, e.g. a buildout's `.buildout/generations`) as a root.
    pub fn add_indirect_root(&self, link: &Path) -> Result<()> {
        let abs = if link.is_absolute() {
            link.to_path_buf()
        } else {
            std::env::current_dir()
                .map_err(err("resolve", link))?
                .join(link)
        };
        let key = path::sha256(abs.as_os_str().as_encoded_bytes());
        let name = &path::nix32_encode(&key)[..path::HASH_CHARS];
        replace_symlink(&abs, &self.dir().join(".roots/auto").join(name))
    }

    /// Every root. Indirect roots whose target is gone are removed when
    /// `remove_dangling` (returned in the second list). Fails closed: a
    /// root that cannot be read (anything but a missing target, see
    /// [`is_missing`]) is an error naming it, never "no root" (gc would
    /// then delete what it keeps alive).
    pub fn find_roots(&self, remove_dangling: bool) -> Result<(Vec<Root>, Vec<PathBuf>)> {
        let mut roots = Vec::new();
        let mut dangling = Vec::new();
        let pins = self.dir().join(".roots/pins");
        for entry in std::fs::read_dir(&pins).map_err(err("read", &pins))? {
            let entry = entry.map_err(err("read", &pins))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            match follow_chain(self, &entry.path())? {
                Some(p) => roots.push(Root {
                    path: p,
                    source: RootSource::Pin(name),
                }),
                None => dangling.push(entry.path()),
            }
        }
        let auto = self.dir().join(".roots/auto");
        for entry in std::fs::read_dir(&auto).map_err(err("read", &auto))? {
            let entry = entry.map_err(err("read", &auto))?;
            if entry.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            let target = match std::fs::read_link(entry.path()) {
                Ok(t) => t,
                // Replaced by a rename right now: nothing to read.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(err("read the root link", &entry.path())(e)),
            };
            let stat = std::fs::symlink_metadata(&target);
            let Some(meta) = existing(stat, "read the root", &target)? else {
                dangling.push(entry.path());
                continue;
            };
            if meta.is_dir() {
                let list = std::fs::read_dir(&target);
                let Some(list) = existing(list, "read the root directory", &target)? else {
                    dangling.push(entry.path());
                    continue;
                };
                for e in list {
                    let e = e.map_err(err("read the root directory", &target))?;
                    if let Some(p) = follow_chain(self, &e.path())? {
                        roots.push(Root {
                            path: p,
                            source: RootSource::Indirect(e.path()),
                        });
                    }
                }
            } else if let Some(p) = follow_chain(self, &target)? {
                roots.push(Root {
                    path: p,
                    source: RootSource::Indirect(target),
                });
            }
        }
        if remove_dangling {
            for d in &dangling {
                let _ = std::fs::remove_file(d);
            }
        }
        roots.sort_by(|a, b| a.path.cmp(&b.path));
        Ok((roots, dangling))
    }
}
