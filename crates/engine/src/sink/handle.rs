//! Completion of a committed group, and the handles producers wait on: blocking or as futures.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use super::error::{OutcomePersistError, PersistError};
pub use crate::writer::Durable;
use crate::writer::OutcomeReceipt;

/// What became of each signal of a committed group, in group order: where it is, or why the
/// ledger refused it (its push's signals only; the rest of the group was appended).
#[derive(Debug)]
pub(crate) struct Committed {
    pub outcomes: Vec<Result<Durable, PersistError>>,
}

/// What a group of signals ends with: every signal's outcome, or the failure of them all.
pub(crate) type GroupResult = Result<Arc<Committed>, PersistError>;

/// What a batch of outcomes ends with: the append's receipt, or why nothing was appended.
pub(crate) type OutcomesResult = Result<OutcomeReceipt, OutcomePersistError>;

/// A result a unit's handles get when the writer stopped before committing the unit.
pub(crate) trait WriterStopped {
    /// The "writer stopped" failure.
    fn writer_stopped() -> Self;
}

impl WriterStopped for GroupResult {
    fn writer_stopped() -> Self {
        Err(PersistError::WriterStopped)
    }
}

impl WriterStopped for OutcomesResult {
    fn writer_stopped() -> Self {
        Err(OutcomePersistError::Failed(PersistError::WriterStopped))
    }
}

enum SlotState<T> {
    Pending(Vec<Waker>),
    Done(T),
}

/// The result of one queued unit (a group of signals, or a batch of outcomes), shared by the
/// handles waiting on it.
pub(crate) struct Slot<T = GroupResult> {
    state: Mutex<SlotState<T>>,
    done: Condvar,
}

impl<T: Clone> Slot<T> {
    fn new() -> Slot<T> {
        Slot {
            state: Mutex::new(SlotState::Pending(Vec::new())),
            done: Condvar::new(),
        }
    }

    fn complete(&self, outcome: T) {
        let previous = std::mem::replace(&mut *self.state.lock(), SlotState::Done(outcome));
        self.done.notify_all();
        match previous {
            SlotState::Pending(wakers) => wakers.into_iter().for_each(Waker::wake),
            SlotState::Done(_) => debug_assert!(false, "a unit completes once"),
        }
    }

    fn try_get(&self) -> Option<T> {
        match &*self.state.lock() {
            SlotState::Done(outcome) => Some(outcome.clone()),
            SlotState::Pending(_) => None,
        }
    }

    /// Blocks until the unit is committed or failed.
    pub(crate) fn wait(&self) -> T {
        let mut state = self.state.lock();
        loop {
            if let SlotState::Done(outcome) = &*state {
                return outcome.clone();
            }
            self.done.wait(&mut state);
        }
    }

    fn wait_until(&self, deadline: Instant) -> Option<T> {
        let mut state = self.state.lock();
        loop {
            if let SlotState::Done(outcome) = &*state {
                return Some(outcome.clone());
            }
            if self.done.wait_until(&mut state, deadline).timed_out() {
                return match &*state {
                    SlotState::Done(outcome) => Some(outcome.clone()),
                    SlotState::Pending(_) => None,
                };
            }
        }
    }

    fn poll(&self, cx: &mut Context<'_>) -> Poll<T> {
        match &mut *self.state.lock() {
            SlotState::Done(outcome) => Poll::Ready(outcome.clone()),
            SlotState::Pending(wakers) => {
                if !wakers.iter().any(|w| w.will_wake(cx.waker())) {
                    wakers.push(cx.waker().clone());
                }
                Poll::Pending
            }
        }
    }
}

/// The writer's side of a unit's [`Slot`]: completes it exactly once, and on drop without
/// completing (the writer stopped) fails it, so no handle waits forever.
pub(crate) struct Completion<T: Clone + WriterStopped = GroupResult> {
    slot: Arc<Slot<T>>,
    completed: bool,
}

impl<T: Clone + WriterStopped> Completion<T> {
    pub(crate) fn new() -> Completion<T> {
        Completion {
            slot: Arc::new(Slot::new()),
            completed: false,
        }
    }

    pub(crate) fn slot(&self) -> &Arc<Slot<T>> {
        &self.slot
    }

    pub(crate) fn complete(mut self, outcome: T) {
        self.completed = true;
        self.slot.complete(outcome);
    }
}

impl<T: Clone + WriterStopped> Drop for Completion<T> {
    fn drop(&mut self) {
        if !self.completed {
            self.slot.complete(T::writer_stopped());
        }
    }
}

fn durable_at(committed: &Committed, index: usize) -> Result<Durable, PersistError> {
    // The fallback is unreachable: a group has one outcome per queued signal.
    committed
        .outcomes
        .get(index)
        .cloned()
        .unwrap_or(Err(PersistError::WriterStopped))
}

/// A queued signal's claim on its outcome: wait for it ([`DurableHandle::wait`]) or `.await`
/// it. Dropping the handle does not withdraw the signal: it is persisted all the same.
#[derive(Clone)]
pub struct DurableHandle {
    slot: Arc<Slot>,
    index: usize,
}

impl std::fmt::Debug for DurableHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DurableHandle")
            .field("done", &self.slot.try_get().is_some())
            .finish()
    }
}

impl DurableHandle {
    pub(crate) fn new(slot: Arc<Slot>, index: usize) -> DurableHandle {
        DurableHandle { slot, index }
    }

    /// Blocks until the signal is durable (its seq and row hash) or failed.
    pub fn wait(&self) -> Result<Durable, PersistError> {
        self.slot.wait().and_then(|c| durable_at(&c, self.index))
    }

    /// [`DurableHandle::wait`] for at most `timeout`; None if still pending then.
    pub fn wait_timeout(&self, timeout: Duration) -> Option<Result<Durable, PersistError>> {
        let outcome = self.slot.wait_until(Instant::now() + timeout)?;
        Some(outcome.and_then(|c| durable_at(&c, self.index)))
    }

    /// The outcome if known, without waiting.
    pub fn try_result(&self) -> Option<Result<Durable, PersistError>> {
        let outcome = self.slot.try_get()?;
        Some(outcome.and_then(|c| durable_at(&c, self.index)))
    }
}

impl Future for DurableHandle {
    type Output = Result<Durable, PersistError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let index = self.index;
        self.slot
            .poll(cx)
            .map(|outcome| outcome.and_then(|c| durable_at(&c, index)))
    }
}

/// The claim of a `record_batch` on its outcome: all its signals, durable together or failed
/// together.
#[derive(Clone)]
pub struct BatchHandle {
    slot: Option<Arc<Slot>>,
    start: usize,
    len: usize,
}

impl std::fmt::Debug for BatchHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchHandle")
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

impl BatchHandle {
    pub(crate) fn new(slot: Arc<Slot>, start: usize, len: usize) -> BatchHandle {
        BatchHandle {
            slot: Some(slot),
            start,
            len,
        }
    }

    pub(crate) fn empty() -> BatchHandle {
        BatchHandle {
            slot: None,
            start: 0,
            len: 0,
        }
    }

    /// Signals in the batch.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the batch was empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Blocks until the batch is durable (each signal's seq and row hash, in order) or failed.
    pub fn wait(&self) -> Result<Vec<Durable>, PersistError> {
        match &self.slot {
            Some(slot) => slot.wait().and_then(|c| self.all(&c)),
            None => Ok(Vec::new()),
        }
    }

    /// [`BatchHandle::wait`] for at most `timeout`; None if still pending then.
    pub fn wait_timeout(&self, timeout: Duration) -> Option<Result<Vec<Durable>, PersistError>> {
        match &self.slot {
            Some(slot) => {
                let outcome = slot.wait_until(Instant::now() + timeout)?;
                Some(outcome.and_then(|c| self.all(&c)))
            }
            None => Some(Ok(Vec::new())),
        }
    }

    fn all(&self, committed: &Committed) -> Result<Vec<Durable>, PersistError> {
        (self.start..self.start + self.len)
            .map(|i| durable_at(committed, i))
            .collect()
    }
}

impl Future for BatchHandle {
    type Output = Result<Vec<Durable>, PersistError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &self.slot {
            Some(slot) => slot
                .poll(cx)
                .map(|outcome| outcome.and_then(|c| self.all(&c))),
            None => Poll::Ready(Ok(Vec::new())),
        }
    }
}

/// The claim of a `record_outcomes` call on its result: the receipt once all its outcomes are
/// durable (appended together, after everything queued before them), or why none was appended.
/// Wait for it ([`OutcomesHandle::wait`]) or `.await` it. Dropping the handle does not withdraw
/// the outcomes.
#[derive(Clone)]
pub struct OutcomesHandle {
    slot: Arc<Slot<OutcomesResult>>,
    len: usize,
}

impl std::fmt::Debug for OutcomesHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutcomesHandle")
            .field("len", &self.len)
            .field("done", &self.slot.try_get().is_some())
            .finish()
    }
}

impl OutcomesHandle {
    pub(crate) fn new(slot: Arc<Slot<OutcomesResult>>, len: usize) -> OutcomesHandle {
        OutcomesHandle { slot, len }
    }

    /// Outcomes in the batch.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the batch was empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Blocks until the outcomes are durable (the receipt: each one's seq, in batch order) or
    /// refused or failed (nothing of the batch appended).
    pub fn wait(&self) -> Result<OutcomeReceipt, OutcomePersistError> {
        self.slot.wait()
    }

    /// [`OutcomesHandle::wait`] for at most `timeout`; None if still pending then.
    pub fn wait_timeout(
        &self,
        timeout: Duration,
    ) -> Option<Result<OutcomeReceipt, OutcomePersistError>> {
        self.slot.wait_until(Instant::now() + timeout)
    }

    /// The result if known, without waiting.
    pub fn try_result(&self) -> Option<Result<OutcomeReceipt, OutcomePersistError>> {
        self.slot.try_get()
    }
}

impl Future for OutcomesHandle {
    type Output = Result<OutcomeReceipt, OutcomePersistError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.slot.poll(cx)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::hash::Hash;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::Wake;

    fn committed(n: usize) -> Arc<Committed> {
        Arc::new(Committed {
            outcomes: (0..n)
                .map(|i| {
                    Ok(Durable {
                        seq: 10 + i as u64,
                        row_hash: Hash([i as u8; 32]),
                        signal_id: format!("id-{i}"),
                        recorded_at_ns: 7,
                        already_recorded: false,
                    })
                })
                .collect(),
        })
    }

    #[test]
    fn each_handle_gets_its_own_seq_and_hash() {
        let completion = Completion::new();
        let a = DurableHandle::new(Arc::clone(completion.slot()), 0);
        let b = DurableHandle::new(Arc::clone(completion.slot()), 2);
        let batch = BatchHandle::new(Arc::clone(completion.slot()), 1, 2);
        assert!(a.try_result().is_none());
        assert!(a.wait_timeout(Duration::from_millis(1)).is_none());
        completion.complete(Ok(committed(3)));
        let a = a.wait().unwrap();
        assert_eq!(
            (a.seq, a.row_hash, a.signal_id.as_str()),
            (10, Hash([0; 32]), "id-0")
        );
        assert_eq!(b.wait().unwrap().seq, 12);
        let seqs: Vec<u64> = batch.wait().unwrap().iter().map(|d| d.seq).collect();
        assert_eq!(seqs, [11, 12]);
    }

    #[test]
    fn a_completion_dropped_unfinished_fails_its_handles() {
        let completion = Completion::new();
        let handle = DurableHandle::new(Arc::clone(completion.slot()), 0);
        drop(completion);
        assert!(matches!(handle.wait(), Err(PersistError::WriterStopped)));
    }

    struct CountingWaker(AtomicUsize);

    impl Wake for CountingWaker {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn a_polled_handle_is_woken_once_complete() {
        let completion = Completion::new();
        let mut handle = DurableHandle::new(Arc::clone(completion.slot()), 1);
        let counter = Arc::new(CountingWaker(AtomicUsize::new(0)));
        let waker = Waker::from(Arc::clone(&counter));
        let mut cx = Context::from_waker(&waker);
        assert!(Pin::new(&mut handle).poll(&mut cx).is_pending());
        assert!(Pin::new(&mut handle).poll(&mut cx).is_pending());
        completion.complete(Ok(committed(2)));
        assert_eq!(
            counter.0.load(Ordering::SeqCst),
            1,
            "one waker, registered once"
        );
        match Pin::new(&mut handle).poll(&mut cx) {
            Poll::Ready(Ok(d)) => assert_eq!(d.seq, 11),
            other => panic!("expected ready, got {other:?}"),
        }
    }
}
