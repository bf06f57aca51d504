//! Monitoring: GET /v1/stats (the ledger's counts and the sink's metrics, as JSON) and
//! GET /metrics (the same in Prometheus text format).

use std::fmt::Write as _;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use signal_ledger_engine::config::LedgerToml;
use signal_ledger_engine::files::CONFIG_FILE;
use signal_ledger_engine::sink::Distribution;
use signal_ledger_engine::{LedgerStats, SinkMetrics, Snapshot};

use crate::error::ApiError;
use crate::handlers::blocking;
use crate::json;
use crate::state::AppState;

/// The engine's `stats` of the ledger as a snapshot sees it now, with the settings the shared
/// sink's writer runs with (`ledger.toml` and the overrides `serve` was started with, as
/// `signal-ledger stats` shows them) and the sink's live metrics.
fn ledger_stats(state: &AppState) -> Result<LedgerStats, ApiError> {
    let snapshot = Snapshot::open(&state.dir)?;
    let mut toml = LedgerToml::load(&state.dir.join(CONFIG_FILE))?;
    toml.persistence = state.sink.persistence().clone();
    Ok(LedgerStats::of(
        &snapshot,
        &toml,
        Some(state.sink.metrics()),
    ))
}

/// The ledger's size as a snapshot sees it now: what /metrics reports of it.
#[derive(Debug, Clone, Copy)]
pub struct LedgerSize {
    /// Entries held.
    pub records: u64,
    /// Segment files.
    pub segments: u64,
    /// Bytes of all segments.
    pub bytes: u64,
}

impl LedgerSize {
    fn of(snapshot: &Snapshot) -> LedgerSize {
        LedgerSize {
            records: snapshot.record_count(),
            segments: snapshot.segments().len() as u64,
            bytes: snapshot.bytes_total(),
        }
    }
}

/// The server's own counters.
#[derive(Debug, Serialize)]
pub struct ServerCounts {
    /// Reads answered by the query crate (signals, aggregate, lineage).
    pub queries: u64,
    /// POST /v1/signals requests recorded.
    pub signal_requests: u64,
    /// POST /v1/outcomes requests recorded.
    pub outcome_requests: u64,
    /// Requests answered with an error status.
    pub errors: u64,
}

fn server_counts(state: &AppState) -> ServerCounts {
    let c = &state.counters;
    ServerCounts {
        queries: c.queries.load(Ordering::Relaxed),
        signal_requests: c.signal_requests.load(Ordering::Relaxed),
        outcome_requests: c.outcome_requests.load(Ordering::Relaxed),
        errors: c.errors.load(Ordering::Relaxed),
    }
}

/// What GET /v1/stats answers: the `stats` object and the server's counters.
#[derive(Debug, Serialize)]
pub struct StatsBody {
    /// The ledger's figures, as `signal-ledger stats` prints them (the sink's metrics live).
    #[serde(flatten)]
    pub ledger: LedgerStats,
    /// The server's counters.
    pub server: ServerCounts,
}

/// Counts, segments, head, settings, the check log, the sink's metrics and the server's
/// counters, as JSON.
pub async fn get_stats(State(state): State<Arc<AppState>>) -> Result<Response, ApiError> {
    let shared = Arc::clone(&state);
    let ledger = blocking(move || ledger_stats(&shared)).await?;
    Ok(json::ok(&StatsBody {
        ledger,
        server: server_counts(&state),
    }))
}

fn metric(out: &mut String, name: &str, kind: &str, help: &str, value: impl std::fmt::Display) {
    let _ = writeln!(
        out,
        "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
    );
}

fn summary(out: &mut String, name: &str, help: &str, d: &Distribution) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} summary");
    for (q, v) in [
        ("0.5", d.p50),
        ("0.9", d.p90),
        ("0.99", d.p99),
        ("0.999", d.p999),
    ] {
        let _ = writeln!(out, "{name}{{quantile=\"{q}\"}} {v}");
    }
    let _ = writeln!(out, "{name}_sum {}", d.mean * d.count as f64);
    let _ = writeln!(out, "{name}_count {}", d.count);
}

/// The Prometheus text of `m`, `ledger` and `server`.
pub fn prometheus(m: &SinkMetrics, ledger: &LedgerSize, server: &ServerCounts) -> String {
    let mut out = String::new();
    let counters = [
        (
            "signal_ledger_signals_recorded_total",
            "Signals the sink accepted into its queue.",
            m.recorded,
        ),
        (
            "signal_ledger_signals_durable_total",
            "Signals made durable by the sink.",
            m.durable,
        ),
        (
            "signal_ledger_signals_failed_total",
            "Signals whose group failed to append.",
            m.failed,
        ),
        (
            "signal_ledger_signals_refused_invalid_total",
            "Signals refused as invalid by the sink.",
            m.refused_invalid,
        ),
        (
            "signal_ledger_signals_refused_full_total",
            "Signals refused for a full queue (backpressure).",
            m.refused_full,
        ),
        (
            "signal_ledger_signals_refused_id_taken_total",
            "Signals refused for a signal_id taken by a different signal.",
            m.refused_id_taken,
        ),
        (
            "signal_ledger_appends_total",
            "Appends (one write and one sync each) made by the sink.",
            m.batches,
        ),
        (
            "signal_ledger_appends_failed_total",
            "Appends that failed.",
            m.failed_batches,
        ),
        (
            "signal_ledger_queries_total",
            "Reads answered by the query crate (signals, aggregate, lineage).",
            server.queries,
        ),
        (
            "signal_ledger_http_signal_requests_total",
            "POST /v1/signals requests recorded.",
            server.signal_requests,
        ),
        (
            "signal_ledger_http_outcome_requests_total",
            "POST /v1/outcomes requests recorded.",
            server.outcome_requests,
        ),
        (
            "signal_ledger_outcomes_durable_total",
            "Outcomes made durable by the sink.",
            m.outcomes_durable,
        ),
        (
            "signal_ledger_http_errors_total",
            "HTTP requests answered with an error status.",
            server.errors,
        ),
    ];
    for (name, help, value) in counters {
        metric(&mut out, name, "counter", help, value);
    }
    let gauges = [
        (
            "signal_ledger_queue_depth",
            "Signals queued in the sink now.",
            m.queue_depth,
        ),
        (
            "signal_ledger_queue_bytes",
            "Approximate bytes queued in the sink now.",
            m.queue_bytes,
        ),
        (
            "signal_ledger_records",
            "Entries in the ledger.",
            ledger.records,
        ),
        (
            "signal_ledger_segments",
            "Segment files of the ledger.",
            ledger.segments,
        ),
        (
            "signal_ledger_bytes",
            "Bytes of the ledger's segments.",
            ledger.bytes,
        ),
    ];
    for (name, help, value) in gauges {
        metric(&mut out, name, "gauge", help, value);
    }
    summary(
        &mut out,
        "signal_ledger_persist_latency_ms",
        "From each signal's timestamp to durable, ms.",
        &m.persist_latency_ms,
    );
    summary(
        &mut out,
        "signal_ledger_queue_to_durable_ms",
        "From record to durable, ms.",
        &m.queue_to_durable_ms,
    );
    summary(
        &mut out,
        "signal_ledger_sync_ms",
        "Time of each append's sync, ms.",
        &m.sync_ms,
    );
    summary(
        &mut out,
        "signal_ledger_batch_size",
        "Signals per append.",
        &m.batch_size,
    );
    out
}

/// The counters, gauges and latency percentiles in Prometheus text format (0.0.4).
pub async fn get_metrics(State(state): State<Arc<AppState>>) -> Result<Response, ApiError> {
    // Only the snapshot: a scrape reads no settings and no check log.
    let dir = state.dir.clone();
    let ledger = blocking(move || Ok(LedgerSize::of(&Snapshot::open(&dir)?))).await?;
    let text = prometheus(&state.sink.metrics(), &ledger, &server_counts(&state));
    let mut response = (StatusCode::OK, text).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    Ok(response)
}
