//! Running commands: streaming output lines as they arrive, stdin, sudo, and a deadline.
//!
//! The deadline is ours, not libssh2's: the loop polls the socket, sends keepalives and gives
//! up when the command runs too long or when the host stops answering keepalives (a frozen
//! VM), whichever comes first. Sudo passwords travel on stdin, never in the command line.

use super::error::{SshError, SshErrorKind};
use super::quote::{sh_quote, QuoteError};
use super::session::{sudo_failure, HostSession, Liveness, EAGAIN};
use crate::profile::model::SudoMode;
use std::io::{ErrorKind, Read, Write};
use std::ops::ControlFlow;
use std::time::{Duration, Instant};

/// Which remote stream a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// One line of remote output, without its line ending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputLine<'a> {
    pub stream: Stream,
    pub text: &'a str,
}

/// A command to run on a host.
#[derive(Debug, Clone)]
pub struct RemoteCommand {
    /// A shell command line; build it with `ShellCommand`/`sh_quote` so every value is quoted.
    pub script: String,
    /// Shown in errors and logs instead of the script (which may be long).
    pub label: String,
    /// Run as root through the target's sudo mode.
    pub as_root: bool,
    /// Bytes written to the command's stdin (then EOF).
    pub stdin: Vec<u8>,
    /// Wall-clock limit for the whole command.
    pub timeout: Duration,
}

impl RemoteCommand {
    /// A command run as root (via sudo when the login user is not root), no stdin, 10 minutes.
    pub fn new(label: impl Into<String>, script: impl Into<String>) -> RemoteCommand {
        RemoteCommand {
            script: script.into(),
            label: label.into(),
            as_root: true,
            stdin: Vec::new(),
            timeout: Duration::from_secs(600),
        }
    }
    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.stdin = bytes.into();
        self
    }
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
    /// Run as the login user, without sudo.
    pub fn as_login_user(mut self) -> Self {
        self.as_root = false;
        self
    }
}

/// What a finished command left behind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunOutput {
    pub exit_status: i32,
    /// Set when the command was killed by a signal (`TERM`, `KILL`, …).
    pub exit_signal: Option<String>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// The caller stopped reading before the command ended (see [`HostSession::run_until`]):
    /// the exit status is unknown (-1) and the output is what arrived until then.
    pub stopped_early: bool,
}

impl RunOutput {
    pub fn success(&self) -> bool {
        self.exit_status == 0 && self.exit_signal.is_none()
    }
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
}

/// stderr kept in a `CommandFailed` error.
const STDERR_TAIL_LINES: usize = 5;

impl HostSession {
    /// Run a command, calling `on_line` for each output line as it arrives. A non-zero exit
    /// status is not an error here (see `run_checked`); sudo refusing is.
    pub fn run(
        &mut self,
        cmd: &RemoteCommand,
        on_line: &mut dyn FnMut(OutputLine<'_>),
    ) -> Result<RunOutput, SshError> {
        self.run_until(cmd, &mut |line| {
            on_line(line);
            ControlFlow::Continue(())
        })
    }

    /// `run`, until `on_line` breaks: then the channel is closed at once, and the command goes
    /// on without us (its later output is discarded; a write to its closed stdout may end it with
    /// SIGPIPE). For a command whose output says it is done before the command itself can end.
    pub fn run_until(
        &mut self,
        cmd: &RemoteCommand,
        on_line: &mut dyn FnMut(OutputLine<'_>) -> ControlFlow<()>,
    ) -> Result<RunOutput, SshError> {
        let stdin = cmd.stdin.clone();
        self.run_with_input_until(cmd, &mut stdin.as_slice(), on_line)
    }

    /// `run`, with stdin streamed from `input` instead of `cmd.stdin` (for large files).
    pub fn run_with_input(
        &mut self,
        cmd: &RemoteCommand,
        input: &mut dyn Read,
        on_line: &mut dyn FnMut(OutputLine<'_>),
    ) -> Result<RunOutput, SshError> {
        self.run_with_input_until(cmd, input, &mut |line| {
            on_line(line);
            ControlFlow::Continue(())
        })
    }

    fn run_with_input_until(
        &mut self,
        cmd: &RemoteCommand,
        input: &mut dyn Read,
        on_line: &mut dyn FnMut(OutputLine<'_>) -> ControlFlow<()>,
    ) -> Result<RunOutput, SshError> {
        let sudo = if cmd.as_root {
            self.sudo
        } else {
            SudoMode::None
        };
        let line = wrap_for_sudo(&cmd.script, sudo).map_err(|e| {
            self.error(SshErrorKind::Config {
                reason: format!("{}: {e}", cmd.label),
            })
        })?;
        let mut password_line = Vec::new();
        if sudo == SudoMode::Password {
            let password = self
                .sudo_password
                .as_ref()
                .ok_or_else(|| self.sudo_error(super::error::SudoFailure::NoPassword))?;
            password_line.extend_from_slice(password.expose().as_bytes());
            password_line.push(b'\n');
        }
        let mut stdin = password_line.as_slice().chain(input);
        let result = self.run_line(&line, &mut stdin, cmd.timeout, &cmd.label, on_line);
        password_line.iter_mut().for_each(|b| *b = 0);
        let out = result?;
        if sudo != SudoMode::None && !out.success() && !out.stopped_early {
            if let Some(reason) = sudo_failure(&out.stderr_text()) {
                return Err(self.sudo_error(reason));
            }
        }
        Ok(out)
    }

    /// `run`, turning a non-zero exit status into `CommandFailed` with the end of stderr.
    pub fn run_checked(
        &mut self,
        cmd: &RemoteCommand,
        on_line: &mut dyn FnMut(OutputLine<'_>),
    ) -> Result<RunOutput, SshError> {
        let out = self.run(cmd, on_line)?;
        if out.success() {
            return Ok(out);
        }
        let stderr = out.stderr_text();
        let lines: Vec<&str> = stderr.lines().collect();
        let tail = lines[lines.len().saturating_sub(STDERR_TAIL_LINES)..].join("\n");
        Err(self.error(SshErrorKind::CommandFailed {
            label: cmd.label.clone(),
            status: out.exit_status,
            stderr_tail: match &out.exit_signal {
                Some(sig) => format!("killed by signal {sig}. {tail}"),
                None => tail,
            },
        }))
    }

    /// Run an already-wrapped command line, until `on_line` breaks. Marks the session lost on
    /// timeout.
    pub(crate) fn run_line(
        &mut self,
        line: &str,
        stdin: &mut dyn Read,
        timeout: Duration,
        label: &str,
        on_line: &mut dyn FnMut(OutputLine<'_>) -> ControlFlow<()>,
    ) -> Result<RunOutput, SshError> {
        if self.lost {
            return Err(self.error(SshErrorKind::SessionLost));
        }
        let result = self.exchange(line, stdin, Instant::now() + timeout, label, on_line);
        if matches!(&result, Err(e) if matches!(e.kind, SshErrorKind::Timeout { .. })) {
            self.lost = true;
        }
        result
    }

    fn exchange(
        &self,
        line: &str,
        stdin: &mut dyn Read,
        deadline: Instant,
        label: &str,
        on_line: &mut dyn FnMut(OutputLine<'_>) -> ControlFlow<()>,
    ) -> Result<RunOutput, SshError> {
        let started = Instant::now();
        self.free_closed_channels();
        let mut channel =
            self.wait_for(deadline, &format!("opening a channel for {label}"), || {
                self.session.channel_session()
            })?;
        self.wait_for(deadline, &format!("starting {label}"), || {
            channel.exec(line)
        })?;

        let mut out = LineBuffer::new(Stream::Stdout);
        let mut err = LineBuffer::new(Stream::Stderr);
        // May hold the sudo password: wiped when this function returns, however it returns.
        let mut pending = WipedBuffer(Vec::new());
        let pending = &mut pending.0;
        let mut pending_at = 0;
        let mut input_done = false;
        let mut eof_sent = false;
        let mut buf = vec![0u8; 32 * 1024];
        let mut liveness = Liveness::new(&self.target);
        let mut stopped_early = false;
        loop {
            if self.socket_readable_now() {
                liveness.heard();
            }
            let mut progressed = false;
            if pending_at == pending.len() && !input_done {
                pending.resize(64 * 1024, 0);
                pending_at = 0;
                match stdin.read(pending) {
                    Ok(0) => {
                        pending.clear();
                        input_done = true;
                    }
                    Ok(n) => pending.truncate(n),
                    Err(e) if e.kind() == ErrorKind::Interrupted => pending.clear(),
                    Err(e) => {
                        return Err(self.error(SshErrorKind::Transfer {
                            path: format!("input of {label}"),
                            reason: e.to_string(),
                        }))
                    }
                }
            }
            if pending_at < pending.len() {
                match channel.write(&pending[pending_at..]) {
                    Ok(n) => {
                        pending_at += n;
                        progressed |= n > 0;
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                    // The command closed its stdin (or exited); the rest is not wanted.
                    Err(_) => {
                        pending_at = pending.len();
                        input_done = true;
                    }
                }
            }
            if input_done && pending_at == pending.len() && !eof_sent {
                match channel.send_eof() {
                    Err(e) if e.code() == EAGAIN => {}
                    _ => eof_sent = true,
                }
            }
            let out_done = match channel.read(&mut buf) {
                Ok(0) => true,
                Ok(n) => {
                    progressed = true;
                    if out.push(&buf[..n], on_line).is_break() {
                        stopped_early = true;
                        break;
                    }
                    false
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => false,
                Err(e) => return Err(self.lost_channel(label, &e)),
            };
            let err_done = match channel.stderr().read(&mut buf) {
                Ok(0) => true,
                Ok(n) => {
                    progressed = true;
                    if err.push(&buf[..n], on_line).is_break() {
                        stopped_early = true;
                        break;
                    }
                    false
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => false,
                Err(e) => return Err(self.lost_channel(label, &e)),
            };
            if out_done && err_done && channel.eof() {
                break;
            }
            // Checked even while output flows: a command that never stops printing still has
            // a deadline.
            if Instant::now() >= deadline {
                return Err(self.error(SshErrorKind::Timeout {
                    during: format!("running {label}"),
                    after: started.elapsed(),
                }));
            }
            if progressed {
                liveness.heard();
                continue;
            }
            liveness.check(self, &format!("running {label}"))?;
            if self.wait_socket(deadline) {
                liveness.heard();
            }
        }
        if stopped_early {
            // Our close goes out now; sshd answers it only once the command has exited (here,
            // when tail's exit has torn down its inotify watches), which the caller need not
            // wait for. The channel is kept until that answer comes.
            if matches!(channel.close(), Err(e) if e.code() == EAGAIN) {
                self.closing.borrow_mut().push(channel);
            }
            // Otherwise gone or closed: a broken connection shows on the next command.
            return Ok(RunOutput {
                exit_status: -1,
                exit_signal: None,
                stdout: out.all,
                stderr: err.all,
                stopped_early,
            });
        }
        if out.finish(on_line).is_continue() {
            let _ = err.finish(on_line);
        }
        let _ = self.wait_for(deadline, &format!("closing {label}"), || channel.close());
        self.wait_for(deadline, &format!("closing {label}"), || {
            channel.wait_close()
        })?;
        let exit_status = channel.exit_status().unwrap_or(-1);
        let exit_signal = channel.exit_signal().ok().and_then(|s| s.exit_signal);
        Ok(RunOutput {
            exit_status,
            exit_signal,
            stdout: out.all,
            stderr: err.all,
            stopped_early: false,
        })
    }

    /// Frees the channels left closing whose close the server has answered by now: each
    /// `close` reads what has arrived, without waiting.
    fn free_closed_channels(&self) {
        self.closing
            .borrow_mut()
            .retain_mut(|channel| matches!(channel.close(), Err(e) if e.code() == EAGAIN));
    }

    /// A read or write on an open channel failed for another reason than "would block": the
    /// connection under it is gone.
    fn lost_channel(&self, label: &str, e: &std::io::Error) -> SshError {
        self.error(SshErrorKind::ConnectionLost {
            during: format!("reading the output of {label}"),
            reason: e.to_string(),
        })
    }
}

/// Put a command line under sudo. The script becomes one quoted argument of `sh -c`, so sudo
/// never parses it and the login shell's quirks do not matter. With a password, `-k` makes
/// sudo ask every time, so it always consumes exactly the password line. `LC_ALL=C` keeps sudo's
/// messages in English, which is how a refusal is recognised.
pub fn wrap_for_sudo(script: &str, sudo: SudoMode) -> Result<String, QuoteError> {
    Ok(match sudo {
        SudoMode::None => script.to_string(),
        SudoMode::Passwordless => format!("env LC_ALL=C sudo -n -- sh -c {}", sh_quote(script)?),
        SudoMode::Password => format!(
            "env LC_ALL=C sudo -k -S -p '' -- sh -c {}",
            sh_quote(script)?
        ),
    })
}

struct WipedBuffer(Vec<u8>);

impl Drop for WipedBuffer {
    fn drop(&mut self) {
        self.0.iter_mut().for_each(|b| *b = 0);
    }
}

/// Splits a byte stream into lines for the callback, keeping everything for the caller.
struct LineBuffer {
    stream: Stream,
    all: Vec<u8>,
    line_start: usize,
    /// Bytes before this index hold no newline after `line_start`: never scanned twice, so a
    /// long line without newlines (a binary file) stays linear.
    scanned: usize,
}

impl LineBuffer {
    fn new(stream: Stream) -> Self {
        LineBuffer {
            stream,
            all: Vec::new(),
            line_start: 0,
            scanned: 0,
        }
    }

    /// Passes on each whole line; stops at the first line `on_line` breaks at (what follows it
    /// is kept, not passed on).
    fn push(
        &mut self,
        bytes: &[u8],
        on_line: &mut dyn FnMut(OutputLine<'_>) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        self.all.extend_from_slice(bytes);
        while let Some(pos) = self.all[self.scanned..].iter().position(|b| *b == b'\n') {
            let end = self.scanned + pos;
            let flow = self.emit(self.line_start, end, on_line);
            self.line_start = end + 1;
            self.scanned = end + 1;
            flow?;
        }
        self.scanned = self.all.len();
        ControlFlow::Continue(())
    }

    fn finish(
        &mut self,
        on_line: &mut dyn FnMut(OutputLine<'_>) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        if self.line_start < self.all.len() {
            let flow = self.emit(self.line_start, self.all.len(), on_line);
            self.line_start = self.all.len();
            return flow;
        }
        ControlFlow::Continue(())
    }

    fn emit(
        &self,
        start: usize,
        end: usize,
        on_line: &mut dyn FnMut(OutputLine<'_>) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        let raw = &self.all[start..end];
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let text = String::from_utf8_lossy(raw);
        on_line(OutputLine {
            stream: self.stream,
            text: &text,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sudo_wrapping_quotes_the_whole_script() {
        assert_eq!(
            wrap_for_sudo("echo 'a b'", SudoMode::None).unwrap(),
            "echo 'a b'"
        );
        assert_eq!(
            wrap_for_sudo("echo 'a b'", SudoMode::Passwordless).unwrap(),
            "env LC_ALL=C sudo -n -- sh -c 'echo '\\''a b'\\'''"
        );
        assert!(wrap_for_sudo("id", SudoMode::Password)
            .unwrap()
            .starts_with("env LC_ALL=C sudo -k -S -p '' -- sh -c "));
    }

    #[test]
    fn a_long_line_without_newlines_is_scanned_once() {
        // Linear, not quadratic: after each push the scan mark sits at the end of what arrived,
        // so the next push looks only at its own bytes.
        let mut buf = LineBuffer::new(Stream::Stdout);
        let chunk = vec![b'x'; 32 * 1024];
        for i in 1..=200 {
            let _ = buf.push(&chunk, &mut |_| panic!("no newline yet"));
            assert_eq!(buf.scanned, i * chunk.len());
            assert_eq!(buf.line_start, 0);
        }
        let mut count = 0;
        let _ = buf.push(b"\n", &mut |l| {
            count += l.text.len();
            ControlFlow::Continue(())
        });
        assert_eq!(count, 200 * 32 * 1024);
    }

    #[test]
    fn lines_split_across_chunks_arrive_whole() {
        let mut lines = Vec::new();
        let mut buf = LineBuffer::new(Stream::Stdout);
        let mut cb = |l: OutputLine<'_>| {
            lines.push(l.text.to_string());
            ControlFlow::Continue(())
        };
        let _ = buf.push(b"one\r\ntw", &mut cb);
        let _ = buf.push(b"o\nthree", &mut cb);
        let _ = buf.finish(&mut cb);
        assert_eq!(lines, ["one", "two", "three"]);
    }

    #[test]
    fn a_break_stops_at_its_line_and_keeps_the_rest_unread() {
        let mut lines = Vec::new();
        let mut buf = LineBuffer::new(Stream::Stdout);
        let flow = buf.push(b"one\nDONE\nlater\n", &mut |l| {
            lines.push(l.text.to_string());
            if l.text == "DONE" {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        });
        assert!(flow.is_break());
        assert_eq!(lines, ["one", "DONE"]);
        assert_eq!(buf.all, b"one\nDONE\nlater\n");
    }
}
