//! Hardware each host should have (architecture spec and reference §6), and the floor the real
//! package enforces.

use crate::profile::Layout;
use crate::topology::Module;
use std::collections::BTreeSet;

/// `scalr-server-ctl reconfigure` refuses to run below this `MemTotal` (kB in /proc/meminfo).
pub const MIN_MEM_TOTAL_KB: u64 = 3_600_000;

/// Where the package lives; the disk recommendations are for the filesystem mounted here.
pub const DATA_MOUNT: &str = "/opt/scalr-server";

/// Keep every node's data filesystem below this use, as the maintenance guide asks.
pub const MAX_DISK_USE_PERCENT: u8 = 80;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Requirement {
    pub cpus: u32,
    pub ram_gb: u32,
    /// Free space at `/opt/scalr-server`.
    pub disk_gb: u32,
}

/// The recommendation for the VM a module would have to itself (current docs, since Dec 2018).
pub fn for_module(module: Module) -> Requirement {
    match module {
        Module::Worker | Module::Rabbitmq => Requirement {
            cpus: 4,
            ram_gb: 8,
            disk_gb: 50,
        },
        Module::Influxdb => Requirement {
            cpus: 4,
            ram_gb: 16,
            disk_gb: 100,
        },
        Module::Proxy | Module::App | Module::Session => Requirement {
            cpus: 4,
            ram_gb: 8,
            disk_gb: 50,
        },
        Module::MainDb | Module::AnalyticsDb => Requirement {
            cpus: 4,
            ram_gb: 8,
            disk_gb: 750,
        },
    }
}

/// The recommendation for a host running `modules`: the largest need of each kind, since the spec
/// says grouped modules load a VM lightly. The compact layout is for evaluation (the docs call it
/// proof-of-concept only), so it asks for a single ordinary VM instead of the sum of the roles.
pub fn for_host(layout: Layout, modules: &BTreeSet<Module>) -> Requirement {
    if layout == Layout::Compact {
        return Requirement {
            cpus: 4,
            ram_gb: 8,
            disk_gb: 50,
        };
    }
    modules.iter().map(|m| for_module(*m)).fold(
        Requirement {
            cpus: 0,
            ram_gb: 0,
            disk_gb: 0,
        },
        |a, b| Requirement {
            cpus: a.cpus.max(b.cpus),
            ram_gb: a.ram_gb.max(b.ram_gb),
            disk_gb: a.disk_gb.max(b.disk_gb),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_host_needs_750_gb_at_opt_scalr_server() {
        let db = [Module::MainDb, Module::AnalyticsDb].into_iter().collect();
        assert_eq!(for_host(Layout::Ha, &db).disk_gb, 750);
    }

    #[test]
    fn influxdb_needs_16_gb_of_ram() {
        let influx = [Module::Influxdb].into_iter().collect();
        assert_eq!(
            for_host(Layout::Custom, &influx),
            Requirement {
                cpus: 4,
                ram_gb: 16,
                disk_gb: 100
            }
        );
    }

    #[test]
    fn grouped_modules_take_the_largest_need_of_each_kind() {
        let mixed = [Module::Influxdb, Module::MainDb, Module::AnalyticsDb]
            .into_iter()
            .collect();
        assert_eq!(
            for_host(Layout::Custom, &mixed),
            Requirement {
                cpus: 4,
                ram_gb: 16,
                disk_gb: 750
            }
        );
    }
}
