//! Share ACLs as `sharesec NAME --view` prints them, and the access they
//! give a caller. Pure: the text and the caller's SIDs come from the
//! caller.
//!
//! ```text
//! REVISION:1
//! CONTROL:SR|DP
//! OWNER:
//! GROUP:
//! ACL:S-1-1-0:ALLOWED/0x0/FULL
//! ACL:S-1-5-21-1-2-3-1001:DENIED/0x0/0x00000002
//! ```
//!
//! A share without a stored ACL prints Samba's default (Everyone Full).

use crate::error::Error;

/// The largest `sharesec --view` output accepted (1 MiB).
pub const MAX_INPUT_BYTES: usize = 1 << 20;
/// The most ACEs accepted in one ACL.
pub const MAX_ACES: usize = 10_000;

/// FILE_ALL_ACCESS: sharesec's FULL.
pub const FULL: u32 = 0x001F_01FF;
/// sharesec's CHANGE (read, write, delete).
pub const CHANGE: u32 = 0x0013_01BF;
/// sharesec's READ (read and execute).
pub const READ: u32 = 0x0012_00A9;
/// The rights a read-only share never grants: write data, append, write
/// extended attributes, delete child, write attributes, delete, write DAC,
/// write owner.
pub const WRITE_RIGHTS: u32 = 0x0000_0002
    | 0x0000_0004
    | 0x0000_0010
    | 0x0000_0040
    | 0x0000_0100
    | 0x0001_0000
    | 0x0004_0000
    | 0x0008_0000;

/// Everyone (S-1-1-0).
pub const EVERYONE: &str = "S-1-1-0";
/// Authenticated Users (S-1-5-11).
pub const AUTHENTICATED_USERS: &str = "S-1-5-11";

/// One access control entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ace {
    pub sid: String,
    /// ALLOWED (true) or DENIED (false).
    pub allowed: bool,
    pub flags: u8,
    pub mask: u32,
}

fn number(text: &str) -> Option<u32> {
    match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    }
}

/// The ACEs of `sharesec --view` output, in order. Lines other than
/// `ACL:` ones are skipped; an `ACL:` line that is not `SID:TYPE/FLAGS/MASK`
/// is an error naming its line.
pub fn parse_view(text: &str) -> Result<Vec<Ace>, Error> {
    if text.len() > MAX_INPUT_BYTES {
        return Err(Error::TooLarge {
            what: "sharesec output",
            size: text.len(),
            limit: MAX_INPUT_BYTES,
        });
    }
    let mut aces = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let Some(rest) = line.trim_end().strip_prefix("ACL:") else {
            continue;
        };
        let bad = |message: String| Error::ShareAcl {
            line: i + 1,
            message,
        };
        if aces.len() >= MAX_ACES {
            return Err(bad(format!("more than {MAX_ACES} entries")));
        }
        let (sid, spec) = rest
            .rsplit_once(':')
            .ok_or_else(|| bad("expected SID:TYPE/FLAGS/MASK".into()))?;
        let mut parts = spec.split('/');
        let (Some(kind), Some(flags), Some(mask), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad(format!("expected TYPE/FLAGS/MASK, found {spec:?}")));
        };
        let allowed = match kind {
            "ALLOWED" => true,
            "DENIED" => false,
            other => return Err(bad(format!("unknown ACE type {other:?}"))),
        };
        let flags = number(flags)
            .and_then(|f| u8::try_from(f).ok())
            .ok_or_else(|| bad(format!("bad ACE flags {flags:?}")))?;
        let mask = match mask {
            "FULL" => FULL,
            "CHANGE" => CHANGE,
            "READ" => READ,
            m => number(m).ok_or_else(|| bad(format!("bad access mask {m:?}")))?,
        };
        if sid.is_empty() || sid.chars().any(char::is_control) {
            return Err(bad("empty or unprintable SID".into()));
        }
        aces.push(Ace {
            sid: sid.to_string(),
            allowed,
            flags,
            mask,
        });
    }
    Ok(aces)
}

/// The rights the ACL gives a caller whose token holds `sids`, evaluated
/// in order as Windows does: a denied right is never granted by a later
/// entry, and an entry after a grant cannot take it back. Inherit-only
/// entries (flag 0x08) do not apply to the share itself.
pub fn granted(aces: &[Ace], sids: &[String]) -> u32 {
    let mut allowed = 0u32;
    let mut denied = 0u32;
    for ace in aces {
        if ace.flags & 0x08 != 0 || !sids.iter().any(|s| s.eq_ignore_ascii_case(&ace.sid)) {
            continue;
        }
        if ace.allowed {
            allowed |= ace.mask & !denied;
        } else {
            denied |= ace.mask & !allowed;
        }
    }
    allowed
}

/// What Win32_Share.GetAccessMask reports: the ACL's grant, without the
/// write rights on a read-only share.
pub fn share_access(aces: &[Ace], sids: &[String], read_only: bool) -> u32 {
    let g = granted(aces, sids);
    if read_only {
        g & !WRITE_RIGHTS
    } else {
        g
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VIEW: &str = "REVISION:1\nCONTROL:SR|DP\nOWNER:\nGROUP:\n\
        ACL:S-1-5-21-1-2-3-1001:DENIED/0x0/0x00000002\n\
        ACL:S-1-1-0:ALLOWED/0x0/READ\n\
        ACL:S-1-5-21-1-2-3-1001:ALLOWED/0x0/FULL\n\
        ACL:S-1-22-2-100:ALLOWED/0x8/FULL\n";

    fn sids(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn acl_lines_in_order() {
        let aces = parse_view(VIEW).unwrap();
        assert_eq!(aces.len(), 4);
        assert_eq!(
            aces[0],
            Ace {
                sid: "S-1-5-21-1-2-3-1001".into(),
                allowed: false,
                flags: 0,
                mask: 2
            }
        );
        assert_eq!(aces[1].mask, READ);
        assert_eq!(aces[3].flags, 8);
    }

    #[test]
    fn access_as_windows_evaluates_it() {
        let aces = parse_view(VIEW).unwrap();
        // Everyone: READ only.
        assert_eq!(granted(&aces, &sids(&[EVERYONE])), READ);
        // The user: everything but the denied write data.
        let user = sids(&[EVERYONE, "S-1-5-21-1-2-3-1001"]);
        assert_eq!(granted(&aces, &user), FULL & !2);
        // An inherit-only entry does not count.
        assert_eq!(granted(&aces, &sids(&["S-1-22-2-100"])), 0);
        // A read-only share takes the write rights away.
        assert_eq!(share_access(&aces, &user, true), FULL & !WRITE_RIGHTS);
        // Samba's default ACL.
        let default = parse_view("ACL:S-1-1-0:ALLOWED/0x0/FULL\n").unwrap();
        assert_eq!(share_access(&default, &sids(&[EVERYONE]), false), FULL);
    }

    #[test]
    fn malformed_lines_name_their_line() {
        for (text, line) in [
            ("REVISION:1\nACL:S-1-1-0\n", 2),
            ("ACL:S-1-1-0:ALLOWED/0x0\n", 1),
            ("x\nx\nACL:S-1-1-0:MAYBE/0x0/FULL\n", 3),
            ("ACL:S-1-1-0:ALLOWED/0x100/FULL\n", 1),
            ("ACL:S-1-1-0:ALLOWED/0x0/ALL\n", 1),
            ("ACL::ALLOWED/0x0/FULL\n", 1),
        ] {
            match parse_view(text) {
                Err(Error::ShareAcl { line: l, .. }) => assert_eq!(l, line, "{text:?}"),
                other => panic!("{text:?}: {other:?}"),
            }
        }
        let big = "x".repeat(MAX_INPUT_BYTES + 1);
        assert!(matches!(parse_view(&big), Err(Error::TooLarge { .. })));
    }
}
