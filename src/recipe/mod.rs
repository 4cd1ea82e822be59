//! Recipes: what turns a part's options into a store object.
//!
//! A recipe is found by the name in `recipe =` (`dist[:entry]`, entry
//! defaulting to `default`). Built-in Rust implementations serve the common
//! recipes; each is constructed once per run with the part's options (as
//! zc.buildout constructs `Recipe(buildout, name, options)`), then says
//! which files it manages in the buildout directory and builds them into a
//! staging directory handed out by the store. Recipes whose distribution
//! is not built in run in the Python recipe host ([`host`]); their parts
//! are [`hosted::Hosted`].

pub mod custom;
pub mod develop;
pub mod egg;
pub mod host;
pub mod hosted;
pub mod part;
pub mod template;

use crate::config::{self, Buildout};
use crate::profile::manifest::DistEntry;
use crate::python::Requirement;
use std::path::{Path, PathBuf};

/// A recipe error, in zc.buildout's words where it has them.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Config(#[from] config::Error),
    #[error(transparent)]
    Store(#[from] crate::store::Error),
    /// `zc.buildout.UserError` raised by a recipe.
    #[error("{0}")]
    User(String),
    #[error(
        "the recipe `{recipe}` of part `{part}` is not built in (built-in recipes: {builtin}): \
         it runs in the recipe host during an install, and its part's object cannot be made \
         again without running it"
    )]
    Unavailable {
        part: String,
        recipe: String,
        builtin: String,
    },
    /// A path the part names is refused ([`crate::profile::paths`]).
    #[error(transparent)]
    Profile(#[from] crate::profile::Error),
    /// Resolving or installing distributions failed.
    #[error("{0}")]
    Distributions(String),
    /// The recipe host failed, or a recipe or extension raised.
    #[error(transparent)]
    Host(#[from] host::Error),
    #[error(transparent)]
    Io(#[from] crate::fs::IoError),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A constructed recipe for one part.
pub trait Recipe {
    /// The recipe's identity and version, part of the part's address.
    fn identity(&self) -> String;
    /// What the output depends on beyond the options (e.g. a rendered
    /// template): hashed into the part's address.
    fn content_key(&self) -> String;
    /// Files the part manages, relative to the buildout directory.
    fn outputs(&self) -> Vec<String>;
    /// Builds the part into `out` (which does not exist yet): managed files
    /// go to `out/outputs/<relative path>`.
    fn build(&self, out: &Path) -> Result<()>;
    /// Obtains what the part needs besides its own output (distributions),
    /// before its address is computed.
    fn prepare(&mut self, _services: &mut dyn Services) -> Result<()> {
        Ok(())
    }
    /// The distributions of the part's working set, in order.
    fn distributions(&self) -> Vec<DistEntry> {
        Vec::new()
    }
    /// The interpreter the part runs with, if it has one.
    fn interpreter(&self) -> Option<String> {
        None
    }
    /// Work done outside the store, directly in the buildout directory,
    /// after the new generation is current (zc.buildout recipes that only
    /// have side effects, and files a recipe must not overwrite).
    fn after_switch(&self, _printer: &mut dyn FnMut(&str)) -> Result<()> {
        Ok(())
    }
    /// Told the part's store path (its `${part:location}`) once it is
    /// known, before [`Recipe::build`]: outputs that name their own object
    /// (scripts importing from the part's `site/`) need it.
    fn set_location(&mut self, _location: &str) {}
    /// What to log once the part is installed (or, for warnings, when
    /// preparing it failed).
    fn notes(&self) -> Vec<Note> {
        Vec::new()
    }
    /// The part's recipe runs in the recipe host.
    fn hosted(&self) -> Option<&hosted::Hosted> {
        None
    }
    /// A dry run did not construct the part's recipe (`recipe` option).
    fn not_run(&self) -> Option<String> {
        None
    }
}

/// A line a recipe asks the install to log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Note {
    /// Logged as a warning.
    Warning(String),
    /// Logged when the managed output `output` (relative to the buildout
    /// directory) differs from the current generation's: zc.buildout logs
    /// `Generated script '...'.` only when it writes the file.
    Generated { output: String, line: String },
}

/// What a part asks of the installer when it is prepared.
pub trait Services {
    /// Resolves `requirements` for `python` with the buildout's version
    /// rules (and the part's own `index`/`find-links`, when given), puts
    /// every distribution into the store, and returns the working set.
    fn distributions(&mut self, request: &DistRequest<'_>) -> Result<Vec<DistEntry>>;

    /// Builds (or reuses) the editable install of the local project in
    /// `setup` (absolute) for `python`; later `distributions` requests of
    /// that interpreter get it instead of any index version
    /// (`zc.recipe.egg:develop`).
    fn develop(&mut self, _part: &str, _setup: &Path, _python: &str) -> Result<DistEntry> {
        Err(Error::Distributions(
            "develop builds are not available here".into(),
        ))
    }

    /// The project directory of the develop dist at the store path `path`
    /// (absolute), if it is one: zc.buildout's location of a develop egg
    /// (the directory its `.egg-link` names).
    fn develop_source(&self, _path: &str) -> Option<PathBuf> {
        None
    }

    /// Builds `requirement` from its sdist with `environment` added to the
    /// build's environment (`zc.recipe.egg:custom`); later `distributions`
    /// requests of that interpreter get it instead of any index version.
    fn custom(&mut self, _request: &CustomRequest<'_>) -> Result<DistEntry> {
        Err(Error::Distributions(
            "custom builds are not available here".into(),
        ))
    }

    /// Replaces the `[versions]` pins of every later request (what an
    /// extension passes to `easy_install.default_versions`).
    fn set_versions(
        &mut self,
        _versions: &std::collections::BTreeMap<String, String>,
    ) -> Result<()> {
        Ok(())
    }

    /// Where scripts must point `sys.pycache_prefix`: the store's bytecode
    /// cache when distributions are installed without bytecode
    /// (`compile-bytecode = false`), else `None`.
    fn bytecode_cache(&self) -> Option<String> {
        None
    }
}

/// A `zc.recipe.egg:custom` build request.
#[derive(Debug, Clone)]
pub struct CustomRequest<'a> {
    pub requirement: &'a Requirement,
    pub python: &'a str,
    pub index: Option<&'a str>,
    pub find_links: Option<&'a [String]>,
    /// Variables added to the build's environment.
    pub environment: &'a [(String, String)],
}

/// A working-set request of one part.
#[derive(Debug, Clone)]
pub struct DistRequest<'a> {
    pub requirements: &'a [Requirement],
    /// The interpreter.
    pub python: &'a str,
    pub index: Option<&'a str>,
    pub find_links: Option<&'a [String]>,
    /// Pins that replace `[versions]` for this request only (the recipe
    /// host's own `zc.buildout` and `zc.recipe.egg`): these projects and
    /// what they require are the tool's own, never picked versions.
    pub overrides: &'a [(String, String)],
}

/// The built-in recipes and entries.
pub const BUILTIN: &[&str] = &[
    "collective.recipe.template",
    "zc.recipe.egg",
    "zc.recipe.egg:custom",
    "zc.recipe.egg:develop",
    "zc.recipe.egg:eggs",
    "zc.recipe.egg:script",
    "zc.recipe.egg:scripts",
];

/// The canonical project name and the entry of a `recipe` option.
fn recipe_key(spec: &str) -> (String, String) {
    let (dist, entry) = host::split_spec(spec);
    let name = crate::python::marker::canonicalize_name(
        dist.split(|c: char| "<>=!~ ;[".contains(c))
            .next()
            .unwrap_or(&dist),
    );
    (name, entry)
}

/// Whether the recipe `spec` is one of [`BUILTIN`].
pub fn is_builtin(spec: &str) -> bool {
    let (name, entry) = recipe_key(spec);
    matches!(
        (name.as_str(), entry.as_str()),
        ("collective-recipe-template", "default")
            | (
                "zc-recipe-egg",
                "eggs" | "custom" | "develop" | "default" | "script" | "scripts"
            )
    )
}

/// Sets the options a built-in recipe's zc.buildout constructor sets, when
/// `part`'s section is initialised (zc.buildout constructs the recipe
/// there), so substitutions in other sections see them:
/// `${scripts:bin-directory}` names zc.recipe.egg's `bin-directory`.
pub fn preset(buildout: &mut Buildout, part: &str, spec: &str) -> crate::config::Result<()> {
    let (name, entry) = recipe_key(spec);
    if name != "zc-recipe-egg" {
        return Ok(());
    }
    // (option, [buildout] option) in zc.recipe.egg's order.
    let mut set: Vec<(&str, &str)> = match entry.as_str() {
        "eggs" | "default" | "script" | "scripts" => vec![
            ("eggs-directory", "eggs-directory"),
            ("_e", "eggs-directory"),
            ("develop-eggs-directory", "develop-eggs-directory"),
            ("_d", "develop-eggs-directory"),
        ],
        "custom" => vec![("_d", "develop-eggs-directory"), ("_e", "eggs-directory")],
        "develop" => vec![("_d", "develop-eggs-directory")],
        _ => return Ok(()),
    };
    if matches!(entry.as_str(), "default" | "script" | "scripts") {
        set.extend([("bin-directory", "bin-directory"), ("_b", "bin-directory")]);
    }
    for (option, from) in set {
        let value = buildout.require("buildout", from)?;
        buildout.set(part, option, value);
    }
    Ok(())
}

/// Constructs the recipe of `part` (its section is initialised).
pub fn construct(buildout: &mut Buildout, part: &str, directory: &str) -> Result<Box<dyn Recipe>> {
    let spec = buildout.require(part, "recipe")?;
    let (name, entry) = recipe_key(&spec);
    match (name.as_str(), entry.as_str()) {
        ("collective-recipe-template", "default") => Ok(Box::new(template::Template::new(
            buildout, part, directory,
        )?)),
        ("zc-recipe-egg", "eggs") => Ok(Box::new(egg::Eggs::new(buildout, part, directory)?)),
        ("zc-recipe-egg", "custom") => {
            Ok(Box::new(custom::Custom::new(buildout, part, directory)?))
        }
        ("zc-recipe-egg", "develop") => {
            Ok(Box::new(develop::Develop::new(buildout, part, directory)?))
        }
        ("zc-recipe-egg", "default" | "script" | "scripts") => {
            Ok(Box::new(egg::Scripts::new(buildout, part, directory)?))
        }
        _ => Err(Error::Unavailable {
            part: part.to_string(),
            recipe: spec.clone(),
            builtin: BUILTIN.join(", "),
        }),
    }
}

/// A part's interpreter, as zc.recipe.egg finds it: its `executable`
/// option, else the `executable` of the section its `python` option names,
/// else `[buildout] executable`.
pub fn part_interpreter(buildout: &mut Buildout, part: &str) -> Result<String> {
    if let Some(exe) = buildout.get(part, "executable", None)? {
        return Ok(exe);
    }
    let section = match buildout.get(part, "python", None)? {
        Some(section) => section.trim().to_string(),
        None => "buildout".to_string(),
    };
    Ok(buildout.require(&section, "executable")?)
}

/// Builds a part object that only records distributions: `out/<file>`
/// holds them as JSON (the part object references each of them).
pub(crate) fn write_dists_record<T: serde::Serialize>(
    out: &Path,
    file: &str,
    dists: &T,
) -> Result<()> {
    std::fs::create_dir(out).map_err(io("create", out))?;
    let path = out.join(file);
    let json = serde_json::to_string_pretty(dists).unwrap_or_default();
    std::fs::write(&path, json + "\n").map_err(io("write", &path))?;
    Ok(())
}

pub(crate) use crate::fs::io;
