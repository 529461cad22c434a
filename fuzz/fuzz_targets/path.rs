#![no_main]
//! Object paths from arbitrary text: parsing never panics, and a parsed path
//! prints (WMI and URI forms) to text that parses back to an equal path and
//! prints identically again.
use libfuzzer_sys::fuzz_target;
use openwmi_cim::ObjectPath;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

fn hash_of(p: &ObjectPath) -> u64 {
    let mut h = DefaultHasher::new();
    p.hash(&mut h);
    h.finish()
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(path) = ObjectPath::parse(text) else {
        return;
    };
    assert_eq!(path, path);
    let printed = path.to_string();
    let again = ObjectPath::parse(&printed)
        .unwrap_or_else(|e| panic!("{text:?} printed as {printed:?}, which fails: {e}"));
    assert_eq!(again, path, "{text:?} -> {printed:?}");
    assert_eq!(hash_of(&again), hash_of(&path));
    assert_eq!(again.to_string(), printed);
    let uri = path.to_uri_string();
    let from_uri =
        ObjectPath::parse(&uri).unwrap_or_else(|e| panic!("{text:?} as URI {uri:?} fails: {e}"));
    assert_eq!(from_uri, path, "{text:?} -> {uri:?}");
    assert_eq!(from_uri.to_uri_string(), uri);
    for k in path.bindings() {
        let _ = k.as_path();
    }
});
