//! signal-ledger queries over the engine's per-segment indexes: filtered retrieval with keyset
//! pagination, counts and aggregations.
//!
//! - [`Catalog`]: a snapshot of a ledger and the index of each segment, loaded when a query
//!   first needs it (sidecars when sound, rebuilt otherwise).
//! - [`Filter`]: any combination of source_module(s), ticker(s), time window, conviction range,
//!   direction, signal_type, timeframe, strategy_id, correlation_id, acted_upon and
//!   execution_id present.
//! - [`Catalog::query`]: a [`Page`] of records in an [`Order`], with a [`Cursor`] to the next.
//! - [`Catalog::aggregate`]: count, conviction min/max/avg and acted-upon rate by [`GroupBy`].
//! - [`Catalog::export`]: every matching record as CSV or NDJSON, streamed in ledger order.
//! - [`Catalog::lineage`]: a signal's ancestors and descendants through parent_signal_ids.
//!
//! Every record returned is decoded and re-checked against the filter: the indexes are derived
//! data and never trusted for what a query returns (counts and aggregates use them as they are).
//!
//! The files, from the operations down: `search`, `aggregate`, `export` and `lineage` (each an
//! operation on the catalog); `topk` (the best rows of an order without looking at every one)
//! and `signal_outcomes` (a signal's outcomes through the catalog); `catalog` (snapshot,
//! indexes, outcomes), `planner` (which rows of an index meet a filter) and `cursor`;
//! `outcomes`, `order`, `filter`, `csv_row` and `error` at the bottom.
#![forbid(unsafe_code)]

mod aggregate;
mod catalog;
mod csv_row;
mod cursor;
mod error;
mod export;
mod filter;
mod history;
mod lineage;
mod order;
mod outcomes;
mod params;
mod planner;
mod search;
mod signal_outcomes;
mod topk;

pub use aggregate::{AggregateRow, GroupBy};
pub use catalog::Catalog;
pub use cursor::Cursor;
pub use error::{QueryError, Result};
pub use export::{write_csv, ExportFormat, ExportOutput, ExportSummary};
pub use filter::Filter;
pub use history::WithOutcomes;
pub use lineage::{Lineage, LineageLimits, LineageNode, Tree, LINEAGE_DEPTH_MAX};
pub use order::{Order, OrderBy};
pub use outcomes::{OutcomeLoc, Outcomes};
pub use params::{
    Conviction, LineageDepth, LineageNodes, PageSize, Timestamp, LINEAGE_DEPTH_DEFAULT,
    LINEAGE_NODES_DEFAULT, LINEAGE_NODES_MAX, PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX,
};
pub use search::{Page, Query, SignalLoc};
