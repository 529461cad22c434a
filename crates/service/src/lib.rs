//! The seam between the transport (`openwmi-server`: HTTP, TLS,
//! authentication, limits) and the protocol front-ends (`openwmi-wbem` for
//! CIM-XML; a WS-Management one beside it later).
//!
//! The transport authenticates a request, picks the [`Service`] its path is
//! routed to, lets the service [check](Service::check) the request head,
//! reads the body within its limits and hands the whole [`Request`] to
//! [`Service::call`]; the [`Response`] goes back on the wire as it is. What
//! a protocol adds to HTTP (DSP0200's `CIMOperation` headers, SOAP actions)
//! belongs to its front-end: nothing here knows CIM, and nothing here pulls
//! in hyper, rustls or PAM, so a front-end builds and tests without them.

pub mod latency;

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};
use http::{HeaderMap, Method, StatusCode, Uri};

/// Who a request runs as, for the permission checks of the object manager.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticatedUser {
    /// The login name as the client sent it.
    pub name: Arc<str>,
    /// The Unix uid, for accounts checked through PAM.
    pub uid: Option<u32>,
    /// Unix group names (PAM accounts) or the groups field of the users file.
    pub groups: Arc<[String]>,
}

impl AuthenticatedUser {
    /// The user of `auth = "none"`.
    pub fn anonymous() -> Self {
        AuthenticatedUser {
            name: "anonymous".into(),
            uid: None,
            groups: Arc::default(),
        }
    }
}

/// An authenticated request before its body is read.
#[derive(Debug)]
pub struct RequestHead {
    pub user: AuthenticatedUser,
    pub peer: SocketAddr,
    /// Whether it came over TLS.
    pub tls: bool,
    pub method: Method,
    pub uri: Uri,
    /// All request headers as received, except `Authorization`.
    pub headers: HeaderMap,
    /// What the service's [`check`](Service::check) learned from the head
    /// for its [`call`](Service::call) (decoded protocol headers), so that
    /// it is not worked out twice. Empty as the transport hands it over.
    pub extensions: http::Extensions,
}

/// Marks a request the transport let through without credentials because
/// its service [admitted](Service::admits_unauthenticated) it (in
/// [`RequestHead::extensions`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unauthenticated;

/// An authenticated request with its whole body (at most the transport's
/// body limit).
#[derive(Debug)]
pub struct Request {
    pub head: RequestHead,
    pub body: Bytes,
}

/// A protocol front-end: answers the authenticated requests the transport
/// routes to it. Implementations are shared by every connection.
pub trait Service: Send + Sync + 'static {
    /// Looks at a request before its body is read: `Err` answers it at once
    /// and the body is never read (a request that is not for this protocol
    /// costs no upload); what it found may go into `head.extensions` for
    /// [`Service::call`]. The default accepts everything.
    fn check(&self, head: &mut RequestHead) -> Result<(), Response> {
        let _ = head;
        Ok(())
    }

    /// Whether the transport may hand over this request although it
    /// carries no credentials at all: for the few requests a protocol must
    /// answer unauthenticated when configured to (WS-Management's Identify
    /// sent with `WSMANIDENTIFY: unauthenticated`). Such a request runs as
    /// [`AuthenticatedUser::anonymous`] and carries [`Unauthenticated`] in
    /// its extensions, so that the service answers nothing else to it.
    /// Wrong credentials are refused whatever this says. The default admits
    /// nothing.
    fn admits_unauthenticated(&self, method: &Method, uri: &Uri, headers: &HeaderMap) -> bool {
        let _ = (method, uri, headers);
        false
    }

    /// Answers a request that [`Service::check`] accepted. The transport caps
    /// the time the returned future may take.
    fn call(&self, request: Request) -> Pin<Box<dyn Future<Output = Response> + Send>>;
}

/// A response body: whole, or streamed in chunks (sent with
/// `Transfer-Encoding: chunked`).
pub enum Body {
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
    /// `CIMStatusCodeDescription`). The transport sends only those the
    /// response's `Trailer` header names, and only when the request said
    /// `TE: trailers`; anything after this part is ignored.
    Trailers(HeaderMap),
}

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Body::Full(b) => f.debug_tuple("Full").field(b).finish(),
            Body::Parts(p) => f.debug_tuple("Parts").field(p).finish(),
            Body::Stream(rx) => f.debug_tuple("Stream").field(rx).finish(),
            Body::Chunks(_) => f.write_str("Chunks(..)"),
        }
    }
}

/// A service's answer: the transport sends the status, the headers in this
/// order and the body, adding nothing but what HTTP itself needs.
#[derive(Debug)]
pub struct Response {
    pub status: StatusCode,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub body: Body,
}

impl Response {
    /// `status` with no headers and an empty body.
    pub fn empty(status: StatusCode) -> Response {
        Response {
            status,
            headers: Vec::new(),
            body: Body::Full(Bytes::new()),
        }
    }

    /// `200` with a complete body.
    pub fn ok(body: impl Into<Bytes>) -> Response {
        Response {
            status: StatusCode::OK,
            headers: Vec::new(),
            body: Body::Full(body.into()),
        }
    }

    /// `200` with a whole body in pieces (see [`Body::Parts`]).
    pub fn ok_parts(parts: Vec<Bytes>) -> Response {
        Response {
            status: StatusCode::OK,
            headers: Vec::new(),
            body: Body::Parts(parts),
        }
    }

    /// `200` with a body sent in chunks as they come from `receiver`.
    pub fn streamed(receiver: tokio::sync::mpsc::Receiver<BodyPart>) -> Response {
        Response {
            status: StatusCode::OK,
            headers: Vec::new(),
            body: Body::Stream(receiver),
        }
    }

    /// `200` with a body made chunk by chunk as the connection sends it
    /// (see [`Body::Chunks`]).
    pub fn chunked(chunks: Box<dyn Iterator<Item = BodyPart> + Send>) -> Response {
        Response {
            status: StatusCode::OK,
            headers: Vec::new(),
            body: Body::Chunks(chunks),
        }
    }

    /// Adds a header (after those already there).
    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Response {
        self.headers.push((name, value));
        self
    }
}
