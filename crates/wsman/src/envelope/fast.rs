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
//! (the `wsman` fuzz target compares the two on arbitrary input).

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
    /// Its namespace ("" for none), `None` when its prefix is unbound.
    ns: Option<&'a str>,
}

/// The document's elements in order, their attributes and namespace
/// declarations in flat lists (no allocation per element).
struct Doc<'a> {
    els: Vec<El<'a>>,
    attrs: Vec<Attr<'a>>,
}

struct El<'a> {
    parent: usize,
    prefix: &'a str,
    local: &'a str,
    /// Its namespace ("" for none), `None` when its prefix is unbound.
    ns: Option<&'a str>,
    /// Its attributes: `attrs[attrs.0..attrs.1]`.
    attrs: (usize, usize),
    /// Its text, when it has no child elements.
    text: &'a str,
    children: usize,
    /// Non-blank text beside child elements (mixed content).
    mixed: bool,
}

impl<'a> Doc<'a> {
    fn attrs(&self, at: usize) -> &[Attr<'a>] {
        let (from, to) = self.els[at].attrs;
        &self.attrs[from..to]
    }

    fn children(&self, at: usize) -> impl Iterator<Item = usize> + '_ {
        (at + 1..self.els.len()).filter(move |&i| self.els[i].parent == at)
    }
}

/// Byte classes: 1 starts a name, 2 continues one.
const NAME: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        if c.is_ascii_alphabetic() || c == b'_' {
            t[b] = 3;
        } else if c.is_ascii_digit() || c == b'-' || c == b'.' {
            t[b] = 2;
        }
        b += 1;
    }
    t
};

fn is_name_start(b: u8) -> bool {
    NAME[b as usize] & 1 != 0
}

fn is_name(b: u8) -> bool {
    NAME[b as usize] & 2 != 0
}

/// Whether a byte string holds a byte outside the subset: non-ASCII, a
/// control character but tab and newline, or a reference's `&`. Not
/// short-circuiting, so that it runs over whole words.
fn has_outsider(s: &[u8]) -> bool {
    s.iter().fold(false, |bad, &b| {
        bad | (b >= 0x80) | ((b < 0x20) & (b != b'\n') & (b != b'\t')) | (b == b'&')
    })
}

fn is_space(b: u8) -> bool {
    b == b' ' || b == b'\n' || b == b'\t'
}

fn skip_space(s: &[u8], mut i: usize) -> usize {
    while s.get(i).is_some_and(|&b| is_space(b)) {
        i += 1;
    }
    i
}

/// `prefix:local` or `local`, each an ASCII XML name (`text` is ASCII).
fn qname(text: &str, mut i: usize) -> Option<(usize, &str, &str)> {
    let s = text.as_bytes();
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
    Some(match colon {
        Some(c) => (i, &text[start..c], &text[c + 1..i]),
        None => (i, "", &text[start..i]),
    })
}

/// The elements of `text`, or `None` for anything outside the subset.
fn scan(text: &str, max_depth: usize) -> Option<Doc<'_>> {
    let s = text.as_bytes();
    // ASCII without control characters but \n and \t, no references, no
    // "]]>" (not allowed in content).
    if has_outsider(s) || (s.contains(&b']') && text.contains("]]>")) {
        return None;
    }
    let mut doc = Doc {
        els: Vec::with_capacity(24),
        attrs: Vec::with_capacity(32),
    };
    // The namespace declarations in scope: (element, prefix, URI), the
    // default namespace with the prefix "".
    let mut scope: Vec<(usize, &str, &str)> = Vec::with_capacity(16);
    let mut open: Vec<usize> = Vec::with_capacity(8);
    let mut i = 0;
    let mut done = false;
    while i < s.len() {
        if s[i] != b'<' {
            let end = text[i..].find('<').map_or(s.len(), |p| i + p);
            let chunk = &text[i..end];
            match open.last() {
                None if chunk.bytes().all(is_space) => {}
                None => return None,
                Some(&cur) => {
                    let el = &mut doc.els[cur];
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
                let (j, prefix, local) = qname(text, i + 2)?;
                let cur = open.pop()?;
                if doc.els[cur].prefix != prefix || doc.els[cur].local != local {
                    return None;
                }
                while scope.last().is_some_and(|d| d.0 == cur) {
                    scope.pop();
                }
                let j = skip_space(s, j);
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
                if done || doc.els.len() >= MAX_ELEMENTS || open.len() + 1 > max_depth {
                    return None;
                }
                let (mut j, prefix, local) = qname(text, i + 1)?;
                if prefix == "xmlns" {
                    return None;
                }
                let id = doc.els.len();
                let first_attr = doc.attrs.len();
                let empty = loop {
                    let spaced = s.get(j).is_some_and(|&b| is_space(b));
                    j = skip_space(s, j);
                    match s.get(j)? {
                        b'>' => break false,
                        b'/' if s.get(j + 1) == Some(&b'>') => {
                            j += 1;
                            break true;
                        }
                        _ if !spaced => return None,
                        _ => {}
                    }
                    let (k, ap, al) = qname(text, j)?;
                    j = skip_space(s, k);
                    if s.get(j) != Some(&b'=') {
                        return None;
                    }
                    j = skip_space(s, j + 1);
                    let quote = *s.get(j)?;
                    if quote != b'"' && quote != b'\'' {
                        return None;
                    }
                    let len = text[j + 1..].find(char::from(quote))?;
                    let value = &text[j + 1..j + 1 + len];
                    // XML turns tabs and newlines in values into spaces.
                    let odd = value.bytes().fold(false, |odd, b| {
                        odd | (b == b'<') | (b == b'\n') | (b == b'\t')
                    });
                    if odd {
                        return None;
                    }
                    j += len + 2;
                    if doc.attrs[first_attr..]
                        .iter()
                        .any(|a| a.prefix == ap && a.local == al)
                    {
                        return None;
                    }
                    match (ap, al) {
                        ("", "xmlns") => scope.push((id, "", value)),
                        ("xmlns", "xml" | "xmlns") => return None,
                        ("xmlns", _) if value.is_empty() => return None,
                        ("xmlns", p) => scope.push((id, p, value)),
                        _ => {}
                    }
                    doc.attrs.push(Attr {
                        prefix: ap,
                        local: al,
                        value,
                        ns: None,
                    });
                };
                for a in &mut doc.attrs[first_attr..] {
                    a.ns = if a.prefix.is_empty() {
                        Some("")
                    } else {
                        lookup(&scope, a.prefix)
                    };
                }
                let parent = open.last().copied().unwrap_or(usize::MAX);
                doc.els.push(El {
                    parent,
                    prefix,
                    local,
                    ns: lookup(&scope, prefix),
                    attrs: (first_attr, doc.attrs.len()),
                    text: "",
                    children: 0,
                    mixed: false,
                });
                if parent != usize::MAX {
                    let p = &mut doc.els[parent];
                    if !p.text.bytes().all(is_space) {
                        p.mixed = true;
                    }
                    p.text = "";
                    p.children += 1;
                } else if id != 0 {
                    return None;
                }
                if !empty {
                    open.push(id);
                } else {
                    while scope.last().is_some_and(|d| d.0 == id) {
                        scope.pop();
                    }
                    if parent == usize::MAX {
                        done = true;
                    }
                }
                i = j + 1;
            }
        }
    }
    (done && open.is_empty() && !doc.els.is_empty()).then_some(doc)
}

/// The namespace URI `prefix` is bound to in `scope`.
fn lookup<'a>(scope: &[(usize, &'a str, &'a str)], prefix: &str) -> Option<&'a str> {
    if prefix == "xml" {
        return Some(XML_NS);
    }
    match scope.iter().rev().find(|(_, p, _)| *p == prefix) {
        Some((_, _, uri)) => Some(uri),
        // The default namespace undeclared is none; a prefix must be bound.
        None => prefix.is_empty().then_some(""),
    }
}

/// An element's (namespace, local name).
fn name<'a>(doc: &Doc<'a>, at: usize) -> Option<(&'a str, &'a str)> {
    Some((doc.els[at].ns?, doc.els[at].local))
}

fn is_declaration(a: &Attr<'_>) -> bool {
    a.prefix == "xmlns" || (a.prefix.is_empty() && a.local == "xmlns")
}

/// An attribute's namespace ("" for none), `None` when its prefix is unbound.
fn attr_ns<'a>(a: &Attr<'a>) -> Option<&'a str> {
    a.ns
}

/// The value of the attribute `local` in `namespace` ("" for none).
fn attr<'a>(doc: &Doc<'a>, at: usize, namespace: &str, local: &str) -> Option<Option<&'a str>> {
    for a in doc.attrs(at) {
        if a.local != local || is_declaration(a) {
            continue;
        }
        if attr_ns(a)? == namespace {
            return Some(Some(a.value));
        }
    }
    Some(None)
}

/// A leaf's trimmed text; `None` when it has child elements.
fn leaf(doc: &Doc<'_>, at: usize) -> Option<String> {
    let el = &doc.els[at];
    (el.children == 0).then(|| el.text.trim().to_owned())
}

/// Every prefix used by an element or attribute is bound, and no element
/// has two attributes of the same namespace and name (else the full
/// parser refuses the document).
fn bound(doc: &Doc<'_>) -> bool {
    (0..doc.els.len()).all(|i| {
        if doc.els[i].ns.is_none() {
            return false;
        }
        let attrs = doc.attrs(i);
        attrs.iter().enumerate().all(|(k, a)| {
            if is_declaration(a) {
                return true;
            }
            let Some(ns) = attr_ns(a) else {
                return false;
            };
            !attrs[..k]
                .iter()
                .any(|b| b.local == a.local && !is_declaration(b) && attr_ns(b) == Some(ns))
        })
    })
}

/// The envelope of a Get-shaped request, or `None` for the full parser.
pub fn decode(text: &str, limits: &Limits) -> Option<Envelope> {
    // Elements, the text around them and the document: fewer nodes than
    // the full parser's limit, whatever they are.
    if (limits.max_nodes as usize) < 4 * MAX_ELEMENTS {
        return None;
    }
    let doc = scan(text, limits.max_depth)?;
    let els = &doc.els;
    if !bound(&doc) || els.iter().any(|e| e.mixed) {
        return None;
    }
    if name(&doc, 0)? != (ns::SOAP, "Envelope") || !els[0].text.bytes().all(is_space) {
        return None;
    }
    let mut top = doc.children(0);
    let (header, body) = match (top.next(), top.next(), top.next()) {
        (Some(h), Some(b), None)
            if name(&doc, h)? == (ns::SOAP, "Header") && name(&doc, b)? == (ns::SOAP, "Body") =>
        {
            (h, b)
        }
        _ => return None,
    };
    if els[body].children != 0
        || !els[body].text.bytes().all(is_space)
        || !els[header].text.bytes().all(is_space)
    {
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
        *slot = Some(leaf(&doc, at)?);
        Some(())
    };
    for n in doc.children(header) {
        match name(&doc, n)? {
            (ns::WSA, "To") => set(&mut h.to, n)?,
            (ns::WSA, "Action") => set(&mut h.action, n)?,
            (ns::WSA, "MessageID") => set(&mut h.message_id, n)?,
            (ns::WSA, "ReplyTo") => {
                let mut inner = doc.children(n);
                let (Some(address), None) = (inner.next(), inner.next()) else {
                    return None;
                };
                if reply_to.is_some() || name(&doc, address)? != (ns::WSA, "Address") {
                    return None;
                }
                reply_to = Some(leaf(&doc, address)?);
            }
            (ns::WSMAN, "ResourceURI") => set(&mut h.resource_uri, n)?,
            (ns::WSMAN, "MaxEnvelopeSize") => set(&mut max_envelope, n)?,
            (ns::WSMAN, "OperationTimeout") => set(&mut timeout, n)?,
            (ns::WSMAN, "Locale") => h.locale = attr(&doc, n, XML_NS, "lang")?.map(str::to_owned),
            (ns::WSMV, "DataLocale") => {
                h.data_locale = attr(&doc, n, XML_NS, "lang")?.map(str::to_owned)
            }
            (ns::WSMAN, "SelectorSet") => {
                let mut selectors: Vec<Selector> = Vec::new();
                for s in doc.children(n) {
                    if name(&doc, s)? != (ns::WSMAN, "Selector") {
                        return None;
                    }
                    let sel_name = attr(&doc, s, "", "Name")?
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
                        value: SelectorValue::Text(leaf(&doc, s)?),
                    });
                }
                h.selectors = selectors;
            }
            (ns::WSMAN, "OptionSet") => {
                for o in doc.children(n) {
                    if name(&doc, o)? != (ns::WSMAN, "Option") {
                        return None;
                    }
                    let option = attr(&doc, o, "", "Name")?.unwrap_or("").to_owned();
                    h.options.push((option, leaf(&doc, o)?));
                }
            }
            (ns::WSMV, "SessionId" | "OperationID" | "SequenceId" | "ActivityId") => {}
            _ => match attr(&doc, n, ns::SOAP, "mustUnderstand")? {
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
