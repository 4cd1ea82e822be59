//! The integration test binary: runs the real `buildout` executable.

mod bench;
mod bytecode;
mod cli;
mod common;
mod examples;
mod generations;
mod golden;
mod hardening_archives;
mod index;
mod install;
mod man;
mod readme;
mod scripts;
mod sdist;
mod store;
