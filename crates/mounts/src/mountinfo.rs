//! `/proc/self/mountinfo` (proc(5)):
//!
//! ```text
//! 36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
//! (1)(2)(3)   (4)   (5)      (6)      (7)   (8) (9)   (10)         (11)
//! ```
//!
//! Fields are separated by single spaces; (7) is zero or more optional
//! fields ended by the `-` separator (8). Paths escape space, tab, newline
//! and backslash as `\040 \011 \012 \134`.

use crate::error::Error;
use crate::escape;
use crate::{MAX_INPUT_BYTES, MAX_LINES};
use std::fmt;

const FILE: &str = "mountinfo";

/// One line of mountinfo, escapes decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MountEntry {
    pub mount_id: u32,
    pub parent_id: u32,
    pub major: u32,
    pub minor: u32,
    /// The directory of the file system that forms the root of this mount.
    pub root: String,
    pub mount_point: String,
    /// Per-mount options (`rw,nosuid,relatime`).
    pub mount_options: String,
    /// Optional fields such as `shared:1` or `master:2`.
    pub optional_fields: Vec<String>,
    /// `cifs`, `nfs4`, `fuse.sshfs`...
    pub fs_type: String,
    /// The mount source (`//srv/share`, `host:/export`, `user@host:/p`).
    pub source: String,
    /// Per-superblock options; network file systems keep `username=`,
    /// `addr=`, `trans=` and the like here.
    pub super_options: String,
}

impl MountEntry {
    /// Looks an option up in the per-mount then the per-superblock options:
    /// `Some(None)` for a flag (`ro`), `Some(Some(v))` for `key=v`.
    pub fn option(&self, key: &str) -> Option<Option<&str>> {
        find_option(&self.mount_options, key).or_else(|| find_option(&self.super_options, key))
    }

    /// True when the mount is read-only (per mount or per superblock).
    pub fn is_read_only(&self) -> bool {
        find_option(&self.mount_options, "ro").is_some()
            || find_option(&self.super_options, "ro").is_some()
    }
}

/// Finds `key` in a comma-separated option string (`a,b=c`).
pub fn find_option<'a>(options: &'a str, key: &str) -> Option<Option<&'a str>> {
    options
        .split(',')
        .find_map(|opt| match opt.split_once('=') {
            Some((k, v)) if k == key => Some(Some(v)),
            None if opt == key => Some(None),
            _ => None,
        })
}

/// Prints the entry as a mountinfo line (without the newline), escaping the
/// fields the kernel escapes; [`parse`] reads it back to the same entry.
impl fmt::Display for MountEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::new();
        s.push_str(&format!(
            "{} {} {}:{} ",
            self.mount_id, self.parent_id, self.major, self.minor
        ));
        escape::encode(&self.root, &mut s);
        s.push(' ');
        escape::encode(&self.mount_point, &mut s);
        s.push(' ');
        escape::encode(&self.mount_options, &mut s);
        for o in &self.optional_fields {
            s.push(' ');
            escape::encode(o, &mut s);
        }
        s.push_str(" - ");
        escape::encode(&self.fs_type, &mut s);
        s.push(' ');
        escape::encode(&self.source, &mut s);
        s.push(' ');
        escape::encode(&self.super_options, &mut s);
        f.write_str(&s)
    }
}

/// Parses the whole of a mountinfo file. Blank lines are skipped; any other
/// malformed line is an error naming the line.
pub fn parse(text: &str) -> Result<Vec<MountEntry>, Error> {
    if text.len() > MAX_INPUT_BYTES {
        return Err(Error::TooLarge {
            file: FILE,
            limit: MAX_INPUT_BYTES,
        });
    }
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if i >= MAX_LINES {
            return Err(Error::TooManyLines {
                file: FILE,
                limit: MAX_LINES,
            });
        }
        if line.trim().is_empty() {
            continue;
        }
        out.push(parse_line(line).map_err(|reason| Error::Syntax {
            file: FILE,
            line: i + 1,
            reason,
        })?);
    }
    Ok(out)
}

/// Parses one line (no newline).
pub fn parse_line(line: &str) -> Result<MountEntry, String> {
    let line = line.strip_suffix('\r').unwrap_or(line);
    let mut fields = line.split(' ');
    let mut next = |what: &str| {
        fields
            .next()
            .ok_or_else(|| format!("line ends before the {what} field"))
    };
    let mount_id = number(next("mount ID")?, "mount ID")?;
    let parent_id = number(next("parent ID")?, "parent ID")?;
    let dev = next("major:minor")?;
    let (major, minor) = dev
        .split_once(':')
        .ok_or_else(|| format!("device {dev:?} is not major:minor"))?;
    let major = number(major, "major device number")?;
    let minor = number(minor, "minor device number")?;
    let root = escape::decode(next("root")?);
    let mount_point = escape::decode(next("mount point")?);
    let mount_options = escape::decode(next("mount options")?);
    let mut optional_fields = Vec::new();
    loop {
        let f = next("separator '-'")?;
        if f == "-" {
            break;
        }
        if optional_fields.len() >= 64 {
            return Err("more than 64 optional fields".to_owned());
        }
        optional_fields.push(escape::decode(f));
    }
    let fs_type = escape::decode(next("file system type")?);
    if fs_type.is_empty() {
        return Err("empty file system type".to_owned());
    }
    let source = escape::decode(next("mount source")?);
    // Very old kernels may stop after the source.
    let super_options = fields.next().map(escape::decode).unwrap_or_default();
    if let Some(extra) = fields.next() {
        return Err(format!(
            "unexpected field {extra:?} after the super options"
        ));
    }
    Ok(MountEntry {
        mount_id,
        parent_id,
        major,
        minor,
        root,
        mount_point,
        mount_options,
        optional_fields,
        fs_type,
        source,
        super_options,
    })
}

fn number(s: &str, what: &str) -> Result<u32, String> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{what} {s:?} is not a decimal number"));
    }
    s.parse()
        .map_err(|_| format!("{what} {s:?} is out of range"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CIFS: &str = "97 29 0:45 / /mnt/share rw,relatime shared:52 - cifs //srv/share rw,vers=3.1.1,cache=strict,username=alice,domain=CORP,uid=1000,noforceuid,gid=1000,noforcegid,addr=10.0.0.5,file_mode=0755,dir_mode=0755,soft,nounix,serverino,mapposix,rsize=4194304,wsize=4194304,bsize=1048576,echo_interval=60,actimeo=1,closetimeo=1";
    const NFS4: &str = "110 29 0:52 / /data ro,relatime shared:60 - nfs4 fileserver:/export/data ro,vers=4.2,rsize=1048576,wsize=1048576,namlen=255,hard,proto=tcp,timeo=600,retrans=2,sec=sys,clientaddr=10.0.0.7,local_lock=none,addr=10.0.0.9";

    /// Found by the fuzzer: a field ending in a carriage return printed it
    /// raw, and the line parser, which drops a CR at the end of a line,
    /// read the printed line back one character short.
    #[test]
    fn regression_a_last_field_ending_in_cr_prints_back() {
        let m = parse_line("2 2 2:22  [  - 2  \0\t\r\r").unwrap();
        assert_eq!(m.super_options, "\0\t\r");
        assert_eq!(parse_line(&m.to_string()).unwrap(), m);
    }

    #[test]
    fn parses_a_cifs_line() {
        let m = parse_line(CIFS).unwrap();
        assert_eq!(m.mount_id, 97);
        assert_eq!(m.parent_id, 29);
        assert_eq!((m.major, m.minor), (0, 45));
        assert_eq!(m.root, "/");
        assert_eq!(m.mount_point, "/mnt/share");
        assert_eq!(m.optional_fields, vec!["shared:52"]);
        assert_eq!(m.fs_type, "cifs");
        assert_eq!(m.source, "//srv/share");
        assert_eq!(m.option("username"), Some(Some("alice")));
        assert_eq!(m.option("domain"), Some(Some("CORP")));
        assert_eq!(m.option("soft"), Some(None));
        assert_eq!(m.option("user"), None);
        assert!(!m.is_read_only());
    }

    #[test]
    fn parses_an_nfs4_line_read_only() {
        let m = parse_line(NFS4).unwrap();
        assert_eq!(m.fs_type, "nfs4");
        assert_eq!(m.source, "fileserver:/export/data");
        assert!(m.is_read_only());
        assert_eq!(m.option("addr"), Some(Some("10.0.0.9")));
    }

    #[test]
    fn decodes_escapes_in_the_mount_point() {
        let line = r"120 29 0:60 / /home/bob/My\040Docs rw,nosuid,nodev,relatime shared:70 - fuse.sshfs bob@build:/home/bob rw,user_id=1000,group_id=1000";
        let m = parse_line(line).unwrap();
        assert_eq!(m.mount_point, "/home/bob/My Docs");
        assert_eq!(m.fs_type, "fuse.sshfs");
        assert_eq!(m.source, "bob@build:/home/bob");
    }

    #[test]
    fn no_optional_fields_and_no_super_options() {
        let m = parse_line("1 0 8:1 / / rw - ext4 /dev/sda1").unwrap();
        assert!(m.optional_fields.is_empty());
        assert_eq!(m.super_options, "");
        let m = parse_line("1 0 8:1 / / rw a:1 b:2 - ext4 /dev/sda1 rw").unwrap();
        assert_eq!(m.optional_fields, vec!["a:1", "b:2"]);
    }

    #[test]
    fn malformed_lines_say_which_line_and_why() {
        let text = format!("{CIFS}\n\n36 35 98:0 /mnt1 /mnt2 rw master:1 ext3 /dev/root rw\n");
        let err = parse(&text).unwrap_err();
        match &err {
            Error::Syntax { line, reason, .. } => {
                assert_eq!(*line, 3);
                assert!(reason.contains("separator"), "{reason}");
            }
            e => panic!("{e:?}"),
        }
        assert!(err.to_string().starts_with("mountinfo line 3: "));

        for (bad, why) in [
            ("x 35 98:0 / / rw - ext3 /dev/root rw", "mount ID"),
            ("36 35 980 / / rw - ext3 /dev/root rw", "major:minor"),
            ("36 35 98:x / / rw - ext3 /dev/root rw", "minor"),
            ("36 35 98:0 / / rw - ext3 /dev/root rw extra", "unexpected"),
            ("36 35 98:0 / / rw -", "file system type"),
            (
                "36 35 98:0 / / rw -  /dev/root rw",
                "empty file system type",
            ),
            ("36 35 98:0 / / rw - ext3", "mount source"),
            ("36 35 99999999999:0 / / rw - ext3 x y", "out of range"),
            ("36", "parent"),
        ] {
            let e = parse_line(bad).unwrap_err();
            assert!(e.contains(why), "{bad:?}: {e}");
        }
    }

    #[test]
    fn limits_are_enforced() {
        let big = "\n".repeat(MAX_LINES + 1);
        assert!(matches!(parse(&big), Err(Error::TooManyLines { .. })));
    }

    #[test]
    fn display_parses_back() {
        for line in [
            CIFS,
            NFS4,
            r"5 1 0:3 /a\040b /m\134n rw - 9p 10.0.0.1 rw,trans=tcp",
        ] {
            let m = parse_line(line).unwrap();
            assert_eq!(parse_line(&m.to_string()).unwrap(), m);
        }
    }
}
