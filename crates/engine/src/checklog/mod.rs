//! The check log: the ledger's own append-only, hash-chained record of integrity checks and
//! retention anchors, in `checks.log` beside the segments (FORMAT.md, "Check log").
//!
//! It is a chain of its own (seq from 0, genesis prev_hash) in one file: an 80-byte header,
//! then frames exactly like a segment's. Any process may append to it — the scheduler inside a
//! writer, a `verify --record` elsewhere — each holding an exclusive `flock` on the file for the
//! length of its append; readers take no lock and ignore a torn tail. An absent file is an
//! empty log. Retention anchors in it say where the ledger starts once old segments are
//! removed ([`anchored_start`]).

mod entry;
mod file;
mod json;
pub mod scheduler;

pub use scheduler::{
    check_record, record_check, run_check, CheckRequest, CheckSchedule, CheckScheduler,
};

pub use crate::files::CHECK_LOG_FILE;
pub use entry::{
    decode_check_log_entry, encode_anchor, encode_check, AnchorRecord, CheckLogEntry, CheckMode,
    CheckRecord, ERRORS_JSON_LEN_MAX,
};
pub use file::{append_entry, read_check_log, CheckLog, CHECK_LOG_MAGIC};
pub use json::CHECK_JSON_KEYS;

use crate::error::{CorruptKind, Corruption};
use crate::hash::{Hash, GENESIS_PREV_HASH};

/// Where the ledger's held entries must start, given its first held segment's first seq
/// `first_held`: `(first_held, the row hash its first entry chains to)` from the anchors of the
/// segments removed before it, which must run unbroken from seq 0 (the genesis hash) to
/// `first_held - 1`. `Ok(None)` when `first_held` is 0 (nothing was removed); an error when no
/// unbroken run of anchors reaches it (segments are missing).
pub fn anchored_start(log: &CheckLog, first_held: u64) -> Result<Option<(u64, Hash)>, Corruption> {
    if first_held == 0 {
        return Ok(None);
    }
    let mut next = 0u64;
    let mut last_hash = GENESIS_PREV_HASH;
    for anchor in log.anchors() {
        if anchor.first_seq != next || anchor.prev_hash != last_hash {
            break;
        }
        next = anchor.last_seq + 1;
        last_hash = anchor.last_row_hash;
        if next == first_held {
            return Ok(Some((next, last_hash)));
        }
    }
    Err(Corruption {
        file: log.path.clone(),
        offset: 0,
        seq: Some(next),
        kind: CorruptKind::MissingSegment { first_seq: next },
    })
}

/// The anchor of the removed segment holding `seq`, if retention removed it.
pub fn anchor_holding(log: &CheckLog, seq: u64) -> Option<&AnchorRecord> {
    log.anchors()
        .find(|a| a.first_seq <= seq && seq <= a.last_seq)
}
