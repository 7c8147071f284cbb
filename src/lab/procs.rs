//! Finding and signalling a VM's processes through `/proc`: a VM is exactly the set of
//! processes in its mount namespace, wherever they were started from.

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::fs;

/// The inode of `pid`'s mount namespace (`mnt:[4026532…]`).
pub fn mnt_ns(pid: i32) -> Option<u64> {
    let link = fs::read_link(format!("/proc/{pid}/ns/mnt")).ok()?;
    let text = link.to_str()?;
    text.strip_prefix("mnt:[")?.strip_suffix(']')?.parse().ok()
}

/// Every process in mount namespace `ns`.
pub fn pids_in_mnt_ns(ns: u64) -> Vec<i32> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| mnt_ns(*pid) == Some(ns))
        .collect()
}

/// Whether `pid` sees a mount whose source is `marker`: proves a namespace is the lab's own and
/// not an unrelated one that reuses a recorded inode number after a reboot.
pub fn sees_mount_source(pid: i32, marker: &str) -> bool {
    fs::read_to_string(format!("/proc/{pid}/mountinfo"))
        .map(|info| {
            info.lines().any(|line| {
                line.split(" - ")
                    .nth(1)
                    .and_then(|rest| rest.split_whitespace().nth(1))
                    == Some(marker)
            })
        })
        .unwrap_or(false)
}

/// The state letter of `/proc/<pid>/stat` (`R`, `S`, `T` for stopped, `Z`…), `None` when gone.
pub fn state(pid: i32) -> Option<char> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_comm = stat.rsplit_once(')')?.1;
    after_comm.trim_start().chars().next()
}

pub fn comm(pid: i32) -> Option<String> {
    fs::read_to_string(format!("/proc/{pid}/comm"))
        .ok()
        .map(|s| s.trim().to_string())
}

pub fn is_alive(pid: i32) -> bool {
    matches!(state(pid), Some(s) if s != 'Z' && s != 'X')
}

pub fn signal(pid: i32, sig: Signal) {
    let _ = kill(Pid::from_raw(pid), sig);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_found_in_its_own_mount_namespace() {
        let me = std::process::id() as i32;
        let ns = mnt_ns(me).expect("readable /proc/self/ns/mnt");
        assert!(pids_in_mnt_ns(ns).contains(&me));
        assert!(is_alive(me));
        assert!(!sees_mount_source(me, "scalr-lab:no-such-lab:vm:run"));
    }
}
