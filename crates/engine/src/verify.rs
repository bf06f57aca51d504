//! Integrity verification: recompute every row hash, check every CRC and link, in parallel.
//!
//! Each entry carries its own prev_hash, so entries can be checked independently: the record
//! areas are cut into chunks, every chunk is checked on its own core (CRC, layout, row hash, the
//! links inside the chunk), and the links between chunks, segment headers and trailers are then
//! joined in order. The first failure reported is the one with the lowest seq, exactly as a
//! sequential pass would report it.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use rayon::prelude::*;

use crate::error::{CorruptKind, Corruption};
use crate::hash::{row_hash, Hash};
use crate::le::u32_at;
use crate::record::codec::{entry_kind, entry_seq, split_hashes, EntryKind};
use crate::record::entry::{decode_entry, EntryView};
use crate::record::frame::{frame_at, FrameAt, FRAME_HEADER_LEN};
use crate::segment::header::HEADER_LEN;
use crate::segment::scan::RecordStats;
use crate::snapshot::{Snapshot, SnapshotSegment, TornTail};

mod links;
pub(crate) mod verdict;

use links::{check_outcome_links, OutcomeLink};
pub use verdict::{verify_ledger, NotRecorded, Verdict, VerifyRequest};

/// What to verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct VerifyOptions {
    /// First seq to check (default: the first held).
    pub from_seq: Option<u64>,
    /// Last seq to check, inclusive (default: the head).
    pub to_seq: Option<u64>,
    /// Check on one thread (for comparison and tests).
    pub sequential: bool,
}

impl VerifyOptions {
    /// The seqs these options select in `snapshot`: `from_seq..=to_seq` within what it holds.
    pub fn seq_range(&self, snapshot: &Snapshot) -> std::ops::Range<u64> {
        let held_from = snapshot.first_seq();
        let from = self.from_seq.unwrap_or(held_from).max(held_from);
        let to_exclusive = self.to_seq.map_or(snapshot.next_seq(), |t| {
            t.saturating_add(1).min(snapshot.next_seq())
        });
        from..to_exclusive
    }
}

/// The outcome of a verification.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifyReport {
    /// Entries whose CRC, layout and row hash were checked.
    pub records_checked: u64,
    /// First seq checked.
    pub from_seq: u64,
    /// Seq of the ledger's last entry, if any.
    pub head_seq: Option<u64>,
    /// Row hash of the ledger's last entry (as stored), if any.
    pub head_hash: Option<Hash>,
    /// The first failure, in seq order.
    pub first_failure: Option<Corruption>,
    /// Bytes after the last whole entry of the active segment that are not a whole valid entry:
    /// a write cut short by a crash (never acknowledged), which the writer removes when it next
    /// opens. Not a failure, but reported: it could also be the last entry damaged.
    pub torn_tail: Option<TornTail>,
    /// Wall time spent.
    pub elapsed: Duration,
}

impl VerifyReport {
    /// Whether nothing was wrong.
    pub fn is_intact(&self) -> bool {
        self.first_failure.is_none()
    }
}

/// Entries per parallel work unit.
const CHUNK_RECORDS: usize = 4096;

/// A run of consecutive frames in one segment.
struct Chunk {
    segment: usize,
    first_seq: u64,
    offsets: Vec<usize>,
}

/// What checking one chunk found.
struct ChunkResult {
    first_prev: Option<Hash>,
    last_row: Option<Hash>,
    checked: u64,
    stats: RecordStats,
    failure: Option<Corruption>,
    /// The outcomes of the chunk, whose signals are checked once every chunk is.
    outcome_links: Vec<OutcomeLink>,
}

/// Verifies the entries of `snapshot` selected by `options`.
pub fn verify(snapshot: &Snapshot, options: VerifyOptions) -> VerifyReport {
    verify_with_progress(snapshot, options, &|_| {})
}

/// [`verify`], calling `progress` with the number of entries each finished work unit checked
/// (from any thread), for progress bars.
pub fn verify_with_progress(
    snapshot: &Snapshot,
    options: VerifyOptions,
    progress: &(dyn Fn(u64) + Sync),
) -> VerifyReport {
    let started = Instant::now();
    let held_from = snapshot.first_seq();
    let std::ops::Range {
        start: from,
        end: to_exclusive,
    } = options.seq_range(snapshot);
    let mut failures: Vec<Corruption> = Vec::new();

    // Cut the record areas into chunks: segments in parallel, each by hopping over frame lengths
    // (the active segment's frame offsets are already known from opening the snapshot).
    let cut = |(index, seg): (usize, &SnapshotSegment)| cut_segment(index, seg, from, to_exclusive);
    let cuts: Vec<(Vec<Chunk>, Option<Corruption>)> = if options.sequential {
        snapshot.segments().iter().enumerate().map(cut).collect()
    } else {
        snapshot
            .segments()
            .par_iter()
            .enumerate()
            .map(cut)
            .collect()
    };
    // Segments with damage of their own: their trailers are not compared (the damage is the
    // failure to report, not the disagreement it causes).
    let mut seg_damaged = vec![false; snapshot.segments().len()];
    let mut chunks = Vec::new();
    for ((mut seg_chunks, failure), damaged) in cuts.into_iter().zip(seg_damaged.iter_mut()) {
        chunks.append(&mut seg_chunks);
        *damaged = failure.is_some();
        failures.extend(failure);
    }

    let check = |chunk: &Chunk| {
        let result = check_chunk(snapshot, chunk);
        progress(chunk.offsets.len() as u64);
        result
    };
    let mut results: Vec<ChunkResult> = if options.sequential {
        chunks.iter().map(check).collect()
    } else {
        chunks.par_iter().map(check).collect()
    };

    // Join: links between chunks, segment headers and trailers.
    let mut checked = 0u64;
    let mut expected_prev: Option<Hash> = None;
    if from > held_from {
        expected_prev = snapshot.row_hash_at(from - 1).ok().flatten();
    }
    let mut seg_stats: Vec<RecordStats> = vec![RecordStats::default(); snapshot.segments().len()];
    let mut seg_last_row: Vec<Option<Hash>> = vec![None; snapshot.segments().len()];
    for (chunk, result) in chunks.iter().zip(&results) {
        checked += result.checked;
        let Some(seg) = snapshot.segments().get(chunk.segment) else {
            continue;
        };
        let failures_before = failures.len();
        if let Some(f) = &result.failure {
            failures.push(f.clone());
        }
        if chunk.first_seq == seg.first_seq() {
            if let Some(expected) = expected_prev.filter(|e| *e != seg.header.prev_hash) {
                failures.push(Corruption {
                    file: seg.path.clone(),
                    offset: 0,
                    seq: Some(chunk.first_seq),
                    kind: CorruptKind::HeaderMismatch(format!(
                        "header prev_hash {} is not the previous segment's last row_hash {expected}",
                        seg.header.prev_hash
                    )),
                });
            }
            expected_prev = Some(seg.header.prev_hash);
        }
        if let (Some(expected), Some(found)) = (expected_prev, result.first_prev) {
            if expected != found {
                failures.push(Corruption {
                    file: seg.path.clone(),
                    offset: chunk.offsets.first().copied().unwrap_or(0) as u64,
                    seq: Some(chunk.first_seq),
                    kind: CorruptKind::ChainBreak { expected, found },
                });
            }
        }
        if failures.len() > failures_before {
            if let Some(d) = seg_damaged.get_mut(chunk.segment) {
                *d = true;
            }
        }
        expected_prev = result.last_row;
        if let Some(last) = seg_last_row.get_mut(chunk.segment) {
            *last = result.last_row;
        }
        if let Some(s) = seg_stats.get_mut(chunk.segment) {
            s.record_count += result.stats.record_count;
            s.min_timestamp_ns = s.min_timestamp_ns.min(result.stats.min_timestamp_ns);
            s.max_timestamp_ns = s.max_timestamp_ns.max(result.stats.max_timestamp_ns);
        }
    }
    // Each outcome must name a signal entry with its signal_id, where that entry is held.
    let links: Vec<OutcomeLink> = results
        .iter_mut()
        .flat_map(|r| std::mem::take(&mut r.outcome_links))
        .collect();
    failures.extend(check_outcome_links(snapshot, links));
    // A sealed segment checked whole, and intact entry by entry, must agree with its trailer.
    let whole_range = from <= held_from && to_exclusive >= snapshot.next_seq();
    if whole_range {
        for (((seg, stats), last_row), damaged) in snapshot
            .segments()
            .iter()
            .zip(&seg_stats)
            .zip(&seg_last_row)
            .zip(&seg_damaged)
        {
            let Some(t) = seg.trailer.as_ref().filter(|_| !damaged) else {
                continue;
            };
            let agrees = t.record_count == stats.record_count
                && *last_row == Some(t.last_row_hash)
                && t.min_timestamp_ns == stats.min_timestamp_ns
                && t.max_timestamp_ns == stats.max_timestamp_ns;
            if !agrees {
                failures.push(Corruption {
                    file: seg.path.clone(),
                    offset: seg.records_end as u64,
                    seq: Some(t.first_seq),
                    kind: CorruptKind::TrailerMismatch(
                        "trailer's count, last row_hash or timestamp range disagrees with the entries".into(),
                    ),
                });
            }
        }
    }
    // Damage found when the snapshot was opened, when it lies in the range asked for.
    if let Some(d) = snapshot.damage() {
        let requested_end = options.to_seq.map_or(u64::MAX, |t| t.saturating_add(1));
        if d.seq.is_none_or(|s| s >= from && s < requested_end) {
            failures.push(d.clone());
        }
    }
    let first_failure = failures
        .into_iter()
        .min_by_key(|c| (c.seq.unwrap_or(u64::MAX), c.file.clone(), c.offset));
    let head = snapshot.head();
    VerifyReport {
        records_checked: checked,
        from_seq: from,
        head_seq: head.map(|h| h.seq),
        head_hash: head.map(|h| h.row_hash),
        first_failure,
        torn_tail: snapshot.torn_tail().cloned(),
        elapsed: started.elapsed(),
    }
}

/// The chunks of one segment's entries within `[from, to_exclusive)`, and a failure if the
/// frame lengths do not tile the record area exactly (bytes inserted before a trailer, or a
/// length running past the area; the frame at fault is also put in a chunk, whose check
/// reports it precisely).
fn cut_segment(
    index: usize,
    seg: &SnapshotSegment,
    from: u64,
    to_exclusive: u64,
) -> (Vec<Chunk>, Option<Corruption>) {
    let seg_end = seg.first_seq() + seg.record_count;
    let mut chunks = Vec::new();
    if seg_end <= from || seg.first_seq() >= to_exclusive {
        return (chunks, None);
    }
    let area = seg.bytes.get(..seg.records_end).unwrap_or_default();
    let mut current = Chunk {
        segment: index,
        first_seq: from.max(seg.first_seq()),
        offsets: Vec::new(),
    };
    let mut push = |seq: u64, offset: usize, chunks: &mut Vec<Chunk>| {
        if current.offsets.is_empty() {
            current.first_seq = seq;
        }
        current.offsets.push(offset);
        if current.offsets.len() == CHUNK_RECORDS {
            chunks.push(std::mem::replace(
                &mut current,
                Chunk {
                    segment: index,
                    first_seq: seq + 1,
                    offsets: Vec::new(),
                },
            ));
        }
    };
    let mut failure = None;
    if let Some(known) = &seg.frame_offsets {
        for (i, &offset) in known.iter().enumerate() {
            let seq = seg.first_seq() + i as u64;
            if seq >= to_exclusive {
                break;
            }
            if seq >= from {
                push(seq, offset as usize, &mut chunks);
            }
        }
    } else {
        let mut offset = HEADER_LEN;
        let mut seq = seg.first_seq();
        while seq < seg_end.min(to_exclusive) {
            let len = u32_at(area, offset).unwrap_or(u32::MAX) as usize;
            let next = offset
                .checked_add(FRAME_HEADER_LEN + len)
                .filter(|&n| n <= area.len());
            if seq >= from || next.is_none() {
                push(seq, offset, &mut chunks);
            }
            match next {
                Some(n) => offset = n,
                None => break,
            }
            seq += 1;
        }
        if seq == seg_end && offset != area.len() {
            failure = Some(Corruption {
                file: seg.path.clone(),
                offset: offset as u64,
                seq: Some(seg_end),
                kind: CorruptKind::TrailerMismatch(format!(
                    "{} bytes between the last entry the trailer counts and the trailer",
                    area.len().saturating_sub(offset)
                )),
            });
        }
    }
    if !current.offsets.is_empty() {
        chunks.push(current);
    }
    (chunks, failure)
}

fn check_chunk(snapshot: &Snapshot, chunk: &Chunk) -> ChunkResult {
    let mut result = ChunkResult {
        first_prev: None,
        last_row: None,
        checked: 0,
        stats: RecordStats::default(),
        failure: None,
        outcome_links: Vec::new(),
    };
    let Some(seg) = snapshot.segments().get(chunk.segment) else {
        return result;
    };
    let path: PathBuf = seg.path.clone();
    let area = seg.bytes.get(..seg.records_end).unwrap_or_default();
    let fail = |offset: usize, seq: u64, kind: CorruptKind| Corruption {
        file: path.clone(),
        offset: offset as u64,
        seq: Some(seq),
        kind,
    };
    for (i, &offset) in chunk.offsets.iter().enumerate() {
        let seq = chunk.first_seq + i as u64;
        let body = match frame_at(area, offset) {
            FrameAt::Valid { body, .. } => body,
            FrameAt::Bad(kind) => {
                result.failure = Some(fail(offset, seq, kind));
                return result;
            }
            _ => {
                let len = area.len().saturating_sub(offset) as u64;
                result.failure = Some(fail(offset, seq, CorruptKind::LengthOutOfRange { len }));
                return result;
            }
        };
        match check_entry(body, seq, result.last_row, seg.header.format_version) {
            Err(kind) => {
                result.failure = Some(fail(offset, seq, kind));
                return result;
            }
            Ok(Some((signal_seq, signal_id))) => result.outcome_links.push(OutcomeLink {
                seq,
                segment: chunk.segment,
                offset,
                signal_seq,
                signal_id,
            }),
            Ok(None) => {}
        }
        let Some((content, prev, stored)) = split_hashes(body) else {
            return result;
        };
        let ts = match entry_kind(body) {
            Ok(EntryKind::Signal) => crate::record::codec::signal_timestamp(body),
            _ => None,
        };
        let computed = row_hash(&prev, content);
        if computed != stored {
            result.failure = Some(fail(
                offset,
                seq,
                CorruptKind::RowHashMismatch { stored, computed },
            ));
            return result;
        }
        if i == 0 {
            result.first_prev = Some(prev);
        }
        result.last_row = Some(stored);
        result.checked += 1;
        result.stats.add(ts);
    }
    result
}

/// Layout, seq and in-chunk link of one CRC-valid entry of a segment of `format_version`;
/// for an outcome, the seq and signal_id of the signal it names.
fn check_entry(
    body: &[u8],
    seq: u64,
    prev_in_chunk: Option<Hash>,
    format_version: u16,
) -> Result<Option<(u64, String)>, CorruptKind> {
    let link = match decode_entry(body, format_version)? {
        EntryView::Signal(_) => None,
        EntryView::Outcome(o) => Some((o.signal_seq, o.signal_id.to_owned())),
    };
    let found = entry_seq(body).unwrap_or(u64::MAX);
    if found != seq {
        return Err(CorruptKind::SeqGap {
            expected: seq,
            found,
        });
    }
    if let (Some(expected), Some((_, found, _))) = (prev_in_chunk, split_hashes(body)) {
        if expected != found {
            return Err(CorruptKind::ChainBreak { expected, found });
        }
    }
    Ok(link)
}
