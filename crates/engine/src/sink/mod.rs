//! `SignalSink`: the one write interface every producer calls, from any number of threads.
//!
//! Producers hand signals to [`SignalSink::record`], which validates them on the producer's own
//! thread, queues them and returns at once with a [`DurableHandle`]; signals validated already
//! (a [`ValidSignal`] from the NDJSON parser) go to [`SignalSink::record_valid`] or
//! [`SignalSink::record_valid_batch`] and are not validated again — a refusal gives them back
//! still validated ([`NotQueued`]). One background flusher
//! thread owns the [`Ledger`] and commits the queue in groups: a group is one append, so one
//! write and one sync, however many producers it serves (group commit); a writer that fell
//! behind commits several waiting groups in one append. A handle completes —
//! with the signal's seq and row hash — only after its group is durable, or with the error that
//! stopped the group.
//!
//! What an acknowledgement means is the ledger's [`Durability`](crate::Durability): with
//! `fdatasync` or `fsync`, a completed handle survives a crash or a power loss; with `none`, it
//! survives a crash of the process but not of the machine. A signal whose handle has not
//! completed may be lost by a crash in every mode: it was never acknowledged.
//!
//! Outcomes (whether a signal was acted upon) go through the same queue:
//! [`SignalSink::record_outcomes`] queues a batch of them as a unit of its own, which the
//! writer appends with [`Ledger::append_outcomes`] — one append, all the batch or none of it —
//! after every unit queued before it. An outcome may so name a signal queued before it whose
//! handle has not completed yet.
//!
//! Invariants:
//! - units (groups of signals, batches of outcomes) are committed in the order they were
//!   queued, and the signals of a group in the order they were queued, so seqs follow queue
//!   order; a group only grows while it is the newest unit, so a signal queued after a batch
//!   of outcomes is appended after it;
//! - every queued signal's handle and every batch of outcomes' handle completes exactly once —
//!   durable, failed with the append's error (or refused by the ledger), or failed because the
//!   writer stopped — even if its producer dropped the handle;
//! - the queue holds at most `max_queued_signals` entries (signals and outcomes) and
//!   `max_queued_bytes` bytes (plus the units being committed); a producer that would exceed
//!   it waits or is refused, it is never dropped silently.

mod config;
mod error;
mod flusher;
mod handle;
mod metrics;
mod queue;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;

use parking_lot::Mutex;

pub use crate::files::METRICS_FILE;
pub use config::SinkConfig;
pub use error::{NotQueued, OutcomePersistError, OutcomeRecordError, PersistError, RecordError};
pub use handle::{BatchHandle, Durable, DurableHandle, OutcomesHandle};
pub use metrics::{Distribution, SinkMetrics};

use crate::config::PersistenceConfig;
use crate::error::{LedgerError, Result};
use crate::record::outcome::Outcome;
use crate::record::{Signal, ValidSignal};
use crate::writer::Ledger;
use metrics::Metrics;
use queue::{Newest, Queue, Refused, RefusedOutcomes};

/// The batching, group-committing write interface over one [`Ledger`]; share it between
/// producer threads by reference or in an `Arc`.
pub struct SignalSink {
    queue: Arc<Queue>,
    metrics: Arc<Metrics>,
    flusher: Mutex<Option<JoinHandle<()>>>,
    config: SinkConfig,
    /// The ledger's settings in force (its `ledger.toml` with any overrides it was opened with).
    persistence: PersistenceConfig,
    dir: PathBuf,
}

impl std::fmt::Debug for SignalSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignalSink")
            .field("dir", &self.dir)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl SignalSink {
    /// Opens the ledger in `dir` for writing and starts a sink over it, configured from the
    /// ledger's settings ([`SinkConfig::from_persistence`]).
    pub fn open(dir: &Path) -> Result<SignalSink> {
        let ledger = Ledger::open(dir)?;
        let config = SinkConfig::from_persistence(ledger.config());
        SignalSink::start(ledger, config)
    }

    /// Starts a sink that owns `ledger` (its writer thread is the only one to touch it).
    pub fn start(ledger: Ledger, config: SinkConfig) -> Result<SignalSink> {
        let dir = ledger.dir().to_path_buf();
        let persistence = ledger.config().clone();
        let queue = Arc::new(Queue::new(&config));
        let metrics = Arc::new(Metrics::new(ledger.config().durability));
        let metrics_path = config.metrics_file.then(|| dir.join(METRICS_FILE));
        let flusher = flusher::Flusher::new(
            ledger,
            Arc::clone(&queue),
            Arc::clone(&metrics),
            config.clone(),
            metrics_path,
        );
        let thread = std::thread::Builder::new()
            .name("signal-sink-flusher".into())
            .spawn(move || flusher.run())
            .map_err(|e| LedgerError::io("start the sink's flusher thread", &dir, e))?;
        Ok(SignalSink {
            queue,
            metrics,
            flusher: Mutex::new(Some(thread)),
            config,
            persistence,
            dir,
        })
    }

    /// The ledger's settings in force: its `ledger.toml` with the overrides it was opened with.
    pub fn persistence(&self) -> &PersistenceConfig {
        &self.persistence
    }

    /// The settings in force.
    pub fn config(&self) -> &SinkConfig {
        &self.config
    }

    /// The ledger directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Validates `signal` on this thread and queues it. Returns at once unless the queue is
    /// full, in which case it waits up to `backpressure_timeout` for room, then refuses with
    /// [`RecordError::Backpressure`] (giving the signal back). An invalid signal is refused
    /// with [`RecordError::Invalid`] and never reaches a batch.
    pub fn record(&self, signal: Signal) -> std::result::Result<DurableHandle, RecordError> {
        let valid = self.validate(signal, None)?;
        Ok(self.record_valid(valid)?)
    }

    /// [`SignalSink::record`] for a signal validated already (by the NDJSON parser, say): it is
    /// not validated again, and a refusal gives it back still validated.
    pub fn record_valid(
        &self,
        signal: ValidSignal,
    ) -> std::result::Result<DurableHandle, NotQueued> {
        let (slot, index) = self
            .queue
            .push(vec![signal], Some(self.config.backpressure_timeout))
            .map_err(|refused| self.not_queued(refused))?;
        self.metrics.add_recorded(1);
        Ok(DurableHandle::new(slot, index))
    }

    /// [`SignalSink::record`] that never blocks: a full queue refuses at once with
    /// [`RecordError::Full`] (giving the signal back).
    pub fn try_record(&self, signal: Signal) -> std::result::Result<DurableHandle, RecordError> {
        let valid = self.validate(signal, None)?;
        let (slot, index) = self
            .queue
            .push(vec![valid], None)
            .map_err(|refused| self.refused(refused))?;
        self.metrics.add_recorded(1);
        Ok(DurableHandle::new(slot, index))
    }

    /// Validates `signals` on this thread and queues them together
    /// ([`SignalSink::record_valid_batch`]). An invalid signal refuses the whole batch (nothing
    /// is queued) with its index.
    pub fn record_batch(
        &self,
        signals: Vec<Signal>,
    ) -> std::result::Result<BatchHandle, RecordError> {
        let mut valid = Vec::with_capacity(signals.len());
        for (index, signal) in signals.into_iter().enumerate() {
            valid.push(self.validate(signal, Some(index))?);
        }
        Ok(self.record_valid_batch(valid)?)
    }

    /// Queues `signals`, validated already, together: they are committed in one append, in
    /// this order, so they all become durable or none does. Blocks for room like
    /// [`SignalSink::record`]; a refusal gives the signals back still validated.
    pub fn record_valid_batch(
        &self,
        signals: Vec<ValidSignal>,
    ) -> std::result::Result<BatchHandle, NotQueued> {
        let len = signals.len();
        if len == 0 {
            return Ok(BatchHandle::empty());
        }
        let (slot, start) = self
            .queue
            .push(signals, Some(self.config.backpressure_timeout))
            .map_err(|refused| self.not_queued(refused))?;
        self.metrics.add_recorded(len as u64);
        Ok(BatchHandle::new(slot, start, len))
    }

    /// Validates `outcomes` on this thread and queues them as one batch behind everything
    /// queued so far: the writer appends them in one append ([`Ledger::append_outcomes`]), all
    /// durable or none, after the signals queued before them — so an outcome may name a signal
    /// whose handle has not completed yet. Blocks for room like [`SignalSink::record`]. An
    /// invalid outcome refuses the whole batch (nothing is queued) with its index; one naming
    /// a signal_id the ledger does not hold fails the batch through its handle
    /// ([`OutcomePersistError::UnknownSignal`], with its index).
    pub fn record_outcomes(
        &self,
        outcomes: Vec<Outcome>,
    ) -> std::result::Result<OutcomesHandle, OutcomeRecordError> {
        for (index, outcome) in outcomes.iter().enumerate() {
            outcome
                .validate()
                .map_err(|error| OutcomeRecordError::Invalid { index, error })?;
        }
        let len = outcomes.len();
        let slot = self
            .queue
            .push_outcomes(outcomes, Some(self.config.backpressure_timeout))
            .map_err(|refused| self.refused_outcomes(refused))?;
        self.metrics.add_outcomes_recorded(len as u64);
        Ok(OutcomesHandle::new(slot, len))
    }

    /// Commits everything queued before this call without waiting for batches to fill, and
    /// returns once it is durable. Returns the error of the last unit if its append failed
    /// (each handle still carries its own outcome; a batch of outcomes the ledger refused is
    /// not a failed append).
    pub fn flush(&self) -> std::result::Result<(), PersistError> {
        match self.queue.request_flush() {
            Some(Newest::Group(slot)) => slot.wait().map(|_| ()),
            Some(Newest::Outcomes(slot)) => match slot.wait() {
                Err(OutcomePersistError::Failed(failure)) => Err(failure),
                Ok(_)
                | Err(
                    OutcomePersistError::UnknownSignal { .. } | OutcomePersistError::Invalid { .. },
                ) => Ok(()),
            },
            None => Ok(()),
        }
    }

    /// What the sink has done so far.
    pub fn metrics(&self) -> SinkMetrics {
        self.metrics.snapshot(&self.queue.depth())
    }

    /// Stops taking signals and outcomes (later calls get [`RecordError::Closed`] or
    /// [`OutcomeRecordError::Closed`]), commits everything
    /// queued, stops the writer thread and returns the final metrics. Idempotent; dropping the
    /// sink does the same.
    pub fn shutdown(&self) -> SinkMetrics {
        self.queue.close();
        if let Some(thread) = self.flusher.lock().take() {
            if thread.join().is_err() {
                // The flusher's guard has failed every queued handle already; this covers
                // anything queued after it ran.
                self.queue.fail_all();
            }
        }
        self.metrics()
    }

    fn validate(
        &self,
        signal: Signal,
        index: Option<usize>,
    ) -> std::result::Result<ValidSignal, RecordError> {
        ValidSignal::new(signal).map_err(|error| {
            self.metrics.add_refused_invalid();
            RecordError::Invalid { index, error }
        })
    }

    fn refused_outcomes(&self, refused: RefusedOutcomes) -> OutcomeRecordError {
        let outcomes = refused.outcomes;
        match refused.why {
            queue::Why::Closed => OutcomeRecordError::Closed { outcomes },
            // `record_outcomes` always waits for room: a full queue times out.
            queue::Why::Full { queued } => OutcomeRecordError::Backpressure {
                waited: std::time::Duration::ZERO,
                queued,
                outcomes,
            },
            queue::Why::TimedOut { waited, queued } => OutcomeRecordError::Backpressure {
                waited,
                queued,
                outcomes,
            },
        }
    }

    /// A refusal of a push that did not wait (`try_record`), counted.
    fn refused(&self, refused: Refused) -> RecordError {
        match refused.why {
            queue::Why::Full { queued } => {
                self.metrics.add_refused_full(refused.signals.len() as u64);
                RecordError::Full {
                    queued,
                    signals: refused.signals,
                }
            }
            _ => self.not_queued(refused).into(),
        }
    }

    /// A refusal of a push that waited for room, counted.
    fn not_queued(&self, refused: Refused) -> NotQueued {
        let n = refused.signals.len() as u64;
        let signals = refused.signals;
        match refused.why {
            queue::Why::Closed => {
                self.metrics.add_refused_closed(n);
                NotQueued::Closed { signals }
            }
            // A push that waits for room times out rather than finding the queue full.
            queue::Why::Full { queued } => {
                self.metrics.add_refused_full(n);
                NotQueued::Backpressure {
                    waited: std::time::Duration::ZERO,
                    queued,
                    signals,
                }
            }
            queue::Why::TimedOut { waited, queued } => {
                self.metrics.add_refused_full(n);
                NotQueued::Backpressure {
                    waited,
                    queued,
                    signals,
                }
            }
        }
    }
}

impl Drop for SignalSink {
    fn drop(&mut self) {
        self.shutdown();
    }
}
