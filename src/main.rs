//! The `buildout` binary: parse the command line, run the operation, render
//! the outcome. All logic lives in the library.

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    buildout::exit(buildout::run(args))
}
