//! A simulated lab VM in a temp dir: the simulator's tools as symlinks named like the real
//! ones, `SCALR_SIM_ROOT` pointing at the VM's files. No namespaces or sshd are involved.
#![allow(dead_code)]

use scalr_installer::sim::{multicall::TOOLS, stop_supervisor, SimRoot};
use std::net::{Ipv4Addr, SocketAddrV4, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

pub const TOKEN: &str = "lab-token-3f9a";

/// A snapshot (hard link) of this build's simulator binary, taken once per test process.
///
/// The target dir is shared with other branches' builds, which may replace binaries while tests
/// run; a hard link keeps this build's file alive for the tools and the daemons they start.
/// Snapshots of test processes that have exited are removed.
pub fn sim_binary() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
        if let Ok(entries) = std::fs::read_dir(tmp) {
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if let Some(pid) = name.strip_prefix("sim-bin-") {
                    if !Path::new(&format!("/proc/{pid}")).exists() {
                        let _ = std::fs::remove_dir_all(entry.path());
                    }
                }
            }
        }
        let dir = tmp.join(format!("sim-bin-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let snapshot = dir.join("scalr-lab-sim");
        let _ = std::fs::remove_file(&snapshot);
        let built = env!("CARGO_BIN_EXE_scalr-lab-sim");
        if std::fs::hard_link(built, &snapshot).is_err() {
            std::fs::copy(built, &snapshot).unwrap();
        }
        let probe = Command::new(&snapshot).arg0("scalr-lab-sim").output().unwrap();
        assert!(
            String::from_utf8_lossy(&probe.stderr).contains("scalr-lab-sim supervise"),
            "{built} is not a build with the simulator (another branch's build in the shared target \
             dir replaced it); run the tests again"
        );
        snapshot
    })
}

/// A loopback address no other test (in this or a parallel test process) uses.
pub fn fresh_address() -> Ipv4Addr {
    static NEXT: AtomicU8 = AtomicU8::new(1);
    let n = NEXT.fetch_add(1, Ordering::SeqCst);
    let third = 200 + (std::process::id() % 50) as u8;
    Ipv4Addr::new(127, 0, third, n)
}

pub struct SimVm {
    _dir: tempfile::TempDir,
    pub root: PathBuf,
    bin: PathBuf,
    pub name: String,
    pub address: Ipv4Addr,
    yum_os: bool,
}

impl SimVm {
    /// A VM with 8 GB RAM, the fake repository offering 7.15.2, 8.0.0 and 8.0.1, and the
    /// given peers (address → name).
    pub fn new(name: &str, os: &str, peers: &[(&SimVm, &str)]) -> SimVm {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("vm");
        let bin = dir.path().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        for tool in TOOLS {
            std::os::unix::fs::symlink(sim_binary(), bin.join(tool)).unwrap();
        }
        let address = fresh_address();
        let peers: Vec<String> = peers
            .iter()
            .map(|(vm, n)| format!("\"{}\" = \"{n}\"", vm.address))
            .collect();
        let yum_os = ["centos", "rhel", "fedora"]
            .iter()
            .any(|p| os.starts_with(p));
        let vm = SimVm {
            _dir: dir,
            root,
            bin,
            name: name.to_string(),
            address,
            yum_os,
        };
        vm.write(
            "/etc/scalr-lab/vm.toml",
            &format!(
                "name = \"{name}\"\naddress = \"{address}\"\nos = \"{os}\"\n[sim]\nreconfigure_secs = 0.4\n\
                 packagecloud_token = \"{TOKEN}\"\nversions = [\"7.15.2\", \"8.0.0\", \"8.0.1\"]\nlab_peers = {{ {} }}\n",
                peers.join(", ")
            ),
        );
        // Root-only, as the lab writes it.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            vm.path("/etc/scalr-lab/vm.toml"),
            std::fs::Permissions::from_mode(0o600),
        )
        .unwrap();
        vm.set_ram_kb(8_000_000);
        vm
    }

    pub fn sim_root(&self) -> SimRoot {
        SimRoot::new(&self.root)
    }

    pub fn path(&self, vm_path: &str) -> PathBuf {
        self.root.join(vm_path.trim_start_matches('/'))
    }

    pub fn write(&self, vm_path: &str, text: &str) {
        let p = self.path(vm_path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    pub fn read(&self, vm_path: &str) -> String {
        std::fs::read_to_string(self.path(vm_path)).unwrap_or_else(|e| panic!("{vm_path}: {e}"))
    }

    pub fn exists(&self, vm_path: &str) -> bool {
        self.path(vm_path).exists()
    }

    pub fn set_ram_kb(&self, kb: u64) {
        self.write(
            "/proc/meminfo",
            &format!("MemTotal:       {kb} kB\nMemFree:         1000000 kB\n"),
        );
    }

    pub fn command(&self, tool: &str, args: &[&str]) -> Command {
        let mut cmd = Command::new(self.bin.join(tool));
        cmd.args(args)
            .env("SCALR_SIM_ROOT", &self.root)
            .stdin(Stdio::null());
        cmd
    }

    pub fn run(&self, tool: &str, args: &[&str]) -> Output {
        self.command(tool, args).output().unwrap()
    }

    /// Runs and returns (exit code, stdout, stderr).
    pub fn sh(&self, tool: &str, args: &[&str]) -> (i32, String, String) {
        let out = self.run(tool, args);
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    pub fn write_apt_source(&self, token: &str) {
        self.write(
            "/etc/apt/sources.list.d/scalr_scalr-server-ee.list",
            &format!(
                "deb https://{token}:@packagecloud.io/scalr/scalr-server-ee/ubuntu/ bionic main\n"
            ),
        );
    }

    pub fn write_yum_repo(&self, token: &str) {
        self.write(
            "/etc/yum.repos.d/scalr_scalr-server-ee.repo",
            &format!(
                "[scalr_scalr-server-ee]\nname=scalr_scalr-server-ee\n\
                 baseurl=https://{token}:@packagecloud.io/scalr/scalr-server-ee/el/7/$basearch\n\
                 repo_gpgcheck=1\nenabled=1\n"
            ),
        );
    }

    /// Repository and package, with the VM's own package manager.
    pub fn install_package(&self) {
        if self.yum_os {
            self.write_yum_repo(TOKEN);
            let (code, out, err) = self.sh("yum", &["install", "-y", "scalr-server"]);
            assert_eq!(code, 0, "{out}{err}");
            return;
        }
        self.write_apt_source(TOKEN);
        let (code, out, err) = self.sh("apt-get", &["update"]);
        assert_eq!(code, 0, "{out}{err}");
        let (code, out, err) = self.sh("apt-get", &["install", "-y", "scalr-server"]);
        assert_eq!(code, 0, "{out}{err}");
    }

    pub fn reconfigure(&self) -> (i32, String, String) {
        self.sh("scalr-server-ctl", &["reconfigure"])
    }

    pub fn addr(&self, port: u16) -> SocketAddrV4 {
        SocketAddrV4::new(self.address, port)
    }
}

impl Drop for SimVm {
    fn drop(&mut self) {
        stop_supervisor(&self.sim_root());
    }
}

pub fn port_open(addr: SocketAddrV4) -> bool {
    TcpStream::connect_timeout(&addr.into(), Duration::from_millis(500)).is_ok()
}

/// The shared secrets file, copied from one VM to another as the operator would.
pub fn copy_file(from: &SimVm, to: &SimVm, vm_path: &str) {
    let text = from.read(vm_path);
    to.write(vm_path, &text);
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(to.path(vm_path), std::fs::Permissions::from_mode(0o600)).unwrap();
}

pub fn lines_with<'a>(text: &'a str, needle: &str) -> Vec<&'a str> {
    text.lines().filter(|l| l.contains(needle)).collect()
}

pub fn assert_contains(haystack: &str, needle: &str) {
    assert!(
        haystack.contains(needle),
        "expected {needle:?} in:\n{haystack}"
    );
}

pub fn exists(p: &Path) -> bool {
    p.exists()
}
