//! The signal_id check of a batch: a signal whose id the ledger (or an earlier signal of the
//! batch) holds with the same columns is recorded already and not appended again; one whose id
//! is taken by a different signal refuses its unit.

use std::borrow::Borrow;

use super::ids::{same_columns, same_signal, IdMap};
use super::{AppendReceipt, Duplicate, Durable, Ledger};
use crate::error::{LedgerError, Result};
use crate::index::id_hash;
use crate::record::Signal;

/// The id check of a batch: the signals kept (refused units left out), which of them are
/// recorded already (ascending positions in `accepted`), and the refused units.
pub(super) struct IdCheck<'s> {
    accepted: Vec<&'s Signal>,
    /// `id_hash` of each accepted signal's producer id (unused for an empty id); empty when no
    /// signal of the batch carries one.
    hashes: Vec<u64>,
    recorded: Vec<(usize, Recorded)>,
    /// Each refused unit's position in the input, and why.
    pub(super) refused: Vec<(usize, LedgerError)>,
}

/// What the id check found for one signal of a batch that is recorded already.
enum Recorded {
    /// In the ledger, as this entry.
    Stored(Durable),
    /// Earlier in the same batch, at this index.
    Earlier(usize),
}

impl Ledger {
    /// Checks the signal_ids of `units`, in one pass: a unit holding a signal whose id is taken
    /// by a different signal (in the ledger, or earlier in a unit kept) is refused whole; of
    /// the others, the signals recorded already (in the ledger, or earlier in the kept units)
    /// are listed. Loads the id table first if any signal carries an id.
    pub(super) fn check_ids<'s, S: Borrow<Signal>>(
        &mut self,
        units: &[&'s [S]],
    ) -> Result<IdCheck<'s>> {
        let total: usize = units.iter().map(|u| u.len()).sum();
        let mut check = IdCheck {
            accepted: Vec::with_capacity(total),
            hashes: Vec::new(),
            recorded: Vec::new(),
            refused: Vec::new(),
        };
        let carries_ids = units
            .iter()
            .flat_map(|u| u.iter())
            .any(|s| !s.borrow().signal_id.is_empty());
        if !carries_ids {
            check
                .accepted
                .extend(units.iter().flat_map(|u| u.iter().map(Borrow::borrow)));
            return Ok(check);
        }
        if !self.ids.is_loaded() {
            self.ids
                .load(&self.sealed, &self.active.path, self.active.len)?;
        }
        // The first kept signal with each id hash, by position in `accepted` (another id with
        // the same hash is found by a scan: a 64-bit collision within one batch is rare); and
        // each kept position's index in the concatenation of all units.
        let mut in_batch: IdMap<u64, usize> = IdMap::default();
        in_batch.reserve(total);
        check.hashes.reserve(total);
        let mut input_index: Vec<usize> = Vec::with_capacity(total);
        let mut unit_start = 0usize;
        for (u, unit) in units.iter().enumerate() {
            let kept_from = (check.accepted.len(), check.recorded.len());
            let mut hashes_added = Vec::new();
            let mut refusal = None;
            for (k, signal) in unit.iter().enumerate() {
                let signal: &'s Signal = signal.borrow();
                let index = unit_start + k;
                let pos = check.accepted.len();
                check.accepted.push(signal);
                input_index.push(index);
                let id = signal.signal_id.as_str();
                let hash = if id.is_empty() { 0 } else { id_hash(id) };
                check.hashes.push(hash);
                if id.is_empty() {
                    continue;
                }
                let accepted = &check.accepted;
                let same_id = |i: &usize| accepted.get(*i).is_some_and(|s| s.signal_id == id);
                let earlier = match in_batch.get(&hash) {
                    None => None,
                    Some(first) => Some(*first)
                        .filter(same_id)
                        .or_else(|| (0..pos).find(same_id)),
                };
                if let Some(earlier) = earlier {
                    let first = check.accepted.get(earlier).copied();
                    if !first.is_some_and(|first| same_columns(first, signal)) {
                        refusal = Some(LedgerError::SignalIdRepeated {
                            index,
                            signal_id: id.to_owned(),
                            earlier: input_index.get(earlier).copied().unwrap_or_default(),
                        });
                        break;
                    }
                    check.recorded.push((pos, Recorded::Earlier(earlier)));
                    continue;
                }
                if let std::collections::hash_map::Entry::Vacant(e) = in_batch.entry(hash) {
                    e.insert(pos);
                    hashes_added.push(hash);
                }
                let found = self.ids.find_hashed(hash, id, |stored| {
                    let entry = Durable {
                        seq: stored.seq,
                        row_hash: stored.row_hash,
                        signal_id: id.to_owned(),
                        recorded_at_ns: stored.recorded_at_ns,
                        already_recorded: true,
                    };
                    (same_signal(stored, signal), entry)
                })?;
                match found {
                    Some((true, entry)) => check.recorded.push((pos, Recorded::Stored(entry))),
                    Some((false, entry)) => {
                        refusal = Some(LedgerError::SignalIdTaken {
                            index,
                            signal_id: id.to_owned(),
                            seq: entry.seq,
                        });
                        break;
                    }
                    None => {}
                }
            }
            if let Some(error) = refusal {
                // Nothing of a refused unit is kept, nor offered to later units as a carrier.
                check.accepted.truncate(kept_from.0);
                check.hashes.truncate(kept_from.0);
                input_index.truncate(kept_from.0);
                check.recorded.truncate(kept_from.1);
                for hash in hashes_added {
                    in_batch.remove(&hash);
                }
                check.refused.push((u, error));
            }
            unit_start += unit.len();
        }
        Ok(check)
    }
}

impl<'s> IdCheck<'s> {
    /// The signals to append (those kept, less those recorded already) with their id hashes,
    /// and the recorded ones, to list in the receipt once appended.
    pub(super) fn into_fresh(self) -> (Vec<&'s Signal>, Vec<u64>, RecordedAlready) {
        let kept = self.accepted.len();
        if self.recorded.is_empty() {
            let none = RecordedAlready {
                recorded: self.recorded,
                kept,
            };
            return (self.accepted, self.hashes, none);
        }
        let mut skip = self.recorded.iter().map(|(index, _)| *index).peekable();
        let hashes = &self.hashes;
        let (fresh, fresh_hashes) = self
            .accepted
            .iter()
            .enumerate()
            .filter(|(i, _)| skip.next_if_eq(i).is_none())
            .map(|(i, s)| (*s, hashes.get(i).copied().unwrap_or_default()))
            .unzip();
        let recorded = RecordedAlready {
            recorded: self.recorded,
            kept,
        };
        (fresh, fresh_hashes, recorded)
    }
}

/// The signals of a batch found recorded already (ascending positions among the `kept`
/// signals), not appended.
pub(super) struct RecordedAlready {
    recorded: Vec<(usize, Recorded)>,
    kept: usize,
}

impl RecordedAlready {
    /// Lists each in `receipt` (the append of the other kept signals) as a duplicate, with the
    /// entry that holds it: a stored one, or the entry this append made of an earlier signal
    /// of the batch.
    pub(super) fn list_in(self, receipt: &mut AppendReceipt) {
        if self.recorded.is_empty() {
            return;
        }
        // An earlier signal of the batch was appended at first_seq + its place among the fresh.
        let mut skipped_before = Vec::with_capacity(self.kept);
        let mut left_out = self.recorded.iter().map(|(index, _)| *index).peekable();
        let mut skipped = 0usize;
        for i in 0..self.kept {
            skipped_before.push(skipped);
            if left_out.next_if_eq(&i).is_some() {
                skipped += 1;
            }
        }
        for (index, found) in self.recorded {
            let entry = match found {
                Recorded::Stored(entry) => entry,
                Recorded::Earlier(earlier) => {
                    // The earlier signal may itself be recorded already (and so not appended):
                    // this one then names the same stored entry.
                    let earlier_entry = receipt
                        .duplicates
                        .binary_search_by_key(&earlier, |d| d.index)
                        .ok()
                        .and_then(|at| receipt.duplicates.get(at));
                    if let Some(d) = earlier_entry {
                        let entry = d.entry.clone();
                        receipt.duplicates.push(Duplicate { index, entry });
                        continue;
                    }
                    let place = earlier - skipped_before.get(earlier).copied().unwrap_or(0);
                    Durable {
                        seq: receipt.first_seq + place as u64,
                        row_hash: receipt.row_hashes.get(place).copied().unwrap_or_default(),
                        signal_id: receipt.signal_ids.get(place).cloned().unwrap_or_default(),
                        recorded_at_ns: receipt.recorded_at_ns,
                        already_recorded: true,
                    }
                }
            };
            receipt.duplicates.push(Duplicate { index, entry });
        }
    }
}
