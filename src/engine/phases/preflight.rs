//! Phase 3, preflight: is each host fit to run its Scalr modules? Pure checks over facts and
//! requirements, each with a fix the operator can act on. A `Fail` blocks the run before anything
//! is changed on any host; a `Warn` is shown and the run goes on.

use crate::engine::desired::DesiredHost;
use crate::engine::events::CheckStatus;
use crate::engine::phases::facts::{HostFacts, Listener};
use crate::engine::remote::quote;
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckResult {
    pub name: String,
    pub status: CheckStatus,
    pub detail: String,
    pub fix: Option<String>,
}

impl CheckResult {
    fn pass(name: &str, detail: impl Into<String>) -> CheckResult {
        CheckResult {
            name: name.into(),
            status: CheckStatus::Pass,
            detail: detail.into(),
            fix: None,
        }
    }

    fn warn(name: &str, detail: impl Into<String>, fix: impl Into<String>) -> CheckResult {
        CheckResult {
            name: name.into(),
            status: CheckStatus::Warn,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }

    fn fail(name: &str, detail: impl Into<String>, fix: impl Into<String>) -> CheckResult {
        CheckResult {
            name: name.into(),
            status: CheckStatus::Fail,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }
}

/// Whether any check blocks the run.
pub fn blocks(checks: &[CheckResult]) -> bool {
    checks.iter().any(|c| c.status == CheckStatus::Fail)
}

fn gb(kb: u64) -> String {
    format!("{:.1} GB", kb as f64 / 1024.0 / 1024.0)
}

pub fn check_os(host: &DesiredHost, facts: &HostFacts) -> CheckResult {
    match facts.os.id {
        None => CheckResult::fail(
            "os",
            format!("{} is not supported by Scalr Server", facts.os.pretty),
            "use RHEL/CentOS 6 or 7, Debian 7 or 8, or Ubuntu 14.04, 16.04 or 18.04",
        ),
        Some(os) => match host.expected_os {
            Some(expected) if expected != os => CheckResult::fail(
                "os",
                format!("the profile expects {expected} but the host runs {os}"),
                format!("set os = \"{os}\" for host {} in the profile, or point the host at the intended VM", host.name),
            ),
            _ => CheckResult::pass("os", os.title()),
        },
    }
}

pub fn check_ram(host: &DesiredHost, facts: &HostFacts) -> CheckResult {
    let req = &host.requirements;
    match facts.mem_total_kb {
        None => CheckResult::fail(
            "ram",
            "MemTotal could not be read from /proc/meminfo",
            "check that /proc is mounted on the host",
        ),
        Some(kb) if kb < req.ram_floor_kb => CheckResult::fail(
            "ram",
            format!(
                "MemTotal {} ({kb} kB) is below Scalr's floor of {} kB: scalr-server-ctl refuses to run",
                gb(kb),
                req.ram_floor_kb
            ),
            format!(
                "give the VM at least 4 GB of RAM ({} recommended)",
                gb(req.ram_recommended_kb)
            ),
        ),
        Some(kb) if kb < req.ram_recommended_kb * 95 / 100 => CheckResult::warn(
            "ram",
            format!(
                "{} is below the {} recommended for this role",
                gb(kb),
                gb(req.ram_recommended_kb)
            ),
            format!(
                "resize the VM to {} before production use",
                gb(req.ram_recommended_kb)
            ),
        ),
        Some(kb) => CheckResult::pass("ram", gb(kb)),
    }
}

pub fn check_cpus(host: &DesiredHost, facts: &HostFacts) -> CheckResult {
    let want = host.requirements.cpus_recommended;
    match facts.cpus {
        Some(n) if n >= want => CheckResult::pass("cpus", format!("{n} CPUs")),
        Some(n) => CheckResult::warn(
            "cpus",
            format!("{n} CPUs, {want} recommended for this role"),
            format!("give the VM {want} vCPUs before production use"),
        ),
        None => CheckResult::warn(
            "cpus",
            "the CPU count could not be read from /proc/cpuinfo",
            "check the host's /proc",
        ),
    }
}

pub fn check_disk(host: &DesiredHost, facts: &HostFacts) -> Vec<CheckResult> {
    let req = &host.requirements;
    let Some(disk) = &facts.disk else {
        return vec![CheckResult::warn(
            "disk",
            "the size of /opt/scalr-server could not be read with df",
            "mount a data disk at /opt/scalr-server",
        )];
    };
    let size = if disk.mount != "/opt/scalr-server" {
        CheckResult::warn(
            "disk",
            format!(
                "/opt/scalr-server is not a mount point; it lives on {} ({})",
                disk.mount,
                gb(disk.size_kb)
            ),
            format!(
                "mount a dedicated disk of {} at /opt/scalr-server",
                gb(req.disk_recommended_kb)
            ),
        )
    } else if disk.size_kb < req.disk_recommended_kb * 95 / 100 {
        CheckResult::warn(
            "disk",
            format!(
                "/opt/scalr-server is {}, {} recommended for this role",
                gb(disk.size_kb),
                gb(req.disk_recommended_kb)
            ),
            format!(
                "grow the disk at /opt/scalr-server to {}",
                gb(req.disk_recommended_kb)
            ),
        )
    } else {
        CheckResult::pass("disk", format!("/opt/scalr-server {}", gb(disk.size_kb)))
    };
    let free = if disk.avail_kb < req.disk_free_floor_kb {
        CheckResult::fail(
            "disk free",
            format!("only {} free on {}", gb(disk.avail_kb), disk.mount),
            format!(
                "free at least {} on {}",
                gb(req.disk_free_floor_kb),
                disk.mount
            ),
        )
    } else if disk.size_kb > 0 && disk.avail_kb * 5 < disk.size_kb {
        CheckResult::warn(
            "disk free",
            format!("{} is more than 80% full", disk.mount),
            format!("free space on {}: Scalr should stay below 80%", disk.mount),
        )
    } else {
        CheckResult::pass("disk free", format!("{} free", gb(disk.avail_kb)))
    };
    vec![size, free]
}

/// Ports Scalr will bind must be free before Scalr runs here; once it ran, Scalr holds them itself.
pub fn check_ports(host: &DesiredHost, facts: &HostFacts) -> CheckResult {
    if facts.markers.reconfigured_digest.is_some() {
        return CheckResult::pass("ports", "Scalr already runs here and holds its ports");
    }
    let conflicts = |l: &&Listener| {
        host.listen_ports.contains(&l.port)
            && matches!(l.address.as_str(), "0.0.0.0" | "::" | "127.0.0.1")
            || (host.listen_ports.contains(&l.port) && l.address == host.private_address)
    };
    let busy: Vec<String> = facts
        .listeners
        .iter()
        .filter(conflicts)
        .map(|l| format!("{}:{}", l.address, l.port))
        .collect();
    if busy.is_empty() {
        CheckResult::pass("ports", format!("{} ports free", host.listen_ports.len()))
    } else {
        CheckResult::fail(
            "ports",
            format!("already in use: {}", busy.join(", ")),
            "stop the programs listening there (see `ss -ltnp` on the host) or move them",
        )
    }
}

/// Clocks must agree: replication, TLS and session tokens break when they drift. Each host is
/// compared with the median of all hosts, so a skewed laptop running the installer does not
/// matter.
pub fn check_clocks(offsets: &BTreeMap<String, Option<i64>>) -> BTreeMap<String, CheckResult> {
    let mut known: Vec<i64> = offsets.values().flatten().copied().collect();
    known.sort();
    let median = known.get(known.len() / 2).copied().unwrap_or(0);
    offsets
        .iter()
        .map(|(host, offset)| {
            let result = match offset {
                None => CheckResult::warn(
                    "clock",
                    "the host's clock could not be read",
                    "check `date` on the host",
                ),
                Some(o) => {
                    let drift = (o - median).abs();
                    if drift > 60 {
                        CheckResult::fail(
                            "clock",
                            format!("{drift} s off the other hosts"),
                            "enable NTP (chronyd or ntpd) on every host and wait for it to sync",
                        )
                    } else if drift > 5 {
                        CheckResult::warn(
                            "clock",
                            format!("{drift} s off the other hosts"),
                            "enable NTP (chronyd or ntpd) on every host",
                        )
                    } else {
                        CheckResult::pass("clock", "in step with the other hosts")
                    }
                }
            };
            (host.clone(), result)
        })
        .collect()
}

/// The command that proves root works (through sudo when configured).
/// Whether commands run as root: `uid` is who the facts script ran as (through sudo for a
/// non-root login), or the error that stopped it.
pub fn check_sudo(uid: &Result<Option<u32>, String>, user_hint: &str) -> CheckResult {
    let fix = format!("allow {user_hint} to run commands with sudo, or check the sudo password in SCALR_SUDO_PASSWORD");
    match uid {
        Ok(Some(0)) => CheckResult::pass("sudo", "commands run as root"),
        Ok(Some(uid)) => {
            CheckResult::fail("sudo", format!("commands run as uid {uid}, not root"), fix)
        }
        Ok(None) => CheckResult::fail(
            "sudo",
            "could not tell which user commands run as (`id -u` printed nothing)",
            fix,
        ),
        Err(e) => CheckResult::fail("sudo", e.clone(), fix),
    }
}

/// What a TCP probe from one host to another found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    Open,
    /// The peer answered with a reset: the network path works, nothing listens.
    Refused,
    /// No answer: a firewall or routing problem.
    TimedOut,
}

/// Probes each `(address, port)` from a host with bash's /dev/tcp, in one bash.
///
/// A host probes its peers, so the cost is quadratic in the fleet, and a fork per probe was
/// most of a 48-host re-run. So the probes first run one after the other in a single process:
/// an open or refused port answers at once. Only when that pass is still connecting after
/// `timeout_secs` (a firewall dropping packets) is it stopped, and the targets it did not finish
/// are probed again all at once, a forked subshell each, under the same deadline.
///
/// The first pass's deadline is kept by `read -t` with what is left of it (bash's `SECONDS`, in
/// whole seconds: the pass ends up to a second early, and the second pass then covers what it
/// left), not by a watchdog process: every host probes at once, at the start of a run and in
/// verify at its end, where each process a host starts delays the fleet.
/// Prints `open|refused|timeout ADDRESS PORT` per target, in order.
pub fn probe_script(targets: &[(String, u16)], timeout_secs: u32) -> String {
    let body = format!(
        r#"exec 4< <(
  exec 2>/dev/null
  echo "pid $BASHPID"
  while [ $# -gt 1 ]; do
    if : 3<>"/dev/tcp/$1/$2"; then echo "open $1 $2"; else echo "refused $1 $2"; fi
    shift 2
  done
)
read -r _ fast <&4
finished=0
while left=$(({timeout_secs} - SECONDS)); [ "$left" -gt 0 ] && read -t "$left" -r verdict address port <&4; do
  echo "$verdict $address $port"; finished=$((finished + 1))
done
kill "$fast" 2>/dev/null
exec 4<&-
shift $((finished * 2))
[ $# -gt 1 ] || exit 0
pids=""
while [ $# -gt 1 ]; do
  ( exec 3<>"/dev/tcp/$1/$2" ) 2>/dev/null </dev/null &
  pids="$pids $!:$1:$2"; shift 2
done
( sleep {timeout_secs}; for e in $pids; do kill "${{e%%:*}}"; done ) >/dev/null 2>&1 </dev/null &
dog=$!
for e in $pids; do
  pid=${{e%%:*}}; rest=${{e#*:}}; target="${{rest%:*}} ${{rest##*:}}"
  if wait "$pid"; then echo "open $target"
  elif [ $? -gt 128 ]; then echo "timeout $target"
  else echo "refused $target"; fi
done
kill "$dog" 2>/dev/null
true"#
    );
    let mut s = format!("bash -c {} probe", quote(&body));
    for (address, port) in targets {
        s.push_str(&format!(" {} {}", quote(address), port));
    }
    s.push('\n');
    s
}

pub fn parse_probes(output: &str) -> Vec<(String, u16, Probe)> {
    output
        .lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            let probe = match w.next()? {
                "open" => Probe::Open,
                "refused" => Probe::Refused,
                "timeout" => Probe::TimedOut,
                _ => return None,
            };
            let address = w.next()?.to_string();
            let port = w.next()?.parse().ok()?;
            Some((address, port, probe))
        })
        .collect()
}

/// Before Scalr runs, peers are reachable when their SSH port answers (open or refused both prove
/// a route); a timeout means a firewall drops the traffic.
pub fn check_peers(
    from: &str,
    probes: &[(String, u16, Probe)],
    names: &BTreeMap<String, String>,
) -> CheckResult {
    let unreachable: Vec<String> = probes
        .iter()
        .filter(|(_, _, p)| *p == Probe::TimedOut)
        .map(|(a, port, _)| {
            format!(
                "{} ({a}:{port})",
                names.get(a).map(String::as_str).unwrap_or(a)
            )
        })
        .collect();
    if unreachable.is_empty() {
        CheckResult::pass("peers", format!("reaches {} peer(s)", probes.len()))
    } else {
        CheckResult::fail(
            "peers",
            format!("{from} cannot reach {}", unreachable.join(", ")),
            "open the Scalr ports between the hosts (see docs: network requirements) and check routing",
        )
    }
}

/// Every per-host check that needs only facts.
pub fn check_host(host: &DesiredHost, facts: &HostFacts) -> Vec<CheckResult> {
    let mut out = vec![
        check_os(host, facts),
        check_ram(host, facts),
        check_cpus(host, facts),
    ];
    out.extend(check_disk(host, facts));
    out.push(check_ports(host, facts));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::desired::Requirements;
    use crate::engine::phases::facts::{DiskInfo, Markers, OsInfo};
    use crate::topology::{Module, OsId};

    fn host() -> DesiredHost {
        DesiredHost {
            name: "app-1".into(),
            private_address: "127.0.3.11".into(),
            modules: [Module::Proxy, Module::App].into_iter().collect(),
            db_role: None,
            expected_os: Some(OsId::Ubuntu1804),
            requirements: Requirements::default(),
            listen_ports: vec![80, 5671],
            needs: vec![],
        }
    }

    fn facts() -> HostFacts {
        HostFacts {
            os: OsInfo {
                id: Some(OsId::Ubuntu1804),
                pretty: "Ubuntu 18.04".into(),
            },
            mem_total_kb: Some(8 * 1024 * 1024),
            cpus: Some(4),
            disk: Some(DiskInfo {
                mount: "/opt/scalr-server".into(),
                size_kb: 60 * 1024 * 1024,
                avail_kb: 59 * 1024 * 1024,
            }),
            installed_version: None,
            file_hashes: Default::default(),
            file_modes: Default::default(),
            secrets_file: None,
            markers: Markers::default(),
            listeners: vec![],
            clock_offset_secs: Some(0),
            uid: Some(0),
            peer_probes: None,
        }
    }

    fn statuses(checks: &[CheckResult]) -> Vec<(String, CheckStatus)> {
        checks.iter().map(|c| (c.name.clone(), c.status)).collect()
    }

    #[test]
    fn a_fit_host_passes_every_check() {
        let checks = check_host(&host(), &facts());
        assert!(
            checks.iter().all(|c| c.status == CheckStatus::Pass),
            "{checks:?}"
        );
        assert!(!blocks(&checks));
    }

    #[test]
    fn ram_below_the_floor_fails_and_below_recommended_warns() {
        let mut f = facts();
        f.mem_total_kb = Some(3_500_000);
        let c = check_ram(&host(), &f);
        assert_eq!(c.status, CheckStatus::Fail);
        assert!(c.detail.contains("3600000"), "{}", c.detail);
        assert!(c.fix.unwrap().contains("4 GB"));
        f.mem_total_kb = Some(4_000_000);
        assert_eq!(check_ram(&host(), &f).status, CheckStatus::Warn);
    }

    #[test]
    fn an_unsupported_os_fails_naming_what_the_host_runs() {
        let mut f = facts();
        f.os = OsInfo {
            id: None,
            pretty: "Fedora 30 (Server Edition)".into(),
        };
        let c = check_os(&host(), &f);
        assert_eq!(c.status, CheckStatus::Fail);
        assert!(c.detail.contains("Fedora 30"));
    }

    #[test]
    fn an_os_other_than_the_profile_expects_fails() {
        let mut f = facts();
        f.os.id = Some(OsId::Centos7);
        let c = check_os(&host(), &f);
        assert_eq!(c.status, CheckStatus::Fail);
        assert!(c.fix.unwrap().contains("os = \"centos-7\""));
    }

    #[test]
    fn small_or_nearly_full_disks_are_reported() {
        let mut f = facts();
        f.disk = Some(DiskInfo {
            mount: "/".into(),
            size_kb: 10 * 1024 * 1024,
            avail_kb: 1024 * 1024,
        });
        assert_eq!(
            statuses(&check_disk(&host(), &f)),
            vec![
                ("disk".into(), CheckStatus::Warn),
                ("disk free".into(), CheckStatus::Fail)
            ]
        );
    }

    #[test]
    fn a_port_taken_by_another_program_fails_before_the_first_install_only() {
        let mut f = facts();
        f.listeners = vec![
            Listener {
                address: "0.0.0.0".into(),
                port: 80,
            },
            Listener {
                address: "127.0.3.12".into(),
                port: 5671,
            },
        ];
        let c = check_ports(&host(), &f);
        assert_eq!(c.status, CheckStatus::Fail);
        assert_eq!(c.detail, "already in use: 0.0.0.0:80");
        f.markers.reconfigured_digest = Some("x".into());
        assert_eq!(check_ports(&host(), &f).status, CheckStatus::Pass);
    }

    #[test]
    fn a_clock_far_from_the_others_fails() {
        let offsets: BTreeMap<String, Option<i64>> = [
            ("a".to_string(), Some(100)),
            ("b".to_string(), Some(101)),
            ("c".to_string(), Some(300)),
            ("d".to_string(), Some(108)),
            ("e".to_string(), Some(100)),
        ]
        .into_iter()
        .collect();
        let r = check_clocks(&offsets);
        assert_eq!(r["a"].status, CheckStatus::Pass);
        assert_eq!(r["b"].status, CheckStatus::Pass);
        assert_eq!(r["c"].status, CheckStatus::Fail);
        assert_eq!(r["d"].status, CheckStatus::Warn);
    }

    #[test]
    fn sudo_must_yield_uid_zero() {
        assert_eq!(check_sudo(&Ok(Some(0)), "deploy").status, CheckStatus::Pass);
        let not_root = check_sudo(&Ok(Some(1000)), "deploy");
        assert_eq!(not_root.status, CheckStatus::Fail);
        assert_eq!(not_root.detail, "commands run as uid 1000, not root");
        assert_eq!(check_sudo(&Ok(None), "deploy").status, CheckStatus::Fail);
        let wrong = check_sudo(&Err("sudo: 3 incorrect password attempts".into()), "deploy");
        assert_eq!(wrong.status, CheckStatus::Fail);
        assert!(wrong.fix.unwrap().contains("SCALR_SUDO_PASSWORD"));
    }

    #[test]
    fn peers_that_time_out_are_unreachable_but_refusals_prove_a_route() {
        let out = "open 127.0.3.12 22\nrefused 127.0.3.13 22\ntimeout 127.0.3.14 22\n";
        let probes = parse_probes(out);
        assert_eq!(probes.len(), 3);
        let names = [("127.0.3.14".to_string(), "db-slave".to_string())]
            .into_iter()
            .collect();
        let c = check_peers("app-1", &probes, &names);
        assert_eq!(c.status, CheckStatus::Fail);
        assert_eq!(c.detail, "app-1 cannot reach db-slave (127.0.3.14:22)");
        assert_eq!(
            check_peers("app-1", &probes[..2], &names).status,
            CheckStatus::Pass
        );
    }

    #[test]
    fn the_probe_script_quotes_addresses() {
        let s = probe_script(&[("a b".into(), 22)], 3);
        assert!(s.contains(" probe 'a b' 22"), "{s}");
    }

    #[test]
    fn probes_tell_open_refused_and_timed_out_ports_apart_in_one_shell() {
        let (_listener, open, closed) = open_and_closed_ports();
        let started = std::time::Instant::now();
        let (probes, _) = probe_loopback(&[open, closed], 2);
        assert_eq!(
            probes,
            vec![
                ("127.0.0.1".to_string(), open, Probe::Open),
                ("127.0.0.1".to_string(), closed, Probe::Refused),
            ]
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
    }

    /// Runs the probe script here, as a host would, against `ports` on 127.0.0.1; returns what
    /// it found and its stderr.
    fn probe_loopback(ports: &[u16], timeout_secs: u32) -> (Vec<(String, u16, Probe)>, String) {
        let targets: Vec<(String, u16)> = ports
            .iter()
            .map(|p| ("127.0.0.1".to_string(), *p))
            .collect();
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(probe_script(&targets, timeout_secs))
            .output()
            .unwrap();
        (
            parse_probes(&String::from_utf8_lossy(&out.stdout)),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// A listening port (open while the listener lives) and a closed one, both on loopback.
    fn open_and_closed_ports() -> (std::net::TcpListener, u16, u16) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let open = listener.local_addr().unwrap().port();
        let closed = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        (listener, open, closed)
    }

    /// A listener with a full accept queue drops new SYNs, as a firewall would: a connect to
    /// it hangs. Built on loopback, so the test reaches nothing outside this machine.
    fn black_hole() -> (std::net::TcpListener, u16, Vec<std::net::TcpStream>) {
        use std::os::fd::AsRawFd;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        // std listens with a backlog of 128; shrink it to the minimum.
        assert_eq!(unsafe { libc::listen(listener.as_raw_fd(), 0) }, 0);
        let port = listener.local_addr().unwrap().port();
        // Fill the queue; nothing ever accepts.
        let mut held = Vec::new();
        for _ in 0..3 {
            if let Ok(s) = std::net::TcpStream::connect_timeout(
                &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
                std::time::Duration::from_millis(200),
            ) {
                held.push(s);
            }
        }
        (listener, port, held)
    }

    #[test]
    fn a_dropping_port_times_out_and_the_ports_after_it_are_still_probed() {
        let (_listener, open, closed) = open_and_closed_ports();
        let (_hole, dropping, _held) = black_hole();
        let (probes, stderr) = probe_loopback(&[open, dropping, closed, open], 1);
        assert_eq!(
            probes,
            vec![
                ("127.0.0.1".to_string(), open, Probe::Open),
                ("127.0.0.1".to_string(), dropping, Probe::TimedOut),
                ("127.0.0.1".to_string(), closed, Probe::Refused),
                ("127.0.0.1".to_string(), open, Probe::Open),
            ],
            "{stderr}"
        );
    }
}
