//! Building sdists and source trees through PEP 517.
//!
//! The pieces, used by [`super::dists`] (sdists from an index) and
//! [`super::develop`] (editable builds of local projects); reading
//! archives lives in `sdist/archive.rs`, PEP 517 in `sdist/backend.rs`:
//!
//! * [`unpack`]: a `.tar.gz`/`.tgz`, `.tar.bz2`, `.tar.xz` or `.zip` sdist
//!   into a directory, with the rules of Python's `tarfile` data filter
//!   applied ourselves: absolute paths, `..`, links pointing outside the
//!   tree (also through other links: each is resolved once every member
//!   is in place), hard links to anything but a regular file of the tree,
//!   and device or fifo entries fail the unpack with an error naming the
//!   sdist and the member. Members are written through
//!   [`super::extract`], which never follows a link (a member placed
//!   under a symlink is an error, not a file outside the tree) and stops
//!   at the unpack limits. Every format is decompressed as it is read
//!   (`.tar.xz` by a decoder thread writing into a pipe), and the tar
//!   stream is metered: the headers between two members (GNU long names,
//!   pax records, which the `tar` crate holds in memory) may not exceed
//!   1 MiB.
//! * [`static_metadata`]: `PKG-INFO` read from the archive without
//!   unpacking; usable when its `Metadata-Version` is ≥ 2.2 and none of
//!   the fields resolution needs (`Requires-Dist`, `Requires-Python`,
//!   `Provides-Extra`) is `Dynamic`.
//! * [`BuildSystem::read`]: `[build-system]` of `pyproject.toml`, with the
//!   PEP 517 fallbacks (`setuptools>=40.8.0` and
//!   `setuptools.build_meta:__legacy__`); `backend-path` entries must stay
//!   inside the source tree.
//! * [`Backend::call`]: one hook in a fresh interpreter process. Isolation
//!   without a virtualenv: `<python> -I -S -u -c <driver>` (unbuffered, so output
//!   lines arrive as they are printed) starts with the
//!   standard library only (no site-packages, no user site, no
//!   `PYTHONPATH`, no current directory); the driver then calls
//!   `site.addsitedir` on each build requirement's store directory, so
//!   their `.pth` files (setuptools' `distutils-precedence.pth`) are
//!   processed, prepends `backend-path`, imports the backend and calls the
//!   hook in the source tree. Their `.prefix/bin` directories (console
//!   scripts such as `cython`) go first on `PATH`. The hook's result is
//!   written as JSON to a file, so backend output cannot corrupt it;
//!   stdout and stderr are captured together (one pipe, copied to a log
//!   by a reader thread) and shown whole when the hook fails; each
//!   non-empty line is passed on as it is printed ([`OutputLines`]: the
//!   progress layer shows the last one). Python subprocesses the backend starts do not inherit the
//!   isolation (they see the base interpreter's site-packages).

mod archive;
mod backend;

pub use archive::{pkg_info, unpack};
pub use backend::{Backend, BuildSystem, OutputLines};

use super::extract;
use crate::index::Metadata;
use std::path::Path;

/// The default build system of projects without `[build-system]`.
pub const DEFAULT_REQUIRES: &str = "setuptools>=40.8.0";
/// The default backend (PEP 517's fallback for `setup.py` projects).
pub const DEFAULT_BACKEND: &str = "setuptools.build_meta:__legacy__";

/// A build error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read sdist `{archive}`: {message}")]
    Archive { archive: String, message: String },
    #[error("sdist `{archive}` contains an unsafe path `{path}`: {why}")]
    UnsafePath {
        archive: String,
        path: String,
        why: &'static str,
    },
    #[error(
        "sdist `{archive}` uses an unsupported archive format (supported: .tar.gz, .tgz, .tar.bz2, .tar.xz, .zip)"
    )]
    Unsupported { archive: String },
    #[error("sdist `{archive}` has no source tree (no single top directory with a project in it)")]
    NoSourceTree { archive: String },
    #[error("invalid `{path}`: {message}")]
    Pyproject { path: String, message: String },
    #[error("building `{project}` failed: the backend's `{hook}` {message}{output}")]
    Hook {
        project: String,
        hook: String,
        message: String,
        /// The backend's captured output, prefixed with a newline.
        output: String,
    },
    #[error("cannot run `{python}`: {source}")]
    Spawn {
        python: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Extract(#[from] extract::Error),
    #[error(transparent)]
    Io(#[from] crate::fs::IoError),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

use crate::fs::io;

fn label(archive: &Path) -> String {
    archive.file_name().map_or_else(
        || archive.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// The sdist's metadata when `PKG-INFO` can be trusted for resolution.
pub fn static_metadata(archive: &Path) -> Result<Option<Metadata>> {
    let Some(bytes) = pkg_info(archive)? else {
        return Ok(None);
    };
    let Ok(meta) = Metadata::parse(&bytes) else {
        return Ok(None);
    };
    Ok(trusted(&meta).then_some(meta))
}

/// Metadata-Version ≥ 2.2 and nothing resolution needs is `Dynamic`.
fn trusted(meta: &Metadata) -> bool {
    let version: Vec<u32> = meta
        .metadata_version
        .split('.')
        .map(|p| p.trim().parse().unwrap_or(0))
        .collect();
    let new_enough = version.first().copied().unwrap_or(0) > 2
        || (version.first() == Some(&2) && version.get(1).copied().unwrap_or(0) >= 2);
    new_enough
        && !meta.dynamic.iter().any(|d| {
            matches!(
                d.to_ascii_lowercase().as_str(),
                "requires-dist" | "requires-python" | "provides-extra"
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn build_system_defaults_and_dynamic_metadata() {
        let tmp = tempfile::tempdir().unwrap();
        let s = BuildSystem::read(tmp.path()).unwrap();
        assert_eq!(s.backend, DEFAULT_BACKEND);
        assert_eq!(s.requires, vec![DEFAULT_REQUIRES.to_string()]);
        fs::write(
            tmp.path().join("pyproject.toml"),
            "[build-system]\nrequires = [\"x\"]\nbackend-path = [\"../out\"]\n",
        )
        .unwrap();
        assert!(BuildSystem::read(tmp.path()).is_err());
        let m = Metadata::parse(
            b"Metadata-Version: 2.2\nName: a\nVersion: 1\nDynamic: Requires-Dist\n",
        )
        .unwrap();
        assert!(!trusted(&m));
        let m = Metadata::parse(b"Metadata-Version: 2.1\nName: a\nVersion: 1\n").unwrap();
        assert!(!trusted(&m));
    }
}
