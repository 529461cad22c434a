//! A class as JSON, for `openwmi class -o json`.

use openwmi_cim::{Class, Qualifier, Value};
use serde_json::{json, Map, Value as Json};

/// A CIM value as JSON: numbers as numbers, datetimes and references as strings.
pub fn value_to_json(v: &Value) -> Json {
    match v {
        Value::Boolean(b) => Json::Bool(*b),
        Value::String(s) => Json::String(s.to_string()),
        Value::Char16(c) => Json::String(c.to_string()),
        Value::UInt8(x) => json!(x),
        Value::SInt8(x) => json!(x),
        Value::UInt16(x) => json!(x),
        Value::SInt16(x) => json!(x),
        Value::UInt32(x) => json!(x),
        Value::SInt32(x) => json!(x),
        Value::UInt64(x) => json!(x),
        Value::SInt64(x) => json!(x),
        Value::Real32(x) => {
            serde_json::Number::from_f64(*x as f64).map_or(Json::Null, Json::Number)
        }
        Value::Real64(x) => serde_json::Number::from_f64(*x).map_or(Json::Null, Json::Number),
        Value::DateTime(d) => Json::String(d.to_string()),
        Value::Reference(p) => Json::String(p.to_string()),
        Value::Array(items) => Json::Array(items.iter().map(value_to_json).collect()),
    }
}

fn qualifiers_json(qs: &[Qualifier]) -> Json {
    let mut m = Map::new();
    for q in qs {
        m.insert(
            q.name.to_string(),
            q.value.as_ref().map_or(Json::Null, value_to_json),
        );
    }
    Json::Object(m)
}

pub fn class_to_json(c: &Class) -> String {
    let properties: Vec<Json> = c
        .properties
        .iter()
        .map(|p| {
            json!({
                "name": p.name.to_string(),
                "type": p.ty.base.as_str(),
                "array": p.ty.is_array(),
                "reference_class": p.ty.ref_class.as_ref().map(|r| r.to_string()),
                "default": p.default.as_ref().map_or(Json::Null, value_to_json),
                "qualifiers": qualifiers_json(&p.qualifiers),
                "class_origin": p.class_origin.to_string(),
                "inherited": p.propagated,
            })
        })
        .collect();
    let methods: Vec<Json> = c
        .methods
        .iter()
        .map(|m| {
            json!({
                "name": m.name.to_string(),
                "return_type": m.return_type.as_str(),
                "parameters": m.parameters.iter().map(|p| json!({
                    "name": p.name.to_string(),
                    "type": p.ty.base.as_str(),
                    "array": p.ty.is_array(),
                    "reference_class": p.ty.ref_class.as_ref().map(|r| r.to_string()),
                    "qualifiers": qualifiers_json(&p.qualifiers),
                })).collect::<Vec<_>>(),
                "qualifiers": qualifiers_json(&m.qualifiers),
                "class_origin": m.class_origin.to_string(),
                "inherited": m.propagated,
            })
        })
        .collect();
    let doc = json!({
        "name": c.name.to_string(),
        "superclass": c.superclass.as_ref().map(|s| s.to_string()),
        "qualifiers": qualifiers_json(&c.qualifiers),
        "properties": properties,
        "methods": methods,
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}
