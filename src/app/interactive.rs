//! `wizard` (also what runs with no subcommand) and `demo`: the guided front door.
//!
//! The wizard writes a profile; what the operator chooses next (checks, install) runs on the
//! engine through [`EngineBackend`] and is shown on the live dashboard — or, in line mode, with
//! the headless commands' own output.

use crate::app::EngineBackend;
use crate::commands::CommandError;
use crate::engine::commands::{CommonArgs, Operation};
use crate::engine::events::ExitStatus;
use crate::lab::{Fleet, LabLayout, LabOptions};
use crate::profile::{self, LoadedProfile};
use crate::prompt::{self, PromptError};
use crate::state::StateDir;
use crate::tui::dashboard::{run_dashboard, DashboardExit, DashboardState};
use crate::tui::terminal::{has_terminal, TerminalError};
use crate::tui::{Next, WizardOptions, WizardOutcome};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Exit code for an operator's Ctrl-C (as `apply`).
pub const EXIT_INTERRUPTED: i32 = 130;

/// `wizard`: create or change a profile, then check or install it.
#[derive(Debug, Clone, clap::Args)]
pub struct WizardArgs {
    /// Open this profile to change it (answers are pre-filled)
    #[arg(long, value_name = "FILE")]
    pub profile: Option<PathBuf>,
    /// Ask the questions as plain line prompts (serial consoles, screen readers, narrow terminals)
    #[arg(long)]
    pub plain: bool,
    /// Where profiles are read from and saved to
    #[arg(long, value_name = "DIR", default_value = "profiles")]
    pub profiles_dir: PathBuf,
}

impl Default for WizardArgs {
    fn default() -> Self {
        WizardArgs {
            profile: None,
            plain: false,
            profiles_dir: PathBuf::from("profiles"),
        }
    }
}

/// `demo`: a lab fleet on this machine, the wizard pre-filled for it, and an install.
#[derive(Debug, Clone, clap::Args)]
pub struct DemoArgs {
    /// Run headless end to end without asking anything, then tear the lab down
    #[arg(long)]
    pub yes: bool,
    /// Keep the lab running at the end (with --yes, or without a terminal)
    #[arg(long)]
    pub keep: bool,
}

fn interrupted() -> CommandError {
    CommandError::Finished {
        code: EXIT_INTERRUPTED,
        message: "interrupted — nothing was saved".into(),
    }
}

fn prompt_error(e: PromptError) -> CommandError {
    match e {
        PromptError::Interrupted => interrupted(),
        PromptError::NoTerminal => CommandError::BadInput(e.to_string()),
        PromptError::Io(_) => CommandError::Finished {
            code: crate::commands::EXIT_FAILURE,
            message: e.to_string(),
        },
    }
}

fn terminal_error(e: TerminalError) -> CommandError {
    match e {
        TerminalError::NotATerminal => CommandError::BadInput(e.to_string()),
        TerminalError::Io(_) => CommandError::Finished {
            code: crate::commands::EXIT_FAILURE,
            message: e.to_string(),
        },
    }
}

fn no_terminal() -> CommandError {
    CommandError::BadInput(
        "no terminal: the wizard needs one to ask its questions — run it in a terminal, or \
         install headless with `scalr-installer apply --profile PROFILE --yes`"
            .into(),
    )
}

/// `scalr-installer wizard` (and `scalr-installer` alone).
pub fn wizard(args: &WizardArgs, state_dir: Option<&Path>) -> Result<(), CommandError> {
    if !has_terminal() {
        return Err(no_terminal());
    }
    let backend = Arc::new(EngineBackend::new(
        state_dir.map(Path::to_path_buf),
        args.profiles_dir.clone(),
    ));
    guided(args, state_dir, backend)
}

/// `apply --dashboard`: the headless command's plan and question, then the live dashboard.
pub fn apply_on_dashboard(
    args: &crate::engine::commands::ApplyArgs,
    state_dir: Option<&Path>,
) -> Result<(), CommandError> {
    if !has_terminal() {
        return Err(CommandError::BadInput(
            "no terminal: --dashboard draws the run full-screen; without a terminal leave it out \
             (progress lines) or add --json"
                .into(),
        ));
    }
    let loaded = profile::load(&args.common.profile)?;
    if !args.yes {
        let planned = crate::deploy::run(Operation::Plan, &args.common, false, state_dir)?;
        if planned != ExitStatus::Success {
            return finished(planned, Operation::Plan);
        }
        if !crate::engine::commands::confirm_apply() {
            return Ok(());
        }
    }
    let mut backend =
        EngineBackend::new(state_dir.map(Path::to_path_buf), PathBuf::from("profiles"));
    backend.concurrency = args.common.concurrency;
    backend.ask_secrets(&loaded, true)?;
    follow(Operation::Apply, &loaded, &backend)
}

/// The wizard, then what the operator chose.
fn guided(
    args: &WizardArgs,
    state_dir: Option<&Path>,
    backend: Arc<EngineBackend>,
) -> Result<(), CommandError> {
    let opts = WizardOptions {
        profiles_dir: args.profiles_dir.clone(),
        profile: args.profile.clone(),
    };
    let outcome: WizardOutcome = if args.plain {
        let mut prompter =
            prompt::inquire_prompter::InquirePrompter::new().map_err(prompt_error)?;
        prompt::run_plain(&opts, &mut prompter, backend.as_ref()).map_err(prompt_error)?
    } else {
        crate::tui::run_wizard(&opts, backend.clone()).map_err(terminal_error)?
    };
    let (Some(path), next) = (outcome.saved, outcome.next) else {
        return Ok(());
    };
    let op = match next {
        Next::Quit => {
            println!("Saved {}.", path.display());
            println!(
                "Next: `scalr-installer check --profile {0}`, then `scalr-installer apply --profile {0}`.",
                path.display()
            );
            return Ok(());
        }
        Next::Check => Operation::Check,
        Next::Apply => Operation::Apply,
    };
    if args.plain {
        // Line mode stays line mode: the headless commands' output, and `apply` shows the plan
        // and asks before changing anything.
        return headless(op, &path, false, state_dir);
    }
    let loaded = profile::load(&path)?;
    backend.ask_secrets(&loaded, true)?;
    follow(op, &loaded, &backend)
}

/// The dashboard over one engine run; the exit status is the run's.
fn follow(
    op: Operation,
    loaded: &LoadedProfile,
    backend: &EngineBackend,
) -> Result<(), CommandError> {
    use crate::tui::Backend as _;
    let events = match op {
        Operation::Check => backend.check(loaded),
        _ => backend.apply(loaded, None),
    };
    let state = DashboardState::for_profile(&loaded.path.display().to_string(), &loaded.profile);
    let mut retry = |hosts: Vec<String>| backend.apply(loaded, Some(hosts));
    let exit = run_dashboard(events, state, &mut retry).map_err(terminal_error)?;
    match exit {
        DashboardExit::Finished(summary) => {
            eprint!("{}", crate::views::text::summary(&summary));
            finished(summary.exit, op)
        }
        DashboardExit::Left { still_running } => {
            backend.cancel();
            if still_running {
                Err(CommandError::Finished {
                    code: EXIT_INTERRUPTED,
                    message: format!(
                        "left the dashboard: steps already running on the hosts continue there; \
                         `scalr-installer apply --profile {}` reattaches and finishes the install",
                        loaded.path.display()
                    ),
                })
            } else {
                Ok(())
            }
        }
    }
}

fn finished(exit: ExitStatus, op: Operation) -> Result<(), CommandError> {
    if exit == ExitStatus::Success {
        return Ok(());
    }
    Err(CommandError::Finished {
        code: exit.code(),
        message: crate::deploy::closing_message(op, exit).unwrap_or_default(),
    })
}

fn headless(
    op: Operation,
    profile: &Path,
    yes: bool,
    state_dir: Option<&Path>,
) -> Result<(), CommandError> {
    let common = CommonArgs {
        profile: profile.to_path_buf(),
        json: false,
        concurrency: 0,
    };
    let exit = crate::deploy::run(op, &common, yes, state_dir)?;
    finished(exit, op)
}

/// What `demo` prints first, so nobody mistakes the lab for a real install.
pub const DEMO_NOTICE: &str = "\
This is a demo on this machine: six sandbox VMs (real OpenSSH servers on 127.0.x.x addresses,
mixed operating systems) in the HA layout. The Scalr package they install is the lab's
simulator — it behaves like Scalr Server's package (repository, install, reconfigure output,
services, ports) but is not Scalr. Nothing leaves this machine.";

/// `scalr-installer demo`.
pub fn demo(args: &DemoArgs, state_dir: Option<&Path>) -> Result<(), CommandError> {
    crate::lab::fleet::lab_available().map_err(|reason| {
        CommandError::BadInput(format!(
            "the demo cannot start its lab here: {reason} — run `sudo scalr-installer demo`"
        ))
    })?;
    let home = std::path::absolute(StateDir::resolve(state_dir)?.root().join("demo"))?;
    let lab_dir = home.join("lab");
    let profiles_dir = home.join("profiles");
    eprintln!("{DEMO_NOTICE}\n");
    let reused = lab_dir.join("lab.json").exists();
    let fleet = if reused {
        eprintln!("Reusing the demo lab in {}.", lab_dir.display());
        Fleet::open(&lab_dir)?
    } else {
        eprintln!("Starting the demo lab in {} …", lab_dir.display());
        std::fs::create_dir_all(&home)?;
        Fleet::up(&LabOptions::new(&lab_dir, LabLayout::Ha))?
    };
    // The lab's fake packagecloud accepts only its own token; every run below reads it from
    // the variable the lab's profile names.
    std::env::set_var(
        crate::profile::model::default_token_env(),
        fleet.packagecloud_token()?,
    );
    let profile = lab_profile_copy(&fleet, &profiles_dir, !reused)?;
    let interactive = has_terminal() && !args.yes;
    let result = if interactive {
        let backend = Arc::new(EngineBackend::new(
            state_dir.map(Path::to_path_buf),
            profiles_dir.clone(),
        ));
        let wizard = WizardArgs {
            profile: Some(profile.clone()),
            plain: false,
            profiles_dir: profiles_dir.clone(),
        };
        guided(&wizard, state_dir, backend)
    } else {
        eprintln!(
            "Installing {} headless (no questions asked) …",
            profile.display()
        );
        headless(Operation::Apply, &profile, true, state_dir)
    };
    let tear_down = if interactive {
        ask_tear_down(&lab_dir)
    } else {
        !args.keep
    };
    if tear_down {
        eprintln!("Tearing the demo lab down …");
        fleet.down()?;
        eprintln!("The demo lab is gone.");
    } else {
        let _ = fleet.detach();
        eprintln!(
            "The demo lab keeps running in {0}. `sudo scalr-installer demo` reopens it; \
             `sudo scalr-installer lab down --dir {0}` removes it.",
            lab_dir.display()
        );
    }
    result
}

/// The lab's profile, copied where the wizard keeps profiles (absolute paths inside, so it
/// works from there). A reused lab keeps the copy the operator may have changed.
fn lab_profile_copy(
    fleet: &Fleet,
    profiles_dir: &Path,
    fresh: bool,
) -> Result<PathBuf, CommandError> {
    let loaded = profile::load(&fleet.profile_path())?;
    std::fs::create_dir_all(profiles_dir)?;
    let path = profiles_dir.join(format!("{}.toml", loaded.profile.name));
    if fresh || !path.exists() {
        std::fs::copy(fleet.profile_path(), &path)?;
    }
    Ok(path)
}

fn ask_tear_down(lab_dir: &Path) -> bool {
    inquire::Confirm::new(&format!(
        "Tear the demo lab down? (No keeps it in {} for another look)",
        lab_dir.display()
    ))
    .with_default(true)
    .prompt()
    .unwrap_or(true)
}

/// `scalr-installer` with no subcommand: the wizard on a terminal, else a pointer to headless use.
pub fn front_door(state_dir: Option<&Path>) -> Result<(), CommandError> {
    if !has_terminal() {
        return Err(CommandError::BadInput(
            "no terminal: `scalr-installer` alone opens the wizard, which needs one — \
             install headless with `scalr-installer apply --profile PROFILE --yes`, \
             or see `scalr-installer --help`"
                .into(),
        ));
    }
    wizard(&WizardArgs::default(), state_dir)
}
