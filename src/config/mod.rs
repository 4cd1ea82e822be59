//! The zc.buildout configuration language.
//!
//! [`Config::load`] composes the layers ([`load`]), parsing each file
//! ([`parse`]; conditional sections via [`condition`]), merging them with
//! their histories ([`annotated`]), then initialises `[buildout]` and the
//! versions section with substitution ([`sections`]) and applies
//! zc.buildout's checks of the `[buildout]` options. `annotate` output is
//! rendered by [`annotate`]. Remote `extends` are fetched by [`fetch`].
//!
//! Error texts are zc.buildout's own (they are part of the compatibility
//! contract), so unlike the rest of the crate they are capitalised
//! sentences; every error carries the `While:` context lines zc.buildout
//! would print.

pub mod annotate;
pub mod annotated;
pub mod condition;
pub mod fetch;
pub mod load;
pub mod parse;
pub mod sections;

/// Python string and path semantics (lives in [`crate::python::pystr`]).
pub use crate::python::pystr;

pub use annotated::Data;
pub use sections::Buildout;

use crate::python::LazyFacts;
use annotated::{COMPUTED_VALUE, DEFAULT_VALUE, SectionKey};
use std::path::Path;

/// A `[section:]option[+|-]=value` command-line assignment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    pub section: String,
    /// The option name without the `+`/`-` operator.
    pub option: String,
    pub op: AssignOp,
    pub value: String,
}

/// How an assignment combines with the value beneath it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssignOp {
    Set,
    Add,
    Remove,
}

/// What went wrong, in zc.buildout's words.
#[derive(Debug, thiserror::Error)]
pub enum ErrorKind {
    /// A user error (`zc.buildout.UserError`): printed as `Error: <text>`.
    #[error("{0}")]
    User(String),
    #[error("The referenced section, {}, was not defined.", pystr::repr(.0))]
    MissingSection(String),
    #[error(transparent)]
    Parse(#[from] parse::ParseError),
    #[error("cannot read `{path}`: {message}")]
    Io { path: String, message: String },
    /// An error raised by a recipe's constructor in the recipe host:
    /// `traceback` is set for anything but `zc.buildout.UserError`
    /// (zc.buildout's "internal error" report).
    #[error("{message}")]
    Recipe {
        message: String,
        traceback: Option<String>,
    },
}

/// A configuration error with the `While:` lines of where it happened.
#[derive(Debug, thiserror::Error)]
#[error("{kind}")]
pub struct Error {
    pub(crate) context: Vec<String>,
    pub(crate) kind: ErrorKind,
}

impl From<ErrorKind> for Error {
    fn from(kind: ErrorKind) -> Self {
        Self {
            context: Vec::new(),
            kind,
        }
    }
}

impl Error {
    /// `While:` lines contributed by the configuration layer.
    pub fn context(&self) -> &[String] {
        &self.context
    }

    /// The `Error:` text.
    pub fn message(&self) -> String {
        self.kind.to_string()
    }

    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The largest configuration file read (local, `file://` or downloaded
/// `extends`, user defaults): 16 MiB. A larger one is an error naming it,
/// so `extends = huge.cfg` cannot exhaust memory.
pub const MAX_CONFIG_FILE_SIZE: u64 = 16 * 1024 * 1024;

/// The largest value a substitution may produce: 16 MiB. Values that
/// double at each level (`a = ${:b}${:b}`, 40 levels) stop with an error
/// naming the option instead of growing without bound.
pub const MAX_VALUE_SIZE: usize = 16 * 1024 * 1024;

/// How deeply `${section:option}` references may nest (a reference to an
/// option whose value holds a reference, and so on): 128 levels. A deeper
/// chain is an error naming its first and last option, never a stack
/// overflow; a real cycle keeps zc.buildout's `Circular reference in
/// substitutions.`.
pub const MAX_SUBSTITUTION_DEPTH: usize = 128;

/// How deeply the evaluation of sections may nest in all (macros `<=`,
/// `=>` dependencies, section initialisation and substitution, each level
/// counting one to three steps): 512 steps. Past it, an error naming
/// where evaluation stood, never a stack overflow.
pub const MAX_EVALUATION_DEPTH: usize = 512;

/// How many files an `extends` chain may nest (a file extending a file
/// extending ...): 64. Past it, an error naming the file.
pub const MAX_EXTENDS_DEPTH: usize = 64;

/// `n` bytes as the limits above are documented (`16 MiB`).
pub(crate) fn mib(n: u64) -> String {
    format!("{} MiB", n / (1024 * 1024))
}

/// Log levels, as zc.buildout's logging uses them.
pub mod level {
    pub const DEBUG: i32 = 10;
    pub const INFO: i32 = 20;
    pub const WARNING: i32 = 30;
    pub const ERROR: i32 = 40;
    pub const CRITICAL: i32 = 50;
    /// Printed whatever the level (zc.buildout's bare `print`).
    pub const ALWAYS: i32 = i32::MAX;
}

/// Receives the messages printed while loading.
pub trait Reporter {
    /// `level` is one of [`level`]; the receiver filters by its threshold.
    fn message(&mut self, level: i32, text: &str);
    /// The log threshold (after `log-level` and verbosity are read) and
    /// `log-format` are known; an `Err` is the complaint about the format.
    fn set_logging(&mut self, threshold: i32, format: &str) -> std::result::Result<(), String>;
}

/// The command being run, where it changes how loading behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Purpose {
    /// `init [requirements]`: write the configuration file if it is missing.
    Init(Vec<String>),
    Other,
}

/// Inputs of [`Config::load`].
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// `-c`; `None` means `buildout.cfg`.
    pub config_file: Option<String>,
    pub cwd: String,
    pub assignments: Vec<Assignment>,
    /// zc.buildout units: +10 per `-v`.
    pub verbosity: i32,
    pub use_user_defaults: bool,
    pub purpose: Purpose,
    /// The `executable` default; `None` finds `python3` on PATH.
    pub executable: Option<String>,
}

/// A loaded configuration.
#[derive(Debug)]
pub struct Config {
    /// Every option with its history, as `annotate` shows it.
    pub annotated: Data,
    /// The evaluated configuration: `[buildout]` and the versions section
    /// are initialised; others initialise on first access.
    pub buildout: Buildout<'static>,
    /// `${buildout:directory}`.
    pub directory: String,
    /// The effective log threshold (`log-level` minus verbosity).
    pub log_level: i32,
}

impl Config {
    /// Loads the configuration the way `zc.buildout.buildout.Buildout()` does.
    pub fn load(opts: &LoadOptions, reporter: &mut dyn Reporter) -> Result<Self> {
        let initializing = "Initializing.".to_string();
        Self::load_inner(opts, reporter).map_err(|mut e| {
            e.context.insert(0, initializing);
            e
        })
    }

    /// zc.buildout's `Buildout.__init__`, in its steps: find the
    /// configuration file, read the layers (user defaults, the file with
    /// its `extends`, the command line), settle `executable` and the
    /// versions section, make cache directories absolute, then evaluate
    /// `[buildout]` ([`Self::finish`]).
    fn load_inner(opts: &LoadOptions, reporter: &mut dyn Reporter) -> Result<Self> {
        // Conditions that only Python evaluates see `opts.cwd` as `.`.
        let mut facts = LazyFacts::default().with_working_dir(opts.cwd.clone().into());
        // `python3` on PATH is probed only if no layer sets `executable`
        // (through a pyenv shim, that probe alone costs a few hundred ms).
        let executable = opts
            .executable
            .clone()
            .unwrap_or_else(|| UNRESOLVED_EXECUTABLE.to_string());
        let mut data = Data::new();
        data.insert("buildout".into(), load::default_options(&executable));
        let config_file = locate_config_file(opts, &mut data, reporter)?;
        let mut loader = load::Loader {
            cwd: opts.cwd.clone(),
            facts: &mut facts,
            notices: Vec::new(),
        };
        let mut data = read_layers(&mut loader, opts, config_file.as_deref(), data, reporter)?;
        if let Some(key) = data
            .get_mut("buildout")
            .and_then(|b| b.get_mut("executable"))
            .filter(|k| k.value.contains(UNRESOLVED_EXECUTABLE))
        {
            resolve_executable(key, loader.facts);
        }
        let versions_name = add_versions_section(&mut data)?;
        load::absolutize_cache_dirs(&mut data, &opts.cwd)?;
        let (buildout, directory) = evaluate(&data, &opts.cwd)?;
        let mut config = Config {
            annotated: data,
            buildout,
            directory,
            log_level: level::INFO,
        };
        config.finish(&versions_name, reporter)?;
        Ok(config)
    }

    /// The rest of zc.buildout's initialisation: directories, logging,
    /// socket timeout, the versions section and the boolean options.
    fn finish(&mut self, versions_name: &str, reporter: &mut dyn Reporter) -> Result<()> {
        let buildout = &mut self.buildout;
        buildout.get("buildout", "find-links", None)?;
        buildout.require("buildout", "allow-hosts")?;
        self.directory = buildout.require("buildout", "directory")?;
        for name in ["bin", "parts", "eggs", "develop-eggs"] {
            let key = format!("{name}-directory");
            let v = buildout.require("buildout", &key)?;
            buildout.set("buildout", &key, buildout_path(&self.directory, &v));
        }
        let installed = buildout.require("buildout", "installed")?;
        if !installed.is_empty() {
            buildout.set(
                "buildout",
                "installed",
                pystr::join(&self.directory, &installed),
            );
        }

        let log_format = buildout.require("buildout", "log-format")?;
        let log_level = buildout.require("buildout", "log-level")?;
        let mut level = match log_level.as_str() {
            "DEBUG" => level::DEBUG,
            "INFO" => level::INFO,
            "WARNING" => level::WARNING,
            "ERROR" => level::ERROR,
            "CRITICAL" => level::CRITICAL,
            other => other.trim().parse::<i32>().map_err(|_| {
                Error::from(ErrorKind::User(format!("Invalid logging level {other}")))
            })?,
        };
        let verbosity = buildout
            .get("buildout", "verbosity", None)?
            .unwrap_or_else(|| "0".into());
        let verbosity: i32 = verbosity
            .trim()
            .parse()
            .map_err(|_| Error::from(ErrorKind::User(format!("Invalid verbosity {verbosity}"))))?;
        level -= verbosity;
        self.log_level = level;
        reporter
            .set_logging(level, &log_format)
            .map_err(|m| Error::from(ErrorKind::User(m)))?;

        let timeout = buildout.require("buildout", "socket-timeout")?;
        if !timeout.is_empty() {
            match timeout.trim().parse::<i64>() {
                Ok(n) => reporter.message(level::INFO, &format!("Setting socket time out to {n} seconds.")),
                Err(_) => reporter.message(
                    level::WARNING,
                    &format!("Default socket timeout is used !\nValue in configuration is not numeric: [{timeout}].\n"),
                ),
            }
        }

        if !versions_name.is_empty() {
            buildout.section(versions_name)?;
        }
        buildout.require("buildout", "versions")?;
        for name in ["prefer-final", "use-dependency-links"] {
            let v = buildout.require("buildout", name)?;
            load::bool_option(&v, name)?;
        }
        buildout.get("buildout", "index", None)?;
        for name in ["allow-picked-versions", "show-picked-versions"] {
            let v = buildout.require("buildout", name)?;
            load::bool_option(&v, name)?;
        }
        buildout.require("buildout", "update-versions-file")?;
        buildout.get("buildout", "download-cache", None)?;
        buildout.get("buildout", "extends-cache", None)?;
        let eggs_version = buildout.require("buildout", "eggs-directory-version")?;
        if !eggs_version.is_empty() {
            let eggs = buildout.require("buildout", "eggs-directory")?;
            buildout.set(
                "buildout",
                "eggs-directory",
                pystr::join(&eggs, &eggs_version),
            );
        }
        let abi = buildout
            .get("buildout", "abi-tag-eggs", None)?
            .unwrap_or_else(|| "false".into());
        load::bool_option(&abi, "abi-tag-eggs")?;

        let install_from_cache = buildout.require("buildout", "install-from-cache")?;
        let offline = buildout.require("buildout", "offline")?;
        if load::bool_option(&install_from_cache, "install-from-cache")? && offline == "true" {
            return Err(ErrorKind::User(
                "install-from-cache can't be used with offline mode.\nNothing is installed, even from cache, in offline\nmode, which might better be called 'no-install mode'.\n".into(),
            )
            .into());
        }
        for (name, _) in load::default_options("") {
            buildout.get("buildout", &name, None)?;
        }
        Ok(())
    }

    /// Whether `-v` (or a `verbosity` option) is in effect, as `annotate`
    /// and `query` decide it.
    pub fn verbose(&mut self) -> Result<bool> {
        Ok(self.buildout.get("buildout", "verbosity", None)?.is_some())
    }

    /// Fills in the overridden default of `executable` in the history
    /// (probing `python3` on PATH): only `annotate` shows it.
    pub fn resolve_annotated_executable(&mut self) {
        if let Some(key) = self
            .annotated
            .get_mut("buildout")
            .and_then(|b| b.get_mut("executable"))
            .filter(|k| {
                k.history
                    .iter()
                    .any(|h| h.value.contains(UNRESOLVED_EXECUTABLE))
            })
        {
            resolve_executable(key, &mut LazyFacts::default());
        }
    }

    /// The raw (unsubstituted) value of an option, as `query` prints it.
    pub fn raw_value(&self, section: &str, option: &str) -> Option<Option<&String>> {
        self.buildout.raw_section(section).map(|s| s.get(option))
    }
}

/// The zc.buildout version whose behaviour and recipe API this release
/// reproduces (injected as the minimum `zc.buildout` pin, as zc.buildout does
/// with its own version).
pub const ZC_BUILDOUT_COMPAT: &str = "6.0.1";

/// The configuration file (`-c`, default `buildout.cfg`), made absolute
/// unless it is a URL; its directory becomes `${buildout:directory}`.
/// `init` writes it if it is missing; any other command needs it.
fn locate_config_file(
    opts: &LoadOptions,
    data: &mut Data,
    reporter: &mut dyn Reporter,
) -> Result<Option<String>> {
    let file = opts
        .config_file
        .clone()
        .unwrap_or_else(|| "buildout.cfg".into());
    if load::is_url(&file) {
        return Ok(Some(file));
    }
    let abs = pystr::abspath(&file, &opts.cwd);
    let exists = Path::new(&abs).exists();
    match (&opts.purpose, exists) {
        (Purpose::Init(args), false) => {
            reporter.message(level::ALWAYS, &format!("Creating {}.", pystr::repr(&abs)));
            write_init_config(&abs, args, &opts.cwd)?;
        }
        (Purpose::Init(_), true) => {
            return Err(ErrorKind::User(format!("{} already exists.", pystr::repr(&abs))).into());
        }
        (Purpose::Other, false) => {
            return Err(ErrorKind::User(format!("Couldn't open {abs}")).into());
        }
        (Purpose::Other, true) => {}
    }
    data.get_mut("buildout").expect("defaults").insert(
        "directory".into(),
        SectionKey::new(pystr::dirname(&abs), COMPUTED_VALUE),
    );
    Ok(Some(abs))
}

/// The command line's assignments per section, `-v` counted as a
/// `buildout:verbosity` assignment.
fn command_line_options(opts: &LoadOptions) -> Data {
    let mut assignments = opts.assignments.clone();
    if opts.verbosity != 0 {
        assignments.push(Assignment {
            section: "buildout".into(),
            option: "verbosity".into(),
            op: AssignOp::Set,
            value: opts.verbosity.to_string(),
        });
    }
    load::group_assignments(&assignments)
}

/// Merges the layers over the built-in defaults in `data`, lowest first:
/// the configuration file with its `extends` (user defaults beneath its
/// first leaf), the command line's `extends=` files, then the command
/// line's assignments.
fn read_layers(
    loader: &mut load::Loader<'_>,
    opts: &LoadOptions,
    config_file: Option<&str>,
    mut data: Data,
    reporter: &mut dyn Reporter,
) -> Result<Data> {
    let mut command_line = command_line_options(opts);
    // Taken before `extends` is removed below, as zc.buildout does.
    let overrides = command_line.get("buildout").cloned().unwrap_or_default();
    let user_config = load::user_config_path(&opts.cwd);
    let (user_defaults, for_download) =
        if opts.use_user_defaults && Path::new(&user_config).exists() {
            let user_defaults = loader.open(
                &pystr::dirname(&user_config),
                &user_config,
                &data["buildout"],
                &overrides,
                Data::new(),
            )?;
            let for_download = annotated::update(&data, &user_defaults);
            (user_defaults, for_download)
        } else {
            (Data::new(), data.clone())
        };
    flush_notices(loader, reporter);
    let mut files = Files {
        loader,
        download_options: for_download.get("buildout").cloned().unwrap_or_default(),
        overrides,
        user_defaults,
    };
    if let Some(file) = config_file {
        data = files.merge(data, &pystr::dirname(file), file, reporter)?;
    }
    if let Some(extends) = command_line
        .get_mut("buildout")
        .and_then(|b| b.remove("extends"))
    {
        for file in extends.value.split_whitespace() {
            data = files.merge(data, &pystr::dirname(file), pystr::basename(file), reporter)?;
        }
    }
    Ok(annotated::update_into(data, &command_line))
}

/// Reads configuration files (each with its `extends`) into the layers.
struct Files<'l, 'f> {
    loader: &'l mut load::Loader<'f>,
    /// The `[buildout]` options remote files are fetched with (defaults
    /// and user defaults).
    download_options: annotated::Section,
    /// The command line's `[buildout]` assignments.
    overrides: annotated::Section,
    /// Merged beneath the first leaf of each file's `extends` tree.
    user_defaults: Data,
}

impl Files<'_, '_> {
    /// `data` with `filename` (relative to `base`) merged over it.
    fn merge(
        &mut self,
        data: Data,
        base: &str,
        filename: &str,
        reporter: &mut dyn Reporter,
    ) -> Result<Data> {
        let layer = self.loader.open(
            base,
            filename,
            &self.download_options,
            &self.overrides,
            self.user_defaults.clone(),
        )?;
        flush_notices(self.loader, reporter);
        Ok(annotated::update_into(data, &layer))
    }
}

/// The versions section (`[buildout] versions`, default `versions`), with
/// the minimum pins zc.buildout injects; returns its name.
fn add_versions_section(data: &mut Data) -> Result<String> {
    let buildout = data.get_mut("buildout").expect("defaults");
    if !buildout.contains_key("versions") {
        buildout.insert(
            "versions".into(),
            SectionKey::new("versions", DEFAULT_VALUE),
        );
        data.entry("versions".into()).or_default();
    }
    let versions_name = data["buildout"]["versions"].value.clone();
    if !versions_name.is_empty() {
        let Some(versions) = data.get_mut(&versions_name) else {
            return Err(ErrorKind::MissingSection(versions_name).into());
        };
        versions
            .entry("zc.buildout".into())
            .or_insert_with(|| SectionKey::new(format!(">={}", ZC_BUILDOUT_COMPAT), DEFAULT_VALUE));
        versions
            .entry("zc.recipe.egg".into())
            .or_insert_with(|| SectionKey::new(">=2.0.6", DEFAULT_VALUE));
    }
    Ok(versions_name)
}

/// The evaluated configuration and the buildout directory: the `*-directory`
/// options made absolute in the raw `[buildout]`, `offline` and `newest`
/// checked, and `[buildout]` initialised.
fn evaluate(data: &Data, cwd: &str) -> Result<(Buildout<'static>, String)> {
    let mut buildout = Buildout::new(load::unannotate(data));
    let raw_buildout = buildout
        .raw_section("buildout")
        .cloned()
        .unwrap_or_default();
    let mut directory = cwd.to_string();
    if let Some(dir) = raw_buildout.get("directory") {
        directory.clone_from(dir);
        for name in ["bin", "parts", "eggs", "develop-eggs"] {
            let key = format!("{name}-directory");
            if let Some(v) = raw_buildout.get(&key) {
                buildout.set_raw("buildout", &key, buildout_path(&directory, v));
            }
        }
    }
    let offline = load::bool_option(raw_value(&raw_buildout, "offline"), "offline")?;
    if !offline {
        load::bool_option(raw_value(&raw_buildout, "newest"), "newest")?;
    }
    buildout.section("buildout")?;
    Ok((buildout, directory))
}

fn raw_value<'a>(section: &'a sections::Options, key: &str) -> &'a str {
    section.get(key).map_or("", String::as_str)
}

fn buildout_path(dir: &str, name: &str) -> String {
    if name.contains("${") {
        name.to_string()
    } else {
        pystr::join(dir, name)
    }
}

fn flush_notices(loader: &mut load::Loader<'_>, reporter: &mut dyn Reporter) {
    for notice in loader.notices.drain(..) {
        reporter.message(level::ALWAYS, &notice);
    }
}

/// Stands for `[buildout] executable` until the configuration is read.
const UNRESOLVED_EXECUTABLE: &str = "\u{1}python3 on PATH\u{1}";

/// Replaces [`UNRESOLVED_EXECUTABLE`] in `key` and its history.
fn resolve_executable(key: &mut annotated::SectionKey, facts: &mut LazyFacts) {
    let exe = default_executable(facts);
    key.value = key.value.replace(UNRESOLVED_EXECUTABLE, &exe);
    for h in &mut key.history {
        h.value = h.value.replace(UNRESOLVED_EXECUTABLE, &exe);
    }
}

/// The interpreter that `python3` on PATH really is (`sys.executable`, so
/// that a pyenv shim or a wrapper script resolves to the real binary).
/// Probed once and cached; `python3` when there is none.
pub fn default_executable(facts: &mut LazyFacts) -> String {
    facts
        .get()
        .map_or_else(|_| "python3".to_string(), |f| f.executable.clone())
}

/// Writes the configuration `buildout init [args]` creates.
fn write_init_config(path: &str, args: &[String], cwd: &str) -> Result<()> {
    let is_path = |a: &String| a.contains('/') || a.contains('\\');
    let text = if args.is_empty() {
        "[buildout]\nparts =\n".to_string()
    } else {
        let eggs: Vec<&str> = args
            .iter()
            .filter(|a| !is_path(a))
            .map(String::as_str)
            .collect();
        let paths: Vec<String> = args
            .iter()
            .filter(|a| is_path(a))
            .map(|a| a.replace('\\', "/"))
            .collect();
        let mut text = String::from(
            "[buildout]\nparts = py\n\n[py]\nrecipe = zc.recipe.egg\ninterpreter = py\neggs =\n",
        );
        if !eggs.is_empty() {
            text.push_str(&format!("  {}\n", eggs.join("\n  ")));
        }
        if !paths.is_empty() {
            text.push_str(&format!("extra-paths =\n  {}\n", paths.join("\n  ")));
            for p in &paths {
                let abs = pystr::abspath(p, cwd);
                if !Path::new(&abs).exists() {
                    std::fs::create_dir(&abs).map_err(|e| ErrorKind::Io {
                        path: abs.clone(),
                        message: e.to_string(),
                    })?;
                }
            }
        }
        text
    };
    std::fs::write(path, text).map_err(|e| {
        ErrorKind::Io {
            path: path.to_string(),
            message: e.to_string(),
        }
        .into()
    })
}

#[cfg(test)]
mod robustness {
    //! Random and mutated configurations: nothing panics, and every failure
    //! is an error that says where (file and line, or the section/option
    //! being evaluated).
    use super::*;
    use proptest::prelude::*;

    fn fragment() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-c]{1,2}".prop_map(|s| format!("[{s}]")),
            Just("[buildout]".to_string()),
            "[a-c]{1,2}".prop_map(|s| format!("[{s}] # c")),
            ("[a-d]{1,3}", "[ -~]{0,12}").prop_map(|(k, v)| format!("{k} = {v}")),
            ("[a-d]{1,3}", "[a-c]{0,2}", "[a-d]{1,3}")
                .prop_map(|(k, s, o)| format!("{k} = x ${{{s}:{o}}} y")),
            ("[a-d]{1,3}", "[a-d]{1,3}").prop_map(|(k, v)| format!("{k} += {v}")),
            ("[a-d]{1,3}", "[a-d]{1,3}").prop_map(|(k, v)| format!("{k}-={v}")),
            "[a-c]{1,2}".prop_map(|s| format!("<= {s}")),
            "[a-c]{1,2}".prop_map(|s| format!("=> {s}")),
            "[ -~]{0,10}".prop_map(|v| format!("  {v}")),
            Just(String::new()),
            Just("# comment".to_string()),
            "[ -~]{1,16}",
            Just("k = $${a:b} ${:_buildout_section_name_}".to_string()),
            Just("k = ${a:b:c} ${bad$:x} ${nocolon}".to_string()),
        ]
    }

    /// Parses, merges and initialises every section, like a load does.
    fn evaluate(text: &str) -> Result<()> {
        let mut facts = LazyFacts::default();
        let parsed = parse::parse(text, "fuzz.cfg", &mut facts).map_err(ErrorKind::Parse)?;
        let mut data = Data::new();
        data.insert("buildout".into(), load::default_options("python3"));
        data = annotated::update(&data, &annotated::annotate(parsed, "fuzz.cfg"));
        let _ = annotate::render(&data, true, &[], "/");
        let mut b = Buildout::new(load::unannotate(&data));
        let names: Vec<String> = b.section_names().cloned().collect();
        for name in names {
            b.options(&name)?;
        }
        Ok(())
    }

    fn check(text: &str) {
        if let Err(e) = evaluate(text) {
            let located = match e.kind() {
                ErrorKind::Parse(p) => p.to_string().contains("fuzz.cfg"),
                _ => e.context().iter().any(|l| {
                    l.starts_with("Getting option")
                        || l.starts_with("Getting section")
                        || l.starts_with("Initializing section")
                }),
            };
            assert!(located, "error without a location: {e:?}\ninput:\n{text}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn generated_configs_never_panic(lines in prop::collection::vec(fragment(), 0..24)) {
            check(&lines.join("\n"));
        }

        #[test]
        fn mutated_configs_never_panic(
            cuts in prop::collection::vec((0usize..400, "[\\[\\]$:{}=+<>\n -~]{0,3}"), 1..6)
        ) {
            let mut text = String::from(
                "[buildout]\nparts = a\nx = ${a:y}\n[a]\n<= m\ny = ${:z} $${q}\nz += 1\n=> m\n[m]\nz = 0\n  1\nblock =\n\n  a\n    b\n",
            );
            for (at, insert) in cuts {
                let mut at = at.min(text.len());
                while !text.is_char_boundary(at) {
                    at -= 1;
                }
                text.insert_str(at, &insert);
            }
            check(&text);
        }
    }
}
