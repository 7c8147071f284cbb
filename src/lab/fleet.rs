//! The fleet: starting a lab's VMs, finding a running lab again, its status, faults, and
//! stopping it so that no process, mount or file is left behind.

use crate::lab::addresses::{self, AddressBlock};
use crate::lab::error::{LabError, Result};
use crate::lab::plan::{plan_vms, LabLayout, LabOptions, VmPlan};
use crate::lab::profile_gen::{
    self, KEY_FILE, KNOWN_HOSTS_FILE, LICENSE_FILE, OPERATOR_PASSWORD_FILE, PROFILE_FILE,
    TOKEN_FILE,
};
use crate::lab::sim_files::{self, Faults, SimSection, VmToml, VERSIONS};
use crate::lab::state::{LabState, VmState};
use crate::lab::vm::{self, VmPaths, VmSetup, VM_MOUNTS};
use crate::lab::{hardware::Hardware, procs, sshd};
use crate::profile::HaRole;
use nix::sys::signal::Signal;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// A running lab. Owned by whoever called [`Fleet::up`]: dropping it stops the lab (so a test
/// that panics cleans up), unless [`Fleet::detach`] was called, as `lab up` does.
pub struct Fleet {
    state: LabState,
    children: Vec<Child>,
    owned: bool,
}

/// Something to break (or mend) on one VM.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fault {
    /// Stop the VM's sshd listener: new connections are refused; open sessions go on.
    StopSshd,
    /// Start it again (no-op when it runs).
    StartSshd,
    /// SIGSTOP every process of the VM: connections hang, as on a frozen machine.
    Freeze,
    /// SIGCONT them.
    Thaw,
    /// The simulator's reconfigure prints `[ FAILED ]` at this step index.
    ReconfigureFailAt(u32),
    /// The simulator's reconfigure hangs after "Preparing to reconfigure Scalr...".
    ReconfigureHang,
    /// The simulator's reconfigure durations are multiplied by this factor.
    ReconfigureSlow(f64),
    /// Remove every reconfigure fault (sshd faults are undone with StartSshd / Thaw).
    Clear,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SshdState {
    Up,
    Stopped,
    Frozen,
    /// The VM's namespace holder is gone (the machine rebooted, or someone killed it).
    VmDown,
}

impl SshdState {
    pub fn label(self) -> &'static str {
        match self {
            SshdState::Up => "up",
            SshdState::Stopped => "stopped",
            SshdState::Frozen => "frozen",
            SshdState::VmDown => "vm down",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct VmStatus {
    pub name: String,
    pub address: String,
    pub os: String,
    pub role: Option<HaRole>,
    pub sshd: SshdState,
    pub hardware: Hardware,
}

/// The machine must have these; each error says how to get it.
fn check_prerequisites() -> Result<()> {
    if !nix::unistd::geteuid().is_root() {
        return Err(LabError::NotRoot);
    }
    let tools: [(&str, &str, &str); 5] = [
        ("sshd", sshd::SSHD, "openssh-server"),
        ("ssh-keygen", "/usr/bin/ssh-keygen", "openssh-client"),
        ("sudo", "/usr/bin/sudo", "sudo"),
        ("unshare", "/usr/bin/unshare", "util-linux"),
        ("mount", "/usr/bin/mount", "mount"),
    ];
    for (tool, path, package) in tools {
        if !Path::new(path).exists() {
            return Err(LabError::MissingTool {
                tool,
                path,
                package,
            });
        }
    }
    Ok(())
}

/// Whether the lab can run here; `Err` holds the reason, for tests that skip.
pub fn lab_available() -> std::result::Result<(), String> {
    check_prerequisites().map_err(|e| e.to_string())
}

fn random_hex(bytes: usize) -> String {
    use rand::RngCore;
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

fn layout_key(layout: LabLayout) -> &'static str {
    match layout {
        LabLayout::Ha => "ha",
        LabLayout::Compact => "compact",
        LabLayout::Bare(_) => "bare",
        LabLayout::Scaled(_) => "scaled",
    }
}

impl Fleet {
    /// Starts a lab as `opts` describes and waits until every VM's sshd answers.
    pub fn up(opts: &LabOptions) -> Result<Fleet> {
        check_prerequisites()?;
        let plans = plan_vms(opts)?;
        if !opts.reconfigure_secs.is_finite() || opts.reconfigure_secs < 0.0 {
            return Err(LabError::InvalidOption(format!(
                "--reconfigure-secs {}: give a duration in seconds, 0 or more",
                opts.reconfigure_secs
            )));
        }
        let tool_binary = match &opts.tool_binary {
            Some(path) => path.clone(),
            None => {
                std::env::current_exe().map_err(LabError::io("find", "the installer binary"))?
            }
        };
        let tool_binary =
            fs::canonicalize(&tool_binary).map_err(LabError::io("find", &tool_binary))?;
        let dir = create_lab_dir(&opts.dir)?;
        let block = match addresses::claim(&dir, plans.len(), opts.port) {
            Ok(block) => block,
            Err(e) => {
                let _ = fs::remove_dir_all(&dir);
                return Err(e);
            }
        };
        let mut fleet = Fleet {
            state: LabState {
                lab_id: random_hex(4),
                dir: dir.clone(),
                block: block.0,
                port: opts.port,
                layout: layout_key(opts.layout).to_string(),
                tool_binary,
                vms: Vec::new(),
            },
            children: Vec::new(),
            owned: true,
        };
        // From here on, a failure stops what was started: Drop runs `down`.
        fleet.state.save()?;
        fleet.start(&plans, opts, block)?;
        Ok(fleet)
    }

    fn start(&mut self, plans: &[VmPlan], opts: &LabOptions, block: AddressBlock) -> Result<()> {
        let dir = self.state.dir.clone();
        let key = dir.join(KEY_FILE);
        sshd::generate_key(&key, "scalr-lab-client")?;
        let client_pubkey = sshd::public_key(&key)?;
        let operator_password = random_hex(12);
        vm::write_secret(
            &dir.join(OPERATOR_PASSWORD_FILE),
            &format!("{operator_password}\n"),
        )?;
        let token = random_hex(24);
        vm::write_secret(&dir.join(TOKEN_FILE), &format!("{token}\n"))?;

        let addresses: Vec<String> = (0..plans.len())
            .map(|i| block.vm_address(i).to_string())
            .collect();
        let hosts_lines: String = plans
            .iter()
            .zip(&addresses)
            .map(|(p, a)| format!("{a}\t{}\n", p.name))
            .collect();
        let peers: BTreeMap<String, String> = plans
            .iter()
            .zip(&addresses)
            .map(|(p, a)| (a.clone(), p.name.clone()))
            .collect();

        let mut known_hosts = String::new();
        for (plan, address) in plans.iter().zip(&addresses) {
            let paths = VmPaths::new(&dir, &plan.name);
            vm::prepare(
                &paths,
                &VmSetup {
                    lab_id: &self.state.lab_id,
                    name: &plan.name,
                    address,
                    port: opts.port,
                    os: plan.os,
                    hardware: plan.hardware,
                    client_pubkey: &client_pubkey,
                    operator_password: &operator_password,
                    tool_binary: &self.state.tool_binary,
                    hosts_lines: &hosts_lines,
                },
            )?;
            VmToml {
                name: plan.name.clone(),
                address: address.clone(),
                os: plan.os.key().to_string(),
                sim: SimSection {
                    reconfigure_secs: opts.reconfigure_secs,
                    packagecloud_token: token.clone(),
                    versions: VERSIONS.iter().map(|v| v.to_string()).collect(),
                    lab_peers: peers
                        .iter()
                        .filter(|(a, _)| *a != address)
                        .map(|(a, n)| (a.clone(), n.clone()))
                        .collect(),
                },
            }
            .write(&paths.etc())?;

            let holder = vm::boot(&paths, &plan.name)?;
            let holder_pid = holder.id() as i32;
            self.children.push(holder);
            let mnt_ns = procs::mnt_ns(holder_pid).ok_or_else(|| LabError::VmDidNotStart {
                vm: plan.name.clone(),
                what: "its namespace holder vanished".into(),
                log: paths.boot_log(),
                tail: vm::tail(&paths.boot_log()),
            })?;
            self.state.vms.push(VmState {
                name: plan.name.clone(),
                address: address.clone(),
                os: plan.os.key().to_string(),
                role: plan.role,
                hardware: plan.hardware,
                holder_pid,
                sshd_pid: None,
                mnt_ns,
                mounts: VM_MOUNTS
                    .iter()
                    .chain(["/opt/scalr-server", "/run"].iter())
                    .map(|m| m.to_string())
                    .collect(),
            });
            self.state.save()?;
            self.start_sshd(&plan.name)?;

            let host_key = sshd::public_key(&paths.etc().join("ssh/ssh_host_ed25519_key"))?;
            known_hosts.push_str(&sshd::known_hosts_lines(address, opts.port, &host_key));
        }
        let write = |name: &str, text: &str| {
            let path = dir.join(name);
            fs::write(&path, text).map_err(LabError::io("write", path))
        };
        write(KNOWN_HOSTS_FILE, &known_hosts)?;
        write(LICENSE_FILE, &profile_gen::lab_license(&self.state.lab_id))?;
        let packages = dir.join("packages");
        fs::create_dir_all(&packages).map_err(LabError::io("create", &packages))?;
        for version in VERSIONS {
            write(
                &format!("packages/scalr-server_{version}-1_amd64.deb"),
                &sim_files::fake_package(version),
            )?;
            write(
                &format!("packages/scalr-server-{version}-1.x86_64.rpm"),
                &sim_files::fake_package(version),
            )?;
        }
        let profile = profile_gen::lab_profile(&self.state, opts.layout, opts.login);
        if let Some(profile) = &profile {
            write(PROFILE_FILE, &profile_gen::profile_toml(profile))?;
        }
        write(
            "README",
            &profile_gen::readme(&self.state, profile.is_some()),
        )?;
        Ok(())
    }

    /// Attaches to the lab in `dir` (e.g. one `lab up` started); dropping it leaves it running.
    pub fn open(dir: &Path) -> Result<Fleet> {
        let dir = fs::canonicalize(dir).map_err(|_| LabError::NoLab {
            dir: dir.to_path_buf(),
        })?;
        Ok(Fleet {
            state: LabState::load(&dir)?,
            children: Vec::new(),
            owned: false,
        })
    }

    /// Leaves the lab running when this value is dropped.
    pub fn detach(mut self) -> LabState {
        self.owned = false;
        self.state.clone()
    }

    pub fn state(&self) -> &LabState {
        &self.state
    }

    pub fn dir(&self) -> &Path {
        &self.state.dir
    }

    pub fn vms(&self) -> &[VmState] {
        &self.state.vms
    }

    pub fn vm(&self, name: &str) -> Result<&VmState> {
        self.state.vm(name)
    }

    /// `DIR/profile.toml` (absent for a bare lab).
    pub fn profile_path(&self) -> PathBuf {
        self.state.dir.join(PROFILE_FILE)
    }

    pub fn key_path(&self) -> PathBuf {
        self.state.dir.join(KEY_FILE)
    }

    pub fn known_hosts_path(&self) -> PathBuf {
        self.state.dir.join(KNOWN_HOSTS_FILE)
    }

    /// The `operator` user's sudo password.
    pub fn operator_password(&self) -> Result<String> {
        self.read_secret(OPERATOR_PASSWORD_FILE)
    }

    /// The token the VMs' fake packagecloud repository accepts.
    pub fn packagecloud_token(&self) -> Result<String> {
        self.read_secret(TOKEN_FILE)
    }

    fn read_secret(&self, name: &str) -> Result<String> {
        let path = self.state.dir.join(name);
        fs::read_to_string(&path)
            .map(|s| s.trim().to_string())
            .map_err(LabError::io("read", path))
    }

    /// A fake package file for `package.source = local` (`deb` or `rpm`).
    pub fn package_file(&self, version: &str, kind: &str) -> PathBuf {
        let name = match kind {
            "rpm" => format!("scalr-server-{version}-1.x86_64.rpm"),
            _ => format!("scalr-server_{version}-1_amd64.deb"),
        };
        self.state.dir.join("packages").join(name)
    }

    /// Where a VM's `/etc` lives on this machine (e.g. to inspect what the installer wrote).
    pub fn vm_etc(&self, name: &str) -> Result<PathBuf> {
        self.state.vm(name)?;
        Ok(VmPaths::new(&self.state.dir, name).etc())
    }

    /// The system `ssh` client, set up to log in to `vm` as `user` with the lab's key and
    /// known_hosts (strict checking, batch mode); append the remote command with `.arg`.
    pub fn ssh_command(&self, vm: &str, user: &str) -> Result<Command> {
        let vm = self.state.vm(vm)?;
        let mut cmd = Command::new("ssh");
        cmd.arg("-i")
            .arg(self.key_path())
            .arg("-o")
            .arg(format!(
                "UserKnownHostsFile={}",
                self.known_hosts_path().display()
            ))
            .args([
                "-o",
                "StrictHostKeyChecking=yes",
                "-o",
                "IdentitiesOnly=yes",
                "-o",
                "BatchMode=yes",
                "-o",
                "ConnectTimeout=5",
                "-o",
                "LogLevel=ERROR",
                "-F",
                "/dev/null",
                "-p",
            ])
            .arg(self.state.port.to_string())
            .arg(format!("{user}@{}", vm.address));
        Ok(cmd)
    }

    pub fn status(&self) -> Vec<VmStatus> {
        self.state
            .vms
            .iter()
            .map(|vm| VmStatus {
                name: vm.name.clone(),
                address: vm.address.clone(),
                os: vm.os.clone(),
                role: vm.role,
                sshd: sshd_state(vm),
                hardware: vm.hardware,
            })
            .collect()
    }

    /// Injects (or undoes) a fault on one VM.
    pub fn fault(&mut self, name: &str, fault: Fault) -> Result<()> {
        let vm = self.state.vm(name)?.clone();
        let etc = VmPaths::new(&self.state.dir, name).etc();
        let fault_err = |detail: String| LabError::Fault {
            vm: name.to_string(),
            detail,
        };
        match fault {
            Fault::StopSshd => {
                if let Some(pid) = vm.sshd_pid.filter(|pid| is_vm_sshd(&vm, *pid)) {
                    procs::signal(pid, Signal::SIGCONT);
                    procs::signal(pid, Signal::SIGTERM);
                    if !wait_gone(pid, Duration::from_secs(5)) {
                        procs::signal(pid, Signal::SIGKILL);
                        wait_gone(pid, Duration::from_secs(2));
                    }
                    self.reap();
                }
                self.state.vm_mut(name)?.sshd_pid = None;
                self.state.save()
            }
            Fault::StartSshd => {
                if !procs::is_alive(vm.holder_pid)
                    || procs::mnt_ns(vm.holder_pid) != Some(vm.mnt_ns)
                {
                    return Err(fault_err(
                        "the VM itself is down, so its sshd cannot start: run `lab down` and `lab up` again".into(),
                    ));
                }
                if matches!(sshd_state(&vm), SshdState::Up | SshdState::Frozen) {
                    return Ok(());
                }
                self.start_sshd(name)
            }
            Fault::Freeze | Fault::Thaw => {
                let sig = if fault == Fault::Freeze {
                    Signal::SIGSTOP
                } else {
                    Signal::SIGCONT
                };
                let pids = vm_pids(&self.state, &vm);
                if pids.is_empty() {
                    return Err(fault_err("the VM has no processes: it is down".into()));
                }
                for pid in &pids {
                    procs::signal(*pid, sig);
                }
                // Signals are delivered asynchronously: report the fault done only once every
                // process shows the new state, so a status read right after agrees.
                let deadline = Instant::now() + Duration::from_secs(2);
                while Instant::now() < deadline
                    && pids.iter().any(|pid| {
                        procs::is_alive(*pid)
                            && (procs::state(*pid) == Some('T')) != (fault == Fault::Freeze)
                    })
                {
                    std::thread::sleep(Duration::from_millis(5));
                }
                Ok(())
            }
            Fault::Clear => Faults::default().store(&etc),
            Fault::ReconfigureFailAt(_) | Fault::ReconfigureHang | Fault::ReconfigureSlow(_) => {
                let mut faults = Faults::load(&etc)?;
                match fault {
                    Fault::ReconfigureFailAt(step) => faults.reconfigure_fail_at = Some(step),
                    Fault::ReconfigureHang => faults.reconfigure_hang = Some(true),
                    Fault::ReconfigureSlow(factor) if factor > 0.0 => faults.reconfigure_slow = Some(factor),
                    Fault::ReconfigureSlow(factor) => {
                        return Err(LabError::InvalidOption(format!(
                            "--reconfigure-slow {factor}: give a factor above 0, e.g. 4 for four times slower"
                        )))
                    }
                    _ => unreachable!("matched above"),
                }
                faults.store(&etc)
            }
        }
    }

    fn start_sshd(&mut self, name: &str) -> Result<()> {
        let vm = self.state.vm(name)?.clone();
        let paths = VmPaths::new(&self.state.dir, name);
        let mut child = sshd::spawn_in_vm(vm.holder_pid, &paths.sshd_stderr())?;
        let ready = sshd::wait_for_banner(
            &vm.address,
            self.state.port,
            &mut child,
            Duration::from_secs(10),
        );
        let pid = child.id() as i32;
        self.children.push(child);
        if let Err(what) = ready {
            let mut tail = vm::tail(&paths.sshd_stderr());
            tail.push_str(&vm::tail(&paths.sshd_log()));
            return Err(LabError::VmDidNotStart {
                vm: name.to_string(),
                what,
                log: paths.sshd_log(),
                tail,
            });
        }
        self.state.vm_mut(name)?.sshd_pid = Some(pid);
        self.state.save()
    }

    /// Stops the lab: kills every process of every VM, releases the address block and deletes
    /// the lab directory.
    pub fn down(mut self) -> Result<()> {
        self.owned = false;
        let result = stop_vms(&self.state);
        self.reap();
        result?;
        remove_lab(&self.state)
    }

    /// `lab down` for a directory: idempotent (nothing there is success) and works after a crash.
    pub fn down_dir(dir: &Path) -> Result<()> {
        if !dir.exists() {
            return Ok(());
        }
        let dir = fs::canonicalize(dir).map_err(LabError::io("find", dir))?;
        let state = LabState::load(&dir)?;
        stop_vms(&state)?;
        remove_lab(&state)
    }

    /// Collects exited children so none lingers as a zombie in a long-lived test process.
    fn reap(&mut self) {
        self.children
            .retain_mut(|c| !matches!(c.try_wait(), Ok(Some(_))));
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        if self.owned {
            let _ = stop_vms(&self.state);
            self.reap();
            let _ = remove_lab(&self.state);
        }
    }
}

fn create_lab_dir(dir: &Path) -> Result<PathBuf> {
    if dir.join(crate::lab::state::STATE_FILE).exists() {
        return Err(LabError::LabExists {
            dir: dir.to_path_buf(),
        });
    }
    match fs::read_dir(dir) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(LabError::DirNotEmpty {
                    dir: dir.to_path_buf(),
                });
            }
        }
        Err(_) => fs::create_dir_all(dir).map_err(LabError::io("create", dir))?,
    }
    crate::lab::users::set_mode(dir, 0o700)?;
    fs::canonicalize(dir).map_err(LabError::io("find", dir))
}

/// The VM's processes, but only when its namespace still carries this lab's mount marker: a
/// recorded namespace inode can be reused by an unrelated namespace after a reboot.
fn vm_pids(state: &LabState, vm: &VmState) -> Vec<i32> {
    let pids = procs::pids_in_mnt_ns(vm.mnt_ns);
    let marker = state.mount_marker(&vm.name, "run");
    match pids.iter().find(|pid| procs::is_alive(**pid)) {
        Some(pid) if procs::sees_mount_source(*pid, &marker) => pids,
        _ => Vec::new(),
    }
}

fn is_vm_sshd(vm: &VmState, pid: i32) -> bool {
    procs::is_alive(pid)
        && procs::mnt_ns(pid) == Some(vm.mnt_ns)
        && procs::comm(pid).as_deref() == Some("sshd")
}

fn sshd_state(vm: &VmState) -> SshdState {
    if !procs::is_alive(vm.holder_pid) || procs::mnt_ns(vm.holder_pid) != Some(vm.mnt_ns) {
        return SshdState::VmDown;
    }
    match vm.sshd_pid.filter(|pid| is_vm_sshd(vm, *pid)) {
        Some(pid) if procs::state(pid) == Some('T') => SshdState::Frozen,
        Some(_) => SshdState::Up,
        None => SshdState::Stopped,
    }
}

fn wait_gone(pid: i32, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while procs::is_alive(pid) {
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    true
}

/// Kills every process in every VM's namespace until none is left (sshd may be forking a new
/// session while we kill). A frozen process dies from SIGKILL too.
fn stop_vms(state: &LabState) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut quiet_scans = 0;
    loop {
        let mut left = Vec::new();
        for vm in &state.vms {
            // Checked afresh on every scan: once a VM's namespace is gone its inode number can
            // be reused at once by another lab's VM, which must not be touched.
            let pids = vm_pids(state, vm);
            for pid in pids.into_iter().filter(|pid| procs::is_alive(*pid)) {
                procs::signal(pid, Signal::SIGKILL);
                left.push((vm.name.clone(), pid));
            }
        }
        // Done only when fresh scans keep finding nobody: a process killed now may have forked
        // a child between the scan and the signal, and a process mid-fork or mid-exec can be
        // briefly unreadable in /proc.
        if left.is_empty() {
            quiet_scans += 1;
            if quiet_scans >= 5 {
                return Ok(());
            }
        } else {
            quiet_scans = 0;
        }
        if !left.is_empty() && Instant::now() > deadline {
            let names: Vec<String> = left
                .iter()
                .map(|(vm, pid)| format!("{vm}: pid {pid}"))
                .collect();
            return Err(LabError::CommandFailed {
                command: "kill -KILL".into(),
                detail: format!(
                    "these lab processes survived SIGKILL: {}; check them with `ps -p PID -o stat,cmd`, then run `lab down` again",
                    names.join(", ")
                ),
            });
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Deletes the lab directory, refusing if anything is mounted below it in this namespace (a
/// recursive delete would then reach into whatever is mounted there).
fn remove_lab(state: &LabState) -> Result<()> {
    let dir = &state.dir;
    let mountinfo = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let prefix = format!("{}/", dir.display());
    if let Some(line) = mountinfo.lines().find(|l| {
        l.split_whitespace()
            .nth(4)
            .is_some_and(|mp| mp == dir.to_string_lossy() || mp.starts_with(&prefix))
    }) {
        return Err(LabError::BadState {
            path: dir.clone(),
            detail: format!("something is mounted inside the lab directory ({line}); unmount it, then run `lab down` again"),
        });
    }
    addresses::release(AddressBlock(state.block), dir);
    match fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(LabError::io("remove", dir)(e)),
        _ => Ok(()),
    }
}
