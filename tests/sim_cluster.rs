//! Several simulated VMs talking to each other: the app needs MySQL, the proxy needs RabbitMQ,
//! and the MySQL master replicates to the slave — each only with the same shared secrets.

mod sim_support;
use sim_support::*;

const SECRETS: &str = "/etc/scalr-server/scalr-server-secrets.json";
const MAIN: &str = "/etc/scalr-server/scalr-server.rb";
const LOCAL: &str = "/etc/scalr-server/scalr-server-local.rb";

/// The shared `scalr-server.rb` of an HA install, naming the peers by lab VM name.
fn shared_config() -> String {
    "DB_MASTER = \"db-1\"\nWORKER = \"worker\"\nenable_all false\n\
     app[:mysql_scalr_host] = DB_MASTER\napp[:mysql_scalr_port] = 3306\n\
     app[:mysql_analytics_host] = DB_MASTER\napp[:mysql_analytics_port] = 3306\n\
     app[:rabbitmq_host] = WORKER\nproxy[:rabbitmq_upstreams] = [WORKER]\n\
     mysql[:bind_host] = '0.0.0.0'\nmysql[:bind_port] = 3306\nrabbitmq[:bind_host] = '0.0.0.0'\n\
     proxy[:bind_host] = '0.0.0.0'\n"
        .to_string()
}

fn host(name: &str, os: &str, peers: &[(&SimVm, &str)], local: &str) -> SimVm {
    let vm = SimVm::new(name, os, peers);
    vm.install_package();
    vm.write(MAIN, &shared_config());
    vm.write(LOCAL, local);
    vm
}

const MASTER_LOCAL: &str = "mysql[:enable] = true\nmysql[:server_id] = 1\nmysql[:binlog] = true\nmysql[:allow_remote_root] = true\n";
const SLAVE_LOCAL: &str = "mysql[:enable] = true\nmysql[:server_id] = 2\nmysql[:binlog] = true\nmysql[:allow_remote_root] = true\n";
const APP_LOCAL: &str =
    "proxy[:enable] = true\nmemcached[:enable] = true\nweb[:enable] = true\ncron[:enable] = true\n";
const WORKER_LOCAL: &str = "service[:enable] = true\nrabbitmq[:enable] = true\n";

#[test]
fn the_app_fails_like_mysql_when_the_database_host_is_not_up() {
    let db = host("db-1", "centos-7", &[], MASTER_LOCAL);
    let app = host(
        "app-1",
        "ubuntu-18.04",
        &[(&db, "db-1")],
        "web[:enable] = true\n",
    );
    let (code, out, _) = app.reconfigure();
    assert_eq!(code, 1, "{out}");
    assert_contains(
        &out,
        "Create main Scalr database structure (run) ... [ FAILED ]",
    );
    assert_contains(
        &out,
        &format!(
            "ERROR 2003 (HY000): Can't connect to MySQL server on '{}' (111)",
            db.address
        ),
    );
    assert_contains(&out, "Scalr configuration failed!");
}

#[test]
fn the_app_is_denied_when_its_secrets_differ_from_the_database_hosts() {
    let db = host("db-1", "centos-7", &[], MASTER_LOCAL);
    assert_eq!(db.reconfigure().0, 0);
    assert!(port_open(db.addr(3306)));
    let app = host(
        "app-1",
        "ubuntu-18.04",
        &[(&db, "db-1")],
        "web[:enable] = true\n",
    );
    let (code, out, _) = app.reconfigure();
    assert_eq!(code, 1, "{out}");
    assert_contains(
        &out,
        &format!(
            "ERROR 1045 (28000): Access denied for user 'scalr'@'{}' (using password: YES)",
            app.address
        ),
    );
}

#[test]
fn with_shared_secrets_the_first_app_host_creates_the_schema_and_the_next_skips_it() {
    let db = host("db-1", "centos-7", &[], MASTER_LOCAL);
    assert_eq!(db.reconfigure().0, 0);
    let worker = host("worker", "ubuntu-18.04", &[(&db, "db-1")], WORKER_LOCAL);
    copy_file(&db, &worker, SECRETS);
    let (code, out, _) = worker.reconfigure();
    assert_eq!(code, 0, "{out}");
    assert_contains(
        &out,
        "Create main Scalr database structure (run) ... [ OK ]",
    );
    assert!(port_open(worker.addr(6275)) && port_open(worker.addr(15671)));

    let app = host(
        "app-1",
        "ubuntu-18.04",
        &[(&db, "db-1"), (&worker, "worker")],
        APP_LOCAL,
    );
    copy_file(&db, &app, SECRETS);
    let (code, out, _) = app.reconfigure();
    assert_eq!(code, 0, "{out}");
    assert_contains(
        &out,
        "Create main Scalr database structure (run) ... [ SKIPPED ]",
    );
    assert_contains(&out, "Nginx AMQPS upstream (RabbitMQ) (connect) ... [ OK ]");
    for port in [80, 5671, 11211] {
        // memcached keeps its default 6281 unless configured; the proxy listens on 80/5671.
        if port == 11211 {
            assert!(!port_open(app.addr(port)));
        } else {
            assert!(port_open(app.addr(port)), "{port}");
        }
    }
    assert!(port_open(app.addr(6281)));
}

#[test]
fn the_proxy_fails_when_rabbitmq_is_down_or_its_password_differs() {
    let worker = host("worker", "ubuntu-18.04", &[], "rabbitmq[:enable] = true\n");
    let proxy = host(
        "app-1",
        "ubuntu-18.04",
        &[(&worker, "worker")],
        "proxy[:enable] = true\n",
    );
    let (code, out, _) = proxy.reconfigure();
    assert_eq!(code, 1, "{out}");
    assert_contains(&out, &format!("connect() failed (111: Connection refused) while connecting to upstream, upstream: \"{}:6275\"", worker.address));

    assert_eq!(worker.reconfigure().0, 0);
    let (code, out, _) = proxy.reconfigure();
    assert_eq!(code, 1, "{out}");
    assert_contains(
        &out,
        "ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN",
    );

    copy_file(&worker, &proxy, SECRETS);
    let (code, out, _) = proxy.reconfigure();
    assert_eq!(code, 0, "{out}");
}

fn master_and_slave(master_local: &str) -> (SimVm, SimVm) {
    let master = host("db-1", "centos-7", &[], master_local);
    let slave = host("db-2", "centos-7", &[], SLAVE_LOCAL);
    assert_eq!(master.reconfigure().0, 0);
    copy_file(&master, &slave, SECRETS);
    assert_eq!(slave.reconfigure().0, 0);
    (master, slave)
}

#[test]
fn kickstart_replication_connects_the_slave_to_the_master() {
    let (master, slave) = master_and_slave(MASTER_LOCAL);
    assert!(master.exists("/opt/scalr-server/var/lib/mysql/binlog-bootstrap"));
    let m = format!("{}:3306", master.address);
    let s = format!("{}:3306", slave.address);
    let (code, out, err) = master.sh("kickstart-replication", &[&m, &s]);
    assert_eq!(code, 0, "{out}{err}");
    assert_contains(
        &out,
        "# Starting slave from master log file 'mysql-bin.000001' using position 154...",
    );
    assert!(out.trim_end().ends_with("# ...done."));
    assert_contains(
        &slave.read("/opt/scalr-server/var/lib/mysql/replication.toml"),
        &format!("master = \"{m}\""),
    );
    assert_contains(
        &master.read("/opt/scalr-server/var/lib/mysql/replication.toml"),
        &format!("slave = \"{s}\""),
    );

    let (code, _, err) = slave.sh("kickstart-replication", &[&m, &s]);
    assert_eq!(code, 1);
    assert_contains(&err, "must run on the master");
}

#[test]
fn kickstart_replication_fails_when_binlog_was_off_at_the_masters_first_reconfigure() {
    let (master, slave) =
        master_and_slave("mysql[:enable] = true\nmysql[:server_id] = 1\nmysql[:binlog] = false\n");
    assert!(!master.exists("/opt/scalr-server/var/lib/mysql/binlog-bootstrap"));
    let args = [
        format!("{}:3306", master.address),
        format!("{}:3306", slave.address),
    ];
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, out, _) = master.sh("kickstart-replication", &args);
    assert_eq!(
        (code, out.as_str()),
        (1, "Binary logging is not enabled.\n")
    );

    master.write(LOCAL, MASTER_LOCAL);
    assert_eq!(master.reconfigure().0, 0);
    let (code, out, _) = master.sh("kickstart-replication", &args);
    assert_eq!(
        (code, out.as_str()),
        (
            1,
            "Binary logging was not enabled when you boostrapped this MySQL server.\n"
        )
    );
}

#[test]
fn kickstart_replication_needs_the_same_root_password_on_the_slave() {
    let master = host("db-1", "centos-7", &[], MASTER_LOCAL);
    let slave = host("db-2", "centos-7", &[], SLAVE_LOCAL);
    assert_eq!(master.reconfigure().0, 0);
    assert_eq!(slave.reconfigure().0, 0);
    let m = format!("{}:3306", master.address);
    let s = format!("{}:3306", slave.address);
    let (code, out, _) = master.sh("kickstart-replication", &[&m, &s]);
    assert_eq!(code, 1);
    assert_contains(&out, "ERROR: Cannot connect to the slave server.");
    assert_contains(&out, "Access denied for user 'root'");
    assert!(!slave.exists("/opt/scalr-server/var/lib/mysql/replication.toml"));
}

#[test]
fn an_ha_install_in_the_documented_order_converges_on_six_vms() {
    // Order from the reference: master, slave, replication, worker, then influxdb and the proxies.
    let master = host("db-1", "centos-7", &[], MASTER_LOCAL);
    let slave = host("db-2", "rhel-7", &[], SLAVE_LOCAL);
    let worker = host("worker", "ubuntu-16.04", &[(&master, "db-1")], WORKER_LOCAL);
    let influx = host(
        "influx",
        "debian-8",
        &[],
        "influxdb[:enable] = true\ninfluxdb[:http_bind_host] = '0.0.0.0'\n",
    );
    let peers = [(&master, "db-1"), (&worker, "worker")];
    let app1 = host("app-1", "ubuntu-18.04", &peers, APP_LOCAL);
    let app2 = host("app-2", "centos-6", &peers, APP_LOCAL);
    assert_eq!(master.reconfigure().0, 0);
    // The installer distributes the one secrets file to every host.
    for vm in [&slave, &worker, &influx, &app1, &app2] {
        copy_file(&master, vm, SECRETS);
    }
    assert_eq!(slave.reconfigure().0, 0);
    let (code, out, _) = master.sh(
        "kickstart-replication",
        &[
            &format!("{}:3306", master.address),
            &format!("{}:3306", slave.address),
        ],
    );
    assert_eq!(code, 0, "{out}");
    for vm in [&worker, &influx, &app1, &app2] {
        let (code, out, _) = vm.reconfigure();
        assert_eq!(code, 0, "{}:\n{out}", vm.name);
    }
    for vm in [&master, &slave, &worker, &influx, &app1, &app2] {
        let (code, out, _) = vm.sh("scalr-server-manage", &["status"]);
        assert_eq!(code, 0, "{}:\n{out}", vm.name);
    }
    assert!(port_open(master.addr(3306)) && port_open(slave.addr(3306)));
    assert!(port_open(worker.addr(6275)) && port_open(worker.addr(15671)));
    assert!(port_open(influx.addr(6291)));
    assert!(port_open(app1.addr(80)) && port_open(app2.addr(5671)));
    assert!(!port_open(app1.addr(3306)), "only the DB hosts run MySQL");
}

#[test]
fn a_frozen_database_host_makes_the_app_lose_the_connection() {
    use nix::sys::signal::{kill, Signal};
    use nix::unistd::Pid;
    let db = host("db-1", "centos-7", &[], MASTER_LOCAL);
    assert_eq!(db.reconfigure().0, 0);
    let app = host(
        "app-1",
        "ubuntu-18.04",
        &[(&db, "db-1")],
        "web[:enable] = true\n",
    );
    copy_file(&db, &app, SECRETS);
    let pid = Pid::from_raw(scalr_installer::sim::supervisor::running_pid(&db.sim_root()).unwrap());
    kill(pid, Signal::SIGSTOP).unwrap();
    let (code, out, _) = app.reconfigure();
    kill(pid, Signal::SIGCONT).unwrap();
    assert_eq!(code, 1, "{out}");
    assert_contains(&out, "ERROR 2013 (HY000): Lost connection to MySQL server at 'reading initial communication packet'");
}
