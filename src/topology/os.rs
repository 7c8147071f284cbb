//! The operating systems Scalr Server supports, exactly as the architecture spec lists them.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum OsId {
    #[serde(rename = "rhel-6")]
    Rhel6,
    #[serde(rename = "rhel-7")]
    Rhel7,
    #[serde(rename = "centos-6")]
    Centos6,
    #[serde(rename = "centos-7")]
    Centos7,
    #[serde(rename = "debian-7")]
    Debian7,
    #[serde(rename = "debian-8")]
    Debian8,
    #[serde(rename = "ubuntu-14.04")]
    Ubuntu1404,
    #[serde(rename = "ubuntu-16.04")]
    Ubuntu1604,
    #[serde(rename = "ubuntu-18.04")]
    Ubuntu1804,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PackageManager {
    /// `yum` + `rpm`; repository from packagecloud's `script.rpm.sh`.
    Yum,
    /// `apt-get` + `dpkg`; repository from packagecloud's `script.deb.sh`.
    Apt,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InitSystem {
    /// SysV init scripts driven by `service` (RHEL/CentOS 6, Debian 7).
    SysV,
    /// Upstart (Ubuntu 14.04).
    Upstart,
    /// systemd (RHEL/CentOS 7, Debian 8, Ubuntu 16.04 and 18.04).
    Systemd,
}

impl OsId {
    pub const ALL: [OsId; 9] = [
        OsId::Rhel6,
        OsId::Rhel7,
        OsId::Centos6,
        OsId::Centos7,
        OsId::Debian7,
        OsId::Debian8,
        OsId::Ubuntu1404,
        OsId::Ubuntu1604,
        OsId::Ubuntu1804,
    ];

    /// The identifier used in profiles and on the command line (`centos-7`, `ubuntu-18.04`).
    pub fn key(self) -> &'static str {
        match self {
            OsId::Rhel6 => "rhel-6",
            OsId::Rhel7 => "rhel-7",
            OsId::Centos6 => "centos-6",
            OsId::Centos7 => "centos-7",
            OsId::Debian7 => "debian-7",
            OsId::Debian8 => "debian-8",
            OsId::Ubuntu1404 => "ubuntu-14.04",
            OsId::Ubuntu1604 => "ubuntu-16.04",
            OsId::Ubuntu1804 => "ubuntu-18.04",
        }
    }

    pub fn parse(s: &str) -> Option<OsId> {
        OsId::ALL.into_iter().find(|os| os.key() == s)
    }

    pub fn title(self) -> &'static str {
        match self {
            OsId::Rhel6 => "Red Hat Enterprise Linux 6",
            OsId::Rhel7 => "Red Hat Enterprise Linux 7",
            OsId::Centos6 => "CentOS 6",
            OsId::Centos7 => "CentOS 7",
            OsId::Debian7 => "Debian 7 (wheezy)",
            OsId::Debian8 => "Debian 8 (jessie)",
            OsId::Ubuntu1404 => "Ubuntu 14.04 (trusty)",
            OsId::Ubuntu1604 => "Ubuntu 16.04 (xenial)",
            OsId::Ubuntu1804 => "Ubuntu 18.04 (bionic)",
        }
    }

    pub fn package_manager(self) -> PackageManager {
        match self {
            OsId::Rhel6 | OsId::Rhel7 | OsId::Centos6 | OsId::Centos7 => PackageManager::Yum,
            _ => PackageManager::Apt,
        }
    }

    pub fn init_system(self) -> InitSystem {
        match self {
            OsId::Rhel6 | OsId::Centos6 | OsId::Debian7 => InitSystem::SysV,
            OsId::Ubuntu1404 => InitSystem::Upstart,
            _ => InitSystem::Systemd,
        }
    }

    /// packagecloud's `os/dist` pair for this system (`el/7`, `ubuntu/bionic`).
    pub fn packagecloud_dist(self) -> (&'static str, &'static str) {
        match self {
            OsId::Rhel6 | OsId::Centos6 => ("el", "6"),
            OsId::Rhel7 | OsId::Centos7 => ("el", "7"),
            OsId::Debian7 => ("debian", "wheezy"),
            OsId::Debian8 => ("debian", "jessie"),
            OsId::Ubuntu1404 => ("ubuntu", "trusty"),
            OsId::Ubuntu1604 => ("ubuntu", "xenial"),
            OsId::Ubuntu1804 => ("ubuntu", "bionic"),
        }
    }
}

impl fmt::Display for OsId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}
