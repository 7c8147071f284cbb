//! argv[0] dispatch: the installer binary runs as any simulated tool it is linked as.

use super::install;
use super::root::SimRoot;
use super::vmconf::VmConf;
use crate::topology::PackageManager;
use std::path::Path;
use std::process::ExitCode;

/// The tools the simulator provides, by the name they are invoked as.
pub const TOOLS: [&str; 11] = [
    "yum",
    "rpm",
    "apt-get",
    "dpkg",
    "dpkg-query",
    "service",
    "scalr-server-ctl",
    "scalr-server-manage",
    "scalr-server-wizard",
    "kickstart-replication",
    "scalr-lab-sim",
];

/// Runs the simulated tool named by argv[0], or returns `None` when the binary was started
/// under any other name (then it is the installer).
pub fn multicall() -> Option<ExitCode> {
    let argv0 = std::env::args_os().next()?;
    let name = Path::new(&argv0).file_name()?.to_str()?.to_string();
    if !TOOLS.contains(&name.as_str()) {
        return None;
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    Some(ExitCode::from(run(&name, &args, &SimRoot::from_env())))
}

/// Runs one tool; the exit code is the real tool's.
pub fn run(name: &str, args: &[String], root: &SimRoot) -> u8 {
    if let Some(code) = not_on_this_vm(name, root) {
        return code;
    }
    let started = std::time::Instant::now();
    let code = dispatch(name, args, root);
    if is_package_work(name, args) {
        record_package_work(root, name, args, started.elapsed());
    }
    code
}

fn dispatch(name: &str, args: &[String], root: &SimRoot) -> u8 {
    match name {
        "apt-get" => super::pkg_apt::apt_get(root, args),
        "dpkg" => super::pkg_apt::dpkg(root, args),
        "dpkg-query" => super::pkg_apt::dpkg_query(root, args),
        "yum" => super::pkg_yum::yum(root, args),
        "rpm" => super::pkg_yum::rpm(root, args),
        "service" => super::service::service(root, args),
        "scalr-server-ctl" => super::ctl::scalr_server_ctl(root, args),
        "scalr-server-manage" => super::manage::scalr_server_manage(root, args),
        "scalr-server-wizard" => super::wizard::scalr_server_wizard(root, args),
        "kickstart-replication" => super::replication::kickstart_replication(root, args),
        "scalr-lab-sim" => lab_sim(root, args),
        _ => 127,
    }
}

/// Refreshing an index or installing: the package's own work that precedes the first
/// reconfigure, which no installer can do faster. Queries are not.
fn is_package_work(name: &str, args: &[String]) -> bool {
    let first = args.first().map(String::as_str).unwrap_or("");
    match name {
        "apt-get" | "yum" => args.iter().any(|a| {
            matches!(
                a.as_str(),
                "update" | "install" | "makecache" | "upgrade" | "localinstall"
            )
        }),
        "dpkg" => first.starts_with("-i") || first == "--install",
        "rpm" => first.starts_with("-U") || first.starts_with("-i"),
        _ => false,
    }
}

/// `<epoch seconds at the end> <tool> <args> elapsed <seconds>s` in the lab's own state, so the
/// benchmark can count the package's work in the floor no installer can beat.
fn record_package_work(root: &SimRoot, name: &str, args: &[String], took: std::time::Duration) {
    use std::io::Write as _;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64();
    let dir = root.path(super::root::LAB_STATE_DIR);
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join("package-work.log");
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
    {
        let _ = writeln!(
            f,
            "{now:.3} {name} {} elapsed {:.3}s",
            args.join(" "),
            took.as_secs_f64()
        );
    }
}

/// The other package family's tools and the Scalr commands before the package is installed
/// do not exist on a real host; say so the way bash does.
fn not_on_this_vm(name: &str, root: &SimRoot) -> Option<u8> {
    let family = match name {
        "yum" | "rpm" => Some(PackageManager::Yum),
        "apt-get" | "dpkg" | "dpkg-query" => Some(PackageManager::Apt),
        _ => None,
    };
    let missing = match family {
        Some(family) => VmConf::load(root)
            .ok()
            .and_then(|vm| vm.package_manager())
            .is_some_and(|pm| pm != family),
        None => install::BIN_TOOLS.contains(&name) && install::installed_version(root).is_none(),
    };
    if missing {
        eprintln!("bash: {name}: command not found");
        Some(127)
    } else {
        None
    }
}

/// `scalr-lab-sim supervise` runs the supervisor daemon (started by reconfigure).
fn lab_sim(root: &SimRoot, args: &[String]) -> u8 {
    match args.first().map(String::as_str) {
        Some("supervise") => {
            let code = super::supervisor::run_daemon(root);
            if code == ExitCode::SUCCESS {
                0
            } else {
                2
            }
        }
        _ => {
            eprintln!(
                "Usage: scalr-lab-sim supervise   (internal: the lab's simulated supervisord)"
            );
            2
        }
    }
}
