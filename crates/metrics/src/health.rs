//! The server's own health: requests by route, status class and latency,
//! failed logins and lockouts, from readings the embedding program takes
//! (the transport's counters are the transport's). Pure.

use crate::exposition::{Exposition, Kind};

/// Requests of one route.
#[derive(Debug, Clone, PartialEq)]
pub struct RouteReading<'a> {
    /// `/metrics`, `/wsman`, or `default` (CIM-XML and everything else).
    pub route: &'a str,
    /// Requests by status class `[1xx, 2xx, 3xx, 4xx, 5xx]`.
    pub by_class: [u64; 5],
    /// Upper bounds (seconds) with the cumulative count at each.
    pub buckets: Vec<(f64, u64)>,
    pub count: u64,
    pub sum_seconds: f64,
}

/// Everything the server reports about itself.
#[derive(Debug, Clone, PartialEq)]
pub struct HealthReading<'a> {
    pub routes: Vec<RouteReading<'a>>,
    pub auth_failures: u64,
    pub lockouts: u64,
    /// Open pull enumerations, when the front-end is up.
    pub open_enumerations: Option<usize>,
    /// CIM operations answered: (operation, result, count).
    pub operations: Vec<(&'a str, &'a str, u64)>,
}

pub fn health_families(e: &mut Exposition, h: &HealthReading<'_>) {
    e.family(
        "openwmi_http_requests_total",
        Kind::Counter,
        "HTTP requests answered, by route and status class.",
    );
    for r in &h.routes {
        for (i, n) in r.by_class.iter().enumerate() {
            let class = format!("{}xx", i + 1);
            e.sample(
                "openwmi_http_requests_total",
                &[("route", r.route), ("code", &class)],
                *n as f64,
            );
        }
    }
    e.family(
        "openwmi_http_request_duration_seconds",
        Kind::Histogram,
        "Time from a request's arrival to its response head, by route.",
    );
    for r in &h.routes {
        for (le, n) in &r.buckets {
            let le = format!("{le}");
            e.sample(
                "openwmi_http_request_duration_seconds_bucket",
                &[("route", r.route), ("le", &le)],
                *n as f64,
            );
        }
        e.sample(
            "openwmi_http_request_duration_seconds_bucket",
            &[("route", r.route), ("le", "+Inf")],
            r.count as f64,
        );
        e.sample(
            "openwmi_http_request_duration_seconds_sum",
            &[("route", r.route)],
            r.sum_seconds,
        );
        e.sample(
            "openwmi_http_request_duration_seconds_count",
            &[("route", r.route)],
            r.count as f64,
        );
    }
    e.family(
        "openwmi_auth_failures_total",
        Kind::Counter,
        "Logins refused for a wrong user or password.",
    )
    .sample("openwmi_auth_failures_total", &[], h.auth_failures as f64);
    e.family(
        "openwmi_auth_lockouts_total",
        Kind::Counter,
        "Client addresses locked out after too many failed logins.",
    )
    .sample("openwmi_auth_lockouts_total", &[], h.lockouts as f64);
    e.family(
        "openwmi_cim_operations_total",
        Kind::Counter,
        "CIM-XML operations answered, by intrinsic method (other: extrinsic or unknown) and result (OK or the CIM_ERR_ name).",
    );
    for (op, result, n) in &h.operations {
        e.sample(
            "openwmi_cim_operations_total",
            &[("operation", op), ("result", result)],
            *n as f64,
        );
    }
    if let Some(n) = h.open_enumerations {
        e.family(
            "openwmi_enumerations_open",
            Kind::Gauge,
            "Pull enumeration contexts open.",
        )
        .sample("openwmi_enumerations_open", &[], n as f64);
    }
}
