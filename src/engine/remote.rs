//! What the engine needs from a host connection. The `ssh` module's `HostSession` implements this
//! through a thin adapter; the engine itself never sees ssh2.

use crate::engine::desired::DesiredFile;
use std::fmt;
use std::ops::ControlFlow;
use std::time::Duration;

/// A command for a remote shell. `script` is POSIX sh; every value spliced into it must already be
/// quoted with [`quote`]. Secrets never go into `script`: they travel in `stdin` or in files.
#[derive(Clone, PartialEq, Eq)]
pub struct RemoteCommand {
    pub script: String,
    /// Run as root (through sudo when the login user is not root).
    pub sudo: bool,
    /// Bytes fed to the command's standard input.
    pub stdin: Option<Vec<u8>>,
    /// The whole command must finish within this time, or the run fails with a timeout.
    pub timeout: Duration,
}

impl RemoteCommand {
    pub fn root(script: impl Into<String>, timeout: Duration) -> RemoteCommand {
        RemoteCommand {
            script: script.into(),
            sudo: true,
            stdin: None,
            timeout,
        }
    }

    pub fn with_stdin(mut self, stdin: Vec<u8>) -> RemoteCommand {
        self.stdin = Some(stdin);
        self
    }
}

// Hand-written so stdin (which may hold a secret) never reaches a log through `{:?}`.
impl fmt::Debug for RemoteCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteCommand")
            .field("script", &self.script)
            .field("sudo", &self.sudo)
            .field(
                "stdin",
                &self.stdin.as_ref().map(|b| format!("<{} bytes>", b.len())),
            )
            .field("timeout", &self.timeout)
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Output {
    pub exit_code: i32,
    pub stdout: String,
    pub stderr: String,
    /// `run_until` stopped reading before the command ended: `exit_code` is unknown (-1).
    pub stopped_early: bool,
}

impl Output {
    pub fn success(&self) -> bool {
        self.exit_code == 0
    }
}

/// One file of a batch upload, written as root.
#[derive(Clone, Copy)]
pub struct UploadFile<'a> {
    pub path: &'a str,
    pub contents: &'a [u8],
    pub mode: u32,
    /// A group that must own the file; created as a system group when the host lacks it.
    pub group: Option<&'a str>,
}

impl<'a> From<&'a DesiredFile> for UploadFile<'a> {
    fn from(file: &'a DesiredFile) -> Self {
        UploadFile {
            path: &file.path,
            contents: &file.contents,
            mode: file.mode,
            group: file.group.as_deref(),
        }
    }
}

// Hand-written so contents (which may be a secret) never reach a log through `{:?}`.
impl fmt::Debug for UploadFile<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UploadFile")
            .field("path", &self.path)
            .field("bytes", &self.contents.len())
            .field("mode", &format_args!("{:o}", self.mode))
            .field("group", &self.group)
            .finish()
    }
}

/// A directory a batch upload creates (with parents) when missing and gives exactly `mode`,
/// before writing any file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadDir<'a> {
    pub path: &'a str,
    pub mode: u32,
}

/// What a batch upload did to one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uploaded {
    /// False when the file already held these bytes (only mode and group were enforced).
    pub changed: bool,
    /// Where the previous, different version was kept.
    pub backup: Option<String>,
}

/// Whether retrying could help: transient errors (a dropped connection, a timeout) are retried
/// with backoff; fatal ones (authentication, host key, sudo password) never are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    Transient,
    Timeout,
    Fatal,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct RemoteError {
    pub kind: ErrorKind,
    /// Names the host and what failed, and ends with what to do.
    pub message: String,
}

impl RemoteError {
    pub fn transient(message: impl Into<String>) -> RemoteError {
        RemoteError {
            kind: ErrorKind::Transient,
            message: message.into(),
        }
    }

    pub fn fatal(message: impl Into<String>) -> RemoteError {
        RemoteError {
            kind: ErrorKind::Fatal,
            message: message.into(),
        }
    }

    pub fn timeout(message: impl Into<String>) -> RemoteError {
        RemoteError {
            kind: ErrorKind::Timeout,
            message: message.into(),
        }
    }

    pub fn is_retryable(&self) -> bool {
        self.kind != ErrorKind::Fatal
    }
}

/// One long-lived connection to one host.
pub trait Remote: Send {
    /// Runs `cmd`; `on_line` receives each line of stdout as it arrives (without the newline).
    fn run(
        &self,
        cmd: &RemoteCommand,
        on_line: &mut dyn FnMut(&str),
    ) -> Result<Output, RemoteError> {
        self.run_until(cmd, &mut |line| {
            on_line(line);
            ControlFlow::Continue(())
        })
    }

    /// `run`, until `on_line` breaks: for a command whose output says it is done before the
    /// command itself can end. Reading stops there and the command is left to end on its own
    /// (the `Output` is then `stopped_early`, its exit code -1).
    fn run_until(
        &self,
        cmd: &RemoteCommand,
        on_line: &mut dyn FnMut(&str) -> ControlFlow<()>,
    ) -> Result<Output, RemoteError>;

    /// Writes `contents` to `path` atomically (temp file + rename) with `mode`, as root, keeping the
    /// previous version as a backup beside it.
    fn upload(&self, path: &str, contents: &[u8], mode: u32) -> Result<(), RemoteError>;

    /// Writes all `files` with one remote command, after creating `dirs`: each staged and checked
    /// on the host, then all renamed into place only when every one arrived whole. Unchanged
    /// files keep no backup and only get their mode and group. Outcomes follow the order of
    /// `files`.
    fn upload_files(
        &self,
        dirs: &[UploadDir<'_>],
        files: &[UploadFile<'_>],
    ) -> Result<Vec<Uploaded>, RemoteError> {
        self.upload_files_then(dirs, files, None)
            .map(|(outcomes, _)| outcomes)
    }

    /// [`Remote::upload_files`], then `then` (run as root) in the same command once every file is
    /// in place: one round trip for both, its timeout added to the transfer's. Its output comes
    /// back (`Some` exactly when `then` was given); when the upload fails, `then` does not run
    /// and the error is the upload's.
    fn upload_files_then(
        &self,
        dirs: &[UploadDir<'_>],
        files: &[UploadFile<'_>],
        then: Option<&RemoteCommand>,
    ) -> Result<(Vec<Uploaded>, Option<Output>), RemoteError>;

    /// Reads a file as root; `Ok(None)` when it does not exist.
    fn read_file(&self, path: &str) -> Result<Option<Vec<u8>>, RemoteError>;

    /// Drops and re-opens the connection (after a transient error).
    fn reconnect(&self) -> Result<(), RemoteError>;
}

/// How a run reaches a host: address, user, and the deployment's SSH settings are resolved by the
/// `ssh` module; the engine only names the host.
pub trait Connector: Sync {
    fn connect(&self, host: &str) -> Result<Box<dyn Remote>, RemoteError>;
}

/// Quotes one value for a POSIX shell.
pub fn quote(value: &str) -> String {
    shlex::try_quote(value)
        .map(|q| q.into_owned())
        // try_quote refuses only NUL bytes, which no path or version legitimately holds.
        .unwrap_or_else(|_| "''".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_with_shell_syntax_are_quoted() {
        assert_eq!(quote("plain"), "plain");
        assert_eq!(quote("a b;rm -rf /"), "'a b;rm -rf /'");
        assert_eq!(quote("it's"), "\"it's\"");
    }

    #[test]
    fn debug_output_never_shows_stdin() {
        let cmd = RemoteCommand::root("cat", Duration::from_secs(1))
            .with_stdin(b"hunter2-secret".to_vec());
        let shown = format!("{cmd:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("<14 bytes>"));
    }
}
