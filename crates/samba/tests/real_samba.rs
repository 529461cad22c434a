//! Against the installed Samba, when there is one (skipped otherwise): the
//! real smbstatus and testparm through `SambaSource`. Run the test binary
//! as `runuser -u nobody -- ...` to check the non-root answer.

use openwmi_samba::{Error, SambaSource};
use std::path::Path;

/// Under CI Samba must be there (scripts/install-deps installs it): a
/// missing Samba fails instead of passing silently.
fn installed() -> bool {
    let found = Path::new("/usr/bin/smbstatus").exists() && Path::new("/usr/bin/testparm").exists();
    if !found {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "Samba is not installed, and CI needs it (scripts/install-deps)"
        );
        eprintln!("Samba is not installed: skipped");
    }
    found
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|u| u == "0"))
        })
        .unwrap_or(false)
}

#[test]
fn real_smbstatus() {
    if !installed() {
        return;
    }
    let src = SambaSource::new();
    let v = src.version().unwrap();
    assert!(v.major >= 4);
    match src.status() {
        Ok(st) => {
            assert!(is_root());
            assert_eq!(st.version, v.text);
        }
        Err(e @ Error::NeedsRoot { .. }) => {
            assert!(!is_root());
            assert!(e.to_string().ends_with(
                "smbstatus needs root to see other users' connections (smbstatus only works as root!)"
            ));
        }
        // A host whose default smb.conf is missing or unusable.
        Err(Error::Io { .. }) | Err(Error::Exited { .. }) if is_root() => {}
        // No system smbd running: smbstatus answers "nobody connected",
        // which the source must not pass on as such.
        Err(e @ Error::NotRunning { .. }) if is_root() => {
            assert!(e.to_string().starts_with("smbd is not running ("), "{e}");
        }
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn real_testparm_on_the_harness_configuration() {
    if !installed() {
        return;
    }
    let conf = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/harness-smb.conf");
    let src = SambaSource::new().with_smb_conf(conf);
    let shares = src.shares().unwrap();
    let names: Vec<_> = shares.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["public", "private", "data"]);
    assert_eq!(shares[2].max_connections, 5);
    // Its lock directory is gone: smbstatus fails and says why.
    let e = src.status().unwrap_err();
    assert!(
        matches!(
            e,
            Error::Exited { code: Some(1), .. } | Error::NeedsRoot { .. }
        ),
        "{e}"
    );
}
