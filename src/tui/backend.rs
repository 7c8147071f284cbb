//! What the terminal front ends need from the engine, as one small trait.
//!
//! The UI never opens an SSH connection: OS detection, checks, plans and installs happen behind
//! this trait and come back as values or as the engine's event stream. At integration `main.rs`
//! binds it to the engine (and `firewall_rules` to the foundation's `ports`).

use crate::profile::{HostSpec, LoadedProfile, Profile, SshSpec};
use crate::topology::OsId;
use crate::tui::events::RunEvent;
use std::sync::mpsc::Receiver;

pub trait Backend {
    /// Connects to each host and reads its operating system (blocking; the wizard runs it on a
    /// worker thread). One answer per host, in order: the OS, or why it could not be read.
    fn detect_os(&self, hosts: &[HostSpec], ssh: &SshSpec) -> Vec<(String, Result<OsId, String>)>;

    /// The firewall rules the deployment needs, one line each (`ports`).
    fn firewall_rules(&self, profile: &Profile) -> Result<Vec<String>, String>;

    /// Starts `check`: connect, facts, preflight. Events arrive until `RunFinished`.
    fn check(&self, profile: &LoadedProfile) -> Receiver<RunEvent>;

    /// Starts `plan`: `Planned` events per host, then `RunFinished`.
    fn plan(&self, profile: &LoadedProfile) -> Receiver<RunEvent>;

    /// Starts `apply`, on every host or only on `hosts` (a retry of failed ones).
    fn apply(&self, profile: &LoadedProfile, hosts: Option<Vec<String>>) -> Receiver<RunEvent>;
}
