//! ConnectServer for openwmi: connect to a WMI namespace on this machine
//! (in-process) or on another one running `openwmi serve` (CIM-XML over
//! HTTPS or HTTP), and read from it through a [`Services`] handle with the
//! calls of IWbemServices: [`Services::exec_query`], [`Services::get_object`],
//! [`Services::create_instance_enum`], [`Services::create_class_enum`] and the
//! association queries. Local and remote handles return the same types.
//!
//! [`Locator::connect_server`] follows the ConnectServer table of
//! `spec/classes.md` (the HRESULT is [`WbemError::status`]):
//!
//! | input | result |
//! | --- | --- |
//! | `root\cimv2`, `\\.\root\cimv2`, `//./root/cimv2`; `localhost`, `127.0.0.1`, `::1` or this machine's host name (or its first label) as the host, without a port or a scheme | in-process connection (a port or `https://` names a network endpoint, even on this machine) |
//! | `\\host\ns`, `//host:port/ns`, `\\10.0.0.5\ns`, `\\[::1]:5988\ns`, `\\::1\ns`, `https://host/ns` | remote connection; port 5989 (HTTPS) or 5988 (`http`) unless given |
//! | resource that does not parse | WBEM_E_INVALID_PARAMETER |
//! | namespace that does not exist | WBEM_E_INVALID_NAMESPACE (ConnectServer asks the server: EnumerateClassNames) |
//! | user `""`; `DOMAIN\user` with a non-empty `NTLMDOMAIN:` domain; other authority; locale not NULL, `""` nor `MS_<hex>` (prefix in any case); flag 0x40 or unknown flags; packet privacy over plain HTTP | WBEM_E_INVALID_PARAMETER |
//! | user or password on a local connection (an authority alone is no credentials) | WBEM_E_LOCAL_CREDENTIALS |
//! | flags 0 | no bound on the wait; [`WBEM_FLAG_CONNECT_USE_MAX_WAIT`] (0x80): everything ConnectServer does (resolve excepted) within [`ConnectParams::max_wait`], default 2 minutes |
//! | 401 (bad credentials), 403, 429 (login rate limit) | WBEM_E_ACCESS_DENIED |
//! | connection refused, unreachable, timeout, TLS failure (untrusted certificate), HTTP status other than 200 | WBEM_E_TRANSPORT_FAILURE |
//! | a response over the bounds the client reads and decodes within (its body size; `openwmi_cimxml::Limits`: elements, text and attribute lengths, nesting), on ConnectServer or any later call | WBEM_E_OUT_OF_MEMORY |
//! | a response that is not CIM-XML, anything else | WBEM_E_FAILED |
//!
//! WS-Management instead of CIM-XML ([`wsman`]): a resource URL whose path
//! is `/wsman` (`https://host:5986/wsman`, the namespace after `/wsman/`,
//! default `root/cimv2`), or [`ConnectParams::protocol`] set to
//! [`Protocol::WsMan`] (ports 5986, or 5985 over HTTP). ConnectServer sends
//! an Identify with the credentials (a 401 is WBEM_E_ACCESS_DENIED, no
//! answer WBEM_E_TRANSPORT_FAILURE); the namespace is first used, and so
//! checked, by the first call. A SOAP fault is the WMI code it carries, else
//! the WBEM code nearest its WS-Management subcode (see `wsman::fault`).
//!
//! Credentials travel as HTTP Basic (so use HTTPS). A NULL password means
//! "the current security context", which HTTP Basic cannot forward: no
//! `Authorization` header is sent, and a server that wants one answers
//! WBEM_E_ACCESS_DENIED. A password without a user logs in as `$USER`.
//! `NTLMDOMAIN:D` with user `u` logs in as `D\u` (a `u@d` user keeps its
//! own domain); `Kerberos:` is accepted and ignored (Basic is the only
//! mechanism). The context values travel in
//! the [`CONTEXT_HEADER`] header of every request and reach local providers
//! in [`openwmi_cimom::OperationContext::values`]. The impersonation level
//! and the locale are kept on the handle.
//!
//! ```
//! use openwmi_client::{ConnectParams, Locator, WbemObject};
//! use openwmi_cim::WbemStatus;
//! use openwmi_cimom::{bundled::bundled_repository, ObjectManagerBuilder};
//!
//! let om = ObjectManagerBuilder::new(bundled_repository().unwrap(), "HOST").build();
//! let locator = Locator::with_local(om);
//!
//! let services = locator.connect_server(&ConnectParams::new(r"\\.\root\cimv2")).unwrap();
//! let names = services.class_names(None, true).unwrap();
//! assert!(names.iter().any(|n| n.as_str() == "Win32_Share"));
//! match services.get_object("Win32_Share").unwrap() {
//!     WbemObject::Class(c) => assert_eq!(c.name.as_str(), "Win32_Share"),
//!     other => panic!("{other:?}"),
//! }
//!
//! // Every failure is a WBEM code, and no handle.
//! let mut p = ConnectParams::new(r"root\cimv2");
//! p.user = Some("alice".into());
//! let e = locator.connect_server(&p).unwrap_err();
//! assert_eq!(e.status, WbemStatus::LocalCredentials);
//! let e = locator.connect_server(&ConnectParams::new(r"root\nosuch")).unwrap_err();
//! assert_eq!(e.status, WbemStatus::InvalidNamespace);
//! let e = locator.connect_server(&ConnectParams::new(r"\\host\")).unwrap_err();
//! assert_eq!(e.to_string().split(':').next(), Some("WBEM_E_INVALID_PARAMETER (0x80041008)"));
//! ```

mod error;
pub mod export;
mod http;
mod invoke;
mod params;
mod resource;
mod services;
mod write;
pub mod wsman;

pub use error::WbemError;
pub use invoke::MethodOutput;
pub use params::{
    parse_authority, AuthenticationLevel, Authority, ConnectParams, ImpersonationLevel,
    DEFAULT_HTTPS_PORT, DEFAULT_HTTP_PORT, DEFAULT_MAX_WAIT, WBEM_FLAG_CONNECT_REPOSITORY_ONLY,
    WBEM_FLAG_CONNECT_USE_MAX_WAIT,
};
pub use resource::{RemoteHost, Resource, ResourceError, Scheme};
pub use services::{
    encode_context, ObjectStream, Services, WbemObject, CONTEXT_HEADER, DEFAULT_BATCH,
};
pub use wsman::Protocol;

use openwmi_cimom::{ObjectManager, OperationContext};
use services::{Backend, Remote};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Instant;

type LocalFactory = dyn Fn() -> Result<ObjectManager, WbemError> + Send + Sync;

/// IWbemLocator: makes [`Services`] handles. A local resource needs an
/// object manager, which the caller supplies (built once, or on demand).
#[derive(Clone, Default)]
pub struct Locator {
    local: Option<Arc<LocalFactory>>,
}

impl std::fmt::Debug for Locator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Locator")
            .field("local", &self.local.is_some())
            .finish()
    }
}

impl Locator {
    /// Remote connections only: a local resource fails with WBEM_E_FAILED.
    pub fn new() -> Self {
        Locator::default()
    }

    /// Local resources are served by `om` (cheap to clone: shared state).
    pub fn with_local(om: ObjectManager) -> Self {
        Locator {
            local: Some(Arc::new(move || Ok(om.clone()))),
        }
    }

    /// Local resources are served by the object manager `make` builds, each
    /// time a local connection is made (so remote-only runs never build one).
    pub fn with_local_factory(
        make: impl Fn() -> Result<ObjectManager, WbemError> + Send + Sync + 'static,
    ) -> Self {
        Locator {
            local: Some(Arc::new(make)),
        }
    }

    /// ConnectServer. See the crate documentation for every outcome.
    pub fn connect_server(&self, p: &ConnectParams) -> Result<Services, WbemError> {
        // `https://host:5986/wsman[/namespace]`: WS-Management unless the
        // caller asked for CIM-XML; the namespace follows `/wsman/`.
        let (resource_text, wsman_url) = wsman::split_wsman_url(&p.resource, "root/cimv2");
        let protocol = p.protocol.unwrap_or(if wsman_url {
            Protocol::WsMan
        } else {
            Protocol::CimXml
        });
        let rewritten;
        let p = if protocol == Protocol::WsMan && wsman_url {
            rewritten = ConnectParams {
                resource: resource_text,
                ..p.clone()
            };
            &rewritten
        } else {
            p
        };
        let checked = params::check(p, &this_machine_names())?;
        let resource = checked.resource;
        let services = |backend, host| Services {
            backend,
            namespace: resource.namespace.clone(),
            host,
            context: p.context.clone(),
            locale: checked.locale.clone(),
            impersonation_level: p.impersonation_level,
            authentication_level: p.authentication_level,
            batch: DEFAULT_BATCH,
        };
        let Some(host) = resource.host.clone() else {
            let make = self
                .local
                .as_ref()
                .ok_or_else(|| WbemError::failed("no local object manager to connect to"))?;
            let om = make()?;
            om.namespace(&OperationContext::local(), &resource.namespace)?;
            return Ok(services(Backend::Local(om), None));
        };
        let tls = match host.scheme {
            Some(s) => s == Scheme::Https,
            None => !p.http,
        };
        let wsman = protocol == Protocol::WsMan;
        let port = host.port.or(p.port).unwrap_or(match (tls, wsman) {
            (true, false) => DEFAULT_HTTPS_PORT,
            (false, false) => DEFAULT_HTTP_PORT,
            (true, true) => wsman::DEFAULT_HTTPS_PORT,
            (false, true) => wsman::DEFAULT_HTTP_PORT,
        });
        let tls_config = if tls {
            Some(http::tls_config(p.ca_cert.as_deref(), p.insecure)?)
        } else {
            None
        };
        let endpoint = http::Endpoint {
            host: host.name.clone(),
            port,
            tls: tls_config,
        };
        let label = RemoteHost {
            port: Some(port),
            scheme: None,
            ..host.clone()
        }
        .to_string();
        let authorization = match (&checked.login, &p.password) {
            (Some(user), Some(password)) => Some(format!(
                "Basic {}",
                http::base64(format!("{user}:{password}").as_bytes())
            )),
            _ => None,
        };
        if wsman {
            let deadline = p.connect_bound().map(|b| Instant::now() + b);
            let client = wsman::connect(
                endpoint,
                &host,
                port,
                label.clone(),
                authorization,
                checked.locale.as_deref(),
                deadline,
            )?;
            return Ok(services(Backend::WsMan(client), Some(label)));
        }
        let mut headers: Vec<(&'static str, String)> = vec![
            ("Content-Type", "application/xml; charset=\"utf-8\"".into()),
            ("CIMOperation", "MethodCall".into()),
            ("CIMProtocolVersion", "1.0".into()),
        ];
        if let (Some(user), Some(password)) = (&checked.login, &p.password) {
            headers.push((
                "Authorization",
                format!(
                    "Basic {}",
                    http::base64(format!("{user}:{password}").as_bytes())
                ),
            ));
        }
        if !p.context.is_empty() {
            headers.push((CONTEXT_HEADER, encode_context(&p.context)));
        }
        let remote = Arc::new(Remote {
            http: Mutex::new(http::HttpClient::new(
                endpoint,
                openwmi_cimxml::Limits::default().max_body_bytes,
            )),
            headers,
            host_label: label.clone(),
            next_id: AtomicU64::new(1),
            timeout: Mutex::new(None),
        });
        // ConnectServer checks the namespace exists (and the credentials).
        let deadline = p.connect_bound().map(|b| Instant::now() + b);
        remote.call_until(
            &resource.namespace,
            &openwmi_cimxml::Operation::EnumerateClassNames(openwmi_cimxml::EnumerateClassNames {
                class_name: None,
                deep_inheritance: false,
            }),
            deadline,
        )?;
        Ok(services(Backend::Remote(remote), Some(label)))
    }
}

/// The names of this machine that make a resource local besides `.`,
/// `localhost` and the loopback addresses: the host name and its first label.
pub fn this_machine_names() -> Vec<String> {
    let mut names = Vec::new();
    for f in ["/proc/sys/kernel/hostname", "/etc/hostname"] {
        if let Ok(s) = std::fs::read_to_string(f) {
            let s = s.trim();
            if !s.is_empty() {
                names.push(s.to_owned());
                if let Some((short, _)) = s.split_once('.') {
                    names.push(short.to_owned());
                }
                break;
            }
        }
    }
    names
}

/// ConnectServer with remote resources only (see [`Locator::new`]).
pub fn connect_server(p: &ConnectParams) -> Result<Services, WbemError> {
    Locator::new().connect_server(p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use openwmi_cim::WbemStatus;
    use std::io::{Read, Write};
    use std::net::TcpListener;

    /// A server that answers every request with `EnumerateClassNames`
    /// naming one class, `name`.
    fn class_name_server(name: String) -> u16 {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for s in l.incoming() {
                let Ok(mut s) = s else { return };
                let mut got = Vec::new();
                let mut buf = [0u8; 4096];
                while !String::from_utf8_lossy(&got).contains("</CIM>") {
                    match s.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => got.extend_from_slice(&buf[..n]),
                    }
                }
                let body = format!(
                    "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n\
                     <CIM CIMVERSION=\"2.0\" DTDVERSION=\"2.0\"><MESSAGE ID=\"1\" PROTOCOLVERSION=\"1.0\">\
                     <SIMPLERSP><IMETHODRESPONSE NAME=\"EnumerateClassNames\"><IRETURNVALUE>\
                     <CLASSNAME NAME=\"{name}\"/></IRETURNVALUE></IMETHODRESPONSE></SIMPLERSP></MESSAGE></CIM>\n"
                );
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/xml; charset=\"utf-8\"\r\n\
                     CIMOperation: MethodResponse\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = s.write_all(head.as_bytes());
                let _ = s.write_all(body.as_bytes());
            }
        });
        port
    }

    fn connect(port: u16) -> Result<Services, WbemError> {
        let mut p = ConnectParams::new(format!("\\\\127.0.0.1:{port}\\root\\cimv2"));
        p.http = true;
        Locator::new().connect_server(&p)
    }

    #[test]
    fn out_of_memory_when_a_response_exceeds_the_client_bound() {
        let small = connect(class_name_server("Small_Class".into())).unwrap();
        assert_eq!(small.namespace(), "root/cimv2");
        // One attribute over the bound the client keeps on what it decodes.
        let bound = openwmi_cimxml::Limits::default().max_attribute_len;
        let e = connect(class_name_server("C".repeat(bound + 1))).unwrap_err();
        assert_eq!(e.status, WbemStatus::OutOfMemory, "{e}");
        assert!(
            e.to_string()
                .starts_with("WBEM_E_OUT_OF_MEMORY (0x80041006): 127.0.0.1:"),
            "{e}"
        );
    }
}
