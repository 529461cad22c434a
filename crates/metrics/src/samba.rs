//! The Samba and mount families, from one snapshot of each source. Pure:
//! the readings come in, text goes out.

use crate::exposition::{Exposition, Kind};
use openwmi_mounts::{FstabEntry, MountEntry};
use openwmi_samba::smbstatus::{Crypto, Open, OpenFile};
use openwmi_samba::{Share, Status};
use std::collections::{BTreeMap, BTreeSet};

/// Whether per-user and per-client labels are written (configured, and
/// the scraper holds the `sessions` right).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Detail {
    pub per_user: bool,
}

/// `none` unless the session or tree connect is signed or encrypted; else
/// the algorithm Samba names.
fn crypto_label(c: Option<&Crypto>) -> &str {
    match c {
        Some(c) if !(c.cipher.is_empty() || c.cipher == "-" || c.degree == "none") => &c.cipher,
        _ => "none",
    }
}

fn same_path(a: &str, b: &str) -> bool {
    let t = |s: &str| s.trim_end_matches('/').to_owned();
    t(a) == t(b)
}

/// The sessions, tree connects, open files and users of a snapshot.
pub fn status_families(e: &mut Exposition, status: &Status, shares: &[Share], detail: Detail) {
    let mut by_kind: BTreeMap<(&str, &str, &str), u64> = BTreeMap::new();
    for s in &status.sessions {
        *by_kind
            .entry((
                s.dialect.as_str(),
                crypto_label(s.encryption.as_ref()),
                crypto_label(s.signing.as_ref()),
            ))
            .or_default() += 1;
    }
    e.family(
        "openwmi_samba_sessions",
        Kind::Gauge,
        "SMB sessions open on this server, by dialect, encryption and signing.",
    );
    for ((dialect, enc, sign), n) in &by_kind {
        e.sample(
            "openwmi_samba_sessions",
            &[("dialect", dialect), ("encryption", enc), ("signing", sign)],
            *n as f64,
        );
    }

    let users: BTreeSet<&str> = status
        .sessions
        .iter()
        .map(|s| s.username.as_str())
        .collect();
    e.family(
        "openwmi_samba_users_connected",
        Kind::Gauge,
        "Distinct users with an SMB session.",
    )
    .sample("openwmi_samba_users_connected", &[], users.len() as f64);

    // Every share served gets its series, 0 included, so that a share
    // nobody uses is a value and not a gap.
    let mut tcons: BTreeMap<&str, u64> = shares.iter().map(|s| (s.name.as_str(), 0)).collect();
    for t in &status.tcons {
        *tcons.entry(t.service.as_str()).or_default() += 1;
    }
    e.family(
        "openwmi_samba_tree_connects",
        Kind::Gauge,
        "SMB tree connects (a client connected to a share), per share.",
    );
    for (share, n) in &tcons {
        e.sample(
            "openwmi_samba_tree_connects",
            &[("share", share)],
            *n as f64,
        );
    }

    let mut opens: BTreeMap<&str, u64> = shares.iter().map(|s| (s.name.as_str(), 0)).collect();
    for (file, open) in status.opens() {
        let share = share_of_open(status, shares, file, open);
        *opens.entry(share).or_default() += 1;
    }
    e.family(
        "openwmi_samba_open_files",
        Kind::Gauge,
        "Files held open by SMB clients, per share.",
    );
    for (share, n) in &opens {
        e.sample("openwmi_samba_open_files", &[("share", share)], *n as f64);
    }

    // A lock records its file and smbd process, not the open: it belongs
    // to the share of that process's (first) open of the file; a lock of
    // no open counts under no share.
    let mut locks: BTreeMap<&str, u64> = shares.iter().map(|s| (s.name.as_str(), 0)).collect();
    let mut counted = 0;
    for (file, open) in status.opens() {
        let pid = open.server_id.process();
        let first_of_process = file
            .opens
            .iter()
            .find(|o| o.server_id.process() == pid)
            .is_some_and(|o| std::ptr::eq(o, open));
        if !first_of_process {
            continue;
        }
        let n = status.locks_of(file, open).count() as u64;
        if n > 0 {
            *locks
                .entry(share_of_open(status, shares, file, open))
                .or_default() += n;
            counted += n;
        }
    }
    let unmatched = (status.byte_range_locks.len() as u64).saturating_sub(counted);
    if unmatched > 0 {
        *locks.entry("").or_default() += unmatched;
    }
    e.family(
        "openwmi_samba_byte_range_locks",
        Kind::Gauge,
        "Byte-range locks SMB clients hold, per share.",
    );
    for (share, n) in &locks {
        e.sample(
            "openwmi_samba_byte_range_locks",
            &[("share", share)],
            *n as f64,
        );
    }

    if detail.per_user {
        let mut per_user: BTreeMap<&str, u64> = BTreeMap::new();
        let mut per_client: BTreeMap<String, u64> = BTreeMap::new();
        for s in &status.sessions {
            *per_user.entry(s.username.as_str()).or_default() += 1;
            let client = s
                .address()
                .map(|a| a.address)
                .unwrap_or_else(|| s.remote_machine.clone());
            *per_client.entry(client).or_default() += 1;
        }
        e.family(
            "openwmi_samba_user_sessions",
            Kind::Gauge,
            "SMB sessions per user (per_user_labels).",
        );
        for (user, n) in &per_user {
            e.sample("openwmi_samba_user_sessions", &[("user", user)], *n as f64);
        }
        e.family(
            "openwmi_samba_client_sessions",
            Kind::Gauge,
            "SMB sessions per client address (per_user_labels).",
        );
        for (client, n) in &per_client {
            e.sample(
                "openwmi_samba_client_sessions",
                &[("client", client)],
                *n as f64,
            );
        }
    }
}

/// The share of an open. An open records the share's directory, not its
/// name: the share is the one with that path that the same smbd process
/// has a tree connect to (as Samba's own code matches), else the first
/// with that path.
fn share_of_open<'a>(
    status: &'a Status,
    shares: &'a [Share],
    file: &OpenFile,
    open: &Open,
) -> &'a str {
    let candidates: Vec<&Share> = shares
        .iter()
        .filter(|s| !s.path.is_empty() && same_path(&s.path, &file.service_path))
        .collect();
    let pid = open.server_id.process();
    candidates
        .iter()
        .find(|s| {
            status
                .tcons
                .iter()
                .any(|t| t.server_id.process() == pid && t.service.eq_ignore_ascii_case(&s.name))
        })
        .or(candidates.first())
        .map(|s| s.name.as_str())
        .or_else(|| {
            status
                .tcons
                .iter()
                .find(|t| t.server_id.process() == pid)
                .map(|t| t.service.as_str())
        })
        .unwrap_or("")
}

/// The shares the configuration serves.
pub fn share_families(e: &mut Exposition, shares: &[Share]) {
    e.family(
        "openwmi_samba_shares",
        Kind::Gauge,
        "Shares the Samba configuration serves.",
    )
    .sample("openwmi_samba_shares", &[], shares.len() as f64);
}

/// Network file systems of this machine: mounted (`connected`), or
/// remembered in fstab and not mounted (`remembered`), by type.
pub fn mount_families(e: &mut Exposition, mounts: &[MountEntry], fstab: &[FstabEntry]) {
    let mut counts: BTreeMap<(String, &str), u64> = BTreeMap::new();
    let mut mounted_dirs: Vec<&str> = Vec::new();
    for m in mounts {
        let options = [m.mount_options.as_str(), m.super_options.as_str()];
        if openwmi_mounts::netfs::is_network(&m.fs_type, options) {
            *counts.entry((m.fs_type.clone(), "connected")).or_default() += 1;
            mounted_dirs.push(&m.mount_point);
        }
    }
    for f in fstab {
        let (fs_type, _) = f.effective_type_and_source();
        if openwmi_mounts::netfs::is_network(&fs_type, [f.options.as_str()])
            && !mounted_dirs.iter().any(|d| same_path(d, &f.mount_point))
        {
            *counts.entry((fs_type, "remembered")).or_default() += 1;
        }
    }
    e.family(
        "openwmi_network_connections",
        Kind::Gauge,
        "Network file systems of this machine by type: mounted (connected) or only in fstab (remembered).",
    );
    for ((fs_type, state), n) in &counts {
        e.sample(
            "openwmi_network_connections",
            &[("fs_type", fs_type), ("status", state)],
            *n as f64,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn share(name: &str, path: &str) -> Share {
        Share {
            path: path.into(),
            ..Share::new(name)
        }
    }

    /// A capture of a real smbd: a guest session and an encrypted one.
    #[test]
    fn sessions_by_dialect_encryption_and_signing() {
        let json = include_str!("../../samba/tests/data/smbstatus-json-guest-and-encrypted.json");
        let status = openwmi_samba::smbstatus::parse(json).unwrap();
        let shares = [share("public", "/srv/public"), share("unused", "/srv/u")];
        let mut e = Exposition::new();
        status_families(&mut e, &status, &shares, Detail { per_user: false });
        let text = e.finish();
        for line in [
            "openwmi_samba_sessions{dialect=\"SMB3_11\",encryption=\"none\",signing=\"none\"} 1",
            "openwmi_samba_sessions{dialect=\"SMB3_11\",encryption=\"AES-128-GCM\",signing=\"AES-128-GMAC\"} 1",
            "openwmi_samba_users_connected 2",
            "openwmi_samba_tree_connects{share=\"public\"} 1",
            "openwmi_samba_tree_connects{share=\"private\"} 1",
            "openwmi_samba_tree_connects{share=\"unused\"} 0",
            "openwmi_samba_open_files{share=\"unused\"} 0",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing from\n{text}");
        }
        assert!(!text.contains("user_sessions"), "{text}");
        let mut e = Exposition::new();
        status_families(&mut e, &status, &shares, Detail { per_user: true });
        let text = e.finish();
        assert!(
            text.contains("openwmi_samba_user_sessions{user=\"owtest2\"} 1"),
            "{text}"
        );
    }

    #[test]
    fn byte_range_locks_per_share() {
        let json = include_str!("../../samba/tests/data/smbstatus-4.17-brl.json");
        let status = openwmi_samba::smbstatus::parse(json).unwrap();
        let shares = [
            share("public", "/tmp/ow-smb-1n1qr9fj/shares/public"),
            share("unused", "/srv/u"),
        ];
        let mut e = Exposition::new();
        status_families(&mut e, &status, &shares, Detail { per_user: false });
        let text = e.finish();
        for line in [
            "openwmi_samba_byte_range_locks{share=\"public\"} 2",
            "openwmi_samba_byte_range_locks{share=\"unused\"} 0",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "{line} missing from\n{text}"
            );
        }
    }

    #[test]
    fn network_mounts_by_type_and_status() {
        let mounts = openwmi_mounts::mountinfo::parse(
            "36 25 0:32 / /mnt/a rw - cifs //srv/a rw,addr=10.0.0.1\n\
             37 25 0:33 / /mnt/b rw - nfs4 srv:/b rw,addr=10.0.0.2\n\
             38 25 8:1 / / rw - ext4 /dev/sda1 rw\n",
        )
        .unwrap();
        let fstab = openwmi_mounts::fstab::parse(
            "//srv/a /mnt/a cifs noauto 0 0\n//srv/c /mnt/c cifs noauto 0 0\n",
        )
        .unwrap();
        let mut e = Exposition::new();
        mount_families(&mut e, &mounts, &fstab);
        let text = e.finish();
        for line in [
            "openwmi_network_connections{fs_type=\"cifs\",status=\"connected\"} 1",
            "openwmi_network_connections{fs_type=\"cifs\",status=\"remembered\"} 1",
            "openwmi_network_connections{fs_type=\"nfs4\",status=\"connected\"} 1",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "{line} missing from\n{text}"
            );
        }
        assert!(!text.contains("ext4"), "{text}");
    }
}
