//! Changing Samba through its own programs (the edge of the SMB methods):
//! `smbcontrol` ends an smbd process or drops a share's tree connects, and
//! `net conf` keeps the shares openwmi makes in Samba's registry
//! configuration. The administrator's smb.conf is never written. Each
//! program runs without a shell, with a timeout, killed with its process
//! group when it passes (as [`crate::source`] runs smbstatus).
//!
//! Which shares may be changed or deleted: only registry shares (those
//! `net conf listshares` lists), which is where openwmi creates them;
//! smb.conf sections, usershares, home and printer shares are refused.
//!
//! One open file is closed the way Samba's own srvsvc NetFileClose does
//! it: the message MSG_SMB_CLOSE_FILE to the smbd process holding the open,
//! over Samba's messaging sockets (`<lock directory>/msg.sock/<pid>`, root
//! only), naming the file (device, inode, extid) and the open's
//! share_file_id. See [`close_file_message`].

use crate::error::Error;
use crate::smbstatus::{FileKey, ServerId, NONCLUSTER_VNN};
use crate::source::run;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The most bytes read from one of these programs.
const MAX_OUTPUT: usize = 1 << 20;

/// The programs that change Samba, and the configuration they use.
#[derive(Clone, Debug)]
pub struct SambaControl {
    smbcontrol: PathBuf,
    net: PathBuf,
    testparm: PathBuf,
    smbstatus: PathBuf,
    sharesec: PathBuf,
    pdbedit: PathBuf,
    smb_conf: Option<PathBuf>,
    timeout: Duration,
}

impl Default for SambaControl {
    fn default() -> Self {
        SambaControl::new()
    }
}

/// Characters Windows refuses in a share name (and Samba's section syntax
/// cannot hold).
const BAD_NAME_CHARS: &[char] = &[
    '\\', '/', '[', ']', ':', '|', '<', '>', '+', '=', ';', ',', '?', '*', '"', '%',
];

/// Whether `name` can be a share name: 1 to 80 characters, none of the
/// characters Windows refuses, no control characters, not one of Samba's
/// special section names.
pub fn valid_share_name(name: &str) -> bool {
    let n = name.chars().count();
    (1..=80).contains(&n)
        && !name
            .chars()
            .any(|c| c.is_control() || BAD_NAME_CHARS.contains(&c))
        && name.trim() == name
        && !["global", "homes", "printers", "ipc$"]
            .iter()
            .any(|s| name.eq_ignore_ascii_case(s))
}

impl SambaControl {
    /// The programs from PATH, Samba's default smb.conf, a 10 s timeout.
    pub fn new() -> SambaControl {
        SambaControl {
            smbcontrol: PathBuf::from("smbcontrol"),
            net: PathBuf::from("net"),
            testparm: PathBuf::from("testparm"),
            smbstatus: PathBuf::from("smbstatus"),
            sharesec: PathBuf::from("sharesec"),
            pdbedit: PathBuf::from("pdbedit"),
            smb_conf: None,
            timeout: Duration::from_secs(10),
        }
    }

    /// The smb.conf the programs read (`-s FILE`).
    pub fn with_smb_conf(mut self, path: impl Into<PathBuf>) -> Self {
        self.smb_conf = Some(path.into());
        self
    }

    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    fn args(&self, rest: &[&str]) -> Vec<OsString> {
        let mut a = Vec::new();
        if let Some(c) = &self.smb_conf {
            a.push(OsString::from("-s"));
            a.push(c.clone().into_os_string());
        }
        a.extend(rest.iter().map(OsString::from));
        a
    }

    fn call(&self, program: &Path, rest: &[&str]) -> Result<String, Error> {
        let out = run(program, &self.args(rest), self.timeout, MAX_OUTPUT)?;
        if !out.status.success() {
            let text = |b: &[u8]| String::from_utf8_lossy(b).trim().to_string();
            let mut message = text(&out.stderr);
            if message.is_empty() {
                message = text(&out.stdout);
            }
            return Err(Error::Exited {
                program: program.display().to_string(),
                code: out.status.code(),
                stderr: message.lines().next().unwrap_or("").to_string(),
            });
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Ends the smbd child process `pid` and every session it serves
    /// (`smbcontrol PID shutdown`). Never the parent: the caller passes the
    /// pid of a session, which is always a child's.
    pub fn end_process(&self, pid: u64) -> Result<(), Error> {
        if pid <= 1 {
            return Err(Error::Spawn {
                program: "smbcontrol".into(),
                message: format!("refusing to signal pid {pid}"),
            });
        }
        self.call(&self.smbcontrol, &[&pid.to_string(), "shutdown"])
            .map(drop)
    }

    /// Drops every tree connect to `share` (`smbcontrol smbd close-share`).
    pub fn close_share(&self, share: &str) -> Result<(), Error> {
        self.call(&self.smbcontrol, &["smbd", "close-share", share])
            .map(drop)
    }

    /// Whether this process may change Samba at all: smbcontrol and
    /// `net conf` need root (Samba's messaging sockets, registry.tdb).
    pub fn may_change(&self) -> bool {
        rustix::process::geteuid().is_root()
    }

    /// The names of the registry shares (`net conf listshares`).
    pub fn registry_shares(&self) -> Result<Vec<String>, Error> {
        Ok(self
            .call(&self.net, &["conf", "listshares"])?
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.eq_ignore_ascii_case("global"))
            .map(str::to_string)
            .collect())
    }

    /// Whether `name` is a registry share.
    pub fn is_registry_share(&self, name: &str) -> Result<bool, Error> {
        Ok(self
            .registry_shares()?
            .iter()
            .any(|s| s.eq_ignore_ascii_case(name)))
    }

    /// Adds a writable registry share (`net conf addshare`).
    pub fn add_share(&self, name: &str, path: &str, comment: &str) -> Result<(), Error> {
        self.call(
            &self.net,
            &[
                "conf",
                "addshare",
                name,
                path,
                "writeable=y",
                "guest_ok=n",
                comment,
            ],
        )
        .map(drop)
    }

    /// Sets one parameter of a registry share (`net conf setparm`).
    pub fn set_parm(&self, share: &str, param: &str, value: &str) -> Result<(), Error> {
        self.call(&self.net, &["conf", "setparm", share, param, value])
            .map(drop)
    }

    /// Deletes a registry share (`net conf delshare`).
    pub fn delete_share(&self, name: &str) -> Result<(), Error> {
        self.call(&self.net, &["conf", "delshare", name]).map(drop)
    }
}

impl SambaControl {
    /// The share's ACL (`sharesec NAME --view`); Samba's default (Everyone
    /// Full) when none is stored.
    pub fn share_acl(&self, share: &str) -> Result<Vec<crate::sharesec::Ace>, Error> {
        if share.starts_with('-') {
            return Err(Error::Spawn {
                program: "sharesec".into(),
                message: format!("refusing the share name {share:?}"),
            });
        }
        let text = self.call(&self.sharesec, &[share, "--view"])?;
        crate::sharesec::parse_view(&text).map_err(|e| Error::Output {
            program: self.sharesec.display().to_string(),
            error: Box::new(e),
        })
    }

    /// The SIDs Samba's account database gives `user` (`pdbedit -L -v -u`:
    /// the user's and its primary group's); none for an unknown account or
    /// when pdbedit fails.
    pub fn account_sids(&self, user: &str) -> Vec<String> {
        if user.is_empty() || user.starts_with('-') {
            return Vec::new();
        }
        let Ok(text) = self.call(&self.pdbedit, &["-L", "-v", "-u", user]) else {
            return Vec::new();
        };
        text.lines()
            .filter_map(|l| {
                l.strip_prefix("User SID:")
                    .or_else(|| l.strip_prefix("Primary Group SID:"))
            })
            .map(|s| s.trim().to_string())
            .filter(|s| s.starts_with("S-1-"))
            .collect()
    }
}

/// Samba's message type MSG_SMB_CLOSE_FILE (0x0313).
const MSG_SMB_CLOSE_FILE: u32 = 0x0313;

/// One open, as smbd finds it: the process holding it, the file and the
/// open's share_file_id (all from `smbstatus --json`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpenHandle {
    pub server_id: ServerId,
    pub file: FileKey,
    pub share_file_id: u64,
    pub uid: u32,
}

/// How the body of MSG_SMB_CLOSE_FILE is laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CloseFileLayout {
    /// Samba up to 4.17: the linearized share mode entry
    /// (MSG_SMB_SHARE_MODE_ENTRY_SIZE, 76 bytes). Checked against 4.17.
    ShareModeEntry,
    /// Later Samba: the NDR `oplock_break_message` (file id, share_file_id,
    /// break_to).
    OplockBreakMessage,
}

impl CloseFileLayout {
    pub fn for_version(major: u32, minor: u32) -> CloseFileLayout {
        if (major, minor) <= (4, 17) {
            CloseFileLayout::ShareModeEntry
        } else {
            CloseFileLayout::OplockBreakMessage
        }
    }
}

/// The datagram that asks smbd to close one open, as Samba's messaging
/// writes it: an unfragmented-message cookie (0), the header (destination
/// and source server ids, then the message type: 52 bytes), then the body.
/// Pure.
pub fn close_file_message(open: &OpenHandle, layout: CloseFileLayout, from_pid: u32) -> Vec<u8> {
    let mut m = Vec::with_capacity(8 + 52 + 76);
    m.extend_from_slice(&0u64.to_le_bytes());
    let server_id = |m: &mut Vec<u8>, s: &ServerId| {
        m.extend_from_slice(&s.pid.to_le_bytes());
        m.extend_from_slice(&s.task_id.to_le_bytes());
        m.extend_from_slice(&s.vnn.to_le_bytes());
        m.extend_from_slice(&s.unique_id.to_le_bytes());
    };
    server_id(&mut m, &open.server_id);
    let from = ServerId {
        pid: u64::from(from_pid),
        task_id: 0,
        vnn: NONCLUSTER_VNN,
        unique_id: 0,
    };
    server_id(&mut m, &from);
    m.extend_from_slice(&MSG_SMB_CLOSE_FILE.to_le_bytes());
    match layout {
        CloseFileLayout::ShareModeEntry => {
            let mut body = [0u8; 76];
            // Only the file id and share_file_id find the open; the rest
            // names the holder as Samba fills it.
            let pid = u32::try_from(open.server_id.pid).unwrap_or(u32::MAX);
            body[0..4].copy_from_slice(&pid.to_le_bytes());
            body[34..42].copy_from_slice(&open.file.devid.to_le_bytes());
            body[42..50].copy_from_slice(&open.file.inode.to_le_bytes());
            body[50..58].copy_from_slice(&open.file.extid.to_le_bytes());
            let id = u32::try_from(open.share_file_id).unwrap_or(u32::MAX);
            body[58..62].copy_from_slice(&id.to_le_bytes());
            body[62..66].copy_from_slice(&open.uid.to_le_bytes());
            body[72..76].copy_from_slice(&open.server_id.vnn.to_le_bytes());
            m.extend_from_slice(&body);
        }
        CloseFileLayout::OplockBreakMessage => {
            m.extend_from_slice(&open.file.devid.to_le_bytes());
            m.extend_from_slice(&open.file.inode.to_le_bytes());
            m.extend_from_slice(&open.file.extid.to_le_bytes());
            m.extend_from_slice(&open.share_file_id.to_le_bytes());
            // break_to 0, and NDR's trailing alignment to 4.
            m.extend_from_slice(&[0, 0, 0, 0]);
        }
    }
    m
}

/// Samba's srvsvc file id (NetFileEnum, `net rpc file`) of an open:
/// `pid << 16 | share_file_id`, in 32 bits, as Samba 4.17 computes it.
pub fn srvsvc_file_id(pid: u64, share_file_id: u64) -> u32 {
    ((pid << 16) | share_file_id) as u32
}

impl SambaControl {
    /// Samba's lock directory (`testparm -s --parameter-name`), where its
    /// messaging sockets are.
    pub fn lock_directory(&self) -> Result<PathBuf, Error> {
        let mut args = vec![
            OsString::from("-s"),
            OsString::from("--parameter-name=lock directory"),
        ];
        if let Some(c) = &self.smb_conf {
            args.push(c.clone().into_os_string());
        }
        let out = run(&self.testparm, &args, self.timeout, MAX_OUTPUT)?;
        let text = String::from_utf8_lossy(&out.stdout);
        let dir = text.lines().next().unwrap_or("").trim();
        if !out.status.success() || !dir.starts_with('/') {
            return Err(Error::Exited {
                program: self.testparm.display().to_string(),
                code: out.status.code(),
                stderr: format!("no lock directory in its answer: {dir:?}"),
            });
        }
        Ok(PathBuf::from(dir))
    }

    /// Whether smbd still lists the open (a fresh `smbstatus --json`).
    fn open_listed(&self, open: &OpenHandle) -> Result<bool, Error> {
        let mut args = vec![OsString::from("--json")];
        if let Some(c) = &self.smb_conf {
            args.push(OsString::from("-s"));
            args.push(c.clone().into_os_string());
        }
        let out = run(
            &self.smbstatus,
            &args,
            self.timeout,
            crate::smbstatus::MAX_INPUT_BYTES,
        )?;
        let text = String::from_utf8_lossy(&out.stdout);
        let status = crate::smbstatus::parse_inner(&text, false).map_err(|e| Error::Output {
            program: self.smbstatus.display().to_string(),
            error: Box::new(e),
        })?;
        let listed = status.opens().any(|(f, o)| {
            o.server_id == open.server_id
                && o.share_file_id == open.share_file_id
                && f.file_id.is_none_or(|k| k == open.file)
        });
        Ok(listed)
    }

    /// Closes one open in its smbd process (MSG_SMB_CLOSE_FILE, what
    /// srvsvc NetFileClose sends), then waits until smbstatus no longer
    /// lists it, within the timeout. Needs root.
    pub fn close_file(&self, open: &OpenHandle, layout: CloseFileLayout) -> Result<(), Error> {
        let program = "smbd messaging".to_string();
        if open.server_id.pid <= 1 || open.server_id.vnn != NONCLUSTER_VNN {
            return Err(Error::Spawn {
                program,
                message: "the open is not held by a local smbd process".into(),
            });
        }
        let socket = self
            .lock_directory()?
            .join("msg.sock")
            .join(open.server_id.pid.to_string());
        let message = close_file_message(open, layout, std::process::id());
        let sock = std::os::unix::net::UnixDatagram::unbound().map_err(|e| Error::Spawn {
            program: program.clone(),
            message: e.to_string(),
        })?;
        sock.set_write_timeout(Some(self.timeout))
            .and_then(|()| sock.send_to(&message, &socket))
            .map_err(|e| Error::Spawn {
                program: program.clone(),
                message: format!("{}: {e}", socket.display()),
            })?;
        let deadline = Instant::now() + self.timeout;
        loop {
            if !self.open_listed(open)? {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(Error::TimedOut {
                    program: "smbd closing the file".into(),
                    after: self.timeout,
                });
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_file_message_as_samba_lays_it_out() {
        let open = OpenHandle {
            server_id: ServerId {
                vnn: NONCLUSTER_VNN,
                pid: 7101,
                task_id: 0,
                unique_id: 0x5908_4c1d_3c8c_e0e0,
            },
            file: FileKey {
                devid: 65024,
                inode: 10_027_797,
                extid: 0,
            },
            share_file_id: 3,
            uid: 1001,
        };
        let m = close_file_message(&open, CloseFileLayout::ShareModeEntry, 42);
        assert_eq!(m.len(), 8 + 52 + 76);
        assert_eq!(&m[8..16], &7101u64.to_le_bytes());
        assert_eq!(&m[32..40], &42u64.to_le_bytes());
        assert_eq!(&m[56..60], &0x0313u32.to_le_bytes());
        let body = &m[60..];
        assert_eq!(&body[34..42], &65024u64.to_le_bytes());
        assert_eq!(&body[42..50], &10_027_797u64.to_le_bytes());
        assert_eq!(&body[58..62], &3u32.to_le_bytes());
        let m = close_file_message(&open, CloseFileLayout::OplockBreakMessage, 42);
        assert_eq!(m.len(), 8 + 52 + 36);
        assert_eq!(&m[84..92], &3u64.to_le_bytes());
        assert_eq!(
            CloseFileLayout::for_version(4, 17),
            CloseFileLayout::ShareModeEntry
        );
        assert_eq!(srvsvc_file_id(4035, 5), 264_437_765);
    }

    #[test]
    fn share_names() {
        assert!(valid_share_name("data"));
        assert!(valid_share_name("Team Data$"));
        for bad in [
            "",
            "a/b",
            "a\\b",
            "x*",
            "global",
            "IPC$",
            " lead",
            "a\nb",
            &"x".repeat(81),
        ] {
            assert!(!valid_share_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn a_missing_program_is_an_error_not_a_panic() {
        let c = SambaControl {
            smbcontrol: PathBuf::from("/nonexistent/smbcontrol"),
            net: PathBuf::from("/nonexistent/net"),
            testparm: PathBuf::from("/nonexistent/testparm"),
            smbstatus: PathBuf::from("/nonexistent/smbstatus"),
            sharesec: PathBuf::from("/nonexistent/sharesec"),
            pdbedit: PathBuf::from("/nonexistent/pdbedit"),
            smb_conf: None,
            timeout: Duration::from_secs(5),
        };
        assert!(c.end_process(1234).is_err());
        assert!(c.end_process(1).is_err());
        assert!(c.registry_shares().is_err());
        assert!(c.lock_directory().is_err());
        assert!(c.share_acl("data").is_err());
        assert_eq!(c.account_sids("owtest1"), Vec::<String>::new());
    }
}
