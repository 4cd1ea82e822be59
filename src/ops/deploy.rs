//! Deploying a generation to a host: `buildout copy --to ssh://…` and,
//! on the host, `buildout store serve --stdio`.
//!
//! The two talk a line protocol over the ssh channel (`$BUILDOUT_SSH`
//! replaces `ssh`, called as `GIT_SSH` is: `[-p PORT] -- [USER@]HOST
//! COMMAND`). The host starts with `buildout-serve-1` and `store DIR`;
//! a sender whose store directory differs stops there, before anything is
//! sent (store paths hash the store directory). Then, each answered by
//! `ok …` or `error MESSAGE`:
//!
//! * `missing N` and N store paths: the host answers `missing K` and the K
//!   paths it does not have;
//! * `import` and an export stream ([`crate::build::cache::export`]) of
//!   those paths, references first: imported with the checks of `store
//!   import` (trusted signature per the host's `require-sigs` and
//!   `trusted-public-keys`, NAR hash and size, references first); the
//!   stream is read whole before anything is registered, so a broken
//!   stream registers nothing;
//! * `activate`, the buildout directory and the generation's store path:
//!   recorded as the next generation of that directory, switched to
//!   atomically and its actions run, as `install` does
//!   ([`super::install::activate_copied`]); a failing action switches the
//!   previous generation back in and is the answer's error (its part,
//!   recipe and message). The generation current already: nothing done.
//!
//! Everything the host prints goes to its standard error (the sender's
//! terminal), never into the channel: the channel is taken off standard
//! input and output, which programs started there (recipes, the commands
//! actions run) get as `/dev/null` and standard error.

use super::{Context, Error, Result};
use crate::build::cache;
use crate::store::Store;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};

const HELLO: &str = "buildout-serve-1";
/// Longest protocol line accepted.
const MAX_LINE: u64 = 64 * 1024;
/// Most paths one `missing` request may name.
const MAX_PATHS: usize = 1_000_000;

fn user(message: impl Into<String>) -> super::Failure {
    Error::User(message.into()).into()
}

fn channel(what: &str) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        what: format!("cannot {what}"),
        source,
    }
}

/// One line without its newline; `None` at the end of the input.
fn read_line(inp: &mut dyn BufRead) -> Result<Option<String>> {
    let mut buf = Vec::new();
    inp.take(MAX_LINE)
        .read_until(b'\n', &mut buf)
        .map_err(channel("read the ssh channel"))?;
    if buf.is_empty() {
        return Ok(None);
    }
    if buf.pop() != Some(b'\n') {
        return Err(user("invalid copy protocol: a line is too long or cut off"));
    }
    String::from_utf8(buf)
        .map(Some)
        .map_err(|_| user("invalid copy protocol: a line is not UTF-8"))
}

/// One line, an error when the input ends.
fn expect_line(inp: &mut dyn BufRead, what: &str) -> Result<String> {
    read_line(inp)?.ok_or_else(|| {
        user(format!(
            "invalid copy protocol: the stream ends before {what}"
        ))
    })
}

// ---------------------------------------------------------------- host side

/// `buildout store serve --stdio`.
pub fn serve(ctx: &Context, store: &Store) -> Result<()> {
    let trust = super::cache::CacheSettings::of_context(ctx)?.trust;
    let mut out = crate::output::take_stdout().map_err(channel("use standard output"))?;
    let mut inp =
        BufReader::new(crate::output::take_stdin().map_err(channel("use standard input"))?);
    let result = serve_on(ctx, store, trust, &mut inp, &mut out);
    if let Err(e) = &result {
        // The sender shows it; best effort, the channel may be gone.
        let _ = writeln!(out, "error {}", one_line(&e.error.to_string()));
    }
    result
}

fn one_line(text: &str) -> String {
    text.replace(['\n', '\r'], " ")
}

fn serve_on(
    ctx: &Context,
    store: &Store,
    trust: crate::store::Trust,
    inp: &mut dyn BufRead,
    out: &mut dyn Write,
) -> Result<()> {
    let send = |out: &mut dyn Write, text: &str| -> Result<()> {
        out.write_all(text.as_bytes())
            .and_then(|()| out.flush())
            .map_err(|e| channel("write the ssh channel")(e).into())
    };
    send(out, &format!("{HELLO}\nstore {}\n", store.dir_str()))?;
    while let Some(line) = read_line(inp)? {
        let (verb, arg) = line.split_once(' ').unwrap_or((&line, ""));
        match verb {
            "missing" => {
                let n: usize = arg
                    .parse()
                    .ok()
                    .filter(|n| *n <= MAX_PATHS)
                    .ok_or_else(|| user(format!("invalid copy request `{line}`")))?;
                let mut missing = Vec::new();
                for _ in 0..n {
                    let text = expect_line(inp, "the paths asked for")?;
                    let p = store.parse_user_path(&text)?;
                    // Kept alive (a temporary root) for this session.
                    if !store.root_and_check(&p)? {
                        missing.push(text);
                    }
                }
                let mut reply = format!("missing {}\n", missing.len());
                for m in &missing {
                    reply.push_str(m);
                    reply.push('\n');
                }
                send(out, &reply)?;
            }
            "import" => {
                let report = cache::export::import(store, inp, trust.clone())?;
                ctx.printer.info(&format!(
                    "Received {} object(s); {} already there.",
                    report.objects - report.present,
                    report.present
                ));
                send(out, &format!("ok {}\n", report.objects))?;
            }
            "activate" => {
                let dir = expect_line(inp, "the buildout directory")?;
                let generation = expect_line(inp, "the generation")?;
                match activate(ctx, store, Path::new(&dir), &generation) {
                    Ok(g) => send(out, &format!("ok {g}\n"))?,
                    Err(e) => send(out, &format!("error {}\n", one_line(&e.error.to_string())))?,
                }
            }
            _ => {
                return Err(user(format!("invalid copy request `{}`", one_line(&line))));
            }
        }
    }
    Ok(())
}

/// Records the generation object `generation` as the next generation of
/// the buildout directory `dir` and makes it current; returns its number.
fn activate(
    ctx: &Context,
    store: &Store,
    dir: &Path,
    generation: &str,
) -> Result<crate::profile::Generation> {
    let path = store.parse_user_path(generation)?;
    if !store.root_and_check(&path)? {
        return Err(crate::store::Error::NotValid(generation.to_string()).into());
    }
    let target = path.to_absolute(store.dir_str());
    let manifest =
        crate::profile::read_manifest(crate::profile::Generation(0), Path::new(&target))?;
    if Path::new(&manifest.buildout_directory) != dir {
        return Err(user(format!(
            "generation {target} was made for the buildout directory {}, not {}: parts and \
             generations need the same buildout directory path on every host",
            manifest.buildout_directory,
            dir.display()
        )));
    }
    let profile = super::lock_profile(ctx, dir)?;
    super::install::activate_copied(ctx, store, &profile, &path, &manifest)?;
    Ok(profile
        .current()?
        .ok_or(crate::profile::Error::NoGenerations)?)
}

// -------------------------------------------------------------- sender side

/// What `buildout copy` was asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyOptions {
    /// `--to ssh://[user@]host[:port]` (required).
    pub to: Option<String>,
    /// Generation numbers or store paths (default: the current generation).
    pub what: Vec<String>,
    /// `--activate DIR`.
    pub activate: Option<String>,
    /// `--remote-buildout PATH` (default `buildout`).
    pub remote_buildout: String,
}

/// The parts of an `ssh://` URL: `[user@]host` and the port.
fn parse_ssh_url(url: &str) -> Result<(String, Option<u16>)> {
    let bad = |why: &str| user(format!("invalid --to `{url}`: {why}"));
    let rest = url
        .strip_prefix("ssh://")
        .ok_or_else(|| bad("expected ssh://[user@]host[:port]"))?;
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let (user, hostport) = match rest.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, rest),
    };
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') || h.starts_with('[') => (
            h,
            Some(
                p.parse::<u16>()
                    .map_err(|_| bad("the port is not a number"))?,
            ),
        ),
        _ => (hostport, None),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let plain = |s: &str| {
        !s.is_empty()
            && !s.starts_with('-')
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-:%".contains(c))
    };
    if !plain(host) || user.is_some_and(|u| !plain(u)) {
        return Err(bad(
            "the user and host may use letters, digits and `._-` only",
        ));
    }
    Ok((
        match user {
            Some(u) => format!("{u}@{host}"),
            None => host.to_string(),
        },
        port,
    ))
}

/// Single-quotes `s` for the remote shell.
fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// `buildout copy --to ssh://… [GENERATION] [--activate DIR]`.
pub fn copy(ctx: &Context, args: &CopyOptions) -> Result<()> {
    let to = args
        .to
        .as_deref()
        .ok_or_else(|| user("copy needs --to ssh://[user@]host[:port]"))?;
    let (host, port) = parse_ssh_url(to)?;
    let store = super::gc::open_store(ctx)?;
    let roots = super::cache::push_roots(ctx, &store, &args.what)?;
    let keys = super::cache::CacheSettings::of_context(ctx)?.secret_keys;
    let activate = match &args.activate {
        Some(dir) => {
            if roots.len() != 1 {
                return Err(user("--activate needs exactly one generation to copy"));
            }
            if !dir.starts_with('/') {
                return Err(user(format!(
                    "--activate `{dir}`: the buildout directory must be an absolute path"
                )));
            }
            Some(dir.clone())
        }
        None => None,
    };
    let objects = cache::closure(&store, &roots)?;

    let ssh = std::env::var_os(crate::env::BUILDOUT_SSH).unwrap_or_else(|| "ssh".into());
    let mut command = Command::new(&ssh);
    if let Some(port) = port {
        command.arg("-p").arg(port.to_string());
    }
    command.arg("--").arg(&host).arg(format!(
        "{} store serve --stdio",
        shell_quote(&args.remote_buildout)
    ));
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|source| Error::Io {
            what: format!("cannot run `{}`", Path::new(&ssh).display()),
            source,
        })?;
    let mut to_host = std::io::BufWriter::new(child.stdin.take().expect("piped"));
    let mut from_host = BufReader::new(child.stdout.take().expect("piped"));
    let result = talk(
        ctx,
        &store,
        &host,
        &objects,
        &keys,
        activate.as_deref(),
        &mut to_host,
        &mut from_host,
    );
    drop(to_host);
    let status = child.wait().map_err(channel("wait for ssh"))?;
    let report = result?;
    if !status.success() {
        return Err(user(format!(
            "the copy to {host} failed: `{}` exited with {status}",
            Path::new(&ssh).display()
        )));
    }
    ctx.printer.info(&format!(
        "Copied {} of {} object(s) to {host}; {} already there.",
        report.sent,
        objects.len(),
        objects.len() - report.sent
    ));
    if let (Some(g), Some(dir)) = (report.activated, &activate) {
        ctx.printer
            .success(&format!("Generation {g} is current in {dir} on {host}."));
    }
    Ok(())
}

struct CopyReport {
    sent: usize,
    activated: Option<String>,
}

/// The host's answer: the text after `ok`, or its error.
fn answer(from: &mut dyn BufRead, host: &str, request: &str) -> Result<String> {
    let line = read_line(from)?.ok_or_else(|| {
        user(format!(
            "{host} closed the connection during `{request}` (see its messages above)"
        ))
    })?;
    if let Some(e) = line.strip_prefix("error ") {
        return Err(user(format!("{host}: {e}")));
    }
    line.strip_prefix("ok")
        .map(|s| s.trim().to_string())
        .ok_or_else(|| user(format!("{host}: unexpected answer `{line}`")))
}

#[allow(clippy::too_many_arguments)]
fn talk(
    ctx: &Context,
    store: &Store,
    host: &str,
    objects: &[crate::store::ObjectInfo],
    keys: &[crate::store::sign::SecretKey],
    activate: Option<&str>,
    to: &mut dyn Write,
    from: &mut dyn BufRead,
) -> Result<CopyReport> {
    let hello = read_line(from)?.unwrap_or_default();
    if hello != HELLO {
        return Err(user(format!(
            "{host} did not start `buildout store serve --stdio` (is buildout on its PATH? \
             see --remote-buildout; its messages are above)"
        )));
    }
    let theirs = expect_line(from, "the host's store directory")?;
    let theirs = theirs.strip_prefix("store ").unwrap_or(&theirs);
    if theirs != store.dir_str() {
        return Err(user(format!(
            "{host} keeps its store in {theirs}, not {}: store paths hash the store \
             directory, so nothing was sent (use the same store path on every host)",
            store.dir_str()
        )));
    }
    let send = |to: &mut dyn Write, text: &str| -> Result<()> {
        to.write_all(text.as_bytes())
            .and_then(|()| to.flush())
            .map_err(|e| channel("write to the ssh channel")(e).into())
    };
    let paths: Vec<String> = objects
        .iter()
        .map(|o| o.path.to_absolute(store.dir_str()))
        .collect();
    let mut request = format!("missing {}\n", paths.len());
    for p in &paths {
        request.push_str(p);
        request.push('\n');
    }
    send(to, &request)?;
    let line = expect_line(from, "the list of missing paths")?;
    if let Some(e) = line.strip_prefix("error ") {
        return Err(user(format!("{host}: {e}")));
    }
    let k: usize = line
        .strip_prefix("missing ")
        .and_then(|n| n.parse().ok())
        .filter(|n| *n <= paths.len())
        .ok_or_else(|| user(format!("{host}: unexpected answer `{line}`")))?;
    let mut wanted = std::collections::HashSet::new();
    for _ in 0..k {
        wanted.insert(expect_line(from, "the list of missing paths")?);
    }
    let missing: Vec<crate::store::ObjectInfo> = objects
        .iter()
        .zip(&paths)
        .filter(|(_, p)| wanted.contains(*p))
        .map(|(o, _)| o.clone())
        .collect();
    if !missing.is_empty() {
        send(to, "import\n")?;
        for o in &missing {
            ctx.printer
                .verbose(&format!("sending {}", o.path.to_absolute(store.dir_str())));
        }
        cache::export::export_objects(store, &missing, keys, to)?;
        answer(from, host, "import")?;
    }
    let activated = match activate {
        Some(dir) => {
            let generation = paths.last().expect("a closure ends with its root");
            send(to, &format!("activate\n{dir}\n{generation}\n"))?;
            Some(answer(from, host, "activate")?)
        }
        None => None,
    };
    Ok(CopyReport {
        sent: missing.len(),
        activated,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssh_urls() {
        assert_eq!(parse_ssh_url("ssh://h").unwrap(), ("h".into(), None));
        assert_eq!(
            parse_ssh_url("ssh://me@h.example:2222").unwrap(),
            ("me@h.example".into(), Some(2222))
        );
        assert!(parse_ssh_url("ssh://-oProxyCommand=x").is_err());
        assert!(parse_ssh_url("ssh://a b").is_err());
        assert!(parse_ssh_url("http://h").is_err());
        assert!(parse_ssh_url("ssh://h:x").is_err());
    }

    #[test]
    fn quoting() {
        assert_eq!(shell_quote("a'b"), r"'a'\''b'");
    }
}
