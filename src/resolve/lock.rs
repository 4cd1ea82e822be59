//! The lock file: a PEP 751 `pylock.<config>.toml` (data model, writing,
//! reading and validation; no IO).
//!
//! Mapping (see `README.md`, *Lock file*): each part is a dependency group
//! named after the part (PEP 735 normalisation), the recipe host's
//! distributions are group `buildout-host`; each `[[packages]]` entry is
//! one version of one distribution with `marker = "'app' in
//! dependency_groups or ..."` naming the groups that use it, so two parts
//! with different versions of a distribution get two entries with
//! disjoint groups. `wheels` lists every file chosen for the interpreters
//! of those groups (an installer picks the one matching its tags, by name,
//! offline), `sdist` a distribution built from source, `directory` with
//! `editable = true` a develop egg. `environments` holds one marker per
//! interpreter the lock was made for.
//!
//! `[tool.buildout]` (disposable for other tools, authoritative for
//! buildout) holds what the standard cannot say: `inputs`, the digest of
//! every input that decides resolution, with `[tool.buildout.input]`, the
//! digest of each input by name (so a stale lock can say which one
//! changed), and one `[[tool.buildout.requests]]` per distribution request
//! a part made (part, group, interpreter, requirements and the exact
//! `name==version` set it resolved to), which an install replays without
//! resolving. The build environment of each sdist is such a request too,
//! with `build = "name version"`, in its own group
//! `build-<name>-<version>` (normalised). `downloads` lists the non-Python
//! files the configuration fetched (HTTP `extends`, template `url`s,
//! recipe downloads) with their size and sha256.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// The lock-version this module writes and reads (major 1).
pub const LOCK_VERSION: &str = "1.0";
/// `[tool.buildout] format`.
pub const FORMAT: i64 = 1;
/// The group of the recipe host, extensions and anything asked for before
/// the first part.
pub const HOST_GROUP: &str = "buildout-host";

/// What is wrong with a lock file's text. `file` is filled by the caller
/// through [`Error::in_file`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("`{file}` is not valid TOML: {message}")]
    Syntax { file: String, message: String },
    #[error("`{file}`: {entry}: {message}")]
    Invalid {
        file: String,
        entry: String,
        message: String,
    },
}

impl Error {
    fn invalid(entry: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Invalid {
            file: String::new(),
            entry: entry.into(),
            message: message.into(),
        }
    }

    /// The same error naming `path`.
    #[must_use]
    pub fn in_file(self, path: &str) -> Self {
        match self {
            Error::Syntax { message, .. } => Error::Syntax {
                file: path.to_string(),
                message,
            },
            Error::Invalid { entry, message, .. } => Error::Invalid {
                file: path.to_string(),
                entry,
                message,
            },
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A whole lock.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lock {
    pub created_by: String,
    pub requires_python: Option<String>,
    /// One marker per interpreter.
    pub environments: Vec<String>,
    pub packages: Vec<Package>,
    pub tool: Tool,
}

/// One `[[packages]]` entry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Package {
    /// Normalised.
    pub name: String,
    /// `None` for a directory (develop egg).
    pub version: Option<String>,
    /// The groups using this entry (written as the `marker`).
    pub groups: BTreeSet<String>,
    pub index: Option<String>,
    pub wheels: Vec<File>,
    pub sdist: Option<File>,
    pub directory: Option<Directory>,
}

/// A wheel or sdist.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct File {
    pub name: String,
    /// A URL, or (for local files) a path.
    pub location: Location,
    pub size: Option<u64>,
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Location {
    Url(String),
    Path(String),
}

/// A local project (develop egg).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directory {
    pub path: String,
    pub editable: bool,
}

/// `[tool.buildout]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tool {
    /// `sha256:<hex>` over [`Tool::input`].
    pub inputs: String,
    /// Each input by name → its digest.
    pub input: BTreeMap<String, String>,
    pub requests: Vec<Request>,
    /// Non-Python files the configuration fetched (HTTP `extends`,
    /// template `url`s), sorted by URL.
    pub downloads: Vec<Download>,
}

/// One `[tool.buildout] downloads` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Download {
    pub url: String,
    pub size: u64,
    pub sha256: String,
}

/// One distribution request, and what it resolved to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub part: String,
    pub group: String,
    /// The interpreter's executable.
    pub python: String,
    /// Its marker environment, one of the lock's `environments`.
    pub environment: String,
    /// The requirements, canonical text, in request order.
    pub requirements: Vec<String>,
    /// `Name==version` (the distribution's own spelling), sorted by
    /// normalised name.
    pub packages: Vec<String>,
    /// `Some("name version")`: the build environment of that sdist
    /// (`requirements` are its `[build-system] requires` and what
    /// `get_requires_for_build_wheel` added), not a part's request.
    pub build: Option<String>,
}

impl Request {
    /// `(name as spelled, version)` of each package.
    pub fn pins(&self) -> impl Iterator<Item = (&str, &str)> {
        self.packages.iter().filter_map(|p| p.split_once("=="))
    }
}

/// PEP 503/735 normalisation (`Foo_Bar.baz` → `foo-bar-baz`).
pub fn normalize(name: &str) -> String {
    crate::python::marker::canonicalize_name(name)
}

/// `sha256:<hex>` of `inputs` (each name and value, length-prefixed).
pub fn digest(inputs: &BTreeMap<String, String>) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for (k, v) in inputs {
        h.update(format!("{}:{k}{}:{v}", k.len(), v.len()).as_bytes());
    }
    format!("sha256:{}", hex::encode(h.finalize()))
}

/// The digest of one input's text.
pub fn digest_text(text: &str) -> String {
    use sha2::{Digest, Sha256};
    format!("sha256:{}", hex::encode(Sha256::digest(text.as_bytes())))
}

/// The inputs whose digests differ between `old` and `new` (added and
/// removed ones too), sorted.
pub fn changed_inputs(
    old: &BTreeMap<String, String>,
    new: &BTreeMap<String, String>,
) -> Vec<String> {
    let keys: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    keys.into_iter()
        .filter(|k| old.get(*k) != new.get(*k))
        .cloned()
        .collect()
}

/// The marker of an entry used by `groups`.
fn groups_marker(groups: &BTreeSet<String>) -> String {
    groups
        .iter()
        .map(|g| format!("'{g}' in dependency_groups"))
        .collect::<Vec<_>>()
        .join(" or ")
}

/// A TOML basic string.
fn quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn quote_list<'a>(items: impl IntoIterator<Item = &'a String>) -> String {
    let items: Vec<String> = items.into_iter().map(|s| quote(s)).collect();
    format!("[{}]", items.join(", "))
}

fn file_table(f: &File) -> String {
    let mut s = format!("{{ name = {}", quote(&f.name));
    match &f.location {
        Location::Url(u) => {
            let _ = write!(s, ", url = {}", quote(u));
        }
        Location::Path(p) => {
            let _ = write!(s, ", path = {}", quote(p));
        }
    }
    if let Some(size) = f.size {
        let _ = write!(s, ", size = {size}");
    }
    let _ = write!(s, ", hashes = {{ sha256 = {} }} }}", quote(&f.sha256));
    s
}

impl Lock {
    /// Every group any entry uses, sorted.
    pub fn groups(&self) -> BTreeSet<String> {
        self.packages
            .iter()
            .flat_map(|p| p.groups.iter().cloned())
            .chain(self.tool.requests.iter().map(|r| r.group.clone()))
            .collect()
    }

    /// The entry of `name` (any spelling) at `version` used by `group`.
    pub fn package(&self, name: &str, version: &str, group: &str) -> Option<&Package> {
        let name = normalize(name);
        self.packages.iter().find(|p| {
            p.name == name && p.version.as_deref() == Some(version) && p.groups.contains(group)
        })
    }

    /// The TOML text: keys and arrays in a stable order.
    pub fn to_toml(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "lock-version = {}", quote(LOCK_VERSION));
        if !self.environments.is_empty() {
            let _ = writeln!(s, "environments = {}", quote_list(&self.environments));
        }
        if let Some(rp) = &self.requires_python {
            let _ = writeln!(s, "requires-python = {}", quote(rp));
        }
        let _ = writeln!(s, "dependency-groups = {}", quote_list(&self.groups()));
        s.push_str("default-groups = []\n");
        let _ = writeln!(s, "created-by = {}", quote(&self.created_by));
        if self.packages.is_empty() {
            s.push_str("packages = []\n");
        }
        let mut packages: Vec<&Package> = self.packages.iter().collect();
        packages.sort_by(|a, b| {
            (&a.name, &a.version, &a.groups).cmp(&(&b.name, &b.version, &b.groups))
        });
        for p in packages {
            s.push_str("\n[[packages]]\n");
            let _ = writeln!(s, "name = {}", quote(&p.name));
            if let Some(v) = &p.version {
                let _ = writeln!(s, "version = {}", quote(v));
            }
            if !p.groups.is_empty() {
                let _ = writeln!(s, "marker = {}", quote(&groups_marker(&p.groups)));
            }
            if let Some(i) = &p.index {
                let _ = writeln!(s, "index = {}", quote(i));
            }
            if let Some(d) = &p.directory {
                let _ = writeln!(
                    s,
                    "directory = {{ path = {}, editable = {} }}",
                    quote(&d.path),
                    d.editable
                );
            }
            if let Some(f) = &p.sdist {
                let _ = writeln!(s, "sdist = {}", file_table(f));
            }
            if !p.wheels.is_empty() {
                let mut wheels = p.wheels.clone();
                wheels.sort();
                s.push_str("wheels = [\n");
                for w in &wheels {
                    let _ = writeln!(s, "    {},", file_table(w));
                }
                s.push_str("]\n");
            }
        }
        s.push_str("\n[tool.buildout]\n");
        let _ = writeln!(s, "format = {FORMAT}");
        let _ = writeln!(s, "inputs = {}", quote(&self.tool.inputs));
        if !self.tool.downloads.is_empty() {
            s.push_str("downloads = [\n");
            for d in &self.tool.downloads {
                let _ = writeln!(
                    s,
                    "    {{ url = {}, size = {}, sha256 = {} }},",
                    quote(&d.url),
                    d.size,
                    quote(&d.sha256)
                );
            }
            s.push_str("]\n");
        }
        s.push_str("\n[tool.buildout.input]\n");
        for (k, v) in &self.tool.input {
            let _ = writeln!(s, "{} = {}", quote(k), quote(v));
        }
        for r in &self.tool.requests {
            s.push_str("\n[[tool.buildout.requests]]\n");
            let _ = writeln!(s, "part = {}", quote(&r.part));
            let _ = writeln!(s, "group = {}", quote(&r.group));
            if let Some(b) = &r.build {
                let _ = writeln!(s, "build = {}", quote(b));
            }
            let _ = writeln!(s, "python = {}", quote(&r.python));
            let _ = writeln!(s, "environment = {}", quote(&r.environment));
            let _ = writeln!(s, "requirements = {}", quote_list(&r.requirements));
            let _ = writeln!(s, "packages = {}", quote_list(&r.packages));
        }
        s
    }

    /// Parses and validates a lock (PEP 751's rules, and buildout's own
    /// table).
    pub fn parse(text: &str) -> Result<Lock> {
        let doc: toml_edit::DocumentMut =
            text.parse()
                .map_err(|e: toml_edit::TomlError| Error::Syntax {
                    file: String::new(),
                    message: e.to_string().trim().replace('\n', " "),
                })?;
        let root = doc.as_table();
        let version = str_of(root.get("lock-version"), "lock-version", "the file")?;
        if version.split('.').next() != Some("1") {
            return Err(Error::invalid(
                "lock-version",
                format!("unsupported lock-version `{version}` (this buildout reads 1.x)"),
            ));
        }
        let created_by = str_of(root.get("created-by"), "created-by", "the file")?;
        let requires_python = opt_str(root.get("requires-python"), "requires-python")?;
        let environments = str_list(root.get("environments"), "environments")?;
        let empty = toml_edit::ArrayOfTables::new();
        let packages = match root.get("packages") {
            Some(p) if p.as_array().is_some_and(toml_edit::Array::is_empty) => &empty,
            Some(p) => p.as_array_of_tables().ok_or_else(|| {
                Error::invalid("the file", "`packages` is not an array of tables")
            })?,
            None => return Err(Error::invalid("the file", "`[[packages]]` is missing")),
        };
        let mut lock = Lock {
            created_by,
            requires_python,
            environments,
            ..Lock::default()
        };
        for (i, p) in packages.iter().enumerate() {
            lock.packages.push(package(p, i)?);
        }
        if let Some(tool) = root
            .get("tool")
            .and_then(|t| t.get("buildout"))
            .and_then(|b| b.as_table_like())
        {
            lock.tool = tool_table(tool)?;
        }
        lock.validate()?;
        Ok(lock)
    }

    /// What the data model itself must hold: unique entries per group, and
    /// requests naming entries that exist.
    fn validate(&self) -> Result<()> {
        let mut seen: BTreeMap<(&str, &str), &Option<String>> = BTreeMap::new();
        for p in &self.packages {
            for g in &p.groups {
                if let Some(other) = seen.insert((g, &p.name), &p.version)
                    && other != &p.version
                {
                    return Err(Error::invalid(
                        format!("package `{}`", p.name),
                        format!("group `{g}` has more than one entry of it"),
                    ));
                }
            }
        }
        for r in &self.tool.requests {
            if !self.environments.is_empty() && !self.environments.contains(&r.environment) {
                return Err(Error::invalid(
                    format!("request of part `{}`", r.part),
                    format!("environment `{}` is not in `environments`", r.environment),
                ));
            }
            for (name, version) in r.pins() {
                let found = self.packages.iter().any(|p| {
                    p.name == normalize(name)
                        && (p.version.as_deref() == Some(version) || p.directory.is_some())
                        && p.groups.contains(&r.group)
                });
                if !found {
                    return Err(Error::invalid(
                        format!("request of part `{}`", r.part),
                        format!(
                            "`{name}=={version}` has no `[[packages]]` entry in group `{}`",
                            r.group
                        ),
                    ));
                }
            }
        }
        Ok(())
    }
}

fn str_of(item: Option<&toml_edit::Item>, key: &str, entry: &str) -> Result<String> {
    match item.and_then(|i| i.as_str()) {
        Some(s) => Ok(s.to_string()),
        None if item.is_none() => Err(Error::invalid(entry, format!("`{key}` is missing"))),
        None => Err(Error::invalid(entry, format!("`{key}` is not a string"))),
    }
}

fn opt_str(item: Option<&toml_edit::Item>, key: &str) -> Result<Option<String>> {
    item.map(|_| str_of(item, key, key)).transpose()
}

fn str_list(item: Option<&toml_edit::Item>, key: &str) -> Result<Vec<String>> {
    let Some(item) = item else {
        return Ok(Vec::new());
    };
    let arr = item
        .as_array()
        .ok_or_else(|| Error::invalid(key, "not an array"))?;
    arr.iter()
        .map(|v| {
            v.as_str()
                .map(String::from)
                .ok_or_else(|| Error::invalid(key, "not an array of strings"))
        })
        .collect()
}

/// The groups of a `'a' in dependency_groups or ...` marker.
fn marker_groups(marker: &str, entry: &str) -> Result<BTreeSet<String>> {
    let mut out = BTreeSet::new();
    for clause in marker.split(" or ") {
        let group = clause
            .trim()
            .strip_suffix(" in dependency_groups")
            .and_then(|g| g.strip_prefix('\'').and_then(|g| g.strip_suffix('\'')))
            .ok_or_else(|| {
                Error::invalid(
                    entry,
                    format!("marker `{marker}` is not one buildout writes ('GROUP' in dependency_groups or ...)"),
                )
            })?;
        out.insert(group.to_string());
    }
    Ok(out)
}

fn package(t: &toml_edit::Table, i: usize) -> Result<Package> {
    let name = str_of(t.get("name"), "name", &format!("package #{}", i + 1))?;
    if normalize(&name) != name {
        return Err(Error::invalid(
            format!("package `{name}`"),
            "`name` is not normalised",
        ));
    }
    let version = opt_str(t.get("version"), "version")?;
    let entry = match &version {
        Some(v) => format!("package `{name} {v}`"),
        None => format!("package `{name}`"),
    };
    let groups = match opt_str(t.get("marker"), "marker")? {
        Some(m) => marker_groups(&m, &entry)?,
        None => BTreeSet::new(),
    };
    let index = opt_str(t.get("index"), "index")?;
    let directory = match t.get("directory").and_then(|d| d.as_table_like()) {
        Some(d) => Some(Directory {
            path: str_of(d.get("path"), "directory.path", &entry)?,
            editable: d
                .get("editable")
                .and_then(toml_edit::Item::as_bool)
                .unwrap_or(false),
        }),
        None => None,
    };
    let sdist = match t.get("sdist") {
        Some(item) => Some(file(
            item.as_table_like()
                .ok_or_else(|| Error::invalid(&entry, "`sdist` is not a table"))?,
            &entry,
            true,
        )?),
        None => None,
    };
    let mut wheels = Vec::new();
    if let Some(item) = t.get("wheels") {
        let arr = item
            .as_array()
            .ok_or_else(|| Error::invalid(&entry, "`wheels` is not an array"))?;
        for w in arr {
            let table = w
                .as_inline_table()
                .ok_or_else(|| Error::invalid(&entry, "a wheel is not a table"))?;
            wheels.push(file(table, &entry, false)?);
        }
    }
    if version.is_none() && directory.is_none() {
        return Err(Error::invalid(&entry, "`version` is missing"));
    }
    if directory.is_some() && (sdist.is_some() || !wheels.is_empty()) {
        return Err(Error::invalid(
            &entry,
            "`directory` excludes `sdist` and `wheels`",
        ));
    }
    if directory.is_none() && sdist.is_none() && wheels.is_empty() {
        return Err(Error::invalid(
            &entry,
            "no source: one of `wheels`, `sdist` or `directory` is required",
        ));
    }
    Ok(Package {
        name,
        version,
        groups,
        index,
        wheels,
        sdist,
        directory,
    })
}

fn file(t: &dyn toml_edit::TableLike, entry: &str, sdist: bool) -> Result<File> {
    let name = match t.get("name").and_then(|n| n.as_str()) {
        Some(n) => n.to_string(),
        None => {
            let loc = t
                .get("url")
                .or_else(|| t.get("path"))
                .and_then(|u| u.as_str())
                .unwrap_or_default();
            loc.rsplit('/').next().unwrap_or_default().to_string()
        }
    };
    let what = format!("{entry}, file `{name}`");
    if !sdist && !name.ends_with(".whl") {
        return Err(Error::invalid(&what, "a wheel's name must end with `.whl`"));
    }
    let location = match (
        t.get("url").and_then(|u| u.as_str()),
        t.get("path").and_then(|u| u.as_str()),
    ) {
        (Some(u), _) => Location::Url(u.to_string()),
        (None, Some(p)) => Location::Path(p.to_string()),
        (None, None) => return Err(Error::invalid(&what, "neither `url` nor `path`")),
    };
    let size = match t.get("size") {
        Some(s) => Some(
            s.as_integer()
                .and_then(|n| u64::try_from(n).ok())
                .ok_or_else(|| Error::invalid(&what, "`size` is not a non-negative integer"))?,
        ),
        None => None,
    };
    let hashes = t
        .get("hashes")
        .and_then(|h| h.as_table_like())
        .ok_or_else(|| Error::invalid(&what, "`hashes` is missing"))?;
    let sha256 = hashes
        .get("sha256")
        .and_then(|h| h.as_str())
        .ok_or_else(|| Error::invalid(&what, "`hashes` has no `sha256`"))?
        .to_ascii_lowercase();
    if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Error::invalid(&what, format!("`{sha256}` is not a sha256")));
    }
    Ok(File {
        name,
        location,
        size,
        sha256,
    })
}

fn tool_table(t: &dyn toml_edit::TableLike) -> Result<Tool> {
    let entry = "[tool.buildout]";
    let format = t.get("format").and_then(toml_edit::Item::as_integer);
    if format != Some(FORMAT) {
        return Err(Error::invalid(
            entry,
            format!("unsupported `format` (this buildout reads {FORMAT})"),
        ));
    }
    let mut tool = Tool {
        inputs: str_of(t.get("inputs"), "inputs", entry)?,
        ..Tool::default()
    };
    if let Some(input) = t.get("input").and_then(|i| i.as_table_like()) {
        for (k, v) in input.iter() {
            let v = v
                .as_str()
                .ok_or_else(|| Error::invalid(entry, format!("input `{k}` is not a string")))?;
            tool.input.insert(k.to_string(), v.to_string());
        }
    }
    if let Some(item) = t.get("downloads") {
        let arr = item
            .as_array()
            .ok_or_else(|| Error::invalid(entry, "`downloads` is not an array"))?;
        for d in arr {
            let d = d
                .as_inline_table()
                .ok_or_else(|| Error::invalid(entry, "a download is not a table"))?;
            let url = d
                .get("url")
                .and_then(toml_edit::Value::as_str)
                .map(String::from)
                .ok_or_else(|| Error::invalid(entry, "a download has no `url`"))?;
            let what = format!("download `{url}`");
            let size = d
                .get("size")
                .and_then(toml_edit::Value::as_integer)
                .and_then(|n| u64::try_from(n).ok())
                .ok_or_else(|| Error::invalid(&what, "`size` is not a non-negative integer"))?;
            let sha256 = d
                .get("sha256")
                .and_then(toml_edit::Value::as_str)
                .map(str::to_ascii_lowercase)
                .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
                .ok_or_else(|| Error::invalid(&what, "`sha256` is not a sha256"))?;
            tool.downloads.push(Download { url, size, sha256 });
        }
    }
    if let Some(requests) = t.get("requests").and_then(|r| r.as_array_of_tables()) {
        for r in requests {
            let part = str_of(r.get("part"), "part", "a request")?;
            let what = format!("request of part `{part}`");
            tool.requests.push(Request {
                group: str_of(r.get("group"), "group", &what)?,
                python: str_of(r.get("python"), "python", &what)?,
                environment: str_of(r.get("environment"), "environment", &what)?,
                requirements: str_list(r.get("requirements"), "requirements")?,
                packages: str_list(r.get("packages"), "packages")?,
                build: opt_str(r.get("build"), "build")?,
                part,
            });
        }
    }
    Ok(tool)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Lock {
        let mut input = BTreeMap::new();
        input.insert("versions".to_string(), digest_text("a = 1"));
        let file = |n: &str| File {
            name: n.to_string(),
            location: Location::Url(format!("http://x/{n}")),
            size: Some(3),
            sha256: "ab".repeat(32),
        };
        Lock {
            created_by: "buildout 1".into(),
            requires_python: Some("==3.12.3".into()),
            environments: vec!["python_full_version == '3.12.3'".into()],
            packages: vec![
                Package {
                    name: "util".into(),
                    version: Some("2.0".into()),
                    groups: ["b".to_string()].into(),
                    index: Some("http://x/simple".into()),
                    wheels: vec![file("util-2.0-py3-none-any.whl")],
                    ..Package::default()
                },
                Package {
                    name: "util".into(),
                    version: Some("1.0".into()),
                    groups: ["a".to_string()].into(),
                    wheels: vec![file("util-1.0-py3-none-any.whl")],
                    ..Package::default()
                },
                Package {
                    name: "mine".into(),
                    version: None,
                    groups: ["a".to_string(), "b".to_string()].into(),
                    directory: Some(Directory {
                        path: "src/mine".into(),
                        editable: true,
                    }),
                    ..Package::default()
                },
            ],
            tool: Tool {
                inputs: digest(&input),
                input,
                requests: vec![Request {
                    part: "a".into(),
                    group: "a".into(),
                    python: "/usr/bin/python3".into(),
                    environment: "python_full_version == '3.12.3'".into(),
                    requirements: vec!["util<2".into()],
                    packages: vec!["Util==1.0".into()],
                    build: None,
                }],
                downloads: vec![Download {
                    url: "https://example.org/base.cfg".into(),
                    size: 12,
                    sha256: "cd".repeat(32),
                }],
            },
        }
    }

    #[test]
    fn round_trip_is_stable() {
        let lock = sample();
        let text = lock.to_toml();
        let back = Lock::parse(&text).unwrap();
        assert_eq!(back.to_toml(), text);
        assert!(text.contains("marker = \"'a' in dependency_groups or 'b' in dependency_groups\""));
        assert!(text.contains("dependency-groups = [\"a\", \"b\"]"));
        assert_eq!(back.package("Util", "1.0", "a").unwrap().name, "util");
        assert!(back.package("util", "1.0", "b").is_none());
    }

    #[test]
    fn a_lock_without_packages_round_trips() {
        let lock = Lock {
            created_by: "buildout".into(),
            ..Lock::default()
        };
        let text = lock.to_toml();
        assert!(text.contains("packages = []\n"), "{text}");
        assert_eq!(Lock::parse(&text).unwrap(), lock);
    }

    #[test]
    fn syntax_errors_name_the_line() {
        let err = Lock::parse("lock-version = \"1.0\"\nname = [\n").unwrap_err();
        let text = err.in_file("pylock.x.toml").to_string();
        assert!(
            text.starts_with("`pylock.x.toml` is not valid TOML"),
            "{text}"
        );
        assert!(text.contains("line 2") || text.contains("line 3"), "{text}");
    }

    #[test]
    fn invalid_entries_are_named() {
        let text = sample().to_toml();
        let bad = text.replacen(&"ab".repeat(32), "xyz", 1);
        let err = Lock::parse(&bad).unwrap_err().to_string();
        assert!(
            err.contains("package `util 1.0`, file `util-1.0-py3-none-any.whl`"),
            "{err}"
        );
        let err = Lock::parse(&text.replace("lock-version = \"1.0\"", "lock-version = \"2.0\""))
            .unwrap_err()
            .to_string();
        assert!(err.contains("unsupported lock-version `2.0`"), "{err}");
        let err =
            Lock::parse(&text.replace("packages = [\"Util==1.0\"]", "packages = [\"Util==9\"]"))
                .unwrap_err()
                .to_string();
        assert!(
            err.contains("`Util==9` has no `[[packages]]` entry"),
            "{err}"
        );
    }

    #[test]
    fn changed_inputs_lists_added_removed_and_changed() {
        let a: BTreeMap<_, _> =
            [("x".to_string(), "1".to_string()), ("y".into(), "2".into())].into();
        let b: BTreeMap<_, _> =
            [("x".to_string(), "1".to_string()), ("z".into(), "3".into())].into();
        assert_eq!(
            changed_inputs(&a, &b),
            vec!["y".to_string(), "z".to_string()]
        );
        assert_eq!(normalize("Foo_Bar..baz"), "foo-bar-baz");
    }
}
