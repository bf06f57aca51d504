//! The query string's syntax: parameters named like the CLI's flags with `_` for `-`
//! (`?ticker=AAPL&ticker=MSFT&min_conviction=0.8&order=seq-asc`), a repeatable filter given
//! once per value, an unknown or repeated single parameter a 400 naming it. Every value is
//! parsed by its type's `FromStr` in the crate that owns it (the CLI's value parsers), so the
//! names, bounds and messages are the CLI's.

use std::str::FromStr;

use signal_ledger_engine::{Direction, SignalType};
use signal_ledger_query::{
    Conviction, Cursor, ExportFormat, Filter, GroupBy, LineageDepth, LineageLimits, LineageNodes,
    Order, PageSize, Query, Timestamp,
};
use signal_ledger_replay::{MaxGap, Position, ReplayOptions, ReplayOrder, Speed, Start};

use crate::error::ApiError;

/// The parameters of one request, each taken once by name; what is left is unknown.
#[derive(Debug)]
pub struct Params {
    pairs: Vec<Option<(String, String)>>,
}

impl Params {
    /// The decoded `name=value` pairs, in order.
    pub fn new(pairs: Vec<(String, String)>) -> Params {
        Params {
            pairs: pairs.into_iter().map(Some).collect(),
        }
    }

    /// Every value of `name` (a repeatable parameter).
    pub fn all(&mut self, name: &str) -> Vec<String> {
        let mut out = Vec::new();
        for slot in &mut self.pairs {
            if slot.as_ref().is_some_and(|(n, _)| n == name) {
                if let Some((_, v)) = slot.take() {
                    out.push(v);
                }
            }
        }
        out
    }

    /// The value of `name`, given at most once.
    pub fn one(&mut self, name: &str) -> Result<Option<String>, ApiError> {
        let mut values = self.all(name);
        match values.len() {
            0 | 1 => Ok(values.pop()),
            n => Err(ApiError::BadRequest(format!(
                "query parameter {name} is given {n} times; it takes one value"
            ))),
        }
    }

    /// `name` parsed by `T`'s `FromStr`, whose error says what is wrong with the text.
    pub fn parsed<T>(&mut self, name: &str) -> Result<Option<T>, ApiError>
    where
        T: FromStr,
        T::Err: std::fmt::Display,
    {
        self.one(name)?
            .map(|text| {
                text.parse::<T>()
                    .map_err(|why| bad_value(name, &text, &why))
            })
            .transpose()
    }

    /// Every value of the repeatable `name`, each parsed by `T`'s `FromStr`.
    pub fn parsed_all<T>(&mut self, name: &str) -> Result<Vec<T>, ApiError>
    where
        T: FromStr,
        T::Err: std::fmt::Display,
    {
        self.all(name)
            .iter()
            .map(|text| text.parse::<T>().map_err(|why| bad_value(name, text, &why)))
            .collect()
    }

    /// An error naming the first parameter no one took, if any.
    pub fn finish(self) -> Result<(), ApiError> {
        match self.pairs.into_iter().flatten().next() {
            Some((name, _)) => Err(ApiError::BadRequest(format!(
                "unknown query parameter {name:?}"
            ))),
            None => Ok(()),
        }
    }
}

/// A 400 naming the parameter, its value and what is wrong with it.
fn bad_value(name: &str, text: &str, why: &dyn std::fmt::Display) -> ApiError {
    ApiError::BadRequest(format!("query parameter {name}={text:?}: {why}"))
}

/// The filter of `query`, `aggregate`, `export` and `replay`: source, ticker, direction, type,
/// timeframe, strategy, correlation (repeatable), from, to (RFC 3339, `[from, to)`),
/// min_conviction, max_conviction, acted_upon, has_execution_id.
pub fn filter(params: &mut Params) -> Result<Filter, ApiError> {
    Ok(Filter {
        sources: params.all("source"),
        tickers: params.all("ticker"),
        from_ns: params.parsed::<Timestamp>("from")?.map(Timestamp::ns),
        to_ns: params.parsed::<Timestamp>("to")?.map(Timestamp::ns),
        min_conviction: params.parsed::<Conviction>("min_conviction")?.map(|c| c.0),
        max_conviction: params.parsed::<Conviction>("max_conviction")?.map(|c| c.0),
        directions: params.parsed_all::<Direction>("direction")?,
        signal_types: params.parsed_all::<SignalType>("type")?,
        timeframes: params.all("timeframe"),
        strategy_ids: params.all("strategy"),
        correlation_ids: params.all("correlation"),
        acted_upon: params.parsed::<bool>("acted_upon")?,
        has_execution_id: params.parsed::<bool>("has_execution_id")?,
    })
}

/// GET /v1/signals: the filter, `order` (default timestamp-desc), `limit` (default 100, at most
/// 10,000) and `cursor`.
pub fn query(mut params: Params) -> Result<Query, ApiError> {
    let filter = filter(&mut params)?;
    let order = params
        .parsed::<Order>("order")?
        .unwrap_or(Order::NEWEST_FIRST);
    let limit = params.parsed::<PageSize>("limit")?.unwrap_or_default();
    let cursor = params.parsed::<Cursor>("cursor")?;
    params.finish()?;
    Ok(Query {
        filter,
        order,
        limit: limit.get(),
        cursor,
    })
}

/// GET /v1/aggregate: the filter and `group_by`.
pub fn aggregate(mut params: Params) -> Result<(Filter, Option<GroupBy>), ApiError> {
    let filter = filter(&mut params)?;
    let group = params.parsed::<GroupBy>("group_by")?;
    params.finish()?;
    Ok((filter, group))
}

/// GET /v1/lineage/{id}: `depth` (1..=1000, default 64) and `max_nodes` (1..=100,000, default
/// 10,000).
pub fn lineage(mut params: Params) -> Result<LineageLimits, ApiError> {
    let depth = params.parsed::<LineageDepth>("depth")?.unwrap_or_default();
    let max_nodes = params
        .parsed::<LineageNodes>("max_nodes")?
        .unwrap_or_default();
    params.finish()?;
    Ok(LineageLimits {
        max_depth: depth.0,
        max_nodes: max_nodes.0,
    })
}

/// POST /v1/verify: `from_seq` and `to_seq` (inclusive), as `verify --from-seq/--to-seq`.
pub fn verify(mut params: Params) -> Result<(Option<u64>, Option<u64>), ApiError> {
    let from = params.parsed::<u64>("from_seq")?;
    let to = params.parsed::<u64>("to_seq")?;
    params.finish()?;
    Ok((from, to))
}

/// GET /v1/checks: `failed` (true: only the failed checks).
pub fn checks(mut params: Params) -> Result<bool, ApiError> {
    let failed = params.parsed::<bool>("failed")?.unwrap_or(false);
    params.finish()?;
    Ok(failed)
}

/// What GET /v1/export answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportAs {
    /// The records streamed in this format (as `export --format csv|ndjson`).
    Records(ExportFormat),
    /// A compliance bundle (as `export-bundle`) as an uncompressed tar.
    Bundle,
}

impl FromStr for ExportAs {
    type Err = String;

    /// `bundle`, or an export format's name.
    fn from_str(text: &str) -> Result<ExportAs, String> {
        match text {
            "bundle" => Ok(ExportAs::Bundle),
            _ => text
                .parse::<ExportFormat>()
                .map(ExportAs::Records)
                .map_err(|_| format!("{text:?} is not one of csv, ndjson, bundle")),
        }
    }
}

/// GET /v1/export: the filter and `format` (csv, ndjson or bundle; default ndjson).
pub fn export(mut params: Params) -> Result<(Filter, ExportAs), ApiError> {
    let filter = filter(&mut params)?;
    let format = params
        .parsed::<ExportAs>("format")?
        .unwrap_or(ExportAs::Records(ExportFormat::Ndjson));
    params.finish()?;
    Ok((filter, format))
}

/// GET /v1/replay, as `replay`'s flags: the filter (from/to is the window), `speed` (`max`, the
/// default, or a factor of real time such as `1x`, `10x`, `0.5x`), `order` (timestamp, the
/// default, or seq), `max_gap` (seconds, 0..=86400, default 5), `no_outcomes` (true: signals
/// only), at most one of `start_seq`, `start_time` (RFC 3339) and `resume` (a position, as the
/// end event's `last`), and `limit` (most events).
pub fn replay(mut params: Params) -> Result<ReplayOptions, ApiError> {
    let defaults = ReplayOptions::default();
    let filter = filter(&mut params)?;
    let speed = params.parsed::<Speed>("speed")?;
    let order = params.parsed::<ReplayOrder>("order")?;
    let max_gap = params.parsed::<MaxGap>("max_gap")?;
    let no_outcomes = params.parsed::<bool>("no_outcomes")?.unwrap_or(false);
    let start_seq = params.parsed::<u64>("start_seq")?;
    let start_time = params.parsed::<Timestamp>("start_time")?;
    let resume = params.parsed::<Position>("resume")?;
    let limit = params.parsed::<u64>("limit")?;
    params.finish()?;
    let start = Start::one_of(
        start_seq,
        start_time.map(Timestamp::ns),
        resume,
        ["the query parameters start_seq", "start_time", "resume"],
    )
    .map_err(ApiError::BadRequest)?;
    Ok(ReplayOptions {
        filter,
        order: order.unwrap_or(defaults.order),
        speed: speed.unwrap_or(defaults.speed),
        max_gap: max_gap.map_or(defaults.max_gap, |g| g.0),
        outcomes: !no_outcomes,
        start,
        limit,
    })
}
