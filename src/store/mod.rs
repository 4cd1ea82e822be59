//! The immutable, hash-addressed store.
//!
//! Objects are `<store>/<32-char nix32 digest>-<name>`, read-only and never
//! modified after registration. Everything else lives in hidden entries of
//! the same directory (one file system, so renames are atomic):
//!
//! | entry | owner | what |
//! |---|---|---|
//! | `.db/db.sqlite` | [`db`] | the registry of valid objects and their references |
//! | `.db/gc.lock` | [`lock`] | exclusive while gc runs |
//! | `.db/big-lock` | [`lock`] | exclusive while a process opens and migrates the database |
//! | `.staging/<random>/` | [`add`] | where new objects are built before the rename |
//! | `.locks/<base>.lock` | [`lock`] | per-object build/delete locks |
//! | `.temproots/<pid>` | [`lock`] | objects in use by running processes |
//! | `.roots/pins/<name>`, `.roots/auto/<hash>` | [`roots`] | the GC-root registry |
//! | `.trash/` | [`gc`] | objects being deleted |
//! | `.links/` | [`optimise`] | one hard link per distinct file content |
//! | `.meta/<base>` | [`recover`] | each object's registration record, to recover a lost database |
//!
//! Modes are explicit, whatever the umask ([`crate::fs`]): the store's own
//! directories are `0755`, or `2775` when the store root is group-writable
//! (a store shared with a group); a world-writable store root is refused.
//!
//! [`Store::open`] is the only way in; [`Store::add`] is the one write path
//! every object goes through:
//!
//! ```ignore
//! // (store is internal to the crate: this sketch is not compiled)
//! # use buildout::store::{self, Kind, NewObject, Store};
//! # fn f(dep: store::StorePath) -> store::Result<()> {
//! let store = Store::open(&store::locate_from_env(None, None)?)?;
//! // Input-addressed (path known before building: built at most once).
//! let recipe_digest = store::path::sha256(b"canonical recipe json");
//! let path = store::path::output_path("app-1.0", "out", &recipe_digest, store.dir_str())?;
//! let mut obj = NewObject::known(path, Kind::Part);
//! obj.references = vec![dep];
//! let added = store.add(&obj, |out| {
//!     std::fs::create_dir(out).map_err(store::fsutil::err("create", out))
//!     // ... write the part's files under `out` ...
//! })?;
//! // Only now may a root point at it.
//! store.add_pin("app", &added.path)?;
//! # Ok(()) }
//! ```
//!
//! Objects can also come from a binary cache: [`substitute`] (checked
//! against [`sign`]ed [`narinfo`]s before anything is registered), which
//! [`Store::add`] consults before building an object whose address is
//! known; the signatures an object arrived with are kept in the database.
//!
//! Roots: [`Store::add_indirect_root`] registers a buildout's
//! `.buildout/generations` directory once; [`Store::add_pin`] names an
//! object. [`Store::root_and_check`] protects an object this process is about
//! to reuse and then checks that it is valid (never the other way round). The store directory string is hashed into
//! every path ([`path`]), so it is resolved to its real path once, recorded
//! in the database, and a store that was moved is refused. The store must
//! be on a local file system (`flock`, WAL).

pub mod add;
pub mod db;
pub mod failpoint;
pub mod fsutil;
pub mod gc;
pub mod lock;
pub mod nar;
pub mod narinfo;
pub mod optimise;
pub mod path;
pub mod recover;
pub mod roots;
pub mod sign;
pub mod substitute;
pub mod verify;

pub use add::{Address, HashedTree, NewObject, Prepared};
pub use gc::{GcOptions, Why};
pub use path::StorePath;
pub use roots::RootSource;
pub use substitute::{Substituter, Trust};
pub use verify::{Rebuild, VerifyOptions};

use crate::env;
use rusqlite::{Connection, OptionalExtension};
use std::collections::HashSet;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};
use std::str::FromStr;
use std::sync::{Mutex, MutexGuard};

/// A store error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Io(#[from] crate::fs::IoError),
    #[error("store database error while {what}: {source}")]
    Db {
        what: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error(transparent)]
    Path(#[from] path::PathError),
    #[error("cannot find the store: HOME is not set (use --store DIR or BUILDOUT_STORE)")]
    NoHome,
    #[error(
        "the disk holding the store database `{path}` is full (while {what}: {source}): free \
         some space and try again"
    )]
    DiskFull {
        path: PathBuf,
        what: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error("`{0}` is not a buildout store: it is not empty and has no `.db` directory")]
    NotAStore(PathBuf),
    #[error(
        "the store `{dir}` is writable by every user (mode {mode:04o}): anyone could replace \
         its objects; make it `chmod o-w` (and group-writable to share it with a group)"
    )]
    WorldWritable { dir: PathBuf, mode: u32 },
    #[error("the store path `{0}` is not valid UTF-8")]
    NonUtf8Dir(PathBuf),
    #[error(
        "the store database belongs to store directory `{recorded}`, not `{actual}`: store \
         paths hash the directory, so a moved store cannot be used"
    )]
    StoreDirMismatch { recorded: String, actual: String },
    #[error(
        "the store database has schema version {found}, newer than this buildout knows ({known})"
    )]
    SchemaTooNew { found: usize, known: usize },
    #[error("`{0}` is not inside the store `{1}`")]
    NotInStore(String, String),
    #[error("`{0}` is not a registered store object")]
    NotValid(String),
    #[error("cannot register `{object}`: it references `{reference}`, which is not in the store")]
    MissingReference { object: String, reference: String },
    #[error("cannot add `{path}` to the store: it is not a regular file, directory or symlink")]
    SpecialFile { path: PathBuf },
    #[error("the builder of `{0}` did not create its output")]
    NothingBuilt(String),
    #[error("cannot add `{0}`: another file already exists at its path")]
    Clobber(PathBuf),
    #[error("cannot add `{0}` in a batch: its address is not known in advance")]
    NotKnownAddress(String),
    #[error("invalid store object kind `{0}`")]
    BadKind(String),
    #[error("invalid root name `{0}`: use letters, digits and `+-._`")]
    BadRootName(String),
    #[error("invalid size `{0}`: expected a number with an optional K, M, G or T suffix")]
    BadSize(String),
    #[error("{0}")]
    Build(String),
    #[error("{0}")]
    Substitute(String),
    #[error("store verification found {0} unrepaired problem(s)")]
    VerifyFailed(usize),
    #[error(
        "gc refuses to run: {count} object(s) in `{dir}` are not registered in the store \
         database (first: `{first}`); the database may have been lost or replaced, and gc would \
         delete objects that are in use. Run `buildout store verify --repair` to register again \
         what can be proven"
    )]
    Unregistered {
        count: usize,
        dir: PathBuf,
        first: String,
    },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Told how far a long operation over many objects is (`gc`, `store
/// verify`): `what` (`checked`, `measured`, `deleted`) `done` of `total`.
pub type Count<'a> = &'a dyn Fn(&'static str, usize, usize);

/// What an object is. Stored as text; new kinds need no schema change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// An imported tree with no recipe (content-addressed).
    Source,
    /// A downloaded file (wheel, sdist, archive).
    Artifact,
    /// An installed distribution.
    Dist,
    /// A part's output.
    Part,
    /// An assembled generation.
    Generation,
    /// A recipe: the canonical description of how to build outputs.
    Recipe,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Source => "source",
            Kind::Artifact => "artifact",
            Kind::Dist => "dist",
            Kind::Part => "part",
            Kind::Generation => "generation",
            Kind::Recipe => "recipe",
        }
    }
}

impl FromStr for Kind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Ok(match s {
            "source" => Kind::Source,
            "artifact" => Kind::Artifact,
            "dist" => Kind::Dist,
            "part" => Kind::Part,
            "generation" => Kind::Generation,
            "recipe" => Kind::Recipe,
            _ => return Err(Error::BadKind(s.to_string())),
        })
    }
}

/// Everything the database knows about one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    pub path: StorePath,
    pub kind: Kind,
    pub nar_sha256: [u8; 32],
    pub nar_size: u64,
    pub ca: Option<String>,
    pub deriver: Option<String>,
    pub origin: Option<String>,
    pub registered_at: i64,
    pub references: Vec<StorePath>,
}

/// Resolves the store directory: `--store` > `BUILDOUT_STORE` >
/// `[buildout] store` > `~/.buildout/store`.
pub fn locate(
    cli: Option<&Path>,
    env_value: Option<std::ffi::OsString>,
    config: Option<&str>,
    home: Option<PathBuf>,
) -> Result<PathBuf> {
    if let Some(p) = cli {
        return Ok(p.to_path_buf());
    }
    if let Some(v) = env_value.filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(v));
    }
    if let Some(c) = config.filter(|c| !c.trim().is_empty()) {
        return Ok(PathBuf::from(c.trim()));
    }
    home.map(|h| h.join(".buildout").join("store"))
        .ok_or(Error::NoHome)
}

/// [`locate`] with the real environment.
pub fn locate_from_env(cli: Option<&Path>, config: Option<&str>) -> Result<PathBuf> {
    locate(
        cli,
        env::var_os(env::BUILDOUT_STORE),
        config,
        env::home_dir(),
    )
}

/// Formats a byte count for people: `0 B`, `512 B`, `12.3 KiB`, `1.5 GiB`.
pub fn format_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut v = bytes as f64 / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

/// Parses `500M`, `2G`, `1024`, `10KiB` (powers of 1024).
pub fn parse_size(text: &str) -> Result<u64> {
    let t = text.trim();
    let digits = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, suffix) = t.split_at(digits);
    let mult: u64 = match suffix.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 1,
        "K" | "KB" | "KIB" => 1 << 10,
        "M" | "MB" | "MIB" => 1 << 20,
        "G" | "GB" | "GIB" => 1 << 30,
        "T" | "TB" | "TIB" => 1 << 40,
        _ => return Err(Error::BadSize(text.to_string())),
    };
    let n: f64 = num.parse().map_err(|_| Error::BadSize(text.to_string()))?;
    Ok((n * mult as f64) as u64)
}

/// An open store.
#[derive(Debug)]
pub struct Store {
    dir: PathBuf,
    dir_str: String,
    conn: Mutex<Connection>,
    temp_roots: Mutex<Option<lock::TempRoots>>,
    /// Where [`Store::add`] looks before building ([`substitute`]).
    substituter: Mutex<Option<std::sync::Arc<dyn Substituter>>>,
    /// Objects this process has temp-rooted and found registered: no gc
    /// deletes them before the process ends, so [`Store::root_and_check`]
    /// answers them without the database. Whatever this process
    /// unregisters leaves the set ([`Store::forget_checked`]).
    checked: Mutex<HashSet<StorePath>>,
    /// Statements run for [`Store::is_valid`] (tests count them).
    validity_queries: std::sync::atomic::AtomicUsize,
}

impl std::fmt::Debug for dyn Substituter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Substituter")
    }
}

const HIDDEN: &[&str] = &[
    ".db",
    ".staging",
    ".locks",
    ".temproots",
    ".roots",
    ".trash",
    ".links",
    ".meta",
];

impl Store {
    /// Opens the store at `dir`, creating it if needed, and removes stale
    /// staging directories left by crashed processes.
    pub fn open(dir: &Path) -> Result<Self> {
        let fresh = !dir.exists();
        crate::fs::create_dir_all(dir).map_err(fsutil::err("create store directory", dir))?;
        let dir = std::fs::canonicalize(dir).map_err(fsutil::err("resolve", dir))?;
        // Anyone could replace the objects of a world-writable store (and
        // with them what its users' scripts import): refuse it. A
        // group-writable root makes a store shared with that group.
        let root_mode = std::fs::metadata(&dir)
            .map_err(fsutil::err("read", &dir))?
            .permissions()
            .mode();
        if root_mode & 0o002 != 0 {
            return Err(Error::WorldWritable {
                dir,
                mode: root_mode & 0o7777,
            });
        }
        if !fresh && !dir.join(".db").exists() {
            let mut entries = std::fs::read_dir(&dir).map_err(fsutil::err("read", &dir))?;
            // `.db` is created first, so a store being created concurrently
            // has it by the time it has any other entry: check it again.
            if entries.next().is_some() && !dir.join(".db").exists() {
                return Err(Error::NotAStore(dir));
            }
        }
        let dir_str = dir
            .to_str()
            .ok_or_else(|| Error::NonUtf8Dir(dir.clone()))?
            .to_string();
        let dir_mode = crate::fs::dir_mode_in(&dir).map_err(fsutil::err("read", &dir))?;
        for sub in HIDDEN.iter().chain(&[".roots/pins", ".roots/auto"]) {
            let p = dir.join(sub);
            crate::fs::ensure_dir(&p, dir_mode).map_err(fsutil::err("create", &p))?;
        }
        // Made here, not by SQLite, so that its mode (which SQLite gives
        // the `-wal` and `-shm` files too) does not depend on the umask.
        let db_path = dir.join(".db/db.sqlite");
        let db_mode = crate::fs::file_mode_in(&dir, false).map_err(fsutil::err("read", &dir))?;
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(db_mode)
            .open(&db_path)
        {
            Ok(file) => crate::fs::set_own_mode(&file, db_mode)
                .map_err(fsutil::err("change the mode of", &db_path))?,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(fsutil::err("create", &db_path)(e)),
        }
        // Opening and migrating is serialised between processes: changing
        // the journal mode and migrating need the database to themselves.
        let big_lock = lock::gc_lock(&dir.join(".db/big-lock"), true)?;
        let conn = db::open(&db_path)?;
        drop(big_lock);
        let recorded: Option<String> = conn
            .query_row("SELECT value FROM Meta WHERE key = 'store_dir'", [], |r| {
                r.get(0)
            })
            .optional()
            .map_err(db::err("reading the store directory"))
            .map_err(|e| db::on_full_disk(&db_path, e))?;
        match recorded {
            Some(r) if r != dir_str => {
                return Err(Error::StoreDirMismatch {
                    recorded: r,
                    actual: dir_str,
                });
            }
            Some(_) => {}
            None => {
                conn.execute(
                    "INSERT OR IGNORE INTO Meta (key, value) VALUES ('store_dir', ?1)",
                    [&dir_str],
                )
                .map_err(db::err("recording the store directory"))
                .map_err(|e| db::on_full_disk(&db_path, e))?;
            }
        }
        let store = Self {
            dir,
            dir_str,
            conn: Mutex::new(conn),
            temp_roots: Mutex::new(None),
            substituter: Mutex::new(None),
            checked: Mutex::new(HashSet::new()),
            validity_queries: std::sync::atomic::AtomicUsize::new(0),
        };
        // What cannot be removed now is left for `gc` and `store verify`.
        let _ = store.clean_stages()?;
        Ok(store)
    }

    /// The store directory (its real path).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `<store>/.bytecode`: the `sys.pycache_prefix` of scripts whose
    /// distributions were installed without bytecode (`compile-bytecode =
    /// false`). Python fills it on first import (mirroring each source's
    /// absolute path); it is a cache, not objects: `gc` prunes the entries
    /// of objects that are gone.
    pub fn bytecode_cache(&self) -> PathBuf {
        self.dir().join(".bytecode")
    }

    /// The store directory string hashed into every path.
    pub fn dir_str(&self) -> &str {
        &self.dir_str
    }

    /// The absolute path of an object.
    pub fn real_path(&self, p: &StorePath) -> PathBuf {
        self.dir.join(p.to_string())
    }

    pub(crate) fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn lock_path(&self, p: &StorePath) -> PathBuf {
        self.dir.join(".locks").join(format!("{p}.lock"))
    }

    pub(crate) fn gc_lock_path(&self) -> PathBuf {
        self.dir.join(".db/gc.lock")
    }

    /// Protects `p` from gc for as long as this process runs (waits while a
    /// gc is running).
    pub fn add_temp_root(&self, p: &StorePath) -> Result<()> {
        self.add_temp_roots(std::slice::from_ref(p))
    }

    /// [`Store::add_temp_root`] of every path, under one hold of the gc lock.
    pub fn add_temp_roots(&self, paths: &[StorePath]) -> Result<()> {
        let mut guard = self
            .temp_roots
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if guard.is_none() {
            *guard = Some(lock::TempRoots::create(
                &self.dir.join(".temproots"),
                &self.gc_lock_path(),
            )?);
        }
        let hashes: Vec<String> = paths.iter().map(StorePath::hash_part).collect();
        let hashes: Vec<&str> = hashes.iter().map(String::as_str).collect();
        guard.as_mut().expect("created above").add_all(&hashes)
    }

    /// The object a user-given path names: a full path (or a path inside an
    /// object, or a symlink into the store), a base name, or a hash part.
    pub fn parse_user_path(&self, text: &str) -> Result<StorePath> {
        if let Ok(p) = StorePath::from_str(text) {
            return Ok(p);
        }
        if text.len() == path::HASH_CHARS && !text.contains('/') {
            let base: Option<String> = self
                .conn()
                .query_row(
                    "SELECT base_name FROM Objects WHERE hash_part = ?1",
                    [text],
                    |r| r.get(0),
                )
                .optional()
                .map_err(db::err("looking up a hash"))?;
            return match base {
                Some(b) => Ok(b.parse()?),
                None => Err(Error::NotValid(text.to_string())),
            };
        }
        // The common case, a path under the store directory written plainly
        // (no `.`, `..` or empty component): its first component.
        if let Some(rest) = text
            .strip_prefix(self.dir_str.as_str())
            .and_then(|r| r.strip_prefix('/'))
            && rest.split('/').all(|c| !matches!(c, "" | "." | ".."))
            && let Ok(p) = StorePath::from_str(rest.split('/').next().unwrap_or_default())
        {
            return Ok(p);
        }
        let p = Path::new(text);
        if let Some(sp) = self.object_of(p) {
            return Ok(sp);
        }
        if let Some(sp) = roots::resolve_link_chain(self, p) {
            return Ok(sp);
        }
        Err(Error::NotInStore(text.to_string(), self.dir_str.clone()))
    }

    /// If `p` is `<store>/<base>` or inside it, the object (lexically).
    pub fn object_of(&self, p: &Path) -> Option<StorePath> {
        let abs = if p.is_absolute() {
            p.to_path_buf()
        } else {
            std::env::current_dir().ok()?.join(p)
        };
        let mut norm = PathBuf::new();
        for c in abs.components() {
            match c {
                Component::ParentDir => {
                    norm.pop();
                }
                Component::CurDir => {}
                other => norm.push(other),
            }
        }
        let rest = norm.strip_prefix(&self.dir).ok()?;
        let first = rest.components().next()?;
        first.as_os_str().to_str()?.parse().ok()
    }

    /// Protects `p` from gc for the rest of this process, then tells
    /// whether it is registered: the one check before reusing an object.
    /// After `true`, no gc deletes it; after `false`, a gc may have deleted
    /// it before the root was taken, and the caller makes it again (Nix's
    /// rule: temp-root, then check validity, never the other way round).
    pub fn root_and_check(&self, p: &StorePath) -> Result<bool> {
        if self.checked().contains(p) {
            return Ok(true);
        }
        self.add_temp_root(p)?;
        let valid = self.is_valid(p)?;
        if valid {
            self.checked().insert(p.clone());
        }
        Ok(valid)
    }

    /// [`Store::root_and_check`] of every path: one hold of the gc lock for
    /// the roots, one read transaction for the validity of those not
    /// checked before. Answers in the order of `paths`.
    pub fn root_and_check_all(&self, paths: &[StorePath]) -> Result<Vec<bool>> {
        let todo: Vec<StorePath> = {
            let checked = self.checked();
            let mut seen = HashSet::new();
            paths
                .iter()
                .filter(|p| !checked.contains(*p) && seen.insert(*p))
                .cloned()
                .collect()
        };
        if !todo.is_empty() {
            self.add_temp_roots(&todo)?;
            let valid = self.valid_of(&todo)?;
            let mut checked = self.checked();
            for (p, ok) in todo.into_iter().zip(valid) {
                if ok {
                    checked.insert(p);
                }
            }
        }
        let checked = self.checked();
        Ok(paths.iter().map(|p| checked.contains(p)).collect())
    }

    /// Whether each of `paths` is registered, read in one transaction.
    fn valid_of(&self, paths: &[StorePath]) -> Result<Vec<bool>> {
        self.validity_queries
            .fetch_add(paths.len(), std::sync::atomic::Ordering::Relaxed);
        let conn = self.conn();
        let tx = conn
            .unchecked_transaction()
            .map_err(db::err("checking validity"))?;
        let mut out = Vec::with_capacity(paths.len());
        {
            let mut stmt = tx
                .prepare_cached("SELECT 1 FROM Objects WHERE base_name = ?1")
                .map_err(db::err("checking validity"))?;
            for p in paths {
                out.push(
                    stmt.query_row([p.to_string()], |_| Ok(()))
                        .optional()
                        .map_err(db::err("checking validity"))?
                        .is_some(),
                );
            }
        }
        tx.commit().map_err(db::err("checking validity"))?;
        Ok(out)
    }

    fn checked(&self) -> MutexGuard<'_, HashSet<StorePath>> {
        self.checked
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Forgets that `p` (every object, without `p`) was rooted and found
    /// registered: called by whatever unregisters objects, so that the next
    /// [`Store::root_and_check`] asks the database again.
    pub(crate) fn forget_checked(&self, p: Option<&StorePath>) {
        match p {
            Some(p) => {
                self.checked().remove(p);
            }
            None => self.checked().clear(),
        }
    }

    /// How many validity queries this store has run (for tests that keep
    /// the per-object database work of a run in check).
    #[cfg(test)]
    pub(crate) fn validity_queries(&self) -> usize {
        self.validity_queries
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Whether `p` is registered (and nothing more: an object about to be
    /// reused goes through [`Store::root_and_check`], since a concurrent gc
    /// may delete an unrooted object right after this returns).
    pub fn is_valid(&self, p: &StorePath) -> Result<bool> {
        // Asked for every object a run uses: the statement is kept.
        self.validity_queries
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached("SELECT 1 FROM Objects WHERE base_name = ?1")
            .map_err(db::err("checking validity"))?;
        Ok(stmt
            .query_row([p.to_string()], |_| Ok(()))
            .optional()
            .map_err(db::err("checking validity"))?
            .is_some())
    }

    /// The database record of `p`, or `NotValid`.
    pub fn info(&self, p: &StorePath) -> Result<ObjectInfo> {
        let conn = self.conn();
        let row = conn
            .prepare_cached(
                "SELECT id, kind, nar_sha256, nar_size, ca, deriver, origin, registered_at
                 FROM Objects WHERE base_name = ?1",
            )
            .map_err(db::err("reading an object"))?
            .query_row([p.to_string()], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Vec<u8>>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, Option<String>>(5)?,
                    r.get::<_, Option<String>>(6)?,
                    r.get::<_, i64>(7)?,
                ))
            })
            .optional()
            .map_err(db::err("reading an object"))?
            .ok_or_else(|| Error::NotValid(self.real_path(p).display().to_string()))?;
        let (id, kind, nar, size, ca, deriver, origin, registered_at) = row;
        let mut stmt = conn
            .prepare_cached(
                "SELECT o.base_name FROM Refs r JOIN Objects o ON o.id = r.reference
                 WHERE r.referrer = ?1 ORDER BY o.base_name",
            )
            .map_err(db::err("reading references"))?;
        let references = stmt
            .query_map([id], |r| r.get::<_, String>(0))
            .map_err(db::err("reading references"))?
            .map(|r| -> Result<StorePath> {
                Ok(r.map_err(db::err("reading references"))?.parse()?)
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(ObjectInfo {
            path: p.clone(),
            kind: kind.parse()?,
            nar_sha256: nar.try_into().unwrap_or([0; 32]),
            nar_size: u64::try_from(size).unwrap_or(0),
            ca,
            deriver,
            origin,
            registered_at,
            references,
        })
    }

    /// The objects that reference `p`.
    pub fn referrers(&self, p: &StorePath) -> Result<Vec<StorePath>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(
                "SELECT o.base_name FROM Refs r JOIN Objects o ON o.id = r.referrer
                 WHERE r.reference = (SELECT id FROM Objects WHERE base_name = ?1)
                 ORDER BY o.base_name",
            )
            .map_err(db::err("reading referrers"))?;
        stmt.query_map([p.to_string()], |r| r.get::<_, String>(0))
            .map_err(db::err("reading referrers"))?
            .map(|r| -> Result<StorePath> { Ok(r.map_err(db::err("reading referrers"))?.parse()?) })
            .collect()
    }

    /// Every registered object, sorted by name then hash.
    /// Registered objects of one kind, with their `origin` (one query).
    pub fn list_kind(&self, kind: Kind) -> Result<Vec<(StorePath, Option<String>)>> {
        let rows: Vec<(String, Option<String>)> = {
            let conn = self.conn();
            let mut stmt = conn
                .prepare("SELECT base_name, origin FROM Objects WHERE kind = ?1")
                .map_err(db::err("listing objects"))?;
            stmt.query_map([kind.as_str()], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(db::err("listing objects"))?
                .collect::<rusqlite::Result<_>>()
                .map_err(db::err("listing objects"))?
        };
        rows.into_iter()
            .map(|(name, origin)| Ok((name.parse()?, origin)))
            .collect()
    }

    pub fn list(&self) -> Result<Vec<ObjectInfo>> {
        let names: Vec<String> = {
            let conn = self.conn();
            let mut stmt = conn
                .prepare("SELECT base_name FROM Objects")
                .map_err(db::err("listing objects"))?;
            stmt.query_map([], |r| r.get(0))
                .map_err(db::err("listing objects"))?
                .collect::<rusqlite::Result<_>>()
                .map_err(db::err("listing objects"))?
        };
        let mut out = names
            .iter()
            .map(|n| self.info(&n.parse()?))
            .collect::<Result<Vec<_>>>()?;
        out.sort_by(|a, b| {
            (a.path.name(), a.path.hash_part()).cmp(&(b.path.name(), b.path.hash_part()))
        });
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_paths_name_the_object_they_are_in_written_plainly_or_not() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::open(&tmp.path().join("store")).unwrap();
        let p = path::output_path("demo-1.0", "out", &[3; 32], store.dir_str()).unwrap();
        let q = path::output_path("other-2.0", "out", &[4; 32], store.dir_str()).unwrap();
        let dir = store.dir_str();
        for text in [
            format!("{dir}/{p}"),
            format!("{dir}/{p}/lib/x.py"),
            format!("{dir}/{p}/"),
            format!("{dir}//{p}"),
            format!("{dir}/./{p}/x"),
            format!("{dir}/{q}/../{p}/x"),
            format!("{dir}/{q}/./../{p}"),
            p.to_string(),
        ] {
            assert_eq!(store.parse_user_path(&text).unwrap(), p, "{text}");
        }
        // `..` out of an object and into another is the other one.
        let text = format!("{dir}/{p}/../{q}");
        assert_eq!(store.parse_user_path(&text).unwrap(), q);
        for text in [
            format!("{dir}/"),
            format!("{dir}/{p}/../../x"),
            format!("{dir}x/{p}"),
        ] {
            assert!(store.parse_user_path(&text).is_err(), "{text}");
        }
    }

    #[test]
    fn locate_follows_precedence() {
        let home = Some(PathBuf::from("/home/u"));
        let cli = Path::new("/cli");
        let env = Some(std::ffi::OsString::from("/env"));
        assert_eq!(
            locate(Some(cli), env.clone(), Some("/cfg"), home.clone()).unwrap(),
            PathBuf::from("/cli")
        );
        assert_eq!(
            locate(None, env, Some("/cfg"), home.clone()).unwrap(),
            PathBuf::from("/env")
        );
        assert_eq!(
            locate(None, None, Some("/cfg"), home.clone()).unwrap(),
            PathBuf::from("/cfg")
        );
        assert_eq!(
            locate(None, Some("".into()), None, home).unwrap(),
            PathBuf::from("/home/u/.buildout/store")
        );
        assert!(matches!(locate(None, None, None, None), Err(Error::NoHome)));
    }

    #[test]
    fn sizes_parse_and_format() {
        assert_eq!(parse_size("1024").unwrap(), 1024);
        assert_eq!(parse_size("10K").unwrap(), 10240);
        assert_eq!(parse_size("500M").unwrap(), 500 << 20);
        assert_eq!(parse_size("2GiB").unwrap(), 2 << 30);
        assert!(parse_size("lots").is_err());
        assert_eq!(format_size(0), "0 B");
        assert_eq!(format_size(1536), "1.5 KiB");
        assert_eq!(format_size(3 << 30), "3.0 GiB");
    }
}
