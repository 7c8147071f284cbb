//! Phase 5, package: installs or upgrades `scalr-server` at the pinned version, detached under
//! the host's installer lock (an install takes minutes and must survive a dropped connection).

use crate::engine::desired::PackageSource;
use crate::engine::detached::{run_detached, DetachedStep};
use crate::engine::events::{EventKind, Stream};
use crate::engine::phases::facts::{parse_installed_version, STATE_DIR};
use crate::engine::phases::{HostCtx, Need, PhaseError, Tail};
use crate::engine::plan::PackageAction;
use crate::engine::remote::quote;
use crate::topology::{OsId, PackageManager};
use std::path::{Path, PathBuf};

pub fn need(action: &Option<PackageAction>) -> Need {
    match action {
        None => Need::Skip("scalr-server is already at the wanted version".into()),
        Some(_) => Need::Run,
    }
}

/// The command that installs from the repository.
pub fn repository_install_command(os: OsId, version: Option<&str>) -> String {
    match (os.package_manager(), version) {
        (PackageManager::Apt, Some(v)) => format!(
            "DEBIAN_FRONTEND=noninteractive apt-get install -y {}",
            quote(&format!("scalr-server={v}-1"))
        ),
        (PackageManager::Apt, None) => {
            "DEBIAN_FRONTEND=noninteractive apt-get install -y scalr-server".into()
        }
        (PackageManager::Yum, Some(v)) => {
            format!("yum install -y {}", quote(&format!("scalr-server-{v}-1")))
        }
        (PackageManager::Yum, None) => "yum install -y scalr-server".into(),
    }
}

/// The command that prints the installed version (`8.0.1-1`), exit 1 when absent.
pub fn version_query(os: OsId) -> &'static str {
    match os.package_manager() {
        PackageManager::Apt => "dpkg-query -W -f='${Version}' scalr-server",
        PackageManager::Yum => "rpm -q --qf '%{VERSION}-%{RELEASE}' scalr-server",
    }
}

/// Picks the local package file for this OS family: `.deb` for apt, `.rpm` for yum.
pub fn local_package_for(os: OsId, files: &[PathBuf]) -> Option<&PathBuf> {
    let ext = match os.package_manager() {
        PackageManager::Apt => "deb",
        PackageManager::Yum => "rpm",
    };
    files
        .iter()
        .find(|f| f.extension().is_some_and(|e| e == ext))
}

pub fn local_install_command(os: OsId, remote_path: &str) -> String {
    match os.package_manager() {
        PackageManager::Apt => format!("dpkg -i {}", quote(remote_path)),
        PackageManager::Yum => format!("rpm -Uvh {}", quote(remote_path)),
    }
}

pub fn run(ctx: &HostCtx, os: OsId, action: &PackageAction) -> Result<(), PhaseError> {
    let wanted = match action {
        PackageAction::Install { version } => version.clone(),
        PackageAction::Upgrade { to, .. } => Some(to.clone()),
    };
    let command = match &ctx.deployment.package {
        PackageSource::Packagecloud { .. } => repository_install_command(os, wanted.as_deref()),
        PackageSource::Local { files } => {
            let file = local_package_for(os, files).ok_or_else(|| {
                PhaseError::new(format!(
                    "no local package for {} ({os}) among {}: add a {} file to package.files in the profile",
                    ctx.host.name,
                    files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>().join(", "),
                    if os.package_manager() == PackageManager::Apt { ".deb" } else { ".rpm" }
                ))
            })?;
            let bytes = std::fs::read(file).map_err(|e| {
                PhaseError::new(format!(
                    "reading {}: {e}; check package.files in the profile",
                    file.display()
                ))
            })?;
            let name = Path::new(file)
                .file_name()
                .unwrap_or_default()
                .to_string_lossy();
            let remote_path = format!("{STATE_DIR}/packages/{name}");
            ctx.remote
                .upload(&remote_path, &bytes, 0o644)
                .map_err(|e| {
                    PhaseError::new(format!(
                        "uploading {} to {}: {e}",
                        file.display(),
                        ctx.host.name
                    ))
                })?;
            local_install_command(os, &remote_path)
        }
    };
    let step = DetachedStep {
        dir: STATE_DIR.into(),
        name: "install".into(),
        command,
        on_success: None,
        timeout: ctx.timeouts.install,
        reconnect_window: ctx.timeouts.reconnect_window,
    };
    let mut tail = Tail::new(20);
    let finished = run_detached(ctx.remote, &step, &mut |line| {
        tail.push(line);
        ctx.emit.emit(EventKind::Line {
            stream: Stream::Stdout,
            text: line.to_string(),
        });
    })
    .map_err(|e| PhaseError {
        error: format!("installing scalr-server on {}: {e}", ctx.host.name),
        remote_log: Some(step.log_path()),
        last_lines: tail.lines(),
    })?;
    if finished.exit_code != 0 {
        return Err(PhaseError {
            error: format!(
                "installing scalr-server failed on {} (exit {}); read the log, fix the cause, then re-run",
                ctx.host.name, finished.exit_code
            ),
            remote_log: Some(finished.log_path),
            last_lines: tail.lines(),
        });
    }
    // Trust, but verify: the package manager said yes; does the host now report the version?
    let reported = ctx.run_checked(
        "checking the installed version",
        version_query(os).to_string(),
    )?;
    let installed = parse_installed_version(&reported);
    match (&installed, &wanted) {
        (Some(have), Some(want)) if have != want => Err(PhaseError::new(format!(
            "{} reports scalr-server {have} after installing {want}; check the repository's versions",
            ctx.host.name
        ))),
        (None, _) => Err(PhaseError::new(format!(
            "{} does not report scalr-server as installed after the install succeeded; see {}",
            ctx.host.name,
            step.log_path()
        ))),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pinned_versions_use_each_package_managers_syntax() {
        assert_eq!(
            repository_install_command(OsId::Ubuntu1604, Some("8.0.1")),
            "DEBIAN_FRONTEND=noninteractive apt-get install -y 'scalr-server=8.0.1-1'"
        );
        assert_eq!(
            repository_install_command(OsId::Centos7, Some("8.0.1")),
            "yum install -y scalr-server-8.0.1-1"
        );
        assert_eq!(
            repository_install_command(OsId::Rhel6, None),
            "yum install -y scalr-server"
        );
    }

    #[test]
    fn a_hostile_version_string_stays_one_argument() {
        let cmd = repository_install_command(OsId::Debian8, Some("1;reboot"));
        assert!(cmd.ends_with("'scalr-server=1;reboot-1'"), "{cmd}");
    }

    #[test]
    fn local_packages_are_matched_to_the_os_family() {
        let files = vec![
            PathBuf::from("/p/scalr-server_8.0.1-1_amd64.deb"),
            PathBuf::from("/p/scalr-server-8.0.1-1.x86_64.rpm"),
        ];
        assert_eq!(local_package_for(OsId::Ubuntu1804, &files), Some(&files[0]));
        assert_eq!(local_package_for(OsId::Centos7, &files), Some(&files[1]));
        assert_eq!(local_package_for(OsId::Centos7, &files[..1]), None);
        assert_eq!(
            local_install_command(OsId::Centos7, "/x/a b.rpm"),
            "rpm -Uvh '/x/a b.rpm'"
        );
    }
}
