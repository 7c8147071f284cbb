//! Phase 4, package repository: writes the files packagecloud's install script would write (never
//! `curl | bash`, which would put the token in a process argument and needs internet on the
//! host), and only when the host's copy differs. The token lives only in a 0600 file. The index
//! refresh is the first command of the package phase's install step: one round trip fewer.

use crate::engine::desired::{DesiredFile, PackageSource};
use crate::engine::phases::facts::HostFacts;
use crate::engine::phases::{HostCtx, Need, PhaseError};
use crate::engine::plan::{sha256_hex, PackageAction};
use crate::topology::{OsId, PackageManager};

/// `scalr/scalr-server-ee` → `scalr_scalr-server-ee`, packagecloud's file naming.
fn repo_slug(repository: &str) -> String {
    repository.replace('/', "_")
}

/// The repository file for `os`, as packagecloud's script writes it.
pub fn repo_file(os: OsId, repository: &str, token: &str) -> DesiredFile {
    let slug = repo_slug(repository);
    let (kind, dist) = os.packagecloud_dist();
    let (path, contents) = match os.package_manager() {
        PackageManager::Apt => (
            format!("/etc/apt/sources.list.d/{slug}.list"),
            format!("deb https://{token}:@packagecloud.io/{repository}/{kind}/ {dist} main\n"),
        ),
        PackageManager::Yum => (
            format!("/etc/yum.repos.d/{slug}.repo"),
            format!(
                "[{slug}]\nname={slug}\nbaseurl=https://{token}:@packagecloud.io/{repository}/el/{dist}/$basearch\nrepo_gpgcheck=1\ngpgcheck=0\nenabled=1\ngpgkey=https://packagecloud.io/{repository}/gpgkey\nsslverify=1\nsslcacert=/etc/pki/tls/certs/ca-bundle.crt\nmetadata_expire=300\n"
            ),
        ),
    };
    DesiredFile {
        path,
        contents: contents.into_bytes(),
        mode: 0o600,
        secret: true,
        group: None,
    }
}

/// The path of the repository file for `os` (hashed by the facts phase).
pub fn repo_path(os: OsId, source: &PackageSource) -> Option<String> {
    match source {
        PackageSource::Packagecloud { repository, .. } => Some(repo_file(os, repository, "").path),
        PackageSource::Local { .. } => None,
    }
}

pub fn need(source: &PackageSource, package: &Option<PackageAction>) -> Need {
    match (source, package) {
        (PackageSource::Local { .. }, _) => {
            Need::Skip("packages are uploaded from this machine".into())
        }
        (_, None) => Need::Skip("the package is already at the wanted version".into()),
        (PackageSource::Packagecloud { .. }, Some(_)) => Need::Run,
    }
}

pub fn run(ctx: &HostCtx, os: OsId, facts: &HostFacts) -> Result<(), PhaseError> {
    let PackageSource::Packagecloud { repository, token } = &ctx.deployment.package else {
        return Ok(());
    };
    let file = repo_file(os, repository, token);
    if facts.file_hashes.get(&file.path) != Some(&sha256_hex(&file.contents)) {
        ctx.remote
            .upload(&file.path, &file.contents, file.mode)
            .map_err(|e| {
                PhaseError::new(format!("writing {} on {}: {e}", file.path, ctx.host.name))
            })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apt_hosts_get_a_sources_list_with_the_token_in_the_url() {
        let f = repo_file(OsId::Ubuntu1804, "scalr/scalr-server-ee", "TOKEN123");
        assert_eq!(f.path, "/etc/apt/sources.list.d/scalr_scalr-server-ee.list");
        assert_eq!(
            String::from_utf8(f.contents).unwrap(),
            "deb https://TOKEN123:@packagecloud.io/scalr/scalr-server-ee/ubuntu/ bionic main\n"
        );
        assert_eq!(f.mode, 0o600);
        assert!(f.secret);
    }

    #[test]
    fn yum_hosts_get_a_repo_file_for_their_el_release() {
        let f = repo_file(OsId::Centos6, "scalr/scalr-server-ee", "TOKEN123");
        assert_eq!(f.path, "/etc/yum.repos.d/scalr_scalr-server-ee.repo");
        let text = String::from_utf8(f.contents).unwrap();
        assert!(
            text.contains(
                "baseurl=https://TOKEN123:@packagecloud.io/scalr/scalr-server-ee/el/6/$basearch\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn the_repository_is_only_touched_when_a_package_must_be_installed() {
        let pc = PackageSource::Packagecloud {
            repository: "r/x".into(),
            token: "t".into(),
        };
        assert_eq!(
            need(&pc, &None),
            Need::Skip("the package is already at the wanted version".into())
        );
        assert_eq!(
            need(&pc, &Some(PackageAction::Install { version: None })),
            Need::Run
        );
        let local = PackageSource::Local { files: vec![] };
        assert!(matches!(
            need(&local, &Some(PackageAction::Install { version: None })),
            Need::Skip(_)
        ));
    }
}
