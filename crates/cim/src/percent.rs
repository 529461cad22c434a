//! Percent-encoding (RFC 3986 2.1) of the text that travels in HTTP header
//! values: `CIMObject: root%2Fcimv2`, `CIMMethod`,
//! `CIMStatusCodeDescription` and openwmi's context header. The one codec
//! of the workspace: the transport, the CIM-XML codec, the dispatcher and
//! the client all use it, which is why it lives in the crate they all
//! depend on.

/// Percent-encodes every byte of `text` but RFC 3986's unreserved
/// characters (letters, digits, `-._~`), and `/` too when `keep_slash`
/// (a namespace in `CIMObject` reads better as `root/cimv2`).
pub fn encode(text: &str, keep_slash: bool) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) || (keep_slash && b == b'/') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xF)]));
        }
    }
    out
}

/// Decodes the `%XX` escapes of `input` (either case of hex digit; every
/// other byte stands for itself). `None` when an escape is cut short or not
/// hexadecimal, or when the bytes decoded are not UTF-8.
pub fn decode(input: impl AsRef<[u8]>) -> Option<String> {
    let input = input.as_ref();
    if !input.contains(&b'%') {
        return std::str::from_utf8(input).ok().map(str::to_owned);
    }
    let mut out = Vec::with_capacity(input.len());
    let mut rest = input;
    while let Some((&b, tail)) = rest.split_first() {
        if b == b'%' {
            let [hi, lo, ..] = *tail else {
                return None;
            };
            out.push(hex_digit(hi)? << 4 | hex_digit(lo)?);
            rest = &tail[2..];
        } else {
            out.push(b);
            rest = tail;
        }
    }
    String::from_utf8(out).ok()
}

fn hex_digit(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn encoding() {
        assert_eq!(encode("root/cimv2", true), "root/cimv2");
        assert_eq!(encode("root/cimv2", false), "root%2Fcimv2");
        assert_eq!(encode("a-b_c.d~e", false), "a-b_c.d~e");
        assert_eq!(
            encode("smbd went away: 100% gone", false),
            "smbd%20went%20away%3A%20100%25%20gone"
        );
        assert_eq!(encode("é", false), "%C3%A9");
        assert_eq!(encode("", false), "");
    }

    #[test]
    fn decoding() {
        assert_eq!(decode("root%2Fcimv2").as_deref(), Some("root/cimv2"));
        assert_eq!(decode("root%2fcimv2").as_deref(), Some("root/cimv2"));
        assert_eq!(decode(b"root/cimv2").as_deref(), Some("root/cimv2"));
        assert_eq!(decode("a%3ab").as_deref(), Some("a:b"));
        assert_eq!(decode("%C3%A9").as_deref(), Some("é"));
        assert_eq!(decode("").as_deref(), Some(""));
        assert_eq!(decode("a%2"), None);
        assert_eq!(decode("a%"), None);
        assert_eq!(decode("a%zz"), None);
        // Valid escapes of bytes that are not UTF-8.
        assert_eq!(decode("%FF"), None);
        assert_eq!(decode(b"\xff"), None);
    }

    #[test]
    fn regression_a_sign_is_no_hex_digit() {
        // "%+F" once decoded as U+000F: from_str_radix takes a leading '+'.
        assert_eq!(decode("a%+Fb"), None);
        assert_eq!(decode("%+1"), None);
        assert_eq!(decode("%-1"), None);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn decoding_inverts_encoding(text in "\\PC{0,40}", keep_slash: bool) {
            let encoded = encode(&text, keep_slash);
            prop_assert!(encoded.bytes().all(|b| b.is_ascii_graphic()));
            prop_assert_eq!(decode(&encoded), Some(text));
        }

        #[test]
        fn every_byte_may_be_escaped(text in "\\PC{0,40}") {
            let all: String = text.bytes().map(|b| format!("%{b:02x}")).collect();
            prop_assert_eq!(decode(all), Some(text));
        }

        #[test]
        fn decoding_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let decoded = decode(&bytes);
            if !bytes.contains(&b'%') {
                prop_assert_eq!(decoded.is_some(), std::str::from_utf8(&bytes).is_ok());
            }
        }
    }
}
