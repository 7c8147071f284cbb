//! The `scalr-installer` command: parses the command line and dispatches.

use clap::Parser;
use scalr_installer::cli::Cli;
use scalr_installer::commands;

fn main() {
    let cli = Cli::parse();
    if let Err(e) = commands::run(cli) {
        eprintln!("{e}");
        std::process::exit(e.exit_code());
    }
}
