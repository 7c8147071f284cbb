//! SSH access: the login user and port, key or agent, sudo, the host-key policy, an extra
//! known_hosts file and a jump host. Passwords are never asked here nor stored: they are read when needed.

use super::form;
use crate::tui::theme::Theme;
use crate::tui::wizard::Wizard;
use ratatui::layout::Rect;
use ratatui::Frame;

pub fn render(w: &Wizard, frame: &mut Frame, area: Rect, theme: Theme) {
    form(w, &w.questions(), |q| q.label.clone(), frame, area, theme);
}
