//! Phase 6, config files: writes every changed file with one remote command (the `Remote` stages
//! each to a temp file, checks it, and renames them all into place only when all arrived whole,
//! keeping the previous versions as backups), with its mode (secrets 0600) and group.

use crate::engine::desired::{DesiredFile, CONFIG_DIR};
use crate::engine::events::{EventKind, Stream};
use crate::engine::phases::{HostCtx, Need, PhaseError};
use crate::engine::plan::FileAction;
use crate::engine::remote::{Output, RemoteCommand, UploadDir, UploadFile};

pub fn need(actions: &[FileAction]) -> Need {
    if actions.is_empty() {
        Need::Skip("every configuration file is already up to date".into())
    } else {
        Need::Run
    }
}

/// Writes the changed files; `then` runs in the same command once they are in place, and its
/// output is returned (`Some` exactly when `then` was given).
pub fn run(
    ctx: &HostCtx,
    files: &[DesiredFile],
    actions: &[FileAction],
    then: Option<&RemoteCommand>,
) -> Result<Option<Output>, PhaseError> {
    let writes: Vec<(&FileAction, &DesiredFile)> = actions
        .iter()
        .filter_map(|a| files.iter().find(|f| f.path == a.path).map(|f| (a, f)))
        .collect();
    // Scalr's first reconfigure creates its groups, but a file must be readable by its group
    // before that: the upload creates a missing group as a system group; reconfigure reuses it.
    let uploads: Vec<UploadFile> = writes.iter().map(|(_, f)| UploadFile::from(*f)).collect();
    // Every Scalr service reads its configuration here, whatever umask root logs in with.
    let config_dir = UploadDir {
        path: CONFIG_DIR,
        mode: 0o755,
    };
    let (_, follow_up) = ctx
        .remote
        .upload_files_then(&[config_dir], &uploads, then)
        .map_err(|e| {
            PhaseError::new(format!(
                "writing the configuration files on {}: {e}",
                ctx.host.name
            ))
        })?;
    for (action, file) in writes {
        ctx.emit.emit(EventKind::Line {
            stream: Stream::Stdout,
            text: format!(
                "wrote {} ({} bytes, mode {:o}){}",
                file.path,
                file.contents.len(),
                file.mode,
                if action.created { ", new" } else { "" }
            ),
        });
    }
    Ok(follow_up)
}
