//! The monitoring-plugin conventions (the Nagios/Icinga plugin guidelines,
//! which the monitoring-plugins project follows) that `openwmi check` speaks:
//! the four statuses and their exit codes, threshold ranges (`10`, `10:`,
//! `~:10`, `10:20`, `@10:20`), and the one status line with its performance
//! data after `|`.
//!
//! Pure: the binary measures, this crate judges and words the result.

mod range;

pub use range::{Range, RangeError, MAX_RANGE_LEN};
use std::fmt::Write as _;

/// A plugin's verdict. The exit code is the status's number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    Ok = 0,
    Warning = 1,
    Critical = 2,
    Unknown = 3,
}

impl Status {
    pub fn exit_code(self) -> u8 {
        self as u8
    }

    /// The word of the status line.
    pub fn word(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::Warning => "WARNING",
            Status::Critical => "CRITICAL",
            Status::Unknown => "UNKNOWN",
        }
    }

    /// The worse of two statuses for combining several measurements:
    /// CRITICAL over WARNING over OK. UNKNOWN is kept for failures to
    /// measure, so it ranks above all.
    pub fn worst(self, other: Status) -> Status {
        self.max(other)
    }
}

/// The warning and critical ranges of a check; either may be absent.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Thresholds {
    pub warning: Option<Range>,
    pub critical: Option<Range>,
}

impl Thresholds {
    /// Parses `-w` and `-c`; the error names the option.
    pub fn parse(warning: Option<&str>, critical: Option<&str>) -> Result<Thresholds, String> {
        let one = |opt: &str, text: Option<&str>| {
            text.map(Range::parse)
                .transpose()
                .map_err(|e| format!("{opt} {text:?}: {e}", text = text.unwrap_or("")))
        };
        Ok(Thresholds {
            warning: one("-w", warning)?,
            critical: one("-c", critical)?,
        })
    }

    /// CRITICAL when the critical range alerts, else WARNING when the
    /// warning range alerts, else OK.
    pub fn status(&self, value: f64) -> Status {
        if self.critical.as_ref().is_some_and(|r| r.alerts(value)) {
            Status::Critical
        } else if self.warning.as_ref().is_some_and(|r| r.alerts(value)) {
            Status::Warning
        } else {
            Status::Ok
        }
    }
}

/// One value of the performance data: `'label'=value[uom];[warn];[crit];[min];[max]`.
#[derive(Debug, Clone, PartialEq)]
pub struct PerfDatum {
    pub label: String,
    pub value: f64,
    /// Unit of measure: empty, `s`, `%`, `B`, `c` (a counter) ...
    pub uom: &'static str,
    pub min: Option<f64>,
    pub max: Option<f64>,
}

/// The status line: `SERVICE STATUS - message | perfdata`. A `|` or a line
/// break in the message would end it early for the monitoring system's
/// parser, so they are replaced.
pub fn status_line(
    service: &str,
    status: Status,
    message: &str,
    thresholds: &Thresholds,
    perfdata: &[PerfDatum],
) -> String {
    let mut out = format!("{service} {} - {}", status.word(), clean_message(message));
    if !perfdata.is_empty() {
        out.push_str(" |");
        for p in perfdata {
            out.push(' ');
            write_perf(&mut out, p, thresholds);
        }
    }
    out
}

fn clean_message(message: &str) -> String {
    message
        .chars()
        .map(|c| match c {
            '|' => '/',
            c if c.is_control() => ' ',
            c => c,
        })
        .collect()
}

fn write_perf(out: &mut String, p: &PerfDatum, t: &Thresholds) {
    out.push_str(&perf_label(&p.label));
    let _ = write!(out, "={}{}", number(p.value), p.uom);
    let range = |r: &Option<Range>| r.as_ref().map(|r| r.to_string()).unwrap_or_default();
    let num = |n: Option<f64>| n.map(number).unwrap_or_default();
    let mut fields = vec![
        range(&t.warning),
        range(&t.critical),
        num(p.min),
        num(p.max),
    ];
    // Trailing empty fields may be dropped.
    while fields.last().is_some_and(|f| f.is_empty()) {
        fields.pop();
    }
    for f in fields {
        out.push(';');
        out.push_str(&f);
    }
}

/// A label is quoted when it holds a space, `=` or a quote (doubled inside);
/// `|` and control characters, which no quoting protects, become `_`.
pub fn perf_label(label: &str) -> String {
    let clean: String = label
        .chars()
        .map(|c| if c == '|' || c.is_control() { '_' } else { c })
        .collect();
    let clean = if clean.is_empty() {
        "value".to_owned()
    } else {
        clean
    };
    if clean.contains([' ', '=', '\'']) {
        format!("'{}'", clean.replace('\'', "''"))
    } else {
        clean
    }
}

/// A number as performance data writes it: integers without a fraction,
/// never an exponent (monitoring systems' parsers read plain decimals).
pub fn number(v: f64) -> String {
    if v.is_finite() && v.fract() == 0.0 && v.abs() < 1e17 {
        format!("{}", v as i64)
    } else if v.is_finite() {
        // Rust writes an f64 without an exponent.
        format!("{v}")
    } else {
        "U".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(w: &str, c: &str) -> Thresholds {
        Thresholds::parse(Some(w), Some(c)).unwrap()
    }

    #[test]
    fn statuses_order_and_codes() {
        assert_eq!(Status::Ok.exit_code(), 0);
        assert_eq!(Status::Warning.exit_code(), 1);
        assert_eq!(Status::Critical.exit_code(), 2);
        assert_eq!(Status::Unknown.exit_code(), 3);
        assert_eq!(Status::Warning.worst(Status::Critical), Status::Critical);
        assert_eq!(Status::Ok.worst(Status::Warning), Status::Warning);
    }

    #[test]
    fn critical_wins_over_warning() {
        let th = t("5", "10");
        assert_eq!(th.status(3.0), Status::Ok);
        assert_eq!(th.status(6.0), Status::Warning);
        assert_eq!(th.status(11.0), Status::Critical);
        assert_eq!(th.status(-1.0), Status::Critical);
        assert_eq!(Thresholds::default().status(1e9), Status::Ok);
    }

    #[test]
    fn option_named_in_errors() {
        let e = Thresholds::parse(Some("10:5"), None).unwrap_err();
        assert!(e.starts_with("-w \"10:5\": "), "{e}");
        let e = Thresholds::parse(None, Some("x")).unwrap_err();
        assert!(e.starts_with("-c \"x\": "), "{e}");
    }

    #[test]
    fn status_line_with_perfdata() {
        let th = t("~:5", "@10:20");
        let line = status_line(
            "OPENWMI",
            Status::Ok,
            "3 instances | a\nb",
            &th,
            &[PerfDatum {
                label: "instances".into(),
                value: 3.0,
                uom: "",
                min: Some(0.0),
                max: None,
            }],
        );
        assert_eq!(
            line,
            "OPENWMI OK - 3 instances / a b | instances=3;~:5;@10:20;0"
        );
        let bare = status_line("OPENWMI", Status::Unknown, "x", &Thresholds::default(), &[]);
        assert_eq!(bare, "OPENWMI UNKNOWN - x");
        let p = PerfDatum {
            label: "it's a=b".into(),
            value: 1.5,
            uom: "s",
            min: None,
            max: None,
        };
        let line = status_line("S", Status::Ok, "m", &Thresholds::default(), &[p]);
        assert_eq!(line, "S OK - m | 'it''s a=b'=1.5s");
    }

    #[test]
    fn labels_and_numbers() {
        assert_eq!(perf_label("C:"), "C:");
        assert_eq!(perf_label("a|b"), "a_b");
        assert_eq!(perf_label(""), "value");
        assert_eq!(number(3.0), "3");
        assert_eq!(number(-2.0), "-2");
        assert_eq!(number(0.25), "0.25");
        assert_eq!(number(f64::NAN), "U");
        assert!(!number(1e-9).contains('e'));
        assert!(!number(1e300).contains('e'));
    }
}
