//! File-system helpers of the store: canonicalisation (read-only modes,
//! mtime 1, only regular files, directories and symlinks), durable writes
//! (fsync of trees and directories), no-clobber renames and exchanges, and
//! deletion of read-only trees. The explicit modes of the store's own
//! directories and files are [`crate::fs`]'s.

use super::{Error, Result};
use nix::sys::stat::{UtimensatFlags, utimensat};
use nix::sys::time::TimeSpec;
use std::fs::{self, File};
use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

/// Maps an I/O error to [`Error::Io`] naming the action and path (for builders).
pub fn err(action: &str, path: &Path) -> impl FnOnce(io::Error) -> Error {
    let io = crate::fs::io(action, path);
    move |source| Error::Io(io(source))
}

fn set_mtime_1(path: &Path) -> Result<()> {
    let one = TimeSpec::new(1, 0);
    utimensat(
        nix::fcntl::AT_FDCWD,
        path,
        &TimeSpec::UTIME_OMIT,
        &one,
        UtimensatFlags::NoFollowSymlink,
    )
    .map_err(|e| {
        Error::from(crate::fs::io("set the modification time of", path)(
            e.into(),
        ))
    })
}

/// The canonical mode of a file or directory: 0444, 0555 when user-executable,
/// 0555 for directories.
pub fn canonical_mode(meta: &fs::Metadata) -> u32 {
    if meta.is_dir() || meta.permissions().mode() & 0o100 != 0 {
        0o555
    } else {
        0o444
    }
}

/// Makes a freshly built tree canonical. The top directory keeps `u+w` so
/// that it can still be renamed into the store (see [`finish_top`]).
pub fn canonicalise(path: &Path) -> Result<()> {
    canonicalise_inner(path, true)
}

fn canonicalise_inner(path: &Path, top: bool) -> Result<()> {
    let meta = fs::symlink_metadata(path).map_err(err("read", path))?;
    let ft = meta.file_type();
    if ft.is_symlink() {
        return set_mtime_1(path);
    }
    if ft.is_dir() {
        fs::set_permissions(path, fs::Permissions::from_mode(0o755))
            .map_err(err("change the mode of", path))?;
        for entry in fs::read_dir(path).map_err(err("read", path))? {
            let entry = entry.map_err(err("read", path))?;
            canonicalise_inner(&entry.path(), false)?;
        }
        let mode = if top { 0o755 } else { 0o555 };
        fs::set_permissions(path, fs::Permissions::from_mode(mode))
            .map_err(err("change the mode of", path))?;
        return set_mtime_1(path);
    }
    if !ft.is_file() {
        return Err(Error::SpecialFile {
            path: path.to_path_buf(),
        });
    }
    let mode = canonical_mode(&meta);
    if meta.permissions().mode() & 0o7777 != mode {
        fs::set_permissions(path, fs::Permissions::from_mode(mode))
            .map_err(err("change the mode of", path))?;
    }
    set_mtime_1(path)
}

/// After the rename into the store: the top directory becomes read-only too.
pub fn finish_top(path: &Path) -> Result<()> {
    let meta = fs::symlink_metadata(path).map_err(err("read", path))?;
    if meta.is_dir() {
        fs::set_permissions(path, fs::Permissions::from_mode(0o555))
            .map_err(err("change the mode of", path))?;
        set_mtime_1(path)?;
    }
    Ok(())
}

/// Re-applies canonical modes to an existing object (repair of a tree whose
/// contents are intact but whose modes were changed by hand).
pub fn restore_modes(path: &Path) -> Result<()> {
    let meta = fs::symlink_metadata(path).map_err(err("read", path))?;
    if meta.file_type().is_symlink() {
        return Ok(());
    }
    if meta.is_dir() {
        fs::set_permissions(path, fs::Permissions::from_mode(0o755))
            .map_err(err("change the mode of", path))?;
        for entry in fs::read_dir(path).map_err(err("read", path))? {
            restore_modes(&entry.map_err(err("read", path))?.path())?;
        }
    }
    fs::set_permissions(path, fs::Permissions::from_mode(canonical_mode(&meta)))
        .map_err(err("change the mode of", path))
}

/// The first file or directory in the tree whose mode is not canonical.
pub fn find_non_canonical(path: &Path) -> io::Result<Option<std::path::PathBuf>> {
    let meta = fs::symlink_metadata(path)?;
    if meta.file_type().is_symlink() {
        return Ok(None);
    }
    if meta.permissions().mode() & 0o7777 != canonical_mode(&meta) {
        return Ok(Some(path.to_path_buf()));
    }
    if meta.is_dir() {
        for entry in fs::read_dir(path)? {
            if let Some(p) = find_non_canonical(&entry?.path())? {
                return Ok(Some(p));
            }
        }
    }
    Ok(None)
}

/// fsyncs every file and directory of a tree, children first.
pub fn fsync_tree(path: &Path) -> Result<()> {
    let meta = fs::symlink_metadata(path).map_err(err("read", path))?;
    if meta.file_type().is_symlink() {
        return Ok(());
    }
    if meta.is_dir() {
        for entry in fs::read_dir(path).map_err(err("read", path))? {
            fsync_tree(&entry.map_err(err("read", path))?.path())?;
        }
    }
    File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(err("sync", path))
}

/// fsyncs a directory (makes renames and new entries in it durable).
pub fn fsync_dir(path: &Path) -> Result<()> {
    File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(err("sync", path))
}

/// Swaps two paths atomically (`RENAME_EXCHANGE`): each name keeps
/// existing throughout.
pub fn exchange(a: &Path, b: &Path) -> Result<()> {
    use nix::fcntl::{AT_FDCWD, RenameFlags, renameat2};
    // Moving a directory to another parent needs write access to it.
    for p in [a, b] {
        if fs::symlink_metadata(p).is_ok_and(|m| m.is_dir()) {
            fs::set_permissions(p, fs::Permissions::from_mode(0o755))
                .map_err(err("change the mode of", p))?;
        }
    }
    renameat2(AT_FDCWD, a, AT_FDCWD, b, RenameFlags::RENAME_EXCHANGE)
        .map_err(|e| Error::from(crate::fs::io("exchange", b)(e.into())))
}

/// Renames `from` to `to` without replacing an existing `to`.
/// Returns `Ok(false)` if `to` exists.
pub fn rename_noreplace(from: &Path, to: &Path) -> Result<bool> {
    use nix::errno::Errno;
    use nix::fcntl::{AT_FDCWD, RenameFlags, renameat2};
    match renameat2(AT_FDCWD, from, AT_FDCWD, to, RenameFlags::RENAME_NOREPLACE) {
        Ok(()) => Ok(true),
        Err(Errno::EEXIST) => Ok(false),
        // File systems without RENAME_NOREPLACE: check, then rename. The
        // caller holds the object's lock, so nobody else creates `to`.
        Err(Errno::EINVAL | Errno::ENOSYS) => {
            if fs::symlink_metadata(to).is_ok() {
                return Ok(false);
            }
            fs::rename(from, to).map_err(err("move into place", to))?;
            Ok(true)
        }
        Err(e) => Err(Error::from(crate::fs::io("move into place", to)(e.into()))),
    }
}

/// Deletes a tree, read-only directories included. A missing path is fine.
pub fn delete_tree(path: &Path) -> Result<()> {
    let meta = match fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(err("read", path)(e)),
    };
    if meta.is_dir() {
        if meta.permissions().mode() & 0o700 != 0o700 {
            fs::set_permissions(path, fs::Permissions::from_mode(0o700))
                .map_err(err("change the mode of", path))?;
        }
        for entry in fs::read_dir(path).map_err(err("read", path))? {
            delete_tree(&entry.map_err(err("read", path))?.path())?;
        }
        match fs::remove_dir(path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(err("delete", path)(e)),
            _ => Ok(()),
        }
    } else {
        match fs::remove_file(path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(err("delete", path)(e)),
            _ => Ok(()),
        }
    }
}

/// Bytes that deleting the tree frees: sizes of files with at most two links
/// (the second being the `.links` entry of an optimised file, which the next
/// gc removes), as Nix counts.
pub fn freeable_size(path: &Path) -> u64 {
    let Ok(meta) = fs::symlink_metadata(path) else {
        return 0;
    };
    if meta.is_dir() {
        let mut total = meta.size();
        if let Ok(entries) = fs::read_dir(path) {
            for e in entries.flatten() {
                total += freeable_size(&e.path());
            }
        }
        total
    } else if meta.nlink() <= 2 {
        meta.size()
    } else {
        0
    }
}

/// A random suffix for temporary names (no extra crate: the std hasher is
/// randomly keyed per process).
pub fn random_suffix() -> String {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.write_u32(std::process::id());
    format!("{}-{:016x}", std::process::id(), h.finish())
}
