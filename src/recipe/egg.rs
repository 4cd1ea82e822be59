//! `zc.recipe.egg`, built in: `eggs` installs a part's distributions;
//! `default`, `script` and `scripts` also generate console scripts and an
//! interpreter.
//!
//! Options (zc.recipe.egg's, `buildout.md` §6.1): `eggs` (newline-separated
//! requirements, markers allowed; default: the part name), `find-links`
//! and `index` (override `[buildout]`'s), `executable` (the interpreter;
//! default `[buildout] executable`) or `python` (the name of a section whose
//! `executable` option is the interpreter). The working set is resolved
//! with the buildout's version rules and every distribution becomes its
//! own store object; the part's object records the working set
//! (`working-set.json`) and references each distribution, so a generation
//! keeps exactly what it uses.
//!
//! Scripts parts add `scripts` (select and rename; present but empty: no
//! scripts, not even the interpreter), `entry-points`, `dependent-scripts`,
//! `interpreter`, `extra-paths`, `initialization`, `arguments` and
//! `relative-paths`. The part's object then holds `site/` (the merged
//! import directory, see [`crate::build::scripts`]) and the scripts as
//! managed outputs `bin/<name>`, which the generation's `bin/` links to.
//! A develop dist's project directory is on the scripts' path, as
//! zc.buildout's location of a develop egg is (setuptools' editable
//! finders, `import` lines of a `.pth`, are not run by scripts).
//! Every script name (from a distribution's entry points, `scripts`,
//! `entry-points` or `interpreter`) must be a plain file name
//! ([`crate::profile::paths`]), checked in `prepare`, before anything is
//! written.

use super::{DistRequest, Error, Note, Recipe, Result, Services, io};
use crate::build::scripts::{self, DataScript, EntryPoint, Frame, Paths};
use crate::config::{Buildout, pystr};
use crate::profile::manifest::DistEntry;
use crate::profile::paths::{self, Origin, Request};
use crate::python::Requirement;
use crate::python::marker::canonicalize_name;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::str::FromStr;

/// A constructed `zc.recipe.egg:eggs` part.
#[derive(Debug)]
pub struct Eggs {
    part: String,
    requirements: Vec<Requirement>,
    python: String,
    index: Option<String>,
    find_links: Option<Vec<String>>,
    dists: Vec<DistEntry>,
    /// The project directories of the develop dists in the working set
    /// ([`Services::develop_source`]).
    develop: Vec<String>,
    /// [`Services::bytecode_cache`], for the scripts.
    pycache: Option<String>,
}

impl Eggs {
    pub fn new(buildout: &mut Buildout, part: &str, _directory: &str) -> Result<Self> {
        let eggs = buildout
            .get(part, "eggs", None)?
            .unwrap_or_else(|| part.to_string());
        let mut requirements = Vec::new();
        for line in eggs.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let req = Requirement::from_str(line).map_err(|e| {
                Error::User(format!(
                    "Invalid requirement {line:?} in the eggs option of part {part}: {e}"
                ))
            })?;
            requirements.push(req);
        }
        let python = super::part_interpreter(buildout, part)?;
        let index = buildout.get(part, "index", None)?;
        let find_links = buildout
            .get(part, "find-links", None)?
            .map(|f| f.split_whitespace().map(String::from).collect());
        Ok(Self {
            part: part.to_string(),
            requirements,
            python,
            index,
            find_links,
            dists: Vec::new(),
            develop: Vec::new(),
            pycache: None,
        })
    }
}

impl Recipe for Eggs {
    fn identity(&self) -> String {
        "zc.recipe.egg:eggs 6.0.0 (built in)".into()
    }

    fn content_key(&self) -> String {
        let dists = serde_json::to_string(&self.dists).unwrap_or_default();
        if self.develop.is_empty() {
            return dists;
        }
        // Scripts put develop projects on their path (parts made before
        // they did are rebuilt).
        format!("{dists} develop {:?}", self.develop)
    }

    fn outputs(&self) -> Vec<String> {
        Vec::new()
    }

    fn prepare(&mut self, services: &mut dyn Services) -> Result<()> {
        self.dists = services.distributions(&DistRequest {
            requirements: &self.requirements,
            python: &self.python,
            index: self.index.as_deref(),
            find_links: self.find_links.as_deref(),
            overrides: &[],
        })?;
        self.develop = self
            .dists
            .iter()
            .filter_map(|d| services.develop_source(&d.path))
            .map(|dir| dir.display().to_string())
            .collect();
        self.pycache = services.bytecode_cache();
        Ok(())
    }

    fn distributions(&self) -> Vec<DistEntry> {
        self.dists.clone()
    }

    fn interpreter(&self) -> Option<String> {
        Some(self.python.clone())
    }

    fn build(&self, out: &Path) -> Result<()> {
        super::write_dists_record(out, "working-set.json", &self.dists)
    }
}

/// A constructed `zc.recipe.egg` (`default`, `script`, `scripts`) part: the
/// working set of [`Eggs`] plus console scripts and an interpreter.
#[derive(Debug)]
pub struct Scripts {
    eggs: Eggs,
    directory: String,
    /// `scripts`: `None` = every console script of the listed eggs;
    /// `Some(empty)` = none at all (not even the interpreter).
    scripts: Option<Vec<(String, String)>>,
    entry_points: Vec<(String, EntryPoint)>,
    dependent_scripts: bool,
    interpreter: Option<String>,
    extra_paths: Vec<String>,
    initialization: String,
    arguments: String,
    relative_paths: bool,
    /// An `entry-points` token that does not parse.
    bad_entry_point: Option<String>,
    /// Filled by `prepare`: (script name, entry point), in generation order.
    planned: Vec<(String, Source)>,
    notes: Vec<Note>,
    location: String,
}

/// zc.recipe.egg's `get_bool`.
fn get_bool(buildout: &mut Buildout, part: &str, name: &str) -> Result<bool> {
    match buildout.get(part, name, None)?.as_deref() {
        None | Some("") | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(v) => Err(Error::User(format!("Invalid value for {name} option: {v}"))),
    }
}

impl Scripts {
    pub fn new(buildout: &mut Buildout, part: &str, directory: &str) -> Result<Self> {
        let eggs = Eggs::new(buildout, part, directory)?;
        let extra_paths: Vec<String> = buildout
            .get(part, "extra-paths", None)?
            .unwrap_or_default()
            .lines()
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| pystr::join(directory, p))
            .collect();
        if !extra_paths.is_empty() {
            buildout.set(part, "extra-paths", extra_paths.join("\n"));
        }
        let relative_paths = match buildout.get(part, "relative-paths", None)? {
            Some(v) => v,
            None => buildout
                .get("buildout", "relative-paths", None)?
                .unwrap_or_else(|| "false".into()),
        };
        let relative_paths = match relative_paths.as_str() {
            "true" => {
                buildout.set(part, "buildout-directory", directory.to_string());
                true
            }
            "false" => false,
            other => {
                return Err(Error::User(format!(
                    "Invalid value for relative-paths option: {other}"
                )));
            }
        };
        let scripts = buildout.get(part, "scripts", None)?.map(|s| {
            let mut out: Vec<(String, String)> = Vec::new();
            for token in s.split_whitespace() {
                let (name, target) = token.split_once('=').unwrap_or((token, token));
                match out.iter_mut().find(|(n, _)| n == name) {
                    Some(entry) => entry.1 = target.to_string(),
                    None => out.push((name.to_string(), target.to_string())),
                }
            }
            out
        });
        // zc.recipe.egg reads the rest only when it generates scripts
        // (`scripts =` empty: none), which decides what counts as unused.
        let generates = scripts.as_ref().is_none_or(|s| !s.is_empty());
        let mut read = |option: &str| -> Result<Option<String>> {
            Ok(if generates {
                buildout.get(part, option, None)?
            } else {
                None
            })
        };
        // Compiled on first use only: its Unicode `\w` classes cost about a
        // millisecond, paid by every run of every part otherwise.
        static PATTERN: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
            regex::Regex::new(r"^([^=]+)=(\w+(?:[.]\w+)*):(\w+(?:[.]\w+)*)$")
                .expect("a valid pattern")
        });
        let mut entry_points = Vec::new();
        let mut bad_entry_point = None;
        for token in read("entry-points")?.unwrap_or_default().split_whitespace() {
            match PATTERN.captures(token) {
                Some(c) => entry_points.push((
                    c[1].to_string(),
                    EntryPoint {
                        module: c[2].to_string(),
                        attrs: c[3].to_string(),
                    },
                )),
                None => {
                    bad_entry_point = Some(token.to_string());
                    break;
                }
            }
        }
        let interpreter = read("interpreter")?
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty());
        let initialization = read("initialization")?.unwrap_or_default();
        let arguments = read("arguments")?.unwrap_or_default();
        Ok(Self {
            dependent_scripts: generates && get_bool(buildout, part, "dependent-scripts")?,
            interpreter,
            initialization,
            arguments,
            eggs,
            directory: directory.to_string(),
            scripts,
            entry_points,
            extra_paths,
            relative_paths,
            bad_entry_point,
            planned: Vec::new(),
            notes: Vec::new(),
            location: String::new(),
        })
    }

    /// Every script file: (name under `bin/`, text).
    fn texts(&self) -> Vec<(String, String)> {
        let site = format!("{}/site", self.location);
        let members: Vec<std::path::PathBuf> = self
            .eggs
            .dists
            .iter()
            .map(|d| std::path::PathBuf::from(&d.path))
            .collect();
        // A develop dist's project is on the path, as zc.buildout's location
        // of a develop egg: setuptools' editable finder (`import` lines of
        // its `.pth`) is not run by scripts.
        let extra: Vec<String> = self
            .eggs
            .develop
            .iter()
            .chain(&self.extra_paths)
            .cloned()
            .collect();
        let paths = scripts::path_list(&site, &members, &extra);
        let mut out: Vec<(String, String)> = Vec::new();
        let mut add = |name: &str, text: String| match out.iter_mut().find(|(n, _)| n == name) {
            Some(entry) => entry.1 = text,
            None => out.push((name.to_string(), text)),
        };
        for (name, source) in &self.planned {
            let script = format!("{}/bin/{name}", self.directory);
            let text = match source {
                Source::Entry(entry) => {
                    scripts::console_script(&self.frame(&paths, &script), entry, &self.arguments)
                }
                Source::Data(DataScript::Python(contents)) => {
                    scripts::distutils_script(&self.frame(&paths, &script), contents)
                }
                // Linked as they are (see `build`).
                Source::Data(DataScript::Other(_)) => continue,
            };
            add(name, text);
        }
        if let Some(name) = self.interpreter.as_ref().filter(|_| self.generates()) {
            let script = format!("{}/bin/{name}", self.directory);
            add(
                name,
                scripts::interpreter_script(&self.frame(&paths, &script)),
            );
        }
        out
    }

    /// What the part's scripts share, for the script at `script`.
    fn frame<'a>(&'a self, paths: &'a [String], script: &'a str) -> Frame<'a> {
        Frame {
            python: &self.eggs.python,
            paths,
            mode: self.mode(script),
            initialization: &self.initialization,
            pycache: self.eggs.pycache.as_deref(),
        }
    }

    fn mode<'a>(&'a self, script: &'a str) -> Paths<'a> {
        if self.relative_paths {
            Paths::Relative {
                buildout: &self.directory,
                script,
            }
        } else {
            Paths::Absolute
        }
    }

    /// `scripts =` present but empty generates nothing at all.
    fn generates(&self) -> bool {
        self.scripts.as_ref().is_none_or(|s| !s.is_empty())
    }

    /// `bin/<name>`, if `name` may be a script's name
    /// ([`crate::profile::paths::decide`]).
    fn script_path(&self, name: &str, origin: Origin<'_>) -> Result<String> {
        Ok(paths::decide(
            &self.directory,
            &self.eggs.part,
            Request::Script { name, origin },
        )?)
    }

    fn script_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.planned.iter().map(|(n, _)| n.clone()).collect();
        if let Some(i) = self.interpreter.as_ref().filter(|_| self.generates()) {
            names.push(i.clone());
        }
        let mut seen = std::collections::BTreeSet::new();
        names.retain(|n| seen.insert(n.clone()));
        names
    }

    /// Console scripts of the listed eggs (or of every member with
    /// `dependent-scripts`), then those of `entry-points`.
    fn available(&self) -> Vec<Available> {
        let mut wanted: Vec<String> = self
            .eggs
            .requirements
            .iter()
            .map(|r| canonicalize_name(r.name.as_str()))
            .collect();
        if self.dependent_scripts {
            for d in &self.eggs.dists {
                let n = canonicalize_name(&d.name);
                if n != "setuptools" && !wanted.contains(&n) {
                    wanted.push(n);
                }
            }
        }
        let mut available: Vec<Available> = Vec::new();
        for name in &wanted {
            if let Some(d) = self
                .eggs
                .dists
                .iter()
                .find(|d| canonicalize_name(&d.name) == *name)
            {
                let dist = format!("{} {}", d.name, d.version);
                let dir = Path::new(&d.path);
                let entries = scripts::console_scripts(dir)
                    .into_iter()
                    .chain(scripts::gui_scripts(dir))
                    .map(|(name, entry)| (name, Source::Entry(entry)));
                let data = scripts::data_scripts(dir)
                    .into_iter()
                    .map(|(name, script)| (name, Source::Data(script)));
                available.extend(entries.chain(data).map(|(name, source)| Available {
                    name,
                    source,
                    dist: Some(dist.clone()),
                }));
            }
        }
        available.extend(self.entry_points.iter().map(|(name, entry)| Available {
            name: name.clone(),
            source: Source::Entry(entry.clone()),
            dist: None,
        }));
        available
    }

    /// Plans the scripts `scripts` selects (and renames) among
    /// `available`, all of them without it. Every script name is a plain
    /// file name, checked before anything is written: whoever chose it is
    /// named.
    fn select(&mut self, available: &[Available]) -> Result<()> {
        for Available { name, source, dist } in available {
            let target = match &self.scripts {
                None => name.clone(),
                Some(selected) => match selected.iter().find(|(n, _)| n == name) {
                    Some((_, t)) => t.clone(),
                    None => continue,
                },
            };
            let origin = match dist {
                _ if target != *name => Origin::Option("scripts"),
                Some(dist) => Origin::Distribution(dist),
                None => Origin::Option("entry-points"),
            };
            self.script_path(&target, origin)?;
            if let Some(i) = self.planned.iter().position(|(n, _)| *n == target) {
                // As zc.buildout, which writes the later one over the
                // earlier: the later wins, but not silently.
                self.notes.push(Note::Warning(format!(
                    "{}: two scripts are named {target} ({}): the later one is generated.",
                    self.eggs.part,
                    dist.as_deref().unwrap_or("entry-points")
                )));
                self.planned.remove(i);
            }
            self.planned.push((target, source.clone()));
        }
        Ok(())
    }

    /// The part's notes, in zc.buildout's order: scripts, warnings for
    /// selected scripts nothing defines, the interpreter.
    fn add_notes(&mut self, available: &[Available]) {
        for (name, _) in &self.planned {
            self.notes.push(Note::Generated {
                output: format!("bin/{name}"),
                line: format!(
                    "Generated script {}.",
                    pystr::repr(&format!("{}/bin/{name}", self.directory))
                ),
            });
        }
        if let Some(selected) = &self.scripts {
            for (name, target) in selected {
                if !available.iter().any(|a| a.name == *name) {
                    self.notes.push(Note::Warning(if name == target {
                        format!(
                            "Could not generate script '{name}' as it is not defined in the egg entry points."
                        )
                    } else {
                        format!(
                            "Could not generate script '{name}' as script '{target}' is not defined in the egg entry points."
                        )
                    }));
                }
            }
        }
        if let Some(name) = self.interpreter.as_ref() {
            self.notes.push(Note::Generated {
                output: format!("bin/{name}"),
                line: format!(
                    "Generated interpreter {}.",
                    pystr::repr(&format!("{}/bin/{name}", self.directory))
                ),
            });
        }
    }
}

/// A console script a scripts part could generate.
struct Available {
    name: String,
    source: Source,
    /// The distribution that declares it (`None`: the `entry-points`
    /// option).
    dist: Option<String>,
}

/// What a script is made from.
#[derive(Debug, Clone)]
enum Source {
    /// A `console_scripts` or `gui_scripts` entry point (or `entry-points`).
    Entry(EntryPoint),
    /// A wheel data script of a distribution.
    Data(DataScript),
}

impl Recipe for Scripts {
    fn identity(&self) -> String {
        "zc.recipe.egg:scripts 6.0.0 (built in, site directory 2, data scripts, python-like -m/-c arguments)".into()
    }

    fn content_key(&self) -> String {
        self.eggs.content_key()
    }

    fn outputs(&self) -> Vec<String> {
        self.script_names()
            .into_iter()
            .map(|n| format!("bin/{n}"))
            .collect()
    }

    fn prepare(&mut self, services: &mut dyn Services) -> Result<()> {
        if let Some(bad) = &self.bad_entry_point {
            self.notes.push(Note::Warning(format!(
                "{}: Cannot parse the entry point {bad}.",
                self.eggs.part
            )));
            return Err(Error::User("Invalid entry point".into()));
        }
        self.eggs.prepare(services)?;
        if !self.generates() {
            return Ok(());
        }
        let available = self.available();
        self.select(&available)?;
        if let Some(name) = &self.interpreter {
            self.script_path(name, Origin::Option("interpreter"))?;
        }
        self.add_notes(&available);
        Ok(())
    }

    fn distributions(&self) -> Vec<DistEntry> {
        self.eggs.distributions()
    }

    fn interpreter(&self) -> Option<String> {
        self.eggs.interpreter()
    }

    fn set_location(&mut self, location: &str) {
        self.location = location.to_string();
    }

    fn notes(&self) -> Vec<Note> {
        self.notes.clone()
    }

    fn build(&self, out: &Path) -> Result<()> {
        self.eggs.build(out)?;
        let members: Vec<std::path::PathBuf> = self
            .eggs
            .dists
            .iter()
            .map(|d| std::path::PathBuf::from(&d.path))
            .collect();
        let site = out.join("site");
        scripts::build_site(&site, &members).map_err(io("build the site directory", &site))?;
        let bin = out.join("outputs/bin");
        std::fs::create_dir_all(&bin).map_err(io("create", &bin))?;
        // Data scripts that are not Python (native binaries, shell
        // scripts) are linked as they are, into their distribution's object.
        for (name, source) in &self.planned {
            if let Source::Data(DataScript::Other(path)) = source {
                let file = bin.join(name);
                std::os::unix::fs::symlink(path, &file).map_err(io("link", &file))?;
            }
        }
        for (name, text) in self.texts() {
            let file = bin.join(&name);
            if let Some(parent) = file.parent() {
                std::fs::create_dir_all(parent).map_err(io("create", parent))?;
            }
            std::fs::write(&file, text).map_err(io("write", &file))?;
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o755))
                .map_err(io("make executable", &file))?;
        }
        Ok(())
    }
}
