//! The lab, end to end: real sshd processes in their own mount namespaces on 127.0.N.x.
//!
//! Needs root and OpenSSH; without them each test prints why it is skipped. Every test makes its
//! own lab (its own directory and address block), so they run in parallel.

use scalr_installer::lab::fleet::lab_available;
use scalr_installer::lab::{procs, Fault, Fleet, LabLayout, LabLogin, LabOptions, SshdState};
use scalr_installer::profile::{HaRole, Layout, Profile, SudoMode};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

struct Lab {
    fleet: Fleet,
    _tmp: tempfile::TempDir,
}

fn lab(layout: LabLayout, configure: impl FnOnce(&mut LabOptions)) -> Option<Lab> {
    if let Err(why) = lab_available() {
        eprintln!("skipped: {why}");
        return None;
    }
    let tmp = tempfile::tempdir().unwrap();
    let mut opts = LabOptions::new(tmp.path().join("lab"), layout);
    opts.tool_binary = Some(PathBuf::from(env!("CARGO_BIN_EXE_scalr-installer")));
    configure(&mut opts);
    let fleet = Fleet::up(&opts).expect("lab up");
    Some(Lab { fleet, _tmp: tmp })
}

fn ssh_as(fleet: &Fleet, vm: &str, user: &str, command: &str, stdin: &str) -> Output {
    let mut child = fleet
        .ssh_command(vm, user)
        .unwrap()
        .arg(command)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("system ssh client");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// Runs `command` as root on `vm`; panics with ssh's error unless it succeeds.
fn ssh(fleet: &Fleet, vm: &str, command: &str) -> String {
    let out = ssh_as(fleet, vm, "root", command, "");
    assert!(
        out.status.success(),
        "{vm}: `{command}` failed ({}): {}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn ha_lab_is_six_isolated_vms_with_the_requested_systems() {
    let Some(lab) = lab(LabLayout::Ha, |o| {
        o.os = [
            "ubuntu-18.04",
            "centos-7",
            "debian-8",
            "ubuntu-14.04",
            "centos-6",
            "fedora-30",
        ]
        .map(String::from)
        .to_vec();
    }) else {
        return;
    };
    let fleet = &lab.fleet;
    let names: Vec<&str> = fleet.vms().iter().map(|vm| vm.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "app-1",
            "app-2",
            "worker",
            "influxdb",
            "db-master",
            "db-slave"
        ]
    );

    assert_eq!(ssh(fleet, "app-1", "hostname").trim(), "app-1");
    assert!(ssh(fleet, "app-1", "cat /etc/os-release").contains("VERSION_ID=\"18.04\""));
    assert!(ssh(fleet, "app-2", "cat /etc/os-release").contains("ID=\"centos\""));
    assert!(ssh(fleet, "worker", "cat /etc/debian_version").starts_with("8."));
    assert!(ssh(fleet, "db-slave", "cat /etc/os-release").contains("ID=fedora"));
    // CentOS 6 has only /etc/redhat-release, and the machine's own os-release does not leak in.
    let centos6 = ssh(
        fleet,
        "db-master",
        "cat /etc/redhat-release; test -e /etc/os-release && echo HAS-OS-RELEASE; wc -c < /usr/lib/os-release",
    );
    assert_eq!(centos6, "CentOS release 6.10 (Final)\n0\n");

    // Each VM has its own /etc/scalr-server; the machine's is untouched.
    ssh(
        fleet,
        "app-1",
        "mkdir -p /etc/scalr-server && echo one > /etc/scalr-server/marker",
    );
    let elsewhere = ssh(
        fleet,
        "app-2",
        "cat /etc/scalr-server/marker 2>/dev/null || echo absent",
    );
    assert_eq!(elsewhere, "absent\n");
    assert!(!Path::new("/etc/scalr-server/marker").exists());
    assert_eq!(
        std::fs::read_to_string(fleet.vm_etc("app-1").unwrap().join("scalr-server/marker"))
            .unwrap(),
        "one\n"
    );

    // A yum VM finds yum and not the machine's apt-get; an apt VM the reverse.
    let out = ssh_as(fleet, "app-2", "root", "apt-get update", "");
    assert_eq!(out.status.code(), Some(127));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "bash: apt-get: command not found\n"
    );
    assert_eq!(
        ssh(fleet, "app-2", "command -v yum").trim(),
        "/usr/local/bin/yum"
    );
    assert_eq!(
        ssh(fleet, "app-1", "command -v apt-get").trim(),
        "/usr/local/bin/apt-get"
    );
    assert_eq!(
        ssh(fleet, "app-1", "readlink -f /usr/local/bin/dpkg").trim(),
        "/usr/local/bin/scalr-installer"
    );

    // The profile is a valid ha profile for exactly these VMs.
    let profile: Profile =
        toml::from_str(&std::fs::read_to_string(fleet.profile_path()).unwrap()).unwrap();
    assert_eq!(profile.layout, Layout::Ha);
    assert_eq!(profile.hosts.len(), 6);
    assert_eq!(profile.hosts[4].role, Some(HaRole::DbMaster));
    assert_eq!(
        profile.hosts[4].address,
        fleet.vm("db-master").unwrap().address
    );
    assert_eq!(profile.endpoint.host, fleet.vm("app-1").unwrap().address);
    assert_eq!(
        profile.hosts[5].os, None,
        "fedora-30 is for preflight to refuse"
    );
}

#[test]
fn known_hosts_satisfies_libssh2_strict_checking() {
    let Some(lab) = lab(LabLayout::Bare(1), |_| {}) else {
        return;
    };
    let vm = &lab.fleet.vms()[0];
    let tcp = std::net::TcpStream::connect((vm.address.as_str(), lab.fleet.state().port)).unwrap();
    let mut session = ssh2::Session::new().unwrap();
    session.set_tcp_stream(tcp);
    session.handshake().unwrap();
    let (key, _) = session.host_key().unwrap();
    let mut known = session.known_hosts().unwrap();
    known
        .read_file(
            &lab.fleet.known_hosts_path(),
            ssh2::KnownHostFileKind::OpenSSH,
        )
        .unwrap();
    assert!(matches!(
        known.check_port(&vm.address, lab.fleet.state().port, key),
        ssh2::CheckResult::Match
    ));
    session
        .userauth_pubkey_file("deploy", None, &lab.fleet.key_path(), None)
        .unwrap();
    let mut channel = session.channel_session().unwrap();
    channel.exec("sudo -n cat /etc/hostname").unwrap();
    let mut out = String::new();
    std::io::Read::read_to_string(&mut channel, &mut out).unwrap();
    channel.wait_close().unwrap();
    assert_eq!(
        (channel.exit_status().unwrap(), out.as_str()),
        (0, "vm-1\n")
    );
}

#[test]
fn each_vm_reports_its_own_emulated_hardware_and_a_real_disk_limit() {
    let Some(lab) = lab(LabLayout::Bare(2), |o| {
        o.ram_mb = vec![("vm-1".into(), 3000)];
        o.cpus = vec![("vm-1".into(), 2)];
        o.disk_gb = vec![("vm-1".into(), 0.01)];
    }) else {
        return;
    };
    let fleet = &lab.fleet;
    let report =
        "awk '/MemTotal/ {print $2}' /proc/meminfo; grep -c ^processor /proc/cpuinfo; nproc; \
                  getconf _NPROCESSORS_ONLN; df -P /opt/scalr-server | awk 'NR==2 {print $2}'";
    assert_eq!(ssh(fleet, "vm-1", report), "3072000\n2\n2\n2\n10240\n");
    assert_eq!(
        ssh(fleet, "vm-2", report),
        format!("{}\n4\n4\n4\n{}\n", 16 * 1024 * 1024, 750 * 1024 * 1024)
    );
    // The disk fills up like a real one.
    let out = ssh_as(
        fleet,
        "vm-1",
        "root",
        "dd if=/dev/zero of=/opt/scalr-server/fill bs=1M count=20",
        "",
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("No space left on device"));
}

#[test]
fn non_root_logins_use_sudo_without_and_with_a_password() {
    let Some(lab) = lab(LabLayout::Compact, |o| o.login = LabLogin::Operator) else {
        return;
    };
    let fleet = &lab.fleet;
    let vm = "scalr";
    let deploy = ssh_as(fleet, vm, "deploy", "id -un; sudo -n id -un", "");
    assert_eq!(String::from_utf8_lossy(&deploy.stdout), "deploy\nroot\n");

    let password = fleet.operator_password().unwrap();
    let refused = ssh_as(fleet, vm, "operator", "sudo -n true", "");
    assert!(!refused.status.success(), "operator needs a password");
    let ok = ssh_as(
        fleet,
        vm,
        "operator",
        "sudo -S -p '' id -un",
        &format!("{password}\n"),
    );
    assert_eq!(
        String::from_utf8_lossy(&ok.stdout),
        "root\n",
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let wrong = ssh_as(
        fleet,
        vm,
        "operator",
        "sudo -S -p '' id -un",
        "not-the-password\n",
    );
    assert!(!wrong.status.success());
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("incorrect password"));

    // The users exist in the VM only.
    let machine_has_deploy = std::fs::read_to_string("/etc/passwd")
        .unwrap()
        .contains("\ndeploy:");
    assert!(!machine_has_deploy);
    // Root logs in by key only: no password authentication is offered.
    let sshd_config =
        std::fs::read_to_string(fleet.vm_etc(vm).unwrap().join("ssh/sshd_config")).unwrap();
    assert!(sshd_config.contains("PasswordAuthentication no"));

    let profile: Profile =
        toml::from_str(&std::fs::read_to_string(fleet.profile_path()).unwrap()).unwrap();
    assert_eq!(
        (profile.layout, profile.ssh.user.as_str(), profile.ssh.sudo),
        (Layout::Compact, "operator", SudoMode::Password)
    );
    let mode = |name: &str| {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(fleet.dir().join(name))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(
        (
            mode("operator-password"),
            mode("packagecloud-token"),
            mode("id_ed25519")
        ),
        (0o600, 0o600, 0o600)
    );
}

#[test]
fn vm_shells_start_from_stock_files_and_cost_no_extra_time() {
    let Some(lab) = lab(LabLayout::Bare(1), |_| {}) else {
        return;
    };
    let fleet = &lab.fleet;
    let bashrc = ssh(fleet, "vm-1", "cat ~/.bashrc");
    assert_eq!(
        bashrc,
        std::fs::read_to_string("/etc/skel/.bashrc").unwrap()
    );
    // Time a bare `true` against one that skips every start-up file: they must cost the same.
    let time = |command: &str| {
        let start = Instant::now();
        for _ in 0..5 {
            ssh(fleet, "vm-1", command);
        }
        start.elapsed() / 5
    };
    let plain = time("true");
    let without_rc = time("exec /bin/true");
    eprintln!("ssh true: {plain:?}; ssh exec /bin/true: {without_rc:?}");
    assert!(
        plain < without_rc + Duration::from_millis(50),
        "{plain:?} vs {without_rc:?}"
    );
}

#[test]
fn faults_stop_start_freeze_and_thaw_a_vms_sshd() {
    let Some(mut lab) = lab(LabLayout::Bare(1), |_| {}) else {
        return;
    };
    let fleet = &mut lab.fleet;
    ssh(fleet, "vm-1", "echo kept > /opt/scalr-server/state");

    fleet.fault("vm-1", Fault::StopSshd).unwrap();
    assert_eq!(fleet.status()[0].sshd, SshdState::Stopped);
    let refused = ssh_as(fleet, "vm-1", "root", "true", "");
    assert_eq!(refused.status.code(), Some(255));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("Connection refused"));

    fleet.fault("vm-1", Fault::StartSshd).unwrap();
    assert_eq!(fleet.status()[0].sshd, SshdState::Up);
    // The VM kept its disk while sshd was down.
    assert_eq!(ssh(fleet, "vm-1", "cat /opt/scalr-server/state"), "kept\n");

    fleet.fault("vm-1", Fault::Freeze).unwrap();
    assert_eq!(fleet.status()[0].sshd, SshdState::Frozen);
    let start = Instant::now();
    let hung = ssh_as(fleet, "vm-1", "root", "true", "");
    assert!(!hung.status.success());
    assert!(
        start.elapsed() >= Duration::from_secs(4),
        "a frozen VM times out, it does not refuse"
    );

    fleet.fault("vm-1", Fault::Thaw).unwrap();
    assert_eq!(ssh(fleet, "vm-1", "hostname"), "vm-1\n");

    fleet.fault("vm-1", Fault::ReconfigureFailAt(7)).unwrap();
    fleet.fault("vm-1", Fault::ReconfigureSlow(4.0)).unwrap();
    assert_eq!(
        ssh(fleet, "vm-1", "cat /etc/scalr-lab/faults.toml"),
        "reconfigure_fail_at = 7\nreconfigure_slow = 4.0\n"
    );
    fleet.fault("vm-1", Fault::Clear).unwrap();
    assert_eq!(ssh(fleet, "vm-1", "ls /etc/scalr-lab"), "vm.toml\n");
    assert!(fleet
        .fault("vm-9", Fault::Freeze)
        .unwrap_err()
        .to_string()
        .contains("vm-1"));
}

/// Mount points in this (the machine's) namespace whose path is inside `dir`.
fn mounts_under(dir: &Path) -> Vec<String> {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .filter(|l| l.contains(&*dir.to_string_lossy()))
        .map(String::from)
        .collect()
}

#[test]
fn lab_down_leaves_no_process_mount_or_file_behind_and_is_idempotent() {
    let Some(lab) = lab(LabLayout::Bare(2), |_| {}) else {
        return;
    };
    let Lab { fleet, _tmp } = lab;
    // A session and a daemon the VM started itself must go too.
    ssh(
        &fleet,
        "vm-1",
        "setsid sleep 1000 </dev/null >/dev/null 2>&1 &",
    );
    let dir = fleet.dir().to_path_buf();
    let state = fleet.state().clone();
    let lock = PathBuf::from(format!("/run/scalr-lab/127.0.{}.0.lock", state.block));
    assert!(lock.exists());
    for vm in &state.vms {
        assert!(
            procs::pids_in_mnt_ns(vm.mnt_ns).len() >= 2,
            "{}: holder and sshd",
            vm.name
        );
    }
    // As after `lab up` exited: another process stops it from the directory alone.
    let _ = fleet.detach();
    Fleet::down_dir(&dir).unwrap();
    for vm in &state.vms {
        assert_eq!(
            pids_of_this_lab(&state, &vm.name, vm.mnt_ns),
            Vec::<i32>::new(),
            "{}",
            vm.name
        );
    }
    assert_eq!(mounts_under(&dir), Vec::<String>::new());
    assert!(!dir.exists());
    // The block is free again: its lock is gone, or already names another (parallel) lab.
    let owner = std::fs::read_to_string(&lock).unwrap_or_default();
    assert_ne!(
        owner.trim(),
        dir.display().to_string(),
        "the address lock still names this lab"
    );
    Fleet::down_dir(&dir).unwrap();
}

#[test]
fn lab_down_after_a_crash_with_stale_pids_still_cleans_up() {
    let Some(lab) = lab(LabLayout::Bare(1), |_| {}) else {
        return;
    };
    let Lab { mut fleet, _tmp } = lab;
    // The recorded sshd dies behind the lab's back.
    let sshd = fleet.vms()[0].sshd_pid.unwrap();
    procs::signal(sshd, nix::sys::signal::Signal::SIGKILL);
    fleet.fault("vm-1", Fault::StopSshd).unwrap();
    assert_eq!(fleet.status()[0].sshd, SshdState::Stopped);
    let dir = fleet.dir().to_path_buf();
    let ns = fleet.vms()[0].mnt_ns;
    let state = fleet.state().clone();
    drop(fleet.detach());
    Fleet::down_dir(&dir).unwrap();
    assert!(pids_of_this_lab(&state, "vm-1", ns).is_empty());
    assert!(!dir.exists());
}

#[test]
fn dropping_an_owned_fleet_stops_it() {
    let Some(lab) = lab(LabLayout::Bare(1), |_| {}) else {
        return;
    };
    let Lab { fleet, _tmp } = lab;
    let dir = fleet.dir().to_path_buf();
    let ns = fleet.vms()[0].mnt_ns;
    let state = fleet.state().clone();
    drop(fleet);
    assert!(pids_of_this_lab(&state, "vm-1", ns).is_empty());
    assert!(!dir.exists());
}

#[test]
fn labs_side_by_side_get_their_own_address_blocks() {
    let (Some(a), Some(b)) = (
        lab(LabLayout::Bare(1), |_| {}),
        lab(LabLayout::Bare(1), |_| {}),
    ) else {
        return;
    };
    assert_ne!(a.fleet.state().block, b.fleet.state().block);
    assert_ne!(a.fleet.vms()[0].address, b.fleet.vms()[0].address);
    assert!(!a.fleet.vms()[0].address.starts_with("127.0.0."));
}

#[test]
fn up_refuses_a_directory_with_other_files_and_changes_nothing() {
    if let Err(why) = lab_available() {
        eprintln!("skipped: {why}");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("notes.txt"), "mine").unwrap();
    let err = Fleet::up(&LabOptions::new(tmp.path(), LabLayout::Bare(1)))
        .err()
        .unwrap();
    assert!(err.to_string().contains("pick another --dir"), "{err}");
    let entries: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
    assert_eq!(entries.len(), 1);
}

/// The live processes in a VM's namespace that still see this lab's mounts. Parallel tests start
/// labs all the time, and a stopped VM's namespace inode number can be reused at once by another
/// lab's VM: those processes are not ours and must not fail the check.
fn pids_of_this_lab(state: &scalr_installer::lab::state::LabState, vm: &str, ns: u64) -> Vec<i32> {
    let marker = state.mount_marker(vm, "run");
    procs::pids_in_mnt_ns(ns)
        .into_iter()
        .filter(|pid| procs::is_alive(*pid) && procs::sees_mount_source(*pid, &marker))
        .collect()
}
