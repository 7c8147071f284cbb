//! `check`, `plan`, `apply` and `status` from the command line: the loaded profile, the
//! deployment's secrets and the SSH settings bound to the engine, then handed to
//! [`engine::commands::run`](crate::engine::commands::run).
//!
//! Everything that can be wrong without contacting a host (the profile, the licence file, a
//! missing token, a bad `~/.ssh/config`) is reported here, with exit 2, before any connection.
//! Secrets the operator supplies come from the environment, or are asked for once on a terminal;
//! they are never stored.

use crate::commands::CommandError;
use crate::engine::bind::{self, ProfileRenderer};
use crate::engine::commands::{self, CommonArgs, Deployment, Operation};
use crate::engine::events::ExitStatus;
use crate::engine::phases::Timeouts;
use crate::engine::ssh_remote::SshConnector;
use crate::profile::model::SudoMode;
use crate::profile::{self, LoadedProfile, PackageSpec};
use crate::ssh::{Secret, SshConfig, StaticCredentials};
use crate::state::StateDir;
use std::io::IsTerminal;
use std::path::Path;
use std::sync::Arc;

pub const KEY_PASSPHRASE_ENV: &str = "SCALR_SSH_KEY_PASSPHRASE";
pub const LOGIN_PASSWORD_ENV: &str = "SCALR_SSH_PASSWORD";
pub const SUDO_PASSWORD_ENV: &str = "SCALR_SUDO_PASSWORD";

/// Runs one engine command for the profile in `common` and returns its exit status.
pub fn run(
    op: Operation,
    common: &CommonArgs,
    yes: bool,
    state_dir: Option<&Path>,
) -> Result<ExitStatus, CommandError> {
    let loaded = profile::load(&common.profile)?;
    let deployment = crate::commands::resolve(&loaded)?;
    let state = StateDir::resolve(state_dir)?.deployment(&loaded.profile.name);
    let license = crate::render::read_license(&loaded)?;
    let database_password = crate::commands::external_db_password(&loaded, &state)?;

    let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    let token = packagecloud_token(&loaded, interactive)?;
    let credentials = credentials(&loaded, interactive)?;
    let ssh_config = SshConfig::load_user_default().map_err(|e| {
        CommandError::BadInput(format!(
            "{e}; fix ~/.ssh/config (or the file it includes), then run again"
        ))
    })?;

    let mut secrets: Vec<String> = [
        &credentials.key_passphrase,
        &credentials.login_password,
        &credentials.sudo_password,
    ]
    .into_iter()
    .flatten()
    .map(|s| s.expose().to_string())
    .collect();
    secrets.extend(database_password.clone());
    let desired = bind::desired(&loaded, &deployment, token)
        .map_err(|e| CommandError::BadInput(e.to_string()))?;
    let connector = SshConnector::from_profile(&loaded, &ssh_config, Arc::new(credentials))
        .map_err(|e| CommandError::BadInput(e.to_string()))?;
    let renderer = ProfileRenderer {
        loaded: &loaded,
        deployment: &deployment,
        state: &state,
        license,
        database_password,
    };
    std::fs::create_dir_all(state.dir()).map_err(|e| {
        CommandError::BadInput(format!(
            "cannot create the state directory {}: {e}; choose another with --state-dir",
            state.dir().display()
        ))
    })?;
    Ok(commands::run(
        op,
        &Deployment {
            desired: &desired,
            renderer: &renderer,
            connector: &connector,
            state_dir: state.dir(),
            secrets,
            timeouts: Timeouts::from_profile(&loaded.profile.ssh),
        },
        common,
        yes,
    ))
}

/// What to tell the operator on stderr after the engine's own summary, by exit status.
pub fn closing_message(op: Operation, exit: ExitStatus) -> Option<String> {
    let name = match op {
        Operation::Check => "check",
        Operation::Plan => "plan",
        Operation::Apply => "apply",
        Operation::Status => "status",
    };
    match exit {
        ExitStatus::Success | ExitStatus::BadInput => None,
        ExitStatus::HostFailed => Some(format!(
            "{name}: some hosts failed (the summary above says which and why); fix the cause and run `{name}` again"
        )),
        ExitStatus::PreflightBlocked => Some(format!(
            "{name}: stopped before changing anything; fix what is reported above and run `{name}` again"
        )),
        ExitStatus::Interrupted => Some(format!(
            "{name}: interrupted; steps already running on hosts keep running there — run `{name}` again once they finish"
        )),
    }
}

/// The packagecloud token: from the variable the profile names, else asked once on a terminal.
pub(crate) fn packagecloud_token(
    loaded: &LoadedProfile,
    interactive: bool,
) -> Result<Option<String>, CommandError> {
    let PackageSpec::Packagecloud { token_env, .. } = &loaded.profile.package else {
        return Ok(None);
    };
    if let Some(token) = std::env::var(token_env).ok().filter(|t| !t.is_empty()) {
        return Ok(Some(token));
    }
    if !interactive {
        return Ok(None);
    }
    ask_secret(&format!(
        "packagecloud download token (set {token_env} to skip this question):"
    ))
    .map(|s| s.map(|s| s.expose().to_string()))
}

/// Passphrase, login and sudo passwords: the environment first; on a terminal, the ones the
/// profile will need are asked for once, up front, before any progress display starts.
pub(crate) fn credentials(
    loaded: &LoadedProfile,
    interactive: bool,
) -> Result<StaticCredentials, CommandError> {
    let env = |var: &str| {
        std::env::var(var)
            .ok()
            .filter(|v| !v.is_empty())
            .map(Secret::new)
    };
    let mut creds = StaticCredentials {
        key_passphrase: env(KEY_PASSPHRASE_ENV),
        login_password: env(LOGIN_PASSWORD_ENV),
        sudo_password: env(SUDO_PASSWORD_ENV),
    };
    if !interactive {
        return Ok(creds);
    }
    if creds.key_passphrase.is_none() {
        let encrypted = loaded.profile.hosts.iter().find_map(|h| {
            let key = loaded.ssh_key_path(h)?;
            let text = std::fs::read_to_string(&key).ok()?;
            crate::ssh::auth::key_is_encrypted(&text).then_some(key)
        });
        if let Some(key) = encrypted {
            creds.key_passphrase = ask_secret(&format!("passphrase for {}:", key.display()))?;
        }
    }
    let sudo_with_password = loaded
        .profile
        .hosts
        .iter()
        .any(|h| h.ssh.sudo.unwrap_or(loaded.profile.ssh.sudo) == SudoMode::Password);
    if creds.sudo_password.is_none() && sudo_with_password {
        creds.sudo_password = ask_secret(&format!(
            "sudo password for {} (set {SUDO_PASSWORD_ENV} to skip this question):",
            loaded.profile.ssh.user
        ))?;
    }
    Ok(creds)
}

fn ask_secret(prompt: &str) -> Result<Option<Secret>, CommandError> {
    match inquire::Password::new(prompt)
        .without_confirmation()
        .with_display_mode(inquire::PasswordDisplayMode::Hidden)
        .prompt()
    {
        Ok(v) if v.is_empty() => Ok(None),
        Ok(v) => Ok(Some(Secret::new(v))),
        Err(inquire::InquireError::OperationCanceled)
        | Err(inquire::InquireError::OperationInterrupted) => Err(CommandError::BadInput(
            "cancelled at the prompt; nothing was changed".into(),
        )),
        Err(e) => Err(CommandError::BadInput(format!(
            "cannot ask for a secret on this terminal ({e}); set it in the environment instead"
        ))),
    }
}
