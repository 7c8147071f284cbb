//! Unpacking the simulated `scalr-server` package: its files, its entry in the emulated package
//! database and the postinst message (reference §3.2).

use super::root::{SimRoot, LAB_STATE_DIR, OPT, SECRETS_JSON};
use std::io::Write;
use std::path::Path;

const DB: &str = "/var/lib/scalr-lab/packages/scalr-server";
/// The commands the package puts in `/opt/scalr-server/bin`.
pub const BIN_TOOLS: [&str; 4] = [
    "scalr-server-ctl",
    "scalr-server-manage",
    "scalr-server-wizard",
    "kickstart-replication",
];
/// The commands the postinst links onto PATH (`/usr/bin` on a real host; the VM's own
/// `/usr/local/bin` here, because `/usr/bin` is shared with the machine).
const PATH_TOOLS: [&str; 3] = [
    "scalr-server-ctl",
    "scalr-server-manage",
    "scalr-server-wizard",
];
/// Bytes of "embedded" payload, so a too-small `/opt/scalr-server` really fills up.
const PAYLOAD_BYTES: usize = 4 << 20;
/// The text header of the fake package files `scalr-installer lab` writes.
pub const PACKAGE_MAGIC: &str = "SCALR-LAB-PACKAGE";

/// The installed `<version>-<release>` (e.g. `8.0.1-1`), if any.
pub fn installed_version(root: &SimRoot) -> Option<String> {
    let text = std::fs::read_to_string(root.path(DB)).ok()?;
    let v = text.trim();
    (!v.is_empty()).then(|| v.to_string())
}

/// The package's full version string for an upstream version.
pub fn full_version(version: &str) -> String {
    format!("{version}-1")
}

/// Splits `8.0.1-1` into `8.0.1`; accepts a bare `8.0.1` too.
pub fn upstream(full: &str) -> &str {
    full.strip_suffix("-1").unwrap_or(full)
}

/// Orders versions like `7.15.2 < 8.0.0 < 8.0.1` (numeric parts, then text).
pub fn compare_versions(a: &str, b: &str) -> std::cmp::Ordering {
    let parts = |v: &str| -> Vec<(u64, String)> {
        v.split(['.', '-'])
            .map(|p| {
                (
                    p.parse().unwrap_or(0),
                    p.trim_start_matches(|c: char| c.is_ascii_digit())
                        .to_string(),
                )
            })
            .collect()
    };
    parts(a).cmp(&parts(b))
}

/// What unpacking did: a fresh install or an upgrade (the postinst words differ).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unpacked {
    pub previous: Option<String>,
    pub message: String,
}

/// Unpacks `version` (upstream, e.g. `8.0.1`) into `/opt/scalr-server` and records it.
pub fn unpack(root: &SimRoot, version: &str) -> Result<Unpacked, String> {
    let previous = installed_version(root);
    let opt = root.path(OPT);
    for dir in [
        "bin",
        "embedded/bin",
        "etc",
        "var/log",
        "var/run",
        "var/lib",
    ] {
        let d = opt.join(dir);
        std::fs::create_dir_all(&d)
            .map_err(|e| format!("unable to create '{}': {e}", d.display()))?;
    }
    let payload = opt.join("embedded/scalr-payload.bin");
    let write_payload = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&payload)?;
        let chunk = vec![0x5au8; 64 << 10];
        for _ in 0..PAYLOAD_BYTES / chunk.len() {
            f.write_all(&chunk)?;
        }
        f.sync_all()
    };
    if let Err(e) = write_payload() {
        let _ = std::fs::remove_file(&payload);
        return Err(format!("error writing '{}': {e}", payload.display()));
    }
    std::fs::write(opt.join("embedded/VERSION"), format!("{version}\n"))
        .map_err(|e| e.to_string())?;
    let exe =
        std::env::current_exe().map_err(|e| format!("cannot find the simulator binary: {e}"))?;
    for tool in BIN_TOOLS {
        relink(&exe, &opt.join("bin").join(tool))?;
    }
    let path_dir = root.path("/usr/local/bin");
    if path_dir.is_dir() {
        for tool in PATH_TOOLS {
            relink(&exe, &path_dir.join(tool))?;
        }
    }
    let db = root.path(DB);
    std::fs::create_dir_all(db.parent().expect("db has a parent")).map_err(|e| e.to_string())?;
    let _ = std::fs::create_dir_all(root.path(LAB_STATE_DIR));
    std::fs::write(&db, format!("{}\n", full_version(version)))
        .map_err(|e| format!("cannot record the package: {e}"))?;
    Ok(Unpacked {
        previous,
        message: postinst_message(root),
    })
}

fn relink(target: &Path, link: &Path) -> Result<(), String> {
    let _ = std::fs::remove_file(link);
    std::os::unix::fs::symlink(target, link)
        .map_err(|e| format!("cannot link {}: {e}", link.display()))
}

/// The postinst's closing words: an update when a secrets file already exists.
pub fn postinst_message(root: &SimRoot) -> String {
    if root.path(SECRETS_JSON).exists() {
        "Thank you for updating Scalr!\n\nThe next step in the upgrade process is to run:\n\n    sudo scalr-server-ctl reconfigure\n"
            .to_string()
    } else {
        "Thank you for installing Scalr!\n\nThe next step in the install process is to run:\n\n    sudo scalr-server-wizard\n".to_string()
    }
}

/// Reads a local package file; returns its version when it is one of the lab's fake packages
/// and its name matches (`scalr-server_<v>-1_amd64.deb` / `scalr-server-<v>-1.x86_64.rpm`).
pub fn read_package_file(path: &Path, kind: PackageKind) -> Option<String> {
    let name = path.file_name()?.to_str()?;
    let from_name = match kind {
        PackageKind::Deb => name
            .strip_prefix("scalr-server_")?
            .strip_suffix("-1_amd64.deb")?,
        PackageKind::Rpm => name
            .strip_prefix("scalr-server-")?
            .strip_suffix("-1.x86_64.rpm")?,
    };
    let mut header = [0u8; 128];
    let n = std::io::Read::read(&mut std::fs::File::open(path).ok()?, &mut header).ok()?;
    let text = String::from_utf8_lossy(&header[..n]);
    let first = text.lines().next()?;
    let version = first.strip_prefix(PACKAGE_MAGIC)?.trim();
    (version == from_name).then(|| version.to_string())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PackageKind {
    Deb,
    Rpm,
}

impl PackageKind {
    /// The file name the real repository uses for this version.
    pub fn file_name(self, version: &str) -> String {
        match self {
            PackageKind::Deb => format!("scalr-server_{version}-1_amd64.deb"),
            PackageKind::Rpm => format!("scalr-server-{version}-1.x86_64.rpm"),
        }
    }
}

/// Writes a fake package file for `dpkg -i` / `rpm -Uvh` into `dir` (used by `scalr-installer
/// lab` to rehearse offline installs); returns its path.
pub fn write_package_file(
    dir: &Path,
    version: &str,
    kind: PackageKind,
) -> std::io::Result<std::path::PathBuf> {
    let path = dir.join(kind.file_name(version));
    std::fs::write(&path, format!("{PACKAGE_MAGIC} {version}\nThis is a lab stand-in for the licensed scalr-server package.\n"))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_order_numerically() {
        use std::cmp::Ordering::*;
        assert_eq!(compare_versions("7.15.2", "8.0.0"), Less);
        assert_eq!(compare_versions("8.0.10", "8.0.9"), Greater);
        assert_eq!(compare_versions("8.0.1", "8.0.1"), Equal);
    }

    #[test]
    fn written_package_files_are_read_back() {
        let dir = tempfile::tempdir().unwrap();
        for kind in [PackageKind::Deb, PackageKind::Rpm] {
            let path = write_package_file(dir.path(), "8.0.1", kind).unwrap();
            assert_eq!(read_package_file(&path, kind).as_deref(), Some("8.0.1"));
        }
    }

    #[test]
    fn only_the_labs_fake_package_files_are_accepted() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("scalr-server_8.0.1-1_amd64.deb");
        std::fs::write(&good, "SCALR-LAB-PACKAGE 8.0.1\n").unwrap();
        assert_eq!(
            read_package_file(&good, PackageKind::Deb).as_deref(),
            Some("8.0.1")
        );
        assert_eq!(read_package_file(&good, PackageKind::Rpm), None);
        let renamed = dir.path().join("scalr-server_9.0.0-1_amd64.deb");
        std::fs::write(&renamed, "SCALR-LAB-PACKAGE 8.0.1\n").unwrap();
        assert_eq!(read_package_file(&renamed, PackageKind::Deb), None);
        let junk = dir.path().join("scalr-server_8.0.1-1_amd64.deb.junk");
        std::fs::write(&junk, "!<arch>\n").unwrap();
        assert_eq!(read_package_file(&junk, PackageKind::Deb), None);
    }
}
