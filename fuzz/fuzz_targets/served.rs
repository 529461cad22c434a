#![no_main]
//! What `net usershare info`, a printcap, `lpstat -e` and passwd(5) text say
//! (crates/samba/src/served.rs): reading never panics, and what is read
//! keeps the shape the share list relies on (names that are non-empty and
//! one line; printer names without blanks or field separators).
use libfuzzer_sys::fuzz_target;
use openwmi_samba::served::{
    configured_shares, parse_lpstat_destinations, parse_printcap, parse_usershare_info,
    passwd_home,
};
use openwmi_samba::Share;
use std::collections::HashSet;

fn conf_share(name: &str) -> Share {
    Share {
        printable: name == "printers",
        ..Share::new(name)
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);

    let usershares = parse_usershare_info(&text);
    for s in &usershares {
        assert!(!s.name.is_empty());
        assert!(!s.name.contains('\n'), "{:?}", s.name);
        assert!(!s.path.contains('\n') && !s.comment.contains('\n'));
        assert!(!s.printable);
    }

    let printcap = parse_printcap(&text);
    for p in &printcap {
        assert!(!p.name.is_empty());
        assert!(!p.name.contains(|c: char| c.is_whitespace() || c == '|' || c == ':'), "{p:?}");
        assert!(!p.comment.contains(['|', ':', '\n']), "{p:?}");
    }

    let lpstat = parse_lpstat_destinations(&text);
    assert!(lpstat.len() <= text.lines().count());
    for p in &lpstat {
        assert!(!p.name.is_empty() && !p.name.contains(char::is_whitespace), "{p:?}");
    }

    // The first line names the user looked up in the whole text.
    let user = text.lines().next().unwrap_or_default();
    if let Some(home) = passwd_home(&text, user) {
        assert!(!home.is_empty() && !home.contains([':', '\n']), "{home:?}");
    }
    // A line written for a user is found again, whatever precedes it.
    let home = text.lines().nth(1).unwrap_or("/home/x");
    if !user.contains(':') && !home.is_empty() && !home.contains(':') {
        let passwd = format!("{user}:x:1000:1000::{home}:/bin/sh\n");
        assert_eq!(passwd_home(&passwd, user).as_deref(), Some(home));
    }

    // Joined with smb.conf's shares, no name is served twice.
    let conf = [conf_share("homes"), conf_share("printers"), conf_share("IPC$")];
    let all = [printcap.clone(), lpstat].concat();
    for load_printers in [false, true] {
        let shares = configured_shares(&conf, load_printers, &all, &usershares);
        let mut seen = HashSet::new();
        for s in &shares {
            assert!(seen.insert(s.name.to_lowercase()), "{} served twice", s.name);
        }
        assert!(shares.len() >= conf.len());
    }
});
