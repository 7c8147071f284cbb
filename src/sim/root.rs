//! Where the simulator's files live: every absolute path is resolved under `SCALR_SIM_ROOT`.
//!
//! Inside a lab VM the root is `/` (the VM's own mount namespace makes `/etc`, `/opt/scalr-server`
//! etc. private). In tests it is a temp dir, so no namespace or root privilege is needed.

use std::path::{Path, PathBuf};

/// The environment variable naming the root prefix; absent means `/`.
pub const ROOT_ENV: &str = "SCALR_SIM_ROOT";

pub const ETC_DIR: &str = "/etc/scalr-server";
pub const MAIN_RB: &str = "/etc/scalr-server/scalr-server.rb";
pub const LOCAL_RB: &str = "/etc/scalr-server/scalr-server-local.rb";
pub const SECRETS_JSON: &str = "/etc/scalr-server/scalr-server-secrets.json";
pub const VM_TOML: &str = "/etc/scalr-lab/vm.toml";
pub const FAULTS_TOML: &str = "/etc/scalr-lab/faults.toml";
pub const APT_LIST: &str = "/etc/apt/sources.list.d/scalr_scalr-server-ee.list";
pub const YUM_REPO: &str = "/etc/yum.repos.d/scalr_scalr-server-ee.repo";
/// The emulated package database and repository cache of this VM.
pub const LAB_STATE_DIR: &str = "/var/lib/scalr-lab";
pub const OPT: &str = "/opt/scalr-server";
pub const INSTALLER_LOG_DIR: &str = "/opt/scalr-server/var/log/installer";
pub const RUN_DIR: &str = "/opt/scalr-server/var/run";
pub const MYSQL_DATA_DIR: &str = "/opt/scalr-server/var/lib/mysql";
pub const BINLOG_BOOTSTRAP: &str = "/opt/scalr-server/var/lib/mysql/binlog-bootstrap";
pub const MEMINFO: &str = "/proc/meminfo";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimRoot {
    base: PathBuf,
}

impl SimRoot {
    pub fn new(base: impl Into<PathBuf>) -> SimRoot {
        SimRoot { base: base.into() }
    }

    /// The root named by `SCALR_SIM_ROOT`, or `/`.
    pub fn from_env() -> SimRoot {
        match std::env::var_os(ROOT_ENV) {
            Some(dir) if !dir.is_empty() => SimRoot::new(dir),
            _ => SimRoot::new("/"),
        }
    }

    pub fn base(&self) -> &Path {
        &self.base
    }

    /// The real location of `absolute` (a path as the VM sees it, e.g. `/etc/scalr-server`).
    pub fn path(&self, absolute: &str) -> PathBuf {
        self.base.join(absolute.trim_start_matches('/'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vm_paths_resolve_under_the_root_prefix() {
        let root = SimRoot::new("/tmp/vm1");
        assert_eq!(
            root.path(MAIN_RB),
            PathBuf::from("/tmp/vm1/etc/scalr-server/scalr-server.rb")
        );
        assert_eq!(
            SimRoot::new("/").path(OPT),
            PathBuf::from("/opt/scalr-server")
        );
    }
}
