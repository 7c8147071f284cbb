//! What the lab tells the simulator about its VM (`vm.toml`) and which faults to inject
//! (`faults.toml`, re-read at every run so `scalr-installer lab fault` takes effect at once).

use super::root::{SimRoot, FAULTS_TOML, VM_TOML};
use crate::topology::{OsId, PackageManager};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;

/// Unknown keys are ignored here on purpose: the lab owns this file and may describe more of
/// the VM (users, hardware) than the simulator needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VmConf {
    pub name: String,
    /// The VM's own loopback address; wildcard and loopback binds are translated to it.
    pub address: Ipv4Addr,
    /// An `OsId` key, or another name (e.g. `fedora-30`) for an unsupported OS.
    pub os: String,
    #[serde(default)]
    pub sim: SimSettings,
    /// Names from the VM's own `/etc/hosts` (the lab lists every VM there), read at load.
    #[serde(skip)]
    pub hosts: Vec<(Ipv4Addr, String)>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimSettings {
    /// Seconds a full first `reconfigure` takes; re-runs with nothing to do are much faster.
    #[serde(default = "default_reconfigure_secs")]
    pub reconfigure_secs: f64,
    /// The token the fake packagecloud repository accepts.
    #[serde(default)]
    pub packagecloud_token: String,
    /// Versions in the fake repository, newest last.
    #[serde(default = "default_versions")]
    pub versions: Vec<String>,
    /// Address → VM name of the other lab VMs; lets configs name peers by VM name.
    #[serde(default)]
    pub lab_peers: BTreeMap<String, String>,
}

fn default_reconfigure_secs() -> f64 {
    3.0
}

fn default_versions() -> Vec<String> {
    vec!["8.0.1".to_string()]
}

impl Default for SimSettings {
    fn default() -> Self {
        SimSettings {
            reconfigure_secs: default_reconfigure_secs(),
            packagecloud_token: String::new(),
            versions: default_versions(),
            lab_peers: BTreeMap::new(),
        }
    }
}

impl VmConf {
    pub fn load(root: &SimRoot) -> Result<VmConf, String> {
        let path = root.path(VM_TOML);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            format!(
                "cannot read {} ({e}); this tool is part of the lab simulator and only runs inside \
                 a lab VM: start one with `scalr-installer lab up`",
                path.display()
            )
        })?;
        let mut vm: VmConf = toml::from_str(&text).map_err(|e| {
            format!("{} is not a valid lab VM description: {e}; recreate the lab with `scalr-installer lab up`", path.display())
        })?;
        vm.hosts =
            read_hosts(&std::fs::read_to_string(root.path("/etc/hosts")).unwrap_or_default());
        Ok(vm)
    }

    /// The package family of the emulated OS, also for unsupported ones (`fedora-30` is yum).
    pub fn package_manager(&self) -> Option<PackageManager> {
        if let Some(os) = OsId::parse(&self.os) {
            return Some(os.package_manager());
        }
        let family = self.os.split('-').next().unwrap_or("");
        match family {
            "fedora" | "centos" | "rhel" | "amzn" | "amazon" | "ol" | "oracle" | "rocky"
            | "alma" | "sles" | "opensuse" => Some(PackageManager::Yum),
            "debian" | "ubuntu" | "mint" => Some(PackageManager::Apt),
            _ => None,
        }
    }

    /// Resolves a host as a Scalr config names it: an IPv4 address, `localhost`, or a lab VM name.
    /// Loopback names mean this VM, because all VMs share the machine's one loopback interface.
    pub fn resolve(&self, host: &str) -> Option<Ipv4Addr> {
        let host = host.trim();
        if host.is_empty()
            || host == "localhost"
            || host == "0.0.0.0"
            || host == "::"
            || host == self.name
        {
            return Some(self.address);
        }
        if let Ok(ip) = host.parse::<Ipv4Addr>() {
            return Some(if ip == Ipv4Addr::LOCALHOST {
                self.address
            } else {
                ip
            });
        }
        let peer = self
            .sim
            .lab_peers
            .iter()
            .find(|(_, name)| name.as_str() == host)
            .and_then(|(addr, _)| addr.parse().ok());
        let listed = || {
            self.hosts
                .iter()
                .find(|(_, name)| name == host)
                .map(|(ip, _)| *ip)
        };
        // A name the VM's hosts file maps to 127.0.0.1 is this VM, as with `localhost`.
        peer.or_else(listed).map(|ip| {
            if ip == Ipv4Addr::LOCALHOST {
                self.address
            } else {
                ip
            }
        })
    }
}

/// `address name…` lines of an `/etc/hosts`, IPv4 only.
fn read_hosts(text: &str) -> Vec<(Ipv4Addr, String)> {
    text.lines()
        .map(|l| l.split('#').next().unwrap_or(""))
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            let ip: Ipv4Addr = words.next()?.parse().ok()?;
            Some(
                words
                    .map(move |name| (ip, name.to_string()))
                    .collect::<Vec<_>>(),
            )
        })
        .flatten()
        .collect()
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Faults {
    /// Index (0-based, counting the `... [ OK ]` progress lines) of the step that fails.
    #[serde(default)]
    pub reconfigure_fail_at: Option<usize>,
    /// Sleep forever after `Preparing to reconfigure Scalr...`.
    #[serde(default)]
    pub reconfigure_hang: bool,
    /// Multiplies every simulated duration.
    #[serde(default)]
    pub reconfigure_slow: Option<f64>,
}

impl Faults {
    /// The faults in force now; a missing file means none.
    pub fn load(root: &SimRoot) -> Result<Faults, String> {
        let path = root.path(FAULTS_TOML);
        match std::fs::read_to_string(&path) {
            Ok(text) => toml::from_str(&text).map_err(|e| {
                format!("{} is not a valid fault list: {e}; fix it or clear faults with `scalr-installer lab fault`", path.display())
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Faults::default()),
            Err(e) => Err(format!("cannot read {}: {e}", path.display())),
        }
    }

    /// Writes the faults for the next run (`scalr-installer lab fault`); no fault removes the file.
    pub fn save(&self, root: &SimRoot) -> Result<(), String> {
        let path = root.path(FAULTS_TOML);
        if *self == Faults::default() {
            return match std::fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    Err(format!("cannot remove {}: {e}", path.display()))
                }
                _ => Ok(()),
            };
        }
        let text = toml::to_string(self).map_err(|e| format!("cannot encode faults: {e}"))?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
    }

    pub fn slowdown(&self) -> f64 {
        self.reconfigure_slow
            .filter(|f| f.is_finite() && *f > 0.0)
            .unwrap_or(1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vm() -> VmConf {
        toml::from_str(
            r#"
            name = "app-1"
            address = "127.0.3.11"
            os = "ubuntu-18.04"
            [sim]
            reconfigure_secs = 0.5
            packagecloud_token = "tok"
            versions = ["7.15.2", "8.0.1"]
            lab_peers = { "127.0.3.12" = "db-1" }
            "#,
        )
        .unwrap()
    }

    #[test]
    fn the_lab_vm_description_parses() {
        let vm = vm();
        assert_eq!(vm.address, Ipv4Addr::new(127, 0, 3, 11));
        assert_eq!(vm.sim.versions.last().unwrap(), "8.0.1");
        assert_eq!(vm.package_manager(), Some(PackageManager::Apt));
    }

    #[test]
    fn loopback_and_vm_names_resolve_to_lab_addresses() {
        let vm = vm();
        assert_eq!(vm.resolve("127.0.0.1"), Some(vm.address));
        assert_eq!(vm.resolve("0.0.0.0"), Some(vm.address));
        assert_eq!(vm.resolve("db-1"), Some(Ipv4Addr::new(127, 0, 3, 12)));
        assert_eq!(vm.resolve("nowhere.example"), None);
    }

    #[test]
    fn saved_faults_are_read_back_and_clearing_removes_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let root = SimRoot::new(dir.path());
        let faults = Faults {
            reconfigure_fail_at: Some(7),
            reconfigure_hang: false,
            reconfigure_slow: Some(4.0),
        };
        faults.save(&root).unwrap();
        assert_eq!(Faults::load(&root).unwrap(), faults);
        Faults::default().save(&root).unwrap();
        assert!(!root.path(FAULTS_TOML).exists());
        assert_eq!(Faults::load(&root).unwrap(), Faults::default());
    }

    #[test]
    fn a_misspelt_fault_is_an_error_not_silently_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let root = SimRoot::new(dir.path());
        std::fs::create_dir_all(root.path("/etc/scalr-lab")).unwrap();
        std::fs::write(root.path(FAULTS_TOML), "reconfigure_fail = 3\n").unwrap();
        assert!(Faults::load(&root).unwrap_err().contains("faults.toml"));
    }

    #[test]
    fn names_in_the_vms_etc_hosts_resolve() {
        let mut vm = vm();
        vm.hosts = read_hosts(
            "127.0.0.1 localhost\n127.0.3.13 worker worker.lab # the worker\n::1 ip6-localhost\n",
        );
        assert_eq!(vm.resolve("worker.lab"), Some(Ipv4Addr::new(127, 0, 3, 13)));
        assert_eq!(vm.resolve("ip6-localhost"), None);
        vm.hosts = read_hosts("127.0.0.1 app-1.lab\n");
        assert_eq!(vm.resolve("app-1.lab"), Some(vm.address));
    }

    #[test]
    fn unsupported_systems_still_have_a_package_family() {
        let mut vm = vm();
        vm.os = "fedora-30".into();
        assert_eq!(vm.package_manager(), Some(PackageManager::Yum));
    }
}
