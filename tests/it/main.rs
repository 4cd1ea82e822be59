//! The integration test binary: runs the real `buildout` executable.

mod architecture;
mod bench;
mod bytecode;
mod cli;
mod cli_globals;
mod color;
mod common;
mod examples;
mod generation_output;
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
mod recipe_host;
mod recipe_host_try;
mod resolution_hints;
mod scripts;
mod sdist;
mod shared_outputs;
mod store;
