//! Latency histograms of the front-ends' operations, for `GET /metrics`:
//! one table per protocol, a cell per (operation, result), each cell a
//! Prometheus histogram of relaxed atomics. A request pays a bucket search
//! over integers and three increments: no lock, no allocation (a table's
//! cells are allocated once, at its first request).
//!
//! Operations and results are indexes into the table's fixed name lists,
//! so names a client sends can never grow a table.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

/// Upper bounds of the buckets, in seconds (base units, as Prometheus
/// asks): from a cached GetInstance to a data source near its timeout.
pub const BUCKETS: [f64; 17] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0, 30.0,
];

/// [`BUCKETS`] in nanoseconds: the hot path compares integers.
const BOUNDS_NANOS: [u64; BUCKETS.len()] = [
    100_000,
    250_000,
    500_000,
    1_000_000,
    2_500_000,
    5_000_000,
    10_000_000,
    25_000_000,
    50_000_000,
    100_000_000,
    250_000_000,
    500_000_000,
    1_000_000_000,
    2_500_000_000,
    5_000_000_000,
    10_000_000_000,
    30_000_000_000,
];

/// One histogram: counts per bucket (not cumulative: a reading sums
/// them), the count and the sum.
#[derive(Debug)]
pub struct Histogram {
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_nanos: AtomicU64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram::new()
    }
}

impl Histogram {
    pub const fn new() -> Histogram {
        Histogram {
            buckets: [const { AtomicU64::new(0) }; BUCKETS.len()],
            count: AtomicU64::new(0),
            sum_nanos: AtomicU64::new(0),
        }
    }

    /// Counts one observation.
    pub fn observe(&self, took: Duration) {
        let nanos = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        if let Some(i) = BOUNDS_NANOS.iter().position(|b| nanos <= *b) {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    /// The counts as Prometheus writes them (each load on its own: a
    /// reading is not one instant, so `+Inf` is the largest of count and
    /// the last bucket).
    pub fn reading(&self) -> HistogramReading {
        let mut cumulative = [0u64; BUCKETS.len()];
        let mut total = 0;
        for (i, b) in self.buckets.iter().enumerate() {
            total += b.load(Ordering::Relaxed);
            cumulative[i] = total;
        }
        HistogramReading {
            cumulative,
            count: self.count.load(Ordering::Relaxed).max(total),
            sum_seconds: self.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9,
        }
    }
}

/// A histogram as read: cumulative counts at each of [`BUCKETS`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HistogramReading {
    pub cumulative: [u64; BUCKETS.len()],
    pub count: u64,
    pub sum_seconds: f64,
}

/// The operations of one protocol, by operation and result.
#[derive(Debug)]
pub struct LatencyTable {
    protocol: &'static str,
    operations: &'static [&'static str],
    results: &'static [&'static str],
    cells: OnceLock<Box<[Histogram]>>,
}

/// The tables that have counted something, for the scrape.
static TABLES: Mutex<Vec<&'static LatencyTable>> = Mutex::new(Vec::new());

impl LatencyTable {
    /// A table for `protocol` (the label value) over fixed operation and
    /// result names; the last of each is where out-of-range indexes go.
    pub const fn new(
        protocol: &'static str,
        operations: &'static [&'static str],
        results: &'static [&'static str],
    ) -> LatencyTable {
        LatencyTable {
            protocol,
            operations,
            results,
            cells: OnceLock::new(),
        }
    }

    pub fn protocol(&self) -> &'static str {
        self.protocol
    }

    /// Counts one operation: indexes into the operation and result names.
    pub fn record(&'static self, operation: usize, result: usize, took: Duration) {
        let cells = self.cells.get_or_init(|| {
            TABLES.lock().unwrap_or_else(|p| p.into_inner()).push(self);
            (0..self.operations.len().max(1) * self.results.len().max(1))
                .map(|_| Histogram::new())
                .collect()
        });
        let op = operation.min(self.operations.len().saturating_sub(1));
        let result = result.min(self.results.len().saturating_sub(1));
        if let Some(cell) = cells.get(op * self.results.len() + result) {
            cell.observe(took);
        }
    }

    /// Every (operation, result) counted at least once.
    pub fn readings(&self) -> Vec<LatencyReading> {
        let Some(cells) = self.cells.get() else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, cell) in cells.iter().enumerate() {
            if cell.count.load(Ordering::Relaxed) == 0 {
                continue;
            }
            let (op, result) = (i / self.results.len(), i % self.results.len());
            out.push(LatencyReading {
                protocol: self.protocol,
                operation: self.operations[op],
                result: self.results[result],
                histogram: cell.reading(),
            });
        }
        out
    }
}

/// The latency of one (protocol, operation, result).
#[derive(Debug, Clone, PartialEq)]
pub struct LatencyReading {
    pub protocol: &'static str,
    pub operation: &'static str,
    pub result: &'static str,
    pub histogram: HistogramReading,
}

/// The readings of every table that has counted something, in the order
/// the tables were first used.
pub fn readings() -> Vec<LatencyReading> {
    let tables = TABLES.lock().unwrap_or_else(|p| p.into_inner()).clone();
    tables.iter().flat_map(|t| t.readings()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_match_the_buckets() {
        for (b, n) in BUCKETS.iter().zip(BOUNDS_NANOS) {
            assert_eq!((b * 1e9).round() as u64, n);
        }
    }

    #[test]
    fn a_table_counts_by_operation_and_result() {
        static OPS: [&str; 2] = ["Get", "other"];
        static RESULTS: [&str; 2] = ["OK", "failed"];
        static T: LatencyTable = LatencyTable::new("test", &OPS, &RESULTS);
        T.record(0, 0, Duration::from_micros(150));
        T.record(0, 0, Duration::from_secs(60));
        T.record(7, 9, Duration::from_millis(3));
        let r = T.readings();
        assert_eq!(r.len(), 2, "{r:?}");
        assert_eq!((r[0].operation, r[0].result), ("Get", "OK"));
        let h = r[0].histogram;
        assert_eq!(h.count, 2);
        assert_eq!(h.cumulative[0], 0);
        assert_eq!(h.cumulative[1], 1);
        assert_eq!(
            h.cumulative[BUCKETS.len() - 1],
            1,
            "60 s is above every bound"
        );
        assert!((h.sum_seconds - 60.00015).abs() < 1e-9);
        assert_eq!((r[1].operation, r[1].result), ("other", "failed"));
        assert_eq!(r[1].histogram.cumulative[5], 1);
        assert!(readings().iter().any(|r| r.protocol == "test"));
    }
}
