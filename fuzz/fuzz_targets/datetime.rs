#![no_main]
//! CIM datetimes from arbitrary text: parsing never panics, a parsed value
//! prints its exact input, and the conversions agree with each other.
use libfuzzer_sys::fuzz_target;
use openwmi_cim::CimDateTime;
use std::cmp::Ordering;

/// Maps bytes onto the 25-character layout (digits or '*' in the fields,
/// '.', a sign or ':', three offset digits), so that most inputs get past the
/// syntax checks: raw bytes almost never form a valid datetime, and the
/// conversions below would go unexercised.
fn shaped(data: &[u8]) -> Option<String> {
    const FIELD: &[u8] = b"0123456789*";
    let bytes = data.get(..25)?;
    let text = bytes
        .iter()
        .enumerate()
        .map(|(i, &b)| match i {
            14 => '.',
            21 => [b'+', b'-', b':'][usize::from(b) % 3] as char,
            22..=24 => (b'0' + b % 10) as char,
            _ => FIELD[usize::from(b) % FIELD.len()] as char,
        })
        .collect();
    Some(text)
}

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        check(text);
    }
    if let Some(text) = shaped(data) {
        check(&text);
    }
});

fn check(text: &str) {
    let Ok(d) = text.parse::<CimDateTime>() else {
        return;
    };
    let printed = d.to_string();
    assert_eq!(printed, text);
    let again: CimDateTime = printed.parse().expect("printed datetime reparses");
    assert_eq!(again, d);
    if !d.has_wildcards() {
        assert_eq!(d.compare(&d), Some(Ordering::Equal));
    }
    if let Some((secs, micros)) = d.to_unix() {
        let offset = d.utc_offset_minutes().unwrap_or(0);
        let back = CimDateTime::from_unix(secs, micros, offset);
        assert_eq!(back.compare(&d), Some(Ordering::Equal), "{text}");
        assert_eq!(back.to_unix(), Some((secs, micros)));
        if let Some(t) = d.to_system_time() {
            assert_eq!(
                CimDateTime::from_system_time(t, offset).to_unix(),
                Some((secs, micros))
            );
        }
    }
    if let Some(dur) = d.to_duration() {
        assert_eq!(CimDateTime::from_duration(dur), d);
    }
}
