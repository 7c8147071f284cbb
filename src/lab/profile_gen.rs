//! The profile a lab hands to the installer: every VM as a host, with the lab's key, known_hosts,
//! fake packagecloud token variable and licence, so `install --profile DIR/profile.toml` works.

use crate::lab::plan::{LabLayout, LabLogin};
use crate::lab::sim_files::PINNED_VERSION;
use crate::lab::state::LabState;
use crate::profile::{
    default_repository, default_token_env, DatabaseSpec, EndpointSpec, HostKeyPolicy, HostSpec,
    HostSsh, Layout, NetworkSpec, PackageSpec, Profile, ScalrSpec, Scheme, SshSpec, SudoMode,
    SCHEMA_VERSION,
};
use crate::topology::deployment::ha_role_modules;
use crate::topology::OsId;

pub const PROFILE_FILE: &str = "profile.toml";
pub const LICENSE_FILE: &str = "license.json";
pub const KEY_FILE: &str = "id_ed25519";
pub const KNOWN_HOSTS_FILE: &str = "known_hosts";
pub const TOKEN_FILE: &str = "packagecloud-token";
pub const OPERATOR_PASSWORD_FILE: &str = "operator-password";

/// The profile for a lab, or `None` for a bare lab (plain hosts, no deployment shape).
pub fn lab_profile(state: &LabState, layout: LabLayout, login: LabLogin) -> Option<Profile> {
    let layout = match layout {
        LabLayout::Ha => Layout::Ha,
        LabLayout::Compact => Layout::Compact,
        LabLayout::Scaled(_) => Layout::Custom,
        LabLayout::Bare(_) => return None,
    };
    let dir = &state.dir;
    let hosts = state
        .vms
        .iter()
        .map(|vm| {
            // The custom layout spells out each role's modules; the replica is marked as such.
            let custom = layout == Layout::Custom;
            HostSpec {
                name: vm.name.clone(),
                address: vm.address.clone(),
                private_address: Some(vm.address.clone()),
                role: if custom { None } else { vm.role },
                modules: match vm.role {
                    Some(role) if custom => ha_role_modules(role).to_vec(),
                    _ => Vec::new(),
                },
                db_replica: custom && vm.role == Some(crate::profile::HaRole::DbSlave),
                os: OsId::parse(&vm.os),
                ssh: HostSsh::default(),
            }
        })
        .collect();
    let endpoint = state
        .vms
        .iter()
        .find(|vm| vm.role == Some(crate::profile::HaRole::App))
        .or(state.vms.first())
        .map(|vm| vm.address.clone())
        .unwrap_or_default();
    Some(Profile {
        schema: SCHEMA_VERSION,
        name: format!("lab-127-0-{}", state.block),
        layout,
        scalr: ScalrSpec {
            version: Some(PINNED_VERSION.to_string()),
            license_file: dir.join(LICENSE_FILE),
        },
        package: PackageSpec::Packagecloud {
            repository: default_repository(),
            token_env: default_token_env(),
        },
        endpoint: EndpointSpec {
            host: endpoint,
            scheme: Scheme::Http,
            tls_cert: None,
            tls_key: None,
        },
        network: NetworkSpec::default(),
        database: DatabaseSpec::default(),
        ssh: SshSpec {
            user: login.user().to_string(),
            port: state.port,
            key: Some(dir.join(KEY_FILE)),
            sudo: match login {
                LabLogin::Root => SudoMode::None,
                LabLogin::Deploy => SudoMode::Passwordless,
                LabLogin::Operator => SudoMode::Password,
            },
            host_key_policy: HostKeyPolicy::Strict,
            known_hosts: Some(dir.join(KNOWN_HOSTS_FILE)),
            jump_host: None,
            connect_timeout_secs: 10,
            ..SshSpec::default()
        },
        hosts,
    })
}

/// A lab licence: the simulator does not check it, the installer only copies it to every VM.
pub fn lab_license(lab_id: &str) -> String {
    format!(
        "{{\n  \"license_type\": \"scalr-lab\",\n  \"company\": \"scalr-installer lab\",\n  \"id\": \"lab-{lab_id}\",\n  \"note\": \"For the scalr-installer lab's simulated package only; not valid for Scalr Server.\"\n}}\n"
    )
}

/// `DIR/README`: how to reach the VMs by hand and rehearse an install.
pub fn readme(state: &LabState, has_profile: bool) -> String {
    let dir = state.dir.display();
    let first = state
        .vms
        .first()
        .map(|vm| vm.address.as_str())
        .unwrap_or("127.0.N.11");
    let port = if state.port == 22 {
        String::new()
    } else {
        format!(" -p {}", state.port)
    };
    let mut out = format!(
        "scalr-installer lab in {dir}\n\n\
         VMs (name  address  os  role):\n"
    );
    for vm in &state.vms {
        out.push_str(&format!(
            "  {:<10} {:<13} {:<13} {}\n",
            vm.name,
            vm.address,
            vm.os,
            vm.role.map(role_key).unwrap_or_default()
        ));
    }
    out.push_str(&format!(
        "\nLog in (users: root; deploy = sudo without password; operator = sudo with the password in {dir}/{OPERATOR_PASSWORD_FILE}):\n\
         \x20 ssh -i {dir}/{KEY_FILE} -o UserKnownHostsFile={dir}/{KNOWN_HOSTS_FILE}{port} root@{first}\n\
         \x20 scalr-installer lab ssh --dir {dir} NAME [-- COMMAND]\n"
    ));
    if has_profile {
        out.push_str(&format!(
            "\nRehearse an install:\n\
             \x20 export SCALR_PACKAGECLOUD_TOKEN=\"$(cat {dir}/{TOKEN_FILE})\"\n\
             \x20 scalr-installer check --profile {dir}/{PROFILE_FILE}\n\
             \x20 scalr-installer apply --profile {dir}/{PROFILE_FILE}\n"
        ));
    }
    out.push_str(&format!(
        "\nFaults: scalr-installer lab fault --dir {dir} --host NAME --stop-sshd|--start-sshd|--freeze|--thaw|--reconfigure-fail-at N|--reconfigure-hang|--reconfigure-slow F|--clear\n\
         Stop everything and delete this directory: scalr-installer lab down --dir {dir}\n"
    ));
    out
}

/// The role as profiles spell it (`db-master`).
pub fn role_key(role: crate::profile::HaRole) -> String {
    serde_json::to_value(role)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

pub fn profile_toml(profile: &Profile) -> String {
    format!(
        "# Written by `scalr-installer lab up` for the lab VMs in this directory.\n{}",
        toml::to_string(profile).expect("profile serialises")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::hardware::Hardware;
    use crate::lab::plan::HA_ROLES;
    use crate::lab::state::VmState;
    use std::path::PathBuf;

    fn ha_state() -> LabState {
        LabState {
            lab_id: "abcd".into(),
            dir: PathBuf::from("/labs/one"),
            block: 3,
            port: 22,
            layout: "ha".into(),
            tool_binary: PathBuf::from("/bin/true"),
            vms: HA_ROLES
                .iter()
                .enumerate()
                .map(|(i, (name, role))| VmState {
                    name: name.to_string(),
                    address: format!("127.0.3.{}", 11 + i),
                    os: if i == 5 {
                        "fedora-30".into()
                    } else {
                        "centos-7".into()
                    },
                    role: Some(*role),
                    hardware: Hardware::recommended(Some(*role)),
                    holder_pid: 1,
                    sshd_pid: None,
                    mnt_ns: 1,
                    mounts: vec![],
                })
                .collect(),
        }
    }

    #[test]
    fn ha_profile_lists_the_vms_in_role_order_and_round_trips_through_toml() {
        let profile = lab_profile(&ha_state(), LabLayout::Ha, LabLogin::Root).unwrap();
        assert_eq!(profile.layout, Layout::Ha);
        assert_eq!(profile.hosts[0].name, "app-1");
        assert_eq!(profile.hosts[0].private_address(), "127.0.3.11");
        assert_eq!(profile.endpoint.host, "127.0.3.11");
        assert_eq!(profile.ssh.host_key_policy, HostKeyPolicy::Strict);
        assert_eq!(profile.ssh.key, Some(PathBuf::from("/labs/one/id_ed25519")));
        assert_eq!(profile.scalr.version.as_deref(), Some(PINNED_VERSION));
        // An unsupported OS is left for preflight to discover.
        assert_eq!(profile.hosts[5].os, None);
        let text = profile_toml(&profile);
        let back: Profile = toml::from_str(&text).unwrap();
        assert_eq!(back, profile);
    }

    #[test]
    fn non_root_logins_carry_their_sudo_mode() {
        let p = lab_profile(&ha_state(), LabLayout::Ha, LabLogin::Operator).unwrap();
        assert_eq!(
            (p.ssh.user.as_str(), p.ssh.sudo),
            ("operator", SudoMode::Password)
        );
        let p = lab_profile(&ha_state(), LabLayout::Ha, LabLogin::Deploy).unwrap();
        assert_eq!(
            (p.ssh.user.as_str(), p.ssh.sudo),
            ("deploy", SudoMode::Passwordless)
        );
        assert!(lab_profile(&ha_state(), LabLayout::Bare(6), LabLogin::Root).is_none());
    }

    #[test]
    fn scaled_profile_is_a_valid_custom_layout_with_the_ha_waves() {
        let mut state = ha_state();
        state.vms[5].os = "centos-7".into();
        let extra = state.vms[0].clone();
        for i in 3..=5 {
            let mut vm = extra.clone();
            vm.name = format!("app-{i}");
            vm.address = format!("127.0.3.{}", 20 + i);
            state.vms.insert(0, vm);
        }
        let profile = lab_profile(&state, LabLayout::Scaled(9), LabLogin::Root).unwrap();
        assert_eq!(profile.layout, Layout::Custom);
        assert!(profile.hosts.iter().all(|h| h.role.is_none()));
        let deployment = crate::topology::Deployment::resolve(&profile).unwrap();
        assert_eq!(
            deployment.waves(),
            [
                vec!["db-master".to_string()],
                vec!["db-slave".to_string()],
                vec!["worker".to_string()],
                vec!["app-5", "app-4", "app-3", "app-1", "app-2", "influxdb"]
                    .into_iter()
                    .map(String::from)
                    .collect(),
            ]
        );
    }
}
