//! Bounded property tests: the parsers never panic, and printing then
//! parsing gives back the same value.

use openwmi_samba::{smbconf, smbstatus, Timestamp};
use proptest::prelude::*;
use serde_json::{Map, Value};

const CAPTURE: &str = include_str!("data/smbstatus-4.23-ctdb-synthetic.json");

const KEYS: &[&str] = &[
    "version",
    "sessions",
    "tcons",
    "open_files",
    "session_id",
    "server_id",
    "pid",
    "vnn",
    "task_id",
    "unique_id",
    "uid",
    "gid",
    "username",
    "groupname",
    "remote_machine",
    "hostname",
    "session_dialect",
    "encryption",
    "signing",
    "cipher",
    "degree",
    "creation_time",
    "channels",
    "channel_id",
    "transport",
    "service",
    "tcon_id",
    "machine",
    "connected_at",
    "service_path",
    "filename",
    "opens",
    "share_file_id",
    "opened_at",
    "timestamp",
    "1",
    "2",
];

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map(Value::Number).unwrap_or(Value::Null)),
        "[0-9]{0,25}".prop_map(Value::String),
        "(19|20|30)[0-9]{2}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9](\\.[0-9]{1,9})?([+-][0-9]{2}:?[0-9]{2}|Z)?"
            .prop_map(Value::String),
        ".{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(6, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(KEYS), inner), 0..8).prop_map(|kv| {
                Value::Object(
                    kv.into_iter()
                        .map(|(k, v)| (k.to_string(), v))
                        .collect::<Map<_, _>>(),
                )
            }),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn smbstatus_never_panics_on_text(s in "[{}\\[\\]\":,0-9a-z_ .+\\-]{0,300}") {
        let _ = smbstatus::parse(&s);
    }

    #[test]
    fn smbstatus_never_panics_on_structured_json(v in json_value()) {
        let _ = smbstatus::parse(&v.to_string());
    }

    #[test]
    fn smbstatus_never_panics_on_a_damaged_capture(pos in 0usize..CAPTURE.len(), byte in any::<u8>(), cut in any::<bool>()) {
        let mut bytes = CAPTURE.as_bytes().to_vec();
        if cut {
            bytes.truncate(pos);
        } else {
            bytes[pos] = byte;
        }
        let _ = smbstatus::parse(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn version_never_panics(s in ".{0,40}") {
        let _ = smbstatus::parse_version(&s);
    }

    #[test]
    fn timestamp_round_trip(secs in -62_135_596_800i64..253_402_300_799, micros in 0u32..1_000_000, offset in -1439i16..1440) {
        let t = Timestamp { unix_secs: secs, micros, offset_minutes: offset };
        let printed = t.to_string();
        prop_assert_eq!(printed.parse::<Timestamp>().unwrap(), t);
    }

    #[test]
    fn timestamp_never_panics(s in "[0-9T:.+\\-Z ]{0,40}") {
        if let Ok(t) = s.parse::<Timestamp>() {
            prop_assert_eq!(t.to_string().parse::<Timestamp>().unwrap(), t);
        }
    }

    #[test]
    fn smbconf_never_panics_and_round_trips(s in "([\\[\\]=;#\\\\a-z $%/_\\t]{0,30}\\r?\\n){0,12}") {
        let _ = smbconf::parse(&s);
        // A value ending in a backslash has no smb.conf spelling (see Document's Display).
        let printable = |d: &smbconf::Document| d.items.iter().all(|i| {
            !matches!(&i.kind, smbconf::ItemKind::Param { value, .. } if value.ends_with('\\'))
        });
        if let Some(doc) = smbconf::Document::parse(&s, None).ok().filter(printable) {
            let again = smbconf::Document::parse(&doc.to_string(), None).unwrap();
            let kinds = |d: &smbconf::Document| d.items.iter().map(|i| i.kind.clone()).collect::<Vec<_>>();
            prop_assert_eq!(kinds(&doc), kinds(&again));
        }
    }
}
