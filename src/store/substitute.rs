//! Substitution: making an object by downloading it from a binary cache
//! instead of building it (spec `binary-cache.md` §2.3).
//!
//! The store does not know caches: a [`Substituter`] (the `cache` module's
//! client, set for one run by [`Store::set_substituter`]) answers which
//! objects it offers ([`NarInfo`]s) and opens their NARs. The store
//! believes nothing it is told: before anything is registered it checks
//! that the narinfo names the object asked for, that it carries a
//! signature by a trusted key (unless `require-sigs = false`), and, while
//! unpacking into a staging directory ([`super::nar::restore`], bounded by
//! `NarSize`), that the NAR's SHA-256 and size are the signed ones. The
//! object's references are substituted first (the closure invariant); the
//! object is then installed by the write path of [`super::add`] (fsync,
//! rename, one registration with its references and signatures). Objects
//! whose references are all present (a resolution's distributions) are
//! checked one by one and then added together by [`Store::add_batch`]
//! (one `syncfs`, one transaction), as a cold install adds its wheels.
//!
//! A substituter that fails (unreachable, tampered, unsigned, truncated)
//! is reported through [`Substituter::warn`] and the object is built as
//! usual: [`Store::substitute`] says which objects it made.

use super::lock::{PathLock, Stage};
use super::narinfo::NarInfo;
use super::path::StorePath;
use super::sign::{self, PublicKey};
use super::{Error, Kind, NewObject, Prepared, Result, Store, fsutil};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

/// Which signatures make a narinfo believable.
#[derive(Debug, Clone, Default)]
pub struct Trust {
    /// `[buildout] require-sigs` (default true).
    pub require_sigs: bool,
    /// `trusted-public-keys`, plus the public halves of `secret-key-files`.
    pub keys: Vec<PublicKey>,
}

/// Where substitutes come from (the `cache` module's client).
pub trait Substituter: Send + Sync {
    /// The narinfos offered for `paths`, in order (`None`: no cache has
    /// it, or a cache failed: already warned about). Looked up in parallel
    /// and remembered for the run.
    fn query(&self, paths: &[StorePath]) -> Vec<Option<NarInfo>>;
    /// The uncompressed NAR of `info`; `scratch` is a directory (in the
    /// store's staging area) for downloads. Errors are messages.
    fn open_nar(
        &self,
        info: &NarInfo,
        scratch: &Path,
    ) -> std::result::Result<Box<dyn Read>, String>;
    /// Which signatures to require.
    fn trust(&self) -> &Trust;
    /// Reports a failed substitution (the object is built instead).
    fn warn(&self, message: &str);
    /// Hears of each object substituted.
    fn substituted(&self, _path: &StorePath) {}
}

/// Reads through, hashing and counting.
struct Hashing<R> {
    inner: R,
    hasher: Sha256,
    len: u64,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }
}

/// How deep references may nest (a cycle in a hostile cache ends here).
const MAX_DEPTH: usize = 64;

impl Store {
    /// Uses `sub` for the rest of this process's [`Store::add`] calls and
    /// [`Store::substitute`].
    pub fn set_substituter(&self, sub: Arc<dyn Substituter>) {
        *self
            .substituter
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(sub);
    }

    fn substituter(&self) -> Option<Arc<dyn Substituter>> {
        self.substituter
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Makes what it can of `paths` from the substituter: `true` for each
    /// path that is now registered (and temp-rooted), substituted or
    /// already there. A failed substitution is warned about and leaves
    /// nothing registered.
    pub fn substitute(&self, paths: &[StorePath]) -> Result<Vec<bool>> {
        let mut done = Vec::with_capacity(paths.len());
        for p in paths {
            done.push(self.root_and_check(p)?);
        }
        let Some(sub) = self.substituter() else {
            return Ok(done);
        };
        let missing: Vec<StorePath> = paths
            .iter()
            .zip(&done)
            .filter(|(_, d)| !**d)
            .map(|(p, _)| p.clone())
            .collect();
        if missing.is_empty() {
            return Ok(done);
        }
        let infos = sub.query(&missing);
        let mut made = std::collections::HashSet::new();
        let warn = |p: &StorePath, e: &Error| {
            sub.warn(&format!(
                "cannot substitute `{}`: {e}; building it instead",
                self.real_path(p).display()
            ));
        };
        // Objects whose references are all present (a resolution's
        // distributions) are restored and checked one by one, then added
        // together as a cold install adds its wheels: one sync of the store
        // instead of an fsync per file, one transaction. The others go one
        // at a time, their references first.
        let mut batch: Vec<(StorePath, Prepared)> = Vec::new();
        let mut single = Vec::new();
        for (p, info) in missing.iter().zip(infos) {
            let Some(info) = info else { continue };
            let refs: Vec<StorePath> = info
                .references
                .iter()
                .filter(|r| *r != p)
                .cloned()
                .collect();
            if !self.root_and_check_all(&refs)?.iter().all(|ok| *ok) {
                single.push((p, info));
                continue;
            }
            match self.prepare_one(sub.as_ref(), p, &info) {
                Ok(Some(prepared)) => batch.push((p.clone(), prepared)),
                Ok(None) => {
                    made.insert(p.clone());
                }
                Err(e) => warn(p, &e),
            }
        }
        let (names, prepared): (Vec<StorePath>, Vec<Prepared>) = batch.into_iter().unzip();
        if !prepared.is_empty() {
            match self.add_batch(&prepared) {
                Ok(_) => {
                    for p in names {
                        sub.substituted(&p);
                        made.insert(p);
                    }
                }
                Err(e) => names.iter().for_each(|p| warn(p, &e)),
            }
        }
        for (p, info) in single {
            match self.substitute_one(sub.as_ref(), p, &info, 0) {
                Ok(()) => {
                    sub.substituted(p);
                    made.insert(p.clone());
                }
                Err(e) => warn(p, &e),
            }
        }
        Ok(paths
            .iter()
            .zip(done)
            .map(|(p, d)| d || made.contains(p))
            .collect())
    }

    /// Checks and installs one object whose references are substituted
    /// first.
    fn substitute_one(
        &self,
        sub: &dyn Substituter,
        p: &StorePath,
        info: &NarInfo,
        depth: usize,
    ) -> Result<()> {
        if depth > MAX_DEPTH {
            return Err(Error::Substitute("its references nest too deep".into()));
        }
        believe(sub, self.dir_str(), p, info)?;
        for r in info.references.iter().filter(|r| *r != p) {
            if self.root_and_check(r)? {
                continue;
            }
            let Some(ri) = sub.query(std::slice::from_ref(r)).pop().flatten() else {
                return Err(Error::Substitute(format!(
                    "its reference `{r}` is in no substituter"
                )));
            };
            self.substitute_one(sub, r, &ri, depth + 1)
                .map_err(|e| Error::Substitute(format!("its reference `{r}`: {e}")))?;
            sub.substituted(r);
        }
        self.add_temp_root(p)?;
        let _lock = PathLock::acquire(&self.lock_path(p), true)?.expect("blocking");
        if self.is_valid(p)? {
            return Ok(());
        }
        let (stage, out, obj) = self.restore(sub, p, info)?;
        fsutil::canonicalise(&out)?;
        let (again, size) = super::nar::hash_path(&out).map_err(fsutil::err("hash", &out))?;
        if again != info.nar_sha256 || size != info.nar_size {
            return Err(unpacked_differs());
        }
        self.install(&stage, p, &obj, &again, size)
    }

    /// [`Store::substitute_one`] of an object whose references are all
    /// present, up to [`Store::add_batch`]: checked and restored into a
    /// stage, canonicalised and hashed again. `None` when it is registered
    /// meanwhile.
    fn prepare_one(
        &self,
        sub: &dyn Substituter,
        p: &StorePath,
        info: &NarInfo,
    ) -> Result<Option<Prepared>> {
        believe(sub, self.dir_str(), p, info)?;
        self.add_temp_root(p)?;
        if self.is_valid(p)? {
            return Ok(None);
        }
        let (stage, out, object) = self.restore(sub, p, info)?;
        let tree = self.hash_tree_in(stage, out)?;
        if tree.nar() != (info.nar_sha256, info.nar_size) {
            return Err(unpacked_differs());
        }
        Ok(Some(Prepared { object, tree }))
    }

    /// Downloads and unpacks `p`'s NAR into a new stage, checking its
    /// `NarHash` and `NarSize` while it streams: (the stage, the tree, the
    /// object to register).
    fn restore(
        &self,
        sub: &dyn Substituter,
        p: &StorePath,
        info: &NarInfo,
    ) -> Result<(Stage, std::path::PathBuf, NewObject)> {
        let stage = Stage::new(&self.dir().join(".staging"))?;
        let scratch = stage.path().join("download");
        crate::fs::create_dir_all(&scratch).map_err(fsutil::err("create", &scratch))?;
        let reader = sub.open_nar(info, &scratch).map_err(Error::Substitute)?;
        let mut hashing = Hashing {
            inner: reader,
            hasher: Sha256::new(),
            len: 0,
        };
        let out = stage.out();
        super::nar::restore(&mut hashing, &out, info.nar_size)
            .map_err(|e| Error::Substitute(format!("its NAR: {e}")))?;
        let nar: [u8; 32] = hashing.hasher.finalize().into();
        if nar != info.nar_sha256 || hashing.len != info.nar_size {
            return Err(Error::Substitute(format!(
                "its NAR does not match the narinfo's `NarHash`/`NarSize` ({} bytes read, {} \
                 expected): the cache's file was changed or damaged",
                hashing.len, info.nar_size
            )));
        }
        fsutil::delete_tree(&scratch)?;
        let kind = info
            .kind
            .ok_or_else(|| Error::Substitute("its narinfo has no `Kind`".into()))?;
        let mut obj = NewObject::known(p.clone(), kind);
        obj.references = info.references.clone();
        obj.deriver = info.deriver.as_deref().and_then(|d| d.parse().ok());
        obj.ca = info.ca.clone();
        obj.signatures = info.sigs.clone();
        Ok((stage, out, obj))
    }

    /// Signatures recorded for `p`.
    pub fn signatures(&self, p: &StorePath) -> Result<Vec<String>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(
                "SELECT s.sig FROM Signatures s JOIN Objects o ON o.id = s.object
                 WHERE o.base_name = ?1 ORDER BY s.sig",
            )
            .map_err(super::db::err("reading signatures"))?;
        stmt.query_map([p.to_string()], |r| r.get(0))
            .map_err(super::db::err("reading signatures"))?
            .collect::<rusqlite::Result<_>>()
            .map_err(super::db::err("reading signatures"))
    }

    /// Records more signatures of the registered object `p`.
    pub fn add_signatures(&self, p: &StorePath, sigs: &[String]) -> Result<()> {
        let conn = self.conn();
        for s in sigs {
            conn.execute(
                "INSERT OR IGNORE INTO Signatures (object, sig)
                 SELECT id, ?2 FROM Objects WHERE base_name = ?1",
                [p.to_string(), s.clone()],
            )
            .map_err(super::db::err(&format!("recording a signature of `{p}`")))?;
        }
        Ok(())
    }

    /// `store verify --check-signatures`: every object of a kind that is
    /// shared (not a content-addressed `source` or `artifact`, which need
    /// none, as in Nix) without a valid signature by one of `keys`, with
    /// the reason.
    pub fn check_signatures(&self, keys: &[PublicKey]) -> Result<Vec<(StorePath, String)>> {
        let mut bad = Vec::new();
        for obj in self.list()? {
            if obj.ca.is_some() || matches!(obj.kind, Kind::Source | Kind::Artifact) {
                continue;
            }
            let sigs = self.signatures(&obj.path)?;
            let fp = sign::fingerprint(
                self.dir_str(),
                &obj.path,
                &obj.nar_sha256,
                obj.nar_size,
                &obj.references,
            );
            if sigs.is_empty() {
                bad.push((obj.path, "has no signature".to_string()));
            } else if !sign::trusted(keys, &fp, &sigs) {
                bad.push((
                    obj.path,
                    format!(
                        "has no valid signature by a trusted key (signed by {})",
                        sigs.iter()
                            .map(|s| s.split(':').next().unwrap_or(""))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            }
        }
        Ok(bad)
    }
}

/// Checks that `info` describes `p`, is signed as `sub`'s trust requires
/// and says its kind, before anything is downloaded.
fn believe(sub: &dyn Substituter, store_dir: &str, p: &StorePath, info: &NarInfo) -> Result<()> {
    let fail = |m: String| Err(Error::Substitute(m));
    if &info.path != p {
        return fail(format!(
            "the cache's narinfo describes `{}` instead",
            info.path
        ));
    }
    let trust = sub.trust();
    let fingerprint = info.fingerprint(store_dir);
    if trust.require_sigs && !sign::trusted(&trust.keys, &fingerprint, &info.sigs) {
        return fail(if info.sigs.is_empty() {
            "its narinfo is not signed (require-sigs is true)".into()
        } else {
            "it has no valid signature by a key in `trusted-public-keys` \
             (the narinfo was changed, or signed by an unknown key)"
                .into()
        });
    }
    if info.kind.is_none() {
        return fail("its narinfo has no `Kind`".into());
    }
    Ok(())
}

fn unpacked_differs() -> Error {
    Error::Substitute("the unpacked tree does not give back its NAR".into())
}
