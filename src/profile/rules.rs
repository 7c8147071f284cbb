//! Per-field rules with the exact words an operator reads.
//!
//! Each rule takes one value and returns `Err(message)` explaining what is wrong and what would be
//! right. Profile loading applies them to every field; the wizard applies the same functions while
//! a field is typed, so both speak with one voice.
//!
//! Names, addresses and users are limited to a charset no shell treats specially. Everything is
//! still quoted when it reaches a remote shell; this is defence in depth.

use std::net::IpAddr;

/// Scalr's platform ids that accept a per-cloud connection policy (reference §5).
pub const CLOUD_IDS: [&str; 14] = [
    "azure",
    "cisco",
    "cloudstack",
    "ec2",
    "gce",
    "hpcloud",
    "idcf",
    "mirantis",
    "ocs",
    "openstack",
    "rackspacenguk",
    "rackspacengus",
    "vio",
    "vmware",
];

/// A host or deployment name: it names directories and appears in every progress line.
pub fn host_name(value: &str) -> Result<(), String> {
    name_like(value, "host name", "app-1")
}

/// The deployment name keys the state directory (secrets, run logs).
pub fn deployment_name(value: &str) -> Result<(), String> {
    name_like(value, "deployment name", "scalr-prod")
}

fn name_like(value: &str, what: &str, example: &str) -> Result<(), String> {
    let valid = !value.is_empty()
        && value.len() <= 63
        && value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !value.starts_with('-')
        && !value.ends_with('-');
    if valid {
        Ok(())
    } else {
        Err(format!(
            "{} is not a valid {what} — use 1 to 63 lowercase letters, digits and hyphens, \
             not starting or ending with a hyphen (e.g. \"{example}\")",
            quoted(value)
        ))
    }
}

/// An IPv4/IPv6 address or a DNS name.
pub fn address(value: &str) -> Result<(), String> {
    if value.parse::<IpAddr>().is_ok() || is_dns_name(value) {
        Ok(())
    } else {
        Err(format!(
            "{} is not a valid IP address or DNS name — use e.g. \"10.0.0.30\" or \"db1.example.com\"",
            quoted(value)
        ))
    }
}

/// RFC 1123 host names; an all-numeric last label is rejected so that a mistyped IPv4 address
/// such as `10.0.0.300` is not mistaken for a name.
fn is_dns_name(value: &str) -> bool {
    let name = value.strip_suffix('.').unwrap_or(value);
    if name.is_empty() || name.len() > 253 {
        return false;
    }
    let labels: Vec<&str> = name.split('.').collect();
    let label_ok = |l: &&str| {
        !l.is_empty()
            && l.len() <= 63
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    labels.iter().all(label_ok) && !labels.last().unwrap().chars().all(|c| c.is_ascii_digit())
}

/// A TCP port; the type already bounds it to 65535, so only 0 is left to refuse.
pub fn port(value: u16) -> Result<(), String> {
    if value == 0 {
        Err(
            "port 0 cannot be connected to — use a TCP port from 1 to 65535 (SSH is usually 22)"
                .into(),
        )
    } else {
        Ok(())
    }
}

/// A login user name as POSIX systems accept it.
pub fn user(value: &str) -> Result<(), String> {
    let mut chars = value.chars();
    let valid = value.len() <= 32
        && chars
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if valid {
        Ok(())
    } else {
        Err(format!(
            "{} is not a valid user name — use up to 32 lowercase letters, digits, '_' and '-', \
             starting with a letter or '_' (e.g. \"root\" or \"centos\")",
            quoted(value)
        ))
    }
}

/// A path on this machine: spaces are fine, control characters (newlines, escapes) are not.
pub fn path_value(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err(
            "the path is empty — give the file's path, relative to the profile or absolute".into(),
        );
    }
    if value.chars().any(char::is_control) {
        return Err(format!(
            "{} contains a control character (newline, tab, escape…) — rename the file or give a path without them",
            quoted(value)
        ));
    }
    Ok(())
}

/// The name of an environment variable a secret is read from.
pub fn env_var_name(value: &str) -> Result<(), String> {
    let mut chars = value.chars();
    let valid = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if valid {
        Ok(())
    } else {
        Err(format!(
            "{} is not a valid environment variable name — use letters, digits and '_' \
             (e.g. \"SCALR_PACKAGECLOUD_TOKEN\")",
            quoted(value)
        ))
    }
}

/// A package version pin such as `8.0.1` or `7.10.1.enterprise.xenial.b316-1`.
pub fn version(value: &str) -> Result<(), String> {
    let valid = !value.is_empty()
        && value.len() <= 100
        && value.starts_with(|c: char| c.is_ascii_digit())
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+' | '~' | '_' | ':'));
    if valid {
        Ok(())
    } else {
        Err(format!(
            "{} is not a package version — use the version as the repository lists it, \
             e.g. \"8.0.1\", or leave `version` out for the newest",
            quoted(value)
        ))
    }
}

/// A packagecloud repository, `owner/name`.
pub fn repository(value: &str) -> Result<(), String> {
    let part_ok = |p: &str| {
        !p.is_empty()
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    match value.split_once('/') {
        Some((owner, name)) if part_ok(owner) && part_ok(name) => Ok(()),
        _ => Err(format!(
            "{} is not a packagecloud repository — use \"owner/name\", e.g. \"scalr/scalr-server-ee\"",
            quoted(value)
        )),
    }
}

/// A network in CIDR notation, as `app[:ip_ranges]` expects.
pub fn cidr(value: &str) -> Result<(), String> {
    let ok = value.split_once('/').is_some_and(|(ip, len)| {
        match (ip.parse::<IpAddr>(), len.parse::<u8>()) {
            (Ok(IpAddr::V4(_)), Ok(l)) => l <= 32 && !len.starts_with('+'),
            (Ok(IpAddr::V6(_)), Ok(l)) => l <= 128 && !len.starts_with('+'),
            _ => false,
        }
    });
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{} is not a network in CIDR notation — use e.g. \"10.0.0.0/16\" or \"0.0.0.0/0\"",
            quoted(value)
        ))
    }
}

/// A cloud platform id that takes its own connection policy.
pub fn cloud_id(value: &str) -> Result<(), String> {
    if CLOUD_IDS.contains(&value) {
        return Ok(());
    }
    let hint = match value {
        "aws" | "amazon" => "Scalr calls AWS \"ec2\"".to_string(),
        "gcp" | "google" => "Scalr calls Google Cloud \"gce\"".to_string(),
        _ => match closest(value, CLOUD_IDS.iter().copied()) {
            Some(best) => format!("did you mean \"{best}\"?"),
            None => format!("use one of {}", CLOUD_IDS.join(", ")),
        },
    };
    Err(format!(
        "{} is not a cloud Scalr knows — {hint}",
        quoted(value)
    ))
}

/// A pinned host key fingerprint as `ssh-keygen -lf` prints it.
pub fn fingerprint(value: &str) -> Result<(), String> {
    let ok = value.strip_prefix("SHA256:").is_some_and(|b64| {
        b64.len() == 43
            && b64
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '+' || c == '/')
    });
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{} is not a SHA256 host key fingerprint — copy it from `ssh-keygen -lf \
             /etc/ssh/ssh_host_ed25519_key.pub` on the host (it starts with \"SHA256:\")",
            quoted(value)
        ))
    }
}

/// A bastion: `[user@]host[:port]`.
pub fn jump_host(value: &str) -> Result<(), String> {
    let (user_part, rest) = match value.split_once('@') {
        Some((u, r)) => (Some(u), r),
        None => (None, value),
    };
    let (host, port_part) = match rest.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => (h, Some(p)),
        _ => (rest, None),
    };
    let ok = user_part.is_none_or(|u| user(u).is_ok())
        && address(host).is_ok()
        && port_part.is_none_or(|p| p.parse::<u16>().is_ok_and(|p| p != 0));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{} is not a jump host — use \"user@host:port\", e.g. \"admin@bastion.example.com:22\"",
            quoted(value)
        ))
    }
}

/// Seconds to wait for an SSH connection.
pub fn connect_timeout_secs(value: u64) -> Result<(), String> {
    if (1..=600).contains(&value) {
        Ok(())
    } else {
        Err(format!(
            "{value} seconds is not a usable connection timeout — use 1 to 600 (10 is a good default)"
        ))
    }
}

/// A duration in seconds that must lie in `min..=max`.
pub fn seconds_within(value: u64, min: u64, max: u64, default: u64) -> Result<(), String> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(format!(
            "{value} seconds is out of range — use {min} to {max} (or leave it out for {default})"
        ))
    }
}

/// The closest candidate by edit distance, if it is close enough to be a plausible typo.
pub fn closest<'a>(value: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::levenshtein(value, c), c))
        .filter(|(distance, c)| *distance <= (c.chars().count() / 3).max(1))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, c)| c)
}

/// Quotes a value for a message, escaping what would garble a terminal.
pub fn quoted(value: &str) -> String {
    // A pasted blob must not turn one error into pages of output: show its start and its size.
    if value.chars().count() <= SHOWN {
        return format!("{value:?}");
    }
    let start: String = value.chars().take(SHOWN).collect();
    format!("{start:?}… ({} characters)", value.chars().count())
}

const SHOWN: usize = 200;

/// A path as the operator wrote it, cut short when it is absurdly long.
pub fn shortened(value: &str) -> String {
    if value.chars().count() <= SHOWN {
        return value.to_string();
    }
    let start: String = value.chars().take(SHOWN).collect();
    format!("{start}… ({} characters)", value.chars().count())
}
