//! The install engine: connects to every host, learns its facts, checks it, plans, and applies in
//! wave order, emitting typed [`events`] that the views consume. Knows nothing about terminals.

pub mod bind;
pub mod commands;
pub mod desired;
pub mod detached;
pub mod events;
pub mod phases;
pub mod plan;
pub mod reconfigure_output;
pub mod remote;
pub mod run;
#[cfg(test)]
mod run_tests;
pub mod rundir;
pub mod scheduler;
pub mod secrets_completion;
pub mod ssh_remote;
