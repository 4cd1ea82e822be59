//! `buildout`: zc.buildout, the Python application assembler, on a
//! Nix-style immutable store.
//!
//! # Map of the crate
//!
//! Dependencies run downwards; nothing below `ops` prints.
//!
//! | module | owns |
//! |---|---|
//! | [`cli`] | clap definitions and zc.buildout's argument grammar |
//! | [`ops`] | one file per user action (`annotate`, `query`, `init`, `gc`, ...) |
//! | [`config`] | the configuration language: parsing, `extends`, macros, conditional sections, substitution, annotations |
//! | [`recipe`] | recipes: built-in implementations (`collective.recipe.template`), constructed per part |
//! | [`build`] | store objects: parts, generations, distributions (wheels, sdist builds, develop eggs), console scripts |
//! | [`profile`] | the buildout directory's generations (`.buildout/`), the atomic switch, manifests |
//! | [`store`] | the immutable store: object paths, the SQLite registry (`<store>/.db/`), the write path, GC roots, gc, verify |
//! | [`resolve`] | dependency resolution (PubGrub) with buildout's `[versions]`, `prefer-final`, `newest` and picked-versions rules; pure, no IO |
//! | [`index`] | package indexes: simple API (JSON/HTML), find-links, metadata, verified downloads, the HTTP page cache |
//! | [`python`] | value types and facts about Python: PEP 508 markers and requirements, wheel tags and file names, interpreter facts |
//! | [`output`] | the only module that prints: messages, `While:`/`Error:` rendering, exit codes |
//! | [`env`] | every environment variable the tool reads |
//!
//! On disk: the buildout directory (`buildout.cfg`, `bin`, `parts`,
//! `.buildout/`) and the store (default `~/.buildout/store`). See README.md.

pub mod build;
pub mod cli;
pub mod config;
pub mod env;
pub mod index;
pub mod ops;
pub mod output;
pub mod profile;
pub mod python;
pub mod recipe;
pub mod resolve;
pub mod store;

pub use ops::run;
