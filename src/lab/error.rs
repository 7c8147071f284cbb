//! What can go wrong in the lab, each phrased for the operator with the next step to take.

use std::path::PathBuf;

pub type Result<T, E = LabError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum LabError {
    #[error("the lab needs root to create mount namespaces: run it with sudo")]
    NotRoot,

    #[error("{tool} is missing ({path}): install {package}: apt-get install {package}")]
    MissingTool {
        tool: &'static str,
        path: &'static str,
        package: &'static str,
    },

    #[error(
        "no free loopback address block: 127.0.2.0/24 to 127.0.199.0/24 are all taken by other labs \
         (locks in /run/scalr-lab/): stop one with `scalr-installer lab down --dir DIR`"
    )]
    NoFreeBlock,

    #[error("{0}")]
    InvalidOption(String),

    #[error("cannot {action} {path}: {source}; check the path and its permissions")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("`{command}` failed: {detail}")]
    CommandFailed { command: String, detail: String },

    #[error("VM {vm}: {what}; see {log}:\n{tail}")]
    VmDidNotStart {
        vm: String,
        what: String,
        log: PathBuf,
        tail: String,
    },

    #[error("{dir} already holds a lab: stop it with `scalr-installer lab down --dir {dir}` or pick another --dir", dir = .dir.display())]
    LabExists { dir: PathBuf },

    #[error("{dir} exists and is not an empty directory: pick another --dir for the lab", dir = .dir.display())]
    DirNotEmpty { dir: PathBuf },

    #[error("no lab in {dir} (no lab.json): start one with `scalr-installer lab up --dir {dir}`", dir = .dir.display())]
    NoLab { dir: PathBuf },

    #[error("{path}: {detail}; if the lab is broken, run `scalr-installer lab down --dir` on its directory", path = .path.display())]
    BadState { path: PathBuf, detail: String },

    #[error("the lab has no VM named {name:?}; its VMs are: {known}")]
    UnknownVm { name: String, known: String },

    #[error("VM {vm}: {detail}")]
    Fault { vm: String, detail: String },
}

impl LabError {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> LabError {
        let path = path.into();
        move |source| LabError::Io {
            action,
            path,
            source,
        }
    }
}
