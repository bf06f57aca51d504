//! [`Catalog`]: a snapshot of a ledger with the index of every segment, the thing queries run
//! against.

use std::path::Path;

use signal_ledger_engine::index::{write_sidecar, SegmentIndex};
use signal_ledger_engine::Snapshot;

use crate::error::Result;

/// A consistent view of a ledger (a [`Snapshot`]) and one [`SegmentIndex`] per segment.
#[derive(Debug)]
pub struct Catalog {
    snapshot: Snapshot,
    indexes: Vec<SegmentIndex>,
}

impl Catalog {
    /// Opens a snapshot of the ledger in `dir` and the index of each of its segments: a sealed
    /// segment's sidecar when it is sound, else built from the segment — and then written as
    /// its sidecar for the next reader (best effort: a read-only directory just means no
    /// sidecar). The active segment's index is built in memory.
    pub fn open(dir: &Path) -> Result<Catalog> {
        Catalog::from_snapshot(Snapshot::open(dir)?)
    }

    /// [`Catalog::open`] over a snapshot taken already.
    pub fn from_snapshot(snapshot: Snapshot) -> Result<Catalog> {
        let mut indexes = Vec::with_capacity(snapshot.segments().len());
        for (i, segment) in snapshot.segments().iter().enumerate() {
            let (index, from_sidecar) = snapshot.segment_index_from(i)?;
            if segment.trailer.is_some() && !from_sidecar {
                // Derived data: failing to keep it costs the next reader a rebuild, nothing more.
                let _ = write_sidecar(&segment.path, &index);
            }
            indexes.push(index);
        }
        Ok(Catalog { snapshot, indexes })
    }

    /// The snapshot.
    pub fn snapshot(&self) -> &Snapshot {
        &self.snapshot
    }

    /// The index of each segment, in the snapshot's segment order.
    pub fn indexes(&self) -> &[SegmentIndex] {
        &self.indexes
    }
}
