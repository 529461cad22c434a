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
    MetricsService(Arc::new(Metrics::new(paths, config.clone(), right)))
}
