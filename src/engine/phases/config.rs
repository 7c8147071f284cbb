//! Phase 6, config files: writes each changed file atomically (the `Remote` uploads to a temp file
//! and renames, keeping the previous version as a backup), with its mode (secrets 0600).

use crate::engine::desired::{DesiredFile, CONFIG_DIR};
use crate::engine::events::{EventKind, Stream};
use crate::engine::phases::{HostCtx, Need, PhaseError};
use crate::engine::plan::FileAction;
use crate::engine::remote::quote;

pub fn need(actions: &[FileAction]) -> Need {
    if actions.is_empty() {
        Need::Skip("every configuration file is already up to date".into())
    } else {
        Need::Run
    }
}

pub fn run(ctx: &HostCtx, files: &[DesiredFile], actions: &[FileAction]) -> Result<(), PhaseError> {
    ctx.run_checked(
        "creating the configuration directory",
        format!("mkdir -p {0} && chmod 755 {0}", quote(CONFIG_DIR)),
    )?;
    for action in actions {
        let Some(file) = files.iter().find(|f| f.path == action.path) else {
            continue;
        };
        ctx.remote
            .upload(&file.path, &file.contents, file.mode)
            .map_err(|e| {
                PhaseError::new(format!("writing {} on {}: {e}", file.path, ctx.host.name))
            })?;
        if let Some(group) = &file.group {
            // Scalr's first reconfigure creates its groups, but the file must be readable by
            // the group before that: create it as a system group now; reconfigure reuses it.
            let group = quote(group);
            ctx.run_checked(
                &format!(
                    "giving {} to group {}",
                    file.path,
                    file.group.as_deref().unwrap_or_default()
                ),
                format!(
                    "getent group {group} >/dev/null || groupadd -r {group}; chgrp {group} {}",
                    quote(&file.path)
                ),
            )?;
        }
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
    Ok(())
}
