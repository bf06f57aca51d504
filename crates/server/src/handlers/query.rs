//! The reads of the query crate: GET /v1/signals (filtered pages with cursors),
//! GET /v1/aggregate and GET /v1/lineage/{id}, each on a `Catalog` opened for the request, so
//! it sees every signal acknowledged before it.

use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde::Serialize;
use serde_json::value::RawValue;
use signal_ledger_query::{AggregateRow, Catalog, Lineage, LineageNode, Tree};

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

/// One group of GET /v1/aggregate (`aggregate`'s JSON line; non-finite numbers are null).
#[derive(Debug, Serialize)]
pub struct GroupBody {
    /// The group's key ("all" without group_by).
    pub key: String,
    /// Signals in it.
    pub count: u64,
    /// Smallest conviction.
    pub min_conviction: Option<f64>,
    /// Largest conviction.
    pub max_conviction: Option<f64>,
    /// Mean conviction.
    pub avg_conviction: Option<f64>,
    /// Share acted upon, 0..=1.
    pub acted_upon_rate: Option<f64>,
}

fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

impl From<&AggregateRow> for GroupBody {
    fn from(r: &AggregateRow) -> Self {
        GroupBody {
            key: r.key.clone(),
            count: r.count,
            min_conviction: finite(r.min_conviction),
            max_conviction: finite(r.max_conviction),
            avg_conviction: finite(r.avg_conviction),
            acted_upon_rate: finite(r.acted_upon_rate),
        }
    }
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
    let groups: Vec<GroupBody> = rows.iter().map(GroupBody::from).collect();
    json::ok(&serde_json::json!({ "groups": groups }))
}

/// A lineage tree node (as `lineage --format json`).
#[derive(Debug, Serialize)]
struct NodeBody {
    signal_id: String,
    found: bool,
    expanded_above: bool,
    record: Option<Box<RawValue>>,
    links: Vec<NodeBody>,
}

/// A lineage tree.
#[derive(Debug, Serialize)]
struct TreeBody {
    node_count: usize,
    truncated: bool,
    nodes: Vec<NodeBody>,
}

/// `{"signal","ancestors","descendants"}`.
#[derive(Debug, Serialize)]
struct LineageBody {
    signal: Box<RawValue>,
    ancestors: TreeBody,
    descendants: TreeBody,
}

fn node(n: &LineageNode) -> Result<NodeBody, ApiError> {
    Ok(NodeBody {
        signal_id: n.signal_id.clone(),
        found: n.record.is_some(),
        expanded_above: n.expanded_above,
        record: n.record.as_ref().map(json::record).transpose()?,
        links: n.links.iter().map(node).collect::<Result<_, _>>()?,
    })
}

fn tree(t: &Tree) -> Result<TreeBody, ApiError> {
    Ok(TreeBody {
        node_count: t.node_count,
        truncated: t.truncated,
        nodes: t.nodes.iter().map(node).collect::<Result<_, _>>()?,
    })
}

fn lineage_body(l: &Lineage) -> Result<LineageBody, ApiError> {
    Ok(LineageBody {
        signal: json::record(&l.signal)?,
        ancestors: tree(&l.ancestors)?,
        descendants: tree(&l.descendants)?,
    })
}

/// A signal's ancestors and descendants (`signal-ledger lineage`); 404 for an unknown id.
/// Parameters: `depth` (1..=1000, default 64), `max_nodes` (default 10,000).
pub async fn get_lineage(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    query: Pairs,
) -> Result<Response, ApiError> {
    let limits = parse::lineage(params(query)?)?;
    Counters::bump(&state.counters.queries);
    let dir = state.dir.clone();
    let lookup = id.clone();
    let lineage = blocking(move || Ok(Catalog::open(&dir)?.lineage(&lookup, limits)?)).await?;
    match lineage {
        Some(l) => json::ok(&lineage_body(&l)?),
        None => Err(ApiError::NotFound(format!(
            "signal_id {id:?} is not in the ledger"
        ))),
    }
}
