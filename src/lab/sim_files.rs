//! The files through which the lab talks to the simulator inside each VM:
//! `/etc/scalr-lab/vm.toml` (what the VM is) and `/etc/scalr-lab/faults.toml` (what should go
//! wrong), as the lab ↔ simulator contract defines them.

use crate::lab::error::{LabError, Result};
use crate::lab::users::write_mode;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

/// Versions in the fake packagecloud repository, newest last.
pub const VERSIONS: [&str; 3] = ["7.15.2", "8.0.0", "8.0.1"];
/// The version the generated profile pins: not the newest, so an upgrade can be rehearsed.
pub const PINNED_VERSION: &str = "8.0.0";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VmToml {
    pub name: String,
    pub address: String,
    pub os: String,
    pub sim: SimSection,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimSection {
    pub reconfigure_secs: f64,
    pub packagecloud_token: String,
    pub versions: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub lab_peers: BTreeMap<String, String>,
}

impl VmToml {
    pub fn write(&self, etc: &Path) -> Result<()> {
        let dir = etc.join("scalr-lab");
        fs::create_dir_all(&dir).map_err(LabError::io("create", &dir))?;
        let text = toml::to_string(self).expect("vm.toml serialises");
        write_mode(&dir.join("vm.toml"), &text, 0o600)
    }
}

/// Reconfigure faults the simulator reads at each run; absent keys mean "no such fault".
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Faults {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reconfigure_fail_at: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reconfigure_hang: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reconfigure_slow: Option<f64>,
}

impl Faults {
    pub fn path(etc: &Path) -> std::path::PathBuf {
        etc.join("scalr-lab/faults.toml")
    }

    pub fn load(etc: &Path) -> Result<Faults> {
        let path = Self::path(etc);
        match fs::read_to_string(&path) {
            Ok(text) => toml::from_str(&text).map_err(|e| LabError::BadState {
                path,
                detail: e.to_string(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Faults::default()),
            Err(e) => Err(LabError::io("read", &path)(e)),
        }
    }

    /// Writes the faults, or removes the file when there are none.
    pub fn store(&self, etc: &Path) -> Result<()> {
        let path = Self::path(etc);
        if *self == Faults::default() {
            return match fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    Err(LabError::io("remove", &path)(e))
                }
                _ => Ok(()),
            };
        }
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).map_err(LabError::io("create", dir))?;
        }
        write_mode(
            &path,
            &toml::to_string(self).expect("faults serialise"),
            0o600,
        )
    }
}

/// A fake package file `dpkg -i` / `rpm -Uvh` in the simulator accept, for `source = local`.
pub fn fake_package(version: &str) -> String {
    format!(
        "SCALR-LAB-PACKAGE {version}\n\
         This is not Scalr Server: it is a stand-in the scalr-installer lab's simulated package\n\
         manager installs, because the real package needs a licence and a download token.\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vm_toml_has_the_contracts_shape() {
        let vm = VmToml {
            name: "app-1".into(),
            address: "127.0.3.11".into(),
            os: "ubuntu-18.04".into(),
            sim: SimSection {
                reconfigure_secs: 3.0,
                packagecloud_token: "tok".into(),
                versions: VERSIONS.iter().map(|v| v.to_string()).collect(),
                lab_peers: [("127.0.3.12".to_string(), "app-2".to_string())].into(),
            },
        };
        let text = toml::to_string(&vm).unwrap();
        let value: toml::Value = toml::from_str(&text).unwrap();
        assert_eq!(value["name"].as_str(), Some("app-1"));
        assert_eq!(value["sim"]["reconfigure_secs"].as_float(), Some(3.0));
        assert_eq!(value["sim"]["versions"][2].as_str(), Some("8.0.1"));
        assert_eq!(
            value["sim"]["lab_peers"]["127.0.3.12"].as_str(),
            Some("app-2")
        );
    }

    #[test]
    fn faults_round_trip_and_no_faults_means_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let etc = dir.path();
        let faults = Faults {
            reconfigure_fail_at: Some(7),
            ..Faults::default()
        };
        faults.store(etc).unwrap();
        assert_eq!(
            fs::read_to_string(Faults::path(etc)).unwrap(),
            "reconfigure_fail_at = 7\n"
        );
        assert_eq!(Faults::load(etc).unwrap(), faults);
        Faults::default().store(etc).unwrap();
        assert!(!Faults::path(etc).exists());
        assert_eq!(Faults::load(etc).unwrap(), Faults::default());
    }
}
