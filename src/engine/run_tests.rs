//! The engine's logic end to end over in-process fake hosts: ordering, idempotence, resume,
//! failure propagation and refusals. The fake host understands exactly the scripts the engine
//! sends (facts, probes, the detached launcher and attach); real transport and the real shell
//! scripts are tested against sshd and the lab.

use crate::engine::desired::*;
use crate::engine::events::{
    CheckStatus, Emitter, EventKind, ExitStatus, HostOutcome, Phase, PhaseOutcome, Redactor,
    RunEvent,
};
use crate::engine::phases::Timeouts;
use crate::engine::plan::sha256_hex;
use crate::engine::remote::{
    Connector, Output, Remote, RemoteCommand, RemoteError, UploadDir, UploadFile, Uploaded,
};
use crate::engine::run::Engine;
use crate::topology::{Module, OsId};
use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::sync::atomic::AtomicBool;
use std::sync::mpsc::channel;
use std::sync::{Arc, Mutex};

#[derive(Default)]
struct HostState {
    os_release: String,
    mem_kb: u64,
    files: BTreeMap<String, (Vec<u8>, u32)>,
    version: Option<String>,
    reconfigure_marker: Option<String>,
    replication_marker: bool,
    fail_reconfigure: bool,
    commands: Vec<String>,
    uploads: Vec<String>,
    /// Peer probes run as commands of their own (not within the facts script).
    separate_probes: usize,
    /// Facts scripts sent with the peer probes in them.
    probing_facts: usize,
    /// The run is cancelled (as by Ctrl-C) when this host is sent a command containing this.
    cancel_on: Option<String>,
    /// Scripts run as an upload's follow-up, in the upload's own command.
    follow_ups: Vec<String>,
    /// Commands that completed the secrets (`show-attributes`), follow-ups included.
    completions: usize,
}

/// Every command any fake host ran, in order, as `host: what`.
type Journal = Arc<Mutex<Vec<String>>>;

struct FakeHost {
    name: String,
    state: Arc<Mutex<HostState>>,
    journal: Journal,
    cancel: Arc<AtomicBool>,
}

/// `bash -c BODY probe ADDRESS PORT ADDRESS PORT …`: every peer answers.
fn fake_probes(script: &str) -> String {
    let words = shlex::split(script.trim_end()).expect("the probe script is well quoted");
    words[4..]
        .chunks(2)
        .map(|pair| format!("open {} {}\n", pair[0], pair[1]))
        .collect()
}

fn first_line_vars(script: &str) -> BTreeMap<String, String> {
    let line = script.lines().next().unwrap_or("");
    shlex::split(line)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|t| {
            let t = t.strip_suffix(';').unwrap_or(&t).to_string();
            let (k, v) = t.split_once('=')?;
            Some((k.to_string(), v.to_string()))
        })
        .collect()
}

impl FakeHost {
    fn write_files(&self, dirs: &[UploadDir<'_>], files: &[UploadFile<'_>]) -> Vec<Uploaded> {
        let mut s = self.state.lock().unwrap();
        for dir in dirs {
            s.commands.push(format!("mkdir -p {}", dir.path));
        }
        files
            .iter()
            .map(|f| {
                let previous = s.files.insert(f.path.into(), (f.contents.to_vec(), f.mode));
                s.uploads.push(f.path.into());
                let changed = previous.as_ref().map(|(c, _)| c.as_slice()) != Some(f.contents);
                Uploaded {
                    changed,
                    backup: previous
                        .filter(|_| changed)
                        .map(|_| format!("{}.bak-fake", f.path)),
                }
            })
            .collect()
    }
}

impl Remote for FakeHost {
    /// Reads to the end, like a command that exits with its last line; nothing after a break is
    /// passed on.
    fn run_until(
        &self,
        cmd: &RemoteCommand,
        on_line: &mut dyn FnMut(&str) -> ControlFlow<()>,
    ) -> Result<Output, RemoteError> {
        let mut s = self.state.lock().unwrap();
        let script = cmd.script.as_str();
        if s.cancel_on
            .as_ref()
            .is_some_and(|c| script.contains(c.as_str()))
        {
            self.cancel.store(true, std::sync::atomic::Ordering::SeqCst);
        }
        if script.contains("show-attributes") {
            s.completions += 1;
        }
        let mut out = Output::default();
        let mut stopped = false;
        let mut say = |text: String, out: &mut Output| {
            for l in text.lines() {
                stopped = stopped || on_line(l).is_break();
            }
            out.stdout.push_str(&text);
        };
        if script == "id -u" {
            say("0\n".into(), &mut out);
        } else if script.contains("@@scalr-installer:os-release") {
            let m = "@@scalr-installer:";
            let mut t = format!(
                "{m}uid\n0\n{m}os-release\n{}\n{m}redhat-release\n{m}meminfo\nMemTotal: {} kB\n{m}cpuinfo\n",
                s.os_release, s.mem_kb
            );
            t.push_str(&"processor : 0\n".repeat(4));
            t.push_str(&format!("{m}df\nFilesystem 1024-blocks Used Available Capacity Mounted on\ntmpfs 104857600 0 104857600 0% /opt/scalr-server\n"));
            t.push_str(&format!(
                "{m}dpkg\n{}\n{m}rpm\n{m}sha256\n",
                s.version
                    .as_ref()
                    .map(|v| format!("{v}-1"))
                    .unwrap_or_default()
            ));
            for (p, (c, _)) in &s.files {
                t.push_str(&format!("{}  {p}\n", sha256_hex(c)));
            }
            t.push_str(&format!("{m}stat\n"));
            for (p, (_, mode)) in &s.files {
                t.push_str(&format!("{mode:o} {p}\n"));
            }
            t.push_str(&format!("{m}marker-reconfigure\n{}\n{m}marker-replication\n{}\n{m}tcp\n{m}clock\n{}\n{m}secrets\n{}{m}end\n",
                s.reconfigure_marker.clone().unwrap_or_default(),
                if s.replication_marker { "yes" } else { "" },
                std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs(),
                s.files.get(crate::engine::desired::SECRETS_PATH).map(|(c, _)| {
                    use base64::Engine as _;
                    format!("present\n{}\n", base64::engine::general_purpose::STANDARD.encode(c))
                }).unwrap_or_default()));
            // The script probes the peers itself where the package is not installed.
            let section = format!("{m}probes'; ");
            if script.contains(&section) {
                s.probing_facts += 1;
            }
            if let (Some(at), None) = (script.find(&section), &s.version) {
                let probe = &script[at + section.len()..];
                let probe = &probe[..probe.rfind("; fi").expect("the probe's if ends")];
                t = t.replace(
                    &format!("{m}end\n"),
                    &format!("{m}probes\n{}{m}end\n", fake_probes(probe)),
                );
            }
            say(t, &mut out);
        } else if script.starts_with("bash -c") && script.contains(" probe ") {
            s.separate_probes += 1;
            say(fake_probes(script), &mut out);
        } else if script.contains("setsid sh -c") {
            let vars = first_line_vars(script);
            let (step, command, after) = (
                vars["step"].clone(),
                vars["cmd"].clone(),
                vars.get("after").cloned().unwrap_or_default(),
            );
            s.commands.push(command.clone());
            self.journal
                .lock()
                .unwrap()
                .push(format!("{}: {step}", self.name));
            let result = if command.contains("scalr-server-ctl reconfigure") {
                if s.fail_reconfigure {
                    (vec!["Preparing to reconfigure Scalr...".into(), "Create main Scalr database structure (run) ... \u{1b}[31m[ FAILED ]\u{1b}[0m".into(), "Scalr configuration failed! Please check error log (/opt/scalr-server/var/log/installer/) for more details.".into()], 1)
                } else {
                    let digest = after
                        .split("printf '%s %s %s\\n' ")
                        .nth(1)
                        .and_then(|r| r.split_whitespace().next())
                        .unwrap_or("?")
                        .to_string();
                    s.reconfigure_marker = Some(format!(
                        "{digest} 2 {}-1",
                        s.version.clone().unwrap_or_default()
                    ));
                    (
                        vec![
                            "Preparing to reconfigure Scalr...".into(),
                            "MySQL service (start) ... [ OK ]".into(),
                            "Create directory (create) ... [ OK ]".into(),
                        ],
                        0,
                    )
                }
            } else if command.contains("apt-get install") {
                let v = command
                    .split("scalr-server=")
                    .nth(1)
                    .map(|r| r.trim_end_matches('\'').trim_end_matches("-1").to_string());
                s.version = Some(v.unwrap_or_else(|| "8.0.1".into()));
                let mut lines = vec!["Thank you for installing Scalr!".to_string()];
                // The step's on_success reports the installed version in a marker line.
                if after.contains("installed-version=") {
                    lines.push(format!(
                        "SCALR-INSTALLER installed-version={}-1",
                        s.version.clone().unwrap_or_default()
                    ));
                }
                (lines, 0)
            } else if command.contains("kickstart-replication") {
                s.replication_marker = true;
                (vec!["replication started".into()], 0)
            } else {
                (vec![format!("unexpected detached command {command}")], 127)
            };
            // One command launches and streams to the end, as the real launcher does.
            let (lines, rc) = result;
            let mut t = "SCALR-DETACHED started pid=4242\n".to_string();
            t.extend(lines.iter().map(|l| format!("{l}\n")));
            t.push_str(&format!("SCALR-DETACHED rc={rc}\n"));
            say(t, &mut out);
        } else if script.starts_with("mkdir -p") {
            s.commands.push(script.to_string());
        } else if script.contains("scalr-server-manage status") {
            let (text, code) = if s.reconfigure_marker.is_some() {
                ("scalr-mysql   RUNNING   pid 7, uptime 0:00:03\n", 0)
            } else {
                ("Not available yet!\n", 1)
            };
            say(text.into(), &mut out);
            // Verify's script: the status, its exit code, then the probes.
            if script.contains("@@scalr-installer:status-exit") {
                say(format!("@@scalr-installer:status-exit {code}\n"), &mut out);
                if let Some(at) = script.find("bash -c") {
                    say(fake_probes(&script[at..]), &mut out);
                }
            } else {
                out.exit_code = code;
            }
        } else {
            out.exit_code = 127;
            out.stderr = format!("fake host does not know: {script}");
        }
        Ok(out)
    }

    fn upload(&self, path: &str, contents: &[u8], mode: u32) -> Result<(), RemoteError> {
        let mut s = self.state.lock().unwrap();
        s.files.insert(path.into(), (contents.to_vec(), mode));
        s.uploads.push(path.into());
        self.journal
            .lock()
            .unwrap()
            .push(format!("{}: upload {path}", self.name));
        Ok(())
    }

    fn upload_files_then(
        &self,
        dirs: &[UploadDir<'_>],
        files: &[UploadFile<'_>],
        then: Option<&RemoteCommand>,
    ) -> Result<(Vec<Uploaded>, Option<Output>), RemoteError> {
        let outcomes = self.write_files(dirs, files);
        let follow_up = match then {
            Some(cmd) => {
                self.state
                    .lock()
                    .unwrap()
                    .follow_ups
                    .push(cmd.script.clone());
                Some(self.run(cmd, &mut |_| {})?)
            }
            None => None,
        };
        Ok((outcomes, follow_up))
    }

    fn read_file(&self, path: &str) -> Result<Option<Vec<u8>>, RemoteError> {
        Ok(self
            .state
            .lock()
            .unwrap()
            .files
            .get(path)
            .map(|(c, _)| c.clone()))
    }

    fn reconnect(&self) -> Result<(), RemoteError> {
        Ok(())
    }
}

struct Fleet {
    hosts: BTreeMap<String, Arc<Mutex<HostState>>>,
    journal: Journal,
    /// The run's cancel flag, which a fake host may set (`cancel_on`).
    cancel: Arc<AtomicBool>,
}

impl Connector for Fleet {
    fn connect(&self, host: &str) -> Result<Box<dyn Remote>, RemoteError> {
        let state = self
            .hosts
            .get(host)
            .ok_or_else(|| RemoteError::fatal(format!("unknown host {host}")))?;
        Ok(Box::new(FakeHost {
            name: host.into(),
            state: state.clone(),
            journal: self.journal.clone(),
            cancel: self.cancel.clone(),
        }))
    }
}

/// Renders a shared main file, a per-host local file and the secrets (adopted or generated).
struct FakeRenderer {
    hosts: Vec<String>,
    main_rb: Mutex<String>,
}

impl Renderer for FakeRenderer {
    fn paths(&self, _host: &str) -> Vec<String> {
        vec![
            "/etc/scalr-server/scalr-server.rb".into(),
            "/etc/scalr-server/scalr-server-local.rb".into(),
            SECRETS_PATH.into(),
        ]
    }

    fn render(&self, adopted: Option<&[u8]>) -> Result<Rendered, String> {
        let secrets = adopted
            .map(<[u8]>::to_vec)
            .unwrap_or_else(|| br#"{"mysql":{"root_password":"generated-root-secret"}}"#.to_vec());
        let files = self
            .hosts
            .iter()
            .map(|h| {
                (
                    h.clone(),
                    vec![
                        DesiredFile {
                            path: "/etc/scalr-server/scalr-server.rb".into(),
                            contents: self.main_rb.lock().unwrap().clone().into_bytes(),
                            mode: 0o644,
                            secret: false,
                            group: None,
                        },
                        DesiredFile {
                            path: "/etc/scalr-server/scalr-server-local.rb".into(),
                            contents: format!("# {h}\n").into_bytes(),
                            mode: 0o644,
                            secret: false,
                            group: None,
                        },
                        DesiredFile {
                            path: SECRETS_PATH.into(),
                            contents: secrets.clone(),
                            mode: 0o600,
                            secret: true,
                            group: None,
                        },
                    ],
                )
            })
            .collect();
        Ok(Rendered {
            files,
            secret_values: vec![],
        })
    }
}

fn desired_host(name: &str, n: u8, modules: &[Module], db_role: Option<DbRole>) -> DesiredHost {
    DesiredHost {
        name: name.into(),
        private_address: format!("127.0.7.{n}"),
        modules: modules.iter().copied().collect(),
        db_role,
        expected_os: Some(OsId::Ubuntu1804),
        requirements: Requirements {
            ram_recommended_kb: 4_000_000,
            ..Requirements::default()
        },
        listen_ports: vec![],
        // Every host but the master reaches the master's MySQL, so preflight has peers to probe.
        needs: if db_role == Some(DbRole::Master) {
            vec![]
        } else {
            vec![PeerPort {
                host: "db-master".into(),
                address: "127.0.7.1".into(),
                port: 3306,
                purpose: "MySQL".into(),
            }]
        },
    }
}

struct World {
    only: Option<std::collections::BTreeSet<String>>,
    desired: Desired,
    fleet: Fleet,
    renderer: FakeRenderer,
}

impl World {
    fn ha() -> World {
        use Module::*;
        let hosts = vec![
            desired_host("db-master", 1, &[MainDb, AnalyticsDb], Some(DbRole::Master)),
            desired_host("db-slave", 2, &[MainDb, AnalyticsDb], Some(DbRole::Slave)),
            desired_host("worker", 3, &[Worker, Rabbitmq], None),
            desired_host("influx", 4, &[Influxdb], None),
            desired_host("app-1", 5, &[Proxy, App, Session], None),
            desired_host("app-2", 6, &[Proxy, App, Session], None),
        ];
        let desired = Desired {
            name: "ha".into(),
            waves: vec![
                vec!["db-master".into()],
                vec!["db-slave".into()],
                vec!["worker".into()],
                vec!["influx".into(), "app-1".into(), "app-2".into()],
            ],
            hosts,
            package: PackageSource::Packagecloud {
                repository: "scalr/scalr-server-ee".into(),
                token: "pc-token-abcdef".into(),
            },
            version: Some("8.0.1".into()),
            endpoint_port: 80,
        };
        let names: Vec<String> = desired.hosts.iter().map(|h| h.name.clone()).collect();
        let hosts = names
            .iter()
            .map(|n| {
                (
                    n.clone(),
                    Arc::new(Mutex::new(HostState {
                        os_release: "ID=ubuntu\nVERSION_ID=\"18.04\"".into(),
                        mem_kb: 8_000_000,
                        ..Default::default()
                    })),
                )
            })
            .collect();
        World {
            only: None,
            desired,
            fleet: Fleet {
                hosts,
                journal: Arc::default(),
                cancel: Arc::default(),
            },
            renderer: FakeRenderer {
                hosts: names,
                main_rb: Mutex::new("enable_all false\n".into()),
            },
        }
    }

    fn host(&self, name: &str) -> std::sync::MutexGuard<'_, HostState> {
        self.fleet.hosts[name].lock().unwrap()
    }

    fn run(&self, op: &str) -> (crate::engine::events::Summary, Vec<RunEvent>) {
        self.fleet.journal.lock().unwrap().clear();
        for h in self.fleet.hosts.values() {
            let mut s = h.lock().unwrap();
            s.uploads.clear();
            s.commands.clear();
        }
        let (tx, rx) = channel();
        let cancel = &*self.fleet.cancel;
        cancel.store(false, std::sync::atomic::Ordering::SeqCst);
        let engine = Engine {
            desired: &self.desired,
            renderer: &self.renderer,
            connector: &self.fleet,
            emit: Emitter::new(tx, Arc::new(Redactor::new(self.desired.secret_values()))),
            cancel,
            concurrency: 0,
            timeouts: Timeouts::default(),
            only: self.only.clone(),
        };
        let summary = match op {
            "apply" => engine.apply(),
            "check" => engine.check(),
            "plan" => engine.plan_only(),
            "status" => engine.status(),
            _ => unreachable!(),
        };
        drop(engine);
        (summary, rx.try_iter().collect())
    }

    fn journal(&self) -> Vec<String> {
        self.fleet.journal.lock().unwrap().clone()
    }

    /// A count kept by every fake host, summed over the fleet.
    fn sum(&self, count: impl Fn(&HostState) -> usize) -> usize {
        self.fleet
            .hosts
            .values()
            .map(|h| count(&h.lock().unwrap()))
            .sum()
    }
}

fn outcome<'a>(s: &'a crate::engine::events::Summary, host: &str) -> &'a HostOutcome {
    &s.hosts.iter().find(|(h, _)| h == host).unwrap().1
}

#[test]
fn ha_install_from_empty_hosts_converges_in_wave_order() {
    let w = World::ha();
    let (summary, events) = w.run("apply");
    assert_eq!(summary.exit, ExitStatus::Success, "{summary:#?}");
    // The index refresh and the version report ride in the install step: one command.
    let installs: Vec<String> = w
        .host("db-master")
        .commands
        .iter()
        .filter(|c| c.contains("apt-get"))
        .cloned()
        .collect();
    assert_eq!(installs.len(), 1, "{installs:?}");
    assert!(
        installs[0].starts_with("apt-get update || ") && installs[0].contains("apt-get install"),
        "{installs:?}"
    );
    assert!(!events.iter().any(|e| matches!(&e.kind,
        EventKind::Line { text, .. } if text.contains("SCALR-INSTALLER"))));
    let reconfigures: Vec<String> = w
        .journal()
        .into_iter()
        .filter(|j| j.ends_with("reconfigure") || j.ends_with("replication"))
        .collect();
    assert_eq!(
        &reconfigures[..4],
        [
            "db-master: reconfigure",
            "db-slave: reconfigure",
            "db-master: replication",
            "worker: reconfigure"
        ]
    );
    assert_eq!(reconfigures.len(), 7);
    let main = w.host("db-master").files["/etc/scalr-server/scalr-server.rb"].clone();
    for h in ["db-slave", "worker", "influx", "app-1", "app-2"] {
        let s = w.host(h);
        assert_eq!(s.files["/etc/scalr-server/scalr-server.rb"], main, "{h}");
        assert_eq!(s.files[SECRETS_PATH].1, 0o600);
        assert_eq!(s.version.as_deref(), Some("8.0.1"));
        assert_eq!(
            s.files["/etc/apt/sources.list.d/scalr_scalr-server-ee.list"].1,
            0o600
        );
    }
    assert_eq!(
        summary.reconfigure_order,
        [
            "db-master",
            "db-slave",
            "worker",
            "influx",
            "app-1",
            "app-2"
        ]
    );
}

#[test]
fn the_first_wave_starts_its_install_before_any_other_host_touches_anything() {
    let w = World::ha();
    let (summary, _) = w.run("apply");
    assert_eq!(summary.exit, ExitStatus::Success, "{summary:#?}");
    let j = w.journal();
    assert_eq!(
        j[..2],
        [
            "db-master: upload /etc/apt/sources.list.d/scalr_scalr-server-ee.list",
            "db-master: install"
        ],
        "{j:?}"
    );
    // Everyone else still installs, in the same stage.
    let installs = j.iter().filter(|e| e.ends_with(": install")).count();
    assert_eq!(installs, 6, "{j:?}");
}

#[test]
fn the_first_wave_completes_the_secrets_in_its_config_upload() {
    let w = World::ha();
    let (summary, _) = w.run("apply");
    assert_eq!(summary.exit, ExitStatus::Success, "{summary:#?}");
    let master = w.host("db-master");
    assert_eq!(master.completions, 1);
    assert_eq!(master.follow_ups.len(), 1, "{:?}", master.follow_ups);
    assert!(master.follow_ups[0].contains("show-attributes"));
    drop(master);
    for h in ["db-slave", "worker", "influx", "app-1", "app-2"] {
        let s = w.host(h);
        assert_eq!((s.completions, s.follow_ups.len()), (0, 0), "{h}");
    }
}

#[test]
fn a_rerun_with_nothing_changed_changes_nothing() {
    let w = World::ha();
    assert_eq!(w.run("apply").0.exit, ExitStatus::Success);
    let (summary, events) = w.run("apply");
    assert_eq!(summary.exit, ExitStatus::Success);
    assert!(w.journal().is_empty(), "{:?}", w.journal());
    for h in w.fleet.hosts.values() {
        assert!(h.lock().unwrap().uploads.is_empty());
    }
    let skipped = events
        .iter()
        .filter(|e| {
            matches!(
                &e.kind,
                EventKind::PhaseFinished {
                    phase: Phase::Reconfigure,
                    outcome: PhaseOutcome::Skipped { .. },
                    ..
                }
            )
        })
        .count();
    assert_eq!(skipped, 6);
}

/// Names of the checks emitted before the first host was planned: preflight's checks.
fn preflight_checks(events: &[RunEvent]) -> Vec<String> {
    events
        .iter()
        .take_while(|e| !matches!(e.kind, EventKind::Planned { .. }))
        .filter_map(|e| match &e.kind {
            EventKind::Check { name, .. } => Some(name.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn peers_are_probed_before_a_change_and_only_by_verify_when_nothing_changes() {
    let w = World::ha();
    let (_, first) = w.run("apply");
    assert!(preflight_checks(&first).iter().any(|c| c == "peers"));
    let (summary, again) = w.run("apply");
    assert_eq!(summary.exit, ExitStatus::Success);
    assert!(
        !preflight_checks(&again).iter().any(|c| c == "peers"),
        "{:?}",
        preflight_checks(&again)
    );
    assert!(again.iter().any(|e| matches!(
        &e.kind,
        EventKind::Notice { text } if text.starts_with("nothing to change on any host")
    )));
    *w.renderer.main_rb.lock().unwrap() =
        "enable_all false\napp[:instances_connection_policy] = 'local'\n".into();
    let (_, changed) = w.run("apply");
    assert!(preflight_checks(&changed).iter().any(|c| c == "peers"));
}

#[test]
fn a_cancel_once_the_first_wave_is_prepared_releases_the_hosts_waiting_to_upload() {
    // The later hosts wait to upload until the first wave is under way; cancelled before it
    // starts, the run must still end, having reconfigured nothing.
    let w = std::sync::Arc::new(World::ha());
    w.host("db-master").cancel_on = Some("show-attributes".into());
    let (tx, rx) = channel();
    let world = w.clone();
    std::thread::spawn(move || {
        let _ = tx.send(world.run("apply"));
    });
    let (summary, events) = rx
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("the cancelled run ends instead of waiting forever");
    assert_ne!(summary.exit, ExitStatus::Success);
    assert!(
        !events.iter().any(|e| matches!(
            &e.kind,
            EventKind::PhaseStarted {
                phase: Phase::Reconfigure
            }
        )),
        "nothing is reconfigured after a cancel"
    );
}

#[test]
fn hosts_without_the_package_probe_their_peers_with_their_facts_and_installed_ones_separately() {
    let w = World::ha();
    let separate = |w: &World| w.sum(|s| s.separate_probes);
    let probing_facts = |w: &World| w.sum(|s| s.probing_facts);
    // `status` has no preflight: its facts probe nothing.
    w.run("status");
    assert_eq!((probing_facts(&w), separate(&w)), (0, 0));
    let (_, first) = w.run("apply");
    assert_eq!(probing_facts(&w), 5, "every host with peers");
    let peers_passed = first
        .iter()
        .filter(|e| {
            matches!(&e.kind, EventKind::Check { name, status, .. }
                if name == "peers" && *status == CheckStatus::Pass)
        })
        .count();
    assert_eq!(peers_passed, 5, "every host but the master has peers");
    assert_eq!(separate(&w), 0, "a first install probes within the facts");
    *w.renderer.main_rb.lock().unwrap() =
        "enable_all false\napp[:instances_connection_policy] = 'local'\n".into();
    let (_, changed) = w.run("apply");
    assert!(preflight_checks(&changed).iter().any(|c| c == "peers"));
    assert_eq!(
        separate(&w),
        5,
        "installed hosts probe with a command of its own"
    );
}

#[test]
fn a_changed_main_file_reconfigures_every_host_but_reinstalls_nothing() {
    let w = World::ha();
    w.run("apply");
    *w.renderer.main_rb.lock().unwrap() =
        "enable_all false\napp[:instances_connection_policy] = 'local'\n".into();
    let (plan, events) = w.run("plan");
    assert_eq!(plan.reconfigure_order.len(), 6);
    let diff_shown = events.iter().any(|e| matches!(&e.kind, EventKind::Planned { changes } if format!("{changes:?}").contains("+app[:instances_connection_policy] = 'local'")));
    assert!(diff_shown);
    assert!(w.journal().is_empty(), "plan changes nothing");
    let (summary, _) = w.run("apply");
    assert_eq!(summary.exit, ExitStatus::Success);
    let j = w.journal();
    assert!(j.iter().all(|e| e.ends_with(": reconfigure")), "{j:?}");
    assert_eq!(j.len(), 6);
}

#[test]
fn a_reconfigure_failure_is_reported_with_its_log_and_a_rerun_resumes() {
    let w = World::ha();
    w.host("worker").fail_reconfigure = true;
    let (summary, _) = w.run("apply");
    assert_eq!(summary.exit, ExitStatus::HostFailed);
    match outcome(&summary, "worker") {
        HostOutcome::Failed {
            phase,
            error,
            remote_log,
            last_lines,
        } => {
            assert_eq!(*phase, Phase::Reconfigure);
            assert!(
                error.contains("at \"Create main Scalr database structure\""),
                "{error}"
            );
            assert!(remote_log.as_deref().unwrap().contains("reconfigure.log"));
            assert!(last_lines.iter().any(|l| l.contains("[ FAILED ]")));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        outcome(&summary, "app-1"),
        HostOutcome::NotAttempted { .. }
    ));
    assert_eq!(outcome(&summary, "influx"), &HostOutcome::Succeeded);
    w.host("worker").fail_reconfigure = false;
    let (again, _) = w.run("apply");
    assert_eq!(again.exit, ExitStatus::Success, "{again:#?}");
    // The DB hosts and InfluxDB already succeeded: skipped. The worker goes first, then its wave.
    let j = w.journal();
    assert_eq!(j[0], "worker: reconfigure");
    let mut rest = j[1..].to_vec();
    rest.sort();
    assert_eq!(rest, ["app-1: reconfigure", "app-2: reconfigure"]);
}

#[test]
fn a_host_below_the_ram_floor_stops_the_run_before_anything_changes() {
    let w = World::ha();
    w.host("influx").mem_kb = 3_500_000;
    let (summary, events) = w.run("apply");
    assert_eq!(summary.exit, ExitStatus::PreflightBlocked);
    assert!(w.journal().is_empty());
    for h in w.fleet.hosts.values() {
        assert!(h.lock().unwrap().uploads.is_empty());
    }
    assert!(events.iter().any(|e| e.host.as_deref() == Some("influx") && matches!(&e.kind, EventKind::Check { name, status: CheckStatus::Fail, .. } if name == "ram")));
    assert!(
        matches!(outcome(&summary, "app-1"), HostOutcome::NotAttempted { why } if why.contains("nothing was changed"))
    );
}

#[test]
fn an_unsupported_os_is_refused_by_check_with_exit_3() {
    let w = World::ha();
    w.host("app-2").os_release = "ID=fedora\nVERSION_ID=30\nPRETTY_NAME=\"Fedora 30\"".into();
    let (summary, _) = w.run("check");
    assert_eq!(summary.exit, ExitStatus::PreflightBlocked);
    assert!(
        matches!(outcome(&summary, "app-2"), HostOutcome::Failed { error, .. } if error.contains("Fedora 30"))
    );
}

#[test]
fn secrets_already_on_a_host_are_adopted_and_never_regenerated() {
    let w = World::ha();
    let by_hand = br#"{"mysql":{"root_password":"made-by-hand-secret"}}"#.to_vec();
    w.host("db-master")
        .files
        .insert(SECRETS_PATH.into(), (by_hand.clone(), 0o600));
    let (summary, events) = w.run("apply");
    assert_eq!(summary.exit, ExitStatus::Success);
    for h in w.fleet.hosts.values() {
        assert_eq!(h.lock().unwrap().files[SECRETS_PATH].0, by_hand);
    }
    let all = events
        .iter()
        .map(|e| serde_json::to_string(e).unwrap())
        .collect::<String>();
    assert!(!all.contains("made-by-hand-secret"));
    assert!(!all.contains("pc-token-abcdef"));
}

#[test]
fn hosts_with_different_secrets_stop_the_run_and_nothing_changes() {
    let w = World::ha();
    w.host("db-master").files.insert(
        SECRETS_PATH.into(),
        (br#"{"a":"first-secret-x"}"#.to_vec(), 0o600),
    );
    w.host("worker").files.insert(
        SECRETS_PATH.into(),
        (br#"{"a":"second-secret-y"}"#.to_vec(), 0o600),
    );
    let (summary, events) = w.run("apply");
    assert_eq!(summary.exit, ExitStatus::PreflightBlocked);
    assert!(w.journal().is_empty());
    let notice = events
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::Notice { text } if text.contains("different Scalr secrets") => {
                Some(text.clone())
            }
            _ => None,
        })
        .unwrap();
    assert!(notice.contains("db-master") && notice.contains("worker"));
    assert!(!notice.contains("first-secret-x"));
}

#[test]
fn status_reports_version_services_and_drift() {
    let w = World::ha();
    w.run("apply");
    w.host("app-1").files.insert(
        "/etc/scalr-server/scalr-server.rb".into(),
        (b"edited by hand\n".to_vec(), 0o644),
    );
    let (summary, events) = w.run("status");
    assert_eq!(summary.exit, ExitStatus::Success);
    let drift = events.iter().find_map(|e| match &e.kind {
        EventKind::Check {
            name,
            status,
            detail,
            ..
        } if name == "drift" && e.host.as_deref() == Some("app-1") => {
            Some((*status, detail.clone()))
        }
        _ => None,
    });
    assert_eq!(
        drift,
        Some((
            CheckStatus::Warn,
            "differ from the profile: /etc/scalr-server/scalr-server.rb".into()
        ))
    );
    assert!(w.journal().is_empty());
}

#[test]
fn waves_are_announced_once_each_in_order() {
    let w = World::ha();
    let (_, events) = w.run("apply");
    let waves: Vec<(usize, Vec<String>)> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::WaveStarted { index, hosts } => Some((*index, hosts.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        waves.iter().map(|(i, _)| *i).collect::<Vec<_>>(),
        [0, 1, 2, 3]
    );
    assert_eq!(waves[3].1, ["influx", "app-1", "app-2"]);
}

#[test]
fn a_retry_of_some_hosts_touches_only_them() {
    let mut w = World::ha();
    w.host("app-2").fail_reconfigure = true;
    assert_eq!(w.run("apply").0.exit, ExitStatus::HostFailed);
    w.host("app-2").fail_reconfigure = false;
    w.only = Some(["app-2".to_string()].into_iter().collect());
    let (summary, _) = w.run("apply");
    assert_eq!(summary.exit, ExitStatus::Success);
    assert_eq!(summary.hosts.len(), 1);
    assert_eq!(w.journal(), ["app-2: reconfigure"]);
}
