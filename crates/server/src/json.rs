//! JSON bodies: the response type, and the engine's own record JSON (the 22 columns, the same
//! text the CLI prints, `payload_json` byte-exact) carried as raw JSON inside answers.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::value::RawValue;
use signal_ledger_engine::record::json::write_record_json;
use signal_ledger_engine::SignalRecord;

use crate::error::ApiError;

/// A response of `status` whose body is the JSON text `body`.
pub fn response(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// A 200 response of `value` serialized.
pub fn ok<T: Serialize>(value: &T) -> Result<Response, ApiError> {
    let body = serde_json::to_string(value)
        .map_err(|e| ApiError::Internal(format!("write the JSON answer: {e}")))?;
    Ok(response(StatusCode::OK, body))
}

/// Raw JSON text as a value to embed (text the engine or `serde_json` wrote).
pub fn raw(text: String) -> Result<Box<RawValue>, ApiError> {
    RawValue::from_string(text)
        .map_err(|e| ApiError::Internal(format!("internal error: invalid JSON written: {e}")))
}

/// `record` as the engine writes it (`write_record_json`), to embed in an answer.
pub fn record(record: &SignalRecord) -> Result<Box<RawValue>, ApiError> {
    let mut text = String::new();
    write_record_json(record, &mut text);
    raw(text)
}

/// `records` as a JSON array of [`record`]s.
pub fn records(records: &[SignalRecord]) -> Result<Vec<Box<RawValue>>, ApiError> {
    records.iter().map(record).collect()
}
