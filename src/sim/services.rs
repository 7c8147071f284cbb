//! Which Scalr services a config enables and where each listens (reference §1.1–1.2).

use super::rbconfig::{RbConfig, Value};
use super::vmconf::VmConf;
use serde::{Deserialize, Serialize};

/// The cookbook modules that a config can switch on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Enabled {
    pub mysql: bool,
    pub memcached: bool,
    pub rabbitmq: bool,
    pub influxdb: bool,
    pub proxy: bool,
    pub web: bool,
    pub cron: bool,
    pub service: bool,
    pub rrd: bool,
    pub repos: bool,
    pub csg: bool,
}

impl Enabled {
    /// A module is on if its own `enable` is truthy or `enable_all` is (default true); `repos`
    /// and `csg` must be enabled explicitly, and `x[:disable] = true` switches a module off.
    pub fn from_config(cfg: &RbConfig) -> Enabled {
        let all = cfg.enable_all.unwrap_or(true);
        let on = |module: &str, by_all: bool| {
            let own = cfg.get(module, "enable").is_some_and(|v| match v {
                Value::Array(items) => !items.is_empty(),
                other => other.truthy(),
            });
            let disabled = matches!(cfg.get(module, "disable"), Some(Value::Bool(true)));
            (own || (all && by_all)) && !disabled
        };
        Enabled {
            mysql: on("mysql", true),
            memcached: on("memcached", true),
            rabbitmq: on("rabbitmq", true),
            influxdb: on("influxdb", true),
            proxy: on("proxy", true),
            web: on("web", true),
            cron: on("cron", true),
            service: on("service", true),
            rrd: on("rrd", true),
            repos: on("repos", false),
            csg: on("csg", false),
        }
    }

    /// The `app` module has no flag: it is on with any of cron, rrd, service, web.
    pub fn app(&self) -> bool {
        self.cron || self.rrd || self.service || self.web
    }
}

/// One supervisor program: a name as `scalr-server-manage status` shows it, and its sockets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Program {
    pub name: String,
    /// `address:port` after translating wildcard/loopback binds to the VM's address.
    #[serde(default)]
    pub listen: Vec<String>,
    /// Which credentials the listeners check (`mysql`, `rabbitmq`, …), if any.
    #[serde(default)]
    pub auth: Option<String>,
}

/// The background daemons of the worker (`service[:enable]`), as the status page lists them.
const WORKER_DAEMONS: [&str; 11] = [
    "analytics_poller",
    "analytics_processor",
    "beat",
    "dbqueue",
    "license-manager",
    "monitor",
    "msgsender",
    "poller",
    "szrupdater",
    "workflow-engine",
    "zmq_service",
];

fn bind(
    cfg: &RbConfig,
    vm: &VmConf,
    section: &str,
    host_key: &str,
    port_key: &str,
    port: u16,
) -> String {
    let host = cfg
        .text(section, host_key)
        .unwrap_or_else(|| "127.0.0.1".to_string());
    let port = cfg.port(section, port_key).unwrap_or(port);
    match vm.resolve(&host) {
        Some(ip) => format!("{ip}:{port}"),
        None => format!("{host}:{port}"),
    }
}

/// The supervisor programs of `enabled`, sorted by name like `supervisorctl status`.
pub fn programs(cfg: &RbConfig, vm: &VmConf, enabled: &Enabled) -> Vec<Program> {
    let mut out = Vec::new();
    let mut add = |name: &str, listen: Vec<String>, auth: Option<&str>| {
        out.push(Program {
            name: name.to_string(),
            listen,
            auth: auth.map(str::to_string),
        });
    };
    add("scalr-crond", vec![], None);
    if enabled.mysql {
        add(
            "scalr-mysql",
            vec![bind(cfg, vm, "mysql", "bind_host", "bind_port", 6280)],
            Some("mysql"),
        );
    }
    if enabled.memcached {
        add(
            "scalr-memcached",
            vec![bind(cfg, vm, "memcached", "bind_host", "bind_port", 6281)],
            Some("memcached"),
        );
    }
    if enabled.rabbitmq {
        let main = bind(cfg, vm, "rabbitmq", "bind_host", "bind_port", 6275);
        let host = main
            .rsplit_once(':')
            .map(|(h, _)| h.to_string())
            .unwrap_or_default();
        add(
            "scalr-rabbitmq",
            vec![
                main,
                format!("{host}:6276"),
                bind(
                    cfg,
                    vm,
                    "rabbitmq",
                    "mgmt_bind_host",
                    "mgmt_bind_port",
                    15671,
                ),
            ],
            Some("rabbitmq"),
        );
    }
    if enabled.influxdb {
        add(
            "scalr-influxdb",
            vec![
                bind(cfg, vm, "influxdb", "bind_host", "bind_port", 6290),
                bind(
                    cfg,
                    vm,
                    "influxdb",
                    "http_bind_host",
                    "http_bind_port",
                    6291,
                ),
            ],
            Some("influxdb"),
        );
    }
    if enabled.web || enabled.repos {
        let mut listen = Vec::new();
        if enabled.web {
            listen.push(bind(cfg, vm, "web", "app_bind_host", "app_bind_port", 6270));
            listen.push(bind(
                cfg,
                vm,
                "web",
                "graphics_bind_host",
                "graphics_bind_port",
                6271,
            ));
        }
        if enabled.repos {
            listen.push(bind(cfg, vm, "repos", "bind_host", "bind_port", 6273));
        }
        add("scalr-httpd", listen, None);
    }
    if enabled.proxy {
        let mut listen = vec![bind(cfg, vm, "proxy", "bind_host", "bind_port", 80)];
        if cfg.flag("proxy", "ssl_enable") {
            listen.push(bind(cfg, vm, "proxy", "bind_host", "ssl_bind_port", 443));
        }
        listen.push(bind(cfg, vm, "proxy", "bind_host", "amqps_bind_port", 5671));
        add("scalr-nginx", listen, None);
    }
    if enabled.rrd {
        add("scalr-rrd", vec![], None);
    }
    if enabled.service {
        add(
            "plotter",
            vec![bind(
                cfg,
                vm,
                "service",
                "plotter_bind_host",
                "plotter_bind_port",
                6272,
            )],
            None,
        );
        for daemon in WORKER_DAEMONS {
            add(daemon, vec![], None);
        }
    }
    if enabled.csg {
        add("scalr-csg", vec![], None);
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vm() -> VmConf {
        toml::from_str("name = \"db-1\"\naddress = \"127.0.3.15\"\nos = \"centos-7\"\n").unwrap()
    }

    #[test]
    fn enable_all_turns_on_everything_but_repos_and_csg() {
        let enabled = Enabled::from_config(&RbConfig::parse("f", "enable_all true\n").unwrap());
        assert!(enabled.mysql && enabled.proxy && enabled.service && enabled.app());
        assert!(!enabled.repos && !enabled.csg);
    }

    #[test]
    fn a_mysql_only_host_runs_mysql_and_crond_on_its_own_address() {
        let cfg = RbConfig::parse(
            "f",
            "enable_all false\nmysql[:enable] = true\nmysql[:bind_host] = '0.0.0.0'\nmysql[:bind_port] = 3306\n",
        )
        .unwrap();
        let enabled = Enabled::from_config(&cfg);
        assert!(!enabled.app());
        let programs = programs(&cfg, &vm(), &enabled);
        let names: Vec<_> = programs.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["scalr-crond", "scalr-mysql"]);
        assert_eq!(programs[1].listen, ["127.0.3.15:3306"]);
    }

    #[test]
    fn the_compact_defaults_bind_scalr_ports_on_the_vm_address() {
        let cfg = RbConfig::parse("f", "proxy[:ssl_enable] = true\n").unwrap();
        let programs = programs(&cfg, &vm(), &Enabled::from_config(&cfg));
        let nginx = programs.iter().find(|p| p.name == "scalr-nginx").unwrap();
        assert_eq!(
            nginx.listen,
            ["127.0.3.15:80", "127.0.3.15:443", "127.0.3.15:5671"]
        );
        let mysql = programs.iter().find(|p| p.name == "scalr-mysql").unwrap();
        assert_eq!(mysql.listen, ["127.0.3.15:6280"]);
    }
}
