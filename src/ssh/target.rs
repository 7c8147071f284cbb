//! Where and how to connect to one host, resolved once from the profile and `~/.ssh/config`.
//!
//! Precedence, highest first: the host's own `[hosts.ssh]` overrides, then `~/.ssh/config`
//! for the host's address (used as a Host alias), then the profile's `[ssh]` section. The
//! profile's `[ssh]` user and port only lose to ssh_config when they are left at their
//! defaults (`root`, `22`), because the profile cannot tell "unset" from "default".

use super::config::{home_dir, SshConfig};
use super::error::{SshError, SshErrorKind};
use crate::profile::model::{default_ssh_port, default_ssh_user, HostSpec, SshSpec, SudoMode};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A fully resolved connection target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// How the operator calls the host (profile host name); used in every message.
    pub name: String,
    /// What we connect to (after ssh_config `HostName`), and the name looked up in known_hosts.
    pub address: String,
    pub port: u16,
    pub user: String,
    /// Key files to try after the ssh-agent, in order.
    pub identity_files: Vec<PathBuf>,
    /// The ssh-agent socket (`SSH_AUTH_SOCK`, or ssh_config `IdentityAgent`); `None`: no agent.
    pub agent_socket: Option<PathBuf>,
    /// Reach this host through a tunnel from another one.
    pub jump: Option<Box<Target>>,
    /// known_hosts files consulted, in order.
    pub known_hosts: Vec<PathBuf>,
    /// Where `accept-new` records a new key.
    pub record_new_keys_in: PathBuf,
    /// A `SHA256:` fingerprint trusted without known_hosts.
    pub pinned_fingerprint: Option<String>,
    pub sudo: SudoMode,
    pub connect_timeout: Duration,
    pub keepalive_interval: Duration,
}

const DEFAULT_KEEPALIVE: Duration = Duration::from_secs(15);
const MAX_JUMP_HOPS: usize = 4;

impl Target {
    /// A target with the defaults OpenSSH would use: the user's known_hosts and key files.
    pub fn new(name: &str, address: &str, port: u16, user: &str) -> Target {
        let home = home_dir().unwrap_or_else(|| PathBuf::from("/root"));
        let ssh_dir = home.join(".ssh");
        Target {
            name: name.to_string(),
            address: address.to_string(),
            port,
            user: user.to_string(),
            identity_files: default_identity_files(&ssh_dir),
            agent_socket: std::env::var_os("SSH_AUTH_SOCK")
                .filter(|s| !s.is_empty())
                .map(PathBuf::from),
            jump: None,
            known_hosts: vec![ssh_dir.join("known_hosts"), ssh_dir.join("known_hosts2")],
            record_new_keys_in: ssh_dir.join("known_hosts"),
            pinned_fingerprint: None,
            sudo: SudoMode::None,
            connect_timeout: Duration::from_secs(crate::profile::model::default_connect_timeout()),
            keepalive_interval: DEFAULT_KEEPALIVE,
        }
    }

    /// Resolve a profile host. `profile_dir` anchors relative paths in the profile.
    pub fn from_profile(
        ssh: &SshSpec,
        host: &HostSpec,
        config: &SshConfig,
        profile_dir: &Path,
    ) -> Result<Target, SshError> {
        let bad = |reason: String| SshError::new(&host.name, SshErrorKind::Config { reason });
        if host.address.trim().is_empty() {
            return Err(bad("the host has no address".into()));
        }
        let hc = config.lookup(&host.address).map_err(bad)?;
        let mut t = Target::new(
            &host.name,
            hc.host_name.as_deref().unwrap_or(&host.address),
            22,
            "",
        );
        t.user = host
            .ssh
            .user
            .clone()
            .or_else(|| (ssh.user != default_ssh_user()).then(|| ssh.user.clone()))
            .or(hc.user.clone())
            .unwrap_or_else(|| ssh.user.clone());
        t.port = host
            .ssh
            .port
            .or_else(|| (ssh.port != default_ssh_port()).then_some(ssh.port))
            .or(hc.port)
            .unwrap_or(ssh.port);
        let resolve = |p: &Path| {
            if p.is_relative() {
                profile_dir.join(p)
            } else {
                p.to_path_buf()
            }
        };
        let explicit_key = host.ssh.key.as_deref().or(ssh.key.as_deref());
        if let Some(key) = explicit_key {
            t.identity_files = vec![resolve(&expand_tilde(key))];
        } else if !hc.identity_files.is_empty() {
            t.identity_files = hc.identity_files.iter().map(PathBuf::from).collect();
        }
        match hc.identity_agent.as_deref() {
            None | Some("SSH_AUTH_SOCK") => {}
            Some(a) if a.eq_ignore_ascii_case("none") => t.agent_socket = None,
            Some(a) => t.agent_socket = Some(PathBuf::from(a)),
        }
        if !hc.user_known_hosts_files.is_empty() {
            t.known_hosts = hc
                .user_known_hosts_files
                .iter()
                .map(PathBuf::from)
                .collect();
            t.record_new_keys_in = t.known_hosts[0].clone();
        }
        if let Some(deployment_file) = &ssh.known_hosts {
            let file = resolve(&expand_tilde(deployment_file));
            t.known_hosts.insert(0, file.clone());
            t.record_new_keys_in = file;
        }
        t.pinned_fingerprint = host.ssh.fingerprint.clone();
        t.sudo = host.ssh.sudo.unwrap_or(ssh.sudo);
        if ssh.connect_timeout_secs == 0 {
            return Err(bad("connect_timeout_secs must be at least 1".into()));
        }
        t.connect_timeout = Duration::from_secs(ssh.connect_timeout_secs);
        if let Some(secs) = ssh
            .keepalive_secs
            .or(hc.server_alive_interval_secs)
            .filter(|s| *s > 0)
        {
            t.keepalive_interval = Duration::from_secs(secs);
        }
        let jump_spec = match (&ssh.jump_host, &hc.proxy_jump) {
            (Some(j), _) => Some(j.clone()),
            (None, Some(j)) if !j.eq_ignore_ascii_case("none") => Some(j.clone()),
            _ => None,
        };
        if let Some(spec) = jump_spec {
            t.jump = Some(Box::new(t.jump_target(&spec, config, 1).map_err(bad)?));
        }
        Ok(t)
    }

    /// Build the bastion target for `spec` (`[user@]host[:port]`, or a comma list of hops
    /// where the last one is nearest the target, as in OpenSSH's ProxyJump).
    pub fn jump_target(
        &self,
        spec: &str,
        config: &SshConfig,
        depth: usize,
    ) -> Result<Target, String> {
        if depth > MAX_JUMP_HOPS {
            return Err(format!(
                "more than {MAX_JUMP_HOPS} jump hosts (is ProxyJump circular?)"
            ));
        }
        let mut hops: Vec<&str> = spec.split(',').map(str::trim).collect();
        let last = hops
            .pop()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| format!("empty jump host {spec:?}"))?;
        let (user, host, port) = parse_jump_spec(last)?;
        let hc = config.lookup(&host)?;
        let mut j = Target::new(
            &format!("{host} (jump host)"),
            hc.host_name.as_deref().unwrap_or(&host),
            22,
            "",
        );
        j.user = user
            .or(hc.user.clone())
            .unwrap_or_else(|| self.user.clone());
        j.port = port.or(hc.port).unwrap_or(22);
        j.identity_files = if hc.identity_files.is_empty() {
            self.identity_files.clone()
        } else {
            hc.identity_files.iter().map(PathBuf::from).collect()
        };
        j.agent_socket = self.agent_socket.clone();
        j.known_hosts = self.known_hosts.clone();
        j.record_new_keys_in = self.record_new_keys_in.clone();
        j.connect_timeout = self.connect_timeout;
        j.keepalive_interval = self.keepalive_interval;
        let inner = if hops.is_empty() {
            hc.proxy_jump.filter(|p| !p.eq_ignore_ascii_case("none"))
        } else {
            Some(hops.join(","))
        };
        if let Some(inner) = inner {
            j.jump = Some(Box::new(j.jump_target(&inner, config, depth + 1)?));
        }
        Ok(j)
    }

    /// `user@address:port` for messages.
    pub fn display_address(&self) -> String {
        format!("{}@{}:{}", self.user, self.address, self.port)
    }
}

/// Parse `[user@]host[:port]` (IPv6 as `[addr]:port`).
pub fn parse_jump_spec(spec: &str) -> Result<(Option<String>, String, Option<u16>), String> {
    let (user, hostport) = match spec.rsplit_once('@') {
        Some((u, h)) if !u.is_empty() => (Some(u.to_string()), h),
        Some(_) => return Err(format!("jump host {spec:?} has an empty user")),
        None => (None, spec),
    };
    let (host, port) = if let Some(rest) = hostport.strip_prefix('[') {
        let (h, after) = rest
            .split_once(']')
            .ok_or_else(|| format!("jump host {spec:?}: missing ']'"))?;
        (h.to_string(), after.strip_prefix(':'))
    } else {
        match hostport.split_once(':') {
            Some((h, p)) => (h.to_string(), Some(p)),
            None => (hostport.to_string(), None),
        }
    };
    if host.is_empty() {
        return Err(format!("jump host {spec:?} has no host name"));
    }
    let port = port
        .map(|p| {
            p.parse::<u16>()
                .map_err(|_| format!("jump host {spec:?}: {p:?} is not a port number"))
        })
        .transpose()?;
    Ok((user, host, port))
}

fn default_identity_files(ssh_dir: &Path) -> Vec<PathBuf> {
    ["id_ed25519", "id_ecdsa", "id_rsa"]
        .iter()
        .map(|n| ssh_dir.join(n))
        .collect()
}

fn expand_tilde(p: &Path) -> PathBuf {
    match (p.strip_prefix("~"), home_dir()) {
        (Ok(rest), Some(home)) => home.join(rest),
        _ => p.to_path_buf(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::model::HostSsh;

    fn host(address: &str) -> HostSpec {
        HostSpec {
            name: "app-1".into(),
            address: address.into(),
            private_address: None,
            role: None,
            modules: vec![],
            db_replica: false,
            os: None,
            ssh: HostSsh::default(),
        }
    }

    fn config(text: &str) -> SshConfig {
        SshConfig::parse(text, Path::new("/cfg")).unwrap()
    }

    #[test]
    fn ssh_config_alias_fills_what_the_profile_leaves_at_defaults() {
        let cfg = config(
            "Host app1\n HostName 127.0.0.5\n User deploy\n Port 2022\n IdentityFile /k/id\n",
        );
        let t = Target::from_profile(&SshSpec::default(), &host("app1"), &cfg, Path::new("/p"))
            .unwrap();
        assert_eq!(
            (t.address.as_str(), t.port, t.user.as_str()),
            ("127.0.0.5", 2022, "deploy")
        );
        assert_eq!(t.identity_files, vec![PathBuf::from("/k/id")]);
    }

    #[test]
    fn per_host_overrides_beat_everything() {
        let cfg = config("Host app1\n User deploy\n Port 2022\n");
        let mut h = host("app1");
        h.ssh.user = Some("ops".into());
        h.ssh.port = Some(2200);
        h.ssh.key = Some("keys/ops".into());
        h.ssh.sudo = Some(SudoMode::Password);
        let spec = SshSpec {
            known_hosts: Some("state/known_hosts".into()),
            ..SshSpec::default()
        };
        let t = Target::from_profile(&spec, &h, &cfg, Path::new("/p")).unwrap();
        assert_eq!(
            (t.port, t.user.as_str(), t.sudo),
            (2200, "ops", SudoMode::Password)
        );
        assert_eq!(t.identity_files, vec![PathBuf::from("/p/keys/ops")]);
        assert_eq!(t.known_hosts[0], PathBuf::from("/p/state/known_hosts"));
        assert_eq!(t.record_new_keys_in, PathBuf::from("/p/state/known_hosts"));
    }

    #[test]
    fn jump_host_from_profile_or_proxyjump_chain() {
        let cfg =
            config("Host inner\n ProxyJump outer\nHost outer\n HostName 127.0.0.7\n User gw\n");
        let spec = SshSpec {
            jump_host: Some("bastion@127.0.0.6:2201".into()),
            ..SshSpec::default()
        };
        let t = Target::from_profile(&spec, &host("127.0.0.4"), &cfg, Path::new("/p")).unwrap();
        let j = t.jump.unwrap();
        assert_eq!(
            (j.user.as_str(), j.address.as_str(), j.port),
            ("bastion", "127.0.0.6", 2201)
        );

        let t = Target::from_profile(&SshSpec::default(), &host("inner"), &cfg, Path::new("/p"))
            .unwrap();
        let j = t.jump.unwrap();
        assert_eq!((j.user.as_str(), j.address.as_str()), ("gw", "127.0.0.7"));
    }

    #[test]
    fn circular_proxyjump_is_an_error() {
        let cfg = config("Host a\n ProxyJump b\nHost b\n ProxyJump a\n");
        let err = Target::from_profile(&SshSpec::default(), &host("a"), &cfg, Path::new("/p"))
            .unwrap_err();
        assert!(err.to_string().contains("circular"), "{err}");
    }

    #[test]
    fn jump_specs_parse() {
        assert_eq!(parse_jump_spec("h").unwrap(), (None, "h".into(), None));
        assert_eq!(
            parse_jump_spec("u@h:22").unwrap(),
            (Some("u".into()), "h".into(), Some(22))
        );
        assert_eq!(
            parse_jump_spec("[::1]:2222").unwrap(),
            (None, "::1".into(), Some(2222))
        );
        assert!(parse_jump_spec("u@h:port").is_err());
    }
}
