//! The shares clients can connect to, beyond the sections of smb.conf.
//! Pure: the edge ([`crate::source`]) runs `net usershare info`, reads the
//! printcap and looks users up; this module reads what they said and
//! decides which shares Samba serves.
//!
//! Samba serves, in the order its `find_service` tries them when a client
//! names a share:
//! - the shares of smb.conf (and `IPC$`, added by [`crate::map::shares`]);
//! - a home share per user: at session setup smbd adds one named after the
//!   authenticated user (not for guests), and a tree connect to a name that
//!   is a user's adds that user's; both come from `[homes]`, with the path
//!   `[homes]` gives (`%S`, `%u`, `%U`, `%H` expanded) or else the user's
//!   home directory, and the comment `Home directory of USER` unless
//!   `[homes]` sets one;
//! - a printer share per printer of the printcap, from `[printers]` (when
//!   `load printers` is on), named after the printer, with the printcap's
//!   description as its comment;
//! - usershares (`usershare max shares` above 0), which never shadow a share
//!   of smb.conf.

use crate::smbconf::Share;
use crate::smbstatus::Status;
use std::collections::HashSet;

/// A printer named in the printcap.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Printer {
    pub name: String,
    /// The printcap's description of it ("" when none).
    pub comment: String,
}

/// Reads what `net usershare info --long` prints: per usershare a
/// `[name]` line, then `key=value` lines (`path`, `comment`,
/// `usershare_acl`, `guest_ok`). Lines of another form are skipped.
pub fn parse_usershare_info(text: &str) -> Vec<Share> {
    let mut out: Vec<Share> = Vec::new();
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            if !name.is_empty() {
                out.push(disk_share(name));
            }
            continue;
        }
        let (Some(share), Some((key, value))) = (out.last_mut(), line.split_once('=')) else {
            continue;
        };
        match key.trim() {
            "path" => share.path = value.to_string(),
            "comment" => share.comment = value.to_string(),
            _ => {}
        }
    }
    out
}

fn disk_share(name: &str) -> Share {
    Share::new(name)
}

/// Reads a BSD-style printcap file, as Samba's printcap loader does: an
/// entry may continue over lines ending in `\`; its first field (up to the
/// first `:`) lists names separated by `|`. The first name without blanks
/// is the printer's name, the first with blanks its description. Comment
/// lines start with `#`.
pub fn parse_printcap(text: &str) -> Vec<Printer> {
    let mut out = Vec::new();
    let mut entry = String::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let line = line.trim_end_matches('\r');
        if entry.is_empty() && line.trim_start().starts_with('#') {
            continue;
        }
        match line.strip_suffix('\\') {
            Some(head) if lines.peek().is_some() => {
                entry.push_str(head);
                continue;
            }
            Some(head) => entry.push_str(head),
            None => entry.push_str(line),
        }
        let whole = std::mem::take(&mut entry);
        let names = whole.split(':').next().unwrap_or_default();
        let mut name = None;
        let mut comment = None;
        for n in names.split('|').map(str::trim).filter(|n| !n.is_empty()) {
            if n.contains(char::is_whitespace) {
                comment.get_or_insert(n);
            } else {
                name.get_or_insert(n);
            }
        }
        if let Some(name) = name {
            out.push(Printer {
                name: name.to_string(),
                comment: comment.unwrap_or_default().to_string(),
            });
        }
    }
    out
}

/// The printers CUPS' `lpstat -e` names, one a line.
pub fn parse_lpstat_destinations(text: &str) -> Vec<Printer> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.contains(char::is_whitespace))
        .map(|name| Printer {
            name: name.to_string(),
            comment: String::new(),
        })
        .collect()
}

/// The home directory of `user` in passwd(5) text (`/etc/passwd`, or what
/// `getent passwd USER` prints); `None` when the user is not there or has
/// an empty home. User names compare exactly, as getpwnam does.
pub fn passwd_home(text: &str, user: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        (fields.len() >= 7 && fields[0] == user && !fields[5].is_empty())
            .then(|| fields[5].to_string())
    })
}

/// What the configuration alone says Samba serves: smb.conf's shares, then
/// the printcap's printers through `[printers]` (when `load_printers`),
/// then the usershares; a name already taken is not served twice.
pub fn configured_shares(
    conf_shares: &[Share],
    load_printers: bool,
    printers: &[Printer],
    usershares: &[Share],
) -> Vec<Share> {
    let mut out = conf_shares.to_vec();
    let mut taken: HashSet<String> = out.iter().map(|s| s.name.to_lowercase()).collect();
    if let Some(template) = printers_template(conf_shares, load_printers) {
        for p in printers {
            if taken.insert(p.name.to_lowercase()) {
                out.push(printer_share(template, p));
            }
        }
    }
    for u in usershares {
        if taken.insert(u.name.to_lowercase()) {
            out.push(u.clone());
        }
    }
    out
}

fn printers_template(shares: &[Share], load_printers: bool) -> Option<&Share> {
    load_printers
        .then(|| {
            shares
                .iter()
                .find(|s| s.name.eq_ignore_ascii_case("printers"))
        })
        .flatten()
}

fn printer_share(template: &Share, p: &Printer) -> Share {
    Share {
        name: p.name.clone(),
        comment: if p.comment.is_empty() {
            template.comment.clone()
        } else {
            p.comment.clone()
        },
        printable: true,
        ..template.clone()
    }
}

/// Whether connections can make shares appear beyond `configured`: only
/// `[homes]` and `[printers]` (with `load_printers`) serve shares by other
/// names. Without them smbstatus need not be asked.
pub fn depends_on_connections(configured: &[Share], load_printers: bool) -> bool {
    configured
        .iter()
        .any(|s| s.name.eq_ignore_ascii_case("homes"))
        || printers_template(configured, load_printers).is_some()
}

/// The shares Samba serves now: `configured` (from [`configured_shares`])
/// plus what connections made appear. For every user with a session (but
/// `guest_account`) and every tree connect to a name no share has, a home
/// share from `[homes]` when `home_dir` knows the user; a tree connect to
/// a name still unknown is, with `[printers]` and `load_printers`, a
/// printer Samba found in a printcap this process could not read (CUPS).
/// Decision: nothing is made up for another unknown name (a share removed
/// from smb.conf while its clients stay connected, `default service`).
pub fn served_shares(
    configured: &[Share],
    load_printers: bool,
    status: Option<&Status>,
    guest_account: &str,
    home_dir: &dyn Fn(&str) -> Option<String>,
) -> Vec<Share> {
    let mut out = configured.to_vec();
    let Some(status) = status else {
        return out;
    };
    let mut taken: HashSet<String> = out.iter().map(|s| s.name.to_lowercase()).collect();
    let homes = configured
        .iter()
        .find(|s| s.name.eq_ignore_ascii_case("homes"))
        .cloned();
    let printers = printers_template(configured, load_printers).cloned();
    let mut unknown: Vec<&str> = Vec::new();
    if let Some(homes) = &homes {
        let users = status
            .sessions
            .iter()
            .map(|s| s.username.as_str())
            .filter(|u| !u.is_empty() && !u.eq_ignore_ascii_case(guest_account));
        for user in users {
            if taken.contains(&user.to_lowercase()) {
                continue;
            }
            if let Some(home) = home_dir(user) {
                taken.insert(user.to_lowercase());
                out.push(home_share(homes, user, &home));
            }
        }
    }
    for t in &status.tcons {
        if !taken.contains(&t.service.to_lowercase()) && !unknown.contains(&t.service.as_str()) {
            unknown.push(&t.service);
        }
    }
    for service in unknown {
        if let Some(homes) = &homes {
            // smbd looks up the user the share is named after.
            let home = home_dir(service).or_else(|| home_dir(&service.to_lowercase()));
            if let Some(home) = home {
                taken.insert(service.to_lowercase());
                out.push(home_share(homes, service, &home));
                continue;
            }
        }
        if let Some(template) = &printers {
            taken.insert(service.to_lowercase());
            out.push(printer_share(
                template,
                &Printer {
                    name: service.to_string(),
                    comment: String::new(),
                },
            ));
        }
    }
    out
}

fn home_share(homes: &Share, user: &str, home: &str) -> Share {
    let path = if homes.path.is_empty() {
        home.to_string()
    } else {
        homes
            .path
            .replace("%S", user)
            .replace("%u", user)
            .replace("%U", user)
            .replace("%H", home)
    };
    let comment = if homes.comment.is_empty() {
        format!("Home directory of {user}")
    } else {
        homes.comment.clone()
    };
    Share {
        name: user.to_string(),
        path,
        comment,
        printable: false,
        ..homes.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smbconf;

    #[test]
    fn usershare_info_long_output() {
        let text = "[ushare]\npath=/srv/u one\ncomment=A user share\nusershare_acl=S-1-1-0:F,\n\
                    guest_ok=n\n\n[other]\npath=/tmp/o\ncomment=\nusershare_acl=S-1-1-0:R,\n\
                    guest_ok=y\n\n";
        let s = parse_usershare_info(text);
        assert_eq!(s.len(), 2);
        assert_eq!(
            (
                s[0].name.as_str(),
                s[0].path.as_str(),
                s[0].comment.as_str()
            ),
            ("ushare", "/srv/u one", "A user share")
        );
        assert_eq!((s[1].name.as_str(), s[1].comment.as_str()), ("other", ""));
        assert!(s.iter().all(|s| s.available && !s.printable));
        assert!(parse_usershare_info("").is_empty());
        assert!(parse_usershare_info("garbage\nx=y\n").is_empty());
    }

    #[test]
    fn printcap_names_comments_and_continuations() {
        let text = "# comment\nlaser|Laser printer:lp=/dev/null:\nink:\\\n  :lp=/dev/null:\n\
                    \n|Only a description here|:x:\nlp|Main one|main:\n";
        let p = parse_printcap(text);
        let names: Vec<(&str, &str)> = p
            .iter()
            .map(|p| (p.name.as_str(), p.comment.as_str()))
            .collect();
        assert_eq!(
            names,
            [("laser", "Laser printer"), ("ink", ""), ("lp", "Main one")]
        );
        assert_eq!(
            parse_lpstat_destinations("hp\nlaser_2\n\n")
                .iter()
                .map(|p| p.name.as_str())
                .collect::<Vec<_>>(),
            ["hp", "laser_2"]
        );
    }

    #[test]
    fn passwd_home_lookup() {
        let text = "root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/sh\n\
                    nohome:x:1001:1001:::/bin/sh\n";
        assert_eq!(passwd_home(text, "alice").as_deref(), Some("/home/alice"));
        assert_eq!(passwd_home(text, "ALICE"), None);
        assert_eq!(passwd_home(text, "nohome"), None);
        assert_eq!(passwd_home(text, "bob"), None);
    }

    fn conf(text: &str) -> Vec<Share> {
        smbconf::parse(text).unwrap().shares
    }

    #[test]
    fn printers_and_usershares_join_the_configured_shares() {
        let shares = conf("[public]\npath=/srv\n[printers]\npath=/var/spool\ncomment=All\n");
        let printers = parse_printcap("laser|Laser printer:\nink:\npublic:\n");
        let users = parse_usershare_info("[ushare]\npath=/u\n[PUBLIC]\npath=/x\n");
        let all = configured_shares(&shares, true, &printers, &users);
        let names: Vec<&str> = all.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["public", "printers", "laser", "ink", "ushare"]);
        let ink = &all[3];
        assert!(ink.printable);
        assert_eq!(
            (ink.path.as_str(), ink.comment.as_str()),
            ("/var/spool", "All")
        );
        assert_eq!(all[2].comment, "Laser printer");
        // load printers = no: [printers] serves no printer.
        let names: Vec<String> = configured_shares(&shares, false, &printers, &[])
            .into_iter()
            .map(|s| s.name)
            .collect();
        assert_eq!(names, ["public", "printers"]);
    }

    fn status(sessions: &[(&str, &str)], tcons: &[(&str, &str)]) -> Status {
        let id = r#"{"pid": "77", "vnn": "4294967295"}"#;
        let s: Vec<String> = sessions
            .iter()
            .map(|(sid, user)| {
                format!(
                    r#""{sid}": {{"session_id": "{sid}", "server_id": {id}, "uid": 1, "gid": 1,
                    "username": "{user}", "groupname": "g", "remote_machine": "PC",
                    "hostname": "ipv4:10.0.0.1:1", "session_dialect": "SMB3_11"}}"#
                )
            })
            .collect();
        let t: Vec<String> = tcons
            .iter()
            .enumerate()
            .map(|(i, (sid, service))| {
                format!(
                    r#""{i}": {{"service": "{service}", "server_id": {id}, "tcon_id": "{i}",
                    "session_id": "{sid}", "machine": "PC",
                    "connected_at": "2026-11-21T12:49:00+00:00"}}"#
                )
            })
            .collect();
        crate::smbstatus::parse(&format!(
            r#"{{"version": "4.17.0", "sessions": {{{}}}, "tcons": {{{}}}, "open_files": {{}}}}"#,
            s.join(","),
            t.join(",")
        ))
        .unwrap()
    }

    fn homes_of(user: &str) -> Option<String> {
        ["alice", "bob"]
            .contains(&user)
            .then(|| format!("/home/{user}"))
    }

    #[test]
    fn home_shares_of_connected_users() {
        let shares = conf("[public]\npath=/srv\n[homes]\nread only = no\n");
        let st = status(
            &[("1", "alice"), ("2", "nobody"), ("3", "carol")],
            &[("1", "alice"), ("1", "bob"), ("2", "public")],
        );
        let all = served_shares(&shares, true, Some(&st), "nobody", &homes_of);
        let got: Vec<(&str, &str, &str)> = all
            .iter()
            .map(|s| (s.name.as_str(), s.path.as_str(), s.comment.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("public", "/srv", ""),
                ("homes", "", ""),
                ("alice", "/home/alice", "Home directory of alice"),
                ("bob", "/home/bob", "Home directory of bob"),
            ]
        );
        // [homes] with a path: its substitutions, for the share's user.
        let shares = conf("[homes]\npath=/export/%S/files\ncomment=Mine\n");
        let all = served_shares(&shares, true, Some(&st), "nobody", &homes_of);
        assert_eq!(
            (all[1].path.as_str(), all[1].comment.as_str()),
            ("/export/alice/files", "Mine")
        );
        // Without [homes] nobody gets one; without smbstatus nothing is added.
        let shares = conf("[public]\npath=/srv\n[printers]\n");
        assert!(!depends_on_connections(&shares, false));
        assert!(depends_on_connections(&shares, true));
        assert_eq!(
            served_shares(&shares, false, Some(&st), "nobody", &homes_of).len(),
            2
        );
        let shares = conf("[homes]\n");
        assert_eq!(
            served_shares(&shares, true, None, "nobody", &homes_of).len(),
            1
        );
    }

    #[test]
    fn tree_connects_to_unlisted_printers_are_printer_shares() {
        let shares = conf("[homes]\n[printers]\npath=/spool\n");
        let st = status(&[("1", "alice")], &[("1", "cupsprinter"), ("1", "alice")]);
        let all = served_shares(&shares, true, Some(&st), "nobody", &homes_of);
        let got: Vec<(&str, bool)> = all.iter().map(|s| (s.name.as_str(), s.printable)).collect();
        assert_eq!(
            got,
            [
                ("homes", false),
                ("printers", true),
                ("alice", false),
                ("cupsprinter", true)
            ]
        );
        assert_eq!(all[3].path, "/spool");
        // Without [printers], a name that is no user's is not made up.
        let shares = conf("[homes]\n");
        let st = status(&[("1", "alice")], &[("1", "removed"), ("1", "bob")]);
        let names: Vec<String> = served_shares(&shares, true, Some(&st), "nobody", &homes_of)
            .into_iter()
            .map(|s| s.name)
            .collect();
        assert_eq!(names, ["homes", "alice", "bob"]);
    }
}
