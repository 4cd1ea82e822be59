//! Bytecode for installed trees: [`Compiler`] runs one interpreter with a
//! pool of workers that compiles trees as they are submitted, and
//! [`compile_trees`] compiles a few trees and waits for them.

use super::{Error, Result};
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// The bytecode compiler: one interpreter run with a pool of worker
/// processes (one per core), fed trees while they are being unpacked and
/// reporting each tree as soon as all of its files are compiled, so that
/// compiling overlaps unpacking and hashing.
///
/// Each tree is given with the path where it will live: the `.pyc` files
/// record that final path (`dfile`), so they do not depend on the random
/// working directory and the object's contents are reproducible. Hash-based
/// `unchecked-hash` files (PEP 552): the store is immutable, so no check is
/// needed and a read-only object never triggers recompilation. Files that do
/// not compile (Python 2 sources, templates shipped as `.py`) get no
/// bytecode, as with `compileall`.
pub struct Compiler {
    python: String,
    child: std::process::Child,
    stdin: std::sync::Mutex<Option<std::process::ChildStdin>>,
    stdout: std::sync::Mutex<std::io::BufReader<std::process::ChildStdout>>,
    stderr: fs::File,
}

/// The compiler's Python side. It must never outlive buildout: a killed
/// run's stage is deleted by the next `gc` or `store verify`, and a worker
/// still writing `.pyc` files into it would race that cleanup. Without
/// `unsafe` (no `PR_SET_PDEATHSIG` in a `pre_exec`), the driver notices its
/// parent's death itself: its input pipe reaches end-of-file (the normal
/// end, too) and `os.getppid()` changes; it then kills its workers and
/// exits without writing anything more. Workers check before every file
/// that their parent (the driver, or the fork server) is still the one
/// they started with, and the driver polls its parent while it waits for
/// them.
const DRIVER: &str = r#"
import concurrent.futures, json, os, py_compile, sys, threading
mode = py_compile.PycInvalidationMode.UNCHECKED_HASH
parent = os.getppid()
owner = None
def adopt():
    global owner
    owner = os.getppid()
def many(chunk):
    for src, dst in chunk:
        if owner is not None and os.getppid() != owner:
            os._exit(1)
        try:
            py_compile.compile(src, dfile=dst, doraise=True, invalidation_mode=mode)
        except Exception:
            pass
def jobs(src, dst):
    found = []
    for root, dirs, files in os.walk(src):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for f in files:
            if f.endswith(".py"):
                p = os.path.join(root, f)
                found.append((p, dst + p[len(src):]))
    return found
lock = threading.Lock()
pending = {}
futures = set()
pool = None
def orphaned():
    if os.getppid() == parent:
        return False
    for p in list(getattr(pool, "_processes", None) or {}):
        try:
            os.kill(p, 9)
        except OSError:
            pass
    os._exit(1)
def report(tree):
    with lock:
        try:
            sys.stdout.write("%d\n" % tree)
            sys.stdout.flush()
        except OSError:
            orphaned()
            raise
def finished(tree):
    def callback(future):
        future.result()
        with lock:
            pending[tree] -= 1
            last = pending[tree] == 0
        if last:
            report(tree)
    return callback
workers = os.cpu_count() or 1
if workers > 1:
    pool = concurrent.futures.ProcessPoolExecutor(workers, initializer=adopt)
for line in sys.stdin:
    orphaned()
    tree, src, dst = json.loads(line)
    found = jobs(src, dst)
    chunks = [found[i:i + 24] for i in range(0, len(found), 24)]
    if not chunks:
        report(tree)
    elif pool is None:
        for k in range(0, len(found), 24):
            orphaned()
            many(found[k:k + 24])
        report(tree)
    else:
        with lock:
            pending[tree] = len(chunks)
        for chunk in chunks:
            f = pool.submit(many, chunk)
            futures.add(f)
            f.add_done_callback(finished(tree))
orphaned()
while futures:
    done, futures = concurrent.futures.wait(futures, timeout=0.05)
    orphaned()
if pool is not None:
    pool.shutdown(wait=True)
"#;

impl Compiler {
    /// Starts the compiler for `python`.
    pub fn start(python: &str) -> Result<Self> {
        let failed = |e: std::io::Error| Error::Compile {
            python: python.to_string(),
            message: e.to_string(),
        };
        let stderr = tempfile::tempfile().map_err(failed)?;
        let mut child = std::process::Command::new(python)
            .args(["-E", "-s", "-c", DRIVER])
            .env_remove("PYTHONPATH")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(stderr.try_clone().map_err(failed)?)
            .spawn()
            .map_err(failed)?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().map(std::io::BufReader::new);
        let stdout = stdout.ok_or_else(|| failed(std::io::Error::other("no pipe")))?;
        Ok(Self {
            python: python.to_string(),
            child,
            stdin: std::sync::Mutex::new(stdin),
            stdout: std::sync::Mutex::new(stdout),
            stderr,
        })
    }

    fn failed(&self, message: String) -> Error {
        Error::Compile {
            python: self.python.clone(),
            message,
        }
    }

    /// Queues tree `id` (at `tree` now, at `dfile` once in the store).
    /// Callable from any thread.
    pub fn submit(&self, id: usize, tree: &Path, dfile: &str) -> Result<()> {
        let mut line = serde_json::to_vec(&(id, tree.to_string_lossy(), dfile))
            .map_err(|e| self.failed(e.to_string()))?;
        line.push(b'\n');
        let mut stdin = self.stdin.lock().unwrap_or_else(|e| e.into_inner());
        match stdin.as_mut() {
            Some(pipe) => pipe
                .write_all(&line)
                .map_err(|e| self.failed(e.to_string())),
            None => Err(self.failed("the compiler's input is closed".into())),
        }
    }

    /// Says that no more trees come.
    pub fn close(&self) {
        self.stdin.lock().unwrap_or_else(|e| e.into_inner()).take();
    }

    /// The next tree whose bytecode is complete, or `None` once the
    /// compiler has reported every tree and its input is closed.
    pub fn next_done(&self) -> Result<Option<usize>> {
        use std::io::BufRead;
        let mut line = String::new();
        let n = self
            .stdout
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .read_line(&mut line)
            .map_err(|e| self.failed(e.to_string()))?;
        if n == 0 {
            return Ok(None);
        }
        line.trim()
            .parse()
            .map(Some)
            .map_err(|_| self.failed(format!("unexpected output `{}`", line.trim())))
    }

    /// Waits for the compiler to exit; an error if it failed.
    pub fn finish(mut self) -> Result<()> {
        self.close();
        let status = self.child.wait().map_err(|e| self.failed(e.to_string()))?;
        if status.success() {
            return Ok(());
        }
        let mut text = String::new();
        use std::io::Seek;
        let _ = self.stderr.seek(std::io::SeekFrom::Start(0));
        let _ = self.stderr.read_to_string(&mut text);
        Err(self.failed(text.trim().to_string()))
    }
}

impl Drop for Compiler {
    fn drop(&mut self) {
        self.close();
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// Compiles the bytecode of the given trees, each a pair (where it is now,
/// where it will live), and waits for all of them ([`Compiler`]).
pub fn compile_trees(python: &str, trees: &[(PathBuf, String)]) -> Result<()> {
    if trees.is_empty() {
        return Ok(());
    }
    let compiler = Compiler::start(python)?;
    for (id, (tree, dfile)) in trees.iter().enumerate() {
        compiler.submit(id, tree, dfile)?;
    }
    compiler.close();
    let mut done = 0;
    while compiler.next_done()?.is_some() {
        done += 1;
    }
    compiler.finish()?;
    if done < trees.len() {
        return Err(Error::Compile {
            python: python.to_string(),
            message: format!("stopped after {done} of {} trees", trees.len()),
        });
    }
    Ok(())
}
