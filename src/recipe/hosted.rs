//! A part whose recipe runs in the recipe host ([`super::host`]).
//!
//! Its address is the digest of the recipe's identity (the requirement,
//! and the store paths of every distribution the host ran when the recipe
//! was constructed), the part's options after the constructor ran, and the
//! working sets the constructor asked for. An unchanged part is reused
//! without calling its recipe at all: zc.buildout would call `update()`,
//! which for the recipes that make files re-creates the same files.
//!
//! A part is an *action* when its recipe only has side effects outside the
//! store (`plone.recipe.command`, `collective.recipe.cmd`,
//! `z3c.recipe.mkdir`, `collective.recipe.environment`, or any part with
//! `buildout-action = true`): its object only records it; its recipe runs
//! after the switch, and its object records (and references) the working
//! set the recipe host runs it with, so that a host a generation is copied
//! to can run it from the closure alone. Any other part is built: the install runs against a
//! build view of `bin/` and `parts/` (see `ops::install`), and what it
//! wrote becomes the object: `location/` (what it made at `parts/<name>`),
//! `outputs/bin/<script>` (scripts it wrote) and `hosted.json` (what it
//! returned).

use super::host::Constructed;
use super::{Recipe, Result, io};
use crate::profile::manifest::{DistEntry, PartLink};
use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

/// Recipes known to only have side effects (`recipe-host.md` §3.4), with
/// the option without which their `update()` does nothing (so an unchanged
/// run need not start Python for them): `plone.recipe.command` runs
/// `update-command`, `collective.recipe.cmd` its commands with
/// `on_update = true`, `collective.recipe.environment` acts in its
/// constructor only; `z3c.recipe.mkdir` makes missing directories again.
pub const ACTIONS: &[(&str, UpdateRule)] = &[
    ("plone-recipe-command", UpdateRule::When("update-command")),
    ("collective-recipe-cmd", UpdateRule::WhenTrue("on_update")),
    ("z3c-recipe-mkdir", UpdateRule::Always),
    ("collective-recipe-environment", UpdateRule::Never),
];

/// When an action's `update()` has work to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateRule {
    Always,
    Never,
    /// When the option is set and not empty.
    When(&'static str),
    /// When the option is `true` (any case), `yes`, `on` or `1`.
    WhenTrue(&'static str),
}

/// The digest of the host's Python half: what the host does with a
/// recipe (working sets, develop locations) is part of a part's identity,
/// so a changed host rebuilds the parts it made.
static HOST_CODE_DIGEST: LazyLock<String> =
    LazyLock::new(|| hex::encode(crate::store::path::sha256(HOST_CODE.as_bytes())));
const HOST_CODE: &str = include_str!("host/host.py");

/// A constructed recipe-host part.
#[derive(Debug)]
pub struct Hosted {
    pub part: String,
    pub recipe: Constructed,
    pub action: bool,
    /// The working sets the recipe asked for.
    dists: RefCell<Vec<DistEntry>>,
    /// The object's tree, made by the install, moved into the store by
    /// [`Recipe::build`].
    staged: RefCell<Option<PathBuf>>,
    /// What the install made (or an earlier run's object records).
    record: RefCell<Option<Record>>,
    /// An action's recipe host working set ([`Record::host`]).
    host: RefCell<Vec<DistEntry>>,
}

impl Hosted {
    pub fn new(
        part: &str,
        recipe: Constructed,
        action_option: Option<&str>,
        dists: Vec<DistEntry>,
    ) -> Self {
        let (name, _) = super::recipe_key(&recipe.spec);
        let action = match action_option.map(|v| v.trim().to_ascii_lowercase()) {
            Some(v) if v == "true" => true,
            Some(v) if v == "false" => false,
            _ => ACTIONS.iter().any(|(a, _)| *a == name),
        };
        Self {
            part: part.to_string(),
            recipe,
            action,
            dists: RefCell::new(dists),
            staged: RefCell::new(None),
            record: RefCell::new(None),
            host: RefCell::new(Vec::new()),
        }
    }

    /// Sets the working set the recipe host runs this action with (kept
    /// in its object, [`Record::host`]).
    pub fn set_host(&self, dists: Vec<DistEntry>) {
        *self.host.borrow_mut() = dists;
    }

    /// Adds the working sets the install asked for.
    pub fn add_dists(&self, more: Vec<DistEntry>) {
        let mut dists = self.dists.borrow_mut();
        for d in more {
            if !dists.contains(&d) {
                dists.push(d);
            }
        }
    }

    /// Hands over the tree the install made and its record (written into
    /// the object by [`Recipe::build`], with the working sets).
    pub fn stage(&self, tree: PathBuf, record: Record) {
        *self.staged.borrow_mut() = Some(tree);
        *self.record.borrow_mut() = Some(record);
    }

    /// Reads outputs and link back from an object built by an earlier run.
    pub fn reuse(&self, object: &Path) -> Result<()> {
        let parsed = Record::read(object)?;
        self.add_dists(parsed.distributions.clone());
        *self.record.borrow_mut() = Some(parsed);
        Ok(())
    }

    /// Whether calling this action's `update()` with `options` may do
    /// anything (recipes not in [`ACTIONS`]: always).
    pub fn update_does_something(
        &self,
        options: &std::collections::BTreeMap<String, String>,
    ) -> bool {
        let (name, _) = super::recipe_key(&self.recipe.spec);
        let rule = ACTIONS
            .iter()
            .find(|(a, _)| *a == name)
            .map_or(UpdateRule::Always, |(_, rule)| *rule);
        let value = |k: &str| options.get(k).map(|v| v.trim().to_ascii_lowercase());
        match rule {
            UpdateRule::Always => true,
            UpdateRule::Never => false,
            UpdateRule::When(k) => value(k).is_some_and(|v| !v.is_empty()),
            UpdateRule::WhenTrue(k) => {
                value(k).is_some_and(|v| ["true", "yes", "on", "1"].contains(&v.as_str()))
            }
        }
    }

    /// What `parts/<name>` links to.
    pub fn link(&self) -> Option<PartLink> {
        self.record.borrow().as_ref().map(|r| r.link.clone())
    }
}

/// `hosted.json`: what a recipe-host part's object holds.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Record {
    pub recipe: String,
    pub outputs: Vec<String>,
    pub link: PartLink,
    /// What the recipe's install returned (absolute paths).
    pub returned: Vec<String>,
    /// The working sets the recipe asked for, constructor's and install's:
    /// a reused part has the same distributions as when it was built.
    #[serde(default)]
    pub distributions: Vec<DistEntry>,
    /// An action's recipe host working set (its recipe's distribution,
    /// zc.buildout's and everything they need): the action runs again
    /// from its object alone on a host a generation is copied to. The
    /// object references them, so they travel in its closure.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub host: Vec<DistEntry>,
}

impl Record {
    /// Reads the record of the part object at `object`.
    pub fn read(object: &Path) -> Result<Self> {
        let record = object.join("hosted.json");
        let text = std::fs::read_to_string(&record).map_err(io("read", &record))?;
        serde_json::from_str(&text)
            .map_err(|e| super::Error::User(format!("{} is damaged: {e}", record.display())))
    }
}

impl Recipe for Hosted {
    fn identity(&self) -> String {
        let mut paths: Vec<&str> = self
            .recipe
            .host_dists
            .iter()
            .map(|d| d.path.as_str())
            .collect();
        paths.sort_unstable();
        serde_json::json!({
            "recipe": self.recipe.spec,
            "dist": self.recipe.dist,
            "entry": self.recipe.entry,
            "host": paths,
            "action": self.action,
            "host_code": *HOST_CODE_DIGEST,
            "sources": self.recipe.sources,
        })
        .to_string()
    }

    fn content_key(&self) -> String {
        // The working sets the constructor asked for (the install's come
        // from the options, which are part of the address already).
        serde_json::to_string(&*self.dists.borrow()).unwrap_or_default()
    }

    fn outputs(&self) -> Vec<String> {
        self.record
            .borrow()
            .as_ref()
            .map(|r| r.outputs.clone())
            .unwrap_or_default()
    }

    fn build(&self, out: &Path) -> Result<()> {
        match self.staged.borrow_mut().take() {
            Some(tree) => move_tree(&tree, out)?,
            // An action: only the record.
            None => std::fs::create_dir(out).map_err(io("create", out))?,
        }
        let mut record = self.record.borrow().clone().unwrap_or_else(|| Record {
            recipe: self.recipe.spec.clone(),
            outputs: Vec::new(),
            link: PartLink::None,
            returned: Vec::new(),
            distributions: Vec::new(),
            host: Vec::new(),
        });
        // The install's working sets are known only now.
        record.distributions = self.dists.borrow().clone();
        record.host = self.host.borrow().clone();
        let file = out.join("hosted.json");
        let json = serde_json::to_string_pretty(&record).unwrap_or_default();
        std::fs::write(&file, json + "\n").map_err(io("write", &file))?;
        Ok(())
    }

    fn distributions(&self) -> Vec<DistEntry> {
        self.dists.borrow().clone()
    }

    fn hosted(&self) -> Option<&Hosted> {
        Some(self)
    }
}

/// Moves `from` to `to` (which does not exist): a rename, or a copy and a
/// removal across file systems.
pub fn move_tree(from: &Path, to: &Path) -> Result<()> {
    match std::fs::rename(from, to) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::CrossesDevices => {
            crate::fs::copy_tree(from, to).map_err(io("copy", from))?;
            std::fs::remove_dir_all(from).map_err(io("remove", from))?;
            Ok(())
        }
        Err(e) => Err(io("move", from)(e).into()),
    }
}
