//! The `scalr-installer` command: parses the command line and dispatches.

use clap::Parser;
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(name = "scalr-installer", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// A local fleet of sandbox VMs with real sshd, for tests and rehearsals.
    #[command(subcommand)]
    Lab(scalr_installer::lab::cli::LabCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Lab(cmd) => scalr_installer::lab::cli::run(cmd),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}
