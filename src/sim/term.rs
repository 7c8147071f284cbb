//! The status tags `scalr-server-ctl` prints, coloured only when stdout is a terminal.

use std::io::IsTerminal;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tag {
    Ok,
    Skipped,
    Failed,
}

impl Tag {
    pub fn plain(self) -> &'static str {
        match self {
            Tag::Ok => "[ OK ]",
            Tag::Skipped => "[ SKIPPED ]",
            Tag::Failed => "[ FAILED ]",
        }
    }

    /// The tag as printed: green, yellow or red on a terminal, plain otherwise.
    pub fn render(self, colour: bool) -> String {
        if !colour {
            return self.plain().to_string();
        }
        let code = match self {
            Tag::Ok => "32",
            Tag::Skipped => "33",
            Tag::Failed => "31",
        };
        format!("\x1b[{code}m{}\x1b[0m", self.plain())
    }
}

pub fn stdout_is_tty() -> bool {
    std::io::stdout().is_terminal()
}

/// Prints without a newline and flushes, so a step's description shows while it runs.
pub fn print_flush(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

/// Whether the caller is root; the real tools refuse to change the system otherwise.
pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// Asks on stdin, as apt and yum do without `-y`; end of input means no.
pub fn confirm(prompt: &str, default_yes: bool) -> bool {
    print_flush(prompt);
    let mut answer = String::new();
    match std::io::stdin().read_line(&mut answer) {
        Ok(0) | Err(_) => {
            println!();
            false
        }
        Ok(_) => match answer.trim() {
            "" => default_yes,
            a => a.eq_ignore_ascii_case("y") || a.eq_ignore_ascii_case("yes"),
        },
    }
}

/// Expands `\n` and `\t` in a query format as dpkg-query and rpm do.
pub fn unescape(format: &str) -> String {
    format.replace("\\n", "\n").replace("\\t", "\t")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_coloured_only_for_a_terminal() {
        assert_eq!(Tag::Ok.render(false), "[ OK ]");
        assert_eq!(Tag::Ok.render(true), "\x1b[32m[ OK ]\x1b[0m");
        assert_eq!(Tag::Skipped.render(true), "\x1b[33m[ SKIPPED ]\x1b[0m");
        assert_eq!(Tag::Failed.render(true), "\x1b[31m[ FAILED ]\x1b[0m");
    }
}
