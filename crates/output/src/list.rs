//! `list`: `Prop=Value` lines with a blank line between instances, like
//! Windows `wmic ... list full`. NULL prints as `Prop=`.

use crate::text::plain;
use crate::{Formatter, Row};
use std::io::{self, Write};

#[derive(Debug, Default)]
pub(crate) struct List {
    rows: usize,
}

impl Formatter for List {
    fn begin(&mut self, _out: &mut dyn Write) -> io::Result<()> {
        Ok(())
    }

    fn row(&mut self, out: &mut dyn Write, row: &Row<'_>) -> io::Result<()> {
        if self.rows > 0 {
            out.write_all(b"\n")?;
        }
        self.rows += 1;
        if let Some(h) = row.host {
            writeln!(out, "Host={h}")?;
        }
        for p in &row.instance.properties {
            writeln!(out, "{}={}", p.name, plain(p.value.as_ref()))?;
        }
        Ok(())
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
    fn prop_value_lines_blank_line_between() {
        let a = share("públic", "/srv/públic", None);
        let b = share("x", "C:\\x", Some(5));
        let text = render(Format::List, &Options::default(), &[row(&a), row(&b)]);
        assert_eq!(
            text,
            "Caption=Share públic\nAllowMaximum=TRUE\nMaximumAllowed=\nName=públic\nPath=/srv/públic\nType=0\n\
             \nCaption=Share x\nAllowMaximum=FALSE\nMaximumAllowed=5\nName=x\nPath=C:\\x\nType=0\n"
        );
    }

    #[test]
    fn host_tag_and_arrays() {
        let i = instance(
            "C",
            vec![
                array_prop("A", CimType::String, Some(vec!["a".into(), "b".into()])),
                array_prop("N", CimType::UInt8, None),
                prop("D", CimType::Real64, Some(Value::Real64(1.5))),
            ],
        );
        let text = render(Format::List, &Options::default(), &[row_on(&i, "srv1")]);
        assert_eq!(text, "Host=srv1\nA={\"a\",\"b\"}\nN=\nD=1.5\n");
    }

    #[test]
    fn empty_result_is_empty() {
        assert_eq!(render(Format::List, &Options::default(), &[]), "");
    }
}
