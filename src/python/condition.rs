//! Conditions evaluated by Python itself: one interpreter process, started
//! on the first expression that needs it, evaluates every such expression
//! of a configuration load.
//!
//! The process runs [`EVALUATOR_SCRIPT`] (`-I -B`): it reads one JSON
//! request per line on stdin (`{"scope": N, "source": "[expr]"}`) and
//! answers one JSON line (`{"value": bool}` or `{"error": "Type: message"}`).
//! Each scope (the caller opens one per configuration file) gets a fresh
//! copy of zc.buildout's `_default_globals()`, built on its first
//! expression, exactly as `zc.buildout.configparser.parse` builds its
//! `context` once per file. What the expression itself prints goes to our
//! stderr (the protocol keeps a private copy of stdin and stdout; the
//! expression sees `/dev/null` as stdin).

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use serde::Deserialize;

use super::Error;

/// The evaluator's program: zc.buildout 6.0.1's `_default_globals()`
/// (`zc/buildout/buildout.py`), and the `eval(expr, context)[0]` of
/// `zc/buildout/configparser.py`, with Python's own error texts.
const EVALUATOR_SCRIPT: &str = r#"
import json, os, sys, traceback

def _default_globals():
    import sys
    import os
    import platform
    import re

    globals_defs = {'sys': sys, 'os': os, 'platform': platform, 're': re,}

    major_python_versions = tuple(map(str, platform.python_version_tuple()))
    globals_defs.update({'python2': major_python_versions[0] == '2',
                         'python3': major_python_versions[0] == '3'})

    minor_python_versions = (
        '24', '25', '26', '27',
        '30', '31', '32', '33', '34', '35', '36', '37', '38', '39',
        '310', '311', '312', '313', '314', '315', '316', '317', '318', '319',
    )
    for v in minor_python_versions:
        globals_defs['python' + v] = ''.join(major_python_versions[:2]) == v

    sys_version = sys.version.lower()
    pypy = 'pypy' in sys_version
    jython = 'java' in sys_version
    ironpython ='iron' in sys_version
    cpython = not any((pypy, jython, ironpython,))
    globals_defs.update({'cpython': cpython,
                         'pypy': pypy,
                         'jython': jython,
                         'ironpython': ironpython})

    sys_platform = str(sys.platform).lower()
    globals_defs.update({'linux': 'linux' in sys_platform,
                         'windows': 'win32' in sys_platform,
                         'cygwin': 'cygwin' in sys_platform,
                         'solaris': 'sunos' in sys_platform,
                         'macosx': 'darwin' in sys_platform,
                         'posix': 'posix' in os.name.lower()})

    import struct
    void_ptr_size = struct.calcsize('P') * 8
    globals_defs.update({'bits32': void_ptr_size == 32,
                         'bits64': void_ptr_size == 64,
                         'little_endian': sys.byteorder == 'little',
                         'big_endian': sys.byteorder == 'big'})

    return globals_defs

def _serve():
    requests = os.fdopen(os.dup(0), 'r', encoding='utf-8')
    replies = os.fdopen(os.dup(1), 'w', encoding='utf-8')
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.dup2(2, 1)
    scopes = {}
    for line in requests:
        request = json.loads(line)
        try:
            context = scopes.get(request['scope'])
            if not context:
                context = scopes[request['scope']] = _default_globals()
            reply = {'value': not not eval(request['source'], context)[0]}
        except BaseException as e:
            lines = traceback.format_exception_only(type(e), e)
            text = ''.join(lines).rstrip('\n').split('\n')
            reply = {'error': text[-1] if text else type(e).__name__}
        try:
            sys.stdout.flush()
        except BaseException:
            pass
        replies.write(json.dumps(reply) + '\n')
        replies.flush()

_serve()
"#;

/// What Python made of one expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The truth value of the first element of `[expr]`.
    Value(bool),
    /// The exception raised, as the last line of Python's
    /// `traceback.format_exception_only` (`NameError: name 'x' is not defined`).
    Raised(String),
}

#[derive(Deserialize)]
struct Reply {
    value: Option<bool>,
    error: Option<String>,
}

/// A running evaluator process.
#[derive(Debug)]
pub struct Evaluator {
    python: PathBuf,
    child: Child,
    requests: Option<ChildStdin>,
    replies: BufReader<ChildStdout>,
}

impl Evaluator {
    /// Starts `python` (in `cwd` when given) running the evaluator.
    pub fn start(python: &Path, cwd: Option<&Path>) -> Result<Self, Error> {
        let mut command = Command::new(python);
        command
            .args(["-I", "-B", "-c", EVALUATOR_SCRIPT])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if let Some(cwd) = cwd {
            command.current_dir(cwd);
        }
        let mut child = command.spawn().map_err(|source| Error::Run {
            path: python.to_path_buf(),
            source,
        })?;
        record_start(python);
        let (Some(requests), Some(replies)) = (child.stdin.take(), child.stdout.take()) else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(Error::Evaluator {
                path: python.to_path_buf(),
                message: "no pipes to the process".into(),
            });
        };
        Ok(Evaluator {
            python: python.to_path_buf(),
            child,
            requests: Some(requests),
            replies: BufReader::new(replies),
        })
    }

    /// Evaluates `source` (the `[expr]` text zc.buildout builds) with the
    /// globals of `scope`.
    pub fn evaluate(&mut self, scope: u64, source: &str) -> Result<Outcome, Error> {
        let broken = |message: String| Error::Evaluator {
            path: self.python.clone(),
            message,
        };
        let request = serde_json::json!({ "scope": scope, "source": source });
        let requests = self
            .requests
            .as_mut()
            .ok_or_else(|| broken("the process is gone".into()))?;
        writeln!(requests, "{request}")
            .and_then(|()| requests.flush())
            .map_err(|e| broken(format!("cannot send the expression: {e}")))?;
        let mut line = String::new();
        let read = self
            .replies
            .read_line(&mut line)
            .map_err(|e| broken(format!("cannot read the result: {e}")))?;
        if read == 0 {
            self.requests = None;
            return Err(broken("the process exited while evaluating".into()));
        }
        let reply: Reply = serde_json::from_str(&line)
            .map_err(|e| broken(format!("unreadable result {line:?}: {e}")))?;
        match (reply.value, reply.error) {
            (_, Some(error)) => Ok(Outcome::Raised(error)),
            (Some(value), None) => Ok(Outcome::Value(value)),
            (None, None) => Err(broken(format!("unreadable result {line:?}"))),
        }
    }
}

impl Drop for Evaluator {
    fn drop(&mut self) {
        // End of input ends the loop; an expression still running (a
        // `time.sleep` in a condition that failed to answer) is killed.
        drop(self.requests.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Debug builds append a line to the file named by
/// `BUILDOUT_DEBUG_CONDITION_LOG` for each evaluator started, so that tests
/// can count them.
#[cfg(debug_assertions)]
fn record_start(python: &Path) {
    if let Some(log) = crate::env::var_os(crate::env::BUILDOUT_DEBUG_CONDITION_LOG) {
        let line = format!("start {}\n", python.display());
        let _ = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .and_then(|mut f| f.write_all(line.as_bytes()));
    }
}

/// Release builds record nothing.
#[cfg(not(debug_assertions))]
fn record_start(_python: &Path) {}
