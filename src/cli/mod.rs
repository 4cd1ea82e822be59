//! The command line: clap definitions and zc.buildout's own argument grammar.
//!
//! zc.buildout's form is `buildout [options] [assignments] [command [args]]`,
//! where short flags combine (`-vvN`, `-cother.cfg`), assignments
//! (`section:option=value`) may be interleaved with options, and the first
//! word that is neither an option nor an assignment is the command. clap
//! cannot express that grammar with zc.buildout's exact error texts, so the
//! global part is tokenised here by hand ([`parse`]) while clap parses each
//! command's own arguments and renders `--help` and the man page from the
//! same definitions ([`Cli`]). This module holds no logic beyond parsing.

mod args;

pub use args::{Invocation, parse};

use crate::ops::{self, ColorChoice, Context, Failure};

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Assemble Python applications from zc.buildout configurations, on an
/// immutable, hash-addressed store with atomic generations.
///
/// The default command is `install`. Options and `section:option=value`
/// assignments come before the command; short options can be combined
/// (`-vvN`, `-cother.cfg`). `--store`, `--json`, `--no-progress` and
/// `--color` may also follow the command (not `annotate` or `query`, whose
/// arguments are their own).
#[derive(Debug, Parser)]
#[command(
    name = "buildout",
    version,
    disable_version_flag = true,
    disable_help_flag = true,
    disable_help_subcommand = true,
    term_width = 100,
    after_help = "Assignments: section:option=value sets an option (section defaults to \
buildout); option+=value and option-=value add or remove lines."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    /// Assignments `[section:]option=value` (also `+=` and `-=`), applied over
    /// every configuration file.
    #[arg(value_name = "SECTION:OPTION=VALUE")]
    pub assignments: Vec<String>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Options that come before the command, as in zc.buildout.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Configuration file or URL to read (default: buildout.cfg).
    #[arg(short = 'c', value_name = "FILE")]
    pub config: Option<String>,

    /// Socket timeout in seconds (sets buildout:socket-timeout).
    #[arg(short = 't', value_name = "SECONDS")]
    pub timeout: Option<String>,

    /// More output; repeat for more (-vv prints configuration data).
    #[arg(short = 'v', action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Less output; repeat for less.
    #[arg(short = 'q', action = clap::ArgAction::Count)]
    pub quiet: u8,

    /// Do not read user defaults (~/.buildout/default.cfg or $BUILDOUT_HOME/default.cfg).
    #[arg(short = 'U')]
    pub no_user_defaults: bool,

    /// Offline mode: never touch the network (buildout:offline=true).
    #[arg(short = 'o')]
    pub offline: bool,

    /// Online mode (buildout:offline=false).
    #[arg(short = 'O')]
    pub online: bool,

    /// Look for newer distributions (buildout:newest=true, the default).
    #[arg(short = 'n')]
    pub newest: bool,

    /// Do not look for newer distributions when installed ones satisfy the
    /// requirements (buildout:newest=false).
    #[arg(short = 'N')]
    pub not_newest: bool,

    /// Debug: show the full error chain and internal detail on failure.
    #[arg(short = 'D')]
    pub debug: bool,

    /// Store directory (also [buildout] store and BUILDOUT_STORE; default ~/.buildout/store).
    #[arg(long, value_name = "DIR")]
    pub store: Option<PathBuf>,

    /// Print listings as JSON.
    #[arg(long)]
    pub json: bool,

    /// Hide progress bars.
    #[arg(long)]
    pub no_progress: bool,

    /// When to use colour.
    #[arg(long, value_name = "WHEN", value_enum, default_value_t = ColorArg::Auto)]
    pub color: ColorArg,

    /// Print help.
    #[arg(short = 'h', long = "help")]
    pub help: bool,

    /// Print the version.
    #[arg(long = "version")]
    pub version: bool,
}

/// The ids of our long options that are also accepted after the command.
const AFTER_COMMAND: [&str; 4] = ["store", "json", "no_progress", "color"];

/// Our long options as arguments of a command (and, being `global`, of its
/// subcommands), so that `buildout generations list --json` reads as
/// `buildout --json generations list`. Defaults are dropped: a value given
/// before the command is kept unless the option is repeated after it.
/// `annotate` and `query` do not get them: as in zc.buildout, the words after
/// those commands are the command's own.
fn after_command_globals() -> Vec<clap::Arg> {
    GlobalArgs::augment_args(clap::Command::new("buildout"))
        .get_arguments()
        .filter(|a| AFTER_COMMAND.contains(&a.get_id().as_str()))
        .map(|a| {
            a.clone()
                .global(true)
                .default_value(None)
                .help_heading("Global options")
        })
        .collect()
}

/// The commands. `install` is the default.
#[derive(Debug, Subcommand, Clone, PartialEq, Eq)]
pub enum Command {
    /// Assemble the parts into a new generation (the default command).
    #[command(args = after_command_globals())]
    Install(InstallArgs),
    /// Resolve every part's distributions and write the lock file
    /// (pylock.<config>.toml, PEP 751) beside the configuration.
    #[command(args = after_command_globals())]
    Lock(LockArgs),
    /// Print the effective configuration with where each value came from.
    Annotate(AnnotateArgs),
    /// Print the raw value of one option.
    Query(QueryArgs),
    /// Create a buildout.cfg, prepare the directory, and install when
    /// requirements are given.
    #[command(args = after_command_globals())]
    Init(InitArgs),
    /// Prepare the buildout directory (creates develop-eggs; bin and parts
    /// become links into the current generation at the first install).
    #[command(args = after_command_globals())]
    Bootstrap,
    /// List, compare and delete generations of this buildout.
    #[command(args = after_command_globals())]
    Generations(GenerationsArgs),
    /// Switch back to the previous generation (or generation N).
    #[command(args = after_command_globals())]
    Rollback(RollbackArgs),
    /// Delete store objects that no kept generation references.
    #[command(args = after_command_globals())]
    Gc(GcArgs),
    /// Inspect and check the store.
    #[command(subcommand, args = after_command_globals())]
    Store(StoreCommand),
    /// Make and show binary cache signing keys (Nix's format).
    #[command(subcommand, args = after_command_globals())]
    Key(KeyCommand),
    /// Upload the closure of the current generation (or of generations or
    /// store paths) to a binary cache, signed with `secret-key-files`.
    #[command(args = after_command_globals())]
    Push(PushArgs),
    /// Maintain a binary cache.
    #[command(subcommand, args = after_command_globals())]
    Cache(CacheCommand),
    /// Send the closure of the current generation (or of generations or
    /// store paths) to a host over ssh, only what it lacks, and optionally
    /// make it current there.
    #[command(args = after_command_globals())]
    Copy(CopyArgs),
}

#[derive(Debug, Args, Clone, PartialEq, Eq)]
pub struct CopyArgs {
    /// The host: `ssh://[user@]host[:port]`. `$BUILDOUT_SSH` is run instead
    /// of `ssh` when set (called as `GIT_SSH` is). Required.
    #[arg(long, value_name = "URL")]
    pub to: Option<String>,
    /// Generation numbers of this buildout, or store paths (default: the
    /// current generation).
    #[arg(value_name = "GENERATION|PATH")]
    pub what: Vec<String>,
    /// Record the generation as the next one of the buildout directory DIR
    /// on the host and make it current there (DIR must be the directory
    /// the generation was made for).
    #[arg(long, value_name = "DIR")]
    pub activate: Option<String>,
    /// The buildout program on the host.
    #[arg(long, value_name = "PATH", default_value = "buildout")]
    pub remote_buildout: String,
}

#[derive(Debug, Subcommand, Clone, PartialEq, Eq)]
pub enum KeyCommand {
    /// Make a new Ed25519 key pair: the secret key is written to a file
    /// (mode 0600, never shown), the public key is printed.
    Generate {
        /// The key's name, e.g. `cache.example.org-1` (letters, digits,
        /// `-`, `.`, `_`).
        name: String,
        /// Where to write the secret key (default:
        /// ~/.buildout/keys/NAME.secret); an existing file is not replaced.
        #[arg(long, value_name = "FILE")]
        secret_file: Option<PathBuf>,
    },
    /// Print the public key of a secret key file (default: standard input).
    Public {
        #[arg(value_name = "SECRET-FILE")]
        secret_file: Option<PathBuf>,
    },
}

#[derive(Debug, Args, Clone, PartialEq, Eq)]
pub struct PushArgs {
    /// The cache: `file:///dir`, `http://host/path` or `https://…` (PUT;
    /// credentials from ~/.netrc), or
    /// `s3://bucket/prefix?endpoint=URL&region=R&profile=P` (credentials
    /// from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or ~/.aws/credentials).
    #[arg(value_name = "CACHE")]
    pub cache: String,
    /// Generation numbers of this buildout, or store paths (default: the
    /// current generation).
    #[arg(value_name = "GENERATION|PATH")]
    pub what: Vec<String>,
    /// Sign with this secret key file too (repeatable; adds to
    /// `[buildout] secret-key-files`).
    #[arg(long = "secret-key-file", value_name = "FILE")]
    pub secret_key_files: Vec<PathBuf>,
    /// NAR compression.
    #[arg(long, value_name = "ALGORITHM", value_enum, default_value_t = CompressionArg::Zstd)]
    pub compression: CompressionArg,
    /// Name what was pushed in the cache (`pins/NAME`): `cache gc` keeps
    /// its closure.
    #[arg(long, value_name = "NAME")]
    pub pin: Option<String>,
}

#[derive(Debug, Subcommand, Clone, PartialEq, Eq)]
pub enum CacheCommand {
    /// Delete from a file:// or s3:// cache what no pin and no recent push
    /// keeps: narinfos first, then the NARs nothing names.
    Gc {
        #[arg(value_name = "CACHE")]
        cache: String,
        /// Keep narinfos and NARs written within this long (90d, 12h, 0).
        #[arg(long, value_name = "AGE", default_value = "90d")]
        keep: String,
        /// Print what would be deleted, delete nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

/// `push --compression`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompressionArg {
    Zstd,
    None,
}

#[derive(Debug, Args, Clone, PartialEq, Eq)]
pub struct InstallArgs {
    /// Print the plan (objects to download, build, reuse) and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// The lock file (pylock.<config>.toml) must exist and match the
    /// configuration; install exactly its files.
    #[arg(long, conflicts_with = "frozen")]
    pub locked: bool,
    /// Install exactly the lock file's files without checking that it
    /// matches the configuration.
    #[arg(long)]
    pub frozen: bool,
    /// Install only these parts.
    #[arg(value_name = "PART")]
    pub parts: Vec<String>,
}

#[derive(Debug, Args, Clone, PartialEq, Eq)]
pub struct LockArgs {
    /// Resolve every distribution again, ignoring the locked versions.
    #[arg(long, conflicts_with = "upgrade_package")]
    pub upgrade: bool,
    /// Resolve this distribution again (to version V with NAME==V); the
    /// others keep their locked versions. Repeatable.
    #[arg(long, value_name = "NAME[==V]")]
    pub upgrade_package: Vec<String>,
    /// Exit non-zero if the lock file is missing or does not match the
    /// configuration; write nothing.
    #[arg(long)]
    pub check: bool,
    /// Print the lock as a [versions] section (versions) or as a hashed
    /// requirements file of one part (requirements PART).
    #[arg(long, value_name = "FORMAT", value_parser = ["versions", "requirements"])]
    pub export: Option<String>,
    /// The part to export (with --export requirements).
    #[arg(value_name = "PART")]
    pub part: Option<String>,
}

#[derive(Debug, Args, Clone, PartialEq, Eq)]
pub struct AnnotateArgs {
    /// Sections to show (default: all).
    #[arg(value_name = "SECTION")]
    pub sections: Vec<String>,
}

#[derive(Debug, Args, Clone, PartialEq, Eq)]
pub struct QueryArgs {
    /// The option, as `[section:]option` (section defaults to buildout).
    #[arg(value_name = "[SECTION:]OPTION", num_args = 0..)]
    pub keys: Vec<String>,
}

#[derive(Debug, Args, Clone, PartialEq, Eq)]
pub struct InitArgs {
    /// Requirements for a `py` interpreter part; arguments containing a path
    /// separator become extra paths.
    #[arg(value_name = "REQUIREMENT", allow_hyphen_values = true)]
    pub requirements: Vec<String>,
}

#[derive(Debug, Args, Clone, PartialEq, Eq)]
pub struct GenerationsArgs {
    #[command(subcommand)]
    pub command: Option<GenerationsCommand>,
}

#[derive(Debug, Subcommand, Clone, PartialEq, Eq)]
pub enum GenerationsCommand {
    /// List generations: number, date, current marker, what changed.
    List,
    /// Delete generations: `N...`, `old`, `+K` (keep the last K), `30d`.
    Delete {
        #[arg(value_name = "SPEC", required = true)]
        specs: Vec<String>,
    },
    /// Parts, distributions and versions that differ between two generations.
    Diff {
        /// Older generation (default: the previous one).
        a: Option<String>,
        /// Newer generation (default: the current one).
        b: Option<String>,
    },
}

#[derive(Debug, Args, Clone, PartialEq, Eq)]
pub struct RollbackArgs {
    /// Generation to switch to (default: the one before the current).
    pub generation: Option<String>,
}

#[derive(Debug, Args, Clone, PartialEq, Eq)]
pub struct GcArgs {
    /// Print what would be deleted, delete nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Stop after freeing this much (e.g. 500M, 2G).
    #[arg(long, value_name = "SIZE")]
    pub max_freed: Option<String>,
}

#[derive(Debug, Subcommand, Clone, PartialEq, Eq)]
pub enum StoreCommand {
    /// Check the database against the disk.
    Verify {
        /// Also re-hash every object's contents.
        #[arg(long)]
        check_contents: bool,
        /// Also check that every distribution, part and generation has a
        /// valid signature by a key of `[buildout] trusted-public-keys`.
        #[arg(long)]
        check_signatures: bool,
        /// Repair what can be repaired (implies --check-contents): modes;
        /// damaged or missing distributions (fetched again and
        /// reinstalled), parts (rebuilt from the inputs their generation's
        /// manifest records) and generations (from their manifest), each
        /// kept only if its hash is the recorded one; objects on disk the
        /// database does not know are registered again when their record
        /// or address proves them, never deleted.
        #[arg(long)]
        repair: bool,
    },
    /// Show an object's metadata.
    Info {
        #[arg(value_name = "PATH")]
        path: String,
    },
    /// List the objects in the store.
    Ls,
    /// Show why an object is alive: a chain of references from a root.
    Why {
        #[arg(value_name = "PATH")]
        path: String,
    },
    /// Deduplicate identical files across objects with hard links.
    Optimise,
    /// Write the closure of the current generation (or of generations or
    /// store paths) to standard output, for `store import` on another host;
    /// signed with `[buildout] secret-key-files`.
    Export {
        #[arg(value_name = "GENERATION|PATH")]
        what: Vec<String>,
    },
    /// Add the objects of a `store export` stream read from standard input,
    /// checked as downloads are (signatures per `require-sigs`).
    Import,
    /// The host side of `buildout copy --to`: answer which objects are
    /// missing and import the ones sent, checked as `store import` does,
    /// over standard input and output.
    Serve {
        /// Talk over standard input and output (the only transport).
        #[arg(long, required = true)]
        stdio: bool,
    },
    /// Add an object from a file, directory or text (debugging and tests,
    /// until recipes add objects).
    #[command(hide = true)]
    DebugAdd(Box<DebugAddArgs>),
    /// Remove a pin made with `debug-add --root`.
    #[command(hide = true)]
    DebugUnpin { name: String },
    /// Register a symlink (or a directory of symlinks) as an indirect root.
    #[command(hide = true)]
    DebugIndirectRoot { link: PathBuf },
    /// Fill the store with COUNT small objects in chains (benchmarks).
    #[command(hide = true)]
    DebugPopulate {
        count: usize,
        /// Pin every Nth chain head (0: no roots).
        #[arg(long, default_value_t = 2)]
        root_every: usize,
    },
}

/// `store debug-add` (hidden).
#[derive(Debug, Args, Clone, PartialEq, Eq)]
pub struct DebugAddArgs {
    /// The object's name (the part after the hash).
    pub name: String,
    /// Copy this file.
    #[arg(long, conflicts_with_all = ["dir", "text"])]
    pub file: Option<PathBuf>,
    /// Copy this directory tree.
    #[arg(long, conflicts_with = "text")]
    pub dir: Option<PathBuf>,
    /// Make a file with this text.
    #[arg(long)]
    pub text: Option<String>,
    /// A store object this one references (repeatable).
    #[arg(long = "ref", value_name = "PATH")]
    pub refs: Vec<String>,
    /// Pin the object under this name once it is registered.
    #[arg(long, value_name = "NAME")]
    pub root: Option<String>,
    /// Sleep this long while "building" (tests of concurrent adders).
    #[arg(long, value_name = "MS")]
    pub build_delay_ms: Option<u64>,
}

/// `--color WHEN`, as clap shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorArg {
    Auto,
    Always,
    Never,
}

impl From<ColorArg> for ColorChoice {
    fn from(arg: ColorArg) -> Self {
        match arg {
            ColorArg::Auto => ColorChoice::Auto,
            ColorArg::Always => ColorChoice::Always,
            ColorArg::Never => ColorChoice::Never,
        }
    }
}

/// Runs `buildout` with `args` (without the program name): parses them and
/// calls the operation.
pub fn run(args: Vec<String>) -> Result<(), Failure> {
    let (global, command) = match parse(args).map_err(|e| Failure::new(ops::Error::Usage(e)))? {
        Invocation::Help => {
            crate::output::help(&Cli::command().render_long_help().to_string());
            return Ok(());
        }
        Invocation::Version => {
            crate::output::help(&format!("buildout version {}\n", env!("CARGO_PKG_VERSION")));
            return Ok(());
        }
        Invocation::Run { global, command } => (global, command),
    };
    let (debug, color) = (global.debug, global.color);
    let ctx = Context::new(global)?;
    dispatch(&ctx, command).map_err(|mut f| {
        f.debug = debug;
        f.color = color;
        f
    })
}

fn dispatch(ctx: &Context, command: Command) -> Result<(), Failure> {
    match command {
        Command::Install(args) => ops::install(ctx, &args.into()),
        Command::Lock(args) => ops::lock(ctx, &lock_command(args)?),
        Command::Annotate(args) => ops::annotate(ctx, &args.sections),
        Command::Query(args) => ops::query(ctx, &args.keys),
        Command::Init(args) => ops::init(ctx, &args.requirements),
        Command::Bootstrap => ops::bootstrap(ctx),
        Command::Generations(args) => ops::generations(
            ctx,
            &args
                .command
                .map_or(ops::GenerationsAction::List, Into::into),
        ),
        Command::Rollback(args) => ops::rollback(ctx, args.generation.as_deref()),
        Command::Gc(args) => ops::gc(ctx, &args.into()),
        Command::Store(command) => ops::store(ctx, command.into()),
        Command::Key(KeyCommand::Generate { name, secret_file }) => {
            ops::key_generate(ctx, &name, secret_file.as_deref())
        }
        Command::Key(KeyCommand::Public { secret_file }) => {
            ops::key_public(ctx, secret_file.as_deref())
        }
        Command::Push(args) => ops::push(
            ctx,
            &ops::PushOptions {
                cache: args.cache,
                what: args.what,
                secret_key_files: args.secret_key_files,
                compression: match args.compression {
                    CompressionArg::Zstd => ops::Compression::Zstd,
                    CompressionArg::None => ops::Compression::None,
                },
                pin: args.pin,
            },
        ),
        Command::Cache(CacheCommand::Gc {
            cache,
            keep,
            dry_run,
        }) => ops::cache_gc(ctx, &cache, &keep, dry_run),
        Command::Copy(args) => ops::copy(
            ctx,
            &ops::CopyOptions {
                to: args.to,
                what: args.what,
                activate: args.activate,
                remote_buildout: args.remote_buildout,
            },
        ),
    }
}

impl From<InstallArgs> for ops::InstallOptions {
    fn from(args: InstallArgs) -> Self {
        Self {
            dry_run: args.dry_run,
            parts: args.parts,
            lock_use: if args.frozen {
                ops::LockUse::Frozen
            } else if args.locked {
                ops::LockUse::Locked
            } else {
                ops::LockUse::Auto
            },
            lock: None,
        }
    }
}

/// `buildout lock`'s arguments as the operation takes them.
fn lock_command(args: LockArgs) -> Result<ops::LockCommand, Failure> {
    let usage = |m: &str| Failure::new(ops::Error::Usage(ops::UsageError::Message(m.into())));
    let export = match (args.export.as_deref(), args.part) {
        (None, None) => None,
        (None, Some(_)) => return Err(usage("lock takes a part only with --export requirements")),
        (Some("versions"), None) => Some(ops::Export::Versions),
        (Some("versions"), Some(_)) => return Err(usage("--export versions takes no part")),
        (Some(_), Some(part)) => Some(ops::Export::Requirements(part)),
        (Some(_), None) => return Err(usage("--export requirements needs a part")),
    };
    Ok(ops::LockCommand {
        upgrade: args.upgrade,
        upgrade_packages: args.upgrade_package,
        check: args.check,
        export,
    })
}

impl From<GcArgs> for ops::GcOptions {
    fn from(args: GcArgs) -> Self {
        Self {
            dry_run: args.dry_run,
            max_freed: args.max_freed,
        }
    }
}

impl From<GenerationsCommand> for ops::GenerationsAction {
    fn from(command: GenerationsCommand) -> Self {
        match command {
            GenerationsCommand::List => Self::List,
            GenerationsCommand::Diff { a, b } => Self::Diff { a, b },
            GenerationsCommand::Delete { specs } => Self::Delete { specs },
        }
    }
}

impl From<StoreCommand> for ops::StoreAction {
    fn from(command: StoreCommand) -> Self {
        match command {
            StoreCommand::Verify {
                check_contents,
                check_signatures,
                repair,
            } => Self::Verify {
                check_contents,
                check_signatures,
                repair,
            },
            StoreCommand::Info { path } => Self::Info { path },
            StoreCommand::Ls => Self::Ls,
            StoreCommand::Why { path } => Self::Why { path },
            StoreCommand::Optimise => Self::Optimise,
            StoreCommand::Export { what } => Self::Export { what },
            StoreCommand::Import => Self::Import,
            StoreCommand::Serve { .. } => Self::Serve,
            StoreCommand::DebugAdd(args) => Self::DebugAdd(Box::new(ops::DebugAdd {
                name: args.name,
                file: args.file,
                dir: args.dir,
                text: args.text,
                refs: args.refs,
                root: args.root,
                build_delay_ms: args.build_delay_ms,
            })),
            StoreCommand::DebugUnpin { name } => Self::DebugUnpin { name },
            StoreCommand::DebugIndirectRoot { link } => Self::DebugIndirectRoot { link },
            StoreCommand::DebugPopulate { count, root_every } => {
                Self::DebugPopulate { count, root_every }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
