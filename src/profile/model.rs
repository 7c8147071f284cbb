//! The profile: every answer of the wizard, and the only input of headless mode.
//!
//! These types mirror the TOML file one to one (`deny_unknown_fields` everywhere, so a typo'd key
//! is an error, never silently ignored). Secrets are deliberately absent: they live in the
//! deployment's state directory, and tokens come from the environment or a prompt.

use crate::topology::{Module, OsId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The schema version this build reads and writes.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// Bumped when the format changes incompatibly; older files are migrated on load.
    pub schema: u32,
    /// Names the deployment: its state directory (secrets, run logs) is keyed by it.
    pub name: String,
    pub layout: Layout,
    #[serde(default)]
    pub scalr: ScalrSpec,
    pub package: PackageSpec,
    pub endpoint: EndpointSpec,
    #[serde(default)]
    pub network: NetworkSpec,
    #[serde(default)]
    pub database: DatabaseSpec,
    #[serde(default)]
    pub ssh: SshSpec,
    pub hosts: Vec<HostSpec>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Layout {
    /// One VM runs everything (`enable_all true`).
    Compact,
    /// The spec's six VMs: two proxy+app+session, a worker, InfluxDB, a MySQL master and slave.
    Ha,
    /// The operator assigns modules to hosts.
    Custom,
}

/// The part a host plays in the `ha` layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HaRole {
    /// Proxy, App and Session (two hosts).
    App,
    /// Worker and RabbitMQ (one host).
    Worker,
    /// InfluxDB (one host).
    Influxdb,
    /// The active MySQL server holding the main and cost analytics databases.
    DbMaster,
    /// The passive MySQL replica.
    DbSlave,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScalrSpec {
    /// Pin the package version (e.g. `8.0.1`); absent means the newest in the repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The `license.json` Scalr issued; relative paths are relative to the profile file.
    #[serde(default)]
    pub license_file: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "source", rename_all = "kebab-case", deny_unknown_fields)]
pub enum PackageSpec {
    /// packagecloud: the download token is read from `token_env` (or asked for); never stored.
    Packagecloud {
        #[serde(default = "default_repository")]
        repository: String,
        #[serde(default = "default_token_env")]
        token_env: String,
    },
    /// Package files uploaded to each host, for sites without internet access.
    Local { files: Vec<PathBuf> },
}

pub fn default_repository() -> String {
    "scalr/scalr-server-ee".into()
}

pub fn default_token_env() -> String {
    "SCALR_PACKAGECLOUD_TOKEN".into()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointSpec {
    /// What Scalr advertises (`routing[:endpoint_host]`): the load balancer's DNS name, or the
    /// single host in the compact layout.
    pub host: String,
    #[serde(default)]
    pub scheme: Scheme,
    /// With https: the certificate and key the proxies serve (paths on this machine).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_cert: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_key: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scheme {
    #[default]
    Http,
    Https,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkSpec {
    /// How Scalr reaches managed instances unless a cloud overrides it.
    #[serde(default)]
    pub connection_policy: ConnectionPolicy,
    /// Per-cloud overrides, keyed by Scalr's platform id (`ec2`, `azure`, `gce`, `openstack`, …).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub clouds: BTreeMap<String, ConnectionPolicy>,
    /// CIDRs Scalr whitelists in the security groups it creates (`app[:ip_ranges]`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ip_ranges: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConnectionPolicy {
    /// Public IP only; every instance needs one.
    Public,
    /// Private IP only; Scalr must be routed to the instances' networks.
    Local,
    /// Public when present, else private.
    #[default]
    Auto,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSpec {
    /// An external MySQL 5.7 (e.g. RDS) instead of the bundled one: no host runs `mysql`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external: Option<ExternalDatabase>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExternalDatabase {
    pub host: String,
    #[serde(default = "default_mysql_port")]
    pub port: u16,
    /// The `scalr` user's password is read from this environment variable (or asked for) once,
    /// then kept with the deployment's other secrets.
    #[serde(default = "default_db_password_env")]
    pub password_env: String,
}

pub fn default_mysql_port() -> u16 {
    3306
}

pub fn default_db_password_env() -> String {
    "SCALR_DB_PASSWORD".into()
}

/// How the installer logs in; every field can be overridden per host.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SshSpec {
    #[serde(default = "default_ssh_user")]
    pub user: String,
    #[serde(default = "default_ssh_port")]
    pub port: u16,
    /// Private key file; absent means ssh-agent, then `~/.ssh/config`'s IdentityFile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<PathBuf>,
    /// When the login user is not root: how to become root.
    #[serde(default)]
    pub sudo: SudoMode,
    #[serde(default)]
    pub host_key_policy: HostKeyPolicy,
    /// A known_hosts file used besides the user's own (relative to the profile file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub known_hosts: Option<PathBuf>,
    /// A bastion to reach private VMs through (`user@host:port`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jump_host: Option<String>,
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout_secs: u64,
    /// Seconds between keepalives; three unanswered ones mean the host is gone (default 15, or
    /// `ServerAliveInterval` from `~/.ssh/config`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keepalive_secs: Option<u64>,
    /// Time limit of one short remote command (default 120).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command_timeout_secs: Option<u64>,
    /// How long to keep reconnecting to a host that dropped during a long step (default 120).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reconnect_window_secs: Option<u64>,
}

impl Default for SshSpec {
    fn default() -> Self {
        SshSpec {
            user: default_ssh_user(),
            port: default_ssh_port(),
            key: None,
            sudo: SudoMode::default(),
            host_key_policy: HostKeyPolicy::default(),
            known_hosts: None,
            jump_host: None,
            connect_timeout_secs: default_connect_timeout(),
            keepalive_secs: None,
            command_timeout_secs: None,
            reconnect_window_secs: None,
        }
    }
}

pub fn default_ssh_user() -> String {
    "root".into()
}

pub fn default_ssh_port() -> u16 {
    22
}

pub fn default_connect_timeout() -> u64 {
    10
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SudoMode {
    /// Log in as root, or as a user whose commands need no elevation.
    #[default]
    None,
    /// `sudo -n`: the user may run anything without a password.
    Passwordless,
    /// `sudo -S`: the password is read from `SCALR_SUDO_PASSWORD` or asked for, and fed on stdin.
    Password,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HostKeyPolicy {
    /// Only hosts already in known_hosts (or pinned in the profile) are trusted.
    #[default]
    Strict,
    /// Unknown hosts are trusted on first use and recorded; changed keys still stop the run.
    AcceptNew,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostSpec {
    /// A short unique name (`app-1`, `db-master`); used in output and rendered directory names.
    pub name: String,
    /// How the installer reaches the host: an IP address or DNS name.
    pub address: String,
    /// The address the other Scalr nodes use; defaults to `address`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_address: Option<String>,
    /// `ha` layout: the part this host plays.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<HaRole>,
    /// `custom` layout: the modules this host runs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub modules: Vec<Module>,
    /// `custom` layout: this database host is the passive replica of the other one.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub db_replica: bool,
    /// The OS the operator expects; the checks compare it with what the host reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os: Option<OsId>,
    #[serde(default, skip_serializing_if = "HostSsh::is_empty")]
    pub ssh: HostSsh,
}

/// Per-host overrides of `[ssh]`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostSsh {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sudo: Option<SudoMode>,
    /// Pinned host key fingerprint (`SHA256:…`), trusted without known_hosts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
}

impl HostSsh {
    pub fn is_empty(&self) -> bool {
        *self == HostSsh::default()
    }
}

impl HostSpec {
    pub fn private_address(&self) -> &str {
        self.private_address.as_deref().unwrap_or(&self.address)
    }
}
