//! Reading WS-Management responses: the SOAP envelope, Identify,
//! Enumerate/Pull batches, a Get's instance, class definitions (CIM-XML in
//! the body) and faults. Instances come out as a neutral [`RawInstance`]
//! (names, texts, `xsi:nil`, datetimes, EPRs, embedded instances) that
//! [`to_instance`] types with the class definition when the caller has it
//! and from the `xsi:type`/`cim:` markers when not. Pure: no I/O.
//!
//! Bounded: the body size, the node count (roxmltree's `nodes_limit`) and
//! the element depth ([`Limits`]); a DTD is refused before anything in it is
//! read (roxmltree with `allow_dtd` false), so no entity is ever expanded.
//! Malformed input is an error naming the byte offset, never a panic.

use super::request::{NS_ADDRESSING, NS_CIM, NS_ENUMERATION, NS_FAULT, NS_SOAP, NS_WSMAN, NS_XSI};
use openwmi_cim::{
    CimDateTime, CimType, Class, Instance, InstanceProperty, KeyBinding, Keys, Name, ObjectPath,
    TypeDecl, Value,
};
use roxmltree::{Document, Node, ParsingOptions};
use std::fmt;
use std::time::Duration;

/// The bounds a response is read within.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_body_bytes: usize,
    pub max_nodes: u32,
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 16 * 1024 * 1024,
            max_nodes: 2_000_000,
            max_depth: 64,
        }
    }
}

/// Why a response could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadError {
    pub offset: usize,
    pub message: String,
    /// Over a bound of [`Limits`] (the caller reports it as out of memory).
    pub limit: bool,
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at byte {}: {}", self.offset, self.message)
    }
}

impl std::error::Error for ReadError {}

type R<T> = Result<T, ReadError>;

fn bad<T>(node: Node, message: impl Into<String>) -> R<T> {
    Err(ReadError {
        offset: node.range().start,
        message: message.into(),
        limit: false,
    })
}

/// An endpoint reference: where, which resource, which instance.
#[derive(Clone, Debug, PartialEq)]
pub struct Epr {
    pub address: String,
    pub resource_uri: String,
    pub selectors: Vec<(String, Selector)>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Selector {
    Text(String),
    Epr(Box<Epr>),
}

/// A property value as it came: one per element (arrays repeat the element).
#[derive(Clone, Debug, PartialEq)]
pub enum RawValue {
    Nil,
    Text {
        text: String,
        xsi_type: Option<String>,
    },
    /// `cim:Datetime`, `cim:Interval`, `cim:Date`, `cim:CIM_DateTime` and the text.
    DateTime {
        kind: String,
        text: String,
    },
    Epr(Epr),
    Embedded(RawInstance),
}

#[derive(Clone, Debug, PartialEq)]
pub struct RawProperty {
    pub name: String,
    pub values: Vec<RawValue>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct RawInstance {
    pub class_name: String,
    pub properties: Vec<RawProperty>,
}

/// One result of an enumeration or a Get.
#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    Instance {
        instance: RawInstance,
        epr: Option<Epr>,
    },
    Epr(Epr),
    Class(Box<Class>),
}

/// A SOAP fault, with what Windows puts in its detail.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Fault {
    /// `Sender` or `Receiver`.
    pub code: String,
    /// `wsa:DestinationUnreachable`, `wsman:AccessDenied`, ... (the usual
    /// prefix for the namespace, whatever prefix the server used).
    pub subcode: Option<String>,
    pub reason: String,
    /// `wsman:FaultDetail` (a URI).
    pub detail: Option<String>,
    /// `f:WSManFault/@Code`: a WinRM (0x8033xxxx) or WMI (0x8004xxxx) HRESULT.
    pub wsman_code: Option<u32>,
    pub machine: Option<String>,
    /// The innermost non-empty `f:Message` text.
    pub message: Option<String>,
    /// A WMI HRESULT found in the detail (`MSFT_WmiError.error_Code`,
    /// `__ExtendedStatus.StatusCode`).
    pub wmi_code: Option<u32>,
    /// A CIM status (`CIM_Error.CIMStatusCode`).
    pub cim_status: Option<u32>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Identity {
    pub protocol_version: String,
    pub product_vendor: String,
    pub product_version: String,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Batch {
    /// The context for the next Pull; `None` when the server sent none or an empty one.
    pub context: Option<String>,
    pub end_of_sequence: bool,
    pub items: Vec<Item>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Response {
    Identify(Identity),
    Batch(Batch),
    /// A Get's answer (an instance or a class).
    Object(Item),
    /// An empty body (ReleaseResponse and the like).
    Empty,
    Fault(Fault),
}

/// Reads a response body (UTF-8, or UTF-16 with a byte-order mark).
pub fn read_response(body: &[u8], limits: &Limits) -> R<Response> {
    if body.len() > limits.max_body_bytes {
        return Err(ReadError {
            offset: limits.max_body_bytes,
            message: format!("the body is larger than {} bytes", limits.max_body_bytes),
            limit: true,
        });
    }
    let text = decode_text(body)?;
    let opts = ParsingOptions {
        allow_dtd: false,
        nodes_limit: limits.max_nodes,
        ..ParsingOptions::default()
    };
    let doc = Document::parse_with_options(&text, opts).map_err(|e| {
        let limit = matches!(e, roxmltree::Error::NodesLimitReached);
        ReadError {
            offset: 0,
            message: format!("not well-formed XML: {e}"),
            limit,
        }
    })?;
    check_depth(&doc, limits.max_depth)?;
    let env = doc.root_element();
    if !env.has_tag_name((NS_SOAP, "Envelope")) {
        return bad(env, "the root element is not a SOAP 1.2 s:Envelope");
    }
    let Some(body) = child(env, NS_SOAP, "Body") else {
        return bad(env, "s:Envelope has no s:Body");
    };
    let Some(first) = body.children().find(|n| n.is_element()) else {
        return Ok(Response::Empty);
    };
    let name = first.tag_name().name();
    let ns = first.tag_name().namespace();
    Ok(match (ns, name) {
        (Some(NS_SOAP), "Fault") => Response::Fault(read_fault(first)),
        (_, "IdentifyResponse") => Response::Identify(Identity {
            protocol_version: child_text(first, "ProtocolVersion"),
            product_vendor: child_text(first, "ProductVendor"),
            product_version: child_text(first, "ProductVersion"),
        }),
        (Some(NS_ENUMERATION), "EnumerateResponse" | "PullResponse") => {
            Response::Batch(read_batch(first)?)
        }
        (Some(NS_ENUMERATION), _) => Response::Empty,
        _ => Response::Object(read_item(first)?),
    })
}

fn decode_text(body: &[u8]) -> R<String> {
    let utf16 = |be: bool| -> R<String> {
        let units: Vec<u16> = body[2..]
            .chunks(2)
            .map(|c| {
                let pair = [c[0], *c.get(1).unwrap_or(&0)];
                if be {
                    u16::from_be_bytes(pair)
                } else {
                    u16::from_le_bytes(pair)
                }
            })
            .collect();
        String::from_utf16(&units).map_err(|_| ReadError {
            offset: 0,
            message: "invalid UTF-16".into(),
            limit: false,
        })
    };
    match body {
        [0xFF, 0xFE, ..] => utf16(false),
        [0xFE, 0xFF, ..] => utf16(true),
        _ => {
            let b = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
            std::str::from_utf8(b)
                .map(str::to_owned)
                .map_err(|e| ReadError {
                    offset: e.valid_up_to(),
                    message: "the body is not UTF-8".into(),
                    limit: false,
                })
        }
    }
}

/// Element depth without recursion, so every later (recursive) walk is bounded.
fn check_depth(doc: &Document, max: usize) -> R<()> {
    let mut stack = vec![(doc.root_element(), 1usize)];
    while let Some((n, d)) = stack.pop() {
        if d > max {
            return Err(ReadError {
                offset: n.range().start,
                message: format!("elements nest deeper than {max}"),
                limit: true,
            });
        }
        stack.extend(n.children().filter(|c| c.is_element()).map(|c| (c, d + 1)));
    }
    Ok(())
}

fn child<'a, 'i>(n: Node<'a, 'i>, ns: &str, name: &str) -> Option<Node<'a, 'i>> {
    n.children().find(|c| c.has_tag_name((ns, name)))
}

fn child_local<'a, 'i>(n: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    n.children()
        .find(|c| c.is_element() && c.tag_name().name() == name)
}

/// The text of an element's own text children (CDATA included).
fn own_text(n: Node) -> String {
    let mut s = String::new();
    for c in n.children().filter(|c| c.is_text()) {
        s.push_str(c.text().unwrap_or(""));
    }
    s
}

fn child_text(n: Node, name: &str) -> String {
    child_local(n, name)
        .map(|c| own_text(c).trim().to_owned())
        .unwrap_or_default()
}

fn is_nil(n: Node) -> bool {
    n.attribute((NS_XSI, "nil"))
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true") || v.trim() == "1")
}

fn read_batch(resp: Node) -> R<Batch> {
    let mut batch = Batch::default();
    for c in resp.children().filter(|c| c.is_element()) {
        match c.tag_name().name() {
            "EnumerationContext" => {
                let t = own_text(c).trim().to_owned();
                batch.context = (!t.is_empty()).then_some(t);
            }
            "EndOfSequence" => batch.end_of_sequence = true,
            "Items" => {
                for i in c.children().filter(|i| i.is_element()) {
                    batch.items.push(read_item(i)?);
                }
            }
            _ => {}
        }
    }
    Ok(batch)
}

/// An item of a batch or the body of a Get: `w:Item{instance, EPR}`, an EPR,
/// a CIM-XML `CLASS`, or an instance element.
fn read_item(n: Node) -> R<Item> {
    let name = n.tag_name().name();
    let ns = n.tag_name().namespace();
    if name == "CLASS" {
        return Ok(Item::Class(Box::new(read_cimxml_class(n)?)));
    }
    if ns == Some(NS_ADDRESSING) && name == "EndpointReference" {
        return Ok(Item::Epr(read_epr(n)?));
    }
    if ns == Some(NS_WSMAN) && name == "Item" {
        let mut instance = None;
        let mut epr = None;
        let mut class = None;
        for c in n.children().filter(|c| c.is_element()) {
            if c.has_tag_name((NS_ADDRESSING, "EndpointReference")) {
                epr = Some(read_epr(c)?);
            } else if c.tag_name().name() == "CLASS" {
                class = Some(read_cimxml_class(c)?);
            } else if instance.is_none() {
                instance = Some(read_instance(c)?);
            }
        }
        if let Some(c) = class {
            return Ok(Item::Class(Box::new(c)));
        }
        return match (instance, epr) {
            (Some(instance), epr) => Ok(Item::Instance { instance, epr }),
            (None, Some(e)) => Ok(Item::Epr(e)),
            (None, None) => bad(n, "w:Item holds neither an instance nor an EPR"),
        };
    }
    // A wrapper around a CIM-XML class (how a server may answer the
    // cim-xml schema URI) is looked through.
    if let Some(class) = n.descendants().find(|d| {
        d.is_element() && d.tag_name().name() == "CLASS" && d.tag_name().namespace().is_none()
    }) {
        return Ok(Item::Class(Box::new(read_cimxml_class(class)?)));
    }
    Ok(Item::Instance {
        instance: read_instance(n)?,
        epr: None,
    })
}

fn read_instance(n: Node) -> R<RawInstance> {
    let class_name = n.tag_name().name().to_owned();
    let mut properties: Vec<RawProperty> = Vec::new();
    for c in n.children().filter(|c| c.is_element()) {
        let name = c.tag_name().name();
        let value = read_value(c)?;
        // Arrays repeat the element; WMI properties are unique by name.
        match properties.iter_mut().rev().find(|p| p.name == name) {
            Some(p) => p.values.push(value),
            None => properties.push(RawProperty {
                name: name.to_owned(),
                values: vec![value],
            }),
        }
    }
    Ok(RawInstance {
        class_name,
        properties,
    })
}

fn read_value(n: Node) -> R<RawValue> {
    if is_nil(n) {
        return Ok(RawValue::Nil);
    }
    let xsi_type = n.attribute((NS_XSI, "type")).map(str::to_owned);
    let elements: Vec<Node> = n.children().filter(|c| c.is_element()).collect();
    if elements.is_empty() {
        return Ok(RawValue::Text {
            text: own_text(n),
            xsi_type,
        });
    }
    let first = elements[0];
    if first.tag_name().namespace() == Some(NS_CIM) {
        return Ok(RawValue::DateTime {
            kind: first.tag_name().name().to_owned(),
            text: own_text(first).trim().to_owned(),
        });
    }
    if elements.iter().any(|e| {
        e.tag_name().namespace() == Some(NS_ADDRESSING)
            && matches!(
                e.tag_name().name(),
                "Address" | "ReferenceParameters" | "EndpointReference"
            )
    }) {
        if let Some(inner) = child(n, NS_ADDRESSING, "EndpointReference") {
            return Ok(RawValue::Epr(read_epr(inner)?));
        }
        return Ok(RawValue::Epr(read_epr(n)?));
    }
    // An embedded instance: `xsi:type="p1:Class_Type"` on the property with
    // the class's properties as children, or a class element inside.
    let class_name = xsi_type
        .as_deref()
        .map(|t| t.rsplit(':').next().unwrap_or(t))
        .and_then(|t| t.strip_suffix("_Type"))
        .map(str::to_owned);
    match class_name {
        Some(c) => {
            let mut i = read_instance(n)?;
            i.class_name = c;
            Ok(RawValue::Embedded(i))
        }
        None if elements.len() == 1 => Ok(RawValue::Embedded(read_instance(first)?)),
        None => {
            let mut i = read_instance(n)?;
            i.class_name = n.tag_name().name().to_owned();
            Ok(RawValue::Embedded(i))
        }
    }
}

/// `wsa:Address` and `wsa:ReferenceParameters{ResourceURI, SelectorSet}`
/// (also accepted: ReferenceParameters' children directly, as WS-Man 1.0 drafts wrote).
fn read_epr(n: Node) -> R<Epr> {
    let address = child(n, NS_ADDRESSING, "Address")
        .map(|a| own_text(a).trim().to_owned())
        .unwrap_or_default();
    let params = child(n, NS_ADDRESSING, "ReferenceParameters")
        .or_else(|| child(n, NS_ADDRESSING, "ReferenceProperties"))
        .unwrap_or(n);
    let resource_uri = child_local(params, "ResourceURI")
        .map(|r| own_text(r).trim().to_owned())
        .unwrap_or_default();
    let mut selectors = Vec::new();
    if let Some(set) = child_local(params, "SelectorSet") {
        for s in set.children().filter(|c| c.is_element()) {
            if s.tag_name().name() != "Selector" {
                continue;
            }
            let Some(name) = s.attribute("Name") else {
                return bad(s, "w:Selector without a Name");
            };
            let value = match child(s, NS_ADDRESSING, "EndpointReference") {
                Some(e) => Selector::Epr(Box::new(read_epr(e)?)),
                None => Selector::Text(own_text(s)),
            };
            selectors.push((name.to_owned(), value));
        }
    }
    if resource_uri.is_empty() {
        return bad(n, "endpoint reference without a ResourceURI");
    }
    Ok(Epr {
        address,
        resource_uri,
        selectors,
    })
}

/// A CIM-XML `CLASS` element, read by the CIM-XML decoder: the element's
/// text is put into a GetClass response of its own.
fn read_cimxml_class(n: Node) -> R<Class> {
    let doc_text = n.document().input_text();
    let r = n.range();
    let class_text = doc_text.get(r.clone()).unwrap_or("");
    let wrapped = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><CIM CIMVERSION=\"2.0\" DTDVERSION=\"2.0\">\
         <MESSAGE ID=\"1\" PROTOCOLVERSION=\"1.0\"><SIMPLERSP><IMETHODRESPONSE NAME=\"GetClass\">\
         <IRETURNVALUE>{class_text}</IRETURNVALUE></IMETHODRESPONSE></SIMPLERSP></MESSAGE></CIM>"
    );
    let limits = openwmi_cimxml::Limits::default();
    let decoded =
        openwmi_cimxml::decode_response(wrapped.as_bytes(), &limits).map_err(|e| ReadError {
            offset: r.start,
            message: format!("the CIM-XML class does not decode: {e}"),
            limit: false,
        })?;
    let reply = decoded.result.map_err(|e| ReadError {
        offset: r.start,
        message: e.to_string(),
        limit: false,
    })?;
    reply
        .items
        .into_iter()
        .find_map(|i| match i {
            openwmi_cimxml::ReturnItem::Class { class, .. } => Some(class),
            _ => None,
        })
        .ok_or_else(|| ReadError {
            offset: r.start,
            message: "CLASS element without a class".into(),
            limit: false,
        })
}

fn subcode_name(n: Node, qname: &str) -> String {
    let (prefix, local) = match qname.split_once(':') {
        Some((p, l)) => (Some(p), l),
        None => (None, qname),
    };
    let pfx = match n.lookup_namespace_uri(prefix) {
        Some(NS_ADDRESSING) => "wsa",
        Some(NS_WSMAN) => "wsman",
        Some(NS_ENUMERATION) => "wsen",
        Some("http://schemas.xmlsoap.org/ws/2004/09/transfer") => "wxf",
        Some("http://schemas.xmlsoap.org/ws/2004/08/eventing") => "wse",
        Some(NS_SOAP) => "s",
        _ => return qname.to_owned(),
    };
    format!("{pfx}:{local}")
}

fn read_fault(f: Node) -> Fault {
    let mut fault = Fault::default();
    if let Some(code) = child(f, NS_SOAP, "Code") {
        if let Some(v) = child(code, NS_SOAP, "Value") {
            let t = own_text(v);
            let t = t.trim();
            fault.code = t.rsplit(':').next().unwrap_or(t).to_owned();
        }
        if let Some(v) = child(code, NS_SOAP, "Subcode").and_then(|s| child(s, NS_SOAP, "Value")) {
            let t = own_text(v);
            fault.subcode = Some(subcode_name(v, t.trim()));
        }
    }
    if let Some(reason) = child(f, NS_SOAP, "Reason") {
        fault.reason = reason
            .children()
            .filter(|c| c.has_tag_name((NS_SOAP, "Text")))
            .map(|t| collapse(&own_text(t)))
            .find(|t| !t.is_empty())
            .unwrap_or_default();
    }
    let Some(detail) = child(f, NS_SOAP, "Detail") else {
        return fault;
    };
    for d in detail.descendants().filter(|d| d.is_element()) {
        let name = d.tag_name().name();
        let ns = d.tag_name().namespace();
        let number = || own_text(d).trim().parse::<u32>().ok();
        match (ns, name) {
            (Some(NS_WSMAN), "FaultDetail") if fault.detail.is_none() => {
                fault.detail = Some(own_text(d).trim().to_owned());
            }
            (Some(NS_FAULT), "WSManFault") if fault.wsman_code.is_none() => {
                fault.wsman_code = d.attribute("Code").and_then(|c| c.trim().parse().ok());
                fault.machine = d.attribute("Machine").map(str::to_owned);
            }
            (Some(NS_FAULT), "Message") => {
                let t = collapse(&own_text(d));
                if !t.is_empty() {
                    fault.message = Some(t);
                }
            }
            (_, "error_Code") if fault.wmi_code.is_none() && !is_nil(d) => {
                fault.wmi_code = number();
            }
            (_, "StatusCode") if fault.wmi_code.is_none() && !is_nil(d) => {
                fault.wmi_code = number().filter(|c| c & 0xFFFF_0000 == 0x8004_0000);
            }
            (_, "CIMStatusCode") if fault.cim_status.is_none() && !is_nil(d) => {
                fault.cim_status = number();
            }
            _ => {}
        }
    }
    fault
}

fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

// ---- from raw values to the CIM model ----

/// The path an EPR names: class from the last segment of the ResourceURI,
/// namespace from `__cimnamespace` or a WMI ResourceURI, keys from the other
/// selectors. `types` gives key types where known (numbers stay numbers).
pub fn epr_to_path(
    epr: &Epr,
    host: Option<&str>,
    types: Option<&Class>,
) -> Result<ObjectPath, String> {
    epr_to_path_at(epr, host, types, 0)
}

fn epr_to_path_at(
    epr: &Epr,
    host: Option<&str>,
    types: Option<&Class>,
    depth: usize,
) -> Result<ObjectPath, String> {
    if depth > openwmi_cim::path::MAX_REFERENCE_DEPTH {
        return Err("endpoint references nest too deep".into());
    }
    let uri = epr.resource_uri.trim_end_matches('/');
    let (base, class) = uri
        .rsplit_once('/')
        .ok_or_else(|| format!("ResourceURI `{uri}` names no class"))?;
    if class.is_empty() || class == "*" {
        return Err(format!("ResourceURI `{uri}` names no class"));
    }
    let mut namespace = base
        .strip_prefix(super::request::WMI_PREFIX)
        .map(str::to_owned);
    let mut keys = Vec::new();
    for (name, value) in &epr.selectors {
        if name.eq_ignore_ascii_case("__cimnamespace") {
            if let Selector::Text(t) = value {
                namespace = Some(t.trim().replace('\\', "/"));
            }
            continue;
        }
        let v = match value {
            Selector::Text(t) => {
                let ty = types.and_then(|c| c.property(name)).map(|p| &p.ty);
                match ty {
                    Some(t2) if !t2.array.is_array() && t2.base != CimType::String => {
                        typed(t, t2.base).unwrap_or_else(|_| Value::String(t.as_str().into()))
                    }
                    _ => Value::String(t.as_str().into()),
                }
            }
            Selector::Epr(e) => {
                Value::Reference(Box::new(epr_to_path_at(e, host, None, depth + 1)?))
            }
        };
        keys.push(KeyBinding {
            name: Name::new(name),
            value: v,
        });
    }
    Ok(ObjectPath {
        host: host.map(str::to_owned),
        namespace,
        class: Name::new(class),
        keys: if keys.is_empty() {
            Keys::Singleton
        } else {
            Keys::Bindings(keys)
        },
    })
}

/// A method's `_OUTPUT` element as named values: each typed as `ty` gives
/// its name (the method's declaration), else from its markers as in
/// [`to_instance`].
pub fn to_values(
    raw: &RawInstance,
    ty: impl Fn(&str) -> Option<TypeDecl>,
    host: Option<&str>,
) -> Result<Vec<(Name, Option<Value>)>, String> {
    let mut out = Vec::with_capacity(raw.properties.len());
    for p in &raw.properties {
        let value = match ty(&p.name) {
            Some(t) => typed_property(p, &t, host, 0),
            None => untyped_property(p, host, 0).map(|(_, v)| v),
        }
        .map_err(|e| format!("{}.{}: {e}", raw.class_name, p.name))?;
        out.push((Name::new(&p.name), value));
    }
    Ok(out)
}

/// An instance in the CIM model. With `class`, properties come in class
/// order with their declared types (those the response left out are NULL);
/// without it each value's type comes from its markers (`xsi:type`,
/// `cim:Datetime`, EPRs), and plain text is a string.
pub fn to_instance(
    raw: &RawInstance,
    class: Option<&Class>,
    host: Option<&str>,
) -> Result<Instance, String> {
    to_instance_at(raw, class, host, 0)
}

fn to_instance_at(
    raw: &RawInstance,
    class: Option<&Class>,
    host: Option<&str>,
    depth: usize,
) -> Result<Instance, String> {
    let mut properties = Vec::with_capacity(raw.properties.len());
    if let Some(c) = class {
        // Class order; only the properties sent (a projection sends fewer).
        for decl in &c.properties {
            let Some(p) = raw
                .properties
                .iter()
                .find(|p| p.name.eq_ignore_ascii_case(decl.name.as_str()))
            else {
                continue;
            };
            let value = match base64_text(p) {
                Some(text) if decl.ty.base == CimType::UInt8 && decl.ty.array.is_array() => {
                    let length_first = decl.qualifier("OctetString").is_some();
                    octets(text, length_first).map(Some)
                }
                _ => typed_property(p, &decl.ty, host, depth),
            }
            .map_err(|e| format!("{}.{}: {e}", raw.class_name, decl.name))?;
            properties.push(InstanceProperty {
                name: decl.name.clone(),
                ty: decl.ty.clone(),
                value,
            });
        }
    }
    for p in &raw.properties {
        if class.is_some_and(|c| c.property(&p.name).is_some()) {
            continue;
        }
        let (ty, value) = match base64_text(p) {
            Some(text) => octets(text, false).map(|v| (TypeDecl::array(CimType::UInt8), Some(v))),
            None => untyped_property(p, host, depth),
        }
        .map_err(|e| format!("{}.{}: {e}", raw.class_name, p.name))?;
        properties.push(InstanceProperty {
            name: Name::new(&p.name),
            ty,
            value,
        });
    }
    Ok(Instance {
        class_name: class
            .map(|c| c.name.clone())
            .unwrap_or_else(|| Name::new(&raw.class_name)),
        properties,
    })
}

fn typed_property(
    p: &RawProperty,
    ty: &TypeDecl,
    host: Option<&str>,
    depth: usize,
) -> Result<Option<Value>, String> {
    let present: Vec<&RawValue> = p.values.iter().filter(|v| **v != RawValue::Nil).collect();
    if ty.array.is_array() {
        if present.is_empty() {
            return Ok(None);
        }
        let mut out = Vec::with_capacity(present.len());
        for v in present {
            out.push(typed_value(v, ty.base, host, depth)?);
        }
        return Ok(Some(Value::Array(out)));
    }
    match present.first() {
        None => Ok(None),
        Some(v) => typed_value(v, ty.base, host, depth).map(Some),
    }
}

fn typed_value(
    v: &RawValue,
    ty: CimType,
    host: Option<&str>,
    depth: usize,
) -> Result<Value, String> {
    match v {
        RawValue::Nil => Err("NULL inside an array".into()),
        RawValue::Text { text, .. } => typed(text, ty),
        RawValue::DateTime { kind, text } => datetime(kind, text).map(Value::DateTime),
        RawValue::Epr(e) => {
            epr_to_path_at(e, host, None, depth + 1).map(|p| Value::Reference(Box::new(p)))
        }
        RawValue::Embedded(i) => Ok(Value::String(embedded_text(i, host, depth)?.into())),
    }
}

fn untyped_property(
    p: &RawProperty,
    host: Option<&str>,
    depth: usize,
) -> Result<(TypeDecl, Option<Value>), String> {
    let present: Vec<&RawValue> = p.values.iter().filter(|v| **v != RawValue::Nil).collect();
    let mut values = Vec::with_capacity(present.len());
    for v in &present {
        values.push(untyped_value(v, host, depth)?);
    }
    let base = values
        .first()
        .and_then(Value::cim_type)
        .unwrap_or(CimType::String);
    let ref_class = values.first().and_then(|v| match v {
        Value::Reference(p) => Some(p.class.clone()),
        _ => None,
    });
    let decl = |array: bool| TypeDecl {
        base,
        array: if array {
            openwmi_cim::ArrayKind::Variable
        } else {
            openwmi_cim::ArrayKind::Scalar
        },
        ref_class: ref_class.clone(),
    };
    Ok(match values.len() {
        0 => (decl(p.values.len() > 1), None),
        1 if p.values.len() == 1 => (decl(false), values.pop()),
        _ => (decl(true), Some(Value::Array(values))),
    })
}

fn untyped_value(v: &RawValue, host: Option<&str>, depth: usize) -> Result<Value, String> {
    match v {
        RawValue::Text {
            text,
            xsi_type: Some(t),
        } => {
            let local = t.rsplit(':').next().unwrap_or(t);
            match xs_type(local) {
                Some(ty) => typed(text, ty),
                None => Ok(Value::String(text.as_str().into())),
            }
        }
        RawValue::Text { text, .. } => Ok(Value::String(text.as_str().into())),
        other => typed_value(other, CimType::String, host, depth),
    }
}

/// XML Schema (and DSP0230 `cim:cim*`) type names.
fn xs_type(t: &str) -> Option<CimType> {
    Some(
        match t
            .strip_prefix("cim")
            .unwrap_or(t)
            .to_ascii_lowercase()
            .as_str()
        {
            "boolean" => CimType::Boolean,
            "unsignedbyte" => CimType::UInt8,
            "byte" => CimType::SInt8,
            "unsignedshort" => CimType::UInt16,
            "short" => CimType::SInt16,
            "unsignedint" => CimType::UInt32,
            "int" => CimType::SInt32,
            "unsignedlong" => CimType::UInt64,
            "long" => CimType::SInt64,
            "float" => CimType::Real32,
            "double" => CimType::Real64,
            "datetime" => CimType::DateTime,
            "duration" => CimType::DateTime,
            _ => return None,
        },
    )
}

/// A value's text as the declared type.
pub fn typed(text: &str, ty: CimType) -> Result<Value, String> {
    let t = text.trim();
    let int = |v: Result<i128, _>| -> Result<Value, String> {
        v.ok()
            .and_then(|n| Value::integer(ty, n))
            .ok_or_else(|| format!("`{t}` is not a {ty}"))
    };
    match ty {
        CimType::String => Ok(Value::String(text.into())),
        CimType::Boolean => match t.to_ascii_lowercase().as_str() {
            "true" | "1" => Ok(Value::Boolean(true)),
            "false" | "0" => Ok(Value::Boolean(false)),
            _ => Err(format!("`{t}` is not a boolean")),
        },
        CimType::Char16 => {
            let mut cs = text.chars();
            match (cs.next(), cs.next()) {
                (Some(c), None) => Ok(Value::Char16(c)),
                _ => Err(format!("`{text}` is not one character")),
            }
        }
        _ if ty.is_integer() => int(t.parse::<i128>()),
        CimType::Real32 | CimType::Real64 => {
            let f = match t {
                "INF" => f64::INFINITY,
                "-INF" => f64::NEG_INFINITY,
                "NaN" => f64::NAN,
                _ => t
                    .parse::<f64>()
                    .map_err(|_| format!("`{t}` is not a {ty}"))?,
            };
            Ok(if ty == CimType::Real32 {
                Value::Real32(f as f32)
            } else {
                Value::Real64(f)
            })
        }
        CimType::DateTime => datetime("", t).map(Value::DateTime),
        CimType::Reference => ObjectPath::parse(t)
            .map(|p| Value::Reference(Box::new(p)))
            .map_err(|e| format!("`{t}` is not an object path: {e}")),
        _ => Ok(Value::String(text.into())),
    }
}

/// A DSP0230 datetime: `cim:Datetime` (xs:dateTime), `cim:Interval`
/// (xs:duration), `cim:Date` (xs:date), `cim:CIM_DateTime` (the CIM
/// string); bare text is tried in each form.
pub fn datetime(kind: &str, text: &str) -> Result<CimDateTime, String> {
    let t = text.trim();
    let result = match kind {
        "Interval" => interval(t),
        "Datetime" => timestamp(t),
        "Date" => timestamp(&format!(
            "{}T00:00:00{}",
            &t[..t.len().min(10)],
            t.get(10..).unwrap_or("")
        )),
        "CIM_DateTime" => t.parse::<CimDateTime>().map_err(|e| e.to_string()),
        _ => t
            .parse::<CimDateTime>()
            .map_err(|e| e.to_string())
            .or_else(|_| {
                if t.starts_with('P') || t.starts_with("-P") {
                    interval(t)
                } else {
                    timestamp(t)
                }
            }),
    };
    result.map_err(|e| format!("`{t}` is not a CIM datetime: {e}"))
}

fn digits(s: &str, what: &str) -> Result<u64, String> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || s.len() > 12 {
        return Err(format!("bad {what}"));
    }
    s.parse().map_err(|_| format!("bad {what}"))
}

/// xs:dateTime `2014-04-03T14:45:50.46875+08:00` (offset `Z` or none is UTC).
fn timestamp(t: &str) -> Result<CimDateTime, String> {
    let (date, time) = t.split_once('T').ok_or("no `T` between date and time")?;
    let dp: Vec<&str> = date.split('-').collect();
    if dp.len() != 3 || dp[0].len() != 4 || dp[1].len() != 2 || dp[2].len() != 2 {
        return Err("the date is not yyyy-mm-dd".into());
    }
    let (clock, offset) = match time.find(['Z', '+', '-']) {
        Some(i) => time.split_at(i),
        None => (time, ""),
    };
    let (hms, frac) = clock.split_once('.').unwrap_or((clock, ""));
    let tp: Vec<&str> = hms.split(':').collect();
    if tp.len() != 3 || tp.iter().any(|p| p.len() != 2) {
        return Err("the time is not HH:MM:SS".into());
    }
    for p in dp.iter().chain(tp.iter()) {
        digits(p, "date or time field")?;
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return Err("bad fraction of a second".into());
    }
    let micros: String = frac.chars().chain(std::iter::repeat('0')).take(6).collect();
    let (sign, minutes) = match offset {
        "" | "Z" => ('+', 0),
        o => {
            let sign = if o.starts_with('-') { '-' } else { '+' };
            let (h, m) = o[1..].split_once(':').ok_or("bad UTC offset")?;
            (sign, digits(h, "offset")? * 60 + digits(m, "offset")?)
        }
    };
    if minutes > 999 {
        return Err("UTC offset too large".into());
    }
    let cim = format!(
        "{}{}{}{}{}{}.{micros}{sign}{minutes:03}",
        dp[0], dp[1], dp[2], tp[0], tp[1], tp[2]
    );
    cim.parse::<CimDateTime>().map_err(|e| e.to_string())
}

/// xs:duration `P1DT2H3M4.5S` (no years or months: intervals have none).
fn interval(t: &str) -> Result<CimDateTime, String> {
    let rest = t.strip_prefix('P').ok_or("a duration starts with `P`")?;
    let (days_part, time_part) = match rest.split_once('T') {
        Some((d, tm)) => (d, tm),
        None => (rest, ""),
    };
    let mut micros: u128 = 0;
    let mut num = String::new();
    for c in days_part.chars() {
        match c {
            '0'..='9' => num.push(c),
            'D' => {
                micros += digits(&num, "days")? as u128 * 86_400_000_000;
                num.clear();
            }
            'W' => {
                micros += digits(&num, "weeks")? as u128 * 7 * 86_400_000_000;
                num.clear();
            }
            _ => {
                return Err(format!(
                    "`{c}` in an interval (years and months have no fixed length)"
                ))
            }
        }
    }
    if !num.is_empty() {
        return Err("a number without a unit".into());
    }
    for c in time_part.chars() {
        match c {
            '0'..='9' | '.' => num.push(c),
            'H' | 'M' => {
                let n = digits(&num, "hours or minutes")? as u128;
                micros += n * if c == 'H' { 3_600_000_000 } else { 60_000_000 };
                num.clear();
            }
            'S' => {
                let (s, f) = num.split_once('.').unwrap_or((&num, ""));
                let s = if s.is_empty() {
                    0
                } else {
                    digits(s, "seconds")?
                };
                if !f.bytes().all(|b| b.is_ascii_digit()) {
                    return Err("bad fraction of a second".into());
                }
                let f: String = f.chars().chain(std::iter::repeat('0')).take(6).collect();
                micros += s as u128 * 1_000_000 + f.parse::<u128>().unwrap_or(0);
                num.clear();
            }
            _ => return Err(format!("`{c}` in the time of an interval")),
        }
    }
    if !num.is_empty() {
        return Err("a number without a unit".into());
    }
    let secs = u64::try_from(micros / 1_000_000).map_err(|_| "interval too long")?;
    Ok(CimDateTime::from_duration(Duration::new(
        secs,
        (micros % 1_000_000) as u32 * 1000,
    )))
}

/// An embedded instance as text: the CIM-XML INSTANCE element, what the
/// value model holds for an embedded object and what CIM-XML carries (so
/// a property reads the same over both protocols, and
/// `openwmi_cimxml::decode_embedded_instance` reads it back).
fn embedded_text(raw: &RawInstance, host: Option<&str>, depth: usize) -> Result<String, String> {
    if depth > 16 {
        return Err("embedded instances nest too deep".into());
    }
    let i = to_instance_at(raw, None, host, depth + 1)?;
    let mut s = String::new();
    openwmi_cimxml::write_instance(&mut s, &i);
    Ok(s)
}

/// A `cim:cimBase64Binary` value (an OctetString uint8[]): its octets,
/// after the 4-byte big-endian length (the length included) DSP0004
/// puts first when the class declares the property `OctetString`.
fn octets(text: &str, length_first: bool) -> Result<Value, String> {
    use base64::Engine as _;
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let data = base64::engine::general_purpose::STANDARD
        .decode(compact.as_bytes())
        .map_err(|e| format!("invalid base64: {e}"))?;
    let mut bytes = Vec::with_capacity(data.len() + 4);
    if length_first {
        let total = u32::try_from(data.len() + 4).map_err(|_| "octet string too long")?;
        bytes.extend_from_slice(&total.to_be_bytes());
    }
    bytes.extend_from_slice(&data);
    Ok(Value::Array(bytes.into_iter().map(Value::UInt8).collect()))
}

/// The base64 text of a property sent as one `cim:cimBase64Binary` value.
fn base64_text(p: &RawProperty) -> Option<&str> {
    match p.values.as_slice() {
        [RawValue::Text {
            text,
            xsi_type: Some(t),
        }] if t.rsplit(':').next() == Some("cimBase64Binary") => Some(text),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        let p = format!("{}/tests/fixtures/wsman/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(p).unwrap()
    }

    fn read(body: &[u8]) -> Response {
        read_response(body, &Limits::default()).unwrap()
    }

    #[test]
    fn identify() {
        let Response::Identify(i) = read(&fixture("identify.xml")) else {
            panic!()
        };
        assert_eq!(i.product_vendor, "Microsoft Corporation");
        assert!(i.product_version.starts_with("OS: 10.0"));
    }

    #[test]
    fn enumerate_and_pull() {
        let Response::Batch(b) = read(&fixture("enumerate_response.xml")) else {
            panic!()
        };
        assert_eq!(
            b.context.as_deref(),
            Some("uuid:6E1D2A3B-4C5D-4E6F-8A7B-9C0D1E2F3A4B")
        );
        assert!(!b.end_of_sequence);
        assert_eq!(b.items.len(), 2);
        let Item::Instance { instance, epr } = &b.items[0] else {
            panic!()
        };
        assert_eq!(instance.class_name, "Win32_Share");
        let i = to_instance(instance, None, Some("h:5986")).unwrap();
        assert_eq!(i.value("Name"), Some(&Value::String("ADMIN$".into())));
        assert_eq!(i.value("AccessMask"), None);
        assert_eq!(i.properties.len(), 10);
        let p = epr_to_path(epr.as_ref().unwrap(), Some("h:5986"), None).unwrap();
        assert_eq!(
            p.to_string(),
            "\\\\h:5986\\root\\cimv2:Win32_Share.Name=\"ADMIN$\""
        );

        let Response::Batch(b) = read(&fixture("pull_response.xml")) else {
            panic!()
        };
        assert!(b.end_of_sequence && b.context.is_none());
        let Item::Instance { instance, .. } = &b.items[0] else {
            panic!()
        };
        let i = to_instance(instance, None, None).unwrap();
        assert_eq!(
            i.value("Caption"),
            Some(&Value::String("Users & profiles".into()))
        );
        let Response::Batch(b) = read(&fixture("enumerate_empty.xml")) else {
            panic!()
        };
        assert!(b.end_of_sequence && b.context.is_none() && b.items.is_empty());
        assert_eq!(read(&fixture("release_response.xml")), Response::Empty);
    }

    #[test]
    fn typed_with_the_class() {
        let Response::Object(Item::Instance { instance, epr }) = read(&fixture("get_response.xml"))
        else {
            panic!()
        };
        assert!(epr.is_none());
        let mut c = Class::new("Win32_Share", None);
        let decl = |n: &str, t: CimType| openwmi_cim::PropertyDecl::new(n, TypeDecl::scalar(t));
        c.properties = vec![
            decl("Name", CimType::String),
            decl("Type", CimType::UInt32),
            decl("AllowMaximum", CimType::Boolean),
            decl("AccessMask", CimType::UInt32),
            decl("Missing", CimType::UInt32),
        ];
        let i = to_instance(&instance, Some(&c), None).unwrap();
        let names: Vec<&str> = i.properties.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(
            &names[..4],
            ["Name", "Type", "AllowMaximum", "AccessMask"],
            "class order, properties not sent left out"
        );
        assert!(!names.contains(&"Missing"));
        assert_eq!(i.value("Type"), Some(&Value::UInt32(2147483648)));
        assert_eq!(i.value("AllowMaximum"), Some(&Value::Boolean(true)));
        assert_eq!(i.value("AccessMask"), None);
        assert_eq!(
            i.value("Caption"),
            Some(&Value::String("Remote Admin".into()))
        );
    }

    const ENV: &str = "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\" \
        xmlns:a=\"http://schemas.xmlsoap.org/ws/2004/08/addressing\" \
        xmlns:w=\"http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd\" \
        xmlns:cim=\"http://schemas.dmtf.org/wbem/wscim/1/common\" \
        xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"><s:Header/><s:Body>";

    fn body(inner: &str) -> Vec<u8> {
        format!("{ENV}{inner}</s:Body></s:Envelope>").into_bytes()
    }

    #[test]
    fn values_of_every_shape() {
        let xml = body(
            "<p:Test_Class xmlns:p=\"http://schemas.microsoft.com/wbem/wsman/1/wmi/root/test/Test_Class\">\
             <p:When><cim:Datetime>2014-04-03T14:45:50.46875+08:00</cim:Datetime></p:When>\
             <p:Utc><cim:Datetime>2024-01-02T03:04:05Z</cim:Datetime></p:Utc>\
             <p:Took><cim:Interval>P1DT0H1M40.5S</cim:Interval></p:Took>\
             <p:Legacy><cim:CIM_DateTime>20240102030405.000000+000</cim:CIM_DateTime></p:Legacy>\
             <p:List>a</p:List><p:List>b</p:List>\
             <p:Count xsi:type=\"xs:unsignedInt\">7</p:Count>\
             <p:Ref><a:Address>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:Address>\
             <a:ReferenceParameters><w:ResourceURI>http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/Win32_Share</w:ResourceURI>\
             <w:SelectorSet><w:Selector Name=\"__cimnamespace\">root/cimv2</w:Selector><w:Selector Name=\"Name\">x</w:Selector></w:SelectorSet>\
             </a:ReferenceParameters></p:Ref>\
             <p:Inner xmlns:q=\"urn:q/Inner_Class\" xsi:type=\"q:Inner_Class_Type\"><q:A>1</q:A></p:Inner>\
             </p:Test_Class>",
        );
        let Response::Object(Item::Instance { instance, .. }) = read(&xml) else {
            panic!()
        };
        let i = to_instance(&instance, None, None).unwrap();
        let dt = |n: &str| match i.value(n) {
            Some(Value::DateTime(d)) => d.as_str().to_owned(),
            other => panic!("{n}: {other:?}"),
        };
        assert_eq!(dt("When"), "20140403144550.468750+480");
        assert_eq!(dt("Utc"), "20240102030405.000000+000");
        assert_eq!(dt("Took"), "00000001000140.500000:000");
        assert_eq!(dt("Legacy"), "20240102030405.000000+000");
        assert_eq!(
            i.value("List"),
            Some(&Value::Array(vec![
                Value::String("a".into()),
                Value::String("b".into())
            ]))
        );
        assert!(i.property("List").unwrap().ty.array.is_array());
        assert_eq!(i.value("Count"), Some(&Value::UInt32(7)));
        match i.value("Ref") {
            Some(Value::Reference(p)) => {
                assert_eq!(p.to_string(), "root\\cimv2:Win32_Share.Name=\"x\"")
            }
            other => panic!("{other:?}"),
        }
        match i.value("Inner") {
            Some(Value::String(s)) => {
                let inner =
                    openwmi_cimxml::decode_embedded_instance(s, &openwmi_cimxml::Limits::request())
                        .unwrap();
                assert_eq!(inner.class_name.as_str(), "Inner_Class");
                assert_eq!(inner.value("A"), Some(&Value::String("1".into())));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn octet_strings_and_null_arrays_as_windows_writes_them() {
        let xml = body(
            "<p:T xmlns:p=\"http://schemas.microsoft.com/wbem/wsman/1/wmi/root/test/T\" \
             xmlns:msftwinrm=\"http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd\">\
             <p:Data xsi:type=\"cim:cimBase64Binary\">AQL/</p:Data>\
             <p:Tags msftwinrm:IsNullArray=\"true\" xsi:nil=\"true\"/></p:T>",
        );
        let Response::Object(Item::Instance { instance, .. }) = read(&xml) else {
            panic!()
        };
        let mut c = Class::new("T", None);
        let mut data = openwmi_cim::PropertyDecl::new("Data", TypeDecl::array(CimType::UInt8));
        data.qualifiers.push(openwmi_cim::Qualifier::new(
            "OctetString",
            Some(Value::Boolean(true)),
        ));
        c.properties.push(data);
        c.properties.push(openwmi_cim::PropertyDecl::new(
            "Tags",
            TypeDecl::array(CimType::UInt32),
        ));
        let bytes = |v: &[u8]| Some(Value::Array(v.iter().copied().map(Value::UInt8).collect()));
        let typed = to_instance(&instance, Some(&c), None).unwrap();
        assert_eq!(
            typed.value("Data").cloned(),
            bytes(&[0, 0, 0, 7, 1, 2, 255])
        );
        assert_eq!(typed.value("Tags"), None);
        let untyped = to_instance(&instance, None, None).unwrap();
        assert_eq!(untyped.value("Data").cloned(), bytes(&[1, 2, 255]));
    }

    #[test]
    fn faults() {
        let Response::Fault(f) = read(&fixture("fault_destination_unreachable.xml")) else {
            panic!()
        };
        assert_eq!(f.code, "Sender");
        assert_eq!(f.subcode.as_deref(), Some("wsa:DestinationUnreachable"));
        assert_eq!(f.wsman_code, Some(2150858752));
        assert_eq!(f.machine.as_deref(), Some("winhost"));
        assert!(f.detail.unwrap().ends_with("/InvalidResourceURI"));
        assert!(f
            .message
            .unwrap()
            .starts_with("The WS-Management service cannot find"));
        assert_eq!(f.wmi_code, None, "StatusCode is nil");
        let Response::Fault(f) = read(&fixture("fault_wmi_invalid_class.xml")) else {
            panic!()
        };
        assert_eq!(f.subcode.as_deref(), Some("wsman:InternalError"));
        assert_eq!(f.wmi_code, Some(0x8004_1010));
        assert_eq!(f.cim_status, Some(5));
        assert_eq!(f.message.as_deref(), Some("Invalid class"));
    }

    #[test]
    fn bad_input_is_an_error() {
        let limits = Limits {
            max_depth: 8,
            ..Limits::default()
        };
        let deep = body(&format!("{}{}", "<x>".repeat(20), "</x>".repeat(20)));
        let e = read_response(&deep, &limits).unwrap_err();
        assert!(e.limit && e.message.contains("deeper"), "{e}");
        let dtd = b"<!DOCTYPE s [<!ENTITY a \"aaaa\">]><s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\"><s:Body>&a;</s:Body></s:Envelope>";
        assert!(read_response(dtd, &Limits::default()).is_err());
        for bad in [
            &b""[..],
            b"<a>",
            b"<a/>",
            b"<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\"/>",
            b"\xff\xfe<",
            b"\xc3",
        ] {
            assert!(read_response(bad, &Limits::default()).is_err(), "{bad:?}");
        }
        let small = Limits {
            max_nodes: 10,
            ..Limits::default()
        };
        assert!(
            read_response(&fixture("enumerate_response.xml"), &small)
                .unwrap_err()
                .limit
        );
        let Response::Object(Item::Instance { instance, .. }) = read(&body(
            "<p:C xmlns:p=\"urn:c\"><p:T><cim:Interval>P1Y</cim:Interval></p:T></p:C>",
        )) else {
            panic!()
        };
        assert!(to_instance(&instance, None, None).is_err());
    }

    #[test]
    fn utf16_bodies() {
        let text = String::from_utf8(fixture("identify.xml")).unwrap();
        let mut le = vec![0xFF, 0xFE];
        for u in text.encode_utf16() {
            le.extend_from_slice(&u.to_le_bytes());
        }
        assert!(matches!(read(&le), Response::Identify(_)));
    }
}
