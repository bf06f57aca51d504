//! `Snapshot`: a reader's consistent view of a ledger — every entry up to the moment it was
//! opened, never a partial one.
//!
//! Any number of snapshots may be open, in the writer's process or others, while the writer
//! appends. Sealed segments are mapped; the active one is copied (segment::bytes explains why).
//! A snapshot never changes the directory: a torn tail is simply not part of it.

use std::path::{Path, PathBuf};

use crate::error::{Corruption, LedgerError, Result};
use crate::files::CONFIG_FILE;
use crate::hash::Hash;
use crate::index::{self, SegmentIndex};
use crate::layout::{read_layout, Head, TailAccess};
use crate::le::u32_at;
use crate::record::codec::{decode_signal, entry_kind, entry_seq, EntryKind, SignalView};
use crate::record::entry::{decode_entry, EntryRecord, EntryView};
use crate::record::frame::{frame_at, FrameAt, FRAME_HEADER_LEN};
use crate::record::outcome::{decode_outcome, OutcomeView};
use crate::record::SignalRecord;
use crate::segment::header::FORMAT_VERSION;
use crate::segment::header::{SegmentHeader, HEADER_LEN};
use crate::segment::scan::TailState;
use crate::segment::{SegmentBytes, SegmentTrailer};

/// One segment of a snapshot.
#[derive(Debug)]
pub struct SnapshotSegment {
    /// The segment file.
    pub path: PathBuf,
    /// Its header.
    pub header: SegmentHeader,
    /// Its trailer, when sealed.
    pub trailer: Option<SegmentTrailer>,
    /// Its bytes (header included).
    pub bytes: SegmentBytes,
    /// Offset just past its last entry in this snapshot.
    pub records_end: usize,
    /// Entries in this snapshot.
    pub record_count: u64,
    /// Smallest signal timestamp (i64::MAX if none).
    pub min_timestamp_ns: i64,
    /// Largest signal timestamp (i64::MIN if none).
    pub max_timestamp_ns: i64,
    /// Offset of every frame, when known without a walk (the active segment, walked at open).
    pub frame_offsets: Option<Vec<u32>>,
}

impl SnapshotSegment {
    /// Seq of the first entry.
    pub fn first_seq(&self) -> u64 {
        self.header.first_seq
    }

    /// The record area: the frames, without header or trailer.
    pub fn record_area(&self) -> &[u8] {
        self.bytes
            .get(HEADER_LEN..self.records_end)
            .unwrap_or_default()
    }
}

/// A torn tail a reader saw (and skipped) in the active segment. Its JSON form is
/// `{"file","offset","bytes"}`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TornTail {
    /// The segment.
    #[serde(rename = "file", serialize_with = "crate::error::serialize_path")]
    pub path: PathBuf,
    /// Where the torn bytes start.
    pub offset: u64,
    /// How many bytes.
    pub bytes: u64,
}

/// One entry as stored.
#[derive(Debug, Clone, Copy)]
pub struct EntryRef<'a> {
    /// Its seq.
    pub seq: u64,
    /// Index of its segment in [`Snapshot::segments`].
    pub segment: usize,
    /// Byte offset of its frame in the segment file.
    pub offset: usize,
    /// The body bytes.
    pub body: &'a [u8],
}

/// A consistent, read-only view of a ledger.
#[derive(Debug)]
pub struct Snapshot {
    dir: PathBuf,
    segments: Vec<SnapshotSegment>,
    damage: Option<Corruption>,
    torn_tail: Option<TornTail>,
}

impl Snapshot {
    /// Opens a view of the ledger in `dir`. Damage does not fail the open: the snapshot holds
    /// the intact prefix and reports the damage in [`Snapshot::damage`].
    pub fn open(dir: &Path) -> Result<Snapshot> {
        if !dir.join(CONFIG_FILE).exists() {
            return Err(LedgerError::NotALedger {
                path: dir.to_path_buf(),
            });
        }
        // Retention may delete the oldest segments between the listing and the opening of a
        // file: the listing is then stale, and taken again (a few times at most).
        let mut attempts = 0;
        loop {
            match Self::open_listed(dir) {
                Err(LedgerError::Io { source, .. })
                    if source.kind() == std::io::ErrorKind::NotFound && attempts < 3 =>
                {
                    attempts += 1;
                }
                other => return other,
            }
        }
    }

    /// [`Snapshot::open`] of the segments as listed now.
    fn open_listed(dir: &Path) -> Result<Snapshot> {
        let layout = read_layout(dir, TailAccess::Copy)?;
        let mut segments = Vec::with_capacity(layout.sealed.len() + 1);
        for s in layout.sealed {
            let bytes = SegmentBytes::map_sealed(&s.path)?;
            segments.push(SnapshotSegment {
                records_end: s.records_end as usize,
                record_count: s.trailer.record_count,
                min_timestamp_ns: s.trailer.min_timestamp_ns,
                max_timestamp_ns: s.trailer.max_timestamp_ns,
                path: s.path,
                header: s.header,
                trailer: Some(s.trailer),
                bytes,
                frame_offsets: None,
            });
        }
        let mut damage = layout.damage;
        let mut torn_tail = None;
        if let Some(tail) = layout.tail {
            match tail.scan.tail {
                TailState::Clean => {}
                TailState::Torn {
                    offset,
                    dropped_bytes,
                    ..
                } => {
                    torn_tail = Some(TornTail {
                        path: tail.path.clone(),
                        offset,
                        bytes: dropped_bytes,
                    })
                }
                TailState::Damaged(c) => damage = damage.or(Some(c)),
            }
            segments.push(SnapshotSegment {
                path: tail.path,
                header: tail.header,
                trailer: tail.scan.trailer,
                bytes: tail.bytes,
                records_end: tail.scan.records_end,
                record_count: tail.scan.stats.record_count,
                min_timestamp_ns: tail.scan.stats.min_timestamp_ns,
                max_timestamp_ns: tail.scan.stats.max_timestamp_ns,
                frame_offsets: Some(tail.scan.frame_offsets),
            });
        }
        Ok(Snapshot {
            dir: dir.to_path_buf(),
            segments,
            damage,
            torn_tail,
        })
    }

    /// The ledger directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Segments, oldest first.
    pub fn segments(&self) -> &[SnapshotSegment] {
        &self.segments
    }

    /// Damage found while opening (in headers, trailers, joins, or the active segment).
    pub fn damage(&self) -> Option<&Corruption> {
        self.damage.as_ref()
    }

    /// A torn tail seen in the active segment (the writer removes it when it next opens).
    pub fn torn_tail(&self) -> Option<&TornTail> {
        self.torn_tail.as_ref()
    }

    /// Seq of the first entry held.
    pub fn first_seq(&self) -> u64 {
        self.segments.first().map_or(0, |s| s.first_seq())
    }

    /// Seq one past the last entry.
    pub fn next_seq(&self) -> u64 {
        self.segments
            .last()
            .map_or(0, |s| s.first_seq() + s.record_count)
    }

    /// Entries held.
    pub fn record_count(&self) -> u64 {
        self.segments.iter().map(|s| s.record_count).sum()
    }

    /// Bytes of all segment files in the snapshot.
    pub fn bytes_total(&self) -> u64 {
        self.segments.iter().map(|s| s.bytes.len() as u64).sum()
    }

    /// The index of segment `i` (in [`Snapshot::segments`] order): a sealed segment's sidecar
    /// when it is whole and matches the segment, else built from the segment's bytes (as the
    /// active segment's always is). Never trusted for integrity; see [`crate::index`].
    pub fn segment_index(&self, i: usize) -> Result<SegmentIndex> {
        self.segment_index_from(i).map(|(index, _)| index)
    }

    /// [`Snapshot::segment_index`], and whether it came from a sound sidecar (false: built).
    pub fn segment_index_from(&self, i: usize) -> Result<(SegmentIndex, bool)> {
        let Some(segment) = self.segments.get(i) else {
            return Err(LedgerError::NotFound(format!(
                "segment {i} of the snapshot"
            )));
        };
        if let Some(trailer) = &segment.trailer {
            let sidecar = index::read_sidecar(
                &segment.path,
                segment.first_seq(),
                segment.records_end as u64,
                trailer.last_row_hash,
            );
            if let Some(index) = sidecar.filter(|ix| ix.len() as u64 == segment.record_count) {
                return Ok((index, true));
            }
        }
        let built = SegmentIndex::build(
            &segment.path,
            &segment.bytes,
            segment.first_seq(),
            segment.records_end,
            segment.header.prev_hash,
        )?;
        Ok((built, false))
    }

    /// Smallest and largest signal timestamp, if any signal is held.
    pub fn timestamp_range(&self) -> Option<(i64, i64)> {
        let min = self.segments.iter().map(|s| s.min_timestamp_ns).min()?;
        let max = self.segments.iter().map(|s| s.max_timestamp_ns).max()?;
        (min <= max).then_some((min, max))
    }

    /// The last entry, as its stored seq and row hash (from the trailer when the last entry is
    /// in a sealed segment).
    pub fn head(&self) -> Option<Head> {
        let seg = self.segments.iter().rev().find(|s| s.record_count > 0)?;
        if let Some(t) = &seg.trailer {
            // A sealed segment's trailer names its last entry (CRC-checked; verify checks that
            // it agrees with the entries), which saves walking the segment to its end.
            return Some(Head {
                seq: t.last_seq,
                row_hash: t.last_row_hash,
            });
        }
        let seq = seg.first_seq() + seg.record_count - 1;
        let entry = self.entries_from(seq).next()?.ok()?;
        let (_, _, row_hash) = crate::record::codec::split_hashes(entry.body)?;
        Some(Head { seq, row_hash })
    }

    /// Entries from `seq` on, in seq order; each frame's CRC is checked as it is read.
    pub fn entries_from(&self, seq: u64) -> Entries<'_> {
        let segment = self
            .segments
            .partition_point(|s| s.first_seq() + s.record_count <= seq);
        let mut it = Entries {
            snapshot: self,
            segment,
            offset: HEADER_LEN,
            seq: self.segments.get(segment).map_or(seq, |s| s.first_seq()),
            failed: false,
        };
        // Jump to `seq` by the known frame offsets, or hop over the frames before it by their
        // lengths; CRCs are checked from `seq` on.
        if let Some(s) = self.segments.get(segment) {
            if let Some(known) = &s.frame_offsets {
                let index = seq.saturating_sub(s.first_seq());
                if let Some(&offset) = usize::try_from(index).ok().and_then(|i| known.get(i)) {
                    it.offset = offset as usize;
                    it.seq = s.first_seq() + index;
                    return it;
                }
            }
            while it.seq < seq && it.offset < s.records_end {
                let len = u32_at(&s.bytes, it.offset).unwrap_or(0) as usize;
                if len == 0 {
                    break;
                }
                it.offset += FRAME_HEADER_LEN + len;
                it.seq += 1;
            }
        }
        it
    }

    /// All entries, in seq order.
    pub fn entries(&self) -> Entries<'_> {
        self.entries_from(self.first_seq())
    }

    /// The signal at `seq`, if held (None if that entry is not a signal).
    pub fn get(&self, seq: u64) -> Result<Option<SignalRecord>> {
        Ok(match self.entry_record(seq)? {
            Some(EntryRecord::Signal(s)) => Some(s),
            _ => None,
        })
    }

    /// The entry at `seq`, of any kind, if held.
    pub fn entry_record(&self, seq: u64) -> Result<Option<EntryRecord>> {
        if seq < self.first_seq() || seq >= self.next_seq() {
            return Ok(None);
        }
        match self.entries_from(seq).next() {
            Some(entry) => self.decode_entry(&entry?).map(|v| Some(v.to_record())),
            None => Ok(None),
        }
    }

    /// Decodes an entry of any kind in place, by the rules of its segment's format version.
    pub fn decode_entry<'a>(&self, entry: &EntryRef<'a>) -> Result<EntryView<'a>> {
        let version = self
            .segments
            .get(entry.segment)
            .map_or(FORMAT_VERSION, |s| s.header.format_version);
        decode_entry(entry.body, version).map_err(|kind| self.corrupt(entry, kind))
    }

    /// The outcome entry whose frame an index places at `offset` of segment `segment` with
    /// `seq`: None if no whole, CRC-valid outcome frame of that seq starts there.
    pub fn outcome_at(
        &self,
        segment: usize,
        offset: usize,
        seq: u64,
    ) -> Result<Option<OutcomeView<'_>>> {
        let Some(entry) = self.entry_at(segment, offset, seq, EntryKind::Outcome) else {
            return Ok(None);
        };
        decode_outcome(entry.body)
            .map(Some)
            .map_err(|kind| self.corrupt(&entry, kind))
    }

    /// The whole, CRC-valid frame of kind `kind` and seq `seq` at `offset` of segment
    /// `segment`, if there is one (an index that placed it wrongly finds none).
    fn entry_at(
        &self,
        segment: usize,
        offset: usize,
        seq: u64,
        kind: EntryKind,
    ) -> Option<EntryRef<'_>> {
        let s = self.segments.get(segment)?;
        let area = s.bytes.get(..s.records_end).unwrap_or_default();
        let FrameAt::Valid { body, .. } = frame_at(area, offset) else {
            return None;
        };
        (entry_seq(body) == Some(seq) && entry_kind(body) == Ok(kind)).then_some(EntryRef {
            seq,
            segment,
            offset,
            body,
        })
    }

    /// The signal with `seq` whose frame an index places at `offset` in segment `segment`:
    /// None if no whole, CRC-valid frame of that seq starts there (the index was wrong).
    pub fn record_at(
        &self,
        segment: usize,
        offset: usize,
        seq: u64,
    ) -> Result<Option<SignalRecord>> {
        Ok(self.view_at(segment, offset, seq)?.map(|v| v.to_record()))
    }

    /// [`Snapshot::record_at`] decoded in place, without copying its strings.
    pub fn view_at(
        &self,
        segment: usize,
        offset: usize,
        seq: u64,
    ) -> Result<Option<SignalView<'_>>> {
        let Some(entry) = self.entry_at(segment, offset, seq, EntryKind::Signal) else {
            return Ok(None);
        };
        decode_signal(entry.body)
            .map(Some)
            .map_err(|kind| self.corrupt(&entry, kind))
    }

    /// The signal with `signal_id`, if held (a scan; indexes arrive with the query crate).
    pub fn find_signal_id(&self, signal_id: &str) -> Result<Option<SignalRecord>> {
        for entry in self.entries() {
            let entry = entry?;
            if entry_kind(entry.body) != Ok(EntryKind::Signal) {
                continue;
            }
            let view = decode_signal(entry.body).map_err(|kind| self.corrupt(&entry, kind))?;
            if view.signal_id == signal_id {
                return Ok(Some(view.to_record()));
            }
        }
        Ok(None)
    }

    /// The last `n` entries (signals and outcomes), oldest first.
    pub fn tail(&self, n: u64) -> Result<Vec<EntryRecord>> {
        let from = self.next_seq().saturating_sub(n).max(self.first_seq());
        self.entries_from(from)
            .map(|e| e.and_then(|e| self.decode_entry(&e).map(|v| v.to_record())))
            .collect()
    }

    /// Decodes a signal entry into an owned record (an entry of another kind is an error;
    /// [`Snapshot::decode_entry`] decodes any).
    pub fn decode_record(&self, entry: &EntryRef<'_>) -> Result<SignalRecord> {
        decode_signal(entry.body)
            .map(|v| v.to_record())
            .map_err(|kind| self.corrupt(entry, kind))
    }

    fn corrupt(&self, entry: &EntryRef<'_>, kind: crate::error::CorruptKind) -> LedgerError {
        LedgerError::corrupt(
            self.segments
                .get(entry.segment)
                .map(|s| s.path.clone())
                .unwrap_or_default(),
            entry.offset as u64,
            Some(entry.seq),
            kind,
        )
    }

    /// The row hash stored in the entry at `seq`.
    pub fn row_hash_at(&self, seq: u64) -> Result<Option<Hash>> {
        match self.entries_from(seq).next() {
            Some(e) => {
                let e = e?;
                Ok(crate::record::codec::split_hashes(e.body).map(|(_, _, h)| h))
            }
            None => Ok(None),
        }
    }
}

/// Iterator over entries, in seq order.
#[derive(Debug)]
pub struct Entries<'a> {
    snapshot: &'a Snapshot,
    segment: usize,
    offset: usize,
    seq: u64,
    failed: bool,
}

impl<'a> Iterator for Entries<'a> {
    type Item = Result<EntryRef<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        loop {
            let seg = self.snapshot.segments.get(self.segment)?;
            if self.offset >= seg.records_end {
                self.segment += 1;
                self.offset = HEADER_LEN;
                if let Some(next) = self.snapshot.segments.get(self.segment) {
                    self.seq = next.first_seq();
                }
                continue;
            }
            let area = seg.bytes.get(..seg.records_end).unwrap_or_default();
            let kind = match frame_at(area, self.offset) {
                FrameAt::Valid { body, next } => {
                    let stored_seq = entry_seq(body);
                    if stored_seq == Some(self.seq) {
                        let entry = EntryRef {
                            seq: self.seq,
                            segment: self.segment,
                            offset: self.offset,
                            body,
                        };
                        self.offset = next;
                        self.seq += 1;
                        return Some(Ok(entry));
                    }
                    crate::error::CorruptKind::SeqGap {
                        expected: self.seq,
                        found: stored_seq.unwrap_or(u64::MAX),
                    }
                }
                FrameAt::Bad(kind) => kind,
                FrameAt::End | FrameAt::Trailer | FrameAt::Incomplete => {
                    crate::error::CorruptKind::LengthOutOfRange {
                        len: area.len().saturating_sub(self.offset) as u64,
                    }
                }
            };
            self.failed = true;
            return Some(Err(LedgerError::corrupt(
                seg.path.clone(),
                self.offset as u64,
                Some(self.seq),
                kind,
            )));
        }
    }
}
