//! `man/` must match what the clap definition renders (`buildout.1` and
//! one page per command), so the documentation cannot drift from the
//! parser. Rendering needs `clap_mangen`, a test-only dependency.
//!
//! Regenerate with `BUILDOUT_UPDATE_MAN=1 cargo test --test it man`.

use buildout::Cli;
use clap::CommandFactory;
use std::path::Path;

/// Every man page as (file name, contents).
fn pages() -> Vec<(String, Vec<u8>)> {
    let cmd = Cli::command();
    let mut pages = vec![("buildout.1".to_string(), render(cmd.clone()))];
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("buildout-{}", sub.get_name());
        let page = sub.clone().name(name.clone());
        pages.push((format!("{name}.1"), render(page)));
        // A command's global options (ours, given after the command) reach
        // its subcommands, as clap does when it parses.
        let globals: Vec<clap::Arg> = sub
            .get_arguments()
            .filter(|a| a.is_global_set())
            .cloned()
            .collect();
        for nested in sub.get_subcommands().filter(|s| !s.is_hide_set()) {
            let nested_name = format!("{name}-{}", nested.get_name());
            let page = nested
                .clone()
                .name(nested_name.clone())
                .args(globals.clone());
            pages.push((format!("{nested_name}.1"), render(page)));
        }
    }
    pages
}

/// The page clap_mangen renders, with our SYNOPSIS: clap_mangen 0.3 drops
/// the value of every option there (`[-c ]` for `-c FILE`).
fn render(cmd: clap::Command) -> Vec<u8> {
    let mut page = Vec::new();
    clap_mangen::Man::new(cmd.clone())
        .render(&mut page)
        .expect("rendering to memory cannot fail");
    let page = String::from_utf8(page).expect("roff is UTF-8");
    let start = page.find(".SH SYNOPSIS\n").expect("a SYNOPSIS section");
    let end = page[start + 1..]
        .find("\n.SH ")
        .map_or(page.len(), |i| start + 1 + i + 1);
    format!("{}{}{}", &page[..start], synopsis(cmd), &page[end..]).into_bytes()
}

/// Escapes text for roff (`-` is a hyphen, `\-` a minus as options need).
fn roff(text: &str) -> String {
    text.replace('\\', "\\e").replace('-', "\\-")
}

/// `.SH SYNOPSIS` and one line: the command, its options with their values
/// (`[-c FILE]`, `[--color WHEN]`), positionals, then `[COMMAND]`.
fn synopsis(mut cmd: clap::Command) -> String {
    cmd.build();
    let mut line = format!("\\fB{}\\fR ", roff(cmd.get_name()));
    let visible = |a: &&clap::Arg| !a.is_hide_set();
    let mut options: Vec<&clap::Arg> = cmd
        .get_arguments()
        .filter(visible)
        .filter(|a| !a.is_positional())
        .collect();
    options.sort_by_key(|a| a.get_display_order());
    for arg in options {
        let flag = match (arg.get_short(), arg.get_long()) {
            (Some(s), Some(l)) => format!("\\fB\\-{s}\\fR|\\fB\\-\\-{}\\fR", roff(l)),
            (Some(s), None) => format!("\\fB\\-{s}\\fR"),
            (None, Some(l)) => format!("\\fB\\-\\-{}\\fR", roff(l)),
            (None, None) => continue,
        };
        let takes_values = arg.get_num_args().is_some_and(|n| n.takes_values());
        let value = match arg.get_value_names() {
            Some(names) if takes_values => format!(" \\fI{}\\fR", roff(&names.join(" "))),
            None if takes_values => {
                format!(" \\fI{}\\fR", roff(&arg.get_id().as_str().to_uppercase()))
            }
            _ => String::new(),
        };
        let (open, close) = if arg.is_required_set() {
            ("<", ">")
        } else {
            ("[", "]")
        };
        let repeat = if matches!(
            arg.get_action(),
            clap::ArgAction::Count | clap::ArgAction::Append
        ) {
            "..."
        } else {
            ""
        };
        line.push_str(&format!("{open}{flag}{value}{close}{repeat} "));
    }
    for arg in cmd.get_positionals().filter(visible) {
        let names = arg
            .get_value_names()
            .map_or_else(|| arg.get_id().as_str().to_uppercase(), |n| n.join(" "));
        let (open, close) = if arg.is_required_set() {
            ("<", ">")
        } else {
            ("[", "]")
        };
        let repeat = if arg.get_num_args().is_some_and(|n| n.max_values() > 1) {
            "..."
        } else {
            ""
        };
        line.push_str(&format!("{open}\\fI{}\\fR{close}{repeat} ", roff(&names)));
    }
    if cmd.get_subcommands().any(|s| !s.is_hide_set()) {
        let (open, close) = if cmd.is_subcommand_required_set() {
            ("<", ">")
        } else {
            ("[", "]")
        };
        line.push_str(&format!("{open}\\fICOMMAND\\fR{close}"));
    }
    format!(".SH SYNOPSIS\n{}\n", line.trim_end())
}

#[test]
fn man_pages_are_fresh() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("man");
    let update = std::env::var_os("BUILDOUT_UPDATE_MAN").is_some();
    let pages = pages();
    let mut stale = Vec::new();
    for (name, contents) in &pages {
        let path = dir.join(name);
        if update {
            std::fs::write(&path, contents).unwrap();
        } else if std::fs::read(&path).ok().as_deref() != Some(contents.as_slice()) {
            stale.push(name.clone());
        }
    }
    let expected: Vec<&String> = pages.iter().map(|(n, _)| n).collect();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if name.ends_with(".1") && !expected.contains(&&name) {
            if update {
                std::fs::remove_file(dir.join(&name)).unwrap();
            } else {
                stale.push(format!("{name} (no longer generated)"));
            }
        }
    }
    assert!(
        stale.is_empty(),
        "man pages are stale: {stale:?}\nregenerate them with: BUILDOUT_UPDATE_MAN=1 cargo test --test it man"
    );
}
