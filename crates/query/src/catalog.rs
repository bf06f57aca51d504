//! [`Catalog`]: a snapshot of a ledger with the index of every segment (loaded when first
//! needed), the thing queries run against.

use std::path::Path;
use std::sync::OnceLock;

use rayon::prelude::*;
use signal_ledger_engine::index::{write_sidecar, SegmentIndex};
use signal_ledger_engine::{LedgerError, Snapshot};

use crate::error::{QueryError, Result};

/// A consistent view of a ledger (a [`Snapshot`]) and the index of each of its segments, each
/// loaded the first time a query needs it: a query that can answer from the newest segments
/// (a page of newest-first results, say) never reads the others' indexes, so what a process
/// pays to answer it does not grow with the ledger.
#[derive(Debug)]
pub struct Catalog {
    snapshot: Snapshot,
    indexes: Vec<OnceLock<SegmentIndex>>,
}

impl Catalog {
    /// Opens a snapshot of the ledger in `dir`. Segment indexes are loaded when first needed
    /// ([`Catalog::index`]).
    pub fn open(dir: &Path) -> Result<Catalog> {
        Ok(Catalog::from_snapshot(Snapshot::open(dir)?))
    }

    /// A catalog over a snapshot taken already.
    pub fn from_snapshot(snapshot: Snapshot) -> Catalog {
        let indexes = snapshot
            .segments()
            .iter()
            .map(|_| OnceLock::new())
            .collect();
        Catalog { snapshot, indexes }
    }

    /// The snapshot.
    pub fn snapshot(&self) -> &Snapshot {
        &self.snapshot
    }

    /// The index of segment `i` (in [`Snapshot::segments`] order): a sealed segment's sidecar
    /// when it is sound, else built from the segment — and then written as its sidecar for the
    /// next reader (best effort: a read-only directory just means no sidecar). The active
    /// segment's index is built in memory.
    pub fn index(&self, i: usize) -> Result<&SegmentIndex> {
        let Some(slot) = self.indexes.get(i) else {
            return Err(QueryError::Ledger(LedgerError::NotFound(format!(
                "segment {i} of the snapshot"
            ))));
        };
        if let Some(index) = slot.get() {
            return Ok(index);
        }
        let (index, from_sidecar) = self.snapshot.segment_index_from(i)?;
        let sealed = self
            .snapshot
            .segments()
            .get(i)
            .filter(|s| s.trailer.is_some());
        if let (Some(segment), false) = (sealed, from_sidecar) {
            // Derived data: failing to keep it costs the next reader a rebuild, nothing more.
            let _ = write_sidecar(&segment.path, &index);
        }
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
}
