//! `store verify`: the database against the disk.
//!
//! Always: database integrity and foreign keys (the closure invariant),
//! every registered object present on disk with canonical (read-only)
//! modes, and no object on disk that the database does not know: such an
//! object may be in use (a lost or replaced database), so it is damage and
//! `gc` refuses to run while there is one. Crash leftovers that can be
//! proven abandoned (see [`super::recover`]) are removed when the store is
//! opened; a staging directory that cannot be removed yet is a note.
//! With `check_contents`: every object's NAR hash against the recorded one,
//! and every `.links` entry against its name.
//!
//! With `repair` (which always checks contents): an object whose modes were
//! changed but whose contents are intact gets its modes back; a missing
//! object that nothing refers to is unregistered; an unregistered object is
//! registered again if it can be proven ([`Store::reregister`]), never
//! deleted. A modified or missing object is made again by the caller's
//! [`Rebuild`] (the `store verify` command re-fetches and reinstalls
//! distributions from their recorded origin) in a locked stage, put in
//! place only if its hash is the recorded one, by an atomic exchange made
//! durable, and hashed again in place; what cannot be rebuilt is reported
//! with how to get rid of it.

use super::fsutil;
use super::lock::{self, PathLock};
use super::path::{StorePath, nix32_encode};
use super::recover::Prove;
use super::{HashedTree, Result, Store, db, nar};
use std::collections::HashSet;

/// Options of a verify run.
#[derive(Debug, Clone, Copy, Default)]
pub struct VerifyOptions {
    pub check_contents: bool,
    pub repair: bool,
}

/// One thing verify found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The object or file concerned.
    pub path: String,
    /// What is wrong.
    pub message: String,
    /// Damage (true) or harmless garbage (false).
    pub problem: bool,
    /// `Some(Ok(what))` repaired; `Some(Err(why))` could not be repaired.
    pub repair: Option<std::result::Result<String, String>>,
}

impl Finding {
    /// Still wrong after this run.
    pub fn unrepaired(&self) -> bool {
        self.problem && !matches!(self.repair, Some(Ok(_)))
    }
}

/// What verify found.
#[derive(Debug, Clone, Default)]
pub struct VerifyReport {
    pub objects: usize,
    pub findings: Vec<Finding>,
    /// Objects on disk the database does not know (after repair).
    pub unregistered: usize,
}

impl VerifyReport {
    pub fn unrepaired(&self) -> usize {
        self.findings.iter().filter(|f| f.unrepaired()).count()
    }
}

/// Rebuilds a damaged or missing object into a tree (for `--repair`); the
/// store checks the tree's hash against the recorded one before using it.
/// `Ok(None)`: this kind of object is not rebuilt.
pub type Rebuild<'a> =
    &'a dyn Fn(&super::ObjectInfo) -> std::result::Result<Option<HashedTree>, String>;

impl Store {
    /// [`Store::verify`], repairing damaged and missing objects through
    /// `rebuild` where it can make them again, and registering again
    /// unregistered objects that `prove` (besides their records and
    /// content addresses) can prove. Repairing always checks contents.
    /// `count` is told how many objects are checked.
    pub fn verify_with(
        &self,
        opts: VerifyOptions,
        rebuild: Option<Rebuild<'_>>,
        prove: Option<Prove<'_>>,
        count: super::Count<'_>,
    ) -> Result<VerifyReport> {
        let opts = VerifyOptions {
            check_contents: opts.check_contents || opts.repair,
            ..opts
        };
        // Shared: a consistent view while adders keep working; exclusive to
        // repair, which deletes like gc does.
        let _gc = lock::gc_lock(&self.gc_lock_path(), opts.repair)?;
        let mut report = VerifyReport::default();
        self.check_database(opts, &mut report)?;
        let objects = self.list()?;
        report.objects = objects.len();
        let registered: HashSet<String> = objects.iter().map(|o| o.path.to_string()).collect();
        for (n, obj) in objects.iter().enumerate() {
            count("checked", n, objects.len());
            self.check_object(obj, opts, rebuild, &mut report)?;
        }
        count("checked", objects.len(), objects.len());
        self.check_leftovers(&registered, opts, prove, &mut report)?;
        if opts.check_contents {
            super::optimise::check_links(self, opts.repair, &mut report)?;
        }
        Ok(report)
    }

    fn check_database(&self, opts: VerifyOptions, report: &mut VerifyReport) -> Result<()> {
        let conn = self.conn();
        let pragma = if opts.check_contents {
            "integrity_check"
        } else {
            "quick_check"
        };
        let result: String = conn
            .pragma_query_value(None, pragma, |r| r.get(0))
            .map_err(db::err("checking database integrity"))?;
        if result != "ok" {
            report.findings.push(Finding {
                path: self.dir().join(".db/db.sqlite").display().to_string(),
                message: format!("database integrity check failed: {result}"),
                problem: true,
                repair: None,
            });
        }
        let broken: i64 = conn
            .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
                r.get(0)
            })
            .map_err(db::err("checking references"))?;
        if broken > 0 {
            report.findings.push(Finding {
                path: self.dir().join(".db/db.sqlite").display().to_string(),
                message: format!("{broken} reference(s) name objects that are not registered"),
                problem: true,
                repair: None,
            });
        }
        Ok(())
    }

    fn check_object(
        &self,
        obj: &super::ObjectInfo,
        opts: VerifyOptions,
        rebuild: Option<Rebuild<'_>>,
        report: &mut VerifyReport,
    ) -> Result<()> {
        let real = self.real_path(&obj.path);
        let shown = real.display().to_string();
        if std::fs::symlink_metadata(&real).is_err() {
            let referrers = self.referrers(&obj.path)?;
            let repair = opts.repair.then(|| {
                if let Some(done) = self.try_rebuild(obj, rebuild) {
                    done
                } else if referrers.is_empty() {
                    self.forget(&obj.path)
                        .map(|()| {
                            "unregistered it; the next run that needs it builds it again".into()
                        })
                        .map_err(|e| e.to_string())
                } else {
                    Err(format!(
                        "{} registered object(s) refer to it (first: `{}`) and nothing records \
                         how to rebuild it",
                        referrers.len(),
                        self.real_path(&referrers[0]).display()
                    ))
                }
            });
            report.findings.push(Finding {
                path: shown,
                message: "registered but missing on disk".into(),
                problem: true,
                repair,
            });
            return Ok(());
        }
        let writable = fsutil::find_non_canonical(&real).map_err(fsutil::err("inspect", &real))?;
        let made_writable =
            |file: &std::path::Path| format!("`{}` has been made writable", file.display());
        if opts.check_contents || (writable.is_some() && opts.repair) {
            let (h, size) = nar::hash_path(&real).map_err(fsutil::err("hash", &real))?;
            if h != obj.nar_sha256 || size != obj.nar_size {
                let mut message = format!(
                    "contents were modified: expected hash sha256:{}, got sha256:{}",
                    nix32_encode(&obj.nar_sha256),
                    nix32_encode(&h)
                );
                if let Some(file) = &writable {
                    message = format!("{message} ({})", made_writable(file));
                }
                report.findings.push(Finding {
                    path: shown,
                    message,
                    problem: true,
                    repair: opts.repair.then(|| {
                        self.try_rebuild(obj, rebuild)
                            .unwrap_or_else(|| Err(self.why_unrepairable(obj)))
                    }),
                });
                return Ok(());
            }
        }
        if let Some(file) = writable {
            let mut message = made_writable(&file);
            if !opts.check_contents {
                message.push_str(" (`--check-contents` tells whether its contents changed)");
            }
            let repair = opts.repair.then(|| {
                fsutil::restore_modes(&real)
                    .map(|()| "restored read-only modes (contents are intact)".into())
                    .map_err(|e| e.to_string())
            });
            report.findings.push(Finding {
                path: shown,
                message,
                problem: true,
                repair,
            });
        }
        Ok(())
    }

    /// Rebuilds `obj` and puts the result in place if its hash is the
    /// recorded one: an exchange of the two trees (one `renameat2`), so the
    /// path never disappears, then the damaged tree is deleted. `None`
    /// when there is no rebuilder.
    fn try_rebuild(
        &self,
        obj: &super::ObjectInfo,
        rebuild: Option<Rebuild<'_>>,
    ) -> Option<std::result::Result<String, String>> {
        let rebuild = rebuild?;
        let tree = match rebuild(obj) {
            Ok(Some(tree)) => tree,
            Ok(None) => return None,
            Err(why) => {
                return Some(Err(format!(
                    "cannot rebuild it: {why}; {}",
                    self.delete_instead(obj)
                )));
            }
        };
        Some(self.put_in_place(obj, tree))
    }

    /// Puts a rebuilt tree in place of `obj` if its hash is the recorded
    /// one. The tree stays in its locked stage until the exchange is done
    /// (no cleaner can take it for a leftover), it is made durable before
    /// the exchange and the store directory after it, and the object is
    /// hashed again in place: success is reported only for the recorded
    /// contents.
    fn put_in_place(
        &self,
        obj: &super::ObjectInfo,
        tree: HashedTree,
    ) -> std::result::Result<String, String> {
        let recorded = nix32_encode(&obj.nar_sha256);
        if tree.nar() != (obj.nar_sha256, obj.nar_size) {
            let _ = fsutil::delete_tree(tree.path());
            return Err(format!(
                "cannot repair: rebuilding gave other contents (sha256:{}, recorded \
                 sha256:{recorded}); {}",
                nix32_encode(&tree.nar().0),
                self.delete_instead(obj)
            ));
        }
        let _lock = PathLock::acquire(&self.lock_path(&obj.path), true)
            .map_err(|e| e.to_string())?
            .expect("blocking");
        let real = self.real_path(&obj.path);
        let place = || -> Result<()> {
            fsutil::fsync_tree(tree.path())?;
            if let Some(parent) = tree.path().parent() {
                fsutil::fsync_dir(parent)?;
            }
            if std::fs::symlink_metadata(&real).is_ok() {
                fsutil::exchange(tree.path(), &real)?;
                fsutil::finish_top(&real)?;
                fsutil::fsync_dir(self.dir())?;
                // The damaged tree, now where the rebuilt one was.
                fsutil::delete_tree(tree.path())?;
            } else if !fsutil::rename_noreplace(tree.path(), &real)? {
                return Err(super::Error::Clobber(real.clone()));
            } else {
                fsutil::finish_top(&real)?;
                fsutil::fsync_dir(self.dir())?;
            }
            Ok(())
        };
        place().map_err(|e| e.to_string())?;
        let (h, size) = nar::hash_path(&real).map_err(|e| e.to_string())?;
        if (h, size) != (obj.nar_sha256, obj.nar_size) {
            return Err(format!(
                "cannot repair: after putting the rebuilt tree in place its hash is sha256:{}, \
                 not the recorded sha256:{recorded}",
                nix32_encode(&h)
            ));
        }
        Ok("rebuilt it (same hash as recorded), put it in place and checked it again".into())
    }

    /// Why a damaged object cannot be repaired, and what to do instead.
    fn why_unrepairable(&self, obj: &super::ObjectInfo) -> String {
        let how = match (&obj.deriver, &obj.origin) {
            (Some(d), _) => format!("rebuilding from its recipe `{d}` is not implemented yet"),
            (None, Some(url)) => format!("nothing re-fetches it from `{url}` here"),
            (None, None) => "nothing records how to rebuild or re-fetch it".into(),
        };
        format!("cannot repair: {how}; {}", self.delete_instead(obj))
    }

    /// What to do with an object that cannot be repaired.
    fn delete_instead(&self, obj: &super::ObjectInfo) -> String {
        let shown = self.real_path(&obj.path).display().to_string();
        format!(
            "delete it instead: remove the roots that keep it alive (`buildout store why \
             {shown}`), run `buildout gc`, then run the build that created it again"
        )
    }

    /// Unregisters `p` if it is registered but gone from the disk and
    /// nothing refers to it (a generation object deleted by hand), so that
    /// it can be made again; returns whether it did.
    pub fn forget_missing(&self, p: &StorePath) -> Result<bool> {
        let gone = || {
            matches!(
                std::fs::symlink_metadata(self.real_path(p)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound
            )
        };
        // On disk (the usual answer): no lock needed to say so.
        if !gone() {
            return Ok(false);
        }
        let _lock = PathLock::acquire(&self.lock_path(p), true)?.expect("blocking");
        if !gone() || !self.is_valid(p)? || !self.referrers(p)?.is_empty() {
            return Ok(false);
        }
        self.forget(p)?;
        Ok(true)
    }

    /// Removes the row of an object that nothing refers to.
    fn forget(&self, p: &StorePath) -> Result<()> {
        self.forget_checked(Some(p));
        self.conn()
            .execute("DELETE FROM Objects WHERE base_name = ?1", [p.to_string()])
            .map_err(db::err(&format!("unregistering `{p}`")))?;
        Ok(())
    }

    fn check_leftovers(
        &self,
        registered: &HashSet<String>,
        opts: VerifyOptions,
        prove: Option<Prove<'_>>,
        report: &mut VerifyReport,
    ) -> Result<()> {
        // Crash leftovers that can be proven abandoned go first; a stage a
        // killed run's child still writes into is a note, not a failure.
        for warning in self.clean_stages()? {
            report.findings.push(Finding {
                path: self.dir().join(".staging").display().to_string(),
                message: warning,
                problem: false,
                repair: None,
            });
        }
        for entry in std::fs::read_dir(self.dir()).map_err(fsutil::err("read", self.dir()))? {
            let entry = entry.map_err(fsutil::err("read", self.dir()))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || registered.contains(&name) {
                continue;
            }
            if name.parse::<StorePath>().is_err() {
                report.findings.push(Finding {
                    path: entry.path().display().to_string(),
                    message: "not a store object name; left alone".into(),
                    problem: false,
                    repair: None,
                });
            }
        }
        // Any other unregistered object may be in use (a lost database):
        // damage, never deleted; repair registers again what it can prove.
        let temp = lock::read_temp_roots(&self.dir().join(".temproots"), false)?;
        let unknown = self.unregistered_on_disk(&temp)?;
        let results: Vec<(StorePath, Option<std::result::Result<String, String>>)> = if opts.repair
        {
            self.reregister(&unknown, prove)?
                .into_iter()
                .map(|(p, r)| (p, Some(r)))
                .collect()
        } else {
            unknown.into_iter().map(|p| (p, None)).collect()
        };
        for (p, repair) in results {
            let finding = Finding {
                path: self.real_path(&p).display().to_string(),
                message: "on disk but not registered in the store database (was the \
                          database lost or replaced?); gc refuses to run until it is \
                          registered again or moved out of the store"
                    .into(),
                problem: true,
                repair,
            };
            if finding.unrepaired() {
                report.unregistered += 1;
            }
            report.findings.push(finding);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Kind, NewObject};

    #[test]
    fn a_checked_object_is_not_asked_again_until_this_process_unregisters_it() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::open(&tmp.path().join("store")).unwrap();
        let p = crate::store::path::output_path("demo", "out", &[7; 32], store.dir_str()).unwrap();
        let obj = NewObject::known(p.clone(), Kind::Generation);
        let build =
            |out: &std::path::Path| std::fs::create_dir(out).map_err(fsutil::err("mkdir", out));
        assert!(!store.add(&obj, build).unwrap().reused);
        let before = store.validity_queries();
        // Registered by this process: reused and checked without the database.
        assert!(store.add(&obj, build).unwrap().reused);
        for _ in 0..3 {
            assert!(store.root_and_check(&p).unwrap());
        }
        assert_eq!(store.validity_queries(), before);
        // Deleted by hand and forgotten: the next check asks again.
        std::fs::remove_dir(store.real_path(&p)).unwrap();
        assert!(store.forget_missing(&p).unwrap());
        assert!(!store.root_and_check(&p).unwrap());
        assert!(store.validity_queries() > before);
        assert!(!store.add(&obj, build).unwrap().reused);
    }

    #[test]
    fn many_objects_are_rooted_in_one_append_and_checked_in_one_pass() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::open(&tmp.path().join("store")).unwrap();
        let dir = store.dir_str().to_string();
        let path = |i: u8| {
            crate::store::path::output_path(&format!("d{i}"), "out", &[i; 32], &dir).unwrap()
        };
        let build =
            |out: &std::path::Path| std::fs::create_dir(out).map_err(fsutil::err("mkdir", out));
        let registered: Vec<StorePath> = (0..5).map(path).collect();
        for p in &registered {
            store
                .add(&NewObject::known(p.clone(), Kind::Generation), build)
                .unwrap();
        }
        // Another process's view: a fresh handle that checked nothing yet.
        drop(store);
        let store = Store::open(&tmp.path().join("store")).unwrap();
        let mut asked = registered.clone();
        asked.insert(2, path(9));
        asked.push(registered[0].clone());
        let answers = store.root_and_check_all(&asked).unwrap();
        assert_eq!(answers, [true, true, false, true, true, true, true]);
        // One query a distinct path, each root written once, one line each.
        assert_eq!(store.validity_queries(), 6);
        let roots = std::fs::read_to_string(
            store
                .dir()
                .join(".temproots")
                .join(std::process::id().to_string()),
        )
        .unwrap();
        let mut lines: Vec<&str> = roots.lines().collect();
        lines.sort_unstable();
        let mut want: Vec<String> = asked[..6].iter().map(StorePath::hash_part).collect();
        want.sort_unstable();
        assert_eq!(lines, want);
        // Asked again: nothing more from the database, nothing more written;
        // the unregistered one is asked again (it may have appeared since).
        assert_eq!(store.root_and_check_all(&asked).unwrap(), answers);
        assert_eq!(store.validity_queries(), 7);
        let again = std::fs::read_to_string(
            store
                .dir()
                .join(".temproots")
                .join(std::process::id().to_string()),
        )
        .unwrap();
        assert_eq!(again, roots);
    }

    #[test]
    fn repair_puts_a_rebuilt_tree_in_place_only_with_the_recorded_hash() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::open(&tmp.path().join("store")).unwrap();
        let obj = NewObject::content("demo", Kind::Source);
        let write = |dir: &std::path::Path, text: &str| {
            std::fs::create_dir(dir)?;
            std::fs::write(dir.join("f"), text)
        };
        let added = store
            .add(&obj, |out| {
                write(out, "good").map_err(fsutil::err("write", out))
            })
            .unwrap();
        let real = store.real_path(&added.path);
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(real.join("f"), std::fs::Permissions::from_mode(0o644)).unwrap();
        std::fs::write(real.join("f"), "bad").unwrap();
        let opts = VerifyOptions {
            check_contents: true,
            repair: true,
        };
        let staged = |text: &'static str| {
            let store = &store;
            move |_: &crate::store::ObjectInfo| {
                let dir = store.dir().join(".staging").join(format!("t-{text}"));
                write(&dir, text).map_err(|e| e.to_string())?;
                store.hash_tree(dir).map(Some).map_err(|e| e.to_string())
            }
        };
        // Other contents: refused, the damaged object left as it is.
        let wrong = staged("other");
        let report = store
            .verify_with(opts, Some(&wrong), None, &|_, _, _| {})
            .unwrap();
        assert_eq!(report.unrepaired(), 1, "{:?}", report.findings);
        let why = format!("{:?}", report.findings[0].repair);
        assert!(why.contains("rebuilding gave other contents"), "{why}");
        assert_eq!(std::fs::read_to_string(real.join("f")).unwrap(), "bad");
        assert!(!store.dir().join(".staging/t-other").exists());
        // The recorded contents: exchanged in, and the store is whole.
        let right = staged("good");
        let report = store
            .verify_with(opts, Some(&right), None, &|_, _, _| {})
            .unwrap();
        assert_eq!(report.unrepaired(), 0, "{:?}", report.findings);
        assert_eq!(std::fs::read_to_string(real.join("f")).unwrap(), "good");
        let clean = store.verify_with(opts, None, None, &|_, _, _| {}).unwrap();
        assert!(
            clean.findings.iter().all(|f| !f.problem),
            "{:?}",
            clean.findings
        );
        assert!(!store.dir().join(".staging/t-good").exists());
    }
}
