//! The transport's counters, for `GET /metrics`: requests by route and
//! status class with their latency, failed logins and lockouts. Process
//! wide and lock-free (relaxed atomics in fixed arrays): a request pays a
//! few increments, never a lock.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

/// Upper bounds (seconds) of the latency histogram's buckets.
pub const LATENCY_BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];
/// Routes counted apart: the fallback, then the first exact paths.
const MAX_ROUTES: usize = 8;
const CLASSES: usize = 5;

struct Route {
    by_class: [AtomicU64; CLASSES],
    buckets: [AtomicU64; LATENCY_BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl Route {
    const fn new() -> Route {
        Route {
            by_class: [const { AtomicU64::new(0) }; CLASSES],
            buckets: [const { AtomicU64::new(0) }; LATENCY_BUCKETS.len()],
            count: AtomicU64::new(0),
            sum_micros: AtomicU64::new(0),
        }
    }
}

struct Stats {
    routes: [Route; MAX_ROUTES],
    names: Mutex<Vec<String>>,
    auth_failures: AtomicU64,
    lockouts: AtomicU64,
}

fn stats() -> &'static Stats {
    static STATS: OnceLock<Stats> = OnceLock::new();
    STATS.get_or_init(|| Stats {
        routes: [const { Route::new() }; MAX_ROUTES],
        names: Mutex::new(Vec::new()),
        auth_failures: AtomicU64::new(0),
        lockouts: AtomicU64::new(0),
    })
}

/// The counters' slots of a server's routes (by [`crate::Routes::index_of`]):
/// a name seen before (another server of the process routes it too)
/// keeps its slot; past the last slot, routes share it.
pub(crate) fn register_routes(names: Vec<String>) -> Vec<usize> {
    let mut known = stats().names.lock().unwrap_or_else(|p| p.into_inner());
    names
        .into_iter()
        .map(|name| match known.iter().position(|n| *n == name) {
            Some(i) => i,
            None if known.len() < MAX_ROUTES => {
                known.push(name);
                known.len() - 1
            }
            None => MAX_ROUTES - 1,
        })
        .collect()
}

/// One answered request: its route index, HTTP status and time taken.
pub(crate) fn record_request(route: usize, status: u16, took: Duration) {
    let Some(r) = stats().routes.get(route.min(MAX_ROUTES - 1)) else {
        return;
    };
    let class = usize::from(status / 100).clamp(1, CLASSES) - 1;
    r.by_class[class].fetch_add(1, Ordering::Relaxed);
    let secs = took.as_secs_f64();
    if let Some(i) = LATENCY_BUCKETS.iter().position(|b| secs <= *b) {
        r.buckets[i].fetch_add(1, Ordering::Relaxed);
    }
    r.count.fetch_add(1, Ordering::Relaxed);
    let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
    r.sum_micros.fetch_add(micros, Ordering::Relaxed);
}

pub(crate) fn record_auth_failure() {
    stats().auth_failures.fetch_add(1, Ordering::Relaxed);
}

pub(crate) fn record_lockout() {
    stats().lockouts.fetch_add(1, Ordering::Relaxed);
}

/// The counters of one route.
#[derive(Debug, Clone, PartialEq)]
pub struct RouteCounts {
    /// The exact path, or `default` for the fallback.
    pub route: String,
    /// Requests by status class: `[1xx, 2xx, 3xx, 4xx, 5xx]`.
    pub by_class: [u64; CLASSES],
    /// Cumulative counts at each of [`LATENCY_BUCKETS`].
    pub cumulative: [u64; LATENCY_BUCKETS.len()],
    pub count: u64,
    pub sum_seconds: f64,
}

/// A reading of every counter.
#[derive(Debug, Clone, PartialEq)]
pub struct TransportCounts {
    pub routes: Vec<RouteCounts>,
    pub auth_failures: u64,
    pub lockouts: u64,
}

/// Reads the counters (each on its own: a reading is not one instant).
pub fn transport_counts() -> TransportCounts {
    let s = stats();
    let names = s.names.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let routes = names
        .iter()
        .take(MAX_ROUTES)
        .zip(&s.routes)
        .map(|(name, r)| {
            let mut cumulative = [0u64; LATENCY_BUCKETS.len()];
            let mut total = 0;
            for (i, b) in r.buckets.iter().enumerate() {
                total += b.load(Ordering::Relaxed);
                cumulative[i] = total;
            }
            RouteCounts {
                route: name.clone(),
                by_class: std::array::from_fn(|i| r.by_class[i].load(Ordering::Relaxed)),
                cumulative,
                count: r.count.load(Ordering::Relaxed),
                sum_seconds: r.sum_micros.load(Ordering::Relaxed) as f64 / 1e6,
            }
        })
        .collect();
    TransportCounts {
        routes,
        auth_failures: s.auth_failures.load(Ordering::Relaxed),
        lockouts: s.lockouts.load(Ordering::Relaxed),
    }
}
