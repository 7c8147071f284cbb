//! `service scalr status|start|stop|restart`: the init script of the supervisor (reference §3.5).

use super::root::SimRoot;
use super::supervisor::{self, Plan};
use super::term::is_root;

pub fn service(root: &SimRoot, args: &[String]) -> u8 {
    let name = args.first().map(String::as_str).unwrap_or("");
    let verb = args.get(1).map(String::as_str).unwrap_or("");
    if name != "scalr" {
        eprintln!("{name}: unrecognized service");
        return 1;
    }
    match verb {
        "status" => match supervisor::running_pid(root) {
            Some(_) => {
                println!("scalr is running");
                0
            }
            None => {
                println!("scalr is not running");
                3
            }
        },
        "start" | "stop" | "restart" => {
            if !is_root() {
                eprintln!("Permission denied: run `sudo service scalr {verb}`");
                return 4;
            }
            if verb != "start" || supervisor::running_pid(root).is_none() {
                supervisor::stop_supervisor(root);
            }
            if verb == "stop" {
                println!("Stopping scalr: supervisord");
                return 0;
            }
            if Plan::read(root).is_none() {
                println!("scalr is not configured yet: run 'scalr-server-ctl reconfigure' first");
                return 1;
            }
            if supervisor::running_pid(root).is_some() {
                println!("scalr is running");
                return 0;
            }
            match supervisor::start(root) {
                Ok(()) => {
                    println!("Starting scalr: supervisord");
                    0
                }
                Err(e) => {
                    println!("{e}");
                    1
                }
            }
        }
        _ => {
            eprintln!("Usage: /etc/init.d/scalr {{start|stop|restart|status}}");
            2
        }
    }
}
