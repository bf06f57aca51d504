//! Request bodies of the write endpoints: which kind the Content-Type says (one JSON object or
//! NDJSON), the body within the size limit, and the 400 naming the first bad line.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use signal_ledger_engine::input::{InputError, InputRefusal};

use crate::error::ApiError;

/// Which body the request carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body {
    /// One JSON object (`application/json`).
    One,
    /// NDJSON: one JSON object per line (`application/x-ndjson`).
    Ndjson,
}

/// The body kind `headers` announce, or a 415 saying what to send instead; `item` names what
/// one object is ("signal", "outcome"). The Content-Type is required: a browser sends a body
/// without one (or as text/plain) from any site's page without asking the server first, while
/// these two types make it ask (a CORS preflight this server never grants).
pub fn body_kind(headers: &HeaderMap, item: &str) -> Result<Body, ApiError> {
    let Some(value) = headers.get(CONTENT_TYPE) else {
        return Err(ApiError::UnsupportedMediaType(format!(
            "no Content-Type: send application/json (one {item}) or application/x-ndjson (a batch)"
        )));
    };
    let text = value.to_str().unwrap_or_default();
    let mime = text.split(';').next().unwrap_or_default().trim();
    match mime.to_ascii_lowercase().as_str() {
        "application/json" => Ok(Body::One),
        "application/x-ndjson" | "application/ndjson" => Ok(Body::Ndjson),
        _ => Err(ApiError::UnsupportedMediaType(format!(
            "Content-Type {text:?}: send application/json (one {item}) or application/x-ndjson (a batch)"
        ))),
    }
}

/// The body as read, or a 413 when it is larger than `limit` bytes (a 400 when it could not
/// be read otherwise).
pub fn within_limit(body: Result<Bytes, BytesRejection>, limit: usize) -> Result<Bytes, ApiError> {
    body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge(format!(
                "the body is larger than the limit of {limit} bytes ({} MiB); send smaller batches",
                limit / (1024 * 1024)
            ))
        } else {
            ApiError::BadRequest(format!("the body could not be read: {}", e.body_text()))
        }
    })
}

/// The body as UTF-8 text, for a one-object body.
pub fn utf8(body: &[u8]) -> Result<&str, ApiError> {
    std::str::from_utf8(body).map_err(|e| {
        ApiError::BadRequest(format!(
            "nothing recorded: the body is not valid UTF-8 at byte {}",
            e.valid_up_to()
        ))
    })
}

/// The 400 for bad lines: the first, and how many more there are ([`InputRefusal`], as
/// `ingest` says it).
pub fn refusal(errors: &[InputError]) -> ApiError {
    let message = InputRefusal::of(errors).map_or_else(String::new, |r| r.to_string());
    ApiError::BadRequest(format!("nothing recorded: {message}"))
}
