//! The `scalr-installer` command: parses the command line and dispatches.

fn main() {}
