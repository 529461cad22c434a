//! Samba's state as the instances of the SMB management classes of
//! `root/Microsoft/Windows/SMB` (MSFT_SmbShare, MSFT_SmbSession,
//! MSFT_SmbOpenFile), following `docs/msft-smb.md`. Pure: the caller passes
//! the parsed data, the resolved classes and the current time.
//!
//! Properties Samba has no answer for stay NULL; properties a class does not
//! declare are skipped.

use crate::smbconf::Share;
use crate::smbstatus::{ClientAddress, Open, OpenFile, Session, Status};
use openwmi_cim::{Class, Instance, Value};

/// MSFT_*.ScopeName on a server that is not a cluster file server.
pub const NO_SCOPE: &str = "*";

fn put(inst: &mut Instance, name: &str, value: Option<Value>) {
    let _ = inst.set(name, value);
}

/// The dialect as Windows prints it (`Get-SmbSession`, `Get-SmbConnection`)
/// from Samba's protocol name; an unknown name is passed through.
pub fn dialect(samba: &str) -> String {
    match samba {
        "SMB3_11" => "3.1.1",
        "SMB3_02" => "3.0.2",
        "SMB3_00" => "3.0",
        "SMB2_24" => "2.2.4",
        "SMB2_22" => "2.2.2",
        "SMB2_10" => "2.1",
        "SMB2_02" => "2.0.2",
        "NT1" => "1.5",
        other => other,
    }
    .to_string()
}

/// The client as Windows names it: a host name as is, an IPv6 address in
/// brackets.
pub fn client_computer(s: &Session) -> String {
    let addr = ClientAddress::parse(&s.hostname);
    let name = if s.remote_machine.is_empty() {
        addr.as_ref().map(|a| a.address.as_str()).unwrap_or("")
    } else {
        s.remote_machine.as_str()
    };
    if name.contains(':') && !name.starts_with('[') {
        format!("[{name}]")
    } else {
        name.to_string()
    }
}

/// `DOMAIN\user`: a name that already has a domain (winbind) keeps it; a
/// local account gets the server's name, as Windows shows local accounts.
pub fn client_user(user: &str, server: &str) -> String {
    if user.contains('\\') {
        user.to_string()
    } else {
        format!("{server}\\{user}")
    }
}

fn is_on(c: &Option<crate::smbstatus::Crypto>, degrees: &[&str]) -> bool {
    c.as_ref()
        .is_some_and(|c| c.cipher != "-" && degrees.contains(&c.degree.as_str()))
}

/// Whether the session encrypts everything.
pub fn encrypted(s: &Session) -> bool {
    is_on(&s.encryption, &["full"])
}

/// Whether the session signs (and does not encrypt, as Windows reports it).
pub fn signed(s: &Session) -> bool {
    !encrypted(s) && is_on(&s.signing, &["full", "partial"])
}

/// MSFT_SmbSession instances, one per authenticated session (sessions still
/// authenticating, uid -1, are left out). `server` is the name local
/// accounts are qualified with.
pub fn smb_sessions(status: &Status, class: &Class, server: &str, now: i64) -> Vec<Instance> {
    status
        .sessions
        .iter()
        .filter(|s| s.uid >= 0)
        .map(|s| {
            let mut inst = Instance::of_class(class);
            let opens = status
                .opens()
                .filter(|(_, o)| o.server_id.process() == s.server_id.process() && o.uid == s.uid)
                .count();
            let started = s.creation_time.map(|t| t.unix_secs).or_else(|| {
                status
                    .tcons
                    .iter()
                    .filter(|t| t.session_id == s.session_id)
                    .map(|t| t.connected_at.unix_secs)
                    .min()
            });
            put(&mut inst, "SessionId", Some(u64::from(s.session_id).into()));
            put(&mut inst, "ScopeName", Some(NO_SCOPE.into()));
            put(
                &mut inst,
                "ClientComputerName",
                Some(client_computer(s).into()),
            );
            put(
                &mut inst,
                "ClientUserName",
                Some(client_user(&s.username, server).into()),
            );
            put(&mut inst, "NumOpens", Some((opens as u64).into()));
            put(
                &mut inst,
                "SecondsExists",
                started.map(|t| Value::UInt32(u32::try_from((now - t).max(0)).unwrap_or(u32::MAX))),
            );
            put(&mut inst, "SecondsIdle", None);
            put(&mut inst, "Dialect", Some(dialect(&s.dialect).into()));
            let transport = s
                .channels
                .first()
                .map(|c| c.transport.clone())
                .filter(|t| !t.is_empty())
                .or_else(|| ClientAddress::parse(&s.hostname).map(|_| "tcp".to_string()));
            put(&mut inst, "TransportName", transport.map(Value::from));
            put(&mut inst, "SmbInstance", Some(Value::UInt32(0)));
            put(&mut inst, "Encrypted", Some(encrypted(s).into()));
            put(&mut inst, "Signed", Some(signed(s).into()));
            inst
        })
        .collect()
}

/// The session an open belongs to. Samba records only the smbd process and
/// the uid on an open: the session is the one authenticated session of that
/// process and uid, `None` when there are several (or none).
pub fn open_session<'a>(status: &'a Status, open: &Open) -> Option<&'a Session> {
    let mut found = status
        .sessions
        .iter()
        .filter(|s| s.server_id.process() == open.server_id.process() && s.uid == open.uid);
    let first = found.next()?;
    found.next().is_none().then_some(first)
}

/// Samba 4.24 made `share_file_id` the server-wide open_global_id; before,
/// it counts per smbd process, so the process id goes in the upper half.
pub fn file_id(status: &Status, open: &Open) -> Option<u64> {
    let global = crate::smbstatus::parse_version(&status.version)
        .map(|v| (v.major, v.minor) >= (4, 24))
        .unwrap_or(false);
    if global {
        // Larger ids are smbd's own internal opens.
        (open.share_file_id <= u64::from(u32::MAX)).then_some(open.share_file_id)
    } else {
        let pid = u32::try_from(open.server_id.pid).ok()?;
        let counter = u32::try_from(open.share_file_id).ok()?;
        Some(u64::from(pid) << 32 | u64::from(counter))
    }
}

/// The open with this MSFT_SmbOpenFile.FileId.
pub fn find_open(status: &Status, id: u64) -> Option<(&OpenFile, &Open)> {
    status.opens().find(|(_, o)| file_id(status, o) == Some(id))
}

/// The server-local path of an open file.
pub fn open_path(file: &OpenFile) -> String {
    if file.filename == "." || file.filename.is_empty() {
        file.service_path.clone()
    } else {
        format!(
            "{}/{}",
            file.service_path.trim_end_matches('/'),
            file.filename
        )
    }
}

/// The byte-range locks of an open. Samba records the smbd process on a
/// lock, not the open: the locks of that process on that file, when the
/// process has that one open of the file; `None` (unknown) when it has
/// several, or when smbstatus gave no lock list.
pub fn locks(status: &Status, file: &OpenFile, open: &Open) -> Option<u32> {
    let opens_of_process = file
        .opens
        .iter()
        .filter(|o| o.server_id.process() == open.server_id.process())
        .count();
    if opens_of_process != 1 {
        return None;
    }
    u32::try_from(status.locks_of(file, open).count()).ok()
}

/// MSFT_SmbOpenFile instances, one per open Samba reports.
pub fn smb_open_files(status: &Status, class: &Class, server: &str) -> Vec<Instance> {
    let mut out = Vec::new();
    for (file, open) in status.opens() {
        let Some(id) = file_id(status, open) else {
            continue;
        };
        let session = open_session(status, open);
        let mut inst = Instance::of_class(class);
        put(&mut inst, "FileId", Some(id.into()));
        put(&mut inst, "SmbInstance", Some(Value::UInt32(0)));
        put(
            &mut inst,
            "SessionId",
            session.map(|s| u64::from(s.session_id).into()),
        );
        put(&mut inst, "ScopeName", Some(NO_SCOPE.into()));
        put(&mut inst, "ClusterNodeName", None);
        put(&mut inst, "Path", Some(open_path(file).into()));
        let relative = if file.filename == "." {
            String::new()
        } else {
            file.filename.replace('/', "\\")
        };
        put(&mut inst, "ShareRelativePath", Some(relative.into()));
        put(
            &mut inst,
            "ClientComputerName",
            session.map(|s| client_computer(s).into()),
        );
        let user = session
            .map(|s| s.username.as_str())
            .or(open.username.as_deref());
        put(
            &mut inst,
            "ClientUserName",
            user.map(|u| client_user(u, server).into()),
        );
        put(
            &mut inst,
            "Permissions",
            open.access_mask.map(Value::UInt32),
        );
        put(
            &mut inst,
            "Locks",
            locks(status, file, open).map(Value::UInt32),
        );
        put(&mut inst, "ContinuouslyAvailable", Some(false.into()));
        put(&mut inst, "Encrypted", session.map(|s| encrypted(s).into()));
        put(&mut inst, "Signed", session.map(|s| signed(s).into()));
        out.push(inst);
    }
    out
}

/// MSFT_SmbShare instances from the shares Samba serves, with CurrentUsers
/// from the tree connects when smbstatus answered.
pub fn smb_shares(shares: &[Share], status: Option<&Status>, class: &Class) -> Vec<Instance> {
    let mut out = Vec::new();
    let mut has_ipc = false;
    let users = |name: &str| {
        status.map(|st| {
            st.tcons
                .iter()
                .filter(|t| t.service.eq_ignore_ascii_case(name))
                .count() as u32
        })
    };
    for s in shares {
        let ipc = s.name.eq_ignore_ascii_case("IPC$");
        has_ipc |= ipc;
        let ty: u32 = if ipc {
            3
        } else if s.printable {
            1
        } else {
            0
        };
        let mut inst = share(
            class,
            &s.name,
            (ty == 0).then_some(s.path.as_str()),
            &s.comment,
            ty,
            ipc || s.administrative,
            s.max_connections,
            if s.available { 1 } else { 2 },
            users(&s.name),
        );
        share_settings(&mut inst, s);
        out.push(inst);
    }
    if !has_ipc {
        out.push(share(
            class,
            "IPC$",
            None,
            "IPC Service",
            3,
            true,
            0,
            1,
            users("IPC$"),
        ));
    }
    out
}

/// MSFT_SmbShare.CachingMode from Samba's `csc policy`: 0 None
/// (`disable`), 1 Manual (Samba's default), 2 Documents, 3 Programs, 5
/// Unknown for anything else.
pub fn caching_mode(csc_policy: &str) -> u32 {
    match csc_policy {
        "disable" => 0,
        "manual" | "" => 1,
        "documents" => 2,
        "programs" => 3,
        _ => 5,
    }
}

/// EncryptData, CachingMode and FolderEnumerationMode from the share's
/// settings. FolderEnumerationMode 0 (AccessBased) is Samba's `hide
/// unreadable` (listings leave out what the user cannot read), 1
/// (Unrestricted) otherwise.
fn share_settings(inst: &mut Instance, s: &Share) {
    put(inst, "EncryptData", Some(s.encrypt_data.into()));
    put(
        inst,
        "CachingMode",
        Some(Value::UInt32(caching_mode(&s.csc_policy))),
    );
    put(
        inst,
        "FolderEnumerationMode",
        Some(Value::UInt32(if s.hide_unreadable { 0 } else { 1 })),
    );
}

/// The MSFT_SmbShare instance of one share (CreateShare's CreatedShare).
pub fn smb_share(s: &Share, class: &Class) -> Instance {
    let mut inst = share(
        class,
        &s.name,
        Some(s.path.as_str()),
        &s.comment,
        0,
        s.administrative,
        s.max_connections,
        if s.available { 1 } else { 2 },
        Some(0),
    );
    share_settings(&mut inst, s);
    inst
}

#[allow(clippy::too_many_arguments)]
fn share(
    class: &Class,
    name: &str,
    path: Option<&str>,
    comment: &str,
    ty: u32,
    special: bool,
    limit: u32,
    state: u32,
    users: Option<u32>,
) -> Instance {
    let mut inst = Instance::of_class(class);
    put(&mut inst, "Name", Some(name.into()));
    put(&mut inst, "ScopeName", Some(NO_SCOPE.into()));
    put(&mut inst, "Path", path.map(Value::from));
    put(&mut inst, "Description", Some(comment.into()));
    put(&mut inst, "ShareType", Some(Value::UInt32(ty)));
    put(&mut inst, "Special", Some(special.into()));
    put(&mut inst, "Scoped", Some(false.into()));
    put(&mut inst, "Temporary", Some(false.into()));
    put(&mut inst, "ShadowCopy", Some(false.into()));
    put(&mut inst, "ConcurrentUserLimit", Some(Value::UInt32(limit)));
    put(&mut inst, "CurrentUsers", users.map(Value::UInt32));
    put(&mut inst, "ShareState", Some(Value::UInt32(state)));
    put(&mut inst, "ContinuouslyAvailable", Some(false.into()));
    put(&mut inst, "CATimeout", Some(Value::UInt32(0)));
    put(&mut inst, "SmbInstance", Some(Value::UInt32(0)));
    put(&mut inst, "AvailabilityType", Some(Value::UInt32(0)));
    inst
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smbstatus::parse;

    const CAPTURE: &str = include_str!("../tests/data/smbstatus-4.17.json");

    fn class(mof_props: &[(&str, openwmi_cim::CimType)]) -> Class {
        let mut c = Class::new("MSFT_Test", None);
        for (n, t) in mof_props {
            c.properties.push(openwmi_cim::PropertyDecl::new(
                *n,
                openwmi_cim::TypeDecl::scalar(*t),
            ));
        }
        c
    }

    #[test]
    fn dialects_as_windows_prints_them() {
        assert_eq!(dialect("SMB3_11"), "3.1.1");
        assert_eq!(dialect("SMB2_10"), "2.1");
        assert_eq!(dialect("NT1"), "1.5");
        assert_eq!(dialect("Unknown (0x0399)"), "Unknown (0x0399)");
        // What `WHERE Dialect < "3.0"` relies on.
        assert!(dialect("SMB2_10").as_str() < "3.0" && dialect("SMB3_11").as_str() > "3.0");
    }

    #[test]
    fn sessions_and_opens_of_the_capture() {
        use openwmi_cim::CimType::*;
        let st = parse(CAPTURE).unwrap();
        let sc = class(&[
            ("SessionId", UInt64),
            ("ClientUserName", String),
            ("ClientComputerName", String),
            ("Dialect", String),
            ("Signed", Boolean),
            ("Encrypted", Boolean),
            ("NumOpens", UInt64),
        ]);
        let sessions = smb_sessions(&st, &sc, "SRV", 1_795_264_920);
        assert_eq!(sessions.len(), 2);
        let s = &sessions[0];
        assert_eq!(s.value("SessionId"), Some(&Value::UInt64(687_103_513)));
        assert_eq!(s.value("ClientUserName"), Some(&"SRV\\tester".into()));
        assert_eq!(s.value("ClientComputerName"), Some(&"127.0.0.1".into()));
        assert_eq!(s.value("Dialect"), Some(&"3.1.1".into()));
        assert_eq!(s.value("Signed"), Some(&true.into()));
        assert_eq!(s.value("Encrypted"), Some(&false.into()));
        assert_eq!(s.value("NumOpens"), Some(&Value::UInt64(1)));
        let fc = class(&[
            ("FileId", UInt64),
            ("SessionId", UInt64),
            ("Path", String),
            ("ShareRelativePath", String),
            ("Permissions", UInt32),
        ]);
        let files = smb_open_files(&st, &fc, "SRV");
        assert_eq!(files.len(), 1);
        let f = &files[0];
        assert_eq!(f.value("FileId"), Some(&Value::UInt64(5255 << 32 | 5)));
        assert_eq!(f.value("SessionId"), Some(&Value::UInt64(687_103_513)));
        assert_eq!(
            f.value("Path"),
            Some(&"/srv/samba/public/research_probe.txt".into())
        );
        assert_eq!(
            f.value("ShareRelativePath"),
            Some(&"research_probe.txt".into())
        );
        assert_eq!(f.value("Permissions"), Some(&Value::UInt32(1)));
        assert!(find_open(&st, 5255 << 32 | 5).is_some());
        assert!(find_open(&st, 5).is_none());
    }

    #[test]
    fn share_settings_as_windows_names_them() {
        use openwmi_cim::CimType::*;
        let conf = crate::smbconf::parse(
            "[global]\n  csc policy = documents\n[plain]\n  path = /p\n\
             [secret]\n  path = /s\n  server smb encrypt = required\n  csc policy = disable\n\
             hide unreadable = yes\n[old]\n  path = /o\n  smb encrypt = desired\n\
             csc policy = Programs\n",
        )
        .unwrap();
        let c = class(&[
            ("Name", String),
            ("EncryptData", Boolean),
            ("CachingMode", UInt32),
            ("FolderEnumerationMode", UInt32),
        ]);
        let rows: Vec<_> = smb_shares(&conf.shares, None, &c)
            .iter()
            .map(|i| {
                (
                    i.value("Name").and_then(Value::as_str).unwrap().to_string(),
                    i.value("EncryptData").cloned(),
                    i.value("CachingMode").cloned(),
                    i.value("FolderEnumerationMode").cloned(),
                )
            })
            .collect();
        let row = |n: &str, e: bool, cm: u32, f: u32| {
            (
                n.to_string(),
                Some(Value::Boolean(e)),
                Some(Value::UInt32(cm)),
                Some(Value::UInt32(f)),
            )
        };
        assert_eq!(
            rows[..3],
            [
                row("plain", false, 2, 1),
                row("secret", true, 0, 0),
                row("old", false, 3, 1),
            ]
        );
        assert_eq!(caching_mode("manual"), 1);
        assert_eq!(caching_mode("branchcache?"), 5);
    }

    #[test]
    fn locks_of_an_open_from_the_capture() {
        use openwmi_cim::CimType::*;
        let st = parse(include_str!("../tests/data/smbstatus-4.17-brl.json")).unwrap();
        assert_eq!(st.byte_range_locks.len(), 2);
        let fc = class(&[("FileId", UInt64), ("Path", String), ("Locks", UInt32)]);
        let files = smb_open_files(&st, &fc, "SRV");
        let locked: Vec<_> = files
            .iter()
            .filter(|f| f.value("Locks") == Some(&Value::UInt32(2)))
            .collect();
        assert_eq!(locked.len(), 1, "{files:?}");
        assert!(locked[0]
            .value("Path")
            .and_then(Value::as_str)
            .is_some_and(|p| p.ends_with("/l.txt")));
        assert!(files
            .iter()
            .filter(|f| f.value("Locks") != Some(&Value::UInt32(2)))
            .all(|f| f.value("Locks") == Some(&Value::UInt32(0))));
        // A document without the section (smbstatus without -B) has none.
        assert!(parse(CAPTURE).unwrap().byte_range_locks.is_empty());
    }

    #[test]
    fn ipv6_clients_in_brackets_and_domains_kept() {
        let st = parse(
            r#"{"version":"4.17.1","sessions":{"7":{"session_id":7,
            "server_id":{"pid":12},"uid":5,"gid":5,"username":"DOM\\u","groupname":"g",
            "remote_machine":"","hostname":"ipv6:fe80::1:445","session_dialect":"SMB2_10"}},
            "tcons":{},"open_files":{}}"#,
        )
        .unwrap();
        let s = &st.sessions[0];
        assert_eq!(client_computer(s), "[fe80::1]");
        assert_eq!(client_user(&s.username, "SRV"), "DOM\\u");
        assert!(!signed(s) && !encrypted(s));
    }
}
