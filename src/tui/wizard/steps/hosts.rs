//! Hosts: a table of every VM (name, address, private address, role or modules, SSH overrides)
//! and, below it, the answers of the selected host. Custom layouts add and remove hosts and
//! assign modules per host.

use super::{form, form_height};
use crate::profile::Layout;
use crate::tui::questions::{HostKey, Key};
use crate::tui::text::ellipsize;
use crate::tui::theme::Theme;
use crate::tui::wizard::view::split;
use crate::tui::wizard::Wizard;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Row, Table};
use ratatui::Frame;

pub fn render(w: &Wizard, frame: &mut Frame, area: Rect, theme: Theme) {
    let d = &w.draft;
    let selected = w.focused_host().unwrap_or(0);
    let (table_area, rest) = split(area, d.hosts.len() as u16 + 2);
    let what = if d.layout() == Layout::Custom {
        "modules"
    } else {
        "role"
    };
    let header = Row::new([
        "", "name", "address", "private", what, "user", "port", "key",
    ])
    .style(theme.dim());
    let rows = d.hosts.iter().enumerate().map(|(i, h)| {
        let placed = match d.layout() {
            Layout::Ha => h.role.clone(),
            Layout::Compact => "everything".into(),
            Layout::Custom => h.modules.replace(',', " "),
        };
        let row = Row::new([
            if i == selected { "▸" } else { " " }.to_string(),
            ellipsize(&h.name, 10),
            ellipsize(&h.address, 15),
            ellipsize(&h.private_address, 15),
            ellipsize(&placed, 18),
            h.user.clone(),
            h.port.clone(),
            ellipsize(&h.ssh_key, 10),
        ]);
        let bad = [HostKey::Name, HostKey::Address]
            .iter()
            .any(|k| w.shown_error(Key::Host(i, *k)).is_some());
        if i == selected {
            row.style(theme.label())
        } else if bad {
            row.style(theme.error())
        } else {
            row
        }
    });
    let widths = [
        Constraint::Length(1),
        Constraint::Length(10),
        Constraint::Length(15),
        Constraint::Length(15),
        Constraint::Length(18),
        Constraint::Length(6),
        Constraint::Length(5),
        Constraint::Min(4),
    ];
    frame.render_widget(Table::new(rows, widths).header(header), table_area);

    let qs: Vec<_> = w
        .questions()
        .into_iter()
        .filter(|q| matches!(q.key, Key::Host(i, _) if i == selected))
        .collect();
    let title = format!(
        " Host {} of {} — {}",
        selected + 1,
        d.hosts.len(),
        d.hosts.get(selected).map(|h| h.name.as_str()).unwrap_or("")
    );
    let (title_area, form_area) = split(rest, 1);
    frame.render_widget(
        Paragraph::new(Line::styled(title, theme.label())),
        title_area,
    );
    let _ = form_height(&qs);
    form(
        w,
        &qs,
        |q| {
            q.label
                .split_once(": ")
                .map(|(_, what)| what.to_string())
                .unwrap_or_else(|| q.label.clone())
        },
        frame,
        form_area,
        theme,
    );
}
