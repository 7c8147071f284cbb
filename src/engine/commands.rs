//! The headless commands — `check`, `plan`, `apply`, `status` — as functions over a deployment,
//! with their clap arguments. `main.rs` loads the profile, builds the [`Deployment`] (desired
//! state, renderer, SSH connector) and calls [`run`]; everything else happens here: the run
//! directory, the views, Ctrl-C, and the exit status.

use crate::engine::desired::{Desired, Renderer};
use crate::engine::events::{
    Emitter, EventKind, ExitStatus, HostOutcome, Phase, Redactor, RunEvent, Summary,
};
use crate::engine::phases::Timeouts;
use crate::engine::remote::Connector;
use crate::engine::run::Engine;
use crate::engine::rundir::RunDir;
use crate::views::json::JsonView;
use crate::views::plain::PlainView;
use crate::views::progress::ProgressView;
use crate::views::{text, View};
use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Options every engine command takes.
#[derive(Debug, Clone, clap::Args)]
pub struct CommonArgs {
    /// The deployment profile (TOML).
    #[arg(long, value_name = "FILE")]
    pub profile: PathBuf,
    /// Write one JSON event per line to stdout instead of human-readable output.
    #[arg(long)]
    pub json: bool,
    /// Hosts worked on at the same time (default: all).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub concurrency: usize,
}

/// `check`: connect, gather facts, run the preflight checks; changes nothing.
#[derive(Debug, Clone, clap::Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub common: CommonArgs,
}

/// `plan`: show what `apply` would change on each host; changes nothing.
#[derive(Debug, Clone, clap::Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub common: CommonArgs,
}

/// `apply`: install, configure and reconfigure every host in wave order.
#[derive(Debug, Clone, clap::Args)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Do not ask for confirmation (required when stdin is not a terminal).
    #[arg(long)]
    pub yes: bool,
    /// Follow the run on the full-screen live dashboard (needs a terminal) instead of progress
    /// bars; without --yes the plan is shown and confirmed first
    #[arg(long, conflicts_with = "json")]
    pub dashboard: bool,
}

/// `status`: installed version, services and drift per host; changes nothing.
#[derive(Debug, Clone, clap::Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Check,
    Plan,
    Apply,
    Status,
}

/// What a command runs against, built by the caller from the loaded profile.
pub struct Deployment<'a> {
    pub desired: &'a Desired,
    pub renderer: &'a dyn Renderer,
    pub connector: &'a dyn Connector,
    /// The deployment's state directory; runs go to `<state_dir>/runs/`.
    pub state_dir: &'a Path,
    /// Values to mask from the first event on (tokens, passwords from the environment).
    pub secrets: Vec<String>,
    /// Command limits and the reconnect window (`Timeouts::from_profile`).
    pub timeouts: Timeouts,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    Json,
    Progress,
    Plain,
}

impl Output {
    /// JSON when asked; bars when stderr is a terminal; plain lines otherwise.
    pub fn choose(json: bool) -> Output {
        if json {
            Output::Json
        } else if std::io::stderr().is_terminal() {
            Output::Progress
        } else {
            Output::Plain
        }
    }
}

/// How long, after Ctrl-C, to wait for hosts to reach a safe stopping point.
const INTERRUPT_GRACE: Duration = Duration::from_secs(3);

/// Runs `op` and returns its exit status. `apply` without `--yes` shows the plan and asks first,
/// or refuses (exit 2) when stdin is not a terminal.
pub fn run(op: Operation, deployment: &Deployment, common: &CommonArgs, yes: bool) -> ExitStatus {
    let output = Output::choose(common.json);
    if op == Operation::Apply && !yes {
        if !std::io::stdin().is_terminal() {
            eprintln!(
                "apply changes the hosts: pass --yes to confirm when running without a terminal"
            );
            return ExitStatus::BadInput;
        }
        let planned = execute(
            Operation::Plan,
            deployment,
            common.concurrency,
            output,
            deployment.timeouts,
        );
        if planned.exit != ExitStatus::Success {
            return planned.exit;
        }
        if !confirm_apply() {
            return ExitStatus::Success;
        }
    }
    execute(
        op,
        deployment,
        common.concurrency,
        output,
        deployment.timeouts,
    )
    .exit
}

/// Asks on the terminal whether to apply the plan just shown; says so when the answer is no.
pub fn confirm_apply() -> bool {
    eprint!("Apply these changes? [y/N] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    let _ = std::io::stdin().lock().read_line(&mut answer);
    let yes = matches!(answer.trim(), "y" | "Y" | "yes");
    if !yes {
        eprintln!("nothing was changed");
    }
    yes
}

/// Runs one operation with its views and run directory. Ctrl-C stops starting new work; hosts in
/// a detached remote step keep it running on the host, and the summary says so. If such a step
/// outlives the grace period the process exits with 130 right after the summary.
pub fn execute(
    op: Operation,
    deployment: &Deployment,
    concurrency: usize,
    output: Output,
    timeouts: Timeouts,
) -> Summary {
    let cancel = Arc::new(AtomicBool::new(false));
    // SIGTERM (a service manager, `kill`, a closing CI job) stops the run as Ctrl-C does: the
    // operator gets the summary of what still runs on the hosts instead of silence.
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        let _ = signal_hook::flag::register(signal, cancel.clone());
    }
    let mut view: Box<dyn View> = match output {
        Output::Json => Box::new(JsonView::new(std::io::stdout())),
        Output::Progress => Box::new(ProgressView::new()),
        Output::Plain => Box::new(PlainView::new(std::io::stderr())),
    };
    let mut rundir = match RunDir::create(deployment.state_dir) {
        Ok(d) => Some(d),
        Err(e) => {
            eprintln!(
                "warning: cannot create a run directory under {}: {e}; the run goes on without logs",
                deployment.state_dir.display()
            );
            None
        }
    };
    let (tx, rx) = channel::<RunEvent>();
    let mut secrets = deployment.secrets.clone();
    secrets.extend(deployment.desired.secret_values());
    let emitter = Emitter::new(tx, Arc::new(Redactor::new(secrets)));
    if let Some(d) = &rundir {
        emitter.emit(EventKind::Notice {
            text: format!("run directory: {}", d.path().display()),
        });
    }
    let consume = |event: &RunEvent, view: &mut Box<dyn View>, rundir: &mut Option<RunDir>| {
        if let Some(d) = rundir {
            if let Err(e) = d.record(event) {
                eprintln!("warning: writing the run log failed: {e}");
                *rundir = None;
            }
        }
        view.event(event);
    };

    std::thread::scope(|scope| {
        let engine_emitter = emitter.clone();
        let cancel_flag: &AtomicBool = &cancel;
        let worker = scope.spawn(move || {
            let engine = Engine {
                desired: deployment.desired,
                renderer: deployment.renderer,
                connector: deployment.connector,
                emit: engine_emitter,
                cancel: cancel_flag,
                concurrency,
                timeouts,
                only: None,
            };
            match op {
                Operation::Check => engine.check(),
                Operation::Plan => engine.plan_only(),
                Operation::Apply => engine.apply(),
                Operation::Status => engine.status(),
            }
        });
        drop(emitter);
        let mut detached: BTreeMap<String, Phase> = BTreeMap::new();
        let mut interrupted_at: Option<Instant> = None;
        loop {
            match rx.recv_timeout(Duration::from_millis(200)) {
                Ok(event) => {
                    track_detached(&event, &mut detached);
                    consume(&event, &mut view, &mut rundir);
                }
                Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => {}
            }
            if cancel.load(Ordering::SeqCst) {
                let at = *interrupted_at.get_or_insert_with(|| {
                    let note = RunEvent {
                        at: std::time::SystemTime::now(),
                        host: None,
                        kind: EventKind::Notice {
                            text: "interrupted: no new work will start; steps already running on hosts keep running there".into(),
                        },
                    };
                    consume(&note, &mut view, &mut rundir);
                    Instant::now()
                });
                if at.elapsed() > INTERRUPT_GRACE && !worker.is_finished() {
                    let summary = interrupted_summary(op, deployment.desired, &detached);
                    let event = RunEvent {
                        at: std::time::SystemTime::now(),
                        host: None,
                        kind: EventKind::RunFinished { summary },
                    };
                    consume(&event, &mut view, &mut rundir);
                    // The engine thread is blocked in a remote step that is meant to outlive us.
                    std::process::exit(ExitStatus::Interrupted.code());
                }
            }
        }
        let mut summary = worker
            .join()
            .unwrap_or_else(|_| Summary::new(op_name(op), ExitStatus::HostFailed, Vec::new()));
        if cancel.load(Ordering::SeqCst) {
            summary.exit = ExitStatus::Interrupted;
            summary.exit_code = ExitStatus::Interrupted.code();
        }
        summary
    })
}

fn op_name(op: Operation) -> &'static str {
    match op {
        Operation::Check => "check",
        Operation::Plan => "plan",
        Operation::Apply => "apply",
        Operation::Status => "status",
    }
}

/// Remembers which hosts are inside a detached step (package, reconfigure, replication).
fn track_detached(event: &RunEvent, active: &mut BTreeMap<String, Phase>) {
    let Some(host) = &event.host else { return };
    match &event.kind {
        EventKind::PhaseStarted {
            phase: p @ (Phase::Package | Phase::Reconfigure | Phase::Replication),
        } => {
            active.insert(host.clone(), *p);
        }
        EventKind::PhaseFinished { .. } | EventKind::HostFinished { .. } => {
            active.remove(host);
        }
        _ => {}
    }
}

fn interrupted_summary(
    op: Operation,
    desired: &Desired,
    detached: &BTreeMap<String, Phase>,
) -> Summary {
    let hosts = desired
        .hosts_in_wave_order()
        .into_iter()
        .map(|h| {
            let still_running = detached.get(&h).map(|p| {
                format!(
                    "{p} (log: {}/{}.log)",
                    crate::engine::phases::facts::STATE_DIR,
                    match p {
                        Phase::Package => "install",
                        other => other.title(),
                    }
                )
            });
            (h, HostOutcome::Interrupted { still_running })
        })
        .collect();
    Summary::new(op_name(op), ExitStatus::Interrupted, hosts)
}

/// The summary as text, for callers that print it themselves.
pub fn summary_text(summary: &Summary) -> String {
    text::summary(summary)
}
