//! The request body limit through the real server: the transport's
//! `limits.max_body_bytes` is the only bound on a CIM-XML request's size, so
//! a body of exactly the limit is answered and one byte more is `413`.

mod common;

use common::{call, exchange, head, post, start};
use std::net::SocketAddr;

const METHOD: &str = "EnumerateInstanceNames";

/// An EnumerateInstanceNames of `T_Share`, padded with a comment after the
/// root element to exactly `len` bytes.
fn request_of(len: usize) -> Vec<u8> {
    let call = call(
        METHOD,
        "<IPARAMVALUE NAME=\"ClassName\"><CLASSNAME NAME=\"T_Share\"/></IPARAMVALUE>",
    );
    let padding = len - call.len() - "<!---->".len();
    let body = format!("{call}<!--{}-->", "x".repeat(padding));
    assert_eq!(body.len(), len);
    body.into_bytes()
}

/// A body of `len` bytes sent in chunks, its length not declared.
async fn post_chunked(addr: SocketAddr, len: usize) -> (u16, String) {
    let mut bytes = head("alice", METHOD, "Transfer-Encoding: chunked\r\n").into_bytes();
    for piece in request_of(len).chunks(64 * 1024) {
        bytes.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        bytes.extend_from_slice(piece);
        bytes.extend_from_slice(b"\r\n");
    }
    bytes.extend_from_slice(b"0\r\n\r\n");
    exchange(addr, &bytes).await
}

/// A body of `len` bytes with its length declared.
async fn post_whole(addr: SocketAddr, len: usize) -> (u16, String) {
    post(addr, "alice", METHOD, &request_of(len)).await
}

/// Only the head of a request declaring `len` bytes: a refusal must come
/// before the body.
async fn declare(addr: SocketAddr, len: usize) -> u16 {
    let framing = format!("Content-Length: {len}\r\n");
    exchange(addr, head("alice", METHOD, &framing).as_bytes())
        .await
        .0
}

fn answered(reply: &(u16, String)) {
    assert_eq!(reply.0, 200, "{}", reply.1);
    assert!(
        reply.1.contains("<INSTANCENAME CLASSNAME=\"T_Share\">"),
        "{}",
        reply.1
    );
}

fn dispatcher() -> openwmi_wbem::Dispatcher {
    openwmi_wbem::Dispatcher::new(common::object_manager())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_body_limit_a_body_of_exactly_the_limit_is_answered() {
    let limit = usize::try_from(openwmi_server::Limits::default().max_body_bytes).unwrap();
    // A CIM-XML request is small: the limit bounds what a client can make
    // the server hold per connection, not what clients need.
    assert_eq!(limit, 1024 * 1024);
    let server = start(dispatcher(), |_| {}).await;
    answered(&post_whole(server.addr, limit).await);
    answered(&post_chunked(server.addr, limit).await);

    // One byte more: refused from its declared length, before the body is
    // read, or once the chunks pass the limit.
    assert_eq!(declare(server.addr, limit + 1).await, 413);
    assert_eq!(post_chunked(server.addr, limit + 1).await.0, 413);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_body_limit_a_configured_limit_is_the_only_limit() {
    // Above the decoder's former limit of its own (1 MiB).
    let limit = 3 * 1024 * 1024 + 17;
    let server = start(dispatcher(), |c| c.limits.max_body_bytes = limit as u64).await;
    answered(&post_whole(server.addr, limit).await);
    answered(&post_chunked(server.addr, limit).await);
    assert_eq!(declare(server.addr, limit + 1).await, 413);
    assert_eq!(post_chunked(server.addr, limit + 1).await.0, 413);
    server.stop().await;

    // And below it: the transport's limit alone decides.
    let limit = 4096;
    let server = start(dispatcher(), |c| c.limits.max_body_bytes = limit as u64).await;
    answered(&post_whole(server.addr, limit).await);
    assert_eq!(post_chunked(server.addr, limit + 1).await.0, 413);
    server.stop().await;
}
