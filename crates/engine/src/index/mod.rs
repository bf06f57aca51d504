//! Per-segment indexes: derived data that lets queries read only the entries they need.
//!
//! A [`SegmentIndex`] holds, for every entry of one segment, its frame offset and the columns
//! queries filter on (timestamp, conviction, direction, signal_type, acted_upon, whether it has
//! an execution_id), dictionary ids of the low-cardinality text columns with a posting list per
//! value, the min/max timestamp of every block of [`TIME_BLOCK_LEN`] entries (producers' clocks
//! arrive out of order, so a block's range is what bounds it), and a sorted table of signal_id
//! hashes. A sealed segment's index is kept in a sidecar file (`<segment>.idx`, layout in
//! FORMAT.md, "Index sidecars (derived data)"), written by the first reader that builds it
//! ([`load_or_rebuild`]); the active segment's is built in memory.
//!
//! Indexes are never trusted for integrity: `verify` ignores them, a sidecar that is missing,
//! damaged, of another version or for other bytes is rebuilt from the segment, and a query
//! re-checks every entry it returns against the decoded record, so a lying index can hide rows
//! from a query but never make it return a wrong one.

mod build;
mod columns;
mod load;
mod sidecar;

pub use crate::files::{sidecar_path, SIDECAR_EXTENSION};
pub use build::IndexBuilder;
pub use columns::{
    DictColumn, DictKey, OutcomeRow, SegmentIndex, DICT_COLUMNS, NO_VALUE, ROW_OUTCOME, ROW_SIGNAL,
    TIME_BLOCK_LEN,
};
pub use load::{load_or_rebuild, SegmentSource};
pub(crate) use sidecar::SidecarHeader;
pub use sidecar::{INDEX_MAGIC, INDEX_VERSION};

/// FNV-1a, 64 bits, of a signal_id: the key of the index's id table (FORMAT.md gives the
/// constants, so an auditor's tools can use the table too).
pub fn id_hash(id: &str) -> u64 {
    id_hash_bytes(id.as_bytes())
}

/// [`id_hash`] of an id's bytes.
pub fn id_hash_bytes(id: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in id {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

use std::path::Path;

use crate::error::{CorruptKind, LedgerError, Result};
use crate::hash::Hash;
use crate::record::codec::{decode_signal, entry_kind, split_hashes, EntryKind};
use crate::record::frame::{frame_at, FrameAt};
use crate::record::outcome::decode_outcome;
use crate::segment::header::HEADER_LEN;

impl SegmentIndex {
    /// The sidecar bytes of this index (FORMAT.md, "Index sidecars (derived data)").
    pub fn to_sidecar(&self) -> Vec<u8> {
        sidecar::encode(self)
    }

    /// An index read back from sidecar bytes; the error says what is wrong with them.
    pub fn from_sidecar(bytes: &[u8]) -> std::result::Result<SegmentIndex, String> {
        sidecar::decode(bytes)
    }

    /// Builds the index of a segment file's bytes (`path` names it in errors): the entries
    /// from its header up to `records_end`, the first with seq `first_seq`, chained from
    /// `prev_hash` (the header's). Stops with the error of the first entry that cannot be read.
    pub fn build(
        path: &Path,
        bytes: &[u8],
        first_seq: u64,
        records_end: usize,
        prev_hash: Hash,
    ) -> Result<SegmentIndex> {
        let area = bytes.get(..records_end).unwrap_or(bytes);
        let mut builder = IndexBuilder::new();
        let mut last_row_hash = prev_hash;
        let mut at = HEADER_LEN;
        while at < area.len() {
            let seq = first_seq + builder.len() as u64;
            let corrupt = |kind| LedgerError::corrupt(path, at as u64, Some(seq), kind);
            let (body, next) = match frame_at(area, at) {
                FrameAt::Valid { body, next } => (body, next),
                _ => {
                    return Err(corrupt(CorruptKind::Malformed(
                        "no whole, valid frame where an entry should start".into(),
                    )))
                }
            };
            let offset = u32::try_from(at).unwrap_or(u32::MAX);
            match entry_kind(body).map_err(corrupt)? {
                EntryKind::Outcome => {
                    builder.push_outcome(offset, &decode_outcome(body).map_err(corrupt)?)
                }
                _ => builder.push(offset, &decode_signal(body).map_err(corrupt)?),
            }
            if let Some((_, _, row_hash)) = split_hashes(body) {
                last_row_hash = row_hash;
            }
            at = next;
        }
        Ok(builder.finish(first_seq, records_end as u64, last_row_hash))
    }
}

/// Writes `index` as the sidecar of the segment at `segment`: a temporary file of its own
/// (named for this process and a per-process counter), then a rename, so concurrent writers
/// of the same sidecar, in any processes or threads, never mix bytes.
pub fn write_sidecar(segment: &Path, index: &SegmentIndex) -> Result<()> {
    static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = sidecar_path(segment);
    let tmp = crate::files::process_temporary_path(&path, n);
    crate::atomic::replace_unsynced(&tmp, &path, &index.to_sidecar())
}

/// The index in the sidecar of `segment`, if there is one that is whole and matches what the
/// caller knows of the segment (first seq, covered bytes, last row hash); None otherwise (the
/// caller rebuilds).
pub fn read_sidecar(
    segment: &Path,
    first_seq: u64,
    records_end: u64,
    last_row_hash: Hash,
) -> Option<SegmentIndex> {
    let file = std::fs::File::open(sidecar_path(segment)).ok()?;
    // SAFETY: as in `read_sidecar_id_offsets`: sidecars are replaced by rename, never changed
    // in place. Mapped rather than read: decoding copies every section out anyway.
    let bytes = unsafe { memmap2::Mmap::map(&file) }.ok()?;
    let index = SegmentIndex::from_sidecar(&bytes).ok()?;
    (index.first_seq == first_seq
        && index.records_end == records_end
        && index.last_row_hash == last_row_hash)
        .then_some(index)
}

/// (signal_id hash, frame offset) of every entry of a sealed segment, from its sidecar's id and
/// offset sections only, if the sidecar is whole and is for `expected`; None otherwise (the
/// caller reads the segment).
pub(crate) fn read_sidecar_id_offsets(
    segment: &Path,
    expected: &SidecarHeader,
) -> Option<Vec<(u64, u32)>> {
    let file = std::fs::File::open(sidecar_path(segment)).ok()?;
    // SAFETY: sidecars are written once under a temporary name and renamed into place, never
    // changed afterwards; a truncation by a process outside the ledger could raise SIGBUS, the
    // risk every mapped reader of this directory accepts (segment/bytes.rs).
    let map = unsafe { memmap2::Mmap::map(&file) }.ok()?;
    sidecar::decode_id_offsets(&map, expected).ok()
}

/// The outcome rows of a sealed segment with their frame offsets, from its sidecar's kind,
/// outcome and offset sections only,
/// if the sidecar is whole and is for the segment (`first_seq`, `records_end`,
/// `last_row_hash`, `entry_count` entries); None otherwise (the caller builds the index).
pub fn read_sidecar_outcome_rows(
    segment: &Path,
    first_seq: u64,
    records_end: u64,
    last_row_hash: Hash,
    entry_count: u64,
) -> Option<Vec<(OutcomeRow, u32)>> {
    let file = std::fs::File::open(sidecar_path(segment)).ok()?;
    // SAFETY: as in `read_sidecar_id_offsets`.
    let map = unsafe { memmap2::Mmap::map(&file) }.ok()?;
    let expected = SidecarHeader {
        entry_count: usize::try_from(entry_count).ok()?,
        first_seq,
        records_end,
        last_row_hash,
    };
    sidecar::decode_outcome_rows(&map, &expected).ok()
}
