#![no_main]
//! `smbstatus --json` output, the Samba version line and the timestamps it
//! carries: parsing never panics, and a parsed timestamp prints back to
//! itself.
use libfuzzer_sys::fuzz_target;
use openwmi_samba::{smbstatus, Timestamp};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(status) = smbstatus::parse(&text) {
        for t in &status.tcons {
            let again: Timestamp = t
                .connected_at
                .to_string()
                .parse()
                .expect("printed timestamp parses");
            assert_eq!(again, t.connected_at);
        }
        for s in &status.sessions {
            let _ = s.address();
        }
    }
    let _ = smbstatus::parse_version(&text);
    if let Ok(t) = text.parse::<Timestamp>() {
        assert_eq!(t.to_string().parse::<Timestamp>().expect("round trip"), t);
    }
});
