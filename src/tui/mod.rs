//! The terminal front ends: the full-screen wizard, the live dashboard, and what they share.
//!
//! Nothing here talks SSH: the engine is reached only through [`backend::Backend`] and its
//! event stream.

pub mod backend;
pub mod dashboard;
pub mod events;
pub mod questions;
pub mod terminal;
pub mod text;
pub mod theme;
pub mod wizard;

pub use backend::Backend;
pub use dashboard::{run_dashboard, DashboardExit, DashboardState};
pub use wizard::{Next, Wizard, WizardOutcome};

use ratatui::layout::Alignment;
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;
use std::path::PathBuf;

/// Below this the layouts do not fit; the screen says so instead of drawing a broken one.
pub const MIN_WIDTH: u16 = 80;
pub const MIN_HEIGHT: u16 = 24;

/// The message shown when the terminal is smaller than 80×24.
pub fn too_small(frame: &mut Frame, theme: theme::Theme) {
    let area = frame.area();
    let text = format!(
        "The terminal is {}×{}; the installer needs at least {MIN_WIDTH}×{MIN_HEIGHT}. \
         Enlarge the window, or use `scalr-installer wizard --plain`. Ctrl+C quits.",
        area.width, area.height
    );
    frame.render_widget(
        Paragraph::new(text)
            .style(theme.error())
            .alignment(Alignment::Center)
            .wrap(Wrap { trim: true }),
        area,
    );
}

/// How `wizard` starts.
#[derive(Debug, Clone, Default)]
pub struct WizardOptions {
    /// Where profiles are read from and saved to (`profiles/`).
    pub profiles_dir: PathBuf,
    /// `wizard --profile P`: open this profile directly.
    pub profile: Option<PathBuf>,
}

/// The `*.toml` profiles in `dir`, sorted; example profiles are offered too.
pub fn existing_profiles(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    found.sort();
    found
}

/// Runs the full-screen wizard until the operator quits, saves and asks for checks, or accepts
/// the plan. The terminal is restored whatever happens.
pub fn run_wizard(
    opts: &WizardOptions,
    backend: std::sync::Arc<dyn Backend + Send + Sync>,
) -> Result<WizardOutcome, terminal::TerminalError> {
    let mut wizard = Wizard::new(
        opts.profiles_dir.clone(),
        existing_profiles(&opts.profiles_dir),
    );
    let fx = wizard::Effects {
        backend,
        profiles_dir: opts.profiles_dir.clone(),
    };
    let (tx, rx) = std::sync::mpsc::channel();
    if let Some(path) = &opts.profile {
        wizard::execute(wizard::Command::Open(path.clone()), &fx, &tx);
    }
    let mut term = terminal::Terminal::enter()?;
    let theme = term.theme();
    loop {
        while let Ok(msg) = rx.try_recv() {
            if let Some(cmd) = wizard::update(&mut wizard, msg) {
                if let Some(outcome) = wizard::execute(cmd, &fx, &tx) {
                    return Ok(outcome);
                }
            }
        }
        term.draw(|f| wizard::view::view(&wizard, f, theme))?;
        match term.next_input(std::time::Duration::from_millis(100))? {
            terminal::Input::Key(key) => {
                if let Some(cmd) = wizard::update(&mut wizard, wizard::Msg::Key(key)) {
                    if let Some(outcome) = wizard::execute(cmd, &fx, &tx) {
                        return Ok(outcome);
                    }
                }
            }
            terminal::Input::Terminate => {
                return Ok(WizardOutcome {
                    saved: wizard.saved.clone(),
                    next: Next::Quit,
                })
            }
            terminal::Input::Resize | terminal::Input::None => {}
        }
    }
}
