//! The output of `smbstatus --json` (Samba 4.17 and later), and of
//! `smbstatus --version`. Pure: the text comes from the caller.
//!
//! The JSON is read strictly: a missing required field, a value of the wrong
//! type or a number out of range is an [`Error::Field`] naming the JSON path,
//! never a silently dropped entry. Unknown fields are ignored, so newer
//! Samba releases that add fields still parse. Integers are accepted both as
//! JSON numbers and as decimal strings, because Samba writes ids as strings
//! and uid/gid as numbers, and has changed its mind before.

use crate::error::Error;
use crate::timestamp::Timestamp;
use serde_json::{Map, Value};
use std::fmt;

/// The largest `smbstatus --json` output accepted (64 MiB).
pub const MAX_INPUT_BYTES: usize = 64 << 20;
/// The most sessions + tree connects + opens accepted in one output.
pub const MAX_ENTRIES: usize = 1_000_000;
/// `server_id.vnn` of a process that is not part of a CTDB cluster
/// (`NONCLUSTER_VNN`).
pub const NONCLUSTER_VNN: u32 = u32::MAX;

/// Everything one `smbstatus --json` run reported.
#[derive(Clone, Debug, PartialEq)]
pub struct Status {
    /// When smbstatus ran (`timestamp`), if it said.
    pub timestamp: Option<Timestamp>,
    /// The Samba version string, e.g. `4.17.12-Debian`.
    pub version: String,
    /// The smb.conf smbstatus read.
    pub smb_conf: Option<String>,
    /// Sessions, ordered by session id.
    pub sessions: Vec<Session>,
    /// Tree connects, ordered by tcon id.
    pub tcons: Vec<TreeConnect>,
    /// Open files, ordered by path.
    pub open_files: Vec<OpenFile>,
    /// Byte-range locks (`smbstatus -B`), ordered by path then start;
    /// empty when smbstatus was not asked for them.
    pub byte_range_locks: Vec<ByteRangeLock>,
}

/// Samba's identity of a file (`fileid`): device, inode and the extra id
/// some file systems add. What smbd finds an open by, with its
/// share_file_id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileKey {
    pub devid: u64,
    pub inode: u64,
    pub extid: u64,
}

/// One byte-range lock. Samba records the smbd process that holds it, not
/// the open: a lock belongs to an open through the file and the process.
#[derive(Clone, Debug, PartialEq)]
pub struct ByteRangeLock {
    /// The key in `byte_range_locks`: the full path.
    pub path: String,
    pub file_id: Option<FileKey>,
    pub server_id: ServerId,
    /// `R` or `W` (and Samba's pending kinds).
    pub lock_type: String,
    pub start: u64,
    pub size: u64,
}

/// Which smbd process (on which cluster node) holds something.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServerId {
    /// The CTDB node number; [`NONCLUSTER_VNN`] without clustering.
    pub vnn: u32,
    pub pid: u64,
    pub task_id: u32,
    pub unique_id: u64,
}

impl ServerId {
    /// The process on its node: what opens and tree connects are matched by.
    pub fn process(&self) -> (u32, u64) {
        (self.vnn, self.pid)
    }
}

/// Encryption or signing of a session or tree connect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Crypto {
    /// The algorithm, `-` for none.
    pub cipher: String,
    /// `none`, `partial`, `full` (or `anonymous` on newer Samba).
    pub degree: String,
}

/// An SMB session (an authenticated user on a client connection).
#[derive(Clone, Debug, PartialEq)]
pub struct Session {
    pub session_id: u32,
    pub server_id: ServerId,
    pub uid: i64,
    pub gid: i64,
    pub username: String,
    pub groupname: String,
    /// The client's NetBIOS name, or its address for SMB2/3 clients.
    pub remote_machine: String,
    /// The client's socket address, `ipv4:10.0.0.5:51234` or `ipv6:...`.
    pub hostname: String,
    /// For example `SMB3_11`, `NT1`.
    pub dialect: String,
    pub encryption: Option<Crypto>,
    pub signing: Option<Crypto>,
    /// Samba 4.20 and later.
    pub creation_time: Option<Timestamp>,
    /// Samba 4.23 and later (empty before), ordered by channel id.
    pub channels: Vec<Channel>,
}

impl Session {
    /// The client address parsed from `hostname`, if it has the usual form.
    pub fn address(&self) -> Option<ClientAddress> {
        ClientAddress::parse(&self.hostname)
    }
}

/// One transport connection of a (multichannel) session.
#[derive(Clone, Debug, PartialEq)]
pub struct Channel {
    pub channel_id: u64,
    pub creation_time: Option<Timestamp>,
    pub local_address: String,
    pub remote_address: String,
    /// `tcp`, `nbt`, `unknown`, ... as Samba names it.
    pub transport: String,
}

/// A client socket address as Samba prints it (`ipv4:1.2.3.4:445`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientAddress {
    /// `ipv4`, `ipv6`, or whatever else precedes the first colon.
    pub family: String,
    pub address: String,
    pub port: Option<u16>,
}

impl ClientAddress {
    pub fn parse(s: &str) -> Option<ClientAddress> {
        let (family, rest) = s.split_once(':')?;
        if family.is_empty() || rest.is_empty() {
            return None;
        }
        let (address, port) = if let Some(inner) = rest.strip_prefix('[') {
            // `[addr]:port`
            let (a, p) = inner.split_once(']')?;
            (a, p.strip_prefix(':'))
        } else {
            match rest.rsplit_once(':') {
                Some((a, p)) if !a.is_empty() && p.parse::<u16>().is_ok() => (a, Some(p)),
                _ => (rest, None),
            }
        };
        Some(ClientAddress {
            family: family.to_string(),
            address: address.to_string(),
            port: match port {
                Some(p) => Some(p.parse().ok()?),
                None => None,
            },
        })
    }
}

/// A tree connect: one client connection to one share.
#[derive(Clone, Debug, PartialEq)]
pub struct TreeConnect {
    pub tcon_id: u32,
    pub session_id: u32,
    /// The share name.
    pub service: String,
    pub server_id: ServerId,
    /// The client's NetBIOS name or address.
    pub machine: String,
    pub connected_at: Timestamp,
    pub encryption: Option<Crypto>,
    pub signing: Option<Crypto>,
}

/// A file some client has open, with every open of it.
#[derive(Clone, Debug, PartialEq)]
pub struct OpenFile {
    /// The key in `open_files`: the full path.
    pub path: String,
    /// The share's directory (Samba records no share name on an open).
    pub service_path: String,
    /// The name relative to `service_path`.
    pub filename: String,
    /// Ordered by their key (`pid/share_file_id`).
    pub opens: Vec<Open>,
    /// Samba's identity of the file, if given.
    pub file_id: Option<FileKey>,
}

/// One open of a file.
#[derive(Clone, Debug, PartialEq)]
pub struct Open {
    pub server_id: ServerId,
    /// Absent when smbstatus was asked for numeric ids.
    pub username: Option<String>,
    pub uid: i64,
    pub share_file_id: u64,
    /// Samba 4.17 and later.
    pub opened_at: Option<Timestamp>,
    /// The access granted to this handle (`access_mask.hex`), if given.
    pub access_mask: Option<u32>,
}

impl Status {
    /// The session with that id.
    pub fn session(&self, session_id: u32) -> Option<&Session> {
        // `sessions` is sorted by id; ids repeat only in hand-made input.
        let i = self.sessions.partition_point(|s| s.session_id < session_id);
        self.sessions.get(i).filter(|s| s.session_id == session_id)
    }

    /// The byte-range locks the smbd process of `open` holds on `file`.
    pub fn locks_of<'a>(
        &'a self,
        file: &'a OpenFile,
        open: &'a Open,
    ) -> impl Iterator<Item = &'a ByteRangeLock> + 'a {
        self.byte_range_locks.iter().filter(move |l| {
            let same_file = match (l.file_id, file.file_id) {
                (Some(a), Some(b)) => a == b,
                _ => l.path == file.path,
            };
            same_file && l.server_id.process() == open.server_id.process()
        })
    }

    /// Every open, with the file it belongs to.
    pub fn opens(&self) -> impl Iterator<Item = (&OpenFile, &Open)> {
        self.open_files
            .iter()
            .flat_map(|f| f.opens.iter().map(move |o| (f, o)))
    }
}

/// A Samba release number from `smbstatus --version` (`Version 4.17.12-Debian`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SambaVersion {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
    /// The version as printed, without the `Version ` prefix.
    pub text: String,
}

impl SambaVersion {
    /// Whether `smbstatus --json` exists in this release.
    pub fn has_json(&self) -> bool {
        (self.major, self.minor) >= (4, 17)
    }
}

impl fmt::Display for SambaVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Parses the output of `smbstatus --version` (or a bare `4.17.12-Debian`).
pub fn parse_version(output: &str) -> Result<SambaVersion, Error> {
    let line = output.lines().map(str::trim).find(|l| !l.is_empty());
    let line = line.ok_or_else(|| Error::Version(output.chars().take(80).collect()))?;
    let text = line
        .strip_prefix("Version")
        .map(str::trim_start)
        .unwrap_or(line);
    let bad = || Error::Version(line.chars().take(80).collect());
    let mut parts = text.splitn(3, '.');
    let mut number = |whole: bool| -> Result<u32, Error> {
        let p = parts.next().ok_or_else(bad)?;
        let digits: &str = if whole {
            p
        } else {
            let end = p.find(|c: char| !c.is_ascii_digit()).unwrap_or(p.len());
            &p[..end]
        };
        if digits.is_empty() || digits.len() > 9 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        digits.parse().map_err(|_| bad())
    };
    let major = number(true)?;
    let minor = number(true)?;
    let patch = number(false)?;
    Ok(SambaVersion {
        major,
        minor,
        patch,
        text: text.to_string(),
    })
}

/// Parses `smbstatus --json` output.
pub fn parse(json: &str) -> Result<Status, Error> {
    if json.len() > MAX_INPUT_BYTES {
        return Err(Error::TooLarge {
            what: "smbstatus output",
            size: json.len(),
            limit: MAX_INPUT_BYTES,
        });
    }
    parse_inner(json, true)
}

/// Parses `smbstatus --json` output; `open_files_required` false accepts a
/// document without `open_files`, which smbstatus writes when the locking
/// database does not exist yet (no client ever connected) and says so on
/// stderr. The caller bounds the size.
pub(crate) fn parse_inner(json: &str, open_files_required: bool) -> Result<Status, Error> {
    read_document(
        &mut serde_json::Deserializer::from_str(json),
        open_files_required,
    )
}

/// [`parse`] reading from `input` (the caller bounds its size), as
/// [`parse_inner`] does.
pub(crate) fn parse_reader(
    input: impl std::io::Read,
    open_files_required: bool,
) -> Result<Status, Error> {
    read_document(
        &mut serde_json::Deserializer::from_reader(input),
        open_files_required,
    )
}

/// Reads the document one entry at a time: only the JSON tree of the entry
/// being converted exists at any moment. A whole-document tree costs many
/// times the text (a map and a string per field): a busy server's snapshot
/// took most of the process's memory.
fn read_document<'de, R: serde_json::de::Read<'de>>(
    de: &mut serde_json::Deserializer<R>,
    open_files_required: bool,
) -> Result<Status, Error> {
    let mut doc = Doc {
        failure: None,
        budget: MAX_ENTRIES,
        open_files_required,
        sessions: Vec::new(),
        tcons: Vec::new(),
        open_files: Vec::new(),
        byte_range_locks: Vec::new(),
        seen: [false; 4],
    };
    let result = serde::de::DeserializeSeed::deserialize(Root(&mut doc), &mut *de)
        .and_then(|status| de.end().map(|()| status));
    result.map_err(|e| {
        doc.failure.take().unwrap_or_else(|| Error::Json {
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        })
    })
}

/// What the entries read so far gave, and the first error of our own (a
/// serde error carries only text: the error itself waits here).
struct Doc {
    failure: Option<Error>,
    budget: usize,
    open_files_required: bool,
    sessions: Vec<Session>,
    tcons: Vec<TreeConnect>,
    open_files: Vec<OpenFile>,
    byte_range_locks: Vec<ByteRangeLock>,
    seen: [bool; 4],
}

impl Doc {
    fn fail<E: serde::de::Error>(&mut self, e: Error) -> E {
        let text = e.to_string();
        self.failure.get_or_insert(e);
        E::custom(text)
    }
}

/// The document's top level.
struct Root<'d>(&'d mut Doc);

/// `sessions`, `tcons`, `open_files` or `byte_range_locks`: an object of
/// entries.
struct Entries<'d> {
    doc: &'d mut Doc,
    section: usize,
}

const SECTIONS: [&str; 4] = ["sessions", "tcons", "open_files", "byte_range_locks"];

/// Refuses a value that is not an object with the error the whole-tree
/// reading gave ("expected an object, found ...").
macro_rules! refuse_non_objects {
    () => {
        fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Err(self.not_an_object("a boolean"))
        }
        fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Err(self.not_an_object("a number"))
        }
        fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Err(self.not_an_object("a number"))
        }
        fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Err(self.not_an_object("a number"))
        }
        fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Err(self.not_an_object("a string"))
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Err(self.not_an_object("null"))
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> Result<Self::Value, A::Error> {
            // Malformed JSON inside (nesting too deep, say) is reported as such.
            while seq.next_element::<Value>()?.is_some() {}
            Err(self.not_an_object("an array"))
        }
    };
}

impl Root<'_> {
    fn not_an_object<E: serde::de::Error>(self, kind: &str) -> E {
        self.0.fail(field_error(
            &Loc::Root,
            format!("expected an object, found {kind}"),
        ))
    }
}

impl Entries<'_> {
    fn not_an_object<E: serde::de::Error>(self, kind: &str) -> E {
        let loc = Loc::Root.key(SECTIONS[self.section]);
        self.doc.fail(field_error(
            &loc,
            format!("expected an object, found {kind}"),
        ))
    }
}

impl<'de> serde::de::DeserializeSeed<'de> for Root<'_> {
    type Value = Status;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Status, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Root<'_> {
    type Value = Status;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object")
    }

    refuse_non_objects!();

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Status, A::Error> {
        let doc = self.0;
        // The few small fields of the top level, read as before.
        let mut head = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            match SECTIONS.iter().position(|s| *s == key) {
                Some(section) => {
                    doc.seen[section] = true;
                    map.next_value_seed(Entries {
                        doc: &mut *doc,
                        section,
                    })?;
                }
                None if matches!(key.as_str(), "timestamp" | "version" | "smb_conf") => {
                    head.insert(key, map.next_value::<Value>()?);
                }
                // Read (nesting limit included) and dropped at once.
                None => {
                    map.next_value::<Value>()?;
                }
            }
        }
        let loc = Loc::Root;
        let finish = |doc: &mut Doc| -> Result<Status, Error> {
            let timestamp = opt_timestamp(&head, "timestamp", &loc)?;
            let version = string(&head, "version", &loc)?;
            let smb_conf = opt_string(&head, "smb_conf", &loc)?;
            for (section, seen) in doc.seen.iter().enumerate() {
                // byte_range_locks only with -B, and like open_files absent
                // before the first client.
                if !seen && (section < 2 || (section == 2 && doc.open_files_required)) {
                    return Err(field_error(
                        &loc,
                        format!("missing required field \"{}\"", SECTIONS[section]),
                    ));
                }
            }
            let mut sessions = std::mem::take(&mut doc.sessions);
            let mut tcons = std::mem::take(&mut doc.tcons);
            let mut open_files = std::mem::take(&mut doc.open_files);
            let mut byte_range_locks = std::mem::take(&mut doc.byte_range_locks);
            // The snapshot is kept: without the spare room the lists grew
            // with (up to as much again as they hold), given back before
            // sorting takes room of its own.
            sessions.shrink_to_fit();
            tcons.shrink_to_fit();
            open_files.shrink_to_fit();
            byte_range_locks.shrink_to_fit();
            sessions.sort_by_key(|s| s.session_id);
            tcons.sort_by_key(|t| t.tcon_id);
            open_files.sort_by(|a, b| a.path.cmp(&b.path));
            byte_range_locks.sort_by(|a, b| (&a.path, a.start).cmp(&(&b.path, b.start)));
            Ok(Status {
                timestamp,
                version,
                smb_conf,
                sessions,
                tcons,
                open_files,
                byte_range_locks,
            })
        };
        finish(doc).map_err(|e| doc.fail(e))
    }
}

impl<'de> serde::de::DeserializeSeed<'de> for Entries<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Entries<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object")
    }

    refuse_non_objects!();

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let doc = self.doc;
        let section_loc = Loc::Root.key(SECTIONS[self.section]);
        while let Some(key) = map.next_key::<String>()? {
            let value: Value = map.next_value()?;
            let loc = section_loc.index(&key);
            let converted = match self.section {
                0 => take(&mut doc.budget)
                    .and_then(|()| session(&value, &loc))
                    .map(|s| doc.sessions.push(s)),
                1 => take(&mut doc.budget)
                    .and_then(|()| tcon(&value, &loc))
                    .map(|t| doc.tcons.push(t)),
                2 => open_file(&key, &value, &loc, &mut doc.budget).map(|f| doc.open_files.push(f)),
                _ => file_locks(&key, &value, &loc, &mut doc.budget)
                    .map(|l| doc.byte_range_locks.extend(l)),
            };
            converted.map_err(|e| doc.fail(e))?;
        }
        Ok(())
    }
}

fn take(budget: &mut usize) -> Result<(), Error> {
    *budget = budget
        .checked_sub(1)
        .ok_or(Error::TooManyEntries { limit: MAX_ENTRIES })?;
    Ok(())
}

fn session(v: &Value, loc: &Loc) -> Result<Session, Error> {
    let m = as_object(v, loc)?;
    let channels_loc = loc.key("channels");
    let mut channels = Vec::new();
    if let Some(c) = m.get("channels") {
        for (k, v) in as_object(c, &channels_loc)? {
            channels.push(channel(v, &channels_loc.index(k))?);
        }
    }
    channels.sort_by_key(|c| c.channel_id);
    channels.shrink_to_fit();
    Ok(Session {
        session_id: uint(m, "session_id", loc)?,
        server_id: server_id(m, loc)?,
        uid: int(m, "uid", loc)?,
        gid: int(m, "gid", loc)?,
        username: string(m, "username", loc)?,
        groupname: string(m, "groupname", loc)?,
        remote_machine: string(m, "remote_machine", loc)?,
        hostname: string(m, "hostname", loc)?,
        dialect: string(m, "session_dialect", loc)?,
        encryption: opt_crypto(m, "encryption", loc)?,
        signing: opt_crypto(m, "signing", loc)?,
        creation_time: opt_timestamp(m, "creation_time", loc)?,
        channels,
    })
}

fn channel(v: &Value, loc: &Loc) -> Result<Channel, Error> {
    let m = as_object(v, loc)?;
    Ok(Channel {
        channel_id: uint(m, "channel_id", loc)?,
        creation_time: opt_timestamp(m, "creation_time", loc)?,
        local_address: opt_string(m, "local_address", loc)?.unwrap_or_default(),
        remote_address: opt_string(m, "remote_address", loc)?.unwrap_or_default(),
        transport: string(m, "transport", loc)?,
    })
}

fn tcon(v: &Value, loc: &Loc) -> Result<TreeConnect, Error> {
    let m = as_object(v, loc)?;
    Ok(TreeConnect {
        tcon_id: uint(m, "tcon_id", loc)?,
        session_id: uint(m, "session_id", loc)?,
        service: string(m, "service", loc)?,
        server_id: server_id(m, loc)?,
        machine: string(m, "machine", loc)?,
        connected_at: timestamp(m, "connected_at", loc)?,
        encryption: opt_crypto(m, "encryption", loc)?,
        signing: opt_crypto(m, "signing", loc)?,
    })
}

fn open_file(path: &str, v: &Value, loc: &Loc, budget: &mut usize) -> Result<OpenFile, Error> {
    let m = as_object(v, loc)?;
    let opens_loc = loc.key("opens");
    let mut opens = Vec::new();
    for (k, v) in as_object(required(m, "opens", loc)?, &opens_loc)? {
        take(budget)?;
        let oloc = opens_loc.index(k);
        let om = as_object(v, &oloc)?;
        opens.push((
            k.as_str(),
            Open {
                server_id: server_id(om, &oloc)?,
                username: opt_string(om, "username", &oloc)?,
                uid: int(om, "uid", &oloc)?,
                share_file_id: uint(om, "share_file_id", &oloc)?,
                opened_at: opt_timestamp(om, "opened_at", &oloc)?,
                access_mask: opt_hex_u32(om, "access_mask", &oloc)?,
            },
        ));
    }
    opens.sort_by(|a, b| a.0.cmp(b.0));
    Ok(OpenFile {
        path: path.to_string(),
        service_path: string(m, "service_path", loc)?,
        filename: string(m, "filename", loc)?,
        opens: exactly(opens.into_iter().map(|(_, o)| o)),
        file_id: opt_file_key(m, loc)?,
    })
}

/// `fileid` of an open file or a locked one, if present.
fn opt_file_key(m: &Map<String, Value>, loc: &Loc) -> Result<Option<FileKey>, Error> {
    let Some(v) = m.get("fileid") else {
        return Ok(None);
    };
    let floc = loc.key("fileid");
    let f = as_object(v, &floc)?;
    Ok(Some(FileKey {
        devid: uint(f, "devid", &floc)?,
        inode: uint(f, "inode", &floc)?,
        extid: opt_uint(f, "extid", &floc)?.unwrap_or(0),
    }))
}

/// The locks of one file of `byte_range_locks`.
fn file_locks(
    path: &str,
    v: &Value,
    loc: &Loc,
    budget: &mut usize,
) -> Result<Vec<ByteRangeLock>, Error> {
    let m = as_object(v, loc)?;
    let file_id = opt_file_key(m, loc)?;
    let lloc = loc.key("locks");
    let list = required(m, "locks", loc)?;
    let list = list
        .as_array()
        .ok_or_else(|| field_error(&lloc, format!("expected an array, found {}", kind(list))))?;
    let mut out = Vec::with_capacity(list.len().min(1024));
    for (i, l) in list.iter().enumerate() {
        take(budget)?;
        let index = i.to_string();
        let iloc = lloc.index(&index);
        let lm = as_object(l, &iloc)?;
        out.push(ByteRangeLock {
            path: path.to_string(),
            file_id,
            server_id: server_id(lm, &iloc)?,
            lock_type: string(lm, "type", &iloc)?,
            start: uint(lm, "start", &iloc)?,
            size: uint(lm, "size", &iloc)?,
        });
    }
    Ok(out)
}

/// `{"hex": "0x00000003", ...}` (a mask as smbstatus prints one), if present.
fn opt_hex_u32(m: &Map<String, Value>, key: &str, loc: &Loc) -> Result<Option<u32>, Error> {
    let Some(v) = m.get(key) else {
        return Ok(None);
    };
    let kloc = loc.key(key);
    let Some(hex) = as_object(v, &kloc)?.get("hex") else {
        return Ok(None);
    };
    let hloc = kloc.key("hex");
    let text = hex
        .as_str()
        .ok_or_else(|| field_error(&hloc, format!("expected a string, found {}", kind(hex))))?;
    let digits = text
        .strip_prefix("0x")
        .or_else(|| text.strip_prefix("0X"))
        .unwrap_or(text);
    u32::from_str_radix(digits, 16).map(Some).map_err(|_| {
        let shown: String = text.chars().take(32).collect();
        field_error(
            &hloc,
            format!("expected a 32-bit hex number, found {shown:?}"),
        )
    })
}

/// The items in a list of exactly their number: one grown a push at a
/// time has spare room (a few items at least), in each of many thousand
/// files of a busy server's snapshot.
fn exactly<T>(items: impl ExactSizeIterator<Item = T>) -> Vec<T> {
    let mut list = Vec::with_capacity(items.len());
    list.extend(items);
    list
}

fn server_id(m: &Map<String, Value>, loc: &Loc) -> Result<ServerId, Error> {
    let sloc = loc.key("server_id");
    let s = as_object(required(m, "server_id", loc)?, &sloc)?;
    Ok(ServerId {
        pid: uint(s, "pid", &sloc)?,
        task_id: opt_uint(s, "task_id", &sloc)?.unwrap_or(0),
        vnn: opt_uint(s, "vnn", &sloc)?.unwrap_or(NONCLUSTER_VNN),
        unique_id: opt_uint(s, "unique_id", &sloc)?.unwrap_or(0),
    })
}

fn opt_crypto(m: &Map<String, Value>, key: &str, loc: &Loc) -> Result<Option<Crypto>, Error> {
    let Some(v) = m.get(key) else {
        return Ok(None);
    };
    let cloc = loc.key(key);
    let c = as_object(v, &cloc)?;
    Ok(Some(Crypto {
        cipher: string(c, "cipher", &cloc)?,
        degree: string(c, "degree", &cloc)?,
    }))
}

/// Where in the document a value is, printed as a JSON path.
enum Loc<'a> {
    Root,
    Key(&'a Loc<'a>, &'a str),
    Index(&'a Loc<'a>, &'a str),
}

impl<'a> Loc<'a> {
    fn key(&'a self, k: &'a str) -> Loc<'a> {
        Loc::Key(self, k)
    }
    fn index(&'a self, k: &'a str) -> Loc<'a> {
        Loc::Index(self, k)
    }
}

impl fmt::Display for Loc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Loc::Root => f.write_str("$"),
            Loc::Key(p, k) => write!(f, "{p}.{k}"),
            Loc::Index(p, k) => {
                // Keys come from the input: keep the path one line and short.
                let shown: String = k.chars().take(64).collect();
                write!(f, "{p}[{shown:?}]")
            }
        }
    }
}

fn field_error(loc: &Loc, message: impl Into<String>) -> Error {
    Error::Field {
        path: loc.to_string(),
        message: message.into(),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn as_object<'v>(v: &'v Value, loc: &Loc) -> Result<&'v Map<String, Value>, Error> {
    v.as_object()
        .ok_or_else(|| field_error(loc, format!("expected an object, found {}", kind(v))))
}

fn required<'v>(m: &'v Map<String, Value>, key: &str, loc: &Loc) -> Result<&'v Value, Error> {
    m.get(key)
        .ok_or_else(|| field_error(loc, format!("missing required field \"{key}\"")))
}

fn string(m: &Map<String, Value>, key: &str, loc: &Loc) -> Result<String, Error> {
    let v = required(m, key, loc)?;
    v.as_str().map(str::to_string).ok_or_else(|| {
        field_error(
            &loc.key(key),
            format!("expected a string, found {}", kind(v)),
        )
    })
}

fn opt_string(m: &Map<String, Value>, key: &str, loc: &Loc) -> Result<Option<String>, Error> {
    match m.get(key) {
        None => Ok(None),
        Some(_) => string(m, key, loc).map(Some),
    }
}

/// An integer given as a JSON number or a decimal string.
fn integer(v: &Value, loc: &Loc) -> Result<i128, Error> {
    match v {
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                Ok(i128::from(u))
            } else if let Some(i) = n.as_i64() {
                Ok(i128::from(i))
            } else {
                Err(field_error(loc, format!("expected an integer, found {n}")))
            }
        }
        Value::String(s) => {
            let digits = s.strip_prefix('-').unwrap_or(s);
            if digits.is_empty() || digits.len() > 20 || !digits.bytes().all(|b| b.is_ascii_digit())
            {
                let shown: String = s.chars().take(32).collect();
                return Err(field_error(
                    loc,
                    format!("expected an integer, found the string {shown:?}"),
                ));
            }
            s.parse::<i128>()
                .map_err(|e| field_error(loc, format!("invalid integer {s:?}: {e}")))
        }
        other => Err(field_error(
            loc,
            format!("expected an integer, found {}", kind(other)),
        )),
    }
}

fn uint<T: TryFrom<i128>>(m: &Map<String, Value>, key: &str, loc: &Loc) -> Result<T, Error> {
    let floc = loc.key(key);
    let n = integer(required(m, key, loc)?, &floc)?;
    T::try_from(n).map_err(|_| {
        field_error(
            &floc,
            format!("{n} does not fit in {}", std::any::type_name::<T>()),
        )
    })
}

fn opt_uint<T: TryFrom<i128>>(
    m: &Map<String, Value>,
    key: &str,
    loc: &Loc,
) -> Result<Option<T>, Error> {
    match m.get(key) {
        None => Ok(None),
        Some(_) => uint(m, key, loc).map(Some),
    }
}

fn int(m: &Map<String, Value>, key: &str, loc: &Loc) -> Result<i64, Error> {
    uint::<i64>(m, key, loc)
}

fn timestamp(m: &Map<String, Value>, key: &str, loc: &Loc) -> Result<Timestamp, Error> {
    let s = string(m, key, loc)?;
    s.parse()
        .map_err(|e| field_error(&loc.key(key), format!("{e}")))
}

fn opt_timestamp(m: &Map<String, Value>, key: &str, loc: &Loc) -> Result<Option<Timestamp>, Error> {
    match m.get(key) {
        None => Ok(None),
        Some(_) => timestamp(m, key, loc).map(Some),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CAPTURE_4_17: &str = include_str!("../tests/data/smbstatus-4.17.json");

    fn field_path(e: Error) -> String {
        match e {
            Error::Field { path, .. } => path,
            other => panic!("expected a field error, got {other:?}"),
        }
    }

    #[test]
    fn real_4_17_capture() {
        let s = parse(CAPTURE_4_17).unwrap();
        assert_eq!(s.version, "4.17.12-Debian");
        assert_eq!(s.smb_conf.as_deref(), Some("/etc/samba/smb.conf"));
        assert_eq!(s.timestamp.unwrap().unix_secs, 1_795_264_918);
        assert_eq!(s.sessions.len(), 2);
        let s0 = &s.sessions[0];
        assert_eq!(s0.session_id, 687_103_513);
        assert_eq!(s0.server_id.pid, 5255);
        assert_eq!(s0.server_id.vnn, NONCLUSTER_VNN);
        assert_eq!(s0.server_id.unique_id, 6_163_437_239_505_290_987);
        assert_eq!((s0.uid, s0.gid), (1001, 1001));
        assert_eq!(s0.username, "tester");
        assert_eq!(s0.dialect, "SMB3_11");
        assert_eq!(s0.signing.as_ref().unwrap().cipher, "AES-128-GMAC");
        assert_eq!(s0.creation_time, None);
        assert!(s0.channels.is_empty());
        let a = s0.address().unwrap();
        assert_eq!(
            (a.family.as_str(), a.address.as_str(), a.port),
            ("ipv4", "127.0.0.1", Some(46822))
        );
        assert_eq!(s.tcons.len(), 2);
        let t = &s.tcons[0];
        assert_eq!(
            (t.tcon_id, t.session_id, t.service.as_str()),
            (1_581_273_868, 687_103_513, "public")
        );
        assert_eq!(t.connected_at.unix_secs, 1_795_264_912);
        assert_eq!(s.tcons[1].service, "IPC$");
        assert_eq!(s.open_files.len(), 1);
        let f = &s.open_files[0];
        assert_eq!(f.service_path, "/srv/samba/public");
        assert_eq!(f.filename, "research_probe.txt");
        assert_eq!(f.opens.len(), 1);
        assert_eq!(f.opens[0].server_id.pid, 5255);
        assert_eq!(f.opens[0].share_file_id, 5);
        assert_eq!(f.opens[0].username.as_deref(), Some("tester"));
        assert!(f.opens[0].opened_at.is_some());
        assert_eq!(f.opens[0].access_mask, Some(1));
        assert_eq!(s.opens().count(), 1);
    }

    #[test]
    fn access_mask_is_optional_and_checked() {
        let doc = |mask: &str| {
            format!(
                r#"{{"version":"4.17.1","sessions":{{}},"tcons":{{}},"open_files":{{"/s/f":{{
                "service_path":"/s","filename":"f","opens":{{"1/2":{{
                "server_id":{{"pid":"1"}},"uid":0,"share_file_id":"2"{mask}}}}}}}}}}}"#
            )
        };
        let s = parse(&doc("")).unwrap();
        assert_eq!(s.open_files[0].opens[0].access_mask, None);
        let s = parse(&doc(r#","access_mask":{"hex":"0x0012019f"}"#)).unwrap();
        assert_eq!(s.open_files[0].opens[0].access_mask, Some(0x0012_019f));
        let e = parse(&doc(r#","access_mask":{"hex":"0xZZ"}"#)).unwrap_err();
        assert!(e.to_string().contains("access_mask"), "{e}");
        let e = parse(&doc(r#","access_mask":{"hex":"0x1ffffffff"}"#)).unwrap_err();
        assert!(e.to_string().contains("32-bit"), "{e}");
    }

    #[test]
    fn numbers_as_strings_or_numbers() {
        let json = r#"{"version":"4.20.1","sessions":{"7":{"session_id":7,
            "server_id":{"pid":12,"task_id":"0","vnn":"2","unique_id":3},
            "uid":"-1","gid":100,"username":"u","groupname":"g","remote_machine":"PC1",
            "hostname":"ipv6:fe80::1:445","session_dialect":"NT1"}},
            "tcons":{},"open_files":{}}"#;
        let s = parse(json).unwrap();
        let se = &s.sessions[0];
        assert_eq!(se.uid, -1);
        assert_eq!(se.server_id.vnn, 2);
        let a = se.address().unwrap();
        assert_eq!(
            (a.family.as_str(), a.address.as_str(), a.port),
            ("ipv6", "fe80::1", Some(445))
        );
    }

    #[test]
    fn errors_name_the_path() {
        let base: Value = serde_json::from_str(CAPTURE_4_17).unwrap();
        type Mutation = fn(&mut Value);
        let cases: Vec<(Mutation, &str)> = vec![
            (
                |v| {
                    v["tcons"]["1581273868"]["tcon_id"] = Value::from(1u64 << 40);
                },
                r#"$.tcons["1581273868"].tcon_id"#,
            ),
            (
                |v| {
                    v["tcons"]["1581273868"]
                        .as_object_mut()
                        .unwrap()
                        .remove("service");
                },
                r#"$.tcons["1581273868"]"#,
            ),
            (
                |v| {
                    v["sessions"]["687103513"]["username"] = Value::from(5);
                },
                r#"$.sessions["687103513"].username"#,
            ),
            (
                |v| {
                    v["sessions"]["687103513"]["server_id"]["pid"] = Value::from("12x");
                },
                r#"$.sessions["687103513"].server_id.pid"#,
            ),
            (
                |v| {
                    v["open_files"]["/srv/samba/public/research_probe.txt"]["opens"]["5255/5"]
                        ["opened_at"] = Value::from("yesterday");
                },
                r#"$.open_files["/srv/samba/public/research_probe.txt"].opens["5255/5"].opened_at"#,
            ),
            (
                |v| {
                    v.as_object_mut().unwrap().remove("tcons");
                },
                "$",
            ),
            (
                |v| {
                    v["sessions"] = Value::Array(vec![]);
                },
                "$.sessions",
            ),
            (
                |v| {
                    v["tcons"]["1581273868"]["session_id"] = Value::from(1.5);
                },
                r#"$.tcons["1581273868"].session_id"#,
            ),
            (
                |v| {
                    v["tcons"]["1581273868"]["session_id"] = Value::from(-3);
                },
                r#"$.tcons["1581273868"].session_id"#,
            ),
            (
                |v| {
                    v["byte_range_locks"] = serde_json::json!({"/f": {"locks": {}}});
                },
                r#"$.byte_range_locks["/f"].locks"#,
            ),
            (
                |v| {
                    v["byte_range_locks"] = serde_json::json!({"/f": {"locks": [
                        {"server_id": {"pid": 1}, "type": "W", "start": -1, "size": 2}
                    ]}});
                },
                r#"$.byte_range_locks["/f"].locks["0"].start"#,
            ),
            (
                |v| {
                    v["open_files"]["/srv/samba/public/research_probe.txt"]["fileid"] =
                        serde_json::json!({"devid": 1});
                },
                r#"$.open_files["/srv/samba/public/research_probe.txt"].fileid"#,
            ),
        ];
        for (i, (mutate, want)) in cases.into_iter().enumerate() {
            let mut v = base.clone();
            mutate(&mut v);
            let e = parse(&v.to_string()).unwrap_err();
            let text = e.to_string();
            assert_eq!(field_path(e), want, "case {i}: {text}");
        }
    }

    #[test]
    fn truncated_and_hostile_input() {
        let full = CAPTURE_4_17.trim_end();
        for cut in [0, 1, 10, full.len() / 2, full.len() - 1] {
            match parse(&full[..cut]) {
                Err(Error::Json { line, .. }) => assert_eq!(line, 1),
                other => panic!("cut {cut}: {other:?}"),
            }
        }
        let deep = "[".repeat(10_000) + &"]".repeat(10_000);
        assert!(matches!(parse(&deep), Err(Error::Json { .. })));
        let deep_obj = r#"{"a":"#.repeat(500) + "1" + &"}".repeat(500);
        assert!(matches!(parse(&deep_obj), Err(Error::Json { .. })));
        assert!(matches!(parse("[]"), Err(Error::Field { .. })));
        assert!(matches!(parse("null"), Err(Error::Field { .. })));
        let huge = CAPTURE_4_17.replace(r#""uid": 1001, "gid""#, r#""uid": 1e400, "gid""#);
        assert!(parse(&huge).is_err());
        let huge = CAPTURE_4_17.replace(
            r#""share_file_id": "5""#,
            r#""share_file_id": "99999999999999999999999""#,
        );
        assert!(matches!(parse(&huge), Err(Error::Field { .. })));
        let big = " ".repeat(MAX_INPUT_BYTES + 1);
        assert!(matches!(parse(&big), Err(Error::TooLarge { .. })));
    }

    #[test]
    fn versions() {
        let v = parse_version("Version 4.17.12-Debian\n").unwrap();
        assert_eq!((v.major, v.minor, v.patch), (4, 17, 12));
        assert_eq!(v.to_string(), "4.17.12-Debian");
        assert!(v.has_json());
        let v = parse_version("Version 4.15.13-Ubuntu").unwrap();
        assert!(!v.has_json());
        let v = parse_version("4.21.0rc2").unwrap();
        assert_eq!((v.major, v.minor, v.patch), (4, 21, 0));
        for bad in [
            "",
            "Version",
            "smbstatus: unknown option",
            "Version 4",
            "Version 4.x.1",
            "4.17.",
        ] {
            assert!(
                matches!(parse_version(bad), Err(Error::Version(_))),
                "{bad}"
            );
        }
    }
}
