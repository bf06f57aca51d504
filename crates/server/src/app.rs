//! The router and the state every handler shares: the one [`SignalSink`], the ledger
//! directory readers open per request, the token, and request counters.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderValue};
use axum::routing::{get, post};
use axum::Router;
use signal_ledger_engine::SignalSink;

use crate::error::ApiError;
use crate::{auth, handlers};

/// Default largest request body: 16 MiB.
pub const BODY_LIMIT_DEFAULT: usize = 16 * 1024 * 1024;

/// Default most exports and replays served at once: each holds a thread of the blocking pool
/// while it runs, and the pool (512 threads) must keep threads for the writes.
pub const STREAMS_MAX_DEFAULT: usize = 64;

/// How the server behaves.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// When set, every write (POST) needs `Authorization: Bearer <token>`; reads never do.
    pub token: Option<String>,
    /// Largest request body accepted, in bytes; a larger one is answered 413.
    pub body_limit: usize,
    /// Most exports and replays in progress at once; one more is answered 503.
    pub streams_max: usize,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            token: None,
            body_limit: BODY_LIMIT_DEFAULT,
            streams_max: STREAMS_MAX_DEFAULT,
        }
    }
}

/// Counters the server keeps itself (the sink keeps its own metrics).
#[derive(Debug, Default)]
pub struct Counters {
    /// Reads answered by the query crate: signals, aggregate, lineage.
    pub queries: AtomicU64,
    /// Write requests (POST /v1/signals) that recorded their signals.
    pub signal_requests: AtomicU64,
    /// Write requests (POST /v1/outcomes) that recorded their outcomes.
    pub outcome_requests: AtomicU64,
    /// Requests answered with an error status.
    pub errors: AtomicU64,
}

impl Counters {
    /// Adds one to `counter`.
    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// What every handler shares.
#[derive(Debug)]
pub struct AppState {
    /// The one sink all writes go through (it owns the ledger's writer).
    pub sink: Arc<SignalSink>,
    /// The ledger directory (readers open a `Snapshot` or `Catalog` of it per request).
    pub dir: PathBuf,
    /// The options in force.
    pub options: ServerOptions,
    /// Request counters for /v1/stats and /metrics.
    pub counters: Counters,
    /// Becomes true when the server starts shutting down: long-lived answers (a paced replay)
    /// end then, so the graceful shutdown does not wait for them.
    pub stopping: tokio::sync::watch::Sender<bool>,
    /// Permits for exports and replays in progress (`options.streams_max`).
    pub streams: Arc<tokio::sync::Semaphore>,
}

impl AppState {
    /// State over `sink`.
    pub fn new(sink: Arc<SignalSink>, options: ServerOptions) -> AppState {
        AppState {
            dir: sink.dir().to_path_buf(),
            sink,
            counters: Counters::default(),
            stopping: tokio::sync::watch::Sender::new(false),
            streams: Arc::new(tokio::sync::Semaphore::new(options.streams_max)),
            options,
        }
    }

    /// A permit for one export or replay, held while it runs; 503 when `streams_max` are in
    /// progress.
    pub fn stream_permit(&self) -> Result<tokio::sync::OwnedSemaphorePermit, ApiError> {
        Arc::clone(&self.streams).try_acquire_owned().map_err(|_| {
            ApiError::Unavailable(format!(
                "{} exports and replays are in progress, the most this server runs at once; retry later",
                self.options.streams_max
            ))
        })
    }
}

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
