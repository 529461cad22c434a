//! The real captures of the infra harness (Samba 4.17.12, Debian 12) through
//! the public API: parse, then map to CIM instances.

use openwmi_cim::{CimType, Class, Instance, PropertyDecl, Qualifier, TypeDecl, Value};
use openwmi_samba::{map, smbconf, smbstatus, Status};

fn data(name: &str) -> String {
    std::fs::read_to_string(format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn status(name: &str) -> Status {
    smbstatus::parse(&data(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

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

fn connection_class() -> Class {
    use CimType::*;
    class(
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
    )
}

fn session_class() -> Class {
    use CimType::*;
    class(
        "Win32_ServerSession",
        &[
            ("ActiveTime", UInt32, false),
            ("ClientType", String, false),
            ("ComputerName", String, true),
            ("IdleTime", UInt32, false),
            ("ResourcesOpened", UInt32, false),
            ("SessionType", UInt32, false),
            ("TransportName", String, false),
            ("UserName", String, true),
        ],
    )
}

fn u32_of(i: &Instance, p: &str) -> u32 {
    match i.value(p) {
        Some(Value::UInt32(v)) => *v,
        other => panic!("{p}: {other:?}"),
    }
}

fn str_of<'a>(i: &'a Instance, p: &str) -> &'a str {
    i.value(p).and_then(Value::as_str).unwrap()
}

fn shares() -> Vec<smbconf::Share> {
    smbconf::parse(&data("testparm-s.txt")).unwrap().shares
}

fn now_of(s: &Status) -> i64 {
    s.timestamp.unwrap().unix_secs
}

#[test]
fn testparm_dump() {
    let conf = smbconf::parse(&data("testparm-s.txt")).unwrap();
    assert_eq!(conf.globals.netbios_name.as_deref(), Some("OWTESTSRV"));
    let names: Vec<_> = conf.shares.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["public", "private", "data"]);
    let data_share = &conf.shares[2];
    assert_eq!(data_share.path, "/tmp/ow-smb-x0jkykj7/shares/data dir");
    assert_eq!(data_share.comment, "Team data (test share)");
    assert_eq!(data_share.max_connections, 5);
    // The raw smb.conf the dump came from gives the same shares.
    let raw = smbconf::parse(&data("harness-smb.conf")).unwrap();
    assert_eq!(raw.shares, conf.shares);
}

#[test]
fn idle_server() {
    let s = status("smbstatus-json-idle.json");
    assert!(s.sessions.is_empty() && s.tcons.is_empty() && s.open_files.is_empty());
    assert!(map::server_connections(&s, &shares(), &connection_class(), now_of(&s)).is_empty());
}

#[test]
fn two_users_two_shares() {
    let s = status("smbstatus-json-two-users-two-shares.json");
    let c = map::server_connections(&s, &shares(), &connection_class(), now_of(&s));
    let mut rows: Vec<_> = c
        .iter()
        .map(|i| {
            (
                str_of(i, "ShareName"),
                str_of(i, "UserName"),
                u32_of(i, "NumberOfUsers"),
            )
        })
        .collect();
    rows.sort();
    assert_eq!(rows, [("private", "owtest2", 1), ("public", "owtest1", 1)]);
    for i in &c {
        assert_eq!(str_of(i, "ComputerName"), "127.0.0.1");
        assert_eq!(
            u32_of(i, "ActiveTime"),
            2,
            "14:03:30 - 14:03:28, whole seconds"
        );
    }
    let sess = map::server_sessions(&s, "nobody", &session_class(), now_of(&s));
    assert_eq!(sess.len(), 2);
}

#[test]
fn one_client_two_open_files() {
    let s = status("smbstatus-json-one-client-two-open-files.json");
    let c = map::server_connections(&s, &shares(), &connection_class(), now_of(&s));
    assert_eq!(c.len(), 1);
    assert_eq!(u32_of(&c[0], "NumberOfFiles"), 2);
    assert_eq!(u32_of(&c[0], "ConnectionID"), 1_555_630_777);
    let sess = map::server_sessions(&s, "nobody", &session_class(), now_of(&s));
    assert_eq!(u32_of(&sess[0], "ResourcesOpened"), 2);
    // Without the configuration no share path is known: no file is counted.
    let c = map::server_connections(&s, &[], &connection_class(), now_of(&s));
    assert_eq!(u32_of(&c[0], "NumberOfFiles"), 0);
}

#[test]
fn three_tree_connects_one_session_same_share() {
    let s = status("smbstatus-json-three-tcons-one-session-same-share.json");
    assert_eq!(s.tcons.len(), 3);
    let c = map::server_connections(&s, &shares(), &connection_class(), now_of(&s));
    assert_eq!(c.len(), 1);
    let i = &c[0];
    assert_eq!(str_of(i, "ShareName"), "data");
    assert_eq!(str_of(i, "UserName"), "owtest2");
    assert_eq!(u32_of(i, "ConnectionID"), 912_493_723, "lowest tcon id");
    assert_eq!(u32_of(i, "NumberOfUsers"), 1, "one distinct session");
    assert_eq!(
        u32_of(i, "ActiveTime"),
        2,
        "from the oldest (14:03:35.31) to 14:03:37"
    );
}

#[test]
fn ipc_and_pipe() {
    let s = status("smbstatus-json-ipc-and-pipe.json");
    let c = map::server_connections(&s, &shares(), &connection_class(), now_of(&s));
    let mut names: Vec<_> = c.iter().map(|i| str_of(i, "ShareName")).collect();
    names.sort();
    assert_eq!(names, ["IPC$", "public"]);
    let sess = map::server_sessions(&s, "nobody", &session_class(), now_of(&s));
    assert_eq!(sess.len(), 1);
    assert_eq!(
        u32_of(&sess[0], "ActiveTime"),
        3,
        "oldest tcon: IPC$ at 14:03:37.8"
    );
}

#[test]
fn guest_and_encrypted() {
    let s = status("smbstatus-json-guest-and-encrypted.json");
    let enc = s.sessions.iter().find(|x| x.username == "owtest2").unwrap();
    assert_eq!(enc.encryption.as_ref().unwrap().cipher, "AES-128-GCM");
    let sess = map::server_sessions(&s, "nobody", &session_class(), now_of(&s));
    let guest = sess
        .iter()
        .find(|i| str_of(i, "UserName") == "nobody")
        .unwrap();
    assert_eq!(u32_of(guest, "SessionType"), 0);
    let user = sess
        .iter()
        .find(|i| str_of(i, "UserName") == "owtest2")
        .unwrap();
    assert_eq!(u32_of(user, "SessionType"), 2);
    assert_eq!(str_of(user, "TransportName"), "ipv4");
    assert_eq!(str_of(user, "ClientType"), "SMB3_11");
}

#[test]
fn non_root_json_is_truncated_and_rejected() {
    let text = data("smbstatus-nonroot.txt");
    let json = text.lines().find(|l| l.starts_with('{')).unwrap();
    let e = smbstatus::parse(json).unwrap_err();
    assert_eq!(e.to_string(), "at $: missing required field \"sessions\"");
}
