//! The hardware a VM reports: CPU count, memory and the size of its `/opt/scalr-server` disk.
//!
//! Defaults follow the architecture spec's recommendation per role, so a default lab passes
//! preflight; per-VM overrides exercise the failing checks.

use crate::profile::HaRole;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Hardware {
    pub cpus: u32,
    pub ram_mb: u64,
    /// Size of the tmpfs mounted at `/opt/scalr-server`, in MiB.
    pub disk_mb: u64,
}

const GB: u64 = 1024;

impl Hardware {
    /// The spec's recommendation for an `ha` role; `None` is the single compact VM, which gets
    /// the largest of every dimension so any per-module check passes.
    pub fn recommended(role: Option<HaRole>) -> Hardware {
        let (ram_gb, disk_gb) = match role {
            Some(HaRole::App) | Some(HaRole::Worker) => (8, 100),
            Some(HaRole::Influxdb) => (16, 100),
            Some(HaRole::DbMaster) | Some(HaRole::DbSlave) => (8, 750),
            None => (16, 750),
        };
        Hardware {
            cpus: 4,
            ram_mb: ram_gb * GB,
            disk_mb: disk_gb * GB,
        }
    }

    pub fn ram_kb(&self) -> u64 {
        self.ram_mb * 1024
    }

    /// `/proc/meminfo` as the kernel prints it, for a freshly booted VM with this much memory.
    pub fn meminfo(&self) -> String {
        let total = self.ram_kb();
        let free = total * 88 / 100;
        let available = total * 92 / 100;
        let cached = total * 4 / 100;
        let rows: [(&str, u64); 16] = [
            ("MemTotal", total),
            ("MemFree", free),
            ("MemAvailable", available),
            ("Buffers", total / 100),
            ("Cached", cached),
            ("SwapCached", 0),
            ("Active", total * 3 / 100),
            ("Inactive", total * 2 / 100),
            ("Shmem", 1024),
            ("Slab", total / 100),
            ("SwapTotal", 0),
            ("SwapFree", 0),
            ("Dirty", 0),
            ("Writeback", 0),
            ("CommitLimit", total / 2),
            ("Committed_AS", total * 5 / 100),
        ];
        let mut out = String::new();
        for (key, kb) in rows {
            out.push_str(&format!("{:<16}{kb:>8} kB\n", format!("{key}:")));
        }
        out.push_str(&format!("{:<16}{:>8} kB\n", "Hugepagesize:", 2048));
        out
    }

    /// `/proc/cpuinfo` with `cpus` processors, each a copy of the machine's first one so the
    /// model name and flags look real.
    pub fn cpuinfo(&self, host_cpuinfo: &str) -> String {
        let first = host_cpuinfo
            .split("\n\n")
            .next()
            .filter(|block| block.starts_with("processor"))
            .unwrap_or("processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Lab Virtual CPU");
        let mut out = String::new();
        for n in 0..self.cpus {
            for line in first.lines() {
                let key = line.split(':').next().unwrap_or("").trim();
                let value = match key {
                    "processor" | "core id" | "apicid" | "initial apicid" => Some(n.to_string()),
                    "siblings" | "cpu cores" => Some(self.cpus.to_string()),
                    "physical id" => Some("0".to_string()),
                    _ => None,
                };
                match value {
                    Some(v) => {
                        out.push_str(&format!("{}: {v}\n", line.split(':').next().unwrap_or(key)))
                    }
                    None => {
                        out.push_str(line);
                        out.push('\n');
                    }
                }
            }
            out.push('\n');
        }
        out
    }

    /// `/sys/devices/system/cpu/online`, which `getconf _NPROCESSORS_ONLN` reads.
    pub fn cpu_online(&self) -> String {
        if self.cpus <= 1 {
            "0\n".into()
        } else {
            format!("0-{}\n", self.cpus - 1)
        }
    }

    /// The tmpfs `size=` option.
    pub fn tmpfs_size(&self) -> String {
        format!("{}k", self.disk_mb * 1024)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_spec_per_role() {
        assert_eq!(
            Hardware::recommended(Some(HaRole::Influxdb)).ram_mb,
            16 * 1024
        );
        assert_eq!(
            Hardware::recommended(Some(HaRole::DbMaster)).disk_mb,
            750 * 1024
        );
        assert_eq!(Hardware::recommended(Some(HaRole::App)).cpus, 4);
        assert!(Hardware::recommended(None).ram_kb() >= 3_600_000);
    }

    #[test]
    fn meminfo_reports_the_emulated_total_in_kernel_format() {
        let hw = Hardware {
            cpus: 2,
            ram_mb: 3000,
            disk_mb: 10,
        };
        let first = hw.meminfo().lines().next().unwrap().to_string();
        assert_eq!(first, "MemTotal:        3072000 kB");
    }

    #[test]
    fn cpuinfo_lists_one_processor_block_per_cpu() {
        let host = "processor\t: 0\nmodel name\t: Test CPU\ncpu cores\t: 2\n\nprocessor\t: 1\nmodel name\t: Test CPU\n";
        let hw = Hardware {
            cpus: 4,
            ram_mb: 1,
            disk_mb: 1,
        };
        let info = hw.cpuinfo(host);
        let processors: Vec<&str> = info
            .lines()
            .filter(|l| l.starts_with("processor"))
            .collect();
        assert_eq!(
            processors,
            [
                "processor\t: 0",
                "processor\t: 1",
                "processor\t: 2",
                "processor\t: 3"
            ]
        );
        assert!(info.contains("cpu cores\t: 4"));
        assert_eq!(hw.cpu_online(), "0-3\n");
    }
}
