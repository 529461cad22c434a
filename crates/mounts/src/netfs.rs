//! Which file systems are network ones, who provides them, and how their
//! mount sources read as UNC names.

use crate::mountinfo::find_option;

/// The network file system types, as `classes.md` lists them. `9p` is
/// only a network file system over TCP or RDMA (virtio and fd transports are
/// local to a virtual machine), so it is decided by [`is_network`].
pub const NETWORK_TYPES: &[&str] = &[
    "cifs",
    "smb3",
    "smbfs",
    "nfs",
    "nfs4",
    "ceph",
    "afs",
    "glusterfs",
    "lustre",
    "davfs",
    "fuse.sshfs",
    "fuse.rclone",
    "fuse.glusterfs",
    "fuse.ceph-fuse",
    "fuse.s3fs",
    "fuse.gcsfuse",
    "fuse.davfs",
];

/// True for a network file system. `options` are all options of the mount
/// (for mountinfo both the per-mount and the per-superblock ones), needed
/// for 9p's `trans=`.
pub fn is_network<'a>(fs_type: &str, options: impl IntoIterator<Item = &'a str>) -> bool {
    if fs_type == "9p" {
        return options.into_iter().any(|o| {
            matches!(
                find_option(o, "trans"),
                Some(Some("tcp")) | Some(Some("rdma"))
            )
        });
    }
    NETWORK_TYPES.contains(&fs_type)
}

/// The SMB family, whose connections Windows reports under the Microsoft
/// network provider.
pub fn is_smb(fs_type: &str) -> bool {
    matches!(fs_type, "cifs" | "smb3" | "smbfs")
}

/// `ProviderName`: the Windows name for SMB and NFS, else the type itself.
pub fn provider_name(fs_type: &str) -> String {
    if is_smb(fs_type) {
        "Microsoft Windows Network".to_owned()
    } else if matches!(fs_type, "nfs" | "nfs4") {
        "NFS Network".to_owned()
    } else {
        fs_type.to_owned()
    }
}

/// The user a connection was made as: SMB `domain\username` (or `username`,
/// or `user`) from the options, the `user@` of an sshfs source; else `None`.
pub fn user_name<'a>(
    fs_type: &str,
    source: &str,
    options: impl IntoIterator<Item = &'a str> + Clone,
) -> Option<String> {
    let lookup = |key: &str| {
        options
            .clone()
            .into_iter()
            .find_map(|o| find_option(o, key).flatten())
            .filter(|v| !v.is_empty())
    };
    if is_smb(fs_type) {
        // mount.cifs accepts `username=user%password`: never show the password.
        let user = lookup("username").or_else(|| lookup("user"))?;
        let user = user.split_once('%').map_or(user, |(u, _)| u);
        return Some(match lookup("domain").or_else(|| lookup("dom")) {
            Some(d) if !user.contains(['\\', '/']) => format!("{d}\\{user}"),
            _ => user.replace('/', "\\"),
        });
    }
    if fs_type == "fuse.sshfs" {
        let (user, _) = source.split_once('@')?;
        if !user.is_empty() && !user.contains([':', '/']) {
            return Some(user.to_owned());
        }
    }
    None
}

/// The remote resource in UNC form (`\\host\path`):
/// - SMB `//srv/share/dir` gives `\\srv\share\dir`;
/// - `host:/export/dir` (NFS, GlusterFS, Ceph, rclone `remote:path`) gives
///   `\\host\export\dir`, an IPv6 host keeps its brackets (`[::1]:/x` gives
///   `\\[::1]\x`);
/// - sshfs `user@host:/p` gives `\\host\p`;
/// - a URL (`https://host/dav`, WebDAV) gives `\\host\dav`;
/// - anything else (a 9p address, a bucket name) gives `\\` + the source.
pub fn to_unc(fs_type: &str, source: &str) -> String {
    if let Some(rest) = source
        .strip_prefix("//")
        .or_else(|| source.strip_prefix("\\\\"))
    {
        return unc(split_host(rest, '/'));
    }
    if let Some((_, rest)) = source.split_once("://") {
        return unc(split_host(rest, '/'));
    }
    let mut s = source;
    if fs_type == "fuse.sshfs" {
        if let Some((user, rest)) = s.split_once('@') {
            if !user.contains([':', '/']) {
                s = rest;
            }
        }
    }
    unc(split_host(s, ':'))
}

/// Splits `host<sep>path`, skipping a bracketed IPv6 host.
fn split_host(s: &str, sep: char) -> (&str, &str) {
    let search_from = if s.starts_with('[') {
        s.find(']').map_or(0, |i| i + 1)
    } else {
        0
    };
    // "mon1:6789,mon2:6789:/path" (Ceph): the host part ends at ":/".
    let at = if sep == ':' {
        s[search_from..]
            .find(":/")
            .or_else(|| s[search_from..].find(':'))
    } else {
        s[search_from..].find(sep)
    };
    match at {
        Some(i) => (&s[..search_from + i], &s[search_from + i + 1..]),
        None => (s, ""),
    }
}

fn unc((host, path): (&str, &str)) -> String {
    let mut out = String::with_capacity(host.len() + path.len() + 3);
    out.push_str("\\\\");
    out.push_str(host.trim_matches(['/', '\\']));
    for seg in path.split(['/', '\\']).filter(|s| !s.is_empty()) {
        out.push('\\');
        out.push_str(seg);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_matches_the_spec_list() {
        for t in NETWORK_TYPES {
            assert!(is_network(t, ["rw"]), "{t}");
        }
        for t in [
            "ext4",
            "tmpfs",
            "fuse",
            "fuse.portal",
            "overlay",
            "nfsd",
            "cifsx",
        ] {
            assert!(!is_network(t, ["rw"]), "{t}");
        }
    }

    #[test]
    fn nine_p_needs_a_network_transport() {
        assert!(is_network("9p", ["rw", "rw,trans=tcp,port=564"]));
        assert!(is_network("9p", ["trans=rdma"]));
        assert!(!is_network("9p", ["rw,trans=virtio,version=9p2000.L"]));
        assert!(!is_network("9p", ["rw"]));
    }

    #[test]
    fn unc_names() {
        assert_eq!(to_unc("cifs", "//srv/share"), r"\\srv\share");
        assert_eq!(
            to_unc("cifs", "//srv/share/sub/dir/"),
            r"\\srv\share\sub\dir"
        );
        assert_eq!(to_unc("smb3", r"\\srv\share"), r"\\srv\share");
        assert_eq!(to_unc("nfs", "host:/export/dir"), r"\\host\export\dir");
        assert_eq!(to_unc("nfs4", "host:/"), r"\\host");
        assert_eq!(to_unc("nfs", "[::1]:/x"), r"\\[::1]\x");
        assert_eq!(
            to_unc("nfs4", "[fe80::1%eth0]:/srv/a"),
            r"\\[fe80::1%eth0]\srv\a"
        );
        assert_eq!(to_unc("fuse.sshfs", "user@host:/p"), r"\\host\p");
        assert_eq!(to_unc("fuse.sshfs", "host:rel/dir"), r"\\host\rel\dir");
        assert_eq!(
            to_unc("fuse.sshfs", "bob@[::1]:/home/bob"),
            r"\\[::1]\home\bob"
        );
        assert_eq!(
            to_unc("ceph", "10.0.0.1:6789,10.0.0.2:6789:/vol"),
            r"\\10.0.0.1:6789,10.0.0.2:6789\vol"
        );
        assert_eq!(
            to_unc("fuse.rclone", "gdrive:backup/2024"),
            r"\\gdrive\backup\2024"
        );
        assert_eq!(
            to_unc("davfs", "https://dav.example.org/remote.php/webdav"),
            r"\\dav.example.org\remote.php\webdav"
        );
        assert_eq!(to_unc("9p", "10.0.0.2"), r"\\10.0.0.2");
        assert_eq!(to_unc("fuse.gcsfuse", "my-bucket"), r"\\my-bucket");
        assert_eq!(to_unc("cifs", ""), r"\\");
    }

    #[test]
    fn providers() {
        assert_eq!(provider_name("cifs"), "Microsoft Windows Network");
        assert_eq!(provider_name("nfs4"), "NFS Network");
        assert_eq!(provider_name("fuse.sshfs"), "fuse.sshfs");
    }

    #[test]
    fn users() {
        let u = |t, s, o: &[&str]| user_name(t, s, o.iter().copied());
        assert_eq!(
            u("cifs", "//s/x", &["rw", "username=alice,domain=CORP"]).as_deref(),
            Some(r"CORP\alice")
        );
        assert_eq!(
            u("cifs", "//s/x", &["user=bob%secret"]).as_deref(),
            Some("bob")
        );
        assert_eq!(
            u("cifs", "//s/x", &["username=CORP/carol"]).as_deref(),
            Some(r"CORP\carol")
        );
        assert_eq!(u("cifs", "//s/x", &["user,noauto"]), None);
        assert_eq!(u("cifs", "//s/x", &["username="]), None);
        assert_eq!(
            u("fuse.sshfs", "dave@host:/p", &["rw"]).as_deref(),
            Some("dave")
        );
        assert_eq!(u("fuse.sshfs", "host:/p", &["rw"]), None);
        assert_eq!(u("nfs4", "host:/p", &["rw"]), None);
    }
}
