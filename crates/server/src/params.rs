//! Query parameters → the query crate's [`Filter`], [`Query`] and [`GroupBy`], named like the
//! CLI's flags with `_` for `-` (`?ticker=AAPL&ticker=MSFT&min_conviction=0.8&order=seq-asc`).
//! A repeatable filter is given once per value; an unknown or repeated single parameter is a
//! 400 naming it.

use signal_ledger_engine::timefmt::parse_rfc3339_ns;
use signal_ledger_engine::{Direction, SignalType};
use signal_ledger_query::{
    Cursor, ExportFormat, Filter, GroupBy, LineageLimits, Order, OrderBy, Query,
};
use signal_ledger_replay::{Position, ReplayOptions, ReplayOrder, Speed, Start};

use crate::error::ApiError;

/// Default page size of GET /v1/signals (as `query --limit`).
pub const LIMIT_DEFAULT: usize = 100;
/// Largest page size of GET /v1/signals.
pub const LIMIT_MAX: usize = 10_000;

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

    /// `name` parsed with `parse`, whose error says what is wrong with the text.
    pub fn parsed<T>(
        &mut self,
        name: &str,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Result<Option<T>, ApiError> {
        self.one(name)?
            .map(|text| {
                parse(&text).map_err(|why| {
                    ApiError::BadRequest(format!("query parameter {name}={text:?}: {why}"))
                })
            })
            .transpose()
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

fn number<T: std::str::FromStr>(text: &str) -> Result<T, String>
where
    T::Err: std::fmt::Display,
{
    text.parse::<T>().map_err(|e| e.to_string())
}

fn boolean(text: &str) -> Result<bool, String> {
    match text {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err("is not true or false".to_owned()),
    }
}

fn conviction(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(x) if (0.0..=1.0).contains(&x) => Ok(x),
        Ok(x) => Err(format!("{x} is outside 0..=1")),
        Err(e) => Err(e.to_string()),
    }
}

fn names<T>(
    params: &mut Params,
    name: &str,
    parse: fn(&str) -> Option<T>,
    all: &str,
) -> Result<Vec<T>, ApiError> {
    params
        .all(name)
        .iter()
        .map(|v| {
            parse(v).ok_or_else(|| {
                ApiError::BadRequest(format!("query parameter {name}={v:?} is not one of {all}"))
            })
        })
        .collect()
}

/// The filter of `query`, `aggregate` and `export`: source, ticker, direction, type, timeframe,
/// strategy, correlation (repeatable), from, to (RFC 3339, `[from, to)`), min_conviction,
/// max_conviction, acted_upon, has_execution_id.
pub fn filter(params: &mut Params) -> Result<Filter, ApiError> {
    Ok(Filter {
        sources: params.all("source"),
        tickers: params.all("ticker"),
        from_ns: params.parsed("from", |t| parse_rfc3339_ns(t).map_err(|e| e.to_string()))?,
        to_ns: params.parsed("to", |t| parse_rfc3339_ns(t).map_err(|e| e.to_string()))?,
        min_conviction: params.parsed("min_conviction", conviction)?,
        max_conviction: params.parsed("max_conviction", conviction)?,
        directions: names(
            params,
            "direction",
            Direction::parse,
            "long, short, neutral",
        )?,
        signal_types: names(
            params,
            "type",
            SignalType::parse,
            "entry, exit, scale_in, scale_out, alert",
        )?,
        timeframes: params.all("timeframe"),
        strategy_ids: params.all("strategy"),
        correlation_ids: params.all("correlation"),
        acted_upon: params.parsed("acted_upon", boolean)?,
        has_execution_id: params.parsed("has_execution_id", boolean)?,
    })
}

fn order(text: &str) -> Result<Order, String> {
    let (by, descending) = match text {
        "timestamp-desc" => (OrderBy::Timestamp, true),
        "timestamp-asc" => (OrderBy::Timestamp, false),
        "seq-asc" => (OrderBy::Seq, false),
        "seq-desc" => (OrderBy::Seq, true),
        _ => return Err("is not timestamp-desc, timestamp-asc, seq-asc or seq-desc".to_owned()),
    };
    Ok(Order { by, descending })
}

fn limit(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(n) if (1..=LIMIT_MAX).contains(&n) => Ok(n),
        Ok(n) => Err(format!("{n} is outside 1..={LIMIT_MAX}")),
        Err(e) => Err(e.to_string()),
    }
}

/// GET /v1/signals: the filter, `order` (default timestamp-desc), `limit` (default 100, at most
/// 10,000) and `cursor`.
pub fn query(mut params: Params) -> Result<Query, ApiError> {
    let filter = filter(&mut params)?;
    let order = params.parsed("order", order)?.unwrap_or(Order {
        by: OrderBy::Timestamp,
        descending: true,
    });
    let limit = params.parsed("limit", limit)?.unwrap_or(LIMIT_DEFAULT);
    let cursor = params.parsed("cursor", |t| Cursor::decode(t).map_err(|e| e.to_string()))?;
    params.finish()?;
    Ok(Query {
        filter,
        order,
        limit,
        cursor,
    })
}

fn group_by(text: &str) -> Result<GroupBy, String> {
    Ok(match text {
        "source" => GroupBy::Source,
        "ticker" => GroupBy::Ticker,
        "direction" => GroupBy::Direction,
        "type" => GroupBy::SignalType,
        "minute" => GroupBy::Minute,
        "hour" => GroupBy::Hour,
        "day" => GroupBy::Day,
        _ => return Err("is not source, ticker, direction, type, minute, hour or day".to_owned()),
    })
}

/// GET /v1/aggregate: the filter and `group_by`.
pub fn aggregate(mut params: Params) -> Result<(Filter, Option<GroupBy>), ApiError> {
    let filter = filter(&mut params)?;
    let group = params.parsed("group_by", group_by)?;
    params.finish()?;
    Ok((filter, group))
}

/// Largest `max_nodes` of GET /v1/lineage/{id}.
pub const MAX_NODES_MAX: usize = 100_000;

/// GET /v1/lineage/{id}: `depth` (1..=1000, default 64) and `max_nodes` (1..=100,000, default
/// 10,000).
pub fn lineage(mut params: Params) -> Result<LineageLimits, ApiError> {
    let depth = params.parsed("depth", |t| match t.parse::<usize>() {
        Ok(n) if (1..=1000).contains(&n) => Ok(n),
        Ok(n) => Err(format!("{n} is outside 1..=1000")),
        Err(e) => Err(e.to_string()),
    })?;
    let max_nodes = params.parsed("max_nodes", |t| match t.parse::<usize>() {
        Ok(n) if (1..=MAX_NODES_MAX).contains(&n) => Ok(n),
        Ok(n) => Err(format!("{n} is outside 1..={MAX_NODES_MAX}")),
        Err(e) => Err(e.to_string()),
    })?;
    params.finish()?;
    Ok(LineageLimits {
        max_depth: depth.unwrap_or(64),
        max_nodes: max_nodes.unwrap_or(10_000),
    })
}

/// POST /v1/verify: `from_seq` and `to_seq` (inclusive), as `verify --from-seq/--to-seq`.
pub fn verify(mut params: Params) -> Result<(Option<u64>, Option<u64>), ApiError> {
    let from = params.parsed("from_seq", number::<u64>)?;
    let to = params.parsed("to_seq", number::<u64>)?;
    params.finish()?;
    Ok((from, to))
}

/// GET /v1/checks: `failed` (true: only the failed checks).
pub fn checks(mut params: Params) -> Result<bool, ApiError> {
    let failed = params.parsed("failed", boolean)?.unwrap_or(false);
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

fn export_as(text: &str) -> Result<ExportAs, String> {
    Ok(match text {
        "csv" => ExportAs::Records(ExportFormat::Csv),
        "ndjson" => ExportAs::Records(ExportFormat::Ndjson),
        "bundle" => ExportAs::Bundle,
        _ => return Err("is not csv, ndjson or bundle".to_owned()),
    })
}

/// GET /v1/export: the filter and `format` (csv, ndjson or bundle; default ndjson).
pub fn export(mut params: Params) -> Result<(Filter, ExportAs), ApiError> {
    let filter = filter(&mut params)?;
    let format = params
        .parsed("format", export_as)?
        .unwrap_or(ExportAs::Records(ExportFormat::Ndjson));
    params.finish()?;
    Ok((filter, format))
}

fn replay_order(text: &str) -> Result<ReplayOrder, String> {
    match text {
        "timestamp" => Ok(ReplayOrder::Timestamp),
        "seq" => Ok(ReplayOrder::Seq),
        _ => Err("is not timestamp or seq".to_owned()),
    }
}

/// Longest `max_gap` of a replay, in seconds (a day, as `replay --max-gap`).
const MAX_GAP_SECS: f64 = 86_400.0;

fn max_gap(text: &str) -> Result<std::time::Duration, String> {
    match text.parse::<f64>() {
        Ok(x) if x.is_finite() && (0.0..=MAX_GAP_SECS).contains(&x) => {
            Ok(std::time::Duration::from_secs_f64(x))
        }
        Ok(_) => Err(format!(
            "is not a number of seconds between 0 and {MAX_GAP_SECS}"
        )),
        Err(e) => Err(e.to_string()),
    }
}

/// GET /v1/replay, as `replay`'s flags: the filter (from/to is the window), `speed` (`max`, the
/// default, or a factor of real time such as `1x`, `10x`, `0.5x`), `order` (timestamp, the
/// default, or seq), `max_gap` (seconds, 0..=86400, default 5), `no_outcomes` (true: signals
/// only), at most one of `start_seq`, `start_time` (RFC 3339) and `resume` (a position, as the
/// end event's `last`), and `limit` (most events).
pub fn replay(mut params: Params) -> Result<ReplayOptions, ApiError> {
    let defaults = ReplayOptions::default();
    let filter = filter(&mut params)?;
    let speed = params.parsed("speed", |t| t.parse::<Speed>().map_err(|e| e.to_string()))?;
    let order = params.parsed("order", replay_order)?;
    let max_gap = params.parsed("max_gap", max_gap)?;
    let no_outcomes = params.parsed("no_outcomes", boolean)?.unwrap_or(false);
    let start_seq = params.parsed("start_seq", number::<u64>)?.map(Start::Seq);
    let start_time = params
        .parsed("start_time", |t| {
            parse_rfc3339_ns(t).map_err(|e| e.to_string())
        })?
        .map(Start::Time);
    let resume = params
        .parsed("resume", |t| Position::decode(t).map_err(|e| e.to_string()))?
        .map(Start::After);
    let limit = params.parsed("limit", number::<u64>)?;
    params.finish()?;
    let starts: Vec<Start> = [start_seq, start_time, resume]
        .into_iter()
        .flatten()
        .collect();
    if starts.len() > 1 {
        return Err(ApiError::BadRequest(
            "give at most one of the query parameters start_seq, start_time and resume".to_owned(),
        ));
    }
    Ok(ReplayOptions {
        filter,
        order: order.unwrap_or(defaults.order),
        speed: speed.unwrap_or(defaults.speed),
        max_gap: max_gap.unwrap_or(defaults.max_gap),
        outcomes: !no_outcomes,
        start: starts.first().copied().unwrap_or(Start::Beginning),
        limit,
    })
}
