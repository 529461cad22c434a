//! Mounts and fstab entries to `Win32_NetworkConnection` instances.

use crate::fstab::FstabEntry;
use crate::mountinfo::MountEntry;
use crate::netfs;
use openwmi_cim::{Class, Instance, Value};

/// FILE_GENERIC_READ: what a read-only mount grants.
pub const ACCESS_READ: u32 = 1_179_785;
/// FILE_ALL_ACCESS: what a read-write mount grants.
pub const ACCESS_ALL: u32 = 2_032_127;
/// Status of a remembered connection that is not established. Windows'
/// own word for it, "Unavailable", is longer than Status' MaxLen(10) and
/// is not among CIM_ManagedSystemElement's values; of those, "No Contact"
/// says what is true: the element is known, and no connection to it is
/// established.
pub const STATUS_REMEMBERED: &str = "No Contact";

/// One network connection before it becomes an instance.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Connection {
    fs_type: String,
    remote: String,
    local: String,
    connected: bool,
    persistent: bool,
    read_only: bool,
    user: Option<String>,
}

/// Builds one instance of `class` (the resolved `Win32_NetworkConnection`)
/// per network mount, plus one per network fstab entry that is not mounted.
/// A mount that fstab also holds is one instance, connected; it is
/// persistent when the entry is reconnected at boot
/// ([`FstabEntry::reconnects_at_boot`]), as is a remembered entry.
/// Instances come in mount-table order, then fstab order; two with the same
/// key (`Name`) are one, the later (the mount on top) winning.
pub fn network_connections(
    mounts: &[MountEntry],
    fstab: &[FstabEntry],
    class: &Class,
) -> Vec<Instance> {
    let remembered: Vec<(String, &str, &FstabEntry)> = fstab
        .iter()
        .filter_map(|e| {
            let (fs_type, source) = e.effective_type_and_source();
            netfs::is_network(&fs_type, [e.options.as_str()]).then_some((fs_type, source, e))
        })
        .collect();

    let mut conns: Vec<Connection> = Vec::new();
    let mut fstab_used = vec![false; remembered.len()];
    for m in mounts {
        let options = [m.mount_options.as_str(), m.super_options.as_str()];
        if !netfs::is_network(&m.fs_type, options) {
            continue;
        }
        let in_fstab = remembered
            .iter()
            .position(|(_, _, e)| same_dir(&e.mount_point, &m.mount_point));
        if let Some(i) = in_fstab {
            fstab_used[i] = true;
        }
        let persistent = in_fstab.is_some_and(|i| remembered[i].2.reconnects_at_boot());
        push_unique(
            &mut conns,
            Connection {
                fs_type: m.fs_type.clone(),
                remote: netfs::to_unc(&m.fs_type, &m.source),
                local: m.mount_point.clone(),
                connected: true,
                persistent,
                read_only: m.is_read_only(),
                user: netfs::user_name(&m.fs_type, &m.source, options),
            },
        );
    }
    for ((fs_type, source, e), used) in remembered.iter().zip(fstab_used) {
        if used {
            continue;
        }
        push_unique(
            &mut conns,
            Connection {
                fs_type: fs_type.clone(),
                remote: netfs::to_unc(fs_type, source),
                local: e.mount_point.clone(),
                connected: false,
                persistent: e.reconnects_at_boot(),
                read_only: e.is_read_only(),
                user: netfs::user_name(fs_type, source, [e.options.as_str()]),
            },
        );
    }
    conns.iter().map(|c| instance(c, class)).collect()
}

fn push_unique(conns: &mut Vec<Connection>, c: Connection) {
    match conns
        .iter()
        .position(|o| o.remote == c.remote && o.local == c.local)
    {
        Some(i) => conns[i] = c,
        None => conns.push(c),
    }
}

/// Mount points compare without trailing slashes (`/mnt/x/` is `/mnt/x`).
fn same_dir(a: &str, b: &str) -> bool {
    let trim = |s: &str| {
        let t = s.trim_end_matches('/');
        if t.is_empty() { "/" } else { t }.to_owned()
    };
    trim(a) == trim(b)
}

fn instance(c: &Connection, class: &Class) -> Instance {
    let provider = netfs::provider_name(&c.fs_type);
    let caption = if c.connected {
        "RESOURCE CONNECTED"
    } else {
        "RESOURCE REMEMBERED"
    };
    let s = |v: &str| Some(Value::String(v.to_owned().into()));
    let props: [(&str, Option<Value>); 17] = [
        ("Caption", s(caption)),
        (
            "Description",
            Some(Value::String(format!("{caption} - {provider}").into())),
        ),
        ("InstallDate", None),
        (
            "Name",
            Some(Value::String(format!("{} ({})", c.remote, c.local).into())),
        ),
        (
            "Status",
            s(if c.connected { "OK" } else { STATUS_REMEMBERED }),
        ),
        (
            "AccessMask",
            Some(Value::UInt32(if c.read_only {
                ACCESS_READ
            } else {
                ACCESS_ALL
            })),
        ),
        ("Comment", None),
        (
            "ConnectionState",
            s(if c.connected {
                "Connected"
            } else {
                "Disconnected"
            }),
        ),
        (
            "ConnectionType",
            s(if c.persistent {
                "Persistent Connection"
            } else {
                "Current Connection"
            }),
        ),
        ("DisplayType", s("Share")),
        ("LocalName", s(&c.local)),
        ("Persistent", Some(Value::Boolean(c.persistent))),
        ("ProviderName", Some(Value::String(provider.clone().into()))),
        ("RemoteName", s(&c.remote)),
        ("RemotePath", s(&c.remote)),
        ("ResourceType", s("Disk")),
        ("UserName", c.user.clone().map(|s| Value::String(s.into()))),
    ];
    let mut inst = Instance::of_class(class);
    for (name, value) in props {
        // A schema without one of these properties simply does not get it.
        let _ = inst.set(name, value);
    }
    inst
}
