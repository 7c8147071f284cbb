//! Runs work across hosts: all hosts of a stage in parallel with a sliding window of
//! `--concurrency` threads (one thread per host at a time, each with its own session), and waves
//! in order, where a failed host stops only the later hosts that depend on it.
//!
//! Dependencies come from what each host serves: the DB slave needs the DB master; everything
//! running the app (app servers, the worker) needs the DB master; the app servers need the worker
//! (the first app node creates the schema) and RabbitMQ; proxies need the app and RabbitMQ.

use crate::engine::desired::{DbRole, Desired};
use crate::engine::events::HostOutcome;
use crate::topology::Module;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex};

/// Which modules a host running `module` relies on elsewhere.
fn relies_on(module: Module) -> &'static [Module] {
    match module {
        Module::App => &[
            Module::MainDb,
            Module::AnalyticsDb,
            Module::Worker,
            Module::Rabbitmq,
        ],
        Module::Worker => &[Module::MainDb, Module::AnalyticsDb, Module::Rabbitmq],
        Module::Proxy => &[Module::App, Module::Rabbitmq, Module::Worker],
        Module::Session | Module::Rabbitmq | Module::Influxdb => &[],
        Module::MainDb | Module::AnalyticsDb => &[],
    }
}

/// For each host, the hosts in earlier waves it depends on.
pub fn dependencies(desired: &Desired) -> BTreeMap<String, BTreeSet<String>> {
    let wave_of: BTreeMap<&str, usize> = desired
        .waves
        .iter()
        .enumerate()
        .flat_map(|(i, w)| w.iter().map(move |h| (h.as_str(), i)))
        .collect();
    let mut deps = BTreeMap::new();
    for host in &desired.hosts {
        let my_wave = wave_of
            .get(host.name.as_str())
            .copied()
            .unwrap_or(usize::MAX);
        let mut mine = BTreeSet::new();
        for provider in &desired.hosts {
            if provider.name == host.name {
                continue;
            }
            let earlier = wave_of
                .get(provider.name.as_str())
                .is_some_and(|w| *w < my_wave);
            if !earlier {
                continue;
            }
            // The slave serves no one until failover: only the master counts as "the database".
            let provider_modules: BTreeSet<Module> = provider
                .modules
                .iter()
                .copied()
                .filter(|m| !(m.is_database() && provider.db_role == Some(DbRole::Slave)))
                .collect();
            let needs_it = host
                .modules
                .iter()
                .any(|m| relies_on(*m).iter().any(|p| provider_modules.contains(p)));
            let slave_needs_master =
                host.db_role == Some(DbRole::Slave) && provider.db_role == Some(DbRole::Master);
            if needs_it || slave_needs_master {
                mine.insert(provider.name.clone());
            }
        }
        deps.insert(host.name.clone(), mine);
    }
    deps
}

/// Runs `work` for every host with at most `concurrency` at a time. Hosts not started because
/// `cancel` was set get `Interrupted`.
pub fn run_parallel<F>(
    hosts: &[String],
    concurrency: usize,
    cancel: &AtomicBool,
    work: F,
) -> BTreeMap<String, HostOutcome>
where
    F: Fn(&str) -> HostOutcome + Sync,
{
    let queue = Mutex::new(hosts.iter().cloned().collect::<VecDeque<_>>());
    let results = Mutex::new(BTreeMap::new());
    let workers = concurrency.max(1).min(hosts.len());
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                if cancel.load(Ordering::SeqCst) {
                    break;
                }
                let Some(host) = queue.lock().unwrap().pop_front() else {
                    break;
                };
                let outcome = work(&host);
                results.lock().unwrap().insert(host, outcome);
            });
        }
    });
    let mut results = results.into_inner().unwrap();
    for host in queue.into_inner().unwrap() {
        results.insert(
            host,
            HostOutcome::Interrupted {
                still_running: None,
            },
        );
    }
    results
}

/// The outcomes of an earlier stage that may still be running on other hosts (installing while
/// the first wave reconfigures). The waves wait only for the hosts they are about to start.
#[derive(Default)]
pub struct StageOutcomes {
    state: Mutex<StageState>,
    changed: Condvar,
}

#[derive(Default)]
struct StageState {
    outcomes: BTreeMap<String, HostOutcome>,
    /// No more outcomes will be recorded: a host without one had nothing to do in this stage.
    closed: bool,
    /// The stage's thread panicked: a host without an outcome is not ready, whatever it did.
    aborted: bool,
}

impl StageOutcomes {
    pub fn new() -> Self {
        Self::default()
    }

    /// A stage that has already ended with these outcomes.
    pub fn finished(outcomes: BTreeMap<String, HostOutcome>) -> Self {
        StageOutcomes {
            state: Mutex::new(StageState {
                outcomes,
                closed: true,
                aborted: false,
            }),
            changed: Condvar::new(),
        }
    }

    pub fn record(&self, host: &str, outcome: HostOutcome) {
        self.state
            .lock()
            .unwrap()
            .outcomes
            .insert(host.to_string(), outcome);
        self.changed.notify_all();
    }

    /// Ends the stage; also on a panic in it, through [`StageOutcomes::closing`].
    pub fn close(&self) {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).closed = true;
        self.changed.notify_all();
    }

    fn outcome(state: &StageState, host: &str) -> Option<HostOutcome> {
        match state.outcomes.get(host) {
            Some(o) => Some(o.clone()),
            None if state.aborted => Some(HostOutcome::NotAttempted {
                why: "the installer stopped on an internal error before this host was ready".into(),
            }),
            None => None,
        }
    }

    /// Closes the stage when dropped, so a waiter never outlives the stage's thread.
    pub fn closing(&self) -> impl Drop + '_ {
        struct Closer<'a>(&'a StageOutcomes);
        impl Drop for Closer<'_> {
            fn drop(&mut self) {
                if std::thread::panicking() {
                    self.0
                        .state
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .aborted = true;
                }
                self.0.close();
            }
        }
        Closer(self)
    }

    /// Waits until every one of `hosts` has an outcome (or the stage is closed), then returns
    /// the outcomes known for them.
    fn wait_for(&self, hosts: &[String]) -> BTreeMap<String, HostOutcome> {
        let mut state = self.state.lock().unwrap();
        while !state.closed && !hosts.iter().all(|h| state.outcomes.contains_key(h)) {
            state = self.changed.wait(state).unwrap();
        }
        hosts
            .iter()
            .filter_map(|h| Self::outcome(&state, h).map(|o| (h.clone(), o)))
            .collect()
    }

    /// Waits for the stage to end; returns every outcome.
    fn wait_all(&self) -> BTreeMap<String, HostOutcome> {
        let mut state = self.state.lock().unwrap();
        while !state.closed {
            state = self.changed.wait(state).unwrap();
        }
        state.outcomes.clone()
    }
}

/// At most `n` hosts worked on at once across stages that overlap (`--concurrency`).
pub struct Permits {
    free: Mutex<usize>,
    released: Condvar,
}

impl Permits {
    pub fn new(n: usize) -> Self {
        Permits {
            free: Mutex::new(n.max(1)),
            released: Condvar::new(),
        }
    }

    /// Blocks until a host may be worked on; the permit is returned when the guard drops.
    pub fn acquire(&self) -> impl Drop + '_ {
        let mut free = self.free.lock().unwrap();
        while *free == 0 {
            free = self.released.wait(free).unwrap();
        }
        *free -= 1;
        struct Permit<'a>(&'a Permits);
        impl Drop for Permit<'_> {
            fn drop(&mut self) {
                *self.0.free.lock().unwrap() += 1;
                self.0.released.notify_one();
            }
        }
        Permit(self)
    }
}

/// A head start for the first wave's hosts while every host prepares at once.
///
/// Every host installs in the same stage, but only the first wave's install is on the critical
/// path: a later wave's host has at least the whole first reconfigure to finish its own. Hosts
/// that share CPUs (VMs on one hypervisor, the lab) slow each other down when they all start
/// their installs together, and the first wave's launch pays for it. So the other hosts wait
/// until each first-wave host has started its install, or has finished preparing however it
/// ended. That costs them a round trip or two of a stage with minutes to spare.
pub struct HeadStart {
    leaders: BTreeSet<String>,
    /// Leaders whose head start is not over yet.
    running: Mutex<BTreeSet<String>>,
    over: Condvar,
}

impl HeadStart {
    pub fn new(leaders: BTreeSet<String>) -> Self {
        HeadStart {
            running: Mutex::new(leaders.clone()),
            leaders,
            over: Condvar::new(),
        }
    }

    pub fn leads(&self, host: &str) -> bool {
        self.leaders.contains(host)
    }

    /// `host`'s head start is over: its install has started, or it stopped preparing.
    pub fn end(&self, host: &str) {
        let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        if running.remove(host) {
            self.over.notify_all();
        }
    }

    /// Ends `host`'s head start when dropped (also on an error or a panic), so no host waits
    /// for a leader that stopped.
    pub fn ending_on_drop<'a>(&'a self, host: &'a str) -> impl Drop + 'a {
        struct Ender<'a>(&'a HeadStart, &'a str);
        impl Drop for Ender<'_> {
            fn drop(&mut self) {
                self.0.end(self.1);
            }
        }
        Ender(self, host)
    }

    /// Blocks until every leader's head start is over, or the run is cancelled: a cancel can
    /// keep a leader from ever starting (see [`run_parallel`]), and nothing signals a cancel,
    /// so the wait looks at it every 50 ms.
    pub fn wait(&self, cancel: &AtomicBool) {
        let mut running = self.running.lock().unwrap();
        while !running.is_empty() && !cancel.load(Ordering::SeqCst) {
            running = self
                .over
                .wait_timeout(running, std::time::Duration::from_millis(50))
                .unwrap()
                .0;
        }
    }
}

/// Runs the waves in order. Before a wave, each host whose dependency failed (or was itself not
/// attempted) is marked `NotAttempted`; the rest run in parallel. `earlier` holds the outcomes of
/// the stage before (a host that failed while installing does not reconfigure); a wave waits
/// only for its own hosts' outcomes there, so the first wave can start while later waves' hosts
/// are still installing. `after_wave` runs between waves (replication goes there) and may add
/// outcomes.
pub fn run_waves<F, A>(
    waves: &[Vec<String>],
    deps: &BTreeMap<String, BTreeSet<String>>,
    concurrency: usize,
    cancel: &AtomicBool,
    earlier: &StageOutcomes,
    work: F,
    mut after_wave: A,
) -> BTreeMap<String, HostOutcome>
where
    F: Fn(&str) -> HostOutcome + Sync,
    A: FnMut(usize, &BTreeMap<String, HostOutcome>) -> Vec<(String, HostOutcome)>,
{
    let mut outcomes: BTreeMap<String, HostOutcome> = BTreeMap::new();
    for (index, wave) in waves.iter().enumerate() {
        for (host, o) in earlier.wait_for(wave) {
            if !matches!(o, HostOutcome::Succeeded) {
                outcomes.insert(host, o);
            }
        }
        let mut runnable = Vec::new();
        for host in wave {
            if outcomes.contains_key(host) {
                continue;
            }
            if cancel.load(Ordering::SeqCst) {
                outcomes.insert(
                    host.clone(),
                    HostOutcome::Interrupted {
                        still_running: None,
                    },
                );
                continue;
            }
            let broken: Vec<&String> = deps
                .get(host)
                .into_iter()
                .flatten()
                .filter(|d| {
                    outcomes
                        .get(*d)
                        .is_some_and(|o| !matches!(o, HostOutcome::Succeeded))
                })
                .collect();
            if broken.is_empty() {
                runnable.push(host.clone());
            } else {
                let names: Vec<&str> = broken.iter().map(|s| s.as_str()).collect();
                outcomes.insert(
                    host.clone(),
                    HostOutcome::NotAttempted {
                        why: format!("depends on {}, which did not complete", names.join(", ")),
                    },
                );
            }
        }
        outcomes.extend(run_parallel(&runnable, concurrency, cancel, &work));
        for (host, outcome) in after_wave(index, &outcomes) {
            outcomes.insert(host, outcome);
        }
    }
    // Hosts in no wave still report how the earlier stage went for them.
    for (host, o) in earlier.wait_all() {
        if !matches!(o, HostOutcome::Succeeded) {
            outcomes.entry(host).or_insert(o);
        }
    }
    outcomes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::desired::{DesiredHost, PackageSource, Requirements};
    use crate::engine::events::Phase;
    use std::sync::atomic::AtomicUsize;
    use std::time::Duration;

    fn host(name: &str, modules: &[Module], db_role: Option<DbRole>) -> DesiredHost {
        DesiredHost {
            name: name.into(),
            private_address: "127.0.9.1".into(),
            modules: modules.iter().copied().collect(),
            db_role,
            expected_os: None,
            requirements: Requirements::default(),
            listen_ports: vec![],
            needs: vec![],
        }
    }

    fn ha() -> Desired {
        use Module::*;
        Desired {
            name: "ha".into(),
            hosts: vec![
                host("app-1", &[Proxy, App, Session], None),
                host("app-2", &[Proxy, App, Session], None),
                host("worker", &[Worker, Rabbitmq], None),
                host("influx", &[Influxdb], None),
                host("db-master", &[MainDb, AnalyticsDb], Some(DbRole::Master)),
                host("db-slave", &[MainDb, AnalyticsDb], Some(DbRole::Slave)),
            ],
            waves: vec![
                vec!["db-master".into()],
                vec!["db-slave".into()],
                vec!["worker".into()],
                vec!["influx".into(), "app-1".into(), "app-2".into()],
            ],
            package: PackageSource::Local { files: vec![] },
            version: None,
            endpoint_port: 80,
        }
    }

    fn set(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    fn failed() -> HostOutcome {
        HostOutcome::Failed {
            phase: Phase::Reconfigure,
            error: "boom".into(),
            remote_log: None,
            last_lines: vec![],
        }
    }

    /// Runs the HA waves where every host succeeds, recording which hosts ran, in order.
    fn run_recording(
        d: &Desired,
        earlier: &StageOutcomes,
        ran: &Mutex<Vec<String>>,
    ) -> BTreeMap<String, HostOutcome> {
        run_waves(
            &d.waves,
            &dependencies(d),
            10,
            &AtomicBool::new(false),
            earlier,
            |h| {
                ran.lock().unwrap().push(h.to_string());
                HostOutcome::Succeeded
            },
            |_, _| vec![],
        )
    }

    #[test]
    fn ha_dependencies_follow_what_each_host_serves() {
        let deps = dependencies(&ha());
        assert_eq!(deps["db-master"], set(&[]));
        assert_eq!(deps["db-slave"], set(&["db-master"]));
        assert_eq!(deps["worker"], set(&["db-master"]));
        assert_eq!(deps["app-1"], set(&["db-master", "worker"]));
        assert_eq!(deps["influx"], set(&[]));
    }

    #[test]
    fn a_failed_worker_stops_the_app_servers_but_not_influxdb() {
        let d = ha();
        let order = Mutex::new(Vec::new());
        let cancel = AtomicBool::new(false);
        let outcomes = run_waves(
            &d.waves,
            &dependencies(&d),
            10,
            &cancel,
            &StageOutcomes::finished(BTreeMap::new()),
            |h| {
                order.lock().unwrap().push(h.to_string());
                if h == "worker" {
                    failed()
                } else {
                    HostOutcome::Succeeded
                }
            },
            |_, _| vec![],
        );
        assert_eq!(outcomes["db-master"], HostOutcome::Succeeded);
        assert_eq!(outcomes["db-slave"], HostOutcome::Succeeded);
        assert_eq!(outcomes["influx"], HostOutcome::Succeeded);
        assert!(matches!(outcomes["worker"], HostOutcome::Failed { .. }));
        assert_eq!(
            outcomes["app-1"],
            HostOutcome::NotAttempted {
                why: "depends on worker, which did not complete".into()
            }
        );
        let order = order.into_inner().unwrap();
        assert_eq!(&order[..3], ["db-master", "db-slave", "worker"]);
        assert_eq!(order.len(), 4);
    }

    #[test]
    fn a_failed_db_master_blocks_everything_that_needs_a_database() {
        let d = ha();
        let cancel = AtomicBool::new(false);
        let outcomes = run_waves(
            &d.waves,
            &dependencies(&d),
            10,
            &cancel,
            &StageOutcomes::finished(BTreeMap::new()),
            |h| {
                if h == "db-master" {
                    failed()
                } else {
                    HostOutcome::Succeeded
                }
            },
            |_, _| vec![],
        );
        for h in ["db-slave", "worker", "app-1", "app-2"] {
            assert!(
                matches!(outcomes[h], HostOutcome::NotAttempted { .. }),
                "{h}: {:?}",
                outcomes[h]
            );
        }
        assert_eq!(outcomes["influx"], HostOutcome::Succeeded);
    }

    #[test]
    fn hosts_that_failed_an_earlier_stage_are_not_run_again() {
        let d = ha();
        let cancel = AtomicBool::new(false);
        let already: BTreeMap<String, HostOutcome> = [
            ("influx".to_string(), failed()),
            ("db-master".to_string(), HostOutcome::Succeeded),
        ]
        .into_iter()
        .collect();
        let ran = Mutex::new(BTreeSet::new());
        let outcomes = run_waves(
            &d.waves,
            &dependencies(&d),
            10,
            &cancel,
            &StageOutcomes::finished(already),
            |h| {
                ran.lock().unwrap().insert(h.to_string());
                HostOutcome::Succeeded
            },
            |_, _| vec![],
        );
        assert!(!ran.lock().unwrap().contains("influx"));
        assert!(ran.lock().unwrap().contains("db-master"));
        assert!(matches!(outcomes["influx"], HostOutcome::Failed { .. }));
    }

    #[test]
    fn the_first_wave_starts_while_later_hosts_are_still_in_the_earlier_stage() {
        let d = ha();
        let earlier = StageOutcomes::new();
        earlier.record("db-master", HostOutcome::Succeeded);
        let started = Mutex::new(Vec::new());
        let outcomes = std::thread::scope(|s| {
            let waves = s.spawn(|| run_recording(&d, &earlier, &started));
            // The master reconfigures although no other host has finished installing...
            while started.lock().unwrap().is_empty() {
                std::thread::yield_now();
            }
            assert_eq!(*started.lock().unwrap(), ["db-master"]);
            // ...and the others start only once their own outcome is known.
            earlier.record("db-slave", HostOutcome::Succeeded);
            earlier.record("worker", failed());
            earlier.close();
            waves.join().unwrap()
        });
        let started = started.into_inner().unwrap();
        assert_eq!(started[..2], ["db-master", "db-slave"]);
        assert!(!started.contains(&"worker".to_string()));
        assert!(matches!(outcomes["worker"], HostOutcome::Failed { .. }));
        assert!(matches!(
            outcomes["app-1"],
            HostOutcome::NotAttempted { .. }
        ));
        // Hosts the earlier stage never recorded had nothing to do there.
        assert_eq!(outcomes["influx"], HostOutcome::Succeeded);
    }

    #[test]
    fn hosts_a_panicked_stage_never_recorded_are_not_run() {
        let d = ha();
        let earlier = StageOutcomes::new();
        earlier.record("db-master", HostOutcome::Succeeded);
        let _ = std::thread::scope(|s| {
            s.spawn(|| {
                let _closing = earlier.closing();
                panic!("a bug in the earlier stage");
            })
            .join()
        });
        let ran = Mutex::new(Vec::new());
        let outcomes = run_recording(&d, &earlier, &ran);
        assert_eq!(*ran.lock().unwrap(), ["db-master"]);
        assert!(matches!(
            outcomes["influx"],
            HostOutcome::NotAttempted { .. }
        ));
    }

    #[test]
    fn permits_bound_hosts_across_overlapping_stages() {
        let permits = Permits::new(2);
        let running = AtomicUsize::new(0);
        let peak = AtomicUsize::new(0);
        let hosts: Vec<String> = (0..6).map(|i| format!("h{i}")).collect();
        let cancel = AtomicBool::new(false);
        let work = |_: &str| {
            let _permit = permits.acquire();
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(20));
            running.fetch_sub(1, Ordering::SeqCst);
            HostOutcome::Succeeded
        };
        std::thread::scope(|s| {
            s.spawn(|| run_parallel(&hosts, 2, &cancel, work));
            s.spawn(|| run_parallel(&hosts, 2, &cancel, work));
        });
        // Two pools of two threads each would reach 4 without the shared permits.
        assert!(peak.load(Ordering::SeqCst) <= 2, "{peak:?}");
    }

    #[test]
    fn concurrency_limits_how_many_hosts_run_at_once() {
        let hosts: Vec<String> = (0..6).map(|i| format!("h{i}")).collect();
        let running = AtomicUsize::new(0);
        let peak = AtomicUsize::new(0);
        let cancel = AtomicBool::new(false);
        let out = run_parallel(&hosts, 2, &cancel, |_| {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(30));
            running.fetch_sub(1, Ordering::SeqCst);
            HostOutcome::Succeeded
        });
        assert_eq!(out.len(), 6);
        assert_eq!(peak.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn after_cancel_no_new_host_starts() {
        let hosts: Vec<String> = (0..4).map(|i| format!("h{i}")).collect();
        let cancel = AtomicBool::new(false);
        let out = run_parallel(&hosts, 1, &cancel, |h| {
            if h == "h1" {
                cancel.store(true, Ordering::SeqCst);
            }
            HostOutcome::Succeeded
        });
        assert_eq!(out["h0"], HostOutcome::Succeeded);
        assert_eq!(out["h1"], HostOutcome::Succeeded);
        assert_eq!(
            out["h2"],
            HostOutcome::Interrupted {
                still_running: None
            }
        );
        assert_eq!(
            out["h3"],
            HostOutcome::Interrupted {
                still_running: None
            }
        );
    }

    #[test]
    fn the_after_wave_hook_sees_each_wave_and_can_record_failures() {
        let d = ha();
        let cancel = AtomicBool::new(false);
        let mut seen = Vec::new();
        let outcomes = run_waves(
            &d.waves,
            &dependencies(&d),
            10,
            &cancel,
            &StageOutcomes::finished(BTreeMap::new()),
            |_| HostOutcome::Succeeded,
            |i, so_far| {
                seen.push((i, so_far.len()));
                if i == 1 {
                    vec![("db-master".to_string(), failed())]
                } else {
                    vec![]
                }
            },
        );
        assert_eq!(seen, [(0, 1), (1, 2), (2, 3), (3, 6)]);
        // Replication failing on the master after its reconfigure blocks later DB consumers.
        assert!(matches!(
            outcomes["worker"],
            HostOutcome::NotAttempted { .. }
        ));
    }

    #[test]
    fn others_wait_until_every_leader_has_had_its_head_start() {
        let leaders: BTreeSet<String> = ["a".to_string(), "b".to_string()].into();
        let head_start = HeadStart::new(leaders);
        assert!(head_start.leads("a") && !head_start.leads("c"));
        let released = AtomicBool::new(false);
        let cancel = AtomicBool::new(false);
        std::thread::scope(|s| {
            s.spawn(|| {
                head_start.wait(&cancel);
                assert!(released.load(Ordering::SeqCst), "waited for both leaders");
            });
            head_start.end("a");
            std::thread::sleep(Duration::from_millis(50));
            released.store(true, Ordering::SeqCst);
            // A leader that stops, however it stops, ends its head start.
            drop(head_start.ending_on_drop("b"));
        });
        // Ending twice, or a host that never led, changes nothing.
        head_start.end("a");
        head_start.end("c");
        head_start.wait(&cancel);
    }

    #[test]
    fn a_cancel_ends_the_wait_for_a_leader_that_never_started() {
        let head_start = HeadStart::new(["a".to_string()].into());
        let cancel = AtomicBool::new(false);
        std::thread::scope(|s| {
            let waiter = s.spawn(|| head_start.wait(&cancel));
            std::thread::sleep(Duration::from_millis(30));
            assert!(!waiter.is_finished(), "the leader has not started");
            cancel.store(true, Ordering::SeqCst);
            waiter.join().unwrap();
        });
    }
}
