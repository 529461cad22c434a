//! CIM datetime: parsing, printing, comparison and conversions.

use openwmi_cim::{CimDateTime, Error};
use proptest::prelude::*;
use std::cmp::Ordering;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn dt(s: &str) -> CimDateTime {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn err_pos(s: &str) -> usize {
    match s.parse::<CimDateTime>() {
        Err(Error::DateTime { pos, .. }) => pos,
        other => panic!("{s}: expected a datetime error, got {other:?}"),
    }
}

#[test]
fn valid_values_round_trip_exactly() {
    for s in [
        "20261121123456.123456+060",
        "20261121123456.123456-300",
        "20261121123456.123456-000",
        "00000101000000.000000+000",
        "99991231235959.999999+999",
        "20240229000000.000000+000", // leap year
        "20000229000000.000000+000", // divisible by 400
        "20261121******.******+000",
        "20261121123456.123***+060",
        "2026112112****.******+000",
        "**************.******+000",
        "202611********.******-120",
        "00000000000000.000000:000",
        "99999999235959.999999:000",
        "00000001020304.000005:000",
        "00000001******.******:000",
        "**************.******:000",
    ] {
        let d = dt(s);
        assert_eq!(d.to_string(), s);
        assert_eq!(dt(&d.to_string()), d);
    }
}

#[test]
fn malformed_values_report_the_position() {
    let table: &[(&str, usize)] = &[
        ("", 0),
        ("2026", 4),
        ("20261121123456.123456+0600", 25),
        ("20261121123456,123456+060", 14),
        ("20261121123456.123456*060", 21),
        ("20261321123456.123456+060", 4),  // month 13
        ("20260021123456.123456+060", 4),  // month 0
        ("20260230123456.123456+060", 6),  // 30 February
        ("20230229123456.123456+060", 6),  // not a leap year
        ("19000229000000.000000+000", 6),  // century, not a leap year
        ("20260400123456.123456+060", 6),  // day 0
        ("20261121243456.123456+060", 8),  // hour 24
        ("20261121126056.123456+060", 10), // minute 60
        ("20261121123460.123456+060", 12), // second 60: no leap seconds
        ("2026112112345a.123456+060", 13),
        ("20261121123456.123456+06*", 24), // no '*' in the offset
        ("20261121123456.12*456+060", 18), // '*' only from the right
        ("202611211234**.123456+060", 15), // starred seconds need starred micros
        ("20261121**3456.******+000", 10), // contiguous from the right
        ("2026112112*456.******+000", 10), // a field is whole digits or whole '*'
        ("****1121123456.123456+000", 4),  // WMI-style free wildcards are not DSP0004
        ("00000001246000.000000:000", 8),  // interval hours < 24
        ("00000001006000.000000:000", 10),
        ("00000001000060.000000:000", 12),
        ("00000001000000.000000:001", 24),
        ("00000001000000.000000:*00", 22),
        ("2026112112345é.123456+060", 13), // positions count characters
        ("2026112112345é.123456+0600", 13),
    ];
    for (s, pos) in table {
        assert_eq!(err_pos(s), *pos, "{s}");
    }
}

#[test]
fn error_text_says_what_and_where() {
    let e = "20261321123456.123456+060"
        .parse::<CimDateTime>()
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid CIM datetime at character 4: month must be 01-12"
    );
}

#[test]
fn accessors() {
    let d = dt("20261121123456.123456-090");
    assert!(!d.is_interval() && !d.has_wildcards());
    assert_eq!(
        (
            d.year(),
            d.month(),
            d.day(),
            d.hour(),
            d.minute(),
            d.second()
        ),
        (Some(2026), Some(11), Some(21), Some(12), Some(34), Some(56))
    );
    assert_eq!(d.microseconds(), Some(123_456));
    assert_eq!(d.utc_offset_minutes(), Some(-90));
    assert_eq!(d.days(), None);
    let i = dt("00000012010203.000004:000");
    assert!(i.is_interval());
    assert_eq!((i.days(), i.hour(), i.year()), (Some(12), Some(1), None));
    assert_eq!(i.utc_offset_minutes(), None);
    let w = dt("20261121123456.123***+060");
    assert!(w.has_wildcards());
    assert_eq!((w.second(), w.microseconds()), (Some(56), None));
}

#[test]
fn unix_conversions() {
    assert_eq!(
        CimDateTime::from_unix(0, 0, 0).to_string(),
        "19700101000000.000000+000"
    );
    // 2026-11-21T12:34:56.123456Z shown in UTC+01:00 and UTC-05:00.
    let secs = 1_795_264_496;
    let a = CimDateTime::from_unix(secs, 123_456, 60);
    assert_eq!(a.to_string(), "20261121133456.123456+060");
    let b = CimDateTime::from_unix(secs, 123_456, -300);
    assert_eq!(b.to_string(), "20261121073456.123456-300");
    assert_eq!(a.to_unix(), Some((secs, 123_456)));
    assert_eq!(b.to_unix(), Some((secs, 123_456)));
    assert_eq!(a.compare(&b), Some(Ordering::Equal));
    assert_ne!(a, b, "== is on the text");
    // Before the epoch.
    let c = CimDateTime::from_unix(-1, 500_000, 0);
    assert_eq!(c.to_string(), "19691231235959.500000+000");
    assert_eq!(c.to_unix(), Some((-1, 500_000)));
    // Micros past a second carry; out-of-range instants and offsets clamp.
    assert_eq!(
        CimDateTime::from_unix(0, 2_500_000, 0).to_string(),
        "19700101000002.500000+000"
    );
    assert_eq!(
        CimDateTime::from_unix(i64::MAX, 0, 0).to_string(),
        "99991231235959.999999+000"
    );
    assert_eq!(
        CimDateTime::from_unix(i64::MIN, 0, 0).to_string(),
        "00000101000000.000000+000"
    );
    assert_eq!(
        CimDateTime::from_unix(0, 0, i16::MIN).utc_offset_minutes(),
        Some(-999)
    );
    assert_eq!(dt("20261121******.******+000").to_unix(), None);
    assert_eq!(dt("00000001000000.000000:000").to_unix(), None);
}

#[test]
fn system_time_conversions() {
    let t = UNIX_EPOCH + Duration::new(1_795_264_496, 123_456_789);
    let d = CimDateTime::from_system_time(t, 120);
    assert_eq!(d.to_string(), "20261121143456.123456+120");
    assert_eq!(
        d.to_system_time(),
        Some(UNIX_EPOCH + Duration::new(1_795_264_496, 123_456_000))
    );
    let before = UNIX_EPOCH - Duration::from_micros(1_500_000);
    let d = CimDateTime::from_system_time(before, 0);
    assert_eq!(d.to_string(), "19691231235958.500000+000");
    assert_eq!(d.to_system_time(), Some(before));
    let now = SystemTime::now();
    let back = CimDateTime::from_system_time(now, -420)
        .to_system_time()
        .unwrap();
    assert!(now.duration_since(back).unwrap() < Duration::from_micros(1));
}

#[test]
fn intervals_and_durations() {
    let i = CimDateTime::interval(1, 2, 3, 4, 5).unwrap();
    assert_eq!(i.to_string(), "00000001020304.000005:000");
    assert_eq!(i.to_duration(), Some(Duration::new(93_784, 5_000)));
    assert_eq!(CimDateTime::from_duration(Duration::new(93_784, 5_999)), i);
    for (args, pos) in [
        ((100_000_000u64, 0u8, 0u8, 0u8, 0u32), 0usize),
        ((0, 24, 0, 0, 0), 8),
        ((0, 0, 60, 0, 0), 10),
        ((0, 0, 0, 60, 0), 12),
        ((0, 0, 0, 0, 1_000_000), 15),
    ] {
        match CimDateTime::interval(args.0, args.1, args.2, args.3, args.4) {
            Err(Error::DateTime { pos: p, .. }) => assert_eq!(p, pos),
            other => panic!("{args:?}: {other:?}"),
        }
    }
    assert_eq!(
        CimDateTime::from_duration(Duration::MAX).to_string(),
        "99999999235959.999999:000"
    );
    assert_eq!(dt("20261121123456.123456+060").to_duration(), None);
    assert_eq!(dt("00000001******.******:000").to_duration(), None);
}

#[test]
fn comparison() {
    use Ordering::*;
    let table: &[(&str, &str, Option<Ordering>)] = &[
        (
            "20261121123456.000000+000",
            "20261121123457.000000+000",
            Some(Less),
        ),
        (
            "20261121123456.000000+060",
            "20261121113456.000000+000",
            Some(Equal),
        ),
        (
            "20261121123456.000000-060",
            "20261121123456.000000+000",
            Some(Greater),
        ),
        (
            "20261121******.******+000",
            "20261122000000.000000+000",
            Some(Less),
        ),
        (
            "20261121******.******+000",
            "20261120235959.999999+000",
            Some(Greater),
        ),
        (
            "20261121******.******+000",
            "20261121120000.000000+000",
            None,
        ),
        (
            "20261121******.******+000",
            "20261121******.******+000",
            None,
        ),
        (
            "202611********.******+000",
            "20261201000000.000000+000",
            Some(Less),
        ),
        (
            "202602********.******+000",
            "20260301000000.000000+000",
            Some(Less),
        ),
        (
            "20261121123456.123***+000",
            "20261121123456.124000+000",
            Some(Less),
        ),
        (
            "20261121123456.123***+000",
            "20261121123456.123999+000",
            None,
        ),
        (
            "00000001000000.000000:000",
            "00000000235959.999999:000",
            Some(Greater),
        ),
        (
            "00000001******.******:000",
            "00000002000000.000000:000",
            Some(Less),
        ),
        (
            "00000001000000.000000:000",
            "20261121123456.000000+000",
            None,
        ),
    ];
    for (a, b, want) in table {
        assert_eq!(dt(a).compare(&dt(b)), *want, "{a} vs {b}");
        assert_eq!(
            dt(b).compare(&dt(a)),
            want.map(Ordering::reverse),
            "{b} vs {a}"
        );
    }
}

fn timestamp_text() -> impl Strategy<Value = String> {
    (
        0u32..=9999,
        1u32..=12,
        1u32..=31,
        0u32..24,
        0u32..60,
        0u32..60,
        0u32..1_000_000,
        prop_oneof![Just('+'), Just('-')],
        0u32..1000,
        0usize..=12,
    )
        .prop_map(|(y, mo, d, h, mi, s, us, sign, off, stars)| {
            let d = d.min(match mo {
                2 if y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) => 29,
                2 => 28,
                4 | 6 | 9 | 11 => 30,
                _ => 31,
            });
            let mut t = format!("{y:04}{mo:02}{d:02}{h:02}{mi:02}{s:02}.{us:06}{sign}{off:03}")
                .into_bytes();
            star(&mut t, stars, &[0, 4, 6, 8, 10, 12]);
            String::from_utf8(t).unwrap()
        })
}

fn interval_text() -> impl Strategy<Value = String> {
    (
        0u64..=99_999_999,
        0u32..24,
        0u32..60,
        0u32..60,
        0u32..1_000_000,
        0usize..=10,
    )
        .prop_map(|(d, h, mi, s, us, stars)| {
            let mut t = format!("{d:08}{h:02}{mi:02}{s:02}.{us:06}:000").into_bytes();
            star(&mut t, stars, &[0, 8, 10, 12]);
            String::from_utf8(t).unwrap()
        })
}

/// Stars the `n` least significant units: micro digits one by one, then whole fields.
fn star(t: &mut [u8], n: usize, field_starts: &[usize]) {
    for i in 0..n.min(6) {
        t[20 - i] = b'*';
    }
    let whole = n.saturating_sub(6).min(field_starts.len());
    if whole > 0 {
        let from = field_starts[field_starts.len() - whole];
        for b in &mut t[from..14] {
            *b = b'*';
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn generated_values_round_trip(s in prop_oneof![timestamp_text(), interval_text()]) {
        let d: CimDateTime = s.parse().map_err(|e| TestCaseError::fail(format!("{s}: {e}")))?;
        prop_assert_eq!(d.to_string(), s.clone());
        prop_assert_eq!(s.parse::<CimDateTime>().unwrap(), d);
        if !d.has_wildcards() {
            prop_assert_eq!(d.compare(&d), Some(Ordering::Equal));
        }
    }

    #[test]
    fn unix_round_trip(secs in -62_167_219_200i64..253_402_300_799, us in 0u32..1_000_000, off in -999i16..=999) {
        let d = CimDateTime::from_unix(secs, us, off);
        let back: CimDateTime = d.to_string().parse().unwrap();
        prop_assert_eq!(back, d);
        // Local time can fall outside 0000-9999 only when clamped at the ends.
        let local = secs + off as i64 * 60;
        if (-62_167_219_200..253_402_300_799).contains(&local) {
            prop_assert_eq!(d.to_unix(), Some((secs, us)));
        }
    }

    #[test]
    fn duration_round_trip(secs in 0u64..8_639_999_999_999, us in 0u32..1_000_000) {
        let dur = Duration::new(secs, us * 1000);
        let d = CimDateTime::from_duration(dur);
        prop_assert_eq!(d.to_duration(), Some(dur));
        prop_assert_eq!(d.to_string().parse::<CimDateTime>().unwrap(), d);
    }

    #[test]
    fn arbitrary_text_never_panics(s in "\\PC{0,30}") {
        if let Ok(d) = s.parse::<CimDateTime>() {
            prop_assert_eq!(d.to_string(), s);
        }
    }

    #[test]
    fn near_valid_text_never_panics(s in "[0-9*]{14}[.][0-9*]{6}[-+:][0-9*]{3}") {
        if let Ok(d) = s.parse::<CimDateTime>() {
            prop_assert_eq!(d.to_string(), s);
            let _ = d.compare(&d);
            let _ = (d.to_unix(), d.to_duration(), d.to_system_time());
        }
    }
}
