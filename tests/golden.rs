//! The files each host receives, pinned byte for byte for the ha, compact and custom layouts.
//! Regenerate after an intended change with `UPDATE_GOLDEN=1 cargo test --test golden`.

use scalr_installer::profile;
use scalr_installer::render::{self, HostFiles};
use scalr_installer::secrets::Secrets;
use scalr_installer::topology::Deployment;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn render_fixture(layout: &str) -> Vec<HostFiles> {
    let loaded =
        profile::load(&fixtures().join(format!("{layout}.toml"))).expect("fixture is valid");
    let deployment = Deployment::resolve(&loaded.profile).expect("fixture layout is valid");
    let secrets =
        Secrets::from_json(&std::fs::read(fixtures().join("secrets.json")).unwrap()).unwrap();
    let license = render::read_license(&loaded).unwrap();
    render::render_deployment(&loaded, &deployment, &secrets, &license).unwrap()
}

fn files_under(dir: &Path) -> BTreeSet<PathBuf> {
    let mut out = BTreeSet::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(files_under(&p));
            } else {
                out.insert(p);
            }
        }
    }
    out
}

fn check_golden(layout: &str) {
    let hosts = render_fixture(layout);
    let golden = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(layout);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        let _ = std::fs::remove_dir_all(&golden);
        render::write_tree(&golden, &hosts).unwrap();
    }
    let mut expected_paths = BTreeSet::new();
    for host in &hosts {
        for f in &host.files {
            let path = golden.join(&host.host).join(f.path.trim_start_matches('/'));
            let want = std::fs::read(&path).unwrap_or_else(|e| {
                panic!(
                    "{}: {e} — run UPDATE_GOLDEN=1 cargo test --test golden",
                    path.display()
                )
            });
            assert_eq!(
                String::from_utf8_lossy(&f.contents),
                String::from_utf8_lossy(&want),
                "{} differs from its golden file",
                path.display()
            );
            expected_paths.insert(path);
        }
    }
    assert_eq!(
        files_under(&golden),
        expected_paths,
        "golden files and rendered files differ in number"
    );
}

#[test]
fn ha_layout_renders_the_reference_six_vm_configuration() {
    check_golden("ha");
}

#[test]
fn compact_layout_renders_one_host_with_everything_enabled() {
    check_golden("compact");
}

#[test]
fn custom_layout_with_https_renders_tls_files_on_proxy_hosts_only() {
    check_golden("custom");
    let hosts = render_fixture("custom");
    let has_key = |name: &str| {
        hosts
            .iter()
            .find(|h| h.host == name)
            .unwrap()
            .files
            .iter()
            .any(|f| f.path == render::TLS_KEY)
    };
    assert!(has_key("front-1") && has_key("front-2"));
    assert!(!has_key("core") && !has_key("replica"));
}

#[test]
fn shared_files_are_identical_on_every_host() {
    for layout in ["ha", "compact", "custom"] {
        let hosts = render_fixture(layout);
        for path in [
            render::MAIN_CONFIG,
            render::SECRETS_FILE,
            render::LICENSE_FILE,
        ] {
            let contents: BTreeSet<&[u8]> = hosts
                .iter()
                .map(|h| {
                    h.files
                        .iter()
                        .find(|f| f.path == path)
                        .unwrap()
                        .contents
                        .as_slice()
                })
                .collect();
            assert_eq!(contents.len(), 1, "{layout}: {path} differs between hosts");
        }
    }
}

#[test]
fn secrets_and_keys_are_marked_secret_and_private() {
    for host in render_fixture("custom") {
        for f in host.files {
            let private = f.path == render::SECRETS_FILE || f.path == render::TLS_KEY;
            assert_eq!(f.secret, private, "{}", f.path);
            if private {
                assert_eq!(
                    f.mode & 0o007,
                    0,
                    "{} must not be readable by others",
                    f.path
                );
            }
        }
    }
}

#[test]
fn rendered_tree_gives_the_secrets_file_mode_0600() {
    use std::os::unix::fs::PermissionsExt;
    let out = tempfile::tempdir().unwrap();
    render::write_tree(out.path(), &render_fixture("ha")).unwrap();
    let mode = |p: &str| {
        std::fs::metadata(out.path().join(p))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(
        mode("db-master/etc/scalr-server/scalr-server-secrets.json"),
        0o600
    );
    assert_eq!(mode("db-master/etc/scalr-server/scalr-server.rb"), 0o644);
}

#[test]
fn waves_put_the_database_first_then_the_replica_then_the_worker() {
    let loaded = profile::load(&fixtures().join("ha.toml")).unwrap();
    let d = Deployment::resolve(&loaded.profile).unwrap();
    assert_eq!(
        d.waves(),
        vec![
            vec!["db-master"],
            vec!["db-slave"],
            vec!["worker"],
            vec!["app-1", "app-2", "influxdb"]
        ]
    );
    let compact = profile::load(&fixtures().join("compact.toml")).unwrap();
    let d = Deployment::resolve(&compact.profile).unwrap();
    assert_eq!(d.waves(), vec![vec!["scalr"]]);
}
