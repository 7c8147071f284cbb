//! `/etc/scalr-server/scalr-server-secrets.json`: the shared passwords (reference §3.3).
//!
//! Like the real package, any missing value is generated afresh and written back (mode 0600),
//! which is exactly how a node that did not get the shared file ends up with different passwords.

use super::root::{SimRoot, ETC_DIR, SECRETS_JSON};
use base64::Engine;
use rand::RngCore;
use serde_json::{Map, Value};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};

/// Every `section.key` the real cookbook keeps in the secrets file.
pub const SECRET_KEYS: [(&str, &str); 13] = [
    ("mysql", "root_password"),
    ("mysql", "scalr_password"),
    ("mysql", "repl_password"),
    ("memcached", "password"),
    ("rabbitmq", "scalr_password"),
    ("rabbitmq", "ssl_key"),
    ("rabbitmq", "ssl_cert"),
    ("influxdb", "scalr_password"),
    ("app", "admin_password"),
    ("app", "secret_key"),
    ("app", "id"),
    ("csg", "ssl_key"),
    ("csg", "ssl_cert"),
];

#[derive(Debug, Clone, PartialEq)]
pub struct Secrets {
    doc: Map<String, Value>,
}

impl Secrets {
    pub fn get(&self, section: &str, key: &str) -> Option<&str> {
        self.doc.get(section)?.get(key)?.as_str()
    }

    /// Reads the file if present, fills in missing keys and writes it back when anything changed
    /// (always with mode 0600). Returns the secrets and the keys that were generated.
    pub fn load_or_generate(root: &SimRoot) -> Result<(Secrets, Vec<String>), String> {
        let path = root.path(SECRETS_JSON);
        let mut doc = match std::fs::read_to_string(&path) {
            Ok(text) => match serde_json::from_str::<Value>(&text) {
                Ok(Value::Object(map)) => map,
                Ok(_) | Err(_) => {
                    return Err(format!(
                        "{} is not a JSON object; restore the shared secrets file from another Scalr server",
                        path.display()
                    ))
                }
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Map::new(),
            Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
        };
        let mut generated = Vec::new();
        for (section, key) in SECRET_KEYS {
            let entry = doc
                .entry(section.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            let Value::Object(map) = entry else {
                return Err(format!(
                    "{}: \"{section}\" must be an object",
                    path.display()
                ));
            };
            let present = map
                .get(key)
                .and_then(Value::as_str)
                .is_some_and(|s| !s.is_empty());
            if !present {
                map.insert(key.to_string(), Value::String(random_secret(key)));
                generated.push(format!("{section}.{key}"));
            }
        }
        let mode_ok = std::fs::metadata(&path)
            .map(|m| m.permissions().mode() & 0o777 == 0o600)
            .unwrap_or(false);
        if !generated.is_empty() || !mode_ok {
            write_0600(root, &doc)?;
        }
        Ok((Secrets { doc }, generated))
    }
}

fn random_secret(key: &str) -> String {
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    let text = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    if key == "id" {
        text[..8].to_lowercase()
    } else {
        text
    }
}

fn write_0600(root: &SimRoot, doc: &Map<String, Value>) -> Result<(), String> {
    let dir = root.path(ETC_DIR);
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let path = root.path(SECRETS_JSON);
    let tmp = dir.join(".scalr-server-secrets.json.tmp");
    let text = serde_json::to_string_pretty(doc).expect("a JSON map always serialises");
    let write = || -> std::io::Result<()> {
        let _ = std::fs::remove_file(&tmp);
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.write_all(b"\n")?;
        f.sync_all()?;
        std::fs::rename(&tmp, &path)?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
    };
    write().map_err(|e| format!("cannot write {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_secrets_are_generated_kept_and_written_0600() {
        let dir = tempfile::tempdir().unwrap();
        let root = SimRoot::new(dir.path());
        let (first, generated) = Secrets::load_or_generate(&root).unwrap();
        assert_eq!(generated.len(), SECRET_KEYS.len());
        let mode = std::fs::metadata(root.path(SECRETS_JSON))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let (second, generated) = Secrets::load_or_generate(&root).unwrap();
        assert!(generated.is_empty());
        assert_eq!(first, second);
    }

    #[test]
    fn a_partial_file_keeps_its_values_and_gains_the_missing_ones() {
        let dir = tempfile::tempdir().unwrap();
        let root = SimRoot::new(dir.path());
        std::fs::create_dir_all(root.path(ETC_DIR)).unwrap();
        std::fs::write(
            root.path(SECRETS_JSON),
            r#"{"mysql": {"root_password": "r00t"}}"#,
        )
        .unwrap();
        let (secrets, generated) = Secrets::load_or_generate(&root).unwrap();
        assert_eq!(secrets.get("mysql", "root_password"), Some("r00t"));
        assert!(generated.contains(&"mysql.scalr_password".to_string()));
        assert!(!generated.contains(&"mysql.root_password".to_string()));
    }
}
