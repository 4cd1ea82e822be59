//! The build view: writable `bin/` and `parts/` for recipe-host installs.
//!
//! Python recipes write through absolute paths (`parts/<name>`,
//! `bin/<script>`), but the buildout directory's `bin` and `parts` are
//! links into a read-only generation. While recipe-host parts are
//! installed, `bin` and `parts` are real directories instead, as in
//! zc.buildout (collective.recipe.omelette refuses to create directories
//! under a symlink): they are made in `.buildout/view` and renamed into
//! place (the links pointed at them first, so whatever another tool left
//! there is moved aside as by a switch). `bin/` holds copies of the
//! current scripts (zc.buildout's `easy_install.scripts` reads a script
//! before it rewrites it), `parts/` links to every current part, both
//! updated as this run realises parts. Before a part is installed its own
//! `parts/<name>` and old scripts go (as zc.buildout's uninstall removes
//! them); afterwards what it made at `parts/<name>` and the scripts it
//! wrote or changed are moved into the tree of its store object
//! ([`View::collect`]). When the view is closed, on success or failure, the
//! two directories are removed and the links point at `.buildout/current`
//! again. A crash leaves them (and `.buildout/view`): [`View::recover`]
//! removes them on the next run. Built content keeps naming
//! `<buildout>/parts/<name>`, which after the switch resolves through the
//! new generation.

use super::super::Result;
use crate::profile::manifest::{PartEntry, PartLink};
use crate::profile::paths::{Origin, Request, decide};
use crate::profile::{Profile, state_dir};
use crate::recipe::hosted::{Record, move_tree};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

const VIEW: &str = ".buildout/view";

/// An open build view.
pub(super) struct View<'p> {
    profile: &'p Profile,
    directory: PathBuf,
    root: PathBuf,
    /// The contents of `bin/` before the part being installed ran.
    before: BTreeMap<String, Vec<u8>>,
    /// When the part being installed started.
    started: std::time::SystemTime,
    /// Files recipes made and returned, copied into their objects: they go
    /// just before the switch links them ([`View::adopted`]).
    adopted: Vec<PathBuf>,
    /// Links to the current generation's files that parts being installed
    /// managed, removed for their install (as zc.buildout's uninstall
    /// removes a part's files), with their targets: put back if the run
    /// fails.
    unlinked: Vec<(PathBuf, PathBuf)>,
    closed: bool,
}

/// Directories whose contents stay the user's (mutable state), never
/// adopted into an object.
const MUTABLE: &[&str] = &["var/", "src/", "develop-eggs/", "eggs/", "bin/", "parts/"];

fn io(action: &str, path: &Path) -> impl FnOnce(std::io::Error) -> super::Error {
    let f = crate::fs::io(action, path);
    move |e| super::Error::Recipe(crate::recipe::Error::Io(f(e)))
}

/// The regular files of `dir`, by name, with their contents.
fn read_files(dir: &Path) -> Result<BTreeMap<String, Vec<u8>>> {
    let mut out = BTreeMap::new();
    for e in fs::read_dir(dir).map_err(io("read", dir))? {
        let e = e.map_err(io("read", dir))?;
        let path = e.path();
        if e.file_type().map_err(io("read", &path))?.is_file()
            && let Some(name) = e.file_name().to_str()
        {
            out.insert(
                name.to_string(),
                fs::read(&path).map_err(io("read", &path))?,
            );
        }
    }
    Ok(out)
}

/// Removes whatever is at `path` (a link is removed, not followed).
fn remove(path: &Path) -> Result<()> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => fs::remove_dir_all(path).map_err(io("remove", path))?,
        Ok(_) => fs::remove_file(path).map_err(io("remove", path))?,
        Err(_) => {}
    }
    Ok(())
}

/// Copies the file `from` (following links) to `to`, executable.
fn copy_script(from: &Path, to: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    remove(to)?;
    fs::copy(from, to).map_err(io("copy", from))?;
    fs::set_permissions(to, fs::Permissions::from_mode(0o755)).map_err(io("chmod", to))?;
    Ok(())
}

impl<'p> View<'p> {
    /// Makes the view from the current generation and puts its `bin` and
    /// `parts` in place.
    pub fn open(profile: &'p Profile, directory: &Path) -> Result<Self> {
        Self::recover(profile, directory)?;
        let root = directory.join(VIEW);
        for sub in ["bin", "parts", "build"] {
            crate::fs::create_dir_all(&root.join(sub)).map_err(io("create", &root))?;
        }
        let current = directory.join(".buildout/current");
        if let Ok(entries) = fs::read_dir(current.join("parts")) {
            for e in entries.flatten() {
                let target = fs::read_link(e.path()).map_err(io("read", &e.path()))?;
                let at = root.join("parts").join(e.file_name());
                std::os::unix::fs::symlink(target, &at).map_err(io("create link", &at))?;
            }
        }
        if let Ok(entries) = fs::read_dir(current.join("bin")) {
            for e in entries.flatten() {
                copy_script(&e.path(), &root.join("bin").join(e.file_name()))?;
            }
        }
        let view = Self {
            profile,
            directory: directory.to_path_buf(),
            root,
            before: BTreeMap::new(),
            started: std::time::SystemTime::now(),
            adopted: Vec::new(),
            unlinked: Vec::new(),
            closed: false,
        };
        // Our links first (anything else there is moved aside), then the
        // directories in their place.
        profile.point_links(VIEW)?;
        for sub in ["bin", "parts"] {
            let at = view.directory.join(sub);
            fs::remove_file(&at).map_err(io("remove", &at))?;
            fs::rename(view.root.join(sub), &at).map_err(io("move", &at))?;
        }
        Ok(view)
    }

    /// Removes what a view left when its run crashed: real `bin` and
    /// `parts` directories while `.buildout/view` exists are the view's
    /// (a closed view leaves links there and no `.buildout/view`).
    pub fn recover(profile: &Profile, directory: &Path) -> Result<()> {
        let root = directory.join(VIEW);
        if fs::symlink_metadata(&root).is_err() {
            return Ok(());
        }
        for sub in ["bin", "parts"] {
            let at = directory.join(sub);
            if fs::symlink_metadata(&at).is_ok_and(|m| m.is_dir()) {
                remove(&at)?;
            }
        }
        profile.point_links(".buildout/current")?;
        remove(&root)
    }

    fn bin(&self) -> PathBuf {
        self.directory.join("bin")
    }

    fn parts(&self) -> PathBuf {
        self.directory.join("parts")
    }

    /// Shows `entry`, a part realised by this run, in the view.
    pub fn overlay(&self, entry: &PartEntry) -> Result<()> {
        let at = self.parts().join(&entry.name);
        remove(&at)?;
        let object = Path::new(&entry.path);
        let target = match &entry.link {
            None => Some(object.to_path_buf()),
            Some(PartLink::None) => None,
            Some(PartLink::Location) => Some(object.join("location")),
            Some(PartLink::State(dir)) => Some(PathBuf::from(dir)),
        };
        if let Some(target) = target {
            std::os::unix::fs::symlink(target, &at).map_err(io("create link", &at))?;
        }
        for rel in &entry.outputs {
            if let Some(name) = rel.strip_prefix("bin/") {
                copy_script(&object.join("outputs").join(rel), &self.bin().join(name))?;
            }
        }
        Ok(())
    }

    /// Before `part`'s install: its `parts/<name>` and the scripts it made
    /// before (`old_outputs`) go; the scripts left are remembered.
    pub fn prepare(&mut self, part: &str, old_outputs: &[String]) -> Result<()> {
        remove(&self.parts().join(part))?;
        for rel in old_outputs {
            if let Some(name) = rel.strip_prefix("bin/") {
                remove(&self.bin().join(name))?;
                continue;
            }
            // A file it manages in the buildout directory is a link into
            // the current generation: the recipe must write a new file,
            // never through the link into the store.
            let at = self.directory.join(rel);
            if let Ok(target) = fs::read_link(&at)
                && target
                    .to_string_lossy()
                    .contains(".buildout/current/files/")
            {
                fs::remove_file(&at).map_err(io("remove", &at))?;
                self.unlinked.push((at, target));
            }
        }
        self.before = read_files(&self.bin())?;
        self.started = std::time::SystemTime::now();
        let tree = self
            .root
            .join("build")
            .join(crate::build::object_name(part));
        remove(&tree)
    }

    /// After `part`'s install: the tree of its object (`location/`,
    /// `outputs/bin/...`) and its record (outputs, what `parts/<name>`
    /// becomes, what the recipe returned).
    pub fn collect(
        &mut self,
        part: &str,
        spec: &str,
        returned: Option<Vec<String>>,
    ) -> Result<(PathBuf, Record)> {
        let tree = self
            .root
            .join("build")
            .join(crate::build::object_name(part));
        crate::fs::create_dir_all(&tree).map_err(io("create", &tree))?;
        let location = self.parts().join(part);
        let link = match fs::symlink_metadata(&location) {
            Err(_) => PartLink::None,
            Ok(m)
                if m.is_dir()
                    && fs::read_dir(&location)
                        .map_err(io("read", &location))?
                        .next()
                        .is_none() =>
            {
                let state = state_dir(&self.directory.to_string_lossy(), part);
                if state.exists() {
                    fs::remove_dir(&location).map_err(io("remove", &location))?;
                } else {
                    if let Some(parent) = state.parent() {
                        crate::fs::create_dir_all(parent).map_err(io("create", parent))?;
                    }
                    fs::rename(&location, &state).map_err(io("move", &location))?;
                }
                PartLink::State(state.to_string_lossy().into_owned())
            }
            Ok(_) => {
                move_tree(&location, &tree.join("location"))?;
                PartLink::Location
            }
        };
        let mut outputs = Vec::new();
        let bin = self.bin();
        for (name, content) in read_files(&bin)? {
            if self.before.get(&name) == Some(&content) {
                continue;
            }
            let to = tree.join("outputs/bin");
            crate::fs::create_dir_all(&to).map_err(io("create", &to))?;
            fs::rename(bin.join(&name), to.join(&name)).map_err(io("move", &bin))?;
            outputs.push(format!("bin/{name}"));
        }
        let directory = self.directory.to_string_lossy().into_owned();
        let returned: Vec<String> = returned
            .unwrap_or_default()
            .iter()
            .map(|p| crate::config::pystr::abspath(p, &directory).to_string())
            .collect();
        for path in &returned {
            if let Some(rel) = self.adoptable(part, path) {
                let to = tree.join("outputs").join(&rel);
                if let Some(parent) = to.parent() {
                    crate::fs::create_dir_all(parent).map_err(io("create", parent))?;
                }
                fs::copy(path, &to).map_err(io("copy", Path::new(path)))?;
                outputs.push(rel);
                self.adopted.push(PathBuf::from(path));
            }
        }
        let record = Record {
            recipe: spec.to_string(),
            outputs,
            link,
            returned,
            // Filled in when the object is built (`Hosted::build`).
            distributions: Vec::new(),
            host: Vec::new(),
        };
        Ok((tree, record))
    }

    /// A returned path that becomes a managed output of the part, relative
    /// to the buildout directory: a regular file inside it (not through an
    /// escaping link), outside the mutable directories, that this install
    /// made or changed. Anything else returned stays where it is (a
    /// directory, `var/...`: state the user keeps).
    fn adoptable(&self, part: &str, path: &str) -> Option<String> {
        let meta = fs::symlink_metadata(path).ok()?;
        if !meta.is_file() || meta.modified().ok()? < self.started {
            return None;
        }
        let request = Request::Output {
            path,
            origin: Origin::Returned,
        };
        let rel = decide(&self.directory.to_string_lossy(), part, request).ok()?;
        (!MUTABLE.iter().any(|m| rel.starts_with(m))).then_some(rel)
    }

    /// The files adopted into objects, to remove just before the switch
    /// puts links in their place.
    pub fn adopted(&self) -> Vec<PathBuf> {
        self.adopted.clone()
    }

    /// Removes the view's `bin` and `parts`, points the links back at the
    /// current generation and removes the view.
    pub fn close(mut self) -> Result<()> {
        self.closed = true;
        self.restore()
    }

    fn restore(&self) -> Result<()> {
        for sub in ["bin", "parts"] {
            let at = self.directory.join(sub);
            if fs::symlink_metadata(&at).is_ok_and(|m| m.is_dir()) {
                remove(&at)?;
            }
        }
        self.profile.point_links(".buildout/current")?;
        remove(&self.root)
    }
}

impl Drop for View<'_> {
    /// A failed run: the links go back all the same.
    fn drop(&mut self) {
        if !self.closed {
            let _ = self.restore();
            for (at, target) in &self.unlinked {
                if fs::symlink_metadata(at).is_err() {
                    let _ = std::os::unix::fs::symlink(target, at);
                }
            }
        }
    }
}
