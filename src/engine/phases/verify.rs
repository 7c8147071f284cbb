//! Phase 9, verify: every supervised service RUNNING (`scalr-server-manage status`), the ports this
//! host needs on its peers reachable from here, and on proxies the endpoint answering.

use crate::engine::events::{CheckStatus, EventKind};
use crate::engine::phases::facts::SCALR_HOME;
use crate::engine::phases::preflight::{parse_probes, probe_script, CheckResult, Probe};
use crate::engine::phases::{HostCtx, PhaseError};
use crate::engine::remote::RemoteCommand;
use crate::topology::Module;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    pub name: String,
    pub state: String,
    pub detail: String,
}

/// Supervisor-style lines: `scalr-nginx   RUNNING   pid 1234, uptime 0:00:12`.
pub fn parse_status(output: &str) -> Vec<Service> {
    output
        .lines()
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            let name = words.next()?;
            let state = words.next()?;
            let known = [
                "RUNNING", "STOPPED", "STARTING", "BACKOFF", "STOPPING", "EXITED", "FATAL",
                "UNKNOWN",
            ];
            known.contains(&state).then(|| Service {
                name: name.into(),
                state: state.into(),
                detail: words.collect::<Vec<_>>().join(" "),
            })
        })
        .collect()
}

const STATUS_EXIT: &str = "@@scalr-installer:status-exit ";

/// The status output, its exit code, and what follows (the probes).
fn split_verify_output(stdout: &str) -> (&str, i32, &str) {
    match stdout.find(STATUS_EXIT) {
        Some(at) => {
            let rest = &stdout[at + STATUS_EXIT.len()..];
            let (code, probes) = rest.split_once('\n').unwrap_or((rest, ""));
            (&stdout[..at], code.trim().parse().unwrap_or(-1), probes)
        }
        None => (stdout, -1, ""),
    }
}

pub fn status_command() -> String {
    format!("{SCALR_HOME}/bin/scalr-server-manage status")
}

pub fn services_check(status_output: &str, exit_code: i32) -> CheckResult {
    let services = parse_status(status_output);
    let down: Vec<String> = services
        .iter()
        .filter(|s| s.state != "RUNNING")
        .map(|s| format!("{} {}", s.name, s.state))
        .collect();
    if services.is_empty() {
        CheckResult {
            name: "services".into(),
            status: CheckStatus::Fail,
            detail: format!(
                "scalr-server-manage status listed no services (exit {exit_code}): {}",
                status_output.trim()
            ),
            fix: Some("run `scalr-server-ctl reconfigure` on the host and read its output".into()),
        }
    } else if down.is_empty() {
        CheckResult {
            name: "services".into(),
            status: CheckStatus::Pass,
            detail: format!("{} services RUNNING", services.len()),
            fix: None,
        }
    } else {
        CheckResult {
            name: "services".into(),
            status: CheckStatus::Fail,
            detail: format!("not running: {}", down.join(", ")),
            fix: Some("see /opt/scalr-server/var/log/ on the host, then `scalr-server-manage restart all`".into()),
        }
    }
}

pub fn run(ctx: &HostCtx) -> Result<Vec<CheckResult>, PhaseError> {
    let mut checks = Vec::new();
    let mut targets: Vec<(String, u16)> = ctx
        .host
        .needs
        .iter()
        .map(|p| (p.address.clone(), p.port))
        .collect();
    if ctx.host.modules.contains(&Module::Proxy) {
        targets.push((
            ctx.host.private_address.clone(),
            ctx.deployment.endpoint_port,
        ));
    }
    // Status and probes in one command: one round trip per host.
    let mut script = format!("{}\necho \"{STATUS_EXIT}$?\"\n", status_command());
    if !targets.is_empty() {
        script.push_str(&probe_script(&targets, 5));
    }
    let out = ctx
        .remote
        .run(
            &RemoteCommand::root(script, ctx.timeouts.command),
            &mut |_| {},
        )
        .map_err(|e| {
            PhaseError::new(format!(
                "reading service status and probing ports on {}: {e}",
                ctx.host.name
            ))
        })?;
    let (status, status_exit, probes) = split_verify_output(&out.stdout);
    checks.push(services_check(status, status_exit));

    if !targets.is_empty() {
        let probes = parse_probes(probes);
        let closed: Vec<String> = probes
            .iter()
            .filter(|(_, _, p)| *p != Probe::Open)
            .map(|(a, port, p)| {
                let who = ctx
                    .host
                    .needs
                    .iter()
                    .find(|n| &n.address == a && n.port == *port)
                    .map(|n| format!("{} {} on {}", n.purpose, port, n.host))
                    .unwrap_or_else(|| format!("endpoint port {port} on this proxy"));
                format!(
                    "{who} ({a}:{port} {})",
                    if *p == Probe::Refused {
                        "refused"
                    } else {
                        "timed out"
                    }
                )
            })
            .collect();
        checks.push(if closed.is_empty() && probes.len() == targets.len() {
            CheckResult {
                name: "ports".into(),
                status: CheckStatus::Pass,
                detail: format!("{} peer ports reachable", targets.len()),
                fix: None,
            }
        } else {
            CheckResult {
                name: "ports".into(),
                status: CheckStatus::Fail,
                detail: format!("cannot reach {}", closed.join(", ")),
                fix: Some("check that the service runs on the peer and that firewalls allow the port between the hosts".into()),
            }
        });
    }
    for c in &checks {
        ctx.emit.emit(EventKind::Check {
            name: c.name.clone(),
            status: c.status,
            detail: c.detail.clone(),
            fix: c.fix.clone(),
        });
    }
    Ok(checks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn supervisor_status_lines_are_parsed() {
        let out = "scalr-mysql                      RUNNING   pid 101, uptime 0:01:02\nscalr-nginx                      FATAL     Exited too quickly\nsomething else\n";
        let s = parse_status(out);
        assert_eq!(s.len(), 2);
        assert_eq!(
            s[0],
            Service {
                name: "scalr-mysql".into(),
                state: "RUNNING".into(),
                detail: "pid 101, uptime 0:01:02".into()
            }
        );
        let c = services_check(out, 0);
        assert_eq!(c.status, CheckStatus::Fail);
        assert_eq!(c.detail, "not running: scalr-nginx FATAL");
    }

    #[test]
    fn not_available_yet_means_never_reconfigured() {
        let c = services_check(
            "Not available yet!\nYou must run 'scalr-server-ctl reconfigure' first.\n",
            1,
        );
        assert_eq!(c.status, CheckStatus::Fail);
        assert!(c.detail.contains("Not available yet!"));
    }

    #[test]
    fn status_and_probes_come_back_in_one_output() {
        let out = "scalr-mysql RUNNING pid 1, uptime 0:00:01\n@@scalr-installer:status-exit 3\nopen 127.0.0.1 3306\n";
        let (status, code, probes) = split_verify_output(out);
        assert_eq!(status, "scalr-mysql RUNNING pid 1, uptime 0:00:01\n");
        assert_eq!(code, 3);
        assert_eq!(parse_probes(probes).len(), 1);
        assert_eq!(split_verify_output("cut short").1, -1);
    }

    #[test]
    fn all_running_passes() {
        let c = services_check("scalr-mysql RUNNING pid 1, uptime 0:00:01\n", 0);
        assert_eq!(c.status, CheckStatus::Pass);
    }
}
