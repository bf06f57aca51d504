//! `SinkConfig`: how the sink batches and how much it may hold.

use std::time::Duration;

use crate::config::PersistenceConfig;

/// How a [`SignalSink`](super::SignalSink) batches and bounds its queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SinkConfig {
    /// Signals per group. A full group is committed without waiting for `flush_interval`; a
    /// writer that fell behind commits up to 16 waiting groups in one append. A `record_batch`
    /// larger than this is a group of its own.
    pub batch_size: usize,
    /// Longest the writer, once idle, waits for a group to fill before committing it. Zero
    /// commits as soon as the writer is free: signals that arrive during one commit form the
    /// next group, so groups still grow with the load.
    pub flush_interval: Duration,
    /// Most entries — signals and outcomes — queued (not yet being committed) before
    /// producers wait.
    pub max_queued_signals: usize,
    /// Most bytes of queued signals (their approximate encoded size) before producers wait.
    pub max_queued_bytes: usize,
    /// Longest [`SignalSink::record`](super::SignalSink::record) waits for room in a full queue
    /// before refusing with `Backpressure`.
    pub backpressure_timeout: Duration,
    /// Keep the sink's metrics in `sink-metrics.json` in the ledger directory (rewritten at
    /// most once a second and at shutdown), for `signal-ledger stats` in another process.
    pub metrics_file: bool,
}

/// Default [`SinkConfig::max_queued_signals`].
pub const MAX_QUEUED_SIGNALS_DEFAULT: usize = 32_768;
/// Default [`SinkConfig::max_queued_bytes`]: 256 MiB.
pub const MAX_QUEUED_BYTES_DEFAULT: usize = 256 * 1024 * 1024;
/// Default [`SinkConfig::backpressure_timeout`].
pub const BACKPRESSURE_TIMEOUT_DEFAULT: Duration = Duration::from_secs(1);

impl SinkConfig {
    /// The ledger's `batch_size` and `flush_interval_ms`, default bounds.
    pub fn from_persistence(config: &PersistenceConfig) -> SinkConfig {
        SinkConfig {
            batch_size: config.batch_size.max(1),
            flush_interval: Duration::from_millis(config.flush_interval_ms),
            ..SinkConfig::default()
        }
    }
}

impl Default for SinkConfig {
    fn default() -> Self {
        let p = PersistenceConfig::default();
        SinkConfig {
            batch_size: p.batch_size,
            flush_interval: Duration::from_millis(p.flush_interval_ms),
            max_queued_signals: MAX_QUEUED_SIGNALS_DEFAULT,
            max_queued_bytes: MAX_QUEUED_BYTES_DEFAULT,
            backpressure_timeout: BACKPRESSURE_TIMEOUT_DEFAULT,
            metrics_file: true,
        }
    }
}
