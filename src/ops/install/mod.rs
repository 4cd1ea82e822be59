//! `buildout install [parts]`: assemble the parts into a new generation and
//! switch the buildout directory to it.
//!
//! [`run`] reads like `design.md` §5, one function per step: load the
//! configuration (refusing `extensions`: no extension host yet) → [`order`]
//! the parts (references and `=>`, as zc.buildout does) and construct each
//! part's recipe → take the buildout directory's lock (not for
//! `--dry-run`) → [`resolve`] each part's distributions (develop eggs
//! first, see [`super::dists`]) → [`plan`] every part's store path →
//! [`realise`] what is missing, warning about options nothing read →
//! [`assemble`] the generation (its manifest holds URLs without
//! credentials) and record it (a GC root) → [`switch`] `current`
//! atomically → the parts' post-switch [`actions`]. A current generation
//! that cannot be read (its object deleted) is warned about and replaced.
//! Any failure before the switch leaves the previous generation current
//! and untouched; a half-built object is never registered. Which
//! `[buildout]` options count as read, and which stay out of the
//! generation's snapshot, is [`options`]' business.

mod options;

use super::{Context, Error, Failure, Result, load};
use crate::build;
use crate::config::Purpose;
use crate::profile::manifest::{self, Manifest, PartEntry};
use crate::profile::{Generation, Profile};
use crate::recipe::{self, Recipe};
use crate::store::{self, Store};
use options::{CORE_OPTIONS, check_extensions, snapshot, warn_unused};
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

/// One run, in `design.md` §5's steps: load (the caller) → order →
/// resolve → plan → realise → assemble → switch → actions, reporting as it
/// goes (picked versions once the generation is built, then which
/// generation is current, before the parts' post-switch lines: zc.buildout's
/// order of messages). Any failure before [`switch`] leaves the previous
/// generation current and untouched.
fn run(ctx: &Context, args: &InstallOptions, config: &mut crate::config::Config) -> Result<()> {
    check_extensions(&mut config.buildout)
        .map_err(|e| Failure::from(e).doing("Loading extensions."))?;
    let directory = config.directory.clone();
    let store_dir = load::store_dir_for(ctx, load::store_option(config)?)?;
    let buildout = &mut config.buildout;
    let mut planned = order(buildout, args, &directory)?;
    // The directory lock comes before anything is resolved or reused: two
    // runs in one directory never interleave, and what a run reads from
    // the store and from `.buildout` stays its own until it switches.
    // (`--dry-run` changes nothing there and takes no lock.)
    let profile = if args.dry_run {
        None
    } else {
        Some(super::lock_profile(ctx, Path::new(&directory))?)
    };
    let store = Store::open(&store_dir)?;
    let settings = super::dists::Settings::read(buildout, &directory)?;
    let mut installer = super::dists::Installer::new(ctx, &store, settings);
    resolve(ctx, buildout, &directory, &mut installer, &mut planned)?;
    plan(&store, &mut planned)?;
    let Some(profile) = profile else {
        return report_dry_run(ctx, &store, &planned);
    };
    realise(ctx, buildout, &store, &planned, Path::new(&directory))?;
    store::failpoint::hit("install-parts-built");

    let current = profile.current()?;
    let old = current_manifest(ctx, &profile, current)?;
    let manifest = assemble(buildout, &directory, args, &planned, old.as_ref());
    let generation = build::build_generation(&store, &manifest)?;
    installer.report_picked()?;
    store::failpoint::hit("install-generation-added");
    switch(
        ctx,
        &store,
        &profile,
        current,
        &generation,
        &manifest,
        old.as_ref(),
    )?;
    actions(ctx, &planned)
}

/// Order: checks the parts to install, then constructs each part's recipe
/// in the order the configuration gives them; constructing may pull in
/// more parts (a template that references another section with a recipe).
fn order(
    buildout: &mut crate::config::Buildout,
    args: &InstallOptions,
    directory: &str,
) -> Result<Vec<Planned>> {
    let listed = buildout.require("buildout", "parts")?;
    let listed: Vec<String> = if args.parts.is_empty() {
        listed.split_whitespace().map(String::from).collect()
    } else {
        args.parts.clone()
    };
    for part in &listed {
        buildout.section(part)?;
        buildout.require(part, "recipe")?;
    }
    let mut planned: Vec<Planned> = Vec::new();
    let mut i = 0;
    while i < buildout.parts().len() {
        let name = buildout.parts()[i].clone();
        i += 1;
        let recipe = recipe::construct(buildout, &name, directory)
            .map_err(|e| Failure::from(Error::from(e)).doing(format!("Installing {name}.")))?;
        // Credentials in URLs never reach the store (manifests are
        // readable objects) nor `generations diff`.
        let options: std::collections::BTreeMap<String, String> = buildout
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
    Ok(planned)
}

/// Resolve: the develop eggs first, as zc.buildout does (see
/// `build::develop`), then each part's distributions ([`Recipe::prepare`]).
fn resolve(
    ctx: &Context,
    buildout: &mut crate::config::Buildout,
    directory: &str,
    installer: &mut super::dists::Installer<'_>,
    planned: &mut [Planned],
) -> Result<()> {
    if let Some(develop) = buildout.get("buildout", "develop", None)? {
        let python = buildout.require("buildout", "executable")?;
        let (dirs, warnings) = build::develop::expand(&develop, directory);
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
    for p in planned {
        if let Err(e) = p.recipe.prepare(installer) {
            print_notes(ctx, p, None);
            return Err(Failure::from(Error::from(e)).doing(format!("Installing {}.", p.name)));
        }
    }
    Ok(())
}

/// Plan: every part's store path, computed from its recipe, options and
/// working set.
fn plan(store: &Store, planned: &mut [Planned]) -> Result<()> {
    for p in planned {
        p.entry.distributions = p.recipe.distributions();
        // What a part manages may depend on its working set (scripts).
        p.entry.outputs = p.recipe.outputs();
        let path = recipe::part::part_path(store, &p.name, p.recipe.as_ref(), &p.entry.options)?;
        p.entry.path = path.to_absolute(store.dir_str());
        p.recipe.set_location(&p.entry.path);
    }
    Ok(())
}

/// `--dry-run`: what would be built and what reused; nothing changes.
fn report_dry_run(ctx: &Context, store: &Store, planned: &[Planned]) -> Result<()> {
    for p in planned {
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
    Ok(())
}

/// Realise: builds each part's object that the store does not hold yet
/// (its distributions are already there), warning about options nothing
/// read: `[buildout]`'s first, then each part's once it is built.
fn realise(
    ctx: &Context,
    buildout: &crate::config::Buildout,
    store: &Store,
    planned: &[Planned],
    directory: &Path,
) -> Result<()> {
    warn_unused(
        ctx,
        "buildout",
        &buildout.unused_options("buildout", CORE_OPTIONS),
    );
    for p in planned {
        let path = store.parse_user_path(&p.entry.path)?;
        let references = p
            .recipe
            .distributions()
            .iter()
            .map(|d| store.parse_user_path(&d.path))
            .collect::<Result<Vec<_>, _>>()?;
        let (_, reused) = recipe::part::build_part(store, &path, p.recipe.as_ref(), references)
            .map_err(|e| Failure::from(Error::from(e)).doing(format!("Installing {}.", p.name)))?;
        let verb = if reused { "Updating" } else { "Installing" };
        ctx.printer.info(&format!("{verb} {}.", p.name));
        print_notes(ctx, p, Some(directory));
        warn_unused(ctx, &p.name, &buildout.unused_options(&p.name, &[]));
    }
    Ok(())
}

/// The manifest of the current generation, if there is one that can be
/// read. A current generation whose object is gone or damaged (deleted,
/// or unregistered by `store verify --repair`) must not leave the
/// directory stuck: it is warned about and the new generation is made
/// without it.
fn current_manifest(
    ctx: &Context,
    profile: &Profile,
    current: Option<Generation>,
) -> Result<Option<Manifest>> {
    let Some(g) = current else {
        return Ok(None);
    };
    match profile.manifest(g) {
        Ok(m) => Ok(Some(m)),
        Err(e @ crate::profile::Error::Manifest { .. }) => {
            ctx.printer.warn(&format!(
                "The current generation {g} cannot be read ({e}); building a new \
                 generation without it."
            ));
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

/// Assemble: the new generation's manifest (parts, their distributions
/// and interpreters, the configuration snapshot).
fn assemble(
    buildout: &crate::config::Buildout,
    directory: &str,
    args: &InstallOptions,
    planned: &[Planned],
    old: Option<&Manifest>,
) -> Manifest {
    let mut parts: Vec<PartEntry> = planned.iter().map(|p| p.entry.clone()).collect();
    if !args.parts.is_empty() {
        // Installing named parts keeps the other parts of the current
        // generation, as zc.buildout keeps their installed state.
        if let Some(old) = old {
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
    let mut interpreters: Vec<String> = planned
        .iter()
        .filter_map(|p| p.recipe.interpreter())
        .collect();
    interpreters.sort();
    interpreters.dedup();
    Manifest {
        format: manifest::FORMAT,
        tool_version: env!("CARGO_PKG_VERSION").into(),
        buildout_directory: directory.to_string(),
        config: snapshot(buildout),
        distributions: Manifest::collect_distributions(&parts),
        interpreters,
        parts,
    }
}

/// Switch: makes `generation` current (unless it already is) and says
/// which generation is current and what changed.
fn switch(
    ctx: &Context,
    store: &Store,
    profile: &Profile,
    current: Option<Generation>,
    generation: &store::StorePath,
    manifest: &Manifest,
    old: Option<&Manifest>,
) -> Result<()> {
    let target = generation.to_absolute(store.dir_str());
    if let Some(g) = current {
        let entry = profile.entry(g)?;
        if entry.target == Path::new(&target) {
            ctx.printer
                .verbose(&format!("Nothing changed: generation {g} is current."));
            return Ok(());
        }
    }
    store.add_indirect_root(&profile.generations_dir())?;
    let g = profile.add(Path::new(&target), current)?;
    store::failpoint::hit("install-link-added");
    let moved = profile.switch(g, manifest, old)?;
    super::report_moved(ctx, &moved);
    let changes = match old {
        Some(old) => manifest::diff(old, manifest),
        None => manifest::diff(&empty_like(manifest), manifest),
    };
    ctx.printer.success(&format!(
        "Generation {g} is current ({}).",
        manifest::summary(&changes)
    ));
    // The summary is bounded; the full list is for `-v`.
    for line in manifest::describe(&changes) {
        ctx.printer.verbose(&format!("  {line}"));
    }
    Ok(())
}

/// Actions: each part's work once its generation is current.
fn actions(ctx: &Context, planned: &[Planned]) -> Result<()> {
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
