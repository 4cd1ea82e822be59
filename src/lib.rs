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
//! | [`store`] | the immutable store: object paths, the SQLite registry (`<store>/.db/`), the write path, GC roots, gc, verify |
//! | [`index`] | package indexes: simple API (JSON/HTML), find-links, metadata, verified downloads, the HTTP page cache |
//! | [`python`] | value types and facts about Python: PEP 508 markers, interpreter facts |
//! | [`output`] | the only module that prints: messages, `While:`/`Error:` rendering, exit codes |
//! | [`env`] | every environment variable the tool reads |
//!
//! On disk: the buildout directory (`buildout.cfg`, `bin`, `parts`,
//! `.buildout/`) and the store (default `~/.buildout/store`). See README.md.

pub mod cli;
pub mod config;
pub mod env;
pub mod index;
pub mod ops;
pub mod output;
pub mod python;
pub mod store;

pub use ops::run;
