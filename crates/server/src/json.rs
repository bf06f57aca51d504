//! JSON answers: a body of JSON text with its content type, and a value serialized as one.
//! Every shape is its owner's `Serialize` (the engine's records, verdicts and stats, the query
//! crate's pages); this module only carries them.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// A response of `status` whose body is the JSON text `body`.
pub fn response(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// A 200 response of `value` serialized; a 500 `{"error": …}` in the unlikely case that it
/// cannot be (a non-string map key, say).
pub fn ok<T: Serialize>(value: &T) -> Response {
    match serde_json::to_string(value) {
        Ok(body) => response(StatusCode::OK, body),
        Err(e) => response(
            StatusCode::INTERNAL_SERVER_ERROR,
            serde_json::json!({ "error": format!("write the JSON answer: {e}") }).to_string(),
        ),
    }
}
