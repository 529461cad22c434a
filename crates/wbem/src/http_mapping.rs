//! DSP0200, CIM operations over HTTP: what makes an authenticated HTTP
//! request a CIM request, and what a CIM response adds to the answer.
//!
//! [`CimXml`] is the CIM-XML front-end the transport routes requests to. From
//! the head alone (before the body is read) it answers:
//! - a method other than `POST` or `M-POST`: `405` with `Allow: POST, M-POST`;
//! - a path other than `/cimom` or `/`, no `CIMOperation: MethodCall` (for
//!   M-POST `NN-CIMOperation`, `NN` from `Man:
//!   http://www.dmtf.org/cim/mapping/http/v1.0; ns=NN`), a `CIMMethod` or
//!   `CIMObject` that is not valid percent-encoding: `400`;
//! - `CIMBatch`: `501` `multiple-requests-unsupported`; `CIMProtocolVersion`
//!   other than 1.x: `501` `unsupported-protocol-version`;
//!
//! each with its `CIMError` header. The rest goes to its [`CimHandler`] (the
//! [`crate::Dispatcher`]) as a [`CimRequest`]. On the way back a `200` gets
//! `Content-Type: application/xml; charset="utf-8"` (unless set) and
//! `CIMOperation: MethodResponse`; an M-POST answer gets its CIM headers
//! prefixed and `Ext:`.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue, ALLOW, CONTENT_TYPE};
use http::{HeaderMap, Method, StatusCode};
use openwmi_service::{AuthenticatedUser, Request, RequestHead, Response, Service};

/// An authenticated CIM request whose HTTP headers DSP0200 accepts.
#[derive(Debug)]
pub struct CimRequest {
    pub user: AuthenticatedUser,
    pub peer: SocketAddr,
    /// Whether it came over TLS.
    pub tls: bool,
    /// `CIMMethod` (or `NN-CIMMethod` of an M-POST), percent-decoded.
    pub cim_method: Option<String>,
    /// `CIMObject`, percent-decoded (`root%2Fcimv2` -> `root/cimv2`).
    pub cim_object: Option<String>,
    /// Whether it came as M-POST (its answer's CIM headers get prefixed).
    pub m_post: bool,
    /// All request headers as received (for M-POST still prefixed), except
    /// `Authorization`.
    pub headers: HeaderMap,
    /// The whole request body.
    pub body: Bytes,
}

/// What answers CIM requests: parses the body and checks what the head
/// could not (e.g. `CIMMethod` against the body: `400` with `CIMError:
/// header-mismatch`).
pub trait CimHandler: Send + Sync + 'static {
    fn handle(&self, req: CimRequest) -> Pin<Box<dyn Future<Output = Response> + Send>>;
}

/// The CIM-XML front-end: DSP0200's HTTP checks around a [`CimHandler`].
#[derive(Debug, Clone)]
pub struct CimXml<H> {
    handler: H,
}

impl<H: CimHandler> CimXml<H> {
    pub fn new(handler: H) -> Self {
        CimXml { handler }
    }
}

impl<H: CimHandler> Service for CimXml<H> {
    fn check(&self, head: &mut RequestHead) -> Result<(), Response> {
        let cim = CimHeaders::read(head)?;
        head.extensions.insert(cim);
        Ok(())
    }

    fn call(&self, request: Request) -> Pin<Box<dyn Future<Output = Response> + Send>> {
        let Request { mut head, body } = request;
        // Read by `check` on the way in; read again only for a caller that
        // did not run it.
        let cim = match head.extensions.remove::<CimHeaders>() {
            Some(cim) => cim,
            None => match CimHeaders::read(&head) {
                Ok(cim) => cim,
                Err(refused) => return Box::pin(std::future::ready(refused)),
            },
        };
        let m_post = head.method.as_str() == "M-POST";
        let answer = self.handler.handle(CimRequest {
            user: head.user,
            peer: head.peer,
            tls: head.tls,
            cim_method: cim.method,
            cim_object: cim.object,
            m_post,
            headers: head.headers,
            body,
        });
        let prefix = m_post.then_some(cim.prefix);
        Box::pin(async move { finish(answer.await, prefix.as_deref()) })
    }
}

/// A protocol error: `status` with a `CIMError: <cim_error>` header.
pub fn protocol_error(status: StatusCode, cim_error: &'static str) -> Response {
    Response::empty(status).with_header(
        HeaderName::from_static("cimerror"),
        HeaderValue::from_static(cim_error),
    )
}

/// The DMTF extension URI that M-POST's `Man:` header declares.
const CIM_MAPPING_URI: &str = "http://www.dmtf.org/cim/mapping/http/v1.0";

// Looked up by `HeaderName`: by a string, the name is parsed first.
const CIM_OPERATION: HeaderName = HeaderName::from_static("cimoperation");
const CIM_PROTOCOL_VERSION: HeaderName = HeaderName::from_static("cimprotocolversion");
const CIM_BATCH: HeaderName = HeaderName::from_static("cimbatch");
const CIM_METHOD: HeaderName = HeaderName::from_static("cimmethod");
const CIM_OBJECT: HeaderName = HeaderName::from_static("cimobject");

/// The CIM headers of a request DSP0200 accepts.
#[derive(Clone)]
struct CimHeaders {
    /// `NN-` for an M-POST, else empty.
    prefix: String,
    method: Option<String>,
    object: Option<String>,
}

impl CimHeaders {
    fn read(head: &RequestHead) -> Result<CimHeaders, Response> {
        let m_post = head.method.as_str() == "M-POST";
        if head.method != Method::POST && !m_post {
            return Err(
                protocol_error(StatusCode::METHOD_NOT_ALLOWED, "request-not-valid")
                    .with_header(ALLOW, HeaderValue::from_static("POST, M-POST")),
            );
        }
        let not_valid = || protocol_error(StatusCode::BAD_REQUEST, "request-not-valid");
        if !matches!(head.uri.path(), "/cimom" | "/") {
            return Err(not_valid());
        }
        let prefix = if m_post {
            man_prefix(&head.headers).ok_or_else(not_valid)?
        } else {
            String::new()
        };
        let header = |name: &HeaderName| {
            if prefix.is_empty() {
                head.headers.get(name)
            } else {
                head.headers.get(format!("{prefix}{name}").as_str())
            }
        };
        let is_method_call = header(&CIM_OPERATION)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("MethodCall"));
        if !is_method_call {
            return Err(not_valid());
        }
        if let Some(version) = header(&CIM_PROTOCOL_VERSION) {
            if !version.to_str().is_ok_and(|v| v.trim().starts_with("1.")) {
                return Err(protocol_error(
                    StatusCode::NOT_IMPLEMENTED,
                    "unsupported-protocol-version",
                ));
            }
        }
        if header(&CIM_BATCH).is_some() {
            return Err(protocol_error(
                StatusCode::NOT_IMPLEMENTED,
                "multiple-requests-unsupported",
            ));
        }
        let decoded = |name: &HeaderName| -> Result<Option<String>, ()> {
            match header(name) {
                None => Ok(None),
                Some(value) => openwmi_cim::percent::decode(value).map(Some).ok_or(()),
            }
        };
        let (Ok(method), Ok(object)) = (decoded(&CIM_METHOD), decoded(&CIM_OBJECT)) else {
            return Err(not_valid());
        };
        Ok(CimHeaders {
            prefix,
            method,
            object,
        })
    }
}

/// What a CIM response adds to the handler's answer.
fn finish(mut answer: Response, m_post_prefix: Option<&str>) -> Response {
    let prefixed = |name: HeaderName| -> HeaderName {
        match m_post_prefix {
            Some(prefix) if name.as_str().starts_with("cim") => {
                HeaderName::try_from(format!("{prefix}{}", name.as_str())).unwrap_or(name)
            }
            _ => name,
        }
    };
    if m_post_prefix.is_some() {
        for (name, _) in &mut answer.headers {
            *name = prefixed(std::mem::replace(name, CONTENT_TYPE));
        }
    }
    if answer.status == StatusCode::OK {
        if !answer.headers.iter().any(|(n, _)| n == CONTENT_TYPE) {
            answer.headers.push((
                CONTENT_TYPE,
                HeaderValue::from_static("application/xml; charset=\"utf-8\""),
            ));
        }
        set(
            &mut answer.headers,
            prefixed(CIM_OPERATION),
            HeaderValue::from_static("MethodResponse"),
        );
    }
    if m_post_prefix.is_some() {
        set(
            &mut answer.headers,
            HeaderName::from_static("ext"),
            HeaderValue::from_static(""),
        );
    }
    answer
}

/// `name: value` in place of any earlier values of `name`.
fn set(headers: &mut Vec<(HeaderName, HeaderValue)>, name: HeaderName, value: HeaderValue) {
    headers.retain(|(n, _)| *n != name);
    headers.push((name, value));
}

/// The `NN-` header prefix that a `Man:` header declares for the DMTF CIM
/// mapping (`Man: http://www.dmtf.org/cim/mapping/http/v1.0 ; ns=73`).
fn man_prefix(headers: &HeaderMap) -> Option<String> {
    for value in headers.get_all("man") {
        let Ok(text) = value.to_str() else { continue };
        for declaration in text.split(',') {
            let mut parts = declaration.split(';').map(str::trim);
            let uri = parts.next().unwrap_or_default().trim_matches('"');
            if !uri.eq_ignore_ascii_case(CIM_MAPPING_URI) {
                continue;
            }
            for parameter in parts {
                if let Some((key, ns)) = parameter.split_once('=') {
                    let ns = ns.trim();
                    if key.trim().eq_ignore_ascii_case("ns")
                        && !ns.is_empty()
                        && ns.bytes().all(|b| b.is_ascii_digit())
                    {
                        return Some(format!("{ns}-"));
                    }
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use openwmi_service::Body;

    #[test]
    fn man_header_prefix() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "man",
            HeaderValue::from_static("http://www.dmtf.org/cim/mapping/http/v1.0 ; ns=73"),
        );
        assert_eq!(man_prefix(&headers).as_deref(), Some("73-"));
        headers.insert("man", HeaderValue::from_static("\"http://example.com/x\"; ns=11, \"http://www.dmtf.org/cim/mapping/http/v1.0\";ns=42"));
        assert_eq!(man_prefix(&headers).as_deref(), Some("42-"));
        headers.insert(
            "man",
            HeaderValue::from_static("http://www.dmtf.org/cim/mapping/http/v1.0"),
        );
        assert_eq!(man_prefix(&headers), None);
    }

    /// Answers with what it was given, and a CIM header of its own.
    struct Echo;

    impl CimHandler for Echo {
        fn handle(&self, req: CimRequest) -> Pin<Box<dyn Future<Output = Response> + Send>> {
            let text = format!("{:?} {:?} {}", req.cim_method, req.cim_object, req.m_post);
            let answer = Response::ok(text).with_header(
                HeaderName::from_static("cimstatuscode"),
                HeaderValue::from_static("0"),
            );
            Box::pin(std::future::ready(answer))
        }
    }

    fn head(method: &str, path: &str, headers: &[(&'static str, &'static str)]) -> RequestHead {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.append(*name, HeaderValue::from_static(value));
        }
        RequestHead {
            user: AuthenticatedUser::anonymous(),
            peer: "127.0.0.1:1".parse().unwrap(),
            tls: false,
            method: Method::from_bytes(method.as_bytes()).unwrap(),
            uri: path.parse().unwrap(),
            headers: map,
            extensions: Default::default(),
        }
    }

    fn refusal(mut head: RequestHead) -> Option<(u16, String)> {
        let refused = CimXml::new(Echo).check(&mut head).err()?;
        let cim_error = refused
            .headers
            .iter()
            .find(|(n, _)| n == "cimerror")
            .map(|(_, v)| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        Some((refused.status.as_u16(), cim_error))
    }

    const CALL: (&str, &str) = ("cimoperation", "MethodCall");

    #[test]
    fn the_head_decides_what_is_a_cim_request() {
        let not_valid = Some((400, "request-not-valid".to_owned()));
        assert_eq!(refusal(head("POST", "/cimom", &[CALL])), None);
        assert_eq!(refusal(head("POST", "/", &[CALL])), None);
        assert_eq!(refusal(head("POST", "/other", &[CALL])), not_valid);
        assert_eq!(refusal(head("POST", "/cimom", &[])), not_valid);
        let get = CimXml::new(Echo)
            .check(&mut head("GET", "/cimom", &[CALL]))
            .unwrap_err();
        assert_eq!(get.status, StatusCode::METHOD_NOT_ALLOWED);
        assert!(get
            .headers
            .iter()
            .any(|(n, v)| n == ALLOW && v == "POST, M-POST"));
        assert_eq!(
            refusal(head("POST", "/cimom", &[CALL, ("cimbatch", "CIMBatch")])),
            Some((501, "multiple-requests-unsupported".to_owned()))
        );
        assert_eq!(
            refusal(head(
                "POST",
                "/cimom",
                &[CALL, ("cimprotocolversion", "2.0")]
            )),
            Some((501, "unsupported-protocol-version".to_owned()))
        );
        assert_eq!(
            refusal(head("POST", "/cimom", &[CALL, ("cimobject", "root%2")])),
            not_valid
        );
        // M-POST: the headers count only under the prefix Man declares.
        assert_eq!(refusal(head("M-POST", "/cimom", &[CALL])), not_valid);
        let man = ("man", "http://www.dmtf.org/cim/mapping/http/v1.0; ns=12");
        assert_eq!(refusal(head("M-POST", "/cimom", &[man, CALL])), not_valid);
        assert_eq!(
            refusal(head(
                "M-POST",
                "/cimom",
                &[man, ("12-cimoperation", "MethodCall")]
            )),
            None
        );
    }

    fn call(head: RequestHead) -> Response {
        let future = CimXml::new(Echo).call(Request {
            head,
            body: Bytes::new(),
        });
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(future)
    }

    fn names(response: &Response) -> Vec<&str> {
        response.headers.iter().map(|(n, _)| n.as_str()).collect()
    }

    #[test]
    fn a_cim_answer_gets_its_headers() {
        let answer = call(head(
            "POST",
            "/cimom",
            &[
                CALL,
                ("cimmethod", "GetInstance"),
                ("cimobject", "root%2Fcimv2"),
            ],
        ));
        let Body::Full(text) = &answer.body else {
            panic!("{answer:?}")
        };
        assert_eq!(text, "Some(\"GetInstance\") Some(\"root/cimv2\") false");
        assert_eq!(
            names(&answer),
            ["cimstatuscode", "content-type", "cimoperation"]
        );
        assert_eq!(answer.headers[1].1, "application/xml; charset=\"utf-8\"");
        assert_eq!(answer.headers[2].1, "MethodResponse");

        let man = ("man", "http://www.dmtf.org/cim/mapping/http/v1.0; ns=12");
        let answer = call(head(
            "M-POST",
            "/cimom",
            &[
                man,
                ("12-cimoperation", "MethodCall"),
                ("12-cimmethod", "X"),
            ],
        ));
        let Body::Full(text) = &answer.body else {
            panic!("{answer:?}")
        };
        assert_eq!(text, "Some(\"X\") None true");
        assert_eq!(
            names(&answer),
            ["12-cimstatuscode", "content-type", "12-cimoperation", "ext"]
        );
    }

    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]
            #[test]
            fn man_parsing_never_panics(text in "[ -~]{0,80}") {
                let mut headers = HeaderMap::new();
                if let Ok(value) = HeaderValue::from_str(&text) {
                    headers.insert("man", value);
                    let _ = man_prefix(&headers);
                }
            }
        }
    }
}
