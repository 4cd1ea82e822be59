//! README's Deploying section and Environment table stay true to the
//! program (issue 16): every variable `src/env.rs` says `buildout` reads
//! is in the Environment table, and every `--option` the Deploying section
//! gives a binary-cache or deploy command is one that command accepts.

use crate::binary_cache;
use crate::common::{TestContext, run};
use std::path::Path;

fn file(path: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap()
}

/// README's text from `heading` to the next heading of the same level.
fn section(readme: &str, heading: &str) -> String {
    let start = readme
        .find(heading)
        .unwrap_or_else(|| panic!("README lacks {heading}"));
    let level = heading.split(' ').next().unwrap();
    let body = &readme[start + heading.len()..];
    let end = body
        .match_indices(&format!("\n{level} "))
        .map(|(i, _)| i)
        .next()
        .unwrap_or(body.len());
    body[..end].to_string()
}

/// The variables `src/env.rs` declares, without the ones its doc comments
/// mark as tests only and the generic `HOME` and `PATH`.
fn variables_read() -> Vec<String> {
    let mut doc = String::new();
    let mut after_const = false;
    let mut names = Vec::new();
    for line in file("src/env.rs").lines() {
        if let Some(text) = line.trim().strip_prefix("///") {
            // A doc comment covers the constants right after it.
            if after_const {
                doc.clear();
            }
            doc.push_str(text);
            after_const = false;
        } else if let Some(rest) = line.strip_prefix("pub const ") {
            let name = rest.split(':').next().unwrap().trim().to_string();
            if !doc.contains("tests only") && name != "HOME" && name != "PATH" {
                names.push(name);
            }
            after_const = true;
        } else {
            doc.clear();
            after_const = false;
        }
    }
    names
}

#[test]
fn the_environment_table_lists_every_variable_buildout_reads() {
    let table = section(&file("README.md"), "### Environment");
    let names = variables_read();
    assert!(names.len() > 10, "{names:?}");
    let missing: Vec<_> = names
        .iter()
        .filter(|n| !table.contains(&format!("`{n}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "README's Environment table lacks {missing:?}"
    );
}

/// `--options` written in `text` right after one of `commands`, per command.
fn options_after<'a>(text: &str, commands: &[&'a str]) -> Vec<(&'a str, String)> {
    let mut found = Vec::new();
    for line in text.lines() {
        for command in commands {
            let pattern = format!("buildout {command} ");
            let Some(at) = line.find(&pattern) else {
                continue;
            };
            let rest = &line[at + pattern.len()..];
            let rest = rest.split(['`', '#']).next().unwrap();
            for word in rest.split_whitespace() {
                if let Some(option) = word.strip_prefix("--") {
                    let option = option.split('=').next().unwrap();
                    found.push((*command, format!("--{option}")));
                }
            }
        }
    }
    found
}

#[test]
fn the_deploying_section_uses_only_options_the_commands_accept() {
    let text = section(&file("README.md"), "### Deploying: binary caches and hosts");
    let commands = [
        "key generate",
        "push",
        "cache gc",
        "copy",
        "store export",
        "store import",
    ];
    let used = options_after(&text, &commands);
    for option in ["--secret-file", "--pin", "--activate", "--keep", "--to"] {
        assert!(
            used.iter().any(|(_, o)| o == option),
            "the walk-through shows {option}: {used:?}"
        );
    }
    let ctx = TestContext::new();
    for (command, option) in used {
        let mut args: Vec<&str> = command.split(' ').collect();
        args.push("--help");
        let out = run(ctx.command().args(&args));
        let help = format!("{}{}", out.stdout, out.stderr);
        assert!(
            help.contains(&option),
            "README shows `buildout {command} {option}`, which `{command} --help` lacks:\n{help}"
        );
    }
}

/// Issue 16's trial: a host with the build machine's configuration and
/// lock, an empty store and only the cache installs without asking the
/// index anything (with the lock, nothing is resolved; every locked
/// distribution is asked of the cache before its file is fetched).
#[test]
fn a_locked_buildout_installs_on_a_fresh_host_from_the_cache_alone() {
    let ctx = TestContext::new();
    let server = binary_cache::index();
    let (secret, public) = binary_cache::key(&ctx, "build-1");
    let signing = format!("secret-key-files = {}", secret.display());
    ctx.write("buildout.cfg", &binary_cache::config(&server, &signing));
    ctx.ok(&["lock"]);
    ctx.ok(&[]);
    let before = binary_cache::objects(&ctx);
    let url = format!("file://{}", ctx.root.join("cache").display());
    let out = ctx.ok(&["push", &url]);
    assert!(out.contains("Pushed "), "{out}");
    let lock = std::fs::read_to_string(ctx.path("pylock.buildout.toml")).unwrap();

    binary_cache::fresh_host(&ctx);
    ctx.write("pylock.buildout.toml", &lock);
    ctx.write(
        "buildout.cfg",
        &binary_cache::config(
            &server,
            &format!("substituters = {url}\ntrusted-public-keys = {public}"),
        ),
    );
    server.clear_log();
    let out = ctx.ok(&["-v"]);
    let asked: Vec<String> = server.requests().into_iter().map(|r| r.path).collect();
    assert!(asked.is_empty(), "the index was asked {asked:?}:\n{out}");
    assert!(out.contains("Substituted web-1.0 from"), "{out}");
    assert!(out.contains("Substituted util-1.5 from"), "{out}");
    assert_eq!(binary_cache::objects(&ctx), before);
    binary_cache::verify_clean(&ctx);
}
