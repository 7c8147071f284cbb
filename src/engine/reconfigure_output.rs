//! Reads the live output of `scalr-server-ctl reconfigure` (reference §3.4): ANSI-coloured lines
//! `<description> (<action>) ... [ OK ]` / `[ SKIPPED ]` / `[ FAILED ]`, the config syntax checks,
//! "Preparing to reconfigure Scalr...", the RAM refusal and the final failure message.

use crate::engine::events::StepStatus;

/// Where the real `scalr-server-ctl` writes its full logs.
pub const INSTALLER_LOG_DIR: &str = "/opt/scalr-server/var/log/installer/";

/// What one output line means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReconfigureLine {
    /// A resource or check finished.
    Step {
        description: String,
        action: Option<String>,
        status: StepStatus,
    },
    /// The pre-checks passed and chef-solo starts.
    Preparing,
    /// The run failed; `log_dir` names where the full log is.
    Failed {
        message: String,
        log_dir: Option<String>,
    },
    /// `MemTotal` below Scalr's floor: reconfigure refuses to start.
    NotEnoughRam,
    /// Anything else (Ruby errors, warnings): kept for the log.
    Other(String),
}

/// Removes ANSI escape sequences (CSI `ESC [ … final`, OSC, and two-byte escapes) and carriage
/// returns, so colours never reach the parser or the log excerpts.
pub fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => match chars.peek() {
                Some('[') => {
                    chars.next();
                    // Parameters and intermediates, then one final byte in @..~.
                    for c in chars.by_ref() {
                        if ('@'..='~').contains(&c) {
                            break;
                        }
                    }
                }
                Some(']') => {
                    chars.next();
                    // OSC ends with BEL or ESC \.
                    while let Some(c) = chars.next() {
                        if c == '\u{7}' {
                            break;
                        }
                        if c == '\u{1b}' {
                            chars.next();
                            break;
                        }
                    }
                }
                Some(_) => {
                    chars.next();
                }
                None => {}
            },
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

pub fn parse_line(raw: &str) -> ReconfigureLine {
    let line = strip_ansi(raw);
    let text = line.trim();
    if text.starts_with("Preparing to reconfigure Scalr") {
        return ReconfigureLine::Preparing;
    }
    if text.contains("Scalr requires a minimum of") && text.contains("RAM") {
        return ReconfigureLine::NotEnoughRam;
    }
    if text.starts_with("Scalr configuration failed") {
        let log_dir = text
            .find('(')
            .and_then(|open| {
                text[open + 1..]
                    .find(')')
                    .map(|len| &text[open + 1..open + 1 + len])
            })
            .filter(|inside| inside.starts_with('/'))
            .map(str::to_string);
        return ReconfigureLine::Failed {
            message: text.to_string(),
            log_dir,
        };
    }
    for (marker, status) in [
        ("[ OK ]", StepStatus::Ok),
        ("[ SKIPPED ]", StepStatus::Skipped),
        ("[ FAILED ]", StepStatus::Failed),
    ] {
        if let Some(head) = text.strip_suffix(marker) {
            let head = head.trim_end();
            let head = head.strip_suffix("...").unwrap_or(head).trim_end();
            let (description, action) = split_action(head);
            return ReconfigureLine::Step {
                description,
                action,
                status,
            };
        }
    }
    ReconfigureLine::Other(text.to_string())
}

/// `Create directory (/opt/x) (create)` → (`Create directory (/opt/x)`, `create`): the action is
/// the last parenthesised word, and only when the description has something before it.
fn split_action(head: &str) -> (String, Option<String>) {
    if let Some(without_close) = head.strip_suffix(')') {
        if let Some(open) = without_close.rfind('(') {
            let action = &without_close[open + 1..];
            let description = without_close[..open].trim_end();
            let is_word = !action.is_empty()
                && action
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ',' || c == ' ');
            if is_word && !description.is_empty() && !action.contains(' ') {
                return (description.to_string(), Some(action.to_string()));
            }
        }
    }
    (head.to_string(), None)
}

/// Follows a reconfigure run: counts finished steps and estimates progress.
///
/// Scalr does not print a step total, so the estimate comes from the previous successful run on
/// the same host when the installer recorded one, else from [`FIRST_RUN_ESTIMATE`]. The estimate
/// never claims completion before the run has ended.
#[derive(Debug, Clone)]
pub struct ReconfigureProgress {
    expected: usize,
    done: usize,
    failed: Vec<String>,
    preparing_seen: bool,
    failure: Option<String>,
    log_dir: Option<String>,
}

/// Steps a first reconfigure of a full host prints, measured on the simulated package; only used
/// for the progress bar.
pub const FIRST_RUN_ESTIMATE: usize = 40;

impl ReconfigureProgress {
    pub fn new(expected_steps: Option<usize>) -> ReconfigureProgress {
        ReconfigureProgress {
            expected: expected_steps
                .filter(|n| *n > 0)
                .unwrap_or(FIRST_RUN_ESTIMATE),
            done: 0,
            failed: Vec::new(),
            preparing_seen: false,
            failure: None,
            log_dir: None,
        }
    }

    /// Feeds one output line; returns what it meant.
    pub fn feed(&mut self, raw: &str) -> ReconfigureLine {
        let parsed = parse_line(raw);
        match &parsed {
            ReconfigureLine::Step {
                description,
                status,
                ..
            } => {
                self.done += 1;
                if *status == StepStatus::Failed {
                    self.failed.push(description.clone());
                }
            }
            ReconfigureLine::Preparing => self.preparing_seen = true,
            ReconfigureLine::Failed { message, log_dir } => {
                self.failure = Some(message.clone());
                self.log_dir = log_dir.clone();
            }
            ReconfigureLine::NotEnoughRam => {
                self.failure = Some("Scalr refused to run: less than 4 GB RAM".into());
            }
            ReconfigureLine::Other(_) => {}
        }
        parsed
    }

    /// (done, total) for a progress bar; total grows when a run is longer than expected.
    pub fn progress(&self) -> (usize, usize) {
        (self.done, self.expected.max(self.done + 1))
    }

    pub fn steps_done(&self) -> usize {
        self.done
    }

    pub fn failed_steps(&self) -> &[String] {
        &self.failed
    }

    pub fn failure(&self) -> Option<&str> {
        self.failure.as_deref()
    }

    pub fn log_dir(&self) -> Option<&str> {
        self.log_dir.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GREEN_OK: &str = "\u{1b}[32m[ OK ]\u{1b}[0m";
    const YELLOW_SKIPPED: &str = "\u{1b}[33m[ SKIPPED ]\u{1b}[0m";
    const RED_FAILED: &str = "\u{1b}[31m[ FAILED ]\u{1b}[0m";

    fn transcript_of_a_failed_first_reconfigure() -> Vec<String> {
        vec![
            format!("Checking config file (scalr-server.rb) syntax ... {GREEN_OK}"),
            format!("Checking config file (scalr-server-local.rb) syntax ... {GREEN_OK}"),
            "Preparing to reconfigure Scalr...".to_string(),
            format!("Create directory (/opt/scalr-server/etc) (create) ... {GREEN_OK}"),
            format!("Create Scalr config file (/opt/scalr-server/etc/scalr/config.yml) (create) ... {GREEN_OK}"),
            format!("MySQL service (start) ... {YELLOW_SKIPPED}\r"),
            format!("Create main Scalr database structure (run) ... {RED_FAILED}"),
            "ERROR 2003 (HY000): Can't connect to MySQL server on '127.0.3.15' (111)".to_string(),
            "\u{1b}[31mScalr configuration failed! Please check error log (/opt/scalr-server/var/log/installer/) for more details.\u{1b}[0m".to_string(),
        ]
    }

    #[test]
    fn resource_lines_become_steps_with_description_action_and_status() {
        assert_eq!(
            parse_line(&format!(
                "Create Scalr config file (/opt/scalr-server/etc/scalr/config.yml) (create) ... {GREEN_OK}"
            )),
            ReconfigureLine::Step {
                description: "Create Scalr config file (/opt/scalr-server/etc/scalr/config.yml)"
                    .into(),
                action: Some("create".into()),
                status: StepStatus::Ok,
            }
        );
        assert_eq!(
            parse_line(&format!("  Upgrade Scalr Database (this might take a long time!) (run) ... {YELLOW_SKIPPED}")),
            ReconfigureLine::Step {
                description: "Upgrade Scalr Database (this might take a long time!)".into(),
                action: Some("run".into()),
                status: StepStatus::Skipped,
            }
        );
    }

    #[test]
    fn syntax_checks_are_steps_without_an_action() {
        assert_eq!(
            parse_line(&format!(
                "Checking config file (scalr-server.rb) syntax ... {RED_FAILED}"
            )),
            ReconfigureLine::Step {
                description: "Checking config file (scalr-server.rb) syntax".into(),
                action: None,
                status: StepStatus::Failed,
            }
        );
    }

    #[test]
    fn the_failure_line_names_the_log_directory() {
        let t = transcript_of_a_failed_first_reconfigure();
        assert_eq!(
            parse_line(t.last().unwrap()),
            ReconfigureLine::Failed {
                message: "Scalr configuration failed! Please check error log (/opt/scalr-server/var/log/installer/) for more details.".into(),
                log_dir: Some(INSTALLER_LOG_DIR.into()),
            }
        );
    }

    #[test]
    fn the_ram_refusal_is_recognised() {
        assert_eq!(
            parse_line("Scalr requires a minimum of 4GB RAM to run."),
            ReconfigureLine::NotEnoughRam
        );
    }

    #[test]
    fn progress_follows_a_transcript_and_remembers_the_failed_step() {
        let mut p = ReconfigureProgress::new(Some(10));
        let mut preparing = false;
        for line in transcript_of_a_failed_first_reconfigure() {
            if p.feed(&line) == ReconfigureLine::Preparing {
                preparing = true;
            }
        }
        assert!(preparing);
        assert_eq!(p.progress(), (6, 10));
        assert_eq!(p.failed_steps(), ["Create main Scalr database structure"]);
        assert!(p
            .failure()
            .unwrap()
            .starts_with("Scalr configuration failed"));
        assert_eq!(p.log_dir(), Some(INSTALLER_LOG_DIR));
    }

    #[test]
    fn progress_never_reaches_the_total_while_running() {
        let mut p = ReconfigureProgress::new(Some(2));
        for _ in 0..5 {
            p.feed(&format!("Step (run) ... {GREEN_OK}"));
        }
        assert_eq!(p.progress(), (5, 6));
    }

    #[test]
    fn ansi_sequences_and_carriage_returns_are_removed() {
        assert_eq!(strip_ansi("\u{1b}[1;32mgreen\u{1b}[0m\r"), "green");
        assert_eq!(strip_ansi("\u{1b}]0;title\u{7}text"), "text");
        assert_eq!(strip_ansi("plain"), "plain");
    }

    #[test]
    fn unrelated_lines_are_kept_as_other() {
        assert_eq!(
            parse_line("  * some chef warning"),
            ReconfigureLine::Other("* some chef warning".into())
        );
    }
}
