//! The wizard, driven the way an operator drives it: key events in, model (and screen) out.

use super::*;
use crate::profile::{rules, HostSpec, SshSpec};
use crate::tui::backend::Backend;
use crate::tui::events::{ExitStatus, Summary};
use crate::tui::theme::Theme;
use ratatui::backend::TestBackend;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// The engine's side as a test sees it: canned answers, no network.
pub struct CannedEngine;

impl Backend for CannedEngine {
    fn detect_os(&self, hosts: &[HostSpec], _ssh: &SshSpec) -> Vec<(String, Result<OsId, String>)> {
        hosts
            .iter()
            .map(|h| {
                let r = if h.name == "db-slave" {
                    Err("cannot connect to 127.0.1.15:22: connection refused — start the VM, or choose its OS".into())
                } else {
                    Ok(OsId::Ubuntu1804)
                };
                (h.name.clone(), r)
            })
            .collect()
    }
    fn firewall_rules(&self, profile: &Profile) -> Result<Vec<String>, String> {
        Ok(profile
            .hosts
            .iter()
            .map(|h| format!("load balancer → {}:80/tcp  http to the proxies", h.address))
            .take(2)
            .collect())
    }
    fn check(&self, _: &crate::profile::LoadedProfile) -> Receiver<RunEvent> {
        channel().1
    }
    fn plan(&self, loaded: &crate::profile::LoadedProfile) -> Receiver<RunEvent> {
        let (tx, rx) = channel();
        for h in &loaded.profile.hosts {
            send(&tx, Some(&h.name), EventKind::Planned {
                changes: vec![
                    PlannedChange::WriteFile {
                        path: "/etc/scalr-server/scalr-server.rb".into(),
                        diff: "--- a\n+++ b\n-app[:instances_connection_policy] = 'auto'\n+app[:instances_connection_policy] = 'local'\n".into(),
                        created: false,
                    },
                    PlannedChange::Reconfigure { why: "scalr-server.rb changed".into() },
                ],
            });
        }
        let mut summary = Summary::new("plan", ExitStatus::Success, Vec::new());
        summary.reconfigure_order = loaded
            .profile
            .hosts
            .iter()
            .map(|h| h.name.clone())
            .collect();
        send(&tx, None, EventKind::RunFinished { summary });
        rx
    }
    fn apply(
        &self,
        _: &crate::profile::LoadedProfile,
        _: Option<Vec<String>>,
    ) -> Receiver<RunEvent> {
        channel().1
    }
}

fn send(tx: &Sender<RunEvent>, host: Option<&str>, kind: EventKind) {
    tx.send(RunEvent {
        at: SystemTime::UNIX_EPOCH,
        host: host.map(str::to_string),
        kind,
    })
    .unwrap();
}

/// A wizard over a temporary profiles folder holding a licence file.
pub struct Harness {
    pub w: Wizard,
    pub fx: Effects,
    tx: Sender<Msg>,
    rx: Receiver<Msg>,
    pub outcome: Option<WizardOutcome>,
    pub dir: tempfile::TempDir,
}

impl Harness {
    pub fn new() -> Harness {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("license.json"), "{\"placeholder\": true}").unwrap();
        Harness::in_dir(dir)
    }

    pub fn in_dir(dir: tempfile::TempDir) -> Harness {
        let (tx, rx) = channel();
        let profiles = crate::tui::existing_profiles(dir.path());
        Harness {
            w: Wizard::new(dir.path().to_path_buf(), profiles),
            fx: Effects {
                backend: Arc::new(CannedEngine),
                profiles_dir: dir.path().to_path_buf(),
            },
            tx,
            rx,
            outcome: None,
            dir,
        }
    }

    /// Delivers a message and carries out what it asks for, including the answers that come
    /// back, until the wizard is idle.
    pub fn send(&mut self, msg: Msg) {
        let mut next = Some(msg);
        while let Some(msg) = next.take() {
            if let Some(cmd) = update(&mut self.w, msg) {
                let threaded = matches!(cmd, Command::DetectOs(_) | Command::Plan(_));
                if let Some(o) = execute(cmd, &self.fx, &self.tx) {
                    self.outcome = Some(o);
                }
                next = if threaded {
                    self.rx.recv_timeout(Duration::from_secs(5)).ok()
                } else {
                    self.rx.try_recv().ok()
                };
            }
            if next.is_none() {
                // A plan streams in from the engine's thread: wait for the whole of it.
                let planning = self.w.plan.as_ref().is_some_and(|p| !p.finished);
                next = if planning {
                    self.rx.recv_timeout(Duration::from_secs(5)).ok()
                } else {
                    self.rx.try_recv().ok()
                };
            }
        }
    }

    pub fn press(&mut self, code: KeyCode) {
        self.send(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
    }

    pub fn ctrl(&mut self, c: char) {
        self.send(Msg::Key(KeyEvent::new(
            KeyCode::Char(c),
            KeyModifiers::CONTROL,
        )));
    }

    pub fn type_text(&mut self, text: &str) {
        for c in text.chars() {
            self.press(KeyCode::Char(c));
        }
    }

    /// Moves focus to `key` on the current step with Tab / ↑.
    pub fn focus(&mut self, key: Key) {
        let target = self
            .w
            .questions()
            .iter()
            .position(|q| q.key == key)
            .unwrap_or_else(|| panic!("{key:?} is not asked on {:?}", self.w.screen));
        while self.w.focus < target {
            self.press(KeyCode::Tab);
        }
        while self.w.focus > target {
            self.press(KeyCode::Up);
        }
    }

    /// Answers a question with keys: clears and types text, or steps through choices.
    pub fn answer(&mut self, key: Key, value: &str) {
        self.focus(key);
        let q = self.w.focused().unwrap();
        match q.kind {
            Kind::Text { .. } => {
                self.press(KeyCode::End);
                while !self.w.draft.get(key).is_empty() {
                    self.press(KeyCode::Backspace);
                }
                self.type_text(value);
            }
            Kind::Choice(choices) => {
                for _ in 0..choices.len() {
                    if self.w.draft.get(key) == value {
                        break;
                    }
                    self.press(KeyCode::Right);
                }
            }
            Kind::Multi(choices) => {
                let wanted: Vec<&str> = value.split(',').collect();
                for (i, c) in choices.iter().enumerate() {
                    while self.w.option != i {
                        self.press(KeyCode::Right);
                    }
                    let on = self.w.draft.get(key).split(',').any(|v| v == c.value);
                    if on != wanted.contains(&c.value) {
                        self.press(KeyCode::Char(' '));
                    }
                }
            }
        }
        assert_eq!(self.w.draft.get(key), value, "answering {key:?}");
    }

    pub fn render(&self, width: u16, height: u16) -> ratatui::Terminal<TestBackend> {
        let mut t = ratatui::Terminal::new(TestBackend::new(width, height)).unwrap();
        t.draw(|f| view::view(&self.w, f, Theme::default()))
            .unwrap();
        t
    }

    pub fn snapshot_text(&self, width: u16, height: u16) -> String {
        let dir = self.dir.path().display().to_string();
        format!("{}", self.render(width, height).backend()).replace(&dir, "<profiles>")
    }
}

/// The lab's HA answers, step by step, as an operator gives them.
pub fn lab_ha_answers() -> Vec<(Step, Vec<(Key, String)>)> {
    let host = |i, k, v: &str| (Key::Host(i, k), v.to_string());
    let mut hosts = Vec::new();
    for i in 0..6 {
        hosts.push(host(i, HostKey::Address, &format!("127.0.1.{}", 10 + i)));
    }
    hosts.push(host(0, HostKey::User, "centos"));
    vec![
        (
            Step::Layout,
            vec![(Key::Name, "lab".into()), (Key::Layout, "ha".into())],
        ),
        (Step::Hosts, hosts),
        (
            Step::Os,
            vec![
                host(0, HostKey::Os, "centos-7"),
                host(4, HostKey::Os, "ubuntu-18.04"),
            ],
        ),
        (
            Step::Network,
            vec![
                (Key::EndpointHost, "127.0.1.10".into()),
                (Key::ConnectionPolicy, "local".into()),
                (Key::Clouds, "ec2=public".into()),
            ],
        ),
        (Step::Package, vec![(Key::Version, "8.0.1".into())]),
        (Step::Ssh, vec![(Key::HostKeyPolicy, "accept-new".into())]),
    ]
}

/// Gives every answer with keys and arrives at the review.
pub fn fill_lab_ha(h: &mut Harness) {
    for (step, answers) in lab_ha_answers() {
        assert_eq!(h.w.step(), Some(step));
        for (key, value) in answers {
            h.answer(key, &value);
        }
        h.press(KeyCode::PageDown);
    }
    assert_eq!(h.w.step(), Some(Step::Review));
}

#[test]
fn an_address_is_checked_as_it_is_typed_with_the_profile_rules_message() {
    let mut h = Harness::new();
    h.press(KeyCode::PageDown);
    h.focus(Key::Host(0, HostKey::Address));
    h.type_text("10.0.0.300");
    assert_eq!(
        h.w.shown_error(Key::Host(0, HostKey::Address)),
        Some(rules::address("10.0.0.300").unwrap_err())
    );
    for _ in 0..3 {
        h.press(KeyCode::Backspace);
    }
    h.type_text("30");
    assert_eq!(h.w.shown_error(Key::Host(0, HostKey::Address)), None);
}

#[test]
fn next_step_is_refused_until_the_answers_are_valid_and_focus_goes_to_the_first_bad_one() {
    let mut h = Harness::new();
    h.answer(Key::Name, "Bad Name");
    h.press(KeyCode::PageDown);
    assert_eq!(h.w.step(), Some(Step::Layout));
    assert_eq!(h.w.focused().unwrap().key, Key::Name);
    assert!(
        matches!(&h.w.status, Some(Status::Error(m)) if m.contains("is not a valid deployment name"))
    );
    h.answer(Key::Name, "lab");
    h.press(KeyCode::PageDown);
    assert_eq!(h.w.step(), Some(Step::Hosts));
}

#[test]
fn going_back_keeps_every_answer() {
    let mut h = Harness::new();
    h.answer(Key::Name, "lab");
    h.press(KeyCode::PageDown);
    h.answer(Key::Host(0, HostKey::Address), "127.0.1.10");
    h.press(KeyCode::Esc);
    assert_eq!(h.w.step(), Some(Step::Layout));
    h.press(KeyCode::PageDown);
    assert_eq!(h.w.draft.hosts[0].address, "127.0.1.10");
    assert_eq!(h.w.draft.name, "lab");
}

#[test]
fn choosing_compact_leaves_one_host_and_custom_lets_hosts_be_added_with_modules() {
    let mut h = Harness::new();
    h.answer(Key::Layout, "compact");
    assert_eq!(h.w.draft.hosts.len(), 1);
    h.answer(Key::Layout, "custom");
    h.press(KeyCode::PageDown);
    h.ctrl('n');
    assert_eq!(h.w.draft.hosts.len(), 2);
    assert_eq!(h.w.focused().unwrap().key, Key::Host(1, HostKey::Name));
    h.answer(Key::Host(1, HostKey::Modules), "main-db,analytics-db");
    h.ctrl('x');
    assert_eq!(h.w.draft.hosts.len(), 1);
}

#[test]
fn the_review_lists_what_is_missing_and_enter_leads_to_it() {
    let mut h = Harness::new();
    h.answer(Key::Name, "lab");
    for _ in 0..6 {
        h.press(KeyCode::PageDown);
    }
    // Hosts have no address yet: the hosts step refuses to be left.
    assert_eq!(h.w.step(), Some(Step::Hosts));
    fill_lab_ha(&mut Harness::new());
}

#[test]
fn saving_writes_the_profile_that_loads_back_identically() {
    let mut h = Harness::new();
    fill_lab_ha(&mut h);
    let review = h.w.review.clone().unwrap();
    assert_eq!(review.problems, Vec::<(String, String)>::new());
    assert!(review.toml.contains("name = \"lab\""));
    h.press(KeyCode::Enter);
    let path = h.dir.path().join("lab.toml");
    assert_eq!(h.w.saved.as_deref(), Some(path.as_path()));
    let loaded = crate::profile::load(&path).unwrap();
    assert_eq!(loaded.profile, h.w.draft.to_profile().unwrap());
    assert_eq!(loaded.profile.hosts[0].ssh.user.as_deref(), Some("centos"));
}

#[test]
fn a_new_profile_never_overwrites_an_existing_file() {
    let mut h = Harness::new();
    let path = h.dir.path().join("lab.toml");
    std::fs::write(&path, "# someone else's\n").unwrap();
    h.w = Wizard::new(h.dir.path().to_path_buf(), Vec::new());
    fill_lab_ha(&mut h);
    h.press(KeyCode::Enter);
    assert!(
        matches!(&h.w.status, Some(Status::Error(m)) if m.contains("already exists — nothing was saved"))
    );
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "# someone else's\n"
    );
}

#[test]
fn opening_a_profile_prefills_every_answer_and_shows_the_plan_before_applying() {
    let mut h = Harness::new();
    fill_lab_ha(&mut h);
    h.press(KeyCode::Enter);
    let saved = h.w.draft.clone();

    // A re-run: the first screen offers the profile.
    let mut again = Harness::in_dir(h.dir);
    assert!(matches!(&again.w.screen, Screen::Start { profiles, .. } if profiles.len() == 1));
    again.press(KeyCode::Enter);
    assert_eq!(again.w.draft.to_profile(), saved.to_profile());
    assert_eq!(again.w.step(), Some(Step::Layout));

    // Change one setting, save over the opened file, see the plan, accept it.
    for _ in 0..3 {
        again.press(KeyCode::PageDown);
    }
    again.answer(Key::ConnectionPolicy, "auto");
    for _ in 0..3 {
        again.press(KeyCode::PageDown);
    }
    again.press(KeyCode::Enter);
    assert!(again.w.saved.is_some(), "{:?}", again.w.status);
    again.press(KeyCode::Char('i'));
    assert_eq!(again.w.screen, Screen::Plan);
    let plan = again.w.plan.clone().unwrap();
    assert!(plan.finished);
    assert_eq!(plan.hosts.len(), 6);
    again.press(KeyCode::Char('y'));
    assert_eq!(
        again.outcome,
        Some(WizardOutcome {
            saved: again.w.saved.clone(),
            next: Next::Apply
        })
    );
}

#[test]
fn os_detection_fills_what_answered_and_names_hosts_it_could_not_reach() {
    let mut h = Harness::new();
    for (step, answers) in lab_ha_answers().into_iter().take(2) {
        assert_eq!(h.w.step(), Some(step));
        for (key, value) in answers {
            h.answer(key, &value);
        }
        h.press(KeyCode::PageDown);
    }
    assert_eq!(h.w.step(), Some(Step::Os));
    h.ctrl('d');
    assert!(!h.w.detecting);
    assert_eq!(h.w.draft.hosts[0].os, "ubuntu-18.04");
    assert_eq!(h.w.draft.hosts[5].os, "");
    assert!(
        matches!(&h.w.status, Some(Status::Error(m)) if m.contains("1 host(s) could not be reached"))
    );
}

#[test]
fn ctrl_c_quits_without_saving() {
    let mut h = Harness::new();
    h.ctrl('c');
    assert_eq!(
        h.outcome,
        Some(WizardOutcome {
            saved: None,
            next: Next::Quit
        })
    );
}

mod snapshots {
    use super::*;

    fn at_step(step: Step) -> Harness {
        let mut h = Harness::new();
        for (s, answers) in lab_ha_answers() {
            if s == step {
                break;
            }
            for (key, value) in answers {
                h.answer(key, &value);
            }
            h.press(KeyCode::PageDown);
        }
        h
    }

    #[test]
    fn every_step_at_80x24() {
        for step in [
            Step::Layout,
            Step::Hosts,
            Step::Os,
            Step::Network,
            Step::Package,
            Step::Ssh,
        ] {
            let h = at_step(step);
            assert_eq!(h.w.step(), Some(step));
            insta::assert_snapshot!(format!("step_{step:?}_80x24"), h.snapshot_text(80, 24));
        }
    }

    #[test]
    fn every_step_at_120x40() {
        for step in [
            Step::Layout,
            Step::Hosts,
            Step::Os,
            Step::Network,
            Step::Package,
            Step::Ssh,
        ] {
            let h = at_step(step);
            insta::assert_snapshot!(format!("step_{step:?}_120x40"), h.snapshot_text(120, 40));
        }
    }

    #[test]
    fn review_and_saved_and_plan() {
        let mut h = Harness::new();
        fill_lab_ha(&mut h);
        insta::assert_snapshot!("review_120x40", h.snapshot_text(120, 40));
        h.press(KeyCode::Enter);
        insta::assert_snapshot!("review_saved_80x24", h.snapshot_text(80, 24));
        h.press(KeyCode::Char('i'));
        insta::assert_snapshot!("plan_100x30", h.snapshot_text(100, 30));
    }

    #[test]
    fn validation_errors_show_under_the_answer() {
        let mut h = at_step(Step::Hosts);
        h.answer(Key::Host(0, HostKey::Address), "10.0.0.300");
        h.answer(Key::Host(0, HostKey::Port), "0");
        insta::assert_snapshot!("hosts_invalid_80x24", h.snapshot_text(80, 24));
        let mut h = at_step(Step::Network);
        h.answer(Key::Scheme, "https");
        h.press(KeyCode::PageDown);
        insta::assert_snapshot!("network_https_missing_files_80x24", h.snapshot_text(80, 24));
    }

    #[test]
    fn custom_layout_and_the_first_screen() {
        let mut h = Harness::new();
        h.answer(Key::Layout, "custom");
        h.press(KeyCode::PageDown);
        h.answer(Key::Host(0, HostKey::Modules), "proxy,app,session");
        h.ctrl('n');
        insta::assert_snapshot!("hosts_custom_80x24", h.snapshot_text(80, 24));
        let mut saved = Harness::new();
        fill_lab_ha(&mut saved);
        saved.press(KeyCode::Enter);
        let again = Harness::in_dir(saved.dir);
        insta::assert_snapshot!("start_80x24", again.snapshot_text(80, 24));
    }

    #[test]
    fn a_small_terminal_gets_a_message_instead_of_a_layout() {
        let h = Harness::new();
        insta::assert_snapshot!("too_small_60x20", h.snapshot_text(60, 20));
    }
}
