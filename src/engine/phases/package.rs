//! Phase 5, package: installs or upgrades `scalr-server` at the pinned version, detached under
//! the host's installer lock (an install takes minutes and must survive a dropped connection).
//!
//! One detached step does everything a round trip would otherwise do: it refreshes the package
//! index (packagecloud installs only), installs, and reports the installed version. Two marker
//! lines in the step's log say what the operator's view does not need to show: that the refresh
//! failed, and which version the host reports. They are read from the streamed log, so a reattach
//! after a dropped connection reads them too.

use crate::engine::desired::PackageSource;
use crate::engine::detached::{run_detached_then, DetachedStep};
use crate::engine::events::{EventKind, Stream};
use crate::engine::phases::facts::{parse_installed_version, STATE_DIR};
use crate::engine::phases::{HostCtx, Need, PhaseError, Tail};
use crate::engine::plan::PackageAction;
use crate::engine::remote::quote;
use crate::topology::{OsId, PackageManager};
use std::path::{Path, PathBuf};

/// Echoed by the install step when the index refresh failed (not the install).
const REFRESH_FAILED_MARK: &str = "SCALR-INSTALLER index-refresh-failed";
/// Printed after a successful install, followed by the version the host reports (empty when none).
const VERSION_MARK: &str = "SCALR-INSTALLER installed-version=";

pub fn need(action: &Option<PackageAction>) -> Need {
    match action {
        None => Need::Skip("scalr-server is already at the wanted version".into()),
        Some(_) => Need::Run,
    }
}

/// Refreshes the package index (the repository file the repository phase wrote); the install
/// step's first command.
pub fn update_command(os: OsId) -> &'static str {
    match os.package_manager() {
        PackageManager::Apt => "apt-get update",
        PackageManager::Yum => "yum -q makecache -y",
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

/// Refreshes the index, then installs: the refresh's failure is marked, so it is told apart from
/// the install's, and keeps its exit code.
pub fn refresh_then_install_command(os: OsId, install: &str) -> String {
    format!(
        "{refresh} || {{ rc=$?; echo {mark}; exit $rc; }}; {install}",
        refresh = update_command(os),
        mark = quote(REFRESH_FAILED_MARK),
    )
}

/// Run after a successful install: prints the version marker and always exits 0, so a host that
/// does not report the package is our own error message, not an install failure.
pub fn report_version_command(os: OsId) -> String {
    format!(
        "v=$({query} 2>/dev/null) || v=; printf '%s%s\\n' {mark} \"$v\"",
        query = version_query(os),
        mark = quote(VERSION_MARK),
    )
}

/// What the install step's log says that the operator's view does not show.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct StepMarks {
    refresh_failed: bool,
    /// `Some` once the version line was read: the raw version, empty when not installed.
    reported_version: Option<String>,
}

impl StepMarks {
    /// Takes the markers out of one log line; returns what is left for the operator, if anything
    /// (a line the package manager left without a newline ends before our marker).
    fn read<'a>(&mut self, line: &'a str) -> Option<&'a str> {
        let (before, marker) = match [VERSION_MARK, REFRESH_FAILED_MARK]
            .iter()
            .find_map(|m| line.find(m).map(|at| line.split_at(at)))
        {
            Some(split) => split,
            None => return Some(line),
        };
        if let Some(version) = marker.strip_prefix(VERSION_MARK) {
            self.reported_version = Some(version.trim().to_string());
        } else {
            self.refresh_failed = true;
        }
        (!before.is_empty()).then_some(before)
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

/// Installs; `on_started` is called once the host has started the install (see
/// [`run_detached_then`]).
pub fn run(
    ctx: &HostCtx,
    os: OsId,
    action: &PackageAction,
    on_started: &mut dyn FnMut(),
) -> Result<(), PhaseError> {
    let wanted = match action {
        PackageAction::Install { version } => version.clone(),
        PackageAction::Upgrade { to, .. } => Some(to.clone()),
    };
    let command = match &ctx.deployment.package {
        PackageSource::Packagecloud { .. } => {
            refresh_then_install_command(os, &repository_install_command(os, wanted.as_deref()))
        }
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
        on_success: Some(report_version_command(os)),
        timeout: ctx.timeouts.install,
        reconnect_window: ctx.timeouts.reconnect_window,
    };
    let mut tail = Tail::new(20);
    let mut marks = StepMarks::default();
    let finished = run_detached_then(ctx.remote, &step, on_started, &mut |line| {
        let Some(line) = marks.read(line) else { return };
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
        let error = if marks.refresh_failed {
            format!(
                "refreshing the package index (`{}`) failed on {} (exit {}); check the packagecloud token (the profile's package.token_env) and that the host reaches packagecloud.io, then re-run",
                update_command(os), ctx.host.name, finished.exit_code
            )
        } else {
            format!(
                "installing scalr-server failed on {} (exit {}); read the log, fix the cause, then re-run",
                ctx.host.name, finished.exit_code
            )
        };
        return Err(PhaseError {
            error,
            remote_log: Some(finished.log_path),
            last_lines: tail.lines(),
        });
    }
    // Trust, but verify: the package manager said yes; does the host now report the version?
    let installed = marks
        .reported_version
        .as_deref()
        .and_then(parse_installed_version);
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

    #[test]
    fn the_refresh_runs_first_and_its_failure_is_marked_with_its_exit_code() {
        let install = repository_install_command(OsId::Centos7, Some("8.0.1"));
        assert_eq!(
            refresh_then_install_command(OsId::Centos7, &install),
            "yum -q makecache -y || { rc=$?; echo 'SCALR-INSTALLER index-refresh-failed'; exit $rc; }; yum install -y scalr-server-8.0.1-1"
        );
        let run = |refresh: &str| {
            let script = format!(
                "{refresh} || {{ rc=$?; echo {}; exit $rc; }}; echo installed",
                quote(REFRESH_FAILED_MARK)
            );
            let out = std::process::Command::new("sh")
                .args(["-c", &script])
                .output()
                .unwrap();
            (out.status.code(), String::from_utf8(out.stdout).unwrap())
        };
        assert_eq!(
            run("(exit 100)"),
            (Some(100), format!("{REFRESH_FAILED_MARK}\n"))
        );
        assert_eq!(run("true"), (Some(0), "installed\n".to_string()));
    }

    #[test]
    fn the_version_report_always_succeeds_and_prints_one_marker_line() {
        for (os, query) in [
            (OsId::Centos7, "rpm -q"),
            (OsId::Ubuntu1804, "dpkg-query -W"),
        ] {
            let cmd = report_version_command(os);
            assert!(cmd.contains(query), "{cmd}");
            // Where the query tool is missing or says "not installed": still exit 0, empty version.
            let out = std::process::Command::new("/bin/sh")
                .args(["-c", &cmd])
                .env("PATH", "/nonexistent")
                .output()
                .unwrap();
            assert_eq!(out.status.code(), Some(0));
            assert_eq!(
                String::from_utf8(out.stdout).unwrap(),
                format!("{VERSION_MARK}\n")
            );
        }
    }

    #[test]
    fn marker_lines_are_read_and_kept_from_the_operator() {
        let mut marks = StepMarks::default();
        assert_eq!(marks.read("Complete!"), Some("Complete!"));
        assert_eq!(marks.read(&format!("{VERSION_MARK}8.0.1-1")), None);
        assert_eq!(marks.reported_version.as_deref(), Some("8.0.1-1"));
        assert!(!marks.refresh_failed);
        // Output left without a newline ends before the marker; only our part is hidden.
        assert_eq!(
            marks.read(&format!("Done.{REFRESH_FAILED_MARK}")),
            Some("Done.")
        );
        assert!(marks.refresh_failed);

        let mut marks = StepMarks::default();
        marks.read(VERSION_MARK);
        assert_eq!(marks.reported_version.as_deref(), Some(""));
        assert_eq!(
            marks
                .reported_version
                .as_deref()
                .and_then(parse_installed_version),
            None,
            "not installed"
        );
    }
}
