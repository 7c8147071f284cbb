//! The firewall rules a deployment needs (architecture spec "Network Requirements", reference
//! §2), expressed with the profile's real hosts and endpoint.

use crate::profile::{Profile, Scheme};
use crate::topology::{Deployment, HostPlan, Module};
use serde::Serialize;
use std::collections::BTreeSet;

/// One allowed connection: `source → destination:port/protocol`, and why.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct FirewallRule {
    pub source: String,
    pub destination: String,
    pub port: u16,
    pub protocol: &'static str,
    pub purpose: String,
}

const INSTANCES: &str = "managed instances";
const CLOUD_APIS: &str = "cloud APIs";
const INSTALLER: &str = "this machine (installer)";

fn host_label(h: &HostPlan) -> String {
    format!("{} ({})", h.name, h.private_address)
}

/// Every rule, deduplicated and sorted.
pub fn firewall_rules(profile: &Profile, deployment: &Deployment) -> Vec<FirewallRule> {
    let mut rules = BTreeSet::new();
    let mut add = |source: String, destination: String, port: u16, purpose: &str| {
        if source != destination {
            rules.insert(FirewallRule {
                source,
                destination,
                port,
                protocol: "tcp",
                purpose: purpose.to_string(),
            });
        }
    };
    let hosts = &deployment.hosts;
    let with = |m: Module| hosts.iter().filter(move |h| h.runs(m));
    let https = profile.endpoint.scheme == Scheme::Https;

    // The installer logs in to every host.
    for (h, spec) in hosts.iter().zip(&profile.hosts) {
        let port = spec.ssh.port.unwrap_or(profile.ssh.port);
        add(
            INSTALLER.into(),
            format!("{} ({})", h.name, h.address),
            port,
            "SSH from the installer",
        );
    }

    // Agents on managed instances reach Scalr through the endpoint: the load balancer in front
    // of the proxies, or a proxy host itself.
    let proxies: Vec<&HostPlan> = with(Module::Proxy).collect();
    let endpoint = match deployment.endpoint_host(&profile.endpoint.host) {
        Some(h) => host_label(h),
        None => format!("load balancer ({})", profile.endpoint.host),
    };
    let mut public_ports = vec![(80, "Scalarizr agent and web UI (HTTP)")];
    if https {
        public_ports.push((443, "Scalarizr agent and web UI (HTTPS)"));
    }
    public_ports.push((5671, "Scalarizr agent to RabbitMQ (AMQPS)"));
    for (port, purpose) in &public_ports {
        add(INSTANCES.into(), endpoint.clone(), *port, purpose);
        if deployment.endpoint_host(&profile.endpoint.host).is_none() {
            for p in &proxies {
                add(
                    endpoint.clone(),
                    host_label(p),
                    *port,
                    &format!("load balancer target: {purpose}"),
                );
            }
        }
    }

    for w in with(Module::Worker) {
        add(host_label(w), CLOUD_APIS.into(), 443, "cloud API calls");
        add(
            host_label(w),
            endpoint.clone(),
            if https { 443 } else { 80 },
            "agent update",
        );
        for (port, purpose) in [
            (8008, "Scalarizr agent update service"),
            (8010, "Scalarizr agent API"),
            (8013, "Scalarizr agent control"),
        ] {
            add(host_label(w), INSTANCES.into(), port, purpose);
        }
        for p in &proxies {
            add(host_label(p), host_label(w), 6200, "plotter (usage graphs)");
        }
    }

    // Databases: the app servers and the worker use the active one; the pair replicate.
    let clients: Vec<&HostPlan> = hosts
        .iter()
        .filter(|h| h.runs(Module::App) || h.runs(Module::Worker))
        .collect();
    if let Some(db) = &profile.database.external {
        for c in &clients {
            add(
                host_label(c),
                format!("external database ({})", db.host),
                db.port,
                "MySQL",
            );
        }
    } else {
        for db in hosts.iter().filter(|h| h.runs_mysql()) {
            for c in &clients {
                add(host_label(c), host_label(db), 3306, "MySQL");
            }
        }
        if let Some((master, slave)) = deployment.replication() {
            add(
                host_label(slave),
                host_label(master),
                3306,
                "MySQL replication",
            );
            add(
                host_label(master),
                host_label(slave),
                3306,
                "MySQL replication setup (kickstart-replication)",
            );
        }
    }

    // RabbitMQ and InfluxDB are used by every Scalr node except the database hosts.
    let scalr_nodes: Vec<&HostPlan> = hosts
        .iter()
        .filter(|h| h.modules.iter().any(|m| !m.is_database()))
        .collect();
    for r in with(Module::Rabbitmq) {
        for n in &scalr_nodes {
            add(host_label(n), host_label(r), 6275, "RabbitMQ");
            add(host_label(n), host_label(r), 6276, "RabbitMQ");
            add(host_label(n), host_label(r), 15671, "RabbitMQ management");
        }
    }
    for i in with(Module::Influxdb) {
        for n in &scalr_nodes {
            add(host_label(n), host_label(i), 6291, "InfluxDB");
        }
    }
    for s in with(Module::Session) {
        for a in with(Module::App) {
            add(
                host_label(a),
                host_label(s),
                11211,
                "memcached (shared sessions)",
            );
        }
    }
    rules.into_iter().collect()
}

/// The rules for a profile that may not be complete yet, as the table's lines (heading first),
/// or what keeps the layout from resolving.
pub fn rule_lines(profile: &Profile) -> Result<Vec<String>, String> {
    let deployment = Deployment::resolve(profile).map_err(|errors| {
        errors
            .into_iter()
            .map(|e| format!("{}: {}", e.key, e.message))
            .collect::<Vec<_>>()
            .join("; ")
    })?;
    let rules = firewall_rules(profile, &deployment);
    Ok(format_table(&rules).lines().map(str::to_string).collect())
}

/// A table for people: one rule per line.
pub fn format_table(rules: &[FirewallRule]) -> String {
    let width = |f: &dyn Fn(&FirewallRule) -> usize, title: &str| {
        rules.iter().map(f).max().unwrap_or(0).max(title.len())
    };
    let ws = width(&|r| r.source.len(), "SOURCE");
    let wd = width(&|r| r.destination.len(), "DESTINATION");
    let mut out = format!(
        "{:ws$}  {:wd$}  {:9}  PURPOSE\n",
        "SOURCE", "DESTINATION", "PORT"
    );
    for r in rules {
        let port = format!("{}/{}", r.port, r.protocol);
        out.push_str(&format!(
            "{:ws$}  {:wd$}  {:9}  {}\n",
            r.source, r.destination, port, r.purpose
        ));
    }
    out
}
