//! Escaping for the XML openwmi writes.

/// Appends `s` as element text: `&`, `<` and `>` escaped, and the
/// characters XML 1.0 cannot carry (controls other than tab, newline and
/// carriage return) left out, so that every answer stays well-formed
/// whatever a provider returns.
pub fn text(out: &mut String, s: &str) {
    escaped(out, s, false);
}

/// Appends `s` as an attribute value between double quotes.
pub fn attr(out: &mut String, s: &str) {
    escaped(out, s, true);
}

fn escaped(out: &mut String, s: &str, quotes: bool) {
    let special = |c: char| {
        matches!(c, '&' | '<' | '>' | '\r' | '\u{FFFE}' | '\u{FFFF}')
            || (quotes && c == '"')
            || (c < ' ' && c != '\t' && c != '\n')
    };
    if !s.contains(special) {
        out.push_str(s);
        return;
    }
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if quotes => out.push_str("&quot;"),
            '\r' => out.push_str("&#13;"),
            '\t' | '\n' => out.push(c),
            c if c < ' ' || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
}

/// `<tag>escaped text</tag>`.
pub fn element(out: &mut String, tag: &str, value: &str) {
    out.push('<');
    out.push_str(tag);
    out.push('>');
    text(out, value);
    out.push_str("</");
    out.push_str(tag);
    out.push('>');
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_markup_and_drops_what_xml_cannot_hold() {
        let mut out = String::new();
        super::text(&mut out, "a<b>&\"c\"\u{1}\r\t\u{FFFF}");
        assert_eq!(out, "a&lt;b&gt;&amp;\"c\"&#13;\t");
        let mut out = String::new();
        super::text(&mut out, "x\u{FFFE}");
        assert_eq!(out, "x");
        let mut out = String::new();
        super::attr(&mut out, "x\"y");
        assert_eq!(out, "x&quot;y");
    }
}
