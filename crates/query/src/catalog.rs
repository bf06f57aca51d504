//! [`Catalog`]: a snapshot of a ledger with the index of every segment (loaded when first
//! needed) and every outcome, the thing queries run against.

use std::path::Path;
use std::sync::OnceLock;

use parking_lot::Mutex;
use rayon::prelude::*;
use signal_ledger_engine::index::{self, read_sidecar_outcome_rows, SegmentIndex, SegmentSource};
use signal_ledger_engine::{LedgerError, Snapshot};

use crate::error::{QueryError, Result};
use crate::filter::Filter;
use crate::outcomes::{Outcomes, SegmentOutcomes};

/// A consistent view of a ledger (a [`Snapshot`]) and the index of each of its segments, each
/// loaded the first time a query needs it: a query that can answer from the newest segments
/// (a page of newest-first results, say) never decodes the others' indexes, so what a process
/// pays to answer it grows little with the ledger. Each index has the latest outcome of every
/// signal applied to its `acted_upon` and `has_execution` columns ([`Outcomes`]).
#[derive(Debug)]
pub struct Catalog {
    snapshot: Snapshot,
    /// Each segment's index, outcomes applied.
    indexes: Vec<OnceLock<SegmentIndex>>,
    /// Indexes built while gathering outcomes, before outcomes could be applied to them.
    built: Vec<Mutex<Option<SegmentIndex>>>,
    /// Outcomes with a seq below this are applied (`u64::MAX`: all).
    outcome_horizon: u64,
    /// Every outcome of the snapshot (below `outcome_horizon`), gathered once.
    outcomes: OnceLock<Outcomes>,
}

impl Catalog {
    /// Opens a snapshot of the ledger in `dir`. Segment indexes are loaded when first needed
    /// ([`Catalog::index`]).
    pub fn open(dir: &Path) -> Result<Catalog> {
        Ok(Catalog::from_snapshot(Snapshot::open(dir)?))
    }

    /// A catalog over a snapshot taken already.
    pub fn from_snapshot(snapshot: Snapshot) -> Catalog {
        Catalog::with_outcome_horizon(snapshot, u64::MAX)
    }

    /// A catalog that applies only the outcomes with a seq below `horizon`: what a page of a
    /// query that began when the ledger ended there must see, so that later outcomes do not
    /// move rows across pages already served.
    pub fn with_outcome_horizon(snapshot: Snapshot, horizon: u64) -> Catalog {
        let n = snapshot.segments().len();
        Catalog {
            snapshot,
            indexes: (0..n).map(|_| OnceLock::new()).collect(),
            built: (0..n).map(|_| Mutex::new(None)).collect(),
            outcome_horizon: horizon,
            outcomes: OnceLock::new(),
        }
    }

    /// The seq below which outcomes are applied (`u64::MAX`: all).
    pub fn outcome_horizon(&self) -> u64 {
        self.outcome_horizon
    }

    /// The snapshot.
    pub fn snapshot(&self) -> &Snapshot {
        &self.snapshot
    }

    /// The index of segment `i` (in [`Snapshot::segments`] order), with outcomes applied: a
    /// sealed segment's sidecar when it is sound, else built from the segment — and then
    /// written by the engine as its sidecar for the next reader (best effort: a read-only
    /// directory just means no sidecar). The active segment's index is built in memory.
    pub fn index(&self, i: usize) -> Result<&SegmentIndex> {
        let Some(slot) = self.indexes.get(i) else {
            return Err(QueryError::Ledger(LedgerError::NotFound(format!(
                "segment {i} of the snapshot"
            ))));
        };
        if let Some(index) = slot.get() {
            return Ok(index);
        }
        let outcomes = self.outcomes()?;
        let stashed = self.built.get(i).and_then(|b| b.lock().take());
        let mut index = match stashed {
            Some(index) => index,
            None => self.load_index(i)?,
        };
        outcomes.apply_to_index(&mut index);
        // Two threads may both load it; the first one kept is used by all.
        Ok(slot.get_or_init(|| index))
    }

    /// The index of every segment, in segment order (those not loaded yet are loaded side by
    /// side, one segment per task).
    pub fn indexes(&self) -> Result<Vec<&SegmentIndex>> {
        let loaded: Vec<&SegmentIndex> = self.indexes.iter().filter_map(OnceLock::get).collect();
        if loaded.len() == self.indexes.len() {
            return Ok(loaded);
        }
        (0..self.indexes.len())
            .into_par_iter()
            .map(|i| self.index(i))
            .collect()
    }

    /// The index of every segment that may hold a signal of `filter`'s time window, with its
    /// place in [`Snapshot::segments`], in segment order: a segment whose timestamp range (known
    /// without its index) misses the window is skipped unloaded. Those not loaded yet are
    /// loaded side by side.
    pub fn indexes_meeting(&self, filter: &Filter) -> Result<Vec<(usize, &SegmentIndex)>> {
        let from = filter.from_ns.unwrap_or(i64::MIN);
        let to = filter.to_ns.unwrap_or(i64::MAX);
        let wanted: Vec<usize> = self
            .snapshot
            .segments()
            .iter()
            .enumerate()
            .filter(|(_, s)| {
                s.record_count > 0 && s.max_timestamp_ns >= from && s.min_timestamp_ns < to
            })
            .map(|(i, _)| i)
            .collect();
        wanted
            .into_par_iter()
            .map(|i| self.index(i).map(|index| (i, index)))
            .collect()
    }

    /// Every outcome of the snapshot, gathered the first time it is needed: from each sealed
    /// segment's sidecar (its outcome section only) when sound, else from the segment's index,
    /// built then (and kept for [`Catalog::index`]). Segments of format version 1 hold none.
    pub fn outcomes(&self) -> Result<&Outcomes> {
        if let Some(outcomes) = self.outcomes.get() {
            return Ok(outcomes);
        }
        let per_segment = (0..self.indexes.len())
            .into_par_iter()
            .map(|i| self.outcome_rows_of(i))
            .collect::<Result<Vec<_>>>()?;
        let horizon = self.outcome_horizon;
        Ok(self
            .outcomes
            .get_or_init(|| Outcomes::gather(per_segment, horizon)))
    }

    /// Segment `i`'s outcome rows with their frame offsets, and its first seq.
    fn outcome_rows_of(&self, i: usize) -> Result<SegmentOutcomes> {
        let Some(segment) = self.snapshot.segments().get(i) else {
            return Ok((i, 0, Vec::new()));
        };
        let first_seq = segment.first_seq();
        if segment.header.format_version < 2 || segment.record_count == 0 {
            return Ok((i, first_seq, Vec::new()));
        }
        let with_offsets = |index: &SegmentIndex| {
            index
                .outcomes
                .iter()
                .map(|o| {
                    let offset = index.offsets.get(o.row as usize).copied();
                    (*o, offset.unwrap_or_default())
                })
                .collect::<Vec<_>>()
        };
        if let Some(index) = self.indexes.get(i).and_then(OnceLock::get) {
            return Ok((i, first_seq, with_offsets(index)));
        }
        if let Some(trailer) = &segment.trailer {
            let rows = read_sidecar_outcome_rows(
                &segment.path,
                first_seq,
                segment.records_end as u64,
                trailer.last_row_hash,
                segment.record_count,
            );
            if let Some(rows) = rows {
                return Ok((i, first_seq, rows));
            }
        }
        let index = self.load_index(i)?;
        let rows = with_offsets(&index);
        if let Some(stash) = self.built.get(i) {
            *stash.lock() = Some(index);
        }
        Ok((i, first_seq, rows))
    }

    /// Segment `i`'s index as stored or built (no outcomes applied); the engine keeps a sealed
    /// segment's built index as its sidecar ([`index::load_or_rebuild`]).
    fn load_index(&self, i: usize) -> Result<SegmentIndex> {
        let Some(segment) = self.snapshot.segments().get(i) else {
            return Err(QueryError::Ledger(LedgerError::NotFound(format!(
                "segment {i} of the snapshot"
            ))));
        };
        Ok(index::load_or_rebuild(&SegmentSource {
            path: &segment.path,
            bytes: &segment.bytes,
            first_seq: segment.first_seq(),
            records_end: segment.records_end,
            prev_hash: segment.header.prev_hash,
            entry_count: segment.record_count,
            sealed_last_row_hash: segment.trailer.as_ref().map(|t| t.last_row_hash),
        })?)
    }
}
