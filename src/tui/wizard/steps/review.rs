//! Review: what is still wrong (with the words of profile validation), the firewall rules the
//! deployment needs, and the exact profile file that will be saved.

use crate::tui::text::wrap;
use crate::tui::theme::Theme;
use crate::tui::wizard::Wizard;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;
use ratatui::Frame;

pub fn render(w: &Wizard, frame: &mut Frame, area: Rect, theme: Theme) {
    let width = (area.width as usize).saturating_sub(6);
    let path = w.target_path();
    let mut lines: Vec<Line> = Vec::new();
    let Some(review) = &w.review else {
        lines.push(Line::styled(" Checking the profile…", theme.running()));
        frame.render_widget(Paragraph::new(lines), area);
        return;
    };
    if review.problems.is_empty() {
        let head = match &w.saved {
            Some(p) => format!(" Saved {}", p.display()),
            None => format!(" Ready to save {} — press Enter", path.display()),
        };
        lines.push(Line::styled(head, theme.ok()));
    } else {
        lines.push(Line::styled(
            format!(
                " {} problem(s) to fix before saving — Enter takes you to the first:",
                review.problems.len()
            ),
            theme.error(),
        ));
        for (key, message) in &review.problems {
            for (i, l) in wrap(&format!("{key}: {message}"), width)
                .into_iter()
                .enumerate()
            {
                let lead = if i == 0 { "   ✗ " } else { "     " };
                lines.push(Line::styled(format!("{lead}{l}"), theme.error()));
            }
        }
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        " Firewall rules this deployment needs (scalr-installer ports):",
        theme.label(),
    ));
    match &review.firewall {
        Ok(rules) => lines.extend(rules.iter().map(|r| Line::raw(format!("   {r}")))),
        Err(e) => lines.push(Line::styled(format!("   ({e})"), theme.dim())),
    }
    if !review.toml.is_empty() {
        lines.push(Line::raw(""));
        lines.push(Line::styled(
            format!(" The profile that will be saved ({}):", path.display()),
            theme.label(),
        ));
        lines.extend(review.toml.lines().map(|l| Line::raw(format!("   {l}"))));
    }
    frame.render_widget(Paragraph::new(lines).scroll((w.scroll, 0)), area);
}
