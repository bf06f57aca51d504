//! One module per group of endpoints; each parses its request, calls the library, formats.

pub mod body;
pub mod export;
pub mod integrity;
pub mod metrics;
pub mod openapi;
pub mod outcomes;
pub mod query;
pub mod replay;
pub mod signals;

use axum::extract::rejection::QueryRejection;
use axum::extract::Query;

use crate::error::ApiError;
use crate::params::Params;

/// The decoded query string, or a 400 saying why it could not be decoded.
pub fn params(
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Params, ApiError> {
    match query {
        Ok(Query(pairs)) => Ok(Params::new(pairs)),
        Err(e) => Err(ApiError::BadRequest(format!(
            "query string: {}",
            e.body_text()
        ))),
    }
}

/// Runs `work` (file reads, hashing, parsing) on tokio's blocking pool, so the runtime's
/// worker threads stay free for other requests.
pub async fn blocking<T, F>(work: F) -> Result<T, ApiError>
where
    F: FnOnce() -> Result<T, ApiError> + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(work).await?
}
