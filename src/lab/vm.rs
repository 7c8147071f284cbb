//! One VM: its directory on this machine, the filesystem it sees, and the process that holds
//! its namespaces.
//!
//! The VM's namespaces are created by `unshare --mount --uts` running `boot.sh`, which mounts
//! the VM's own directories over the machine's and then `exec`s `sleep infinity`: that process
//! is the VM's "init", keeping the namespace (and its tmpfs disk) alive while sshd is stopped and
//! restarted. All mounts live only in that namespace, so they vanish with its last process.

use crate::lab::error::{LabError, Result};
use crate::lab::hardware::Hardware;
use crate::lab::os_image::{LabOs, RELEASE_FILE_NAMES};
use crate::lab::sshd;
use crate::lab::state::mount_marker;
use crate::lab::users::{set_mode, write_mode, VmAccounts};
use crate::topology::{InitSystem, PackageManager};
use std::fs;
use std::os::unix::fs::symlink;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where a VM's files live on this machine: `DIR/vms/<name>/`.
#[derive(Debug, Clone)]
pub struct VmPaths {
    pub root: PathBuf,
}

impl VmPaths {
    pub fn new(lab_dir: &Path, name: &str) -> VmPaths {
        VmPaths {
            root: lab_dir.join("vms").join(name),
        }
    }
    /// Seen as `/etc` inside the VM.
    pub fn etc(&self) -> PathBuf {
        self.root.join("etc")
    }
    pub fn var_log(&self) -> PathBuf {
        self.root.join("var-log")
    }
    pub fn var_lib(&self) -> PathBuf {
        self.root.join("var-lib")
    }
    pub fn bin(&self) -> PathBuf {
        self.root.join("usr-local-bin")
    }
    pub fn boot_log(&self) -> PathBuf {
        self.root.join("boot.log")
    }
    pub fn sshd_stderr(&self) -> PathBuf {
        self.root.join("sshd.stderr")
    }
    /// sshd's own log, written inside the VM as /var/log/sshd.log.
    pub fn sshd_log(&self) -> PathBuf {
        self.var_log().join("sshd.log")
    }
}

/// Everything `prepare` needs that is shared across the lab.
pub struct VmSetup<'a> {
    pub lab_id: &'a str,
    pub name: &'a str,
    pub address: &'a str,
    pub port: u16,
    pub os: LabOs,
    pub hardware: Hardware,
    pub client_pubkey: &'a str,
    pub operator_password: &'a str,
    pub tool_binary: &'a Path,
    /// `address name` lines for every VM, appended to each VM's /etc/hosts.
    pub hosts_lines: &'a str,
}

/// The package tools of this OS (links to the installer binary) and the other family's (absent).
fn simulated_tools(family: PackageManager) -> (&'static [&'static str], &'static [&'static str]) {
    match family {
        PackageManager::Yum => (&["yum", "rpm"], &["apt-get", "dpkg", "dpkg-query"]),
        PackageManager::Apt => (&["apt-get", "dpkg", "dpkg-query"], &["yum", "rpm"]),
    }
}

const COMMON_TOOLS: [&str; 6] = [
    "service",
    "scalr-server-ctl",
    "scalr-server-manage",
    "scalr-server-wizard",
    "kickstart-replication",
    "scalr-lab-sim",
];

/// The binary's name inside the VM's /usr/local/bin (a bind mount of the real one).
pub const TOOL_BINARY_IN_VM: &str = "scalr-installer";

/// Builds the VM's directory: its /etc (a copy of this machine's with the OS's release files,
/// its own users, sshd config and host key), homes, tool directory and hardware files.
pub fn prepare(paths: &VmPaths, setup: &VmSetup) -> Result<()> {
    let root = &paths.root;
    fs::create_dir_all(root).map_err(LabError::io("create", root))?;
    copy_etc(&paths.etc())?;
    let etc = paths.etc();

    for name in RELEASE_FILE_NAMES {
        let _ = fs::remove_file(etc.join(name));
    }
    for file in setup.os.release_files() {
        let path = etc.join(file.path);
        fs::write(&path, &file.content).map_err(LabError::io("write", &path))?;
    }
    write_file(&etc.join("hostname"), &format!("{}\n", setup.name))?;
    let hosts = etc.join("hosts");
    let mut hosts_text = fs::read_to_string(&hosts).unwrap_or_default();
    hosts_text.push_str("\n# scalr-lab VMs\n");
    hosts_text.push_str(setup.hosts_lines);
    write_file(&hosts, &hosts_text)?;

    let ssh = etc.join("ssh");
    fs::create_dir_all(&ssh).map_err(LabError::io("create", &ssh))?;
    for entry in fs::read_dir(&ssh)
        .map_err(LabError::io("read", &ssh))?
        .flatten()
    {
        if entry.file_name().to_string_lossy().starts_with("ssh_host_") {
            let _ = fs::remove_file(entry.path());
        }
    }
    write_file(
        &ssh.join("sshd_config"),
        &sshd::config(setup.name, setup.address, setup.port),
    )?;
    sshd::generate_key(
        &ssh.join("ssh_host_ed25519_key"),
        &format!("root@{}", setup.name),
    )?;

    let dirs: [(&str, u32); 8] = [
        ("root", 0o700),
        ("home", 0o755),
        ("tmp", 0o1777),
        ("var-log", 0o755),
        ("var-lib", 0o755),
        ("var-lib/scalr-lab", 0o755),
        ("usr-local-bin", 0o755),
        ("usr-local-sbin", 0o755),
    ];
    for (dir, mode) in dirs {
        let path = root.join(dir);
        fs::create_dir_all(&path).map_err(LabError::io("create", &path))?;
        set_mode(&path, mode)?;
    }
    fs::create_dir_all(root.join("hw")).map_err(LabError::io("create", root.join("hw")))?;

    VmAccounts {
        etc: &etc,
        root_home: &root.join("root"),
        home: &root.join("home"),
    }
    .provision(setup.client_pubkey, setup.operator_password)?;

    install_tools(&paths.bin(), setup.os)?;
    write_hardware(root, setup)?;
    write_file(&root.join("boot.sh"), &boot_script(paths, setup))?;
    Ok(())
}

/// `cp -a` keeps what a hand-rolled copy would get wrong: symlinks, modes, owners (shadow is
/// root:shadow 0640), special files.
fn copy_etc(to: &Path) -> Result<()> {
    let output = Command::new("cp")
        .arg("-a")
        .arg("/etc")
        .arg(to)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| LabError::CommandFailed {
            command: "cp -a /etc".into(),
            detail: e.to_string(),
        })?;
    if !output.status.success() {
        return Err(LabError::CommandFailed {
            command: format!("cp -a /etc {}", to.display()),
            detail: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        });
    }
    Ok(())
}

fn install_tools(bin: &Path, os: LabOs) -> Result<()> {
    // The mount point for the installer binary: an empty file the boot script binds over.
    write_file(&bin.join(TOOL_BINARY_IN_VM), "")?;
    let (own, other) = simulated_tools(os.package_manager());
    for tool in own.iter().chain(COMMON_TOOLS.iter()) {
        let link = bin.join(tool);
        symlink(TOOL_BINARY_IN_VM, &link).map_err(LabError::io("create the tool link", &link))?;
    }
    // The other family's tools do not exist on this OS; the machine's real ones (e.g. Debian's
    // /usr/bin/apt-get on a CentOS VM) must not be found instead.
    for tool in other {
        shim(
            bin,
            tool,
            &format!("echo \"bash: {tool}: command not found\" >&2\nexit 127\n"),
        )?;
    }
    // The machine's systemctl would talk to the machine's own systemd; a VM must never do that.
    let systemctl = match os.init_system() {
        InitSystem::Systemd => "echo \"System has not been booted with systemd as init system (PID 1). Can't operate.\" >&2\nexit 1\n".to_string(),
        _ => "echo \"bash: systemctl: command not found\" >&2\nexit 127\n".to_string(),
    };
    shim(bin, "systemctl", &systemctl)?;
    // GNU nproc counts the CPUs this process may run on (the machine's); a VM's is in cpuinfo.
    shim(bin, "nproc", "exec grep -c '^processor' /proc/cpuinfo\n")
}

fn shim(bin: &Path, name: &str, body: &str) -> Result<()> {
    let path = bin.join(name);
    write_file(
        &path,
        &format!("#!/bin/sh\n# scalr-lab shim: {name} as this VM's OS has it.\n{body}"),
    )?;
    set_mode(&path, 0o755)
}

fn write_hardware(root: &Path, setup: &VmSetup) -> Result<()> {
    let hw = root.join("hw");
    let host_cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    write_file(&hw.join("meminfo"), &setup.hardware.meminfo())?;
    write_file(&hw.join("cpuinfo"), &setup.hardware.cpuinfo(&host_cpuinfo))?;
    write_file(&hw.join("cpu-online"), &setup.hardware.cpu_online())?;
    // /usr/lib/os-release is the fallback readers use when /etc/os-release is absent; it is the
    // machine's, so each VM covers it with its own (empty for systems that have none).
    write_file(
        &hw.join("os-release"),
        &setup.os.os_release().unwrap_or_default(),
    )
}

fn write_file(path: &Path, content: &str) -> Result<()> {
    fs::write(path, content).map_err(LabError::io("write", path))
}

fn q(path: &Path) -> String {
    shlex::try_quote(&path.to_string_lossy())
        .map(|s| s.into_owned())
        .unwrap_or_else(|_| "'invalid-path'".into())
}

/// The mount points inside a VM, for the state file and the docs.
pub const VM_MOUNTS: [&str; 14] = [
    "/opt",
    "/usr/local/bin",
    "/usr/local/bin/scalr-installer",
    "/usr/local/sbin",
    "/etc",
    "/root",
    "/home",
    "/tmp",
    "/var/log",
    "/var/lib",
    "/proc/meminfo",
    "/proc/cpuinfo",
    "/sys/devices/system/cpu/online",
    "/usr/lib/os-release",
];

/// The script run in the VM's fresh namespaces. The VM directory is first bound at a staging
/// point under the VM's own /opt tmpfs, because binding /tmp, /root or /home may hide the lab
/// directory itself (a lab in /tmp is common).
fn boot_script(paths: &VmPaths, setup: &VmSetup) -> String {
    let opt = mount_marker(setup.lab_id, setup.name, "opt");
    let disk = mount_marker(setup.lab_id, setup.name, "disk");
    let run = mount_marker(setup.lab_id, setup.name, "run");
    format!(
        r#"#!/bin/sh
# scalr-lab: boots VM {name} inside its own mount and UTS namespaces (written by `lab up`).
set -eu
hostname {name}
mount -t tmpfs -o size=16m,mode=0755 {opt} /opt
mkdir /opt/.lab-stage
mount --bind {root} /opt/.lab-stage
S=/opt/.lab-stage
mount --bind "$S/usr-local-bin" /usr/local/bin
mount --bind {binary} /usr/local/bin/scalr-installer
mount --bind "$S/usr-local-sbin" /usr/local/sbin
mount --bind "$S/etc" /etc
mount --bind "$S/root" /root
mount --bind "$S/home" /home
mount --bind "$S/tmp" /tmp
mount --bind "$S/var-log" /var/log
mount --bind "$S/var-lib" /var/lib
mount --bind "$S/hw/meminfo" /proc/meminfo
mount --bind "$S/hw/cpuinfo" /proc/cpuinfo
mount --bind "$S/hw/cpu-online" /sys/devices/system/cpu/online
mount --bind "$S/hw/os-release" /usr/lib/os-release
umount /opt/.lab-stage
rmdir /opt/.lab-stage
mkdir -m 0755 /opt/scalr-server
mount -t tmpfs -o size={size},mode=0755 {disk} /opt/scalr-server
mount -t tmpfs -o mode=0755 {run} /run
mkdir -m 0755 /run/sshd
mkdir -m 1777 /run/lock
exec sleep infinity
"#,
        name = setup.name,
        root = q(&paths.root),
        binary = q(setup.tool_binary),
        size = setup.hardware.tmpfs_size(),
    )
}

/// Starts the VM's namespace holder and waits until its mounts are in place.
pub fn boot(paths: &VmPaths, name: &str) -> Result<Child> {
    let log = paths.boot_log();
    let stderr = fs::File::create(&log).map_err(LabError::io("create", &log))?;
    let mut cmd = Command::new("unshare");
    cmd.args(["--mount", "--uts", "--propagation", "private", "/bin/sh"])
        .arg(paths.root.join("boot.sh"))
        .current_dir("/")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr);
    // SAFETY: setsid is async-signal-safe; the VM must not die with the terminal of `lab up`.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().map_err(|e| LabError::CommandFailed {
        command: "unshare --mount --uts".into(),
        detail: format!("{e}: install util-linux: apt-get install util-linux"),
    })?;
    let pid = child.id() as i32;
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(LabError::VmDidNotStart {
                vm: name.to_string(),
                what: format!("its boot script exited ({status})"),
                log: log.clone(),
                tail: tail(&log),
            });
        }
        if crate::lab::procs::comm(pid).as_deref() == Some("sleep") {
            return Ok(child);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(LabError::VmDidNotStart {
                vm: name.to_string(),
                what: "its boot script did not finish within 15 s".into(),
                log: log.clone(),
                tail: tail(&log),
            });
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The last lines of a log, for error messages.
pub fn tail(path: &Path) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

/// Mode 0600 files the lab writes for the operator (keys' siblings, tokens, passwords).
pub fn write_secret(path: &Path, content: &str) -> Result<()> {
    write_mode(path, content, 0o600)
}
