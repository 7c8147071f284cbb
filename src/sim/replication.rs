//! `kickstart-replication MASTER:3306 SLAVE:3306` (reference §4.1), run on the master.

use super::net::{self, PeerError};
use super::rbconfig::RbConfig;
use super::root::{SimRoot, BINLOG_BOOTSTRAP};
use super::secrets::Secrets;
use super::supervisor::REPLICATION;
use super::term::is_root;
use super::vmconf::VmConf;
use std::net::SocketAddrV4;

pub fn kickstart_replication(root: &SimRoot, args: &[String]) -> u8 {
    let (Some(master), Some(slave)) = (args.first(), args.get(1)) else {
        eprintln!("Usage: kickstart-replication MASTER_HOST:PORT SLAVE_HOST:PORT");
        return 1;
    };
    if !is_root() {
        eprintln!("kickstart-replication must be run as root");
        return 1;
    }
    let vm = match VmConf::load(root) {
        Ok(vm) => vm,
        Err(e) => {
            eprintln!("{e}");
            return 1;
        }
    };
    let cfg = match super::ctl::load_config(root, false) {
        Ok(cfg) => cfg,
        Err(code) => return code,
    };
    let Some(master_addr) = endpoint(&vm, master) else {
        eprintln!("ERROR: cannot resolve master '{master}'; give it as ADDRESS:PORT");
        return 1;
    };
    let Some(slave_addr) = endpoint(&vm, slave) else {
        eprintln!("ERROR: cannot resolve slave '{slave}'; give it as ADDRESS:PORT");
        return 1;
    };
    if *master_addr.ip() != vm.address {
        eprintln!(
            "ERROR: kickstart-replication must run on the master: {master} is not this server ({}). Run it on the master.",
            vm.address
        );
        return 1;
    }
    if !binlog_on(&cfg) {
        println!("Binary logging is not enabled.");
        return 1;
    }
    let Ok(bootstrap) = std::fs::read_to_string(root.path(BINLOG_BOOTSTRAP)) else {
        println!("Binary logging was not enabled when you boostrapped this MySQL server.");
        return 1;
    };
    let mut lines = bootstrap.lines();
    let (log_file, position) = (
        lines.next().unwrap_or("mysql-bin.000001"),
        lines.next().unwrap_or("4"),
    );
    let secrets = match Secrets::load_or_generate(root) {
        Ok((s, _)) => s,
        Err(e) => {
            eprintln!("{e}");
            return 1;
        }
    };
    let root_password = secrets.get("mysql", "root_password").unwrap_or_default();
    let me = vm.address.to_string();
    println!("# master on {}: ... connecting", master_addr.ip());
    if let Err(e) = net::ask(master_addr, "mysql", "root", root_password, "") {
        println!(
            "ERROR: Cannot connect to the master server. {}",
            net::mysql_error(&e, &master_addr.ip().to_string(), "root", &me)
        );
        return 1;
    }
    println!("# master on {}: ... connected.", master_addr.ip());
    println!("# slave on {}: ... connecting", slave_addr.ip());
    if let Err(e) = net::ask(slave_addr, "mysql", "root", root_password, "") {
        println!(
            "ERROR: Cannot connect to the slave server. {}",
            net::mysql_error(&e, &slave_addr.ip().to_string(), "root", &me)
        );
        if e == PeerError::Denied {
            println!("The root password differs: copy the same scalr-server-secrets.json to both servers and reconfigure them.");
        }
        return 1;
    }
    println!("# slave on {}: ... connected.", slave_addr.ip());
    println!("# Checking for binary logging on master...");
    println!("# Setting up replication...");
    println!("# Granting replication access to replication user...");
    println!("# Connecting slave to master...");
    println!(
        "# CHANGE MASTER TO MASTER_HOST = '{}', MASTER_PORT = {}, MASTER_USER = 'repl'",
        master_addr.ip(),
        master_addr.port()
    );
    if let Err(e) = net::ask(
        slave_addr,
        "mysql",
        "root",
        root_password,
        &format!("START-SLAVE {master_addr}"),
    ) {
        println!("ERROR: Cannot start the slave: {e:?}");
        return 1;
    }
    println!("# Starting slave from master log file '{log_file}' using position {position}...");
    let record = format!("role = \"master\"\nslave = \"{slave_addr}\"\nlog_file = \"{log_file}\"\nposition = {position}\n");
    if let Err(e) = std::fs::write(root.path(REPLICATION), record) {
        println!("ERROR: cannot record the replication state: {e}");
        return 1;
    }
    println!("# ...done.");
    0
}

fn binlog_on(cfg: &RbConfig) -> bool {
    cfg.flag("mysql", "binlog")
}

fn endpoint(vm: &VmConf, text: &str) -> Option<SocketAddrV4> {
    let (host, port) = text.rsplit_once(':').unwrap_or((text, "3306"));
    Some(SocketAddrV4::new(vm.resolve(host)?, port.parse().ok()?))
}
