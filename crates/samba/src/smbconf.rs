//! smb.conf syntax (also what `testparm -s` prints), and the shares it
//! defines. Pure: reading files, following `include` lines, lives in
//! [`crate::source`].
//!
//! Syntax, as Samba's `params.c` reads it:
//! - `[name]` starts a section; `key = value` sets a parameter; blank lines
//!   and lines whose first non-blank character is `#` or `;` are comments.
//!   There are no end-of-line comments: `path = /srv # x` has the value
//!   `/srv # x`, as in Samba.
//! - A line ending in `\` continues on the next line; the backslash goes and
//!   the next line's leading blanks go with it.
//! - Keys are case-insensitive, and spaces and underscores in them do not
//!   count (`Max Connections`, `max_connections` and `maxconnections` are
//!   one key). Values keep their case, with outer blanks trimmed.
//! - Parameters before any section belong to `[global]`.
//!
//! Meaning, as Samba's loadparm gives it:
//! - Share-level parameters set in `[global]` are the defaults of the shares
//!   defined after it (`browseable = no` in `[global]` hides every share).
//! - A section name seen twice names the same share: the second adds to and
//!   overrides the first.
//! - `[homes]` and `[printers]` are kept as shares named `homes` and
//!   `printers` (decision: Samba expands them per user and per printer at
//!   connect time, which no static reading can do; `printers` is printable
//!   by Samba's rule, so it is a print queue).
//! - `include = FILE` is reported in [`SmbConf::includes`]; the edge
//!   function [`crate::source::load_smb_conf`] reads the file in place.
//! - `config file` and registry configuration are not followed.

use crate::error::Error;
use std::fmt;
use std::sync::Arc;

/// The largest configuration text accepted (4 MiB per file).
pub const MAX_INPUT_BYTES: usize = 4 << 20;

/// One line of meaning in an smb.conf.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ItemKind {
    /// `[name]`
    Section(String),
    /// `key = value`, the key as written (trimmed).
    Param { key: String, value: String },
}

/// An item with where it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    pub kind: ItemKind,
    /// The 1-based line where the item starts.
    pub line: usize,
    /// The file it was read from, when it was read from one.
    pub file: Option<Arc<str>>,
}

/// The items of an smb.conf in order. `Display` prints the canonical text
/// (sections flush left, parameters indented by a tab, as testparm does).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Document {
    pub items: Vec<Item>,
}

/// A share as the configuration defines it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Share {
    /// The section name, as written.
    pub name: String,
    /// `path` (or its synonym `directory`); empty when unset.
    pub path: String,
    /// `comment`; empty when unset.
    pub comment: String,
    /// `printable` (or `print ok`); always true for `[printers]`.
    pub printable: bool,
    /// `max connections`; 0 means no limit.
    pub max_connections: u32,
    /// `administrative share`.
    pub administrative: bool,
    /// `available`; Samba refuses connections to unavailable shares.
    pub available: bool,
    /// `browseable` (or `browsable`).
    pub browseable: bool,
    /// `server smb encrypt` (or `smb encrypt`) is `required` or a synonym:
    /// Samba refuses unencrypted access.
    pub encrypt_data: bool,
    /// `csc policy`, lowercase (`manual`, Samba's default, `documents`,
    /// `programs`, `disable`).
    pub csc_policy: String,
    /// `hide unreadable`: listings leave out what the user cannot read.
    pub hide_unreadable: bool,
    /// `read only` (Samba's default), or not `writeable`.
    pub read_only: bool,
}

impl Share {
    /// A disk share of that name with Samba's defaults for everything else.
    pub fn new(name: &str) -> Share {
        Share::from_params(name.to_string(), ShareParams::default())
    }

    fn from_params(name: String, p: ShareParams) -> Share {
        Share {
            name,
            path: p.path,
            comment: p.comment,
            printable: p.printable,
            max_connections: p.max_connections,
            administrative: p.administrative,
            available: p.available,
            browseable: p.browseable,
            encrypt_data: p.encrypt_data,
            csc_policy: p.csc_policy,
            hide_unreadable: p.hide_unreadable,
            read_only: p.read_only,
        }
    }
}

/// Whether a `server smb encrypt` value makes encryption required
/// (Samba's `required` and its synonyms).
pub fn encryption_required(value: &str) -> bool {
    matches!(
        value.trim().to_ascii_lowercase().as_str(),
        "required" | "mandatory" | "force" | "forced" | "enforced"
    )
}

/// The `[global]` settings the provider uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Globals {
    /// `server string`, unexpanded (`Samba %v` by default).
    pub server_string: String,
    /// `guest account` (default `nobody`): sessions of this user are guests.
    pub guest_account: String,
    /// `netbios name`, if set.
    pub netbios_name: Option<String>,
    /// `pid directory`, if set (where smbd writes `smbd.pid`).
    pub pid_directory: Option<String>,
    /// `usershare max shares` (0, Samba's default, disables usershares).
    pub usershare_max_shares: u32,
    /// `load printers` (default yes): `[printers]` serves every printer of
    /// the printcap.
    pub load_printers: bool,
    /// `printcap name`, if set.
    pub printcap_name: Option<String>,
    /// `printing` (the printing system), if set.
    pub printing: Option<String>,
}

impl Default for Globals {
    fn default() -> Globals {
        Globals {
            server_string: "Samba %v".to_string(),
            guest_account: "nobody".to_string(),
            netbios_name: None,
            pid_directory: None,
            usershare_max_shares: 0,
            load_printers: true,
            printcap_name: None,
            printing: None,
        }
    }
}

/// An `include = FILE` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Include {
    pub path: String,
    pub line: usize,
    pub file: Option<Arc<str>>,
}

/// What an smb.conf defines.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SmbConf {
    pub globals: Globals,
    /// In the order they were first defined.
    pub shares: Vec<Share>,
    /// `include` lines that were not followed (all of them, for text parsed
    /// with [`parse`]).
    pub includes: Vec<Include>,
    /// The text uses what only Samba's own loader (testparm) evaluates:
    /// `copy = share`, `config file`, `config backend`, `registry shares`.
    pub needs_samba_loader: bool,
}

/// A key with case, spaces and underscores folded away, as loadparm compares them.
pub fn normalize_key(key: &str) -> String {
    key.chars()
        .filter(|c| *c != ' ' && *c != '_' && *c != '\t')
        .flat_map(char::to_lowercase)
        .collect()
}

/// Parses smb.conf text (or `testparm -s` output) into shares.
pub fn parse(text: &str) -> Result<SmbConf, Error> {
    SmbConf::from_document(&Document::parse(text, None)?)
}

impl Document {
    /// Parses the syntax only. `file` names the source in errors and items.
    pub fn parse(text: &str, file: Option<Arc<str>>) -> Result<Document, Error> {
        let file_name = || file.as_deref().unwrap_or("").to_string();
        if text.len() > MAX_INPUT_BYTES {
            return Err(Error::TooLarge {
                what: "smb.conf",
                size: text.len(),
                limit: MAX_INPUT_BYTES,
            });
        }
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut items = Vec::new();
        // A line is followed by another element exactly when a newline ended it.
        let mut lines = text.split('\n').enumerate();
        while let Some((index, raw)) = lines.next() {
            let start_line = index + 1;
            let first = raw.strip_suffix('\r').unwrap_or(raw);
            let trimmed = first.trim_start();
            if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
                continue;
            }
            // Join continuation lines. As Samba's parser (lib/util/tini.c)
            // does, a backslash continues the line only where a newline
            // follows it, one newline each: at the end of the text it stays.
            let mut logical = String::from(first);
            while logical.trim_end().ends_with('\\') {
                let Some((_, next)) = lines.next() else {
                    break;
                };
                let keep = logical.trim_end().len() - 1;
                logical.truncate(keep);
                let next = next.strip_suffix('\r').unwrap_or(next);
                logical.push_str(next.trim_start());
            }
            let err = |message: &str| Error::SmbConf {
                file: file_name(),
                line: start_line,
                message: message.to_string(),
            };
            let t = logical.trim();
            // A continuation can start a comment or an empty line after all.
            if t.is_empty() || t.starts_with('#') || t.starts_with(';') {
                continue;
            }
            let kind = if let Some(rest) = t.strip_prefix('[') {
                let Some((name, after)) = rest.split_once(']') else {
                    return Err(err("section header without ']'"));
                };
                let after = after.trim_start();
                if !(after.is_empty() || after.starts_with('#') || after.starts_with(';')) {
                    return Err(err("text after the section header"));
                }
                let name = name.trim();
                if name.is_empty() {
                    return Err(err("empty section name"));
                }
                ItemKind::Section(name.to_string())
            } else {
                let Some((key, value)) = t.split_once('=') else {
                    return Err(err("expected 'key = value' or '[section]'"));
                };
                let key = key.trim();
                if key.is_empty() {
                    return Err(err("empty parameter name"));
                }
                ItemKind::Param {
                    key: key.to_string(),
                    value: value.trim().to_string(),
                }
            };
            items.push(Item {
                kind,
                line: start_line,
                file: file.clone(),
            });
        }
        Ok(Document { items })
    }

    /// The `include` parameters, in order.
    pub fn includes(&self) -> impl Iterator<Item = Include> + '_ {
        self.items.iter().filter_map(|item| match &item.kind {
            ItemKind::Param { key, value } if normalize_key(key) == "include" => Some(Include {
                path: value.clone(),
                line: item.line,
                file: item.file.clone(),
            }),
            _ => None,
        })
    }
}

/// Canonical smb.conf text. A value ending in a backslash cannot be written
/// (Samba reads a backslash before a newline as a continuation), so it reads
/// back without it.
impl fmt::Display for Document {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for item in &self.items {
            match &item.kind {
                ItemKind::Section(name) => {
                    if !first {
                        writeln!(f)?;
                    }
                    writeln!(f, "[{name}]")?;
                }
                ItemKind::Param { key, value } => writeln!(f, "\t{key} = {value}")?,
            }
            first = false;
        }
        Ok(())
    }
}

/// The share-level parameters this crate reads, with their values so far.
#[derive(Clone, Debug)]
struct ShareParams {
    path: String,
    comment: String,
    printable: bool,
    max_connections: u32,
    administrative: bool,
    available: bool,
    browseable: bool,
    encrypt_data: bool,
    csc_policy: String,
    hide_unreadable: bool,
    read_only: bool,
}

impl Default for ShareParams {
    fn default() -> ShareParams {
        ShareParams {
            path: String::new(),
            comment: String::new(),
            printable: false,
            max_connections: 0,
            administrative: false,
            available: true,
            browseable: true,
            encrypt_data: false,
            csc_policy: "manual".to_string(),
            hide_unreadable: false,
            read_only: true,
        }
    }
}

fn parse_bool(value: &str) -> Option<bool> {
    match value.to_ascii_lowercase().as_str() {
        "yes" | "true" | "on" | "1" => Some(true),
        "no" | "false" | "off" | "0" => Some(false),
        _ => None,
    }
}

impl SmbConf {
    /// The shares and globals a document defines; `include` lines still in
    /// it are listed in [`SmbConf::includes`].
    pub fn from_document(doc: &Document) -> Result<SmbConf, Error> {
        let mut globals = Globals::default();
        let mut defaults = ShareParams::default();
        // Shares in definition order; the index of the current one.
        let mut shares: Vec<(String, ShareParams)> = Vec::new();
        let mut current: Option<usize> = None;
        let mut needs_samba_loader = false;
        for item in &doc.items {
            let err = |message: String| Error::SmbConf {
                file: item.file.as_deref().unwrap_or("").to_string(),
                line: item.line,
                message,
            };
            match &item.kind {
                ItemKind::Section(name) => {
                    if name.eq_ignore_ascii_case("global") {
                        current = None;
                    } else if let Some(i) = shares
                        .iter()
                        .position(|(n, _)| n.eq_ignore_ascii_case(name))
                    {
                        current = Some(i);
                    } else {
                        let mut params = defaults.clone();
                        if name.eq_ignore_ascii_case("printers") {
                            params.printable = true;
                        }
                        shares.push((name.clone(), params));
                        current = Some(shares.len() - 1);
                    }
                }
                ItemKind::Param { key, value } => {
                    let target = match current {
                        Some(i) => &mut shares[i].1,
                        None => &mut defaults,
                    };
                    let boolean = || {
                        parse_bool(value)
                            .ok_or_else(|| err(format!("{key}: {value:?} is not a boolean")))
                    };
                    match normalize_key(key).as_str() {
                        "path" | "directory" => target.path = value.clone(),
                        "comment" => target.comment = value.clone(),
                        "printable" | "printok" => target.printable = boolean()?,
                        "administrativeshare" => target.administrative = boolean()?,
                        "available" => target.available = boolean()?,
                        "browseable" | "browsable" => target.browseable = boolean()?,
                        "serversmbencrypt" | "smbencrypt" => {
                            target.encrypt_data = encryption_required(value)
                        }
                        "cscpolicy" => target.csc_policy = value.trim().to_ascii_lowercase(),
                        "hideunreadable" => target.hide_unreadable = boolean()?,
                        "readonly" => target.read_only = boolean()?,
                        "writeable" | "writable" | "writeok" => target.read_only = !boolean()?,
                        "maxconnections" => {
                            target.max_connections = value.parse().map_err(|_| {
                                err(format!("{key}: {value:?} is not a non-negative integer"))
                            })?;
                        }
                        "serverstring" if current.is_none() => {
                            globals.server_string = value.clone()
                        }
                        "guestaccount" if current.is_none() => {
                            globals.guest_account = value.clone()
                        }
                        "netbiosname" if current.is_none() => {
                            globals.netbios_name = Some(value.clone())
                        }
                        "piddirectory" if current.is_none() => {
                            globals.pid_directory = Some(value.clone())
                        }
                        "usersharemaxshares" if current.is_none() => {
                            globals.usershare_max_shares = value.parse().map_err(|_| {
                                err(format!("{key}: {value:?} is not a non-negative integer"))
                            })?;
                        }
                        "loadprinters" if current.is_none() => globals.load_printers = boolean()?,
                        "printcapname" | "printcap" if current.is_none() => {
                            globals.printcap_name = Some(value.clone())
                        }
                        "printing" if current.is_none() => globals.printing = Some(value.clone()),
                        "copy" | "configfile" | "configbackend" | "registryshares" => {
                            needs_samba_loader = true
                        }
                        _ => {}
                    }
                }
            }
        }
        Ok(SmbConf {
            globals,
            shares: shares
                .into_iter()
                .map(|(name, p)| Share::from_params(name, p))
                .collect(),
            includes: doc.includes().collect(),
            needs_samba_loader,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TESTPARM: &str = "# Global parameters
[global]
\tguest account = smbguest
\tlog file = /var/log/samba/log.%m
\tserver string = %h server (Samba, Ubuntu)
\tmax connections = 7

[public]
\tcomment = Public files
\tpath = /srv/samba/public
\tread only = No

[homes]
\tbrowseable = No
\tcomment = Home Directories

[printers]
\tcomment = All Printers
\tpath = /var/spool/samba

[admin$]
\tadministrative share = Yes
\tpath = /srv/admin
\tmax connections = 0
";

    #[test]
    fn testparm_output() {
        let c = parse(TESTPARM).unwrap();
        assert_eq!(c.globals.guest_account, "smbguest");
        assert_eq!(c.globals.server_string, "%h server (Samba, Ubuntu)");
        let names: Vec<_> = c.shares.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["public", "homes", "printers", "admin$"]);
        let public = &c.shares[0];
        assert_eq!(public.path, "/srv/samba/public");
        assert_eq!(public.comment, "Public files");
        assert!(!public.printable && public.browseable && public.available);
        assert_eq!(public.max_connections, 7, "inherited from [global]");
        assert!(!c.shares[1].browseable);
        assert!(c.shares[2].printable, "[printers] is printable");
        assert!(c.shares[3].administrative);
        assert_eq!(c.shares[3].max_connections, 0);
        assert!(c.includes.is_empty());
        assert_eq!(c.globals.pid_directory, None);
    }

    #[test]
    fn what_needs_samba_s_loader() {
        assert!(!parse("[a]\n path = /a\n").unwrap().needs_samba_loader);
        for line in [
            "[b]\n copy = a",
            "config file = /etc/samba/%m.conf",
            "config backend = registry",
            "Registry Shares = yes",
        ] {
            let c = parse(&format!("[a]\n path = /a\n{line}\n")).unwrap();
            assert!(c.needs_samba_loader, "{line}");
        }
    }

    #[test]
    fn pid_directory_is_a_global() {
        let c =
            parse("[global]\n\tpid directory = /tmp/x/pid\n[s]\n\tpid directory = /no\n").unwrap();
        assert_eq!(c.globals.pid_directory.as_deref(), Some("/tmp/x/pid"));
        let c = parse("pid_directory = /run/other\n").unwrap();
        assert_eq!(c.globals.pid_directory.as_deref(), Some("/run/other"));
    }

    #[test]
    fn smb_conf_syntax() {
        let text = "\u{feff}; comment\r\n  # another\r\nworkgroup = W\r\n\
            [Data]\n  Max_Connections=3\n  PATH = /srv/da\\\n     ta\n print ok = yes\n\
            comment = x # not a comment\n[data]\n browsable = off\n available = false\n\
            include = /etc/samba/extra.conf\n[x] ; trailing comment\n directory = /d\n";
        let c = parse(text).unwrap();
        assert_eq!(c.shares.len(), 2);
        let d = &c.shares[0];
        assert_eq!(d.name, "Data");
        assert_eq!(d.path, "/srv/data");
        assert_eq!(d.max_connections, 3);
        assert!(d.printable);
        assert_eq!(d.comment, "x # not a comment");
        assert!(!d.browseable && !d.available, "[data] merges into [Data]");
        assert_eq!(c.shares[1].path, "/d");
        assert_eq!(c.includes.len(), 1);
        assert_eq!(c.includes[0].path, "/etc/samba/extra.conf");
        assert_eq!(c.includes[0].line, 13);
    }

    #[test]
    fn errors_have_lines() {
        for (text, line) in [
            ("[ok]\nno equals sign\n", 2),
            ("[ok]\n[broken\n", 2),
            ("[]\n", 1),
            ("[a] b\n", 1),
            ("[a]\n = v\n", 2),
            ("[a]\nprintable = maybe\n", 2),
            ("[a]\n\n\nmax connections = -1\n", 4),
            ("[a]\nmax connections = 99999999999\n", 2),
        ] {
            match parse(text) {
                Err(Error::SmbConf { line: l, .. }) => assert_eq!(l, line, "{text:?}"),
                other => panic!("{text:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn print_parse_round_trip() {
        for text in [TESTPARM, "a = 1\n[x]\n k = v \\\n w\n", "[y]\n\tz ="] {
            let doc = Document::parse(text, None).unwrap();
            let printed = doc.to_string();
            let again = Document::parse(&printed, None).unwrap();
            let kinds = |d: &Document| d.items.iter().map(|i| i.kind.clone()).collect::<Vec<_>>();
            assert_eq!(kinds(&doc), kinds(&again), "{printed}");
        }
    }

    #[test]
    fn regression_a_backslash_before_the_last_newline_continues_only_once() {
        // Found by the round-trip property test: `a=\\\` + newline + end of
        // text read as one backslash; Samba (tini.c) reads two.
        let doc = Document::parse("a=\\\\\\\n", None).unwrap();
        assert_eq!(
            doc.items[0].kind,
            ItemKind::Param {
                key: "a".into(),
                value: "\\\\".into()
            }
        );
        // Without the newline there is nothing to continue into.
        let doc = Document::parse("a=x\\", None).unwrap();
        assert_eq!(
            doc.items[0].kind,
            ItemKind::Param {
                key: "a".into(),
                value: "x\\".into()
            }
        );
        // One newline, one continuation: `b` is read as part of the value.
        let doc = Document::parse("a=x\\\n b\n", None).unwrap();
        assert_eq!(
            doc.items[0].kind,
            ItemKind::Param {
                key: "a".into(),
                value: "xb".into()
            }
        );
    }

    #[test]
    fn keys_normalise() {
        assert_eq!(normalize_key("Max_Connections "), "maxconnections");
        assert_eq!(normalize_key("administrative share"), "administrativeshare");
    }
}
