//! Hostile input to profile loading: arbitrary text and arbitrary field values never panic, and
//! every rejection says where (line and column) and which key.

use proptest::prelude::*;
use scalr_installer::profile::parse_checked;
use std::path::Path;

const VALID: &str = include_str!("fixtures/ha.toml");

fn fixtures() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures"))
}

/// Values an attacker or a slip of the keyboard might put in a profile.
fn hostile() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ -~]{0,40}",
        ".{0,40}",
        Just("$(touch /tmp/pwned)".to_string()),
        Just("`id`; rm -rf / #".to_string()),
        Just("a\nb\r\nc\0d".to_string()),
        Just("x".repeat(70_000)),
        Just("Ünïcødé ✓ 名前".to_string()),
        Just("' \" \\ ${HOME}".to_string()),
    ]
}

fn toml_string(s: &str) -> String {
    toml_edit::Value::from(s).to_string()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn arbitrary_text_never_panics_and_errors_are_located(text in "(\\PC|\n){0,300}") {
        if let Err(problems) = parse_checked(&text, Some(fixtures())) {
            prop_assert!(!problems.is_empty());
            for p in problems {
                let shown = p.display_for(Path::new("p.toml")).to_string();
                prop_assert!(shown.starts_with("p.toml:"), "{}", shown);
                prop_assert!(!p.message.is_empty());
            }
        }
    }

    #[test]
    fn arbitrary_toml_shaped_text_never_panics(
        lines in prop::collection::vec(
            ("[a-z_.\\[\\]]{1,12}", prop_oneof!["[0-9]{1,5}", "\"[^\"\\\\\n]{0,12}\"", Just("true".to_string()), Just("[]".to_string())]),
            0..12,
        )
    ) {
        let text: String = lines.iter().map(|(k, v)| format!("{k} = {v}\n")).collect();
        if let Err(problems) = parse_checked(&text, Some(fixtures())) {
            for p in problems {
                prop_assert!(p.display_for(Path::new("p.toml")).to_string().starts_with("p.toml:"));
            }
        }
    }

    /// Any string field of a valid profile set to a hostile value: accepted, or refused with the
    /// key named and a place in the file.
    #[test]
    fn hostile_values_in_any_string_field_are_accepted_or_located(
        field in prop::sample::select(vec![
            "name = \"", "host = \"", "license_file = \"", "address = \"", "version = \"",
        ]),
        value in hostile(),
    ) {
        let Some(at) = VALID.find(field) else { return Ok(()); };
        let start = at + field.len() - 1;
        let end = start + 1 + VALID[start + 1..].find('"').unwrap() + 1;
        let text = format!("{}{}{}", &VALID[..start], toml_string(&value), &VALID[end..]);
        match parse_checked(&text, Some(fixtures())) {
            Ok(_) => {}
            Err(problems) => {
                for p in problems {
                    prop_assert!(p.line >= 1, "{:?}", p);
                    prop_assert!(p.key.is_some(), "{:?}", p);
                    prop_assert!(p.message.len() < 2_000, "a message repeats a huge value: {}", &p.message[..300]);
                }
            }
        }
    }
}
