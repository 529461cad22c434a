//! A fast path for the commonest request, a WS-Transfer Get: an envelope
//! whose body is empty and whose headers are the plain ones every client
//! sends. A full XML parse (roxmltree) costs more than the rest of a Get;
//! this scanner reads that shape in one pass and gives up (`None`) on
//! anything else, which then takes the full parser: non-ASCII, entity or
//! character references, comments, processing instructions, CDATA, a
//! DOCTYPE, carriage returns or tabs and newlines in attribute values
//! (which XML normalizes), a body that is not empty, a header it does not
//! know with mustUnderstand, a header given twice, nested references in
//! selectors. What it accepts it reads exactly as the full parser does
//! (the `wsman_fast` fuzz target compares the two on arbitrary input).

use super::{
    finish_headers, must_understand_value, Body, Encoding, Envelope, Headers, Limits, Selector,
    SelectorValue, XML_NS,
};
use crate::ns;

/// Most elements the fast path reads; a Get has about fifteen.
const MAX_ELEMENTS: usize = 64;

struct Attr<'a> {
    prefix: &'a str,
    local: &'a str,
    value: &'a str,
}

struct El<'a> {
    parent: usize,
    prefix: &'a str,
    local: &'a str,
    attrs: Vec<Attr<'a>>,
    /// Namespace declarations made on this element: (prefix, URI); the
    /// default namespace has the prefix "".
    decls: Vec<(&'a str, &'a str)>,
    /// Its text, when it has no child elements.
    text: &'a str,
    children: Vec<usize>,
    /// Non-blank text beside child elements (mixed content).
    mixed: bool,
}

fn is_name_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

fn is_name(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.')
}

fn is_space(b: u8) -> bool {
    b == b' ' || b == b'\n' || b == b'\t'
}

/// `prefix:local` or `local`, each an ASCII XML name.
fn qname(s: &[u8], mut i: usize) -> Option<(usize, &str, &str)> {
    let start = i;
    if !is_name_start(*s.get(i)?) {
        return None;
    }
    let mut colon = None;
    while let Some(&b) = s.get(i) {
        if is_name(b) {
            i += 1;
        } else if b == b':' && colon.is_none() && s.get(i + 1).is_some_and(|&c| is_name_start(c)) {
            colon = Some(i);
            i += 1;
        } else {
            break;
        }
    }
    let text = std::str::from_utf8(&s[start..i]).ok()?;
    Some(match colon {
        Some(c) => (i, &text[..c - start], &text[c - start + 1..]),
        None => (i, "", text),
    })
}

/// The elements of `text`, or `None` for anything outside the subset.
fn scan(text: &str, max_depth: usize) -> Option<Vec<El<'_>>> {
    let s = text.as_bytes();
    // ASCII without control characters but \n and \t, no references, no
    // "]]>" (not allowed in content).
    if s.iter()
        .any(|&b| b >= 0x80 || (b < 0x20 && b != b'\n' && b != b'\t') || b == b'&')
        || text.contains("]]>")
    {
        return None;
    }
    let mut els: Vec<El<'_>> = Vec::new();
    let mut open: Vec<usize> = Vec::new();
    let mut i = 0;
    let mut done = false;
    while i < s.len() {
        if s[i] != b'<' {
            let end = s[i..]
                .iter()
                .position(|&b| b == b'<')
                .map_or(s.len(), |p| i + p);
            let chunk = &text[i..end];
            match open.last() {
                None if chunk.bytes().all(is_space) => {}
                None => return None,
                Some(&cur) => {
                    let el = &mut els[cur];
                    if !el.text.is_empty() && !chunk.bytes().all(is_space) {
                        // Text in pieces (around a child element).
                        return None;
                    }
                    if el.text.is_empty() {
                        el.text = chunk;
                    }
                }
            }
            i = end;
            continue;
        }
        match s.get(i + 1)? {
            b'/' => {
                let (j, prefix, local) = qname(s, i + 2)?;
                let cur = open.pop()?;
                if els[cur].prefix != prefix || els[cur].local != local {
                    return None;
                }
                let mut j = j;
                while s.get(j).is_some_and(|&b| is_space(b)) {
                    j += 1;
                }
                if s.get(j) != Some(&b'>') {
                    return None;
                }
                i = j + 1;
                if open.is_empty() {
                    done = true;
                }
            }
            b'!' | b'?' => return None,
            _ => {
                // The full parser's depth counts the root element as 1.
                if done || els.len() >= MAX_ELEMENTS || open.len() + 1 > max_depth {
                    return None;
                }
                let (mut j, prefix, local) = qname(s, i + 1)?;
                let mut attrs: Vec<Attr<'_>> = Vec::new();
                let mut decls = Vec::new();
                let empty = loop {
                    let spaced = s.get(j).is_some_and(|&b| is_space(b));
                    while s.get(j).is_some_and(|&b| is_space(b)) {
                        j += 1;
                    }
                    match s.get(j)? {
                        b'>' => {
                            j += 1;
                            break false;
                        }
                        b'/' if s.get(j + 1) == Some(&b'>') => {
                            j += 2;
                            break true;
                        }
                        _ if !spaced => return None,
                        _ => {}
                    }
                    let (k, ap, al) = qname(s, j)?;
                    j = k;
                    while s.get(j).is_some_and(|&b| is_space(b)) {
                        j += 1;
                    }
                    if s.get(j) != Some(&b'=') {
                        return None;
                    }
                    j += 1;
                    while s.get(j).is_some_and(|&b| is_space(b)) {
                        j += 1;
                    }
                    let quote = *s.get(j)?;
                    if quote != b'"' && quote != b'\'' {
                        return None;
                    }
                    let len = s[j + 1..].iter().position(|&b| b == quote)?;
                    let value = &text[j + 1..j + 1 + len];
                    // XML turns tabs and newlines in values into spaces.
                    if value.bytes().any(|b| b == b'<' || b == b'\n' || b == b'\t') {
                        return None;
                    }
                    j += len + 2;
                    if attrs.iter().any(|a| a.prefix == ap && a.local == al) {
                        return None;
                    }
                    match (ap, al) {
                        ("", "xmlns") => decls.push(("", value)),
                        ("xmlns", "xml" | "xmlns") => return None,
                        ("xmlns", _) if value.is_empty() => return None,
                        ("xmlns", p) => decls.push((p, value)),
                        _ => {}
                    }
                    attrs.push(Attr {
                        prefix: ap,
                        local: al,
                        value,
                    });
                };
                if prefix == "xmlns" {
                    return None;
                }
                let parent = open.last().copied().unwrap_or(usize::MAX);
                let id = els.len();
                els.push(El {
                    parent,
                    prefix,
                    local,
                    attrs,
                    decls,
                    text: "",
                    children: Vec::new(),
                    mixed: false,
                });
                if parent != usize::MAX {
                    let p = &mut els[parent];
                    if !p.text.bytes().all(is_space) {
                        p.mixed = true;
                    }
                    p.text = "";
                    p.children.push(id);
                } else if id != 0 {
                    return None;
                }
                if !empty {
                    open.push(id);
                } else if parent == usize::MAX {
                    done = true;
                }
                i = j;
            }
        }
    }
    (done && open.is_empty() && !els.is_empty()).then_some(els)
}

/// The namespace URI of `prefix` in scope at element `at`.
fn resolve<'a>(els: &[El<'a>], mut at: usize, prefix: &str) -> Option<&'a str> {
    if prefix == "xml" {
        return Some(XML_NS);
    }
    while at != usize::MAX {
        if let Some((_, uri)) = els[at].decls.iter().rev().find(|(p, _)| *p == prefix) {
            return Some(uri);
        }
        at = els[at].parent;
    }
    // The default namespace undeclared is none; a prefix must be bound.
    prefix.is_empty().then_some("")
}

/// An element's (namespace, local name).
fn name<'a>(els: &[El<'a>], at: usize) -> Option<(&'a str, &'a str)> {
    Some((resolve(els, at, els[at].prefix)?, els[at].local))
}

/// The value of the attribute `local` in `namespace` ("" for none).
fn attr<'a>(els: &[El<'a>], at: usize, namespace: &str, local: &str) -> Option<Option<&'a str>> {
    for a in &els[at].attrs {
        if a.local != local || a.prefix == "xmlns" || (a.prefix.is_empty() && a.local == "xmlns") {
            continue;
        }
        let ns = if a.prefix.is_empty() {
            ""
        } else {
            resolve(els, at, a.prefix)?
        };
        if ns == namespace {
            return Some(Some(a.value));
        }
    }
    Some(None)
}

/// A leaf's trimmed text; `None` when it has child elements.
fn leaf(els: &[El<'_>], at: usize) -> Option<String> {
    let el = &els[at];
    (el.children.is_empty()).then(|| el.text.trim().to_owned())
}

/// Every prefix used by an element or attribute is bound (else the full
/// parser refuses the document).
/// Also: no two attributes of an element with the same namespace and name.
fn bound(els: &[El<'_>]) -> bool {
    (0..els.len()).all(|i| {
        if resolve(els, i, els[i].prefix).is_none() {
            return false;
        }
        let mut seen: Vec<(&str, &str)> = Vec::new();
        for a in &els[i].attrs {
            if a.prefix == "xmlns" || (a.prefix.is_empty() && a.local == "xmlns") {
                continue;
            }
            let ns = if a.prefix.is_empty() {
                ""
            } else {
                match resolve(els, i, a.prefix) {
                    Some(ns) => ns,
                    None => return false,
                }
            };
            if seen.contains(&(ns, a.local)) {
                return false;
            }
            seen.push((ns, a.local));
        }
        true
    })
}

/// The envelope of a Get-shaped request, or `None` for the full parser.
pub fn decode(text: &str, limits: &Limits) -> Option<Envelope> {
    // Elements, the text around them and the document: fewer nodes than
    // the full parser's limit, whatever they are.
    if (limits.max_nodes as usize) < 4 * MAX_ELEMENTS {
        return None;
    }
    let els = scan(text, limits.max_depth)?;
    if !bound(&els) {
        return None;
    }
    if els.iter().any(|e| e.mixed) {
        return None;
    }
    if name(&els, 0)? != (ns::SOAP, "Envelope") || !els[0].text.bytes().all(is_space) {
        return None;
    }
    let (header, body) = match els[0].children.as_slice() {
        [h, b]
            if name(&els, *h)? == (ns::SOAP, "Header") && name(&els, *b)? == (ns::SOAP, "Body") =>
        {
            (*h, *b)
        }
        _ => return None,
    };
    if !els[body].children.is_empty() || !els[body].text.bytes().all(is_space) {
        return None;
    }
    if !els[header].text.bytes().all(is_space) {
        return None;
    }
    let mut h = Headers::default();
    let mut max_envelope = None;
    let mut timeout = None;
    let mut reply_to = None;
    let set = |slot: &mut Option<String>, at| -> Option<()> {
        if slot.is_some() {
            return None;
        }
        *slot = Some(leaf(&els, at)?);
        Some(())
    };
    for &n in &els[header].children {
        match name(&els, n)? {
            (ns::WSA, "To") => set(&mut h.to, n)?,
            (ns::WSA, "Action") => set(&mut h.action, n)?,
            (ns::WSA, "MessageID") => set(&mut h.message_id, n)?,
            (ns::WSA, "ReplyTo") => {
                let [address] = els[n].children.as_slice() else {
                    return None;
                };
                if reply_to.is_some() || name(&els, *address)? != (ns::WSA, "Address") {
                    return None;
                }
                reply_to = Some(leaf(&els, *address)?);
            }
            (ns::WSMAN, "ResourceURI") => set(&mut h.resource_uri, n)?,
            (ns::WSMAN, "MaxEnvelopeSize") => set(&mut max_envelope, n)?,
            (ns::WSMAN, "OperationTimeout") => set(&mut timeout, n)?,
            (ns::WSMAN, "Locale") => h.locale = attr(&els, n, XML_NS, "lang")?.map(str::to_owned),
            (ns::WSMV, "DataLocale") => {
                h.data_locale = attr(&els, n, XML_NS, "lang")?.map(str::to_owned)
            }
            (ns::WSMAN, "SelectorSet") => {
                let mut selectors: Vec<Selector> = Vec::new();
                for &s in &els[n].children {
                    if name(&els, s)? != (ns::WSMAN, "Selector") {
                        return None;
                    }
                    let sel_name = attr(&els, s, "", "Name")?
                        .map(str::trim)
                        .filter(|n| !n.is_empty())?;
                    if selectors
                        .iter()
                        .any(|o| o.name.eq_ignore_ascii_case(sel_name))
                    {
                        return None;
                    }
                    selectors.push(Selector {
                        name: sel_name.to_owned(),
                        value: SelectorValue::Text(leaf(&els, s)?),
                    });
                }
                h.selectors = selectors;
            }
            (ns::WSMAN, "OptionSet") => {
                for &o in &els[n].children {
                    if name(&els, o)? != (ns::WSMAN, "Option") {
                        return None;
                    }
                    let option = attr(&els, o, "", "Name")?.unwrap_or("").to_owned();
                    h.options.push((option, leaf(&els, o)?));
                }
            }
            (ns::WSMV, "SessionId" | "OperationID" | "SequenceId" | "ActivityId") => {}
            _ => match attr(&els, n, ns::SOAP, "mustUnderstand")? {
                Some(v) if must_understand_value(v) => return None,
                _ => {}
            },
        }
    }
    let headers = finish_headers(h, reply_to, max_envelope, timeout).ok()?;
    Some(Envelope {
        headers,
        body: Body::Empty,
        encoding: Encoding::Utf8,
    })
}
