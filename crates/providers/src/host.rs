//! The name this machine goes by in object paths (`\\HOST\root\cimv2:...`)
//! and in `__SERVER`.
//!
//! Windows writes its NetBIOS computer name there, in upper case. The name
//! SMB clients see for this machine is Samba's `netbios name`, so when
//! Samba is configured that is the name; otherwise, as Windows derives its
//! NetBIOS name from the host name, the host name's first label in upper
//! case.

use openwmi_samba::source::DEFAULT_SMB_CONF;
use std::path::Path;

/// The host name for paths: Samba's `netbios name` from `smb_conf` (Samba's
/// default smb.conf when `None`) if that file sets one, else the upper-cased
/// short host name (see [`short_host_name`]).
pub fn host_name(smb_conf: Option<&Path>) -> String {
    let path = smb_conf.unwrap_or(Path::new(DEFAULT_SMB_CONF));
    let configured = openwmi_samba::load_smb_conf(path)
        .ok()
        .and_then(|c| c.globals.netbios_name);
    netbios_or_host(configured.as_deref(), &kernel_host_name())
}

/// The path host name from a configured `netbios name` (if any) and the
/// kernel's host name. Samba upper-cases its NetBIOS name; when none is
/// set, it derives it from the host name exactly as the fallback here does.
pub fn netbios_or_host(netbios_name: Option<&str>, kernel_host: &str) -> String {
    match netbios_name.map(str::trim).filter(|n| !n.is_empty()) {
        Some(n) => n.to_uppercase(),
        None => short_host_name(kernel_host),
    }
}

/// The first label of a host name, upper-cased (`files.example.org` gives
/// `FILES`); `LOCALHOST` for an empty one.
pub fn short_host_name(host: &str) -> String {
    let short = host.trim().split('.').next().unwrap_or_default();
    if short.is_empty() {
        "LOCALHOST".to_owned()
    } else {
        short.to_uppercase()
    }
}

fn kernel_host_name() -> String {
    for f in ["/proc/sys/kernel/hostname", "/etc/hostname"] {
        if let Ok(s) = std::fs::read_to_string(f) {
            if !s.trim().is_empty() {
                return s.trim().to_owned();
            }
        }
    }
    String::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_name_in_paths_is_the_netbios_name_else_the_short_host_name() {
        assert_eq!(
            netbios_or_host(Some("filesrv01"), "box.example.org"),
            "FILESRV01"
        );
        assert_eq!(netbios_or_host(Some("  "), "box.example.org"), "BOX");
        assert_eq!(netbios_or_host(None, "box.example.org"), "BOX");
        assert_eq!(netbios_or_host(None, "Box"), "BOX");
        assert_eq!(netbios_or_host(None, ""), "LOCALHOST");
    }

    #[test]
    fn host_name_in_paths_reads_samba_netbios_name() {
        let dir = std::env::temp_dir().join(format!("openwmi-host-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let with = dir.join("with.conf");
        std::fs::write(
            &with,
            "[global]\n  netbios name = filesrv01\n[public]\n  path = /srv\n",
        )
        .unwrap();
        assert_eq!(host_name(Some(&with)), "FILESRV01");
        let without = dir.join("without.conf");
        std::fs::write(&without, "[global]\n  workgroup = W\n").unwrap();
        let expected = short_host_name(&kernel_host_name());
        assert_eq!(host_name(Some(&without)), expected);
        assert_eq!(host_name(Some(&dir.join("missing.conf"))), expected);
        assert_eq!(expected, expected.to_uppercase());
        assert!(!expected.contains('.'));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
