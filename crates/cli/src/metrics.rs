//! `GET /metrics` of `openwmi serve`: the service of `openwmi-metrics`,
//! given the mount files of the providers and the `[permissions]` policy
//! that decides who holds the `sessions` right.

use crate::args::GlobalOptions;
use openwmi_cimom::{AccessPolicy, OperationContext};
use openwmi_metrics::{Metrics, MetricsConfig, MetricsService};
use std::sync::Arc;

/// The class whose `sessions` right the per-user series ask for.
const SESSION_CLASS: &str = "Win32_ServerSession";

pub fn service(
    g: &GlobalOptions,
    config: &MetricsConfig,
    policy: &Arc<dyn AccessPolicy>,
    open_enumerations: Box<dyn Fn() -> Option<usize> + Send + Sync>,
) -> MetricsService {
    let mut paths = openwmi_mounts::Paths::default();
    if let Some(p) = &g.mountinfo {
        paths.mountinfo = p.clone();
    }
    if let Some(p) = &g.fstab {
        paths.fstab = p.clone();
    }
    let policy = Arc::clone(policy);
    let right = Box::new(move |u: &openwmi_service::AuthenticatedUser| {
        let ctx = OperationContext::for_user(Arc::clone(&u.name), Arc::clone(&u.groups));
        policy
            .check_class(&ctx, openwmi_cimom::bundled::CIMV2_NAMESPACE, SESSION_CLASS)
            .is_ok()
    });
    let extra = Box::new(move |e: &mut openwmi_metrics::exposition::Exposition| {
        let counts = openwmi_server::transport_counts();
        let routes = counts
            .routes
            .iter()
            .map(|r| openwmi_metrics::health::RouteReading {
                route: &r.route,
                by_class: r.by_class,
                buckets: openwmi_server::LATENCY_BUCKETS
                    .iter()
                    .copied()
                    .zip(r.cumulative)
                    .collect(),
                count: r.count,
                sum_seconds: r.sum_seconds,
            })
            .collect();
        let operations = openwmi_wbem::operation_counts();
        let reading = openwmi_metrics::health::HealthReading {
            operations: operations
                .iter()
                .map(|o| (o.operation, o.result, o.count))
                .collect(),
            routes,
            auth_failures: counts.auth_failures,
            lockouts: counts.lockouts,
            open_enumerations: open_enumerations(),
        };
        openwmi_metrics::health::health_families(e, &reading);
    });
    MetricsService(Arc::new(Metrics::new(paths, config.clone(), right, extra)))
}

/// The listener of `[metrics] listen`: plain HTTP without login, refused
/// (by the transport's own check) unless every address is loopback.
pub async fn local_listener(
    listen: &[std::net::SocketAddr],
) -> Result<openwmi_server::Server, String> {
    let config = openwmi_server::ServerConfig {
        listen: listen.to_vec(),
        http: true,
        auth: openwmi_server::AuthMode::None,
        ..openwmi_server::ServerConfig::default()
    };
    config
        .validate()
        .map_err(|e| format!("[metrics] listen: {e}"))?;
    openwmi_server::Server::bind(config)
        .await
        .map_err(|e| format!("[metrics] listen: {e}"))
}
