//! The RFC 3339 timestamps `smbstatus --json` writes
//! (`2026-11-21T12:41:52.838255+00:00`; the top-level `timestamp` uses
//! `+0000`), parsed by hand into Unix time.

use crate::error::Error;
use std::fmt;
use std::str::FromStr;

/// A point in time: seconds and microseconds since the Unix epoch (UTC),
/// plus the UTC offset it was written with (kept so that printing gives back
/// the same local time).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Timestamp {
    pub unix_secs: i64,
    pub micros: u32,
    pub offset_minutes: i16,
}

impl Timestamp {
    /// Seconds from `self` to `now_unix`, counted as the difference of
    /// whole seconds (the fraction of `self` is ignored), clamped to the
    /// range of a uint32 (a clock that went backwards gives 0).
    pub fn seconds_until(&self, now_unix: i64) -> u32 {
        let d = now_unix.saturating_sub(self.unix_secs);
        d.clamp(0, i64::from(u32::MAX)) as u32
    }
}

fn err(pos: usize, message: impl Into<String>) -> Error {
    Error::Timestamp {
        pos,
        message: message.into(),
    }
}

struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn digits(&mut self, min: usize, max: usize, what: &str) -> Result<i64, Error> {
        let start = self.pos;
        let mut v: i64 = 0;
        while self.pos < self.bytes.len() && self.pos - start < max {
            let b = self.bytes[self.pos];
            if !b.is_ascii_digit() {
                break;
            }
            v = v * 10 + i64::from(b - b'0');
            self.pos += 1;
        }
        if self.pos - start < min {
            return Err(err(start, format!("expected {min} digits of {what}")));
        }
        Ok(v)
    }

    fn expect(&mut self, c: u8) -> Result<(), Error> {
        match self.bytes.get(self.pos) {
            Some(&b) if b == c => {
                self.pos += 1;
                Ok(())
            }
            _ => Err(err(self.pos, format!("expected '{}'", c as char))),
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

impl FromStr for Timestamp {
    type Err = Error;

    fn from_str(s: &str) -> Result<Timestamp, Error> {
        let mut c = Cursor {
            bytes: s.as_bytes(),
            pos: 0,
        };
        // Samba prints NTTIME "infinity" with a five-digit year.
        let year = c.digits(4, 5, "year")?;
        c.expect(b'-')?;
        let month_pos = c.pos;
        let month = c.digits(2, 2, "month")?;
        if !(1..=12).contains(&month) {
            return Err(err(month_pos, "month out of range"));
        }
        c.expect(b'-')?;
        let day_pos = c.pos;
        let day = c.digits(2, 2, "day")?;
        if day < 1 || day > days_in_month(year, month) {
            return Err(err(day_pos, "day out of range"));
        }
        match c.peek() {
            Some(b'T') | Some(b't') | Some(b' ') => c.pos += 1,
            _ => return Err(err(c.pos, "expected 'T'")),
        }
        let hour_pos = c.pos;
        let hour = c.digits(2, 2, "hour")?;
        if hour > 23 {
            return Err(err(hour_pos, "hour out of range"));
        }
        c.expect(b':')?;
        let min_pos = c.pos;
        let minute = c.digits(2, 2, "minute")?;
        if minute > 59 {
            return Err(err(min_pos, "minute out of range"));
        }
        c.expect(b':')?;
        let sec_pos = c.pos;
        let second = c.digits(2, 2, "second")?;
        if second > 59 {
            return Err(err(sec_pos, "second out of range"));
        }
        let mut micros: u32 = 0;
        if c.peek() == Some(b'.') {
            c.pos += 1;
            let start = c.pos;
            let mut n = 0;
            while let Some(b) = c.peek().filter(u8::is_ascii_digit) {
                if n < 6 {
                    micros = micros * 10 + u32::from(b - b'0');
                }
                n += 1;
                c.pos += 1;
                if n > 9 {
                    return Err(err(start, "more than 9 fraction digits"));
                }
            }
            if n == 0 {
                return Err(err(start, "expected fraction digits"));
            }
            for _ in n..6 {
                micros *= 10;
            }
        }
        let offset_minutes: i64 = match c.peek() {
            Some(b'Z') | Some(b'z') => {
                c.pos += 1;
                0
            }
            Some(sign @ (b'+' | b'-')) => {
                c.pos += 1;
                let oh_pos = c.pos;
                let oh = c.digits(2, 2, "offset hours")?;
                if c.peek() == Some(b':') {
                    c.pos += 1;
                }
                let om = c.digits(2, 2, "offset minutes")?;
                if oh > 23 || om > 59 {
                    return Err(err(oh_pos, "offset out of range"));
                }
                let o = oh * 60 + om;
                if sign == b'-' {
                    -o
                } else {
                    o
                }
            }
            _ => return Err(err(c.pos, "expected a UTC offset (Z, +HH:MM or +HHMM)")),
        };
        if c.pos != s.len() {
            return Err(err(c.pos, "unexpected text after the timestamp"));
        }
        let local = days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second;
        Ok(Timestamp {
            unix_secs: local - offset_minutes * 60,
            micros,
            offset_minutes: offset_minutes as i16,
        })
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let local = self.unix_secs + i64::from(self.offset_minutes) * 60;
        let (y, mo, d) = civil_from_days(local.div_euclid(86_400));
        let sod = local.rem_euclid(86_400);
        let sign = if self.offset_minutes < 0 { '-' } else { '+' };
        let off = self.offset_minutes.unsigned_abs();
        write!(
            f,
            "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}.{:06}{sign}{:02}:{:02}",
            sod / 3600,
            sod / 60 % 60,
            sod % 60,
            self.micros,
            off / 60,
            off % 60
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_samba_forms() {
        let t: Timestamp = "2026-11-21T12:41:52.838255+00:00".parse().unwrap();
        assert_eq!(t.unix_secs, 1_795_264_912);
        assert_eq!(t.micros, 838_255);
        let t2: Timestamp = "2026-11-21T12:41:58.874850+0000".parse().unwrap();
        assert_eq!(t2.unix_secs, 1_795_264_918);
        let t3: Timestamp = "2026-11-21T13:41:52.838255+01:00".parse().unwrap();
        assert_eq!(t3.unix_secs, t.unix_secs);
        assert_eq!(t3.offset_minutes, 60);
        let t4: Timestamp = "1970-01-01T00:00:00Z".parse().unwrap();
        assert_eq!((t4.unix_secs, t4.micros), (0, 0));
        let neg: Timestamp = "1969-12-31T23:59:59.5-00:30".parse().unwrap();
        assert_eq!(neg.unix_secs, 1799);
        assert_eq!(neg.micros, 500_000);
        // NTTIME infinity as Samba prints it.
        let inf: Timestamp = "30828-09-14T02:48:05.477580+00:00".parse().unwrap();
        assert!(inf.unix_secs > 900_000_000_000);
    }

    #[test]
    fn print_parse_round_trip() {
        for s in [
            "2026-11-21T12:41:52.838255+00:00",
            "2024-02-29T23:59:59.000001-05:30",
            "1969-12-31T23:59:59.500000-00:30",
            "30828-09-14T02:48:05.477580+00:00",
        ] {
            let t: Timestamp = s.parse().unwrap();
            assert_eq!(t.to_string(), s);
            assert_eq!(t.to_string().parse::<Timestamp>().unwrap(), t);
        }
    }

    #[test]
    fn rejects_with_position() {
        for (s, pos) in [
            ("", 0),
            ("2026-13-01T00:00:00Z", 5),
            ("2025-02-29T00:00:00Z", 8),
            ("2026-01-01T24:00:00Z", 11),
            ("2026-01-01T00:00:00", 19),
            ("2026-01-01T00:00:00.Z", 20),
            ("2026-01-01T00:00:00Zjunk", 20),
            ("2026-01-01X00:00:00Z", 10),
        ] {
            match s.parse::<Timestamp>() {
                Err(Error::Timestamp { pos: p, .. }) => assert_eq!(p, pos, "{s}"),
                other => panic!("{s}: {other:?}"),
            }
        }
    }

    #[test]
    fn seconds_until_clamps() {
        let t = Timestamp {
            unix_secs: 100,
            micros: 0,
            offset_minutes: 0,
        };
        assert_eq!(t.seconds_until(160), 60);
        assert_eq!(t.seconds_until(50), 0);
        assert_eq!(t.seconds_until(i64::MAX), u32::MAX);
    }
}
