//! Binds the engine to the foundation: the loaded profile and resolved topology become the
//! engine's [`Desired`] state, and [`ProfileRenderer`] renders each host's files with the
//! deployment's secrets — adopted from the hosts when they hold some, otherwise the ones stored
//! in the state directory (generated once, never again).

use crate::engine::desired::{
    DbRole, Desired, DesiredFile, DesiredHost, PackageSource, PeerPort, Rendered, Renderer,
    Requirements, RAM_FLOOR_KB,
};
use crate::profile::{Layout, LoadedProfile, PackageSpec, Scheme};
use crate::render::{render_deployment, HostFiles};
use crate::secrets::Secrets;
use crate::state::DeploymentState;
use crate::topology::deployment::{MEMCACHED_PORT, MYSQL_PORT};
use crate::topology::{hardware, Deployment, HostPlan, Module};
use std::collections::BTreeSet;

const RABBITMQ_PORT: u16 = 6275;
const INFLUXDB_HTTP_PORT: u16 = 6291;
const PLOTTER_PORT: u16 = 6200;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BindError {
    #[error("the packagecloud token is not set: export {env} (the profile's package.token_env) with your Scalr download token, then re-run")]
    MissingToken { env: String },
}

fn endpoint_port(loaded: &LoadedProfile) -> u16 {
    match loaded.profile.endpoint.scheme {
        Scheme::Http => 80,
        Scheme::Https => 443,
    }
}

/// Ports each host's Scalr services listen on (the rendered `scalr-server.rb`, reference §1.2).
fn listen_ports(layout: Layout, plan: &HostPlan, https: bool) -> Vec<u16> {
    let mut ports = BTreeSet::new();
    let proxy = |ports: &mut BTreeSet<u16>| {
        ports.extend([80, 5671]);
        if https {
            ports.insert(443);
        }
    };
    if layout == Layout::Compact {
        proxy(&mut ports);
        // enable_all with the package's loopback defaults.
        ports.extend([6270, 6271, 6272, 6275, 6280, 6281, 6290, 6291, 15671]);
        return ports.into_iter().collect();
    }
    for m in &plan.modules {
        match m {
            Module::Proxy => proxy(&mut ports),
            Module::App => {
                ports.extend([6000, 6100]);
            }
            Module::Worker => {
                ports.insert(PLOTTER_PORT);
            }
            Module::Session => {
                ports.insert(MEMCACHED_PORT);
            }
            Module::Rabbitmq => {
                ports.extend([RABBITMQ_PORT, 15671]);
            }
            Module::Influxdb => {
                ports.extend([6290, INFLUXDB_HTTP_PORT]);
            }
            Module::MainDb | Module::AnalyticsDb => {
                if plan.runs_mysql() {
                    ports.insert(MYSQL_PORT);
                }
            }
        }
    }
    ports.into_iter().collect()
}

/// What `plan` must reach on other hosts once Scalr runs (reference §2: who talks to whom).
fn needs(deployment: &Deployment, plan: &HostPlan) -> Vec<PeerPort> {
    let s = &deployment.services;
    let mut out = BTreeSet::new();
    let mut need = |address: &str, port: u16, purpose: &str| {
        if address == plan.private_address || address == "127.0.0.1" || address.is_empty() {
            return;
        }
        let host = deployment
            .hosts
            .iter()
            .find(|h| h.private_address == address)
            .map(|h| h.name.clone())
            .unwrap_or_else(|| address.to_string());
        out.insert(PeerPort {
            host,
            address: address.to_string(),
            port,
            purpose: purpose.into(),
        });
    };
    let runs_app = plan.runs(Module::App) || plan.runs(Module::Worker);
    if runs_app {
        need(&s.mysql_host, s.mysql_port, "MySQL");
        need(&s.rabbitmq_host, RABBITMQ_PORT, "RabbitMQ");
        need(&s.influxdb_host, INFLUXDB_HTTP_PORT, "InfluxDB");
    }
    if plan.runs(Module::App) {
        for server in &s.memcached_servers {
            if let Some((addr, port)) = server.rsplit_once(':') {
                if let Ok(port) = port.parse() {
                    need(addr, port, "memcached");
                }
            }
        }
    }
    if plan.runs(Module::Proxy) {
        need(&s.rabbitmq_host, RABBITMQ_PORT, "RabbitMQ (agents' AMQPS)");
        let worker = deployment
            .host(&s.worker_host)
            .map(|h| h.private_address.clone());
        if let Some(w) = worker {
            need(&w, PLOTTER_PORT, "plotter");
        }
    }
    if plan.db_role == crate::topology::DbRole::Slave {
        if let Some((master, _)) = deployment.replication() {
            need(&master.private_address, MYSQL_PORT, "MySQL replication");
        }
    }
    out.into_iter().collect()
}

/// The engine's desired state for a profile. `token`: the packagecloud token from the
/// environment (or a prompt); required when the profile installs from packagecloud.
pub fn desired(
    loaded: &LoadedProfile,
    deployment: &Deployment,
    token: Option<String>,
) -> Result<Desired, BindError> {
    let profile = &loaded.profile;
    let https = profile.endpoint.scheme == Scheme::Https;
    let package = match &profile.package {
        PackageSpec::Packagecloud {
            repository,
            token_env,
        } => PackageSource::Packagecloud {
            repository: repository.clone(),
            token: token
                .filter(|t| !t.is_empty())
                .ok_or_else(|| BindError::MissingToken {
                    env: token_env.clone(),
                })?,
        },
        PackageSpec::Local { .. } => PackageSource::Local {
            files: loaded.package_files(),
        },
    };
    let hosts = deployment
        .hosts
        .iter()
        .map(|plan| {
            let req = hardware::for_host(profile.layout, &plan.modules);
            DesiredHost {
                name: plan.name.clone(),
                private_address: plan.private_address.clone(),
                modules: plan.modules.clone(),
                db_role: match plan.db_role {
                    crate::topology::DbRole::Master => Some(DbRole::Master),
                    crate::topology::DbRole::Slave => Some(DbRole::Slave),
                    _ => None,
                },
                expected_os: plan.os,
                requirements: Requirements {
                    ram_floor_kb: hardware::MIN_MEM_TOTAL_KB.max(RAM_FLOOR_KB),
                    ram_recommended_kb: u64::from(req.ram_gb) * 1024 * 1024,
                    cpus_recommended: req.cpus,
                    disk_recommended_kb: u64::from(req.disk_gb) * 1024 * 1024,
                    disk_free_floor_kb: Requirements::default().disk_free_floor_kb,
                },
                listen_ports: listen_ports(profile.layout, plan, https),
                needs: needs(deployment, plan),
            }
        })
        .collect();
    Ok(Desired {
        name: profile.name.clone(),
        hosts,
        waves: deployment.waves(),
        package,
        version: profile.scalr.version.clone(),
        endpoint_port: endpoint_port(loaded),
    })
}

/// Renders with `render::render_deployment`, choosing the secrets as the engine decides.
pub struct ProfileRenderer<'a> {
    pub loaded: &'a LoadedProfile,
    pub deployment: &'a Deployment,
    pub state: &'a DeploymentState,
    pub license: Vec<u8>,
    /// An external database's password (from the environment), if the profile uses one.
    pub database_password: Option<String>,
}

fn to_rendered(hosts: Vec<HostFiles>, secrets: &Secrets) -> Rendered {
    Rendered {
        files: hosts
            .into_iter()
            .map(|h| {
                let files = h
                    .files
                    .into_iter()
                    .map(|f| DesiredFile {
                        path: f.path,
                        contents: f.contents,
                        mode: f.mode,
                        secret: f.secret,
                        group: f.group,
                    })
                    .collect();
                (h.host, files)
            })
            .collect(),
        secret_values: secrets.values().into_iter().map(str::to_string).collect(),
    }
}

impl Renderer for ProfileRenderer<'_> {
    fn paths(&self, host: &str) -> Vec<String> {
        // Throwaway in-memory secrets: only the paths are wanted, nothing is stored.
        let secrets = Secrets::generate();
        render_deployment(self.loaded, self.deployment, &secrets, &self.license)
            .map(|hosts| {
                hosts
                    .into_iter()
                    .filter(|h| h.host == host)
                    .flat_map(|h| h.files.into_iter().map(|f| f.path))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn render(&self, adopted: Option<&[u8]>) -> Result<Rendered, String> {
        let secrets = match adopted {
            Some(bytes) => {
                let mut found = Secrets::from_json(bytes).map_err(|e| {
                    format!("the secrets file on the hosts cannot be read: {e}; restore a valid /etc/scalr-server/scalr-server-secrets.json or remove it from every host, then re-run")
                })?;
                if let Some(p) = &self.database_password {
                    found.set_database_password(p);
                }
                // The hosts are the truth: keep the state directory in step with them.
                if self.state.load_secrets().ok().flatten().as_ref() != Some(&found) {
                    self.state
                        .store_secrets(&found)
                        .map_err(|e| e.to_string())?;
                }
                found
            }
            None => self
                .state
                .ensure_secrets(self.database_password.as_deref())
                .map_err(|e| e.to_string())?,
        };
        let hosts = render_deployment(self.loaded, self.deployment, &secrets, &self.license)
            .map_err(|e| e.to_string())?;
        Ok(to_rendered(hosts, &secrets))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn load(example: &str) -> (LoadedProfile, Deployment) {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("profiles")
            .join(example);
        let loaded = crate::profile::load(&path).expect("example profile loads");
        let deployment = Deployment::resolve(&loaded.profile).expect("example resolves");
        (loaded, deployment)
    }

    #[test]
    fn the_ha_example_becomes_six_hosts_in_reference_wave_order() {
        let (loaded, deployment) = load("ha.example.toml");
        let d = desired(&loaded, &deployment, Some("tok-123456".into())).unwrap();
        assert_eq!(d.hosts.len(), 6);
        assert_eq!(d.waves.len(), 4, "{:?}", d.waves);
        let master = d.db_master().expect("a master");
        let slave = d.db_slave().expect("a slave");
        assert!(master.listen_ports.contains(&3306));
        assert!(slave
            .needs
            .iter()
            .any(|n| n.host == master.name && n.port == 3306));
        let worker = d
            .hosts
            .iter()
            .find(|h| h.modules.contains(&Module::Worker))
            .unwrap();
        assert!(
            worker
                .needs
                .iter()
                .any(|n| n.port == 3306 && n.host == master.name),
            "{:?}",
            worker.needs
        );
        assert_eq!(d.secret_values(), ["tok-123456"]);
    }

    #[test]
    fn packagecloud_without_a_token_names_the_variable_to_set() {
        let (loaded, deployment) = load("ha.example.toml");
        let err = desired(&loaded, &deployment, None).unwrap_err().to_string();
        assert!(
            err.contains("SCALR_PACKAGECLOUD_TOKEN") || err.contains("export"),
            "{err}"
        );
    }

    #[test]
    fn rendering_generates_secrets_once_and_adopts_the_hosts_ones() {
        let (loaded, deployment) = load("compact.example.toml");
        let state_root = tempfile::tempdir().unwrap();
        let state = crate::state::StateDir::at(state_root.path()).deployment("t");
        let r = ProfileRenderer {
            loaded: &loaded,
            deployment: &deployment,
            state: &state,
            license: b"{}".to_vec(),
            database_password: None,
        };
        let host = deployment.hosts[0].name.clone();
        let first = r.render(None).unwrap();
        let again = r.render(None).unwrap();
        let secrets_of = |x: &Rendered| {
            x.files_for(&host)
                .iter()
                .find(|f| f.path.ends_with("secrets.json"))
                .unwrap()
                .contents
                .clone()
        };
        assert_eq!(secrets_of(&first), secrets_of(&again), "never regenerated");
        assert!(r
            .paths(&host)
            .iter()
            .any(|p| p.ends_with("scalr-server.rb")));
        let on_host = Secrets::generate().to_json();
        let adopted = r.render(Some(&on_host)).unwrap();
        assert_eq!(
            Secrets::from_json(&secrets_of(&adopted)).unwrap(),
            Secrets::from_json(&on_host).unwrap()
        );
        assert_eq!(
            state.load_secrets().unwrap(),
            Some(Secrets::from_json(&on_host).unwrap())
        );
    }
}
