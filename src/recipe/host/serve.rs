//! What the host asks of the buildout: options, sections (also parsed from
//! a recipe's configuration text), substitution and distributions, answered from [`crate::config::Buildout`] and the
//! install's [`crate::recipe::Services`].
//!
//! Errors go back as the Python exception the host raises: a missing
//! section as `MissingSection`, other configuration errors as `UserError`
//! (their `While:` lines are kept here, see [`super::Session`]), a missing
//! key as `KeyError`.

use super::Session;
use super::rpc::Refusal;
use crate::config::{self, Buildout, ErrorKind};
use crate::profile::manifest::DistEntry;
use crate::python::Requirement;
use crate::recipe::DistRequest;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::str::FromStr;

fn refuse(kind: &'static str, message: impl Into<String>) -> Refusal {
    Refusal {
        kind,
        message: message.into(),
    }
}

/// A string parameter.
fn text<'v>(params: &'v Value, key: &str) -> Result<&'v str, Refusal> {
    params
        .get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| refuse("Error", format!("the parameter `{key}` is missing")))
}

/// A `{name: value}` parameter of strings.
fn strings(params: &Value, key: &str) -> Result<BTreeMap<String, String>, Refusal> {
    let object = params
        .get(key)
        .and_then(Value::as_object)
        .ok_or_else(|| refuse("Error", format!("the parameter `{key}` is missing")))?;
    object
        .iter()
        .map(|(k, v)| match v.as_str() {
            Some(v) => Ok((k.clone(), v.to_string())),
            None => Err(refuse(
                "TypeError",
                format!("Option values must be strings: {k} = {v}"),
            )),
        })
        .collect()
}

/// The line of the first `[name]` / `[name:condition]` header of `text`
/// (`usize::MAX` if there is none).
fn header_position(text: &str, name: &str) -> usize {
    text.lines()
        .position(|line| {
            line.strip_prefix('[')
                .map(|rest| rest.trim_start())
                .and_then(|rest| rest.strip_prefix(name))
                .is_some_and(|rest| rest.trim_start().starts_with([']', ':']))
        })
        .unwrap_or(usize::MAX)
}

fn dist_json(d: &DistEntry) -> Value {
    json!({"name": d.name, "version": d.version, "path": d.path})
}

impl Session<'_> {
    /// A configuration error for the host; the original is kept for the
    /// report.
    fn refuse_config(&self, e: config::Error) -> Refusal {
        let refusal = match e.kind() {
            ErrorKind::MissingSection(name) => refuse("MissingSection", name.clone()),
            _ => refuse("UserError", e.message()),
        };
        *self.stashed.borrow_mut() = Some(e);
        refusal
    }

    /// Answers one request of the host (recording it for the memo when a
    /// constructor runs).
    pub(super) fn serve(
        &self,
        b: &mut Buildout<'_>,
        method: &str,
        params: &Value,
    ) -> Result<Value, Refusal> {
        let outcome = self.answer(b, method, params);
        if let Some(recorder) = self.memo.recorders.borrow_mut().last_mut() {
            recorder.note(method, params, outcome.as_ref().ok());
        }
        outcome
    }

    fn answer(&self, b: &mut Buildout<'_>, method: &str, params: &Value) -> Result<Value, Refusal> {
        let conf = |e: config::Error| self.refuse_config(e);
        let section = || text(params, "section");
        let option = || text(params, "option");
        match method {
            "get" => {
                let value = b.get(section()?, option()?, None).map_err(conf)?;
                Ok(value.map_or(Value::Null, Value::String))
            }
            "set" => {
                let value = text(params, "value")?.to_string();
                b.section(section()?).map_err(conf)?;
                b.set(section()?, option()?, value);
                Ok(Value::Null)
            }
            "del" => {
                if b.remove(section()?, option()?).map_err(conf)? {
                    Ok(Value::Null)
                } else {
                    Err(refuse("KeyError", option()?))
                }
            }
            "keys" => Ok(json!(b.keys(section()?).map_err(conf)?)),
            "copy" => Ok(json!(b.peek_options(section()?).map_err(conf)?)),
            "sections" => Ok(json!(b.section_names().cloned().collect::<Vec<_>>())),
            "section" => {
                b.section(section()?).map_err(conf)?;
                Ok(Value::Null)
            }
            "add_section" => {
                let options = strings(params, "options")?;
                if b.add_section(section()?, options).map_err(conf)? {
                    Ok(Value::Null)
                } else {
                    Err(refuse("KeyError", section()?))
                }
            }
            "parse" => self.parse(b, text(params, "text")?),
            "raw" => Ok(b.raw_section(section()?).map_or(Value::Null, |s| json!(s))),
            "raw_set" => {
                let value = text(params, "value")?.to_string();
                b.set_raw_value(section()?, option()?, value);
                Ok(Value::Null)
            }
            "raw_del" => {
                if b.remove_raw_value(section()?, option()?) {
                    Ok(Value::Null)
                } else {
                    Err(refuse("KeyError", option()?))
                }
            }
            "raw_add" => {
                b.set_raw_section(section()?, strings(params, "options")?);
                Ok(Value::Null)
            }
            "substitute" => {
                let text = text(params, "text")?;
                Ok(Value::String(b.substitute(section()?, text).map_err(conf)?))
            }
            "resolve" => self.resolve(b, params),
            "develop" => {
                let setup = text(params, "setup")?;
                let python = match params.get("python").and_then(Value::as_str) {
                    Some(p) => p.to_string(),
                    None => self.settings.python.clone(),
                };
                let part = self.state.borrow().current.last().cloned();
                let dist = self
                    .services
                    .borrow_mut()
                    .develop(
                        part.as_deref().unwrap_or("buildout"),
                        std::path::Path::new(setup),
                        &python,
                    )
                    .map_err(|e| refuse("UserError", e.to_string()))?;
                Ok(dist_json(&dist))
            }
            "download" => {
                let size = params
                    .get("size")
                    .and_then(Value::as_u64)
                    .ok_or_else(|| refuse("UserError", "download: no size"))?;
                crate::config::fetch::note_hashed(
                    text(params, "url")?,
                    size,
                    text(params, "sha256")?,
                )
                .map_err(|why| refuse("UserError", why))?;
                Ok(Value::Null)
            }
            "default_versions" => {
                let versions = strings(params, "versions")?;
                self.services
                    .borrow_mut()
                    .set_versions(&versions)
                    .map_err(|e| refuse("UserError", e.to_string()))?;
                Ok(Value::Null)
            }
            other => Err(refuse("Error", format!("unknown method {other}"))),
        }
    }

    /// `buildout.parse(text)`: the sections of a configuration text
    /// (dedented by the host) added as zc.buildout adds them: a `KeyError`
    /// if one exists already, else all added raw, then each initialised.
    fn parse(&self, b: &mut Buildout<'_>, text: &str) -> Result<Value, Refusal> {
        let mut facts = crate::python::LazyFacts::new(Some(self.settings.python.clone().into()));
        let sections = config::parse::parse(text, "", &mut facts)
            .map_err(|e| refuse("UserError", e.to_string()))?;
        if let Some(name) = sections.keys().find(|n| b.raw_section(n).is_some()) {
            return Err(refuse(
                "KeyError",
                format!("Section already exists: {name}"),
            ));
        }
        for (name, options) in &sections {
            b.set_raw_section(name, options.clone());
        }
        // In the order of the text, as zc.buildout's dict keeps them: a
        // section with a recipe becomes a part when it is initialised.
        let mut names: Vec<&String> = sections.keys().collect();
        names.sort_by_key(|n| header_position(text, n));
        for name in names {
            b.section(name).map_err(|e| self.refuse_config(e))?;
        }
        Ok(Value::Null)
    }

    /// `easy_install.install` / `working_set`: the working set of the
    /// requirements, in the store. A develop dist also gets its project
    /// directory as `location` (zc.buildout's location of a develop egg).
    fn resolve(&self, b: &mut Buildout<'_>, params: &Value) -> Result<Value, Refusal> {
        let texts: Vec<&str> = params
            .get("requirements")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let requirements = texts
            .iter()
            .map(|t| {
                Requirement::from_str(t)
                    .map_err(|e| refuse("UserError", format!("Invalid requirement {t:?}: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let python = match params.get("python").and_then(Value::as_str) {
            Some(p) if !p.is_empty() => p.to_string(),
            _ => b
                .require("buildout", "executable")
                .map_err(|e| self.refuse_config(e))?,
        };
        let index = params.get("index").and_then(Value::as_str);
        let find_links: Option<Vec<String>> =
            params.get("find_links").and_then(Value::as_array).map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(String::from)
                    .collect()
            });
        let dists = self
            .services
            .borrow_mut()
            .distributions(&DistRequest {
                requirements: &requirements,
                python: &python,
                index,
                find_links: find_links.as_deref(),
                overrides: &[],
            })
            .map_err(|e| refuse("UserError", e.to_string()))?;
        let mut state = self.state.borrow_mut();
        if let Some(part) = state.current.last().cloned() {
            let list = state.part_dists.entry(part).or_default();
            for d in &dists {
                if !list.contains(d) {
                    list.push(d.clone());
                }
            }
        }
        let services = self.services.borrow();
        Ok(Value::Array(
            dists
                .iter()
                .map(|d| {
                    let mut item = dist_json(d);
                    if let Some(dir) = services.develop_source(&d.path) {
                        item["location"] = json!(dir.display().to_string());
                    }
                    item
                })
                .collect(),
        ))
    }
}
