#![no_main]
//! CIM datetimes from arbitrary text: parsing never panics, a parsed value
//! prints its exact input, and the conversions agree with each other.
use libfuzzer_sys::fuzz_target;
use openwmi_cim::CimDateTime;
use std::cmp::Ordering;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
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
});
