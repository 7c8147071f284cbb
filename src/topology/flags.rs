//! How Scalr's modules map onto the real package's `scalr-server.rb` enable flags
//! (reference §1.1–1.3).

use crate::topology::Module;
use std::collections::BTreeSet;

/// The `scalr-server.rb` attribute groups a module turns on with `<group>[:enable] = true`.
///
/// The App module is the PHP web application (`web`) plus its cron jobs (`cron`); the package
/// has no `app` flag of its own. Both databases are schemas of the one bundled MySQL. Every
/// reference sample enables cron on both app servers although the cookbook says each job should
/// run once; we follow the samples.
pub fn enable_groups(module: Module) -> &'static [&'static str] {
    match module {
        Module::Proxy => &["proxy"],
        Module::App => &["web", "cron"],
        Module::Session => &["memcached"],
        Module::Rabbitmq => &["rabbitmq"],
        Module::Worker => &["service"],
        Module::Influxdb => &["influxdb"],
        Module::MainDb | Module::AnalyticsDb => &["mysql"],
    }
}

/// The flag groups for a set of modules, without repeats, in the reference samples' order.
pub fn enabled_groups(modules: &BTreeSet<Module>) -> Vec<&'static str> {
    const ORDER: [&str; 8] = [
        "proxy",
        "memcached",
        "web",
        "cron",
        "service",
        "rabbitmq",
        "influxdb",
        "mysql",
    ];
    let wanted: BTreeSet<&str> = modules
        .iter()
        .flat_map(|m| enable_groups(*m))
        .copied()
        .collect();
    ORDER.into_iter().filter(|g| wanted.contains(g)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ha_app_server_enables_proxy_memcached_web_and_cron() {
        let modules = [Module::Proxy, Module::App, Module::Session]
            .into_iter()
            .collect();
        assert_eq!(
            enabled_groups(&modules),
            ["proxy", "memcached", "web", "cron"]
        );
    }

    #[test]
    fn both_databases_enable_one_mysql() {
        let modules = [Module::MainDb, Module::AnalyticsDb].into_iter().collect();
        assert_eq!(enabled_groups(&modules), ["mysql"]);
    }

    #[test]
    fn the_worker_host_enables_service_and_rabbitmq() {
        let modules = [Module::Worker, Module::Rabbitmq].into_iter().collect();
        assert_eq!(enabled_groups(&modules), ["service", "rabbitmq"]);
    }
}
