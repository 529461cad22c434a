//! Helpers for the unit tests: requests in, whole answers out.

use crate::Dispatcher;
use crate::{CimHandler, CimRequest};
use http::HeaderMap;
use openwmi_service::{AuthenticatedUser, Body, BodyPart};

/// An IMETHODCALL of `method` in root/test with these IPARAMVALUEs.
pub fn call(method: &str, params: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\" ?><CIM CIMVERSION=\"2.0\" DTDVERSION=\"2.0\">\
         <MESSAGE ID=\"9\" PROTOCOLVERSION=\"1.0\"><SIMPLEREQ><IMETHODCALL NAME=\"{method}\">\
         <LOCALNAMESPACEPATH><NAMESPACE NAME=\"root\"/><NAMESPACE NAME=\"test\"/></LOCALNAMESPACEPATH>\
         {params}</IMETHODCALL></SIMPLEREQ></MESSAGE></CIM>"
    )
}

/// What came back: the body, the trailers if any, and the response headers.
pub type Answer = (
    String,
    Option<HeaderMap>,
    Vec<(http::HeaderName, http::HeaderValue)>,
);

/// Sends `body` as user `t` with extra request `headers`; drains the body.
pub async fn answer(
    d: &Dispatcher,
    method: &str,
    namespace: &str,
    body: &str,
    headers: &[(&'static str, &'static str)],
) -> Answer {
    answer_as(d, "t", method, namespace, body, headers).await
}

/// [`answer`] as `user`.
pub async fn answer_as(
    d: &Dispatcher,
    user: &str,
    method: &str,
    namespace: &str,
    body: &str,
    headers: &[(&'static str, &'static str)],
) -> Answer {
    let (parts, trailers, response_headers) =
        answer_in_parts(d, user, method, namespace, body, headers).await;
    let data = parts.concat();
    (String::from_utf8(data).unwrap(), trailers, response_headers)
}

/// [`answer_as`] with the body in the pieces it was sent in.
pub async fn answer_in_parts(
    d: &Dispatcher,
    user: &str,
    method: &str,
    namespace: &str,
    body: &str,
    headers: &[(&'static str, &'static str)],
) -> (
    Vec<bytes::Bytes>,
    Option<HeaderMap>,
    Vec<(http::HeaderName, http::HeaderValue)>,
) {
    let mut header_map = HeaderMap::new();
    for (name, value) in headers {
        header_map.append(*name, http::HeaderValue::from_static(value));
    }
    let response = d
        .handle(CimRequest {
            user: AuthenticatedUser {
                name: user.into(),
                uid: None,
                groups: Default::default(),
            },
            peer: "127.0.0.1:1".parse().unwrap(),
            tls: false,
            cim_method: Some(method.into()),
            cim_object: Some(namespace.into()),
            m_post: false,
            headers: header_map,
            body: body.to_owned().into(),
        })
        .await;
    let mut data = Vec::new();
    let mut trailers = None;
    let mut take = |part: BodyPart| match part {
        BodyPart::Data(d) | BodyPart::Last(d) => data.push(d),
        BodyPart::Trailers(t) => trailers = Some(t),
    };
    match response.body {
        Body::Full(b) => data.push(b),
        Body::Parts(parts) => data.extend(parts),
        Body::Chunks(parts) => parts.for_each(&mut take),
        Body::Stream(mut rx) => {
            while let Some(part) = rx.recv().await {
                take(part);
            }
        }
    }
    (data, trailers, response.headers)
}
