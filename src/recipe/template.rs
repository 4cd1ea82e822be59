//! `collective.recipe.template` (3.0), built in.
//!
//! Options: `input` (a file, or `inline:` followed by the text), `inline`,
//! `url` (`http(s)://` or `file://`, fetched every run within `timeout`
//! seconds, default 1; never in offline mode), `output` (required), `mode`
//! (octal; default: the input file's mode), `overwrite` (default true;
//! `y`, `yes`, `1`, `true`), `input-encoding`/`output-encoding` (UTF-8
//! only). As in the original, the template is rendered at construction:
//! `${name}` becomes `${<part>:name}`, then the whole text is substituted
//! with buildout's own engine (so referenced sections become dependencies).
//!
//! The output is a managed file: it lives in the part's store object and
//! the buildout directory links to it through the current generation. With
//! `overwrite = false` the file belongs to the user: it is written once,
//! directly, if missing, and never replaced or removed (nor followed, when
//! a link is there). Either way `output` must lead inside the buildout
//! directory ([`crate::profile::paths`]): zc.buildout's recipe writes an
//! absolute `output` anywhere, this one refuses it at construction.

use super::{Error, Recipe, Result, io};
use crate::config::Buildout;
use crate::profile::paths::{self, Origin, Request};
use regex::Regex;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::LazyLock;

static SHORT_REF: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\$\{([^:]+?)\}").expect("valid regex"));

const TRUE_VALUES: [&str; 4] = ["y", "yes", "1", "true"];

/// A constructed template part.
#[derive(Debug)]
pub struct Template {
    part: String,
    /// Output relative to the buildout directory.
    output: String,
    /// Absolute output (for `overwrite = false`).
    output_abs: String,
    result: String,
    mode: Option<u32>,
    overwrite: bool,
}

/// The text of a template `url` (as the recipe's `urlopen`: `http(s)://`
/// and `file://`), read each run: its content is part of the part's
/// address, so a changed template makes a new part. Offline mode never
/// touches the network; credentials in the URL are never printed.
fn fetch(url: &str, timeout: f64, offline: bool) -> Result<String> {
    let shown = crate::config::fetch::redact(url);
    let bytes = if let Some(path) = url.strip_prefix("file://") {
        std::fs::read(path).map_err(|e| Error::User(format!("<urlopen error {e}>")))?
    } else if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(Error::User(format!(
            "unknown url type: {}",
            crate::config::pystr::repr(&shown)
        )));
    } else if offline {
        return Err(Error::User(format!(
            "Couldn't download {} in offline mode.",
            crate::config::pystr::repr(&shown)
        )));
    } else {
        let timeout = std::time::Duration::from_secs_f64(timeout);
        let bytes = crate::config::fetch::http_get(url, timeout)
            .map_err(|why| Error::User(format!("{why} ({shown})")))?;
        crate::config::fetch::note_download(url, &bytes)
            .map_err(|why| Error::User(format!("template url: {why}")))?;
        bytes
    };
    String::from_utf8(bytes)
        .map_err(|_| Error::User(format!("Template URL {shown} is not valid UTF-8.")))
}

impl Template {
    pub fn new(buildout: &mut Buildout, part: &str, directory: &str) -> Result<Self> {
        let get = |b: &mut Buildout, k: &str| b.get(part, k, None);
        let input = get(buildout, "input")?;
        let inline = get(buildout, "inline")?;
        let url = get(buildout, "url")?;
        if input.is_none() && inline.is_none() && url.is_none() {
            return Err(Error::User(
                "No input file, inline template, or URL specified.".into(),
            ));
        }
        let Some(output) = get(buildout, "output")? else {
            return Err(Error::User("No output file specified.".into()));
        };
        if input.is_some() && (inline.is_some() || url.is_some()) {
            return Err(Error::User("Too many input sources.".into()));
        }
        for key in ["input-encoding", "output-encoding"] {
            if let Some(enc) = get(buildout, key)? {
                let e = enc.to_ascii_lowercase().replace('_', "-");
                if e != "utf-8" && e != "utf8" {
                    return Err(Error::User(format!(
                        "{key} {enc} is not supported by the built-in collective.recipe.template (UTF-8 only)"
                    )));
                }
            }
        }
        let timeout = match get(buildout, "timeout")? {
            None => 1.0,
            Some(t) => t
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|t| t.is_finite() && *t > 0.0)
                .ok_or_else(|| {
                    Error::User(format!(
                        "Invalid value for timeout option: {t} (a number of seconds)"
                    ))
                })?,
        };
        let overwrite = get(buildout, "overwrite")?
            .is_none_or(|v| TRUE_VALUES.contains(&v.to_lowercase().as_str()));

        let (source, mut mode) = if let Some(inline) = inline {
            (inline.trim_start().to_string(), None)
        } else if let Some(input) = input
            .as_deref()
            .filter(|i| Path::new(&crate::config::pystr::abspath(i, directory)).exists())
        {
            let path = crate::config::pystr::abspath(input, directory);
            // A regular file within the configuration size limit (not
            // `/dev/zero`, a FIFO, ...).
            let bytes = crate::config::load::read_config_file(&path)
                .map_err(io("read", Path::new(&path)))?;
            let text = String::from_utf8(bytes)
                .map_err(|_| Error::User(format!("Input file '{input}' is not valid UTF-8.")))?;
            let meta = std::fs::metadata(&path).map_err(io("stat", Path::new(&path)))?;
            (text, Some(meta.permissions().mode() & 0o7777))
        } else if let Some(text) = input.as_deref().and_then(|i| i.strip_prefix("inline:")) {
            (text.trim_start().to_string(), None)
        } else if let Some(url) = url {
            let offline = buildout.get("buildout", "offline", None)?.as_deref() == Some("true");
            (fetch(&url, timeout, offline)?, None)
        } else {
            return Err(Error::User(format!(
                "Input file '{}' does not exist.",
                input.unwrap_or_default()
            )));
        };

        let template = SHORT_REF.replace_all(&source, |c: &regex::Captures<'_>| {
            format!("${{{part}:{}}}", &c[1])
        });
        let result = buildout.substitute(part, &template)?;
        if let Some(m) = get(buildout, "mode")? {
            mode = Some(u32::from_str_radix(m.trim(), 8).map_err(|_| {
                Error::User(format!("invalid literal for int() with base 8: '{m}'"))
            })?);
        }
        let output_abs = crate::config::pystr::abspath(&output, directory);
        let output = paths::decide(
            directory,
            part,
            Request::Output {
                path: &output,
                origin: Origin::Option("output"),
            },
        )?;
        Ok(Self {
            part: part.to_string(),
            output,
            output_abs,
            result,
            mode,
            overwrite,
        })
    }
}

impl Recipe for Template {
    fn identity(&self) -> String {
        "collective.recipe.template 3.0.0 (built in)".into()
    }

    fn content_key(&self) -> String {
        format!(
            "{}\0{:?}\0{}\0{}",
            self.output, self.mode, self.overwrite, self.result
        )
    }

    fn outputs(&self) -> Vec<String> {
        if self.overwrite {
            vec![self.output.clone()]
        } else {
            Vec::new()
        }
    }

    fn build(&self, out: &Path) -> Result<()> {
        std::fs::create_dir(out).map_err(io("create", out))?;
        if !self.overwrite {
            return Ok(());
        }
        let file = out.join("outputs").join(&self.output);
        if let Some(parent) = file.parent() {
            std::fs::create_dir_all(parent).map_err(io("create", parent))?;
        }
        std::fs::write(&file, &self.result).map_err(io("write", &file))?;
        if let Some(mode) = self.mode {
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode))
                .map_err(io("set the mode of", &file))?;
        }
        Ok(())
    }

    fn after_switch(&self, printer: &mut dyn FnMut(&str)) -> Result<()> {
        // Whatever is there (a link too, even dangling) is the user's: it
        // is never followed.
        if self.overwrite || Path::new(&self.output_abs).symlink_metadata().is_ok() {
            return Ok(());
        }
        let path = Path::new(&self.output_abs);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io("create", parent))?;
        }
        std::fs::write(path, &self.result).map_err(io("write", path))?;
        if let Some(mode) = self.mode {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
                .map_err(io("set the mode of", path))?;
        }
        printer(&format!(
            "{}: wrote {} (overwrite = false: it is yours now)",
            self.part, self.output
        ));
        Ok(())
    }
}
