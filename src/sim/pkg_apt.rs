//! `apt-get`, `dpkg` and `dpkg-query` as the installer uses them on Debian and Ubuntu VMs.

use super::install::{self, PackageKind};
use super::repo::{self, FetchError, Index};
use super::root::SimRoot;
use super::term::{confirm, is_root, unescape};
use super::vmconf::VmConf;
use std::path::Path;
use std::time::Duration;

const PACKAGE: &str = "scalr-server";
/// How long downloading and unpacking the package takes.
const UNPACK_TIME: Duration = Duration::from_millis(400);

pub fn apt_get(root: &SimRoot, args: &[String]) -> u8 {
    let mut yes = false;
    let mut allow_downgrades = false;
    let mut words = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--yes" | "--assume-yes" => yes = true,
            a if is_short_cluster_with(a, 'y') => yes = true,
            "--allow-downgrades" => allow_downgrades = true,
            "-o" | "-c" | "-t" => {
                it.next();
            }
            a if a.starts_with('-') => {}
            a => words.push(a.to_string()),
        }
    }
    let Some((command, packages)) = words.split_first() else {
        eprintln!("E: No operation was specified; try `apt-get update` or `apt-get install -y scalr-server`");
        return 100;
    };
    // Root first: vm.toml is root-only, and a non-root caller must see apt's own refusal.
    let vm = || match VmConf::load(root) {
        Ok(vm) => Some(vm),
        Err(e) => {
            eprintln!("E: {e}");
            None
        }
    };
    match command.as_str() {
        "update" if !is_root() => update(root, None),
        "update" => match vm() {
            Some(vm) => update(root, Some(&vm)),
            None => 100,
        },
        "install" => install(root, packages, yes, allow_downgrades),
        other => {
            eprintln!("E: Invalid operation {other}");
            100
        }
    }
}

/// Whether `arg` is a bundle of short options (`-qqy`) that includes `flag`.
pub(crate) fn is_short_cluster_with(arg: &str, flag: char) -> bool {
    arg.strip_prefix('-').is_some_and(|rest| {
        !rest.starts_with('-')
            && rest.chars().all(|c| c.is_ascii_alphabetic())
            && rest.contains(flag)
    })
}

fn update(root: &SimRoot, vm: Option<&VmConf>) -> u8 {
    let Some(vm) = vm.filter(|_| is_root()) else {
        println!("Reading package lists... Done");
        eprintln!(
            "E: Could not open lock file /var/lib/apt/lists/lock - open (13: Permission denied)"
        );
        eprintln!("E: Unable to lock directory /var/lib/apt/lists/");
        return 100;
    };
    let _ = std::fs::remove_file(root.path("/var/lib/scalr-lab/repo-index.toml"));
    let Some(source) = repo::read_apt(root) else {
        println!("Reading package lists... Done");
        return 0;
    };
    let url = source.public_url();
    let dist = &source.dist;
    std::thread::sleep(Duration::from_millis(150));
    match repo::fetch(&source, vm) {
        Ok(versions) => {
            println!("Get:1 {url} {dist} InRelease [23.9 kB]");
            println!(
                "Get:2 {url} {dist}/main amd64 Packages [{} B]",
                1_024 * versions.len()
            );
            println!("Fetched 26.3 kB in 0s (61.2 kB/s)");
            println!("Reading package lists... Done");
            if let Err(e) = Index::fetched(&source, versions).write(root) {
                eprintln!("E: {e}");
                return 100;
            }
            0
        }
        Err(FetchError::Unauthorized) => {
            println!("Err:1 {url} {dist} InRelease");
            println!("  401  Unauthorized");
            println!("Reading package lists... Done");
            eprintln!("E: Failed to fetch {url}/dists/{dist}/InRelease  401  Unauthorized");
            eprintln!("E: The repository '{url} {dist} InRelease' is not signed.");
            100
        }
        Err(FetchError::NotFound) => {
            println!("Err:1 {url} {dist} InRelease");
            println!("  404  Not Found");
            println!("Reading package lists... Done");
            eprintln!("E: The repository '{url} {dist} Release' does not have a Release file.");
            100
        }
        Err(FetchError::Resolve(host)) => {
            println!("Err:1 {url} {dist} InRelease");
            println!("  Temporary failure resolving '{host}'");
            println!("Reading package lists... Done");
            eprintln!("W: Failed to fetch {url}/dists/{dist}/InRelease  Temporary failure resolving '{host}'");
            eprintln!("W: Some index files failed to download. They have been ignored, or old ones used instead.");
            0
        }
    }
}

fn install(root: &SimRoot, packages: &[String], yes: bool, allow_downgrades: bool) -> u8 {
    if !is_root() {
        eprintln!("E: Could not open lock file /var/lib/dpkg/lock-frontend - open (13: Permission denied)");
        eprintln!("E: Unable to acquire the dpkg frontend lock (/var/lib/dpkg/lock-frontend), are you root?");
        return 100;
    }
    println!("Reading package lists... Done");
    println!("Building dependency tree");
    println!("Reading state information... Done");
    let mut target = None;
    for spec in packages {
        let (name, pin) = match spec.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (spec.as_str(), None),
        };
        if name != PACKAGE {
            println!("{name} is already the newest version.");
            continue;
        }
        let source = repo::read_apt(root);
        let index = Index::read(root)
            .filter(|i| source.as_ref().is_some_and(|s| i.source == Index::key(s)));
        let Some(index) = index else {
            eprintln!("E: Unable to locate package {PACKAGE}");
            return 100;
        };
        let version = match pin {
            Some(pin) => match index
                .versions
                .iter()
                .find(|v| install::full_version(v) == pin)
            {
                Some(v) => v.clone(),
                None => {
                    eprintln!("E: Version '{pin}' for '{PACKAGE}' was not found");
                    return 100;
                }
            },
            None => match index
                .versions
                .iter()
                .max_by(|a, b| install::compare_versions(a, b))
            {
                Some(v) => v.clone(),
                None => {
                    eprintln!("E: Package '{PACKAGE}' has no installation candidate");
                    return 100;
                }
            },
        };
        target = Some((version, source.expect("index matched a source")));
    }
    let Some((version, source)) = target else {
        println!("0 upgraded, 0 newly installed, 0 to remove and 0 not upgraded.");
        return 0;
    };
    let full = install::full_version(&version);
    let installed = install::installed_version(root);
    if installed.as_deref() == Some(full.as_str()) {
        println!("{PACKAGE} is already the newest version ({full}).");
        println!("0 upgraded, 0 newly installed, 0 to remove and 0 not upgraded.");
        return 0;
    }
    let downgrade = installed
        .as_deref()
        .is_some_and(|old| install::compare_versions(old, &full).is_gt());
    if downgrade {
        println!("The following packages will be DOWNGRADED:\n  {PACKAGE}");
        println!("0 upgraded, 0 newly installed, 1 downgraded, 0 to remove and 0 not upgraded.");
        if !allow_downgrades {
            eprintln!("E: Packages were downgraded and -y was used without --allow-downgrades.");
            return 100;
        }
    } else if installed.is_some() {
        println!("The following packages will be upgraded:\n  {PACKAGE}");
        println!("1 upgraded, 0 newly installed, 0 to remove and 0 not upgraded.");
    } else {
        println!("The following NEW packages will be installed:\n  {PACKAGE}");
        println!("0 upgraded, 1 newly installed, 0 to remove and 0 not upgraded.");
    }
    println!("Need to get 412 MB of archives.");
    println!("After this operation, 1,231 MB of additional disk space will be used.");
    if !yes && !confirm("Do you want to continue? [Y/n] ", true) {
        println!("Abort.");
        return 1;
    }
    println!(
        "Get:1 {} {}/main amd64 {PACKAGE} amd64 {full} [412 MB]",
        source.public_url(),
        source.dist
    );
    std::thread::sleep(UNPACK_TIME);
    println!("Fetched 412 MB in 2s (206 MB/s)");
    let archive = format!("/var/cache/apt/archives/{PACKAGE}_{full}_amd64.deb");
    unpack(root, &version, &archive, installed.as_deref())
}

/// dpkg's unpack and configure of one archive, with its messages.
fn unpack(root: &SimRoot, version: &str, archive: &str, previous: Option<&str>) -> u8 {
    let full = install::full_version(version);
    if previous.is_none() {
        println!("Selecting previously unselected package {PACKAGE}.");
    }
    println!("(Reading database ... 41873 files and directories currently installed.)");
    println!("Preparing to unpack {archive} ...");
    match previous {
        Some(old) => println!("Unpacking {PACKAGE} ({full}) over ({old}) ..."),
        None => println!("Unpacking {PACKAGE} ({full}) ..."),
    }
    match install::unpack(root, version) {
        Ok(done) => {
            println!("Setting up {PACKAGE} ({full}) ...");
            print!("{}", done.message);
            0
        }
        Err(e) => {
            eprintln!("dpkg: error processing archive {archive} (--unpack):");
            eprintln!(" {e}");
            eprintln!("Errors were encountered while processing:");
            eprintln!(" {archive}");
            eprintln!("E: Sub-process /usr/bin/dpkg returned an error code (1)");
            100
        }
    }
}

pub fn dpkg(root: &SimRoot, args: &[String]) -> u8 {
    match args.first().map(String::as_str) {
        Some("-i" | "--install") => {
            let Some(file) = args.get(1) else {
                eprintln!(
                    "dpkg: error: --install needs at least one package archive file argument"
                );
                return 2;
            };
            if !is_root() {
                eprintln!("dpkg: error: requested operation requires superuser privilege");
                return 2;
            }
            let path = Path::new(file);
            if !path.exists() {
                eprintln!("dpkg: error: cannot access archive '{file}': No such file or directory");
                return 2;
            }
            let Some(version) = install::read_package_file(path, PackageKind::Deb) else {
                eprintln!("dpkg-deb: error: '{file}' is not a Debian format archive");
                eprintln!("dpkg: error processing archive {file} (--install):");
                eprintln!(" dpkg-deb --control subprocess returned error exit status 2");
                eprintln!("Errors were encountered while processing:");
                eprintln!(" {file}");
                return 1;
            };
            let previous = install::installed_version(root);
            match unpack(root, &version, file, previous.as_deref()) {
                0 => 0,
                _ => 1,
            }
        }
        Some("-s" | "--status") => {
            let name = args.get(1).map(String::as_str).unwrap_or("");
            match (name == PACKAGE)
                .then(|| install::installed_version(root))
                .flatten()
            {
                Some(v) => {
                    println!("Package: {PACKAGE}\nStatus: install ok installed\nArchitecture: amd64\nVersion: {v}");
                    0
                }
                None => {
                    eprintln!("dpkg-query: package '{name}' is not installed and no information is available");
                    1
                }
            }
        }
        _ => {
            eprintln!("dpkg: error: need an action option (the lab simulates -i and -s)");
            2
        }
    }
}

pub fn dpkg_query(root: &SimRoot, args: &[String]) -> u8 {
    let mut format = "${binary:Package}\t${Version}\n".to_string();
    let mut names = Vec::new();
    let mut show = false;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        if let Some(f) = arg
            .strip_prefix("--showformat=")
            .or_else(|| arg.strip_prefix("-f="))
        {
            format = f.to_string();
        } else if arg == "-f" || arg == "--showformat" {
            format = it.next().cloned().unwrap_or_default();
        } else if arg == "-W" || arg == "--show" {
            show = true;
        } else if let Some(f) = arg.strip_prefix("-f") {
            format = f.to_string();
        } else if !arg.starts_with('-') {
            names.push(arg.clone());
        }
    }
    if !show {
        eprintln!("dpkg-query: error: need an action option (the lab simulates -W)");
        return 2;
    }
    let mut code = 0;
    for name in names {
        match (name == PACKAGE)
            .then(|| install::installed_version(root))
            .flatten()
        {
            Some(version) => print!(
                "{}",
                unescape(&format)
                    .replace("${Version}", &version)
                    .replace("${binary:Package}", PACKAGE)
                    .replace("${Package}", PACKAGE)
                    .replace("${Status}", "install ok installed")
                    .replace("${db:Status-Abbrev}", "ii ")
            ),
            None => {
                eprintln!("dpkg-query: no packages found matching {name}");
                code = 1;
            }
        }
    }
    code
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_short_options_are_understood() {
        assert!(is_short_cluster_with("-qqy", 'y'));
        assert!(is_short_cluster_with("-y", 'y'));
        assert!(!is_short_cluster_with("--yes", 'y'));
        assert!(!is_short_cluster_with("-q", 'y'));
    }
}
