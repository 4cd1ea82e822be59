//! File-system primitives every layer uses: explicit modes whatever the
//! umask, atomic and durable file writes, and `flock` that survives
//! signals.
//!
//! Modes (the store's own directories and files, `.buildout`, and the
//! caches under `~/.buildout`):
//!
//! - a directory is made `0755`, or `0o2775` (the group may write, new
//!   entries keep the group) when the directory it is made in is
//!   group-writable: a group-shared store is one whose root its admin made
//!   group-writable (and not world-writable: what is made in `/tmp` is
//!   private); nothing is ever made world-writable;
//! - lock files are `0600`, `0660` in a group-writable directory;
//! - other files (temporary roots, the database, records, cached pages)
//!   are `0644`, `0664` in a group-writable directory: readable by every
//!   user who may enter the directory (gc must read every process's
//!   roots).
//!
//! [`replace_file`] replaces a user's file atomically and durably (the
//! versions file); [`write_cache_file`] writes a cache entry (index pages,
//! metadata, interpreter facts, cached `extends`).

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};
use std::fs::{self, File};
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// An I/O error with what was being done and to which path. Every
/// module's error enum wraps it as its `Io` variant.
#[derive(Debug, thiserror::Error)]
#[error("cannot {action} `{path}`: {source}")]
pub struct IoError {
    pub action: String,
    pub path: PathBuf,
    #[source]
    pub source: io::Error,
}

/// For `map_err`: an I/O error naming the action (`"read"`, `"create"`)
/// and the path.
pub fn io(action: &str, path: &Path) -> impl FnOnce(io::Error) -> IoError {
    let action = action.to_string();
    let path = path.to_path_buf();
    move |source| IoError {
        action,
        path,
        source,
    }
}

/// Whether a directory of mode `mode` is shared with its group: the group
/// may write it and others may not. A world-writable directory (`/tmp`,
/// mode `1777`) says nothing about a group, so what is made in it is
/// private.
fn group_shared(mode: u32) -> bool {
    mode & 0o020 != 0 && mode & 0o002 == 0
}

/// The mode of a directory made inside `parent` (see the module docs).
pub fn dir_mode_in(parent: &Path) -> io::Result<u32> {
    let shared = group_shared(fs::metadata(parent)?.mode());
    Ok(if shared { 0o2775 } else { 0o755 })
}

/// The mode of a file made inside `parent` that only its owner writes
/// (`private`: and only its owner reads) and, in a group-writable
/// directory, the group too.
pub fn file_mode_in(parent: &Path, private: bool) -> io::Result<u32> {
    let shared = group_shared(fs::metadata(parent)?.mode());
    Ok(match (shared, private) {
        (true, true) => 0o660,
        (true, false) => 0o664,
        (false, true) => 0o600,
        (false, false) => 0o644,
    })
}

/// Makes `path` a directory of exactly `mode` (not subject to the umask).
/// An existing directory keeps its mode, unless it is world-writable (made
/// by an older version under `umask 000`): then it gets `mode`.
pub fn ensure_dir(path: &Path, mode: u32) -> io::Result<()> {
    match fs::DirBuilder::new().mode(mode & 0o777).create(path) {
        Ok(()) => fs::set_permissions(path, fs::Permissions::from_mode(mode)),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            let meta = fs::metadata(path)?;
            if !meta.is_dir() {
                return Err(io::Error::from_raw_os_error(
                    nix::errno::Errno::ENOTDIR as i32,
                ));
            }
            if meta.mode() & 0o002 != 0 {
                fs::set_permissions(path, fs::Permissions::from_mode(mode))?;
            }
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// `create_dir_all` with explicit modes: each directory it creates gets
/// [`dir_mode_in`] its parent; existing ones are left as they are.
pub fn create_dir_all(path: &Path) -> io::Result<()> {
    if fs::metadata(path).is_ok_and(|m| m.is_dir()) {
        return Ok(());
    }
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    create_dir_all(parent)?;
    let mode = dir_mode_in(parent)?;
    match fs::DirBuilder::new().mode(mode & 0o777).create(path) {
        Ok(()) => fs::set_permissions(path, fs::Permissions::from_mode(mode)),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists && path.is_dir() => Ok(()),
        Err(e) => Err(e),
    }
}

/// Gives a file this process owns exactly `mode` (a file another user
/// made is left as it is).
pub fn set_own_mode(file: &File, mode: u32) -> io::Result<()> {
    let meta = file.metadata()?;
    if meta.mode() & 0o7777 != mode && meta.uid() == nix::unistd::geteuid().as_raw() {
        file.set_permissions(fs::Permissions::from_mode(mode))?;
    }
    Ok(())
}

/// Opens (creating if needed) a lock file for writing, with the private
/// mode of its directory ([`file_mode_in`]).
pub fn open_lock_file(path: &Path) -> io::Result<File> {
    let parent = path.parent().unwrap_or(Path::new("."));
    let mode = file_mode_in(parent, true)?;
    let file = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(mode)
        .open(path)?;
    set_own_mode(&file, mode)?;
    Ok(file)
}

/// Writes `bytes` to `path` (created or truncated) with the public mode of
/// its directory ([`file_mode_in`]), whatever the umask; `sync` makes the
/// contents durable before returning.
pub fn write_file(path: &Path, bytes: &[u8], sync: bool) -> io::Result<()> {
    use std::io::Write;
    let parent = path.parent().unwrap_or(Path::new("."));
    let mode = file_mode_in(parent, false)?;
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(path)?;
    set_own_mode(&file, mode)?;
    file.write_all(bytes)?;
    if sync {
        file.sync_all()?;
    }
    Ok(())
}

/// Replaces (or creates) `path` with `bytes` atomically and durably: a
/// temporary file in the same directory is written, given the mode of the
/// file it replaces (a new file gets `0666` less the umask), fsynced and
/// renamed over `path`, and the directory is fsynced. A crash leaves the
/// old content or the new one, never a mix. A symlink at `path` is
/// followed (its target is replaced), as a plain write would.
pub fn replace_file(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write;
    let resolved = fs::canonicalize(path).ok();
    let path = resolved.as_deref().unwrap_or(path);
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let mode = match fs::symlink_metadata(path) {
        Ok(meta) if meta.is_file() => Some(meta.permissions().mode() & 0o7777),
        _ => None,
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .permissions(fs::Permissions::from_mode(0o666))
        .tempfile_in(dir)?;
    if let Some(mode) = mode {
        tmp.as_file()
            .set_permissions(fs::Permissions::from_mode(mode))?;
    }
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    File::open(dir)?.sync_all()
}

/// Writes a cache entry: parent directories and the file get explicit
/// modes (a cache another user could write would feed this one's runs),
/// and the file appears whole (written under a temporary name, then
/// renamed). Not fsynced: a lost entry is fetched again.
pub fn write_cache_file(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let parent = path.parent().unwrap_or(Path::new("."));
    create_dir_all(parent)?;
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let tmp = parent.join(format!(".{name}.{}.tmp", std::process::id()));
    let written = write_file(&tmp, bytes, false).and_then(|()| fs::rename(&tmp, path));
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written
}

/// Locks an open file, retrying when a signal interrupts the wait;
/// `Ok(None)` if `arg` does not wait and the lock is held.
pub fn flock(file: File, arg: FlockArg) -> io::Result<Option<Flock<File>>> {
    match Flock::lock(file, arg) {
        Ok(l) => Ok(Some(l)),
        Err((_, Errno::EWOULDBLOCK)) => Ok(None),
        Err((f, Errno::EINTR)) => flock(f, arg),
        Err((_, e)) => Err(e.into()),
    }
}

/// Copies the tree `from` to `to` (which must not exist): directories,
/// regular files with their permission bits, symbolic links as links
/// (never followed). Anything else (a device, a socket) is refused.
pub fn copy_tree(from: &Path, to: &Path) -> io::Result<()> {
    let meta = std::fs::symlink_metadata(from)?;
    if meta.file_type().is_symlink() {
        std::os::unix::fs::symlink(std::fs::read_link(from)?, to)
    } else if meta.is_dir() {
        std::fs::create_dir(to)?;
        for e in std::fs::read_dir(from)? {
            let e = e?;
            copy_tree(&e.path(), &to.join(e.file_name()))?;
        }
        Ok(())
    } else if meta.is_file() {
        std::fs::copy(from, to).map(drop)
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "{} is neither a file, a directory nor a link",
                from.display()
            ),
        ))
    }
}

/// The civil date (year, month, day) of a day count since 1970-01-01
/// (Howard Hinnant's algorithm), for file and object times shown or sent
/// as dates.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_group_writable_directory_shares_with_its_group() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = |mode: u32| {
            let d = tmp.path().join(format!("{mode:o}"));
            fs::create_dir(&d).unwrap();
            fs::set_permissions(&d, fs::Permissions::from_mode(mode)).unwrap();
            d
        };
        assert_eq!(dir_mode_in(&dir(0o2775)).unwrap(), 0o2775);
        assert_eq!(file_mode_in(&dir(0o770), true).unwrap(), 0o660);
        // /tmp-like: world-writable with the sticky bit is no group.
        let sticky = dir(0o1777);
        assert_eq!(dir_mode_in(&sticky).unwrap(), 0o755);
        assert_eq!(file_mode_in(&sticky, false).unwrap(), 0o644);
        assert_eq!(dir_mode_in(&dir(0o755)).unwrap(), 0o755);
    }

    #[test]
    fn replace_file_keeps_the_mode_follows_links_and_leaves_no_temporary() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("versions.cfg");
        fs::write(&file, "old").unwrap();
        fs::set_permissions(&file, fs::Permissions::from_mode(0o640)).unwrap();
        let link = tmp.path().join("link.cfg");
        std::os::unix::fs::symlink("versions.cfg", &link).unwrap();
        replace_file(&link, b"new").unwrap();
        assert_eq!(fs::read_to_string(&file).unwrap(), "new");
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        let mode = fs::metadata(&file).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode, 0o640);
        let fresh = tmp.path().join("fresh.cfg");
        replace_file(&fresh, b"x").unwrap();
        assert_eq!(fs::read_to_string(&fresh).unwrap(), "x");
        let mut names: Vec<String> = fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["fresh.cfg", "link.cfg", "versions.cfg"]);
    }
}
