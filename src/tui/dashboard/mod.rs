//! The live dashboard: one row per host, fed only by the engine's run events.

pub mod state;
pub mod view;

pub use state::{DashboardCommand, DashboardState, HostInfo, View, WaveState};

use crate::tui::events::{RunEvent, Summary};
use crate::tui::terminal::{Input, Terminal, TerminalError};
use std::sync::mpsc::{Receiver, TryRecvError};
use std::time::{Duration, SystemTime};

/// How the dashboard ended.
#[derive(Debug, Clone, PartialEq)]
pub enum DashboardExit {
    /// The run finished and the operator left.
    Finished(Summary),
    /// The operator left (or a signal arrived) while remote steps may still run.
    Left { still_running: bool },
}

/// Shows `events` live until the operator leaves. `retry` starts `apply` again on the failed
/// hosts and returns its events; the dashboard then follows those.
pub fn run_dashboard(
    events: Receiver<RunEvent>,
    mut state: DashboardState,
    retry: &mut dyn FnMut(Vec<String>) -> Receiver<RunEvent>,
) -> Result<DashboardExit, TerminalError> {
    let mut term = Terminal::enter()?;
    let theme = term.theme();
    let mut events = Some(events);
    loop {
        if let Some(rx) = &events {
            loop {
                match rx.try_recv() {
                    Ok(event) => state.apply(&event),
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => {
                        events = None;
                        break;
                    }
                }
            }
        }
        term.draw(|f| view::view(&state, f, theme, SystemTime::now()))?;
        match term.next_input(Duration::from_millis(100))? {
            Input::Key(key) => match state.on_key(key) {
                Some(DashboardCommand::Leave) => {
                    return Ok(match state.summary {
                        Some(summary) if !state.running() => DashboardExit::Finished(summary),
                        _ => DashboardExit::Left {
                            still_running: state.running(),
                        },
                    })
                }
                Some(DashboardCommand::Retry(hosts)) => {
                    state.begin_retry(&hosts);
                    events = Some(retry(hosts));
                }
                None => {}
            },
            Input::Terminate => {
                return Ok(DashboardExit::Left {
                    still_running: state.running(),
                })
            }
            Input::Resize | Input::None => {}
        }
    }
}

#[cfg(test)]
mod tests;
