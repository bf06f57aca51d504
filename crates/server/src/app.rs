//! The router: every route of the API over the shared [`AppState`], writes behind the token
//! check, every body limited, error answers counted.

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderValue};
use axum::routing::{get, post};
use axum::Router;

use crate::error::ApiError;
use crate::state::{AppState, Counters};
use crate::{auth, handlers};

/// The API's routes over `state`: writes behind the token check, every body limited.
pub fn router(state: Arc<AppState>) -> Router {
    let writes = Router::new()
        .route("/v1/signals", post(handlers::signals::post_signals))
        .route("/v1/outcomes", post(handlers::outcomes::post_outcomes))
        .route("/v1/verify", post(handlers::integrity::post_verify))
        .route_layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state),
            auth::require_token,
        ));
    let reads = Router::new()
        .merge(crate::dashboard::routes())
        .route("/v1/signals", get(handlers::query::get_signals))
        .route("/v1/aggregate", get(handlers::query::get_aggregate))
        .route("/v1/lineage/{id}", get(handlers::query::get_lineage))
        .route("/v1/checks", get(handlers::integrity::get_checks))
        .route("/v1/digest", get(handlers::integrity::get_digest))
        .route("/v1/export", get(handlers::export::get_export))
        .route("/v1/replay", get(handlers::replay::get_replay))
        .route("/v1/stats", get(handlers::metrics::get_stats))
        .route("/v1/openapi.json", get(handlers::openapi::get_openapi))
        .route("/metrics", get(handlers::metrics::get_metrics));
    writes
        .merge(reads)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(state.options.body_limit))
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state),
            on_error,
        ))
        .with_state(state)
}

async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::NotFound(format!("no such endpoint: {}", uri.path()))
}

async fn method_not_allowed(method: axum::http::Method, uri: axum::http::Uri) -> ApiError {
    ApiError::MethodNotAllowed(format!("{method} is not allowed on {}", uri.path()))
}

/// Counts error answers; and when a request with a body is refused (its body perhaps unread:
/// a 401 before reading, a 413), says `Connection: close`, so a client does not send its next
/// request on a connection the server is about to drop.
async fn on_error(
    axum::extract::State(state): axum::extract::State<Arc<AppState>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let headers = request.headers();
    let has_body = headers.contains_key(header::TRANSFER_ENCODING)
        || headers
            .get(header::CONTENT_LENGTH)
            .is_some_and(|v| v.as_bytes() != b"0");
    let mut response = next.run(request).await;
    if response.status().is_client_error() || response.status().is_server_error() {
        Counters::bump(&state.counters.errors);
        if has_body {
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
    }
    response
}
