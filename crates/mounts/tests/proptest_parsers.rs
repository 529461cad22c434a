//! Bounded property tests: printed entries parse back; arbitrary input
//! never panics.

use openwmi_mounts::{fstab, mountinfo, FstabEntry, MountEntry};
use proptest::prelude::*;

fn field() -> impl Strategy<Value = String> {
    // Includes the escaped characters and non-ASCII text.
    proptest::string::string_regex("[a-zA-Z0-9/:@=,._ \t\n\\\\é-]{1,12}").unwrap()
}

fn mount() -> impl Strategy<Value = MountEntry> {
    (
        (any::<u32>(), any::<u32>(), any::<u32>(), any::<u32>()),
        (field(), field(), field()),
        proptest::collection::vec("[a-z]{1,6}:[0-9]{1,3}", 0..3),
        ("[a-z][a-z0-9.]{0,8}", field(), field()),
    )
        .prop_map(
            |(
                (mount_id, parent_id, major, minor),
                (root, mount_point, mount_options),
                optional_fields,
                (fs_type, source, super_options),
            )| MountEntry {
                mount_id,
                parent_id,
                major,
                minor,
                root,
                mount_point,
                mount_options,
                optional_fields,
                fs_type,
                source,
                super_options,
            },
        )
}

fn fstab_entry() -> impl Strategy<Value = FstabEntry> {
    (
        field(),
        field(),
        field(),
        field(),
        any::<u32>(),
        any::<u32>(),
    )
        .prop_map(
            |(spec, mount_point, fs_type, options, dump_freq, pass)| FstabEntry {
                spec,
                mount_point,
                fs_type,
                options,
                dump_freq,
                pass,
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn mountinfo_print_parse(entries in proptest::collection::vec(mount(), 0..4)) {
        let text: String = entries.iter().map(|e| format!("{e}\n")).collect();
        prop_assert_eq!(mountinfo::parse(&text).unwrap(), entries);
    }

    #[test]
    fn fstab_print_parse(entries in proptest::collection::vec(fstab_entry(), 0..4)) {
        let text: String = entries.iter().map(|e| format!("{e}\n")).collect();
        prop_assert_eq!(fstab::parse(&text).unwrap(), entries);
    }

    #[test]
    fn arbitrary_text_never_panics(text in "[ -~\t\n\\\\]{0,200}") {
        let _ = mountinfo::parse(&text);
        let _ = fstab::parse(&text);
    }
}
