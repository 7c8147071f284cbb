//! Operating system: per host, the OS the operator expects — chosen, or detected over SSH when
//! the hosts are reachable (the engine connects; the wizard only shows the answers).

use super::{form, form_height};
use crate::tui::text::ellipsize;
use crate::tui::theme::Theme;
use crate::tui::wizard::view::split;
use crate::tui::wizard::Wizard;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;
use ratatui::Frame;

pub fn render(w: &Wizard, frame: &mut Frame, area: Rect, theme: Theme) {
    let qs = w.questions();
    let (top, bottom) = split(area, form_height(&qs) + 1);
    form(w, &qs, |q| q.label.clone(), frame, top, theme);
    let mut lines = Vec::new();
    if w.detecting {
        lines.push(Line::styled(
            " Detecting… (connecting to each host)",
            theme.running(),
        ));
    } else if w.detected.is_empty() {
        lines.push(Line::styled(
            " Ctrl+D connects with the SSH step's settings and reads each host's OS.",
            theme.dim(),
        ));
    }
    let width = area.width as usize;
    for (host, result) in &w.detected {
        let (text, style) = match result {
            Ok(os) => (format!(" {host}: detected {}", os.title()), theme.ok()),
            Err(e) => (format!(" {host}: {e}"), theme.error()),
        };
        lines.push(Line::styled(ellipsize(&text, width), style));
    }
    frame.render_widget(Paragraph::new(lines), bottom);
}
