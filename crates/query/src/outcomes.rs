//! Outcomes in queries: each signal shows its latest outcome in its `acted_upon` and
//! `execution_id` columns, and its whole outcome history on request.
//!
//! Outcomes are entries of their own (engine `record::outcome`), appended after the signals they
//! name, often in later segments. The catalog gathers every outcome of the snapshot once (from
//! the sidecars' outcome sections, or the indexes built for segments without one) into
//! [`Outcomes`], and applies the latest outcome of each signal to the index columns queries
//! filter and aggregate on, and to every record it returns. The latest outcome replaces both
//! columns: `acted_upon` becomes its decision and `execution_id` its execution_id (absent if it
//! has none).

use std::ops::Range;

use signal_ledger_engine::index::{OutcomeRow, SegmentIndex, ROW_SIGNAL};

/// Where one outcome entry is, and what it says, as the indexes record it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutcomeLoc {
    /// Seq of the signal it is the outcome of.
    pub signal_seq: u64,
    /// Seq of the outcome entry.
    pub seq: u64,
    /// Its segment (index in the snapshot) and frame offset.
    pub segment: usize,
    /// Frame offset in the segment file.
    pub offset: u32,
    /// Acted upon (true) or dismissed.
    pub acted: bool,
    /// Whether it carries an execution_id.
    pub has_execution_id: bool,
}

/// One segment's outcome rows: (segment index, its first seq, each outcome row with its frame
/// offset).
pub(crate) type SegmentOutcomes = (usize, u64, Vec<(OutcomeRow, u32)>);

/// Every outcome of a snapshot, sorted by (signal seq, outcome seq): a signal's history is a
/// contiguous run whose last element is its latest outcome.
#[derive(Debug, Clone, Default)]
pub struct Outcomes {
    sorted: Vec<OutcomeLoc>,
}

impl Outcomes {
    /// Gathers the outcome rows of every segment (segment, its first seq, each outcome row with
    /// its frame offset) whose seq is below `horizon`.
    pub(crate) fn gather(per_segment: Vec<SegmentOutcomes>, horizon: u64) -> Outcomes {
        let mut sorted: Vec<OutcomeLoc> = per_segment
            .into_iter()
            .flat_map(|(segment, first_seq, rows)| {
                rows.into_iter().map(move |(row, offset)| OutcomeLoc {
                    signal_seq: row.signal_seq,
                    seq: first_seq + u64::from(row.row),
                    segment,
                    offset,
                    acted: row.acted,
                    has_execution_id: row.has_execution_id,
                })
            })
            .filter(|o: &OutcomeLoc| o.seq < horizon)
            .collect();
        sorted.sort_unstable_by_key(|o| (o.signal_seq, o.seq));
        Outcomes { sorted }
    }

    /// Outcomes in all.
    pub fn len(&self) -> usize {
        self.sorted.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.sorted.is_empty()
    }

    /// The highest outcome seq gathered, if any.
    pub fn max_seq(&self) -> Option<u64> {
        self.sorted.iter().map(|o| o.seq).max()
    }

    /// Every outcome, by (signal seq, outcome seq).
    pub fn all(&self) -> &[OutcomeLoc] {
        &self.sorted
    }

    /// Every outcome of the signal with seq `signal_seq`, oldest first.
    pub fn of(&self, signal_seq: u64) -> &[OutcomeLoc] {
        let start = self.sorted.partition_point(|o| o.signal_seq < signal_seq);
        let end = self.sorted.partition_point(|o| o.signal_seq <= signal_seq);
        self.sorted.get(start..end).unwrap_or_default()
    }

    /// The latest outcome of the signal with seq `signal_seq`, if it has any.
    pub fn latest(&self, signal_seq: u64) -> Option<&OutcomeLoc> {
        self.of(signal_seq).last()
    }

    /// The latest outcome of each signal whose seq is in `seqs`, by signal seq.
    fn latest_in(&self, seqs: Range<u64>) -> impl Iterator<Item = &OutcomeLoc> + '_ {
        let start = self.sorted.partition_point(|o| o.signal_seq < seqs.start);
        let end = self.sorted.partition_point(|o| o.signal_seq < seqs.end);
        let run = self.sorted.get(start..end).unwrap_or_default();
        run.iter().enumerate().filter_map(move |(i, o)| {
            let next = run.get(i + 1);
            next.is_none_or(|n| n.signal_seq != o.signal_seq)
                .then_some(o)
        })
    }

    /// Sets the `acted_upon` and `has_execution` columns of every signal row of `index` that
    /// has an outcome to its latest outcome's.
    pub(crate) fn apply_to_index(&self, index: &mut SegmentIndex) {
        let seqs = index.first_seq..index.first_seq + index.len() as u64;
        for o in self.latest_in(seqs) {
            let row = (o.signal_seq - index.first_seq) as usize;
            if index.kinds.get(row) != Some(&ROW_SIGNAL) {
                continue; // a signal_seq that names no signal (verification reports it)
            }
            if let Some(a) = index.acted_upon.get_mut(row) {
                *a = if o.acted { 2 } else { 1 };
            }
            if let Some(h) = index.has_execution.get_mut(row) {
                *h = u8::from(o.has_execution_id);
            }
        }
    }
}
