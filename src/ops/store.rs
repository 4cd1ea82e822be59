//! `buildout store verify|info|ls|why|optimise` and the hidden debug
//! commands that add objects before recipes exist.

use super::gc::open_store;
use super::{Context, Error, Result};
use crate::store::{self, Address, Kind, NewObject, ObjectInfo, RootSource, Store, StorePath};
use std::path::{Path, PathBuf};

/// `buildout store ...`: what to do with the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreAction {
    /// Check the registry against the disk (and contents against their
    /// hashes); repair what can be proved.
    Verify {
        check_contents: bool,
        /// `--check-signatures`: against `trusted-public-keys`.
        check_signatures: bool,
        repair: bool,
    },
    Info {
        path: String,
    },
    Ls,
    Why {
        path: String,
    },
    Optimise,
    /// `store export [GENERATION|PATH...]`: a closure to standard output.
    Export {
        what: Vec<String>,
    },
    /// `store import`: a closure from standard input.
    Import,
    /// `store serve --stdio`: the host side of `copy --to`.
    Serve,
    DebugAdd(Box<DebugAdd>),
    DebugUnpin {
        name: String,
    },
    DebugIndirectRoot {
        link: PathBuf,
    },
    DebugPopulate {
        count: usize,
        root_every: usize,
    },
}

/// The hidden `store debug-add`: adds an object by hand, as recipes will.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DebugAdd {
    pub name: String,
    pub file: Option<PathBuf>,
    pub dir: Option<PathBuf>,
    pub text: Option<String>,
    pub refs: Vec<String>,
    pub root: Option<String>,
    pub build_delay_ms: Option<u64>,
}

pub fn store(ctx: &Context, action: StoreAction) -> Result<()> {
    let store = open_store(ctx)?;
    match action {
        StoreAction::Verify {
            check_contents,
            check_signatures,
            repair,
        } => {
            let unsigned = if check_signatures {
                super::cache::check_signatures(ctx, &store)?
            } else {
                0
            };
            let verified = verify(ctx, &store, check_contents, repair);
            if unsigned > 0 && verified.is_ok() {
                return Err(store::Error::VerifyFailed(unsigned).into());
            }
            verified
        }
        StoreAction::Info { path } => info(ctx, &store, &path),
        StoreAction::Ls => ls(ctx, &store),
        StoreAction::Why { path } => why(ctx, &store, &path),
        StoreAction::Optimise => {
            let r = store.optimise()?;
            ctx.printer.info(&format!(
                "deduplicated {} file(s), saved {}",
                r.files_linked,
                store::format_size(r.bytes_saved)
            ));
            Ok(())
        }
        StoreAction::Export { what } => super::cache::export(ctx, &store, &what),
        StoreAction::Import => super::cache::import(ctx, &store),
        StoreAction::Serve => super::deploy::serve(ctx, &store),
        StoreAction::DebugAdd(args) => debug_add(ctx, &store, &args),
        StoreAction::DebugUnpin { name } => {
            if !store.remove_pin(&name)? {
                ctx.printer.warn(&format!("no pin named `{name}`"));
            }
            Ok(())
        }
        StoreAction::DebugIndirectRoot { link } => Ok(store.add_indirect_root(&link)?),
        StoreAction::DebugPopulate { count, root_every } => {
            let t = std::time::Instant::now();
            let made = store.debug_populate(count, root_every)?;
            ctx.printer.info(&format!(
                "added {} objects in {:.1} s",
                made.len(),
                t.elapsed().as_secs_f64()
            ));
            Ok(())
        }
    }
}

fn verify(ctx: &Context, store: &Store, check_contents: bool, repair: bool) -> Result<()> {
    // Distributions are fetched again from their origin (credentials from
    // ~/.netrc) and reinstalled; parts are rebuilt from the inputs a
    // generation manifest records, generations from their own manifest.
    let client = crate::index::Client::new(crate::index::Options {
        index_url: None,
        offline: ctx
            .global
            .assignments
            .iter()
            .any(|a| a.section == "buildout" && a.option == "offline" && a.value == "true"),
        cache_dir: crate::index::default_cache_dir(),
        ..Default::default()
    })?;
    let rebuild = |obj: &store::ObjectInfo| match obj.kind {
        store::Kind::Dist => crate::build::dists::rebuild_dist(store, &client, obj).map(Some),
        store::Kind::Part => crate::recipe::part::rebuild_part(store, obj).map(Some),
        // A missing generation has no manifest left: it is unregistered,
        // and the next run makes a new one.
        store::Kind::Generation if !store.real_path(&obj.path).exists() => Ok(None),
        store::Kind::Generation => crate::build::rebuild_generation(store, obj).map(Some),
        _ => Ok(None),
    };
    let prove = |p: &store::StorePath, real: &Path| crate::build::prove_generation(store, p, real);
    let report = crate::output::progress::phase("verify", "Verifying the store", || {
        store.verify_with(
            store::VerifyOptions {
                check_contents,
                repair,
            },
            repair.then_some(&rebuild as store::Rebuild<'_>),
            repair.then_some(&prove as store::recover::Prove<'_>),
            &|what, done, total| {
                crate::output::progress::count("verify", "objects", what, done, total);
            },
        )
    })?;
    let p = &ctx.printer;
    for f in &report.findings {
        let label = if f.problem { "problem" } else { "note" };
        p.warn(&format!("{label}: {}: {}", f.path, f.message));
        match &f.repair {
            Some(Ok(done)) => p.warn(&format!("  repaired: {done}")),
            Some(Err(why)) => p.warn(&format!("  {why}")),
            None if f.problem => {}
            None => {}
        }
    }
    let unrepaired = report.unrepaired();
    if report.unregistered > 0 {
        p.warn(&format!(
            "{} object(s) in `{}` are not registered in the store database",
            report.unregistered,
            store.dir().display()
        ));
    }
    let what = if check_contents || repair {
        "checked the contents of"
    } else {
        "checked"
    };
    if unrepaired > 0 {
        if !repair {
            p.warn("hint: `buildout store verify --check-contents --repair` repairs what it can");
        }
        return Err(store::Error::VerifyFailed(unrepaired).into());
    }
    p.info(&format!(
        "{what} {} store object(s): no problems",
        report.objects
    ));
    Ok(())
}

fn nar_hash(info: &ObjectInfo) -> String {
    format!("sha256:{}", store::path::nix32_encode(&info.nar_sha256))
}

fn json_of(store: &Store, info: &ObjectInfo) -> serde_json::Value {
    serde_json::json!({
        "path": store.real_path(&info.path).display().to_string(),
        "kind": info.kind.as_str(),
        "nar_hash": nar_hash(info),
        "nar_size": info.nar_size,
        "registered_at": info.registered_at,
        "ca": info.ca,
        "deriver": info.deriver,
        "origin": info.origin.as_deref().map(crate::index::redact),
        "references": info.references.iter()
            .map(|r| store.real_path(r).display().to_string()).collect::<Vec<_>>(),
    })
}

fn ls(ctx: &Context, store: &Store) -> Result<()> {
    let objects = store.list()?;
    if ctx.global.json {
        let all: Vec<_> = objects.iter().map(|o| json_of(store, o)).collect();
        ctx.printer
            .data(&format!("{}\n", serde_json::Value::Array(all)));
        return Ok(());
    }
    if objects.is_empty() {
        ctx.printer.info(&format!(
            "the store `{}` has no objects",
            store.dir().display()
        ));
        return Ok(());
    }
    let width = objects
        .iter()
        .map(|o| o.kind.as_str().len())
        .max()
        .unwrap_or(0);
    for o in &objects {
        ctx.printer.data(&format!(
            "{:<width$}  {:>10}  {}\n",
            o.kind.as_str(),
            store::format_size(o.nar_size),
            store.real_path(&o.path).display()
        ));
    }
    Ok(())
}

fn info(ctx: &Context, store: &Store, text: &str) -> Result<()> {
    let path = store.parse_user_path(text)?;
    let info = store.info(&path)?;
    let referrers = store.referrers(&path)?;
    if ctx.global.json {
        let mut v = json_of(store, &info);
        v["referrers"] = referrers
            .iter()
            .map(|r| store.real_path(r).display().to_string())
            .collect();
        ctx.printer.data(&format!("{v:#}\n"));
        return Ok(());
    }
    let list = |paths: &[StorePath]| {
        if paths.is_empty() {
            "none".to_string()
        } else {
            paths
                .iter()
                .map(|r| store.real_path(r).display().to_string())
                .collect::<Vec<_>>()
                .join("\n             ")
        }
    };
    let mut out = String::new();
    out += &format!("path:        {}\n", store.real_path(&path).display());
    out += &format!("kind:        {}\n", info.kind.as_str());
    out += &format!("nar hash:    {}\n", nar_hash(&info));
    out += &format!(
        "nar size:    {} ({} bytes)\n",
        store::format_size(info.nar_size),
        info.nar_size
    );
    out += &format!("registered:  {}\n", format_time(info.registered_at));
    if let Some(ca) = &info.ca {
        out += &format!("ca:          {ca}\n");
    }
    out += &format!(
        "deriver:     {}\n",
        info.deriver
            .as_deref()
            .unwrap_or("none recorded (cannot be rebuilt)")
    );
    if let Some(origin) = &info.origin {
        out += &format!("origin:      {}\n", crate::index::redact(origin));
    }
    out += &format!("references:  {}\n", list(&info.references));
    out += &format!("referrers:   {}\n", list(&referrers));
    ctx.printer.data(&out);
    Ok(())
}

fn why(ctx: &Context, store: &Store, text: &str) -> Result<()> {
    let path = store.parse_user_path(text)?;
    let shown = store.real_path(&path).display().to_string();
    match store.why(&path)? {
        store::Why::Unreachable => ctx.printer.data(&format!(
            "{shown} is not reachable from any root: the next `buildout gc` deletes it\n"
        )),
        store::Why::InUse => ctx.printer.data(&format!(
            "{shown} is in use by a running buildout process (a temporary root)\n"
        )),
        store::Why::Root { source, chain } => {
            let from = match &source {
                RootSource::Pin(name) => format!("pin `{name}`"),
                RootSource::Indirect(link) => format!("root `{}`", link.display()),
            };
            let mut out = format!("{shown} is alive, reachable from {from}:\n  {from}\n");
            for p in chain {
                out += &format!("  -> {}\n", store.real_path(&p).display());
            }
            ctx.printer.data(&out);
        }
    }
    Ok(())
}

/// What `debug-add` copies into the store.
struct Source<'a> {
    file: Option<&'a Path>,
    dir: Option<&'a Path>,
    text: Option<&'a str>,
}

fn debug_add(ctx: &Context, store: &Store, args: &DebugAdd) -> Result<()> {
    let name = args.name.as_str();
    let src = Source {
        file: args.file.as_deref(),
        dir: args.dir.as_deref(),
        text: args.text.as_deref(),
    };
    let (refs, root, delay) = (&args.refs, args.root.as_deref(), args.build_delay_ms);
    let references = refs
        .iter()
        .map(|r| store.parse_user_path(r))
        .collect::<store::Result<Vec<_>>>()?;
    let flat: Option<Vec<u8>> = match (&src.file, &src.text) {
        (Some(f), _) => Some(std::fs::read(f).map_err(|source| Error::Io {
            what: format!("cannot read `{}`", f.display()),
            source,
        })?),
        (None, Some(t)) => Some(t.as_bytes().to_vec()),
        _ => None,
    };
    let address = match &flat {
        // A flat file without references: a fixed output whose address is
        // known before "building", like a download with a known hash.
        Some(bytes) if references.is_empty() && src.dir.is_none() => {
            let digest = store::path::sha256(bytes);
            Address::Known(
                store::path::fixed_path(name, "sha256", &digest, false, store.dir_str())
                    .map_err(store::Error::from)?,
            )
        }
        _ => Address::Content {
            name: name.to_string(),
        },
    };
    let ca = match (&address, &flat) {
        (Address::Known(_), Some(bytes)) => Some(format!(
            "fixed:sha256:{}",
            store::path::nix32_encode(&store::path::sha256(bytes))
        )),
        _ => Some("source".to_string()),
    };
    let obj = NewObject {
        address,
        kind: Kind::Source,
        references,
        deriver: None,
        origin: None,
        ca,
        signatures: Vec::new(),
    };
    let added = store.add(&obj, |out| {
        if let Some(ms) = delay {
            std::thread::sleep(std::time::Duration::from_millis(ms));
        }
        if let Some(dir) = src.dir {
            copy_tree(dir, out)
        } else if let Some(bytes) = &flat {
            let exec = src
                .file
                .and_then(|f| std::fs::metadata(f).ok())
                .is_some_and(|m| {
                    std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o100 != 0
                });
            std::fs::write(out, bytes).map_err(store::fsutil::err("write", out))?;
            if exec {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(out, std::fs::Permissions::from_mode(0o755))
                    .map_err(store::fsutil::err("change the mode of", out))?;
            }
            Ok(())
        } else {
            Err(store::Error::Build(
                "debug-add needs --file, --dir or --text".into(),
            ))
        }
    })?;
    if let Some(name) = root {
        store.add_pin(name, &added.path)?;
    }
    let verb = if added.reused { "reused" } else { "added" };
    ctx.printer.data(&format!(
        "{verb} {}\n",
        store.real_path(&added.path).display()
    ));
    Ok(())
}

fn copy_tree(from: &Path, to: &Path) -> store::Result<()> {
    crate::fs::copy_tree(from, to).map_err(store::fsutil::err("copy", from))
}

/// `YYYY-MM-DD HH:MM:SS UTC` from unix seconds (civil-from-days).
pub(super) fn format_time(secs: i64) -> String {
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = crate::fs::civil_from_days(secs.div_euclid(86_400));
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn format_time_is_utc_civil_time() {
        assert_eq!(super::format_time(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(super::format_time(1_764_072_000), "2025-11-25 12:00:00 UTC");
    }
}
