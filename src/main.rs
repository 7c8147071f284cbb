//! The `scalr-installer` command: parses the command line and dispatches.

use std::process::ExitCode;

fn main() -> ExitCode {
    if let Some(code) = scalr_installer::sim::multicall() {
        return code;
    }
    ExitCode::SUCCESS
}
