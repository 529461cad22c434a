//! What the WS-Management test binaries share: a fast password hash for
//! their users files, a server on plain HTTP, and one authenticated POST
//! to `/wsman`.

#![allow(dead_code)] // not every test binary uses every piece

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use openwmi_server::{Routes, Server, ServerConfig, ServerError};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use argon2::password_hash::{PasswordHasher, SaltString};
use base64::Engine;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// An argon2id hash with the smallest parameters: users files for tests
/// without argon2's cost per login.
pub fn cheap_hash(password: &str) -> String {
    let params = argon2::Params::new(64, 1, 1, None).unwrap();
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let salt = SaltString::encode_b64(b"0123456789abcdef").unwrap();
    argon
        .hash_password(password.as_bytes(), &salt)
        .unwrap()
        .to_string()
}

/// `body` POSTed to `/wsman` as `user` (password `<user>-pw`) on a
/// connection of its own: the status and the answer's body.
pub async fn post(addr: SocketAddr, user: &str, body: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{user}-pw"));
    let request = format!(
        "POST /wsman HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/soap+xml;charset=UTF-8\r\n\
         Authorization: Basic {token}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    tokio::time::timeout(Duration::from_secs(60), stream.read_to_end(&mut buf))
        .await
        .unwrap()
        .unwrap();
    let text = String::from_utf8_lossy(&buf).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    (
        head.split(' ').nth(1).unwrap().parse().unwrap(),
        body.to_owned(),
    )
}

/// `openwmi-server` on plain HTTP at a free loopback port, its users file
/// in `dir` holding `users` (password `<user>-pw`), serving `routes`.
pub struct Serving {
    pub addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<(), ServerError>>,
}

impl Serving {
    pub async fn start(dir: &Path, users: &[&str], routes: Routes) -> Serving {
        let users_file = dir.join("users");
        let lines: String = users
            .iter()
            .map(|u| format!("{u}:{}\n", cheap_hash(&format!("{u}-pw"))))
            .collect();
        std::fs::write(&users_file, lines).unwrap();
        let server = Server::bind(ServerConfig {
            listen: vec!["127.0.0.1:0".parse().unwrap()],
            http: true,
            users_file: Some(users_file),
            pam: Some(false),
            state_dir: Some(dir.join("state")),
            ..ServerConfig::default()
        })
        .await
        .unwrap();
        let addr = server.local_addrs()[0];
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(server.run(routes, async move {
            let _ = stopped.await;
        }));
        Serving { addr, stop, task }
    }

    /// Stops the server and checks that it ended cleanly.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        tokio::time::timeout(Duration::from_secs(15), self.task)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
    }
}
