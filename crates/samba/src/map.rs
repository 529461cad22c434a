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
use std::hash::Hash;
use std::sync::Arc;

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

/// An open, identified across the cluster: its process, its share file id
/// and its file (an index into `Status::open_files`).
type OpenId = (ServerId, u64, usize);

/// The opens by smbd process, built once per mapping so that matching them
/// to tree connects and sessions stays linear. Holds no borrow of the
/// snapshot, so that instances can be built from it one at a time.
struct OpenIndex {
    /// By process and normalised share directory.
    opens_by_process_dir: HashMap<((u32, u64), String), Vec<OpenId>>,
    opens_per_process: HashMap<(u32, u64), usize>,
}

impl OpenIndex {
    fn new(status: &Status) -> OpenIndex {
        let mut opens_by_process_dir: HashMap<_, Vec<OpenId>> = HashMap::new();
        let mut opens_per_process = HashMap::new();
        for (i, file) in status.open_files.iter().enumerate() {
            for open in &file.opens {
                let process = open.server_id.process();
                opens_by_process_dir
                    .entry((process, normalize_dir(&file.service_path).to_string()))
                    .or_default()
                    .push((open.server_id, open.share_file_id, i));
                *opens_per_process.entry(process).or_insert(0) += 1;
            }
        }
        OpenIndex {
            opens_by_process_dir,
            opens_per_process,
        }
    }
}

/// Entries of a snapshot's list grouped by a key, groups in order of their
/// first entry and entries in list order: indices only, a few bytes per
/// entry.
struct Groups {
    /// The entries, group after group.
    members: Vec<u32>,
    /// Where each group starts in `members`, and the end.
    starts: Vec<u32>,
}

impl Groups {
    fn by<K: Hash + Eq>(len: usize, key: impl Fn(usize) -> K) -> Groups {
        let mut index: HashMap<K, u32> = HashMap::new();
        let mut group_of = Vec::with_capacity(len);
        for i in 0..len {
            let next = index.len() as u32;
            group_of.push(*index.entry(key(i)).or_insert(next));
        }
        let count = index.len();
        drop(index);
        let mut starts = vec![0u32; count + 1];
        for &g in &group_of {
            starts[g as usize + 1] += 1;
        }
        for g in 0..count {
            starts[g + 1] += starts[g];
        }
        let mut fill = starts.clone();
        let mut members = vec![0u32; len];
        for (i, &g) in group_of.iter().enumerate() {
            members[fill[g as usize] as usize] = i as u32;
            fill[g as usize] += 1;
        }
        Groups { members, starts }
    }

    fn len(&self) -> usize {
        self.starts.len() - 1
    }

    fn group(&self, g: usize) -> &[u32] {
        &self.members[self.starts[g] as usize..self.starts[g + 1] as usize]
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
/// lowest tcon id (status.tcons is ordered by tcon id, so each group's first
/// is its lowest).
fn connection_groups(status: &Status) -> Groups {
    Groups::by(status.tcons.len(), |i| {
        let t = &status.tcons[i];
        (
            fold(&t.machine),
            fold(&t.service),
            fold(tcon_user(status, t)),
        )
    })
}

/// Sessions grouped by (ComputerName, UserName), in order of lowest id.
fn session_groups(status: &Status) -> Groups {
    Groups::by(status.sessions.len(), |i| {
        let s = &status.sessions[i];
        (fold(&session_computer(s)), fold(&s.username))
    })
}

/// What a Win32_ServerConnection mapping works out once for all its
/// instances.
struct ConnectionPlan {
    index: OpenIndex,
    groups: Groups,
}

impl ConnectionPlan {
    fn new(status: &Status) -> ConnectionPlan {
        ConnectionPlan {
            index: OpenIndex::new(status),
            groups: connection_groups(status),
        }
    }

    /// The instance of group `g`.
    fn instance(
        &self,
        g: usize,
        status: &Status,
        shares: &[Share],
        class: &Class,
        now_unix: i64,
    ) -> Instance {
        let tcons: Vec<&TreeConnect> = self
            .groups
            .group(g)
            .iter()
            .map(|&i| &status.tcons[i as usize])
            .collect();
        let first = tcons[0];
        let user = tcon_user(status, first);
        let mut opens = BTreeSet::new();
        for t in &tcons {
            let Some(dir) = share_dir(shares, &t.service, user) else {
                continue;
            };
            let key = (t.server_id.process(), normalize_dir(&dir).to_string());
            if let Some(found) = self.index.opens_by_process_dir.get(&key) {
                opens.extend(found.iter().map(|&(server, file_id, file)| {
                    (server, file_id, status.open_files[file].path.as_str())
                }));
            }
        }
        let sessions: BTreeSet<u32> = tcons.iter().map(|t| t.session_id).collect();
        let active = tcons
            .iter()
            .map(|t| t.connected_at.seconds_until(now_unix))
            .max()
            .unwrap_or(0);
        let id = tcons.iter().map(|t| t.tcon_id).min().unwrap_or(0);
        let mut inst = Instance::of_class(class);
        put(
            &mut inst,
            "ComputerName",
            Some(first.machine.as_str().into()),
        );
        put(&mut inst, "ShareName", Some(first.service.as_str().into()));
        put(&mut inst, "UserName", Some(user.into()));
        put(&mut inst, "ConnectionID", Some(Value::UInt32(id)));
        put(&mut inst, "ActiveTime", Some(Value::UInt32(active)));
        // Windows counts the named pipes open on an IPC$ connection.
        // Samba records none where smbstatus looks (pipe opens are not
        // in locking.tdb; their RPC servers run in samba-dcerpcd), so
        // the count is unknown: NULL, rather than a 0 that would be
        // false whenever a pipe is open.
        let files = (!is_ipc(&first.service)).then(|| Value::UInt32(count(opens.len())));
        put(&mut inst, "NumberOfFiles", files);
        put(
            &mut inst,
            "NumberOfUsers",
            Some(Value::UInt32(count(sessions.len()))),
        );
        inst
    }
}

/// Win32_ServerConnection instances: one per distinct
/// (ComputerName, ShareName, UserName) of the tree connects.
pub fn server_connections(
    status: &Status,
    shares: &[Share],
    class: &Class,
    now_unix: i64,
) -> Vec<Instance> {
    let plan = ConnectionPlan::new(status);
    (0..plan.groups.len())
        .map(|g| plan.instance(g, status, shares, class, now_unix))
        .collect()
}

/// [`server_connections`] one instance at a time, as they are taken: a busy
/// server's snapshot gives tens of thousands of instances, and building
/// them all before the first was sent held them all in memory at once.
pub struct ServerConnections {
    status: Arc<Status>,
    shares: Arc<Vec<Share>>,
    class: Arc<Class>,
    now_unix: i64,
    plan: ConnectionPlan,
    next: usize,
}

impl std::fmt::Debug for ServerConnections {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerConnections")
            .field("left", &(self.plan.groups.len() - self.next))
            .finish_non_exhaustive()
    }
}

impl ServerConnections {
    pub fn new(
        status: Arc<Status>,
        shares: Arc<Vec<Share>>,
        class: Arc<Class>,
        now_unix: i64,
    ) -> ServerConnections {
        let plan = ConnectionPlan::new(&status);
        ServerConnections {
            status,
            shares,
            class,
            now_unix,
            plan,
            next: 0,
        }
    }
}

impl Iterator for ServerConnections {
    type Item = Instance;

    fn next(&mut self) -> Option<Instance> {
        if self.next >= self.plan.groups.len() {
            return None;
        }
        let g = self.next;
        self.next += 1;
        Some(
            self.plan
                .instance(g, &self.status, &self.shares, &self.class, self.now_unix),
        )
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.plan.groups.len() - self.next;
        (left, Some(left))
    }
}

/// Whether a share name is IPC$, the share of named pipes.
fn is_ipc(name: &str) -> bool {
    name.eq_ignore_ascii_case("IPC$")
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// What a Win32_ServerSession mapping works out once for all its instances.
struct SessionPlan {
    index: OpenIndex,
    groups: Groups,
    oldest_tcon: HashMap<u32, Timestamp>,
}

impl SessionPlan {
    fn new(status: &Status) -> SessionPlan {
        let mut oldest_tcon: HashMap<u32, Timestamp> = HashMap::new();
        for t in &status.tcons {
            let e = oldest_tcon.entry(t.session_id).or_insert(t.connected_at);
            if t.connected_at.unix_secs < e.unix_secs {
                *e = t.connected_at;
            }
        }
        SessionPlan {
            index: OpenIndex::new(status),
            groups: session_groups(status),
            oldest_tcon,
        }
    }

    /// The instance of group `g`.
    fn instance(
        &self,
        g: usize,
        status: &Status,
        guest_account: &str,
        class: &Class,
        now_unix: i64,
    ) -> Instance {
        let sessions: Vec<&Session> = self
            .groups
            .group(g)
            .iter()
            .map(|&i| &status.sessions[i as usize])
            .collect();
        let first = sessions[0];
        let processes: BTreeSet<(u32, u64)> =
            sessions.iter().map(|s| s.server_id.process()).collect();
        let active = sessions
            .iter()
            .filter_map(|s| match s.creation_time {
                Some(c) => Some(c.seconds_until(now_unix)),
                // Before Samba 4.20: the oldest tree connect of the session.
                None => self
                    .oldest_tcon
                    .get(&s.session_id)
                    .map(|t| t.seconds_until(now_unix)),
            })
            .max();
        let opened: usize = processes
            .iter()
            .filter_map(|p| self.index.opens_per_process.get(p))
            .sum();
        let guest = sessions
            .iter()
            .all(|s| s.username.eq_ignore_ascii_case(guest_account));
        let transport = first
            .channels
            .first()
            .map(|c| c.transport.clone())
            .or_else(|| first.address().map(|a| a.family));
        let mut inst = Instance::of_class(class);
        put(
            &mut inst,
            "ComputerName",
            Some(session_computer(first).into()),
        );
        put(&mut inst, "UserName", Some(first.username.as_str().into()));
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
    }
}

/// Win32_ServerSession instances: one per distinct (ComputerName, UserName).
/// Sessions of `guest_account` (smb.conf `guest account`) are Guest sessions.
pub fn server_sessions(
    status: &Status,
    guest_account: &str,
    class: &Class,
    now_unix: i64,
) -> Vec<Instance> {
    let plan = SessionPlan::new(status);
    (0..plan.groups.len())
        .map(|g| plan.instance(g, status, guest_account, class, now_unix))
        .collect()
}

/// [`server_sessions`] one instance at a time, as they are taken (see
/// [`ServerConnections`]).
pub struct ServerSessions {
    status: Arc<Status>,
    guest_account: String,
    class: Arc<Class>,
    now_unix: i64,
    plan: SessionPlan,
    next: usize,
}

impl std::fmt::Debug for ServerSessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerSessions")
            .field("left", &(self.plan.groups.len() - self.next))
            .finish_non_exhaustive()
    }
}

impl ServerSessions {
    pub fn new(
        status: Arc<Status>,
        guest_account: &str,
        class: Arc<Class>,
        now_unix: i64,
    ) -> ServerSessions {
        let plan = SessionPlan::new(&status);
        ServerSessions {
            status,
            guest_account: guest_account.to_owned(),
            class,
            now_unix,
            plan,
            next: 0,
        }
    }
}

impl Iterator for ServerSessions {
    type Item = Instance;

    fn next(&mut self) -> Option<Instance> {
        if self.next >= self.plan.groups.len() {
            return None;
        }
        let g = self.next;
        self.next += 1;
        Some(self.plan.instance(
            g,
            &self.status,
            &self.guest_account,
            &self.class,
            self.now_unix,
        ))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.plan.groups.len() - self.next;
        (left, Some(left))
    }
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
    let groups = connection_groups(status);
    (0..groups.len())
        .map(|g| {
            let first = &status.tcons[groups.group(g)[0] as usize];
            let dependent = full_path(
                host,
                namespace,
                connection_class,
                &[
                    ("ComputerName", &first.machine),
                    ("ShareName", &first.service),
                    ("UserName", tcon_user(status, first)),
                ],
            );
            let antecedent = ObjectPath {
                host: Some(host.to_string()),
                namespace: Some(namespace.replace('\\', "/")),
                class: share_class.clone(),
                keys: Keys::Bindings(vec![KeyBinding {
                    name: Name::new("Name"),
                    value: Value::String(first.service.clone().into()),
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
    for g in 0..sessions.len() {
        for &i in sessions.group(g) {
            group_of_session.insert(status.sessions[i as usize].session_id, g);
        }
    }
    let connections = connection_groups(status);
    let mut out = Vec::new();
    for c in 0..connections.len() {
        let tcons = connections.group(c);
        let linked: BTreeSet<usize> = tcons
            .iter()
            .filter_map(|&t| {
                group_of_session
                    .get(&status.tcons[t as usize].session_id)
                    .copied()
            })
            .collect();
        let first = &status.tcons[tcons[0] as usize];
        for i in linked {
            let s = &status.sessions[sessions.group(i)[0] as usize];
            let antecedent = full_path(
                host,
                namespace,
                session_class,
                &[
                    ("ComputerName", &session_computer(s)),
                    ("UserName", &s.username),
                ],
            );
            let dependent = full_path(
                host,
                namespace,
                connection_class,
                &[
                    ("ComputerName", &first.machine),
                    ("ShareName", &first.service),
                    ("UserName", tcon_user(status, first)),
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
