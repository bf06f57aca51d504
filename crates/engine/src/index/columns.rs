//! [`SegmentIndex`]: one segment's index in memory, and the dictionary-coded columns.

use super::id_hash;
use crate::hash::Hash;
use crate::record::codec::SignalView;

/// Entries per time block: the unit whose min/max timestamp the index keeps.
pub const TIME_BLOCK_LEN: usize = 1024;

/// The dictionary id of an absent optional value.
pub const NO_VALUE: u32 = u32::MAX;

/// A text column the index dictionary-codes, with a posting list per value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DictKey {
    /// source_module.
    SourceModule,
    /// ticker.
    Ticker,
    /// timeframe.
    Timeframe,
    /// strategy_id.
    StrategyId,
    /// correlation_id.
    CorrelationId,
}

impl DictKey {
    /// The column's value in `signal`.
    pub fn value<'a>(self, signal: &SignalView<'a>) -> Option<&'a str> {
        match self {
            DictKey::SourceModule => Some(signal.source_module),
            DictKey::Ticker => Some(signal.ticker),
            DictKey::Timeframe => signal.timeframe,
            DictKey::StrategyId => signal.strategy_id,
            DictKey::CorrelationId => signal.correlation_id,
        }
    }

    /// The column's name.
    pub fn name(self) -> &'static str {
        match self {
            DictKey::SourceModule => "source_module",
            DictKey::Ticker => "ticker",
            DictKey::Timeframe => "timeframe",
            DictKey::StrategyId => "strategy_id",
            DictKey::CorrelationId => "correlation_id",
        }
    }
}

/// The dictionary-coded columns, in the order of their sidecar sections.
pub const DICT_COLUMNS: [DictKey; 5] = [
    DictKey::SourceModule,
    DictKey::Ticker,
    DictKey::Timeframe,
    DictKey::StrategyId,
    DictKey::CorrelationId,
];

/// One dictionary-coded column.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DictColumn {
    /// The distinct values, sorted by bytes; a value's id is its position.
    pub values: Vec<String>,
    /// Each entry's value id ([`NO_VALUE`] when absent).
    pub rows: Vec<u32>,
    /// Each value's entries (row numbers, ascending).
    pub postings: Vec<Vec<u32>>,
}

impl DictColumn {
    /// The id of `value`, if any entry has it.
    pub fn id_of(&self, value: &str) -> Option<u32> {
        self.values
            .binary_search_by(|v| v.as_str().cmp(value))
            .ok()
            .map(|i| i as u32)
    }

    /// The rows (ascending) whose value is `value`; empty if none.
    pub fn rows_with(&self, value: &str) -> &[u32] {
        self.id_of(value)
            .and_then(|id| self.postings.get(id as usize))
            .map_or(&[], Vec::as_slice)
    }
}

/// The index of one segment: row `i` is the entry with seq `first_seq + i`.
///
/// Invariants (checked when a sidecar is read, kept by [`super::IndexBuilder`]): every
/// per-entry column has one value per entry; dictionary ids are below the dictionary's size or
/// [`NO_VALUE`]; posting lists are ascending, within range, and agree with the ids; `ids` is
/// sorted; `time_blocks` has one (min, max) per [`TIME_BLOCK_LEN`] entries.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentIndex {
    /// Seq of row 0 (the segment's first seq).
    pub first_seq: u64,
    /// The segment's bytes this index covers: header and entries up to here.
    pub records_end: u64,
    /// Row hash of the last entry covered (the genesis/previous hash when empty): binds the
    /// index to the bytes it was built from.
    pub last_row_hash: Hash,
    /// Frame offset of each entry in the segment file.
    pub offsets: Vec<u32>,
    /// timestamp column, ns.
    pub timestamps: Vec<i64>,
    /// conviction column.
    pub convictions: Vec<f64>,
    /// direction codes.
    pub directions: Vec<u8>,
    /// signal_type codes.
    pub signal_types: Vec<u8>,
    /// acted_upon: 0 absent, 1 false, 2 true.
    pub acted_upon: Vec<u8>,
    /// 1 if the entry has an execution_id, else 0.
    pub has_execution: Vec<u8>,
    /// The dictionary-coded columns, in [`DICT_COLUMNS`] order.
    pub dicts: [DictColumn; 5],
    /// (min, max) timestamp of each block of [`TIME_BLOCK_LEN`] rows.
    pub time_blocks: Vec<(i64, i64)>,
    /// (FNV-1a hash of signal_id, row), sorted.
    pub ids: Vec<(u64, u32)>,
    /// (FNV-1a hash of a parent_signal_id, row) for every parent of every row, sorted: the
    /// rows naming a signal as their parent (lineage's descendants).
    pub parents: Vec<(u64, u32)>,
    /// Entry kind code of each row ([`ROW_SIGNAL`] or [`ROW_OUTCOME`]). The signal columns of
    /// an outcome row are zero (dictionary ids [`NO_VALUE`]), and it is in no id, parent or
    /// posting list and no time block's range.
    pub kinds: Vec<u8>,
    /// The outcome rows, ascending by row.
    pub outcomes: Vec<OutcomeRow>,
}

/// The kind code of a signal row (the entry kind byte).
pub const ROW_SIGNAL: u8 = 0x01;
/// The kind code of an outcome row.
pub const ROW_OUTCOME: u8 = 0x02;

/// An outcome entry of a segment, as its index keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutcomeRow {
    /// Its row in the segment (seq = first_seq + row).
    pub row: u32,
    /// Seq of the signal it is the outcome of.
    pub signal_seq: u64,
    /// Acted upon (true) or dismissed.
    pub acted: bool,
    /// Whether it carries an execution_id.
    pub has_execution_id: bool,
}

/// The rows paired with hash `h` in a table of (hash, row) sorted by hash then row.
fn rows_with_hash(table: &[(u64, u32)], h: u64) -> impl Iterator<Item = u32> + '_ {
    let start = table.partition_point(|&(k, _)| k < h);
    table
        .get(start..)
        .unwrap_or_default()
        .iter()
        .take_while(move |&&(k, _)| k == h)
        .map(|&(_, row)| row)
}

impl SegmentIndex {
    /// Entries covered.
    pub fn len(&self) -> usize {
        self.offsets.len()
    }

    /// Whether it covers no entry.
    pub fn is_empty(&self) -> bool {
        self.offsets.is_empty()
    }

    /// Whether row `row` is a signal (not an outcome, nor beyond the index).
    pub fn is_signal(&self, row: usize) -> bool {
        self.kinds.get(row) == Some(&ROW_SIGNAL)
    }

    /// Signal rows covered.
    pub fn signal_count(&self) -> usize {
        self.len() - self.outcomes.len()
    }

    /// The dictionary column `key`.
    pub fn dict(&self, key: DictKey) -> &DictColumn {
        let [source, ticker, timeframe, strategy, correlation] = &self.dicts;
        match key {
            DictKey::SourceModule => source,
            DictKey::Ticker => ticker,
            DictKey::Timeframe => timeframe,
            DictKey::StrategyId => strategy,
            DictKey::CorrelationId => correlation,
        }
    }

    /// Rows whose signal_id hashes like `id` (candidates: compare the decoded id).
    pub fn rows_with_id_hash(&self, id: &str) -> impl Iterator<Item = u32> + '_ {
        rows_with_hash(&self.ids, id_hash(id))
    }

    /// Rows with a parent_signal_id that hashes like `id`, ascending and distinct (candidates:
    /// compare the decoded parents).
    pub fn rows_with_parent_hash(&self, id: &str) -> impl Iterator<Item = u32> + '_ {
        let mut last = None;
        rows_with_hash(&self.parents, id_hash(id))
            .filter(move |&row| last.replace(row) != Some(row))
    }

    /// Blocks whose timestamp range meets `[from, to)`, as row ranges.
    pub fn blocks_meeting(
        &self,
        from: i64,
        to: i64,
    ) -> impl Iterator<Item = std::ops::Range<usize>> + '_ {
        let len = self.len();
        self.time_blocks
            .iter()
            .enumerate()
            .filter(move |(_, &(min, max))| max >= from && min < to)
            .map(move |(b, _)| b * TIME_BLOCK_LEN..((b + 1) * TIME_BLOCK_LEN).min(len))
    }
}
