//! The real binary: exit codes and what the operator reads.

use std::path::Path;
use std::process::{Command, Output};

fn installer(args: &[&str], state: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_scalr-installer"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("SCALR_INSTALLER_STATE_DIR", state)
        .env_remove("SCALR_DB_PASSWORD")
        .output()
        .unwrap()
}

#[test]
fn validate_accepts_both_example_profiles() {
    let state = tempfile::tempdir().unwrap();
    for p in ["profiles/ha.example.toml", "profiles/compact.example.toml"] {
        let out = installer(&["validate", "--profile", p], state.path());
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn validate_exits_2_and_names_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("bad.toml");
    let src = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/compact.toml"),
    )
    .unwrap()
    .replace("address = \"192.0.2.10\"", "adress = \"192.0.2.10\"");
    std::fs::write(&profile, src).unwrap();
    let out = installer(
        &["validate", "--profile", profile.to_str().unwrap()],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "bad.toml:17:1: hosts[0].adress: unknown key `adress` — did you mean `address`?"
        ),
        "{stderr}"
    );
}

#[test]
fn render_writes_every_host_s_files_with_the_secrets_private() {
    use std::os::unix::fs::PermissionsExt;
    let state = tempfile::tempdir().unwrap();
    let out_dir = tempfile::tempdir().unwrap();
    let out = installer(
        &[
            "render",
            "--profile",
            "profiles/ha.example.toml",
            "--out",
            out_dir.path().to_str().unwrap(),
        ],
        state.path(),
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for host in [
        "app-1",
        "app-2",
        "worker",
        "influxdb",
        "db-master",
        "db-slave",
    ] {
        let dir = out_dir.path().join(host).join("etc/scalr-server");
        for f in ["scalr-server.rb", "scalr-server-local.rb", "license.json"] {
            assert!(dir.join(f).is_file(), "{host}/{f}");
        }
        let mode = std::fs::metadata(dir.join("scalr-server-secrets.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // The secrets stay in the state directory, never on stdout.
    let secrets =
        std::fs::read_to_string(state.path().join("deployments/scalr-ha/secrets.json")).unwrap();
    let admin: serde_json::Value = serde_json::from_str(&secrets).unwrap();
    let password = admin["app"]["admin_password"].as_str().unwrap();
    assert!(!String::from_utf8_lossy(&out.stdout).contains(password));
}

#[test]
fn render_reuses_the_deployment_s_secrets() {
    let state = tempfile::tempdir().unwrap();
    let read = |dir: &Path| {
        std::fs::read(dir.join("scalr/etc/scalr-server/scalr-server-secrets.json")).unwrap()
    };
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    for d in [&a, &b] {
        let out = installer(
            &[
                "render",
                "--profile",
                "profiles/compact.example.toml",
                "--out",
                d.path().to_str().unwrap(),
            ],
            state.path(),
        );
        assert_eq!(out.status.code(), Some(0));
    }
    assert_eq!(read(a.path()), read(b.path()));
}

#[test]
fn ports_prints_the_firewall_rules_as_json() {
    let state = tempfile::tempdir().unwrap();
    let out = installer(
        &["ports", "--profile", "profiles/ha.example.toml", "--json"],
        state.path(),
    );
    assert_eq!(out.status.code(), Some(0));
    let rules: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let has = |src: &str, dst: &str, port: u64| {
        rules
            .iter()
            .any(|r| r["source"] == src && r["destination"] == dst && r["port"] == port)
    };
    assert!(has(
        "managed instances",
        "load balancer (scalr.example.com)",
        5671
    ));
    assert!(has(
        "load balancer (scalr.example.com)",
        "app-1 (10.0.0.11)",
        80
    ));
    assert!(has("app-2 (10.0.0.12)", "db-master (10.0.0.41)", 3306));
    assert!(has("db-slave (10.0.0.42)", "db-master (10.0.0.41)", 3306));
    assert!(has("app-1 (10.0.0.11)", "worker (10.0.0.21)", 6275));
    assert!(has("worker (10.0.0.21)", "influxdb (10.0.0.31)", 6291));
    assert!(has("app-1 (10.0.0.11)", "app-2 (10.0.0.12)", 11211));
    assert!(has("worker (10.0.0.21)", "managed instances", 8013));
    assert!(
        !has("db-master (10.0.0.41)", "worker (10.0.0.21)", 6275),
        "DB hosts need no RabbitMQ"
    );
}

#[test]
fn completions_are_printed_for_bash() {
    let state = tempfile::tempdir().unwrap();
    let out = installer(&["completions", "bash"], state.path());
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("scalr-installer"));
}
