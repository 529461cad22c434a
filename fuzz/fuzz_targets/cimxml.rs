#![no_main]
use libfuzzer_sys::fuzz_target;
use openwmi_cimxml::{check_headers, decode_request, decode_response, encode_request, Limits};

// Arbitrary bytes through the server-side decoder (and the client-side one):
// no panic, and whatever decodes re-encodes to a body that decodes and
// re-encodes to the same text (text, not values: a NaN key never equals
// itself).
fuzz_target!(|data: &[u8]| {
    let limits = Limits::request();
    match decode_request(data, &limits) {
        Ok(req) => {
            let _ = check_headers(Some(req.method_name()), Some("root%2Fcimv2"), &req);
            let again = encode_request(&req.message_id, &req.namespace, &req.operation);
            let back =
                decode_request(again.as_bytes(), &limits).expect("an encoded request decodes");
            assert_eq!(
                encode_request(&back.message_id, &back.namespace, &back.operation),
                again
            );
        }
        Err(e) => {
            let _ = e.to_string();
            let _ = e.error_response();
        }
    }
    let _ = decode_response(data, &Limits::default());
});
