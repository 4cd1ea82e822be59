//! The module layers in README.md's Layout hold: every `crate::` path in
//! `src/` points at a module of a lower layer, and the table lists exactly
//! the modules `src/lib.rs` declares.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Module name → layer (0 is the top), from README's Layout table.
fn layers() -> BTreeMap<String, usize> {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let start = readme
        .find("## Layout")
        .expect("README has a Layout section");
    let rest = &readme[start..];
    let open = rest.find("```text\n").expect("a text block") + "```text\n".len();
    let close = rest[open..].find("```").expect("a closed block");
    let mut layers = BTreeMap::new();
    for (layer, line) in rest[open..open + close].lines().enumerate() {
        let names = line.split("  ").next().unwrap_or_default();
        for name in names.split('|') {
            let name = name.trim();
            assert!(!name.is_empty(), "empty module name in `{line}`");
            assert!(
                layers.insert(name.to_string(), layer).is_none(),
                "{name} listed twice"
            );
        }
    }
    layers
}

/// The modules `src/lib.rs` declares.
fn declared() -> BTreeSet<String> {
    let lib = std::fs::read_to_string(root().join("src/lib.rs")).unwrap();
    lib.lines()
        .filter_map(|l| {
            let l = l.trim();
            let l = l.strip_prefix("pub ").unwrap_or(l);
            let l = l.strip_prefix("pub(crate) ").unwrap_or(l);
            l.strip_prefix("mod ")?
                .strip_suffix(';')
                .map(str::to_string)
        })
        .collect()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level modules a line of code names through `crate::`.
fn crate_paths(line: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = line;
    while let Some(at) = rest.find("crate::") {
        let before = rest[..at].chars().last();
        rest = &rest[at + "crate::".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$') {
            continue;
        }
        if let Some(group) = rest.strip_prefix('{') {
            // `crate::{a::B, c}`: the first segment of each item at depth 0.
            let mut depth = 0;
            let mut item = String::new();
            let mut items = Vec::new();
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => items.push(std::mem::take(&mut item)),
                    _ if depth == 0 => item.push(c),
                    _ => {}
                }
            }
            items.push(item);
            for item in items {
                let name: String = item
                    .trim()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    found.push(name);
                }
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            found.push(name);
        }
    }
    found
}

#[test]
fn readme_layers_list_every_module() {
    let listed: BTreeSet<String> = layers().into_keys().collect();
    assert_eq!(listed, declared(), "README's Layout table vs src/lib.rs");
}

#[test]
fn modules_use_only_lower_layers() {
    let layers = layers();
    let src = root().join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut violations = Vec::new();
    for file in files {
        let rel = file.strip_prefix(&src).unwrap();
        let first = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy();
        let module = first.trim_end_matches(".rs").to_string();
        let Some(&own) = layers.get(&module) else {
            continue; // lib.rs, main.rs
        };
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in text.lines().enumerate() {
            if line.trim_start().starts_with("//") {
                continue;
            }
            for used in crate_paths(line) {
                let Some(&layer) = layers.get(&used) else {
                    continue;
                };
                if used != module && layer <= own {
                    violations.push(format!(
                        "src/{}:{}: `{module}` uses `{used}`, which is not below it",
                        rel.display(),
                        n + 1
                    ));
                }
            }
        }
    }
    assert!(violations.is_empty(), "{}", violations.join("\n"));
}

#[test]
fn crate_paths_are_found() {
    assert_eq!(crate_paths("use crate::store::{self, X};"), ["store"]);
    assert_eq!(
        crate_paths("use crate::{config::{A, B}, python::C, env};"),
        ["config", "python", "env"]
    );
    assert_eq!(
        crate_paths("let x = crate::ops::run(); mycrate::no"),
        ["ops"]
    );
}
