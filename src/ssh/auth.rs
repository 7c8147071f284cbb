//! Logging in: every ssh-agent identity, then key files, then password / keyboard-interactive.
//!
//! Secrets come from a `Credentials` implementation, asked only when needed (an unencrypted
//! key never triggers a passphrase prompt) and never written anywhere.

use super::error::{SshError, SshErrorKind};
use super::target::Target;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ssh2::{KeyboardInteractivePrompt, Prompt, Session};
use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// A secret string: redacted in Debug, wiped on drop.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }
    /// The value, for the one place that hands it to libssh2 or a channel's stdin.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        // SAFETY: overwriting initialised bytes with zeros keeps the String valid UTF-8.
        unsafe {
            for b in self.0.as_bytes_mut() {
                std::ptr::write_volatile(b, 0);
            }
        }
    }
}

/// What a secret is needed for; the engine's prompt shows this to the operator.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SecretRequest {
    KeyPassphrase { key: PathBuf },
    LoginPassword { user: String, host: String },
    SudoPassword { user: String, host: String },
}

/// The source of passphrases and passwords (a prompt, the environment, a test).
pub trait Credentials: Send + Sync {
    /// `None` means "none available": that method is skipped.
    fn secret(&self, request: &SecretRequest) -> Option<Secret>;
}

/// Headless credentials from the environment: `SCALR_SSH_KEY_PASSPHRASE`,
/// `SCALR_SSH_PASSWORD`, `SCALR_SUDO_PASSWORD`.
#[derive(Debug, Default, Clone, Copy)]
pub struct EnvCredentials;

impl Credentials for EnvCredentials {
    fn secret(&self, request: &SecretRequest) -> Option<Secret> {
        let var = match request {
            SecretRequest::KeyPassphrase { .. } => "SCALR_SSH_KEY_PASSPHRASE",
            SecretRequest::LoginPassword { .. } => "SCALR_SSH_PASSWORD",
            SecretRequest::SudoPassword { .. } => "SCALR_SUDO_PASSWORD",
        };
        std::env::var(var)
            .ok()
            .filter(|v| !v.is_empty())
            .map(Secret::new)
    }
}

/// Asks a callback (e.g. an interactive prompt) at most once per request and remembers the
/// answer, so a passphrase is typed once for all hosts. Passwords are remembered per
/// user@host; a key's passphrase per key file.
pub struct CachedCredentials<F> {
    ask: F,
    cache: Mutex<HashMap<SecretRequest, Option<Secret>>>,
}

impl<F: Fn(&SecretRequest) -> Option<Secret> + Send + Sync> CachedCredentials<F> {
    pub fn new(ask: F) -> Self {
        CachedCredentials {
            ask,
            cache: Mutex::new(HashMap::new()),
        }
    }
}

impl<F: Fn(&SecretRequest) -> Option<Secret> + Send + Sync> Credentials for CachedCredentials<F> {
    fn secret(&self, request: &SecretRequest) -> Option<Secret> {
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        cache
            .entry(request.clone())
            .or_insert_with(|| (self.ask)(request))
            .clone()
    }
}

/// Fixed answers, for tests and for callers that already hold the secrets.
#[derive(Debug, Default, Clone)]
pub struct StaticCredentials {
    pub key_passphrase: Option<Secret>,
    pub login_password: Option<Secret>,
    pub sudo_password: Option<Secret>,
}

impl Credentials for StaticCredentials {
    fn secret(&self, request: &SecretRequest) -> Option<Secret> {
        match request {
            SecretRequest::KeyPassphrase { .. } => self.key_passphrase.clone(),
            SecretRequest::LoginPassword { .. } => self.login_password.clone(),
            SecretRequest::SudoPassword { .. } => self.sudo_password.clone(),
        }
    }
}

const LIBSSH2_TIMEOUT: ssh2::ErrorCode = ssh2::ErrorCode::Session(-9);
const KEY_TIMED_OUT: &str = "timed out waiting for the server";

/// Authenticate `session` as `target.user`, trying methods in OpenSSH's order.
pub fn authenticate(
    session: &Session,
    target: &Target,
    creds: &dyn Credentials,
) -> Result<(), SshError> {
    let user = &target.user;
    let fail = |tried: Vec<String>| {
        SshError::new(
            &target.name,
            SshErrorKind::AuthFailed {
                user: user.clone(),
                tried,
            },
        )
    };
    let timed_out = || {
        SshError::new(
            &target.name,
            SshErrorKind::Timeout {
                during: "logging in".into(),
                after: target.connect_timeout,
            },
        )
    };
    let mut tried = Vec::new();
    // Keys first, without asking which methods the server offers: asking is an authentication
    // request of its own ("none"), and OpenSSH answers each request no sooner than 5-9 ms after
    // it arrived (against user enumeration), so asking costs every connection a round trip and
    // that wait. A server that takes no keys refuses them at once, and is asked then. A key
    // that needs its passphrase waits until the server is known to take keys, so that nobody
    // is asked for a passphrase that cannot help.
    if try_agent(session, user, target.agent_socket.as_deref(), &mut tried) {
        return Ok(());
    }
    let (locked, unlocked): (Vec<&PathBuf>, Vec<&PathBuf>) = target
        .identity_files
        .iter()
        .partition(|key| std::fs::read_to_string(key).is_ok_and(|text| key_is_encrypted(&text)));
    for key in unlocked {
        if try_key_file(session, user, key, creds, &mut tried) {
            return Ok(());
        }
        if tried.last().is_some_and(|t| t.contains(KEY_TIMED_OUT)) {
            return Err(timed_out());
        }
    }
    let methods = match session.auth_methods(user) {
        Ok(m) => m.to_string(),
        // The server accepted "none" authentication.
        Err(_) if session.authenticated() => return Ok(()),
        Err(e) if e.code() == LIBSSH2_TIMEOUT => return Err(timed_out()),
        Err(e) => {
            tried.push(format!("asking for methods: {}", e.message()));
            return Err(fail(tried));
        }
    };
    let offers = |m: &str| methods.split(',').any(|x| x == m);
    if offers("publickey") {
        for key in locked {
            if try_key_file(session, user, key, creds, &mut tried) {
                return Ok(());
            }
        }
    } else {
        // The keys were never a way in: the error names the methods that are.
        tried.clear();
    }
    let wants_password = offers("password") || offers("keyboard-interactive");
    let password = wants_password
        .then(|| {
            creds.secret(&SecretRequest::LoginPassword {
                user: user.clone(),
                host: target.name.clone(),
            })
        })
        .flatten();
    if let Some(password) = password {
        if offers("password") {
            match session.userauth_password(user, password.expose()) {
                Ok(()) if session.authenticated() => return Ok(()),
                Ok(()) => tried.push("password: not accepted".into()),
                Err(e) => tried.push(format!("password: {}", e.message())),
            }
        }
        if offers("keyboard-interactive") {
            let mut answer = PasswordPrompt(&password);
            match session.userauth_keyboard_interactive(user, &mut answer) {
                Ok(()) if session.authenticated() => return Ok(()),
                Ok(()) => tried.push("keyboard-interactive: not accepted".into()),
                Err(e) => tried.push(format!("keyboard-interactive: {}", e.message())),
            }
        }
    } else if wants_password {
        tried.push("password: no password given (SCALR_SSH_PASSWORD)".into());
    }
    if tried.is_empty() {
        tried.push(format!("the server offers only: {methods}"));
    }
    Err(fail(tried))
}

fn try_agent(
    session: &Session,
    user: &str,
    socket: Option<&Path>,
    tried: &mut Vec<String>,
) -> bool {
    let Some(socket) = socket else { return false };
    let Ok(mut agent) = session.agent() else {
        return false;
    };
    if agent.set_identity_path(socket).is_err() {
        return false;
    }
    if agent.connect().is_err() || agent.list_identities().is_err() {
        tried.push("ssh-agent: cannot reach the agent".into());
        return false;
    }
    let identities = agent.identities().unwrap_or_default();
    for id in &identities {
        if agent.userauth(user, id).is_ok() && session.authenticated() {
            let _ = agent.disconnect();
            return true;
        }
    }
    if !identities.is_empty() {
        tried.push(format!("ssh-agent: {} key(s) rejected", identities.len()));
    }
    let _ = agent.disconnect();
    false
}

fn try_key_file(
    session: &Session,
    user: &str,
    key: &Path,
    creds: &dyn Credentials,
    tried: &mut Vec<String>,
) -> bool {
    let text = match std::fs::read_to_string(key) {
        Ok(text) => text,
        Err(e) => {
            tried.push(format!("key {}: {e}", key.display()));
            return false;
        }
    };
    let passphrase = if key_is_encrypted(&text) {
        match creds.secret(&SecretRequest::KeyPassphrase {
            key: key.to_path_buf(),
        }) {
            Some(p) => Some(p),
            None => {
                tried.push(format!(
                    "key {}: encrypted and no passphrase given (SCALR_SSH_KEY_PASSPHRASE)",
                    key.display()
                ));
                return false;
            }
        }
    } else {
        None
    };
    let pubkey = key.with_extension("pub");
    let pubkey = pubkey
        .exists()
        .then_some(pubkey)
        .filter(|_| key.extension().is_none());
    match session.userauth_pubkey_file(
        user,
        pubkey.as_deref(),
        key,
        passphrase.as_ref().map(|p| p.expose()),
    ) {
        Ok(()) if session.authenticated() => true,
        Ok(()) => {
            tried.push(format!("key {}: not accepted", key.display()));
            false
        }
        Err(e) => {
            let reason = match e.code() {
                LIBSSH2_TIMEOUT => KEY_TIMED_OUT.to_string(),
                ssh2::ErrorCode::Session(-16) if passphrase.is_some() => {
                    "wrong passphrase or unreadable key".to_string()
                }
                ssh2::ErrorCode::Session(-16) => "unreadable key file".to_string(),
                _ => format!("rejected by the server ({})", e.message()),
            };
            tried.push(format!("key {}: {reason}", key.display()));
            false
        }
    }
}

/// Whether a private key file needs a passphrase (OpenSSH or legacy PEM format).
pub fn key_is_encrypted(text: &str) -> bool {
    if text.contains("ENCRYPTED") {
        return true;
    }
    const BEGIN: &str = "-----BEGIN OPENSSH PRIVATE KEY-----";
    let Some(start) = text.find(BEGIN) else {
        return false;
    };
    let body: String = text[start + BEGIN.len()..]
        .lines()
        .take_while(|l| !l.starts_with("-----END"))
        .collect();
    let Ok(raw) = STANDARD.decode(body.trim()) else {
        return false;
    };
    // "openssh-key-v1\0" then a length-prefixed cipher name; "none" means unencrypted.
    let Some(rest) = raw.strip_prefix(b"openssh-key-v1\0") else {
        return false;
    };
    let Some(len) = rest
        .get(..4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
    else {
        return false;
    };
    rest.get(4..4 + len).is_some_and(|cipher| cipher != b"none")
}

struct PasswordPrompt<'a>(&'a Secret);

impl KeyboardInteractivePrompt for PasswordPrompt<'_> {
    fn prompt<'b>(
        &mut self,
        _user: &str,
        _instructions: &str,
        prompts: &[Prompt<'b>],
    ) -> Vec<String> {
        // Only hidden prompts get the password; anything echoed is not asking for it.
        prompts
            .iter()
            .map(|p| {
                if p.echo {
                    String::new()
                } else {
                    self.0.expose().to_string()
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    fn keygen(dir: &Path, name: &str, passphrase: &str) -> String {
        let path = dir.join(name);
        let ok = Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", passphrase, "-f"])
            .arg(&path)
            .status()
            .expect("ssh-keygen is installed")
            .success();
        assert!(ok);
        std::fs::read_to_string(path).unwrap()
    }

    #[test]
    fn encrypted_keys_are_told_apart_from_plain_ones() {
        let dir = tempfile::tempdir().unwrap();
        assert!(!key_is_encrypted(&keygen(dir.path(), "plain", "")));
        assert!(key_is_encrypted(&keygen(dir.path(), "locked", "s3cret")));
    }

    #[test]
    fn secrets_do_not_show_in_debug_output() {
        let s = StaticCredentials {
            sudo_password: Some(Secret::new("hunter2")),
            ..Default::default()
        };
        assert!(!format!("{s:?}").contains("hunter2"));
    }

    #[test]
    fn cached_credentials_ask_once_per_request() {
        let asked = std::sync::atomic::AtomicUsize::new(0);
        let creds = CachedCredentials::new(|_r: &SecretRequest| {
            asked.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Some(Secret::new("pw"))
        });
        let req = SecretRequest::KeyPassphrase { key: "/k".into() };
        assert_eq!(creds.secret(&req).unwrap().expose(), "pw");
        assert_eq!(creds.secret(&req).unwrap().expose(), "pw");
        assert_eq!(asked.load(std::sync::atomic::Ordering::SeqCst), 1);
    }
}
