//! Ruby literals for `scalr-server.rb`: the package evaluates these files as Ruby, so every value
//! must be a literal that cannot end early and run code.

use minijinja::value::{Value, ValueKind};
use minijinja::{Error, ErrorKind};

/// A single-quoted Ruby string. Inside single quotes Ruby interpolates nothing; only `\\` and
/// `\'` are escapes, so escaping exactly those two makes any input inert.
pub fn string_literal(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for c in value.chars() {
        if c == '\\' || c == '\'' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('\'');
    out
}

/// Any template value as a Ruby literal: strings quoted, lists as arrays, maps as hashes.
/// Values marked safe (our own fixed identifiers and comment text) pass through unchanged.
pub fn literal(value: &Value) -> Result<String, Error> {
    Ok(match value.kind() {
        ValueKind::Undefined => {
            return Err(Error::new(
                ErrorKind::UndefinedError,
                "a template value is missing",
            ));
        }
        ValueKind::None => "nil".into(),
        ValueKind::Bool => if value.is_true() { "true" } else { "false" }.into(),
        ValueKind::Number => value.to_string(),
        ValueKind::String if value.is_safe() => value.as_str().unwrap_or_default().to_string(),
        ValueKind::String => string_literal(value.as_str().unwrap_or_default()),
        ValueKind::Seq | ValueKind::Iterable => {
            let items: Result<Vec<String>, Error> =
                value.try_iter()?.map(|v| literal(&v)).collect();
            format!("[{}]", items?.join(", "))
        }
        ValueKind::Map => {
            let mut pairs = Vec::new();
            for key in value.try_iter()? {
                let item = value.get_item(&key)?;
                pairs.push(format!("{} => {}", literal(&key)?, literal(&item)?));
            }
            if pairs.is_empty() {
                "{}".into()
            } else {
                format!("{{ {} }}", pairs.join(", "))
            }
        }
        _ => {
            return Err(Error::new(
                ErrorKind::InvalidOperation,
                format!("{value:?} has no Ruby literal"),
            ))
        }
    })
}

/// A JSON value as a template value (minijinja is built without its serde feature).
pub fn json_value(value: &serde_json::Value) -> Value {
    match value {
        serde_json::Value::Null => Value::from(()),
        serde_json::Value::Bool(b) => Value::from(*b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Value::from(i),
            None => Value::from(n.as_f64().unwrap_or_default()),
        },
        serde_json::Value::String(s) => Value::from(s.as_str()),
        serde_json::Value::Array(items) => {
            Value::from(items.iter().map(json_value).collect::<Vec<_>>())
        }
        serde_json::Value::Object(map) => Value::from(
            map.iter()
                .map(|(k, v)| (k.clone(), json_value(v)))
                .collect::<std::collections::BTreeMap<_, _>>(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What Ruby makes of a single-quoted literal, following the language's rules; `None` when
    /// the literal ends before its last character (the injection we must prevent).
    fn ruby_single_quoted_value(literal: &str) -> Option<String> {
        let inner = literal.strip_prefix('\'')?;
        let mut out = String::new();
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next()? {
                    e @ ('\\' | '\'') => out.push(e),
                    other => {
                        out.push('\\');
                        out.push(other);
                    }
                },
                '\'' => return chars.next().is_none().then_some(out),
                c => out.push(c),
            }
        }
        None
    }

    #[test]
    fn hostile_strings_stay_one_inert_literal() {
        for hostile in [
            "'; system('reboot'); '",
            "#{`id`}",
            "back\\slash\\",
            "\\'",
            "line\nbreak",
            "",
            "ünïcödé ✓",
        ] {
            let lit = string_literal(hostile);
            assert_eq!(
                ruby_single_quoted_value(&lit).as_deref(),
                Some(hostile),
                "{lit}"
            );
        }
    }

    proptest! {
        #[test]
        fn any_string_round_trips_through_a_ruby_literal(s in any::<String>()) {
            prop_assert_eq!(ruby_single_quoted_value(&string_literal(&s)), Some(s));
        }
    }

    #[test]
    fn nested_maps_become_ruby_hashes() {
        let v = json_value(
            &serde_json::json!({"scalr": {"gce": {"instances_connection_policy": "local"}}}),
        );
        assert_eq!(
            literal(&v).unwrap(),
            "{ 'scalr' => { 'gce' => { 'instances_connection_policy' => 'local' } } }"
        );
    }
}
