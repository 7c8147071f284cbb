//! OpenSSH inside a VM: its configuration, its host key, starting it in the VM's namespaces, and
//! the client side's key and known_hosts.

use crate::lab::error::{LabError, Result};
use std::fs::{self, File};
use std::io::Read;
use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const SSHD: &str = "/usr/sbin/sshd";
/// Inside the VM (its own /etc and /var/log).
const CONFIG_IN_VM: &str = "/etc/ssh/sshd_config";
pub const LOG_IN_VM: &str = "/var/log/sshd.log";

/// `sshd_config` for one VM. PAM is off: the machine's PAM session modules (logind and friends)
/// cannot work in a namespace and would slow every login; keys are the only way in.
pub fn config(vm: &str, address: &str, port: u16) -> String {
    format!(
        "# scalr-lab VM {vm}: written by `scalr-installer lab up`.\n\
         ListenAddress {address}:{port}\n\
         HostKey /etc/ssh/ssh_host_ed25519_key\n\
         PidFile none\n\
         PermitRootLogin prohibit-password\n\
         PubkeyAuthentication yes\n\
         AuthorizedKeysFile .ssh/authorized_keys\n\
         PasswordAuthentication no\n\
         KbdInteractiveAuthentication no\n\
         UsePAM no\n\
         UseDNS no\n\
         PrintMotd no\n\
         PrintLastLog no\n\
         # Parallel installs and tests open many sessions at once.\n\
         MaxStartups 200:30:400\n\
         MaxSessions 64\n\
         AcceptEnv LANG LC_*\n\
         # The simulated tools in /usr/local first, for every user.\n\
         SetEnv PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n\
         Subsystem sftp internal-sftp\n"
    )
}

/// Generates an ed25519 key pair without a passphrase at `path` (and `path.pub`).
pub fn generate_key(path: &Path, comment: &str) -> Result<()> {
    for stale in [path.to_path_buf(), path.with_extension("pub")] {
        let _ = fs::remove_file(stale);
    }
    let output = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f"])
        .arg(path)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| LabError::CommandFailed {
            command: "ssh-keygen".into(),
            detail: format!("{e}: install openssh-client: apt-get install openssh-client"),
        })?;
    if !output.status.success() {
        return Err(LabError::CommandFailed {
            command: format!("ssh-keygen -t ed25519 -f {}", path.display()),
            detail: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        });
    }
    Ok(())
}

/// The public half of a key pair, as one line (`ssh-ed25519 AAAA… comment`).
pub fn public_key(private: &Path) -> Result<String> {
    let path = private.with_extension("pub");
    fs::read_to_string(&path)
        .map(|s| s.trim().to_string())
        .map_err(LabError::io("read", &path))
}

/// known_hosts lines for a VM's host key. OpenSSH looks a port-22 host up by its bare address
/// and any other port as `[address]:port`; both forms are written for 22 so every client agrees.
pub fn known_hosts_lines(address: &str, port: u16, host_pubkey: &str) -> String {
    let mut parts = host_pubkey.split_whitespace();
    let key = format!(
        "{} {}",
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default()
    );
    let mut out = format!("[{address}]:{port} {key}\n");
    if port == 22 {
        out.push_str(&format!("{address} {key}\n"));
    }
    out
}

/// Starts sshd inside the namespaces of `holder_pid`, as its own session so it outlives `lab up`.
pub fn spawn_in_vm(holder_pid: i32, stderr_log: &Path) -> Result<Child> {
    let open_ns = |kind: &str| {
        let path = format!("/proc/{holder_pid}/ns/{kind}");
        File::open(&path).map_err(LabError::io("open the VM namespace", path))
    };
    let (mnt, uts) = (open_ns("mnt")?, open_ns("uts")?);
    let stderr = File::create(stderr_log).map_err(LabError::io("create", stderr_log))?;
    let mut cmd = Command::new(SSHD);
    cmd.args(["-D", "-f", CONFIG_IN_VM, "-E", LOG_IN_VM])
        .current_dir("/")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr);
    // SAFETY: setns and setsid are async-signal-safe system calls on descriptors opened above.
    unsafe {
        cmd.pre_exec(move || {
            if libc::setns(mnt.as_raw_fd(), libc::CLONE_NEWNS) != 0
                || libc::setns(uts.as_raw_fd(), libc::CLONE_NEWUTS) != 0
                || libc::setsid() < 0
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd.spawn().map_err(|e| LabError::CommandFailed {
        command: format!("{SSHD} -D -f {CONFIG_IN_VM}"),
        detail: e.to_string(),
    })
}

/// Waits until `address:port` answers with an SSH banner, or `child` exits, or time runs out.
pub fn wait_for_banner(
    address: &str,
    port: u16,
    child: &mut Child,
    timeout: Duration,
) -> std::result::Result<(), String> {
    let addr: SocketAddr = format!("{address}:{port}")
        .parse()
        .map_err(|e| format!("{e}"))?;
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("sshd exited ({status}) before listening"));
        }
        if let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
            let mut banner = [0u8; 8];
            if stream.read_exact(&mut banner).is_ok() && banner.starts_with(b"SSH-2.0") {
                return Ok(());
            }
        }
        if Instant::now() > deadline {
            return Err(format!("sshd did not answer on {addr} within {timeout:?}"));
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_22_hosts_are_known_by_bare_and_bracketed_address() {
        let lines = known_hosts_lines("127.0.3.11", 22, "ssh-ed25519 AAAAkey root@app-1");
        assert_eq!(
            lines,
            "[127.0.3.11]:22 ssh-ed25519 AAAAkey\n127.0.3.11 ssh-ed25519 AAAAkey\n"
        );
        let lines = known_hosts_lines("127.0.3.11", 2222, "ssh-ed25519 AAAAkey");
        assert_eq!(lines, "[127.0.3.11]:2222 ssh-ed25519 AAAAkey\n");
    }

    #[test]
    fn sshd_listens_only_on_the_vm_address_and_never_asks_for_passwords() {
        let cfg = config("app-1", "127.0.3.11", 22);
        assert!(cfg.contains("ListenAddress 127.0.3.11:22\n"));
        assert!(cfg.contains("PasswordAuthentication no\n"));
        assert!(cfg.contains("PermitRootLogin prohibit-password\n"));
    }
}
