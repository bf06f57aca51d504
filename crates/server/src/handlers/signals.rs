//! POST /v1/signals: one signal (a JSON object) or an NDJSON batch, validated by the engine's
//! input parser, recorded through the shared sink as one group, answered once durable.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use signal_ledger_engine::input::{parse_ndjson, parse_signal_line_numbered};
use signal_ledger_engine::sink::{NotQueued, PersistError};
use signal_ledger_engine::{Durable, SignalsRecorded, ValidSignal};

use crate::error::ApiError;
use crate::handlers::blocking;
use crate::handlers::body::{body_kind, refusal, utf8, within_limit, Body};
use crate::json;
use crate::state::{AppState, Counters};

/// The body's signals, validated as they are parsed (never again on their way to the
/// ledger), or the 400 naming the line and field.
fn parse(kind: Body, body: &[u8]) -> Result<Vec<ValidSignal>, ApiError> {
    match kind {
        Body::One => {
            let text = utf8(body)?;
            let signal = parse_signal_line_numbered(1, text).map_err(|e| refusal(&[e]))?;
            Ok(vec![signal])
        }
        Body::Ndjson => {
            let parsed = parse_ndjson(body);
            if !parsed.errors.is_empty() {
                return Err(refusal(&parsed.errors));
            }
            Ok(parsed.signals)
        }
    }
}

/// The 503 for a sink that did not queue the request's signals.
fn not_queued(e: NotQueued) -> ApiError {
    match e {
        e @ NotQueued::Backpressure { .. } => ApiError::Unavailable(format!("{e}; retry later")),
        e @ NotQueued::Closed { .. } => ApiError::Unavailable(e.to_string()),
    }
}

fn persist_error(e: PersistError) -> ApiError {
    match e {
        e @ PersistError::SignalIdTaken { .. } => {
            ApiError::Conflict(format!("nothing recorded: {e}"))
        }
        e => ApiError::Internal(format!("nothing recorded: {e}")),
    }
}

/// Records the request's signals through the sink as one group (all durable or none) and
/// answers once they are durable.
pub async fn post_signals(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = within_limit(body, state.options.body_limit)?;
    let kind = body_kind(&headers, "signal")?;
    let sink = Arc::clone(&state.sink);
    // Parsing uses the rayon pool; queueing may wait up to the sink's backpressure timeout:
    // both off the runtime's worker threads.
    let handle = blocking(move || {
        let signals = parse(kind, &body)?;
        if signals.is_empty() {
            return Err(ApiError::BadRequest(
                "nothing recorded: the body holds no signal".to_owned(),
            ));
        }
        sink.record_valid_batch(signals).map_err(not_queued)
    })
    .await?;
    // The handle is a future: the request waits for its group's sync without holding a thread.
    let durable: Vec<Durable> = handle.await.map_err(persist_error)?;
    Counters::bump(&state.counters.signal_requests);
    Ok(json::ok(&SignalsRecorded(&durable)))
}
