//! A bounded element tree read from a body with quick-xml's pull reader.
//!
//! CIM-XML documents are small trees whose meaning depends on siblings, so
//! the decoders work on a tree; every dimension of that tree is capped by
//! [`Limits`] while it is read, so its size never exceeds a small multiple of
//! the (capped) body. No DTD is processed: a `<!DOCTYPE` (and so any
//! `<!ENTITY`) is refused as not well-formed the moment it is seen, and the
//! only entity references resolved are the five predefined ones and numeric
//! character references.
//!
//! The tree borrows from the body: names, and values and text without
//! references, are slices of it, so a request costs a few allocations (the
//! child lists) rather than several per element.

use crate::error::{DecodeError, Limits};
use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::Reader;
use std::borrow::Cow;

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Element<'a> {
    pub name: &'a str,
    pub attrs: Vec<(&'a str, Cow<'a, str>)>,
    pub children: Vec<Element<'a>>,
    /// The character data directly inside this element, concatenated.
    pub text: Cow<'a, str>,
    /// Byte offset of the start tag in the body.
    pub offset: usize,
}

impl<'a> Element<'a> {
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_ref())
    }

    pub fn child(&self, name: &str) -> Option<&Element<'a>> {
        self.children.iter().find(|c| c.name == name)
    }
}

/// `part` as a slice of `input` with `input`'s lifetime. quick-xml's slice
/// reader hands out events that borrow from the input, but through borrows of
/// the event; this recovers the longer lifetime by position (safe code: the
/// range is checked). `None` if `part` is not inside `input`.
fn within<'a>(input: &'a [u8], part: &[u8]) -> Option<&'a [u8]> {
    let start = (part.as_ptr() as usize).checked_sub(input.as_ptr() as usize)?;
    input.get(start..start.checked_add(part.len())?)
}

/// Parses `body` into its root element.
pub(crate) fn parse<'a>(body: &'a [u8], limits: &Limits) -> Result<Element<'a>, DecodeError> {
    if body.len() > limits.max_body_bytes {
        return Err(DecodeError::LimitExceeded {
            offset: limits.max_body_bytes,
            what: "body size",
            limit: limits.max_body_bytes,
        });
    }
    // A UTF-8 byte order mark is allowed before the declaration.
    let base = if body.starts_with(&[0xEF, 0xBB, 0xBF]) {
        3
    } else {
        0
    };
    let input = &body[base..];
    let mut reader = Reader::from_reader(input);
    {
        let cfg = reader.config_mut();
        cfg.trim_text(false);
        // End names are checked against the open element below, which costs
        // no allocation (quick-xml's own check keeps a copy of every name).
        cfg.check_end_names = false;
        cfg.check_comments = true;
        cfg.expand_empty_elements = false;
    }
    let err = |offset: usize, msg: String| DecodeError::not_well_formed(body, base + offset, msg);
    let mut stack: Vec<Element<'a>> = Vec::new();
    let mut root: Option<Element<'a>> = None;
    let mut elements = 0usize;
    let mut seen_decl = false;
    let mut seen_anything = false;

    loop {
        let before = reader.buffer_position() as usize;
        let event = reader
            .read_event()
            .map_err(|e| err(reader.error_position() as usize, e.to_string()))?;
        let first = !seen_anything;
        seen_anything = true;
        match event {
            Event::Decl(d) => {
                if !first || seen_decl {
                    return Err(err(before, "XML declaration not at the start".into()));
                }
                seen_decl = true;
                if let Some(enc) = d.encoding() {
                    let enc = enc.map_err(|e| err(before, e.to_string()))?;
                    let ok =
                        enc.eq_ignore_ascii_case(b"utf-8") || enc.eq_ignore_ascii_case(b"utf8");
                    if !ok {
                        return Err(err(
                            before,
                            format!(
                                "encoding {:?} not supported (only UTF-8)",
                                String::from_utf8_lossy(&enc)
                            ),
                        ));
                    }
                }
            }
            Event::DocType(_) => {
                return Err(err(
                    before,
                    "DOCTYPE not allowed: no DTD or entity declarations are processed".into(),
                ));
            }
            Event::PI(_) | Event::Comment(_) => {}
            Event::Start(start) | Event::Empty(start) if root.is_some() => {
                let _ = start;
                return Err(err(before, "content after the root element".into()));
            }
            Event::Start(start) => {
                elements += 1;
                check_counts(elements, stack.len() + 1, before, limits, body, base)?;
                let el = element(input, &start, before, limits, &err)?;
                stack.push(el);
            }
            Event::Empty(start) => {
                elements += 1;
                check_counts(elements, stack.len() + 1, before, limits, body, base)?;
                let el = element(input, &start, before, limits, &err)?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => root = Some(el),
                }
            }
            Event::End(end) => {
                let Some(el) = stack.pop() else {
                    return Err(err(before, "end tag without start tag".into()));
                };
                let name = end.name();
                if name.as_ref() != el.name.as_bytes() {
                    return Err(err(
                        before,
                        format!(
                            "expected `</{}>`, found `</{}>`",
                            el.name,
                            String::from_utf8_lossy(name.as_ref())
                        ),
                    ));
                }
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => root = Some(el),
                }
            }
            Event::Text(t) => {
                let raw: &[u8] = &t;
                match stack.last_mut() {
                    Some(el) => {
                        let raw = within(input, raw)
                            .map(Cow::Borrowed)
                            .unwrap_or_else(|| Cow::Owned(raw.to_vec()));
                        let text = unescape_text(raw).map_err(|m| err(before, m))?;
                        push_text(el, text, before, limits, body, base)?;
                    }
                    None => {
                        if !raw
                            .iter()
                            .all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
                        {
                            return Err(err(before, "text outside the root element".into()));
                        }
                    }
                }
            }
            Event::CData(c) => {
                let Some(el) = stack.last_mut() else {
                    return Err(err(before, "CDATA outside the root element".into()));
                };
                let s = std::str::from_utf8(&c).map_err(|e| err(before, e.to_string()))?;
                let s = normalize_newlines(s);
                check_chars(&s).map_err(|m| err(before, m))?;
                push_text(el, Cow::Owned(s), before, limits, body, base)?;
            }
            Event::Eof => {
                if let Some(open) = stack.last() {
                    return Err(err(
                        input.len(),
                        format!("unexpected end of document inside <{}>", open.name),
                    ));
                }
                return root.ok_or_else(|| err(input.len(), "no root element".into()));
            }
        }
    }
}

fn check_counts(
    elements: usize,
    depth: usize,
    offset: usize,
    limits: &Limits,
    _body: &[u8],
    base: usize,
) -> Result<(), DecodeError> {
    if depth > limits.max_depth {
        return Err(DecodeError::LimitExceeded {
            offset: base + offset,
            what: "element depth",
            limit: limits.max_depth,
        });
    }
    if elements > limits.max_elements {
        return Err(DecodeError::LimitExceeded {
            offset: base + offset,
            what: "element count",
            limit: limits.max_elements,
        });
    }
    Ok(())
}

fn push_text<'a>(
    el: &mut Element<'a>,
    text: Cow<'a, str>,
    offset: usize,
    limits: &Limits,
    _body: &[u8],
    base: usize,
) -> Result<(), DecodeError> {
    if el.text.len() + text.len() > limits.max_text_len {
        return Err(DecodeError::LimitExceeded {
            offset: base + offset,
            what: "text length",
            limit: limits.max_text_len,
        });
    }
    if el.text.is_empty() {
        el.text = text;
    } else {
        el.text.to_mut().push_str(&text);
    }
    Ok(())
}

fn element<'a>(
    input: &'a [u8],
    start: &BytesStart<'_>,
    offset: usize,
    limits: &Limits,
    err: &dyn Fn(usize, String) -> DecodeError,
) -> Result<Element<'a>, DecodeError> {
    let utf8 = |bytes: &'a [u8]| std::str::from_utf8(bytes).map_err(|e| err(offset, e.to_string()));
    let borrowed = |part: &[u8]| {
        within(input, part).ok_or_else(|| err(offset, "markup outside the document".into()))
    };
    let name = utf8(borrowed(start.name().as_ref())?)?;
    if name.is_empty() {
        return Err(err(offset, "empty element name".into()));
    }
    let mut attrs: Vec<(&'a str, Cow<'a, str>)> = Vec::new();
    // Duplicates are checked here, over the few attributes an element has,
    // instead of by quick-xml (which allocates a list for every element).
    for a in start.attributes().with_checks(false) {
        let a = a.map_err(|e| err(offset, e.to_string()))?;
        if attrs.len() >= limits.max_attributes {
            return Err(DecodeError::LimitExceeded {
                offset,
                what: "attribute count",
                limit: limits.max_attributes,
            });
        }
        let key = utf8(borrowed(a.key.as_ref())?)?;
        if attrs.iter().any(|(k, _)| *k == key) {
            return Err(err(offset, format!("duplicate attribute {key}")));
        }
        if a.value.len() > limits.max_attribute_len.saturating_mul(8) {
            return Err(DecodeError::LimitExceeded {
                offset,
                what: "attribute length",
                limit: limits.max_attribute_len,
            });
        }
        let raw = match &a.value {
            Cow::Borrowed(v) => within(input, v),
            Cow::Owned(_) => None,
        };
        let raw = raw
            .map(Cow::Borrowed)
            .unwrap_or_else(|| Cow::Owned(a.value.to_vec()));
        let value = unescape_attr(raw).map_err(|m| err(offset, format!("attribute {key}: {m}")))?;
        if value.len() > limits.max_attribute_len {
            return Err(DecodeError::LimitExceeded {
                offset,
                what: "attribute length",
                limit: limits.max_attribute_len,
            });
        }
        attrs.push((key, value));
    }
    Ok(Element {
        name,
        attrs,
        children: Vec::new(),
        text: Cow::Borrowed(""),
        offset,
    })
}

/// XML 1.0 `Char`: tab, LF, CR, and U+0020 upward except U+FFFE and U+FFFF
/// (Rust strings hold no surrogates).
pub(crate) fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r') || (c >= ' ' && c != '\u{FFFE}' && c != '\u{FFFF}')
}

fn check_chars(s: &str) -> Result<(), String> {
    match s.chars().find(|&c| !is_xml_char(c)) {
        Some(c) => Err(format!("character U+{:04X} not allowed in XML", c as u32)),
        None => Ok(()),
    }
}

/// XML 2.11: CRLF and lone CR read as LF.
fn normalize_newlines(s: &str) -> String {
    if !s.contains('\r') {
        return s.to_owned();
    }
    s.replace("\r\n", "\n").replace('\r', "\n")
}

/// Resolves the five predefined entities and character references; anything
/// else after `&` is an error (there is no DTD that could declare it).
fn unescape(raw: &str) -> Result<String, String> {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        let Some(semi) = after.find(';') else {
            return Err("'&' without ';'".into());
        };
        let ent = &after[..semi];
        match ent {
            "lt" => out.push('<'),
            "gt" => out.push('>'),
            "amp" => out.push('&'),
            "apos" => out.push('\''),
            "quot" => out.push('"'),
            _ => {
                let code = if let Some(hex) = ent.strip_prefix("#x") {
                    u32::from_str_radix(hex, 16)
                        .ok()
                        .filter(|_| !hex.starts_with('+'))
                } else if let Some(dec) = ent.strip_prefix('#') {
                    dec.parse::<u32>().ok().filter(|_| !dec.starts_with('+'))
                } else {
                    let shown: String = ent.chars().take(40).collect();
                    return Err(format!("undeclared entity &{shown};"));
                };
                let c = code
                    .and_then(char::from_u32)
                    .filter(|&c| is_xml_char(c))
                    .ok_or_else(|| format!("invalid character reference &{ent};"))?;
                out.push(c);
            }
        }
        rest = &after[semi + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Bytes of the body (borrowed) or, where quick-xml had to copy them, owned.
fn into_str(raw: Cow<'_, [u8]>) -> Result<Cow<'_, str>, String> {
    match raw {
        Cow::Borrowed(b) => std::str::from_utf8(b)
            .map(Cow::Borrowed)
            .map_err(|e| e.to_string()),
        Cow::Owned(v) => String::from_utf8(v)
            .map(Cow::Owned)
            .map_err(|e| e.to_string()),
    }
}

fn unescape_text(raw: Cow<'_, [u8]>) -> Result<Cow<'_, str>, String> {
    let s = into_str(raw)?;
    if s.contains('<') {
        return Err("'<' in text".into());
    }
    // Raw characters are checked before references are resolved, so that
    // `&#13;` survives as CR while a literal CR is normalized.
    check_chars(&s)?;
    if !s.contains(['&', '\r']) {
        return Ok(s);
    }
    unescape(&normalize_newlines(&s)).map(Cow::Owned)
}

fn unescape_attr(raw: Cow<'_, [u8]>) -> Result<Cow<'_, str>, String> {
    let s = into_str(raw)?;
    if s.contains('<') {
        return Err("'<' in attribute value".into());
    }
    check_chars(&s)?;
    if !s.contains(['&', '\t', '\n', '\r']) {
        return Ok(s);
    }
    // Attribute-value normalization (XML 3.3.3) for CDATA attributes: literal
    // white space becomes a space; references to it are kept.
    let s = s.replace("\r\n", " ").replace(['\t', '\n', '\r'], " ");
    unescape(&s).map(Cow::Owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<Element<'_>, DecodeError> {
        parse(s.as_bytes(), &Limits::default())
    }

    #[test]
    fn reads_a_small_tree() {
        let e = p("<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n<A x=\"1&amp;2&#10;\"><B>t&lt;&#x41;</B><C/><![CDATA[<raw>]]></A>").unwrap();
        assert_eq!(e.name, "A");
        assert_eq!(e.attr("x"), Some("1&2\n"));
        assert_eq!(e.children[0].text, "t<A");
        assert_eq!(e.children[1].name, "C");
        assert_eq!(e.text, "<raw>");
    }

    #[test]
    fn borrows_from_the_body_unless_references_are_resolved() {
        let e =
            p("<A x=\"plain\" y=\"a&amp;b\"><B>text</B><C>t&lt;</C><D>one<E/>two</D></A>").unwrap();
        assert!(matches!(&e.attrs[0].1, Cow::Borrowed("plain")));
        assert!(matches!(&e.attrs[1].1, Cow::Owned(v) if v == "a&b"));
        assert!(matches!(&e.children[0].text, Cow::Borrowed("text")));
        assert!(matches!(&e.children[1].text, Cow::Owned(v) if v == "t<"));
        assert_eq!(e.children[2].text, "onetwo");
    }

    #[test]
    fn refuses_dtds_unknown_entities_and_bad_chars() {
        for bad in [
            "<!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>",
            "<a>&x;</a>",
            "<a>&#0;</a>",
            "<a>\u{1}</a>",
            "<a b=\"&#xFFFE;\"/>",
            "<a></b>",
            "<a><b></a></b>",
            "</a>",
            "<a b='1' c='2' b='3'/>",
            "<a>",
            "<a/><b/>",
            "text<a/>",
            "<a b='1' b='2'/>",
            "",
            "<?xml version=\"1.0\" encoding=\"utf-16\"?><a/>",
        ] {
            match p(bad) {
                Err(DecodeError::NotWellFormed { .. }) => {}
                other => panic!("{bad:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn enforces_limits() {
        let deep = "<a>".repeat(100) + &"</a>".repeat(100);
        assert!(matches!(
            p(&deep),
            Err(DecodeError::LimitExceeded {
                what: "element depth",
                ..
            })
        ));
        let many = format!("<a>{}</a>", "<b/>".repeat(30));
        let limits = Limits {
            max_elements: 10,
            ..Limits::default()
        };
        assert!(matches!(
            parse(many.as_bytes(), &limits),
            Err(DecodeError::LimitExceeded {
                what: "element count",
                ..
            })
        ));
    }

    #[test]
    fn reports_line_and_column() {
        match p("<a>\n  <b></c></a>") {
            Err(DecodeError::NotWellFormed { line, .. }) => assert_eq!(line, 2),
            other => panic!("{other:?}"),
        }
    }
}
