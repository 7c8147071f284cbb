//! The engine's [`Connector`] and [`Remote`] over the `ssh` module: one verified, authenticated
//! [`HostSession`] per host, re-opened on demand after a dropped connection.
//!
//! Only this file translates between the two worlds. SSH failures become engine errors by one
//! rule: whatever can heal by itself (a refused or dropped connection, a timeout) is retryable;
//! a host key, login, sudo or command problem never is.

use crate::engine::remote::{
    Connector, ErrorKind, Output, Remote, RemoteCommand, RemoteError, UploadDir, UploadFile,
    Uploaded,
};
use crate::profile::model::HostKeyPolicy;
use crate::profile::LoadedProfile;
use crate::ssh::{self, Credentials, HostSession, SshConfig, SshError, SshErrorKind, Target};
use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::sync::{Arc, Mutex};

/// Connects to the hosts of one profile.
pub struct SshConnector {
    targets: BTreeMap<String, Target>,
    policy: HostKeyPolicy,
    credentials: Arc<dyn Credentials>,
}

impl SshConnector {
    /// Resolves every host of the profile against `config` (`~/.ssh/config`) once, so a bad
    /// setting is reported before any connection is made.
    pub fn from_profile(
        loaded: &LoadedProfile,
        config: &SshConfig,
        credentials: Arc<dyn Credentials>,
    ) -> Result<SshConnector, SshError> {
        let targets = loaded
            .profile
            .hosts
            .iter()
            .map(|host| {
                Target::from_profile(&loaded.profile.ssh, host, config, &loaded.dir)
                    .map(|t| (host.name.clone(), t))
            })
            .collect::<Result<_, _>>()?;
        Ok(SshConnector {
            targets,
            policy: loaded.profile.ssh.host_key_policy.clone(),
            credentials,
        })
    }

    /// The resolved target of `host`, e.g. to show where a run connects.
    pub fn target(&self, host: &str) -> Option<&Target> {
        self.targets.get(host)
    }
}

impl Connector for SshConnector {
    fn connect(&self, host: &str) -> Result<Box<dyn Remote>, RemoteError> {
        let target = self.targets.get(host).ok_or_else(|| {
            RemoteError::fatal(format!(
                "{host}: not a host of this profile; add it under [[hosts]] or check the name"
            ))
        })?;
        let session = HostSession::connect(target, &self.policy, self.credentials.as_ref())
            .map_err(|e| connect_error(&e))?;
        if let ssh::HostKeyVerdict::Recorded { file } = &session.host_key().verdict {
            tracing::info!(
                host,
                fingerprint = session.fingerprint(),
                file = %file.display(),
                "new host key accepted and recorded"
            );
        }
        Ok(Box::new(SshRemote {
            target: target.clone(),
            policy: self.policy.clone(),
            credentials: self.credentials.clone(),
            session: Mutex::new(Some(session)),
        }))
    }
}

/// One host's connection. The engine owns it on the host's worker thread; the mutex only
/// provides the `&self` interface the engine's trait asks for.
pub struct SshRemote {
    target: Target,
    policy: HostKeyPolicy,
    credentials: Arc<dyn Credentials>,
    /// `None` after a failed reconnect: every call says so until a reconnect succeeds.
    session: Mutex<Option<HostSession>>,
}

impl SshRemote {
    fn with_session<T>(
        &self,
        op: impl FnOnce(&mut HostSession) -> Result<T, SshError>,
    ) -> Result<T, RemoteError> {
        let mut guard = self.session.lock().unwrap_or_else(|p| p.into_inner());
        let session = guard.as_mut().ok_or_else(|| {
            RemoteError::timeout(format!(
                "{}: the connection was lost and is not re-established yet",
                self.target.name
            ))
        })?;
        op(session).map_err(|e| session_error(&e))
    }
}

impl Remote for SshRemote {
    fn run_until(
        &self,
        cmd: &RemoteCommand,
        on_line: &mut dyn FnMut(&str) -> ControlFlow<()>,
    ) -> Result<Output, RemoteError> {
        let mut ssh_cmd =
            ssh::RemoteCommand::new(label_of(&cmd.script), cmd.script.clone()).timeout(cmd.timeout);
        if let Some(stdin) = &cmd.stdin {
            ssh_cmd = ssh_cmd.stdin(stdin.clone());
        }
        if !cmd.sudo {
            ssh_cmd = ssh_cmd.as_login_user();
        }
        let out = self.with_session(|s| {
            s.run_until(&ssh_cmd, &mut |line| match line.stream {
                ssh::Stream::Stdout => on_line(line.text),
                ssh::Stream::Stderr => ControlFlow::Continue(()),
            })
        });
        // The copy may hold a secret (a password on stdin): wipe it now, not whenever.
        ssh_cmd.stdin.iter_mut().for_each(|b| *b = 0);
        Ok(output_of(out?))
    }

    fn upload(&self, path: &str, contents: &[u8], mode: u32) -> Result<(), RemoteError> {
        self.with_session(|s| s.upload(path, contents, mode))
            .map(|_| ())
    }

    fn upload_files_then(
        &self,
        dirs: &[UploadDir<'_>],
        files: &[UploadFile<'_>],
        then: Option<&RemoteCommand>,
    ) -> Result<(Vec<Uploaded>, Option<Output>), RemoteError> {
        let dirs: Vec<ssh::UploadDir> = dirs
            .iter()
            .map(|d| ssh::UploadDir {
                path: d.path,
                mode: d.mode,
            })
            .collect();
        let files: Vec<ssh::UploadFile> = files
            .iter()
            .map(|f| ssh::UploadFile {
                path: f.path,
                contents: f.contents,
                mode: f.mode,
                group: f.group,
            })
            .collect();
        let (outcomes, follow_up) = match then {
            Some(then) => self
                .with_session(|s| s.upload_files_then(&dirs, &files, &then.script, then.timeout))
                .map(|(outcomes, out)| (outcomes, Some(output_of(out))))?,
            None => (self.with_session(|s| s.upload_files(&dirs, &files))?, None),
        };
        let outcomes = outcomes
            .into_iter()
            .map(|o| Uploaded {
                changed: o.changed,
                backup: o.backup,
            })
            .collect();
        Ok((outcomes, follow_up))
    }

    fn read_file(&self, path: &str) -> Result<Option<Vec<u8>>, RemoteError> {
        self.with_session(|s| s.read_file(path))
    }

    fn reconnect(&self) -> Result<(), RemoteError> {
        let mut guard = self.session.lock().unwrap_or_else(|p| p.into_inner());
        // Drop the dead session first: it must not hold the host's sshd slot while we dial.
        *guard = None;
        let session = HostSession::connect(&self.target, &self.policy, self.credentials.as_ref())
            .map_err(|e| connect_error(&e))?;
        *guard = Some(session);
        Ok(())
    }
}

fn output_of(out: ssh::RunOutput) -> Output {
    Output {
        exit_code: match (&out.exit_signal, out.exit_status) {
            // Killed by a signal: never mistaken for success.
            (Some(_), 0) => -1,
            (_, status) => status,
        },
        stdout: out.stdout_text(),
        stderr: out.stderr_text(),
        stopped_early: out.stopped_early,
    }
}

/// A short name for a script in SSH errors: its first line, cut at 60 characters.
fn label_of(script: &str) -> String {
    let first = script.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let first = first.trim();
    match first.char_indices().nth(60) {
        Some((cut, _)) => format!("`{}…`", &first[..cut]),
        None => format!("`{first}`"),
    }
}

/// Errors while connecting: only an unreachable host or a timeout may heal.
fn connect_error(e: &SshError) -> RemoteError {
    let kind = match e.kind {
        SshErrorKind::Timeout { .. } => ErrorKind::Timeout,
        _ if e.is_transient() => ErrorKind::Transient,
        _ => ErrorKind::Fatal,
    };
    RemoteError {
        kind,
        message: e.to_string(),
    }
}

/// Errors on an established session: a protocol failure there means the connection dropped
/// (sshd killed, network reset), which a reconnect heals.
fn session_error(e: &SshError) -> RemoteError {
    let kind = match e.kind {
        SshErrorKind::Timeout { .. } | SshErrorKind::SessionLost => ErrorKind::Timeout,
        SshErrorKind::Unreachable { .. }
        | SshErrorKind::Protocol { .. }
        | SshErrorKind::ConnectionLost { .. } => ErrorKind::Transient,
        _ => ErrorKind::Fatal,
    };
    RemoteError {
        kind,
        message: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn err(kind: SshErrorKind) -> SshError {
        SshError::new("db-master", kind)
    }

    #[test]
    fn a_changed_host_key_is_never_retried() {
        let e = err(SshErrorKind::HostKeyChanged {
            recorded_in: "known_hosts:3".into(),
            old_fingerprints: vec!["SHA256:old".into()],
            new_key_type: "ssh-ed25519".into(),
            new_fingerprint: "SHA256:new".into(),
        });
        assert_eq!(connect_error(&e).kind, ErrorKind::Fatal);
        assert_eq!(session_error(&e).kind, ErrorKind::Fatal);
        assert!(connect_error(&e).message.contains("db-master"));
    }

    #[test]
    fn refused_connections_and_timeouts_are_retried() {
        let refused = err(SshErrorKind::Unreachable {
            address: "127.0.0.9:22".into(),
            reason: "connection refused".into(),
        });
        assert_eq!(connect_error(&refused).kind, ErrorKind::Transient);
        let timeout = err(SshErrorKind::Timeout {
            during: "running x".into(),
            after: Duration::from_secs(3),
        });
        assert_eq!(connect_error(&timeout).kind, ErrorKind::Timeout);
        assert_eq!(session_error(&timeout).kind, ErrorKind::Timeout);
        assert_eq!(
            session_error(&err(SshErrorKind::SessionLost)).kind,
            ErrorKind::Timeout
        );
    }

    #[test]
    fn a_protocol_failure_is_a_dropped_connection_only_once_logged_in() {
        let e = err(SshErrorKind::Protocol {
            during: "reading the output of x".into(),
            reason: "connection reset".into(),
        });
        assert_eq!(session_error(&e).kind, ErrorKind::Transient);
        assert_eq!(connect_error(&e).kind, ErrorKind::Fatal);
    }

    #[test]
    fn a_connection_lost_after_login_is_retried_and_said_plainly() {
        let e = err(SshErrorKind::ConnectionLost {
            during: "opening a channel for upload of /etc/scalr-server/scalr-server.rb".into(),
            reason: "Unexpected error".into(),
        });
        let remote = session_error(&e);
        assert_eq!(remote.kind, ErrorKind::Transient);
        assert!(
            remote
                .message
                .contains("the SSH connection to db-master was lost while opening a channel"),
            "{}",
            remote.message
        );
        assert!(remote
            .message
            .ends_with("check the host is up, then run apply again."));
        assert!(!remote.message.contains("algorithms"), "{}", remote.message);
    }

    #[test]
    fn wrong_sudo_password_is_fatal() {
        let e = err(SshErrorKind::SudoFailed {
            user: "operator".into(),
            reason: ssh::SudoFailure::WrongPassword,
        });
        assert_eq!(connect_error(&e).kind, ErrorKind::Fatal);
        assert!(connect_error(&e).message.contains("SCALR_SUDO_PASSWORD"));
    }

    #[test]
    fn labels_are_the_first_line_cut_short() {
        assert_eq!(
            label_of("\n  cat /etc/os-release\nexit 0"),
            "`cat /etc/os-release`"
        );
        let long = "x".repeat(100);
        assert_eq!(label_of(&long).chars().count(), 63);
    }
}
