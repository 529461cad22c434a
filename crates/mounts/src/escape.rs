//! The octal escapes the kernel (mountinfo) and libmount (fstab) use for
//! space, tab, newline and backslash inside a field.

/// Decodes `\ooo` escapes. A backslash not followed by three octal digits
/// stays as it is (fstab files written by hand contain such backslashes).
/// Bytes that do not form UTF-8 become U+FFFD rather than failing the line.
pub(crate) fn decode(field: &str) -> String {
    if !field.contains('\\') {
        return field.to_owned();
    }
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' {
            if let Some(v) = octal3(&bytes[i + 1..]) {
                out.push(v);
                i += 4;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn octal3(b: &[u8]) -> Option<u8> {
    let d = b.get(..3)?;
    let mut v: u32 = 0;
    for &c in d {
        if !(b'0'..=b'7').contains(&c) {
            return None;
        }
        v = v * 8 + u32::from(c - b'0');
    }
    u8::try_from(v).ok()
}

/// Escapes a field the way the kernel does, so that printed entries parse
/// back; and a carriage return, which the kernel leaves alone but the line
/// parser drops at the end of a line (files saved with CRLF endings).
pub(crate) fn encode(field: &str, out: &mut String) {
    for c in field.chars() {
        match c {
            ' ' => out.push_str("\\040"),
            '\t' => out.push_str("\\011"),
            '\n' => out.push_str("\\012"),
            '\r' => out.push_str("\\015"),
            '\\' => out.push_str("\\134"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_the_four_kernel_escapes() {
        assert_eq!(
            decode(r"/mnt/my\040share\011x\012y\134z"),
            "/mnt/my share\tx\ny\\z"
        );
    }

    #[test]
    fn keeps_backslashes_that_are_not_escapes() {
        assert_eq!(decode(r"a\b\04"), r"a\b\04");
        assert_eq!(decode(r"\777"), r"\777");
        assert_eq!(decode("\\"), "\\");
    }

    #[test]
    fn encode_then_decode_is_identity() {
        let s = "a b\tc\nd\\e é\r";
        let mut e = String::new();
        encode(s, &mut e);
        assert!(!e.contains(' '));
        assert_eq!(decode(&e), s);
    }
}
