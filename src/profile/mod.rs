//! The buildout directory as a profile of the store: numbered generations
//! and one atomic switch.
//!
//! ```text
//! <buildout>/.buildout/generations/<N> -> <store>/<hash>-generation   (GC roots)
//! <buildout>/.buildout/current         -> generations/<N>             (one rename switches)
//! <buildout>/.buildout/replaced/<N>                                   (the generation current when N was made)
//! <buildout>/.buildout/lock                                           (one buildout at a time)
//! <buildout>/.buildout/backup/<time>/                                 (what adoption moved aside)
//! <buildout>/bin   -> .buildout/current/bin
//! <buildout>/parts -> .buildout/current/parts
//! <buildout>/<managed file, e.g. etc/app.conf> -> <../>.buildout/current/files/<same path>
//! ```
//!
//! Because `bin`, `parts` and managed files point *through* `current`,
//! renaming `current` switches all of them at once: a reader sees the old
//! generation or the new one, never a mix, and a crash at any point leaves
//! `current` naming a complete generation. A generation's creation time is
//! the modification time of its link (as in Nix), so identical generations
//! share one store object. Mutable directories (`develop-eggs`, `var`,
//! `src`, anything the user made) are never touched; files a previous tool
//! left where buildout now manages links are moved into `backup/`, never
//! deleted. Which generation was current when `N` was made is recorded
//! beside it in `replaced/<N>`, not in the manifest: identical generations
//! share one object whatever they replaced (`generations` describes each
//! relative to it; profiles older than the record fall back to the
//! generation numbered before).
//!
//! `.buildout` and what is made in it get explicit modes whatever the
//! umask (`0755`, `2775` in a group-shared buildout directory; the lock
//! file `0600`/`0660`), as the store's own directories do ([`crate::fs`]).
//! Which paths a part may write at all is decided in [`paths`] (checked
//! again on every switch: a manifest may be older than the rule).

pub mod manifest;
pub mod paths;
pub mod spec;

pub use manifest::Manifest;

use nix::fcntl::{Flock, FlockArg};
use std::fmt;
use std::fs::{self, File};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// The mutable directory a recipe-host part's empty `parts/<name>` becomes
/// (`<buildout>/.buildout/state/<name>`): never deleted by rollback or gc.
pub fn state_dir(directory: &str, part: &str) -> PathBuf {
    Path::new(directory)
        .join(STATE)
        .join("state")
        .join(object_name(part))
}

/// A store-safe object name for a part (`[A-Za-z0-9+-._?=]`).
pub fn object_name(part: &str) -> String {
    let name: String = part
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "+-._?=".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let name = name.trim_start_matches('.').to_string();
    if name.is_empty() { "part".into() } else { name }
}

/// A generation number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Generation(pub u32);

impl fmt::Display for Generation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.0.to_string())
    }
}

impl FromStr for Generation {
    type Err = std::num::ParseIntError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.parse().map(Generation)
    }
}

/// A profile error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Io(#[from] crate::fs::IoError),
    #[error("generation {0} does not exist in this buildout")]
    NoSuchGeneration(Generation),
    #[error("there is no generation before {0} to roll back to")]
    NothingToRollBackTo(Generation),
    #[error("this buildout has no generations yet (run `buildout install` first)")]
    NoGenerations,
    #[error("cannot read the manifest of generation {generation} at `{path}`: {message}")]
    Manifest {
        generation: Generation,
        path: PathBuf,
        message: String,
    },
    #[error(transparent)]
    Spec(#[from] spec::BadSpec),
    #[error("another buildout is running in `{0}`")]
    Busy(PathBuf),
    /// `who`: `option `x` of part `y`` or `distribution `d 1.0` of part `y``.
    #[error(
        "{who} names the script `{name}`, which is not a plain file name \
         (not empty, not `.` or `..`, no `/`, no NUL): buildout only writes scripts into `bin/`"
    )]
    BadScriptName { who: String, name: String },
    #[error(
        "{who} names `{path}`, {}outside the buildout directory `{directory}`: \
         buildout only manages files inside it",
        match link { Some(l) => format!("which leads through the symbolic link `{l}` "), None => String::new() }
    )]
    OutsideBuildout {
        who: String,
        path: String,
        directory: String,
        /// The symbolic link on the way that leads outside.
        link: Option<String>,
    },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

use crate::fs::io;

/// One generation as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub generation: Generation,
    /// The generation object in the store.
    pub target: PathBuf,
    /// Creation time (seconds since the epoch): the link's mtime.
    pub created: i64,
    /// The generation that was current when this one was made, if recorded.
    pub replaced: Option<Generation>,
}

/// A buildout directory's generations.
#[derive(Debug)]
pub struct Profile {
    dir: PathBuf,
    state: PathBuf,
    _lock: Option<Flock<File>>,
}

/// Named places inside the state directory.
const STATE: &str = ".buildout";
const GENERATIONS: &str = "generations";
const CURRENT: &str = "current";
const REPLACED: &str = "replaced";

impl Profile {
    /// Opens the profile of `buildout_dir` for changes, taking the directory
    /// lock: if another buildout holds it, `waiting` is called once and the
    /// call blocks until the other process is done.
    pub fn open_locked(buildout_dir: &Path, waiting: &mut dyn FnMut()) -> Result<Self> {
        let state = buildout_dir.join(STATE);
        crate::fs::create_dir_all(buildout_dir).map_err(io("create", buildout_dir))?;
        // A world-writable state directory (an older version under `umask
        // 000`) is corrected: its links decide what the scripts run.
        for dir in [state.clone(), state.join(GENERATIONS)] {
            let parent = dir.parent().unwrap_or(buildout_dir);
            crate::fs::dir_mode_in(parent)
                .and_then(|mode| crate::fs::ensure_dir(&dir, mode))
                .map_err(io("create", &dir))?;
        }
        let lock_path = state.join("lock");
        let file = crate::fs::open_lock_file(&lock_path).map_err(io("open", &lock_path))?;
        let lock = match crate::fs::flock(file, FlockArg::LockExclusiveNonblock)
            .map_err(io("lock", &lock_path))?
        {
            Some(lock) => lock,
            None => {
                waiting();
                let file = crate::fs::open_lock_file(&lock_path).map_err(io("open", &lock_path))?;
                crate::fs::flock(file, FlockArg::LockExclusive)
                    .map_err(io("lock", &lock_path))?
                    .ok_or_else(|| io("lock", &lock_path)(std::io::ErrorKind::WouldBlock.into()))?
            }
        };
        Ok(Self {
            dir: buildout_dir.to_path_buf(),
            state,
            _lock: Some(lock),
        })
    }

    /// Opens the profile for reading only (no lock; listings may race with a
    /// switch, which is atomic).
    pub fn open_read(buildout_dir: &Path) -> Self {
        Self {
            dir: buildout_dir.to_path_buf(),
            state: buildout_dir.join(STATE),
            _lock: None,
        }
    }

    /// `<buildout>/.buildout/generations`, the store's indirect root.
    pub fn generations_dir(&self) -> PathBuf {
        self.state.join(GENERATIONS)
    }

    /// All generations, oldest first.
    pub fn generations(&self) -> Result<Vec<Entry>> {
        let dir = self.generations_dir();
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io("read", &dir)(e).into()),
        };
        let mut out = Vec::new();
        for entry in entries {
            let entry = entry.map_err(io("read", &dir))?;
            let name = entry.file_name();
            let Some(generation) = name.to_str().and_then(|n| n.parse::<Generation>().ok()) else {
                continue;
            };
            let link = entry.path();
            let target = fs::read_link(&link).map_err(io("read link", &link))?;
            let meta = fs::symlink_metadata(&link).map_err(io("stat", &link))?;
            out.push(Entry {
                generation,
                target,
                created: meta.mtime(),
                replaced: self.replaced(generation),
            });
        }
        out.sort_by_key(|e| e.generation);
        Ok(out)
    }

    /// The generation recorded as current when `g` was made. A missing or
    /// unreadable record (a profile older than it) is `None`: callers fall
    /// back to the generation numbered before.
    fn replaced(&self, g: Generation) -> Option<Generation> {
        fs::read_to_string(self.state.join(REPLACED).join(g.to_string()))
            .ok()
            .and_then(|text| text.trim().parse().ok())
    }

    /// The current generation, if any.
    pub fn current(&self) -> Result<Option<Generation>> {
        let link = self.state.join(CURRENT);
        match fs::read_link(&link) {
            Ok(target) => Ok(target
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.parse().ok())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io("read link", &link)(e).into()),
        }
    }

    /// The entry of generation `g`.
    pub fn entry(&self, g: Generation) -> Result<Entry> {
        self.generations()?
            .into_iter()
            .find(|e| e.generation == g)
            .ok_or(Error::NoSuchGeneration(g))
    }

    /// Reads the manifest of generation `g`.
    pub fn manifest(&self, g: Generation) -> Result<Manifest> {
        let entry = self.entry(g)?;
        read_manifest(g, &entry.target)
    }

    /// Records a new generation pointing at `target` (a registered store
    /// object) and returns its number; `replaced` (the generation current
    /// now) is recorded first, so the link never exists without it. Both
    /// are created under a temporary name, synced and renamed, so a crash
    /// leaves nothing half-made (at worst a record for a number not yet
    /// used, overwritten when that number is).
    pub fn add(&self, target: &Path, replaced: Option<Generation>) -> Result<Generation> {
        let next = self
            .generations()?
            .last()
            .map_or(Generation(1), |e| Generation(e.generation.0 + 1));
        if let Some(replaced) = replaced {
            self.record_replaced(next, replaced)?;
        }
        let dir = self.generations_dir();
        let tmp = dir.join(format!(".{next}.tmp{}", std::process::id()));
        let _ = fs::remove_file(&tmp);
        std::os::unix::fs::symlink(target, &tmp).map_err(io("create link", &tmp))?;
        let link = dir.join(next.to_string());
        fs::rename(&tmp, &link).map_err(io("rename", &link))?;
        fsync_dir(&dir)?;
        Ok(next)
    }

    /// Writes `replaced/<g>`.
    fn record_replaced(&self, g: Generation, replaced: Generation) -> Result<()> {
        let dir = self.state.join(REPLACED);
        crate::fs::dir_mode_in(&self.state)
            .and_then(|mode| crate::fs::ensure_dir(&dir, mode))
            .map_err(io("create", &dir))?;
        let path = dir.join(g.to_string());
        let tmp = dir.join(format!(".{g}.tmp{}", std::process::id()));
        crate::fs::write_file(&tmp, format!("{replaced}\n").as_bytes(), true)
            .map_err(io("write", &tmp))?;
        fs::rename(&tmp, &path).map_err(io("rename", &path))?;
        fsync_dir(&dir)
    }

    /// Makes `g` current: one atomic rename of `.buildout/current`, then the
    /// links of the buildout directory are brought in line with `new`
    /// (`old` is the manifest of the generation being left, if any).
    /// Returns what adoption moved aside.
    pub fn switch(
        &self,
        g: Generation,
        new: &Manifest,
        old: Option<&Manifest>,
    ) -> Result<Vec<Moved>> {
        self.entry(g)?;
        paths::check_manifest(&self.dir.to_string_lossy(), new)?;
        let mut moved = Vec::new();
        // Links that will point through `current` are made first: until the
        // rename they may dangle, never point at the wrong generation.
        self.ensure_link("bin", Path::new(".buildout/current/bin"), &mut moved)?;
        self.ensure_link("parts", Path::new(".buildout/current/parts"), &mut moved)?;
        let installed = self.dir.join(".installed.cfg");
        if installed.exists() {
            let (from, to) = self.move_aside(".installed.cfg")?;
            moved.push(Moved {
                from,
                to,
                linked: false,
            });
        }
        for rel in new.outputs() {
            if is_generation_dir_output(rel) {
                continue;
            }
            let depth = Path::new(rel).components().count() - 1;
            let mut target = PathBuf::new();
            for _ in 0..depth {
                target.push("..");
            }
            target.push(".buildout/current/files");
            target.push(rel);
            self.ensure_link(rel, &target, &mut moved)?;
        }

        // The links above must be durable before `current` names the new
        // generation.
        fsync_dir(&self.dir)?;
        let tmp = self
            .state
            .join(format!(".current.tmp{}", std::process::id()));
        let _ = fs::remove_file(&tmp);
        std::os::unix::fs::symlink(Path::new(GENERATIONS).join(g.to_string()), &tmp)
            .map_err(io("create link", &tmp))?;
        crate::store::failpoint::hit("switch-before-rename");
        let current = self.state.join(CURRENT);
        fs::rename(&tmp, &current).map_err(io("rename", &current))?;
        fsync_dir(&self.state)?;
        crate::store::failpoint::hit("switch-after-rename");

        // Links of outputs the new generation no longer has now dangle:
        // remove them (only our own links).
        if let Some(old) = old {
            let keep = new.outputs();
            for rel in old.outputs() {
                if keep.contains(&rel) || is_generation_dir_output(rel) {
                    continue;
                }
                let path = self.dir.join(rel);
                if is_our_link(&path) {
                    let _ = fs::remove_file(&path);
                }
            }
        }
        Ok(moved)
    }

    /// Deletes generation links (never the current one).
    pub fn delete(&self, generations: &[Generation]) -> Result<()> {
        let current = self.current()?;
        let dir = self.generations_dir();
        for g in generations {
            if Some(*g) == current {
                continue;
            }
            let link = dir.join(g.to_string());
            fs::remove_file(&link).map_err(io("remove", &link))?;
            // Its record goes with it (a profile older than records has none).
            let record = self.state.join(REPLACED).join(g.to_string());
            match fs::remove_file(&record) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(io("remove", &record)(e).into());
                }
                _ => {}
            }
        }
        fsync_dir(&dir)
    }

    /// Makes `rel` a symlink to `target`, moving aside whatever else is there.
    /// Points `bin` and `parts` at `<base>/bin` and `<base>/parts`
    /// (relative to the buildout directory): `.buildout/current` normally,
    /// the build view while recipe-host parts are installed. What a
    /// previous tool left there is moved aside, as by [`Self::switch`].
    pub fn point_links(&self, base: &str) -> Result<Vec<Moved>> {
        let mut moved = Vec::new();
        let base = Path::new(base);
        self.ensure_link("bin", &base.join("bin"), &mut moved)?;
        self.ensure_link("parts", &base.join("parts"), &mut moved)?;
        Ok(moved)
    }

    fn ensure_link(&self, rel: &str, target: &Path, moved: &mut Vec<Moved>) -> Result<()> {
        let path = self.dir.join(rel);
        match fs::symlink_metadata(&path) {
            Ok(meta) if meta.file_type().is_symlink() => {
                if fs::read_link(&path).ok().as_deref() == Some(target) {
                    return Ok(());
                }
                if is_our_link(&path) {
                    fs::remove_file(&path).map_err(io("remove", &path))?;
                } else {
                    moved.push(self.move_aside_for_link(rel)?);
                }
            }
            Ok(_) => moved.push(self.move_aside_for_link(rel)?),
            Err(_) => {}
        }
        if let Some(parent) = path.parent() {
            crate::fs::create_dir_all(parent).map_err(io("create", parent))?;
        }
        let tmp = path.with_file_name(format!(
            ".{}.tmp{}",
            path.file_name().and_then(|n| n.to_str()).unwrap_or("link"),
            std::process::id()
        ));
        let _ = fs::remove_file(&tmp);
        std::os::unix::fs::symlink(target, &tmp).map_err(io("create link", &tmp))?;
        fs::rename(&tmp, &path).map_err(io("rename", &path))?;
        Ok(())
    }

    /// Moves `rel` aside for a link that takes its place.
    fn move_aside_for_link(&self, rel: &str) -> Result<Moved> {
        let (from, to) = self.move_aside(rel)?;
        Ok(Moved {
            from,
            to,
            linked: true,
        })
    }

    /// Moves `rel` into `.buildout/backup/<time>/rel`; returns (from, to).
    fn move_aside(&self, rel: &str) -> Result<(PathBuf, PathBuf)> {
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let from = self.dir.join(rel);
        let to = self.state.join("backup").join(stamp.to_string()).join(rel);
        if let Some(parent) = to.parent() {
            crate::fs::create_dir_all(parent).map_err(io("create", parent))?;
        }
        fs::rename(&from, &to).map_err(io("move aside", &from))?;
        Ok((from, to))
    }
}

/// Something of a previous tool's that a switch moved into
/// `.buildout/backup/<time>/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Moved {
    pub from: PathBuf,
    pub to: PathBuf,
    /// Whether a link into the current generation now stands at `from`
    /// (`bin`, `parts`, a managed file); `.installed.cfg` gets none: the
    /// generation's manifest replaces it.
    pub linked: bool,
}

/// Outputs under `bin/` and `parts/` live inside the generation's own
/// directories, reached through the `bin` and `parts` links.
fn is_generation_dir_output(rel: &str) -> bool {
    rel.starts_with("bin/") || rel.starts_with("parts/")
}

/// A symlink that points through `.buildout/current` (made by us).
fn is_our_link(path: &Path) -> bool {
    fs::read_link(path)
        .map(|t| {
            let t = t.to_string_lossy();
            t.contains(".buildout/current") || t.contains(".buildout/view")
        })
        .unwrap_or(false)
}

/// Reads `manifest.json` of a generation object.
pub fn read_manifest(g: Generation, target: &Path) -> Result<Manifest> {
    let path = target.join("manifest.json");
    let text = fs::read_to_string(&path).map_err(|e| Error::Manifest {
        generation: g,
        path: path.clone(),
        message: e.to_string(),
    })?;
    serde_json::from_str(&text).map_err(|e| Error::Manifest {
        generation: g,
        path,
        message: e.to_string(),
    })
}

fn fsync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|f| f.sync_all())
        .map_err(io("sync", dir))?;
    Ok(())
}
