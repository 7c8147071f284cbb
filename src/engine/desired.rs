//! What the engine is asked to reach: per host, its modules, the files it must hold, the hardware
//! it needs; for the deployment, the package and the reconfigure waves.
//!
//! This is the engine's input, filled from `topology::Deployment`, `topology::hardware` and
//! `render::render_deployment` by [`crate::engine::commands`]' caller; the engine never decides
//! topology or renders configuration itself.

use crate::topology::{Module, OsId};
use std::collections::BTreeSet;
use std::path::PathBuf;

/// Where Scalr reads its configuration.
pub const CONFIG_DIR: &str = "/etc/scalr-server";
pub const SECRETS_PATH: &str = "/etc/scalr-server/scalr-server-secrets.json";

/// A file a host must hold, byte for byte.
#[derive(Clone, PartialEq, Eq)]
pub struct DesiredFile {
    pub path: String,
    pub contents: Vec<u8>,
    pub mode: u32,
    /// Contents never shown: diffs mask them and logs name only the path.
    pub secret: bool,
    /// A group that must own the file (root otherwise), e.g. the TLS key read by the proxy.
    pub group: Option<String>,
}

impl std::fmt::Debug for DesiredFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DesiredFile")
            .field("path", &self.path)
            .field("bytes", &self.contents.len())
            .field("mode", &format_args!("{:o}", self.mode))
            .field("secret", &self.secret)
            .finish()
    }
}

/// The database part a host plays, which decides the wave and replication.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbRole {
    Master,
    Slave,
}

/// Hardware a host needs for its modules (`topology::hardware`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Requirements {
    /// Below this `MemTotal` Scalr refuses to run: a hard failure.
    pub ram_floor_kb: u64,
    pub ram_recommended_kb: u64,
    pub cpus_recommended: u32,
    /// Size recommended for `/opt/scalr-server`.
    pub disk_recommended_kb: u64,
    /// Free space below which an install cannot succeed.
    pub disk_free_floor_kb: u64,
}

/// Scalr's own refusal threshold (reference §3.4).
pub const RAM_FLOOR_KB: u64 = 3_600_000;

impl Default for Requirements {
    fn default() -> Self {
        Requirements {
            ram_floor_kb: RAM_FLOOR_KB,
            ram_recommended_kb: 8 * 1024 * 1024,
            cpus_recommended: 4,
            disk_recommended_kb: 50 * 1024 * 1024,
            disk_free_floor_kb: 2 * 1024 * 1024,
        }
    }
}

/// A TCP endpoint one host must reach on another once Scalr runs.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct PeerPort {
    pub host: String,
    pub address: String,
    pub port: u16,
    pub purpose: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredHost {
    pub name: String,
    /// The address the other Scalr nodes use (and the one services bind to).
    pub private_address: String,
    pub modules: BTreeSet<Module>,
    pub db_role: Option<DbRole>,
    /// The OS the profile expects, when it names one.
    pub expected_os: Option<OsId>,
    pub requirements: Requirements,
    /// Ports Scalr will listen on here; before the first install they must be free.
    pub listen_ports: Vec<u16>,
    /// What this host must reach on its peers (probed by preflight, checked open by verify).
    pub needs: Vec<PeerPort>,
}

/// Where the package comes from.
#[derive(Clone, PartialEq, Eq)]
pub enum PackageSource {
    /// packagecloud `repository` (`scalr/scalr-server-ee`), with the download token.
    Packagecloud { repository: String, token: String },
    /// Package files on this machine, uploaded to the hosts.
    Local { files: Vec<PathBuf> },
}

impl std::fmt::Debug for PackageSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PackageSource::Packagecloud { repository, .. } => f
                .debug_struct("Packagecloud")
                .field("repository", repository)
                .field("token", &"********")
                .finish(),
            PackageSource::Local { files } => {
                f.debug_struct("Local").field("files", files).finish()
            }
        }
    }
}

/// The whole deployment as the engine sees it.
#[derive(Debug, Clone)]
pub struct Desired {
    pub name: String,
    pub hosts: Vec<DesiredHost>,
    /// Host names in reconfigure order (DB master, DB slave, worker, then InfluxDB and proxies).
    pub waves: Vec<Vec<String>>,
    pub package: PackageSource,
    /// `None`: the newest version in the repository.
    pub version: Option<String>,
    /// The endpoint the proxies answer on (`routing[:endpoint_host]`) and its port.
    pub endpoint_port: u16,
}

impl Desired {
    pub fn host(&self, name: &str) -> Option<&DesiredHost> {
        self.hosts.iter().find(|h| h.name == name)
    }

    pub fn db_master(&self) -> Option<&DesiredHost> {
        self.hosts
            .iter()
            .find(|h| h.db_role == Some(DbRole::Master))
    }

    pub fn db_slave(&self) -> Option<&DesiredHost> {
        self.hosts.iter().find(|h| h.db_role == Some(DbRole::Slave))
    }

    /// Values that must never appear in output: the package token. (Secrets from the secrets file
    /// are added by the caller that loads them.)
    pub fn secret_values(&self) -> Vec<String> {
        match &self.package {
            PackageSource::Packagecloud { token, .. } => vec![token.clone()],
            PackageSource::Local { .. } => Vec::new(),
        }
    }

    /// Host names in wave order, then any host the waves forgot (so none is silently skipped).
    pub fn hosts_in_wave_order(&self) -> Vec<String> {
        let mut order: Vec<String> = self.waves.iter().flatten().cloned().collect();
        for h in &self.hosts {
            if !order.contains(&h.name) {
                order.push(h.name.clone());
            }
        }
        order
    }
}

/// Renders the files each host must hold, given the secrets the deployment uses. Called after the
/// facts are in, because secrets found on the hosts are adopted rather than generated.
pub trait Renderer: Sync {
    /// The paths of the files each host must hold, without rendering (no secrets needed).
    fn paths(&self, host: &str) -> Vec<String>;

    /// `adopted_secrets`: the `scalr-server-secrets.json` the hosts already hold, if any.
    /// Returns each host's files (including the secrets file) and the secret values to mask.
    fn render(&self, adopted_secrets: Option<&[u8]>) -> Result<Rendered, String>;
}

#[derive(Debug, Clone, Default)]
pub struct Rendered {
    pub files: Vec<(String, Vec<DesiredFile>)>,
    pub secret_values: Vec<String>,
}

impl Rendered {
    pub fn files_for(&self, host: &str) -> &[DesiredFile] {
        self.files
            .iter()
            .find(|(h, _)| h == host)
            .map(|(_, f)| f.as_slice())
            .unwrap_or(&[])
    }

    /// One of `host`'s files, by its path on the host.
    pub fn file(&self, host: &str, path: &str) -> Option<&DesiredFile> {
        self.files_for(host).iter().find(|f| f.path == path)
    }
}
