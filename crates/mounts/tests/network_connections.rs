//! Win32_NetworkConnection instances from a mountinfo and an fstab fixture.

use openwmi_cim::{Class, Instance, Repository, Value};
use openwmi_mof::{Compiler, Options};
use openwmi_mounts::{fstab, mountinfo, network_connections};
use std::path::Path;

/// Win32_NetworkConnection from the bundled schema, compiled.
fn class() -> Class {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../cimom/schema/openwmi.mof");
    let mut repo = Repository::new();
    Compiler::new(Options::default())
        .compile_file(&mut repo, Path::new(path))
        .unwrap_or_else(|e| panic!("{e:?}"));
    let class = repo
        .namespace("root/cimv2")
        .unwrap()
        .class("Win32_NetworkConnection")
        .unwrap();
    (*class).clone()
}

fn instances() -> Vec<Instance> {
    let mounts = mountinfo::parse(include_str!("fixtures/mountinfo")).unwrap();
    let fstab = fstab::parse(include_str!("fixtures/fstab")).unwrap();
    network_connections(&mounts, &fstab, &class())
}

fn find<'a>(all: &'a [Instance], local: &str) -> &'a Instance {
    all.iter()
        .find(|i| i.value("LocalName").and_then(Value::as_str) == Some(local))
        .unwrap_or_else(|| panic!("no connection at {local}"))
}

fn s<'a>(i: &'a Instance, p: &str) -> Option<&'a str> {
    i.value(p).and_then(Value::as_str)
}

#[test]
fn one_instance_per_network_mount_and_remembered_entry() {
    let all = instances();
    let locals: Vec<_> = all.iter().map(|i| s(i, "LocalName").unwrap()).collect();
    assert_eq!(
        locals,
        [
            "/mnt/share",
            "/data",
            "/home/bob/My Docs",
            "/mnt/9net",
            "/mnt/v6",
            "/mnt/backup",
            "/home/shared",
            "/mnt/carol"
        ]
    );
    for i in &all {
        assert_eq!(i.properties.len(), 17);
        assert_eq!(i.value("Comment"), None);
        assert_eq!(i.value("InstallDate"), None);
        assert_eq!(s(i, "DisplayType"), Some("Share"));
        assert_eq!(s(i, "ResourceType"), Some("Disk"));
        assert_eq!(s(i, "RemotePath"), s(i, "RemoteName"));
        let name = format!(
            "{} ({})",
            s(i, "RemoteName").unwrap(),
            s(i, "LocalName").unwrap()
        );
        assert_eq!(s(i, "Name"), Some(name.as_str()));
        assert_eq!(
            s(i, "Description").unwrap(),
            format!(
                "{} - {}",
                s(i, "Caption").unwrap(),
                s(i, "ProviderName").unwrap()
            )
        );
    }
}

#[test]
fn cifs_mount_also_in_fstab_is_connected_and_persistent() {
    let all = instances();
    let i = find(&all, "/mnt/share");
    assert_eq!(s(i, "Name"), Some(r"\\srv\share (/mnt/share)"));
    assert_eq!(s(i, "RemoteName"), Some(r"\\srv\share"));
    assert_eq!(s(i, "ProviderName"), Some("Microsoft Windows Network"));
    assert_eq!(s(i, "Caption"), Some("RESOURCE CONNECTED"));
    assert_eq!(
        s(i, "Description"),
        Some("RESOURCE CONNECTED - Microsoft Windows Network")
    );
    assert_eq!(s(i, "ConnectionState"), Some("Connected"));
    assert_eq!(s(i, "Status"), Some("OK"));
    assert_eq!(s(i, "ConnectionType"), Some("Persistent Connection"));
    assert_eq!(i.value("Persistent"), Some(&Value::Boolean(true)));
    assert_eq!(s(i, "UserName"), Some(r"CORP\alice"));
    assert_eq!(i.value("AccessMask"), Some(&Value::UInt32(2_032_127)));
}

#[test]
fn nfs4_read_only_current_connection() {
    let all = instances();
    let i = find(&all, "/data");
    assert_eq!(s(i, "RemoteName"), Some(r"\\fileserver\export\data"));
    assert_eq!(s(i, "ProviderName"), Some("NFS Network"));
    assert_eq!(s(i, "ConnectionType"), Some("Current Connection"));
    assert_eq!(i.value("Persistent"), Some(&Value::Boolean(false)));
    assert_eq!(i.value("AccessMask"), Some(&Value::UInt32(1_179_785)));
    assert_eq!(s(i, "UserName"), None);
}

#[test]
fn sshfs_with_a_space_in_the_mount_point() {
    let all = instances();
    let i = find(&all, "/home/bob/My Docs");
    assert_eq!(
        s(i, "Name"),
        Some(r"\\build.example.org\home\bob (/home/bob/My Docs)")
    );
    assert_eq!(s(i, "ProviderName"), Some("fuse.sshfs"));
    assert_eq!(s(i, "UserName"), Some("bob"));
}

#[test]
fn nine_p_only_over_the_network_and_ipv6_hosts() {
    let all = instances();
    assert!(all
        .iter()
        .all(|i| s(i, "LocalName") != Some("/mnt/vmshare")));
    assert!(all.iter().all(|i| s(i, "LocalName") != Some("/mnt/vm")));
    assert_eq!(
        s(find(&all, "/mnt/9net"), "RemoteName"),
        Some(r"\\10.0.0.2")
    );
    assert_eq!(
        s(find(&all, "/mnt/v6"), "RemoteName"),
        Some(r"\\[fd00::5]\srv\v6")
    );
}

#[test]
fn fstab_only_entries_are_remembered() {
    let all = instances();
    let i = find(&all, "/mnt/backup");
    assert_eq!(s(i, "Caption"), Some("RESOURCE REMEMBERED"));
    assert_eq!(s(i, "ConnectionState"), Some("Disconnected"));
    assert_eq!(s(i, "Status"), Some("No Contact"));
    // noauto: remembered, not reconnected at boot (issue 22, item 8).
    assert_eq!(s(i, "ConnectionType"), Some("Current Connection"));
    assert_eq!(i.value("Persistent"), Some(&Value::Boolean(false)));
    assert_eq!(s(i, "UserName"), Some(r"HOME\backup"));
    assert_eq!(i.value("AccessMask"), Some(&Value::UInt32(1_179_785)));

    let i = find(&all, "/home/shared");
    assert_eq!(
        s(i, "Name"),
        Some(r"\\fileserver\export\home (/home/shared)")
    );
    assert_eq!(i.value("AccessMask"), Some(&Value::UInt32(2_032_127)));

    let i = find(&all, "/mnt/carol");
    assert_eq!(s(i, "RemoteName"), Some(r"\\files\srv"));
    assert_eq!(s(i, "UserName"), Some("carol"));
    assert_eq!(s(i, "ProviderName"), Some("fuse.sshfs"));
}

#[test]
fn nothing_in_nothing_out() {
    assert!(network_connections(&[], &[], &class()).is_empty());
}

#[test]
fn keys_are_unique_even_for_stacked_mounts() {
    let text = "\
1 0 0:1 / /m rw - cifs //a/b rw
2 1 0:2 / /m ro - cifs //a/b ro
";
    let mounts = mountinfo::parse(text).unwrap();
    let all = network_connections(&mounts, &[], &class());
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].value("AccessMask"), Some(&Value::UInt32(1_179_785)));
}

fn from_fstab(mountinfo_text: &str, fstab_text: &str) -> Vec<Instance> {
    let mounts = mountinfo::parse(mountinfo_text).unwrap();
    let fstab = fstab::parse(fstab_text).unwrap();
    network_connections(&mounts, &fstab, &class())
}

fn persistence(i: &Instance) -> (Option<&str>, Option<&Value>) {
    (s(i, "ConnectionType"), i.value("Persistent"))
}

#[test]
fn fstab_noauto_entries_are_remembered_but_not_persistent() {
    let fstab = "\
//nas/a /mnt/a cifs noauto,_netdev 0 0
//nas/b /mnt/b cifs user,_netdev 0 0
//nas/c /mnt/c cifs users,noauto 0 0
//nas/d /mnt/d cifs noauto,x-systemd.automount 0 0
//nas/e /mnt/e cifs defaults 0 0
";
    let all = from_fstab("", fstab);
    let yes = (Some("Persistent Connection"), Some(&Value::Boolean(true)));
    let no = (Some("Current Connection"), Some(&Value::Boolean(false)));
    assert_eq!(persistence(find(&all, "/mnt/a")), no);
    // `user` lets users mount it; it is still mounted at boot.
    assert_eq!(persistence(find(&all, "/mnt/b")), yes);
    assert_eq!(persistence(find(&all, "/mnt/c")), no);
    // systemd's automount point is set up at boot and connects on use.
    assert_eq!(persistence(find(&all, "/mnt/d")), yes);
    assert_eq!(persistence(find(&all, "/mnt/e")), yes);
    for i in &all {
        assert_eq!(s(i, "Caption"), Some("RESOURCE REMEMBERED"));
    }
}

#[test]
fn fstab_noauto_entry_mounted_now_is_a_current_connection() {
    let mountinfo = "\
36 25 0:40 / /mnt/a rw,relatime - cifs //nas/a rw
37 25 0:41 / /mnt/e rw,relatime - cifs //nas/e rw
";
    let fstab = "\
//nas/a /mnt/a cifs noauto 0 0
//nas/e /mnt/e cifs defaults 0 0
";
    let all = from_fstab(mountinfo, fstab);
    let a = find(&all, "/mnt/a");
    assert_eq!(s(a, "ConnectionState"), Some("Connected"));
    assert_eq!(
        persistence(a),
        (Some("Current Connection"), Some(&Value::Boolean(false)))
    );
    assert_eq!(
        persistence(find(&all, "/mnt/e")),
        (Some("Persistent Connection"), Some(&Value::Boolean(true)))
    );
}

#[test]
fn network_connection_status_uses_only_the_seed_values() {
    // The seed's Status values (CIM_ManagedSystemElement), MaxLen(10).
    const SEED: [&str; 12] = [
        "OK",
        "Error",
        "Degraded",
        "Unknown",
        "Pred Fail",
        "Starting",
        "Stopping",
        "Service",
        "Stressed",
        "NonRecover",
        "No Contact",
        "Lost Comm",
    ];
    let all = instances();
    let mut seen = std::collections::BTreeSet::new();
    for i in &all {
        let status = s(i, "Status").unwrap();
        assert!(
            SEED.contains(&status),
            "{status:?} is not a seed Status value"
        );
        assert!(
            status.chars().count() <= 10,
            "{status:?} exceeds MaxLen(10)"
        );
        seen.insert(status);
    }
    assert_eq!(seen, ["No Contact", "OK"].into_iter().collect());
    // The schema's ValueMap lists the same values.
    let class = class();
    let p = class.property("Status").unwrap();
    let q = p
        .qualifiers
        .iter()
        .find(|q| q.name.is("ValueMap"))
        .expect("ValueMap");
    let text = format!("{:?}", q.value);
    assert!(!text.contains("Unavailable"), "{text}");
    for v in SEED {
        assert!(text.contains(v), "{v} missing from {text}");
    }
}
