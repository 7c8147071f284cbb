//! `--json`: one event per line on stdout, for scripts and CI.

use crate::engine::events::RunEvent;
use crate::views::View;
use std::io::Write;

pub struct JsonView<W: Write> {
    out: W,
}

impl<W: Write> JsonView<W> {
    pub fn new(out: W) -> JsonView<W> {
        JsonView { out }
    }
}

impl<W: Write> View for JsonView<W> {
    fn event(&mut self, event: &RunEvent) {
        if let Ok(line) = serde_json::to_string(event) {
            // A closed stdout (piped into `head`) must not stop the run.
            let _ = writeln!(self.out, "{line}");
            let _ = self.out.flush();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::events::EventKind;
    use std::time::SystemTime;

    #[test]
    fn each_event_is_one_json_line() {
        let mut buf = Vec::new();
        {
            let mut v = JsonView::new(&mut buf);
            for text in ["a", "b"] {
                v.event(&RunEvent {
                    at: SystemTime::UNIX_EPOCH,
                    host: None,
                    kind: EventKind::Notice { text: text.into() },
                });
            }
        }
        let text = String::from_utf8(buf).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[1]["event"], "notice");
        assert_eq!(lines[1]["text"], "b");
    }
}
