//! Putting files on a host, and reading them back.
//!
//! Contents travel on the command's stdin (never in arguments), into a temporary file created
//! under `umask 077` next to the target, so a secret is never readable by others even for a
//! moment and the final `mv -f` is an atomic rename on the same filesystem. The previous
//! version is kept as `<file>.bak-<UTC timestamp>` when the contents change. For a sudo user
//! the whole script runs under sudo, so the same path works for root and non-root logins.

use super::error::{SshError, SshErrorKind};
use super::exec::{RemoteCommand, RunOutput};
use super::quote::sh_script;
use super::session::HostSession;
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::Path;
use std::time::{Duration, SystemTime};

/// What an upload did to one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadOutcome {
    /// False when the file already held exactly these bytes (only its mode and group were
    /// enforced).
    pub changed: bool,
    /// Where the previous version was kept, when there was one and it differed.
    pub backup: Option<String>,
}

/// One file of a batch: written as root, atomically, with exactly `mode`.
#[derive(Clone, Copy)]
pub struct UploadFile<'a> {
    /// Absolute path on the host.
    pub path: &'a str,
    pub contents: &'a [u8],
    pub mode: u32,
    /// A group that must own the file (root's otherwise); created as a system group when the
    /// host lacks it.
    pub group: Option<&'a str>,
}

// Hand-written so contents (which may be a secret) never reach a log through `{:?}`.
impl std::fmt::Debug for UploadFile<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UploadFile")
            .field("path", &self.path)
            .field("bytes", &self.contents.len())
            .field("mode", &format_args!("{:o}", self.mode))
            .field("group", &self.group)
            .finish()
    }
}

/// A directory a batch makes sure of before any file: created with its parents when missing,
/// then given exactly `mode`.
#[derive(Debug, Clone, Copy)]
pub struct UploadDir<'a> {
    pub path: &'a str,
    pub mode: u32,
}

/// One remote command writes a whole batch. Arguments: the backup stamp, a follow-up script run
/// once every file is in place (empty for none; an argument like any command line, so it holds
/// no secret), the number of directories, `path mode` per directory, the sha256 of all files'
/// bytes back to back, then `path mode group size sha256` per file. Stdin carries every file's bytes back to back, in
/// that order; `head -c` splits them (GNU head reads no further than asked, in every coreutils
/// release we support, 8.4 included).
///
/// Nothing is moved into place until every file arrived whole and checked out, so a connection
/// lost mid-stream changes no target. Results are printed before the renames: a connection lost
/// while printing still changes nothing, and the renames themselves ignore hangups.
///
/// Every process the script starts costs a fork and exec, which on a busy host adds up to more
/// than the round trip this batch saves: one checksum covers all files, and sizes are only
/// counted to explain a failed check (or when the host has no sha256sum).
const UPLOAD_SCRIPT: &str = r#"set -e
stamp=$1; then=$2; ndirs=$3; shift 3
while [ "$ndirs" -gt 0 ]; do
  [ -d "$1" ] || mkdir -p -- "$1"
  chmod "$2" "$1"; shift 2; ndirs=$((ndirs - 1))
done
all_sha=$1; shift
n=$(($# / 5))
each_file() {
  fn=$1; shift; i=0
  while [ "$#" -ge 5 ]; do "$fn" "$i" "$1" "$2" "$3" "$4" "$5"; shift 5; i=$((i + 1)); done
}
# Temp files carry the pid of the shell that writes them. A shell killed outright (SIGKILL, or
# its session torn down) cannot clean up: its leftovers are swept here, and only those — a
# concurrent upload's shell is still alive.
make_parent() {
  dir=${2%/*}; [ -n "$dir" ] || dir=/
  [ -d "$dir" ] || mkdir -p -- "$dir"
  for f in "$dir"/.scalr-upload.*; do
    [ -e "$f" ] || continue
    owner=${f##*/.scalr-upload.}; owner=${owner%%.*}
    case $owner in
      ''|*[!0-9]*) rm -f -- "$f" ;;
      # Our own pid on a leftover means pid reuse: that shell is long gone.
      "$$") rm -f -- "$f" ;;
      *) kill -0 "$owner" 2>/dev/null || rm -f -- "$f" ;;
    esac
  done
}
each_file make_parent "$@"
cleanup() {
  k=0
  while [ "$k" -lt "$n" ]; do
    eval "t=\${tmp_$k-}"; [ -z "$t" ] || rm -f -- "$t"; k=$((k + 1))
  done
}
trap cleanup EXIT
# A lost connection closes our stdout/stderr: the next write raises SIGPIPE (and a hangup may
# come). Dying of a signal would skip the EXIT trap in dash, leaving temp files behind.
trap 'exit 1' HUP INT TERM PIPE
have_sha=no; command -v sha256sum >/dev/null 2>&1 && have_sha=yes
have_cmp=no; command -v cmp >/dev/null 2>&1 && have_cmp=yes
umask 077
# Temp names are ours by pid and index, created exclusively (noclobber: O_EXCL, so never through
# a planted file or symlink), without a mktemp process per file.
# A file created with its final mode needs no chmod: the umask gives it, for read and write bits
# only, and only where the group gets what everyone gets (the temp file's group is root's until
# chgrp or chown). Any other file is created 0600 and gets its mode from chmod, before the rename.
stage() {
  dir=${2%/*}; [ -n "$dir" ] || dir=/
  tmp="$dir/.scalr-upload.$$.$1"
  eval "tmp_$1=\$tmp"
  exact=no
  case $3 in
    0[0246][0246][0246])
      u=${3#0}; g=${u#?}; o=${g#?}; u=${u%??}; g=${g%?}
      [ -n "$4" ] || [ "$g" != "$o" ] || exact=yes ;;
  esac
  if [ "$exact" = yes ]; then umask "$((7 - u))$((7 - g))$((7 - o))"; else umask 077; fi
  eval "exact_$1=$exact"
  head -c "$5" > "$tmp"
}
set -C
each_file stage "$@"
set +C
umask 077
exec < /dev/null
# A connection lost mid-transfer ends stdin early: never move a truncated file into place.
check_size() {
  eval "tmp=\$tmp_$1"
  size=$(wc -c < "$tmp"); size=${size##* }
  if [ "$size" != "$5" ]; then echo "$2: received $size of $5 bytes" >&2; exit 1; fi
}
all_temps() {
  set --; k=0
  while [ "$k" -lt "$n" ]; do eval "set -- \"\$@\" \"\$tmp_$k\""; k=$((k + 1)); done
  cat -- "$@"
}
verified=no
if [ "$have_sha" = yes ] && [ "$n" -gt 0 ]; then
  sum=$(all_temps | sha256sum)
  [ "${sum%% *}" != "$all_sha" ] || verified=yes
fi
if [ "$verified" = no ]; then
  each_file check_size "$@"
  if [ "$have_sha" = yes ] && [ "$n" -gt 0 ]; then
    echo "checksum mismatch after transfer" >&2; exit 1
  fi
fi
prepare() {
  eval "tmp=\$tmp_$1"
  if [ -n "$4" ]; then
    getent group "$4" >/dev/null || groupadd -r "$4"
  fi
  same=no
  if [ -f "$2" ]; then
    if [ "$have_cmp" = yes ]; then
      cmp -s -- "$tmp" "$2" && same=yes
    elif [ "$have_sha" = yes ]; then
      sum=$(sha256sum < "$2"); [ "${sum%% *}" = "$6" ] && same=yes
    fi
  fi
  eval "same_$1=$same"
  [ "$same" = no ] || return 0
  if [ -f "$2" ]; then chown --reference="$2" -- "$tmp" 2>/dev/null || true; fi
  [ -z "$4" ] || chgrp "$4" "$tmp"
  eval "exact=\$exact_$1"
  [ "$exact" = yes ] || chmod "$3" "$tmp"
}
each_file prepare "$@"
report() {
  eval "same=\$same_$1"
  if [ "$same" = yes ]; then echo "$1 unchanged"
  elif [ -f "$2" ]; then cp -p -- "$2" "$2.bak-$stamp"; echo "$1 changed backup"
  else echo "$1 changed"; fi
}
each_file report "$@"
trap '' HUP INT TERM PIPE
commit() {
  eval "tmp=\$tmp_$1 same=\$same_$1"
  if [ "$same" = yes ]; then
    [ -z "$4" ] || chgrp "$4" "$2"
    chmod "$3" "$2"
    rm -f -- "$tmp"
  else
    mv -f -- "$tmp" "$2"
  fi
}
each_file commit "$@"
trap - EXIT
# A follow-up that needs these files, spared a round trip of its own: its output comes after
# the mark, and its exit status is the script's.
[ -z "$then" ] || { echo @@scalr-upload:then; set +e; eval "$then"; }
"#;

/// Printed once every file is in place, before the follow-up's own output.
const THEN_MARK: &str = "@@scalr-upload:then";

/// Timeout for a transfer: generous, scaled by size (1 MiB/s is a slow WAN).
fn transfer_timeout(bytes: u64) -> Duration {
    Duration::from_secs(60 + bytes / (1024 * 1024))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What the script needs to know about a file before its bytes arrive.
struct Entry<'a> {
    path: &'a str,
    mode: u32,
    group: Option<&'a str>,
    size: u64,
    sha256: String,
}

/// Group names as `groupadd` accepts them; anything else (a leading `-`) could be read as an
/// option.
fn is_group_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        && name.len() <= 32
}

/// Reads several byte slices one after another, without copying them into one buffer (they
/// may be secrets, and copies would need wiping).
struct Slices<'a> {
    parts: std::slice::Iter<'a, UploadFile<'a>>,
    current: &'a [u8],
}

impl Read for Slices<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.parts.next() {
                Some(file) => self.current = file.contents,
                None => return Ok(0),
            }
        }
        self.current.read(buf)
    }
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
        let file = UploadFile {
            path,
            contents,
            mode,
            group: None,
        };
        let mut outcomes = self.upload_files(&[], &[file])?;
        Ok(outcomes.remove(0))
    }

    /// Write several files with one remote command (one round trip however many files), after
    /// making sure of `dirs`. Each file is staged next to its target under `umask 077`, checked
    /// (size, sha256), given its mode and group; only when every file checked out are they
    /// renamed into place. Outcomes come back in the order of `files`.
    pub fn upload_files(
        &mut self,
        dirs: &[UploadDir<'_>],
        files: &[UploadFile<'_>],
    ) -> Result<Vec<UploadOutcome>, SshError> {
        if dirs.is_empty() && files.is_empty() {
            return Ok(Vec::new());
        }
        self.upload_files_then(dirs, files, "", Duration::ZERO)
            .map(|(outcomes, _)| outcomes)
    }

    /// [`HostSession::upload_files`], then `then` (a shell script, run as root) in the same
    /// command once every file is in place: one round trip for both, with `then_timeout` added
    /// to the transfer's. Returns the follow-up's output (its stdout only; stderr is the whole
    /// command's). When the upload fails, the follow-up does not run and the error is the
    /// upload's.
    pub fn upload_files_then(
        &mut self,
        dirs: &[UploadDir<'_>],
        files: &[UploadFile<'_>],
        then: &str,
        then_timeout: Duration,
    ) -> Result<(Vec<UploadOutcome>, RunOutput), SshError> {
        let entries: Vec<Entry> = files
            .iter()
            .map(|f| Entry {
                path: f.path,
                mode: f.mode,
                group: f.group,
                size: f.contents.len() as u64,
                sha256: hex(&Sha256::digest(f.contents)),
            })
            .collect();
        let mut all = Sha256::new();
        files.iter().for_each(|f| all.update(f.contents));
        let mut input = Slices {
            parts: files.iter(),
            current: &[],
        };
        let then = (then, then_timeout);
        self.upload_batch(dirs, &entries, &hex(&all.finalize()), &mut input, then)
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
        let sha256 = hex(&hasher.finalize());
        let entry = Entry {
            path,
            mode,
            group: None,
            size,
            sha256: sha256.clone(),
        };
        let mut file = std::fs::File::open(local).map_err(local_error)?;
        let no_follow_up = ("", Duration::ZERO);
        let (mut outcomes, _) =
            self.upload_batch(&[], &[entry], &sha256, &mut file, no_follow_up)?;
        Ok(outcomes.remove(0))
    }

    /// `all_sha256` is the digest of every entry's bytes back to back, as `input` yields them.
    fn upload_batch(
        &mut self,
        dirs: &[UploadDir<'_>],
        entries: &[Entry<'_>],
        all_sha256: &str,
        input: &mut dyn Read,
        (then, then_timeout): (&str, Duration),
    ) -> Result<(Vec<UploadOutcome>, RunOutput), SshError> {
        let host = self.target.name.clone();
        let what = match entries {
            [one] => one.path.to_string(),
            _ => format!("{} files", entries.len()),
        };
        let fail = |path: &str, reason: String| {
            SshError::new(
                &host,
                SshErrorKind::Transfer {
                    path: path.to_string(),
                    reason,
                },
            )
        };
        let stamp = backup_stamp();
        let mut args = vec![stamp.clone(), then.to_string(), dirs.len().to_string()];
        for dir in dirs {
            if !dir.path.starts_with('/') {
                return Err(fail(dir.path, "the remote path must be absolute".into()));
            }
            if dir.mode > 0o7777 {
                return Err(fail(dir.path, format!("{:o} is not a mode", dir.mode)));
            }
            args.extend([dir.path.to_string(), format!("{:04o}", dir.mode)]);
        }
        args.push(all_sha256.to_string());
        for e in entries {
            if !e.path.starts_with('/') || e.path.ends_with('/') {
                return Err(fail(
                    e.path,
                    "the remote path must be an absolute file path".into(),
                ));
            }
            if e.mode > 0o7777 {
                return Err(fail(e.path, format!("{:o} is not a file mode", e.mode)));
            }
            if let Some(group) = e.group.filter(|g| !is_group_name(g)) {
                return Err(fail(e.path, format!("{group:?} is not a group name")));
            }
            args.extend([
                e.path.to_string(),
                format!("{:04o}", e.mode),
                e.group.unwrap_or_default().to_string(),
                e.size.to_string(),
                e.sha256.clone(),
            ]);
        }
        let script = sh_script(UPLOAD_SCRIPT, &args).map_err(|e| fail(&what, e.to_string()))?;
        let total: u64 = entries.iter().map(|e| e.size).sum();
        let cmd = RemoteCommand::new(format!("upload of {what}"), script)
            .timeout(transfer_timeout(total) + then_timeout);
        let mut out = self.run_with_input(&cmd, input, &mut |_| {})?;
        // Past the mark, every file is in place and the rest is the follow-up's.
        let mark = format!("{THEN_MARK}\n");
        let follow_up = match find(&out.stdout, mark.as_bytes()) {
            Some(at) if !then.is_empty() => {
                let rest = out.stdout.split_off(at + mark.len());
                out.stdout.truncate(at);
                Some(rest)
            }
            _ => None,
        };
        if follow_up.is_none() && !out.success() {
            return Err(fail(&what, out.stderr_text().trim().to_string()));
        }
        let outcomes = parse_outcomes(&out.stdout_text(), entries, &stamp)
            .map_err(|reason| fail(&what, reason))?;
        let follow_up = RunOutput {
            stdout: follow_up.unwrap_or_default(),
            ..out
        };
        Ok((outcomes, follow_up))
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

/// One line per file, `<index> unchanged|changed|changed backup`; every file must be reported.
/// Where `needle` first occurs in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn parse_outcomes(
    stdout: &str,
    entries: &[Entry<'_>],
    stamp: &str,
) -> Result<Vec<UploadOutcome>, String> {
    let mut outcomes: Vec<Option<UploadOutcome>> = vec![None; entries.len()];
    for line in stdout.lines() {
        let mut words = line.split(' ');
        let Some(i) = words
            .next()
            .and_then(|w| w.parse::<usize>().ok())
            .filter(|i| *i < entries.len())
        else {
            continue;
        };
        let changed = words.next() == Some("changed");
        let backup = words.next() == Some("backup");
        outcomes[i] = Some(UploadOutcome {
            changed,
            backup: backup.then(|| format!("{}.bak-{stamp}", entries[i].path)),
        });
    }
    let reported = outcomes.iter().filter(|o| o.is_some()).count();
    if reported != entries.len() {
        return Err(format!(
            "the host reported {reported} of {} files as written",
            entries.len()
        ));
    }
    Ok(outcomes.into_iter().flatten().collect())
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

    /// The shells the script must work in: dash (Debian, Ubuntu) and bash (RHEL/CentOS `sh`).
    const SHELLS: [&str; 2] = ["dash", "bash"];

    /// Run the upload script locally, as the remote sh would, feeding `stdin` (which may be cut
    /// short of what `files` announce).
    fn run_script(shell: &str, files: &[(&Path, &[u8])], stdin: &[u8]) -> std::process::Output {
        let all: Vec<u8> = files.iter().flat_map(|(_, c)| c.iter().copied()).collect();
        let mut args = vec![
            "20260101T000000Z".to_string(),
            String::new(),
            "0".to_string(),
            hex(&Sha256::digest(&all)),
        ];
        for (path, contents) in files {
            args.extend([
                path.to_str().unwrap().to_string(),
                "0600".into(),
                String::new(),
                contents.len().to_string(),
                hex(&Sha256::digest(contents)),
            ]);
        }
        let mut child = Command::new(shell)
            .arg("-c")
            .arg(UPLOAD_SCRIPT)
            .arg("sh")
            .args(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // The script may stop reading early (a checksum mismatch): a broken pipe is expected.
        let _ = child.stdin.take().unwrap().write_all(stdin);
        child.wait_with_output().unwrap()
    }

    fn names_in(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn the_follow_up_mark_is_the_one_the_script_prints() {
        assert!(UPLOAD_SCRIPT.contains(&format!("echo {THEN_MARK};")));
    }

    #[test]
    fn a_truncated_or_corrupted_batch_changes_no_file() {
        for shell in SHELLS {
            let dir = tempfile::tempdir().unwrap();
            let (a, b) = (dir.path().join("a.rb"), dir.path().join("b b.json"));
            std::fs::write(&a, "old a\n").unwrap();
            std::fs::write(&b, "old b\n").unwrap();
            let (new_a, new_b): (&[u8], &[u8]) = (b"new a\n", b"new contents of b\n");
            let files = [(a.as_path(), new_a), (b.as_path(), new_b)];
            let whole = [new_a, new_b].concat();

            // The stream ends inside the second file: the first, complete, is not moved either.
            let out = run_script(shell, &files, &whole[..10]);
            assert!(!out.status.success(), "{shell}");
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(err.contains("received 4 of 18 bytes"), "{shell}: {err}");
            assert_eq!(std::fs::read(&a).unwrap(), b"old a\n", "{shell}");
            assert_eq!(names_in(dir.path()), ["a.rb", "b b.json"], "{shell}");

            let mut corrupt = whole.clone();
            *corrupt.last_mut().unwrap() = b'!';
            let out = run_script(shell, &files, &corrupt);
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(err.contains("checksum mismatch"), "{shell}: {err}");
            assert_eq!(std::fs::read(&a).unwrap(), b"old a\n", "{shell}");
            assert_eq!(names_in(dir.path()), ["a.rb", "b b.json"], "{shell}");

            let out = run_script(shell, &files, &whole);
            assert!(out.status.success(), "{shell}: {:?}", out);
            assert_eq!(std::fs::read(&a).unwrap(), new_a, "{shell}");
            assert_eq!(std::fs::read(&b).unwrap(), new_b, "{shell}");
            assert_eq!(
                String::from_utf8_lossy(&out.stdout),
                "0 changed backup\n1 changed backup\n",
                "{shell}"
            );
        }
    }

    #[test]
    fn every_file_is_reported_in_order_and_unchanged_ones_keep_no_backup() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("new"), dir.path().join("same"));
        std::fs::write(&b, "same\n").unwrap();
        let out = run_script(
            "dash",
            &[(a.as_path(), b"fresh\n"), (b.as_path(), b"same\n")],
            b"fresh\nsame\n",
        );
        assert!(out.status.success(), "{out:?}");
        let entries: Vec<Entry> = [a.to_str().unwrap(), b.to_str().unwrap()]
            .into_iter()
            .map(|path| Entry {
                path,
                mode: 0o600,
                group: None,
                size: 0,
                sha256: String::new(),
            })
            .collect();
        let outcomes =
            parse_outcomes(&String::from_utf8_lossy(&out.stdout), &entries, "S").unwrap();
        assert_eq!(
            outcomes,
            [
                UploadOutcome {
                    changed: true,
                    backup: None
                },
                UploadOutcome {
                    changed: false,
                    backup: None
                }
            ]
        );
        assert_eq!(names_in(dir.path()), ["new", "same"]);
        let missing = parse_outcomes("0 changed\n", &entries, "S").unwrap_err();
        assert!(missing.contains("1 of 2"), "{missing}");
    }

    #[test]
    fn group_names_that_could_be_options_are_refused() {
        assert!(is_group_name("scalr-app"));
        assert!(is_group_name("_ssl.certs"));
        assert!(!is_group_name("-r"));
        assert!(!is_group_name("a b"));
        assert!(!is_group_name(""));
    }

    #[test]
    fn backup_names_sort_by_time() {
        let s = backup_stamp();
        assert_eq!(s.len(), 16, "{s}");
        assert!(s.ends_with('Z') && s.contains('T'));
    }
}
