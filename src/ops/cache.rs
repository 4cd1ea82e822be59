//! Binary caches from the user's side: `buildout key generate|public`,
//! `buildout push`, `buildout cache gc`, `buildout store export|import`,
//! the `[buildout]` options that configure substitution
//! and trust ([`CacheSettings`]: `substituters`, `trusted-public-keys`,
//! `require-sigs`, `secret-key-files`) and `store verify
//! --check-signatures`. Secret keys are read from their files and never
//! printed; cache URLs are shown without credentials.

use super::{Context, Error, Result, load};
use crate::build::cache::{self, Client};
use crate::config::Purpose;
use crate::store::sign::{PublicKey, SecretKey};
use crate::store::{Store, StorePath, Trust};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use crate::build::cache::Compression;

/// The `[buildout]` options of binary caches.
#[derive(Debug, Default)]
pub struct CacheSettings {
    /// URLs, in priority order.
    pub substituters: Vec<String>,
    pub trust: Trust,
    /// The keys of `secret-key-files` (their public halves are trusted).
    pub secret_keys: Vec<SecretKey>,
}

/// Reads a secret key file; the error names the file, never its text.
fn read_secret(path: &Path) -> Result<SecretKey> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        what: format!("cannot read the secret key file {}", path.display()),
        source,
    })?;
    Ok(SecretKey::parse(&text)
        .map_err(|e| Error::User(format!("the secret key file {}: {e}", path.display())))?)
}

impl CacheSettings {
    /// Reads the options from a loaded configuration.
    pub fn read(buildout: &mut crate::config::Buildout<'_>, directory: &str) -> Result<Self> {
        let mut get = |o: &str| -> Result<String> {
            Ok(buildout.get("buildout", o, None)?.unwrap_or_default())
        };
        // Offline (`-o`), only caches in directories are asked.
        let offline = get("offline")?.trim() == "true";
        let substituters = get("substituters")?
            .split_whitespace()
            .filter(|u| !offline || u.starts_with("file://"))
            .map(String::from)
            .collect();
        let mut keys = get("trusted-public-keys")?
            .split_whitespace()
            .map(|k| {
                PublicKey::parse(k)
                    .map_err(|e| Error::User(format!("[buildout] trusted-public-keys: {e}")))
            })
            .collect::<std::result::Result<Vec<_>, Error>>()?;
        let require_sigs = match get("require-sigs")?.trim() {
            "" | "true" => true,
            "false" => false,
            other => {
                return Err(
                    Error::User(format!("Invalid value for require-sigs option: {other}")).into(),
                );
            }
        };
        let mut secret_keys = Vec::new();
        for f in get("secret-key-files")?.split_whitespace() {
            let path =
                crate::config::pystr::abspath(&crate::config::pystr::expanduser(f), directory);
            let k = read_secret(Path::new(&path))?;
            keys.push(k.public());
            secret_keys.push(k);
        }
        Ok(Self {
            substituters,
            trust: Trust { require_sigs, keys },
            secret_keys,
        })
    }

    /// The settings of the configuration in the current directory (none
    /// when there is no configuration file).
    pub fn of_context(ctx: &Context) -> Result<Self> {
        if !load::config_present(ctx) {
            return Ok(Self {
                trust: Trust {
                    require_sigs: true,
                    keys: Vec::new(),
                },
                ..Self::default()
            });
        }
        let (mut config, _) = load::load(ctx, Purpose::Other)?;
        let directory = config.directory.clone();
        Self::read(&mut config.buildout, &directory)
    }

    /// Makes `store` substitute from the configured caches (nothing when
    /// there are none); failures are warnings.
    pub fn attach(self, ctx: &Context, store: &Store) -> Result<()> {
        if self.substituters.is_empty() {
            return Ok(());
        }
        let printer = ctx.printer;
        let client = Client::new(
            &self.substituters,
            store.dir_str(),
            self.trust,
            Box::new(move |m: &str| printer.warn(m)),
            Box::new(move |m: &str| printer.info(m)),
        )?;
        store.set_substituter(Arc::new(client));
        Ok(())
    }
}

/// `buildout key generate NAME [--secret-file F]`.
pub fn key_generate(ctx: &Context, name: &str, secret_file: Option<&Path>) -> Result<()> {
    let key = SecretKey::generate(name).map_err(|e| Error::User(format!("key `{name}`: {e}")))?;
    let path = match secret_file {
        Some(p) => ctx.cwd.join(p),
        None => {
            let home = crate::config::load::user_config_path(&ctx.cwd.to_string_lossy());
            let dir = Path::new(&home)
                .parent()
                .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
                .join("keys");
            crate::fs::create_dir_all(&dir).map_err(|source| Error::Io {
                what: format!("cannot create {}", dir.display()),
                source,
            })?;
            dir.join(format!("{name}.secret"))
        }
    };
    write_secret(&path, &key)?;
    ctx.printer
        .info(&format!("Wrote the secret key to {}", path.display()));
    ctx.printer.data(&format!("{}\n", key.public()));
    Ok(())
}

/// Writes the key file: mode 0600 from its creation, never over an
/// existing file.
fn write_secret(path: &Path, key: &SecretKey) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let fail = |source| Error::Io {
        what: format!("cannot write the secret key file {}", path.display()),
        source,
    };
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(fail)?;
    f.write_all(key.to_file_text().as_bytes()).map_err(fail)?;
    Ok(f.sync_all().map_err(fail)?)
}

/// `buildout key public [SECRET-FILE]` (standard input by default).
pub fn key_public(ctx: &Context, secret_file: Option<&Path>) -> Result<()> {
    let key = match secret_file {
        Some(p) => read_secret(&ctx.cwd.join(p))?,
        None => {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut text).map_err(|source| {
                Error::Io {
                    what: "cannot read the secret key from standard input".into(),
                    source,
                }
            })?;
            SecretKey::parse(&text).map_err(|e| Error::User(format!("standard input: {e}")))?
        }
    };
    ctx.printer.data(&format!("{}\n", key.public()));
    Ok(())
}

/// What `buildout push` was asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushOptions {
    pub cache: String,
    pub what: Vec<String>,
    pub secret_key_files: Vec<PathBuf>,
    pub compression: Compression,
    /// `--pin NAME`.
    pub pin: Option<String>,
}

/// The objects `what` names: generation numbers of the buildout directory
/// or store paths; by default its current generation.
pub(super) fn push_roots(ctx: &Context, store: &Store, what: &[String]) -> Result<Vec<StorePath>> {
    let dir = super::generations::buildout_dir(ctx)?;
    let profile = crate::profile::Profile::open_read(&dir);
    let generation = |g: crate::profile::Generation| -> Result<StorePath> {
        let e = profile.entry(g)?;
        Ok(store.parse_user_path(&e.target.to_string_lossy())?)
    };
    if what.is_empty() {
        let current = profile.current()?.ok_or_else(|| {
            Error::User(format!(
                "{} has no current generation to push: run `buildout` first, or name store paths",
                dir.display()
            ))
        })?;
        return Ok(vec![generation(current)?]);
    }
    what.iter()
        .map(|w| match w.parse::<crate::profile::Generation>() {
            Ok(g) => generation(g),
            Err(_) => Ok(store.parse_user_path(w)?),
        })
        .collect()
}

/// `buildout push CACHE [GENERATION|PATH...]`.
pub fn push(ctx: &Context, args: &PushOptions) -> Result<()> {
    let store = super::gc::open_store(ctx)?;
    let settings = CacheSettings::of_context(ctx)?;
    let mut keys = settings.secret_keys;
    for f in &args.secret_key_files {
        keys.push(read_secret(&ctx.cwd.join(f))?);
    }
    if keys.is_empty() {
        ctx.printer.warn(
            "pushing unsigned narinfos: hosts with require-sigs (the default) will not use \
             them (set [buildout] secret-key-files or --secret-key-file)",
        );
    }
    let roots = push_roots(ctx, &store, &args.what)?;
    let printer = ctx.printer;
    let report = crate::output::progress::phase("push", "Pushing", || {
        cache::push(
            &store,
            &args.cache,
            &roots,
            &keys,
            args.compression,
            args.pin.as_deref(),
            &mut |p| printer.verbose(&format!("pushed {p}")),
        )
    })?;
    ctx.printer.info(&format!(
        "Pushed {} of {} object(s) ({}) to {}; {} already there.",
        report.uploaded,
        report.closure,
        crate::store::format_size(report.bytes),
        crate::index::redact(&args.cache),
        report.present
    ));
    Ok(())
}

/// `store verify --check-signatures`: prints each object without a
/// trusted signature; returns how many.
pub fn check_signatures(ctx: &Context, store: &Store) -> Result<usize> {
    let settings = CacheSettings::of_context(ctx)?;
    let bad = store.check_signatures(&settings.trust.keys)?;
    for (p, why) in &bad {
        ctx.printer
            .warn(&format!("{} {why}", store.real_path(p).display()));
    }
    Ok(bad.len())
}

/// `buildout store export [GENERATION|PATH...] > file`: prints nothing
/// else on standard output.
pub fn export(ctx: &Context, store: &Store, what: &[String]) -> Result<()> {
    let roots = push_roots(ctx, store, what)?;
    let keys = CacheSettings::of_context(ctx)?.secret_keys;
    let mut result = Ok(0);
    ctx.printer
        .binary(|out| {
            result = cache::export::export(store, &roots, &keys, out);
            Ok(())
        })
        .map_err(|source| Error::Io {
            what: "cannot write the export to standard output".into(),
            source,
        })?;
    result?;
    Ok(())
}

/// `buildout store import < file`.
pub fn import(ctx: &Context, store: &Store) -> Result<()> {
    let settings = CacheSettings::of_context(ctx)?;
    let mut stdin = std::io::stdin().lock();
    let report = cache::export::import(store, &mut stdin, settings.trust)?;
    ctx.printer.info(&format!(
        "Imported {} object(s); {} already there.",
        report.objects - report.present,
        report.present
    ));
    Ok(())
}

/// `buildout cache gc CACHE [--keep AGE] [--dry-run]`.
pub fn cache_gc(ctx: &Context, url: &str, keep: &str, dry_run: bool) -> Result<()> {
    let keep = cache::gc::parse_keep(keep).ok_or_else(|| {
        Error::User(format!(
            "invalid --keep `{keep}`: expected a number of days, or with a unit (90d, 12h, 30m, 0)"
        ))
    })?;
    let report = cache::gc::gc(url, keep, dry_run)?;
    let verb = if dry_run { "Would delete" } else { "Deleted" };
    for h in &report.narinfos {
        ctx.printer.verbose(&format!("{verb} {h}.narinfo"));
    }
    for n in &report.nars {
        ctx.printer.verbose(&format!("{verb} {n}"));
    }
    ctx.printer.info(&format!(
        "{verb} {} narinfo(s) and {} NAR file(s) ({}); kept {} object(s).",
        report.narinfos.len(),
        report.nars.len(),
        crate::store::format_size(report.bytes),
        report.kept
    ));
    Ok(())
}
