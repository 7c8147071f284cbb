//! Phase 8, replication: `kickstart-replication MASTER:3306 SLAVE:3306` on the master, once both
//! are reconfigured (reference §4.1), detached like other long steps. Done once per deployment:
//! the job records a marker on success.

use crate::engine::detached::{run_detached, DetachedStep};
use crate::engine::events::{EventKind, Stream};
use crate::engine::phases::facts::{REPLICATION_MARKER, SCALR_HOME, STATE_DIR};
use crate::engine::phases::{HostCtx, Need, PhaseError, Tail};
use crate::engine::remote::quote;

pub fn need(has_slave: bool, already_done: bool) -> Need {
    if !has_slave {
        Need::Skip("no MySQL slave in this deployment".into())
    } else if already_done {
        Need::Skip("replication was already started".into())
    } else {
        Need::Run
    }
}

pub fn step(master_address: &str, slave_address: &str, port: u16) -> DetachedStep {
    DetachedStep {
        dir: STATE_DIR.into(),
        name: "replication".into(),
        command: format!(
            "{SCALR_HOME}/bin/kickstart-replication {} {}",
            quote(&format!("{master_address}:{port}")),
            quote(&format!("{slave_address}:{port}"))
        ),
        // Non-empty, so the facts see it; its time is the file's own (no `date` process).
        on_success: Some(format!("echo replicated > {}", quote(REPLICATION_MARKER))),
        timeout: std::time::Duration::from_secs(30 * 60),
        reconnect_window: crate::engine::detached::RECONNECT_WINDOW,
    }
}

pub fn run(ctx: &HostCtx, slave_address: &str) -> Result<(), PhaseError> {
    let mut step = step(&ctx.host.private_address, slave_address, 3306);
    step.reconnect_window = ctx.timeouts.reconnect_window;
    let mut tail = Tail::new(20);
    let finished = run_detached(ctx.remote, &step, &mut |line| {
        tail.push(line);
        ctx.emit.emit(EventKind::Line {
            stream: Stream::Stdout,
            text: line.to_string(),
        });
    })
    .map_err(|e| PhaseError {
        error: format!("starting replication on {}: {e}", ctx.host.name),
        remote_log: Some(step.log_path()),
        last_lines: tail.lines(),
    })?;
    if finished.exit_code != 0 {
        return Err(PhaseError {
            error: format!(
                "kickstart-replication failed on {} (exit {}); binary logging must be on before the master's first reconfigure (reference §4.1); read the log, then re-run",
                ctx.host.name, finished.exit_code
            ),
            remote_log: Some(finished.log_path),
            last_lines: tail.lines(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replication_runs_once_and_only_with_a_slave() {
        assert!(matches!(need(false, false), Need::Skip(_)));
        assert!(matches!(need(true, true), Need::Skip(_)));
        assert_eq!(need(true, false), Need::Run);
        let s = step("127.0.3.15", "127.0.3.16", 3306);
        assert_eq!(
            s.command,
            "/opt/scalr-server/bin/kickstart-replication 127.0.3.15:3306 127.0.3.16:3306"
        );
    }
}
