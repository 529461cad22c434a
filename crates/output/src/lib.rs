//! Output formats for query results, as the `openwmi` CLI prints them.
//!
//! Rows are handed one by one to a [`Formatter`] that writes them to any
//! `io::Write`: every format but `table` (which must see all rows to align
//! its columns) writes each row as it comes, and `json` stays valid JSON
//! however many rows there are.
//!
//! ```
//! use openwmi_output::{formatter, Format, Options, Row};
//! # use openwmi_cim::{Instance, InstanceProperty, TypeDecl, CimType, Name, Value};
//! # let inst = Instance { class_name: Name::new("C"), properties: vec![InstanceProperty {
//! #     name: Name::new("P"), ty: TypeDecl::scalar(CimType::UInt32), value: Some(Value::UInt32(7)) }] };
//! let mut out = Vec::new();
//! let mut f = formatter(Format::List, &Options::default());
//! f.begin(&mut out).unwrap();
//! f.row(&mut out, &Row { instance: &inst, path: None, host: None }).unwrap();
//! f.end(&mut out).unwrap();
//! assert_eq!(String::from_utf8(out).unwrap(), "P=7\n");
//! ```

mod csv;
mod error;
mod json;
mod list;
mod mof;
mod table;
mod text;
mod wmic;

pub use error::Error;

use openwmi_cim::{Instance, ObjectPath};
use std::fmt;
use std::io::{self, Write};
use std::str::FromStr;

/// One result row.
#[derive(Clone, Copy, Debug)]
pub struct Row<'a> {
    pub instance: &'a Instance,
    /// The instance's full path (host and namespace included), when known.
    pub path: Option<&'a ObjectPath>,
    /// The host a multi-host query got the row from; printed as a leading
    /// `Host` column or field (`Node` in csv, as Windows wmic names it).
    pub host: Option<&'a str>,
}

/// Writes a result set: `begin`, then `row` for each row, then `end`.
pub trait Formatter {
    fn begin(&mut self, out: &mut dyn Write) -> io::Result<()>;
    fn row(&mut self, out: &mut dyn Write, row: &Row<'_>) -> io::Result<()>;
    fn end(&mut self, out: &mut dyn Write) -> io::Result<()>;
}

/// The output formats (`--format`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Format {
    /// Aligned columns, one row per instance.
    #[default]
    Table,
    /// `Prop=Value` lines, a blank line between instances.
    List,
    /// A JSON array of objects.
    Json,
    /// RFC 4180 CSV with a header row.
    Csv,
    /// MOF `instance of` declarations.
    Mof,
    /// The Linux `wmic` client's output: `CLASS:` line, sorted header, `|`-separated values.
    Wmic,
}

impl Format {
    pub const ALL: [Format; 6] = [
        Format::Table,
        Format::List,
        Format::Json,
        Format::Csv,
        Format::Mof,
        Format::Wmic,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Table => "table",
            Format::List => "list",
            Format::Json => "json",
            Format::Csv => "csv",
            Format::Mof => "mof",
            Format::Wmic => "wmic",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Format {
    type Err = Error;
    /// Case-insensitive format name.
    fn from_str(s: &str) -> Result<Format, Error> {
        Format::ALL
            .into_iter()
            .find(|f| f.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| Error::UnknownFormat(s.to_owned()))
    }
}

/// Settings some formats use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// Terminal width for `table`; wide columns are wrapped so that a row
    /// fits. 0 means no limit.
    pub width: usize,
    /// Column separator for `wmic` (`--delimiter`).
    pub delimiter: String,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            width: 0,
            delimiter: "|".to_owned(),
        }
    }
}

/// A formatter for `format`.
pub fn formatter(format: Format, options: &Options) -> Box<dyn Formatter> {
    match format {
        Format::Table => Box::new(table::Table::new(options.width)),
        Format::List => Box::new(list::List::default()),
        Format::Json => Box::new(json::JsonArray::default()),
        Format::Csv => Box::new(csv::Csv::default()),
        Format::Mof => Box::new(mof::Mof::default()),
        Format::Wmic => Box::new(wmic::Wmic::new(&options.delimiter)),
    }
}

/// Writes all `rows` in `format`.
pub fn write_rows<'a>(
    format: Format,
    options: &Options,
    rows: impl IntoIterator<Item = Row<'a>>,
    out: &mut dyn Write,
) -> io::Result<()> {
    let mut f = formatter(format, options);
    f.begin(out)?;
    for r in rows {
        f.row(out, &r)?;
    }
    f.end(out)
}

#[cfg(test)]
pub(crate) mod testing;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_names_parse_case_insensitively() {
        for f in Format::ALL {
            assert_eq!(f.as_str().parse::<Format>().unwrap(), f);
            assert_eq!(f.as_str().to_uppercase().parse::<Format>().unwrap(), f);
        }
        let e = "xml".parse::<Format>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown output format \"xml\" (expected one of: table, list, json, csv, mof, wmic)"
        );
    }
}
