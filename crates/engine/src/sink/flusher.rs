//! The sink's writer thread: takes groups off the queue in order, appends each as one durable
//! batch, completes its handles, and keeps the metrics file.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::config::SinkConfig;
use super::error::PersistError;
use super::handle::Committed;
use super::metrics::Metrics;
use super::queue::{Group, Next, Queue};
use crate::error::LedgerError;
use crate::ledger::{now_ns, Ledger, OpenOptions};
use crate::record::ValidSignal;

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

    /// Commits groups until the queue is closed and empty.
    pub(crate) fn run(mut self) {
        let queue = Arc::clone(&self.queue);
        let _guard = FailQueuedOnUnwind(&queue);
        loop {
            match queue.next(self.config.flush_interval, METRICS_EVERY) {
                Next::Groups(groups) => {
                    self.commit(groups);
                    self.metrics_dirty = true;
                    if self
                        .metrics_written
                        .is_none_or(|at| at.elapsed() >= METRICS_EVERY)
                    {
                        self.write_metrics();
                    }
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

    /// Appends `groups` as one batch and completes each group's handles.
    fn commit(&mut self, groups: Vec<Group>) {
        let mut ledger = match self.writable_ledger() {
            Ok(ledger) => ledger,
            Err(error) => return self.fail(groups, error),
        };
        let parts: Vec<&[ValidSignal]> = groups.iter().map(|g| g.signals.as_slice()).collect();
        let started = Instant::now();
        let appended = ledger.append_valid_parts(&parts);
        let durable_at = Instant::now();
        let durable_at_ns = now_ns();
        self.ledger = Some(ledger);
        let receipt = match appended {
            Ok(receipt) => receipt,
            Err(error) => {
                // A poisoned writer could not undo the append: remove its leftovers now, so
                // that "not persisted" is true when the handles hear it.
                let poisoned = self.ledger.as_ref().is_some_and(|l| l.poisoned().is_some());
                if poisoned {
                    match self.writable_ledger() {
                        Ok(ledger) => self.ledger = Some(ledger),
                        Err(cleanup) => return self.fail_not_undone(groups, error, cleanup),
                    }
                }
                return self.fail(groups, error);
            }
        };
        self.metrics.committed(
            &groups,
            receipt.sync_time,
            durable_at - started,
            durable_at_ns,
            durable_at,
        );
        let mut seq = receipt.first_seq;
        let mut row_hashes = receipt.row_hashes.iter();
        let mut signal_ids = receipt.signal_ids.into_iter();
        for group in groups {
            let n = group.signals.len();
            let committed = Committed {
                first_seq: seq,
                row_hashes: row_hashes.by_ref().take(n).copied().collect(),
                signal_ids: signal_ids.by_ref().take(n).collect(),
                recorded_at_ns: receipt.recorded_at_ns,
            };
            debug_assert_eq!(committed.row_hashes.len(), n, "one row hash per signal");
            seq += n as u64;
            group.completion.complete(Ok(Arc::new(committed)));
        }
    }

    /// Fails every handle of `groups` with `error` (the append left nothing behind).
    fn fail(&self, groups: Vec<Group>, error: LedgerError) {
        self.metrics.failed(&groups, &error);
        let error = Arc::new(error);
        for group in groups {
            group
                .completion
                .complete(Err(PersistError::Append(Arc::clone(&error))));
        }
    }

    /// Fails every handle of `groups`: the append failed with `error`, and removing what it
    /// wrote failed with `cleanup` (retried before the next append).
    fn fail_not_undone(&self, groups: Vec<Group>, error: LedgerError, cleanup: LedgerError) {
        self.metrics.failed(&groups, &error);
        let (error, cleanup) = (Arc::new(error), Arc::new(cleanup));
        for group in groups {
            group
                .completion
                .complete(Err(PersistError::AppendNotUndone {
                    error: Arc::clone(&error),
                    cleanup: Arc::clone(&cleanup),
                }));
        }
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

fn parent_dir(path: &Path) -> &Path {
    path.parent().unwrap_or(Path::new("."))
}
