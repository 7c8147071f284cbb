//! Every run keeps a directory in the deployment's state dir: `runs/<UTC timestamp>/` with
//! `events.jsonl` (every event, one JSON object per line) and `hosts/<host>.log` (that host's
//! phases, steps and raw remote output). It is a consumer of the event stream like any view.
//! Private to the operator: directories 0700, files 0600.

use crate::engine::events::{EventKind, PhaseOutcome, RunEvent};
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

pub struct RunDir {
    path: PathBuf,
    events: File,
    hosts: BTreeMap<String, File>,
}

fn private_dir(path: &Path) -> io::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
}

fn private_file(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
}

/// `2026-11-27T01-15-39.123Z`: sortable, and valid in every file system.
fn run_name(at: SystemTime) -> String {
    humantime::format_rfc3339_millis(at)
        .to_string()
        .replace(':', "-")
}

impl RunDir {
    /// Creates `<state_dir>/runs/<timestamp>/`.
    pub fn create(state_dir: &Path) -> io::Result<RunDir> {
        let mut path = state_dir.join("runs").join(run_name(SystemTime::now()));
        // Two runs in the same millisecond (tests) get distinct directories.
        let mut n = 1;
        while path.exists() {
            n += 1;
            path = state_dir
                .join("runs")
                .join(format!("{}-{n}", run_name(SystemTime::now())));
        }
        private_dir(&path.join("hosts"))?;
        let events = private_file(&path.join("events.jsonl"))?;
        Ok(RunDir {
            path,
            events,
            hosts: BTreeMap::new(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn host_log(&self, host: &str) -> PathBuf {
        self.path
            .join("hosts")
            .join(format!("{}.log", sanitize(host)))
    }

    /// Records one event. Errors are returned so the caller can warn once; the run goes on.
    pub fn record(&mut self, event: &RunEvent) -> io::Result<()> {
        let json = serde_json::to_string(event).map_err(io::Error::other)?;
        writeln!(self.events, "{json}")?;
        let Some(host) = &event.host else {
            return Ok(());
        };
        let Some(line) = host_log_line(&event.kind) else {
            return Ok(());
        };
        if !self.hosts.contains_key(host) {
            let f = private_file(&self.host_log(host))?;
            self.hosts.insert(host.clone(), f);
        }
        let f = self.hosts.get_mut(host).expect("just inserted");
        let at = humantime::format_rfc3339_seconds(event.at);
        writeln!(f, "{at} {line}")
    }
}

fn sanitize(host: &str) -> String {
    host.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn host_log_line(kind: &EventKind) -> Option<String> {
    Some(match kind {
        EventKind::PhaseStarted { phase } => format!("== {phase} started"),
        EventKind::PhaseFinished { phase, outcome, .. } => match outcome {
            PhaseOutcome::Done => format!("== {phase} done"),
            PhaseOutcome::Skipped { why } => format!("== {phase} skipped: {why}"),
            PhaseOutcome::Failed { error } => format!("== {phase} FAILED: {error}"),
        },
        EventKind::Line { text, .. } => format!("| {text}"),
        EventKind::Check {
            name,
            status,
            detail,
            fix,
        } => match fix {
            Some(fix) => format!("check {name}: {status}: {detail} (fix: {fix})"),
            None => format!("check {name}: {status}: {detail}"),
        },
        EventKind::Notice { text } => format!("note: {text}"),
        EventKind::HostFinished { outcome } => format!(
            "finished: {}",
            serde_json::to_string(outcome).unwrap_or_default()
        ),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::events::{Phase, Stream};
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_run_directory_holds_the_event_log_and_one_private_log_per_host() {
        let state = tempfile::tempdir().unwrap();
        let mut dir = RunDir::create(state.path()).unwrap();
        let ev = |host: Option<&str>, kind| RunEvent {
            at: SystemTime::now(),
            host: host.map(str::to_string),
            kind,
        };
        dir.record(&ev(
            None,
            EventKind::Notice {
                text: "starting".into(),
            },
        ))
        .unwrap();
        dir.record(&ev(
            Some("app-1"),
            EventKind::PhaseStarted {
                phase: Phase::Reconfigure,
            },
        ))
        .unwrap();
        dir.record(&ev(
            Some("app-1"),
            EventKind::Line {
                stream: Stream::Stdout,
                text: "Create directory (create) ... [ OK ]".into(),
            },
        ))
        .unwrap();
        assert!(dir.path().starts_with(state.path().join("runs")));
        let events = std::fs::read_to_string(dir.path().join("events.jsonl")).unwrap();
        assert_eq!(events.lines().count(), 3);
        let log = std::fs::read_to_string(dir.host_log("app-1")).unwrap();
        assert!(log.contains("== reconfigure started"));
        assert!(log.contains("| Create directory (create) ... [ OK ]"));
        let mode = std::fs::metadata(dir.host_log("app-1"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600);
        let dmode = std::fs::metadata(dir.path()).unwrap().permissions().mode() & 0o777;
        assert_eq!(dmode, 0o700);
    }

    #[test]
    fn two_runs_never_share_a_directory() {
        let state = tempfile::tempdir().unwrap();
        let a = RunDir::create(state.path()).unwrap();
        let b = RunDir::create(state.path()).unwrap();
        assert_ne!(a.path(), b.path());
    }
}
