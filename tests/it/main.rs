//! The integration test binary: runs the real `buildout` executable.

mod architecture;
mod bench;
mod bytecode;
mod cli;
mod common;
mod examples;
mod generations;
mod golden;
mod hardening_archives;
mod hardening_gc;
mod hardening_paths;
mod hardening_repair;
mod index;
mod install;
mod man;
mod readme;
mod resolution_hints;
mod scripts;
mod sdist;
mod store;
