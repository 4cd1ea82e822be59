//! Rendering `buildout annotate`: every section and option, sorted, with
//! where each value came from (and its whole history with `-v`), in
//! zc.buildout's exact layout, except that the userinfo of every URL
//! (`https://user:password@host/`) is left out of values and sources
//! whatever the verbosity (`query` prints the raw value asked for).

use super::annotated::{
    COMMAND_LINE_VALUE, COMPUTED_VALUE, DEFAULT_VALUE, Data, HistoryItem, Op, SectionKey,
};
use super::pystr;
use crate::index::redact_all;
use std::fmt::Write;

/// Renders the annotated configuration; `chosen` limits the sections shown.
pub fn render(data: &Data, verbose: bool, chosen: &[String], basedir: &str) -> String {
    let mut out = String::new();
    out.push_str("\nAnnotated sections\n==================\n");
    for (name, section) in data {
        if !chosen.is_empty() && !chosen.contains(name) {
            continue;
        }
        let _ = write!(out, "\n[{name}]\n");
        for (key, value) in section {
            render_key(&mut out, key, value, verbose, basedir);
        }
    }
    out
}

fn render_key(out: &mut String, key: &str, value: &SectionKey, verbose: bool, basedir: &str) {
    let shown = redact_all(&value.value);
    let lines = pystr::splitlines(&shown);
    if lines.len() <= 1 {
        if shown.is_empty() {
            let _ = writeln!(out, "{key}=");
        } else {
            let _ = writeln!(out, "{key}= {shown}");
        }
    } else {
        let _ = writeln!(out, "{key}= {}", lines[0]);
        for line in &lines[1..] {
            let _ = writeln!(out, "{line}");
        }
    }
    if verbose {
        out.push('\n');
        for item in value.history.iter().rev() {
            render_item(out, item, basedir);
        }
        out.push('\n');
    } else {
        let mut shown = Vec::new();
        for item in value.history.iter().rev() {
            shown.push(short(item, basedir));
            if !matches!(item.op, Op::Add | Op::Remove) {
                break;
            }
        }
        for line in shown.iter().rev() {
            if !pystr::strip(line).is_empty() {
                let _ = writeln!(out, "{line}");
            }
        }
    }
}

fn short(item: &HistoryItem, basedir: &str) -> String {
    let source = for_human(&item.source, basedir);
    match item.op {
        Op::Add => format!("+=  {source}"),
        Op::Remove => format!("-=  {source}"),
        Op::Set | Op::Override | Op::Directory => format!("    {source}"),
    }
}

fn render_item(out: &mut String, item: &HistoryItem, basedir: &str) {
    let prefix =
        if [DEFAULT_VALUE, COMPUTED_VALUE, COMMAND_LINE_VALUE].contains(&item.source.as_str()) {
            "AS"
        } else {
            "IN"
        };
    let _ = writeln!(out, "   {prefix} {}", for_human(&item.source, basedir));
    let value = redact_all(&item.value);
    let lines = pystr::splitlines(&value);
    if lines.len() <= 1 {
        let _ = writeln!(out, "   {} VALUE = {value}", item.op.as_str());
    } else {
        let _ = writeln!(out, "   {} VALUE =", item.op.as_str());
        for line in lines {
            let _ = writeln!(out, "      {line}");
        }
    }
}

/// A source relative to the buildout directory when it starts with it
/// (a string prefix test, as zc.buildout does).
fn for_human(source: &str, basedir: &str) -> String {
    if source.starts_with(basedir) {
        pystr::relpath(source, basedir)
    } else {
        redact_all(source)
    }
}
