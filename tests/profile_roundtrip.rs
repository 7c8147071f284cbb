//! Any profile the model can express survives a save and a load unchanged.

use proptest::prelude::*;
use scalr_installer::profile::*;
use scalr_installer::topology::{Module, OsId};
use std::path::PathBuf;

fn name() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9-]{0,10}[a-z0-9]"
}

fn host() -> impl Strategy<Value = HostSpec> {
    (
        name(),
        "[a-z]{1,8}\\.example\\.test",
        proptest::option::of("198\\.51\\.100\\.[1-9]"),
        proptest::option::of(prop_oneof![
            Just(HaRole::App),
            Just(HaRole::Worker),
            Just(HaRole::DbSlave)
        ]),
        proptest::collection::vec(proptest::sample::select(Module::ALL.to_vec()), 0..4),
        any::<bool>(),
        proptest::option::of(proptest::sample::select(OsId::ALL.to_vec())),
        proptest::option::of(1u16..),
    )
        .prop_map(
            |(name, address, private_address, role, modules, db_replica, os, port)| HostSpec {
                name,
                address,
                private_address,
                role,
                modules,
                db_replica,
                os,
                ssh: HostSsh {
                    port,
                    ..HostSsh::default()
                },
            },
        )
}

fn profile() -> impl Strategy<Value = Profile> {
    (
        name(),
        prop_oneof![
            Just(Layout::Compact),
            Just(Layout::Ha),
            Just(Layout::Custom)
        ],
        proptest::option::of("[0-9]\\.[0-9]{1,2}\\.[0-9]"),
        any::<bool>(),
        prop_oneof![
            Just(ConnectionPolicy::Public),
            Just(ConnectionPolicy::Local),
            Just(ConnectionPolicy::Auto)
        ],
        proptest::collection::btree_map(
            proptest::sample::select(vec!["ec2".to_string(), "gce".into(), "azure".into()]),
            Just(ConnectionPolicy::Local),
            0..3,
        ),
        proptest::option::of((1u16.., "[A-Z_]{1,10}")),
        proptest::collection::vec(host(), 1..5),
    )
        .prop_map(
            |(name, layout, version, local, policy, clouds, external, hosts)| Profile {
                schema: SCHEMA_VERSION,
                name,
                layout,
                scalr: ScalrSpec {
                    version,
                    license_file: PathBuf::from("licences/my licence.json"),
                },
                package: if local {
                    PackageSpec::Local {
                        files: vec![PathBuf::from("pkg/scalr-server.deb")],
                    }
                } else {
                    PackageSpec::Packagecloud {
                        repository: default_repository(),
                        token_env: default_token_env(),
                    }
                },
                endpoint: EndpointSpec {
                    host: "scalr.example.test".into(),
                    scheme: Scheme::Http,
                    tls_cert: None,
                    tls_key: None,
                },
                network: NetworkSpec {
                    connection_policy: policy,
                    clouds,
                    ip_ranges: vec!["192.0.2.0/24".into()],
                },
                database: DatabaseSpec {
                    external: external.map(|(port, env)| ExternalDatabase {
                        host: "db.example.test".into(),
                        port,
                        password_env: env,
                    }),
                },
                ssh: SshSpec::default(),
                hosts,
            },
        )
}

proptest! {
    #[test]
    fn profiles_round_trip_through_toml(p in profile()) {
        let text = to_toml(&p);
        // Only parsing is under test here; layout and file rules have their own tests.
        let back: Profile = toml::from_str(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert_eq!(back, p);
    }
}

#[test]
fn example_profiles_round_trip_through_toml() {
    for path in ["profiles/ha.example.toml", "profiles/compact.example.toml"] {
        let loaded = load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap();
        let again = parse_checked(&to_toml(&loaded.profile), Some(&loaded.dir)).unwrap();
        assert_eq!(again, loaded.profile);
    }
}
