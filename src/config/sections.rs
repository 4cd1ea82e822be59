//! Lazy section initialisation: macros (`<=`) and `${section:option}`
//! substitution.
//!
//! Mirrors zc.buildout's `Buildout.__getitem__` / `Options`: a section is
//! initialised on first access (macro expansion, then every option holding
//! `${` substituted in sorted key order, which pulls referenced sections in,
//! then its `=>` dependencies); a section with a non-empty `recipe` that is
//! initialised becomes a part, in depth-first post-order. Values are memoised.
//! `$$` only protects from substitution; it is not unescaped. The stack of
//! what is being done is kept so errors carry zc.buildout's `While:` lines.
//!
//! Bounded where zc.buildout relies on Python's recursion limit and memory:
//! nested substitutions ([`super::MAX_SUBSTITUTION_DEPTH`]), evaluation as a
//! whole ([`super::MAX_EVALUATION_DEPTH`]: macro and `=>` chains) and the
//! size of a substituted value ([`super::MAX_VALUE_SIZE`]) stop with an
//! error, never a stack overflow or exhausted memory.

use super::annotated::{self, Section, SectionKey};
use super::pystr;
use super::{Error, ErrorKind};
use regex::Regex;
use std::collections::BTreeMap;
use std::sync::LazyLock;

/// Plain options of one section.
pub type Options = BTreeMap<String, String>;

static TEMPLATE_REF: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[$]\{[^}]*\}").expect("valid regex"));
static VALID_REF: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\$\{[-a-zA-Z0-9 ._]*:[-a-zA-Z0-9 ._]+\}$").expect("valid regex")
});
static SIMPLE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[-a-zA-Z0-9 ._]+$").expect("valid regex"));

#[derive(Debug, Clone, Default)]
struct SectionState {
    /// Raw options after macro expansion.
    raw: Options,
    /// Substituted values of the options that held `${` at initialisation.
    cooked: Options,
    /// Final values, as read (and as set by recipes).
    data: Options,
    /// Options read through [`Buildout::get`] (by the core, a recipe or a
    /// substitution) or set: zc.buildout's "used" options (`_data`).
    used: std::collections::BTreeSet<String>,
}

/// What runs when a part's section is initialised: zc.buildout constructs
/// the part's recipe there (`Options.initialize`), so options a constructor
/// sets are seen by every substitution that reads them afterwards. The
/// install sets one ([`crate::recipe::host`]); `annotate` and `query` run
/// without.
pub trait Hook {
    /// Constructs the recipe of `part`, whose section is initialised up to
    /// its recipe (macros expanded, values substituted, `=>` dependencies
    /// initialised). Called before `part` joins [`Buildout::parts`].
    fn construct(&self, buildout: &mut Buildout<'_>, part: &str) -> Result<(), Error>;
}

/// The evaluated configuration (zc.buildout's `Buildout` mapping). `'h` is
/// the lifetime of its [`Hook`].
#[derive(Clone, Default)]
pub struct Buildout<'h> {
    /// Raw sections as composed from all layers (before macros).
    raw: BTreeMap<String, Options>,
    sections: BTreeMap<String, SectionState>,
    /// Sections with a recipe, in initialisation order.
    parts: Vec<String>,
    doing: Vec<String>,
    /// The options whose substitution is under way, outermost first (at
    /// most [`super::MAX_SUBSTITUTION_DEPTH`]).
    nesting: Vec<(String, String)>,
    hook: Option<std::rc::Rc<dyn Hook + 'h>>,
}

impl std::fmt::Debug for Buildout<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Buildout")
            .field("raw", &self.raw)
            .field("sections", &self.sections)
            .field("parts", &self.parts)
            .field("hook", &self.hook.is_some())
            .finish_non_exhaustive()
    }
}

type Seen = Vec<(String, String)>;

impl<'h> Buildout<'h> {
    pub fn new(raw: BTreeMap<String, Options>) -> Self {
        Self {
            raw,
            ..Self::default()
        }
    }

    /// Names of all sections.
    pub fn section_names(&self) -> impl Iterator<Item = &String> {
        self.raw.keys()
    }

    /// The raw (unsubstituted) options of a section as composed.
    pub fn raw_section(&self, name: &str) -> Option<&Options> {
        self.raw.get(name)
    }

    /// Overrides a raw value before initialisation (directory absolutising).
    pub fn set_raw(&mut self, section: &str, option: &str, value: String) {
        self.raw
            .entry(section.to_string())
            .or_default()
            .insert(option.to_string(), value);
    }

    /// Sections that have a recipe, in install order (depth-first post-order).
    pub fn parts(&self) -> &[String] {
        &self.parts
    }

    /// Sets what constructs recipes as their sections are initialised.
    pub fn set_hook(&mut self, hook: std::rc::Rc<dyn Hook + 'h>) {
        self.hook = Some(hook);
    }

    /// Runs `f` with `line` on the stack of what is being done (the
    /// `While:` lines of an error raised inside).
    pub fn with_doing<T>(
        &mut self,
        line: String,
        f: impl FnOnce(&mut Self) -> Result<T, Error>,
    ) -> Result<T, Error> {
        self.doing(line, f)
    }

    /// An error carrying the current `While:` lines.
    pub fn error(&self, kind: ErrorKind) -> Error {
        self.fail(kind)
    }

    /// `buildout[name] = options`: adds a section that does not exist yet
    /// and initialises it (a meta-recipe's new part). `false` if it exists.
    pub fn add_section(&mut self, name: &str, options: Options) -> Result<bool, Error> {
        if self.raw.contains_key(name) {
            return Ok(false);
        }
        self.raw.insert(name.to_string(), options);
        self.section(name)?;
        Ok(true)
    }

    /// `buildout._raw[section][option] = value`: the raw value, also of a
    /// section already initialised (zc.buildout's `Options._raw` is the
    /// same dictionary); a value already computed from the old one stays.
    pub fn set_raw_value(&mut self, section: &str, option: &str, value: String) {
        if let Some(state) = self.sections.get_mut(section) {
            state.raw.insert(option.to_string(), value.clone());
        }
        self.set_raw(section, option, value);
    }

    /// `del buildout._raw[section][option]`; `false` if absent.
    pub fn remove_raw_value(&mut self, section: &str, option: &str) -> bool {
        if let Some(state) = self.sections.get_mut(section) {
            state.raw.remove(option);
        }
        self.raw
            .get_mut(section)
            .is_some_and(|s| s.remove(option).is_some())
    }

    /// `buildout._raw[section] = options`: replaces a raw section without
    /// initialising it.
    pub fn set_raw_section(&mut self, section: &str, options: Options) {
        self.raw.insert(section.to_string(), options);
    }

    /// The option names of an initialised section (`options.keys()`): raw
    /// and set ones.
    pub fn keys(&mut self, section: &str) -> Result<Vec<String>, Error> {
        self.section(section)?;
        let s = &self.sections[section];
        let mut keys: Vec<String> = s.raw.keys().chain(s.data.keys()).cloned().collect();
        keys.sort();
        keys.dedup();
        Ok(keys)
    }

    /// `del options[key]`: `false` if the section has no such option.
    pub fn remove(&mut self, section: &str, option: &str) -> Result<bool, Error> {
        self.section(section)?;
        let state = self.state(section);
        let raw = state.raw.remove(option).is_some();
        let cooked = state.cooked.remove(option).is_some();
        let data = state.data.remove(option).is_some();
        Ok(raw || cooked || data)
    }

    fn fail(&self, kind: ErrorKind) -> Error {
        Error {
            context: self.doing.clone(),
            kind,
        }
    }

    /// Runs `f` with `line` on the doing stack.
    fn doing<T>(
        &mut self,
        line: String,
        f: impl FnOnce(&mut Self) -> Result<T, Error>,
    ) -> Result<T, Error> {
        if self.doing.len() >= super::MAX_EVALUATION_DEPTH {
            return Err(self.too_deep(format!(
                "The configuration nests more than {} steps deep (macros, `=>` dependencies \
                 or substitutions), at: {line}",
                super::MAX_EVALUATION_DEPTH
            )));
        }
        self.doing.push(line);
        let result = f(self);
        self.doing.pop();
        result
    }

    /// Initialises `name` if needed (`buildout[name]`).
    pub fn section(&mut self, name: &str) -> Result<(), Error> {
        self.doing(format!("Getting section {name}."), |b| {
            if b.sections.contains_key(name) {
                return Ok(());
            }
            let Some(raw) = b.raw.get(name).cloned() else {
                return Err(b.fail(ErrorKind::MissingSection(name.to_string())));
            };
            b.sections.insert(
                name.to_string(),
                SectionState {
                    raw,
                    ..SectionState::default()
                },
            );
            b.initialize(name)
        })
    }

    fn initialize(&mut self, name: &str) -> Result<(), Error> {
        self.doing(format!("Initializing section {name}."), |b| {
            let raw = b.sections[name].raw.clone();
            if raw.contains_key("<") {
                let mut stack = Vec::new();
                let expanded = b.extend_raw(name, raw, &mut stack)?;
                b.state(name).raw = expanded;
            }
            let raw = b.sections[name].raw.clone();
            for (k, v) in &raw {
                if v.contains("${") {
                    b.dosub(name, k, v)?;
                }
            }
            if name == "buildout" {
                return Ok(());
            }
            let deps = b
                .get(name, "<part-dependencies>", None)?
                .unwrap_or_default();
            for dep in deps.split_whitespace() {
                b.section(dep)?;
            }
            if b.get(name, "recipe", None)?.is_some_and(|r| !r.is_empty()) {
                if let Some(hook) = b.hook.clone() {
                    hook.construct(b, name)?;
                }
                b.parts.push(name.to_string());
            }
            Ok(())
        })
    }

    fn state(&mut self, name: &str) -> &mut SectionState {
        self.sections.get_mut(name).expect("section initialised")
    }

    fn extend_raw(
        &mut self,
        name: &str,
        data: Options,
        stack: &mut Vec<String>,
    ) -> Result<Options, Error> {
        if name == "buildout" {
            return Ok(data);
        }
        if stack.iter().any(|s| s == name) {
            return Err(self.fail(ErrorKind::User(format!(
                "Infinite extending loop {}",
                pystr::repr(name)
            ))));
        }
        stack.push(name.to_string());
        let result = (|| {
            let Some(to_do) = data.get("<").cloned() else {
                return Ok(data.clone());
            };
            self.doing(
                format!("Loading input sections for {}", pystr::repr(name)),
                |b| {
                    let mut result = Options::new();
                    for iname in to_do.split('\n') {
                        let iname = pystr::strip(iname);
                        if iname.is_empty() {
                            continue;
                        }
                        let Some(raw) = b.raw.get(iname).cloned() else {
                            return Err(b.fail(ErrorKind::User(format!(
                                "No section named {}",
                                pystr::repr(iname)
                            ))));
                        };
                        result.extend(b.extend_raw(iname, raw, stack)?);
                    }
                    let annotate = |o: &Options| -> Section {
                        o.iter()
                            .map(|(k, v)| (k.clone(), SectionKey::new(v.clone(), "")))
                            .collect()
                    };
                    let merged = annotated::update_section(&annotate(&result), &annotate(&data));
                    let mut plain = annotated::unannotate_section(&merged);
                    plain.remove("<");
                    Ok(plain)
                },
            )
        })();
        stack.pop();
        result
    }

    /// An error for nesting past a limit, with the `While:` lines of the
    /// outermost and innermost levels only.
    fn too_deep(&self, message: String) -> Error {
        let mut context = self.doing.clone();
        if context.len() > 8 {
            let skipped = context.len() - 6;
            context.splice(3..context.len() - 3, [format!("({skipped} more)")]);
        }
        Error {
            context,
            kind: ErrorKind::User(message),
        }
    }

    /// Runs `f`, the substitution of `section:option`, one level deeper;
    /// an error past [`super::MAX_SUBSTITUTION_DEPTH`] levels.
    fn nested<T>(
        &mut self,
        section: &str,
        option: &str,
        f: impl FnOnce(&mut Self) -> Result<T, Error>,
    ) -> Result<T, Error> {
        if self.nesting.len() >= super::MAX_SUBSTITUTION_DEPTH {
            let (first_section, first_option) = &self.nesting[0];
            return Err(self.too_deep(format!(
                "Substitutions nested more than {} levels deep, from ${{{first_section}:{first_option}}} to ${{{section}:{option}}}.",
                super::MAX_SUBSTITUTION_DEPTH
            )));
        }
        self.nesting.push((section.to_string(), option.to_string()));
        let result = f(self);
        self.nesting.pop();
        result
    }

    fn dosub(&mut self, section: &str, option: &str, value: &str) -> Result<(), Error> {
        self.doing(format!("Getting option {section}:{option}."), |b| {
            let mut seen = vec![(section.to_string(), option.to_string())];
            let v = b.nested(section, option, |b| {
                b.sub_escaped(section, value, &mut seen)
            })?;
            b.state(section).cooked.insert(option.to_string(), v);
            Ok(())
        })
    }

    fn sub_escaped(
        &mut self,
        section: &str,
        value: &str,
        seen: &mut Seen,
    ) -> Result<String, Error> {
        let mut pieces = Vec::new();
        for piece in value.split("$$") {
            pieces.push(self.sub(section, piece, seen)?);
        }
        Ok(pieces.join("$$"))
    }

    /// Reads an option with substitution (`options.get`); `None` if absent.
    /// The option counts as used (see [`Self::unused_options`]).
    pub fn get(
        &mut self,
        section: &str,
        option: &str,
        seen: Option<&mut Seen>,
    ) -> Result<Option<String>, Error> {
        let value = self.peek(section, option, seen)?;
        if let Some(state) = self.sections.get_mut(section) {
            state.used.insert(option.to_string());
        }
        Ok(value)
    }

    /// [`Self::get`] without counting the option as used.
    fn peek(
        &mut self,
        section: &str,
        option: &str,
        seen: Option<&mut Seen>,
    ) -> Result<Option<String>, Error> {
        if !self.sections.contains_key(section) {
            // `buildout[section].get(...)`: the section is initialised first.
            self.section(section)?;
        }
        let state = &self.sections[section];
        if let Some(v) = state.data.get(option) {
            return Ok(Some(v.clone()));
        }
        let Some(v) = state
            .cooked
            .get(option)
            .or_else(|| state.raw.get(option))
            .cloned()
        else {
            return Ok(None);
        };
        self.doing(format!("Getting option {section}:{option}."), |b| {
            let mut v = v;
            if v.contains("${") {
                let key = (section.to_string(), option.to_string());
                let mut own = Vec::new();
                let seen = match seen {
                    None => {
                        own.push(key);
                        &mut own
                    }
                    Some(seen) => {
                        if seen.contains(&key) {
                            return Err(b.fail(ErrorKind::User(
                                "Circular reference in substitutions.\n".into(),
                            )));
                        }
                        seen.push(key);
                        seen
                    }
                };
                v = b.nested(section, option, |b| b.sub_escaped(section, &v, seen))?;
                seen.pop();
            }
            b.state(section).data.insert(option.to_string(), v.clone());
            Ok(Some(v))
        })
    }

    /// `options[key]`: like [`Self::get`] but a missing option is an error.
    pub fn require(&mut self, section: &str, option: &str) -> Result<String, Error> {
        match self.get(section, option, None)? {
            Some(v) => Ok(v),
            None => Err(self.fail(ErrorKind::User(format!(
                "Missing option: {section}:{option}"
            )))),
        }
    }

    /// Sets a computed value (`options[key] = value`) of an initialised
    /// section (a section not initialised yet gets one, empty).
    pub fn set(&mut self, section: &str, option: &str, value: String) {
        let state = self.sections.entry(section.to_string()).or_default();
        state.used.insert(option.to_string());
        state.data.insert(option.to_string(), value);
    }

    fn sub(&mut self, current: &str, template: &str, seen: &mut Seen) -> Result<String, Error> {
        let mut out = String::new();
        let mut last = 0;
        let refs: Vec<(usize, usize)> = TEMPLATE_REF
            .find_iter(template)
            .map(|m| (m.start(), m.end()))
            .collect();
        for (start, end) in refs {
            out.push_str(&template[last..start]);
            last = end;
            let reference = &template[start..end];
            let inner = &reference[2..reference.len() - 1];
            let parts: Vec<&str> = inner.split(':').collect();
            if !VALID_REF.is_match(reference) {
                let message = if parts.len() < 2 {
                    format!("The substitution, {reference},\ndoesn't contain a colon.")
                } else if parts.len() > 2 {
                    format!("The substitution, {reference},\nhas too many colons.")
                } else if !SIMPLE.is_match(parts[0]) {
                    format!(
                        "The section name in substitution, {reference},\nhas invalid characters."
                    )
                } else if !SIMPLE.is_match(parts[1]) {
                    format!(
                        "The option name in substitution, {reference},\nhas invalid characters."
                    )
                } else {
                    String::new()
                };
                if !message.is_empty() {
                    return Err(self.fail(ErrorKind::User(message)));
                }
            }
            let section = if parts[0].is_empty() {
                current
            } else {
                parts[0]
            };
            let option = parts[1];
            self.section(section)?;
            let value = self.get(section, option, Some(seen))?;
            let value = match value {
                Some(v) => v,
                None if option == "_buildout_section_name_" => current.to_string(),
                None => {
                    return Err(self.fail(ErrorKind::User(format!(
                        "Referenced option does not exist: {section} {option}"
                    ))));
                }
            };
            out.push_str(&value);
            if out.len() > super::MAX_VALUE_SIZE {
                return Err(self.too_large(current));
            }
        }
        out.push_str(&template[last..]);
        if out.len() > super::MAX_VALUE_SIZE {
            return Err(self.too_large(current));
        }
        Ok(out)
    }

    /// A substituted value over [`super::MAX_VALUE_SIZE`], named by the
    /// option being computed (or the section of a recipe's text).
    fn too_large(&self, current: &str) -> Error {
        let place = match self.nesting.last() {
            Some((section, option)) => format!("The value of ${{{section}:{option}}}"),
            None => format!("A text substituted in section {current}"),
        };
        self.fail(ErrorKind::User(format!(
            "{place} would be larger than {}, the limit for a substituted value.",
            super::mib(super::MAX_VALUE_SIZE as u64)
        )))
    }

    /// Substitutes a whole text in the context of `section`, the way
    /// recipes call `options._sub(text, [])` (no `$$` protection: that is
    /// only applied to option values).
    pub fn substitute(&mut self, section: &str, text: &str) -> Result<String, Error> {
        self.section(section)?;
        self.sub(section, text, &mut Vec::new())
    }

    /// All final values of an initialised section, each counting as used.
    pub fn options(&mut self, section: &str) -> Result<Options, Error> {
        let out = self.peek_options(section)?;
        let state = self.state(section);
        state.used.extend(out.keys().cloned());
        Ok(out)
    }

    /// The options of `section` that nothing has read (zc.buildout's
    /// unused-option warning lists them), sorted; `extra_used` are read
    /// elsewhere (the core's own `[buildout]` options).
    pub fn unused_options(&self, section: &str, extra_used: &[&str]) -> Vec<String> {
        let Some(state) = self.sections.get(section) else {
            return Vec::new();
        };
        state
            .raw
            .keys()
            .filter(|k| !state.used.contains(*k) && !extra_used.contains(&k.as_str()))
            .cloned()
            .collect()
    }

    /// All final values of an initialised section, without counting them
    /// as used (for snapshots).
    pub fn peek_options(&mut self, section: &str) -> Result<Options, Error> {
        self.section(section)?;
        let keys: Vec<String> = {
            let s = &self.sections[section];
            s.raw.keys().chain(s.data.keys()).cloned().collect()
        };
        let mut out = Options::new();
        for k in keys {
            if let Some(v) = self.peek(section, &k, None)? {
                out.insert(k, v);
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn buildout(sections: &[(&str, &[(&str, &str)])]) -> Buildout<'static> {
        Buildout::new(
            sections
                .iter()
                .map(|(name, opts)| {
                    (
                        (*name).to_string(),
                        opts.iter()
                            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
                            .collect(),
                    )
                })
                .collect(),
        )
    }

    #[test]
    fn an_option_is_used_once_read_substituted_or_set() {
        let mut b = buildout(&[
            (
                "p",
                &[("a", "1"), ("b", "${q:c}"), ("typo", "2"), ("set", "3")],
            ),
            ("q", &[("c", "4"), ("d", "5")]),
        ]);
        // Initialising substitutes `b` (which reads q:c) but does not use `b`.
        b.section("p").unwrap();
        assert_eq!(b.unused_options("p", &[]), ["a", "b", "set", "typo"]);
        assert_eq!(b.unused_options("q", &[]), ["d"]);
        b.get("p", "a", None).unwrap();
        b.set("p", "set", "x".into());
        b.peek_options("p").unwrap();
        assert_eq!(b.unused_options("p", &[]), ["b", "typo"]);
        assert_eq!(b.unused_options("p", &["typo"]), ["b"]);
        b.options("p").unwrap();
        assert!(b.unused_options("p", &[]).is_empty());
    }

    #[test]
    fn get_initialises_a_section_not_read_yet() {
        let mut b = buildout(&[("a", &[("x", "${b:y}")]), ("b", &[("y", "1")])]);
        assert_eq!(b.get("a", "x", None).unwrap().as_deref(), Some("1"));
        let err = b.get("nope", "x", None).unwrap_err();
        assert_eq!(
            err.message(),
            "The referenced section, 'nope', was not defined."
        );
    }
}
