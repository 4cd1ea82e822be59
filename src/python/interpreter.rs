//! Facts about a Python interpreter, from one probe run, cached on disk.
//!
//! The probe runs `<python> -I -B -c <script>` once; the script prints one
//! JSON object ([`Facts`]): `sys.version_info`, `sys.version`, platform
//! names, byte order, pointer size, the PEP 508 marker environment,
//! `sys.executable`, prefixes and the bare `sys.path` (`-I`: no script
//! directory, no user site, no `PYTHON*` variables).
//!
//! The result is cached as JSON in `~/.buildout/cache/interpreters/`, one
//! file per interpreter, named by a digest of the interpreter's path, real
//! path, ctime and size; the file repeats that key, and a hit never runs
//! Python. Without `HOME` there is no cache. Cache read and write failures
//! are not errors: the probe simply runs again.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::Error;
use super::marker::MarkerEnvironment;

/// Bump when the probe script or [`Facts`] change: old cache entries are
/// then ignored.
const CACHE_SCHEMA: u32 = 2;

const PROBE_SCRIPT: &str = r#"
import json, os, platform, struct, sys, sysconfig

def config_var(name):
    try:
        return sysconfig.get_config_var(name)
    except Exception:
        return None

def glibc_version():
    try:
        v = os.confstr('CS_GNU_LIBC_VERSION')
    except (AttributeError, OSError, ValueError):
        return None
    parts = (v or '').split()
    return parts[1] if len(parts) == 2 and parts[0] == 'glibc' else None

def musl_version():
    import glob, re, subprocess
    for loader in sorted(glob.glob('/lib/ld-musl-*.so.1')):
        try:
            p = subprocess.run([loader], stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, universal_newlines=True)
        except OSError:
            continue
        m = re.search(r'Version (\d+)\.(\d+)', p.stderr)
        if m:
            return m.group(1) + '.' + m.group(2)
    return None

def tag_facts():
    debug = config_var('Py_DEBUG')
    if debug is None:
        import importlib.machinery
        debug = hasattr(sys, 'gettotalrefcount') or '_d.pyd' in importlib.machinery.EXTENSION_SUFFIXES
    glibc = glibc_version() if sys.platform.startswith('linux') else None
    musl = musl_version() if sys.platform.startswith('linux') and glibc is None else None
    mac = platform.mac_ver()[0] if sys.platform == 'darwin' else None
    return {
        'sysconfig_platform': sysconfig.get_platform(),
        'soabi': config_var('SOABI'),
        'py_version_nodot': config_var('py_version_nodot'),
        'debug': bool(debug),
        'gil_disabled': bool(config_var('Py_GIL_DISABLED')),
        'pymalloc': config_var('WITH_PYMALLOC') is not False and config_var('WITH_PYMALLOC') != 0,
        'glibc_version': glibc,
        'musl_version': musl,
        'mac_version': mac,
    }

def full(info):
    v = '%d.%d.%d' % (info.major, info.minor, info.micro)
    if info.releaselevel != 'final':
        v += info.releaselevel[0] + str(info.serial)
    return v

impl = getattr(sys, 'implementation', None)
vi = sys.version_info
facts = {
    'version_info': {
        'major': vi[0], 'minor': vi[1], 'micro': vi[2],
        'releaselevel': vi[3], 'serial': vi[4],
    },
    'version': sys.version,
    'platform': sys.platform,
    'os_name': os.name,
    'byteorder': sys.byteorder,
    'pointer_bits': struct.calcsize('P') * 8,
    'maxsize': sys.maxsize,
    'implementation_name': impl.name if impl else platform.python_implementation().lower(),
    'python_version_tuple': list(platform.python_version_tuple()),
    'markers': {
        'implementation_name': impl.name if impl else '',
        'implementation_version': full(impl.version) if impl else '0',
        'os_name': os.name,
        'platform_machine': platform.machine(),
        'platform_python_implementation': platform.python_implementation(),
        'platform_release': platform.release(),
        'platform_system': platform.system(),
        'platform_version': platform.version(),
        'python_full_version': platform.python_version(),
        'python_version': '.'.join(platform.python_version_tuple()[:2]),
        'sys_platform': sys.platform,
    },
    'executable': sys.executable or '',
    'prefix': sys.prefix,
    'base_prefix': getattr(sys, 'base_prefix', sys.prefix),
    'sys_path': [p for p in sys.path if p],
    'tags': tag_facts(),
}
sys.stdout.write(json.dumps(facts))
"#;

/// `sys.version_info`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionInfo {
    pub major: u32,
    pub minor: u32,
    pub micro: u32,
    /// `alpha`, `beta`, `candidate` or `final`.
    pub releaselevel: String,
    pub serial: u32,
}

/// What one probe of an interpreter reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Facts {
    /// `sys.version_info`.
    pub version_info: VersionInfo,
    /// `sys.version` (the long text, e.g. `3.11.7 (main, ...) [GCC ...]`).
    pub version: String,
    /// `sys.platform`.
    pub platform: String,
    /// `os.name`.
    pub os_name: String,
    /// `sys.byteorder` (`little` or `big`).
    pub byteorder: String,
    /// `struct.calcsize('P') * 8`.
    pub pointer_bits: u32,
    /// `sys.maxsize`.
    pub maxsize: i64,
    /// `sys.implementation.name` (`cpython`, `pypy`, ...).
    pub implementation_name: String,
    /// `platform.python_version_tuple()`.
    pub python_version_tuple: Vec<String>,
    /// The PEP 508 marker environment.
    pub markers: MarkerEnvironment,
    /// `sys.executable`.
    pub executable: String,
    /// `sys.prefix`.
    pub prefix: String,
    /// `sys.base_prefix`.
    pub base_prefix: String,
    /// `sys.path` of an isolated interpreter, without empty entries.
    pub sys_path: Vec<String>,
    /// What the compatible wheel tags are computed from
    /// ([`crate::python::tags`]).
    #[serde(default)]
    pub tags: TagFacts,
}

/// Interpreter facts that only matter for wheel compatibility tags.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagFacts {
    /// `sysconfig.get_platform()` (`linux-x86_64`, `macosx-11.0-arm64`,
    /// `win-amd64`).
    pub sysconfig_platform: String,
    /// `sysconfig.get_config_var('SOABI')` (`cpython-311-x86_64-linux-gnu`).
    pub soabi: Option<String>,
    /// `sysconfig.get_config_var('py_version_nodot')` (`311`).
    pub py_version_nodot: Option<String>,
    /// A debug build (`Py_DEBUG`, or its heuristics).
    pub debug: bool,
    /// A free-threaded build (`Py_GIL_DISABLED`).
    pub gil_disabled: bool,
    /// `WITH_PYMALLOC` (only matters before 3.8: the `m` ABI flag).
    pub pymalloc: bool,
    /// The glibc version (`2.36`) from `os.confstr('CS_GNU_LIBC_VERSION')`.
    pub glibc_version: Option<String>,
    /// The musl version (`1.2`) reported by the musl loader.
    pub musl_version: Option<String>,
    /// `platform.mac_ver()[0]` on macOS.
    pub mac_version: Option<String>,
}

impl Facts {
    /// `sys.implementation.cache_tag` (`cpython-311`): what separates
    /// bytecode, and the installs that hold it, per Python version.
    pub fn cache_tag(&self) -> String {
        format!(
            "{}-{}{}",
            self.implementation_name, self.version_info.major, self.version_info.minor
        )
    }

    /// `platform.machine()`.
    pub fn machine(&self) -> &str {
        &self.markers.platform_machine
    }

    /// `platform.system()`.
    pub fn system(&self) -> &str {
        &self.markers.platform_system
    }

    /// `platform.release()`.
    pub fn release(&self) -> &str {
        &self.markers.platform_release
    }

    /// `platform.python_implementation()`.
    pub fn python_implementation(&self) -> &str {
        &self.markers.platform_python_implementation
    }

    /// `platform.python_version()` (the marker `python_full_version`).
    pub fn platform_python_version(&self) -> &str {
        &self.markers.python_full_version
    }
}

/// `~/.buildout/cache/interpreters`, or `None` without `HOME`.
pub fn default_cache_dir() -> Option<PathBuf> {
    crate::env::home_dir().map(|home| home.join(".buildout").join("cache").join("interpreters"))
}

/// Finds the interpreter (`None`: `python3` on PATH, resolved to its real
/// path; a bare name: looked up on PATH) and returns its facts, from the
/// cache in `cache_dir` when fresh, otherwise by running it.
pub fn probe(executable: Option<&Path>, cache_dir: Option<&Path>) -> Result<Facts, Error> {
    let path = locate(executable)?;
    let real = std::fs::canonicalize(&path).map_err(|source| Error::Run {
        path: path.clone(),
        source,
    })?;
    let key = cache_dir.and_then(|_| CacheKey::new(&path, &real));
    if let (Some(dir), Some(key)) = (cache_dir, &key)
        && let Some(facts) = key.read(dir)
    {
        return Ok(facts);
    }
    let facts = run_probe(&path)?;
    if let (Some(dir), Some(key)) = (cache_dir, &key) {
        key.write(dir, &facts);
    }
    Ok(facts)
}

/// Whether [`probe`] would answer from its cache (without running the
/// interpreter): a few file checks, for callers that want to overlap
/// something else with a probe that runs.
pub fn probe_is_cached(executable: Option<&Path>, cache_dir: Option<&Path>) -> bool {
    let Some(dir) = cache_dir else {
        return false;
    };
    let Ok(path) = locate(executable) else {
        return false;
    };
    std::fs::canonicalize(&path)
        .ok()
        .and_then(|real| CacheKey::new(&path, &real))
        .is_some_and(|key| key.file(dir).is_file())
}

/// The path to run: given paths are made absolute; `None` and bare names
/// are searched on PATH (`None` then resolves symlinks).
fn locate(executable: Option<&Path>) -> Result<PathBuf, Error> {
    match executable {
        None => {
            let found = search_path("python3").ok_or(Error::NotOnPath)?;
            std::fs::canonicalize(&found).map_err(|source| Error::Run {
                path: found,
                source,
            })
        }
        Some(exe) if exe.components().count() == 1 && !exe.is_absolute() => {
            let name = exe.to_string_lossy();
            search_path(&name).ok_or_else(|| Error::NameNotOnPath {
                name: name.into_owned(),
            })
        }
        Some(exe) => std::path::absolute(exe).map_err(|source| Error::Run {
            path: exe.to_path_buf(),
            source,
        }),
    }
}

fn search_path(name: &str) -> Option<PathBuf> {
    let path = crate::env::var_os(crate::env::PATH)?;
    std::env::split_paths(&path)
        .filter(|dir| !dir.as_os_str().is_empty())
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    let Ok(meta) = std::fs::metadata(path) else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        meta.is_file() && meta.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    {
        meta.is_file()
    }
}

fn run_probe(path: &Path) -> Result<Facts, Error> {
    let output = Command::new(path)
        .args(["-I", "-B", "-c", PROBE_SCRIPT])
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|source| Error::Run {
            path: path.to_path_buf(),
            source,
        })?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let last = stderr.trim().lines().last().unwrap_or("").to_string();
        return Err(Error::Failed {
            path: path.to_path_buf(),
            status: output.status,
            stderr: last,
        });
    }
    serde_json::from_slice(&output.stdout).map_err(|source| Error::BadOutput {
        path: path.to_path_buf(),
        source,
    })
}

/// The interpreters (as invoked) that have an entry in `cache_dir`.
pub fn cached_interpreters(cache_dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(cache_dir) else {
        return Vec::new();
    };
    let mut found: Vec<PathBuf> = entries
        .flatten()
        .filter_map(|e| std::fs::read(e.path()).ok())
        .filter_map(|bytes| serde_json::from_slice::<CacheEntry>(&bytes).ok())
        .map(|entry| entry.key.path)
        .collect();
    found.sort();
    found.dedup();
    found
}

/// What makes a cache entry valid: the interpreter as invoked, the file it
/// resolves to, and that file's ctime and size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct CacheKey {
    schema: u32,
    path: PathBuf,
    real_path: PathBuf,
    ctime_sec: i64,
    ctime_nsec: i64,
    size: u64,
}

#[derive(Serialize, Deserialize)]
struct CacheEntry {
    key: CacheKey,
    facts: Facts,
}

impl CacheKey {
    fn new(path: &Path, real: &Path) -> Option<Self> {
        let meta = std::fs::metadata(real).ok()?;
        #[cfg(unix)]
        let (ctime_sec, ctime_nsec) = {
            use std::os::unix::fs::MetadataExt;
            (meta.ctime(), meta.ctime_nsec())
        };
        #[cfg(not(unix))]
        let (ctime_sec, ctime_nsec) = {
            let modified = meta.modified().ok()?;
            let d = modified.duration_since(std::time::UNIX_EPOCH).ok()?;
            (
                i64::try_from(d.as_secs()).ok()?,
                i64::from(d.subsec_nanos()),
            )
        };
        Some(CacheKey {
            schema: CACHE_SCHEMA,
            path: path.to_path_buf(),
            real_path: real.to_path_buf(),
            ctime_sec,
            ctime_nsec,
            size: meta.len(),
        })
    }

    fn file(&self, dir: &Path) -> PathBuf {
        let mut hasher = Sha256::new();
        hasher.update(self.path.as_os_str().as_encoded_bytes());
        hasher.update([0]);
        hasher.update(self.real_path.as_os_str().as_encoded_bytes());
        let digest = hasher.finalize();
        let name: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
        dir.join(format!("{name}.json"))
    }

    fn read(&self, dir: &Path) -> Option<Facts> {
        use std::os::unix::fs::PermissionsExt;
        // Facts decide the `#!` of scripts: an entry other users could have
        // written (a cache made under `umask 000`) is probed again instead.
        let file = self.file(dir);
        let writable_by_others = |p: &Path, bits: u32| {
            std::fs::metadata(p).map_or(true, |m| m.permissions().mode() & bits != 0)
        };
        if writable_by_others(dir, 0o002) || writable_by_others(&file, 0o022) {
            return None;
        }
        let bytes = std::fs::read(&file).ok()?;
        let entry: CacheEntry = serde_json::from_slice(&bytes).ok()?;
        (entry.key == *self).then_some(entry.facts)
    }

    /// Best effort: a cache that cannot be written only costs a probe later.
    fn write(&self, dir: &Path, facts: &Facts) {
        let entry = CacheEntry {
            key: self.clone(),
            facts: facts.clone(),
        };
        let Ok(bytes) = serde_json::to_vec_pretty(&entry) else {
            return;
        };
        // Never writable by other users, whatever the umask.
        let _ = crate::fs::write_cache_file(&self.file(dir), &bytes);
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Facts of a CPython 3.11.7 on x86_64 Linux, for tests.
    pub(crate) fn fake_facts() -> Facts {
        Facts {
            version_info: VersionInfo {
                major: 3,
                minor: 11,
                micro: 7,
                releaselevel: "final".into(),
                serial: 0,
            },
            version: "3.11.7 (main, Jan  1 2024, 00:00:00) [GCC 12.2.0]".into(),
            platform: "linux".into(),
            os_name: "posix".into(),
            byteorder: "little".into(),
            pointer_bits: 64,
            maxsize: i64::MAX,
            implementation_name: "cpython".into(),
            python_version_tuple: vec!["3".into(), "11".into(), "7".into()],
            markers: MarkerEnvironment {
                implementation_name: "cpython".into(),
                implementation_version: "3.11.7".into(),
                os_name: "posix".into(),
                platform_machine: "x86_64".into(),
                platform_python_implementation: "CPython".into(),
                platform_release: "6.18.44-fc-v769".into(),
                platform_system: "Linux".into(),
                platform_version: "#1 SMP PREEMPT_DYNAMIC @0".into(),
                python_full_version: "3.11.7".into(),
                python_version: "3.11".into(),
                sys_platform: "linux".into(),
            },
            executable: "/usr/bin/python3.11".into(),
            prefix: "/usr".into(),
            base_prefix: "/usr".into(),
            sys_path: vec![
                "/usr/lib/python311.zip".into(),
                "/usr/lib/python3.11".into(),
            ],
            tags: TagFacts {
                sysconfig_platform: "linux-x86_64".into(),
                soabi: Some("cpython-311-x86_64-linux-gnu".into()),
                py_version_nodot: Some("311".into()),
                debug: false,
                gil_disabled: false,
                pymalloc: true,
                glibc_version: Some("2.36".into()),
                musl_version: None,
                mac_version: None,
            },
        }
    }

    #[test]
    fn facts_round_trip_through_json() {
        let facts = fake_facts();
        let json = serde_json::to_string(&facts).unwrap();
        assert_eq!(serde_json::from_str::<Facts>(&json).unwrap(), facts);
    }

    #[test]
    fn missing_interpreter_is_a_clear_error() {
        let err = probe(Some(Path::new("/nonexistent/bin/python3")), None).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("cannot run python interpreter `/nonexistent/bin/python3`: "),
            "{err}"
        );
    }

    #[test]
    fn failing_interpreter_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = probe(Some(Path::new("/bin/false")), Some(dir.path())).unwrap_err();
        assert!(
            matches!(err, Error::Failed { .. } | Error::Run { .. }),
            "{err}"
        );
        assert!(err.to_string().contains("`/bin/false`") || err.to_string().contains("false"));
    }

    /// The one test that runs the real `python3`: the probe agrees with what
    /// `python3 -c` prints, and a second probe is served from the cache.
    #[test]
    fn real_python3_probe_agrees_and_is_cached() {
        let cache = tempfile::tempdir().unwrap();
        let facts = probe(None, Some(cache.path())).expect("python3 on PATH");
        let python = locate(None).unwrap();
        let out = Command::new(&python)
            .args([
                "-I",
                "-c",
                "import sys, os, platform, struct; print('\\n'.join(map(str, [\
                 tuple(sys.version_info), sys.version.splitlines()[0], sys.platform, os.name, \
                 sys.byteorder, struct.calcsize('P')*8, platform.machine(), platform.system(), \
                 platform.python_version(), sys.prefix, sys.maxsize])))",
            ])
            .output()
            .unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let vi = &facts.version_info;
        assert_eq!(
            lines[0],
            format!(
                "({}, {}, {}, '{}', {})",
                vi.major, vi.minor, vi.micro, vi.releaselevel, vi.serial
            )
        );
        assert_eq!(lines[1], facts.version.lines().next().unwrap());
        assert_eq!(lines[2], facts.platform);
        assert_eq!(lines[3], facts.os_name);
        assert_eq!(lines[4], facts.byteorder);
        assert_eq!(lines[5], facts.pointer_bits.to_string());
        assert_eq!(lines[6], facts.machine());
        assert_eq!(lines[7], facts.system());
        assert_eq!(lines[8], facts.platform_python_version());
        assert_eq!(lines[9], facts.prefix);
        assert_eq!(lines[10], facts.maxsize.to_string());
        assert!(!facts.sys_path.is_empty());

        // The cache entry exists and is used: corrupt nothing, but check that
        // a read with the same key returns the same facts without running.
        let real = std::fs::canonicalize(&python).unwrap();
        let key = CacheKey::new(&python, &real).unwrap();
        assert_eq!(key.read(cache.path()), Some(facts.clone()));
    }

    #[test]
    fn cache_hit_does_not_run_python() {
        // A fake "interpreter" that is not runnable: only the cache can answer.
        let dir = tempfile::tempdir().unwrap();
        let exe = dir.path().join("python3");
        std::fs::write(&exe, "not a program").unwrap();
        let real = std::fs::canonicalize(&exe).unwrap();
        let cache = dir.path().join("cache");
        let key = CacheKey::new(&real, &real).unwrap();
        let mut facts = fake_facts();
        facts.executable = real.display().to_string();
        key.write(&cache, &facts);
        assert_eq!(probe(Some(&real), Some(&cache)).unwrap(), facts);
        // A changed interpreter (new size, new ctime) invalidates the entry.
        std::fs::write(&exe, "not a program either").unwrap();
        assert!(probe(Some(&real), Some(&cache)).is_err());
    }

    #[test]
    fn cache_entries_other_users_could_write_are_not_trusted() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let real = std::fs::canonicalize(dir.path()).unwrap().join("python3");
        std::fs::write(&real, "not a program").unwrap();
        let cache = dir.path().join("cache");
        let key = CacheKey::new(&real, &real).unwrap();
        key.write(&cache, &fake_facts());
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&cache) & 0o022, 0);
        assert_eq!(mode(&key.file(&cache)) & 0o022, 0);
        assert_eq!(key.read(&cache), Some(fake_facts()));
        let set = |p: &Path, m: u32| {
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
        };
        set(&key.file(&cache), 0o666);
        assert_eq!(key.read(&cache), None);
        set(&key.file(&cache), 0o644);
        set(&cache, 0o777);
        assert_eq!(key.read(&cache), None);
    }
}
