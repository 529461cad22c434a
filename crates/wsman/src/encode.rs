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

use crate::ns;
use crate::resource::{UriForm, NAMESPACE_SELECTOR};
use crate::xml;
use openwmi_cim::{CimDateTime, Instance, Keys, ObjectPath, Value};
use std::fmt::Write;

/// Writes an instance as the element of its class.
pub fn instance(out: &mut String, inst: &Instance, namespace: &str, form: UriForm) {
    let class = inst.class_name.as_str();
    out.push_str("<p:");
    out.push_str(class);
    out.push_str(" xmlns:p=\"");
    xml::attr(out, &form.class_uri(namespace, class));
    out.push_str("\" xsi:type=\"p:");
    out.push_str(class);
    out.push_str("_Type\">");
    for p in &inst.properties {
        named(out, p.name.as_str(), p.value.as_ref(), namespace, form);
    }
    out.push_str("</p:");
    out.push_str(class);
    out.push('>');
}

/// Writes `<p:name>` for a value (NULL as `xsi:nil`, an array as the
/// element repeated): a property, or a method's output parameter.
pub fn named(out: &mut String, name: &str, v: Option<&Value>, namespace: &str, form: UriForm) {
    match v {
        None => {
            out.push_str("<p:");
            out.push_str(name);
            out.push_str(" xsi:nil=\"true\"/>");
        }
        Some(Value::Array(values)) => {
            for v in values {
                property(out, name, v, namespace, form);
            }
        }
        Some(v) => property(out, name, v, namespace, form),
    }
}

fn property(out: &mut String, name: &str, v: &Value, namespace: &str, form: UriForm) {
    out.push_str("<p:");
    out.push_str(name);
    out.push('>');
    value(out, v, namespace, form);
    out.push_str("</p:");
    out.push_str(name);
    out.push('>');
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
    fn starred_datetimes_keep_their_cim_form() {
        let mut out = String::new();
        datetime(&mut out, &"2014040314****.******+000".parse().unwrap());
        assert_eq!(
            out,
            "<cim:CIM_DateTime>2014040314****.******+000</cim:CIM_DateTime>"
        );
    }
}
