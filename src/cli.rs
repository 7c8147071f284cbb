//! The command line. Each subcommand is one variant of `Command`; later parts of the installer
//! add theirs here and a match arm in `commands::run`.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "scalr-installer",
    version,
    about = "Installs Scalr Server on one VM or many, guided or headless"
)]
pub struct Cli {
    /// Where deployments keep their secrets and run logs
    /// [default: $SCALR_INSTALLER_STATE_DIR, else ~/.local/state/scalr-installer]
    #[arg(long, global = true, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a profile and report every problem in it (exit 0 when valid, 2 when not)
    Validate(ProfileArg),
    /// Write the files each host will receive into DIR/<host>/etc/scalr-server/
    Render {
        #[command(flatten)]
        profile: ProfileArg,
        /// The folder to write into (created if missing)
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Print the firewall rules the deployment needs
    Ports {
        #[command(flatten)]
        profile: ProfileArg,
        /// Print JSON instead of a table
        #[arg(long)]
        json: bool,
    },
    /// Print a shell completion script (e.g. `scalr-installer completions bash > /etc/bash_completion.d/scalr-installer`)
    Completions { shell: clap_complete::Shell },
    /// Connect to every host and check it is ready; changes nothing (exit 3 when something blocks)
    Check(crate::engine::commands::CheckArgs),
    /// Show what `apply` would change on each host, as diffs with secrets masked; changes nothing
    Plan(crate::engine::commands::PlanArgs),
    /// Install, configure and reconfigure every host in wave order (asks first unless --yes)
    Apply(crate::engine::commands::ApplyArgs),
    /// Show the installed version, services and configuration drift of every host
    Status(crate::engine::commands::StatusArgs),
    /// A local fleet of sandbox VMs with real sshd, for tests and rehearsals
    #[command(subcommand)]
    Lab(crate::lab::cli::LabCommand),
}

#[derive(Debug, Args)]
pub struct ProfileArg {
    /// The deployment profile (TOML)
    #[arg(long, short = 'p', value_name = "FILE")]
    pub profile: PathBuf,
}
