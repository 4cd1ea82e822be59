//! `buildout generations [list|diff|delete]` and `buildout rollback [N]`.

use super::{Context, Error, Result, load};
use crate::config::Purpose;
use crate::profile::manifest::{self, Manifest};
use crate::profile::{Generation, Profile, spec};
use std::path::PathBuf;

/// The buildout directory named by the configuration (or the current
/// directory when there is no configuration file).
pub(super) fn buildout_dir(ctx: &Context) -> Result<PathBuf> {
    if load::config_present(ctx) {
        let (config, _) = load::load(ctx, Purpose::Other)?;
        Ok(PathBuf::from(config.directory))
    } else {
        Ok(ctx.cwd.clone())
    }
}

fn parse_generation(text: &str) -> Result<Generation> {
    text.parse()
        .map_err(|_| Error::User(format!("invalid generation number `{text}`")).into())
}

/// `buildout generations [list|diff|delete]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GenerationsAction {
    List,
    /// Parts and options that differ between two generations (default:
    /// the current one and the one it replaced).
    Diff {
        a: Option<String>,
        b: Option<String>,
    },
    /// Generations by number, `old`, `+N` (keep the newest N) or age (`30d`).
    Delete {
        specs: Vec<String>,
    },
}

pub fn generations(ctx: &Context, action: &GenerationsAction) -> Result<()> {
    match action {
        GenerationsAction::List => list(ctx),
        GenerationsAction::Diff { a, b } => diff(ctx, a.as_deref(), b.as_deref()),
        GenerationsAction::Delete { specs } => delete(ctx, specs),
    }
}

fn list(ctx: &Context) -> Result<()> {
    let profile = Profile::open_read(&buildout_dir(ctx)?);
    let entries = profile.generations()?;
    let current = profile.current()?;
    let manifests: Vec<Option<Manifest>> = entries
        .iter()
        .map(|e| crate::profile::read_manifest(e.generation, &e.target).ok())
        .collect();
    let mut rows = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let Some(m) = &manifests[i] else {
            rows.push((
                e,
                None,
                "(manifest unreadable: its store object is missing)".to_string(),
                Vec::new(),
            ));
            continue;
        };
        // Relative to the generation it replaced; without a record (or
        // when that one is gone), to the readable one numbered before.
        let base = e
            .replaced
            .and_then(|r| entries.iter().position(|o| o.generation == r))
            .filter(|&j| manifests[j].is_some())
            .or_else(|| (0..i).rev().find(|&j| manifests[j].is_some()));
        let changes = match base {
            Some(j) => manifest::diff(manifests[j].as_ref().unwrap_or(m), m),
            None => manifest::diff(
                &Manifest {
                    parts: Vec::new(),
                    distributions: Vec::new(),
                    ..m.clone()
                },
                m,
            ),
        };
        let base = base.map(|j| entries[j].generation);
        rows.push((e, base, manifest::summary(&changes), changes));
    }
    if ctx.global.json {
        let json: Vec<serde_json::Value> = rows
            .iter()
            .map(|(e, base, summary, _)| {
                serde_json::json!({
                    "generation": e.generation.0,
                    "relative_to": base.map(|g| g.0),
                    "created": e.created,
                    "current": Some(e.generation) == current,
                    "path": e.target,
                    "summary": summary,
                })
            })
            .collect();
        ctx.printer.data(&format!(
            "{}\n",
            serde_json::to_string_pretty(&json).unwrap_or_default()
        ));
        return Ok(());
    }
    if rows.is_empty() {
        ctx.printer
            .data("this buildout has no generations yet (run `buildout install`)\n");
        return Ok(());
    }
    let mut listed_before = None;
    for (e, base, summary, changes) in rows {
        // Say so when a generation is not described relative to the one
        // listed above it (it was made after a rollback).
        let from = match base {
            Some(b) if Some(b) != listed_before => format!(" (from generation {b})"),
            _ => String::new(),
        };
        listed_before = Some(e.generation);
        let marker = if Some(e.generation) == current {
            "   (current)"
        } else {
            ""
        };
        ctx.printer.data(&format!(
            "{:>4}   {}   {summary}{from}{marker}\n",
            e.generation,
            super::store::format_time(e.created)
        ));
        // The summary is bounded; the full list is for `-v`.
        for line in manifest::describe(&changes) {
            ctx.printer.verbose(&format!("         {line}"));
        }
    }
    Ok(())
}

fn diff(ctx: &Context, a: Option<&str>, b: Option<&str>) -> Result<()> {
    let profile = Profile::open_read(&buildout_dir(ctx)?);
    let current = profile
        .current()?
        .ok_or(crate::profile::Error::NoGenerations)?;
    let b = match b {
        Some(b) => parse_generation(b)?,
        None => current,
    };
    let a = match a {
        Some(a) => parse_generation(a)?,
        None => replaced_by(&profile, b)?,
    };
    let changes = manifest::diff(&profile.manifest(a)?, &profile.manifest(b)?);
    if ctx.global.json {
        ctx.printer.data(&format!(
            "{}\n",
            serde_json::to_string_pretty(&changes).unwrap_or_default()
        ));
        return Ok(());
    }
    ctx.printer.data(&format!("generation {a} -> {b}\n"));
    if changes.is_empty() {
        ctx.printer.data("no changes\n");
    }
    for line in manifest::describe(&changes) {
        ctx.printer.data(&format!("{line}\n"));
    }
    Ok(())
}

/// The generation `g` replaced (current when it was made), if recorded and
/// still there; otherwise the one numbered before it.
fn replaced_by(profile: &Profile, g: Generation) -> Result<Generation> {
    let entries = profile.generations()?;
    let recorded = entries
        .iter()
        .find(|e| e.generation == g)
        .and_then(|e| e.replaced)
        .filter(|r| entries.iter().any(|e| e.generation == *r));
    match recorded {
        Some(r) => Ok(r),
        None => previous_of(profile, g),
    }
}

fn previous_of(profile: &Profile, g: Generation) -> Result<Generation> {
    profile
        .generations()?
        .iter()
        .rev()
        .map(|e| e.generation)
        .find(|n| *n < g)
        .ok_or_else(|| crate::profile::Error::NothingToRollBackTo(g).into())
}

fn delete(ctx: &Context, specs: &[String]) -> Result<()> {
    let spec = spec::parse(specs).map_err(crate::profile::Error::from)?;
    let dir = buildout_dir(ctx)?;
    let profile = super::lock_profile(ctx, &dir)?;
    let entries = profile.generations()?;
    let all: Vec<(Generation, i64)> = entries.iter().map(|e| (e.generation, e.created)).collect();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0));
    let current = profile.current()?;
    if let spec::DeleteSpec::Numbers(numbers) = &spec {
        for n in numbers {
            if !all.iter().any(|(g, _)| g == n) {
                return Err(crate::profile::Error::NoSuchGeneration(*n).into());
            }
            if Some(*n) == current {
                return Err(Error::User(format!(
                    "generation {n} is current and cannot be deleted (roll back or install first)"
                ))
                .into());
            }
        }
    }
    let chosen = spec::select(&spec, &all, current, now);
    profile.delete(&chosen)?;
    if chosen.is_empty() {
        ctx.printer.info("No generation deleted.");
    } else {
        let list: Vec<String> = chosen.iter().map(ToString::to_string).collect();
        ctx.printer.info(&format!(
            "Deleted generation{} {}; `buildout gc` frees what only they used.",
            if chosen.len() == 1 { "" } else { "s" },
            list.join(", ")
        ));
    }
    Ok(())
}

/// `buildout rollback [N]`: switch to generation `N` (default: the one
/// before the current).
pub fn rollback(ctx: &Context, generation: Option<&str>) -> Result<()> {
    let dir = buildout_dir(ctx)?;
    let profile = super::lock_profile(ctx, &dir)?;
    let current = profile
        .current()?
        .ok_or(crate::profile::Error::NoGenerations)?;
    let target = match generation {
        Some(n) => parse_generation(n)?,
        None => previous_of(&profile, current)?,
    };
    let new = profile.manifest(target)?;
    let old = profile.manifest(current).ok();
    let moved = profile.switch(target, &new, old.as_ref())?;
    super::report_moved(ctx, &moved);
    ctx.printer.info(&format!(
        "Switched from generation {current} to generation {target}."
    ));
    Ok(())
}
