//! [`Filter`]: which signals a query wants, as a predicate on a record (the reference every
//! index-driven path is checked against) and, compiled per segment, on index rows.

use signal_ledger_engine::index::{DictKey, SegmentIndex, NO_VALUE};
use signal_ledger_engine::record::codec::SignalView;
use signal_ledger_engine::{Direction, Signal, SignalType};

/// A conjunction of conditions; an empty list or None means "any".
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    /// source_module is one of these.
    pub sources: Vec<String>,
    /// ticker is one of these.
    pub tickers: Vec<String>,
    /// timestamp ≥ this, ns.
    pub from_ns: Option<i64>,
    /// timestamp < this, ns.
    pub to_ns: Option<i64>,
    /// conviction ≥ this.
    pub min_conviction: Option<f64>,
    /// conviction ≤ this.
    pub max_conviction: Option<f64>,
    /// direction is one of these.
    pub directions: Vec<Direction>,
    /// signal_type is one of these.
    pub signal_types: Vec<SignalType>,
    /// timeframe is one of these.
    pub timeframes: Vec<String>,
    /// strategy_id is one of these.
    pub strategy_ids: Vec<String>,
    /// correlation_id is one of these.
    pub correlation_ids: Vec<String>,
    /// acted_upon equals this (an absent acted_upon counts as false).
    pub acted_upon: Option<bool>,
    /// Whether an execution_id is present.
    pub has_execution_id: Option<bool>,
}

fn one_of(wanted: &[String], value: Option<&str>) -> bool {
    wanted.is_empty() || value.is_some_and(|v| wanted.iter().any(|w| w == v))
}

/// The columns a [`Filter`] looks at, borrowed from a signal or a decoded view.
struct Probe<'a> {
    source_module: &'a str,
    ticker: &'a str,
    timestamp_ns: i64,
    conviction: f64,
    direction: Direction,
    signal_type: SignalType,
    timeframe: Option<&'a str>,
    strategy_id: Option<&'a str>,
    correlation_id: Option<&'a str>,
    acted_upon: Option<bool>,
    has_execution_id: bool,
}

impl Filter {
    /// Whether `signal` meets every condition.
    pub fn matches(&self, s: &Signal) -> bool {
        self.matches_probe(&Probe {
            source_module: &s.source_module,
            ticker: &s.ticker,
            timestamp_ns: s.timestamp_ns,
            conviction: s.conviction,
            direction: s.direction,
            signal_type: s.signal_type,
            timeframe: s.timeframe.as_deref(),
            strategy_id: s.strategy_id.as_deref(),
            correlation_id: s.correlation_id.as_deref(),
            acted_upon: s.acted_upon,
            has_execution_id: s.execution_id.is_some(),
        })
    }

    /// [`Filter::matches`] of a record decoded in place.
    pub fn matches_view(&self, v: &SignalView<'_>) -> bool {
        self.matches_probe(&Probe {
            source_module: v.source_module,
            ticker: v.ticker,
            timestamp_ns: v.timestamp_ns,
            conviction: v.conviction,
            direction: v.direction,
            signal_type: v.signal_type,
            timeframe: v.timeframe,
            strategy_id: v.strategy_id,
            correlation_id: v.correlation_id,
            acted_upon: v.acted_upon,
            has_execution_id: v.execution_id.is_some(),
        })
    }

    fn matches_probe(&self, s: &Probe<'_>) -> bool {
        one_of(&self.sources, Some(s.source_module))
            && one_of(&self.tickers, Some(s.ticker))
            && self.from_ns.is_none_or(|from| s.timestamp_ns >= from)
            && self.to_ns.is_none_or(|to| s.timestamp_ns < to)
            && self.min_conviction.is_none_or(|m| s.conviction >= m)
            && self.max_conviction.is_none_or(|m| s.conviction <= m)
            && (self.directions.is_empty() || self.directions.contains(&s.direction))
            && (self.signal_types.is_empty() || self.signal_types.contains(&s.signal_type))
            && one_of(&self.timeframes, s.timeframe)
            && one_of(&self.strategy_ids, s.strategy_id)
            && one_of(&self.correlation_ids, s.correlation_id)
            && self
                .acted_upon
                .is_none_or(|a| s.acted_upon.unwrap_or(false) == a)
            && self
                .has_execution_id
                .is_none_or(|h| s.has_execution_id == h)
    }

    /// The wanted values of dictionary column `key`.
    pub(crate) fn dict_values(&self, key: DictKey) -> &[String] {
        match key {
            DictKey::SourceModule => &self.sources,
            DictKey::Ticker => &self.tickers,
            DictKey::Timeframe => &self.timeframes,
            DictKey::StrategyId => &self.strategy_ids,
            DictKey::CorrelationId => &self.correlation_ids,
        }
    }
}

/// A [`Filter`] resolved against one segment's dictionaries: value ids instead of strings.
pub(crate) struct RowFilter<'a> {
    filter: &'a Filter,
    index: &'a SegmentIndex,
    /// For each constrained dictionary column: the column's row ids and the wanted ids.
    dicts: Vec<(&'a [u32], Vec<u32>)>,
    directions: Vec<u8>,
    signal_types: Vec<u8>,
    /// Whether no row of the segment can match (a wanted value absent from a dictionary).
    pub impossible: bool,
}

impl<'a> RowFilter<'a> {
    pub(crate) fn new(filter: &'a Filter, index: &'a SegmentIndex) -> RowFilter<'a> {
        let mut impossible = false;
        let mut dicts = Vec::new();
        for key in signal_ledger_engine::index::DICT_COLUMNS {
            let wanted = filter.dict_values(key);
            if wanted.is_empty() {
                continue;
            }
            let dict = index.dict(key);
            let ids: Vec<u32> = wanted.iter().filter_map(|v| dict.id_of(v)).collect();
            impossible |= ids.is_empty();
            dicts.push((dict.rows.as_slice(), ids));
        }
        RowFilter {
            filter,
            index,
            dicts,
            directions: filter.directions.iter().map(|d| d.code()).collect(),
            signal_types: filter.signal_types.iter().map(|t| t.code()).collect(),
            impossible,
        }
    }

    /// Whether row `row` meets every condition, by the index's columns.
    pub(crate) fn matches(&self, row: usize) -> bool {
        let f = self.filter;
        let ix = self.index;
        let ts = ix.timestamps.get(row).copied().unwrap_or_default();
        let conviction = ix.convictions.get(row).copied().unwrap_or(f64::NAN);
        let byte = |col: &[u8]| col.get(row).copied().unwrap_or(u8::MAX);
        ix.is_signal(row)
            && f.from_ns.is_none_or(|from| ts >= from)
            && f.to_ns.is_none_or(|to| ts < to)
            && f.min_conviction.is_none_or(|m| conviction >= m)
            && f.max_conviction.is_none_or(|m| conviction <= m)
            && (self.directions.is_empty() || self.directions.contains(&byte(&ix.directions)))
            && (self.signal_types.is_empty() || self.signal_types.contains(&byte(&ix.signal_types)))
            && f.acted_upon
                .is_none_or(|a| (byte(&ix.acted_upon) == 2) == a)
            && f.has_execution_id
                .is_none_or(|h| (byte(&ix.has_execution) == 1) == h)
            && self.dicts.iter().all(|(rows, ids)| {
                let id = rows.get(row).copied().unwrap_or(NO_VALUE);
                ids.contains(&id)
            })
    }
}
