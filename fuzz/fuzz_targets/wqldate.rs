#![no_main]
//! WQL date constants (`openwmi_wql::parse_date`): any text, and text built
//! from the pieces dates are written with, never panics; a date read from
//! another spelling is a UTC timestamp without wildcards, and its DMTF print
//! reads back to itself.
use libfuzzer_sys::fuzz_target;
use openwmi_cim::CimDateTime;
use openwmi_wql::parse_date;

/// The pieces of the documented date and time spellings, one per byte, so
/// that most inputs come near a date.
const PIECES: &[&str] = &[
    "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "/", "-", ".", ",", " ", ":", "AM", "pm",
    "Jan", "january", "FEB", "February", "mar", "Sep", "september", "Dec", "12", "31", "29",
    "1932", "2000", "1900", "00", "99", "\t", "x", "May", "+000",
];

fn shaped(data: &[u8]) -> String {
    data.iter()
        .map(|&b| PIECES[usize::from(b) % PIECES.len()])
        .collect()
}

fn check(text: &str) {
    let Some(d) = parse_date(text) else {
        return;
    };
    let printed = d.to_string();
    assert_eq!(parse_date(&printed), Some(d.clone()), "{text:?} -> {printed:?}");
    if text.trim().parse::<CimDateTime>().is_err() {
        assert!(!d.has_wildcards() && !d.is_interval(), "{text:?} -> {printed:?}");
        assert_eq!(d.utc_offset_minutes(), Some(0), "{text:?}");
        let (secs, micros) = d.to_unix().expect("a date is a timestamp");
        assert_eq!(CimDateTime::from_unix(secs, micros, 0), d, "{text:?}");
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        check(text);
    }
    check(&shaped(data));
});
