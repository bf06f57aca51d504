//! What an append answers: where each signal of the batch is, once durable.

use crate::error::LedgerError;
use crate::hash::Hash;

/// Where one signal of an append is in the ledger, once durable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Durable {
    /// Its seq.
    pub seq: u64,
    /// Its row hash.
    pub row_hash: Hash,
    /// Its signal_id (the assigned UUIDv7 if it came without one).
    pub signal_id: String,
    /// Its recorded_at, ns since the Unix epoch.
    pub recorded_at_ns: i64,
    /// True when the signal was not appended because the ledger holds it already (same
    /// signal_id, same columns): seq, row hash and recorded_at are the original entry's.
    pub already_recorded: bool,
}

/// A signal of an append that was recorded already, by an earlier append or earlier in the
/// same batch, and so was not appended again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Duplicate {
    /// Its index in the batch.
    pub index: usize,
    /// The entry that holds it.
    pub entry: Durable,
}

/// What an append made durable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendReceipt {
    /// Entries appended (the batch's signals less its duplicates).
    pub count: u64,
    /// Seq of the first appended entry (the next seq when `count` is 0).
    pub first_seq: u64,
    /// Seq of the last appended entry (None when `count` is 0).
    pub last_seq: Option<u64>,
    /// Row hash of the ledger's last entry after the append.
    pub head_hash: Hash,
    /// Row hash of every appended entry, in seq order.
    pub row_hashes: Vec<Hash>,
    /// signal_id of every appended entry (assigned ones included), in seq order.
    pub signal_ids: Vec<String>,
    /// recorded_at given to every entry of the append, ns since the Unix epoch.
    pub recorded_at_ns: i64,
    /// Time spent in the configured sync (fdatasync or fsync) at the end of the append.
    pub sync_time: std::time::Duration,
    /// Signals of the batch recorded already (same signal_id, same columns), by index: not
    /// appended again, and not counted in `count`, `row_hashes` or `signal_ids`.
    pub duplicates: Vec<Duplicate>,
}

impl AppendReceipt {
    /// Where each signal of the batch is, in batch order: the appended entries and the
    /// duplicates merged back into their places.
    pub fn into_durable(self) -> Vec<Durable> {
        let total = self.row_hashes.len() + self.duplicates.len();
        let mut out = Vec::with_capacity(total);
        let mut duplicates = self.duplicates.into_iter().peekable();
        let mut appended = self.row_hashes.into_iter().zip(self.signal_ids);
        let mut seq = self.first_seq;
        for index in 0..total {
            if duplicates.peek().is_some_and(|d| d.index == index) {
                if let Some(d) = duplicates.next() {
                    out.push(d.entry);
                }
            } else if let Some((row_hash, signal_id)) = appended.next() {
                out.push(Durable {
                    seq,
                    row_hash,
                    signal_id,
                    recorded_at_ns: self.recorded_at_ns,
                    already_recorded: false,
                });
                seq += 1;
            }
        }
        debug_assert_eq!(out.len(), total);
        out
    }
}

/// What [`Ledger::append_units`](super::Ledger::append_units) did: the append of the units it kept, and the units it
/// refused.
#[derive(Debug)]
pub struct UnitsAppended {
    /// The append of the kept units' signals, concatenated in order.
    pub receipt: AppendReceipt,
    /// Each refused unit's position in the input, and why (nothing of it was written).
    pub refused: Vec<(usize, LedgerError)>,
}
