//! What each subcommand does, returning an error that knows its exit code. No terminal drawing
//! here beyond plain lines on stdout.

use crate::cli::{Cli, Command};
use crate::engine::commands::Operation;
use crate::engine::events::ExitStatus;
use crate::profile::{self, LoadedProfile, ProfileError};
use crate::render::{self, RenderError};
use crate::state::{StateDir, StateError};
use crate::topology::Deployment;
use clap::CommandFactory;
use std::io::Write;

/// Exit codes: 0 success, 1 a failure while doing the work, 2 bad input (nothing was changed).
pub const EXIT_FAILURE: i32 = 1;
pub const EXIT_BAD_INPUT: i32 = 2;

#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("{0}")]
    Profile(#[from] ProfileError),
    #[error("{0}")]
    State(#[from] StateError),
    #[error("{0}")]
    Render(#[from] RenderError),
    #[error("{0}")]
    BadInput(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Lab(#[from] crate::lab::LabError),
    /// An engine command ran to its end with this exit code; `message` (possibly empty) is
    /// what remains to say after the engine's own summary.
    #[error("{message}")]
    Finished { code: i32, message: String },
}

impl CommandError {
    pub fn exit_code(&self) -> i32 {
        match self {
            CommandError::Finished { code, .. } => *code,
            CommandError::Profile(_) | CommandError::BadInput(_) => EXIT_BAD_INPUT,
            CommandError::Render(RenderError::Read { .. }) => EXIT_BAD_INPUT,
            CommandError::Lab(
                crate::lab::LabError::InvalidOption(_)
                | crate::lab::LabError::DirNotEmpty { .. }
                | crate::lab::LabError::LabExists { .. }
                | crate::lab::LabError::NoLab { .. }
                | crate::lab::LabError::UnknownVm { .. },
            ) => EXIT_BAD_INPUT,
            _ => EXIT_FAILURE,
        }
    }
}

pub fn run(cli: Cli) -> Result<(), CommandError> {
    let state_dir = cli.state_dir.clone();
    match cli.command {
        None => crate::app::interactive::front_door(state_dir.as_deref()),
        Some(Command::Wizard(args)) => crate::app::interactive::wizard(&args, state_dir.as_deref()),
        Some(Command::Demo(args)) => crate::app::interactive::demo(&args, state_dir.as_deref()),
        Some(Command::Validate(arg)) => {
            let loaded = profile::load(&arg.profile)?;
            let deployment = resolve(&loaded)?;
            println!(
                "{}: valid — {} layout, {} host{}",
                loaded.path.display(),
                layout_name(&loaded),
                deployment.hosts.len(),
                if deployment.hosts.len() == 1 { "" } else { "s" }
            );
            Ok(())
        }
        Some(Command::Render { profile: arg, out }) => {
            let loaded = profile::load(&arg.profile)?;
            let deployment = resolve(&loaded)?;
            let state = StateDir::resolve(state_dir.as_deref())?.deployment(&loaded.profile.name);
            let db_password = external_db_password(&loaded, &state)?;
            let secrets = state.ensure_secrets(db_password.as_deref())?;
            let license = render::read_license(&loaded)?;
            let hosts = render::render_deployment(&loaded, &deployment, &secrets, &license)?;
            let written = render::write_tree(&out, &hosts)?;
            let mut stdout = std::io::stdout().lock();
            for path in written {
                writeln!(stdout, "{}", path.display())?;
            }
            Ok(())
        }
        Some(Command::Ports { profile: arg, json }) => {
            let loaded = profile::load(&arg.profile)?;
            let deployment = resolve(&loaded)?;
            let rules = crate::ports::firewall_rules(&loaded.profile, &deployment);
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&rules).expect("rules serialise")
                );
            } else {
                print!("{}", crate::ports::format_table(&rules));
            }
            Ok(())
        }
        Some(Command::Lab(cmd)) => Ok(crate::lab::cli::run(cmd)?),
        Some(Command::Check(args)) => engine(Operation::Check, &args.common, false, state_dir),
        Some(Command::Plan(args)) => engine(Operation::Plan, &args.common, false, state_dir),
        Some(Command::Apply(args)) if args.dashboard => {
            crate::app::interactive::apply_on_dashboard(&args, state_dir.as_deref())
        }
        Some(Command::Apply(args)) => engine(Operation::Apply, &args.common, args.yes, state_dir),
        Some(Command::Status(args)) => engine(Operation::Status, &args.common, false, state_dir),
        Some(Command::Completions { shell }) => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "scalr-installer",
                &mut std::io::stdout(),
            );
            Ok(())
        }
    }
}

fn engine(
    op: Operation,
    common: &crate::engine::commands::CommonArgs,
    yes: bool,
    state_dir: Option<std::path::PathBuf>,
) -> Result<(), CommandError> {
    let exit = crate::deploy::run(op, common, yes, state_dir.as_deref())?;
    if exit == ExitStatus::Success {
        return Ok(());
    }
    Err(CommandError::Finished {
        code: exit.code(),
        message: crate::deploy::closing_message(op, exit).unwrap_or_default(),
    })
}

fn layout_name(loaded: &LoadedProfile) -> &'static str {
    match loaded.profile.layout {
        profile::Layout::Compact => "compact",
        profile::Layout::Ha => "ha",
        profile::Layout::Custom => "custom",
    }
}

/// A loaded profile has passed the layout rules already; this only hands back the result.
pub(crate) fn resolve(loaded: &LoadedProfile) -> Result<Deployment, CommandError> {
    Deployment::resolve(&loaded.profile).map_err(|errors| {
        CommandError::BadInput(
            errors
                .into_iter()
                .map(|e| format!("{}: {}: {}", loaded.path.display(), e.key, e.message))
                .collect::<Vec<_>>()
                .join("\n"),
        )
    })
}

/// With an external database, its password comes from the environment the first time and is
/// kept with the secrets afterwards.
pub(crate) fn external_db_password(
    loaded: &LoadedProfile,
    state: &crate::state::DeploymentState,
) -> Result<Option<String>, CommandError> {
    let Some(db) = &loaded.profile.database.external else {
        return Ok(None);
    };
    match std::env::var(&db.password_env) {
        Ok(p) if !p.is_empty() => Ok(Some(p)),
        _ if state.load_secrets()?.is_some() => Ok(None),
        _ => Err(CommandError::BadInput(format!(
            "{}: database.external.password_env: the external database's password is read from ${}, which is not set — \
             export {} with the password of its `scalr` user and run again",
            loaded.path.display(),
            db.password_env,
            db.password_env
        ))),
    }
}
