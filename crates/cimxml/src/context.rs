//! The context values (IWbemContext) that openwmi's client sends along with
//! every remote request, in an HTTP header of its own ([`HEADER`]), and that
//! openwmi's server hands to providers. Both sides use this module, so the
//! header is defined once: `name=value` pairs joined by `&`, name and value
//! percent-encoded (RFC 3986 unreserved characters kept), each value as its
//! MOF literal (`"text"`, `42`, `-1`, `1.5`, `TRUE`, `{1, 2}`). Servers that
//! do not know the header ignore it.

use openwmi_cim::{percent, Value};

/// The header's name, as the client writes it (HTTP header names are
/// case-insensitive; a server's header map finds it whatever the case).
pub const HEADER: &str = "X-OpenWMI-Context";

/// At most this many values are taken from one request.
const MAX_VALUES: usize = 64;

/// The header's value for these context values.
pub fn encode(values: &[(String, Value)]) -> String {
    let mut out = String::new();
    for (i, (name, value)) in values.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(&percent::encode(name, false));
        out.push('=');
        out.push_str(&percent::encode(&value.to_mof(), false));
    }
    out
}

/// The values in a header. Malformed pairs are skipped: the context is
/// advice to providers, never a reason to refuse a request. A value keeps
/// what its literal says, not the type it was sent as: integers come back
/// as `UInt64` (or `SInt64` when negative), reals as `Real64`, and anything
/// else that is not a string or boolean literal (an array) as its text.
pub fn decode(header: &str) -> Vec<(String, Value)> {
    header
        .split('&')
        .filter(|p| !p.is_empty())
        .take(MAX_VALUES)
        .filter_map(|pair| {
            let (name, value) = pair.split_once('=')?;
            let name = percent::decode(name)?;
            let value = percent::decode(value)?;
            (!name.is_empty()).then(|| (name, literal(&value)))
        })
        .collect()
}

/// A MOF literal as a value; anything unrecognised is kept as its text.
fn literal(s: &str) -> Value {
    if let Some(body) = s.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
        return Value::String(unescape(body).into());
    }
    if s.eq_ignore_ascii_case("true") {
        return Value::Boolean(true);
    }
    if s.eq_ignore_ascii_case("false") {
        return Value::Boolean(false);
    }
    if let Ok(v) = s.parse::<u64>() {
        return Value::UInt64(v);
    }
    if let Ok(v) = s.parse::<i64>() {
        return Value::SInt64(v);
    }
    if let Ok(v) = s.parse::<f64>() {
        if v.is_finite() {
            return Value::Real64(v);
        }
    }
    Value::String(s.to_owned().into())
}

/// The escapes of a MOF string literal (DSP0004 A.17) undone; an unknown
/// escape stands for the character escaped.
fn unescape(body: &str) -> String {
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('b') => out.push('\u{8}'),
            Some('f') => out.push('\u{c}'),
            Some(x @ ('x' | 'X')) => {
                let digits: String = chars
                    .clone()
                    .take(4)
                    .take_while(char::is_ascii_hexdigit)
                    .collect();
                match u32::from_str_radix(&digits, 16)
                    .ok()
                    .and_then(char::from_u32)
                {
                    Some(c) if !digits.is_empty() => {
                        out.push(c);
                        chars.nth(digits.len() - 1);
                    }
                    _ => out.push(x),
                }
            }
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn what_the_client_writes() {
        let v = vec![
            ("__ProviderArchitecture".to_owned(), Value::SInt32(64)),
            ("note".to_owned(), Value::String("a b&c".into())),
            ("on".to_owned(), Value::Boolean(true)),
        ];
        assert_eq!(
            encode(&v),
            "__ProviderArchitecture=64&note=%22a%20b%26c%22&on=TRUE"
        );
        assert_eq!(encode(&[]), "");
    }

    #[test]
    fn reads_what_the_client_writes() {
        let v = decode(
            "__ProviderArchitecture=64&note=%22a%20b%26c%22&neg=-3&on=True&r=1.5&weird=%7Bx%7D",
        );
        assert_eq!(
            v,
            vec![
                ("__ProviderArchitecture".into(), Value::UInt64(64)),
                ("note".into(), Value::String("a b&c".into())),
                ("neg".into(), Value::SInt64(-3)),
                ("on".into(), Value::Boolean(true)),
                ("r".into(), Value::Real64(1.5)),
                ("weird".into(), Value::String("{x}".into())),
            ]
        );
    }

    #[test]
    fn malformed_pairs_are_skipped_and_the_count_is_bounded() {
        assert!(decode("").is_empty());
        assert_eq!(decode("novalue&=x&%ZZ=1&ok=1").len(), 1);
        let many = vec!["a=1"; 1000].join("&");
        assert_eq!(decode(&many).len(), MAX_VALUES);
        assert_eq!(
            decode("s=%22unterminated"),
            vec![("s".into(), Value::String("\"unterminated".into()))]
        );
        assert_eq!(
            decode("s=%22"),
            vec![("s".into(), Value::String("\"".into()))]
        );
    }

    #[test]
    fn string_escapes() {
        assert_eq!(
            unescape(r#"a\"b\\c\nd\te\rf\bg\fh"#),
            "a\"b\\c\nd\te\rf\u{8}g\u{c}h"
        );
        assert_eq!(unescape(r"\x0001z"), "\u{1}z");
        assert_eq!(unescape(r"\x1z"), "\u{1}z");
        assert_eq!(unescape(r"\xz"), "xz");
        assert_eq!(unescape(r"\q"), "q");
        assert_eq!(unescape("end\\"), "end\\");
    }

    proptest! {
        #[test]
        fn strings_and_booleans_arrive_as_sent(
            pairs in proptest::collection::vec(("[A-Za-z_][A-Za-z0-9_]{0,8}", "\\PC{0,16}", any::<Option<bool>>()), 0..8)
        ) {
            let values: Vec<(String, Value)> = pairs
                .into_iter()
                .map(|(n, s, b)| (n, b.map_or_else(|| Value::String(s.into()), Value::Boolean)))
                .collect();
            prop_assert_eq!(decode(&encode(&values)), values);
        }

        #[test]
        fn integers_and_reals_keep_their_value(i: i64, r in -1e300f64..1e300) {
            let values = vec![("i".to_owned(), Value::SInt64(i)), ("r".to_owned(), Value::Real64(r))];
            let got = decode(&encode(&values));
            prop_assert_eq!(got[0].1.as_i128(), Some(i128::from(i)));
            prop_assert_eq!(got[1].1.as_f64(), Some(r));
        }
    }
}
