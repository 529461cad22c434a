//! Listeners, the accept loops and the life of a connection.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

use crate::auth::Authenticator;
use crate::config::{secs, ServerConfig};
use crate::conn::{Activity, ClientSlots, OpenConnections, Timeouts, Tracked};
use crate::http::{self, RequestContext};
use crate::{tls, BusyPoll, Routes, ServerError};

/// How long `run` waits for open connections to finish after shutdown.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// How long a new connection waits for the slot of the connection it
/// displaced (which closes as soon as its task runs) before it is refused.
const EVICTION_WAIT: Duration = Duration::from_secs(1);

/// Bound listeners, ready to serve. Binding is separate from serving so that
/// callers (tests) can learn the ports of `:0` listeners.
pub struct Server {
    config: ServerConfig,
    listeners: Vec<(TcpListener, SocketAddr)>,
    tls: Option<TlsAcceptor>,
    fingerprint: Option<String>,
    generated_cert: Option<PathBuf>,
    auth: Arc<Authenticator>,
    busy_poll: Option<Arc<BusyPoll>>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("listeners", &self.local_addrs())
            .field("tls_fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

impl Server {
    /// Validates the configuration, loads (or generates once) the TLS
    /// certificate, reads the users file and opens every listener. Does no
    /// password hashing.
    pub async fn bind(config: ServerConfig) -> Result<Server, ServerError> {
        config.validate()?;
        let auth = Arc::new(Authenticator::new(&config)?);
        let (tls, fingerprint, generated_cert) = if config.http {
            (None, None, None)
        } else {
            let identity = match (&config.tls_cert, &config.tls_key) {
                (Some(cert), Some(key)) => tls::load_pem(cert, key)?,
                _ => tls::self_signed(&config.state_dir())?,
            };
            let generated = identity.generated.then(|| identity.cert_path.clone());
            let acceptor = TlsAcceptor::from(tls::rustls_config(&identity)?);
            (Some(acceptor), Some(identity.fingerprint()), generated)
        };
        let mut listeners = Vec::new();
        for addr in config.listen_addrs() {
            let listener = TcpListener::bind(addr)
                .await
                .map_err(|source| ServerError::Bind { addr, source })?;
            let local = listener
                .local_addr()
                .map_err(|source| ServerError::Bind { addr, source })?;
            listeners.push((listener, local));
        }
        Ok(Server {
            config,
            listeners,
            tls,
            fingerprint,
            generated_cert,
            auth,
            busy_poll: None,
        })
    }

    /// Has the listeners and connections watched by `busy_poll` (the one
    /// the runtime's park hook polls: see [`crate::ServerRuntime`]).
    pub fn with_busy_poll(mut self, busy_poll: Option<Arc<BusyPoll>>) -> Self {
        self.busy_poll = busy_poll;
        self
    }

    /// A counter of the password checks (argon2 or PAM) this server runs,
    /// for tests and benchmarks: cache hits and refused guesses cost none.
    pub fn password_checks(&self) -> PasswordChecks {
        PasswordChecks(Arc::clone(&self.auth))
    }

    /// The bound addresses (with the real port when `:0` was asked for).
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.listeners.iter().map(|(_, a)| *a).collect()
    }

    /// `https://127.0.0.1:5989`-style URLs of the listeners.
    pub fn urls(&self) -> Vec<String> {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        self.local_addrs()
            .iter()
            .map(|a| format!("{scheme}://{a}"))
            .collect()
    }

    /// SHA-256 fingerprint (`AB:CD:...`) of the served certificate, for HTTPS.
    pub fn tls_fingerprint(&self) -> Option<&str> {
        self.fingerprint.as_deref()
    }

    /// The lines to print at start: listening URLs and the certificate fingerprint.
    pub fn banner(&self) -> Vec<String> {
        let mut lines: Vec<String> = self
            .urls()
            .into_iter()
            .map(|u| format!("listening on {u}"))
            .collect();
        if let Some(path) = &self.generated_cert {
            lines.push(format!(
                "generated a self-signed TLS certificate: {}",
                path.display()
            ));
        }
        if let Some(fp) = &self.fingerprint {
            lines.push(format!("TLS certificate SHA-256 fingerprint: {fp}"));
        }
        lines
    }

    /// Serves until `shutdown` completes, then stops accepting, lets open
    /// connections finish their current request (at most 10 s) and returns.
    pub async fn run(
        self,
        routes: Routes,
        shutdown: impl Future<Output = ()>,
    ) -> Result<(), ServerError> {
        let limits = &self.config.limits;
        let ctx = Arc::new(RequestContext {
            auth: self.auth,
            route_slots: crate::stats::register_routes(routes.names()),
            routes,
            max_body_bytes: limits.max_body_bytes,
            body_read_timeout: secs(limits.body_read_timeout_secs),
            request_timeout: secs(limits.request_timeout_secs),
        });
        let settings = Arc::new(ConnectionSettings {
            tls: self.tls,
            timeouts: Timeouts {
                first_byte: secs(limits.first_byte_timeout_secs),
                head: secs(limits.header_read_timeout_secs),
                idle: secs(limits.idle_timeout_secs),
            },
            max_header_bytes: limits.max_header_bytes,
            max_headers: limits.max_headers,
            busy_poll: self.busy_poll,
        });
        let max_connections = limits.max_connections;
        let slots = Arc::new(Semaphore::new(max_connections));
        let client_slots =
            ClientSlots::new(limits.connections_per_address(), limits.ipv6_prefix_len);
        let open = OpenConnections::new();
        let (stop_tx, stop_rx) = watch::channel(false);
        let mut accept_loops = JoinSet::new();
        for (listener, _) in self.listeners {
            if let Some(busy_poll) = &settings.busy_poll {
                busy_poll.watch(&listener);
            }
            accept_loops.spawn(accept_loop(
                listener,
                Arc::clone(&ctx),
                Arc::clone(&settings),
                Arc::clone(&slots),
                Arc::clone(&client_slots),
                Arc::clone(&open),
                stop_rx.clone(),
            ));
        }
        shutdown.await;
        let _ = stop_tx.send(true);
        while accept_loops.join_next().await.is_some() {}
        let permits = u32::try_from(max_connections).unwrap_or(u32::MAX);
        if tokio::time::timeout(SHUTDOWN_GRACE, slots.acquire_many(permits))
            .await
            .is_err()
        {
            tracing::warn!("connections still open after the shutdown grace period; dropping them");
        }
        Ok(())
    }
}

/// See [`Server::password_checks`].
#[derive(Clone)]
pub struct PasswordChecks(Arc<Authenticator>);

impl PasswordChecks {
    /// Password checks run so far.
    pub fn count(&self) -> u64 {
        self.0.checks_run()
    }
}

impl std::fmt::Debug for PasswordChecks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("PasswordChecks")
            .field(&self.count())
            .finish()
    }
}

/// Binds per `config`, prints the banner on stdout and serves until `shutdown`.
pub async fn serve(
    config: ServerConfig,
    routes: Routes,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServerError> {
    let server = Server::bind(config).await?;
    for line in server.banner() {
        println!("{line}");
    }
    server.run(routes, shutdown).await
}

struct ConnectionSettings {
    tls: Option<TlsAcceptor>,
    timeouts: Timeouts,
    max_header_bytes: usize,
    max_headers: usize,
    busy_poll: Option<Arc<BusyPoll>>,
}

async fn accept_loop(
    listener: TcpListener,
    ctx: Arc<RequestContext>,
    settings: Arc<ConnectionSettings>,
    slots: Arc<Semaphore>,
    client_slots: Arc<ClientSlots>,
    open: Arc<OpenConnections>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.changed() => return,
        };
        let (stream, peer) = match accepted {
            Ok(pair) => pair,
            Err(e) => {
                // Typically EMFILE: back off instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        if let Some(busy_poll) = &settings.busy_poll {
            busy_poll.watch(&stream);
        }
        // The client's own share first, so that a flood from one address
        // is refused before it takes any of the slots everyone shares.
        let Some(client_slot) = client_slots.try_take(peer.ip()) else {
            tracing::debug!(%peer, "connection limit per address reached; refusing a connection");
            refuse_or_close(stream, &settings);
            continue;
        };
        // Every slot taken: the newcomer has the slot of a connection that
        // has proven nothing (see `OpenConnections`), or is refused.
        let permit = Arc::clone(&slots).try_acquire_owned().ok();
        if permit.is_none() && !open.evict_one() {
            tracing::warn!(%peer, "connection limit reached; refusing a connection");
            refuse_or_close(stream, &settings);
            continue;
        }
        let ctx = Arc::clone(&ctx);
        let settings = Arc::clone(&settings);
        let slots = Arc::clone(&slots);
        let open = Arc::clone(&open);
        let stop = stop.clone();
        tokio::spawn(async move {
            let permit = match permit {
                Some(permit) => permit,
                None => match tokio::time::timeout(EVICTION_WAIT, slots.acquire_owned()).await {
                    Ok(Ok(permit)) => permit,
                    _ => {
                        tracing::warn!(%peer, "connection limit reached; refusing a connection");
                        refuse_or_close(stream, &settings);
                        return;
                    }
                },
            };
            let activity = Arc::new(Activity::new(settings.busy_poll.clone()));
            let registered = open.register(Arc::clone(&activity));
            tokio::select! {
                () = connection(stream, peer, ctx, Arc::clone(&activity), &settings, stop) => {}
                () = activity.evicted() => {
                    tracing::debug!(%peer, "every slot taken; closing a connection that has not authenticated");
                }
            }
            drop(registered);
            drop(permit);
            drop(client_slot);
        });
    }
}

fn refuse_or_close(stream: TcpStream, settings: &ConnectionSettings) {
    if settings.tls.is_none() {
        tokio::spawn(refuse(stream));
    }
}

async fn refuse(mut stream: TcpStream) {
    const BUSY: &[u8] =
        b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nRetry-After: 1\r\nConnection: close\r\n\r\n";
    let _ = tokio::time::timeout(Duration::from_secs(1), stream.write_all(BUSY)).await;
}

async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    ctx: Arc<RequestContext>,
    activity: Arc<Activity>,
    settings: &ConnectionSettings,
    stop: watch::Receiver<bool>,
) {
    match &settings.tls {
        None => drive(stream, false, peer, ctx, activity, settings, stop).await,
        Some(acceptor) => {
            // The handshake's own timeout starts with its first byte, as a
            // request head's does: a silent client gets the first-byte one.
            let timeouts = settings.timeouts;
            let mut first = [0u8; 1];
            if tokio::time::timeout(timeouts.first_byte, stream.peek(&mut first))
                .await
                .is_err()
            {
                tracing::debug!(%peer, "nothing received; closing connection");
                return;
            }
            activity.handshake_started();
            let handshake = tokio::time::timeout(timeouts.head, acceptor.accept(stream)).await;
            match handshake {
                Ok(Ok(tls_stream)) => {
                    activity.handshake_done();
                    drive(tls_stream, true, peer, ctx, activity, settings, stop).await;
                }
                Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
            }
        }
    }
}

async fn drive<S>(
    stream: S,
    tls: bool,
    peer: SocketAddr,
    ctx: Arc<RequestContext>,
    activity: Arc<Activity>,
    settings: &ConnectionSettings,
    mut stop: watch::Receiver<bool>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let io = TokioIo::new(Tracked::new(stream, Arc::clone(&activity)));
    let service_activity = Arc::clone(&activity);
    let service = service_fn(move |request| {
        http::serve(
            Arc::clone(&ctx),
            peer,
            tls,
            Arc::clone(&service_activity),
            request,
        )
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .keep_alive(true)
        .max_buf_size(settings.max_header_bytes)
        .max_headers(settings.max_headers);
    let connection = builder.serve_connection(io, service);
    tokio::pin!(connection);
    let timeouts = settings.timeouts;
    let tick = (timeouts.first_byte.min(timeouts.head).min(timeouts.idle) / 4)
        .clamp(Duration::from_millis(50), Duration::from_secs(1));
    let mut ticker = tokio::time::interval(tick);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut stopping = *stop.borrow();
    if stopping {
        connection.as_mut().graceful_shutdown();
    }
    loop {
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(%peer, error = %e, "connection ended with an error");
                }
                return;
            }
            _ = stop.changed(), if !stopping => {
                stopping = true;
                connection.as_mut().graceful_shutdown();
            }
            _ = ticker.tick() => {
                if let Some(why) = activity.expired(&timeouts) {
                    tracing::debug!(%peer, reason = ?why, "closing connection");
                    return;
                }
            }
        }
    }
}
