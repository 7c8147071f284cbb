//! Draws the wizard: a header with the steps, the current page, then help, status and keys.
//! Pure: reads the model, writes the frame.

use super::steps;
use super::{Screen, Status, Wizard};
use crate::tui::questions::Step;
use crate::tui::theme::Theme;
use crate::tui::{too_small, MIN_HEIGHT, MIN_WIDTH};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};
use ratatui::Frame;

pub fn view(w: &Wizard, frame: &mut Frame, theme: Theme) {
    let area = frame.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        too_small(frame, theme);
        return;
    }
    let [header, body, help, status, keys] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Min(5),
        Constraint::Length(2),
        Constraint::Length(2),
        Constraint::Length(1),
    ])
    .areas(area);

    frame.render_widget(Paragraph::new(header_lines(w, theme)), header);
    let block = Block::new().borders(Borders::TOP).border_style(theme.dim());
    let inner = block.inner(body);
    frame.render_widget(block, body);

    match &w.screen {
        Screen::Start { profiles, selected } => {
            steps::start::render(profiles, *selected, frame, inner, theme)
        }
        Screen::Plan => steps::plan::render(w, frame, inner, theme),
        Screen::Step(step) => match step {
            Step::Layout => steps::layout::render(w, frame, inner, theme),
            Step::Hosts => steps::hosts::render(w, frame, inner, theme),
            Step::Os => steps::os::render(w, frame, inner, theme),
            Step::Network => steps::network::render(w, frame, inner, theme),
            Step::Package => steps::package::render(w, frame, inner, theme),
            Step::Ssh => steps::ssh::render(w, frame, inner, theme),
            Step::Review => steps::review::render(w, frame, inner, theme),
        },
    }

    let help_text = w.focused().map(|q| q.help).unwrap_or("");
    frame.render_widget(
        Paragraph::new(help_text)
            .style(theme.dim())
            .wrap(Wrap { trim: true }),
        help,
    );
    if let Some(s) = &w.status {
        let (text, style) = match s {
            Status::Info(t) => (t.as_str(), theme.ok()),
            Status::Error(t) => (t.as_str(), theme.error()),
        };
        frame.render_widget(
            Paragraph::new(text).style(style).wrap(Wrap { trim: true }),
            status,
        );
    }
    frame.render_widget(Paragraph::new(keys_line(w)).style(theme.keys()), keys);
}

fn header_lines(w: &Wizard, theme: Theme) -> Vec<Line<'static>> {
    let title = match &w.opened {
        Some(p) => format!(" Scalr Server installer — changing {}", p.display()),
        None => " Scalr Server installer — new deployment".to_string(),
    };
    let mut tabs = vec![Span::raw(" ")];
    let current = w.step();
    for (i, step) in Step::ALL.iter().enumerate() {
        if i > 0 {
            tabs.push(Span::styled(" › ", theme.dim()));
        }
        let text = format!("{} {}", i + 1, short_title(*step));
        if Some(*step) == current || (matches!(w.screen, Screen::Plan) && *step == Step::Review) {
            tabs.push(Span::styled(text, theme.focus()));
        } else {
            tabs.push(Span::raw(text));
        }
    }
    vec![Line::styled(title, theme.title()), Line::from(tabs)]
}

fn short_title(step: Step) -> &'static str {
    match step {
        Step::Os => "OS",
        Step::Ssh => "SSH",
        other => other.title(),
    }
}

fn keys_line(w: &Wizard) -> String {
    let text = match &w.screen {
        Screen::Start { .. } => " ↑↓ choose · Enter open · Ctrl+C quit",
        Screen::Plan => " y install as planned · ↑↓ scroll · Esc back · q quit",
        Screen::Step(Step::Review) if w.saved.is_some() => {
            " c checks · i plan & install · q quit · Esc back"
        }
        Screen::Step(Step::Review) => " Enter save · ↑↓ scroll · Esc back · Ctrl+C quit",
        Screen::Step(Step::Os) => {
            " Tab/↓ next · ←→ choose · Ctrl+D detect over SSH · PgDn next step · Esc back"
        }
        Screen::Step(Step::Hosts) if w.draft.layout() == crate::profile::Layout::Custom => {
            " Tab/↓ next · Space toggle · Ctrl+N add host · Ctrl+X remove · PgDn next · Esc back"
        }
        Screen::Step(_) => {
            " Tab/↓ next · ↑ previous · ←→ choose · Enter next · PgDn next step · Esc back · Ctrl+C quit"
        }
    };
    text.to_string()
}

/// Lays `rect` out as a form above and a free area below, for steps that show both.
pub fn split(rect: Rect, form_lines: u16) -> (Rect, Rect) {
    let [top, bottom] =
        Layout::vertical([Constraint::Length(form_lines), Constraint::Min(0)]).areas(rect);
    (top, bottom)
}
