//! The sink's writer thread: takes units off the queue in order — groups of signals, batches
//! of outcomes — appends each as one durable batch, completes its handles, and keeps the
//! metrics file.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::config::SinkConfig;
use super::error::{OutcomePersistError, PersistError};
use super::handle::{Committed, Durable};
use super::metrics::Metrics;
use super::queue::{Group, Next, OutcomeBatch, Queue};
use crate::clock::now_ns;
use crate::error::LedgerError;
use crate::record::ValidSignal;
use crate::writer::{Ledger, OpenOptions};

/// How often the metrics file is rewritten at most, and an idle writer wakes to do so.
const METRICS_EVERY: Duration = Duration::from_secs(1);

/// The writer: the only owner of the [`Ledger`] while the sink runs.
pub(crate) struct Flusher {
    /// The writer; None after a reopen failed (tried again before the next group).
    ledger: Option<Ledger>,
    /// While set, the entries from this seq on are leftovers of a failed append that could not
    /// be removed yet: the next open removes them first.
    discard_from: Option<u64>,
    dir: PathBuf,
    reopen: OpenOptions,
    queue: Arc<Queue>,
    metrics: Arc<Metrics>,
    config: SinkConfig,
    metrics_path: Option<PathBuf>,
    metrics_written: Option<Instant>,
    metrics_dirty: bool,
}

/// Fails every queued handle if the writer thread unwinds, so no producer waits forever.
struct FailQueuedOnUnwind<'a>(&'a Queue);

impl Drop for FailQueuedOnUnwind<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.fail_all();
        }
    }
}

impl Flusher {
    pub(crate) fn new(
        ledger: Ledger,
        queue: Arc<Queue>,
        metrics: Arc<Metrics>,
        config: SinkConfig,
        metrics_path: Option<PathBuf>,
    ) -> Flusher {
        Flusher {
            dir: ledger.dir().to_path_buf(),
            reopen: ledger.open_options(),
            discard_from: ledger.poisoned_from_seq(),
            ledger: Some(ledger),
            queue,
            metrics,
            config,
            metrics_path,
            metrics_written: None,
            metrics_dirty: true,
        }
    }

    /// Commits units until the queue is closed and empty.
    pub(crate) fn run(mut self) {
        let queue = Arc::clone(&self.queue);
        let _guard = FailQueuedOnUnwind(&queue);
        loop {
            match queue.next(self.config.flush_interval, METRICS_EVERY) {
                Next::Groups(groups) => {
                    self.commit(groups);
                    self.committed_some();
                }
                Next::Outcomes(batch) => {
                    self.commit_outcomes(batch);
                    self.committed_some();
                }
                Next::Idle => {
                    if self.metrics_dirty {
                        self.write_metrics();
                    }
                }
                Next::Closed => break,
            }
        }
        self.write_metrics();
    }

    /// After a commit: the metrics changed; rewrite their file if it is due.
    fn committed_some(&mut self) {
        self.metrics_dirty = true;
        if self
            .metrics_written
            .is_none_or(|at| at.elapsed() >= METRICS_EVERY)
        {
            self.write_metrics();
        }
    }

    /// Appends `groups` as one batch and completes each group's handles. The signals of a push
    /// (one `record` or `record_batch` call) the ledger refuses — a signal_id taken by a
    /// different signal — fail alone, and the rest are appended without them.
    fn commit(&mut self, groups: Vec<Group>) {
        let units: Vec<(usize, Range<usize>)> = groups
            .iter()
            .enumerate()
            .flat_map(|(g, group)| group.units.iter().map(move |r| (g, r.clone())))
            .collect();
        let mut refusals: Vec<Option<PersistError>> = vec![None; units.len()];
        let mut ledger = match self.writable_ledger() {
            Ok(ledger) => ledger,
            Err(error) => return self.fail(groups, &units, &refusals, error),
        };
        let parts: Vec<&[ValidSignal]> = units
            .iter()
            .map(|(g, range)| {
                groups
                    .get(*g)
                    .and_then(|group| group.signals.get(range.clone()))
                    .unwrap_or_default()
            })
            .collect();
        let started = Instant::now();
        let appended = ledger.append_units(&parts);
        let durable_at = Instant::now();
        let durable_at_ns = now_ns();
        self.ledger = Some(ledger);
        let appended = match appended {
            Ok(appended) => appended,
            Err(error) => return self.fail_append(groups, &units, &refusals, error),
        };
        for (u, error) in appended.refused {
            let n = units.get(u).map_or(0, |(_, r)| r.len());
            self.metrics.add_refused_id_taken(n as u64);
            if let Some(slot) = refusals.get_mut(u) {
                *slot = Some(refusal(error));
            }
        }
        let kept: Vec<(usize, Range<usize>)> = units
            .iter()
            .zip(&refusals)
            .filter(|(_, refused)| refused.is_none())
            .map(|(unit, _)| unit.clone())
            .collect();
        if !kept.is_empty() {
            self.metrics.committed(
                &groups,
                &kept,
                appended.receipt.count,
                appended.receipt.sync_time,
                durable_at - started,
                durable_at_ns,
                durable_at,
            );
        }
        let durable = appended.receipt.into_durable().into_iter();
        complete(groups, &units, &refusals, durable, None);
    }

    /// Fails `groups` after their append failed: a poisoned writer could not undo the append,
    /// so its leftovers are removed first, making "not persisted" true when the handles hear it.
    fn fail_append(
        &mut self,
        groups: Vec<Group>,
        units: &[(usize, Range<usize>)],
        refusals: &[Option<PersistError>],
        error: LedgerError,
    ) {
        if let Err(cleanup) = self.undo_failed_append() {
            self.metrics.failed(unrefused(units, refusals), &error);
            let failure = PersistError::AppendNotUndone {
                error: Arc::new(error),
                cleanup: Arc::new(cleanup),
            };
            return complete(
                groups,
                units,
                refusals,
                Vec::new().into_iter(),
                Some(failure),
            );
        }
        self.fail(groups, units, refusals, error)
    }

    /// After an append failed: a writer the failure poisoned is reopened, which removes what
    /// the append left. Err(why) when that failed too: the leftovers stay until the next
    /// append, which tries again first ([`Flusher::writable_ledger`]).
    fn undo_failed_append(&mut self) -> Result<(), LedgerError> {
        let poisoned = self.ledger.as_ref().is_some_and(|l| l.poisoned().is_some());
        if poisoned {
            self.ledger = Some(self.writable_ledger()?);
        }
        Ok(())
    }

    /// Appends `batch`'s outcomes in one append of their own (all or none) and completes its
    /// handle: with the receipt, with the ledger's refusal naming the outcome at fault (an
    /// unknown signal_id; nothing written), or with the append's failure, handled as for a
    /// group of signals (a poisoned writer is reopened, removing the append's leftovers).
    fn commit_outcomes(&mut self, batch: OutcomeBatch) {
        let n = batch.outcomes.len() as u64;
        let mut ledger = match self.writable_ledger() {
            Ok(ledger) => ledger,
            Err(error) => {
                self.metrics.outcomes_failed(n, &error);
                let failure = PersistError::Append(Arc::new(error));
                return batch
                    .completion
                    .complete(Err(OutcomePersistError::Failed(failure)));
            }
        };
        let appended = ledger.append_outcomes(&batch.outcomes);
        self.ledger = Some(ledger);
        let result = match appended {
            Ok(receipt) => {
                self.metrics.outcomes_durable(receipt.outcomes.len() as u64);
                Ok(receipt)
            }
            Err(LedgerError::UnknownSignal { index, signal_id }) => {
                self.metrics.outcomes_refused(n);
                Err(OutcomePersistError::UnknownSignal { index, signal_id })
            }
            Err(LedgerError::InvalidOutcome { index, error }) => {
                self.metrics.outcomes_refused(n);
                Err(OutcomePersistError::Invalid { index, error })
            }
            Err(error) => {
                self.metrics.outcomes_failed(n, &error);
                let failure = match self.undo_failed_append() {
                    Ok(()) => PersistError::Append(Arc::new(error)),
                    Err(cleanup) => PersistError::AppendNotUndone {
                        error: Arc::new(error),
                        cleanup: Arc::new(cleanup),
                    },
                };
                Err(OutcomePersistError::Failed(failure))
            }
        };
        batch.completion.complete(result);
    }

    /// Fails every handle of `groups` not refused already with `error` (the append left
    /// nothing behind).
    fn fail(
        &self,
        groups: Vec<Group>,
        units: &[(usize, Range<usize>)],
        refusals: &[Option<PersistError>],
        error: LedgerError,
    ) {
        self.metrics.failed(unrefused(units, refusals), &error);
        let failure = PersistError::Append(Arc::new(error));
        complete(
            groups,
            units,
            refusals,
            Vec::new().into_iter(),
            Some(failure),
        );
    }

    /// The ledger, reopened first if an earlier failure poisoned it or a reopen failed. The
    /// open recovers a torn tail; for a poisoned writer it also removes what the failed
    /// append left ([`Ledger::reopen`]), remembered here until that succeeds.
    fn writable_ledger(&mut self) -> Result<Ledger, LedgerError> {
        let reopened = match self.ledger.take() {
            Some(ledger) if ledger.poisoned().is_none() => return Ok(ledger),
            Some(poisoned) => {
                self.discard_from = poisoned.poisoned_from_seq();
                poisoned.reopen()
            }
            None => match self.discard_from {
                Some(seq) => Ledger::open_discarding_from(&self.dir, self.reopen.clone(), seq),
                None => Ledger::open_with(&self.dir, self.reopen.clone()),
            },
        };
        if reopened.is_ok() {
            self.discard_from = None;
        }
        reopened
    }

    fn write_metrics(&mut self) {
        let Some(path) = &self.metrics_path else {
            return;
        };
        let snapshot = self.metrics.snapshot(&self.queue.depth());
        // Best effort: a metrics file that cannot be written must not stop the writer.
        let _ = snapshot.write_to(parent_dir(path));
        self.metrics_written = Some(Instant::now());
        self.metrics_dirty = false;
    }
}

/// Signals of `units` not refused.
fn unrefused(units: &[(usize, Range<usize>)], refusals: &[Option<PersistError>]) -> u64 {
    units
        .iter()
        .zip(refusals)
        .filter(|(_, r)| r.is_none())
        .map(|((_, range), _)| range.len() as u64)
        .sum()
}

/// What a handle hears when the ledger refused its signal (nothing of its push was written).
fn refusal(error: LedgerError) -> PersistError {
    match error {
        LedgerError::SignalIdTaken { signal_id, seq, .. } => PersistError::SignalIdTaken {
            signal_id,
            seq: Some(seq),
        },
        LedgerError::SignalIdRepeated { signal_id, .. } => PersistError::SignalIdTaken {
            signal_id,
            seq: None,
        },
        other => PersistError::Append(Arc::new(other)),
    }
}

/// Completes every group: a refused unit's signals with its refusal, the others with the next
/// entries of `durable` (the append's, in order), or with `failure` when the append failed. A
/// group with no refusal that failed as a whole gets the failure once, for all its handles.
fn complete(
    groups: Vec<Group>,
    units: &[(usize, Range<usize>)],
    refusals: &[Option<PersistError>],
    mut durable: std::vec::IntoIter<Durable>,
    failure: Option<PersistError>,
) {
    let mut unit_outcomes = units.iter().zip(refusals).peekable();
    for (g, group) in groups.into_iter().enumerate() {
        let mut outcomes = Vec::with_capacity(group.signals.len());
        let mut refused_any = false;
        while let Some(((_, range), refused)) = unit_outcomes.next_if(|((ug, _), _)| *ug == g) {
            for _ in range.clone() {
                let outcome = match (refused, &failure) {
                    (Some(why), _) => Err(why.clone()),
                    (None, Some(failure)) => Err(failure.clone()),
                    (None, None) => durable.next().ok_or(PersistError::WriterStopped),
                };
                outcomes.push(outcome);
            }
            refused_any |= refused.is_some();
        }
        debug_assert_eq!(
            outcomes.len(),
            group.signals.len(),
            "one outcome per signal"
        );
        match (&failure, refused_any) {
            (Some(failure), false) => group.completion.complete(Err(failure.clone())),
            _ => group
                .completion
                .complete(Ok(Arc::new(Committed { outcomes }))),
        }
    }
}

fn parent_dir(path: &Path) -> &Path {
    path.parent().unwrap_or(Path::new("."))
}
