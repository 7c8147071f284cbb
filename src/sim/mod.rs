//! The simulated Scalr Server package and the OS package tools, run inside lab VMs.
//!
//! The real `scalr-server` package needs a licence and cannot be downloaded here, so the lab
//! ships this simulator instead. It is one multi-call program: `multicall` looks at the name it
//! was started under (`apt-get`, `yum`, `scalr-server-ctl`, …) and runs that tool. Every path is
//! resolved under `SCALR_SIM_ROOT` (see `root`), so the whole simulator is testable in a temp dir.
//! How each tool mirrors the real one is described in `docs/sim.md`.

pub mod ctl;
pub mod install;
pub mod manage;
pub mod multicall;
pub mod net;
pub mod pkg_apt;
pub mod pkg_yum;
pub mod rbconfig;
pub mod replication;
pub mod repo;
pub mod root;
pub mod secrets;
pub mod service;
pub mod services;
pub mod supervisor;
pub mod term;
pub mod vmconf;
pub mod wizard;

pub use multicall::multicall;
pub use root::SimRoot;
pub use supervisor::stop_supervisor;
