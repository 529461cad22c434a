//! CIM datetime (DSP0004 5.2.4): timestamps `yyyymmddHHMMSS.mmmmmmsUUU` and
//! intervals `ddddddddHHMMSS.mmmmmm:000`.
//!
//! A value keeps its 25 characters exactly as given, so printing gives back the
//! input text; `==` and `Hash` are on that text. [`CimDateTime::compare`] is the
//! semantic comparison (UTC instants, interval lengths).
//!
//! Decisions where DSP0004 leaves room:
//! - Asterisks ("not significant" fields) follow DSP0004 strictly: they replace
//!   whole fields, contiguously from the least significant one (microseconds,
//!   which alone may be starred digit by digit from the right). The UTC offset
//!   never holds asterisks. WMI's free-form wildcards (`****1121...`) are rejected.
//! - Seconds run 00-59: DSP0004 names no leap second, and no POSIX clock
//!   produces one, so `60` is rejected.
//! - Years run 0000-9999 in the proleptic Gregorian calendar; the UTC offset is
//!   any three digits (000-999 minutes), `-000` is accepted.

use crate::error::Error;
use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A CIM timestamp or interval, kept exactly as its 25 characters.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct CimDateTime {
    text: [u8; 25],
}

const LEN: usize = 25;
const MICROS_PER_SEC: i128 = 1_000_000;
const MICROS_PER_DAY: i128 = 86_400 * MICROS_PER_SEC;
/// The largest day count an interval's eight digits hold.
const MAX_INTERVAL_DAYS: u64 = 99_999_999;
const MAX_OFFSET_MINUTES: i16 = 999;

/// A run of digits in the text: where it starts and how long it is.
#[derive(Clone, Copy)]
struct Field {
    start: usize,
    len: usize,
}

const YEAR: Field = Field { start: 0, len: 4 };
const MONTH: Field = Field { start: 4, len: 2 };
const DAY: Field = Field { start: 6, len: 2 };
const DAYS: Field = Field { start: 0, len: 8 };
const HOUR: Field = Field { start: 8, len: 2 };
const MINUTE: Field = Field { start: 10, len: 2 };
const SECOND: Field = Field { start: 12, len: 2 };
const MICROS: Field = Field { start: 15, len: 6 };
const OFFSET: Field = Field { start: 22, len: 3 };
const DOT: usize = 14;
const SIGN: usize = 21;

const TIMESTAMP_FIELDS: [Field; 6] = [YEAR, MONTH, DAY, HOUR, MINUTE, SECOND];
const INTERVAL_FIELDS: [Field; 4] = [DAYS, HOUR, MINUTE, SECOND];

fn err(pos: usize, message: impl Into<String>) -> Error {
    Error::DateTime {
        pos,
        message: message.into(),
    }
}

impl FromStr for CimDateTime {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let mut text = [0u8; LEN];
        let mut count = 0;
        for (i, c) in s.chars().enumerate() {
            if i >= LEN {
                return Err(err(LEN, "expected the end after 25 characters"));
            }
            if !c.is_ascii() {
                return Err(err(i, format!("unexpected character {c:?}")));
            }
            text[i] = c as u8;
            count = i + 1;
        }
        if count < LEN {
            return Err(err(
                count,
                format!("too short: a CIM datetime has 25 characters, this has {count}"),
            ));
        }
        validate(&text)?;
        Ok(CimDateTime { text })
    }
}

fn validate(t: &[u8; LEN]) -> Result<(), Error> {
    let interval = match t[SIGN] {
        b'+' | b'-' => false,
        b':' => true,
        _ => {
            return Err(err(
                SIGN,
                "expected '+' or '-' (timestamp) or ':' (interval)",
            ))
        }
    };
    if t[DOT] != b'.' {
        return Err(err(DOT, "expected '.' before the microseconds"));
    }
    let fields: &[Field] = if interval {
        &INTERVAL_FIELDS
    } else {
        &TIMESTAMP_FIELDS
    };
    // Once a field is "not significant" every less significant one must be too.
    let mut starred = false;
    for f in fields {
        let bytes = &t[f.start..f.start + f.len];
        if starred {
            if let Some(i) = bytes.iter().position(|&b| b != b'*') {
                return Err(err(
                    f.start + i,
                    "expected '*': asterisks replace every field less significant than a starred one",
                ));
            }
            continue;
        }
        if bytes.iter().all(|&b| b == b'*') {
            starred = true;
            continue;
        }
        if let Some(i) = bytes.iter().position(|b| !b.is_ascii_digit()) {
            return Err(err(
                f.start + i,
                "expected a digit (a field is either all digits or all '*')",
            ));
        }
    }
    // Microseconds may be starred digit by digit, from the right.
    let mut micro_starred = starred;
    for (i, &b) in t.iter().enumerate().skip(MICROS.start).take(MICROS.len) {
        match b {
            b'*' => micro_starred = true,
            b'0'..=b'9' if !micro_starred => {}
            b'0'..=b'9' => {
                return Err(err(
                    i,
                    "expected '*': asterisks replace digits from the right",
                ))
            }
            _ => return Err(err(i, "expected a digit or '*' in the microseconds")),
        }
    }
    if interval {
        if let Some(i) = t[OFFSET.start..].iter().position(|&b| b != b'0') {
            return Err(err(OFFSET.start + i, "an interval ends in ':000'"));
        }
    } else if let Some(i) = t[OFFSET.start..].iter().position(|b| !b.is_ascii_digit()) {
        return Err(err(
            OFFSET.start + i,
            "expected a digit: the UTC offset is three digits of minutes, never '*'",
        ));
    }
    let dt = CimDateTime { text: *t };
    if !interval {
        if let Some(m) = dt.field(MONTH) {
            if !(1..=12).contains(&m) {
                return Err(err(MONTH.start, "month must be 01-12"));
            }
        }
        if let (Some(y), Some(m), Some(d)) = (dt.field(YEAR), dt.field(MONTH), dt.field(DAY)) {
            let max = days_in_month(y as i64, m);
            if d < 1 || d > max {
                return Err(err(
                    DAY.start,
                    format!("day must be 01-{max} in month {m:02} of {y:04}"),
                ));
            }
        }
    }
    for (f, max, what) in [
        (HOUR, 23, "hours"),
        (MINUTE, 59, "minutes"),
        (SECOND, 59, "seconds"),
    ] {
        if let Some(v) = dt.field(f) {
            if v > max {
                return Err(err(f.start, format!("{what} must be 00-{max}")));
            }
        }
    }
    Ok(())
}

fn is_leap(y: i64) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(y) => 29,
        _ => 28,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01 (inverse of [`days_from_civil`]).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Writes `v` as `width` zero-padded digits at `at`.
fn put(text: &mut [u8; LEN], at: usize, width: usize, mut v: u64) {
    for i in (at..at + width).rev() {
        text[i] = b'0' + (v % 10) as u8;
        v /= 10;
    }
}

impl CimDateTime {
    /// The timestamp of a Unix time (`secs` since 1970-01-01T00:00:00Z plus
    /// `micros`, which may exceed a second), written as local time in a zone
    /// `offset_minutes` east of UTC. The offset is clamped to ±999 minutes and
    /// the instant to years 0000-9999 (the format holds nothing else).
    pub fn from_unix(secs: i64, micros: u32, offset_minutes: i16) -> CimDateTime {
        Self::from_unix_micros(
            secs as i128 * MICROS_PER_SEC + micros as i128,
            offset_minutes,
        )
    }

    fn from_unix_micros(utc_micros: i128, offset_minutes: i16) -> CimDateTime {
        let offset = offset_minutes.clamp(-MAX_OFFSET_MINUTES, MAX_OFFSET_MINUTES);
        let min = days_from_civil(0, 1, 1) as i128 * MICROS_PER_DAY;
        let max = (days_from_civil(9999, 12, 31) as i128 + 1) * MICROS_PER_DAY - 1;
        let local = (utc_micros + offset as i128 * 60 * MICROS_PER_SEC).clamp(min, max);
        let days = local.div_euclid(MICROS_PER_DAY);
        let rem = local.rem_euclid(MICROS_PER_DAY);
        let (y, m, d) = civil_from_days(days as i64);
        let secs = (rem / MICROS_PER_SEC) as u64;
        let mut text = [0u8; LEN];
        put(&mut text, YEAR.start, 4, y as u64);
        put(&mut text, MONTH.start, 2, m as u64);
        put(&mut text, DAY.start, 2, d as u64);
        put(&mut text, HOUR.start, 2, secs / 3600);
        put(&mut text, MINUTE.start, 2, secs / 60 % 60);
        put(&mut text, SECOND.start, 2, secs % 60);
        text[DOT] = b'.';
        put(&mut text, MICROS.start, 6, (rem % MICROS_PER_SEC) as u64);
        text[SIGN] = if offset < 0 { b'-' } else { b'+' };
        put(&mut text, OFFSET.start, 3, offset.unsigned_abs() as u64);
        CimDateTime { text }
    }

    /// The Unix time (seconds, microseconds) of a fully significant timestamp;
    /// `None` for intervals and for values with asterisks.
    pub fn to_unix(&self) -> Option<(i64, u32)> {
        if self.is_interval() {
            return None;
        }
        let (lo, hi) = self.bounds();
        if lo != hi {
            return None;
        }
        Some((
            lo.div_euclid(MICROS_PER_SEC) as i64,
            lo.rem_euclid(MICROS_PER_SEC) as u32,
        ))
    }

    /// The timestamp of a [`SystemTime`], in a zone `offset_minutes` east of UTC
    /// (sub-microsecond parts are dropped; clamped like [`Self::from_unix`]).
    pub fn from_system_time(t: SystemTime, offset_minutes: i16) -> CimDateTime {
        let micros = match t.duration_since(UNIX_EPOCH) {
            Ok(d) => d.as_micros() as i128,
            Err(e) => -(e.duration().as_micros() as i128),
        };
        Self::from_unix_micros(micros, offset_minutes)
    }

    /// The instant of a fully significant timestamp.
    pub fn to_system_time(&self) -> Option<SystemTime> {
        let (secs, micros) = self.to_unix()?;
        let since = Duration::new(secs.unsigned_abs(), 0);
        let t = if secs >= 0 {
            UNIX_EPOCH.checked_add(since)?
        } else {
            UNIX_EPOCH.checked_sub(since)?
        };
        t.checked_add(Duration::from_micros(micros as u64))
    }

    /// An interval; each field must fit its place (days ≤ 99999999, hours < 24,
    /// minutes and seconds < 60, micros < 1000000).
    pub fn interval(
        days: u64,
        hours: u8,
        minutes: u8,
        seconds: u8,
        micros: u32,
    ) -> Result<CimDateTime, Error> {
        if days > MAX_INTERVAL_DAYS {
            return Err(err(DAYS.start, "days must be at most 99999999"));
        }
        if hours > 23 {
            return Err(err(HOUR.start, "hours must be 00-23"));
        }
        if minutes > 59 {
            return Err(err(MINUTE.start, "minutes must be 00-59"));
        }
        if seconds > 59 {
            return Err(err(SECOND.start, "seconds must be 00-59"));
        }
        if micros > 999_999 {
            return Err(err(MICROS.start, "microseconds must be 000000-999999"));
        }
        let mut text = [b'0'; LEN];
        put(&mut text, DAYS.start, 8, days);
        put(&mut text, HOUR.start, 2, hours as u64);
        put(&mut text, MINUTE.start, 2, minutes as u64);
        put(&mut text, SECOND.start, 2, seconds as u64);
        text[DOT] = b'.';
        put(&mut text, MICROS.start, 6, micros as u64);
        text[SIGN] = b':';
        Ok(CimDateTime { text })
    }

    /// The interval of a duration; sub-microsecond parts are dropped and
    /// durations past 99999999 days saturate at the longest interval.
    pub fn from_duration(d: Duration) -> CimDateTime {
        let secs = d.as_secs();
        let days = secs / 86_400;
        let r = if days > MAX_INTERVAL_DAYS {
            Self::interval(MAX_INTERVAL_DAYS, 23, 59, 59, 999_999)
        } else {
            let s = secs % 86_400;
            Self::interval(
                days,
                (s / 3600) as u8,
                (s / 60 % 60) as u8,
                (s % 60) as u8,
                d.subsec_micros(),
            )
        };
        // Every field was brought into range above.
        r.unwrap_or(CimDateTime {
            text: *b"00000000000000.000000:000",
        })
    }

    /// The length of a fully significant interval; `None` for timestamps and
    /// for values with asterisks.
    pub fn to_duration(&self) -> Option<Duration> {
        if !self.is_interval() {
            return None;
        }
        let (lo, hi) = self.bounds();
        if lo != hi {
            return None;
        }
        Some(Duration::new(
            (lo / MICROS_PER_SEC) as u64,
            (lo % MICROS_PER_SEC) as u32 * 1000,
        ))
    }

    pub fn is_interval(&self) -> bool {
        self.text[SIGN] == b':'
    }

    /// Whether some field is "not significant" (holds asterisks).
    pub fn has_wildcards(&self) -> bool {
        self.text.contains(&b'*')
    }

    /// The 25 characters.
    pub fn as_str(&self) -> &str {
        // Only ASCII is ever stored (checked by the parser, written by the builders).
        std::str::from_utf8(&self.text).unwrap_or("")
    }

    /// Compares two timestamps by their UTC instants or two intervals by their
    /// lengths. `None` across kinds, or when asterisks leave the order open
    /// (a value with asterisks stands for the range of values it could be).
    pub fn compare(&self, other: &CimDateTime) -> Option<Ordering> {
        if self.is_interval() != other.is_interval() {
            return None;
        }
        let (alo, ahi) = self.bounds();
        let (blo, bhi) = other.bounds();
        if ahi < blo {
            Some(Ordering::Less)
        } else if alo > bhi {
            Some(Ordering::Greater)
        } else if alo == ahi && blo == bhi {
            Some(Ordering::Equal)
        } else {
            None
        }
    }

    /// Year of a timestamp (`None` for intervals or when starred).
    pub fn year(&self) -> Option<u16> {
        self.timestamp_field(YEAR).map(|v| v as u16)
    }
    pub fn month(&self) -> Option<u8> {
        self.timestamp_field(MONTH).map(|v| v as u8)
    }
    pub fn day(&self) -> Option<u8> {
        self.timestamp_field(DAY).map(|v| v as u8)
    }
    /// Days of an interval (`None` for timestamps or when starred).
    pub fn days(&self) -> Option<u64> {
        if self.is_interval() {
            self.field(DAYS).map(u64::from)
        } else {
            None
        }
    }
    pub fn hour(&self) -> Option<u8> {
        self.field(HOUR).map(|v| v as u8)
    }
    pub fn minute(&self) -> Option<u8> {
        self.field(MINUTE).map(|v| v as u8)
    }
    pub fn second(&self) -> Option<u8> {
        self.field(SECOND).map(|v| v as u8)
    }
    /// Microseconds, `None` when any of their digits is starred.
    pub fn microseconds(&self) -> Option<u32> {
        self.field(MICROS)
    }
    /// Minutes east of UTC of a timestamp; `None` for intervals.
    pub fn utc_offset_minutes(&self) -> Option<i16> {
        if self.is_interval() {
            return None;
        }
        let v = self.field(OFFSET)? as i16;
        Some(if self.text[SIGN] == b'-' { -v } else { v })
    }

    fn timestamp_field(&self, f: Field) -> Option<u32> {
        if self.is_interval() {
            None
        } else {
            self.field(f)
        }
    }

    /// The digits of a field, `None` when starred.
    fn field(&self, f: Field) -> Option<u32> {
        self.text[f.start..f.start + f.len]
            .iter()
            .try_fold(0u32, |acc, &b| {
                b.is_ascii_digit().then(|| acc * 10 + (b - b'0') as u32)
            })
    }

    /// A field with asterisks replaced by `fill` digits: '0' gives the smallest
    /// value it may stand for, '9' the largest digit run (clamped by the caller).
    fn filled(&self, f: Field, fill: u8) -> u32 {
        self.text[f.start..f.start + f.len]
            .iter()
            .fold(0u32, |acc, &b| {
                let d = if b.is_ascii_digit() {
                    b - b'0'
                } else {
                    fill - b'0'
                };
                acc * 10 + d as u32
            })
    }

    /// The smallest and largest instant (timestamps: microseconds since the Unix
    /// epoch, UTC) or length (intervals: microseconds) the value stands for.
    fn bounds(&self) -> (i128, i128) {
        let micros_lo = self.filled(MICROS, b'0') as i128;
        let micros_hi = self.filled(MICROS, b'9') as i128;
        let clock = |h: Option<u32>, m: Option<u32>, s: Option<u32>, hi: bool| -> i128 {
            let (dh, dm, ds) = if hi { (23, 59, 59) } else { (0, 0, 0) };
            (h.unwrap_or(dh) as i128 * 3600
                + m.unwrap_or(dm) as i128 * 60
                + s.unwrap_or(ds) as i128)
                * MICROS_PER_SEC
        };
        let (h, mi, s) = (self.field(HOUR), self.field(MINUTE), self.field(SECOND));
        if self.is_interval() {
            let days = |hi: bool| {
                self.field(DAYS)
                    .map(u64::from)
                    .unwrap_or(if hi { MAX_INTERVAL_DAYS } else { 0 }) as i128
            };
            return (
                days(false) * MICROS_PER_DAY + clock(h, mi, s, false) + micros_lo,
                days(true) * MICROS_PER_DAY + clock(h, mi, s, true) + micros_hi,
            );
        }
        let offset = self.utc_offset_minutes().unwrap_or(0) as i128 * 60 * MICROS_PER_SEC;
        let (y, mo, d) = (self.field(YEAR), self.field(MONTH), self.field(DAY));
        let (ylo, yhi) = y.map_or((0, 9999), |v| (v, v));
        let (mlo, mhi) = mo.map_or((1, 12), |v| (v, v));
        let dlo = d.unwrap_or(1);
        let dhi = d.unwrap_or_else(|| days_in_month(yhi as i64, mhi));
        let lo = days_from_civil(ylo as i64, mlo, dlo) as i128 * MICROS_PER_DAY
            + clock(h, mi, s, false)
            + micros_lo;
        let hi = days_from_civil(yhi as i64, mhi, dhi) as i128 * MICROS_PER_DAY
            + clock(h, mi, s, true)
            + micros_hi;
        (lo - offset, hi - offset)
    }
}

impl fmt::Display for CimDateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for CimDateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CimDateTime({:?})", self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip_over_four_centuries_and_edges() {
        for z in (-800_000..800_000).step_by(37) {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
        }
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
    }

    #[test]
    fn field_filling_gives_ranges() {
        let d: CimDateTime = "20261121******.******+000".parse().unwrap();
        let (lo, hi) = d.bounds();
        assert_eq!(hi - lo, MICROS_PER_DAY - 1);
    }
}
