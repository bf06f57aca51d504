//! Walking a segment's frames: links checked, tail classified (FORMAT.md, "Recovery").
//!
//! The scan checks what is cheap — each frame's CRC, that seqs are dense and that each entry's
//! prev_hash is the row_hash stored in the entry before it — and classifies what ends the walk:
//!
//! | what ends the walk                                   | [`TailState`] |
//! |------------------------------------------------------|---------------|
//! | the end of the file at a frame boundary              | `Clean`       |
//! | a whole trailer agreeing with the records, at EOF    | `Clean` (sealed) |
//! | a partial frame, length past EOF, bad CRC or a partial or garbled trailer, with no valid frame after it | `Torn` |
//! | any of those followed by a valid frame, a valid frame with the wrong seq or link, an unknown kind, a trailer that disagrees or has bytes after it | `Damaged` |
//!
//! Row hashes are not recomputed here; that is `verify`'s job.

use std::path::Path;

use crate::error::{CorruptKind, Corruption};
use crate::hash::Hash;
use crate::le::u32_at;
use crate::record::codec::{entry_kind, entry_seq, signal_timestamp, split_hashes, EntryKind};
use crate::record::entry::check_kind_allowed;
use crate::record::frame::{frame_at, FrameAt, FRAME_BODY_LEN_MAX, FRAME_HEADER_LEN};
use crate::segment::header::HEADER_LEN;
use crate::segment::trailer::{SegmentTrailer, TRAILER_LEN};

/// Chain position while walking: what the next entry must carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainPosition {
    /// Seq the next entry must have.
    pub next_seq: u64,
    /// prev_hash the next entry must have.
    pub last_hash: Hash,
}

/// Summary of the entries walked in one segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordStats {
    /// Entries walked.
    pub record_count: u64,
    /// Smallest signal timestamp seen (i64::MAX if none).
    pub min_timestamp_ns: i64,
    /// Largest signal timestamp seen (i64::MIN if none).
    pub max_timestamp_ns: i64,
}

impl Default for RecordStats {
    fn default() -> Self {
        RecordStats {
            record_count: 0,
            min_timestamp_ns: i64::MAX,
            max_timestamp_ns: i64::MIN,
        }
    }
}

impl RecordStats {
    /// Accounts one entry whose signal timestamp is `ts` (None for other kinds).
    pub fn add(&mut self, ts: Option<i64>) {
        self.record_count += 1;
        if let Some(ts) = ts {
            self.min_timestamp_ns = self.min_timestamp_ns.min(ts);
            self.max_timestamp_ns = self.max_timestamp_ns.max(ts);
        }
    }
}

/// How the walk of a segment ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TailState {
    /// The records end cleanly (at EOF or at a valid trailer).
    Clean,
    /// A torn tail: from `offset` to EOF nothing is a whole valid frame, and nothing valid follows.
    Torn {
        /// Where the torn bytes start (= where the valid prefix ends).
        offset: u64,
        /// How many bytes follow the valid prefix.
        dropped_bytes: u64,
        /// What was found there.
        reason: String,
    },
    /// Damage that is not a torn tail; the valid prefix ends at `corruption.offset`.
    Damaged(Corruption),
}

/// The result of walking one segment.
#[derive(Debug, Clone)]
pub struct SegmentScan {
    /// Offset just past the last whole valid frame.
    pub records_end: usize,
    /// Offset of every whole valid frame.
    pub frame_offsets: Vec<u32>,
    /// Chain position after the last valid frame.
    pub position: ChainPosition,
    /// Counts and timestamp range of the valid frames.
    pub stats: RecordStats,
    /// The trailer, when the segment is sealed and its trailer agrees with the records.
    pub trailer: Option<SegmentTrailer>,
    /// How the walk ended.
    pub tail: TailState,
}

/// Walks the frames of `bytes` (a whole segment file, header included) from its first record,
/// starting from chain position `start`.
/// `format_version` is the segment header's: it decides which entry kinds may appear.
pub fn scan_segment(
    path: &Path,
    bytes: &[u8],
    start: ChainPosition,
    format_version: u16,
) -> SegmentScan {
    let mut scan = SegmentScan {
        records_end: HEADER_LEN,
        frame_offsets: Vec::new(),
        position: start,
        stats: RecordStats::default(),
        trailer: None,
        tail: TailState::Clean,
    };
    let damaged = |offset: usize, seq: Option<u64>, kind: CorruptKind| {
        TailState::Damaged(Corruption {
            file: path.to_path_buf(),
            offset: offset as u64,
            seq,
            kind,
        })
    };
    let mut offset = HEADER_LEN;
    loop {
        let expected_seq = scan.position.next_seq;
        match frame_at(bytes, offset) {
            FrameAt::End => break,
            FrameAt::Valid { body, next } => {
                if let Err(kind) = check_link(body, &scan.position, format_version) {
                    scan.tail = damaged(offset, Some(expected_seq), kind);
                    break;
                }
                let ts = match entry_kind(body) {
                    Ok(EntryKind::Signal) => signal_timestamp(body),
                    _ => None,
                };
                scan.stats.add(ts);
                scan.frame_offsets.push(offset as u32);
                if let Some((_, _, row)) = split_hashes(body) {
                    scan.position = ChainPosition {
                        next_seq: expected_seq + 1,
                        last_hash: row,
                    };
                }
                offset = next;
                scan.records_end = offset;
            }
            FrameAt::Trailer => {
                let rest = bytes.get(offset..).unwrap_or_default();
                match SegmentTrailer::decode(rest) {
                    Ok(t) if rest.len() == TRAILER_LEN => {
                        match trailer_agrees(&t, &scan, start.next_seq) {
                            Ok(()) => scan.trailer = Some(t),
                            Err(m) => {
                                scan.tail = damaged(offset, None, CorruptKind::TrailerMismatch(m));
                            }
                        }
                    }
                    Ok(_) => {
                        scan.tail = damaged(
                            offset,
                            None,
                            CorruptKind::TrailerMismatch("bytes follow the trailer".into()),
                        );
                    }
                    // A trailer cut short or garbled by a crash while sealing: the frames were
                    // synced before it was written, so dropping it loses no entry, and the
                    // segment becomes the active one again.
                    Err(kind) if rest.len() <= TRAILER_LEN => {
                        scan.tail = torn(offset, bytes.len(), &format!("damaged trailer: {kind}"));
                    }
                    Err(kind) => scan.tail = damaged(offset, None, kind),
                }
                break;
            }
            FrameAt::Incomplete => {
                scan.tail = match valid_frame_after(bytes, offset, expected_seq) {
                    Some(at) => damaged(
                        offset,
                        Some(expected_seq),
                        CorruptKind::DamageBeforeValidData {
                            valid_frame_at: at as u64,
                        },
                    ),
                    None => torn(offset, bytes.len(), "partial frame"),
                };
                break;
            }
            FrameAt::Bad(kind) => {
                scan.tail = match valid_frame_after(bytes, offset, expected_seq) {
                    Some(_) => damaged(offset, Some(expected_seq), kind),
                    None => torn(offset, bytes.len(), &kind.to_string()),
                };
                break;
            }
        }
    }
    scan
}

fn torn(offset: usize, len: usize, reason: &str) -> TailState {
    TailState::Torn {
        offset: offset as u64,
        dropped_bytes: (len - offset) as u64,
        reason: reason.to_owned(),
    }
}

/// Checks that a CRC-valid entry is the one that must come next, of a kind a segment of
/// `format_version` may hold.
pub fn check_link(
    body: &[u8],
    position: &ChainPosition,
    format_version: u16,
) -> Result<(), CorruptKind> {
    check_kind_allowed(entry_kind(body)?, format_version)?;
    let (_, prev, _) = split_hashes(body)
        .ok_or_else(|| CorruptKind::Malformed(format!("body of {} bytes", body.len())))?;
    let seq = entry_seq(body).unwrap_or(u64::MAX);
    if seq != position.next_seq {
        return Err(CorruptKind::SeqGap {
            expected: position.next_seq,
            found: seq,
        });
    }
    if prev != position.last_hash {
        return Err(CorruptKind::ChainBreak {
            expected: position.last_hash,
            found: prev,
        });
    }
    Ok(())
}

fn trailer_agrees(t: &SegmentTrailer, scan: &SegmentScan, first_seq: u64) -> Result<(), String> {
    let s = &scan.stats;
    if t.record_count != s.record_count || t.first_seq != first_seq {
        return Err(format!(
            "trailer says {} entries from seq {}, the segment holds {} from seq {first_seq}",
            t.record_count, t.first_seq, s.record_count
        ));
    }
    if t.last_seq + 1 != scan.position.next_seq || t.last_row_hash != scan.position.last_hash {
        return Err("trailer's last seq or row hash is not the last entry's".into());
    }
    if t.min_timestamp_ns != s.min_timestamp_ns || t.max_timestamp_ns != s.max_timestamp_ns {
        return Err("trailer's timestamp range is not the entries'".into());
    }
    Ok(())
}

/// Offset of a whole, CRC-valid frame after `from` whose seq is at least `min_seq`, if any.
///
/// Used to tell a torn tail (nothing valid after the damage) from damage in the middle. Cost is
/// proportional to the bytes after `from`. A candidate must have a plausible length, a known
/// kind, a seq not below `min_seq` and a matching CRC32, so random bytes of a torn write pass
/// with negligible probability.
pub(crate) fn valid_frame_after(bytes: &[u8], from: usize, min_seq: u64) -> Option<usize> {
    let last_start = bytes.len().checked_sub(FRAME_HEADER_LEN)?;
    (from + 1..=last_start).find(|&at| {
        let Some(len) = u32_at(bytes, at) else {
            return false;
        };
        let len = len as usize;
        if len > FRAME_BODY_LEN_MAX || at + FRAME_HEADER_LEN + len > bytes.len() {
            return false;
        }
        let Some(body) = bytes.get(at + FRAME_HEADER_LEN..at + FRAME_HEADER_LEN + len) else {
            return false;
        };
        let plausible = entry_kind(body).is_ok() && entry_seq(body).is_some_and(|s| s >= min_seq);
        plausible && matches!(frame_at(bytes, at), FrameAt::Valid { .. })
    })
}
