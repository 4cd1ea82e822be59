//! The installer's side of the lock file ([`super::super::lock`]): answering
//! a request from the lock ([`Installer::from_lock`]), the locked versions
//! as preferences while locking ([`Installer::preferred`]) and recording
//! what a request resolved to ([`Installer::record`]). A locked
//! distribution missing from the store is asked of the binary caches
//! before its locked file is fetched.

use super::{Installer, Say, dist_env};
use crate::build::dists::{self, DistEnv, IndexProvider, LocalDist, Wanted};
use crate::ops::lock::{LockState, Mode, Recorded, environment_marker};
use crate::profile::manifest::DistEntry;
use crate::python::PackageName;
use crate::recipe::{self, DistRequest};
use crate::resolve::lock::{self, Location};
use crate::resolve::{self, Resolution, Resolved};
use crate::store::StorePath;
use std::path::Path;

fn failed(message: String) -> recipe::Error {
    recipe::Error::Distributions(message)
}

/// The distributions `found` (a request of `lock`) resolved to, with the
/// files the lock lists (local projects: none).
fn wanted(
    lock: &lock::Lock,
    found: &lock::Request,
    dir: &std::path::Path,
    file: &str,
    local: &[LocalDist],
) -> recipe::Result<Vec<Wanted>> {
    let mut wanted = Vec::new();
    for (spelled, version) in found.pins() {
        let bad = |m: String| failed(format!("{file}: package `{spelled} {version}`: {m}"));
        let name = PackageName::new(spelled).map_err(|e| bad(e.to_string()))?;
        let version: pep440_rs::Version =
            version.parse().map_err(|_| bad("invalid version".into()))?;
        let resolved = Resolved {
            name: name.clone(),
            project_name: spelled.to_string(),
            version: version.clone(),
            extras: Vec::new(),
        };
        if local.iter().any(|l| l.name == name) {
            wanted.push(Wanted {
                resolved,
                wheels: Vec::new(),
                sdist: None,
            });
            continue;
        }
        let package = lock
            .package(spelled, &version.to_string(), &found.group)
            .ok_or_else(|| bad(format!("no entry in group `{}`", found.group)))?;
        let convert = |f: &lock::File| dists::LockedFile {
            name: f.name.clone(),
            url: match &f.location {
                Location::Url(u) => u.clone(),
                Location::Path(p) => dists::path_url(&dir.join(p)),
            },
            size: f.size,
            sha256: f.sha256.clone(),
            is_wheel: f.name.ends_with(".whl"),
            from_index: package.index.is_some(),
        };
        wanted.push(Wanted {
            resolved,
            wheels: package.wheels.iter().map(convert).collect(),
            sdist: package.sdist.as_ref().map(convert),
        });
    }
    Ok(wanted)
}

/// The part a request is recorded under: the recipe host's requests (the
/// only ones with overrides: its own pins) belong to no part, whenever
/// they are made (recipes construct, install and uninstall in one host).
fn request_part(current: &str, request: &DistRequest<'_>) -> String {
    if request.overrides.is_empty() {
        current.to_string()
    } else {
        String::new()
    }
}

/// For a request of the recipe host that the lock does not have as such:
/// the smallest locked one of the host asking for all its requirements
/// and more. The host's requests grow one recipe at a time, in the order
/// recipes are loaded, which a constructor memo changes (a replayed
/// recipe loads at its install); the larger set is the host's working
/// set of the same run, so it holds all this request needs (the rest is
/// importable a little earlier, as it is in zc.buildout's one working
/// set).
fn host_superset<'l>(
    mine: impl Iterator<Item = &'l lock::Request>,
    part: &str,
    reqs: &[String],
) -> Option<&'l lock::Request> {
    if !part.is_empty() {
        return None;
    }
    mine.filter(|r| reqs.iter().all(|q| r.requirements.contains(q)))
        .min_by_key(|r| r.requirements.len())
}

/// The requests of `lock` that `part` made on `python` (not build
/// environments).
fn requests_of<'l>(
    lock: &'l lock::Lock,
    part: &'l str,
    python: &'l str,
) -> impl Iterator<Item = &'l lock::Request> + Clone {
    lock.tool
        .requests
        .iter()
        .filter(move |r| r.build.is_none() && r.part == part && r.python == python)
}

fn requirements(request: &DistRequest<'_>) -> Vec<String> {
    request
        .requirements
        .iter()
        .map(ToString::to_string)
        .collect()
}

impl Installer<'_> {
    /// Sets the part whose distributions are asked for next (empty: the
    /// recipe host).
    pub fn lock_part(&mut self, part: &str) {
        if let Some(state) = &mut self.lock {
            state.part = part.to_string();
        }
    }

    /// The distributions of `request` exactly as the lock has them, or
    /// `None` when there is no lock to install from (or, unless strict,
    /// the lock does not cover the request).
    pub(super) fn locked_entries(
        &mut self,
        request: &DistRequest<'_>,
        local: &[LocalDist],
    ) -> recipe::Result<Option<Vec<DistEntry>>> {
        let Some(state) = &self.lock else {
            return Ok(None);
        };
        let Mode::Install { lock, strict } = &state.mode else {
            return Ok(None);
        };
        let reqs = requirements(request);
        let part = request_part(&state.part, request);
        let mine = requests_of(lock, &part, request.python);
        let found = mine
            .clone()
            .find(|r| r.requirements == reqs)
            .or_else(|| host_superset(mine, &part, &reqs));
        let file = state.file.clone();
        let Some(found) = found.cloned() else {
            let who = if part.is_empty() {
                "the recipe host".to_string()
            } else {
                format!("part `{part}`")
            };
            let text = format!(
                "{who} asked for `{}` ({}), which {file} does not cover",
                reqs.join(", "),
                request.python
            );
            if *strict {
                return Err(failed(format!("{text}; run `buildout lock`")));
            }
            self.ctx.printer.warn(&format!(
                "{text}: resolving from the index (it is added to the lock)"
            ));
            return Ok(None);
        };
        let dir = state.dir.clone();
        let facts = self.facts(request.python)?;
        let here = environment_marker(&facts.markers);
        if found.environment != here {
            return Err(failed(format!(
                "{file} was made for another interpreter: its request of part `{}` is for `{}`, and `{}` is `{here}`; run `buildout lock`",
                found.part, found.environment, request.python
            )));
        }
        let Some(state) = &self.lock else {
            return Ok(None);
        };
        let Mode::Install { lock, .. } = &state.mode else {
            return Ok(None);
        };
        let wanted = wanted(lock, &found, &dir, &file, local)?;
        let parts = self.env_parts(request.python, request.index, request.find_links)?;
        let env = dist_env(
            self.store,
            &self.clients,
            &self.progress,
            &parts,
            &self.settings,
            &self.builds,
        );
        let ctx = self.ctx;
        let explain = |e: dists::LockedError| {
            let mut what = file.clone();
            if !e.entry.is_empty() {
                what.push_str(&format!(": package `{}`", e.entry));
            }
            if let Some(f) = &e.file {
                what.push_str(&format!(", file `{f}`"));
            }
            failed(format!("{what}: {}", e.error))
        };
        if self.dry_run {
            let (entries, previews) =
                dists::preview_locked(&env, &wanted, local).map_err(explain)?;
            self.previews.extend(previews);
            return Ok(Some(entries));
        }
        // What a binary cache has is downloaded instead of fetching its
        // locked file (all looked up at once): a host with the lock and a
        // cache reads no index. `realise_locked` then finds it in the store.
        let (planned, _) = dists::preview_locked(&env, &wanted, local).map_err(explain)?;
        let paths: Vec<StorePath> = planned
            .iter()
            .filter_map(|e| Path::new(&e.path).file_name()?.to_str()?.parse().ok())
            .collect();
        self.store
            .substitute(&paths)
            .map_err(|e| failed(format!("{file}: {e}")))?;
        let entries =
            dists::realise_locked(&env, &wanted, local, &mut Say(ctx)).map_err(explain)?;
        Ok(Some(entries))
    }

    /// While locking: `options` with the existing lock's versions of this
    /// request as pins (the ones `[versions]` does not pin and no
    /// `--upgrade` frees), or `None` when there are none.
    pub(super) fn preferred(
        &self,
        request: &DistRequest<'_>,
        options: &resolve::Options,
    ) -> Option<resolve::Options> {
        let state = self.lock.as_ref()?;
        let Mode::Record {
            previous,
            upgrade_all,
            upgrade,
        } = &state.mode
        else {
            return None;
        };
        let mut out = options.clone();
        let pinned = |name: &str| {
            self.settings
                .versions
                .keys()
                .any(|k| lock::normalize(k) == lock::normalize(name))
        };
        let mut changed = false;
        for (name, version) in upgrade {
            if let Some(v) = version
                && !pinned(name)
                && out.pins.insert(name, v).is_ok()
            {
                changed = true;
            }
        }
        if let (Some(previous), false) = (previous, *upgrade_all) {
            let reqs = requirements(request);
            let part = request_part(&state.part, request);
            let mut mine = requests_of(previous, &part, request.python);
            let old = mine
                .clone()
                .find(|r| r.requirements == reqs)
                .or_else(|| mine.next());
            for (name, version) in old.into_iter().flat_map(|r| r.pins()) {
                if upgrade.contains_key(&lock::normalize(name)) || pinned(name) {
                    continue;
                }
                if out.pins.insert(name, version).is_ok() {
                    changed = true;
                }
            }
        }
        changed.then_some(out)
    }

    /// While locking: records what `request` resolved to, with its files,
    /// and the build environments of its sdists.
    pub(super) fn record(
        &self,
        request: &DistRequest<'_>,
        env: &DistEnv<'_>,
        provider: &IndexProvider<'_>,
        resolution: &Resolution,
    ) -> recipe::Result<Vec<Recorded>> {
        let Some(state) = &self.lock else {
            return Ok(Vec::new());
        };
        let reqs = requirements(request);
        let part = request_part(&state.part, request);
        match &state.mode {
            Mode::Record { .. } => {}
            // A request the lock lacks (the recipe host's, made when
            // recipes are constructed): added to the lock at the end.
            Mode::Install {
                lock,
                strict: false,
            } if !self.dry_run
                && !lock.tool.requests.iter().any(|r| {
                    r.part == part && r.python == request.python && r.requirements == reqs
                }) => {}
            Mode::Install { .. } => return Ok(Vec::new()),
        }
        let dists =
            dists::lock_files(env, provider, resolution).map_err(|e| failed(e.to_string()))?;
        let builds = dists::lock_builds(env, provider, resolution, &mut Say(self.ctx))
            .map_err(|e| failed(e.to_string()))?;
        let store_dir = self.store.dir_str();
        let mut directories = std::collections::BTreeMap::new();
        for d in dists.iter().filter(|d| d.file.is_none()) {
            let name = d.resolved.name.as_str().to_string();
            let dir = self
                .developed
                .iter()
                .find(|((py, _), l)| py == request.python && l.name == d.resolved.name)
                .map(|((_, dir), _)| dir.display().to_string())
                .or_else(|| provider_local_path(self, request.python, &d.resolved.name, store_dir))
                .unwrap_or_default();
            directories.insert(name, dir);
        }
        let recorded = Recorded {
            part,
            python: request.python.to_string(),
            environment: environment_marker(&env.facts.markers),
            requirements: requirements(request),
            // Credentials never reach the lock (the index options or
            // ~/.netrc give them again).
            index: crate::index::redact(
                &request
                    .index
                    .map(String::from)
                    .or_else(|| self.settings.index.clone())
                    .unwrap_or_else(|| crate::index::DEFAULT_INDEX_URL.to_string()),
            ),
            dists,
            directories,
            build: None,
        };
        let mut out = vec![recorded];
        for b in builds {
            out.push(Recorded {
                part: out[0].part.clone(),
                python: b.python,
                environment: out[0].environment.clone(),
                requirements: b.requirements,
                index: out[0].index.clone(),
                dists: b.dists,
                directories: std::collections::BTreeMap::new(),
                build: Some(b.sdist),
            });
        }
        Ok(out)
    }

    /// Sets the lock state of this run, and the build environments an
    /// install from the lock uses.
    pub fn set_lock(&mut self, state: Option<LockState>) -> recipe::Result<()> {
        self.builds = dists::BuildLock::default();
        if let Some(s) = &state {
            self.builds.file.clone_from(&s.file);
            match &s.mode {
                Mode::Record {
                    previous,
                    upgrade_all,
                    upgrade,
                } => {
                    self.builds.record = true;
                    let requests = previous
                        .iter()
                        .filter(|_| !upgrade_all)
                        .flat_map(|l| &l.tool.requests);
                    for r in requests {
                        let Some(sdist) = &r.build else { continue };
                        let pins = r
                            .pins()
                            .filter(|(n, _)| {
                                let n = lock::normalize(n);
                                // `[versions]` stay constraints.
                                !upgrade.contains_key(&n)
                                    && !self
                                        .settings
                                        .versions
                                        .keys()
                                        .any(|k| lock::normalize(k) == n)
                            })
                            .map(|(n, v)| (n.to_string(), v.to_string()))
                            .chain(
                                upgrade
                                    .iter()
                                    .filter_map(|(n, v)| Some((n.clone(), v.clone()?))),
                            )
                            .collect();
                        self.builds
                            .preferred
                            .insert((r.python.clone(), sdist.clone()), pins);
                    }
                }
                Mode::Install { lock, strict } => {
                    self.builds.strict = *strict;
                    for r in &lock.tool.requests {
                        if let Some(sdist) = &r.build {
                            let wanted = wanted(lock, r, &s.dir, &s.file, &[])?;
                            self.builds
                                .locked
                                .insert((r.python.clone(), sdist.clone()), wanted);
                        }
                    }
                }
            }
        }
        self.lock = state;
        Ok(())
    }

    /// Whether this run installs from a lock.
    pub fn installs_from_lock(&self) -> bool {
        self.lock
            .as_ref()
            .is_some_and(|s| matches!(s.mode, Mode::Install { .. }))
    }

    /// Whether this run records a lock (`buildout lock`).
    pub(super) fn recording(&self) -> bool {
        self.lock
            .as_ref()
            .is_some_and(|s| matches!(s.mode, Mode::Record { .. }))
    }
}

/// The store path of a custom build of `name` (a local distribution that
/// is not a develop project).
fn provider_local_path(
    installer: &Installer<'_>,
    python: &str,
    name: &PackageName,
    store_dir: &str,
) -> Option<String> {
    installer
        .custom
        .get(python)?
        .iter()
        .find(|d| &d.name == name)
        .map(|d| d.path.to_absolute(store_dir))
}
