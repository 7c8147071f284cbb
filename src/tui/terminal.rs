//! The terminal's lifecycle: raw mode and the alternate screen on the way in, and always
//! restored on the way out — on success, error, panic, Ctrl-C, SIGTERM, SIGHUP and SIGINT.

use crate::tui::theme::Theme;
use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::event::{self, Event, KeyEvent, KeyEventKind};
use ratatui::crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen,
};
use ratatui::crossterm::{cursor, execute};
use ratatui::Frame;
use std::io::{IsTerminal, Stdout};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Once};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum TerminalError {
    #[error(
        "no terminal: the wizard needs one (stdin and stdout must be a terminal) — \
         run it in a terminal, or install headless with `scalr-installer apply --profile PROFILE`"
    )]
    NotATerminal,
    #[error(
        "the terminal failed: {0} — run the wizard again, or use `scalr-installer wizard --plain`"
    )]
    Io(#[from] std::io::Error),
}

/// What the event loop receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Key(KeyEvent),
    Resize,
    /// SIGTERM, SIGHUP or SIGINT arrived: leave now (the terminal is restored on drop).
    Terminate,
    None,
}

/// Whether the full-screen and line-mode front ends can run here.
pub fn has_terminal() -> bool {
    std::io::stdin().is_terminal() && std::io::stdout().is_terminal()
}

/// Puts the terminal back as the shell expects it. Safe to call more than once.
pub fn restore() {
    let _ = disable_raw_mode();
    let _ = execute!(std::io::stdout(), LeaveAlternateScreen, cursor::Show);
}

fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            previous(info);
        }));
    });
}

/// The full-screen terminal; dropping it restores the screen.
pub struct Terminal {
    inner: ratatui::Terminal<CrosstermBackend<Stdout>>,
    stop: Arc<AtomicBool>,
    signals: Vec<signal_hook::SigId>,
    theme: Theme,
}

impl Terminal {
    pub fn enter() -> Result<Terminal, TerminalError> {
        if !has_terminal() {
            return Err(TerminalError::NotATerminal);
        }
        install_panic_hook();
        let stop = Arc::new(AtomicBool::new(false));
        let mut signals = Vec::new();
        for signal in [
            signal_hook::consts::SIGTERM,
            signal_hook::consts::SIGHUP,
            signal_hook::consts::SIGINT,
        ] {
            signals.push(signal_hook::flag::register(signal, stop.clone())?);
        }
        enable_raw_mode()?;
        let mut stdout = std::io::stdout();
        if let Err(e) = execute!(stdout, EnterAlternateScreen, cursor::Hide) {
            restore();
            return Err(e.into());
        }
        let inner =
            ratatui::Terminal::new(CrosstermBackend::new(stdout)).inspect_err(|_| restore())?;
        Ok(Terminal {
            inner,
            stop,
            signals,
            theme: Theme::from_env(),
        })
    }

    pub fn theme(&self) -> Theme {
        self.theme
    }

    pub fn draw(&mut self, render: impl FnOnce(&mut Frame)) -> Result<(), TerminalError> {
        self.inner.draw(render)?;
        Ok(())
    }

    /// Waits up to `timeout` for a key, a resize or a termination signal.
    pub fn next_input(&mut self, timeout: Duration) -> Result<Input, TerminalError> {
        if self.stop.load(Ordering::Relaxed) {
            return Ok(Input::Terminate);
        }
        if !event::poll(timeout)? {
            return Ok(if self.stop.load(Ordering::Relaxed) {
                Input::Terminate
            } else {
                Input::None
            });
        }
        Ok(match event::read()? {
            Event::Key(key) if key.kind == KeyEventKind::Press => Input::Key(key),
            Event::Resize(_, _) => {
                self.inner.autoresize()?;
                Input::Resize
            }
            _ => Input::None,
        })
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        restore();
        for id in self.signals.drain(..) {
            signal_hook::low_level::unregister(id);
        }
    }
}
