//! The sink's errors: refusing a signal now, failing to persist one later, and the same two for
//! a batch of outcomes.

use std::sync::Arc;
use std::time::Duration;

use crate::error::LedgerError;
use crate::record::outcome::Outcome;
use crate::record::{FieldError, ValidSignal};

/// Why `record_valid` or `record_valid_batch` did not queue signals validated already: the
/// queue is full or the sink is shut down. The signals come back, still validated, so the
/// producer can retry them without validating them again.
#[derive(Debug, thiserror::Error)]
pub enum NotQueued {
    /// The queue stayed full for `backpressure_timeout`: the disk is not keeping up.
    #[error("not recorded: the sink's queue stayed full for {} ms ({queued} signals queued); the writer is not keeping up", waited.as_millis())]
    Backpressure {
        /// How long the producer waited.
        waited: Duration,
        /// Signals queued when it gave up.
        queued: usize,
        /// The signals, not recorded.
        signals: Vec<ValidSignal>,
    },
    /// The sink was shut down.
    #[error("not recorded: the sink is shut down")]
    Closed {
        /// The signals, not recorded.
        signals: Vec<ValidSignal>,
    },
}

impl NotQueued {
    /// The signals that were not queued.
    pub fn into_signals(self) -> Vec<ValidSignal> {
        match self {
            NotQueued::Backpressure { signals, .. } | NotQueued::Closed { signals } => signals,
        }
    }
}

impl From<NotQueued> for RecordError {
    fn from(e: NotQueued) -> Self {
        match e {
            NotQueued::Backpressure {
                waited,
                queued,
                signals,
            } => RecordError::Backpressure {
                waited,
                queued,
                signals,
            },
            NotQueued::Closed { signals } => RecordError::Closed { signals },
        }
    }
}

/// Why `record`, `try_record` or `record_batch` refused: nothing was queued. The signals come
/// back (except invalid ones), validated, so the producer can retry them.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// A signal breaks a rule (the batch's index of it for `record_batch`).
    #[error("signal{} refused: {error}", index.map(|i| format!(" {i} of the batch")).unwrap_or_default())]
    Invalid {
        /// Index in the batch, for `record_batch`.
        index: Option<usize>,
        /// The rule broken.
        error: FieldError,
    },
    /// The queue stayed full for `backpressure_timeout`: the disk is not keeping up.
    #[error("not recorded: the sink's queue stayed full for {} ms ({queued} signals queued); the writer is not keeping up", waited.as_millis())]
    Backpressure {
        /// How long the producer waited.
        waited: Duration,
        /// Signals queued when it gave up.
        queued: usize,
        /// The signals, not recorded.
        signals: Vec<ValidSignal>,
    },
    /// `try_record` found the queue full.
    #[error("not recorded: the sink's queue is full ({queued} signals queued)")]
    Full {
        /// Signals queued.
        queued: usize,
        /// The signals, not recorded.
        signals: Vec<ValidSignal>,
    },
    /// The sink was shut down.
    #[error("not recorded: the sink is shut down")]
    Closed {
        /// The signals, not recorded.
        signals: Vec<ValidSignal>,
    },
}

impl RecordError {
    /// The signals that were not recorded (empty for `Invalid`), validated.
    pub fn into_signals(self) -> Vec<ValidSignal> {
        match self {
            RecordError::Invalid { .. } => Vec::new(),
            RecordError::Backpressure { signals, .. }
            | RecordError::Full { signals, .. }
            | RecordError::Closed { signals } => signals,
        }
    }
}

/// Why a queued signal was not persisted (delivered through its handle).
#[derive(Debug, Clone, thiserror::Error)]
pub enum PersistError {
    /// The append that carried it failed (disk full, I/O error). Nothing of that append was
    /// kept: the ledger is as it was before it. Later appends are tried again. (One append may
    /// carry several groups when the writer is behind; they fail together.)
    #[error("not persisted: {0}")]
    Append(Arc<LedgerError>),
    /// The append that carried it failed, and removing what it had written failed too. Until
    /// the sink's next append removes them (it tries first), some of these signals may be in
    /// the ledger, and a crash before then would keep them; they were never acknowledged.
    #[error("not persisted: {error}; removing what the failed append wrote also failed ({cleanup}); the sink removes it before its next append")]
    AppendNotUndone {
        /// Why the append failed.
        error: Arc<LedgerError>,
        /// Why removing its leftovers failed.
        cleanup: Arc<LedgerError>,
    },
    /// Its signal_id is taken by a different signal: by an entry of the ledger (`seq`), or by a
    /// signal queued before it (`seq` None). Nothing of its group was persisted; other groups
    /// are not affected. (An identical signal is not an error: its handle gets the original's
    /// seq, marked `already_recorded`.)
    #[error("not persisted: signal_id {signal_id:?} is already {} with different columns", match seq { Some(seq) => format!("recorded at seq {seq}"), None => "carried by a signal queued before it".to_owned() })]
    SignalIdTaken {
        /// The id.
        signal_id: String,
        /// Seq of the entry holding it, when it is in the ledger already.
        seq: Option<u64>,
    },
    /// The sink's writer thread stopped before committing it.
    #[error("not persisted: the sink's writer stopped before committing it")]
    WriterStopped,
}

/// Why `record_outcomes` refused: nothing was queued. The outcomes come back (except for
/// `Invalid`) so the caller can retry them.
#[derive(Debug, thiserror::Error)]
pub enum OutcomeRecordError {
    /// An outcome breaks a rule (`index`: its place in the batch).
    #[error("outcome {index} of the batch refused: {error}")]
    Invalid {
        /// Index in the batch.
        index: usize,
        /// The rule broken.
        error: FieldError,
    },
    /// The queue stayed full for `backpressure_timeout`: the disk is not keeping up.
    #[error("not recorded: the sink's queue stayed full for {} ms ({queued} entries queued); the writer is not keeping up", waited.as_millis())]
    Backpressure {
        /// How long the caller waited.
        waited: Duration,
        /// Entries (signals and outcomes) queued when it gave up.
        queued: usize,
        /// The outcomes, not recorded.
        outcomes: Vec<Outcome>,
    },
    /// The sink was shut down.
    #[error("not recorded: the sink is shut down")]
    Closed {
        /// The outcomes, not recorded.
        outcomes: Vec<Outcome>,
    },
}

impl OutcomeRecordError {
    /// The outcomes that were not recorded (empty for `Invalid`).
    pub fn into_outcomes(self) -> Vec<Outcome> {
        match self {
            OutcomeRecordError::Invalid { .. } => Vec::new(),
            OutcomeRecordError::Backpressure { outcomes, .. }
            | OutcomeRecordError::Closed { outcomes } => outcomes,
        }
    }
}

/// Why a queued batch of outcomes was not appended (delivered through its handle). In every
/// case nothing of the batch is in the ledger (for `Failed`, see [`PersistError`]).
#[derive(Debug, Clone, thiserror::Error)]
pub enum OutcomePersistError {
    /// The outcome at `index` of the batch names a signal_id the ledger does not hold (not
    /// recorded, or its signal was refused or failed before it).
    #[error("not persisted: outcome {index}: no signal with signal_id {signal_id:?} is recorded in this ledger")]
    UnknownSignal {
        /// Index of the outcome in the batch.
        index: usize,
        /// The id.
        signal_id: String,
    },
    /// The ledger found the outcome at `index` breaking a rule.
    #[error("not persisted: outcome {index}: {error}")]
    Invalid {
        /// Index of the outcome in the batch.
        index: usize,
        /// The rule broken.
        error: FieldError,
    },
    /// The append failed, or the writer stopped, as for a group of signals.
    #[error(transparent)]
    Failed(PersistError),
}

impl OutcomePersistError {
    /// Index in the batch of the outcome at fault, when one outcome is.
    pub fn index(&self) -> Option<usize> {
        match self {
            OutcomePersistError::UnknownSignal { index, .. }
            | OutcomePersistError::Invalid { index, .. } => Some(*index),
            OutcomePersistError::Failed(_) => None,
        }
    }
}
