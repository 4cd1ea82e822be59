//! `zc.recipe.egg:develop`, built in: an editable install of one local
//! project.
//!
//! Options: `setup` (the project directory or its `setup.py`, relative to
//! the buildout directory; default: the part name), `executable` or
//! `python` (the interpreter, as in `zc.recipe.egg:eggs`). The project is
//! built with PEP 660 `build_editable` into a store object (see
//! [`crate::build::develop`]); parts prepared after this one get it
//! instead of any index version of its name, as zc.buildout's
//! develop-eggs directory does. zc.recipe.egg's `build_ext` options
//! (`include-dirs`, `library-dirs`, `rpath`, `define`, `libraries`, ...)
//! are not honoured here: giving one is an error naming it.

use super::{Error, Recipe, Result, Services};
use crate::config::{Buildout, pystr};
use crate::profile::manifest::DistEntry;
use std::path::{Path, PathBuf};

/// `build_ext` options of zc.recipe.egg:develop that this recipe refuses.
const BUILD_EXT: &[&str] = &[
    "include-dirs",
    "library-dirs",
    "rpath",
    "define",
    "undef",
    "libraries",
    "link-objects",
    "debug",
    "force",
    "compiler",
    "swig",
    "swig-cpp",
    "swig-opts",
];

/// A constructed `zc.recipe.egg:develop` part.
#[derive(Debug)]
pub struct Develop {
    part: String,
    setup: PathBuf,
    python: String,
    dist: Option<DistEntry>,
}

impl Develop {
    pub fn new(buildout: &mut Buildout, part: &str, directory: &str) -> Result<Self> {
        for option in BUILD_EXT {
            if buildout.get(part, option, None)?.is_some() {
                return Err(Error::User(format!(
                    "zc.recipe.egg:develop option '{option}' of part {part} is not supported: \
                     PEP 660 editable builds take no build_ext settings"
                )));
            }
        }
        let setup = buildout
            .get(part, "setup", None)?
            .unwrap_or_else(|| part.to_string());
        let mut setup = PathBuf::from(pystr::abspath(setup.trim(), directory));
        if setup.is_file() {
            setup = setup.parent().map(Path::to_path_buf).unwrap_or(setup);
        }
        let python = super::part_interpreter(buildout, part)?;
        Ok(Self {
            part: part.to_string(),
            setup,
            python,
            dist: None,
        })
    }
}

impl Recipe for Develop {
    fn identity(&self) -> String {
        "zc.recipe.egg:develop 6.0.0 (built in)".into()
    }

    fn content_key(&self) -> String {
        serde_json::to_string(&self.dist).unwrap_or_default()
    }

    fn outputs(&self) -> Vec<String> {
        Vec::new()
    }

    fn prepare(&mut self, services: &mut dyn Services) -> Result<()> {
        if !self.setup.is_dir() {
            return Err(Error::User(format!(
                "Couldn't develop '{}' (not found)",
                self.setup.display()
            )));
        }
        self.dist = Some(services.develop(&self.part, &self.setup, &self.python)?);
        Ok(())
    }

    fn distributions(&self) -> Vec<DistEntry> {
        self.dist.iter().cloned().collect()
    }

    fn interpreter(&self) -> Option<String> {
        Some(self.python.clone())
    }

    fn build(&self, out: &Path) -> Result<()> {
        super::write_dists_record(out, "develop.json", &self.dist)
    }
}
