//! Garbage collection: mark from every root in memory, sweep the rest
//! referrers-first.
//!
//! 1. empty `.trash/` (left by an interrupted gc);
//! 2. take the gc lock exclusive: from now on no process can add a temporary
//!    root (it waits), so the roots read next stay complete; refuse to run
//!    if an object on disk is not registered (a lost database: fail closed);
//! 3. read the temporary roots of live processes and the root registry;
//! 4. load the whole reference graph with two queries and mark forward from
//!    the roots (no per-object queries: Nix's per-path referrer walk is what
//!    makes its gc slow on large stores);
//! 5. sort the dead objects referrers-first and delete them in batches: one
//!    `BEGIN IMMEDIATE` transaction deletes the rows (the foreign keys refuse
//!    to break the closure invariant), then each directory is renamed into
//!    `.trash/` (atomic), then the trash is emptied;
//! 6. remove crash leftovers: unregistered directories nobody holds locked,
//!    unlocked staging directories, records of objects that are gone, stale
//!    lock files, unused `.links`.
//!
//! Safe while other processes add objects: anything they are adding or
//! using is temp-rooted before it is checked or registered. In a store
//! shared with a group, a user's gc keeps the unreachable directory objects
//! (and leftovers) other users own, which only their owner or the
//! superuser can delete.

use super::failpoint;
use super::fsutil;
use super::lock::{self, PathLock};
use super::path::StorePath;
use super::roots::{Root, RootSource};
use super::{Error, Result, Store, db};
use rusqlite::TransactionBehavior;
use std::collections::{HashMap, HashSet, VecDeque};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Options of a gc run.
#[derive(Debug, Clone, Default)]
pub struct GcOptions {
    /// Report what would be deleted, delete nothing.
    pub dry_run: bool,
    /// Stop once this many bytes are freed.
    pub max_freed: Option<u64>,
}

/// What a gc run did (or, dry, would do).
#[derive(Debug, Clone, Default)]
pub struct GcReport {
    /// Objects deleted, in deletion order, with the bytes each freed.
    pub deleted: Vec<(StorePath, u64)>,
    /// Total bytes freed (objects, leftovers, unused links).
    pub bytes_freed: u64,
    /// Unregistered directories (crash leftovers) removed.
    pub leftovers: Vec<PathBuf>,
    /// Registry entries removed because their target is gone.
    pub dangling_roots: Vec<PathBuf>,
    /// Objects in the store and how many are alive.
    pub total: usize,
    pub live: usize,
    /// Time spent loading the graph and marking.
    pub mark_time: Duration,
    /// True if `max_freed` stopped the sweep early.
    pub stopped_early: bool,
    /// Unreachable objects kept because another user owns them (a store
    /// shared with a group: their owner's or the superuser's gc deletes
    /// them).
    pub foreign: usize,
}

/// The reference graph, loaded at once.
pub(crate) struct Graph {
    pub names: Vec<StorePath>,
    pub ids: Vec<i64>,
    pub refs: Vec<Vec<usize>>,
    pub by_hash: HashMap<String, usize>,
}

impl Graph {
    pub fn load(store: &Store) -> Result<Self> {
        let conn = store.conn();
        let mut names = Vec::new();
        let mut ids = Vec::new();
        let mut index = HashMap::new();
        let mut stmt = conn
            .prepare("SELECT id, base_name FROM Objects")
            .map_err(db::err("loading objects"))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))
            .map_err(db::err("loading objects"))?;
        for row in rows {
            let (id, name) = row.map_err(db::err("loading objects"))?;
            index.insert(id, names.len());
            ids.push(id);
            names.push(name.parse::<StorePath>()?);
        }
        let mut refs = vec![Vec::new(); names.len()];
        let mut stmt = conn
            .prepare("SELECT referrer, reference FROM Refs")
            .map_err(db::err("loading references"))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))
            .map_err(db::err("loading references"))?;
        for row in rows {
            let (a, b) = row.map_err(db::err("loading references"))?;
            if let (Some(&a), Some(&b)) = (index.get(&a), index.get(&b)) {
                refs[a].push(b);
            }
        }
        let by_hash = names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.hash_part(), i))
            .collect();
        Ok(Self {
            names,
            ids,
            refs,
            by_hash,
        })
    }

    /// Forward closure from `start`; `parent[i]` is how `i` was reached.
    pub fn mark(&self, start: &[usize]) -> (Vec<bool>, Vec<Option<usize>>) {
        let mut live = vec![false; self.names.len()];
        let mut parent = vec![None; self.names.len()];
        let mut queue: VecDeque<usize> = VecDeque::new();
        for &s in start {
            if !live[s] {
                live[s] = true;
                queue.push_back(s);
            }
        }
        while let Some(i) = queue.pop_front() {
            for &j in &self.refs[i] {
                if !live[j] {
                    live[j] = true;
                    parent[j] = Some(i);
                    queue.push_back(j);
                }
            }
        }
        (live, parent)
    }

    /// The dead objects, referrers before their references.
    fn dead_in_order(&self, live: &[bool]) -> Vec<usize> {
        let mut indeg = vec![0usize; self.names.len()];
        for (i, rs) in self.refs.iter().enumerate() {
            if !live[i] {
                for &j in rs {
                    if j != i && !live[j] {
                        indeg[j] += 1;
                    }
                }
            }
        }
        let mut queue: VecDeque<usize> = (0..self.names.len())
            .filter(|&i| !live[i] && indeg[i] == 0)
            .collect();
        let mut order = Vec::new();
        while let Some(i) = queue.pop_front() {
            order.push(i);
            for &j in &self.refs[i] {
                if j != i && !live[j] {
                    indeg[j] -= 1;
                    if indeg[j] == 0 {
                        queue.push_back(j);
                    }
                }
            }
        }
        order
    }
}

/// Roots by graph index: registry roots and temporary roots that are valid.
pub(crate) fn root_indices(graph: &Graph, roots: &[Root], temp: &HashSet<String>) -> Vec<usize> {
    roots
        .iter()
        .map(|r| r.path.hash_part())
        .chain(temp.iter().cloned())
        .filter_map(|h| graph.by_hash.get(&h).copied())
        .collect()
}

const BATCH: usize = 1000;

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(refs: Vec<Vec<usize>>) -> Graph {
        let names: Vec<StorePath> = (0..refs.len())
            .map(|i| StorePath::new([u8::try_from(i).unwrap(); 20], &format!("o{i}")).unwrap())
            .collect();
        let by_hash = names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.hash_part(), i))
            .collect();
        Graph {
            ids: (0..refs.len() as i64).collect(),
            names,
            refs,
            by_hash,
        }
    }

    #[test]
    fn dead_objects_are_ordered_referrers_first_and_never_include_live_ones() {
        // 0 -> 1 -> 2 (0 is a root); 3 -> 4 -> 2; 5 -> 3; 6 -> 6 (self).
        let g = graph(vec![
            vec![1],
            vec![2],
            vec![],
            vec![4, 2],
            vec![2],
            vec![3],
            vec![6],
        ]);
        let (live, parent) = g.mark(&[0]);
        assert_eq!(live, vec![true, true, true, false, false, false, false]);
        assert_eq!(parent[2], Some(1));
        let order = g.dead_in_order(&live);
        let pos = |i| order.iter().position(|&x| x == i).unwrap();
        assert_eq!(order.len(), 4);
        assert!(pos(5) < pos(3) && pos(3) < pos(4));
        assert!(order.contains(&6));
    }
}

impl Store {
    /// Deletes every object no root reaches (see the module docs),
    /// telling `count` how many unreachable objects are measured, then
    /// deleted.
    pub fn gc(&self, opts: &GcOptions, count: super::Count<'_>) -> Result<GcReport> {
        let mut report = GcReport::default();
        let trash = self.dir().join(".trash");
        if !opts.dry_run {
            empty_dir(&trash)?;
        }
        let _gc = lock::gc_lock(&self.gc_lock_path(), true)?;
        let started = Instant::now();
        let temp = lock::read_temp_roots(&self.dir().join(".temproots"), true)?;
        // Fail closed: an object the database does not know may be in use
        // (a lost database); `store verify --repair` registers it again.
        let unregistered = self.unregistered_on_disk(&temp)?;
        if let Some(first) = unregistered.first() {
            return Err(Error::Unregistered {
                count: unregistered.len(),
                dir: self.dir().to_path_buf(),
                first: self.real_path(first).display().to_string(),
            });
        }
        let (roots, dangling) = self.find_roots(!opts.dry_run)?;
        report.dangling_roots = dangling;
        let graph = Graph::load(self)?;
        let mut start = root_indices(&graph, &roots, &temp);
        let (mut live, _) = graph.mark(&start);
        // In a store shared with a group, a dead directory object another
        // user made cannot be moved or emptied by us (it is read-only and
        // only its owner may change its mode): keep it, and what it
        // references, for a gc run by its owner or the superuser, rather
        // than unregister it and then fail.
        let foreign: Vec<usize> = (0..graph.names.len())
            .filter(|&i| !live[i] && !self.may_delete(&graph.names[i]))
            .collect();
        if !foreign.is_empty() {
            report.foreign = foreign.len();
            start.extend(foreign);
            live = graph.mark(&start).0;
        }
        report.mark_time = started.elapsed();
        report.total = graph.names.len();
        report.live = live.iter().filter(|&&l| l).count();
        failpoint::hit("gc-marked");

        let order = graph.dead_in_order(&live);
        let mut chosen = Vec::new();
        let dead = order.len();
        for (n, i) in order.into_iter().enumerate() {
            count("measured", n, dead);
            if opts.max_freed.is_some_and(|m| report.bytes_freed >= m) {
                report.stopped_early = true;
                break;
            }
            let size = fsutil::freeable_size(&self.real_path(&graph.names[i]));
            report.bytes_freed += size;
            report.deleted.push((graph.names[i].clone(), size));
            chosen.push(i);
        }
        if opts.dry_run {
            return Ok(report);
        }
        let mut deleted = 0;
        for batch in chosen.chunks(BATCH) {
            count("deleted", deleted, chosen.len());
            // Proves the batch's directories are leftovers if we crash
            // before they are in the trash.
            let pending = lock::Stage::new(&self.dir().join(".staging"))?;
            let names: Vec<&StorePath> = batch.iter().map(|&i| &graph.names[i]).collect();
            super::recover::write_pending(&pending, &names)?;
            self.unregister(&graph, batch)?;
            failpoint::hit("gc-unregistered");
            for &i in batch {
                let from = self.real_path(&graph.names[i]);
                let to = trash.join(format!("{}-{}", graph.names[i], fsutil::random_suffix()));
                if let Ok(meta) = std::fs::symlink_metadata(&from) {
                    // A non-root process cannot move a read-only directory
                    // to another parent (its `..` entry changes).
                    if meta.is_dir() {
                        use std::os::unix::fs::PermissionsExt;
                        std::fs::set_permissions(&from, std::fs::Permissions::from_mode(0o755))
                            .map_err(fsutil::err("change the mode of", &from))?;
                    }
                    std::fs::rename(&from, &to).map_err(fsutil::err("move to trash", &from))?;
                }
                self.remove_record(&graph.names[i]);
            }
            failpoint::hit("gc-trashed");
            drop(pending);
            empty_dir(&trash)?;
            deleted += batch.len();
        }
        if !report.stopped_early {
            self.sweep_leftovers(&graph, &temp, &mut report)?;
        }
        Ok(report)
    }

    /// Whether this process can move `p` out of the store: the superuser
    /// can, anyone (with write access to the store) can move a file or a
    /// symlink, only its owner can make a read-only directory movable.
    fn may_delete(&self, p: &StorePath) -> bool {
        use std::os::unix::fs::MetadataExt;
        let euid = nix::unistd::geteuid();
        if euid.is_root() {
            return true;
        }
        std::fs::symlink_metadata(self.real_path(p))
            .map_or(true, |m| !m.is_dir() || m.uid() == euid.as_raw())
    }

    /// Deletes the rows of a batch in one transaction.
    fn unregister(&self, graph: &Graph, batch: &[usize]) -> Result<()> {
        self.forget_checked(None);
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db::err("starting a gc transaction"))?;
        {
            let mut stmt = tx
                .prepare("DELETE FROM Objects WHERE id = ?1")
                .map_err(db::err("deleting objects"))?;
            for &i in batch {
                stmt.execute([graph.ids[i]])
                    .map_err(db::err(&format!("deleting `{}`", graph.names[i])))?;
            }
        }
        tx.commit().map_err(db::err("committing a gc transaction"))
    }

    /// Removes the bytecode cache's entries of objects that are no longer
    /// registered (a script of a live object recreates its own on import).
    fn prune_bytecode_cache(&self, report: &mut GcReport) -> Result<()> {
        let mirror = self
            .bytecode_cache()
            .join(self.dir_str().trim_start_matches('/'));
        let Ok(entries) = std::fs::read_dir(&mirror) else {
            return Ok(());
        };
        for entry in entries {
            let entry = entry.map_err(fsutil::err("read", &mirror))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let Ok(sp) = name.parse::<StorePath>() else {
                continue;
            };
            if !self.is_valid(&sp)? {
                report.bytes_freed += fsutil::freeable_size(&entry.path());
                fsutil::delete_tree(&entry.path())?;
            }
        }
        Ok(())
    }

    /// Removes garbage that is not a registered object.
    fn sweep_leftovers(
        &self,
        graph: &Graph,
        temp: &HashSet<String>,
        report: &mut GcReport,
    ) -> Result<()> {
        let known: HashSet<String> = graph.names.iter().map(ToString::to_string).collect();
        for entry in std::fs::read_dir(self.dir()).map_err(fsutil::err("read", self.dir()))? {
            let entry = entry.map_err(fsutil::err("read", self.dir()))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || known.contains(&name) {
                continue;
            }
            let Ok(sp) = name.parse::<StorePath>() else {
                continue; // not ours: never delete what we did not make
            };
            if temp.contains(&sp.hash_part()) {
                continue;
            }
            if let Some(_lock) = PathLock::acquire(&self.lock_path(&sp), false)?
                && !self.is_valid(&sp)?
                && self.may_delete(&sp)
            {
                report.bytes_freed += fsutil::freeable_size(&entry.path());
                fsutil::delete_tree(&entry.path())?;
                self.remove_record(&sp);
                report.leftovers.push(entry.path());
            }
        }
        self.clean_stages()?;
        self.sweep_records(temp)?;
        self.prune_bytecode_cache(report)?;
        let locks = self.dir().join(".locks");
        if let Ok(entries) = std::fs::read_dir(&locks) {
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                let hash = name.get(..super::path::HASH_CHARS).unwrap_or_default();
                if !temp.contains(hash) {
                    // Taking and releasing a free lock unlinks it.
                    drop(PathLock::acquire(&e.path(), false)?);
                }
            }
        }
        report.bytes_freed += super::optimise::sweep_unused_links(self)?;
        Ok(())
    }
}

fn empty_dir(dir: &std::path::Path) -> Result<()> {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            fsutil::delete_tree(&e.path())?;
        }
    }
    Ok(())
}

/// Why an object is alive (`store why`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Why {
    /// A root reaches it: the root, then the chain of objects from the
    /// root's object down to it.
    Root {
        source: RootSource,
        chain: Vec<StorePath>,
    },
    /// Only a running process's temporary root keeps it.
    InUse,
    /// Nothing keeps it: the next gc deletes it.
    Unreachable,
}

impl Store {
    /// Finds a chain of references from a root to `p` (shortest, by BFS).
    pub fn why(&self, p: &StorePath) -> Result<Why> {
        if !self.is_valid(p)? {
            return Err(Error::NotValid(self.real_path(p).display().to_string()));
        }
        let (roots, _) = self.find_roots(false)?;
        let temp = lock::read_temp_roots(&self.dir().join(".temproots"), false)?;
        let graph = Graph::load(self)?;
        let Some(&target) = graph.by_hash.get(&p.hash_part()) else {
            return Err(Error::NotValid(self.real_path(p).display().to_string()));
        };
        let (live, parent) = graph.mark(&root_indices(&graph, &roots, &HashSet::new()));
        if live[target] {
            let mut chain = vec![target];
            while let Some(up) = parent[*chain.last().expect("non-empty")] {
                chain.push(up);
            }
            chain.reverse();
            let head = &graph.names[chain[0]];
            let source = roots
                .iter()
                .find(|r| &r.path == head)
                .map(|r| r.source.clone())
                .expect("a chain starts at a root");
            return Ok(Why::Root {
                source,
                chain: chain.into_iter().map(|i| graph.names[i].clone()).collect(),
            });
        }
        let (in_use, _) = graph.mark(&root_indices(&graph, &[], &temp));
        Ok(if in_use[target] {
            Why::InUse
        } else {
            Why::Unreachable
        })
    }
}
