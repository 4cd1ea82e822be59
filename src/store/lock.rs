//! Locks of the store, all `flock`s on files of their own (never on the
//! database file, whose POSIX locks SQLite owns):
//!
//! - **per-object** `<store>/.locks/<base>.lock`: one process builds or
//!   deletes an object at a time. Nix's protocol: after locking, a non-empty
//!   file is stale (its holder unlinked it and wrote `d`), so retry; release
//!   is unlink, write `d`, unlock.
//! - **gc lock** `<store>/.db/gc.lock`: gc holds it exclusive for its whole
//!   run; adders hold it shared only while appending a temporary root, so an
//!   append waits for a running gc ("blocking" protocol, as Guix).
//! - **temporary roots** `<store>/.temproots/<pid>`: each process that adds
//!   objects holds an exclusive lock on its own file for its lifetime. A gc
//!   that can lock a file exclusively knows its owner is dead. The files are
//!   readable by every user of the store (`0644`).
//! - **staging directories** are locked through their directory fd while in
//!   use; an unlocked one is a crash leftover.

use super::fsutil::err;
use super::{Error, Result};
use nix::fcntl::{Flock, FlockArg};
use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

fn open_lock_file(path: &Path) -> Result<File> {
    crate::fs::open_lock_file(path).map_err(err("open lock file", path))
}

/// Locks an open file; `Ok(None)` if `wait` is false and it is held.
pub fn flock(file: File, arg: FlockArg, path: &Path) -> Result<Option<Flock<File>>> {
    crate::fs::flock(file, arg).map_err(err("lock", path))
}

/// An exclusive per-object lock, released by the unlink-then-`d` protocol.
#[derive(Debug)]
pub struct PathLock {
    lock: Option<Flock<File>>,
    path: PathBuf,
}

impl PathLock {
    /// Takes the lock at `path`, waiting if `wait`; `Ok(None)` if it is held
    /// and `wait` is false.
    pub fn acquire(path: &Path, wait: bool) -> Result<Option<Self>> {
        let arg = if wait {
            FlockArg::LockExclusive
        } else {
            FlockArg::LockExclusiveNonblock
        };
        loop {
            let file = open_lock_file(path)?;
            let Some(lock) = flock(file, arg, path)? else {
                return Ok(None);
            };
            let len = lock.metadata().map_err(err("read lock file", path))?.len();
            if len == 0 {
                return Ok(Some(Self {
                    lock: Some(lock),
                    path: path.to_path_buf(),
                }));
            }
            // Stale: the previous holder unlinked it; a fresh file may exist.
        }
    }
}

impl Drop for PathLock {
    fn drop(&mut self) {
        if let Some(mut lock) = self.lock.take() {
            let _ = std::fs::remove_file(&self.path);
            let _ = lock.write_all(b"d");
        }
    }
}

/// Takes the gc lock, shared or exclusive, waiting for it.
pub fn gc_lock(path: &Path, exclusive: bool) -> Result<Flock<File>> {
    let arg = if exclusive {
        FlockArg::LockExclusive
    } else {
        FlockArg::LockShared
    };
    Ok(flock(open_lock_file(path)?, arg, path)?.expect("blocking lock"))
}

/// This process's temporary roots file.
#[derive(Debug)]
pub struct TempRoots {
    file: Flock<File>,
    path: PathBuf,
    gc_lock: PathBuf,
    /// The gc lock file, kept open (unlocked) between appends: each append
    /// only locks and unlocks it.
    gc_file: Option<File>,
    roots: HashSet<String>,
}

impl TempRoots {
    /// Creates `<dir>/<pid>`, replacing a stale file of a dead process with
    /// the same pid, under the shared gc lock.
    pub fn create(dir: &Path, gc_lock_path: &Path) -> Result<Self> {
        let _gc = gc_lock(gc_lock_path, false)?;
        let path = dir.join(std::process::id().to_string());
        let _ = std::fs::remove_file(&path);
        // Readable by whoever may run gc on this store (it must read every
        // process's roots, and stops at one it cannot read).
        let mode = 0o644;
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .create_new(true)
            .mode(mode)
            .open(&path)
            .map_err(err("create temporary roots file", &path))?;
        crate::fs::set_own_mode(&file, mode).map_err(err("change the mode of", &path))?;
        let file = flock(file, FlockArg::LockExclusive, &path)?.expect("blocking lock");
        Ok(Self {
            file,
            path,
            gc_lock: gc_lock_path.to_path_buf(),
            gc_file: None,
            roots: HashSet::new(),
        })
    }

    /// Records every one of `hash_parts` (those not recorded yet) as in use
    /// by this process, under one hold of the gc lock and in one write.
    /// Waits while a gc runs: after this returns, no gc deletes them until
    /// the process ends.
    pub fn add_all(&mut self, hash_parts: &[&str]) -> Result<()> {
        let mut text = String::new();
        for h in hash_parts {
            if !self.roots.contains(*h) {
                text.push_str(h);
                text.push('\n');
            }
        }
        if text.is_empty() {
            return Ok(());
        }
        let file = match self.gc_file.take() {
            Some(f) => f,
            None => open_lock_file(&self.gc_lock)?,
        };
        let gc = flock(file, FlockArg::LockShared, &self.gc_lock)?.expect("blocking lock");
        let linked = self
            .file
            .metadata()
            .map_err(err("read temporary roots file", &self.path))?
            .nlink();
        if linked == 0 {
            return Err(Error::from(crate::fs::io(
                "use temporary roots file",
                &self.path,
            )(std::io::Error::other(
                "it was deleted while in use",
            ))));
        }
        // One write for all (`writeln!` would make two a root).
        self.file
            .write_all(text.as_bytes())
            .map_err(err("write", &self.path))?;
        self.roots.extend(hash_parts.iter().map(|h| h.to_string()));
        // Unlocked, kept for the next append (on an error, closed: unlocked
        // all the same, and opened again next time).
        self.gc_file = gc.unlock().ok();
        Ok(())
    }
}

impl Drop for TempRoots {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Reads every live process's temporary roots. With `remove_dead` (only
/// while holding the gc lock exclusive) the files of dead processes are
/// removed. A file that cannot be read is an error (gc fails closed).
pub fn read_temp_roots(dir: &Path, remove_dead: bool) -> Result<HashSet<String>> {
    let mut roots = HashSet::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(roots),
        Err(e) => return Err(err("read", dir)(e)),
    };
    for entry in entries {
        let path = entry.map_err(err("read", dir))?.path();
        // A file that is gone belonged to a process that just ended; one
        // that cannot be read protects objects nobody can know: fail.
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(err("read temporary roots file", &path)(e)),
        };
        match flock(file, FlockArg::LockExclusiveNonblock, &path)? {
            Some(_dead) => {
                if remove_dead {
                    let _ = std::fs::remove_file(&path);
                }
            }
            None => match std::fs::read_to_string(&path) {
                Ok(text) => roots.extend(text.lines().map(str::to_string)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(err("read temporary roots file", &path)(e)),
            },
        }
    }
    Ok(roots)
}

/// A staging directory, locked while in use and deleted when dropped.
#[derive(Debug)]
pub struct Stage {
    dir: PathBuf,
    _lock: Flock<File>,
}

impl Stage {
    /// Creates and locks `<staging>/<random>` (mode 0700).
    pub fn new(staging: &Path) -> Result<Self> {
        use std::os::unix::fs::DirBuilderExt;
        loop {
            let dir = staging.join(super::fsutil::random_suffix());
            std::fs::DirBuilder::new()
                .mode(0o700)
                .create(&dir)
                .map_err(err("create staging directory", &dir))?;
            let f = match File::open(&dir) {
                Ok(f) => f,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(err("open", &dir)(e)),
            };
            let lock = flock(f, FlockArg::LockExclusive, &dir)?.expect("blocking lock");
            // A concurrent cleanup may have taken it for a leftover between
            // mkdir and flock: then it is gone, and we try another name.
            let ours = lock.metadata().map_err(err("read", &dir))?.ino();
            if std::fs::metadata(&dir).is_ok_and(|m| m.ino() == ours) {
                return Ok(Self { dir, _lock: lock });
            }
        }
    }

    /// The locked directory itself.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Where the builder writes the object.
    pub fn out(&self) -> PathBuf {
        self.dir.join("out")
    }
}

impl Drop for Stage {
    fn drop(&mut self) {
        let _ = super::fsutil::delete_tree(&self.dir);
    }
}
