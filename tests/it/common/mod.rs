//! Shared test harness: [`TestContext`] runs the real `buildout` binary with
//! a cleared environment, a temporary HOME and a temporary store.

#![allow(dead_code)]

pub mod http;
pub mod index;
pub mod terminal;
pub mod wheel;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The result of one run, decoded.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// A sandbox: `<tmp>/home`, `<tmp>/store`, `<tmp>/work` (the cwd, also
/// called `project`: the buildout directory).
pub struct TestContext {
    pub tmp: tempfile::TempDir,
    pub root: PathBuf,
    pub home: PathBuf,
    pub store: PathBuf,
    pub work: PathBuf,
    pub project: PathBuf,
}

impl Default for TestContext {
    fn default() -> Self {
        Self::new()
    }
}

impl TestContext {
    pub fn new() -> Self {
        let tmp = tempfile::tempdir().expect("temp dir");
        let root = std::fs::canonicalize(tmp.path()).expect("canonical temp dir");
        let home = root.join("home");
        let work = root.join("work");
        std::fs::create_dir_all(&home).unwrap();
        std::fs::create_dir_all(&work).unwrap();
        Self {
            tmp,
            home,
            store: root.join("store"),
            project: work.clone(),
            work,
            root,
        }
    }

    /// The binary with a clean environment pointing at this sandbox.
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_buildout"));
        cmd.env_clear()
            .env("HOME", &self.home)
            .env("BUILDOUT_STORE", &self.store)
            .env("NO_COLOR", "1")
            .env("BUILDOUT_NO_PROGRESS", "1")
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("LANG", "C.UTF-8")
            .current_dir(&self.work);
        cmd
    }

    /// Runs with `args`, returning the raw output.
    pub fn run(&self, args: &[&str]) -> Output {
        self.command().args(args).output().expect("run buildout")
    }

    /// Runs with `args` and decodes the output.
    pub fn buildout(&self, args: &[&str]) -> Run {
        run(self.command().args(args))
    }

    /// A path relative to the buildout directory.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.work.join(rel)
    }

    /// Runs and asserts success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "buildout {args:?} failed: {}\nstdout:\n{}\nstderr:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8 stdout")
    }

    /// Runs and asserts failure; returns (stdout, stderr).
    pub fn fails(&self, args: &[&str]) -> (String, String) {
        let out = self.run(args);
        assert!(
            !out.status.success(),
            "buildout {args:?} unexpectedly succeeded"
        );
        (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// Replaces the store directory with `[STORE]` and hash parts with
    /// `[HASH]`, so output can be compared exactly.
    pub fn filter(&self, text: &str) -> String {
        let s = text.replace(self.store.to_str().unwrap(), "[STORE]");
        let mut out = String::new();
        let mut rest = s.as_str();
        while let Some(i) = rest.find("[STORE]/") {
            let (head, tail) = rest.split_at(i + "[STORE]/".len());
            out.push_str(head);
            if tail.len() > 32 && tail.as_bytes()[32] == b'-' {
                out.push_str("[HASH]");
                rest = &tail[32..];
            } else {
                rest = tail;
            }
        }
        out.push_str(rest);
        out
    }

    /// Writes a file under the work directory and returns its path.
    pub fn write(&self, rel: &str, contents: &str) -> PathBuf {
        let p = self.work.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, contents).unwrap();
        p
    }
}

/// Runs a prepared command and decodes its output.
pub fn run(cmd: &mut Command) -> Run {
    let out = cmd.output().expect("run command");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The path printed by `store debug-add` (`added <path>` / `reused <path>`).
pub fn added_path(stdout: &str) -> String {
    stdout
        .lines()
        .find_map(|l| {
            l.strip_prefix("added ")
                .or_else(|| l.strip_prefix("reused "))
        })
        .unwrap_or_else(|| panic!("no path in {stdout:?}"))
        .to_string()
}

pub fn exists(p: impl AsRef<Path>) -> bool {
    std::fs::symlink_metadata(p).is_ok()
}

impl Drop for TestContext {
    /// Store objects are read-only: give directories back `u+w` so the
    /// temporary directory can be removed by a non-root user.
    fn drop(&mut self) {
        fn writable(p: &Path) {
            use std::os::unix::fs::PermissionsExt;
            let Ok(meta) = std::fs::symlink_metadata(p) else {
                return;
            };
            if meta.is_dir() {
                let _ = std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755));
                if let Ok(entries) = std::fs::read_dir(p) {
                    for e in entries.flatten() {
                        writable(&e.path());
                    }
                }
            }
        }
        writable(self.tmp.path());
    }
}

/// (name, version) of the distributions the current generation records.
pub fn working_set(ctx: &TestContext) -> Vec<(String, String)> {
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(ctx.path(".buildout/current/manifest.json")).unwrap(),
    )
    .unwrap();
    manifest["distributions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["name"].as_str().unwrap().to_string(),
                d["version"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Owned pairs, to compare with [`working_set`].
pub fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(a, b)| ((*a).to_string(), (*b).to_string()))
        .collect()
}

/// The real binary of another Python, if this machine has one.
pub fn other_python() -> Option<String> {
    let home = std::env::var("HOME").ok()?;
    let mut found: Vec<_> = std::fs::read_dir(format!("{home}/.pyenv/versions"))
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("bin/python3"))
        .filter(|p| {
            p.is_file()
                && p.parent()
                    .and_then(|b| b.parent())
                    .and_then(|v| v.file_name())
                    .is_some_and(|n| n.to_string_lossy().starts_with("3.12."))
        })
        .collect();
    found.sort();
    found.pop().map(|p| p.display().to_string())
}

/// The absolute path of `tests/fixtures/dists`: the committed real
/// distributions (zc.buildout 6.0.1, zc.recipe.egg 6.0.0, the third-party
/// recipes of issue 13 and their dependency closure for CPython 3.11 on Linux;
/// see its README.md) that tests use as an offline `find-links` directory.
/// Its `SHA256SUMS` lists every file; `fetch --check` verifies them.
pub fn fixture_dists() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/dists")
}

/// A `buildout.cfg` for the recipe host's tests: the local `server` as
/// index, the offline fixture as find-links, `buildout` lines added to
/// `[buildout]`, then `rest`.
pub fn host_config(server: &index::IndexServer, buildout: &str, rest: &str) -> String {
    format!(
        "[buildout]\nindex = {}\nfind-links = {}\n{buildout}\n{rest}",
        server.index_url(),
        fixture_dists().display()
    )
}

/// A recipe module (`import os` and class `Writer`) for the recipe host's
/// tests: `Writer` writes its `text` option to `parts/<name>/out.txt`.
pub const WRITER_RECIPE: &str = r#"
import os


class Writer:
    def __init__(self, buildout, name, options):
        self.options = options
        options['location'] = os.path.join(buildout['buildout']['parts-directory'], name)

    def install(self):
        os.makedirs(self.options['location'])
        with open(os.path.join(self.options['location'], 'out.txt'), 'w') as f:
            f.write(self.options['text'] + '\n')
        return self.options['location']
"#;

/// A free loopback port (listened on briefly, to learn one).
pub fn free_loopback_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
