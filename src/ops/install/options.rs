//! What `install` makes of `[buildout]`'s own options: those the core
//! reads ([`CORE_OPTIONS`]; any other that nothing read gets zc.buildout's
//! warning, as do a part's), those that only steer a run ([`RUN_OPTIONS`],
//! left out of the generation's configuration snapshot), and
//! `extensions`, read.

use super::super::{Context, Error};

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
    "require-sigs",
    "secret-key-files",
    "show-picked-versions",
    "socket-timeout",
    "substituters",
    "trusted-public-keys",
    "update-versions-file",
    "verbosity",
];

/// The configuration snapshot recorded in a generation.
pub(super) fn snapshot(
    buildout: &crate::config::Buildout,
) -> std::collections::BTreeMap<String, std::collections::BTreeMap<String, String>> {
    buildout
        .section_names()
        .filter_map(|n| {
            let mut s = buildout.raw_section(n)?.clone();
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

/// `[buildout] extensions`, as requirements: zc.buildout's error for the
/// two it absorbed.
pub(super) fn check_extensions(
    buildout: &mut crate::config::Buildout<'_>,
) -> std::result::Result<Vec<String>, Error> {
    let specs = buildout
        .get("buildout", "extensions", None)?
        .unwrap_or_default();
    let specs: Vec<String> = specs.split_whitespace().map(String::from).collect();
    if specs
        .iter()
        .any(|s| ["buildout-versions", "buildout.dumppickedversions"].contains(&s.as_str()))
    {
        return Err(Error::User(
            "Buildout now includes 'buildout-versions' (and part of the older \
             'buildout.dumppickedversions').\nRemove the extension from your configuration \
             and look at the 'show-picked-versions' option in buildout's documentation."
                .into(),
        ));
    }
    Ok(specs)
}

/// The `[buildout]` options the core reads (zc.buildout's, whether or not
/// this build uses them, and ours); any other nobody read is reported.
pub(super) const CORE_OPTIONS: &[&str] = &[
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
    "require-sigs",
    "secret-key-files",
    "show-picked-versions",
    "socket-timeout",
    "store",
    "substituters",
    "trusted-public-keys",
    "update-versions-file",
    "use-dependency-links",
    "verbosity",
    "versions",
];

/// zc.buildout's warning for options nothing read: a typo in an option's
/// name, or an option the recipe does not know.
pub(super) fn warn_unused(ctx: &Context, section: &str, unused: &[String]) {
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
