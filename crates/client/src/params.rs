//! The parameters of ConnectServer and their validation (pure, no I/O).

use crate::error::WbemError;
use crate::resource::Resource;
use openwmi_cim::{Value, WbemStatus};
use std::path::PathBuf;
use std::time::Duration;

/// `WBEM_FLAG_CONNECT_USE_MAX_WAIT`: give up connecting within 2 minutes.
pub const WBEM_FLAG_CONNECT_USE_MAX_WAIT: u32 = 0x80;
/// `WBEM_FLAG_CONNECT_REPOSITORY_ONLY`: reserved; refused with WBEM_E_INVALID_PARAMETER.
pub const WBEM_FLAG_CONNECT_REPOSITORY_ONLY: u32 = 0x40;
/// The bound of [`WBEM_FLAG_CONNECT_USE_MAX_WAIT`] unless [`ConnectParams::max_wait`] says otherwise.
pub const DEFAULT_MAX_WAIT: Duration = Duration::from_secs(120);
/// Default ports (DSP0200): CIM-XML over HTTPS and over HTTP.
pub const DEFAULT_HTTPS_PORT: u16 = 5989;
pub const DEFAULT_HTTP_PORT: u16 = 5988;

/// RPC_C_IMP_LEVEL_*: kept on the handle; HTTP Basic has nothing to map them to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ImpersonationLevel {
    #[default]
    Default = 0,
    Anonymous = 1,
    Identify = 2,
    Impersonate = 3,
    Delegate = 4,
}

/// RPC_C_AUTHN_LEVEL_*. [`AuthenticationLevel::PacketPrivacy`] asks for an
/// encrypted transport: a remote connection over plain HTTP with it is
/// refused with WBEM_E_INVALID_PARAMETER (the caller asked for something
/// the chosen transport cannot give; nothing was sent).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum AuthenticationLevel {
    #[default]
    Default = 0,
    None = 1,
    Connect = 2,
    Call = 3,
    Packet = 4,
    PacketIntegrity = 5,
    PacketPrivacy = 6,
}

impl ImpersonationLevel {
    /// From the DWORD of the C API; unknown values are WBEM_E_INVALID_PARAMETER.
    pub fn from_u32(v: u32) -> Result<Self, WbemError> {
        use ImpersonationLevel::*;
        [Default, Anonymous, Identify, Impersonate, Delegate]
            .get(v as usize)
            .copied()
            .ok_or_else(|| WbemError::invalid_parameter(format!("impersonation level {v}")))
    }
}

impl AuthenticationLevel {
    /// From the DWORD of the C API; unknown values are WBEM_E_INVALID_PARAMETER.
    pub fn from_u32(v: u32) -> Result<Self, WbemError> {
        use AuthenticationLevel::*;
        [
            Default,
            None,
            Connect,
            Call,
            Packet,
            PacketIntegrity,
            PacketPrivacy,
        ]
        .get(v as usize)
        .copied()
        .ok_or_else(|| WbemError::invalid_parameter(format!("authentication level {v}")))
    }
}

/// Everything ConnectServer takes, plus the transport options of CIM-XML.
/// `None` is the C API's NULL.
#[derive(Clone, Debug, Default)]
pub struct ConnectParams {
    /// `strNetworkResource`, see [`Resource::parse`].
    pub resource: String,
    /// `strUser`: `user`, `DOMAIN\user` or `user@domain`. NULL is the current
    /// security context; `""` is WBEM_E_INVALID_PARAMETER.
    pub user: Option<String>,
    /// `strPassword`: NULL is the current security context, `""` an empty
    /// password. Over HTTP Basic there is no current context to forward: a
    /// NULL password sends no credentials at all (a server that requires
    /// them answers 401, WBEM_E_ACCESS_DENIED).
    pub password: Option<String>,
    /// `strLocale`: NULL or `""` (the default), or `MS_xxx` (hexadecimal
    /// LCID; the prefix in any case).
    pub locale: Option<String>,
    /// `lSecurityFlags`: 0 or [`WBEM_FLAG_CONNECT_USE_MAX_WAIT`].
    pub security_flags: u32,
    /// `strAuthority`: blank, `Kerberos:PRINCIPAL` or `NTLMDOMAIN:DOMAIN`.
    pub authority: Option<String>,
    /// `pCtx`: named values sent with every request of the handle (see
    /// [`crate::CONTEXT_HEADER`]) and given to providers in-process.
    pub context: Vec<(String, Value)>,
    pub impersonation_level: ImpersonationLevel,
    pub authentication_level: AuthenticationLevel,
    /// Plain HTTP instead of HTTPS (when the resource names no scheme).
    pub http: bool,
    /// The port when the resource names none (default 5989, or 5988 with `http`).
    pub port: Option<u16>,
    /// A PEM file of certificates to trust besides the system store.
    pub ca_cert: Option<PathBuf>,
    /// Do not verify the server's certificate (nor its name).
    pub insecure: bool,
    /// The bound of [`WBEM_FLAG_CONNECT_USE_MAX_WAIT`] (default 2 minutes).
    pub max_wait: Option<Duration>,
    /// The remote protocol; `None` chooses from the resource: WS-Management
    /// for a URL whose path is `/wsman` (`https://host:5986/wsman`), else CIM-XML.
    pub protocol: Option<crate::wsman::Protocol>,
}

impl ConnectParams {
    /// Parameters for `resource` with every other parameter NULL / 0.
    pub fn new(resource: impl Into<String>) -> Self {
        ConnectParams {
            resource: resource.into(),
            ..Default::default()
        }
    }

    /// How long ConnectServer may take: `None` (flags 0) is unbounded.
    pub fn connect_bound(&self) -> Option<Duration> {
        (self.security_flags & WBEM_FLAG_CONNECT_USE_MAX_WAIT != 0)
            .then(|| self.max_wait.unwrap_or(DEFAULT_MAX_WAIT))
    }
}

/// The authentication package `strAuthority` asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Authority {
    Blank,
    Kerberos(String),
    NtlmDomain(String),
}

/// The parameters after the checks that need no network.
#[derive(Clone, Debug)]
pub(crate) struct Checked {
    pub resource: Resource,
    /// The user name as sent in HTTP Basic (`DOMAIN\user` when the domain
    /// came from `NTLMDOMAIN:`).
    pub login: Option<String>,
    /// `strLocale` as the handle keeps it: `None` for the default (NULL or
    /// `""`), else `MS_` and the hexadecimal LCID as given.
    pub locale: Option<String>,
}

/// The checks of the ConnectServer table that need no network, in order:
/// resource, flags, user, authority (and the domain given twice), locale,
/// levels (packet privacy needs TLS), then credentials on a local connection.
/// `this_machine` are the names that make a resource local (see
/// [`Resource::localize`]).
pub(crate) fn check<S: AsRef<str>>(
    p: &ConnectParams,
    this_machine: &[S],
) -> Result<Checked, WbemError> {
    let resource = Resource::parse(&p.resource)
        .map_err(|e| WbemError::invalid_parameter(format!("resource `{}`: {e}", p.resource)))?
        .localize(this_machine);
    let known = WBEM_FLAG_CONNECT_USE_MAX_WAIT;
    if p.security_flags & WBEM_FLAG_CONNECT_REPOSITORY_ONLY != 0 {
        return Err(WbemError::invalid_parameter(
            "security flag 0x40 (WBEM_FLAG_CONNECT_REPOSITORY_ONLY) is reserved",
        ));
    }
    if p.security_flags & !known != 0 {
        return Err(WbemError::invalid_parameter(format!(
            "unknown security flags 0x{:X}",
            p.security_flags & !known
        )));
    }
    if let Some(u) = &p.user {
        check_user(u)?;
    }
    let authority = parse_authority(p.authority.as_deref())?;
    // As Windows: only `DOMAIN\user` with a non-empty `NTLMDOMAIN:` domain
    // names the domain twice. A UPN carries its own domain and Kerberos
    // takes the domain from the user name.
    let user_has_domain = p.user.as_deref().is_some_and(|u| u.contains('\\'));
    if user_has_domain && matches!(&authority, Authority::NtlmDomain(d) if !d.is_empty()) {
        return Err(WbemError::invalid_parameter(
            "the domain is given twice: in the user name and in the authority",
        ));
    }
    let locale = match &p.locale {
        Some(l) => check_locale(l)?,
        None => None,
    };
    let tls = match resource.host.as_ref().and_then(|h| h.scheme) {
        Some(s) => s == crate::resource::Scheme::Https,
        None => !p.http,
    };
    if resource.host.is_some()
        && !tls
        && p.authentication_level == AuthenticationLevel::PacketPrivacy
    {
        return Err(WbemError::invalid_parameter(
            "authentication level packet privacy needs an encrypted transport (HTTPS), not plain HTTP",
        ));
    }
    // An authority alone names no one: it is not credentials (Windows).
    if resource.is_local() && (p.user.is_some() || p.password.is_some()) {
        return Err(WbemError::new(
            WbemStatus::LocalCredentials,
            "user credentials cannot be used for local connections",
        ));
    }
    let login = match (&p.user, &authority) {
        (Some(u), Authority::NtlmDomain(d)) if !d.is_empty() && !u.contains('@') => {
            Some(format!("{d}\\{u}"))
        }
        (Some(u), _) => Some(u.clone()),
        (None, _) if p.password.is_some() => Some(current_user()),
        (None, _) => None,
    };
    Ok(Checked {
        resource,
        login,
        locale,
    })
}

fn check_user(u: &str) -> Result<(), WbemError> {
    if u.is_empty() {
        return Err(WbemError::invalid_parameter(
            "the user name is the empty string (NULL means the current user)",
        ));
    }
    if u.chars().any(|c| c.is_control() || c == ':') {
        return Err(WbemError::invalid_parameter(
            "the user name holds a control character or `:`",
        ));
    }
    let bad_part = |s: &str| s.is_empty();
    if let Some((d, n)) = u.split_once('\\') {
        if bad_part(d) || bad_part(n) || n.contains('\\') || u.contains('@') {
            return Err(WbemError::invalid_parameter(format!(
                "`{u}` is not DOMAIN\\user"
            )));
        }
    } else if let Some((n, d)) = u.split_once('@') {
        if bad_part(d) || bad_part(n) || d.contains('@') {
            return Err(WbemError::invalid_parameter(format!(
                "`{u}` is not user@domain"
            )));
        }
    }
    Ok(())
}

/// `strAuthority`: NULL or blank, `Kerberos:PRINCIPAL`, `NTLMDOMAIN:DOMAIN`
/// (prefixes case-insensitive, as Windows compares them).
pub fn parse_authority(a: Option<&str>) -> Result<Authority, WbemError> {
    let a = match a {
        None => return Ok(Authority::Blank),
        Some(a) if a.trim().is_empty() => return Ok(Authority::Blank),
        Some(a) => a,
    };
    let prefixed = |p: &str| {
        a.get(..p.len())
            .filter(|h| h.eq_ignore_ascii_case(p))
            .map(|_| a[p.len()..].to_owned())
    };
    if let Some(rest) = prefixed("Kerberos:") {
        return Ok(Authority::Kerberos(rest));
    }
    if let Some(rest) = prefixed("NTLMDOMAIN:") {
        return Ok(Authority::NtlmDomain(rest));
    }
    Err(WbemError::invalid_parameter(format!(
        "authority `{a}`: expected blank, Kerberos:PRINCIPAL or NTLMDOMAIN:DOMAIN"
    )))
}

/// `MS_` (in any case, as Windows compares it) and 1 to 8 hexadecimal
/// digits; `""` is the default locale, like NULL.
fn check_locale(l: &str) -> Result<Option<String>, WbemError> {
    if l.is_empty() {
        return Ok(None);
    }
    let lcid = l
        .get(..3)
        .filter(|p| p.eq_ignore_ascii_case("MS_"))
        .map(|_| &l[3..])
        .filter(|h| (1..=8).contains(&h.len()) && h.bytes().all(|b| b.is_ascii_hexdigit()));
    match lcid {
        Some(h) => Ok(Some(format!("MS_{h}"))),
        None => Err(WbemError::invalid_parameter(format!(
            "locale `{l}`: expected MS_ and a hexadecimal LCID, e.g. MS_409"
        ))),
    }
}

/// The login name of this process, for a password given without a user.
fn current_user() -> String {
    ["USER", "LOGNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "root".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(p: &ConnectParams) -> WbemStatus {
        match check(p, &["thishost"]) {
            Ok(_) => WbemStatus::NoError,
            Err(e) => e.status,
        }
    }
    const NONE: &[&str] = &[];
    fn remote() -> ConnectParams {
        ConnectParams::new("\\\\h\\root\\cimv2")
    }

    #[test]
    fn table_rows_without_network() {
        use WbemStatus as W;
        assert_eq!(status(&ConnectParams::new("root\\cimv2")), W::NoError);
        assert_eq!(status(&ConnectParams::new("\\\\h\\")), W::InvalidParameter);
        let mut p = remote();
        p.user = Some(String::new());
        assert_eq!(status(&p), W::InvalidParameter);
        for (u, a, want) in [
            ("D\\u", "NTLMDOMAIN:x", W::InvalidParameter),
            ("u@d", "Kerberos:x", W::NoError),
            ("D\\u", "", W::NoError),
            ("u", "NTLMDOMAIN:D", W::NoError),
            ("u", "kerberos:p@R", W::NoError),
            ("u", "Basic:x", W::InvalidParameter),
            ("u", "NTLMDOMAIN", W::InvalidParameter),
        ] {
            let mut p = remote();
            p.user = Some(u.into());
            p.authority = Some(a.into());
            assert_eq!(status(&p), want, "{u} {a}");
        }
        for (l, want) in [
            ("MS_409", W::NoError),
            ("MS_0409abcd", W::NoError),
            ("MS_", W::InvalidParameter),
            ("MS_40g", W::InvalidParameter),
            ("en-US", W::InvalidParameter),
            ("ms_409", W::NoError),
        ] {
            let mut p = remote();
            p.locale = Some(l.into());
            assert_eq!(status(&p), want, "{l}");
        }
        for (f, want) in [
            (0, W::NoError),
            (0x80, W::NoError),
            (0x40, W::InvalidParameter),
            (0xC0, W::InvalidParameter),
            (0x1, W::InvalidParameter),
        ] {
            let mut p = remote();
            p.security_flags = f;
            assert_eq!(status(&p), want, "{f:x}");
        }
        for set in [0, 1] {
            let mut p = ConnectParams::new("\\\\.\\root\\cimv2");
            match set {
                0 => p.user = Some("u".into()),
                _ => p.password = Some(String::new()),
            }
            assert_eq!(status(&p), W::LocalCredentials);
        }
        let mut p = remote();
        p.http = true;
        p.authentication_level = AuthenticationLevel::PacketPrivacy;
        assert_eq!(status(&p), W::InvalidParameter);
        p.http = false;
        assert_eq!(status(&p), W::NoError);
    }

    #[test]
    fn login_names() {
        let mut p = remote();
        p.user = Some("u".into());
        p.authority = Some("NTLMDOMAIN:D".into());
        assert_eq!(check(&p, NONE).unwrap().login.as_deref(), Some("D\\u"));
        assert!(check(&remote(), NONE).unwrap().login.is_none());
        assert!(AuthenticationLevel::from_u32(7).is_err());
        assert_eq!(
            ImpersonationLevel::from_u32(3).unwrap(),
            ImpersonationLevel::Impersonate
        );
    }

    #[test]
    fn locale_empty_means_default_and_ms_prefix_in_any_case() {
        use WbemStatus as W;
        for (l, want, kept) in [
            ("", W::NoError, None),
            ("ms_409", W::NoError, Some("MS_409")),
            ("Ms_0407", W::NoError, Some("MS_0407")),
            ("MS_409", W::NoError, Some("MS_409")),
            ("mS_", W::InvalidParameter, None),
            ("ms409", W::InvalidParameter, None),
            (" ", W::InvalidParameter, None),
        ] {
            let mut p = remote();
            p.locale = Some(l.into());
            assert_eq!(status(&p), want, "{l:?}");
            if want == W::NoError {
                assert_eq!(check(&p, NONE).unwrap().locale.as_deref(), kept, "{l:?}");
            }
        }
        assert_eq!(check(&remote(), NONE).unwrap().locale, None);
    }

    #[test]
    fn domain_given_twice_only_as_windows_rejects_it() {
        use WbemStatus as W;
        for (u, a, want, login) in [
            // The one conflict: DOMAIN\user and a non-empty NTLMDOMAIN: domain.
            ("D\\u", "NTLMDOMAIN:E", W::InvalidParameter, None),
            ("D\\u", "ntlmdomain:D", W::InvalidParameter, None),
            ("D\\u", "NTLMDOMAIN:", W::NoError, Some("D\\u")),
            ("D\\u", "Kerberos:x", W::NoError, Some("D\\u")),
            ("u@d", "NTLMDOMAIN:D", W::NoError, Some("u@d")),
            ("u@d", "Kerberos:host/srv@D", W::NoError, Some("u@d")),
            ("u", "NTLMDOMAIN:", W::NoError, Some("u")),
            ("u", "NTLMDOMAIN:D", W::NoError, Some("D\\u")),
        ] {
            let mut p = remote();
            p.user = Some(u.into());
            p.authority = Some(a.into());
            assert_eq!(status(&p), want, "{u} {a}");
            if want == W::NoError {
                assert_eq!(check(&p, NONE).unwrap().login.as_deref(), login, "{u} {a}");
            }
        }
    }

    #[test]
    fn localhost_and_own_name_are_local_connections() {
        use WbemStatus as W;
        for r in [
            "\\\\localhost\\root\\cimv2",
            "//LOCALHOST/root/cimv2",
            "\\\\127.0.0.1\\root\\cimv2",
            "\\\\[::1]\\root\\cimv2",
            "\\\\thishost\\root\\cimv2",
            "\\\\ThisHost\\root\\cimv2",
        ] {
            let p = ConnectParams::new(r);
            assert!(check(&p, &["thishost"]).unwrap().resource.is_local(), "{r}");
            let mut p = ConnectParams::new(r);
            p.user = Some("alice".into());
            assert_eq!(status(&p), W::LocalCredentials, "{r}");
        }
        // A port or a scheme names a network endpoint on this machine.
        for r in [
            "\\\\localhost:5988\\root\\cimv2",
            "https://localhost/root/cimv2",
            "\\\\thishost:5989\\root",
            "\\\\otherhost\\root\\cimv2",
            "\\\\thishost.example.com\\root",
        ] {
            let p = ConnectParams::new(r);
            assert!(
                !check(&p, &["thishost"]).unwrap().resource.is_local(),
                "{r}"
            );
        }
    }

    #[test]
    fn authority_alone_is_not_local_credentials() {
        for a in ["NTLMDOMAIN:D", "Kerberos:x", ""] {
            let mut p = ConnectParams::new("\\\\localhost\\root\\cimv2");
            p.authority = Some(a.into());
            assert_eq!(status(&p), WbemStatus::NoError, "{a}");
        }
        // A bad authority is still a bad parameter.
        let mut p = ConnectParams::new("root\\cimv2");
        p.authority = Some("Basic:x".into());
        assert_eq!(status(&p), WbemStatus::InvalidParameter);
    }

    #[test]
    fn bound() {
        let mut p = remote();
        assert_eq!(p.connect_bound(), None);
        p.security_flags = WBEM_FLAG_CONNECT_USE_MAX_WAIT;
        assert_eq!(p.connect_bound(), Some(DEFAULT_MAX_WAIT));
        p.max_wait = Some(Duration::from_secs(1));
        assert_eq!(p.connect_bound(), Some(Duration::from_secs(1)));
    }
}
