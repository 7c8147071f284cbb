//! Loopback address blocks: each lab owns one 127.0.N.0/24 (N in 2..=199) with its VMs at .11,
//! .12, …, claimed by a lock file under /run/scalr-lab/ so labs and parallel tests never collide.
//! 127.0.0.1 is never used, and 127.0.200+ is left to the simulator's own tests.

use crate::lab::error::{LabError, Result};
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

pub const LOCK_DIR: &str = "/run/scalr-lab";
pub const FIRST_BLOCK: u8 = 2;
pub const LAST_BLOCK: u8 = 199;
const FIRST_HOST: u8 = 11;

/// The third octet of a lab's 127.0.N.0/24.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddressBlock(pub u8);

impl AddressBlock {
    /// The address of the `index`-th VM (0-based).
    pub fn vm_address(self, index: usize) -> Ipv4Addr {
        Ipv4Addr::new(127, 0, self.0, FIRST_HOST + index as u8)
    }

    pub fn lock_path(self) -> PathBuf {
        Path::new(LOCK_DIR).join(format!("127.0.{}.0.lock", self.0))
    }
}

/// Claims the first free block whose `count` addresses can all listen on `port`, recording
/// `lab_dir` in its lock. A lock whose lab directory no longer exists is stale and reclaimed.
pub fn claim(lab_dir: &Path, count: usize, port: u16) -> Result<AddressBlock> {
    fs::create_dir_all(LOCK_DIR).map_err(LabError::io("create", LOCK_DIR))?;
    let _guard = AllocationGuard::take()?;
    for n in FIRST_BLOCK..=LAST_BLOCK {
        let block = AddressBlock(n);
        let lock = block.lock_path();
        if let Ok(owner) = fs::read_to_string(&lock) {
            if Path::new(owner.trim()).exists() {
                continue;
            }
            let _ = fs::remove_file(&lock);
        }
        let free = (0..count)
            .all(|i| TcpListener::bind(SocketAddr::from((block.vm_address(i), port))).is_ok());
        if !free {
            continue;
        }
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&lock)
            .map_err(LabError::io("create the address lock", &lock))?;
        writeln!(file, "{}", lab_dir.display()).map_err(LabError::io("write", &lock))?;
        return Ok(block);
    }
    Err(LabError::NoFreeBlock)
}

/// Releases `block` if its lock still names `lab_dir` (never another lab's claim).
pub fn release(block: AddressBlock, lab_dir: &Path) {
    let lock = block.lock_path();
    if let Ok(owner) = fs::read_to_string(&lock) {
        if Path::new(owner.trim()) == lab_dir {
            let _ = fs::remove_file(&lock);
        }
    }
}

/// Serialises claims between processes; held only while a block is chosen.
struct AllocationGuard {
    _file: fs::File,
}

impl AllocationGuard {
    fn take() -> Result<AllocationGuard> {
        let path = Path::new(LOCK_DIR).join("allocate.lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(LabError::io("open", &path))?;
        // SAFETY: flock on a descriptor we own; released when the file is closed.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } != 0 {
            return Err(LabError::io("lock", &path)(std::io::Error::last_os_error()));
        }
        Ok(AllocationGuard { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vms_live_at_dot_eleven_onwards_never_on_the_machines_own_address() {
        let block = AddressBlock(7);
        assert_eq!(block.vm_address(0), Ipv4Addr::new(127, 0, 7, 11));
        assert_eq!(block.vm_address(5), Ipv4Addr::new(127, 0, 7, 16));
        assert!((FIRST_BLOCK..=LAST_BLOCK)
            .all(|n| AddressBlock(n).vm_address(0) != Ipv4Addr::LOCALHOST));
    }
}
