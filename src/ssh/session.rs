//! One long-lived, verified, authenticated SSH session per host.
//!
//! The handshake and login run in blocking mode under `set_timeout` (so a host that never
//! answers fails within the connect timeout). Afterwards the session is switched to
//! non-blocking mode for good: every later operation runs in our own poll loop with a
//! deadline we enforce ourselves, sends keepalives and notices a host that stopped answering
//! them. A session that timed out is marked lost rather than used again, and is dropped
//! without waiting on the dead peer.

use super::auth::{authenticate, Credentials, Secret, SecretRequest};
use super::error::{SshError, SshErrorKind, SudoFailure};
use super::jump::{open_tunnel, JumpTunnel};
use super::known_hosts::{
    append_entry, blob_key_type, fingerprint, fingerprints_equal, hostkey_preference, KeyCheck,
    KnownHosts,
};
use super::target::Target;
use crate::profile::model::{HostKeyPolicy, SudoMode};
use ssh2::{ErrorCode, MethodType, Session};
use std::cell::RefCell;
use std::net::{TcpStream, ToSocketAddrs};
use std::ops::ControlFlow;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// libssh2's "would block" in non-blocking mode.
pub(crate) const EAGAIN: ErrorCode = ErrorCode::Session(-37);
const ERROR_TIMEOUT: ErrorCode = ErrorCode::Session(-9);

/// How the host key was trusted on this connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostKeyVerdict {
    /// Found in a known_hosts file.
    Known,
    /// Equal to the fingerprint pinned in the profile.
    Pinned,
    /// Unknown, accepted under `accept-new` and appended to this file.
    Recorded { file: PathBuf },
}

/// The host key the server presented and why we trusted it; worth showing to the operator
/// (especially `Recorded`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostKeyReport {
    pub key_type: String,
    pub fingerprint: String,
    pub verdict: HostKeyVerdict,
}

/// A connected host. Owned by that host's worker thread; not shared.
pub struct HostSession {
    pub(crate) target: Target,
    /// Channels closed while their command still ran (see `run_until`): sshd answers such a
    /// close only once the command has exited, and we do not wait for that. Each is freed once
    /// its answer has come (checked before every command), or with the session.
    pub(crate) closing: RefCell<Vec<ssh2::Channel>>,
    // Field order matters: the session must go before the tunnel it runs through.
    pub(crate) session: Session,
    /// A duplicate of the transport's descriptor, polled for readiness.
    pub(crate) socket: OwnedFd,
    pub(crate) host_key: HostKeyReport,
    pub(crate) sudo_password: Option<Secret>,
    /// How commands become root here: the profile's mode, except that `password` becomes
    /// `passwordless` when sudo turns out not to ask (a password line would otherwise flow
    /// into the command's stdin).
    pub(crate) sudo: SudoMode,
    pub(crate) lost: bool,
    _tunnel: Option<JumpTunnel>,
}

enum Transport {
    Tcp(TcpStream),
    Tunnel(UnixStream),
}

impl HostSession {
    /// Connect, verify the host key, log in and check that sudo works (when configured).
    pub fn connect(
        target: &Target,
        policy: &HostKeyPolicy,
        creds: &dyn Credentials,
    ) -> Result<HostSession, SshError> {
        let (transport, tunnel) = match &target.jump {
            Some(jump) => {
                let bastion = HostSession::connect(jump, policy, creds)?;
                let (stream, tunnel) = open_tunnel(bastion, target)?;
                (Transport::Tunnel(stream), Some(tunnel))
            }
            None => (Transport::Tcp(tcp_connect(target)?), None),
        };
        let err = |kind| SshError::new(&target.name, kind);
        let socket = match &transport {
            Transport::Tcp(s) => s.as_fd().try_clone_to_owned(),
            Transport::Tunnel(s) => s.as_fd().try_clone_to_owned(),
        }
        .map_err(|e| {
            err(SshErrorKind::Protocol {
                during: "setting up the connection".into(),
                reason: e.to_string(),
            })
        })?;

        let known = KnownHosts::load(&target.known_hosts, &target.address, target.port)
            .map_err(|reason| err(SshErrorKind::HostKeyUnverifiable { reason }))?;
        let mut session = Session::new().map_err(|e| protocol(target, "starting SSH", &e))?;
        session.set_timeout(millis(target.connect_timeout));
        let supported = session
            .supported_algs(MethodType::HostKey)
            .unwrap_or_default();
        let preference = hostkey_preference(&known.key_types(), &supported);
        if !preference.is_empty() {
            session
                .method_pref(MethodType::HostKey, &preference)
                .map_err(|e| protocol(target, "choosing host key algorithms", &e))?;
        }
        match transport {
            Transport::Tcp(s) => session.set_tcp_stream(s),
            Transport::Tunnel(s) => session.set_tcp_stream(s),
        }
        session.handshake().map_err(|e| {
            classify(
                target,
                "exchanging SSH greetings",
                target.connect_timeout,
                &e,
            )
        })?;
        let host_key = verify_host_key(&session, target, policy, &known)?;
        tracing::debug!(
            host = %target.name,
            address = %target.display_address(),
            key_type = %host_key.key_type,
            fingerprint = %host_key.fingerprint,
            verdict = ?host_key.verdict,
            kex = session.methods(MethodType::Kex).unwrap_or("?"),
            cipher = session.methods(MethodType::CryptCs).unwrap_or("?"),
            "ssh handshake done"
        );
        authenticate(&session, target, creds).map_err(|e| {
            if auth_timed_out(&e) {
                err(SshErrorKind::Timeout {
                    during: "logging in".into(),
                    after: target.connect_timeout,
                })
            } else {
                e
            }
        })?;
        // want_reply: the server's answers are how we notice a host that froze.
        session.set_keepalive(true, target.keepalive_interval.as_secs().max(1) as u32);
        session.set_blocking(false);
        let mut host = HostSession {
            target: target.clone(),
            closing: RefCell::new(Vec::new()),
            session,
            socket,
            host_key,
            sudo_password: None,
            sudo: SudoMode::None,
            lost: false,
            _tunnel: tunnel,
        };
        host.prepare_sudo(creds)?;
        Ok(host)
    }

    pub fn target(&self) -> &Target {
        &self.target
    }

    /// The presented host key and how it was trusted.
    pub fn host_key(&self) -> &HostKeyReport {
        &self.host_key
    }

    /// `SHA256:…` of the host key, as `ssh-keygen -l` prints it.
    pub fn fingerprint(&self) -> &str {
        &self.host_key.fingerprint
    }

    /// False after a timeout: the engine must reconnect.
    pub fn is_usable(&self) -> bool {
        !self.lost
    }

    /// Channels closed early whose command has not been seen to exit yet (see `run_until`).
    pub fn closes_pending(&self) -> usize {
        self.closing.borrow().len()
    }

    pub(crate) fn error(&self, kind: SshErrorKind) -> SshError {
        SshError::new(&self.target.name, kind)
    }

    /// How commands run as root on this host (see `SudoMode`).
    pub fn sudo_mode(&self) -> SudoMode {
        self.sudo
    }

    /// Make sure sudo works before anything depends on it, so a wrong password is reported
    /// once, up front, and later commands never feed further stdin lines to a retrying sudo.
    /// `-k` makes sudo ignore cached credentials, so what we learn here holds for every
    /// later command (which also run with `-k`).
    fn prepare_sudo(&mut self, creds: &dyn Credentials) -> Result<(), SshError> {
        let deadline = Duration::from_secs(30).max(self.target.connect_timeout);
        if self.target.sudo == SudoMode::None {
            return Ok(());
        }
        let without_password = self.run_line(
            "env LC_ALL=C sudo -k -n true",
            &mut std::io::empty(),
            deadline,
            "checking sudo",
            &mut |_| ControlFlow::Continue(()),
        )?;
        if without_password.exit_status == 0 {
            self.sudo = SudoMode::Passwordless;
            return Ok(());
        }
        let reason =
            sudo_failure(&without_password.stderr_text()).unwrap_or(SudoFailure::NotAllowed);
        if self.target.sudo == SudoMode::Passwordless || reason != SudoFailure::PasswordRequired {
            return Err(self.sudo_error(reason));
        }
        let password = creds
            .secret(&SecretRequest::SudoPassword {
                user: self.target.user.clone(),
                host: self.target.name.clone(),
            })
            .ok_or_else(|| self.sudo_error(SudoFailure::NoPassword))?;
        let mut stdin = password.expose().as_bytes().to_vec();
        stdin.push(b'\n');
        let out = self.run_line(
            "env LC_ALL=C sudo -k -S -p '' true",
            &mut stdin.as_slice(),
            deadline,
            "checking sudo",
            &mut |_| ControlFlow::Continue(()),
        );
        stdin.iter_mut().for_each(|b| *b = 0);
        let out = out?;
        if out.exit_status == 0 {
            self.sudo_password = Some(password);
            self.sudo = SudoMode::Password;
            return Ok(());
        }
        Err(self.sudo_error(sudo_failure(&out.stderr_text()).unwrap_or(SudoFailure::NotAllowed)))
    }

    pub(crate) fn sudo_error(&self, reason: SudoFailure) -> SshError {
        self.error(SshErrorKind::SudoFailed {
            user: self.target.user.clone(),
            reason,
        })
    }

    /// Wait until the socket is ready in the direction libssh2 is blocked on, at most until
    /// `deadline` and never longer than a keepalive period. Returns whether data arrived.
    pub(crate) fn wait_socket(&self, deadline: Instant) -> bool {
        let _ = self.session.keepalive_send();
        self.flush_delayed_ack();
        let dirs = self.session.block_directions();
        let mut events = libc::POLLIN;
        if matches!(
            dirs,
            ssh2::BlockDirections::Outbound | ssh2::BlockDirections::Both
        ) {
            events |= libc::POLLOUT;
        }
        let remaining = deadline
            .saturating_duration_since(Instant::now())
            .min(Duration::from_millis(250));
        let mut fds = [libc::pollfd {
            fd: self.socket.as_raw_fd(),
            events,
            revents: 0,
        }];
        // SAFETY: one valid pollfd for a descriptor we own, for the length we pass.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), 1, remaining.as_millis() as libc::c_int) };
        n > 0 && fds[0].revents & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) != 0
    }

    /// Acknowledges at once what libssh2 has just read, instead of after Linux's delayed-ACK
    /// timer (40 ms). Before it sets TCP_NODELAY for a session, sshd sends with Nagle's
    /// algorithm: it holds a small packet (the reply to our channel open, right after login)
    /// until its previous one is acknowledged, and we, with nothing to send while we wait for
    /// that reply, would acknowledge only when the timer fires. Every new connection paid those
    /// 40 ms. TCP_QUICKACK sends a pending ACK now; the kernel clears it again by itself, so it
    /// is set each time we are about to wait. Not a TCP socket (a jump tunnel): nothing to do.
    fn flush_delayed_ack(&self) {
        let on: libc::c_int = 1;
        // SAFETY: a valid descriptor we own and a c_int option of the size we pass.
        unsafe {
            libc::setsockopt(
                self.socket.as_raw_fd(),
                libc::IPPROTO_TCP,
                libc::TCP_QUICKACK,
                (&on as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            );
        }
    }

    /// Whether the socket has unread data right now (no waiting).
    pub(crate) fn socket_readable_now(&self) -> bool {
        let mut fds = [libc::pollfd {
            fd: self.socket.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        }];
        // SAFETY: one valid pollfd for a descriptor we own.
        unsafe { libc::poll(fds.as_mut_ptr(), 1, 0) > 0 }
    }

    /// Retry a libssh2 call that may say "would block" until it completes, the deadline
    /// passes, or the host stops answering keepalives.
    pub(crate) fn wait_for<T>(
        &self,
        deadline: Instant,
        during: &str,
        mut op: impl FnMut() -> Result<T, ssh2::Error>,
    ) -> Result<T, SshError> {
        let started = Instant::now();
        let mut liveness = Liveness::new(&self.target);
        loop {
            if self.socket_readable_now() {
                liveness.heard();
            }
            match op() {
                Ok(v) => return Ok(v),
                Err(e) if e.code() == EAGAIN => {
                    if Instant::now() >= deadline {
                        return Err(self.error(SshErrorKind::Timeout {
                            during: during.into(),
                            after: started.elapsed(),
                        }));
                    }
                    liveness.check(self, during)?;
                    if self.wait_socket(deadline) {
                        liveness.heard();
                    }
                }
                Err(e) => return Err(self.failed(during, &e)),
            }
        }
    }

    /// Sorts a failure on this logged-in session: the socket failing or closed means the
    /// connection was lost (libssh2 then says little more than "Unexpected error"); anything
    /// else is the SSH protocol refusing something.
    pub(crate) fn failed(&self, during: &str, e: &ssh2::Error) -> SshError {
        let reason = e.message().to_string();
        if is_socket_failure(e.code()) || self.socket_closed() {
            self.error(SshErrorKind::ConnectionLost {
                during: during.into(),
                reason,
            })
        } else {
            self.error(SshErrorKind::Protocol {
                during: during.into(),
                reason,
            })
        }
    }

    /// Whether the peer closed the transport or it failed (reset): peeking reads end-of-file
    /// or an error other than "nothing to read yet".
    pub(crate) fn socket_closed(&self) -> bool {
        let mut byte = 0u8;
        // SAFETY: a valid, owned descriptor and a one-byte buffer; MSG_PEEK consumes nothing.
        let n = unsafe {
            libc::recv(
                self.socket.as_raw_fd(),
                (&mut byte as *mut u8).cast(),
                1,
                libc::MSG_PEEK | libc::MSG_DONTWAIT,
            )
        };
        match n {
            0 => true,
            n if n > 0 => false,
            _ => !matches!(
                std::io::Error::last_os_error().raw_os_error(),
                Some(libc::EAGAIN | libc::EINTR)
            ),
        }
    }
}

/// libssh2's socket errors: send, disconnect, receive, socket timeout.
fn is_socket_failure(code: ErrorCode) -> bool {
    matches!(code, ErrorCode::Session(-7 | -13 | -43 | -30))
}

/// How many keepalive periods without a byte from the host mean it is gone (OpenSSH's
/// ServerAliveCountMax default). Keepalives ask for a reply, so a live host is never silent
/// that long, even while a command prints nothing.
const SILENT_KEEPALIVES: u32 = 3;

/// Notices a host that stopped answering: frozen, or cut off without a reset.
pub(crate) struct Liveness {
    last_heard: Instant,
    limit: Duration,
}

impl Liveness {
    pub(crate) fn new(target: &Target) -> Liveness {
        Liveness {
            last_heard: Instant::now(),
            limit: target.keepalive_interval.max(Duration::from_secs(1)) * SILENT_KEEPALIVES,
        }
    }

    pub(crate) fn heard(&mut self) {
        self.last_heard = Instant::now();
    }

    pub(crate) fn check(&self, host: &HostSession, during: &str) -> Result<(), SshError> {
        let silent = self.last_heard.elapsed();
        if silent < self.limit {
            return Ok(());
        }
        Err(host.error(SshErrorKind::Timeout {
            during: format!("{during} (the host stopped answering keepalives)"),
            after: silent,
        }))
    }
}

/// A host key fetched without logging in, for a wizard to show before trusting it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScannedHostKey {
    pub key_type: String,
    pub fingerprint: String,
    /// What known_hosts says about it right now.
    pub known: bool,
    blob: Vec<u8>,
}

impl ScannedHostKey {
    /// Trust this key for `target`: append one line to `target.record_new_keys_in`.
    pub fn record(&self, target: &Target) -> Result<PathBuf, SshError> {
        let file = target.record_new_keys_in.clone();
        append_entry(&file, &target.address, target.port, &self.blob).map_err(|e| {
            SshError::new(
                &target.name,
                SshErrorKind::HostKeyUnverifiable {
                    reason: format!("cannot record the key in {}: {e}", file.display()),
                },
            )
        })?;
        Ok(file)
    }
}

/// Fetch the host key `target` presents (the type known_hosts expects first, else ed25519),
/// like `ssh-keyscan`, without authenticating. Direct connections only.
pub fn scan_host_key(target: &Target) -> Result<ScannedHostKey, SshError> {
    let err = |kind| SshError::new(&target.name, kind);
    if target.jump.is_some() {
        return Err(err(SshErrorKind::Config {
            reason: "scanning a host key through a jump host is not supported; connect with \
                     host_key_policy = \"accept-new\" instead"
                .into(),
        }));
    }
    let known = KnownHosts::load(&target.known_hosts, &target.address, target.port)
        .map_err(|reason| err(SshErrorKind::HostKeyUnverifiable { reason }))?;
    let stream = tcp_connect(target)?;
    let mut session = Session::new().map_err(|e| protocol(target, "starting SSH", &e))?;
    session.set_timeout(millis(target.connect_timeout));
    let supported = session
        .supported_algs(MethodType::HostKey)
        .unwrap_or_default();
    let preference = hostkey_preference(&known.key_types(), &supported);
    if !preference.is_empty() {
        session
            .method_pref(MethodType::HostKey, &preference)
            .map_err(|e| protocol(target, "choosing host key algorithms", &e))?;
    }
    session.set_tcp_stream(stream);
    session.handshake().map_err(|e| {
        classify(
            target,
            "exchanging SSH greetings",
            target.connect_timeout,
            &e,
        )
    })?;
    let (blob, _) = session.host_key().ok_or_else(|| {
        err(SshErrorKind::Protocol {
            during: "reading the host key".into(),
            reason: "the server sent none".into(),
        })
    })?;
    let scanned = ScannedHostKey {
        key_type: blob_key_type(blob).unwrap_or_else(|| "unknown".into()),
        fingerprint: fingerprint(blob),
        known: known.check(blob) == KeyCheck::Match,
        blob: blob.to_vec(),
    };
    let _ = session.disconnect(None, "host key scan", None);
    Ok(scanned)
}

impl Drop for HostSession {
    fn drop(&mut self) {
        if !self.lost {
            // Best effort and non-blocking: never wait on a peer to say goodbye.
            let _ = self.session.disconnect(None, "installer done", None);
        }
    }
}

/// Recognise sudo's own complaints in stderr (sudo's messages are not translated when the
/// remote locale is C/POSIX, which is what a non-interactive SSH command usually gets).
pub(crate) fn sudo_failure(stderr: &str) -> Option<SudoFailure> {
    for line in stderr.lines() {
        let l = line.trim();
        // sudo 1.8 prints "<user> is not in the sudoers file" without its "sudo:" prefix.
        if l.contains("is not in the sudoers file") {
            return Some(SudoFailure::NotAllowed);
        }
        if !(l.starts_with("sudo:") || l.starts_with("Sorry")) {
            continue;
        }
        if l.contains("incorrect password")
            || l.contains("Sorry, try again")
            || l.contains("no password was provided")
        {
            return Some(SudoFailure::WrongPassword);
        }
        if l.contains("must have a tty") {
            return Some(SudoFailure::RequiresTty);
        }
        if l.contains("a password is required") {
            return Some(SudoFailure::PasswordRequired);
        }
        if l.contains("not in the sudoers")
            || l.contains("not allowed to")
            || l.contains("may not run sudo")
        {
            return Some(SudoFailure::NotAllowed);
        }
    }
    None
}

fn tcp_connect(target: &Target) -> Result<TcpStream, SshError> {
    let address = format!("{}:{}", target.address, target.port);
    let unreachable = |reason: String| {
        SshError::new(
            &target.name,
            SshErrorKind::Unreachable {
                address: address.clone(),
                reason,
            },
        )
    };
    let addrs: Vec<_> = (target.address.as_str(), target.port)
        .to_socket_addrs()
        .map_err(|e| unreachable(format!("cannot resolve the name: {e}")))?
        .collect();
    let mut last = unreachable("the name resolves to no address".into());
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, target.connect_timeout) {
            Ok(stream) => {
                let _ = stream.set_nodelay(true);
                return Ok(stream);
            }
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
                last = SshError::new(
                    &target.name,
                    SshErrorKind::Timeout {
                        during: format!("connecting to {address}"),
                        after: target.connect_timeout,
                    },
                )
            }
            Err(e) => last = unreachable(e.to_string()),
        }
    }
    Err(last)
}

fn verify_host_key(
    session: &Session,
    target: &Target,
    policy: &HostKeyPolicy,
    known: &KnownHosts,
) -> Result<HostKeyReport, SshError> {
    let err = |kind| SshError::new(&target.name, kind);
    let (blob, _) = session.host_key().ok_or_else(|| {
        err(SshErrorKind::Protocol {
            during: "reading the host key".into(),
            reason: "the server sent none".into(),
        })
    })?;
    let fp = fingerprint(blob);
    let key_type = blob_key_type(blob).unwrap_or_else(|| "unknown".into());
    let report = |verdict| HostKeyReport {
        key_type: key_type.clone(),
        fingerprint: fp.clone(),
        verdict,
    };
    if let Some(pin) = &target.pinned_fingerprint {
        if fingerprints_equal(pin, &fp) {
            return Ok(report(HostKeyVerdict::Pinned));
        }
        return Err(err(SshErrorKind::HostKeyChanged {
            recorded_in: "the profile's pinned fingerprint".into(),
            old_fingerprints: vec![pin.clone()],
            new_key_type: key_type.clone(),
            new_fingerprint: fp.clone(),
        }));
    }
    match known.check(blob) {
        KeyCheck::Match => Ok(report(HostKeyVerdict::Known)),
        KeyCheck::Mismatch(keys) => Err(err(SshErrorKind::HostKeyChanged {
            recorded_in: keys
                .iter()
                .map(|k| format!("{}:{}", k.file.display(), k.line))
                .collect::<Vec<_>>()
                .join(", "),
            old_fingerprints: keys
                .iter()
                .map(|k| format!("{} {}", k.key_type, k.fingerprint()))
                .collect(),
            new_key_type: key_type.clone(),
            new_fingerprint: fp.clone(),
        })),
        KeyCheck::NotFound => match policy {
            HostKeyPolicy::Strict => Err(err(SshErrorKind::HostKeyUnknown {
                key_type: key_type.clone(),
                fingerprint: fp.clone(),
                known_hosts: target.known_hosts.clone(),
            })),
            HostKeyPolicy::AcceptNew => {
                let file = target.record_new_keys_in.clone();
                append_entry(&file, &target.address, target.port, blob).map_err(|e| {
                    err(SshErrorKind::HostKeyUnverifiable {
                        reason: format!("cannot record the new key in {}: {e}", file.display()),
                    })
                })?;
                Ok(report(HostKeyVerdict::Recorded { file }))
            }
        },
    }
}

fn millis(d: Duration) -> u32 {
    d.as_millis().clamp(1, u32::MAX as u128) as u32
}

fn protocol(target: &Target, during: &str, e: &ssh2::Error) -> SshError {
    SshError::new(
        &target.name,
        SshErrorKind::Protocol {
            during: during.into(),
            reason: e.message().to_string(),
        },
    )
}

/// Sort a handshake failure: a timeout or a dropped connection may heal, the rest will not.
fn classify(target: &Target, during: &str, after: Duration, e: &ssh2::Error) -> SshError {
    let kind = match e.code() {
        ERROR_TIMEOUT => SshErrorKind::Timeout {
            during: during.into(),
            after,
        },
        // banner receive, socket send, socket disconnect, socket receive
        ErrorCode::Session(-2 | -7 | -13 | -43) => SshErrorKind::Unreachable {
            address: format!("{}:{}", target.address, target.port),
            reason: format!("the connection was closed while {during} ({})", e.message()),
        },
        _ => SshErrorKind::Protocol {
            during: during.into(),
            reason: e.message().to_string(),
        },
    };
    SshError::new(&target.name, kind)
}

/// Whether an authentication error was really libssh2 giving up on a silent server.
fn auth_timed_out(e: &SshError) -> bool {
    matches!(&e.kind, SshErrorKind::AuthFailed { tried, .. }
        if tried.iter().any(|t| t.to_ascii_lowercase().contains("timed out")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sudo_refusals_are_recognised_from_its_messages() {
        let cases = [
            (
                "sudo: a password is required\n",
                Some(SudoFailure::PasswordRequired),
            ),
            (
                "Sorry, try again.\nsudo: 1 incorrect password attempt\n",
                Some(SudoFailure::WrongPassword),
            ),
            (
                "ops is not in the sudoers file.  This incident will be reported.\n",
                Some(SudoFailure::NotAllowed),
            ),
            (
                "sudo: ops is not in the sudoers file.  This incident will be reported.\n",
                Some(SudoFailure::NotAllowed),
            ),
            (
                "Sorry, user ops is not allowed to execute '/bin/sh -c id' as root on h.\n",
                Some(SudoFailure::NotAllowed),
            ),
            (
                "sudo: sorry, you must have a tty to run sudo\n",
                Some(SudoFailure::RequiresTty),
            ),
            ("rm: cannot remove 'x': Permission denied\n", None),
        ];
        for (stderr, expected) in cases {
            assert_eq!(sudo_failure(stderr), expected, "{stderr}");
        }
    }
}
