//! Semantic checks on a parsed profile: every field rule, uniqueness, the layout, and the files
//! the profile refers to. All problems are collected; none stops the others from being found.

use super::rules;
use super::{EndpointSpec, PackageSpec, Profile, Scheme, SCHEMA_VERSION};
use crate::topology::Deployment;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A problem before it is placed in the file: the key path and the message.
pub type Finding = (String, String);

struct Findings(Vec<Finding>);

impl Findings {
    fn check(&mut self, key: impl Into<String>, result: Result<(), String>) {
        if let Err(message) = result {
            self.0.push((key.into(), message));
        }
    }
    fn push(&mut self, key: impl Into<String>, message: impl Into<String>) {
        self.0.push((key.into(), message.into()));
    }
}

/// Checks `profile`; with `base_dir` (the profile's directory) the files it names are checked too.
pub fn check(profile: &Profile, base_dir: Option<&Path>) -> Vec<Finding> {
    let mut f = Findings(Vec::new());
    if profile.schema != SCHEMA_VERSION {
        f.push(
            "schema",
            format!(
                "schema {} is not one this installer reads — use schema = {SCHEMA_VERSION}, or the scalr-installer \
                 release that wrote this profile",
                profile.schema
            ),
        );
    }
    f.check("name", rules::deployment_name(&profile.name));
    check_scalr(profile, base_dir, &mut f);
    check_package(&profile.package, base_dir, &mut f);
    check_endpoint(&profile.endpoint, base_dir, &mut f);
    for cloud in profile.network.clouds.keys() {
        f.check(format!("network.clouds.{cloud}"), rules::cloud_id(cloud));
    }
    for (i, range) in profile.network.ip_ranges.iter().enumerate() {
        f.check(format!("network.ip_ranges[{i}]"), rules::cidr(range));
    }
    if let Some(db) = &profile.database.external {
        f.check("database.external.host", rules::address(&db.host));
        f.check("database.external.port", rules::port(db.port));
        f.check(
            "database.external.password_env",
            rules::env_var_name(&db.password_env),
        );
    }
    check_ssh(profile, base_dir, &mut f);
    check_hosts(profile, base_dir, &mut f);

    // Layout rules only make sense once every host is individually sound.
    if f.0.iter().all(|(key, _)| !key.starts_with("hosts")) {
        if let Err(errors) = Deployment::resolve(profile) {
            f.0.extend(errors.into_iter().map(|e| (e.key, e.message)));
        }
    }
    f.0
}

fn check_scalr(profile: &Profile, base_dir: Option<&Path>, f: &mut Findings) {
    if let Some(version) = &profile.scalr.version {
        f.check("scalr.version", rules::version(version));
    }
    let license = &profile.scalr.license_file;
    if license.as_os_str().is_empty() {
        f.push(
            "scalr.license_file",
            "no licence file is given — set license_file to the license.json Scalr issued you \
             (relative to this profile or absolute)",
        );
        return;
    }
    if !check_path(f, "scalr.license_file", license) {
        return;
    }
    if let Some(dir) = base_dir {
        let path = resolve_path(dir, license);
        match std::fs::read(&path) {
            Ok(bytes) => {
                if serde_json::from_slice::<serde_json::Value>(&bytes).is_err() {
                    f.push(
                        "scalr.license_file",
                        format!(
                            "{} is not valid JSON, so it is not a Scalr licence — use the license.json file Scalr sent you, unmodified",
                            path.display()
                        ),
                    );
                }
            }
            Err(e) => f.push(
                "scalr.license_file",
                format!(
                    "the licence file {} cannot be read ({}) — put the license.json Scalr issued you there, or fix the path",
                    rules::shortened(&path.to_string_lossy()),
                    io_reason(&e)
                ),
            ),
        }
    }
}

fn check_package(package: &PackageSpec, base_dir: Option<&Path>, f: &mut Findings) {
    match package {
        PackageSpec::Packagecloud {
            repository,
            token_env,
        } => {
            f.check("package.repository", rules::repository(repository));
            f.check("package.token_env", rules::env_var_name(token_env));
        }
        PackageSpec::Local { files } => {
            if files.is_empty() {
                f.push(
                    "package.files",
                    "no package file is listed — list the scalr-server .rpm or .deb files to upload, \
                     or use source = \"packagecloud\"",
                );
            }
            for (i, file) in files.iter().enumerate() {
                let key = format!("package.files[{i}]");
                check_existing_file(f, &key, base_dir, file, "package file");
            }
        }
    }
}

fn check_endpoint(endpoint: &EndpointSpec, base_dir: Option<&Path>, f: &mut Findings) {
    f.check("endpoint.host", rules::address(&endpoint.host));
    let files = [
        ("tls_cert", &endpoint.tls_cert, "certificate"),
        ("tls_key", &endpoint.tls_key, "private key"),
    ];
    match endpoint.scheme {
        Scheme::Https => {
            for (name, file, what) in files {
                let key = format!("endpoint.{name}");
                match file {
                    None => f.push(
                        "endpoint",
                        format!(
                            "scheme = \"https\" needs the TLS {what} the proxies serve — set {name} to its PEM file"
                        ),
                    ),
                    Some(path) => check_existing_file(f, &key, base_dir, path, &format!("TLS {what}")),
                }
            }
        }
        Scheme::Http => {
            for (name, file, _) in files {
                if file.is_some() {
                    f.push(
                        format!("endpoint.{name}"),
                        format!("{name} is only used with scheme = \"https\" — set scheme = \"https\", or remove {name}"),
                    );
                }
            }
        }
    }
}

fn check_ssh(profile: &Profile, base_dir: Option<&Path>, f: &mut Findings) {
    let ssh = &profile.ssh;
    f.check("ssh.user", rules::user(&ssh.user));
    f.check("ssh.port", rules::port(ssh.port));
    if let Some(key) = &ssh.key {
        check_existing_file(f, "ssh.key", base_dir, key, "SSH private key");
    }
    if let Some(known_hosts) = &ssh.known_hosts {
        check_path(f, "ssh.known_hosts", known_hosts);
    }
    if let Some(jump) = &ssh.jump_host {
        f.check("ssh.jump_host", rules::jump_host(jump));
    }
    f.check(
        "ssh.connect_timeout_secs",
        rules::connect_timeout_secs(ssh.connect_timeout_secs),
    );
    let limits = [
        ("ssh.keepalive_secs", ssh.keepalive_secs, 1, 300, 15),
        (
            "ssh.command_timeout_secs",
            ssh.command_timeout_secs,
            5,
            3600,
            120,
        ),
        (
            "ssh.reconnect_window_secs",
            ssh.reconnect_window_secs,
            1,
            3600,
            120,
        ),
    ];
    for (key, value, min, max, default) in limits {
        if let Some(value) = value {
            f.check(key, rules::seconds_within(value, min, max, default));
        }
    }
}

fn check_hosts(profile: &Profile, base_dir: Option<&Path>, f: &mut Findings) {
    if profile.hosts.is_empty() {
        f.push(
            "hosts",
            "no host is listed — add a [[hosts]] entry with name and address for each VM",
        );
        return;
    }
    let mut names: BTreeMap<&str, usize> = BTreeMap::new();
    let mut addresses: BTreeMap<&str, usize> = BTreeMap::new();
    let mut private: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, host) in profile.hosts.iter().enumerate() {
        let at = |k: &str| format!("hosts[{i}].{k}");
        f.check(at("name"), rules::host_name(&host.name));
        f.check(at("address"), rules::address(&host.address));
        if let Some(p) = &host.private_address {
            f.check(at("private_address"), rules::address(p));
        }
        if let Some(user) = &host.ssh.user {
            f.check(at("ssh.user"), rules::user(user));
        }
        if let Some(port) = host.ssh.port {
            f.check(at("ssh.port"), rules::port(port));
        }
        if let Some(key) = &host.ssh.key {
            check_existing_file(f, &at("ssh.key"), base_dir, key, "SSH private key");
        }
        if let Some(fp) = &host.ssh.fingerprint {
            f.check(at("ssh.fingerprint"), rules::fingerprint(fp));
        }

        if let Some(first) = names.insert(&host.name, i) {
            names.insert(&profile.hosts[first].name, first);
            f.push(
                at("name"),
                format!(
                    "\"{}\" is already the name of hosts[{first}] — give every host its own name",
                    host.name
                ),
            );
        }
        if let Some(first) = addresses.insert(&host.address, i) {
            addresses.insert(&profile.hosts[first].address, first);
            f.push(
                at("address"),
                format!(
                    "\"{}\" is already the address of host \"{}\" — every host needs its own address",
                    host.address, profile.hosts[first].name
                ),
            );
        }
        if let Some(first) = private.insert(host.private_address(), i) {
            private.insert(profile.hosts[first].private_address(), first);
            if host.private_address.is_some() {
                f.push(
                    at("private_address"),
                    format!(
                        "\"{}\" is already the private address of host \"{}\" — every host needs its own private address",
                        host.private_address(),
                        profile.hosts[first].name
                    ),
                );
            } else if host.address != profile.hosts[first].address {
                f.push(
                    at("address"),
                    format!(
                        "\"{}\" is already the private address of host \"{}\" — every host needs its own address",
                        host.address, profile.hosts[first].name
                    ),
                );
            }
        }
    }
}

/// Checks a path value; returns whether it is usable at all.
fn check_path(f: &mut Findings, key: &str, path: &Path) -> bool {
    match path.to_str() {
        Some(s) => {
            let result = rules::path_value(s);
            let ok = result.is_ok();
            f.check(key, result);
            ok
        }
        None => {
            f.push(
                key,
                "the path is not valid UTF-8 — rename the file or move it to a plain path",
            );
            false
        }
    }
}

fn check_existing_file(
    f: &mut Findings,
    key: &str,
    base_dir: Option<&Path>,
    path: &Path,
    what: &str,
) {
    if !check_path(f, key, path) {
        return;
    }
    let Some(dir) = base_dir else { return };
    let resolved = resolve_path(dir, path);
    match std::fs::metadata(&resolved) {
        Ok(meta) if meta.is_file() => {}
        Ok(_) => f.push(
            key,
            format!(
                "{} is not a file — give the path of the {what} itself",
                rules::shortened(&resolved.to_string_lossy())
            ),
        ),
        Err(e) => f.push(
            key,
            format!(
                "the {what} {} cannot be read ({}) — fix the path (relative paths start at the profile's folder)",
                rules::shortened(&resolved.to_string_lossy()),
                io_reason(&e)
            ),
        ),
    }
}

fn io_reason(e: &std::io::Error) -> &'static str {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file",
        std::io::ErrorKind::PermissionDenied => "permission denied",
        _ => "unreadable",
    }
}

/// Relative paths are relative to the profile's folder; `~/` is the user's home.
pub fn resolve_path(base_dir: &Path, path: &Path) -> PathBuf {
    if let Ok(rest) = path.strip_prefix("~") {
        if let Some(home) = std::env::var_os("HOME") {
            return PathBuf::from(home).join(rest);
        }
    }
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        base_dir.join(path)
    }
}
