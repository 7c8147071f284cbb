//! Retrying with exponential backoff, only for failures that can heal by themselves.

use super::auth::Credentials;
use super::error::SshError;
use super::session::HostSession;
use super::target::Target;
use crate::profile::model::HostKeyPolicy;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Total tries, including the first.
    pub attempts: u32,
    pub first_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 4,
            first_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(15),
        }
    }
}

impl RetryPolicy {
    /// The pause before try number `attempt + 1` (attempt counts from 1).
    pub fn delay_after(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1));
        self.first_delay.saturating_mul(factor).min(self.max_delay)
    }
}

/// Run `op` until it succeeds, fails permanently, or runs out of attempts. `on_retry` hears
/// about each transient failure and the pause that follows (for a progress event).
pub fn with_retry<T>(
    policy: &RetryPolicy,
    mut op: impl FnMut() -> Result<T, SshError>,
    mut on_retry: impl FnMut(&SshError, Duration),
) -> Result<T, SshError> {
    let mut attempt = 1;
    loop {
        match op() {
            Ok(v) => return Ok(v),
            Err(e) if e.is_transient() && attempt < policy.attempts.max(1) => {
                let pause = policy.delay_after(attempt);
                on_retry(&e, pause);
                std::thread::sleep(pause);
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

/// `HostSession::connect` with retries for unreachable hosts and timeouts.
pub fn connect_with_retry(
    target: &Target,
    policy: &HostKeyPolicy,
    creds: &dyn Credentials,
    retry: &RetryPolicy,
    on_retry: impl FnMut(&SshError, Duration),
) -> Result<HostSession, SshError> {
    with_retry(
        retry,
        || HostSession::connect(target, policy, creds),
        on_retry,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ssh::error::SshErrorKind;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let p = RetryPolicy {
            attempts: 6,
            first_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(350),
        };
        let delays: Vec<u128> = (1..=4).map(|a| p.delay_after(a).as_millis()).collect();
        assert_eq!(delays, [100, 200, 350, 350]);
    }

    #[test]
    fn permanent_failures_are_not_retried() {
        let p = RetryPolicy {
            attempts: 5,
            first_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(1),
        };
        let mut calls = 0;
        let auth = SshErrorKind::AuthFailed {
            user: "root".into(),
            tried: vec![],
        };
        let r: Result<(), _> = with_retry(
            &p,
            || {
                calls += 1;
                Err(SshError::new("h", auth.clone()))
            },
            |_, _| {},
        );
        assert!(r.is_err());
        assert_eq!(calls, 1);

        let mut calls = 0;
        let r: Result<(), _> = with_retry(
            &p,
            || {
                calls += 1;
                Err(SshError::new(
                    "h",
                    SshErrorKind::Unreachable {
                        address: "a".into(),
                        reason: "refused".into(),
                    },
                ))
            },
            |_, _| {},
        );
        assert!(r.is_err());
        assert_eq!(calls, 5);
    }
}
