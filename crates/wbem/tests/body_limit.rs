//! The request body limit through the real server: the transport's
//! `limits.max_body_bytes` is the only bound on a CIM-XML request's size, so
//! a body of exactly the limit is answered and one byte more is `413`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use openwmi_cimom::ObjectManagerBuilder;
use openwmi_server::{AuthMode, Server, ServerConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;

struct Running {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Result<(), openwmi_server::ServerError>>,
    _dir: tempfile::TempDir,
}

impl Running {
    async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        tokio::time::timeout(Duration::from_secs(15), &mut self.task)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
    }
}

const MOF: &str = "Qualifier Key : boolean = false, Scope(property), Flavor(DisableOverride);\n\
                   class T_Share { [Key] string Name; };\n\
                   instance of T_Share { Name = \"public\"; };";

/// `openwmi serve` on plain HTTP without logins, with the CIM-XML
/// front-end over an object manager holding one `T_Share`.
async fn start(adjust: impl FnOnce(&mut ServerConfig)) -> Running {
    let dir = tempfile::tempdir().unwrap();
    let mut config = ServerConfig {
        listen: vec!["127.0.0.1:0".parse().unwrap()],
        http: true,
        auth: AuthMode::None,
        state_dir: Some(dir.path().join("state")),
        ..ServerConfig::default()
    };
    adjust(&mut config);
    let repo = openwmi_mof::repository_from_str("root/test", "t.mof", MOF)
        .unwrap_or_else(|e| panic!("{e:?}"));
    let dispatcher =
        openwmi_wbem::Dispatcher::new(ObjectManagerBuilder::new(repo, "testhost").build());
    let routes = openwmi_server::Routes::to(Arc::new(openwmi_wbem::CimXml::new(dispatcher)));
    let server = Server::bind(config).await.unwrap();
    let addr = server.local_addrs()[0];
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(server.run(routes, async move {
        let _ = stopped.await;
    }));
    Running {
        addr,
        stop: Some(stop),
        task,
        _dir: dir,
    }
}

/// An EnumerateInstanceNames of `T_Share`, padded with a comment after the
/// root element to exactly `len` bytes.
fn request_of(len: usize) -> Vec<u8> {
    let call = "<?xml version=\"1.0\" encoding=\"utf-8\" ?><CIM CIMVERSION=\"2.0\" DTDVERSION=\"2.0\">\
         <MESSAGE ID=\"7\" PROTOCOLVERSION=\"1.0\"><SIMPLEREQ>\
         <IMETHODCALL NAME=\"EnumerateInstanceNames\">\
         <LOCALNAMESPACEPATH><NAMESPACE NAME=\"root\"/><NAMESPACE NAME=\"test\"/></LOCALNAMESPACEPATH>\
         <IPARAMVALUE NAME=\"ClassName\"><CLASSNAME NAME=\"T_Share\"/></IPARAMVALUE>\
         </IMETHODCALL></SIMPLEREQ></MESSAGE></CIM>";
    let padding = len - call.len() - "<!---->".len();
    let body = format!("{call}<!--{}-->", "x".repeat(padding));
    assert_eq!(body.len(), len);
    body.into_bytes()
}

fn head(content: &str) -> String {
    format!(
        "POST /cimom HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/xml; charset=\"utf-8\"\r\n\
         CIMOperation: MethodCall\r\nCIMMethod: EnumerateInstanceNames\r\nCIMObject: root%2Ftest\r\n\
         {content}\r\n"
    )
}

/// Sends `bytes` on a new connection and reads the answer: its status and,
/// when it has a length, its body.
async fn exchange(addr: SocketAddr, bytes: &[u8]) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(bytes).await.unwrap();
    tokio::time::timeout(Duration::from_secs(60), read_answer(&mut stream))
        .await
        .expect("an answer within 60 s")
}

async fn read_answer(stream: &mut TcpStream) -> (u16, String) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16384];
    let head_end = loop {
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos + 4;
        }
        let n = stream.read(&mut chunk).await.unwrap();
        assert!(n > 0, "closed before an answer");
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8(buf[..head_end].to_vec()).unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let length = head
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .map_or(0, |(_, v)| v.trim().parse::<usize>().unwrap());
    while buf.len() < head_end + length {
        let n = stream.read(&mut chunk).await.unwrap();
        assert!(n > 0, "closed within the answer");
        buf.extend_from_slice(&chunk[..n]);
    }
    let body = String::from_utf8_lossy(&buf[head_end..head_end + length]).into_owned();
    (status, body)
}

/// A body of `len` bytes with its length declared.
async fn post(addr: SocketAddr, len: usize) -> (u16, String) {
    let mut bytes = head(&format!("Content-Length: {len}\r\n")).into_bytes();
    bytes.extend_from_slice(&request_of(len));
    exchange(addr, &bytes).await
}

/// A body of `len` bytes sent in chunks, its length not declared.
async fn post_chunked(addr: SocketAddr, len: usize) -> (u16, String) {
    let mut bytes = head("Transfer-Encoding: chunked\r\n").into_bytes();
    for piece in request_of(len).chunks(64 * 1024) {
        bytes.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        bytes.extend_from_slice(piece);
        bytes.extend_from_slice(b"\r\n");
    }
    bytes.extend_from_slice(b"0\r\n\r\n");
    exchange(addr, &bytes).await
}

fn answered(reply: &(u16, String)) {
    assert_eq!(reply.0, 200, "{}", reply.1);
    assert!(
        reply.1.contains("<INSTANCENAME CLASSNAME=\"T_Share\">"),
        "{}",
        reply.1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_body_limit_a_body_of_exactly_the_limit_is_answered() {
    let limit = usize::try_from(openwmi_server::Limits::default().max_body_bytes).unwrap();
    // A CIM-XML request is small: the limit bounds what a client can make
    // the server hold per connection, not what clients need.
    assert_eq!(limit, 1024 * 1024);
    let server = start(|_| {}).await;
    answered(&post(server.addr, limit).await);
    answered(&post_chunked(server.addr, limit).await);

    // One byte more: refused from its declared length, before the body is
    // read (only the head is sent), or once the chunks pass the limit.
    let over = head(&format!("Content-Length: {}\r\n", limit + 1));
    assert_eq!(exchange(server.addr, over.as_bytes()).await.0, 413);
    assert_eq!(post_chunked(server.addr, limit + 1).await.0, 413);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_body_limit_a_configured_limit_is_the_only_limit() {
    // Above the decoder's former limit of its own (1 MiB).
    let limit = 3 * 1024 * 1024 + 17;
    let server = start(|c| c.limits.max_body_bytes = limit as u64).await;
    answered(&post(server.addr, limit).await);
    answered(&post_chunked(server.addr, limit).await);
    let over = head(&format!("Content-Length: {}\r\n", limit + 1));
    assert_eq!(exchange(server.addr, over.as_bytes()).await.0, 413);
    assert_eq!(post_chunked(server.addr, limit + 1).await.0, 413);
    server.stop().await;

    // And below it: the transport's limit alone decides.
    let limit = 4096;
    let server = start(|c| c.limits.max_body_bytes = limit as u64).await;
    answered(&post(server.addr, limit).await);
    assert_eq!(post_chunked(server.addr, limit + 1).await.0, 413);
    server.stop().await;
}
