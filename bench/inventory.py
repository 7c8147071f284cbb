"""The Ansible inventory for a lab profile: the same hosts, waves and files scalr-installer uses.

Used by bench/run. Reads the profile TOML the lab wrote and the `scalr-installer render` output,
and writes a YAML (JSON) inventory whose groups are the reconfigure waves. Nothing secret goes
into the inventory: the packagecloud token is read by the playbook from the environment.
"""

import json
import tomllib
from pathlib import Path

YUM_OSES = {"rhel-6", "rhel-7", "centos-6", "centos-7"}
DISTS = {
    "rhel-6": ("el", "6"), "centos-6": ("el", "6"),
    "rhel-7": ("el", "7"), "centos-7": ("el", "7"),
    "debian-7": ("debian", "wheezy"), "debian-8": ("debian", "jessie"),
    "ubuntu-14.04": ("ubuntu", "trusty"), "ubuntu-16.04": ("ubuntu", "xenial"),
    "ubuntu-18.04": ("ubuntu", "bionic"),
}
HA_MODULES = {
    "app": ["proxy", "app", "session"],
    "worker": ["worker", "rabbitmq"],
    "influxdb": ["influxdb"],
    "db-master": ["main-db", "analytics-db"],
    "db-slave": ["main-db", "analytics-db"],
}
CONFIG_FILES = ["scalr-server.rb", "scalr-server-local.rb", "scalr-server-secrets.json", "license.json"]
STATE_DIR = "/opt/scalr-server/var/lib/scalr-bench-ansible"


def repo_file(os_key: str, repository: str):
    """Path and contents (with an @TOKEN@ placeholder) of the file packagecloud's script writes,
    byte for byte what scalr-installer's repository phase writes."""
    slug = repository.replace("/", "_")
    kind, dist = DISTS[os_key]
    if os_key in YUM_OSES:
        return (f"/etc/yum.repos.d/{slug}.repo",
                f"[{slug}]\nname={slug}\nbaseurl=https://@TOKEN@:@packagecloud.io/{repository}/el/{dist}/$basearch\n"
                "repo_gpgcheck=1\ngpgcheck=0\nenabled=1\n"
                f"gpgkey=https://packagecloud.io/{repository}/gpgkey\nsslverify=1\n"
                "sslcacert=/etc/pki/tls/certs/ca-bundle.crt\nmetadata_expire=300\n")
    return (f"/etc/apt/sources.list.d/{slug}.list",
            f"deb https://@TOKEN@:@packagecloud.io/{repository}/{kind}/ {dist} main\n")


def host_modules(profile: dict, host: dict) -> list:
    if profile["layout"] == "compact":
        return ["proxy", "app", "session", "worker", "rabbitmq", "influxdb", "main-db", "analytics-db"]
    if profile["layout"] == "ha":
        return HA_MODULES[host["role"]]
    return host["modules"]


def db_role(profile: dict, host: dict) -> str:
    if "main-db" not in host_modules(profile, host):
        return "none"
    if profile["layout"] == "ha":
        return "master" if host["role"] == "db-master" else "slave"
    return "slave" if host.get("db_replica") else "master"


def waves(profile: dict) -> dict:
    """The same rule as Deployment::waves: active DB, replica, worker, everything else."""
    groups = {"wave_db_master": [], "wave_db_slave": [], "wave_worker": [], "wave_rest": []}
    for host in profile["hosts"]:
        role = db_role(profile, host)
        if role == "master":
            groups["wave_db_master"].append(host["name"])
        elif role == "slave":
            groups["wave_db_slave"].append(host["name"])
        elif "worker" in host_modules(profile, host):
            groups["wave_worker"].append(host["name"])
        else:
            groups["wave_rest"].append(host["name"])
    return groups


def inventory(profile_path: Path, rendered: Path) -> dict:
    profile = tomllib.loads(profile_path.read_text())
    version = profile["scalr"]["version"]
    repository = profile["package"].get("repository", "scalr/scalr-server-ee")
    ssh = profile.get("ssh", {})
    slave = next((h for h in profile["hosts"] if db_role(profile, h) == "slave"), None)
    hostvars = {}
    for host in profile["hosts"]:
        os_key = host["os"]
        yum = os_key in YUM_OSES
        repo_path, repo_template = repo_file(os_key, repository)
        hv = {
            "ansible_host": host["address"],
            "ansible_user": ssh.get("user", "root"),
            "ansible_port": ssh.get("port", 22),
            "modules": host_modules(profile, host),
            "state_dir": STATE_DIR,
            "rendered_dir": str(rendered / host["name"] / "etc" / "scalr-server"),
            "config_files": CONFIG_FILES,
            "repo_path": repo_path,
            "repo_template": repo_template,
            "package_release": f"{version}-1",
            "version_query": "rpm -q --qf '%{VERSION}-%{RELEASE}' scalr-server" if yum
            else "dpkg-query -W -f='${Version}' scalr-server",
            "update_command": "yum -q makecache -y" if yum else "apt-get update",
            "install_command": f"yum install -y scalr-server-{version}-1" if yum
            else f"apt-get install -y scalr-server={version}-1",
        }
        if ssh.get("key"):
            hv["ansible_ssh_private_key_file"] = ssh["key"]
        if slave is not None and db_role(profile, host) == "master":
            hv["replication_slave"] = slave.get("private_address", slave["address"])
        hostvars[host["name"]] = hv
    children = {name: {"hosts": {h: {} for h in hosts}} for name, hosts in waves(profile).items()}
    return {"all": {"children": {"scalr": {"hosts": hostvars, "children": children}}}}


def write(profile_path: Path, rendered: Path, out: Path) -> None:
    out.write_text(json.dumps(inventory(profile_path, rendered), indent=1))
