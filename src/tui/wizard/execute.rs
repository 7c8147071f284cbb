//! Performs the wizard's commands: the only place it reads or writes files or asks the engine
//! for anything. Every result comes back as a [`Msg`] on the wizard's channel.

use super::{Command, Msg, Review, WizardOutcome};
use crate::profile::{self, Profile, ProfileError};
use crate::tui::backend::Backend;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc::Sender;
use std::sync::Arc;

/// What the commands need: the engine, and where profiles live.
#[derive(Clone)]
pub struct Effects {
    pub backend: Arc<dyn Backend + Send + Sync>,
    pub profiles_dir: PathBuf,
}

/// Runs `cmd`; slow work (OS detection, the plan) continues on a thread and reports later.
/// Returns the outcome when the command ends the wizard.
pub fn execute(cmd: Command, fx: &Effects, tx: &Sender<Msg>) -> Option<WizardOutcome> {
    match cmd {
        Command::Exit(outcome) => return Some(outcome),
        Command::Open(path) => {
            let result = open(&path);
            let _ = tx.send(Msg::Opened { path, result });
        }
        Command::PrepareReview(profile) => {
            let _ = tx.send(Msg::ReviewReady(review(&profile, fx)));
        }
        Command::Save {
            path,
            profile,
            overwrite,
        } => {
            let _ = tx.send(Msg::Saved(save(
                &path,
                &profile,
                overwrite,
                &fx.profiles_dir,
            )));
        }
        Command::DetectOs(draft) => {
            let backend = fx.backend.clone();
            let tx = tx.clone();
            std::thread::spawn(move || {
                if let Ok((hosts, ssh)) = draft.detection_targets() {
                    let _ = tx.send(Msg::OsDetected(backend.detect_os(&hosts, &ssh)));
                }
            });
        }
        Command::Plan(path) => match profile::load(&path) {
            Ok(loaded) => {
                let events = fx.backend.plan(&loaded);
                let tx = tx.clone();
                std::thread::spawn(move || {
                    for event in events {
                        if tx.send(Msg::Plan(event)).is_err() {
                            break;
                        }
                    }
                });
            }
            Err(e) => {
                let _ = tx.send(Msg::Saved(Err(format!("{e}"))));
            }
        },
    }
    None
}

/// Reads a profile to change it. One that no longer validates (a licence file moved, say) still
/// opens, with the first problem, so the wizard can be used to fix it.
pub(crate) fn open(path: &Path) -> Result<(Box<Profile>, Option<String>), String> {
    match profile::load(path) {
        Ok(loaded) => Ok((Box::new(loaded.profile), None)),
        Err(ProfileError::Invalid { problems, .. }) => {
            let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
            match toml::from_str::<Profile>(&text) {
                Ok(p) => Ok((Box::new(p), problems.first().map(|p| p.display_for(path).to_string()))),
                Err(_) => Err(format!(
                    "{} cannot be opened: {} — fix it with `scalr-installer validate --profile {}`, or start a new profile",
                    path.display(),
                    problems
                        .first()
                        .map(|p| p.display_for(path).to_string())
                        .unwrap_or_default(),
                    path.display()
                )),
            }
        }
        Err(e) => Err(format!("{e}")),
    }
}

fn review(profile: &Profile, fx: &Effects) -> Review {
    Review {
        toml: profile::to_toml(profile),
        problems: profile::validate::check(profile, Some(&fx.profiles_dir)),
        firewall: fx.backend.firewall_rules(profile),
    }
}

/// Writes the profile atomically (a temporary file renamed over the target), after checking it
/// reads back as the very same profile.
pub(crate) fn save(
    path: &Path,
    profile: &Profile,
    overwrite: bool,
    dir: &Path,
) -> Result<PathBuf, String> {
    let text = profile::to_toml(profile);
    match profile::parse_checked(&text, Some(dir)) {
        Ok(back) if &back == profile => {}
        Ok(_) => {
            return Err(
                "the profile did not read back identically — nothing was saved; please report this"
                    .into(),
            )
        }
        Err(problems) => {
            return Err(format!(
                "nothing was saved: {} — fix it and save again",
                problems
                    .first()
                    .map(|p| p.display_for(path).to_string())
                    .unwrap_or_default()
            ))
        }
    }
    if path.exists() && !overwrite {
        return Err(format!(
            "{} already exists — nothing was saved; choose another deployment name on the Layout step, \
             or open that profile from the first screen to change it",
            path.display()
        ));
    }
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(|e| {
        format!(
            "cannot create {}: {e} — check the permissions",
            parent.display()
        )
    })?;
    let mut tmp = tempfile::NamedTempFile::new_in(parent).map_err(|e| {
        format!(
            "cannot write in {}: {e} — check the permissions",
            parent.display()
        )
    })?;
    tmp.write_all(text.as_bytes())
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|e| format!("cannot write {}: {e} — check free space", path.display()))?;
    tmp.persist(path).map_err(|e| {
        format!(
            "cannot save {}: {e} — check the permissions",
            path.display()
        )
    })?;
    Ok(path.to_path_buf())
}
