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

impl Loader<'_> {
    /// Opens `filename` (relative to `base`) and everything it extends.
    ///
    /// Returns the per-file results in merge order (the root call folds
    /// them into one) and the user defaults if no leaf consumed them yet.
    #[allow(clippy::too_many_arguments)]
    pub fn open(
        &mut self,
        base: &str,
        filename: &str,
        seen: &mut Vec<String>,
        download_options: &Section,
        override_: &Section,
        downloaded: &mut HashSet<String>,
        mut user_defaults: Data,
    ) -> Result<(Vec<Data>, Data), Error> {
        let mut download_options = annotated::update_section(download_options, override_);
        let raw_download = annotated::unannotate_section(&download_options);
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
        let fetch_options = FetchOptions {
            directory: raw_download.get("directory").cloned().unwrap_or_default(),
            cache: extends_cache.filter(|c| !c.is_empty()),
            offline: raw_download.get("offline").is_some_and(|v| v == "true")
                || raw_download
                    .get("install-from-cache")
                    .is_some_and(|v| v == "true"),
            fallback,
            cwd: self.cwd.clone(),
        };

        let (filename, base, text) = if is_url(filename) {
            let text = fetch::download(filename, &fetch_options)?;
            let base = filename[..filename.rfind('/').unwrap_or(0)].to_string();
            (filename.to_string(), base, text)
        } else if is_url(base) {
            if pystr::isabs(filename) {
                let text = read_local(filename)?;
                (filename.to_string(), pystr::dirname(filename), text)
            } else {
                let url = format!("{base}/{filename}");
                let text = fetch::download(&url, &fetch_options)?;
                let base = url[..url.rfind('/').unwrap_or(0)].to_string();
                (url, base, text)
            }
        } else {
            let path = pystr::join(base, filename);
            let text = read_local(&pystr::abspath(&path, &self.cwd))?;
            let base = pystr::dirname(&path);
            (path, base, text)
        };
        downloaded.insert(filename.clone());

        if seen.contains(&filename) {
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
                fetch::redact(&filename)
            ))
            .into());
        }
        let root = seen.is_empty();
        seen.push(filename.clone());

        let mut parsed = super::parse::parse(&text, &filename, self.facts)
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
        let mut result = annotated::annotate(parsed, &filename);

        if root && let Some(b) = result.get("buildout") {
            download_options = annotated::update_section(&download_options, b);
        }

        let mut eresults: Vec<Data> = Vec::new();
        if let Some(extends) = extends.filter(|e| !e.trim().is_empty()) {
            for fname in extends.split_whitespace() {
                let (next, ud) = self.open(
                    &base,
                    fname,
                    seen,
                    &download_options,
                    override_,
                    downloaded,
                    user_defaults,
                )?;
                user_defaults = ud;
                eresults.extend(next);
            }
        } else if !user_defaults.is_empty() {
            result = annotated::update(&user_defaults, &result);
            user_defaults = Data::new();
        }

        if let Some(optional) = optional_extends.filter(|e| !e.trim().is_empty()) {
            for fname in optional.split_whitespace() {
                // zc.buildout checks existence relative to the working
                // directory, then opens relative to the including file. We
                // check where the file will actually be opened from.
                let candidate = if is_url(&base) {
                    fname.to_string()
                } else {
                    pystr::abspath(&pystr::join(&base, fname), &self.cwd)
                };
                if !std::path::Path::new(&candidate).exists() {
                    self.notices
                        .push(format!("optional-extends file not found: {fname}"));
                    continue;
                }
                let (next, ud) = self.open(
                    &base,
                    fname,
                    seen,
                    &download_options,
                    override_,
                    downloaded,
                    user_defaults,
                )?;
                user_defaults = ud;
                eresults.extend(next);
            }
        }

        eresults.push(result);
        seen.pop();

        if root {
            let mut folded = Data::new();
            for r in &eresults {
                folded = annotated::update_into(folded, r);
            }
            Ok((vec![folded], user_defaults))
        } else {
            Ok((eresults, user_defaults))
        }
    }
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
