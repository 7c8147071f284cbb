//! Package: where the scalr-server package comes from (packagecloud with a token kept in the
//! environment, or uploaded files), the version pin, and the licence file.

use super::form;
use crate::tui::theme::Theme;
use crate::tui::wizard::Wizard;
use ratatui::layout::Rect;
use ratatui::Frame;

pub fn render(w: &Wizard, frame: &mut Frame, area: Rect, theme: Theme) {
    form(w, &w.questions(), |q| q.label.clone(), frame, area, theme);
}
