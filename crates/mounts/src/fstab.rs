//! `/etc/fstab` (fstab(5)): one file system per line, fields separated by
//! blanks: spec, mount point, type, options, dump frequency, fsck pass.
//! `#` starts a comment line; blanks inside a field are written `\040`.

use crate::error::Error;
use crate::escape;
use crate::mountinfo::find_option;
use crate::{MAX_INPUT_BYTES, MAX_LINES};
use std::fmt;

const FILE: &str = "fstab";

/// One fstab entry, escapes decoded. Missing trailing fields take their
/// documented defaults (`defaults`, 0, 0).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FstabEntry {
    /// What to mount (`//srv/share`, `host:/export`, `UUID=...`).
    pub spec: String,
    pub mount_point: String,
    pub fs_type: String,
    pub options: String,
    pub dump_freq: u32,
    pub pass: u32,
}

impl FstabEntry {
    /// `Some(None)` for a flag option, `Some(Some(v))` for `key=v`.
    pub fn option(&self, key: &str) -> Option<Option<&str>> {
        find_option(&self.options, key)
    }

    pub fn is_read_only(&self) -> bool {
        self.option("ro").is_some()
    }

    /// Whether the system connects this entry again at boot, which is what
    /// Windows' Persistent ("reconnected at next logon") means. `noauto`
    /// entries are remembered but wait for someone to mount them, unless
    /// systemd sets up an automount point for them at boot
    /// (`x-systemd.automount`), which connects on first use as Windows'
    /// restored connections do. `user`, `users` and `_netdev` do not change
    /// whether the entry is mounted at boot.
    pub fn reconnects_at_boot(&self) -> bool {
        self.option("noauto").is_none() || self.option("x-systemd.automount").is_some()
    }

    /// The type and source with the old FUSE spelling `type fuse`, `spec
    /// sshfs#user@host:/p` turned into `fuse.sshfs`, `user@host:/p`.
    pub fn effective_type_and_source(&self) -> (String, &str) {
        if self.fs_type == "fuse" || self.fs_type == "fuse3" {
            if let Some((helper, rest)) = self.spec.split_once('#') {
                if !helper.is_empty() {
                    return (format!("fuse.{helper}"), rest);
                }
            }
        }
        (self.fs_type.clone(), &self.spec)
    }
}

/// Prints the entry as an fstab line; [`parse`] reads it back to the same
/// entry (fstab has no way to write an empty field, so those do not).
impl fmt::Display for FstabEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::new();
        // A spec starting with '#' would read back as a comment.
        match self.spec.strip_prefix('#') {
            Some(rest) => {
                s.push_str("\\043");
                escape::encode(rest, &mut s);
            }
            None => escape::encode(&self.spec, &mut s),
        }
        for field in [&self.mount_point, &self.fs_type, &self.options] {
            s.push('\t');
            escape::encode(field, &mut s);
        }
        write!(f, "{s}\t{} {}", self.dump_freq, self.pass)
    }
}

/// Parses the whole of an fstab file; the first malformed line is an error.
pub fn parse(text: &str) -> Result<Vec<FstabEntry>, Error> {
    let mut out = Vec::new();
    for entry in entries(text)? {
        out.push(entry?);
    }
    Ok(out)
}

/// Parses an fstab file the way mount(8) reads it: a malformed line is
/// reported and skipped, the other lines still count. Only the size and
/// line limits stop the parse.
pub fn parse_lenient(text: &str) -> (Vec<FstabEntry>, Vec<Error>) {
    let mut good = Vec::new();
    let mut bad = Vec::new();
    match entries(text) {
        Ok(all) => {
            for entry in all {
                match entry {
                    Ok(e) => good.push(e),
                    Err(e) => bad.push(e),
                }
            }
        }
        Err(e) => bad.push(e),
    }
    (good, bad)
}

/// Each entry line's result, after the whole-file limits are checked.
fn entries(text: &str) -> Result<Vec<Result<FstabEntry, Error>>, Error> {
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
        let trimmed = line.trim_start_matches([' ', '\t']);
        if trimmed.trim_end().is_empty() || trimmed.starts_with('#') {
            continue;
        }
        out.push(parse_line(trimmed).map_err(|reason| Error::Syntax {
            file: FILE,
            line: i + 1,
            reason,
        }));
    }
    Ok(out)
}

/// Parses one non-comment, non-blank line.
pub fn parse_line(line: &str) -> Result<FstabEntry, String> {
    let fields: Vec<&str> = line
        .split([' ', '\t', '\r'])
        .filter(|f| !f.is_empty())
        .collect();
    match fields.len() {
        0..=2 => {
            return Err(format!(
                "{} field(s); an entry needs at least the source, the mount point and the type",
                fields.len()
            ))
        }
        7.. => return Err(format!("{} fields; an entry has at most 6", fields.len())),
        _ => {}
    }
    let number = |i: usize, what: &str| -> Result<u32, String> {
        match fields.get(i) {
            None => Ok(0),
            Some(s) if s.bytes().all(|b| b.is_ascii_digit()) => s
                .parse()
                .map_err(|_| format!("{what} {s:?} is out of range")),
            Some(s) => Err(format!("{what} {s:?} is not a number")),
        }
    };
    let get = |i: usize| fields.get(i).map(|f| escape::decode(f));
    Ok(FstabEntry {
        spec: get(0).unwrap_or_default(),
        mount_point: get(1).unwrap_or_default(),
        fs_type: get(2).unwrap_or_default(),
        options: get(3).unwrap_or_else(|| "defaults".to_owned()),
        dump_freq: number(4, "dump frequency")?,
        pass: number(5, "fsck pass number")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const FSTAB: &str = "\
# /etc/fstab: static file system information.
UUID=1234-abcd  /               ext4    errors=remount-ro 0       1

  # network shares
//nas/media     /mnt/media      cifs    username=alice,domain=HOME,ro,_netdev 0 0
fileserver:/export/home /home/shared nfs4 rw,hard,_netdev\t0\t0
sshfs#bob@build:/srv/src /mnt/My\\040Src fuse defaults,_netdev,allow_other
tmpfs /tmp tmpfs
";

    #[test]
    fn parses_comments_blanks_defaults_and_escapes() {
        let e = parse(FSTAB).unwrap();
        assert_eq!(e.len(), 5);
        assert_eq!(e[0].spec, "UUID=1234-abcd");
        assert_eq!(e[0].pass, 1);
        assert_eq!(e[1].spec, "//nas/media");
        assert_eq!(e[1].mount_point, "/mnt/media");
        assert!(e[1].is_read_only());
        assert_eq!(e[1].option("domain"), Some(Some("HOME")));
        assert_eq!(e[2].fs_type, "nfs4");
        assert!(!e[2].is_read_only());
        assert_eq!(e[3].mount_point, "/mnt/My Src");
        assert_eq!(
            e[3].effective_type_and_source(),
            ("fuse.sshfs".to_owned(), "bob@build:/srv/src")
        );
        assert_eq!(e[4].options, "defaults");
        assert_eq!((e[4].dump_freq, e[4].pass), (0, 0));
    }

    #[test]
    fn malformed_lines_say_which_line_and_why() {
        let err = parse("# c\n/dev/sda1 /\n").unwrap_err();
        assert_eq!(
            err,
            Error::Syntax {
                file: "fstab",
                line: 2,
                reason:
                    "2 field(s); an entry needs at least the source, the mount point and the type"
                        .into()
            }
        );
        let err = parse("a b c d e f g\n").unwrap_err();
        assert!(err.to_string().contains("line 1: 7 fields"), "{err}");
        let err = parse("a b c d x\n").unwrap_err();
        assert!(err.to_string().contains("dump frequency \"x\""), "{err}");
        let err = parse("a b c d 0 99999999999\n").unwrap_err();
        assert!(err.to_string().contains("out of range"), "{err}");
    }

    #[test]
    fn lenient_parse_skips_bad_lines() {
        let (good, bad) = parse_lenient("a b c\nbroken\n//s/x /m cifs ro\n");
        assert_eq!(good.len(), 2);
        assert_eq!(good[1].spec, "//s/x");
        assert_eq!(bad.len(), 1);
        assert!(matches!(bad[0], Error::Syntax { line: 2, .. }));
    }

    #[test]
    fn display_parses_back() {
        for e in parse(FSTAB).unwrap() {
            let printed = e.to_string();
            assert_eq!(parse(&printed).unwrap(), vec![e], "{printed}");
        }
    }
}
