//! The terminal front ends' [`Backend`], bound to the engine and its SSH connector.
//!
//! Each operation builds everything it needs (desired state, renderer, connector) on its own
//! thread and streams the engine's events back; every event is also recorded in the run
//! directory, as the headless commands do. Problems found before any connection (a missing
//! licence, a bad `~/.ssh/config`) arrive as a run that finishes at once with the message, so
//! the dashboard shows them like any other failure.

use crate::engine::bind::{self, ProfileRenderer};
use crate::engine::desired::SECRETS_PATH;
use crate::engine::events::{
    Emitter, EventKind, ExitStatus, HostOutcome, Redactor, RunEvent, Summary,
};
use crate::engine::phases::{facts, Timeouts};
use crate::engine::remote::Connector;
use crate::engine::run::Engine;
use crate::engine::rundir::RunDir;
use crate::engine::ssh_remote::SshConnector;
use crate::profile::model::{EndpointSpec, Layout, PackageSpec, Scheme};
use crate::profile::{HostSpec, LoadedProfile, Profile, SshSpec};
use crate::ssh::{SshConfig, StaticCredentials};
use crate::state::StateDir;
use crate::topology::{self, OsId};
use crate::tui::Backend;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Check,
    Plan,
    Apply,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Check => "check",
            Op::Plan => "plan",
            Op::Apply => "apply",
        }
    }
}

/// Secrets the operator supplied for one profile (asked before the dashboard, or from the
/// environment). Held in memory only.
#[derive(Clone, Default)]
struct Supplied {
    token: Option<String>,
    credentials: StaticCredentials,
}

/// The engine behind the wizard and the dashboard.
pub struct EngineBackend {
    /// `--state-dir`, or the default state directory.
    state_dir: Option<PathBuf>,
    /// Relative key and known_hosts paths in a draft (OS detection) start here.
    profiles_dir: PathBuf,
    /// Hosts worked on at once; 0 means all.
    pub concurrency: usize,
    /// Set when the operator leaves: no new work starts (detached remote steps keep running).
    cancel: Arc<AtomicBool>,
    supplied: Mutex<Option<Supplied>>,
}

impl EngineBackend {
    pub fn new(state_dir: Option<PathBuf>, profiles_dir: PathBuf) -> EngineBackend {
        EngineBackend {
            state_dir,
            profiles_dir,
            concurrency: 0,
            cancel: Arc::new(AtomicBool::new(false)),
            supplied: Mutex::new(None),
        }
    }

    /// Reads the token and passwords `loaded` needs from the environment and, when
    /// `interactive`, asks for the missing ones — call it outside the full screen, before a
    /// dashboard starts. Without it, operations use the environment only.
    pub fn ask_secrets(
        &self,
        loaded: &LoadedProfile,
        interactive: bool,
    ) -> Result<(), crate::commands::CommandError> {
        let token = crate::deploy::packagecloud_token(loaded, interactive)?;
        let credentials = crate::deploy::credentials(loaded, interactive)?;
        *self.supplied.lock().unwrap() = Some(Supplied { token, credentials });
        Ok(())
    }

    /// Stops starting new work in the running operations.
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::SeqCst);
    }

    fn supplied(&self, loaded: &LoadedProfile) -> Supplied {
        if let Some(s) = self.supplied.lock().unwrap().clone() {
            return s;
        }
        Supplied {
            token: crate::deploy::packagecloud_token(loaded, false)
                .ok()
                .flatten(),
            credentials: crate::deploy::credentials(loaded, false).unwrap_or_default(),
        }
    }

    fn start(
        &self,
        op: Op,
        loaded: &LoadedProfile,
        only: Option<BTreeSet<String>>,
    ) -> Receiver<RunEvent> {
        let (tx, rx) = channel();
        let job = Job {
            op,
            loaded: loaded.clone(),
            only,
            supplied: self.supplied(loaded),
            state_dir: self.state_dir.clone(),
            concurrency: self.concurrency,
            cancel: self.cancel.clone(),
        };
        std::thread::spawn(move || job.run(tx));
        rx
    }
}

/// One operation, owning everything its thread needs.
struct Job {
    op: Op,
    loaded: LoadedProfile,
    only: Option<BTreeSet<String>>,
    supplied: Supplied,
    state_dir: Option<PathBuf>,
    concurrency: usize,
    cancel: Arc<AtomicBool>,
}

impl Job {
    fn run(self, out: Sender<RunEvent>) {
        if let Err(message) = self.run_engine(&out) {
            refuse(&out, self.op, &self.loaded, &message);
        }
    }

    fn run_engine(&self, out: &Sender<RunEvent>) -> Result<(), String> {
        let loaded = &self.loaded;
        let path = loaded.path.display();
        let deployment = topology::Deployment::resolve(&loaded.profile).map_err(|errors| {
            errors
                .into_iter()
                .map(|e| format!("{path}: {}: {}", e.key, e.message))
                .collect::<Vec<_>>()
                .join("; ")
        })?;
        let state = StateDir::resolve(self.state_dir.as_deref())
            .map_err(|e| e.to_string())?
            .deployment(&loaded.profile.name);
        let license = crate::render::read_license(loaded).map_err(|e| e.to_string())?;
        let database_password =
            crate::commands::external_db_password(loaded, &state).map_err(|e| e.to_string())?;
        let ssh_config = SshConfig::load_user_default().map_err(|e| {
            format!("{e}; fix ~/.ssh/config (or the file it includes), then run again")
        })?;
        let creds = &self.supplied.credentials;
        let mut secrets: Vec<String> = [
            &creds.key_passphrase,
            &creds.login_password,
            &creds.sudo_password,
        ]
        .into_iter()
        .flatten()
        .map(|s| s.expose().to_string())
        .collect();
        secrets.extend(database_password.clone());
        let desired = bind::desired(loaded, &deployment, self.supplied.token.clone())
            .map_err(|e| e.to_string())?;
        let connector = SshConnector::from_profile(loaded, &ssh_config, Arc::new(creds.clone()))
            .map_err(|e| e.to_string())?;
        let renderer = ProfileRenderer {
            loaded,
            deployment: &deployment,
            state: &state,
            license,
            database_password,
        };
        std::fs::create_dir_all(state.dir()).map_err(|e| {
            format!(
                "cannot create the state directory {}: {e}; choose another with --state-dir",
                state.dir().display()
            )
        })?;
        secrets.extend(desired.secret_values());

        let (tx, rx) = channel::<RunEvent>();
        let emitter = Emitter::new(tx, Arc::new(Redactor::new(secrets)));
        let mut rundir = RunDir::create(state.dir()).ok();
        if let Some(d) = &rundir {
            emitter.emit(EventKind::Notice {
                text: format!("run directory: {}", d.path().display()),
            });
        }
        std::thread::scope(|scope| {
            let engine_emitter = emitter.clone();
            scope.spawn(move || {
                let engine = Engine {
                    desired: &desired,
                    renderer: &renderer,
                    connector: &connector,
                    emit: engine_emitter,
                    cancel: &self.cancel,
                    concurrency: self.concurrency,
                    timeouts: Timeouts::default(),
                    only: self.only.clone(),
                };
                match self.op {
                    Op::Check => engine.check(),
                    Op::Plan => engine.plan_only(),
                    Op::Apply => engine.apply(),
                };
            });
            drop(emitter);
            for event in rx {
                if let Some(d) = &mut rundir {
                    if d.record(&event).is_err() {
                        rundir = None;
                    }
                }
                // The dashboard may have gone; the run still finishes and is recorded.
                let _ = out.send(event);
            }
        });
        Ok(())
    }
}

/// A run that could not start: announced, explained and finished, so a view shows why.
fn refuse(out: &Sender<RunEvent>, op: Op, loaded: &LoadedProfile, message: &str) {
    let hosts: Vec<String> = loaded
        .profile
        .hosts
        .iter()
        .map(|h| h.name.clone())
        .collect();
    let event = |kind| RunEvent {
        at: SystemTime::now(),
        host: None,
        kind,
    };
    let _ = out.send(event(EventKind::RunStarted {
        command: op.name().into(),
        hosts: hosts.clone(),
        waves: vec![],
    }));
    let _ = out.send(event(EventKind::Notice {
        text: message.to_string(),
    }));
    let summary = Summary::new(
        op.name(),
        ExitStatus::BadInput,
        hosts
            .into_iter()
            .map(|h| {
                (
                    h,
                    HostOutcome::NotAttempted {
                        why: message.to_string(),
                    },
                )
            })
            .collect(),
    );
    let _ = out.send(event(EventKind::RunFinished { summary }));
}

impl Backend for EngineBackend {
    fn detect_os(&self, hosts: &[HostSpec], ssh: &SshSpec) -> Vec<(String, Result<OsId, String>)> {
        match detection_connector(hosts, ssh, &self.profiles_dir) {
            Ok(connector) => std::thread::scope(|scope| {
                let connector = &connector;
                let workers: Vec<_> = hosts
                    .iter()
                    .map(|h| scope.spawn(move || (h.name.clone(), detect_one(connector, &h.name))))
                    .collect();
                workers
                    .into_iter()
                    .map(|w| w.join().expect("OS detection thread"))
                    .collect()
            }),
            Err(e) => hosts
                .iter()
                .map(|h| (h.name.clone(), Err(e.clone())))
                .collect(),
        }
    }

    fn firewall_rules(&self, profile: &Profile) -> Result<Vec<String>, String> {
        crate::ports::rule_lines(profile)
    }

    fn check(&self, profile: &LoadedProfile) -> Receiver<RunEvent> {
        self.start(Op::Check, profile, None)
    }

    fn plan(&self, profile: &LoadedProfile) -> Receiver<RunEvent> {
        self.start(Op::Plan, profile, None)
    }

    fn apply(&self, profile: &LoadedProfile, hosts: Option<Vec<String>>) -> Receiver<RunEvent> {
        self.start(Op::Apply, profile, hosts.map(|h| h.into_iter().collect()))
    }
}

/// A connector for hosts still being typed into the wizard: only their SSH settings matter.
fn detection_connector(
    hosts: &[HostSpec],
    ssh: &SshSpec,
    dir: &Path,
) -> Result<SshConnector, String> {
    let loaded = LoadedProfile {
        profile: Profile {
            schema: 1,
            name: "os-detection".into(),
            layout: Layout::Custom,
            scalr: Default::default(),
            package: PackageSpec::Local { files: vec![] },
            endpoint: EndpointSpec {
                host: "localhost".into(),
                scheme: Scheme::Http,
                tls_cert: None,
                tls_key: None,
            },
            network: Default::default(),
            database: Default::default(),
            ssh: ssh.clone(),
            hosts: hosts.to_vec(),
        },
        path: dir.join("wizard.toml"),
        dir: dir.to_path_buf(),
    };
    let config = SshConfig::load_user_default()
        .map_err(|e| format!("{e}; fix ~/.ssh/config, or choose the OS by hand"))?;
    let credentials = crate::deploy::credentials(&loaded, false).unwrap_or_default();
    SshConnector::from_profile(&loaded, &config, Arc::new(credentials)).map_err(|e| e.to_string())
}

/// The engine's facts phase on one host: its OS, or why it could not be read.
fn detect_one(connector: &dyn Connector, host: &str) -> Result<OsId, String> {
    let remote = connector.connect(host).map_err(|e| e.message)?;
    let found = facts::gather(remote.as_ref(), &[], SECRETS_PATH, &[]).map_err(|e| e.message)?;
    found.os.id.ok_or_else(|| {
        format!(
            "{host} runs {}, which Scalr Server does not support — choose a host with a supported OS",
            found.os.pretty
        )
    })
}
