//! Host name lookups for the HTTP client: one lookup per host per run,
//! shared by every connection, and hedged.
//!
//! The resolver's prefetch opens many connections at once. With the
//! default resolver each connection makes its own `getaddrinfo` call on a
//! blocking thread; some DNS servers drop queries that arrive together,
//! and glibc then waits its 5 s timeout before asking again. A run paid
//! that twice over: a connection waiting 5 s for an address, and the exit
//! waiting for the stuck lookups (the HTTP runtime joins its blocking
//! threads when the client is dropped).
//!
//! Here every host is looked up once ([`Resolver`]): later connections to
//! the same host wait for the same answer (a successful answer is kept for
//! the client's lifetime; a failure is not kept, the next connection asks
//! again). A lookup that has not answered after [`HEDGE`] is asked again
//! on a second thread, and once more after the second delay; the first
//! answer wins. Lookups run on plain threads that nobody joins, so a stuck
//! one never holds up the process's exit.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::pin::Pin;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// When a lookup that has not answered is asked again (from the start of
/// the first one). Answers usually take a few milliseconds.
const HEDGE: [Duration; 2] = [Duration::from_millis(300), Duration::from_millis(1500)];

/// How a name becomes addresses (replaceable in tests).
type LookupFn = fn(&str) -> io::Result<Vec<SocketAddr>>;

fn system_lookup(host: &str) -> io::Result<Vec<SocketAddr>> {
    Ok((host, 0).to_socket_addrs()?.collect())
}

/// The answer for one host, shared by everyone who asked.
#[derive(Default)]
struct Slot {
    state: Mutex<SlotState>,
}

#[derive(Default)]
struct SlotState {
    answer: Option<Result<Arc<Vec<SocketAddr>>, String>>,
    waiting: Vec<Waker>,
}

impl Slot {
    fn finish(&self, answer: Result<Arc<Vec<SocketAddr>>, String>) {
        let waiting = {
            let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            state.answer = Some(answer);
            std::mem::take(&mut state.waiting)
        };
        for waker in waiting {
            waker.wake();
        }
    }
}

/// Waits for a [`Slot`]'s answer.
struct Answer(Arc<Slot>);

impl Future for Answer {
    type Output = Result<Arc<Vec<SocketAddr>>, String>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut state = self.0.state.lock().unwrap_or_else(|e| e.into_inner());
        match &state.answer {
            Some(answer) => Poll::Ready(answer.clone()),
            None => {
                if !state.waiting.iter().any(|w| w.will_wake(cx.waker())) {
                    state.waiting.push(cx.waker().clone());
                }
                Poll::Pending
            }
        }
    }
}

/// The shared, hedged resolver given to the HTTP client.
pub struct Resolver {
    hosts: Mutex<HashMap<String, Arc<Slot>>>,
    lookup: LookupFn,
    hedge: [Duration; 2],
}

impl Default for Resolver {
    fn default() -> Self {
        Self::with(system_lookup, HEDGE)
    }
}

impl Resolver {
    fn with(lookup: LookupFn, hedge: [Duration; 2]) -> Self {
        Resolver {
            hosts: Mutex::new(HashMap::new()),
            lookup,
            hedge,
        }
    }

    /// The slot for `host`, and whether this caller must start its lookup.
    fn slot(&self, host: &str) -> (Arc<Slot>, bool) {
        let mut hosts = self.hosts.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(slot) = hosts.get(host) {
            let failed = matches!(
                slot.state.lock().unwrap_or_else(|e| e.into_inner()).answer,
                Some(Err(_))
            );
            if !failed {
                return (slot.clone(), false);
            }
        }
        let slot = Arc::new(Slot::default());
        hosts.insert(host.to_string(), slot.clone());
        (slot, true)
    }

    /// The addresses of `host`: looked up once, hedged.
    fn addresses(&self, host: &str) -> Answer {
        let (slot, start) = self.slot(host);
        if start {
            let (lookup, hedge) = (self.lookup, self.hedge);
            let (host, target) = (host.to_string(), slot.clone());
            let spawned = std::thread::Builder::new()
                .name("dns".into())
                .spawn(move || target.finish(hedged(lookup, &host, hedge)));
            if let Err(e) = spawned {
                slot.finish(Err(format!("cannot start a lookup thread: {e}")));
            }
        }
        Answer(slot)
    }
}

/// Looks `host` up, asking again after each delay of `hedge` while no
/// attempt has answered; the first success wins, and the error is returned
/// once every attempt started has failed and none is due.
fn hedged(
    lookup: LookupFn,
    host: &str,
    hedge: [Duration; 2],
) -> Result<Arc<Vec<SocketAddr>>, String> {
    let started = Instant::now();
    let (tx, rx) = mpsc::channel();
    let attempt = |tx: mpsc::Sender<io::Result<Vec<SocketAddr>>>| {
        let host = host.to_string();
        std::thread::Builder::new()
            .name("dns-attempt".into())
            .spawn(move || {
                let _ = tx.send(lookup(&host));
            })
            .is_ok()
    };
    let mut pending = usize::from(attempt(tx.clone()));
    let mut due = hedge.iter().map(|d| started + *d).peekable();
    let mut last_error = String::from("no lookup could be started");
    loop {
        if pending == 0 {
            return Err(last_error);
        }
        let received = match due.peek() {
            Some(at) => rx.recv_timeout(at.saturating_duration_since(Instant::now())),
            None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
        };
        match received {
            Ok(Ok(addrs)) => return Ok(Arc::new(addrs)),
            Ok(Err(e)) => {
                pending -= 1;
                last_error = e.to_string();
                if pending == 0 {
                    return Err(last_error);
                }
            }
            Err(RecvTimeoutError::Timeout) => {
                due.next();
                pending += usize::from(attempt(tx.clone()));
            }
            Err(RecvTimeoutError::Disconnected) => return Err(last_error),
        }
    }
}

impl Resolve for Resolver {
    fn resolve(&self, name: Name) -> Resolving {
        let answer = self.addresses(name.as_str());
        Box::pin(async move {
            match answer.await {
                Ok(addrs) => Ok(Box::new(addrs.as_ref().clone().into_iter()) as Addrs),
                Err(e) => {
                    Err(Box::new(io::Error::other(e)) as Box<dyn std::error::Error + Send + Sync>)
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn block_on<F: Future>(future: F) -> F::Output {
        struct Thread(std::thread::Thread);
        impl std::task::Wake for Thread {
            fn wake(self: Arc<Self>) {
                self.0.unpark();
            }
        }
        let waker = Waker::from(Arc::new(Thread(std::thread::current())));
        let mut cx = Context::from_waker(&waker);
        let mut future = std::pin::pin!(future);
        loop {
            if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
                return out;
            }
            std::thread::park();
        }
    }

    static CALLS: AtomicUsize = AtomicUsize::new(0);

    fn slow_counted(_: &str) -> io::Result<Vec<SocketAddr>> {
        CALLS.fetch_add(1, Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(100));
        Ok(vec!["127.0.0.1:0".parse().unwrap()])
    }

    #[test]
    fn one_lookup_per_host_whoever_asks() {
        let resolver = Arc::new(Resolver::with(slow_counted, [Duration::from_secs(60); 2]));
        let askers: Vec<_> = (0..8)
            .map(|_| {
                let r = resolver.clone();
                std::thread::spawn(move || block_on(r.addresses("example.test")))
            })
            .collect();
        for asker in askers {
            assert_eq!(asker.join().unwrap().unwrap().len(), 1);
        }
        assert_eq!(
            block_on(resolver.addresses("example.test")).unwrap().len(),
            1
        );
        assert_eq!(CALLS.load(Ordering::SeqCst), 1);
    }

    static HEDGED: AtomicUsize = AtomicUsize::new(0);

    /// The first attempt never answers (a dropped query); later ones do.
    fn first_hangs(_: &str) -> io::Result<Vec<SocketAddr>> {
        if HEDGED.fetch_add(1, Ordering::SeqCst) == 0 {
            std::thread::sleep(Duration::from_secs(3600));
        }
        Ok(vec!["127.0.0.2:0".parse().unwrap()])
    }

    #[test]
    fn a_stuck_lookup_is_asked_again() {
        let resolver = Resolver::with(
            first_hangs,
            [Duration::from_millis(20), Duration::from_secs(60)],
        );
        let addrs = block_on(resolver.addresses("stuck.test")).unwrap();
        assert_eq!(addrs[0].ip().to_string(), "127.0.0.2");
        assert_eq!(HEDGED.load(Ordering::SeqCst), 2);
    }

    static FAILS: AtomicUsize = AtomicUsize::new(0);

    fn fails_once(_: &str) -> io::Result<Vec<SocketAddr>> {
        if FAILS.fetch_add(1, Ordering::SeqCst) == 0 {
            return Err(io::Error::other("no such host"));
        }
        Ok(vec!["127.0.0.3:0".parse().unwrap()])
    }

    #[test]
    fn a_failure_is_reported_at_once_and_not_kept() {
        let resolver = Resolver::with(fails_once, [Duration::from_secs(60); 2]);
        let err = block_on(resolver.addresses("flaky.test")).unwrap_err();
        assert!(err.contains("no such host"), "{err}");
        let addrs = block_on(resolver.addresses("flaky.test")).unwrap();
        assert_eq!(addrs[0].ip().to_string(), "127.0.0.3");
    }

    #[test]
    fn localhost_resolves() {
        let addrs = block_on(Resolver::default().addresses("localhost")).unwrap();
        assert!(addrs.iter().any(|a| a.ip().is_loopback()), "{addrs:?}");
    }
}
