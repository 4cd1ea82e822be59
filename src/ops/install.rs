//! `buildout install [parts]`: assemble the parts into a new generation and
//! switch the buildout directory to it.
//!
//! load the configuration → refuse `extensions` (no extension host yet) →
//! order the parts (references and `=>`, as zc.buildout does) → construct
//! each part's recipe → take the buildout directory's lock (not for
//! `--dry-run`) → prepare each part (resolve and install its distributions,
//! see [`super::dists`]) → compute every part's store path → warn about
//! options nothing read → build what is missing → assemble the generation
//! (its manifest holds URLs without credentials) → record it (a GC root) →
//! switch `current` atomically → post-switch work. A current generation that
//! cannot be read (its object deleted) is warned about and replaced. Any failure before the
//! switch leaves the previous generation current and untouched; a
//! half-built object is never registered.

use super::{Context, Error, Failure, Result, load};
use crate::build;
use crate::config::Purpose;
use crate::profile::Profile;
use crate::profile::manifest::{self, Manifest, PartEntry};
use crate::recipe::{self, Recipe};
use crate::store::{self, Store};
use std::path::Path;

/// What `buildout install` was asked to do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InstallOptions {
    /// `--dry-run`: plan and report, build nothing.
    pub dry_run: bool,
    /// The parts named on the command line (all of `parts` when empty).
    pub parts: Vec<String>,
}

pub fn install(ctx: &Context, args: &InstallOptions) -> Result<()> {
    let (mut config, _) = load::load(ctx, Purpose::Other)?;
    run(ctx, args, &mut config).map_err(|f| f.doing("Installing."))
}

struct Planned {
    name: String,
    recipe: Box<dyn Recipe>,
    entry: PartEntry,
}

fn run(ctx: &Context, args: &InstallOptions, config: &mut crate::config::Config) -> Result<()> {
    check_extensions(&mut config.buildout)
        .map_err(|e| Failure::from(e).doing("Loading extensions."))?;
    let directory = config.directory.clone();
    let store_dir = load::store_dir_for(ctx, load::store_option(config)?)?;
    let b = &mut config.buildout;
    let listed = b.require("buildout", "parts")?;
    let listed: Vec<String> = if args.parts.is_empty() {
        listed.split_whitespace().map(String::from).collect()
    } else {
        args.parts.clone()
    };
    for part in &listed {
        b.section(part)?;
        b.require(part, "recipe")?;
    }

    // Construct recipes in part order; constructing may pull in more parts
    // (a template that references another section with a recipe).
    let mut planned: Vec<Planned> = Vec::new();
    let mut i = 0;
    while i < b.parts().len() {
        let name = b.parts()[i].clone();
        i += 1;
        let recipe = recipe::construct(b, &name, &directory)
            .map_err(|e| Failure::from(Error::from(e)).doing(format!("Installing {name}.")))?;
        // Credentials in URLs never reach the store (manifests are
        // readable objects) nor `generations diff`.
        let options: std::collections::BTreeMap<String, String> = b
            .peek_options(&name)?
            .into_iter()
            .map(|(k, v)| (k, crate::index::redact_all(&v)))
            .collect();
        planned.push(Planned {
            entry: PartEntry {
                name: name.clone(),
                recipe: options.get("recipe").cloned().unwrap_or_default(),
                options,
                path: String::new(),
                outputs: recipe.outputs(),
                distributions: Vec::new(),
            },
            name,
            recipe,
        });
    }

    // The directory lock comes before anything is resolved or reused: two
    // runs in one directory never interleave, and what a run reads from
    // the store and from `.buildout` stays its own until it switches.
    // (`--dry-run` changes nothing there and takes no lock.)
    let profile = if args.dry_run {
        None
    } else {
        let printer = ctx.printer;
        Some(Profile::open_locked(Path::new(&directory), &mut || {
            printer.warn(&format!(
                "Waiting for another buildout running in {directory}..."
            ));
        })?)
    };
    let store = Store::open(&store_dir)?;
    let settings = super::dists::Settings::read(b, &directory)?;
    let mut installer = super::dists::Installer::new(ctx, &store, settings);
    // Develop eggs first, as zc.buildout does; see `build::develop`.
    if let Some(develop) = b.get("buildout", "develop", None)? {
        let python = b.require("buildout", "executable")?;
        let (dirs, warnings) = build::develop::expand(&develop, &directory);
        for w in warnings {
            ctx.printer.warn(&w);
        }
        for dir in dirs {
            let shown = crate::config::pystr::repr(&dir.display().to_string());
            ctx.printer.info(&format!("Develop: {shown}"));
            installer.develop_dir(&dir, &python).map_err(|e| {
                Failure::from(Error::from(e))
                    .doing(format!("Processing develop directory {shown}."))
            })?;
        }
    }
    for p in &mut planned {
        if let Err(e) = p.recipe.prepare(&mut installer) {
            print_notes(ctx, p, None);
            return Err(Failure::from(Error::from(e)).doing(format!("Installing {}.", p.name)));
        }
    }
    for p in &mut planned {
        p.entry.distributions = p.recipe.distributions();
        // What a part manages may depend on its working set (scripts).
        p.entry.outputs = p.recipe.outputs();
        let path = recipe::part::part_path(&store, &p.name, p.recipe.as_ref(), &p.entry.options)?;
        p.entry.path = path.to_absolute(store.dir_str());
        p.recipe.set_location(&p.entry.path);
    }

    if args.dry_run {
        for p in &planned {
            let path = store.parse_user_path(&p.entry.path)?;
            let verb = if store.is_valid(&path)? {
                "reuse"
            } else {
                "build"
            };
            ctx.printer
                .data(&format!("would {verb} part {}: {}\n", p.name, p.entry.path));
        }
        ctx.printer
            .data("would assemble a new generation and switch to it (nothing was changed)\n");
        return Ok(());
    }
    let profile = profile.expect("locked unless a dry run");
    let dir = Path::new(&directory);
    warn_unused(ctx, "buildout", &b.unused_options("buildout", CORE_OPTIONS));
    for p in &planned {
        let path = store.parse_user_path(&p.entry.path)?;
        let references = p
            .recipe
            .distributions()
            .iter()
            .map(|d| store.parse_user_path(&d.path))
            .collect::<Result<Vec<_>, _>>()?;
        let (_, reused) = recipe::part::build_part(&store, &path, p.recipe.as_ref(), references)
            .map_err(|e| Failure::from(Error::from(e)).doing(format!("Installing {}.", p.name)))?;
        let verb = if reused { "Updating" } else { "Installing" };
        ctx.printer.info(&format!("{verb} {}.", p.name));
        print_notes(ctx, p, Some(dir));
        warn_unused(ctx, &p.name, &b.unused_options(&p.name, &[]));
    }
    store::failpoint::hit("install-parts-built");

    let current = profile.current()?;
    let old = match current {
        // A current generation whose object is gone or damaged (deleted,
        // or unregistered by `store verify --repair`) must not leave the
        // directory stuck: the new generation is made without it.
        Some(g) => match profile.manifest(g) {
            Ok(m) => Some(m),
            Err(e @ crate::profile::Error::Manifest { .. }) => {
                ctx.printer.warn(&format!(
                    "The current generation {g} cannot be read ({e}); building a new \
                     generation without it."
                ));
                None
            }
            Err(e) => return Err(e.into()),
        },
        None => None,
    };
    let mut parts: Vec<PartEntry> = planned.iter().map(|p| p.entry.clone()).collect();
    if !args.parts.is_empty() {
        // Installing named parts keeps the other parts of the current
        // generation, as zc.buildout keeps their installed state.
        if let Some(old) = &old {
            let mut kept: Vec<PartEntry> = old
                .parts
                .iter()
                .filter(|o| !parts.iter().any(|p| p.name == o.name))
                .cloned()
                .collect();
            kept.append(&mut parts);
            parts = kept;
        }
    }
    let manifest = Manifest {
        format: manifest::FORMAT,
        tool_version: env!("CARGO_PKG_VERSION").into(),
        buildout_directory: directory.clone(),
        config: snapshot(b),
        distributions: Manifest::collect_distributions(&parts),
        interpreters: {
            let mut all: Vec<String> = planned
                .iter()
                .filter_map(|p| p.recipe.interpreter())
                .collect();
            all.sort();
            all.dedup();
            all
        },
        parts,
    };
    let gen_path = build::build_generation(&store, &manifest)?;
    installer.report_picked()?;
    let gen_abs = gen_path.to_absolute(store.dir_str());
    store::failpoint::hit("install-generation-added");

    if let Some(g) = current {
        let entry = profile.entry(g)?;
        if entry.target == Path::new(&gen_abs) {
            ctx.printer
                .verbose(&format!("Nothing changed: generation {g} is current."));
            return after_switch(ctx, &planned);
        }
    }
    store.add_indirect_root(&profile.generations_dir())?;
    let g = profile.add(Path::new(&gen_abs))?;
    store::failpoint::hit("install-link-added");
    let moved = profile.switch(g, &manifest, old.as_ref())?;
    for (from, to) in moved {
        ctx.printer.warn(&format!(
            "Moved {} to {}: buildout now manages it as a link into the current generation.",
            from.display(),
            to.display()
        ));
    }
    let summary = match &old {
        Some(old) => manifest::summary(&manifest::diff(old, &manifest)),
        None => manifest::summary(&manifest::diff(&empty_like(&manifest), &manifest)),
    };
    ctx.printer
        .info(&format!("Generation {g} is current ({summary})."));
    after_switch(ctx, &planned)
}

/// `[buildout]` options that steer a run but do not change what it
/// assembles: left out of the manifest, so `-N`, `-o` or `-v` alone never
/// make a new generation.
const RUN_OPTIONS: &[&str] = &[
    "install-from-cache",
    "log-format",
    "log-level",
    "max-unpacked-file-size",
    "max-unpacked-files",
    "max-unpacked-size",
    "newest",
    "offline",
    "show-picked-versions",
    "socket-timeout",
    "update-versions-file",
    "verbosity",
];

/// The configuration snapshot recorded in a generation.
fn snapshot(
    b: &crate::config::Buildout,
) -> std::collections::BTreeMap<String, std::collections::BTreeMap<String, String>> {
    b.section_names()
        .filter_map(|n| {
            let mut s = b.raw_section(n)?.clone();
            if n == "buildout" {
                s.retain(|k, _| !RUN_OPTIONS.contains(&k.as_str()));
            }
            for v in s.values_mut() {
                *v = crate::index::redact_all(v);
            }
            Some((n.clone(), s))
        })
        .collect()
}

/// `[buildout] extensions`: zc.buildout's error for the two it absorbed;
/// any other is refused, never skipped (an extension such as mr.developer
/// changes what gets installed).
fn check_extensions(b: &mut crate::config::Buildout) -> std::result::Result<(), Error> {
    let specs = b.get("buildout", "extensions", None)?.unwrap_or_default();
    let specs: Vec<&str> = specs.split_whitespace().collect();
    if specs
        .iter()
        .any(|s| ["buildout-versions", "buildout.dumppickedversions"].contains(s))
    {
        return Err(Error::User(
            "Buildout now includes 'buildout-versions' (and part of the older \
             'buildout.dumppickedversions').\nRemove the extension from your configuration \
             and look at the 'show-picked-versions' option in buildout's documentation."
                .into(),
        ));
    }
    if !specs.is_empty() {
        return Err(Error::NotAvailable(format!(
            "the extension(s) {} cannot be loaded: this build of buildout has no Python \
             extension host yet; remove `extensions` (for mr.developer: check the sources out \
             and list them in `develop`)",
            specs
                .iter()
                .map(|s| format!("`{s}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    Ok(())
}

/// The `[buildout]` options the core reads (zc.buildout's, whether or not
/// this build uses them, and ours); any other nobody read is reported.
const CORE_OPTIONS: &[&str] = &[
    "abi-tag-eggs",
    "allow-hosts",
    "allow-picked-versions",
    "allow-unknown-extras",
    "bin-directory",
    "compile-bytecode",
    "develop",
    "develop-eggs-directory",
    "directory",
    "download-cache",
    "eggs-directory",
    "eggs-directory-version",
    "executable",
    "extends-cache",
    "extensions",
    "find-links",
    "index",
    "install-from-cache",
    "installed",
    "log-format",
    "log-level",
    "max-unpacked-file-size",
    "max-unpacked-files",
    "max-unpacked-size",
    "newest",
    "offline",
    "parts",
    "parts-directory",
    "prefer-final",
    "python",
    "show-picked-versions",
    "socket-timeout",
    "store",
    "update-versions-file",
    "use-dependency-links",
    "verbosity",
    "versions",
];

/// zc.buildout's warning for options nothing read: a typo in an option's
/// name, or an option the recipe does not know.
fn warn_unused(ctx: &Context, section: &str, unused: &[String]) {
    if unused.is_empty() {
        return;
    }
    let names: Vec<String> = unused
        .iter()
        .map(|o| crate::config::pystr::repr(o))
        .collect();
    ctx.printer.warn(&format!(
        "Section `{section}` contains unused option(s): {}.\n\
         This may be an indication for either a typo in the option's name or a bug in the used recipe.",
        names.join(" ")
    ));
}

fn after_switch(ctx: &Context, planned: &[Planned]) -> Result<()> {
    for p in planned {
        let mut say = |line: &str| ctx.printer.info(line);
        p.recipe
            .after_switch(&mut say)
            .map_err(|e| Failure::from(Error::from(e)).doing(format!("Installing {}.", p.name)))?;
    }
    Ok(())
}

/// Logs a part's notes: warnings always; `Generated ...` lines (with
/// `directory`, after the build) only for outputs whose content differs
/// from what the buildout directory has now, as zc.buildout logs only the
/// scripts it writes.
fn print_notes(ctx: &Context, p: &Planned, directory: Option<&Path>) {
    for note in p.recipe.notes() {
        match note {
            recipe::Note::Warning(line) => ctx.printer.warn(&line),
            recipe::Note::Generated { output, line } => {
                let Some(directory) = directory else { continue };
                let new = std::fs::read(Path::new(&p.entry.path).join("outputs").join(&output));
                let old = std::fs::read(directory.join(&output));
                if new.ok() != old.ok() {
                    ctx.printer.info(&line);
                }
            }
        }
    }
}

fn empty_like(m: &Manifest) -> Manifest {
    Manifest {
        parts: Vec::new(),
        distributions: Vec::new(),
        ..m.clone()
    }
}
