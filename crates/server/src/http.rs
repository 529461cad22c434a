//! One HTTP request: limits, authentication, the DSP0200 checks that make it
//! a CIM request, then the handler.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::header::{
    HeaderName, HeaderValue, ALLOW, CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, RETRY_AFTER,
    WWW_AUTHENTICATE,
};
use http::{HeaderMap, Method, Request, Response, StatusCode};
use http_body::{Body, Frame, SizeHint};
use http_body_util::{BodyExt, Limited};

use crate::auth::{AuthOutcome, Authenticator};
use crate::conn::{Activity, InflightGuard};
use crate::AuthenticatedUser;

/// The object manager's side of the seam: turns an authenticated CIM-XML
/// request into a response. The server has already checked credentials,
/// limits, the HTTP method, the path and the `CIMOperation: MethodCall`
/// header; the handler parses the body and checks the rest (e.g. `CIMMethod`
/// against the body: `400` with `CIMError: header-mismatch`).
pub trait CimHandler: Send + Sync + 'static {
    /// Called once for each authenticated CIM request.
    fn handle(&self, req: CimRequest) -> Pin<Box<dyn Future<Output = CimResponse> + Send>>;
}

/// An authenticated CIM request.
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
    /// Whether it came as M-POST (the server then prefixes the response's CIM headers).
    pub m_post: bool,
    /// All request headers as received (for M-POST still prefixed); the
    /// `Authorization` header is removed.
    pub headers: HeaderMap,
    /// The whole request body (at most `limits.max_body_bytes`).
    pub body: Bytes,
}

/// A response body: whole, or streamed in chunks (sent with
/// `Transfer-Encoding: chunked`).
pub enum CimResponseBody {
    Full(Bytes),
    /// A whole body held in pieces (a kept answer after this request's own
    /// head): sent with `Content-Length`, the pieces not copied, all in one
    /// write where the socket takes it.
    Parts(Vec<Bytes>),
    /// Parts made elsewhere (a blocking thread); ends when the sender is dropped.
    Stream(tokio::sync::mpsc::Receiver<BodyPart>),
    /// Parts made on demand on the connection's own task, each when the
    /// previous one has gone out: memory stays flat and no thread is
    /// involved. Only for sources that never block.
    Chunks(Box<dyn Iterator<Item = BodyPart> + Send>),
}

/// A piece of a streamed body.
#[derive(Debug)]
pub enum BodyPart {
    Data(Bytes),
    /// The last data: nothing follows (no trailers). The end of the chunked
    /// body then goes out with it, not in a write of its own after it.
    Last(Bytes),
    /// Trailer fields after the last chunk (DSP0200: `CIMStatusCode`,
    /// `CIMStatusCodeDescription`). hyper sends only those the response's
    /// `Trailer` header names, and only when the request said `TE: trailers`;
    /// anything after this part is ignored.
    Trailers(HeaderMap),
}

impl std::fmt::Debug for CimResponseBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CimResponseBody::Full(b) => f.debug_tuple("Full").field(b).finish(),
            CimResponseBody::Parts(p) => f.debug_tuple("Parts").field(p).finish(),
            CimResponseBody::Stream(rx) => f.debug_tuple("Stream").field(rx).finish(),
            CimResponseBody::Chunks(_) => f.write_str("Chunks(..)"),
        }
    }
}

/// The handler's answer. On `200` the server adds `Content-Type:
/// application/xml; charset="utf-8"` (unless present) and `CIMOperation:
/// MethodResponse`; headers whose name starts with `CIM` are prefixed for
/// M-POST requests.
#[derive(Debug)]
pub struct CimResponse {
    pub status: StatusCode,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub body: CimResponseBody,
}

impl CimResponse {
    /// `200` with a complete XML body.
    pub fn ok(body: impl Into<Bytes>) -> CimResponse {
        CimResponse {
            status: StatusCode::OK,
            headers: Vec::new(),
            body: CimResponseBody::Full(body.into()),
        }
    }

    /// `200` with a whole body in pieces (see [`CimResponseBody::Parts`]).
    pub fn ok_parts(parts: Vec<Bytes>) -> CimResponse {
        CimResponse {
            status: StatusCode::OK,
            headers: Vec::new(),
            body: CimResponseBody::Parts(parts),
        }
    }

    /// `200` with a body sent in chunks as they come from `receiver`.
    pub fn streamed(receiver: tokio::sync::mpsc::Receiver<BodyPart>) -> CimResponse {
        CimResponse {
            status: StatusCode::OK,
            headers: Vec::new(),
            body: CimResponseBody::Stream(receiver),
        }
    }

    /// `200` with a body made chunk by chunk as the connection sends it
    /// (see [`CimResponseBody::Chunks`]).
    pub fn chunked(chunks: Box<dyn Iterator<Item = BodyPart> + Send>) -> CimResponse {
        CimResponse {
            status: StatusCode::OK,
            headers: Vec::new(),
            body: CimResponseBody::Chunks(chunks),
        }
    }

    /// A protocol error: `status` with a `CIMError: <cim_error>` header (DSP0200).
    pub fn protocol_error(status: StatusCode, cim_error: &'static str) -> CimResponse {
        CimResponse {
            status,
            headers: vec![(
                HeaderName::from_static("cimerror"),
                HeaderValue::from_static(cim_error),
            )],
            body: CimResponseBody::Full(Bytes::new()),
        }
    }
}

/// The body type the server hands to hyper. Holds the connection's in-flight
/// marker until the last byte is out.
pub(crate) struct ResponseBody {
    kind: BodyKind,
    _inflight: Option<InflightGuard>,
}

enum BodyKind {
    Full(Option<Bytes>),
    /// The pieces left and their length in bytes.
    Parts(std::vec::IntoIter<Bytes>, u64),
    Stream(tokio::sync::mpsc::Receiver<BodyPart>),
    Chunks(Box<dyn Iterator<Item = BodyPart> + Send>),
    /// Trailers went out: nothing follows.
    Ended,
}

impl ResponseBody {
    fn empty() -> Self {
        ResponseBody {
            kind: BodyKind::Full(None),
            _inflight: None,
        }
    }
}

/// The frame for a part and whether nothing follows it; `None` for an
/// empty chunk (which would end the body).
fn frame(part: BodyPart) -> Option<(Frame<Bytes>, bool)> {
    match part {
        BodyPart::Data(chunk) if chunk.is_empty() => None,
        BodyPart::Data(chunk) => Some((Frame::data(chunk), false)),
        BodyPart::Last(chunk) => Some((Frame::data(chunk), true)),
        BodyPart::Trailers(fields) => Some((Frame::trailers(fields), true)),
    }
}

impl ResponseBody {
    fn emit(
        mut self: Pin<&mut Self>,
        (f, last): (Frame<Bytes>, bool),
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if last {
            self.kind = BodyKind::Ended;
        }
        Poll::Ready(Some(Ok(f)))
    }
}

impl Body for ResponseBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match &mut self.kind {
            BodyKind::Full(data) => Poll::Ready(data.take().map(|d| Ok(Frame::data(d)))),
            BodyKind::Parts(parts, left) => {
                let next = parts.find(|p| !p.is_empty());
                *left -= next.as_ref().map_or(0, |p| p.len() as u64);
                Poll::Ready(next.map(|p| Ok(Frame::data(p))))
            }
            BodyKind::Stream(rx) => loop {
                match rx.poll_recv(cx) {
                    Poll::Ready(Some(part)) => match frame(part) {
                        Some(f) => return self.emit(f),
                        None => continue,
                    },
                    Poll::Ready(None) => return Poll::Ready(None),
                    Poll::Pending => return Poll::Pending,
                }
            },
            BodyKind::Chunks(chunks) => loop {
                match chunks.next() {
                    Some(part) => match frame(part) {
                        Some(f) => return self.emit(f),
                        None => continue,
                    },
                    None => return Poll::Ready(None),
                }
            },
            BodyKind::Ended => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(
            self.kind,
            BodyKind::Full(None) | BodyKind::Parts(_, 0) | BodyKind::Ended
        )
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            BodyKind::Full(Some(d)) => SizeHint::with_exact(d.len() as u64),
            BodyKind::Full(None) => SizeHint::with_exact(0),
            BodyKind::Parts(_, left) => SizeHint::with_exact(*left),
            BodyKind::Stream(_) | BodyKind::Chunks(_) | BodyKind::Ended => SizeHint::default(),
        }
    }
}

/// Settings and shared state every request needs.
pub(crate) struct RequestContext {
    pub auth: Arc<Authenticator>,
    pub handler: Arc<dyn CimHandler>,
    pub max_body_bytes: u64,
    pub body_read_timeout: Duration,
    pub request_timeout: Duration,
}

/// The DMTF extension URI that M-POST's `Man:` header declares.
const CIM_MAPPING_URI: &str = "http://www.dmtf.org/cim/mapping/http/v1.0";

fn plain(status: StatusCode) -> Response<ResponseBody> {
    let mut response = Response::new(ResponseBody::empty());
    *response.status_mut() = status;
    response
}

fn cim_error(status: StatusCode, error: &'static str) -> Response<ResponseBody> {
    let mut response = plain(status);
    response
        .headers_mut()
        .insert("cimerror", HeaderValue::from_static(error));
    response
}

fn closing(mut response: Response<ResponseBody>) -> Response<ResponseBody> {
    response
        .headers_mut()
        .insert(CONNECTION, HeaderValue::from_static("close"));
    response
}

pub(crate) async fn serve(
    ctx: Arc<RequestContext>,
    peer: SocketAddr,
    tls: bool,
    activity: Arc<Activity>,
    request: Request<hyper::body::Incoming>,
) -> Result<Response<ResponseBody>, Infallible> {
    let guard = activity.request_started();
    let mut response = respond(&ctx, peer, tls, request).await;
    response.body_mut()._inflight = Some(guard);
    Ok(response)
}

async fn respond(
    ctx: &RequestContext,
    peer: SocketAddr,
    tls: bool,
    request: Request<hyper::body::Incoming>,
) -> Response<ResponseBody> {
    let (mut parts, body) = request.into_parts();

    // Checked before anything else so that a huge upload costs nothing.
    let declared_length = parts
        .headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared_length.is_some_and(|len| len > ctx.max_body_bytes) {
        return closing(plain(StatusCode::PAYLOAD_TOO_LARGE));
    }

    let authorization = parts.headers.remove(http::header::AUTHORIZATION);
    let user = match ctx
        .auth
        .authenticate(authorization.as_ref(), peer.ip())
        .await
    {
        AuthOutcome::Accepted(user) => user,
        AuthOutcome::Denied => {
            let mut response = plain(StatusCode::UNAUTHORIZED);
            response.headers_mut().insert(
                WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"openwmi\""),
            );
            return response;
        }
        AuthOutcome::LockedOut { retry_after } => {
            let mut response = closing(plain(StatusCode::TOO_MANY_REQUESTS));
            let seconds = retry_after.as_secs().max(1).to_string();
            if let Ok(value) = HeaderValue::from_str(&seconds) {
                response.headers_mut().insert(RETRY_AFTER, value);
            }
            return response;
        }
    };
    drop(authorization);

    let m_post = parts.method.as_str() == "M-POST";
    if parts.method != Method::POST && !m_post {
        let mut response = cim_error(StatusCode::METHOD_NOT_ALLOWED, "request-not-valid");
        response
            .headers_mut()
            .insert(ALLOW, HeaderValue::from_static("POST, M-POST"));
        return response;
    }
    if !matches!(parts.uri.path(), "/cimom" | "/") {
        return cim_error(StatusCode::BAD_REQUEST, "request-not-valid");
    }
    let prefix = if m_post {
        match man_prefix(&parts.headers) {
            Some(prefix) => prefix,
            None => return cim_error(StatusCode::BAD_REQUEST, "request-not-valid"),
        }
    } else {
        String::new()
    };
    // Looked up by `HeaderName`: by a string, the name is parsed first.
    const CIM_OPERATION: HeaderName = HeaderName::from_static("cimoperation");
    const CIM_PROTOCOL_VERSION: HeaderName = HeaderName::from_static("cimprotocolversion");
    const CIM_BATCH: HeaderName = HeaderName::from_static("cimbatch");
    const CIM_METHOD: HeaderName = HeaderName::from_static("cimmethod");
    const CIM_OBJECT: HeaderName = HeaderName::from_static("cimobject");
    let header = |name: &HeaderName| {
        if prefix.is_empty() {
            parts.headers.get(name)
        } else {
            parts.headers.get(format!("{prefix}{name}").as_str())
        }
    };
    let is_method_call = header(&CIM_OPERATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("MethodCall"));
    if !is_method_call {
        return cim_error(StatusCode::BAD_REQUEST, "request-not-valid");
    }
    if let Some(version) = header(&CIM_PROTOCOL_VERSION) {
        if !version.to_str().is_ok_and(|v| v.trim().starts_with("1.")) {
            return cim_error(StatusCode::NOT_IMPLEMENTED, "unsupported-protocol-version");
        }
    }
    if header(&CIM_BATCH).is_some() {
        return cim_error(StatusCode::NOT_IMPLEMENTED, "multiple-requests-unsupported");
    }
    let decoded = |name: &HeaderName| -> Result<Option<String>, ()> {
        match header(name) {
            None => Ok(None),
            Some(value) => openwmi_cim::percent::decode(value).map(Some).ok_or(()),
        }
    };
    let (Ok(cim_method), Ok(cim_object)) = (decoded(&CIM_METHOD), decoded(&CIM_OBJECT)) else {
        return cim_error(StatusCode::BAD_REQUEST, "request-not-valid");
    };

    let limited = Limited::new(
        body,
        usize::try_from(ctx.max_body_bytes).unwrap_or(usize::MAX),
    );
    let body = match tokio::time::timeout(ctx.body_read_timeout, whole_body(limited)).await {
        Ok(Ok(body)) => body,
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => {
            return closing(plain(StatusCode::PAYLOAD_TOO_LARGE));
        }
        Ok(Err(_)) => return closing(plain(StatusCode::BAD_REQUEST)),
        Err(_) => return closing(plain(StatusCode::REQUEST_TIMEOUT)),
    };

    let request = CimRequest {
        user,
        peer,
        tls,
        cim_method,
        cim_object,
        m_post,
        headers: std::mem::take(&mut parts.headers),
        body,
    };
    let answer = match tokio::time::timeout(ctx.request_timeout, ctx.handler.handle(request)).await
    {
        Ok(answer) => answer,
        Err(_) => {
            tracing::warn!(%peer, "handler exceeded the request time limit");
            return closing(plain(StatusCode::GATEWAY_TIMEOUT));
        }
    };
    build_response(answer, m_post.then_some(prefix.as_str()))
}

/// The body's data in one piece: the frame itself when there is one (the
/// usual case: hyper hands over what one read brought), without the queue
/// `collect` keeps.
async fn whole_body<B>(body: B) -> Result<Bytes, B::Error>
where
    B: Body<Data = Bytes>,
{
    let mut body = std::pin::pin!(body);
    let mut first: Option<Bytes> = None;
    // Only when there is more than one frame: all of them, the first included.
    let mut joined = bytes::BytesMut::new();
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame?.into_data() else {
            continue; // trailers: nothing a CIM request carries
        };
        match &first {
            None => first = Some(data),
            Some(first) => {
                if joined.is_empty() {
                    joined.extend_from_slice(first);
                }
                joined.extend_from_slice(&data);
            }
        }
    }
    Ok(if joined.is_empty() {
        first.unwrap_or_default()
    } else {
        joined.freeze()
    })
}

fn build_response(answer: CimResponse, m_post_prefix: Option<&str>) -> Response<ResponseBody> {
    let kind = match answer.body {
        CimResponseBody::Full(bytes) => BodyKind::Full((!bytes.is_empty()).then_some(bytes)),
        CimResponseBody::Parts(parts) => {
            let len = parts.iter().map(|p| p.len() as u64).sum();
            BodyKind::Parts(parts.into_iter(), len)
        }
        CimResponseBody::Stream(rx) => BodyKind::Stream(rx),
        CimResponseBody::Chunks(chunks) => BodyKind::Chunks(chunks),
    };
    let mut response = Response::new(ResponseBody {
        kind,
        _inflight: None,
    });
    *response.status_mut() = answer.status;
    let headers = response.headers_mut();
    let prefixed = |name: &HeaderName| -> HeaderName {
        match m_post_prefix {
            Some(prefix) if name.as_str().starts_with("cim") => {
                HeaderName::try_from(format!("{prefix}{}", name.as_str()))
                    .unwrap_or_else(|_| name.clone())
            }
            _ => name.clone(),
        }
    };
    for (name, value) in answer.headers {
        headers.append(prefixed(&name), value);
    }
    if answer.status == StatusCode::OK {
        if !headers.contains_key(CONTENT_TYPE) {
            headers.insert(
                CONTENT_TYPE,
                HeaderValue::from_static("application/xml; charset=\"utf-8\""),
            );
        }
        headers.insert(
            prefixed(&HeaderName::from_static("cimoperation")),
            HeaderValue::from_static("MethodResponse"),
        );
    }
    if m_post_prefix.is_some() {
        headers.insert("ext", HeaderValue::from_static(""));
    }
    response
}

/// The `NN-` header prefix that a `Man:` header declares for the DMTF CIM
/// mapping (`Man: http://www.dmtf.org/cim/mapping/http/v1.0 ; ns=73`).
pub(crate) fn man_prefix(headers: &HeaderMap) -> Option<String> {
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

    /// A body that yields the given frames, one per poll.
    struct Frames(std::collections::VecDeque<Frame<Bytes>>);

    impl Body for Frames {
        type Data = Bytes;
        type Error = Infallible;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
            Poll::Ready(self.0.pop_front().map(Ok))
        }
    }

    fn whole(frames: Vec<Frame<Bytes>>) -> Bytes {
        let body = whole_body(Frames(frames.into()));
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(body)
            .unwrap()
    }

    #[test]
    fn a_body_is_read_whole_however_it_is_framed() {
        let data = |s: &'static str| Frame::data(Bytes::from_static(s.as_bytes()));
        let one = Bytes::from_static(b"<CIM/>");
        // One frame: that frame itself, not a copy.
        let got = whole(vec![Frame::data(one.clone())]);
        assert_eq!(got, one);
        assert_eq!(got.as_ptr(), one.as_ptr());
        assert_eq!(whole(vec![data("<C"), data("IM"), data("/>")]), "<CIM/>");
        assert_eq!(whole(vec![data("<CIM"), data("/>")]), "<CIM/>");
        assert_eq!(whole(vec![]), "");
        assert_eq!(whole(vec![data(""), data("<CIM/>")]), "<CIM/>");
        assert_eq!(whole(vec![data("<CIM/>"), data("")]), "<CIM/>");
        assert_eq!(whole(vec![data(""), data(""), data("<CIM/>")]), "<CIM/>");
        let trailers = Frame::trailers(HeaderMap::new());
        assert_eq!(whole(vec![data("<CIM/>"), trailers]), "<CIM/>");
    }

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
