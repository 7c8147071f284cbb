//! The `scalr-installer` command: parses the command line and dispatches.

use clap::Parser;
use scalr_installer::cli::Cli;
use scalr_installer::commands;
use std::process::ExitCode;

fn main() -> ExitCode {
    // Inside a lab VM this binary also plays the simulated OS tools and Scalr package
    // (`yum`, `scalr-server-ctl`, …), chosen by the name it was started as.
    if let Some(code) = scalr_installer::sim::multicall() {
        return code;
    }
    let cli = Cli::parse();
    match commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let message = e.to_string();
            if !message.is_empty() {
                eprintln!("{message}");
            }
            ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(1))
        }
    }
}
