//! The per-VM supervisor daemon: holds the enabled services' TCP listeners and answers the
//! password protocol of `net`, like the real package's supervisord holds its programs.
//!
//! `reconfigure` writes the plan (programs, sockets, password hashes) and (re)starts the daemon;
//! `scalr-server-manage` talks to it over a Unix socket (`status`, `stop`, `start`, `restart`).
//! The daemon is detached (`setsid`) and stays in the VM's mount namespace, so `lab down` finds it.

use super::net::Request;
use super::root::{SimRoot, MYSQL_DATA_DIR, ROOT_ENV, RUN_DIR};
use super::services::Program;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddrV4, TcpListener, TcpStream};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// What the daemon runs; written by `reconfigure` (mode 0600: it holds password hashes).
pub const PLAN: &str = "/opt/scalr-server/etc/supervisor/plan.toml";
pub const PIDFILE: &str = "/opt/scalr-server/var/run/supervisord.pid";
pub const SOCKET: &str = "/opt/scalr-server/var/run/supervisor.sock";
pub const LOG: &str = "/opt/scalr-server/var/log/supervisor/supervisord.log";
/// Set once the main `scalr` schema exists in this VM's MySQL.
pub const SCHEMA_MARK: &str = "/opt/scalr-server/var/lib/mysql/scalr-schema-created";
/// Where replication state is recorded on master and slave.
pub const REPLICATION: &str = "/opt/scalr-server/var/lib/mysql/replication.toml";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub programs: Vec<Program>,
    /// service → user → sha256 of the password, from the secrets file at reconfigure time.
    #[serde(default)]
    pub credentials: BTreeMap<String, BTreeMap<String, String>>,
}

impl Plan {
    pub fn read(root: &SimRoot) -> Option<Plan> {
        let text = std::fs::read_to_string(root.path(PLAN)).ok()?;
        toml::from_str(&text).ok()
    }

    /// Writes the plan; returns whether it differs from the one in force.
    pub fn write(&self, root: &SimRoot) -> Result<bool, String> {
        let path = root.path(PLAN);
        let text =
            toml::to_string(self).map_err(|e| format!("cannot encode the supervisor plan: {e}"))?;
        if std::fs::read_to_string(&path).ok().as_deref() == Some(text.as_str()) {
            return Ok(false);
        }
        let dir = path.parent().expect("plan path has a parent");
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&path)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        f.write_all(text.as_bytes())
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600));
        Ok(true)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Running,
    Stopped,
    Fatal,
}

impl State {
    pub fn name(self) -> &'static str {
        match self {
            State::Running => "RUNNING",
            State::Stopped => "STOPPED",
            State::Fatal => "FATAL",
        }
    }

    fn parse(s: &str) -> Option<State> {
        [State::Running, State::Stopped, State::Fatal]
            .into_iter()
            .find(|st| st.name() == s)
    }
}

/// One line of `status`, as the daemon reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgramStatus {
    pub name: String,
    pub state: State,
    pub pid: u32,
    /// When it entered this state (seconds since the epoch).
    pub since: u64,
    pub error: String,
}

/// The daemon's pid when one is alive for this root.
pub fn running_pid(root: &SimRoot) -> Option<i32> {
    let pid: i32 = std::fs::read_to_string(root.path(PIDFILE))
        .ok()?
        .trim()
        .parse()
        .ok()?;
    is_daemon(pid).then_some(pid)
}

/// Whether `pid` is a live (not zombie) supervisor daemon.
fn is_daemon(pid: i32) -> bool {
    let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let is_ours = cmdline.split(|b| *b == 0).any(|arg| arg == b"supervise");
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let zombie = status
        .lines()
        .any(|l| l.starts_with("State:") && l.contains('Z'));
    is_ours && !zombie
}

/// Sends one control command and returns the daemon's reply.
pub fn control(root: &SimRoot, command: &str) -> Result<String, String> {
    let path = root.path(SOCKET);
    let mut stream =
        UnixStream::connect(&path).map_err(|e| format!("unix://{} {e}", path.display()))?;
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    stream
        .write_all(format!("{command}\n").as_bytes())
        .map_err(|e| e.to_string())?;
    stream.shutdown(std::net::Shutdown::Write).ok();
    let mut reply = String::new();
    std::io::Read::read_to_string(&mut stream, &mut reply).map_err(|e| e.to_string())?;
    Ok(reply)
}

pub fn status(root: &SimRoot) -> Result<Vec<ProgramStatus>, String> {
    let reply = control(root, "status")?;
    Ok(reply
        .lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.splitn(5, '\t').collect();
            Some(ProgramStatus {
                name: f.first()?.to_string(),
                state: State::parse(f.get(1)?)?,
                pid: f.get(2)?.parse().ok()?,
                since: f.get(3)?.parse().ok()?,
                error: f.get(4).unwrap_or(&"").to_string(),
            })
        })
        .collect())
}

/// Starts the daemon for the current plan, replacing a running one, and waits until its
/// sockets are bound (or failed to bind).
pub fn start(root: &SimRoot) -> Result<(), String> {
    stop_supervisor(root);
    let log_path = root.path(LOG);
    std::fs::create_dir_all(log_path.parent().expect("log has a parent"))
        .map_err(|e| e.to_string())?;
    std::fs::create_dir_all(root.path(RUN_DIR)).map_err(|e| e.to_string())?;
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(|e| format!("cannot open {}: {e}", log_path.display()))?;
    let exe =
        std::env::current_exe().map_err(|e| format!("cannot find the simulator binary: {e}"))?;
    let mut cmd = Command::new(exe);
    cmd.arg0("scalr-lab-sim")
        .arg("supervise")
        .env(ROOT_ENV, root.base())
        .stdin(Stdio::null())
        .stdout(log.try_clone().map_err(|e| e.to_string())?)
        .stderr(log);
    // SAFETY: setsid is async-signal-safe; it detaches the daemon from the SSH session so the
    // session's end (SIGHUP) does not take the services down with it.
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start supervisord: {e}"))?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if control(root, "ping").is_ok_and(|r| r.trim() == "pong") {
            // Reap it later from a thread so it never lingers as a zombie of a long-lived caller.
            std::thread::spawn(move || child.wait());
            return Ok(());
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!(
                "supervisord exited at start ({status}); see {}",
                log_path.display()
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    Err(format!(
        "supervisord did not come up within 10 s; see {}",
        log_path.display()
    ))
}

/// Stops this root's daemon (closing every port) and waits until it is gone. Tests call this
/// to leave no daemon behind.
pub fn stop_supervisor(root: &SimRoot) {
    let Some(pid) = running_pid(root) else { return };
    let _ = control(root, "shutdown");
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline {
        // Gone means the process, not only its pidfile (removed just before it exits).
        if running_pid(root).is_none() && !is_daemon(pid) {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    );
    let _ = std::fs::remove_file(root.path(PIDFILE));
}

struct Slot {
    program: Program,
    state: State,
    since: u64,
    error: String,
    listeners: Vec<TcpListener>,
}

impl Slot {
    fn start(&mut self) {
        self.listeners.clear();
        self.error.clear();
        for addr in &self.program.listen {
            match bind(addr) {
                Ok(listener) => self.listeners.push(listener),
                Err(e) => {
                    self.listeners.clear();
                    self.state = State::Fatal;
                    self.error = format!("cannot listen on {addr}: {e}");
                    self.since = now();
                    return;
                }
            }
        }
        self.state = State::Running;
        self.since = now();
    }

    fn stop(&mut self) {
        self.listeners.clear();
        self.state = State::Stopped;
        self.since = now();
    }
}

fn bind(addr: &str) -> Result<TcpListener, String> {
    let sock: SocketAddrV4 = addr
        .parse()
        .map_err(|_| "Name or service not known".to_string())?;
    if !sock.ip().is_loopback() {
        return Err("refusing to listen outside 127.0.0.0/8 (lab network rule)".into());
    }
    let listener = TcpListener::bind(sock).map_err(|e| e.to_string())?;
    listener.set_nonblocking(true).map_err(|e| e.to_string())?;
    Ok(listener)
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The daemon itself (`scalr-lab-sim supervise`).
pub fn run_daemon(root: &SimRoot) -> ExitCode {
    let Some(plan) = Plan::read(root) else {
        eprintln!(
            "supervisord: no plan at {}; run `scalr-server-ctl reconfigure`",
            root.path(PLAN).display()
        );
        return ExitCode::from(2);
    };
    let sock_path = root.path(SOCKET);
    let _ = std::fs::remove_file(&sock_path);
    let control_listener = match UnixListener::bind(&sock_path) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("supervisord: cannot bind {}: {e}", sock_path.display());
            return ExitCode::from(2);
        }
    };
    let pid = std::process::id();
    let slots: Vec<Slot> = plan
        .programs
        .iter()
        .map(|p| {
            let mut slot = Slot {
                program: p.clone(),
                state: State::Stopped,
                since: now(),
                error: String::new(),
                listeners: vec![],
            };
            slot.start();
            if slot.state == State::Fatal {
                eprintln!(
                    "supervisord: {} entered FATAL state: {}",
                    slot.program.name, slot.error
                );
            }
            slot
        })
        .collect();
    if let Err(e) = std::fs::write(root.path(PIDFILE), format!("{pid}\n")) {
        eprintln!("supervisord: cannot write pidfile: {e}");
        return ExitCode::from(2);
    }
    eprintln!("supervisord started with pid {pid}");
    let slots = Arc::new(Mutex::new(slots));
    let credentials = Arc::new(plan.credentials);
    {
        let slots = Arc::clone(&slots);
        let root = root.clone();
        std::thread::spawn(move || accept_loop(&root, &slots, &credentials));
    }
    for conn in control_listener.incoming() {
        let Ok(mut conn) = conn else { continue };
        let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
        let mut line = String::new();
        if BufReader::new(&conn).read_line(&mut line).is_err() {
            continue;
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        let mut slots_guard = slots.lock().expect("supervisor state lock");
        let reply = match words.as_slice() {
            ["ping"] => "pong\n".to_string(),
            ["status"] => slots_guard
                .iter()
                .map(|s| {
                    format!(
                        "{}\t{}\t{pid}\t{}\t{}\n",
                        s.program.name,
                        s.state.name(),
                        s.since,
                        s.error
                    )
                })
                .collect(),
            ["shutdown"] => {
                // Close every port before the pidfile goes: whoever waits for the pidfile to
                // disappear (stop_supervisor, then a new daemon binding the same ports) must
                // not find a port still held by a daemon that is only on its way out.
                for slot in slots_guard.iter_mut() {
                    slot.stop();
                }
                drop(slots_guard);
                let _ = conn.write_all(b"bye\n");
                let _ = std::fs::remove_file(root.path(PIDFILE));
                let _ = std::fs::remove_file(&sock_path);
                eprintln!("supervisord shut down");
                return ExitCode::SUCCESS;
            }
            [verb @ ("start" | "stop" | "restart"), target] => {
                let mut found = false;
                for slot in slots_guard
                    .iter_mut()
                    .filter(|s| *target == "all" || s.program.name == *target)
                {
                    found = true;
                    match *verb {
                        "stop" => slot.stop(),
                        "start" if slot.state == State::Running => {}
                        _ => {
                            slot.stop();
                            slot.start();
                        }
                    }
                }
                if found {
                    "ok\n".to_string()
                } else {
                    format!("error {target}: ERROR (no such process)\n")
                }
            }
            _ => "error unknown command\n".to_string(),
        };
        drop(slots_guard);
        let _ = conn.write_all(reply.as_bytes());
    }
    ExitCode::SUCCESS
}

/// Accepts connections on every running program's sockets; exits the daemon when its plan
/// disappears (the VM or test directory was deleted), so no orphan outlives its root.
fn accept_loop(
    root: &SimRoot,
    slots: &Mutex<Vec<Slot>>,
    credentials: &Arc<BTreeMap<String, BTreeMap<String, String>>>,
) {
    let mut last_check = Instant::now();
    loop {
        {
            let guard = slots.lock().expect("supervisor state lock");
            for slot in guard.iter().filter(|s| s.state == State::Running) {
                for listener in &slot.listeners {
                    while let Ok((stream, _)) = listener.accept() {
                        let auth = slot.program.auth.clone();
                        let credentials = Arc::clone(credentials);
                        let root = root.clone();
                        std::thread::spawn(move || {
                            answer(&root, stream, auth.as_deref(), &credentials)
                        });
                    }
                }
            }
        }
        if last_check.elapsed() > Duration::from_secs(1) {
            last_check = Instant::now();
            if !root.path(PLAN).exists() {
                eprintln!(
                    "supervisord: plan {} vanished; exiting",
                    root.path(PLAN).display()
                );
                std::process::exit(0);
            }
        }
        std::thread::sleep(Duration::from_millis(15));
    }
}

fn answer(
    root: &SimRoot,
    stream: TcpStream,
    auth: Option<&str>,
    credentials: &BTreeMap<String, BTreeMap<String, String>>,
) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut line = String::new();
    if BufReader::new(&stream).read_line(&mut line).is_err() {
        return;
    }
    let Some(req) = Request::parse(&line) else {
        return;
    };
    let known = auth == Some(req.service.as_str())
        && credentials
            .get(&req.service)
            .and_then(|users| users.get(&req.user))
            == Some(&req.hash);
    let reply = if !known {
        "DENIED".to_string()
    } else {
        match req
            .command
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .as_slice()
        {
            [] => "OK".to_string(),
            ["INIT-SCHEMA"] => init_schema(root),
            ["START-SLAVE", master] if req.user == "root" => start_slave(root, master),
            _ => "ERROR unsupported command".to_string(),
        }
    };
    let _ = (&stream).write_all(format!("{reply}\n").as_bytes());
}

fn init_schema(root: &SimRoot) -> String {
    let mark = root.path(SCHEMA_MARK);
    if mark.exists() {
        return "OK exists".into();
    }
    let _ = std::fs::create_dir_all(root.path(MYSQL_DATA_DIR));
    match std::fs::write(&mark, format!("created {}\n", now())) {
        Ok(()) => "OK created".into(),
        Err(e) => format!("ERROR cannot create schema: {e}"),
    }
}

fn start_slave(root: &SimRoot, master: &str) -> String {
    let path: PathBuf = root.path(REPLICATION);
    let text = format!(
        "role = \"slave\"\nmaster = \"{master}\"\nsince = {}\n",
        now()
    );
    match std::fs::write(&path, text) {
        Ok(()) => "OK slave started".into(),
        Err(e) => format!("ERROR cannot record replication: {e}"),
    }
}
