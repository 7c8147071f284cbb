//! The wizard's questions, shared by the full-screen wizard and the line-mode (`--plain`) one.
//!
//! Both front ends walk the same steps, ask the same [`Key`]s in the same order (see
//! [`questions`]), check every answer with the same [`validate`] (which calls
//! `profile::rules`, so messages match profile validation word for word) and build the profile
//! with the same [`Draft::to_profile`]. That is what makes "the same answers produce the same
//! profile" true by construction rather than by care.
//!
//! A [`Draft`] holds answers as text, because a half-typed answer (`"22a"`) must be representable
//! while the operator is still typing; it becomes a [`Profile`] only when every answer is valid.

use crate::profile::{
    rules, ConnectionPolicy, EndpointSpec, HaRole, HostKeyPolicy, HostSpec, Layout, NetworkSpec,
    PackageSpec, Profile, ScalrSpec, Scheme, SshSpec, SudoMode, SCHEMA_VERSION,
};
use crate::topology::{Module, OsId};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The wizard's pages, in the order they are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Step {
    Layout,
    Hosts,
    Os,
    Network,
    Package,
    Ssh,
    Review,
}

impl Step {
    pub const ALL: [Step; 7] = [
        Step::Layout,
        Step::Hosts,
        Step::Os,
        Step::Network,
        Step::Package,
        Step::Ssh,
        Step::Review,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Step::Layout => "Layout",
            Step::Hosts => "Hosts",
            Step::Os => "Operating system",
            Step::Network => "Network",
            Step::Package => "Package",
            Step::Ssh => "SSH access",
            Step::Review => "Review",
        }
    }

    pub fn index(self) -> usize {
        Step::ALL.iter().position(|s| *s == self).unwrap_or(0)
    }

    pub fn next(self) -> Option<Step> {
        Step::ALL.get(self.index() + 1).copied()
    }

    pub fn prev(self) -> Option<Step> {
        self.index().checked_sub(1).map(|i| Step::ALL[i])
    }
}

/// One question.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Key {
    Name,
    Layout,
    Host(usize, HostKey),
    EndpointHost,
    Scheme,
    TlsCert,
    TlsKey,
    ConnectionPolicy,
    Clouds,
    IpRanges,
    Source,
    Repository,
    TokenEnv,
    Files,
    Version,
    LicenseFile,
    SshUser,
    SshPort,
    SshKey,
    Sudo,
    HostKeyPolicy,
    KnownHosts,
    JumpHost,
    ConnectTimeout,
}

/// The hosts to connect to and how to log in, for OS detection.
pub type DetectionTargets = (Vec<HostSpec>, SshSpec);

/// One question about one host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HostKey {
    Name,
    Address,
    PrivateAddress,
    Role,
    Modules,
    DbReplica,
    Os,
    User,
    Port,
    SshKey,
}

/// A value an operator can pick, and how it is shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    pub value: &'static str,
    pub label: &'static str,
}

const fn choice(value: &'static str, label: &'static str) -> Choice {
    Choice { value, label }
}

/// How a question is answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// Free text; `optional` ones may stay empty.
    Text { optional: bool },
    /// Exactly one of the choices.
    Choice(Vec<Choice>),
    /// Any number of the choices (stored comma-separated).
    Multi(Vec<Choice>),
}

/// The text a question shows: its label and one line that explains it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    pub key: Key,
    pub label: String,
    pub help: &'static str,
    pub kind: Kind,
}

/// The answers of one host.
#[derive(Debug, Clone, PartialEq)]
pub struct HostDraft {
    pub name: String,
    pub address: String,
    pub private_address: String,
    /// `ha`: the role's profile value (`db-master`).
    pub role: String,
    /// `custom`: module keys, comma-separated.
    pub modules: String,
    /// `custom`: "yes" when this database host is the replica.
    pub db_replica: String,
    /// An `OsId` key, or empty when the operator leaves it to detection.
    pub os: String,
    pub user: String,
    pub port: String,
    pub ssh_key: String,
    /// Kept from an opened profile; the wizard does not ask these.
    preserved: HostSpec,
}

/// Every answer of the wizard, as text.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    pub name: String,
    pub layout: String,
    pub hosts: Vec<HostDraft>,
    pub endpoint_host: String,
    pub scheme: String,
    pub tls_cert: String,
    pub tls_key: String,
    pub connection_policy: String,
    /// `cloud=policy` pairs, comma-separated (`ec2=local, azure=public`).
    pub clouds: String,
    /// CIDRs, comma-separated.
    pub ip_ranges: String,
    pub source: String,
    pub repository: String,
    pub token_env: String,
    /// Package files, comma-separated.
    pub files: String,
    pub version: String,
    pub license_file: String,
    pub ssh_user: String,
    pub ssh_port: String,
    pub ssh_key: String,
    pub sudo: String,
    pub host_key_policy: String,
    pub known_hosts: String,
    pub jump_host: String,
    pub connect_timeout: String,
    /// What an opened profile holds that the wizard does not ask (an external database, SSH
    /// time limits).
    base: Option<Profile>,
}

const LAYOUTS: [Choice; 3] = [
    choice("ha", "HA — six VMs, no single point of failure"),
    choice("compact", "Compact — everything on one VM (evaluation)"),
    choice("custom", "Custom — you place each module"),
];

const SCHEMES: [Choice; 2] = [
    choice("http", "http"),
    choice("https", "https (certificate and key needed)"),
];

const POLICIES: [Choice; 3] = [
    choice(
        "auto",
        "auto — public IP when an instance has one, else private",
    ),
    choice("public", "public — every instance needs a public IP"),
    choice("local", "local — private IPs; Scalr must be routed to them"),
];

const SOURCES: [Choice; 2] = [
    choice(
        "packagecloud",
        "packagecloud — download with your Scalr token",
    ),
    choice("local", "local — upload package files (no internet)"),
];

const SUDO: [Choice; 3] = [
    choice("none", "none — log in as root"),
    choice("passwordless", "passwordless — sudo -n"),
    choice("password", "password — asked for, fed to sudo on stdin"),
];

const HOST_KEY_POLICIES: [Choice; 2] = [
    choice("strict", "strict — only hosts already in known_hosts"),
    choice(
        "accept-new",
        "accept-new — trust on first use, record the key",
    ),
];

const ROLES: [Choice; 5] = [
    choice("app", "app (proxy, app, session)"),
    choice("worker", "worker (worker, rabbitmq)"),
    choice("influxdb", "influxdb"),
    choice("db-master", "db-master (active MySQL)"),
    choice("db-slave", "db-slave (MySQL replica)"),
];

const YES_NO: [Choice; 2] = [choice("no", "no"), choice("yes", "yes")];

fn os_choices() -> Vec<Choice> {
    let mut v = vec![choice("", "not set — detected over SSH by the checks")];
    v.extend(OsId::ALL.iter().map(|os| choice(os.key(), os.title())));
    v
}

fn module_choices() -> Vec<Choice> {
    Module::ALL
        .iter()
        .map(|m| choice(m.key(), m.title()))
        .collect()
}

/// The six hosts of the `ha` layout, named after their roles.
const HA_HOSTS: [(&str, &str); 6] = [
    ("app-1", "app"),
    ("app-2", "app"),
    ("worker", "worker"),
    ("influxdb", "influxdb"),
    ("db-master", "db-master"),
    ("db-slave", "db-slave"),
];

impl Default for Draft {
    fn default() -> Self {
        let ssh = SshSpec::default();
        let mut d = Draft {
            name: "scalr".into(),
            layout: "ha".into(),
            hosts: Vec::new(),
            endpoint_host: String::new(),
            scheme: "http".into(),
            tls_cert: String::new(),
            tls_key: String::new(),
            connection_policy: "auto".into(),
            clouds: String::new(),
            ip_ranges: String::new(),
            source: "packagecloud".into(),
            repository: crate::profile::default_repository(),
            token_env: crate::profile::default_token_env(),
            files: String::new(),
            version: String::new(),
            license_file: "license.json".into(),
            ssh_user: ssh.user,
            ssh_port: ssh.port.to_string(),
            ssh_key: String::new(),
            sudo: "none".into(),
            host_key_policy: "strict".into(),
            known_hosts: String::new(),
            jump_host: String::new(),
            connect_timeout: ssh.connect_timeout_secs.to_string(),
            base: None,
        };
        d.reshape_hosts();
        d
    }
}

fn list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

fn path_text(p: &Option<PathBuf>) -> String {
    p.as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_default()
}

fn opt_path(text: &str) -> Option<PathBuf> {
    let t = text.trim();
    (!t.is_empty()).then(|| PathBuf::from(t))
}

fn opt_text(text: &str) -> Option<String> {
    let t = text.trim();
    (!t.is_empty()).then(|| t.to_string())
}

fn enum_key<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn parse_enum<T: serde::de::DeserializeOwned>(value: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(value.to_string())).ok()
}

impl HostDraft {
    fn named(name: &str) -> HostDraft {
        HostDraft {
            name: name.into(),
            db_replica: "no".into(),
            address: String::new(),
            private_address: String::new(),
            role: String::new(),
            modules: String::new(),
            os: String::new(),
            user: String::new(),
            port: String::new(),
            ssh_key: String::new(),
            preserved: HostSpec {
                name: String::new(),
                address: String::new(),
                private_address: None,
                role: None,
                modules: Vec::new(),
                db_replica: false,
                os: None,
                ssh: Default::default(),
            },
        }
    }

    fn from_spec(h: &HostSpec) -> HostDraft {
        HostDraft {
            name: h.name.clone(),
            address: h.address.clone(),
            private_address: h.private_address.clone().unwrap_or_default(),
            role: h.role.map(|r| enum_key(&r)).unwrap_or_default(),
            modules: h
                .modules
                .iter()
                .map(|m| m.key())
                .collect::<Vec<_>>()
                .join(","),
            db_replica: if h.db_replica { "yes" } else { "no" }.into(),
            os: h.os.map(|o| o.key().to_string()).unwrap_or_default(),
            user: h.ssh.user.clone().unwrap_or_default(),
            port: h.ssh.port.map(|p| p.to_string()).unwrap_or_default(),
            ssh_key: path_text(&h.ssh.key),
            preserved: h.clone(),
        }
    }

    pub fn module_list(&self) -> Vec<Module> {
        list(&self.modules)
            .iter()
            .filter_map(|m| parse_enum::<Module>(m))
            .collect()
    }
}

impl Draft {
    /// Every answer pre-filled from an existing profile (re-running to reconfigure).
    pub fn from_profile(p: &Profile) -> Draft {
        let (source, repository, token_env, files) = match &p.package {
            PackageSpec::Packagecloud {
                repository,
                token_env,
            } => (
                "packagecloud",
                repository.clone(),
                token_env.clone(),
                String::new(),
            ),
            PackageSpec::Local { files } => (
                "local",
                crate::profile::default_repository(),
                crate::profile::default_token_env(),
                files
                    .iter()
                    .map(|f| f.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
        };
        Draft {
            name: p.name.clone(),
            layout: enum_key(&p.layout),
            hosts: p.hosts.iter().map(HostDraft::from_spec).collect(),
            endpoint_host: p.endpoint.host.clone(),
            scheme: enum_key(&p.endpoint.scheme),
            tls_cert: path_text(&p.endpoint.tls_cert),
            tls_key: path_text(&p.endpoint.tls_key),
            connection_policy: enum_key(&p.network.connection_policy),
            clouds: p
                .network
                .clouds
                .iter()
                .map(|(c, pol)| format!("{c}={}", enum_key(pol)))
                .collect::<Vec<_>>()
                .join(", "),
            ip_ranges: p.network.ip_ranges.join(", "),
            source: source.into(),
            repository,
            token_env,
            files,
            version: p.scalr.version.clone().unwrap_or_default(),
            license_file: p.scalr.license_file.display().to_string(),
            ssh_user: p.ssh.user.clone(),
            ssh_port: p.ssh.port.to_string(),
            ssh_key: path_text(&p.ssh.key),
            sudo: enum_key(&p.ssh.sudo),
            host_key_policy: enum_key(&p.ssh.host_key_policy),
            known_hosts: path_text(&p.ssh.known_hosts),
            jump_host: p.ssh.jump_host.clone().unwrap_or_default(),
            connect_timeout: p.ssh.connect_timeout_secs.to_string(),
            base: Some(p.clone()),
        }
    }

    pub fn layout(&self) -> Layout {
        parse_enum(&self.layout).unwrap_or(Layout::Ha)
    }

    /// Whether an opened profile runs an external database (no db hosts in `ha`).
    pub fn external_database(&self) -> bool {
        self.base
            .as_ref()
            .is_some_and(|b| b.database.external.is_some())
    }

    /// Fits the host list to the layout: `ha` gets its six roles, `compact` one host, `custom`
    /// keeps what is there. Answers already given stay with the host at the same position.
    pub fn reshape_hosts(&mut self) {
        match self.layout() {
            Layout::Ha => {
                let roles: Vec<(&str, &str)> = HA_HOSTS
                    .iter()
                    .copied()
                    .filter(|(_, r)| !(self.external_database() && r.starts_with("db-")))
                    .collect();
                self.hosts.truncate(roles.len());
                for (i, (name, role)) in roles.iter().enumerate() {
                    if i >= self.hosts.len() {
                        self.hosts.push(HostDraft::named(name));
                    }
                    let h = &mut self.hosts[i];
                    if h.role.is_empty() {
                        h.role = (*role).into();
                    }
                    h.modules.clear();
                    h.db_replica = "no".into();
                }
            }
            Layout::Compact => {
                self.hosts.truncate(1);
                if self.hosts.is_empty() {
                    self.hosts.push(HostDraft::named("scalr"));
                }
                let h = &mut self.hosts[0];
                h.role.clear();
                h.modules.clear();
                h.db_replica = "no".into();
            }
            Layout::Custom => {
                if self.hosts.is_empty() {
                    self.hosts.push(HostDraft::named("scalr-1"));
                }
                for h in &mut self.hosts {
                    h.role.clear();
                }
            }
        }
    }

    /// Adds a host (custom layout), named so it does not clash.
    pub fn add_host(&mut self) -> usize {
        let mut n = self.hosts.len() + 1;
        while self.hosts.iter().any(|h| h.name == format!("scalr-{n}")) {
            n += 1;
        }
        self.hosts.push(HostDraft::named(&format!("scalr-{n}")));
        self.hosts.len() - 1
    }

    pub fn get(&self, key: Key) -> &str {
        match key {
            Key::Name => &self.name,
            Key::Layout => &self.layout,
            Key::Host(i, hk) => {
                let Some(h) = self.hosts.get(i) else {
                    return "";
                };
                match hk {
                    HostKey::Name => &h.name,
                    HostKey::Address => &h.address,
                    HostKey::PrivateAddress => &h.private_address,
                    HostKey::Role => &h.role,
                    HostKey::Modules => &h.modules,
                    HostKey::DbReplica => &h.db_replica,
                    HostKey::Os => &h.os,
                    HostKey::User => &h.user,
                    HostKey::Port => &h.port,
                    HostKey::SshKey => &h.ssh_key,
                }
            }
            Key::EndpointHost => &self.endpoint_host,
            Key::Scheme => &self.scheme,
            Key::TlsCert => &self.tls_cert,
            Key::TlsKey => &self.tls_key,
            Key::ConnectionPolicy => &self.connection_policy,
            Key::Clouds => &self.clouds,
            Key::IpRanges => &self.ip_ranges,
            Key::Source => &self.source,
            Key::Repository => &self.repository,
            Key::TokenEnv => &self.token_env,
            Key::Files => &self.files,
            Key::Version => &self.version,
            Key::LicenseFile => &self.license_file,
            Key::SshUser => &self.ssh_user,
            Key::SshPort => &self.ssh_port,
            Key::SshKey => &self.ssh_key,
            Key::Sudo => &self.sudo,
            Key::HostKeyPolicy => &self.host_key_policy,
            Key::KnownHosts => &self.known_hosts,
            Key::JumpHost => &self.jump_host,
            Key::ConnectTimeout => &self.connect_timeout,
        }
    }

    /// Sets an answer. Changing the layout reshapes the host list.
    pub fn set(&mut self, key: Key, value: String) {
        let slot: &mut String = match key {
            Key::Name => &mut self.name,
            Key::Layout => {
                self.layout = value;
                self.reshape_hosts();
                return;
            }
            Key::Host(i, hk) => {
                let Some(h) = self.hosts.get_mut(i) else {
                    return;
                };
                match hk {
                    HostKey::Name => &mut h.name,
                    HostKey::Address => &mut h.address,
                    HostKey::PrivateAddress => &mut h.private_address,
                    HostKey::Role => &mut h.role,
                    HostKey::Modules => &mut h.modules,
                    HostKey::DbReplica => &mut h.db_replica,
                    HostKey::Os => &mut h.os,
                    HostKey::User => &mut h.user,
                    HostKey::Port => &mut h.port,
                    HostKey::SshKey => &mut h.ssh_key,
                }
            }
            Key::EndpointHost => &mut self.endpoint_host,
            Key::Scheme => &mut self.scheme,
            Key::TlsCert => &mut self.tls_cert,
            Key::TlsKey => &mut self.tls_key,
            Key::ConnectionPolicy => &mut self.connection_policy,
            Key::Clouds => &mut self.clouds,
            Key::IpRanges => &mut self.ip_ranges,
            Key::Source => &mut self.source,
            Key::Repository => &mut self.repository,
            Key::TokenEnv => &mut self.token_env,
            Key::Files => &mut self.files,
            Key::Version => &mut self.version,
            Key::LicenseFile => &mut self.license_file,
            Key::SshUser => &mut self.ssh_user,
            Key::SshPort => &mut self.ssh_port,
            Key::SshKey => &mut self.ssh_key,
            Key::Sudo => &mut self.sudo,
            Key::HostKeyPolicy => &mut self.host_key_policy,
            Key::KnownHosts => &mut self.known_hosts,
            Key::JumpHost => &mut self.jump_host,
            Key::ConnectTimeout => &mut self.connect_timeout,
        };
        *slot = value;
    }

    /// Builds the profile, or names every answer that is not valid yet.
    pub fn to_profile(&self) -> Result<Profile, Vec<(Key, String)>> {
        let errors: Vec<(Key, String)> = Step::ALL
            .iter()
            .flat_map(|s| questions(self, *s))
            .filter_map(|q| validate(self, q.key).err().map(|m| (q.key, m)))
            .collect();
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(self.build())
    }

    /// What OS detection needs — the hosts and how to log in — once those answers are valid.
    pub fn detection_targets(&self) -> Result<DetectionTargets, Vec<(Key, String)>> {
        let errors: Vec<(Key, String)> = [Step::Hosts, Step::Ssh]
            .iter()
            .flat_map(|s| questions(self, *s))
            .filter_map(|q| validate(self, q.key).err().map(|m| (q.key, m)))
            .collect();
        if !errors.is_empty() {
            return Err(errors);
        }
        let p = self.build();
        Ok((p.hosts, p.ssh))
    }

    /// The profile the answers describe; only meaningful once they validate.
    fn build(&self) -> Profile {
        let base = self.base.clone();
        let layout = self.layout();
        let hosts = self
            .hosts
            .iter()
            .map(|h| {
                let mut spec = h.preserved.clone();
                spec.name = h.name.trim().to_string();
                spec.address = h.address.trim().to_string();
                spec.private_address = opt_text(&h.private_address);
                spec.role = match layout {
                    Layout::Ha => parse_enum::<HaRole>(&h.role),
                    _ => None,
                };
                spec.modules = match layout {
                    Layout::Custom => h.module_list(),
                    _ => Vec::new(),
                };
                spec.db_replica = layout == Layout::Custom && h.db_replica == "yes";
                spec.os = OsId::parse(&h.os);
                spec.ssh.user = opt_text(&h.user);
                spec.ssh.port = h.port.trim().parse().ok();
                spec.ssh.key = opt_path(&h.ssh_key);
                spec
            })
            .collect();
        let https = self.scheme == "https";
        Profile {
            schema: SCHEMA_VERSION,
            name: self.name.trim().to_string(),
            layout,
            scalr: ScalrSpec {
                version: opt_text(&self.version),
                license_file: PathBuf::from(self.license_file.trim()),
            },
            package: if self.source == "local" {
                PackageSpec::Local {
                    files: list(&self.files).into_iter().map(PathBuf::from).collect(),
                }
            } else {
                PackageSpec::Packagecloud {
                    repository: self.repository.trim().to_string(),
                    token_env: self.token_env.trim().to_string(),
                }
            },
            endpoint: EndpointSpec {
                host: self.endpoint_host.trim().to_string(),
                scheme: if https { Scheme::Https } else { Scheme::Http },
                tls_cert: if https {
                    opt_path(&self.tls_cert)
                } else {
                    None
                },
                tls_key: if https { opt_path(&self.tls_key) } else { None },
            },
            network: NetworkSpec {
                connection_policy: parse_enum(&self.connection_policy).unwrap_or_default(),
                clouds: cloud_pairs(&self.clouds)
                    .into_iter()
                    .filter_map(|(c, p)| parse_enum::<ConnectionPolicy>(&p).map(|p| (c, p)))
                    .collect(),
                ip_ranges: list(&self.ip_ranges),
            },
            database: base
                .as_ref()
                .map(|b| b.database.clone())
                .unwrap_or_default(),
            ssh: SshSpec {
                user: self.ssh_user.trim().to_string(),
                port: self.ssh_port.trim().parse().unwrap_or(22),
                key: opt_path(&self.ssh_key),
                sudo: parse_enum::<SudoMode>(&self.sudo).unwrap_or_default(),
                host_key_policy: parse_enum::<HostKeyPolicy>(&self.host_key_policy)
                    .unwrap_or_default(),
                known_hosts: opt_path(&self.known_hosts),
                jump_host: opt_text(&self.jump_host),
                connect_timeout_secs: self.connect_timeout.trim().parse().unwrap_or(10),
                // Time limits are tuned by hand in the profile; the wizard keeps what it opened.
                keepalive_secs: base.as_ref().and_then(|b| b.ssh.keepalive_secs),
                command_timeout_secs: base.as_ref().and_then(|b| b.ssh.command_timeout_secs),
                reconnect_window_secs: base.as_ref().and_then(|b| b.ssh.reconnect_window_secs),
            },
            hosts,
        }
    }
}

fn cloud_pairs(text: &str) -> Vec<(String, String)> {
    list(text)
        .into_iter()
        .map(|pair| match pair.split_once('=') {
            Some((c, p)) => (c.trim().to_string(), p.trim().to_string()),
            None => (pair, String::new()),
        })
        .collect()
}

/// The questions of a step, in order, for the draft as it is now (a field that does not apply —
/// the TLS files with http, say — is not asked).
pub fn questions(d: &Draft, step: Step) -> Vec<Question> {
    let q = |key, label: &str, help, kind| Question {
        key,
        label: label.to_string(),
        help,
        kind,
    };
    let text = Kind::Text { optional: false };
    let optional = Kind::Text { optional: true };
    let layout = d.layout();
    match step {
        Step::Layout => vec![
            q(
                Key::Name,
                "Deployment name",
                "Names the profile file and the state directory (secrets, run logs).",
                text,
            ),
            q(
                Key::Layout,
                "Layout",
                "Which VMs run which modules; the diagram below shows what each VM needs.",
                Kind::Choice(LAYOUTS.to_vec()),
            ),
        ],
        Step::Hosts => (0..d.hosts.len())
            .flat_map(|i| host_questions(d, i, layout))
            .collect(),
        Step::Os => (0..d.hosts.len())
            .map(|i| {
                q(
                    Key::Host(i, HostKey::Os),
                    &d.hosts[i].name,
                    "The OS you expect; the checks compare it with what the host reports.",
                    Kind::Choice(os_choices()),
                )
            })
            .collect(),
        Step::Network => {
            let mut v = vec![
                q(Key::EndpointHost, "Endpoint", "The address users and agents reach Scalr at: the load balancer's DNS name, or the one host.", text.clone()),
                q(Key::Scheme, "Scheme", "https makes the proxies serve your certificate; http is plain.", Kind::Choice(SCHEMES.to_vec())),
            ];
            if d.scheme == "https" {
                v.push(q(
                    Key::TlsCert,
                    "TLS certificate",
                    "PEM file the proxies serve (relative to profiles/ or absolute).",
                    text.clone(),
                ));
                v.push(q(
                    Key::TlsKey,
                    "TLS key",
                    "Its private key, PEM (relative to profiles/ or absolute).",
                    text.clone(),
                ));
            }
            v.push(q(
                Key::ConnectionPolicy,
                "Connection policy",
                "How Scalr reaches the instances it manages, unless a cloud overrides it.",
                Kind::Choice(POLICIES.to_vec()),
            ));
            v.push(q(Key::Clouds, "Per-cloud policy", "Overrides as cloud=policy, comma-separated (e.g. \"ec2=local, azure=public\"); empty for none.", optional.clone()));
            v.push(q(Key::IpRanges, "Allowed networks", "CIDRs Scalr opens in the security groups it creates, comma-separated; empty for none.", optional.clone()));
            v
        }
        Step::Package => {
            let mut v = vec![q(
                Key::Source,
                "Package source",
                "Where the hosts get the scalr-server package.",
                Kind::Choice(SOURCES.to_vec()),
            )];
            if d.source == "local" {
                v.push(q(Key::Files, "Package files", "The .rpm/.deb files to upload, comma-separated (relative to profiles/ or absolute).", text.clone()));
            } else {
                v.push(q(
                    Key::Repository,
                    "Repository",
                    "The packagecloud repository, owner/name.",
                    text.clone(),
                ));
                v.push(q(Key::TokenEnv, "Token variable", "The environment variable holding your download token (never stored in the profile).", text.clone()));
            }
            v.push(q(
                Key::Version,
                "Version",
                "Pin a version such as 8.0.1; empty installs the newest.",
                optional.clone(),
            ));
            v.push(q(
                Key::LicenseFile,
                "Licence file",
                "The license.json Scalr issued you (relative to profiles/ or absolute).",
                text.clone(),
            ));
            v
        }
        Step::Ssh => vec![
            q(
                Key::SshUser,
                "User",
                "The login user on every host (a host can override it).",
                text.clone(),
            ),
            q(
                Key::SshPort,
                "Port",
                "The SSH port on every host (a host can override it).",
                text.clone(),
            ),
            q(
                Key::SshKey,
                "Private key",
                "Key file to log in with; empty uses ssh-agent, then ~/.ssh/config.",
                optional.clone(),
            ),
            q(
                Key::Sudo,
                "Sudo",
                "How a non-root user becomes root.",
                Kind::Choice(SUDO.to_vec()),
            ),
            q(
                Key::HostKeyPolicy,
                "Host keys",
                "Which host keys are trusted; a changed key always stops the run.",
                Kind::Choice(HOST_KEY_POLICIES.to_vec()),
            ),
            q(
                Key::KnownHosts,
                "known_hosts file",
                "An extra known_hosts file for this deployment; empty uses only yours.",
                optional.clone(),
            ),
            q(
                Key::JumpHost,
                "Jump host",
                "A bastion as user@host:port to reach private VMs; empty for none.",
                optional.clone(),
            ),
            q(
                Key::ConnectTimeout,
                "Timeout (s)",
                "Seconds to wait for an SSH connection.",
                text,
            ),
        ],
        Step::Review => Vec::new(),
    }
}

fn host_questions(d: &Draft, i: usize, layout: Layout) -> Vec<Question> {
    let n = &d.hosts[i].name;
    let label = |what: &str| format!("{n}: {what}");
    let q = |hk, label: String, help, kind| Question {
        key: Key::Host(i, hk),
        label,
        help,
        kind,
    };
    let text = Kind::Text { optional: false };
    let optional = Kind::Text { optional: true };
    let mut v = vec![
        q(
            HostKey::Name,
            label("name"),
            "A short unique name used in output (app-1, db-master).",
            text.clone(),
        ),
        q(
            HostKey::Address,
            label("address"),
            "How this machine reaches the host: IP address or DNS name.",
            text,
        ),
        q(
            HostKey::PrivateAddress,
            label("private address"),
            "How the other Scalr hosts reach it; empty means the same address.",
            optional.clone(),
        ),
    ];
    match layout {
        Layout::Ha => v.push(q(
            HostKey::Role,
            label("role"),
            "The part this host plays in the HA layout.",
            Kind::Choice(ROLES.to_vec()),
        )),
        Layout::Custom => {
            v.push(q(
                HostKey::Modules,
                label("modules"),
                "The modules this host runs (Space toggles).",
                Kind::Multi(module_choices()),
            ));
            v.push(q(
                HostKey::DbReplica,
                label("db replica"),
                "Whether this database host is the passive replica of the other.",
                Kind::Choice(YES_NO.to_vec()),
            ));
        }
        Layout::Compact => {}
    }
    v.push(q(
        HostKey::User,
        label("SSH user"),
        "Overrides the SSH user for this host; empty uses the SSH step's.",
        optional.clone(),
    ));
    v.push(q(
        HostKey::Port,
        label("SSH port"),
        "Overrides the SSH port for this host; empty uses the SSH step's.",
        optional.clone(),
    ));
    v.push(q(
        HostKey::SshKey,
        label("SSH key"),
        "Overrides the private key for this host; empty uses the SSH step's.",
        optional,
    ));
    v
}

/// Checks one answer with the rule profile validation uses, so the messages are the same.
pub fn validate(d: &Draft, key: Key) -> Result<(), String> {
    let v = d.get(key).trim();
    let optional = |rule: fn(&str) -> Result<(), String>| {
        if v.is_empty() {
            Ok(())
        } else {
            rule(v)
        }
    };
    let port_text = |v: &str| match v.parse::<u16>() {
        Ok(p) => rules::port(p),
        Err(_) => Err(format!(
            "{} is not a port — use a TCP port from 1 to 65535 (SSH is usually 22)",
            rules::quoted(v)
        )),
    };
    match key {
        Key::Name => rules::deployment_name(v),
        Key::Layout => choice_ok(v, &LAYOUTS),
        Key::Host(i, hk) => match hk {
            HostKey::Name => rules::host_name(v).and_then(|()| {
                match d.hosts.iter().position(|h| h.name.trim() == v) {
                    Some(first) if first != i => Err(format!(
                        "\"{v}\" is already the name of hosts[{first}] — give every host its own name"
                    )),
                    _ => Ok(()),
                }
            }),
            HostKey::Address => rules::address(v).and_then(|()| {
                match d.hosts.iter().position(|h| h.address.trim() == v) {
                    Some(first) if first != i => Err(format!(
                        "\"{v}\" is already the address of host \"{}\" — every host needs its own address",
                        d.hosts[first].name
                    )),
                    _ => Ok(()),
                }
            }),
            HostKey::PrivateAddress => optional(rules::address),
            HostKey::Role => choice_ok(v, &ROLES),
            HostKey::Modules => {
                if list(v).is_empty() {
                    Err(format!(
                        "host \"{}\" runs no module — select at least one with Space",
                        d.get(Key::Host(i, HostKey::Name))
                    ))
                } else {
                    Ok(())
                }
            }
            HostKey::DbReplica => choice_ok(v, &YES_NO),
            HostKey::Os => {
                if v.is_empty() || OsId::parse(v).is_some() {
                    Ok(())
                } else {
                    Err(format!("{} is not a supported operating system", rules::quoted(v)))
                }
            }
            HostKey::User => optional(rules::user),
            HostKey::Port => optional(port_text),
            HostKey::SshKey => optional(rules::path_value),
        },
        Key::EndpointHost => rules::address(v),
        Key::Scheme => choice_ok(v, &SCHEMES),
        Key::TlsCert | Key::TlsKey => {
            if v.is_empty() {
                let (name, what) = if key == Key::TlsCert {
                    ("tls_cert", "certificate")
                } else {
                    ("tls_key", "private key")
                };
                Err(format!(
                    "scheme = \"https\" needs the TLS {what} the proxies serve — set {name} to its PEM file"
                ))
            } else {
                rules::path_value(v)
            }
        }
        Key::ConnectionPolicy => choice_ok(v, &POLICIES),
        Key::Clouds => cloud_pairs(v).iter().try_for_each(|(cloud, policy)| {
            rules::cloud_id(cloud)?;
            if POLICIES.iter().any(|c| c.value == policy) {
                Ok(())
            } else {
                Err(format!(
                    "{} is not a connection policy for {cloud} — write {cloud}=public, {cloud}=local or {cloud}=auto",
                    rules::quoted(policy)
                ))
            }
        }),
        Key::IpRanges => list(v).iter().try_for_each(|r| rules::cidr(r)),
        Key::Source => choice_ok(v, &SOURCES),
        Key::Repository => rules::repository(v),
        Key::TokenEnv => rules::env_var_name(v),
        Key::Files => {
            let files = list(v);
            if files.is_empty() {
                Err("no package file is listed — list the scalr-server .rpm or .deb files to upload, \
                     or use source = \"packagecloud\""
                    .into())
            } else {
                files.iter().try_for_each(|f| rules::path_value(f))
            }
        }
        Key::Version => optional(rules::version),
        Key::LicenseFile => {
            if v.is_empty() {
                Err("no licence file is given — set license_file to the license.json Scalr issued you \
                     (relative to this profile or absolute)"
                    .into())
            } else {
                rules::path_value(v)
            }
        }
        Key::SshUser => rules::user(v),
        Key::SshPort => port_text(v),
        Key::SshKey | Key::KnownHosts => optional(rules::path_value),
        Key::Sudo => choice_ok(v, &SUDO),
        Key::HostKeyPolicy => choice_ok(v, &HOST_KEY_POLICIES),
        Key::JumpHost => optional(rules::jump_host),
        Key::ConnectTimeout => match v.parse::<u64>() {
            Ok(s) => rules::connect_timeout_secs(s),
            Err(_) => Err(format!(
                "{} is not a number of seconds — use 1 to 600 (10 is a good default)",
                rules::quoted(v)
            )),
        },
    }
}

fn choice_ok(v: &str, choices: &[Choice]) -> Result<(), String> {
    if choices.iter().any(|c| c.value == v) {
        Ok(())
    } else {
        let all: Vec<&str> = choices.iter().map(|c| c.value).collect();
        Err(format!(
            "{} is not one of the choices — use one of {}",
            rules::quoted(v),
            all.join(", ")
        ))
    }
}

/// The wizard step where the answer behind a profile key (`hosts[2].address`) is asked.
pub fn step_of_profile_key(key: &str) -> Step {
    let top = key.split(['.', '[']).next().unwrap_or("");
    match top {
        "name" | "layout" | "schema" => Step::Layout,
        "hosts" if key.ends_with(".os") => Step::Os,
        "hosts" => Step::Hosts,
        "endpoint" | "network" => Step::Network,
        "package" | "scalr" => Step::Package,
        "ssh" => Step::Ssh,
        _ => Step::Review,
    }
}

/// The modules each draft host runs, for the layout diagram (empty when unknown yet).
pub fn draft_modules(d: &Draft) -> Vec<(String, Vec<Module>)> {
    let layout = d.layout();
    d.hosts
        .iter()
        .map(|h| {
            let modules = match layout {
                Layout::Compact => Module::ALL
                    .into_iter()
                    .filter(|m| !(m.is_database() && d.external_database()))
                    .collect(),
                Layout::Ha => parse_enum::<HaRole>(&h.role)
                    .map(|r| crate::topology::deployment::ha_role_modules(r).to_vec())
                    .unwrap_or_default(),
                Layout::Custom => h.module_list(),
            };
            (h.name.clone(), modules)
        })
        .collect()
}

/// All questions keyed, for looking up labels and kinds.
pub fn question_for(d: &Draft, key: Key) -> Option<Question> {
    Step::ALL
        .iter()
        .flat_map(|s| questions(d, *s))
        .find(|q| q.key == key)
}

/// Answers to compare in tests: profile keys and their rendered values.
pub fn answers_map(d: &Draft) -> BTreeMap<String, String> {
    Step::ALL
        .iter()
        .flat_map(|s| questions(d, *s))
        .map(|q| (format!("{:?}", q.key), d.get(q.key).to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lab_ha() -> Draft {
        let mut d = Draft::default();
        for (i, h) in d.hosts.iter_mut().enumerate() {
            h.address = format!("127.0.1.{}", i + 10);
        }
        d.endpoint_host = "127.0.1.10".into();
        d
    }

    #[test]
    fn a_new_draft_offers_the_six_ha_hosts_named_after_their_roles() {
        let d = Draft::default();
        let names: Vec<_> = d.hosts.iter().map(|h| h.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "app-1",
                "app-2",
                "worker",
                "influxdb",
                "db-master",
                "db-slave"
            ]
        );
        assert_eq!(d.hosts[4].role, "db-master");
    }

    #[test]
    fn a_complete_ha_draft_becomes_a_profile_that_passes_profile_validation() {
        let p = lab_ha().to_profile().unwrap();
        assert_eq!(p.layout, Layout::Ha);
        assert_eq!(p.hosts[5].role, Some(HaRole::DbSlave));
        let findings = crate::profile::validate::check(&p, None);
        assert!(findings.is_empty(), "{findings:?}");
    }

    #[test]
    fn an_invalid_answer_is_reported_with_the_profile_rules_words() {
        let mut d = lab_ha();
        d.hosts[2].address = "10.0.0.300".into();
        let errors = d.to_profile().unwrap_err();
        assert_eq!(
            errors,
            vec![(
                Key::Host(2, HostKey::Address),
                rules::address("10.0.0.300").unwrap_err()
            )]
        );
    }

    #[test]
    fn a_profile_round_trips_through_the_draft_unchanged() {
        let mut d = lab_ha();
        d.scheme = "https".into();
        d.tls_cert = "tls/cert.pem".into();
        d.tls_key = "tls/key.pem".into();
        d.clouds = "ec2=local, azure=public".into();
        d.ip_ranges = "10.0.0.0/16".into();
        d.version = "8.0.1".into();
        d.hosts[0].user = "centos".into();
        d.hosts[0].os = "centos-7".into();
        let p = d.to_profile().unwrap();
        let again = Draft::from_profile(&p).to_profile().unwrap();
        assert_eq!(p, again);
    }

    #[test]
    fn switching_to_compact_keeps_the_first_hosts_answers() {
        let mut d = lab_ha();
        d.set(Key::Layout, "compact".into());
        assert_eq!(d.hosts.len(), 1);
        assert_eq!(d.hosts[0].address, "127.0.1.10");
        assert!(d.hosts[0].role.is_empty());
    }

    #[test]
    fn tls_files_are_asked_only_with_https() {
        let mut d = Draft::default();
        let keys =
            |d: &Draft| -> Vec<Key> { questions(d, Step::Network).iter().map(|q| q.key).collect() };
        assert!(!keys(&d).contains(&Key::TlsCert));
        d.scheme = "https".into();
        assert!(keys(&d).contains(&Key::TlsCert));
        assert!(validate(&d, Key::TlsCert).is_err());
    }

    #[test]
    fn per_cloud_policies_are_checked_with_the_cloud_rule() {
        let mut d = Draft {
            clouds: "aws=local".into(),
            ..Draft::default()
        };
        assert_eq!(
            validate(&d, Key::Clouds).unwrap_err(),
            rules::cloud_id("aws").unwrap_err()
        );
        d.clouds = "ec2=sometimes".into();
        assert!(validate(&d, Key::Clouds)
            .unwrap_err()
            .contains("ec2=public, ec2=local or ec2=auto"));
    }

    #[test]
    fn duplicate_host_names_are_caught_while_typing() {
        let mut d = lab_ha();
        d.hosts[1].name = "app-1".into();
        assert!(validate(&d, Key::Host(1, HostKey::Name))
            .unwrap_err()
            .contains("already the name of hosts[0]"));
    }

    #[test]
    fn profile_keys_lead_back_to_the_step_that_asks_them() {
        assert_eq!(step_of_profile_key("hosts[2].address"), Step::Hosts);
        assert_eq!(step_of_profile_key("hosts[2].os"), Step::Os);
        assert_eq!(step_of_profile_key("endpoint.tls_cert"), Step::Network);
        assert_eq!(step_of_profile_key("scalr.license_file"), Step::Package);
    }
}
