//! Reaching a host through a jump host (bastion), like OpenSSH's ProxyJump.
//!
//! The bastion session opens a `direct-tcpip` channel to the target; a pump thread copies
//! bytes between that channel and one end of a Unix socket pair, and the target's own SSH
//! session runs over the other end, with its own host-key check and login. The pump owns the
//! bastion session and runs it non-blocking in one poll loop, because a blocking read on a
//! channel would hold the session lock and stall the other direction.

use super::error::{SshError, SshErrorKind};
use super::session::HostSession;
use super::target::Target;
use std::io::{ErrorKind, Read, Write};
use std::net::Shutdown;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The running tunnel; dropping it stops the pump and closes the bastion session.
pub struct JumpTunnel {
    stop: Arc<AtomicBool>,
    pump: Option<JoinHandle<()>>,
}

impl Drop for JumpTunnel {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(pump) = self.pump.take() {
            // The pump never blocks for more than one poll interval, so this returns quickly.
            let _ = pump.join();
        }
    }
}

/// Open a channel from `bastion` to `target` and return the local end to run SSH over.
pub fn open_tunnel(
    bastion: HostSession,
    target: &Target,
) -> Result<(UnixStream, JumpTunnel), SshError> {
    let deadline = Instant::now() + target.connect_timeout;
    let channel = bastion
        .wait_for(deadline, "opening the tunnel", || {
            bastion
                .session
                .channel_direct_tcpip(&target.address, target.port, None)
        })
        .map_err(|e| match e.kind {
            SshErrorKind::Protocol { reason, .. } => SshError::new(
                &target.name,
                SshErrorKind::Unreachable {
                    address: format!("{}:{} via {}", target.address, target.port, bastion.target.display_address()),
                    reason: format!(
                        "the jump host refused to forward ({reason}); check that the target is reachable from \
                         the jump host and that its sshd allows TCP forwarding (AllowTcpForwarding)"
                    ),
                },
            ),
            other => SshError::new(&target.name, other),
        })?;
    let (ours, theirs) = UnixStream::pair().map_err(|e| {
        SshError::new(
            &target.name,
            SshErrorKind::Protocol {
                during: "creating the tunnel".into(),
                reason: e.to_string(),
            },
        )
    })?;
    theirs.set_nonblocking(true).ok();
    let stop = Arc::new(AtomicBool::new(false));
    let pump_stop = stop.clone();
    let pump = std::thread::Builder::new()
        .name(format!("ssh-jump-{}", target.name))
        .spawn(move || pump(bastion, channel, theirs, pump_stop))
        .map_err(|e| {
            SshError::new(
                &target.name,
                SshErrorKind::Protocol {
                    during: "starting the tunnel".into(),
                    reason: e.to_string(),
                },
            )
        })?;
    Ok((
        ours,
        JumpTunnel {
            stop,
            pump: Some(pump),
        },
    ))
}

fn pump(
    bastion: HostSession,
    mut channel: ssh2::Channel,
    mut local: UnixStream,
    stop: Arc<AtomicBool>,
) {
    let mut buf = vec![0u8; 32 * 1024];
    let mut to_local: Vec<u8> = Vec::new();
    let mut to_remote: Vec<u8> = Vec::new();
    let (mut local_eof, mut remote_eof, mut eof_sent) = (false, false, false);
    while !stop.load(Ordering::SeqCst) {
        let mut progressed = false;
        if to_local.is_empty() && !remote_eof {
            match channel.read(&mut buf) {
                Ok(0) => remote_eof = channel.eof(),
                Ok(n) => {
                    to_local.extend_from_slice(&buf[..n]);
                    progressed = true;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(_) => break,
            }
        }
        if !to_local.is_empty() {
            match local.write(&to_local) {
                Ok(n) => {
                    to_local.drain(..n);
                    progressed = true;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(_) => break,
            }
        }
        if to_remote.is_empty() && !local_eof {
            match local.read(&mut buf) {
                Ok(0) => local_eof = true,
                Ok(n) => {
                    to_remote.extend_from_slice(&buf[..n]);
                    progressed = true;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(_) => break,
            }
        }
        if !to_remote.is_empty() {
            match channel.write(&to_remote) {
                Ok(n) => {
                    to_remote.drain(..n);
                    progressed = true;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(_) => break,
            }
        }
        if local_eof && to_remote.is_empty() && !eof_sent {
            eof_sent = channel.send_eof().is_ok();
            if eof_sent {
                break;
            }
        }
        if remote_eof && to_local.is_empty() {
            let _ = local.shutdown(Shutdown::Write);
            break;
        }
        if !progressed {
            wait_either(&bastion, &local, !to_local.is_empty());
        }
    }
    // Non-blocking session: closing never waits on a dead bastion.
    let _ = channel.close();
}

/// Sleep until the bastion socket or the local end has something for us (at most 100 ms).
fn wait_either(bastion: &HostSession, local: &UnixStream, local_writable_needed: bool) {
    let _ = bastion.session.keepalive_send();
    let mut remote_events = libc::POLLIN;
    if matches!(
        bastion.session.block_directions(),
        ssh2::BlockDirections::Outbound | ssh2::BlockDirections::Both
    ) {
        remote_events |= libc::POLLOUT;
    }
    let local_events = if local_writable_needed {
        libc::POLLOUT
    } else {
        libc::POLLIN
    };
    let mut fds = [
        libc::pollfd {
            fd: bastion.socket.as_raw_fd(),
            events: remote_events,
            revents: 0,
        },
        libc::pollfd {
            fd: local.as_raw_fd(),
            events: local_events,
            revents: 0,
        },
    ];
    // SAFETY: two valid pollfds for descriptors that outlive the call.
    unsafe {
        libc::poll(
            fds.as_mut_ptr(),
            2,
            Duration::from_millis(100).as_millis() as libc::c_int,
        )
    };
}
