//! `openwmi serve` in a test: the real transport on plain HTTP with the
//! CIM-XML front-end, and a raw HTTP/1.1 client that sends exact bytes.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use argon2::password_hash::{PasswordHasher, SaltString};
use base64::Engine;
use openwmi_cimom::ObjectManagerBuilder;
use openwmi_server::{Server, ServerConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;

pub struct Running {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Result<(), openwmi_server::ServerError>>,
    _dir: tempfile::TempDir,
}

impl Running {
    pub async fn stop(mut self) {
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
                   instance of T_Share { Name = \"public\"; };\n\
                   instance of T_Share { Name = \"private\"; };";

/// An object manager holding two `T_Share`s in root/test.
pub fn object_manager() -> openwmi_cimom::ObjectManager {
    let repo = openwmi_mof::repository_from_str("root/test", "t.mof", MOF)
        .unwrap_or_else(|e| panic!("{e:?}"));
    ObjectManagerBuilder::new(repo, "testhost").build()
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

/// The server on 127.0.0.1, plain HTTP, users alice and bob (password =
/// name + "-pw") in a users file, answering with `dispatcher`.
pub async fn start(
    dispatcher: openwmi_wbem::Dispatcher,
    adjust: impl FnOnce(&mut ServerConfig),
) -> Running {
    let dir = tempfile::tempdir().unwrap();
    let users = dir.path().join("users");
    let lines: String = ["alice", "bob"]
        .iter()
        .map(|u| format!("{u}:{}\n", cheap_hash(&format!("{u}-pw"))))
        .collect();
    std::fs::write(&users, lines).unwrap();
    let mut config = ServerConfig {
        listen: vec!["127.0.0.1:0".parse().unwrap()],
        http: true,
        users_file: Some(users),
        pam: Some(false),
        state_dir: Some(dir.path().join("state")),
        ..ServerConfig::default()
    };
    adjust(&mut config);
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

/// An IMETHODCALL of `method` in root/test with these IPARAMVALUEs.
pub fn call(method: &str, params: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\" ?><CIM CIMVERSION=\"2.0\" DTDVERSION=\"2.0\">\
         <MESSAGE ID=\"7\" PROTOCOLVERSION=\"1.0\"><SIMPLEREQ><IMETHODCALL NAME=\"{method}\">\
         <LOCALNAMESPACEPATH><NAMESPACE NAME=\"root\"/><NAMESPACE NAME=\"test\"/></LOCALNAMESPACEPATH>\
         {params}</IMETHODCALL></SIMPLEREQ></MESSAGE></CIM>"
    )
}

/// The head of a CIM-XML request of `method` as `user`, ending with
/// `framing` (its `Content-Length` or `Transfer-Encoding`).
pub fn head(user: &str, method: &str, framing: &str) -> String {
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{user}-pw"));
    format!(
        "POST /cimom HTTP/1.1\r\nHost: localhost\r\nAuthorization: Basic {token}\r\n\
         Content-Type: application/xml; charset=\"utf-8\"\r\n\
         CIMOperation: MethodCall\r\nCIMMethod: {method}\r\nCIMObject: root%2Ftest\r\n\
         {framing}\r\n"
    )
}

/// Sends `bytes` on a new connection and reads the answer: its status and,
/// when it has a length, its body.
pub async fn exchange(addr: SocketAddr, bytes: &[u8]) -> (u16, String) {
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

/// A CIM-XML request with its length declared.
pub async fn post(addr: SocketAddr, user: &str, method: &str, body: &[u8]) -> (u16, String) {
    let framing = format!("Content-Length: {}\r\n", body.len());
    let mut bytes = head(user, method, &framing).into_bytes();
    bytes.extend_from_slice(body);
    exchange(addr, &bytes).await
}
