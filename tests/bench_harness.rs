//! The benchmark's harness and Ansible playbook stay in step with the installer: `bench/run
//! --self-check` renders a lab-shaped profile with this build, builds the Ansible inventory from
//! it (waves, repository files, commands) and, when bench/.venv holds ansible-core, syntax-checks
//! the playbook. No lab, no network.

use std::process::Command;

#[test]
fn bench_harness_builds_the_ansible_inventory_from_a_real_render() {
    let python = Command::new("python3")
        .args([
            "-c",
            "import sys, tomllib; print(sys.version_info >= (3, 11))",
        ])
        .output();
    match python {
        Ok(out) if String::from_utf8_lossy(&out.stdout).trim() == "True" => {}
        _ => {
            eprintln!("skipped: bench/run needs python3 >= 3.11 (tomllib)");
            return;
        }
    }
    let out = Command::new("python3")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/bench/run"))
        .args([
            "--self-check",
            "--binary",
            env!("CARGO_BIN_EXE_scalr-installer"),
        ])
        .output()
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "bench/run --self-check failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("self-check passed"), "{stdout}");
}
