//! The package fills in the secrets the installer does not generate itself (its TLS keys and
//! certificates) at its first chef run — differently on every host. So when a run writes the
//! secrets file, the first host whose files are in place completes it
//! (`scalr-server-ctl show-attributes`) and every other host receives the completed file before
//! any host reconfigures; the state directory keeps it too.
//!
//! Hosts get there at different times (a fleet installs in parallel), so this is a one-shot
//! rendezvous: one host claims the completion, the others wait for its result, and hosts
//! arriving after it simply read it. The claim goes to a first-wave host when one is still on its
//! way: completing there costs that host one quick command, while any other completer would cost
//! it an extra upload, on the path every later wave waits for. The others are in later waves, so
//! their wait costs nothing; if no first-wave host can get there (one failed), anyone may claim.
//!
//! Those later hosts also hold their upload until the first wave's reconfigure is under way:
//! released together the moment the completion is published, a fleet's uploads would compete
//! with the first wave's launch, the one step every later wave waits for, while they themselves
//! have until the next wave.

use crate::engine::desired::{Rendered, SECRETS_PATH};
use crate::engine::plan::HostPlan;
use std::collections::BTreeSet;
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
    pending: Mutex<Pending>,
    /// Every host's files rendered with the completed secrets; `None` when completing was not
    /// needed or failed.
    done: OnceLock<Option<Rendered>>,
    changed: Condvar,
}

struct Pending {
    claimed: bool,
    /// Hosts the claim is kept for while any of them may still get here.
    preferred: BTreeSet<String>,
    /// The first wave's reconfigure runs (or never will): later hosts may upload.
    first_wave_under_way: bool,
}

/// What a host arriving at the rendezvous does.
pub enum Turn<'a> {
    /// Complete the secrets here, then [`Claim::publish`] the result.
    Complete(Claim<'a>),
    /// Completed elsewhere (or nothing to complete).
    Done(Option<&'a Rendered>),
}

/// Marks the first wave under way when dropped: held by the wave stage, so however it ends
/// (a failure, a cancel, a panic) the hosts waiting to upload are released.
pub struct UnderWayOnDrop<'a>(&'a SecretsCompletion);

impl Drop for UnderWayOnDrop<'_> {
    fn drop(&mut self) {
        self.0.first_wave_under_way();
    }
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

    /// Gives the claim back unused, because `host` (which holds it) stopped before it could
    /// complete: another host may claim, as if `host` had never got here.
    pub fn release(self, host: &str) {
        let completion = self.completion;
        // Not dropped: a drop would publish "not completed" to everyone.
        std::mem::forget(self);
        let mut pending = completion.pending.lock().unwrap();
        pending.claimed = false;
        pending.preferred.remove(host);
        completion.changed.notify_all();
    }
}

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        self.completion.publish(None);
    }
}

impl SecretsCompletion {
    /// `preferred`: the hosts that should complete it (the first wave's). Only when every host
    /// works at once: with `--concurrency` below the fleet's size, a waiting host would hold a
    /// slot another host needs, so pass none and the first host to arrive claims.
    pub fn new(needed: bool, preferred: BTreeSet<String>) -> Self {
        SecretsCompletion {
            needed,
            pending: Mutex::new(Pending {
                claimed: false,
                preferred,
                first_wave_under_way: false,
            }),
            done: OnceLock::new(),
            changed: Condvar::new(),
        }
    }

    /// The files rendered with the completed secrets, once they exist.
    pub fn completed(&self) -> Option<&Rendered> {
        self.done.get().and_then(|d| d.as_ref())
    }

    /// `host` claims the completion ([`Turn::Complete`]) if no one has and the claim is not kept
    /// for another host; otherwise it blocks until the result is published.
    pub fn claim_or_wait(&self, host: &str) -> Turn<'_> {
        if !self.needed {
            return Turn::Done(None);
        }
        let mut pending = self.pending.lock().unwrap();
        loop {
            if let Some(done) = self.done.get() {
                return Turn::Done(done.as_ref());
            }
            if Self::claim_if_free(&mut pending, host) {
                return Turn::Complete(Claim { completion: self });
            }
            pending = self.changed.wait(pending).unwrap();
        }
    }

    /// [`SecretsCompletion::claim_or_wait`] without the wait: the claim when `host` may take it
    /// now, else `None` (someone else claimed, it is kept for another host, or it is done).
    pub fn try_claim(&self, host: &str) -> Option<Claim<'_>> {
        if !self.needed || self.done.get().is_some() {
            return None;
        }
        let mut pending = self.pending.lock().unwrap();
        Self::claim_if_free(&mut pending, host).then(|| Claim { completion: self })
    }

    fn claim_if_free(pending: &mut Pending, host: &str) -> bool {
        let mine = pending.preferred.is_empty() || pending.preferred.contains(host);
        if pending.claimed || !mine {
            return false;
        }
        pending.claimed = true;
        true
    }

    /// A host outside the first wave waits here, before writing its files, while a first-wave
    /// host may still complete the secrets: it then writes the completed file in its one upload
    /// instead of writing the secrets twice, and its wait costs nothing (its wave comes later).
    /// Once the secrets are completed it still waits for the first wave's reconfigure to be
    /// under way ([`SecretsCompletion::first_wave_under_way`]), so as not to compete with its
    /// launch.
    pub fn wait_unless_first_wave(&self, host: &str) {
        if !self.needed {
            return;
        }
        let mut pending = self.pending.lock().unwrap();
        while (self.done.get().is_none() || !pending.first_wave_under_way)
            && !pending.preferred.is_empty()
            && !pending.preferred.contains(host)
        {
            pending = self.changed.wait(pending).unwrap();
        }
    }

    /// The first wave's reconfigure has started (its first line arrived), ended, or will not
    /// run: hosts of later waves may write their files. Called on every path out of the waves
    /// (see [`UnderWayOnDrop`]), so no host waits forever.
    pub fn first_wave_under_way(&self) {
        let mut pending = self.pending.lock().unwrap();
        if !pending.first_wave_under_way {
            pending.first_wave_under_way = true;
            self.changed.notify_all();
        }
    }

    /// Calls [`SecretsCompletion::first_wave_under_way`] when dropped.
    pub fn under_way_on_drop(&self) -> UnderWayOnDrop<'_> {
        UnderWayOnDrop(self)
    }

    /// `host` will not get here (it failed or was never started): the claim is no longer kept
    /// for it.
    pub fn withdraw(&self, host: &str) {
        let mut pending = self.pending.lock().unwrap();
        if pending.preferred.remove(host) {
            self.changed.notify_all();
        }
    }

    /// The first publication wins (a claim publishes once, then its drop finds it set).
    fn publish(&self, completed: Option<Rendered>) {
        let _ = self.done.set(completed);
        let _pending = self.pending.lock().unwrap();
        self.changed.notify_all();
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
        let c = SecretsCompletion::new(false, BTreeSet::new());
        assert!(matches!(c.claim_or_wait("a"), Turn::Done(None)));
        assert!(c.completed().is_none());
    }

    #[test]
    fn the_first_host_claims_and_the_others_wait_for_its_result() {
        let c = SecretsCompletion::new(true, BTreeSet::new());
        let Turn::Complete(claim) = c.claim_or_wait("a") else {
            panic!("the first host must claim");
        };
        std::thread::scope(|s| {
            let waiters: Vec<_> = (0..3)
                .map(|_| {
                    s.spawn(|| match c.claim_or_wait("b") {
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
        let c = SecretsCompletion::new(true, BTreeSet::new());
        let claim = c.claim_or_wait("a");
        std::thread::scope(|s| {
            let waiter = s.spawn(|| matches!(c.claim_or_wait("b"), Turn::Done(None)));
            drop(claim);
            assert!(waiter.join().unwrap());
        });
    }

    fn first_wave(hosts: &[&str]) -> BTreeSet<String> {
        hosts.iter().map(|h| h.to_string()).collect()
    }

    #[test]
    fn a_host_of_a_later_wave_waits_for_the_first_wave_to_complete() {
        let c = SecretsCompletion::new(true, first_wave(&["db-master"]));
        std::thread::scope(|s| {
            // app-1 gets there first, but does not claim: db-master will.
            let early = s.spawn(|| match c.claim_or_wait("app-1") {
                Turn::Done(Some(r)) => r.secret_values[0].clone(),
                Turn::Done(None) => "none".into(),
                Turn::Complete(_) => "app-1 claimed".into(),
            });
            std::thread::sleep(std::time::Duration::from_millis(20));
            let Turn::Complete(claim) = c.claim_or_wait("db-master") else {
                panic!("db-master must claim");
            };
            claim.publish(Some(rendered("by db-master")));
            assert_eq!(early.join().unwrap(), "by db-master");
        });
    }

    #[test]
    fn when_the_first_wave_cannot_come_another_host_claims() {
        let c = SecretsCompletion::new(true, first_wave(&["db-master"]));
        std::thread::scope(|s| {
            let waiter = s.spawn(|| matches!(c.claim_or_wait("app-1"), Turn::Complete(_)));
            std::thread::sleep(std::time::Duration::from_millis(20));
            c.withdraw("db-master");
            assert!(waiter.join().unwrap(), "app-1 claims once db-master is out");
        });
    }

    #[test]
    fn later_hosts_wait_before_writing_until_the_first_wave_has_completed() {
        let c = SecretsCompletion::new(true, first_wave(&["db-master"]));
        // A first-wave host never waits.
        c.wait_unless_first_wave("db-master");
        std::thread::scope(|s| {
            let later = s.spawn(|| {
                c.wait_unless_first_wave("app-1");
                c.completed().map(|r| r.secret_values[0].clone())
            });
            std::thread::sleep(std::time::Duration::from_millis(20));
            let Turn::Complete(claim) = c.claim_or_wait("db-master") else {
                panic!("db-master must claim");
            };
            claim.publish(Some(rendered("by db-master")));
            // Completed, but db-master's reconfigure is not under way yet: app-1 still waits.
            std::thread::sleep(std::time::Duration::from_millis(20));
            assert!(
                !later.is_finished(),
                "app-1 waits for the first wave to be under way"
            );
            c.first_wave_under_way();
            assert_eq!(later.join().unwrap().as_deref(), Some("by db-master"));
        });
        // The wave stage's guard releases them however it ends.
        let c = SecretsCompletion::new(true, first_wave(&["db-master"]));
        std::thread::scope(|s| {
            let later = s.spawn(|| c.wait_unless_first_wave("app-1"));
            let Turn::Complete(claim) = c.claim_or_wait("db-master") else {
                panic!("db-master must claim");
            };
            claim.publish(None);
            drop(c.under_way_on_drop());
            later.join().unwrap();
        });
        // Without a first wave to wait for (or once it failed), nobody waits.
        let c = SecretsCompletion::new(true, BTreeSet::new());
        c.wait_unless_first_wave("app-1");
        let c = SecretsCompletion::new(true, first_wave(&["db-master"]));
        c.withdraw("db-master");
        c.wait_unless_first_wave("app-1");
    }

    #[test]
    fn a_claim_taken_without_waiting_can_be_given_back_to_another_host() {
        let c = SecretsCompletion::new(true, ["a".to_string(), "b".to_string()].into());
        assert!(c.try_claim("x").is_none(), "kept for the first wave");
        let claim = c.try_claim("a").expect("free and kept for a");
        assert!(c.try_claim("b").is_none(), "already claimed");
        std::thread::scope(|s| {
            let other = s.spawn(|| match c.claim_or_wait("b") {
                Turn::Complete(claim) => {
                    claim.publish(Some(rendered("by b")));
                    "b completed"
                }
                Turn::Done(_) => "b waited",
            });
            std::thread::sleep(std::time::Duration::from_millis(20));
            // a could not write its files: b claims instead, and nothing was published.
            claim.release("a");
            assert_eq!(other.join().unwrap(), "b completed");
        });
        assert_eq!(c.completed().unwrap().secret_values, ["by b"]);
        assert!(c.try_claim("a").is_none(), "done");
    }
}
