//! Samba as a data source for openwmi (the data side of the SessionProvider).
//!
//! - [`smbstatus`]: parses `smbstatus --json` (Samba 4.17+) and `smbstatus --version`. Pure.
//! - [`smbconf`]: parses smb.conf / `testparm -s` output into shares. Pure.
//! - [`source`]: runs `smbstatus` and `testparm` with a timeout, caches
//!   their results briefly and shares one run among concurrent callers.
//! - [`served`]: which shares Samba serves beyond smb.conf's sections
//!   (home shares, printers, usershares). Pure.
//! - [`map`]: builds the CIM instances of Win32_ServerConnection,
//!   Win32_ServerSession, Win32_Share, Win32_ConnectionShare and
//!   Win32_SessionConnection from the parsed data. Pure.
//! - [`manage`]: changes Samba through smbcontrol and `net conf` (I/O, with
//!   a timeout).
//! - [`sharesec`]: share ACLs as `sharesec --view` prints them, and the
//!   access they give a caller. Pure.
//! - [`msft`]: the same for MSFT_SmbShare, MSFT_SmbSession and
//!   MSFT_SmbOpenFile (root/Microsoft/Windows/SMB). Pure.

mod error;
pub mod manage;
pub mod map;
pub mod msft;
pub mod served;
pub mod sharesec;
pub mod smbconf;
pub mod smbstatus;
pub mod source;
mod timestamp;

pub use error::Error;
/// The crate's error type under the name the providers use.
pub use error::Error as SambaError;
pub use map::{
    connection_shares, server_connections, server_sessions, session_connections, ServerConnections,
    ServerSessions,
};
pub use smbconf::{Globals, Share, SmbConf};
pub use smbstatus::{parse_version, SambaVersion, Status};
pub use source::{load_smb_conf, smbd_running, SambaSource};
pub use timestamp::Timestamp;
