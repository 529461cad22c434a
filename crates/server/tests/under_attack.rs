//! The server while one client address attacks it: connections held open
//! without a byte, password guesses sent all at once. Only over loopback
//! (127.0.0.x are all local addresses), bounded in count and time; the
//! bounds asserted are generous, since the machine running the tests may
//! be loaded.

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHasher, SaltString};
use base64::Engine;
use openwmi_server::{PasswordChecks, Routes, Server, ServerConfig, ServerError, Service};
use openwmi_service::{Request, Response};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::oneshot;

/// Answers `ok` to whoever got past the transport.
struct Answer;

impl Service for Answer {
    fn call(&self, _: Request) -> Pin<Box<dyn Future<Output = Response> + Send>> {
        Box::pin(std::future::ready(Response::ok("ok")))
    }
}

struct Running {
    addr: SocketAddr,
    checks: PasswordChecks,
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Result<(), ServerError>>,
    _dir: tempfile::TempDir,
}

impl Running {
    async fn stop(self) {
        let _ = self.stop.send(());
        tokio::time::timeout(Duration::from_secs(15), self.task)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
    }
}

/// argon2id with the given memory (KiB): tiny for speed, larger where
/// checks must overlap.
fn hash(password: &str, memory_kib: u32) -> String {
    let params = argon2::Params::new(memory_kib, 1, 1, None).unwrap();
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let salt = SaltString::encode_b64(b"0123456789abcdef").unwrap();
    argon
        .hash_password(password.as_bytes(), &salt)
        .unwrap()
        .to_string()
}

/// Plain HTTP on 127.0.0.1:0, users alice/secret and bob/builder.
fn config(dir: &Path, memory_kib: u32) -> ServerConfig {
    let users = dir.join("users");
    std::fs::write(
        &users,
        format!(
            "alice:{}\nbob:{}\n",
            hash("secret", memory_kib),
            hash("builder", memory_kib)
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

async fn start(memory_kib: u32, adjust: impl FnOnce(&mut ServerConfig)) -> Running {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path(), memory_kib);
    adjust(&mut config);
    start_with(config, dir).await
}

async fn start_with(config: ServerConfig, dir: tempfile::TempDir) -> Running {
    let server = Server::bind(config).await.unwrap();
    let addr = server.local_addrs()[0];
    let checks = server.password_checks();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(server.run(Routes::to(Arc::new(Answer)), async move {
        let _ = stopped.await;
    }));
    Running {
        addr,
        checks,
        stop,
        task,
        _dir: dir,
    }
}

fn request(user: &str, password: &str) -> Vec<u8> {
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!(
        "POST / HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {token}\r\nContent-Length: 0\r\n\r\n"
    )
    .into_bytes()
}

/// The status of one response (its body is empty or `ok`, with a length).
async fn status<S: AsyncRead + Unpin>(stream: &mut S) -> std::io::Result<u16> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).await? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .map_or(0, |v| v.trim().parse().unwrap());
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).await?;
    Ok(head[9..12].parse().unwrap())
}

async fn connect_from(source: &str, addr: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(format!("{source}:0").parse().unwrap())?;
    socket.connect(addr).await
}

/// Whether the server closes the connection within `within`.
async fn closed_within<S: AsyncRead + Unpin>(stream: &mut S, within: Duration) -> bool {
    let mut sink = [0u8; 1024];
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut sink)).await {
            Err(_) => return false,
            Ok(Ok(0) | Err(_)) => return true,
            Ok(Ok(_)) => {}
        }
    }
}

/// 500 connections that never sent a byte took every slot (256): every
/// other client got `503` for as long as the attacker cared to reconnect.
/// Now one address holds at most its share of the slots, and a silent
/// connection is closed after the first-byte timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regression_silent_connections_from_one_address_leave_slots_for_others() {
    let server = start(64, |_| {}).await;
    let addr = server.addr;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    // Each attacker holds a connection open without a byte and opens
    // another whenever the server closes it (a few times at most).
    let attackers: Vec<_> = (0..500)
        .map(|_| {
            let mut stop = stop_rx.clone();
            tokio::spawn(async move {
                let mut held = 0;
                for _ in 0..4 {
                    let Ok(mut stream) = connect_from("127.0.0.2", addr).await else {
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        continue;
                    };
                    held += 1;
                    let mut sink = [0u8; 256];
                    tokio::select! {
                        _ = async { while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {} } => {}
                        _ = stop.changed() => return held,
                    }
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                held
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;

    // A good client from another address: new connections and a kept one.
    let mut slowest = Duration::ZERO;
    let mut kept = connect_from("127.0.0.1", addr).await.unwrap();
    for round in 0..20 {
        let started = Instant::now();
        let mut fresh = connect_from("127.0.0.1", addr).await.unwrap();
        fresh.write_all(&request("alice", "secret")).await.unwrap();
        let answer = tokio::time::timeout(Duration::from_secs(5), status(&mut fresh)).await;
        assert!(
            matches!(answer, Ok(Ok(200))),
            "round {round}, new connection: {answer:?}"
        );
        kept.write_all(&request("alice", "secret")).await.unwrap();
        let answer = tokio::time::timeout(Duration::from_secs(5), status(&mut kept)).await;
        assert!(
            matches!(answer, Ok(Ok(200))),
            "round {round}, kept connection: {answer:?}"
        );
        slowest = slowest.max(started.elapsed());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = stop_tx.send(true);
    let mut connections = 0;
    for attacker in attackers {
        connections += attacker.await.unwrap();
    }
    eprintln!("slowest answer pair {slowest:?}; attacker connections {connections}");
    assert!(connections >= 500, "the attack did not happen");
    // Generous: the machine may be loaded; the answer is milliseconds.
    assert!(slowest < Duration::from_secs(3), "{slowest:?}");
    server.stop().await;
}

/// A connection that sent nothing kept its slot until the idle timeout
/// (60 s), and over TLS until the handshake timeout: now both go after
/// `first_byte_timeout_secs`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regression_silent_connections_are_closed_after_the_first_byte_timeout() {
    for tls in [false, true] {
        let server = start(64, |c| {
            c.http = !tls;
            c.limits.first_byte_timeout_secs = 0.5;
        })
        .await;
        let started = Instant::now();
        let mut silent = TcpStream::connect(server.addr).await.unwrap();
        assert!(
            closed_within(&mut silent, Duration::from_secs(4)).await,
            "tls {tls}: still open"
        );
        assert!(started.elapsed() >= Duration::from_millis(400), "tls {tls}");
        server.stop().await;
    }
    // A client that has started its request is not cut by it.
    let server = start(64, |c| c.limits.first_byte_timeout_secs = 0.3).await;
    let mut client = TcpStream::connect(server.addr).await.unwrap();
    let request = request("alice", "secret");
    client.write_all(&request[..10]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(700)).await;
    client.write_all(&request[10..]).await.unwrap();
    assert_eq!(status(&mut client).await.unwrap(), 200);
    server.stop().await;
}

/// 100 different wrong passwords sent at once over 50 connections: about
/// half were checked with argon2 before the lockout (5 failures) stopped
/// them, since guesses already waiting for a login slot were checked.
/// Now at most `max_auth_failures` + `max_concurrent_logins` are.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regression_concurrent_guesses_stop_at_the_lockout() {
    // A hash slow enough for the guesses to queue for the login slots.
    // The connections closed after a 429 may hold their slots a moment
    // longer than the client takes to reconnect: not what is tested here.
    let server = start(8 * 1024, |c| {
        c.limits.max_connections_per_address = Some(c.limits.max_connections)
    })
    .await;
    let limits = openwmi_server::Limits::default();
    let bound = u64::from(limits.max_auth_failures) + limits.max_concurrent_logins as u64;
    let addr = server.addr;
    let barrier = Arc::new(tokio::sync::Barrier::new(50));
    let guessers: Vec<_> = (0..50)
        .map(|i| {
            let barrier = Arc::clone(&barrier);
            tokio::spawn(async move {
                let mut stream = connect_from("127.0.0.2", addr).await.unwrap();
                barrier.wait().await;
                let mut statuses = Vec::new();
                for j in 0..2 {
                    let guess = request("alice", &format!("guess-{i}-{j}"));
                    if stream.write_all(&guess).await.is_err() {
                        break;
                    }
                    match status(&mut stream).await {
                        Ok(code) => statuses.push(code),
                        Err(_) => break,
                    }
                    if statuses.last() == Some(&429) {
                        // Answered with `Connection: close`: a new one.
                        stream = connect_from("127.0.0.2", addr).await.unwrap();
                    }
                }
                statuses
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for guesser in guessers {
        statuses.extend(guesser.await.unwrap());
    }
    let checked = server.checks.count();
    let denied = statuses.iter().filter(|&&s| s == 401).count();
    eprintln!("{checked} checks, {denied} refused as wrong, {statuses:?}");
    assert_eq!(statuses.len(), 100);
    assert!(statuses.iter().all(|&s| s == 401 || s == 429));
    assert!(
        checked <= bound,
        "{checked} checks, at most {bound} expected"
    );
    assert!(checked >= u64::from(limits.max_auth_failures));
    assert_eq!(denied as u64, checked);
    server.stop().await;
}

/// One request from `source` on a connection of its own.
async fn ask_from(source: &str, addr: SocketAddr, user: &str, password: &str) -> u16 {
    let mut stream = connect_from(source, addr).await.unwrap();
    stream.write_all(&request(user, password)).await.unwrap();
    tokio::time::timeout(Duration::from_secs(10), status(&mut stream))
        .await
        .unwrap()
        .unwrap()
}

/// The lockout was checked before the login cache: a client whose
/// credentials were proven a moment ago got `429` because someone else at
/// the same address (NAT, loopback) guessed wrong. Credentials in the
/// login cache are now served during a lockout, until the address has
/// guessed wrong `max_auth_failures` more times.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regression_a_proven_login_outlasts_a_neighbours_lockout() {
    let server = start(64, |_| {}).await;
    let addr = server.addr;
    let failures = openwmi_server::Limits::default().max_auth_failures;
    assert_eq!(ask_from("127.0.0.2", addr, "alice", "secret").await, 200);
    for _ in 0..failures {
        assert_eq!(ask_from("127.0.0.2", addr, "alice", "guess").await, 401);
    }
    // Locked out: alice, proven a moment ago, is still served; bob, with
    // the right password but not proven, is not.
    assert_eq!(ask_from("127.0.0.2", addr, "bob", "builder").await, 429);
    assert_eq!(ask_from("127.0.0.2", addr, "alice", "secret").await, 200);
    let checks = server.checks.count();
    // Guesses during the lockout are refused unchecked, and end the exception.
    for _ in 1..failures {
        assert_eq!(ask_from("127.0.0.2", addr, "alice", "guess").await, 429);
    }
    assert_eq!(ask_from("127.0.0.2", addr, "alice", "secret").await, 429);
    assert_eq!(server.checks.count(), checks);
    // Other addresses are not affected.
    assert_eq!(ask_from("127.0.0.1", addr, "bob", "builder").await, 200);
    server.stop().await;
}

/// Connections that never sent a byte from 4 or more addresses took every
/// slot although each address held only its share: every other client got
/// `503` until the first-byte timeout, and again as often as the flood
/// reconnected. Now a newcomer has the slot of the connection silent
/// longest, and an authenticated connection keeps its own: the good
/// client, from another address, gets every answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regression_silent_connections_from_several_addresses_leave_slots_for_others() {
    const ADDRESSES: usize = 6;
    const PER_ADDRESS: usize = 16;
    let server = start(64, |c| {
        c.limits.max_connections = 64;
        c.limits.max_connections_per_address = Some(PER_ADDRESS);
        // Long enough that only giving up slots can save the good client.
        c.limits.first_byte_timeout_secs = 120.0;
    })
    .await;
    let addr = server.addr;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    // 6 addresses x 16 connections = 96 for 64 slots; each attacker opens
    // another connection whenever the server closes its own (4 at most).
    let attackers: Vec<_> = (0..ADDRESSES * PER_ADDRESS)
        .map(|i| {
            let source = format!("127.0.0.{}", 2 + i % ADDRESSES);
            let mut stop = stop_rx.clone();
            tokio::spawn(async move {
                let mut held = 0;
                for _ in 0..4 {
                    let Ok(mut stream) = connect_from(&source, addr).await else {
                        tokio::time::sleep(Duration::from_millis(300)).await;
                        continue;
                    };
                    held += 1;
                    let mut sink = [0u8; 256];
                    tokio::select! {
                        _ = async { while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {} } => {}
                        _ = stop.changed() => return held,
                    }
                    tokio::time::sleep(Duration::from_millis(300)).await;
                }
                held
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;

    // The good client: a connection it keeps (speaking at once, as clients
    // do) and a new connection per round.
    let mut slowest = Duration::ZERO;
    let mut kept = connect_from("127.0.0.1", addr).await.unwrap();
    for round in 0..20 {
        let started = Instant::now();
        kept.write_all(&request("alice", "secret")).await.unwrap();
        let answer = tokio::time::timeout(Duration::from_secs(5), status(&mut kept)).await;
        assert!(
            matches!(answer, Ok(Ok(200))),
            "round {round}, kept connection: {answer:?}"
        );
        let mut fresh = connect_from("127.0.0.1", addr).await.unwrap();
        fresh.write_all(&request("alice", "secret")).await.unwrap();
        let answer = tokio::time::timeout(Duration::from_secs(5), status(&mut fresh)).await;
        assert!(
            matches!(answer, Ok(Ok(200))),
            "round {round}, new connection: {answer:?}"
        );
        slowest = slowest.max(started.elapsed());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = stop_tx.send(true);
    let mut connections = 0;
    for attacker in attackers {
        connections += attacker.await.unwrap();
    }
    eprintln!("slowest answer pair {slowest:?}; attacker connections {connections}");
    assert!(
        connections >= ADDRESSES * PER_ADDRESS,
        "the attack did not happen"
    );
    // Generous: the machine may be loaded; the answer is milliseconds.
    assert!(slowest < Duration::from_secs(3), "{slowest:?}");
    server.stop().await;
}
