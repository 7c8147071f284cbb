//! `scalr-server-manage status|start|stop|restart` (reference §3.5), a front end to the
//! supervisor daemon.

use super::root::SimRoot;
use super::supervisor::{self, Plan, ProgramStatus, State};
use super::term::{is_root, stdout_is_tty, Tag};
use std::time::{SystemTime, UNIX_EPOCH};

pub fn scalr_server_manage(root: &SimRoot, args: &[String]) -> u8 {
    let verb = args.first().map(String::as_str);
    let target = args.get(1).map(String::as_str).unwrap_or("all");
    match verb {
        Some("status") => status(root),
        Some(v @ ("start" | "stop" | "restart")) => control(root, v, target),
        _ => {
            eprintln!("Usage: scalr-server-manage status | start|stop|restart all|<component>");
            1
        }
    }
}

fn not_available() -> u8 {
    println!("Not available yet!");
    println!("You must run 'scalr-server-ctl reconfigure' first.");
    1
}

/// `1 day, 2:03:04` / `0:00:12`, as supervisorctl prints uptimes.
pub fn uptime(seconds: u64) -> String {
    let days = seconds / 86_400;
    let rest = seconds % 86_400;
    let hms = format!("{}:{:02}:{:02}", rest / 3600, rest % 3600 / 60, rest % 60);
    match days {
        0 => hms,
        1 => format!("1 day, {hms}"),
        d => format!("{d} days, {hms}"),
    }
}

/// One supervisorctl status line.
pub fn status_line(p: &ProgramStatus, now: u64) -> String {
    let detail = match p.state {
        State::Running => format!(
            "pid {}, uptime {}",
            p.pid,
            uptime(now.saturating_sub(p.since))
        ),
        State::Stopped => format!("stopped {} ago", uptime(now.saturating_sub(p.since))),
        State::Fatal => p.error.clone(),
    };
    format!("{:<32} {:<10}{}", p.name, p.state.name(), detail)
}

fn status(root: &SimRoot) -> u8 {
    // Only whether it exists: the plan is root-only (0600), and a non-root caller should get
    // the supervisor socket's permission error, as with the real supervisorctl.
    if !root.path(supervisor::PLAN).exists() {
        return not_available();
    }
    match supervisor::status(root) {
        Ok(programs) => {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0);
            for p in &programs {
                println!("{}", status_line(p, now));
            }
            if programs.iter().all(|p| p.state == State::Running) {
                0
            } else {
                3
            }
        }
        Err(e) if !is_root() => {
            println!("error: {e}; try: sudo scalr-server-manage status");
            3
        }
        Err(e) => {
            println!("{e}");
            println!("supervisord is not running: start it with `service scalr start` or `scalr-server-ctl reconfigure`");
            3
        }
    }
}

fn control(root: &SimRoot, verb: &str, target: &str) -> u8 {
    if !is_root() {
        eprintln!("scalr-server-manage must be run as root; try: sudo scalr-server-manage {verb} {target}");
        return 1;
    }
    if Plan::read(root).is_none() {
        return not_available();
    }
    let title = format!("{}{}", verb[..1].to_uppercase(), &verb[1..]);
    let what = if target == "all" {
        "all".to_string()
    } else {
        target.to_string()
    };
    super::term::print_flush(&format!("{title} {what} service(s) ... "));
    let colour = stdout_is_tty();
    match supervisor::control(root, &format!("{verb} {target}")) {
        Ok(reply) if reply.starts_with("ok") => {
            println!("{}", Tag::Ok.render(colour));
            0
        }
        Ok(reply) => {
            println!("{}", Tag::Failed.render(colour));
            println!("{}", reply.trim().trim_start_matches("error "));
            1
        }
        Err(e) => {
            println!("{}", Tag::Failed.render(colour));
            println!("{e}; is supervisord running? (`service scalr status`)");
            1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lines_look_like_supervisorctl() {
        let p = ProgramStatus {
            name: "scalr-nginx".into(),
            state: State::Running,
            pid: 1234,
            since: 100,
            error: String::new(),
        };
        assert_eq!(
            status_line(&p, 112),
            "scalr-nginx                      RUNNING   pid 1234, uptime 0:00:12"
        );
        assert_eq!(uptime(86_400 * 2 + 3725), "2 days, 1:02:05");
    }
}
