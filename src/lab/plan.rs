//! What the operator asked for, turned into the list of VMs to make: names, roles, OSes and
//! hardware. Pure, so every option's effect is unit-tested without starting anything.

use crate::lab::error::{LabError, Result};
use crate::lab::hardware::Hardware;
use crate::lab::os_image::LabOs;
use crate::profile::HaRole;
use std::path::PathBuf;

/// Which deployment the lab is shaped for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabLayout {
    /// Six VMs named and provisioned for the `ha` roles; the profile uses layout `ha`.
    Ha,
    /// One VM for everything; the profile uses layout `compact`.
    Compact,
    /// `n` plain VMs (`vm-1` …) and no profile: hosts for SSH and engine tests.
    Bare(usize),
    /// `n` VMs: the HA core (worker, influxdb, db-master, db-slave) plus `n - 4` app hosts
    /// (`app-1` …); the profile uses layout `custom`. For fleets larger than six, e.g. benchmarks.
    Scaled(usize),
}

/// The login the generated profile uses (every VM accepts all three).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LabLogin {
    #[default]
    Root,
    /// `deploy`, with `sudo -n`.
    Deploy,
    /// `operator`, with `sudo -S` and the password in `DIR/operator-password`.
    Operator,
}

impl LabLogin {
    pub fn parse(s: &str) -> Result<LabLogin> {
        match s {
            "root" => Ok(LabLogin::Root),
            "deploy" => Ok(LabLogin::Deploy),
            "operator" => Ok(LabLogin::Operator),
            _ => Err(LabError::InvalidOption(format!(
                "unknown login {s:?}: use root, deploy (sudo without password) or operator (sudo with password)"
            ))),
        }
    }

    pub fn user(self) -> &'static str {
        match self {
            LabLogin::Root => "root",
            LabLogin::Deploy => "deploy",
            LabLogin::Operator => "operator",
        }
    }
}

#[derive(Debug, Clone)]
pub struct LabOptions {
    /// Where the lab keeps its VMs, keys, profile and state; created, must not exist or be empty.
    pub dir: PathBuf,
    pub layout: LabLayout,
    /// One OS for every VM, or one per VM in order; empty means the default mix.
    pub os: Vec<String>,
    /// sshd's port on every VM address.
    pub port: u16,
    /// Written to each VM's `vm.toml` for the simulator: a full first reconfigure's duration.
    pub reconfigure_secs: f64,
    /// Per-VM hardware overrides, `(vm name, value)`.
    pub ram_mb: Vec<(String, u64)>,
    pub disk_gb: Vec<(String, f64)>,
    pub cpus: Vec<(String, u32)>,
    /// The login written into the generated profile.
    pub login: LabLogin,
    /// The binary the VMs' simulated tools link to; `None` means this process's executable.
    pub tool_binary: Option<PathBuf>,
}

impl LabOptions {
    pub fn new(dir: impl Into<PathBuf>, layout: LabLayout) -> LabOptions {
        LabOptions {
            dir: dir.into(),
            layout,
            os: Vec::new(),
            port: 22,
            reconfigure_secs: 3.0,
            ram_mb: Vec::new(),
            disk_gb: Vec::new(),
            cpus: Vec::new(),
            login: LabLogin::Root,
            tool_binary: None,
        }
    }
}

/// One VM to create.
#[derive(Debug, Clone, PartialEq)]
pub struct VmPlan {
    pub name: String,
    pub role: Option<HaRole>,
    pub os: LabOs,
    pub hardware: Hardware,
}

pub const HA_ROLES: [(&str, HaRole); 6] = [
    ("app-1", HaRole::App),
    ("app-2", HaRole::App),
    ("worker", HaRole::Worker),
    ("influxdb", HaRole::Influxdb),
    ("db-master", HaRole::DbMaster),
    ("db-slave", HaRole::DbSlave),
];

/// Both package families, a 6.x-free mix so the default lab installs cleanly.
const DEFAULT_HA_OS: [&str; 6] = [
    "ubuntu-18.04",
    "centos-7",
    "ubuntu-16.04",
    "debian-8",
    "centos-7",
    "rhel-7",
];

pub const MAX_VMS: usize = 60;

/// A scaled lab's HA core, after its app hosts; at least one app host makes a valid deployment.
const SCALED_CORE: [(&str, HaRole); 4] = [
    ("worker", HaRole::Worker),
    ("influxdb", HaRole::Influxdb),
    ("db-master", HaRole::DbMaster),
    ("db-slave", HaRole::DbSlave),
];
pub const MIN_SCALED_VMS: usize = SCALED_CORE.len() + 1;

pub fn plan_vms(opts: &LabOptions) -> Result<Vec<VmPlan>> {
    let slots: Vec<(String, Option<HaRole>)> = match opts.layout {
        LabLayout::Ha => HA_ROLES
            .iter()
            .map(|(name, role)| (name.to_string(), Some(*role)))
            .collect(),
        LabLayout::Compact => vec![("scalr".to_string(), None)],
        LabLayout::Bare(0) => {
            return Err(LabError::InvalidOption("--hosts must be at least 1".into()))
        }
        LabLayout::Bare(n) if n > MAX_VMS => {
            return Err(LabError::InvalidOption(format!(
                "--hosts {n} is more than a lab holds ({MAX_VMS}): ask for fewer VMs"
            )))
        }
        LabLayout::Bare(n) => (1..=n).map(|i| (format!("vm-{i}"), None)).collect(),
        LabLayout::Scaled(n) if !(MIN_SCALED_VMS..=MAX_VMS).contains(&n) => {
            return Err(LabError::InvalidOption(format!(
                "--layout scaled --hosts {n}: a scaled lab has {MIN_SCALED_VMS} to {MAX_VMS} VMs \
                 (worker, influxdb, db-master, db-slave and at least one app host)"
            )))
        }
        LabLayout::Scaled(n) => (1..=n - SCALED_CORE.len())
            .map(|i| (format!("app-{i}"), Some(HaRole::App)))
            .chain(
                SCALED_CORE
                    .iter()
                    .map(|(name, role)| (name.to_string(), Some(*role))),
            )
            .collect(),
    };

    let os_keys: Vec<String> = match (opts.os.len(), opts.layout) {
        (0, LabLayout::Ha) => DEFAULT_HA_OS.iter().map(|s| s.to_string()).collect(),
        (0, LabLayout::Scaled(_)) => DEFAULT_HA_OS
            .iter()
            .cycle()
            .take(slots.len())
            .map(|s| s.to_string())
            .collect(),
        (0, _) => vec!["ubuntu-18.04".to_string(); slots.len()],
        (1, _) => vec![opts.os[0].clone(); slots.len()],
        (n, _) if n == slots.len() => opts.os.clone(),
        (n, _) => {
            return Err(LabError::InvalidOption(format!(
                "--os lists {n} systems for {} VMs ({}): give one OS for all, or exactly one per VM in that order",
                slots.len(),
                slots.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(", ")
            )))
        }
    };

    let names: Vec<&str> = slots.iter().map(|(n, _)| n.as_str()).collect();
    let check_names = |flag: &str, keys: Vec<&String>| -> Result<()> {
        for key in keys {
            if !names.contains(&key.as_str()) {
                return Err(LabError::InvalidOption(format!(
                    "{flag} names VM {key:?}, but this lab's VMs are {}",
                    names.join(", ")
                )));
            }
        }
        Ok(())
    };
    check_names("--ram-mb", opts.ram_mb.iter().map(|(n, _)| n).collect())?;
    check_names("--disk-gb", opts.disk_gb.iter().map(|(n, _)| n).collect())?;
    check_names("--cpus", opts.cpus.iter().map(|(n, _)| n).collect())?;

    let mut vms = Vec::new();
    for ((name, role), os_key) in slots.into_iter().zip(os_keys) {
        let os = LabOs::parse(&os_key)?;
        let mut hardware = Hardware::recommended(role);
        if let Some((_, mb)) = opts.ram_mb.iter().rev().find(|(n, _)| *n == name) {
            hardware.ram_mb = *mb;
        }
        if let Some((_, gb)) = opts.disk_gb.iter().rev().find(|(n, _)| *n == name) {
            if !gb.is_finite() || *gb <= 0.0 {
                return Err(LabError::InvalidOption(format!(
                    "--disk-gb {name}={gb}: the disk size must be above 0 (fractions such as 0.05 are fine)"
                )));
            }
            hardware.disk_mb = ((gb * 1024.0).round() as u64).max(1);
        }
        if let Some((_, cpus)) = opts.cpus.iter().rev().find(|(n, _)| *n == name) {
            hardware.cpus = *cpus;
        }
        if hardware.cpus == 0 || hardware.ram_mb == 0 {
            return Err(LabError::InvalidOption(format!(
                "VM {name}: --cpus and --ram-mb must be above 0"
            )));
        }
        vms.push(VmPlan {
            name,
            role,
            os,
            hardware,
        });
    }
    Ok(vms)
}

/// Parses `NAME=VALUE` as given to `--ram-mb`, `--disk-gb` and `--cpus`.
pub fn parse_override<T: std::str::FromStr>(flag: &str, s: &str) -> Result<(String, T)> {
    let bad = || {
        LabError::InvalidOption(format!(
            "{flag} {s:?}: expected VM=NUMBER, e.g. {flag} app-1=3000"
        ))
    };
    let (name, value) = s.split_once('=').ok_or_else(bad)?;
    let value = value.trim().parse().map_err(|_| bad())?;
    Ok((name.trim().to_string(), value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::OsId;

    #[test]
    fn ha_lab_has_the_six_roles_in_order_with_a_mix_of_package_families() {
        let vms = plan_vms(&LabOptions::new("/x", LabLayout::Ha)).unwrap();
        let names: Vec<&str> = vms.iter().map(|v| v.name.as_str()).collect();
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
        assert_eq!(vms[4].role, Some(HaRole::DbMaster));
        let families: std::collections::HashSet<_> = vms
            .iter()
            .map(|v| format!("{:?}", v.os.package_manager()))
            .collect();
        assert_eq!(families.len(), 2);
    }

    #[test]
    fn one_os_applies_to_every_vm_and_a_list_must_match_the_vm_count() {
        let mut opts = LabOptions::new("/x", LabLayout::Ha);
        opts.os = vec!["centos-6".into()];
        assert!(plan_vms(&opts)
            .unwrap()
            .iter()
            .all(|v| v.os == LabOs::Supported(OsId::Centos6)));
        opts.os = vec!["centos-6".into(), "centos-7".into()];
        let err = plan_vms(&opts).unwrap_err().to_string();
        assert!(err.contains("2 systems for 6 VMs"), "{err}");
    }

    #[test]
    fn hardware_overrides_apply_to_the_named_vm_only() {
        let mut opts = LabOptions::new("/x", LabLayout::Ha);
        opts.ram_mb = vec![parse_override("--ram-mb", "app-1=3000").unwrap()];
        opts.disk_gb = vec![parse_override("--disk-gb", "worker=0.5").unwrap()];
        opts.cpus = vec![parse_override("--cpus", "influxdb=1").unwrap()];
        let vms = plan_vms(&opts).unwrap();
        assert_eq!(vms[0].hardware.ram_mb, 3000);
        assert_eq!(vms[1].hardware.ram_mb, 8192);
        assert_eq!(vms[2].hardware.disk_mb, 512);
        assert_eq!(vms[3].hardware.cpus, 1);
    }

    #[test]
    fn an_override_for_a_vm_that_does_not_exist_is_refused() {
        let mut opts = LabOptions::new("/x", LabLayout::Compact);
        opts.ram_mb = vec![("app-1".into(), 3000)];
        let err = plan_vms(&opts).unwrap_err().to_string();
        assert!(err.contains("\"app-1\"") && err.contains("scalr"), "{err}");
        assert!(parse_override::<u64>("--ram-mb", "app-1").is_err());
        assert!(parse_override::<u64>("--ram-mb", "app-1=lots").is_err());
    }

    #[test]
    fn scaled_lab_is_the_ha_core_plus_app_hosts_with_both_package_families() {
        let vms = plan_vms(&LabOptions::new("/x", LabLayout::Scaled(24))).unwrap();
        assert_eq!(vms.len(), 24);
        assert_eq!(vms[0].name, "app-1");
        assert_eq!(vms[19].name, "app-20");
        assert!(vms[..20].iter().all(|v| v.role == Some(HaRole::App)));
        let core: Vec<(&str, Option<HaRole>)> = vms[20..]
            .iter()
            .map(|v| (v.name.as_str(), v.role))
            .collect();
        assert_eq!(
            core,
            [
                ("worker", Some(HaRole::Worker)),
                ("influxdb", Some(HaRole::Influxdb)),
                ("db-master", Some(HaRole::DbMaster)),
                ("db-slave", Some(HaRole::DbSlave)),
            ]
        );
        let families: std::collections::HashSet<_> = vms
            .iter()
            .map(|v| format!("{:?}", v.os.package_manager()))
            .collect();
        assert_eq!(families.len(), 2);
        let err = plan_vms(&LabOptions::new("/x", LabLayout::Scaled(4)))
            .unwrap_err()
            .to_string();
        assert!(err.contains("at least one app host"), "{err}");
        assert!(plan_vms(&LabOptions::new("/x", LabLayout::Scaled(MAX_VMS + 1))).is_err());
    }

    #[test]
    fn bare_lab_names_vms_in_sequence() {
        let vms = plan_vms(&LabOptions::new("/x", LabLayout::Bare(3))).unwrap();
        let names: Vec<&str> = vms.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(names, ["vm-1", "vm-2", "vm-3"]);
        assert!(plan_vms(&LabOptions::new("/x", LabLayout::Bare(0))).is_err());
    }
}
