//! Option values with their history, and the merge rules between layers.
//!
//! Every value remembers how it was made (`SET`, `ADD`, `REMOVE`,
//! `OVERRIDE`, `DIRECTORY`) and from where (a file, `DEFAULT_VALUE`,
//! `COMPUTED_VALUE`, `COMMAND_LINE_VALUE`), which is what `annotate` prints.
//! [`update`] and [`update_section`] merge one layer over another with
//! zc.buildout's `+=`/`-=` semantics (line based; `+=` before `-=`).

use super::parse::{RawSections, split_key};
use std::collections::BTreeMap;

/// Sources that are not files.
pub const DEFAULT_VALUE: &str = "DEFAULT_VALUE";
pub const COMPUTED_VALUE: &str = "COMPUTED_VALUE";
pub const COMMAND_LINE_VALUE: &str = "COMMAND_LINE_VALUE";
pub const IMPLICIT_VALUE: &str = "IMPLICIT_VALUE";

/// What one step in a value's history did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Set,
    Add,
    Remove,
    Override,
    Directory,
}

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Set => "SET",
            Op::Add => "ADD",
            Op::Remove => "REMOVE",
            Op::Override => "OVERRIDE",
            Op::Directory => "DIRECTORY",
        }
    }
}

/// One step of a value's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryItem {
    pub op: Op,
    pub value: String,
    pub source: String,
}

/// An option value and how it came to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SectionKey {
    pub value: String,
    pub history: Vec<HistoryItem>,
}

impl SectionKey {
    pub fn new(value: impl Into<String>, source: impl Into<String>) -> Self {
        let value = value.into();
        Self {
            history: vec![HistoryItem {
                op: Op::Set,
                value: value.clone(),
                source: source.into(),
            }],
            value,
        }
    }

    /// Where the current value came from.
    pub fn source(&self) -> &str {
        self.history.last().map_or("", |h| h.source.as_str())
    }

    fn push(&mut self, op: Op, value: String, source: String) {
        self.history.push(HistoryItem { op, value, source });
    }

    /// A later layer sets this option.
    pub fn override_value(&mut self, other: &SectionKey) {
        self.value.clone_from(&other.value);
        let last = other.history.last().map(|h| h.op);
        if matches!(last, Some(Op::Add | Op::Remove)) {
            self.history.clone_from(&other.history);
        } else {
            self.push(
                Op::Override,
                other.value.clone(),
                other.source().to_string(),
            );
        }
    }

    /// The value was made absolute relative to its file.
    pub fn set_directory(&mut self, value: String) {
        let source = self.source().to_string();
        self.value.clone_from(&value);
        self.push(Op::Directory, value, source);
    }

    /// `+=`: append the lines of `added`.
    pub fn add_to_value(&mut self, added: &str, source: &str) {
        self.value = format!("{}\n{}", self.value, added);
        self.push(Op::Add, added.to_string(), source.to_string());
    }

    /// `-=`: drop every line equal to one of the lines of `removed`.
    pub fn remove_from_value(&mut self, removed: &str, source: &str) {
        let gone: Vec<&str> = removed.split('\n').collect();
        let kept: Vec<&str> = self
            .value
            .split('\n')
            .filter(|line| !gone.contains(line))
            .collect();
        self.value = kept.join("\n");
        self.push(Op::Remove, removed.to_string(), source.to_string());
    }
}

/// One section's annotated options.
pub type Section = BTreeMap<String, SectionKey>;
/// All sections.
pub type Data = BTreeMap<String, Section>;

/// Annotates every value of a parsed file with `source`.
pub fn annotate(raw: RawSections, source: &str) -> Data {
    raw.into_iter()
        .map(|(name, options)| {
            let section = options
                .into_iter()
                .map(|(k, v)| (k, SectionKey::new(v, source)))
                .collect();
            (name, section)
        })
        .collect()
}

/// Plain values of a section.
pub fn unannotate_section(section: &Section) -> BTreeMap<String, String> {
    section
        .iter()
        .map(|(k, v)| (k.clone(), v.value.clone()))
        .collect()
}

/// Merges section `s2` over `s1` (zc.buildout's `_update_section`).
pub fn update_section(s1: &Section, s2: &Section) -> Section {
    update_section_into(s1.clone(), s2)
}

/// [`update_section`] consuming `s1` (no copy of the base section: a
/// versions section can hold thousands of options).
pub fn update_section_into(mut s1: Section, s2: &Section) -> Section {
    let mut s2 = s2.clone();
    // `+` keys sort before the plain key; `-` keys after both.
    let mut keys: Vec<String> = s2.keys().cloned().collect();
    keys.sort_by(|a, b| sort_key(a).cmp(&sort_key(b)));
    for k in keys {
        let (base, op) = split_key(&k);
        if op == '=' {
            continue;
        }
        let v = s2.remove(&k).expect("key from s2");
        let mut section_key = s2
            .get(base)
            .or_else(|| s1.get(base))
            .cloned()
            .unwrap_or_else(|| SectionKey::new("", IMPLICIT_VALUE));
        if op == '+' {
            section_key.add_to_value(&v.value, v.source());
        } else {
            section_key.remove_from_value(&v.value, v.source());
        }
        s2.insert(base.to_string(), section_key);
    }
    for (key, v2) in s2 {
        match s1.get_mut(&key) {
            Some(v1) => v1.override_value(&v2),
            None => {
                s1.insert(key, v2);
            }
        }
    }
    s1
}

fn sort_key(k: &str) -> (&str, char) {
    (
        k.trim_end_matches([' ', '+']),
        k.chars().last().unwrap_or(' '),
    )
}

/// Merges `d2` over `d1` (zc.buildout's `_update`).
///
/// A section new in `d2` that uses a macro (`<`) is copied as it is: its
/// operators apply to the macro's values when the section is expanded.
pub fn update(d1: &Data, d2: &Data) -> Data {
    update_into(d1.clone(), d2)
}

/// [`update`] consuming `d1`.
pub fn update_into(mut d1: Data, d2: &Data) -> Data {
    for (name, s2) in d2 {
        if let Some(s1) = d1.remove(name) {
            let merged = update_section_into(s1, s2);
            d1.insert(name.clone(), merged);
        } else if !s2.contains_key("<") {
            let mut temp = s2.clone();
            let keys: Vec<String> = temp.keys().cloned().collect();
            for k in keys {
                let (base, op) = split_key(&k);
                if op == '=' || temp.contains_key(base) {
                    continue;
                }
                let mut v = temp.remove(&k).expect("key from temp");
                if op == '-' {
                    let value = v.value.clone();
                    v.remove_from_value(&value, IMPLICIT_VALUE);
                }
                temp.insert(base.to_string(), v);
            }
            d1.insert(name.clone(), update_section(&Section::new(), &temp));
        } else {
            d1.insert(name.clone(), s2.clone());
        }
    }
    d1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sec(items: &[(&str, &str)], src: &str) -> Section {
        items
            .iter()
            .map(|(k, v)| ((*k).to_string(), SectionKey::new(*v, src)))
            .collect()
    }

    #[test]
    fn add_and_remove_are_line_based() {
        let base = sec(&[("eggs", "a\nb\nc")], "base.cfg");
        let over = sec(&[("eggs +", "d"), ("eggs -", "b")], "b.cfg");
        let merged = update_section(&base, &over);
        assert_eq!(merged["eggs"].value, "a\nc\nd");
        let ops: Vec<Op> = merged["eggs"].history.iter().map(|h| h.op).collect();
        assert_eq!(ops, vec![Op::Set, Op::Add, Op::Remove]);
    }

    #[test]
    fn add_on_missing_key_of_existing_section_is_implicit() {
        let base = sec(&[("x", "1")], "a.cfg");
        let over = sec(&[("y +", "v")], "b.cfg");
        let merged = update_section(&base, &over);
        assert_eq!(merged["y"].value, "\nv");
        assert_eq!(merged["y"].history[0].source, IMPLICIT_VALUE);
    }

    #[test]
    fn add_in_new_section_becomes_assignment_in_both_spellings() {
        let mut d2 = Data::new();
        d2.insert(
            "new".into(),
            sec(&[("eggs +", "e1"), ("opt -", "x")], "b.cfg"),
        );
        let merged = update(&Data::new(), &d2);
        assert_eq!(merged["new"]["eggs"].value, "e1");
        assert_eq!(merged["new"]["opt"].value, "");
    }

    #[test]
    fn override_keeps_history() {
        let base = sec(&[("x", "1")], "a.cfg");
        let over = sec(&[("x", "2")], "b.cfg");
        let merged = update_section(&base, &over);
        assert_eq!(merged["x"].value, "2");
        assert_eq!(merged["x"].history.len(), 2);
        assert_eq!(merged["x"].history[1].op, Op::Override);
    }
}
