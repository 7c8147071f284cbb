//! A small reader for the parts of `~/.ssh/config` the installer honours.
//!
//! Keywords: `Host` (patterns with `*`, `?` and `!negation`), `HostName`, `User`, `Port`,
//! `IdentityFile`, `IdentityAgent`, `ProxyJump`, `UserKnownHostsFile`, `ConnectTimeout`, `ServerAliveInterval`.
//! As in OpenSSH the first value found wins, except `IdentityFile` and `UserKnownHostsFile`,
//! which accumulate. `Match` blocks are skipped (their conditions need information we do not
//! have); `Include` is expanded; other keywords are ignored. `~` and the tokens `%h %p %r %u %d %%` are expanded.

use super::known_hosts::wildcard_match;
use std::path::{Path, PathBuf};

/// The settings `~/.ssh/config` gives one host alias.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostConfig {
    pub host_name: Option<String>,
    pub user: Option<String>,
    pub port: Option<u16>,
    pub identity_files: Vec<String>,
    pub proxy_jump: Option<String>,
    pub identity_agent: Option<String>,
    pub user_known_hosts_files: Vec<String>,
    pub connect_timeout_secs: Option<u64>,
    pub server_alive_interval_secs: Option<u64>,
}

#[derive(Debug, Clone)]
struct Block {
    patterns: Vec<String>,
    /// `Match` blocks never apply.
    is_match: bool,
    /// keyword, arguments, and `file:line` for messages.
    settings: Vec<(String, Vec<String>, String)>,
}

/// A parsed ssh_config file.
#[derive(Debug, Clone, Default)]
pub struct SshConfig {
    blocks: Vec<Block>,
}

const MAX_INCLUDE_DEPTH: usize = 16;

/// Read `text` into `blocks`. `Include` is expanded in place (as text), relative paths under
/// `~/.ssh`, with `*`/`?` allowed in the file name.
fn parse_into(
    blocks: &mut Vec<Block>,
    text: &str,
    source: &Path,
    depth: usize,
) -> Result<(), String> {
    for (index, raw) in text.lines().enumerate() {
        let at = format!("{}:{}", source.display(), index + 1);
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (keyword, rest) = split_keyword(line);
        let args = split_args(rest).map_err(|e| format!("{at}: {e}"))?;
        match keyword.to_ascii_lowercase().as_str() {
            "host" => {
                if args.is_empty() {
                    return Err(format!("{at}: Host needs a pattern"));
                }
                blocks.push(Block {
                    patterns: args,
                    is_match: false,
                    settings: Vec::new(),
                });
            }
            "match" => blocks.push(Block {
                patterns: Vec::new(),
                is_match: true,
                settings: Vec::new(),
            }),
            "include" => {
                if depth >= MAX_INCLUDE_DEPTH {
                    return Err(format!("{at}: Include nested too deeply (is it circular?)"));
                }
                for pattern in &args {
                    for file in include_files(pattern).map_err(|e| format!("{at}: {e}"))? {
                        let text = std::fs::read_to_string(&file)
                            .map_err(|e| format!("{at}: cannot read {}: {e}", file.display()))?;
                        parse_into(blocks, &text, &file, depth + 1)?;
                    }
                }
            }
            other => {
                let block = blocks.last_mut().expect("there is always a block");
                block.settings.push((other.to_string(), args, at));
            }
        }
    }
    Ok(())
}

/// The files an `Include` argument names, sorted (as OpenSSH's glob does).
fn include_files(pattern: &str) -> Result<Vec<PathBuf>, String> {
    let home = home_dir().unwrap_or_default();
    let expanded = match pattern.strip_prefix("~/") {
        Some(rest) => home.join(rest),
        None if pattern.starts_with('/') => PathBuf::from(pattern),
        None => home.join(".ssh").join(pattern),
    };
    let name = expanded
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if !name.contains(['*', '?']) {
        return Ok(if expanded.is_file() {
            vec![expanded]
        } else {
            vec![]
        });
    }
    let dir = expanded.parent().unwrap_or(Path::new("/"));
    let mut files: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .flatten()
            .filter(|e| wildcard_match(&name, &e.file_name().to_string_lossy()))
            .map(|e| e.path())
            .filter(|p| p.is_file())
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => vec![],
        Err(e) => return Err(format!("cannot list {}: {e}", dir.display())),
    };
    files.sort();
    Ok(files)
}

impl SshConfig {
    /// Read a config file; a missing file is an empty config.
    pub fn load(path: &Path) -> Result<SshConfig, String> {
        match std::fs::read_to_string(path) {
            Ok(text) => SshConfig::parse(&text, path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(SshConfig::default()),
            Err(e) => Err(format!("cannot read {}: {e}", path.display())),
        }
    }

    /// `~/.ssh/config` of the user running the installer (empty when there is none).
    pub fn load_user_default() -> Result<SshConfig, String> {
        match home_dir() {
            Some(home) => SshConfig::load(&home.join(".ssh/config")),
            None => Ok(SshConfig::default()),
        }
    }

    pub fn parse(text: &str, source: &Path) -> Result<SshConfig, String> {
        // Lines before the first Host apply to every host.
        let mut blocks = vec![Block {
            patterns: vec!["*".into()],
            is_match: false,
            settings: Vec::new(),
        }];
        parse_into(&mut blocks, text, source, 0)?;
        Ok(SshConfig { blocks })
    }

    /// The settings for `alias`, with `~` and `%` tokens expanded.
    pub fn lookup(&self, alias: &str) -> Result<HostConfig, String> {
        let mut hc = HostConfig::default();
        for block in &self.blocks {
            if block.is_match || !patterns_match(&block.patterns, alias) {
                continue;
            }
            for (keyword, args, location) in &block.settings {
                let at = || location.clone();
                let first = match args.first() {
                    Some(a) => a.clone(),
                    None => return Err(format!("{}: {keyword} needs a value", at())),
                };
                match keyword.as_str() {
                    "hostname" => {
                        hc.host_name.get_or_insert(first);
                    }
                    "user" => {
                        hc.user.get_or_insert(first);
                    }
                    "port" if hc.port.is_none() => {
                        let port = first.parse::<u16>().map_err(|_| {
                            format!("{}: Port {first:?} is not a port number", at())
                        })?;
                        hc.port = Some(port);
                    }
                    "identityfile" => hc.identity_files.push(first),
                    "proxyjump" => {
                        hc.proxy_jump.get_or_insert(first);
                    }
                    "identityagent" => {
                        hc.identity_agent.get_or_insert(first);
                    }
                    "userknownhostsfile" if hc.user_known_hosts_files.is_empty() => {
                        hc.user_known_hosts_files = args.clone();
                    }
                    "connecttimeout" if hc.connect_timeout_secs.is_none() => {
                        hc.connect_timeout_secs = Some(seconds(&first, "ConnectTimeout", &at())?);
                    }
                    "serveraliveinterval" if hc.server_alive_interval_secs.is_none() => {
                        hc.server_alive_interval_secs =
                            Some(seconds(&first, "ServerAliveInterval", &at())?);
                    }
                    _ => {}
                }
            }
        }
        let host = hc.host_name.clone().unwrap_or_else(|| alias.to_string());
        let tokens = Tokens {
            host: &host,
            port: hc.port.unwrap_or(22),
            user: hc.user.as_deref().unwrap_or(""),
        };
        if let Some(h) = &hc.host_name {
            hc.host_name = Some(h.replace("%h", alias).replace("%%", "%"));
        }
        hc.identity_files = hc
            .identity_files
            .iter()
            .map(|f| tokens.expand_path(f))
            .collect();
        hc.user_known_hosts_files = hc
            .user_known_hosts_files
            .iter()
            .map(|f| tokens.expand_path(f))
            .collect();
        Ok(hc)
    }
}

struct Tokens<'a> {
    host: &'a str,
    port: u16,
    user: &'a str,
}

impl Tokens<'_> {
    fn expand_path(&self, value: &str) -> String {
        let home = home_dir()
            .map(|h| h.display().to_string())
            .unwrap_or_default();
        let value = match value.strip_prefix('~') {
            Some(rest) if rest.is_empty() || rest.starts_with('/') => format!("{home}{rest}"),
            _ => value.to_string(),
        };
        let mut out = String::new();
        let mut chars = value.chars();
        while let Some(c) = chars.next() {
            if c != '%' {
                out.push(c);
                continue;
            }
            match chars.next() {
                Some('h') => out.push_str(self.host),
                Some('p') => out.push_str(&self.port.to_string()),
                Some('r') => out.push_str(self.user),
                Some('u') => out.push_str(&local_user()),
                Some('d') => out.push_str(&home),
                Some('%') => out.push('%'),
                Some(other) => {
                    out.push('%');
                    out.push(other);
                }
                None => out.push('%'),
            }
        }
        out
    }
}

fn seconds(value: &str, keyword: &str, at: &str) -> Result<u64, String> {
    value
        .parse()
        .map_err(|_| format!("{at}: {keyword} {value:?} is not a number of seconds"))
}

fn patterns_match(patterns: &[String], alias: &str) -> bool {
    let alias = alias.to_ascii_lowercase();
    let mut matched = false;
    for p in patterns {
        let p = p.to_ascii_lowercase();
        if let Some(neg) = p.strip_prefix('!') {
            if wildcard_match(neg, &alias) {
                return false;
            }
        } else if wildcard_match(&p, &alias) {
            matched = true;
        }
    }
    matched
}

fn split_keyword(line: &str) -> (&str, &str) {
    let end = line
        .find(|c: char| c.is_whitespace() || c == '=')
        .unwrap_or(line.len());
    let rest = line[end..].trim_start();
    let rest = rest.strip_prefix('=').unwrap_or(rest).trim_start();
    (&line[..end], rest)
}

fn split_args(rest: &str) -> Result<Vec<String>, String> {
    let mut args = Vec::new();
    let mut current = String::new();
    let mut in_quotes = false;
    let mut has_token = false;
    for c in rest.chars() {
        match c {
            '"' => {
                in_quotes = !in_quotes;
                has_token = true;
            }
            c if c.is_whitespace() && !in_quotes => {
                if has_token {
                    args.push(std::mem::take(&mut current));
                    has_token = false;
                }
            }
            c => {
                current.push(c);
                has_token = true;
            }
        }
    }
    if in_quotes {
        return Err("unterminated quote".into());
    }
    if has_token {
        args.push(current);
    }
    Ok(args)
}

pub(crate) fn home_dir() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
        .or_else(|| directories::BaseDirs::new().map(|d| d.home_dir().to_path_buf()))
}

fn local_user() -> String {
    std::env::var("USER").unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"
# global defaults come first in real files too
Host db-*
    HostName %h.lab
    User admin
Host db-master !db-slave
    Port 2201
    IdentityFile ~/.ssh/db_%r
    ProxyJump ops@bastion:2222
Host *
    User fallback
    IdentityFile "/keys/with space"
    UserKnownHostsFile /tmp/kh1 /tmp/kh2
Match host foo
    User never
"#;

    fn config() -> SshConfig {
        SshConfig::parse(SAMPLE, Path::new("/test/config")).unwrap()
    }

    #[test]
    fn first_value_wins_and_identity_files_accumulate() {
        let hc = config().lookup("db-master").unwrap();
        assert_eq!(hc.host_name.as_deref(), Some("db-master.lab"));
        assert_eq!(hc.user.as_deref(), Some("admin"));
        assert_eq!(hc.port, Some(2201));
        assert_eq!(hc.proxy_jump.as_deref(), Some("ops@bastion:2222"));
        assert_eq!(hc.identity_files.len(), 2);
        assert!(
            hc.identity_files[0].ends_with("/.ssh/db_admin"),
            "{:?}",
            hc.identity_files
        );
        assert_eq!(hc.identity_files[1], "/keys/with space");
        assert_eq!(hc.user_known_hosts_files, vec!["/tmp/kh1", "/tmp/kh2"]);
    }

    #[test]
    fn negated_patterns_exclude_and_match_blocks_are_skipped() {
        let hc = config().lookup("db-slave").unwrap();
        assert_eq!(hc.port, None);
        assert_eq!(hc.user.as_deref(), Some("admin"));
        let other = config().lookup("foo").unwrap();
        assert_eq!(other.user.as_deref(), Some("fallback"));
    }

    #[test]
    fn a_bad_port_names_file_and_line() {
        let c = SshConfig::parse("Host x\n Port=abc\n", Path::new("/c")).unwrap();
        let err = c.lookup("x").unwrap_err();
        assert!(err.contains("/c:2") && err.contains("abc"), "{err}");
    }

    #[test]
    fn includes_are_read_in_place_with_wildcards() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("conf.d")).unwrap();
        std::fs::write(
            dir.path().join("conf.d/10-lab"),
            "Host lab-*\n User labuser\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("conf.d/20-db"), "Host db\n Port=2200\n").unwrap();
        let main = format!(
            "Include {}/conf.d/*\nHost *\n User other\n",
            dir.path().display()
        );
        let c = SshConfig::parse(&main, &dir.path().join("config")).unwrap();
        assert_eq!(c.lookup("lab-1").unwrap().user.as_deref(), Some("labuser"));
        assert_eq!(c.lookup("db").unwrap().port, Some(2200));
        assert_eq!(c.lookup("db").unwrap().user.as_deref(), Some("other"));
        let circular = dir.path().join("loop");
        std::fs::write(&circular, format!("Include {}\n", circular.display())).unwrap();
        let err = SshConfig::load(&circular).unwrap_err();
        assert!(err.contains("circular"), "{err}");
    }

    #[test]
    fn missing_file_is_empty() {
        let c = SshConfig::load(Path::new("/nonexistent/ssh_config")).unwrap();
        assert_eq!(c.lookup("h").unwrap(), HostConfig::default());
    }
}
