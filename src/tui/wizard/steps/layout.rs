//! Layout: the deployment's name, HA / compact / custom, and a diagram of what runs where with
//! the hardware each VM needs (`topology::hardware`).

use super::{form, form_height};
use crate::profile::Layout;
use crate::topology::hardware;
use crate::tui::questions::{draft_modules, Draft};
use crate::tui::theme::Theme;
use crate::tui::wizard::view::split;
use crate::tui::wizard::Wizard;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;
use ratatui::Frame;

pub fn render(w: &Wizard, frame: &mut Frame, area: Rect, theme: Theme) {
    let qs = w.questions();
    let (top, bottom) = split(area, form_height(&qs) + 3);
    form(w, &qs, |q| q.label.clone(), frame, top, theme);
    frame.render_widget(Paragraph::new(diagram(&w.draft, theme)), bottom);
}

/// A picture of the traffic, then one line per VM: its modules and what it needs.
pub fn diagram(d: &Draft, theme: Theme) -> Vec<Line<'static>> {
    let layout = d.layout();
    let mut lines = vec![Line::styled(" What runs where", theme.label())];
    match layout {
        Layout::Ha => {
            lines.push(Line::raw(
                "   users, agents ─▶ load balancer ─▶ app-1, app-2 (proxy, app, session)",
            ));
            lines.push(Line::raw(
                "   app servers ─▶ worker+rabbitmq, influxdb, db-master ══▶ db-slave (replica)",
            ));
        }
        Layout::Compact => lines.push(Line::raw(
            "   users, agents ─▶ one VM running all eight modules (for evaluation)",
        )),
        Layout::Custom => lines.push(Line::raw(
            "   you place the modules; the review checks every layout rule",
        )),
    }
    lines.push(Line::styled(
        format!(
            "   {:<12} {:<40} {:>4} {:>6} {:>7}",
            "VM", "modules", "CPUs", "RAM", "disk*"
        ),
        theme.dim(),
    ));
    for (name, modules) in draft_modules(d) {
        let set = modules.iter().copied().collect();
        let need = hardware::for_host(layout, &set);
        let list = if modules.is_empty() {
            "(none yet)".to_string()
        } else {
            modules
                .iter()
                .map(|m| m.key())
                .collect::<Vec<_>>()
                .join(" · ")
        };
        lines.push(Line::raw(format!(
            "   {:<12} {:<40} {:>4} {:>3} GB {:>4} GB",
            crate::tui::text::ellipsize(&name, 12),
            crate::tui::text::ellipsize(&list, 40),
            need.cpus,
            need.ram_gb,
            need.disk_gb
        )));
    }
    lines.push(Line::styled(
        format!(
            "   * free at {}; the package refuses to run below {} kB of RAM",
            hardware::DATA_MOUNT,
            hardware::MIN_MEM_TOTAL_KB
        ),
        theme.dim(),
    ));
    lines
}
