//! The real prompts, with inquire. Its output goes to stderr and it reads the terminal, so this
//! is only used when there is one ([`InquirePrompter::new`] checks).

use super::{Check, PromptError, Prompter};
use crate::tui::questions::{Choice, Question};
use inquire::validator::Validation;
use inquire::InquireError;
use std::io::IsTerminal;

pub struct InquirePrompter(());

impl InquirePrompter {
    /// Refuses without a terminal, pointing to headless `apply --profile`.
    pub fn new() -> Result<InquirePrompter, PromptError> {
        if std::io::stdin().is_terminal() && std::io::stderr().is_terminal() {
            Ok(InquirePrompter(()))
        } else {
            Err(PromptError::NoTerminal)
        }
    }
}

fn map(e: InquireError) -> PromptError {
    match e {
        InquireError::NotTTY => PromptError::NoTerminal,
        InquireError::OperationCanceled | InquireError::OperationInterrupted => {
            PromptError::Interrupted
        }
        other => PromptError::Io(other.to_string()),
    }
}

fn labels(options: &[Choice]) -> Vec<String> {
    options.iter().map(|c| c.label.to_string()).collect()
}

impl Prompter for InquirePrompter {
    fn note(&mut self, text: &str) {
        eprintln!("{text}");
    }

    fn text(&mut self, q: &Question, current: &str, check: Check) -> Result<String, PromptError> {
        let validator = move |s: &str| {
            Ok(match check(s.trim()) {
                Ok(()) => Validation::Valid,
                Err(m) => Validation::Invalid(m.into()),
            })
        };
        inquire::Text::new(&format!("{}:", q.label))
            .with_help_message(q.help)
            .with_initial_value(current)
            .with_validator(validator)
            .prompt()
            .map(|s| s.trim().to_string())
            .map_err(map)
    }

    fn select(
        &mut self,
        q: &Question,
        options: &[Choice],
        current: usize,
    ) -> Result<usize, PromptError> {
        inquire::Select::new(&format!("{}:", q.label), labels(options))
            .with_help_message(q.help)
            .with_starting_cursor(current)
            .raw_prompt()
            .map(|o| o.index)
            .map_err(map)
    }

    fn multi_select(
        &mut self,
        q: &Question,
        options: &[Choice],
        current: &[usize],
    ) -> Result<Vec<usize>, PromptError> {
        inquire::MultiSelect::new(&format!("{}:", q.label), labels(options))
            .with_help_message(q.help)
            .with_default(current)
            .with_validator(|picked: &[inquire::list_option::ListOption<&String>]| {
                Ok(if picked.is_empty() {
                    Validation::Invalid("select at least one module with Space".into())
                } else {
                    Validation::Valid
                })
            })
            .raw_prompt()
            .map(|v| v.into_iter().map(|o| o.index).collect())
            .map_err(map)
    }

    fn menu(
        &mut self,
        text: &str,
        options: &[String],
        current: usize,
    ) -> Result<usize, PromptError> {
        inquire::Select::new(text, options.to_vec())
            .with_starting_cursor(current)
            .raw_prompt()
            .map(|o| o.index)
            .map_err(map)
    }
}
