//! `mof`: each instance as a MOF `instance of` declaration that a MOF
//! compiler reads back. NULL properties are left out, as WMI's
//! `GetObjectText` does.

use crate::text::one_line;
use crate::{Formatter, Row};
use std::io::{self, Write};

#[derive(Debug, Default)]
pub(crate) struct Mof {
    rows: usize,
}

impl Formatter for Mof {
    fn begin(&mut self, _out: &mut dyn Write) -> io::Result<()> {
        Ok(())
    }

    fn row(&mut self, out: &mut dyn Write, row: &Row<'_>) -> io::Result<()> {
        if self.rows > 0 {
            out.write_all(b"\n")?;
        }
        self.rows += 1;
        let mut s = String::new();
        if let Some(h) = row.host {
            // A comment may not span lines; a host name never holds a newline,
            // but keep the output valid MOF whatever it holds.
            s.push_str("// Host: ");
            s.push_str(&one_line(h));
            s.push('\n');
        }
        s.push_str("instance of ");
        s.push_str(row.instance.class_name.as_str());
        s.push_str("\n{\n");
        for p in &row.instance.properties {
            if let Some(v) = &p.value {
                s.push('\t');
                s.push_str(p.name.as_str());
                s.push_str(" = ");
                v.write_mof(&mut s);
                s.push_str(";\n");
            }
        }
        s.push_str("};\n");
        out.write_all(s.as_bytes())
    }

    fn end(&mut self, _out: &mut dyn Write) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::*;
    use crate::{Format, Options};
    use openwmi_cim::{CimType, Value};

    #[test]
    fn instance_of_with_escaped_literals() {
        let a = share("q\"uote", "C:\\dir\nline", None);
        let b = instance(
            "C",
            vec![
                array_prop("A", CimType::String, Some(vec!["x".into(), "ü".into()])),
                prop(
                    "R",
                    CimType::Reference,
                    Some(Value::from(share_path("H", "s"))),
                ),
            ],
        );
        let text = render(
            Format::Mof,
            &Options::default(),
            &[row(&a), row_on(&b, "h1")],
        );
        assert_eq!(
            text,
            "instance of Win32_Share\n{\n\
             \tCaption = \"Share q\\\"uote\";\n\
             \tAllowMaximum = TRUE;\n\
             \tName = \"q\\\"uote\";\n\
             \tPath = \"C:\\\\dir\\nline\";\n\
             \tType = 0;\n\
             };\n\
             \n// Host: h1\ninstance of C\n{\n\
             \tA = {\"x\", \"ü\"};\n\
             \tR = \"\\\\\\\\H\\\\root\\\\cimv2:Win32_Share.Name=\\\"s\\\"\";\n\
             };\n"
        );
    }

    #[test]
    fn empty_result_is_empty() {
        assert_eq!(render(Format::Mof, &Options::default(), &[]), "");
    }
}
