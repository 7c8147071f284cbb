//! The operating system a VM poses as: its release files and its tool family.
//!
//! Release files are reproduced from each distribution's last point release, because that is
//! what installers parse (`/etc/os-release` first, `/etc/redhat-release` on 6.x, which has no
//! os-release at all).

use crate::lab::error::{LabError, Result};
use crate::topology::{InitSystem, OsId, PackageManager};
use std::fmt;

/// A supported OS, or one Scalr does not support, so preflight's refusal can be rehearsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabOs {
    Supported(OsId),
    Unsupported(UnsupportedOs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnsupportedOs {
    Fedora30,
    Centos8,
    Debian10,
    Ubuntu2004,
}

impl UnsupportedOs {
    pub const ALL: [UnsupportedOs; 4] = [
        UnsupportedOs::Fedora30,
        UnsupportedOs::Centos8,
        UnsupportedOs::Debian10,
        UnsupportedOs::Ubuntu2004,
    ];

    pub fn key(self) -> &'static str {
        match self {
            UnsupportedOs::Fedora30 => "fedora-30",
            UnsupportedOs::Centos8 => "centos-8",
            UnsupportedOs::Debian10 => "debian-10",
            UnsupportedOs::Ubuntu2004 => "ubuntu-20.04",
        }
    }
}

/// A file under the VM's `/etc`, relative to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseFile {
    pub path: &'static str,
    pub content: String,
}

/// Every release file any image may carry; all are removed from the copied `/etc` first so the
/// machine's own (Debian) identity never leaks into a VM.
pub const RELEASE_FILE_NAMES: [&str; 9] = [
    "os-release",
    "lsb-release",
    "debian_version",
    "redhat-release",
    "centos-release",
    "system-release",
    "fedora-release",
    "issue",
    "issue.net",
];

impl LabOs {
    pub fn parse(s: &str) -> Result<LabOs> {
        if let Some(os) = OsId::parse(s) {
            return Ok(LabOs::Supported(os));
        }
        if let Some(os) = UnsupportedOs::ALL.into_iter().find(|os| os.key() == s) {
            return Ok(LabOs::Unsupported(os));
        }
        let supported: Vec<&str> = OsId::ALL.iter().map(|os| os.key()).collect();
        let unsupported: Vec<&str> = UnsupportedOs::ALL.iter().map(|os| os.key()).collect();
        Err(LabError::InvalidOption(format!(
            "unknown OS {s:?} in --os: use one of {} (supported by Scalr) or {} (to rehearse an unsupported OS)",
            supported.join(", "),
            unsupported.join(", ")
        )))
    }

    pub fn key(self) -> &'static str {
        match self {
            LabOs::Supported(os) => os.key(),
            LabOs::Unsupported(os) => os.key(),
        }
    }

    pub fn supported(self) -> Option<OsId> {
        match self {
            LabOs::Supported(os) => Some(os),
            LabOs::Unsupported(_) => None,
        }
    }

    pub fn package_manager(self) -> PackageManager {
        match self {
            LabOs::Supported(os) => os.package_manager(),
            LabOs::Unsupported(UnsupportedOs::Fedora30 | UnsupportedOs::Centos8) => {
                PackageManager::Yum
            }
            LabOs::Unsupported(UnsupportedOs::Debian10 | UnsupportedOs::Ubuntu2004) => {
                PackageManager::Apt
            }
        }
    }

    pub fn init_system(self) -> InitSystem {
        match self {
            LabOs::Supported(os) => os.init_system(),
            LabOs::Unsupported(_) => InitSystem::Systemd,
        }
    }

    /// The release files this OS has under `/etc`.
    pub fn release_files(self) -> Vec<ReleaseFile> {
        let f = |path, content: &str| ReleaseFile {
            path,
            content: content.to_string(),
        };
        let rhel_family = |release: &str, os_release: Option<&str>, extra: &[&'static str]| {
            let mut files = vec![f("redhat-release", release), f("system-release", release)];
            files.extend(extra.iter().map(|p| f(p, release)));
            files.extend(os_release.map(|o| f("os-release", o)));
            files.push(f("issue", &format!("{}Kernel \\r on an \\m\n\n", release)));
            files
        };
        let debian = |version: &str, os_release: &str, issue: &str| {
            vec![
                f("debian_version", version),
                f("os-release", os_release),
                f("issue", issue),
            ]
        };
        let ubuntu = |debian_version: &str,
                      release: &str,
                      codename: &str,
                      point: &str,
                      os_release: &str| {
            vec![
                f("debian_version", debian_version),
                f("os-release", os_release),
                f(
                    "lsb-release",
                    &format!(
                        "DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE={release}\nDISTRIB_CODENAME={codename}\nDISTRIB_DESCRIPTION=\"Ubuntu {point}\"\n"
                    ),
                ),
                f("issue", &format!("Ubuntu {point} \\n \\l\n\n")),
            ]
        };
        match self {
            LabOs::Supported(OsId::Centos6) => {
                rhel_family("CentOS release 6.10 (Final)\n", None, &["centos-release"])
            }
            LabOs::Supported(OsId::Rhel6) => rhel_family(
                "Red Hat Enterprise Linux Server release 6.10 (Santiago)\n",
                None,
                &[],
            ),
            LabOs::Supported(OsId::Centos7) => rhel_family(
                "CentOS Linux release 7.9.2009 (Core)\n",
                Some(CENTOS_7),
                &["centos-release"],
            ),
            LabOs::Supported(OsId::Rhel7) => rhel_family(
                "Red Hat Enterprise Linux Server release 7.9 (Maipo)\n",
                Some(RHEL_7),
                &[],
            ),
            LabOs::Unsupported(UnsupportedOs::Centos8) => rhel_family(
                "CentOS Linux release 8.5.2111\n",
                Some(CENTOS_8),
                &["centos-release"],
            ),
            LabOs::Unsupported(UnsupportedOs::Fedora30) => rhel_family(
                "Fedora release 30 (Thirty)\n",
                Some(FEDORA_30),
                &["fedora-release"],
            ),
            LabOs::Supported(OsId::Debian7) => {
                debian("7.11\n", DEBIAN_7, "Debian GNU/Linux 7 \\n \\l\n\n")
            }
            LabOs::Supported(OsId::Debian8) => {
                debian("8.11\n", DEBIAN_8, "Debian GNU/Linux 8 \\n \\l\n\n")
            }
            LabOs::Unsupported(UnsupportedOs::Debian10) => {
                debian("10.13\n", DEBIAN_10, "Debian GNU/Linux 10 \\n \\l\n\n")
            }
            LabOs::Supported(OsId::Ubuntu1404) => ubuntu(
                "jessie/sid\n",
                "14.04",
                "trusty",
                "14.04.6 LTS",
                UBUNTU_1404,
            ),
            LabOs::Supported(OsId::Ubuntu1604) => ubuntu(
                "stretch/sid\n",
                "16.04",
                "xenial",
                "16.04.7 LTS",
                UBUNTU_1604,
            ),
            LabOs::Supported(OsId::Ubuntu1804) => ubuntu(
                "buster/sid\n",
                "18.04",
                "bionic",
                "18.04.6 LTS",
                UBUNTU_1804,
            ),
            LabOs::Unsupported(UnsupportedOs::Ubuntu2004) => ubuntu(
                "bullseye/sid\n",
                "20.04",
                "focal",
                "20.04.6 LTS",
                UBUNTU_2004,
            ),
        }
    }

    /// The content of `/etc/os-release`, when this OS has one.
    pub fn os_release(self) -> Option<String> {
        self.release_files()
            .into_iter()
            .find(|f| f.path == "os-release")
            .map(|f| f.content)
    }
}

impl fmt::Display for LabOs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

const CENTOS_7: &str = r#"NAME="CentOS Linux"
VERSION="7 (Core)"
ID="centos"
ID_LIKE="rhel fedora"
VERSION_ID="7"
PRETTY_NAME="CentOS Linux 7 (Core)"
ANSI_COLOR="0;31"
CPE_NAME="cpe:/o:centos:centos:7"
HOME_URL="https://www.centos.org/"
BUG_REPORT_URL="https://bugs.centos.org/"
"#;

const RHEL_7: &str = r#"NAME="Red Hat Enterprise Linux Server"
VERSION="7.9 (Maipo)"
ID="rhel"
ID_LIKE="fedora"
VARIANT="Server"
VARIANT_ID="server"
VERSION_ID="7.9"
PRETTY_NAME="Red Hat Enterprise Linux Server 7.9 (Maipo)"
ANSI_COLOR="0;31"
CPE_NAME="cpe:/o:redhat:enterprise_linux:7.9:GA:server"
HOME_URL="https://www.redhat.com/"
BUG_REPORT_URL="https://bugzilla.redhat.com/"
"#;

const CENTOS_8: &str = r#"NAME="CentOS Linux"
VERSION="8"
ID="centos"
ID_LIKE="rhel fedora"
VERSION_ID="8"
PLATFORM_ID="platform:el8"
PRETTY_NAME="CentOS Linux 8"
ANSI_COLOR="0;31"
CPE_NAME="cpe:/o:centos:centos:8"
HOME_URL="https://centos.org/"
"#;

const FEDORA_30: &str = r#"NAME=Fedora
VERSION="30 (Thirty)"
ID=fedora
VERSION_ID=30
VERSION_CODENAME=""
PLATFORM_ID="platform:f30"
PRETTY_NAME="Fedora 30 (Thirty)"
ANSI_COLOR="0;34"
CPE_NAME="cpe:/o:fedoraproject:fedora:30"
HOME_URL="https://fedoraproject.org/"
"#;

const DEBIAN_7: &str = r#"PRETTY_NAME="Debian GNU/Linux 7 (wheezy)"
NAME="Debian GNU/Linux"
VERSION_ID="7"
VERSION="7 (wheezy)"
ID=debian
ANSI_COLOR="1;31"
HOME_URL="http://www.debian.org/"
SUPPORT_URL="http://www.debian.org/support/"
BUG_REPORT_URL="http://bugs.debian.org/"
"#;

const DEBIAN_8: &str = r#"PRETTY_NAME="Debian GNU/Linux 8 (jessie)"
NAME="Debian GNU/Linux"
VERSION_ID="8"
VERSION="8 (jessie)"
ID=debian
HOME_URL="http://www.debian.org/"
SUPPORT_URL="http://www.debian.org/support"
BUG_REPORT_URL="https://bugs.debian.org/"
"#;

const DEBIAN_10: &str = r#"PRETTY_NAME="Debian GNU/Linux 10 (buster)"
NAME="Debian GNU/Linux"
VERSION_ID="10"
VERSION="10 (buster)"
VERSION_CODENAME=buster
ID=debian
HOME_URL="https://www.debian.org/"
SUPPORT_URL="https://www.debian.org/support"
BUG_REPORT_URL="https://bugs.debian.org/"
"#;

const UBUNTU_1404: &str = r#"NAME="Ubuntu"
VERSION="14.04.6 LTS, Trusty Tahr"
ID=ubuntu
ID_LIKE=debian
PRETTY_NAME="Ubuntu 14.04.6 LTS"
VERSION_ID="14.04"
HOME_URL="http://www.ubuntu.com/"
SUPPORT_URL="http://help.ubuntu.com/"
BUG_REPORT_URL="http://bugs.launchpad.net/ubuntu/"
"#;

const UBUNTU_1604: &str = r#"NAME="Ubuntu"
VERSION="16.04.7 LTS (Xenial Xerus)"
ID=ubuntu
ID_LIKE=debian
PRETTY_NAME="Ubuntu 16.04.7 LTS"
VERSION_ID="16.04"
HOME_URL="http://www.ubuntu.com/"
SUPPORT_URL="http://help.ubuntu.com/"
BUG_REPORT_URL="http://bugs.launchpad.net/ubuntu/"
VERSION_CODENAME=xenial
UBUNTU_CODENAME=xenial
"#;

const UBUNTU_1804: &str = r#"NAME="Ubuntu"
VERSION="18.04.6 LTS (Bionic Beaver)"
ID=ubuntu
ID_LIKE=debian
PRETTY_NAME="Ubuntu 18.04.6 LTS"
VERSION_ID="18.04"
HOME_URL="https://www.ubuntu.com/"
SUPPORT_URL="https://help.ubuntu.com/"
BUG_REPORT_URL="https://bugs.launchpad.net/ubuntu/"
PRIVACY_POLICY_URL="https://www.ubuntu.com/legal/terms-and-policies/privacy-policy"
VERSION_CODENAME=bionic
UBUNTU_CODENAME=bionic
"#;

const UBUNTU_2004: &str = r#"NAME="Ubuntu"
VERSION="20.04.6 LTS (Focal Fossa)"
ID=ubuntu
ID_LIKE=debian
PRETTY_NAME="Ubuntu 20.04.6 LTS"
VERSION_ID="20.04"
HOME_URL="https://www.ubuntu.com/"
SUPPORT_URL="https://help.ubuntu.com/"
BUG_REPORT_URL="https://bugs.launchpad.net/ubuntu/"
VERSION_CODENAME=focal
UBUNTU_CODENAME=focal
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn centos_6_and_rhel_6_have_only_redhat_release_and_no_os_release() {
        for key in ["centos-6", "rhel-6"] {
            let os = LabOs::parse(key).unwrap();
            assert!(os.os_release().is_none(), "{key}");
            let files = os.release_files();
            assert!(files.iter().any(|f| f.path == "redhat-release"), "{key}");
        }
    }

    #[test]
    fn every_supported_os_has_release_files_that_name_it() {
        for os in OsId::ALL {
            let files = LabOs::Supported(os).release_files();
            let (_, dist) = os.packagecloud_dist();
            let all: String = files.iter().map(|f| f.content.as_str()).collect();
            assert!(
                all.contains(dist) || all.to_lowercase().contains(dist),
                "{os}: {all}"
            );
            for f in &files {
                assert!(RELEASE_FILE_NAMES.contains(&f.path), "{}", f.path);
            }
        }
    }

    #[test]
    fn ubuntu_has_lsb_release_with_its_codename() {
        let os = LabOs::parse("ubuntu-18.04").unwrap();
        let lsb = os
            .release_files()
            .into_iter()
            .find(|f| f.path == "lsb-release")
            .unwrap();
        assert!(lsb.content.contains("DISTRIB_CODENAME=bionic"));
    }

    #[test]
    fn unsupported_os_is_accepted_and_unknown_os_is_refused_with_the_choices() {
        let fedora = LabOs::parse("fedora-30").unwrap();
        assert_eq!(fedora.supported(), None);
        assert!(fedora.os_release().unwrap().contains("ID=fedora"));
        let err = LabOs::parse("windows-11").unwrap_err().to_string();
        assert!(
            err.contains("centos-7") && err.contains("fedora-30"),
            "{err}"
        );
    }
}
