//! The typed event stream every run emits: one channel, many consumers (plain lines, JSON lines,
//! progress bars, the TUI dashboard, the run directory's `events.jsonl`).
//!
//! Secrets are removed where events are made ([`Emitter`] redacts every free-text field), so no
//! consumer can leak one by accident.

use serde::Serialize;
use std::fmt;
use std::sync::mpsc::Sender;
use std::sync::Arc;
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

/// Replaces every known secret value in free text with `********`. Secrets learned during a run
/// (adopted from a host, rendered) are added as they become known.
#[derive(Debug, Default)]
pub struct Redactor {
    secrets: std::sync::RwLock<Vec<String>>,
}

pub const MASK: &str = "********";

impl Redactor {
    /// Values shorter than 4 characters are ignored: masking them would garble ordinary text and
    /// they are not secrets worth the name.
    pub fn new<I: IntoIterator<Item = String>>(secrets: I) -> Redactor {
        let r = Redactor::default();
        for s in secrets {
            r.add(&s);
        }
        r
    }

    pub fn add(&self, secret: &str) {
        let mut secrets = self.secrets.write().unwrap_or_else(|e| e.into_inner());
        if secret.len() >= 4 && !secrets.iter().any(|s| s == secret) {
            secrets.push(secret.to_string());
            // Longest first, so a secret containing another is masked whole.
            secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        }
    }

    pub fn redact(&self, text: &str) -> String {
        let secrets = self.secrets.read().unwrap_or_else(|e| e.into_inner());
        let mut out = text.to_string();
        for secret in secrets.iter() {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), MASK);
            }
        }
        out
    }
}

/// The sending end of a run's event channel, bound to one host (or to none).
#[derive(Clone)]
pub struct Emitter {
    tx: Sender<RunEvent>,
    host: Option<String>,
    redactor: Arc<Redactor>,
}

impl Emitter {
    pub fn new(tx: Sender<RunEvent>, redactor: Arc<Redactor>) -> Emitter {
        Emitter {
            tx,
            host: None,
            redactor,
        }
    }

    pub fn for_host(&self, host: &str) -> Emitter {
        Emitter {
            tx: self.tx.clone(),
            host: Some(host.to_string()),
            redactor: self.redactor.clone(),
        }
    }

    pub fn host(&self) -> Option<&str> {
        self.host.as_deref()
    }

    pub fn redact(&self, text: &str) -> String {
        self.redactor.redact(text)
    }

    /// Masks `secret` in every event sent from now on, by every emitter of this run.
    pub fn add_secret(&self, secret: &str) {
        self.redactor.add(secret)
    }

    /// Sends an event; free text is redacted first. A closed channel (the view went away) is not
    /// an error for the engine: the run log still records everything.
    pub fn emit(&self, kind: EventKind) {
        let kind = self.redact_kind(kind);
        let _ = self.tx.send(RunEvent {
            at: SystemTime::now(),
            host: self.host.clone(),
            kind,
        });
    }

    fn redact_kind(&self, kind: EventKind) -> EventKind {
        let r = |s: String| self.redactor.redact(&s);
        match kind {
            EventKind::Line { stream, text } => EventKind::Line {
                stream,
                text: r(text),
            },
            EventKind::Step {
                description,
                status,
            } => EventKind::Step {
                description: r(description),
                status,
            },
            EventKind::Check {
                name,
                status,
                detail,
                fix,
            } => EventKind::Check {
                name,
                status,
                detail: r(detail),
                fix: fix.map(r),
            },
            EventKind::Notice { text } => EventKind::Notice { text: r(text) },
            EventKind::PhaseFinished {
                phase,
                outcome: PhaseOutcome::Failed { error },
                elapsed_ms,
            } => EventKind::PhaseFinished {
                phase,
                outcome: PhaseOutcome::Failed { error: r(error) },
                elapsed_ms,
            },
            EventKind::Planned { changes } => EventKind::Planned {
                changes: changes
                    .into_iter()
                    .map(|c| match c {
                        PlannedChange::WriteFile {
                            path,
                            diff,
                            created,
                        } => PlannedChange::WriteFile {
                            path,
                            diff: r(diff),
                            created,
                        },
                        other => other,
                    })
                    .collect(),
            },
            EventKind::HostFinished { outcome } => EventKind::HostFinished {
                outcome: self.redact_outcome(outcome),
            },
            EventKind::RunFinished { mut summary } => {
                summary.hosts = summary
                    .hosts
                    .into_iter()
                    .map(|(h, o)| (h, self.redact_outcome(o)))
                    .collect();
                EventKind::RunFinished { summary }
            }
            other => other,
        }
    }

    fn redact_outcome(&self, outcome: HostOutcome) -> HostOutcome {
        match outcome {
            HostOutcome::Failed {
                phase,
                error,
                remote_log,
                last_lines,
            } => HostOutcome::Failed {
                phase,
                error: self.redactor.redact(&error),
                remote_log,
                last_lines: last_lines.iter().map(|l| self.redactor.redact(l)).collect(),
            },
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc::channel;

    #[test]
    fn events_serialize_as_one_flat_json_object_per_event() {
        let event = RunEvent {
            at: SystemTime::UNIX_EPOCH,
            host: Some("db-master".into()),
            kind: EventKind::PhaseFinished {
                phase: Phase::Reconfigure,
                outcome: PhaseOutcome::Skipped {
                    why: "configuration unchanged".into(),
                },
                elapsed_ms: 12,
            },
        };
        let json = serde_json::to_string(&event).unwrap();
        assert_eq!(
            json,
            r#"{"at":"1970-01-01T00:00:00.000Z","host":"db-master","event":"phase_finished","phase":"reconfigure","outcome":{"status":"skipped","why":"configuration unchanged"},"elapsed_ms":12}"#
        );
    }

    #[test]
    fn secrets_never_leave_the_emitter() {
        let (tx, rx) = channel();
        let emitter = Emitter::new(tx, Arc::new(Redactor::new(["s3cr3t-pass".to_string()])))
            .for_host("app-1");
        emitter.emit(EventKind::Line {
            stream: Stream::Stdout,
            text: "password is s3cr3t-pass".into(),
        });
        emitter.emit(EventKind::HostFinished {
            outcome: HostOutcome::Failed {
                phase: Phase::Reconfigure,
                error: "Access denied using s3cr3t-pass".into(),
                remote_log: None,
                last_lines: vec!["s3cr3t-pass".into()],
            },
        });
        let all: Vec<String> = rx
            .try_iter()
            .map(|e| serde_json::to_string(&e).unwrap())
            .collect();
        assert_eq!(all.len(), 2);
        for line in all {
            assert!(!line.contains("s3cr3t-pass"), "{line}");
            assert!(line.contains(MASK));
        }
    }

    #[test]
    fn short_values_are_not_treated_as_secrets() {
        let r = Redactor::new(["ab".to_string(), "longer-secret".to_string()]);
        assert_eq!(r.redact("ab longer-secret"), "ab ********");
    }
}
