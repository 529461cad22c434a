//! `csv`: RFC 4180. A header row of property names (after a `Node` column,
//! Windows wmic's name for it, when rows carry a host tag), then one record
//! per instance, CRLF line ends. A field is quoted when it holds a comma,
//! quote, CR or LF; an empty string is `""` so that it differs from NULL,
//! which is an empty field. When the class (or the presence of the host
//! tag) changes mid-stream a new header row starts a new table.

use crate::text::plain;
use crate::{Formatter, Row};
use openwmi_cim::Name;
use std::io::{self, Write};

#[derive(Debug, Default)]
pub(crate) struct Csv {
    header: Option<(Name, bool)>,
}

impl Formatter for Csv {
    fn begin(&mut self, _out: &mut dyn Write) -> io::Result<()> {
        Ok(())
    }

    fn row(&mut self, out: &mut dyn Write, row: &Row<'_>) -> io::Result<()> {
        let key = (row.instance.class_name.clone(), row.host.is_some());
        if self.header.as_ref() != Some(&key) {
            if self.header.is_some() {
                out.write_all(b"\r\n")?;
            }
            let mut names: Vec<&str> = Vec::new();
            if row.host.is_some() {
                names.push("Node");
            }
            names.extend(row.instance.properties.iter().map(|p| p.name.as_str()));
            write_record(out, names.iter().map(|n| Some(*n)))?;
            self.header = Some(key);
        }
        let values: Vec<Option<String>> = row
            .host
            .map(|h| Some(h.to_owned()))
            .into_iter()
            .chain(
                row.instance
                    .properties
                    .iter()
                    .map(|p| p.value.as_ref().map(|v| plain(Some(v)))),
            )
            .collect();
        write_record(out, values.iter().map(|v| v.as_deref()))
    }

    fn end(&mut self, _out: &mut dyn Write) -> io::Result<()> {
        Ok(())
    }
}

fn write_record<'a>(
    out: &mut dyn Write,
    fields: impl Iterator<Item = Option<&'a str>>,
) -> io::Result<()> {
    let mut line = String::new();
    for (i, f) in fields.enumerate() {
        if i > 0 {
            line.push(',');
        }
        match f {
            None => {}
            Some(s) if s.is_empty() || s.contains([',', '"', '\r', '\n']) => {
                line.push('"');
                line.push_str(&s.replace('"', "\"\""));
                line.push('"');
            }
            Some(s) => line.push_str(s),
        }
    }
    line.push_str("\r\n");
    out.write_all(line.as_bytes())
}

#[cfg(test)]
mod tests {
    use crate::testing::*;
    use crate::{Format, Options};
    use openwmi_cim::{CimType, Value};

    #[test]
    fn header_and_quoted_records() {
        let a = share("a,b", "say \"hi\"", None);
        let b = share("ünï", "line1\nline2", Some(3));
        let text = render(Format::Csv, &Options::default(), &[row(&a), row(&b)]);
        assert_eq!(
            text,
            "Caption,AllowMaximum,MaximumAllowed,Name,Path,Type\r\n\
             \"Share a,b\",TRUE,,\"a,b\",\"say \"\"hi\"\"\",0\r\n\
             Share ünï,FALSE,3,ünï,\"line1\nline2\",0\r\n"
        );
    }

    #[test]
    fn node_column_empty_strings_arrays_and_class_changes() {
        let a = instance(
            "C",
            vec![
                prop(
                    "S",
                    CimType::String,
                    Some(Value::String(String::new().into())),
                ),
                prop("N", CimType::String, None),
                array_prop("A", CimType::String, Some(vec!["x".into(), "y".into()])),
            ],
        );
        let b = instance("D", vec![prop("X", CimType::UInt8, Some(Value::UInt8(1)))]);
        let text = render(
            Format::Csv,
            &Options::default(),
            &[row_on(&a, "h1"), row_on(&a, "h2"), row(&b)],
        );
        assert_eq!(
            text,
            "Node,S,N,A\r\nh1,\"\",,\"{\"\"x\"\",\"\"y\"\"}\"\r\nh2,\"\",,\"{\"\"x\"\",\"\"y\"\"}\"\r\n\
             \r\nX\r\n1\r\n"
        );
    }

    #[test]
    fn empty_result_is_empty() {
        assert_eq!(render(Format::Csv, &Options::default(), &[]), "");
    }
}
