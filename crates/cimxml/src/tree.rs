//! A bounded element tree read from a body by a small hand-written scanner.
//!
//! CIM-XML documents are small trees whose meaning depends on siblings, so
//! the decoders work on a tree; every dimension of that tree is capped by
//! [`Limits`] while it is read, so its size never exceeds a small multiple of
//! the (capped) body. No DTD is processed: a `<!DOCTYPE` (and so any
//! `<!ENTITY`) is refused as not well-formed the moment it is seen, and the
//! only entity references resolved are the five predefined ones and numeric
//! character references.
//!
//! The scanner covers the XML 1.0 subset CIM-XML needs (declaration,
//! elements, attributes, text, CDATA, comments, processing instructions) and
//! refuses everything else. The whole body is checked once for UTF-8 and
//! XML `Char` (2.2), so the pieces need no further checks. It was written for
//! the server's hot path: a general pull parser spent much of a request in
//! bookkeeping this tree does not need (figures: BENCHMARKS.md, "Measured
//! decisions").
//!
//! The tree borrows from the body: names, and values and text without
//! references, are slices of it, so a request costs two allocations (the
//! element and attribute lists) rather than several per element.

use crate::error::{DecodeError, Limits};
use std::borrow::Cow;

/// A parsed document: every element in one list, in document order (each
/// element before its descendants, the root first), every attribute in
/// another; so a document costs two allocations however many elements it
/// has, and reading it appends to lists rather than moving elements.
#[derive(Debug)]
pub(crate) struct Document<'a> {
    nodes: Vec<Node<'a>>,
    attrs: Vec<(&'a str, Cow<'a, str>)>,
}

/// One element's own data; [`Element`] adds the document around it.
#[derive(Debug)]
pub(crate) struct Node<'a> {
    pub name: &'a str,
    /// The character data directly inside this element, concatenated.
    pub text: Cow<'a, str>,
    /// Byte offset of the start tag in the body.
    pub offset: usize,
    attrs: std::ops::Range<u32>,
    /// How many children it has; the first is the next node.
    children: u32,
    /// The index of the node after its last descendant: its next sibling's,
    /// if it has one. While the element is still open, its parent's index
    /// ([`NO_PARENT`] for the root): the chain of open elements is kept in
    /// the nodes themselves, not in a stack of its own.
    end: u32,
}

/// The parent of the root, in [`Node::end`] while the root is open. No node
/// has this index: a body is under 4 GiB and each element takes at least
/// four bytes of it.
const NO_PARENT: u32 = u32::MAX;

impl<'a> Document<'a> {
    pub fn root(&self) -> Element<'_> {
        let node = self.nodes.first().expect("a parsed document has a root");
        Element {
            doc: self,
            node,
            at: 0,
        }
    }
}

/// An element of a [`Document`]: its [`Node`] fields (`name`, `text`,
/// `offset`) and its attributes and children.
#[derive(Clone, Copy)]
pub(crate) struct Element<'d> {
    doc: &'d Document<'d>,
    node: &'d Node<'d>,
    /// The node's index in the document.
    at: u32,
}

impl std::fmt::Debug for Element<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Element")
            .field("name", &self.node.name)
            .field("attrs", &self.attrs())
            .field("text", &self.node.text)
            .field("children", &self.children().collect::<Vec<_>>())
            .finish()
    }
}

impl<'d> std::ops::Deref for Element<'d> {
    type Target = Node<'d>;

    fn deref(&self) -> &Node<'d> {
        self.node
    }
}

fn span(range: &std::ops::Range<u32>) -> std::ops::Range<usize> {
    range.start as usize..range.end as usize
}

impl<'d> Element<'d> {
    pub fn attrs(&self) -> &'d [(&'d str, Cow<'d, str>)] {
        &self.doc.attrs[span(&self.node.attrs)]
    }

    pub fn attr(&self, name: &str) -> Option<&'d str> {
        self.attrs()
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_ref())
    }

    /// The text as a string of the document's lifetime.
    pub fn text_str(&self) -> &'d str {
        &self.node.text
    }

    pub fn children(&self) -> Children<'d> {
        Children {
            doc: self.doc,
            next: self.at as usize + 1,
            left: self.node.children as usize,
        }
    }

    pub fn child(&self, name: &str) -> Option<Element<'d>> {
        self.children().find(|c| c.name == name)
    }

    /// The children when there are exactly `N` of them.
    pub fn exactly<const N: usize>(&self) -> Option<[Element<'d>; N]> {
        if self.node.children as usize != N {
            return None;
        }
        let mut children = self.children();
        Some(std::array::from_fn(|_| {
            children.next().expect("as many children as counted")
        }))
    }
}

/// The children of an element, in document order.
#[derive(Clone)]
pub(crate) struct Children<'d> {
    doc: &'d Document<'d>,
    /// The index of the next child.
    next: usize,
    /// How many children are still to come.
    left: usize,
}

impl<'d> Iterator for Children<'d> {
    type Item = Element<'d>;

    fn next(&mut self) -> Option<Element<'d>> {
        if self.left == 0 {
            return None;
        }
        let at = self.next;
        let node = self.doc.nodes.get(at)?;
        self.left -= 1;
        self.next = node.end as usize;
        Some(Element {
            doc: self.doc,
            node,
            at: index(at),
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl ExactSizeIterator for Children<'_> {}

/// Parses `body` into a document.
pub(crate) fn parse<'a>(body: &'a [u8], limits: &Limits) -> Result<Document<'a>, DecodeError> {
    // Positions in the document are u32 (see `index`).
    let max_body_bytes = limits.max_body_bytes.min(u32::MAX as usize);
    if body.len() > max_body_bytes {
        return Err(DecodeError::LimitExceeded {
            offset: max_body_bytes,
            what: "body size",
            limit: max_body_bytes,
        });
    }
    // A UTF-8 byte order mark is allowed before the declaration.
    let base = if body.starts_with(&[0xEF, 0xBB, 0xBF]) {
        3
    } else {
        0
    };
    let text = std::str::from_utf8(&body[base..])
        .map_err(|e| DecodeError::not_well_formed(body, base + e.valid_up_to(), "invalid UTF-8"))?;
    if let Some((at, c)) = first_non_char(text) {
        return Err(DecodeError::not_well_formed(
            body,
            base + at,
            format!("character U+{:04X} not allowed in XML", c as u32),
        ));
    }
    Scanner {
        text,
        pos: 0,
        body,
        base,
        limits,
    }
    .document()
}

/// Bytes `first_non_char` must look at: C0 controls other than tab, LF and
/// CR, and 0xEF (which starts U+FFFE and U+FFFF, among others).
const SUSPECT_BYTES: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = !matches!(b, 0x09 | 0x0A | 0x0D);
        b += 1;
    }
    table[0xEF] = true;
    table
};

/// Whether any of the eight bytes of `word` is below 0x20 or is 0xEF: the
/// bytes [`SUSPECT_BYTES`] may mark (a word without them needs no look).
fn may_hold_suspects(word: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    // The classic word-at-a-time tests "has a byte below n" (exact for
    // n <= 0x80) and "has a zero byte" (after xor with 0xEF in every byte).
    let below_0x20 = word.wrapping_sub(ONES * 0x20) & !word & HIGHS;
    let ef = word ^ (ONES * 0xEF);
    let has_ef = ef.wrapping_sub(ONES) & !ef & HIGHS;
    below_0x20 | has_ef != 0
}

/// The index of the first byte [`SUSPECT_BYTES`] marks: eight bytes at a
/// time, looking at each byte only of words that may hold one (most of a
/// body holds none; the tab, LF and CR it does hold send their word to the
/// byte-by-byte look).
fn first_suspect(bytes: &[u8]) -> Option<usize> {
    let suspect = |b: &u8| SUSPECT_BYTES[usize::from(*b)];
    let mut words = bytes.chunks_exact(8);
    let mut at = 0;
    for word in &mut words {
        let mut eight = [0u8; 8];
        eight.copy_from_slice(word);
        if may_hold_suspects(u64::from_le_bytes(eight)) {
            if let Some(i) = word.iter().position(suspect) {
                return Some(at + i);
            }
        }
        at += 8;
    }
    words.remainder().iter().position(suspect).map(|i| at + i)
}

/// The position and value of the first character that is not an XML 1.0
/// `Char` (2.2): a C0 control other than tab, LF and CR, or U+FFFE/U+FFFF.
/// This pass covers the whole body: words of eight bytes without a control
/// character or 0xEF are passed over at once.
fn first_non_char(text: &str) -> Option<(usize, char)> {
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(i) = first_suspect(&bytes[from..]) {
        let at = from + i;
        let b = bytes[at];
        if b != 0xEF {
            return Some((at, char::from(b)));
        }
        // U+FFFE and U+FFFF are EF BF BE and EF BF BF.
        if bytes.get(at + 1) == Some(&0xBF) && matches!(bytes.get(at + 2), Some(0xBE | 0xBF)) {
            let c = if bytes[at + 2] == 0xBE {
                '\u{FFFE}'
            } else {
                '\u{FFFF}'
            };
            return Some((at, c));
        }
        from = at + 1;
    }
    None
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// Bytes that may start (1) or continue (2) an XML 1.0 name, loosely: every
/// non-ASCII character is allowed.
const NAME_BYTES: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = if c.is_ascii_alphabetic() || c == b'_' || c == b':' || c >= 0x80 {
            3
        } else if c.is_ascii_digit() || c == b'-' || c == b'.' {
            2
        } else {
            0
        };
        b += 1;
    }
    table
};

fn is_name_start(b: u8) -> bool {
    NAME_BYTES[usize::from(b)] & 1 != 0
}

fn is_name_char(b: u8) -> bool {
    NAME_BYTES[usize::from(b)] & 2 != 0
}

/// The length of the character data before the next `<`, and whether it
/// can be taken as it is (no reference, CR or `]` to look at); `None` when
/// no `<` follows.
fn text_run(bytes: &[u8]) -> Option<(usize, bool)> {
    let mut plain = true;
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'<' => return Some((i, plain)),
            b'&' | b'\r' | b']' => plain = false,
            _ => {}
        }
    }
    None
}

/// The scanner's position in the document (after the byte order mark).
struct Scanner<'a, 'l> {
    text: &'a str,
    pos: usize,
    body: &'a [u8],
    base: usize,
    limits: &'l Limits,
}

impl<'a> Scanner<'a, '_> {
    fn bytes(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    fn rest(&self) -> &'a str {
        &self.text[self.pos..]
    }

    fn peek(&self) -> Option<u8> {
        self.bytes().get(self.pos).copied()
    }

    fn error(&self, at: usize, message: impl Into<String>) -> DecodeError {
        DecodeError::not_well_formed(self.body, self.base + at, message)
    }

    fn limit(&self, at: usize, what: &'static str, limit: usize) -> DecodeError {
        DecodeError::LimitExceeded {
            offset: self.base + at,
            what,
            limit,
        }
    }

    /// Skips white space; whether there was any.
    fn skip_space(&mut self) -> bool {
        let rest = &self.bytes()[self.pos..];
        let len = rest
            .iter()
            .position(|&b| !is_space(b))
            .unwrap_or(rest.len());
        self.pos += len;
        len > 0
    }

    /// Consumes `literal` if the input continues with it.
    fn eat(&mut self, literal: &str) -> bool {
        if self.rest().starts_with(literal) {
            self.pos += literal.len();
            true
        } else {
            false
        }
    }

    /// Everything up to `terminator`, which is consumed too. `what` names the
    /// construct for the error when the terminator is missing.
    fn until(
        &mut self,
        terminator: &str,
        start: usize,
        what: &str,
    ) -> Result<&'a str, DecodeError> {
        match self.rest().find(terminator) {
            Some(len) => {
                let piece = &self.rest()[..len];
                self.pos += len + terminator.len();
                Ok(piece)
            }
            None => Err(self.error(start, format!("{what} not closed"))),
        }
    }

    /// Whether the input continues with the name `open` and nothing more
    /// of a name: an end tag that closes `open`.
    fn closes(&self, open: &str) -> bool {
        let rest = &self.bytes()[self.pos..];
        rest.starts_with(open.as_bytes()) && !rest.get(open.len()).is_some_and(|&b| is_name_char(b))
    }

    fn name(&mut self) -> Result<&'a str, DecodeError> {
        let start = self.pos;
        let rest = &self.bytes()[start..];
        if !rest.first().is_some_and(|&b| is_name_start(b)) {
            return Err(self.error(start, "expected a name"));
        }
        let len = rest
            .iter()
            .position(|&b| !is_name_char(b))
            .unwrap_or(rest.len());
        self.pos += len;
        // Name bytes take whole UTF-8 sequences (every byte >= 0x80 is one),
        // so the name ends on a character boundary.
        Ok(&self.text[start..self.pos])
    }

    fn document(mut self) -> Result<Document<'a>, DecodeError> {
        if self.rest().starts_with("<?xml")
            && self
                .bytes()
                .get(5)
                .is_some_and(|&b| is_space(b) || b == b'?')
        {
            self.declaration()?;
        }
        // CIM-XML spends 30-40 bytes per element and about as many per
        // attribute: room for most documents without growing the lists, and
        // without another pass over the body to count them.
        let expected = (self.text.len() / 24 + 8).min(self.limits.max_elements);
        let mut doc = Document {
            nodes: Vec::with_capacity(expected),
            attrs: Vec::with_capacity(expected),
        };
        // The innermost open element (its `end` holds its parent's index
        // until it closes), and how many are open.
        let mut open = NO_PARENT;
        let mut depth = 0usize;
        loop {
            let here = self.pos;
            match doc.nodes.get_mut(open as usize) {
                None => {
                    self.skip_space();
                    if self.pos == self.text.len() {
                        if doc.nodes.is_empty() {
                            return Err(self.error(self.pos, "no root element"));
                        }
                        return Ok(doc);
                    }
                    if self.peek() != Some(b'<') {
                        return Err(self.error(self.pos, "text outside the root element"));
                    }
                }
                Some(open) => {
                    let (len, plain) = text_run(self.rest().as_bytes()).ok_or_else(|| {
                        self.error(
                            self.text.len(),
                            format!("unexpected end of document inside <{}>", open.name),
                        )
                    })?;
                    if len > 0 {
                        let raw = &self.rest()[..len];
                        let text = if plain {
                            Cow::Borrowed(raw)
                        } else {
                            unescape_text(raw).map_err(|m| self.error(here, m))?
                        };
                        push_text(open, text, here, self.base, self.limits)?;
                        self.pos += len;
                    }
                }
            }
            let at = self.pos;
            match self.bytes().get(at + 1) {
                Some(b'!') => {
                    self.markup_declaration(at, doc.nodes.get_mut(open as usize))?;
                }
                Some(b'?') => {
                    self.pos += 2;
                    let target = self.name()?;
                    if target.eq_ignore_ascii_case("xml") {
                        return Err(self.error(at, "XML declaration not at the start"));
                    }
                    self.until("?>", at, "processing instruction")?;
                }
                Some(b'/') => {
                    self.pos += 2;
                    // Most end tags name the open element: one comparison
                    // instead of a scan byte by byte.
                    let open_name = doc.nodes.get(open as usize).map(|n| n.name);
                    let name = match open_name {
                        Some(open_name) if self.closes(open_name) => {
                            self.pos += open_name.len();
                            open_name
                        }
                        _ => self.name()?,
                    };
                    self.skip_space();
                    if !self.eat(">") {
                        return Err(self.error(self.pos, format!("expected '>' to end </{name}")));
                    }
                    let end = index(doc.nodes.len());
                    let Some(el) = doc.nodes.get_mut(open as usize) else {
                        return Err(self.error(at, "end tag without start tag"));
                    };
                    if name != el.name {
                        return Err(
                            self.error(at, format!("expected `</{}>`, found `</{name}>`", el.name))
                        );
                    }
                    open = std::mem::replace(&mut el.end, end);
                    depth -= 1;
                }
                _ => {
                    self.pos += 1;
                    if open == NO_PARENT && !doc.nodes.is_empty() {
                        return Err(self.error(at, "content after the root element"));
                    }
                    if depth + 1 > self.limits.max_depth {
                        return Err(self.limit(at, "element depth", self.limits.max_depth));
                    }
                    if doc.nodes.len() + 1 > self.limits.max_elements {
                        return Err(self.limit(at, "element count", self.limits.max_elements));
                    }
                    let (mut el, empty) = self.start_tag(at, &mut doc.attrs)?;
                    let me = index(doc.nodes.len());
                    if let Some(parent) = doc.nodes.get_mut(open as usize) {
                        parent.children += 1;
                    }
                    if empty {
                        el.end = me + 1;
                    } else {
                        el.end = open;
                        open = me;
                        depth += 1;
                    }
                    doc.nodes.push(el);
                }
            }
        }
    }

    /// `<!` at `at`: a comment, a CDATA section (inside an element), or a
    /// declaration, which is refused.
    fn markup_declaration(
        &mut self,
        at: usize,
        open: Option<&mut Node<'a>>,
    ) -> Result<(), DecodeError> {
        if self.eat("<!--") {
            let comment = self.until("-->", at, "comment")?;
            if comment.contains("--") || comment.ends_with('-') {
                return Err(self.error(at, "'--' inside a comment"));
            }
            Ok(())
        } else if self.eat("<![CDATA[") {
            let data = self.until("]]>", at, "CDATA section")?;
            let Some(open) = open else {
                return Err(self.error(at, "CDATA outside the root element"));
            };
            let text = Cow::Owned(normalize_newlines(data));
            push_text(open, text, at, self.base, self.limits)
        } else if self.rest().starts_with("<!DOCTYPE") {
            Err(self.error(
                at,
                "DOCTYPE not allowed: no DTD or entity declarations are processed",
            ))
        } else {
            Err(self.error(at, "markup declarations are not allowed"))
        }
    }

    /// `<?xml ...?>` at the very start; only UTF-8 is accepted.
    fn declaration(&mut self) -> Result<(), DecodeError> {
        let at = self.pos;
        self.pos += "<?xml".len();
        loop {
            let spaced = self.skip_space();
            if self.eat("?>") {
                return Ok(());
            }
            if self.pos == self.text.len() {
                return Err(self.error(at, "XML declaration not closed"));
            }
            if !spaced {
                return Err(self.error(self.pos, "expected white space in the XML declaration"));
            }
            let key = self.name()?;
            let value = self.attribute_value()?;
            if key == "encoding"
                && !(value.eq_ignore_ascii_case("utf-8") || value.eq_ignore_ascii_case("utf8"))
            {
                return Err(
                    self.error(at, format!("encoding {value:?} not supported (only UTF-8)"))
                );
            }
        }
    }

    /// `= "value"` after an attribute's name: the raw value.
    fn attribute_value(&mut self) -> Result<&'a str, DecodeError> {
        self.skip_space();
        if !self.eat("=") {
            return Err(self.error(self.pos, "expected '=' after an attribute name"));
        }
        self.skip_space();
        let quote = match self.peek() {
            Some(q @ (b'"' | b'\'')) => q,
            _ => return Err(self.error(self.pos, "expected a quoted attribute value")),
        };
        let at = self.pos;
        self.pos += 1;
        let Some(len) = self.rest().bytes().position(|b| b == quote) else {
            return Err(self.error(at, "attribute value not closed"));
        };
        let raw = &self.rest()[..len];
        self.pos += len + 1;
        Ok(raw)
    }

    /// The rest of a start tag after `<`, its attributes appended to
    /// `attrs`; whether it was empty (`/>`).
    fn start_tag(
        &mut self,
        at: usize,
        attrs: &mut Vec<(&'a str, Cow<'a, str>)>,
    ) -> Result<(Node<'a>, bool), DecodeError> {
        let name = self.name()?;
        let first = attrs.len();
        loop {
            let spaced = self.skip_space();
            let empty = if self.eat(">") {
                false
            } else if self.eat("/>") {
                true
            } else {
                if self.pos == self.text.len() {
                    return Err(self.error(at, format!("<{name}> not closed")));
                }
                if !spaced {
                    return Err(self.error(
                        self.pos,
                        format!("expected white space, '>' or '/>' in <{name}>"),
                    ));
                }
                let key = self.name()?;
                if attrs.len() - first >= self.limits.max_attributes {
                    return Err(self.limit(at, "attribute count", self.limits.max_attributes));
                }
                if attrs[first..].iter().any(|(k, _)| *k == key) {
                    return Err(self.error(at, format!("duplicate attribute {key}")));
                }
                let raw = self.attribute_value()?;
                if raw.len() > self.limits.max_attribute_len.saturating_mul(8) {
                    return Err(self.limit(at, "attribute length", self.limits.max_attribute_len));
                }
                let value = unescape_attr(raw)
                    .map_err(|m| self.error(at, format!("attribute {key}: {m}")))?;
                if value.len() > self.limits.max_attribute_len {
                    return Err(self.limit(at, "attribute length", self.limits.max_attribute_len));
                }
                attrs.push((key, value));
                continue;
            };
            let node = Node {
                name,
                text: Cow::Borrowed(""),
                offset: at,
                attrs: index(first)..index(attrs.len()),
                children: 0,
                end: 0,
            };
            return Ok((node, empty));
        }
    }
}

/// A position in the document's lists. Bodies are capped far below 4 GiB
/// (`Limits::max_body_bytes`), so every count fits.
fn index(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}

fn push_text<'a>(
    el: &mut Node<'a>,
    text: Cow<'a, str>,
    offset: usize,
    base: usize,
    limits: &Limits,
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

/// XML 1.0 `Char`: tab, LF, CR, and U+0020 upward except U+FFFE and U+FFFF
/// (Rust strings hold no surrogates).
pub(crate) fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r') || (c >= ' ' && c != '\u{FFFE}' && c != '\u{FFFF}')
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

/// Character data between markup: references resolved, line ends
/// normalized; borrowed when there are neither.
fn unescape_text(raw: &str) -> Result<Cow<'_, str>, String> {
    if raw.contains("]]>") {
        return Err("']]>' in text".into());
    }
    // Raw characters were checked before references are resolved, so that
    // `&#13;` survives as CR while a literal CR is normalized.
    if !raw.bytes().any(|b| b == b'&' || b == b'\r') {
        return Ok(Cow::Borrowed(raw));
    }
    unescape(&normalize_newlines(raw)).map(Cow::Owned)
}

/// What an attribute value's bytes call for: `<` is refused (1), a
/// reference or literal white space other than the space is rewritten (2).
const ATTR_BYTES: [u8; 256] = {
    let mut table = [0u8; 256];
    table[b'<' as usize] = 1;
    table[b'&' as usize] = 2;
    table[b'\t' as usize] = 2;
    table[b'\n' as usize] = 2;
    table[b'\r' as usize] = 2;
    table
};

fn unescape_attr(raw: &str) -> Result<Cow<'_, str>, String> {
    // One pass over the (mostly short) value instead of two searches.
    let found = raw
        .bytes()
        .fold(0u8, |found, b| found | ATTR_BYTES[usize::from(b)]);
    if found & 1 != 0 {
        return Err("'<' in attribute value".into());
    }
    if found == 0 {
        return Ok(Cow::Borrowed(raw));
    }
    // Attribute-value normalization (XML 3.3.3) for CDATA attributes: literal
    // white space becomes a space; references to it are kept.
    let s = raw.replace("\r\n", " ").replace(['\t', '\n', '\r'], " ");
    unescape(&s).map(Cow::Owned)
}

#[cfg(test)]
mod word_scan_tests {
    use super::*;
    use proptest::prelude::*;

    fn one_by_one(bytes: &[u8]) -> Option<usize> {
        bytes.iter().position(|&b| SUSPECT_BYTES[usize::from(b)])
    }

    #[test]
    fn finds_every_suspect_byte_at_every_position() {
        for b in 0..=255u8 {
            for len in 1..20 {
                for at in 0..len {
                    let mut bytes = vec![b'a'; len];
                    bytes[at] = b;
                    assert_eq!(
                        first_suspect(&bytes),
                        one_by_one(&bytes),
                        "{b:#x} at {at}/{len}"
                    );
                }
            }
        }
    }

    proptest! {
        #[test]
        fn word_scan_agrees_with_the_byte_scan(
            bytes in prop::collection::vec(prop_oneof![
                4 => 0x20u8..0x7f,
                1 => any::<u8>(),
                1 => prop::sample::select(vec![b'\t', b'\n', b'\r', 0xEF, 0xBF, 0x00, 0x1F]),
            ], 0..80),
        ) {
            prop_assert_eq!(first_suspect(&bytes), one_by_one(&bytes));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<Document<'_>, DecodeError> {
        parse(s.as_bytes(), &Limits::default())
    }

    fn nth<'d>(e: &Element<'d>, i: usize) -> Element<'d> {
        e.children().nth(i).unwrap()
    }

    #[test]
    fn reads_a_small_tree() {
        let d = p("<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n<A x=\"1&amp;2&#10;\"><B>t&lt;&#x41;</B><C/><![CDATA[<raw>]]></A>").unwrap();
        let e = d.root();
        assert_eq!(e.name, "A");
        assert_eq!(e.attr("x"), Some("1&2\n"));
        assert_eq!(nth(&e, 0).text, "t<A");
        assert_eq!(nth(&e, 1).name, "C");
        assert_eq!(e.text, "<raw>");
    }

    #[test]
    fn borrows_from_the_body_unless_references_are_resolved() {
        let d =
            p("<A x=\"plain\" y=\"a&amp;b\"><B>text</B><C>t&lt;</C><D>one<E/>two</D></A>").unwrap();
        let e = d.root();
        assert!(matches!(&e.attrs()[0].1, Cow::Borrowed("plain")));
        assert!(matches!(&e.attrs()[1].1, Cow::Owned(v) if v == "a&b"));
        assert!(matches!(&nth(&e, 0).text, Cow::Borrowed("text")));
        assert!(matches!(&nth(&e, 1).text, Cow::Owned(v) if v == "t<"));
        assert_eq!(nth(&e, 2).text, "onetwo");
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

    /// The tree written back as compact markup (names, text, children).
    fn shape(e: &Element<'_>) -> String {
        let inner: String = e.children().map(|c| shape(&c)).collect();
        format!("<{}>{}{}</{}>", e.name, e.text, inner, e.name)
    }

    #[test]
    fn children_keep_their_order_at_every_depth() {
        let doc = "<a>1<b><c/><d>x</d></b>2<e/><f><g><h/><i/></g><j/></f></a>";
        let d = p(doc).unwrap();
        assert_eq!(
            shape(&d.root()),
            "<a>12<b><c></c><d>x</d></b><e></e><f><g><h></h><i></i></g><j></j></f></a>"
        );
        let [b, e, f] = d.root().exactly().unwrap();
        assert_eq!((b.name, e.name, f.name), ("b", "e", "f"));
        assert!(d.root().exactly::<2>().is_none());
        assert_eq!(f.child("j").map(|j| j.offset), doc.find("<j/>"));
    }

    #[test]
    fn accepts_what_xml_allows_around_the_elements() {
        for good in [
            "\u{FEFF}<a/>",
            "<?xml version='1.0'?><a/>",
            "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\r\n<a/>\n",
            "<!-- before --><?pi data?>\n<a/><!-- after -->\n<?pi?>  ",
            "<a\n  x = 'single \"quoted\"'\ty=\"double 'quoted'\" ></a >",
            "<ns:a xmlns:ns='u'><ns:b-c.d_e/></ns:a>",
            "<é ü='ß'>ö</é>",
            "<a><!-- - --><?x y?></a>",
        ] {
            if let Err(e) = p(good) {
                panic!("{good:?}: {e}");
            }
        }
        let d = p("<a x = 'v' y=\"w\">t<![CDATA[ ]]&gt; ]]>u</a>").unwrap();
        let e = d.root();
        assert_eq!(e.attr("x"), Some("v"));
        assert_eq!(e.attr("y"), Some("w"));
        assert_eq!(e.text, "t ]]&gt; u");
    }

    #[test]
    fn refuses_malformed_markup_with_its_position() {
        for (bad, why) in [
            ("<a><!-- x -- y --></a>", "'--' inside a comment"),
            ("<a><!-- x ---></a>", "'--' inside a comment"),
            ("<a><!-- x </a>", "comment not closed"),
            ("<a><![CDATA[ x </a>", "CDATA section not closed"),
            ("<![CDATA[x]]><a/>", "CDATA outside the root element"),
            ("<a><?pi x </a>", "processing instruction not closed"),
            (
                "<a/><?xml version='1.0'?>",
                "XML declaration not at the start",
            ),
            (
                " <?xml version='1.0'?><a/>",
                "XML declaration not at the start",
            ),
            ("<?xml version='1.0'", "XML declaration not closed"),
            (
                "<?xml version='1.0'encoding='utf-8'?><a/>",
                "expected white space",
            ),
            (
                "<a><!ELEMENT a ANY></a>",
                "markup declarations are not allowed",
            ),
            ("<a x='1'y='2'/>", "expected white space, '>' or '/>'"),
            ("<a x/>", "expected '=' after an attribute name"),
            ("<a x=1/>", "expected a quoted attribute value"),
            ("<a x='1/>", "attribute value not closed"),
            ("<a x='<'/>", "'<' in attribute value"),
            ("<a x='&bogus;'/>", "undeclared entity"),
            ("<a>x ]]> y</a>", "']]>' in text"),
            ("<a>x & y</a>", "'&' without ';'"),
            ("<1a/>", "expected a name"),
            ("< a/>", "expected a name"),
            ("<a></a x>", "expected '>'"),
            ("<ab></abc>", "expected `</ab>`, found `</abc>`"),
            ("<abc></ab>", "expected `</abc>`, found `</ab>`"),
            ("<ab></ab-c>", "expected `</ab>`, found `</ab-c>`"),
            ("<é></éx>", "expected `</é>`, found `</éx>`"),
            ("<é></éé>", "expected `</é>`, found `</éé>`"),
            ("<a><b></a></b>", "expected `</b>`, found `</a>`"),
            ("<a></a", "expected '>' to end </a"),
            ("<a></", "expected a name"),
            ("<a", "<a> not closed"),
            ("<a>text", "unexpected end of document inside <a>"),
            ("<a/>trailing", "text outside the root element"),
            ("<a/><b/>", "content after the root element"),
            ("<a>\u{FFFF}</a>", "character U+FFFF not allowed"),
            ("<a>\u{7}</a>", "character U+0007 not allowed"),
        ] {
            match p(bad) {
                Err(DecodeError::NotWellFormed { message, .. }) => {
                    assert!(message.contains(why), "{bad:?}: {message:?} lacks {why:?}");
                }
                other => panic!("{bad:?}: {other:?}"),
            }
        }
        match parse(b"<a>\xFF</a>", &Limits::default()) {
            Err(DecodeError::NotWellFormed {
                offset, message, ..
            }) => {
                assert_eq!(offset, 3);
                assert!(message.contains("UTF-8"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        match p("<a>\n<b x='1' x='2'/></a>") {
            Err(DecodeError::NotWellFormed {
                offset,
                line,
                column,
                ..
            }) => assert_eq!((offset, line, column), (4, 2, 1)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn limits_attributes_and_text() {
        let limits = Limits {
            max_attributes: 2,
            max_attribute_len: 4,
            max_text_len: 4,
            ..Limits::default()
        };
        for (doc, what) in [
            ("<a x='1' y='2' z='3'/>", "attribute count"),
            ("<a x='12345'/>", "attribute length"),
            ("<a>12345</a>", "text length"),
            ("<a>12<b/>345</a>", "text length"),
        ] {
            match parse(doc.as_bytes(), &limits) {
                Err(DecodeError::LimitExceeded { what: w, .. }) => assert_eq!(w, what, "{doc}"),
                other => panic!("{doc}: {other:?}"),
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
