//! Recovering the registry from the disk, and crash leftovers that can be
//! proven abandoned.
//!
//! - **records** `<store>/.meta/<base>`: what registration writes into the
//!   database (kind, NAR hash and size, references, deriver, origin, ca),
//!   written and made durable before the object is renamed into place and
//!   removed when gc deletes the object. If the database is lost, an object
//!   on disk whose NAR hash is its record's is proven, and `store verify
//!   --repair` registers it again ([`Store::reregister`]); a content-addressed
//!   object without a record is proven by its address (its references found
//!   by scanning its contents for hash parts, as Nix does).
//! - **pending lists** `<stage>/pending`: the objects a locked stage's owner
//!   is about to leave unregistered on disk for a moment (an add between
//!   its rename and its registration, a gc between unregistering a batch
//!   and moving it to the trash). An abandoned stage's list proves those
//!   directories are leftovers: [`Store::clean_stages`] deletes the ones
//!   that are still unregistered and unlocked. Any other unregistered
//!   object is never deleted: `store verify` reports it and `gc` refuses
//!   to run.

use super::fsutil::{self, err};
use super::lock::{self, PathLock, Stage};
use super::path::{self, StorePath, nix32_decode, nix32_encode};
use super::{Error, Kind, NewObject, Result, Store, db};
use nix::fcntl::FlockArg;
use rusqlite::TransactionBehavior;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

/// The file of a stage naming objects that may be on disk unregistered.
const PENDING: &str = "pending";

/// What registration records about an object, kept beside the database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Record {
    kind: String,
    nar_sha256: String,
    nar_size: u64,
    #[serde(default)]
    ca: Option<String>,
    #[serde(default)]
    deriver: Option<String>,
    #[serde(default)]
    origin: Option<String>,
    #[serde(default)]
    references: Vec<String>,
}

/// Proves an unregistered object that has no record (a generation from its
/// manifest): the object to register, or `Ok(None)` if this kind of object
/// is not known to the prover.
pub type Prove<'a> =
    &'a dyn Fn(&StorePath, &Path) -> std::result::Result<Option<NewObject>, String>;

/// Writes the names of `objects` into `stage`'s pending list, durably.
pub(crate) fn write_pending(stage: &Stage, objects: &[&StorePath]) -> Result<()> {
    let file = stage.path().join(PENDING);
    let text: String = objects.iter().map(|p| format!("{p}\n")).collect();
    crate::fs::write_file(&file, text.as_bytes(), true).map_err(err("write", &file))?;
    fsutil::fsync_dir(stage.path())
}

impl Store {
    pub(crate) fn record_path(&self, p: &StorePath) -> PathBuf {
        self.dir().join(".meta").join(p.to_string())
    }

    /// Writes the record of `p` (durable only after the caller's sync when
    /// `sync` is false).
    pub(crate) fn write_record(
        &self,
        p: &StorePath,
        obj: &NewObject,
        nar: &[u8; 32],
        size: u64,
        sync: bool,
    ) -> Result<()> {
        let record = Record {
            kind: obj.kind.as_str().to_string(),
            nar_sha256: nix32_encode(nar),
            nar_size: size,
            ca: obj.ca.clone(),
            deriver: obj.deriver.as_ref().map(ToString::to_string),
            origin: obj.origin.clone(),
            references: obj.references.iter().map(ToString::to_string).collect(),
        };
        let file = self.record_path(p);
        let json = serde_json::to_vec(&record).expect("a record serialises");
        crate::fs::write_file(&file, &json, sync).map_err(err("write", &file))?;
        if sync {
            fsutil::fsync_dir(&self.dir().join(".meta"))?;
        }
        Ok(())
    }

    fn read_record(&self, p: &StorePath) -> Option<Record> {
        let bytes = std::fs::read(self.record_path(p)).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Removes the record of an object that is gone.
    pub(crate) fn remove_record(&self, p: &StorePath) {
        let _ = std::fs::remove_file(self.record_path(p));
    }

    /// Deletes staging directories nobody holds locked (crash leftovers),
    /// and the unregistered objects their pending lists name. A stage that
    /// cannot be deleted (a killed run's child still writing into it) is
    /// retried a few times, then left for the next run: returned as a
    /// warning, never an error.
    pub fn clean_stages(&self) -> Result<Vec<String>> {
        let staging = self.dir().join(".staging");
        let mut left = Vec::new();
        let Ok(entries) = std::fs::read_dir(&staging) else {
            return Ok(left);
        };
        for entry in entries.flatten() {
            let stage = entry.path();
            let Ok(f) = std::fs::File::open(&stage) else {
                continue;
            };
            let Some(_held) = lock::flock(f, FlockArg::LockExclusiveNonblock, &stage)? else {
                continue; // in use
            };
            if let Ok(text) = std::fs::read_to_string(stage.join(PENDING)) {
                for name in text.lines() {
                    let Ok(p) = name.parse::<StorePath>() else {
                        continue;
                    };
                    if let Some(_lock) = PathLock::acquire(&self.lock_path(&p), false)?
                        && !self.is_valid(&p)?
                    {
                        fsutil::delete_tree(&self.real_path(&p))?;
                        self.remove_record(&p);
                    }
                }
            }
            let mut tries = 0;
            loop {
                match fsutil::delete_tree(&stage) {
                    Ok(()) => break,
                    Err(_) if tries < 5 => {
                        tries += 1;
                        std::thread::sleep(std::time::Duration::from_millis(20 << tries));
                    }
                    Err(e) => {
                        left.push(format!(
                            "could not remove the abandoned staging directory `{}` ({e}); \
                             the next `gc` or `store verify` removes it",
                            stage.display()
                        ));
                        break;
                    }
                }
            }
        }
        Ok(left)
    }

    /// Removes the records of objects that are neither registered nor on
    /// disk (an add that failed after writing the record), except those of
    /// objects in use (`temp`) or locked.
    pub(crate) fn sweep_records(&self, temp: &HashSet<String>) -> Result<()> {
        let dir = self.dir().join(".meta");
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return Ok(());
        };
        for entry in entries.flatten() {
            let Ok(p) = entry.file_name().to_string_lossy().parse::<StorePath>() else {
                continue;
            };
            if temp.contains(&p.hash_part())
                || std::fs::symlink_metadata(self.real_path(&p)).is_ok()
            {
                continue;
            }
            if let Some(_lock) = PathLock::acquire(&self.lock_path(&p), false)?
                && !self.is_valid(&p)?
                && std::fs::symlink_metadata(self.real_path(&p)).is_err()
            {
                self.remove_record(&p);
            }
        }
        Ok(())
    }

    /// Objects on disk the database does not know, leaving out objects being
    /// added right now (temp-rooted by a live process, or locked).
    pub(crate) fn unregistered_on_disk(&self, temp: &HashSet<String>) -> Result<Vec<StorePath>> {
        let mut found = Vec::new();
        for entry in std::fs::read_dir(self.dir()).map_err(err("read", self.dir()))? {
            let entry = entry.map_err(err("read", self.dir()))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            let Ok(p) = name.parse::<StorePath>() else {
                continue;
            };
            if temp.contains(&p.hash_part()) || self.is_valid(&p)? {
                continue;
            }
            if let Some(_lock) = PathLock::acquire(&self.lock_path(&p), false)?
                && !self.is_valid(&p)?
            {
                found.push(p);
            }
        }
        found.sort();
        Ok(found)
    }

    /// Registers again the unregistered objects in `paths` that can be
    /// proven (see the module docs), references first. Returns, per object,
    /// what was done or why it cannot be.
    pub(crate) fn reregister(
        &self,
        paths: &[StorePath],
        prove: Option<Prove<'_>>,
    ) -> Result<Vec<(StorePath, std::result::Result<String, String>)>> {
        let mut proven: Vec<(StorePath, NewObject, [u8; 32], u64, &'static str)> = Vec::new();
        let mut out = Vec::new();
        let on_disk: HashSet<String> = paths.iter().map(StorePath::hash_part).collect();
        for p in paths {
            match self.prove(p, &on_disk, prove) {
                Ok((obj, nar, size, how)) => proven.push((p.clone(), obj, nar, size, how)),
                Err(why) => out.push((p.clone(), Err(why))),
            }
        }
        // References first: register what has all its references, repeat.
        loop {
            let before = proven.len();
            let mut rest = Vec::new();
            for (p, obj, nar, size, how) in proven {
                let ready = obj
                    .references
                    .iter()
                    .map(|r| Ok(r == &p || self.is_valid(r)?))
                    .collect::<Result<Vec<bool>>>()?
                    .into_iter()
                    .all(|v| v);
                if !ready {
                    rest.push((p, obj, nar, size, how));
                    continue;
                }
                let _lock = PathLock::acquire(&self.lock_path(&p), true)?.expect("blocking");
                if !self.is_valid(&p)? {
                    let mut conn = self.conn();
                    let tx = conn
                        .transaction_with_behavior(TransactionBehavior::Immediate)
                        .map_err(db::err("starting a registration"))?;
                    super::add::register_in(&tx, self, &p, &obj, &nar, size)?;
                    tx.commit().map_err(db::err(&format!("committing `{p}`")))?;
                }
                if self.read_record(&p).is_none() {
                    self.write_record(&p, &obj, &nar, size, true)?;
                }
                out.push((p, Ok(format!("registered it again ({how})"))));
            }
            proven = rest;
            if proven.is_empty() || proven.len() == before {
                break;
            }
        }
        for (p, obj, ..) in proven {
            let missing: Vec<String> = obj
                .references
                .iter()
                .filter(|r| !self.is_valid(r).unwrap_or(false))
                .map(|r| format!("`{}`", self.real_path(r).display()))
                .collect();
            out.push((
                p,
                Err(format!(
                    "its contents are proven, but it refers to {}, which cannot be registered",
                    missing.join(", ")
                )),
            ));
        }
        Ok(out)
    }

    /// What proves `p`: its record, its content address, or `prove`.
    fn prove(
        &self,
        p: &StorePath,
        on_disk: &HashSet<String>,
        prove: Option<Prove<'_>>,
    ) -> std::result::Result<(NewObject, [u8; 32], u64, &'static str), String> {
        let real = self.real_path(p);
        let (nar, size) =
            super::nar::hash_path(&real).map_err(|e| format!("cannot hash it: {e}"))?;
        if let Some(record) = self.read_record(p) {
            let recorded = nix32_decode(&record.nar_sha256, 32);
            if recorded.as_deref() != Some(&nar[..]) || record.nar_size != size {
                return Err(format!(
                    "its contents are not the ones recorded when it was added (sha256:{}, \
                     recorded sha256:{})",
                    nix32_encode(&nar),
                    record.nar_sha256
                ));
            }
            let obj = NewObject {
                address: super::Address::Known(p.clone()),
                kind: record.kind.parse().map_err(|e: Error| e.to_string())?,
                references: parse_all(&record.references)?,
                deriver: record
                    .deriver
                    .as_deref()
                    .map(str::parse)
                    .transpose()
                    .map_err(|e: path::PathError| e.to_string())?,
                origin: record.origin,
                ca: record.ca,
                signatures: Vec::new(),
            };
            return Ok((
                obj,
                nar,
                size,
                "its hash is the one recorded when it was added",
            ));
        }
        // A content-addressed object: its address is its proof.
        let refs = self.scan_references(&real, on_disk, p)?;
        let self_ref = refs.iter().any(|r| r == p);
        let others: Vec<StorePath> = refs.iter().filter(|r| *r != p).cloned().collect();
        if path::source_path(p.name(), &nar, &others, self_ref, self.dir_str())
            .ok()
            .as_ref()
            == Some(p)
        {
            let mut obj = NewObject::content(p.name(), Kind::Source);
            obj.address = super::Address::Known(p.clone());
            obj.references = refs;
            obj.ca = Some("source".into());
            return Ok((obj, nar, size, "its address is the hash of its contents"));
        }
        if let Some(prove) = prove
            && let Some(obj) = prove(p, &real)?
        {
            return Ok((obj, nar, size, "its address is the hash of its manifest"));
        }
        Err(format!(
            "nothing proves its contents (no record of its hash, and its address is not the \
             hash of its contents); move it out of `{}` and run the build that made it again",
            self.dir().display()
        ))
    }

    /// The objects whose hash parts occur in `real`'s files and symlink
    /// targets (Nix's reference scanning), among `candidates` and the
    /// registered objects.
    fn scan_references(
        &self,
        real: &Path,
        candidates: &HashSet<String>,
        me: &StorePath,
    ) -> std::result::Result<Vec<StorePath>, String> {
        let mut by_hash: HashMap<String, StorePath> = HashMap::new();
        for entry in std::fs::read_dir(self.dir())
            .map_err(|e| e.to_string())?
            .flatten()
        {
            if let Ok(p) = entry.file_name().to_string_lossy().parse::<StorePath>()
                && (candidates.contains(&p.hash_part()) || self.is_valid(&p).unwrap_or(false))
            {
                by_hash.insert(p.hash_part(), p);
            }
        }
        by_hash.insert(me.hash_part(), me.clone());
        let mut found: HashSet<StorePath> = HashSet::new();
        let mut todo = vec![real.to_path_buf()];
        while let Some(f) = todo.pop() {
            let meta = std::fs::symlink_metadata(&f).map_err(|e| e.to_string())?;
            let bytes = if meta.file_type().is_symlink() {
                std::fs::read_link(&f)
                    .map_err(|e| e.to_string())?
                    .into_os_string()
                    .into_encoded_bytes()
            } else if meta.is_dir() {
                for e in std::fs::read_dir(&f).map_err(|e| e.to_string())?.flatten() {
                    todo.push(e.path());
                }
                continue;
            } else {
                std::fs::read(&f).map_err(|e| e.to_string())?
            };
            for w in bytes.windows(path::HASH_CHARS) {
                if let Ok(s) = std::str::from_utf8(w)
                    && let Some(p) = by_hash.get(s)
                {
                    found.insert(p.clone());
                }
            }
        }
        let mut refs: Vec<StorePath> = found.into_iter().collect();
        refs.sort();
        Ok(refs)
    }
}

fn parse_all(names: &[String]) -> std::result::Result<Vec<StorePath>, String> {
    names
        .iter()
        .map(|n| n.parse::<StorePath>().map_err(|e| e.to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stage_someone_still_writes_into_is_a_warning_never_an_error() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::open(&tmp.path().join("store")).unwrap();
        // An abandoned stage (unlocked) that a killed run's child keeps
        // filling while it is being deleted.
        let stage = store.dir().join(".staging/abandoned");
        std::fs::create_dir_all(stage.join("tree")).unwrap();
        let stop = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|scope| {
            scope.spawn(|| {
                let mut n = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let _ = std::fs::create_dir_all(stage.join("tree"));
                    let _ = std::fs::write(stage.join(format!("tree/f{n}")), "x");
                    n += 1;
                }
            });
            let left = store.clean_stages();
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
            let left = left.expect("never an error");
            assert!(
                left.is_empty() || left[0].contains("could not remove the abandoned staging"),
                "{left:?}"
            );
        });
        // Once the writer stopped, the next cleaning removes it.
        assert!(store.clean_stages().unwrap().is_empty());
        assert!(!stage.exists());
    }
}
