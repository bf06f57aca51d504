//! The writer: [`Ledger`], the one writer of a ledger directory. Creates, opens (recovering a
//! torn tail), appends batches atomically and durably, and rolls segments.
//!
//! - `open`: create, open (recovering a torn tail), reopen after a failed append;
//! - `append`: validating and appending signals, in chunks, atomically;
//! - `roll`: sealing the active segment and starting the next; rolling back a failed append;
//! - `dedup`: the signal_id check of a batch against the ledger and itself, over
//!   `ids` (the table of every signal_id in the ledger);
//! - `outcomes`, `retention`, `upgrade`: appending outcomes, removing expired segments,
//!   moving a ledger to the current format version;
//! - `lock`: the `LOCK` file, and leftovers of interrupted writes removed at open;
//! - `receipt`: what an append answers.
//!
//! Invariants kept here:
//! - at most one `Ledger` per directory across processes (the `LOCK` file);
//! - an append that returns an error leaves nothing behind: every byte it wrote is removed again
//!   (segments it created are deleted, the segment it began in is cut back) before the error is
//!   returned, and if that cleanup itself fails the writer is poisoned and refuses further
//!   appends until [`Ledger::reopen`] removes what the append left. A crash mid-append is
//!   different: it may leave a prefix of the unacknowledged batch (whole entries, plus a torn
//!   tail that the next open truncates);
//! - an append is acknowledged only after the configured sync;
//! - recorded_at never decreases, across sessions too, so ledger order is also recorded_at
//!   order (as long as the clock of the first session was not ahead of later ones' by more
//!   than they run: a clock that went back is clamped, never followed).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::config::PersistenceConfig;
use crate::error::{LedgerError, Result};
use crate::layout::Head;
use crate::segment::file::SegmentFileFactory;
use crate::segment::writer::{ActiveSegment, SealedSegment};
use ids::IdTable;
use lock::WriterLock;

mod append;
mod dedup;
mod ids;
mod lock;
mod open;
mod outcomes;
mod receipt;
mod report_json;
mod retention;
mod roll;
mod upgrade;

pub use outcomes::{OutcomeReceipt, RecordedOutcome};
pub use receipt::{AppendReceipt, Duplicate, Durable, UnitsAppended};
pub use report_json::{OutcomesRecorded, SignalsRecorded};
pub use retention::{ExpiredSegment, RetentionPlan};
pub use upgrade::UpgradeReport;

/// A torn tail found and removed when the ledger was opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoveryReport {
    /// The segment that was truncated.
    pub segment: PathBuf,
    /// Offset the segment was truncated to (the end of its last whole valid entry).
    pub offset: u64,
    /// Bytes dropped.
    pub dropped_bytes: u64,
    /// What was found there.
    pub reason: String,
}

/// Options for opening a ledger beyond its `ledger.toml`.
#[derive(Clone, Default)]
pub struct OpenOptions {
    /// Settings to use instead of those in `ledger.toml` (not written back).
    pub config_override: Option<PersistenceConfig>,
    /// Wraps segment files, to inject faults in tests; real files when None.
    pub file_factory: Option<Arc<dyn SegmentFileFactory>>,
}

impl std::fmt::Debug for OpenOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenOptions")
            .field("config_override", &self.config_override)
            .field("file_factory", &self.file_factory.is_some())
            .finish()
    }
}

/// The writer of one ledger directory.
#[derive(Debug)]
pub struct Ledger {
    dir: PathBuf,
    config: PersistenceConfig,
    _lock: WriterLock,
    factory: Arc<dyn SegmentFileFactory>,
    sealed: Vec<SealedSegment>,
    active: ActiveSegment,
    last_recorded_at_ns: i64,
    recovery: Option<RecoveryReport>,
    poisoned: Option<Poison>,
    frame_buf: Vec<u8>,
    /// recorded_at of the append in progress (a segment rolled mid-append starts after it).
    batch_recorded_at_ns: i64,
    /// Every signal_id in the ledger, loaded before the first append that carries one.
    ids: IdTable,
}

/// Why a writer refuses appends: an append failed and so did undoing it.
#[derive(Debug, Clone)]
struct Poison {
    /// The append's error and the rollback's.
    why: String,
    /// The failed append's first seq: nothing from here on was acknowledged.
    from_seq: u64,
}

impl std::fmt::Debug for dyn SegmentFileFactory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SegmentFileFactory")
    }
}

impl Ledger {
    /// The ledger directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The settings in force.
    pub fn config(&self) -> &PersistenceConfig {
        &self.config
    }

    /// The torn tail removed at open, if there was one.
    pub fn recovery(&self) -> Option<&RecoveryReport> {
        self.recovery.as_ref()
    }

    /// Seq the next entry will take (= number of entries, while nothing is pruned).
    pub fn next_seq(&self) -> u64 {
        self.active.position.next_seq
    }

    /// The last entry, or None for an empty ledger.
    pub fn head(&self) -> Option<Head> {
        let next = self.active.position.next_seq;
        (next > 0).then(|| Head {
            seq: next - 1,
            row_hash: self.active.position.last_hash,
        })
    }

    /// Why the writer refuses appends, if an earlier failure could not be rolled back
    /// ([`LedgerError::Poisoned`]); [`Ledger::reopen`] recovers it.
    pub fn poisoned(&self) -> Option<&str> {
        self.poisoned.as_ref().map(|p| p.why.as_str())
    }

    /// The first seq of the failed append that poisoned the writer: what
    /// [`Ledger::reopen`] removes from.
    pub(crate) fn poisoned_from_seq(&self) -> Option<u64> {
        self.poisoned.as_ref().map(|p| p.from_seq)
    }

    /// Options that open this directory again as this writer is set up (its settings in force
    /// and its file factory).
    pub fn open_options(&self) -> OpenOptions {
        OpenOptions {
            config_override: Some(self.config.clone()),
            file_factory: Some(Arc::clone(&self.factory)),
        }
    }

    /// Damage in sealed segments met when the signal_id table was loaded (at the first append
    /// carrying ids): the ids of the entries past it are not checked for uniqueness. Empty
    /// normally; `verify` reports such damage in full.
    pub fn unchecked_ids(&self) -> &[String] {
        self.ids.unreadable()
    }

    /// Sealed segments, oldest first.
    pub fn sealed_segments(&self) -> &[SealedSegment] {
        &self.sealed
    }

    /// The error a poisoned writer answers every append with.
    fn refuse_if_poisoned(&self) -> Result<()> {
        match &self.poisoned {
            Some(poison) => Err(LedgerError::Poisoned(poison.why.clone())),
            None => Ok(()),
        }
    }
}
