//! `buildout install [parts]`: assemble the parts into a new generation and
//! switch the buildout directory to it.
//!
//! [`run`] reads like `design.md` §5, one function per step: load the
//! configuration → take the buildout directory's lock (not for
//! `--dry-run`) → [`extensions`] (loaded in the recipe host, before
//! anything else, as zc.buildout loads them) → [`develop`] projects →
//! [`order`] the parts
//! (references and `=>`, as zc.buildout does), each recipe constructed as
//! its section is initialised (recipe-host recipes by the configuration's
//! hook, [`crate::recipe::host`]) → [`resolve`] each part's distributions
//! ([`super::dists`]) → [`plan`] every part's
//! store path → [`realise`] what is missing (recipe-host parts installed
//! in the build view, [`view`]), warning about options nothing read →
//! [`assemble`] the generation (its manifest holds URLs without
//! credentials) and record it (a GC root) → [`switch`] `current`
//! atomically → the parts' post-switch [`actions`] (a failing one switches
//! the previous generation back in). A current generation that cannot be
//! read (its object deleted) is warned about and replaced. Any failure
//! before the switch leaves the previous generation current and untouched;
//! a half-built object is never registered. Which `[buildout]` options
//! count as read, and which stay out of the generation's snapshot, is
//! [`options`]' business. The lock file ([`super::lock`]) is read before
//! the extensions load and checked against the parts once they are
//! ordered; `buildout lock` ([`lock`]) is this pipeline as a dry run that
//! ends after the resolution, writing the lock. A generation copied from
//! another machine is switched to and its actions run by [`copied`].

mod copied;
mod options;
mod view;

pub(in crate::ops) use copied::activate as activate_copied;

use super::{Context, Error, Failure, Result, load};
use crate::build;
use crate::config::Purpose;
use crate::output::INSTALLER_LOGGER;
use crate::profile::manifest::{self, Manifest, PartEntry, PartLink};
use crate::profile::{Generation, Profile};
use crate::recipe::host::{LogRecord, Session, Settings as HostSettings};
use crate::recipe::hosted::Hosted;
use crate::recipe::{self, Recipe};
use crate::store::{self, Store};
use options::{CORE_OPTIONS, check_extensions, snapshot, warn_unused};
use std::cell::RefCell;
use std::path::Path;
use std::rc::Rc;

/// What `buildout install` was asked to do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InstallOptions {
    /// `--dry-run`: plan and report, build nothing.
    pub dry_run: bool,
    /// The parts named on the command line (all of `parts` when empty).
    pub parts: Vec<String>,
    /// `--locked` / `--frozen`: how the lock file is used.
    pub lock_use: super::LockUse,
    /// `buildout lock`: resolve as a dry run and write the lock.
    pub lock: Option<super::LockCommand>,
}

impl InstallOptions {
    /// `buildout lock` writing the lock (not `--check`, not `--export`).
    fn records_lock(&self) -> bool {
        self.lock
            .as_ref()
            .is_some_and(|c| !c.check && c.export.is_none())
    }
}

pub fn install(ctx: &Context, args: &InstallOptions) -> Result<()> {
    let (mut config, _) = load::load(ctx, Purpose::Other)?;
    run(ctx, args, &mut config).map_err(|f| f.doing("Installing."))
}

/// `buildout lock`: the install pipeline as a dry run, recording every
/// request ([`super::lock`]).
pub fn lock(ctx: &Context, command: &super::LockCommand) -> Result<()> {
    let (mut config, _) = load::load(ctx, Purpose::Other)?;
    let args = InstallOptions {
        dry_run: true,
        lock: Some(command.clone()),
        ..InstallOptions::default()
    };
    run(ctx, &args, &mut config).map_err(|f| f.doing("Locking."))
}

struct Planned {
    name: String,
    recipe: Box<dyn Recipe>,
    entry: PartEntry,
}

/// One run, in `design.md` §5's steps: load (the caller) → extensions →
/// order → resolve → plan → realise → assemble → switch → actions,
/// reporting as it goes (picked versions once the generation is built,
/// then which generation is current, before the parts' post-switch lines:
/// zc.buildout's order of messages). Any failure before [`switch`] leaves
/// the previous generation current and untouched; a failing action
/// switches it back.
fn run(ctx: &Context, args: &InstallOptions, config: &mut crate::config::Config) -> Result<()> {
    let directory = config.directory.clone();
    let store_dir = load::store_dir_for(ctx, load::store_option(config)?)?;
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
    let mut loaded = std::mem::take(&mut config.buildout);
    let settings = super::dists::Settings::read(&mut loaded, &directory)?;
    let host_settings = host_settings(&mut loaded, &directory, config.log_level)?;
    // Binary caches: what is missing is asked of them before it is built.
    let caches = super::cache::CacheSettings::read(&mut loaded, &directory)?;
    if !args.dry_run {
        caches.attach(ctx, &store)?;
    }
    let mut installer = super::dists::Installer::new(ctx, &store, settings);
    installer.dry_run = args.dry_run;
    let installer = RefCell::new(installer);
    let log = |record: &LogRecord| print_log(ctx, record);
    let memo = Path::new(&directory).join(".buildout/constructors.json");
    let events = |activity: crate::recipe::host::Activity<'_>, begun: bool| {
        host_progress(activity, begun);
    };
    let mut session = Session::new(host_settings, &installer, &log)
        .with_memo(memo)
        .with_events(&events);
    if args.records_lock() {
        session = session.locking();
    } else if args.dry_run {
        session = session.dry_run();
    }
    let session = Rc::new(session);
    let mut buildout: crate::config::Buildout<'_> = loaded;
    buildout.set_hook(session.clone());
    let buildout = &mut buildout;
    // The lock file, before extensions and recipes ask for distributions
    // (`lock --export` ends here).
    let versions = installer.borrow().settings.versions.clone();
    match super::lock::begin(ctx, buildout, &versions, args.lock.as_ref(), args.lock_use)? {
        super::lock::Flow::Done => return Ok(()),
        super::lock::Flow::Continue(state) => installer.borrow_mut().set_lock(state.map(|s| *s))?,
    }
    extensions(ctx, buildout, &session, args)?;
    develop(ctx, buildout, &directory, &mut installer.borrow_mut())?;
    let mut planned = order(buildout, args, &directory, &session)?;
    if args.records_lock() {
        lock_uninstalls(ctx, &directory, &session)?;
    }
    // The parts' inputs against the lock (`lock --check` ends here).
    let part_names: Vec<String> = planned.iter().map(|p| p.name.clone()).collect();
    let mut lock_state = installer.borrow_mut().lock.take();
    if super::lock::after_order(
        ctx,
        buildout,
        &versions,
        &part_names,
        args.lock.as_ref(),
        &mut lock_state,
        args.lock_use,
    )? {
        return Ok(());
    }
    installer.borrow_mut().set_lock(lock_state)?;
    resolve(ctx, &mut installer.borrow_mut(), &mut planned)?;
    if args.lock.is_some()
        && let Some(state) = installer.borrow_mut().lock.take()
    {
        return Ok(super::lock::finish(
            ctx,
            buildout,
            &versions,
            &part_names,
            state,
        )?);
    }
    plan(&store, &mut planned)?;
    let Some(profile) = profile else {
        installer.borrow().report_traffic();
        if let Some(state) = installer.borrow().lock.as_ref()
            && installer.borrow().installs_from_lock()
        {
            ctx.printer.data(&format!(
                "would install the distributions {} locks\n",
                state.file
            ));
        }
        return report_dry_run(ctx, &store, &planned, &installer.borrow().previews);
    };
    let current = profile.current()?;
    // What the build view of a crashed run left.
    view::View::recover(&profile, Path::new(&directory))?;
    let old = current_manifest(ctx, &profile, current)?;
    let mut realising = Realising {
        ctx,
        store: &store,
        profile: &profile,
        session: &session,
        directory: Path::new(&directory),
        old: old.as_ref(),
        view: None,
    };
    realise(&mut realising, buildout, &mut planned)?;
    let mut adopted = Vec::new();
    if let Some(view) = realising.view.take() {
        adopted = view.adopted();
        view.close()?;
    }
    store::failpoint::hit("install-parts-built");

    // Requests the lock did not cover (the recipe host's): added to it.
    if let Some(state) = installer.borrow_mut().lock.as_mut() {
        super::lock::complete(ctx, state)?;
    }
    let mut manifest = assemble(buildout, &directory, args, &planned, old.as_ref());
    if installer.borrow().installs_from_lock() {
        manifest.lock = super::lock::file_digest(&super::lock::lock_path(ctx)?);
    }
    let generation = build::build_generation(&store, &manifest)?;
    installer.borrow().report_traffic();
    installer.borrow_mut().report_picked()?;
    store::failpoint::hit("install-generation-added");
    // Files recipes made and returned are in their objects now: the
    // switch links them where they were.
    for file in &adopted {
        std::fs::remove_file(file).map_err(|source| Error::Io {
            what: format!(
                "cannot remove {} (it is in its part's object)",
                file.display()
            ),
            source,
        })?;
    }
    switch(
        ctx,
        &store,
        &profile,
        current,
        &generation,
        &manifest,
        old.as_ref(),
    )?;
    if let Err(failure) = actions(ctx, buildout, &session, &planned, old.as_ref()) {
        switch_back(ctx, &profile, current, &manifest, old.as_ref());
        return Err(failure);
    }
    session
        .unload_extensions(buildout)
        .map_err(|e| Failure::from(Error::from(e)).doing("Unloading extensions."))?;
    session.save_memo()?;
    ctx.printer.verbose(if session.started() {
        "The recipe host ran."
    } else {
        "The recipe host was not needed."
    });
    Ok(())
}

/// What the recipe host needs to know of the run.
fn host_settings(
    buildout: &mut crate::config::Buildout<'_>,
    directory: &str,
    log_level: i32,
) -> Result<HostSettings> {
    let flag = |b: &mut crate::config::Buildout<'_>, k: &str| -> Result<bool> {
        Ok(b.get("buildout", k, None)?.as_deref() == Some("true"))
    };
    Ok(HostSettings {
        directory: directory.to_string(),
        python: buildout.require("buildout", "executable")?,
        argv: host_argv(),
        log_level: i64::from(log_level),
        offline: flag(buildout, "offline")?,
        newest: flag(buildout, "newest")?,
    })
}

/// The recipe host's `sys.argv`: zc.buildout's `sys.argv[0]` is the path
/// of its script (what mr.developer records to run buildout again), then
/// this run's arguments.
fn host_argv() -> Vec<String> {
    std::iter::once(
        std::env::current_exe()
            .map_or_else(|_| "buildout".to_string(), |p| p.display().to_string()),
    )
    .chain(std::env::args().skip(1))
    .collect()
}

/// Prints a recipe's or extension's log record as zc.buildout does, with
/// the configured `log-format` (by default, the logger's name before the
/// message, except for zc.buildout's own).
fn print_log(ctx: &Context, record: &LogRecord) {
    let level =
        i32::try_from(record.level).unwrap_or(if record.level < 0 { i32::MIN } else { i32::MAX });
    ctx.printer.log(level, &record.name, &record.message);
}

/// `[buildout] extensions`: loaded in the recipe host and called with the
/// buildout before develop eggs and parts, where zc.buildout calls them.
fn extensions(
    ctx: &Context,
    buildout: &mut crate::config::Buildout<'_>,
    session: &Session<'_>,
    args: &InstallOptions,
) -> Result<()> {
    let doing = "Loading extensions.";
    let specs = check_extensions(buildout).map_err(|e| Failure::from(e).doing(doing))?;
    if specs.is_empty() {
        return Ok(());
    }
    if args.records_lock() {
        // `buildout lock`: their distributions, for the lock.
        return session
            .lock_requirements(&specs)
            .map_err(|e| Failure::from(Error::from(crate::recipe::Error::Host(e))).doing(doing));
    }
    if session.is_dry_run() {
        ctx.printer.data(&format!(
            "would load the extensions {} (a dry run runs no Python: what they change is not \
             in this plan)\n",
            specs.join(" ")
        ));
        return Ok(());
    }
    let patched = session
        .load_extensions(buildout, &specs)
        .map_err(|e| Failure::from(Error::from(e)).doing(doing))?;
    for name in patched {
        ctx.printer.warn(&format!(
            "The extension {name} replaces parts of zc.buildout's installer that this \
             buildout does not run; what it changes there has no effect."
        ));
    }
    Ok(())
}

/// `buildout lock`: the recipes an install calls the uninstall entry
/// points of (the current generation's action parts, [`actions`]) are
/// loaded in the recipe host after the configuration's: their
/// distributions are locked too (an install without the changed ones
/// asks for no more).
fn lock_uninstalls(ctx: &Context, directory: &str, session: &Session<'_>) -> Result<()> {
    let profile = crate::profile::Profile::open_read(Path::new(directory));
    let old = current_manifest(ctx, &profile, profile.current()?)?;
    let recipes: Vec<String> = old
        .iter()
        .flat_map(|m| &m.parts)
        .filter(|o| o.action && !recipe::is_builtin(&o.recipe))
        .map(|o| crate::recipe::host::split_spec(&o.recipe).0)
        .collect();
    session
        .lock_requirements(&recipes)
        .map_err(|e| Failure::from(Error::from(crate::recipe::Error::Host(e))))
}

/// Order: checks the parts to install, then constructs each part's recipe
/// in the order the configuration gives them; constructing may pull in
/// more parts (a template that references another section with a recipe).
fn order(
    buildout: &mut crate::config::Buildout<'_>,
    args: &InstallOptions,
    directory: &str,
    session: &Session<'_>,
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
        let recipe: Box<dyn Recipe> = match session.recipe(&name) {
            Some(constructed) => {
                let action = buildout.get(&name, "buildout-action", None)?;
                Box::new(Hosted::new(
                    &name,
                    constructed,
                    action.as_deref(),
                    session.part_dists(&name),
                ))
            }
            None if session.not_run(&name).is_some() => Box::new(NotRun {
                spec: session.not_run(&name).unwrap_or_default(),
            }),
            None => recipe::construct(buildout, &name, directory)
                .map_err(|e| Failure::from(Error::from(e)).doing(format!("Installing {name}.")))?,
        };
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
                link: None,
                action: false,
            },
            name,
            recipe,
        });
    }
    Ok(planned)
}

/// Develop: the `develop` projects are built (or reused) first, as
/// zc.buildout processes them before it constructs any recipe: a recipe may
/// be one of them (see `build::develop`).
fn develop(
    ctx: &Context,
    buildout: &mut crate::config::Buildout<'_>,
    directory: &str,
    installer: &mut super::dists::Installer<'_>,
) -> Result<()> {
    let Some(develop) = buildout.get("buildout", "develop", None)? else {
        return Ok(());
    };
    let python = buildout.require("buildout", "executable")?;
    let (dirs, warnings) = build::develop::expand(&develop, directory);
    for w in warnings {
        ctx.printer.warn(&w);
    }
    for dir in dirs {
        let shown = crate::config::pystr::repr(&dir.display().to_string());
        ctx.printer.info(&format!("Develop: {shown}"));
        installer.develop_dir(&dir, &python).map_err(|e| {
            Failure::from(Error::from(e)).doing(format!("Processing develop directory {shown}."))
        })?;
    }
    Ok(())
}

/// Resolve: each part's distributions ([`Recipe::prepare`]).
fn resolve(
    ctx: &Context,
    installer: &mut super::dists::Installer<'_>,
    planned: &mut [Planned],
) -> Result<()> {
    for p in planned.iter_mut() {
        installer.lock_part(&p.name);
        let prepared = in_phase(&format!("Preparing part {}", p.name), || {
            p.recipe.prepare(installer)
        });
        if let Err(e) = prepared {
            print_notes(ctx, p, None);
            return Err(Failure::from(Error::from(e)).doing(format!("Installing {}.", p.name)));
        }
    }
    installer.lock_part("");
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

/// `--dry-run`: what would be downloaded, built and reused, and which
/// recipes would run; nothing changes (distributions are resolved from
/// metadata; develop projects, and sdists whose metadata needs a build,
/// are built as by a real run, as uv builds them for their metadata).
fn report_dry_run(
    ctx: &Context,
    store: &Store,
    planned: &[Planned],
    previews: &[crate::build::dists::Preview],
) -> Result<()> {
    use crate::build::dists::Action;
    for p in previews {
        let (name, version) = (&p.name, &p.version);
        let line = match p.action {
            Action::Reuse => format!("would reuse {name} {version}"),
            Action::Download(Some(size)) => format!(
                "would download {name} {version} ({})",
                store::format_size(size)
            ),
            Action::Download(None) => format!("would download {name} {version}"),
            Action::Build => format!("would download and build {name} {version} (an sdist)"),
        };
        ctx.printer.data(&format!("{line}\n"));
    }
    for p in planned {
        if let Some(spec) = p.recipe.not_run() {
            ctx.printer.data(&format!(
                "would run the recipe {spec} of part {} in the recipe host\n",
                p.name
            ));
            continue;
        }
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

/// A recipe-host part a dry run does not construct: its recipe would run.
struct NotRun {
    spec: String,
}

impl Recipe for NotRun {
    fn identity(&self) -> String {
        self.spec.clone()
    }
    fn content_key(&self) -> String {
        String::new()
    }
    fn outputs(&self) -> Vec<String> {
        Vec::new()
    }
    fn build(&self, _out: &Path) -> recipe::Result<()> {
        Err(recipe::Error::User(format!(
            "the recipe {} was not run (a dry run)",
            self.spec
        )))
    }
    fn not_run(&self) -> Option<String> {
        Some(self.spec.clone())
    }
}

/// What realising the parts needs.
struct Realising<'r, 's> {
    ctx: &'r Context,
    store: &'r Store,
    profile: &'r Profile,
    session: &'r Session<'s>,
    directory: &'r Path,
    old: Option<&'r Manifest>,
    /// The build view, opened for the first recipe-host part installed.
    view: Option<view::View<'r>>,
}

/// Realise: builds each part's object that the store does not hold yet
/// (its distributions are already there), warning about options nothing
/// read: `[buildout]`'s first, then each part's once it is built.
fn realise(
    r: &mut Realising<'_, '_>,
    buildout: &mut crate::config::Buildout<'_>,
    planned: &mut [Planned],
) -> Result<()> {
    let ctx = r.ctx;
    warn_unused(
        ctx,
        "buildout",
        &buildout.unused_options("buildout", CORE_OPTIONS),
    );
    for p in planned.iter_mut() {
        let doing = format!("Installing {}.", p.name);
        let path = r.store.parse_user_path(&p.entry.path)?;
        // zc.buildout warns about unused options after a part's install:
        // a recipe-host part reused here is one it would update, an action
        // is warned about once it has run.
        let warn = in_phase(&format!("Building part {}", p.name), || {
            if p.recipe.hosted().is_some() {
                return realise_hosted(r, buildout, p).map_err(|f| f.doing(doing.clone()));
            }
            let references = p
                .recipe
                .distributions()
                .iter()
                .map(|d| r.store.parse_user_path(&d.path))
                .collect::<Result<Vec<_>, _>>()?;
            let (_, reused) =
                recipe::part::build_part(r.store, &path, p.recipe.as_ref(), references)
                    .map_err(|e| Failure::from(Error::from(e)).doing(doing.clone()))?;
            let verb = if reused { "Updating" } else { "Installing" };
            ctx.printer.info(&format!("{verb} {}.", p.name));
            print_notes(ctx, p, Some(r.directory));
            Ok(true)
        })?;
        if let Some(view) = &r.view {
            view.overlay(&p.entry)?;
        }
        if warn {
            warn_unused(ctx, &p.name, &buildout.unused_options(&p.name, &[]));
        }
    }
    Ok(())
}

/// The recipe host's activities as progress phases.
fn host_progress(activity: crate::recipe::host::Activity<'_>, begun: bool) {
    use crate::output::progress;
    use crate::recipe::host::Activity;
    let (key, title) = match activity {
        Activity::Start => ("host", "Starting the recipe host".to_string()),
        Activity::Install { part, update } => {
            let verb = if update { "Updating" } else { "Installing" };
            ("host part", format!("{verb} {part}"))
        }
    };
    if begun {
        progress::begin(key, &title);
    } else {
        progress::end(key);
    }
}

/// Runs `work` as a part's progress phase (`title`: what is shown).
fn in_phase<T>(title: &str, work: impl FnOnce() -> T) -> T {
    crate::output::progress::phase("part", title, work)
}

/// Realises a recipe-host part: reused when its object exists, else
/// installed in the build view and moved into the store. An action's
/// object only records it; its recipe runs after the switch. Returns
/// whether the recipe's install ran.
fn realise_hosted(
    r: &mut Realising<'_, '_>,
    buildout: &mut crate::config::Buildout<'_>,
    p: &mut Planned,
) -> Result<bool> {
    let hosted = p.recipe.hosted().expect("a recipe-host part");
    let path = r.store.parse_user_path(&p.entry.path)?;
    let store = r.store;
    let references = |h: &Hosted| -> Result<Vec<store::StorePath>> {
        Ok(h.distributions()
            .iter()
            .map(|d| store.parse_user_path(&d.path))
            .collect::<Result<Vec<_>, _>>()?)
    };
    // A part a binary cache has is downloaded, not installed.
    let installed = !hosted.action && !store.substitute(std::slice::from_ref(&path))?[0];
    if hosted.action {
        let mut refs = references(hosted)?;
        if !store.is_valid(&path)? {
            // What runs the action travels with its object: a host a
            // generation is copied to runs it from the closure alone.
            let host = r
                .session
                .working_set(&hosted.recipe.spec)
                .map_err(|e| Failure::from(Error::from(recipe::Error::Host(e))))?;
            for d in &host {
                refs.push(store.parse_user_path(&d.path)?);
            }
            hosted.set_host(host);
        }
        recipe::part::build_part(store, &path, p.recipe.as_ref(), refs)?;
    } else if !installed {
        hosted.reuse(&store.real_path(&path))?;
        r.ctx.printer.info(&format!("Updating {}.", p.name));
    } else {
        r.ctx.printer.info(&format!("Installing {}.", p.name));
        if r.view.is_none() {
            r.view = Some(view::View::open(r.profile, r.directory)?);
        }
        let view = r.view.as_mut().expect("opened");
        let old_outputs = r
            .old
            .and_then(|m| m.parts.iter().find(|o| o.name == p.name))
            .map(|o| o.outputs.clone())
            .unwrap_or_default();
        view.prepare(&p.name, &old_outputs)?;
        let returned = r.session.install(buildout, &p.name, false)?;
        hosted.add_dists(r.session.part_dists(&p.name));
        let (tree, record) = view.collect(&p.name, &hosted.recipe.spec, returned)?;
        hosted.stage(tree, record);
        recipe::part::build_part(store, &path, p.recipe.as_ref(), references(hosted)?)?;
    }
    p.entry.outputs = hosted.outputs();
    p.entry.link = if hosted.action {
        Some(PartLink::None)
    } else {
        hosted.link()
    };
    p.entry.action = hosted.action;
    p.entry.distributions = hosted.distributions();
    Ok(installed)
}

/// The manifest of the current generation, if there is one that can be
/// read. A current generation whose object is gone or damaged (deleted,
/// or unregistered by `store verify --repair`) must not leave the
/// directory stuck: it is warned about and the new generation is made
/// without it.
pub(super) fn current_manifest(
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
        lock: None,
    }
}

/// Switch: makes `generation` current (unless it already is) and says
/// which generation is current and what changed.
pub(super) fn switch(
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

/// Actions: each part's work once its generation is current. Recipe-host
/// actions follow zc.buildout's rules: the uninstall entry points of
/// actions removed or changed since the previous generation first, then
/// each action in part order, installed when new or changed, else updated.
fn actions(
    ctx: &Context,
    buildout: &mut crate::config::Buildout<'_>,
    session: &Session<'_>,
    planned: &[Planned],
    old: Option<&Manifest>,
) -> Result<()> {
    let previous = |name: &str| old.and_then(|m| m.parts.iter().find(|o| o.name == name));
    for o in old.map(|m| m.parts.as_slice()).unwrap_or_default() {
        let same = planned
            .iter()
            .any(|p| p.name == o.name && p.entry.path == o.path);
        if o.action && !same {
            let doing = format!("Uninstalling {}.", o.name);
            ctx.printer.info(&doing);
            session
                .uninstall(buildout, &o.name, &o.recipe, &o.options)
                .map_err(|e| Failure::from(Error::from(e)).doing(doing))?;
        }
    }
    for p in planned {
        if let Some(hosted) = p.recipe.hosted().filter(|h| h.action) {
            let update = previous(&p.name).is_some_and(|o| o.path == p.entry.path);
            let doing = format!(
                "{} {}.",
                if update { "Updating" } else { "Installing" },
                p.name
            );
            ctx.printer.info(&doing);
            if update && !hosted.update_does_something(&p.entry.options) {
                continue;
            }
            session
                .install(buildout, &hosted.part, update)
                .map_err(|e| Failure::from(Error::from(e)).doing(doing))?;
            if !update {
                warn_unused(ctx, &p.name, &buildout.unused_options(&p.name, &[]));
            }
            continue;
        }
        let mut say = |line: &str| ctx.printer.info(line);
        p.recipe
            .after_switch(&mut say)
            .map_err(|e| Failure::from(Error::from(e)).doing(format!("Installing {}.", p.name)))?;
    }
    Ok(())
}

/// A failed action: the generation that was current before the run is
/// switched back in (design §4), and the output says so.
fn switch_back(
    ctx: &Context,
    profile: &Profile,
    previous: Option<Generation>,
    new: &Manifest,
    old: Option<&Manifest>,
) {
    let (Some(g), Some(old)) = (previous, old) else {
        ctx.printer.warn(
            "An action failed; there is no previous generation to switch back to, so the \
             new one stays current.",
        );
        return;
    };
    match profile.switch(g, old, Some(new)) {
        Ok(moved) => {
            super::report_moved(ctx, &moved);
            ctx.printer.warn(&format!(
                "An action failed: generation {g}, current before this run, is current again."
            ));
        }
        Err(e) => ctx.printer.warn(&format!(
            "An action failed and generation {g} could not be switched back in: {e}"
        )),
    }
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
                    // zc.buildout's installer generates scripts and logs it.
                    ctx.printer
                        .log(crate::config::level::INFO, INSTALLER_LOGGER, &line);
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
