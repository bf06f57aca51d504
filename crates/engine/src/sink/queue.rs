//! The bounded queue between producers and the writer: signals grouped as they arrive into
//! the groups the writer will commit, batches of outcomes in line between them, with waiting
//! for room (backpressure) and for work.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex, MutexGuard};

use super::config::SinkConfig;
use super::handle::{Completion, OutcomesResult, Slot};
use crate::record::outcome::Outcome;
use crate::record::{Signal, ValidSignal};

/// Most groups' worth of signals (`batch_size` each) the writer commits in one append when it is
/// behind: full groups waiting behind each other are written with one sync instead of one
/// each, which is what keeps a saturated sink's throughput up.
const MAX_GROUPS_PER_APPEND: usize = 16;

/// Signals the writer commits in one append, and whose handles complete together.
pub(crate) struct Group {
    /// The signals, in queue order.
    pub signals: Vec<ValidSignal>,
    /// When each was queued.
    pub queued_at: Vec<Instant>,
    /// Their approximate encoded size.
    pub bytes: usize,
    /// When the group's first signal was queued.
    pub opened: Instant,
    /// The signals of each push (one `record` or `record_batch` call), in order: the ledger
    /// may refuse one push's signals without failing the rest of the group.
    pub units: Vec<std::ops::Range<usize>>,
    /// Completes the handles of all its signals.
    pub completion: Completion,
}

impl Group {
    fn new(opened: Instant, capacity: usize) -> Group {
        Group {
            signals: Vec::with_capacity(capacity),
            queued_at: Vec::with_capacity(capacity),
            bytes: 0,
            opened,
            units: Vec::new(),
            completion: Completion::new(),
        }
    }

    /// Adds `signals`; returns the group's slot and the index of the first one.
    fn add(&mut self, signals: Vec<ValidSignal>, bytes: usize, now: Instant) -> (Arc<Slot>, usize) {
        let start = self.signals.len();
        let n = signals.len();
        self.signals.extend(signals);
        self.units.push(start..start + n);
        self.queued_at.extend(std::iter::repeat_n(now, n));
        self.bytes += bytes;
        (Arc::clone(self.completion.slot()), start)
    }
}

/// One `record_outcomes` call's outcomes: appended in one append of their own, all or none.
pub(crate) struct OutcomeBatch {
    /// The outcomes, in the caller's order.
    pub outcomes: Vec<Outcome>,
    /// Their approximate encoded size.
    pub bytes: usize,
    /// Completes the batch's handle.
    pub completion: Completion<OutcomesResult>,
}

/// What waits in the queue, in the order it was queued.
enum Queued {
    /// A group of signals (only the newest unit of the queue may still grow).
    Signals(Group),
    /// A batch of outcomes: the writer appends it after every unit before it and before every
    /// unit after it; a signal queued after it starts a new group.
    Outcomes(OutcomeBatch),
}

/// The slot of the newest unit ever queued: a flush waits on it.
#[derive(Clone)]
pub(crate) enum Newest {
    /// A group of signals.
    Group(Arc<Slot>),
    /// A batch of outcomes.
    Outcomes(Arc<Slot<OutcomesResult>>),
}

struct State {
    /// Units not yet taken by the writer, oldest first.
    units: VecDeque<Queued>,
    /// Signals in `units`.
    signals: usize,
    /// Outcomes in `units`.
    outcomes: usize,
    /// Approximate bytes of both.
    bytes: usize,
    max_signals_seen: usize,
    closed: bool,
    /// Commit without waiting for groups to fill, until the queue is empty.
    flush_now: bool,
    /// The slot of the newest unit ever queued (done, in flight or queued).
    newest: Option<Newest>,
}

impl State {
    /// Signals and outcomes queued: what the queue's count bound counts.
    fn entries(&self) -> usize {
        self.signals + self.outcomes
    }
}

/// Queue depth now.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Depth {
    pub signals: usize,
    pub bytes: usize,
    pub max_signals_seen: usize,
}

/// Why a push was refused.
pub(crate) enum Why {
    Closed,
    Full { queued: usize },
    TimedOut { waited: Duration, queued: usize },
}

/// A refused push: the reason and the signals, given back.
pub(crate) struct Refused {
    pub why: Why,
    pub signals: Vec<ValidSignal>,
}

/// A refused push of outcomes: the reason and the outcomes, given back.
pub(crate) struct RefusedOutcomes {
    pub why: Why,
    pub outcomes: Vec<Outcome>,
}

/// What the writer gets from [`Queue::next`].
pub(crate) enum Next {
    /// Groups to commit together, oldest first (more than one when the writer is behind).
    Groups(Vec<Group>),
    /// A batch of outcomes to append on its own (everything queued before it is taken).
    Outcomes(OutcomeBatch),
    /// Nothing arrived within the idle tick.
    Idle,
    /// Closed and empty: the writer is done.
    Closed,
}

/// The queue shared by the sink's producers and its writer.
pub(crate) struct Queue {
    state: Mutex<State>,
    /// Signalled when a signal is queued or the queue is closed or flushed (the writer waits).
    work: Condvar,
    /// Signalled when the writer takes a group or the queue closes (producers wait).
    room: Condvar,
    batch_size: usize,
    max_signals: usize,
    max_bytes: usize,
}

/// Approximate encoded size of a signal, for the queue's byte bound.
fn approx_size(s: &Signal) -> usize {
    let opt = |o: &Option<String>| o.as_ref().map_or(0, String::len);
    160 + s.signal_id.len()
        + s.source_module.len()
        + opt(&s.source_version)
        + s.ticker.len()
        + opt(&s.timeframe)
        + opt(&s.strategy_id)
        + opt(&s.correlation_id)
        + opt(&s.execution_id)
        + s.parent_signal_ids
            .iter()
            .map(|p| p.len() + 4)
            .sum::<usize>()
        + s.payload_json.len()
}

/// Approximate encoded size of an outcome, for the queue's byte bound.
fn approx_outcome_size(o: &Outcome) -> usize {
    120 + o.signal_id.len()
        + o.execution_id.as_ref().map_or(0, String::len)
        + o.reason.as_ref().map_or(0, String::len)
}

impl Queue {
    pub(crate) fn new(config: &SinkConfig) -> Queue {
        Queue {
            state: Mutex::new(State {
                units: VecDeque::new(),
                signals: 0,
                outcomes: 0,
                bytes: 0,
                max_signals_seen: 0,
                closed: false,
                flush_now: false,
                newest: None,
            }),
            work: Condvar::new(),
            room: Condvar::new(),
            batch_size: config.batch_size.max(1),
            max_signals: config.max_queued_signals.max(1),
            max_bytes: config.max_queued_bytes.max(1),
        }
    }

    /// Queues `signals` together in one group (joining the newest group if they fit in it),
    /// waiting up to `wait` for room (None: refuse at once when full). Returns the group's slot
    /// and the index of the first signal in it. An empty queue always takes a push, however
    /// large, so no batch is refused for its size alone.
    pub(crate) fn push(
        &self,
        signals: Vec<ValidSignal>,
        wait: Option<Duration>,
    ) -> Result<(Arc<Slot>, usize), Refused> {
        let n = signals.len();
        let bytes: usize = signals.iter().map(|s| approx_size(s)).sum();
        let mut state = self.state.lock();
        if let Err(why) = self.wait_for_room(&mut state, n, bytes, wait) {
            return Err(Refused { why, signals });
        }
        let now = Instant::now();
        state.signals += n;
        state.bytes += bytes;
        state.max_signals_seen = state.max_signals_seen.max(state.signals);
        let batch_size = self.batch_size;
        let (slot, start) = match state.units.back_mut() {
            Some(Queued::Signals(newest)) if newest.signals.len() + n <= batch_size => {
                newest.add(signals, bytes, now)
            }
            _ => {
                let mut group = Group::new(now, n.max(batch_size.min(4096)));
                let added = group.add(signals, bytes, now);
                state.newest = Some(Newest::Group(Arc::clone(&added.0)));
                state.units.push_back(Queued::Signals(group));
                added
            }
        };
        drop(state);
        self.work.notify_one();
        Ok((slot, start))
    }

    /// Queues `outcomes` as one batch behind everything queued so far (signals queued after
    /// them form a new group), waiting up to `wait` for room like [`Queue::push`]. Returns the
    /// batch's slot.
    pub(crate) fn push_outcomes(
        &self,
        outcomes: Vec<Outcome>,
        wait: Option<Duration>,
    ) -> Result<Arc<Slot<OutcomesResult>>, RefusedOutcomes> {
        let n = outcomes.len();
        let bytes: usize = outcomes.iter().map(approx_outcome_size).sum();
        let mut state = self.state.lock();
        if let Err(why) = self.wait_for_room(&mut state, n, bytes, wait) {
            return Err(RefusedOutcomes { why, outcomes });
        }
        state.outcomes += n;
        state.bytes += bytes;
        let batch = OutcomeBatch {
            outcomes,
            bytes,
            completion: Completion::new(),
        };
        let slot = Arc::clone(batch.completion.slot());
        state.newest = Some(Newest::Outcomes(Arc::clone(&slot)));
        state.units.push_back(Queued::Outcomes(batch));
        drop(state);
        self.work.notify_one();
        Ok(slot)
    }

    /// Waits (up to `wait`; None: not at all) until `n` more entries of `bytes` fit, or says
    /// why they cannot be queued. An empty queue always has room, however large the push.
    fn wait_for_room(
        &self,
        state: &mut MutexGuard<'_, State>,
        n: usize,
        bytes: usize,
        wait: Option<Duration>,
    ) -> Result<(), Why> {
        let full = |state: &State| {
            state.entries() != 0
                && (state.entries() + n > self.max_signals || state.bytes + bytes > self.max_bytes)
        };
        // Set when the producer first has to wait (most pushes never do).
        let mut started: Option<Instant> = None;
        loop {
            if state.closed {
                return Err(Why::Closed);
            }
            if !full(state) {
                return Ok(());
            }
            let queued = state.entries();
            let Some(wait) = wait else {
                return Err(Why::Full { queued });
            };
            let started = *started.get_or_insert_with(Instant::now);
            if self.room.wait_until(state, started + wait).timed_out() {
                if state.closed {
                    return Err(Why::Closed);
                }
                if full(state) {
                    return Err(Why::TimedOut {
                        waited: started.elapsed(),
                        queued: state.entries(),
                    });
                }
            }
        }
    }

    /// The next unit to commit: a batch of outcomes at once; the oldest group once it is
    /// full, has waited `linger`, has a unit queued behind it, or a flush or close asks for it.
    /// Waits at most `idle_tick` for one to arrive.
    pub(crate) fn next(&self, linger: Duration, idle_tick: Duration) -> Next {
        let mut state = self.state.lock();
        let idle_until = Instant::now() + idle_tick;
        loop {
            let wake_at = match state.units.front() {
                Some(Queued::Outcomes(_)) => {
                    let next = Self::take_outcomes(&mut state);
                    drop(state);
                    self.room.notify_all();
                    return next;
                }
                Some(Queued::Signals(front)) => {
                    let due = front.opened + linger;
                    let ready = linger.is_zero()
                        || state.closed
                        || state.flush_now
                        || state.units.len() > 1
                        || front.signals.len() >= self.batch_size
                        || Instant::now() >= due;
                    if ready {
                        let groups = self.take_ready(&mut state);
                        drop(state);
                        self.room.notify_all();
                        return Next::Groups(groups);
                    }
                    due
                }
                None if state.closed => return Next::Closed,
                None => {
                    if Instant::now() >= idle_until {
                        return Next::Idle;
                    }
                    idle_until
                }
            };
            self.work.wait_until(&mut state, wake_at);
        }
    }

    /// Takes the oldest group and the groups right after it while the total stays within
    /// [`MAX_GROUPS_PER_APPEND`] groups' worth of signals; a batch of outcomes ends the run
    /// (it is appended after them, on its own).
    fn take_ready(&self, state: &mut State) -> Vec<Group> {
        let limit = self.batch_size.saturating_mul(MAX_GROUPS_PER_APPEND);
        let mut taken = Vec::new();
        let mut signals = 0usize;
        while let Some(Queued::Signals(next)) = state.units.front() {
            if !taken.is_empty() && signals + next.signals.len() > limit {
                break;
            }
            let Some(Queued::Signals(group)) = state.units.pop_front() else {
                break;
            };
            signals += group.signals.len();
            state.signals -= group.signals.len();
            state.bytes -= group.bytes;
            taken.push(group);
        }
        if state.units.is_empty() {
            state.flush_now = false;
        }
        taken
    }

    /// Takes the batch of outcomes at the front (the caller saw it there).
    fn take_outcomes(state: &mut State) -> Next {
        let Some(Queued::Outcomes(batch)) = state.units.pop_front() else {
            // Unreachable: the caller holds the lock and saw a batch at the front.
            return Next::Idle;
        };
        state.outcomes -= batch.outcomes.len();
        state.bytes -= batch.bytes;
        if state.units.is_empty() {
            state.flush_now = false;
        }
        Next::Outcomes(batch)
    }

    /// Asks the writer to commit everything queued now; returns the newest unit's slot (which
    /// completes after all before it), or None if nothing was ever queued.
    pub(crate) fn request_flush(&self) -> Option<Newest> {
        let mut state = self.state.lock();
        if !state.units.is_empty() {
            state.flush_now = true;
        }
        let newest = state.newest.clone();
        drop(state);
        self.work.notify_one();
        newest
    }

    /// Refuses further pushes and wakes everyone; the writer drains what is queued.
    pub(crate) fn close(&self) {
        self.state.lock().closed = true;
        self.work.notify_all();
        self.room.notify_all();
    }

    /// Closes the queue and fails every queued unit (dropping a unit's completion fails its
    /// handles): for a writer that stopped.
    pub(crate) fn fail_all(&self) {
        let units = {
            let mut state = self.state.lock();
            state.closed = true;
            state.signals = 0;
            state.outcomes = 0;
            state.bytes = 0;
            std::mem::take(&mut state.units)
        };
        self.room.notify_all();
        drop(units);
    }

    pub(crate) fn depth(&self) -> Depth {
        let state = self.state.lock();
        Depth {
            signals: state.signals,
            bytes: state.bytes,
            max_signals_seen: state.max_signals_seen,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::record::signal::tests_support::valid_signal;

    fn queue(batch_size: usize, max_signals: usize) -> Queue {
        Queue::new(&SinkConfig {
            batch_size,
            max_queued_signals: max_signals,
            ..SinkConfig::default()
        })
    }

    fn signals(n: usize) -> Vec<ValidSignal> {
        (0..n).map(|i| valid_signal(&format!("s{i}"))).collect()
    }

    fn take(q: &Queue) -> Vec<Group> {
        match q.next(Duration::ZERO, Duration::from_millis(1)) {
            Next::Groups(groups) => groups,
            _ => Vec::new(),
        }
    }

    #[test]
    fn signals_join_the_newest_group_until_it_is_full() {
        let q = queue(3, 100);
        let starts: Vec<usize> = (0..7)
            .map(|_| q.push(signals(1), None).ok().unwrap().1)
            .collect();
        assert_eq!(starts, [0, 1, 2, 0, 1, 2, 0]);
        let groups = take(&q);
        let sizes: Vec<usize> = groups.iter().map(|g| g.signals.len()).collect();
        assert_eq!(
            sizes,
            [3, 3, 1],
            "all three waiting groups go in one append"
        );
        assert_eq!(q.depth().signals, 0);
    }

    #[test]
    fn a_batch_stays_in_one_group_even_when_larger_than_batch_size() {
        let q = queue(3, 100);
        q.push(signals(2), None).ok().unwrap();
        let (_, start) = q.push(signals(5), None).ok().unwrap();
        assert_eq!(
            start, 0,
            "does not fit the newest group: a group of its own"
        );
        q.push(signals(1), None).ok().unwrap();
        let sizes: Vec<usize> = take(&q).iter().map(|g| g.signals.len()).collect();
        assert_eq!(sizes, [2, 5, 1]);
    }

    #[test]
    fn one_append_takes_at_most_sixteen_groups_worth() {
        let q = queue(2, 1_000);
        for _ in 0..40 {
            q.push(signals(1), None).ok().unwrap();
        }
        let first: usize = take(&q).iter().map(|g| g.signals.len()).sum();
        assert_eq!(first, 2 * MAX_GROUPS_PER_APPEND);
        let second: usize = take(&q).iter().map(|g| g.signals.len()).sum();
        assert_eq!(second, 40 - first);
    }

    #[test]
    fn a_full_queue_refuses_try_and_times_out_a_wait_giving_signals_back() {
        let q = queue(10, 2);
        q.push(signals(2), None).ok().unwrap();
        let full = q.push(signals(1), None).err().unwrap();
        assert!(matches!(full.why, Why::Full { queued: 2 }));
        assert_eq!(full.signals.len(), 1);
        let timed_out = q
            .push(signals(1), Some(Duration::from_millis(20)))
            .err()
            .unwrap();
        match timed_out.why {
            Why::TimedOut { waited, queued } => {
                assert!(waited >= Duration::from_millis(20));
                assert_eq!(queued, 2);
            }
            _ => panic!("expected a timeout"),
        }
        assert_eq!(timed_out.signals.len(), 1);
        assert_eq!(take(&q).len(), 1);
        assert!(q.push(signals(1), None).is_ok(), "room again once taken");
    }

    #[test]
    fn an_empty_queue_takes_a_batch_larger_than_its_bound() {
        let q = queue(10, 2);
        assert!(q.push(signals(5), None).is_ok());
    }

    #[test]
    fn a_waiting_producer_is_let_in_when_the_writer_takes_a_group() {
        let q = Arc::new(queue(1, 1));
        q.push(signals(1), None).ok().unwrap();
        let producer = {
            let q = Arc::clone(&q);
            std::thread::spawn(move || q.push(signals(1), Some(Duration::from_secs(30))).is_ok())
        };
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(take(&q).len(), 1);
        assert!(producer.join().unwrap());
    }

    #[test]
    fn linger_holds_a_small_group_until_it_is_due() {
        let q = queue(100, 1_000);
        q.push(signals(1), None).ok().unwrap();
        let asked = Instant::now();
        assert!(matches!(
            q.next(Duration::from_millis(50), Duration::from_millis(1)),
            Next::Groups(g) if g.len() == 1
        ));
        assert!(asked.elapsed() >= Duration::from_millis(45));
    }

    /// `next` with a long linger, on another thread: whether it returned a group in 5 s.
    fn taken_despite_linger(q: Arc<Queue>) -> bool {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let got = q.next(Duration::from_secs(30), Duration::from_millis(1));
            let _ = tx.send(matches!(got, Next::Groups(_)));
        });
        rx.recv_timeout(Duration::from_secs(5)).unwrap_or(false)
    }

    #[test]
    fn a_full_group_or_a_flush_ends_the_linger() {
        let q = Arc::new(queue(3, 1_000));
        q.push(signals(3), None).ok().unwrap();
        assert!(taken_despite_linger(Arc::clone(&q)), "a full group");
        q.push(signals(1), None).ok().unwrap();
        assert!(q.request_flush().is_some());
        assert!(taken_despite_linger(q), "a flush");
    }

    fn outcomes(ids: &[&str]) -> Vec<Outcome> {
        ids.iter()
            .map(|id| Outcome {
                signal_id: (*id).to_owned(),
                decision: crate::record::Decision::Acted,
                execution_id: None,
                reason: None,
                decided_at_ns: 0,
            })
            .collect()
    }

    /// What `next` hands out, as ("g", signals) per group taken together or ("o", outcomes).
    fn taken(q: &Queue, linger: Duration) -> Vec<(&'static str, usize)> {
        match q.next(linger, Duration::from_millis(1)) {
            Next::Groups(groups) => groups.iter().map(|g| ("g", g.signals.len())).collect(),
            Next::Outcomes(batch) => vec![("o", batch.outcomes.len())],
            Next::Idle | Next::Closed => Vec::new(),
        }
    }

    #[test]
    fn a_batch_of_outcomes_stays_between_the_groups_before_and_after_it() {
        let q = queue(10, 100);
        q.push(signals(2), None).ok().unwrap();
        q.push(signals(1), None).ok().unwrap();
        q.push_outcomes(outcomes(&["s0", "s1"]), None).ok().unwrap();
        let (_, start) = q.push(signals(1), None).ok().unwrap();
        assert_eq!(start, 0, "a signal after outcomes starts a new group");
        q.push_outcomes(outcomes(&["s2"]), None).ok().unwrap();
        // A long linger does not hold a group with a unit behind it, nor a batch of outcomes.
        let linger = Duration::from_secs(30);
        assert_eq!(taken(&q, linger), [("g", 3)]);
        assert_eq!(taken(&q, linger), [("o", 2)]);
        assert_eq!(taken(&q, linger), [("g", 1)]);
        assert_eq!(taken(&q, linger), [("o", 1)]);
        assert_eq!(q.depth().signals, 0);
        assert_eq!(q.depth().bytes, 0);
        assert!(matches!(
            q.next(Duration::ZERO, Duration::from_millis(1)),
            Next::Idle
        ));
    }

    #[test]
    fn outcomes_count_toward_the_bound_and_a_closed_queue_refuses_them() {
        let q = queue(10, 3);
        q.push(signals(2), None).ok().unwrap();
        q.push_outcomes(outcomes(&["a"]), None).ok().unwrap();
        let full = q.push(signals(1), None).err().unwrap();
        assert!(matches!(full.why, Why::Full { queued: 3 }));
        let full = q.push_outcomes(outcomes(&["b"]), None).err().unwrap();
        assert!(matches!(full.why, Why::Full { queued: 3 }));
        assert_eq!(full.outcomes.len(), 1, "given back");
        assert_eq!(taken(&q, Duration::ZERO), [("g", 2)]);
        assert!(q.push_outcomes(outcomes(&["b"]), None).is_ok());
        q.close();
        let closed = q.push_outcomes(outcomes(&["c"]), None).err().unwrap();
        assert!(matches!(closed.why, Why::Closed));
        assert_eq!(
            taken(&q, Duration::ZERO),
            [("o", 1)],
            "queued units still drain"
        );
        assert_eq!(taken(&q, Duration::ZERO), [("o", 1)]);
        assert!(matches!(
            q.next(Duration::ZERO, Duration::from_millis(1)),
            Next::Closed
        ));
    }

    #[test]
    fn a_flush_returns_the_newest_unit_and_fail_all_fails_queued_outcomes() {
        let q = queue(10, 100);
        assert!(q.request_flush().is_none());
        q.push(signals(1), None).ok().unwrap();
        let slot = q.push_outcomes(outcomes(&["a"]), None).ok().unwrap();
        match q.request_flush() {
            Some(Newest::Outcomes(newest)) => assert!(Arc::ptr_eq(&newest, &slot)),
            _ => panic!("the batch of outcomes is the newest unit"),
        }
        q.fail_all();
        assert!(matches!(
            slot.wait(),
            Err(crate::sink::OutcomePersistError::Failed(
                crate::sink::PersistError::WriterStopped
            ))
        ));
    }

    #[test]
    fn close_refuses_pushes_and_drains_then_reports_closed() {
        let q = queue(10, 100);
        q.push(signals(3), None).ok().unwrap();
        q.close();
        assert!(matches!(
            q.push(signals(1), None).err().unwrap().why,
            Why::Closed
        ));
        assert_eq!(take(&q).len(), 1, "queued signals are still handed out");
        assert!(matches!(
            q.next(Duration::ZERO, Duration::from_millis(1)),
            Next::Closed
        ));
    }
}
