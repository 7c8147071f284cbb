//! The line-mode flow with scripted answers: same questions, same order, same profile.

use super::*;
use crate::tui::questions::HostKey;
use crate::tui::wizard::tests::{fill_lab_ha, lab_ha_answers, CannedEngine, Harness};
use std::collections::BTreeMap;

/// Answers from a script; questions it has no answer for keep their default (Enter).
struct Scripted {
    answers: BTreeMap<Key, String>,
    menus: Vec<usize>,
    asked: Vec<Key>,
    notes: Vec<String>,
}

impl Scripted {
    fn new(answers: impl IntoIterator<Item = (Key, String)>) -> Scripted {
        Scripted {
            answers: answers.into_iter().collect(),
            menus: Vec::new(),
            asked: Vec::new(),
            notes: Vec::new(),
        }
    }
}

impl Prompter for Scripted {
    fn note(&mut self, text: &str) {
        self.notes.push(text.to_string());
    }
    fn text(&mut self, q: &Question, current: &str, check: Check) -> Result<String, PromptError> {
        self.asked.push(q.key);
        let answer = self
            .answers
            .get(&q.key)
            .cloned()
            .unwrap_or(current.to_string());
        // inquire would ask again; a script cannot, so a refused answer fails the test.
        check(&answer).map_err(|m| PromptError::Io(format!("{:?} refused: {m}", q.key)))?;
        Ok(answer)
    }
    fn select(
        &mut self,
        q: &Question,
        options: &[Choice],
        current: usize,
    ) -> Result<usize, PromptError> {
        self.asked.push(q.key);
        Ok(match self.answers.get(&q.key) {
            Some(v) => options
                .iter()
                .position(|c| c.value == v)
                .expect("a listed choice"),
            None => current,
        })
    }
    fn multi_select(
        &mut self,
        q: &Question,
        options: &[Choice],
        current: &[usize],
    ) -> Result<Vec<usize>, PromptError> {
        self.asked.push(q.key);
        Ok(match self.answers.get(&q.key) {
            Some(v) => v
                .split(',')
                .map(|m| options.iter().position(|c| c.value == m).unwrap())
                .collect(),
            None => current.to_vec(),
        })
    }
    fn menu(&mut self, _: &str, _: &[String], current: usize) -> Result<usize, PromptError> {
        Ok(if self.menus.is_empty() {
            current
        } else {
            self.menus.remove(0)
        })
    }
}

fn flat_answers() -> Vec<(Key, String)> {
    lab_ha_answers().into_iter().flat_map(|(_, a)| a).collect()
}

#[test]
fn the_plain_flow_and_the_full_screen_wizard_make_the_same_profile_from_the_same_answers() {
    let mut tui = Harness::new();
    fill_lab_ha(&mut tui);
    let from_tui = tui.w.draft.to_profile().unwrap();

    let mut plain = Scripted::new(flat_answers());
    let mut draft = Draft::default();
    let from_plain = ask_all(&mut plain, &mut draft, tui.dir.path()).unwrap();
    assert_eq!(from_plain, from_tui);
    assert_eq!(profile::to_toml(&from_plain), profile::to_toml(&from_tui));

    // And in the same order: every step's questions, as the full-screen wizard lists them.
    let expected: Vec<Key> = Step::ALL
        .iter()
        .flat_map(|s| questions(&draft, *s))
        .map(|q| q.key)
        .collect();
    assert_eq!(plain.asked, expected);
}

#[test]
fn plain_mode_saves_the_profile_and_reports_what_next() {
    let h = Harness::new();
    let opts = WizardOptions {
        profiles_dir: h.dir.path().to_path_buf(),
        profile: None,
    };
    let mut p = Scripted::new(flat_answers());
    p.menus = vec![0, 1]; // Save, then Install.
    let outcome = run_plain(&opts, &mut p, &CannedEngine).unwrap();
    let path = h.dir.path().join("lab.toml");
    assert_eq!(outcome.saved.as_deref(), Some(path.as_path()));
    assert_eq!(outcome.next, Next::Apply);
    assert!(p
        .notes
        .iter()
        .any(|n| n.contains("load balancer → 127.0.1.10:80/tcp")));
    assert!(crate::profile::load(&path).is_ok());
}

#[test]
fn a_rerun_opens_the_profile_with_every_answer_prefilled() {
    let h = Harness::new();
    let opts = WizardOptions {
        profiles_dir: h.dir.path().to_path_buf(),
        profile: None,
    };
    let mut first = Scripted::new(flat_answers());
    first.menus = vec![0, 2];
    run_plain(&opts, &mut first, &CannedEngine).unwrap();
    let before = crate::profile::load(&h.dir.path().join("lab.toml"))
        .unwrap()
        .profile;

    // Open it (menu 0), change one answer only, save over it (0), quit (2).
    let mut again = Scripted::new([(Key::ConnectionPolicy, "public".to_string())]);
    again.menus = vec![0, 0, 2];
    let outcome = run_plain(&opts, &mut again, &CannedEngine).unwrap();
    let after = crate::profile::load(outcome.saved.as_deref().unwrap())
        .unwrap()
        .profile;
    assert_eq!(
        after.network.connection_policy,
        crate::profile::ConnectionPolicy::Public
    );
    let mut expected = before;
    expected.network.connection_policy = crate::profile::ConnectionPolicy::Public;
    assert_eq!(after, expected);
}

#[test]
fn a_refused_answer_carries_the_profile_rules_message() {
    let mut p = Scripted::new([(Key::Host(0, HostKey::Address), "10.0.0.300".to_string())]);
    let mut draft = Draft::default();
    let err = ask_step(&mut p, &mut draft, Step::Hosts).unwrap_err();
    assert!(err
        .to_string()
        .contains(&crate::profile::rules::address("10.0.0.300").unwrap_err()));
}
