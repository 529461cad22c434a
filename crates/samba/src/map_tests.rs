use super::*;
use crate::smbconf;
use crate::smbstatus::parse;
use openwmi_cim::{CimType, PropertyDecl, Qualifier, TypeDecl};

const CAPTURE_4_17: &str = include_str!("../tests/data/smbstatus-4.17.json");
const SYNTHETIC_4_23: &str = include_str!("../tests/data/smbstatus-4.23-ctdb-synthetic.json");
/// 2026-11-21T12:50:00Z
const NOW: i64 = 1_795_265_400;

fn class(name: &str, props: &[(&str, TypeDecl, bool)]) -> Class {
    let mut c = Class::new(name, None);
    for (p, ty, key) in props {
        let mut d = PropertyDecl::new(*p, ty.clone());
        if *key {
            d.qualifiers
                .push(Qualifier::new("Key", Some(Value::Boolean(true))));
        }
        c.properties.push(d);
    }
    c
}

fn s(t: CimType) -> TypeDecl {
    TypeDecl::scalar(t)
}

fn inherited() -> Vec<(&'static str, TypeDecl, bool)> {
    vec![
        ("Caption", s(CimType::String), false),
        ("Description", s(CimType::String), false),
        ("InstallDate", s(CimType::DateTime), false),
        ("Name", s(CimType::String), false),
        ("Status", s(CimType::String), false),
    ]
}

fn connection_class() -> Class {
    let mut p = inherited();
    p.extend([
        ("ActiveTime", s(CimType::UInt32), false),
        ("ComputerName", s(CimType::String), true),
        ("ConnectionID", s(CimType::UInt32), false),
        ("NumberOfFiles", s(CimType::UInt32), false),
        ("NumberOfUsers", s(CimType::UInt32), false),
        ("ShareName", s(CimType::String), true),
        ("UserName", s(CimType::String), true),
    ]);
    class("Win32_ServerConnection", &p)
}

fn session_class() -> Class {
    let mut p = inherited();
    p.extend([
        ("ActiveTime", s(CimType::UInt32), false),
        ("ClientType", s(CimType::String), false),
        ("ComputerName", s(CimType::String), true),
        ("IdleTime", s(CimType::UInt32), false),
        ("ResourcesOpened", s(CimType::UInt32), false),
        ("SessionType", s(CimType::UInt32), false),
        ("TransportName", s(CimType::String), false),
        ("UserName", s(CimType::String), true),
    ]);
    class("Win32_ServerSession", &p)
}

fn share_class() -> Class {
    let mut p = inherited();
    p.retain(|(n, _, _)| *n != "Name");
    p.extend([
        ("AccessMask", s(CimType::UInt32), false),
        ("AllowMaximum", s(CimType::Boolean), false),
        ("MaximumAllowed", s(CimType::UInt32), false),
        ("Name", s(CimType::String), true),
        ("Path", s(CimType::String), false),
        ("Type", s(CimType::UInt32), false),
    ]);
    class("Win32_Share", &p)
}

fn assoc(name: &str, antecedent: &str) -> Class {
    class(
        name,
        &[
            ("Antecedent", TypeDecl::reference(antecedent), true),
            (
                "Dependent",
                TypeDecl::reference("Win32_ServerConnection"),
                true,
            ),
        ],
    )
}

fn conf() -> Vec<Share> {
    smbconf::parse(
        "[global]\n\tguest account = nobody\n[public]\n\tpath = /srv/public\n\tmax connections = 10\n\
         [other]\n\tpath = /srv/other\n[homes]\n\tpath = /home/%S\n",
    )
    .unwrap()
    .shares
}

fn str_of<'a>(i: &'a Instance, p: &str) -> &'a str {
    i.value(p)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{p} not a string in {i:?}"))
}

fn u32_of(i: &Instance, p: &str) -> Option<u32> {
    match i.value(p) {
        Some(Value::UInt32(v)) => Some(*v),
        None => None,
        other => panic!("{p}: {other:?}"),
    }
}

fn find<'a>(v: &'a [Instance], keys: &[(&str, &str)]) -> &'a Instance {
    v.iter()
        .find(|i| keys.iter().all(|(k, want)| str_of(i, k) == *want))
        .unwrap_or_else(|| panic!("no instance with {keys:?} in {v:#?}"))
}

#[test]
fn connections_from_the_real_4_17_capture() {
    let st = parse(CAPTURE_4_17).unwrap();
    let shares = smbconf::parse("[public]\n\tpath = /srv/samba/public\n")
        .unwrap()
        .shares;
    let now = 1_795_264_912 + 100;
    let c = server_connections(&st, &shares, &connection_class(), now);
    assert_eq!(c.len(), 2);
    let public = find(&c, &[("ShareName", "public")]);
    assert_eq!(str_of(public, "ComputerName"), "127.0.0.1");
    assert_eq!(str_of(public, "UserName"), "tester");
    assert_eq!(u32_of(public, "ConnectionID"), Some(1_581_273_868));
    assert_eq!(u32_of(public, "ActiveTime"), Some(100));
    assert_eq!(u32_of(public, "NumberOfFiles"), Some(1));
    assert_eq!(u32_of(public, "NumberOfUsers"), Some(1));
    for p in ["Name", "Caption", "Description", "Status", "InstallDate"] {
        assert_eq!(public.value(p), None, "{p} stays NULL");
    }
    let ipc = find(&c, &[("ShareName", "IPC$")]);
    // Samba does not say how many pipes are open (issue 22, item 7).
    assert_eq!(ipc.value("NumberOfFiles"), None);

    // Before 4.20 a session's age is its oldest tree connect's.
    let sessions = server_sessions(&st, "nobody", &session_class(), now);
    assert_eq!(
        sessions.len(),
        1,
        "two sessions of tester from 127.0.0.1 merge"
    );
    let se = &sessions[0];
    assert_eq!(str_of(se, "ComputerName"), "127.0.0.1");
    assert_eq!(u32_of(se, "ActiveTime"), Some(100));
    assert_eq!(u32_of(se, "ResourcesOpened"), Some(1));
    assert_eq!(u32_of(se, "SessionType"), Some(2));
    assert_eq!(u32_of(se, "IdleTime"), Some(0));
    assert_eq!(str_of(se, "TransportName"), "ipv4");
    assert_eq!(str_of(se, "ClientType"), "SMB3_11");
}

#[test]
fn three_tree_connects_with_equal_keys_merge() {
    let st = parse(SYNTHETIC_4_23).unwrap();
    let c = server_connections(&st, &conf(), &connection_class(), NOW);
    assert_eq!(c.len(), 3, "{c:#?}");
    let merged = find(&c, &[("ComputerName", "10.0.0.6"), ("ShareName", "public")]);
    assert_eq!(str_of(merged, "UserName"), "alice");
    assert_eq!(u32_of(merged, "ConnectionID"), Some(1), "lowest tcon id");
    assert_eq!(
        u32_of(merged, "ActiveTime"),
        Some(1200),
        "oldest: 12:30 on node 1"
    );
    assert_eq!(
        u32_of(merged, "NumberOfUsers"),
        Some(2),
        "distinct sessions 101 and 102"
    );
    // 0:2002/1 and 1:2003/7 match by node+pid and path; 1:2002/9 is the same
    // pid on another CTDB node; 0:2002/3 is on another share.
    assert_eq!(u32_of(merged, "NumberOfFiles"), Some(2));

    let netbios = find(&c, &[("ComputerName", "WORKSTATION1")]);
    assert_eq!(str_of(netbios, "ShareName"), "IPC$");
    assert_eq!(
        u32_of(netbios, "NumberOfFiles"),
        None,
        "pipe opens are unknown"
    );
    let guest = find(&c, &[("ComputerName", "fe80::2")]);
    assert_eq!(str_of(guest, "UserName"), "nobody");
    assert_eq!(u32_of(guest, "NumberOfFiles"), Some(1));
    assert_eq!(u32_of(guest, "ActiveTime"), Some(300));
}

#[test]
fn sessions_4_20_and_4_23_fields() {
    let st = parse(SYNTHETIC_4_23).unwrap();
    assert_eq!(st.sessions[1].channels.len(), 2);
    assert_eq!(
        st.sessions[1].channels[1].remote_address,
        "ipv4:10.0.1.6:50003"
    );
    assert_eq!(st.sessions[0].server_id.vnn, 0);
    assert_eq!(st.sessions[2].server_id.vnn, 1);
    let v = server_sessions(&st, "nobody", &session_class(), NOW);
    assert_eq!(v.len(), 3);
    let alice = find(&v, &[("ComputerName", "10.0.0.6")]);
    assert_eq!(str_of(alice, "UserName"), "alice");
    assert_eq!(
        u32_of(alice, "ActiveTime"),
        Some(2400),
        "creation_time of the older session"
    );
    assert_eq!(u32_of(alice, "ResourcesOpened"), Some(3));
    assert_eq!(str_of(alice, "TransportName"), "tcp");
    assert_eq!(str_of(alice, "ClientType"), "SMB3_11");
    assert_eq!(u32_of(alice, "SessionType"), Some(2));
    let nb = find(&v, &[("ComputerName", "WORKSTATION1")]);
    assert_eq!(u32_of(nb, "ActiveTime"), Some(600));
    assert_eq!(str_of(nb, "ClientType"), "NT1");
    assert_eq!(u32_of(nb, "ResourcesOpened"), Some(0));
    // No remote_machine: the address from `hostname`; no channels: the family.
    let guest = find(&v, &[("ComputerName", "fe80::2")]);
    assert_eq!(u32_of(guest, "SessionType"), Some(0));
    assert_eq!(str_of(guest, "TransportName"), "ipv6");
    assert_eq!(
        u32_of(guest, "ActiveTime"),
        Some(300),
        "no creation_time: oldest tcon"
    );
    assert_eq!(u32_of(guest, "ResourcesOpened"), Some(1));
}

#[test]
fn share_instances() {
    let cf = smbconf::parse(
        "[public]\n\tpath = /srv/public\n\tcomment = Public\n\tmax connections = 10\n\
         [printers]\n\tpath = /var/spool/samba\n[admin$]\n\tpath = /srv/a\n\tadministrative share = yes\n\
         [lp$]\n\tprintable = yes\n\tadministrative share = yes\n[off]\n\tpath = /x\n\tavailable = no\n",
    )
    .unwrap();
    let v = shares(&cf.shares, &share_class());
    let names: Vec<_> = v.iter().map(|i| str_of(i, "Name")).collect();
    assert_eq!(names, ["public", "printers", "admin$", "lp$", "IPC$"]);
    let p = &v[0];
    assert_eq!(str_of(p, "Path"), "/srv/public");
    assert_eq!(str_of(p, "Caption"), "Public");
    assert_eq!(str_of(p, "Description"), "Public");
    assert_eq!(str_of(p, "Status"), "OK");
    assert_eq!(u32_of(p, "Type"), Some(0));
    assert_eq!(p.value("AllowMaximum"), Some(&Value::Boolean(false)));
    assert_eq!(u32_of(p, "MaximumAllowed"), Some(10));
    assert_eq!(p.value("AccessMask"), None);
    assert_eq!(u32_of(&v[1], "Type"), Some(1));
    assert_eq!(v[1].value("AllowMaximum"), Some(&Value::Boolean(true)));
    assert_eq!(u32_of(&v[1], "MaximumAllowed"), None);
    assert_eq!(u32_of(&v[2], "Type"), Some(2_147_483_648));
    assert_eq!(u32_of(&v[3], "Type"), Some(2_147_483_649));
    let ipc = &v[4];
    assert_eq!(u32_of(ipc, "Type"), Some(2_147_483_651));
    assert_eq!(str_of(ipc, "Path"), "");
    // A configured IPC$ is not doubled, and keeps the IPC rules.
    let cf = smbconf::parse("[IPC$]\n\tpath = /tmp\n").unwrap();
    let v = shares(&cf.shares, &share_class());
    assert_eq!(v.len(), 1);
    assert_eq!(str_of(&v[0], "Path"), "");
    assert_eq!(u32_of(&v[0], "Type"), Some(2_147_483_651));
}

#[test]
fn ipc_connection_file_count_is_unknown() {
    // A pipe open on IPC$ leaves no record in smbstatus; a file open on
    // another share of the same smbd process must not be taken for one.
    let id = r#"{"pid": "77", "vnn": "4294967295"}"#;
    let json = format!(
        r#"{{"version": "4.17.0", "sessions": {{"9": {{"session_id": "9", "server_id": {id},
        "uid": 1000, "gid": 1000, "username": "alice", "groupname": "alice",
        "remote_machine": "PC", "hostname": "ipv4:10.1.1.1:4000", "session_dialect": "SMB3_11"}}}},
        "tcons": {{"4": {{"service": "IPC$", "server_id": {id}, "tcon_id": "4", "session_id": "9",
        "machine": "PC", "connected_at": "2026-11-21T12:49:00+00:00"}},
        "5": {{"service": "ipc$", "server_id": {id}, "tcon_id": "5", "session_id": "9",
        "machine": "PC", "connected_at": "2026-11-21T12:49:00+00:00"}},
        "6": {{"service": "public", "server_id": {id}, "tcon_id": "6", "session_id": "9",
        "machine": "PC", "connected_at": "2026-11-21T12:49:00+00:00"}}}},
        "open_files": {{"/srv/public/x": {{"service_path": "/srv/public", "filename": "x",
        "opens": {{"77/1": {{"server_id": {id}, "uid": 1000, "share_file_id": 1}}}}}}}}}}"#
    );
    let st = parse(&json).unwrap();
    let c = server_connections(&st, &conf(), &connection_class(), NOW);
    assert_eq!(c.len(), 2);
    let ipc = find(&c, &[("ShareName", "IPC$")]);
    assert_eq!(ipc.value("NumberOfFiles"), None);
    assert_eq!(u32_of(ipc, "NumberOfUsers"), Some(1));
    let public = find(&c, &[("ShareName", "public")]);
    assert_eq!(u32_of(public, "NumberOfFiles"), Some(1));
}

#[test]
fn homes_share_files_are_counted() {
    let id = r#"{"pid": "77", "vnn": "4294967295"}"#;
    let json = format!(
        r#"{{"version": "4.17.0", "sessions": {{"9": {{"session_id": "9", "server_id": {id},
        "uid": 1000, "gid": 1000, "username": "alice", "groupname": "alice",
        "remote_machine": "PC", "hostname": "ipv4:10.1.1.1:4000", "session_dialect": "SMB3_11"}}}},
        "tcons": {{"4": {{"service": "alice", "server_id": {id}, "tcon_id": "4", "session_id": "9",
        "machine": "PC", "connected_at": "2026-11-21T12:49:00+00:00"}}}},
        "open_files": {{"/home/alice/x": {{"service_path": "/home/alice", "filename": "x",
        "opens": {{"77/1": {{"server_id": {id}, "uid": 1000, "share_file_id": 1}},
                  "77/2": {{"server_id": {id}, "uid": 1000, "share_file_id": 2}}}}}}}}}}"#
    );
    let st = parse(&json).unwrap();
    let c = server_connections(&st, &conf(), &connection_class(), NOW);
    let home = find(&c, &[("ShareName", "alice")]);
    assert_eq!(
        u32_of(home, "NumberOfFiles"),
        Some(2),
        "[homes] path /home/%S"
    );
    assert_eq!(u32_of(home, "ActiveTime"), Some(60));
}

#[test]
fn association_references_are_full_paths() {
    let st = parse(SYNTHETIC_4_23).unwrap();
    let cs = connection_shares(
        "SRV",
        "root\\cimv2",
        &st,
        &connection_class(),
        &assoc("Win32_ConnectionShare", "Win32_Share"),
    );
    assert_eq!(cs.len(), 3);
    let antecedent = |i: &Instance, p: &str| match i.value(p) {
        Some(Value::Reference(path)) => path.as_ref().clone(),
        other => panic!("{other:?}"),
    };
    let a = antecedent(&cs[0], "Antecedent");
    assert_eq!(a.host.as_deref(), Some("SRV"));
    assert_eq!(a.namespace.as_deref(), Some("root/cimv2"));
    assert_eq!(
        a.to_string(),
        r#"\\SRV\root\cimv2:Win32_Share.Name="public""#
    );
    let d = antecedent(&cs[0], "Dependent");
    assert_eq!(
        d.to_string(),
        r#"\\SRV\root\cimv2:Win32_ServerConnection.ComputerName="10.0.0.6",ShareName="public",UserName="alice""#
    );

    let sc = session_connections(
        "SRV",
        "root/cimv2",
        &st,
        &session_class(),
        &connection_class(),
        &assoc("Win32_SessionConnection", "Win32_ServerSession"),
    );
    let printed: Vec<String> = sc
        .iter()
        .map(|i| {
            format!(
                "{} -> {}",
                antecedent(i, "Antecedent"),
                antecedent(i, "Dependent")
            )
        })
        .collect();
    assert_eq!(
        printed,
        [
            r#"\\SRV\root\cimv2:Win32_ServerSession.ComputerName="10.0.0.6",UserName="alice" -> \\SRV\root\cimv2:Win32_ServerConnection.ComputerName="10.0.0.6",ShareName="public",UserName="alice""#,
            r#"\\SRV\root\cimv2:Win32_ServerSession.ComputerName="WORKSTATION1",UserName="alice" -> \\SRV\root\cimv2:Win32_ServerConnection.ComputerName="WORKSTATION1",ShareName="IPC$",UserName="alice""#,
            r#"\\SRV\root\cimv2:Win32_ServerSession.ComputerName="fe80::2",UserName="nobody" -> \\SRV\root\cimv2:Win32_ServerConnection.ComputerName="fe80::2",ShareName="public",UserName="nobody""#,
        ]
    );
}

#[test]
fn missing_properties_are_skipped_and_keys_unique() {
    let st = parse(SYNTHETIC_4_23).unwrap();
    let small = class(
        "Win32_ServerConnection",
        &[
            ("ComputerName", s(CimType::String), true),
            ("ShareName", s(CimType::String), true),
            ("UserName", s(CimType::String), true),
        ],
    );
    let v = server_connections(&st, &[], &small, NOW);
    let mut paths: Vec<String> = v
        .iter()
        .map(|i| i.path(&small).to_string().to_lowercase())
        .collect();
    paths.sort();
    paths.dedup();
    assert_eq!(paths.len(), v.len());
}

/// The instances built one at a time are the ones built all at once, in
/// the same order, for captures with merged tree connects and sessions.
#[test]
fn instances_built_one_at_a_time_are_the_same() {
    for capture in [CAPTURE_4_17, SYNTHETIC_4_23] {
        let st = parse(capture).unwrap();
        let all = server_connections(&st, &conf(), &connection_class(), NOW);
        let mut lazy = ServerConnections::new(
            Arc::new(st.clone()),
            Arc::new(conf()),
            Arc::new(connection_class()),
            NOW,
        );
        assert_eq!(lazy.size_hint(), (all.len(), Some(all.len())));
        assert_eq!(lazy.by_ref().collect::<Vec<_>>(), all);
        assert_eq!(lazy.next(), None);
        let all = server_sessions(&st, "nobody", &session_class(), NOW);
        let lazy = ServerSessions::new(Arc::new(st), "nobody", Arc::new(session_class()), NOW);
        assert_eq!(lazy.collect::<Vec<_>>(), all);
    }
}
