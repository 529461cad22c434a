//! The context values (IWbemContext) a client sends along with a request,
//! in the `X-OpenWMI-Context` header that openwmi's client writes:
//! `name=value&name=value`, each part percent-encoded, each value a MOF
//! literal (`"text"`, `64`, `-1`, `1.5`, `TRUE`).

use openwmi_cim::Value;

pub const CONTEXT_HEADER: &str = "x-openwmi-context";

/// At most this many values are taken from one request.
const MAX_VALUES: usize = 64;

/// The values in a header; malformed pairs are skipped (the context is
/// advice to providers, never a reason to refuse a request).
pub fn parse(header: &str) -> Vec<(String, Value)> {
    header
        .split('&')
        .filter(|p| !p.is_empty())
        .take(MAX_VALUES)
        .filter_map(|pair| {
            let (name, value) = pair.split_once('=')?;
            let name = openwmi_cimxml::percent_decode(name)?;
            let value = openwmi_cimxml::percent_decode(value)?;
            (!name.is_empty()).then(|| (name, literal(&value)))
        })
        .collect()
}

/// A MOF literal as a value; anything unrecognised is kept as its text.
fn literal(s: &str) -> Value {
    if let Some(body) = s.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
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
                Some(other) => out.push(other),
                None => out.push('\\'),
            }
        }
        return Value::String(out.into());
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_the_client_writes() {
        // The header openwmi-client's encode_context produces for these values.
        let v = parse(
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
        assert!(parse("").is_empty());
        assert_eq!(parse("novalue&=x&%ZZ=1&ok=1").len(), 1);
        let many = vec!["a=1"; 1000].join("&");
        assert_eq!(parse(&many).len(), MAX_VALUES);
        assert_eq!(
            parse("s=%22unterminated"),
            vec![("s".into(), Value::String("\"unterminated".into()))]
        );
    }
}
