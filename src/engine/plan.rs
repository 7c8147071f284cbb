//! The plan: desired state (rendered files, package version) against observed facts, per host:
//! which files to write (with a unified diff, secret values masked), which package to install or
//! upgrade, whether to reconfigure and why. Computed before anything changes, so `plan` shows the
//! truth of what `apply` will do.
//!
//! Also decides where the deployment's secrets come from: a secrets file already on the hosts is
//! adopted (never regenerated); hosts holding different ones stop the run.

use crate::engine::desired::DesiredFile;
use crate::engine::events::{PlannedChange, MASK};
use crate::engine::phases::facts::{HostFacts, SecretBytes};
use sha2::{Digest, Sha256};
use std::cmp::Ordering;
use std::collections::BTreeMap;

pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// One digest of everything a reconfigure reads, so "did the configuration change since the last
/// successful reconfigure" is one comparison.
pub fn config_digest(files: &[DesiredFile]) -> String {
    let mut sorted: Vec<&DesiredFile> = files.iter().collect();
    sorted.sort_by(|a, b| a.path.cmp(&b.path));
    let mut h = Sha256::new();
    for f in sorted {
        h.update(f.path.as_bytes());
        h.update([0]);
        h.update((f.contents.len() as u64).to_le_bytes());
        h.update(&f.contents);
    }
    h.finalize()
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PackageAction {
    /// `None`: the newest version in the repository.
    Install {
        version: Option<String>,
    },
    Upgrade {
        from: String,
        to: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileAction {
    pub path: String,
    pub created: bool,
    pub contents_changed: bool,
    pub mode_changed: bool,
    pub diff: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPlan {
    pub host: String,
    pub package: Option<PackageAction>,
    pub files: Vec<FileAction>,
    pub config_digest: String,
    /// Why this host is reconfigured; `None` when it is not.
    pub reconfigure: Option<String>,
}

impl HostPlan {
    pub fn changes(&self) -> Vec<PlannedChange> {
        let mut out = Vec::new();
        match &self.package {
            Some(PackageAction::Install { version }) => out.push(PlannedChange::InstallPackage {
                version: version.clone().unwrap_or_else(|| "newest".into()),
            }),
            Some(PackageAction::Upgrade { from, to }) => out.push(PlannedChange::UpgradePackage {
                from: from.clone(),
                to: to.clone(),
            }),
            None => {}
        }
        for f in &self.files {
            out.push(PlannedChange::WriteFile {
                path: f.path.clone(),
                diff: f.diff.clone(),
                created: f.created,
            });
        }
        if let Some(why) = &self.reconfigure {
            out.push(PlannedChange::Reconfigure { why: why.clone() });
        }
        out
    }

    pub fn is_empty(&self) -> bool {
        self.package.is_none() && self.files.is_empty() && self.reconfigure.is_none()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("the hosts hold different Scalr secrets files: {groups}. Every host must share one; decide which is right, copy that /etc/scalr-server/scalr-server-secrets.json to the other hosts (or remove the wrong ones), then re-run")]
    SecretsDisagree { groups: String },
    #[error("host {host} runs Scalr {installed}, newer than the profile's {wanted}: downgrades are not supported; set scalr.version to {installed} or newer")]
    Downgrade {
        host: String,
        installed: String,
        wanted: String,
    },
}

/// Compares dotted versions numerically where both parts are numbers (`7.15.2` < `8.0.0`).
pub fn compare_versions(a: &str, b: &str) -> Ordering {
    let parts = |v: &str| -> Vec<String> { v.split(['.', '-']).map(str::to_string).collect() };
    let (pa, pb) = (parts(a), parts(b));
    for i in 0..pa.len().max(pb.len()) {
        let (x, y) = (pa.get(i), pb.get(i));
        let ord = match (x, y) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Less,
            (Some(_), None) => Ordering::Greater,
            (Some(x), Some(y)) => match (x.parse::<u64>(), y.parse::<u64>()) {
                (Ok(x), Ok(y)) => x.cmp(&y),
                _ => x.cmp(y),
            },
        };
        if ord != Ordering::Equal {
            return ord;
        }
    }
    Ordering::Equal
}

pub fn package_action(
    host: &str,
    installed: Option<&str>,
    wanted: Option<&str>,
) -> Result<Option<PackageAction>, PlanError> {
    match (installed, wanted) {
        (None, w) => Ok(Some(PackageAction::Install {
            version: w.map(str::to_string),
        })),
        // Unpinned and present: a re-run never upgrades behind the operator's back.
        (Some(_), None) => Ok(None),
        (Some(i), Some(w)) => match compare_versions(i, w) {
            Ordering::Equal => Ok(None),
            Ordering::Less => Ok(Some(PackageAction::Upgrade {
                from: i.into(),
                to: w.into(),
            })),
            Ordering::Greater => Err(PlanError::Downgrade {
                host: host.into(),
                installed: i.into(),
                wanted: w.into(),
            }),
        },
    }
}

/// Decides where the secrets come from. `Ok(Some(bytes))`: every host holding a secrets file holds
/// the same one — adopt it. `Ok(None)`: no host has one — use the deployment's own.
pub fn adopt_secrets(
    found: &[(String, Option<SecretBytes>)],
) -> Result<Option<Vec<u8>>, PlanError> {
    // Group by meaning (parsed JSON) so formatting differences do not count as disagreement.
    let canonical = |b: &[u8]| -> Vec<u8> {
        serde_json::from_slice::<serde_json::Value>(b)
            .map(|v| v.to_string().into_bytes())
            .unwrap_or_else(|_| b.to_vec())
    };
    let mut groups: BTreeMap<Vec<u8>, (Vec<u8>, Vec<String>)> = BTreeMap::new();
    for (host, bytes) in found {
        if let Some(SecretBytes(b)) = bytes {
            groups
                .entry(canonical(b))
                .or_insert_with(|| (b.clone(), Vec::new()))
                .1
                .push(host.clone());
        }
    }
    match groups.len() {
        0 => Ok(None),
        1 => Ok(groups.into_values().next().map(|(b, _)| b)),
        _ => {
            let described: Vec<String> = groups
                .iter()
                .map(|(canon, (_, hosts))| {
                    format!(
                        "{} hold one (fingerprint {})",
                        hosts.join(", "),
                        &sha256_hex(canon)[..12]
                    )
                })
                .collect();
            Err(PlanError::SecretsDisagree {
                groups: described.join("; "),
            })
        }
    }
}

/// Masks every string value of a JSON document, keeping its keys, so a diff shows which secrets
/// change without showing any.
fn mask_json(text: &str) -> Option<String> {
    fn mask(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::String(s) => *s = MASK.to_string(),
            serde_json::Value::Array(a) => a.iter_mut().for_each(mask),
            serde_json::Value::Object(o) => o.values_mut().for_each(mask),
            _ => {}
        }
    }
    let mut v: serde_json::Value = serde_json::from_str(text).ok()?;
    mask(&mut v);
    serde_json::to_string_pretty(&v).ok().map(|s| s + "\n")
}

/// A unified diff of `old` → `new` for `path`; secret files show keys only.
pub fn file_diff(path: &str, old: Option<&[u8]>, new: &[u8], secret: bool) -> String {
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let (old_t, new_t) = (old.map(text).unwrap_or_default(), text(new));
    let (old_t, new_t) = if secret {
        match (
            old.map(|_| mask_json(&old_t))
                .unwrap_or(Some(String::new())),
            mask_json(&new_t),
        ) {
            (Some(o), Some(n)) => (o, n),
            _ => {
                return format!(
                    "{path}: secret contents differ (not shown, {} bytes)\n",
                    new.len()
                )
            }
        }
    } else {
        (old_t, new_t)
    };
    let from = if old.is_some() {
        format!("a{path}")
    } else {
        "/dev/null".into()
    };
    let diff = similar::TextDiff::from_lines(&old_t, &new_t)
        .unified_diff()
        .context_radius(3)
        .header(&from, &format!("b{path}"))
        .to_string();
    if diff.is_empty() && secret {
        format!("{path}: secret values change (not shown)\n")
    } else {
        diff
    }
}

/// Plans one host. `current` holds the host's present contents of the files whose hash differs
/// (read only for those, to build the diff).
pub fn plan_host(
    host: &str,
    files: &[DesiredFile],
    facts: &HostFacts,
    current: &BTreeMap<String, Vec<u8>>,
    wanted_version: Option<&str>,
) -> Result<HostPlan, PlanError> {
    let package = package_action(host, facts.installed_version.as_deref(), wanted_version)?;
    let mut actions = Vec::new();
    for f in files {
        let want_hash = sha256_hex(&f.contents);
        let have_hash = facts.file_hashes.get(&f.path);
        let contents_changed = have_hash != Some(&want_hash);
        let mode_changed = facts.file_modes.get(&f.path).is_some_and(|m| *m != f.mode);
        if !contents_changed && !mode_changed {
            continue;
        }
        let created = have_hash.is_none();
        let diff = if contents_changed {
            file_diff(
                &f.path,
                current.get(&f.path).map(Vec::as_slice),
                &f.contents,
                f.secret,
            )
        } else {
            format!(
                "{}: mode {:o} -> {:o}\n",
                f.path,
                facts.file_modes.get(&f.path).copied().unwrap_or(0),
                f.mode
            )
        };
        actions.push(FileAction {
            path: f.path.clone(),
            created,
            contents_changed,
            mode_changed,
            diff,
        });
    }
    let digest = config_digest(files);
    let reconfigure = reconfigure_reason(facts, &digest, &package, &actions);
    Ok(HostPlan {
        host: host.into(),
        package,
        files: actions,
        config_digest: digest,
        reconfigure,
    })
}

fn reconfigure_reason(
    facts: &HostFacts,
    digest: &str,
    package: &Option<PackageAction>,
    files: &[FileAction],
) -> Option<String> {
    let m = &facts.markers;
    if m.reconfigured_digest.is_none() {
        return Some("Scalr has not been configured on this host yet".into());
    }
    if let Some(PackageAction::Upgrade { to, .. }) = package {
        return Some(format!("the package is upgraded to {to}"));
    }
    let changed: Vec<&str> = files
        .iter()
        .filter(|f| f.contents_changed)
        .map(|f| f.path.as_str())
        .collect();
    if !changed.is_empty() {
        return Some(format!("configuration changed: {}", changed.join(", ")));
    }
    if m.reconfigured_digest.as_deref() != Some(digest) {
        return Some("the last reconfigure did not complete with this configuration".into());
    }
    if m.reconfigured_version.is_some() && m.reconfigured_version != facts.installed_version {
        return Some("the package changed since the last reconfigure".into());
    }
    None
}

/// The hosts to reconfigure, in wave order.
pub fn reconfigure_order(waves: &[Vec<String>], plans: &[HostPlan]) -> Vec<String> {
    waves
        .iter()
        .flatten()
        .filter(|h| {
            plans
                .iter()
                .any(|p| &p.host == *h && p.reconfigure.is_some())
        })
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::phases::facts::{Markers, OsInfo};

    fn file(path: &str, contents: &str, secret: bool) -> DesiredFile {
        DesiredFile {
            path: path.into(),
            contents: contents.as_bytes().to_vec(),
            mode: if secret { 0o600 } else { 0o644 },
            secret,
            group: None,
        }
    }

    fn desired() -> Vec<DesiredFile> {
        vec![
            file(
                "/etc/scalr-server/scalr-server.rb",
                "enable_all false\nrouting[:endpoint_host] = 'scalr.example.test'\n",
                false,
            ),
            file(
                "/etc/scalr-server/scalr-server-secrets.json",
                r#"{"mysql":{"root_password":"p4ssw0rd-root"}}"#,
                true,
            ),
        ]
    }

    fn empty_host() -> HostFacts {
        HostFacts {
            os: OsInfo {
                id: None,
                pretty: String::new(),
            },
            mem_total_kb: None,
            cpus: None,
            disk: None,
            installed_version: None,
            file_hashes: BTreeMap::new(),
            file_modes: BTreeMap::new(),
            secrets_file: None,
            markers: Markers::default(),
            listeners: vec![],
            clock_offset_secs: None,
            uid: Some(0),
            peer_probes: None,
        }
    }

    /// The facts of a host where a previous apply of `files` at `version` succeeded.
    fn converged(files: &[DesiredFile], version: &str) -> HostFacts {
        let mut f = empty_host();
        f.installed_version = Some(version.into());
        for d in files {
            f.file_hashes
                .insert(d.path.clone(), sha256_hex(&d.contents));
            f.file_modes.insert(d.path.clone(), d.mode);
        }
        f.markers.reconfigured_digest = Some(config_digest(files));
        f.markers.reconfigured_version = Some(version.into());
        f
    }

    #[test]
    fn an_empty_host_gets_the_package_every_file_and_a_reconfigure() {
        let plan = plan_host(
            "app-1",
            &desired(),
            &empty_host(),
            &BTreeMap::new(),
            Some("8.0.1"),
        )
        .unwrap();
        assert_eq!(
            plan.package,
            Some(PackageAction::Install {
                version: Some("8.0.1".into())
            })
        );
        assert_eq!(plan.files.len(), 2);
        assert!(plan.files.iter().all(|f| f.created));
        assert!(plan.reconfigure.unwrap().contains("not been configured"));
    }

    #[test]
    fn a_converged_host_plans_nothing() {
        let plan = plan_host(
            "app-1",
            &desired(),
            &converged(&desired(), "8.0.1"),
            &BTreeMap::new(),
            Some("8.0.1"),
        )
        .unwrap();
        assert!(plan.is_empty(), "{plan:?}");
    }

    #[test]
    fn a_changed_file_is_diffed_and_triggers_a_reconfigure_but_no_reinstall() {
        let old = desired();
        let facts = converged(&old, "8.0.1");
        let mut new = desired();
        new[0] = file("/etc/scalr-server/scalr-server.rb", "enable_all false\nrouting[:endpoint_host] = 'scalr.example.test'\napp[:instances_connection_policy] = 'local'\n", false);
        let current: BTreeMap<String, Vec<u8>> = [(old[0].path.clone(), old[0].contents.clone())]
            .into_iter()
            .collect();
        let plan = plan_host("app-1", &new, &facts, &current, Some("8.0.1")).unwrap();
        assert_eq!(plan.package, None);
        assert_eq!(plan.files.len(), 1);
        assert!(
            plan.files[0]
                .diff
                .contains("+app[:instances_connection_policy] = 'local'"),
            "{}",
            plan.files[0].diff
        );
        assert!(plan.files[0]
            .diff
            .starts_with("--- a/etc/scalr-server/scalr-server.rb"));
        assert!(plan.reconfigure.unwrap().contains("scalr-server.rb"));
    }

    #[test]
    fn secret_diffs_show_keys_but_never_values() {
        let old = br#"{"mysql":{"root_password":"old-secret-value"}}"#;
        let new =
            br#"{"mysql":{"root_password":"new-secret-value","repl_password":"another-one"}}"#;
        let diff = file_diff(
            "/etc/scalr-server/scalr-server-secrets.json",
            Some(old),
            new,
            true,
        );
        assert!(
            !diff.contains("secret-value") && !diff.contains("another-one"),
            "{diff}"
        );
        assert!(
            diff.contains("+    \"repl_password\": \"********\""),
            "{diff}"
        );
        let same_keys = file_diff(
            "/s.json",
            Some(old),
            br#"{"mysql":{"root_password":"changed!"}}"#,
            true,
        );
        assert_eq!(same_keys, "/s.json: secret values change (not shown)\n");
        let not_json = file_diff("/k.pem", Some(b"KEY1"), b"KEY2", true);
        assert!(!not_json.contains("KEY"), "{not_json}");
    }

    #[test]
    fn a_failed_reconfigure_is_redone_on_the_next_run() {
        let files = desired();
        let mut facts = converged(&files, "8.0.1");
        // Files were written, but the reconfigure that followed failed: the marker is older.
        facts.markers.reconfigured_digest = Some("0123".into());
        let plan = plan_host("db", &files, &facts, &BTreeMap::new(), Some("8.0.1")).unwrap();
        assert!(plan.files.is_empty());
        assert!(plan.reconfigure.unwrap().contains("did not complete"));
    }

    #[test]
    fn an_upgrade_reconfigures_and_a_downgrade_is_refused() {
        let files = desired();
        let facts = converged(&files, "8.0.0");
        let plan = plan_host("db", &files, &facts, &BTreeMap::new(), Some("8.0.1")).unwrap();
        assert_eq!(
            plan.package,
            Some(PackageAction::Upgrade {
                from: "8.0.0".into(),
                to: "8.0.1".into()
            })
        );
        assert!(plan.reconfigure.is_some());
        let err = plan_host("db", &files, &facts, &BTreeMap::new(), Some("7.15.2")).unwrap_err();
        assert!(err.to_string().contains("downgrades are not supported"));
    }

    #[test]
    fn an_unpinned_version_never_upgrades_an_installed_host() {
        assert_eq!(package_action("h", Some("7.15.2"), None).unwrap(), None);
        assert_eq!(
            package_action("h", None, None).unwrap(),
            Some(PackageAction::Install { version: None })
        );
    }

    #[test]
    fn versions_compare_numerically() {
        assert_eq!(compare_versions("7.15.2", "8.0.0"), Ordering::Less);
        assert_eq!(compare_versions("8.0.10", "8.0.9"), Ordering::Greater);
        assert_eq!(compare_versions("8.0.1", "8.0.1"), Ordering::Equal);
    }

    #[test]
    fn secrets_found_on_the_hosts_are_adopted_when_they_agree() {
        let a = SecretBytes(br#"{"app":{"secret_key":"k"}}"#.to_vec());
        let same_reformatted = SecretBytes(b"{\n  \"app\": { \"secret_key\": \"k\" }\n}".to_vec());
        let found = vec![
            ("db-master".to_string(), Some(a.clone())),
            ("app-1".to_string(), None),
            ("worker".to_string(), Some(same_reformatted)),
        ];
        assert_eq!(adopt_secrets(&found).unwrap(), Some(a.0));
        assert_eq!(adopt_secrets(&[("x".into(), None)]).unwrap(), None);
    }

    #[test]
    fn hosts_holding_different_secrets_stop_the_run_naming_them() {
        let found = vec![
            (
                "db-master".to_string(),
                Some(SecretBytes(br#"{"a":"one-secret"}"#.to_vec())),
            ),
            (
                "app-1".to_string(),
                Some(SecretBytes(br#"{"a":"two-secret"}"#.to_vec())),
            ),
        ];
        let err = adopt_secrets(&found).unwrap_err().to_string();
        assert!(err.contains("db-master") && err.contains("app-1"), "{err}");
        assert!(!err.contains("one-secret") && !err.contains("two-secret"));
        assert!(err.ends_with("then re-run"));
    }

    #[test]
    fn reconfigure_order_follows_the_waves() {
        let plan = |h: &str, r: bool| HostPlan {
            host: h.into(),
            package: None,
            files: vec![],
            config_digest: String::new(),
            reconfigure: r.then(|| "x".into()),
        };
        let waves = vec![
            vec!["db-master".into()],
            vec!["db-slave".into()],
            vec!["worker".into()],
            vec!["app-1".into(), "influx".into()],
        ];
        let plans = vec![
            plan("app-1", true),
            plan("db-master", true),
            plan("worker", false),
            plan("influx", true),
        ];
        assert_eq!(
            reconfigure_order(&waves, &plans),
            ["db-master", "app-1", "influx"]
        );
    }
}
