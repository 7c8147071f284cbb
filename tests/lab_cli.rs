//! `scalr-installer lab …` as an operator types it.

use std::process::Command;

fn installer() -> Command {
    Command::new(env!("CARGO_BIN_EXE_scalr-installer"))
}

#[test]
fn lab_up_without_root_says_to_use_sudo_and_creates_nothing() {
    if !nix::unistd::geteuid().is_root() {
        let tmp = tempfile::tempdir().unwrap();
        let out = installer()
            .args(["lab", "up", "--dir"])
            .arg(tmp.path().join("lab"))
            .output()
            .unwrap();
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("run it with sudo"));
        assert!(!tmp.path().join("lab").exists());
        return;
    }
    // As root, drop to `nobody` to see the refusal.
    let Ok(probe) = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "true"])
        .status()
    else {
        eprintln!("skipped: setpriv is missing");
        return;
    };
    if !probe.success() {
        eprintln!("skipped: cannot drop privileges with setpriv here");
        return;
    }
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(env!("CARGO_BIN_EXE_scalr-installer"))
        .args(["lab", "up", "--dir", "/nonexistent/scalr-lab-test"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("the lab needs root to create mount namespaces: run it with sudo"),
        "{stderr}"
    );
}

#[test]
fn bad_lab_options_are_refused_with_the_fix() {
    let cases: [(&[&str], &str); 4] = [
        (
            &["--layout", "ha", "--hosts", "3"],
            "use --layout bare for 3 plain VMs",
        ),
        (&["--os", "windows-11"], "fedora-30"),
        (&["--ram-mb", "nosuchvm=3000"], "this lab's VMs are app-1"),
        (&["--layout", "mesh"], "use ha, compact, scaled or bare"),
    ];
    for (args, expected) in cases {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("lab");
        let out = installer()
            .args(["lab", "up", "--dir"])
            .arg(&dir)
            .args(args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}");
        // Not-root is reported first when not root; the option checks need root to be reached.
        if nix::unistd::geteuid().is_root() {
            assert!(stderr.contains(expected), "{args:?}: {stderr}");
        }
        assert!(!dir.exists(), "{args:?} must change nothing");
    }
}

#[test]
fn lab_down_on_a_missing_directory_is_a_no_op() {
    let tmp = tempfile::tempdir().unwrap();
    let out = installer()
        .args(["lab", "down", "--dir"])
        .arg(tmp.path().join("never-created"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
