//! Network: the endpoint users reach Scalr at (http or https with a certificate), and how Scalr
//! reaches the instances it manages, globally and per cloud.

use super::form;
use crate::tui::theme::Theme;
use crate::tui::wizard::Wizard;
use ratatui::layout::Rect;
use ratatui::Frame;

pub fn render(w: &Wizard, frame: &mut Frame, area: Rect, theme: Theme) {
    form(w, &w.questions(), |q| q.label.clone(), frame, area, theme);
}
