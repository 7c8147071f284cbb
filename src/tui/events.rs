//! The engine's run events, as the dashboard reads them.
//!
//! This is a copy of the data types of `src/engine/events.rs` on the `engine` branch (not merged
//! yet). At integration this whole file becomes `pub use crate::engine::events::*;` — the names
//! and shapes are identical, so nothing else changes. It holds data only: no emitter, no I/O.

use serde::Serialize;
use std::fmt;
use std::time::SystemTime;

/// One thing that happened during a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunEvent {
    #[serde(serialize_with = "serialize_time")]
    pub at: SystemTime,
    /// The host the event is about; `None` for run-wide events.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    #[serde(flatten)]
    pub kind: EventKind,
}

fn serialize_time<S: serde::Serializer>(at: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&humantime::format_rfc3339_millis(*at).to_string())
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum EventKind {
    RunStarted {
        command: String,
        hosts: Vec<String>,
        waves: Vec<Vec<String>>,
    },
    WaveStarted {
        index: usize,
        hosts: Vec<String>,
    },
    PhaseStarted {
        phase: Phase,
    },
    PhaseFinished {
        phase: Phase,
        outcome: PhaseOutcome,
        elapsed_ms: u64,
    },
    /// One parsed line of a long remote step (a `scalr-server-ctl reconfigure` resource).
    Step {
        description: String,
        status: StepStatus,
    },
    Progress {
        done: usize,
        total: usize,
    },
    /// Raw output of a remote command, already stripped of secrets.
    Line {
        stream: Stream,
        text: String,
    },
    Check {
        name: String,
        status: CheckStatus,
        detail: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        fix: Option<String>,
    },
    /// What `apply` would change on this host (emitted by `plan`, and by `apply` before it acts).
    Planned {
        changes: Vec<PlannedChange>,
    },
    /// Something the operator must know that is not tied to a phase (an interruption, a lock).
    Notice {
        text: String,
    },
    HostFinished {
        outcome: HostOutcome,
    },
    RunFinished {
        summary: Summary,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Connect,
    Facts,
    Preflight,
    Repository,
    Package,
    Config,
    Reconfigure,
    Replication,
    Verify,
}

impl Phase {
    pub fn title(self) -> &'static str {
        match self {
            Phase::Connect => "connect",
            Phase::Facts => "facts",
            Phase::Preflight => "preflight",
            Phase::Repository => "repository",
            Phase::Package => "package",
            Phase::Config => "config",
            Phase::Reconfigure => "reconfigure",
            Phase::Replication => "replication",
            Phase::Verify => "verify",
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.title())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum PhaseOutcome {
    Done,
    Skipped { why: String },
    Failed { error: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    Ok,
    Skipped,
    Failed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stream {
    Stdout,
    Stderr,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckStatus {
    Pass,
    Warn,
    Fail,
}

impl fmt::Display for CheckStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CheckStatus::Pass => "pass",
            CheckStatus::Warn => "warn",
            CheckStatus::Fail => "FAIL",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum PlannedChange {
    InstallPackage {
        version: String,
    },
    UpgradePackage {
        from: String,
        to: String,
    },
    WriteFile {
        path: String,
        /// Unified diff against the host's file; secret values masked.
        diff: String,
        created: bool,
    },
    Reconfigure {
        why: String,
    },
    Replication,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum HostOutcome {
    Succeeded,
    Failed {
        phase: Phase,
        error: String,
        /// The log on the host that explains the failure, when there is one.
        #[serde(skip_serializing_if = "Option::is_none")]
        remote_log: Option<String>,
        last_lines: Vec<String>,
    },
    NotAttempted {
        why: String,
    },
    /// Ctrl-C: this host's work stopped; a detached remote step may still be running.
    Interrupted {
        #[serde(skip_serializing_if = "Option::is_none")]
        still_running: Option<String>,
    },
}

/// How a command ends, and the process exit code that goes with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExitStatus {
    Success,
    HostFailed,
    BadInput,
    PreflightBlocked,
    Interrupted,
}

impl ExitStatus {
    pub fn code(self) -> i32 {
        match self {
            ExitStatus::Success => 0,
            ExitStatus::HostFailed => 1,
            ExitStatus::BadInput => 2,
            ExitStatus::PreflightBlocked => 3,
            ExitStatus::Interrupted => 130,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub command: String,
    pub exit: ExitStatus,
    pub exit_code: i32,
    /// Every host with its outcome, in wave order.
    pub hosts: Vec<(String, HostOutcome)>,
    /// `plan`/`apply`: the hosts reconfigured (or to be), in order.
    pub reconfigure_order: Vec<String>,
}

impl Summary {
    pub fn new(command: &str, exit: ExitStatus, hosts: Vec<(String, HostOutcome)>) -> Summary {
        Summary {
            command: command.to_string(),
            exit,
            exit_code: exit.code(),
            hosts,
            reconfigure_order: Vec::new(),
        }
    }
}
