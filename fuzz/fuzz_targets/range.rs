#![no_main]
//! Threshold ranges of `openwmi check` (`openwmi_check::Range::parse`): any
//! text, and text built from the pieces ranges are written with, never
//! panics; an accepted range prints to a text that parses back (within the
//! length limit) to a range alerting on the same values.
use libfuzzer_sys::fuzz_target;
use openwmi_check::Range;

const PIECES: &[&str] = &[
    "0", "1", "2", "5", "9", "10", "-", "+", ".", ":", "~", "@", "e", " ", "x", "99999999999",
];

fn shaped(data: &[u8]) -> String {
    data.iter()
        .map(|&b| PIECES[usize::from(b) % PIECES.len()])
        .collect()
}

fn check(text: &str) {
    let Ok(r) = Range::parse(text) else {
        return;
    };
    let printed = r.to_string();
    // A number can print a digit longer than written (`.5` is `0.5`): past
    // the length limit the print is not read back.
    if printed.len() > openwmi_check::MAX_RANGE_LEN {
        return;
    }
    let back = Range::parse(&printed).unwrap_or_else(|e| panic!("{text:?} -> {printed:?}: {e}"));
    for v in [f64::MIN, -10.0, -1.0, 0.0, 0.5, 1.0, 5.0, 10.0, 1e12, f64::MAX] {
        assert_eq!(r.alerts(v), back.alerts(v), "{text:?} -> {printed:?} at {v}");
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        check(text);
    }
    check(&shaped(data));
});
