//! The reads of the query crate: GET /v1/signals (filtered pages with cursors),
//! GET /v1/aggregate and GET /v1/lineage/{id}, each on a `Catalog` opened for the request, so
//! it sees every signal acknowledged before it.

use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;
use signal_ledger_query::{AggregateRow, Catalog};

use crate::error::ApiError;
use crate::handlers::{blocking, params};
use crate::state::{AppState, Counters};
use crate::{json, params as parse};

/// Query parameters as decoded pairs (repeatable filters come once per value).
type Pairs = Result<Query<Vec<(String, String)>>, QueryRejection>;

/// Signals matching every filter, a page at a time (`signal-ledger query`).
pub async fn get_signals(
    State(state): State<Arc<AppState>>,
    query: Pairs,
) -> Result<Response, ApiError> {
    let query = parse::query(params(query)?)?;
    Counters::bump(&state.counters.queries);
    let dir = state.dir.clone();
    let page = blocking(move || Ok(Catalog::open(&dir)?.query(&query)?)).await?;
    Ok(json::ok(&page))
}

/// What GET /v1/aggregate answers: the `aggregate` lines as one array.
#[derive(Debug, Serialize)]
pub struct GroupsBody {
    /// One object per group (non-finite numbers are null).
    pub groups: Vec<AggregateRow>,
}

/// Count, conviction min/max/avg and acted-upon rate per group (`signal-ledger aggregate`), as
/// `{"groups":[...]}`.
pub async fn get_aggregate(
    State(state): State<Arc<AppState>>,
    query: Pairs,
) -> Result<Response, ApiError> {
    let (filter, group) = parse::aggregate(params(query)?)?;
    Counters::bump(&state.counters.queries);
    let dir = state.dir.clone();
    let groups = blocking(move || Ok(Catalog::open(&dir)?.aggregate(&filter, group)?)).await?;
    Ok(json::ok(&GroupsBody { groups }))
}

/// A signal's ancestors and descendants (`signal-ledger lineage`), as
/// [`Lineage::to_json`](signal_ledger_query::Lineage::to_json) writes it; 404 for an unknown
/// id. Parameters: `depth` (1..=1000, default 64), `max_nodes` (1..=100,000, default 10,000).
/// The text is answered as written, not embedded: a deep tree nests further than `serde_json`
/// parses.
pub async fn get_lineage(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    query: Pairs,
) -> Result<Response, ApiError> {
    let limits = parse::lineage(params(query)?)?;
    Counters::bump(&state.counters.queries);
    let dir = state.dir.clone();
    let lookup = id.clone();
    // Written on the blocking pool too: a large tree is a lot of text.
    let lineage = blocking(move || {
        Catalog::open(&dir)?
            .lineage(&lookup, limits)?
            .map(|l| l.to_json())
            .transpose()
            .map_err(|e| ApiError::Internal(e.to_string()))
    })
    .await?;
    match lineage {
        Some(text) => Ok(json::response(StatusCode::OK, text)),
        None => Err(ApiError::NotFound(format!(
            "signal_id {id:?} is not in the ledger"
        ))),
    }
}
