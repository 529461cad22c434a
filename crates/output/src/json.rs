//! `json`: one array of objects, written as rows come (`[` at the start,
//! `,` between rows, `]` at the end), one object per line.
//!
//! Each object holds `__CLASS`, `__SERVER`, `__NAMESPACE` (WMI spelling,
//! `root\cimv2`) and `__PATH` (WMI form), null when the row has no path,
//! then the properties in class order. A multi-host tag comes first as
//! `Host`. Integers of every size are JSON numbers; reals are numbers too,
//! except NaN and the infinities, which JSON cannot hold and are written as
//! the strings `"NaN"`, `"INF"`, `"-INF"`; datetimes are the CIM string;
//! references the path string; NULL is null.

use crate::{Formatter, Row};
use openwmi_cim::{wmi_namespace, Value};
use serde_json::{Number, Value as JsonValue};
use std::io::{self, Write};

#[derive(Debug, Default)]
pub(crate) struct JsonArray {
    rows: usize,
}

impl Formatter for JsonArray {
    fn begin(&mut self, out: &mut dyn Write) -> io::Result<()> {
        out.write_all(b"[")
    }

    fn row(&mut self, out: &mut dyn Write, row: &Row<'_>) -> io::Result<()> {
        out.write_all(if self.rows == 0 { b"\n" } else { b",\n" })?;
        self.rows += 1;
        let mut fields: Vec<(&str, JsonValue)> =
            Vec::with_capacity(row.instance.properties.len() + 5);
        if let Some(h) = row.host {
            fields.push(("Host", JsonValue::String(h.to_owned())));
        }
        fields.push((
            "__CLASS",
            JsonValue::String(row.instance.class_name.as_str().to_owned()),
        ));
        let path = row.path;
        fields.push((
            "__SERVER",
            path.and_then(|p| p.host.clone())
                .map_or(JsonValue::Null, JsonValue::String),
        ));
        fields.push((
            "__NAMESPACE",
            path.and_then(|p| p.namespace.as_deref())
                .map_or(JsonValue::Null, |n| JsonValue::String(wmi_namespace(n))),
        ));
        fields.push((
            "__PATH",
            path.map_or(JsonValue::Null, |p| JsonValue::String(p.to_string())),
        ));
        for p in &row.instance.properties {
            fields.push((
                p.name.as_str(),
                p.value.as_ref().map_or(JsonValue::Null, to_json),
            ));
        }
        // Written by hand so that the properties keep their class order.
        out.write_all(b"{")?;
        for (i, (k, v)) in fields.iter().enumerate() {
            if i > 0 {
                out.write_all(b",")?;
            }
            serde_json::to_writer(&mut *out, k)?;
            out.write_all(b":")?;
            serde_json::to_writer(&mut *out, v)?;
        }
        out.write_all(b"}")
    }

    fn end(&mut self, out: &mut dyn Write) -> io::Result<()> {
        out.write_all(if self.rows == 0 { b"]\n" } else { b"\n]\n" })
    }
}

pub(crate) fn to_json(v: &Value) -> JsonValue {
    match v {
        Value::Boolean(b) => JsonValue::Bool(*b),
        Value::String(s) => JsonValue::String(s.to_string()),
        Value::Char16(c) => JsonValue::String(c.to_string()),
        Value::UInt8(n) => JsonValue::from(*n),
        Value::SInt8(n) => JsonValue::from(*n),
        Value::UInt16(n) => JsonValue::from(*n),
        Value::SInt16(n) => JsonValue::from(*n),
        Value::UInt32(n) => JsonValue::from(*n),
        Value::SInt32(n) => JsonValue::from(*n),
        Value::UInt64(n) => JsonValue::from(*n),
        Value::SInt64(n) => JsonValue::from(*n),
        // Through the shortest decimal text, so 0.1f32 stays 0.1.
        Value::Real32(r) => real(format!("{r:?}").parse().unwrap_or(f64::from(*r))),
        Value::Real64(r) => real(*r),
        Value::DateTime(d) => JsonValue::String(d.to_string()),
        Value::Reference(p) => JsonValue::String(p.to_string()),
        Value::Array(items) => JsonValue::Array(items.iter().map(to_json).collect()),
    }
}

fn real(r: f64) -> JsonValue {
    match Number::from_f64(r) {
        Some(n) => JsonValue::Number(n),
        None if r.is_nan() => JsonValue::String("NaN".to_owned()),
        None if r > 0.0 => JsonValue::String("INF".to_owned()),
        None => JsonValue::String("-INF".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::*;
    use crate::{Format, Options, Row};
    use openwmi_cim::{CimDateTime, CimType, Value};
    use serde_json::json;

    fn parse(text: &str) -> serde_json::Value {
        serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
    }

    #[test]
    fn empty_result_is_an_empty_array() {
        assert_eq!(render(Format::Json, &Options::default(), &[]), "[]\n");
    }

    #[test]
    fn objects_with_system_properties_and_typed_values() {
        let a = share("públic \"q\"", "C:\\x", None);
        let pa = share_path("SRV", "públic \"q\"");
        let dt: CimDateTime = "20240102030405.123456+060".parse().unwrap();
        let b = instance(
            "C",
            vec![
                prop("Big", CimType::UInt64, Some(Value::UInt64(u64::MAX))),
                prop("Neg", CimType::SInt64, Some(Value::SInt64(i64::MIN))),
                prop("F", CimType::Real32, Some(Value::Real32(0.1))),
                prop(
                    "Inf",
                    CimType::Real64,
                    Some(Value::Real64(f64::NEG_INFINITY)),
                ),
                prop("When", CimType::DateTime, Some(Value::DateTime(dt))),
                prop(
                    "Ref",
                    CimType::Reference,
                    Some(Value::from(share_path("H", "s"))),
                ),
                array_prop("Arr", CimType::String, Some(vec!["a".into(), "b".into()])),
                array_prop("NullArr", CimType::UInt8, None),
                prop("Ch", CimType::Char16, Some(Value::Char16('é'))),
            ],
        );
        let text = render(
            Format::Json,
            &Options::default(),
            &[
                Row {
                    instance: &a,
                    path: Some(&pa),
                    host: None,
                },
                row_on(&b, "h2"),
            ],
        );
        assert_eq!(text.lines().count(), 4, "{text}");
        let v = parse(&text);
        assert_eq!(
            v[0],
            json!({
                "__CLASS": "Win32_Share",
                "__SERVER": "SRV",
                "__NAMESPACE": "root\\cimv2",
                "__PATH": "\\\\SRV\\root\\cimv2:Win32_Share.Name=\"públic \\\"q\\\"\"",
                "Caption": "Share públic \"q\"",
                "AllowMaximum": true,
                "MaximumAllowed": null,
                "Name": "públic \"q\"",
                "Path": "C:\\x",
                "Type": 0
            })
        );
        assert_eq!(v[1]["Host"], "h2");
        assert_eq!(v[1]["__PATH"], serde_json::Value::Null);
        assert_eq!(v[1]["Big"].as_u64(), Some(u64::MAX));
        assert_eq!(v[1]["Neg"].as_i64(), Some(i64::MIN));
        assert_eq!(v[1]["F"].as_f64(), Some(0.1));
        assert_eq!(v[1]["Inf"], "-INF");
        assert_eq!(v[1]["When"], "20240102030405.123456+060");
        assert_eq!(v[1]["Ref"], "\\\\H\\root\\cimv2:Win32_Share.Name=\"s\"");
        assert_eq!(v[1]["Arr"], json!(["a", "b"]));
        assert_eq!(v[1]["NullArr"], serde_json::Value::Null);
        assert_eq!(v[1]["Ch"], "é");
        // Property order is class order, not sorted.
        let first = text.lines().nth(1).unwrap();
        assert!(first.find("\"Caption\"").unwrap() < first.find("\"AllowMaximum\"").unwrap());
        assert!(text
            .lines()
            .nth(2)
            .unwrap()
            .starts_with("{\"Host\":\"h2\",\"__CLASS\""));
    }

    #[test]
    fn control_characters_are_escaped() {
        let a = share("a\u{1}b\nc\td", "x", None);
        let text = render(Format::Json, &Options::default(), &[row(&a)]);
        assert_eq!(parse(&text)[0]["Name"], "a\u{1}b\nc\td");
        assert_eq!(text.lines().count(), 3);
    }
}
