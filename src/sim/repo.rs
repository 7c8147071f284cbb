//! The fake packagecloud repository `scalr/scalr-server-ee` (no network is ever used).
//!
//! The installer writes the repository file packagecloud's script would write; `apt-get update`
//! and `yum makecache` read it here, check the token in its URL against the lab's, and record the
//! repository index (the available versions) under `/var/lib/scalr-lab/`.

use super::root::{SimRoot, APT_LIST, LAB_STATE_DIR, YUM_REPO};
use super::vmconf::VmConf;
use crate::topology::OsId;
use serde::{Deserialize, Serialize};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const HOST: &str = "packagecloud.io";
const REPO_PATH: &str = "scalr/scalr-server-ee";
const INDEX: &str = "/var/lib/scalr-lab/repo-index.toml";

/// A repository source as written in the apt list or yum repo file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub token: String,
    pub host: String,
    /// e.g. `scalr/scalr-server-ee`
    pub repo: String,
    /// packagecloud's os and dist (`ubuntu`/`bionic`, `el`/`7`).
    pub os: String,
    pub dist: String,
}

impl Source {
    /// The URL as the package tools print it: without the token.
    pub fn public_url(&self) -> String {
        format!("https://{}/{}/{}", self.host, self.repo, self.os)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchError {
    /// No such host reachable from the lab (only packagecloud.io is emulated).
    Resolve(String),
    /// Wrong or missing token.
    Unauthorized,
    /// No build for this os/dist, or another repository.
    NotFound,
}

/// Reads the apt source line `deb https://TOKEN:@packagecloud.io/scalr/scalr-server-ee/ubuntu/ bionic main`.
pub fn read_apt(root: &SimRoot) -> Option<Source> {
    let text = std::fs::read_to_string(root.path(APT_LIST)).ok()?;
    text.lines().find_map(|line| {
        let mut words = line.split_whitespace().filter(|w| !w.starts_with('['));
        if words.next()? != "deb" {
            return None;
        }
        let url = words.next()?;
        let dist = words.next()?;
        let (token, host, path) = split_url(url)?;
        let path = path.trim_end_matches('/');
        let (repo, os) = path.rsplit_once('/')?;
        Some(Source {
            token,
            host,
            repo: repo.to_string(),
            os: os.to_string(),
            dist: dist.to_string(),
        })
    })
}

/// Reads `baseurl=https://TOKEN:@packagecloud.io/scalr/scalr-server-ee/el/7/$basearch`.
pub fn read_yum(root: &SimRoot) -> Option<Source> {
    let text = std::fs::read_to_string(root.path(YUM_REPO)).ok()?;
    text.lines().find_map(|line| {
        let url = line
            .trim()
            .strip_prefix("baseurl")?
            .trim_start()
            .strip_prefix('=')?
            .trim();
        let (token, host, path) = split_url(url)?;
        let mut parts: Vec<&str> = path.trim_end_matches('/').split('/').collect();
        if parts.last() == Some(&"$basearch") || parts.last() == Some(&"x86_64") {
            parts.pop();
        }
        let dist = parts.pop()?.to_string();
        let os = parts.pop()?.to_string();
        Some(Source {
            token,
            host,
            repo: parts.join("/"),
            os,
            dist,
        })
    })
}

/// `https://user:pass@host/path` → (user, host, path).
fn split_url(url: &str) -> Option<(String, String, String)> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let (token, host) = match authority.rsplit_once('@') {
        Some((userinfo, host)) => (userinfo.split(':').next().unwrap_or("").to_string(), host),
        None => (String::new(), authority),
    };
    Some((token, host.to_string(), path.to_string()))
}

/// What packagecloud would answer for this source.
pub fn fetch(source: &Source, vm: &VmConf) -> Result<Vec<String>, FetchError> {
    if source.host != HOST {
        return Err(FetchError::Resolve(source.host.clone()));
    }
    if source.token.is_empty()
        || source.token != vm.sim.packagecloud_token
        || vm.sim.packagecloud_token.is_empty()
    {
        return Err(FetchError::Unauthorized);
    }
    let served = OsId::ALL.iter().any(|os| {
        let (o, d) = os.packagecloud_dist();
        o == source.os && d == source.dist
    });
    if source.repo != REPO_PATH || !served {
        return Err(FetchError::NotFound);
    }
    Ok(vm.sim.versions.clone())
}

/// yum's own default `metadata_expire` (6 hours), for a repo file that does not set one.
pub const YUM_DEFAULT_METADATA_EXPIRE: Duration = Duration::from_secs(6 * 60 * 60);

/// How long yum trusts this repository's cached metadata: the repo file's `metadata_expire`
/// (seconds, or with an `m`/`h`/`d` suffix; `never` or `-1` is forever), else yum's default.
pub fn yum_metadata_expire(root: &SimRoot) -> Duration {
    let text = std::fs::read_to_string(root.path(YUM_REPO)).unwrap_or_default();
    text.lines()
        .find_map(|line| {
            let value = line
                .trim()
                .strip_prefix("metadata_expire")?
                .trim_start()
                .strip_prefix('=')?;
            parse_yum_duration(value.trim())
        })
        .unwrap_or(YUM_DEFAULT_METADATA_EXPIRE)
}

fn parse_yum_duration(value: &str) -> Option<Duration> {
    if value == "never" || value == "-1" {
        return Some(Duration::MAX);
    }
    let (number, unit) = match value.char_indices().last()? {
        (i, 's') => (&value[..i], 1),
        (i, 'm') => (&value[..i], 60),
        (i, 'h') => (&value[..i], 60 * 60),
        (i, 'd') => (&value[..i], 24 * 60 * 60),
        _ => (value, 1),
    };
    number
        .trim()
        .parse::<u64>()
        .ok()
        .map(|n| Duration::from_secs(n.saturating_mul(unit)))
}

/// The repository index recorded by the last successful update.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Index {
    pub versions: Vec<String>,
    /// The source line it came from (token removed), so a changed source needs a new update.
    pub source: String,
    /// When the refresh that wrote it ran (seconds since the epoch); an index written before
    /// this was recorded counts as stale.
    #[serde(default)]
    pub refreshed_at: u64,
}

impl Index {
    /// An index fetched from `source` just now.
    pub fn fetched(source: &Source, versions: Vec<String>) -> Index {
        Index {
            versions,
            source: Index::key(source),
            refreshed_at: unix_secs(SystemTime::now()),
        }
    }

    /// Whether a package tool may use this index instead of fetching again: it came from
    /// `source` (same URL and token) no longer than `max_age` before `now`.
    pub fn is_fresh(&self, source: &Source, max_age: Duration, now: SystemTime) -> bool {
        let age = unix_secs(now).saturating_sub(self.refreshed_at);
        self.source == Index::key(source)
            && self.refreshed_at > 0
            && Duration::from_secs(age) <= max_age
    }

    pub fn read(root: &SimRoot) -> Option<Index> {
        toml::from_str(&std::fs::read_to_string(root.path(INDEX)).ok()?).ok()
    }

    pub fn write(&self, root: &SimRoot) -> Result<(), String> {
        std::fs::create_dir_all(root.path(LAB_STATE_DIR)).map_err(|e| e.to_string())?;
        let text = toml::to_string(self).map_err(|e| e.to_string())?;
        std::fs::write(root.path(INDEX), text)
            .map_err(|e| format!("cannot write {}: {e}", root.path(INDEX).display()))
    }

    pub fn key(source: &Source) -> String {
        format!(
            "{} {} {}",
            source.public_url(),
            source.dist,
            fingerprint(&source.token)
        )
    }
}

fn unix_secs(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs()
}

fn fingerprint(token: &str) -> String {
    super::net::password_hash(token)[..12].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root_with(path: &str, text: &str) -> (tempfile::TempDir, SimRoot) {
        let dir = tempfile::tempdir().unwrap();
        let root = SimRoot::new(dir.path());
        let file = root.path(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, text).unwrap();
        (dir, root)
    }

    #[test]
    fn the_apt_source_packagecloud_writes_is_understood() {
        let (_d, root) = root_with(
            APT_LIST,
            "deb https://s3cr3t:@packagecloud.io/scalr/scalr-server-ee/ubuntu/ bionic main\n",
        );
        let src = read_apt(&root).unwrap();
        assert_eq!(src.token, "s3cr3t");
        assert_eq!(
            (src.os.as_str(), src.dist.as_str(), src.repo.as_str()),
            ("ubuntu", "bionic", REPO_PATH)
        );
        assert!(!src.public_url().contains("s3cr3t"));
    }

    #[test]
    fn the_yum_repo_packagecloud_writes_is_understood() {
        let (_d, root) = root_with(
            YUM_REPO,
            "[scalr_scalr-server-ee]\nname=scalr_scalr-server-ee\nbaseurl=https://tok:@packagecloud.io/scalr/scalr-server-ee/el/7/$basearch\nrepo_gpgcheck=1\n",
        );
        let src = read_yum(&root).unwrap();
        assert_eq!((src.os.as_str(), src.dist.as_str()), ("el", "7"));
        assert_eq!(src.token, "tok");
    }

    fn source(token: &str) -> Source {
        Source {
            token: token.into(),
            host: HOST.into(),
            repo: REPO_PATH.into(),
            os: "el".into(),
            dist: "7".into(),
        }
    }

    #[test]
    fn an_index_from_the_same_source_within_metadata_expire_is_fresh() {
        let index = Index::fetched(&source("tok"), vec!["8.0.1".into()]);
        let hour = Duration::from_secs(3600);
        assert!(index.is_fresh(&source("tok"), hour, SystemTime::now()));
        let later = SystemTime::now() + Duration::from_secs(299);
        assert!(index.is_fresh(&source("tok"), Duration::from_secs(300), later));
    }

    #[test]
    fn an_index_older_than_metadata_expire_is_stale() {
        let index = Index::fetched(&source("tok"), vec!["8.0.1".into()]);
        let later = SystemTime::now() + Duration::from_secs(301);
        assert!(!index.is_fresh(&source("tok"), Duration::from_secs(300), later));
        let undated = Index {
            refreshed_at: 0,
            ..index
        };
        assert!(!undated.is_fresh(&source("tok"), Duration::MAX, SystemTime::now()));
    }

    #[test]
    fn an_index_from_another_token_or_repository_is_not_reused() {
        let index = Index::fetched(&source("tok"), vec!["8.0.1".into()]);
        let now = SystemTime::now();
        let hour = Duration::from_secs(3600);
        assert!(!index.is_fresh(&source("other"), hour, now));
        let mut elsewhere = source("tok");
        elsewhere.dist = "6".into();
        assert!(!index.is_fresh(&elsewhere, hour, now));
    }

    #[test]
    fn metadata_expire_is_read_from_the_repo_file_with_yums_default_and_units() {
        let repo = |line: &str| root_with(YUM_REPO, &format!("[r]\nbaseurl=x\n{line}\n"));
        let (_d, root) = repo("metadata_expire=300");
        assert_eq!(yum_metadata_expire(&root), Duration::from_secs(300));
        let (_d, root) = repo("metadata_expire = 2h");
        assert_eq!(yum_metadata_expire(&root), Duration::from_secs(7200));
        let (_d, root) = repo("metadata_expire=never");
        assert_eq!(yum_metadata_expire(&root), Duration::MAX);
        let (_d, root) = repo("enabled=1");
        assert_eq!(yum_metadata_expire(&root), YUM_DEFAULT_METADATA_EXPIRE);
    }
}
