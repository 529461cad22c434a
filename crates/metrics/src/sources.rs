//! Reads of the data sources, counted where they happen (the Samba and
//! mount sources tell [`record`] of every read, for a CIM request or a
//! scrape alike): reads, failures, their duration as a histogram and the
//! time of the last answer. Process wide, relaxed atomics in a fixed
//! table.

use crate::exposition::{Exposition, Kind};
use openwmi_service::latency::Histogram;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The sources, as the `source` label names them.
pub const SOURCES: [&str; 7] = [
    "smbstatus",
    "testparm",
    "smb_conf",
    "net",
    "lpstat",
    "getent",
    "mounts",
];

struct SourceStats {
    failures: AtomicU64,
    duration: Histogram,
    /// Unix time of the last read that answered, in milliseconds.
    last_answer_millis: AtomicU64,
}

static STATS: [SourceStats; SOURCES.len()] = [const {
    SourceStats {
        failures: AtomicU64::new(0),
        duration: Histogram::new(),
        last_answer_millis: AtomicU64::new(0),
    }
}; SOURCES.len()];

/// Makes the Samba and mount sources report their reads here.
pub fn install() {
    openwmi_samba::source::observe_reads(record);
    openwmi_mounts::source::observe_reads(record);
}

/// One read of `source`: how long it took, whether it answered.
pub fn record(source: &'static str, took: Duration, ok: bool) {
    let Some(stats) = SOURCES.iter().position(|s| *s == source).map(|i| &STATS[i]) else {
        return;
    };
    stats.duration.observe(took);
    if ok {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        stats.last_answer_millis.fetch_max(now, Ordering::Relaxed);
    } else {
        stats.failures.fetch_add(1, Ordering::Relaxed);
    }
}

/// The reads' families: counters for every source, the duration and the
/// last answer for the sources read so far.
pub fn families(e: &mut Exposition) {
    let readings: Vec<_> = STATS.iter().map(|s| s.duration.reading()).collect();
    e.family(
        "openwmi_data_source_reads_total",
        Kind::Counter,
        "Reads of a data source (program runs, file reads), for CIM requests and scrapes alike; answers shared through the cache are not reads.",
    );
    for (name, r) in SOURCES.iter().zip(&readings) {
        e.sample(
            "openwmi_data_source_reads_total",
            &[("source", name)],
            r.count as f64,
        );
    }
    e.family(
        "openwmi_data_source_failures_total",
        Kind::Counter,
        "Reads of a data source that gave no answer (failed, timed out, or unreadable output).",
    );
    for (name, s) in SOURCES.iter().zip(&STATS) {
        e.sample(
            "openwmi_data_source_failures_total",
            &[("source", name)],
            s.failures.load(Ordering::Relaxed) as f64,
        );
    }
    e.family(
        "openwmi_data_source_read_duration_seconds",
        Kind::Histogram,
        "How long each read of a data source took, failed ones included.",
    );
    for (name, r) in SOURCES.iter().zip(&readings) {
        if r.count > 0 {
            e.histogram(
                "openwmi_data_source_read_duration_seconds",
                &[("source", name)],
                r,
            );
        }
    }
    e.family(
        "openwmi_data_source_last_answer_timestamp_seconds",
        Kind::Gauge,
        "Unix time of the last read of a data source that answered.",
    );
    for (name, s) in SOURCES.iter().zip(&STATS) {
        let millis = s.last_answer_millis.load(Ordering::Relaxed);
        if millis > 0 {
            e.sample(
                "openwmi_data_source_last_answer_timestamp_seconds",
                &[("source", name)],
                millis as f64 / 1e3,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_failures_by_source() {
        let count = |text: &str, line: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(line))
                .map(|v| v.trim().parse::<f64>().unwrap())
                .unwrap_or(0.0)
        };
        let mut e = Exposition::new();
        families(&mut e);
        let before = e.finish();
        record("lpstat", Duration::from_millis(20), true);
        record("lpstat", Duration::from_secs(3), false);
        record("not a source", Duration::from_secs(3), false);
        let mut e = Exposition::new();
        families(&mut e);
        let after = e.finish();
        for (line, more) in [
            ("openwmi_data_source_reads_total{source=\"lpstat\"}", 2.0),
            ("openwmi_data_source_failures_total{source=\"lpstat\"}", 1.0),
            (
                "openwmi_data_source_read_duration_seconds_bucket{source=\"lpstat\",le=\"0.025\"}",
                1.0,
            ),
        ] {
            assert_eq!(count(&after, line), count(&before, line) + more, "{line}");
        }
        assert!(
            after.contains("openwmi_data_source_last_answer_timestamp_seconds{source=\"lpstat\"}")
        );
    }
}
