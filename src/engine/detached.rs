//! Long remote steps (package install, reconfigure) run detached on the host, so a dropped SSH
//! connection or a closed laptop does not kill a 20-minute reconfigure.
//!
//! A small POSIX sh launcher takes a lock (a directory holding the owner's pid, step, start time
//! and hostname; renamed into place so it is never seen half-written), starts the command with
//! `nohup setsid`, and returns. The command writes `<dir>/<step>.log`, then `<dir>/<step>.rc`
//! (renamed into place), then releases the lock. Attaching streams the log from a byte offset
//! with `tail -f --pid` until the job ends, then prints the exit code; after a dropped connection
//! the engine reconnects and attaches again from where it stopped.
//!
//! A lock whose pid is dead, or belongs to a process that is not ours, is stale and broken. A live
//! one refuses the second installer with "locked by pid N on HOST since T".

use crate::engine::remote::{quote, ErrorKind, Remote, RemoteCommand, RemoteError};
use std::time::{Duration, Instant};

const MARK: &str = "SCALR-DETACHED";

/// One long step to run on a host.
#[derive(Debug, Clone)]
pub struct DetachedStep {
    /// Directory on the host for the lock, logs and exit codes.
    pub dir: String,
    /// `install`, `reconfigure`, …: names the log and rc files.
    pub name: String,
    /// The shell command to run (values already quoted).
    pub command: String,
    /// Run after `command` succeeded, still under the lock (records the installer's markers, so a
    /// run interrupted on this side still leaves the truth on the host).
    pub on_success: Option<String>,
    /// The whole step, including reattaching, must end within this time.
    pub timeout: Duration,
    /// How long to keep trying to reconnect after the connection dropped, so a frozen or
    /// powered-off host is reported promptly rather than at the end of `timeout`.
    pub reconnect_window: Duration,
}

/// Default for [`DetachedStep::reconnect_window`].
pub const RECONNECT_WINDOW: Duration = Duration::from_secs(120);

impl DetachedStep {
    pub fn log_path(&self) -> String {
        format!("{}/{}.log", self.dir, self.name)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DetachedError {
    #[error("another installer holds the lock: locked by pid {pid} on {host} since {since} (step {step}); wait for it to finish, or if no installer is running there, remove {lock_dir}")]
    Locked {
        pid: String,
        host: String,
        since: String,
        step: String,
        lock_dir: String,
    },
    #[error("{step} did not finish within {} and is still running on the host; its log is {log}", humantime::format_duration(*.timeout))]
    TimedOut {
        step: String,
        timeout: Duration,
        log: String,
    },
    #[error(
        "{step} stopped without recording an exit code (killed, or the host rebooted); see {log}"
    )]
    Lost { step: String, log: String },
    #[error("{0}")]
    Remote(RemoteError),
    #[error("the detached launcher answered unexpectedly: {0}; check that sh, setsid, nohup and tail exist on the host")]
    Protocol(String),
}

/// The launcher. Prints `SCALR-DETACHED started pid=N`, or `locked …` and exits 75.
pub fn launch_script(step: &DetachedStep) -> String {
    format!(
        r#"dir={dir}; step={name}; cmd={cmd}; after={after}
set -u
lock="$dir/lock"; tmp="$dir/lock.$$"
mkdir -p "$dir" || {{ echo "{MARK} error cannot create $dir"; exit 70; }}
rm -rf "$tmp"; mkdir "$tmp" || exit 70
echo $$ > "$tmp/pid"; echo "$step" > "$tmp/step"
date -u +%Y-%m-%dT%H:%M:%SZ > "$tmp/since"; (hostname || uname -n) > "$tmp/host" 2>/dev/null
held() {{ p=$(cat "$lock/pid" 2>/dev/null || true); [ -n "$p" ] && kill -0 "$p" 2>/dev/null && grep -q scalr-installer "/proc/$p/cmdline" 2>/dev/null; }}
if ! mv -T "$tmp" "$lock" 2>/dev/null; then
  if held; then
    echo "{MARK} locked pid=$(cat "$lock/pid") step=$(cat "$lock/step" 2>/dev/null) since=$(cat "$lock/since" 2>/dev/null) host=$(cat "$lock/host" 2>/dev/null)"
    rm -rf "$tmp"; exit 75
  fi
  echo "{MARK} stale pid=$(cat "$lock/pid" 2>/dev/null || echo none)"
  rm -rf "$lock"
  if ! mv -T "$tmp" "$lock" 2>/dev/null; then
    echo "{MARK} locked pid=? step=? since=now host=$(cat "$tmp/host")"; rm -rf "$tmp"; exit 75
  fi
fi
log="$dir/$step.log"; rc="$dir/$step.rc"
rm -f "$rc" "$rc.tmp"; : > "$log"
job='echo $$ > "$1/lock/pid"; cd /
( (eval "$3") >>"$1/$2.log" 2>&1 </dev/null; code=$?
if [ $code -eq 0 ] && [ -n "$4" ]; then (eval "$4") >>"$1/$2.log" 2>&1 </dev/null || code=$?; fi
echo $code > "$1/$2.rc.tmp"; mv -f "$1/$2.rc.tmp" "$1/$2.rc" ) </dev/null &
echo $! > "$1/lock/work"; wait; rm -rf "$1/lock"'
nohup setsid sh -c "$job" scalr-installer-job "$dir" "$step" "$cmd" "$after" >/dev/null 2>&1 </dev/null &
i=0
while [ "$(cat "$lock/pid" 2>/dev/null)" = "$$" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done
echo "{MARK} started pid=$(cat "$lock/pid" 2>/dev/null || echo done)"
"#,
        dir = quote(&step.dir),
        name = quote(&step.name),
        cmd = quote(&step.command),
        after = quote(step.on_success.as_deref().unwrap_or("")),
    )
}

/// Streams the step's log from byte `offset` until the job ends, then prints
/// `SCALR-DETACHED rc=N` (or `lost` / `nolog`).
///
/// `tail --pid` follows the job's *work* subshell, not the job itself: the job is an orphan,
/// and an orphan that exits stays a zombie (alive to `kill -0`) until init reaps it, which some
/// inits do only every second or two. The work subshell is reaped at once by the job's `wait`.
pub fn attach_script(step: &DetachedStep, offset: u64) -> String {
    format!(
        r#"dir={dir}; step={name}; from={from}
log="$dir/$step.log"; rc="$dir/$step.rc"
[ -f "$log" ] || {{ echo "{MARK} nolog"; exit 0; }}
pid=$(cat "$dir/lock/work" 2>/dev/null || cat "$dir/lock/pid" 2>/dev/null || true)
if [ ! -f "$rc" ] && [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
  tail -s 0.1 -c "+$from" -f --pid="$pid" "$log"
else
  tail -c "+$from" "$log"
fi
if [ -s "$log" ] && [ -n "$(tail -c 1 "$log")" ]; then echo; fi
if [ -f "$rc" ]; then echo "{MARK} rc=$(cat "$rc")"; else echo "{MARK} lost"; fi
"#,
        dir = quote(&step.dir),
        name = quote(&step.name),
        from = offset + 1,
    )
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Launch {
    Started,
    Locked(DetachedError),
}

fn parse_launch(step: &DetachedStep, stdout: &str) -> Result<Launch, DetachedError> {
    for line in stdout.lines() {
        let Some(rest) = line.strip_prefix(MARK) else {
            continue;
        };
        let rest = rest.trim();
        if rest.starts_with("started") {
            return Ok(Launch::Started);
        }
        if let Some(fields) = rest.strip_prefix("locked") {
            let get = |key: &str| {
                fields
                    .split_whitespace()
                    .find_map(|w| w.strip_prefix(key).map(str::to_string))
                    .unwrap_or_else(|| "?".into())
            };
            return Ok(Launch::Locked(DetachedError::Locked {
                pid: get("pid="),
                host: get("host="),
                since: get("since="),
                step: get("step="),
                lock_dir: format!("{}/lock", step.dir),
            }));
        }
    }
    Err(DetachedError::Protocol(
        stdout.trim().chars().take(300).collect(),
    ))
}

/// The result of a detached step that ran to its end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished {
    pub exit_code: i32,
    pub log_path: String,
    /// How many times the connection dropped and was re-established.
    pub reattached: u32,
}

/// Runs `step` detached and streams its log lines to `on_line` until it ends, surviving dropped
/// connections. `cancelled` is polled between reattach attempts: when it returns true, the step
/// is left running on the host and `Err(Lost)` is not reported; the caller reports the interruption.
pub fn run_detached(
    remote: &dyn Remote,
    step: &DetachedStep,
    on_line: &mut dyn FnMut(&str),
) -> Result<Finished, DetachedError> {
    let started = Instant::now();
    let deadline = started + step.timeout;
    let launch_cmd = RemoteCommand::root(launch_script(step), Duration::from_secs(60));
    let mut reattached = 0;
    match remote.run(&launch_cmd, &mut |_| {}) {
        Ok(out) => {
            if let Launch::Locked(e) = parse_launch(step, &out.stdout)? {
                return Err(e);
            }
        }
        // The launcher may or may not have started the job; attaching finds out.
        Err(e) if e.is_retryable() => {
            reconnect_until(remote, reconnect_deadline(deadline, step), step)?;
            reattached += 1;
        }
        Err(e) => return Err(DetachedError::Remote(e)),
    }
    let mut offset: u64 = 0;
    let mut launched_again = false;
    loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(timed_out(step));
        }
        let cmd = RemoteCommand::root(attach_script(step, offset), remaining);
        let mut verdict: Option<String> = None;
        let result = remote.run(&cmd, &mut |line| {
            if let Some(rest) = line.strip_prefix(MARK) {
                verdict = Some(rest.trim().to_string());
            } else if verdict.is_none() {
                offset += line.len() as u64 + 1;
                on_line(line);
            }
        });
        match (result, verdict) {
            (_, Some(v)) if v.starts_with("rc=") => {
                let exit_code = v[3..].trim().parse().unwrap_or(-1);
                return Ok(Finished {
                    exit_code,
                    log_path: step.log_path(),
                    reattached,
                });
            }
            (_, Some(v)) if v == "lost" => {
                return Err(DetachedError::Lost {
                    step: step.name.clone(),
                    log: step.log_path(),
                })
            }
            (_, Some(v)) if v == "nolog" && !launched_again => {
                // The first launch never ran (the connection dropped before it): launch now.
                launched_again = true;
                let out = remote
                    .run(&launch_cmd, &mut |_| {})
                    .map_err(DetachedError::Remote)?;
                if let Launch::Locked(e) = parse_launch(step, &out.stdout)? {
                    return Err(e);
                }
            }
            (_, Some(v)) => return Err(DetachedError::Protocol(v)),
            (Ok(out), None) => {
                return Err(DetachedError::Protocol(format!(
                    "attach ended (exit {}) without an exit code: {}",
                    out.exit_code,
                    out.stderr.trim()
                )))
            }
            (Err(e), None) if e.kind == ErrorKind::Timeout && Instant::now() >= deadline => {
                return Err(timed_out(step))
            }
            (Err(e), None) if e.is_retryable() => {
                reconnect_until(remote, reconnect_deadline(deadline, step), step)?;
                reattached += 1;
            }
            (Err(e), None) => return Err(DetachedError::Remote(e)),
        }
    }
}

fn reconnect_deadline(deadline: Instant, step: &DetachedStep) -> Instant {
    deadline.min(Instant::now() + step.reconnect_window)
}

fn timed_out(step: &DetachedStep) -> DetachedError {
    DetachedError::TimedOut {
        step: step.name.clone(),
        timeout: step.timeout,
        log: step.log_path(),
    }
}

/// Reconnects with exponential backoff (1 s, 2 s, 4 s … 15 s) until the deadline.
fn reconnect_until(
    remote: &dyn Remote,
    deadline: Instant,
    step: &DetachedStep,
) -> Result<(), DetachedError> {
    let mut wait = Duration::from_secs(1);
    loop {
        match remote.reconnect() {
            Ok(()) => return Ok(()),
            Err(e) if !e.is_retryable() => return Err(DetachedError::Remote(e)),
            Err(e) => {
                if Instant::now() + wait >= deadline {
                    return Err(DetachedError::Remote(RemoteError::timeout(format!(
                        "lost the connection during {} and could not reconnect: {}; the step may still be running, its log is {}",
                        step.name,
                        e.message,
                        step.log_path()
                    ))));
                }
                std::thread::sleep(wait);
                wait = (wait * 2).min(Duration::from_secs(15));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::remote::{Output, UploadDir, UploadFile, Uploaded};
    use std::io::{BufRead, BufReader, Read};
    use std::process::{Command, Stdio};
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Mutex;

    /// Runs commands with the local `sh` — real processes, real files; what differs from a host is
    /// only the transport. `drop_after` simulates a connection that dies after N lines.
    struct LocalShell {
        drop_after_lines: Mutex<Option<usize>>,
        reconnects: AtomicU32,
    }

    impl LocalShell {
        fn new() -> LocalShell {
            LocalShell {
                drop_after_lines: Mutex::new(None),
                reconnects: AtomicU32::new(0),
            }
        }
    }

    impl Remote for LocalShell {
        fn run(
            &self,
            cmd: &RemoteCommand,
            on_line: &mut dyn FnMut(&str),
        ) -> Result<Output, RemoteError> {
            let mut child = Command::new("sh")
                .arg("-c")
                .arg(&cmd.script)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .map_err(|e| RemoteError::fatal(e.to_string()))?;
            let mut stdout = String::new();
            let reader = BufReader::new(child.stdout.take().unwrap());
            for (seen, line) in reader.lines().enumerate() {
                let line = line.unwrap();
                let drop_now = {
                    let mut limit = self.drop_after_lines.lock().unwrap();
                    let hit = *limit == Some(seen);
                    if hit {
                        *limit = None;
                    }
                    hit
                };
                if drop_now {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(RemoteError::transient("connection reset by peer"));
                }
                on_line(&line);
                stdout.push_str(&line);
                stdout.push('\n');
            }
            let mut stderr = String::new();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut stderr)
                .unwrap();
            let status = child.wait().unwrap();
            Ok(Output {
                exit_code: status.code().unwrap_or(-1),
                stdout,
                stderr,
            })
        }

        fn upload(&self, _: &str, _: &[u8], _: u32) -> Result<(), RemoteError> {
            unreachable!("detached steps do not upload")
        }

        fn upload_files(
            &self,
            _: &[UploadDir<'_>],
            _: &[UploadFile<'_>],
        ) -> Result<Vec<Uploaded>, RemoteError> {
            unreachable!("detached steps do not upload")
        }

        fn read_file(&self, _: &str) -> Result<Option<Vec<u8>>, RemoteError> {
            unreachable!("detached steps do not read files")
        }

        fn reconnect(&self) -> Result<(), RemoteError> {
            self.reconnects.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }
    }

    fn step(dir: &std::path::Path, command: &str) -> DetachedStep {
        DetachedStep {
            dir: dir.join("state dir").to_string_lossy().into_owned(),
            name: "reconfigure".into(),
            command: command.into(),
            on_success: None,
            timeout: Duration::from_secs(30),
            reconnect_window: RECONNECT_WINDOW,
        }
    }

    #[test]
    fn a_detached_step_streams_its_output_and_exit_code() {
        let tmp = tempfile::tempdir().unwrap();
        let s = step(tmp.path(), "echo one; echo 'two [ OK ]'; exit 3");
        let mut lines = Vec::new();
        let done =
            run_detached(&LocalShell::new(), &s, &mut |l| lines.push(l.to_string())).unwrap();
        assert_eq!(lines, ["one", "two [ OK ]"]);
        assert_eq!(done.exit_code, 3);
        assert_eq!(
            std::fs::read_to_string(s.log_path()).unwrap(),
            "one\ntwo [ OK ]\n"
        );
        assert!(
            !std::path::Path::new(&format!("{}/lock", s.dir)).exists(),
            "lock released"
        );
    }

    #[test]
    fn on_success_runs_only_after_success() {
        let tmp = tempfile::tempdir().unwrap();
        let marker = tmp.path().join("marker");
        let mut s = step(tmp.path(), "true");
        s.on_success = Some(format!("echo done > {}", quote(&marker.to_string_lossy())));
        run_detached(&LocalShell::new(), &s, &mut |_| {}).unwrap();
        assert!(marker.exists());
        std::fs::remove_file(&marker).unwrap();
        s.command = "false".into();
        assert_eq!(
            run_detached(&LocalShell::new(), &s, &mut |_| {})
                .unwrap()
                .exit_code,
            1
        );
        assert!(!marker.exists());
    }

    #[test]
    fn a_dropped_connection_reattaches_without_losing_or_repeating_lines() {
        let tmp = tempfile::tempdir().unwrap();
        let s = step(
            tmp.path(),
            "for i in 1 2 3 4 5 6; do echo line-$i; sleep 0.2; done",
        );
        let shell = LocalShell::new();
        let mut lines = Vec::new();
        // The launcher's own output is one line; the attach then dies after 2 lines.
        let shell_ref = &shell;
        let mut first_attach = true;
        let done = run_detached(shell_ref, &s, &mut |l| {
            lines.push(l.to_string());
            if first_attach {
                first_attach = false;
                *shell_ref.drop_after_lines.lock().unwrap() = Some(1);
            }
        })
        .unwrap();
        assert_eq!(done.exit_code, 0);
        assert_eq!(done.reattached, 1);
        assert_eq!(shell.reconnects.load(Ordering::SeqCst), 1);
        assert_eq!(
            lines,
            ["line-1", "line-2", "line-3", "line-4", "line-5", "line-6"]
        );
    }

    #[test]
    fn a_second_installer_is_refused_while_the_lock_is_held() {
        let tmp = tempfile::tempdir().unwrap();
        let long = step(tmp.path(), "sleep 3");
        let shell = LocalShell::new();
        let out = shell
            .run(
                &RemoteCommand::root(launch_script(&long), Duration::from_secs(10)),
                &mut |_| {},
            )
            .unwrap();
        assert!(out.stdout.contains("SCALR-DETACHED started"), "{out:?}");
        let mut second = step(tmp.path(), "true");
        second.name = "install".into();
        let err = run_detached(&shell, &second, &mut |_| {}).unwrap_err();
        match &err {
            DetachedError::Locked { step, pid, .. } => {
                assert_eq!(step, "reconfigure");
                assert!(pid.parse::<u32>().is_ok(), "{pid}");
            }
            other => panic!("expected Locked, got {other:?}"),
        }
        assert!(err
            .to_string()
            .starts_with("another installer holds the lock: locked by pid"));
        // Once the first finishes, the lock is free again.
        let lock = std::path::Path::new(&long.dir).join("lock");
        for _ in 0..100 {
            if !lock.exists() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        assert_eq!(
            run_detached(&shell, &second, &mut |_| {})
                .unwrap()
                .exit_code,
            0
        );
    }

    #[test]
    fn a_stale_lock_from_a_dead_process_is_broken() {
        let tmp = tempfile::tempdir().unwrap();
        let s = step(tmp.path(), "echo fine");
        let lock = std::path::Path::new(&s.dir).join("lock");
        std::fs::create_dir_all(&lock).unwrap();
        // A pid that cannot exist (above pid_max).
        std::fs::write(lock.join("pid"), "99999999\n").unwrap();
        let done = run_detached(&LocalShell::new(), &s, &mut |_| {}).unwrap();
        assert_eq!(done.exit_code, 0);
    }

    #[test]
    fn a_step_killed_on_the_host_is_reported_as_lost() {
        let tmp = tempfile::tempdir().unwrap();
        // `$$` in the job's subshells is the job shell, which leads its own process group
        // (setsid): this kills the job and everything under it, so no exit code is ever
        // recorded — as when the host reboots mid-step.
        let s = step(tmp.path(), "echo before; kill -9 -$$");
        let mut lines = Vec::new();
        let err =
            run_detached(&LocalShell::new(), &s, &mut |l| lines.push(l.to_string())).unwrap_err();
        assert!(matches!(err, DetachedError::Lost { .. }), "{err:?}");
        assert_eq!(lines, ["before"]);
    }

    #[test]
    fn a_host_that_stops_answering_is_reported_within_the_reconnect_window() {
        struct Frozen;
        impl Remote for Frozen {
            fn run(
                &self,
                cmd: &RemoteCommand,
                _: &mut dyn FnMut(&str),
            ) -> Result<Output, RemoteError> {
                if cmd.script.contains("nohup setsid") {
                    Ok(Output {
                        exit_code: 0,
                        stdout: "SCALR-DETACHED started pid=1\n".into(),
                        stderr: String::new(),
                    })
                } else {
                    Err(RemoteError::timeout("no answer within 10s"))
                }
            }
            fn upload(&self, _: &str, _: &[u8], _: u32) -> Result<(), RemoteError> {
                unreachable!()
            }
            fn upload_files(
                &self,
                _: &[UploadDir<'_>],
                _: &[UploadFile<'_>],
            ) -> Result<Vec<Uploaded>, RemoteError> {
                unreachable!()
            }
            fn read_file(&self, _: &str) -> Result<Option<Vec<u8>>, RemoteError> {
                unreachable!()
            }
            fn reconnect(&self) -> Result<(), RemoteError> {
                Err(RemoteError::transient("connection timed out"))
            }
        }
        let tmp = tempfile::tempdir().unwrap();
        let mut s = step(tmp.path(), "sleep 100");
        s.reconnect_window = Duration::from_millis(1500);
        let started = Instant::now();
        let err = run_detached(&Frozen, &s, &mut |_| {}).unwrap_err();
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
        let text = err.to_string();
        assert!(
            text.contains("could not reconnect") && text.contains("reconfigure.log"),
            "{text}"
        );
    }

    #[test]
    fn a_step_that_outlives_its_timeout_is_reported_and_left_running() {
        let tmp = tempfile::tempdir().unwrap();
        let mut s = step(tmp.path(), "sleep 5");
        s.timeout = Duration::from_millis(800);
        struct Deadlined(LocalShell);
        impl Remote for Deadlined {
            fn run(
                &self,
                cmd: &RemoteCommand,
                on_line: &mut dyn FnMut(&str),
            ) -> Result<Output, RemoteError> {
                if cmd.timeout < Duration::from_secs(5) {
                    std::thread::sleep(cmd.timeout);
                    return Err(RemoteError::timeout("command timed out"));
                }
                self.0.run(cmd, on_line)
            }
            fn upload(&self, p: &str, c: &[u8], m: u32) -> Result<(), RemoteError> {
                self.0.upload(p, c, m)
            }
            fn upload_files(
                &self,
                d: &[UploadDir<'_>],
                f: &[UploadFile<'_>],
            ) -> Result<Vec<Uploaded>, RemoteError> {
                self.0.upload_files(d, f)
            }
            fn read_file(&self, p: &str) -> Result<Option<Vec<u8>>, RemoteError> {
                self.0.read_file(p)
            }
            fn reconnect(&self) -> Result<(), RemoteError> {
                self.0.reconnect()
            }
        }
        let err = run_detached(&Deadlined(LocalShell::new()), &s, &mut |_| {}).unwrap_err();
        assert!(matches!(err, DetachedError::TimedOut { .. }), "{err:?}");
        assert!(
            std::path::Path::new(&format!("{}/lock/pid", s.dir)).exists(),
            "still running"
        );
    }
}
