//! The integration test binary: runs the real `buildout` executable.

mod common;
mod store;
