//! Live progress when stderr is a terminal: one indicatif bar per host showing its phase, the
//! reconfigure progress parsed from `[ OK ]` lines, and elapsed time; finished lines (failures,
//! checks, the summary) print above the bars.

use crate::engine::events::{CheckStatus, EventKind, PhaseOutcome, RunEvent};
use crate::views::{text, View};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::BTreeMap;
use std::time::Duration;

pub struct ProgressView {
    multi: MultiProgress,
    bars: BTreeMap<String, ProgressBar>,
    style: ProgressStyle,
}

impl ProgressView {
    pub fn new() -> ProgressView {
        ProgressView::with_target(ProgressDrawTarget::stderr())
    }

    pub fn with_target(target: ProgressDrawTarget) -> ProgressView {
        let style = ProgressStyle::with_template(
            "{prefix:<12} [{elapsed_precise}] {bar:30} {pos:>3}/{len:<3} {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
        ProgressView {
            multi: MultiProgress::with_draw_target(target),
            bars: BTreeMap::new(),
            style,
        }
    }

    fn bar(&mut self, host: &str) -> &ProgressBar {
        if !self.bars.contains_key(host) {
            let bar = self.multi.add(ProgressBar::new(1));
            bar.set_style(self.style.clone());
            bar.set_prefix(host.to_string());
            bar.enable_steady_tick(Duration::from_millis(500));
            self.bars.insert(host.to_string(), bar);
        }
        &self.bars[host]
    }

    fn println(&self, text: &str) {
        let _ = self.multi.println(text);
    }
}

impl Default for ProgressView {
    fn default() -> Self {
        ProgressView::new()
    }
}

impl View for ProgressView {
    fn event(&mut self, event: &RunEvent) {
        let Some(host) = event.host.clone() else {
            match &event.kind {
                EventKind::RunFinished { summary } => {
                    for bar in self.bars.values() {
                        bar.finish();
                    }
                    self.println(&text::summary(summary));
                }
                EventKind::Notice { text } => self.println(&format!("note: {text}")),
                _ => {}
            }
            return;
        };
        match &event.kind {
            EventKind::PhaseStarted { phase } => {
                let bar = self.bar(&host);
                bar.set_message(phase.to_string());
            }
            EventKind::PhaseFinished {
                phase,
                outcome: PhaseOutcome::Failed { error },
                ..
            } => {
                self.bar(&host).set_message(format!("{phase} FAILED"));
                self.println(&format!("{host}: {phase} failed: {error}"));
            }
            EventKind::Step { description, .. } => {
                self.bar(&host)
                    .set_message(format!("reconfigure: {description}"));
            }
            EventKind::Progress { done, total } => {
                let bar = self.bar(&host);
                bar.set_length(*total as u64);
                bar.set_position(*done as u64);
            }
            EventKind::Check {
                name,
                status,
                detail,
                fix,
            } if *status != CheckStatus::Pass => {
                self.println(&text::check_line(
                    &host,
                    name,
                    *status,
                    detail,
                    fix.as_deref(),
                ));
            }
            EventKind::Planned { changes } => {
                self.println(text::planned(&host, changes).trim_end())
            }
            EventKind::HostFinished { outcome } => {
                let bar = self.bar(&host);
                let word = match outcome {
                    crate::engine::events::HostOutcome::Succeeded => "done",
                    crate::engine::events::HostOutcome::Failed { .. } => "FAILED",
                    crate::engine::events::HostOutcome::NotAttempted { .. } => "not attempted",
                    crate::engine::events::HostOutcome::Interrupted { .. } => "interrupted",
                };
                bar.finish_with_message(word);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::events::Phase;
    use std::time::SystemTime;

    #[test]
    fn bars_follow_phases_and_reconfigure_progress() {
        let mut v = ProgressView::with_target(ProgressDrawTarget::hidden());
        let ev = |kind| RunEvent {
            at: SystemTime::now(),
            host: Some("app-1".into()),
            kind,
        };
        v.event(&ev(EventKind::PhaseStarted {
            phase: Phase::Reconfigure,
        }));
        v.event(&ev(EventKind::Progress { done: 3, total: 40 }));
        let bar = &v.bars["app-1"];
        assert_eq!(bar.position(), 3);
        assert_eq!(bar.length(), Some(40));
        assert_eq!(bar.message(), "reconfigure");
    }
}
