//! The SSH transport against real OpenSSH servers on loopback addresses.

#[path = "support/sshd.rs"]
mod sshd;

use scalr_installer::profile::model::{HostKeyPolicy, HostSpec, HostSsh, SshSpec, SudoMode};
use scalr_installer::ssh::{
    connect_with_retry, scan_host_key, HostKeyVerdict, HostSession, OutputLine, RemoteCommand,
    RetryPolicy, Secret, SshConfig, SshErrorKind, StaticCredentials, Stream, SudoFailure, Target,
    UploadDir, UploadFile,
};
use sshd::{keygen, Agent, Sshd, SudoRule};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

fn target_for(sshd: &Sshd, user: &str, known_hosts: PathBuf) -> Target {
    let mut t = Target::new("test-host", &sshd.address, sshd.port, user);
    t.identity_files = vec![sshd.client_key.clone()];
    t.agent_socket = None;
    t.record_new_keys_in = known_hosts.clone();
    t.known_hosts = vec![known_hosts];
    t.connect_timeout = Duration::from_secs(5);
    t.keepalive_interval = Duration::from_secs(1);
    t
}

fn root_session(sshd: &Sshd) -> HostSession {
    let t = target_for(sshd, "root", sshd.known_hosts_file(&["ed25519"]));
    HostSession::connect(&t, &HostKeyPolicy::Strict, &StaticCredentials::default())
        .expect("connects")
}

/// A session as `user`, who becomes root through `sudo -S` with `password` fed on stdin.
fn sudo_password_session(sshd: &Sshd, user: &str, password: &str) -> HostSession {
    let mut t = target_for(sshd, user, sshd.known_hosts_file(&["ed25519"]));
    t.sudo = SudoMode::Password;
    let creds = StaticCredentials {
        sudo_password: Some(Secret::new(password)),
        ..Default::default()
    };
    HostSession::connect(&t, &HostKeyPolicy::Strict, &creds).unwrap()
}

fn no_creds() -> StaticCredentials {
    StaticCredentials::default()
}

fn run(host: &mut HostSession, script: &str) -> scalr_installer::ssh::RunOutput {
    host.run(
        &RemoteCommand::new("test command", script).timeout(Duration::from_secs(20)),
        &mut |_| {},
    )
    .expect("command runs")
}

#[test]
fn commands_report_exit_status_stdout_and_stderr() {
    if Sshd::skip_unless_root("commands_report_exit_status_stdout_and_stderr") {
        return;
    }
    let sshd = Sshd::start();
    let mut host = root_session(&sshd);
    assert_eq!(host.host_key().verdict, HostKeyVerdict::Known);
    let out = run(&mut host, "echo out; echo err >&2; exit 7");
    assert_eq!(out.exit_status, 7);
    assert_eq!(out.stdout_text(), "out\n");
    assert_eq!(out.stderr_text(), "err\n");
    // The same session keeps serving commands.
    assert!(run(&mut host, "true").success());

    let err = host
        .run_checked(
            &RemoteCommand::new("the failing step", "echo broken >&2; exit 3"),
            &mut |_| {},
        )
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("test-host") && text.contains("the failing step") && text.contains("broken"),
        "{text}"
    );
    assert!(matches!(
        err.kind,
        SshErrorKind::CommandFailed { status: 3, .. }
    ));
}

#[test]
fn output_lines_arrive_while_the_command_still_runs() {
    if Sshd::skip_unless_root("output_lines_arrive_while_the_command_still_runs") {
        return;
    }
    let sshd = Sshd::start();
    let mut host = root_session(&sshd);
    let start = Instant::now();
    let mut seen: Vec<(Stream, String, Duration)> = Vec::new();
    let cmd = RemoteCommand::new("slow", "echo first; echo warn >&2; sleep 2; echo second");
    host.run(&cmd, &mut |l: OutputLine<'_>| {
        seen.push((l.stream, l.text.to_string(), start.elapsed()))
    })
    .unwrap();
    let total = start.elapsed();
    assert_eq!(seen.len(), 3, "{seen:?}");
    assert_eq!((seen[0].0, seen[0].1.as_str()), (Stream::Stdout, "first"));
    assert!(seen
        .iter()
        .any(|(s, t, _)| *s == Stream::Stderr && t == "warn"));
    assert!(total >= Duration::from_secs(2));
    assert!(
        seen[0].2 < Duration::from_millis(1500),
        "first line came only after {:?}",
        seen[0].2
    );
}

#[test]
fn reading_can_stop_at_a_line_while_the_command_goes_on() {
    if Sshd::skip_unless_root("reading_can_stop_at_a_line_while_the_command_goes_on") {
        return;
    }
    let sshd = Sshd::start();
    let mut host = root_session(&sshd);
    let dir = tempfile::tempdir().unwrap();
    let go = dir.path().join("go");
    let after = dir.path().join("after");
    // The command announces it is done, then waits for the test to say go: returning only when
    // the command ends would hang here until the deadline.
    let script = format!(
        "echo one; echo DONE; echo later; while [ ! -e {go} ]; do sleep 0.05; done; echo ran > {after}",
        go = go.display(),
        after = after.display()
    );
    let mut seen = Vec::new();
    let out = host
        .run_until(
            &RemoteCommand::new("announcing", script).timeout(Duration::from_secs(20)),
            &mut |l: OutputLine<'_>| {
                seen.push(l.text.to_string());
                if l.text == "DONE" {
                    std::ops::ControlFlow::Break(())
                } else {
                    std::ops::ControlFlow::Continue(())
                }
            },
        )
        .expect("stops at DONE");
    assert!(out.stopped_early);
    assert_eq!(seen, ["one", "DONE"]);
    assert!(!after.exists(), "returned before the command ended");
    // The session serves the next command at once, and the first one went on by itself.
    assert_eq!(run(&mut host, "echo next").stdout_text(), "next\n");
    std::fs::write(&go, "").unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !after.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(std::fs::read_to_string(&after).unwrap(), "ran\n");
}

#[test]
fn channels_closed_early_are_freed_once_their_commands_have_ended() {
    if Sshd::skip_unless_root("channels_closed_early_are_freed_once_their_commands_have_ended") {
        return;
    }
    let sshd = Sshd::start();
    let mut host = root_session(&sshd);
    let stop_at_done = &mut |l: OutputLine<'_>| {
        if l.text == "DONE" {
            std::ops::ControlFlow::Break(())
        } else {
            std::ops::ControlFlow::Continue(())
        }
    };
    for _ in 0..5 {
        let cmd =
            RemoteCommand::new("announcing", "echo DONE; sleep 1").timeout(Duration::from_secs(20));
        assert!(host.run_until(&cmd, stop_at_done).unwrap().stopped_early);
    }
    assert!(
        host.closes_pending() >= 1,
        "sshd answers once the command exits"
    );
    // Once the commands have ended, the next commands free every one of them: none is kept
    // for the rest of the session.
    let deadline = Instant::now() + Duration::from_secs(10);
    while host.closes_pending() > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
        assert!(run(&mut host, "true").success());
    }
    assert_eq!(host.closes_pending(), 0);
}

#[test]
fn stdin_reaches_the_command() {
    if Sshd::skip_unless_root("stdin_reaches_the_command") {
        return;
    }
    let sshd = Sshd::start();
    let mut host = root_session(&sshd);
    let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let cmd = RemoteCommand::new("count", "wc -c").stdin(data.clone());
    let out = host.run(&cmd, &mut |_| {}).unwrap();
    assert_eq!(out.stdout_text().trim(), data.len().to_string());
}

#[test]
fn unknown_host_key_is_refused_under_strict() {
    if Sshd::skip_unless_root("unknown_host_key_is_refused_under_strict") {
        return;
    }
    let sshd = Sshd::start();
    let kh = sshd.dir.path().join("empty_known_hosts");
    let err = HostSession::connect(
        &target_for(&sshd, "root", kh.clone()),
        &HostKeyPolicy::Strict,
        &no_creds(),
    )
    .err()
    .expect("refused");
    match &err.kind {
        SshErrorKind::HostKeyUnknown { fingerprint, .. } => {
            assert_eq!(fingerprint, &sshd.host_key_fingerprint("ed25519"))
        }
        other => panic!("expected HostKeyUnknown, got {other:?}"),
    }
    assert!(!kh.exists(), "strict must not record anything");
    assert!(!err.is_transient());
}

#[test]
fn accept_new_records_the_key_and_trusts_it_afterwards() {
    if Sshd::skip_unless_root("accept_new_records_the_key_and_trusts_it_afterwards") {
        return;
    }
    let sshd = Sshd::start();
    let kh = sshd.dir.path().join("deployment/known_hosts");
    let t = target_for(&sshd, "root", kh.clone());
    let host = HostSession::connect(&t, &HostKeyPolicy::AcceptNew, &no_creds()).unwrap();
    assert_eq!(
        host.host_key().verdict,
        HostKeyVerdict::Recorded { file: kh.clone() }
    );
    assert_eq!(host.fingerprint(), sshd.host_key_fingerprint("ed25519"));
    let text = std::fs::read_to_string(&kh).unwrap();
    assert_eq!(text.lines().count(), 1);
    assert!(text.starts_with(&format!("[{}]:{} ssh-ed25519 ", sshd.address, sshd.port)));
    assert_eq!(
        std::fs::metadata(&kh).unwrap().permissions().mode() & 0o777,
        0o600
    );
    drop(host);
    // OpenSSH agrees with what we wrote.
    let keygen_f = std::process::Command::new("ssh-keygen")
        .arg("-F")
        .arg(format!("[{}]:{}", sshd.address, sshd.port))
        .arg("-f")
        .arg(&kh)
        .output()
        .unwrap();
    assert!(keygen_f.status.success());
    let again = HostSession::connect(&t, &HostKeyPolicy::Strict, &no_creds()).unwrap();
    assert_eq!(again.host_key().verdict, HostKeyVerdict::Known);
}

#[test]
fn a_changed_host_key_stops_the_host_naming_both_fingerprints() {
    if Sshd::skip_unless_root("a_changed_host_key_stops_the_host_naming_both_fingerprints") {
        return;
    }
    let sshd = Sshd::start();
    let other = sshd.dir.path().join("other_key");
    keygen(&other, "ed25519", "");
    let other_pub = std::fs::read_to_string(other.with_extension("pub")).unwrap();
    let mut parts = other_pub.split_whitespace();
    let kh = sshd.dir.path().join("kh_changed");
    std::fs::write(
        &kh,
        format!(
            "[{}]:{} {} {}\n",
            sshd.address,
            sshd.port,
            parts.next().unwrap(),
            parts.next().unwrap()
        ),
    )
    .unwrap();
    let old_fp = String::from_utf8(
        std::process::Command::new("ssh-keygen")
            .arg("-lf")
            .arg(other.with_extension("pub"))
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap()
    .split_whitespace()
    .nth(1)
    .unwrap()
    .to_string();
    for policy in [HostKeyPolicy::Strict, HostKeyPolicy::AcceptNew] {
        let err =
            HostSession::connect(&target_for(&sshd, "root", kh.clone()), &policy, &no_creds())
                .err()
                .expect("refused");
        let text = err.to_string();
        assert!(
            text.contains(&old_fp) && text.contains(&sshd.host_key_fingerprint("ed25519")),
            "{text}"
        );
        assert!(
            text.contains("test-host") && text.contains("kh_changed:1"),
            "{text}"
        );
        assert!(matches!(err.kind, SshErrorKind::HostKeyChanged { .. }));
    }
    assert_eq!(
        std::fs::read_to_string(&kh).unwrap().lines().count(),
        1,
        "nothing was added"
    );
}

#[test]
fn a_host_known_by_its_ed25519_key_matches_although_it_also_offers_ecdsa() {
    if Sshd::skip_unless_root(
        "a_host_known_by_its_ed25519_key_matches_although_it_also_offers_ecdsa",
    ) {
        return;
    }
    let sshd = Sshd::builder()
        .host_keys(&["ecdsa", "ed25519", "rsa"])
        .start();
    for recorded in ["ed25519", "ecdsa", "rsa"] {
        let kh = sshd.known_hosts_file(&[recorded]);
        let host = HostSession::connect(
            &target_for(&sshd, "root", kh),
            &HostKeyPolicy::Strict,
            &no_creds(),
        )
        .unwrap_or_else(|e| panic!("known by {recorded}: {e}"));
        assert_eq!(host.host_key().verdict, HostKeyVerdict::Known);
        assert_eq!(host.fingerprint(), sshd.host_key_fingerprint(recorded));
    }
}

#[test]
fn a_pinned_fingerprint_is_trusted_without_known_hosts_and_a_wrong_one_refused() {
    if Sshd::skip_unless_root(
        "a_pinned_fingerprint_is_trusted_without_known_hosts_and_a_wrong_one_refused",
    ) {
        return;
    }
    let sshd = Sshd::builder().host_keys(&["ecdsa", "ed25519"]).start();
    let mut t = target_for(&sshd, "root", sshd.dir.path().join("none"));
    t.pinned_fingerprint = Some(sshd.host_key_fingerprint("ed25519"));
    let host = HostSession::connect(&t, &HostKeyPolicy::Strict, &no_creds()).unwrap();
    assert_eq!(host.host_key().verdict, HostKeyVerdict::Pinned);

    t.pinned_fingerprint = Some("SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".into());
    let err = HostSession::connect(&t, &HostKeyPolicy::AcceptNew, &no_creds())
        .err()
        .unwrap();
    assert!(
        matches!(err.kind, SshErrorKind::HostKeyChanged { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("pinned"));
}

#[test]
fn the_agent_is_asked_for_every_identity_until_one_works() {
    if Sshd::skip_unless_root("the_agent_is_asked_for_every_identity_until_one_works") {
        return;
    }
    let sshd = Sshd::start();
    let wrong1 = sshd.dir.path().join("wrong1");
    let wrong2 = sshd.dir.path().join("wrong2");
    keygen(&wrong1, "ed25519", "");
    keygen(&wrong2, "ecdsa", "");
    let agent = Agent::start(&[&wrong1, &wrong2, &sshd.client_key]);
    let mut t = target_for(&sshd, "root", sshd.known_hosts_file(&["ed25519"]));
    t.identity_files = vec![];
    t.agent_socket = Some(agent.socket.clone());
    let mut host = HostSession::connect(&t, &HostKeyPolicy::Strict, &no_creds())
        .expect("third agent key works");
    assert!(run(&mut host, "true").success());

    let only_wrong = Agent::start(&[&wrong1, &wrong2]);
    t.agent_socket = Some(only_wrong.socket.clone());
    let err = HostSession::connect(&t, &HostKeyPolicy::Strict, &no_creds())
        .err()
        .unwrap();
    assert!(
        err.to_string().contains("ssh-agent: 2 key(s) rejected"),
        "{err}"
    );
}

#[test]
fn an_encrypted_key_needs_its_passphrase() {
    if Sshd::skip_unless_root("an_encrypted_key_needs_its_passphrase") {
        return;
    }
    let sshd = Sshd::start();
    let locked = sshd.dir.path().join("locked");
    keygen(&locked, "ed25519", "correct horse");
    let public = std::fs::read_to_string(locked.with_extension("pub")).unwrap();
    std::fs::write(sshd.dir.path().join("authorized_keys/root"), public).unwrap();
    let mut t = target_for(&sshd, "root", sshd.known_hosts_file(&["ed25519"]));
    t.identity_files = vec![locked.clone()];

    let err = HostSession::connect(&t, &HostKeyPolicy::Strict, &no_creds())
        .err()
        .unwrap();
    assert!(err.to_string().contains("no passphrase given"), "{err}");

    let wrong = StaticCredentials {
        key_passphrase: Some(Secret::new("wrong")),
        ..Default::default()
    };
    let err = HostSession::connect(&t, &HostKeyPolicy::Strict, &wrong)
        .err()
        .unwrap();
    assert!(matches!(err.kind, SshErrorKind::AuthFailed { .. }), "{err}");

    let right = StaticCredentials {
        key_passphrase: Some(Secret::new("correct horse")),
        ..Default::default()
    };
    HostSession::connect(&t, &HostKeyPolicy::Strict, &right).expect("passphrase unlocks the key");
}

#[test]
fn a_key_login_does_not_ask_for_the_methods_first() {
    if Sshd::skip_unless_root("a_key_login_does_not_ask_for_the_methods_first") {
        return;
    }
    // OpenSSH answers every authentication request, "none" included, no sooner than 5-9 ms
    // after it arrived: asking for the methods first costs each connection that and a round trip.
    let sshd = Sshd::builder().log_level("DEBUG1").start();
    let t = target_for(&sshd, "root", sshd.known_hosts_file(&["ed25519"]));
    let mut host = HostSession::connect(&t, &HostKeyPolicy::Strict, &no_creds()).unwrap();
    assert!(run(&mut host, "true").success());
    let log = sshd.log();
    assert!(log.contains("method publickey"), "{log}");
    assert!(!log.contains("method none"), "{log}");
}

/// Hands out one login password, and remembers every secret it was asked for.
struct RecordingCredentials {
    login_password: &'static str,
    asked: std::sync::Mutex<Vec<String>>,
}

impl scalr_installer::ssh::Credentials for RecordingCredentials {
    fn secret(&self, request: &scalr_installer::ssh::SecretRequest) -> Option<Secret> {
        self.asked.lock().unwrap().push(format!("{request:?}"));
        match request {
            scalr_installer::ssh::SecretRequest::LoginPassword { .. } => {
                Some(Secret::new(self.login_password))
            }
            _ => None,
        }
    }
}

#[test]
fn a_server_that_takes_no_keys_never_costs_a_key_passphrase() {
    if Sshd::skip_unless_root("a_server_that_takes_no_keys_never_costs_a_key_passphrase") {
        return;
    }
    let sshd = Sshd::builder()
        .user("pwonly", Some("pw-Only-1"), SudoRule::None)
        .password_auth(true)
        .pubkey_auth(false)
        .start();
    let plain = sshd.dir.path().join("plain");
    keygen(&plain, "ed25519", "");
    let locked = sshd.dir.path().join("locked");
    keygen(&locked, "ed25519", "a passphrase");
    let mut t = target_for(&sshd, "pwonly", sshd.known_hosts_file(&["ed25519"]));
    t.identity_files = vec![locked.clone(), plain.clone()];
    let creds = RecordingCredentials {
        login_password: "pw-Only-1",
        asked: Default::default(),
    };
    let mut host = HostSession::connect(&t, &HostKeyPolicy::Strict, &creds).unwrap();
    assert_eq!(run(&mut host, "id -un").stdout_text().trim(), "pwonly");
    let asked = creds.asked.lock().unwrap().join("\n");
    assert!(asked.contains("LoginPassword"), "{asked}");
    // The plain key was offered and refused; the locked one waited for the server's methods,
    // which have no publickey.
    assert!(!asked.contains("KeyPassphrase"), "{asked}");

    let wrong = RecordingCredentials {
        login_password: "not-it",
        asked: Default::default(),
    };
    let err = HostSession::connect(&t, &HostKeyPolicy::Strict, &wrong)
        .err()
        .unwrap();
    // Keys the server never takes are not listed among what was tried.
    let text = err.to_string();
    assert!(text.contains("tried: password: "), "{text}");
    assert!(
        !text.contains(&format!("key {}", plain.display())),
        "{text}"
    );
}

#[test]
fn password_login_works_and_a_wrong_password_is_an_auth_failure() {
    if Sshd::skip_unless_root("password_login_works_and_a_wrong_password_is_an_auth_failure") {
        return;
    }
    let sshd = Sshd::builder()
        .user("pwuser", Some("pw-Secret-1"), SudoRule::None)
        .password_auth(true)
        .start();
    let mut t = target_for(&sshd, "pwuser", sshd.known_hosts_file(&["ed25519"]));
    t.identity_files = vec![];
    let creds = StaticCredentials {
        login_password: Some(Secret::new("pw-Secret-1")),
        ..Default::default()
    };
    let mut host = HostSession::connect(&t, &HostKeyPolicy::Strict, &creds).unwrap();
    assert_eq!(run(&mut host, "id -un").stdout_text().trim(), "pwuser");

    let wrong = StaticCredentials {
        login_password: Some(Secret::new("nope")),
        ..Default::default()
    };
    let err = HostSession::connect(&t, &HostKeyPolicy::Strict, &wrong)
        .err()
        .unwrap();
    assert!(matches!(err.kind, SshErrorKind::AuthFailed { .. }), "{err}");
    assert!(!err.to_string().contains("nope"));
}

#[test]
fn passwordless_sudo_runs_commands_as_root() {
    if Sshd::skip_unless_root("passwordless_sudo_runs_commands_as_root") {
        return;
    }
    let sshd = Sshd::builder()
        .user("deploy", None, SudoRule::NoPassword)
        .start();
    let mut t = target_for(&sshd, "deploy", sshd.known_hosts_file(&["ed25519"]));
    t.sudo = SudoMode::Passwordless;
    let mut host = HostSession::connect(&t, &HostKeyPolicy::Strict, &no_creds()).unwrap();
    assert_eq!(run(&mut host, "id -u").stdout_text().trim(), "0");
    let as_user = host
        .run(
            &RemoteCommand::new("whoami", "id -un").as_login_user(),
            &mut |_| {},
        )
        .unwrap();
    assert_eq!(as_user.stdout_text().trim(), "deploy");
}

#[test]
fn sudo_that_wants_a_password_is_reported_when_the_profile_says_passwordless() {
    if Sshd::skip_unless_root(
        "sudo_that_wants_a_password_is_reported_when_the_profile_says_passwordless",
    ) {
        return;
    }
    let sshd = Sshd::builder()
        .user("ops", Some("ops-pw"), SudoRule::WithPassword)
        .user("nobody2", None, SudoRule::None)
        .start();
    let mut t = target_for(&sshd, "ops", sshd.known_hosts_file(&["ed25519"]));
    t.sudo = SudoMode::Passwordless;
    let err = HostSession::connect(&t, &HostKeyPolicy::Strict, &no_creds())
        .err()
        .unwrap();
    assert!(
        matches!(
            err.kind,
            SshErrorKind::SudoFailed {
                reason: SudoFailure::PasswordRequired,
                ..
            }
        ),
        "{err}"
    );
    t.user = "nobody2".into();
    t.sudo = SudoMode::Passwordless;
    let err = HostSession::connect(&t, &HostKeyPolicy::Strict, &no_creds())
        .err()
        .unwrap();
    assert!(matches!(err.kind, SshErrorKind::SudoFailed { .. }), "{err}");
}

#[test]
fn sudo_with_a_password_feeds_it_on_stdin_never_in_the_process_list() {
    if Sshd::skip_unless_root("sudo_with_a_password_feeds_it_on_stdin_never_in_the_process_list") {
        return;
    }
    let sshd = Sshd::builder()
        .user("ops", Some("Sudo-Pa55-xyzzy"), SudoRule::WithPassword)
        .start();
    let mut host = sudo_password_session(&sshd, "ops", "Sudo-Pa55-xyzzy");
    let mut observer = root_session(&sshd);

    let worker = std::thread::spawn(move || {
        let cmd = RemoteCommand::new("slow root step", "id -u; sleep 3; cat")
            .stdin(b"token-Qq9-secret\n".to_vec());
        let out = host.run(&cmd, &mut |_| {}).unwrap();
        (out, host)
    });
    std::thread::sleep(Duration::from_millis(1500));
    let ps = run(&mut observer, "ps -eo args").stdout_text();
    let (out, mut host) = worker.join().unwrap();
    assert!(
        ps.contains("sleep 3"),
        "the command was running during ps:\n{ps}"
    );
    assert!(
        !ps.contains("Sudo-Pa55-xyzzy") && !ps.contains("token-Qq9-secret"),
        "{ps}"
    );
    assert_eq!(out.stdout_text(), "0\ntoken-Qq9-secret\n");

    // An upload of a secret under sudo: root-owned, 0600, contents never in arguments.
    let path = sshd.dir.path().join("etc-scalr/secrets.json");
    let outcome = host
        .upload(path.to_str().unwrap(), b"{\"k\":\"Sudo-secret\"}", 0o600)
        .unwrap();
    assert!(outcome.changed);
    let meta = std::fs::metadata(&path).unwrap();
    assert_eq!(
        (
            meta.permissions().mode() & 0o7777,
            std::os::unix::fs::MetadataExt::uid(&meta)
        ),
        (0o600, 0)
    );
}

#[test]
fn a_wrong_sudo_password_is_reported_as_such() {
    if Sshd::skip_unless_root("a_wrong_sudo_password_is_reported_as_such") {
        return;
    }
    let sshd = Sshd::builder()
        .user("ops", Some("right-one"), SudoRule::WithPassword)
        .start();
    let mut t = target_for(&sshd, "ops", sshd.known_hosts_file(&["ed25519"]));
    t.sudo = SudoMode::Password;
    let creds = StaticCredentials {
        sudo_password: Some(Secret::new("wrong-one")),
        ..Default::default()
    };
    let err = HostSession::connect(&t, &HostKeyPolicy::Strict, &creds)
        .err()
        .unwrap();
    assert!(
        matches!(
            err.kind,
            SshErrorKind::SudoFailed {
                reason: SudoFailure::WrongPassword,
                ..
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string().contains("rejected the password") && !err.to_string().contains("wrong-one")
    );
    let err = HostSession::connect(&t, &HostKeyPolicy::Strict, &no_creds())
        .err()
        .unwrap();
    assert!(
        matches!(
            err.kind,
            SshErrorKind::SudoFailed {
                reason: SudoFailure::NoPassword,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn a_follow_up_runs_in_the_upload_command_once_the_files_are_in_place() {
    if Sshd::skip_unless_root("a_follow_up_runs_in_the_upload_command_once_the_files_are_in_place")
    {
        return;
    }
    let sshd = Sshd::start();
    let mut host = root_session(&sshd);
    let dir = sshd.dir.path().join("etc");
    let path = dir.join("secrets.json");
    let p = path.to_str().unwrap();
    let file = UploadFile {
        path: p,
        contents: b"{\"a\": 1}\n",
        mode: 0o600,
        group: None,
    };
    // The follow-up sees the file in place and prints it; its output is its own, apart from
    // the upload's report.
    let then = format!("printf 'seen: '; cat -- '{p}'; echo oops >&2; exit 3");
    let ten = Duration::from_secs(10);
    let (outcomes, out) = host.upload_files_then(&[], &[file], &then, ten).unwrap();
    assert!(outcomes[0].changed);
    assert_eq!(out.stdout_text(), "seen: {\"a\": 1}\n");
    assert_eq!(out.exit_status, 3, "the follow-up's exit status");
    assert!(out.stderr_text().contains("oops"));
    assert_eq!(std::fs::read(&path).unwrap(), b"{\"a\": 1}\n");

    // An upload that fails runs no follow-up.
    let marker = dir.join("followed");
    let bad = UploadFile {
        path: "relative/path",
        contents: b"x",
        mode: 0o600,
        group: None,
    };
    let then = format!("touch -- '{}'", marker.display());
    assert!(host.upload_files_then(&[], &[bad], &then, ten).is_err());
    let in_a_file = UploadFile {
        path: "/proc/version/cannot-be-written",
        contents: b"x",
        mode: 0o600,
        group: None,
    };
    let err = host
        .upload_files_then(&[], &[in_a_file], &then, ten)
        .expect_err("no file under /proc/version");
    assert!(matches!(err.kind, SshErrorKind::Transfer { .. }), "{err}");
    assert!(!marker.exists(), "the follow-up ran after a failed upload");
}

#[test]
fn uploads_are_atomic_exact_mode_and_keep_a_backup() {
    if Sshd::skip_unless_root("uploads_are_atomic_exact_mode_and_keep_a_backup") {
        return;
    }
    let sshd = Sshd::start();
    let mut host = root_session(&sshd);
    let dir = sshd.dir.path().join("remote dir/with 'quotes'");
    let path = dir.join("scalr-server.rb");
    let p = path.to_str().unwrap();

    let first = host.upload(p, b"version 1\n", 0o600).unwrap();
    assert_eq!((first.changed, first.backup.as_deref()), (true, None));
    assert_eq!(std::fs::read(&path).unwrap(), b"version 1\n");
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o7777,
        0o600
    );

    let same = host.upload(p, b"version 1\n", 0o640).unwrap();
    assert!(!same.changed);
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o7777,
        0o640
    );

    let second = host.upload(p, b"version 2\n", 0o644).unwrap();
    assert!(second.changed);
    let backup = second.backup.expect("previous version kept");
    assert_eq!(std::fs::read(&backup).unwrap(), b"version 1\n");
    assert_eq!(std::fs::read(&path).unwrap(), b"version 2\n");
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o7777,
        0o644
    );
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".scalr-upload"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");

    assert_eq!(
        host.read_file(p).unwrap().as_deref(),
        Some(&b"version 2\n"[..])
    );
    assert_eq!(host.read_file(&format!("{p}.missing")).unwrap(), None);
    assert!(host.upload("relative/path", b"x", 0o600).is_err());
}

fn mode_of(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

fn upload_temps_in(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".scalr-upload"))
        .collect()
}

#[test]
fn a_batch_writes_every_file_in_one_command_with_modes_groups_and_backups() {
    if Sshd::skip_unless_root(
        "a_batch_writes_every_file_in_one_command_with_modes_groups_and_backups",
    ) {
        return;
    }
    let sshd = Sshd::start();
    let mut host = root_session(&sshd);
    let dir = sshd.dir.path().join("etc/scalr server/it's \"here\"");
    let ssl = dir.join("ssl");
    let (rb, secrets, key, odd, tool) = (
        dir.join("scalr-server.rb"),
        dir.join("secrets 'x'.json"),
        ssl.join("scalr.key"),
        dir.join("line1\nline2 $(touch pwned)"),
        dir.join("tool"),
    );
    let p = |path: &PathBuf| path.to_str().unwrap().to_string();
    let (rb_p, secrets_p, key_p, odd_p, dir_p) = (p(&rb), p(&secrets), p(&key), p(&odd), p(&dir));
    let tool_p = p(&tool);
    let config_dir = [UploadDir {
        path: &dir_p,
        mode: 0o755,
    }];
    let batch = |secret: &'static [u8]| {
        [
            UploadFile {
                path: &rb_p,
                contents: b"enable_all false\n",
                mode: 0o644,
                group: None,
            },
            UploadFile {
                path: &secrets_p,
                contents: secret,
                mode: 0o600,
                group: None,
            },
            UploadFile {
                path: &key_p,
                contents: b"-----BEGIN PRIVATE KEY-----\n",
                mode: 0o640,
                group: Some("daemon"),
            },
            UploadFile {
                path: &odd_p,
                contents: b"",
                mode: 0o644,
                group: None,
            },
            // Execute and set-id bits come from chmod, not from the umask at creation.
            UploadFile {
                path: &tool_p,
                contents: b"#!/bin/sh\n",
                mode: 0o2751,
                group: None,
            },
        ]
    };

    let first = host
        .upload_files(&config_dir, &batch(b"{\"root\":\"s3cret-1\"}"))
        .unwrap();
    assert!(
        first.iter().all(|o| o.changed && o.backup.is_none()),
        "{first:?}"
    );
    assert_eq!(std::fs::read(&secrets).unwrap(), b"{\"root\":\"s3cret-1\"}");
    assert_eq!(std::fs::read(&odd).unwrap(), b"");
    assert_eq!(
        [
            mode_of(&dir),
            mode_of(&rb),
            mode_of(&secrets),
            mode_of(&key),
            mode_of(&odd),
            mode_of(&tool)
        ],
        [0o755, 0o644, 0o600, 0o640, 0o644, 0o2751]
    );
    let key_meta = std::fs::metadata(&key).unwrap();
    assert_eq!(
        std::os::unix::fs::MetadataExt::gid(&key_meta),
        1,
        "group daemon"
    );
    assert!(!dir.join("pwned").exists() && !std::path::Path::new("pwned").exists());

    // Someone loosened modes and regrouped the key by hand; the secret changes.
    std::fs::set_permissions(&rb, std::fs::Permissions::from_mode(0o666)).unwrap();
    std::os::unix::fs::chown(&key, None, Some(0)).unwrap();
    let second = host
        .upload_files(&config_dir, &batch(b"{\"root\":\"s3cret-2\"}"))
        .unwrap();
    assert_eq!(
        second.iter().map(|o| o.changed).collect::<Vec<_>>(),
        [false, true, false, false, false]
    );
    assert_eq!(second[0].backup, None, "an unchanged file keeps no backup");
    let backup = second[1].backup.clone().expect("the old secret is kept");
    assert!(backup.starts_with(&format!("{secrets_p}.bak-")), "{backup}");
    assert_eq!(std::fs::read(&backup).unwrap(), b"{\"root\":\"s3cret-1\"}");
    assert_eq!(mode_of(std::path::Path::new(&backup)), 0o600);
    assert_eq!(std::fs::read(&secrets).unwrap(), b"{\"root\":\"s3cret-2\"}");
    assert_eq!((mode_of(&rb), mode_of(&secrets)), (0o644, 0o600));
    let key_meta = std::fs::metadata(&key).unwrap();
    assert_eq!(std::os::unix::fs::MetadataExt::gid(&key_meta), 1);
    let backups: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".bak-"))
        .collect();
    assert_eq!(backups.len(), 1, "{backups:?}");
    assert!(upload_temps_in(&dir).is_empty() && upload_temps_in(&ssl).is_empty());

    let bad_group = UploadFile {
        path: &rb_p,
        contents: b"x",
        mode: 0o644,
        group: Some("-r"),
    };
    assert!(host.upload_files(&[], &[bad_group]).is_err());
    assert_eq!(std::fs::read(&rb).unwrap(), b"enable_all false\n");
}

#[test]
fn a_batch_cut_off_mid_stream_changes_no_file_and_leaves_no_temp_file() {
    if Sshd::skip_unless_root("a_batch_cut_off_mid_stream_changes_no_file_and_leaves_no_temp_file")
    {
        return;
    }
    let sshd = Sshd::start();
    let mut host = root_session(&sshd);
    let dir = sshd.dir.path().join("etc scalr");
    std::fs::create_dir_all(&dir).unwrap();
    let (small, large) = (dir.join("scalr-server.rb"), dir.join("license.json"));
    std::fs::write(&small, "old\n").unwrap();
    let big: Vec<u8> = (0..64_000_000u32).map(|i| (i >> 7) as u8).collect();
    let files = [
        UploadFile {
            path: small.to_str().unwrap(),
            contents: b"new\n",
            mode: 0o644,
            group: None,
        },
        UploadFile {
            path: large.to_str().unwrap(),
            contents: &big,
            mode: 0o600,
            group: None,
        },
    ];
    // Cut every connection once the large file is partly on the host.
    let (cut, result) = std::thread::scope(|scope| {
        let cutter = scope.spawn(|| {
            let deadline = Instant::now() + Duration::from_secs(60);
            while Instant::now() < deadline {
                let in_flight = std::fs::read_dir(&dir).unwrap().flatten().any(|e| {
                    e.file_name().to_string_lossy().starts_with(".scalr-upload")
                        && e.metadata().map(|m| m.len() > 1_000_000).unwrap_or(false)
                });
                if in_flight {
                    sshd.drop_connections();
                    return true;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            false
        });
        let result = host.upload_files(&[], &files);
        (cutter.join().unwrap(), result)
    });
    assert!(cut, "the transfer was never seen in flight");
    assert!(result.is_err(), "{result:?}");
    // The remote shell notices the end of its stdin and cleans up as it exits.
    let deadline = Instant::now() + Duration::from_secs(20);
    while !upload_temps_in(&dir).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(upload_temps_in(&dir), Vec::<String>::new());
    assert_eq!(std::fs::read(&small).unwrap(), b"old\n");
    assert!(!large.exists());
}

#[test]
fn hostile_strings_reach_the_remote_shell_unchanged() {
    if Sshd::skip_unless_root("hostile_strings_reach_the_remote_shell_unchanged") {
        return;
    }
    let sshd = Sshd::start();
    let mut host = root_session(&sshd);
    let hostile = [
        "$(touch /tmp/pwned)",
        "`id`",
        "a'b\"c\\d",
        "; rm -rf / #",
        "line1\nline2",
        "-n",
        "*",
        "~root",
        "$HOME ${PATH} !! &&|| > <",
        "ünïcødé ✓",
        "",
    ];
    for value in hostile {
        let cmd = scalr_installer::ssh::ShellCommand::new("printf %s")
            .arg(value)
            .unwrap();
        let out = run(&mut host, cmd.as_str());
        assert_eq!(out.stdout_text(), value, "for {value:?}");
    }
}

#[test]
fn a_frozen_host_times_out_instead_of_hanging() {
    if Sshd::skip_unless_root("a_frozen_host_times_out_instead_of_hanging") {
        return;
    }
    let sshd = Sshd::start();
    let mut host = root_session(&sshd);
    sshd.freeze();
    let start = Instant::now();
    let err = host
        .run(
            &RemoteCommand::new("reconfigure", "true").timeout(Duration::from_secs(60)),
            &mut |_| {},
        )
        .expect_err("times out");
    let took = start.elapsed();
    assert!(matches!(err.kind, SshErrorKind::Timeout { .. }), "{err}");
    assert!(
        took < Duration::from_secs(6),
        "took {took:?} with 1 s keepalives"
    );
    assert!(!host.is_usable());
    assert!(matches!(run_err(&mut host), SshErrorKind::SessionLost));

    // A new connection to the frozen server fails within the connect timeout.
    let mut t = target_for(&sshd, "root", sshd.known_hosts_file(&["ed25519"]));
    t.connect_timeout = Duration::from_secs(2);
    let start = Instant::now();
    let err = HostSession::connect(&t, &HostKeyPolicy::Strict, &no_creds())
        .err()
        .unwrap();
    assert!(err.is_transient(), "{err}");
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "took {:?}",
        start.elapsed()
    );
    let drop_start = Instant::now();
    drop(host);
    assert!(
        drop_start.elapsed() < Duration::from_secs(2),
        "dropping a dead session must not hang"
    );
    sshd.thaw();
}

fn run_err(host: &mut HostSession) -> SshErrorKind {
    host.run(&RemoteCommand::new("x", "true"), &mut |_| {})
        .unwrap_err()
        .kind
}

#[test]
fn a_command_over_its_deadline_times_out() {
    if Sshd::skip_unless_root("a_command_over_its_deadline_times_out") {
        return;
    }
    let sshd = Sshd::start();
    let mut host = root_session(&sshd);
    let start = Instant::now();
    let err = host
        .run(
            &RemoteCommand::new("hang", "sleep 30").timeout(Duration::from_secs(2)),
            &mut |_| {},
        )
        .unwrap_err();
    assert!(matches!(err.kind, SshErrorKind::Timeout { .. }), "{err}");
    assert!(start.elapsed() < Duration::from_secs(4));

    // Output that never stops does not extend the deadline.
    let mut host = root_session(&sshd);
    let start = Instant::now();
    let mut ticks = 0;
    let chatty = RemoteCommand::new("chatty", "while :; do echo tick; sleep 0.01; done")
        .timeout(Duration::from_secs(2));
    let err = host.run(&chatty, &mut |_| ticks += 1).unwrap_err();
    assert!(matches!(err.kind, SshErrorKind::Timeout { .. }), "{err}");
    assert!(
        start.elapsed() < Duration::from_secs(4) && ticks > 20,
        "{ticks} ticks in {:?}",
        start.elapsed()
    );
}

#[test]
fn refused_connections_are_retried_with_backoff_but_auth_failures_are_not() {
    if Sshd::skip_unless_root(
        "refused_connections_are_retried_with_backoff_but_auth_failures_are_not",
    ) {
        return;
    }
    let sshd = Sshd::start();
    let retry = RetryPolicy {
        attempts: 3,
        first_delay: Duration::from_millis(200),
        max_delay: Duration::from_secs(1),
    };
    // Nothing listens on this port of this address.
    let listener = std::net::TcpListener::bind((sshd.address.as_str(), 0)).unwrap();
    let closed_port = listener.local_addr().unwrap().port();
    drop(listener);
    let mut t = target_for(&sshd, "root", sshd.known_hosts_file(&["ed25519"]));
    t.port = closed_port;
    let mut pauses = Vec::new();
    let start = Instant::now();
    let err = connect_with_retry(
        &t,
        &HostKeyPolicy::Strict,
        &no_creds(),
        &retry,
        |e, pause| {
            assert!(e.is_transient());
            pauses.push(pause);
        },
    )
    .err()
    .unwrap();
    assert!(
        matches!(err.kind, SshErrorKind::Unreachable { .. }),
        "{err}"
    );
    assert_eq!(
        pauses,
        [Duration::from_millis(200), Duration::from_millis(400)]
    );
    assert!(start.elapsed() >= Duration::from_millis(600));

    let mut t = target_for(&sshd, "root", sshd.known_hosts_file(&["ed25519"]));
    t.identity_files = vec![];
    let mut retries = 0;
    let err = connect_with_retry(&t, &HostKeyPolicy::Strict, &no_creds(), &retry, |_, _| {
        retries += 1
    })
    .err()
    .unwrap();
    assert!(matches!(err.kind, SshErrorKind::AuthFailed { .. }), "{err}");
    assert_eq!(retries, 0);
}

#[test]
fn a_host_behind_a_jump_host_is_reached_through_it() {
    if Sshd::skip_unless_root("a_host_behind_a_jump_host_is_reached_through_it") {
        return;
    }
    let bastion = Sshd::builder().log_level("DEBUG1").start();
    let inner = Sshd::start();
    // One known_hosts file vouching for both, as a deployment's file would.
    let kh = inner.dir.path().join("kh_both");
    std::fs::write(
        &kh,
        bastion.known_hosts_line("ed25519") + &inner.known_hosts_line("ed25519"),
    )
    .unwrap();
    let mut t = target_for(&inner, "root", kh.clone());
    let mut j = target_for(&bastion, "root", kh);
    j.name = "bastion".into();
    t.jump = Some(Box::new(j));
    let mut host = HostSession::connect(&t, &HostKeyPolicy::Strict, &no_creds()).unwrap();
    assert_eq!(host.fingerprint(), inner.host_key_fingerprint("ed25519"));
    let data = vec![b'x'; 300_000];
    let out = host
        .run(
            &RemoteCommand::new("through the tunnel", "wc -c; echo done").stdin(data),
            &mut |_| {},
        )
        .unwrap();
    assert_eq!(out.stdout_text(), "300000\ndone\n");
    // The bastion really forwarded the connection to the inner host.
    let forwarded = format!("target {} port {}", inner.address, inner.port);
    assert!(bastion.log().contains(&forwarded), "{}", bastion.log());

    // A bastion that refuses forwarding is reported as such, naming the target.
    let strict_bastion = Sshd::builder().allow_tcp_forwarding(false).start();
    let kh = inner.dir.path().join("kh_strict");
    std::fs::write(
        &kh,
        strict_bastion.known_hosts_line("ed25519") + &inner.known_hosts_line("ed25519"),
    )
    .unwrap();
    let mut t = target_for(&inner, "root", kh.clone());
    t.jump = Some(Box::new(target_for(&strict_bastion, "root", kh)));
    let err = HostSession::connect(&t, &HostKeyPolicy::Strict, &no_creds())
        .err()
        .unwrap();
    assert!(err.to_string().contains("AllowTcpForwarding"), "{err}");
}

#[test]
fn an_ssh_config_alias_resolves_address_port_user_and_key() {
    if Sshd::skip_unless_root("an_ssh_config_alias_resolves_address_port_user_and_key") {
        return;
    }
    let sshd = Sshd::builder()
        .user("deploy", None, SudoRule::NoPassword)
        .start();
    let kh = sshd.known_hosts_file(&["ed25519"]);
    let config_path = sshd.dir.path().join("ssh_config");
    std::fs::write(
        &config_path,
        format!(
            "Host app-primary\n  HostName {}\n  Port {}\n  User deploy\n  IdentityFile {}\n  UserKnownHostsFile {}\n  IdentityAgent none\n",
            sshd.address,
            sshd.port,
            sshd.client_key.display(),
            kh.display()
        ),
    )
    .unwrap();
    let config = SshConfig::load(&config_path).unwrap();
    let host = HostSpec {
        name: "app-1".into(),
        address: "app-primary".into(),
        private_address: None,
        role: None,
        modules: vec![],
        db_replica: false,
        os: None,
        ssh: HostSsh {
            sudo: Some(SudoMode::Passwordless),
            ..HostSsh::default()
        },
    };
    let t = Target::from_profile(&SshSpec::default(), &host, &config, sshd.dir.path()).unwrap();
    assert_eq!(
        (t.address.as_str(), t.port, t.user.as_str()),
        (sshd.address.as_str(), sshd.port, "deploy")
    );
    let mut session = HostSession::connect(&t, &HostKeyPolicy::Strict, &no_creds()).unwrap();
    assert_eq!(run(&mut session, "id -u").stdout_text().trim(), "0");
}

#[test]
fn a_long_silent_command_on_a_live_host_is_not_mistaken_for_a_frozen_one() {
    if Sshd::skip_unless_root(
        "a_long_silent_command_on_a_live_host_is_not_mistaken_for_a_frozen_one",
    ) {
        return;
    }
    let sshd = Sshd::start();
    let mut host = root_session(&sshd);
    // Keepalives every second, so three silent seconds would mean a dead host; this one lives.
    let out = host
        .run(
            &RemoteCommand::new("quiet step", "sleep 6; echo done")
                .timeout(Duration::from_secs(30)),
            &mut |_| {},
        )
        .expect("the host answered its keepalives");
    assert_eq!(out.stdout_text(), "done\n");
}

#[test]
fn sudo_that_requires_a_tty_is_explained() {
    if Sshd::skip_unless_root("sudo_that_requires_a_tty_is_explained") {
        return;
    }
    let sshd = Sshd::builder()
        .user("legacy", None, SudoRule::NoPassword)
        .sudoers("Defaults requiretty\n")
        .start();
    let mut t = target_for(&sshd, "legacy", sshd.known_hosts_file(&["ed25519"]));
    t.sudo = SudoMode::Passwordless;
    let err = HostSession::connect(&t, &HostKeyPolicy::Strict, &no_creds())
        .err()
        .unwrap();
    assert!(
        matches!(
            err.kind,
            SshErrorKind::SudoFailed {
                reason: SudoFailure::RequiresTty,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("!requiretty"), "{err}");
}

#[test]
fn hashed_known_hosts_entries_written_by_ssh_keygen_are_understood() {
    if Sshd::skip_unless_root("hashed_known_hosts_entries_written_by_ssh_keygen_are_understood") {
        return;
    }
    let sshd = Sshd::builder().host_keys(&["ecdsa", "ed25519"]).start();
    let kh = sshd.known_hosts_file(&["ed25519"]);
    let hashed = std::process::Command::new("ssh-keygen")
        .arg("-H")
        .arg("-f")
        .arg(&kh)
        .output()
        .unwrap();
    assert!(hashed.status.success());
    let text = std::fs::read_to_string(&kh).unwrap();
    assert!(
        text.starts_with("|1|") && !text.contains(&sshd.address),
        "{text}"
    );
    let host = HostSession::connect(
        &target_for(&sshd, "root", kh),
        &HostKeyPolicy::Strict,
        &no_creds(),
    )
    .unwrap();
    assert_eq!(host.host_key().verdict, HostKeyVerdict::Known);
    assert_eq!(host.fingerprint(), sshd.host_key_fingerprint("ed25519"));
}

#[test]
fn a_large_local_file_is_streamed_to_the_host_intact() {
    if Sshd::skip_unless_root("a_large_local_file_is_streamed_to_the_host_intact") {
        return;
    }
    let sshd = Sshd::builder()
        .user("ops", Some("pw-9"), SudoRule::WithPassword)
        .start();
    let mut host = sudo_password_session(&sshd, "ops", "pw-9");
    let local = sshd.dir.path().join("scalr-server_8.0.1-1_amd64.deb");
    let data: Vec<u8> = (0..6_000_000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    std::fs::write(&local, &data).unwrap();
    let remote = sshd.dir.path().join("packages/scalr-server.deb");
    let outcome = host
        .upload_file(&local, remote.to_str().unwrap(), 0o644)
        .unwrap();
    assert!(outcome.changed);
    assert!(
        std::fs::read(&remote).unwrap() == data,
        "the package arrived byte for byte"
    );
    assert_eq!(
        std::fs::metadata(&remote).unwrap().permissions().mode() & 0o7777,
        0o644
    );
}

#[test]
fn a_password_is_not_sent_when_sudo_does_not_ask_for_one() {
    if Sshd::skip_unless_root("a_password_is_not_sent_when_sudo_does_not_ask_for_one") {
        return;
    }
    let sshd = Sshd::builder()
        .user("deploy", None, SudoRule::NoPassword)
        .start();
    let mut host = sudo_password_session(&sshd, "deploy", "Not-Needed-77");
    assert_eq!(host.sudo_mode(), SudoMode::Passwordless);
    // Had the password been written to stdin, `cat` would print it.
    let cmd = RemoteCommand::new("echo stdin", "id -u; cat").stdin(b"payload\n".to_vec());
    let out = host.run(&cmd, &mut |_| {}).unwrap();
    assert_eq!(out.stdout_text(), "0\npayload\n");
}

#[test]
fn a_password_is_also_answered_through_keyboard_interactive() {
    if Sshd::skip_unless_root("a_password_is_also_answered_through_keyboard_interactive") {
        return;
    }
    let sshd = Sshd::builder()
        .user("pamuser", Some("kbd-Secret-2"), SudoRule::None)
        .keyboard_interactive_only()
        .start();
    let mut t = target_for(&sshd, "pamuser", sshd.known_hosts_file(&["ed25519"]));
    t.identity_files = vec![];
    let creds = StaticCredentials {
        login_password: Some(Secret::new("kbd-Secret-2")),
        ..Default::default()
    };
    let mut host = HostSession::connect(&t, &HostKeyPolicy::Strict, &creds)
        .unwrap_or_else(|e| panic!("{e}\n{}", sshd.log()));
    assert_eq!(run(&mut host, "id -un").stdout_text().trim(), "pamuser");
}

#[test]
fn two_jump_hosts_chain_and_a_frozen_bastion_times_the_host_out() {
    if Sshd::skip_unless_root("two_jump_hosts_chain_and_a_frozen_bastion_times_the_host_out") {
        return;
    }
    let outer = Sshd::start();
    let middle = Sshd::start();
    let inner = Sshd::start();
    let kh = inner.dir.path().join("kh_chain");
    std::fs::write(
        &kh,
        outer.known_hosts_line("ed25519")
            + &middle.known_hosts_line("ed25519")
            + &inner.known_hosts_line("ed25519"),
    )
    .unwrap();
    let mut m = target_for(&middle, "root", kh.clone());
    m.jump = Some(Box::new(target_for(&outer, "root", kh.clone())));
    let mut t = target_for(&inner, "root", kh);
    t.jump = Some(Box::new(m));
    let mut host = HostSession::connect(&t, &HostKeyPolicy::Strict, &no_creds()).unwrap();
    assert_eq!(
        run(&mut host, "echo through two hops").stdout_text(),
        "through two hops\n"
    );

    outer.freeze();
    let start = Instant::now();
    let err = host
        .run(
            &RemoteCommand::new("step", "true").timeout(Duration::from_secs(60)),
            &mut |_| {},
        )
        .unwrap_err();
    assert!(matches!(err.kind, SshErrorKind::Timeout { .. }), "{err}");
    assert!(
        start.elapsed() < Duration::from_secs(6),
        "took {:?}",
        start.elapsed()
    );
    let drop_start = Instant::now();
    drop(host);
    assert!(
        drop_start.elapsed() < Duration::from_secs(2),
        "tearing down the tunnel must not hang"
    );
    outer.thaw();
}

#[test]
fn a_wizard_can_show_a_host_key_then_trust_it() {
    if Sshd::skip_unless_root("a_wizard_can_show_a_host_key_then_trust_it") {
        return;
    }
    let sshd = Sshd::builder().host_keys(&["ecdsa", "ed25519"]).start();
    let t = target_for(&sshd, "root", sshd.dir.path().join("wizard/known_hosts"));
    let scanned = scan_host_key(&t).unwrap();
    assert_eq!(scanned.key_type, "ssh-ed25519");
    assert_eq!(scanned.fingerprint, sshd.host_key_fingerprint("ed25519"));
    assert!(!scanned.known);
    let file = scanned.record(&t).unwrap();
    assert_eq!(file, t.record_new_keys_in);
    assert!(scan_host_key(&t).unwrap().known);
    let host = HostSession::connect(&t, &HostKeyPolicy::Strict, &no_creds()).unwrap();
    assert_eq!(host.host_key().verdict, HostKeyVerdict::Known);
}
