//! `scalr-server-wizard`, `scalr-server-ctl reconfigure`, the services it starts and
//! `scalr-server-manage`, on one simulated VM; including every injected fault.

mod sim_support;
use sim_support::*;
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

const SECRETS: &str = "/etc/scalr-server/scalr-server-secrets.json";

fn compact_vm() -> SimVm {
    let vm = SimVm::new("compact-1", "ubuntu-18.04", &[]);
    vm.install_package();
    let (code, out, err) = vm.sh("scalr-server-wizard", &[]);
    assert_eq!(code, 0, "{out}{err}");
    vm
}

fn progress_lines(out: &str) -> Vec<&str> {
    out.lines().filter(|l| l.contains(") ... [")).collect()
}

#[test]
fn the_wizard_generates_secrets_0600_and_a_single_server_config_once() {
    let vm = SimVm::new("compact-1", "ubuntu-18.04", &[]);
    vm.install_package();
    let (code, out, _) = vm.sh("scalr-server-wizard", &[]);
    assert_eq!(code, 0);
    assert_contains(&out, &vm.address.to_string());
    let mode = std::fs::metadata(vm.path(SECRETS))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let secrets: serde_json::Value = serde_json::from_str(&vm.read(SECRETS)).unwrap();
    assert!(secrets["mysql"]["scalr_password"]
        .as_str()
        .is_some_and(|s| s.len() > 16));
    let config = vm.read("/etc/scalr-server/scalr-server.rb");
    assert_contains(&config, "enable_all true");
    assert_contains(
        &config,
        &format!("routing[:endpoint_host] = \"{}\"", vm.address),
    );
    let (code, out, _) = vm.sh("scalr-server-wizard", &[]);
    assert_eq!(code, 0);
    assert_contains(
        &out,
        "/etc/scalr-server/scalr-server.rb already exists! Aborting.",
    );
}

#[test]
fn a_first_reconfigure_prints_ok_lines_logs_and_opens_the_service_ports() {
    let vm = compact_vm();
    let (code, out, err) = vm.reconfigure();
    assert_eq!(code, 0, "{out}{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        "Checking config file (scalr-server.rb) syntax ... [ OK ]"
    );
    assert_eq!(lines[1], "Preparing to reconfigure Scalr...");
    let progress = progress_lines(&out);
    assert!(progress.len() > 20, "{out}");
    assert!(
        progress
            .iter()
            .all(|l| l.ends_with("[ OK ]") || l.ends_with("[ SKIPPED ]")),
        "{out}"
    );
    assert!(
        !out.contains('\x1b'),
        "no colours when stdout is not a terminal"
    );
    assert_contains(
        &out,
        "Create main Scalr database structure (run) ... [ OK ]",
    );
    assert_contains(&out, "Supervisor service (start) ... [ OK ]");
    let logs: Vec<_> = std::fs::read_dir(vm.path("/opt/scalr-server/var/log/installer"))
        .unwrap()
        .flatten()
        .collect();
    assert_eq!(logs.len(), 1);
    let name = logs[0].file_name().into_string().unwrap();
    assert!(
        name.starts_with("reconfigure-")
            && name.ends_with(".log")
            && name.len() == "reconfigure-2020-01-01-00-00-00.log".len(),
        "{name}"
    );
    let secrets: serde_json::Value = serde_json::from_str(&vm.read(SECRETS)).unwrap();
    let log = std::fs::read_to_string(logs[0].path()).unwrap();
    assert!(
        !log.contains(secrets["mysql"]["root_password"].as_str().unwrap()),
        "secrets never reach the log"
    );

    // Compact defaults: MySQL 6280, memcached 6281, RabbitMQ 6275/6276/15671, InfluxDB 6290/6291, proxy 80/5671.
    for port in [
        6280, 6281, 6275, 6276, 15671, 6290, 6291, 6270, 6271, 6272, 80, 5671,
    ] {
        assert!(
            port_open(vm.addr(port)),
            "port {port} should listen on {}",
            vm.address
        );
    }
    assert!(!port_open(vm.addr(443)), "443 only with proxy[:ssl_enable]");

    let (code, out, _) = vm.sh("scalr-server-manage", &["status"]);
    assert_eq!(code, 0, "{out}");
    for name in [
        "scalr-mysql",
        "scalr-nginx",
        "scalr-rabbitmq",
        "scalr-influxdb",
        "scalr-memcached",
        "scalr-httpd",
        "scalr-crond",
        "plotter",
        "msgsender",
    ] {
        let line = lines_with(&out, name);
        assert!(
            line.iter().any(|l| l.starts_with(name)
                && l.contains(" RUNNING   pid ")
                && l.contains(", uptime 0:00:")),
            "{name}:\n{out}"
        );
    }
    assert_eq!(
        vm.sh("service", &["scalr", "status"]).1,
        "scalr is running\n"
    );
}

#[test]
fn a_second_reconfigure_with_unchanged_config_is_faster_and_mostly_skipped() {
    let vm = compact_vm();
    let start = Instant::now();
    assert_eq!(vm.reconfigure().0, 0);
    let first = start.elapsed();
    let start = Instant::now();
    let (code, out, _) = vm.reconfigure();
    let second = start.elapsed();
    assert_eq!(code, 0, "{out}");
    let progress = progress_lines(&out);
    let skipped = progress
        .iter()
        .filter(|l| l.ends_with("[ SKIPPED ]"))
        .count();
    assert!(skipped * 4 > progress.len() * 3, "mostly skipped:\n{out}");
    assert_contains(
        &out,
        "Create main Scalr database structure (run) ... [ SKIPPED ]",
    );
    assert!(second < first, "second {second:?} vs first {first:?}");
    assert!(port_open(vm.addr(6280)));
}

#[test]
fn changing_the_config_rewrites_only_what_changed_and_moves_the_ports() {
    let vm = compact_vm();
    assert_eq!(vm.reconfigure().0, 0);
    // Like the real cookbook, the app does not follow mysql[:bind_port] by itself.
    vm.write(
        "/etc/scalr-server/scalr-server-local.rb",
        "mysql[:bind_port] = 3306\n",
    );
    let (code, out, _) = vm.reconfigure();
    assert_eq!(code, 1, "{out}");
    assert_contains(
        &out,
        &format!("Can't connect to MySQL server on '{}' (111)", vm.address),
    );
    vm.write(
        "/etc/scalr-server/scalr-server-local.rb",
        "mysql[:bind_port] = 3306\napp[:mysql_scalr_port] = 3306\n",
    );
    let (code, out, _) = vm.reconfigure();
    assert_eq!(code, 0, "{out}");
    assert_contains(
        &out,
        "Checking config file (scalr-server-local.rb) syntax ... [ OK ]",
    );
    assert_contains(&out, "Create MySQL configuration file (/opt/scalr-server/etc/mysql/my.cnf) (create) ... [ SKIPPED ]");
    assert_contains(
        &out,
        "Create Scalr config file (/opt/scalr-server/etc/scalr/config.yml) (create) ... [ OK ]",
    );
    assert_contains(&out, "Generate nginx configuration (/opt/scalr-server/etc/nginx/nginx.conf) (create) ... [ SKIPPED ]");
    assert!(port_open(vm.addr(3306)));
    assert!(!port_open(vm.addr(6280)));
}

#[test]
fn a_syntax_error_fails_like_ruby_and_changes_nothing() {
    let vm = SimVm::new("compact-1", "ubuntu-18.04", &[]);
    vm.install_package();
    vm.write(
        "/etc/scalr-server/scalr-server.rb",
        "enable_all true\napp[:ip_ranges] = [\"127.0.0.1/32\"\nproxy[:enable] = true\n",
    );
    let (code, out, _) = vm.reconfigure();
    assert_eq!(code, 1);
    assert_eq!(
        out,
        "Checking config file (scalr-server.rb) syntax ... [ FAILED ]\n\
         /etc/scalr-server/scalr-server.rb:3: syntax error, unexpected tIDENTIFIER, expecting ']'\n"
    );
    assert!(
        !vm.exists(SECRETS),
        "nothing is written before the syntax check passes"
    );
    assert!(!vm.exists("/opt/scalr-server/var/log/installer"));
}

#[test]
fn less_than_the_ram_floor_is_refused() {
    let vm = compact_vm();
    vm.set_ram_kb(3_599_999);
    let (code, out, _) = vm.reconfigure();
    assert_eq!(
        (code, out.as_str()),
        (1, "Scalr requires a minimum of 4GB RAM to run.\n")
    );
    vm.set_ram_kb(3_600_000);
    assert_eq!(vm.reconfigure().0, 0);
}

#[test]
fn missing_secrets_are_regenerated_and_written_back_0600() {
    let vm = compact_vm();
    vm.write(SECRETS, r#"{"mysql": {"root_password": "kept-root-pw"}}"#);
    std::fs::set_permissions(vm.path(SECRETS), std::fs::Permissions::from_mode(0o644)).unwrap();
    let (code, out, _) = vm.reconfigure();
    assert_eq!(code, 0, "{out}");
    let secrets: serde_json::Value = serde_json::from_str(&vm.read(SECRETS)).unwrap();
    assert_eq!(secrets["mysql"]["root_password"], "kept-root-pw");
    for (section, key) in [
        ("mysql", "scalr_password"),
        ("mysql", "repl_password"),
        ("rabbitmq", "scalr_password"),
        ("app", "admin_password"),
        ("app", "secret_key"),
    ] {
        assert!(
            secrets[section][key]
                .as_str()
                .is_some_and(|s| !s.is_empty()),
            "{section}.{key}"
        );
    }
    let mode = std::fs::metadata(vm.path(SECRETS))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn a_fault_at_step_three_fails_there_with_the_real_failure_message() {
    let vm = compact_vm();
    vm.write("/etc/scalr-lab/faults.toml", "reconfigure_fail_at = 3\n");
    let (code, out, _) = vm.reconfigure();
    assert_eq!(code, 1);
    let progress = progress_lines(&out);
    assert_eq!(progress.len(), 4, "{out}");
    assert!(progress[3].ends_with("[ FAILED ]"), "{out}");
    assert!(out.trim_end().ends_with(
        "Scalr configuration failed! Please check error log (/opt/scalr-server/var/log/installer/) for more details."
    ));
    assert!(
        !port_open(vm.addr(6280)),
        "a failed run stops before the services start"
    );
    std::fs::remove_file(vm.path("/etc/scalr-lab/faults.toml")).unwrap();
    assert_eq!(
        vm.reconfigure().0,
        0,
        "clearing the fault lets the next run converge"
    );
}

#[test]
fn a_hang_fault_stops_after_preparing_and_never_finishes() {
    let vm = compact_vm();
    vm.write("/etc/scalr-lab/faults.toml", "reconfigure_hang = true\n");
    let out_path = vm.path("/tmp/ctl.out");
    std::fs::create_dir_all(out_path.parent().unwrap()).unwrap();
    let mut child = vm
        .command("scalr-server-ctl", &["reconfigure"])
        .stdout(std::fs::File::create(&out_path).unwrap())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !std::fs::read_to_string(&out_path)
        .unwrap()
        .contains("Preparing to reconfigure Scalr...")
    {
        assert!(Instant::now() < deadline, "Preparing never printed");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        child.try_wait().unwrap().is_none(),
        "still running after a full reconfigure's time"
    );
    assert!(!std::fs::read_to_string(&out_path)
        .unwrap()
        .contains(") ... ["));
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn a_slow_fault_multiplies_the_duration() {
    let vm = compact_vm();
    let start = Instant::now();
    assert_eq!(vm.reconfigure().0, 0);
    let normal = start.elapsed();
    let vm2 = compact_vm();
    vm2.write("/etc/scalr-lab/faults.toml", "reconfigure_slow = 5.0\n");
    let start = Instant::now();
    assert_eq!(vm2.reconfigure().0, 0);
    let slow = start.elapsed();
    // 0.4 s configured: the slow run takes at least 2 s, the normal one well under that.
    assert!(
        slow >= Duration::from_millis(1900),
        "slow run took {slow:?}"
    );
    assert!(normal * 2 < slow, "normal {normal:?} slow {slow:?}");
}

#[test]
fn manage_status_before_reconfigure_is_not_available_yet() {
    let vm = compact_vm();
    let (code, out, _) = vm.sh("scalr-server-manage", &["status"]);
    assert_eq!(code, 1);
    assert_eq!(
        out,
        "Not available yet!\nYou must run 'scalr-server-ctl reconfigure' first.\n"
    );
    let (code, out, _) = vm.sh("service", &["scalr", "status"]);
    assert_eq!((code, out.as_str()), (3, "scalr is not running\n"));
}

#[test]
fn stop_all_closes_the_ports_and_start_all_reopens_them() {
    let vm = compact_vm();
    assert_eq!(vm.reconfigure().0, 0);
    let (code, out, _) = vm.sh("scalr-server-manage", &["stop", "all"]);
    assert_eq!(
        (code, out.as_str()),
        (0, "Stop all service(s) ... [ OK ]\n")
    );
    for port in [6280, 80, 5671, 6275] {
        assert!(!port_open(vm.addr(port)), "{port} closed after stop all");
    }
    let (code, out, _) = vm.sh("scalr-server-manage", &["status"]);
    assert_eq!(code, 3, "{out}");
    assert!(
        lines_with(&out, "scalr-mysql")[0].contains("STOPPED"),
        "{out}"
    );
    let (code, _, _) = vm.sh("scalr-server-manage", &["start", "all"]);
    assert_eq!(code, 0);
    assert!(port_open(vm.addr(6280)));
    assert_eq!(vm.sh("scalr-server-manage", &["status"]).0, 0);
    let (code, out, _) = vm.sh("scalr-server-manage", &["stop", "scalr-nosuch"]);
    assert_eq!(code, 1);
    assert_contains(&out, "no such process");
}

#[test]
fn service_scalr_stop_and_start_control_the_supervisor() {
    let vm = compact_vm();
    assert_eq!(vm.reconfigure().0, 0);
    assert_eq!(vm.sh("service", &["scalr", "stop"]).0, 0);
    assert_eq!(vm.sh("service", &["scalr", "status"]).0, 3);
    assert!(!port_open(vm.addr(80)));
    assert_eq!(vm.sh("service", &["scalr", "start"]).0, 0);
    assert_eq!(
        vm.sh("service", &["scalr", "status"]).1,
        "scalr is running\n"
    );
    assert!(port_open(vm.addr(80)));
}

#[test]
fn a_port_already_taken_makes_the_supervisor_step_fail() {
    let vm = compact_vm();
    let _squatter = std::net::TcpListener::bind(vm.addr(6281)).unwrap();
    let (code, out, _) = vm.reconfigure();
    assert_eq!(code, 1);
    assert_contains(&out, "Supervisor service (start) ... [ FAILED ]");
    assert_contains(
        &out,
        &format!(
            "scalr-memcached: ERROR (spawn error): cannot listen on {}:6281",
            vm.address
        ),
    );
}

#[test]
fn on_a_terminal_the_tags_are_coloured_and_each_step_shows_before_it_finishes() {
    let vm = compact_vm();
    vm.write("/etc/scalr-lab/faults.toml", "reconfigure_slow = 4.0\n");
    let cmd = vm.command("scalr-server-ctl", &["reconfigure"]);
    let mut session = rexpect::session::spawn_command(cmd, Some(30_000)).unwrap();
    let start = Instant::now();
    session
        .exp_string("Preparing to reconfigure Scalr...")
        .unwrap();
    // The description is on screen while the step runs; its tag comes later.
    session
        .exp_string("Initialize MySQL data directory (/opt/scalr-server/var/lib/mysql) (run) ... ")
        .unwrap();
    let shown = start.elapsed();
    session.exp_string("\x1b[32m[ OK ]\x1b[0m").unwrap();
    session
        .exp_string("Supervisor service (start) ... \x1b[32m[ OK ]\x1b[0m")
        .unwrap();
    session.exp_eof().unwrap();
    let total = start.elapsed();
    assert!(
        shown * 3 < total,
        "steps are printed live: first seen at {shown:?} of {total:?}"
    );
}

#[test]
fn an_upgrade_then_reconfigure_runs_the_database_upgrade_step() {
    let vm = SimVm::new("compact-1", "ubuntu-18.04", &[]);
    vm.write_apt_source(TOKEN);
    assert_eq!(vm.sh("apt-get", &["update"]).0, 0);
    assert_eq!(
        vm.sh("apt-get", &["install", "-y", "scalr-server=8.0.0-1"])
            .0,
        0
    );
    assert_eq!(vm.sh("scalr-server-wizard", &[]).0, 0);
    assert_eq!(vm.reconfigure().0, 0);
    let (_, out, _) = vm.reconfigure();
    assert_contains(
        &out,
        "Upgrade Scalr Database (this might take a long time!) (run) ... [ SKIPPED ]",
    );
    assert_eq!(vm.sh("scalr-server-manage", &["stop", "all"]).0, 0);
    let (code, out, _) = vm.sh("apt-get", &["install", "-y", "scalr-server"]);
    assert_eq!(code, 0);
    assert_contains(&out, "Thank you for updating Scalr!");
    let (code, out, _) = vm.reconfigure();
    assert_eq!(code, 0, "{out}");
    assert_contains(
        &out,
        "Upgrade Scalr Database (this might take a long time!) (run) ... [ OK ]",
    );
    assert_eq!(vm.sh("scalr-server-manage", &["status"]).0, 0);
}

#[test]
fn without_root_the_tools_refuse_like_the_real_ones() {
    use std::os::unix::process::CommandExt;
    let vm = SimVm::new("app-1", "ubuntu-18.04", &[]);
    vm.write_apt_source(TOKEN);
    // Let the unprivileged user reach the tool links (the temp dir is 0700).
    let top = vm.root.parent().unwrap();
    std::fs::set_permissions(top, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&vm.root, std::fs::Permissions::from_mode(0o755)).unwrap();
    let as_nobody = |tool: &str, args: &[&str]| {
        let out = vm
            .command(tool, args)
            .uid(65534)
            .gid(65534)
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, err) = as_nobody("apt-get", &["install", "-y", "scalr-server"]);
    assert_eq!(code, 100);
    assert_contains(&err, "are you root?");
    let (code, err) = as_nobody("apt-get", &["update"]);
    assert_eq!(code, 100);
    assert_contains(&err, "Permission denied");
    assert!(!vm.exists("/opt/scalr-server"));
}

#[test]
fn an_undefined_constant_passes_the_syntax_check_and_fails_the_run() {
    let vm = SimVm::new("compact-1", "ubuntu-18.04", &[]);
    vm.install_package();
    vm.write(
        "/etc/scalr-server/scalr-server.rb",
        "enable_all true\nrouting[:endpoint_host] = ENDPOINT\n",
    );
    let (code, out, _) = vm.reconfigure();
    assert_eq!(code, 1);
    assert_eq!(
        out,
        "Checking config file (scalr-server.rb) syntax ... [ OK ]\n\
         /etc/scalr-server/scalr-server.rb:2: uninitialized constant ENDPOINT (NameError)\n\
         Scalr configuration failed! Please check error log (/opt/scalr-server/var/log/installer/) for more details.\n"
    );
    let (code, out, _) = vm.sh("scalr-server-ctl", &["config-test"]);
    assert_eq!(code, 1, "{out}");
    vm.write(
        "/etc/scalr-server/scalr-server.rb",
        "ENDPOINT = 'scalr.lab'\nenable_all true\nrouting[:endpoint_host] = ENDPOINT\n",
    );
    let (code, out, _) = vm.sh("scalr-server-ctl", &["show-config"]);
    assert_eq!(
        (code, out.as_str()),
        (
            0,
            "enable_all true\nrouting[:endpoint_host] = \"scalr.lab\"\n"
        )
    );
}
