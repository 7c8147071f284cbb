//! The lab, driven through the real installer binary: shared by the end-to-end and fault suites.
#![allow(dead_code)]

use scalr_installer::lab::fleet::lab_available;
use scalr_installer::lab::{Fleet, LabLayout, LabOptions};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

pub struct Lab {
    pub fleet: Fleet,
    /// A private copy of the installer: other builds may replace target/debug's mid-test.
    pub bin: PathBuf,
    pub state: PathBuf,
    pub tmp: tempfile::TempDir,
}

pub fn lab(layout: LabLayout, configure: impl FnOnce(&mut LabOptions)) -> Option<Lab> {
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

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn events(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    }

    /// Hosts on which `phase` started.
    pub fn started(&self, phase: &str) -> Vec<String> {
        self.events()
            .iter()
            .filter(|e| e["event"] == "phase_started" && e["phase"] == phase)
            .map(|e| e["host"].as_str().unwrap().to_string())
            .collect()
    }

    pub fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

impl Lab {
    pub fn installer(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
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

    pub fn apply(&self, env: &[(&str, &str)]) -> Run {
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

    pub fn command(&self, op: &str) -> Run {
        let profile = self.fleet.profile_path();
        self.installer(&[op, "--profile", profile.to_str().unwrap()], &[])
    }

    pub fn etc_file(&self, vm: &str, name: &str) -> Option<Vec<u8>> {
        std::fs::read(
            self.fleet
                .vm_etc(vm)
                .unwrap()
                .join("scalr-server")
                .join(name),
        )
        .ok()
    }

    pub fn ssh(&self, vm: &str, command: &str) -> (i32, String) {
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

    pub fn names(&self) -> Vec<String> {
        self.fleet.vms().iter().map(|v| v.name.clone()).collect()
    }

    /// Every secret of the deployment: the secrets file's values and the packagecloud token.
    pub fn secret_values(&self, vm: &str) -> Vec<String> {
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

    pub fn run_dirs_text(&self) -> String {
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
pub fn sampling_processes<T>(body: impl FnOnce() -> T) -> (T, String) {
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

pub fn assert_no_secret(secrets: &[String], text: &str, where_: &str) {
    for s in secrets {
        assert!(!text.contains(s.as_str()), "a secret appears in {where_}");
    }
}

/// Kills the sshd processes serving open sessions in `vm` (not its listener), as a dropped
/// network connection would end them. Returns how many were killed.
pub fn kill_sessions(fleet: &Fleet, vm: &str) -> usize {
    use scalr_installer::lab::procs;
    let state = fleet.vm(vm).unwrap();
    let sessions: Vec<i32> = procs::pids_in_mnt_ns(state.mnt_ns)
        .into_iter()
        .filter(|pid| Some(*pid) != state.sshd_pid)
        .filter(|pid| procs::comm(*pid).as_deref() == Some("sshd"))
        .collect();
    for pid in &sessions {
        procs::signal(*pid, nix::sys::signal::Signal::SIGKILL);
    }
    sessions.len()
}

pub fn blocked(run: &Run, needle: &str) {
    assert_eq!(run.code, 3, "{}", run.all());
    assert!(
        run.all().contains(needle),
        "expected {needle:?} in:\n{}",
        run.all()
    );
}
