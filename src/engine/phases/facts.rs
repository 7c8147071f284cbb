//! Phase 2, facts: what a host is (OS, CPUs, RAM, disk, clock, listening ports) and what it holds
//! (Scalr version, hashes of our files, the secrets file, the installer's own markers).
//!
//! One remote script prints labelled sections; everything else is pure parsing, unit-tested here.

use crate::engine::phases::preflight;
use crate::engine::remote::{quote, Remote, RemoteCommand, RemoteError};
use crate::topology::{OsId, PackageManager};
use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The installer's own state on each host. Under `/opt/scalr-server` because that is the one
/// data disk every Scalr host has (and, in the lab, the one per-VM writable tree besides /etc).
pub const STATE_DIR: &str = "/opt/scalr-server/var/lib/scalr-installer";
/// Written after a successful reconfigure: `<config digest> <steps printed> <scalr version>`.
pub const RECONFIGURE_MARKER: &str = "/opt/scalr-server/var/lib/scalr-installer/reconfigure.ok";
/// Written after `kickstart-replication` succeeded.
pub const REPLICATION_MARKER: &str = "/opt/scalr-server/var/lib/scalr-installer/replication.ok";
pub const SCALR_HOME: &str = "/opt/scalr-server";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OsInfo {
    /// `None` when the host runs an OS Scalr does not support.
    pub id: Option<OsId>,
    /// What the host calls itself (`Fedora 30 (Server Edition)`), for messages.
    pub pretty: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskInfo {
    /// The mount point holding /opt/scalr-server (`/` when no disk is mounted there).
    pub mount: String,
    pub size_kb: u64,
    pub avail_kb: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Listener {
    pub address: String,
    pub port: u16,
}

/// The bytes of a secrets file found on a host; never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretBytes(pub Vec<u8>);

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<secret, {} bytes>", self.0.len())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Markers {
    /// Digest of the configuration the last successful reconfigure ran with.
    pub reconfigured_digest: Option<String>,
    pub reconfigure_steps: Option<usize>,
    /// The Scalr version that reconfigure ran with.
    pub reconfigured_version: Option<String>,
    pub replication_done: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct HostFacts {
    pub os: OsInfo,
    pub mem_total_kb: Option<u64>,
    pub cpus: Option<u32>,
    pub disk: Option<DiskInfo>,
    /// The installed `scalr-server` version without the package release (`8.0.1`).
    pub installed_version: Option<String>,
    /// sha256 (hex) of each of our files present on the host.
    pub file_hashes: BTreeMap<String, String>,
    /// Permission bits of each of our files present on the host.
    pub file_modes: BTreeMap<String, u32>,
    pub secrets_file: Option<SecretBytes>,
    pub markers: Markers,
    pub listeners: Vec<Listener>,
    /// Host clock minus this machine's clock, in seconds.
    pub clock_offset_secs: Option<i64>,
    /// Who the facts script ran as (`0` when sudo works): the sudo check needs no command of
    /// its own.
    pub uid: Option<u32>,
    /// The peer probes' output (`preflight::parse_probes` reads it), when the facts script ran
    /// them: on a host without the package. `None`: the preflight probes with a command of its
    /// own if it needs to.
    pub peer_probes: Option<String>,
}

/// How long a peer probe waits for an answer before it counts as a timeout.
pub const PEER_PROBE_TIMEOUT_SECS: u32 = 3;

const SECTION: &str = "@@scalr-installer:";

/// Prints a small file (or nothing when it is absent) with the shell's own `read`: no fork.
const SHOW_FILE: &str = r#"show_file() { [ -r "$1" ] || return 0; while IFS= read -r l || [ -n "$l" ]; do printf '%s\n' "$l"; done < "$1"; }"#;

/// The facts script. `files` are the paths whose hashes we want; `secrets_path` is read whole
/// (base64, so its bytes cannot be mistaken for a section label).
///
/// One script, one round trip: on a fleet every remote command costs a channel, a shell and
/// (for a sudo user) a sudo, and they all compete for the hosts' CPUs. For the same reason the
/// script forks as little as it can: small files are read by the shell itself (POSIX `read`,
/// since the login shell may be dash or bash), and a command whose answer is already known is not
/// run (no hashing when none of the files exists, no package query without the package's tree).
/// What still forks: `df`, `ss`, `date` (where the shell is not bash 5), and, when there is
/// something to ask about, the package query, `sha256sum`, `stat` and `base64`.
///
/// `peers` are the other hosts' ports this host will need. Where the package is not installed
/// (a first install, when the peer check always runs) the script probes them too, instead of
/// leaving that to a second command after the facts: see [`HostFacts::peer_probes`].
pub fn facts_script(files: &[String], secrets_path: &str, peers: &[(String, u16)]) -> String {
    let quoted: Vec<String> = files.iter().map(|f| quote(f)).collect();
    let s = |name: &str| format!("echo '{SECTION}{name}'");
    let existing_files = if quoted.is_empty() {
        "set --".to_string()
    } else {
        format!(
            "set --; for f in {}; do [ -e \"$f\" ] && set -- \"$@\" \"$f\"; done",
            quoted.join(" ")
        )
    };
    [
        SHOW_FILE.to_string(),
        s("uid"),
        // The effective uid, as `id -u` prints it, from the shell's own status.
        "if [ -r /proc/self/status ]; then while read -r k real effective rest; do [ \"$k\" = Uid: ] && { echo \"$effective\"; break; }; done < /proc/self/status; else id -u; fi".into(),
        s("os-release"),
        "show_file /etc/os-release".into(),
        s("redhat-release"),
        "show_file /etc/redhat-release".into(),
        s("meminfo"),
        "while IFS= read -r l; do case $l in MemTotal:*) printf '%s\\n' \"$l\"; break;; esac; done < /proc/meminfo".into(),
        // The online CPUs as a range list (`0-3`); the processor lines of cpuinfo where the
        // kernel lacks the file.
        format!(
            "if [ -r /sys/devices/system/cpu/online ]; then {}; show_file /sys/devices/system/cpu/online; else {}; while IFS= read -r l; do case $l in processor*) printf '%s\\n' \"$l\";; esac; done < /proc/cpuinfo; fi",
            s("cpu-online"),
            s("cpuinfo")
        ),
        s("df"),
        format!("df -P -k {SCALR_HOME} 2>/dev/null || df -P -k / 2>/dev/null"),
        // Without the package's own tree the package is not installed: nothing to ask.
        s("dpkg"),
        format!("if [ -f /etc/debian_version ] && [ -d {SCALR_HOME}/embedded ]; then dpkg-query -W -f='${{Version}}' scalr-server 2>/dev/null; echo; fi"),
        s("rpm"),
        format!("if [ -f /etc/redhat-release ] && [ -d {SCALR_HOME}/embedded ]; then rpm -q --qf '%{{VERSION}}-%{{RELEASE}}' scalr-server 2>/dev/null; echo; fi"),
        existing_files,
        s("sha256"),
        "[ $# -eq 0 ] || sha256sum -- \"$@\" 2>/dev/null".into(),
        s("stat"),
        "[ $# -eq 0 ] || stat -c '%a %n' -- \"$@\" 2>/dev/null".into(),
        s("marker-reconfigure"),
        format!("show_file {RECONFIGURE_MARKER}"),
        s("marker-replication"),
        format!("show_file {REPLICATION_MARKER}"),
        // `ss -l` asks the kernel for listening sockets only; /proc/net/tcp lists every socket
        // (on a busy host, or a shared network namespace, megabytes that cost the kernel to
        // format and us to carry and parse). The /proc fallback keeps only LISTEN (state 0A).
        format!(
            "if listening=$(ss -ltn 2>/dev/null); then {}; printf '%s\\n' \"$listening\"; else {}; grep -h ' 0A ' /proc/net/tcp /proc/net/tcp6 2>/dev/null; fi",
            s("ss"),
            s("tcp")
        ),
        s("clock"),
        // bash 5 keeps the time in a variable: no process for it.
        "echo \"${EPOCHSECONDS:-$(date +%s)}\"".into(),
        s("secrets"),
        format!(
            "if [ -f {0} ]; then echo present; base64 < {0}; fi",
            quote(secrets_path)
        ),
        if peers.is_empty() {
            "true".into()
        } else {
            format!(
                "if [ ! -d {SCALR_HOME}/embedded ]; then {}; {}; fi",
                s("probes"),
                preflight::probe_script(peers, PEER_PROBE_TIMEOUT_SECS).trim_end()
            )
        },
        s("end"),
        "true".into(),
    ]
    .join("\n")
}

/// Splits the facts script's output into its sections.
pub fn split_sections(output: &str) -> BTreeMap<String, String> {
    let mut sections = BTreeMap::new();
    let mut current: Option<String> = None;
    let mut body = String::new();
    for line in output.lines() {
        if let Some(name) = line.strip_prefix(SECTION) {
            if let Some(prev) = current.take() {
                sections.insert(prev, std::mem::take(&mut body));
            }
            current = Some(name.trim().to_string());
        } else if current.is_some() {
            body.push_str(line);
            body.push('\n');
        }
    }
    if let Some(prev) = current {
        sections.insert(prev, body);
    }
    sections
}

fn os_release_value(text: &str, key: &str) -> Option<String> {
    text.lines().find_map(|l| {
        let (k, v) = l.split_once('=')?;
        (k.trim() == key).then(|| v.trim().trim_matches('"').trim_matches('\'').to_string())
    })
}

/// Reads `/etc/os-release`, falling back to `/etc/redhat-release` (RHEL/CentOS 6 lack the former).
pub fn parse_os(os_release: &str, redhat_release: &str) -> OsInfo {
    if let Some(id) = os_release_value(os_release, "ID") {
        let version = os_release_value(os_release, "VERSION_ID").unwrap_or_default();
        let pretty = os_release_value(os_release, "PRETTY_NAME")
            .unwrap_or_else(|| format!("{id} {version}"));
        let major = version.split('.').next().unwrap_or("");
        let os = match id.as_str() {
            "ubuntu" => match version.as_str() {
                "14.04" => Some(OsId::Ubuntu1404),
                "16.04" => Some(OsId::Ubuntu1604),
                "18.04" => Some(OsId::Ubuntu1804),
                _ => None,
            },
            "debian" => match major {
                "7" => Some(OsId::Debian7),
                "8" => Some(OsId::Debian8),
                _ => None,
            },
            "centos" => match major {
                "6" => Some(OsId::Centos6),
                "7" => Some(OsId::Centos7),
                _ => None,
            },
            "rhel" => match major {
                "6" => Some(OsId::Rhel6),
                "7" => Some(OsId::Rhel7),
                _ => None,
            },
            _ => None,
        };
        return OsInfo { id: os, pretty };
    }
    let line = redhat_release.lines().next().unwrap_or("").trim();
    if line.is_empty() {
        return OsInfo {
            id: None,
            pretty: "unknown (no /etc/os-release or /etc/redhat-release)".into(),
        };
    }
    let major = line
        .split_whitespace()
        .skip_while(|w| *w != "release")
        .nth(1)
        .and_then(|v| v.split('.').next())
        .unwrap_or("");
    let os = if line.starts_with("CentOS") {
        match major {
            "6" => Some(OsId::Centos6),
            "7" => Some(OsId::Centos7),
            _ => None,
        }
    } else if line.starts_with("Red Hat Enterprise Linux") {
        match major {
            "6" => Some(OsId::Rhel6),
            "7" => Some(OsId::Rhel7),
            _ => None,
        }
    } else {
        None
    };
    OsInfo {
        id: os,
        pretty: line.to_string(),
    }
}

pub fn parse_mem_total_kb(meminfo: &str) -> Option<u64> {
    meminfo.lines().find_map(|l| {
        let rest = l.strip_prefix("MemTotal:")?;
        rest.split_whitespace().next()?.parse().ok()
    })
}

/// `/sys/devices/system/cpu/online`: a list of CPU numbers and ranges, `0-3` or `0,2-5,7`.
pub fn parse_cpu_online(list: &str) -> Option<u32> {
    let list = list.trim();
    if list.is_empty() {
        return None;
    }
    let mut n = 0u32;
    for part in list.split(',') {
        n += match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (u32, u32) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
                b.checked_sub(a)? + 1
            }
            None => part.trim().parse::<u32>().map(|_| 1).ok()?,
        };
    }
    (n > 0).then_some(n)
}

pub fn parse_cpu_count(cpuinfo: &str) -> Option<u32> {
    let n = cpuinfo
        .lines()
        .filter(|l| l.split(':').next().map(str::trim) == Some("processor"))
        .count();
    (n > 0).then_some(n as u32)
}

/// `df -P -k` output: a header, then `fs blocks used available capacity mountpoint`.
pub fn parse_df(df: &str) -> Option<DiskInfo> {
    let line = df.lines().skip(1).find(|l| !l.trim().is_empty())?;
    let fields: Vec<&str> = line.split_whitespace().collect();
    if fields.len() < 6 {
        return None;
    }
    let n = fields.len();
    Some(DiskInfo {
        mount: fields[n - 1].to_string(),
        size_kb: fields[n - 5].parse().ok()?,
        avail_kb: fields[n - 3].parse().ok()?,
    })
}

/// `8.0.1-1` → `8.0.1`: the package release suffix is not part of Scalr's version.
pub fn parse_installed_version(output: &str) -> Option<String> {
    let v = output.lines().next()?.trim();
    if v.is_empty() || v.contains(' ') {
        return None;
    }
    let version = match v.rsplit_once('-') {
        Some((ver, release)) if release.chars().all(|c| c.is_ascii_digit()) => ver,
        _ => v,
    };
    Some(version.to_string())
}

pub fn parse_sha256sum(output: &str) -> BTreeMap<String, String> {
    output
        .lines()
        .filter_map(|l| {
            let (hash, path) = l.split_once("  ")?;
            (hash.len() == 64).then(|| (path.to_string(), hash.to_string()))
        })
        .collect()
}

pub fn parse_reconfigure_marker(text: &str) -> (Option<String>, Option<usize>, Option<String>) {
    let mut words = text.split_whitespace();
    let digest = words.next().map(str::to_string);
    let steps = words.next().and_then(|s| s.parse().ok());
    // Recorded as the package manager prints it (`8.0.1-1`); compared without the release.
    let version = words.next().and_then(parse_installed_version);
    (digest, steps, version)
}

pub fn parse_stat_modes(output: &str) -> BTreeMap<String, u32> {
    output
        .lines()
        .filter_map(|l| {
            let (mode, path) = l.split_once(' ')?;
            Some((path.to_string(), u32::from_str_radix(mode, 8).ok()?))
        })
        .collect()
}

/// Listening TCP sockets from `ss -ltn`. Every iproute2 since RHEL 6 prints
/// `LISTEN <recv-q> <send-q> <local address:port> <peer address:port>`; the local address is
/// `0.0.0.0`, `*` (any IPv4, old versions), `::`/`[::]` (any IPv6), or an address with an
/// optional `%interface` suffix and IPv6 brackets.
pub fn parse_ss_listening(text: &str) -> Vec<Listener> {
    let mut out: Vec<Listener> = text
        .lines()
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            if words.next()? != "LISTEN" {
                return None;
            }
            let local = words.find(|w| w.contains(':'))?;
            let (address, port) = local.rsplit_once(':')?;
            let port = port.parse().ok()?;
            let address = address.split('%').next().unwrap_or(address);
            let address = address.trim_start_matches('[').trim_end_matches(']');
            let address = match address {
                "*" => "0.0.0.0".to_string(),
                a => match a.parse::<std::net::Ipv6Addr>() {
                    Ok(v6) => match v6.to_ipv4_mapped() {
                        Some(v4) => v4.to_string(),
                        None => v6.to_string(),
                    },
                    Err(_) => a.to_string(),
                },
            };
            Some(Listener { address, port })
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Listening TCP sockets from `/proc/net/tcp` and `/proc/net/tcp6` (state `0A`), for hosts
/// without `ss`.
pub fn parse_proc_net_tcp(text: &str) -> Vec<Listener> {
    let mut out: Vec<Listener> = text
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            if f.len() < 4 || f[3] != "0A" {
                return None;
            }
            let (addr, port) = f[1].split_once(':')?;
            let port = u16::from_str_radix(port, 16).ok()?;
            Some(Listener {
                address: decode_proc_address(addr)?,
                port,
            })
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

fn decode_proc_address(hex: &str) -> Option<String> {
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect::<Option<_>>()?;
    // The kernel prints each 32-bit word in host (little-endian) order.
    let words: Vec<[u8; 4]> = bytes.chunks(4).map(|c| [c[3], c[2], c[1], c[0]]).collect();
    match words.len() {
        1 => Some(std::net::Ipv4Addr::from(words[0]).to_string()),
        4 => {
            let flat: Vec<u8> = words.concat();
            let mut arr = [0u8; 16];
            arr.copy_from_slice(&flat);
            let v6 = std::net::Ipv6Addr::from(arr);
            Some(match v6.to_ipv4_mapped() {
                Some(v4) => v4.to_string(),
                None => v6.to_string(),
            })
        }
        _ => None,
    }
}

/// Interprets the whole facts output. `local_mid` is this machine's clock halfway through the
/// command, for the clock offset.
pub fn parse_facts(output: &str, local_mid_epoch: i64) -> HostFacts {
    let sections = split_sections(output);
    let get = |k: &str| sections.get(k).map(String::as_str).unwrap_or("");
    let os = parse_os(get("os-release"), get("redhat-release"));
    let version_text = match os.id.map(OsId::package_manager) {
        Some(PackageManager::Apt) => get("dpkg"),
        Some(PackageManager::Yum) => get("rpm"),
        None => {
            if get("dpkg").trim().is_empty() {
                get("rpm")
            } else {
                get("dpkg")
            }
        }
    };
    let (reconfigured_digest, reconfigure_steps, reconfigured_version) =
        parse_reconfigure_marker(get("marker-reconfigure"));
    HostFacts {
        os,
        mem_total_kb: parse_mem_total_kb(get("meminfo")),
        cpus: parse_cpu_online(get("cpu-online")).or_else(|| parse_cpu_count(get("cpuinfo"))),
        disk: parse_df(get("df")),
        installed_version: parse_installed_version(version_text),
        file_hashes: parse_sha256sum(get("sha256")),
        file_modes: parse_stat_modes(get("stat")),
        secrets_file: parse_secrets_section(get("secrets")).map(SecretBytes),
        markers: Markers {
            reconfigured_digest,
            reconfigure_steps,
            reconfigured_version,
            replication_done: !get("marker-replication").trim().is_empty(),
        },
        listeners: if sections.contains_key("ss") {
            parse_ss_listening(get("ss"))
        } else {
            parse_proc_net_tcp(get("tcp"))
        },
        clock_offset_secs: get("clock")
            .trim()
            .parse::<i64>()
            .ok()
            .map(|remote| remote - local_mid_epoch),
        uid: get("uid").trim().parse().ok(),
        peer_probes: sections.get("probes").cloned(),
    }
}

/// `present` then the file in base64, or nothing when the file is absent.
fn parse_secrets_section(text: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    let mut lines = text.lines();
    if lines.next()?.trim() != "present" {
        return None;
    }
    let encoded: String = lines.map(str::trim).collect();
    // A file that is not base64 on the way back was damaged in transit: it comes back empty,
    // which the render refuses as not JSON, so the run stops instead of adopting garbage.
    Some(
        base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .unwrap_or_default(),
    )
}

fn epoch_secs(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64()
}

/// Gathers a host's facts over `remote`; `files` are the configuration paths to hash.
pub fn gather(
    remote: &dyn Remote,
    files: &[String],
    secrets_path: &str,
    peers: &[(String, u16)],
) -> Result<HostFacts, RemoteError> {
    let cmd = RemoteCommand::root(
        facts_script(files, secrets_path, peers),
        Duration::from_secs(60),
    );
    let before = SystemTime::now();
    let out = remote.run(&cmd, &mut |_| {})?;
    let after = SystemTime::now();
    let mid = ((epoch_secs(before) + epoch_secs(after)) / 2.0).round() as i64;
    if !out.stdout.contains(&format!("{SECTION}end")) {
        return Err(RemoteError::fatal(format!(
            "the facts script did not finish (exit {}): {}; check that the login user can run sh and sudo on the host",
            out.exit_code,
            out.stderr.trim()
        )));
    }
    Ok(parse_facts(&out.stdout, mid))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn supported_systems_are_recognised_from_os_release() {
        let ubuntu = "NAME=\"Ubuntu\"\nVERSION=\"18.04.6 LTS (Bionic Beaver)\"\nID=ubuntu\nID_LIKE=debian\nPRETTY_NAME=\"Ubuntu 18.04.6 LTS\"\nVERSION_ID=\"18.04\"\n";
        assert_eq!(parse_os(ubuntu, "").id, Some(OsId::Ubuntu1804));
        let centos = "NAME=\"CentOS Linux\"\nVERSION=\"7 (Core)\"\nID=\"centos\"\nVERSION_ID=\"7\"\nPRETTY_NAME=\"CentOS Linux 7 (Core)\"\n";
        assert_eq!(
            parse_os(centos, "CentOS Linux release 7.9.2009 (Core)").id,
            Some(OsId::Centos7)
        );
        let rhel = "ID=\"rhel\"\nVERSION_ID=\"7.9\"\nPRETTY_NAME=\"Red Hat Enterprise Linux Server 7.9 (Maipo)\"\n";
        assert_eq!(parse_os(rhel, "").id, Some(OsId::Rhel7));
        let debian = "PRETTY_NAME=\"Debian GNU/Linux 8 (jessie)\"\nID=debian\nVERSION_ID=\"8\"\n";
        assert_eq!(parse_os(debian, "").id, Some(OsId::Debian8));
    }

    #[test]
    fn rhel_and_centos_6_fall_back_to_redhat_release() {
        assert_eq!(
            parse_os("", "CentOS release 6.10 (Final)\n").id,
            Some(OsId::Centos6)
        );
        assert_eq!(
            parse_os(
                "",
                "Red Hat Enterprise Linux Server release 6.10 (Santiago)\n"
            )
            .id,
            Some(OsId::Rhel6)
        );
    }

    #[test]
    fn unsupported_systems_keep_their_name_for_the_message() {
        let fedora =
            "NAME=Fedora\nVERSION_ID=30\nID=fedora\nPRETTY_NAME=\"Fedora 30 (Server Edition)\"\n";
        let os = parse_os(fedora, "Fedora release 30 (Thirty)");
        assert_eq!(os.id, None);
        assert_eq!(os.pretty, "Fedora 30 (Server Edition)");
        assert_eq!(parse_os("ID=ubuntu\nVERSION_ID=\"20.04\"\n", "").id, None);
        assert_eq!(parse_os("", "").id, None);
    }

    #[test]
    fn memory_cpus_and_disk_are_read_from_proc_and_df() {
        assert_eq!(
            parse_mem_total_kb("MemTotal:        8167848 kB\nMemFree:  1 kB\n"),
            Some(8_167_848)
        );
        assert_eq!(
            parse_cpu_count("processor\t: 0\nmodel name\t: x\n\nprocessor\t: 1\nmodel name\t: x\n"),
            Some(2)
        );
        let df = "Filesystem     1024-blocks  Used Available Capacity Mounted on\ntmpfs 52428800 1024 52427776 1% /opt/scalr-server\n";
        assert_eq!(
            parse_df(df),
            Some(DiskInfo {
                mount: "/opt/scalr-server".into(),
                size_kb: 52_428_800,
                avail_kb: 52_427_776
            })
        );
        assert_eq!(parse_df(""), None);
    }

    #[test]
    fn installed_version_drops_the_package_release() {
        assert_eq!(parse_installed_version("8.0.1-1"), Some("8.0.1".into()));
        assert_eq!(
            parse_installed_version("7.10.1.enterprise.xenial.b316-1"),
            Some("7.10.1.enterprise.xenial.b316".into())
        );
        assert_eq!(parse_installed_version(""), None);
        assert_eq!(
            parse_installed_version("package scalr-server is not installed"),
            None
        );
    }

    #[test]
    fn the_uid_and_the_secrets_file_come_with_the_facts() {
        let out = "@@scalr-installer:uid\n0\n@@scalr-installer:secrets\npresent\neyJhIjoi\nYiJ9\n@@scalr-installer:end\n";
        let f = parse_facts(out, 0);
        assert_eq!(f.uid, Some(0));
        assert_eq!(f.secrets_file, Some(SecretBytes(br#"{"a":"b"}"#.to_vec())));
        let absent = parse_facts(
            "@@scalr-installer:uid\n1000\n@@scalr-installer:secrets\n@@scalr-installer:end\n",
            0,
        );
        assert_eq!(absent.uid, Some(1000));
        assert_eq!(absent.secrets_file, None);
        let script = facts_script(&[], "/etc/s e/x.json", &[]);
        assert!(script.contains("base64 < '/etc/s e/x.json'"), "{script}");
    }

    #[test]
    fn listening_sockets_are_read_from_ss_old_and_new() {
        let new = "State  Recv-Q Send-Q Local Address:Port  Peer Address:PortProcess\n\
                   LISTEN 0      128       127.0.3.19:6000       0.0.0.0:*\n\
                   LISTEN 0      4096   127.0.0.53%lo:53         0.0.0.0:*\n\
                   LISTEN 0      128             [::]:22            [::]:*\n\
                   LISTEN 0      128  [::ffff:127.0.0.1]:80         [::]:*\n";
        let old = "State      Recv-Q Send-Q        Local Address:Port          Peer Address:Port\n\
                   LISTEN     0      128                      :::22                      :::*\n\
                   LISTEN     0      128                       *:443                      *:*\n";
        let l = |a: &str, p: u16| Listener {
            address: a.into(),
            port: p,
        };
        assert_eq!(
            parse_ss_listening(new),
            vec![
                l("127.0.0.1", 80),
                l("127.0.0.53", 53),
                l("127.0.3.19", 6000),
                l("::", 22)
            ]
        );
        assert_eq!(
            parse_ss_listening(old),
            vec![l("0.0.0.0", 443), l("::", 22)]
        );
    }

    #[test]
    fn the_facts_script_prefers_ss_and_falls_back_to_listening_lines_of_proc() {
        let script = facts_script(&[], "/etc/scalr-server/scalr-server-secrets.json", &[]);
        assert!(script.contains("listening=$(ss -ltn"), "{script}");
        assert!(script.contains("grep -h ' 0A ' /proc/net/tcp"), "{script}");
        let with_ss = "@@scalr-installer:ss\nState Recv-Q Send-Q Local Peer\nLISTEN 0 128 0.0.0.0:80 0.0.0.0:*\n@@scalr-installer:end\n";
        let f = parse_facts(with_ss, 0);
        assert_eq!(
            f.listeners,
            vec![Listener {
                address: "0.0.0.0".into(),
                port: 80
            }]
        );
        let with_proc = "@@scalr-installer:tcp\n   0: 00000000:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 1 1\n";
        assert_eq!(parse_facts(with_proc, 0).listeners, f.listeners);
    }

    #[test]
    fn listening_sockets_are_decoded_from_proc_net_tcp() {
        let tcp = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 0B03007F:0CEA 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1\n   1: 0100007F:0016 0100007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 2 1\n";
        let tcp6 = "   0: 00000000000000000000000000000000:0050 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 3 1\n";
        let all = format!("{tcp}{tcp6}");
        assert_eq!(
            parse_proc_net_tcp(&all),
            vec![
                Listener {
                    address: "127.0.3.11".into(),
                    port: 3306
                },
                Listener {
                    address: "::".into(),
                    port: 80
                },
            ]
        );
    }

    #[test]
    fn the_whole_script_output_is_parsed_into_facts() {
        let out = format!(
            "{s}os-release\nID=ubuntu\nVERSION_ID=\"16.04\"\n{s}redhat-release\n{s}meminfo\nMemTotal: 3500000 kB\n{s}cpuinfo\nprocessor : 0\n{s}df\nFilesystem 1024-blocks Used Available Capacity Mounted on\nx 100 10 90 10% /\n{s}dpkg\n8.0.0-1\n{s}rpm\n{s}sha256\n{h}  /etc/scalr-server/scalr-server.rb\n{s}stat\n600 /etc/scalr-server/scalr-server.rb\n{s}marker-reconfigure\nabc123 37 8.0.0\n{s}marker-replication\n{s}tcp\n{s}clock\n1000\n{s}end\n",
            s = SECTION,
            h = "a".repeat(64)
        );
        let facts = parse_facts(&out, 998);
        assert_eq!(facts.os.id, Some(OsId::Ubuntu1604));
        assert_eq!(facts.mem_total_kb, Some(3_500_000));
        assert_eq!(facts.cpus, Some(1));
        assert_eq!(facts.installed_version.as_deref(), Some("8.0.0"));
        assert_eq!(facts.file_hashes.len(), 1);
        assert_eq!(facts.markers.reconfigured_digest.as_deref(), Some("abc123"));
        assert_eq!(facts.markers.reconfigure_steps, Some(37));
        assert_eq!(facts.markers.reconfigured_version.as_deref(), Some("8.0.0"));
        assert_eq!(facts.file_modes["/etc/scalr-server/scalr-server.rb"], 0o600);
        assert!(!facts.markers.replication_done);
        assert_eq!(facts.clock_offset_secs, Some(2));
    }

    #[test]
    fn the_script_quotes_every_path() {
        let script = facts_script(&["/etc/x y".to_string()], "/etc/s e/c'rets.json", &[]);
        assert!(script.contains("for f in '/etc/x y'; do"), "{script}");
    }

    #[test]
    fn online_cpus_are_counted_from_the_kernels_range_list() {
        assert_eq!(parse_cpu_online("0-3\n"), Some(4));
        assert_eq!(parse_cpu_online("0\n"), Some(1));
        assert_eq!(parse_cpu_online("0,2-5,7"), Some(6));
        assert_eq!(parse_cpu_online(""), None);
        assert_eq!(parse_cpu_online("3-1"), None);
        let online = parse_facts(
            "@@scalr-installer:cpu-online\n0-7\n@@scalr-installer:end\n",
            0,
        );
        assert_eq!(online.cpus, Some(8));
        let cpuinfo = parse_facts(
            "@@scalr-installer:cpuinfo\nprocessor\t: 0\nprocessor\t: 1\n@@scalr-installer:end\n",
            0,
        );
        assert_eq!(cpuinfo.cpus, Some(2));
    }

    /// Runs the facts script with a POSIX sh (dash where installed) over a temp dir.
    fn run_script(script: &str) -> String {
        let shell = ["/bin/dash", "/bin/sh"]
            .into_iter()
            .find(|s| std::path::Path::new(s).exists())
            .unwrap();
        let out = std::process::Command::new(shell)
            .args(["-c", script])
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    }

    #[test]
    fn without_the_package_the_script_probes_the_peers_itself() {
        // This machine has no /opt/scalr-server/embedded, as a host before its first install.
        let open = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let (open_port, closed_port) = (
            open.local_addr().unwrap().port(),
            closed.local_addr().unwrap().port(),
        );
        drop(closed);
        let peers = [
            ("127.0.0.1".to_string(), open_port),
            ("127.0.0.1".to_string(), closed_port),
        ];
        let out = run_script(&facts_script(&[], "/nonexistent/secrets.json", &peers));
        let facts = parse_facts(&out, 0);
        let probed = facts
            .peer_probes
            .unwrap_or_else(|| panic!("not probed with the facts: {out}"));
        let verdicts = preflight::parse_probes(&probed);
        assert_eq!(verdicts.len(), 2, "{probed}");
        assert!(
            probed.contains(&format!("open 127.0.0.1 {open_port}")),
            "{probed}"
        );
        assert!(
            probed.contains(&format!("refused 127.0.0.1 {closed_port}")),
            "{probed}"
        );
        assert!(out.contains(&format!("{SECTION}end")));

        // No peers: no probing at all.
        let out = run_script(&facts_script(&[], "/nonexistent/secrets.json", &[]));
        assert_eq!(parse_facts(&out, 0).peer_probes, None);
    }

    #[test]
    fn the_script_reads_files_without_forks_and_hashes_only_files_that_exist() {
        let tmp = tempfile::tempdir().unwrap();
        let present = tmp.path().join("scalr server.rb");
        // The last line has no newline: it must still be read.
        std::fs::write(&present, "a = 1\nb = 2").unwrap();
        let absent = tmp.path().join("absent.rb");
        let files = vec![
            present.to_string_lossy().into_owned(),
            absent.to_string_lossy().into_owned(),
        ];
        let secrets = tmp.path().join("secrets.json");
        let out = run_script(&facts_script(&files, &secrets.to_string_lossy(), &[]));
        let sections = split_sections(&out);
        assert!(sections.contains_key("end"), "{out}");
        let facts = parse_facts(&out, 0);
        assert_eq!(facts.uid, Some(nix::unistd::geteuid().as_raw()));
        assert_eq!(
            facts.mem_total_kb,
            parse_mem_total_kb(&std::fs::read_to_string("/proc/meminfo").unwrap())
        );
        assert_eq!(sections["meminfo"].lines().count(), 1, "only MemTotal");
        assert!(facts.cpus.is_some_and(|n| n >= 1));
        assert_eq!(facts.file_hashes.len(), 1, "{out}");
        assert_eq!(
            facts.file_hashes[&files[0]],
            crate::engine::plan::sha256_hex(b"a = 1\nb = 2")
        );
        assert_eq!(facts.file_modes.len(), 1);
        assert_eq!(facts.secrets_file, None);

        // Nothing there: no hashing at all, and every section still present.
        let out = run_script(&facts_script(&files[1..], &secrets.to_string_lossy(), &[]));
        let sections = split_sections(&out);
        assert_eq!(
            (sections["sha256"].as_str(), sections["stat"].as_str()),
            ("", "")
        );

        // show_file prints a file as it is, including a last line without its newline.
        let shown = run_script(&format!(
            "{SHOW_FILE}\nshow_file {}; show_file {}",
            quote(&files[0]),
            quote(&files[1])
        ));
        assert_eq!(shown, "a = 1\nb = 2\n");
    }
}
