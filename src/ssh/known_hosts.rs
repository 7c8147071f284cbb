//! Host keys: reading OpenSSH known_hosts files, fingerprints, and recording new keys.
//!
//! We parse known_hosts ourselves instead of using libssh2's `KnownHosts`, because libssh2
//! ignores the key type when checking (a host recorded with its ed25519 key that presents its
//! ECDSA key looks "changed"), stops at the first line it cannot parse, and rewrites whole files.
//! Here: every file is read line by line (bad lines skipped, like OpenSSH), hashed `|1|` names
//! and `[host]:port` are understood, and the key types found steer libssh2's host-key
//! negotiation (`hostkey_preference`) so the server presents a key we can actually compare.

use super::sha1::hmac_sha1;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use base64::Engine;
use sha2::{Digest, Sha256};
use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// One recorded key for the host we are looking for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownKey {
    pub file: PathBuf,
    pub line: usize,
    pub key_type: String,
    pub blob: Vec<u8>,
    pub revoked: bool,
}

impl KnownKey {
    pub fn fingerprint(&self) -> String {
        fingerprint(&self.blob)
    }
}

/// The result of comparing the presented key with what is recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyCheck {
    /// A recorded key equals the presented one.
    Match,
    /// Nothing is recorded for this host.
    NotFound,
    /// Keys are recorded, but none equals the presented one (or it is revoked).
    Mismatch(Vec<KnownKey>),
}

/// Every key recorded for one host (name + port) across several known_hosts files.
#[derive(Debug, Clone, Default)]
pub struct KnownHosts {
    keys: Vec<KnownKey>,
}

/// How OpenSSH names a host in known_hosts: `host` on port 22, else `[host]:port`.
pub fn host_entry_name(host: &str, port: u16) -> String {
    if port == 22 {
        host.to_string()
    } else {
        format!("[{host}]:{port}")
    }
}

/// `SHA256:<base64 without padding>`, exactly as `ssh-keygen -l` prints it.
pub fn fingerprint(blob: &[u8]) -> String {
    format!("SHA256:{}", STANDARD_NO_PAD.encode(Sha256::digest(blob)))
}

/// The key type named inside a public key blob (`ssh-ed25519`, `ecdsa-sha2-nistp256`, …).
pub fn blob_key_type(blob: &[u8]) -> Option<String> {
    let len = u32::from_be_bytes(blob.get(..4)?.try_into().ok()?) as usize;
    let name = blob.get(4..4 + len)?;
    String::from_utf8(name.to_vec()).ok()
}

/// Compare a fingerprint written by an operator with a computed one: the `SHA256:` prefix is
/// case-insensitive and trailing `=` padding is tolerated.
pub fn fingerprints_equal(pinned: &str, actual: &str) -> bool {
    let norm = |s: &str| {
        let s = s.trim();
        let s = match s.get(..7) {
            Some(p) if p.eq_ignore_ascii_case("sha256:") => &s[7..],
            _ => s,
        };
        s.trim_end_matches('=').to_string()
    };
    norm(pinned) == norm(actual)
}

impl KnownHosts {
    /// Read the keys recorded for `host` on `port` from every file that exists. A file that
    /// exists but cannot be read is an error: silently treating it as empty would weaken
    /// verification.
    pub fn load(files: &[PathBuf], host: &str, port: u16) -> Result<KnownHosts, String> {
        let name = host_entry_name(host, port);
        let mut keys = Vec::new();
        for file in files {
            let text = match std::fs::read_to_string(file) {
                Ok(t) => t,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(format!("cannot read {}: {e}", file.display())),
            };
            for (index, line) in text.lines().enumerate() {
                if let Some(key) = parse_line(line, &name) {
                    keys.push(KnownKey {
                        file: file.clone(),
                        line: index + 1,
                        ..key
                    });
                }
            }
        }
        Ok(KnownHosts { keys })
    }

    pub fn keys(&self) -> &[KnownKey] {
        &self.keys
    }

    /// Recorded key types in file order, without repeats (revoked keys excluded).
    pub fn key_types(&self) -> Vec<String> {
        let mut types: Vec<String> = Vec::new();
        for k in self.keys.iter().filter(|k| !k.revoked) {
            if !types.contains(&k.key_type) {
                types.push(k.key_type.clone());
            }
        }
        types
    }

    pub fn check(&self, blob: &[u8]) -> KeyCheck {
        if self.keys.iter().any(|k| k.revoked && k.blob == blob) {
            return KeyCheck::Mismatch(
                self.keys
                    .iter()
                    .filter(|k| k.blob == blob)
                    .cloned()
                    .collect(),
            );
        }
        if self.keys.iter().any(|k| !k.revoked && k.blob == blob) {
            return KeyCheck::Match;
        }
        let trusted: Vec<KnownKey> = self.keys.iter().filter(|k| !k.revoked).cloned().collect();
        if trusted.is_empty() {
            KeyCheck::NotFound
        } else {
            KeyCheck::Mismatch(trusted)
        }
    }
}

/// Parse one known_hosts line; return its key when it names `name`.
fn parse_line(line: &str, name: &str) -> Option<KnownKey> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let mut fields = line.split_whitespace();
    let mut hosts = fields.next()?;
    let mut revoked = false;
    if let Some(marker) = hosts.strip_prefix('@') {
        match marker {
            "revoked" => revoked = true,
            // Host certificates are not supported by libssh2; such lines cannot vouch for a key.
            _ => return None,
        }
        hosts = fields.next()?;
    }
    let key_type = fields.next()?;
    let blob = STANDARD.decode(fields.next()?).ok()?;
    if blob_key_type(&blob).as_deref() != Some(key_type) {
        return None;
    }
    if !hosts_field_matches(hosts, name) {
        return None;
    }
    Some(KnownKey {
        file: PathBuf::new(),
        line: 0,
        key_type: key_type.to_string(),
        blob,
        revoked,
    })
}

fn hosts_field_matches(field: &str, name: &str) -> bool {
    if let Some(hashed) = field.strip_prefix("|1|") {
        let Some((salt, hash)) = hashed.split_once('|') else {
            return false;
        };
        let (Ok(salt), Ok(hash)) = (STANDARD.decode(salt), STANDARD.decode(hash)) else {
            return false;
        };
        return hmac_sha1(&salt, name.as_bytes()).as_slice() == hash.as_slice();
    }
    let mut matched = false;
    for pattern in field.split(',') {
        if let Some(negated) = pattern.strip_prefix('!') {
            if wildcard_match(&negated.to_ascii_lowercase(), &name.to_ascii_lowercase()) {
                return false;
            }
        } else if wildcard_match(&pattern.to_ascii_lowercase(), &name.to_ascii_lowercase()) {
            matched = true;
        }
    }
    matched
}

/// OpenSSH pattern matching: `*` any run of characters, `?` exactly one.
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

/// The host-key algorithms to offer, recorded types first (as OpenSSH does), then the rest in
/// OpenSSH's default order. Only algorithms libssh2 supports are kept.
pub fn hostkey_preference(recorded_types: &[String], supported: &[&str]) -> String {
    const OPENSSH_ORDER: [&str; 7] = [
        "ssh-ed25519",
        "ecdsa-sha2-nistp256",
        "ecdsa-sha2-nistp384",
        "ecdsa-sha2-nistp521",
        "rsa-sha2-512",
        "rsa-sha2-256",
        "ssh-rsa",
    ];
    let mut order: Vec<&str> = Vec::new();
    for t in recorded_types {
        // An `ssh-rsa` key line covers the SHA-2 signature algorithms over the same key.
        let algs: Vec<&str> = if t == "ssh-rsa" {
            vec!["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"]
        } else {
            vec![t.as_str()]
        };
        for a in algs {
            if !order.contains(&a) {
                order.push(a);
            }
        }
    }
    for a in OPENSSH_ORDER {
        if !order.contains(&a) {
            order.push(a);
        }
    }
    order
        .into_iter()
        .filter(|a| supported.contains(a))
        .collect::<Vec<_>>()
        .join(",")
}

/// Append one line for a newly trusted key, creating the file (mode 0600) and its directory.
/// The rest of the file is left byte for byte as it was.
pub fn append_entry(file: &Path, host: &str, port: u16, blob: &[u8]) -> io::Result<()> {
    let key_type = blob_key_type(blob)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "malformed host key"))?;
    if let Some(dir) = file.parent() {
        if !dir.as_os_str().is_empty() {
            std::fs::create_dir_all(dir)?;
        }
    }
    let needs_newline = match std::fs::read(file) {
        Ok(existing) => !existing.is_empty() && !existing.ends_with(b"\n"),
        Err(_) => false,
    };
    let mut options = OpenOptions::new();
    options.create(true).append(true);
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options.open(file)?;
    let line = format!(
        "{}{} {} {}\n",
        if needs_newline { "\n" } else { "" },
        host_entry_name(host, port),
        key_type,
        STANDARD.encode(blob)
    );
    f.write_all(line.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blob(kind: &str, body: &[u8]) -> Vec<u8> {
        let mut b = (kind.len() as u32).to_be_bytes().to_vec();
        b.extend_from_slice(kind.as_bytes());
        b.extend_from_slice(body);
        b
    }

    fn line(hosts: &str, b: &[u8]) -> String {
        format!(
            "{hosts} {} {}\n",
            blob_key_type(b).unwrap(),
            STANDARD.encode(b)
        )
    }

    fn load(text: &str, host: &str, port: u16) -> KnownHosts {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("known_hosts");
        std::fs::write(&file, text).unwrap();
        KnownHosts::load(&[file], host, port).unwrap()
    }

    #[test]
    fn fingerprints_look_like_openssh() {
        let fp = fingerprint(b"any");
        assert!(fp.starts_with("SHA256:"));
        assert!(!fp.ends_with('='));
        assert_eq!(fp.len(), 7 + 43);
        assert!(fingerprints_equal(&format!("sha256:{}=", &fp[7..]), &fp));
    }

    #[test]
    fn plain_names_ports_and_patterns_match() {
        let ed = blob("ssh-ed25519", b"k1");
        let text = line("db-1,127.0.0.9", &ed)
            + &line("[127.0.0.9]:2222", &blob("ssh-ed25519", b"k2"))
            + &line("*.lab,!bad.lab", &blob("ssh-ed25519", b"k3"));
        assert_eq!(load(&text, "127.0.0.9", 22).check(&ed), KeyCheck::Match);
        assert_eq!(load(&text, "127.0.0.9", 2222).keys().len(), 1);
        assert_eq!(load(&text, "web.lab", 22).keys().len(), 1);
        assert_eq!(load(&text, "bad.lab", 22).check(&ed), KeyCheck::NotFound);
    }

    #[test]
    fn hashed_names_match_their_host_only() {
        // `ssh-keygen -H` output for host "127.0.0.9" with a fixed salt, computed independently.
        let salt = [7u8; 20];
        let hash = hmac_sha1(&salt, b"127.0.0.9");
        let hosts = format!("|1|{}|{}", STANDARD.encode(salt), STANDARD.encode(hash));
        let ed = blob("ssh-ed25519", b"k1");
        let kh = load(&line(&hosts, &ed), "127.0.0.9", 22);
        assert_eq!(kh.check(&ed), KeyCheck::Match);
        assert_eq!(
            load(&line(&hosts, &ed), "127.0.0.10", 22).check(&ed),
            KeyCheck::NotFound
        );
    }

    #[test]
    fn a_different_key_is_a_mismatch_and_garbage_lines_are_skipped() {
        let old = blob("ssh-ed25519", b"old");
        let new = blob("ssh-ed25519", b"new");
        let text = "garbage line\n# comment\n\n".to_string() + &line("h", &old);
        match load(&text, "h", 22).check(&new) {
            KeyCheck::Mismatch(keys) => assert_eq!(keys[0].line, 4),
            other => panic!("expected mismatch, got {other:?}"),
        }
    }

    #[test]
    fn revoked_keys_never_match() {
        let k = blob("ssh-ed25519", b"k");
        let text = format!("@revoked {}", line("h", &k));
        assert!(matches!(
            load(&text, "h", 22).check(&k),
            KeyCheck::Mismatch(_)
        ));
    }

    #[test]
    fn recorded_types_come_first_in_the_negotiation() {
        let supported = [
            "ecdsa-sha2-nistp256",
            "ssh-ed25519",
            "rsa-sha2-512",
            "ssh-rsa",
        ];
        assert_eq!(
            hostkey_preference(&["ssh-ed25519".into()], &supported),
            "ssh-ed25519,ecdsa-sha2-nistp256,rsa-sha2-512,ssh-rsa"
        );
        assert_eq!(
            hostkey_preference(&["ssh-rsa".into()], &supported),
            "rsa-sha2-512,ssh-rsa,ssh-ed25519,ecdsa-sha2-nistp256"
        );
    }

    #[test]
    fn appending_keeps_the_file_and_adds_one_line() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("sub/known_hosts");
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, "other ssh-ed25519 AAAA").unwrap();
        let k = blob("ssh-ed25519", b"k");
        append_entry(&file, "127.0.0.9", 2200, &k).unwrap();
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(text.starts_with("other ssh-ed25519 AAAA\n[127.0.0.9]:2200 ssh-ed25519 "));
        let kh = KnownHosts::load(&[file], "127.0.0.9", 2200).unwrap();
        assert_eq!(kh.check(&k), KeyCheck::Match);
    }

    #[test]
    fn wildcards_follow_openssh() {
        assert!(wildcard_match("*", "anything"));
        assert!(wildcard_match("app-?", "app-1"));
        assert!(!wildcard_match("app-?", "app-10"));
        assert!(wildcard_match("*.example.com", "a.b.example.com"));
    }
}
