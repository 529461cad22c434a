//! Whatever the strings hold, json stays valid JSON, csv reads back to the
//! same fields, and every format writes one row per instance.

use openwmi_cim::{CimType, Instance, InstanceProperty, Name, TypeDecl, Value};
use openwmi_output::{write_rows, Format, Options, Row};
use proptest::prelude::*;

fn instance(values: &[Option<String>]) -> Instance {
    Instance {
        class_name: Name::new("Test_Class"),
        properties: values
            .iter()
            .enumerate()
            .map(|(i, v)| InstanceProperty {
                name: Name::new(&format!("P{i}")),
                ty: TypeDecl::scalar(CimType::String),
                value: v.clone().map(|s| Value::String(s.into())),
            })
            .collect(),
    }
}

fn render(format: Format, instances: &[Instance], host: Option<&str>) -> String {
    let mut out = Vec::new();
    let rows = instances.iter().map(|i| Row {
        instance: i,
        path: None,
        host,
    });
    write_rows(format, &Options::default(), rows, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

/// A minimal RFC 4180 reader: records of fields, `None` for an empty
/// unquoted field.
fn read_csv(text: &str) -> Vec<Vec<Option<String>>> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        let field = if chars.peek() == Some(&'"') {
            chars.next();
            let mut s = String::new();
            loop {
                match chars.next() {
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        s.push('"');
                    }
                    Some('"') => break,
                    Some(c) => s.push(c),
                    None => panic!("unterminated quote"),
                }
            }
            Some(s)
        } else {
            let mut s = String::new();
            while let Some(&c) = chars.peek() {
                if c == ',' || c == '\r' {
                    break;
                }
                s.push(c);
                chars.next();
            }
            (!s.is_empty()).then_some(s)
        };
        record.push(field);
        match chars.next() {
            Some(',') => {}
            Some('\r') => {
                assert_eq!(chars.next(), Some('\n'));
                records.push(std::mem::take(&mut record));
                if chars.peek().is_none() {
                    return records;
                }
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}

fn values() -> impl Strategy<Value = Vec<Option<String>>> {
    proptest::collection::vec(proptest::option::of("\\PC{0,8}|[,\"\r\n ]{0,4}"), 1..4)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn json_is_valid_and_keeps_values(rows in proptest::collection::vec(values(), 0..3)) {
        let instances: Vec<Instance> = rows.iter().map(|r| instance(r)).collect();
        let text = render(Format::Json, &instances, Some("h\"ost"));
        let parsed: serde_json::Value = serde_json::from_str(&text).unwrap();
        let arr = parsed.as_array().unwrap();
        prop_assert_eq!(arr.len(), rows.len());
        for (obj, r) in arr.iter().zip(&rows) {
            prop_assert_eq!(&obj["Host"], "h\"ost");
            for (i, v) in r.iter().enumerate() {
                let got = &obj[format!("P{i}")];
                match v {
                    Some(s) => prop_assert_eq!(got.as_str(), Some(s.as_str())),
                    None => prop_assert!(got.is_null()),
                }
            }
        }
    }

    #[test]
    fn csv_reads_back(rows in proptest::collection::vec(values(), 1..3)) {
        // One class per test so that there is one header.
        let width = rows[0].len();
        let rows: Vec<Vec<Option<String>>> = rows
            .into_iter()
            .map(|mut r| { r.resize(width, None); r })
            .collect();
        let instances: Vec<Instance> = rows.iter().map(|r| instance(r)).collect();
        let records = read_csv(&render(Format::Csv, &instances, None));
        prop_assert_eq!(records.len(), rows.len() + 1);
        for (rec, r) in records[1..].iter().zip(&rows) {
            prop_assert_eq!(rec, r);
        }
    }

    #[test]
    fn list_mof_wmic_write_every_row(rows in proptest::collection::vec(values(), 0..3)) {
        let instances: Vec<Instance> = rows.iter().map(|r| instance(r)).collect();
        let mof = render(Format::Mof, &instances, None);
        prop_assert_eq!(mof.matches("instance of Test_Class\n").count(), rows.len());
        let wmic = render(Format::Wmic, &instances, None);
        prop_assert_eq!(wmic.matches("CLASS: Test_Class\n").count(), usize::from(!rows.is_empty()));
        let table = render(Format::Table, &instances, None);
        prop_assert_eq!(table.is_empty(), rows.is_empty());
        let _ = render(Format::List, &instances, None);
    }
}
