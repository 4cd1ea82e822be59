//! `zc.recipe.egg:eggs`, built in: install a part's distributions.
//!
//! Options (zc.recipe.egg's): `eggs` (newline-separated requirements,
//! markers allowed; default: the part name), `find-links` and `index`
//! (override `[buildout]`'s), `executable` (the interpreter; default
//! `[buildout] executable`) or `python` (the name of a section whose
//! `executable` option is the interpreter). The working set is resolved
//! with the buildout's version rules and every distribution becomes its
//! own store object; the part's object records the working set
//! (`working-set.json`) and references each distribution, so a generation
//! keeps exactly what it uses. Console scripts (`zc.recipe.egg`'s default
//! entry) come with a later release.

use super::{DistRequest, Error, Recipe, Result, Services, io};
use crate::config::Buildout;
use crate::profile::manifest::DistEntry;
use crate::python::Requirement;
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
        let python = match buildout.get(part, "executable", None)? {
            Some(exe) => exe,
            None => match buildout.get(part, "python", None)? {
                Some(section) => buildout.require(section.trim(), "executable")?,
                None => buildout.require("buildout", "executable")?,
            },
        };
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
        })
    }
}

impl Recipe for Eggs {
    fn identity(&self) -> String {
        "zc.recipe.egg:eggs 6.0.0 (built in)".into()
    }

    fn content_key(&self) -> String {
        serde_json::to_string(&self.dists).unwrap_or_default()
    }

    fn outputs(&self) -> Vec<String> {
        Vec::new()
    }

    fn prepare(&mut self, services: &mut dyn Services) -> Result<()> {
        self.dists = services.distributions(&DistRequest {
            part: &self.part,
            requirements: &self.requirements,
            python: &self.python,
            index: self.index.as_deref(),
            find_links: self.find_links.as_deref(),
        })?;
        Ok(())
    }

    fn distributions(&self) -> Vec<DistEntry> {
        self.dists.clone()
    }

    fn interpreter(&self) -> Option<String> {
        Some(self.python.clone())
    }

    fn build(&self, out: &Path) -> Result<()> {
        std::fs::create_dir(out).map_err(io("create", out))?;
        let file = out.join("working-set.json");
        let json = serde_json::to_string_pretty(&self.dists).unwrap_or_default();
        std::fs::write(&file, json + "\n").map_err(io("write", &file))
    }
}
