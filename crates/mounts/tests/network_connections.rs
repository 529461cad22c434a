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
    assert_eq!(s(i, "Status"), Some("Unavailable"));
    assert_eq!(s(i, "ConnectionType"), Some("Persistent Connection"));
    assert_eq!(i.value("Persistent"), Some(&Value::Boolean(true)));
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
