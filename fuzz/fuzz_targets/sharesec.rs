#![no_main]
//! `sharesec --view` text: parsing never panics, and evaluating what it
//! gives never grants more than the entries allow.
use libfuzzer_sys::fuzz_target;
use openwmi_samba::sharesec;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(aces) = sharesec::parse_view(&text) {
        let sids: Vec<String> = aces.iter().take(3).map(|a| a.sid.clone()).collect();
        let all_allowed = aces
            .iter()
            .filter(|a| a.allowed)
            .fold(0u32, |m, a| m | a.mask);
        let g = sharesec::granted(&aces, &sids);
        assert_eq!(g & !all_allowed, 0);
        assert_eq!(sharesec::share_access(&aces, &sids, true) & sharesec::WRITE_RIGHTS, 0);
    }
});
