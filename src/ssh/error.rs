//! What can go wrong when talking to a host, in the operator's words.
//!
//! Every error names the host and ends with what to do next. `is_transient` is the single
//! place that decides which failures are worth retrying: a refused connection or a timeout may
//! heal, a wrong password or a changed host key never does.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// A failure on one host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshError {
    /// The host as the operator named it (profile host name or address).
    pub host: String,
    pub kind: SshErrorKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SshErrorKind {
    /// Nothing accepted the TCP connection (refused, no route, name does not resolve).
    Unreachable { address: String, reason: String },
    /// The host stopped answering within the configured time.
    Timeout { during: String, after: Duration },
    /// The SSH protocol itself failed (handshake, no common algorithms, channel refused).
    Protocol { during: String, reason: String },
    /// The host's key is in no known_hosts file and the policy is `strict`.
    HostKeyUnknown {
        key_type: String,
        fingerprint: String,
        known_hosts: Vec<PathBuf>,
    },
    /// The host presents a different key than the one recorded or pinned.
    HostKeyChanged {
        /// Where the trusted key came from: `<file>:<line>` or `the profile's pinned fingerprint`.
        recorded_in: String,
        old_fingerprints: Vec<String>,
        new_key_type: String,
        new_fingerprint: String,
    },
    /// known_hosts could not be read or written, so the key cannot be verified.
    HostKeyUnverifiable { reason: String },
    /// No authentication method worked; `tried` lists each attempt and why it failed.
    AuthFailed { user: String, tried: Vec<String> },
    /// The login user could not become root.
    SudoFailed { user: String, reason: SudoFailure },
    /// A remote command exited non-zero (or was killed by a signal).
    CommandFailed {
        label: String,
        status: i32,
        stderr_tail: String,
    },
    /// Reading or writing a file on the host failed.
    Transfer { path: String, reason: String },
    /// The connection settings themselves are wrong (bad ssh_config, bad jump host spec).
    Config { reason: String },
    /// The session was abandoned after a timeout and must be reconnected.
    SessionLost,
    /// An established, logged-in connection died (sshd killed, host rebooted, network reset):
    /// not a protocol problem, and a reconnect may heal it.
    ConnectionLost { during: String, reason: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SudoFailure {
    /// `sudo -S` rejected the password.
    WrongPassword,
    /// `sudo -n` needs a password, but the profile says passwordless.
    PasswordRequired,
    /// The user may not run commands as root.
    NotAllowed,
    /// Sudo mode `password` but no password was given.
    NoPassword,
    /// sudoers says `requiretty` (old RHEL/CentOS default), and commands run without a tty.
    RequiresTty,
}

impl SshError {
    pub fn new(host: impl Into<String>, kind: SshErrorKind) -> Self {
        SshError {
            host: host.into(),
            kind,
        }
    }

    /// Worth retrying with backoff: the network or the host may come back. Authentication,
    /// host-key and command failures are never transient.
    pub fn is_transient(&self) -> bool {
        matches!(
            self.kind,
            SshErrorKind::Unreachable { .. }
                | SshErrorKind::Timeout { .. }
                | SshErrorKind::ConnectionLost { .. }
        )
    }
}

impl std::error::Error for SshError {}

impl fmt::Display for SshError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let host = &self.host;
        match &self.kind {
            SshErrorKind::Unreachable { address, reason } => write!(
                f,
                "{host}: cannot connect to {address}: {reason}. Check that the host is up, the \
                 address and port are right, and no firewall blocks SSH from this machine."
            ),
            SshErrorKind::Timeout { during, after } => write!(
                f,
                "{host}: no answer for {} while {during}. Check that the host is running and \
                 not overloaded, or raise the timeout.",
                humantime::format_duration(*after)
            ),
            SshErrorKind::Protocol { during, reason } => write!(
                f,
                "{host}: SSH failed while {during}: {reason}. Check that the port runs an SSH \
                 server and that it allows modern algorithms (ed25519/ecdsa, aes-ctr/gcm)."
            ),
            SshErrorKind::HostKeyUnknown {
                key_type,
                fingerprint,
                known_hosts,
            } => {
                let files: Vec<String> = known_hosts
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect();
                write!(
                    f,
                    "{host}: host key {key_type} {fingerprint} is not in known_hosts ({}). \
                     Verify the fingerprint on the host (`ssh-keygen -lf \
                     /etc/ssh/ssh_host_ed25519_key.pub`), then pin it in the profile \
                     ([hosts.ssh] fingerprint) or run once with host_key_policy = \"accept-new\".",
                    if files.is_empty() {
                        "none configured".to_string()
                    } else {
                        files.join(", ")
                    }
                )
            }
            SshErrorKind::HostKeyChanged {
                recorded_in,
                old_fingerprints,
                new_key_type,
                new_fingerprint,
            } => write!(
                f,
                "{host}: HOST KEY CHANGED. Trusted ({recorded_in}): {}; the host now presents \
                 {new_key_type} {new_fingerprint}. This can be a re-installed VM or an attack. \
                 Stopped this host. If the VM was re-created, verify the new fingerprint on its \
                 console, then remove the old entry (`ssh-keygen -R <host> -f <file>`) or update \
                 the pinned fingerprint.",
                old_fingerprints.join(", ")
            ),
            SshErrorKind::HostKeyUnverifiable { reason } => write!(
                f,
                "{host}: cannot verify the host key: {reason}. Fix or remove the named file."
            ),
            SshErrorKind::AuthFailed { user, tried } => write!(
                f,
                "{host}: could not log in as {user}; tried: {}. Check the user name, add the key \
                 to the host's authorized_keys or your ssh-agent, or set the passphrase/password \
                 environment variable.",
                if tried.is_empty() {
                    "nothing the server accepts".to_string()
                } else {
                    tried.join("; ")
                }
            ),
            SshErrorKind::SudoFailed { user, reason } => match reason {
                SudoFailure::WrongPassword => write!(
                    f,
                    "{host}: sudo rejected the password for {user}. Set the right one in \
                     SCALR_SUDO_PASSWORD (or at the prompt) and run again."
                ),
                SudoFailure::PasswordRequired => write!(
                    f,
                    "{host}: sudo asks {user} for a password, but the profile says passwordless. \
                     Set sudo = \"password\" for this host, or add a NOPASSWD sudoers rule."
                ),
                SudoFailure::NotAllowed => write!(
                    f,
                    "{host}: {user} may not run commands as root with sudo. Add the user to \
                     sudoers on the host, or log in as root."
                ),
                SudoFailure::RequiresTty => write!(
                    f,
                    "{host}: sudo on this host requires a terminal (`Defaults requiretty` in \
                     /etc/sudoers). Add `Defaults:{user} !requiretty` with visudo, or log in as root."
                ),
                SudoFailure::NoPassword => write!(
                    f,
                    "{host}: sudo needs a password for {user} and none was given. Set \
                     SCALR_SUDO_PASSWORD or run interactively."
                ),
            },
            SshErrorKind::CommandFailed {
                label,
                status,
                stderr_tail,
            } => {
                write!(f, "{host}: {label} failed with exit status {status}")?;
                if !stderr_tail.is_empty() {
                    write!(f, ": {}", stderr_tail.trim_end())?;
                }
                write!(
                    f,
                    ". See the host's log for details, fix the cause and run again."
                )
            }
            SshErrorKind::Transfer { path, reason } => write!(
                f,
                "{host}: cannot transfer {path}: {reason}. Check free disk space and permissions \
                 on the host."
            ),
            SshErrorKind::Config { reason } => {
                write!(
                    f,
                    "{host}: bad SSH settings: {reason}. Fix the profile or ssh_config."
                )
            }
            SshErrorKind::SessionLost => write!(
                f,
                "{host}: the SSH session was abandoned after a timeout. Reconnect to continue."
            ),
            SshErrorKind::ConnectionLost { during, reason } => write!(
                f,
                "{host}: the SSH connection to {host} was lost while {during} ({reason}); check \
                 the host is up, then run apply again."
            ),
        }
    }
}
