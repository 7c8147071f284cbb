//! Putting files on a host, and reading them back.
//!
//! Contents travel on the command's stdin (never in arguments), into a temporary file created
//! under `umask 077` next to the target, so a secret is never readable by others even for a
//! moment and the final `mv -f` is an atomic rename on the same filesystem. The previous
//! version is kept as `<file>.bak-<UTC timestamp>` when the contents change. For a sudo user
//! the whole script runs under sudo, so the same path works for root and non-root logins.

use super::error::{SshError, SshErrorKind};
use super::exec::RemoteCommand;
use super::quote::sh_script;
use super::session::HostSession;
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::Path;
use std::time::{Duration, SystemTime};

/// What an upload did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadOutcome {
    /// False when the file already held exactly these bytes (only its mode was enforced).
    pub changed: bool,
    /// Where the previous version was kept, when there was one and it differed.
    pub backup: Option<String>,
}

const UPLOAD_SCRIPT: &str = r#"set -e
dst=$1; mode=$2; stamp=$3
dir=$(dirname -- "$dst")
mkdir -p -- "$dir"
umask 077
# Temp files carry the pid of the shell that writes them. A shell killed outright (SIGKILL, or
# its session torn down) cannot clean up: its leftovers are swept here, and only those — a
# concurrent upload's shell is still alive.
for f in "$dir"/.scalr-upload.*; do
  [ -e "$f" ] || continue
  owner=${f##*/.scalr-upload.}; owner=${owner%%.*}
  case $owner in
    ''|*[!0-9]*) rm -f -- "$f" ;;
    *) kill -0 "$owner" 2>/dev/null || rm -f -- "$f" ;;
  esac
done
tmp=$(mktemp "$dir/.scalr-upload.$$.XXXXXX")
trap 'rm -f -- "$tmp"' EXIT
# A lost connection closes our stdout/stderr: the next write raises SIGPIPE (and a hangup may
# come). Dying of a signal would skip the EXIT trap in dash, leaving the temp file behind.
trap 'exit 1' HUP INT TERM PIPE
cat > "$tmp"
# A connection lost mid-transfer ends stdin early: never move a truncated file into place.
size=$(wc -c < "$tmp" | tr -d ' ')
if [ "$size" != "$4" ]; then echo "received $size of $4 bytes" >&2; exit 1; fi
if command -v sha256sum >/dev/null 2>&1; then
  sum=$(sha256sum < "$tmp" | cut -d' ' -f1)
  if [ "$sum" != "$5" ]; then echo "checksum mismatch after transfer" >&2; exit 1; fi
fi
same=no
if [ -f "$dst" ]; then
  if command -v cmp >/dev/null 2>&1; then
    cmp -s -- "$tmp" "$dst" && same=yes
  elif command -v sha256sum >/dev/null 2>&1; then
    [ "$(sha256sum < "$dst" | cut -d' ' -f1)" = "$5" ] && same=yes
  fi
fi
if [ "$same" = yes ]; then chmod "$mode" "$dst"; echo unchanged; exit 0; fi
if [ -f "$dst" ]; then
  chown --reference="$dst" -- "$tmp" 2>/dev/null || true
  cp -p -- "$dst" "$dst.bak-$stamp"
  echo "backup $dst.bak-$stamp"
fi
chmod "$mode" "$tmp"
mv -f -- "$tmp" "$dst"
trap - EXIT
echo changed
"#;

/// Timeout for a transfer: generous, scaled by size (1 MiB/s is a slow WAN).
fn transfer_timeout(bytes: u64) -> Duration {
    Duration::from_secs(60 + bytes / (1024 * 1024))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl HostSession {
    /// Write `contents` to the absolute `path` with exactly `mode` (e.g. `0o600` for secrets),
    /// atomically, creating directories and keeping a backup of a different previous version.
    pub fn upload(
        &mut self,
        path: &str,
        contents: &[u8],
        mode: u32,
    ) -> Result<UploadOutcome, SshError> {
        let digest = hex(&Sha256::digest(contents));
        self.upload_stream(
            path,
            &mut &contents[..],
            contents.len() as u64,
            &digest,
            mode,
        )
    }

    /// `upload` for a local file (e.g. a package), streamed rather than read into memory.
    pub fn upload_file(
        &mut self,
        local: &Path,
        path: &str,
        mode: u32,
    ) -> Result<UploadOutcome, SshError> {
        let local_error = |e: std::io::Error| {
            self.error(SshErrorKind::Transfer {
                path: path.to_string(),
                reason: format!("cannot read {}: {e}", local.display()),
            })
        };
        let mut hasher = Sha256::new();
        let size = std::io::copy(
            &mut std::fs::File::open(local).map_err(local_error)?,
            &mut hasher,
        )
        .map_err(local_error)?;
        let digest = hex(&hasher.finalize());
        let mut file = std::fs::File::open(local).map_err(local_error)?;
        self.upload_stream(path, &mut file, size, &digest, mode)
    }

    fn upload_stream(
        &mut self,
        path: &str,
        input: &mut dyn Read,
        size: u64,
        sha256: &str,
        mode: u32,
    ) -> Result<UploadOutcome, SshError> {
        let host = self.target.name.clone();
        let fail = |reason: String| {
            SshError::new(
                &host,
                SshErrorKind::Transfer {
                    path: path.to_string(),
                    reason,
                },
            )
        };
        if !path.starts_with('/') {
            return Err(fail("the remote path must be absolute".into()));
        }
        if mode > 0o7777 {
            return Err(fail(format!("{mode:o} is not a file mode")));
        }
        let script = sh_script(
            UPLOAD_SCRIPT,
            [
                path,
                &format!("{mode:04o}"),
                &backup_stamp(),
                &size.to_string(),
                sha256,
            ],
        )
        .map_err(|e| fail(e.to_string()))?;
        let cmd =
            RemoteCommand::new(format!("upload of {path}"), script).timeout(transfer_timeout(size));
        let out = self.run_with_input(&cmd, input, &mut |_| {})?;
        if !out.success() {
            return Err(fail(out.stderr_text().trim().to_string()));
        }
        let stdout = out.stdout_text();
        let mut outcome = UploadOutcome {
            changed: false,
            backup: None,
        };
        for line in stdout.lines() {
            match line {
                "changed" => outcome.changed = true,
                "unchanged" => outcome.changed = false,
                _ => {
                    if let Some(b) = line.strip_prefix("backup ") {
                        outcome.backup = Some(b.to_string());
                    }
                }
            }
        }
        Ok(outcome)
    }

    /// Read a whole remote file (as root when the target uses sudo). `Ok(None)` when it does
    /// not exist.
    pub fn read_file(&mut self, path: &str) -> Result<Option<Vec<u8>>, SshError> {
        let host = self.target.name.clone();
        let fail = |reason: String| {
            SshError::new(
                &host,
                SshErrorKind::Transfer {
                    path: path.to_string(),
                    reason,
                },
            )
        };
        let script = sh_script(r#"if [ ! -e "$1" ]; then exit 3; fi; cat -- "$1""#, [path])
            .map_err(|e| fail(e.to_string()))?;
        let cmd = RemoteCommand::new(format!("reading {path}"), script)
            .timeout(transfer_timeout(64 << 20));
        let out = self.run(&cmd, &mut |_| {})?;
        match out.exit_status {
            0 => Ok(Some(out.stdout)),
            3 => Ok(None),
            _ => Err(fail(out.stderr_text().trim().to_string())),
        }
    }
}

/// `20261127T010357Z`: sortable, and unique enough for one upload per second per file.
fn backup_stamp() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now())
        .to_string()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::process::{Command, Stdio};

    /// Run the upload script locally, as the remote sh would.
    fn run_script(dst: &Path, data: &[u8], size: u64, sha: &str) -> std::process::Output {
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(UPLOAD_SCRIPT)
            .arg("sh")
            .arg(dst)
            .args(["0600", "20260101T000000Z", &size.to_string(), sha])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(data).unwrap();
        child.wait_with_output().unwrap()
    }

    #[test]
    fn a_truncated_transfer_never_replaces_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let dst = dir.path().join("scalr-server.rb");
        std::fs::write(&dst, "old\n").unwrap();
        let full = b"new contents\n";
        let sha = hex(&Sha256::digest(full));
        let out = run_script(&dst, &full[..5], full.len() as u64, &sha);
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("received 5 of 13 bytes"));
        assert_eq!(std::fs::read(&dst).unwrap(), b"old\n");
        let out = run_script(&dst, b"NEW contents\n", full.len() as u64, &sha);
        assert!(String::from_utf8_lossy(&out.stderr).contains("checksum mismatch"));
        assert_eq!(std::fs::read(&dst).unwrap(), b"old\n");
        let leftovers = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(leftovers, 1, "temporary files were removed");
        let out = run_script(&dst, full, full.len() as u64, &sha);
        assert!(out.status.success());
        assert_eq!(std::fs::read(&dst).unwrap(), full);
    }
    #[test]
    fn backup_names_sort_by_time() {
        let s = backup_stamp();
        assert_eq!(s.len(), 16, "{s}");
        assert!(s.ends_with('Z') && s.contains('T'));
    }
}
