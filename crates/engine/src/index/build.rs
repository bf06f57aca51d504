//! Building a [`SegmentIndex`] from entries, one at a time, in seq order.

use std::collections::HashMap;

use super::columns::{
    DictColumn, OutcomeRow, SegmentIndex, DICT_COLUMNS, NO_VALUE, ROW_OUTCOME, ROW_SIGNAL,
    TIME_BLOCK_LEN,
};
use super::id_hash;
use crate::hash::Hash;
use crate::record::codec::SignalView;
use crate::record::outcome::OutcomeView;

/// One dictionary-coded column being built: values by first appearance, then sorted at the end.
#[derive(Default)]
struct DictBuilder {
    ids: HashMap<String, u32>,
    values: Vec<String>,
    rows: Vec<u32>,
}

impl DictBuilder {
    fn push(&mut self, value: Option<&str>) {
        let id = match value {
            None => NO_VALUE,
            Some(v) => match self.ids.get(v) {
                Some(&id) => id,
                None => {
                    let id = self.values.len() as u32;
                    self.ids.insert(v.to_owned(), id);
                    self.values.push(v.to_owned());
                    id
                }
            },
        };
        self.rows.push(id);
    }

    /// Sorted values, each row's id in that order, and each value's rows (ascending).
    fn finish(self) -> (Vec<String>, Vec<u32>, Vec<Vec<u32>>) {
        let n = self.values.len();
        let mut sorted: Vec<(String, u32)> = self.values.into_iter().zip(0u32..).collect();
        sorted.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let mut remap = vec![NO_VALUE; n];
        for (new, (_, old)) in sorted.iter().enumerate() {
            if let Some(slot) = remap.get_mut(*old as usize) {
                *slot = new as u32;
            }
        }
        let values = sorted.into_iter().map(|(v, _)| v).collect();
        let mut postings = vec![Vec::new(); n];
        let rows = self
            .rows
            .iter()
            .zip(0u32..)
            .map(|(&id, row)| {
                let new = remap.get(id as usize).copied().unwrap_or(NO_VALUE);
                if let Some(list) = postings.get_mut(new as usize) {
                    list.push(row);
                }
                new
            })
            .collect();
        (values, rows, postings)
    }
}

/// Collects one segment's entries into a [`SegmentIndex`].
#[derive(Default)]
pub struct IndexBuilder {
    offsets: Vec<u32>,
    timestamps: Vec<i64>,
    convictions: Vec<f64>,
    directions: Vec<u8>,
    signal_types: Vec<u8>,
    acted_upon: Vec<u8>,
    has_execution: Vec<u8>,
    dicts: [DictBuilder; DICT_COLUMNS.len()],
    ids: Vec<(u64, u32)>,
    parents: Vec<(u64, u32)>,
    kinds: Vec<u8>,
    outcomes: Vec<OutcomeRow>,
}

impl IndexBuilder {
    /// An empty builder.
    pub fn new() -> IndexBuilder {
        IndexBuilder::default()
    }

    /// Entries added so far.
    pub fn len(&self) -> usize {
        self.offsets.len()
    }

    /// Whether nothing was added.
    pub fn is_empty(&self) -> bool {
        self.offsets.is_empty()
    }

    /// Adds the next entry (in seq order): its frame's offset in the segment file and its
    /// decoded columns.
    pub fn push(&mut self, offset: u32, signal: &SignalView<'_>) {
        let row = self.offsets.len() as u32;
        self.offsets.push(offset);
        self.kinds.push(ROW_SIGNAL);
        self.timestamps.push(signal.timestamp_ns);
        self.convictions.push(signal.conviction);
        self.directions.push(signal.direction.code());
        self.signal_types.push(signal.signal_type.code());
        self.acted_upon.push(match signal.acted_upon {
            None => 0,
            Some(false) => 1,
            Some(true) => 2,
        });
        self.has_execution
            .push(u8::from(signal.execution_id.is_some()));
        for (column, dict) in DICT_COLUMNS.iter().zip(self.dicts.iter_mut()) {
            dict.push(column.value(signal));
        }
        self.ids.push((id_hash(signal.signal_id), row));
        self.parents.extend(
            signal
                .parent_signal_ids
                .iter()
                .map(|parent| (id_hash(parent), row)),
        );
    }

    /// Adds the next entry (in seq order) when it is an outcome: its frame's offset and the
    /// decoded outcome. Its signal columns are zero and it joins no posting list.
    pub fn push_outcome(&mut self, offset: u32, outcome: &OutcomeView<'_>) {
        let row = self.offsets.len() as u32;
        self.offsets.push(offset);
        self.kinds.push(ROW_OUTCOME);
        self.timestamps.push(0);
        self.convictions.push(0.0);
        self.directions.push(0);
        self.signal_types.push(0);
        self.acted_upon.push(0);
        self.has_execution.push(0);
        for dict in &mut self.dicts {
            dict.push(None);
        }
        self.outcomes.push(OutcomeRow {
            row,
            signal_seq: outcome.signal_seq,
            acted: outcome.decision.acted_upon(),
            has_execution_id: outcome.execution_id.is_some(),
        });
    }

    /// The index of a segment whose first entry has `first_seq`, covering its bytes up to
    /// `records_end`, whose last entry's row hash is `last_row_hash`.
    pub fn finish(self, first_seq: u64, records_end: u64, last_row_hash: Hash) -> SegmentIndex {
        let mut ids = self.ids;
        ids.sort_unstable();
        let mut parents = self.parents;
        parents.sort_unstable();
        // Ranges over signal rows only: an outcome row has no timestamp.
        let blocks = self
            .timestamps
            .chunks(TIME_BLOCK_LEN)
            .zip(self.kinds.chunks(TIME_BLOCK_LEN))
            .map(|(block, kinds)| {
                let signal_ts = || {
                    block
                        .iter()
                        .zip(kinds)
                        .filter(|(_, &k)| k == ROW_SIGNAL)
                        .map(|(&t, _)| t)
                };
                let min = signal_ts().min().unwrap_or(i64::MAX);
                let max = signal_ts().max().unwrap_or(i64::MIN);
                (min, max)
            })
            .collect();
        let dicts = self.dicts.map(|d| {
            let (values, rows, postings) = d.finish();
            DictColumn {
                values,
                rows,
                postings,
            }
        });
        SegmentIndex {
            first_seq,
            records_end,
            last_row_hash,
            offsets: self.offsets,
            timestamps: self.timestamps,
            convictions: self.convictions,
            directions: self.directions,
            signal_types: self.signal_types,
            acted_upon: self.acted_upon,
            has_execution: self.has_execution,
            dicts,
            time_blocks: blocks,
            ids,
            parents,
            kinds: self.kinds,
            outcomes: self.outcomes,
        }
    }
}
