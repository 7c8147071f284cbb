//! `scalr-installer lab …`: the command line of the lab. Parses, calls [`Fleet`], prints.

use crate::lab::error::{LabError, Result};
use crate::lab::fleet::{Fault, Fleet};
use crate::lab::plan::{parse_override, LabLayout, LabLogin, LabOptions};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;

const DEFAULT_DIR: &str = "scalr-lab";

#[derive(Debug, clap::Subcommand)]
pub enum LabCommand {
    /// Start sandbox VMs (real sshd on 127.0.N.x, each in its own mount namespace) and write a
    /// ready profile, client key and known_hosts into DIR.
    Up(UpArgs),
    /// List the lab's VMs: address, OS, role, sshd state, hardware.
    Status(DirArg),
    /// Stop every VM process and delete DIR (nothing is left behind; safe to repeat).
    Down(DirArg),
    /// Break or mend one VM: its sshd, or the simulated reconfigure.
    Fault(FaultArgs),
    /// Log in to a VM with the system ssh client and the lab's key.
    Ssh(SshArgs),
}

#[derive(Debug, clap::Args)]
pub struct DirArg {
    /// The lab directory.
    #[arg(long, default_value = DEFAULT_DIR)]
    pub dir: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct UpArgs {
    #[arg(long, default_value = DEFAULT_DIR)]
    pub dir: PathBuf,
    /// `ha` (6 VMs in the spec's roles), `compact` (1 VM), `scaled` (--hosts N: the HA core plus
    /// N-4 app hosts, a `custom` profile) or `bare` (N plain VMs, no profile).
    #[arg(long)]
    pub layout: Option<String>,
    /// Number of VMs (ha: 6, compact: 1; any other number makes a bare lab).
    #[arg(long)]
    pub hosts: Option<usize>,
    /// One OS for all VMs, or one per VM in order, e.g. centos-7,ubuntu-18.04 (fedora-30,
    /// centos-8, debian-10, ubuntu-20.04 pose as unsupported systems).
    #[arg(long, value_delimiter = ',')]
    pub os: Vec<String>,
    /// sshd's port on every VM.
    #[arg(long, default_value_t = 22)]
    pub port: u16,
    /// Duration of the simulated first reconfigure, in seconds.
    #[arg(long, default_value_t = 3.0)]
    pub reconfigure_secs: f64,
    /// Override a VM's memory: VM=MB (repeatable), e.g. app-1=3000 to fail the 4 GB check.
    #[arg(long, value_name = "VM=MB")]
    pub ram_mb: Vec<String>,
    /// Override a VM's /opt/scalr-server size: VM=GB (fractions allowed).
    #[arg(long, value_name = "VM=GB")]
    pub disk_gb: Vec<String>,
    /// Override a VM's CPU count: VM=N.
    #[arg(long, value_name = "VM=N")]
    pub cpus: Vec<String>,
    /// The login the profile uses: root, deploy (sudo -n) or operator (sudo -S).
    #[arg(long, default_value = "root")]
    pub login: String,
}

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("fault").required(true).args([
    "stop_sshd", "start_sshd", "freeze", "thaw", "reconfigure_fail_at", "reconfigure_hang",
    "reconfigure_slow", "clear"
])))]
pub struct FaultArgs {
    #[arg(long, default_value = DEFAULT_DIR)]
    pub dir: PathBuf,
    /// The VM's name (see `lab status`).
    #[arg(long)]
    pub host: String,
    #[arg(long)]
    pub stop_sshd: bool,
    #[arg(long)]
    pub start_sshd: bool,
    /// Stop every process of the VM (SIGSTOP): connections hang.
    #[arg(long)]
    pub freeze: bool,
    #[arg(long)]
    pub thaw: bool,
    /// Make reconfigure print [ FAILED ] at this step index.
    #[arg(long, value_name = "STEP")]
    pub reconfigure_fail_at: Option<u32>,
    /// Make reconfigure hang after "Preparing to reconfigure Scalr...".
    #[arg(long)]
    pub reconfigure_hang: bool,
    /// Multiply reconfigure's durations by this factor.
    #[arg(long, value_name = "FACTOR")]
    pub reconfigure_slow: Option<f64>,
    /// Remove every reconfigure fault.
    #[arg(long)]
    pub clear: bool,
}

#[derive(Debug, clap::Args)]
pub struct SshArgs {
    #[arg(long, default_value = DEFAULT_DIR)]
    pub dir: PathBuf,
    /// Log in as this user (root, deploy, operator).
    #[arg(long, default_value = "root")]
    pub user: String,
    /// The VM's name.
    pub name: String,
    /// A command to run instead of a shell.
    #[arg(last = true)]
    pub command: Vec<String>,
}

pub fn run(cmd: LabCommand) -> Result<()> {
    match cmd {
        LabCommand::Up(args) => up(args),
        LabCommand::Status(DirArg { dir }) => status(&Fleet::open(&dir)?),
        LabCommand::Down(DirArg { dir }) => {
            Fleet::down_dir(&dir)?;
            println!(
                "lab in {} is down: no VM process, mount or file is left",
                dir.display()
            );
            Ok(())
        }
        LabCommand::Fault(args) => fault(args),
        LabCommand::Ssh(args) => ssh(args),
    }
}

fn up(args: UpArgs) -> Result<()> {
    let layout = match (args.layout.as_deref(), args.hosts) {
        (None | Some("ha"), None | Some(6)) => LabLayout::Ha,
        (None | Some("compact"), Some(1)) | (Some("compact"), None) => LabLayout::Compact,
        (None | Some("bare"), Some(n)) => LabLayout::Bare(n),
        (Some("bare"), None) => LabLayout::Bare(1),
        (Some("scaled"), Some(n)) => LabLayout::Scaled(n),
        (Some("scaled"), None) => {
            return Err(LabError::InvalidOption(
                "--layout scaled needs --hosts N (5 or more): the HA core plus N-4 app hosts"
                    .into(),
            ))
        }
        (Some(layout @ ("ha" | "compact")), Some(n)) => {
            return Err(LabError::InvalidOption(format!(
                "--layout {layout} has {} VMs, not {n}: drop --hosts, or use --layout bare for {n} plain VMs",
                if layout == "ha" { 6 } else { 1 }
            )))
        }
        (Some(other), _) => {
            return Err(LabError::InvalidOption(format!(
                "unknown --layout {other:?}: use ha, compact, scaled or bare"
            )))
        }
    };
    let mut opts = LabOptions::new(&args.dir, layout);
    opts.os = args.os;
    opts.port = args.port;
    opts.reconfigure_secs = args.reconfigure_secs;
    opts.login = LabLogin::parse(&args.login)?;
    opts.ram_mb = args
        .ram_mb
        .iter()
        .map(|s| parse_override("--ram-mb", s))
        .collect::<Result<_>>()?;
    opts.disk_gb = args
        .disk_gb
        .iter()
        .map(|s| parse_override("--disk-gb", s))
        .collect::<Result<_>>()?;
    opts.cpus = args
        .cpus
        .iter()
        .map(|s| parse_override("--cpus", s))
        .collect::<Result<_>>()?;
    let fleet = Fleet::up(&opts)?;
    status(&fleet)?;
    let readme = fleet.dir().join("README");
    println!();
    print!("{}", std::fs::read_to_string(&readme).unwrap_or_default());
    fleet.detach();
    Ok(())
}

fn status(fleet: &Fleet) -> Result<()> {
    println!(
        "{:<10} {:<13} {:<13} {:<10} {:<8} {:>5} {:>8} {:>8}",
        "NAME", "ADDRESS", "OS", "ROLE", "SSHD", "CPUS", "RAM", "DISK"
    );
    for vm in fleet.status() {
        let role = vm.role.map(crate::lab::profile_gen::role_key);
        println!(
            "{:<10} {:<13} {:<13} {:<10} {:<8} {:>5} {:>6}MB {:>6}GB",
            vm.name,
            vm.address,
            vm.os,
            role.unwrap_or_else(|| "-".into()),
            vm.sshd.label(),
            vm.hardware.cpus,
            vm.hardware.ram_mb,
            format!("{:.1}", vm.hardware.disk_mb as f64 / 1024.0)
        );
    }
    Ok(())
}

fn fault(args: FaultArgs) -> Result<()> {
    let fault = if args.stop_sshd {
        Fault::StopSshd
    } else if args.start_sshd {
        Fault::StartSshd
    } else if args.freeze {
        Fault::Freeze
    } else if args.thaw {
        Fault::Thaw
    } else if let Some(step) = args.reconfigure_fail_at {
        Fault::ReconfigureFailAt(step)
    } else if args.reconfigure_hang {
        Fault::ReconfigureHang
    } else if let Some(factor) = args.reconfigure_slow {
        Fault::ReconfigureSlow(factor)
    } else {
        Fault::Clear
    };
    let mut fleet = Fleet::open(&args.dir)?;
    fleet.fault(&args.host, fault)?;
    println!("{}: {fault:?} done", args.host);
    Ok(())
}

fn ssh(args: SshArgs) -> Result<()> {
    let fleet = Fleet::open(&args.dir)?;
    let mut cmd = fleet.ssh_command(&args.name, &args.user)?;
    if args.command.is_empty() {
        // An interactive login needs a terminal; BatchMode only turns off password prompts.
        cmd.arg("-t");
    } else {
        cmd.arg("--").args(&args.command);
    }
    let err = cmd.exec();
    Err(LabError::CommandFailed {
        command: "ssh".into(),
        detail: format!("{err}: install openssh-client: apt-get install openssh-client"),
    })
}
