//! The `strNetworkResource` of ConnectServer: which machine and namespace.
//! Pure parsing, no I/O.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

/// The transport a resource asks for explicitly (`https://h/root/cimv2`);
/// WMI forms (`\\h\root\cimv2`) leave it to the connect parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    Http,
    Https,
}

/// A remote machine: a DNS/NetBIOS name, an IPv4 address or an IPv6
/// address (`name` holds it without brackets).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteHost {
    pub name: String,
    pub port: Option<u16>,
    pub scheme: Option<Scheme>,
}

impl RemoteHost {
    /// `name` as it goes into a URL or a `Host:` header: IPv6 in brackets.
    pub fn url_host(&self) -> String {
        if self.name.contains(':') {
            format!("[{}]", self.name)
        } else {
            self.name.clone()
        }
    }
}

impl fmt::Display for RemoteHost {
    /// `host`, `host:port`, `[::1]:5988`, `::1`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.port {
            Some(p) => write!(f, "{}:{p}", self.url_host()),
            None => f.write_str(&self.url_host()),
        }
    }
}

/// A parsed resource: `host` is `None` for this machine (in-process).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resource {
    pub host: Option<RemoteHost>,
    /// `root/cimv2` form (segments as given, `/`-separated).
    pub namespace: String,
}

/// Why a resource does not parse: the byte offset in the input and a reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceError {
    pub offset: usize,
    pub message: String,
}

impl fmt::Display for ResourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at byte {}: {}", self.offset, self.message)
    }
}

impl std::error::Error for ResourceError {}

fn err(offset: usize, message: impl Into<String>) -> ResourceError {
    ResourceError {
        offset,
        message: message.into(),
    }
}

const MAX_LEN: usize = 4096;

impl Resource {
    /// Parses `root\cimv2`, `\\.\root\cimv2`, `//./root/cimv2` (local),
    /// `\\HOST\root\cimv2`, `//HOST:5988/root/cimv2`, `\\[::1]:5989\root`,
    /// `\\::1\root\cimv2` (bare IPv6, no port), `https://HOST:5989/root/cimv2`.
    /// This machine (an in-process connection, as on Windows) is `.`,
    /// `localhost` and the loopback addresses when no port and no scheme is
    /// given: a port or a URL names a network endpoint (an `openwmi serve` on
    /// this machine, say). The machine's own names are added by
    /// [`Resource::localize`].
    pub fn parse(s: &str) -> Result<Resource, ResourceError> {
        if s.is_empty() {
            return Err(err(0, "empty resource"));
        }
        if s.len() > MAX_LEN {
            return Err(err(MAX_LEN, "resource longer than 4096 bytes"));
        }
        let lower = s.get(..8).unwrap_or(s).to_ascii_lowercase();
        let (scheme, start) = if lower.starts_with("https://") {
            (Some(Scheme::Https), 8)
        } else if lower.starts_with("http://") {
            (Some(Scheme::Http), 7)
        } else if s.starts_with("\\\\") || s.starts_with("//") {
            (None, 2)
        } else {
            return Ok(Resource {
                host: None,
                namespace: parse_namespace(s, 0)?,
            });
        };
        let rest = &s[start..];
        let sep = rest.find(['\\', '/']).ok_or_else(|| {
            err(
                s.len(),
                "expected a namespace after the host (e.g. \\root\\cimv2)",
            )
        })?;
        let host_text = &rest[..sep];
        let namespace = parse_namespace(&rest[sep + 1..], start + sep + 1)?;
        let host = parse_host(host_text, start)?;
        let host = match host {
            None if scheme.is_some() => {
                return Err(err(start, "`.` (this machine) cannot be given as a URL"))
            }
            None => None,
            Some(h) if scheme.is_none() && h.port.is_none() && is_loopback_name(&h.name) => None,
            Some(mut h) => {
                h.scheme = scheme;
                Some(h)
            }
        };
        Ok(Resource { host, namespace })
    }

    pub fn is_local(&self) -> bool {
        self.host.is_none()
    }

    /// The resource with its host dropped when the host is one of `names`
    /// (this machine's names, compared without regard to case) and neither
    /// a port nor a scheme was given: a local connection.
    pub fn localize<S: AsRef<str>>(mut self, names: &[S]) -> Resource {
        if let Some(h) = &self.host {
            if h.port.is_none()
                && h.scheme.is_none()
                && names
                    .iter()
                    .any(|n| n.as_ref().eq_ignore_ascii_case(&h.name))
            {
                self.host = None;
            }
        }
        self
    }
}

impl fmt::Display for Resource {
    /// The WMI form: `\\HOST\root\cimv2` (`\\.\root\cimv2` for this machine);
    /// the URL form when the resource named a scheme.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ns = self.namespace.replace('/', "\\");
        match &self.host {
            None => write!(f, "\\\\.\\{ns}"),
            Some(h) => match h.scheme {
                Some(Scheme::Http) => write!(f, "http://{h}/{}", self.namespace),
                Some(Scheme::Https) => write!(f, "https://{h}/{}", self.namespace),
                None => write!(f, "\\\\{h}\\{ns}"),
            },
        }
    }
}

fn parse_namespace(s: &str, base: usize) -> Result<String, ResourceError> {
    if s.is_empty() {
        return Err(err(base, "empty namespace"));
    }
    let mut out = String::with_capacity(s.len());
    let mut seg_start = 0;
    for (i, c) in s.char_indices().chain(std::iter::once((s.len(), '/'))) {
        if c == '/' || c == '\\' {
            if i == seg_start {
                return Err(err(base + i, "empty namespace segment"));
            }
            if !out.is_empty() {
                out.push('/');
            }
            out.push_str(&s[seg_start..i]);
            seg_start = i + c.len_utf8();
        } else if !(c.is_ascii_alphanumeric() || c == '_') {
            return Err(err(
                base + i,
                format!("`{c}` is not allowed in a namespace name"),
            ));
        }
    }
    Ok(out)
}

/// `None` for `.`, the local machine.
fn parse_host(h: &str, base: usize) -> Result<Option<RemoteHost>, ResourceError> {
    if h == "." {
        return Ok(None);
    }
    if h.is_empty() {
        return Err(err(base, "empty host name"));
    }
    let (name, port_text) = if let Some(inner) = h.strip_prefix('[') {
        let close = inner
            .find(']')
            .ok_or_else(|| err(base, "`[` without `]` around an IPv6 address"))?;
        let addr = &inner[..close];
        if addr.parse::<Ipv6Addr>().is_err() {
            return Err(err(base + 1, format!("`{addr}` is not an IPv6 address")));
        }
        let after = &inner[close + 1..];
        let port = match after.strip_prefix(':') {
            Some(p) => Some((p, base + close + 3)),
            None if after.is_empty() => None,
            None => return Err(err(base + close + 2, "expected `:port` after `]`")),
        };
        (addr.to_owned(), port)
    } else if h.matches(':').count() > 1 {
        if h.parse::<Ipv6Addr>().is_err() {
            return Err(err(base, format!("`{h}` is not an IPv6 address")));
        }
        (h.to_owned(), None)
    } else {
        let (name, port) = match h.split_once(':') {
            Some((n, p)) => (n, Some((p, base + n.len() + 1))),
            None => (h, None),
        };
        check_name(name, base)?;
        (name.to_owned(), port)
    };
    let port = match port_text {
        None => None,
        Some((p, at)) => match p.parse::<u16>() {
            Ok(n) if n > 0 && p.bytes().all(|b| b.is_ascii_digit()) => Some(n),
            _ => return Err(err(at, format!("`{p}` is not a port number (1-65535)"))),
        },
    };
    Ok(Some(RemoteHost {
        name,
        port,
        scheme: None,
    }))
}

/// `localhost` and the loopback addresses: this machine whatever its names.
fn is_loopback_name(name: &str) -> bool {
    name.eq_ignore_ascii_case("localhost")
        || name.parse::<Ipv4Addr>().is_ok_and(|a| a.is_loopback())
        || name.parse::<Ipv6Addr>().is_ok_and(|a| a.is_loopback())
}

fn check_name(name: &str, base: usize) -> Result<(), ResourceError> {
    if name.is_empty() {
        return Err(err(base, "empty host name"));
    }
    if name.len() > 253 {
        return Err(err(base, "host name longer than 253 bytes"));
    }
    if name.parse::<Ipv4Addr>().is_ok() {
        return Ok(());
    }
    for (i, c) in name.char_indices() {
        if !(c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.') {
            return Err(err(
                base + i,
                format!("`{c}` is not allowed in a host name"),
            ));
        }
    }
    if name.starts_with(['.', '-']) || name.contains("..") {
        return Err(err(base, format!("`{name}` is not a host name")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn remote(s: &str) -> RemoteHost {
        Resource::parse(s).unwrap().host.unwrap()
    }

    #[test]
    fn local_forms() {
        for s in [
            "root\\cimv2",
            "root/cimv2",
            "\\\\.\\root\\cimv2",
            "//./root/cimv2",
        ] {
            let r = Resource::parse(s).unwrap();
            assert!(r.is_local(), "{s}");
            assert_eq!(r.namespace, "root/cimv2");
        }
    }

    #[test]
    fn remote_forms() {
        let h = remote("\\\\server\\root\\cimv2");
        assert_eq!((h.name.as_str(), h.port), ("server", None));
        let h = remote("//srv.example.com:5988/root/cimv2");
        assert_eq!((h.name.as_str(), h.port), ("srv.example.com", Some(5988)));
        assert_eq!(remote("\\\\10.0.0.5\\root").name, "10.0.0.5");
        let h = remote("\\\\[::1]:5989\\root\\cimv2");
        assert_eq!((h.name.as_str(), h.port), ("::1", Some(5989)));
        assert_eq!(h.to_string(), "[::1]:5989");
        assert_eq!(remote("\\\\fe80::1\\root\\cimv2").name, "fe80::1");
        assert_eq!(remote("\\\\[fe80::1]\\root").port, None);
        let h = remote("https://h:1234/root/cimv2");
        assert_eq!((h.scheme, h.port), (Some(Scheme::Https), Some(1234)));
        assert_eq!(remote("HTTP://h/root").scheme, Some(Scheme::Http));
    }

    #[test]
    fn bad_forms() {
        for s in [
            "",
            "\\\\",
            "\\\\host",
            "\\\\host\\",
            "\\\\\\root",
            "\\\\host\\root\\\\cimv2",
            "\\\\host\\root\\cim v2",
            "\\\\ho st\\root",
            "\\\\host:0\\root",
            "\\\\host:99999\\root",
            "\\\\host:+80\\root",
            "\\\\host:\\root",
            "\\\\[::1\\root",
            "\\\\[nothex]\\root",
            "\\\\[::1]x\\root",
            "\\\\1:2:3\\root",
            "\\\\-h\\root",
            "\\\\a..b\\root",
            "root\\",
            "root\\\\cimv2",
            "https://./root",
            "root:cimv2",
        ] {
            assert!(Resource::parse(s).is_err(), "{s:?} should not parse");
        }
        let e = Resource::parse("\\\\host\\root\\ci*").unwrap_err();
        assert_eq!(e.offset, 14);
    }

    #[test]
    fn display_reparses() {
        for s in [
            "root\\cimv2",
            "\\\\h:7\\root\\cimv2",
            "\\\\[::1]:5988\\root",
            "\\\\::1\\root",
        ] {
            let r = Resource::parse(s).unwrap();
            assert_eq!(Resource::parse(&r.to_string()).unwrap(), r);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn never_panics_and_round_trips(s in "[\\\\/.:\\[\\]a-z0-9_]{0,24}") {
            if let Ok(r) = Resource::parse(&s) {
                let again = Resource::parse(&r.to_string()).unwrap();
                prop_assert_eq!(again, r);
            }
        }
    }
}
