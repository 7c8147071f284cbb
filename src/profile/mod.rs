//! What the operator wants: the profile file, its loading and its validation.

pub mod error;
pub mod locate;
pub mod model;
pub mod rules;
pub mod validate;

pub use error::{Problem, ProfileError};
pub use model::*;

use std::path::{Path, PathBuf};

/// A profile that passed every check, with where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedProfile {
    pub profile: Profile,
    /// The file it was read from, as given.
    pub path: PathBuf,
    /// The folder relative paths in the profile start from.
    pub dir: PathBuf,
}

impl LoadedProfile {
    /// A path from the profile, made usable from the current directory.
    pub fn resolve(&self, path: &Path) -> PathBuf {
        validate::resolve_path(&self.dir, path)
    }

    pub fn license_path(&self) -> PathBuf {
        self.resolve(&self.profile.scalr.license_file)
    }

    pub fn tls_cert_path(&self) -> Option<PathBuf> {
        self.profile
            .endpoint
            .tls_cert
            .as_deref()
            .map(|p| self.resolve(p))
    }

    pub fn tls_key_path(&self) -> Option<PathBuf> {
        self.profile
            .endpoint
            .tls_key
            .as_deref()
            .map(|p| self.resolve(p))
    }

    /// The private key to log in to `host` with (its own, else the global one), if any.
    pub fn ssh_key_path(&self, host: &HostSpec) -> Option<PathBuf> {
        host.ssh
            .key
            .as_deref()
            .or(self.profile.ssh.key.as_deref())
            .map(|p| self.resolve(p))
    }

    pub fn known_hosts_path(&self) -> Option<PathBuf> {
        self.profile
            .ssh
            .known_hosts
            .as_deref()
            .map(|p| self.resolve(p))
    }

    /// With `source = "local"`: the package files to upload.
    pub fn package_files(&self) -> Vec<PathBuf> {
        match &self.profile.package {
            PackageSpec::Local { files } => files.iter().map(|p| self.resolve(p)).collect(),
            PackageSpec::Packagecloud { .. } => Vec::new(),
        }
    }

    pub fn host(&self, name: &str) -> Option<&HostSpec> {
        self.profile.hosts.iter().find(|h| h.name == name)
    }
}

/// Reads and checks the profile at `path`. Nothing else happens: no file is written, no host
/// contacted.
pub fn load(path: &Path) -> Result<LoadedProfile, ProfileError> {
    let source = std::fs::read_to_string(path).map_err(|source| ProfileError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let profile = parse_checked(&source, Some(&dir)).map_err(|problems| ProfileError::Invalid {
        path: path.to_path_buf(),
        problems,
    })?;
    Ok(LoadedProfile {
        profile,
        path: path.to_path_buf(),
        dir,
    })
}

/// Parses and checks profile text; with `base_dir` the files it names are checked as well.
/// This is `load` without the file, for the wizard and for tests.
pub fn parse_checked(source: &str, base_dir: Option<&Path>) -> Result<Profile, Vec<Problem>> {
    let doc = toml_edit::Document::parse(source);
    let profile: Profile = match toml::from_str(source) {
        Ok(p) => p,
        Err(e) => return Err(vec![syntax_problem(source, doc.as_ref().ok(), &e)]),
    };
    let findings = validate::check(&profile, base_dir);
    if findings.is_empty() {
        return Ok(profile);
    }
    let doc = doc.ok();
    Err(findings
        .into_iter()
        .map(|(key, message)| {
            let (line, column) = doc
                .as_ref()
                .and_then(|d| locate::offset_of(d, &key))
                .map_or((0, 0), |o| locate::line_column(source, o));
            Problem {
                key: Some(key),
                line,
                column,
                message,
            }
        })
        .collect())
}

/// Serialises a profile as TOML, the way the wizard saves it.
pub fn to_toml(profile: &Profile) -> String {
    toml::to_string_pretty(profile).expect("the profile model always serialises to TOML")
}

fn syntax_problem(
    source: &str,
    doc: Option<&toml_edit::Document<&str>>,
    e: &toml::de::Error,
) -> Problem {
    let (line, column) = e
        .span()
        .map_or((0, 0), |s| locate::line_column(source, s.start));
    let key = e
        .span()
        .and_then(|s| doc.and_then(|d| locate::path_at(d, s.start)));
    Problem {
        key,
        line,
        column,
        message: explain_serde_message(e.message()),
    }
}

/// Turns serde's wording into an operator's: what is wrong, then what would be right.
fn explain_serde_message(message: &str) -> String {
    let message = message.trim_end();
    let ticked = |s: &str| -> Vec<String> {
        s.split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect()
    };
    for (prefix, what) in [("unknown field `", "key"), ("unknown variant `", "value")] {
        if let Some(rest) = message.strip_prefix(prefix) {
            let Some((bad, expected)) = rest.split_once('`') else {
                break;
            };
            let options = ticked(expected);
            let suggestion = rules::closest(bad, options.iter().map(String::as_str));
            let listed = options
                .iter()
                .map(|o| format!("`{o}`"))
                .collect::<Vec<_>>()
                .join(", ");
            return match (suggestion, what) {
                (Some(s), "key") => format!("unknown key `{bad}` — did you mean `{s}`?"),
                (Some(s), _) => format!("unknown value \"{bad}\" — did you mean \"{s}\"?"),
                (None, "key") if options.is_empty() => format!("unknown key `{bad}` — remove it"),
                (None, "key") => {
                    format!("unknown key `{bad}` — the keys allowed here are {listed}")
                }
                (None, _) => format!("unknown value \"{bad}\" — use one of {listed}"),
            };
        }
    }
    if let Some(rest) = message.strip_prefix("missing field `") {
        if let Some((field, _)) = rest.split_once('`') {
            return format!("the required key `{field}` is missing — add it");
        }
    }
    if let Some(rest) = message.strip_prefix("invalid type: ") {
        if let Some((found, expected)) = rest.split_once(", expected ") {
            return format!("expected {expected}, found {found} — write the value as {expected}");
        }
    }
    if message.starts_with("invalid value: integer") && message.contains("u16") {
        return format!("{message} — use a number from 1 to 65535");
    }
    message.to_string()
}
