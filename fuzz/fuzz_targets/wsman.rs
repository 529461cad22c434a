#![no_main]
use libfuzzer_sys::fuzz_target;
use openwmi_wsman::{decode, plan, Limits};

// Arbitrary bytes through the WS-Management envelope decoder (its fast path
// compared with the full parser), under each declared charset (WS-Eventing
// bodies included), then the planner: no panic, and every refusal writes a
// fault envelope that is well-formed enough to be decoded again.
fuzz_target!(|data: &[u8]| {
    let (selector, body) = match data.split_first() {
        Some((s, rest)) => (*s, rest),
        None => (0, data),
    };
    let content_type = match selector % 4 {
        0 => None,
        1 => Some("application/soap+xml;charset=UTF-8"),
        2 => Some("application/soap+xml;charset=utf-16"),
        _ => Some("application/soap+xml;charset=\"utf-16be\""),
    };
    let limits = Limits::default();
    // The fast path for Gets reads what it accepts exactly as the full
    // parser does.
    if let Ok(text) = std::str::from_utf8(body) {
        if let Some(fast) = openwmi_wsman::envelope::decode_fast(text, &limits) {
            let full = openwmi_wsman::envelope::decode_full(body, None, &limits)
                .expect("the full parser accepts what the fast path accepts");
            assert_eq!(fast, full, "the fast path reads otherwise");
        }
    }
    let fault = match decode(body, content_type, &limits) {
        // WS-Eventing's requests are answered beside the planner.
        Ok(envelope) if openwmi_wsman::eventing::claims(&envelope) => return,
        Ok(envelope) => match plan::plan(&envelope) {
            Ok(_) => return,
            Err(f) => f,
        },
        Err(rejected) => rejected.fault,
    };
    let text = fault.envelope(Some("uuid:1"), "host");
    decode(text.as_bytes(), None, &limits).expect("a fault envelope decodes");
});
