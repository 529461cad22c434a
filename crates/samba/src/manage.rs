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

use crate::error::Error;
use crate::source::run;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The most bytes read from one of these programs.
const MAX_OUTPUT: usize = 1 << 20;

/// The programs that change Samba, and the configuration they use.
#[derive(Clone, Debug)]
pub struct SambaControl {
    smbcontrol: PathBuf,
    net: PathBuf,
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

#[cfg(test)]
mod tests {
    use super::*;

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
            smb_conf: None,
            timeout: Duration::from_secs(5),
        };
        assert!(c.end_process(1234).is_err());
        assert!(c.end_process(1).is_err());
        assert!(c.registry_shares().is_err());
    }
}
