//! What the sink measures: counts, queue depth, group sizes, sync time and persist latency
//! (HDR histograms), as a [`SinkMetrics`] snapshot and as the `sink-metrics.json` file.

use std::ops::Range;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use super::queue::{Depth, Group};
use crate::atomic::replace_unsynced;
use crate::clock::now_ns;
use crate::config::Durability;
use crate::error::{LedgerError, Result};
use crate::files::{temporary_path, METRICS_FILE};
use crate::timefmt::format_rfc3339_ns;

/// Longest latency the histograms tell apart (one hour, in µs); longer ones count as this.
const LATENCY_MAX_US: u64 = 3_600_000_000;

/// A distribution's summary. Latencies and times in milliseconds (µs resolution, 3
/// significant digits), group sizes in signals.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Distribution {
    /// Values recorded.
    pub count: u64,
    /// Mean.
    pub mean: f64,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p999: f64,
    /// Largest.
    pub max: f64,
}

/// A snapshot of what a sink has done since it started.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SinkMetrics {
    /// Process that runs the sink.
    pub pid: u32,
    /// When this snapshot was taken (RFC 3339).
    pub taken_at: String,
    /// Seconds since the sink started.
    pub uptime_s: f64,
    /// What an acknowledgement means.
    pub durability: Durability,
    /// Signals accepted into the queue.
    pub recorded: u64,
    /// Signals made durable.
    pub durable: u64,
    /// Signals whose group failed (their handles got the error).
    pub failed: u64,
    /// Signals refused as invalid.
    pub refused_invalid: u64,
    /// Signals refused for a full queue (backpressure timeout, `try_record`).
    pub refused_full: u64,
    /// Signals refused by the writer because their signal_id is taken by a different signal
    /// (with the rest of their group).
    #[serde(default)]
    pub refused_id_taken: u64,
    /// Signals refused because the sink was shut down.
    pub refused_closed: u64,
    /// Outcomes accepted into the queue (`record_outcomes`).
    #[serde(default)]
    pub outcomes_recorded: u64,
    /// Outcomes made durable.
    #[serde(default)]
    pub outcomes_durable: u64,
    /// Outcomes whose batch the ledger refused (an outcome naming no recorded signal).
    #[serde(default)]
    pub outcomes_refused: u64,
    /// Outcomes whose append failed (counted in `failed_batches` and `last_error` too).
    #[serde(default)]
    pub outcomes_failed: u64,
    /// Signals queued now (not yet being committed).
    pub queue_depth: u64,
    /// Approximate bytes queued now (signals and outcomes).
    pub queue_bytes: u64,
    /// Most signals ever queued at once.
    pub queue_depth_max: u64,
    /// Appends made (each one write and one sync, of one or more groups).
    pub batches: u64,
    /// Appends that failed (of signals or of outcomes).
    pub failed_batches: u64,
    /// Signals per append.
    pub batch_size: Distribution,
    /// Time of each group's sync (fdatasync/fsync), ms.
    pub sync_ms: Distribution,
    /// Time of each group's whole append (encode, hash, write, sync), ms.
    pub commit_ms: Distribution,
    /// From each signal's own timestamp to durable, ms (a producer whose clock is ahead counts
    /// as 0). The PRD's "persisted within 500 ms of creation".
    pub persist_latency_ms: Distribution,
    /// From `record` to durable, ms: the sink's own share of the latency.
    pub queue_to_durable_ms: Distribution,
    /// The last append error, if any.
    pub last_error: Option<String>,
}

struct Histograms {
    durable: u64,
    failed: u64,
    outcomes_durable: u64,
    outcomes_refused: u64,
    outcomes_failed: u64,
    batches: u64,
    failed_batches: u64,
    batch_size: Histogram<u64>,
    sync_us: Histogram<u64>,
    commit_us: Histogram<u64>,
    persist_us: Histogram<u64>,
    queue_us: Histogram<u64>,
    last_error: Option<String>,
}

fn histogram(max: u64) -> Histogram<u64> {
    // Invariant: callers pass max ≥ 2, so the bounds (1..=max, 3 significant digits) are valid.
    debug_assert!(max >= 2);
    Histogram::new_with_bounds(1, max, 3).expect("constant histogram bounds are valid")
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

fn summary(h: &Histogram<u64>, scale: f64) -> Distribution {
    if h.is_empty() {
        return Distribution::default();
    }
    Distribution {
        count: h.len(),
        mean: h.mean() / scale,
        p50: h.value_at_quantile(0.50) as f64 / scale,
        p90: h.value_at_quantile(0.90) as f64 / scale,
        p99: h.value_at_quantile(0.99) as f64 / scale,
        p999: h.value_at_quantile(0.999) as f64 / scale,
        max: h.max() as f64 / scale,
    }
}

/// The sink's live counters: producers bump the atomics, the writer owns the histograms.
pub(crate) struct Metrics {
    started: Instant,
    durability: Durability,
    recorded: AtomicU64,
    refused_invalid: AtomicU64,
    refused_full: AtomicU64,
    refused_id_taken: AtomicU64,
    refused_closed: AtomicU64,
    outcomes_recorded: AtomicU64,
    histograms: Mutex<Histograms>,
}

impl Metrics {
    pub(crate) fn new(durability: Durability) -> Metrics {
        Metrics {
            started: Instant::now(),
            durability,
            recorded: AtomicU64::new(0),
            refused_invalid: AtomicU64::new(0),
            refused_full: AtomicU64::new(0),
            refused_id_taken: AtomicU64::new(0),
            refused_closed: AtomicU64::new(0),
            outcomes_recorded: AtomicU64::new(0),
            histograms: Mutex::new(Histograms {
                durable: 0,
                failed: 0,
                outcomes_durable: 0,
                outcomes_refused: 0,
                outcomes_failed: 0,
                batches: 0,
                failed_batches: 0,
                batch_size: histogram(1 << 32),
                sync_us: histogram(LATENCY_MAX_US),
                commit_us: histogram(LATENCY_MAX_US),
                persist_us: histogram(LATENCY_MAX_US),
                queue_us: histogram(LATENCY_MAX_US),
                last_error: None,
            }),
        }
    }

    pub(crate) fn add_recorded(&self, n: u64) {
        self.recorded.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn add_refused_invalid(&self) {
        self.refused_invalid.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn add_refused_full(&self, n: u64) {
        self.refused_full.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn add_refused_id_taken(&self, n: u64) {
        self.refused_id_taken.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn add_refused_closed(&self, n: u64) {
        self.refused_closed.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn add_outcomes_recorded(&self, n: u64) {
        self.outcomes_recorded.fetch_add(n, Ordering::Relaxed);
    }

    /// `n` outcomes were appended and are durable.
    pub(crate) fn outcomes_durable(&self, n: u64) {
        self.histograms.lock().outcomes_durable += n;
    }

    /// The ledger refused a batch of `n` outcomes (nothing written).
    pub(crate) fn outcomes_refused(&self, n: u64) {
        self.histograms.lock().outcomes_refused += n;
    }

    /// An append of `n` outcomes failed with `error`.
    pub(crate) fn outcomes_failed(&self, n: u64, error: &LedgerError) {
        let mut h = self.histograms.lock();
        h.outcomes_failed += n;
        h.failed_batches += 1;
        h.last_error = Some(error.to_string());
    }

    /// The signals `units` name (group, range in it) are durable at `durable_at_ns` (wall
    /// clock) / `durable_at` (monotonic); `appended` of them are new entries, the others were
    /// recorded already (an append of nothing new writes and syncs nothing, so it is not
    /// counted as an append).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn committed(
        &self,
        groups: &[Group],
        units: &[(usize, Range<usize>)],
        appended: u64,
        sync: Duration,
        commit: Duration,
        durable_at_ns: i64,
        durable_at: Instant,
    ) {
        let mut h = self.histograms.lock();
        let n: u64 = units.iter().map(|(_, r)| r.len() as u64).sum();
        h.durable += n;
        if appended > 0 {
            h.batches += 1;
            h.batch_size.saturating_record(appended);
            h.sync_us.saturating_record(micros(sync));
            h.commit_us.saturating_record(micros(commit));
        }
        for (group, range) in units {
            let Some(group) = groups.get(*group) else {
                continue;
            };
            for signal in group.signals.get(range.clone()).unwrap_or_default() {
                let ns = durable_at_ns.saturating_sub(signal.timestamp_ns).max(0);
                h.persist_us.saturating_record((ns / 1_000) as u64);
            }
            for queued_at in group.queued_at.get(range.clone()).unwrap_or_default() {
                h.queue_us
                    .saturating_record(micros(durable_at.saturating_duration_since(*queued_at)));
            }
        }
    }

    /// An append of `signals` signals failed with `error`.
    pub(crate) fn failed(&self, signals: u64, error: &LedgerError) {
        let mut h = self.histograms.lock();
        h.failed += signals;
        h.failed_batches += 1;
        h.last_error = Some(error.to_string());
    }

    pub(crate) fn snapshot(&self, depth: &Depth) -> SinkMetrics {
        let h = self.histograms.lock();
        SinkMetrics {
            pid: std::process::id(),
            taken_at: format_rfc3339_ns(now_ns()),
            uptime_s: self.started.elapsed().as_secs_f64(),
            durability: self.durability,
            recorded: self.recorded.load(Ordering::Relaxed),
            durable: h.durable,
            failed: h.failed,
            refused_invalid: self.refused_invalid.load(Ordering::Relaxed),
            refused_full: self.refused_full.load(Ordering::Relaxed),
            refused_id_taken: self.refused_id_taken.load(Ordering::Relaxed),
            refused_closed: self.refused_closed.load(Ordering::Relaxed),
            outcomes_recorded: self.outcomes_recorded.load(Ordering::Relaxed),
            outcomes_durable: h.outcomes_durable,
            outcomes_refused: h.outcomes_refused,
            outcomes_failed: h.outcomes_failed,
            queue_depth: depth.signals as u64,
            queue_bytes: depth.bytes as u64,
            queue_depth_max: depth.max_signals_seen as u64,
            batches: h.batches,
            failed_batches: h.failed_batches,
            batch_size: summary(&h.batch_size, 1.0),
            sync_ms: summary(&h.sync_us, 1_000.0),
            commit_ms: summary(&h.commit_us, 1_000.0),
            persist_latency_ms: summary(&h.persist_us, 1_000.0),
            queue_to_durable_ms: summary(&h.queue_us, 1_000.0),
            last_error: h.last_error.clone(),
        }
    }
}

impl SinkMetrics {
    /// Writes this snapshot to [`METRICS_FILE`] in `dir` (a temporary file renamed over it, not
    /// synced: metrics are not worth an fsync).
    pub fn write_to(&self, dir: &Path) -> Result<()> {
        let path = dir.join(METRICS_FILE);
        let tmp = temporary_path(&path);
        let mut text = serde_json::to_vec_pretty(self).unwrap_or_default();
        text.push(b'\n');
        replace_unsynced(&tmp, &path, &text)
    }

    /// Reads the snapshot a sink left in `dir`; None if there is none.
    pub fn read_from(dir: &Path) -> Result<Option<SinkMetrics>> {
        let path = dir.join(METRICS_FILE);
        let text = match std::fs::read(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(LedgerError::io("read", &path, e)),
        };
        serde_json::from_slice(&text)
            .map(Some)
            .map_err(|e| LedgerError::Unreadable {
                path,
                message: format!("not a sink metrics file: {e}"),
            })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_metrics_file_reads_back_and_garbage_is_named() {
        let tmp = tempfile::tempdir().unwrap();
        assert_eq!(SinkMetrics::read_from(tmp.path()).unwrap(), None);
        let metrics = Metrics::new(Durability::Fdatasync).snapshot(&Depth::default());
        metrics.write_to(tmp.path()).unwrap();
        assert_eq!(SinkMetrics::read_from(tmp.path()).unwrap(), Some(metrics));
        std::fs::write(tmp.path().join(METRICS_FILE), b"{not json").unwrap();
        let err = SinkMetrics::read_from(tmp.path()).unwrap_err();
        assert!(matches!(err, LedgerError::Unreadable { .. }), "{err}");
        assert!(err.to_string().contains(METRICS_FILE), "{err}");
    }
}
