//! The four operations — check, plan, apply, status — as sequences of phases over all hosts.
//!
//! Every operation first surveys (connect + facts, all hosts in parallel). `check` adds the
//! preflight checks; `plan` adds the plan; `apply` refuses to change anything unless every host
//! passed preflight and the secrets agree, then installs and writes files on all hosts in
//! parallel, reconfigures wave by wave (replication after the DB wave), and verifies.

use crate::engine::desired::{Desired, Rendered, Renderer, SECRETS_PATH};
use crate::engine::events::{
    CheckStatus, Emitter, EventKind, ExitStatus, HostOutcome, Phase, Summary,
};
use crate::engine::phases::facts::{self, HostFacts, SCALR_HOME};
use crate::engine::phases::preflight::{self, CheckResult};
use crate::engine::phases::{
    config, connect, package, reconfigure, replication, repository, run_phase, verify, HostCtx,
    Need, PhaseError, Timeouts,
};
use crate::engine::plan::{self, HostPlan};
use crate::engine::remote::{
    quote, Connector, ErrorKind, Output, Remote, RemoteCommand, RemoteError, UploadFile,
};
use crate::engine::scheduler::{
    dependencies, run_parallel, run_waves, HeadStart, Permits, StageOutcomes,
};
use crate::engine::secrets_completion::{writes_secrets, SecretsCompletion, Turn};
use crate::topology::OsId;
use std::collections::BTreeMap;
use std::sync::atomic::AtomicBool;
use std::sync::Mutex;

/// What a run needs besides the desired state.
pub struct Engine<'a> {
    pub desired: &'a Desired,
    pub renderer: &'a dyn Renderer,
    pub connector: &'a dyn Connector,
    /// Run-wide emitter; per-host emitters derive from it.
    pub emit: Emitter,
    pub cancel: &'a AtomicBool,
    /// Hosts worked on at once; 0 means all.
    pub concurrency: usize,
    pub timeouts: Timeouts,
    /// Act only on these hosts (a retry of the failed ones); `None`: every host.
    pub only: Option<std::collections::BTreeSet<String>>,
}

/// A host reached and surveyed.
struct Surveyed {
    remote: Box<dyn Remote>,
    facts: HostFacts,
    sudo: CheckResult,
}

type Sessions = Mutex<BTreeMap<String, Surveyed>>;

impl Engine<'_> {
    fn concurrency(&self) -> usize {
        if self.concurrency == 0 {
            self.desired.hosts.len().max(1)
        } else {
            self.concurrency
        }
    }

    /// The hosts this run acts on, in wave order (all, or the retried subset).
    fn hosts(&self) -> Vec<String> {
        self.desired
            .hosts_in_wave_order()
            .into_iter()
            .filter(|h| self.only.as_ref().is_none_or(|only| only.contains(h)))
            .collect()
    }

    fn waves(&self) -> Vec<Vec<String>> {
        let hosts = self.hosts();
        self.desired
            .waves
            .iter()
            .map(|w| {
                w.iter()
                    .filter(|h| hosts.contains(h))
                    .cloned()
                    .collect::<Vec<_>>()
            })
            .filter(|w| !w.is_empty())
            .collect()
    }

    /// Emits `WaveStarted` once per wave, when its first host starts reconfiguring.
    fn announce_wave(&self, announced: &Mutex<std::collections::BTreeSet<usize>>, host: &str) {
        let waves = self.waves();
        let Some(index) = waves.iter().position(|w| w.iter().any(|h| h == host)) else {
            return;
        };
        if announced.lock().unwrap().insert(index) {
            self.emit.emit(EventKind::WaveStarted {
                index,
                hosts: waves[index].clone(),
            });
        }
    }

    fn start(&self, command: &str) {
        self.emit.emit(EventKind::RunStarted {
            command: command.into(),
            hosts: self.hosts(),
            waves: self.waves(),
        });
    }

    fn finish(
        &self,
        command: &str,
        outcomes: &BTreeMap<String, HostOutcome>,
        reconfigure_order: Vec<String>,
    ) -> Summary {
        self.finish_with(command, outcomes, reconfigure_order, false)
    }

    /// `blocked`: the run stopped before changing anything; the summary (the event and the
    /// returned value alike) says exit 3, whatever the hosts' outcomes.
    fn finish_with(
        &self,
        command: &str,
        outcomes: &BTreeMap<String, HostOutcome>,
        reconfigure_order: Vec<String>,
        blocked: bool,
    ) -> Summary {
        let hosts: Vec<(String, HostOutcome)> = self
            .hosts()
            .into_iter()
            .map(|h| {
                let o = outcomes
                    .get(&h)
                    .cloned()
                    .unwrap_or(HostOutcome::NotAttempted {
                        why: "the run stopped before reaching this host".into(),
                    });
                (h, o)
            })
            .collect();
        for (h, o) in &hosts {
            self.emit
                .for_host(h)
                .emit(EventKind::HostFinished { outcome: o.clone() });
        }
        let mut exit = exit_status(outcomes, false);
        if blocked && exit != ExitStatus::Interrupted {
            exit = ExitStatus::PreflightBlocked;
        }
        let mut summary = Summary::new(command, exit, hosts);
        summary.reconfigure_order = reconfigure_order;
        self.emit.emit(EventKind::RunFinished {
            summary: summary.clone(),
        });
        summary
    }

    fn finish_blocked(&self, command: &str, outcomes: &BTreeMap<String, HostOutcome>) -> Summary {
        self.finish_with(command, outcomes, Vec::new(), true)
    }

    /// Connect and facts on every host. Returns the sessions and the hosts that failed.
    /// `probing`: the preflight follows, so a host without the package probes its peers with
    /// its facts (`status` has no preflight, and probes nothing).
    fn survey(&self, probing: bool) -> (Sessions, BTreeMap<String, HostOutcome>) {
        let sessions: Sessions = Mutex::new(BTreeMap::new());
        let outcomes = run_parallel(&self.hosts(), self.concurrency(), self.cancel, |host| {
            let emit = self.emit.for_host(host);
            let mut remote: Option<Box<dyn Remote>> = None;
            let connected = run_phase(&emit, Phase::Connect, Need::Run, || {
                remote = Some(
                    connect::connect_reporting_retries(
                        self.connector,
                        host,
                        &connect::BACKOFF,
                        &mut |e, pause| {
                            emit.emit(EventKind::Notice {
                                text: format!(
                                    "retrying in {} s: {}",
                                    pause.as_secs_f64(),
                                    e.message
                                ),
                            })
                        },
                    )
                    .map_err(|e| PhaseError::new(e.message))?,
                );
                Ok(())
            });
            if let Err(o) = connected {
                return o;
            }
            let remote = remote.expect("connected");
            let mut gathered: Option<(HostFacts, CheckResult)> = None;
            let facts_phase = run_phase(&emit, Phase::Facts, Need::Run, || {
                // The facts script runs as root and reports its uid: it is the sudo check too.
                // Only a fatal error (a refused sudo, a script that cannot run) is a sudo
                // problem; a dropped connection or a timeout is reported as what it is.
                let paths = self.paths_for(host);
                let peers = if probing {
                    self.peers_of(host)
                } else {
                    Vec::new()
                };
                let f = facts::gather(remote.as_ref(), &paths, SECRETS_PATH, &peers);
                let uid = match &f {
                    Ok(f) => Ok(f.uid),
                    Err(e) if e.kind == ErrorKind::Fatal => Err(e.message.clone()),
                    Err(e) => {
                        return Err(PhaseError::new(format!(
                            "reading facts on {host}: {}",
                            e.message
                        )))
                    }
                };
                let sudo = preflight::check_sudo(&uid, "the login user");
                if sudo.status == CheckStatus::Fail {
                    emit.emit(check_event(&sudo));
                    return Err(PhaseError::new(format!(
                        "cannot become root on {host}: {}; {}",
                        sudo.detail,
                        sudo.fix.clone().unwrap_or_default()
                    )));
                }
                let f = f.expect("a fact-gathering error fails the sudo check");
                gathered = Some((f, sudo));
                Ok(())
            });
            if let Err(o) = facts_phase {
                return o;
            }
            let (facts, sudo) = gathered.expect("facts gathered");
            sessions.lock().unwrap().insert(
                host.to_string(),
                Surveyed {
                    remote,
                    facts,
                    sudo,
                },
            );
            HostOutcome::Succeeded
        });
        let failed = outcomes
            .into_iter()
            .filter(|(_, o)| !matches!(o, HostOutcome::Succeeded))
            .collect();
        (sessions, failed)
    }

    /// The other hosts' ports `host` will need, each once (as `ports` lists them).
    fn peers_of(&self, host: &str) -> Vec<(String, u16)> {
        let Some(desired) = self.desired.host(host) else {
            return Vec::new();
        };
        desired
            .needs
            .iter()
            .map(|n| (n.address.clone(), n.port))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect()
    }

    /// The peer check from a probe command of its own (a host whose facts did not probe).
    fn probe_peers(
        &self,
        s: &Surveyed,
        host: &str,
        peers: &[(String, u16)],
        names: &BTreeMap<String, String>,
    ) -> CheckResult {
        let cmd = RemoteCommand::root(
            preflight::probe_script(peers, facts::PEER_PROBE_TIMEOUT_SECS),
            self.timeouts.command,
        );
        match s.remote.run(&cmd, &mut |_| {}) {
            Ok(out) => preflight::check_peers(host, &preflight::parse_probes(&out.stdout), names),
            Err(e) => CheckResult {
                name: "peers".into(),
                status: CheckStatus::Warn,
                detail: format!("could not probe the other hosts: {e}"),
                fix: Some("check that bash and timeout exist on the host".into()),
            },
        }
    }

    /// Our files on `host`, plus the package repository file (so its hash is known).
    fn paths_for(&self, host: &str) -> Vec<String> {
        let mut paths = self.renderer.paths(host);
        if !paths.iter().any(|p| p == SECRETS_PATH) {
            paths.push(SECRETS_PATH.into());
        }
        for os in OsId::ALL {
            if let Some(p) = repository::repo_path(os, &self.desired.package) {
                if !paths.contains(&p) {
                    paths.push(p);
                }
            }
        }
        paths
    }

    /// Preflight over surveyed hosts: per-host checks, clocks, and (with `probe_peers`) the
    /// peers' ports. Emits a Check per result.
    fn preflight(
        &self,
        sessions: &Sessions,
        probe_peers: bool,
    ) -> BTreeMap<String, Vec<CheckResult>> {
        let offsets: BTreeMap<String, Option<i64>> = sessions
            .lock()
            .unwrap()
            .iter()
            .map(|(h, s)| (h.clone(), s.facts.clock_offset_secs))
            .collect();
        let clocks = preflight::check_clocks(&offsets);
        let names: BTreeMap<String, String> = self
            .desired
            .hosts
            .iter()
            .map(|h| (h.private_address.clone(), h.name.clone()))
            .collect();
        let results = Mutex::new(BTreeMap::new());
        let surveyed: Vec<String> = offsets.keys().cloned().collect();
        run_parallel(&surveyed, self.concurrency(), self.cancel, |host| {
            let Some(desired) = self.desired.host(host) else {
                return HostOutcome::Succeeded;
            };
            let emit = self.emit.for_host(host);
            let s = sessions
                .lock()
                .unwrap()
                .remove(host)
                .expect("surveyed host");
            let mut checks = vec![s.sudo.clone()];
            checks.extend(preflight::check_host(desired, &s.facts));
            if let Some(c) = clocks.get(host) {
                checks.push(c.clone());
            }
            // Each host probes the peers' ports it will need (as `ports` lists them). Before the
            // install nothing listens there: a refusal proves the peer answers, only a timeout
            // (a firewall dropping, no route) blocks. Probing every peer's SSH port instead made
            // every sshd fork for every other host, quadratic in the fleet. A host without the
            // package probed already, with its facts.
            match (probe_peers, &s.facts.peer_probes) {
                (false, _) => {}
                (true, Some(probed)) => checks.push(preflight::check_peers(
                    host,
                    &preflight::parse_probes(probed),
                    &names,
                )),
                (true, None) => {
                    let peers = self.peers_of(host);
                    if !peers.is_empty() {
                        checks.push(self.probe_peers(&s, host, &peers, &names));
                    }
                }
            }
            emit.emit(EventKind::PhaseStarted {
                phase: Phase::Preflight,
            });
            for c in &checks {
                emit.emit(check_event(c));
            }
            let blocked = preflight::blocks(&checks);
            emit.emit(EventKind::PhaseFinished {
                phase: Phase::Preflight,
                outcome: if blocked {
                    crate::engine::events::PhaseOutcome::Failed {
                        error: "preflight found problems that block the install".into(),
                    }
                } else {
                    crate::engine::events::PhaseOutcome::Done
                },
                elapsed_ms: 0,
            });
            sessions.lock().unwrap().insert(host.to_string(), s);
            results.lock().unwrap().insert(host.to_string(), checks);
            HostOutcome::Succeeded
        });
        results.into_inner().unwrap()
    }

    /// Adopts secrets found on the hosts, renders, and registers every secret with the redactor.
    fn render(&self, sessions: &Sessions) -> Result<Rendered, String> {
        let found: Vec<(String, Option<facts::SecretBytes>)> = sessions
            .lock()
            .unwrap()
            .iter()
            .map(|(h, s)| (h.clone(), s.facts.secrets_file.clone()))
            .collect();
        for (_, s) in &found {
            if let Some(bytes) = s {
                register_json_secrets(&self.emit, &bytes.0);
            }
        }
        let adopted = plan::adopt_secrets(&found).map_err(|e| e.to_string())?;
        if adopted.is_some() {
            let holders: Vec<&str> = found
                .iter()
                .filter(|(_, s)| s.is_some())
                .map(|(h, _)| h.as_str())
                .collect();
            self.emit.emit(EventKind::Notice {
                text: format!(
                    "adopting the secrets file already on {}",
                    holders.join(", ")
                ),
            });
        }
        let rendered = self.renderer.render(adopted.as_deref())?;
        for s in &rendered.secret_values {
            self.emit.add_secret(s);
        }
        for (_, files) in &rendered.files {
            for f in files.iter().filter(|f| f.secret) {
                register_json_secrets(&self.emit, &f.contents);
            }
        }
        Ok(rendered)
    }

    /// Whether this run will change any host, judged from the facts alone (no diffs are read).
    /// When it will not, preflight does not probe the peers' ports: verify probes the same
    /// ports after the run and demands more (open, not merely reachable), and on a fleet each
    /// probe pass is quadratic in the hosts. Unknown (no render) counts as a change.
    fn anything_to_change(&self, sessions: &Sessions, rendered: Option<&Rendered>) -> bool {
        let Some(rendered) = rendered else {
            return true;
        };
        let guard = sessions.lock().unwrap();
        let replication_pending = self.desired.db_slave().is_some()
            && self
                .desired
                .db_master()
                .and_then(|m| guard.get(&m.name))
                .is_none_or(|s| !s.facts.markers.replication_done);
        let changes = replication_pending
            || self.hosts().iter().any(|host| {
                let Some(s) = guard.get(host) else {
                    return true;
                };
                plan::plan_host(
                    host,
                    rendered.files_for(host),
                    &s.facts,
                    &BTreeMap::new(),
                    self.desired.version.as_deref(),
                )
                .map_or(true, |p| !p.changes().is_empty())
            });
        if !changes {
            self.emit.emit(EventKind::Notice {
                text: "nothing to change on any host: the peers' ports are probed once, after the run, by verify".into(),
            });
        }
        changes
    }

    /// Plans every surveyed host; emits `Planned`.
    fn plan(
        &self,
        sessions: &Sessions,
        rendered: &Rendered,
    ) -> Result<Vec<HostPlan>, BTreeMap<String, HostOutcome>> {
        let mut plans = Vec::new();
        let mut failed = BTreeMap::new();
        let guard = sessions.lock().unwrap();
        for host in self.hosts() {
            let Some(s) = guard.get(&host) else { continue };
            let files = rendered.files_for(&host);
            let mut current = BTreeMap::new();
            for f in files {
                let differs =
                    s.facts.file_hashes.get(&f.path) != Some(&plan::sha256_hex(&f.contents));
                if differs && s.facts.file_hashes.contains_key(&f.path) {
                    if let Ok(Some(bytes)) = s.remote.read_file(&f.path) {
                        current.insert(f.path.clone(), bytes);
                    }
                }
            }
            match plan::plan_host(
                &host,
                files,
                &s.facts,
                &current,
                self.desired.version.as_deref(),
            ) {
                Ok(p) => {
                    self.emit.for_host(&host).emit(EventKind::Planned {
                        changes: p.changes(),
                    });
                    plans.push(p);
                }
                Err(e) => {
                    failed.insert(
                        host.clone(),
                        HostOutcome::Failed {
                            phase: Phase::Preflight,
                            error: e.to_string(),
                            remote_log: None,
                            last_lines: vec![],
                        },
                    );
                }
            }
        }
        if failed.is_empty() {
            Ok(plans)
        } else {
            Err(failed)
        }
    }

    pub fn check(&self) -> Summary {
        self.start("check");
        let (sessions, mut outcomes) = self.survey(true);
        let checks = self.preflight(&sessions, true);
        for (host, c) in &checks {
            outcomes.insert(
                host.clone(),
                if preflight::blocks(c) {
                    blocked_outcome(c)
                } else {
                    HostOutcome::Succeeded
                },
            );
        }
        let blocked = outcomes
            .values()
            .any(|o| !matches!(o, HostOutcome::Succeeded));
        if blocked {
            self.finish_blocked("check", &outcomes)
        } else {
            self.finish("check", &outcomes, vec![])
        }
    }

    pub fn plan_only(&self) -> Summary {
        self.start("plan");
        let (sessions, mut outcomes) = self.survey(true);
        let rendered = self.render(&sessions);
        let probe_peers = self.anything_to_change(&sessions, rendered.as_ref().ok());
        let checks = self.preflight(&sessions, probe_peers);
        for (host, c) in &checks {
            if preflight::blocks(c) {
                outcomes.insert(host.clone(), blocked_outcome(c));
            }
        }
        let rendered = match rendered {
            Ok(r) => r,
            Err(e) => return self.block_all("plan", &sessions, outcomes, &e),
        };
        match self.plan(&sessions, &rendered) {
            Ok(plans) => {
                for p in &plans {
                    outcomes
                        .entry(p.host.clone())
                        .or_insert(HostOutcome::Succeeded);
                }
                let order = plan::reconfigure_order(&self.waves(), &plans);
                if outcomes
                    .values()
                    .any(|o| !matches!(o, HostOutcome::Succeeded))
                {
                    let mut s = self.finish_blocked("plan", &outcomes);
                    s.reconfigure_order = order;
                    s
                } else {
                    self.finish("plan", &outcomes, order)
                }
            }
            Err(failed) => {
                outcomes.extend(failed);
                self.finish_blocked("plan", &outcomes)
            }
        }
    }

    fn block_all(
        &self,
        command: &str,
        sessions: &Sessions,
        mut outcomes: BTreeMap<String, HostOutcome>,
        error: &str,
    ) -> Summary {
        self.emit.emit(EventKind::Notice {
            text: error.to_string(),
        });
        for host in sessions.lock().unwrap().keys() {
            outcomes
                .entry(host.clone())
                .or_insert(HostOutcome::NotAttempted {
                    why: error.to_string(),
                });
        }
        self.finish_blocked(command, &outcomes)
    }

    pub fn apply(&self) -> Summary {
        self.start("apply");
        let (sessions, mut outcomes) = self.survey(true);
        let rendered = self.render(&sessions);
        let probe_peers = self.anything_to_change(&sessions, rendered.as_ref().ok());
        let checks = self.preflight(&sessions, probe_peers);
        for (host, c) in &checks {
            if preflight::blocks(c) {
                outcomes.insert(host.clone(), blocked_outcome(c));
            }
        }
        if !outcomes.is_empty() {
            let why = "nothing was changed: another host failed its checks; fix the problems above, then re-run";
            return self.block_all("apply", &sessions, outcomes, why);
        }
        let rendered = match rendered {
            Ok(r) => r,
            Err(e) => return self.block_all("apply", &sessions, outcomes, &e),
        };
        let plans = match self.plan(&sessions, &rendered) {
            Ok(p) => p,
            Err(failed) => {
                outcomes.extend(failed);
                return self.block_all(
                    "apply",
                    &sessions,
                    outcomes,
                    "nothing was changed: a host cannot be planned",
                );
            }
        };
        let order = plan::reconfigure_order(&self.desired.waves, &plans);

        // Repository, package and files on every host at once, while the waves start: a wave
        // waits only for its own hosts, so the database master reconfigures while the app
        // servers are still installing. The permits keep `--concurrency` across both.
        let waves = self.waves();
        let everyone_at_once = self.concurrency() >= self.hosts().len();
        let first_wave: std::collections::BTreeSet<String> = match waves.first() {
            Some(w) if everyone_at_once => w.iter().cloned().collect(),
            _ => Default::default(),
        };
        let head_start = HeadStart::new(first_wave.clone());
        let completion = SecretsCompletion::new(writes_secrets(&plans), first_wave);
        let permits = Permits::new(self.concurrency());
        let prepared = StageOutcomes::new();
        let plan_of = |h: &str| plans.iter().find(|p| p.host == h).expect("planned host");

        // Reconfigure wave by wave; replication once master and slave are done.
        let master = self.desired.db_master().map(|h| h.name.clone());
        let slave = self.desired.db_slave();
        let mut replication_failure: Option<(String, HostOutcome)> = None;
        let deps = dependencies(self.desired);
        let announced = Mutex::new(std::collections::BTreeSet::new());
        // A host's preparation outcome frees the secrets claim it may have been kept for (see
        // SecretsCompletion) and lets its wave start.
        let prepared_host = |host: &str, outcome: &HostOutcome| {
            if !matches!(outcome, HostOutcome::Succeeded) {
                completion.withdraw(host);
            }
            prepared.record(host, outcome.clone());
        };
        let reconfigured = std::thread::scope(|scope| {
            scope.spawn(|| {
                let _closing = prepared.closing();
                let outcomes =
                    run_parallel(&self.hosts(), self.concurrency(), self.cancel, |host| {
                        let _permit = permits.acquire();
                        let outcome = self.with_host(&sessions, host, |ctx, s| {
                            self.prepare(ctx, s, plan_of(host), &rendered, &completion, &head_start)
                        });
                        prepared_host(host, &outcome);
                        outcome
                    });
                // Hosts a cancel kept from starting have their outcome only now.
                for (host, outcome) in &outcomes {
                    prepared_host(host, outcome);
                }
            });
            // Hosts of later waves wait to upload until the first wave is under way; however
            // the waves end (even by a panic), they are released.
            let _under_way = completion.under_way_on_drop();
            run_waves(
                &waves,
                &deps,
                self.concurrency(),
                self.cancel,
                &prepared,
                |host| {
                    let _permit = permits.acquire();
                    self.announce_wave(&announced, host);
                    self.with_host(&sessions, host, |ctx, s| {
                        let p = plan_of(host);
                        let os = s.facts.os.id.expect("supported OS");
                        let digest = completion
                            .completed()
                            .map(|r| plan::config_digest(r.files_for(host)))
                            .unwrap_or_else(|| p.config_digest.clone());
                        run_phase(
                            &ctx.emit,
                            Phase::Reconfigure,
                            reconfigure::need(&p.reconfigure),
                            || {
                                reconfigure::run(
                                    ctx,
                                    os,
                                    &digest,
                                    s.facts.markers.reconfigure_steps,
                                    // Only a first-wave host can get here before the first
                                    // wave ends (which releases them anyway).
                                    &|| completion.first_wave_under_way(),
                                )
                            },
                        )
                    })
                },
                |index, so_far| {
                    if index == 0 {
                        // The first wave ran, failed or was skipped: nothing left to wait for.
                        completion.first_wave_under_way();
                    }
                    let (Some(m), Some(sl)) = (&master, slave) else {
                        return vec![];
                    };
                    let both_done = matches!(so_far.get(m), Some(HostOutcome::Succeeded))
                        && matches!(so_far.get(&sl.name), Some(HostOutcome::Succeeded));
                    if !both_done || replication_failure.is_some() {
                        return vec![];
                    }
                    let already = sessions
                        .lock()
                        .unwrap()
                        .get(m)
                        .is_some_and(|s| s.facts.markers.replication_done);
                    let _permit = permits.acquire();
                    let outcome = self.with_host(&sessions, m, |ctx, _| {
                        run_phase(
                            &ctx.emit,
                            Phase::Replication,
                            replication::need(true, already),
                            || replication::run(ctx, &sl.private_address),
                        )
                    });
                    // Mark replication as handled so later waves do not retry it.
                    replication_failure = Some((m.clone(), outcome));
                    vec![]
                },
            )
        });

        let verify_hosts: Vec<String> = self
            .hosts()
            .into_iter()
            .filter(|h| matches!(reconfigured.get(h), Some(HostOutcome::Succeeded)))
            .collect();
        let verified = run_parallel(&verify_hosts, self.concurrency(), self.cancel, |host| {
            self.with_host(&sessions, host, |ctx, _| {
                run_phase(&ctx.emit, Phase::Verify, Need::Run, || {
                    let checks = verify::run(ctx)?;
                    let failing: Vec<String> = checks
                        .iter()
                        .filter(|c| c.status == CheckStatus::Fail)
                        .map(|c| format!("{}: {}", c.name, c.detail))
                        .collect();
                    if failing.is_empty() {
                        Ok(())
                    } else {
                        Err(PhaseError::new(format!(
                            "verification failed on {host}: {}",
                            failing.join("; ")
                        )))
                    }
                })
            })
        });

        let mut final_outcomes = reconfigured;
        final_outcomes.extend(verified);
        if let Some((m, o @ HostOutcome::Failed { .. })) = replication_failure {
            final_outcomes.insert(m, o);
        }
        self.finish("apply", &final_outcomes, order)
    }

    /// Repository, package and files on one host, then its part in completing the secrets.
    fn prepare(
        &self,
        ctx: &HostCtx,
        s: &Surveyed,
        p: &HostPlan,
        rendered: &Rendered,
        completion: &SecretsCompletion,
        head_start: &HeadStart,
    ) -> Result<(), HostOutcome> {
        let os = s.facts.os.id.expect("preflight passed: supported OS");
        if !head_start.leads(&p.host) {
            head_start.wait(self.cancel);
            interrupted(ctx)?;
        }
        let _head_start_over = head_start.ending_on_drop(&p.host);
        run_phase(
            &ctx.emit,
            Phase::Repository,
            repository::need(&self.desired.package, &p.package),
            || repository::run(ctx, os, &s.facts),
        )?;
        interrupted(ctx)?;
        run_phase(&ctx.emit, Phase::Package, package::need(&p.package), || {
            package::run(ctx, os, p.package.as_ref().expect("needed"), &mut || {
                head_start.end(&p.host)
            })
        })?;
        interrupted(ctx)?;
        // Completed secrets go out in this one upload when they exist by now (or soon, when a
        // first-wave host is completing them).
        completion.wait_unless_first_wave(&p.host);
        interrupted(ctx)?;
        let completed = completion.completed();
        let files = completed.unwrap_or(rendered).files_for(&p.host);
        let need = config::need(&p.files);
        // The host that completes the secrets does it in its config upload's own command: on
        // the first wave's host, between its install and its reconfigure, that is a round trip
        // less on the path every other host waits on.
        let completing = match (&need, completed) {
            (Need::Run, None) => completion.try_claim(&p.host),
            _ => None,
        };
        if let Some(claim) = completing {
            let then = rendered
                .file(&p.host, SECRETS_PATH)
                .map(|_| self.completion_command());
            let mut follow_up = None;
            let wrote = run_phase(&ctx.emit, Phase::Config, need, || {
                follow_up = config::run(ctx, files, &p.files, then.as_ref())?;
                Ok(())
            });
            return match wrote {
                Ok(()) => {
                    claim.publish(
                        follow_up.and_then(|out| self.read_completion(ctx, rendered, Ok(out))),
                    );
                    Ok(())
                }
                Err(outcome) => {
                    claim.release(&p.host);
                    Err(outcome)
                }
            };
        }
        run_phase(&ctx.emit, Phase::Config, need, || {
            config::run(ctx, files, &p.files, None).map(|_| ())
        })?;
        let wrote_completed = completed.is_some() && p.files.iter().any(|f| f.path == SECRETS_PATH);
        self.settle_secrets(ctx, rendered, completion, wrote_completed)
    }

    /// Runs on each host once its files are written. One host completes the secrets file (see
    /// [`SecretsCompletion`]: a first-wave host when it can); every other host waits for that
    /// and receives the completed file, unless its config upload already carried it.
    fn settle_secrets(
        &self,
        ctx: &HostCtx,
        rendered: &Rendered,
        completion: &SecretsCompletion,
        wrote_completed: bool,
    ) -> Result<(), HostOutcome> {
        let host = ctx.host.name.as_str();
        interrupted(ctx)?;
        let completed = match completion.claim_or_wait(host) {
            Turn::Complete(claim) => {
                claim.publish(self.complete_on(ctx, rendered));
                return Ok(());
            }
            Turn::Done(None) => return Ok(()),
            Turn::Done(Some(completed)) => completed,
        };
        if wrote_completed {
            return Ok(());
        }
        let Some(file) = completed.file(host, SECRETS_PATH) else {
            return Ok(());
        };
        ctx.remote
            .upload_files(&[], &[UploadFile::from(file)])
            .map(|_| ())
            .map_err(|e| HostOutcome::Failed {
                phase: Phase::Config,
                error: format!("writing the completed secrets file on {host}: {e}"),
                remote_log: None,
                last_lines: Vec::new(),
            })
    }

    /// Completes the secrets file on this host with a command of its own (see
    /// [`completion_script`]); used when the host had no files to write, which would have
    /// carried it.
    fn complete_on(&self, ctx: &HostCtx, rendered: &Rendered) -> Option<Rendered> {
        rendered.file(&ctx.host.name, SECRETS_PATH)?;
        let result = ctx.remote.run(&self.completion_command(), &mut |_| {});
        self.read_completion(ctx, rendered, result)
    }

    /// Completes the secrets file on a host and prints it (see [`completion_script`]): a
    /// chef-solo run on a real host, given minutes.
    fn completion_command(&self) -> RemoteCommand {
        RemoteCommand::root(
            completion_script(),
            self.timeouts
                .command
                .max(std::time::Duration::from_secs(600)),
        )
    }

    /// What a completion printed: every host's files rendered with the completed secrets.
    /// `None`: nothing to complete, or completing failed (said in a notice; each host's
    /// reconfigure then completes its own file, as the package does without us).
    fn read_completion(
        &self,
        ctx: &HostCtx,
        rendered: &Rendered,
        result: Result<Output, RemoteError>,
    ) -> Option<Rendered> {
        let host = ctx.host.name.as_str();
        let ours = rendered.file(host, SECRETS_PATH)?;
        let completed = match result {
            Ok(out) if out.success() => out.stdout.into_bytes(),
            Ok(out) => {
                self.emit.emit(EventKind::Notice {
                    text: format!(
                        "completing the secrets file with scalr-server-ctl show-attributes failed on {host} (exit {}): {}; each host's reconfigure completes its own secrets file",
                        out.exit_code,
                        out.stderr.trim()
                    ),
                });
                return None;
            }
            Err(e) => {
                self.emit.emit(EventKind::Notice {
                    text: format!("could not complete the secrets file on {host}: {e}"),
                });
                return None;
            }
        };
        if completed == ours.contents {
            return None;
        }
        register_json_secrets(&self.emit, &completed);
        match self.renderer.render(Some(&completed)) {
            Ok(r) => {
                self.emit.emit(EventKind::Notice {
                    text: format!(
                        "{host} completed the secrets file (the package adds its TLS keys); every host receives that file"
                    ),
                });
                Some(r)
            }
            Err(e) => {
                self.emit.emit(EventKind::Notice {
                    text: format!("the secrets file completed on {host} cannot be used: {e}"),
                });
                None
            }
        }
    }

    pub fn status(&self) -> Summary {
        self.start("status");
        let (sessions, mut outcomes) = self.survey(false);
        let rendered = self.render(&sessions);
        let hosts: Vec<String> = sessions.lock().unwrap().keys().cloned().collect();
        let results = run_parallel(&hosts, self.concurrency(), self.cancel, |host| {
            self.with_host(&sessions, host, |ctx, s| {
                let emit = &ctx.emit;
                emit.emit(check_event(&CheckResult {
                    name: "version".into(),
                    status: if s.facts.installed_version.is_some() {
                        CheckStatus::Pass
                    } else {
                        CheckStatus::Warn
                    },
                    detail: s
                        .facts
                        .installed_version
                        .clone()
                        .map(|v| format!("scalr-server {v}"))
                        .unwrap_or_else(|| "scalr-server is not installed".into()),
                    fix: s
                        .facts
                        .installed_version
                        .is_none()
                        .then(|| "run apply".to_string()),
                }));
                let out = ctx.remote.run(
                    &RemoteCommand::root(verify::status_command(), self.timeouts.command),
                    &mut |_| {},
                );
                let services = match out {
                    Ok(o) => verify::services_check(&o.stdout, o.exit_code),
                    Err(e) => CheckResult {
                        name: "services".into(),
                        status: CheckStatus::Fail,
                        detail: e.message,
                        fix: None,
                    },
                };
                emit.emit(check_event(&services));
                let drift = match &rendered {
                    Ok(r) => {
                        let drifted: Vec<String> = r
                            .files_for(host)
                            .iter()
                            .filter(|f| {
                                s.facts.file_hashes.get(&f.path)
                                    != Some(&plan::sha256_hex(&f.contents))
                            })
                            .map(|f| f.path.clone())
                            .collect();
                        if drifted.is_empty() {
                            CheckResult {
                                name: "drift".into(),
                                status: CheckStatus::Pass,
                                detail: "files match the profile".into(),
                                fix: None,
                            }
                        } else {
                            CheckResult {
                                name: "drift".into(),
                                status: CheckStatus::Warn,
                                detail: format!("differ from the profile: {}", drifted.join(", ")),
                                fix: Some(
                                    "run `plan` to see the differences and `apply` to converge"
                                        .into(),
                                ),
                            }
                        }
                    }
                    Err(e) => CheckResult {
                        name: "drift".into(),
                        status: CheckStatus::Fail,
                        detail: e.clone(),
                        fix: None,
                    },
                };
                emit.emit(check_event(&drift));
                Ok(())
            })
        });
        outcomes.extend(results);
        self.finish("status", &outcomes, vec![])
    }

    /// Lends a surveyed host's session to `body` and returns it after.
    fn with_host<F>(&self, sessions: &Sessions, host: &str, body: F) -> HostOutcome
    where
        F: FnOnce(&HostCtx, &Surveyed) -> Result<(), HostOutcome>,
    {
        let Some(s) = sessions.lock().unwrap().remove(host) else {
            return HostOutcome::NotAttempted {
                why: "the host was not reached".into(),
            };
        };
        let Some(desired) = self.desired.host(host) else {
            sessions.lock().unwrap().insert(host.to_string(), s);
            return HostOutcome::NotAttempted {
                why: "the host is not in the profile".into(),
            };
        };
        let ctx = HostCtx {
            host: desired,
            deployment: self.desired,
            remote: s.remote.as_ref(),
            emit: self.emit.for_host(host),
            cancel: self.cancel,
            timeouts: self.timeouts,
        };
        let result = body(&ctx, &s);
        drop(ctx);
        sessions.lock().unwrap().insert(host.to_string(), s);
        match result {
            Ok(()) => HostOutcome::Succeeded,
            Err(o) => o,
        }
    }
}

/// Completes the secrets file on a host (`scalr-server-ctl show-attributes`, which leaves the
/// completed file in place there) and prints it. It runs on the first wave's host between its
/// install and its reconfigure, where every round trip delays the whole fleet; the file arrives
/// on the command's stdout, which nothing records.
fn completion_script() -> String {
    format!(
        "{SCALR_HOME}/bin/scalr-server-ctl show-attributes >/dev/null && cat -- {}",
        quote(SECRETS_PATH)
    )
}

fn interrupted(ctx: &HostCtx) -> Result<(), HostOutcome> {
    if ctx.cancelled() {
        Err(HostOutcome::Interrupted {
            still_running: None,
        })
    } else {
        Ok(())
    }
}

fn check_event(c: &CheckResult) -> EventKind {
    EventKind::Check {
        name: c.name.clone(),
        status: c.status,
        detail: c.detail.clone(),
        fix: c.fix.clone(),
    }
}

fn blocked_outcome(checks: &[CheckResult]) -> HostOutcome {
    let failing: Vec<String> = checks
        .iter()
        .filter(|c| c.status == CheckStatus::Fail)
        .map(|c| format!("{}: {}", c.name, c.detail))
        .collect();
    HostOutcome::Failed {
        phase: Phase::Preflight,
        error: failing.join("; "),
        remote_log: None,
        last_lines: vec![],
    }
}

/// Every string value of a JSON secrets file is a secret.
fn register_json_secrets(emit: &Emitter, bytes: &[u8]) {
    fn walk(v: &serde_json::Value, emit: &Emitter) {
        match v {
            serde_json::Value::String(s) => emit.add_secret(s),
            serde_json::Value::Array(a) => a.iter().for_each(|v| walk(v, emit)),
            serde_json::Value::Object(o) => o.values().for_each(|v| walk(v, emit)),
            _ => {}
        }
    }
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(bytes) {
        walk(&v, emit);
    }
}

/// 0 when every host succeeded; 130 when interrupted; 1 when some host failed.
pub fn exit_status(outcomes: &BTreeMap<String, HostOutcome>, _blocked: bool) -> ExitStatus {
    if outcomes
        .values()
        .any(|o| matches!(o, HostOutcome::Interrupted { .. }))
    {
        ExitStatus::Interrupted
    } else if outcomes
        .values()
        .all(|o| matches!(o, HostOutcome::Succeeded))
    {
        ExitStatus::Success
    } else {
        ExitStatus::HostFailed
    }
}
