//! Long remote steps (package install, reconfigure) run detached on the host, so a dropped SSH
//! connection or a closed laptop does not kill a 20-minute reconfigure.
//!
//! A small POSIX sh launcher takes a lock (a directory holding the owner's pid, step, start time
//! and hostname; renamed into place so it is never seen half-written), starts the command with
//! `setsid` (ignoring hangups), and, in the same SSH command, streams the log with `tail -f --pid`
//! until the job ends, then prints the exit code: one round trip per step. The command writes
//! `<dir>/<step>.log`, then `<dir>/<step>.rc` (renamed into place), then releases the lock. After
//! a dropped connection the engine reconnects and attaches again from the byte where it stopped.
//!
//! A lock whose pid is dead, or belongs to a process that is not ours, is stale and broken. A live
//! one refuses the second installer with "locked by pid N on HOST since T".

use crate::engine::remote::{quote, ErrorKind, Remote, RemoteCommand, RemoteError};
use std::ops::ControlFlow;
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
    #[error("the detached launcher answered unexpectedly: {0}; check that sh, setsid and tail exist on the host")]
    Protocol(String),
}

/// The launcher, which also attaches: it takes the lock, starts the job, prints
/// `SCALR-DETACHED started pid=N`, then streams the log from its first byte and ends like
/// [`attach_script`]. A live lock makes it print `locked …` and exit 75 instead.
///
/// One SSH command per step, and nothing in it waits on a timer:
/// - The job records its own pid in the lock (a temp file renamed into place) once it has
///   started the work. The launcher never waits for that: until then the lock holds the
///   launcher's own pid, and the launcher is alive, attached, for the whole step. (The launcher
///   does not write the job's pid itself: a quick job may already have released the lock, which
///   another installer may hold.)
/// - `tail --pid` follows the job, the launcher's own child, which the launcher reaps with
///   `wait`. GNU tail re-checks that pid only on a file event or after `-s`, and nothing writes to
///   the log once the job has ended; so, once it is reaped, the launcher truncates a second,
///   always empty file that tail also follows. That truncate is an IN_MODIFY (notify_change on
///   ATTR_SIZE, since inotify exists), tail wakes, finds the pid gone, reads the log to its end
///   and exits. The log itself is never touched. `-s` remains the fallback where tail polls.
/// - If tail fails, the launcher asks for a plain reattach (`restream`) rather than reporting an
///   exit code after a log it may not have streamed in full. That mark follows tail's last byte
///   directly, so the reader can tell a log line cut short from one that ended.
/// - The job's last act, once the lock is released, is to append the verdict to the log (a
///   blank line, then `SCALR-DETACHED rc=N`, in one write: a reattach reading the log between
///   two writes would have taken the blank line for the log's own). tail streams it, and the engine stops reading and
///   closes the channel right there, so the next step need not wait for tail to exit: tail's
///   exit closes its inotify instance, which waits for a kernel grace period (SRCU), 7–26 ms
///   on a busy 2-core machine, on every step of every host. The launcher still ends with the
///   same verdict, for a reader that missed that line; the next write after the engine has
///   gone (that verdict) ends the launcher with SIGPIPE, after it has removed the wake file.
///
/// - Every host runs this for every long step, all at once on a fleet: where a shell builtin
///   answers (`[ -d ]`, `read`), no process is forked for it.
///
/// `run_id` names this launch: written beside the log once the previous run's log and exit code
/// are gone, it lets an attach tell this run's log from one an earlier run left behind.
pub fn launch_script(step: &DetachedStep, run_id: &str) -> String {
    format!(
        r#"dir={dir}; step={name}; cmd={cmd}; after={after}; id={id}; since={since}
set -u
lock="$dir/lock"; tmp="$dir/lock.$$"
[ -d "$dir" ] || mkdir -p "$dir" || {{ echo "{MARK} error cannot create $dir"; exit 70; }}
[ ! -e "$tmp" ] || rm -rf "$tmp"; mkdir "$tmp" || exit 70
echo $$ > "$tmp/pid"; echo "$step" > "$tmp/step"
echo "$since" > "$tmp/since"
{{ read -r h < /proc/sys/kernel/hostname && echo "$h" || hostname || uname -n; }} > "$tmp/host" 2>/dev/null
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
log="$dir/$step.log"; rc="$dir/$step.rc"; wake="$dir/.$step.wake.$$"
[ ! -e "$rc" ] && [ ! -e "$rc.tmp" ] || rm -f "$rc" "$rc.tmp"; : > "$log"; : > "$wake"
echo "$id" > "$dir/$step.id"
job='trap "" HUP; cd /
( (eval "$3") >>"$1/$2.log" 2>&1 </dev/null; code=$?
if [ $code -eq 0 ] && [ -n "$4" ]; then (eval "$4") >>"$1/$2.log" 2>&1 </dev/null || code=$?; fi
echo $code > "$1/$2.rc.tmp"; mv -f "$1/$2.rc.tmp" "$1/$2.rc" ) </dev/null &
echo $$ > "$1/lock/pid.new" && mv -f "$1/lock/pid.new" "$1/lock/pid"
echo $! > "$1/lock/work.new" && mv -f "$1/lock/work.new" "$1/lock/work"; wait; rm -rf "$1/lock"
[ -f "$1/$2.rc" ] && read -r code < "$1/$2.rc" && printf "\n{MARK} rc=%s\n" "$code" >>"$1/$2.log"'
setsid sh -c "$job" scalr-installer-job "$dir" "$step" "$cmd" "$after" >/dev/null 2>&1 </dev/null &
job_pid=$!
echo "{MARK} started pid=$job_pid"
tail -q -s 0.1 -c +1 -f --pid="$job_pid" "$log" "$wake" &
tail_pid=$!
wait "$job_pid"
: > "$wake"
if wait "$tail_pid"; then streamed=yes; else streamed=no; fi
rm -f "$wake"
[ "$streamed" = yes ] || {{ echo "{MARK} restream"; exit 0; }}
{finish}"#,
        dir = quote(&step.dir),
        name = quote(&step.name),
        cmd = quote(&step.command),
        after = quote(step.on_success.as_deref().unwrap_or("")),
        id = quote(run_id),
        // The controller's clock, for "locked … since": one program fewer on the host.
        since = quote(&humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()),
        finish = finish_lines(),
    )
}

/// Ends every attach: a newline, so the verdict is a line of its own even when the log does not
/// end with one (the reader drops that separator when it is a blank line of its own), then
/// `SCALR-DETACHED rc=N`, or `lost` when the job ended without recording one. Asking the log
/// whether it ends with a newline would cost a process on every host at every step.
fn finish_lines() -> String {
    format!(
        r#"echo
if [ -f "$rc" ]; then read -r code < "$rc" || true; echo "{MARK} rc=$code"; else echo "{MARK} lost"; fi
"#
    )
}

/// Reattaches after a dropped connection: streams the step's log from byte `offset` until the
/// job ends, then prints `SCALR-DETACHED rc=N` (or `lost` / `nolog`).
///
/// `tail --pid` follows the job's *work* subshell, not the job itself: the job is an orphan by
/// now, and an orphan that exits stays a zombie (alive to `kill -0`) until init reaps it, which
/// some inits do only every second or two. The work subshell is reaped at once by the job's
/// `wait`. Nothing wakes tail here when the work ends, so this rare path notices the end up to
/// `-s` late.
///
/// A log that is not this run's (`run_id` differs: the connection dropped before the launcher
/// got as far as resetting it) counts as no log, so the step is launched rather than an earlier
/// run's exit code reported.
pub fn attach_script(step: &DetachedStep, offset: u64, run_id: &str) -> String {
    format!(
        r#"dir={dir}; step={name}; from={from}; id={id}
log="$dir/$step.log"; rc="$dir/$step.rc"
[ -f "$log" ] && [ "$(cat "$dir/$step.id" 2>/dev/null)" = "$id" ] || {{ echo "{MARK} nolog"; exit 0; }}
pid=$(cat "$dir/lock/work" 2>/dev/null || cat "$dir/lock/pid" 2>/dev/null || true)
if [ ! -f "$rc" ] && [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
  tail -s 0.1 -c "+$from" -f --pid="$pid" "$log"
else
  tail -c "+$from" "$log"
fi
{finish}"#,
        dir = quote(&step.dir),
        name = quote(&step.name),
        from = offset + 1,
        id = quote(run_id),
        finish = finish_lines(),
    )
}

/// Unique per launch: this process, the time, and a counter for launches within one tick.
fn new_run_id() -> String {
    static LAUNCHES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let n = LAUNCHES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{}-{nanos}-{n}", std::process::id())
}

/// What a `SCALR-DETACHED …` line says.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Mark {
    /// The job runs; log lines follow.
    Started,
    /// A stale lock was broken on the way: informational.
    Stale,
    Locked(DetachedError),
    Exited(i32),
    Lost,
    /// Nothing was ever launched (attach only).
    NoLog,
    /// The launcher's streaming failed; attach again from what was received.
    Restream,
    Unexpected(String),
}

fn parse_mark(step: &DetachedStep, rest: &str) -> Mark {
    let rest = rest.trim();
    if rest.starts_with("started") {
        return Mark::Started;
    }
    if rest.starts_with("stale") {
        return Mark::Stale;
    }
    if let Some(code) = rest.strip_prefix("rc=") {
        return Mark::Exited(code.trim().parse().unwrap_or(-1));
    }
    if let Some(fields) = rest.strip_prefix("locked") {
        let get = |key: &str| {
            fields
                .split_whitespace()
                .find_map(|w| w.strip_prefix(key).map(str::to_string))
                .unwrap_or_else(|| "?".into())
        };
        return Mark::Locked(DetachedError::Locked {
            pid: get("pid="),
            host: get("host="),
            since: get("since="),
            step: get("step="),
            lock_dir: format!("{}/lock", step.dir),
        });
    }
    match rest {
        "lost" => Mark::Lost,
        "nolog" => Mark::NoLog,
        "restream" => Mark::Restream,
        other => Mark::Unexpected(other.to_string()),
    }
}

/// Reads one launch-and-attach or attach command's output: launcher lines until `started`, then
/// log lines (counted, so a reattach resumes at the right byte) until the verdict.
struct Reader {
    /// Still before `started` (a launch); an attach starts past it.
    launching: bool,
    verdict: Option<Mark>,
    /// The launcher's other output, for an unexpected answer.
    launcher_said: String,
    /// A blank line not passed on yet: the separator before the verdict (see `finish_lines`)
    /// looks just like a blank log line, and only the next line tells them apart. Not counted
    /// until passed on, so a reattach streams a real one again.
    held_blank: bool,
}

impl Reader {
    fn new(launching: bool) -> Reader {
        Reader {
            launching,
            verdict: None,
            launcher_said: String::new(),
            held_blank: false,
        }
    }

    /// Passes on a blank line held back: what followed shows it was the log's own.
    fn release_blank(&mut self, offset: &mut u64, on_line: &mut dyn FnMut(&str)) {
        if std::mem::take(&mut self.held_blank) {
            *offset += 1;
            on_line("");
        }
    }

    /// Takes one line; breaks once the verdict is read, as nothing after it matters.
    fn line(
        &mut self,
        step: &DetachedStep,
        line: &str,
        offset: &mut u64,
        on_line: &mut dyn FnMut(&str),
    ) -> ControlFlow<()> {
        if self.verdict.is_none() {
            self.take(step, line, offset, on_line);
        }
        match self.verdict {
            Some(_) => ControlFlow::Break(()),
            None => ControlFlow::Continue(()),
        }
    }

    fn take(
        &mut self,
        step: &DetachedStep,
        line: &str,
        offset: &mut u64,
        on_line: &mut dyn FnMut(&str),
    ) {
        let restream = format!("{MARK} restream");
        if let Some(cut) = line.strip_suffix(&restream).filter(|_| !self.launching) {
            // No separator comes before this mark: a blank line held was the log's.
            self.release_blank(offset, on_line);
            // tail stopped mid-line: those bytes are in the log, without their newline.
            if !cut.is_empty() {
                *offset += cut.len() as u64;
                on_line(cut);
            }
            self.verdict = Some(Mark::Restream);
        } else if let Some(rest) = line.strip_prefix(MARK) {
            // The separator before the verdict is not part of the log.
            self.held_blank = false;
            match parse_mark(step, rest) {
                Mark::Started if self.launching => self.launching = false,
                Mark::Started => self.verdict = Some(Mark::Unexpected("started".into())),
                Mark::Stale => {}
                mark => self.verdict = Some(mark),
            }
        } else if self.launching {
            self.launcher_said.push_str(line);
            self.launcher_said.push('\n');
        } else {
            self.release_blank(offset, on_line);
            if line.is_empty() {
                self.held_blank = true;
                return;
            }
            *offset += line.len() as u64 + 1;
            on_line(line);
        }
    }
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
/// connections: one command launches and streams; after a drop, attaching resumes from the last
/// byte received.
pub fn run_detached(
    remote: &dyn Remote,
    step: &DetachedStep,
    on_line: &mut dyn FnMut(&str),
) -> Result<Finished, DetachedError> {
    run_detached_then(remote, step, &mut || {}, on_line)
}

/// [`run_detached`], calling `on_started` when the launcher says it has started the job: at most
/// once, and not at all when the connection dropped before it could say so.
pub fn run_detached_then(
    remote: &dyn Remote,
    step: &DetachedStep,
    on_started: &mut dyn FnMut(),
    on_line: &mut dyn FnMut(&str),
) -> Result<Finished, DetachedError> {
    let deadline = Instant::now() + step.timeout;
    let run_id = new_run_id();
    let mut reattached = 0;
    let mut offset: u64 = 0;
    let mut launching = true;
    let mut launched_again = false;
    loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(timed_out(step));
        }
        let script = if launching {
            launch_script(step, &run_id)
        } else {
            attach_script(step, offset, &run_id)
        };
        let mut reader = Reader::new(launching);
        let result = remote.run_until(&RemoteCommand::root(script, remaining), &mut |line| {
            let was_launching = reader.launching;
            let flow = reader.line(step, line, &mut offset, on_line);
            if was_launching && !reader.launching {
                on_started();
            }
            flow
        });
        // Past `started`, the job runs: from here on only attaching, never launching again.
        launching = false;
        match (result, reader.verdict) {
            (_, Some(Mark::Exited(exit_code))) => {
                return Ok(Finished {
                    exit_code,
                    log_path: step.log_path(),
                    reattached,
                })
            }
            (_, Some(Mark::Lost)) => {
                return Err(DetachedError::Lost {
                    step: step.name.clone(),
                    log: step.log_path(),
                })
            }
            (_, Some(Mark::Locked(e))) => return Err(e),
            (_, Some(Mark::NoLog)) if !launched_again => {
                // The first launch never ran (the connection dropped before it): launch now.
                launched_again = true;
                launching = true;
            }
            (_, Some(Mark::Restream)) => {}
            (_, Some(Mark::NoLog)) => {
                return Err(DetachedError::Protocol(
                    "no log on the host even after launching the step again".into(),
                ))
            }
            (_, Some(Mark::Unexpected(v))) => return Err(DetachedError::Protocol(v)),
            (_, Some(Mark::Started | Mark::Stale)) => {
                unreachable!("the reader keeps these out of verdicts")
            }
            (Ok(out), None) if reader.launching => {
                let said = format!("{}{}", reader.launcher_said, out.stderr);
                return Err(DetachedError::Protocol(
                    said.trim().chars().take(300).collect(),
                ));
            }
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
            // Whether or not the launcher got as far as starting the job, attaching finds out.
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
    use std::os::unix::process::CommandExt;
    use std::process::{Command, Stdio};
    use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
    use std::sync::{mpsc, Arc, Mutex};

    /// Runs commands with the local `sh`: real processes, real files; what differs from a host is
    /// only the transport. Each command runs in its own process group, which is killed when the
    /// "connection" drops (`drop_after_lines`) or the command's time limit passes; the job
    /// survives both, being in a session of its own.
    struct LocalShell {
        drop_after_lines: Mutex<Option<usize>>,
        reconnects: AtomicU32,
        /// Prepended to PATH, to put a broken tool in the way.
        path_prefix: Option<std::path::PathBuf>,
        scripts: Mutex<Vec<String>>,
        /// The next command fails with this before it starts (a connection already gone).
        fail_next_run: Mutex<Option<RemoteError>>,
        /// A host that stopped answering: every command times out, every reconnect fails.
        frozen: bool,
    }

    impl LocalShell {
        fn new() -> LocalShell {
            LocalShell {
                drop_after_lines: Mutex::new(None),
                reconnects: AtomicU32::new(0),
                path_prefix: None,
                scripts: Mutex::new(Vec::new()),
                fail_next_run: Mutex::new(None),
                frozen: false,
            }
        }

        fn launches(&self) -> usize {
            let scripts = self.scripts.lock().unwrap();
            scripts
                .iter()
                .filter(|s| s.contains("setsid sh -c"))
                .count()
        }
    }

    fn kill_group(pgid: u32) {
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(pgid as i32),
            nix::sys::signal::Signal::SIGKILL,
        );
    }

    impl Remote for LocalShell {
        /// Like sshd on a closed channel: stops reading at the break, shuts the command's
        /// output and leaves the command to end by itself.
        fn run_until(
            &self,
            cmd: &RemoteCommand,
            on_line: &mut dyn FnMut(&str) -> ControlFlow<()>,
        ) -> Result<Output, RemoteError> {
            if self.frozen {
                return Err(RemoteError::timeout("no answer within 10s"));
            }
            if let Some(e) = self.fail_next_run.lock().unwrap().take() {
                return Err(e);
            }
            self.scripts.lock().unwrap().push(cmd.script.clone());
            let mut command = Command::new("sh");
            command
                .arg("-c")
                .arg(&cmd.script)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .process_group(0);
            if let Some(prefix) = &self.path_prefix {
                let path = std::env::var("PATH").unwrap_or_default();
                command.env("PATH", format!("{}:{path}", prefix.display()));
            }
            let mut child = command
                .spawn()
                .map_err(|e| RemoteError::fatal(e.to_string()))?;
            let pgid = child.id();
            let (done, finished) = mpsc::channel::<()>();
            let timed_out = Arc::new(AtomicBool::new(false));
            let watchdog = {
                let (timeout, timed_out) = (cmd.timeout, timed_out.clone());
                std::thread::spawn(move || {
                    if let Err(mpsc::RecvTimeoutError::Timeout) = finished.recv_timeout(timeout) {
                        timed_out.store(true, Ordering::SeqCst);
                        kill_group(pgid);
                    }
                })
            };
            let mut stdout = String::new();
            let reader = BufReader::new(child.stdout.take().unwrap());
            let mut dropped = false;
            let mut stopped_early = false;
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
                    kill_group(pgid);
                    dropped = true;
                    break;
                }
                let flow = on_line(&line);
                stdout.push_str(&line);
                stdout.push('\n');
                if flow.is_break() {
                    stopped_early = true;
                    break;
                }
            }
            if stopped_early {
                // The reader is dropped here: the command's next write meets a closed pipe.
                drop(child.stderr.take());
                let _ = done.send(());
                watchdog.join().unwrap();
                std::thread::spawn(move || child.wait());
                return Ok(Output {
                    exit_code: -1,
                    stdout,
                    stderr: String::new(),
                    stopped_early,
                });
            }
            let mut stderr = String::new();
            if !dropped {
                let _ = child.stderr.take().unwrap().read_to_string(&mut stderr);
            }
            let status = child.wait().unwrap();
            let _ = done.send(());
            watchdog.join().unwrap();
            if dropped {
                return Err(RemoteError::transient("connection reset by peer"));
            }
            if timed_out.load(Ordering::SeqCst) {
                return Err(RemoteError::timeout("command timed out"));
            }
            Ok(Output {
                exit_code: status.code().unwrap_or(-1),
                stdout,
                stderr,
                stopped_early: false,
            })
        }

        fn upload(&self, _: &str, _: &[u8], _: u32) -> Result<(), RemoteError> {
            unreachable!("detached steps do not upload")
        }

        fn upload_files_then(
            &self,
            _: &[UploadDir<'_>],
            _: &[UploadFile<'_>],
            _: Option<&RemoteCommand>,
        ) -> Result<(Vec<Uploaded>, Option<Output>), RemoteError> {
            unreachable!("detached steps do not upload")
        }

        fn read_file(&self, _: &str) -> Result<Option<Vec<u8>>, RemoteError> {
            unreachable!("detached steps do not read files")
        }

        fn reconnect(&self) -> Result<(), RemoteError> {
            if self.frozen {
                return Err(RemoteError::transient("connection timed out"));
            }
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

    fn wait_until_unlocked(s: &DetachedStep) {
        let lock = std::path::Path::new(&s.dir).join("lock");
        for _ in 0..100 {
            if !lock.exists() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("{} still locked", s.dir);
    }

    #[test]
    fn a_detached_step_streams_its_output_and_exit_code_in_one_command() {
        let tmp = tempfile::tempdir().unwrap();
        let s = step(tmp.path(), "echo one; echo 'two [ OK ]'; exit 3");
        let shell = LocalShell::new();
        let mut lines = Vec::new();
        let done = run_detached(&shell, &s, &mut |l| lines.push(l.to_string())).unwrap();
        assert_eq!(lines, ["one", "two [ OK ]"]);
        assert_eq!(done.exit_code, 3);
        assert_eq!(done.reattached, 0);
        assert_eq!(shell.scripts.lock().unwrap().len(), 1, "one round trip");
        // The job's last act records the verdict in the log too: the reader stopped there.
        assert_eq!(
            std::fs::read_to_string(s.log_path()).unwrap(),
            "one\ntwo [ OK ]\n\nSCALR-DETACHED rc=3\n"
        );
        assert!(
            !std::path::Path::new(&format!("{}/lock", s.dir)).exists(),
            "lock released before the verdict"
        );
        // The launcher, left behind at the verdict, still cleans up after itself.
        wait_until_no_wake_file(&s);
    }

    /// The launcher removes its wake file once tail has exited, which may be after the reader
    /// stopped at the job's verdict.
    fn wait_until_no_wake_file(s: &DetachedStep) {
        let wake_files = || -> Vec<String> {
            std::fs::read_dir(&s.dir)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|f| f.contains("wake"))
                .collect()
        };
        for _ in 0..100 {
            if wake_files().is_empty() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("the wake file is left behind: {:?}", wake_files());
    }

    #[test]
    fn the_log_keeps_the_exact_bytes_and_the_exit_code_comes_after_all_of_them() {
        let tmp = tempfile::tempdir().unwrap();
        // No newline at the end, a blank line, a line that looks like a shell prompt, and
        // output from the on_success command too.
        let mut s = step(tmp.path(), "printf 'a\\n\\n  b $x\\n'; printf 'no newline'");
        s.on_success = Some("printf ' tail\\n'".into());
        let shell = LocalShell::new();
        let mut lines = Vec::new();
        let done = run_detached(&shell, &s, &mut |l| lines.push(l.to_string())).unwrap();
        assert_eq!(done.exit_code, 0);
        let log = std::fs::read(s.log_path()).unwrap();
        // The command's bytes, then the job's verdict on a line of its own.
        assert_eq!(
            log,
            b"a\n\n  b $x\nno newline tail\n\nSCALR-DETACHED rc=0\n"
        );
        assert_eq!(lines, ["a", "", "  b $x", "no newline tail"]);

        // And on the wire, read to the end: every log line, the job's verdict from the log,
        // then the launcher's own, each after a separator line (blank here: the log ends with
        // a newline).
        let out = shell
            .run(
                &RemoteCommand::root(launch_script(&s, "run-1"), Duration::from_secs(10)),
                &mut |_| {},
            )
            .unwrap();
        let wire: Vec<&str> = out.stdout.lines().collect();
        assert!(
            wire[0].starts_with("SCALR-DETACHED started pid="),
            "{wire:?}"
        );
        assert_eq!(
            wire[1..],
            [
                "a",
                "",
                "  b $x",
                "no newline tail",
                "",
                "SCALR-DETACHED rc=0",
                "",
                "SCALR-DETACHED rc=0"
            ]
        );

        // A log that ends with a newline gets a blank separator, which the reader drops; a
        // blank line of the log's own, even its last, is kept.
        let mut s = step(tmp.path(), "printf 'a\\n\\nb\\n\\n'");
        s.name = "blank-end".into();
        let mut lines = Vec::new();
        run_detached(&shell, &s, &mut |l| lines.push(l.to_string())).unwrap();
        assert_eq!(
            std::fs::read(s.log_path()).unwrap(),
            b"a\n\nb\n\n\nSCALR-DETACHED rc=0\n"
        );
        assert_eq!(lines, ["a", "", "b", ""]);
    }

    #[test]
    fn a_step_that_ends_at_once_is_still_streamed_in_full() {
        // The job may end before tail has started: tail must still print everything and stop.
        let tmp = tempfile::tempdir().unwrap();
        let s = step(tmp.path(), "echo quick");
        for _ in 0..20 {
            let mut lines = Vec::new();
            let done =
                run_detached(&LocalShell::new(), &s, &mut |l| lines.push(l.to_string())).unwrap();
            assert_eq!((done.exit_code, lines), (0, vec!["quick".to_string()]));
        }
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
        // The connection dies after the `started` line and two log lines.
        *shell.drop_after_lines.lock().unwrap() = Some(3);
        let done = run_detached(&shell, &s, &mut |l| lines.push(l.to_string())).unwrap();
        assert_eq!(done.exit_code, 0);
        assert_eq!(done.reattached, 1);
        assert_eq!(shell.reconnects.load(Ordering::SeqCst), 1);
        assert_eq!(shell.launches(), 1, "launched once, then attached");
        assert_eq!(
            lines,
            ["line-1", "line-2", "line-3", "line-4", "line-5", "line-6"]
        );
    }

    #[test]
    fn what_on_success_prints_reaches_a_reattached_reader_once() {
        // The package phase reads the installed version from this output.
        let tmp = tempfile::tempdir().unwrap();
        let mut s = step(tmp.path(), "echo one; sleep 0.3; echo two");
        s.on_success = Some("printf 'version=%s\\n' 8.0.1-1".into());
        let shell = LocalShell::new();
        *shell.drop_after_lines.lock().unwrap() = Some(2);
        let mut lines = Vec::new();
        let done = run_detached(&shell, &s, &mut |l| lines.push(l.to_string())).unwrap();
        assert_eq!((done.exit_code, done.reattached), (0, 1));
        assert_eq!(lines, ["one", "two", "version=8.0.1-1"]);
    }

    #[test]
    fn a_log_an_earlier_run_left_is_never_taken_for_this_run() {
        let tmp = tempfile::tempdir().unwrap();
        let s = step(tmp.path(), "echo this run");
        // A finished earlier run: its log, its exit code, its id.
        std::fs::create_dir_all(&s.dir).unwrap();
        std::fs::write(s.log_path(), "earlier run\n").unwrap();
        std::fs::write(format!("{}/{}.rc", s.dir, s.name), "0\n").unwrap();
        std::fs::write(format!("{}/{}.id", s.dir, s.name), "earlier\n").unwrap();
        // The connection drops before the launcher ran: the attach must not report "earlier".
        let shell = LocalShell::new();
        *shell.fail_next_run.lock().unwrap() =
            Some(RemoteError::transient("connection reset by peer"));
        let mut lines = Vec::new();
        let done = run_detached(&shell, &s, &mut |l| lines.push(l.to_string())).unwrap();
        assert_eq!(done.exit_code, 0);
        assert_eq!(lines, ["this run"]);
        assert_eq!(shell.launches(), 1);
    }

    #[test]
    fn a_connection_dropped_before_the_launch_launches_once_more() {
        let tmp = tempfile::tempdir().unwrap();
        let s = step(tmp.path(), "echo ran");
        let shell = LocalShell::new();
        *shell.fail_next_run.lock().unwrap() =
            Some(RemoteError::transient("connection reset by peer"));
        let mut lines = Vec::new();
        let done = run_detached(&shell, &s, &mut |l| lines.push(l.to_string())).unwrap();
        assert_eq!((done.exit_code, done.reattached), (0, 1));
        assert_eq!(lines, ["ran"]);
        // An attach that found no log, then the launch.
        let scripts = shell.scripts.lock().unwrap();
        assert_eq!(scripts.len(), 2);
        assert!(scripts[0].contains("nolog") && scripts[1].contains("setsid sh -c"));
    }

    #[test]
    fn when_streaming_fails_the_launcher_asks_for_a_reattach_and_nothing_is_lost() {
        let tmp = tempfile::tempdir().unwrap();
        // A tail that fails to follow after two bytes, mid-line; the plain read works.
        let bin = tmp.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        let real_tail = String::from_utf8(
            Command::new("sh")
                .args(["-c", "command -v tail"])
                .output()
                .unwrap()
                .stdout,
        )
        .unwrap();
        std::fs::write(
            bin.join("tail"),
            format!(
                "#!/bin/sh\ncase \"$*\" in *--pid*) printf on; exit 1;; esac\nexec {} \"$@\"\n",
                real_tail.trim()
            ),
        )
        .unwrap();
        std::fs::set_permissions(
            bin.join("tail"),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
        let mut shell = LocalShell::new();
        shell.path_prefix = Some(bin);
        let s = step(tmp.path(), "echo one; echo two; exit 4");
        let mut lines = Vec::new();
        let done = run_detached(&shell, &s, &mut |l| lines.push(l.to_string())).unwrap();
        assert_eq!(done.exit_code, 4);
        // Byte-exact: the cut line arrives in two pieces, nothing lost or repeated.
        assert_eq!(lines, ["on", "e", "two"]);
        assert_eq!(shell.launches(), 1);
        assert_eq!(shell.reconnects.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn a_second_installer_is_refused_while_the_lock_is_held() {
        let tmp = tempfile::tempdir().unwrap();
        let long = step(tmp.path(), "echo first; sleep 2");
        let first = std::thread::spawn({
            let long = long.clone();
            move || run_detached(&LocalShell::new(), &long, &mut |_| {})
        });
        let log = std::path::Path::new(&long.dir).join("reconfigure.log");
        for _ in 0..100 {
            if std::fs::read_to_string(&log).unwrap_or_default() == "first\n" {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let mut second = step(tmp.path(), "true");
        second.name = "install".into();
        let err = run_detached(&LocalShell::new(), &second, &mut |_| {}).unwrap_err();
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
        assert_eq!(first.join().unwrap().unwrap().exit_code, 0);
        // Once the first finishes, the lock is free again.
        wait_until_unlocked(&long);
        assert_eq!(
            run_detached(&LocalShell::new(), &second, &mut |_| {})
                .unwrap()
                .exit_code,
            0
        );
    }

    #[test]
    fn the_lock_names_the_job_once_it_runs() {
        let tmp = tempfile::tempdir().unwrap();
        let s = step(tmp.path(), "echo go; sleep 2");
        let shell = LocalShell::new();
        // The connection drops after `started`: the launcher is gone, the job holds on.
        *shell.drop_after_lines.lock().unwrap() = Some(1);
        let mut started = None;
        let result = shell.run(
            &RemoteCommand::root(launch_script(&s, "run-1"), Duration::from_secs(10)),
            &mut |l| {
                started.get_or_insert(l.to_string());
            },
        );
        assert!(result.is_err());
        let job_pid = started.unwrap().rsplit('=').next().unwrap().to_string();
        let pid_file = std::path::Path::new(&s.dir).join("lock/pid");
        for _ in 0..100 {
            if std::fs::read_to_string(&pid_file)
                .unwrap_or_default()
                .trim()
                == job_pid
            {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(
            std::fs::read_to_string(&pid_file).unwrap().trim(),
            job_pid,
            "the job's own pid"
        );
        let mut second = step(tmp.path(), "true");
        second.name = "install".into();
        assert!(matches!(
            run_detached(&LocalShell::new(), &second, &mut |_| {}),
            Err(DetachedError::Locked { .. })
        ));
        wait_until_unlocked(&s);
    }

    #[test]
    fn a_stale_lock_from_a_dead_process_is_broken() {
        let tmp = tempfile::tempdir().unwrap();
        let s = step(tmp.path(), "echo fine");
        let lock = std::path::Path::new(&s.dir).join("lock");
        std::fs::create_dir_all(&lock).unwrap();
        // A pid that cannot exist (above pid_max).
        std::fs::write(lock.join("pid"), "99999999\n").unwrap();
        let mut lines = Vec::new();
        let done =
            run_detached(&LocalShell::new(), &s, &mut |l| lines.push(l.to_string())).unwrap();
        assert_eq!(done.exit_code, 0);
        assert_eq!(
            lines,
            ["fine"],
            "the launcher's own notes are not log lines"
        );
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
        let tmp = tempfile::tempdir().unwrap();
        let mut s = step(tmp.path(), "sleep 100");
        s.reconnect_window = Duration::from_millis(1500);
        let started = Instant::now();
        let frozen = LocalShell {
            frozen: true,
            ..LocalShell::new()
        };
        let err = run_detached(&frozen, &s, &mut |_| {}).unwrap_err();
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
        let mut s = step(tmp.path(), "sleep 3");
        s.timeout = Duration::from_millis(800);
        let err = run_detached(&LocalShell::new(), &s, &mut |_| {}).unwrap_err();
        assert!(matches!(err, DetachedError::TimedOut { .. }), "{err:?}");
        assert!(
            std::path::Path::new(&format!("{}/lock/pid", s.dir)).exists(),
            "still running"
        );
        wait_until_unlocked(&s);
    }

    #[test]
    fn the_reader_separates_launcher_notes_log_lines_and_the_verdict() {
        let tmp = tempfile::tempdir().unwrap();
        let s = step(tmp.path(), "true");
        let mut reader = Reader::new(true);
        let (mut offset, mut lines) = (0u64, Vec::new());
        let mut flows = Vec::new();
        for l in [
            "SCALR-DETACHED stale pid=12",
            "SCALR-DETACHED started pid=77",
            "héllo",
            "",
            // The separator before the verdict.
            "",
            "SCALR-DETACHED rc=2",
            "after the verdict",
        ] {
            flows.push(
                reader
                    .line(&s, l, &mut offset, &mut |l| lines.push(l.to_string()))
                    .is_break(),
            );
        }
        // Reading stops at the verdict.
        assert_eq!(flows, [false, false, false, false, false, true, true]);
        assert_eq!(lines, ["héllo", ""]);
        assert_eq!(offset, "héllo\n\n".len() as u64, "bytes, not characters");
        assert_eq!(reader.verdict, Some(Mark::Exited(2)));

        let mut reader = Reader::new(true);
        let _ = reader.line(
            &s,
            "SCALR-DETACHED locked pid=9 step=install since=2026-01-01T00:00:00Z host=db-1",
            &mut offset,
            &mut |_| {},
        );
        assert_eq!(
            reader.verdict,
            Some(Mark::Locked(DetachedError::Locked {
                pid: "9".into(),
                host: "db-1".into(),
                since: "2026-01-01T00:00:00Z".into(),
                step: "install".into(),
                lock_dir: format!("{}/lock", s.dir),
            }))
        );
        let mut reader = Reader::new(false);
        let (mut offset, mut lines) = (0u64, Vec::new());
        let _ = reader.line(
            &s,
            "half a lSCALR-DETACHED restream",
            &mut offset,
            &mut |l| lines.push(l.to_string()),
        );
        assert_eq!((lines, offset), (vec!["half a l".to_string()], 8));
        assert_eq!(reader.verdict, Some(Mark::Restream));
        assert_eq!(parse_mark(&s, " restream"), Mark::Restream);
        assert_eq!(parse_mark(&s, " nolog"), Mark::NoLog);
        assert_eq!(parse_mark(&s, " lost"), Mark::Lost);
        assert_eq!(parse_mark(&s, " what"), Mark::Unexpected("what".into()));
    }

    #[test]
    fn every_value_in_the_scripts_is_quoted() {
        let tmp = tempfile::tempdir().unwrap();
        let mut s = step(tmp.path(), "echo 'it''s'; echo $HOME");
        s.name = "re configure".into();
        let launch = launch_script(&s, "run 1");
        assert!(launch.contains("step='re configure'"), "{launch}");
        assert!(launch.contains(&format!("cmd={}", quote(&s.command))));
        assert!(launch.contains("id='run 1'"), "{launch}");
        let attach = attach_script(&s, 41, "run 1");
        assert!(attach.contains("from=42") && attach.contains("id='run 1'"));
    }
}
