//! Rolling segments (sealing the active one, starting the next) and rolling back a failed
//! append.

use super::{Ledger, Poison};
use crate::atomic::sync_dir;
use crate::clock::now_ns;
use crate::error::{LedgerError, Result};
use crate::segment::header::{SegmentHeader, FORMAT_VERSION, HEADER_LEN};
use crate::segment::writer::{ActiveSegment, PreparedSegment, SealedSegment};

/// Where the writer stood before an append: what [`Ledger::roll_back`] returns to.
pub(super) struct Checkpoint {
    sealed_len: usize,
    active_first_seq: u64,
    active_len: u64,
    active_stats: crate::segment::RecordStats,
    active_position: crate::segment::ChainPosition,
}

impl Ledger {
    /// Where the writer stands now, to roll back to.
    pub(super) fn checkpoint(&self) -> Checkpoint {
        Checkpoint {
            sealed_len: self.sealed.len(),
            active_first_seq: self.active.header.first_seq,
            active_len: self.active.len,
            active_stats: self.active.stats,
            active_position: self.active.position,
        }
    }

    /// Seals the active segment before an append of up to `frame_bytes` that would not fit in
    /// it, when it holds entries: no append writes frames into a segment holding earlier
    /// entries and then seals it. So a segment sealed during an append was created by that
    /// append or was empty when it began, and undoing the append never shrinks a sealed
    /// segment, which readers map (reading a mapping past the end of a shrunk file is SIGBUS).
    pub(super) fn roll_ahead_of(&mut self, frame_bytes: u64) -> Result<()> {
        let holds_entries = self.active.len > HEADER_LEN as u64;
        if !holds_entries || self.active.len + frame_bytes <= self.config.segment_size_bytes {
            return Ok(());
        }
        self.refuse_if_poisoned()?;
        // A failure here (most often a full disk) has changed nothing.
        let next = self.prepare_next_segment()?;
        if let Err(e) = self.seal_and_start(next) {
            // Nothing of the append is written and every entry stays, but the files (a sealed
            // segment, perhaps with part of a trailer, perhaps no next one) no longer match
            // this writer: a reopen reads them again, and discards nothing. A seal is never
            // undone here: readers may already map the sealed file.
            self.poisoned = Some(Poison {
                why: format!("starting a new segment failed: {e}"),
                from_seq: self.active.position.next_seq,
            });
            return Err(e);
        }
        Ok(())
    }

    /// Seals the active segment and starts the next one.
    pub(super) fn roll_segment(&mut self) -> Result<()> {
        let next = self.prepare_next_segment()?;
        self.seal_and_start(next)
    }

    /// The segment to follow the active one, written under its temporary name.
    fn prepare_next_segment(&self) -> Result<PreparedSegment> {
        let next_header = SegmentHeader {
            format_version: FORMAT_VERSION,
            first_seq: self.active.position.next_seq,
            // Never before any recorded_at so far (of this batch too): a reopened writer takes
            // it as the floor for recorded_at when the segment is still empty.
            created_at_ns: now_ns()
                .max(self.last_recorded_at_ns)
                .max(self.batch_recorded_at_ns),
            prev_hash: self.active.position.last_hash,
        };
        ActiveSegment::prepare(&self.dir, self.factory.as_ref(), next_header)
    }

    /// Seals the active segment and puts `next` in place as the new active one. If putting it
    /// in place fails, the sealed segment is listed as sealed, so [`Ledger::roll_back`] can
    /// replace it.
    fn seal_and_start(&mut self, next: PreparedSegment) -> Result<()> {
        let sealed = self.active.seal()?;
        debug_assert_eq!(sealed.trailer.last_seq + 1, self.active.position.next_seq);
        self.sealed.push(sealed);
        self.active = next.install()?;
        Ok(())
    }

    /// Undoes a failed append: removes segments it created, and cuts the segment that was
    /// active when it started back to its length then; if the append sealed that segment, it
    /// was empty (see [`Ledger::roll_ahead_of`]) and `spare`, an empty copy written before the
    /// append, is renamed over it instead, as readers may have mapped the sealed one.
    pub(super) fn roll_back(
        &mut self,
        cp: &Checkpoint,
        spare: Option<PreparedSegment>,
    ) -> Result<()> {
        // Segments may be removed (and a file of the same name created later): the id table
        // must not read them through handles it kept open.
        self.ids.forget_open_files();
        let mut to_remove = Vec::new();
        if self.active.header.first_seq != cp.active_first_seq {
            to_remove.push(self.active.path.clone());
        }
        let resealed: Vec<SealedSegment> = self.sealed.drain(cp.sealed_len..).collect();
        let mut original = None;
        for s in resealed {
            if s.header.first_seq == cp.active_first_seq {
                original = Some(s);
            } else {
                to_remove.push(s.path);
            }
        }
        if let Some(s) = original {
            debug_assert_eq!(
                cp.active_len, HEADER_LEN as u64,
                "sealed only if it was empty"
            );
            // Renamed over the sealed file: a reader's mapping keeps the old file whole.
            self.active = match spare {
                Some(spare) => spare.install()?,
                None => ActiveSegment::create(&self.dir, self.factory.as_ref(), s.header)?,
            };
        } else {
            self.active.truncate(cp.active_len)?;
            self.active.stats = cp.active_stats;
            self.active.position = cp.active_position;
        }
        for path in &to_remove {
            if path != &self.active.path {
                std::fs::remove_file(path).map_err(|e| LedgerError::io("remove", path, e))?;
            }
        }
        if !to_remove.is_empty() {
            sync_dir(&self.dir)?;
        }
        debug_assert!(self.active.len >= HEADER_LEN as u64);
        Ok(())
    }
}
