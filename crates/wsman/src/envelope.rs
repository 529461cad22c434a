//! Decoding a request's SOAP 1.2 envelope into its WS-Management headers
//! and body, within limits, without I/O.
//!
//! The XML reader is `roxmltree`, not CIM-XML's hand-written scanner
//! (`openwmi_cimxml::tree`): a WS-Management envelope is namespaced XML
//! whose prefixes are the client's choice (`wsman:`, `w:`, `p:`, default
//! namespaces), which that scanner does not resolve. roxmltree resolves
//! namespaces, refuses a DTD unless allowed (it never is here, so no entity
//! but the predefined ones and no external reference is ever read), bounds
//! the nodes it makes (`nodes_limit`), reports where it stopped (line and
//! column), is pure Rust without `unsafe` in our path, and depends only on
//! memchr, which the workspace already has. quick-xml would leave namespace
//! resolution and the tree to us. What roxmltree does not bound, the size and
//! the depth, is checked here: the size before parsing, the depth over the
//! tree it made.
//!
//! Requests in UTF-16 (a byte-order mark, or `charset=utf-16`), which
//! Windows clients may send, are decoded; the answer goes back in the same
//! encoding ([`Encoding`]).

use crate::fault::{Fault, FaultKind};
use crate::ns;
use roxmltree::{Document, Node};
use std::borrow::Cow;
use std::time::Duration;

/// Bounds on a request envelope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Bytes of the envelope as received. Windows' service accepts 500 KiB
    /// (its MaxEnvelopeSizekb); a WS-Management request is a few KiB.
    pub max_bytes: usize,
    /// Nesting of elements: a request needs about ten levels.
    pub max_depth: usize,
    /// Nodes (elements, text, attributes' owners) of the whole document.
    pub max_nodes: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 512_000,
            max_depth: 32,
            max_nodes: 20_000,
        }
    }
}

/// The text encoding of a request, which its answer keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Utf16Le,
    Utf16Be,
}

/// A selector's value: text, or (for a reference key) an endpoint reference.
#[derive(Clone, Debug, PartialEq)]
pub enum SelectorValue {
    Text(String),
    Reference(Box<Epr>),
}

/// `<wsman:Selector Name="..">`.
#[derive(Clone, Debug, PartialEq)]
pub struct Selector {
    pub name: String,
    pub value: SelectorValue,
}

/// An endpoint reference: address, resource URI and selectors.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Epr {
    pub address: String,
    pub resource_uri: Option<String>,
    pub selectors: Vec<Selector>,
}

/// The headers openwmi reads. Those it understands without using
/// (`wsmv:SessionId`, `OperationID`, `SequenceId`, `ActivityId`) are
/// accepted and dropped: without Robust Connections a server ignores
/// OperationID and sends none back (MS-WSMV 3.1.4.1.39).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Headers {
    pub to: Option<String>,
    pub action: Option<String>,
    pub resource_uri: Option<String>,
    pub message_id: Option<String>,
    pub max_envelope_size: Option<u32>,
    pub operation_timeout: Option<Duration>,
    pub locale: Option<String>,
    pub data_locale: Option<String>,
    pub selectors: Vec<Selector>,
    /// `wsman:OptionSet`: name and value of each option.
    pub options: Vec<(String, String)>,
    /// `e:Identifier`: the subscription a Renew, GetStatus or Unsubscribe
    /// names (the reference parameter of the SubscribeResponse's manager).
    pub identifier: Option<String>,
}

impl Headers {
    /// Whether the OptionSet asks for `UsePreciseArrays` (Windows' CIM
    /// cmdlets send `msftwinrm:UsePreciseArrays` = true; the option's
    /// name may carry a prefix).
    pub fn uses_precise_arrays(&self) -> bool {
        self.options.iter().any(|(name, value)| {
            name.rsplit(':').next() == Some("UsePreciseArrays")
                && value.trim().eq_ignore_ascii_case("true")
        })
    }
}

/// How an enumeration returns its items (`wsman:EnumerationMode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum EnumerationMode {
    #[default]
    Objects,
    Epr,
    ObjectAndEpr,
}

/// The DSP0227 association filter.
#[derive(Clone, Debug, PartialEq)]
pub struct AssociationFilter {
    /// `AssociationInstances` (the association instances themselves: CIM
    /// References) rather than `AssociatedInstances` (Associators).
    pub references: bool,
    pub object: Epr,
    pub association_class: Option<String>,
    pub role: Option<String>,
    pub result_class: Option<String>,
    pub result_role: Option<String>,
}

/// What a `Filter` holds, by its shape.
#[derive(Clone, Debug, PartialEq)]
pub enum FilterContent {
    Text(String),
    Selectors(Vec<Selector>),
    Association(AssociationFilter),
}

/// `wsman:Filter` (or `wsen:Filter`) of an Enumerate.
#[derive(Clone, Debug, PartialEq)]
pub struct FilterSpec {
    pub dialect: Option<String>,
    pub content: FilterContent,
}

/// `wsen:Enumerate`.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct EnumerateBody {
    pub optimize: bool,
    pub max_elements: Option<u32>,
    pub mode: EnumerationMode,
    pub filter: Option<FilterSpec>,
}

/// `wsen:Pull`.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct PullBody {
    pub context: String,
    pub max_elements: Option<u32>,
    pub max_time: Option<Duration>,
    pub max_characters: Option<u32>,
}

/// The body's first element, as far as openwmi reads it.
#[derive(Clone, Debug, PartialEq)]
pub enum Body {
    Empty,
    Identify,
    Enumerate(EnumerateBody),
    Pull(PullBody),
    Release {
        context: String,
    },
    /// A method's input, `<p:<Method>_INPUT xmlns:p="<ResourceURI>">`.
    Invoke(InvokeBody),
    /// WS-Eventing's Subscribe, Renew, GetStatus or Unsubscribe.
    Eventing(crate::eventing::EventingBody),
    /// Anything else (the action decides whether that is wrong).
    Other {
        namespace: String,
        name: String,
    },
}

/// The body of an Invoke: the method named by its element and the
/// parameters it holds, in order.
#[derive(Clone, Debug, PartialEq)]
pub struct InvokeBody {
    /// The element's namespace (the resource URI, for a well-formed call).
    pub namespace: String,
    /// The element's name less `_INPUT`.
    pub method: String,
    pub params: Vec<InvokeParam>,
}

/// One input parameter: one value, or several for an array (the element
/// repeated, as DSP0230 writes arrays).
#[derive(Clone, Debug, PartialEq)]
pub struct InvokeParam {
    pub name: String,
    pub values: Vec<ParamValue>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ParamValue {
    /// `xsi:nil="true"`.
    Nil,
    /// The element's text as sent (typed against the method's declaration
    /// when it runs).
    Text(String),
    /// An endpoint reference (a reference parameter).
    Reference(Box<Epr>),
}

/// A decoded request envelope.
#[derive(Clone, Debug, PartialEq)]
pub struct Envelope {
    pub headers: Headers,
    pub body: Body,
    pub encoding: Encoding,
}

/// A request refused while decoding: the fault, and what the answer needs
/// from the request (its MessageID, once read, and its encoding).
#[derive(Clone, Debug, PartialEq)]
pub struct Rejected {
    pub fault: Fault,
    pub message_id: Option<String>,
    pub encoding: Encoding,
}

fn schema(reason: String) -> Fault {
    Fault::new(FaultKind::SchemaValidationError, reason)
}

/// The charset parameter of a Content-Type, lower-cased.
fn charset(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| v.trim().trim_matches('"').to_ascii_lowercase())
    })
}

/// The envelope's text and its encoding, from the bytes and the declared
/// charset: a byte-order mark decides, else the charset (UTF-8 when none).
pub fn decode_text<'a>(
    bytes: &'a [u8],
    content_type: Option<&str>,
) -> Result<(Cow<'a, str>, Encoding), Fault> {
    let declared = content_type.and_then(charset);
    let encoding = match bytes {
        [0xFF, 0xFE, ..] => Encoding::Utf16Le,
        [0xFE, 0xFF, ..] => Encoding::Utf16Be,
        _ => match declared.as_deref() {
            None | Some("utf-8" | "utf8") => Encoding::Utf8,
            Some("utf-16" | "utf-16le") => Encoding::Utf16Le,
            Some("utf-16be") => Encoding::Utf16Be,
            Some(other) => {
                return Err(Fault::new(
                    FaultKind::EncodingLimit,
                    format!("the request's charset {other:?} is not supported (UTF-8 or UTF-16)"),
                )
                .with_detail("CharacterSet"))
            }
        },
    };
    let text = match encoding {
        Encoding::Utf8 => {
            let bytes = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(bytes);
            // Borrowed: the body is parsed where it lies.
            Cow::Borrowed(std::str::from_utf8(bytes).map_err(|e| {
                Fault::new(
                    FaultKind::EncodingLimit,
                    format!("the request is not valid UTF-8 at byte {}", e.valid_up_to()),
                )
                .with_detail("CharacterSet")
            })?)
        }
        Encoding::Utf16Le | Encoding::Utf16Be => {
            let body = match bytes {
                [0xFF, 0xFE, rest @ ..] | [0xFE, 0xFF, rest @ ..] => rest,
                _ => bytes,
            };
            if body.len() % 2 != 0 {
                return Err(Fault::new(
                    FaultKind::EncodingLimit,
                    "the UTF-16 request has an odd number of bytes",
                )
                .with_detail("CharacterSet"));
            }
            let units = body.chunks_exact(2).map(|c| match encoding {
                Encoding::Utf16Le => u16::from_le_bytes([c[0], c[1]]),
                _ => u16::from_be_bytes([c[0], c[1]]),
            });
            char::decode_utf16(units)
                .collect::<Result<String, _>>()
                .map(Cow::Owned)
                .map_err(|e| {
                    Fault::new(
                        FaultKind::EncodingLimit,
                        format!("the request is not valid UTF-16: {e}"),
                    )
                    .with_detail("CharacterSet")
                })?
        }
    };
    Ok((text, encoding))
}

/// Decodes a request: size, encoding, XML (no DTD), depth, then the SOAP
/// structure, headers and body.
pub fn decode(
    bytes: &[u8],
    content_type: Option<&str>,
    limits: &Limits,
) -> Result<Envelope, Box<Rejected>> {
    let reject = |fault, message_id, encoding| {
        Box::new(Rejected {
            fault,
            message_id,
            encoding,
        })
    };
    if bytes.len() > limits.max_bytes {
        let fault = Fault::new(
            FaultKind::EncodingLimit,
            format!(
                "the request envelope of {} bytes is larger than the {} bytes accepted",
                bytes.len(),
                limits.max_bytes
            ),
        )
        .with_detail("MaxEnvelopeSize");
        return Err(reject(fault, None, Encoding::Utf8));
    }
    let (text, encoding) =
        decode_text(bytes, content_type).map_err(|f| reject(f, None, Encoding::Utf8))?;
    if encoding == Encoding::Utf8 {
        if let Some(envelope) = fast::decode(&text, limits) {
            return Ok(envelope);
        }
    }
    parse(&text, encoding, limits)
}

/// [`decode`] without its fast path: every request through the full XML
/// parser (for the fuzz target that compares the two).
pub fn decode_full(
    bytes: &[u8],
    content_type: Option<&str>,
    limits: &Limits,
) -> Result<Envelope, Box<Rejected>> {
    let (text, encoding) = decode_text(bytes, content_type).map_err(|fault| {
        Box::new(Rejected {
            fault,
            message_id: None,
            encoding: Encoding::Utf8,
        })
    })?;
    parse(&text, encoding, limits)
}

/// The full parse of a request's text.
fn parse(text: &str, encoding: Encoding, limits: &Limits) -> Result<Envelope, Box<Rejected>> {
    let reject = |fault, message_id, encoding| {
        Box::new(Rejected {
            fault,
            message_id,
            encoding,
        })
    };
    let options = roxmltree::ParsingOptions {
        allow_dtd: false,
        nodes_limit: limits.max_nodes,
        ..roxmltree::ParsingOptions::default()
    };
    let doc = Document::parse_with_options(text, options).map_err(|e| {
        let fault = match e {
            roxmltree::Error::NodesLimitReached => Fault::new(
                FaultKind::EncodingLimit,
                format!("the envelope has more than {} XML nodes", limits.max_nodes),
            ),
            roxmltree::Error::DtdDetected => schema(
                "the envelope has a document type declaration (DOCTYPE), which WS-Management \
                 does not allow"
                    .into(),
            ),
            e => schema(format!("the envelope is not well-formed XML: {e}")),
        };
        reject(fault, None, encoding)
    })?;
    check_depth(&doc, limits.max_depth).map_err(|f| reject(f, None, encoding))?;
    let root = doc.root_element();
    let message_id = header_message_id(root);
    read_envelope(root, encoding).map_err(|f| reject(f, message_id, encoding))
}

/// Refuses a tree nested deeper than `max` elements.
fn check_depth(doc: &Document<'_>, max: usize) -> Result<(), Fault> {
    // Depths by node id: ids count up in document order, where each
    // node's parent comes before it.
    let mut depths: Vec<usize> = Vec::with_capacity(64);
    for node in doc.descendants() {
        let depth = node
            .parent()
            .and_then(|p| depths.get(p.id().get_usize()))
            .map_or(0, |d| d + 1);
        let id = node.id().get_usize();
        if depths.len() <= id {
            depths.resize(id + 1, 0);
        }
        depths[id] = depth;
        if node.is_element() && depth > max {
            let pos = doc.text_pos_at(node.range().start);
            return Err(Fault::new(
                FaultKind::EncodingLimit,
                format!(
                    "the envelope nests elements deeper than {max} levels (at line {}, column {})",
                    pos.row, pos.col
                ),
            ));
        }
    }
    Ok(())
}

fn is(node: Node<'_, '_>, namespace: &str, local: &str) -> bool {
    node.is_element()
        && node.tag_name().name() == local
        && node.tag_name().namespace() == Some(namespace)
}

pub(crate) fn elements<'a, 'i>(node: Node<'a, 'i>) -> impl Iterator<Item = Node<'a, 'i>> {
    node.children().filter(Node::is_element)
}

pub(crate) fn child<'a, 'i>(
    node: Node<'a, 'i>,
    namespace: &str,
    local: &str,
) -> Option<Node<'a, 'i>> {
    elements(node).find(|n| is(*n, namespace, local))
}

/// The element's text (its text children joined), trimmed.
pub(crate) fn text_of(node: Node<'_, '_>) -> String {
    let mut texts = node.children().filter(Node::is_text);
    let Some(first) = texts.next() else {
        return String::new();
    };
    let first = first.text().unwrap_or("");
    match texts.next() {
        // The common case, one text child: one allocation.
        None => first.trim().to_owned(),
        Some(second) => {
            let mut s = String::from(first);
            s.push_str(second.text().unwrap_or(""));
            for c in texts {
                s.push_str(c.text().unwrap_or(""));
            }
            s.trim().to_owned()
        }
    }
}

/// `prefix:local` of an element as the client wrote it, for messages.
fn qname(node: Node<'_, '_>) -> String {
    let local = node.tag_name().name();
    match node
        .tag_name()
        .namespace()
        .and_then(|ns| node.lookup_prefix(ns))
    {
        Some(p) if !p.is_empty() => format!("{p}:{local}"),
        _ => local.to_owned(),
    }
}

pub(crate) fn where_(node: Node<'_, '_>) -> String {
    let pos = node.document().text_pos_at(node.range().start);
    format!("{} (line {}, column {})", qname(node), pos.row, pos.col)
}

fn header_message_id(root: Node<'_, '_>) -> Option<String> {
    let header = child(root, ns::SOAP, "Header")?;
    child(header, ns::WSA, "MessageID").map(text_of)
}

fn must_understand(node: Node<'_, '_>) -> bool {
    node.attribute((ns::SOAP, "mustUnderstand"))
        .is_some_and(must_understand_value)
}

fn must_understand_value(v: &str) -> bool {
    matches!(v.trim(), "true" | "1")
}

fn read_envelope(root: Node<'_, '_>, encoding: Encoding) -> Result<Envelope, Fault> {
    if root.tag_name().name() != "Envelope" || root.tag_name().namespace() != Some(ns::SOAP) {
        let what = if root.tag_name().namespace() == Some(ns::SOAP11) {
            "a SOAP 1.1 envelope; WS-Management takes SOAP 1.2".to_owned()
        } else {
            format!("{}, not a SOAP 1.2 s:Envelope", where_(root))
        };
        return Err(Fault::new(
            FaultKind::VersionMismatch,
            format!("the request is {what}"),
        ));
    }
    let mut header = None;
    let mut body = None;
    for n in elements(root) {
        if is(n, ns::SOAP, "Header") && header.is_none() && body.is_none() {
            header = Some(n);
        } else if is(n, ns::SOAP, "Body") && body.is_none() {
            body = Some(n);
        } else {
            return Err(schema(format!(
                "unexpected {} in s:Envelope (a Header, then a Body)",
                where_(n)
            )));
        }
    }
    let Some(body) = body else {
        return Err(schema("the envelope has no s:Body".into()));
    };
    let headers = match header {
        Some(h) => read_headers(h)?,
        None => Headers::default(),
    };
    Ok(Envelope {
        headers,
        body: read_body(body)?,
        encoding,
    })
}

fn once(slot: &mut Option<String>, node: Node<'_, '_>) -> Result<(), Fault> {
    if slot.is_some() {
        return Err(Fault::new(
            FaultKind::InvalidMessageInformationHeader,
            format!("the header {} is given twice", where_(node)),
        ));
    }
    *slot = Some(text_of(node));
    Ok(())
}

fn read_headers(header: Node<'_, '_>) -> Result<Headers, Fault> {
    let mut h = Headers::default();
    let mut max_envelope = None;
    let mut timeout = None;
    let mut reply_to = None;
    for n in elements(header) {
        let namespace = n.tag_name().namespace().unwrap_or("");
        match (namespace, n.tag_name().name()) {
            (ns::WSA, "To") => once(&mut h.to, n)?,
            (ns::WSA, "Action") => once(&mut h.action, n)?,
            (ns::WSA, "MessageID") => once(&mut h.message_id, n)?,
            (ns::WSA, "ReplyTo") => {
                let address = child(n, ns::WSA, "Address").map(text_of);
                once(&mut reply_to, n)?;
                reply_to = address.or(Some(String::new()));
            }
            (ns::WSA, "FaultTo") => {
                let address = child(n, ns::WSA, "Address")
                    .map(text_of)
                    .unwrap_or_default();
                if address != ns::ANONYMOUS {
                    return Err(unsupported_addressing("FaultTo", &address));
                }
            }
            (ns::WSMAN, "ResourceURI") => once(&mut h.resource_uri, n)?,
            (ns::WSE, "Identifier") => once(&mut h.identifier, n)?,
            (ns::WSMAN, "MaxEnvelopeSize") => once(&mut max_envelope, n)?,
            (ns::WSMAN, "OperationTimeout") => once(&mut timeout, n)?,
            (ns::WSMAN, "Locale") => h.locale = n.attribute((XML_NS, "lang")).map(str::to_owned),
            (ns::WSMV, "DataLocale") => {
                h.data_locale = n.attribute((XML_NS, "lang")).map(str::to_owned)
            }
            (ns::WSMAN, "SelectorSet") => h.selectors = read_selectors(n, 0)?,
            (ns::WSMAN, "OptionSet") => {
                for o in elements(n).filter(|o| is(*o, ns::WSMAN, "Option")) {
                    let name = o.attribute("Name").unwrap_or("").to_owned();
                    h.options.push((name, text_of(o)));
                }
            }
            (ns::WSMV, "SessionId" | "OperationID" | "SequenceId" | "ActivityId") => {}
            (namespace, local) if must_understand(n) => {
                return Err(Fault::must_understand(namespace, local))
            }
            _ => {}
        }
    }
    finish_headers(h, reply_to, max_envelope, timeout)
}

/// What the headers say once all are read: the ReplyTo address checked,
/// MaxEnvelopeSize and OperationTimeout parsed.
fn finish_headers(
    mut h: Headers,
    reply_to: Option<String>,
    max_envelope: Option<String>,
    timeout: Option<String>,
) -> Result<Headers, Fault> {
    if let Some(address) = reply_to {
        if address != ns::ANONYMOUS {
            return Err(unsupported_addressing("ReplyTo", &address));
        }
    }
    if let Some(v) = max_envelope {
        let size: u32 = v.parse().map_err(|_| {
            Fault::new(
                FaultKind::InvalidMessageInformationHeader,
                format!("wsman:MaxEnvelopeSize {v:?} is not a number of bytes"),
            )
        })?;
        if size < 8192 {
            return Err(Fault::new(
                FaultKind::EncodingLimit,
                format!("wsman:MaxEnvelopeSize {size} is below the minimum of 8192 bytes"),
            )
            .with_detail("MinimumEnvelopeLimit"));
        }
        h.max_envelope_size = Some(size);
    }
    if let Some(v) = timeout {
        h.operation_timeout = Some(parse_duration(&v).ok_or_else(|| {
            Fault::new(
                FaultKind::InvalidMessageInformationHeader,
                format!("wsman:OperationTimeout {v:?} is not an xs:duration (PT60.000S)"),
            )
        })?);
    }
    Ok(h)
}

const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";

fn unsupported_addressing(header: &str, address: &str) -> Fault {
    Fault::new(
        FaultKind::UnsupportedFeature,
        format!(
            "wsa:{header} {address:?}: openwmi answers only on the connection \
             (the anonymous address)"
        ),
    )
    .with_detail("AddressingMode")
}

/// An xs:duration (`PT60.000S`, `P1DT2H`, `-` not allowed): years count 365
/// days and months 30, as a timeout needs no calendar.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let rest = s.trim().strip_prefix('P')?;
    let (date, time) = match rest.split_once('T') {
        Some((d, t)) if !t.is_empty() => (d, Some(t)),
        Some(_) => return None,
        None => (rest, None),
    };
    let mut seconds = 0f64;
    let mut any = false;
    let mut fields = |part: &str, units: &[(char, f64)], allow_fraction: char| -> Option<()> {
        let mut number = String::new();
        let mut unit_index = 0;
        for c in part.chars() {
            if c.is_ascii_digit() || (c == '.' && allow_fraction != ' ') {
                number.push(c);
                continue;
            }
            let at = units[unit_index..].iter().position(|(u, _)| *u == c)?;
            unit_index += at;
            if number.is_empty() || (number.contains('.') && c != allow_fraction) {
                return None;
            }
            seconds += number.parse::<f64>().ok()? * units[unit_index].1;
            unit_index += 1;
            number.clear();
            any = true;
        }
        number.is_empty().then_some(())
    };
    fields(
        date,
        &[
            ('Y', 365.0 * 86400.0),
            ('M', 30.0 * 86400.0),
            ('D', 86400.0),
        ],
        ' ',
    )?;
    if let Some(t) = time {
        fields(t, &[('H', 3600.0), ('M', 60.0), ('S', 1.0)], 'S')?;
    }
    if !any || !seconds.is_finite() || seconds > 1e9 {
        return None;
    }
    Some(Duration::from_secs_f64(seconds))
}

/// Nested endpoint references in selectors, at most this deep.
const MAX_EPR_DEPTH: usize = 4;

fn read_selectors(set: Node<'_, '_>, depth: usize) -> Result<Vec<Selector>, Fault> {
    let mut out: Vec<Selector> = Vec::new();
    for s in elements(set) {
        if !is(s, ns::WSMAN, "Selector") {
            return Err(Fault::new(
                FaultKind::InvalidSelectors,
                format!(
                    "{} in a wsman:SelectorSet is not a wsman:Selector",
                    where_(s)
                ),
            ));
        }
        let Some(name) = s.attribute("Name").map(str::trim).filter(|n| !n.is_empty()) else {
            return Err(Fault::new(
                FaultKind::InvalidSelectors,
                format!("{} has no Name", where_(s)),
            ));
        };
        if out.iter().any(|o| o.name.eq_ignore_ascii_case(name)) {
            return Err(Fault::new(
                FaultKind::InvalidSelectors,
                format!("the selector {name} is given twice"),
            )
            .with_detail("DuplicateSelectors"));
        }
        let value = match child(s, ns::WSA, "EndpointReference") {
            Some(epr) if depth < MAX_EPR_DEPTH => {
                SelectorValue::Reference(Box::new(read_epr(epr, depth + 1)?))
            }
            Some(epr) => {
                return Err(Fault::new(
                    FaultKind::InvalidSelectors,
                    format!("{} nests references too deep", where_(epr)),
                ))
            }
            None => SelectorValue::Text(text_of(s)),
        };
        out.push(Selector {
            name: name.to_owned(),
            value,
        });
    }
    Ok(out)
}

/// An EPR's content: `wsa:Address` and `wsa:ReferenceParameters` (or the
/// older `wsa:ReferenceProperties`) with ResourceURI and SelectorSet.
pub(crate) fn read_epr(node: Node<'_, '_>, depth: usize) -> Result<Epr, Fault> {
    let mut epr = Epr {
        address: child(node, ns::WSA, "Address")
            .map(text_of)
            .unwrap_or_default(),
        ..Epr::default()
    };
    let params = child(node, ns::WSA, "ReferenceParameters")
        .or_else(|| child(node, ns::WSA, "ReferenceProperties"));
    if let Some(p) = params {
        epr.resource_uri = child(p, ns::WSMAN, "ResourceURI").map(text_of);
        if let Some(set) = child(p, ns::WSMAN, "SelectorSet") {
            epr.selectors = read_selectors(set, depth)?;
        }
    }
    Ok(epr)
}

fn number(node: Node<'_, '_>) -> Result<u32, Fault> {
    let t = text_of(node);
    t.parse::<u32>().ok().filter(|n| *n > 0).ok_or_else(|| {
        schema(format!(
            "{} {t:?} is not a positive whole number",
            where_(node)
        ))
    })
}

fn read_body(body: Node<'_, '_>) -> Result<Body, Fault> {
    let mut items = elements(body);
    let Some(first) = items.next() else {
        return Ok(Body::Empty);
    };
    if let Some(extra) = items.next() {
        return Err(schema(format!(
            "the s:Body holds more than one element ({} after {})",
            where_(extra),
            qname(first)
        )));
    }
    let namespace = first.tag_name().namespace().unwrap_or("");
    Ok(match (namespace, first.tag_name().name()) {
        (ns::WSMID, "Identify") => Body::Identify,
        (ns::WSEN, "Enumerate") => Body::Enumerate(read_enumerate(first)?),
        (ns::WSEN, "Pull") => {
            let mut p = PullBody::default();
            for n in elements(first) {
                match (n.tag_name().namespace().unwrap_or(""), n.tag_name().name()) {
                    (ns::WSEN, "EnumerationContext") => p.context = text_of(n),
                    (ns::WSEN, "MaxElements") => p.max_elements = Some(number(n)?),
                    (ns::WSEN, "MaxCharacters") => p.max_characters = Some(number(n)?),
                    (ns::WSEN, "MaxTime") => {
                        let t = text_of(n);
                        p.max_time = Some(parse_duration(&t).ok_or_else(|| {
                            schema(format!("{} {t:?} is not an xs:duration", where_(n)))
                        })?);
                    }
                    _ => {}
                }
            }
            Body::Pull(p)
        }
        (ns::WSEN, "Release") => Body::Release {
            context: child(first, ns::WSEN, "EnumerationContext")
                .map(text_of)
                .unwrap_or_default(),
        },
        (ns::WSE, "Subscribe" | "Renew" | "GetStatus" | "Unsubscribe") => {
            Body::Eventing(crate::eventing::read_body(first)?)
        }
        (namespace, name) if name.len() > INPUT.len() && name.ends_with(INPUT) => Body::Invoke(
            read_invoke(first, namespace, &name[..name.len() - INPUT.len()])?,
        ),
        (namespace, name) => Body::Other {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
        },
    })
}

/// What ends the name of an Invoke's body element.
const INPUT: &str = "_INPUT";

/// Most parameters (values counted) an Invoke body may hold.
const MAX_INVOKE_VALUES: usize = 4096;

fn read_invoke(node: Node<'_, '_>, namespace: &str, method: &str) -> Result<InvokeBody, Fault> {
    let mut body = InvokeBody {
        namespace: namespace.to_owned(),
        method: method.to_owned(),
        params: Vec::new(),
    };
    for (count, p) in elements(node).enumerate() {
        if count >= MAX_INVOKE_VALUES {
            return Err(schema(format!(
                "{} holds more than {MAX_INVOKE_VALUES} parameter values",
                where_(node)
            )));
        }
        let nil = matches!(
            p.attribute((ns::XSI, "nil")).map(str::trim),
            Some("true" | "1")
        );
        let value = if nil {
            ParamValue::Nil
        } else if child(p, ns::WSA, "ReferenceParameters").is_some()
            || child(p, ns::WSA, "ReferenceProperties").is_some()
        {
            ParamValue::Reference(Box::new(read_epr(p, 0)?))
        } else if let Some(epr) = child(p, ns::WSA, "EndpointReference") {
            ParamValue::Reference(Box::new(read_epr(epr, 0)?))
        } else if let Some(inner) = elements(p).next() {
            return Err(Fault::new(
                FaultKind::UnsupportedFeature,
                format!(
                    "{} holds {}: embedded objects as method parameters are not supported",
                    where_(p),
                    qname(inner)
                ),
            ));
        } else {
            // Not trimmed: a string parameter's spaces are its own.
            let mut text = String::new();
            for c in p.children().filter(Node::is_text) {
                text.push_str(c.text().unwrap_or(""));
            }
            ParamValue::Text(text)
        };
        let name = p.tag_name().name();
        match body
            .params
            .iter_mut()
            .find(|q| q.name.eq_ignore_ascii_case(name))
        {
            Some(q) => q.values.push(value),
            None => body.params.push(InvokeParam {
                name: name.to_owned(),
                values: vec![value],
            }),
        }
    }
    Ok(body)
}

fn read_enumerate(node: Node<'_, '_>) -> Result<EnumerateBody, Fault> {
    let mut e = EnumerateBody::default();
    for n in elements(node) {
        match (n.tag_name().namespace().unwrap_or(""), n.tag_name().name()) {
            (ns::WSMAN, "OptimizeEnumeration") => e.optimize = true,
            (ns::WSMAN, "MaxElements") => e.max_elements = Some(number(n)?),
            (ns::WSMAN, "EnumerationMode") => {
                e.mode = match text_of(n).as_str() {
                    "EnumerateEPR" => EnumerationMode::Epr,
                    "EnumerateObjectAndEPR" => EnumerationMode::ObjectAndEpr,
                    other => {
                        return Err(Fault::new(
                            FaultKind::UnsupportedFeature,
                            format!(
                                "{} {other:?}: the modes are EnumerateEPR and \
                                 EnumerateObjectAndEPR",
                                where_(n)
                            ),
                        )
                        .with_detail("EnumerationMode"))
                    }
                }
            }
            (ns::WSMAN | ns::WSEN, "Filter") => e.filter = Some(read_filter(n)?),
            _ => {}
        }
    }
    Ok(e)
}

pub(crate) fn read_filter(node: Node<'_, '_>) -> Result<FilterSpec, Fault> {
    let dialect = node.attribute("Dialect").map(|d| d.trim().to_owned());
    let first = elements(node).next();
    let content = match first {
        None => FilterContent::Text(text_of(node)),
        Some(s) if is(s, ns::WSMAN, "SelectorSet") => {
            FilterContent::Selectors(read_selectors(s, 0)?)
        }
        Some(a)
            if is(a, ns::WSMB, "AssociatedInstances")
                || is(a, ns::WSMB, "AssociationInstances") =>
        {
            let references = a.tag_name().name() == "AssociationInstances";
            let object = child(a, ns::WSMB, "Object").ok_or_else(|| {
                Fault::new(
                    FaultKind::CannotProcessFilter,
                    format!("{} has no wsmb:Object", where_(a)),
                )
            })?;
            let field = |name: &str| {
                child(a, ns::WSMB, name)
                    .map(text_of)
                    .filter(|t| !t.is_empty())
            };
            FilterContent::Association(AssociationFilter {
                references,
                object: read_epr(object, 0)?,
                association_class: field("AssociationClassName"),
                role: field("Role"),
                result_class: field("ResultClassName"),
                result_role: field("ResultRole"),
            })
        }
        Some(other) => {
            return Err(Fault::new(
                FaultKind::CannotProcessFilter,
                format!(
                    "the filter holds {}, which openwmi does not know",
                    where_(other)
                ),
            ))
        }
    };
    Ok(FilterSpec { dialect, content })
}

mod fast;

/// The fast path alone (for the fuzz target that compares it with the
/// full parser): `None` where it leaves the request to the full parser.
pub fn decode_fast(text: &str, limits: &Limits) -> Option<Envelope> {
    fast::decode(text, limits)
}

#[cfg(test)]
mod tests;
