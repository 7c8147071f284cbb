//! The lab simulator on its own: the same tools as the installer binary's argv[0] dispatch
//! (`apt-get`, `scalr-server-ctl`, …), for links that should not depend on the installer build.
//! The simulator's tests use it, because the shared build directory's `scalr-installer` may be
//! another branch's build at any moment.

use std::process::ExitCode;

fn main() -> ExitCode {
    scalr_installer::sim::multicall().unwrap_or_else(|| {
        eprintln!(
            "scalr-lab-sim: run me through a link named like a simulated tool ({})",
            scalr_installer::sim::multicall::TOOLS.join(", ")
        );
        ExitCode::from(2)
    })
}
