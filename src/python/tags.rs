//! Wheel compatibility tags (PEP 425, manylinux PEP 600, musllinux PEP 656):
//! the ordered list of tags an interpreter accepts, computed in Rust from
//! the probed [`Facts`].
//!
//! The order is `packaging.tags.sys_tags()`'s, most preferred first:
//!
//! 1. CPython: `cpXY-cpXY<flags>-P` for each platform `P` (a debug build
//!    also accepts the non-debug ABI), then `cpXY-abi3-P`, `cpXY-none-P`,
//!    then `cp3m-abi3-P` for each earlier minor down to 2 (no `abi3` on a
//!    free-threaded build). Other implementations: `<impl><ver>-<abi>-P`
//!    for their SOABI-derived ABI, then `-none-P`.
//! 2. `pyXY-none-P`, `py3-none-P`, `py3m-none-P` for m below Y.
//! 3. `cpXY-none-any` (`pp3-none-any` on PyPy), `pyXY-none-any`,
//!    `py3-none-any`, `py3m-none-any` for m below Y.
//!
//! Platforms, most specific first: on glibc Linux `manylinux_2_N_<arch>`
//! from the probed glibc minor down to 2_5 (x86) or 2_17 (other
//! architectures), each legacy alias (`manylinux2014`, `manylinux2010`,
//! `manylinux1`) right after its `2_N`; on musl `musllinux_1_N_<arch>` down
//! to 1_0; then `linux_<arch>`. macOS: `macosx_M_0_<fmt>` down to 11, then
//! `macosx_10_16..4`. Windows and others: the normalised
//! `sysconfig.get_platform()`.
//!
//! Not modelled: the `_manylinux` distributor override module and the ELF
//! checks for hard-float armv7l and i686 (their absence means "compatible",
//! as in packaging when the module is missing).

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use super::Facts;

/// One `python-abi-platform` tag.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tag {
    pub python: String,
    pub abi: String,
    pub platform: String,
}

/// A string that is not `python-abi-platform`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid wheel tag `{0}`: expected `python-abi-platform`")]
pub struct InvalidTag(pub String);

impl Tag {
    pub fn new(python: &str, abi: &str, platform: &str) -> Self {
        Tag {
            python: python.to_string(),
            abi: abi.to_string(),
            platform: platform.to_string(),
        }
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}-{}", self.python, self.abi, self.platform)
    }
}

impl FromStr for Tag {
    type Err = InvalidTag;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parts: Vec<&str> = s.split('-').collect();
        match parts.as_slice() {
            [p, a, pl] if !p.is_empty() && !a.is_empty() && !pl.is_empty() => Ok(Tag::new(
                &p.to_lowercase(),
                &a.to_lowercase(),
                &pl.to_lowercase(),
            )),
            _ => Err(InvalidTag(s.to_string())),
        }
    }
}

/// What the tag list is computed from: a pure value, so tests can state
/// any interpreter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagEnv {
    /// `(major, minor)` of the language version.
    pub python_version: (u32, u32),
    /// The short implementation name: `cp`, `pp`, `graalpy`, ...
    pub implementation: String,
    /// The interpreter version without dots (`311`), for the interpreter tag.
    pub interpreter_version: String,
    /// `Py_DEBUG`.
    pub debug: bool,
    /// `Py_GIL_DISABLED`.
    pub gil_disabled: bool,
    /// `WITH_PYMALLOC` (only used before 3.8).
    pub pymalloc: bool,
    /// `SOABI`, for non-CPython ABIs (`pypy39-pp73-x86_64-linux-gnu`).
    pub soabi: Option<String>,
    /// Platform tags, most specific first.
    pub platforms: Vec<String>,
}

impl TagEnv {
    /// The environment of a probed interpreter.
    pub fn from_facts(facts: &Facts) -> Self {
        let t = &facts.tags;
        let vi = &facts.version_info;
        let implementation = match facts.implementation_name.as_str() {
            "cpython" => "cp".to_string(),
            "pypy" => "pp".to_string(),
            "python" => "py".to_string(),
            "ironpython" => "ip".to_string(),
            "jython" => "jy".to_string(),
            other => other.to_string(),
        };
        let interpreter_version = t
            .py_version_nodot
            .clone()
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| format!("{}{}", vi.major, vi.minor));
        let platforms = platforms(facts);
        TagEnv {
            python_version: (vi.major, vi.minor),
            implementation,
            interpreter_version,
            debug: t.debug,
            gil_disabled: t.gil_disabled,
            pymalloc: t.pymalloc,
            soabi: t.soabi.clone(),
            platforms,
        }
    }
}

/// The platform tags of a probed interpreter, most specific first.
pub fn platforms(facts: &Facts) -> Vec<String> {
    let t = &facts.tags;
    let base = if t.sysconfig_platform.is_empty() {
        format!(
            "{}-{}",
            facts.system().to_lowercase(),
            facts.machine().to_lowercase()
        )
    } else {
        t.sysconfig_platform.clone()
    };
    let base = normalize(&base);
    if let Some(arch) = base.strip_prefix("linux_") {
        let is_32bit = facts.pointer_bits == 32;
        let arch = match (arch, is_32bit) {
            ("x86_64", true) => "i686",
            ("aarch64", true) => "armv8l",
            (a, _) => a,
        };
        let glibc = t.glibc_version.as_deref().and_then(parse_major_minor);
        let musl = t.musl_version.as_deref().and_then(parse_major_minor);
        linux_platforms(arch, glibc, musl)
    } else if base.starts_with("macosx_") {
        let version = t
            .mac_version
            .as_deref()
            .and_then(parse_major_minor)
            .unwrap_or((11, 0));
        let arch = base.rsplit('_').next().unwrap_or("x86_64");
        let arch = if arch == "universal2" || arch == "arm64" {
            if facts.machine() == "arm64" {
                "arm64"
            } else {
                "x86_64"
            }
        } else {
            arch
        };
        mac_platforms(version, arch)
    } else {
        vec![base]
    }
}

fn parse_major_minor(v: &str) -> Option<(u32, u32)> {
    let mut it = v.split('.');
    let major = it.next()?.trim().parse().ok()?;
    let minor = it.next().unwrap_or("0").trim().parse().ok()?;
    Some((major, minor))
}

/// packaging's `_normalize_string`: `-` and `.` become `_`.
fn normalize(s: &str) -> String {
    s.replace(['-', '.', ' '], "_").to_lowercase()
}

/// Linux platform tags for `arch` with the given glibc or musl version.
pub fn linux_platforms(
    arch: &str,
    glibc: Option<(u32, u32)>,
    musl: Option<(u32, u32)>,
) -> Vec<String> {
    let archs: Vec<&str> = if arch == "armv8l" {
        vec!["armv8l", "armv7l"]
    } else {
        vec![arch]
    };
    let mut out = Vec::new();
    const MANYLINUX_ARCHS: &[&str] = &[
        "x86_64",
        "i686",
        "aarch64",
        "armv7l",
        "ppc64",
        "ppc64le",
        "s390x",
        "loongarch64",
        "riscv64",
    ];
    if let Some((2, current)) = glibc
        && archs.iter().any(|a| MANYLINUX_ARCHS.contains(a))
    {
        let oldest = if archs.iter().any(|a| matches!(*a, "x86_64" | "i686")) {
            5
        } else {
            17
        };
        for arch in &archs {
            for minor in (oldest..=current).rev() {
                out.push(format!("manylinux_2_{minor}_{arch}"));
                let legacy = match minor {
                    17 => Some("manylinux2014"),
                    12 => Some("manylinux2010"),
                    5 => Some("manylinux1"),
                    _ => None,
                };
                if let Some(legacy) = legacy {
                    out.push(format!("{legacy}_{arch}"));
                }
            }
        }
    }
    if let Some((major, current)) = musl {
        for arch in &archs {
            for minor in (0..=current).rev() {
                out.push(format!("musllinux_{major}_{minor}_{arch}"));
            }
        }
    }
    for arch in &archs {
        out.push(format!("linux_{arch}"));
    }
    out
}

/// macOS platform tags (packaging's `mac_platforms`) for `arch`
/// (`arm64` or `x86_64`; others get their own name only).
pub fn mac_platforms(version: (u32, u32), arch: &str) -> Vec<String> {
    let mut out = Vec::new();
    if (10..11).contains(&version.0) {
        for minor in (0..=version.1).rev() {
            for f in mac_binary_formats((10, minor), arch) {
                out.push(format!("macosx_10_{minor}_{f}"));
            }
        }
    }
    if version.0 >= 11 {
        for major in (11..=version.0).rev() {
            for f in mac_binary_formats((major, 0), arch) {
                out.push(format!("macosx_{major}_0_{f}"));
            }
        }
        for minor in (4..=16).rev() {
            if arch == "x86_64" {
                for f in mac_binary_formats((10, minor), arch) {
                    out.push(format!("macosx_10_{minor}_{f}"));
                }
            } else {
                out.push(format!("macosx_10_{minor}_universal2"));
            }
        }
    }
    out
}

fn mac_binary_formats(version: (u32, u32), arch: &str) -> Vec<&'static str> {
    let mut formats: Vec<&'static str> = Vec::new();
    match arch {
        "x86_64" => {
            if version < (10, 4) {
                return formats;
            }
            formats.extend([
                "x86_64",
                "intel",
                "fat64",
                "fat32",
                "universal2",
                "universal",
            ]);
        }
        "arm64" => formats.extend(["arm64", "universal2"]),
        _ => {}
    }
    formats
}

/// A fast hash for the tag tables (short keys, no adversary: the keys are
/// the interpreter's own tags): FxHash's multiply-rotate.
#[derive(Debug, Clone, Copy, Default)]
struct FxHasher(u64);

impl std::hash::Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.write_u64(u64::from(i));
    }

    fn write_u16(&mut self, i: u16) {
        self.write_u64(u64::from(i));
    }

    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }

    fn write_u64(&mut self, i: u64) {
        self.0 = (self.0.rotate_left(5) ^ i).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

type Fx = std::hash::BuildHasherDefault<FxHasher>;

/// The ordered list of tags an interpreter accepts, with a fast lookup of
/// each tag's rank (0 is the most preferred).
///
/// A CPython on a recent glibc accepts about 900 tags; they are kept as
/// triples of indices into a table of their few distinct parts, so
/// building the lookup allocates a few dozen strings, not thousands (it
/// is on the path of every run). [`Tags::iter`] spells them out on first
/// use.
#[derive(Debug, Clone)]
pub struct Tags {
    parts: HashMap<String, u16, Fx>,
    rank: HashMap<[u16; 3], usize, Fx>,
    env: TagEnv,
    list: std::sync::OnceLock<Vec<Tag>>,
    free_threaded: bool,
}

impl Tags {
    /// The tags of a probed interpreter.
    pub fn from_facts(facts: &Facts) -> Self {
        Self::new(&TagEnv::from_facts(facts))
    }

    /// The tags of the interpreter `env` describes.
    pub fn new(env: &TagEnv) -> Self {
        let mut parts: HashMap<String, u16, Fx> = HashMap::default();
        let mut rank = HashMap::with_capacity_and_hasher(1024, Fx::default());
        let intern = |s: &str, parts: &mut HashMap<String, u16, Fx>| -> u16 {
            if let Some(&i) = parts.get(s) {
                return i;
            }
            let i = u16::try_from(parts.len()).unwrap_or(u16::MAX);
            parts.insert(s.to_string(), i);
            i
        };
        let mut next = 0;
        compute(env, &mut |python, abi, platform| {
            let key = [
                intern(python, &mut parts),
                intern(abi, &mut parts),
                intern(platform, &mut parts),
            ];
            rank.entry(key).or_insert(next);
            next += 1;
        });
        Tags {
            parts,
            rank,
            env: env.clone(),
            list: std::sync::OnceLock::new(),
            free_threaded: env.gil_disabled,
        }
    }

    fn list(&self) -> &Vec<Tag> {
        self.list.get_or_init(|| {
            let mut out = Vec::new();
            compute(&self.env, &mut |python, abi, platform| {
                out.push(Tag::new(python, abi, platform));
            });
            out
        })
    }

    /// The tags, most preferred first.
    pub fn iter(&self) -> impl Iterator<Item = &Tag> {
        self.list().iter()
    }

    pub fn len(&self) -> usize {
        self.list().len()
    }

    pub fn is_empty(&self) -> bool {
        self.list().is_empty()
    }

    /// The rank of `tag` (0 is best), or `None` when not accepted.
    pub fn rank(&self, python: &str, abi: &str, platform: &str) -> Option<usize> {
        if self.free_threaded && !(abi == "none" || abi == "abi3t" || abi.ends_with('t')) {
            return None;
        }
        let key = [
            *self.parts.get(python)?,
            *self.parts.get(abi)?,
            *self.parts.get(platform)?,
        ];
        self.rank.get(&key).copied()
    }

    /// The best rank any tag of a compressed tag set reaches (the wheel
    /// filename's `py2.py3-none-any` form), or `None` when incompatible.
    pub fn best_rank(
        &self,
        pythons: &[String],
        abis: &[String],
        platforms: &[String],
    ) -> Option<usize> {
        let mut best: Option<usize> = None;
        for p in pythons {
            for a in abis {
                for pl in platforms {
                    if let Some(r) = self.rank(p, a, pl) {
                        best = Some(best.map_or(r, |b| b.min(r)));
                    }
                }
            }
        }
        best
    }
}

/// Calls `emit(python, abi, platform)` for every tag `env` accepts, most
/// preferred first (packaging's `sys_tags`).
fn compute(env: &TagEnv, emit: &mut dyn FnMut(&str, &str, &str)) {
    let (major, minor) = env.python_version;
    let platforms = &env.platforms;
    let interpreter;
    if env.implementation == "cp" {
        interpreter = format!("cp{major}{minor}");
        let version = format!("{major}{minor}");
        let threading = if (major, minor) >= (3, 13) && env.gil_disabled {
            "t"
        } else {
            ""
        };
        let debug = if env.debug { "d" } else { "" };
        let pymalloc = if (major, minor) < (3, 8) && env.pymalloc {
            "m"
        } else {
            ""
        };
        let mut abis = vec![format!("cp{version}{threading}{debug}{pymalloc}")];
        if (major, minor) >= (3, 8) && env.debug {
            abis.push(format!("cp{version}{threading}"));
        }
        for abi in &abis {
            for p in platforms {
                emit(&interpreter, abi, p);
            }
        }
        let use_abi3 = (major, minor) >= (3, 2) && threading.is_empty();
        if use_abi3 {
            for p in platforms {
                emit(&interpreter, "abi3", p);
            }
        }
        for p in platforms {
            emit(&interpreter, "none", p);
        }
        if use_abi3 {
            for m in (2..minor).rev() {
                let older = format!("cp{major}{m}");
                for p in platforms {
                    emit(&older, "abi3", p);
                }
            }
        }
    } else {
        interpreter = format!("{}{}", env.implementation, env.interpreter_version);
        let mut abis = generic_abi(env.soabi.as_deref());
        if !abis.iter().any(|a| a == "none") {
            abis.push("none".to_string());
        }
        for abi in &abis {
            for p in platforms {
                emit(&interpreter, abi, p);
            }
        }
    }
    // compatible_tags()
    let mut py_range = vec![format!("py{major}{minor}"), format!("py{major}")];
    for m in (0..minor).rev() {
        py_range.push(format!("py{major}{m}"));
    }
    for py in &py_range {
        for p in platforms {
            emit(py, "none", p);
        }
    }
    let any_interpreter = match env.implementation.as_str() {
        "cp" => Some(interpreter.clone()),
        "pp" => Some("pp3".to_string()),
        _ => None,
    };
    if let Some(i) = any_interpreter {
        emit(&i, "none", "any");
    }
    for py in &py_range {
        emit(py, "none", "any");
    }
}

/// packaging's `_generic_abi`: the ABI tag from `SOABI`.
fn generic_abi(soabi: Option<&str>) -> Vec<String> {
    let Some(soabi) = soabi.filter(|s| !s.is_empty()) else {
        return Vec::new();
    };
    let parts: Vec<&str> = soabi.split('-').collect();
    if soabi.starts_with("cpython") {
        return vec![format!("cp{}", parts.get(1).copied().unwrap_or(""))];
    }
    if (soabi.starts_with("pypy") || soabi.starts_with("graalpy")) && parts.len() >= 2 {
        return vec![normalize(&format!("{}_{}", parts[0], parts[1]))];
    }
    vec![normalize(soabi)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::python::interpreter::tests::fake_facts;

    fn cp311_linux() -> Tags {
        Tags::from_facts(&fake_facts())
    }

    #[test]
    fn cpython_linux_order_matches_packaging_shape() {
        let tags: Vec<String> = cp311_linux().iter().map(|t| t.to_string()).collect();
        assert_eq!(tags[0], "cp311-cp311-manylinux_2_36_x86_64");
        assert_eq!(tags[1], "cp311-cp311-manylinux_2_35_x86_64");
        let i2014 = tags
            .iter()
            .position(|t| t == "cp311-cp311-manylinux2014_x86_64")
            .unwrap();
        assert_eq!(tags[i2014 - 1], "cp311-cp311-manylinux_2_17_x86_64");
        let i1 = tags
            .iter()
            .position(|t| t == "cp311-cp311-manylinux1_x86_64")
            .unwrap();
        assert_eq!(tags[i1 - 1], "cp311-cp311-manylinux_2_5_x86_64");
        assert_eq!(tags[i1 + 1], "cp311-cp311-linux_x86_64");
        assert_eq!(tags[i1 + 2], "cp311-abi3-manylinux_2_36_x86_64");
        assert!(tags.contains(&"cp32-abi3-linux_x86_64".to_string()));
        assert!(!tags.iter().any(|t| t.starts_with("cp31-abi3")));
        let n = tags.len();
        assert_eq!(tags[n - 1], "py30-none-any");
        assert_eq!(tags[n - 14], "cp311-none-any");
        assert_eq!(tags[n - 13], "py311-none-any");
        assert_eq!(tags[n - 12], "py3-none-any");
        assert_eq!(tags[n - 11], "py310-none-any");
    }

    #[test]
    fn rank_prefers_specific_tags_and_rejects_foreign_ones() {
        let tags = cp311_linux();
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let native = tags
            .best_rank(
                &s(&["cp311"]),
                &s(&["cp311"]),
                &s(&["manylinux_2_17_x86_64", "manylinux2014_x86_64"]),
            )
            .unwrap();
        let pure = tags
            .best_rank(&s(&["py2", "py3"]), &s(&["none"]), &s(&["any"]))
            .unwrap();
        assert!(native < pure);
        assert_eq!(
            tags.best_rank(&s(&["cp312"]), &s(&["cp312"]), &s(&["linux_x86_64"])),
            None
        );
        assert_eq!(
            tags.best_rank(&s(&["cp311"]), &s(&["cp311"]), &s(&["win_amd64"])),
            None
        );
        assert_eq!(
            tags.best_rank(&s(&["py2"]), &s(&["none"]), &s(&["any"])),
            None
        );
        assert!(tags.rank("cp39", "abi3", "manylinux_2_28_x86_64").is_some());
    }

    #[test]
    fn aarch64_stops_at_2_17_and_musl_lists_musllinux() {
        let p = linux_platforms("aarch64", Some((2, 28)), None);
        assert_eq!(p.first().unwrap(), "manylinux_2_28_aarch64");
        assert_eq!(
            &p[p.len() - 3..],
            [
                "manylinux_2_17_aarch64",
                "manylinux2014_aarch64",
                "linux_aarch64"
            ]
        );
        let m = linux_platforms("x86_64", None, Some((1, 2)));
        assert_eq!(
            m,
            [
                "musllinux_1_2_x86_64",
                "musllinux_1_1_x86_64",
                "musllinux_1_0_x86_64",
                "linux_x86_64"
            ]
        );
        let arm = linux_platforms("armv8l", None, None);
        assert_eq!(arm, ["linux_armv8l", "linux_armv7l"]);
    }

    #[test]
    fn free_threaded_has_no_abi3_and_rejects_gil_abis() {
        let env = TagEnv {
            python_version: (3, 13),
            implementation: "cp".into(),
            interpreter_version: "313".into(),
            debug: false,
            gil_disabled: true,
            pymalloc: true,
            soabi: None,
            platforms: vec!["linux_x86_64".into()],
        };
        let tags = Tags::new(&env);
        let list: Vec<String> = tags.iter().map(|t| t.to_string()).collect();
        assert_eq!(list[0], "cp313-cp313t-linux_x86_64");
        assert_eq!(list[1], "cp313-none-linux_x86_64");
        assert!(!list.iter().any(|t| t.contains("abi3")));
        assert!(tags.rank("cp313", "cp313", "linux_x86_64").is_none());
    }

    #[test]
    fn pypy_uses_soabi_and_pp3_any() {
        let env = TagEnv {
            python_version: (3, 10),
            implementation: "pp".into(),
            interpreter_version: "310".into(),
            debug: false,
            gil_disabled: false,
            pymalloc: false,
            soabi: Some("pypy310-pp73-x86_64-linux-gnu".into()),
            platforms: vec!["linux_x86_64".into()],
        };
        let list: Vec<String> = Tags::new(&env).iter().map(|t| t.to_string()).collect();
        assert_eq!(list[0], "pp310-pypy310_pp73-linux_x86_64");
        assert_eq!(list[1], "pp310-none-linux_x86_64");
        assert!(list.contains(&"pp3-none-any".to_string()));
    }

    #[test]
    fn mac_arm64_platforms() {
        let p = mac_platforms((14, 2), "arm64");
        assert_eq!(
            &p[..3],
            [
                "macosx_14_0_arm64",
                "macosx_14_0_universal2",
                "macosx_13_0_arm64"
            ]
        );
        assert_eq!(p.last().unwrap(), "macosx_10_4_universal2");
    }

    /// The one test that runs Python: our list for the machine's `python3`
    /// equals `packaging.tags.sys_tags()` (or pip's vendored copy).
    #[test]
    fn real_python3_tags_equal_packaging_sys_tags() {
        let cache = tempfile::tempdir().unwrap();
        let facts = crate::python::interpreter::probe(None, Some(cache.path())).expect("python3");
        let script = "import sys\ntry:\n    from packaging import tags\nexcept ImportError:\n    try:\n        from pip._vendor.packaging import tags\n    except ImportError:\n        sys.exit(3)\nfor t in tags.sys_tags():\n    print(t)\n";
        let out = std::process::Command::new(&facts.executable)
            .args(["-I", "-c", script])
            .output()
            .unwrap();
        if out.status.code() == Some(3) {
            // Neither packaging nor pip is installed: nothing to compare with.
            return;
        }
        let expected: Vec<String> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect();
        // packaging before 22 (pip's vendored 21.3 on older Pythons) has no
        // `cpXY-none-any`; newer packaging and uv emit it before `pyXY-none-any`.
        let old_packaging = !expected
            .iter()
            .any(|t| t.starts_with("cp") && t.ends_with("-none-any"));
        let ours: Vec<String> = Tags::from_facts(&facts)
            .iter()
            .map(|t| t.to_string())
            .filter(|t| !(old_packaging && t.starts_with("cp") && t.ends_with("-none-any")))
            .collect();
        let first_difference =
            (0..ours.len().max(expected.len())).find(|&i| ours.get(i) != expected.get(i));
        if let Some(i) = first_difference {
            panic!(
                "tag {i} differs: ours {:?}, packaging {:?} ({} vs {} tags)",
                ours.get(i),
                expected.get(i),
                ours.len(),
                expected.len()
            );
        }
    }
}
