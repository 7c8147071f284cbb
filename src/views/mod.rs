//! Consumers of the engine's event stream for headless commands: plain timestamped lines (stderr
//! not a terminal), live progress bars (stderr a terminal), and JSON lines on stdout (`--json`).
//! The TUI dashboard is another consumer of the same stream.

pub mod json;
pub mod plain;
pub mod progress;
pub mod text;

use crate::engine::events::RunEvent;

/// A view of a run.
pub trait View {
    fn event(&mut self, event: &RunEvent);
}
