//! Distributions into the store: the resolver's view of the index and the
//! store, and realising a resolution as store objects.
//!
//! [`IndexProvider`] answers the resolver from the index (compatible
//! wheels, and sdists of versions that have no compatible wheel, grouped
//! by version; a compatible wheel always wins over the sdist), from the
//! store (distributions already installed, which is what `newest = false`
//! and offline mode reuse) and from local projects ([`LocalDist`]: develop
//! eggs, which hide every index version of their name, as zc.buildout's
//! develop eggs win). [`realise`] turns each resolved version into its
//! store object: the address is the digest of the wheel's sha256, the
//! installer (with or without bytecode: `compile-bytecode`) and the
//! interpreter's cache tag (left out only for pure wheels without
//! bytecode), so a distribution already in the store costs one database
//! lookup. Missing wheels go through one pipeline ([`install`]):
//! parallel downloads, each unpacked as it arrives, its bytecode compiled
//! by one pool of Python workers while later wheels are still unpacking,
//! each tree hashed when complete, then all of them added in one batch
//! ([`crate::store::Store::add_batch`]). An object's origin records the
//! file's URL and sha256, which lets the store-only attempt of `-N` take
//! only objects this run would make, and `store verify --repair` make a
//! damaged one again ([`rebuild_dist`]).
//!
//! Sdists ([`super::sdist`]): their metadata is `PKG-INFO` when it can be
//! trusted (read from the downloaded sdist, which the build needs anyway),
//! else the metadata of the built wheel. The build runs in an isolated
//! environment made of store objects: `[build-system] requires` and then
//! `get_requires_for_build_wheel` are resolved with the buildout's rules
//! ([`sdist_build`]) and installed like any distribution. The built
//! wheel is an `artifact` object addressed by the sdist's sha256, the
//! interpreter's cache tag and [`BUILDER`], so an sdist is built once per
//! interpreter; the installed distribution is addressed by the same sdist
//! hash and interpreter (a built wheel's own bytes are not reproducible).
//!
//! One concern per module: [`provider`] (the resolver's view),
//! [`metadata`] (reading `METADATA` from wheels and installed
//! distributions), [`install`] ([`realise`] and the install pipeline),
//! [`address`] (store addresses and origins), [`reuse`] (a resolution
//! kept under the fingerprint of its inputs), [`speculate`] (what the
//! index client's prefetch workers guess the resolver will ask), [`hash_cache`] (the sha256 of
//! local files, remembered across runs), [`sdist_build`] (sdists and source
//! trees built into wheels), [`custom`] (`zc.recipe.egg:custom` builds) and
//! [`repair`] ([`rebuild_dist`]) and [`locked`] (the files a lock records,
//! and installing exactly them: [`realise_locked`]). This file holds what they share:
//! [`DistEnv`], [`Error`], [`Progress`], the identities hashed into
//! addresses and [`store_scratch`].

mod address;
mod custom;
mod hash_cache;
mod install;
mod locked;
mod metadata;
mod provider;
mod repair;
mod reuse;
mod sdist_build;
mod speculate;

pub use custom::custom_build;
pub use install::{Action, Preview, install_wheel, preview, realise};
pub use locked::{
    LockedDist, LockedError, LockedFile, Wanted, lock_builds, lock_files, path_url, preview_locked,
    realise_locked,
};
pub use metadata::read_store_metadata;
pub use provider::{IndexProvider, LocalDist};
pub use repair::rebuild_dist;
pub use reuse::Reuse;
pub use sdist_build::build_tree;

use super::wheel;
use crate::index;
use crate::python::{Facts, Tags};
use crate::resolve;
use crate::store::{self, Store};
use pep440_rs::Version;
use std::cell::RefCell;
use std::str::FromStr;

/// Installer identity, part of every distribution's address: a change in
/// how wheels are installed gives new objects.
pub const INSTALLER: &str = "buildout-wheel-install-1";
/// [`INSTALLER`] with `compile-bytecode = false`.
pub const INSTALLER_NO_BYTECODE: &str = "buildout-wheel-install-1+no-bytecode";

/// Builder identity, part of a built wheel's address.
pub const BUILDER: &str = "buildout-pep517-1";

/// A distribution error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Index(#[from] index::Error),
    #[error(transparent)]
    Store(#[from] store::Error),
    #[error(transparent)]
    Wheel(#[from] wheel::Error),
    #[error(transparent)]
    Resolve(#[from] resolve::Error),
    #[error(transparent)]
    Sdist(#[from] super::sdist::Error),
    #[error("building `{chain}` needs itself: a cycle in build requirements")]
    BuildCycle { chain: String },
    #[error("the build requirements of `{project}` cannot be resolved: {message}")]
    BuildRequirements { project: String, message: String },
    #[error("no compatible wheel or sdist of `{name} {version}` for this interpreter ({python})")]
    NoWheel {
        name: String,
        version: String,
        python: String,
    },
    #[error("`{name} {version}` has no sdist to build with the part's custom build settings")]
    NoSdist { name: String, version: String },
    #[error("cannot read the metadata of `{path}`: {message}")]
    StoreMetadata { path: String, message: String },
    #[error(transparent)]
    Io(#[from] crate::fs::IoError),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What realising distributions needs.
pub struct DistEnv<'a> {
    pub store: &'a Store,
    pub client: &'a index::Client,
    pub facts: &'a Facts,
    pub tags: &'a Tags,
    /// The interpreter (scripts' `#!python`, bytecode, builds).
    pub python: String,
    /// The buildout's resolution rules, also used for build requirements.
    pub options: resolve::Options,
    /// Projects being built (`name version`), outermost first: a build
    /// requirement that needs one of them is a cycle.
    pub building: RefCell<Vec<String>>,
    /// Download progress (a terminal status line, or nothing).
    pub reporter: &'a dyn index::Reporter,
    /// `[buildout] compile-bytecode`: compile `.pyc` files into each
    /// distribution object (default), or leave them to the first import
    /// (into [`Store::bytecode_cache`], see `build::scripts`).
    pub compile_bytecode: bool,
    /// `[buildout] max-unpacked-*`: how much one wheel or sdist may
    /// unpack to.
    pub limits: super::extract::Limits,
    /// The build requirements of sdists as a lock file has them (or
    /// records them).
    pub builds: &'a BuildLock,
}

/// Sdists' build requirements and a lock file ([`sdist_build`]): while
/// locking, each build environment resolved is recorded; installing from
/// a lock, a build environment is exactly the locked set (no index, no
/// resolver).
#[derive(Debug, Default)]
pub struct BuildLock {
    /// Installing from a lock: (interpreter, `name version` of the sdist)
    /// → the distributions of its build environment.
    pub locked: std::collections::BTreeMap<(String, String), Vec<Wanted>>,
    /// The lock file's name (for messages); empty: no lock.
    pub file: String,
    /// A build the lock does not cover is an error (`--locked`, `--frozen`).
    pub strict: bool,
    /// Locking: build environments are recorded into [`BuildLock::recorded`].
    pub record: bool,
    pub recorded: RefCell<Vec<BuildRecord>>,
    /// Locking again: (interpreter, sdist) → the versions the previous
    /// lock has (preferred, as a part's locked versions are).
    pub preferred: std::collections::BTreeMap<(String, String), Vec<(String, String)>>,
}

/// One sdist's build environment, as resolved while locking.
#[derive(Debug, Clone)]
pub struct BuildRecord {
    /// The interpreter.
    pub python: String,
    /// `name version` of the sdist.
    pub sdist: String,
    /// `[build-system] requires` and `get_requires_for_build_wheel`.
    pub requirements: Vec<String>,
    pub dists: Vec<LockedDist>,
}

impl BuildLock {
    /// Whether the build of `sdist` for `python` was recorded.
    fn has_record(&self, python: &str, sdist: &str) -> bool {
        self.recorded
            .borrow()
            .iter()
            .any(|r| r.python == python && r.sdist == sdist)
    }
}

impl DistEnv<'_> {
    /// The installer identity hashed into distribution addresses: objects
    /// without bytecode are other objects than those with it.
    pub fn installer(&self) -> &'static str {
        if self.compile_bytecode {
            INSTALLER
        } else {
            INSTALLER_NO_BYTECODE
        }
    }

    fn python_version(&self) -> Version {
        Version::from_str(self.facts.markers.python_full_version.trim_end_matches('+'))
            .unwrap_or_else(|_| Version::new([0]))
    }

    /// The cache tag (`cpython-311`) separating non-pure installs.
    pub fn cache_tag(&self) -> String {
        self.facts.cache_tag()
    }
}

/// What [`realise`] reports as it goes.
pub trait Progress {
    fn getting(&mut self, name: &str, version: &str);
    fn got(&mut self, name: &str, version: &str);
    /// An sdist (or a local project) is being built.
    fn building(&mut self, _name: &str, _version: &str) {}
    /// `count` downloaded wheels are being unpacked, compiled and hashed.
    fn installing(&mut self, _count: usize) {}
    /// ... and are done.
    fn installed(&mut self) {}
}

/// A progress that reports nothing.
struct NoProgress;

impl Progress for NoProgress {
    fn getting(&mut self, _: &str, _: &str) {}
    fn got(&mut self, _: &str, _: &str) {}
}

/// A working directory inside the store's staging area (same file system,
/// so what is prepared there can be renamed into place), locked while in
/// use and removed when dropped; after a crash, `gc` removes it (it is no
/// longer locked).
pub fn store_scratch(store: &Store) -> Result<store::lock::Stage> {
    Ok(store::lock::Stage::new(&store.dir().join(".staging"))?)
}
