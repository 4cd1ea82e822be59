//! Shared test harness: a `TestContext` with its own HOME, store and
//! project directory, running the real binary with a cleared environment.

#![allow(dead_code)]

pub mod http;
pub mod index;
pub mod wheel;

use std::path::{Path, PathBuf};
use std::process::Command;

/// The result of one run of the binary.
#[derive(Debug)]
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// A sandbox: `root/{home,store,project}`.
pub struct TestContext {
    _tmp: tempfile::TempDir,
    pub root: PathBuf,
    pub home: PathBuf,
    pub store: PathBuf,
    pub project: PathBuf,
}

impl TestContext {
    pub fn new() -> Self {
        let tmp = tempfile::tempdir().expect("temp dir");
        let root = tmp.path().canonicalize().expect("canonical temp dir");
        let home = root.join("home");
        let store = root.join("store");
        let project = root.join("project");
        for d in [&home, &project] {
            std::fs::create_dir_all(d).expect("create dir");
        }
        Self {
            _tmp: tmp,
            root,
            home,
            store,
            project,
        }
    }

    /// Writes a file relative to the project directory.
    pub fn write(&self, rel: &str, contents: &str) -> PathBuf {
        let path = self.project.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create parent");
        }
        std::fs::write(&path, contents).expect("write file");
        path
    }

    /// A command for the binary, environment cleared, cwd = project.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_buildout"));
        cmd.args(args)
            .current_dir(&self.project)
            .env_clear()
            .env("HOME", &self.home)
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("LANG", "C.UTF-8")
            .env("NO_COLOR", "1")
            .env("BUILDOUT_NO_PROGRESS", "1")
            .env("BUILDOUT_STORE", &self.store);
        cmd
    }

    /// Runs the binary and captures its output.
    pub fn buildout(&self, args: &[&str]) -> Output {
        run(self.command(args))
    }

    /// Replaces the sandbox path with `[ROOT]` for stable assertions.
    pub fn filter(&self, text: &str) -> String {
        text.replace(&self.root.to_string_lossy().into_owned(), "[ROOT]")
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.project.join(rel)
    }
}

/// Runs a prepared command and captures its output.
pub fn run(mut cmd: Command) -> Output {
    let out = cmd.output().expect("run buildout");
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Whether a path exists (tiny helper for assertions).
pub fn exists(p: &Path) -> bool {
    p.exists()
}
