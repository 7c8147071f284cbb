//! The SSH transport: connect to a host, verify it, log in, run commands, move files.
//!
//! Knows nothing about terminals or views. The engine gives each host its own
//! [`HostSession`], owned by that host's worker thread:
//!
//! ```no_run
//! use scalr_installer::ssh::{HostSession, RemoteCommand, Target, EnvCredentials};
//! use scalr_installer::profile::model::HostKeyPolicy;
//! let target = Target::new("app-1", "127.0.0.1", 22, "root");
//! let mut host = HostSession::connect(&target, &HostKeyPolicy::Strict, &EnvCredentials)?;
//! let out = host.run_checked(&RemoteCommand::new("reading the OS", "cat /etc/os-release"), &mut |line| {
//!     println!("{}", line.text);
//! })?;
//! host.upload("/etc/scalr-server/scalr-server-secrets.json", b"{}", 0o600)?;
//! # Ok::<(), scalr_installer::ssh::SshError>(())
//! ```

pub mod auth;
pub mod config;
pub mod error;
pub mod exec;
pub mod jump;
pub mod known_hosts;
pub mod quote;
pub mod retry;
pub mod session;
mod sha1;
pub mod target;
pub mod upload;

pub use auth::{
    CachedCredentials, Credentials, EnvCredentials, Secret, SecretRequest, StaticCredentials,
};
pub use config::{HostConfig, SshConfig};
pub use error::{SshError, SshErrorKind, SudoFailure};
pub use exec::{OutputLine, RemoteCommand, RunOutput, Stream};
pub use known_hosts::fingerprint;
pub use quote::{sh_quote, sh_script, QuoteError, ShellCommand};
pub use retry::{connect_with_retry, with_retry, RetryPolicy};
pub use session::{scan_host_key, HostKeyReport, HostKeyVerdict, HostSession, ScannedHostKey};
pub use target::Target;
pub use upload::{UploadDir, UploadFile, UploadOutcome};
