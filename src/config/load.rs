//! Composing the configuration from its layers.
//!
//! Lowest to highest: built-in `[buildout]` defaults, user defaults
//! (`$BUILDOUT_HOME/default.cfg` or `~/.buildout/default.cfg`, merged beneath
//! the first leaf of the project's extends tree), the configuration file with
//! its `extends` (flattened depth-first, post-order, then `optional-extends`),
//! command-line `extends=` files, then command-line assignments. Remote
//! `extends` are fetched over HTTP(S) with the `extends-cache` rules of
//! zc.buildout (see [`super::fetch`]). Every file read is a regular file of
//! at most [`super::MAX_CONFIG_FILE_SIZE`] bytes ([`read_config_file`]) and
//! `extends` chains nest at most [`super::MAX_EXTENDS_DEPTH`] files deep.

use super::annotated::{
    self, COMMAND_LINE_VALUE, COMPUTED_VALUE, DEFAULT_VALUE, Data, Section, SectionKey,
};
use super::fetch::{self, FetchOptions};
use super::pystr;
use super::{AssignOp, Assignment};
use super::{Error, ErrorKind};
use crate::python::LazyFacts;
use regex::Regex;
use std::collections::{BTreeMap, HashSet};
use std::sync::LazyLock;

static IS_URL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-zA-Z0-9+.-]+://").expect("valid regex"));

static VARIABLE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[$]\{[^}]*\}").expect("valid regex"));

/// Whether `name` is a URL (`scheme://...`).
pub fn is_url(name: &str) -> bool {
    IS_URL.is_match(name)
}

/// The built-in `[buildout]` options (zc.buildout's `_buildout_default_options`).
pub fn default_options(executable: &str) -> Section {
    [
        ("allow-hosts", "*"),
        ("allow-picked-versions", "true"),
        ("bin-directory", "bin"),
        ("develop-eggs-directory", "develop-eggs"),
        ("eggs-directory", "eggs"),
        ("eggs-directory-version", "v5"),
        ("executable", executable),
        ("find-links", ""),
        ("install-from-cache", "false"),
        ("installed", ".installed.cfg"),
        ("log-format", ""),
        ("log-level", "INFO"),
        ("newest", "true"),
        ("offline", "false"),
        ("parts-directory", "parts"),
        ("prefer-final", "true"),
        ("python", "buildout"),
        ("show-picked-versions", "false"),
        ("socket-timeout", ""),
        ("update-versions-file", ""),
        ("use-dependency-links", "true"),
        ("allow-unknown-extras", "false"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), SectionKey::new(v, DEFAULT_VALUE)))
    .collect()
}

/// `bool_option`: exactly `true` or `false`.
pub fn bool_option(value: &str, name: &str) -> Result<bool, ErrorKind> {
    match value {
        "true" => Ok(true),
        "false" => Ok(false),
        other => Err(ErrorKind::User(format!(
            "Invalid value for {} option: {}",
            pystr::repr(name),
            pystr::repr(other)
        ))),
    }
}

/// Groups command-line assignments per section the way zc.buildout does
/// (sorted, so a repeated option keeps the greatest value).
pub fn group_assignments(assignments: &[Assignment]) -> Data {
    let mut sorted: Vec<(String, String, String)> = assignments
        .iter()
        .map(|a| {
            let key = match a.op {
                AssignOp::Set => a.option.clone(),
                AssignOp::Add => format!("{} +", a.option),
                AssignOp::Remove => format!("{} -", a.option),
            };
            (a.section.clone(), key, a.value.clone())
        })
        .collect();
    sorted.sort();
    let mut data = Data::new();
    for (section, key, value) in sorted {
        data.entry(section)
            .or_default()
            .insert(key, SectionKey::new(value, COMMAND_LINE_VALUE));
    }
    data
}

/// State shared by the recursive file loading of one run.
pub struct Loader<'a> {
    pub cwd: String,
    pub facts: &'a mut LazyFacts,
    /// Lines zc.buildout prints while loading (`optional-extends file not found`).
    pub notices: Vec<String>,
}

/// One walk through a file's `extends` tree.
struct Walk<'o> {
    /// The files being read, outermost first.
    seen: Vec<String>,
    /// Every file read so far: only a file's first download may fall back
    /// to the `extends-cache` copy.
    downloaded: HashSet<String>,
    /// The command line's `[buildout]` assignments.
    overrides: &'o Section,
    /// The user defaults, until the first leaf of the tree takes them.
    user_defaults: Data,
}

/// A configuration file as read.
struct Source {
    /// The path or URL it was read from (messages and annotations name it).
    name: String,
    /// What its `extends` are relative to.
    base: String,
    text: String,
}

/// A configuration file parsed, its `extends` taken out.
struct Parsed {
    layer: Data,
    extends: Option<String>,
    optional_extends: Option<String>,
}

impl Loader<'_> {
    /// Opens `filename` (relative to `base`) and everything it extends,
    /// merged into one layer (extended files first, depth-first,
    /// post-order, then `optional-extends`). `user_defaults` go beneath
    /// the first leaf of the tree.
    pub fn open(
        &mut self,
        base: &str,
        filename: &str,
        download_options: &Section,
        overrides: &Section,
        user_defaults: Data,
    ) -> Result<Data, Error> {
        let mut walk = Walk {
            seen: Vec::new(),
            downloaded: HashSet::new(),
            overrides,
            user_defaults,
        };
        let layers = self.open_tree(&mut walk, base, filename, download_options)?;
        Ok(layers.iter().fold(Data::new(), |folded, layer| {
            annotated::update_into(folded, layer)
        }))
    }

    /// The layers of `filename` and everything it extends, in merge order.
    fn open_tree(
        &mut self,
        walk: &mut Walk<'_>,
        base: &str,
        filename: &str,
        download_options: &Section,
    ) -> Result<Vec<Data>, Error> {
        let mut download_options = annotated::update_section(download_options, walk.overrides);
        let fetch_options = self.fetch_options(&download_options, filename, &walk.downloaded)?;
        let source = self.read(base, filename, &fetch_options)?;
        walk.downloaded.insert(source.name.clone());
        let root = walk.seen.is_empty();
        enter(&mut walk.seen, &source.name)?;
        let Parsed {
            mut layer,
            extends,
            optional_extends,
        } = self.parse(&source)?;
        if root && let Some(b) = layer.get("buildout") {
            download_options = annotated::update_section(&download_options, b);
        }

        let mut layers: Vec<Data> = Vec::new();
        if let Some(extends) = extends.filter(|e| !e.trim().is_empty()) {
            for name in extends.split_whitespace() {
                layers.extend(self.open_tree(walk, &source.base, name, &download_options)?);
            }
        } else if !walk.user_defaults.is_empty() {
            layer = annotated::update(&std::mem::take(&mut walk.user_defaults), &layer);
        }
        if let Some(optional) = optional_extends.filter(|e| !e.trim().is_empty()) {
            for name in optional.split_whitespace() {
                if !self.optional_exists(&source.base, name) {
                    self.notices
                        .push(format!("optional-extends file not found: {name}"));
                    continue;
                }
                layers.extend(self.open_tree(walk, &source.base, name, &download_options)?);
            }
        }
        layers.push(layer);
        walk.seen.pop();
        Ok(layers)
    }

    /// How remote files are fetched, from the `[buildout]` options in
    /// effect: `extends-cache` (never with a `${...}` in it), `offline`
    /// and `install-from-cache`, and `newest` (a file's first download may
    /// fall back to the cache).
    fn fetch_options(
        &self,
        download_options: &Section,
        filename: &str,
        downloaded: &HashSet<String>,
    ) -> Result<FetchOptions, Error> {
        let raw_download = annotated::unannotate_section(download_options);
        let newest = bool_option(
            raw_download.get("newest").map_or("false", String::as_str),
            "newest",
        )?;
        let fallback = newest && !downloaded.contains(filename);
        let extends_cache = raw_download.get("extends-cache").cloned();
        if let Some(cache) = &extends_cache
            && VARIABLE.is_match(cache)
        {
            return Err(ErrorKind::User(format!(
                "extends-cache '{cache}' may not contain ${{section:variable}} to expand."
            ))
            .into());
        }
        Ok(FetchOptions {
            directory: raw_download.get("directory").cloned().unwrap_or_default(),
            cache: extends_cache.filter(|c| !c.is_empty()),
            offline: raw_download.get("offline").is_some_and(|v| v == "true")
                || raw_download
                    .get("install-from-cache")
                    .is_some_and(|v| v == "true"),
            fallback,
            cwd: self.cwd.clone(),
        })
    }

    /// Reads `filename`: a URL, a name relative to a URL `base` (an
    /// absolute name stays local), or a local path relative to `base`.
    fn read(
        &self,
        base: &str,
        filename: &str,
        fetch_options: &FetchOptions,
    ) -> Result<Source, Error> {
        let url_source = |url: String, text: String| Source {
            base: url[..url.rfind('/').unwrap_or(0)].to_string(),
            name: url,
            text,
        };
        if is_url(filename) {
            let text = fetch::download(filename, fetch_options)?;
            Ok(url_source(filename.to_string(), text))
        } else if is_url(base) {
            if pystr::isabs(filename) {
                Ok(Source {
                    text: read_local(filename)?,
                    name: filename.to_string(),
                    base: pystr::dirname(filename),
                })
            } else {
                let url = format!("{base}/{filename}");
                let text = fetch::download(&url, fetch_options)?;
                Ok(url_source(url, text))
            }
        } else {
            let path = pystr::join(base, filename);
            Ok(Source {
                text: read_local(&pystr::abspath(&path, &self.cwd))?,
                base: pystr::dirname(&path),
                name: path,
            })
        }
    }

    /// Parses a file into its layer, taking `extends` and
    /// `optional-extends` out of its `[buildout]` (and refusing the
    /// retired `extended-by`).
    fn parse(&mut self, source: &Source) -> Result<Parsed, Error> {
        let filename = &source.name;
        // zc.buildout builds the globals of conditions once per file.
        self.facts.new_condition_scope();
        let mut parsed = super::parse::parse(&source.text, filename, self.facts)
            .map_err(|e| Error::from(ErrorKind::Parse(e)))?;
        let mut extends = None;
        if let Some(options) = parsed.get_mut("buildout") {
            extends = options.remove("extends");
            if options.contains_key("extended-by") {
                return Err(ErrorKind::User(format!(
                    "No-longer supported \"extended-by\" option found in {filename}."
                ))
                .into());
            }
        }
        let optional_extends = parsed
            .get_mut("buildout")
            .and_then(|o| o.remove("optional-extends"));
        Ok(Parsed {
            layer: annotated::annotate(parsed, filename),
            extends,
            optional_extends,
        })
    }

    /// Whether an `optional-extends` file exists. zc.buildout checks
    /// existence relative to the working directory, then opens relative to
    /// the including file; we check where the file will actually be opened
    /// from.
    fn optional_exists(&self, base: &str, name: &str) -> bool {
        let candidate = if is_url(base) {
            name.to_string()
        } else {
            pystr::abspath(&pystr::join(base, name), &self.cwd)
        };
        std::path::Path::new(&candidate).exists()
    }
}

/// Adds `filename` to the files being read: an error if it is already
/// among them, or if the chain would nest more than
/// [`super::MAX_EXTENDS_DEPTH`] files deep.
fn enter(seen: &mut Vec<String>, filename: &str) -> Result<(), Error> {
    if seen.iter().any(|s| s == filename) {
        return Err(ErrorKind::User(format!(
            "Recursive file include {} {}",
            pystr::repr_list(seen),
            filename
        ))
        .into());
    }
    if seen.len() >= super::MAX_EXTENDS_DEPTH {
        return Err(ErrorKind::User(format!(
            "extends nested more than {} files deep: {} extends {}",
            super::MAX_EXTENDS_DEPTH,
            fetch::redact(seen.last().map_or("", String::as_str)),
            fetch::redact(filename)
        ))
        .into());
    }
    seen.push(filename.to_string());
    Ok(())
}

fn read_local(path: &str) -> Result<String, Error> {
    let bytes = read_config_file(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            ErrorKind::User(format!("Couldn't open {path}"))
        } else {
            ErrorKind::Io {
                path: path.to_string(),
                message: e.to_string(),
            }
        }
    })?;
    String::from_utf8(bytes).map_err(|_| {
        ErrorKind::Io {
            path: path.to_string(),
            message: "the file is not valid UTF-8".into(),
        }
        .into()
    })
}

/// Reads a configuration file (or a template): a regular file (a FIFO, a
/// device such as `/dev/zero` or a directory is refused without being
/// read) of at most [`super::MAX_CONFIG_FILE_SIZE`] bytes (checked while
/// reading, whatever the file's size said).
pub(crate) fn read_config_file(path: &str) -> std::io::Result<Vec<u8>> {
    use std::os::unix::fs::OpenOptionsExt;
    let not_regular = || std::io::Error::other("not a regular file");
    // Checked before opening (opening a FIFO would wait for a writer) and
    // again on the open file (the name may have changed in between).
    if !std::fs::metadata(path)?.is_file() {
        return Err(not_regular());
    }
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::fcntl::OFlag::O_NONBLOCK.bits())
        .open(path)?;
    if !file.metadata()?.is_file() {
        return Err(not_regular());
    }
    read_bounded(file, super::MAX_CONFIG_FILE_SIZE)?
        .ok_or_else(|| std::io::Error::other(too_large()))
}

/// The message for a configuration file over the limit.
pub(crate) fn too_large() -> String {
    format!(
        "larger than {}, the limit for a configuration file or template",
        super::mib(super::MAX_CONFIG_FILE_SIZE)
    )
}

/// Reads at most `limit` bytes; `None` if there is more.
pub(crate) fn read_bounded(
    reader: impl std::io::Read,
    limit: u64,
) -> std::io::Result<Option<Vec<u8>>> {
    use std::io::Read;
    let mut bytes = Vec::new();
    reader.take(limit + 1).read_to_end(&mut bytes)?;
    Ok((bytes.len() as u64 <= limit).then_some(bytes))
}

/// Where user defaults are read from (`BUILDOUT_HOME` wins, even when empty).
pub fn user_config_path(cwd: &str) -> String {
    let home = match crate::env::var(crate::env::BUILDOUT_HOME) {
        Some(h) => h,
        None => pystr::join(&pystr::expanduser("~"), ".buildout"),
    };
    pystr::abspath(&pystr::join(&home, "default.cfg"), cwd)
}

/// Fold-friendly alias.
pub type Raw = BTreeMap<String, BTreeMap<String, String>>;

/// Strips annotations from all sections.
pub fn unannotate(data: &Data) -> Raw {
    data.iter()
        .map(|(k, v)| (k.clone(), annotated::unannotate_section(v)))
        .collect()
}

/// `${` present (zc.buildout skips absolutising such paths).
pub fn has_variable(value: &str) -> bool {
    value.contains("${")
}

/// Makes `download-cache`, `eggs-directory` and `extends-cache` absolute
/// relative to the file that set them (zc.buildout's rule).
pub fn absolutize_cache_dirs(data: &mut Data, cwd: &str) -> Result<(), Error> {
    let directory = data
        .get("buildout")
        .and_then(|b| b.get("directory"))
        .map(|d| d.value.clone());
    let Some(buildout) = data.get_mut("buildout") else {
        return Ok(());
    };
    for name in ["download-cache", "eggs-directory", "extends-cache"] {
        let Some(key) = buildout.get_mut(name) else {
            continue;
        };
        let origdir = key.value.clone();
        if has_variable(&origdir) || pystr::isabs(&origdir) {
            continue;
        }
        let src = key.source().to_string();
        let basedir = if [DEFAULT_VALUE, COMPUTED_VALUE, COMMAND_LINE_VALUE].contains(&src.as_str())
        {
            directory.clone().unwrap_or_else(|| cwd.to_string())
        } else {
            if is_url(&src) {
                return Err(ErrorKind::User(format!(
                    "Setting \"{name}\" to a non absolute location (\"{origdir}\") within a\nremote configuration file (\"{}\") is ambiguous.",
                    fetch::redact(&src)
                ))
                .into());
            }
            pystr::dirname(&src)
        };
        let mut absdir = pystr::expanduser(&origdir);
        if !pystr::isabs(&absdir) {
            absdir = pystr::join(&basedir, &absdir);
        }
        key.set_directory(pystr::abspath(&absdir, cwd));
    }
    Ok(())
}
