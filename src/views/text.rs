//! Wording shared by the text views: check tables, planned changes, and the end-of-run summary.

use crate::engine::events::{CheckStatus, HostOutcome, PlannedChange, Summary};

pub fn check_line(
    host: &str,
    name: &str,
    status: CheckStatus,
    detail: &str,
    fix: Option<&str>,
) -> String {
    let mut s = format!("{host:<12} {status:<4}  {name:<10} {detail}");
    if let (Some(fix), true) = (fix, status != CheckStatus::Pass) {
        s.push_str(&format!("\n{:<12}       {:<10} fix: {fix}", "", ""));
    }
    s
}

pub fn planned(host: &str, changes: &[PlannedChange]) -> String {
    if changes.is_empty() {
        return format!("{host}: no changes\n");
    }
    let mut out = format!("{host}:\n");
    for c in changes {
        match c {
            PlannedChange::InstallPackage { version } => {
                out.push_str(&format!("  install scalr-server {version}\n"))
            }
            PlannedChange::UpgradePackage { from, to } => {
                out.push_str(&format!("  upgrade scalr-server {from} -> {to}\n"))
            }
            PlannedChange::WriteFile {
                path,
                diff,
                created,
            } => {
                out.push_str(&format!(
                    "  {} {path}\n",
                    if *created { "create" } else { "update" }
                ));
                for line in diff.lines() {
                    out.push_str(&format!("    {line}\n"));
                }
            }
            PlannedChange::Reconfigure { why } => out.push_str(&format!("  reconfigure: {why}\n")),
            PlannedChange::Replication => out.push_str("  start MySQL replication\n"),
        }
    }
    out
}

/// The end-of-run report: what ran, what failed (with the remote log and its last lines), what
/// was not attempted, and what to do next.
pub fn summary(s: &Summary) -> String {
    let mut out = String::new();
    let count = |f: fn(&HostOutcome) -> bool| s.hosts.iter().filter(|(_, o)| f(o)).count();
    out.push_str(&format!(
        "{}: {} succeeded, {} failed, {} not attempted{}\n",
        s.command,
        count(|o| matches!(o, HostOutcome::Succeeded)),
        count(|o| matches!(o, HostOutcome::Failed { .. })),
        count(|o| matches!(o, HostOutcome::NotAttempted { .. })),
        if count(|o| matches!(o, HostOutcome::Interrupted { .. })) > 0 {
            ", interrupted"
        } else {
            ""
        },
    ));
    if !s.reconfigure_order.is_empty() {
        let verb = if s.command == "plan" {
            "would reconfigure"
        } else {
            "reconfigure order"
        };
        out.push_str(&format!("{verb}: {}\n", s.reconfigure_order.join(" -> ")));
    }
    for (host, o) in &s.hosts {
        match o {
            HostOutcome::Succeeded => out.push_str(&format!("  {host:<12} ok\n")),
            HostOutcome::Failed { phase, error, remote_log, last_lines } => {
                out.push_str(&format!("  {host:<12} FAILED in {phase}: {error}\n"));
                if let Some(log) = remote_log {
                    out.push_str(&format!("  {:<12} log on the host: {log}\n", ""));
                }
                for l in last_lines.iter().rev().take(10).rev() {
                    out.push_str(&format!("  {:<12} | {l}\n", ""));
                }
            }
            HostOutcome::NotAttempted { why } => out.push_str(&format!("  {host:<12} not attempted: {why}\n")),
            HostOutcome::Interrupted { still_running } => match still_running {
                Some(step) => out.push_str(&format!("  {host:<12} interrupted; {step} keeps running on the host (re-run to reattach once it ends)\n")),
                None => out.push_str(&format!("  {host:<12} interrupted\n")),
            },
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::events::{ExitStatus, Phase};

    #[test]
    fn the_summary_names_failures_with_their_log_and_last_lines() {
        let s = Summary::new(
            "apply",
            ExitStatus::HostFailed,
            vec![
                ("db-master".into(), HostOutcome::Succeeded),
                (
                    "worker".into(),
                    HostOutcome::Failed {
                        phase: Phase::Reconfigure,
                        error: "reconfigure failed on worker (exit 1)".into(),
                        remote_log: Some(
                            "/opt/scalr-server/var/lib/scalr-installer/reconfigure.log".into(),
                        ),
                        last_lines: vec![
                            "Create main Scalr database structure (run) ... [ FAILED ]".into(),
                        ],
                    },
                ),
                (
                    "app-1".into(),
                    HostOutcome::NotAttempted {
                        why: "depends on worker, which did not complete".into(),
                    },
                ),
            ],
        );
        let text = summary(&s);
        assert!(
            text.starts_with("apply: 1 succeeded, 1 failed, 1 not attempted\n"),
            "{text}"
        );
        assert!(text.contains(
            "log on the host: /opt/scalr-server/var/lib/scalr-installer/reconfigure.log"
        ));
        assert!(text.contains("| Create main Scalr database structure (run) ... [ FAILED ]"));
        assert!(text.contains("app-1        not attempted: depends on worker"));
    }

    #[test]
    fn failing_checks_show_their_fix() {
        let l = check_line(
            "db-1",
            "ram",
            CheckStatus::Fail,
            "3.3 GB is below the floor",
            Some("give the VM 4 GB"),
        );
        assert!(
            l.contains("FAIL") && l.contains("fix: give the VM 4 GB"),
            "{l}"
        );
        let ok = check_line("db-1", "ram", CheckStatus::Pass, "8 GB", Some("unused"));
        assert!(!ok.contains("fix:"));
    }
}
