//! `DIR/lab.json`: what `lab status`, `lab fault` and `lab down` need to find a running lab again,
//! including from another process or after a crash.

use crate::lab::error::{LabError, Result};
use crate::lab::hardware::Hardware;
use crate::profile::HaRole;
use serde::{Deserialize, Serialize};
use std::fs;
use std::path::{Path, PathBuf};

pub const STATE_FILE: &str = "lab.json";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabState {
    /// Random; part of every mount source the VMs create, so a namespace is recognised as ours.
    pub lab_id: String,
    pub dir: PathBuf,
    /// The third octet of the lab's 127.0.N.0/24.
    pub block: u8,
    pub port: u16,
    /// `ha`, `compact` or `bare`.
    pub layout: String,
    pub tool_binary: PathBuf,
    pub vms: Vec<VmState>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VmState {
    pub name: String,
    pub address: String,
    pub os: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<HaRole>,
    pub hardware: Hardware,
    /// The process that holds the VM's namespaces open (`sleep infinity`, the VM's "init").
    pub holder_pid: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sshd_pid: Option<i32>,
    /// Inode of the VM's mount namespace.
    pub mnt_ns: u64,
    /// Mount points inside the VM's namespace (none exist in the machine's own namespace).
    pub mounts: Vec<String>,
}

impl LabState {
    pub fn path(dir: &Path) -> PathBuf {
        dir.join(STATE_FILE)
    }

    pub fn load(dir: &Path) -> Result<LabState> {
        let path = Self::path(dir);
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(LabError::NoLab {
                    dir: dir.to_path_buf(),
                })
            }
            Err(e) => return Err(LabError::io("read", &path)(e)),
        };
        serde_json::from_str(&text).map_err(|e| LabError::BadState {
            path,
            detail: e.to_string(),
        })
    }

    /// Written to a temporary file and renamed, so a crash never leaves half a state file.
    pub fn save(&self) -> Result<()> {
        let path = Self::path(&self.dir);
        let tmp = self.dir.join(".lab.json.tmp");
        let text = serde_json::to_string_pretty(self).expect("lab state serialises");
        fs::write(&tmp, text + "\n").map_err(LabError::io("write", &tmp))?;
        fs::rename(&tmp, &path).map_err(LabError::io("write", &path))
    }

    pub fn vm(&self, name: &str) -> Result<&VmState> {
        self.vms
            .iter()
            .find(|vm| vm.name == name)
            .ok_or_else(|| self.unknown_vm(name))
    }

    pub fn vm_mut(&mut self, name: &str) -> Result<&mut VmState> {
        let err = self.unknown_vm(name);
        self.vms.iter_mut().find(|vm| vm.name == name).ok_or(err)
    }

    fn unknown_vm(&self, name: &str) -> LabError {
        LabError::UnknownVm {
            name: name.to_string(),
            known: self
                .vms
                .iter()
                .map(|vm| vm.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        }
    }

    /// The mount source naming one of this lab's VM mounts, e.g. `scalr-lab:ab12:app-1:run`.
    pub fn mount_marker(&self, vm: &str, what: &str) -> String {
        mount_marker(&self.lab_id, vm, what)
    }
}

pub fn mount_marker(lab_id: &str, vm: &str, what: &str) -> String {
    format!("scalr-lab:{lab_id}:{vm}:{what}")
}
