//! WMI system properties (`__CLASS`, `__PATH`, ...), derived from an
//! instance's path and class on demand rather than stored.

use crate::manager::InstanceWithPath;
use openwmi_cim::{
    wmi_namespace, CimType, Class, Instance, InstanceProperty, Keys, Name, Namespace, ObjectPath,
    TypeDecl, Value,
};
use std::sync::Arc;

/// The system properties of an instance, in the order WMI lists them.
pub fn system_properties(
    ns: &Namespace,
    iwp: &InstanceWithPath,
) -> Vec<(&'static str, Option<Value>)> {
    let class = iwp.instance.class_name.as_str();
    let derivation = ns.derivation(class);
    let superclass = derivation
        .first()
        .map(|n| Value::String(n.to_string().into()));
    let dynasty = derivation
        .last()
        .map(|n| n.to_string())
        .unwrap_or_else(|| class.to_owned());
    let rel = ObjectPath {
        host: None,
        namespace: None,
        ..(*iwp.path).clone()
    };
    vec![
        ("__GENUS", Some(Value::SInt32(2))),
        ("__CLASS", Some(Value::String(class.to_owned().into()))),
        ("__SUPERCLASS", superclass),
        ("__DYNASTY", Some(Value::String(dynasty.into()))),
        ("__RELPATH", Some(Value::String(rel.to_string().into()))),
        (
            "__PROPERTY_COUNT",
            Some(Value::SInt32(
                ns.class(class)
                    .map_or(iwp.instance.properties.len(), |c| c.properties.len())
                    as i32,
            )),
        ),
        (
            "__DERIVATION",
            Some(Value::Array(
                derivation
                    .iter()
                    .map(|n| Value::String(n.to_string().into()))
                    .collect(),
            )),
        ),
        (
            "__SERVER",
            iwp.path.host.clone().map(|s| Value::String(s.into())),
        ),
        (
            "__NAMESPACE",
            iwp.path
                .namespace
                .as_deref()
                .map(|n| Value::String(wmi_namespace(n).into())),
        ),
        ("__PATH", Some(Value::String(iwp.path.to_string().into()))),
    ]
}

/// The system properties of a class object, as WMI gives them to a class
/// (`__GENUS` 1, `__RELPATH` the class name, `__PATH` the class's full
/// path), in the order WMI lists them. Schema queries test their WHERE
/// clause against these.
pub fn class_system_properties(
    ns: &Namespace,
    class: &Class,
    host: &str,
) -> Vec<(&'static str, Option<Value>)> {
    let name = class.name.as_str();
    let derivation = ns.derivation(name);
    let string = |s: &str| Some(Value::String(s.to_owned().into()));
    let path = ObjectPath {
        host: Some(host.to_owned()),
        namespace: Some(ns.name().to_owned()),
        class: class.name.clone(),
        keys: Keys::Class,
    };
    vec![
        ("__GENUS", Some(Value::SInt32(1))),
        ("__CLASS", string(name)),
        (
            "__SUPERCLASS",
            derivation.first().and_then(|n| string(n.as_str())),
        ),
        (
            "__DYNASTY",
            string(derivation.last().map_or(name, |n| n.as_str())),
        ),
        ("__RELPATH", string(name)),
        (
            "__PROPERTY_COUNT",
            Some(Value::SInt32(class.properties.len() as i32)),
        ),
        (
            "__DERIVATION",
            Some(Value::Array(
                derivation
                    .iter()
                    .map(|n| Value::String(n.to_string().into()))
                    .collect(),
            )),
        ),
        ("__SERVER", string(host)),
        ("__NAMESPACE", string(&wmi_namespace(ns.name()))),
        ("__PATH", string(&path.to_string())),
    ]
}

/// A stand-in instance of a class object carrying its system properties,
/// for testing a schema query's WHERE clause (`__this ISA` reads the class
/// name).
pub(crate) fn class_probe(ns: &Namespace, class: &Class, host: &str) -> Instance {
    Instance {
        class_name: class.name.clone(),
        properties: class_system_properties(ns, class, host)
            .into_iter()
            .map(|(name, value)| InstanceProperty {
                name: Name::new(name),
                ty: system_type(name),
                value,
            })
            .collect(),
    }
}

fn system_type(name: &str) -> TypeDecl {
    if name.eq_ignore_ascii_case("__GENUS") || name.eq_ignore_ascii_case("__PROPERTY_COUNT") {
        TypeDecl::scalar(CimType::SInt32)
    } else if name.eq_ignore_ascii_case("__DERIVATION") {
        TypeDecl::array(CimType::String)
    } else {
        TypeDecl::scalar(CimType::String)
    }
}

/// `class` with the named system properties declared, so that a WHERE
/// clause testing them compiles with their types.
pub(crate) fn with_system_properties(
    class: &openwmi_cim::Class,
    wanted: &[Name],
) -> openwmi_cim::Class {
    let mut c = class.clone();
    for w in wanted {
        if c.property(w.as_str()).is_none() {
            c.properties.push(openwmi_cim::PropertyDecl::new(
                w.clone(),
                system_type(w.as_str()),
            ));
        }
    }
    c
}

/// Appends the named system properties to the instance (for `SELECT __PATH`
/// and for WHERE clauses that test them).
pub(crate) fn add_system_properties(ns: &Namespace, iwp: &mut InstanceWithPath, wanted: &[Name]) {
    let values = system_properties(ns, iwp);
    for w in wanted {
        if let Some((name, value)) = values.iter().find(|(n, _)| w.is(n)) {
            Arc::make_mut(&mut iwp.instance)
                .properties
                .push(InstanceProperty {
                    name: Name::new(name),
                    ty: system_type(name),
                    value: value.clone(),
                });
        }
    }
}
