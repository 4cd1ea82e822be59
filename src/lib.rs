//! `buildout`: zc.buildout, the Python application assembler, on a
//! Nix-style immutable store.
//!
//! # Map of the crate
//!
//! Layers, top to bottom: a module uses only modules of lower layers
//! (README.md's Layout table; `tests/it/architecture.rs` checks it).
//! Nothing below `output` prints.
//!
//! | layer | module | owns |
//! |---|---|---|
//! | 1 | [`cli`] | clap definitions and zc.buildout's argument grammar; calls an operation |
//! | 2 | [`ops`] | one file per user action (`install`, `annotate`, `query`, `gc`, ...) |
//! | 3 | [`output`] | the only module that prints: messages, progress, `While:`/`Error:` rendering, exit codes |
//! | 4 | [`recipe`] | recipes (built-in implementations), constructed per part; a part's object and address |
//! | 5 | [`build`] | store objects: generations, distributions (wheels, sdist builds, develop eggs), console scripts |
//! | 6 | [`config`] | the configuration language: parsing, `extends`, macros, conditional sections, substitution, annotations |
//! | 6 | [`resolve`] | dependency resolution (PubGrub) with buildout's `[versions]`, `prefer-final`, `newest` and picked-versions rules; pure, no IO |
//! | 6 | [`profile`] | the buildout directory's generations (`.buildout/`), the atomic switch, manifests |
//! | 7 | [`index`] | package indexes: simple API (JSON/HTML), find-links, metadata, verified downloads, the HTTP page cache |
//! | 7 | [`store`] | the immutable store: object paths, the SQLite registry (`<store>/.db/`), the write path, GC roots, gc, verify |
//! | 8 | [`python`] | value types and facts about Python: PEP 508 markers and requirements, wheel tags and file names, interpreter facts |
//! | 9 | [`env`] | every environment variable the tool reads |
//! | 9 | [`fs`] | file-system primitives: explicit modes whatever the umask, atomic and durable writes, `flock` |
//!
//! # Public API
//!
//! The binary is the product; the library exports what it and the
//! integration tests need, and what a program embedding the pieces could
//! use without reaching into internals: [`run`] and [`exit`] (the whole
//! command line), [`Cli`] (the clap definition, for man pages and help),
//! the package-index client ([`index`]) and the Python value types
//! ([`python`]). Everything else is `pub(crate)`.
//!
//! On disk: the buildout directory (`buildout.cfg`, `bin`, `parts`,
//! `.buildout/`) and the store (default `~/.buildout/store`). See README.md.

pub(crate) mod build;
pub(crate) mod cli;
pub(crate) mod config;
pub(crate) mod env;
pub(crate) mod fs;
pub mod index;
pub(crate) mod ops;
pub(crate) mod output;
pub(crate) mod profile;
pub mod python;
pub(crate) mod recipe;
pub(crate) mod resolve;
pub(crate) mod store;

pub use cli::{Cli, run};
pub use output::exit;
