//! Every rule a profile must follow, each with the exact message the operator reads.

use scalr_installer::profile::{self, parse_checked, Problem};
use std::path::Path;

const VALID: &str = r#"schema = 1
name = "prod"
layout = "ha"

[scalr]
license_file = "license.json"

[package]
source = "packagecloud"

[endpoint]
host = "scalr.example.test"

[[hosts]]
name = "app-1"
address = "192.0.2.11"
role = "app"

[[hosts]]
name = "app-2"
address = "192.0.2.12"
role = "app"

[[hosts]]
name = "worker"
address = "192.0.2.21"
role = "worker"

[[hosts]]
name = "influxdb"
address = "192.0.2.31"
role = "influxdb"

[[hosts]]
name = "db-master"
address = "192.0.2.41"
role = "db-master"

[[hosts]]
name = "db-slave"
address = "192.0.2.42"
role = "db-slave"
"#;

fn fixtures() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures"))
}

/// The problems as the operator sees them, for a profile notionally at `p.toml`.
fn problems(source: &str) -> Vec<String> {
    match parse_checked(source, Some(fixtures())) {
        Ok(_) => vec![],
        Err(problems) => problems
            .iter()
            .map(|p: &Problem| p.display_for(Path::new("p.toml")).to_string())
            .collect(),
    }
}

fn with(from: &str, to: &str) -> String {
    assert!(VALID.contains(from), "{from}");
    VALID.replacen(from, to, 1)
}

#[test]
fn the_reference_profile_is_valid() {
    assert_eq!(problems(VALID), Vec::<String>::new());
}

#[test]
fn a_toml_syntax_error_names_line_and_column() {
    let p = problems(&with("name = \"prod\"", "name = \"prod"));
    assert_eq!(p.len(), 1);
    assert!(p[0].starts_with("p.toml:2:"), "{p:?}");
}

#[test]
fn an_unknown_key_suggests_the_closest_valid_one() {
    let p = problems(&with(
        "address = \"192.0.2.12\"",
        "address = \"192.0.2.12\"\nprivat_address = \"192.0.2.99\"",
    ));
    assert_eq!(p, ["p.toml:22:1: hosts[1].privat_address: unknown key `privat_address` — did you mean `private_address`?"]);
}

#[test]
fn an_unknown_value_suggests_the_closest_valid_one() {
    let p = problems(&with("layout = \"ha\"", "layout = \"hha\""));
    assert_eq!(
        p,
        ["p.toml:3:10: layout: unknown value \"hha\" — did you mean \"ha\"?"]
    );
}

#[test]
fn a_wrong_type_says_what_was_expected() {
    let p = problems(&with("schema = 1", "schema = \"one\""));
    assert_eq!(
        p,
        ["p.toml:1:10: schema: expected u32, found string \"one\" — write the value as u32"]
    );
}

#[test]
fn an_invalid_address_shows_a_valid_example() {
    let p = problems(&with("192.0.2.42", "10.0.0.300"));
    assert_eq!(
        p,
        ["p.toml:41:11: hosts[5].address: \"10.0.0.300\" is not a valid IP address or DNS name — use e.g. \"10.0.0.30\" or \"db1.example.com\""]
    );
}

#[test]
fn port_zero_is_refused() {
    let p = problems(&with("[endpoint]", "[ssh]\nport = 0\n\n[endpoint]"));
    assert_eq!(
        p,
        ["p.toml:12:8: ssh.port: port 0 cannot be connected to — use a TCP port from 1 to 65535 (SSH is usually 22)"]
    );
}

#[test]
fn a_port_above_65535_is_refused_with_the_range() {
    let p = problems(&with("[endpoint]", "[ssh]\nport = 70000\n\n[endpoint]"));
    assert_eq!(p.len(), 1);
    assert!(
        p[0].starts_with("p.toml:12:8: ssh.port: ")
            && p[0].ends_with("use a number from 1 to 65535"),
        "{p:?}"
    );
}

#[test]
fn duplicate_host_names_are_refused() {
    let p = problems(&with("name = \"app-2\"", "name = \"app-1\""));
    assert_eq!(
        p,
        ["p.toml:20:8: hosts[1].name: \"app-1\" is already the name of hosts[0] — give every host its own name"]
    );
}

#[test]
fn duplicate_addresses_are_refused() {
    let p = problems(&with("192.0.2.12", "192.0.2.11"));
    assert_eq!(
        p,
        ["p.toml:21:11: hosts[1].address: \"192.0.2.11\" is already the address of host \"app-1\" — every host needs its own address"]
    );
}

#[test]
fn an_ha_layout_missing_a_role_says_which() {
    let p = problems(&with("role = \"db-slave\"", "role = \"app\""));
    assert_eq!(
        p,
        [
            "p.toml:14:1: hosts: the ha layout needs exactly 2 hosts with role = \"app\", but 3 are (app-1, app-2, db-slave) — adjust the roles, or use layout = \"custom\" to place modules freely",
            "p.toml:14:1: hosts: the ha layout needs exactly 1 host with role = \"db-slave\", but none is — adjust the roles, or use layout = \"custom\" to place modules freely",
        ]
    );
}

const CUSTOM: &str = r#"schema = 1
name = "lab"
layout = "custom"

[scalr]
license_file = "license.json"

[package]
source = "packagecloud"

[endpoint]
host = "scalr.example.test"

[[hosts]]
name = "one"
address = "192.0.2.1"
modules = ["proxy", "app", "session", "worker", "rabbitmq", "influxdb"]

[[hosts]]
name = "two"
address = "192.0.2.2"
modules = ["main-db", "analytics-db"]
"#;

#[test]
fn a_custom_layout_needs_exactly_one_worker() {
    let src = CUSTOM.replace(
        "modules = [\"main-db\", \"analytics-db\"]",
        "modules = [\"main-db\", \"analytics-db\", \"worker\"]",
    );
    assert_eq!(
        problems(&src),
        ["p.toml:14:1: hosts: the Worker module runs on 2 hosts (one, two), but exactly one host may run it: the background jobs must run once (a second worker would duplicate them) — keep it on one of them"]
    );
}

#[test]
fn a_custom_layout_must_place_every_module() {
    let src = CUSTOM.replace(", \"influxdb\"]", "]");
    assert_eq!(
        problems(&src),
        ["p.toml:14:1: hosts: no host runs the InfluxDB module — add \"influxdb\" to one host's modules"]
    );
}

#[test]
fn a_custom_layout_allows_at_most_two_database_hosts() {
    let src = format!(
        "{CUSTOM}\n[[hosts]]\nname = \"three\"\naddress = \"192.0.2.3\"\nmodules = [\"main-db\", \"analytics-db\"]\n\n[[hosts]]\nname = \"four\"\naddress = \"192.0.2.4\"\nmodules = [\"main-db\", \"analytics-db\"]\n"
    );
    assert_eq!(
        problems(&src),
        ["p.toml:14:1: hosts: 3 hosts run the database (two, three, four), but Scalr supports at most two: one active and one passive replica — remove \"main-db\" and \"analytics-db\" from the others"]
    );
}

#[test]
fn two_database_hosts_need_exactly_one_replica() {
    let src = format!("{CUSTOM}\n[[hosts]]\nname = \"three\"\naddress = \"192.0.2.3\"\nmodules = [\"main-db\", \"analytics-db\"]\n");
    assert_eq!(
        problems(&src),
        ["p.toml:14:1: hosts: two hosts run the database (\"two\" and \"three\"): one is active and the other its passive replica — set db_replica = true on exactly one of them"]
    );
}

#[test]
fn a_missing_licence_file_is_named() {
    let p = problems(&with(
        "license_file = \"license.json\"",
        "license_file = \"nope.json\"",
    ));
    let expected = format!(
        "p.toml:6:16: scalr.license_file: the licence file {}/nope.json cannot be read (no such file) — put the license.json Scalr issued you there, or fix the path",
        fixtures().display()
    );
    assert_eq!(p, [expected]);
}

#[test]
fn shell_metacharacters_in_a_host_name_are_refused() {
    let p = problems(&with("name = \"worker\"", "name = \"worker;reboot\""));
    assert_eq!(
        p,
        ["p.toml:25:8: hosts[2].name: \"worker;reboot\" is not a valid host name — use 1 to 63 lowercase letters, digits and hyphens, not starting or ending with a hyphen (e.g. \"app-1\")"]
    );
}

#[test]
fn shell_metacharacters_in_an_ssh_user_are_refused() {
    let p = problems(&with(
        "[endpoint]",
        "[ssh]\nuser = \"root$(id)\"\n\n[endpoint]",
    ));
    assert_eq!(
        p,
        ["p.toml:12:8: ssh.user: \"root$(id)\" is not a valid user name — use up to 32 lowercase letters, digits, '_' and '-', starting with a letter or '_' (e.g. \"root\" or \"centos\")"]
    );
}

#[test]
fn a_path_with_a_newline_is_refused() {
    let p = problems(&with(
        "license_file = \"license.json\"",
        "license_file = \"lic\\nense.json\"",
    ));
    assert_eq!(
        p,
        ["p.toml:6:16: scalr.license_file: \"lic\\nense.json\" contains a control character (newline, tab, escape…) — rename the file or give a path without them"]
    );
}

#[test]
fn https_needs_a_certificate_and_key() {
    let p = problems(&with(
        "host = \"scalr.example.test\"",
        "host = \"scalr.example.test\"\nscheme = \"https\"",
    ));
    assert_eq!(
        p,
        [
            "p.toml:11:1: endpoint: scheme = \"https\" needs the TLS certificate the proxies serve — set tls_cert to its PEM file",
            "p.toml:11:1: endpoint: scheme = \"https\" needs the TLS private key the proxies serve — set tls_key to its PEM file",
        ]
    );
}

#[test]
fn an_external_database_replaces_the_database_hosts() {
    let src = with(
        "[endpoint]",
        "[database.external]\nhost = \"db.example.test\"\n\n[endpoint]",
    );
    let p = problems(&src);
    assert_eq!(p.len(), 2, "{p:?}");
    assert_eq!(
        p[0],
        "p.toml:40:8: hosts[4].role: host \"db-master\" is a db-master but the database is external ([database.external]) — remove this host, or remove [database.external] to run the bundled MySQL"
    );
}

#[test]
fn an_unknown_cloud_suggests_scalrs_name_for_it() {
    let p = problems(&with(
        "[endpoint]",
        "[network.clouds]\naws = \"local\"\n\n[endpoint]",
    ));
    assert_eq!(p, ["p.toml:12:7: network.clouds.aws: \"aws\" is not a cloud Scalr knows — Scalr calls AWS \"ec2\""]);
}

#[test]
fn every_semantic_problem_is_reported_at_once() {
    let src = with("name = \"prod\"", "name = \"Prod!\"").replace("192.0.2.31", "300.1.1.1");
    assert_eq!(problems(&src).len(), 2);
}

#[test]
fn loading_a_file_reports_its_path() {
    let err = profile::load(Path::new("/nonexistent/p.toml")).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("/nonexistent/p.toml: cannot read the profile"),
        "{err}"
    );
}

#[test]
fn ssh_time_limits_are_checked_and_located() {
    let p = problems(&with(
        "[endpoint]",
        "[ssh]\nkeepalive_secs = 0\ncommand_timeout_secs = 30\nreconnect_window_secs = 99999\n\n[endpoint]",
    ));
    assert_eq!(
        p,
        [
            "p.toml:12:18: ssh.keepalive_secs: 0 seconds is out of range — use 1 to 300 (or leave it out for 15)",
            "p.toml:14:25: ssh.reconnect_window_secs: 99999 seconds is out of range — use 1 to 3600 (or leave it out for 120)",
        ]
    );
}
