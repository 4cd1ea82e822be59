//! In-memory wheels and sdists for tests.
//!
//! ```ignore
//! let dist = Wheel::new("a", "1.0").dep("b>=1").extra("x", "c")
//!     .requires_python(">=3.8").module("a/__init__.py", "X = 1").build();
//! ```
//!
//! A wheel has `.dist-info/METADATA`, `WHEEL`, `entry_points.txt` (when
//! entry points are given) and a correct `RECORD` (urlsafe-base64 sha256,
//! sizes). [`Sdist`] builds a `.tar.gz` with `PKG-INFO`, `pyproject.toml`
//! and an in-tree PEP 517 backend, so building it needs no network.

use std::io::Write;

use base64::Engine;
use sha2::{Digest, Sha256};

/// A built distribution file, ready to publish.
#[derive(Debug, Clone)]
pub struct Dist {
    pub filename: String,
    pub bytes: Vec<u8>,
    /// The core metadata (served as `<file>.metadata`).
    pub metadata: Vec<u8>,
    pub requires_python: Option<String>,
    /// `Some(reason)`: published as yanked.
    pub yanked: Option<String>,
    /// How the index exposes `<file>.metadata`.
    pub metadata_file: MetadataFile,
}

/// How the test index exposes a file's PEP 658 metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetadataFile {
    /// Served and advertised with its hash.
    Advertised,
    /// Served, but the page does not mention it (like the registry here).
    Hidden,
    /// Not served (404).
    Absent,
}

impl Dist {
    pub fn sha256(&self) -> String {
        hex(&Sha256::digest(&self.bytes))
    }

    pub fn yanked(mut self, reason: &str) -> Self {
        self.yanked = Some(reason.to_string());
        self
    }

    pub fn metadata_file(mut self, mode: MetadataFile) -> Self {
        self.metadata_file = mode;
        self
    }
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn escape(name: &str) -> String {
    let mut out = String::new();
    let mut sep = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            sep = true;
        } else {
            if sep {
                out.push('_');
                sep = false;
            }
            out.extend(c.to_lowercase());
        }
    }
    out
}

/// A wheel builder.
#[derive(Debug, Clone)]
pub struct Wheel {
    name: String,
    version: String,
    deps: Vec<String>,
    extras: Vec<(String, Vec<String>)>,
    requires_python: Option<String>,
    tag: String,
    build_tag: Option<String>,
    modules: Vec<(String, Vec<u8>)>,
    entry_points: Vec<(String, String, String)>,
}

impl Wheel {
    pub fn new(name: &str, version: &str) -> Self {
        Wheel {
            name: name.to_string(),
            version: version.to_string(),
            deps: Vec::new(),
            extras: Vec::new(),
            requires_python: None,
            tag: "py3-none-any".to_string(),
            build_tag: None,
            modules: Vec::new(),
            entry_points: Vec::new(),
        }
    }

    /// A `Requires-Dist` line (markers allowed: `b; python_version < "3"`).
    pub fn dep(mut self, req: &str) -> Self {
        self.deps.push(req.to_string());
        self
    }

    /// `Provides-Extra: extra` plus `Requires-Dist: req; extra == "extra"`.
    pub fn extra(mut self, extra: &str, req: &str) -> Self {
        match self.extras.iter_mut().find(|(e, _)| e == extra) {
            Some((_, reqs)) => reqs.push(req.to_string()),
            None => self.extras.push((extra.to_string(), vec![req.to_string()])),
        }
        self
    }

    pub fn requires_python(mut self, spec: &str) -> Self {
        self.requires_python = Some(spec.to_string());
        self
    }

    /// The compressed tag triple (`py3-none-any`, `cp311-cp311-manylinux_2_17_x86_64`).
    pub fn tag(mut self, tag: &str) -> Self {
        self.tag = tag.to_string();
        self
    }

    pub fn build_tag(mut self, tag: &str) -> Self {
        self.build_tag = Some(tag.to_string());
        self
    }

    pub fn module(mut self, path: &str, text: &str) -> Self {
        self.modules
            .push((path.to_string(), text.as_bytes().to_vec()));
        self
    }

    /// A file of `n` incompressible bytes, to make the wheel large (range
    /// request tests).
    pub fn padding(mut self, n: usize) -> Self {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let bytes = (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8
            })
            .collect();
        self.modules
            .push((format!("{}/_padding.bin", escape(&self.name)), bytes));
        self
    }

    pub fn entry_point(mut self, group: &str, name: &str, value: &str) -> Self {
        self.entry_points
            .push((group.to_string(), name.to_string(), value.to_string()));
        self
    }

    pub fn metadata_text(&self) -> String {
        let mut m = format!(
            "Metadata-Version: 2.1\nName: {}\nVersion: {}\n",
            self.name, self.version
        );
        if let Some(rp) = &self.requires_python {
            m.push_str(&format!("Requires-Python: {rp}\n"));
        }
        for d in &self.deps {
            m.push_str(&format!("Requires-Dist: {d}\n"));
        }
        for (extra, reqs) in &self.extras {
            m.push_str(&format!("Provides-Extra: {extra}\n"));
            for r in reqs {
                m.push_str(&format!("Requires-Dist: {r}; extra == \"{extra}\"\n"));
            }
        }
        m.push_str("\nA test distribution.\n");
        m
    }

    pub fn filename(&self) -> String {
        let build = self
            .build_tag
            .as_ref()
            .map(|b| format!("-{b}"))
            .unwrap_or_default();
        format!(
            "{}-{}{build}-{}.whl",
            escape(&self.name),
            self.version,
            self.tag
        )
    }

    pub fn build(&self) -> Dist {
        let dist_info = format!("{}-{}.dist-info", escape(&self.name), self.version);
        let metadata = self.metadata_text();
        let mut files: Vec<(String, Vec<u8>)> = self.modules.clone();
        if files.is_empty() {
            files.push((
                format!("{}/__init__.py", escape(&self.name)),
                format!("__version__ = {:?}\n", self.version).into_bytes(),
            ));
        }
        files.push((
            format!("{dist_info}/METADATA"),
            metadata.clone().into_bytes(),
        ));
        let mut wheel =
            String::from("Wheel-Version: 1.0\nGenerator: buildout-tests\nRoot-Is-Purelib: true\n");
        let parts: Vec<&str> = self.tag.split('-').collect();
        for p in parts[0].split('.') {
            for a in parts[1].split('.') {
                for pl in parts[2].split('.') {
                    wheel.push_str(&format!("Tag: {p}-{a}-{pl}\n"));
                }
            }
        }
        files.push((format!("{dist_info}/WHEEL"), wheel.into_bytes()));
        if !self.entry_points.is_empty() {
            let mut groups: Vec<&str> = self
                .entry_points
                .iter()
                .map(|(g, _, _)| g.as_str())
                .collect();
            groups.dedup();
            let mut text = String::new();
            for g in groups {
                text.push_str(&format!("[{g}]\n"));
                for (_, n, v) in self.entry_points.iter().filter(|(gg, _, _)| gg == g) {
                    text.push_str(&format!("{n} = {v}\n"));
                }
                text.push('\n');
            }
            files.push((format!("{dist_info}/entry_points.txt"), text.into_bytes()));
        }
        let mut record = String::new();
        for (path, bytes) in &files {
            let digest =
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(bytes));
            record.push_str(&format!("{path},sha256={digest},{}\n", bytes.len()));
        }
        record.push_str(&format!("{dist_info}/RECORD,,\n"));
        files.push((format!("{dist_info}/RECORD"), record.into_bytes()));

        let mut buf = std::io::Cursor::new(Vec::new());
        {
            let mut zip = zip::ZipWriter::new(&mut buf);
            for (path, bytes) in &files {
                let method = if path.ends_with(".bin") {
                    zip::CompressionMethod::Stored
                } else {
                    zip::CompressionMethod::Deflated
                };
                let options = zip::write::SimpleFileOptions::default().compression_method(method);
                zip.start_file(path.as_str(), options).expect("zip entry");
                zip.write_all(bytes).expect("zip write");
            }
            zip.finish().expect("zip finish");
        }
        Dist {
            filename: self.filename(),
            bytes: buf.into_inner(),
            metadata: metadata.into_bytes(),
            requires_python: self.requires_python.clone(),
            yanked: None,
            metadata_file: MetadataFile::Hidden,
        }
    }
}

/// An sdist builder: `name-version.tar.gz` with `PKG-INFO`, a
/// `pyproject.toml` whose backend is the in-tree `_backend.py`
/// (`backend-path = ["."]`, no build requirements: no network, no
/// setuptools), and `src/<modules>`. The backend's `build_wheel` zips
/// `src/` into a wheel; `build_editable` writes a wheel whose `.pth`
/// points at the tree's `src/`. [`Sdist::files`] gives the same tree for a
/// local (develop) project.
#[derive(Debug, Clone)]
pub struct Sdist {
    name: String,
    version: String,
    deps: Vec<String>,
    modules: Vec<(String, String)>,
    metadata_version: String,
    fail: Option<String>,
    raw: Vec<(String, tar::EntryType, String)>,
    entry_points: Vec<(String, String, String)>,
}

impl Sdist {
    /// An entry point (`group`, `name = value`) of the built wheels.
    pub fn entry_point(mut self, group: &str, name: &str, value: &str) -> Self {
        self.entry_points
            .push((group.to_string(), name.to_string(), value.to_string()));
        self
    }

    pub fn new(name: &str, version: &str) -> Self {
        Sdist {
            name: name.to_string(),
            version: version.to_string(),
            deps: Vec::new(),
            modules: Vec::new(),
            metadata_version: "2.2".into(),
            fail: None,
            raw: Vec::new(),
            entry_points: Vec::new(),
        }
    }

    pub fn dep(mut self, req: &str) -> Self {
        self.deps.push(req.to_string());
        self
    }

    /// A file under `src/` (`demo/__init__.py`).
    pub fn module(mut self, path: &str, text: &str) -> Self {
        self.modules.push((path.to_string(), text.to_string()));
        self
    }

    /// `PKG-INFO`'s Metadata-Version (below 2.2: metadata needs a build).
    pub fn metadata_version(mut self, v: &str) -> Self {
        self.metadata_version = v.to_string();
        self
    }

    /// The backend prints `message` to stderr and fails.
    pub fn failing(mut self, message: &str) -> Self {
        self.fail = Some(message.to_string());
        self
    }

    /// An extra raw archive member (`path` as written, unchecked): a
    /// regular file (`target` is its content) or a symlink.
    pub fn raw_member(mut self, path: &str, kind: tar::EntryType, target: &str) -> Self {
        self.raw.push((path.to_string(), kind, target.to_string()));
        self
    }

    pub fn pkg_info(&self) -> String {
        let mut pkg_info = format!(
            "Metadata-Version: {}\nName: {}\nVersion: {}\n",
            self.metadata_version, self.name, self.version
        );
        for d in &self.deps {
            pkg_info.push_str(&format!("Requires-Dist: {d}\n"));
        }
        pkg_info
    }

    /// The source tree: (relative path, content).
    pub fn files(&self) -> Vec<(String, String)> {
        let deps: Vec<String> = self.deps.iter().map(|d| format!("{d:?}")).collect();
        let mut groups: std::collections::BTreeMap<&str, String> = Default::default();
        for (group, name, value) in &self.entry_points {
            groups
                .entry(group)
                .or_default()
                .push_str(&format!("{name} = {value}\n"));
        }
        let entry_points: String = groups
            .iter()
            .map(|(g, lines)| format!("[{g}]\n{lines}"))
            .collect();
        let pyproject =
            "[build-system]\nrequires = []\nbuild-backend = \"_backend\"\nbackend-path = [\".\"]\n"
                .to_string();
        let fail = match &self.fail {
            Some(m) => format!(
                "    import sys\n    print('test backend: compiling')\n    sys.stderr.write({m:?} + '\\n')\n    raise SystemExit(1)\n"
            ),
            None => String::new(),
        };
        let backend = format!(
            r#"import base64, hashlib, os, zipfile
NAME = {name:?}
VERSION = {version:?}
DEPS = [{deps}]
ENTRY_POINTS = {entry_points:?}

def _dist():
    return NAME.replace("-", "_").replace(".", "_").lower()

def _write(wheel_directory, files):
    fn = "%s-%s-py3-none-any.whl" % (_dist(), VERSION)
    di = "%s-%s.dist-info" % (_dist(), VERSION)
    meta = "Metadata-Version: 2.1\nName: %s\nVersion: %s\n" % (NAME, VERSION)
    for d in DEPS:
        meta += "Requires-Dist: %s\n" % d
    files = list(files) + [
        (di + "/METADATA", meta.encode()),
        (di + "/WHEEL", b"Wheel-Version: 1.0\nGenerator: test-backend\nRoot-Is-Purelib: true\nTag: py3-none-any\n"),
    ]
    if ENTRY_POINTS:
        files.append((di + "/entry_points.txt", ENTRY_POINTS.encode()))
    record = []
    with zipfile.ZipFile(os.path.join(wheel_directory, fn), "w") as z:
        for name, data in files:
            z.writestr(name, data)
            h = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            record.append("%s,sha256=%s,%d" % (name, h, len(data)))
        record.append(di + "/RECORD,,")
        z.writestr(di + "/RECORD", "\n".join(record) + "\n")
    return fn

def get_requires_for_build_wheel(config_settings=None):
    return []

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
{fail}    print("test backend: building", NAME)
    files = []
    for root, dirs, names in os.walk("src"):
        for n in names:
            if n.endswith(".pyc"):
                continue
            p = os.path.join(root, n)
            with open(p, "rb") as f:
                files.append((os.path.relpath(p, "src").replace(os.sep, "/"), f.read()))
    # What the build saw (zc.recipe.egg:custom tests read it back).
    seen = "".join("%s = %r\n" % (k, os.environ.get(k)) for k in ("CFLAGS", "LDFLAGS", "CUSTOM_VAR"))
    files.append(("%s_build_env.py" % _dist(), seen.encode()))
    return _write(wheel_directory, files)

def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
{fail}    pth = "_%s_editable.pth" % _dist()
    files = [(pth, (os.path.abspath("src") + "\n").encode())]
    # Data scripts (`scripts=`) go into the editable wheel too.
    data = "%s-%s.data" % (_dist(), VERSION)
    for root, dirs, names in os.walk(os.path.join("src", data)):
        for n in names:
            p = os.path.join(root, n)
            with open(p, "rb") as f:
                files.append((os.path.relpath(p, "src").replace(os.sep, "/"), f.read()))
    return _write(wheel_directory, files)
"#,
            name = self.name,
            version = self.version,
            deps = deps.join(", "),
            entry_points = entry_points,
        );
        let mut files = vec![
            ("PKG-INFO".to_string(), self.pkg_info()),
            ("pyproject.toml".to_string(), pyproject),
            ("_backend.py".to_string(), backend),
        ];
        let modules = if self.modules.is_empty() {
            vec![(
                format!("{}/__init__.py", escape(&self.name)),
                format!("__version__ = {:?}\n", self.version),
            )]
        } else {
            self.modules.clone()
        };
        for (path, text) in modules {
            files.push((format!("src/{path}"), text));
        }
        files
    }

    /// Writes the source tree into `dir` (a local project).
    pub fn write_tree(&self, dir: &std::path::Path) {
        for (path, text) in self.files() {
            let p = dir.join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
    }

    pub fn build(&self) -> Dist {
        self.build_edited(|_, text| text)
    }

    /// [`Sdist::build`] with each file of the tree passed through `edit`
    /// (its path in the tree and its text; returns the text archived).
    pub fn build_edited(&self, edit: impl Fn(&str, String) -> String) -> Dist {
        let stem = format!("{}-{}", escape(&self.name), self.version);
        let mut tar = Vec::new();
        for (path, text) in self.files() {
            let text = edit(&path, text);
            let path = format!("{stem}/{path}");
            tar.extend(tar_header(&path, text.len(), b'0', ""));
            tar.extend(text.as_bytes());
            tar.resize(tar.len().div_ceil(512) * 512, 0);
        }
        for (path, kind, target) in &self.raw {
            if *kind == tar::EntryType::Symlink {
                tar.extend(tar_header(path, 0, b'2', target));
            } else {
                tar.extend(tar_header(path, target.len(), b'0', ""));
                tar.extend(target.as_bytes());
                tar.resize(tar.len().div_ceil(512) * 512, 0);
            }
        }
        tar.resize(tar.len() + 1024, 0);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&tar).expect("gzip");
        Dist {
            filename: format!("{stem}.tar.gz"),
            bytes: gz.finish().expect("gzip"),
            metadata: self.pkg_info().into_bytes(),
            requires_python: None,
            yanked: None,
            metadata_file: MetadataFile::Absent,
        }
    }
}

/// A ustar header (`kind` `0`: regular file, `1`: hard link to `link`,
/// `2`: symlink to `link`).
pub fn tar_header(path: &str, size: usize, kind: u8, link: &str) -> [u8; 512] {
    let mut h = [0u8; 512];
    h[..path.len()].copy_from_slice(path.as_bytes());
    h[157..157 + link.len()].copy_from_slice(link.as_bytes());
    h[100..107].copy_from_slice(b"0000644");
    h[108..115].copy_from_slice(b"0000000");
    h[116..123].copy_from_slice(b"0000000");
    h[124..135].copy_from_slice(format!("{size:011o}").as_bytes());
    h[136..147].copy_from_slice(b"00000000000");
    h[156] = kind;
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    h[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
    h
}
