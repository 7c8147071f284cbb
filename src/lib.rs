//! scalr-installer: a guided, re-runnable installer for Scalr Server.
//!
//! Data flows one way: `profile` (what the operator wants) → `topology` and `render` (what each
//! host must hold) → the engine's plan and run events → the views.

pub mod profile;
pub mod prompt;
pub mod secrets;
pub mod state;
pub mod topology;
pub mod tui;
