//! `wmic`: the output of the Linux `wmic` client (Samba 4 WMI, as packaged
//! by Zenoss and others), which monitoring plugins parse:
//!
//! ```text
//! CLASS: Win32_Share
//! AllowMaximum|Caption|Name|Path|Type
//! True|Share public|public|/srv/public|0
//! ```
//!
//! A `CLASS:` line and a header whenever the class changes; the header
//! lists the properties sorted by name without regard to case (the order
//! the DCOM class object carries them in); values are printed as that
//! client's C code prints them: booleans `True`/`False`, reals with six
//! decimals (`%f`), arrays `(a,b)`. A NULL is printed as the client prints
//! the zeroed value it decodes: `(null)` for strings, datetimes and
//! references, `0` for integers, `0.000000` for reals, `False` for
//! booleans, and `NULL` for arrays. Values are not escaped: a delimiter
//! inside a value is printed as is, as the client does (choose a delimiter
//! with `--delimiter` that the data does not hold).

use crate::{Formatter, Row};
use openwmi_cim::name::cmp_ignore_case;
use openwmi_cim::{CimType, InstanceProperty, Name, TypeDecl, Value};
use std::io::{self, Write};

#[derive(Debug)]
pub(crate) struct Wmic {
    delimiter: String,
    class: Option<(Name, bool)>,
}

impl Wmic {
    pub(crate) fn new(delimiter: &str) -> Wmic {
        Wmic {
            delimiter: delimiter.to_owned(),
            class: None,
        }
    }
}

impl Formatter for Wmic {
    fn begin(&mut self, _out: &mut dyn Write) -> io::Result<()> {
        Ok(())
    }

    fn row(&mut self, out: &mut dyn Write, row: &Row<'_>) -> io::Result<()> {
        let mut props: Vec<&InstanceProperty> = row.instance.properties.iter().collect();
        props.sort_by(|a, b| cmp_ignore_case(a.name.as_str(), b.name.as_str()));
        let mut line = String::new();
        let key = (row.instance.class_name.clone(), row.host.is_some());
        if self.class.as_ref() != Some(&key) {
            line.push_str("CLASS: ");
            line.push_str(row.instance.class_name.as_str());
            line.push('\n');
            let mut names: Vec<&str> = Vec::new();
            if row.host.is_some() {
                names.push("Host");
            }
            names.extend(props.iter().map(|p| p.name.as_str()));
            line.push_str(&names.join(&self.delimiter));
            line.push('\n');
            self.class = Some(key);
        }
        let mut first = true;
        if let Some(h) = row.host {
            line.push_str(h);
            first = false;
        }
        for p in props {
            if !first {
                line.push_str(&self.delimiter);
            }
            first = false;
            line.push_str(&value_text(&p.ty, p.value.as_ref()));
        }
        line.push('\n');
        out.write_all(line.as_bytes())
    }

    fn end(&mut self, _out: &mut dyn Write) -> io::Result<()> {
        Ok(())
    }
}

fn value_text(ty: &TypeDecl, value: Option<&Value>) -> String {
    match value {
        None if ty.is_array() => "NULL".to_owned(),
        None => null_text(ty.base).to_owned(),
        Some(Value::Array(items)) => {
            let mut s = String::from("(");
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    s.push(',');
                }
                s.push_str(&scalar_text(v));
            }
            s.push(')');
            s
        }
        Some(v) => scalar_text(v),
    }
}

fn null_text(ty: CimType) -> &'static str {
    match ty {
        t if t.is_integer() => "0",
        CimType::Real32 | CimType::Real64 => "0.000000",
        CimType::Boolean => "False",
        _ => "(null)",
    }
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::Boolean(b) => (if *b { "True" } else { "False" }).to_owned(),
        Value::Real32(r) => c_float(f64::from(*r)),
        Value::Real64(r) => c_float(*r),
        other => other.to_string(),
    }
}

/// C's `%f`.
fn c_float(r: f64) -> String {
    if r.is_nan() {
        "nan".to_owned()
    } else if r.is_infinite() {
        (if r > 0.0 { "inf" } else { "-inf" }).to_owned()
    } else {
        format!("{r:.6}")
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::*;
    use crate::{Format, Options};
    use openwmi_cim::{CimType, Value};

    #[test]
    fn class_line_sorted_header_and_values() {
        let a = share("public", "/srv/public", None);
        let b = share("ünï", "/srv/x|y", Some(10));
        let text = render(Format::Wmic, &Options::default(), &[row(&a), row(&b)]);
        assert_eq!(
            text,
            "CLASS: Win32_Share\n\
             AllowMaximum|Caption|MaximumAllowed|Name|Path|Type\n\
             True|Share public|0|public|/srv/public|0\n\
             False|Share ünï|10|ünï|/srv/x|y|0\n"
        );
    }

    #[test]
    fn nulls_arrays_reals_and_case_insensitive_sort() {
        let i = instance(
            "C",
            vec![
                prop("zeta", CimType::String, None),
                prop("Alpha", CimType::UInt64, None),
                prop("beta", CimType::Boolean, None),
                prop("Gamma", CimType::Real32, None),
                array_prop("delta", CimType::UInt16, None),
                array_prop("Eps", CimType::String, Some(vec!["a".into(), "b".into()])),
                prop("f", CimType::Real64, Some(Value::Real64(2.5))),
                prop("H", CimType::DateTime, None),
                array_prop("i", CimType::Boolean, Some(vec![Value::Boolean(true)])),
                array_prop("J", CimType::UInt8, Some(vec![])),
            ],
        );
        let text = render(
            Format::Wmic,
            &Options {
                delimiter: ";".into(),
                ..Options::default()
            },
            &[row(&i)],
        );
        assert_eq!(
            text,
            "CLASS: C\n\
             Alpha;beta;delta;Eps;f;Gamma;H;i;J;zeta\n\
             0;False;NULL;(a,b);2.500000;0.000000;(null);(True);();(null)\n"
        );
    }

    #[test]
    fn class_changes_repeat_the_header_and_host_leads() {
        let a = instance("A", vec![prop("x", CimType::UInt8, Some(Value::UInt8(1)))]);
        let b = instance("B", vec![prop("y", CimType::UInt8, Some(Value::UInt8(2)))]);
        let text = render(
            Format::Wmic,
            &Options {
                delimiter: "@@".into(),
                ..Options::default()
            },
            &[row_on(&a, "h1"), row_on(&a, "h2"), row_on(&b, "h1")],
        );
        assert_eq!(
            text,
            "CLASS: A\nHost@@x\nh1@@1\nh2@@1\nCLASS: B\nHost@@y\nh1@@2\n"
        );
    }

    #[test]
    fn empty_result_is_empty() {
        assert_eq!(render(Format::Wmic, &Options::default(), &[]), "");
    }
}
