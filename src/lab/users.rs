//! The VM's accounts: root, `deploy` (sudo without a password) and `operator` (sudo with a
//! password), all logging in with the lab's client key. They are written into the VM's own copy
//! of `/etc/passwd`, `shadow`, `group`, `gshadow` and `sudoers.d`, so they exist in that VM only.

use crate::lab::crypt;
use crate::lab::error::{LabError, Result};
use nix::unistd::{chown, Gid, Uid};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// The account files of one VM: its `/etc` copy and its `/root` and `/home` directories.
pub struct VmAccounts<'a> {
    pub etc: &'a Path,
    pub root_home: &'a Path,
    pub home: &'a Path,
}

pub const DEPLOY: &str = "deploy";
pub const OPERATOR: &str = "operator";

const SUDOERS: &str = "\
# scalr-lab: the installer's non-root logins.
# The simulated tools in /usr/local/{sbin,bin} come first, as on the VM's own PATH.
Defaults\tsecure_path=\"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\"
deploy\tALL=(ALL:ALL) NOPASSWD: ALL
operator\tALL=(ALL:ALL) ALL
";

impl VmAccounts<'_> {
    /// Adds the lab users and authorises `client_pubkey` for them and for root.
    pub fn provision(&self, client_pubkey: &str, operator_password: &str) -> Result<()> {
        let operator_hash = crypt::sha512_crypt(operator_password, &crypt::random_salt());
        self.install_home(self.root_home, 0, 0, client_pubkey)?;
        for (name, shadow_password, gecos) in [
            // `*`: no password, but not locked (`!`), so key logins are allowed.
            (
                DEPLOY,
                "*".to_string(),
                "Lab deploy user (sudo without password)",
            ),
            (OPERATOR, operator_hash, "Lab operator (sudo with password)"),
        ] {
            let id = self.free_id()?;
            let home = format!("/home/{name}");
            self.replace_entry(
                "passwd",
                name,
                &format!("{name}:x:{id}:{id}:{gecos}:{home}:/bin/bash"),
            )?;
            self.replace_entry("group", name, &format!("{name}:x:{id}:"))?;
            self.replace_entry(
                "shadow",
                name,
                &format!("{name}:{shadow_password}:19000:0:99999:7:::"),
            )?;
            if self.etc.join("gshadow").exists() {
                self.replace_entry("gshadow", name, &format!("{name}:!::"))?;
            }
            self.install_home(&self.home.join(name), id, id, client_pubkey)?;
        }
        let sudoers_dir = self.etc.join("sudoers.d");
        fs::create_dir_all(&sudoers_dir).map_err(LabError::io("create", &sudoers_dir))?;
        write_mode(&sudoers_dir.join("scalr-lab"), SUDOERS, 0o440)
    }

    /// The lowest id ≥ 1000 free as both a uid and a gid, as `useradd` would pick.
    fn free_id(&self) -> Result<u32> {
        let used = |file: &str| -> Result<Vec<u32>> {
            let path = self.etc.join(file);
            let text = fs::read_to_string(&path).map_err(LabError::io("read", &path))?;
            Ok(text
                .lines()
                .filter_map(|l| l.split(':').nth(2)?.parse().ok())
                .collect())
        };
        let (uids, gids) = (used("passwd")?, used("group")?);
        Ok((1000..60000)
            .find(|id| !uids.contains(id) && !gids.contains(id))
            .expect("a lab VM has free ids"))
    }

    /// Replaces `name`'s line in an account file (or appends it), keeping the file's mode.
    fn replace_entry(&self, file: &str, name: &str, line: &str) -> Result<()> {
        let path = self.etc.join(file);
        let text = fs::read_to_string(&path).map_err(LabError::io("read", &path))?;
        let prefix = format!("{name}:");
        let mut out: String = text
            .lines()
            .filter(|l| !l.starts_with(&prefix))
            .map(|l| format!("{l}\n"))
            .collect();
        out.push_str(line);
        out.push('\n');
        fs::write(&path, out).map_err(LabError::io("write", &path))
    }

    /// A home as `useradd -m` makes it: /etc/skel's stock start-up files, plus the client key.
    fn install_home(&self, home: &Path, uid: u32, gid: u32, pubkey: &str) -> Result<()> {
        let ssh = home.join(".ssh");
        fs::create_dir_all(&ssh).map_err(LabError::io("create", &ssh))?;
        let skel = self.etc.join("skel");
        if let Ok(entries) = fs::read_dir(&skel) {
            for entry in entries.flatten() {
                if entry.file_type().map(|t| t.is_file()).unwrap_or(false) {
                    let to = home.join(entry.file_name());
                    fs::copy(entry.path(), &to).map_err(LabError::io("copy /etc/skel to", &to))?;
                    own(&to, uid, gid)?;
                }
            }
        }
        write_mode(
            &ssh.join("authorized_keys"),
            &format!("{}\n", pubkey.trim()),
            0o600,
        )?;
        own(&ssh.join("authorized_keys"), uid, gid)?;
        set_mode(&ssh, 0o700)?;
        own(&ssh, uid, gid)?;
        set_mode(home, 0o700)?;
        own(home, uid, gid)
    }
}

fn own(path: &Path, uid: u32, gid: u32) -> Result<()> {
    chown(path, Some(Uid::from_raw(uid)), Some(Gid::from_raw(gid)))
        .map_err(|e| LabError::io("chown", path)(e.into()))
}

pub(crate) fn set_mode(path: &Path, mode: u32) -> Result<()> {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).map_err(LabError::io("chmod", path))
}

/// Writes a file that is never readable by others, even for a moment, when `mode` says so.
pub(crate) fn write_mode(path: &Path, content: &str, mode: u32) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let _ = fs::remove_file(path);
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(LabError::io("create", path))?;
    file.write_all(content.as_bytes())
        .map_err(LabError::io("write", path))?;
    set_mode(path, mode)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vm_etc() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let etc = dir.path().join("etc");
        fs::create_dir_all(etc.join("skel")).unwrap();
        fs::write(etc.join("skel/.bashrc"), "# stock\n").unwrap();
        fs::write(
            etc.join("passwd"),
            "root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/sh\n",
        )
        .unwrap();
        fs::write(etc.join("group"), "root:x:0:\nalice:x:1000:\n").unwrap();
        fs::write(etc.join("shadow"), "root:*:1:0:99999:7:::\n").unwrap();
        fs::create_dir_all(dir.path().join("root")).unwrap();
        fs::create_dir_all(dir.path().join("home")).unwrap();
        dir
    }

    #[test]
    fn lab_users_get_free_ids_key_logins_and_their_sudo_rules() {
        if !nix::unistd::geteuid().is_root() {
            eprintln!("skipped: chown to the lab users' ids needs root");
            return;
        }
        let dir = vm_etc();
        let etc = dir.path().join("etc");
        let accounts = VmAccounts {
            etc: &etc,
            root_home: &dir.path().join("root"),
            home: &dir.path().join("home"),
        };
        accounts
            .provision("ssh-ed25519 AAAAtest lab", "s3cret")
            .unwrap();

        let passwd = fs::read_to_string(etc.join("passwd")).unwrap();
        assert!(passwd.contains("deploy:x:1001:1001:"), "{passwd}");
        assert!(passwd.contains("operator:x:1002:1002:"), "{passwd}");
        let shadow = fs::read_to_string(etc.join("shadow")).unwrap();
        assert!(
            shadow.contains("deploy:*:"),
            "deploy must not be locked: {shadow}"
        );
        assert!(shadow.contains("operator:$6$"), "{shadow}");
        assert!(!shadow.contains("s3cret"));
        let sudoers = fs::read_to_string(etc.join("sudoers.d/scalr-lab")).unwrap();
        assert!(sudoers.contains("deploy\tALL=(ALL:ALL) NOPASSWD: ALL"));
        let key = dir.path().join("home/operator/.ssh/authorized_keys");
        assert_eq!(
            fs::read_to_string(&key).unwrap(),
            "ssh-ed25519 AAAAtest lab\n"
        );
        assert_eq!(
            fs::metadata(&key).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert!(dir.path().join("home/deploy/.bashrc").exists());
        assert!(dir.path().join("root/.ssh/authorized_keys").exists());
    }
}
