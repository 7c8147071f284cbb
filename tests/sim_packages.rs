//! The simulated package tools: the fake packagecloud repository, apt and yum installs,
//! local package files, and what a VM of the other family sees.

mod sim_support;
use sim_support::*;

#[test]
fn apt_with_the_right_token_installs_the_newest_version_and_says_thank_you_for_installing() {
    let vm = SimVm::new("app-1", "ubuntu-18.04", &[]);
    vm.write_apt_source(TOKEN);
    let (code, out, _) = vm.sh("apt-get", &["update"]);
    assert_eq!(code, 0);
    assert!(
        !out.contains(TOKEN),
        "the token must never be printed:\n{out}"
    );
    let (code, out, _) = vm.sh("apt-get", &["install", "scalr-server"]);
    assert_eq!(code, 1, "without -y and no answer, apt aborts");
    assert!(
        out.trim_end()
            .ends_with("Do you want to continue? [Y/n] \nAbort."),
        "{out}"
    );
    let (code, out, err) = vm.sh("apt-get", &["-qqy", "install", "scalr-server"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_contains(&out, "Unpacking scalr-server (8.0.1-1) ...");
    assert_contains(&out, "Thank you for installing Scalr!");
    assert_contains(&out, "sudo scalr-server-wizard");
    let (code, version, _) = vm.sh("dpkg-query", &["-W", "-f=${Version}", "scalr-server"]);
    assert_eq!((code, version.as_str()), (0, "8.0.1-1"));
    for tool in [
        "scalr-server-ctl",
        "scalr-server-manage",
        "scalr-server-wizard",
        "kickstart-replication",
    ] {
        assert!(
            vm.path(&format!("/opt/scalr-server/bin/{tool}"))
                .is_symlink(),
            "{tool}"
        );
    }
    for dir in ["embedded", "etc", "var/log"] {
        assert!(vm.exists(&format!("/opt/scalr-server/{dir}")), "{dir}");
    }
}

#[test]
fn a_wrong_token_is_refused_with_401_and_the_package_cannot_be_found() {
    let vm = SimVm::new("app-1", "ubuntu-16.04", &[]);
    vm.write_apt_source("not-the-token");
    let (code, out, err) = vm.sh("apt-get", &["update"]);
    assert_eq!(code, 100);
    assert_contains(&out, "401  Unauthorized");
    assert_contains(&err, "E: Failed to fetch https://packagecloud.io/scalr/scalr-server-ee/ubuntu/dists/bionic/InRelease  401  Unauthorized");
    assert!(!err.contains("not-the-token") && !out.contains("not-the-token"));
    let (code, _, err) = vm.sh("apt-get", &["install", "-y", "scalr-server"]);
    assert_eq!(code, 100);
    assert_contains(&err, "E: Unable to locate package scalr-server");
    assert!(!vm.exists("/opt/scalr-server/bin"));
}

#[test]
fn installing_before_the_repository_is_set_up_cannot_locate_the_package() {
    let vm = SimVm::new("app-1", "ubuntu-18.04", &[]);
    let (code, _, err) = vm.sh("apt-get", &["install", "-y", "scalr-server"]);
    assert_eq!(code, 100);
    assert_contains(&err, "Unable to locate package scalr-server");
    let (code, _, err) = vm.sh("dpkg-query", &["-W", "-f=${Version}", "scalr-server"]);
    assert_eq!(code, 1);
    assert_contains(&err, "dpkg-query: no packages found matching scalr-server");
}

#[test]
fn a_pinned_version_is_honoured_and_a_missing_one_is_an_error() {
    let vm = SimVm::new("app-1", "ubuntu-18.04", &[]);
    vm.write_apt_source(TOKEN);
    assert_eq!(vm.sh("apt-get", &["update"]).0, 0);
    let (code, _, err) = vm.sh("apt-get", &["install", "-y", "scalr-server=9.9.9-1"]);
    assert_eq!(code, 100);
    assert_contains(
        &err,
        "E: Version '9.9.9-1' for 'scalr-server' was not found",
    );
    let (code, out, _) = vm.sh("apt-get", &["install", "-y", "scalr-server=7.15.2-1"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        vm.sh("dpkg-query", &["-W", "-f=${Version}", "scalr-server"])
            .1,
        "7.15.2-1"
    );
}

#[test]
fn an_upgrade_after_the_secrets_exist_says_thank_you_for_updating() {
    let vm = SimVm::new("app-1", "ubuntu-18.04", &[]);
    vm.write_apt_source(TOKEN);
    assert_eq!(vm.sh("apt-get", &["update"]).0, 0);
    assert_eq!(
        vm.sh("apt-get", &["install", "-y", "scalr-server=8.0.0-1"])
            .0,
        0
    );
    vm.write("/etc/scalr-server/scalr-server-secrets.json", "{}");
    let (code, out, _) = vm.sh("apt-get", &["install", "-y", "scalr-server"]);
    assert_eq!(code, 0, "{out}");
    assert_contains(&out, "Unpacking scalr-server (8.0.1-1) over (8.0.0-1) ...");
    assert_contains(&out, "Thank you for updating Scalr!");
    assert_contains(&out, "sudo scalr-server-ctl reconfigure");
    let (code, out, _) = vm.sh("apt-get", &["install", "-y", "scalr-server"]);
    assert_eq!(code, 0);
    assert_contains(
        &out,
        "scalr-server is already the newest version (8.0.1-1).",
    );
}

#[test]
fn yum_checks_the_token_and_installs_a_pinned_version() {
    let vm = SimVm::new("db-1", "centos-7", &[]);
    vm.write_yum_repo("wrong");
    let (code, _, err) = vm.sh("yum", &["-q", "makecache", "-y"]);
    assert_eq!(code, 1);
    assert_contains(&err, "[Errno 14] HTTPS Error 401 - Unauthorized");
    let (code, _, err) = vm.sh("yum", &["install", "-y", "scalr-server"]);
    assert_eq!(code, 1);
    assert_contains(&err, "HTTPS Error 401 - Unauthorized");

    vm.write_yum_repo(TOKEN);
    let (code, out, err) = vm.sh("yum", &["-q", "makecache", "-y"]);
    assert_eq!((code, out.as_str()), (0, ""), "{err}");
    let (code, out, err) = vm.sh("yum", &["install", "-y", "scalr-server-9.0.0-1"]);
    assert_eq!(code, 1);
    assert_contains(&out, "No package scalr-server-9.0.0-1 available.");
    assert_contains(&err, "Error: Nothing to do");
    let (code, out, err) = vm.sh("yum", &["install", "-y", "scalr-server-8.0.0-1"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_contains(&out, "Thank you for installing Scalr!");
    assert_contains(&out, "Complete!");
    let (code, out, _) = vm.sh(
        "rpm",
        &["-q", "--qf", "%{VERSION}-%{RELEASE}", "scalr-server"],
    );
    assert_eq!((code, out.as_str()), (0, "8.0.0-1"));
}

#[test]
fn yum_without_the_repository_has_no_scalr_package_and_rpm_says_not_installed() {
    let vm = SimVm::new("db-1", "centos-6", &[]);
    let (code, out, _) = vm.sh("yum", &["install", "-y", "scalr-server"]);
    assert_eq!(code, 1);
    assert_contains(&out, "No package scalr-server available.");
    let (code, out, _) = vm.sh("rpm", &["-q", "scalr-server"]);
    assert_eq!(code, 1);
    assert_contains(&out, "package scalr-server is not installed");
}

#[test]
fn local_package_files_install_only_when_they_are_the_labs_fake_packages() {
    let deb_vm = SimVm::new("app-1", "debian-8", &[]);
    let files = tempfile::tempdir().unwrap();
    let deb = files.path().join("scalr-server_8.0.0-1_amd64.deb");
    std::fs::write(&deb, "SCALR-LAB-PACKAGE 8.0.0\n").unwrap();
    let junk = files.path().join("scalr-server_8.0.1-1_amd64.deb");
    std::fs::write(&junk, "this is not a package\n").unwrap();
    let (code, _, err) = deb_vm.sh("dpkg", &["-i", junk.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_contains(&err, "is not a Debian format archive");
    let (code, out, err) = deb_vm.sh("dpkg", &["-i", deb.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    assert_contains(&out, "Setting up scalr-server (8.0.0-1) ...");

    let rpm_vm = SimVm::new("db-1", "rhel-7", &[]);
    let rpm = files.path().join("scalr-server-8.0.1-1.x86_64.rpm");
    std::fs::write(&rpm, "SCALR-LAB-PACKAGE 8.0.1\n").unwrap();
    let (code, _, err) = rpm_vm.sh("rpm", &["-Uvh", deb.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_contains(&err, "not an rpm package");
    let (code, out, err) = rpm_vm.sh("rpm", &["-Uvh", rpm.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        rpm_vm
            .sh("rpm", &["-q", "--qf", "%{VERSION}", "scalr-server"])
            .1,
        "8.0.1"
    );
}

#[test]
fn the_other_familys_tools_and_uninstalled_scalr_commands_do_not_exist() {
    let vm = SimVm::new("app-1", "ubuntu-18.04", &[]);
    let (code, _, err) = vm.sh("yum", &["install", "-y", "scalr-server"]);
    assert_eq!(code, 127);
    assert_contains(&err, "bash: yum: command not found");
    let (code, _, err) = vm.sh("scalr-server-ctl", &["reconfigure"]);
    assert_eq!(code, 127);
    assert_contains(&err, "bash: scalr-server-ctl: command not found");
    let rpm_vm = SimVm::new("db-1", "fedora-30", &[]);
    assert_eq!(rpm_vm.sh("apt-get", &["update"]).0, 127);
}

#[test]
fn an_unsupported_os_gets_404_from_packagecloud() {
    let vm = SimVm::new("app-1", "ubuntu-18.04", &[]);
    vm.write(
        "/etc/apt/sources.list.d/scalr_scalr-server-ee.list",
        &format!("deb https://{TOKEN}:@packagecloud.io/scalr/scalr-server-ee/ubuntu/ focal main\n"),
    );
    let (code, out, err) = vm.sh("apt-get", &["update"]);
    assert_eq!(code, 100);
    assert_contains(&out, "404  Not Found");
    assert_contains(&err, "does not have a Release file");
}

#[test]
fn a_too_small_opt_scalr_server_makes_the_install_fail_with_no_space_left() {
    // A private mount namespace holds a 1 MiB tmpfs, as the lab's per-VM disk; it vanishes with
    // the process, so nothing is left mounted.
    let vm = SimVm::new("app-1", "ubuntu-18.04", &[]);
    vm.write_apt_source(TOKEN);
    assert_eq!(vm.sh("apt-get", &["update"]).0, 0);
    let opt = vm.path("/opt/scalr-server");
    std::fs::create_dir_all(&opt).unwrap();
    let apt = vm.command("apt-get", &[]).get_program().to_owned();
    let out = std::process::Command::new("unshare")
        .args([
            "-m",
            "--propagation",
            "private",
            "sh",
            "-c",
            "mount -t tmpfs -o size=1m tmpfs \"$1\" && exec \"$2\" install -y scalr-server",
            "sh",
        ])
        .arg(&opt)
        .arg(&apt)
        .env("SCALR_SIM_ROOT", &vm.root)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(100), "{err}");
    assert_contains(&err, "No space left on device");
    assert_contains(
        &err,
        "E: Sub-process /usr/bin/dpkg returned an error code (1)",
    );
    assert_eq!(
        vm.sh("dpkg-query", &["-W", "scalr-server"]).0,
        1,
        "a failed unpack is not recorded as installed"
    );
}

#[test]
fn yum_install_reuses_a_fresh_makecache_and_refreshes_a_stale_or_foreign_one() {
    let vm = SimVm::new("db-1", "centos-7", &[]);
    vm.write_yum_repo(TOKEN);
    assert_eq!(vm.sh("yum", &["-q", "makecache", "-y"]).0, 0);
    // packagecloud publishes 9.0.0 after the makecache.
    let conf = vm.read("/etc/scalr-lab/vm.toml");
    vm.write(
        "/etc/scalr-lab/vm.toml",
        &conf.replace("\"8.0.1\"]", "\"8.0.1\", \"9.0.0\"]"),
    );
    // Like real yum, the cache is younger than metadata_expire (default 6 h): not downloaded again.
    let (code, out, _) = vm.sh("yum", &["install", "-y", "scalr-server-9.0.0-1"]);
    assert_eq!(code, 1, "{out}");
    assert_contains(&out, "No package scalr-server-9.0.0-1 available.");

    // A cache from another token is not this repository's: fetched again (and refused).
    vm.write_yum_repo("another-token");
    let (code, _, err) = vm.sh("yum", &["install", "-y", "scalr-server-9.0.0-1"]);
    assert_eq!(code, 1);
    assert_contains(&err, "HTTPS Error 401 - Unauthorized");

    // A cache older than the repo file's metadata_expire is fetched again.
    vm.write_yum_repo(TOKEN);
    assert_eq!(vm.sh("yum", &["-q", "makecache", "-y"]).0, 0);
    let index = vm.read("/var/lib/scalr-lab/repo-index.toml");
    let at = index
        .lines()
        .find_map(|l| l.strip_prefix("refreshed_at = "))
        .expect("the refresh time is recorded");
    let stale = at.parse::<u64>().unwrap() - 301;
    vm.write(
        "/var/lib/scalr-lab/repo-index.toml",
        &index.replace(at, &stale.to_string()),
    );
    let repo = vm.read("/etc/yum.repos.d/scalr_scalr-server-ee.repo");
    vm.write(
        "/etc/yum.repos.d/scalr_scalr-server-ee.repo",
        &format!("{repo}metadata_expire=300\n"),
    );
    let (code, out, err) = vm.sh("yum", &["install", "-y", "scalr-server-9.0.0-1"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_contains(&out, "Complete!");
}
