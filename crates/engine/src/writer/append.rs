//! Appending signals: validated, checked for signal_ids recorded already (`dedup`), encoded into
//! chained frames a chunk at a time, written across segment boundaries, synced, and undone
//! whole on any failure (`roll`).

use std::borrow::Borrow;

use rayon::prelude::*;

use super::dedup::IdCheck;
use super::{AppendReceipt, Ledger, Poison, UnitsAppended};
use crate::clock::now_ns;
use crate::error::{LedgerError, Result};
use crate::hash::Hash;
use crate::index::id_hash;
use crate::record::codec::{encode_signal_body, signal_body_len, Stamp};
use crate::record::frame::{begin_frame, finish_frame, FRAME_HEADER_LEN};
use crate::record::{Signal, ValidSignal};
use crate::segment::header::HEADER_LEN;
use crate::segment::writer::ActiveSegment;

impl Ledger {
    /// Appends `signals` as one atomic, durable batch and returns what was written.
    ///
    /// Every signal is validated first; an invalid one fails the whole batch with its index and
    /// nothing is written. Signals with an empty `signal_id` get a UUIDv7.
    ///
    /// A signal_id is recorded once. A signal whose id the ledger holds already with the same
    /// columns is not appended again: the receipt lists it among its `duplicates` with the
    /// original's seq (so a producer may safely send a batch again after a crash). A signal
    /// whose id the ledger holds with other columns, or that a different signal earlier in the
    /// batch carries, fails the whole batch ([`LedgerError::SignalIdTaken`]) and nothing is
    /// written.
    pub fn append(&mut self, signals: &[Signal]) -> Result<AppendReceipt> {
        self.refuse_if_poisoned()?;
        validate_all(signals)?;
        self.append_one_unit(signals)
    }

    /// [`Ledger::append`] for signals validated already (by the producer or the parser).
    pub fn append_valid(&mut self, signals: &[ValidSignal]) -> Result<AppendReceipt> {
        self.append_one_unit(signals)
    }

    /// Appends `units` (each one producer's push, say) in one atomic, durable append, leaving
    /// out every unit that holds a signal whose signal_id is taken by a different signal (in
    /// the ledger, or in an earlier unit that is appended). The receipt covers the other units'
    /// signals, concatenated in order (its `duplicates` index into that concatenation); each
    /// refused unit comes back with its position and why (the error's indexes are positions in
    /// the concatenation of all `units`). The id check is one pass, however many are refused.
    pub fn append_units(&mut self, units: &[&[ValidSignal]]) -> Result<UnitsAppended> {
        self.refuse_if_poisoned()?;
        let mut check = self.check_ids(units)?;
        let refused = std::mem::take(&mut check.refused);
        let receipt = self.append_kept(check)?;
        Ok(UnitsAppended { receipt, refused })
    }

    /// Appends valid signals (the invariant every caller keeps) as one unit: a taken
    /// signal_id fails it whole; those recorded already are listed, not appended again.
    fn append_one_unit<S: Borrow<Signal>>(&mut self, signals: &[S]) -> Result<AppendReceipt> {
        self.refuse_if_poisoned()?;
        let mut check = self.check_ids(&[signals])?;
        if let Some((_, error)) = check.refused.pop() {
            return Err(error);
        }
        self.append_kept(check)
    }

    /// Appends what the id check kept, less the signals recorded already, which the receipt
    /// lists among its duplicates with the entry that holds each.
    fn append_kept(&mut self, check: IdCheck<'_>) -> Result<AppendReceipt> {
        let (fresh, hashes, recorded) = check.into_fresh();
        let mut receipt = self.append_fresh(&fresh, &hashes)?;
        recorded.list_in(&mut receipt);
        Ok(receipt)
    }

    /// Appends signals none of which is recorded already; `hashes` are the `id_hash`es of
    /// their producer ids where computed already (empty, or unused for an empty id, otherwise).
    fn append_fresh<S: Borrow<Signal>>(
        &mut self,
        signals: &[S],
        hashes: &[u64],
    ) -> Result<AppendReceipt> {
        let first_seq = self.active.position.next_seq;
        if signals.is_empty() {
            return Ok(AppendReceipt {
                count: 0,
                first_seq,
                last_seq: None,
                head_hash: self.active.position.last_hash,
                row_hashes: Vec::new(),
                signal_ids: Vec::new(),
                recorded_at_ns: self.last_recorded_at_ns,
                sync_time: std::time::Duration::ZERO,
                duplicates: Vec::new(),
            });
        }
        let recorded_at_ns = now_ns().max(self.last_recorded_at_ns);
        let mut row_hashes = Vec::with_capacity(signals.len());
        let mut signal_ids = Vec::with_capacity(signals.len());
        let frame_bytes: usize = signals
            .iter()
            .map(|s| {
                let s = s.borrow();
                let id_len = match s.signal_id.len() {
                    0 => GENERATED_ID_LEN,
                    n => n,
                };
                FRAME_HEADER_LEN + signal_body_len(s, id_len)
            })
            .sum();
        let sync_time = self.write_atomically(recorded_at_ns, frame_bytes as u64, |ledger| {
            ledger.encode_and_write(
                signals,
                hashes,
                recorded_at_ns,
                &mut row_hashes,
                &mut signal_ids,
            )
        })?;
        debug_assert_eq!(
            self.active.position.next_seq,
            first_seq + signals.len() as u64
        );
        Ok(AppendReceipt {
            count: signals.len() as u64,
            first_seq,
            last_seq: Some(first_seq + signals.len() as u64 - 1),
            head_hash: self.active.position.last_hash,
            row_hashes,
            signal_ids,
            recorded_at_ns,
            sync_time,
            duplicates: Vec::new(),
        })
    }

    /// Runs `write` (which writes frames at the head, rolling segments as needed, without
    /// syncing) as one append of at most `frame_bytes` stamped `recorded_at_ns`: syncs as
    /// `durability` says, and on any failure removes everything it wrote before returning the
    /// error (or poisons the writer if that fails too). Returns the time spent syncing.
    pub(crate) fn write_atomically(
        &mut self,
        recorded_at_ns: i64,
        frame_bytes: u64,
        write: impl FnOnce(&mut Ledger) -> Result<()>,
    ) -> Result<std::time::Duration> {
        debug_assert!(recorded_at_ns >= self.last_recorded_at_ns);
        self.roll_ahead_of(frame_bytes)?;
        // An append that may seal the segment it starts in (which is then empty: see
        // roll_ahead_of) first writes a spare empty copy of it. Undoing the append renames the
        // spare over the sealed file, which needs no space on a full disk.
        let spare = if self.active.len + frame_bytes > self.config.segment_size_bytes {
            debug_assert_eq!(self.active.len, HEADER_LEN as u64);
            Some(ActiveSegment::prepare(
                &self.dir,
                self.factory.as_ref(),
                self.active.header,
            )?)
        } else {
            None
        };
        let first_seq = self.active.position.next_seq;
        self.batch_recorded_at_ns = recorded_at_ns;
        let checkpoint = self.checkpoint();
        let mut sync_time = std::time::Duration::ZERO;
        let written = write(self).and_then(|()| {
            let sync_started = std::time::Instant::now();
            let synced = self.active.sync(self.config.durability);
            sync_time = sync_started.elapsed();
            synced
        });
        if let Err(e) = written {
            if let Err(rollback) = self.roll_back(&checkpoint, spare) {
                self.poisoned = Some(Poison {
                    why: format!("{e}; then rolling back failed: {rollback}"),
                    from_seq: first_seq,
                });
            }
            return Err(e);
        }
        self.last_recorded_at_ns = recorded_at_ns;
        Ok(sync_time)
    }

    /// Encodes `signals` into frames chained from the current head and writes them, a buffer of
    /// about [`WRITE_CHUNK_BYTES`] at a time (so a large batch never needs its whole encoding in
    /// memory), rolling segments at the size limit. Does not sync. `hashes` as for
    /// [`Ledger::append_fresh`].
    fn encode_and_write<S: Borrow<Signal>>(
        &mut self,
        signals: &[S],
        hashes: &[u64],
        recorded_at_ns: i64,
        row_hashes: &mut Vec<Hash>,
        signal_ids: &mut Vec<String>,
    ) -> Result<()> {
        let mut frames = std::mem::take(&mut self.frame_buf);
        let mut frame_ends = Vec::new();
        // The id hash of each frame of the chunk, for the id table (while it is loaded).
        let mut frame_hashes = Vec::new();
        let mut prev_hash = self.active.position.last_hash;
        let first_seq = self.active.position.next_seq;
        let mut chunk_start = 0usize;
        let mut result = Ok(());
        for (i, signal) in signals.iter().enumerate() {
            let signal = signal.borrow();
            let seq = first_seq + i as u64;
            let id = if signal.signal_id.is_empty() {
                uuid::Uuid::now_v7().to_string()
            } else {
                signal.signal_id.clone()
            };
            debug_assert!(!signal.signal_id.is_empty() || id.len() == GENERATED_ID_LEN);
            let stamp = Stamp {
                seq,
                recorded_at_ns,
                prev_hash,
            };
            let start = begin_frame(&mut frames);
            prev_hash = encode_signal_body(&mut frames, &stamp, signal, &id);
            finish_frame(&mut frames, start);
            frame_ends.push(frames.len());
            row_hashes.push(prev_hash);
            if self.ids.is_loaded() {
                let given = hashes.get(i).filter(|_| !signal.signal_id.is_empty());
                frame_hashes.push(given.copied().unwrap_or_else(|| id_hash(&id)));
            }
            signal_ids.push(id);
            if frames.len() >= WRITE_CHUNK_BYTES || i + 1 == signals.len() {
                let timestamps: Vec<Option<i64>> = signals
                    .get(chunk_start..=i)
                    .unwrap_or_default()
                    .iter()
                    .map(|s| Some(s.borrow().timestamp_ns))
                    .collect();
                result =
                    self.write_frames_rolling(&frames, &frame_ends, &timestamps, &frame_hashes);
                if result.is_err() {
                    break;
                }
                frames.clear();
                frame_ends.clear();
                frame_hashes.clear();
                chunk_start = i + 1;
            }
        }
        frames.clear();
        self.frame_buf = frames;
        result
    }

    /// Writes whole encoded frames (`frame_ends` are their end offsets in `frames`; per frame,
    /// `timestamps` holds the signal timestamp, None for other kinds, and `id_hashes` the
    /// signal_id hash while the id table is loaded, empty for frames that carry no id), sealing
    /// the active segment and starting a new one where the next frame would not fit.
    pub(crate) fn write_frames_rolling(
        &mut self,
        frames: &[u8],
        frame_ends: &[usize],
        timestamps: &[Option<i64>],
        id_hashes: &[u64],
    ) -> Result<()> {
        debug_assert_eq!(frame_ends.len(), timestamps.len());
        let limit = self.config.segment_size_bytes;
        let mut written = 0usize; // bytes of `frames` already written
        let mut next_frame = 0usize; // index of the first frame not yet written
        while next_frame < frame_ends.len() {
            // Take as many whole frames as fit; an empty segment takes at least one.
            let room = limit.saturating_sub(self.active.len) as usize;
            let mut end_frame = next_frame;
            while let Some(&end) = frame_ends.get(end_frame) {
                let fits = end - written <= room;
                if !(fits || end_frame == next_frame && self.active.stats.record_count == 0) {
                    break;
                }
                end_frame += 1;
                if !fits {
                    break;
                }
            }
            if end_frame == next_frame {
                self.roll_segment()?;
                continue;
            }
            let chunk_end = frame_ends.get(end_frame - 1).copied().unwrap_or(written);
            let chunk = frames.get(written..chunk_end).unwrap_or_default();
            let base = self.active.len;
            self.active.write_frames(chunk)?;
            if self.ids.is_loaded() {
                let slot = self.ids.slot(&self.active.path);
                let mut start = written;
                for k in next_frame..end_frame {
                    if let Some(&hash) = id_hashes.get(k) {
                        self.ids.insert(hash, slot, base + (start - written) as u64);
                    }
                    start = frame_ends.get(k).copied().unwrap_or(start);
                }
            }
            for &ts in timestamps.get(next_frame..end_frame).unwrap_or_default() {
                self.active.stats.add(ts);
            }
            let n = (end_frame - next_frame) as u64;
            self.active.position.next_seq += n;
            // The row hash of the last written frame is its last 32 bytes.
            let mut last = [0u8; 32];
            if let Some(tail) = chunk_end
                .checked_sub(32)
                .and_then(|s| frames.get(s..chunk_end))
            {
                last.copy_from_slice(tail);
            }
            self.active.position.last_hash = Hash(last);
            written = chunk_end;
            next_frame = end_frame;
        }
        Ok(())
    }
}

/// Encoded bytes buffered before they are written, during a large append. Small enough to stay
/// in L2 while the kernel copies it into the page cache: with 4 MiB chunks that copy was a fifth
/// of a saturated sink's writer time, and throughput rose from 368–392k to 426–431k signals/s
/// at 256 KiB (`bench-sink --rate max`, 2 runs each, docs/BENCHMARKS.md).
pub(crate) const WRITE_CHUNK_BYTES: usize = 256 * 1024;

/// Length of a signal_id the writer generates (a UUIDv7 in its hyphenated form).
const GENERATED_ID_LEN: usize = 36;

/// Validates every signal, in parallel for large batches; the error names the lowest index.
fn validate_all(signals: &[Signal]) -> Result<()> {
    const PARALLEL_FROM: usize = 4096;
    let check = |(index, signal): (usize, &Signal)| {
        signal
            .validate()
            .map_err(|error| LedgerError::InvalidSignal { index, error })
    };
    if signals.len() < PARALLEL_FROM {
        return signals.iter().enumerate().try_for_each(check);
    }
    let first_bad = signals
        .par_iter()
        .enumerate()
        .filter_map(|item| check(item).err())
        .min_by_key(|e| match e {
            LedgerError::InvalidSignal { index, .. } => *index,
            _ => usize::MAX,
        });
    first_bad.map_or(Ok(()), Err)
}
