#![no_main]
//! An `allowed_destinations` entry of `[indications]` and a destination
//! URL, both arbitrary: never panics; an entry that parses allows what it
//! names (an address entry its own address, a URL prefix its own URL).
use libfuzzer_sys::fuzz_target;
use openwmi_client::export::ListenerUrl;
use openwmi_indications::DestinationPattern;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (entry, url) = text.split_once('\n').unwrap_or((text, "http://127.0.0.1/"));
    let Ok(p) = DestinationPattern::try_from(entry.to_owned()) else {
        return;
    };
    if let Ok(u) = ListenerUrl::parse(url) {
        let _ = p.allows(&u);
    }
    match &p {
        DestinationPattern::Prefix(u) => assert!(p.allows(u), "{entry}"),
        DestinationPattern::Block { network, .. } => {
            let host = match network {
                std::net::IpAddr::V4(a) => a.to_string(),
                std::net::IpAddr::V6(a) => format!("[{a}]"),
            };
            let u = ListenerUrl::parse(&format!("http://{host}:5000/")).unwrap();
            assert!(p.allows(&u), "{entry}");
        }
        DestinationPattern::Host(_) => {}
    }
});
