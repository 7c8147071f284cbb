//! What runs where: Scalr's modules, layouts, operating systems and hardware requirements.

pub mod deployment;
pub mod flags;
pub mod hardware;
pub mod module;
pub mod os;

pub use deployment::{DbRole, Deployment, HostPlan, LayoutError, ServiceAddresses};
pub use module::Module;
pub use os::{InitSystem, OsId, PackageManager};
