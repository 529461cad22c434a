#![no_main]
//! smb.conf / `testparm -s` text: parsing never panics, and the canonical
//! print of a parsed document parses to the same items.
use libfuzzer_sys::fuzz_target;
use openwmi_samba::smbconf::{self, Document};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = smbconf::parse(&text);
    // A value ending in a backslash has no smb.conf spelling (see Document's Display).
    let printable = |d: &Document| {
        d.items.iter().all(|i| {
            !matches!(&i.kind, smbconf::ItemKind::Param { value, .. } if value.ends_with('\\'))
        })
    };
    if let Some(doc) = Document::parse(&text, None).ok().filter(printable) {
        let printed = doc.to_string();
        let again = Document::parse(&printed, None).expect("canonical text parses");
        let kinds = |d: &Document| d.items.iter().map(|i| i.kind.clone()).collect::<Vec<_>>();
        assert_eq!(kinds(&doc), kinds(&again), "{printed:?}");
    }
});
