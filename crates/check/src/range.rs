//! Threshold ranges in the plugins' syntax, `[@][start:][end]`:
//!
//! | text     | alerts when          |
//! | -------- | -------------------- |
//! | `10`     | v < 0 or v > 10      |
//! | `10:`    | v < 10               |
//! | `~:10`   | v > 10               |
//! | `10:20`  | v < 10 or v > 20     |
//! | `@10:20` | 10 <= v <= 20        |
//!
//! An empty start is 0 (`:10` is `0:10`), `~` as the start is minus
//! infinity, an empty end is infinity. Unlike the C library, which reads a
//! number's prefix and ignores the rest, anything else is refused with where
//! and why: a threshold typed wrongly must not quietly alert never.

use std::fmt;

/// The longest range text accepted, in bytes.
pub const MAX_RANGE_LEN: usize = 64;

#[derive(Debug, Clone, PartialEq)]
pub struct Range {
    /// `None` is minus infinity (`~`).
    pub start: Option<f64>,
    /// `None` is infinity.
    pub end: Option<f64>,
    /// `@`: alert inside the range instead of outside it.
    pub inside: bool,
}

/// Why a range was refused, and the byte offset where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangeError {
    pub offset: usize,
    pub reason: String,
}

impl fmt::Display for RangeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at offset {}: {}", self.offset, self.reason)
    }
}

impl std::error::Error for RangeError {}

fn err(offset: usize, reason: impl Into<String>) -> RangeError {
    RangeError {
        offset,
        reason: reason.into(),
    }
}

impl Range {
    pub fn parse(text: &str) -> Result<Range, RangeError> {
        if text.len() > MAX_RANGE_LEN {
            return Err(err(
                MAX_RANGE_LEN,
                format!("a range is at most {MAX_RANGE_LEN} bytes"),
            ));
        }
        if text.is_empty() {
            return Err(err(
                0,
                "empty range (expected e.g. 10, 10:, ~:10, 10:20, @10:20)",
            ));
        }
        let (inside, body, base) = match text.strip_prefix('@') {
            Some(rest) => (true, rest, 1),
            None => (false, text, 0),
        };
        let (start, end, end_base) = match body.find(':') {
            Some(i) => {
                let start_text = &body[..i];
                let start = match start_text {
                    "~" => None,
                    "" => Some(0.0),
                    s => Some(number(s, base)?),
                };
                (start, &body[i + 1..], base + i + 1)
            }
            None => (Some(0.0), body, base),
        };
        if body.find(':').is_none() && end.is_empty() {
            return Err(err(end_base, "expected a number after '@'"));
        }
        let end = match end {
            "" => None,
            "~" => return Err(err(end_base, "'~' stands only for the start")),
            s => Some(number(s, end_base)?),
        };
        if let (Some(s), Some(e)) = (start, end) {
            if s > e {
                return Err(err(base, format!("the start {s} is above the end {e}")));
            }
        }
        Ok(Range { start, end, inside })
    }

    /// Whether `value` is outside the range (inside for `@`).
    pub fn alerts(&self, value: f64) -> bool {
        let within = !self.start.is_some_and(|s| value < s) && !self.end.is_some_and(|e| value > e);
        // NaN is within no range: it alerts an ordinary range, not an `@` one.
        if value.is_nan() {
            return !self.inside;
        }
        within == self.inside
    }
}

/// A decimal number: an optional sign, digits, an optional fraction.
fn number(s: &str, offset: usize) -> Result<f64, RangeError> {
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    let mut seen_digit = false;
    let mut seen_dot = false;
    for (i, c) in digits.char_indices() {
        let at = offset + (s.len() - digits.len()) + i;
        match c {
            '0'..='9' => seen_digit = true,
            '.' if !seen_dot => seen_dot = true,
            ':' => return Err(err(at, "a second ':'")),
            _ => return Err(err(at, format!("unexpected {c:?} in the number {s:?}"))),
        }
    }
    if !seen_digit {
        return Err(err(offset, format!("{s:?} is not a number")));
    }
    s.parse::<f64>()
        .map_err(|e| err(offset, format!("{s:?} is not a number: {e}")))
}

impl fmt::Display for Range {
    /// The canonical text, as performance data carries it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.inside {
            f.write_str("@")?;
        }
        match self.start {
            None => f.write_str("~:")?,
            // `0:10` is written `10` (`@0:10` `@10`); `0:` keeps its colon.
            Some(s) if s == 0.0 && self.end.is_some() => {}
            Some(s) => write!(f, "{}:", crate::number(s))?,
        }
        if let Some(e) = self.end {
            f.write_str(&crate::number(e))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn r(s: &str) -> Range {
        Range::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    /// The table of the plugin guidelines, value by value.
    #[test]
    fn the_guidelines_table() {
        let cases: &[(&str, &[f64], &[f64])] = &[
            // (range, alerting values, quiet values)
            ("10", &[-1.0, 10.5, 11.0], &[0.0, 5.0, 10.0]),
            ("10:", &[9.99, -3.0], &[10.0, 1e12]),
            ("~:10", &[10.01, 11.0], &[10.0, -1e12]),
            ("10:20", &[9.0, 21.0], &[10.0, 15.0, 20.0]),
            ("@10:20", &[10.0, 15.0, 20.0], &[9.0, 21.0]),
            (":10", &[-1.0, 11.0], &[0.0, 10.0]),
            ("-5:-1", &[0.0, -6.0], &[-5.0, -1.0]),
            ("1.5:2.5", &[1.4, 2.6], &[1.5, 2.0]),
            ("@~:0", &[0.0, -1.0], &[0.5]),
            ("@5", &[0.0, 5.0], &[-1.0, 6.0]),
            ("~:", &[], &[-1e300, 1e300]),
        ];
        for (text, alert, quiet) in cases {
            let range = r(text);
            for v in *alert {
                assert!(range.alerts(*v), "{text} should alert on {v}");
            }
            for v in *quiet {
                assert!(!range.alerts(*v), "{text} should not alert on {v}");
            }
        }
    }

    #[test]
    fn refused_with_where_and_why() {
        let cases: &[(&str, usize, &str)] = &[
            ("", 0, "empty"),
            ("@", 1, "after '@'"),
            ("20:10", 0, "above the end"),
            ("@20:10", 1, "above the end"),
            ("10x", 2, "unexpected 'x'"),
            ("1:2:3", 3, "second ':'"),
            ("abc", 0, "unexpected 'a'"),
            ("1:~", 2, "only for the start"),
            ("~", 0, "only for the start"),
            ("1e3", 1, "unexpected 'e'"),
            ("-", 0, "not a number"),
            ("1..2", 2, "unexpected '.'"),
            ("inf", 0, "unexpected 'i'"),
            ("@@1", 1, "unexpected '@'"),
        ];
        for (text, offset, why) in cases {
            let e = Range::parse(text).unwrap_err();
            assert_eq!(e.offset, *offset, "{text}: {e}");
            assert!(e.reason.contains(why), "{text}: {e}");
        }
        let long = "1".repeat(MAX_RANGE_LEN + 1);
        assert!(Range::parse(&long).unwrap_err().reason.contains("at most"));
    }

    #[test]
    fn printed_canonically() {
        for (text, shown) in [
            ("10", "10"),
            ("0:10", "10"),
            ("10:", "10:"),
            ("~:10", "~:10"),
            ("@10:20", "@10:20"),
            ("@5", "@5"),
            ("@0:5", "@5"),
            ("+1.50:2", "1.5:2"),
        ] {
            assert_eq!(r(text).to_string(), shown, "{text}");
        }
    }

    /// Found by the fuzz target: `@N` printed as `@0:N`, two bytes longer,
    /// so a range at the length limit printed to one the parser refused.
    #[test]
    fn regression_inside_range_prints_within_the_limit() {
        let text = "@100099999999999000000000010009090000000009999999999999999999999";
        assert_eq!(text.len(), MAX_RANGE_LEN);
        let printed = r(text).to_string();
        assert!(printed.len() <= MAX_RANGE_LEN, "{printed}");
        assert_eq!(Range::parse(&printed).unwrap(), r(text));
    }

    proptest! {
        #[test]
        fn never_panics(s in ".{0,80}") {
            let _ = Range::parse(&s);
        }

        #[test]
        fn printing_parses_back(start in proptest::option::of(-1e6f64..1e6), len in 0f64..1e6,
                                open_end: bool, inside: bool) {
            let range = Range {
                start,
                end: if open_end { None } else { Some(start.unwrap_or(0.0) + len) },
                inside,
            };
            let back = Range::parse(&range.to_string()).unwrap();
            prop_assert_eq!(back.inside, range.inside);
            for v in [-2e6, -1.0, 0.0, 1.0, 2e6] {
                prop_assert_eq!(back.alerts(v), range.alerts(v));
            }
        }
    }
}
