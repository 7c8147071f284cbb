//! One file per wizard page. Form pages share [`form`], which draws questions with their
//! answers and, under a wrong answer, the rule's message.

pub mod hosts;
pub mod layout;
pub mod network;
pub mod os;
pub mod package;
pub mod plan;
pub mod review;
pub mod ssh;
pub mod start;

use super::Wizard;
use crate::tui::questions::{Kind, Question};
use crate::tui::text::wrap;
use crate::tui::theme::Theme;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

const LABEL_WIDTH: usize = 20;

/// Draws `qs` as a form; `label` turns a question into the text shown on its left.
pub fn form(
    w: &Wizard,
    qs: &[Question],
    label: impl Fn(&Question) -> String,
    frame: &mut Frame,
    area: Rect,
    theme: Theme,
) {
    let focused = w.focused().map(|q| q.key);
    let value_width = (area.width as usize).saturating_sub(LABEL_WIDTH + 3);
    let mut lines: Vec<Line> = Vec::new();
    let mut cursor: Option<(usize, usize)> = None;
    let mut focus_line = 0;
    for q in qs {
        let is_focus = Some(q.key) == focused;
        if is_focus {
            focus_line = lines.len();
        }
        let marker = if is_focus { "▸ " } else { "  " };
        let name = format!("{:<LABEL_WIDTH$} ", label(q));
        let head = vec![
            Span::raw(marker),
            Span::styled(name, if is_focus { theme.label() } else { theme.dim() }),
        ];
        let value = w.draft.get(q.key);
        match &q.kind {
            Kind::Text { optional } => {
                let mut spans = head;
                if value.is_empty() {
                    let hint = if *optional { "(empty)" } else { "(required)" };
                    spans.push(Span::styled(hint, theme.dim()));
                } else {
                    spans.push(Span::styled(
                        value.to_string(),
                        if is_focus {
                            theme.label()
                        } else {
                            Default::default()
                        },
                    ));
                }
                if is_focus {
                    cursor = Some((lines.len(), LABEL_WIDTH + 3 + w.cursor.min(value_width)));
                }
                lines.push(Line::from(spans));
            }
            Kind::Choice(choices) => {
                let shown = choices
                    .iter()
                    .find(|c| c.value == value)
                    .map(|c| c.label)
                    .unwrap_or(value);
                let mut spans = head;
                let text = format!("‹ {shown} ›");
                spans.push(Span::styled(
                    text,
                    if is_focus {
                        theme.focus()
                    } else {
                        Default::default()
                    },
                ));
                lines.push(Line::from(spans));
            }
            Kind::Multi(choices) => {
                let picked: Vec<&str> = value.split(',').map(str::trim).collect();
                let mut spans = head;
                for (i, c) in choices.iter().enumerate() {
                    if i > 0 && i % 4 == 0 {
                        lines.push(Line::from(std::mem::take(&mut spans)));
                        spans.push(Span::raw(" ".repeat(LABEL_WIDTH + 3)));
                    }
                    let mark = if picked.contains(&c.value) {
                        "[x]"
                    } else {
                        "[ ]"
                    };
                    let style = if is_focus && i == w.option {
                        theme.focus()
                    } else {
                        Default::default()
                    };
                    spans.push(Span::styled(format!("{mark} {:<12}", c.value), style));
                }
                lines.push(Line::from(spans));
            }
        }
        if let Some(error) = w.shown_error(q.key) {
            for (i, l) in wrap(&error, value_width.max(20)).into_iter().enumerate() {
                let lead = if i == 0 { "✗ " } else { "  " };
                lines.push(Line::from(vec![
                    Span::raw(" ".repeat(LABEL_WIDTH + 1)),
                    Span::styled(format!("{lead}{l}"), theme.error()),
                ]));
            }
        }
    }
    let height = area.height as usize;
    let offset = (focus_line + 2).saturating_sub(height);
    frame.render_widget(Paragraph::new(lines).scroll((offset as u16, 0)), area);
    if let Some((line, col)) = cursor {
        if line >= offset && line - offset < height && col < area.width as usize {
            frame.set_cursor_position((area.x + col as u16, area.y + (line - offset) as u16));
        }
    }
}

/// How many lines [`form`] needs for `qs` without errors (multi choices take two).
pub fn form_height(qs: &[Question]) -> u16 {
    qs.iter()
        .map(|q| match q.kind {
            Kind::Multi(_) => 2,
            _ => 1,
        })
        .sum()
}
