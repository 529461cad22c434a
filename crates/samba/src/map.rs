//! Samba's state as CIM instances, following the tables of the spec
//! (`classes.md`). Pure: the caller passes the parsed data, the resolved
//! classes and the current time.
//!
//! Properties a class does not declare are skipped, so an older schema
//! gives fewer properties rather than an error.
//!
//! Keys are unique in CIM, but Samba can report several tree connects (or
//! sessions) with the same key values. Those are merged into one instance,
//! and keys are compared case-insensitively as CIM compares them:
//! - Win32_ServerConnection: NumberOfFiles counts the distinct opens of the
//!   merged tree connects (their sum, without counting an open twice when two
//!   tree connects share an smbd process), NumberOfUsers is the number of
//!   distinct sessions, ActiveTime the oldest, ConnectionID the lowest tcon id.
//! - Win32_ServerSession: ActiveTime the oldest, ResourcesOpened the distinct
//!   opens of the merged sessions' smbd processes, ClientType and
//!   TransportName from the session with the lowest id, SessionType Guest
//!   only when every merged session is the guest account's.

use crate::smbconf::Share;
use crate::smbstatus::{ClientAddress, ServerId, Session, Status, TreeConnect};
use crate::timestamp::Timestamp;
use openwmi_cim::{Class, Instance, KeyBinding, Keys, Name, ObjectPath, Value};
use std::collections::{BTreeSet, HashMap};

/// Win32_Share.Type of a disk share.
pub const TYPE_DISK: u32 = 0;
/// Win32_Share.Type of a print queue.
pub const TYPE_PRINT_QUEUE: u32 = 1;
/// Added to Type for an administrative (hidden) share.
pub const TYPE_ADMIN: u32 = 0x8000_0000;
/// Win32_Share.Type of IPC$ (IPC Admin), as Samba itself reports it.
pub const TYPE_IPC_ADMIN: u32 = 0x8000_0003;

fn put(inst: &mut Instance, name: &str, value: Option<Value>) {
    // A property the caller's class lacks is simply not reported.
    let _ = inst.set(name, value);
}

fn fold(s: &str) -> String {
    s.to_lowercase()
}

/// A directory path without trailing slashes, for comparing a share's
/// `path` with an open's `service_path`.
fn normalize_dir(p: &str) -> &str {
    let t = p.trim_end_matches('/');
    if t.is_empty() && p.starts_with('/') {
        "/"
    } else {
        t
    }
}

/// The directory of the share a tree connect is to, if the configuration
/// says. `[homes]` serves a share named after the user; `%S`, `%u` and `%U`
/// in a path are expanded the way smbd does for that case.
fn share_dir(shares: &[Share], service: &str, username: &str) -> Option<String> {
    let expand = |path: &str| {
        path.replace("%S", service)
            .replace("%u", username)
            .replace("%U", username)
    };
    if let Some(s) = shares.iter().find(|s| s.name.eq_ignore_ascii_case(service)) {
        return (!s.path.is_empty()).then(|| expand(&s.path));
    }
    let homes = shares
        .iter()
        .find(|s| s.name.eq_ignore_ascii_case("homes"))?;
    (service.eq_ignore_ascii_case(username) && !homes.path.is_empty()).then(|| expand(&homes.path))
}

/// An open, identified across the cluster.
type OpenId<'a> = (ServerId, u64, &'a str);

/// The opens by smbd process, built once per mapping so that matching them
/// to tree connects and sessions stays linear.
struct OpenIndex<'a> {
    /// By process and normalised share directory.
    opens_by_process_dir: HashMap<((u32, u64), String), Vec<OpenId<'a>>>,
    opens_per_process: HashMap<(u32, u64), usize>,
}

impl<'a> OpenIndex<'a> {
    fn new(status: &'a Status) -> OpenIndex<'a> {
        let mut opens_by_process_dir: HashMap<_, Vec<OpenId>> = HashMap::new();
        let mut opens_per_process = HashMap::new();
        for (file, open) in status.opens() {
            let process = open.server_id.process();
            opens_by_process_dir
                .entry((process, normalize_dir(&file.service_path).to_string()))
                .or_default()
                .push((open.server_id, open.share_file_id, file.path.as_str()));
            *opens_per_process.entry(process).or_insert(0) += 1;
        }
        OpenIndex {
            opens_by_process_dir,
            opens_per_process,
        }
    }
}

/// The user a tree connect was made by ("" when its session is gone).
fn tcon_user<'a>(status: &'a Status, t: &TreeConnect) -> &'a str {
    status
        .session(t.session_id)
        .map(|s| s.username.as_str())
        .unwrap_or("")
}

/// The name Win32_ServerSession.ComputerName gives the client of a session.
fn session_computer(s: &Session) -> String {
    if !s.remote_machine.is_empty() {
        return s.remote_machine.clone();
    }
    match ClientAddress::parse(&s.hostname) {
        Some(a) => a.address,
        None => s.hostname.clone(),
    }
}

/// Tree connects grouped by (ComputerName, ShareName, UserName), in order of
/// lowest tcon id.
struct ConnectionGroup<'a> {
    computer: &'a str,
    share: &'a str,
    user: &'a str,
    tcons: Vec<&'a TreeConnect>,
}

fn connection_groups(status: &Status) -> Vec<ConnectionGroup<'_>> {
    let mut index: HashMap<(String, String, String), usize> = HashMap::new();
    let mut groups: Vec<ConnectionGroup> = Vec::new();
    // status.tcons is ordered by tcon id, so each group's first is its lowest.
    for t in &status.tcons {
        let user = tcon_user(status, t);
        let key = (fold(&t.machine), fold(&t.service), fold(user));
        match index.get(&key) {
            Some(&i) => groups[i].tcons.push(t),
            None => {
                index.insert(key, groups.len());
                groups.push(ConnectionGroup {
                    computer: &t.machine,
                    share: &t.service,
                    user,
                    tcons: vec![t],
                });
            }
        }
    }
    groups
}

/// Sessions grouped by (ComputerName, UserName), in order of lowest id.
struct SessionGroup<'a> {
    computer: String,
    user: &'a str,
    sessions: Vec<&'a Session>,
}

fn session_groups(status: &Status) -> Vec<SessionGroup<'_>> {
    let mut index: HashMap<(String, String), usize> = HashMap::new();
    let mut groups: Vec<SessionGroup> = Vec::new();
    for s in &status.sessions {
        let computer = session_computer(s);
        let key = (fold(&computer), fold(&s.username));
        match index.get(&key) {
            Some(&i) => groups[i].sessions.push(s),
            None => {
                index.insert(key, groups.len());
                groups.push(SessionGroup {
                    computer,
                    user: &s.username,
                    sessions: vec![s],
                });
            }
        }
    }
    groups
}

/// Win32_ServerConnection instances: one per distinct
/// (ComputerName, ShareName, UserName) of the tree connects.
pub fn server_connections(
    status: &Status,
    shares: &[Share],
    class: &Class,
    now_unix: i64,
) -> Vec<Instance> {
    let index = OpenIndex::new(status);
    connection_groups(status)
        .into_iter()
        .map(|g| {
            let mut opens = BTreeSet::new();
            for t in &g.tcons {
                let Some(dir) = share_dir(shares, &t.service, g.user) else {
                    continue;
                };
                let key = (t.server_id.process(), normalize_dir(&dir).to_string());
                if let Some(found) = index.opens_by_process_dir.get(&key) {
                    opens.extend(found.iter().copied());
                }
            }
            let sessions: BTreeSet<u32> = g.tcons.iter().map(|t| t.session_id).collect();
            let active = g
                .tcons
                .iter()
                .map(|t| t.connected_at.seconds_until(now_unix))
                .max()
                .unwrap_or(0);
            let id = g.tcons.iter().map(|t| t.tcon_id).min().unwrap_or(0);
            let mut inst = Instance::of_class(class);
            put(&mut inst, "ComputerName", Some(g.computer.into()));
            put(&mut inst, "ShareName", Some(g.share.into()));
            put(&mut inst, "UserName", Some(g.user.into()));
            put(&mut inst, "ConnectionID", Some(Value::UInt32(id)));
            put(&mut inst, "ActiveTime", Some(Value::UInt32(active)));
            // Windows counts the named pipes open on an IPC$ connection.
            // Samba records none where smbstatus looks (pipe opens are not
            // in locking.tdb; their RPC servers run in samba-dcerpcd), so
            // the count is unknown: NULL, rather than a 0 that would be
            // false whenever a pipe is open.
            let files = (!is_ipc(g.share)).then(|| Value::UInt32(count(opens.len())));
            put(&mut inst, "NumberOfFiles", files);
            put(
                &mut inst,
                "NumberOfUsers",
                Some(Value::UInt32(count(sessions.len()))),
            );
            inst
        })
        .collect()
}

/// Whether a share name is IPC$, the share of named pipes.
fn is_ipc(name: &str) -> bool {
    name.eq_ignore_ascii_case("IPC$")
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Win32_ServerSession instances: one per distinct (ComputerName, UserName).
/// Sessions of `guest_account` (smb.conf `guest account`) are Guest sessions.
pub fn server_sessions(
    status: &Status,
    guest_account: &str,
    class: &Class,
    now_unix: i64,
) -> Vec<Instance> {
    let index = OpenIndex::new(status);
    let mut oldest_tcon: HashMap<u32, Timestamp> = HashMap::new();
    for t in &status.tcons {
        let e = oldest_tcon.entry(t.session_id).or_insert(t.connected_at);
        if t.connected_at.unix_secs < e.unix_secs {
            *e = t.connected_at;
        }
    }
    session_groups(status)
        .into_iter()
        .map(|g| {
            let processes: BTreeSet<(u32, u64)> =
                g.sessions.iter().map(|s| s.server_id.process()).collect();
            let active = g
                .sessions
                .iter()
                .filter_map(|s| match s.creation_time {
                    Some(c) => Some(c.seconds_until(now_unix)),
                    // Before Samba 4.20: the oldest tree connect of the session.
                    None => oldest_tcon
                        .get(&s.session_id)
                        .map(|t| t.seconds_until(now_unix)),
                })
                .max();
            let opened: usize = processes
                .iter()
                .filter_map(|p| index.opens_per_process.get(p))
                .sum();
            let guest = g
                .sessions
                .iter()
                .all(|s| s.username.eq_ignore_ascii_case(guest_account));
            let first = g.sessions[0];
            let transport = first
                .channels
                .first()
                .map(|c| c.transport.clone())
                .or_else(|| first.address().map(|a| a.family));
            let mut inst = Instance::of_class(class);
            put(&mut inst, "ComputerName", Some(g.computer.into()));
            put(&mut inst, "UserName", Some(g.user.into()));
            put(&mut inst, "ActiveTime", active.map(Value::UInt32));
            put(&mut inst, "IdleTime", Some(Value::UInt32(0)));
            put(
                &mut inst,
                "ResourcesOpened",
                Some(Value::UInt32(count(opened))),
            );
            put(
                &mut inst,
                "SessionType",
                Some(Value::UInt32(if guest { 0 } else { 2 })),
            );
            put(
                &mut inst,
                "TransportName",
                transport.map(|s| Value::String(s.into())),
            );
            put(&mut inst, "ClientType", Some(first.dialect.as_str().into()));
            inst
        })
        .collect()
}

/// Win32_Share instances: the configured shares that are `available`, plus
/// IPC$ (Samba always serves it).
pub fn shares(shares: &[Share], class: &Class) -> Vec<Instance> {
    let mut out = Vec::new();
    let mut has_ipc = false;
    for s in shares.iter().filter(|s| s.available) {
        let is_ipc = is_ipc(&s.name);
        has_ipc |= is_ipc;
        let ty = if is_ipc {
            TYPE_IPC_ADMIN
        } else {
            let base = if s.printable {
                TYPE_PRINT_QUEUE
            } else {
                TYPE_DISK
            };
            if s.administrative {
                base | TYPE_ADMIN
            } else {
                base
            }
        };
        let path = if is_ipc { "" } else { s.path.as_str() };
        out.push(share_instance(
            class,
            &s.name,
            path,
            &s.comment,
            ty,
            s.max_connections,
        ));
    }
    if !has_ipc {
        out.push(share_instance(
            class,
            "IPC$",
            "",
            "Remote IPC",
            TYPE_IPC_ADMIN,
            0,
        ));
    }
    out
}

fn share_instance(
    class: &Class,
    name: &str,
    path: &str,
    comment: &str,
    ty: u32,
    max: u32,
) -> Instance {
    let mut inst = Instance::of_class(class);
    put(&mut inst, "Name", Some(name.into()));
    put(&mut inst, "Path", Some(path.into()));
    put(&mut inst, "Caption", Some(comment.into()));
    put(&mut inst, "Description", Some(comment.into()));
    put(&mut inst, "Type", Some(Value::UInt32(ty)));
    put(&mut inst, "AllowMaximum", Some(Value::Boolean(max == 0)));
    put(
        &mut inst,
        "MaximumAllowed",
        (max != 0).then_some(Value::UInt32(max)),
    );
    put(&mut inst, "Status", Some("OK".into()));
    put(&mut inst, "AccessMask", None);
    inst
}

/// A full path (host and namespace set) to an instance of `class` with
/// these key values, keys in class order.
fn full_path(host: &str, namespace: &str, class: &Class, keys: &[(&str, &str)]) -> ObjectPath {
    let bindings = class
        .key_properties()
        .filter_map(|k| {
            keys.iter()
                .find(|(n, _)| k.name.is(n))
                .map(|(_, v)| KeyBinding {
                    name: k.name.clone(),
                    value: Value::String((*v).to_string().into()),
                })
        })
        .collect();
    ObjectPath {
        host: Some(host.to_string()),
        namespace: Some(namespace.replace('\\', "/")),
        class: class.name.clone(),
        keys: Keys::Bindings(bindings),
    }
}

/// The class a reference property of an association points to.
fn ref_class(assoc: &Class, role: &str, fallback: &str) -> Name {
    assoc
        .property(role)
        .and_then(|p| p.ty.ref_class.clone())
        .unwrap_or_else(|| Name::new(fallback))
}

fn reference(path: ObjectPath) -> Option<Value> {
    Some(Value::Reference(Box::new(path)))
}

/// Win32_ConnectionShare instances: one per Win32_ServerConnection, linking
/// it (Dependent) to its share (Antecedent, `Win32_Share.Name=ShareName`).
/// `host` and `namespace` (e.g. `root/cimv2`) go into every reference.
pub fn connection_shares(
    host: &str,
    namespace: &str,
    status: &Status,
    connection_class: &Class,
    assoc_class: &Class,
) -> Vec<Instance> {
    let share_class = ref_class(assoc_class, "Antecedent", "Win32_Share");
    connection_groups(status)
        .into_iter()
        .map(|g| {
            let dependent = full_path(
                host,
                namespace,
                connection_class,
                &[
                    ("ComputerName", g.computer),
                    ("ShareName", g.share),
                    ("UserName", g.user),
                ],
            );
            let antecedent = ObjectPath {
                host: Some(host.to_string()),
                namespace: Some(namespace.replace('\\', "/")),
                class: share_class.clone(),
                keys: Keys::Bindings(vec![KeyBinding {
                    name: Name::new("Name"),
                    value: Value::String(g.share.to_string().into()),
                }]),
            };
            let mut inst = Instance::of_class(assoc_class);
            put(&mut inst, "Antecedent", reference(antecedent));
            put(&mut inst, "Dependent", reference(dependent));
            inst
        })
        .collect()
}

/// Win32_SessionConnection instances: one per (session, connection) pair
/// where a tree connect of the connection belongs to a session of the
/// session instance.
pub fn session_connections(
    host: &str,
    namespace: &str,
    status: &Status,
    session_class: &Class,
    connection_class: &Class,
    assoc_class: &Class,
) -> Vec<Instance> {
    let sessions = session_groups(status);
    let mut group_of_session: HashMap<u32, usize> = HashMap::new();
    for (i, g) in sessions.iter().enumerate() {
        for s in &g.sessions {
            group_of_session.insert(s.session_id, i);
        }
    }
    let mut out = Vec::new();
    for c in connection_groups(status) {
        let linked: BTreeSet<usize> = c
            .tcons
            .iter()
            .filter_map(|t| group_of_session.get(&t.session_id).copied())
            .collect();
        for i in linked {
            let s = &sessions[i];
            let antecedent = full_path(
                host,
                namespace,
                session_class,
                &[("ComputerName", &s.computer), ("UserName", s.user)],
            );
            let dependent = full_path(
                host,
                namespace,
                connection_class,
                &[
                    ("ComputerName", c.computer),
                    ("ShareName", c.share),
                    ("UserName", c.user),
                ],
            );
            let mut inst = Instance::of_class(assoc_class);
            put(&mut inst, "Antecedent", reference(antecedent));
            put(&mut inst, "Dependent", reference(dependent));
            out.push(inst);
        }
    }
    out
}

#[cfg(test)]
#[path = "map_tests.rs"]
mod tests;
