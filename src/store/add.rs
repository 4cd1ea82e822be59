//! The write path: the one operation that puts an object into the store
//! (spec `store.md` §8.4). Every later module adds objects through
//! [`Store::add`].
//!
//! 1. temp-root the references, then check they are registered;
//! 2. for an address known in advance, temp-root it and take its lock
//!    *before* building, so that two processes adding the same object do the
//!    work once: the second waits, finds it registered and reuses it;
//! 3. build into `<store>/.staging/<random>/out` (a locked directory on the
//!    store's file system);
//! 4. canonicalise (read-only modes, mtime 1, no special files);
//! 5. NAR-hash (for a content address, the path is now known: temp-root it
//!    and lock it; if it is already registered, discard the stage);
//! 6. fsync every file and directory;
//! 7. rename into place without clobbering, make the top read-only, fsync
//!    the store directory;
//! 8. register in one `BEGIN IMMEDIATE` transaction, which fails if a
//!    reference is not registered (the closure invariant).
//!
//! [`Store::add_batch`] is the same path for many prepared trees at once
//! (steps 4-5 per tree beforehand, then one sync, the renames and one
//! transaction for the batch).
//!
//! Only after `add` returns may a root point at the object. A crash at any
//! point leaves either a registered, complete object, or garbage that is
//! not registered (a staging directory, an unregistered directory) which the
//! next `add` of that object, `gc` or `store verify --repair` removes.

use super::failpoint;
use super::fsutil;
use super::lock::{PathLock, Stage};
use super::path::{self, StorePath};
use super::{Error, Kind, Result, Store, db};
use rusqlite::TransactionBehavior;
use std::path::{Path, PathBuf};

/// How the object's path is determined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Address {
    /// Known before building: an input-addressed output or a fixed-output
    /// download whose hash is known.
    Known(StorePath),
    /// Content-addressed (`source`): computed from the NAR hash and the
    /// references after building.
    Content { name: String },
}

/// What to add.
#[derive(Debug, Clone)]
pub struct NewObject {
    pub address: Address,
    pub kind: Kind,
    /// Objects this one refers to; each must be registered.
    pub references: Vec<StorePath>,
    /// The recipe object it is built from, so it can be rebuilt (repair).
    pub deriver: Option<StorePath>,
    /// Where it can be re-fetched from (downloads).
    pub origin: Option<String>,
    /// A content-address claim to record (`fixed:sha256:<nix32>`), if any.
    pub ca: Option<String>,
    /// Signatures (`name:base64`) to record with it.
    pub signatures: Vec<String>,
}

impl NewObject {
    /// A content-addressed object with no references.
    pub fn content(name: &str, kind: Kind) -> Self {
        Self {
            address: Address::Content {
                name: name.to_string(),
            },
            kind,
            references: Vec::new(),
            deriver: None,
            origin: None,
            ca: None,
            signatures: Vec::new(),
        }
    }

    /// An object whose path is known in advance.
    pub fn known(path: StorePath, kind: Kind) -> Self {
        Self {
            address: Address::Known(path),
            ..Self::content("x", kind)
        }
    }
}

/// The result of [`Store::add`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Added {
    pub path: StorePath,
    /// True if the object was already registered (nothing was written).
    pub reused: bool,
}

impl Store {
    /// Adds an object. `build` receives the path where it must create the
    /// object (a file, a directory or a symlink; the path does not exist
    /// yet). For a [`Address::Known`] object already registered, `build` is
    /// not called.
    pub fn add<F>(&self, obj: &NewObject, build: F) -> Result<Added>
    where
        F: FnOnce(&Path) -> Result<()>,
    {
        let valid = self.root_and_check_all(&obj.references)?;
        if let Some((r, _)) = obj.references.iter().zip(valid).find(|(_, ok)| !ok) {
            return Err(Error::MissingReference {
                object: match &obj.address {
                    Address::Known(p) => p.to_string(),
                    Address::Content { name } => name.clone(),
                },
                reference: self.real_path(r).display().to_string(),
            });
        }
        match &obj.address {
            Address::Known(p) => {
                // Registered (and now rooted): complete, no lock needed.
                // Else downloaded from a binary cache rather than built,
                // when one has it (nothing is done without a substituter).
                if self.root_and_check(p)? || self.substitute(std::slice::from_ref(p))?[0] {
                    return Ok(Added {
                        path: p.clone(),
                        reused: true,
                    });
                }
                let _lock = PathLock::acquire(&self.lock_path(p), true)?.expect("blocking");
                if self.is_valid(p)? {
                    return Ok(Added {
                        path: p.clone(),
                        reused: true,
                    });
                }
                let stage = Stage::new(&self.dir().join(".staging"))?;
                let (nar, size) = self.build_in(&stage, p.name(), build)?;
                self.install(&stage, p, obj, &nar, size)?;
                Ok(Added {
                    path: p.clone(),
                    reused: false,
                })
            }
            Address::Content { name } => {
                path::check_name(name)?;
                let stage = Stage::new(&self.dir().join(".staging"))?;
                let (nar, size) = self.build_in(&stage, name, build)?;
                let p = path::source_path(name, &nar, &obj.references, false, self.dir_str())?;
                self.add_temp_root(&p)?;
                let _lock = PathLock::acquire(&self.lock_path(&p), true)?.expect("blocking");
                if self.is_valid(&p)? {
                    return Ok(Added {
                        path: p,
                        reused: true,
                    });
                }
                self.install(&stage, &p, obj, &nar, size)?;
                Ok(Added {
                    path: p,
                    reused: false,
                })
            }
        }
    }

    /// Steps 3-5: build, canonicalise, hash.
    fn build_in<F>(&self, stage: &Stage, name: &str, build: F) -> Result<([u8; 32], u64)>
    where
        F: FnOnce(&Path) -> Result<()>,
    {
        let out = stage.out();
        build(&out)?;
        if std::fs::symlink_metadata(&out).is_err() {
            return Err(Error::NothingBuilt(name.to_string()));
        }
        failpoint::hit("add-staged");
        fsutil::canonicalise(&out)?;
        let hashed = super::nar::hash_path(&out).map_err(fsutil::err("hash", &out))?;
        failpoint::hit("add-hashed");
        Ok(hashed)
    }

    /// Steps 6-8, with the object's lock held and the object not registered.
    pub(super) fn install(
        &self,
        stage: &Stage,
        p: &StorePath,
        obj: &NewObject,
        nar: &[u8; 32],
        size: u64,
    ) -> Result<()> {
        let dest = self.real_path(p);
        // A leftover of a crashed run (renamed, never registered).
        fsutil::delete_tree(&dest)?;
        let out = stage.out();
        // Until it is registered, the object is a leftover if we crash.
        super::recover::write_pending(stage, &[p])?;
        self.write_record(p, obj, nar, size, true)?;
        fsutil::fsync_tree(&out)?;
        fsutil::fsync_dir(&stage_dir(&out))?;
        failpoint::hit("add-synced");
        if !fsutil::rename_noreplace(&out, &dest)? {
            return Err(Error::Clobber(dest));
        }
        fsutil::finish_top(&dest)?;
        fsutil::fsync_dir(self.dir())?;
        failpoint::hit("add-renamed");
        self.register(p, obj, nar, size)?;
        failpoint::hit("add-registered");
        // Rooted before it was built, registered now.
        self.checked().insert(p.clone());
        Ok(())
    }

    /// Registers one object and its references in one transaction.
    fn register(&self, p: &StorePath, obj: &NewObject, nar: &[u8; 32], size: u64) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db::err("starting a registration"))?;
        register_in(&tx, self, p, obj, nar, size)?;
        tx.commit().map_err(db::err(&format!("committing `{p}`")))
    }
}

/// Inserts one object and its references within `tx`.
pub(crate) fn register_in(
    tx: &rusqlite::Transaction<'_>,
    store: &Store,
    p: &StorePath,
    obj: &NewObject,
    nar: &[u8; 32],
    size: u64,
) -> Result<()> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    tx.execute(
        "INSERT INTO Objects (base_name, hash_part, kind, nar_sha256, nar_size, ca, deriver,
                              origin, registered_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        rusqlite::params![
            p.to_string(),
            p.hash_part(),
            obj.kind.as_str(),
            &nar[..],
            i64::try_from(size).unwrap_or(i64::MAX),
            obj.ca,
            obj.deriver.as_ref().map(ToString::to_string),
            obj.origin,
            i64::try_from(now).unwrap_or(0),
        ],
    )
    .map_err(db::err(&format!("registering `{p}`")))?;
    let id = tx.last_insert_rowid();
    let refs: std::collections::BTreeSet<&StorePath> = obj.references.iter().collect();
    for r in refs {
        let n = tx
            .execute(
                "INSERT OR IGNORE INTO Refs (referrer, reference)
                 SELECT ?1, id FROM Objects WHERE base_name = ?2",
                rusqlite::params![id, r.to_string()],
            )
            .map_err(db::err(&format!("registering the references of `{p}`")))?;
        if n == 0 {
            return Err(Error::MissingReference {
                object: store.real_path(p).display().to_string(),
                reference: store.real_path(r).display().to_string(),
            });
        }
    }
    for sig in &obj.signatures {
        tx.execute(
            "INSERT OR IGNORE INTO Signatures (object, sig) VALUES (?1, ?2)",
            rusqlite::params![id, sig],
        )
        .map_err(db::err(&format!("recording the signatures of `{p}`")))?;
    }
    Ok(())
}

/// A tree built outside [`Store::add`], in a working directory inside the
/// store (so that moving it into place is a rename), canonicalised and
/// hashed by [`Store::hash_tree`]: the tree must not change afterwards.
#[derive(Debug)]
pub struct HashedTree {
    tree: PathBuf,
    nar: [u8; 32],
    size: u64,
    /// The locked stage holding the tree, when it owns it: kept locked (no
    /// cleaner deletes the tree) until the tree is used or dropped.
    stage: Option<Stage>,
}

impl HashedTree {
    /// Where the tree is (until [`Store::add_batch`] moves it).
    pub fn path(&self) -> &Path {
        &self.tree
    }

    /// Its NAR hash and size.
    pub fn nar(&self) -> ([u8; 32], u64) {
        (self.nar, self.size)
    }
}

/// One object for [`Store::add_batch`].
#[derive(Debug)]
pub struct Prepared {
    /// Must have an [`Address::Known`] address.
    pub object: NewObject,
    /// Moved into the store, or left where it is (for the caller to
    /// delete) if the object is registered meanwhile.
    pub tree: HashedTree,
}

impl Store {
    /// Adds many objects whose addresses are known, as [`Store::add`] adds
    /// one, with the expensive steps done once for the batch: the trees
    /// come canonicalised and hashed ([`Store::hash_tree`], which callers
    /// run while other trees are still being built), one `syncfs` makes all
    /// of them durable (instead of one `fsync` per file), the store
    /// directory is synced once after the renames, and all objects are
    /// registered in one transaction (their records, [`super::recover`], written
    /// before the sync). Locks are taken in path order, so concurrent batches and
    /// single adds cannot deadlock. A crash at any point leaves at worst
    /// unregistered garbage, as with [`Store::add`].
    pub fn add_batch(&self, items: &[Prepared]) -> Result<Vec<Added>> {
        failpoint::hit("add-staged");
        let paths: Vec<StorePath> = items
            .iter()
            .map(|item| match &item.object.address {
                Address::Known(p) => Ok(p.clone()),
                Address::Content { name } => Err(Error::NotKnownAddress(name.clone())),
            })
            .collect::<Result<_>>()?;
        for (item, p) in items.iter().zip(&paths) {
            let refs = &item.object.references;
            let valid = self.root_and_check_all(refs)?;
            if let Some((r, _)) = refs.iter().zip(valid).find(|(_, ok)| !ok) {
                return Err(Error::MissingReference {
                    object: p.to_string(),
                    reference: self.real_path(r).display().to_string(),
                });
            }
        }
        self.add_temp_roots(&paths)?;
        let mut order: Vec<usize> = (0..items.len()).collect();
        order.sort_by(|a, b| paths[*a].cmp(&paths[*b]));
        order.dedup_by(|a, b| paths[*a] == paths[*b]);
        let mut added: Vec<Added> = paths
            .iter()
            .map(|p| Added {
                path: p.clone(),
                reused: true,
            })
            .collect();
        let mut locks = Vec::with_capacity(order.len());
        let mut todo = Vec::new();
        for &i in &order {
            locks.push(PathLock::acquire(&self.lock_path(&paths[i]), true)?.expect("blocking"));
            if !self.is_valid(&paths[i])? {
                todo.push(i);
                added[i].reused = false;
            }
        }
        if todo.is_empty() {
            return Ok(added);
        }
        let trees: Vec<&Path> = todo.iter().map(|&i| items[i].tree.path()).collect();
        failpoint::hit("add-hashed");
        // Until they are registered, the objects are leftovers if we crash.
        let pending = Stage::new(&self.dir().join(".staging"))?;
        let names: Vec<&StorePath> = todo.iter().map(|&i| &paths[i]).collect();
        super::recover::write_pending(&pending, &names)?;
        for &i in &todo {
            let tree = &items[i].tree;
            self.write_record(&paths[i], &items[i].object, &tree.nar, tree.size, false)?;
        }
        self.sync_trees(&trees, &names)?;
        failpoint::hit("add-synced");
        for &i in &todo {
            let dest = self.real_path(&paths[i]);
            // A leftover of a crashed run (renamed, never registered).
            fsutil::delete_tree(&dest)?;
            if !fsutil::rename_noreplace(items[i].tree.path(), &dest)? {
                return Err(Error::Clobber(dest));
            }
            fsutil::finish_top(&dest)?;
        }
        fsutil::fsync_dir(self.dir())?;
        failpoint::hit("add-renamed");
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db::err("starting a registration"))?;
        for &i in &todo {
            let tree = &items[i].tree;
            register_in(&tx, self, &paths[i], &items[i].object, &tree.nar, tree.size)?;
        }
        tx.commit()
            .map_err(db::err("committing a batch of objects"))?;
        drop(conn);
        failpoint::hit("add-registered");
        drop(pending);
        drop(locks);
        Ok(added)
    }

    /// Step 4-5 for [`Store::add_batch`]: canonicalises `tree` (a file,
    /// directory or symlink inside the store directory) and NAR-hashes it.
    pub fn hash_tree(&self, tree: PathBuf) -> Result<HashedTree> {
        if std::fs::symlink_metadata(&tree).is_err() {
            return Err(Error::NothingBuilt(tree.display().to_string()));
        }
        if !tree.starts_with(self.dir()) {
            return Err(Error::NotInStore(
                tree.display().to_string(),
                self.dir_str().to_string(),
            ));
        }
        fsutil::canonicalise(&tree)?;
        let (nar, size) = super::nar::hash_path(&tree).map_err(fsutil::err("hash", &tree))?;
        Ok(HashedTree {
            tree,
            nar,
            size,
            stage: None,
        })
    }

    /// [`Store::hash_tree`] of a tree inside `stage`, which the result keeps
    /// locked for as long as it lives.
    pub fn hash_tree_in(&self, stage: Stage, tree: PathBuf) -> Result<HashedTree> {
        if !tree.starts_with(stage.path()) {
            return Err(Error::NotInStore(
                tree.display().to_string(),
                stage.path().display().to_string(),
            ));
        }
        let mut hashed = self.hash_tree(tree)?;
        hashed.stage = Some(stage);
        Ok(hashed)
    }

    /// Makes trees durable: one `syncfs` of the store's file system or,
    /// where that is refused, an `fsync` of every file and directory.
    fn sync_trees(&self, trees: &[&Path], records: &[&StorePath]) -> Result<()> {
        let dir = std::fs::File::open(self.dir()).map_err(fsutil::err("open", self.dir()))?;
        if nix::unistd::syncfs(&dir).is_ok() {
            return Ok(());
        }
        for tree in trees {
            fsutil::fsync_tree(tree)?;
            fsutil::fsync_dir(&stage_dir(tree))?;
        }
        for p in records {
            fsutil::fsync_tree(&self.record_path(p))?;
        }
        fsutil::fsync_dir(&self.dir().join(".meta"))
    }
}

fn stage_dir(out: &Path) -> std::path::PathBuf {
    out.parent().map(Path::to_path_buf).unwrap_or_default()
}

impl Store {
    /// Fills the store with `count` small objects for benchmarks: chains of
    /// ten (each object references the previous one), every `root_every`-th
    /// chain head pinned. Skips per-object fsyncs and locks (one sync at the
    /// end): for benchmarks on a store nobody else uses, never for real data.
    pub fn debug_populate(&self, count: usize, root_every: usize) -> Result<Vec<StorePath>> {
        let stage = Stage::new(&self.dir().join(".staging"))?;
        let mut made = Vec::with_capacity(count);
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db::err("starting a registration"))?;
        let salt = fsutil::random_suffix();
        let mut prev: Option<(StorePath, i64)> = None;
        let mut heads = Vec::new();
        for i in 0..count {
            let out = stage.out();
            std::fs::write(&out, format!("{salt} object {i}\n"))
                .map_err(fsutil::err("write", &out))?;
            fsutil::canonicalise(&out)?;
            let (nar, size) = super::nar::hash_path(&out).map_err(fsutil::err("hash", &out))?;
            let refs: Vec<StorePath> = prev.iter().map(|(p, _)| p.clone()).collect();
            let p = path::source_path(&format!("bench-{i}"), &nar, &refs, false, self.dir_str())?;
            std::fs::rename(&out, self.real_path(&p)).map_err(fsutil::err("move", &out))?;
            tx.execute(
                "INSERT INTO Objects (base_name, hash_part, kind, nar_sha256, nar_size, registered_at)
                 VALUES (?1, ?2, 'source', ?3, ?4, 0)",
                rusqlite::params![p.to_string(), p.hash_part(), &nar[..], i64::try_from(size).unwrap_or(0)],
            )
            .map_err(db::err("registering"))?;
            let id = tx.last_insert_rowid();
            if let Some((_, prev_id)) = &prev {
                tx.execute("INSERT INTO Refs VALUES (?1, ?2)", [id, *prev_id])
                    .map_err(db::err("registering"))?;
            }
            prev = if (i + 1) % 10 == 0 {
                heads.push(p.clone());
                None
            } else {
                Some((p.clone(), id))
            };
            made.push(p);
        }
        tx.commit().map_err(db::err("committing"))?;
        drop(conn);
        let f = std::fs::File::open(self.dir()).map_err(fsutil::err("open", self.dir()))?;
        nix::unistd::syncfs(&f)
            .map_err(|e| Error::from(crate::fs::io("sync", self.dir())(e.into())))?;
        if root_every > 0 {
            for (n, head) in heads
                .iter()
                .enumerate()
                .filter(|(n, _)| n % root_every == 0)
            {
                self.add_pin(&format!("bench-{n}"), head)?;
            }
        }
        Ok(made)
    }
}
