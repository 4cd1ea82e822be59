//! Man pages rendered from the clap definition (`man/buildout.1` and one
//! page per command), so the documentation cannot drift from the parser.

use super::Cli;
use clap::CommandFactory;

/// Every man page as (file name, contents).
pub fn pages() -> Vec<(String, Vec<u8>)> {
    let cmd = Cli::command();
    let mut pages = vec![("buildout.1".to_string(), render(cmd.clone()))];
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("buildout-{}", sub.get_name());
        let page = sub.clone().name(name.clone());
        pages.push((format!("{name}.1"), render(page)));
        for nested in sub.get_subcommands().filter(|s| !s.is_hide_set()) {
            let nested_name = format!("{name}-{}", nested.get_name());
            pages.push((
                format!("{nested_name}.1"),
                render(nested.clone().name(nested_name)),
            ));
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
