//! `check`, `plan`, `apply` and `status`, end to end: the real installer binary against lab VMs
//! (real sshd, sudo and shell; the simulated Scalr package). Each test makes its own lab and state
//! directory, so they run in parallel. Without root and OpenSSH each test prints why it skips.

#[path = "support/lab.rs"]
mod support;

use scalr_installer::lab::{Fault, Fleet, LabLayout};
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
    // The job records digest, steps printed and the version, asked while the reconfigure ran.
    let (code, marker) = lab.ssh(
        &vm,
        "cat /opt/scalr-server/var/lib/scalr-installer/reconfigure.ok",
    );
    assert_eq!(code, 0, "{marker}");
    let fields: Vec<&str> = marker.split_whitespace().collect();
    assert_eq!(fields.len(), 3, "{marker}");
    assert!(fields[1].parse::<usize>().unwrap() > 10, "{marker}");
    assert_eq!(fields[2], "8.0.0-1", "{marker}");

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
fn a_wrong_packagecloud_token_fails_the_index_refresh_with_the_token_hint_and_a_rerun_installs() {
    let Some(lab) = lab(LabLayout::Compact, |o| o.os = vec!["centos-7".into()]) else {
        return;
    };
    let vm = lab.names()[0].clone();
    let wrong = lab.apply(&[("SCALR_PACKAGECLOUD_TOKEN", "not-the-token")]);
    assert_eq!(wrong.code, 1, "{}", wrong.all());
    let failed = wrong
        .events()
        .into_iter()
        .find(|e| e["event"] == "phase_finished" && e["phase"] == "package")
        .expect("the package phase ran");
    let error = failed.to_string();
    assert!(
        error.contains("refreshing the package index (`yum -q makecache -y`) failed")
            && error.contains("packagecloud token"),
        "{error}"
    );
    assert!(
        wrong.all().contains("HTTPS Error 401"),
        "yum's own words reach the operator:\n{}",
        wrong.all()
    );
    assert!(
        !wrong.all().contains("SCALR-INSTALLER") && !wrong.all().contains("not-the-token"),
        "{}",
        wrong.all()
    );

    let right = lab.apply(&[]);
    assert_eq!(right.code, 0, "{}", right.all());
    assert!(!right.all().contains("SCALR-INSTALLER"), "{}", right.all());
    let (code, version) = lab.ssh(&vm, "rpm -q --qf '%{VERSION}' scalr-server");
    assert_eq!((code, version.trim()), (0, "8.0.0"));
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
