//! The package fills in the secrets the installer does not generate itself (its TLS keys and
//! certificates) at its first chef run — differently on every host. So when a run writes the
//! secrets file, the first host whose files are in place completes it
//! (`scalr-server-ctl show-attributes`) and every other host receives the completed file before
//! any host reconfigures; the state directory keeps it too.
//!
//! Hosts get there at different times (a fleet installs in parallel), so this is a one-shot
//! rendezvous: the first to arrive claims the completion, later ones wait for its result, and
//! hosts arriving after it simply read it.

use crate::engine::desired::{Rendered, SECRETS_PATH};
use crate::engine::plan::HostPlan;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, OnceLock};

/// Whether this run writes the secrets file anywhere (so there is something to complete).
pub fn writes_secrets(plans: &[HostPlan]) -> bool {
    plans.iter().any(|p| {
        p.files
            .iter()
            .any(|f| f.path == SECRETS_PATH && (f.created || f.contents_changed))
    })
}

pub struct SecretsCompletion {
    needed: bool,
    claimed: AtomicBool,
    /// Every host's files rendered with the completed secrets; `None` when completing was not
    /// needed or failed.
    done: OnceLock<Option<Rendered>>,
    waiting: Mutex<()>,
    published: Condvar,
}

/// What a host arriving at the rendezvous does.
pub enum Turn<'a> {
    /// Complete the secrets here, then [`Claim::publish`] the result.
    Complete(Claim<'a>),
    /// Completed elsewhere (or nothing to complete).
    Done(Option<&'a Rendered>),
}

/// The right to complete the secrets. Dropped unpublished (a panic, an early return), it
/// publishes "not completed", so no host waits forever.
pub struct Claim<'a> {
    completion: &'a SecretsCompletion,
}

impl<'a> Claim<'a> {
    pub fn publish(self, completed: Option<Rendered>) {
        self.completion.publish(completed);
    }
}

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        self.completion.publish(None);
    }
}

impl SecretsCompletion {
    pub fn new(needed: bool) -> Self {
        SecretsCompletion {
            needed,
            claimed: AtomicBool::new(false),
            done: OnceLock::new(),
            waiting: Mutex::new(()),
            published: Condvar::new(),
        }
    }

    /// The files rendered with the completed secrets, once they exist.
    pub fn completed(&self) -> Option<&Rendered> {
        self.done.get().and_then(|d| d.as_ref())
    }

    /// The first caller gets [`Turn::Complete`]; the others block until it has published.
    pub fn claim_or_wait(&self) -> Turn<'_> {
        if !self.needed {
            return Turn::Done(None);
        }
        if let Some(done) = self.done.get() {
            return Turn::Done(done.as_ref());
        }
        if !self.claimed.swap(true, Ordering::SeqCst) {
            return Turn::Complete(Claim { completion: self });
        }
        let mut guard = self.waiting.lock().unwrap();
        loop {
            if let Some(done) = self.done.get() {
                return Turn::Done(done.as_ref());
            }
            guard = self.published.wait(guard).unwrap();
        }
    }

    /// The first publication wins (a claim publishes once, then its drop finds it set).
    fn publish(&self, completed: Option<Rendered>) {
        let _ = self.done.set(completed);
        let _guard = self.waiting.lock().unwrap();
        self.published.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rendered(tag: &str) -> Rendered {
        Rendered {
            files: vec![("h".into(), vec![])],
            secret_values: vec![tag.into()],
        }
    }

    #[test]
    fn nothing_to_complete_means_no_one_claims() {
        let c = SecretsCompletion::new(false);
        assert!(matches!(c.claim_or_wait(), Turn::Done(None)));
        assert!(c.completed().is_none());
    }

    #[test]
    fn the_first_host_claims_and_the_others_wait_for_its_result() {
        let c = SecretsCompletion::new(true);
        let Turn::Complete(claim) = c.claim_or_wait() else {
            panic!("the first host must claim");
        };
        std::thread::scope(|s| {
            let waiters: Vec<_> = (0..3)
                .map(|_| {
                    s.spawn(|| match c.claim_or_wait() {
                        Turn::Done(Some(r)) => r.secret_values[0].clone(),
                        Turn::Done(None) => "none".into(),
                        Turn::Complete(_) => "claimed twice".into(),
                    })
                })
                .collect();
            std::thread::sleep(std::time::Duration::from_millis(20));
            claim.publish(Some(rendered("completed")));
            for w in waiters {
                assert_eq!(w.join().unwrap(), "completed");
            }
        });
        assert_eq!(c.completed().unwrap().secret_values, ["completed"]);
    }

    #[test]
    fn a_claim_dropped_unpublished_releases_the_waiters() {
        let c = SecretsCompletion::new(true);
        let claim = c.claim_or_wait();
        std::thread::scope(|s| {
            let waiter = s.spawn(|| matches!(c.claim_or_wait(), Turn::Done(None)));
            drop(claim);
            assert!(waiter.join().unwrap());
        });
    }
}
