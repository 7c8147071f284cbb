//! The lab: a fleet of sandbox VMs on this machine, each a real OpenSSH `sshd` on its own loopback
//! address in its own mount namespace, so the installer's real SSH code paths run unchanged.
//!
//! A VM is a mount namespace holding its own `/etc`, `/root`, `/home`, `/tmp`, `/var/log`,
//! `/var/lib`, `/run`, a tmpfs `/opt/scalr-server` sized like the emulated disk, per-VM
//! `/proc/meminfo` and `/proc/cpuinfo`, and `/usr/local/{bin,sbin}` holding the simulated tools
//! (links to the installer binary, which dispatches them; see `crate::sim`). Nothing is mounted in
//! the machine's own namespace, so killing a VM's processes removes every trace of its mounts.

pub mod addresses;
pub mod cli;
pub mod crypt;
pub mod error;
pub mod fleet;
pub mod hardware;
pub mod os_image;
pub mod plan;
pub mod procs;
pub mod profile_gen;
pub mod sim_files;
pub mod sshd;
pub mod state;
pub mod users;
pub mod vm;

pub use error::{LabError, Result};
pub use fleet::{Fault, Fleet, SshdState, VmStatus};
pub use hardware::Hardware;
pub use os_image::LabOs;
pub use plan::{LabLayout, LabLogin, LabOptions, VmPlan};
pub use state::{LabState, VmState};
