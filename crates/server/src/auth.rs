//! The bearer token: when the server has one, every write must carry
//! `Authorization: Bearer <token>`; reads never need it.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::app::AppState;
use crate::error::ApiError;

/// Middleware of the write routes: passes the request on if no token is set or the request
/// carries it, else answers 401 before the body is read.
pub async fn require_token(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    match check(state.options.token.as_deref(), request.headers()) {
        Ok(()) => next.run(request).await,
        Err(e) => e.into_response(),
    }
}

/// Whether `headers` carry `token` (always fine when `token` is None).
pub fn check(token: Option<&str>, headers: &axum::http::HeaderMap) -> Result<(), ApiError> {
    let Some(token) = token else {
        return Ok(());
    };
    let Some(value) = headers.get(AUTHORIZATION) else {
        return Err(ApiError::Unauthorized(
            "this server takes writes only with a token: send Authorization: Bearer TOKEN"
                .to_owned(),
        ));
    };
    let given = value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    match given {
        Some(given) if constant_time_eq(given.as_bytes(), token.as_bytes()) => Ok(()),
        Some(_) => Err(ApiError::Unauthorized(
            "Authorization: the bearer token is wrong".to_owned(),
        )),
        None => Err(ApiError::Unauthorized(
            "Authorization: expected \"Bearer TOKEN\"".to_owned(),
        )),
    }
}

/// Compares without stopping at the first differing byte (the length still shows).
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
