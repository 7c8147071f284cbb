//! The full-screen wizard, in the Elm architecture: one [`Wizard`] model, a [`Msg`] enum, a pure
//! [`update`] that may ask for a [`Command`], and a pure [`view`](view::view).
//!
//! Commands are the only side effects (reading or saving a profile, asking the engine for OS
//! detection or a plan); [`execute`] performs them and turns their results back into messages,
//! so the whole wizard can be driven in tests without a terminal.

pub mod execute;
pub mod steps;
pub mod view;

pub use execute::{execute, Effects};

use crate::profile::Profile;
use crate::topology::OsId;
use crate::tui::events::{EventKind, PlannedChange, RunEvent};
use crate::tui::questions::{self, Draft, HostKey, Key, Kind, Step};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

/// Which page is on screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Screen {
    /// Profiles exist: open one to change it, or start a new one.
    Start {
        profiles: Vec<PathBuf>,
        selected: usize,
    },
    Step(Step),
    /// The engine's plan for the saved profile, before anything is applied.
    Plan,
}

/// A line under the form: what just happened, or what is in the way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    Info(String),
    Error(String),
}

/// What the review shows: the file that will be saved, what is wrong with it, and the firewall
/// rules the deployment needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Review {
    pub toml: String,
    /// Profile key (`hosts[2].address`) and message, as profile validation words them.
    pub problems: Vec<(String, String)>,
    pub firewall: Result<Vec<String>, String>,
}

/// The engine's plan as it arrives.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PlanView {
    /// In the order the engine reported them.
    pub hosts: Vec<(String, Vec<PlannedChange>)>,
    pub reconfigure_order: Vec<String>,
    pub notices: Vec<String>,
    pub finished: bool,
    pub failed: Option<String>,
}

/// How the wizard ended, for the caller to act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WizardOutcome {
    /// The profile file written (or opened and left unchanged), if any.
    pub saved: Option<PathBuf>,
    pub next: Next,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    Quit,
    /// Run the checks with the live table.
    Check,
    /// Install (the plan was shown and accepted).
    Apply,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Msg {
    Key(KeyEvent),
    /// A profile was read for re-running: its content, and the problem that stopped a full
    /// load, if any (an invalid profile still opens, so the wizard can fix it).
    Opened {
        path: PathBuf,
        result: Result<(Box<Profile>, Option<String>), String>,
    },
    ReviewReady(Review),
    OsDetected(Vec<(String, Result<OsId, String>)>),
    Saved(Result<PathBuf, String>),
    Plan(RunEvent),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Open(PathBuf),
    PrepareReview(Box<Profile>),
    DetectOs(Box<Draft>),
    Save {
        path: PathBuf,
        profile: Box<Profile>,
        /// Replace an existing file: only when the wizard opened that very file.
        overwrite: bool,
    },
    Plan(PathBuf),
    Exit(WizardOutcome),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Wizard {
    pub draft: Draft,
    pub screen: Screen,
    /// Index into the current step's questions.
    pub focus: usize,
    /// Character position in the focused text answer.
    pub cursor: usize,
    /// Highlighted option of a multiple choice.
    pub option: usize,
    /// Answers the operator has edited: their errors show as they type.
    pub touched: BTreeSet<Key>,
    /// Steps the operator tried to leave: all their errors show.
    pub revealed: BTreeSet<Step>,
    pub status: Option<Status>,
    pub profiles_dir: PathBuf,
    /// The profile file being changed (a re-run), if one was opened.
    pub opened: Option<PathBuf>,
    pub review: Option<Review>,
    pub saved: Option<PathBuf>,
    pub plan: Option<PlanView>,
    pub detecting: bool,
    pub detected: BTreeMap<String, Result<OsId, String>>,
    /// Scroll offset of the review and plan pages.
    pub scroll: u16,
}

impl Wizard {
    /// A wizard for a new profile; with existing `profiles`, it starts by offering them.
    pub fn new(profiles_dir: PathBuf, profiles: Vec<PathBuf>) -> Wizard {
        let screen = if profiles.is_empty() {
            Screen::Step(Step::Layout)
        } else {
            Screen::Start {
                profiles,
                selected: 0,
            }
        };
        let mut w = Wizard {
            draft: Draft::default(),
            screen,
            focus: 0,
            cursor: 0,
            option: 0,
            touched: BTreeSet::new(),
            revealed: BTreeSet::new(),
            status: None,
            profiles_dir,
            opened: None,
            review: None,
            saved: None,
            plan: None,
            detecting: false,
            detected: BTreeMap::new(),
            scroll: 0,
        };
        w.place_cursor();
        w
    }

    /// A wizard pre-filled from a profile (re-running to reconfigure, or the demo).
    pub fn with_profile(
        profiles_dir: PathBuf,
        profile: &Profile,
        opened: Option<PathBuf>,
    ) -> Wizard {
        let mut w = Wizard::new(profiles_dir, Vec::new());
        w.draft = Draft::from_profile(profile);
        w.opened = opened;
        w.place_cursor();
        w
    }

    pub fn step(&self) -> Option<Step> {
        match self.screen {
            Screen::Step(s) => Some(s),
            _ => None,
        }
    }

    pub fn questions(&self) -> Vec<questions::Question> {
        self.step()
            .map(|s| questions::questions(&self.draft, s))
            .unwrap_or_default()
    }

    pub fn focused(&self) -> Option<questions::Question> {
        self.questions().into_iter().nth(self.focus)
    }

    /// The error to show under an answer, if it is wrong and the operator has been there.
    pub fn shown_error(&self, key: Key) -> Option<String> {
        let visible =
            self.touched.contains(&key) || self.step().is_some_and(|s| self.revealed.contains(&s));
        if !visible {
            return None;
        }
        questions::validate(&self.draft, key).err()
    }

    /// The host the focused answer belongs to (hosts and OS steps).
    pub fn focused_host(&self) -> Option<usize> {
        match self.focused()?.key {
            Key::Host(i, _) => Some(i),
            _ => None,
        }
    }

    /// Where saving writes: `profiles/<name>.toml`, or the opened file.
    pub fn target_path(&self) -> PathBuf {
        match &self.opened {
            Some(p) if p.file_stem().and_then(|s| s.to_str()) == Some(self.draft.name.trim()) => {
                p.clone()
            }
            _ => self
                .profiles_dir
                .join(format!("{}.toml", self.draft.name.trim())),
        }
    }

    fn place_cursor(&mut self) {
        self.cursor = self
            .focused()
            .map(|q| self.draft.get(q.key).chars().count())
            .unwrap_or(0);
        self.option = 0;
    }

    fn set_focus(&mut self, focus: usize) {
        let n = self.questions().len();
        self.focus = if n == 0 { 0 } else { focus.min(n - 1) };
        self.place_cursor();
    }

    fn go_to(&mut self, step: Step) -> Option<Command> {
        self.screen = Screen::Step(step);
        self.scroll = 0;
        self.set_focus(0);
        if step == Step::Review {
            return self.prepare_review();
        }
        None
    }

    fn prepare_review(&mut self) -> Option<Command> {
        match self.draft.to_profile() {
            Ok(profile) => {
                self.review = None;
                Some(Command::PrepareReview(Box::new(profile)))
            }
            Err(errors) => {
                self.review = Some(Review {
                    toml: String::new(),
                    problems: errors
                        .into_iter()
                        .map(|(key, message)| (label_of(&self.draft, key), message))
                        .collect(),
                    firewall: Err("the profile is not complete yet".into()),
                });
                None
            }
        }
    }

    /// Leaves the step when its answers are valid; otherwise shows what is wrong.
    fn next_step(&mut self) -> Option<Command> {
        let step = self.step()?;
        let bad = self
            .questions()
            .iter()
            .position(|q| questions::validate(&self.draft, q.key).is_err());
        if let Some(i) = bad {
            self.revealed.insert(step);
            self.set_focus(i);
            let q = self.focused().expect("focus is on a question");
            let message = questions::validate(&self.draft, q.key).unwrap_err();
            self.status = Some(Status::Error(format!("{}: {message}", q.label)));
            return None;
        }
        self.status = None;
        step.next().and_then(|s| self.go_to(s))
    }

    fn prev_step(&mut self) -> Option<Command> {
        self.status = None;
        match self.screen {
            Screen::Step(s) => s.prev().and_then(|p| self.go_to(p)),
            Screen::Plan => self.go_to(Step::Review),
            Screen::Start { .. } => None,
        }
    }
}

/// How a profile key or wizard key reads in the review's problem list.
fn label_of(d: &Draft, key: Key) -> String {
    questions::question_for(d, key)
        .map(|q| q.label)
        .unwrap_or_else(|| format!("{key:?}"))
}

fn is_ctrl(key: &KeyEvent, c: char) -> bool {
    key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char(c)
}

/// Applies one message. Pure: side effects are returned as a [`Command`].
pub fn update(w: &mut Wizard, msg: Msg) -> Option<Command> {
    match msg {
        Msg::Key(key) => on_key(w, key),
        Msg::Opened { path, result } => {
            match result {
                Ok((profile, problem)) => {
                    let dir = w.profiles_dir.clone();
                    *w = Wizard::with_profile(dir, &profile, Some(path.clone()));
                    w.status = Some(match problem {
                        None => Status::Info(format!(
                            "Opened {}: every answer is pre-filled; change what you need, the review shows the plan",
                            path.display()
                        )),
                        Some(p) => Status::Error(format!(
                            "{} does not validate yet ({p}) — fix it in the wizard and save",
                            path.display()
                        )),
                    });
                }
                Err(e) => w.status = Some(Status::Error(e)),
            }
            None
        }
        Msg::ReviewReady(review) => {
            w.review = Some(review);
            None
        }
        Msg::OsDetected(results) => {
            w.detecting = false;
            let mut found = 0;
            for (host, result) in results {
                if let (Ok(os), Some(i)) =
                    (&result, w.draft.hosts.iter().position(|h| h.name == host))
                {
                    w.draft.set(Key::Host(i, HostKey::Os), os.key().to_string());
                    found += 1;
                }
                w.detected.insert(host, result);
            }
            let failed = w.detected.values().filter(|r| r.is_err()).count();
            w.status = Some(if failed == 0 {
                Status::Info(format!("Detected the OS of {found} host(s)"))
            } else {
                Status::Error(format!(
                    "{failed} host(s) could not be reached — choose their OS, or fix the hosts or SSH answers and detect again"
                ))
            });
            None
        }
        Msg::Saved(result) => {
            match result {
                Ok(path) => {
                    w.status = Some(Status::Info(format!(
                        "Saved {} — c: run the checks · i: see the plan and install · q: quit",
                        path.display()
                    )));
                    w.opened = Some(path.clone());
                    w.saved = Some(path);
                }
                Err(e) => w.status = Some(Status::Error(e)),
            }
            None
        }
        Msg::Plan(event) => {
            let plan = w.plan.get_or_insert_with(PlanView::default);
            match event.kind {
                EventKind::Planned { changes } => {
                    if let Some(host) = event.host {
                        plan.hosts.retain(|(h, _)| *h != host);
                        plan.hosts.push((host, changes));
                    }
                }
                EventKind::Notice { text } => plan.notices.push(text),
                EventKind::PhaseFinished {
                    outcome: crate::tui::events::PhaseOutcome::Failed { error },
                    ..
                } => {
                    let host = event.host.unwrap_or_default();
                    plan.failed = Some(format!("{host}: {error}"));
                }
                EventKind::RunFinished { summary } => {
                    plan.finished = true;
                    w.status = None;
                    plan.reconfigure_order = summary.reconfigure_order;
                    if summary.exit_code != 0 && plan.failed.is_none() {
                        plan.failed = Some(format!(
                            "the plan could not be made (exit {})",
                            summary.exit_code
                        ));
                    }
                }
                _ => {}
            }
            None
        }
    }
}

fn on_key(w: &mut Wizard, key: KeyEvent) -> Option<Command> {
    if is_ctrl(&key, 'c') {
        return Some(Command::Exit(WizardOutcome {
            saved: w.saved.clone(),
            next: Next::Quit,
        }));
    }
    match w.screen.clone() {
        Screen::Start { profiles, selected } => on_start_key(w, key, profiles, selected),
        Screen::Plan => on_plan_key(w, key),
        Screen::Step(Step::Review) => on_review_key(w, key),
        Screen::Step(step) => on_form_key(w, key, step),
    }
}

fn on_start_key(
    w: &mut Wizard,
    key: KeyEvent,
    profiles: Vec<PathBuf>,
    selected: usize,
) -> Option<Command> {
    // The last entry is "start a new profile".
    let count = profiles.len() + 1;
    let select = |w: &mut Wizard, selected| {
        w.screen = Screen::Start {
            profiles: profiles.clone(),
            selected,
        }
    };
    match key.code {
        KeyCode::Down | KeyCode::Tab => select(w, (selected + 1) % count),
        KeyCode::Up | KeyCode::BackTab => select(w, (selected + count - 1) % count),
        KeyCode::Enter => {
            return match profiles.get(selected) {
                Some(path) => Some(Command::Open(path.clone())),
                None => w.go_to(Step::Layout),
            };
        }
        _ => {}
    }
    None
}

fn on_plan_key(w: &mut Wizard, key: KeyEvent) -> Option<Command> {
    let ready = w
        .plan
        .as_ref()
        .is_some_and(|p| p.finished && p.failed.is_none());
    match key.code {
        KeyCode::Char('y') if ready => Some(Command::Exit(WizardOutcome {
            saved: w.saved.clone(),
            next: Next::Apply,
        })),
        KeyCode::Char('y') => {
            w.status = Some(Status::Error(
                "the plan is not complete — wait for it, or go back with Esc".into(),
            ));
            None
        }
        KeyCode::Char('q') => Some(Command::Exit(WizardOutcome {
            saved: w.saved.clone(),
            next: Next::Quit,
        })),
        KeyCode::Esc | KeyCode::PageUp => w.prev_step(),
        KeyCode::Down => {
            w.scroll = w.scroll.saturating_add(1);
            None
        }
        KeyCode::Up => {
            w.scroll = w.scroll.saturating_sub(1);
            None
        }
        _ => None,
    }
}

fn on_review_key(w: &mut Wizard, key: KeyEvent) -> Option<Command> {
    let after_save = w.saved.is_some();
    match key.code {
        KeyCode::Esc | KeyCode::PageUp => w.prev_step(),
        KeyCode::Down => {
            w.scroll = w.scroll.saturating_add(1);
            None
        }
        KeyCode::Up => {
            w.scroll = w.scroll.saturating_sub(1);
            None
        }
        KeyCode::Enter => {
            let review = w.review.as_ref()?;
            if let Some((key, message)) = review.problems.first() {
                // Take the operator to the answer that needs fixing.
                let step = questions::step_of_profile_key(key);
                let target = if step == Step::Review {
                    // A wizard label rather than a profile key: find its step.
                    Step::ALL
                        .iter()
                        .copied()
                        .find(|s| {
                            questions::questions(&w.draft, *s)
                                .iter()
                                .any(|q| &q.label == key)
                        })
                        .unwrap_or(Step::Layout)
                } else {
                    step
                };
                let text = format!("{key}: {message}");
                w.go_to(target);
                w.revealed.insert(target);
                if let Some(i) = w
                    .questions()
                    .iter()
                    .position(|q| questions::validate(&w.draft, q.key).is_err())
                {
                    w.set_focus(i);
                }
                w.status = Some(Status::Error(text));
                return None;
            }
            let profile = w.draft.to_profile().ok()?;
            let path = w.target_path();
            let overwrite = w.opened.as_deref() == Some(path.as_path());
            Some(Command::Save {
                path,
                profile: Box::new(profile),
                overwrite,
            })
        }
        KeyCode::Char('c') if after_save => Some(Command::Exit(WizardOutcome {
            saved: w.saved.clone(),
            next: Next::Check,
        })),
        KeyCode::Char('i') if after_save => {
            w.screen = Screen::Plan;
            w.scroll = 0;
            w.plan = Some(PlanView::default());
            w.status = Some(Status::Info(
                "Asking the engine what would change on each host…".into(),
            ));
            w.saved.clone().map(Command::Plan)
        }
        KeyCode::Char('q') if after_save => Some(Command::Exit(WizardOutcome {
            saved: w.saved.clone(),
            next: Next::Quit,
        })),
        _ => None,
    }
}

fn on_form_key(w: &mut Wizard, key: KeyEvent, step: Step) -> Option<Command> {
    let Some(q) = w.focused() else {
        return match key.code {
            KeyCode::Enter | KeyCode::PageDown => w.next_step(),
            KeyCode::Esc | KeyCode::PageUp => w.prev_step(),
            _ => None,
        };
    };
    let count = w.questions().len();
    if step == Step::Hosts && w.draft.layout() == crate::profile::Layout::Custom {
        if is_ctrl(&key, 'n') {
            let i = w.draft.add_host();
            let first = w
                .questions()
                .iter()
                .position(|q| q.key == Key::Host(i, HostKey::Name))
                .unwrap_or(0);
            w.set_focus(first);
            w.status = Some(Status::Info(format!(
                "Added host {}",
                w.draft.hosts[i].name
            )));
            return None;
        }
        if is_ctrl(&key, 'x') {
            if let (Some(i), true) = (w.focused_host(), w.draft.hosts.len() > 1) {
                let name = w.draft.hosts.remove(i).name;
                w.touched.retain(|k| !matches!(k, Key::Host(_, _)));
                w.set_focus(0);
                w.status = Some(Status::Info(format!("Removed host {name}")));
            }
            return None;
        }
    }
    if step == Step::Os && is_ctrl(&key, 'd') {
        return match w.draft.detection_targets() {
            Ok(_) => {
                w.detecting = true;
                w.status = Some(Status::Info(
                    "Connecting to each host to read its OS…".into(),
                ));
                Some(Command::DetectOs(Box::new(w.draft.clone())))
            }
            Err(errors) => {
                let (key, message) = &errors[0];
                w.status = Some(Status::Error(format!(
                    "detection needs valid hosts and SSH answers first — {}: {message}",
                    label_of(&w.draft, *key)
                )));
                None
            }
        };
    }
    match key.code {
        KeyCode::Tab | KeyCode::Down => {
            w.set_focus((w.focus + 1).min(count - 1));
            None
        }
        KeyCode::BackTab | KeyCode::Up => {
            w.set_focus(w.focus.saturating_sub(1));
            None
        }
        KeyCode::Enter if w.focus + 1 < count => {
            w.set_focus(w.focus + 1);
            None
        }
        KeyCode::Enter | KeyCode::PageDown => w.next_step(),
        KeyCode::Esc | KeyCode::PageUp => w.prev_step(),
        _ => {
            edit(w, &q, key);
            None
        }
    }
}

/// Edits the focused answer.
fn edit(w: &mut Wizard, q: &questions::Question, key: KeyEvent) {
    let value = w.draft.get(q.key).to_string();
    let new = match &q.kind {
        Kind::Choice(choices) => {
            let at = choices.iter().position(|c| c.value == value).unwrap_or(0);
            let n = choices.len();
            match key.code {
                KeyCode::Right | KeyCode::Char(' ') => {
                    Some(choices[(at + 1) % n].value.to_string())
                }
                KeyCode::Left => Some(choices[(at + n - 1) % n].value.to_string()),
                _ => None,
            }
        }
        Kind::Multi(choices) => {
            let n = choices.len();
            match key.code {
                KeyCode::Right => {
                    w.option = (w.option + 1) % n;
                    None
                }
                KeyCode::Left => {
                    w.option = (w.option + n - 1) % n;
                    None
                }
                KeyCode::Char(' ') => {
                    let mut set: Vec<&str> = value
                        .split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .collect();
                    let picked = choices[w.option].value;
                    if let Some(pos) = set.iter().position(|s| *s == picked) {
                        set.remove(pos);
                    } else {
                        set.push(picked);
                    }
                    // Keep the modules in their canonical order, whatever order they were picked.
                    let ordered: Vec<&str> = choices
                        .iter()
                        .map(|c| c.value)
                        .filter(|v| set.contains(v))
                        .collect();
                    Some(ordered.join(","))
                }
                _ => None,
            }
        }
        Kind::Text { .. } => {
            let mut chars: Vec<char> = value.chars().collect();
            let at = w.cursor.min(chars.len());
            match key.code {
                KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
                    chars.insert(at, c);
                    w.cursor = at + 1;
                    Some(chars.into_iter().collect())
                }
                KeyCode::Backspace if at > 0 => {
                    chars.remove(at - 1);
                    w.cursor = at - 1;
                    Some(chars.into_iter().collect())
                }
                KeyCode::Delete if at < chars.len() => {
                    chars.remove(at);
                    Some(chars.into_iter().collect())
                }
                KeyCode::Left => {
                    w.cursor = at.saturating_sub(1);
                    None
                }
                KeyCode::Right => {
                    w.cursor = (at + 1).min(chars.len());
                    None
                }
                KeyCode::Home => {
                    w.cursor = 0;
                    None
                }
                KeyCode::End => {
                    w.cursor = chars.len();
                    None
                }
                _ => None,
            }
        }
    };
    if let Some(new) = new {
        w.touched.insert(q.key);
        w.status = None;
        w.draft.set(q.key, new);
        if q.key == Key::Layout {
            // The host list was reshaped: old host errors no longer apply.
            w.touched.retain(|k| !matches!(k, Key::Host(_, _)));
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;
