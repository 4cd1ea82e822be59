//! Shared test harness.

pub mod http;
