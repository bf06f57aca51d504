//! The bounded queue between producers and the writer: signals grouped as they arrive into
//! the groups the writer will commit, with waiting for room (backpressure) and for work.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use super::config::SinkConfig;
use super::handle::{Completion, Slot};
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

struct State {
    /// Groups not yet taken by the writer, oldest first. Only the last may still grow.
    groups: VecDeque<Group>,
    signals: usize,
    bytes: usize,
    max_signals_seen: usize,
    closed: bool,
    /// Commit without waiting for groups to fill, until the queue is empty.
    flush_now: bool,
    /// The slot of the newest group ever formed (done, in flight or queued).
    newest: Option<Arc<Slot>>,
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

/// What the writer gets from [`Queue::next`].
pub(crate) enum Next {
    /// Groups to commit together, oldest first (more than one when the writer is behind).
    Groups(Vec<Group>),
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

impl Queue {
    pub(crate) fn new(config: &SinkConfig) -> Queue {
        Queue {
            state: Mutex::new(State {
                groups: VecDeque::new(),
                signals: 0,
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
        // Set when the producer first has to wait (most pushes never do).
        let mut started: Option<Instant> = None;
        let mut state = self.state.lock();
        loop {
            if state.closed {
                return Err(Refused {
                    why: Why::Closed,
                    signals,
                });
            }
            let fits =
                state.signals + n <= self.max_signals && state.bytes + bytes <= self.max_bytes;
            if fits || state.signals == 0 {
                break;
            }
            let queued = state.signals;
            let Some(wait) = wait else {
                return Err(Refused {
                    why: Why::Full { queued },
                    signals,
                });
            };
            let started = *started.get_or_insert_with(Instant::now);
            if self.room.wait_until(&mut state, started + wait).timed_out() {
                let still_full = state.signals != 0
                    && (state.signals + n > self.max_signals
                        || state.bytes + bytes > self.max_bytes);
                if still_full || state.closed {
                    let why = if state.closed {
                        Why::Closed
                    } else {
                        Why::TimedOut {
                            waited: started.elapsed(),
                            queued: state.signals,
                        }
                    };
                    return Err(Refused { why, signals });
                }
            }
        }
        let now = Instant::now();
        state.signals += n;
        state.bytes += bytes;
        state.max_signals_seen = state.max_signals_seen.max(state.signals);
        let batch_size = self.batch_size;
        let (slot, start) = match state.groups.back_mut() {
            Some(newest) if newest.signals.len() + n <= batch_size => {
                newest.add(signals, bytes, now)
            }
            _ => {
                let mut group = Group::new(now, n.max(batch_size.min(4096)));
                let added = group.add(signals, bytes, now);
                state.newest = Some(Arc::clone(&added.0));
                state.groups.push_back(group);
                added
            }
        };
        drop(state);
        self.work.notify_one();
        Ok((slot, start))
    }

    /// The next group to commit: the oldest, once it is full, has waited `linger`, or a flush
    /// or close asks for it. Waits at most `idle_tick` for one to arrive.
    pub(crate) fn next(&self, linger: Duration, idle_tick: Duration) -> Next {
        let mut state = self.state.lock();
        let idle_until = Instant::now() + idle_tick;
        loop {
            let wake_at = match state.groups.front() {
                Some(front) => {
                    let due = front.opened + linger;
                    let ready = linger.is_zero()
                        || state.closed
                        || state.flush_now
                        || state.groups.len() > 1
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

    /// Takes the oldest group and those after it while the total stays within
    /// [`MAX_GROUPS_PER_APPEND`] groups' worth of signals.
    fn take_ready(&self, state: &mut State) -> Vec<Group> {
        let limit = self.batch_size.saturating_mul(MAX_GROUPS_PER_APPEND);
        let mut taken = Vec::new();
        let mut signals = 0usize;
        while let Some(next) = state.groups.front() {
            if !taken.is_empty() && signals + next.signals.len() > limit {
                break;
            }
            let Some(group) = state.groups.pop_front() else {
                break;
            };
            signals += group.signals.len();
            state.signals -= group.signals.len();
            state.bytes -= group.bytes;
            taken.push(group);
        }
        if state.groups.is_empty() {
            state.flush_now = false;
        }
        taken
    }

    /// Asks the writer to commit everything queued now; returns the newest group's slot (which
    /// completes after all before it), or None if nothing was ever queued.
    pub(crate) fn request_flush(&self) -> Option<Arc<Slot>> {
        let mut state = self.state.lock();
        if !state.groups.is_empty() {
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

    /// Closes the queue and fails every queued group (dropping a group's completion fails its
    /// handles): for a writer that stopped.
    pub(crate) fn fail_all(&self) {
        let groups = {
            let mut state = self.state.lock();
            state.closed = true;
            state.signals = 0;
            state.bytes = 0;
            std::mem::take(&mut state.groups)
        };
        self.room.notify_all();
        drop(groups);
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
