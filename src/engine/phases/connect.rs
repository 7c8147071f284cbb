//! Phase 1, connect: one long-lived session per host. Transient failures (refused, timed out,
//! reset) are retried with backoff; authentication and host-key failures never are.

use crate::engine::remote::{Connector, Remote, RemoteError};
use std::time::Duration;

/// Attempts and the pause before each retry.
pub const BACKOFF: [Duration; 2] = [Duration::from_secs(1), Duration::from_secs(3)];

pub fn connect_with_retry(
    connector: &dyn Connector,
    host: &str,
    backoff: &[Duration],
) -> Result<Box<dyn Remote>, RemoteError> {
    connect_reporting_retries(connector, host, backoff, &mut |_, _| {})
}

/// Like [`connect_with_retry`], telling `on_retry` about each failed attempt that will be
/// retried and the pause before the retry, so the operator hears of an unreachable host at
/// once rather than when the retries are exhausted.
pub fn connect_reporting_retries(
    connector: &dyn Connector,
    host: &str,
    backoff: &[Duration],
    on_retry: &mut dyn FnMut(&RemoteError, Duration),
) -> Result<Box<dyn Remote>, RemoteError> {
    let mut pauses = backoff.iter();
    loop {
        match connector.connect(host) {
            Ok(remote) => return Ok(remote),
            Err(e) if !e.is_retryable() => return Err(e),
            Err(e) => {
                // Out of retries: the last transient error is the one reported.
                let Some(pause) = pauses.next() else {
                    return Err(e);
                };
                on_retry(&e, *pause);
                std::thread::sleep(*pause);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::remote::{Output, RemoteCommand, UploadDir, UploadFile, Uploaded};
    use std::ops::ControlFlow;
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct Flaky {
        attempts: AtomicUsize,
        succeed_on: usize,
        error: RemoteError,
    }

    struct Nothing;
    impl Remote for Nothing {
        fn run_until(
            &self,
            _: &RemoteCommand,
            _: &mut dyn FnMut(&str) -> ControlFlow<()>,
        ) -> Result<Output, RemoteError> {
            Ok(Output::default())
        }
        fn upload(&self, _: &str, _: &[u8], _: u32) -> Result<(), RemoteError> {
            Ok(())
        }
        fn upload_files_then(
            &self,
            _: &[UploadDir<'_>],
            files: &[UploadFile<'_>],
            then: Option<&RemoteCommand>,
        ) -> Result<(Vec<Uploaded>, Option<Output>), RemoteError> {
            let outcomes = files
                .iter()
                .map(|_| Uploaded {
                    changed: true,
                    backup: None,
                })
                .collect();
            Ok((outcomes, then.map(|_| Output::default())))
        }
        fn read_file(&self, _: &str) -> Result<Option<Vec<u8>>, RemoteError> {
            Ok(None)
        }
        fn reconnect(&self) -> Result<(), RemoteError> {
            Ok(())
        }
    }

    impl Connector for Flaky {
        fn connect(&self, _: &str) -> Result<Box<dyn Remote>, RemoteError> {
            let n = self.attempts.fetch_add(1, Ordering::SeqCst) + 1;
            if n >= self.succeed_on {
                Ok(Box::new(Nothing))
            } else {
                Err(self.error.clone())
            }
        }
    }

    #[test]
    fn transient_connect_errors_are_retried() {
        let c = Flaky {
            attempts: AtomicUsize::new(0),
            succeed_on: 3,
            error: RemoteError::transient("connection refused"),
        };
        assert!(connect_with_retry(&c, "h", &[Duration::ZERO, Duration::ZERO]).is_ok());
        assert_eq!(c.attempts.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn host_key_and_auth_failures_are_never_retried() {
        let c = Flaky {
            attempts: AtomicUsize::new(0),
            succeed_on: 2,
            error: RemoteError::fatal("host key changed"),
        };
        let err = connect_with_retry(&c, "h", &[Duration::ZERO])
            .err()
            .unwrap();
        assert_eq!(err.message, "host key changed");
        assert_eq!(c.attempts.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn the_last_transient_error_is_reported_when_retries_run_out() {
        let c = Flaky {
            attempts: AtomicUsize::new(0),
            succeed_on: 10,
            error: RemoteError::transient("timed out"),
        };
        let err = connect_with_retry(&c, "h", &[Duration::ZERO])
            .err()
            .unwrap();
        assert_eq!(err.message, "timed out");
        assert_eq!(c.attempts.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn each_retry_is_announced_before_its_pause() {
        let c = Flaky {
            attempts: AtomicUsize::new(0),
            succeed_on: 10,
            error: RemoteError::transient("connection refused"),
        };
        let mut announced = Vec::new();
        let pauses = [Duration::from_millis(1), Duration::from_millis(2)];
        let err = connect_reporting_retries(&c, "h", &pauses, &mut |e, pause| {
            announced.push((e.message.clone(), pause))
        })
        .err()
        .unwrap();
        assert_eq!(err.message, "connection refused");
        assert_eq!(
            announced,
            [
                ("connection refused".to_string(), pauses[0]),
                ("connection refused".to_string(), pauses[1])
            ]
        );
        assert_eq!(c.attempts.load(Ordering::SeqCst), 3);
    }
}
