//! Draws the dashboard: waves, a row per host, and the selected host's detail or output.
//! Pure: `now` is passed in so elapsed times are reproducible in tests.

use super::state::{DashboardState, HostRow, View, WaveState};
use crate::tui::events::{CheckStatus, HostOutcome};
use crate::tui::text::{ellipsize, wrap};
use crate::tui::theme::Theme;
use crate::tui::{too_small, MIN_HEIGHT, MIN_WIDTH};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Row, Table};
use ratatui::Frame;
use std::time::{Duration, SystemTime};

pub fn view(s: &DashboardState, frame: &mut Frame, theme: Theme, now: SystemTime) {
    let area = frame.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        too_small(frame, theme);
        return;
    }
    let table_height = s.hosts.len() as u16 + 3;
    let [header, waves, table, detail, keys] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(table_height),
        Constraint::Min(4),
        Constraint::Length(1),
    ])
    .areas(area);
    frame.render_widget(Paragraph::new(header_line(s, theme, now)), header);
    frame.render_widget(Paragraph::new(waves_line(s, theme)), waves);
    match s.view {
        View::Hosts => {
            hosts_table(s, frame, table, theme, now);
            host_detail(s, frame, detail, theme);
        }
        View::Output => {
            let [table, _] = Layout::vertical([Constraint::Length(0), Constraint::Min(0)])
                .areas(table.union(detail));
            let _ = table;
            output(
                s,
                frame,
                detail.union(table_area_of(area, header, waves)),
                theme,
            );
        }
    }
    frame.render_widget(Paragraph::new(keys_line(s)).style(theme.keys()), keys);
    if s.confirm_leave {
        leave_banner(s, frame, area, theme);
    }
}

/// In the output view the whole middle of the screen is output.
fn table_area_of(area: Rect, header: Rect, waves: Rect) -> Rect {
    Rect {
        x: area.x,
        y: waves.bottom(),
        width: area.width,
        height: area.height.saturating_sub(header.height + waves.height + 1),
    }
}

fn header_line(s: &DashboardState, theme: Theme, now: SystemTime) -> Line<'static> {
    let command = if s.command.is_empty() {
        "waiting for the engine".to_string()
    } else {
        s.command.clone()
    };
    let state = match &s.summary {
        Some(summary) if summary.exit_code == 0 => ("finished: success".to_string(), theme.ok()),
        Some(summary) => (
            format!("finished: exit {}", summary.exit_code),
            theme.error(),
        ),
        None if s.started.is_some() => ("running".to_string(), theme.running()),
        None => ("starting".to_string(), theme.dim()),
    };
    let elapsed = s
        .started
        .map(|t| elapsed(t, s.summary.as_ref().map(|_| latest(s)).unwrap_or(now)))
        .unwrap_or_default();
    Line::from(vec![
        Span::styled(format!(" Scalr Server — {command} "), theme.title()),
        Span::styled(state.0, state.1),
        Span::raw(format!("  {elapsed}")),
    ])
}

/// When the run ended: the last host's finish time.
fn latest(s: &DashboardState) -> SystemTime {
    s.hosts
        .iter()
        .filter_map(|h| h.finished)
        .max()
        .or(s.started)
        .unwrap_or(SystemTime::UNIX_EPOCH)
}

fn waves_line(s: &DashboardState, theme: Theme) -> Line<'static> {
    let mut spans = vec![Span::styled(" waves ", theme.dim())];
    for (i, wave) in s.waves.iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled(" → ", theme.dim()));
        }
        let (mark, style) = match s.wave_state(i) {
            WaveState::Done => ("✓", theme.ok()),
            WaveState::Failed => ("✗", theme.error()),
            WaveState::Running => ("▶", theme.running()),
            WaveState::Waiting => ("·", theme.dim()),
        };
        spans.push(Span::styled(format!("{mark} {}", wave.join(" ")), style));
    }
    Line::from(spans)
}

fn status_of(row: &HostRow, theme: Theme) -> (String, Style) {
    match &row.outcome {
        Some(HostOutcome::Succeeded) => ("✓ done".into(), theme.ok()),
        Some(HostOutcome::Failed { phase, .. }) => (format!("✗ {phase}"), theme.error()),
        Some(HostOutcome::NotAttempted { .. }) => ("– not attempted".into(), theme.warn()),
        Some(HostOutcome::Interrupted { .. }) => ("‖ interrupted".into(), theme.warn()),
        None => match row.phase {
            Some(p) if row.phase_failed => (format!("✗ {p}"), theme.error()),
            Some(p) => (format!("▶ {p}"), theme.running()),
            None => ("· waiting".into(), theme.dim()),
        },
    }
}

/// A text gauge: reconfigure progress while it runs, full when the host is done.
pub fn gauge(row: &HostRow, width: usize) -> String {
    let ratio = match (&row.outcome, row.progress) {
        (Some(HostOutcome::Succeeded), _) => Some(1.0),
        (_, Some((done, total))) if total > 0 => Some((done as f64 / total as f64).min(1.0)),
        _ => None,
    };
    match ratio {
        Some(r) => {
            let filled = (r * width as f64).round() as usize;
            format!(
                "{}{} {:>3}%",
                "█".repeat(filled),
                "░".repeat(width - filled),
                (r * 100.0).round() as u32
            )
        }
        None => format!("{} {:>4}", "░".repeat(width), ""),
    }
}

fn elapsed(from: SystemTime, to: SystemTime) -> String {
    let d = to.duration_since(from).unwrap_or(Duration::ZERO).as_secs();
    if d >= 3600 {
        format!("{}h{:02}m", d / 3600, (d % 3600) / 60)
    } else {
        format!("{}m{:02}s", d / 60, d % 60)
    }
}

fn hosts_table(s: &DashboardState, frame: &mut Frame, area: Rect, theme: Theme, now: SystemTime) {
    let header = Row::new([
        "",
        "host",
        "roles",
        "OS",
        "phase",
        "progress",
        "time",
        "last output",
    ])
    .style(theme.dim());
    let rows = s.hosts.iter().enumerate().map(|(i, h)| {
        let (status, style) = status_of(h, theme);
        let time = h
            .started
            .map(|t| elapsed(t, h.finished.unwrap_or(now)))
            .unwrap_or_default();
        Row::new(vec![
            Span::raw(if i == s.selected { "▸" } else { " " }),
            Span::styled(
                h.info.name.clone(),
                if i == s.selected {
                    theme.label()
                } else {
                    Style::new()
                },
            ),
            Span::raw(ellipsize(&h.info.roles, 12)),
            Span::raw(h.info.os.clone()),
            Span::styled(status, style),
            Span::raw(gauge(h, 6)),
            Span::raw(time),
            Span::styled(h.last_line.clone(), theme.dim()),
        ])
    });
    let widths = [
        Constraint::Length(1),
        Constraint::Length(10),
        Constraint::Length(12),
        Constraint::Length(12),
        Constraint::Length(15),
        Constraint::Length(11),
        Constraint::Length(6),
        Constraint::Min(6),
    ];
    let block = Block::new()
        .borders(Borders::TOP | Borders::BOTTOM)
        .border_style(theme.dim());
    frame.render_widget(Table::new(rows, widths).header(header).block(block), area);
}

/// Under the table: the selected host's failure (error, remote log, last lines), its checks,
/// or its latest output.
fn host_detail(s: &DashboardState, frame: &mut Frame, area: Rect, theme: Theme) {
    let Some(h) = s.hosts.get(s.selected) else {
        return;
    };
    let width = area.width as usize - 2;
    let mut lines: Vec<Line> = Vec::new();
    match &h.outcome {
        Some(HostOutcome::Failed {
            phase,
            error,
            remote_log,
            last_lines,
        }) => {
            lines.push(Line::styled(
                format!(" {} failed in {phase}:", h.info.name),
                theme.error(),
            ));
            for l in wrap(error, width - 2) {
                lines.push(Line::styled(format!("   {l}"), theme.error()));
            }
            if let Some(log) = remote_log {
                lines.push(Line::raw(format!(" remote log: {log} — last lines:")));
            }
            for l in last_lines {
                lines.push(Line::styled(
                    format!("   {}", ellipsize(l, width - 3)),
                    theme.dim(),
                ));
            }
        }
        Some(HostOutcome::NotAttempted { why }) => lines.push(Line::styled(
            format!(" {} was not attempted: {why}", h.info.name),
            theme.warn(),
        )),
        Some(HostOutcome::Interrupted { still_running }) => {
            lines.push(Line::styled(
                format!(" {} was interrupted.", h.info.name),
                theme.warn(),
            ));
            if let Some(step) = still_running {
                lines.push(Line::raw(format!(
                    "   {step} keeps running on the host; `apply` again reattaches to it."
                )));
            }
        }
        _ => {
            if !h.checks.is_empty() {
                lines.push(Line::styled(
                    format!(" {} checks:", h.info.name),
                    theme.label(),
                ));
                for c in &h.checks {
                    let style = match c.status {
                        CheckStatus::Pass => theme.ok(),
                        CheckStatus::Warn => theme.warn(),
                        CheckStatus::Fail => theme.error(),
                    };
                    let fix = c
                        .fix
                        .as_deref()
                        .map(|f| format!(" → {f}"))
                        .unwrap_or_default();
                    lines.push(Line::styled(
                        ellipsize(
                            &format!("   {:<4} {}: {}{fix}", c.status, c.name, c.detail),
                            width,
                        ),
                        style,
                    ));
                }
            } else {
                lines.push(Line::styled(
                    format!(" {} — latest output:", h.info.name),
                    theme.label(),
                ));
                let room = area.height.saturating_sub(1) as usize;
                let start = h.output.len().saturating_sub(room);
                for l in h.output.iter().skip(start) {
                    lines.push(Line::raw(format!("   {}", ellipsize(l, width - 3))));
                }
            }
        }
    }
    for n in &s.notices {
        lines.push(Line::styled(format!(" ! {n}"), theme.warn()));
    }
    frame.render_widget(Paragraph::new(lines), area);
}

/// The selected host's output, following the end unless scrolled back.
fn output(s: &DashboardState, frame: &mut Frame, area: Rect, theme: Theme) {
    let Some(h) = s.hosts.get(s.selected) else {
        return;
    };
    let title = if s.scroll_back == 0 {
        format!(" {} — output (following)", h.info.name)
    } else {
        format!(" {} — output ({} lines up)", h.info.name, s.scroll_back)
    };
    let block = Block::new()
        .borders(Borders::TOP)
        .title(Span::styled(title, theme.label()))
        .border_style(theme.dim());
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let room = inner.height as usize;
    let end = h.output.len().saturating_sub(s.scroll_back);
    let start = end.saturating_sub(room);
    let width = inner.width as usize;
    let lines: Vec<Line> = h
        .output
        .iter()
        .skip(start)
        .take(end - start)
        .map(|l| Line::raw(ellipsize(l, width)))
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}

fn keys_line(s: &DashboardState) -> String {
    let retry = if !s.running() && !s.failed_hosts().is_empty() {
        " · r retry failed"
    } else {
        ""
    };
    match s.view {
        View::Hosts => format!(" ↑↓ select host · Enter follow its output{retry} · q leave"),
        View::Output => format!(" ↑↓ PgUp PgDn scroll · End follow · Esc hosts{retry} · q leave"),
    }
}

fn leave_banner(s: &DashboardState, frame: &mut Frame, area: Rect, theme: Theme) {
    let text = vec![
        Line::styled(" Leave the dashboard? ", theme.label()),
        Line::raw(" Remote steps keep running on the hosts. To reattach, run:"),
        Line::raw(format!(
            "   scalr-installer apply --profile {}",
            s.profile_path
        )),
        Line::raw(" q / y: leave · any other key: stay"),
    ];
    let width = 66.min(area.width);
    let rect = Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + area.height / 2 - 3,
        width,
        height: 6,
    };
    frame.render_widget(ratatui::widgets::Clear, rect);
    frame.render_widget(
        Paragraph::new(text).block(Block::bordered().border_style(theme.warn())),
        rect,
    );
}
