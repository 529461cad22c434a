//! Reading CIM-XML elements (DSP0201 2.4) from the bounded tree into the
//! openwmi_cim model. Shared by the request and the response decoders, which
//! turn an [`Invalid`] into the error their side reports.

use crate::tree::Element;
use openwmi_cim::{
    ArrayKind, CimDateTime, CimType, Class, Flavor, Instance, InstanceProperty, KeyBinding, Keys,
    MethodDecl, Name, ObjectPath, ParameterDecl, PropertyDecl, Qualifier, QualifierDecl, Scope,
    TypeDecl, Value,
};

/// A piece of the document that does not mean what CIM-XML says it must.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Invalid {
    pub offset: usize,
    pub message: String,
}

pub(crate) type R<T> = Result<T, Invalid>;

pub(crate) fn invalid<T>(el: Element, message: impl Into<String>) -> R<T> {
    Err(Invalid {
        offset: el.offset,
        message: message.into(),
    })
}

pub(crate) fn expect(el: Element, name: &str) -> R<()> {
    if el.name == name {
        Ok(())
    } else {
        invalid(el, format!("expected <{name}>, found <{}>", el.name))
    }
}

pub(crate) fn req_attr<'d>(el: Element<'d>, name: &str) -> R<&'d str> {
    match el.attr(name) {
        Some(v) => Ok(v),
        None => invalid(el, format!("<{}> lacks the {name} attribute", el.name)),
    }
}

fn req_name(el: Element, attr: &str) -> R<Name> {
    let v = req_attr(el, attr)?;
    if v.is_empty() {
        return invalid(el, format!("<{}> has an empty {attr}", el.name));
    }
    Ok(Name::new(v))
}

fn bool_attr(el: Element, name: &str, default: bool) -> R<bool> {
    match el.attr(name) {
        None => Ok(default),
        Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
        Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
        Some(v) => invalid(el, format!("{name}={v:?} is neither true nor false")),
    }
}

/// The TYPE attribute; `reference` is accepted as well (PARAMVALUE uses it).
fn type_attr(el: Element, name: &str) -> R<Option<CimType>> {
    match el.attr(name) {
        None => Ok(None),
        Some(v) => match CimType::from_keyword(v) {
            Some(t) => Ok(Some(t)),
            None => invalid(el, format!("unknown CIM type {v:?}")),
        },
    }
}

fn req_type(el: Element) -> R<CimType> {
    match type_attr(el, "TYPE")? {
        Some(t) => Ok(t),
        None => invalid(el, format!("<{}> lacks the TYPE attribute", el.name)),
    }
}

/// Parses the text of a VALUE (or KEYVALUE) as a value of `ty`.
pub(crate) fn parse_value(text: &str, ty: CimType) -> Result<Value, String> {
    let t = text.trim_matches(|c| matches!(c, ' ' | '\t' | '\n' | '\r'));
    let bad = || format!("{t:?} is not a valid {ty} value");
    match ty {
        CimType::String => Ok(Value::String(text.to_owned().into())),
        CimType::Char16 => {
            let mut it = text.chars();
            match (it.next(), it.next()) {
                (Some(c), None) => Ok(Value::Char16(c)),
                _ => Err(bad()),
            }
        }
        CimType::Boolean => {
            if t.eq_ignore_ascii_case("true") {
                Ok(Value::Boolean(true))
            } else if t.eq_ignore_ascii_case("false") {
                Ok(Value::Boolean(false))
            } else {
                Err(bad())
            }
        }
        CimType::Real32 | CimType::Real64 => {
            let v = parse_real(t).ok_or_else(bad)?;
            Ok(if ty == CimType::Real32 {
                Value::Real32(v as f32)
            } else {
                Value::Real64(v)
            })
        }
        CimType::DateTime => t
            .parse::<CimDateTime>()
            .map(Value::DateTime)
            .map_err(|e| e.to_string()),
        CimType::Reference => ObjectPath::parse(t)
            .map(|p| Value::Reference(Box::new(p)))
            .map_err(|e| e.to_string()),
        _ => {
            let v = parse_integer(t).ok_or_else(bad)?;
            Value::integer(ty, v).ok_or_else(|| format!("{t} is out of range for {ty}"))
        }
    }
}

/// Decimal (DSP0201 allows a sign), or C-style hexadecimal `0x1F`.
fn parse_integer(t: &str) -> Option<i128> {
    let (neg, digits) = match t.as_bytes().first()? {
        b'-' => (true, &t[1..]),
        b'+' => (false, &t[1..]),
        _ => (false, t),
    };
    if digits.len() > 40 || digits.is_empty() {
        return None;
    }
    let v = if let Some(hex) = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        if hex.is_empty() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        i128::from_str_radix(hex, 16).ok()?
    } else {
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse::<i128>().ok()?
    };
    Some(if neg { -v } else { v })
}

fn parse_real(t: &str) -> Option<f64> {
    match t {
        "INF" | "+INF" => return Some(f64::INFINITY),
        "-INF" => return Some(f64::NEG_INFINITY),
        "NaN" => return Some(f64::NAN),
        _ => {}
    }
    // Rust also reads "inf"/"nan"/"infinity"; DSP0201 does not.
    if !t
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.' | b'e' | b'E'))
    {
        return None;
    }
    t.parse::<f64>().ok()
}

pub(crate) fn read_value(el: Element, ty: CimType) -> R<Value> {
    expect(el, "VALUE")?;
    if el.children().len() != 0 {
        return invalid(el, "<VALUE> holds elements");
    }
    parse_value(&el.text, ty).or_else(|m| invalid(el, m))
}

/// A VALUE.ARRAY. DSP0201 allows VALUE.NULL elements; the openwmi model has
/// no NULL array elements, so they are dropped.
pub(crate) fn read_value_array(el: Element, ty: CimType) -> R<Value> {
    expect(el, "VALUE.ARRAY")?;
    let mut items = Vec::with_capacity(el.children().len());
    for c in el.children() {
        match c.name {
            "VALUE" => items.push(read_value(c, ty)?),
            "VALUE.NULL" => {}
            other => return invalid(c, format!("<{other}> inside <VALUE.ARRAY>")),
        }
    }
    Ok(Value::Array(items))
}

/// A VALUE.REFARRAY (method parameters only).
pub(crate) fn read_value_refarray(el: Element) -> R<Value> {
    let mut items = Vec::new();
    for c in el.children() {
        match c.name {
            "VALUE.REFERENCE" => items.push(Value::Reference(Box::new(read_value_reference(c)?))),
            "VALUE.NULL" => {}
            other => return invalid(c, format!("<{other}> inside <VALUE.REFARRAY>")),
        }
    }
    Ok(Value::Array(items))
}

/// The value of an element that may hold VALUE, VALUE.ARRAY or VALUE.REFERENCE
/// (or nothing: NULL), typed by `ty` when known.
fn read_optional_value(el: Element, ty: CimType) -> R<Option<Value>> {
    let mut found = None;
    for c in el.children() {
        let v = match c.name {
            "VALUE" => read_value(c, ty)?,
            "VALUE.ARRAY" => read_value_array(c, ty)?,
            "VALUE.REFERENCE" => Value::Reference(Box::new(read_value_reference(c)?)),
            "VALUE.NULL" => continue,
            _ => continue,
        };
        if found.is_some() {
            return invalid(c, format!("<{}> holds more than one value", el.name));
        }
        found = Some(v);
    }
    Ok(found)
}

pub(crate) fn read_localnamespacepath(el: Element) -> R<String> {
    expect(el, "LOCALNAMESPACEPATH")?;
    // One block for the usual namespace ("root/cimv2"), not one per segment.
    let mut path = String::with_capacity(32);
    for c in el.children() {
        expect(c, "NAMESPACE")?;
        let n = req_attr(c, "NAME")?;
        // Some clients send one NAMESPACE NAME="root/cimv2" instead of two.
        for seg in n.split('/').filter(|s| !s.is_empty()) {
            if !path.is_empty() {
                path.push('/');
            }
            path.push_str(seg);
        }
    }
    if path.is_empty() {
        return invalid(el, "<LOCALNAMESPACEPATH> names no namespace");
    }
    Ok(path)
}

fn read_namespacepath(el: Element) -> R<(String, String)> {
    expect(el, "NAMESPACEPATH")?;
    let host = el
        .child("HOST")
        .ok_or_else(|| Invalid {
            offset: el.offset,
            message: "<NAMESPACEPATH> lacks <HOST>".into(),
        })?
        .text
        .trim()
        .to_owned();
    let lns = el.child("LOCALNAMESPACEPATH").ok_or_else(|| Invalid {
        offset: el.offset,
        message: "<NAMESPACEPATH> lacks <LOCALNAMESPACEPATH>".into(),
    })?;
    Ok((host, read_localnamespacepath(lns)?))
}

fn only_child<'d>(el: Element<'d>) -> R<Element<'d>> {
    match el.exactly() {
        Some([c]) => Ok(c),
        None => invalid(
            el,
            format!(
                "<{}> must hold exactly one element, holds {}",
                el.name,
                el.children().len()
            ),
        ),
    }
}

fn two_children<'d>(el: Element<'d>) -> R<(Element<'d>, Element<'d>)> {
    match el.exactly() {
        Some([a, b]) => Ok((a, b)),
        None => invalid(
            el,
            format!(
                "<{}> must hold two elements, holds {}",
                el.name,
                el.children().len()
            ),
        ),
    }
}

pub(crate) fn read_classname(el: Element) -> R<Name> {
    expect(el, "CLASSNAME")?;
    req_name(el, "NAME")
}

/// KEYVALUE: typed by TYPE when present, else by VALUETYPE (numbers without
/// TYPE read as sint64/uint64/real64).
fn read_keyvalue(el: Element) -> R<Value> {
    expect(el, "KEYVALUE")?;
    if let Some(ty) = type_attr(el, "TYPE")? {
        return parse_value(&el.text, ty).or_else(|m| invalid(el, m));
    }
    let vt = el.attr("VALUETYPE").unwrap_or("string");
    let t = el.text.trim();
    let parsed = if vt.eq_ignore_ascii_case("string") {
        Ok(Value::String(el.text.clone().into()))
    } else if vt.eq_ignore_ascii_case("boolean") {
        parse_value(t, CimType::Boolean)
    } else if vt.eq_ignore_ascii_case("numeric") {
        if t.starts_with('-') {
            parse_value(t, CimType::SInt64)
        } else {
            parse_value(t, CimType::UInt64)
        }
        .or_else(|_| parse_value(t, CimType::Real64))
    } else {
        Err(format!("unknown VALUETYPE {vt:?}"))
    };
    parsed.or_else(|m| invalid(el, m))
}

pub(crate) fn read_instancename(el: Element) -> R<ObjectPath> {
    expect(el, "INSTANCENAME")?;
    let class = req_name(el, "CLASSNAME")?;
    let mut bindings = Vec::new();
    for c in el.children() {
        match c.name {
            "KEYBINDING" => {
                let name = req_name(c, "NAME")?;
                let v = only_child(c)?;
                let value = match v.name {
                    "KEYVALUE" => read_keyvalue(v)?,
                    "VALUE.REFERENCE" => Value::Reference(Box::new(read_value_reference(v)?)),
                    other => return invalid(v, format!("<{other}> inside <KEYBINDING>")),
                };
                bindings.push(KeyBinding { name, value });
            }
            // The unnamed single-key forms.
            "KEYVALUE" => bindings.push(KeyBinding {
                name: Name::new(""),
                value: read_keyvalue(c)?,
            }),
            "VALUE.REFERENCE" => bindings.push(KeyBinding {
                name: Name::new(""),
                value: Value::Reference(Box::new(read_value_reference(c)?)),
            }),
            other => return invalid(c, format!("<{other}> inside <INSTANCENAME>")),
        }
    }
    let keys = if bindings.is_empty() {
        Keys::Singleton
    } else {
        Keys::Bindings(bindings)
    };
    Ok(ObjectPath {
        host: None,
        namespace: None,
        class,
        keys,
    })
}

pub(crate) fn read_instancepath(el: Element) -> R<ObjectPath> {
    expect(el, "INSTANCEPATH")?;
    let (nsp, inm) = two_children(el)?;
    let (host, ns) = read_namespacepath(nsp)?;
    let mut p = read_instancename(inm)?;
    p.host = Some(host);
    p.namespace = Some(ns);
    Ok(p)
}

fn read_localinstancepath(el: Element) -> R<ObjectPath> {
    let (lns, inm) = two_children(el)?;
    let ns = read_localnamespacepath(lns)?;
    let mut p = read_instancename(inm)?;
    p.namespace = Some(ns);
    Ok(p)
}

fn class_path(class: Name) -> ObjectPath {
    ObjectPath {
        host: None,
        namespace: None,
        class,
        keys: Keys::Class,
    }
}

pub(crate) fn read_classpath(el: Element) -> R<ObjectPath> {
    expect(el, "CLASSPATH")?;
    let (nsp, cn) = two_children(el)?;
    let (host, ns) = read_namespacepath(nsp)?;
    let mut p = class_path(read_classname(cn)?);
    p.host = Some(host);
    p.namespace = Some(ns);
    Ok(p)
}

pub(crate) fn read_localclasspath(el: Element) -> R<ObjectPath> {
    let (lns, cn) = two_children(el)?;
    let ns = read_localnamespacepath(lns)?;
    let mut p = class_path(read_classname(cn)?);
    p.namespace = Some(ns);
    Ok(p)
}

/// Any of the six path forms VALUE.REFERENCE may hold.
pub(crate) fn read_path_any(el: Element) -> R<ObjectPath> {
    match el.name {
        "CLASSPATH" => read_classpath(el),
        "LOCALCLASSPATH" => read_localclasspath(el),
        "CLASSNAME" => Ok(class_path(read_classname(el)?)),
        "INSTANCEPATH" => read_instancepath(el),
        "LOCALINSTANCEPATH" => read_localinstancepath(el),
        "INSTANCENAME" => read_instancename(el),
        other => invalid(el, format!("<{other}> is not an object path")),
    }
}

pub(crate) fn read_value_reference(el: Element) -> R<ObjectPath> {
    expect(el, "VALUE.REFERENCE")?;
    read_path_any(only_child(el)?)
}

pub(crate) fn read_objectpath(el: Element) -> R<ObjectPath> {
    expect(el, "OBJECTPATH")?;
    let c = only_child(el)?;
    match c.name {
        "INSTANCEPATH" => read_instancepath(c),
        "CLASSPATH" => read_classpath(c),
        other => invalid(c, format!("<{other}> inside <OBJECTPATH>")),
    }
}

fn read_flavor(el: Element) -> R<Flavor> {
    Ok(Flavor {
        overridable: bool_attr(el, "OVERRIDABLE", true)?,
        to_subclass: bool_attr(el, "TOSUBCLASS", true)?,
        translatable: bool_attr(el, "TRANSLATABLE", false)?,
    })
}

pub(crate) fn read_qualifier(el: Element) -> R<Qualifier> {
    expect(el, "QUALIFIER")?;
    let ty = req_type(el)?;
    Ok(Qualifier {
        name: req_name(el, "NAME")?,
        value: read_optional_value(el, ty)?,
        flavor: read_flavor(el)?,
        propagated: bool_attr(el, "PROPAGATED", false)?,
    })
}

fn read_qualifiers(el: Element) -> R<Vec<Qualifier>> {
    el.children()
        .filter(|c| c.name == "QUALIFIER")
        .map(read_qualifier)
        .collect()
}

fn array_kind(el: Element) -> R<ArrayKind> {
    match el.attr("ARRAYSIZE") {
        None => Ok(ArrayKind::Variable),
        Some(n) => match n.trim().parse::<u32>() {
            Ok(n) => Ok(ArrayKind::Fixed(n)),
            Err(_) => invalid(el, format!("ARRAYSIZE {n:?} is not a number")),
        },
    }
}

/// PROPERTY, PROPERTY.ARRAY or PROPERTY.REFERENCE, as a class declares it.
fn read_property_decl(el: Element) -> R<PropertyDecl> {
    let name = req_name(el, "NAME")?;
    let (ty, default) = match el.name {
        "PROPERTY" => {
            let t = req_type(el)?;
            (TypeDecl::scalar(t), read_optional_value(el, t)?)
        }
        "PROPERTY.ARRAY" => {
            let t = req_type(el)?;
            let decl = TypeDecl {
                base: t,
                array: array_kind(el)?,
                ref_class: None,
            };
            (decl, read_optional_value(el, t)?)
        }
        "PROPERTY.REFERENCE" => {
            let decl = TypeDecl {
                base: CimType::Reference,
                array: ArrayKind::Scalar,
                ref_class: el.attr("REFERENCECLASS").map(Name::new),
            };
            (decl, read_optional_value(el, CimType::Reference)?)
        }
        other => return invalid(el, format!("<{other}> is not a property")),
    };
    Ok(PropertyDecl {
        name,
        ty,
        default,
        qualifiers: read_qualifiers(el)?,
        class_origin: Name::new(el.attr("CLASSORIGIN").unwrap_or("")),
        propagated: bool_attr(el, "PROPAGATED", false)?,
    })
}

fn is_property(el: Element) -> bool {
    matches!(
        el.name,
        "PROPERTY" | "PROPERTY.ARRAY" | "PROPERTY.REFERENCE"
    )
}

pub(crate) fn read_instance(el: Element) -> R<Instance> {
    expect(el, "INSTANCE")?;
    let class_name = req_name(el, "CLASSNAME")?;
    let mut properties = Vec::new();
    for c in el.children() {
        if is_property(c) {
            let p = read_property_decl(c)?;
            properties.push(InstanceProperty {
                name: p.name,
                ty: p.ty,
                value: p.default,
            });
        } else if c.name != "QUALIFIER" {
            return invalid(c, format!("<{}> inside <INSTANCE>", c.name));
        }
    }
    Ok(Instance {
        class_name,
        properties,
    })
}

fn read_parameter(el: Element) -> R<ParameterDecl> {
    let name = req_name(el, "NAME")?;
    let ty = match el.name {
        "PARAMETER" => TypeDecl::scalar(req_type(el)?),
        "PARAMETER.ARRAY" => TypeDecl {
            base: req_type(el)?,
            array: array_kind(el)?,
            ref_class: None,
        },
        "PARAMETER.REFERENCE" => TypeDecl {
            base: CimType::Reference,
            array: ArrayKind::Scalar,
            ref_class: el.attr("REFERENCECLASS").map(Name::new),
        },
        "PARAMETER.REFARRAY" => TypeDecl {
            base: CimType::Reference,
            array: array_kind(el)?,
            ref_class: el.attr("REFERENCECLASS").map(Name::new),
        },
        other => return invalid(el, format!("<{other}> is not a parameter")),
    };
    Ok(ParameterDecl {
        name,
        ty,
        qualifiers: read_qualifiers(el)?,
    })
}

fn read_method(el: Element) -> R<MethodDecl> {
    let mut parameters = Vec::new();
    for c in el.children() {
        if c.name.starts_with("PARAMETER") {
            parameters.push(read_parameter(c)?);
        } else if c.name != "QUALIFIER" {
            return invalid(c, format!("<{}> inside <METHOD>", c.name));
        }
    }
    Ok(MethodDecl {
        name: req_name(el, "NAME")?,
        // TYPE is optional on METHOD; a void method has none (read as uint32,
        // the usual return type, as the model has no void).
        return_type: type_attr(el, "TYPE")?.unwrap_or(CimType::UInt32),
        parameters,
        qualifiers: read_qualifiers(el)?,
        class_origin: Name::new(el.attr("CLASSORIGIN").unwrap_or("")),
        propagated: bool_attr(el, "PROPAGATED", false)?,
    })
}

pub(crate) fn read_class(el: Element) -> R<Class> {
    expect(el, "CLASS")?;
    let mut class = Class::new(req_name(el, "NAME")?, el.attr("SUPERCLASS").map(Name::new));
    for c in el.children() {
        match c.name {
            "QUALIFIER" => class.qualifiers.push(read_qualifier(c)?),
            "METHOD" => class.methods.push(read_method(c)?),
            _ if is_property(c) => class.properties.push(read_property_decl(c)?),
            other => return invalid(c, format!("<{other}> inside <CLASS>")),
        }
    }
    Ok(class)
}

pub(crate) fn read_qualifier_decl(el: Element) -> R<QualifierDecl> {
    expect(el, "QUALIFIER.DECLARATION")?;
    let ty = req_type(el)?;
    let is_array = bool_attr(el, "ISARRAY", false)?;
    let array = if is_array || el.attr("ARRAYSIZE").is_some() {
        array_kind(el)?
    } else {
        ArrayKind::Scalar
    };
    let mut scope = Scope(0);
    if let Some(s) = el.child("SCOPE") {
        for (bit, word) in Scope::NAMES {
            if bool_attr(s, &word.to_ascii_uppercase(), false)? {
                scope = scope.union(bit);
            }
        }
    }
    Ok(QualifierDecl {
        name: req_name(el, "NAME")?,
        ty,
        array,
        default: read_optional_value(el, ty)?,
        scope,
        flavor: read_flavor(el)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_values_of_every_type() {
        assert_eq!(
            parse_value(" TRUE ", CimType::Boolean),
            Ok(Value::Boolean(true))
        );
        assert_eq!(
            parse_value("false", CimType::Boolean),
            Ok(Value::Boolean(false))
        );
        assert_eq!(parse_value("-12", CimType::SInt8), Ok(Value::SInt8(-12)));
        assert_eq!(parse_value("0x1F", CimType::UInt16), Ok(Value::UInt16(31)));
        assert!(parse_value("256", CimType::UInt8).is_err());
        assert!(parse_value("-1", CimType::UInt32).is_err());
        assert!(parse_value("1.5", CimType::UInt32).is_err());
        assert_eq!(
            parse_value("1.5e3", CimType::Real64),
            Ok(Value::Real64(1500.0))
        );
        assert_eq!(
            parse_value("-INF", CimType::Real32),
            Ok(Value::Real32(f32::NEG_INFINITY))
        );
        assert!(parse_value("inf", CimType::Real64).is_err());
        assert_eq!(
            parse_value(" a b ", CimType::String),
            Ok(Value::String(" a b ".into()))
        );
        assert_eq!(parse_value("x", CimType::Char16), Ok(Value::Char16('x')));
        assert!(parse_value("xy", CimType::Char16).is_err());
        assert!(parse_value("20231231235959.000000+000", CimType::DateTime).is_ok());
        assert!(parse_value("2023", CimType::DateTime).is_err());
        assert_eq!(
            parse_value("18446744073709551615", CimType::UInt64),
            Ok(Value::UInt64(u64::MAX))
        );
    }
}
