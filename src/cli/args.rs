//! zc.buildout's global argument grammar, tokenised by hand.
//!
//! Walks the arguments the way zc.buildout's `main()` does: `-` words are
//! groups of one-letter flags (`c` and `t` take a value and end the group),
//! words containing `=` are assignments, and the first other word is the
//! command, whose own arguments clap parses. Our long options (`--store`,
//! `--json`, `--no-progress`, `--color`) are accepted in the same position,
//! and also after the command (clap reads them there, as global arguments
//! of the command), except after `annotate` and `query`, whose words are
//! all their own as in zc.buildout (clap does not see them: `-v` there is a
//! section name or a query argument). `init` takes option-like words as
//! requirements.

use super::{AnnotateArgs, Cli, ColorArg, Command, InstallArgs, QueryArgs};
use crate::config::{AssignOp, Assignment};
use crate::ops::{GlobalOptions, UsageError};
use clap::{FromArgMatches, Parser, Subcommand, ValueEnum};
use std::collections::VecDeque;
use std::path::PathBuf;

/// A fully parsed command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invocation {
    Help,
    Version,
    Run {
        global: GlobalOptions,
        command: Command,
    },
}

fn usage(msg: impl Into<String>) -> UsageError {
    UsageError::Message(msg.into())
}

/// Parses `args` (without the program name).
pub fn parse<I, S>(args: I) -> Result<Invocation, UsageError>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    let mut args: VecDeque<String> = args.into_iter().map(Into::into).collect();
    let mut g = GlobalOptions {
        use_user_defaults: true,
        ..GlobalOptions::default()
    };
    while let Some(arg) = args.front().cloned() {
        let help = if let Some(long) = arg.strip_prefix("--") {
            args.pop_front();
            long_option(&mut g, long, &mut args)?
        } else if arg.starts_with('-') && arg.len() > 1 {
            args.pop_front();
            flag_group(&mut g, &arg, &mut args)?
        } else if arg.contains('=') {
            args.pop_front();
            g.assignments.push(parse_assignment(&arg)?);
            None
        } else {
            break;
        };
        if let Some(invocation) = help {
            return Ok(invocation);
        }
    }

    let command = match args.pop_front() {
        None => Command::Install(InstallArgs {
            dry_run: false,
            locked: false,
            frozen: false,
            parts: Vec::new(),
        }),
        Some(name) => parse_command(&name, args.into_iter().collect(), &mut g)?,
    };
    Ok(Invocation::Run { global: g, command })
}

/// An assignment a flag implies (`-o` is `buildout:offline=true`).
fn implied(g: &mut GlobalOptions, option: &str, value: &str) {
    g.assignments.push(Assignment {
        section: "buildout".into(),
        option: option.into(),
        op: AssignOp::Set,
        value: value.into(),
    });
}

/// One of our long options (`long` without its `--`); `--help` and
/// `--version` end the parse.
fn long_option(
    g: &mut GlobalOptions,
    long: &str,
    args: &mut VecDeque<String>,
) -> Result<Option<Invocation>, UsageError> {
    let (name, inline) = match long.split_once('=') {
        Some((n, v)) => (n, Some(v.to_string())),
        None => (long, None),
    };
    let mut value = || {
        inline
            .clone()
            .or_else(|| args.pop_front())
            .ok_or_else(|| usage(format!("No value specified for option --{name}")))
    };
    match name {
        "help" => return Ok(Some(Invocation::Help)),
        "version" => return Ok(Some(Invocation::Version)),
        "store" => g.store = Some(PathBuf::from(value()?)),
        "json" => g.json = true,
        "no-progress" => g.no_progress = true,
        "color" => {
            let v = value()?;
            g.color = ColorArg::from_str(&v, true).map(Into::into).map_err(|_| {
                usage(format!(
                    "Invalid value for --color: {v} (expected auto, always or never)"
                ))
            })?;
        }
        _ => return Err(usage(format!("Invalid option --{name}"))),
    }
    Ok(None)
}

/// A group of one-letter flags (`-vvN`), as zc.buildout reads it: `c` and
/// `t` take the rest of the word or the next argument as their value and
/// end the group; `-h` ends the parse.
fn flag_group(
    g: &mut GlobalOptions,
    group: &str,
    args: &mut VecDeque<String>,
) -> Result<Option<Invocation>, UsageError> {
    let mut rest = &group[1..];
    while let Some(c) = rest.chars().next() {
        match c {
            'v' => g.verbosity += 10,
            'q' => g.verbosity -= 10,
            'U' => g.use_user_defaults = false,
            'o' => implied(g, "offline", "true"),
            'O' => implied(g, "offline", "false"),
            'n' => implied(g, "newest", "true"),
            'N' => implied(g, "newest", "false"),
            'D' => g.debug = true,
            'h' | 'W' | 'A' => return Ok(Some(Invocation::Help)),
            _ => break,
        }
        rest = &rest[c.len_utf8()..];
    }
    if let Some(value) = rest.strip_prefix('c') {
        if value.is_empty() {
            let file = args
                .pop_front()
                .ok_or_else(|| usage(format!("No file name specified for option {group}")))?;
            g.config = Some(file);
        } else {
            g.config = Some(value.to_string());
        }
    } else if let Some(value) = rest.strip_prefix('t') {
        let timeout = if value.is_empty() {
            args.pop_front()
                .ok_or_else(|| usage(format!("No timeout value specified for option {group}")))?
        } else {
            value.to_string()
        };
        if timeout.trim().parse::<i64>().is_err() {
            return Err(usage(format!("Timeout value must be numeric {group}")));
        }
        implied(g, "socket-timeout", &timeout);
    } else if let Some(c) = rest.chars().next() {
        return Err(usage(format!("Invalid option -{c}")));
    }
    Ok(None)
}

/// Parses one `[section:]option[+|-]=value` word.
///
/// Both spellings of the operators (`k += v` and `k+=v`) mean the same;
/// zc.buildout's renaming of `k+=v` in new sections is not copied.
pub fn parse_assignment(arg: &str) -> Result<Assignment, UsageError> {
    let (lhs, value) = arg.split_once('=').unwrap_or((arg, ""));
    let parts: Vec<&str> = lhs.split(':').collect();
    let (section, option) = match parts.as_slice() {
        [option] => ("buildout", *option),
        [section, option] => (*section, *option),
        _ => return Err(usage(format!("Invalid option: {lhs}"))),
    };
    let option = option.trim();
    let (option, op) = if let Some(o) = option.strip_suffix('+') {
        (o.trim_end(), AssignOp::Add)
    } else if let Some(o) = option.strip_suffix('-') {
        (o.trim_end(), AssignOp::Remove)
    } else {
        (option, AssignOp::Set)
    };
    Ok(Assignment {
        section: section.trim().to_string(),
        option: option.to_string(),
        op,
        value: value.trim().to_string(),
    })
}

/// Parses the command word and its arguments with clap; our long options
/// given after the command (see `after_command_globals`) go into `g`.
fn parse_command(
    name: &str,
    rest: Vec<String>,
    g: &mut GlobalOptions,
) -> Result<Command, UsageError> {
    // zc.buildout's `annotate` and `query` take every word after them as
    // their own, options included (`annotate -v s` asks for sections `-v`
    // and `s`); clap would reject or interpret them.
    match name {
        "annotate" => return Ok(Command::Annotate(AnnotateArgs { sections: rest })),
        "query" => return Ok(Command::Query(QueryArgs { keys: rest })),
        _ => {}
    }
    let cmd = Cli::command_for_subcommands();
    if cmd.find_subcommand(name).is_none() {
        return Err(usage(format!("invalid command: {name}")));
    }
    let argv = std::iter::once("buildout".to_string())
        .chain(std::iter::once(name.to_string()))
        .chain(rest);
    let matches = cmd
        .try_get_matches_from(argv)
        .map_err(|e| UsageError::Clap(e.render().to_string()))?;
    if let Some((_, sub)) = matches.subcommand() {
        after_command(g, sub);
    }
    Command::from_arg_matches(&matches).map_err(|e| UsageError::Clap(e.render().to_string()))
}

/// Our long options given after the command: they override the same option
/// given before it. Commands without them (`annotate`, `query`) leave `g`
/// alone.
fn after_command(g: &mut GlobalOptions, sub: &clap::ArgMatches) {
    let given = |id: &str| {
        matches!(
            sub.try_contains_id(id),
            Ok(true) if sub.value_source(id) == Some(clap::parser::ValueSource::CommandLine)
        )
    };
    if given("store") {
        g.store = sub.get_one::<PathBuf>("store").cloned();
    }
    if given("json") {
        g.json = true;
    }
    if given("no_progress") {
        g.no_progress = true;
    }
    if given("color")
        && let Some(color) = sub.get_one::<ColorArg>("color")
    {
        g.color = (*color).into();
    }
}

impl Cli {
    /// The clap command with only the subcommands (globals are ours).
    fn command_for_subcommands() -> clap::Command {
        let cmd = clap::Command::new("buildout")
            .subcommand_required(true)
            .disable_help_subcommand(true);
        Command::augment_subcommands(cmd)
    }

    /// Parses as clap would; only used to check the definitions.
    #[doc(hidden)]
    pub fn parse_for_test<I: IntoIterator<Item = String>>(args: I) -> Result<Self, clap::Error> {
        Self::try_parse_from(args)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{GcArgs, StoreCommand};

    fn run(args: &[&str]) -> (GlobalOptions, Command) {
        match parse(args.iter().copied()).unwrap() {
            Invocation::Run { global, command } => (global, command),
            other => panic!("unexpected {other:?}"),
        }
    }

    fn err(args: &[&str]) -> String {
        parse(args.iter().copied()).unwrap_err().to_string()
    }

    #[test]
    fn combined_flags_and_attached_config() {
        let (g, cmd) = run(&["-vvN", "-cother.cfg", "annotate"]);
        assert_eq!(g.verbosity, 20);
        assert_eq!(g.config.as_deref(), Some("other.cfg"));
        assert_eq!(g.assignments[0].option, "newest");
        assert_eq!(g.assignments[0].value, "false");
        assert!(matches!(cmd, Command::Annotate(_)));
    }

    #[test]
    fn flag_group_ending_in_c_takes_next_word() {
        let (g, _) = run(&["-qc", "x.cfg"]);
        assert_eq!(g.verbosity, -10);
        assert_eq!(g.config.as_deref(), Some("x.cfg"));
    }

    #[test]
    fn default_command_is_install() {
        let (_, cmd) = run(&["-U"]);
        assert_eq!(
            cmd,
            Command::Install(InstallArgs {
                locked: false,
                frozen: false,
                dry_run: false,
                parts: vec![]
            })
        );
    }

    #[test]
    fn assignments_interleave_with_options() {
        let (g, _) = run(&["a=1", "-o", "versions:foo=", "parts+=p2", "x:y -= z"]);
        let got: Vec<_> = g
            .assignments
            .iter()
            .map(|a| {
                (
                    a.section.as_str(),
                    a.option.as_str(),
                    a.op,
                    a.value.as_str(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("buildout", "a", AssignOp::Set, "1"),
                ("buildout", "offline", AssignOp::Set, "true"),
                ("versions", "foo", AssignOp::Set, ""),
                ("buildout", "parts", AssignOp::Add, "p2"),
                ("x", "y", AssignOp::Remove, "z"),
            ]
        );
    }

    #[test]
    fn zc_buildout_error_texts() {
        assert_eq!(err(&["-c"]), "No file name specified for option -c");
        assert_eq!(err(&["-t"]), "No timeout value specified for option -t");
        assert_eq!(err(&["-t", "5s"]), "Timeout value must be numeric -t");
        assert_eq!(err(&["-x"]), "Invalid option -x");
        assert_eq!(err(&["-vx"]), "Invalid option -x");
        assert_eq!(err(&["frobnicate"]), "invalid command: frobnicate");
        assert_eq!(err(&["a:b:c=1"]), "Invalid option: a:b:c");
    }

    #[test]
    fn help_and_version() {
        assert_eq!(parse(["-h"]).unwrap(), Invocation::Help);
        assert_eq!(parse(["-vh"]).unwrap(), Invocation::Help);
        assert_eq!(parse(["--help"]).unwrap(), Invocation::Help);
        assert_eq!(parse(["--version"]).unwrap(), Invocation::Version);
    }

    #[test]
    fn our_long_options_and_subcommand_args() {
        let (g, cmd) = run(&["--store", "/s", "--json", "gc", "--dry-run"]);
        assert_eq!(g.store, Some(PathBuf::from("/s")));
        assert!(g.json);
        assert_eq!(
            cmd,
            Command::Gc(GcArgs {
                dry_run: true,
                max_freed: None
            })
        );
        let (_, cmd) = run(&["store", "verify", "--check-contents"]);
        assert_eq!(
            cmd,
            Command::Store(StoreCommand::Verify {
                check_contents: true,
                check_signatures: false,
                repair: false
            })
        );
    }

    #[test]
    fn long_options_after_the_command() {
        let (g, cmd) = run(&["--color", "always", "generations", "list", "--json"]);
        assert!(g.json);
        assert_eq!(g.color, crate::ops::ColorChoice::Always, "kept from before");
        assert!(matches!(cmd, Command::Generations(_)));
        let (g, _) = run(&["--store", "/a", "gc", "--store=/b", "--no-progress"]);
        assert_eq!(g.store, Some(PathBuf::from("/b")), "the later one wins");
        assert!(g.no_progress);
        let (g, _) = run(&["--store", "/a", "store", "ls"]);
        assert_eq!(g.store, Some(PathBuf::from("/a")));
        assert!(!g.json);
        // annotate and query keep their words, as in zc.buildout.
        let (g, cmd) = run(&["annotate", "--json", "-v", "s"]);
        assert!(!g.json && g.verbosity == 0);
        assert_eq!(
            cmd,
            Command::Annotate(AnnotateArgs {
                sections: vec!["--json".into(), "-v".into(), "s".into()]
            })
        );
        let (g, cmd) = run(&["query", "--store", "/s"]);
        assert_eq!(g.store, None);
        assert_eq!(
            cmd,
            Command::Query(QueryArgs {
                keys: vec!["--store".into(), "/s".into()]
            })
        );
        // init's words are requirements, after any of our long options.
        let (g, cmd) = run(&["init", "--json", "-v", "x>1"]);
        assert!(g.json && g.verbosity == 0);
        assert_eq!(
            cmd,
            Command::Init(crate::cli::InitArgs {
                requirements: vec!["-v".into(), "x>1".into()]
            })
        );
    }

    #[test]
    fn clap_sees_the_same_globals() {
        // Every global flag in the clap definition parses there too, so help
        // and man page describe what the hand-written walker accepts.
        let cli = Cli::parse_for_test(
            [
                "buildout", "-vvU", "-c", "x.cfg", "-t", "3", "-oN", "--store", "/s", "annotate",
            ]
            .map(String::from),
        )
        .unwrap();
        assert_eq!(cli.global.verbose, 2);
        assert!(cli.global.no_user_defaults && cli.global.offline && cli.global.not_newest);
    }
}
