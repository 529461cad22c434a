//! One HTTP request: limits, authentication, the route to a service, the
//! service's look at the head, the body, then the service.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderValue, CONNECTION, CONTENT_LENGTH, RETRY_AFTER, WWW_AUTHENTICATE};
use http::{Request, Response, StatusCode};
use http_body::{Body, Frame, SizeHint};
use http_body_util::{BodyExt, Limited};

use crate::auth::{AuthOutcome, Authenticator};
use crate::conn::{Activity, InflightGuard};
use crate::Routes;
use openwmi_service::{Body as ServiceBody, BodyPart, RequestHead};

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
    pub routes: Routes,
    /// The counters' slot of each route (`stats::register_routes`).
    pub route_slots: Vec<usize>,
    pub max_body_bytes: u64,
    pub body_read_timeout: Duration,
    pub request_timeout: Duration,
}

fn plain(status: StatusCode) -> Response<ResponseBody> {
    let mut response = Response::new(ResponseBody::empty());
    *response.status_mut() = status;
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
    let started = std::time::Instant::now();
    let route = ctx
        .route_slots
        .get(ctx.routes.index_of(request.uri().path()))
        .copied()
        .unwrap_or(0);
    let mut response = respond(&ctx, peer, tls, &activity, request).await;
    crate::stats::record_request(route, response.status().as_u16(), started.elapsed());
    response.body_mut()._inflight = Some(guard);
    Ok(response)
}

async fn respond(
    ctx: &RequestContext,
    peer: SocketAddr,
    tls: bool,
    activity: &Activity,
    request: Request<hyper::body::Incoming>,
) -> Response<ResponseBody> {
    let (parts, body) = request.into_parts();
    let http::request::Parts {
        method,
        uri,
        mut headers,
        ..
    } = parts;

    // Checked before anything else so that a huge upload costs nothing.
    let declared_length = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared_length.is_some_and(|len| len > ctx.max_body_bytes) {
        return closing(plain(StatusCode::PAYLOAD_TOO_LARGE));
    }

    let authorization = headers.remove(http::header::AUTHORIZATION);
    let mut unauthenticated = false;
    let user = match ctx
        .auth
        .authenticate(authorization.as_ref(), peer.ip())
        .await
    {
        AuthOutcome::Accepted(user) => {
            activity.authenticated();
            user
        }
        // No credentials at all, for a request its service answers without.
        AuthOutcome::Denied
            if authorization.is_none()
                && ctx
                    .routes
                    .find(uri.path())
                    .is_some_and(|s| s.admits_unauthenticated(&method, &uri, &headers)) =>
        {
            unauthenticated = true;
            openwmi_service::AuthenticatedUser::anonymous()
        }
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

    let mut head = RequestHead {
        user,
        peer,
        tls,
        method,
        uri,
        headers,
        extensions: http::Extensions::new(),
    };
    if unauthenticated {
        head.extensions.insert(openwmi_service::Unauthenticated);
    }
    let Some(service) = ctx.routes.find(head.uri.path()) else {
        return plain(StatusCode::NOT_FOUND);
    };
    if let Err(answer) = service.check(&mut head) {
        return build_response(answer);
    }

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

    let request = openwmi_service::Request { head, body };
    let answer = match tokio::time::timeout(ctx.request_timeout, service.call(request)).await {
        Ok(answer) => answer,
        Err(_) => {
            tracing::warn!(%peer, "service exceeded the request time limit");
            return closing(plain(StatusCode::GATEWAY_TIMEOUT));
        }
    };
    build_response(answer)
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
            continue; // trailers: no service reads them
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

fn build_response(answer: openwmi_service::Response) -> Response<ResponseBody> {
    let kind = match answer.body {
        ServiceBody::Full(bytes) => BodyKind::Full((!bytes.is_empty()).then_some(bytes)),
        ServiceBody::Parts(parts) => {
            let len = parts.iter().map(|p| p.len() as u64).sum();
            BodyKind::Parts(parts.into_iter(), len)
        }
        ServiceBody::Stream(rx) => BodyKind::Stream(rx),
        ServiceBody::Chunks(chunks) => BodyKind::Chunks(chunks),
    };
    let mut response = Response::new(ResponseBody {
        kind,
        _inflight: None,
    });
    *response.status_mut() = answer.status;
    let headers = response.headers_mut();
    for (name, value) in answer.headers {
        headers.append(name, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderMap;

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
}
