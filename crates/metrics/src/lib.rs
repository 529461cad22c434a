//! `GET /metrics` of `openwmi serve`: what the Samba and Windows exporters
//! give, in the Prometheus text format, as a [`Service`] beside CIM-XML.
//!
//! The scrape reads the same [`SambaSource`] the CIM session classes read:
//! its single flight and freshness make a scrape cost one `smbstatus` run
//! at most, shared with the CIM requests (and scrapes) running meanwhile.
//! It runs behind the transport's authentication like every route.
//! Aggregates are for every authenticated scraper; per-user and
//! per-client series only when `per_user_labels` is configured and only
//! for a scraper holding the `sessions` right (their cardinality and their
//! privacy are the administrator's choice).

pub mod exposition;
pub mod health;
pub mod samba;
pub mod sources;

use exposition::{Exposition, Kind, CONTENT_TYPE};
use http::header::{HeaderValue, ALLOW, CONTENT_TYPE as CONTENT_TYPE_HEADER};
use http::{Method, StatusCode};
use openwmi_mounts::Paths;
use openwmi_samba::SambaSource;
use openwmi_service::{AuthenticatedUser, Request, RequestHead, Response, Service};
use serde::Deserialize;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// The path the route is served on.
pub const PATH: &str = "/metrics";

/// The `[metrics]` table of the server configuration.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsConfig {
    /// Serve `GET /metrics` on the server's listeners.
    pub enabled: bool,
    /// Add per-user and per-client session series, for scrapers holding
    /// the `sessions` right.
    pub per_user_labels: bool,
    /// Also serve `/metrics` on these loopback addresses, over plain HTTP
    /// and without login, for a scraper on this machine (it reads as the
    /// user `anonymous`).
    pub listen: Vec<std::net::SocketAddr>,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig {
            enabled: true,
            per_user_labels: false,
            listen: Vec::new(),
        }
    }
}

/// Decides whether a scraper holds the `sessions` right.
pub type SessionsRight = Box<dyn Fn(&AuthenticatedUser) -> bool + Send + Sync>;

/// Writes families the embedding program knows (the transport's
/// requests, the front-end's enumerations) into a scrape.
pub type ExtraFamilies = Box<dyn Fn(&mut Exposition) + Send + Sync>;

/// The data sources a scrape reads, named in `openwmi_data_source_up`.
const SOURCES: [&str; 3] = ["smbstatus", "smb_conf", "mounts"];

/// Scrapes' latency, by method and result, beside the front-ends'.
static LATENCY: openwmi_service::latency::LatencyTable =
    openwmi_service::latency::LatencyTable::new(
        "metrics",
        &["GET", "HEAD"],
        &["OK", "unavailable", "failed"],
    );

/// The `/metrics` service.
pub struct Metrics {
    /// Set once the object manager is built (its providers own the source).
    samba: OnceLock<Arc<SambaSource>>,
    mounts: Paths,
    config: MetricsConfig,
    sessions_right: SessionsRight,
    extra: ExtraFamilies,
    scrapes: AtomicU64,
    started: Instant,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Metrics {
    pub fn new(
        mounts: Paths,
        config: MetricsConfig,
        sessions_right: SessionsRight,
        extra: ExtraFamilies,
    ) -> Metrics {
        sources::install();
        Metrics {
            samba: OnceLock::new(),
            mounts,
            config,
            sessions_right,
            extra,
            scrapes: AtomicU64::new(0),
            started: Instant::now(),
        }
    }

    /// The Samba source the CIM providers read; scrapes wait for it
    /// (answered 503 until then).
    pub fn set_samba(&self, samba: Arc<SambaSource>) {
        let _ = self.samba.set(samba);
    }

    /// One scrape: reads each source once and writes every family. A
    /// source that fails leaves its families out and says so in
    /// `openwmi_data_source_up`; the others are still answered.
    pub fn render(&self, scraper: &AuthenticatedUser) -> Option<String> {
        let samba = self.samba.get()?;
        let began = Instant::now();
        self.scrapes.fetch_add(1, Ordering::Relaxed);
        let detail = samba::Detail {
            per_user: self.config.per_user_labels && (self.sessions_right)(scraper),
        };
        let mut e = Exposition::new();
        let mut up = [false; 3];
        let shares = samba.shares();
        let status = samba.status();
        let mounts = openwmi_mounts::source::load(&self.mounts);

        if let Ok(shares) = &shares {
            up[1] = true;
            samba::share_families(&mut e, shares);
        }
        if let Ok(status) = &status {
            up[0] = true;
            let none = Vec::new();
            let shares = shares.as_deref().unwrap_or(&none);
            samba::status_families(&mut e, status, shares, detail);
            if let Some(ts) = status.timestamp {
                let now = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0.0, |d| d.as_secs_f64());
                let taken = ts.unix_secs as f64 + f64::from(ts.micros) / 1e6;
                e.family(
                    "openwmi_samba_snapshot_age_seconds",
                    Kind::Gauge,
                    "Age of the smbstatus snapshot this scrape read.",
                )
                .sample(
                    "openwmi_samba_snapshot_age_seconds",
                    &[],
                    (now - taken).max(0.0),
                );
            }
        }
        if let Ok(m) = &mounts {
            up[2] = true;
            samba::mount_families(&mut e, &m.mounts, &m.fstab);
        }

        (self.extra)(&mut e);
        e.family(
            "openwmi_data_source_up",
            Kind::Gauge,
            "Whether this scrape could read the data source.",
        );
        for (i, name) in SOURCES.iter().enumerate() {
            e.sample(
                "openwmi_data_source_up",
                &[("source", name)],
                f64::from(u8::from(up[i])),
            );
        }
        sources::families(&mut e);
        latency_families(&mut e);
        e.family(
            "openwmi_metrics_scrapes_total",
            Kind::Counter,
            "Requests for /metrics answered.",
        )
        .sample(
            "openwmi_metrics_scrapes_total",
            &[],
            self.scrapes.load(Ordering::Relaxed) as f64,
        );
        e.family(
            "openwmi_uptime_seconds",
            Kind::Gauge,
            "Seconds since openwmi serve started.",
        )
        .sample(
            "openwmi_uptime_seconds",
            &[],
            self.started.elapsed().as_secs_f64(),
        );
        e.family(
            "openwmi_metrics_scrape_duration_seconds",
            Kind::Gauge,
            "How long this scrape took.",
        )
        .sample(
            "openwmi_metrics_scrape_duration_seconds",
            &[],
            began.elapsed().as_secs_f64(),
        );
        Some(e.finish())
    }
}

/// The front-ends' operations by protocol, operation and result
/// (`openwmi_service::latency`), as one histogram family.
fn latency_families(e: &mut Exposition) {
    let readings = openwmi_service::latency::readings();
    e.family(
        "openwmi_request_duration_seconds",
        Kind::Histogram,
        "Time from a request's arrival to its answer (the first chunk of a streamed one), by protocol (cimxml, wsman, metrics), operation and result (OK, the CIM_ERR_ name or the WS-Management fault).",
    );
    for r in &readings {
        e.histogram(
            "openwmi_request_duration_seconds",
            &[
                ("protocol", r.protocol),
                ("operation", r.operation),
                ("result", r.result),
            ],
            &r.histogram,
        );
    }
}

/// [`Metrics`] as the transport routes to it.
#[derive(Debug, Clone)]
pub struct MetricsService(pub Arc<Metrics>);

impl Service for MetricsService {
    fn check(&self, head: &mut RequestHead) -> Result<(), Response> {
        if head.method == Method::GET || head.method == Method::HEAD {
            return Ok(());
        }
        Err(Response::empty(StatusCode::METHOD_NOT_ALLOWED)
            .with_header(ALLOW, HeaderValue::from_static("GET, HEAD")))
    }

    fn call(&self, request: Request) -> Pin<Box<dyn Future<Output = Response> + Send>> {
        let started = Instant::now();
        let me = Arc::clone(&self.0);
        let user = request.head.user.clone();
        let method = usize::from(request.head.method == Method::HEAD);
        Box::pin(async move {
            // smbstatus and the files are read on a blocking thread, never
            // on a worker.
            let (result, response) = match tokio::task::spawn_blocking(move || me.render(&user))
                .await
            {
                Ok(Some(text)) => (
                    0,
                    Response::ok(text)
                        .with_header(CONTENT_TYPE_HEADER, HeaderValue::from_static(CONTENT_TYPE)),
                ),
                Ok(None) => (1, Response::empty(StatusCode::SERVICE_UNAVAILABLE)),
                Err(_) => (2, Response::empty(StatusCode::INTERNAL_SERVER_ERROR)),
            };
            LATENCY.record(method, result, started.elapsed());
            response
        })
    }
}
