//! Against a live private smbd with clients holding connections, set up by
//! `tests/live/drive.py` (which uses the e2e harness and then runs this test
//! with `OPENWMI_SAMBA_LIVE_CONF` pointing at that smbd's smb.conf).
//! Skipped when the variable is unset.
//!
//! The scenario: owtest1 has two connections (two smbd processes) to
//! `public`, the first with two tree connects and two open files, the second
//! with one open file; owtest2 has three tree connects to `data` (a path with
//! a space) and one open file there.

use openwmi_cim::{CimType, Class, Instance, PropertyDecl, Qualifier, TypeDecl, Value};
use openwmi_samba::{map, SambaSource};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn class(name: &str, props: &[(&str, CimType, bool)]) -> Class {
    let mut c = Class::new(name, None);
    for (p, t, key) in props {
        let mut d = PropertyDecl::new(*p, TypeDecl::scalar(*t));
        if *key {
            d.qualifiers
                .push(Qualifier::new("Key", Some(Value::Boolean(true))));
        }
        c.properties.push(d);
    }
    c
}

fn u32_of(i: &Instance, p: &str) -> Option<u32> {
    match i.value(p) {
        Some(Value::UInt32(v)) => Some(*v),
        _ => None,
    }
}

fn str_of<'a>(i: &'a Instance, p: &str) -> &'a str {
    i.value(p).and_then(Value::as_str).unwrap_or("")
}

/// Needs connections held open by a driver: `python3 crates/samba/tests/live/drive.py`
/// runs it with `--ignored`. The e2e suite (tests/e2e/test_live_samba.py) checks the same
/// against a real smbd in every CI run.
#[test]
#[ignore = "driven by crates/samba/tests/live/drive.py against a private smbd"]
fn live_smbd() {
    let conf = std::env::var("OPENWMI_SAMBA_LIVE_CONF")
        .expect("OPENWMI_SAMBA_LIVE_CONF: run this through crates/samba/tests/live/drive.py");
    use CimType::*;
    let conn_class = class(
        "Win32_ServerConnection",
        &[
            ("ActiveTime", UInt32, false),
            ("ComputerName", String, true),
            ("ConnectionID", UInt32, false),
            ("NumberOfFiles", UInt32, false),
            ("NumberOfUsers", UInt32, false),
            ("ShareName", String, true),
            ("UserName", String, true),
        ],
    );
    let sess_class = class(
        "Win32_ServerSession",
        &[
            ("ActiveTime", UInt32, false),
            ("ComputerName", String, true),
            ("ResourcesOpened", UInt32, false),
            ("SessionType", UInt32, false),
            ("UserName", String, true),
        ],
    );
    let share_class = class(
        "Win32_Share",
        &[
            ("AllowMaximum", Boolean, false),
            ("MaximumAllowed", UInt32, false),
            ("Name", String, true),
            ("Path", String, false),
            ("Type", UInt32, false),
        ],
    );
    let src = Arc::new(
        SambaSource::new()
            .with_smb_conf(&conf)
            .with_freshness(Duration::from_secs(5)),
    );

    // Single flight against the real program.
    let results: Vec<_> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..4).map(|_| s.spawn(|| src.status().unwrap())).collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(results.iter().all(|r| Arc::ptr_eq(r, &results[0])));
    let status = &results[0];
    let shares = src.shares().unwrap();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;

    let conns = map::server_connections(status, &shares, &conn_class, now);
    for c in &conns {
        eprintln!(
            "{} {} {} id={:?} files={:?} users={:?} active={:?}",
            str_of(c, "ComputerName"),
            str_of(c, "ShareName"),
            str_of(c, "UserName"),
            u32_of(c, "ConnectionID"),
            u32_of(c, "NumberOfFiles"),
            u32_of(c, "NumberOfUsers"),
            u32_of(c, "ActiveTime")
        );
    }
    let find = |share: &str, user: &str| {
        conns
            .iter()
            .find(|c| str_of(c, "ShareName") == share && str_of(c, "UserName") == user)
            .unwrap_or_else(|| panic!("no connection {share} {user}"))
    };
    let public = find("public", "owtest1");
    assert_eq!(u32_of(public, "NumberOfUsers"), Some(2));
    assert_eq!(u32_of(public, "NumberOfFiles"), Some(3));
    let lowest = status
        .tcons
        .iter()
        .filter(|t| t.service == "public")
        .map(|t| t.tcon_id)
        .min();
    assert_eq!(u32_of(public, "ConnectionID"), lowest);
    let data = find("data", "owtest2");
    assert_eq!(u32_of(data, "NumberOfUsers"), Some(1));
    assert_eq!(u32_of(data, "NumberOfFiles"), Some(1));
    assert_eq!(conns.len(), 2);

    let sessions = map::server_sessions(status, "nobody", &sess_class, now);
    let s1 = sessions
        .iter()
        .find(|s| str_of(s, "UserName") == "owtest1")
        .unwrap();
    assert_eq!(u32_of(s1, "ResourcesOpened"), Some(3));
    assert_eq!(u32_of(s1, "SessionType"), Some(2));
    let s2 = sessions
        .iter()
        .find(|s| str_of(s, "UserName") == "owtest2")
        .unwrap();
    assert_eq!(u32_of(s2, "ResourcesOpened"), Some(1));
    assert!(u32_of(s2, "ActiveTime").is_some());

    let share_instances = map::shares(&shares, &share_class);
    let names: Vec<_> = share_instances.iter().map(|i| str_of(i, "Name")).collect();
    assert_eq!(names, ["public", "private", "data", "IPC$"]);
    assert_eq!(u32_of(&share_instances[2], "MaximumAllowed"), Some(5));
    assert!(str_of(&share_instances[2], "Path").ends_with("/shares/data dir"));
}
