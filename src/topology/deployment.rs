//! What runs where: each host's modules and database role, the addresses the app settings point
//! at, and the order hosts are reconfigured in.
//!
//! `Deployment::resolve` is where layout rules live. It reports every violation at once, each
//! with the profile key it concerns, in words an operator can act on.

use crate::profile::{HaRole, Layout, Profile};
use crate::topology::Module;
use crate::topology::OsId;
use std::collections::BTreeSet;

/// MySQL, memcached: the ports the multi-host layouts bind on every interface (reference §1.3).
pub const MYSQL_PORT: u16 = 3306;
pub const MEMCACHED_PORT: u16 = 11211;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbRole {
    /// No bundled MySQL on this host.
    None,
    /// The only bundled MySQL: no replication.
    Standalone,
    /// The active MySQL, replicated to the slave (`server_id 1`, binlog on).
    Master,
    /// The passive replica (`server_id 2`).
    Slave,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPlan {
    pub name: String,
    /// How the installer reaches the host.
    pub address: String,
    /// How the other Scalr nodes reach it.
    pub private_address: String,
    pub modules: BTreeSet<Module>,
    pub db_role: DbRole,
    pub os: Option<OsId>,
}

impl HostPlan {
    pub fn runs(&self, module: Module) -> bool {
        self.modules.contains(&module)
    }

    /// Whether the bundled MySQL runs here (both databases share it).
    pub fn runs_mysql(&self) -> bool {
        self.db_role != DbRole::None
    }
}

/// Where the app settings point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceAddresses {
    /// The active MySQL: the master, a standalone host, or the external database.
    pub mysql_host: String,
    pub mysql_port: u16,
    /// `host:port` of every memcached (session) server.
    pub memcached_servers: Vec<String>,
    pub rabbitmq_host: String,
    pub influxdb_host: String,
    /// The host running the worker (and the plotter the proxies forward to).
    pub worker_host: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployment {
    pub layout: Layout,
    /// In profile order.
    pub hosts: Vec<HostPlan>,
    pub services: ServiceAddresses,
    /// Whether an external MySQL replaces the bundled one.
    pub external_database: bool,
}

/// A layout rule the profile breaks, with the profile key it concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayoutError {
    /// Key path in the profile, e.g. `hosts[2].modules`.
    pub key: String,
    pub message: String,
}

impl LayoutError {
    fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        LayoutError {
            key: key.into(),
            message: message.into(),
        }
    }
}

/// The modules an `ha` role brings.
pub fn ha_role_modules(role: HaRole) -> &'static [Module] {
    match role {
        HaRole::App => &[Module::Proxy, Module::App, Module::Session],
        HaRole::Worker => &[Module::Worker, Module::Rabbitmq],
        HaRole::Influxdb => &[Module::Influxdb],
        HaRole::DbMaster | HaRole::DbSlave => &[Module::MainDb, Module::AnalyticsDb],
    }
}

fn role_key(role: HaRole) -> &'static str {
    match role {
        HaRole::App => "app",
        HaRole::Worker => "worker",
        HaRole::Influxdb => "influxdb",
        HaRole::DbMaster => "db-master",
        HaRole::DbSlave => "db-slave",
    }
}

impl Deployment {
    /// Resolves the profile's layout into per-host plans, or every rule it breaks.
    pub fn resolve(profile: &Profile) -> Result<Deployment, Vec<LayoutError>> {
        let external = profile.database.external.is_some();
        let mut errors = Vec::new();
        let mut hosts: Vec<HostPlan> = profile
            .hosts
            .iter()
            .map(|h| HostPlan {
                name: h.name.clone(),
                address: h.address.clone(),
                private_address: h.private_address().to_string(),
                modules: BTreeSet::new(),
                db_role: DbRole::None,
                os: h.os,
            })
            .collect();

        match profile.layout {
            Layout::Compact => resolve_compact(profile, &mut hosts, &mut errors),
            Layout::Ha => resolve_ha(profile, &mut hosts, &mut errors),
            Layout::Custom => resolve_custom(profile, &mut hosts, &mut errors),
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        check_placement(profile, &hosts, &mut errors);
        if !errors.is_empty() {
            return Err(errors);
        }

        let only = |m: Module| {
            hosts
                .iter()
                .find(|h| h.runs(m))
                .map(|h| h.private_address.clone())
                .unwrap_or_default()
        };
        let (mysql_host, mysql_port) = match &profile.database.external {
            Some(db) => (db.host.clone(), db.port),
            None => {
                let db = hosts
                    .iter()
                    .find(|h| matches!(h.db_role, DbRole::Master | DbRole::Standalone))
                    .expect("placement checked that a database host exists");
                (db.private_address.clone(), MYSQL_PORT)
            }
        };
        let services = ServiceAddresses {
            mysql_host,
            mysql_port,
            memcached_servers: hosts
                .iter()
                .filter(|h| h.runs(Module::Session))
                .map(|h| format!("{}:{MEMCACHED_PORT}", h.private_address))
                .collect(),
            rabbitmq_host: only(Module::Rabbitmq),
            influxdb_host: only(Module::Influxdb),
            worker_host: only(Module::Worker),
        };
        Ok(Deployment {
            layout: profile.layout,
            hosts,
            services,
            external_database: external,
        })
    }

    pub fn host(&self, name: &str) -> Option<&HostPlan> {
        self.hosts.iter().find(|h| h.name == name)
    }

    /// The hosts in the order they must be reconfigured, as groups that may run in parallel:
    /// the active database first (the worker's first reconfigure creates the schemas in it), the
    /// replica next (replication is started between these two waves and the next), then the
    /// worker, then everything else. Each host appears once, in the earliest wave it belongs to.
    pub fn waves(&self) -> Vec<Vec<String>> {
        let mut placed: BTreeSet<&str> = BTreeSet::new();
        let mut waves = Vec::new();
        let filters: [&dyn Fn(&HostPlan) -> bool; 4] = [
            &|h| matches!(h.db_role, DbRole::Master | DbRole::Standalone),
            &|h| h.db_role == DbRole::Slave,
            &|h| h.runs(Module::Worker),
            &|_| true,
        ];
        for belongs in filters {
            let wave: Vec<String> = self
                .hosts
                .iter()
                .filter(|h| !placed.contains(h.name.as_str()) && belongs(h))
                .map(|h| h.name.clone())
                .collect();
            if !wave.is_empty() {
                placed.extend(
                    self.hosts
                        .iter()
                        .filter(|h| wave.contains(&h.name))
                        .map(|h| h.name.as_str()),
                );
                waves.push(wave);
            }
        }
        waves
    }

    /// The (master, slave) host names when the bundled MySQL is replicated.
    pub fn replication(&self) -> Option<(&HostPlan, &HostPlan)> {
        let master = self.hosts.iter().find(|h| h.db_role == DbRole::Master)?;
        let slave = self.hosts.iter().find(|h| h.db_role == DbRole::Slave)?;
        Some((master, slave))
    }

    /// Whether the endpoint is one of the hosts (compact, or no load balancer in front).
    pub fn endpoint_host<'a>(&'a self, endpoint: &str) -> Option<&'a HostPlan> {
        self.hosts
            .iter()
            .find(|h| h.address == endpoint || h.private_address == endpoint)
    }
}

fn resolve_compact(profile: &Profile, hosts: &mut [HostPlan], errors: &mut Vec<LayoutError>) {
    if hosts.len() != 1 {
        errors.push(LayoutError::new(
            "hosts",
            format!(
                "the compact layout runs everything on exactly one host, but {} are listed — \
                 keep one [[hosts]] entry, or use layout = \"ha\" or \"custom\"",
                hosts.len()
            ),
        ));
        return;
    }
    let spec = &profile.hosts[0];
    if spec.role.is_some() {
        errors.push(LayoutError::new(
            "hosts[0].role",
            "the compact layout runs every module on its one host — remove `role`",
        ));
    }
    if !spec.modules.is_empty() {
        errors.push(LayoutError::new(
            "hosts[0].modules",
            "the compact layout runs every module on its one host — remove `modules`",
        ));
    }
    if spec.db_replica {
        errors.push(LayoutError::new(
            "hosts[0].db_replica",
            "the compact layout has no database replica — remove `db_replica`",
        ));
    }
    let host = &mut hosts[0];
    host.modules = Module::ALL
        .into_iter()
        .filter(|m| !(m.is_database() && profile.database.external.is_some()))
        .collect();
    if profile.database.external.is_none() {
        host.db_role = DbRole::Standalone;
    }
}

fn resolve_ha(profile: &Profile, hosts: &mut [HostPlan], errors: &mut Vec<LayoutError>) {
    let external = profile.database.external.is_some();
    for (i, spec) in profile.hosts.iter().enumerate() {
        if !spec.modules.is_empty() {
            errors.push(LayoutError::new(
                format!("hosts[{i}].modules"),
                "in the ha layout a host's `role` decides its modules — remove `modules`, or use layout = \"custom\"",
            ));
        }
        if spec.db_replica {
            errors.push(LayoutError::new(
                format!("hosts[{i}].db_replica"),
                "in the ha layout the replica is the host with role = \"db-slave\" — remove `db_replica`",
            ));
        }
        let Some(role) = spec.role else {
            errors.push(LayoutError::new(
                format!("hosts[{i}]"),
                format!(
                    "host \"{}\" has no role — add role = \"app\", \"worker\", \"influxdb\"{}",
                    spec.name,
                    if external {
                        ""
                    } else {
                        ", \"db-master\" or \"db-slave\""
                    }
                ),
            ));
            continue;
        };
        if external && matches!(role, HaRole::DbMaster | HaRole::DbSlave) {
            errors.push(LayoutError::new(
                format!("hosts[{i}].role"),
                format!(
                    "host \"{}\" is a {} but the database is external ([database.external]) — \
                     remove this host, or remove [database.external] to run the bundled MySQL",
                    spec.name,
                    role_key(role)
                ),
            ));
            continue;
        }
        hosts[i].modules = ha_role_modules(role).iter().copied().collect();
        hosts[i].db_role = match role {
            HaRole::DbMaster => DbRole::Master,
            HaRole::DbSlave => DbRole::Slave,
            _ => DbRole::None,
        };
    }
    if !errors.is_empty() {
        return;
    }
    let mut wanted = vec![(HaRole::App, 2), (HaRole::Worker, 1), (HaRole::Influxdb, 1)];
    if !external {
        wanted.extend([(HaRole::DbMaster, 1), (HaRole::DbSlave, 1)]);
    }
    for (role, count) in wanted {
        let found: Vec<&str> = profile
            .hosts
            .iter()
            .filter(|h| h.role == Some(role))
            .map(|h| h.name.as_str())
            .collect();
        if found.len() != count {
            let have = if found.is_empty() {
                "none is".to_string()
            } else {
                format!(
                    "{} {} ({})",
                    found.len(),
                    if found.len() == 1 { "is" } else { "are" },
                    found.join(", ")
                )
            };
            errors.push(LayoutError::new(
                "hosts",
                format!(
                    "the ha layout needs exactly {count} host{} with role = \"{}\", but {have} — \
                     adjust the roles, or use layout = \"custom\" to place modules freely",
                    if count == 1 { "" } else { "s" },
                    role_key(role)
                ),
            ));
        }
    }
}

fn resolve_custom(profile: &Profile, hosts: &mut [HostPlan], errors: &mut Vec<LayoutError>) {
    for (i, spec) in profile.hosts.iter().enumerate() {
        if spec.role.is_some() {
            errors.push(LayoutError::new(
                format!("hosts[{i}].role"),
                "in the custom layout a host lists its `modules` — replace `role` with modules = [...]",
            ));
        }
        if spec.modules.is_empty() {
            errors.push(LayoutError::new(
                format!("hosts[{i}].modules"),
                format!(
                    "host \"{}\" runs no module — list what it runs, e.g. modules = [\"proxy\", \"app\", \"session\"]",
                    spec.name
                ),
            ));
        }
        let mut seen = BTreeSet::new();
        for m in &spec.modules {
            if !seen.insert(*m) {
                errors.push(LayoutError::new(
                    format!("hosts[{i}].modules"),
                    format!(
                        "\"{m}\" is listed twice on host \"{}\" — list each module once",
                        spec.name
                    ),
                ));
            }
        }
        hosts[i].modules = seen;
    }
    if !errors.is_empty() {
        return;
    }

    // Main DB and Cost Analytics DB are two schemas of one MySQL (`mysql[:enable]`).
    let mut db_hosts = Vec::new();
    for (i, spec) in profile.hosts.iter().enumerate() {
        let main = hosts[i].runs(Module::MainDb);
        let analytics = hosts[i].runs(Module::AnalyticsDb);
        if profile.database.external.is_some() && (main || analytics) {
            errors.push(LayoutError::new(
                format!("hosts[{i}].modules"),
                format!(
                    "host \"{}\" runs a database module but the database is external ([database.external]) — \
                     remove \"main-db\" and \"analytics-db\" from it, or remove [database.external]",
                    spec.name
                ),
            ));
            continue;
        }
        if main != analytics {
            errors.push(LayoutError::new(
                format!("hosts[{i}].modules"),
                format!(
                    "host \"{}\" runs only one of \"main-db\" and \"analytics-db\", but both live in the same \
                     bundled MySQL — list both on this host",
                    spec.name
                ),
            ));
        }
        if main || analytics {
            db_hosts.push(i);
        } else if spec.db_replica {
            errors.push(LayoutError::new(
                format!("hosts[{i}].db_replica"),
                format!(
                    "host \"{}\" is marked db_replica but runs no database — remove db_replica, or add \"main-db\" and \"analytics-db\"",
                    spec.name
                ),
            ));
        }
    }
    match db_hosts.as_slice() {
        [] => {}
        [only] => {
            if profile.hosts[*only].db_replica {
                errors.push(LayoutError::new(
                    format!("hosts[{only}].db_replica"),
                    format!(
                        "host \"{}\" is the only database host, so it cannot be a replica — remove db_replica",
                        profile.hosts[*only].name
                    ),
                ));
            }
            hosts[*only].db_role = DbRole::Standalone;
        }
        [a, b] => {
            let replicas: Vec<usize> = [*a, *b]
                .into_iter()
                .filter(|i| profile.hosts[*i].db_replica)
                .collect();
            if replicas.len() != 1 {
                errors.push(LayoutError::new(
                    "hosts",
                    format!(
                        "two hosts run the database (\"{}\" and \"{}\"): one is active and the other its passive \
                         replica — set db_replica = true on exactly one of them",
                        profile.hosts[*a].name, profile.hosts[*b].name
                    ),
                ));
            } else {
                for i in [*a, *b] {
                    hosts[i].db_role = if profile.hosts[i].db_replica {
                        DbRole::Slave
                    } else {
                        DbRole::Master
                    };
                }
            }
        }
        more => {
            let names: Vec<&str> = more
                .iter()
                .map(|i| profile.hosts[*i].name.as_str())
                .collect();
            errors.push(LayoutError::new(
                "hosts",
                format!(
                    "{} hosts run the database ({}), but Scalr supports at most two: one active and one passive \
                     replica — remove \"main-db\" and \"analytics-db\" from the others",
                    more.len(),
                    names.join(", ")
                ),
            ));
        }
    }
}

/// Rules common to every layout, checked on the resolved module sets.
fn check_placement(profile: &Profile, hosts: &[HostPlan], errors: &mut Vec<LayoutError>) {
    let external = profile.database.external.is_some();
    for module in Module::ALL {
        if module.is_database() && external {
            continue;
        }
        let on: Vec<&str> = hosts
            .iter()
            .filter(|h| h.runs(module))
            .map(|h| h.name.as_str())
            .collect();
        if on.is_empty() {
            let hint = if module.is_database() {
                "add \"main-db\" and \"analytics-db\" to a host, or configure [database.external]"
                    .to_string()
            } else {
                format!("add \"{}\" to one host's modules", module.key())
            };
            errors.push(LayoutError::new(
                "hosts",
                format!("no host runs the {} module — {hint}", module.title()),
            ));
            continue;
        }
        let single = matches!(module, Module::Worker | Module::Rabbitmq | Module::Influxdb);
        if single && on.len() > 1 {
            let why = match module {
                Module::Worker => {
                    "the background jobs must run once (a second worker would duplicate them)"
                }
                _ => "the app settings point at a single server",
            };
            errors.push(LayoutError::new(
                "hosts",
                format!(
                    "the {} module runs on {} hosts ({}), but exactly one host may run it: {why} — keep it on one of them",
                    module.title(),
                    on.len(),
                    on.join(", ")
                ),
            ));
        }
    }
    for (i, h) in hosts.iter().enumerate() {
        if h.runs(Module::Proxy) != h.runs(Module::App) {
            errors.push(LayoutError::new(
                format!("hosts[{i}].modules"),
                format!(
                    "host \"{}\" runs {} without {}: each proxy forwards to the app on its own host — \
                     put \"proxy\" and \"app\" together",
                    h.name,
                    if h.runs(Module::Proxy) { "\"proxy\"" } else { "\"app\"" },
                    if h.runs(Module::Proxy) { "\"app\"" } else { "\"proxy\"" },
                ),
            ));
        }
    }
}
