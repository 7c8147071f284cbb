//! A real OpenSSH server for tests: `/usr/sbin/sshd -D -e -f <cfg>` on a private loopback
//! address (127.0.100.x–127.0.149.x, apart from the lab's), in its own mount namespace whose
//! /etc/passwd, shadow, group and sudoers are bind-mounted copies, so test users and sudo
//! rules exist only for this server and vanish with it. Killed (with every session process)
//! on Drop. Needs root; `Sshd::skip_unless_root` prints why a test is skipped.

#![allow(dead_code)]

use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SudoRule {
    None,
    NoPassword,
    WithPassword,
}

#[derive(Clone, Debug)]
pub struct TestUser {
    pub name: String,
    pub password: Option<String>,
    pub sudo: SudoRule,
}

pub struct SshdBuilder {
    host_key_types: Vec<&'static str>,
    users: Vec<TestUser>,
    password_auth: bool,
    pubkey_auth: bool,
    kbd_interactive: bool,
    allow_tcp_forwarding: bool,
    log_level: &'static str,
    sudoers_extra: String,
}

pub struct Sshd {
    pub dir: tempfile::TempDir,
    pub address: String,
    pub port: u16,
    /// Private key authorised for root and every test user.
    pub client_key: PathBuf,
    child: Child,
}

static NEXT: AtomicU32 = AtomicU32::new(0);

pub fn is_root() -> bool {
    unsafe { libc::geteuid() == 0 }
}

impl Sshd {
    pub fn builder() -> SshdBuilder {
        SshdBuilder {
            host_key_types: vec!["ed25519"],
            users: Vec::new(),
            password_auth: false,
            pubkey_auth: true,
            kbd_interactive: false,
            allow_tcp_forwarding: true,
            log_level: "VERBOSE",
            sudoers_extra: String::new(),
        }
    }

    /// An sshd with an ed25519 host key accepting the client key for root.
    pub fn start() -> Sshd {
        Sshd::builder().start()
    }

    /// True (and a printed reason) when the test must be skipped.
    pub fn skip_unless_root(test: &str) -> bool {
        if is_root() {
            return false;
        }
        // Written to the stderr handle directly: the harness captures eprintln! output.
        let _ = writeln!(
            std::io::stderr().lock(),
            "skipping {test}: starting sshd with private users needs root (CI runs as root)"
        );
        true
    }

    pub fn host_key_pub(&self, key_type: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(format!("ssh_host_{key_type}_key.pub")))
            .expect("host key exists")
    }

    /// A known_hosts line for this server's key of `key_type` (`ed25519`, `ecdsa`, `rsa`).
    pub fn known_hosts_line(&self, key_type: &str) -> String {
        let public = self.host_key_pub(key_type);
        let mut parts = public.split_whitespace();
        let (kind, blob) = (parts.next().unwrap(), parts.next().unwrap());
        format!("[{}]:{} {kind} {blob}\n", self.address, self.port)
    }

    /// `SHA256:…` of the host key of `key_type`, computed by ssh-keygen (not by our code).
    pub fn host_key_fingerprint(&self, key_type: &str) -> String {
        let out = Command::new("ssh-keygen")
            .arg("-lf")
            .arg(self.dir.path().join(format!("ssh_host_{key_type}_key.pub")))
            .output()
            .unwrap();
        String::from_utf8(out.stdout)
            .unwrap()
            .split_whitespace()
            .nth(1)
            .unwrap()
            .to_string()
    }

    /// Write a known_hosts file trusting the given key types.
    pub fn known_hosts_file(&self, key_types: &[&str]) -> PathBuf {
        let path = self.dir.path().join(format!(
            "known_hosts-{}",
            NEXT.fetch_add(1, Ordering::SeqCst)
        ));
        let text: String = key_types.iter().map(|t| self.known_hosts_line(t)).collect();
        std::fs::write(&path, text).unwrap();
        path
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// SIGSTOP the server and every session process it started: a frozen VM.
    pub fn freeze(&self) {
        for pid in self.process_tree() {
            unsafe { libc::kill(pid, libc::SIGSTOP) };
        }
    }

    pub fn thaw(&self) {
        for pid in self.process_tree() {
            unsafe { libc::kill(pid, libc::SIGCONT) };
        }
    }

    /// SIGKILL every session's sshd (not the listener, not the commands): every connection drops
    /// at once, as when a network link dies, and the commands see their stdin end.
    pub fn drop_connections(&self) {
        for pid in self.process_tree().into_iter().skip(1) {
            let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            if comm.trim() == "sshd" || comm.trim().starts_with("sshd-") {
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("sshd.log")).unwrap_or_default()
    }

    fn process_tree(&self) -> Vec<i32> {
        let mut tree = vec![self.pid()];
        let mut i = 0;
        while i < tree.len() {
            let parent = tree[i];
            for entry in std::fs::read_dir("/proc").unwrap().flatten() {
                let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
                    continue;
                };
                let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                    continue;
                };
                // Fields after the parenthesised command name: state, ppid, …
                let Some(after) = stat.rsplit_once(')').map(|(_, a)| a) else {
                    continue;
                };
                let ppid: i32 = after
                    .split_whitespace()
                    .nth(1)
                    .and_then(|p| p.parse().ok())
                    .unwrap_or(0);
                if ppid == parent && !tree.contains(&pid) {
                    tree.push(pid);
                }
            }
            i += 1;
        }
        tree
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let tree = self.process_tree();
        for pid in &tree {
            unsafe {
                libc::kill(*pid, libc::SIGKILL);
                libc::kill(*pid, libc::SIGCONT);
            }
        }
        let _ = self.child.wait();
    }
}

impl SshdBuilder {
    /// Host key types to generate (`ed25519`, `ecdsa`, `rsa`).
    pub fn host_keys(mut self, types: &[&'static str]) -> Self {
        self.host_key_types = types.to_vec();
        self
    }

    pub fn user(mut self, name: &str, password: Option<&str>, sudo: SudoRule) -> Self {
        self.users.push(TestUser {
            name: name.into(),
            password: password.map(Into::into),
            sudo,
        });
        self
    }

    /// sshd's LogLevel (`DEBUG1` logs forwarded channels).
    pub fn log_level(mut self, level: &'static str) -> Self {
        self.log_level = level;
        self
    }

    /// Extra lines for the server's private /etc/sudoers (e.g. `Defaults requiretty`).
    pub fn sudoers(mut self, lines: &str) -> Self {
        self.sudoers_extra.push_str(lines);
        self
    }

    pub fn allow_tcp_forwarding(mut self, on: bool) -> Self {
        self.allow_tcp_forwarding = on;
        self
    }

    /// Passwords only through keyboard-interactive (PAM), as many distributions ship sshd.
    pub fn keyboard_interactive_only(mut self) -> Self {
        self.kbd_interactive = true;
        self.password_auth = false;
        self
    }

    pub fn password_auth(mut self, on: bool) -> Self {
        self.password_auth = on;
        self
    }

    pub fn pubkey_auth(mut self, on: bool) -> Self {
        self.pubkey_auth = on;
        self
    }

    pub fn start(self) -> Sshd {
        let dir = tempfile::Builder::new()
            .prefix("scalr-sshd-")
            .tempdir()
            .unwrap();
        let d = dir.path();
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::create_dir_all("/run/sshd").unwrap();
        for t in &self.host_key_types {
            keygen(&d.join(format!("ssh_host_{t}_key")), t, "");
        }
        let client_key = d.join("client_key");
        keygen(&client_key, "ed25519", "");
        let authorized = d.join("authorized_keys");
        std::fs::create_dir_all(&authorized).unwrap();
        let client_pub = std::fs::read_to_string(client_key.with_extension("pub")).unwrap();
        std::fs::write(authorized.join("root"), &client_pub).unwrap();

        let etc = d.join("etc");
        std::fs::create_dir_all(&etc).unwrap();
        let mut passwd = std::fs::read_to_string("/etc/passwd").unwrap();
        let mut shadow = std::fs::read_to_string("/etc/shadow").unwrap();
        let mut group = std::fs::read_to_string("/etc/group").unwrap();
        let mut sudoers = String::from(
            "Defaults env_reset\nDefaults use_pty\nDefaults secure_path=\"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\"\n\
             root ALL=(ALL:ALL) ALL\n",
        );
        for (i, u) in self.users.iter().enumerate() {
            let uid = 61000 + i as u32;
            let home = d.join("home").join(&u.name);
            std::fs::create_dir_all(&home).unwrap();
            std::os::unix::fs::chown(&home, Some(uid), Some(uid)).unwrap();
            passwd.push_str(&format!(
                "{}:x:{uid}:{uid}::{}:/bin/sh\n",
                u.name,
                home.display()
            ));
            group.push_str(&format!("{}:x:{uid}:\n", u.name));
            let hash = match &u.password {
                Some(p) => password_hash(p),
                None => "*".into(),
            };
            shadow.push_str(&format!("{}:{hash}:19000:0:99999:7:::\n", u.name));
            std::fs::write(authorized.join(&u.name), &client_pub).unwrap();
            match u.sudo {
                SudoRule::None => {}
                SudoRule::NoPassword => {
                    sudoers.push_str(&format!("{} ALL=(ALL) NOPASSWD: ALL\n", u.name))
                }
                SudoRule::WithPassword => sudoers.push_str(&format!("{} ALL=(ALL) ALL\n", u.name)),
            }
        }
        sudoers.push_str(&self.sudoers_extra);
        for (name, text, mode) in [
            ("passwd", &passwd, 0o644),
            ("shadow", &shadow, 0o640),
            ("group", &group, 0o644),
            ("sudoers", &sudoers, 0o440),
        ] {
            let path = etc.join(name);
            std::fs::write(&path, text).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        }

        let (address, port) = free_address();
        let host_keys: String = self
            .host_key_types
            .iter()
            .map(|t| {
                format!(
                    "HostKey {}\n",
                    d.join(format!("ssh_host_{t}_key")).display()
                )
            })
            .collect();
        let config = format!(
            "ListenAddress {address}:{port}\n{host_keys}PidFile {pid}\nAuthorizedKeysFile {auth}/%u\n\
             StrictModes no\nUsePAM {pam}\nPermitRootLogin yes\nPasswordAuthentication {pw}\n\
             KbdInteractiveAuthentication {kbd}\nPubkeyAuthentication {pubkey}\nAllowTcpForwarding {fwd}\n\
             Subsystem sftp internal-sftp\nLogLevel {level}\nMaxStartups 100\nMaxAuthTries 10\n",
            pid = d.join("sshd.pid").display(),
            auth = authorized.display(),
            pw = if self.password_auth { "yes" } else { "no" },
            pubkey = if self.pubkey_auth { "yes" } else { "no" },
            fwd = if self.allow_tcp_forwarding { "yes" } else { "no" },
            level = self.log_level,
            pam = if self.kbd_interactive { "yes" } else { "no" },
            kbd = if self.kbd_interactive { "yes" } else { "no" },
        );
        let cfg = d.join("sshd_config");
        std::fs::write(&cfg, config).unwrap();
        let log = std::fs::File::create(d.join("sshd.log")).unwrap();
        let mounts: String = ["passwd", "shadow", "group", "sudoers"]
            .iter()
            .map(|f| format!("mount --bind {}/{f} /etc/{f} && ", etc.display()))
            .collect();
        let script = format!(
            "mount --make-rprivate / && {mounts}exec /usr/sbin/sshd -D -e -f {}",
            cfg.display()
        );
        let child = Command::new("unshare")
            .args(["-m", "--", "sh", "-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("unshare and sshd are installed");
        let sshd = Sshd {
            dir,
            address,
            port,
            client_key,
            child,
        };
        sshd.wait_until_listening();
        sshd
    }
}

impl Sshd {
    fn wait_until_listening(&self) {
        let addr: SocketAddr = format!("{}:{}", self.address, self.port).parse().unwrap();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(30));
        }
        panic!("sshd did not start on {addr}; log:\n{}", self.log());
    }
}

/// A loopback address unique to this process and test, with a port free on it.
fn free_address() -> (String, u16) {
    let n = NEXT.fetch_add(1, Ordering::SeqCst);
    let pid = std::process::id();
    let address = format!("127.0.{}.{}", 100 + (pid % 50), 2 + (n + pid / 50) % 250);
    let listener = TcpListener::bind((address.as_str(), 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    (address, port)
}

pub fn keygen(path: &Path, key_type: &str, passphrase: &str) {
    let _ = std::fs::remove_file(path);
    let _ = std::fs::remove_file(path.with_extension("pub"));
    let mut cmd = Command::new("ssh-keygen");
    cmd.args([
        "-q",
        "-t",
        key_type,
        "-N",
        passphrase,
        "-C",
        "scalr-test",
        "-f",
    ])
    .arg(path);
    if key_type == "rsa" {
        cmd.args(["-b", "2048"]);
    }
    let ok = cmd.status().expect("ssh-keygen is installed").success();
    assert!(ok, "ssh-keygen failed for {}", path.display());
}

fn password_hash(password: &str) -> String {
    let mut child = Command::new("openssl")
        .args(["passwd", "-6", "-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("openssl is installed");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{password}\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// A running `ssh-agent` holding the given keys (in that order); killed on Drop.
pub struct Agent {
    pub socket: PathBuf,
    pid: i32,
    _dir: tempfile::TempDir,
}

impl Agent {
    pub fn start(keys: &[&Path]) -> Agent {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("agent.sock");
        let out = Command::new("ssh-agent")
            .arg("-a")
            .arg(&socket)
            .arg("-s")
            .output()
            .unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        let pid: i32 = text
            .split("SSH_AGENT_PID=")
            .nth(1)
            .and_then(|s| s.split(';').next())
            .and_then(|s| s.parse().ok())
            .expect("ssh-agent printed its pid");
        for key in keys {
            let ok = Command::new("ssh-add")
                .arg("-q")
                .arg(key)
                .env("SSH_AUTH_SOCK", &socket)
                .stderr(Stdio::null())
                .status()
                .unwrap()
                .success();
            assert!(ok, "ssh-add {}", key.display());
        }
        Agent {
            socket,
            pid,
            _dir: dir,
        }
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        unsafe { libc::kill(self.pid, libc::SIGTERM) };
    }
}
