//! PEP 517 for one source tree: its [`BuildSystem`] (`[build-system]` of
//! `pyproject.toml`, with the fallbacks) and the [`Backend`]'s hooks, each
//! called in a fresh, isolated interpreter process.

use super::archive::check_member;
use super::{DEFAULT_BACKEND, DEFAULT_REQUIRES, Error, Result, io};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

/// `[build-system]` of a source tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildSystem {
    pub requires: Vec<String>,
    pub backend: String,
    /// Absolute directories (inside the tree) prepended to `sys.path`.
    pub backend_path: Vec<PathBuf>,
}

impl BuildSystem {
    /// Reads `pyproject.toml` of `src`, applying PEP 517's fallbacks.
    pub fn read(src: &Path) -> Result<Self> {
        let file = src.join("pyproject.toml");
        let default = || BuildSystem {
            requires: vec![DEFAULT_REQUIRES.to_string()],
            backend: DEFAULT_BACKEND.to_string(),
            backend_path: Vec::new(),
        };
        let text = match fs::read_to_string(&file) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(default()),
            Err(e) => return Err(io("read", &file)(e).into()),
        };
        let bad = |message: String| Error::Pyproject {
            path: file.display().to_string(),
            message,
        };
        let doc: toml_edit::Document<String> = text.parse().map_err(|e| bad(format!("{e}")))?;
        let Some(table) = doc.get("build-system").and_then(|t| t.as_table_like()) else {
            return Ok(default());
        };
        let strings = |key: &str| -> Result<Option<Vec<String>>> {
            match table.get(key) {
                None => Ok(None),
                Some(item) => {
                    let arr = item
                        .as_array()
                        .ok_or_else(|| bad(format!("`build-system.{key}` must be a list")))?;
                    arr.iter()
                        .map(|v| {
                            v.as_str().map(str::to_string).ok_or_else(|| {
                                bad(format!("`build-system.{key}` must list strings"))
                            })
                        })
                        .collect::<Result<Vec<_>>>()
                        .map(Some)
                }
            }
        };
        let requires = strings("requires")?
            .ok_or_else(|| bad("`[build-system]` has no `requires` (PEP 518)".into()))?;
        let backend = match table.get("build-backend") {
            None => DEFAULT_BACKEND.to_string(),
            Some(v) => v
                .as_str()
                .ok_or_else(|| bad("`build-system.build-backend` must be a string".into()))?
                .to_string(),
        };
        let mut backend_path = Vec::new();
        for entry in strings("backend-path")?.unwrap_or_default() {
            let rel = check_member("pyproject.toml", &entry).map_err(|_| {
                bad(format!(
                    "`backend-path` entry `{entry}` leaves the source tree"
                ))
            })?;
            backend_path.push(src.join(rel));
        }
        Ok(BuildSystem {
            requires,
            backend,
            backend_path,
        })
    }
}

/// The hook driver, run as `python -I -S -u -c DRIVER <request.json>`.
const DRIVER: &str = r#"
import json, sys, site, importlib
with open(sys.argv[1]) as f:
    req = json.load(f)
for p in req["paths"]:
    site.addsitedir(p)
sys.path[0:0] = req["backend_path"]
mod, _, attr = req["backend"].partition(":")
backend = importlib.import_module(mod.strip())
for a in filter(None, attr.strip().split(".")):
    backend = getattr(backend, a)
hook = getattr(backend, req["hook"], None)
if hook is None:
    if req["optional"]:
        result = req["default"]
    else:
        sys.stderr.write("backend %r has no hook %r\n" % (req["backend"], req["hook"]))
        sys.exit(3)
else:
    result = hook(*req["args"], config_settings=req["config_settings"])
with open(req["out"], "w") as f:
    json.dump(result, f)
"#;

/// Where a backend's output lines go as they are printed (the progress
/// layer shows the last one).
#[derive(Clone, Copy)]
pub struct OutputLines<'a>(pub &'a dyn Fn(&str));

impl std::fmt::Debug for OutputLines<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OutputLines")
    }
}

/// How long the output is still read once the hook's process has exited:
/// a process it started in the background may hold the pipe open.
const OUTPUT_GRACE: Duration = Duration::from_secs(2);

/// A backend ready to be called for one source tree.
#[derive(Debug, Clone)]
pub struct Backend<'a> {
    /// The project, for messages.
    pub project: String,
    pub python: &'a str,
    pub src: &'a Path,
    pub system: &'a BuildSystem,
    /// Store directories of the build requirements.
    pub paths: Vec<PathBuf>,
    /// Extra environment (`zc.recipe.egg:custom`'s flags).
    pub env: Vec<(String, String)>,
    /// Told each non-empty output line as it is printed.
    pub lines: Option<OutputLines<'a>>,
}

impl Backend<'_> {
    /// Calls `hook` with `args` (JSON values); `default` is the result of
    /// an optional hook the backend does not define (`None`: required).
    pub fn call(
        &self,
        hook: &str,
        args: &[serde_json::Value],
        default: Option<serde_json::Value>,
    ) -> Result<serde_json::Value> {
        let tmp = tempfile::Builder::new()
            .prefix("buildout-hook-")
            .tempdir()
            .map_err(io("create a temporary directory in", &std::env::temp_dir()))?;
        let out = tmp.path().join("result.json");
        let request = serde_json::json!({
            "paths": self.paths,
            "backend_path": self.system.backend_path,
            "backend": self.system.backend,
            "hook": hook,
            "optional": default.is_some(),
            "default": default,
            "args": args,
            "config_settings": serde_json::Value::Null,
            "out": out,
        });
        let request_file = tmp.path().join("request.json");
        fs::write(&request_file, request.to_string()).map_err(io("write", &request_file))?;
        let log = tmp.path().join("output.log");
        let log_file = fs::File::create(&log).map_err(io("create", &log))?;
        // stdout and stderr share one pipe (their order kept), copied to
        // the log as it comes.
        let (reader, writer) = std::io::pipe().map_err(io("create a pipe for", &log))?;
        let writer_err = writer.try_clone().map_err(io("create a pipe for", &log))?;
        let mut path_var: Vec<PathBuf> = self
            .paths
            .iter()
            .map(|p| p.join(".prefix/bin"))
            .filter(|p| p.is_dir())
            .collect();
        if let Some(old) = std::env::var_os("PATH") {
            path_var.extend(std::env::split_paths(&old));
        }
        let mut cmd = Command::new(self.python);
        // `-u`: what the backend prints reaches the pipe as it prints it.
        cmd.args(["-I", "-S", "-u", "-c", DRIVER])
            .arg(&request_file)
            .current_dir(self.src)
            .stdin(Stdio::null())
            .stdout(Stdio::from(writer))
            .stderr(Stdio::from(writer_err))
            .env("PYTHONIOENCODING", "utf-8:backslashreplace")
            .env_remove("PYTHONPATH")
            .env_remove("PYTHONHOME");
        if let Ok(joined) = std::env::join_paths(path_var) {
            cmd.env("PATH", joined);
        }
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let lines = copy_lines(reader, log_file).map_err(io("read the output into", &log))?;
        let spawned = cmd.spawn().map_err(|source| Error::Spawn {
            python: self.python.to_string(),
            source,
        });
        // The command holds our ends of the pipe: without them, the
        // reader sees the end of the output when the hook's process exits.
        drop(cmd);
        let mut child = spawned?;
        self.follow(&mut child, &lines);
        let status = child.wait().map_err(|source| Error::Spawn {
            python: self.python.to_string(),
            source,
        })?;
        let output = fs::read_to_string(&log).unwrap_or_default();
        let failed = |message: String| Error::Hook {
            project: self.project.clone(),
            hook: hook.to_string(),
            message,
            output: if output.trim().is_empty() {
                String::new()
            } else {
                format!(":\n{}", output.trim_end())
            },
        };
        if !status.success() {
            return Err(failed(match status.code() {
                Some(c) => format!("exited with status {c}"),
                None => "was killed by a signal".into(),
            }));
        }
        let text = fs::read_to_string(&out)
            .map_err(|_| failed("returned nothing (no result file was written)".into()))?;
        serde_json::from_str(&text).map_err(|e| failed(format!("returned invalid JSON: {e}")))
    }

    /// Passes the hook's output lines on until its output ends (or, once
    /// its process has exited, [`OUTPUT_GRACE`] later).
    fn follow(&self, child: &mut std::process::Child, lines: &Receiver<Option<String>>) {
        let mut exited: Option<Instant> = None;
        loop {
            match lines.recv_timeout(Duration::from_millis(50)) {
                Ok(Some(line)) => {
                    if let Some(OutputLines(tell)) = self.lines {
                        tell(&line);
                    }
                }
                Ok(None) | Err(RecvTimeoutError::Disconnected) => return,
                Err(RecvTimeoutError::Timeout) => match exited {
                    Some(at) if at.elapsed() > OUTPUT_GRACE => return,
                    Some(_) => {}
                    None => {
                        if !matches!(child.try_wait(), Ok(None)) {
                            exited = Some(Instant::now());
                        }
                    }
                },
            }
        }
    }

    /// `get_requires_for_build_<kind>` (`wheel` or `editable`).
    pub fn get_requires(&self, kind: &str) -> Result<Vec<String>> {
        let hook = format!("get_requires_for_build_{kind}");
        let v = self.call(&hook, &[], Some(serde_json::json!([])))?;
        serde_json::from_value(v).map_err(|e| Error::Hook {
            project: self.project.clone(),
            hook,
            message: format!("did not return a list of strings: {e}"),
            output: String::new(),
        })
    }

    /// `build_<kind>` into `dir`; returns the wheel's path.
    pub fn build(&self, kind: &str, dir: &Path) -> Result<PathBuf> {
        let hook = format!("build_{kind}");
        let dir_arg = serde_json::json!(dir.display().to_string());
        let v = self.call(&hook, &[dir_arg], None)?;
        let name = v.as_str().unwrap_or_default();
        let wheel = dir.join(name);
        if name.is_empty() || name.contains('/') || !wheel.is_file() {
            return Err(Error::Hook {
                project: self.project.clone(),
                hook,
                message: format!("returned `{v}`, which is not a wheel it wrote"),
                output: String::new(),
            });
        }
        Ok(wheel)
    }
}

/// Copies `output` into `log` on a thread of its own; each non-empty line
/// (ended by a newline or a carriage return) is sent as it completes, and
/// `None` at the end of the output.
fn copy_lines(
    mut output: std::io::PipeReader,
    mut log: fs::File,
) -> std::io::Result<Receiver<Option<String>>> {
    use std::io::{Read, Write};
    let (send, receive) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("backend-output".into())
        .spawn(move || {
            let mut buf = [0u8; 8192];
            let mut line = Vec::new();
            loop {
                let n = match output.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(_) => break,
                };
                let _ = log.write_all(&buf[..n]);
                for &b in &buf[..n] {
                    if b == b'\n' || b == b'\r' {
                        let text = String::from_utf8_lossy(&line).trim().to_string();
                        line.clear();
                        if !text.is_empty() {
                            // Nobody listening any more is fine: the copy goes on.
                            let _ = send.send(Some(text));
                        }
                    } else if line.len() < 4096 {
                        line.push(b);
                    }
                }
            }
            let text = String::from_utf8_lossy(&line).trim().to_string();
            if !text.is_empty() {
                let _ = send.send(Some(text));
            }
            let _ = log.flush();
            let _ = send.send(None);
        })?;
    Ok(receive)
}
