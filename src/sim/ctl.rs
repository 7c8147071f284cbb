//! `scalr-server-ctl`: `reconfigure` and its pre-checks, output and log (reference §3.4).

use super::install;
use super::net::{self, PeerError};
use super::rbconfig::{RbConfig, RbError};
use super::root::{
    SimRoot, BINLOG_BOOTSTRAP, INSTALLER_LOG_DIR, LOCAL_RB, MAIN_RB, MEMINFO, MYSQL_DATA_DIR,
};
use super::secrets::Secrets;
use super::services::{self, Enabled};
use super::supervisor::{self, Plan, State};
use super::term::{is_root, print_flush, stdout_is_tty, Tag};
use super::vmconf::{Faults, VmConf};
use std::collections::BTreeMap;
use std::io::Write;
use std::net::SocketAddrV4;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

/// Below this MemTotal (kB) the real ctl refuses to run.
pub const RAM_FLOOR_KB: u64 = 3_600_000;
const STATE: &str = "/opt/scalr-server/var/lib/scalr-lab-sim/reconfigured-version";
const FAILED_MESSAGE: &str =
    "Scalr configuration failed! Please check error log (/opt/scalr-server/var/log/installer/) for more details.";

pub fn scalr_server_ctl(root: &SimRoot, args: &[String]) -> u8 {
    match args.first().map(String::as_str) {
        Some("reconfigure") => reconfigure(root),
        Some("config-test") => match load_config(root, true) {
            Ok(_) => 0,
            Err(code) => code,
        },
        Some("show-config") => match load_config(root, false) {
            Ok(cfg) => {
                show_config(&cfg);
                0
            }
            Err(code) => code,
        },
        Some("show-attributes") => show_attributes(root),
        _ => {
            eprintln!(
                "Usage: scalr-server-ctl reconfigure | show-config | show-attributes | config-test"
            );
            1
        }
    }
}

/// Reads MemTotal (kB) from the VM's `/proc/meminfo`.
pub fn mem_total_kb(root: &SimRoot) -> Option<u64> {
    let text = std::fs::read_to_string(root.path(MEMINFO)).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// Syntax-checks and reads both config files, printing the `Checking config file` lines when
/// `print_checks`. A missing file is skipped (the cookbook's defaults apply).
pub fn load_config(root: &SimRoot, print_checks: bool) -> Result<RbConfig, u8> {
    let colour = stdout_is_tty();
    let mut cfg = RbConfig::default();
    let mut late_error = None;
    for path in [MAIN_RB, LOCAL_RB] {
        let real = root.path(path);
        let source = match std::fs::read_to_string(&real) {
            Ok(s) => s,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                eprintln!("Cannot read {path}: {e}");
                return Err(1);
            }
        };
        let name = path.rsplit('/').next().unwrap_or(path);
        if print_checks {
            print_flush(&format!("Checking config file ({name}) syntax ... "));
        }
        match cfg.apply(path, &source) {
            Ok(()) => {
                if print_checks {
                    println!("{}", Tag::Ok.render(colour));
                }
            }
            Err(e @ RbError::Syntax { .. }) => {
                if print_checks {
                    println!("{}", Tag::Failed.render(colour));
                }
                println!("{e}");
                return Err(1);
            }
            Err(e @ RbError::Name { .. }) => {
                if print_checks {
                    println!("{}", Tag::Ok.render(colour));
                }
                late_error.get_or_insert(e);
            }
        }
    }
    if let Some(e) = late_error {
        println!("{e}");
        println!("{FAILED_MESSAGE}");
        return Err(1);
    }
    Ok(cfg)
}

fn show_config(cfg: &RbConfig) {
    if let Some(all) = cfg.enable_all {
        println!("enable_all {all}");
    }
    for (section, attrs) in &cfg.attrs {
        for (key, value) in attrs {
            println!("{section}[:{key}] = {value}");
        }
    }
}

fn show_attributes(root: &SimRoot) -> u8 {
    if !is_root() {
        eprintln!(
            "scalr-server-ctl must be run as root; try: sudo scalr-server-ctl show-attributes"
        );
        return 1;
    }
    let Ok(cfg) = load_config(root, false) else {
        return 1;
    };
    if let Err(e) = Secrets::load_or_generate(root) {
        eprintln!("{e}");
        return 1;
    }
    let mut doc = serde_json::Map::new();
    for (section, attrs) in &cfg.attrs {
        let map: serde_json::Map<String, serde_json::Value> = attrs
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.to_string())))
            .collect();
        doc.insert(section.clone(), serde_json::Value::Object(map));
    }
    println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    0
}

/// What one progress line does when it runs.
enum Work {
    /// Create a directory if it is missing.
    Dir(String),
    /// Write a generated file; SKIPPED when it already has this content.
    File { path: String, content: String },
    /// Initialise the MySQL data directory (first run only).
    MysqlInit,
    /// Record the binlog position, only on the first run of a MySQL with binlog on.
    BinlogBootstrap,
    /// A supervisor program definition; SKIPPED when the plan is unchanged.
    Service,
    /// Write the plan and (re)start the supervisor daemon.
    Supervisor,
    /// A database step the app runs against MySQL (possibly on another host).
    AppDb(DbStep),
    /// The proxy's AMQPS pass-through needs RabbitMQ.
    RabbitUpstream,
    /// Always runs.
    Run,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum DbStep {
    CreateSchema,
    AfterCreate,
    Upgrade,
}

struct Step {
    description: String,
    action: &'static str,
    weight: f64,
    work: Work,
}

fn step(description: impl Into<String>, action: &'static str, weight: f64, work: Work) -> Step {
    Step {
        description: description.into(),
        action,
        weight,
        work,
    }
}

/// Renders a config section as the generated file's content.
fn render(cfg: &RbConfig, sections: &[&str]) -> String {
    let mut out = String::from(
        "# Generated by scalr-server-ctl reconfigure. DO NOT EDIT: change /etc/scalr-server/*.rb\n",
    );
    for section in sections {
        if let Some(attrs) = cfg.attrs.get(*section) {
            for (k, v) in attrs {
                out.push_str(&format!("{section}.{k} = {v}\n"));
            }
        }
    }
    out
}

fn file(cfg: &RbConfig, description: &str, path: &str, sections: &[&str]) -> Step {
    step(
        format!("{description} ({path})"),
        "create",
        1.0,
        Work::File {
            path: path.to_string(),
            content: render(cfg, sections),
        },
    )
}

/// The progress lines of a reconfigure, in the cookbook's order (reference §3.4).
fn build_steps(cfg: &RbConfig, on: &Enabled) -> Vec<Step> {
    let app = on.app();
    let mut pre = Vec::new();
    for dir in [
        "/opt/scalr-server/etc",
        "/opt/scalr-server/var/log",
        "/opt/scalr-server/var/run",
        "/opt/scalr-server/var/lib",
    ] {
        pre.push(step(
            format!("Create directory ({dir})"),
            "create",
            0.3,
            Work::Dir(dir.to_string()),
        ));
    }
    pre.push(step(
        "Create users and groups (scalr, scalr-app)",
        "create",
        0.5,
        Work::Dir("/opt/scalr-server/var/lib/users".into()),
    ));
    if on.mysql {
        pre.push(file(
            cfg,
            "Create MySQL configuration file",
            "/opt/scalr-server/etc/mysql/my.cnf",
            &["mysql"],
        ));
        pre.push(step(
            format!("Initialize MySQL data directory ({MYSQL_DATA_DIR})"),
            "run",
            3.0,
            Work::MysqlInit,
        ));
        pre.push(step("MySQL service", "enable", 1.0, Work::Service));
    }
    pre.push(step("Crond service", "enable", 0.5, Work::Service));
    if on.cron {
        pre.push(file(
            cfg,
            "Create cron jobs",
            "/opt/scalr-server/etc/cron/crontab",
            &["cron"],
        ));
    }
    pre.push(file(
        cfg,
        "Create logrotate configuration",
        "/opt/scalr-server/etc/logrotate.conf",
        &["logrotate"],
    ));
    if on.memcached {
        pre.push(file(
            cfg,
            "Create memcached configuration",
            "/opt/scalr-server/etc/memcached/memcached.conf",
            &["memcached"],
        ));
        pre.push(step("Memcached service", "enable", 0.5, Work::Service));
    }
    if on.rabbitmq {
        pre.push(step(
            "Create RabbitMQ TLS key and certificate (/opt/scalr-server/etc/rabbitmq)",
            "create",
            1.0,
            Work::Dir("/opt/scalr-server/etc/rabbitmq".into()),
        ));
        pre.push(file(
            cfg,
            "Create RabbitMQ configuration file",
            "/opt/scalr-server/etc/rabbitmq/rabbitmq.config",
            &["rabbitmq"],
        ));
        pre.push(step("RabbitMQ service", "enable", 1.0, Work::Service));
    }
    if on.influxdb {
        pre.push(file(
            cfg,
            "Create InfluxDB configuration file",
            "/opt/scalr-server/etc/influxdb/influxdb.conf",
            &["influxdb"],
        ));
        pre.push(step("InfluxDB service", "enable", 1.0, Work::Service));
    }
    if app {
        pre.push(file(
            cfg,
            "Create Scalr config file",
            "/opt/scalr-server/etc/scalr/config.yml",
            &["app", "routing"],
        ));
        pre.push(step(
            "Create cryptokey file (/opt/scalr-server/etc/scalr/keys)",
            "create",
            0.3,
            Work::Dir("/opt/scalr-server/etc/scalr/keys".into()),
        ));
    }
    if on.rrd {
        pre.push(step("Rrdcached service", "enable", 0.5, Work::Service));
    }
    if on.service {
        pre.push(file(
            cfg,
            "Create Scalr services configuration",
            "/opt/scalr-server/etc/scalr/service.yml",
            &["service"],
        ));
        pre.push(step("Scalr services", "enable", 1.0, Work::Service));
    }
    if on.repos {
        pre.push(step(
            "Create directory (/opt/scalr-server/var/lib/repos)",
            "create",
            0.3,
            Work::Dir("/opt/scalr-server/var/lib/repos".into()),
        ));
    }
    if on.web || on.repos {
        pre.push(file(
            cfg,
            "Generate httpd configuration",
            "/opt/scalr-server/etc/httpd/httpd.conf",
            &["web", "repos"],
        ));
        pre.push(step("Httpd service", "enable", 1.0, Work::Service));
    }
    if on.proxy {
        pre.push(file(
            cfg,
            "Generate nginx configuration",
            "/opt/scalr-server/etc/nginx/nginx.conf",
            &["proxy", "routing"],
        ));
        pre.push(step("Nginx service", "enable", 1.0, Work::Service));
    }
    pre.push(file(
        cfg,
        "Set kernel parameters",
        "/opt/scalr-server/etc/sysctl.conf",
        &["sysctl"],
    ));
    pre.push(step("Supervisor service", "start", 2.0, Work::Supervisor));
    if on.mysql {
        pre.push(step(
            format!("Save current binlog position ({BINLOG_BOOTSTRAP})"),
            "create",
            0.5,
            Work::BinlogBootstrap,
        ));
    }
    if app {
        pre.push(step(
            "Create main Scalr database structure",
            "run",
            3.0,
            Work::AppDb(DbStep::CreateSchema),
        ));
        pre.push(step(
            "Import main Scalr database data",
            "run",
            2.0,
            Work::AppDb(DbStep::AfterCreate),
        ));
        pre.push(step(
            "Create Scalr analytics database structure",
            "run",
            1.0,
            Work::AppDb(DbStep::AfterCreate),
        ));
        pre.push(step(
            "Import Scalr analytics database data",
            "run",
            1.0,
            Work::AppDb(DbStep::AfterCreate),
        ));
        pre.push(step(
            "Upgrade Scalr Database (this might take a long time!)",
            "run",
            4.0,
            Work::AppDb(DbStep::Upgrade),
        ));
        pre.push(step(
            "Set Scalr admin username (if not changed)",
            "run",
            0.5,
            Work::AppDb(DbStep::AfterCreate),
        ));
        pre.push(step(
            "Set Scalr admin password (if not changed)",
            "run",
            0.5,
            Work::AppDb(DbStep::AfterCreate),
        ));
    }
    if on.proxy {
        pre.push(step(
            "Nginx AMQPS upstream (RabbitMQ)",
            "connect",
            0.5,
            Work::RabbitUpstream,
        ));
    }
    if app {
        pre.push(step("Generate mail templates", "run", 1.0, Work::Run));
    }
    pre
}

/// What a step produced: its tag and, on failure, the error lines to show.
enum Outcome {
    Done(Tag),
    Failed(Vec<String>),
}

struct Run<'a> {
    root: &'a SimRoot,
    vm: &'a VmConf,
    cfg: &'a RbConfig,
    secrets: &'a Secrets,
    plan: Plan,
    plan_changed: bool,
    mysql_fresh: bool,
    schema_created: bool,
    package_changed: bool,
    log: Log,
}

impl Run<'_> {
    fn execute(&mut self, work: &Work) -> Outcome {
        match work {
            Work::Dir(dir) => {
                let path = self.root.path(dir);
                if path.is_dir() {
                    return Outcome::Done(Tag::Skipped);
                }
                match std::fs::create_dir_all(&path) {
                    Ok(()) => Outcome::Done(Tag::Ok),
                    Err(e) => Outcome::Failed(vec![format!("Errno::{e}: cannot create {dir}")]),
                }
            }
            Work::File { path, content } => {
                let real = self.root.path(path);
                if std::fs::read_to_string(&real).ok().as_deref() == Some(content.as_str()) {
                    return Outcome::Done(Tag::Skipped);
                }
                let written = std::fs::create_dir_all(real.parent().expect("file has a parent"))
                    .and_then(|()| std::fs::write(&real, content));
                match written {
                    Ok(()) => Outcome::Done(Tag::Ok),
                    Err(e) => Outcome::Failed(vec![format!("Errno::{e}: cannot write {path}")]),
                }
            }
            Work::MysqlInit => {
                let dir = self.root.path(MYSQL_DATA_DIR);
                if dir.join("ibdata1").exists() {
                    return Outcome::Done(Tag::Skipped);
                }
                let made = std::fs::create_dir_all(&dir)
                    .and_then(|()| std::fs::write(dir.join("ibdata1"), vec![0u8; 64 << 10]));
                match made {
                    Ok(()) => {
                        self.mysql_fresh = true;
                        Outcome::Done(Tag::Ok)
                    }
                    Err(e) => Outcome::Failed(vec![format!("mysqld --initialize failed: {e}")]),
                }
            }
            Work::BinlogBootstrap => {
                if !(self.mysql_fresh && self.cfg.flag("mysql", "binlog")) {
                    return Outcome::Done(Tag::Skipped);
                }
                let name = self
                    .cfg
                    .text("mysql", "binlog_name")
                    .unwrap_or_else(|| "mysql-bin".into());
                match std::fs::write(
                    self.root.path(BINLOG_BOOTSTRAP),
                    format!("{name}.000001\n154\n"),
                ) {
                    Ok(()) => Outcome::Done(Tag::Ok),
                    Err(e) => {
                        Outcome::Failed(vec![format!("cannot write {BINLOG_BOOTSTRAP}: {e}")])
                    }
                }
            }
            Work::Service => Outcome::Done(if self.plan_changed {
                Tag::Ok
            } else {
                Tag::Skipped
            }),
            Work::Supervisor => self.supervisor(),
            Work::AppDb(kind) => self.app_db(*kind),
            Work::RabbitUpstream => self.rabbit_upstream(),
            Work::Run => Outcome::Done(Tag::Ok),
        }
    }

    fn supervisor(&mut self) -> Outcome {
        if let Err(e) = self.plan.write(self.root) {
            return Outcome::Failed(vec![e]);
        }
        if !self.plan_changed && supervisor::running_pid(self.root).is_some() {
            // Same programs: only start what was stopped (e.g. by `scalr-server-manage stop all`
            // before an upgrade), as the cookbook's service resources do.
            let all_running = supervisor::status(self.root)
                .is_ok_and(|ps| ps.iter().all(|p| p.state == State::Running));
            if all_running {
                return Outcome::Done(Tag::Skipped);
            }
            if let Err(e) = supervisor::control(self.root, "start all") {
                return Outcome::Failed(vec![e]);
            }
        } else if let Err(e) = supervisor::start(self.root) {
            return Outcome::Failed(vec![e]);
        }
        match supervisor::status(self.root) {
            Ok(programs) => {
                let fatal: Vec<String> = programs
                    .iter()
                    .filter(|p| p.state == State::Fatal)
                    .map(|p| format!("{}: ERROR (spawn error): {}", p.name, p.error))
                    .collect();
                if fatal.is_empty() {
                    Outcome::Done(Tag::Ok)
                } else {
                    Outcome::Failed(fatal)
                }
            }
            Err(e) => Outcome::Failed(vec![e]),
        }
    }

    fn peer(
        &self,
        host_section: &str,
        host_key: &str,
        port_section: &str,
        port_key: &str,
        default_port: u16,
    ) -> (String, Option<SocketAddrV4>) {
        let host = self
            .cfg
            .text(host_section, host_key)
            .unwrap_or_else(|| "127.0.0.1".into());
        let (host, port) = match host.rsplit_once(':') {
            Some((h, p)) if p.parse::<u16>().is_ok() => (h.to_string(), p.parse().ok()),
            _ => (host, None),
        };
        let port = port
            .or_else(|| self.cfg.port(port_section, port_key))
            .unwrap_or(default_port);
        let addr = self.vm.resolve(&host).map(|ip| SocketAddrV4::new(ip, port));
        (host, addr)
    }

    fn app_db(&mut self, kind: DbStep) -> Outcome {
        if kind == DbStep::AfterCreate {
            return Outcome::Done(if self.schema_created {
                Tag::Ok
            } else {
                Tag::Skipped
            });
        }
        let (host, addr) = self.peer("app", "mysql_scalr_host", "app", "mysql_scalr_port", 6280);
        let Some(addr) = addr else {
            return Outcome::Failed(vec![format!(
                "ERROR 2005 (HY000): Unknown MySQL server host '{host}' (-2)"
            )]);
        };
        let password = self
            .secrets
            .get("mysql", "scalr_password")
            .unwrap_or_default();
        let command = if kind == DbStep::CreateSchema {
            "INIT-SCHEMA"
        } else {
            ""
        };
        self.log
            .line(&format!("connecting to MySQL at {addr} as scalr"));
        match net::ask(addr, "mysql", "scalr", password, command) {
            Ok(info) if kind == DbStep::CreateSchema => {
                self.schema_created = info == "created";
                Outcome::Done(if self.schema_created {
                    Tag::Ok
                } else {
                    Tag::Skipped
                })
            }
            Ok(_) => Outcome::Done(if self.package_changed || self.schema_created {
                Tag::Ok
            } else {
                Tag::Skipped
            }),
            Err(e) => Outcome::Failed(vec![net::mysql_error(
                &e,
                &addr.ip().to_string(),
                "scalr",
                &self.vm.address.to_string(),
            )]),
        }
    }

    fn rabbit_upstream(&mut self) -> Outcome {
        let upstream = match self.cfg.get("proxy", "rabbitmq_upstreams") {
            Some(super::rbconfig::Value::Array(items)) => items.first().and_then(|v| v.as_text()),
            _ => None,
        };
        let (host, addr) = match upstream {
            Some(upstream) => {
                let (h, port) = match upstream.rsplit_once(':') {
                    Some((h, p)) if p.parse::<u16>().is_ok() => (h.to_string(), p.parse().ok()),
                    _ => (upstream, None),
                };
                let port = port
                    .or_else(|| self.cfg.port("rabbitmq", "bind_port"))
                    .unwrap_or(6275);
                let addr = self.vm.resolve(&h).map(|ip| SocketAddrV4::new(ip, port));
                (h, addr)
            }
            None => self.peer("app", "rabbitmq_host", "rabbitmq", "bind_port", 6275),
        };
        let Some(addr) = addr else {
            return Outcome::Failed(vec![format!(
                "nginx: [emerg] host not found in upstream \"{host}\""
            )]);
        };
        let password = self
            .secrets
            .get("rabbitmq", "scalr_password")
            .unwrap_or_default();
        match net::ask(addr, "rabbitmq", "scalr", password, "") {
            Ok(_) => Outcome::Done(if self.plan_changed { Tag::Ok } else { Tag::Skipped }),
            Err(PeerError::Denied) => Outcome::Failed(vec![format!(
                "ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN (user 'scalr' at {addr}); the secrets file differs from the RabbitMQ host's"
            )]),
            Err(PeerError::Refused) => Outcome::Failed(vec![format!(
                "connect() failed (111: Connection refused) while connecting to upstream, upstream: \"{addr}\""
            )]),
            Err(e) => Outcome::Failed(vec![format!("upstream timed out ({e:?}) while connecting to upstream, upstream: \"{addr}\"")]),
        }
    }
}

/// The reconfigure log under `/opt/scalr-server/var/log/installer/`.
struct Log {
    file: Option<std::fs::File>,
    path: PathBuf,
}

impl Log {
    fn open(root: &SimRoot) -> Log {
        let stamp = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
        let stamp = stamp.trim_end_matches('Z').replace(['T', ':'], "-");
        let dir = root.path(INSTALLER_LOG_DIR);
        let path = dir.join(format!("reconfigure-{stamp}.log"));
        let file = std::fs::create_dir_all(&dir)
            .and_then(|()| std::fs::File::create(&path))
            .ok();
        Log { file, path }
    }

    fn line(&mut self, text: &str) {
        if let Some(f) = &mut self.file {
            let now = humantime::format_rfc3339_seconds(SystemTime::now());
            let _ = writeln!(f, "[{now}] {text}");
        }
    }
}

fn reconfigure(root: &SimRoot) -> u8 {
    let started = std::time::Instant::now();
    if !is_root() {
        eprintln!("scalr-server-ctl must be run as root; try: sudo /opt/scalr-server/bin/scalr-server-ctl reconfigure");
        return 1;
    }
    let vm = match VmConf::load(root) {
        Ok(vm) => vm,
        Err(e) => {
            eprintln!("{e}");
            return 1;
        }
    };
    let faults = match Faults::load(root) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("{e}");
            return 1;
        }
    };
    match mem_total_kb(root) {
        Some(kb) if kb >= RAM_FLOOR_KB => {}
        Some(_) => {
            println!("Scalr requires a minimum of 4GB RAM to run.");
            return 1;
        }
        None => {
            eprintln!("Cannot read MemTotal from {MEMINFO}.");
            return 1;
        }
    }
    let cfg = match load_config(root, true) {
        Ok(cfg) => cfg,
        Err(code) => return code,
    };
    let (secrets, generated) = match Secrets::load_or_generate(root) {
        Ok(s) => s,
        Err(e) => {
            println!("{e}");
            println!("{FAILED_MESSAGE}");
            return 1;
        }
    };
    println!("Preparing to reconfigure Scalr...");
    let mut log = Log::open(root);
    log.line(&format!(
        "reconfigure on {} ({}), package {}",
        vm.name,
        vm.address,
        install::installed_version(root).unwrap_or_default()
    ));
    if !generated.is_empty() {
        log.line(&format!(
            "generated missing secrets (values not logged): {}",
            generated.join(", ")
        ));
    }
    if faults.reconfigure_hang {
        log.line("fault injected by the lab: reconfigure hangs");
        loop {
            std::thread::sleep(Duration::from_secs(3600));
        }
    }
    let enabled = Enabled::from_config(&cfg);
    let plan = Plan {
        programs: services::programs(&cfg, &vm, &enabled),
        credentials: credentials(&secrets),
    };
    let plan_changed = Plan::read(root).as_ref() != Some(&plan);
    let version = install::installed_version(root).unwrap_or_default();
    let state_path = root.path(STATE);
    let package_changed = std::fs::read_to_string(&state_path)
        .ok()
        .as_deref()
        .map(str::trim)
        != Some(version.as_str());
    let steps = build_steps(&cfg, &enabled);
    let full_weight: f64 = steps.iter().map(|s| s.weight).sum();
    let unit = vm.sim.reconfigure_secs.max(0.0) * faults.slowdown() / full_weight.max(1.0);
    let colour = stdout_is_tty();
    let mut run = Run {
        root,
        vm: &vm,
        cfg: &cfg,
        secrets: &secrets,
        plan,
        plan_changed,
        mysql_fresh: false,
        schema_created: false,
        package_changed,
        log,
    };
    // The time this run spends in simulated work, logged so benchmarks can separate the
    // package's own duration (the floor no installer can beat) from the installer's overhead.
    let mut simulated = Duration::ZERO;
    for (index, step) in steps.iter().enumerate() {
        let line = format!("{} ({}) ... ", step.description, step.action);
        print_flush(&line);
        run.log.line(&format!(
            "step {index}: {} ({})",
            step.description, step.action
        ));
        let outcome = if faults.reconfigure_fail_at == Some(index) {
            let pause = Duration::from_secs_f64(step.weight * unit);
            simulated += pause;
            std::thread::sleep(pause);
            Outcome::Failed(vec![format!(
                "fault injected by the lab: reconfigure_fail_at = {index}"
            )])
        } else {
            let outcome = run.execute(&step.work);
            let share = match outcome {
                Outcome::Done(Tag::Skipped) => 0.05,
                _ => 1.0,
            };
            let pause = Duration::from_secs_f64(step.weight * unit * share);
            simulated += pause;
            std::thread::sleep(pause);
            outcome
        };
        match outcome {
            Outcome::Done(tag) => {
                println!("{}", tag.render(colour));
                run.log.line(&format!("step {index}: {}", tag.plain()));
            }
            Outcome::Failed(errors) => {
                println!("{}", Tag::Failed.render(colour));
                for e in &errors {
                    println!("  {e}");
                    run.log.line(&format!("ERROR: {e}"));
                }
                println!("{FAILED_MESSAGE}");
                run.log.line("Scalr configuration failed");
                return 1;
            }
        }
    }
    let _ = std::fs::create_dir_all(state_path.parent().expect("state has a parent"));
    let _ = std::fs::write(&state_path, format!("{version}\n"));
    // Also the whole run's wall time: the simulated package's own work (services started,
    // files written) and, on a loaded machine, its wait for a CPU come on top of the sleeps.
    run.log.line(&format!(
        "simulated duration {:.3}s (elapsed {:.3}s)",
        simulated.as_secs_f64(),
        started.elapsed().as_secs_f64()
    ));
    run.log.line(&format!(
        "Scalr configuration complete (log {})",
        run.log.path.display()
    ));
    0
}

/// Password hashes the listeners check, by service and user.
fn credentials(secrets: &Secrets) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut out: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut add = |service: &str, user: &str, section: &str, key: &str| {
        if let Some(pw) = secrets.get(section, key) {
            out.entry(service.into())
                .or_default()
                .insert(user.into(), net::password_hash(pw));
        }
    };
    add("mysql", "root", "mysql", "root_password");
    add("mysql", "scalr", "mysql", "scalr_password");
    add("mysql", "repl", "mysql", "repl_password");
    add("rabbitmq", "scalr", "rabbitmq", "scalr_password");
    add("influxdb", "scalr", "influxdb", "scalr_password");
    add("memcached", "scalr", "memcached", "password");
    out
}
