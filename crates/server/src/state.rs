//! What every handler shares: the one [`SignalSink`], the ledger directory readers open per
//! request, the options in force, and the server's own counters.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use signal_ledger_engine::SignalSink;

use crate::error::ApiError;

/// Default largest request body: 16 MiB.
pub const BODY_LIMIT_DEFAULT: usize = 16 * 1024 * 1024;

/// Default most exports and replays served at once: each holds a thread of the blocking pool
/// while it runs, and the pool (512 threads) must keep threads for the writes.
pub const STREAMS_MAX_DEFAULT: usize = 64;

/// How the server behaves.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// When set, every write (POST) needs `Authorization: Bearer <token>`; reads never do.
    pub token: Option<String>,
    /// Largest request body accepted, in bytes; a larger one is answered 413.
    pub body_limit: usize,
    /// Most exports and replays in progress at once; one more is answered 503.
    pub streams_max: usize,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            token: None,
            body_limit: BODY_LIMIT_DEFAULT,
            streams_max: STREAMS_MAX_DEFAULT,
        }
    }
}

/// Counters the server keeps itself (the sink keeps its own metrics).
#[derive(Debug, Default)]
pub struct Counters {
    /// Reads answered by the query crate: signals, aggregate, lineage.
    pub queries: AtomicU64,
    /// Write requests (POST /v1/signals) that recorded their signals.
    pub signal_requests: AtomicU64,
    /// Write requests (POST /v1/outcomes) that recorded their outcomes.
    pub outcome_requests: AtomicU64,
    /// Requests answered with an error status.
    pub errors: AtomicU64,
}

impl Counters {
    /// Adds one to `counter`.
    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// What every handler shares.
#[derive(Debug)]
pub struct AppState {
    /// The one sink all writes go through (it owns the ledger's writer).
    pub sink: Arc<SignalSink>,
    /// The ledger directory (readers open a `Snapshot` or `Catalog` of it per request).
    pub dir: PathBuf,
    /// The options in force.
    pub options: ServerOptions,
    /// Request counters for /v1/stats and /metrics.
    pub counters: Counters,
    /// Becomes true when the server starts shutting down: long-lived answers (a paced replay)
    /// end then, so the graceful shutdown does not wait for them.
    pub stopping: tokio::sync::watch::Sender<bool>,
    /// Permits for exports and replays in progress (`options.streams_max`).
    pub streams: Arc<tokio::sync::Semaphore>,
}

impl AppState {
    /// State over `sink`.
    pub fn new(sink: Arc<SignalSink>, options: ServerOptions) -> AppState {
        AppState {
            dir: sink.dir().to_path_buf(),
            sink,
            counters: Counters::default(),
            stopping: tokio::sync::watch::Sender::new(false),
            streams: Arc::new(tokio::sync::Semaphore::new(options.streams_max)),
            options,
        }
    }

    /// A permit for one export or replay, held while it runs; 503 when `streams_max` are in
    /// progress.
    pub fn stream_permit(&self) -> Result<tokio::sync::OwnedSemaphorePermit, ApiError> {
        Arc::clone(&self.streams).try_acquire_owned().map_err(|_| {
            ApiError::Unavailable(format!(
                "{} exports and replays are in progress, the most this server runs at once; retry later",
                self.options.streams_max
            ))
        })
    }
}
