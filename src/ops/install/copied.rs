//! A generation made on another machine, activated here (`buildout copy
//! --to … --activate DIR` on the host side, [`super::super::deploy`]):
//! switched to as [`super::switch`] switches, then its actions run as a
//! local install runs them ([`super::actions`]: the same order, the same
//! "options changed" rule against the generation that was current here,
//! a failing one switches that generation back in).
//!
//! Nothing is resolved or built here: the recipe host runs from the
//! generation's closure alone. Each action's object records the working
//! set its recipe ran with ([`crate::recipe::hosted::Record::host`]) and
//! references it, so it was copied along; the recipes are constructed
//! again in the host from the generation's configuration snapshot (the
//! other parts' sections get the options their manifest entries record,
//! so substitutions see what their constructors computed on the build
//! machine). Extensions are not loaded again. Activating the generation
//! that is already current changes nothing and runs no action.

use super::{Context, Error, Failure, Planned, Result};
use crate::config::Buildout;
use crate::config::sections::Hook;
use crate::profile::Profile;
use crate::profile::manifest::{DistEntry, Manifest};
use crate::recipe::host::{LogRecord, Session, Settings as HostSettings};
use crate::recipe::hosted::{Hosted, Record};
use crate::store::{Store, StorePath};
use std::cell::RefCell;
use std::path::Path;
use std::rc::Rc;

/// Makes `generation` (whose manifest is `manifest`, made for this
/// profile's buildout directory) current and runs its actions; a failing
/// action switches the previous generation back in and is the error.
/// The generation current already: nothing changes, no action runs.
pub(in crate::ops) fn activate(
    ctx: &Context,
    store: &Store,
    profile: &Profile,
    generation: &StorePath,
    manifest: &Manifest,
) -> Result<()> {
    let current = profile.current()?;
    let target = generation.to_absolute(store.dir_str());
    if let Some(g) = current
        && profile.entry(g)?.target == Path::new(&target)
    {
        ctx.printer.info(&format!(
            "Generation {g} is current already: nothing is switched and no action runs."
        ));
        return Ok(());
    }
    let old = super::current_manifest(ctx, profile, current)?;
    // What runs the actions is read before the switch: a generation whose
    // actions cannot run here is refused with the current one untouched.
    let pool = working_sets(store, manifest, old.as_ref())?;
    super::switch(
        ctx,
        store,
        profile,
        current,
        generation,
        manifest,
        old.as_ref(),
    )?;
    let any = has_actions(manifest) || old.as_ref().is_some_and(has_actions);
    if any && let Err(failure) = run_actions(ctx, manifest, old.as_ref(), pool) {
        super::switch_back(ctx, profile, current, manifest, old.as_ref());
        let back = current.is_some() && old.is_some();
        return Err(explain(failure, manifest, old.as_ref(), back));
    }
    Ok(())
}

fn has_actions(m: &Manifest) -> bool {
    m.parts.iter().any(|p| p.action)
}

/// The distributions the actions of `manifest` (and the uninstallers of
/// the previous generation's actions) run with: each action object's
/// recorded host working set and its part's working sets, one per name
/// (the new generation's first, as a local run would load its recipes).
fn working_sets(
    store: &Store,
    manifest: &Manifest,
    old: Option<&Manifest>,
) -> Result<Vec<DistEntry>> {
    let mut pool: Vec<DistEntry> = Vec::new();
    let mut add = |d: &DistEntry| {
        let key = crate::python::marker::canonicalize_name(&d.name);
        if !pool
            .iter()
            .any(|p| crate::python::marker::canonicalize_name(&p.name) == key)
        {
            pool.push(d.clone());
        }
    };
    for part in manifest.parts.iter().filter(|p| p.action) {
        let object = store.real_path(&store.parse_user_path(&part.path)?);
        let record = Record::read(&object).map_err(Error::from)?;
        if record.host.is_empty() {
            return Err(Error::User(format!(
                "the action part {} ({}) does not record the distributions its recipe runs \
                 with (its object {} was made by an older buildout): remove that object from \
                 the build machine's store, install there again and copy the new generation",
                part.name,
                part.recipe,
                object.display()
            ))
            .into());
        }
        record
            .host
            .iter()
            .chain(&part.distributions)
            .for_each(&mut add);
    }
    // The uninstallers of the previous generation's actions: best effort,
    // a missing distribution is named when its uninstaller is looked up.
    for part in old.map(|m| m.parts.as_slice()).unwrap_or_default() {
        if !part.action {
            continue;
        }
        let Ok(path) = store.parse_user_path(&part.path) else {
            continue;
        };
        if let Ok(record) = Record::read(&store.real_path(&path)) {
            record
                .host
                .iter()
                .chain(&part.distributions)
                .for_each(&mut add);
        }
    }
    Ok(pool)
}

/// The recipe host's distributions on a host: the copied working sets,
/// never an index.
struct Copied {
    pool: Vec<DistEntry>,
}

impl crate::recipe::Services for Copied {
    fn distributions(
        &mut self,
        request: &crate::recipe::DistRequest<'_>,
    ) -> crate::recipe::Result<Vec<DistEntry>> {
        for r in request.requirements {
            let name = crate::python::marker::canonicalize_name(r.name.as_str());
            if !self
                .pool
                .iter()
                .any(|d| crate::python::marker::canonicalize_name(&d.name) == name)
            {
                return Err(crate::recipe::Error::Distributions(format!(
                    "{r} is not among the distributions copied with the generation (only \
                     what its actions ran with on the build machine is)"
                )));
            }
        }
        Ok(self.pool.clone())
    }
}

/// Constructs the recipes of the actions in the recipe host; every other
/// part's section gets the options its manifest entry records.
struct ActionsHook<'m, 's> {
    session: Rc<Session<'s>>,
    manifest: &'m Manifest,
}

impl Hook for ActionsHook<'_, '_> {
    fn construct(&self, b: &mut Buildout<'_>, part: &str) -> crate::config::Result<()> {
        match self.manifest.parts.iter().find(|p| p.name == part) {
            Some(entry) if !entry.action => {
                for (k, v) in &entry.options {
                    b.set(part, k, v.clone());
                }
                Ok(())
            }
            _ => self.session.construct(b, part),
        }
    }
}

fn run_actions(
    ctx: &Context,
    manifest: &Manifest,
    old: Option<&Manifest>,
    pool: Vec<DistEntry>,
) -> Result<()> {
    // Declared before the configuration that holds the session.
    let services = RefCell::new(Copied { pool });
    let log = |record: &LogRecord| super::print_log(ctx, record);
    let events = |activity: crate::recipe::host::Activity<'_>, begun: bool| {
        super::host_progress(activity, begun);
    };
    let mut buildout = Buildout::new(manifest.config.clone());
    let settings = HostSettings {
        directory: manifest.buildout_directory.clone(),
        python: buildout.require("buildout", "executable")?,
        argv: super::host_argv(),
        log_level: i64::from(crate::config::level::INFO),
        // Nothing is fetched on a host.
        offline: true,
        newest: false,
    };
    let session = Rc::new(Session::new(settings, &services, &log).with_events(&events));
    buildout.set_hook(Rc::new(ActionsHook {
        session: session.clone(),
        manifest,
    }));
    let mut planned = Vec::new();
    for entry in manifest.parts.iter().filter(|p| p.action) {
        let doing = format!("Installing {}.", entry.name);
        buildout
            .section(&entry.name)
            .map_err(|e| Failure::from(Error::from(e)).doing(doing.clone()))?;
        let constructed = session.recipe(&entry.name).ok_or_else(|| {
            Failure::from(Error::User(format!(
                "the recipe {} of the action part {} did not run in the recipe host",
                entry.recipe, entry.name
            )))
        })?;
        let action = entry.options.get("buildout-action").map(String::as_str);
        let hosted = Hosted::new(
            &entry.name,
            constructed,
            action,
            entry.distributions.clone(),
        );
        planned.push(Planned {
            name: entry.name.clone(),
            recipe: Box::new(hosted),
            entry: entry.clone(),
        });
    }
    super::actions(ctx, &mut buildout, &session, &planned, old)
}

/// A failed action as the error `copy` relays: which part, its recipe,
/// what it said, and that the previous generation is current again.
fn explain(failure: Failure, manifest: &Manifest, old: Option<&Manifest>, back: bool) -> Failure {
    let part = failure.doing.iter().find_map(|line| {
        ["Installing ", "Updating ", "Uninstalling "]
            .iter()
            .find_map(|verb| line.strip_prefix(verb))
            .map(|rest| rest.trim_end_matches('.'))
    });
    let Some(part) = part else {
        return failure;
    };
    let recipe = manifest
        .parts
        .iter()
        .chain(old.map(|m| m.parts.as_slice()).unwrap_or_default())
        .find(|p| p.name == part)
        .map(|p| p.recipe.clone())
        .unwrap_or_default();
    let message = format!(
        "the action of part {part} (recipe {recipe}) failed, so {}: {}",
        if back {
            "the generation current before is current again"
        } else {
            "the new generation stays current (there was none before it)"
        },
        failure.error
    );
    Failure {
        error: Box::new(Error::User(message)),
        ..failure
    }
}
