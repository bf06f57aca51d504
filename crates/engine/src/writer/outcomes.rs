//! Appending outcomes: each names a recorded signal by its signal_id, resolved to the signal's
//! seq through the writer's id table, and is chained like any entry.

use super::append::WRITE_CHUNK_BYTES;
use super::Ledger;
use crate::clock::now_ns;
use crate::error::{LedgerError, Result};
use crate::hash::Hash;
use crate::index::id_hash;
use crate::record::frame::{begin_frame, finish_frame, FRAME_HEADER_LEN};
use crate::record::outcome::{encode_outcome_body, Outcome, OutcomeStamp, OUTCOME_BODY_LEN_MAX};
use crate::segment::header::FORMAT_VERSION;

/// One outcome of an append, once durable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedOutcome {
    /// Seq of the outcome entry.
    pub seq: u64,
    /// Seq of the signal it is the outcome of.
    pub signal_seq: u64,
    /// Row hash of the outcome entry.
    pub row_hash: Hash,
}

/// What an append of outcomes made durable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutcomeReceipt {
    /// Each outcome, in batch order (= seq order).
    pub outcomes: Vec<RecordedOutcome>,
    /// recorded_at given to every outcome of the append, ns since the Unix epoch.
    pub recorded_at_ns: i64,
    /// Row hash of the ledger's last entry after the append.
    pub head_hash: Hash,
}

impl Ledger {
    /// Appends `outcomes` in one atomic, durable append, after the signals they name.
    ///
    /// Every outcome is validated and its signal_id looked up among the ledger's signals
    /// first; an invalid outcome ([`LedgerError::InvalidOutcome`]) or one whose signal the
    /// ledger does not hold ([`LedgerError::UnknownSignal`]) fails the whole batch, and
    /// nothing is written. A signal may have any number of outcomes; the latest is the one
    /// readers show.
    pub fn append_outcomes(&mut self, outcomes: &[Outcome]) -> Result<OutcomeReceipt> {
        self.refuse_if_poisoned()?;
        for (index, outcome) in outcomes.iter().enumerate() {
            outcome
                .validate()
                .map_err(|error| LedgerError::InvalidOutcome { index, error })?;
        }
        // Outcome entries exist from format version 2 on; the writer's open moves an older
        // active segment on (upgrade.rs), so this holds for every writer.
        debug_assert!(self.active.header.format_version >= 2);
        debug_assert_eq!(self.active.header.format_version, FORMAT_VERSION);
        if !outcomes.is_empty() && !self.ids.is_loaded() {
            self.ids
                .load(&self.sealed, &self.active.path, self.active.len)?;
        }
        let mut signal_seqs = Vec::with_capacity(outcomes.len());
        for (index, outcome) in outcomes.iter().enumerate() {
            let id = outcome.signal_id.as_str();
            match self.ids.find_hashed(id_hash(id), id, |signal| signal.seq)? {
                Some(seq) => signal_seqs.push(seq),
                None => {
                    return Err(LedgerError::UnknownSignal {
                        index,
                        signal_id: id.to_owned(),
                    })
                }
            }
        }
        let first_seq = self.active.position.next_seq;
        if outcomes.is_empty() {
            return Ok(OutcomeReceipt {
                outcomes: Vec::new(),
                recorded_at_ns: self.last_recorded_at_ns,
                head_hash: self.active.position.last_hash,
            });
        }
        let recorded_at_ns = now_ns().max(self.last_recorded_at_ns);
        let mut recorded = Vec::with_capacity(outcomes.len());
        // A bound, not the exact length: it only decides whether to start a new segment first.
        let frame_bytes = outcomes.len() * (FRAME_HEADER_LEN + OUTCOME_BODY_LEN_MAX);
        self.write_atomically(recorded_at_ns, frame_bytes as u64, |ledger| {
            let mut frames = Vec::new();
            let mut frame_ends = Vec::new();
            let mut prev_hash = ledger.active.position.last_hash;
            for (i, (outcome, &signal_seq)) in outcomes.iter().zip(&signal_seqs).enumerate() {
                let stamp = OutcomeStamp {
                    seq: first_seq + i as u64,
                    recorded_at_ns,
                    prev_hash,
                    signal_seq,
                };
                let start = begin_frame(&mut frames);
                prev_hash = encode_outcome_body(&mut frames, &stamp, outcome);
                finish_frame(&mut frames, start);
                frame_ends.push(frames.len());
                recorded.push(RecordedOutcome {
                    seq: stamp.seq,
                    signal_seq,
                    row_hash: prev_hash,
                });
                if frames.len() >= WRITE_CHUNK_BYTES || i + 1 == outcomes.len() {
                    let timestamps = vec![None; frame_ends.len()];
                    ledger.write_frames_rolling(&frames, &frame_ends, &timestamps, &[])?;
                    frames.clear();
                    frame_ends.clear();
                }
            }
            Ok(())
        })?;
        Ok(OutcomeReceipt {
            outcomes: recorded,
            recorded_at_ns,
            head_hash: self.active.position.last_hash,
        })
    }
}
