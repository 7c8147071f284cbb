//! `yum` and `rpm` as the installer uses them on RHEL and CentOS VMs.

use super::install::{self, PackageKind};
use super::repo::{self, FetchError, Index, Source};
use super::root::SimRoot;
use super::term::{confirm, is_root, unescape};
use super::vmconf::VmConf;
use std::path::Path;
use std::time::{Duration, SystemTime};

const PACKAGE: &str = "scalr-server";
const REPO_ID: &str = "scalr_scalr-server-ee";
const UNPACK_TIME: Duration = Duration::from_millis(400);

pub fn yum(root: &SimRoot, args: &[String]) -> u8 {
    let mut yes = false;
    let mut quiet = false;
    let mut enablerepo = Vec::new();
    let mut words = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--assumeyes" => yes = true,
            "--quiet" => quiet = true,
            a if super::pkg_apt::is_short_cluster_with(a, 'y')
                || super::pkg_apt::is_short_cluster_with(a, 'q') =>
            {
                yes |= a.contains('y');
                quiet |= a.contains('q');
            }
            "-e" | "-d" | "-c" => {
                it.next();
            }
            a if a.starts_with("--enablerepo=") => {
                enablerepo.push(a["--enablerepo=".len()..].trim_matches('\'').to_string())
            }
            a if a.starts_with('-') => {}
            a => words.push(a.to_string()),
        }
    }
    let Some((command, packages)) = words.split_first() else {
        eprintln!("You need to give some command; try `yum -q makecache -y` or `yum install -y scalr-server`");
        return 1;
    };
    if !is_root() {
        eprintln!("You need to be root to perform this command.");
        return 1;
    }
    let vm = match VmConf::load(root) {
        Ok(vm) => vm,
        Err(e) => {
            eprintln!("Error: {e}");
            return 1;
        }
    };
    match command.as_str() {
        "makecache" => {
            let source = repo::read_yum(root);
            if source.is_none() && enablerepo.iter().any(|r| r == REPO_ID) {
                eprintln!("Error getting repository data for {REPO_ID}, repository not found");
                return 1;
            }
            let Some(source) = source else { return 0 };
            match refresh(root, &source, &vm) {
                Ok(_) => {
                    if !quiet {
                        println!("Metadata Cache Created");
                    }
                    0
                }
                Err(code) => code,
            }
        }
        "install" | "update" | "upgrade" => install(root, &vm, packages, yes, quiet),
        other => {
            eprintln!("No such command: {other}. Please use /usr/bin/yum --help");
            1
        }
    }
}

/// Fetches the repository metadata (yum does this itself before any install) and records it.
fn refresh(root: &SimRoot, source: &Source, vm: &VmConf) -> Result<Vec<String>, u8> {
    std::thread::sleep(Duration::from_millis(150));
    let url = format!(
        "{}/{}/x86_64/repodata/repomd.xml",
        source.public_url(),
        source.dist
    );
    let errno14 = match repo::fetch(source, vm) {
        Ok(versions) => {
            if let Err(e) = Index::fetched(source, versions.clone()).write(root) {
                eprintln!("Error: {e}");
                return Err(1);
            }
            return Ok(versions);
        }
        Err(FetchError::Unauthorized) => "HTTPS Error 401 - Unauthorized".to_string(),
        Err(FetchError::NotFound) => "HTTPS Error 404 - Not Found".to_string(),
        Err(FetchError::Resolve(host)) => {
            format!("curl#6 - \"Could not resolve host: {host}; Unknown error\"")
        }
    };
    let _ = std::fs::remove_file(root.path("/var/lib/scalr-lab/repo-index.toml"));
    eprintln!("{url}: [Errno 14] {errno14}");
    eprintln!("Trying other mirror.");
    eprintln!();
    eprintln!(" One of the configured repositories failed ({REPO_ID}),");
    eprintln!(" and yum doesn't have enough cached data to continue.");
    eprintln!();
    eprintln!("failure: repodata/repomd.xml from {REPO_ID}: [Errno 256] No more mirrors to try.");
    eprintln!("{url}: [Errno 14] {errno14}");
    Err(1)
}

/// What yum install uses without downloading: the index a `makecache` (or an earlier install)
/// recorded from this same source, while younger than the repo file's `metadata_expire`.
fn cached_versions(root: &SimRoot, source: &Source) -> Option<Vec<String>> {
    let max_age = repo::yum_metadata_expire(root);
    Index::read(root)
        .filter(|index| index.is_fresh(source, max_age, SystemTime::now()))
        .map(|index| index.versions)
}

fn install(root: &SimRoot, vm: &VmConf, packages: &[String], yes: bool, quiet: bool) -> u8 {
    if !quiet {
        println!("Loaded plugins: fastestmirror");
    }
    let mut target = None;
    for spec in packages {
        let pin = spec
            .strip_prefix(PACKAGE)
            .map(|rest| rest.strip_prefix('-').unwrap_or(rest));
        let Some(pin) = pin else {
            println!("Package {spec} already installed and latest version");
            continue;
        };
        let Some(source) = repo::read_yum(root) else {
            println!("No package {spec} available.");
            eprintln!("Error: Nothing to do");
            return 1;
        };
        let versions = match cached_versions(root, &source) {
            Some(v) => v,
            None => match refresh(root, &source, vm) {
                Ok(v) => v,
                Err(code) => return code,
            },
        };
        let version = if pin.is_empty() {
            versions
                .iter()
                .max_by(|a, b| install::compare_versions(a, b))
                .cloned()
        } else {
            versions
                .iter()
                .find(|v| v.as_str() == pin || install::full_version(v) == pin)
                .cloned()
        };
        let Some(version) = version else {
            println!("No package {spec} available.");
            eprintln!("Error: Nothing to do");
            return 1;
        };
        target = Some(version);
    }
    let Some(version) = target else {
        println!("Nothing to do");
        return 0;
    };
    let full = install::full_version(&version);
    let installed = install::installed_version(root);
    if let Some(old) = &installed {
        if install::compare_versions(old, &full).is_ge() {
            if *old == full {
                println!("Package {PACKAGE}-{full}.x86_64 already installed and latest version");
            } else {
                println!("Package matching {PACKAGE}-{full}.x86_64 already installed. Checking for update.");
            }
            println!("Nothing to do");
            return 0;
        }
    }
    let verb = if installed.is_some() {
        "Updating"
    } else {
        "Installing"
    };
    if !quiet {
        println!("Resolving Dependencies");
        println!("--> Running transaction check");
        let will = if installed.is_some() {
            "be an update"
        } else {
            "be installed"
        };
        println!("---> Package {PACKAGE}.x86_64 0:{full} will {will}");
        println!("--> Finished Dependency Resolution\n\nDependencies Resolved\n");
        println!(" Package            Arch        Version        Repository                Size");
        println!("{verb}:\n {PACKAGE}       x86_64      {full}        {REPO_ID}     412 M\n");
        println!("Transaction Summary");
        println!(
            "{} 1 Package\n",
            if installed.is_some() {
                "Upgrade "
            } else {
                "Install "
            }
        );
        println!("Total download size: 412 M");
        println!("Installed size: 1.2 G");
    }
    if !yes && !confirm("Is this ok [y/d/N]: ", false) {
        println!("Exiting on user command");
        return 1;
    }
    if !quiet {
        println!("Downloading packages:");
    }
    std::thread::sleep(UNPACK_TIME);
    if !quiet {
        println!("Running transaction check\nRunning transaction test\nTransaction test succeeded\nRunning transaction");
        println!("  {verb} : {PACKAGE}-{full}.x86_64                                         1/1");
    }
    match install::unpack(root, &version) {
        Ok(done) => {
            print!("{}", done.message);
            if !quiet {
                println!("  Verifying  : {PACKAGE}-{full}.x86_64                                         1/1\n");
                let what = if installed.is_some() {
                    "Updated"
                } else {
                    "Installed"
                };
                println!("{what}:\n  {PACKAGE}.x86_64 0:{full}\n\nComplete!");
            }
            0
        }
        Err(e) => {
            eprintln!("Error unpacking rpm package {PACKAGE}-{full}.x86_64");
            eprintln!("error: unpacking of archive failed: {e}");
            1
        }
    }
}

pub fn rpm(root: &SimRoot, args: &[String]) -> u8 {
    let Some(first) = args.first() else {
        eprintln!("rpm: no operation given (the lab simulates -q and -Uvh)");
        return 1;
    };
    if first.starts_with("-q") {
        let mut format = None;
        let mut names = Vec::new();
        let mut it = args[1..].iter();
        while let Some(arg) = it.next() {
            if arg == "--qf" || arg == "--queryformat" {
                format = it.next().cloned();
            } else if let Some(f) = arg
                .strip_prefix("--qf=")
                .or_else(|| arg.strip_prefix("--queryformat="))
            {
                format = Some(f.to_string());
            } else if !arg.starts_with('-') {
                names.push(arg.clone());
            }
        }
        let mut code = 0;
        for name in names {
            match (name == PACKAGE)
                .then(|| install::installed_version(root))
                .flatten()
            {
                Some(full) => {
                    let version = install::upstream(&full);
                    let release = full.rsplit('-').next().unwrap_or("1");
                    let format = format
                        .clone()
                        .unwrap_or_else(|| "%{NAME}-%{VERSION}-%{RELEASE}.%{ARCH}\\n".to_string());
                    print!(
                        "{}",
                        unescape(&format)
                            .replace("%{NAME}", PACKAGE)
                            .replace("%{VERSION}", version)
                            .replace("%{RELEASE}", release)
                            .replace("%{ARCH}", "x86_64")
                    );
                }
                None => {
                    println!("package {name} is not installed");
                    code = 1;
                }
            }
        }
        return code;
    }
    let upgrade = first.starts_with("-U") || first.starts_with("--upgrade");
    if !(upgrade || first.starts_with("-i") || first == "--install") {
        eprintln!("rpm: unknown option {first} (the lab simulates -q, -Uvh and -ivh)");
        return 1;
    }
    let Some(file) = args[1..].iter().find(|a| !a.starts_with('-')) else {
        eprintln!("rpm: no packages given for install");
        return 1;
    };
    if !is_root() {
        eprintln!(
            "error: can't create transaction lock on /var/lib/rpm/.rpm.lock (Permission denied)"
        );
        return 1;
    }
    let path = Path::new(file);
    if !path.exists() {
        eprintln!("error: open of {file} failed: No such file or directory");
        return 1;
    }
    let Some(version) = install::read_package_file(path, PackageKind::Rpm) else {
        eprintln!("error: {file}: not an rpm package (or package manifest)");
        return 1;
    };
    let full = install::full_version(&version);
    if let Some(old) = install::installed_version(root) {
        if old == full || !upgrade {
            eprintln!("\tpackage {PACKAGE}-{old}.x86_64 is already installed");
            return 1;
        }
        if install::compare_versions(&old, &full).is_gt() {
            eprintln!("\tpackage {PACKAGE}-{old}.x86_64 (which is newer than {PACKAGE}-{full}.x86_64) is already installed");
            return 1;
        }
    }
    println!("Preparing...                          ################################# [100%]");
    println!("Updating / installing...");
    std::thread::sleep(UNPACK_TIME);
    match install::unpack(root, &version) {
        Ok(done) => {
            println!(
                "   1:{PACKAGE}-{full}                 ################################# [100%]"
            );
            print!("{}", done.message);
            0
        }
        Err(e) => {
            eprintln!("error: unpacking of archive failed: {e}");
            1
        }
    }
}
