//! The installer's own state on this machine: one folder per deployment holding its secrets
//! (and, for later parts, run logs).

use crate::secrets::{Secrets, SecretsError};
use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// Overrides the state directory when `--state-dir` is not given.
pub const STATE_DIR_ENV: &str = "SCALR_INSTALLER_STATE_DIR";

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("cannot find a state directory (no XDG state or home directory) — pass --state-dir DIR or set {STATE_DIR_ENV}")]
    NoHome,
    #[error("{}: {source} — check that the folder is writable, or choose another with --state-dir", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {source}", path.display())]
    Secrets { path: PathBuf, source: SecretsError },
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> StateError + '_ {
    move |source| StateError::Io {
        path: path.to_path_buf(),
        source,
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateDir {
    root: PathBuf,
}

impl StateDir {
    /// `--state-dir`, else `$SCALR_INSTALLER_STATE_DIR`, else the XDG state directory
    /// (`~/.local/state/scalr-installer`).
    pub fn resolve(explicit: Option<&Path>) -> Result<StateDir, StateError> {
        if let Some(dir) = explicit {
            return Ok(StateDir::at(dir));
        }
        if let Some(dir) = std::env::var_os(STATE_DIR_ENV).filter(|v| !v.is_empty()) {
            return Ok(StateDir::at(Path::new(&dir)));
        }
        let dirs =
            directories::ProjectDirs::from("", "", "scalr-installer").ok_or(StateError::NoHome)?;
        let root = dirs
            .state_dir()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| dirs.data_local_dir().to_path_buf());
        Ok(StateDir { root })
    }

    pub fn at(root: &Path) -> StateDir {
        StateDir {
            root: root.to_path_buf(),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The folder of one deployment (named by the profile's `name`).
    pub fn deployment(&self, name: &str) -> DeploymentState {
        DeploymentState {
            dir: self.root.join("deployments").join(name),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeploymentState {
    dir: PathBuf,
}

impl DeploymentState {
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn secrets_path(&self) -> PathBuf {
        self.dir.join("secrets.json")
    }

    /// The deployment's secrets, if generated before.
    pub fn load_secrets(&self) -> Result<Option<Secrets>, StateError> {
        let path = self.secrets_path();
        match fs::read(&path) {
            Ok(bytes) => Secrets::from_json(&bytes)
                .map(Some)
                .map_err(|source| StateError::Secrets { path, source }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_error(&path)(e)),
        }
    }

    /// The deployment's secrets: loaded if they exist, generated and stored (mode 0600) once
    /// otherwise. An external database's password replaces `mysql.scalr_password` and is stored
    /// when it changed.
    pub fn ensure_secrets(&self, database_password: Option<&str>) -> Result<Secrets, StateError> {
        let existing = self.load_secrets()?;
        let mut secrets = existing.clone().unwrap_or_else(Secrets::generate);
        if let Some(password) = database_password {
            secrets.set_database_password(password);
        }
        if existing.as_ref() != Some(&secrets) {
            self.store_secrets(&secrets)?;
        }
        Ok(secrets)
    }

    /// Writes the secrets atomically: a new file created with mode 0600 (never chmod'ed after,
    /// so it is never readable by others), then renamed over the old one.
    pub fn store_secrets(&self, secrets: &Secrets) -> Result<(), StateError> {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)
            .map_err(io_error(&self.dir))?;
        let path = self.secrets_path();
        let tmp = self
            .dir
            .join(format!(".secrets.json.{}", std::process::id()));
        let _ = fs::remove_file(&tmp);
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(io_error(&tmp))?;
        file.write_all(&secrets.to_json())
            .and_then(|_| file.sync_all())
            .map_err(io_error(&tmp))?;
        fs::rename(&tmp, &path).map_err(io_error(&path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn secrets_are_generated_once_and_reused() {
        let tmp = tempfile::tempdir().unwrap();
        let state = StateDir::at(tmp.path()).deployment("prod");
        let first = state.ensure_secrets(None).unwrap();
        let second = state.ensure_secrets(None).unwrap();
        assert_eq!(first, second);
    }

    #[test]
    fn the_secrets_file_is_readable_by_its_owner_only() {
        let tmp = tempfile::tempdir().unwrap();
        let state = StateDir::at(tmp.path()).deployment("prod");
        state.ensure_secrets(None).unwrap();
        let mode = fs::metadata(state.secrets_path())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let dir_mode = fs::metadata(state.dir()).unwrap().permissions().mode();
        assert_eq!(dir_mode & 0o077, 0);
    }

    #[test]
    fn an_external_database_password_is_kept_with_the_other_secrets() {
        let tmp = tempfile::tempdir().unwrap();
        let state = StateDir::at(tmp.path()).deployment("prod");
        let generated = state.ensure_secrets(None).unwrap();
        let with_db = state.ensure_secrets(Some("rds-password")).unwrap();
        assert_eq!(with_db.get("mysql", "scalr_password"), Some("rds-password"));
        assert_eq!(with_db.admin_password(), generated.admin_password());
        assert_eq!(state.load_secrets().unwrap().unwrap(), with_db);
    }
}
