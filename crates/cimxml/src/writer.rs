//! Writing CIM-XML: escaping, the object elements of DSP0201 2.4, and a
//! streaming response writer.
//!
//! Escaping: text escapes `&`, `<`, `>` and CR (so that it survives XML
//! newline normalization); attribute values also escape `"`, tab and LF (so
//! that they survive attribute-value normalization). Characters XML 1.0
//! cannot carry at all, not even as character references (C0 controls other
//! than tab/LF/CR, U+FFFE, U+FFFF), are written as U+FFFD REPLACEMENT
//! CHARACTER: the document stays well-formed and the loss is visible.

use openwmi_cim::{
    ArrayKind, CimError, CimType, Class, Flavor, Instance, InstanceProperty, KeyBinding, Keys,
    MethodDecl, Name, ObjectPath, ParameterDecl, PropertyDecl, Qualifier, QualifierDecl, Scope,
    TypeDecl, Value,
};
use std::borrow::Cow;
use std::fmt::Write;

/// The XML declaration every CIM-XML body starts with.
pub(crate) const XML_DECL: &str = "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n";

/// Appends `s` escaped for element content.
pub fn escape_text(out: &mut String, s: &str) {
    escape_runs(out, s, false);
}

/// Appends `s` escaped for a double-quoted attribute value.
pub fn escape_attr(out: &mut String, s: &str) {
    escape_runs(out, s, true);
}

/// Copies the runs that need no escaping whole: most values are plain
/// text, and a character-at-a-time push was much of an enumeration's CPU.
/// Works on bytes: in a `&str` the only characters XML 1.0 cannot carry are
/// the C0 controls other than tab, LF and CR, and U+FFFE/U+FFFF (bytes
/// EF BF BE/BF); every slice boundary below is at one of those or at ASCII.
fn escape_runs(out: &mut String, s: &str, attribute: bool) {
    let bytes = s.as_bytes();
    let special = if attribute {
        &SPECIAL_IN_ATTRIBUTE
    } else {
        &SPECIAL_IN_TEXT
    };
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        // The common case, a byte that is copied as it is, costs one lookup.
        if !special[usize::from(bytes[i])] {
            i += 1;
            continue;
        }
        let (replacement, width) = match bytes[i] {
            b'&' => ("&amp;", 1),
            b'<' => ("&lt;", 1),
            b'>' => ("&gt;", 1),
            b'\r' => ("&#13;", 1),
            b'"' if attribute => ("&quot;", 1),
            b'\t' if attribute => ("&#9;", 1),
            b'\n' if attribute => ("&#10;", 1),
            b'\t' | b'\n' | b'"' => {
                i += 1;
                continue;
            }
            0x00..=0x1f => ("\u{FFFD}", 1),
            0xEF if bytes.get(i + 1) == Some(&0xBF)
                && matches!(bytes.get(i + 2), Some(0xBE | 0xBF)) =>
            {
                ("\u{FFFD}", 3)
            }
            _ => {
                i += 1;
                continue;
            }
        };
        out.push_str(&s[start..i]);
        out.push_str(replacement);
        i += width;
        start = i;
    }
    out.push_str(&s[start..]);
}

/// Bytes that [`escape_runs`] must look at: `&`, `<`, `>`, the C0
/// controls, the first byte of U+FFFE/U+FFFF and, in attributes, `"`.
/// (Tab and LF are C0 controls: looked at, and kept in text.)
const fn special_bytes(attribute: bool) -> [bool; 256] {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = true;
        b += 1;
    }
    table[b'&' as usize] = true;
    table[b'<' as usize] = true;
    table[b'>' as usize] = true;
    table[0xEF] = true;
    table[b'"' as usize] = attribute;
    table
}
static SPECIAL_IN_TEXT: [bool; 256] = special_bytes(false);
static SPECIAL_IN_ATTRIBUTE: [bool; 256] = special_bytes(true);

fn attr(out: &mut String, name: &str, value: &str) {
    out.push(' ');
    out.push_str(name);
    out.push_str("=\"");
    escape_attr(out, value);
    out.push('"');
}

/// The CIM-XML type keyword of a property or qualifier value (`reference`
/// is not one: references have their own elements).
fn type_keyword(t: CimType) -> &'static str {
    t.as_str()
}

/// Text of a scalar value as VALUE and KEYVALUE carry it.
pub(crate) fn value_text(v: &Value) -> String {
    match v {
        Value::Reference(p) => p.to_string(),
        v => v.to_string(),
    }
}

/// Writes [`value_text`] escaped, without building it first for the
/// common types (this is the inner loop of every enumeration).
fn write_value_text(out: &mut String, v: &Value) {
    use std::fmt::Write;
    // Digits and signs need no escaping.
    let _ = match v {
        Value::String(s) => {
            escape_text(out, s);
            Ok(())
        }
        Value::Boolean(b) => {
            out.push_str(if *b { "TRUE" } else { "FALSE" });
            Ok(())
        }
        Value::UInt8(n) => write!(out, "{n}"),
        Value::SInt8(n) => write!(out, "{n}"),
        Value::UInt16(n) => write!(out, "{n}"),
        Value::SInt16(n) => write!(out, "{n}"),
        Value::UInt32(n) => write!(out, "{n}"),
        Value::SInt32(n) => write!(out, "{n}"),
        Value::UInt64(n) => write!(out, "{n}"),
        Value::SInt64(n) => write!(out, "{n}"),
        other => {
            escape_text(out, &value_text(other));
            Ok(())
        }
    };
}

fn write_value_el(out: &mut String, v: &Value) {
    out.push_str("<VALUE>");
    write_value_text(out, v);
    out.push_str("</VALUE>");
}

/// Writes a value as VALUE, VALUE.ARRAY or VALUE.REFERENCE, by its shape.
pub fn write_value(out: &mut String, v: &Value) {
    match v {
        Value::Array(items) => {
            out.push_str("<VALUE.ARRAY>");
            for i in items {
                write_value_el(out, i);
            }
            out.push_str("</VALUE.ARRAY>");
        }
        Value::Reference(p) => write_value_reference(out, p),
        v => write_value_el(out, v),
    }
}

/// VALUE.REFARRAY, for method parameters.
pub(crate) fn write_value_refarray(out: &mut String, items: &[Value]) {
    out.push_str("<VALUE.REFARRAY>");
    for i in items {
        match i {
            Value::Reference(p) => write_value_reference(out, p),
            _ => out.push_str("<VALUE.NULL/>"),
        }
    }
    out.push_str("</VALUE.REFARRAY>");
}

pub fn write_localnamespacepath(out: &mut String, namespace: &str) {
    out.push_str("<LOCALNAMESPACEPATH>");
    for seg in namespace.split(['/', '\\']).filter(|s| !s.is_empty()) {
        out.push_str("<NAMESPACE");
        attr(out, "NAME", seg);
        out.push_str("/>");
    }
    out.push_str("</LOCALNAMESPACEPATH>");
}

fn write_namespacepath(out: &mut String, host: &str, namespace: &str) {
    out.push_str("<NAMESPACEPATH><HOST>");
    escape_text(out, host);
    out.push_str("</HOST>");
    write_localnamespacepath(out, namespace);
    out.push_str("</NAMESPACEPATH>");
}

pub fn write_classname(out: &mut String, class: &str) {
    out.push_str("<CLASSNAME");
    attr(out, "NAME", class);
    out.push_str("/>");
}

fn write_keyvalue(out: &mut String, v: &Value) {
    let (vt, ty) = match v {
        Value::Boolean(_) => ("boolean", Some(CimType::Boolean)),
        Value::String(_) | Value::Array(_) => ("string", Some(CimType::String)),
        Value::Char16(_) => ("string", Some(CimType::Char16)),
        Value::DateTime(_) => ("string", Some(CimType::DateTime)),
        Value::Reference(_) => ("string", None),
        other => ("numeric", other.cim_type()),
    };
    out.push_str("<KEYVALUE");
    attr(out, "VALUETYPE", vt);
    if let Some(t) = ty {
        attr(out, "TYPE", type_keyword(t));
    }
    out.push('>');
    write_value_text(out, v);
    out.push_str("</KEYVALUE>");
}

fn write_key(out: &mut String, v: &Value) {
    match v {
        Value::Reference(p) => write_value_reference(out, p),
        v => write_keyvalue(out, v),
    }
}

/// INSTANCENAME: the class and its key bindings (host and namespace are not
/// part of it). A single unnamed key is written in the unnamed form.
pub fn write_instancename(out: &mut String, path: &ObjectPath) {
    out.push_str("<INSTANCENAME");
    attr(out, "CLASSNAME", path.class.as_str());
    out.push('>');
    if let Keys::Bindings(b) = &path.keys {
        match b.as_slice() {
            [only] if only.name.as_str().is_empty() => write_key(out, &only.value),
            _ => {
                for KeyBinding { name, value } in b {
                    out.push_str("<KEYBINDING");
                    attr(out, "NAME", name.as_str());
                    out.push('>');
                    write_key(out, value);
                    out.push_str("</KEYBINDING>");
                }
            }
        }
    }
    out.push_str("</INSTANCENAME>");
}

fn host_of<'a>(path: &'a ObjectPath, default_host: &'a str) -> &'a str {
    match path.host.as_deref() {
        Some(h) if !h.is_empty() && h != "." => h,
        _ => default_host,
    }
}

/// INSTANCEPATH (host and namespace from the path, else the defaults given).
pub fn write_instancepath(
    out: &mut String,
    path: &ObjectPath,
    default_host: &str,
    default_ns: &str,
) {
    out.push_str("<INSTANCEPATH>");
    let ns = path.namespace.as_deref().unwrap_or(default_ns);
    write_namespacepath(out, host_of(path, default_host), ns);
    write_instancename(out, path);
    out.push_str("</INSTANCEPATH>");
}

pub fn write_classpath(out: &mut String, path: &ObjectPath, default_host: &str, default_ns: &str) {
    out.push_str("<CLASSPATH>");
    let ns = path.namespace.as_deref().unwrap_or(default_ns);
    write_namespacepath(out, host_of(path, default_host), ns);
    write_classname(out, path.class.as_str());
    out.push_str("</CLASSPATH>");
}

/// VALUE.REFERENCE holding the most specific path form the path allows:
/// INSTANCEPATH/CLASSPATH with host and namespace, LOCALINSTANCEPATH/
/// LOCALCLASSPATH with a namespace only, INSTANCENAME/CLASSNAME otherwise.
pub fn write_value_reference(out: &mut String, path: &ObjectPath) {
    out.push_str("<VALUE.REFERENCE>");
    let is_class = matches!(path.keys, Keys::Class);
    match (&path.host, &path.namespace) {
        (Some(h), Some(ns)) if !h.is_empty() => {
            if is_class {
                write_classpath(out, path, h, ns);
            } else {
                write_instancepath(out, path, h, ns);
            }
        }
        (_, Some(ns)) => {
            if is_class {
                out.push_str("<LOCALCLASSPATH>");
                write_localnamespacepath(out, ns);
                write_classname(out, path.class.as_str());
                out.push_str("</LOCALCLASSPATH>");
            } else {
                out.push_str("<LOCALINSTANCEPATH>");
                write_localnamespacepath(out, ns);
                write_instancename(out, path);
                out.push_str("</LOCALINSTANCEPATH>");
            }
        }
        _ => {
            if is_class {
                write_classname(out, path.class.as_str());
            } else {
                write_instancename(out, path);
            }
        }
    }
    out.push_str("</VALUE.REFERENCE>");
}

fn write_flavor_attrs(out: &mut String, f: &Flavor) {
    if !f.overridable {
        attr(out, "OVERRIDABLE", "false");
    }
    if !f.to_subclass {
        attr(out, "TOSUBCLASS", "false");
    }
    if f.translatable {
        attr(out, "TRANSLATABLE", "true");
    }
}

/// QUALIFIER. Its TYPE is that of its value; a NULL value or an empty array
/// carries no type, and is written as `string`.
pub fn write_qualifier(out: &mut String, q: &Qualifier) {
    let ty = q
        .value
        .as_ref()
        .and_then(Value::cim_type)
        .filter(|t| *t != CimType::Reference)
        .unwrap_or(CimType::String);
    out.push_str("<QUALIFIER");
    attr(out, "NAME", q.name.as_str());
    attr(out, "TYPE", type_keyword(ty));
    if q.propagated {
        attr(out, "PROPAGATED", "true");
    }
    write_flavor_attrs(out, &q.flavor);
    match &q.value {
        Some(v) => {
            out.push('>');
            write_value(out, v);
            out.push_str("</QUALIFIER>");
        }
        None => out.push_str("/>"),
    }
}

/// How much of a class to write (the GetClass / EnumerateClasses flags).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClassOptions<'a> {
    /// Only members (and qualifiers) the class itself declares or overrides.
    pub local_only: bool,
    pub include_qualifiers: bool,
    /// Write CLASSORIGIN on properties and methods.
    pub include_class_origin: bool,
    /// Only these properties (None: all).
    pub property_list: Option<&'a [Name]>,
}

impl Default for ClassOptions<'_> {
    /// The whole class: inherited members, qualifiers and class origins.
    fn default() -> Self {
        ClassOptions {
            local_only: false,
            include_qualifiers: true,
            include_class_origin: true,
            property_list: None,
        }
    }
}

fn write_qualifiers(out: &mut String, quals: &[Qualifier], opts: &ClassOptions<'_>) {
    if !opts.include_qualifiers {
        return;
    }
    for q in quals {
        if opts.local_only && q.propagated {
            continue;
        }
        write_qualifier(out, q);
    }
}

fn write_origin(out: &mut String, origin: &Name, propagated: bool, opts: &ClassOptions<'_>) {
    if opts.include_class_origin && !origin.as_str().is_empty() {
        attr(out, "CLASSORIGIN", origin.as_str());
    }
    if propagated {
        attr(out, "PROPAGATED", "true");
    }
}

/// Writes a property of a class (with qualifiers and origin) or of an
/// instance (`decl` None). DSP0201 has no reference-array property element;
/// such a property is written as a string array of the paths' text.
fn write_property(
    out: &mut String,
    name: &Name,
    ty: &TypeDecl,
    value: Option<&Value>,
    decl: Option<(&PropertyDecl, &ClassOptions<'_>)>,
) {
    let is_ref = ty.base == CimType::Reference && !ty.is_array();
    let elem = if is_ref {
        "PROPERTY.REFERENCE"
    } else if ty.is_array() {
        "PROPERTY.ARRAY"
    } else {
        "PROPERTY"
    };
    out.push('<');
    out.push_str(elem);
    attr(out, "NAME", name.as_str());
    if is_ref {
        if let Some(rc) = &ty.ref_class {
            attr(out, "REFERENCECLASS", rc.as_str());
        }
    } else {
        let base = if ty.base == CimType::Reference {
            CimType::String
        } else {
            ty.base
        };
        attr(out, "TYPE", type_keyword(base));
        if let ArrayKind::Fixed(n) = ty.array {
            attr(out, "ARRAYSIZE", &n.to_string());
        }
    }
    if let Some((d, opts)) = decl {
        write_origin(out, &d.class_origin, d.propagated, opts);
    }
    out.push('>');
    if let Some((d, opts)) = decl {
        write_qualifiers(out, &d.qualifiers, opts);
    }
    match (value, is_ref, ty.is_array()) {
        (None, _, _) => {}
        (Some(Value::Reference(p)), true, _) => write_value_reference(out, p),
        (Some(_), true, _) => {} // not a path: nothing DSP0201 can say
        (Some(Value::Array(items)), false, true) => {
            out.push_str("<VALUE.ARRAY>");
            for i in items {
                write_value_el(out, i);
            }
            out.push_str("</VALUE.ARRAY>");
        }
        (Some(v), false, true) => {
            out.push_str("<VALUE.ARRAY>");
            write_value_el(out, v);
            out.push_str("</VALUE.ARRAY>");
        }
        (Some(v), false, false) => write_value_el(out, v),
    }
    out.push_str("</");
    out.push_str(elem);
    out.push('>');
}

/// INSTANCE with all its properties, in order.
pub fn write_instance(out: &mut String, inst: &Instance) {
    out.push_str("<INSTANCE");
    attr(out, "CLASSNAME", inst.class_name.as_str());
    out.push('>');
    for InstanceProperty { name, ty, value } in &inst.properties {
        write_property(out, name, ty, value.as_ref(), None);
    }
    out.push_str("</INSTANCE>");
}

/// An instance's INSTANCE and INSTANCENAME elements, encoded once. For
/// instances that never change (static ones): writing them is then a copy,
/// and the output is the same as the `ResponseWriter` methods without
/// `_encoded` give.
#[derive(Debug, Clone)]
pub struct EncodedInstance {
    name: Box<str>,
    instance: Box<str>,
}

impl EncodedInstance {
    /// `path` is the instance's path (its host and namespace are not part
    /// of the encoding).
    pub fn new(path: &ObjectPath, inst: &Instance) -> Self {
        let mut name = String::new();
        write_instancename(&mut name, path);
        let mut instance = String::new();
        write_instance(&mut instance, inst);
        EncodedInstance {
            name: name.into(),
            instance: instance.into(),
        }
    }

    /// Bytes held.
    pub fn len(&self) -> usize {
        self.name.len() + self.instance.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn write_parameter(out: &mut String, p: &ParameterDecl, opts: &ClassOptions<'_>) {
    let (elem, is_ref) = match (p.ty.base == CimType::Reference, p.ty.is_array()) {
        (true, true) => ("PARAMETER.REFARRAY", true),
        (true, false) => ("PARAMETER.REFERENCE", true),
        (false, true) => ("PARAMETER.ARRAY", false),
        (false, false) => ("PARAMETER", false),
    };
    out.push('<');
    out.push_str(elem);
    attr(out, "NAME", p.name.as_str());
    if is_ref {
        if let Some(rc) = &p.ty.ref_class {
            attr(out, "REFERENCECLASS", rc.as_str());
        }
    } else {
        attr(out, "TYPE", type_keyword(p.ty.base));
    }
    if let ArrayKind::Fixed(n) = p.ty.array {
        attr(out, "ARRAYSIZE", &n.to_string());
    }
    out.push('>');
    write_qualifiers(
        out,
        &p.qualifiers,
        &ClassOptions {
            local_only: false,
            ..*opts
        },
    );
    out.push_str("</");
    out.push_str(elem);
    out.push('>');
}

fn write_method(out: &mut String, m: &MethodDecl, opts: &ClassOptions<'_>) {
    out.push_str("<METHOD");
    attr(out, "NAME", m.name.as_str());
    if m.return_type != CimType::Reference {
        attr(out, "TYPE", type_keyword(m.return_type));
    }
    write_origin(out, &m.class_origin, m.propagated, opts);
    out.push('>');
    write_qualifiers(out, &m.qualifiers, opts);
    for p in &m.parameters {
        write_parameter(out, p, opts);
    }
    out.push_str("</METHOD>");
}

/// CLASS, honoring LocalOnly, IncludeQualifiers, IncludeClassOrigin and a
/// property list.
pub fn write_class(out: &mut String, class: &Class, opts: &ClassOptions<'_>) {
    out.push_str("<CLASS");
    attr(out, "NAME", class.name.as_str());
    if let Some(s) = &class.superclass {
        attr(out, "SUPERCLASS", s.as_str());
    }
    out.push('>');
    write_qualifiers(out, &class.qualifiers, opts);
    for p in &class.properties {
        if opts.local_only && p.propagated {
            continue;
        }
        if let Some(list) = opts.property_list {
            if !list.contains(&p.name) {
                continue;
            }
        }
        write_property(out, &p.name, &p.ty, p.default.as_ref(), Some((p, opts)));
    }
    for m in &class.methods {
        if opts.local_only && m.propagated {
            continue;
        }
        write_method(out, m, opts);
    }
    out.push_str("</CLASS>");
}

/// QUALIFIER.DECLARATION with SCOPE and flavors. DSP0203 2.4 has no SCOPE
/// attribute for the `qualifier` scope; it is not written.
pub fn write_qualifier_decl(out: &mut String, d: &QualifierDecl) {
    out.push_str("<QUALIFIER.DECLARATION");
    attr(out, "NAME", d.name.as_str());
    attr(out, "TYPE", type_keyword(d.ty));
    attr(
        out,
        "ISARRAY",
        if d.array.is_array() { "true" } else { "false" },
    );
    if let ArrayKind::Fixed(n) = d.array {
        attr(out, "ARRAYSIZE", &n.to_string());
    }
    write_flavor_attrs(out, &d.flavor);
    out.push('>');
    out.push_str("<SCOPE");
    for (bit, word) in Scope::NAMES {
        if bit != Scope::QUALIFIER && d.scope.contains(bit) {
            attr(out, &word.to_ascii_uppercase(), "true");
        }
    }
    out.push_str("/>");
    match (&d.default, d.array.is_array()) {
        (None, _) => {}
        (Some(Value::Array(items)), _) => {
            out.push_str("<VALUE.ARRAY>");
            for i in items {
                write_value_el(out, i);
            }
            out.push_str("</VALUE.ARRAY>");
        }
        (Some(v), true) => {
            out.push_str("<VALUE.ARRAY>");
            write_value_el(out, v);
            out.push_str("</VALUE.ARRAY>");
        }
        (Some(v), false) => write_value_el(out, v),
    }
    out.push_str("</QUALIFIER.DECLARATION>");
}

pub(crate) fn write_message_start(out: &mut String, message_id: &str) {
    out.push_str(XML_DECL);
    out.push_str("<CIM CIMVERSION=\"2.0\" DTDVERSION=\"2.0\"><MESSAGE");
    attr(out, "ID", message_id);
    attr(out, "PROTOCOLVERSION", "1.0");
    out.push('>');
}

pub(crate) const MESSAGE_END: &str = "</MESSAGE></CIM>\n";

/// The whole 200 response carrying a CIM error:
/// `<IMETHODRESPONSE NAME=..><ERROR CODE=.. DESCRIPTION=../></IMETHODRESPONSE>`
/// (METHODRESPONSE when `intrinsic` is false).
pub fn error_response(
    message_id: &str,
    method_name: &str,
    intrinsic: bool,
    err: &CimError,
) -> String {
    let mut out = String::with_capacity(256 + err.description.len());
    let elem = if intrinsic {
        "IMETHODRESPONSE"
    } else {
        "METHODRESPONSE"
    };
    write_message_start(&mut out, message_id);
    out.push_str("<SIMPLERSP><");
    out.push_str(elem);
    attr(&mut out, "NAME", method_name);
    out.push_str("><ERROR");
    let _ = write!(out, " CODE=\"{}\"", err.status.code());
    attr(&mut out, "DESCRIPTION", &err.description);
    out.push_str("/></");
    out.push_str(elem);
    out.push_str("></SIMPLERSP>");
    out.push_str(MESSAGE_END);
    out
}

/// The response of an operation that returns nothing (CloseEnumeration):
/// an empty IMETHODRESPONSE.
pub fn empty_response(message_id: &str, method_name: &str) -> String {
    let mut out = String::with_capacity(200);
    write_message_start(&mut out, message_id);
    out.push_str("<SIMPLERSP><IMETHODRESPONSE");
    attr(&mut out, "NAME", method_name);
    out.push_str("/></SIMPLERSP>");
    out.push_str(MESSAGE_END);
    out
}

/// Writes an IMETHODRESPONSE piece by piece so that a server can send each
/// chunk ([`ResponseWriter::take`]) as soon as it is written:
///
/// ```
/// use openwmi_cimxml::ResponseWriter;
/// let mut w = ResponseWriter::begin("1001", "EnumerateClassNames");
/// w.class_name("Win32_Share");
/// let first_chunk = w.take();
/// let rest = w.end();
/// assert!(first_chunk.contains("<CLASSNAME NAME=\"Win32_Share\"/>"));
/// assert!(rest.ends_with("</CIM>\n"));
/// ```
#[derive(Debug)]
pub struct ResponseWriter {
    buf: String,
    host: Cow<'static, str>,
    namespace: Cow<'static, str>,
    nspath: NamespacePathMemo,
}

/// The NAMESPACEPATH last written and what it was for: all the objects of an
/// enumeration or query have the same host and namespace, so it is encoded
/// once per response rather than once per object.
#[derive(Debug, Default)]
struct NamespacePathMemo {
    host: String,
    namespace: String,
    encoded: String,
}

impl NamespacePathMemo {
    fn write(&mut self, out: &mut String, host: &str, namespace: &str) {
        if self.encoded.is_empty() || self.host != host || self.namespace != namespace {
            self.encoded.clear();
            write_namespacepath(&mut self.encoded, host, namespace);
            host.clone_into(&mut self.host);
            namespace.clone_into(&mut self.namespace);
        }
        out.push_str(&self.encoded);
    }
}

impl ResponseWriter {
    /// Writes everything up to and including `<IRETURNVALUE>`.
    pub fn begin(message_id: &str, method_name: &str) -> ResponseWriter {
        // Room for most single-object answers. Blocks up to about 1 KiB come
        // from glibc's per-thread cache; larger first blocks took its slow
        // path on every request, and an answer that outgrows this one costs
        // a few doublings on its way to a streamed chunk's size.
        let mut buf = String::with_capacity(1024);
        write_message_start(&mut buf, message_id);
        buf.push_str("<SIMPLERSP><IMETHODRESPONSE");
        attr(&mut buf, "NAME", method_name);
        buf.push_str("><IRETURNVALUE>");
        ResponseWriter {
            buf,
            host: Cow::Borrowed("localhost"),
            namespace: Cow::Borrowed("root/cimv2"),
            nspath: NamespacePathMemo::default(),
        }
    }

    /// INSTANCEPATH, its NAMESPACEPATH from the memo.
    fn instancepath(&mut self, path: &ObjectPath) {
        self.buf.push_str("<INSTANCEPATH>");
        let ns = path.namespace.as_deref().unwrap_or(&self.namespace);
        self.nspath
            .write(&mut self.buf, host_of(path, &self.host), ns);
        write_instancename(&mut self.buf, path);
        self.buf.push_str("</INSTANCEPATH>");
    }

    /// The host and namespace written in full paths whose own are missing
    /// (defaults: `localhost`, `root/cimv2`).
    pub fn with_origin(mut self, host: &str, namespace: &str) -> ResponseWriter {
        self.host = Cow::Owned(host.to_owned());
        self.namespace = Cow::Owned(namespace.to_owned());
        self
    }

    /// What has been written since the last `take`, leaving the buffer empty.
    pub fn take(&mut self) -> String {
        // The next chunk will be about as large: spare it the regrowing.
        let capacity = self.buf.capacity();
        std::mem::replace(&mut self.buf, String::with_capacity(capacity))
    }

    /// What has been written since the last `take`, when nothing more will
    /// be: unlike `take`, no fresh buffer is made for what would follow.
    pub fn take_last(&mut self) -> String {
        std::mem::take(&mut self.buf)
    }

    /// Bytes written and not yet taken.
    pub fn pending_len(&self) -> usize {
        self.buf.len()
    }

    /// INSTANCE from its encoding (see [`EncodedInstance`]).
    pub fn instance_encoded(&mut self, e: &EncodedInstance) {
        self.buf.push_str(&e.instance);
    }

    /// INSTANCENAME from its encoding.
    pub fn instance_name_encoded(&mut self, e: &EncodedInstance) {
        self.buf.push_str(&e.name);
    }

    /// VALUE.NAMEDINSTANCE from its encoding.
    pub fn named_instance_encoded(&mut self, e: &EncodedInstance) {
        self.buf.push_str("<VALUE.NAMEDINSTANCE>");
        self.buf.push_str(&e.name);
        self.buf.push_str(&e.instance);
        self.buf.push_str("</VALUE.NAMEDINSTANCE>");
    }

    /// VALUE.OBJECTWITHPATH from an encoding; host and namespace come from
    /// `path` as in [`ResponseWriter::object_with_path`].
    pub fn object_with_path_encoded(&mut self, path: &ObjectPath, e: &EncodedInstance) {
        self.buf.push_str("<VALUE.OBJECTWITHPATH><INSTANCEPATH>");
        let ns = path.namespace.as_deref().unwrap_or(&self.namespace);
        self.nspath
            .write(&mut self.buf, host_of(path, &self.host), ns);
        self.buf.push_str(&e.name);
        self.buf.push_str("</INSTANCEPATH>");
        self.buf.push_str(&e.instance);
        self.buf.push_str("</VALUE.OBJECTWITHPATH>");
    }

    /// INSTANCE (GetInstance, PullInstances, OpenQueryInstances).
    pub fn instance(&mut self, inst: &Instance) {
        write_instance(&mut self.buf, inst);
    }

    /// INSTANCENAME (EnumerateInstanceNames).
    pub fn instance_name(&mut self, path: &ObjectPath) {
        write_instancename(&mut self.buf, path);
    }

    /// VALUE.NAMEDINSTANCE (EnumerateInstances).
    pub fn named_instance(&mut self, path: &ObjectPath, inst: &Instance) {
        self.buf.push_str("<VALUE.NAMEDINSTANCE>");
        write_instancename(&mut self.buf, path);
        write_instance(&mut self.buf, inst);
        self.buf.push_str("</VALUE.NAMEDINSTANCE>");
    }

    /// VALUE.OBJECTWITHPATH holding an instance (ExecQuery, Associators, References).
    pub fn object_with_path(&mut self, path: &ObjectPath, inst: &Instance) {
        self.buf.push_str("<VALUE.OBJECTWITHPATH>");
        self.instancepath(path);
        write_instance(&mut self.buf, inst);
        self.buf.push_str("</VALUE.OBJECTWITHPATH>");
    }

    /// VALUE.OBJECTWITHPATH holding a class (class-level Associators/References).
    pub fn class_with_path(&mut self, path: &ObjectPath, class: &Class, opts: &ClassOptions<'_>) {
        self.buf.push_str("<VALUE.OBJECTWITHPATH>");
        write_classpath(&mut self.buf, path, &self.host, &self.namespace);
        write_class(&mut self.buf, class, opts);
        self.buf.push_str("</VALUE.OBJECTWITHPATH>");
    }

    /// VALUE.INSTANCEWITHPATH (the pull operations).
    pub fn instance_with_path(&mut self, path: &ObjectPath, inst: &Instance) {
        self.buf.push_str("<VALUE.INSTANCEWITHPATH>");
        self.instancepath(path);
        write_instance(&mut self.buf, inst);
        self.buf.push_str("</VALUE.INSTANCEWITHPATH>");
    }

    /// OBJECTPATH holding an INSTANCEPATH, or a CLASSPATH for a class path
    /// (AssociatorNames, ReferenceNames).
    pub fn object_path(&mut self, path: &ObjectPath) {
        self.buf.push_str("<OBJECTPATH>");
        if matches!(path.keys, Keys::Class) {
            write_classpath(&mut self.buf, path, &self.host, &self.namespace);
        } else {
            self.instancepath(path);
        }
        self.buf.push_str("</OBJECTPATH>");
    }

    /// INSTANCEPATH (the path pull operations).
    pub fn instance_path(&mut self, path: &ObjectPath) {
        self.instancepath(path);
    }

    /// CLASS (GetClass, EnumerateClasses).
    pub fn class(&mut self, class: &Class, opts: &ClassOptions<'_>) {
        write_class(&mut self.buf, class, opts);
    }

    /// CLASSNAME (EnumerateClassNames).
    pub fn class_name(&mut self, name: &str) {
        write_classname(&mut self.buf, name);
    }

    /// QUALIFIER.DECLARATION (GetQualifier, EnumerateQualifiers).
    pub fn qualifier_decl(&mut self, decl: &QualifierDecl) {
        write_qualifier_decl(&mut self.buf, decl);
    }

    /// VALUE, VALUE.ARRAY or VALUE.REFERENCE (EnumerationCount, GetProperty).
    pub fn value(&mut self, value: &Value) {
        write_value(&mut self.buf, value);
    }

    /// Closes IRETURNVALUE and the message; returns what was not yet taken.
    pub fn end(mut self) -> String {
        self.buf
            .push_str("</IRETURNVALUE></IMETHODRESPONSE></SIMPLERSP>");
        self.buf.push_str(MESSAGE_END);
        self.buf
    }

    /// Ends the response of an open or pull operation: after IRETURNVALUE
    /// come the output parameters EndOfSequence and EnumerationContext as
    /// PARAMVALUE siblings inside IMETHODRESPONSE (DSP0200 5.3.2; pywbem
    /// reads them there and requires a context whenever EndOfSequence is
    /// false). A `None` context is written as a NULL PARAMVALUE.
    pub fn end_pull(mut self, end_of_sequence: bool, enumeration_context: Option<&str>) -> String {
        self.buf.push_str("</IRETURNVALUE>");
        self.buf
            .push_str("<PARAMVALUE NAME=\"EndOfSequence\" PARAMTYPE=\"boolean\"><VALUE>");
        self.buf
            .push_str(if end_of_sequence { "TRUE" } else { "FALSE" });
        self.buf.push_str("</VALUE></PARAMVALUE>");
        self.buf
            .push_str("<PARAMVALUE NAME=\"EnumerationContext\" PARAMTYPE=\"string\"");
        match enumeration_context {
            Some(c) => {
                self.buf.push_str("><VALUE>");
                escape_text(&mut self.buf, c);
                self.buf.push_str("</VALUE></PARAMVALUE>");
            }
            None => self.buf.push_str("/>"),
        }
        self.buf.push_str("</IMETHODRESPONSE></SIMPLERSP>");
        self.buf.push_str(MESSAGE_END);
        self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn taken_pieces_make_the_whole_answer() {
        let path = ObjectPath::parse("T_Share.Name=\"a\"").unwrap();
        let whole = |cut: fn(&mut ResponseWriter) -> String| {
            let mut w = ResponseWriter::begin("7", "EnumerateInstanceNames");
            let head = cut(&mut w);
            w.instance_name(&path);
            let middle = w.take();
            head + &middle + &w.end()
        };
        let mut w = ResponseWriter::begin("7", "EnumerateInstanceNames");
        w.instance_name(&path);
        let expected = w.end();
        assert_eq!(whole(ResponseWriter::take), expected);
        // Writing after `take_last` still works, in a buffer of its own.
        assert_eq!(whole(ResponseWriter::take_last), expected);
        let mut w = ResponseWriter::begin("7", "EnumerateInstanceNames");
        assert!(w.take_last().ends_with("<IRETURNVALUE>"));
        assert_eq!(w.pending_len(), 0);
    }

    #[test]
    fn each_object_gets_the_namespace_path_of_its_own_host_and_namespace() {
        let path = |host: Option<&str>, ns: Option<&str>, name: &str| {
            let mut p = ObjectPath::parse(&format!("T_Share.Name=\"{name}\"")).unwrap();
            p.host = host.map(str::to_owned);
            p.namespace = ns.map(str::to_owned);
            p
        };
        let paths = [
            path(None, None, "a"),
            path(None, None, "b"),
            path(Some("other"), Some("root/b"), "c"),
            path(Some("other"), Some("root/b"), "d"),
            path(Some("."), Some("root/a"), "e"),
            path(None, Some("root/a&b"), "f"),
        ];
        let mut w = ResponseWriter::begin("1", "ExecQuery").with_origin("here", "root/a");
        for p in &paths {
            w.object_path(p);
        }
        let text = w.end();
        let mut expected = String::new();
        for p in &paths {
            expected.push_str("<OBJECTPATH>");
            write_instancepath(&mut expected, p, "here", "root/a");
            expected.push_str("</OBJECTPATH>");
        }
        assert!(text.contains(&expected), "{text}");
        assert_eq!(text.matches("<HOST>other</HOST>").count(), 2);
        assert_eq!(text.matches("<HOST>here</HOST>").count(), 4);
    }

    #[test]
    fn escaping_agrees_with_the_character_rules() {
        // Every character class the byte scan distinguishes, in runs.
        let samples = [
            "plain",
            "",
            "a&b<c>d\"e'f",
            "tab\there\nnl\rcr",
            "\u{1}\u{1f}\u{7f}",
            "é漢字\u{FFFD}\u{FFFE}\u{FFFF}\u{10000}x",
            "\u{EFBF}\u{FFEF}",
        ];
        for s in samples {
            for attribute in [false, true] {
                let mut fast = String::new();
                escape_runs(&mut fast, s, attribute);
                let mut slow = String::new();
                for c in s.chars() {
                    match c {
                        '&' => slow.push_str("&amp;"),
                        '<' => slow.push_str("&lt;"),
                        '>' => slow.push_str("&gt;"),
                        '\r' => slow.push_str("&#13;"),
                        '"' if attribute => slow.push_str("&quot;"),
                        '\t' if attribute => slow.push_str("&#9;"),
                        '\n' if attribute => slow.push_str("&#10;"),
                        c if !crate::tree::is_xml_char(c) => slow.push('\u{FFFD}'),
                        c => slow.push(c),
                    }
                }
                assert_eq!(fast, slow, "{s:?} attribute={attribute}");
            }
        }
    }

    #[test]
    fn escapes_text_and_attributes() {
        let mut s = String::new();
        escape_text(&mut s, "a<b>&c\r\n\u{0}\t\"");
        assert_eq!(s, "a&lt;b&gt;&amp;c&#13;\n\u{FFFD}\t\"");
        let mut s = String::new();
        escape_attr(&mut s, "\"x\"\n\t\u{FFFF}'");
        assert_eq!(s, "&quot;x&quot;&#10;&#9;\u{FFFD}'");
    }

    #[test]
    fn value_text_is_written_as_value_text_says() {
        use openwmi_cim::CimDateTime;
        let values = [
            Value::String("a<b>&\"c\"\r".into()),
            Value::Boolean(true),
            Value::Boolean(false),
            Value::UInt8(255),
            Value::SInt8(-128),
            Value::UInt16(65535),
            Value::SInt16(-32768),
            Value::UInt32(u32::MAX),
            Value::SInt32(i32::MIN),
            Value::UInt64(u64::MAX),
            Value::SInt64(i64::MIN),
            Value::Real32(1.5),
            Value::Real64(-2.25e100),
            Value::Char16('<'),
            Value::DateTime("20261121160000.000000+060".parse::<CimDateTime>().unwrap()),
        ];
        for v in values {
            let mut direct = String::new();
            write_value_text(&mut direct, &v);
            let mut built = String::new();
            escape_text(&mut built, &value_text(&v));
            assert_eq!(direct, built, "{v:?}");
        }
    }

    #[test]
    fn encoded_instances_are_written_as_the_instances_themselves() {
        use openwmi_cim::{CimType, InstanceProperty, Name, TypeDecl};
        let inst = Instance {
            class_name: Name::new("T_Share"),
            properties: vec![
                InstanceProperty {
                    name: Name::new("Name"),
                    ty: TypeDecl::scalar(CimType::String),
                    value: Some(Value::String("a&b".into())),
                },
                InstanceProperty {
                    name: Name::new("Max"),
                    ty: TypeDecl::scalar(CimType::UInt32),
                    value: None,
                },
            ],
        };
        let path = ObjectPath::parse(r#"//host.example/root/test:T_Share.Name="a&b""#).unwrap();
        let e = EncodedInstance::new(&path, &inst);
        let writer = || ResponseWriter::begin("7", "ExecQuery").with_origin("me", "root/test");
        let (mut plain, mut encoded) = (writer(), writer());
        plain.instance(&inst);
        encoded.instance_encoded(&e);
        plain.instance_name(&path);
        encoded.instance_name_encoded(&e);
        plain.named_instance(&path, &inst);
        encoded.named_instance_encoded(&e);
        plain.object_with_path(&path, &inst);
        encoded.object_with_path_encoded(&path, &e);
        let relative = ObjectPath::parse(r#"T_Share.Name="a&b""#).unwrap();
        plain.object_with_path(&relative, &inst);
        encoded.object_with_path_encoded(&relative, &e);
        assert_eq!(plain.end(), encoded.end());
    }

    #[test]
    fn writes_an_error_response() {
        let r = error_response(
            "7",
            "GetClass",
            true,
            &CimError::invalid_class("no class \"X\""),
        );
        assert!(r.contains(
            "<IMETHODRESPONSE NAME=\"GetClass\"><ERROR CODE=\"5\" DESCRIPTION=\"no class &quot;X&quot;\"/></IMETHODRESPONSE>"
        ));
        assert!(r.contains("<MESSAGE ID=\"7\" PROTOCOLVERSION=\"1.0\">"));
    }
}
