//! Colours, and the lack of them: with `NO_COLOR` set (https://no-color.org) every style keeps
//! its emphasis (bold, reverse) but loses its colour.

use ratatui::style::{Color, Modifier, Style};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    pub color: bool,
}

impl Theme {
    /// Reads `NO_COLOR` once, when the terminal is set up.
    pub fn from_env() -> Theme {
        Theme {
            color: std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        }
    }

    fn fg(self, c: Color) -> Style {
        if self.color {
            Style::new().fg(c)
        } else {
            Style::new()
        }
    }

    pub fn title(self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }
    pub fn focus(self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }
    pub fn label(self) -> Style {
        Style::new().add_modifier(Modifier::BOLD)
    }
    pub fn dim(self) -> Style {
        self.fg(Color::DarkGray)
    }
    pub fn error(self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }
    pub fn ok(self) -> Style {
        self.fg(Color::Green)
    }
    pub fn warn(self) -> Style {
        self.fg(Color::Yellow)
    }
    pub fn running(self) -> Style {
        self.fg(Color::Cyan)
    }
    pub fn keys(self) -> Style {
        self.fg(Color::Gray)
    }
}

impl Default for Theme {
    fn default() -> Self {
        Theme { color: true }
    }
}
