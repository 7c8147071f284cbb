//! The dashboard fed with the event sequences an HA apply produces.

use super::*;
use crate::tui::events::*;
use crate::tui::theme::Theme;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::time::{Duration, SystemTime};

const WAVES: [&[&str]; 4] = [
    &["db-master"],
    &["db-slave"],
    &["worker"],
    &["app-1", "app-2", "influxdb"],
];

fn t(secs: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000 + secs)
}

fn ev(secs: u64, host: Option<&str>, kind: EventKind) -> RunEvent {
    RunEvent {
        at: t(secs),
        host: host.map(str::to_string),
        kind,
    }
}

fn lab() -> DashboardState {
    let roles = [
        ("app-1", "proxy,app,session", "centos-7"),
        ("app-2", "proxy,app,session", "ubuntu-18.04"),
        ("worker", "rabbitmq,worker", "debian-8"),
        ("influxdb", "influxdb", "centos-6"),
        ("db-master", "main-db,analytics-db", "ubuntu-16.04"),
        ("db-slave", "main-db,analytics-db", "rhel-7"),
    ];
    let mut s = DashboardState::new(
        "profiles/lab.toml",
        roles
            .iter()
            .map(|(n, r, o)| HostInfo {
                name: n.to_string(),
                roles: r.to_string(),
                os: o.to_string(),
            })
            .collect(),
    );
    s.apply(&ev(
        0,
        None,
        EventKind::RunStarted {
            command: "apply".into(),
            hosts: roles.iter().map(|r| r.0.to_string()).collect(),
            waves: WAVES
                .iter()
                .map(|w| w.iter().map(|h| h.to_string()).collect())
                .collect(),
        },
    ));
    s
}

fn wave(s: &mut DashboardState, secs: u64, index: usize) {
    s.apply(&ev(
        secs,
        None,
        EventKind::WaveStarted {
            index,
            hosts: WAVES[index].iter().map(|h| h.to_string()).collect(),
        },
    ));
}

fn host_succeeds(s: &mut DashboardState, secs: u64, host: &str) {
    for (i, phase) in [
        Phase::Connect,
        Phase::Package,
        Phase::Config,
        Phase::Reconfigure,
    ]
    .into_iter()
    .enumerate()
    {
        let at = secs + i as u64 * 10;
        s.apply(&ev(at, Some(host), EventKind::PhaseStarted { phase }));
        s.apply(&ev(
            at + 5,
            Some(host),
            EventKind::PhaseFinished {
                phase,
                outcome: PhaseOutcome::Done,
                elapsed_ms: 5000,
            },
        ));
    }
    s.apply(&ev(
        secs + 45,
        Some(host),
        EventKind::HostFinished {
            outcome: HostOutcome::Succeeded,
        },
    ));
}

fn reconfiguring(s: &mut DashboardState, secs: u64, host: &str, done: usize) {
    s.apply(&ev(
        secs,
        Some(host),
        EventKind::PhaseStarted {
            phase: Phase::Reconfigure,
        },
    ));
    for i in 0..done {
        s.apply(&ev(
            secs + 1,
            Some(host),
            EventKind::Step {
                description: format!("template /opt/scalr-server/etc/resource-{i} (create)"),
                status: StepStatus::Ok,
            },
        ));
    }
    s.apply(&ev(
        secs + 1,
        Some(host),
        EventKind::Progress { done, total: 40 },
    ));
}

fn failed(s: &mut DashboardState, secs: u64, host: &str) {
    s.apply(&ev(
        secs,
        Some(host),
        EventKind::PhaseFinished {
            phase: Phase::Reconfigure,
            outcome: PhaseOutcome::Failed {
                error: "scalr-server-ctl reconfigure exited with 1".into(),
            },
            elapsed_ms: 1000,
        },
    ));
    s.apply(&ev(
        secs,
        Some(host),
        EventKind::HostFinished {
            outcome: HostOutcome::Failed {
                phase: Phase::Reconfigure,
                error: "reconfigure failed: MySQL did not start — read the log below, fix the cause, then retry".into(),
                remote_log: Some("/var/lib/scalr-installer/reconfigure.log".into()),
                last_lines: vec![
                    "service[mysql] (start) ... [ FAILED ]".into(),
                    "Scalr reconfiguration failed. Check /opt/scalr-server/var/log/installer/ for details".into(),
                ],
            },
        },
    ));
}

fn screen(s: &DashboardState, w: u16, h: u16, now: u64) -> String {
    let mut term = ratatui::Terminal::new(TestBackend::new(w, h)).unwrap();
    term.draw(|f| view::view(s, f, Theme::default(), t(now)))
        .unwrap();
    format!("{}", term.backend())
}

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

#[test]
fn before_any_wave_every_host_is_waiting() {
    let s = lab();
    assert!(s.running());
    assert_eq!(s.wave_state(0), WaveState::Waiting);
    insta::assert_snapshot!("waiting_100x24", screen(&s, 100, 24, 2));
}

#[test]
fn reconfigure_progress_drives_the_gauge_and_waves_show_their_state() {
    let mut s = lab();
    wave(&mut s, 1, 0);
    host_succeeds(&mut s, 1, "db-master");
    wave(&mut s, 50, 1);
    reconfiguring(&mut s, 60, "db-slave", 30);
    assert_eq!(s.wave_state(0), WaveState::Done);
    assert_eq!(s.wave_state(1), WaveState::Running);
    assert_eq!(s.wave_state(2), WaveState::Waiting);
    let row = s.row("db-slave").unwrap();
    assert_eq!(row.progress, Some((30, 40)));
    assert!(super::view::gauge(row, 6).ends_with(" 75%"));
    assert_eq!(
        row.last_line,
        "template /opt/scalr-server/etc/resource-29 (create) [ OK ]"
    );
    insta::assert_snapshot!("running_100x24", screen(&s, 100, 24, 75));
    insta::assert_snapshot!("running_80x24", screen(&s, 80, 24, 75));
}

#[test]
fn a_failed_host_shows_its_error_remote_log_and_last_lines_and_can_be_retried() {
    let mut s = lab();
    wave(&mut s, 1, 0);
    host_succeeds(&mut s, 1, "db-master");
    wave(&mut s, 50, 1);
    reconfiguring(&mut s, 60, "db-slave", 12);
    failed(&mut s, 90, "db-slave");
    let mut hosts = vec![("db-master".to_string(), HostOutcome::Succeeded)];
    hosts.push((
        "db-slave".into(),
        s.row("db-slave").unwrap().outcome.clone().unwrap(),
    ));
    for h in ["worker", "app-1", "app-2", "influxdb"] {
        hosts.push((
            h.into(),
            HostOutcome::NotAttempted {
                why: "db-slave failed".into(),
            },
        ));
    }
    s.apply(&ev(
        91,
        None,
        EventKind::RunFinished {
            summary: Summary::new("apply", ExitStatus::HostFailed, hosts),
        },
    ));
    assert!(!s.running());
    assert_eq!(s.failed_hosts(), ["db-slave"]);
    assert_eq!(s.wave_state(0), WaveState::Done);
    assert_eq!(s.wave_state(1), WaveState::Failed);
    while s.hosts[s.selected].info.name != "db-slave" {
        s.on_key(key(KeyCode::Down));
    }
    insta::assert_snapshot!("failed_with_log_100x30", screen(&s, 100, 30, 120));
    assert_eq!(
        s.on_key(key(KeyCode::Char('r'))),
        Some(DashboardCommand::Retry(vec!["db-slave".into()]))
    );
    s.begin_retry(&["db-slave".into()]);
    assert!(s.row("db-slave").unwrap().outcome.is_none());
}

#[test]
fn a_finished_run_shows_every_host_done() {
    let mut s = lab();
    for (i, w) in WAVES.iter().enumerate() {
        wave(&mut s, i as u64 * 50, i);
        for h in w.iter() {
            host_succeeds(&mut s, i as u64 * 50, h);
        }
    }
    let hosts = s
        .hosts
        .iter()
        .map(|h| (h.info.name.clone(), HostOutcome::Succeeded))
        .collect();
    s.apply(&ev(
        200,
        None,
        EventKind::RunFinished {
            summary: Summary::new("apply", ExitStatus::Success, hosts),
        },
    ));
    assert!((0..4).all(|i| s.wave_state(i) == WaveState::Done));
    insta::assert_snapshot!("done_100x24", screen(&s, 100, 24, 500));
    assert_eq!(
        s.on_key(key(KeyCode::Char('q'))),
        Some(DashboardCommand::Leave)
    );
}

#[test]
fn following_a_host_shows_its_output_and_scrolls_back() {
    let mut s = lab();
    wave(&mut s, 1, 0);
    reconfiguring(&mut s, 2, "db-master", 40);
    while s.hosts[s.selected].info.name != "db-master" {
        s.on_key(key(KeyCode::Down));
    }
    s.on_key(key(KeyCode::Enter));
    assert_eq!(s.view, View::Output);
    insta::assert_snapshot!("output_following_80x24", screen(&s, 80, 24, 10));
    s.on_key(key(KeyCode::PageUp));
    assert_eq!(s.scroll_back, 10);
    insta::assert_snapshot!("output_scrolled_80x24", screen(&s, 80, 24, 10));
    s.on_key(key(KeyCode::End));
    assert_eq!(s.scroll_back, 0);
    s.on_key(key(KeyCode::Esc));
    assert_eq!(s.view, View::Hosts);
}

#[test]
fn leaving_while_remote_steps_run_asks_first_and_says_how_to_reattach() {
    let mut s = lab();
    wave(&mut s, 1, 0);
    reconfiguring(&mut s, 2, "db-master", 5);
    assert_eq!(s.on_key(key(KeyCode::Char('q'))), None);
    assert!(s.confirm_leave);
    let text = screen(&s, 100, 24, 10);
    assert!(text.contains("Remote steps keep running on the hosts."));
    assert!(text.contains("scalr-installer apply --profile profiles/lab.toml"));
    insta::assert_snapshot!("leave_while_running_100x24", text);
    assert_eq!(
        s.on_key(key(KeyCode::Char('x'))),
        None,
        "any other key stays"
    );
    assert!(!s.confirm_leave);
    s.on_key(key(KeyCode::Char('q')));
    assert_eq!(
        s.on_key(key(KeyCode::Char('q'))),
        Some(DashboardCommand::Leave)
    );
}

#[test]
fn check_results_are_listed_with_their_fix() {
    let mut s = lab();
    s.apply(&ev(
        1,
        Some("app-1"),
        EventKind::Check {
            name: "memory".into(),
            status: CheckStatus::Fail,
            detail: "MemTotal 2048000 kB is below 3600000 kB".into(),
            fix: Some("give the VM at least 4 GB of RAM".into()),
        },
    ));
    s.apply(&ev(
        1,
        Some("app-1"),
        EventKind::Check {
            name: "os".into(),
            status: CheckStatus::Pass,
            detail: "CentOS 7".into(),
            fix: None,
        },
    ));
    let text = screen(&s, 100, 24, 2);
    assert!(text.contains("FAIL memory: MemTotal 2048000 kB is below 3600000 kB → give the VM"));
    insta::assert_snapshot!("checks_100x24", text);
}

#[test]
fn output_kept_per_host_is_bounded() {
    let mut s = lab();
    for i in 0..(state::OUTPUT_LINES + 10) {
        s.apply(&ev(
            1,
            Some("worker"),
            EventKind::Line {
                stream: Stream::Stdout,
                text: format!("line {i}"),
            },
        ));
    }
    let row = s.row("worker").unwrap();
    assert_eq!(row.output.len(), state::OUTPUT_LINES);
    assert_eq!(row.output.front().unwrap(), "line 10");
}

#[test]
fn a_host_whose_os_was_left_to_detection_shows_what_the_os_check_found() {
    let mut s = DashboardState::new(
        "profiles/lab.toml",
        vec![HostInfo {
            name: "app-1".into(),
            roles: "proxy,app,session".into(),
            os: String::new(),
        }],
    );
    s.apply(&ev(
        1,
        Some("app-1"),
        EventKind::Check {
            name: "os".into(),
            status: CheckStatus::Pass,
            detail: crate::topology::OsId::Ubuntu1804.title().into(),
            fix: None,
        },
    ));
    assert_eq!(s.row("app-1").unwrap().info.os, "ubuntu-18.04");
}
