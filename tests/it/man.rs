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

fn render(cmd: clap::Command) -> Vec<u8> {
    let mut out = Vec::new();
    clap_mangen::Man::new(cmd)
        .render(&mut out)
        .expect("rendering to memory cannot fail");
    out
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
