//! Date constants compared with datetime properties.
//!
//! Besides the DMTF datetime (`"19320121000000.000000+000"`), Windows' WQL
//! takes the date formats of Microsoft's "WQL-Supported Date Formats" page,
//! optionally followed by a time in the forms of "WQL-Supported Time
//! Formats":
//!
//! - a month name (spelled out or its first three letters, any case) with a
//!   day and a year in the documented orders: `January 21, 1932`,
//!   `Jan 21 32`, `January 1932`, `Jan 32 21`, `21 January, 1932`,
//!   `21 Jan32`, `21 1932 January`, `1932 January 21`, `1932 Jan`,
//!   `1932 21 Jan`;
//! - three numbers with the same separator (`/`, `-` or `.`): `1/21/1932`,
//!   `21.01.1932`, `1932-01-21` and the other documented orders;
//! - digits alone: `[yy]yyMMdd`, `yyyy[MM[dd]]`;
//! - a time after the date: `4 PM`, `3:23`, `3:23 AM`, `3:23:00`,
//!   `3:23:00PM`, `3:23:00:123`.
//!
//! Windows reads the numeric orders by the server's locale; openwmi reads
//! them as en-US does (month before day), taking the day first only where
//! month-first gives no date. Two-digit years 30-99 are 19yy and 00-29 are
//! 20yy (`Jan 21 32` is 1932, as the page shows). A date without a time is
//! midnight. Windows takes these as the server's local time; openwmi's
//! datetimes are UTC, and so are these dates. See docs/windows-fidelity.md.

use openwmi_cim::CimDateTime;

/// The date a WQL string constant stands for, or `None` when it is no date.
pub fn parse_date(text: &str) -> Option<CimDateTime> {
    let text = text.trim();
    if let Ok(d) = text.parse::<CimDateTime>() {
        return Some(d);
    }
    let (date, time) = split_time(text)?;
    let (y, m, d) = calendar_date(date)?;
    let (hh, mm, ss, ms) = match time {
        Some(t) => clock_time(t)?,
        None => (0, 0, 0, 0),
    };
    format!(
        "{y:04}{m:02}{d:02}{hh:02}{mm:02}{ss:02}.{:06}+000",
        ms * 1000
    )
    .parse()
    .ok()
}

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

fn month_by_name(word: &str) -> Option<u32> {
    let w = word.to_ascii_lowercase();
    MONTHS
        .iter()
        .position(|m| w == *m || (w.len() == 3 && m.starts_with(&w)))
        .map(|i| i as u32 + 1)
}

fn is_am_pm(s: &str) -> bool {
    s.eq_ignore_ascii_case("AM") || s.eq_ignore_ascii_case("PM")
}

/// Splits `date [time]` at the start of the time: the first word holding a
/// ':', or an hour followed by AM/PM (`4 PM`, `4PM`).
fn split_time(text: &str) -> Option<(&str, Option<&str>)> {
    let words: Vec<(usize, &str)> = text
        .split_whitespace()
        .map(|w| (w.as_ptr() as usize - text.as_ptr() as usize, w))
        .collect();
    for (i, (at, w)) in words.iter().enumerate() {
        let digits = w.bytes().take_while(u8::is_ascii_digit).count();
        let hour_then_am_pm = digits > 0
            && (is_am_pm(&w[digits..])
                || (digits == w.len() && words.get(i + 1).is_some_and(|(_, n)| is_am_pm(n))));
        if i > 0 && (w.contains(':') || hour_then_am_pm) {
            return Some((text[..*at].trim_end(), Some(&text[*at..])));
        }
    }
    Some((text, None))
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Part<'a> {
    /// Digits, as written (their count matters).
    Num(&'a str),
    Word(&'a str),
    Sep(char),
    Comma,
}

fn parts(text: &str) -> Option<Vec<Part<'_>>> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        let run = |pred: fn(char) -> bool| rest.find(|c| !pred(c)).unwrap_or(rest.len());
        let len = if c.is_ascii_digit() {
            let n = run(|c| c.is_ascii_digit());
            out.push(Part::Num(&rest[..n]));
            n
        } else if c.is_ascii_alphabetic() {
            let n = run(|c| c.is_ascii_alphabetic());
            out.push(Part::Word(&rest[..n]));
            n
        } else if matches!(c, '/' | '-' | '.') {
            out.push(Part::Sep(c));
            1
        } else if c == ',' {
            out.push(Part::Comma);
            1
        } else if c == ' ' || c == '\t' {
            1
        } else {
            return None;
        };
        rest = &rest[len..];
    }
    Some(out)
}

fn year(digits: &str) -> Option<u32> {
    let v: u32 = digits.parse().ok()?;
    match digits.len() {
        2 if v < 30 => Some(2000 + v),
        2 => Some(1900 + v),
        4 => Some(v),
        _ => None,
    }
}

fn small(digits: &str) -> Option<u32> {
    (1..=2)
        .contains(&digits.len())
        .then(|| digits.parse().ok())?
}

fn valid(y: u32, m: u32, d: u32) -> Option<(u32, u32, u32)> {
    let leap = (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400);
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    (y <= 9999 && (1..=days).contains(&d)).then_some((y, m, d))
}

/// Year, month, day from the strings of each, if they make a date.
fn ymd(y: &str, m: &str, d: &str) -> Option<(u32, u32, u32)> {
    valid(year(y)?, small(m)?, small(d)?)
}

fn calendar_date(text: &str) -> Option<(u32, u32, u32)> {
    let parts = parts(text)?;
    let month_at = parts.iter().position(|p| matches!(p, Part::Word(_)));
    match month_at {
        Some(at) => named_month_date(&parts, at),
        None => numeric_date(&parts),
    }
}

/// A date with a month name: the numbers before and after it decide the order.
fn named_month_date(parts: &[Part<'_>], at: usize) -> Option<(u32, u32, u32)> {
    let Part::Word(word) = parts[at] else {
        return None;
    };
    let month = month_by_name(word)?;
    // Commas are optional, and only between the parts.
    if matches!(parts.first(), Some(Part::Comma)) || matches!(parts.last(), Some(Part::Comma)) {
        return None;
    }
    let mut before = Vec::new();
    let mut after = Vec::new();
    for (i, p) in parts.iter().enumerate() {
        match p {
            Part::Num(n) if i < at => before.push(*n),
            Part::Num(n) => after.push(*n),
            Part::Comma => {}
            _ if i == at => {}
            _ => return None,
        }
    }
    let m = month.to_string();
    let four = |s: &str| s.len() == 4;
    match (before.as_slice(), after.as_slice()) {
        // Mon dd[,] [yy]yy, else Mon [yy]yy dd.
        ([], [a, b]) => ymd(b, &m, a).or_else(|| ymd(a, &m, b)),
        // Mon[,] yyyy
        ([], [y]) if four(y) => ymd(y, &m, "1"),
        // dd Mon[,] [yy]yy, else [yy]yy Mon dd.
        ([a], [b]) if !four(a) => ymd(b, &m, a).or_else(|| ymd(a, &m, b)),
        ([y], [d]) => ymd(y, &m, d),
        // dd [yy]yy Mon, else yyyy dd Mon.
        ([a, b], []) if !four(a) => ymd(b, &m, a),
        ([y, d], []) => ymd(y, &m, d),
        // yyyy Mon
        ([y], []) if four(y) => ymd(y, &m, "1"),
        _ => None,
    }
}

/// Three numbers with one separator, or digits alone.
fn numeric_date(parts: &[Part<'_>]) -> Option<(u32, u32, u32)> {
    match *parts {
        [Part::Num(a), Part::Sep(s1), Part::Num(b), Part::Sep(s2), Part::Num(c)] if s1 == s2 => {
            // The documented orders, month before day wherever both could be.
            ymd(c, a, b) // M d y
                .or_else(|| ymd(c, b, a)) // d M y
                .or_else(|| ymd(a, b, c)) // y M d
                .or_else(|| ymd(a, c, b)) // y d M
                .or_else(|| ymd(b, a, c)) // M y d
                .or_else(|| ymd(b, c, a)) // d y M
        }
        [Part::Num(n)] => match n.len() {
            8 => ymd(&n[..4], &n[4..6], &n[6..]),
            6 => ymd(&n[..2], &n[2..4], &n[4..]).or_else(|| ymd(&n[..4], &n[4..], "1")),
            4 => ymd(n, "1", "1"),
            _ => None,
        },
        _ => None,
    }
}

/// `hh[ ]AM|PM`, `hh:mm[:ss[:uuu]][ ][AM|PM]`: hour, minute, second, millisecond.
fn clock_time(text: &str) -> Option<(u32, u32, u32, u32)> {
    let t = text.trim();
    let (clock, am_pm) = match t.len().checked_sub(2).and_then(|i| t.get(i..)) {
        Some(tail) if is_am_pm(tail) => (t[..t.len() - 2].trim_end(), Some(tail)),
        _ => (t, None),
    };
    let fields: Vec<&str> = clock.split(':').collect();
    if fields.len() > 4
        || (fields.len() == 1 && am_pm.is_none())
        || fields
            .iter()
            .any(|f| f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let num = |i: usize, max_len: usize| -> Option<u32> {
        match fields.get(i) {
            None => Some(0),
            Some(f) if f.len() <= max_len => f.parse().ok(),
            Some(_) => None,
        }
    };
    let (mut h, m, s, ms) = (num(0, 2)?, num(1, 2)?, num(2, 2)?, num(3, 3)?);
    if m > 59 || s > 59 {
        return None;
    }
    match am_pm {
        Some(ap) => {
            if !(1..=12).contains(&h) {
                return None;
            }
            let pm = ap.eq_ignore_ascii_case("PM");
            h = match (h, pm) {
                (12, false) => 0,
                (12, true) => 12,
                (h, true) => h + 12,
                (h, false) => h,
            };
        }
        None if h > 23 => return None,
        None => {}
    }
    Some((h, m, s, ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> String {
        match parse_date(text) {
            Some(d) => d.to_string()[..14].to_owned(),
            None => panic!("{text:?} is no date"),
        }
    }

    #[test]
    fn documented_date_formats() {
        let jan21 = "19320121000000";
        for text in [
            "January 21, 1932",
            "January 21, 32",
            "Jan 21 1932",
            "Jan 21 32",
            "january 1932 21",
            "Jan 32 21",
            "21 January, 1932",
            "21 Jan32",
            "21 1932 January",
            "1932 January 21",
            "32 Jan 21",
            "1932 21 Jan",
            "1/21/1932",
            "01/21/32",
            "21.01.1932",
            "21-1-1932",
            "1932-01-21",
            "1932/21/01",
            "1-1932-21",
            "21.1932.1",
            "19320121",
            "320121",
            " 1932-01-21 ",
            "19320121000000.000000+000",
        ] {
            assert_eq!(day(text), jan21, "{text}");
        }
        assert_eq!(day("January 1932"), "19320101000000");
        assert_eq!(day("Jan, 1932"), "19320101000000");
        assert_eq!(day("1932 Jan"), "19320101000000");
        assert_eq!(day("193202"), "19320201000000");
        assert_eq!(day("1932"), "19320101000000");
        // Month before day wherever both could be (en-US).
        assert_eq!(day("02/03/2020"), "20200203000000");
        assert_eq!(day("2020-02-03"), "20200203000000");
        assert_eq!(day("Feb 29 2020"), "20200229000000");
    }

    #[test]
    fn documented_time_formats() {
        let at = |t: &str| parse_date(t).unwrap().to_string();
        assert_eq!(at("1/21/1932 4 PM"), "19320121160000.000000+000");
        assert_eq!(at("1/21/1932 4PM"), "19320121160000.000000+000");
        assert_eq!(at("1/21/1932 3:23"), "19320121032300.000000+000");
        assert_eq!(at("January 21, 1932 3:23 AM"), "19320121032300.000000+000");
        assert_eq!(at("1932-01-21 15:23:09"), "19320121152309.000000+000");
        assert_eq!(at("1932-01-21 3:23:00PM"), "19320121152300.000000+000");
        assert_eq!(at("1932-01-21 12:00 AM"), "19320121000000.000000+000");
        assert_eq!(at("1932-01-21 3:23:00:123"), "19320121032300.123000+000");
    }

    #[test]
    fn what_is_no_date() {
        for text in [
            "",
            "foo",
            "yesterday",
            "3",
            "12345",
            "Smarch 21 1932",
            "Jan 21 1932 Feb",
            "2/30/2021",
            "13/13/2020",
            "1932-01/21",
            "1932-01-21T00:00:00",
            "1932-01-21 25:00",
            "1932-01-21 4",
            "1932-01-21 13 PM",
            "1932-01-21 3:60",
            ", Jan 21 1932",
            "Jan 21 1932,",
            "Jan 123 1932",
            "19321321",
        ] {
            assert_eq!(parse_date(text), None, "{text:?}");
        }
    }
}
