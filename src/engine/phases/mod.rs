//! The phases of a run, in order. Each file owns one phase with the same small contract: decide
//! from facts and the desired state whether this host needs it ([`Need`], with the reason when it
//! does not), run it, and report through the host's [`Emitter`].

pub mod config;
pub mod connect;
pub mod facts;
pub mod package;
pub mod preflight;
pub mod reconfigure;
pub mod replication;
pub mod repository;
pub mod verify;

use crate::engine::desired::{Desired, DesiredHost};
use crate::engine::events::{Emitter, EventKind, HostOutcome, Phase, PhaseOutcome, Stream};
use crate::engine::reconfigure_output::strip_ansi;
use crate::engine::remote::{Remote, RemoteCommand};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Whether a phase has work on a host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Need {
    Run,
    Skip(String),
}

/// Why a phase failed on a host, with what the operator needs to look at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhaseError {
    pub error: String,
    pub remote_log: Option<String>,
    pub last_lines: Vec<String>,
}

impl PhaseError {
    pub fn new(error: impl Into<String>) -> PhaseError {
        PhaseError {
            error: error.into(),
            remote_log: None,
            last_lines: Vec::new(),
        }
    }
}

/// Time limits of the long steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    pub command: Duration,
    pub install: Duration,
    pub reconfigure: Duration,
    /// How long a long step keeps trying to reconnect to a host that dropped.
    pub reconnect_window: Duration,
}

impl Timeouts {
    /// The defaults, with the `[ssh]` keys the profile sets.
    pub fn from_profile(ssh: &crate::profile::model::SshSpec) -> Timeouts {
        let d = Timeouts::default();
        Timeouts {
            command: ssh
                .command_timeout_secs
                .map_or(d.command, Duration::from_secs),
            reconnect_window: ssh
                .reconnect_window_secs
                .map_or(d.reconnect_window, Duration::from_secs),
            ..d
        }
    }
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            command: Duration::from_secs(120),
            install: Duration::from_secs(30 * 60),
            reconfigure: Duration::from_secs(60 * 60),
            reconnect_window: crate::engine::detached::RECONNECT_WINDOW,
        }
    }
}

/// Everything a phase needs to act on one host.
pub struct HostCtx<'a> {
    pub host: &'a DesiredHost,
    pub deployment: &'a Desired,
    pub remote: &'a dyn Remote,
    pub emit: Emitter,
    pub cancel: &'a AtomicBool,
    pub timeouts: Timeouts,
}

impl HostCtx<'_> {
    pub fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::SeqCst)
    }

    /// Runs a short root command, streaming its lines to the run log; a non-zero exit is an error
    /// that quotes the last lines of output.
    pub fn run_checked(&self, what: &str, script: String) -> Result<String, PhaseError> {
        let cmd = RemoteCommand::root(script, self.timeouts.command);
        let mut tail = Tail::new(20);
        let out = self
            .remote
            .run(&cmd, &mut |line| {
                tail.push(line);
                self.emit.emit(EventKind::Line {
                    stream: Stream::Stdout,
                    text: line.to_string(),
                });
            })
            .map_err(|e| PhaseError::new(format!("{what} on {}: {e}", self.host.name)))?;
        for line in out.stderr.lines() {
            tail.push(line);
            self.emit.emit(EventKind::Line {
                stream: Stream::Stderr,
                text: line.to_string(),
            });
        }
        if out.success() {
            Ok(out.stdout)
        } else {
            Err(PhaseError {
                error: format!(
                    "{what} failed on {} (exit {})",
                    self.host.name, out.exit_code
                ),
                remote_log: None,
                last_lines: tail.lines(),
            })
        }
    }
}

/// The last N lines of a stream, ANSI removed, for failure reports.
#[derive(Debug, Clone)]
pub struct Tail {
    max: usize,
    lines: VecDeque<String>,
}

impl Tail {
    pub fn new(max: usize) -> Tail {
        Tail {
            max,
            lines: VecDeque::new(),
        }
    }

    pub fn push(&mut self, line: &str) {
        let clean = strip_ansi(line);
        if clean.trim().is_empty() {
            return;
        }
        if self.lines.len() == self.max {
            self.lines.pop_front();
        }
        self.lines.push_back(clean);
    }

    pub fn lines(&self) -> Vec<String> {
        self.lines.iter().cloned().collect()
    }
}

/// Runs one phase on one host with its events: skipped phases say why; failures become the host's
/// outcome.
pub fn run_phase(
    emit: &Emitter,
    phase: Phase,
    need: Need,
    body: impl FnOnce() -> Result<(), PhaseError>,
) -> Result<(), HostOutcome> {
    let started = Instant::now();
    let elapsed = || started.elapsed().as_millis() as u64;
    match need {
        Need::Skip(why) => {
            emit.emit(EventKind::PhaseFinished {
                phase,
                outcome: PhaseOutcome::Skipped { why },
                elapsed_ms: 0,
            });
            Ok(())
        }
        Need::Run => {
            emit.emit(EventKind::PhaseStarted { phase });
            match body() {
                Ok(()) => {
                    emit.emit(EventKind::PhaseFinished {
                        phase,
                        outcome: PhaseOutcome::Done,
                        elapsed_ms: elapsed(),
                    });
                    Ok(())
                }
                Err(e) => {
                    emit.emit(EventKind::PhaseFinished {
                        phase,
                        outcome: PhaseOutcome::Failed {
                            error: e.error.clone(),
                        },
                        elapsed_ms: elapsed(),
                    });
                    Err(HostOutcome::Failed {
                        phase,
                        error: e.error,
                        remote_log: e.remote_log,
                        last_lines: e.last_lines,
                    })
                }
            }
        }
    }
}
