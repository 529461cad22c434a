//! `table`: aligned columns under a header of property names (class order;
//! when rows of several classes mix, the union in first-seen order). The
//! rows are kept until `end`, since column widths depend on every row. When
//! a terminal width is given and the natural widths do not fit, the widest
//! columns are narrowed to one common cap and their values wrapped onto
//! several lines (at a space when there is one). NULL is an empty cell.
//! Widths count characters, not terminal cells: East Asian wide characters
//! make a row look wider than it is.

use crate::text::{one_line, plain};
use crate::{Formatter, Row};
use openwmi_cim::Name;
use std::io::{self, Write};

/// Narrowest a column is made when narrowing.
const MIN_COLUMN: usize = 10;
const GAP: &str = "  ";

#[derive(Debug)]
pub(crate) struct Table {
    width: usize,
    columns: Vec<Name>,
    has_host: bool,
    /// Per row: the host and, per column, the cell text (None = not a property of that row's class).
    rows: Vec<(Option<String>, Vec<Option<String>>)>,
}

impl Table {
    pub(crate) fn new(width: usize) -> Table {
        Table {
            width,
            columns: Vec::new(),
            has_host: false,
            rows: Vec::new(),
        }
    }
}

impl Formatter for Table {
    fn begin(&mut self, _out: &mut dyn Write) -> io::Result<()> {
        Ok(())
    }

    fn row(&mut self, _out: &mut dyn Write, row: &Row<'_>) -> io::Result<()> {
        let mut cells = vec![None; self.columns.len()];
        for p in &row.instance.properties {
            let i = match self.columns.iter().position(|c| *c == p.name) {
                Some(i) => i,
                None => {
                    self.columns.push(p.name.clone());
                    cells.push(None);
                    self.columns.len() - 1
                }
            };
            cells[i] = Some(one_line(&plain(p.value.as_ref())));
        }
        self.has_host |= row.host.is_some();
        self.rows.push((row.host.map(one_line), cells));
        Ok(())
    }

    fn end(&mut self, out: &mut dyn Write) -> io::Result<()> {
        if self.rows.is_empty() {
            return Ok(());
        }
        let mut header: Vec<String> = Vec::new();
        if self.has_host {
            header.push("Host".to_owned());
        }
        header.extend(self.columns.iter().map(|c| c.to_string()));
        let body: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|(host, cells)| {
                let mut r = Vec::with_capacity(header.len());
                if self.has_host {
                    r.push(host.clone().unwrap_or_default());
                }
                r.extend(
                    (0..self.columns.len())
                        .map(|i| cells.get(i).cloned().flatten().unwrap_or_default()),
                );
                r
            })
            .collect();

        let natural: Vec<usize> = (0..header.len())
            .map(|i| {
                std::iter::once(&header[i])
                    .chain(body.iter().map(|r| &r[i]))
                    .map(|s| s.chars().count())
                    .max()
                    .unwrap_or(0)
                    .max(1)
            })
            .collect();
        let widths = fit(&natural, self.width);
        write_row(out, &header, &widths)?;
        for r in &body {
            write_row(out, r, &widths)?;
        }
        Ok(())
    }
}

/// Column widths: the natural ones when they fit in `width` (0 = no limit),
/// else the natural ones capped at the largest cap that fits.
fn fit(natural: &[usize], width: usize) -> Vec<usize> {
    let gaps = GAP.len() * natural.len().saturating_sub(1);
    let total = |cap: usize| natural.iter().map(|w| (*w).min(cap)).sum::<usize>() + gaps;
    let widest = natural.iter().copied().max().unwrap_or(0);
    if width == 0 || total(widest) <= width {
        return natural.to_vec();
    }
    let mut cap = MIN_COLUMN;
    // total() grows with cap, so search the largest cap that fits.
    let (mut lo, mut hi) = (MIN_COLUMN, widest);
    while lo <= hi {
        let mid = lo + (hi - lo) / 2;
        if total(mid) <= width {
            cap = mid;
            lo = mid + 1;
        } else {
            hi = mid - 1;
        }
    }
    natural.iter().map(|w| (*w).min(cap)).collect()
}

fn write_row(out: &mut dyn Write, cells: &[String], widths: &[usize]) -> io::Result<()> {
    let wrapped: Vec<Vec<String>> = cells.iter().zip(widths).map(|(c, w)| wrap(c, *w)).collect();
    let height = wrapped.iter().map(Vec::len).max().unwrap_or(1);
    for line in 0..height {
        let mut s = String::new();
        for (i, (lines, w)) in wrapped.iter().zip(widths).enumerate() {
            if i > 0 {
                s.push_str(GAP);
            }
            let part = lines.get(line).map_or("", String::as_str);
            s.push_str(part);
            let pad = w.saturating_sub(part.chars().count());
            s.push_str(&" ".repeat(pad));
        }
        s.truncate(s.trim_end().len());
        s.push('\n');
        out.write_all(s.as_bytes())?;
    }
    Ok(())
}

/// Splits `s` into lines of at most `width` characters, breaking after the
/// last space that fits when there is one.
fn wrap(s: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let chars: Vec<char> = s.chars().collect();
    let mut lines = Vec::new();
    let mut start = 0;
    while chars.len() - start > width {
        let window = &chars[start..start + width + 1];
        let cut = match window.iter().rposition(|c| *c == ' ') {
            Some(i) if i > 0 => i,
            _ => width,
        };
        let line: String = chars[start..start + cut].iter().collect();
        lines.push(line.trim_end().to_owned());
        start += cut;
        while start < chars.len() && chars[start] == ' ' {
            start += 1;
        }
    }
    lines.push(chars[start..].iter().collect());
    lines
}

#[cfg(test)]
mod tests {
    use super::{fit, wrap};
    use crate::testing::*;
    use crate::{Format, Options};
    use openwmi_cim::{CimType, Value};

    #[test]
    fn aligned_columns_with_nulls_and_unicode() {
        let a = share("públic", "/srv/públic", None);
        let b = share("x", "/x", Some(25));
        let text = render(Format::Table, &Options::default(), &[row(&a), row(&b)]);
        assert_eq!(
            text,
            "Caption       AllowMaximum  MaximumAllowed  Name    Path         Type\n\
             Share públic  TRUE                          públic  /srv/públic  0\n\
             Share x       FALSE         25              x       /x           0\n"
        );
    }

    #[test]
    fn wide_values_wrap_to_the_terminal_width() {
        let long = "alpha beta gamma delta epsilon zeta eta theta";
        let i = instance(
            "C",
            vec![
                prop("K", CimType::UInt8, Some(Value::UInt8(1))),
                prop("Text", CimType::String, Some(Value::String(long.into()))),
                prop(
                    "Tail",
                    CimType::String,
                    Some(Value::String("end\nline".into())),
                ),
            ],
        );
        let text = render(
            Format::Table,
            &Options {
                width: 30,
                ..Options::default()
            },
            &[row_on(&i, "h")],
        );
        assert_eq!(
            text,
            "Host  K  Text         Tail\n\
             h     1  alpha beta   end line\n\
             \x20        gamma delta\n\
             \x20        epsilon\n\
             \x20        zeta eta\n\
             \x20        theta\n"
        );
        for line in text.lines() {
            assert!(line.chars().count() <= 30, "{line:?}");
        }
    }

    #[test]
    fn mixed_classes_share_a_header() {
        let a = instance("A", vec![prop("x", CimType::UInt8, Some(Value::UInt8(1)))]);
        let b = instance(
            "B",
            vec![
                prop("X", CimType::UInt8, Some(Value::UInt8(2))),
                prop("y", CimType::String, Some(Value::String("v".into()))),
            ],
        );
        let text = render(Format::Table, &Options::default(), &[row(&a), row(&b)]);
        assert_eq!(text, "x  y\n1\n2  v\n");
    }

    #[test]
    fn wrap_and_fit() {
        assert_eq!(wrap("abcdefghij", 4), ["abcd", "efgh", "ij"]);
        assert_eq!(wrap("ab cd ef", 5), ["ab cd", "ef"]);
        assert_eq!(wrap("", 3), [""]);
        assert_eq!(wrap("ééééé", 2), ["éé", "éé", "é"]);
        assert_eq!(fit(&[5, 50, 3], 0), [5, 50, 3]);
        assert_eq!(fit(&[5, 50, 3], 40), [5, 28, 3]);
        assert_eq!(fit(&[50, 50], 10), [10, 10]);
    }

    #[test]
    fn empty_result_is_empty() {
        assert_eq!(render(Format::Table, &Options::default(), &[]), "");
    }
}
