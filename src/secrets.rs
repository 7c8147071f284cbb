//! The deployment's shared secrets, `scalr-server-secrets.json`, exactly as the package reads it.
//!
//! The package fills in any value missing from this file with fresh random data at every
//! reconfigure, so every host must receive the same complete file before its first reconfigure.
//! Values are generated here once per deployment, in the package's own formats (hex lengths as
//! its cookbook uses; the replication password is short because MySQL limits it).

use base64::Engine;
use rand::CryptoRng;
use serde_json::{Map, Value};
use std::fmt;

/// `(section, key, how it is generated)`: the values the installer provides.
const GENERATED: [(&str, &str, Kind); 9] = [
    ("mysql", "root_password", Kind::Hex(50)),
    ("mysql", "scalr_password", Kind::Hex(50)),
    ("mysql", "repl_password", Kind::Hex(12)),
    ("memcached", "password", Kind::Hex(50)),
    ("rabbitmq", "scalr_password", Kind::Hex(50)),
    ("influxdb", "scalr_password", Kind::Hex(50)),
    ("app", "admin_password", Kind::Hex(12)),
    ("app", "secret_key", Kind::Base64(512)),
    ("app", "id", Kind::Hex(4)),
];

#[derive(Clone, Copy)]
enum Kind {
    /// `n` random bytes as lowercase hex (Ruby's `SecureRandom.hex n`).
    Hex(usize),
    /// `n` random bytes as padded base64 (Ruby's `SecureRandom.base64 n`).
    Base64(usize),
}

/// The secrets file's content. Sections and keys the installer does not know (e.g. the RabbitMQ
/// TLS material a host generated) are kept, so a file adopted from a host is written back whole.
#[derive(Clone, PartialEq)]
pub struct Secrets {
    sections: Map<String, Value>,
}

#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    #[error("the secrets file is not valid JSON ({0}) — restore it from a host's /etc/scalr-server/scalr-server-secrets.json")]
    NotJson(serde_json::Error),
    #[error("the secrets file lacks {0} — restore it from a host's /etc/scalr-server/scalr-server-secrets.json")]
    Missing(String),
}

impl Secrets {
    /// Fresh secrets from the operating system's CSPRNG (via the thread-local ChaCha generator
    /// rand seeds from it).
    pub fn generate() -> Secrets {
        Secrets::generate_with(&mut rand::rng())
    }

    /// Fresh secrets from a given cryptographic generator; tests pass a seeded one.
    pub fn generate_with<R: CryptoRng + ?Sized>(rng: &mut R) -> Secrets {
        let mut sections = Map::new();
        for (section, key, kind) in GENERATED {
            let value = match kind {
                Kind::Hex(n) => hex(&random_bytes(rng, n)),
                Kind::Base64(n) => {
                    base64::engine::general_purpose::STANDARD.encode(random_bytes(rng, n))
                }
            };
            sections
                .entry(section)
                .or_insert_with(|| Value::Object(Map::new()))
                .as_object_mut()
                .expect("sections are objects")
                .insert(key.to_string(), Value::String(value));
        }
        Secrets { sections }
    }

    /// Adopts an existing `scalr-server-secrets.json` (from the state directory or a host).
    pub fn from_json(bytes: &[u8]) -> Result<Secrets, SecretsError> {
        let value: Value = serde_json::from_slice(bytes).map_err(SecretsError::NotJson)?;
        let Value::Object(sections) = value else {
            return Err(SecretsError::Missing("its top-level object".into()));
        };
        let secrets = Secrets { sections };
        for (section, key, _) in GENERATED {
            if secrets.get(section, key).is_none_or(str::is_empty) {
                return Err(SecretsError::Missing(format!("{section}.{key}")));
            }
        }
        Ok(secrets)
    }

    /// The file's bytes: pretty JSON with sorted keys and a final newline.
    pub fn to_json(&self) -> Vec<u8> {
        let mut out =
            serde_json::to_vec_pretty(&self.sections).expect("JSON values always serialise");
        out.push(b'\n');
        out
    }

    /// A value such as `("app", "admin_password")`.
    pub fn get(&self, section: &str, key: &str) -> Option<&str> {
        self.sections.get(section)?.get(key)?.as_str()
    }

    /// The password Scalr's `admin` user logs in with.
    pub fn admin_password(&self) -> &str {
        self.get("app", "admin_password")
            .expect("checked on construction")
    }

    /// With an external database, the `scalr` user's password is the operator's, not generated.
    pub fn set_database_password(&mut self, password: &str) {
        self.sections
            .entry("mysql")
            .or_insert_with(|| Value::Object(Map::new()))
            .as_object_mut()
            .expect("sections are objects")
            .insert("scalr_password".into(), Value::String(password.to_string()));
    }

    /// Every secret value, for scrubbing them from output and logs.
    pub fn values(&self) -> Vec<&str> {
        let mut out = Vec::new();
        for section in self.sections.values() {
            if let Value::Object(keys) = section {
                out.extend(
                    keys.values()
                        .filter_map(Value::as_str)
                        .filter(|s| !s.is_empty()),
                );
            }
        }
        out
    }
}

fn random_bytes<R: CryptoRng + ?Sized>(rng: &mut R, n: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; n];
    rng.fill_bytes(&mut bytes);
    bytes
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secrets {{ {} values, masked }}", self.values().len())
    }
}

impl fmt::Display for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("********")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn generated_secrets_have_the_package_formats() {
        let s = Secrets::generate();
        assert_eq!(s.get("mysql", "root_password").unwrap().len(), 100);
        assert_eq!(s.get("mysql", "repl_password").unwrap().len(), 24);
        assert_eq!(s.get("app", "id").unwrap().len(), 8);
        assert!(s
            .get("app", "id")
            .unwrap()
            .chars()
            .all(|c| c.is_ascii_hexdigit()));
        let key = s.get("app", "secret_key").unwrap();
        assert_eq!(
            base64::engine::general_purpose::STANDARD
                .decode(key)
                .unwrap()
                .len(),
            512
        );
    }

    #[test]
    fn two_deployments_never_share_secrets() {
        assert_ne!(Secrets::generate(), Secrets::generate());
    }

    #[test]
    fn secrets_never_show_in_debug_or_display() {
        let s = Secrets::generate();
        let shown = format!("{s:?} {s}");
        for value in s.values() {
            assert!(!shown.contains(value));
        }
    }

    #[test]
    fn an_adopted_file_round_trips_with_keys_the_installer_does_not_know() {
        let mut s = Secrets::generate_with(&mut rand::rngs::StdRng::seed_from_u64(7));
        s.sections
            .get_mut("rabbitmq")
            .unwrap()
            .as_object_mut()
            .unwrap()
            .insert(
                "ssl_cert".into(),
                Value::String("-----BEGIN CERTIFICATE-----".into()),
            );
        let again = Secrets::from_json(&s.to_json()).unwrap();
        assert_eq!(again, s);
        assert_eq!(
            again.get("rabbitmq", "ssl_cert"),
            Some("-----BEGIN CERTIFICATE-----")
        );
    }

    #[test]
    fn a_file_missing_a_password_is_refused_by_name() {
        let err = Secrets::from_json(br#"{"mysql": {"root_password": "x"}}"#).unwrap_err();
        assert!(err.to_string().contains("mysql.scalr_password"), "{err}");
    }

    #[test]
    fn an_external_database_password_replaces_the_generated_one() {
        let mut s = Secrets::generate();
        s.set_database_password("from-the-operator");
        assert_eq!(s.get("mysql", "scalr_password"), Some("from-the-operator"));
    }
}
