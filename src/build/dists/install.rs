//! Realising a resolution: each resolved distribution becomes a store
//! object ([`realise`]). What the store has costs one lookup; missing
//! wheels go through one pipeline (download, unpack, compile bytecode,
//! hash: [`install_wheels`]) and are added in one batch; sdists are built
//! (see [`super::sdist_build`]) and installed one by one.

use super::address::{dist_path, origin, sdist_dist_path};
use super::sdist_build::built_wheel;
use super::{DistEnv, Error, IndexProvider, Progress, Result, store_scratch};
use crate::build::wheel;
use crate::index::{self, DistFile};
use crate::profile::manifest::DistEntry;
use crate::resolve::{Resolution, Resolved};
use crate::store::{self, Kind, NewObject, Store, StorePath};
use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Mutex, PoisonError};

/// A distribution to make: its position in the resolution, the file it
/// is made from and its store address.
pub(super) type Pending = (usize, DistFile, StorePath);

/// What [`realise`] finds for a resolution before making anything.
struct Plan {
    /// By position: the objects the store (or a local project) already has.
    entries: Vec<Option<DistEntry>>,
    /// Wheels to install.
    missing: Vec<Pending>,
    /// Sdists to build and install.
    to_build: Vec<Pending>,
}

/// Makes every resolved distribution a store object; returns them in the
/// resolution's order.
pub fn realise(
    env: &DistEnv<'_>,
    provider: &IndexProvider<'_>,
    resolution: &Resolution,
    progress: &mut dyn Progress,
) -> Result<Vec<DistEntry>> {
    let Plan {
        mut entries,
        mut missing,
        mut to_build,
    } = plan(env, provider, resolution)?;
    let packages = &resolution.packages;
    // What a binary cache has is downloaded instead (looked up at once).
    let wanted: Vec<StorePath> = missing
        .iter()
        .chain(&to_build)
        .map(|(_, _, p)| p.clone())
        .collect();
    let substituted = env.store.substitute(&wanted)?;
    let mut done = substituted.into_iter();
    for list in [&mut missing, &mut to_build] {
        list.retain(|(i, _, path)| {
            let got = done.next().unwrap_or(false);
            if got {
                entries[*i] = Some(entry(env.store, &packages[*i], path));
            }
            !got
        });
    }
    if !missing.is_empty() {
        install_missing(env, packages, &missing, progress)?;
        for (i, _, path) in missing {
            entries[i] = Some(entry(env.store, &packages[i], &path));
        }
    }
    for (i, file, path) in to_build {
        let r = &packages[i];
        progress.getting(&r.project_name, &r.version.to_string());
        let archive = provider.fetch(&file)?;
        let wheel = built_wheel(env, &file, &archive, progress)?;
        let mut obj = NewObject::known(path.clone(), Kind::Dist);
        obj.origin = Some(origin(&file)?);
        progress.installing(1);
        let installed = install_wheel(env, &obj, &wheel);
        progress.installed();
        installed?;
        progress.got(&r.project_name, &r.version.to_string());
        entries[i] = Some(entry(env.store, r, &path));
    }
    Ok(entries.into_iter().flatten().collect())
}

/// What [`realise`] would do with one distribution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preview {
    pub name: String,
    pub version: String,
    pub action: Action,
}

/// How [`realise`] would obtain a distribution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// The store has it.
    Reuse,
    /// A wheel to download (its size, when the index gives it).
    Download(Option<u64>),
    /// An sdist to download and build.
    Build,
}

/// What [`realise`] would do, without doing it (`install --dry-run`): the
/// working set with the store paths its members have or would have, and
/// what each needs.
pub fn preview(
    env: &DistEnv<'_>,
    provider: &IndexProvider<'_>,
    resolution: &Resolution,
) -> Result<(Vec<DistEntry>, Vec<Preview>)> {
    let Plan {
        mut entries,
        missing,
        to_build,
    } = plan(env, provider, resolution)?;
    let packages = &resolution.packages;
    let mut actions: Vec<Option<Action>> = entries
        .iter()
        .enumerate()
        .map(|(i, e)| {
            (e.is_some() && provider.local(&packages[i].name).is_none()).then_some(Action::Reuse)
        })
        .collect();
    let pending = missing
        .iter()
        .map(|(i, file, path)| (*i, path, Action::Download(file.size)))
        .chain(
            to_build
                .iter()
                .map(|(i, _, path)| (*i, path, Action::Build)),
        );
    for (i, path, action) in pending {
        actions[i] = Some(action);
        entries[i] = Some(entry(env.store, &packages[i], path));
    }
    let previews = actions
        .into_iter()
        .enumerate()
        .filter_map(|(i, action)| {
            Some(Preview {
                name: packages[i].project_name.clone(),
                version: packages[i].version.to_string(),
                action: action?,
            })
        })
        .collect();
    Ok((entries.into_iter().flatten().collect(), previews))
}

/// The manifest entry of `r` installed at `path`.
fn entry(store: &Store, r: &Resolved, path: &StorePath) -> DistEntry {
    DistEntry {
        name: r.project_name.clone(),
        version: r.version.to_string(),
        path: path.to_absolute(store.dir_str()),
    }
}

/// Sorts the resolution into what the store already has (rooted for this
/// run), wheels to install and sdists to build.
fn plan(env: &DistEnv<'_>, provider: &IndexProvider<'_>, resolution: &Resolution) -> Result<Plan> {
    let mut plan = Plan {
        entries: vec![None; resolution.packages.len()],
        missing: Vec::new(),
        to_build: Vec::new(),
    };
    // A kept resolution's objects are rooted and checked in one pass (the
    // loop below then finds them checked).
    let known: Vec<StorePath> = resolution
        .packages
        .iter()
        .filter_map(|r| provider.known(&r.name, &r.version))
        .collect();
    if !known.is_empty() {
        env.store.root_and_check_all(&known)?;
    }
    // The local files whose sha256 the addresses below need, hashed on all
    // cores first (and the hash cache written once).
    let unhashed: Vec<std::path::PathBuf> = resolution
        .packages
        .iter()
        .filter(|r| {
            provider.local(&r.name).is_none() && provider.known(&r.name, &r.version).is_none()
        })
        .filter_map(|r| provider.best_file(&r.name, &r.version))
        .filter(|f| f.sha256().is_none())
        .filter_map(|f| f.local_path())
        .collect();
    super::hash_cache::prehash(&unhashed);
    for (i, r) in resolution.packages.iter().enumerate() {
        let entry = |path: &StorePath| Some(entry(env.store, r, path));
        if let Some(local) = provider.local(&r.name) {
            plan.entries[i] = entry(&local.path);
            continue;
        }
        // A kept resolution's object, made from the same files.
        if let Some(path) = provider.known(&r.name, &r.version)
            && env.store.root_and_check(&path)?
        {
            plan.entries[i] = entry(&path);
            continue;
        }
        let file = provider.best_file(&r.name, &r.version);
        if let Some(f) = file.as_ref().filter(|f| !f.filename.is_wheel()) {
            let path = sdist_dist_path(env, f)?;
            if env.store.root_and_check(&path)? {
                plan.entries[i] = entry(&path);
            } else {
                plan.to_build.push((i, f.clone(), path));
            }
            continue;
        }
        let address = file.as_ref().and_then(|f| dist_path(env, f).ok());
        match (address, provider.store_dist(&r.name, &r.version)) {
            (Some(path), _) if env.store.root_and_check(&path)? => plan.entries[i] = entry(&path),
            (Some(path), _) => plan
                .missing
                .push((i, file.expect("address from a file"), path)),
            (None, Some(d)) if env.store.root_and_check(&d.path)? => {
                plan.entries[i] = entry(&d.path);
            }
            (None, _) => {
                return Err(Error::NoWheel {
                    name: r.project_name.clone(),
                    version: r.version.to_string(),
                    python: env.python.clone(),
                });
            }
        }
    }
    Ok(plan)
}

/// Installs the `missing` wheels through the pipeline and adds them to
/// the store in one batch.
pub(super) fn install_missing(
    env: &DistEnv<'_>,
    packages: &[Resolved],
    missing: &[Pending],
    progress: &mut dyn Progress,
) -> Result<()> {
    let staging = store_scratch(env.store)?;
    for (i, _, _) in missing {
        let r = &packages[*i];
        progress.getting(&r.project_name, &r.version.to_string());
    }
    progress.installing(missing.len());
    let trees = install_wheels(env, staging.path(), missing);
    progress.installed();
    let trees = trees?;
    let batch: Vec<store::Prepared> = missing
        .iter()
        .zip(trees)
        .map(|((_, file, path), tree)| {
            let mut object = NewObject::known(path.clone(), Kind::Dist);
            object.origin = Some(origin(file)?);
            Ok(store::Prepared { object, tree })
        })
        .collect::<Result<_>>()?;
    env.store.add_batch(&batch)?;
    for (i, _, _) in missing {
        let r = &packages[*i];
        progress.got(&r.project_name, &r.version.to_string());
    }
    Ok(())
}

/// Downloads wheels (or finds them locally), unpacks each into
/// `base/tree-<k>` and compiles their bytecode, as a pipeline: the
/// downloads run in parallel and hand each finished file to one unpacking
/// thread per core, which hands each tree to the bytecode compiler (whose
/// worker processes compile while later wheels are still arriving), and one
/// thread canonicalises and hashes each tree as soon as its bytecode is
/// complete. On error, the error of the first failing wheel (in `wheels`
/// order) is returned.
fn install_wheels(
    env: &DistEnv<'_>,
    base: &Path,
    wheels: &[Pending],
) -> Result<Vec<store::HashedTree>> {
    let pipeline = Pipeline::start(env, base, wheels)?;
    let (arrived, queue) = std::sync::mpsc::channel::<(usize, PathBuf)>();
    let queue = Mutex::new(queue);
    std::thread::scope(|scope| {
        let hasher = scope.spawn(|| pipeline.hash_compiled());
        let downloader = scope.spawn(|| pipeline.download(arrived));
        let workers = std::thread::available_parallelism().map_or(2, usize::from);
        let unpackers: Vec<_> = (0..workers.min(wheels.len()))
            .map(|_| scope.spawn(|| pipeline.unpack(&queue)))
            .collect();
        let _ = downloader.join();
        for u in unpackers {
            let _ = u.join();
        }
        if let Some(compiler) = &pipeline.compiler {
            compiler.close();
        }
        let _ = hasher.join();
    });
    pipeline.finish()
}

/// The state [`install_wheels`]' threads share.
struct Pipeline<'p> {
    store: &'p Store,
    client: &'p index::Client,
    reporter: &'p dyn index::Reporter,
    python: &'p str,
    limits: crate::build::extract::Limits,
    base: &'p Path,
    wheels: &'p [Pending],
    /// The files of `wheels`, for the downloads.
    files: Vec<DistFile>,
    /// The bytecode compiler (`None`: `compile-bytecode = false`, each
    /// unpacker hashes its own trees).
    compiler: Option<wheel::Compiler>,
    /// Set when a wheel failed: the others are drained, not installed.
    stop: AtomicBool,
    /// Errors by wheel (`usize::MAX`: the compiler's own).
    failed: Mutex<Vec<(usize, Error)>>,
    /// Each wheel's hashed tree, once complete.
    hashed: Vec<Mutex<Option<store::HashedTree>>>,
}

impl<'p> Pipeline<'p> {
    fn start(env: &'p DistEnv<'_>, base: &'p Path, wheels: &'p [Pending]) -> Result<Self> {
        let compiler = if env.compile_bytecode {
            Some(wheel::Compiler::start(&env.python)?)
        } else {
            None
        };
        Ok(Self {
            store: env.store,
            client: env.client,
            reporter: env.reporter,
            python: &env.python,
            limits: env.limits,
            base,
            wheels,
            files: wheels.iter().map(|(_, f, _)| f.clone()).collect(),
            compiler,
            stop: AtomicBool::new(false),
            failed: Mutex::new(Vec::new()),
            hashed: wheels.iter().map(|_| Mutex::new(None)).collect(),
        })
    }

    /// Where wheel `k` is unpacked.
    fn tree(&self, k: usize) -> PathBuf {
        self.base.join(format!("tree-{k}"))
    }

    fn fail(&self, k: usize, e: Error) {
        self.failed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((k, e));
    }

    fn hash(&self, k: usize) -> Result<()> {
        let h = self.store.hash_tree(self.tree(k))?;
        *self.hashed[k]
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(h);
        Ok(())
    }

    /// The hashing thread: hashes each tree the compiler is done with (and
    /// reports how many are).
    fn hash_compiled(&self) {
        let Some(compiler) = &self.compiler else {
            return;
        };
        let mut done = 0;
        loop {
            match compiler.next_done() {
                Ok(Some(k)) if k < self.wheels.len() => {
                    done += 1;
                    self.reporter.on_compiled(done, self.wheels.len());
                    if let Err(e) = self.hash(k) {
                        self.fail(k, e);
                    }
                }
                Ok(_) => break,
                Err(e) => {
                    self.fail(usize::MAX, e.into());
                    break;
                }
            }
        }
    }

    /// The downloading thread: downloaded (or local) files arrive on a
    /// channel in the order they finish; the unpackers share its
    /// receiving end.
    fn download(&self, arrived: Sender<(usize, PathBuf)>) {
        let arrived = Mutex::new(arrived);
        let done = |k: usize, result: index::Result<PathBuf>| match result {
            Ok(file) if !self.stop.load(Ordering::Relaxed) => {
                let _ = arrived
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .send((k, file));
            }
            Ok(_) => {}
            Err(e) => {
                self.fail(k, e.into());
                self.stop.store(true, Ordering::Relaxed);
            }
        };
        self.client
            .download_each(&self.files, self.base, self.reporter, &done);
    }

    /// An unpacking thread: installs each arriving wheel into its tree and
    /// hands the tree to the compiler (or hashes it).
    fn unpack(&self, queue: &Mutex<Receiver<(usize, PathBuf)>>) {
        loop {
            let next = queue.lock().unwrap_or_else(PoisonError::into_inner).recv();
            let Ok((k, wheel_path)) = next else { break };
            if self.stop.load(Ordering::Relaxed) {
                continue; // drain: a wheel failed
            }
            if let Err(e) = self.unpack_one(k, &wheel_path) {
                self.fail(k, e);
                self.stop.store(true, Ordering::Relaxed);
            }
        }
    }

    fn unpack_one(&self, k: usize, wheel_path: &Path) -> Result<()> {
        let tree = self.tree(k);
        wheel::install(wheel_path, &tree, Some(self.python), self.limits)?;
        match &self.compiler {
            Some(compiler) => {
                let dfile = self.wheels[k].2.to_absolute(self.store.dir_str());
                Ok(compiler.submit(k, &tree, &dfile)?)
            }
            None => self.hash(k),
        }
    }

    /// Waits for the compiler and returns the hashed trees in `wheels`
    /// order, or the first error: a wheel's own error first; then the
    /// compiler's exit (whose stderr says why it stopped, where writing to
    /// it only saw a broken pipe).
    fn finish(self) -> Result<Vec<store::HashedTree>> {
        let finished = self.compiler.map_or(Ok(()), wheel::Compiler::finish);
        let mut failed = self
            .failed
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        failed.sort_by_key(|(k, _)| *k);
        let compiling = |e: &Error| matches!(e, Error::Wheel(wheel::Error::Compile { .. }));
        if let Some(i) = failed.iter().position(|(_, e)| !compiling(e)) {
            return Err(failed.swap_remove(i).1);
        }
        finished?;
        if let Some((_, e)) = failed.into_iter().next() {
            return Err(e);
        }
        let (python, wheels) = (self.python, self.wheels);
        self.hashed
            .into_iter()
            .enumerate()
            .map(|(k, h)| {
                h.into_inner()
                    .unwrap_or_else(PoisonError::into_inner)
                    .ok_or_else(|| {
                        Error::Wheel(wheel::Error::Compile {
                            python: python.to_string(),
                            message: format!(
                                "the compiler stopped before finishing `{}`",
                                wheels[k].1.filename
                            ),
                        })
                    })
            })
            .collect()
    }
}

/// Installs `wheel` as the store object `obj`.
pub fn install_wheel(env: &DistEnv<'_>, obj: &NewObject, wheel: &Path) -> Result<StorePath> {
    let failure: RefCell<Option<wheel::Error>> = RefCell::new(None);
    let final_path = match &obj.address {
        store::Address::Known(p) => p.to_absolute(env.store.dir_str()),
        store::Address::Content { .. } => String::new(),
    };
    let added = env.store.add(obj, |out| {
        wheel::install(wheel, out, Some(&env.python), env.limits)
            .map(|_| ())
            .and_then(|()| {
                if env.compile_bytecode {
                    wheel::compile_trees(&env.python, &[(out.to_path_buf(), final_path.clone())])
                } else {
                    Ok(())
                }
            })
            .map_err(|e| {
                let message = e.to_string();
                *failure.borrow_mut() = Some(e);
                store::Error::Build(message)
            })
    });
    match added {
        Ok(a) => Ok(a.path),
        Err(e) => Err(match failure.into_inner() {
            Some(w) => Error::Wheel(w),
            None => Error::Store(e),
        }),
    }
}
