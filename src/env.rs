//! Every environment variable `buildout` reads, in one place.
//!
//! Other modules call the accessors here instead of `std::env::var`, so the
//! list below is complete.

use std::ffi::OsString;
use std::path::PathBuf;

/// Directory holding `default.cfg` (zc.buildout's `BUILDOUT_HOME`).
pub const BUILDOUT_HOME: &str = "BUILDOUT_HOME";
/// The store directory (overridden by `--store`, overrides `[buildout] store`).
pub const BUILDOUT_STORE: &str = "BUILDOUT_STORE";
/// Names a fault-injection point at which the process aborts (tests only).
pub const BUILDOUT_FAILPOINT: &str = "BUILDOUT_FAILPOINT";
/// A file that debug builds append a line to for each condition
/// evaluator they start (tests only: proves Python starts only when needed).
pub const BUILDOUT_DEBUG_CONDITION_LOG: &str = "BUILDOUT_DEBUG_CONDITION_LOG";
/// Disables colour when set and not empty (<https://no-color.org>), unless
/// `--color always` asks for it.
pub const NO_COLOR: &str = "NO_COLOR";
/// Hides the progress line when set.
pub const BUILDOUT_NO_PROGRESS: &str = "BUILDOUT_NO_PROGRESS";
/// The program `copy --to ssh://…` runs instead of `ssh` (as `GIT_SSH`).
pub const BUILDOUT_SSH: &str = "BUILDOUT_SSH";
/// AWS credentials for `s3://` caches (the secret is never printed).
pub const AWS_ACCESS_KEY_ID: &str = "AWS_ACCESS_KEY_ID";
pub const AWS_SECRET_ACCESS_KEY: &str = "AWS_SECRET_ACCESS_KEY";
pub const AWS_SESSION_TOKEN: &str = "AWS_SESSION_TOKEN";
/// The profile of `~/.aws/credentials` and `~/.aws/config` (default `default`).
pub const AWS_PROFILE: &str = "AWS_PROFILE";
/// The region of `s3://` caches without `region=`.
pub const AWS_REGION: &str = "AWS_REGION";
pub const AWS_DEFAULT_REGION: &str = "AWS_DEFAULT_REGION";
/// Other places for `~/.aws/credentials` and `~/.aws/config`.
pub const AWS_SHARED_CREDENTIALS_FILE: &str = "AWS_SHARED_CREDENTIALS_FILE";
pub const AWS_CONFIG_FILE: &str = "AWS_CONFIG_FILE";
/// The terminal type: `dumb` draws no progress.
pub const TERM: &str = "TERM";
/// The user's home directory.
pub const HOME: &str = "HOME";
/// The netrc file with index credentials (default `~/.netrc`).
pub const NETRC: &str = "NETRC";
/// Search path for executables (to find `python3`).
pub const PATH: &str = "PATH";

/// Reads a variable as a string; `None` when unset or not Unicode.
pub fn var(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Reads a variable as an OS string; `None` when unset.
pub fn var_os(name: &str) -> Option<OsString> {
    std::env::var_os(name)
}

/// The user's home directory, from `HOME`.
pub fn home_dir() -> Option<PathBuf> {
    var_os(HOME).filter(|h| !h.is_empty()).map(PathBuf::from)
}

/// A snapshot of the whole environment, for `os.environ` in conditions.
pub fn vars() -> Vec<(String, String)> {
    std::env::vars().collect()
}
