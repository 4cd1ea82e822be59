//! `store optimise`: deduplicates identical files across objects with hard
//! links through `<store>/.links/<nix32 of the file's NAR sha256>` (the NAR
//! of one file, so the executable bit is part of the key), as Nix does.
//! Empty files are skipped (they cost no data, and hit link limits).
//!
//! Each file is replaced atomically: a temporary hard link to the `.links`
//! entry is renamed over it. The parent directory is made writable for the
//! rename and read-only again after; a crash in between leaves a writable
//! directory with intact contents, which `store verify --repair` fixes.
//! Runs under the shared gc lock, so gc waits for it.

use super::fsutil::{self, err};
use super::lock;
use super::path::{nix32_decode, nix32_encode};
use super::verify::{Finding, VerifyReport};
use super::{Result, Store, failpoint, nar};
use std::collections::HashSet;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

/// What optimise did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OptimiseReport {
    pub files_linked: u64,
    pub bytes_saved: u64,
}

impl Store {
    /// Hard-links identical files of all registered objects.
    pub fn optimise(&self) -> Result<OptimiseReport> {
        let _gc = lock::gc_lock(&self.gc_lock_path(), false)?;
        let links = self.dir().join(".links");
        let mut seen: HashSet<u64> = HashSet::new();
        for e in std::fs::read_dir(&links)
            .map_err(err("read", &links))?
            .flatten()
        {
            if let Ok(m) = e.metadata() {
                seen.insert(m.ino());
            }
        }
        let mut report = OptimiseReport::default();
        for obj in self.list()? {
            self.optimise_tree(&self.real_path(&obj.path), &links, &mut seen, &mut report)?;
        }
        Ok(report)
    }

    fn optimise_tree(
        &self,
        path: &Path,
        links: &Path,
        seen: &mut HashSet<u64>,
        report: &mut OptimiseReport,
    ) -> Result<()> {
        let Ok(meta) = std::fs::symlink_metadata(path) else {
            return Ok(());
        };
        if meta.is_dir() {
            for e in std::fs::read_dir(path)
                .map_err(err("read", path))?
                .flatten()
            {
                self.optimise_tree(&e.path(), links, seen, report)?;
            }
            return Ok(());
        }
        if !meta.is_file() || meta.len() == 0 || seen.contains(&meta.ino()) {
            return Ok(());
        }
        if meta.permissions().mode() & 0o222 != 0 {
            return Ok(()); // modified by hand: verify reports it
        }
        let (h, _) = nar::hash_path(path).map_err(err("hash", path))?;
        let link = links.join(nix32_encode(&h));
        match std::fs::hard_link(path, &link) {
            Ok(()) => {
                seen.insert(meta.ino());
                return Ok(());
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(_) => return Ok(()), // EMLINK, ENOSPC: skip, as Nix does
        }
        let Ok(lmeta) = std::fs::symlink_metadata(&link) else {
            return Ok(());
        };
        if lmeta.ino() == meta.ino() || lmeta.len() != meta.len() {
            return Ok(());
        }
        let tmp = self
            .dir()
            .join(".staging")
            .join(format!("link-{}", fsutil::random_suffix()));
        if std::fs::hard_link(&link, &tmp).is_err() {
            return Ok(());
        }
        failpoint::hit("optimise-tmp-link");
        let parent = path.parent().expect("file in a directory");
        let in_object = parent != self.dir();
        if in_object {
            std::fs::set_permissions(parent, std::fs::Permissions::from_mode(0o755))
                .map_err(err("change the mode of", parent))?;
        }
        let renamed = std::fs::rename(&tmp, path);
        if in_object {
            std::fs::set_permissions(parent, std::fs::Permissions::from_mode(0o555))
                .map_err(err("change the mode of", parent))?;
        }
        if renamed.is_err() {
            let _ = std::fs::remove_file(&tmp);
            return Ok(());
        }
        report.files_linked += 1;
        report.bytes_saved += meta.len();
        Ok(())
    }
}

/// Removes `.links` entries no object uses any more; returns bytes freed.
pub(crate) fn sweep_unused_links(store: &Store) -> Result<u64> {
    let links = store.dir().join(".links");
    let mut freed = 0;
    for e in std::fs::read_dir(&links)
        .map_err(err("read", &links))?
        .flatten()
    {
        if let Ok(m) = e.metadata()
            && m.nlink() == 1
        {
            std::fs::remove_file(e.path()).map_err(err("delete", &e.path()))?;
            freed += m.len();
        }
    }
    Ok(freed)
}

/// Re-hashes every `.links` entry against its name (verify --check-contents).
pub(crate) fn check_links(store: &Store, repair: bool, report: &mut VerifyReport) -> Result<()> {
    let links = store.dir().join(".links");
    for e in std::fs::read_dir(&links)
        .map_err(err("read", &links))?
        .flatten()
    {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(expected) = nix32_decode(&name, 32) else {
            continue;
        };
        let (h, _) = nar::hash_path(&e.path()).map_err(err("hash", &e.path()))?;
        if h[..] != expected[..] {
            let repair = repair.then(|| {
                std::fs::remove_file(e.path())
                    .map(|()| "removed the link (objects sharing it are reported above)".into())
                    .map_err(|e| e.to_string())
            });
            report.findings.push(Finding {
                path: e.path().display().to_string(),
                message: "deduplicated file content does not match its hash".into(),
                problem: true,
                repair,
            });
        }
    }
    Ok(())
}
