//! Live progress on the terminal: the only code that draws.
//!
//! The rest of the crate reports events: phases begin and end ([`begin`],
//! [`end`], [`phase`]: resolving distributions, preparing and building a
//! part, `gc`, `store verify`), and the
//! library's [`Reporter`] events arrive through [`Live`] (index look-ups
//! and resolved distributions, downloads, sdist builds). One status line
//! on stderr shows the innermost phase (downloads in flight win:
//! `Downloading 3/12 files, 4.2 MiB of 10.0 MiB`), truncated to the
//! terminal width, with the elapsed time once a phase runs for a second.
//! A phase is shown when it begins; updates are redrawn at most ten times a
//! second (a ticker thread redraws what changed since). The line is cleared
//! when the last phase ends, and before any log line is printed
//! ([`suspended`]), so zc.buildout's log stays exactly as it is.
//!
//! Drawn only when stderr is a terminal, `TERM` is not `dumb`, and neither
//! `--no-progress`, `BUILDOUT_NO_PROGRESS` nor `-q` asks otherwise. With
//! `-v` nothing is drawn: each phase's start and duration are logged as
//! plain debug lines instead.
#![allow(clippy::print_stderr)]

use super::Printer;
use crate::index::Reporter;
use std::collections::{HashMap, HashSet};
use std::io::{IsTerminal, Write};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// Redraws are at least this far apart (phase starts excepted).
const INTERVAL: Duration = Duration::from_millis(100);

/// What progress does in this process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Mode {
    /// Nothing at all (not a terminal, `--no-progress`, `-q`, ...).
    #[default]
    Off,
    /// A status line on stderr.
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

#[derive(Default)]
struct State {
    mode: Mode,
    printer: Printer,
    phases: Vec<Phase>,
    /// Distributions resolved by the current resolution.
    resolved: HashSet<String>,
    started: usize,
    done: usize,
    sizes: HashMap<usize, u64>,
    received: HashMap<usize, u64>,
    last_draw: Option<Instant>,
    /// What the terminal shows (empty: nothing).
    shown: String,
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

/// Ends the phase `key` (nothing if it is not running); the line is
/// cleared when no phase is left.
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
        if state.phases.is_empty() && !state.downloading() {
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

/// The key of the resolution phase, whose detail [`Live`] keeps.
pub const RESOLVE: &str = "resolve";

/// Runs `print` (which writes a log line) with the status line cleared;
/// the next redraw shows it again.
pub fn suspended<R>(print: impl FnOnce() -> R) -> R {
    let mut guard = lock();
    if let Some(state) = guard.as_mut() {
        state.clear();
        state.dirty = !state.phases.is_empty() || state.downloading();
    }
    print()
}

impl State {
    fn downloading(&self) -> bool {
        self.done < self.started
    }

    /// The status line (without truncation).
    fn line(&self) -> String {
        if self.downloading() {
            let total: u64 = self.sizes.values().sum();
            let got: u64 = self.received.values().sum();
            return format!(
                "Downloading {}/{} files, {} of {}",
                self.done,
                self.started,
                crate::store::format_size(got),
                crate::store::format_size(total)
            );
        }
        let Some(phase) = self.phases.last() else {
            return String::new();
        };
        let mut line = phase.title.clone();
        if !phase.detail.is_empty() {
            line.push_str(": ");
            line.push_str(&phase.detail);
        }
        let elapsed = phase.started.elapsed().as_secs();
        if elapsed > 0 {
            line.push_str(&format!(" ({elapsed}s)"));
        }
        line
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
        let line = fit(&self.line(), width);
        self.last_draw = Some(at);
        self.dirty = false;
        if line == self.shown {
            return;
        }
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K{line}");
        let _ = err.flush();
        self.shown = line;
    }

    /// Erases the status line.
    fn clear(&mut self) {
        if !self.shown.is_empty() {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K");
            let _ = err.flush();
            self.shown.clear();
        }
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
                    if !state.phases.is_empty() || state.downloading() {
                        state.dirty = true;
                        state.draw(false);
                    }
                }
            });
        // Without the thread, events still redraw.
        self.ticker = spawned.is_ok();
    }
}

/// `line` without control characters, cut to leave the terminal's last
/// column free (writing there wraps on some terminals).
fn fit(line: &str, width: usize) -> String {
    line.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .take(width.saturating_sub(1))
        .collect()
}

/// Applies `f` to the state when progress is on.
fn with(f: impl FnOnce(&mut State)) {
    let mut guard = lock();
    if let Some(state) = guard.as_mut().filter(|s| s.mode == Mode::Draw) {
        f(state);
        state.dirty = true;
        state.draw(false);
    }
}

/// The library's events ([`Reporter`]), shown on the status line: the
/// resolution's detail, downloads, sdist builds (a phase each).
#[derive(Debug)]
pub struct Live(());

impl Live {
    pub fn new() -> Self {
        Self(())
    }

    /// Forgets downloads that never completed and redraws.
    pub fn finish(&self) {
        with(|state| {
            state.started = state.done;
        });
    }
}

impl Default for Live {
    fn default() -> Self {
        Self::new()
    }
}

fn set_resolve_detail(state: &mut State, fetching: Option<&str>) {
    let count = state.resolved.len();
    if let Some(phase) = state.phases.iter_mut().rev().find(|p| p.key == RESOLVE) {
        let plural = if count == 1 { "" } else { "s" };
        phase.detail = match fetching {
            Some(name) => format!("{count} distribution{plural} resolved, fetching {name}"),
            None => format!("{count} distribution{plural} resolved"),
        };
    }
}

impl Reporter for Live {
    fn on_download_start(&self, id: usize, _name: &str, size: Option<u64>) {
        with(|state| {
            state.started += 1;
            state.sizes.insert(id, size.unwrap_or(0));
        });
    }

    fn on_download_progress(&self, id: usize, bytes: u64) {
        with(|state| *state.received.entry(id).or_default() += bytes);
    }

    fn on_download_complete(&self, _id: usize) {
        with(|state| {
            state.done += 1;
            if state.done == state.started && state.phases.is_empty() {
                state.clear();
            }
        });
    }

    fn on_lookup(&self, name: &str) {
        with(|state| set_resolve_detail(state, Some(name)));
    }

    fn on_resolved(&self, name: &str) {
        with(|state| {
            state.resolved.insert(name.to_string());
            set_resolve_detail(state, None);
        });
    }

    fn on_build_start(&self, label: &str) {
        begin(&format!("build {label}"), &format!("Building {label}"));
    }

    fn on_build_end(&self, label: &str) {
        end(&format!("build {label}"));
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
    }
}
