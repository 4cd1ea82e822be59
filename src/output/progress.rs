//! Live progress on the terminal: the only code that draws.
//!
//! The rest of the crate reports events: phases begin and end ([`begin`],
//! [`end`], [`phase`]: resolving distributions, preparing and building a
//! part, starting the recipe host and its recipes' installs, `gc`, `store
//! verify`), counts update them ([`count`]: objects checked or deleted),
//! and the library's [`Reporter`] events arrive through [`Live`] (index
//! requests in flight and resolved distributions, downloads, sdist builds
//! and their backend's last output line, trees compiled).
//!
//! What is drawn, on stderr: a block of lines redrawn in place. The first
//! is the innermost phase (`Resolving distributions (4s): 12
//! distributions resolved, 3 requests in flight`, the elapsed time once a
//! phase runs for a second, before the detail that may be cut); then, while files download, their total
//! (`Downloading 3/12 files, 4.2 MiB of 10.0 MiB`); then one line per
//! thing running at once (another sdist build, a download, an index
//! request), at most
//! [`MAX_ITEMS`] and `… and N more`. Each line is cut to the terminal's
//! width less its last column (so nothing ever wraps) and freed of control
//! characters. A phase is shown when it begins; other updates are redrawn
//! at most ten times a second (a ticker thread redraws what changed
//! since). The block is cleared when the last phase ends, and before any
//! log line is printed ([`suspended`]), so zc.buildout's log stays exactly
//! as it is.
//!
//! The drawing itself is `indicatif`'s (issue 18 asked for a well-kept
//! crate unless it cost the no-op run): one bar whose message is the block
//! of lines, drawn to stderr in place (cursor up, erase, rewrite; each
//! line padded to the width) when [`State::draw`] sets it, with no rate
//! limit of its own (the throttle is ours). One bar rather than a
//! `MultiProgress` of one bar per line: a `MultiProgress` redraws the
//! whole block for each bar's update, so one frame of N changed lines
//! would be N redraws. What to show and when is decided here.
//!
//! Measured before (the hand-written one-line drawer) and after (this
//! module on `indicatif`), release builds, the no-op
//! re-run of a one-part buildout, 300 runs of each binary interleaved,
//! on a loaded 2-core machine: off a terminal (what `bench/run`
//! measures; nothing here runs) wall median 20.7/26.1 ms before and
//! 20.2/25.6 ms after in two directories, minimum 7.4 ms both, CPU
//! median 8.0 and 7.9 ms; on a pseudo-terminal, where the no-op draws its
//! phases, median 47.7 and 50.6 ms, 10th percentile 30.8 and 30.9 ms
//! (through `script`, which adds about 20 ms): no measurable cost.
//!
//! Drawn only when stderr is a terminal, `TERM` is not `dumb`, and neither
//! `--no-progress`, `BUILDOUT_NO_PROGRESS` nor `-q` asks otherwise. With
//! `-v` nothing is drawn: each phase's start and duration are logged as
//! plain debug lines instead.
#![allow(clippy::print_stderr)]

use super::Printer;
use crate::index::Reporter;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::{BTreeMap, HashSet};
use std::io::IsTerminal;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// Redraws are at least this far apart (phase starts excepted).
const INTERVAL: Duration = Duration::from_millis(100);

/// At most this many lines of things running at once; the others are
/// counted in a last line.
pub const MAX_ITEMS: usize = 8;

/// What progress does in this process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Mode {
    /// Nothing at all (not a terminal, `--no-progress`, `-q`, ...).
    #[default]
    Off,
    /// Status lines on stderr.
    Draw,
    /// `-v`: phases' starts and durations as log lines.
    Log,
}

/// A phase being run.
struct Phase {
    key: String,
    title: String,
    detail: String,
    started: Instant,
}

/// A download in flight.
struct Download {
    name: String,
    size: Option<u64>,
    received: u64,
}

#[derive(Default)]
struct State {
    mode: Mode,
    printer: Printer,
    phases: Vec<Phase>,
    /// Distributions resolved by the current resolution.
    resolved: HashSet<String>,
    /// The project the resolver asked about last.
    lookup: Option<String>,
    /// Index requests in flight, by project, in the order they started.
    fetching: Vec<String>,
    /// Downloads started and completed since the last batch ended.
    started: usize,
    done: usize,
    /// Bytes of the completed downloads (their sizes) and the expected
    /// total of all.
    done_bytes: u64,
    total_bytes: u64,
    downloads: BTreeMap<usize, Download>,
    last_draw: Option<Instant>,
    /// The lines the terminal shows (empty: nothing).
    shown: Vec<String>,
    /// What draws them, while they are shown.
    bar: Option<ProgressBar>,
    /// Something changed since the last draw.
    dirty: bool,
    ticker: bool,
}

static STATE: Mutex<Option<State>> = Mutex::new(None);

fn lock() -> MutexGuard<'static, Option<State>> {
    STATE.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Whether a terminal may show progress: `term` is `$TERM`.
fn may_draw(terminal: bool, no_progress: bool, env_off: bool, term: Option<&str>) -> bool {
    terminal && !no_progress && !env_off && term != Some("dumb")
}

/// Sets progress up for this run: `no_progress` is `--no-progress`; the
/// printer's verbosity decides between drawing (default), logging (`-v`)
/// and nothing (`-q`).
pub fn setup(printer: Printer, no_progress: bool) {
    let mode = if printer.verbosity > 0 {
        Mode::Log
    } else if printer.verbosity == 0
        && may_draw(
            std::io::stderr().is_terminal(),
            no_progress,
            crate::env::var_os(crate::env::BUILDOUT_NO_PROGRESS).is_some(),
            crate::env::var(crate::env::TERM).as_deref(),
        )
    {
        Mode::Draw
    } else {
        Mode::Off
    };
    let mut state = lock();
    if let Some(old) = state.as_mut() {
        old.clear();
    }
    *state = Some(State {
        mode,
        printer,
        ..State::default()
    });
}

/// Begins the phase `key` (`title`: what the user sees); a phase of the
/// same key still running is replaced.
pub fn begin(key: &str, title: &str) {
    let log = {
        let mut guard = lock();
        let Some(state) = guard.as_mut().filter(|s| s.mode != Mode::Off) else {
            return;
        };
        state.phases.retain(|p| p.key != key);
        state.phases.push(Phase {
            key: key.to_string(),
            title: title.to_string(),
            detail: String::new(),
            started: Instant::now(),
        });
        if key == RESOLVE {
            state.resolved.clear();
            state.lookup = None;
        }
        state.dirty = true;
        state.draw(true);
        state.start_ticker();
        (state.mode == Mode::Log).then(|| (state.printer, format!("{title}: started.")))
    };
    if let Some((printer, line)) = log {
        printer.verbose(&line);
    }
}

/// Ends the phase `key` (nothing if it is not running); the lines are
/// cleared when nothing is left to show.
pub fn end(key: &str) {
    let log = {
        let mut guard = lock();
        let Some(state) = guard.as_mut().filter(|s| s.mode != Mode::Off) else {
            return;
        };
        let Some(at) = state.phases.iter().rposition(|p| p.key == key) else {
            return;
        };
        let phase = state.phases.remove(at);
        state.dirty = true;
        if state.idle() {
            state.clear();
        } else {
            state.draw(true);
        }
        (state.mode == Mode::Log).then(|| {
            (
                state.printer,
                format!(
                    "{}: done in {:.2}s.",
                    phase.title,
                    phase.started.elapsed().as_secs_f64()
                ),
            )
        })
    };
    if let Some((printer, line)) = log {
        printer.verbose(&line);
    }
}

/// Runs `work` as the phase `key` (`title`: what is shown).
pub fn phase<T>(key: &str, title: &str, work: impl FnOnce() -> T) -> T {
    begin(key, title);
    let done = work();
    end(key);
    done
}

/// Shows how far the phase `key` is: `done` of `total` `things` `what`
/// (`3 of 40 objects checked`). The first count of a step (`done` 0) is
/// drawn at once, like a phase's start.
pub fn count(key: &str, things: &str, what: &str, done: usize, total: usize) {
    with(|state| {
        if let Some(phase) = state.phases.iter_mut().rev().find(|p| p.key == key) {
            phase.detail = format!("{done} of {total} {things} {what}");
            if done == 0 {
                state.dirty = true;
                state.draw(true);
            }
        }
    });
}

/// The key of the resolution phase, whose detail [`Live`] keeps.
pub const RESOLVE: &str = "resolve";

/// The key of the phase that installs downloaded wheels.
pub const INSTALL: &str = "install";

/// The keys of sdist builds start with this.
const BUILD: &str = "build ";

/// The key of an sdist's build phase.
fn build_key(label: &str) -> String {
    format!("{BUILD}{label}")
}

/// Runs `print` (which writes a log line) with the status lines cleared;
/// the next redraw shows them again.
pub fn suspended<R>(print: impl FnOnce() -> R) -> R {
    let mut guard = lock();
    if let Some(state) = guard.as_mut() {
        state.clear();
        state.dirty = !state.idle();
    }
    print()
}

/// `n` of a noun (`1 distribution`, `2 distributions`).
fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("{n} {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

impl State {
    fn downloading(&self) -> bool {
        self.done < self.started
    }

    /// Nothing to show.
    fn idle(&self) -> bool {
        self.phases.is_empty() && !self.downloading() && self.fetching.is_empty()
    }

    /// The resolution's detail.
    fn resolve_detail(&self) -> String {
        let mut detail = format!("{} resolved", plural(self.resolved.len(), "distribution"));
        if !self.fetching.is_empty() {
            let requests = plural(self.fetching.len(), "request");
            detail.push_str(&format!(", {requests} in flight"));
        } else if let Some(name) = &self.lookup {
            detail.push_str(&format!(", fetching {name}"));
        }
        detail
    }

    /// The innermost phase's line.
    fn phase_line(&self, phase: &Phase) -> String {
        let mut line = phase.title.clone();
        // Before the detail, which may be cut (a long backend line).
        let elapsed = phase.started.elapsed().as_secs();
        if elapsed > 0 {
            line.push_str(&format!(" ({elapsed}s)"));
        }
        let detail = if phase.key == RESOLVE {
            self.resolve_detail()
        } else {
            phase.detail.clone()
        };
        if !detail.is_empty() {
            line.push_str(": ");
            line.push_str(&detail);
        }
        line
    }

    /// The lines to show (without truncation): the innermost phase, the
    /// downloads' total, then what runs at once.
    fn lines(&self) -> Vec<String> {
        let mut lines = Vec::new();
        if let Some(phase) = self.phases.last() {
            lines.push(self.phase_line(phase));
        }
        let mut items = Vec::new();
        // Other sdist builds still running (outer ones waiting for a build
        // requirement, or builds running at once), newest first.
        let last = self.phases.len().saturating_sub(1);
        for phase in self.phases[..last].iter().rev() {
            if phase.key.starts_with(BUILD) {
                items.push(format!("  {}", self.phase_line(phase)));
            }
        }
        if self.downloading() {
            let got: u64 =
                self.done_bytes + self.downloads.values().map(|d| d.received).sum::<u64>();
            lines.push(format!(
                "Downloading {}/{} files, {} of {}",
                self.done,
                self.started,
                crate::store::format_size(got),
                crate::store::format_size(self.total_bytes.max(got))
            ));
            for d in self.downloads.values() {
                let got = crate::store::format_size(d.received);
                items.push(match d.size {
                    Some(size) => {
                        format!("  {} {got} of {}", d.name, crate::store::format_size(size))
                    }
                    None => format!("  {} {got}", d.name),
                });
            }
        }
        for name in &self.fetching {
            items.push(format!("  fetching {name}"));
        }
        if items.len() > MAX_ITEMS {
            let more = items.len() - (MAX_ITEMS - 1);
            items.truncate(MAX_ITEMS - 1);
            items.push(format!("  … and {more} more"));
        }
        lines.extend(items);
        lines
    }

    /// Redraws if something changed and the last draw is old enough
    /// (`now`: whatever its age).
    fn draw(&mut self, now: bool) {
        if self.mode != Mode::Draw || !self.dirty {
            return;
        }
        let at = Instant::now();
        if !now
            && self
                .last_draw
                .is_some_and(|t| at.duration_since(t) < INTERVAL)
        {
            return;
        }
        let width = terminal_size::terminal_size_of(std::io::stderr())
            .map_or(80, |(w, _)| usize::from(w.0));
        let lines: Vec<String> = self.lines().iter().map(|l| fit(l, width)).collect();
        self.last_draw = Some(at);
        self.dirty = false;
        if lines == self.shown {
            return;
        }
        if lines.is_empty() {
            self.clear();
            return;
        }
        let bar = self.bar.get_or_insert_with(new_bar);
        bar.set_message(lines.join("\n"));
        self.shown = lines;
    }

    /// Erases the status lines, leaving the cursor where the first was.
    fn clear(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        self.shown.clear();
    }

    /// Starts the thread that redraws what changed (and the elapsed
    /// time) while a phase runs.
    fn start_ticker(&mut self) {
        if self.mode != Mode::Draw || self.ticker {
            return;
        }
        self.ticker = true;
        let spawned = std::thread::Builder::new()
            .name("progress".into())
            .spawn(|| {
                loop {
                    std::thread::sleep(INTERVAL);
                    let mut guard = lock();
                    let Some(state) = guard.as_mut() else { return };
                    if !state.idle() {
                        state.dirty = true;
                        state.draw(false);
                    }
                }
            });
        // Without the thread, events still redraw.
        self.ticker = spawned.is_ok();
    }
}

/// The drawer: one `indicatif` bar whose message is the block of lines,
/// drawn when [`State::draw`] sets it (no rate limit of its own: the
/// throttle is ours).
fn new_bar() -> ProgressBar {
    let target = ProgressDrawTarget::term_like(Box::new(console::Term::buffered_stderr()));
    let bar = ProgressBar::with_draw_target(None, target);
    if let Ok(style) = ProgressStyle::with_template("{msg}") {
        bar.set_style(style);
    }
    bar
}

/// `line` without control characters (a backend's line cannot move the
/// cursor or colour the terminal), cut to leave the terminal's last column
/// free (writing there wraps on some terminals), wide characters counting
/// for two columns.
fn fit(line: &str, width: usize) -> String {
    let clean: String = line
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    console::truncate_str(&clean, width.saturating_sub(1), "").into_owned()
}

/// Applies `f` to the state when progress is drawn.
fn with(f: impl FnOnce(&mut State)) {
    let mut guard = lock();
    if let Some(state) = guard.as_mut().filter(|s| s.mode == Mode::Draw) {
        f(state);
        state.dirty = true;
        if state.idle() {
            state.clear();
        } else {
            state.draw(false);
            state.start_ticker();
        }
    }
}

/// The library's events ([`Reporter`]), shown on the status lines: the
/// resolution's detail and requests in flight, downloads, sdist builds (a
/// phase each, with the backend's last line), bytecode compilation.
#[derive(Debug)]
pub struct Live(());

impl Live {
    pub fn new() -> Self {
        Self(())
    }

    /// Forgets downloads and requests that never completed and redraws.
    pub fn finish(&self) {
        with(|state| {
            state.started = state.done;
            state.downloads.clear();
            state.fetching.clear();
        });
    }
}

impl Default for Live {
    fn default() -> Self {
        Self::new()
    }
}

impl Reporter for Live {
    fn on_download_start(&self, id: usize, name: &str, size: Option<u64>) {
        with(|state| {
            if !state.downloading() {
                // A new batch.
                state.done_bytes = 0;
                state.total_bytes = 0;
                state.started = state.done;
            }
            state.started += 1;
            state.total_bytes += size.unwrap_or(0);
            state.downloads.insert(
                id,
                Download {
                    name: name.to_string(),
                    size,
                    received: 0,
                },
            );
        });
    }

    fn on_download_progress(&self, id: usize, bytes: u64) {
        with(|state| {
            if let Some(d) = state.downloads.get_mut(&id) {
                d.received += bytes;
            }
        });
    }

    fn on_download_complete(&self, id: usize) {
        with(|state| {
            if let Some(d) = state.downloads.remove(&id) {
                state.done += 1;
                state.done_bytes += d.size.unwrap_or(d.received).max(d.received);
            }
        });
    }

    fn on_lookup(&self, name: &str) {
        with(|state| state.lookup = Some(name.to_string()));
    }

    fn on_resolved(&self, name: &str) {
        with(|state| {
            state.resolved.insert(name.to_string());
            state.lookup = None;
        });
    }

    fn on_fetch_start(&self, name: &str) {
        with(|state| state.fetching.push(name.to_string()));
    }

    fn on_fetch_end(&self, name: &str) {
        with(|state| {
            if let Some(at) = state.fetching.iter().position(|n| n == name) {
                state.fetching.remove(at);
            }
        });
    }

    fn on_build_start(&self, label: &str) {
        begin(&build_key(label), &format!("Building {label}"));
    }

    fn on_build_end(&self, label: &str) {
        end(&build_key(label));
    }

    fn on_build_output(&self, label: &str, line: &str) {
        let key = build_key(label);
        with(|state| {
            if let Some(phase) = state.phases.iter_mut().rev().find(|p| p.key == key) {
                phase.detail = line.to_string();
            }
        });
    }

    fn on_compiled(&self, done: usize, total: usize) {
        count(INSTALL, "trees", "compiled", done, total);
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        self.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drawn_only_on_a_real_terminal_that_asks_for_it() {
        assert!(may_draw(true, false, false, Some("xterm")));
        assert!(may_draw(true, false, false, None));
        assert!(!may_draw(false, false, false, Some("xterm")));
        assert!(!may_draw(true, true, false, Some("xterm")));
        assert!(!may_draw(true, false, true, Some("xterm")));
        assert!(!may_draw(true, false, false, Some("dumb")));
    }

    #[test]
    fn lines_fit_the_terminal_and_carry_no_controls() {
        assert_eq!(fit("Building part eggs", 10), "Building ");
        assert_eq!(fit("a\x1b[2Kb\r", 80), "a?[2Kb?");
        assert_eq!(fit("é€x", 3), "é€");
        assert_eq!(fit("x", 0), "");
        assert_eq!(fit("日本語", 5), "日本");
        assert_eq!(fit("日本語", 4), "日");
    }

    fn drawing() -> State {
        State {
            mode: Mode::Draw,
            ..State::default()
        }
    }

    #[test]
    fn things_at_once_are_a_line_each_and_at_most_eight() {
        let mut state = drawing();
        state.phases.push(Phase {
            key: RESOLVE.into(),
            title: "Resolving distributions".into(),
            detail: String::new(),
            started: Instant::now(),
        });
        state.resolved.insert("a".into());
        for n in ["b", "c"] {
            state.fetching.push(n.into());
        }
        assert_eq!(
            state.lines(),
            [
                "Resolving distributions: 1 distribution resolved, 2 requests in flight",
                "  fetching b",
                "  fetching c"
            ]
        );
        for n in 0..12 {
            state.fetching.push(format!("p{n}"));
        }
        let lines = state.lines();
        assert_eq!(lines.len(), 1 + MAX_ITEMS);
        assert_eq!(lines[MAX_ITEMS - 1], "  fetching p4");
        assert_eq!(lines[MAX_ITEMS], "  … and 7 more");
    }

    #[test]
    fn builds_running_besides_the_innermost_phase_are_a_line_each() {
        let mut state = drawing();
        for (key, title, detail) in [
            ("build a 1.0", "Building a 1.0", "running build_ext"),
            ("build b 2.0", "Building b 2.0", "gcc -c b.c"),
            (RESOLVE, "Resolving distributions", ""),
        ] {
            state.phases.push(Phase {
                key: key.into(),
                title: title.into(),
                detail: detail.into(),
                started: Instant::now(),
            });
        }
        assert_eq!(
            state.lines(),
            [
                "Resolving distributions: 0 distributions resolved",
                "  Building b 2.0: gcc -c b.c",
                "  Building a 1.0: running build_ext"
            ]
        );
    }

    #[test]
    fn downloads_show_their_total_and_each_file() {
        let mut state = drawing();
        state.started = 2;
        state.total_bytes = 3 * 1024;
        state.downloads.insert(
            0,
            Download {
                name: "a-1.whl".into(),
                size: Some(1024),
                received: 512,
            },
        );
        state.downloads.insert(
            1,
            Download {
                name: "b-1.tar.gz".into(),
                size: None,
                received: 0,
            },
        );
        assert_eq!(
            state.lines(),
            [
                "Downloading 0/2 files, 512 B of 3.0 KiB",
                "  a-1.whl 512 B of 1.0 KiB",
                "  b-1.tar.gz 0 B"
            ]
        );
    }
}
