//! Memoised constructors: an unchanged re-run starts no Python.
//!
//! While a recipe's constructor runs, everything it asks of the buildout is
//! recorded in order ([`Event`]): the values it read (options,
//! substitutions, option names, sections), the values it set or deleted,
//! plus the files it opened for reading inside the buildout directory
//! (with their SHA-256) and the environment variables it read (all of
//! them, as a digest, when it iterated over `os.environ`). A later run replays the record instead of calling the
//! constructor when its recipe, its distributions (still in the store),
//! the environment, every file and every value read are the same: the
//! reads are checked first (seeing the record's own earlier writes), then
//! the writes are applied. A constructor that does anything else (adds
//! sections, writes raw values, resolves distributions, changes
//! `os.environ`, fails a request) is not memoised. The records live in
//! `.buildout/constructors.json`, mutable state of the buildout
//! directory, replaced after each successful run.

use crate::config::{self, Buildout};
use crate::profile::manifest::DistEntry;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// One request of a constructor, with its answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Event {
    Get {
        section: String,
        option: String,
        value: Option<String>,
    },
    Set {
        section: String,
        option: String,
        value: String,
    },
    Del {
        section: String,
        option: String,
    },
    Keys {
        section: String,
        keys: Vec<String>,
    },
    Copy {
        section: String,
        values: BTreeMap<String, String>,
    },
    Substitute {
        section: String,
        text: String,
        result: String,
    },
    Section {
        section: String,
    },
    Sections {
        names: Vec<String>,
    },
}

/// What one constructor did.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    pub spec: String,
    /// The interpreter the host ran (`sys.executable`, which constructors
    /// read without asking).
    #[serde(default)]
    pub python: String,
    pub dist: String,
    pub entry: String,
    pub host_dists: Vec<DistEntry>,
    /// The environment variables it read, with their values (`None`:
    /// unset); `None` when it read them all: then [`Record::environment`]
    /// must match.
    pub env: Option<BTreeMap<String, Option<String>>>,
    /// [`environment_digest`] of the run that recorded it.
    pub environment: String,
    pub events: Vec<Event>,
    /// Files read inside the buildout directory, with their SHA-256
    /// (`None`: it did not exist).
    pub files: Vec<(String, Option<String>)>,
    /// The recipe's develop projects with their [`tree_digest`].
    #[serde(default)]
    pub sources: Vec<(String, String)>,
}

/// What a constructor being run has done so far.
#[derive(Debug, Default)]
pub struct Recorder {
    pub events: Vec<Event>,
    /// Why it cannot be memoised, once it did something that is not
    /// recorded.
    pub spoiled: Option<String>,
}

impl Recorder {
    /// Records `method`'s request and answer (`None`: it failed).
    pub fn note(
        &mut self,
        method: &str,
        params: &serde_json::Value,
        answer: Option<&serde_json::Value>,
    ) {
        if self.spoiled.is_some() {
            return;
        }
        let text = |k: &str| params.get(k).and_then(|v| v.as_str()).map(String::from);
        let Some(answer) = answer else {
            self.spoiled = Some(format!("its `{method}` request failed"));
            return;
        };
        let section = text("section").unwrap_or_default();
        let event = match method {
            "get" => Event::Get {
                section,
                option: text("option").unwrap_or_default(),
                value: answer.as_str().map(String::from),
            },
            "set" => Event::Set {
                section,
                option: text("option").unwrap_or_default(),
                value: text("value").unwrap_or_default(),
            },
            "del" => Event::Del {
                section,
                option: text("option").unwrap_or_default(),
            },
            "keys" => Event::Keys {
                section,
                keys: serde_json::from_value(answer.clone()).unwrap_or_default(),
            },
            "copy" => Event::Copy {
                section,
                values: serde_json::from_value(answer.clone()).unwrap_or_default(),
            },
            "substitute" => Event::Substitute {
                section,
                text: text("text").unwrap_or_default(),
                result: answer.as_str().unwrap_or_default().to_string(),
            },
            "section" => Event::Section { section },
            "sections" => Event::Sections {
                names: serde_json::from_value(answer.clone()).unwrap_or_default(),
            },
            other => {
                self.spoiled = Some(format!("it made a `{other}` request"));
                return;
            }
        };
        self.events.push(event);
    }
}

/// A digest of the environment the run started with (leaving out what
/// changes between two shells: `PWD`, `OLDPWD`, `SHLVL`, `_`).
pub fn environment_digest() -> String {
    let mut vars: Vec<(String, String)> = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.to_string_lossy().into_owned())))
        .filter(|(k, _)| !["PWD", "OLDPWD", "SHLVL", "_"].contains(&k.as_str()))
        .collect();
    vars.sort();
    let text = serde_json::to_string(&vars).unwrap_or_default();
    hex::encode(crate::store::path::sha256(text.as_bytes()))
}

/// The SHA-256 of a file, `None` if it cannot be read.
pub fn file_digest(path: &Path) -> Option<String> {
    let bytes = std::fs::read(path).ok()?;
    Some(hex::encode(crate::store::path::sha256(&bytes)))
}

/// Whether `record` still holds for `spec` in this run: its distributions
/// are in place, the environment and files are the same, and every value
/// it read reads the same now.
pub fn holds(
    b: &mut Buildout<'_>,
    record: &Record,
    (spec, python): (&str, &str),
    environment: &str,
) -> bool {
    if record.spec != spec || record.python != python {
        return false;
    }
    let env_same = match &record.env {
        Some(vars) => vars.iter().all(|(k, v)| std::env::var(k).ok() == *v),
        None => record.environment == environment,
    };
    if !env_same {
        return false;
    }
    if !record
        .host_dists
        .iter()
        .all(|d| Path::new(&d.path).exists())
    {
        return false;
    }
    if !record
        .files
        .iter()
        .all(|(path, digest)| file_digest(Path::new(path)) == *digest)
    {
        return false;
    }
    if !record
        .sources
        .iter()
        .all(|(dir, digest)| tree_digest(Path::new(dir)) == *digest)
    {
        return false;
    }
    reads_hold(b, &record.events).unwrap_or(false)
}

/// Directories and files a project's digest leaves out: version control,
/// build products and bytecode (zc.buildout's `_dir_hash` leaves out the
/// same kinds).
const IGNORED_DIRS: &[&str] = &[
    ".git",
    ".hg",
    ".svn",
    "CVS",
    ".bzr",
    "__pycache__",
    "build",
    "dist",
    ".tox",
    ".nox",
];

/// A digest of a develop project's sources: relative paths and contents
/// (zc.buildout's signature of a develop egg), so editing a local recipe
/// runs it again.
pub fn tree_digest(dir: &Path) -> String {
    fn walk(dir: &Path, rel: &str, out: &mut Vec<u8>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        let mut entries: Vec<_> = entries.flatten().collect();
        entries.sort_by_key(std::fs::DirEntry::file_name);
        for e in entries {
            let name = e.file_name().to_string_lossy().into_owned();
            let Ok(kind) = e.file_type() else { continue };
            let path = format!("{rel}/{name}");
            if kind.is_dir() {
                if !IGNORED_DIRS.contains(&name.as_str()) && !name.ends_with(".egg-info") {
                    walk(&e.path(), &path, out);
                }
            } else if kind.is_file() && !name.ends_with(".pyc") && !name.ends_with(".pyo") {
                out.extend(path.as_bytes());
                out.push(0);
                out.extend(crate::store::path::sha256(
                    &std::fs::read(e.path()).unwrap_or_default(),
                ));
            }
        }
    }
    let mut listing = Vec::new();
    walk(dir, "", &mut listing);
    hex::encode(crate::store::path::sha256(&listing))
}

fn reads_hold(b: &mut Buildout<'_>, events: &[Event]) -> Result<bool, config::Error> {
    // The record's own writes, as its later reads saw them.
    let mut written: BTreeMap<(String, String), Option<String>> = BTreeMap::new();
    let touched = |written: &BTreeMap<(String, String), Option<String>>, section: &str| {
        written.keys().any(|(s, _)| s == section)
    };
    for event in events {
        let same = match event {
            Event::Get {
                section,
                option,
                value,
            } => match written.get(&(section.clone(), option.clone())) {
                Some(v) => v == value,
                None => b.get(section, option, None)? == *value,
            },
            Event::Set {
                section,
                option,
                value,
            } => {
                written.insert((section.clone(), option.clone()), Some(value.clone()));
                true
            }
            Event::Del { section, option } => {
                written.insert((section.clone(), option.clone()), None);
                true
            }
            Event::Keys { section, keys } => {
                !touched(&written, section) && b.keys(section)? == *keys
            }
            Event::Copy { section, values } => {
                !touched(&written, section) && b.peek_options(section)? == *values
            }
            Event::Substitute {
                section,
                text,
                result,
            } => b.substitute(section, text)? == *result,
            Event::Section { section } => {
                b.section(section)?;
                true
            }
            Event::Sections { names } => b.section_names().cloned().collect::<Vec<_>>() == *names,
        };
        if !same {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Applies the writes of a record that [`holds`].
pub fn replay(b: &mut Buildout<'_>, record: &Record) -> Result<(), config::Error> {
    for event in &record.events {
        match event {
            Event::Set {
                section,
                option,
                value,
            } => {
                b.section(section)?;
                b.set(section, option, value.clone());
            }
            Event::Del { section, option } => {
                b.remove(section, option)?;
            }
            _ => {}
        }
    }
    Ok(())
}

/// Reads the records of a buildout directory (none if absent or
/// unreadable: a memo is only ever a shortcut).
pub fn load(path: &Path) -> BTreeMap<String, Record> {
    std::fs::read(path)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default()
}

/// Replaces the records file (whole, with an explicit mode whatever the
/// umask: a memo others could write would decide what this buildout runs).
pub fn save(path: &Path, records: &BTreeMap<String, Record>) -> std::io::Result<()> {
    let json = serde_json::to_vec_pretty(records).unwrap_or_default();
    crate::fs::write_cache_file(path, &json)
}
