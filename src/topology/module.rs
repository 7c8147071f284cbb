//! The eight Scalr modules of the architecture spec, and the roles that group them.

use serde::{Deserialize, Serialize};
use std::fmt;

/// One of the eight Scalr modules named by the architecture spec.
///
/// How each maps onto the real `scalr-server.rb` flags is decided in `topology::flags`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Module {
    /// nginx reverse proxy on 80/443 and the AMQPS pass-through on 5671.
    Proxy,
    /// The PHP web application (and its cron jobs).
    App,
    /// memcached, which holds PHP sessions shared by the app servers.
    Session,
    /// RabbitMQ, the message bus between the worker and the agents.
    Rabbitmq,
    /// The background daemons (`service`); exactly one host runs it.
    Worker,
    /// InfluxDB, server metrics.
    Influxdb,
    /// The main `scalr` MySQL database.
    MainDb,
    /// The cost analytics `analytics` MySQL database.
    AnalyticsDb,
}

impl Module {
    pub const ALL: [Module; 8] = [
        Module::Proxy,
        Module::App,
        Module::Session,
        Module::Rabbitmq,
        Module::Worker,
        Module::Influxdb,
        Module::MainDb,
        Module::AnalyticsDb,
    ];

    /// The name used in profiles (`main-db`, `rabbitmq`, …).
    pub fn key(self) -> &'static str {
        match self {
            Module::Proxy => "proxy",
            Module::App => "app",
            Module::Session => "session",
            Module::Rabbitmq => "rabbitmq",
            Module::Worker => "worker",
            Module::Influxdb => "influxdb",
            Module::MainDb => "main-db",
            Module::AnalyticsDb => "analytics-db",
        }
    }

    /// The name an operator reads (`Cost Analytics DB`).
    pub fn title(self) -> &'static str {
        match self {
            Module::Proxy => "Proxy",
            Module::App => "App",
            Module::Session => "Session",
            Module::Rabbitmq => "RabbitMQ",
            Module::Worker => "Worker",
            Module::Influxdb => "InfluxDB",
            Module::MainDb => "Main DB",
            Module::AnalyticsDb => "Cost Analytics DB",
        }
    }

    pub fn is_database(self) -> bool {
        matches!(self, Module::MainDb | Module::AnalyticsDb)
    }
}

impl fmt::Display for Module {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}
