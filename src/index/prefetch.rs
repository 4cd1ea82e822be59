//! Fetching ahead of the resolver: index pages and wheel metadata are
//! requested as soon as a requirement is known, by a pool of worker
//! threads, so that the resolver (which asks one thing at a time) finds
//! them fetched or in flight instead of waiting for each in turn.
//!
//! [`Client::prefetch`] queues requirements ([`Client::prefetch_pages`]:
//! their projects' pages only, for a caller that does not know the
//! interpreter's facts yet). A worker fetches the
//! project's files ([`Client::shared_candidates`]'s slot: the resolver asking
//! for the same project meanwhile waits for this fetch rather than making
//! its own), asks the [`Speculator`] which file the resolver is likely to
//! choose, fetches that wheel's metadata (again into the slot the
//! resolver reads), and queues the requirements that metadata adds. The
//! speculation follows the likely path only; what it guesses wrong costs
//! a request, never a wrong answer: the resolver still decides everything
//! from the same memoised pages and metadata.
//!
//! Only clients that reach the network prefetch (a remote index or remote
//! find-links, not offline): local pages and files cost less than a
//! thread. A prefetch that fails leaves no trace (no warning, no
//! "unreachable" mark): the resolver meets the failure again if it needs
//! the page, and reports it then. The pool's threads hold the client
//! weakly and end when the last handle to it is dropped (the installer
//! leaves its clients to the process's exit).

use std::collections::HashSet;
use std::sync::{Arc, Mutex, Weak, mpsc};

use super::{Client, DistFile, IndexLocation, Inner, Metadata, find_links};
use crate::python::Requirement;

/// Requests in flight at most (one connection pool, multiplexed over
/// HTTP/2 where the server offers it).
pub const WORKERS: usize = 16;

/// What the resolver is likely to do next, as far as fetching is
/// concerned (the resolver's rules, applied to one requirement at a time).
pub trait Speculator: Send + Sync {
    /// The file whose metadata the resolver will most likely ask for, to
    /// satisfy `requirement` from `files` (the project's files); `None`
    /// when there is nothing worth fetching.
    fn choose(&self, requirement: &Requirement, files: &[DistFile]) -> Option<DistFile>;

    /// The requirements the resolver will meet next, once it takes the
    /// distribution whose metadata is `metadata` for `requirement`.
    fn follow(&self, requirement: &Requirement, metadata: &Metadata) -> Vec<Requirement>;
}

struct Job {
    requirement: Requirement,
    /// `None`: the project's page only ([`Client::prefetch_pages`]).
    speculator: Option<Arc<dyn Speculator>>,
}

/// The workers' queue, started on first use.
#[derive(Default)]
pub(super) struct Pool {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    sender: Option<mpsc::Sender<Job>>,
    /// Requirements queued so far (each once per client).
    queued: HashSet<String>,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pool")
    }
}

impl Client {
    /// Whether this client reaches the network (and so prefetches).
    fn remote(&self) -> bool {
        !self.options.offline
            && (matches!(self.index, Some(IndexLocation::Remote(_)))
                || self
                    .find_links
                    .iter()
                    .any(|e| matches!(e, find_links::Entry::Remote(_))))
    }

    /// Starts fetching what `requirements` will need (their projects'
    /// pages, the likely version's metadata, and so on down the likely
    /// dependency tree), without waiting for any of it.
    pub fn prefetch(
        &self,
        requirements: impl IntoIterator<Item = Requirement>,
        speculator: &Arc<dyn Speculator>,
    ) {
        self.queue(requirements, Some(speculator));
    }

    /// Starts fetching the pages of the projects `requirements` name, and
    /// nothing more: for a caller that knows what it will resolve before it
    /// knows the interpreter's facts (the speculation needs them). A later
    /// [`Client::prefetch`] of the same requirements still goes further.
    pub fn prefetch_pages(&self, requirements: impl IntoIterator<Item = Requirement>) {
        self.queue(requirements, None);
    }

    fn queue(
        &self,
        requirements: impl IntoIterator<Item = Requirement>,
        speculator: Option<&Arc<dyn Speculator>>,
    ) {
        if !self.remote() {
            return;
        }
        let mut state = self
            .prefetch
            .state
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        for requirement in requirements {
            let mut key = requirement.clone();
            key.marker = None;
            let key = match speculator {
                Some(_) => key.to_string(),
                None => format!("page {}", key.name),
            };
            if !state.queued.insert(key) {
                continue;
            }
            let job = Job {
                requirement,
                speculator: speculator.cloned(),
            };
            let sender = state
                .sender
                .get_or_insert_with(|| start(Arc::downgrade(&self.inner)));
            // The workers only stop once the client is gone.
            let _ = sender.send(job);
        }
    }

    fn run(&self, job: Job) {
        let Job {
            requirement,
            speculator,
        } = job;
        let Some(files) = self.prefetch_candidates(&requirement.name) else {
            return;
        };
        let Some(speculator) = speculator else {
            return;
        };
        let Some(file) = speculator.choose(&requirement, &files) else {
            return;
        };
        let Some(metadata) = self.prefetch_metadata(&file) else {
            return;
        };
        let next = speculator.follow(&requirement, &metadata);
        self.prefetch(next, &speculator);
    }
}

/// Starts the workers; they end when the client is gone.
fn start(client: Weak<Inner>) -> mpsc::Sender<Job> {
    let (sender, receiver) = mpsc::channel::<Job>();
    let receiver = Arc::new(Mutex::new(receiver));
    for i in 0..WORKERS {
        let receiver = Arc::clone(&receiver);
        let client = client.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("prefetch-{i}"))
            .spawn(move || {
                loop {
                    let job = {
                        let receiver = receiver.lock().unwrap_or_else(|e| e.into_inner());
                        match receiver.recv() {
                            Ok(job) => job,
                            Err(_) => return,
                        }
                    };
                    let Some(inner) = client.upgrade() else {
                        return;
                    };
                    Client { inner }.run(job);
                }
            });
        // Without threads, the resolver fetches everything itself.
        if spawned.is_err() {
            break;
        }
    }
    sender
}
