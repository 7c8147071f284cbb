//! scalr-installer: a guided, re-runnable installer for Scalr Server.
//!
//! Data flows one way: `profile` (what the operator wants) → `topology` and `render` (what each
//! host must hold) → the engine's plan and run events → the views.

pub mod cli;
pub mod commands;
pub mod deploy;
pub mod engine;
pub mod lab;
pub mod ports;
pub mod profile;
pub mod render;
pub mod secrets;
pub mod sim;
pub mod ssh;
pub mod state;
pub mod topology;
pub mod views;
