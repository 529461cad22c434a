#![no_main]
use libfuzzer_sys::fuzz_target;
use openwmi_mounts::{fstab, mountinfo, netfs};

// Both parsers must never panic; whatever parses must print and parse back
// to the same entries.
fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(entries) = mountinfo::parse(text) {
        for e in &entries {
            let printed = e.to_string();
            let again = mountinfo::parse_line(&printed).expect("printed mountinfo line parses");
            assert_eq!(&again, e);
            let _ = netfs::to_unc(&e.fs_type, &e.source);
            let _ = netfs::user_name(
                &e.fs_type,
                &e.source,
                [e.mount_options.as_str(), e.super_options.as_str()],
            );
        }
    }
    if let Ok(entries) = fstab::parse(text) {
        for e in &entries {
            let _ = netfs::to_unc(&e.fs_type, &e.spec);
            let _ = e.effective_type_and_source();
        }
    }
});
