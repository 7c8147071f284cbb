//! Every value that reaches a remote shell survives it byte for byte: checked with hostile
//! strings through a real `sh -c` (dash on Debian) and `bash -c`.

use proptest::prelude::*;
use scalr_installer::ssh::{sh_quote, sh_script, ShellCommand};
use std::process::Command;

fn through_shell(shell: &str, line: &str) -> String {
    let out = Command::new(shell)
        .arg("-c")
        .arg(line)
        .output()
        .expect("shell runs");
    assert!(
        out.status.success(),
        "{shell} -c {line:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn hostile() -> impl Strategy<Value = String> {
    let pieces = prop_oneof![
        Just("'".to_string()),
        Just("\"".to_string()),
        Just("\\".to_string()),
        Just("$(id)".to_string()),
        Just("`id`".to_string()),
        Just("${HOME}".to_string()),
        Just(";".to_string()),
        Just("&&".to_string()),
        Just("|".to_string()),
        Just("\n".to_string()),
        Just("\t".to_string()),
        Just(" ".to_string()),
        Just("*".to_string()),
        Just("~".to_string()),
        Just("!".to_string()),
        Just("#".to_string()),
        Just("-".to_string()),
        Just("=".to_string()),
        Just("{a,b}".to_string()),
        Just("é✓".to_string()),
        "[a-z0-9]{0,4}",
        "[\\x01-\\x7f]{0,3}",
    ];
    prop::collection::vec(pieces, 0..8).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn any_value_round_trips_through_sh_and_bash(value in hostile()) {
        let line = ShellCommand::new("printf %s").arg(&value).unwrap();
        prop_assert_eq!(through_shell("sh", line.as_str()), value.clone());
        prop_assert_eq!(through_shell("bash", line.as_str()), value.clone());
    }

    #[test]
    fn positional_script_arguments_round_trip(a in hostile(), b in hostile()) {
        let line = sh_script(r#"printf '%s|%s' "$1" "$2""#, [&a, &b]).unwrap();
        prop_assert_eq!(through_shell("sh", &line), format!("{a}|{b}"));
    }

    #[test]
    fn a_quoted_value_quoted_again_for_sudo_still_round_trips(value in hostile()) {
        // What sudo wrapping does: the whole command line becomes one argument of `sh -c`.
        let inner = ShellCommand::new("printf %s").arg(&value).unwrap();
        let outer = format!("sh -c {}", sh_quote(inner.as_str()).unwrap());
        prop_assert_eq!(through_shell("sh", &outer), value.clone());
    }
}

#[test]
fn nul_bytes_are_refused_not_truncated() {
    assert!(sh_quote("abc\0rm -rf /").is_err());
}
