//! The server over real sockets, with the CIM-XML front-end (DSP0200's HTTP
//! rules) around a handler that echoes what it was given.

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHasher, SaltString};
use base64::Engine;
use bytes::Bytes;
use openwmi_server::{
    passwd, AuthMode, Routes, Server, ServerConfig, ServerError, ServerRuntime, Service,
};
use openwmi_service::{BodyPart, Response as CimResponse};
use openwmi_wbem::{CimHandler, CimRequest, CimXml};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::oneshot;

// ---------------------------------------------------------------- handler

struct Echo {
    calls: Arc<AtomicUsize>,
}

impl CimHandler for Echo {
    fn handle(&self, req: CimRequest) -> Pin<Box<dyn Future<Output = CimResponse> + Send>> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Box::pin(async move {
            match req.cim_method.as_deref() {
                Some("Stream") => {
                    // 64 chunks of 64 KiB.
                    let (tx, rx) = tokio::sync::mpsc::channel(4);
                    tokio::spawn(async move {
                        for i in 0..64u8 {
                            let chunk = Bytes::from(vec![b'a' + (i % 26); 64 * 1024]);
                            if tx.send(BodyPart::Data(chunk)).await.is_err() {
                                return;
                            }
                        }
                    });
                    CimResponse::streamed(rx)
                }
                Some("Chunks") => {
                    // 64 chunks of 64 KiB, made as the connection asks for them.
                    CimResponse::chunked(Box::new((0..64u8).map(|i| {
                        BodyPart::Data(Bytes::from(vec![b'a' + (i % 26); 64 * 1024]))
                    })))
                }
                Some("Trailers") => {
                    // Two chunks, then the status as DSP0200 trailers.
                    let mut fields = http::HeaderMap::new();
                    fields.insert("cimstatuscode", http::HeaderValue::from_static("1"));
                    fields.insert(
                        "cimstatuscodedescription",
                        http::HeaderValue::from_static("source%20failed"),
                    );
                    let parts = vec![
                        BodyPart::Data(Bytes::from_static(b"<CIM>")),
                        BodyPart::Data(Bytes::from_static(b"<MESSAGE")),
                        BodyPart::Trailers(fields),
                        BodyPart::Data(Bytes::from_static(b"never sent")),
                    ];
                    let mut response = CimResponse::chunked(Box::new(parts.into_iter()));
                    response.headers.push((
                        http::header::TRAILER,
                        http::HeaderValue::from_static("CIMStatusCode, CIMStatusCodeDescription"),
                    ));
                    response
                }
                Some("Last") => {
                    // The last part says so: nothing after it is sent.
                    CimResponse::chunked(Box::new(
                        vec![
                            BodyPart::Data(Bytes::from_static(b"<CIM>")),
                            BodyPart::Last(Bytes::from_static(b"<MESSAGE/>")),
                            BodyPart::Data(Bytes::from_static(b"never sent")),
                        ]
                        .into_iter(),
                    ))
                }
                Some("Parts") => CimResponse::ok_parts(vec![
                    Bytes::from_static(b"<CIM>"),
                    Bytes::new(),
                    Bytes::from(vec![b'x'; 100_000]),
                    Bytes::from_static(b"</CIM>"),
                ]),
                Some("Sleep") => {
                    tokio::time::sleep(Duration::from_secs(30)).await;
                    CimResponse::ok("late")
                }
                Some("Mismatch") => {
                    openwmi_wbem::protocol_error(http::StatusCode::BAD_REQUEST, "header-mismatch")
                }
                _ => CimResponse::ok(format!(
                    "user={} uid={:?} groups={} method={} object={} tls={} mpost={} auth-header={} body={}",
                    req.user.name,
                    req.user.uid,
                    req.user.groups.join(","),
                    req.cim_method.unwrap_or_default(),
                    req.cim_object.unwrap_or_default(),
                    req.tls,
                    req.m_post,
                    req.headers.contains_key("authorization"),
                    String::from_utf8_lossy(&req.body),
                )),
            }
        })
    }
}

/// The routes of `openwmi serve`: everything to the CIM-XML front-end.
fn cim_xml(echo: Echo) -> Routes {
    Routes::to(Arc::new(CimXml::new(echo)))
}

// ---------------------------------------------------------------- server

struct Running {
    addr: SocketAddr,
    calls: Arc<AtomicUsize>,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Result<(), ServerError>>,
    _dir: Option<tempfile::TempDir>,
}

impl Running {
    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        tokio::time::timeout(Duration::from_secs(15), &mut self.task)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
    }
}

/// argon2id with tiny parameters: debug builds verify the real ones slowly.
fn cheap_hash(password: &str) -> String {
    let params = argon2::Params::new(64, 1, 1, None).unwrap();
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let salt = SaltString::encode_b64(b"0123456789abcdef").unwrap();
    argon
        .hash_password(password.as_bytes(), &salt)
        .unwrap()
        .to_string()
}

/// Plain HTTP on 127.0.0.1:0 with users alice/secret (groups wheel, adm) and bob/builder.
fn base_config(dir: &Path) -> ServerConfig {
    let users = dir.join("users");
    std::fs::write(
        &users,
        format!(
            "# test users\nalice:{}:wheel,adm\nbob:{}\n",
            cheap_hash("secret"),
            cheap_hash("builder")
        ),
    )
    .unwrap();
    ServerConfig {
        listen: vec!["127.0.0.1:0".parse().unwrap()],
        http: true,
        users_file: Some(users),
        pam: Some(false),
        state_dir: Some(dir.join("state")),
        ..ServerConfig::default()
    }
}

async fn start_with(config: ServerConfig, dir: Option<tempfile::TempDir>) -> Running {
    let server = Server::bind(config).await.unwrap();
    let addr = server.local_addrs()[0];
    let calls = Arc::new(AtomicUsize::new(0));
    let handler = cim_xml(Echo {
        calls: Arc::clone(&calls),
    });
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(server.run(handler, async move {
        let _ = stopped.await;
    }));
    Running {
        addr,
        calls,
        stop: Some(stop),
        task,
        _dir: dir,
    }
}

async fn start(adjust: impl FnOnce(&mut ServerConfig)) -> Running {
    let dir = tempfile::tempdir().unwrap();
    let mut config = base_config(dir.path());
    adjust(&mut config);
    start_with(config, Some(dir)).await
}

// ---------------------------------------------------------------- raw HTTP client

#[derive(Debug)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

fn basic(user: &str, password: &str) -> String {
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Authorization: Basic {token}\r\n")
}

const BODY: &str = "<?xml version=\"1.0\"?><CIM/>";

/// A pywbem-like CIM request.
fn cim_post(auth: &str, method: &str, extra: &str) -> Vec<u8> {
    format!(
        "POST /cimom HTTP/1.1\r\nHost: localhost\r\n{auth}Content-Type: application/xml; charset=\"utf-8\"\r\n\
         CIMOperation: MethodCall\r\nCIMMethod: {method}\r\nCIMObject: root%2Fcimv2\r\n{extra}\
         Content-Length: {}\r\n\r\n{BODY}",
        BODY.len()
    )
    .into_bytes()
}

async fn read_response<S: AsyncRead + Unpin>(
    stream: &mut S,
    buf: &mut Vec<u8>,
) -> std::io::Result<Reply> {
    async fn fill<S: AsyncRead + Unpin>(
        stream: &mut S,
        buf: &mut Vec<u8>,
    ) -> std::io::Result<usize> {
        let mut chunk = [0u8; 16384];
        let n = stream.read(&mut chunk).await?;
        buf.extend_from_slice(&chunk[..n]);
        Ok(n)
    }
    let head_end = loop {
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos;
        }
        if fill(stream, buf).await? == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "closed before a response",
            ));
        }
    };
    let head = String::from_utf8(buf[..head_end].to_vec()).unwrap();
    buf.drain(..head_end + 4);
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .map(|l| {
            let (n, v) = l.split_once(':').unwrap();
            (n.trim().to_string(), v.trim().to_string())
        })
        .collect();
    let mut reply = Reply {
        status,
        headers,
        body: Vec::new(),
    };
    if let Some(len) = reply.header("content-length") {
        let len: usize = len.parse().unwrap();
        while buf.len() < len {
            if fill(stream, buf).await? == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
        }
        reply.body = buf.drain(..len).collect();
    } else if reply
        .header("transfer-encoding")
        .is_some_and(|t| t.eq_ignore_ascii_case("chunked"))
    {
        loop {
            let line_end = loop {
                if let Some(pos) = buf.windows(2).position(|w| w == b"\r\n") {
                    break pos;
                }
                if fill(stream, buf).await? == 0 {
                    return Err(std::io::ErrorKind::UnexpectedEof.into());
                }
            };
            let size_text = String::from_utf8(buf[..line_end].to_vec()).unwrap();
            let size =
                usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16).unwrap();
            buf.drain(..line_end + 2);
            while buf.len() < size + 2 {
                if fill(stream, buf).await? == 0 {
                    return Err(std::io::ErrorKind::UnexpectedEof.into());
                }
            }
            reply.body.extend(buf.drain(..size));
            buf.drain(..2);
            if size == 0 {
                break;
            }
        }
    }
    Ok(reply)
}

/// Sends one request on a new connection and reads one response.
async fn exchange(addr: SocketAddr, request: &[u8]) -> Reply {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut buf = Vec::new();
    tokio::time::timeout(
        Duration::from_secs(10),
        read_response(&mut stream, &mut buf),
    )
    .await
    .unwrap()
    .unwrap()
}

/// Whether the server closes the connection within `within` (EOF or reset).
async fn closed_within<S: AsyncRead + Unpin>(stream: &mut S, within: Duration) -> bool {
    let mut sink = [0u8; 4096];
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut sink)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
        }
    }
}

async fn connect_from(source: &str, addr: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(format!("{source}:0").parse().unwrap()).unwrap();
    socket.connect(addr).await.unwrap()
}

// ---------------------------------------------------------------- tests

#[tokio::test]
async fn authenticated_cim_request_reaches_the_handler() {
    let server = start(|_| {}).await;
    let reply = exchange(
        server.addr,
        &cim_post(&basic("alice", "secret"), "GetInstance", ""),
    )
    .await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(
        reply.header("content-type"),
        Some("application/xml; charset=\"utf-8\"")
    );
    assert_eq!(reply.header("cimoperation"), Some("MethodResponse"));
    let text = reply.text();
    assert!(
        text.contains("user=alice uid=None groups=wheel,adm"),
        "{text}"
    );
    assert!(
        text.contains("method=GetInstance object=root/cimv2 tls=false mpost=false"),
        "{text}"
    );
    assert!(
        text.contains("auth-header=false"),
        "the handler must not see credentials: {text}"
    );
    assert!(text.ends_with(BODY), "{text}");
    assert_eq!(server.calls(), 1);
    server.stop().await;
}

#[tokio::test]
async fn no_authorization_header_never_reaches_the_handler() {
    // The OMIGOD case: a request without any Authorization header.
    let server = start(|_| {}).await;
    let reply = exchange(server.addr, &cim_post("", "GetInstance", "")).await;
    assert_eq!(reply.status, 401);
    assert_eq!(
        reply.header("www-authenticate"),
        Some("Basic realm=\"openwmi\"")
    );
    // Not even a non-CIM request tells anything before authentication.
    let reply = exchange(server.addr, b"GET /secret HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert_eq!(reply.status, 401);
    let reply = exchange(
        server.addr,
        &cim_post("Authorization: Bearer abc\r\n", "GetInstance", ""),
    )
    .await;
    assert_eq!(reply.status, 401);
    let reply = exchange(
        server.addr,
        &cim_post("Authorization: Basic !!!\r\n", "GetInstance", ""),
    )
    .await;
    assert_eq!(reply.status, 401);
    assert_eq!(server.calls(), 0);
    server.stop().await;
}

#[tokio::test]
async fn wrong_password_and_unknown_user_are_refused() {
    let server = start(|_| {}).await;
    for (user, password) in [
        ("alice", "Secret"),
        ("alice", ""),
        ("mallory", "secret"),
        ("bob", "secret"),
    ] {
        let reply = exchange(
            server.addr,
            &cim_post(&basic(user, password), "GetInstance", ""),
        )
        .await;
        assert_eq!(reply.status, 401, "{user}/{password}");
        assert!(reply
            .header("www-authenticate")
            .unwrap()
            .starts_with("Basic"));
    }
    assert_eq!(server.calls(), 0);
    let reply = exchange(
        server.addr,
        &cim_post(&basic("bob", "builder"), "GetInstance", ""),
    )
    .await;
    assert_eq!(reply.status, 200);
    server.stop().await;
}

#[tokio::test]
async fn repeated_failures_lock_out_the_address_only() {
    let server = start(|c| {
        c.limits.max_auth_failures = 5;
        c.limits.auth_lockout_secs = 1.5;
    })
    .await;
    for attempt in 0..5 {
        let mut stream = connect_from("127.0.0.2", server.addr).await;
        stream
            .write_all(&cim_post(&basic("alice", "guess"), "GetInstance", ""))
            .await
            .unwrap();
        let reply = read_response(&mut stream, &mut Vec::new()).await.unwrap();
        assert_eq!(reply.status, 401, "attempt {attempt}");
    }
    // Locked out now, even with the right password.
    let mut stream = connect_from("127.0.0.2", server.addr).await;
    stream
        .write_all(&cim_post(&basic("alice", "secret"), "GetInstance", ""))
        .await
        .unwrap();
    let reply = read_response(&mut stream, &mut Vec::new()).await.unwrap();
    assert_eq!(reply.status, 429);
    assert!(reply.header("retry-after").is_some());
    // Other addresses are not affected.
    let reply = exchange(
        server.addr,
        &cim_post(&basic("alice", "secret"), "GetInstance", ""),
    )
    .await;
    assert_eq!(reply.status, 200);
    // The lockout ends.
    tokio::time::sleep(Duration::from_millis(1600)).await;
    let mut stream = connect_from("127.0.0.2", server.addr).await;
    stream
        .write_all(&cim_post(&basic("alice", "secret"), "GetInstance", ""))
        .await
        .unwrap();
    let reply = read_response(&mut stream, &mut Vec::new()).await.unwrap();
    assert_eq!(reply.status, 200);
    assert_eq!(server.calls(), 2);
    server.stop().await;
}

#[tokio::test]
async fn huge_content_length_is_refused_without_reading() {
    let server = start(|_| {}).await;
    let started = Instant::now();
    let request = format!(
        "POST /cimom HTTP/1.1\r\nHost: x\r\n{}CIMOperation: MethodCall\r\nContent-Length: 1073741824\r\n\r\n<CIM",
        basic("alice", "secret")
    );
    let reply = exchange(server.addr, request.as_bytes()).await;
    assert_eq!(reply.status, 413);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(server.calls(), 0);
    server.stop().await;
}

#[tokio::test]
async fn chunked_upload_over_the_limit_is_refused() {
    let server = start(|c| c.limits.max_body_bytes = 1000).await;
    let chunk = "x".repeat(800);
    let request = format!(
        "POST /cimom HTTP/1.1\r\nHost: x\r\n{}CIMOperation: MethodCall\r\nTransfer-Encoding: chunked\r\n\r\n\
         320\r\n{chunk}\r\n320\r\n{chunk}\r\n0\r\n\r\n",
        basic("alice", "secret")
    );
    let reply = exchange(server.addr, request.as_bytes()).await;
    assert_eq!(reply.status, 413);
    assert_eq!(server.calls(), 0);
    server.stop().await;
}

#[tokio::test]
async fn slow_client_is_cut_off_while_others_are_served() {
    let server = start(|c| {
        c.limits.header_read_timeout_secs = 1.0;
        c.limits.body_read_timeout_secs = 1.0;
    })
    .await;
    let request = cim_post(&basic("alice", "secret"), "GetInstance", "");
    // One byte a second in the request head.
    let addr = server.addr;
    let head_dribbler = tokio::spawn(async move {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let started = Instant::now();
        for byte in b"POST /cimom HTTP/1.1\r\nHost: x\r\n" {
            if stream.write_all(&[*byte]).await.is_err() {
                break;
            }
            let mut probe = [0u8; 64];
            match tokio::time::timeout(Duration::from_secs(1), stream.read(&mut probe)).await {
                Ok(Ok(0)) | Ok(Err(_)) => return started.elapsed(),
                _ => {}
            }
        }
        Duration::MAX
    });
    // One byte a second in the body.
    let body_dribbler = tokio::spawn(async move {
        let stream = TcpStream::connect(addr).await.unwrap();
        let (mut reader, mut writer) = stream.into_split();
        let head = format!(
            "POST /cimom HTTP/1.1\r\nHost: x\r\n{}CIMOperation: MethodCall\r\nContent-Length: 100\r\n\r\n",
            basic("alice", "secret")
        );
        writer.write_all(head.as_bytes()).await.unwrap();
        let dribble = async {
            for _ in 0..100 {
                if writer.write_all(b"x").await.is_err() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        };
        let mut buf = Vec::new();
        tokio::select! {
            _ = dribble => None,
            reply = read_response(&mut reader, &mut buf) => Some(reply.map(|r| r.status).ok()),
        }
    });
    // Meanwhile a normal client gets answers.
    for _ in 0..3 {
        let reply = exchange(server.addr, &request).await;
        assert_eq!(reply.status, 200);
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let cut_after = head_dribbler.await.unwrap();
    assert!(
        cut_after < Duration::from_secs(4),
        "slow head not cut off: {cut_after:?}"
    );
    assert_eq!(body_dribbler.await.unwrap(), Some(Some(408)));
    assert_eq!(server.calls(), 3);
    server.stop().await;
}

#[tokio::test]
async fn idle_keep_alive_connections_are_closed() {
    let server = start(|c| c.limits.idle_timeout_secs = 0.5).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    let request = cim_post(&basic("alice", "secret"), "GetInstance", "");
    let mut buf = Vec::new();
    for _ in 0..3 {
        stream.write_all(&request).await.unwrap();
        assert_eq!(
            read_response(&mut stream, &mut buf).await.unwrap().status,
            200
        );
    }
    let started = Instant::now();
    assert!(closed_within(&mut stream, Duration::from_secs(3)).await);
    assert!(
        started.elapsed() >= Duration::from_millis(400),
        "{:?}",
        started.elapsed()
    );
    server.stop().await;
}

#[tokio::test]
async fn http_1_0_without_keep_alive_is_closed() {
    let server = start(|_| {}).await;
    let request = String::from_utf8(cim_post(&basic("alice", "secret"), "GetInstance", ""))
        .unwrap()
        .replacen("HTTP/1.1", "HTTP/1.0", 1);
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let reply = read_response(&mut stream, &mut Vec::new()).await.unwrap();
    assert_eq!(reply.status, 200);
    assert!(closed_within(&mut stream, Duration::from_secs(2)).await);
    server.stop().await;
}

#[tokio::test]
async fn connection_limit_refuses_extra_connections() {
    let server = start(|c| {
        c.limits.max_connections = 2;
        // The limit over all addresses, not the one per address.
        c.limits.max_connections_per_address = Some(2);
    })
    .await;
    let first = TcpStream::connect(server.addr).await.unwrap();
    let second = TcpStream::connect(server.addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let reply = exchange(
        server.addr,
        &cim_post(&basic("alice", "secret"), "GetInstance", ""),
    )
    .await;
    assert_eq!(reply.status, 503);
    drop(first);
    drop(second);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let reply = exchange(
        server.addr,
        &cim_post(&basic("alice", "secret"), "GetInstance", ""),
    )
    .await;
    assert_eq!(reply.status, 200);
    server.stop().await;
}

#[tokio::test]
async fn oversized_headers_get_431() {
    let server = start(|c| c.limits.max_header_bytes = 16 * 1024).await;
    let big = format!("X-Filler: {}\r\n", "y".repeat(64 * 1024));
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    let request = cim_post(&basic("alice", "secret"), "GetInstance", &big);
    let _ = stream.write_all(&request).await;
    let reply = read_response(&mut stream, &mut Vec::new()).await.unwrap();
    assert_eq!(reply.status, 431);
    assert!(closed_within(&mut stream, Duration::from_secs(2)).await);
    assert_eq!(server.calls(), 0);
    server.stop().await;
}

#[tokio::test]
async fn requests_that_are_not_cim_get_dsp0200_errors() {
    let server = start(|_| {}).await;
    let auth = basic("alice", "secret");
    let no_operation =
        format!("POST /cimom HTTP/1.1\r\nHost: x\r\n{auth}Content-Length: 0\r\n\r\n");
    let reply = exchange(server.addr, no_operation.as_bytes()).await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.header("cimerror"), Some("request-not-valid"));

    let wrong_operation = String::from_utf8(cim_post(&auth, "GetInstance", ""))
        .unwrap()
        .replace("MethodCall", "MethodResponse");
    assert_eq!(
        exchange(server.addr, wrong_operation.as_bytes())
            .await
            .status,
        400
    );

    let get = format!("GET /cimom HTTP/1.1\r\nHost: x\r\n{auth}\r\n");
    let reply = exchange(server.addr, get.as_bytes()).await;
    assert_eq!(reply.status, 405);
    assert_eq!(reply.header("allow"), Some("POST, M-POST"));
    assert!(reply.header("cimerror").is_some());

    let wrong_path = String::from_utf8(cim_post(&auth, "GetInstance", ""))
        .unwrap()
        .replace("/cimom", "/other");
    let reply = exchange(server.addr, wrong_path.as_bytes()).await;
    assert_eq!(reply.status, 400);
    assert!(reply.header("cimerror").is_some());

    let root_path = String::from_utf8(cim_post(&auth, "GetInstance", ""))
        .unwrap()
        .replace("/cimom", "/");
    assert_eq!(
        exchange(server.addr, root_path.as_bytes()).await.status,
        200
    );

    let batch = cim_post(&auth, "GetInstance", "CIMBatch: CIMBatch\r\n");
    let reply = exchange(server.addr, &batch).await;
    assert_eq!(reply.status, 501);
    assert_eq!(
        reply.header("cimerror"),
        Some("multiple-requests-unsupported")
    );

    let version = cim_post(&auth, "GetInstance", "CIMProtocolVersion: 2.0\r\n");
    assert_eq!(
        exchange(server.addr, &version).await.header("cimerror"),
        Some("unsupported-protocol-version")
    );
    let version = cim_post(&auth, "GetInstance", "CIMProtocolVersion: 1.0\r\n");
    assert_eq!(exchange(server.addr, &version).await.status, 200);

    // The handler's own protocol errors pass through (no MethodResponse header).
    let reply = exchange(server.addr, &cim_post(&auth, "Mismatch", "")).await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.header("cimerror"), Some("header-mismatch"));
    assert_eq!(reply.header("cimoperation"), None);
    assert_eq!(server.calls(), 3);
    server.stop().await;
}

/// A front-end of another protocol: answers with what it was given.
struct Plain;

impl Service for Plain {
    fn call(
        &self,
        req: openwmi_service::Request,
    ) -> Pin<Box<dyn Future<Output = CimResponse> + Send>> {
        let text = format!(
            "plain {} {} user={} body={}",
            req.head.method,
            req.head.uri.path(),
            req.head.user.name,
            String::from_utf8_lossy(&req.body)
        );
        Box::pin(std::future::ready(CimResponse::ok(text)))
    }
}

#[tokio::test]
async fn the_transport_routes_by_path_and_adds_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::bind(base_config(dir.path())).await.unwrap();
    let addr = server.local_addrs()[0];
    let calls = Arc::new(AtomicUsize::new(0));
    let routes = Routes::default().route("/wsman", Arc::new(Plain)).route(
        "/cimom",
        Arc::new(CimXml::new(Echo {
            calls: Arc::clone(&calls),
        })),
    );
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(server.run(routes, async move {
        let _ = stopped.await;
    }));
    let auth = basic("alice", "secret");
    // Authentication comes before any route.
    let reply = exchange(addr, b"GET /wsman HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert_eq!(reply.status, 401);
    let plain = format!("PUT /wsman HTTP/1.1\r\nHost: x\r\n{auth}Content-Length: 2\r\n\r\nhi");
    let reply = exchange(addr, plain.as_bytes()).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.text(), "plain PUT /wsman user=alice body=hi");
    assert_eq!(reply.header("cimoperation"), None);
    assert_eq!(reply.header("content-type"), None);
    // No route and no fallback.
    let unrouted = format!("POST / HTTP/1.1\r\nHost: x\r\n{auth}Content-Length: 0\r\n\r\n");
    let reply = exchange(addr, unrouted.as_bytes()).await;
    assert_eq!(reply.status, 404);
    assert_eq!(reply.header("cimerror"), None);
    // CIM-XML on its own path, beside it.
    let reply = exchange(addr, &cim_post(&auth, "GetInstance", "")).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("cimoperation"), Some("MethodResponse"));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    let _ = stop.send(());
    task.await.unwrap().unwrap();
}

#[tokio::test]
async fn m_post_with_man_prefixes_works() {
    let server = start(|_| {}).await;
    let request = format!(
        "M-POST /cimom HTTP/1.1\r\nHost: x\r\n{}Content-Type: application/xml\r\n\
         Man: http://www.dmtf.org/cim/mapping/http/v1.0 ; ns=73\r\n73-CIMOperation: MethodCall\r\n\
         73-CIMMethod: EnumerateInstances\r\n73-CIMObject: root%2Finterop\r\nContent-Length: {}\r\n\r\n{BODY}",
        basic("alice", "secret"),
        BODY.len()
    );
    let reply = exchange(server.addr, request.as_bytes()).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.header("73-cimoperation"), Some("MethodResponse"));
    assert!(reply.header("ext").is_some());
    let text = reply.text();
    assert!(
        text.contains("method=EnumerateInstances object=root/interop tls=false mpost=true"),
        "{text}"
    );
    // Without the Man declaration the prefixed headers mean nothing.
    let no_man = request.replace(
        "Man: http://www.dmtf.org/cim/mapping/http/v1.0 ; ns=73\r\n",
        "",
    );
    let reply = exchange(server.addr, no_man.as_bytes()).await;
    assert_eq!(reply.status, 400);
    assert_eq!(server.calls(), 1);
    server.stop().await;
}

#[tokio::test]
async fn streamed_responses_are_chunked() {
    let server = start(|_| {}).await;
    // From a channel (a blocking thread) and made on demand (the connection's task).
    for method in ["Stream", "Chunks"] {
        let reply = exchange(
            server.addr,
            &cim_post(&basic("alice", "secret"), method, ""),
        )
        .await;
        assert_eq!(reply.status, 200, "{method}");
        assert_eq!(reply.header("transfer-encoding"), Some("chunked"));
        assert_eq!(reply.header("content-length"), None);
        assert_eq!(reply.body.len(), 64 * 64 * 1024, "{method}");
        assert!(reply.body[..65536].iter().all(|b| *b == b'a'));
        assert!(reply.body[65536..131072].iter().all(|b| *b == b'b'));
        let last = &reply.body[64 * 63 * 1024..];
        assert!(last.iter().all(|b| *b == b'a' + 63 % 26), "{method}");
    }
    server.stop().await;
}

#[tokio::test]
async fn trailers_go_to_clients_that_ask_for_them() {
    let server = start(|_| {}).await;
    let request = cim_post(&basic("alice", "secret"), "Trailers", "");
    let with_te = cim_post(&basic("alice", "secret"), "Trailers", "TE: trailers\r\n");
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream.write_all(&with_te).await.unwrap();
    let mut raw = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => raw.extend_from_slice(&buf[..n]),
            }
            if raw.ends_with(b"\r\n\r\n") && raw.windows(3).any(|w| w == b"\r\n0") {
                break;
            }
        }
    })
    .await;
    let text = String::from_utf8_lossy(&raw).to_ascii_lowercase();
    assert!(text.contains("transfer-encoding: chunked"), "{text}");
    assert!(
        text.ends_with(
            "\r\n\r\n5\r\n<cim>\r\n8\r\n<message\r\n0\r\n\
             cimstatuscode: 1\r\ncimstatuscodedescription: source%20failed\r\n\r\n"
        ),
        "{text}"
    );
    assert!(!text.contains("never sent"), "{text}");

    // Without TE: trailers the body just ends.
    let reply = exchange(server.addr, &request).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body, b"<CIM><MESSAGE");
    server.stop().await;
}

#[tokio::test]
async fn a_last_part_ends_the_chunked_body() {
    let server = start(|_| {}).await;
    let request = cim_post(&basic("alice", "secret"), "Last", "");
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    let mut buf = Vec::new();
    // Twice on one connection: the body ended where it should.
    for _ in 0..2 {
        stream.write_all(&request).await.unwrap();
        let reply = tokio::time::timeout(
            Duration::from_secs(10),
            read_response(&mut stream, &mut buf),
        )
        .await
        .unwrap()
        .unwrap();
        assert_eq!(reply.status, 200);
        assert_eq!(reply.header("transfer-encoding"), Some("chunked"));
        assert_eq!(reply.body, b"<CIM><MESSAGE/>");
    }
    assert!(buf.is_empty(), "{}", String::from_utf8_lossy(&buf));
    server.stop().await;
}

#[tokio::test]
async fn a_body_in_parts_goes_whole_with_its_length() {
    let server = start(|_| {}).await;
    let reply = exchange(
        server.addr,
        &cim_post(&basic("alice", "secret"), "Parts", ""),
    )
    .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-length"), Some("100011"));
    assert_eq!(reply.header("transfer-encoding"), None);
    assert!(reply.body.starts_with(b"<CIM>xxx") && reply.body.ends_with(b"xxx</CIM>"));
    assert_eq!(reply.body.len(), 100_011);
    server.stop().await;
}

#[tokio::test]
async fn handler_time_is_capped() {
    let server = start(|c| c.limits.request_timeout_secs = 0.3).await;
    let started = Instant::now();
    let reply = exchange(
        server.addr,
        &cim_post(&basic("alice", "secret"), "Sleep", ""),
    )
    .await;
    assert_eq!(reply.status, 504);
    assert!(started.elapsed() < Duration::from_secs(5));
    server.stop().await;
}

#[tokio::test]
async fn keep_alive_serves_many_requests_on_one_connection() {
    let server = start(|_| {}).await;
    let request = cim_post(&basic("alice", "secret"), "GetInstance", "");
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    let mut buf = Vec::new();
    let count = 500;
    let started = Instant::now();
    for _ in 0..count {
        stream.write_all(&request).await.unwrap();
        let reply = read_response(&mut stream, &mut buf).await.unwrap();
        assert_eq!(reply.status, 200);
    }
    let elapsed = started.elapsed();
    eprintln!(
        "{count} authenticated requests on one connection in {elapsed:?} ({:.0}/s, debug build)",
        f64::from(count) / elapsed.as_secs_f64()
    );
    assert_eq!(server.calls(), count as usize);
    server.stop().await;
}

/// The runtime `openwmi serve` uses, with its busy polling: logins (checked
/// on the blocking pool, so their answers wake the worker from another
/// thread), keep-alive requests and new connections are all answered, with
/// the widest polling window and one worker.
#[test]
fn busy_polling_runtime_serves_logins_and_keep_alive() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = base_config(dir.path());
    config.threads = Some(1);
    config.busy_poll_us = 1000;
    let runtime = Arc::new(ServerRuntime::new(&config).unwrap());
    assert!(runtime.busy_poll().is_some());
    let server = runtime
        .block_on(Server::bind(config))
        .unwrap()
        .with_busy_poll(runtime.busy_poll());
    let addr = server.local_addrs()[0];
    let calls = Arc::new(AtomicUsize::new(0));
    let handler = cim_xml(Echo {
        calls: Arc::clone(&calls),
    });
    let (stop, stopped) = std::sync::mpsc::channel::<()>();
    let serving = {
        let runtime = Arc::clone(&runtime);
        std::thread::spawn(move || {
            runtime.block_on(server.run(handler, async move {
                tokio::task::spawn_blocking(move || stopped.recv())
                    .await
                    .ok();
            }))
        })
    };
    // A client of its own: a blocking one, as a script would be.
    let ask = |stream: &mut std::net::TcpStream, request: &[u8]| -> String {
        use std::io::{Read, Write};
        stream.write_all(request).unwrap();
        let mut got = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            let n = stream.read(&mut chunk).unwrap();
            assert!(n > 0, "closed");
            got.extend_from_slice(&chunk[..n]);
            let text = String::from_utf8_lossy(&got).into_owned();
            if let Some(end) = text.find("\r\n\r\n") {
                let length: usize = text[..end]
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse().unwrap())
                    })
                    .unwrap();
                if got.len() >= end + 4 + length {
                    return text;
                }
            }
        }
    };
    for user in [("alice", "secret"), ("bob", "builder")] {
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let request = cim_post(&basic(user.0, user.1), "GetInstance", "");
        for _ in 0..100 {
            let reply = ask(&mut stream, &request);
            assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
            assert!(reply.contains(&format!("user={}", user.0)), "{reply}");
        }
        let reply = ask(
            &mut stream,
            &cim_post(&basic(user.0, "wrong"), "GetInstance", ""),
        );
        assert!(reply.starts_with("HTTP/1.1 401"), "{reply}");
    }
    assert_eq!(calls.load(Ordering::SeqCst), 200);
    stop.send(()).unwrap();
    serving.join().unwrap().unwrap();
}

/// User + system CPU time of this process so far.
fn process_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let after_name = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after_name.split(' ').collect();
    // utime and stime are fields 14 and 15 of stat(5); field 3 is fields[0] here.
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    Duration::from_millis(ticks * 10)
}

/// Throughput of cached-credential requests on one connection, as a client
/// doing GetInstance in a loop would see it. Run with
/// `cargo test --release -p openwmi-server --test transport throughput -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement; run in release"]
async fn throughput_on_one_connection() {
    for tls in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let mut config = base_config(dir.path());
        config.http = !tls;
        let server = start_with(config, Some(dir)).await;
        let request = cim_post(&basic("alice", "secret"), "GetInstance", "");
        let tcp = TcpStream::connect(server.addr).await.unwrap();
        let count = 20_000u32;
        let mut buf = Vec::new();
        let started;
        let cpu_before;
        if tls {
            let cert_pem = std::fs::read(
                server
                    ._dir
                    .as_ref()
                    .unwrap()
                    .path()
                    .join("state/tls-cert.pem"),
            )
            .unwrap();
            use rustls::pki_types::pem::PemObject;
            let cert = rustls::pki_types::CertificateDer::from_pem_slice(&cert_pem).unwrap();
            let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
            let mut stream = tokio_rustls::TlsConnector::from(client_config(vec![cert]))
                .connect(name, tcp)
                .await
                .unwrap();
            cpu_before = process_cpu();
            started = Instant::now();
            for _ in 0..count {
                stream.write_all(&request).await.unwrap();
                assert_eq!(
                    read_response(&mut stream, &mut buf).await.unwrap().status,
                    200
                );
            }
        } else {
            let mut stream = tcp;
            cpu_before = process_cpu();
            started = Instant::now();
            for _ in 0..count {
                stream.write_all(&request).await.unwrap();
                assert_eq!(
                    read_response(&mut stream, &mut buf).await.unwrap().status,
                    200
                );
            }
        }
        let elapsed = started.elapsed();
        let cpu = process_cpu() - cpu_before;
        eprintln!(
            "{} {count} requests on one connection: {elapsed:?} = {:.0} requests/s wall; \
             {:.1} µs CPU per request (client + server, so a machine-load-independent bound: {:.0}/s per core)",
            if tls { "HTTPS" } else { "HTTP" },
            f64::from(count) / elapsed.as_secs_f64(),
            cpu.as_secs_f64() * 1e6 / f64::from(count),
            f64::from(count) / cpu.as_secs_f64(),
        );
        server.stop().await;
    }
}

#[tokio::test]
async fn plain_http_is_refused_off_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = base_config(dir.path());
    config.listen = vec!["0.0.0.0:0".parse().unwrap()];
    let err = Server::bind(config.clone()).await.unwrap_err();
    assert!(matches!(err, ServerError::InsecureHttp { .. }), "{err}");
    assert!(err.to_string().contains("--allow-insecure"), "{err}");
    config.allow_insecure = true;
    let server = Server::bind(config).await.unwrap();
    assert_eq!(server.urls().len(), 1);
    assert!(server.urls()[0].starts_with("http://0.0.0.0:"));
}

#[tokio::test]
async fn auth_none_runs_as_anonymous_on_loopback() {
    let server = start(|c| {
        c.auth = AuthMode::None;
    })
    .await;
    let reply = exchange(server.addr, &cim_post("", "GetInstance", "")).await;
    assert_eq!(reply.status, 200);
    assert!(reply.text().contains("user=anonymous"));
    server.stop().await;
}

// ---------------------------------------------------------------- TLS

fn client_config(
    roots: Vec<rustls::pki_types::CertificateDer<'static>>,
) -> Arc<rustls::ClientConfig> {
    let mut store = rustls::RootCertStore::empty();
    for root in roots {
        store.add(root).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Arc::new(
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(store)
            .with_no_client_auth(),
    )
}

async fn tls_exchange(
    addr: SocketAddr,
    config: Arc<rustls::ClientConfig>,
    request: &[u8],
) -> Reply {
    let tcp = TcpStream::connect(addr).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut stream = tokio_rustls::TlsConnector::from(config)
        .connect(name, tcp)
        .await
        .unwrap();
    stream.write_all(request).await.unwrap();
    let reply = read_response(&mut stream, &mut Vec::new()).await.unwrap();
    let _ = stream.shutdown().await;
    reply
}

/// A test CA and a server certificate it signed, as PEM files in `dir`.
fn test_ca(dir: &Path) -> (PathBuf, PathBuf, rustls::pki_types::CertificateDer<'static>) {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "openwmi test CA");
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let server_key = KeyPair::generate().unwrap();
    let server_params =
        CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
    let server_cert = server_params.signed_by(&server_key, &ca).unwrap();
    let cert_path = dir.join("server.pem");
    let key_path = dir.join("server.key");
    std::fs::write(&cert_path, server_cert.pem()).unwrap();
    std::fs::write(&key_path, server_key.serialize_pem()).unwrap();
    let ca_der = ca.as_ref().der().clone();
    (cert_path, key_path, ca_der)
}

#[tokio::test]
async fn https_with_a_ca_signed_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key, ca) = test_ca(dir.path());
    let mut config = base_config(dir.path());
    config.http = false;
    config.tls_cert = Some(cert);
    config.tls_key = Some(key);
    let server = Server::bind(config).await.unwrap();
    assert!(server.urls()[0].starts_with("https://127.0.0.1:"));
    assert!(server
        .banner()
        .iter()
        .any(|l| l.starts_with("TLS certificate SHA-256 fingerprint: ")));
    let running = {
        let addr = server.local_addrs()[0];
        let calls = Arc::new(AtomicUsize::new(0));
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(server.run(
            cim_xml(Echo {
                calls: Arc::clone(&calls),
            }),
            async move {
                let _ = stopped.await;
            },
        ));
        Running {
            addr,
            calls,
            stop: Some(stop),
            task,
            _dir: Some(dir),
        }
    };
    let client = client_config(vec![ca]);
    let reply = tls_exchange(
        running.addr,
        Arc::clone(&client),
        &cim_post(&basic("alice", "secret"), "GetInstance", ""),
    )
    .await;
    assert_eq!(reply.status, 200);
    assert!(reply.text().contains("tls=true"));
    let reply = tls_exchange(running.addr, client, &cim_post("", "GetInstance", "")).await;
    assert_eq!(reply.status, 401);
    assert_eq!(running.calls(), 1);
    // A plain-HTTP client on the TLS port gets nothing useful and is closed.
    let mut stream = TcpStream::connect(running.addr).await.unwrap();
    stream
        .write_all(&cim_post(&basic("alice", "secret"), "GetInstance", ""))
        .await
        .unwrap();
    assert!(closed_within(&mut stream, Duration::from_secs(5)).await);
    assert_eq!(running.calls(), 1);
    running.stop().await;
}

#[tokio::test]
async fn self_signed_certificate_is_generated_once_and_reused() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = base_config(dir.path());
    config.http = false;
    let started = Instant::now();
    let first = Server::bind(config.clone()).await.unwrap();
    eprintln!(
        "first bind (with certificate generation): {:?}",
        started.elapsed()
    );
    let fingerprint = first.tls_fingerprint().unwrap().to_string();
    assert!(first
        .banner()
        .iter()
        .any(|l| l.starts_with("generated a self-signed TLS certificate")));
    drop(first);
    let started = Instant::now();
    let second = Server::bind(config).await.unwrap();
    eprintln!("second bind: {:?}", started.elapsed());
    assert_eq!(second.tls_fingerprint(), Some(fingerprint.as_str()));
    assert!(!second.banner().iter().any(|l| l.starts_with("generated")));
    assert!(second.banner().contains(&format!(
        "TLS certificate SHA-256 fingerprint: {fingerprint}"
    )));
    let cert_pem = std::fs::read(dir.path().join("state/tls-cert.pem")).unwrap();
    use rustls::pki_types::pem::PemObject;
    let cert = rustls::pki_types::CertificateDer::from_pem_slice(&cert_pem).unwrap();
    assert_eq!(openwmi_server::fingerprint(&cert), fingerprint);
    // A client that trusts exactly this certificate can talk to the server.
    let addr = second.local_addrs()[0];
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(second.run(
        cim_xml(Echo {
            calls: Arc::new(AtomicUsize::new(0)),
        }),
        async move {
            let _ = stopped.await;
        },
    ));
    let reply = tls_exchange(
        addr,
        client_config(vec![cert]),
        &cim_post(&basic("bob", "builder"), "X", ""),
    )
    .await;
    assert_eq!(reply.status, 200);
    let _ = stop.send(());
    task.await.unwrap().unwrap();
}

// ---------------------------------------------------------------- users file and PAM

#[tokio::test]
async fn passwd_adds_and_changes_users() {
    let dir = tempfile::tempdir().unwrap();
    let users = dir.path().join("users");
    std::fs::write(
        &users,
        format!("# keep me\ncarol:{}:ops\n", cheap_hash("old")),
    )
    .unwrap();
    let started = Instant::now();
    passwd(&users, "dave", "first password").unwrap();
    eprintln!(
        "passwd (argon2id default parameters, this build): {:?}",
        started.elapsed()
    );
    passwd(&users, "carol", "new").unwrap();
    let text = std::fs::read_to_string(&users).unwrap();
    assert!(text.starts_with("# keep me\ncarol:$argon2id$"), "{text}");
    assert!(text.contains(":ops\n"), "groups kept: {text}");
    assert!(
        text.contains("\ndave:$argon2id$v=19$m=19456,t=2,p=1$"),
        "{text}"
    );
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&users).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(passwd(&users, "bad:name", "x").is_err());
    assert!(passwd(&users, "eve", "").is_err());
    let admins = ["openwmi-admins".to_string(), "ops".to_string()];
    openwmi_server::set_user(&users, "carol", "newer", Some(&admins)).unwrap();
    let text = std::fs::read_to_string(&users).unwrap();
    assert!(
        text.contains(":openwmi-admins,ops\n"),
        "groups replaced: {text}"
    );
    for bad in ["a:b", "a,b", "a b", ""] {
        let groups = [bad.to_string()];
        assert!(
            openwmi_server::set_user(&users, "carol", "x", Some(&groups)).is_err(),
            "{bad:?}"
        );
    }
    // Back to what the server part below logs in with.
    openwmi_server::set_user(&users, "carol", "new", Some(&["ops".to_string()])).unwrap();

    let config = ServerConfig {
        listen: vec!["127.0.0.1:0".parse().unwrap()],
        http: true,
        users_file: Some(users.clone()),
        ..ServerConfig::default()
    };
    let server = start_with(config, Some(dir)).await;
    let reply = exchange(
        server.addr,
        &cim_post(&basic("carol", "new"), "GetInstance", ""),
    )
    .await;
    assert_eq!(reply.status, 200);
    assert!(reply.text().contains("user=carol uid=None groups=ops"));
    let reply = exchange(
        server.addr,
        &cim_post(&basic("carol", "old"), "GetInstance", ""),
    )
    .await;
    assert_eq!(reply.status, 401);
    let started = Instant::now();
    let reply = exchange(
        server.addr,
        &cim_post(&basic("dave", "first password"), "GetInstance", ""),
    )
    .await;
    let uncached = started.elapsed();
    assert_eq!(reply.status, 200);
    let started = Instant::now();
    let reply = exchange(
        server.addr,
        &cim_post(&basic("dave", "first password"), "GetInstance", ""),
    )
    .await;
    let cached = started.elapsed();
    assert_eq!(reply.status, 200);
    eprintln!("login with argon2 verification: {uncached:?}; cached: {cached:?}");
    // A change made while the server runs is picked up.
    passwd(&users, "frank", "pw").unwrap();
    let reply = exchange(
        server.addr,
        &cim_post(&basic("frank", "pw"), "GetInstance", ""),
    )
    .await;
    assert_eq!(reply.status, 200);
    server.stop().await;
}

#[tokio::test]
async fn pam_accepts_a_real_local_account() {
    let in_ci = std::env::var("CI").is_ok_and(|v| v == "true");
    let is_root = std::fs::read_to_string("/proc/self/status")
        .map(|s| {
            s.lines()
                .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false);
    let have_tools =
        Path::new("/usr/sbin/useradd").exists() && Path::new("/usr/sbin/chpasswd").exists();
    if !is_root || !have_tools {
        let why = format!("needs root and useradd/chpasswd (root: {is_root}, tools: {have_tools})");
        assert!(!in_ci, "PAM test cannot run under CI: {why}");
        eprintln!("skipping the PAM test: {why}");
        return;
    }
    let user = "owmipamtest";
    let password = "pam-Test-pw-42";
    let _ = std::process::Command::new("/usr/sbin/userdel")
        .arg(user)
        .status();
    let _ = std::process::Command::new("/usr/sbin/groupdel")
        .arg("owmipamgrp")
        .status();
    assert!(std::process::Command::new("/usr/sbin/groupadd")
        .arg("owmipamgrp")
        .status()
        .unwrap()
        .success());
    let created = std::process::Command::new("/usr/sbin/useradd")
        .args(["-M", "-s", "/usr/sbin/nologin", "-G", "owmipamgrp", user])
        .status()
        .unwrap();
    assert!(created.success(), "useradd failed");
    struct Cleanup(&'static str);
    impl Drop for Cleanup {
        fn drop(&mut self) {
            let _ = std::process::Command::new("/usr/sbin/userdel")
                .arg(self.0)
                .status();
            let _ = std::process::Command::new("/usr/sbin/groupdel")
                .arg("owmipamgrp")
                .status();
        }
    }
    let _cleanup = Cleanup(user);
    let mut chpasswd = std::process::Command::new("/usr/sbin/chpasswd")
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        writeln!(chpasswd.stdin.take().unwrap(), "{user}:{password}").unwrap();
    }
    assert!(chpasswd.wait().unwrap().success(), "chpasswd failed");

    let server = start(|c| {
        c.users_file = None;
        c.pam = Some(true);
    })
    .await;
    let reply = exchange(
        server.addr,
        &cim_post(&basic(user, password), "GetInstance", ""),
    )
    .await;
    assert_eq!(reply.status, 200, "{reply:?}");
    let text = reply.text();
    assert!(text.contains(&format!("user={user} uid=Some(")), "{text}");
    assert!(
        text.contains("owmipamgrp"),
        "supplementary group missing: {text}"
    );
    let reply = exchange(
        server.addr,
        &cim_post(&basic(user, "wrong"), "GetInstance", ""),
    )
    .await;
    assert_eq!(reply.status, 401);
    let reply = exchange(
        server.addr,
        &cim_post(&basic("no-such-user-x", password), "GetInstance", ""),
    )
    .await;
    assert_eq!(reply.status, 401);
    assert_eq!(server.calls(), 1);
    server.stop().await;
}

// ---------------------------------------------------------------- logging

/// Records every tracing event of the process as text.
struct Recorder(std::sync::Mutex<Vec<String>>);

struct Line<'a>(&'a mut String);

impl tracing::field::Visit for Line<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.push_str(&format!(" {}={:?}", field.name(), value));
    }
}

impl tracing::Subscriber for Recorder {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        let mut line = String::from("span");
        span.record(&mut Line(&mut line));
        self.0.lock().unwrap().push(line);
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, values: &tracing::span::Record<'_>) {
        let mut line = String::from("record");
        values.record(&mut Line(&mut line));
        self.0.lock().unwrap().push(line);
    }
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut line = event.metadata().level().to_string();
        event.record(&mut Line(&mut line));
        self.0.lock().unwrap().push(line);
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

#[tokio::test]
async fn credentials_never_appear_in_logs() {
    let recorder: &'static Recorder =
        Box::leak(Box::new(Recorder(std::sync::Mutex::new(Vec::new()))));
    struct Shared(&'static Recorder);
    impl tracing::Subscriber for Shared {
        fn enabled(&self, m: &tracing::Metadata<'_>) -> bool {
            self.0.enabled(m)
        }
        fn new_span(&self, s: &tracing::span::Attributes<'_>) -> tracing::span::Id {
            self.0.new_span(s)
        }
        fn record(&self, i: &tracing::span::Id, v: &tracing::span::Record<'_>) {
            self.0.record(i, v)
        }
        fn record_follows_from(&self, a: &tracing::span::Id, b: &tracing::span::Id) {
            self.0.record_follows_from(a, b)
        }
        fn event(&self, e: &tracing::Event<'_>) {
            self.0.event(e)
        }
        fn enter(&self, i: &tracing::span::Id) {
            self.0.enter(i)
        }
        fn exit(&self, i: &tracing::span::Id) {
            self.0.exit(i)
        }
    }
    // Global, so that events from other threads (spawn_blocking) are seen too.
    tracing::subscriber::set_global_default(Shared(recorder)).unwrap();

    let server = start(|c| c.limits.max_auth_failures = 2).await;
    let guessed = "Tr0ub4dor&3-guess";
    for _ in 0..3 {
        let mut stream = connect_from("127.0.0.3", server.addr).await;
        stream
            .write_all(&cim_post(&basic("alice", guessed), "GetInstance", ""))
            .await
            .unwrap();
        let reply = read_response(&mut stream, &mut Vec::new()).await.unwrap();
        assert!(matches!(reply.status, 401 | 429));
    }
    let reply = exchange(
        server.addr,
        &cim_post(&basic("bob", "builder"), "GetInstance", ""),
    )
    .await;
    assert_eq!(reply.status, 200);
    server.stop().await;

    let lines = recorder.0.lock().unwrap().clone();
    assert!(
        lines.iter().any(|l| l.contains("login failed")),
        "{lines:#?}"
    );
    let secrets = [
        guessed.to_string(),
        "builder".to_string(),
        base64::engine::general_purpose::STANDARD.encode(format!("alice:{guessed}")),
        base64::engine::general_purpose::STANDARD.encode("bob:builder"),
    ];
    for line in &lines {
        for secret in &secrets {
            assert!(
                !line.contains(secret.as_str()),
                "credential in a log line: {line}"
            );
        }
        assert!(
            !line.to_ascii_lowercase().contains("authorization"),
            "{line}"
        );
    }
}
