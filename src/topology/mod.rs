//! What runs where: Scalr's modules, layouts, operating systems and hardware requirements.

pub mod module;
pub mod os;

pub use module::Module;
pub use os::{InitSystem, OsId, PackageManager};
