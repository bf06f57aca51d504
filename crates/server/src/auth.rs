//! Who may write: when the server has a token, every write must carry
//! `Authorization: Bearer <token>` (reads never need it); and no write is taken from another
//! site's page in a browser (cross-site request forgery), token or not.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::state::AppState;

/// Middleware of the write routes: passes the request on if it is not a browser's
/// cross-site request (else 403) and no token is set or the request carries it (else 401),
/// answering before the body is read.
pub async fn require_token(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let allowed = same_site(request.headers())
        .and_then(|()| check(state.options.token.as_deref(), request.headers()));
    match allowed {
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

/// Refuses a request a browser sent from another site's page: `Sec-Fetch-Site` other than
/// `same-origin` or `none` (typed by the user), or an `Origin` whose host is not the `Host`
/// asked for. Programs that send neither header (curl, producers) pass.
pub fn same_site(headers: &axum::http::HeaderMap) -> Result<(), ApiError> {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = text("sec-fetch-site") {
        if !matches!(site, "same-origin" | "none") {
            return Err(ApiError::Forbidden(format!(
                "a write from another site's page (Sec-Fetch-Site: {site}) is refused"
            )));
        }
    }
    if let Some(origin) = text("origin") {
        let origin_host = origin
            .split_once("://")
            .map_or(origin, |(_, rest)| rest)
            .trim_end_matches('/');
        if Some(origin_host) != text("host") {
            return Err(ApiError::Forbidden(format!(
                "a write from another site's page (Origin: {origin}) is refused"
            )));
        }
    }
    Ok(())
}

/// Compares without stopping at the first differing byte (the length still shows).
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
