//! The real binary in a pseudo-terminal, its screen read through a terminal emulator.
//!
//! ratatui redraws only what changed, so the byte stream is useless to match against; every
//! byte goes into `vt100` and tests look at the screen a person would see.
#![allow(dead_code)]

use rexpect::session::{spawn_command, PtySession};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

pub struct Term {
    pub session: PtySession,
    pub screen: vt100::Parser,
}

pub const ROWS: u16 = 40;
pub const COLS: u16 = 120;

impl Term {
    /// Starts `bin args…` on a ROWS×COLS terminal (rexpect's pty starts at 0×0).
    pub fn spawn(bin: &Path, args: &[&str], env: &[(&str, String)], cwd: &Path) -> Term {
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(format!(
                "stty rows {ROWS} cols {COLS} && exec \"$0\" \"$@\""
            ))
            .arg(bin)
            .args(args)
            .current_dir(cwd)
            .env("TERM", "xterm-256color")
            .env_remove("NO_COLOR");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let session = spawn_command(cmd, Some(2_000)).expect("spawn in a pty");
        Term {
            session,
            screen: vt100::Parser::new(
                std::num::NonZero::new(ROWS).unwrap(),
                std::num::NonZero::new(COLS).unwrap(),
                0,
            ),
        }
    }

    /// Reads what the program wrote so far into the emulator.
    pub fn pump(&mut self) {
        let mut bytes = Vec::new();
        // rexpect decodes bytes as Latin-1: every char is one original byte.
        while let Some(c) = self.session.try_read() {
            bytes.push(c as u32 as u8);
        }
        if !bytes.is_empty() {
            self.screen.process(&bytes);
        }
    }

    pub fn text(&mut self) -> String {
        self.pump();
        self.screen.screen().contents()
    }

    /// Waits until the screen shows `needle`; panics with the screen otherwise.
    pub fn wait_for(&mut self, needle: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let text = self.text();
            if text.contains(needle) {
                return text;
            }
            if Instant::now() > deadline {
                panic!("the screen never showed {needle:?}; it shows:\n{text}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until any of `needles` shows; returns which.
    pub fn wait_any(&mut self, needles: &[&str], timeout: Duration) -> usize {
        let deadline = Instant::now() + timeout;
        loop {
            let text = self.text();
            if let Some(i) = needles.iter().position(|n| text.contains(n)) {
                return i;
            }
            if Instant::now() > deadline {
                panic!("the screen never showed any of {needles:?}; it shows:\n{text}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Sends keys (escape sequences as a terminal sends them) and lets the program draw.
    pub fn keys(&mut self, keys: &str) {
        self.session.send(keys).expect("send keys");
        self.session.flush().expect("flush keys");
        std::thread::sleep(Duration::from_millis(60));
        self.pump();
    }

    pub fn tab(&mut self, n: usize) {
        for _ in 0..n {
            self.keys("\t");
        }
    }

    pub fn backspace(&mut self, n: usize) {
        for _ in 0..n {
            self.keys("\x7f");
        }
    }

    /// Waits for the program to end and returns its exit code.
    pub fn exit_code(&mut self, timeout: Duration) -> i32 {
        let deadline = Instant::now() + timeout;
        loop {
            self.pump();
            match self.session.process().status() {
                Some(rexpect::process::WaitStatus::Exited(_, code)) => return code,
                Some(rexpect::process::WaitStatus::Signaled(_, sig, _)) => {
                    panic!("killed by {sig:?}:\n{}", self.text())
                }
                _ => {}
            }
            if Instant::now() > deadline {
                panic!(
                    "the program did not exit; the screen shows:\n{}",
                    self.text()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Saves the screen as text (for the README) when SCALR_CAPTURE_SCREENS names a folder.
    pub fn capture(&mut self, name: &str) {
        let Some(dir) = std::env::var_os("SCALR_CAPTURE_SCREENS") else {
            return;
        };
        let text = self.text();
        let lines: Vec<&str> = text.lines().map(str::trim_end).collect();
        let dir = PathBuf::from(dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.txt")), lines.join("\n") + "\n").unwrap();
    }
}

pub const DOWN: &str = "\x1b[B";
pub const UP: &str = "\x1b[A";
pub const RIGHT: &str = "\x1b[C";
pub const END: &str = "\x1b[F";
pub const PGDN: &str = "\x1b[6~";
pub const ESC: &str = "\x1b";
pub const PGUP: &str = "\x1b[5~";
pub const ENTER: &str = "\r";
pub const CTRL_D: &str = "\x04";
