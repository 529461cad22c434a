//! WS-Management (DSP0226/0227/0230, Microsoft's MS-WSMV profile): the
//! client half. [`request`] writes what Windows' WinRM client sends,
//! [`response`] reads what WinRM (and `openwmi serve`) answers, [`fault`]
//! maps faults to WBEM codes; this module holds the connection and the
//! enumeration stream (Enumerate, Pull until EndOfSequence, Release when
//! the caller stops early).
//!
//! Resource URIs: instances through the WMI form
//! (`http://schemas.microsoft.com/wbem/wsman/1/wmi/<ns>/<Class>`, and
//! `.../<ns>/*` with a WQL filter for queries), as Windows documents for
//! WinRM; class definitions through the CIM-XML schema URI that Windows'
//! WMI plugin lists (`http://schemas.dmtf.org/wbem/cim-xml/2/cim-schema/2/*`
//! with `__cimnamespace` and `ClassName`).

pub mod events;
pub mod fault;
mod ops;
pub mod request;
pub mod response;

use crate::error::WbemError;
use crate::http::HttpClient;
use crate::services::WbemObject;
use openwmi_cim::{Class, ObjectPath, WbemStatus};
use request::Header;
use response::{Batch, Identity, Item, Limits, Response};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The URL path WS-Management is served on (Windows, OMI, openwmi).
pub const PATH: &str = "/wsman";
/// WinRM's ports: HTTPS and HTTP.
pub const DEFAULT_HTTPS_PORT: u16 = 5986;
pub const DEFAULT_HTTP_PORT: u16 = 5985;

/// Which protocol a remote connection speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// DMTF CIM-XML (DSP0200) on `/cimom`, ports 5989/5988.
    CimXml,
    /// WS-Management on `/wsman`, ports 5986/5985.
    WsMan,
}

/// A resource URL whose path is `/wsman` (or starts `/wsman/`): the resource
/// as ConnectServer parses it (the namespace after `/wsman/`, or
/// `default_ns`) and `true`; anything else unchanged and `false`.
pub fn split_wsman_url(resource: &str, default_ns: &str) -> (String, bool) {
    let lower = resource.to_ascii_lowercase();
    let start = if lower.starts_with("https://") {
        8
    } else if lower.starts_with("http://") {
        7
    } else {
        return (resource.to_owned(), false);
    };
    let Some(slash) = resource[start..].find('/').map(|i| i + start) else {
        return (resource.to_owned(), false);
    };
    let path = &lower[slash..];
    let rest = if path == PATH || path == "/wsman/" {
        ""
    } else if let Some(r) = path.strip_prefix("/wsman/") {
        &resource[slash + PATH.len() + 1..][..r.len()]
    } else {
        return (resource.to_owned(), false);
    };
    let ns = if rest.trim_matches('/').is_empty() {
        default_ns.to_owned()
    } else {
        rest.trim_end_matches('/').to_owned()
    };
    (format!("{}/{}", &resource[..slash], ns), true)
}

/// What this client does not send over WS-Management yet (Invoke, Create,
/// Delete): refused before anything goes out, naming the way that works.
pub(crate) fn not_yet(what: &str) -> WbemError {
    WbemError::new(
        openwmi_cim::WbemStatus::NotSupported,
        format!("{what} over WS-Management is not supported yet: use CIM-XML (--protocol cimxml)"),
    )
}

fn random16() -> [u8; 16] {
    use ring::rand::SecureRandom as _;
    let mut b = [0u8; 16];
    if ring::rand::SystemRandom::new().fill(&mut b).is_err() {
        // Uniqueness, not secrecy, is what a message id needs.
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        b = t.to_le_bytes();
    }
    b
}

/// The WS-Man end of a handle: one kept-alive HTTP connection to `/wsman`.
pub(crate) struct WsMan {
    pub http: Mutex<HttpClient>,
    pub headers: Vec<(&'static str, String)>,
    pub host_label: String,
    /// `https://host:5986/wsman`, the `wsa:To` of every request.
    pub url: String,
    pub locale: &'static str,
    pub session_id: String,
    pub timeout: Mutex<Option<Duration>>,
    /// Class definitions fetched for typing instances, by `ns:class` in lower case.
    pub classes: Mutex<HashMap<String, Option<Arc<Class>>>>,
}

impl WsMan {
    fn deadline(&self) -> Option<Instant> {
        let t = *self.timeout.lock().unwrap_or_else(|p| p.into_inner());
        t.map(|t| Instant::now() + t)
    }

    /// Posts `body` and reads the answer: faults become errors here.
    fn post(&self, body: &str, deadline: Option<Instant>) -> Result<Response, WbemError> {
        let resp = {
            let mut http = self.http.lock().unwrap_or_else(|p| p.into_inner());
            http.post(PATH, &self.headers, body.as_bytes(), deadline)?
        };
        let host = &self.host_label;
        match resp.status {
            401 => {
                let offered: Vec<&str> = resp
                    .headers
                    .iter()
                    .filter(|(n, _)| n == "www-authenticate")
                    .map(|(_, v)| v.split_whitespace().next().unwrap_or(""))
                    .collect();
                let basic =
                    offered.is_empty() || offered.iter().any(|s| s.eq_ignore_ascii_case("basic"));
                let who = if !basic {
                    // WinRM's default: Basic disabled on the service.
                    format!(
                        "the server does not accept Basic authentication (it offers {}); \
                         enable it on the WinRM service (auth/Basic)",
                        offered.join(", ")
                    )
                } else if self.headers.iter().any(|(n, _)| *n == "Authorization") {
                    "the server refused the user name or password".to_owned()
                } else {
                    "the server requires a user name and password (none given)".to_owned()
                };
                return Err(WbemError::access_denied(format!("{host}: {who}")));
            }
            403 | 429 => {
                return Err(WbemError::access_denied(format!(
                    "{host}: HTTP {} {}",
                    resp.status, resp.reason
                )))
            }
            _ => {}
        }
        let limits = Limits::default();
        let read = response::read_response(&resp.body, &limits);
        match (resp.status, read) {
            (_, Ok(Response::Fault(f))) => Err(fault::to_error(&f, host)),
            (200, Ok(r)) => Ok(r),
            (200, Err(e)) if e.limit => Err(WbemError::new(
                WbemStatus::OutOfMemory,
                format!("{host}: the response is too large to hold: {e}"),
            )),
            (200, Err(e)) => Err(WbemError::failed(format!(
                "{host}: invalid WS-Management response: {e}"
            ))),
            (s, _) => Err(WbemError::transport(format!(
                "{host}: HTTP {s} {}",
                resp.reason
            ))),
        }
    }

    fn request(
        &self,
        resource_uri: &str,
        selectors: &[(String, String)],
        deadline: Option<Instant>,
        write: impl FnOnce(&Header) -> String,
    ) -> Result<Response, WbemError> {
        let message_id = request::message_id(random16());
        let operation_id = request::message_id(random16());
        let timeout = deadline
            .map(|d| d.saturating_duration_since(Instant::now()))
            .filter(|d| !d.is_zero())
            .unwrap_or(request::DEFAULT_OPERATION_TIMEOUT);
        let h = Header {
            to: &self.url,
            resource_uri,
            message_id: &message_id,
            session_id: &self.session_id,
            operation_id: &operation_id,
            locale: self.locale,
            timeout,
            selectors,
        };
        let body = write(&h);
        self.post(&body, deadline)
    }

    pub fn identify(&self, deadline: Option<Instant>) -> Result<Identity, WbemError> {
        match self.post(&request::identify(), deadline)? {
            Response::Identify(i) => Ok(i),
            _ => Err(WbemError::failed(format!(
                "{}: the answer to Identify is not an IdentifyResponse",
                self.host_label
            ))),
        }
    }

    fn batch(&self, r: Response, what: &str) -> Result<Batch, WbemError> {
        match r {
            Response::Batch(b) => Ok(b),
            _ => Err(WbemError::failed(format!(
                "{}: the answer to {what} is not a {what}Response",
                self.host_label
            ))),
        }
    }

    pub fn enumerate(
        &self,
        resource_uri: &str,
        selectors: &[(String, String)],
        filter: Option<&request::Filter>,
        objects_only: bool,
    ) -> Result<Batch, WbemError> {
        let r = self.request(resource_uri, selectors, self.deadline(), |h| {
            if objects_only {
                request::enumerate_objects(h)
            } else {
                request::enumerate(h, filter)
            }
        })?;
        self.batch(r, "Enumerate")
    }

    pub fn get(
        &self,
        resource_uri: &str,
        selectors: &[(String, String)],
    ) -> Result<Item, WbemError> {
        match self.request(resource_uri, selectors, self.deadline(), request::get)? {
            Response::Object(i) => Ok(i),
            _ => Err(WbemError::failed(format!(
                "{}: the answer to Get holds no object",
                self.host_label
            ))),
        }
    }

    /// Invoke: the `<Method>_OUTPUT` element of the answer.
    pub fn invoke(
        &self,
        resource_uri: &str,
        selectors: &[(String, String)],
        method: &str,
        params: &[(String, Vec<request::InputValue>)],
    ) -> Result<response::RawInstance, WbemError> {
        match self.request(resource_uri, selectors, self.deadline(), |h| {
            request::invoke(h, method, params)
        })? {
            Response::Object(Item::Instance { instance, .. })
                if instance
                    .class_name
                    .eq_ignore_ascii_case(&format!("{method}_OUTPUT")) =>
            {
                Ok(instance)
            }
            _ => Err(WbemError::failed(format!(
                "{}: the answer to {method} holds no {method}_OUTPUT",
                self.host_label
            ))),
        }
    }

    /// A class definition through the CIM-XML schema URI.
    pub fn class(&self, namespace: &str, class: &str) -> Result<Arc<Class>, WbemError> {
        let selectors = vec![
            ("__cimnamespace".to_owned(), namespace.to_owned()),
            ("ClassName".to_owned(), class.to_owned()),
        ];
        match self.get(request::CIM_XML_SCHEMA_URI, &selectors)? {
            Item::Class(c) => {
                let c = Arc::new(*c);
                self.classes
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(class_key(namespace, class), Some(c.clone()));
                Ok(c)
            }
            _ => Err(WbemError::failed(format!(
                "{}: the answer for class {class} is not a CIM-XML class",
                self.host_label
            ))),
        }
    }

    /// The class definition for typing instances, fetched once per class;
    /// `None` when the server does not give it (values are then typed
    /// from the markers in the response).
    pub(crate) fn class_for_typing(&self, namespace: &str, class: &str) -> Option<Arc<Class>> {
        let key = class_key(namespace, class);
        if let Some(c) = self
            .classes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
        {
            return c.clone();
        }
        let got = self.class(namespace, class).ok();
        if got.is_none() {
            self.classes
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(key, None);
        }
        got
    }
}

/// Opens a WS-Man handle: Identify (with the credentials, as WinRM wants
/// them on every request) checks the endpoint and the login.
pub(crate) fn connect(
    endpoint: crate::http::Endpoint,
    host: &crate::resource::RemoteHost,
    port: u16,
    host_label: String,
    authorization: Option<String>,
    locale: Option<&str>,
    deadline: Option<Instant>,
) -> Result<Arc<WsMan>, WbemError> {
    let scheme = if endpoint.tls.is_some() {
        "https"
    } else {
        "http"
    };
    let url = format!("{scheme}://{}:{port}{PATH}", host.url_host());
    // Windows' client; OMI, for one, shapes datetimes as for Windows only
    // when it sees this agent.
    let mut headers: Vec<(&'static str, String)> = vec![
        (
            "Content-Type",
            "application/soap+xml;charset=UTF-8".to_owned(),
        ),
        ("User-Agent", "Microsoft WinRM Client".to_owned()),
    ];
    if let Some(a) = authorization {
        headers.push(("Authorization", a));
    }
    let client = Arc::new(WsMan {
        http: Mutex::new(HttpClient::new(endpoint, Limits::default().max_body_bytes)),
        headers,
        host_label,
        url,
        locale: request::locale_tag(locale),
        session_id: request::message_id(random16()),
        timeout: Mutex::new(None),
        classes: Mutex::new(HashMap::new()),
    });
    client.identify(deadline)?;
    Ok(client)
}

fn class_key(ns: &str, class: &str) -> String {
    format!("{}:{}", ns.to_ascii_lowercase(), class.to_ascii_lowercase())
}

/// Enumerate's results: the first batch, then Pulls until EndOfSequence;
/// Release when dropped before the end.
pub(crate) struct WsManStream {
    pub client: Arc<WsMan>,
    pub resource_uri: String,
    pub selectors: Vec<(String, String)>,
    pub context: Option<String>,
    pub buffer: VecDeque<Item>,
    pub namespace: String,
    pub host: Option<String>,
    empty_pulls: u32,
}

/// Pulls in a row that may come back empty (each waits up to its
/// OperationTimeout on the server) before the stream gives up.
const MAX_EMPTY_PULLS: u32 = 100;

impl WsManStream {
    pub fn start(
        client: Arc<WsMan>,
        resource_uri: String,
        selectors: Vec<(String, String)>,
        first: Batch,
        namespace: String,
        host: Option<String>,
    ) -> WsManStream {
        WsManStream {
            client,
            resource_uri,
            selectors,
            context: if first.end_of_sequence {
                None
            } else {
                first.context
            },
            buffer: first.items.into(),
            namespace,
            host,
            empty_pulls: 0,
        }
    }

    pub fn next(&mut self) -> Option<Result<WbemObject, WbemError>> {
        loop {
            if let Some(item) = self.buffer.pop_front() {
                match self.object(item) {
                    Ok(Some(o)) => return Some(Ok(o)),
                    Ok(None) => continue,
                    Err(e) => return Some(Err(e)),
                }
            }
            let ctx = self.context.take()?;
            let deadline = self.client.deadline();
            let r = self
                .client
                .request(&self.resource_uri, &self.selectors, deadline, |h| {
                    request::pull(h, &ctx)
                })
                .and_then(|r| self.client.batch(r, "Pull"));
            match r {
                Ok(b) => {
                    if !b.end_of_sequence {
                        // A Pull may leave the context out: the old one still holds.
                        self.context = b.context.or(Some(ctx));
                    }
                    if b.items.is_empty() && !b.end_of_sequence {
                        self.empty_pulls += 1;
                        if self.empty_pulls > MAX_EMPTY_PULLS {
                            self.context = None;
                            return Some(Err(WbemError::new(
                                WbemStatus::TimedOut,
                                format!(
                                    "{}: {MAX_EMPTY_PULLS} Pulls in a row brought nothing",
                                    self.client.host_label
                                ),
                            )));
                        }
                    } else {
                        self.empty_pulls = 0;
                    }
                    self.buffer.extend(b.items);
                }
                Err(e) => return Some(Err(e)),
            }
        }
    }

    fn object(&self, item: Item) -> Result<Option<WbemObject>, WbemError> {
        object(
            &self.client,
            item,
            &self.namespace,
            self.host.as_deref(),
            None,
        )
    }
}

/// An item as a [`WbemObject`]: instances typed with their class when the
/// server gives its definition; the path from the EPR, else `path`.
pub(crate) fn object(
    client: &WsMan,
    item: Item,
    namespace: &str,
    host: Option<&str>,
    path: Option<ObjectPath>,
) -> Result<Option<WbemObject>, WbemError> {
    let bad = |e: String| {
        WbemError::failed(format!(
            "{}: invalid WS-Management response: {e}",
            client.host_label
        ))
    };
    match item {
        Item::Class(c) => Ok(Some(WbemObject::Class(Arc::new(*c)))),
        Item::Epr(_) => Ok(None),
        Item::Instance { instance, epr } => {
            let class = client.class_for_typing(namespace, &instance.class_name);
            let i = response::to_instance(&instance, class.as_deref(), host).map_err(bad)?;
            let path = match epr {
                Some(e) => {
                    let mut p = response::epr_to_path(&e, host, class.as_deref()).map_err(bad)?;
                    if p.namespace.is_none() {
                        p.namespace = Some(namespace.to_owned());
                    }
                    Some(p)
                }
                None => path.or_else(|| class.as_deref().map(|c| rebuild(&i, c, namespace, host))),
            };
            Ok(Some(WbemObject::Instance { path, instance: i }))
        }
    }
}

fn rebuild(i: &openwmi_cim::Instance, c: &Class, ns: &str, host: Option<&str>) -> ObjectPath {
    let mut p = i.path(c);
    p.host = host.map(str::to_owned);
    p.namespace = Some(ns.to_owned());
    p
}

impl Drop for WsManStream {
    /// Releases an enumeration left unfinished, so the server frees it now
    /// rather than when it expires. Best effort, bounded to 5 s.
    fn drop(&mut self) {
        if let Some(ctx) = self.context.take() {
            let deadline = Some(Instant::now() + Duration::from_secs(5));
            let _ = self
                .client
                .request(&self.resource_uri, &self.selectors, deadline, |h| {
                    request::release(h, &ctx)
                });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wsman_urls() {
        let ns = "root/cimv2";
        assert_eq!(
            split_wsman_url("https://h:5986/wsman", ns),
            ("https://h:5986/root/cimv2".into(), true)
        );
        assert_eq!(
            split_wsman_url("HTTP://h/WSMan/", ns),
            ("HTTP://h/root/cimv2".into(), true)
        );
        assert_eq!(
            split_wsman_url("https://[::1]:5986/wsman/root/Microsoft/Windows", ns),
            ("https://[::1]:5986/root/Microsoft/Windows".into(), true)
        );
        assert_eq!(
            split_wsman_url("https://h/root/cimv2", ns),
            ("https://h/root/cimv2".into(), false)
        );
        assert_eq!(
            split_wsman_url("https://h/wsmanx", ns),
            ("https://h/wsmanx".into(), false)
        );
        assert_eq!(
            split_wsman_url("\\\\h\\wsman", ns),
            ("\\\\h\\wsman".into(), false)
        );
    }
}
