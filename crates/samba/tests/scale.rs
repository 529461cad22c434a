//! A large smbstatus answer: parsing and mapping stay fast (linear).
//! Prints the figures; `cargo test --release --test scale -- --nocapture`.

use openwmi_cim::{CimType, Class, PropertyDecl, TypeDecl};
use openwmi_samba::{map, smbconf, smbstatus};
use std::fmt::Write;
use std::time::Instant;

fn big_status(clients: usize, opens_per_client: usize) -> String {
    let mut s = String::from(r#"{"version": "4.17.12", "sessions": {"#);
    for i in 0..clients {
        let sep = if i == 0 { "" } else { "," };
        write!(
            s,
            r#"{sep}"{i}": {{"session_id": "{i}", "server_id": {{"pid": "{p}", "vnn": "{v}"}}, "uid": 1000, "gid": 1000,
            "username": "user{u}", "groupname": "g", "remote_machine": "10.0.{a}.{b}", "hostname": "ipv4:10.0.{a}.{b}:5000",
            "session_dialect": "SMB3_11"}}"#,
            p = 10_000 + i,
            v = i % 4,
            u = i % 100,
            a = i / 250,
            b = i % 250
        )
        .unwrap();
    }
    s.push_str(r#"}, "tcons": {"#);
    for i in 0..clients {
        let sep = if i == 0 { "" } else { "," };
        write!(
            s,
            r#"{sep}"{i}": {{"service": "share{sh}", "server_id": {{"pid": "{p}", "vnn": "{v}"}}, "tcon_id": "{i}",
            "session_id": "{i}", "machine": "10.0.{a}.{b}", "connected_at": "2026-11-21T12:00:00.000000+00:00"}}"#,
            sh = i % 10,
            p = 10_000 + i,
            v = i % 4,
            a = i / 250,
            b = i % 250
        )
        .unwrap();
    }
    s.push_str(r#"}, "open_files": {"#);
    let mut first = true;
    for i in 0..clients {
        for j in 0..opens_per_client {
            let sep = if first { "" } else { "," };
            first = false;
            write!(
                s,
                r#"{sep}"/srv/share{sh}/f{i}-{j}": {{"service_path": "/srv/share{sh}", "filename": "f{i}-{j}",
                "opens": {{"{p}/{j}": {{"server_id": {{"pid": "{p}", "vnn": "{v}"}}, "uid": 1000, "share_file_id": "{j}"}}}}}}"#,
                sh = i % 10,
                p = 10_000 + i,
                v = i % 4
            )
            .unwrap();
        }
    }
    s.push_str("}}");
    s
}

#[test]
fn many_clients() {
    // 10 000 clients in release builds; a tenth of that keeps debug runs short.
    let clients = if cfg!(debug_assertions) {
        1_000
    } else {
        10_000
    };
    let json = big_status(clients, 5);
    let tj = Instant::now();
    let _: serde_json::Value = serde_json::from_str(&json).unwrap();
    eprintln!("serde_json alone: {:?}", tj.elapsed());
    let t0 = Instant::now();
    let status = smbstatus::parse(&json).unwrap();
    let parsed = t0.elapsed();
    let mut conf = String::new();
    for i in 0..10 {
        writeln!(conf, "[share{i}]\n path = /srv/share{i}").unwrap();
    }
    let shares = smbconf::parse(&conf).unwrap().shares;
    let mut class = Class::new("Win32_ServerConnection", None);
    for p in ["ComputerName", "ShareName", "UserName"] {
        class
            .properties
            .push(PropertyDecl::new(p, TypeDecl::scalar(CimType::String)));
    }
    for p in [
        "ConnectionID",
        "NumberOfFiles",
        "NumberOfUsers",
        "ActiveTime",
    ] {
        class
            .properties
            .push(PropertyDecl::new(p, TypeDecl::scalar(CimType::UInt32)));
    }
    let t1 = Instant::now();
    let conns = map::server_connections(&status, &shares, &class, 1_795_265_400);
    let mapped = t1.elapsed();
    eprintln!(
        "{} bytes, {clients} sessions + tcons, {} opens: parse {parsed:?}, map {mapped:?}",
        json.len(),
        clients * 5
    );
    assert_eq!(conns.len(), clients);
    assert!(conns
        .iter()
        .all(|c| c.value("NumberOfFiles") == Some(&openwmi_cim::Value::UInt32(5))));
}
