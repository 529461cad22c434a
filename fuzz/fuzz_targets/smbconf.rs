#![no_main]
//! smb.conf / `testparm -s` text: parsing never panics, and the canonical
//! print of a parsed document parses to the same items.
use libfuzzer_sys::fuzz_target;
use openwmi_samba::smbconf::{self, Document};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = smbconf::parse(&text);
    if let Ok(doc) = Document::parse(&text, None) {
        let printed = doc.to_string();
        let again = Document::parse(&printed, None).expect("canonical text parses");
        let kinds = |d: &Document| d.items.iter().map(|i| i.kind.clone()).collect::<Vec<_>>();
        assert_eq!(kinds(&doc), kinds(&again), "{printed:?}");
    }
});
