//! Plain timestamped lines, for logs and pipes (stderr is not a terminal). Raw remote output is
//! left to the run directory's host logs; this view shows phases, steps, checks and the summary.

use crate::engine::events::{EventKind, PhaseOutcome, RunEvent, StepStatus};
use crate::views::{text, View};
use std::io::Write;

pub struct PlainView<W: Write> {
    out: W,
}

impl<W: Write> PlainView<W> {
    pub fn new(out: W) -> PlainView<W> {
        PlainView { out }
    }
}

/// The line for one event, or `None` for events this view leaves to the logs.
pub fn render(event: &RunEvent) -> Option<String> {
    let host = event.host.as_deref().unwrap_or("-");
    let body = match &event.kind {
        EventKind::RunStarted { command, hosts, .. } => {
            format!("{command} on {} host(s): {}", hosts.len(), hosts.join(", "))
        }
        EventKind::WaveStarted { index, hosts } => {
            format!("wave {} : {}", index + 1, hosts.join(", "))
        }
        EventKind::PhaseStarted { phase } => format!("{phase} started"),
        EventKind::PhaseFinished {
            phase,
            outcome,
            elapsed_ms,
        } => match outcome {
            PhaseOutcome::Done => format!("{phase} done ({:.1}s)", *elapsed_ms as f64 / 1000.0),
            PhaseOutcome::Skipped { why } => format!("{phase} skipped: {why}"),
            PhaseOutcome::Failed { error } => format!("{phase} FAILED: {error}"),
        },
        EventKind::Step {
            description,
            status,
        } => format!(
            "  {description} [{}]",
            match status {
                StepStatus::Ok => "OK",
                StepStatus::Skipped => "SKIPPED",
                StepStatus::Failed => "FAILED",
            }
        ),
        EventKind::Check {
            name,
            status,
            detail,
            fix,
        } => {
            return Some(format!(
                "{} {}",
                stamp(event),
                text::check_line(host, name, *status, detail, fix.as_deref())
            ));
        }
        EventKind::Planned { changes } => {
            return Some(text::planned(host, changes).trim_end().to_string())
        }
        EventKind::Notice { text } => format!("note: {text}"),
        EventKind::RunFinished { summary } => {
            return Some(text::summary(summary).trim_end().to_string())
        }
        EventKind::Progress { .. } | EventKind::Line { .. } | EventKind::HostFinished { .. } => {
            return None
        }
    };
    Some(format!("{} {host:<12} {body}", stamp(event)))
}

fn stamp(event: &RunEvent) -> String {
    humantime::format_rfc3339_seconds(event.at).to_string()
}

impl<W: Write> View for PlainView<W> {
    fn event(&mut self, event: &RunEvent) {
        if let Some(line) = render(event) {
            let _ = writeln!(self.out, "{line}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::events::{Phase, Stream};
    use std::time::SystemTime;

    fn ev(host: Option<&str>, kind: EventKind) -> RunEvent {
        RunEvent {
            at: SystemTime::UNIX_EPOCH,
            host: host.map(str::to_string),
            kind,
        }
    }

    #[test]
    fn phases_are_timestamped_lines_naming_the_host() {
        let line = render(&ev(
            Some("db-master"),
            EventKind::PhaseFinished {
                phase: Phase::Reconfigure,
                outcome: PhaseOutcome::Skipped {
                    why: "configuration unchanged".into(),
                },
                elapsed_ms: 0,
            },
        ))
        .unwrap();
        assert_eq!(
            line,
            "1970-01-01T00:00:00Z db-master    reconfigure skipped: configuration unchanged"
        );
    }

    #[test]
    fn raw_output_is_left_to_the_run_logs() {
        assert_eq!(
            render(&ev(
                Some("a"),
                EventKind::Line {
                    stream: Stream::Stdout,
                    text: "x".into()
                }
            )),
            None
        );
    }
}
