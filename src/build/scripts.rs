//! Console scripts and interpreter scripts, in zc.buildout's shapes, and the
//! merged site directory they import from.
//!
//! The script texts follow zc.buildout 6.0.1's `script_template` and
//! `py_script_template` line for line (`buildout.md` §6.3–§6.5): the
//! shebang, the optional relative-paths block, `import sys`, one
//! `sys.path[0:0] = [...]` assignment, the optional initialization, then the
//! entry-point call or the interpreter driver (`-c`, `-m`, `-i`, `-I`, a
//! script path, an interactive prompt).
//!
//! What differs is the path list. zc.buildout lists one directory per
//! distribution, so every top-level import scans every distribution
//! (`python-packaging.md` §6.7: three times slower at 200 distributions).
//! Here a part's object holds `site/`, a merged directory of symlinks into
//! the distributions' store objects, built by [`build_site`]:
//!
//! * each top-level package, module (with its `__pycache__/*.pyc`) and
//!   `.dist-info`/`.egg-info` directory of every member is a symlink into
//!   the member's object, so `importlib.metadata` finds every member and
//!   its entry points;
//! * a name several members provide is resolved the way `sys.path` order
//!   would: the first regular package or module wins; when all are
//!   namespace portions (directories without `__init__`), `site/<name>` is a
//!   real directory merged recursively, so every portion imports;
//! * `.pth` files are read as zc.buildout reads them (`get_pth_paths`):
//!   path lines, relative to the member's directory, join the script's
//!   path list after `site/`; `import` lines are skipped, as zc.buildout
//!   skips them.
//!
//! The script's list is then `site/`, the `.pth` paths and `extra-paths`:
//! a handful of entries whatever the number of distributions, so start-up
//! costs what a flat virtualenv costs. A module's `__file__` is its path
//! under `site/` (Python does not resolve symlinks), which is inside the
//! store (the part's object) and resolves into the member's object.
//!
//! Wheel data scripts ([`data_scripts`]) are scripts too: Python ones are
//! wrapped by [`distutils_script`] (zc.buildout's distutils-script
//! template), others linked; `site/bin/` links them all, where a
//! distribution looks for its own executable. `gui_scripts` entry points
//! are generated like console scripts. The interpreter's driver gives what
//! follows `-c CMD` / `-m MOD` to the command, as python does.
//!
//! One deliberate difference with `relative-paths`: zc.buildout computes
//! `base` from `os.path.realpath(__file__)`, which here would resolve
//! `bin/x` into the store (`bin` links into the generation, the generation's
//! `bin/x` into the part's object); the generated block uses
//! `os.path.abspath(__file__)`, so `base` is the buildout directory the
//! script was run from.

use crate::config::pystr;
use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// What a generated script calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryPoint {
    pub module: String,
    /// Dotted attributes (`main`, `Cli.run`).
    pub attrs: String,
}

impl EntryPoint {
    /// Parses an `entry_points.txt` value: `module:attrs`, optional
    /// `[extras]` (ignored), spaces around `:` allowed.
    pub fn parse_value(value: &str) -> EntryPoint {
        let value = match value.find('[') {
            Some(i) => &value[..i],
            None => value,
        };
        match value.split_once(':') {
            Some((m, a)) => EntryPoint {
                module: m.trim().to_string(),
                attrs: a.trim().to_string(),
            },
            None => EntryPoint {
                module: value.trim().to_string(),
                attrs: String::new(),
            },
        }
    }
}

/// The console-script entry points of the distribution installed in `dir`
/// (its `*.dist-info/entry_points.txt`), by name.
pub fn console_scripts(dir: &Path) -> BTreeMap<String, EntryPoint> {
    entry_point_scripts(dir, "console_scripts")
}

/// The `gui_scripts` entry points of the distribution at `dir` (generated
/// like console scripts, as pip and uv do).
pub fn gui_scripts(dir: &Path) -> BTreeMap<String, EntryPoint> {
    entry_point_scripts(dir, "gui_scripts")
}

/// An executable a distribution ships as a wheel data script
/// (`<name>.data/scripts/`, in its store object's `.prefix/bin/`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataScript {
    /// A Python script (a `#!` first line naming python): wrapped like
    /// zc.buildout's distutils scripts, with the part's path.
    Python(String),
    /// Anything else (a native binary, a shell script): linked as it is.
    Other(PathBuf),
}

/// The data scripts of the distribution at `dir`, by name.
pub fn data_scripts(dir: &Path) -> BTreeMap<String, DataScript> {
    let bin = dir.join(".prefix/bin");
    let mut out = BTreeMap::new();
    for name in sorted_names(&bin) {
        let path = bin.join(&name);
        if !fs::symlink_metadata(&path).is_ok_and(|m| m.is_file()) {
            continue;
        }
        // Only the first line decides: a native binary (ruff's is tens of
        // MiB) is never read whole, on every run.
        let mut head = [0u8; 256];
        let read = fs::File::open(&path)
            .and_then(|mut f| io::Read::read(&mut f, &mut head))
            .unwrap_or(0);
        let first = head[..read]
            .split(|b| *b == b'\n')
            .next()
            .unwrap_or_default();
        let python = first.starts_with(b"#!") && first.windows(6).any(|w| w == b"python");
        let text = python.then(|| fs::read_to_string(&path).ok()).flatten();
        let script = match text {
            Some(text) => DataScript::Python(text),
            None => DataScript::Other(path),
        };
        out.insert(name, script);
    }
    out
}

/// The text of a wrapped distutils/data script (zc.buildout's
/// `distutils_script_template`): its `#!` line replaced by the part's
/// interpreter, the part's path inserted before its first import.
pub fn distutils_script(frame: &Frame<'_>, contents: &str) -> String {
    let (python, path, setup, pycache, init) = frame.render();
    let lines: Vec<&str> = contents.split_inclusive('\n').skip(1).collect();
    let first_import = lines
        .iter()
        .position(|l| {
            (l.starts_with("import") || l.starts_with("from"))
                && l.contains("import")
                && !l.contains("__future__")
        })
        .unwrap_or(lines.len());
    let before: String = lines[..first_import].concat();
    let after: String = lines[first_import..].concat();
    format!(
        "#!{python}\n{before}\n{setup}\nimport sys\n{pycache}sys.path[0:0] = [\n  {path},\n  ]\n{init}\n\n{after}"
    )
}

fn entry_point_scripts(dir: &Path, group: &str) -> BTreeMap<String, EntryPoint> {
    let Ok(entries) = fs::read_dir(dir) else {
        return BTreeMap::new();
    };
    let mut infos: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            p.extension()
                .is_some_and(|x| x == "dist-info" || x == "egg-info")
        })
        .collect();
    infos.sort();
    for info in infos {
        if let Ok(text) = fs::read_to_string(info.join("entry_points.txt")) {
            let groups = super::wheel::parse_entry_points(&text);
            return groups
                .get(group)
                .map(|g| {
                    g.iter()
                        .map(|(k, v)| (k.clone(), EntryPoint::parse_value(v)))
                        .collect()
                })
                .unwrap_or_default();
        }
    }
    BTreeMap::new()
}

/// Paths named by the `.pth` files directly in `dir`, as zc.buildout's
/// `get_pth_paths` reads them: non-empty lines that are neither comments
/// nor `import ` lines, joined to `dir`. Files are read in name order.
pub fn pth_paths(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let Ok(entries) = fs::read_dir(dir) else {
        return out;
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "pth"))
        .collect();
    files.sort();
    let base = dir.to_string_lossy();
    for file in files {
        let Ok(text) = fs::read_to_string(&file) else {
            continue;
        };
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') || line.starts_with("import ") {
                continue;
            }
            let p = pystr::normpath(&pystr::join(&base, line));
            if !out.contains(&p) {
                out.push(p);
            }
        }
    }
    out
}

/// `os.path.realpath`: symlinks of the longest existing prefix resolved,
/// the rest appended.
pub fn realpath(path: &str) -> String {
    let p = Path::new(path);
    let mut existing = p.to_path_buf();
    let mut rest: Vec<std::ffi::OsString> = Vec::new();
    loop {
        if let Ok(c) = fs::canonicalize(&existing) {
            let mut out = c;
            for r in rest.iter().rev() {
                out.push(r);
            }
            return pystr::normpath(&out.to_string_lossy());
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_os_string());
                existing = parent.to_path_buf();
            }
            _ => return pystr::normpath(path),
        }
    }
}

/// The path list of a part's scripts: `site`, then the `.pth` paths of
/// the members (in working-set order), then `extra_paths` (realpath'd, as
/// zc.buildout does), without duplicates.
pub fn path_list(site: &str, members: &[PathBuf], extra_paths: &[String]) -> Vec<String> {
    let mut out = vec![site.to_string()];
    for m in members {
        for p in pth_paths(m) {
            if !out.contains(&p) {
                out.push(p);
            }
        }
    }
    for p in extra_paths {
        let p = realpath(p);
        if !out.contains(&p) {
            out.push(p);
        }
    }
    out
}

/// How paths are written into a script.
#[derive(Debug, Clone)]
pub enum Paths<'a> {
    Absolute,
    /// `relative-paths = true`: paths inside `buildout` are written
    /// `join(base, ...)`; `script` is the script's path in the buildout
    /// directory (`<buildout>/bin/x`).
    Relative {
        buildout: &'a str,
        script: &'a str,
    },
}

/// zc.buildout's `_relative_path_and_setup`: the path items (joined with
/// `,\n  `) and the relative-paths setup block.
fn path_and_setup(paths: &[String], mode: &Paths<'_>) -> (String, String) {
    match mode {
        Paths::Absolute => (
            paths
                .iter()
                .map(|p| pystr::repr(p))
                .collect::<Vec<_>>()
                .join(",\n  "),
            String::new(),
        ),
        Paths::Relative { buildout, script } => {
            let items: Vec<String> = paths
                .iter()
                .map(|p| relativitize(p, script, buildout))
                .collect();
            let mut setup = String::from(
                "\nimport os\n\njoin = os.path.join\nbase = os.path.dirname(os.path.abspath(__file__))\n",
            );
            // One `dirname` per directory between the script's directory
            // and the buildout directory.
            let mut dir = pystr::dirname(script);
            while dir != *buildout && dir != "/" && !dir.is_empty() {
                setup.push_str("base = os.path.dirname(base)\n");
                dir = pystr::dirname(&dir);
            }
            (items.join(",\n  "), setup)
        }
    }
}

/// zc.buildout's `_relativitize`: `base`, `join(base, 'rel')` or the
/// absolute repr.
fn relativitize(path: &str, script: &str, buildout: &str) -> String {
    if path == buildout {
        return "base".into();
    }
    let common = common_prefix(path, script);
    let common = pystr::dirname(&common);
    if common == buildout || common.starts_with(&format!("{buildout}/")) {
        let rel = path.strip_prefix(&format!("{common}/")).unwrap_or(path);
        format!("join(base, {})", pystr::repr(rel))
    } else {
        pystr::repr(path)
    }
}

fn common_prefix(a: &str, b: &str) -> String {
    a.chars()
        .zip(b.chars())
        .take_while(|(x, y)| x == y)
        .map(|(x, _)| x)
        .collect()
}

/// What every script of a part shares: its interpreter, its path list
/// (written as `mode` says), its `initialization` and the bytecode cache
/// (`compile-bytecode = false`).
pub struct Frame<'a> {
    pub python: &'a str,
    pub paths: &'a [String],
    pub mode: Paths<'a>,
    pub initialization: &'a str,
    pub pycache: Option<&'a str>,
}

impl Frame<'_> {
    /// The pieces of text it puts into every script: the interpreter,
    /// the path items, the relative-paths setup, the bytecode-cache line
    /// and the initialization block.
    fn render(&self) -> (&str, String, String, String, String) {
        let (path, setup) = path_and_setup(self.paths, &self.mode);
        (
            self.python,
            path,
            setup,
            pycache_line(self.pycache),
            initialization_block(self.initialization),
        )
    }
}

/// zc.buildout's `initialization` block: the text between two newlines,
/// nothing when empty.
fn initialization_block(initialization: &str) -> String {
    if initialization.is_empty() {
        String::new()
    } else {
        format!("\n{initialization}\n")
    }
}

/// The line that points Python's bytecode cache at `prefix` (for
/// distributions installed without bytecode: `compile-bytecode = false`),
/// unless the user already chose one (`PYTHONPYCACHEPREFIX`, `-X
/// pycache_prefix`).
fn pycache_line(prefix: Option<&str>) -> String {
    prefix.map_or_else(String::new, |p| {
        format!(
            "sys.pycache_prefix = sys.pycache_prefix or {}\n",
            crate::python::pystr::repr(p)
        )
    })
}

/// The text of a console script (zc.buildout's `script_template`), plus
/// the bytecode-cache line when `pycache` is given.
pub fn console_script(frame: &Frame<'_>, entry: &EntryPoint, arguments: &str) -> String {
    let (python, path, setup, pycache, init) = frame.render();
    format!(
        "#!{python}\n{setup}\nimport sys\n{pycache}sys.path[0:0] = [\n  {path},\n  ]\n{init}\nimport {module}\n\nif __name__ == '__main__':\n    sys.exit({module}.{attrs}({arguments}))\n",
        module = entry.module,
        attrs = entry.attrs,
    )
}

/// The text of an interpreter script (zc.buildout's `py_script_template`),
/// plus the bytecode-cache line when `pycache` is given.
pub fn interpreter_script(frame: &Frame<'_>) -> String {
    let (python, mut path, setup, pycache, init) = frame.render();
    if !path.is_empty() {
        path.push(',');
    }
    format!(
        "#!{python}\n{setup}\nimport sys\n\n{pycache}sys.path[0:0] = [\n  {path}\n  ]\n{init}\n{DRIVER}"
    )
}

/// zc.buildout's interpreter driver, with one difference (README): the
/// arguments after `-c CMD` or `-m MOD` are the command's, as python has
/// them (zc.buildout's `getopt` reads `bin/py -m ruff --version`'s
/// `--version` as its own and fails).
const DRIVER: &str = r#"
_interactive = True
if len(sys.argv) > 1:
    # The Python interpreter wrapper allows only some of the options that a
    # "regular" Python interpreter accepts.
    _argv = sys.argv[1:]
    # As python does, what follows `-c CMD` or `-m MOD` is the command's.
    for _i, _arg in enumerate(_argv):
        if not _arg.startswith('-') or _arg == '--':
            break
        if _arg[:2] in ('-c', '-m'):
            _i += 1 if len(_arg) > 2 else 2
            if _i < len(_argv) and _argv[_i] != '--':
                _argv.insert(_i, '--')
            break
    _options, _args = __import__("getopt").getopt(_argv, 'Iic:m:')
    _interactive = False
    for (_opt, _val) in _options:
        if _opt == '-i':
            _interactive = True
        elif _opt == '-c':
            exec(_val)
        elif _opt == '-m':
            sys.argv[1:] = _args
            _args = []
            __import__("runpy").run_module(
                 _val, {}, "__main__", alter_sys=True)
        elif _opt == '-I':
            # Allow yet silently ignore the `-I` option. The original behaviour
            # for this option is to create an isolated Python runtime. It was
            # deemed acceptable to allow the option here as this Python wrapper
            # is isolated from the system Python already anyway.
            # The specific use-case that led to this change is how the Python
            # language extension for Visual Studio Code calls the Python
            # interpreter when initializing the extension.
            pass

    if _args:
        sys.argv[:] = _args
        __file__ = _args[0]
        del _options, _args
        with open(__file__) as __file__f:
            exec(compile(__file__f.read(), __file__, "exec"))

if _interactive:
    del _interactive
    __import__("code").interact(banner="", local=globals())
"#;

/// Whether `name` is an importable module file, and its import name.
fn module_name(name: &str) -> Option<&str> {
    let (stem, _) = name.split_once('.')?;
    let importable = [".py", ".pyc", ".so", ".pyd", ".pyw"]
        .iter()
        .any(|s| name.ends_with(s));
    (importable && !stem.is_empty()).then_some(stem)
}

/// What one member provides for one import name at one level.
enum Provides {
    /// A directory with `__init__.*`.
    Package(PathBuf),
    /// Module files (`x.py`, `x.cpython-311-x86_64-linux-gnu.so`, ...) in
    /// `dir`.
    Module { dir: PathBuf, files: Vec<String> },
    /// A directory without `__init__`: a namespace portion.
    Portion(PathBuf),
}

fn is_package(dir: &Path) -> bool {
    fs::read_dir(dir).is_ok_and(|entries| {
        entries.filter_map(|e| e.ok()).any(|e| {
            let n = e.file_name();
            let n = n.to_string_lossy();
            n.starts_with("__init__.") && module_name(&n).is_some()
        })
    })
}

/// Builds `site` (which must not exist) from the members' import roots,
/// in working-set order. See the module documentation for the rules.
pub fn build_site(site: &Path, members: &[PathBuf]) -> io::Result<()> {
    merge(site, members, true)?;
    link_data_scripts(site, members)
}

/// `site/bin/<name>`: links to the members' data scripts, where a
/// distribution installed with `pip install --target` finds its own
/// executables (ruff's `find_ruff_bin` looks next to its package). Not
/// made when a member has a top-level `bin` of its own.
fn link_data_scripts(site: &Path, members: &[PathBuf]) -> io::Result<()> {
    let bin = site.join("bin");
    if fs::symlink_metadata(&bin).is_ok() {
        return Ok(());
    }
    for member in members {
        let scripts = member.join(".prefix/bin");
        for name in sorted_names(&scripts) {
            let at = bin.join(&name);
            if fs::symlink_metadata(&at).is_ok() {
                continue;
            }
            fs::create_dir_all(&bin)?;
            std::os::unix::fs::symlink(scripts.join(&name), &at)?;
        }
    }
    Ok(())
}

fn sorted_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

fn merge(out: &Path, sources: &[PathBuf], top: bool) -> io::Result<()> {
    fs::create_dir(out)?;
    // import name -> what each source provides, in source order.
    let mut names: BTreeMap<String, Vec<Provides>> = BTreeMap::new();
    // Other entries (metadata directories, data files): first wins.
    let mut others: BTreeMap<String, PathBuf> = BTreeMap::new();
    for src in sources {
        // What this source provides, by import name (a package directory
        // beats module files of the same name, which beat a namespace
        // portion, as in one `sys.path` entry).
        let mut here: BTreeMap<String, Provides> = BTreeMap::new();
        let mut modules: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for name in sorted_names(src) {
            let path = src.join(&name);
            if name.starts_with('.') || name == "__pycache__" || (top && name.ends_with(".pth")) {
                continue;
            }
            if path.is_dir() {
                if name.contains('.') {
                    others.entry(name).or_insert(path);
                } else if is_package(&path) {
                    here.insert(name, Provides::Package(path));
                } else {
                    here.insert(name, Provides::Portion(path));
                }
            } else if let Some(stem) = module_name(&name) {
                modules.entry(stem.to_string()).or_default().push(name);
            } else {
                others.entry(name).or_insert(path);
            }
        }
        for (stem, files) in modules {
            if !matches!(here.get(&stem), Some(Provides::Package(_))) {
                here.insert(
                    stem,
                    Provides::Module {
                        dir: src.clone(),
                        files,
                    },
                );
            }
        }
        for (name, provides) in here {
            names.entry(name).or_default().push(provides);
        }
    }
    let pycache = out.join("__pycache__");
    for (name, provides) in names {
        let at = out.join(&name);
        let winner = provides
            .iter()
            .find(|p| matches!(p, Provides::Package(_) | Provides::Module { .. }));
        match winner {
            Some(Provides::Package(dir)) => std::os::unix::fs::symlink(dir, &at)?,
            Some(Provides::Module { dir, files }) => {
                for f in files {
                    std::os::unix::fs::symlink(dir.join(f), out.join(f))?;
                }
                // Its bytecode, so that nothing is compiled (or written)
                // at run time.
                let cache = dir.join("__pycache__");
                for pyc in sorted_names(&cache) {
                    if pyc.strip_prefix(&name).is_some_and(|r| r.starts_with('.')) {
                        if !pycache.exists() {
                            fs::create_dir(&pycache)?;
                        }
                        std::os::unix::fs::symlink(cache.join(&pyc), pycache.join(&pyc))?;
                    }
                }
            }
            _ => {
                let portions: Vec<PathBuf> = provides
                    .into_iter()
                    .filter_map(|p| match p {
                        Provides::Portion(d) => Some(d),
                        _ => None,
                    })
                    .collect();
                if let [only] = portions.as_slice() {
                    std::os::unix::fs::symlink(only, &at)?;
                } else {
                    merge(&at, &portions, false)?;
                }
            }
        }
    }
    for (name, path) in others {
        let at = out.join(&name);
        if at.symlink_metadata().is_err() {
            std::os::unix::fs::symlink(path, at)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(p: &Path, text: &str) {
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, text).unwrap();
    }

    #[test]
    fn scripts_without_store_bytecode_point_python_at_the_cache() {
        let entry = EntryPoint::parse_value("pkg:main");
        let paths = ["/s".to_string()];
        let frame = Frame {
            python: "/py",
            paths: &paths,
            mode: Paths::Absolute,
            initialization: "",
            pycache: Some("/st/.bytecode"),
        };
        let text = console_script(&frame, &entry, "");
        assert!(text.starts_with(
            "#!/py\n\nimport sys\nsys.pycache_prefix = sys.pycache_prefix or '/st/.bytecode'\nsys.path[0:0] = [\n"
        ), "{text}");
        let text = interpreter_script(&frame);
        assert!(text.starts_with(
            "#!/py\n\nimport sys\n\nsys.pycache_prefix = sys.pycache_prefix or '/st/.bytecode'\nsys.path[0:0] = [\n"
        ), "{text}");
    }

    #[test]
    fn console_script_has_zc_buildout_shape() {
        let paths = ["/s/site".to_string(), "/opt/x".to_string()];
        let frame = Frame {
            python: "/usr/bin/python3",
            paths: &paths,
            mode: Paths::Absolute,
            initialization: "import os\nos.environ['X'] = '1'",
            pycache: None,
        };
        let text = console_script(
            &frame,
            &EntryPoint::parse_value("pkg.cli : main [extra]"),
            "'a', 'b'",
        );
        assert_eq!(
            text,
            "#!/usr/bin/python3\n\nimport sys\nsys.path[0:0] = [\n  '/s/site',\n  '/opt/x',\n  ]\n\nimport os\nos.environ['X'] = '1'\n\nimport pkg.cli\n\nif __name__ == '__main__':\n    sys.exit(pkg.cli.main('a', 'b'))\n"
        );
    }

    #[test]
    fn interpreter_script_header_and_relative_paths() {
        let paths = [
            "/b/src".to_string(),
            "/b".to_string(),
            "/store/x-site".to_string(),
        ];
        let text = interpreter_script(&Frame {
            python: "/py",
            paths: &paths,
            mode: Paths::Relative {
                buildout: "/b",
                script: "/b/bin/py",
            },
            initialization: "",
            pycache: None,
        });
        assert!(text.starts_with(
            "#!/py\n\nimport os\n\njoin = os.path.join\nbase = os.path.dirname(os.path.abspath(__file__))\nbase = os.path.dirname(base)\n\nimport sys\n\nsys.path[0:0] = [\n  join(base, 'src'),\n  base,\n  '/store/x-site',\n  ]\n\n\n_interactive = True\n"
        ), "{text}");
    }

    #[test]
    fn site_merges_namespaces_links_modules_and_reads_pth() {
        let tmp = tempfile::tempdir().unwrap();
        let a = tmp.path().join("a");
        let b = tmp.path().join("b");
        write(&a.join("ns/one/__init__.py"), "");
        write(&a.join("amod.py"), "");
        write(&a.join("__pycache__/amod.cpython-311.pyc"), "");
        write(&a.join("a-1.dist-info/METADATA"), "");
        write(&a.join("a.pth"), "# c\nimport x\nextra\n");
        write(&a.join("shared/__init__.py"), "A");
        write(&b.join("ns/two/__init__.py"), "");
        write(&b.join("shared/__init__.py"), "B");
        write(&b.join("b-1.dist-info/METADATA"), "");
        let site = tmp.path().join("site");
        build_site(&site, &[a.clone(), b.clone()]).unwrap();
        assert!(site.join("ns").symlink_metadata().unwrap().is_dir());
        assert_eq!(
            fs::read_link(site.join("ns/one")).unwrap(),
            a.join("ns/one")
        );
        assert_eq!(
            fs::read_link(site.join("ns/two")).unwrap(),
            b.join("ns/two")
        );
        assert_eq!(
            fs::read_link(site.join("shared")).unwrap(),
            a.join("shared")
        );
        assert_eq!(
            fs::read_link(site.join("amod.py")).unwrap(),
            a.join("amod.py")
        );
        assert!(site.join("__pycache__/amod.cpython-311.pyc").exists());
        assert!(site.join("a-1.dist-info").exists() && site.join("b-1.dist-info").exists());
        assert!(!site.join("a.pth").exists());
        assert_eq!(pth_paths(&a), vec![format!("{}/extra", a.display())]);
    }
}
