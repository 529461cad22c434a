//! Instances and endpoint references in DSP0230's WS-CIM encoding.
//!
//! An instance is `<p:Class xmlns:p="<resource URI>">` with one element per
//! property in class order; NULL is an empty element with
//! `xsi:nil="true"`, an array one element per value (an empty array writes
//! nothing), a datetime `cim:Datetime` (xs:dateTime) or `cim:Interval`
//! (xs:duration), or `cim:CIM_DateTime` when fields are starred, a
//! reference an endpoint reference (address, ResourceURI, SelectorSet with
//! `__cimnamespace` and the keys). Booleans are `true`/`false`, reals
//! `NaN`/`INF`/`-INF` where not finite. The prefixes `a`, `w`, `cim` and
//! `xsi` are the envelope's.
//!
//! What only the class says ([`Style`]): a property with the
//! `EmbeddedInstance` or `EmbeddedObject` qualifier holds an instance (in
//! the value model, the CIM-XML INSTANCE text CIM-XML carries), written as
//! DSP0230 7.2.5.2 nests it: `<p:Prop xmlns:p1="<its class URI>"
//! xsi:type="p1:<Class>_Type">` with its properties as `p1:` children; an
//! `OctetString` uint8[] is one element, `xsi:type="cim:cimBase64Binary"`,
//! holding the octets after the 4-byte length DSP0004 puts first (as OMI
//! writes it). A NULL array is written once with `xsi:nil`; when the
//! client asked for `UsePreciseArrays` (Windows' CIM cmdlets do) it also
//! carries `msftwinrm:IsNullArray="true"`, as OMI marks it, so that the
//! client tells it from an empty array (which writes nothing).

use crate::ns;
use crate::resource::{UriForm, NAMESPACE_SELECTOR};
use crate::xml;
use openwmi_cim::{
    ArrayKind, CimDateTime, CimType, Class, Instance, Keys, ObjectPath, Qualifier, Value,
};
use std::fmt::Write;

/// What the encoding takes beyond the instance: its class (for the
/// qualifiers that change how a property is written) and the client's
/// `UsePreciseArrays`.
#[derive(Clone, Copy, Default)]
pub struct Style<'a> {
    pub class: Option<&'a Class>,
    pub precise_arrays: bool,
}

/// How a property is written beyond its type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Special {
    Plain,
    /// An embedded instance or object (a string holding INSTANCE text).
    Embedded,
    /// An `OctetString` uint8[]: base64.
    Octets,
}

impl Special {
    /// What a property's or parameter's qualifiers make of it.
    pub fn of(qualifiers: &[Qualifier], base: CimType, array: ArrayKind) -> Special {
        let has = |n: &str| qualifiers.iter().any(|q| q.name.is(n));
        if base == CimType::String && (has("EmbeddedInstance") || has("EmbeddedObject")) {
            Special::Embedded
        } else if base == CimType::UInt8 && array.is_array() && has("OctetString") {
            Special::Octets
        } else {
            Special::Plain
        }
    }
}

/// Closes an instance's start tag (its name written) with the namespace of
/// its class's elements under `prefix` and its type, DSP0230's
/// ` xmlns:p="<class URI>" xsi:type="p:<Class>_Type">`.
pub(crate) fn typed_as(out: &mut String, prefix: &str, class_uri: &str, class: &str) {
    out.push_str(" xmlns:");
    out.push_str(prefix);
    out.push_str("=\"");
    xml::attr(out, class_uri);
    out.push_str("\" xsi:type=\"");
    out.push_str(prefix);
    out.push(':');
    out.push_str(class);
    out.push_str("_Type\">");
}

/// Most levels of instances embedded in instances written as elements;
/// deeper ones stay text.
const MAX_EMBEDDING: usize = 4;

/// Writes an instance as the element of its class.
#[cfg(test)]
pub fn instance(out: &mut String, inst: &Instance, namespace: &str, form: UriForm) {
    styled_instance(out, inst, namespace, form, Style::default());
}

/// [`instance`], with what the class and the request add.
pub fn styled_instance(
    out: &mut String,
    inst: &Instance,
    namespace: &str,
    form: UriForm,
    style: Style<'_>,
) {
    let class = inst.class_name.as_str();
    out.push_str("<p:");
    out.push_str(class);
    typed_as(out, "p", &form.class_uri(namespace, class), class);
    properties(out, "p", inst, namespace, form, style, 0);
    out.push_str("</p:");
    out.push_str(class);
    out.push('>');
}

fn properties(
    out: &mut String,
    prefix: &str,
    inst: &Instance,
    namespace: &str,
    form: UriForm,
    style: Style<'_>,
    depth: usize,
) {
    for p in &inst.properties {
        let special = match style.class.and_then(|c| c.property(p.name.as_str())) {
            Some(d) => Special::of(&d.qualifiers, d.ty.base, d.ty.array),
            None => Special::Plain,
        };
        let field = Field {
            prefix,
            name: p.name.as_str(),
            array: p.ty.array.is_array(),
            special,
        };
        field.write(out, p.value.as_ref(), namespace, form, style, depth);
    }
}

/// Writes `<p:name>` for a value (NULL as `xsi:nil`, an array as the
/// element repeated): a property, or a method's output parameter.
pub fn named(out: &mut String, name: &str, v: Option<&Value>, namespace: &str, form: UriForm) {
    let field = Field {
        prefix: "p",
        name,
        array: matches!(v, Some(Value::Array(_))),
        special: Special::Plain,
    };
    field.write(out, v, namespace, form, Style::default(), 0);
}

/// [`named`] for a declared output parameter: its qualifiers and type
/// decide the encoding as a property's do.
#[allow(clippy::too_many_arguments)]
pub fn declared(
    out: &mut String,
    name: &str,
    v: Option<&Value>,
    special: Special,
    array: bool,
    namespace: &str,
    form: UriForm,
    style: Style<'_>,
) {
    let field = Field {
        prefix: "p",
        name,
        array,
        special,
    };
    field.write(out, v, namespace, form, style, 0);
}

/// One property's (or parameter's) elements.
struct Field<'a> {
    prefix: &'a str,
    name: &'a str,
    array: bool,
    special: Special,
}

impl Field<'_> {
    fn open(&self, out: &mut String) {
        out.push('<');
        out.push_str(self.prefix);
        out.push(':');
        out.push_str(self.name);
    }

    fn close(&self, out: &mut String) {
        out.push_str("</");
        out.push_str(self.prefix);
        out.push(':');
        out.push_str(self.name);
        out.push('>');
    }

    fn write(
        &self,
        out: &mut String,
        v: Option<&Value>,
        namespace: &str,
        form: UriForm,
        style: Style<'_>,
        depth: usize,
    ) {
        match v {
            None => {
                self.open(out);
                if self.array && style.precise_arrays {
                    out.push_str(" xmlns:msftwinrm=\"");
                    out.push_str(ns::WSMV);
                    out.push_str("\" msftwinrm:IsNullArray=\"true\"");
                }
                out.push_str(" xsi:nil=\"true\"/>");
            }
            Some(Value::Array(values)) if self.special == Special::Octets => {
                let bytes: Option<Vec<u8>> = values
                    .iter()
                    .map(|v| match v {
                        Value::UInt8(b) => Some(*b),
                        _ => None,
                    })
                    .collect();
                match bytes {
                    Some(b) => self.octets(out, &b),
                    None => self.values(out, values, namespace, form, style, depth),
                }
            }
            Some(Value::Array(values)) => self.values(out, values, namespace, form, style, depth),
            Some(v) => self.one(out, v, namespace, form, style, depth),
        }
    }

    fn values(
        &self,
        out: &mut String,
        values: &[Value],
        namespace: &str,
        form: UriForm,
        style: Style<'_>,
        depth: usize,
    ) {
        for v in values {
            self.one(out, v, namespace, form, style, depth);
        }
    }

    fn one(
        &self,
        out: &mut String,
        v: &Value,
        namespace: &str,
        form: UriForm,
        style: Style<'_>,
        depth: usize,
    ) {
        if let (Special::Embedded, Value::String(text)) = (self.special, v) {
            if depth < MAX_EMBEDDING && self.embedded(out, text, namespace, form, style, depth) {
                return;
            }
        }
        self.open(out);
        out.push('>');
        value(out, v, namespace, form);
        self.close(out);
    }

    /// The octets after DSP0004's 4-byte length (when it is one), base64.
    fn octets(&self, out: &mut String, bytes: &[u8]) {
        use base64::Engine as _;
        let data = match bytes {
            [a, b, c, d, rest @ ..]
                if u32::from_be_bytes([*a, *b, *c, *d]) as usize == bytes.len() =>
            {
                rest
            }
            _ => bytes,
        };
        self.open(out);
        out.push_str(" xsi:type=\"cim:cimBase64Binary\">");
        base64::engine::general_purpose::STANDARD.encode_string(data, out);
        self.close(out);
    }

    /// An embedded instance as an element; false when the text is not an
    /// INSTANCE (it is then written as text).
    fn embedded(
        &self,
        out: &mut String,
        text: &str,
        namespace: &str,
        form: UriForm,
        style: Style<'_>,
        depth: usize,
    ) -> bool {
        if !text.trim_start().starts_with("<INSTANCE") {
            return false;
        }
        let limits = openwmi_cimxml::Limits::request();
        let Ok(inner) = openwmi_cimxml::decode_embedded_instance(text, &limits) else {
            return false;
        };
        let class = inner.class_name.as_str();
        let prefix = format!("p{}", depth + 1);
        self.open(out);
        typed_as(out, &prefix, &form.class_uri(namespace, class), class);
        // The embedded class's own qualifiers are not at hand: its
        // properties are written by their types.
        let inner_style = Style {
            class: None,
            ..style
        };
        properties(
            out,
            &prefix,
            &inner,
            namespace,
            form,
            inner_style,
            depth + 1,
        );
        self.close(out);
        true
    }
}

/// A scalar value's content.
fn value(out: &mut String, v: &Value, namespace: &str, form: UriForm) {
    match v {
        Value::Boolean(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::String(s) => xml::text(out, s),
        Value::Char16(c) => xml::text(out, c.encode_utf8(&mut [0; 4])),
        Value::UInt8(n) => push(out, n),
        Value::SInt8(n) => push(out, n),
        Value::UInt16(n) => push(out, n),
        Value::SInt16(n) => push(out, n),
        Value::UInt32(n) => push(out, n),
        Value::SInt32(n) => push(out, n),
        Value::UInt64(n) => push(out, n),
        Value::SInt64(n) => push(out, n),
        Value::Real32(f) => real(out, f64::from(*f)),
        Value::Real64(f) => real(out, *f),
        Value::DateTime(d) => datetime(out, d),
        Value::Reference(path) => epr_content(out, path, namespace, form),
        // Arrays are expanded by the caller; an array in an array has no
        // encoding, its values go in a row.
        Value::Array(values) => {
            for v in values {
                value(out, v, namespace, form);
            }
        }
    }
}

fn push(out: &mut String, n: impl std::fmt::Display) {
    let _ = write!(out, "{n}");
}

fn real(out: &mut String, f: f64) {
    if f.is_nan() {
        out.push_str("NaN");
    } else if f.is_infinite() {
        out.push_str(if f > 0.0 { "INF" } else { "-INF" });
    } else {
        push(out, f);
    }
}

/// A CIM datetime as DSP0230 writes it.
pub fn datetime(out: &mut String, d: &CimDateTime) {
    let whole = (|| {
        let micros = d.microseconds()?;
        let (h, m, s) = (d.hour()?, d.minute()?, d.second()?);
        if d.is_interval() {
            let mut t = format!("P{}DT{h}H{m}M{s}", d.days()?);
            if micros > 0 {
                let _ = write!(t, ".{micros:06}");
            }
            t.push('S');
            return Some(("cim:Interval", t));
        }
        let (y, mo, day) = (d.year()?, d.month()?, d.day()?);
        let offset = d.utc_offset_minutes()?;
        let sign = if offset < 0 { '-' } else { '+' };
        let off = offset.unsigned_abs();
        Some((
            "cim:Datetime",
            format!(
                "{y:04}-{mo:02}-{day:02}T{h:02}:{m:02}:{s:02}.{micros:06}{sign}{:02}:{:02}",
                off / 60,
                off % 60
            ),
        ))
    })();
    let (tag, text) = whole.unwrap_or(("cim:CIM_DateTime", d.as_str().to_owned()));
    xml::element(out, tag, &text);
}

/// A key's value as selector text: strings as they are, numbers and
/// booleans in decimal and `true`/`false`, datetimes in CIM form.
fn key_text(out: &mut String, v: &Value) {
    match v {
        Value::DateTime(d) => out.push_str(d.as_str()),
        Value::Real32(_) | Value::Real64(_) => value(out, v, "", UriForm::Dmtf),
        other => value(out, other, "", UriForm::Dmtf),
    }
}

/// The address, ResourceURI and SelectorSet of the object at `path`
/// (inside an `a:EndpointReference` or a reference property's element).
pub fn epr_content(out: &mut String, path: &ObjectPath, namespace: &str, form: UriForm) {
    let ns = path.namespace.as_deref().unwrap_or(namespace);
    out.push_str("<a:Address>");
    out.push_str(ns::ANONYMOUS);
    out.push_str("</a:Address><a:ReferenceParameters><w:ResourceURI>");
    xml::text(out, &form.class_uri(ns, path.class.as_str()));
    out.push_str("</w:ResourceURI><w:SelectorSet><w:Selector Name=\"");
    out.push_str(NAMESPACE_SELECTOR);
    out.push_str("\">");
    xml::text(out, ns);
    out.push_str("</w:Selector>");
    if let Keys::Bindings(bindings) = &path.keys {
        for kb in bindings {
            out.push_str("<w:Selector Name=\"");
            xml::attr(out, kb.name.as_str());
            out.push_str("\">");
            match kb.as_path() {
                Some(target) if matches!(kb.value, Value::Reference(_)) => {
                    out.push_str("<a:EndpointReference>");
                    epr_content(out, &target, ns, form);
                    out.push_str("</a:EndpointReference>");
                }
                _ => key_text(out, &kb.value),
            }
            out.push_str("</w:Selector>");
        }
    }
    out.push_str("</w:SelectorSet></a:ReferenceParameters>");
}

/// `<a:EndpointReference>` of the object at `path`.
pub fn epr(out: &mut String, path: &ObjectPath, namespace: &str, form: UriForm) {
    out.push_str("<a:EndpointReference>");
    epr_content(out, path, namespace, form);
    out.push_str("</a:EndpointReference>");
}

#[cfg(test)]
mod tests {
    use super::*;
    use openwmi_cim::{CimType, InstanceProperty, KeyBinding, Name, TypeDecl};

    fn prop(name: &str, ty: CimType, value: Option<Value>) -> InstanceProperty {
        InstanceProperty {
            name: Name::new(name),
            ty: TypeDecl::scalar(ty),
            value,
        }
    }

    #[test]
    fn an_instance_in_dsp0230_form() {
        let target = ObjectPath::instance("Test_Share", vec![KeyBinding::new("Name", "a&b")])
            .with_namespace("root/test");
        let inst = Instance {
            class_name: Name::new("Test_Conn"),
            properties: vec![
                prop("Name", CimType::String, Some(Value::String("x<y".into()))),
                prop("Gone", CimType::String, None),
                prop(
                    "Sizes",
                    CimType::UInt32,
                    Some(Value::Array(vec![Value::UInt32(1), Value::UInt32(2)])),
                ),
                prop("On", CimType::Boolean, Some(Value::Boolean(true))),
                prop("R", CimType::Real64, Some(Value::Real64(f64::NEG_INFINITY))),
                prop(
                    "When",
                    CimType::DateTime,
                    Some(Value::DateTime(
                        "20140403144550.468750+480".parse().unwrap(),
                    )),
                ),
                prop(
                    "Idle",
                    CimType::DateTime,
                    Some(Value::DateTime(
                        "00000001020304.000005:000".parse().unwrap(),
                    )),
                ),
                prop(
                    "Share",
                    CimType::Reference,
                    Some(Value::Reference(Box::new(target))),
                ),
            ],
        };
        let mut out = String::new();
        instance(&mut out, &inst, "root/test", UriForm::Wmi);
        let uri = "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/test";
        assert_eq!(
            out,
            format!(
                "<p:Test_Conn xmlns:p=\"{uri}/Test_Conn\" xsi:type=\"p:Test_Conn_Type\">\
                 <p:Name>x&lt;y</p:Name><p:Gone xsi:nil=\"true\"/>\
                 <p:Sizes>1</p:Sizes><p:Sizes>2</p:Sizes><p:On>true</p:On><p:R>-INF</p:R>\
                 <p:When><cim:Datetime>2014-04-03T14:45:50.468750+08:00</cim:Datetime></p:When>\
                 <p:Idle><cim:Interval>P1DT2H3M4.000005S</cim:Interval></p:Idle>\
                 <p:Share><a:Address>{anon}</a:Address><a:ReferenceParameters>\
                 <w:ResourceURI>{uri}/Test_Share</w:ResourceURI><w:SelectorSet>\
                 <w:Selector Name=\"__cimnamespace\">root/test</w:Selector>\
                 <w:Selector Name=\"Name\">a&amp;b</w:Selector></w:SelectorSet>\
                 </a:ReferenceParameters></p:Share></p:Test_Conn>",
                anon = ns::ANONYMOUS
            )
        );
    }

    #[test]
    fn embedded_instances_octets_and_precise_null_arrays() {
        let class = openwmi_mof::repository_from_str(
            "root/test",
            "t.mof",
            "Qualifier OctetString : boolean = false, Scope(property);\n\
             Qualifier EmbeddedInstance : string = null, Scope(property);\n\
             class T_Blob { [OctetString] uint8 Data[]; [EmbeddedInstance(\"T_In\")] string In; \
             uint32 Tags[]; string Plain; };",
        )
        .unwrap()
        .namespace("root/test")
        .unwrap()
        .class("T_Blob")
        .unwrap();
        let inner = "<INSTANCE CLASSNAME=\"T_In\"><PROPERTY NAME=\"Label\" TYPE=\"string\">\
                     <VALUE>x&lt;y</VALUE></PROPERTY></INSTANCE>";
        let arr = |ty| TypeDecl::array(ty);
        let inst = Instance {
            class_name: Name::new("T_Blob"),
            properties: vec![
                InstanceProperty {
                    name: Name::new("Data"),
                    ty: arr(CimType::UInt8),
                    value: Some(Value::Array(
                        [0u8, 0, 0, 7, 1, 2, 255].map(Value::UInt8).to_vec(),
                    )),
                },
                prop("In", CimType::String, Some(Value::String(inner.into()))),
                InstanceProperty {
                    name: Name::new("Tags"),
                    ty: arr(CimType::UInt32),
                    value: None,
                },
                prop("Plain", CimType::String, Some(Value::String(inner.into()))),
            ],
        };
        let mut out = String::new();
        let style = Style {
            class: Some(&class),
            precise_arrays: true,
        };
        styled_instance(&mut out, &inst, "root/test", UriForm::Dmtf, style);
        let dmtf = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2";
        assert_eq!(
            out,
            format!(
                "<p:T_Blob xmlns:p=\"{dmtf}/T_Blob\" xsi:type=\"p:T_Blob_Type\">\
                 <p:Data xsi:type=\"cim:cimBase64Binary\">AQL/</p:Data>\
                 <p:In xmlns:p1=\"{dmtf}/T_In\" xsi:type=\"p1:T_In_Type\">\
                 <p1:Label>x&lt;y</p1:Label></p:In>\
                 <p:Tags xmlns:msftwinrm=\"{}\" msftwinrm:IsNullArray=\"true\" xsi:nil=\"true\"/>\
                 <p:Plain>{}</p:Plain></p:T_Blob>",
                ns::WSMV,
                inner
                    .replace('&', "&amp;")
                    .replace('<', "&lt;")
                    .replace('>', "&gt;")
            )
        );
        // Without the class and the option: plain values, a plain NULL.
        let mut plain = String::new();
        instance(&mut plain, &inst, "root/test", UriForm::Dmtf);
        assert!(
            plain.contains("<p:Data>0</p:Data><p:Data>0</p:Data>"),
            "{plain}"
        );
        assert!(plain.contains("<p:Tags xsi:nil=\"true\"/>"), "{plain}");
    }

    #[test]
    fn starred_datetimes_keep_their_cim_form() {
        let mut out = String::new();
        datetime(&mut out, &"2014040314****.******+000".parse().unwrap());
        assert_eq!(
            out,
            "<cim:CIM_DateTime>2014040314****.******+000</cim:CIM_DateTime>"
        );
    }
}
