//! POST /v1/outcomes: whether recorded signals were acted upon — one outcome (a JSON object)
//! or an NDJSON batch, the lines `signal-ledger outcome --file` reads — recorded through the
//! shared sink as one all-or-nothing append, answered once durable.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use signal_ledger_engine::input::{parse_outcome_line, parse_outcomes_ndjson, LineError};
use signal_ledger_engine::record::Outcome;
use signal_ledger_engine::sink::{OutcomePersistError, OutcomeRecordError};
use signal_ledger_engine::{now_ns, OutcomesRecorded};

use crate::error::ApiError;
use crate::handlers::blocking;
use crate::handlers::body::{body_kind, refusal, utf8, within_limit, Body};
use crate::json;
use crate::state::{AppState, Counters};

/// The body's outcomes, each with its line number (1-based), or the 400 naming the line and
/// field. An outcome without `at` is given the time of parsing.
fn parse(kind: Body, body: &[u8]) -> Result<Vec<(u64, Outcome)>, ApiError> {
    let now = now_ns();
    match kind {
        Body::One => {
            let outcome =
                parse_outcome_line(utf8(body)?, now).map_err(|e| refusal(&[e.at_line(1)]))?;
            Ok(vec![(1, outcome)])
        }
        Body::Ndjson => parse_outcomes_ndjson(body, now).map_err(|errors| refusal(&errors)),
    }
}

/// The 400 for the outcome at `index`, named by its input line.
fn at_line(lines: &[u64], index: usize, error: LineError) -> ApiError {
    let line = lines.get(index).copied().unwrap_or(index as u64 + 1);
    ApiError::BadRequest(format!("nothing recorded: {}", error.at_line(line)))
}

fn record_error(e: OutcomeRecordError, lines: &[u64]) -> ApiError {
    match e {
        OutcomeRecordError::Invalid { index, error } => at_line(lines, index, error.into()),
        e @ OutcomeRecordError::Backpressure { .. } => {
            ApiError::Unavailable(format!("{e}; retry later"))
        }
        e @ OutcomeRecordError::Closed { .. } => ApiError::Unavailable(e.to_string()),
    }
}

fn persist_error(e: OutcomePersistError, lines: &[u64]) -> ApiError {
    match e {
        OutcomePersistError::UnknownSignal { index, signal_id } => at_line(
            lines,
            index,
            LineError::in_field(
                "signal_id",
                format!("no signal with signal_id {signal_id:?} is recorded in this ledger"),
            ),
        ),
        OutcomePersistError::Invalid { index, error } => at_line(lines, index, error.into()),
        OutcomePersistError::Failed(e) => ApiError::Internal(format!("nothing recorded: {e}")),
    }
}

/// Records the request's outcomes through the sink in one append (all durable or none, after
/// every signal recorded before) and answers once they are durable.
pub async fn post_outcomes(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = within_limit(body, state.options.body_limit)?;
    let kind = body_kind(&headers, "outcome")?;
    let sink = Arc::clone(&state.sink);
    // Queueing may wait up to the sink's backpressure timeout: off the runtime's threads.
    let (lines, outcomes, handle) = blocking(move || {
        let (lines, outcomes): (Vec<u64>, Vec<Outcome>) = parse(kind, &body)?.into_iter().unzip();
        if outcomes.is_empty() {
            return Err(ApiError::BadRequest(
                "nothing recorded: the body holds no outcome".to_owned(),
            ));
        }
        let handle = sink
            .record_outcomes(outcomes.clone())
            .map_err(|e| record_error(e, &lines))?;
        Ok((lines, outcomes, handle))
    })
    .await?;
    // The handle is a future: the request waits for the append's sync without holding a thread.
    let receipt = handle.await.map_err(|e| persist_error(e, &lines))?;
    Counters::bump(&state.counters.outcome_requests);
    Ok(json::ok(&OutcomesRecorded {
        outcomes: &outcomes,
        receipt: &receipt,
    }))
}
