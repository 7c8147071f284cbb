//! `check`, `plan`, `apply` and `status`, end to end: the real installer binary against lab VMs
//! (real sshd, sudo and shell; the simulated Scalr package). Each test makes its own lab and state
//! directory, so they run in parallel. Without root and OpenSSH each test prints why it skips.

use scalr_installer::lab::fleet::lab_available;
use scalr_installer::lab::{Fault, Fleet, LabLayout, LabLogin, LabOptions};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

struct Lab {
    fleet: Fleet,
    /// A private copy of the installer: other builds may replace target/debug's mid-test.
    bin: PathBuf,
    state: PathBuf,
    tmp: tempfile::TempDir,
}

fn lab(layout: LabLayout, configure: impl FnOnce(&mut LabOptions)) -> Option<Lab> {
    if let Err(why) = lab_available() {
        eprintln!("skipped: {why}");
        return None;
    }
    let tmp = tempfile::tempdir().unwrap();
    let bin = tmp.path().join("scalr-installer");
    let built = Path::new(env!("CARGO_BIN_EXE_scalr-installer"));
    if std::fs::hard_link(built, &bin).is_err() {
        std::fs::copy(built, &bin).unwrap();
    }
    let mut opts = LabOptions::new(tmp.path().join("lab"), layout);
    opts.tool_binary = Some(bin.clone());
    opts.reconfigure_secs = 0.5;
    configure(&mut opts);
    let fleet = Fleet::up(&opts).expect("lab up");
    Some(Lab {
        fleet,
        bin,
        state: tmp.path().join("state"),
        tmp,
    })
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn events(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    }

    /// Hosts on which `phase` started.
    fn started(&self, phase: &str) -> Vec<String> {
        self.events()
            .iter()
            .filter(|e| e["event"] == "phase_started" && e["phase"] == phase)
            .map(|e| e["host"].as_str().unwrap().to_string())
            .collect()
    }

    fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

impl Lab {
    fn installer(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut cmd = Command::new(&self.bin);
        cmd.arg("--state-dir").arg(&self.state).args(args);
        cmd.env(
            "SCALR_PACKAGECLOUD_TOKEN",
            self.fleet.packagecloud_token().unwrap(),
        );
        cmd.env_remove("SCALR_SUDO_PASSWORD");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out: Output = cmd.output().expect("installer runs");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    fn apply(&self, env: &[(&str, &str)]) -> Run {
        let profile = self.fleet.profile_path();
        self.installer(
            &[
                "apply",
                "--profile",
                profile.to_str().unwrap(),
                "--yes",
                "--json",
            ],
            env,
        )
    }

    fn command(&self, op: &str) -> Run {
        let profile = self.fleet.profile_path();
        self.installer(&[op, "--profile", profile.to_str().unwrap()], &[])
    }

    fn etc_file(&self, vm: &str, name: &str) -> Option<Vec<u8>> {
        std::fs::read(
            self.fleet
                .vm_etc(vm)
                .unwrap()
                .join("scalr-server")
                .join(name),
        )
        .ok()
    }

    fn ssh(&self, vm: &str, command: &str) -> (i32, String) {
        let out = self
            .fleet
            .ssh_command(vm, "root")
            .unwrap()
            .arg(command)
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    }

    fn names(&self) -> Vec<String> {
        self.fleet.vms().iter().map(|v| v.name.clone()).collect()
    }

    /// Every secret of the deployment: the secrets file's values and the packagecloud token.
    fn secret_values(&self, vm: &str) -> Vec<String> {
        let json: Value =
            serde_json::from_slice(&self.etc_file(vm, "scalr-server-secrets.json").unwrap())
                .unwrap();
        let mut out = vec![self.fleet.packagecloud_token().unwrap()];
        for section in json.as_object().unwrap().values() {
            for v in section.as_object().unwrap().values() {
                out.push(v.as_str().unwrap().to_string());
            }
        }
        out.retain(|s| s.len() >= 6);
        out
    }

    fn run_dirs_text(&self) -> String {
        let mut text = String::new();
        let mut stack = vec![self.state.clone()];
        while let Some(p) = stack.pop() {
            if p.is_dir() {
                stack.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
            } else if p.to_string_lossy().contains("/runs/") {
                text.push_str(&String::from_utf8_lossy(&std::fs::read(&p).unwrap()));
            }
        }
        text
    }
}

/// Samples every process's command line on this machine (the VMs share its pid space) while
/// `body` runs.
fn sampling_processes<T>(body: impl FnOnce() -> T) -> (T, String) {
    let stop = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(Mutex::new(String::new()));
    let sampler = {
        let (stop, seen) = (stop.clone(), seen.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                if let Ok(out) = Command::new("ps").args(["-eo", "args"]).output() {
                    seen.lock()
                        .unwrap()
                        .push_str(&String::from_utf8_lossy(&out.stdout));
                }
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
        })
    };
    let result = body();
    stop.store(true, Ordering::SeqCst);
    sampler.join().unwrap();
    let text = seen.lock().unwrap().clone();
    (result, text)
}

fn assert_no_secret(secrets: &[String], text: &str, where_: &str) {
    for s in secrets {
        assert!(!text.contains(s.as_str()), "a secret appears in {where_}");
    }
}

#[test]
fn compact_install_converges_and_a_rerun_changes_nothing() {
    let Some(lab) = lab(LabLayout::Compact, |_| {}) else {
        return;
    };
    let ((first, processes), vm) = (
        sampling_processes(|| lab.apply(&[])),
        lab.names()[0].clone(),
    );
    assert_eq!(first.code, 0, "{}", first.all());
    assert_eq!(first.started("reconfigure"), [vm.clone()]);
    let (code, services) = lab.ssh(&vm, "scalr-server-manage status");
    assert_eq!(code, 0, "{services}");
    assert!(
        services.lines().all(|l| l.contains("RUNNING")),
        "{services}"
    );

    let again = lab.apply(&[]);
    assert_eq!(again.code, 0, "{}", again.all());
    for phase in ["package", "config", "reconfigure"] {
        assert!(
            again.started(phase).is_empty(),
            "{phase} ran again:\n{}",
            again.stdout
        );
    }

    let check = lab.command("check");
    assert_eq!(check.code, 0, "{}", check.all());
    assert!(check.stderr.contains("pass  ram"), "{}", check.stderr);
    let plan = lab.command("plan");
    assert_eq!(plan.code, 0, "{}", plan.all());
    assert!(plan.stderr.contains("no changes"), "{}", plan.stderr);
    let status = lab.command("status");
    assert_eq!(status.code, 0, "{}", status.all());
    assert!(
        status.stderr.contains("scalr-server 8.0.0"),
        "{}",
        status.stderr
    );
    assert!(
        status.stderr.contains("files match the profile"),
        "{}",
        status.stderr
    );

    let secrets = lab.secret_values(&vm);
    assert!(secrets.len() > 5);
    for run in [&first, &again, &check, &plan, &status] {
        assert_no_secret(&secrets, &run.all(), "the installer's output");
    }
    assert_no_secret(&secrets, &lab.run_dirs_text(), "the run directory");
    assert_no_secret(&secrets, &processes, "a process list");
}

#[test]
fn ha_install_on_mixed_systems_then_a_policy_change_then_a_failed_reconfigure_resumes() {
    let Some(lab) = lab(LabLayout::Ha, |_| {}) else {
        return;
    };
    let first = lab.apply(&[]);
    assert_eq!(first.code, 0, "{}", first.all());
    let names = lab.names();
    let order = first.started("reconfigure");
    assert_eq!(order.len(), 6, "{order:?}");
    assert_eq!(order[0], "db-master", "{order:?}");
    assert_eq!(order[1], "db-slave", "{order:?}");
    assert_eq!(order[2], "worker", "{order:?}");
    for shared in [
        "scalr-server.rb",
        "scalr-server-secrets.json",
        "license.json",
    ] {
        let reference = lab.etc_file("db-master", shared).expect(shared);
        for vm in &names {
            assert!(
                lab.etc_file(vm, shared).as_ref() == Some(&reference),
                "{vm}: {shared} differs from db-master's"
            );
        }
    }
    let locals: Vec<Vec<u8>> = names
        .iter()
        .map(|vm| lab.etc_file(vm, "scalr-server-local.rb").unwrap())
        .collect();
    assert_ne!(locals[0], locals[4], "each host has its own local file");
    for vm in &names {
        let (code, services) = lab.ssh(vm, "scalr-server-manage status");
        assert_eq!(code, 0, "{vm}: {services}");
    }
    let (code, _) = lab.ssh(
        "db-master",
        "test -s /opt/scalr-server/var/lib/mysql/replication.toml",
    );
    assert_eq!(code, 0, "replication was kicked off");
    let secrets = lab.secret_values("db-master");
    assert_no_secret(&secrets, &first.all(), "the installer's output");

    // A connection-policy change rewrites scalr-server.rb: every host reconfigures, none reinstalls.
    let profile = lab.fleet.profile_path();
    let text = std::fs::read_to_string(&profile).unwrap();
    std::fs::write(
        &profile,
        text.replace(
            "connection_policy = \"auto\"",
            "connection_policy = \"local\"",
        ),
    )
    .unwrap();
    let changed = lab.apply(&[]);
    assert_eq!(changed.code, 0, "{}", changed.all());
    assert!(changed.started("package").is_empty());
    assert_eq!(changed.started("reconfigure").len(), 6);

    // A reconfigure failure on one host: reported with its log, others finish, exit 1.
    std::fs::write(
        &profile,
        std::fs::read_to_string(&profile).unwrap().replace(
            "connection_policy = \"local\"",
            "connection_policy = \"public\"",
        ),
    )
    .unwrap();
    let mut fleet_faults = Fleet::open(lab.fleet.dir()).unwrap();
    fleet_faults
        .fault("influxdb", Fault::ReconfigureFailAt(3))
        .unwrap();
    let failed = lab.apply(&[]);
    assert_eq!(failed.code, 1, "{}", failed.all());
    let summary = failed
        .events()
        .into_iter()
        .find(|e| e["event"] == "run_finished")
        .unwrap();
    let hosts = summary["summary"]["hosts"].as_array().unwrap();
    for pair in hosts {
        let (host, outcome) = (pair[0].as_str().unwrap(), &pair[1]);
        if host == "influxdb" {
            assert_eq!(outcome["status"], "failed", "{outcome}");
            let text = outcome.to_string();
            assert!(text.contains("reconfigure.log"), "{text}");
            assert!(text.contains("FAILED"), "{text}");
        } else {
            assert_eq!(outcome["status"], "succeeded", "{host}: {outcome}");
        }
    }
    fleet_faults.fault("influxdb", Fault::Clear).unwrap();
    let resumed = lab.apply(&[]);
    assert_eq!(resumed.code, 0, "{}", resumed.all());
    assert_eq!(resumed.started("reconfigure"), ["influxdb"]);
    drop(lab.tmp);
}

fn blocked(run: &Run, needle: &str) {
    assert_eq!(run.code, 3, "{}", run.all());
    assert!(
        run.all().contains(needle),
        "expected {needle:?} in:\n{}",
        run.all()
    );
}

#[test]
fn unsupported_systems_and_too_little_ram_are_refused_before_anything_changes() {
    let Some(lab) = lab(LabLayout::Ha, |o| {
        o.os = vec![
            "ubuntu-18.04".into(),
            "centos-7".into(),
            "ubuntu-16.04".into(),
            "fedora-30".into(),
            "centos-7".into(),
            "rhel-7".into(),
        ];
        o.ram_mb = vec![("app-2".into(), 3000)];
    }) else {
        return;
    };
    let run = lab.apply(&[]);
    blocked(&run, "Fedora 30");
    assert_eq!(
        run.events().last().unwrap()["summary"]["exit_code"],
        3,
        "the summary event agrees with the exit code"
    );
    assert!(run.all().contains("ram"), "{}", run.all());
    for vm in lab.names() {
        assert!(
            lab.etc_file(&vm, "scalr-server.rb").is_none(),
            "{vm} was changed"
        );
    }
    let check = lab.command("check");
    assert_eq!(check.code, 3, "{}", check.all());
    assert!(check.stderr.contains("FAIL"), "{}", check.stderr);
}

#[test]
fn host_key_and_sudo_problems_stop_every_host() {
    let Some(lab) = lab(LabLayout::Compact, |o| o.login = LabLogin::Operator) else {
        return;
    };
    let vm = lab.names()[0].clone();
    let wrong = lab.apply(&[("SCALR_SUDO_PASSWORD", "not-the-password")]);
    blocked(&wrong, "sudo rejected the password");
    assert!(!wrong.all().contains("not-the-password"));

    let known_hosts = lab.fleet.known_hosts_path();
    let original = std::fs::read_to_string(&known_hosts).unwrap();
    std::fs::write(&known_hosts, "").unwrap();
    let password = lab.fleet.operator_password().unwrap();
    let unknown = lab.apply(&[("SCALR_SUDO_PASSWORD", &password)]);
    blocked(&unknown, "is not in known_hosts");

    // Another key for the same address: the host now presents a key nobody recorded.
    let other = lab.tmp.path().join("other_key");
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&other)
        .status()
        .unwrap();
    assert!(status.success());
    let other_pub = std::fs::read_to_string(other.with_extension("pub")).unwrap();
    let other_key: Vec<&str> = other_pub.split_whitespace().take(2).collect();
    let forged: String = original
        .lines()
        .map(|l| {
            let mut f: Vec<&str> = l.split_whitespace().collect();
            if f.len() >= 3 {
                f[1] = other_key[0];
                f[2] = other_key[1];
            }
            f.join(" ") + "\n"
        })
        .collect();
    std::fs::write(&known_hosts, forged).unwrap();
    let changed = lab.apply(&[("SCALR_SUDO_PASSWORD", &password)]);
    blocked(&changed, "HOST KEY CHANGED");
    assert!(lab.etc_file(&vm, "scalr-server.rb").is_none());

    std::fs::write(&known_hosts, original).unwrap();
    let ok = lab.apply(&[("SCALR_SUDO_PASSWORD", &password)]);
    assert_eq!(ok.code, 0, "{}", ok.all());
    assert!(!ok.all().contains(&password));
}

#[test]
fn a_bad_profile_exits_2_before_any_connection() {
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("p.toml");
    std::fs::write(
        &profile,
        "schema = 1\nname = \"x\"\nlayout = \"nonsense\"\n",
    )
    .unwrap();
    for op in ["check", "plan", "apply", "status"] {
        let out = Command::new(env!("CARGO_BIN_EXE_scalr-installer"))
            .args(["--state-dir"])
            .arg(dir.path().join("state"))
            .args([op, "--profile"])
            .arg(&profile)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{op}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("p.toml"));
    }
}
