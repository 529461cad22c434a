//! Plain text of values for the human formats (table, list, csv).

use openwmi_cim::Value;

/// NULL is the empty string; booleans `TRUE`/`FALSE` and arrays
/// `{"a","b"}` / `{1,2}`, as Windows wmic prints them.
pub(crate) fn plain(value: Option<&Value>) -> String {
    match value {
        None => String::new(),
        Some(Value::Array(items)) => {
            let mut s = String::from("{");
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    s.push(',');
                }
                if quoted_in_arrays(v) {
                    s.push('"');
                    s.push_str(&v.to_string());
                    s.push('"');
                } else {
                    s.push_str(&v.to_string());
                }
            }
            s.push('}');
            s
        }
        Some(v) => v.to_string(),
    }
}

/// `s` on one line: control characters become spaces (table cells, MOF
/// comments).
pub(crate) fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

fn quoted_in_arrays(v: &Value) -> bool {
    matches!(
        v,
        Value::String(_) | Value::Char16(_) | Value::DateTime(_) | Value::Reference(_)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text() {
        assert_eq!(plain(None), "");
        assert_eq!(plain(Some(&Value::Boolean(true))), "TRUE");
        assert_eq!(
            plain(Some(&Value::UInt64(u64::MAX))),
            "18446744073709551615"
        );
        assert_eq!(
            plain(Some(&Value::Array(vec!["a".into(), "b c".into()]))),
            r#"{"a","b c"}"#
        );
        assert_eq!(
            plain(Some(&Value::Array(vec![
                Value::UInt16(1),
                Value::UInt16(2)
            ]))),
            "{1,2}"
        );
        assert_eq!(plain(Some(&Value::Array(vec![]))), "{}");
    }
}
