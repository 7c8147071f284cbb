//! The plan: before a re-run applies anything, which files change on which hosts, what is
//! installed, and which hosts are reconfigured in what order — as the engine computed it.

use crate::tui::events::PlannedChange;
use crate::tui::theme::Theme;
use crate::tui::wizard::Wizard;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;
use ratatui::Frame;

/// Diff lines shown per file; the full diff is in `scalr-installer plan`.
const DIFF_LINES: usize = 6;

pub fn render(w: &Wizard, frame: &mut Frame, area: Rect, theme: Theme) {
    let mut lines: Vec<Line> = Vec::new();
    let saved = w
        .saved
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    lines.push(Line::styled(
        format!(" What `apply --profile {saved}` will do:"),
        theme.label(),
    ));
    let Some(plan) = &w.plan else {
        frame.render_widget(Paragraph::new(lines), area);
        return;
    };
    for (host, changes) in &plan.hosts {
        lines.push(Line::styled(format!(" {host}"), theme.label()));
        if changes.is_empty() {
            lines.push(Line::styled("   nothing to change", theme.dim()));
        }
        for change in changes {
            match change {
                PlannedChange::InstallPackage { version } => {
                    lines.push(Line::raw(format!("   + install scalr-server {version}")))
                }
                PlannedChange::UpgradePackage { from, to } => lines.push(Line::raw(format!(
                    "   ↑ upgrade scalr-server {from} → {to}"
                ))),
                PlannedChange::WriteFile {
                    path,
                    diff,
                    created,
                } => {
                    let what = if *created { "new" } else { "changed" };
                    lines.push(Line::raw(format!("   ~ {path} ({what})")));
                    let changed: Vec<&str> = diff
                        .lines()
                        .filter(|l| {
                            (l.starts_with('+') || l.starts_with('-'))
                                && !l.starts_with("+++")
                                && !l.starts_with("---")
                        })
                        .collect();
                    for l in changed.iter().take(DIFF_LINES) {
                        let style = if l.starts_with('+') {
                            theme.ok()
                        } else {
                            theme.error()
                        };
                        lines.push(Line::styled(format!("       {l}"), style));
                    }
                    if changed.len() > DIFF_LINES {
                        lines.push(Line::styled(
                            format!("       … {} more changed lines", changed.len() - DIFF_LINES),
                            theme.dim(),
                        ));
                    }
                }
                PlannedChange::Reconfigure { why } => {
                    lines.push(Line::raw(format!("   ↻ reconfigure: {why}")))
                }
                PlannedChange::Replication => lines.push(Line::raw("   ⇄ start MySQL replication")),
            }
        }
    }
    for notice in &plan.notices {
        lines.push(Line::styled(format!(" ! {notice}"), theme.warn()));
    }
    lines.push(Line::raw(""));
    if let Some(error) = &plan.failed {
        lines.push(Line::styled(
            format!(" The plan failed: {error}"),
            theme.error(),
        ));
    } else if plan.finished {
        if plan.reconfigure_order.is_empty() {
            lines.push(Line::raw(" No host needs a reconfigure."));
        } else {
            lines.push(Line::raw(format!(
                " Reconfigured in this order: {}",
                plan.reconfigure_order.join(" → ")
            )));
        }
        lines.push(Line::styled(
            " Press y to install as planned, Esc to change answers.",
            theme.ok(),
        ));
    } else {
        lines.push(Line::styled(" Waiting for the engine…", theme.running()));
    }
    frame.render_widget(Paragraph::new(lines).scroll((w.scroll, 0)), area);
}
