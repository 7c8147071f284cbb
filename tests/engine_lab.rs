//! `check`, `plan`, `apply` and `status`, end to end: the real installer binary against lab VMs
//! (real sshd, sudo and shell; the simulated Scalr package). Each test makes its own lab and state
//! directory, so they run in parallel. Without root and OpenSSH each test prints why it skips.

#[path = "support/lab.rs"]
mod support;

use scalr_installer::lab::{Fault, Fleet, LabLayout, LabLogin};
use std::process::Command;
use support::*;

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
    assert_eq!(first.started("reconfigure"), std::slice::from_ref(&vm));
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

#[test]
fn a_connection_killed_during_reconfigure_is_survived() {
    let Some(lab) = lab(LabLayout::Compact, |o| o.reconfigure_secs = 6.0) else {
        return;
    };
    let vm = lab.names()[0].clone();
    std::thread::scope(|s| {
        let apply = s.spawn(|| lab.apply(&[]));
        // Wait until the detached reconfigure runs on the host, then cut the connection.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let (code, _) = lab.ssh(
                &vm,
                "grep -q 'Preparing to reconfigure' /opt/scalr-server/var/lib/scalr-installer/reconfigure.log",
            );
            if code == 0 {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "reconfigure never started"
            );
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
        assert!(kill_sessions(&lab.fleet, &vm) > 0, "no session to kill");
        let run = apply.join().unwrap();
        assert_eq!(run.code, 0, "{}", run.all());
        let finished = run
            .events()
            .into_iter()
            .filter(|e| e["event"] == "phase_finished" && e["phase"] == "reconfigure")
            .collect::<Vec<_>>();
        assert_eq!(finished[0]["outcome"]["status"], "done", "{finished:?}");
    });
}

#[test]
fn a_frozen_host_is_reported_while_the_others_finish() {
    let Some(lab) = lab(LabLayout::Ha, |o| o.reconfigure_secs = 3.0) else {
        return;
    };
    // Install once, so the second run only reconfigures (after a profile change).
    let first = lab.apply(&[]);
    assert_eq!(first.code, 0, "{}", first.all());
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
    let mut faults = Fleet::open(lab.fleet.dir()).unwrap();
    faults
        .fault("influxdb", Fault::ReconfigureSlow(4.0))
        .unwrap();
    std::thread::scope(|s| {
        let apply = s.spawn(|| lab.apply(&[]));
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
        loop {
            let (code, _) = lab.ssh(
                "influxdb",
                "test $(cat /opt/scalr-server/var/lib/scalr-installer/reconfigure.log 2>/dev/null | wc -l) -gt 2 && ! test -e /opt/scalr-server/var/lib/scalr-installer/reconfigure.rc",
            );
            if code == 0 {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "influxdb never reconfigured"
            );
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
        faults.fault("influxdb", Fault::Freeze).unwrap();
        let started = std::time::Instant::now();
        let run = apply.join().unwrap();
        let took = started.elapsed();
        faults.fault("influxdb", Fault::Thaw).unwrap();
        assert_eq!(run.code, 1, "{}", run.all());
        assert!(took < std::time::Duration::from_secs(240), "took {took:?}");
        let summary = run.events().last().unwrap().clone();
        for pair in summary["summary"]["hosts"].as_array().unwrap() {
            let expected = if pair[0] == "influxdb" {
                "failed"
            } else {
                "succeeded"
            };
            assert_eq!(pair[1]["status"], expected, "{pair}");
        }
    });
}
