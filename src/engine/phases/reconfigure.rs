//! Phase 7, reconfigure: `scalr-server-ctl reconfigure`, detached under the host's lock, streamed
//! and parsed into steps and progress. On success the job itself records the configuration
//! digest, so a run interrupted on this side still knows, next time, that the host is done.

use crate::engine::detached::{run_detached, DetachedStep};
use crate::engine::events::{EventKind, Stream};
use crate::engine::phases::facts::{RECONFIGURE_MARKER, SCALR_HOME, STATE_DIR};
use crate::engine::phases::package::version_query;
use crate::engine::phases::{HostCtx, Need, PhaseError, Tail, Timeouts};
use crate::engine::reconfigure_output::{ReconfigureLine, ReconfigureProgress};
use crate::engine::remote::quote;
use crate::topology::OsId;

pub fn need(reason: &Option<String>) -> Need {
    match reason {
        Some(_) => Need::Run,
        None => Need::Skip(
            "configuration and package unchanged since the last successful reconfigure".into(),
        ),
    }
}

pub fn step(os: OsId, digest: &str, timeouts: Timeouts) -> DetachedStep {
    let log = format!("{STATE_DIR}/reconfigure.log");
    let marker = RECONFIGURE_MARKER;
    // The installed version, asked while the reconfigure runs: the package database answers in
    // 50-100 ms on a real host, which at the end would delay every next wave. The file is
    // emptied first (by a shell builtin), so a version left by an earlier run never counts; should
    // the question not have been answered by the end, it is asked then.
    let version = format!("{STATE_DIR}/reconfigure.version");
    let command = format!(
        "true > {version}; {{ v=$({query} 2>/dev/null) && printf '%s\\n' \"$v\" > {version_tmp} && mv -f {version_tmp} {version}; }} </dev/null >/dev/null 2>&1 & {SCALR_HOME}/bin/scalr-server-ctl reconfigure",
        version = quote(&version),
        version_tmp = quote(&format!("{version}.tmp")),
        query = version_query(os),
    );
    // Written by the job after success: digest, steps printed, Scalr version.
    let on_success = format!(
        "steps=$(grep -c -E '\\[ (OK|SKIPPED|FAILED) \\]' {log}); v=; [ ! -s {version} ] || read -r v < {version}; [ -n \"$v\" ] || v=$({query} 2>/dev/null); printf '%s %s %s\\n' {digest} \"$steps\" \"$v\" > {tmp} && mv -f {tmp} {marker}",
        log = quote(&log),
        version = quote(&version),
        query = version_query(os),
        digest = quote(digest),
        tmp = quote(&format!("{marker}.tmp")),
        marker = quote(marker),
    );
    DetachedStep {
        dir: STATE_DIR.into(),
        name: "reconfigure".into(),
        command,
        on_success: Some(on_success),
        timeout: timeouts.reconfigure,
        reconnect_window: timeouts.reconnect_window,
    }
}

/// Runs the reconfigure detached and reports its progress. `on_running` is called once, when
/// its first line arrives: the package's reconfigure is running on the host.
pub fn run(
    ctx: &HostCtx,
    os: OsId,
    digest: &str,
    expected_steps: Option<usize>,
    on_running: &dyn Fn(),
) -> Result<(), PhaseError> {
    let step = step(os, digest, ctx.timeouts);
    let mut progress = ReconfigureProgress::new(expected_steps);
    let mut tail = Tail::new(20);
    let mut running = false;
    let result = run_detached(ctx.remote, &step, &mut |line| {
        if !std::mem::replace(&mut running, true) {
            on_running();
        }
        tail.push(line);
        ctx.emit.emit(EventKind::Line {
            stream: Stream::Stdout,
            text: line.to_string(),
        });
        if let ReconfigureLine::Step {
            description,
            status,
            ..
        } = progress.feed(line)
        {
            ctx.emit.emit(EventKind::Step {
                description,
                status,
            });
            let (done, total) = progress.progress();
            ctx.emit.emit(EventKind::Progress { done, total });
        }
    });
    let finished = result.map_err(|e| PhaseError {
        error: format!("reconfigure on {}: {e}", ctx.host.name),
        remote_log: Some(step.log_path()),
        last_lines: tail.lines(),
    })?;
    if finished.exit_code == 0 {
        let done = progress.steps_done();
        ctx.emit.emit(EventKind::Progress { done, total: done });
        return Ok(());
    }
    let at = progress
        .failed_steps()
        .last()
        .map(|s| format!(" at \"{s}\""))
        .unwrap_or_default();
    let why = progress
        .failure()
        .map(|f| format!(": {f}"))
        .unwrap_or_default();
    Err(PhaseError {
        error: format!(
            "reconfigure failed on {} (exit {}){at}{why}; read the log, fix the cause, then re-run: hosts that succeeded are skipped",
            ctx.host.name, finished.exit_code
        ),
        remote_log: Some(match progress.log_dir() {
            Some(dir) => format!("{} (full log in {dir})", finished.log_path),
            None => finished.log_path,
        }),
        last_lines: tail.lines(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_marker_records_digest_steps_and_version_after_success_only() {
        let s = step(OsId::Ubuntu1804, "abc", Timeouts::default());
        assert!(
            s.command
                .ends_with("& /opt/scalr-server/bin/scalr-server-ctl reconfigure"),
            "{}",
            s.command
        );
        let after = s.on_success.unwrap();
        assert!(after.contains("printf '%s %s %s\\n' abc"), "{after}");
        assert!(after.contains("dpkg-query"));
        assert!(after.ends_with("/opt/scalr-server/var/lib/scalr-installer/reconfigure.ok"));
    }
}
