//! Download progress on the terminal.
//!
//! One status line on stderr, redrawn at most ten times a second:
//! `Downloading 3/12 files, 4.2 MiB of 10.0 MiB`. Shown only when stderr is
//! a terminal and neither `--no-progress`, `BUILDOUT_NO_PROGRESS` nor `-v`
//! asks otherwise (verbose output would interleave with it); the line is
//! cleared when the downloads finish, so logs and pipes never see it.
#![allow(clippy::print_stderr)]

use crate::index::Reporter;
use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Default)]
struct State {
    started: usize,
    done: usize,
    sizes: HashMap<usize, u64>,
    received: HashMap<usize, u64>,
    last_draw: Option<Instant>,
    drawn: bool,
}

/// A [`Reporter`] that draws one status line.
pub struct Downloads {
    enabled: bool,
    state: Mutex<State>,
}

impl Downloads {
    /// `allowed` is false for `--no-progress` or verbose output.
    pub fn new(allowed: bool) -> Self {
        let enabled = allowed
            && std::io::stderr().is_terminal()
            && crate::env::var_os(crate::env::BUILDOUT_NO_PROGRESS).is_none();
        Self {
            enabled,
            state: Mutex::new(State::default()),
        }
    }

    fn draw(&self, state: &mut State, force: bool) {
        if !self.enabled {
            return;
        }
        let now = Instant::now();
        if !force
            && state
                .last_draw
                .is_some_and(|t| now.duration_since(t) < Duration::from_millis(100))
        {
            return;
        }
        state.last_draw = Some(now);
        let total: u64 = state.sizes.values().sum();
        let got: u64 = state.received.values().sum();
        let line = format!(
            "Downloading {}/{} files, {} of {}",
            state.done,
            state.started,
            crate::store::format_size(got),
            crate::store::format_size(total)
        );
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K{line}");
        let _ = err.flush();
        state.drawn = true;
    }

    /// Clears the status line.
    pub fn finish(&self) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.drawn {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K");
            let _ = err.flush();
            state.drawn = false;
        }
    }
}

impl Reporter for Downloads {
    fn on_download_start(&self, id: usize, _name: &str, size: Option<u64>) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.started += 1;
        state.sizes.insert(id, size.unwrap_or(0));
        self.draw(&mut state, false);
    }

    fn on_download_progress(&self, id: usize, bytes: u64) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        *state.received.entry(id).or_default() += bytes;
        self.draw(&mut state, false);
    }

    fn on_download_complete(&self, _id: usize) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.done += 1;
        if state.done == state.started {
            // Everything requested so far is here: clear the line before
            // the installer prints what it got.
            drop(state);
            self.finish();
        } else {
            self.draw(&mut state, false);
        }
    }
}

impl Drop for Downloads {
    fn drop(&mut self) {
        self.finish();
    }
}
