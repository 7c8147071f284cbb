//! What the dashboard knows, built only from the engine's run events.

use crate::profile::Profile;
use crate::topology::Deployment;
use crate::tui::events::{
    CheckStatus, EventKind, HostOutcome, Phase, PhaseOutcome, RunEvent, StepStatus, Summary,
};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::collections::{BTreeSet, VecDeque};
use std::time::SystemTime;

/// Output lines kept per host for scrolling back; older ones are in the run directory's log.
pub const OUTPUT_LINES: usize = 5000;

/// What the dashboard shows about a host before any event: its name, roles and expected OS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostInfo {
    pub name: String,
    pub roles: String,
    pub os: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckRow {
    pub name: String,
    pub status: CheckStatus,
    pub detail: String,
    pub fix: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct HostRow {
    pub info: HostInfo,
    pub phase: Option<Phase>,
    pub phase_failed: bool,
    /// Reconfigure progress, from its `[ OK ]` lines.
    pub progress: Option<(usize, usize)>,
    pub started: Option<SystemTime>,
    pub finished: Option<SystemTime>,
    pub last_line: String,
    pub output: VecDeque<String>,
    pub checks: Vec<CheckRow>,
    pub outcome: Option<HostOutcome>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaveState {
    Waiting,
    Running,
    /// Every host succeeded.
    Done,
    /// Every host finished, and at least one did not succeed.
    Failed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// The table of hosts.
    Hosts,
    /// The selected host's output, followed live or scrolled back.
    Output,
}

/// What the operator asked for, for the loop to carry out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DashboardCommand {
    Leave,
    /// Run `apply` again on these (failed) hosts.
    Retry(Vec<String>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct DashboardState {
    pub command: String,
    /// The profile the run is for, to tell the operator how to reattach.
    pub profile_path: String,
    pub hosts: Vec<HostRow>,
    pub waves: Vec<Vec<String>>,
    pub waves_started: BTreeSet<usize>,
    pub selected: usize,
    pub view: View,
    /// Lines scrolled up from the newest output; 0 follows the output live.
    pub scroll_back: usize,
    pub notices: Vec<String>,
    pub started: Option<SystemTime>,
    pub summary: Option<Summary>,
    /// The operator asked to leave while remote steps run; the next `q` leaves.
    pub confirm_leave: bool,
}

impl HostRow {
    fn new(info: HostInfo) -> HostRow {
        HostRow {
            info,
            phase: None,
            phase_failed: false,
            progress: None,
            started: None,
            finished: None,
            last_line: String::new(),
            output: VecDeque::new(),
            checks: Vec::new(),
            outcome: None,
        }
    }

    fn push_output(&mut self, line: String) {
        if self.output.len() == OUTPUT_LINES {
            self.output.pop_front();
        }
        self.last_line = line.clone();
        self.output.push_back(line);
    }

    pub fn failed(&self) -> bool {
        matches!(self.outcome, Some(HostOutcome::Failed { .. }))
    }
}

impl DashboardState {
    pub fn new(profile_path: &str, hosts: Vec<HostInfo>) -> DashboardState {
        DashboardState {
            command: String::new(),
            profile_path: profile_path.to_string(),
            hosts: hosts.into_iter().map(HostRow::new).collect(),
            waves: Vec::new(),
            waves_started: BTreeSet::new(),
            selected: 0,
            view: View::Hosts,
            scroll_back: 0,
            notices: Vec::new(),
            started: None,
            summary: None,
            confirm_leave: false,
        }
    }

    /// Rows for the profile's hosts, with their modules as roles.
    pub fn for_profile(profile_path: &str, profile: &Profile) -> DashboardState {
        let deployment = Deployment::resolve(profile).ok();
        let hosts = profile
            .hosts
            .iter()
            .map(|h| HostInfo {
                name: h.name.clone(),
                roles: deployment
                    .as_ref()
                    .and_then(|d| d.host(&h.name))
                    .map(|p| {
                        p.modules
                            .iter()
                            .map(|m| m.key())
                            .collect::<Vec<_>>()
                            .join(",")
                    })
                    .unwrap_or_default(),
                os: h.os.map(|o| o.key().to_string()).unwrap_or_default(),
            })
            .collect();
        DashboardState::new(profile_path, hosts)
    }

    /// Whether remote work may still be going on.
    pub fn running(&self) -> bool {
        self.started.is_some() && self.summary.is_none()
    }

    pub fn wave_state(&self, index: usize) -> WaveState {
        let outcomes: Vec<Option<&HostOutcome>> = self
            .waves
            .get(index)
            .map(|wave| {
                wave.iter()
                    .map(|h| self.row(h).and_then(|r| r.outcome.as_ref()))
                    .collect()
            })
            .unwrap_or_default();
        let finished = !outcomes.is_empty() && outcomes.iter().all(Option::is_some);
        if finished && outcomes.iter().all(|o| *o == Some(&HostOutcome::Succeeded)) {
            WaveState::Done
        } else if finished {
            WaveState::Failed
        } else if self.waves_started.contains(&index) {
            WaveState::Running
        } else {
            WaveState::Waiting
        }
    }

    pub fn failed_hosts(&self) -> Vec<String> {
        self.hosts
            .iter()
            .filter(|h| h.failed())
            .map(|h| h.info.name.clone())
            .collect()
    }

    pub fn row(&self, name: &str) -> Option<&HostRow> {
        self.hosts.iter().find(|h| h.info.name == name)
    }

    fn row_mut(&mut self, name: &str) -> &mut HostRow {
        if let Some(i) = self.hosts.iter().position(|h| h.info.name == name) {
            return &mut self.hosts[i];
        }
        self.hosts.push(HostRow::new(HostInfo {
            name: name.to_string(),
            roles: String::new(),
            os: String::new(),
        }));
        self.hosts.last_mut().expect("just pushed")
    }

    /// Folds one event into the state.
    pub fn apply(&mut self, event: &RunEvent) {
        let at = event.at;
        let Some(host) = event.host.as_deref() else {
            match &event.kind {
                EventKind::RunStarted {
                    command,
                    hosts,
                    waves,
                } => {
                    self.command = command.clone();
                    self.waves = waves.clone();
                    self.waves_started.clear();
                    self.started = Some(at);
                    self.summary = None;
                    for h in hosts {
                        self.row_mut(h);
                    }
                }
                EventKind::WaveStarted { index, .. } => {
                    self.waves_started.insert(*index);
                }
                EventKind::Notice { text } => self.notices.push(text.clone()),
                EventKind::RunFinished { summary } => {
                    for (name, outcome) in &summary.hosts {
                        let row = self.row_mut(name);
                        if row.outcome.is_none() {
                            row.outcome = Some(outcome.clone());
                            row.finished = Some(at);
                        }
                    }
                    self.summary = Some(summary.clone());
                    self.confirm_leave = false;
                }
                _ => {}
            }
            return;
        };
        let row = self.row_mut(host);
        match &event.kind {
            EventKind::PhaseStarted { phase } => {
                row.phase = Some(*phase);
                row.phase_failed = false;
                row.started.get_or_insert(at);
                if *phase == Phase::Reconfigure {
                    row.progress = None;
                }
            }
            EventKind::PhaseFinished { phase, outcome, .. } => match outcome {
                PhaseOutcome::Failed { error } => {
                    row.phase = Some(*phase);
                    row.phase_failed = true;
                    row.push_output(format!("{phase} failed: {error}"));
                }
                PhaseOutcome::Skipped { why } => row.push_output(format!("{phase} skipped: {why}")),
                PhaseOutcome::Done => {}
            },
            EventKind::Step {
                description,
                status,
            } => {
                let mark = match status {
                    StepStatus::Ok => "[ OK ]",
                    StepStatus::Skipped => "[ SKIPPED ]",
                    StepStatus::Failed => "[ FAILED ]",
                };
                row.push_output(format!("{description} {mark}"));
            }
            EventKind::Progress { done, total } => row.progress = Some((*done, *total)),
            EventKind::Line { text, .. } => row.push_output(text.clone()),
            EventKind::Check {
                name,
                status,
                detail,
                fix,
            } => {
                row.push_output(format!("check {name}: {status} — {detail}"));
                // A profile may leave the OS to detection: the passing os check names it.
                if name == "os" && *status == CheckStatus::Pass && row.info.os.is_empty() {
                    if let Some(os) = crate::topology::OsId::ALL
                        .iter()
                        .find(|os| os.title() == detail.as_str())
                    {
                        row.info.os = os.key().to_string();
                    }
                }
                row.checks.push(CheckRow {
                    name: name.clone(),
                    status: *status,
                    detail: detail.clone(),
                    fix: fix.clone(),
                });
            }
            EventKind::Notice { text } => row.push_output(format!("! {text}")),
            EventKind::HostFinished { outcome } => {
                row.outcome = Some(outcome.clone());
                row.finished = Some(at);
                if let HostOutcome::Failed { error, .. } = outcome {
                    row.last_line = error.clone();
                }
            }
            EventKind::Planned { .. }
            | EventKind::RunStarted { .. }
            | EventKind::WaveStarted { .. }
            | EventKind::RunFinished { .. } => {}
        }
    }

    /// Handles a key; what the loop must do comes back as a command.
    pub fn on_key(&mut self, key: KeyEvent) -> Option<DashboardCommand> {
        let ctrl_c =
            key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c');
        if self.confirm_leave {
            self.confirm_leave = false;
            if matches!(key.code, KeyCode::Char('q') | KeyCode::Char('y')) || ctrl_c {
                return Some(DashboardCommand::Leave);
            }
            return None;
        }
        let leave = |s: &mut DashboardState| {
            if s.running() {
                s.confirm_leave = true;
                None
            } else {
                Some(DashboardCommand::Leave)
            }
        };
        if ctrl_c || key.code == KeyCode::Char('q') {
            return leave(self);
        }
        let count = self.hosts.len().max(1);
        match (self.view, key.code) {
            (View::Hosts, KeyCode::Down | KeyCode::Char('j')) => {
                self.selected = (self.selected + 1) % count
            }
            (View::Hosts, KeyCode::Up | KeyCode::Char('k')) => {
                self.selected = (self.selected + count - 1) % count
            }
            (View::Hosts, KeyCode::Enter) => {
                self.view = View::Output;
                self.scroll_back = 0;
            }
            (View::Hosts, KeyCode::Esc) => return leave(self),
            (View::Output, KeyCode::Esc) => self.view = View::Hosts,
            (View::Output, KeyCode::Up | KeyCode::Char('k')) => self.scroll_by(1),
            (View::Output, KeyCode::Down | KeyCode::Char('j')) => self.scroll_by(-1),
            (View::Output, KeyCode::PageUp) => self.scroll_by(10),
            (View::Output, KeyCode::PageDown) => self.scroll_by(-10),
            (View::Output, KeyCode::Home) => self.scroll_by(isize::MAX / 2),
            (View::Output, KeyCode::End) => self.scroll_back = 0,
            (_, KeyCode::Char('r')) => {
                let failed = self.failed_hosts();
                if self.running() {
                    self.notices
                        .push("retry is possible once the run has finished".into());
                } else if failed.is_empty() {
                    self.notices.push("no host failed: nothing to retry".into());
                } else {
                    return Some(DashboardCommand::Retry(failed));
                }
            }
            _ => {}
        }
        None
    }

    fn scroll_by(&mut self, lines: isize) {
        let len = self
            .hosts
            .get(self.selected)
            .map(|h| h.output.len())
            .unwrap_or(0);
        let next = (self.scroll_back as isize).saturating_add(lines);
        self.scroll_back = next.clamp(0, len as isize) as usize;
    }

    /// Forgets a finished run's results for the hosts retried, keeping their output.
    pub fn begin_retry(&mut self, hosts: &[String]) {
        for h in hosts {
            let row = self.row_mut(h);
            row.outcome = None;
            row.finished = None;
            row.started = None;
            row.phase = None;
            row.phase_failed = false;
            row.progress = None;
            row.push_output("── retry ──".into());
        }
        self.summary = None;
        self.notices.clear();
    }
}
