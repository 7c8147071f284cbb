//! The files each host must hold under /etc/scalr-server, rendered from the templates in
//! `assets/templates` (embedded, so the binary needs nothing beside it).
//!
//! `render_deployment` is the single source of truth for what the engine uploads: the same
//! `scalr-server.rb`, secrets and licence everywhere, and each host's own local file.

pub mod ruby;

use crate::profile::{LoadedProfile, Scheme};
use crate::secrets::Secrets;
use crate::topology::{flags, DbRole, Deployment, HostPlan, Module};
use minijinja::value::Value;
use minijinja::{context, Environment, UndefinedBehavior};
use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

pub const CONFIG_DIR: &str = "/etc/scalr-server";
pub const MAIN_CONFIG: &str = "/etc/scalr-server/scalr-server.rb";
pub const LOCAL_CONFIG: &str = "/etc/scalr-server/scalr-server-local.rb";
pub const SECRETS_FILE: &str = "/etc/scalr-server/scalr-server-secrets.json";
pub const LICENSE_FILE: &str = "/etc/scalr-server/license.json";
pub const TLS_CERT: &str = "/etc/scalr-server/ssl/scalr.crt";
pub const TLS_KEY: &str = "/etc/scalr-server/ssl/scalr.key";
/// The proxy (nginx) reads the TLS key as this group.
pub const TLS_KEY_GROUP: &str = "scalr-app";

const MAIN_TEMPLATE: &str = include_str!("../../assets/templates/scalr-server.rb.j2");
const LOCAL_TEMPLATE: &str = include_str!("../../assets/templates/scalr-server-local.rb.j2");

/// One file to place on a host.
#[derive(Clone, PartialEq, Eq)]
pub struct RenderedFile {
    /// Absolute path on the host.
    pub path: String,
    pub contents: Vec<u8>,
    pub mode: u32,
    /// Never show the contents (in diffs, logs or dry runs).
    pub secret: bool,
    /// A group that must own the file (root owns it otherwise).
    pub group: Option<String>,
}

impl std::fmt::Debug for RenderedFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RenderedFile")
            .field("path", &self.path)
            .field("bytes", &self.contents.len())
            .field("mode", &format_args!("{:o}", self.mode))
            .field("secret", &self.secret)
            .field("group", &self.group)
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostFiles {
    /// The host's name in the profile.
    pub host: String,
    pub files: Vec<RenderedFile>,
}

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("{}: cannot read the {what}: {source} — fix the path in the profile", path.display())]
    Read {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: cannot write: {source} — check that the output folder is writable", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("template {name} failed: {source} (a bug in scalr-installer — please report it)")]
    Template {
        name: &'static str,
        source: minijinja::Error,
    },
}

/// The licence file's bytes, to pass to `render_deployment`.
pub fn read_license(profile: &LoadedProfile) -> Result<Vec<u8>, RenderError> {
    read(profile.license_path(), "licence file")
}

fn read(path: PathBuf, what: &'static str) -> Result<Vec<u8>, RenderError> {
    fs::read(&path).map_err(|source| RenderError::Read { what, path, source })
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_syntax(
        minijinja::syntax::SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .build()
            .expect("the default delimiters are valid"),
    );
    // Every `{{ value }}` becomes a Ruby literal, so a template cannot forget to quote.
    env.set_formatter(|out, _state, value| {
        let text = ruby::literal(value)?;
        out.write_str(&text)
            .map_err(|_| minijinja::Error::new(minijinja::ErrorKind::WriteFailure, "write failed"))
    });
    // Comment text: printable characters only, so nothing can end the comment line.
    env.add_filter("comment", |value: Value| -> Value {
        let text = match value.as_str() {
            Some(s) => s.to_string(),
            None => value
                .try_iter()
                .map(|items| items.map(|v| v.to_string()).collect::<Vec<_>>().join(", "))
                .unwrap_or_else(|_| value.to_string()),
        };
        Value::from_safe_string(text.chars().filter(|c| !c.is_control()).collect())
    });
    // Attribute names we choose ourselves (`proxy`, `mysql`, …), written bare.
    env.add_filter(
        "ident",
        |value: String| -> Result<Value, minijinja::Error> {
            if !value.is_empty() && value.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
                Ok(Value::from_safe_string(value))
            } else {
                Err(minijinja::Error::new(
                    minijinja::ErrorKind::InvalidOperation,
                    format!("{value:?} is not an attribute name"),
                ))
            }
        },
    );
    env.add_template("scalr-server.rb", MAIN_TEMPLATE)
        .expect("the embedded main template parses");
    env.add_template("scalr-server-local.rb", LOCAL_TEMPLATE)
        .expect("the embedded local template parses");
    env
}

/// The files every host must hold, in profile order.
pub fn render_deployment(
    profile: &LoadedProfile,
    deployment: &Deployment,
    secrets: &Secrets,
    license: &[u8],
) -> Result<Vec<HostFiles>, RenderError> {
    let env = environment();
    let main = render_main(&env, profile, deployment)?;
    let https = profile.profile.endpoint.scheme == Scheme::Https;
    let tls = match (https, profile.tls_cert_path(), profile.tls_key_path()) {
        (true, Some(cert), Some(key)) => Some((
            read(cert, "TLS certificate")?,
            read(key, "TLS private key")?,
        )),
        _ => None,
    };
    let secrets_json = secrets.to_json();

    deployment
        .hosts
        .iter()
        .map(|host| {
            let mut files = vec![
                file(MAIN_CONFIG, main.clone(), 0o644, false),
                file(
                    LOCAL_CONFIG,
                    render_local(&env, profile, deployment, host)?,
                    0o644,
                    false,
                ),
                file(SECRETS_FILE, secrets_json.clone(), 0o600, true),
                file(LICENSE_FILE, license.to_vec(), 0o644, false),
            ];
            if let (Some((cert, key)), true) = (&tls, host.runs(Module::Proxy)) {
                files.push(file(TLS_CERT, cert.clone(), 0o644, false));
                let mut key = file(TLS_KEY, key.clone(), 0o640, true);
                key.group = Some(TLS_KEY_GROUP.into());
                files.push(key);
            }
            Ok(HostFiles {
                host: host.name.clone(),
                files,
            })
        })
        .collect()
}

fn file(path: &str, contents: Vec<u8>, mode: u32, secret: bool) -> RenderedFile {
    RenderedFile {
        path: path.into(),
        contents,
        mode,
        secret,
        group: None,
    }
}

fn render_main(
    env: &Environment,
    loaded: &LoadedProfile,
    deployment: &Deployment,
) -> Result<Vec<u8>, RenderError> {
    let profile = &loaded.profile;
    let https = profile.endpoint.scheme == Scheme::Https;
    let policy = |p: crate::profile::ConnectionPolicy| match p {
        crate::profile::ConnectionPolicy::Public => "public",
        crate::profile::ConnectionPolicy::Local => "local",
        crate::profile::ConnectionPolicy::Auto => "auto",
    };
    // Per-cloud policies are merged by the package into config.yml (reference §5).
    let configuration = if profile.network.clouds.is_empty() {
        None
    } else {
        let clouds: serde_json::Map<String, serde_json::Value> = profile
            .network
            .clouds
            .iter()
            .map(|(cloud, p)| {
                (
                    cloud.clone(),
                    serde_json::json!({ "instances_connection_policy": policy(*p) }),
                )
            })
            .collect();
        Some(serde_json::json!({ "scalr": clouds }))
    };
    let services = &deployment.services;
    let ctx = context! {
        deployment => profile.name.clone(),
        compact => deployment.layout == crate::profile::Layout::Compact,
        external_database => deployment.external_database,
        scheme => if https { "https" } else { "http" },
        endpoint => profile.endpoint.host.clone(),
        endpoint_port => if https { 443 } else { 80 },
        connection_policy => policy(profile.network.connection_policy),
        ip_ranges => profile.network.ip_ranges.clone(),
        configuration => configuration.as_ref().map(ruby::json_value),
        mysql_host => services.mysql_host.clone(),
        mysql_port => services.mysql_port,
        memcached_servers => services.memcached_servers.clone(),
        rabbitmq_host => services.rabbitmq_host.clone(),
        influxdb_host => services.influxdb_host.clone(),
        plotter_upstreams => vec![format!("{}:6200", services.worker_host)],
        rabbitmq_upstreams => vec![services.rabbitmq_host.clone()],
        https => https,
        ssl_cert_path => TLS_CERT,
        ssl_key_path => TLS_KEY,
    };
    render_template(env, "scalr-server.rb", ctx)
}

fn render_local(
    env: &Environment,
    loaded: &LoadedProfile,
    deployment: &Deployment,
    host: &HostPlan,
) -> Result<Vec<u8>, RenderError> {
    let slave_address = deployment
        .replication()
        .map(|(_, slave)| slave.private_address.clone());
    let ctx = context! {
        deployment => loaded.profile.name.clone(),
        host => host.name.clone(),
        compact => deployment.layout == crate::profile::Layout::Compact,
        modules => host.modules.iter().map(|m| m.title()).collect::<Vec<_>>(),
        groups => flags::enabled_groups(&host.modules),
        db_role => match host.db_role {
            DbRole::Master => "master",
            DbRole::Slave => "slave",
            DbRole::Standalone => "standalone",
            DbRole::None => "none",
        },
        slave_address => slave_address,
    };
    render_template(env, "scalr-server-local.rb", ctx)
}

fn render_template(
    env: &Environment,
    name: &'static str,
    ctx: Value,
) -> Result<Vec<u8>, RenderError> {
    env.get_template(name)
        .and_then(|t| t.render(ctx))
        .map(String::into_bytes)
        .map_err(|source| RenderError::Template { name, source })
}

/// Writes `out/<host>/<path>` for every file, each created with its mode (secrets are never
/// readable by others, not even for an instant).
pub fn write_tree(out: &Path, hosts: &[HostFiles]) -> Result<Vec<PathBuf>, RenderError> {
    let mut written = Vec::new();
    for host in hosts {
        for f in &host.files {
            let path = out.join(&host.host).join(f.path.trim_start_matches('/'));
            let werr = |source| RenderError::Write {
                path: path.clone(),
                source,
            };
            if let Some(parent) = path.parent() {
                fs::create_dir_all(parent).map_err(werr)?;
            }
            match fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(werr(e)),
                _ => {}
            }
            let mut handle = fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(f.mode)
                .open(&path)
                .map_err(werr)?;
            handle.write_all(&f.contents).map_err(werr)?;
            // The umask may have removed bits; set exactly the intended mode.
            fs::set_permissions(&path, fs::Permissions::from_mode(f.mode)).map_err(werr)?;
            written.push(path);
        }
    }
    Ok(written)
}
