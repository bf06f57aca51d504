//! [`load_or_rebuild`]: a segment's index for a reader — a sealed segment's sidecar when it is
//! sound, else built from the segment's bytes and, for a sealed segment, written as its sidecar
//! so that the next reader need not build it again. The only place a read path writes a file
//! of the ledger directory, and only derived data.

use std::path::Path;

use super::{read_sidecar, write_sidecar, SegmentIndex};
use crate::error::Result;
use crate::hash::Hash;

/// What a reader knows of one segment whose index it wants (a snapshot's view of it).
#[derive(Debug, Clone, Copy)]
pub struct SegmentSource<'a> {
    /// The segment file: names it in errors; its sidecar lies beside it.
    pub path: &'a Path,
    /// Its bytes, header included.
    pub bytes: &'a [u8],
    /// Seq of its first entry.
    pub first_seq: u64,
    /// Offset just past its last entry.
    pub records_end: usize,
    /// Its header's prev_hash.
    pub prev_hash: Hash,
    /// Entries in it.
    pub entry_count: u64,
    /// The trailer's last row hash when the segment is sealed; None for the active segment.
    pub sealed_last_row_hash: Option<Hash>,
}

/// The index of `segment`: its sidecar when the segment is sealed and the sidecar is whole and
/// matches it, else built from its bytes. A built index of a sealed segment is then written as
/// its sidecar, best effort: the sidecar is derived data, so failing to keep it (a read-only
/// directory, say) costs the next reader a rebuild, nothing more. The active segment's index is
/// built in memory and never written.
pub fn load_or_rebuild(segment: &SegmentSource<'_>) -> Result<SegmentIndex> {
    let (index, from_sidecar) = load(segment)?;
    if segment.sealed_last_row_hash.is_some() && !from_sidecar {
        let _ = write_sidecar(segment.path, &index);
    }
    Ok(index)
}

/// The index of `segment` and whether it came from a sound sidecar (false: built).
fn load(segment: &SegmentSource<'_>) -> Result<(SegmentIndex, bool)> {
    if let Some(last_row_hash) = segment.sealed_last_row_hash {
        let sidecar = read_sidecar(
            segment.path,
            segment.first_seq,
            segment.records_end as u64,
            last_row_hash,
        );
        if let Some(index) = sidecar.filter(|ix| ix.len() as u64 == segment.entry_count) {
            return Ok((index, true));
        }
    }
    let built = SegmentIndex::build(
        segment.path,
        segment.bytes,
        segment.first_seq,
        segment.records_end,
        segment.prev_hash,
    )?;
    Ok((built, false))
}
