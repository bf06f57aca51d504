//! The two errors: [`ApiError`], what one request answers when it fails (a status and
//! `{"error": "..."}`), and [`ServerError`], why the server could not start or stopped.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// A failed request: its status and one line saying what went wrong and where.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request is malformed (a bad line, field, parameter or cursor).
    #[error("{0}")]
    BadRequest(String),
    /// 401: a write without the right bearer token.
    #[error("{0}")]
    Unauthorized(String),
    /// 403: a write from another site's page (a browser's cross-site request).
    #[error("{0}")]
    Forbidden(String),
    /// 404: no such signal, route or head.
    #[error("{0}")]
    NotFound(String),
    /// 405: the route exists, not with this method.
    #[error("{0}")]
    MethodNotAllowed(String),
    /// 409: a signal_id already taken by a different signal.
    #[error("{0}")]
    Conflict(String),
    /// 413: the body is larger than the limit.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// 415: a body of a content type the endpoint does not take.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 503: the sink refused for backpressure (its queue stayed full) or is shut down.
    #[error("{0}")]
    Unavailable(String),
    /// 500: anything else (I/O, a damaged ledger, a failed append).
    #[error("{0}")]
    Internal(String),
}

impl ApiError {
    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<signal_ledger_engine::LedgerError> for ApiError {
    fn from(e: signal_ledger_engine::LedgerError) -> Self {
        ApiError::Internal(e.to_string())
    }
}

impl From<signal_ledger_query::QueryError> for ApiError {
    fn from(e: signal_ledger_query::QueryError) -> Self {
        use signal_ledger_query::QueryError;
        match e {
            QueryError::Ledger(e) => e.into(),
            // A cursor is request input: a damaged one, or one of another order, is a 400.
            other @ (QueryError::BadCursor(_) | QueryError::CursorOrder { .. }) => {
                ApiError::BadRequest(format!("cursor: {other}"))
            }
            other @ QueryError::Invalid(_) => ApiError::BadRequest(other.to_string()),
        }
    }
}

impl From<tokio::task::JoinError> for ApiError {
    fn from(e: tokio::task::JoinError) -> Self {
        ApiError::Internal(format!("internal error: the request's task failed: {e}"))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let line = self
            .to_string()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let body = serde_json::json!({ "error": line }).to_string();
        crate::json::response(status, body)
    }
}

/// Why the server could not start, or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// Binding the listening address failed.
    #[error("listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: String,
        /// Why.
        source: std::io::Error,
    },
    /// Serving failed (accepting connections).
    #[error("serve HTTP: {0}")]
    Serve(std::io::Error),
    /// Opening the ledger or its sink failed.
    #[error(transparent)]
    Ledger(#[from] signal_ledger_engine::LedgerError),
}
