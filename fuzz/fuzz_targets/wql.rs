#![no_main]
//! WQL parser: never panics; whatever parses prints canonical text that
//! parses back to the same tree and prints the same again.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(query) = openwmi_wql::parse(text) {
        let printed = query.to_string();
        let again = match openwmi_wql::parse(&printed) {
            Ok(q) => q,
            Err(e) => panic!("{text:?} printed as {printed:?}, which fails: {e}"),
        };
        assert_eq!(again, query, "{printed:?}");
        assert_eq!(again.to_string(), printed);
    }
});
