//! The reads of the query crate: GET /v1/signals (filtered pages with cursors),
//! GET /v1/aggregate and GET /v1/lineage/{id}, each on a `Catalog` opened for the request, so
//! it sees every signal acknowledged before it.

use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;
use serde_json::value::RawValue;
use signal_ledger_query::Catalog;

use crate::app::{AppState, Counters};
use crate::error::ApiError;
use crate::handlers::{blocking, params};
use crate::{json, params as parse};

/// Query parameters as decoded pairs (repeatable filters come once per value).
type Pairs = Result<Query<Vec<(String, String)>>, QueryRejection>;

/// One page of GET /v1/signals.
#[derive(Debug, Serialize)]
pub struct PageBody {
    /// The records, in the query's order, as `query --format json` prints them.
    pub records: Vec<Box<RawValue>>,
    /// Pass as `cursor` for the next page; null on the last.
    pub next_cursor: Option<String>,
}

/// Signals matching every filter, a page at a time (`signal-ledger query`).
pub async fn get_signals(
    State(state): State<Arc<AppState>>,
    query: Pairs,
) -> Result<Response, ApiError> {
    let query = parse::query(params(query)?)?;
    Counters::bump(&state.counters.queries);
    let dir = state.dir.clone();
    let page = blocking(move || Ok(Catalog::open(&dir)?.query(&query)?)).await?;
    json::ok(&PageBody {
        records: json::records(&page.records)?,
        next_cursor: page.next_cursor.map(|c| c.encode()),
    })
}

/// What GET /v1/aggregate answers.
#[derive(Debug, Serialize)]
pub struct GroupsBody {
    /// One object per group, as
    /// [`AggregateRow::to_json`](signal_ledger_query::AggregateRow::to_json) writes it (the
    /// `aggregate` lines; non-finite numbers are null).
    pub groups: Vec<Box<RawValue>>,
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
    let rows = blocking(move || Ok(Catalog::open(&dir)?.aggregate(&filter, group)?)).await?;
    let groups = rows
        .iter()
        .map(|r| json::raw(r.to_json()))
        .collect::<Result<_, _>>()?;
    json::ok(&GroupsBody { groups })
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
        Ok(Catalog::open(&dir)?
            .lineage(&lookup, limits)?
            .map(|l| l.to_json()))
    })
    .await?;
    match lineage {
        Some(text) => Ok(json::response(StatusCode::OK, text)),
        None => Err(ApiError::NotFound(format!(
            "signal_id {id:?} is not in the ledger"
        ))),
    }
}
