//! The first page when profiles exist: open one to change the deployment, or start anew.

use crate::tui::theme::Theme;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;
use ratatui::Frame;
use std::path::PathBuf;

pub fn render(profiles: &[PathBuf], selected: usize, frame: &mut Frame, area: Rect, theme: Theme) {
    let mut lines = vec![
        Line::styled(
            " Profiles found — open one to change its deployment:",
            theme.label(),
        ),
        Line::raw(""),
    ];
    let entries = profiles
        .iter()
        .map(|p| p.display().to_string())
        .chain(std::iter::once("Start a new profile".to_string()));
    for (i, entry) in entries.enumerate() {
        if i == selected {
            lines.push(Line::styled(format!(" ▸ {entry}"), theme.focus()));
        } else {
            lines.push(Line::raw(format!("   {entry}")));
        }
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        " Opening a profile pre-fills every answer; after your changes the review shows the",
        theme.dim(),
    ));
    lines.push(Line::styled(
        " engine's plan — which files change on which hosts — before anything is applied.",
        theme.dim(),
    ));
    frame.render_widget(Paragraph::new(lines), area);
}
