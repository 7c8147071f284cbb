//! `wizard --plain`: the wizard's questions as line prompts, for serial consoles, screen readers
//! and narrow terminals.
//!
//! The questions, their order, their validators and the profile they build are the full-screen
//! wizard's own ([`crate::tui::questions`]); only the way they are asked differs. Prompts go
//! through the [`Prompter`] trait, so the flow is tested with scripted answers and runs with
//! inquire ([`InquirePrompter`]) for real.

pub mod inquire_prompter;

pub use inquire_prompter::InquirePrompter;

use crate::profile::{self, Layout};
use crate::tui::backend::Backend;
use crate::tui::questions::{questions, validate, Choice, Draft, Key, Kind, Question, Step};
use crate::tui::wizard::execute::{open, save};
use crate::tui::wizard::{Next, WizardOutcome};
use crate::tui::{existing_profiles, WizardOptions};
use std::sync::Arc;

/// Checks a typed answer; the same rule the full-screen wizard applies.
pub type Check = Arc<dyn Fn(&str) -> Result<(), String> + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub enum PromptError {
    #[error(
        "no terminal: the line-mode wizard needs one to ask its questions — run it in a terminal, \
         or install headless with `scalr-installer apply --profile PROFILE`"
    )]
    NoTerminal,
    #[error("interrupted — nothing was saved")]
    Interrupted,
    #[error("the terminal failed: {0} — run `scalr-installer wizard --plain` again")]
    Io(String),
}

/// How questions reach the operator.
pub trait Prompter {
    /// Prints a line of context (a step title, a problem, the profile).
    fn note(&mut self, text: &str);
    fn text(&mut self, q: &Question, current: &str, check: Check) -> Result<String, PromptError>;
    /// Returns the index of the chosen option.
    fn select(
        &mut self,
        q: &Question,
        options: &[Choice],
        current: usize,
    ) -> Result<usize, PromptError>;
    fn multi_select(
        &mut self,
        q: &Question,
        options: &[Choice],
        current: &[usize],
    ) -> Result<Vec<usize>, PromptError>;
    /// A menu that is not a profile answer (open a profile, what to do next, host count).
    fn menu(
        &mut self,
        text: &str,
        options: &[String],
        current: usize,
    ) -> Result<usize, PromptError>;
}

/// Asks one question and records the answer in the draft.
fn ask(p: &mut dyn Prompter, d: &mut Draft, q: &Question) -> Result<(), PromptError> {
    let current = d.get(q.key).to_string();
    let value = match &q.kind {
        Kind::Text { .. } => {
            let base = d.clone();
            let key = q.key;
            let check: Check = Arc::new(move |s: &str| {
                let mut d = base.clone();
                d.set(key, s.to_string());
                validate(&d, key)
            });
            p.text(q, &current, check)?
        }
        Kind::Choice(options) => {
            let at = options.iter().position(|c| c.value == current).unwrap_or(0);
            options[p.select(q, options, at)?].value.to_string()
        }
        Kind::Multi(options) => {
            let on: Vec<usize> = options
                .iter()
                .enumerate()
                .filter(|(_, c)| current.split(',').any(|v| v.trim() == c.value))
                .map(|(i, _)| i)
                .collect();
            let picked = p.multi_select(q, options, &on)?;
            options
                .iter()
                .enumerate()
                .filter(|(i, _)| picked.contains(i))
                .map(|(_, c)| c.value)
                .collect::<Vec<_>>()
                .join(",")
        }
    };
    d.set(q.key, value);
    Ok(())
}

/// Asks every question of a step, in the full-screen wizard's order. The list is recomputed
/// after each answer, because some answers decide which questions follow (https → TLS files).
pub fn ask_step(p: &mut dyn Prompter, d: &mut Draft, step: Step) -> Result<(), PromptError> {
    p.note(&format!(
        "── Step {} of {}: {} ──",
        step.index() + 1,
        Step::ALL.len(),
        step.title()
    ));
    if step == Step::Hosts && d.layout() == Layout::Custom {
        let options: Vec<String> = (1..=8).map(|n| n.to_string()).collect();
        let count = p.menu("How many hosts?", &options, d.hosts.len().clamp(1, 8) - 1)? + 1;
        d.hosts.truncate(count);
        while d.hosts.len() < count {
            d.add_host();
        }
    }
    let mut i = 0;
    while let Some(q) = questions(d, step).into_iter().nth(i) {
        ask(p, d, &q)?;
        i += 1;
    }
    Ok(())
}

/// Asks all steps, then reviews until the profile is valid as a whole (layout rules, files).
pub fn ask_all(
    p: &mut dyn Prompter,
    d: &mut Draft,
    profiles_dir: &std::path::Path,
) -> Result<profile::Profile, PromptError> {
    for step in Step::ALL.iter().filter(|s| **s != Step::Review) {
        ask_step(p, d, *step)?;
    }
    loop {
        let profile = match d.to_profile() {
            Ok(p) => p,
            Err(errors) => {
                // Unreachable through `ask`, which validates every answer; kept for safety.
                let (key, message) = &errors[0];
                p.note(&format!("{key:?}: {message}"));
                ask_step(p, d, step_of(d, *key))?;
                continue;
            }
        };
        let problems = profile::validate::check(&profile, Some(profiles_dir));
        if problems.is_empty() {
            return Ok(profile);
        }
        p.note("The profile is not valid yet:");
        for (key, message) in &problems {
            p.note(&format!("  ✗ {key}: {message}"));
        }
        let step = crate::tui::questions::step_of_profile_key(&problems[0].0);
        let step = if step == Step::Review {
            Step::Hosts
        } else {
            step
        };
        p.note(&format!(
            "Back to step {}: {}",
            step.index() + 1,
            step.title()
        ));
        ask_step(p, d, step)?;
    }
}

fn step_of(d: &Draft, key: Key) -> Step {
    Step::ALL
        .iter()
        .copied()
        .find(|s| questions(d, *s).iter().any(|q| q.key == key))
        .unwrap_or(Step::Layout)
}

/// The whole line-mode wizard: open or start a profile, ask, review, save, choose what next.
pub fn run_plain(
    opts: &WizardOptions,
    p: &mut dyn Prompter,
    backend: &dyn Backend,
) -> Result<WizardOutcome, PromptError> {
    let mut opened = opts.profile.clone();
    if opened.is_none() {
        let found = existing_profiles(&opts.profiles_dir);
        if !found.is_empty() {
            let mut options: Vec<String> = found
                .iter()
                .map(|f| format!("Open {}", f.display()))
                .collect();
            options.push("Start a new profile".into());
            let at = p.menu("Profiles found — open one to change it?", &options, 0)?;
            opened = found.get(at).cloned();
        }
    }
    let mut draft = Draft::default();
    if let Some(path) = &opened {
        match open(path) {
            Ok((profile, problem)) => {
                draft = Draft::from_profile(&profile);
                p.note(&format!(
                    "Opened {}: answers are pre-filled.",
                    path.display()
                ));
                if let Some(problem) = problem {
                    p.note(&format!("It does not validate yet: {problem}"));
                }
            }
            Err(e) => {
                p.note(&e);
                opened = None;
            }
        }
    }
    loop {
        let profile = ask_all(p, &mut draft, &opts.profiles_dir)?;
        let target = match &opened {
            Some(o) if o.file_stem().and_then(|s| s.to_str()) == Some(profile.name.as_str()) => {
                o.clone()
            }
            _ => opts.profiles_dir.join(format!("{}.toml", profile.name)),
        };
        p.note("── Review ──");
        p.note("Firewall rules this deployment needs (scalr-installer ports):");
        match backend.firewall_rules(&profile) {
            Ok(rules) => rules.iter().for_each(|r| p.note(&format!("  {r}"))),
            Err(e) => p.note(&format!("  ({e})")),
        }
        p.note(&format!(
            "The profile that will be saved ({}):",
            target.display()
        ));
        p.note(&profile::to_toml(&profile));
        let choice = p.menu(
            "Save it?",
            &[
                "Save".into(),
                "Change answers".into(),
                "Quit without saving".into(),
            ],
            0,
        )?;
        match choice {
            1 => continue,
            2 => {
                return Ok(WizardOutcome {
                    saved: None,
                    next: Next::Quit,
                })
            }
            _ => {}
        }
        let overwrite = opened.as_deref() == Some(target.as_path());
        match save(&target, &profile, overwrite, &opts.profiles_dir) {
            Ok(path) => {
                p.note(&format!("Saved {}", path.display()));
                let next = p.menu(
                    "What next?",
                    &[
                        "Run the checks".into(),
                        "Install (the plan is shown before anything changes)".into(),
                        "Quit".into(),
                    ],
                    0,
                )?;
                return Ok(WizardOutcome {
                    saved: Some(path),
                    next: [Next::Check, Next::Apply, Next::Quit][next],
                });
            }
            Err(e) => p.note(&e),
        }
    }
}

#[cfg(test)]
mod tests;
