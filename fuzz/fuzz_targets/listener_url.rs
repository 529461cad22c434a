#![no_main]
//! A subscription's destination URL (given by a remote caller): never
//! panics; what parses has a host and a path starting with '/', and parses
//! back the same when written out again.
use libfuzzer_sys::fuzz_target;
use openwmi_client::export::ListenerUrl;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(u) = ListenerUrl::parse(text) {
        assert!(!u.host.is_empty());
        assert!(u.path.starts_with('/'));
        let host = if u.host.contains(':') {
            format!("[{}]", u.host)
        } else {
            u.host.clone()
        };
        let scheme = if u.https { "https" } else { "http" };
        let again = format!("{scheme}://{host}:{}{}", u.port, u.path);
        if !u.host.contains(['/', '[', ']', '@']) && !(u.host.contains(':') && u.host.contains(']')) {
            if let Ok(v) = ListenerUrl::parse(&again) {
                assert_eq!(v, u, "{again}");
            }
        }
    }
});
