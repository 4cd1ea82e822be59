//! Resolver tests: in-memory registries.
