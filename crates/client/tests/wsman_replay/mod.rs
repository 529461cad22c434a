//! A loopback HTTP(S) server that answers WS-Management requests with
//! Windows-shaped fixtures (tests/fixtures/wsman, written after the
//! documented Windows answers in spec/wsman.md) and records every request,
//! so tests can check both what the client makes of Windows' answers and
//! that what it sends is what Windows' own client sends.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

pub const NS_SOAP: &str = "http://www.w3.org/2003/05/soap-envelope";
pub const NS_A: &str = "http://schemas.xmlsoap.org/ws/2004/08/addressing";
pub const NS_N: &str = "http://schemas.xmlsoap.org/ws/2004/09/enumeration";
pub const NS_W: &str = "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd";
pub const NS_P: &str = "http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd";

/// One request as received.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn parsed(&self) -> Parsed {
        Parsed::of(&self.body)
    }
}

/// The parts of a request envelope tests look at.
#[derive(Clone, Debug, Default)]
pub struct Parsed {
    pub to: Option<String>,
    pub action: Option<String>,
    pub action_must_understand: Option<String>,
    pub resource_uri: Option<String>,
    pub resource_uri_must_understand: Option<String>,
    pub message_id: Option<String>,
    pub reply_to: Option<String>,
    pub max_envelope_size: Option<String>,
    pub operation_timeout: Option<String>,
    pub locale: Option<String>,
    pub locale_must_understand: Option<String>,
    pub data_locale: Option<String>,
    pub session_id: Option<String>,
    pub selectors: Vec<(String, String)>,
    pub body_element: Option<String>,
    pub optimize: bool,
    pub max_elements: Option<String>,
    pub enumeration_mode: Option<String>,
    pub filter_dialect: Option<String>,
    pub filter: Option<String>,
    pub context: Option<String>,
}

impl Parsed {
    pub fn of(body: &str) -> Parsed {
        let doc = roxmltree::Document::parse(body).expect("the request is well-formed XML");
        let env = doc.root_element();
        assert!(
            env.has_tag_name((NS_SOAP, "Envelope")),
            "not a SOAP 1.2 envelope"
        );
        let find = |ns: &str, name: &str| doc.descendants().find(|n| n.has_tag_name((ns, name)));
        let text = |ns: &str, name: &str| find(ns, name).map(|n| n.text().unwrap_or("").to_owned());
        let mu = |ns: &str, name: &str| {
            find(ns, name).and_then(|n| n.attribute((NS_SOAP, "mustUnderstand")).map(str::to_owned))
        };
        let body_el = find(NS_SOAP, "Body")
            .and_then(|b| b.children().find(|c| c.is_element()))
            .map(|e| {
                format!(
                    "{}|{}",
                    e.tag_name().namespace().unwrap_or(""),
                    e.tag_name().name()
                )
            });
        let filter = find(NS_W, "Filter");
        Parsed {
            to: text(NS_A, "To"),
            action: text(NS_A, "Action"),
            action_must_understand: mu(NS_A, "Action"),
            resource_uri: text(NS_W, "ResourceURI"),
            resource_uri_must_understand: mu(NS_W, "ResourceURI"),
            message_id: text(NS_A, "MessageID"),
            reply_to: find(NS_A, "ReplyTo")
                .and_then(|r| r.children().find(|c| c.has_tag_name((NS_A, "Address"))))
                .map(|a| a.text().unwrap_or("").to_owned()),
            max_envelope_size: text(NS_W, "MaxEnvelopeSize"),
            operation_timeout: text(NS_W, "OperationTimeout"),
            locale: find(NS_W, "Locale").and_then(|l| {
                l.attribute(("http://www.w3.org/XML/1998/namespace", "lang"))
                    .map(str::to_owned)
            }),
            locale_must_understand: mu(NS_W, "Locale"),
            data_locale: find(NS_P, "DataLocale").and_then(|l| {
                l.attribute(("http://www.w3.org/XML/1998/namespace", "lang"))
                    .map(str::to_owned)
            }),
            session_id: text(NS_P, "SessionId"),
            selectors: doc
                .descendants()
                .filter(|n| n.has_tag_name((NS_W, "Selector")))
                .map(|s| {
                    (
                        s.attribute("Name").unwrap_or("").to_owned(),
                        s.text().unwrap_or("").to_owned(),
                    )
                })
                .collect(),
            body_element: body_el,
            optimize: find(NS_W, "OptimizeEnumeration").is_some(),
            max_elements: text(NS_W, "MaxElements").or_else(|| text(NS_N, "MaxElements")),
            enumeration_mode: text(NS_W, "EnumerationMode"),
            filter_dialect: filter.and_then(|f| f.attribute("Dialect").map(str::to_owned)),
            filter: filter.map(|f| f.text().unwrap_or("").to_owned()),
            context: text(NS_N, "EnumerationContext"),
        }
    }
}

/// An answer: status, extra headers, body.
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    pub fn ok(body: String) -> Reply {
        Reply {
            status: 200,
            headers: Vec::new(),
            body,
        }
    }
    /// WinRM sends faults with HTTP 500.
    pub fn fault(body: String) -> Reply {
        Reply {
            status: 500,
            headers: Vec::new(),
            body,
        }
    }
    /// A 401 as WinRM/OMI send it: no body, the schemes offered.
    pub fn unauthorized() -> Reply {
        Reply {
            status: 401,
            headers: vec![
                ("WWW-Authenticate".into(), "Basic realm=\"WSMAN\"".into()),
                ("WWW-Authenticate".into(), "Negotiate".into()),
            ],
            body: String::new(),
        }
    }
}

/// The fixtures, built in (so the CLI's tests, which include this module, find them too).
pub fn fixture(name: &str) -> String {
    match name {
        "identify.xml" => include_str!("../fixtures/wsman/identify.xml"),
        "enumerate_response.xml" => include_str!("../fixtures/wsman/enumerate_response.xml"),
        "enumerate_empty.xml" => include_str!("../fixtures/wsman/enumerate_empty.xml"),
        "pull_response.xml" => include_str!("../fixtures/wsman/pull_response.xml"),
        "release_response.xml" => include_str!("../fixtures/wsman/release_response.xml"),
        "get_response.xml" => include_str!("../fixtures/wsman/get_response.xml"),
        "invoke_response.xml" => include_str!("../fixtures/wsman/invoke_response.xml"),
        "fault_destination_unreachable.xml" => {
            include_str!("../fixtures/wsman/fault_destination_unreachable.xml")
        }
        "fault_wmi_invalid_class.xml" => {
            include_str!("../fixtures/wsman/fault_wmi_invalid_class.xml")
        }
        other => panic!("no fixture {other}"),
    }
    .to_owned()
}

/// A fixture answering `req`: `{RELATES_TO}` becomes its MessageID.
pub fn answer(name: &str, req: &Recorded) -> String {
    let id = req.parsed().message_id.unwrap_or_default();
    fixture(name).replace("{RELATES_TO}", &id)
}

/// The one account the Windows-shaped answers accept (HTTP Basic).
pub const USER: &str = "Administrator";
pub const PASSWORD: &str = "P@ss w0rd!";

type Answer = dyn Fn(&Recorded) -> Reply + Send + Sync;

pub struct Replay {
    pub port: u16,
    pub requests: Arc<Mutex<Vec<Recorded>>>,
}

impl Replay {
    pub fn start(answer: impl Fn(&Recorded) -> Reply + Send + Sync + 'static) -> Replay {
        Self::start_with(answer, None)
    }

    pub fn start_tls(
        answer: impl Fn(&Recorded) -> Reply + Send + Sync + 'static,
        config: Arc<rustls::ServerConfig>,
    ) -> Replay {
        Self::start_with(answer, Some(config))
    }

    fn start_with(
        answer: impl Fn(&Recorded) -> Reply + Send + Sync + 'static,
        tls: Option<Arc<rustls::ServerConfig>>,
    ) -> Replay {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let answer: Arc<Answer> = Arc::new(answer);
        let reqs = requests.clone();
        std::thread::spawn(move || {
            for s in l.incoming() {
                let Ok(s) = s else { return };
                let (answer, reqs, tls) = (answer.clone(), reqs.clone(), tls.clone());
                std::thread::spawn(move || match tls {
                    None => serve(s, &*answer, &reqs),
                    Some(cfg) => {
                        let Ok(conn) = rustls::ServerConnection::new(cfg) else {
                            return;
                        };
                        serve(rustls::StreamOwned::new(conn, s), &*answer, &reqs)
                    }
                });
            }
        });
        Replay { port, requests }
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/wsman", self.port)
    }
}

fn serve<S: Read + Write>(s: S, answer: &Answer, reqs: &Mutex<Vec<Recorded>>) {
    let mut r = BufReader::new(s);
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or("").to_owned();
        let path = parts.next().unwrap_or("").to_owned();
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            if r.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((n, v)) = h.split_once(':') {
                headers.push((n.trim().to_owned(), v.trim().to_owned()));
            }
        }
        let len: usize = headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; len];
        if r.read_exact(&mut body).is_err() {
            return;
        }
        let rec = Recorded {
            method,
            path,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        };
        reqs.lock().unwrap().push(rec.clone());
        let reply = answer(&rec);
        let reason = match reply.status {
            200 => "OK",
            401 => "Unauthorized",
            500 => "Internal Server Error",
            _ => "Other",
        };
        let mut head = format!(
            "HTTP/1.1 {} {reason}\r\nServer: Microsoft-HTTPAPI/2.0\r\nContent-Length: {}\r\n",
            reply.status,
            reply.body.len()
        );
        if !reply.body.is_empty() {
            head.push_str("Content-Type: application/soap+xml;charset=UTF-8\r\n");
        }
        for (n, v) in &reply.headers {
            head.push_str(&format!("{n}: {v}\r\n"));
        }
        head.push_str("\r\n");
        let w = r.get_mut();
        if w.write_all(head.as_bytes()).is_err()
            || w.write_all(reply.body.as_bytes()).is_err()
            || w.flush().is_err()
        {
            return;
        }
    }
}

/// Answers as a Windows WinRM service with the WMI plugin would, for the
/// Win32_Share instances of the fixtures. `class_xml` is what the CIM-XML
/// schema URI gives for a class (`None`: a DestinationUnreachable fault).
pub fn windows(class_xml: Option<String>) -> impl Fn(&Recorded) -> Reply + Send + Sync + 'static {
    move |req| {
        use base64::Engine as _;
        let login = format!("{USER}:{PASSWORD}");
        let expected = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(login)
        );
        if req.header("Authorization") != Some(expected.as_str()) {
            return Reply::unauthorized();
        }
        let p = req.parsed();
        let action = p.action.clone().unwrap_or_default();
        let uri = p.resource_uri.clone().unwrap_or_default();
        if action.is_empty()
            && p.body_element
                .as_deref()
                .is_some_and(|b| b.ends_with("|Identify"))
        {
            return Reply::ok(answer("identify.xml", req));
        }
        if action.ends_with("transfer/Get") {
            if uri.contains("/cim-xml/") {
                return match &class_xml {
                    Some(c) => Reply::ok(
                        answer("release_response.xml", req)
                            .replace("<s:Body/>", &format!("<s:Body>{c}</s:Body>")),
                    ),
                    None => Reply::fault(answer("fault_destination_unreachable.xml", req)),
                };
            }
            if uri.ends_with("/Win32_Share")
                && p.selectors == [("Name".to_owned(), "ADMIN$".to_owned())]
            {
                return Reply::ok(answer("get_response.xml", req));
            }
            if uri.ends_with("/Win32_Nope") {
                return Reply::fault(answer("fault_wmi_invalid_class.xml", req));
            }
            return Reply::fault(answer("fault_destination_unreachable.xml", req));
        }
        if action.ends_with("enumeration/Enumerate") && uri.contains("/cim-xml/") {
            return match &class_xml {
                Some(c) => Reply::ok(answer("enumerate_empty.xml", req).replace(
                    "<w:Items></w:Items>",
                    &format!("<w:Items><w:Item>{c}</w:Item></w:Items>"),
                )),
                None => Reply::fault(answer("fault_destination_unreachable.xml", req)),
            };
        }
        if action.ends_with("enumeration/Enumerate") {
            let filter = p.filter.clone().unwrap_or_default().to_ascii_lowercase();
            if filter.contains("win32_nope") || uri.ends_with("/Win32_Nope") {
                return Reply::fault(answer("fault_wmi_invalid_class.xml", req));
            }
            if filter.contains("where name = 'none'") {
                return Reply::ok(answer("enumerate_empty.xml", req));
            }
            return Reply::ok(answer("enumerate_response.xml", req));
        }
        if action.ends_with("enumeration/Pull") {
            return Reply::ok(answer("pull_response.xml", req));
        }
        if action.ends_with("enumeration/Release") {
            return Reply::ok(answer("release_response.xml", req));
        }
        if uri.ends_with("/Win32_Process") && action == format!("{uri}/Create") {
            return Reply::ok(answer("invoke_response.xml", req));
        }
        Reply::fault(answer("fault_destination_unreachable.xml", req))
    }
}
