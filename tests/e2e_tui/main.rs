//! An operator at a terminal: the real binary in a pseudo-terminal against a real lab fleet.
//!
//! One lab serves the whole story, because starting six VMs is the slow part: create an HA
//! profile in the full-screen wizard, install it and watch the dashboard reach success; give
//! the same answers to `wizard --plain` and get the identical file; re-run the wizard, change
//! one setting, and see the plan before it is applied.

mod term;

use scalr_installer::lab::{Fleet, LabLayout, LabOptions};
use std::path::{Path, PathBuf};
use std::time::Duration;
use term::*;

const SECS: fn(u64) -> Duration = Duration::from_secs;

/// A hard-linked copy of this build's binary: the shared target dir may be rebuilt by another
/// branch while the test runs.
/// `SCALR_E2E_BINARY` names a copy taken right after `cargo build`, when builds of other
/// branches keep replacing the shared one.
fn binary_snapshot(dir: &Path) -> PathBuf {
    let built = std::env::var("SCALR_E2E_BINARY")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_scalr-installer").to_string());
    let built = built.as_str();
    let copy = dir.join("scalr-installer");
    if std::fs::hard_link(built, &copy).is_err() {
        std::fs::copy(built, &copy).unwrap();
    }
    let help = std::process::Command::new(&copy)
        .arg("--help")
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&help.stdout).contains("wizard"),
        "{built} is not a build with the wizard (another branch's build in the shared target dir \
         replaced it); run the tests again"
    );
    copy
}

fn lab_or_skip(work: &Path, bin: &Path) -> Option<Fleet> {
    if let Err(reason) = scalr_installer::lab::fleet::lab_available() {
        eprintln!("SKIPPED: the end-to-end wizard tests need a lab: {reason}");
        return None;
    }
    let mut opts = LabOptions::new(work.join("lab"), LabLayout::Ha);
    opts.tool_binary = Some(bin.to_path_buf());
    opts.reconfigure_secs = 2.0;
    Some(Fleet::up(&opts).expect("lab up"))
}

struct Answers {
    name: &'static str,
    names: Vec<String>,
    addresses: Vec<String>,
    endpoint: String,
    version: &'static str,
    license: String,
    key: String,
    known_hosts: String,
}

fn answers(fleet: &Fleet) -> Answers {
    let addresses: Vec<String> = fleet.vms().iter().map(|v| v.address.clone()).collect();
    Answers {
        name: "e2e",
        names: fleet.vms().iter().map(|v| v.name.clone()).collect(),
        endpoint: addresses[0].clone(),
        addresses,
        version: "8.0.0",
        license: fleet.dir().join("license.json").display().to_string(),
        key: fleet.key_path().display().to_string(),
        known_hosts: fleet.known_hosts_path().display().to_string(),
    }
}

fn env(fleet: &Fleet, state: &Path) -> Vec<(&'static str, String)> {
    vec![
        (
            "SCALR_PACKAGECLOUD_TOKEN",
            fleet.packagecloud_token().unwrap(),
        ),
        ("SCALR_INSTALLER_STATE_DIR", state.display().to_string()),
    ]
}

/// The full-screen wizard, answered with keys as an operator would.
fn create_in_tui(t: &mut Term, a: &Answers) {
    t.wait_for("Deployment name", SECS(20));
    t.keys(END);
    t.backspace("scalr".len());
    t.keys(a.name);
    t.capture("wizard-layout");
    t.keys(PGDN);

    t.wait_for("Host 1 of 6", SECS(5));
    for (i, address) in a.addresses.iter().enumerate() {
        t.tab(1);
        t.keys(address);
        if i + 1 < a.addresses.len() {
            t.tab(6);
        }
    }
    t.capture("wizard-hosts");
    t.keys(PGDN);

    t.wait_for("Ctrl+D", SECS(5));
    t.keys(PGDN);

    t.wait_for("Endpoint", SECS(5));
    t.keys(&a.endpoint);
    t.keys(PGDN);

    t.wait_for("Token variable", SECS(5));
    t.tab(3);
    t.keys(a.version);
    t.tab(1);
    t.keys(END);
    t.backspace("license.json".len());
    t.keys(&a.license);
    t.keys(PGDN);

    t.wait_for("Private key", SECS(5));
    t.tab(2);
    t.keys(&a.key);
    t.tab(3);
    t.keys(&a.known_hosts);
    t.keys(PGDN);
    t.wait_for("Ready to save", SECS(10));
}

/// Presses `y` on the plan until the engine's plan is complete and the dashboard opens.
fn accept_plan(t: &mut Term) {
    t.wait_for("What `apply --profile", SECS(30));
    for _ in 0..600 {
        t.keys("y");
        if t.text().contains("Scalr Server — apply") {
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("the plan never completed:\n{}", t.text());
}

fn watch_install(t: &mut Term) {
    t.wait_for("Scalr Server — apply", SECS(30));
    t.wait_for("reconfigure", SECS(180));
    t.capture("dashboard-running");
    let at = t.wait_any(&["apply finished: success", "apply finished: "], SECS(300));
    let screen = t.text();
    assert_eq!(at, 0, "the install did not succeed:\n{screen}");
    assert_eq!(screen.matches("✓ done").count(), 6, "{screen}");
    t.capture("dashboard-done");
    t.keys("q");
}

/// `wizard --plain`: the same answers at line prompts. Waits for each prompt before answering
/// (keys typed between prompts would reach the terminal in cooked mode).
fn create_in_plain(t: &mut Term, a: &Answers) {
    let answer = |t: &mut Term, label: &str, keys: &[&str]| {
        wait_prompt(t, label);
        for k in keys {
            t.keys(k);
        }
        t.keys(ENTER);
    };
    let bs = "\x7f";
    answer(t, "Deployment name", &[&bs.repeat(5), a.name]);
    answer(t, "Layout", &[]);
    for address in &a.addresses {
        answer(t, "name:", &[]);
        answer(t, "address:", &[address]);
        answer(t, "private address:", &[]);
        answer(t, "role:", &[]);
        answer(t, "SSH user:", &[]);
        answer(t, "SSH port:", &[]);
        answer(t, "SSH key:", &[]);
    }
    for name in &a.names {
        answer(t, &format!("{name}:"), &[]);
    }
    answer(t, "Endpoint:", &[&a.endpoint]);
    answer(t, "Scheme:", &[]);
    answer(t, "Connection policy:", &[]);
    answer(t, "Per-cloud policy:", &[]);
    answer(t, "Allowed networks:", &[]);
    answer(t, "Package source:", &[]);
    answer(t, "Repository:", &[]);
    answer(t, "Token variable:", &[]);
    answer(t, "Version:", &[a.version]);
    answer(
        t,
        "Licence file:",
        &[&bs.repeat("license.json".len()), &a.license],
    );
    answer(t, "User:", &[]);
    answer(t, "Port:", &[]);
    answer(t, "Private key:", &[&a.key]);
    answer(t, "Sudo:", &[]);
    answer(t, "Host keys:", &[]);
    answer(t, "known_hosts file:", &[&a.known_hosts]);
    answer(t, "Jump host:", &[]);
    answer(t, "Timeout (s):", &[]);
    answer(t, "Save it?", &[]);
    answer(t, "What next?", &[DOWN, DOWN]);
}

/// Waits until the line with the cursor holds `label` (the prompt being asked now).
fn wait_prompt(t: &mut Term, label: &str) {
    let deadline = std::time::Instant::now() + SECS(20);
    loop {
        t.pump();
        let (row, _) = t.screen.screen().cursor_position();
        let line = t
            .screen
            .screen()
            .rows(0, COLS)
            .nth(row as usize)
            .unwrap_or_default();
        if line.contains(label) {
            return;
        }
        if std::time::Instant::now() > deadline {
            panic!(
                "the prompt {label:?} never came; the cursor is on {line:?}; the screen:\n{}",
                t.text()
            );
        }
        std::thread::sleep(Duration::from_millis(30));
    }
}

/// Opens the saved profile, changes the connection policy, and applies after seeing the plan.
fn rerun_with_one_change(t: &mut Term) {
    t.wait_for("Deployment name", SECS(20));
    let layout = t.text();
    assert!(layout.contains("e2e"), "answers are pre-filled:\n{layout}");
    for _ in 0..3 {
        t.keys(PGDN);
    }
    t.wait_for("Connection policy", SECS(5));
    t.tab(2);
    t.keys(RIGHT);
    for _ in 0..3 {
        t.keys(PGDN);
    }
    t.wait_for("Ready to save", SECS(10));
    t.keys(ENTER);
    t.wait_for("Saved", SECS(10));
    t.keys("i");
    let plan = t.wait_for("instances_connection_policy", SECS(60));
    assert!(plan.contains("scalr-server.rb (changed)"), "{plan}");
    assert!(
        !plan.contains("install scalr-server"),
        "nothing is reinstalled:\n{plan}"
    );
    t.capture("wizard-plan");
}

#[test]
fn an_operator_creates_an_ha_profile_installs_it_and_line_mode_makes_the_same_file() {
    let work = tempfile::tempdir().unwrap();
    let bin = binary_snapshot(work.path());
    let Some(fleet) = lab_or_skip(work.path(), &bin) else {
        return;
    };
    let a = answers(&fleet);
    let state = work.path().join("state");
    let env = env(&fleet, &state);
    let tui_dir = work.path().join("tui");
    let plain_dir = work.path().join("plain");
    std::fs::create_dir_all(&tui_dir).unwrap();
    std::fs::create_dir_all(&plain_dir).unwrap();

    // Create in the full-screen wizard, save, see the plan, install, watch the dashboard.
    let mut t = Term::spawn(&bin, &["wizard"], &env, &tui_dir);
    create_in_tui(&mut t, &a);
    t.capture("wizard-review");
    t.keys(ENTER);
    t.wait_for("Saved", SECS(10));
    t.keys("i");
    accept_plan(&mut t);
    watch_install(&mut t);
    assert_eq!(t.exit_code(SECS(30)), 0);
    let tui_profile = std::fs::read_to_string(tui_dir.join("profiles/e2e.toml")).unwrap();

    // The same answers at line prompts make the identical file.
    let mut p = Term::spawn(&bin, &["wizard", "--plain"], &env, &plain_dir);
    create_in_plain(&mut p, &a);
    assert_eq!(p.exit_code(SECS(30)), 0, "{}", p.text());
    let plain_profile = std::fs::read_to_string(plain_dir.join("profiles/e2e.toml")).unwrap();
    assert_eq!(plain_profile, tui_profile);

    fleet.down().unwrap();
}

#[test]
fn a_re_run_changes_one_setting_and_sees_the_plan_before_applying_it() {
    let work = tempfile::tempdir().unwrap();
    let bin = binary_snapshot(work.path());
    let Some(fleet) = lab_or_skip(work.path(), &bin) else {
        return;
    };
    let a = answers(&fleet);
    let state = work.path().join("state");
    let env = env(&fleet, &state);
    let dir = work.path().join("tui");
    std::fs::create_dir_all(&dir).unwrap();

    let mut t = Term::spawn(&bin, &["wizard"], &env, &dir);
    create_in_tui(&mut t, &a);
    t.keys(ENTER);
    t.wait_for("Saved", SECS(10));
    t.keys("i");
    accept_plan(&mut t);
    watch_install(&mut t);
    assert_eq!(t.exit_code(SECS(30)), 0);
    let first = std::fs::read_to_string(dir.join("profiles/e2e.toml")).unwrap();

    let mut r = Term::spawn(
        &bin,
        &["wizard", "--profile", "profiles/e2e.toml"],
        &env,
        &dir,
    );
    rerun_with_one_change(&mut r);
    accept_plan(&mut r);
    watch_install(&mut r);
    assert_eq!(r.exit_code(SECS(30)), 0);
    let changed = std::fs::read_to_string(dir.join("profiles/e2e.toml")).unwrap();
    assert_ne!(changed, first);

    // `apply --dashboard` without --yes: the plan, the question, then the live dashboard.
    let mut d = Term::spawn(
        &bin,
        &["apply", "--profile", "profiles/e2e.toml", "--dashboard"],
        &env,
        &dir,
    );
    d.wait_for("Apply these changes? [y/N]", SECS(60));
    d.keys("y");
    d.keys(ENTER);
    d.wait_for("Scalr Server — apply", SECS(30));
    let at = d.wait_any(&["apply finished: success", "apply finished: "], SECS(120));
    assert_eq!(at, 0, "the dashboard run did not succeed:\n{}", d.text());
    d.keys("q");
    assert_eq!(d.exit_code(SECS(30)), 0);
    fleet.down().unwrap();
}
