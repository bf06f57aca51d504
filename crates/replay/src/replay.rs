//! [`Replay`]: a ledger's signals and outcomes in chronological order, paced, delivered to a
//! callback, an iterator or a channel.

use std::ops::ControlFlow;
use std::path::Path;
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use rayon::prelude::*;
use signal_ledger_engine::record::EntryView;
use signal_ledger_query::{Catalog, Filter};

use crate::clock::{Clock, SystemClock};
use crate::control::{Gate, ReplayControl};
use crate::error::{ReplayError, Result};
use crate::event::{event_time_ns, Event, OwnedEvent};
use crate::pacer::Pacer;
use crate::position::{sort_key, Position};
use crate::schedule::{Bound, Loc, Schedule};
use crate::speed::Speed;

/// The order of a replay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum ReplayOrder {
    /// By event time — a signal's own timestamp, an outcome's decision time — then seq:
    /// producers whose clocks arrive out of order are merged into place.
    #[default]
    Timestamp,
    /// Ledger order: as the entries were recorded.
    Seq,
}

impl ReplayOrder {
    /// `timestamp` or `seq`.
    pub fn name(self) -> &'static str {
        match self {
            ReplayOrder::Timestamp => "timestamp",
            ReplayOrder::Seq => "seq",
        }
    }
}

/// Where a replay starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Start {
    /// At the first event.
    #[default]
    Beginning,
    /// At the entry with this seq: in seq order that entry; in timestamp order its place
    /// (its time, then seq) in that order.
    Seq(u64),
    /// At this time (ns): in timestamp order the first event at or after it; in seq order the
    /// first event (in seq order) at or after it, and everything recorded after that one.
    Time(i64),
    /// Just after this position (kept by a consumer from the last event it handled): how a
    /// replay resumes after a restart. Its order must be the replay's.
    After(Position),
}

/// What to replay, and how.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayOptions {
    /// Which signals (its from/to is the window, which an outcome's decision time must meet
    /// too; its other conditions select the signals whose outcomes are replayed).
    pub filter: Filter,
    /// In what order.
    pub order: ReplayOrder,
    /// How fast.
    pub speed: Speed,
    /// The longest wait between two events (a longer gap, divided by the speed, is cut to it).
    pub max_gap: Duration,
    /// Whether outcomes are replayed as events of their own.
    pub outcomes: bool,
    /// Where to start.
    pub start: Start,
    /// Most events to deliver.
    pub limit: Option<u64>,
}

impl Default for ReplayOptions {
    fn default() -> ReplayOptions {
        ReplayOptions {
            filter: Filter::default(),
            order: ReplayOrder::Timestamp,
            speed: Speed::Max,
            max_gap: Duration::from_secs(5),
            outcomes: true,
            start: Start::Beginning,
            limit: None,
        }
    }
}

/// How late paced events were handed over, against their due time on the clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PacingSummary {
    /// Events delivered at a due time (not at max speed, nor by a step).
    pub paced: u64,
    /// Median lateness (to the microsecond).
    pub p50: Duration,
    /// 99th percentile lateness (to the microsecond; 10 ms stands for anything later).
    pub p99: Duration,
    /// The latest.
    pub max: Duration,
}

/// What a replay delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReplaySummary {
    /// Signal events delivered.
    pub signals: u64,
    /// Outcome events delivered.
    pub outcomes: u64,
    /// The position of the last event delivered: start a later replay after it to go on.
    pub last: Option<Position>,
    /// Whether it ended early (stopped through its control, or by the consumer).
    pub stopped: bool,
    /// Pacing accuracy.
    pub pacing: PacingSummary,
}

/// Longest single sleep while waiting for an event's time: how soon a pause or a stop is seen
/// during a long gap.
const SLICE: Duration = Duration::from_millis(20);

/// A replay of one snapshot of a ledger. Build it with [`Replay::open`] or [`Replay::new`];
/// consume it with [`Replay::run`], [`Replay::next_event`], [`Replay::into_events`] or
/// [`Replay::spawn`]; steer it with [`Replay::control`].
pub struct Replay {
    catalog: Catalog,
    filter: Filter,
    /// Whether a signal's latest outcome is needed to judge the filter.
    filter_needs_outcome: bool,
    schedule: Schedule,
    flow: Flow,
}

/// What a replay does with each decoded event: skips it until the start time, heeds the
/// control, paces it, and counts it.
struct Flow {
    order: ReplayOrder,
    pacer: Pacer,
    clock: Arc<dyn Clock>,
    control: ReplayControl,
    /// In seq order from a time: events before the first one at or after it are skipped.
    skip_before: Option<i64>,
    limit: Option<u64>,
    summary: ReplaySummary,
}

/// What becomes of a decoded event.
enum Admit {
    /// Hand it over now.
    Deliver,
    /// Before the start time: not part of the replay.
    Skip,
    /// Stopped while it waited.
    Stop,
}

/// Events decoded side by side (rayon) at max speed, then handed over in order.
const BATCH: usize = 2048;

impl std::fmt::Debug for Replay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Replay")
            .field("order", &self.flow.order)
            .field("filter", &self.filter)
            .field("summary", &self.flow.summary)
            .finish_non_exhaustive()
    }
}

/// How a wait for an event's due time ended.
enum Waited {
    /// The time came (the due time, moved by any pause).
    Due(Duration),
    /// Stepped while paused: deliver now.
    Step,
    /// Stopped.
    Stop,
}

impl Replay {
    /// A replay of a snapshot of the ledger in `dir`, paced by the system clock.
    pub fn open(dir: &Path, options: ReplayOptions) -> Result<Replay> {
        Replay::new(Catalog::open(dir)?, options)
    }

    /// A replay of `catalog`'s snapshot, paced by the system clock.
    pub fn new(catalog: Catalog, options: ReplayOptions) -> Result<Replay> {
        let ReplayOptions {
            filter,
            order,
            speed,
            max_gap,
            outcomes,
            start,
            limit,
        } = options;
        let (bound, skip_before) = start_bound(&catalog, order, start)?;
        let schedule = Schedule::new(&catalog, &filter, order, outcomes, bound)?;
        Ok(Replay {
            filter_needs_outcome: filter.acted_upon.is_some() || filter.has_execution_id.is_some(),
            filter,
            schedule,
            flow: Flow {
                order,
                pacer: Pacer::new(speed, max_gap),
                clock: Arc::new(SystemClock::new()),
                control: ReplayControl::new(),
                skip_before,
                limit,
                summary: ReplaySummary::default(),
            },
            catalog,
        })
    }

    /// Paces by `clock` instead of the system clock (a [`crate::FakeClock`] in tests).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Replay {
        self.flow.clock = clock;
        self
    }

    /// Steered by `control` (one made before the replay, shared with whoever steers it).
    pub fn with_control(mut self, control: ReplayControl) -> Replay {
        self.flow.control = control;
        self
    }

    /// A handle that pauses, resumes, steps, stops or re-speeds this replay from anywhere.
    pub fn control(&self) -> ReplayControl {
        self.flow.control.clone()
    }

    /// The catalog (and snapshot) replayed.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// The catalog back, its indexes loaded: for another replay of the same snapshot.
    pub fn into_catalog(self) -> Catalog {
        self.catalog
    }

    /// The replay's order.
    pub fn order(&self) -> ReplayOrder {
        self.flow.order
    }

    /// What was delivered so far.
    pub fn summary(&self) -> ReplaySummary {
        let lateness = self.flow.pacer.lateness();
        ReplaySummary {
            pacing: PacingSummary {
                paced: lateness.count(),
                p50: lateness.quantile(0.5),
                p99: lateness.quantile(0.99),
                max: lateness.max(),
            },
            ..self.flow.summary
        }
    }

    /// Delivers every event to `consumer`, in order and at its time; the consumer ends the
    /// replay early by returning `Break`. At max speed, events are decoded a batch at a time
    /// on every core and handed over in order.
    pub fn run(
        &mut self,
        mut consumer: impl FnMut(&Event<'_>) -> ControlFlow<()>,
    ) -> Result<ReplaySummary> {
        'batches: loop {
            if self.flow.pacer.is_paced() || self.flow.control.needs_attention() {
                // One event the careful way: it waits, or the control has news.
                match self.next_event()? {
                    Some(event) => {
                        if consumer(&event).is_break() {
                            self.flow.summary.stopped = true;
                            break 'batches;
                        }
                    }
                    None => break 'batches,
                }
                continue;
            }
            let Replay {
                catalog,
                filter,
                filter_needs_outcome,
                schedule,
                flow,
            } = self;
            let room = flow.room().min(BATCH as u64) as usize;
            let mut locs = Vec::with_capacity(room);
            while locs.len() < room {
                match schedule.next(catalog)? {
                    Some(loc) => locs.push(loc),
                    None => break,
                }
            }
            if locs.is_empty() {
                break 'batches;
            }
            let (order, needs_outcome) = (flow.order, *filter_needs_outcome);
            let decoded: Vec<Result<Option<Event<'_>>>> = locs
                .par_iter()
                .map(|&loc| decode(catalog, loc, filter, order, needs_outcome))
                .collect();
            for event in decoded {
                let Some(event) = event? else {
                    continue;
                };
                let Some(step) = flow.gate() else {
                    break 'batches;
                };
                match flow.admit(&event, step) {
                    Admit::Deliver => {
                        if consumer(&event).is_break() {
                            flow.summary.stopped = true;
                            break 'batches;
                        }
                    }
                    Admit::Skip => {}
                    Admit::Stop => break 'batches,
                }
            }
        }
        Ok(self.summary())
    }

    /// The next event, at its time (blocking while paused and until it is due); None when the
    /// replay is over or stopped.
    pub fn next_event(&mut self) -> Result<Option<Event<'_>>> {
        let Replay {
            catalog,
            filter,
            filter_needs_outcome,
            schedule,
            flow,
        } = self;
        let mut step = false;
        loop {
            if flow.room() == 0 {
                return Ok(None);
            }
            match flow.gate() {
                None => return Ok(None),
                Some(stepped) => step |= stepped,
            }
            let Some(loc) = schedule.next(catalog)? else {
                return Ok(None);
            };
            let Some(event) = decode(catalog, loc, filter, flow.order, *filter_needs_outcome)?
            else {
                continue;
            };
            match flow.admit(&event, step) {
                Admit::Deliver => return Ok(Some(event)),
                Admit::Skip => continue,
                Admit::Stop => return Ok(None),
            }
        }
    }

    /// The replay as an iterator of owned events (each paced like [`Replay::next_event`]); an
    /// error ends it.
    pub fn into_events(self) -> ReplayEvents {
        ReplayEvents {
            replay: self,
            failed: false,
        }
    }

    /// Runs the replay on a thread of its own, sending each event, owned, into a channel of
    /// `capacity` events (a full channel holds the replay back: its pacing then follows the
    /// consumer). Dropping the receiver stops it.
    pub fn spawn(self, capacity: usize) -> Result<ReplayChannel> {
        let (sender, events) = sync_channel(capacity);
        let control = self.control();
        let mut replay = self;
        let handle = std::thread::Builder::new()
            .name("signal-ledger-replay".to_owned())
            .spawn(move || {
                replay.run(|event| match sender.send(event.to_record()) {
                    Ok(()) => ControlFlow::Continue(()),
                    Err(_) => ControlFlow::Break(()),
                })
            })
            .map_err(|e| ReplayError::io("spawn", "the replay thread", e))?;
        Ok(ReplayChannel {
            events,
            control,
            handle: Some(handle),
        })
    }
}

impl Flow {
    /// Events the limit still allows.
    fn room(&self) -> u64 {
        let delivered = self.summary.signals + self.summary.outcomes;
        self.limit.map_or(u64::MAX, |l| l.saturating_sub(delivered))
    }

    /// Heeds the control before an event: None when stopped, else whether the event is a step
    /// (delivered at once, while paused).
    fn gate(&mut self) -> Option<bool> {
        if !self.control.needs_attention() {
            return Some(false);
        }
        match attend(&self.control, self.clock.as_ref(), &mut self.pacer) {
            Gate::Stop => {
                self.summary.stopped = true;
                None
            }
            Gate::Step => Some(true),
            Gate::Go => Some(false),
        }
    }

    /// Takes `event` through the start time and its pacing (at once if `step`), and counts it
    /// when it is to be delivered.
    fn admit(&mut self, event: &Event<'_>, step: bool) -> Admit {
        let time_ns = event_time_ns(event);
        if let Some(from) = self.skip_before {
            if time_ns < from {
                return Admit::Skip;
            }
            self.skip_before = None;
        }
        let (clock, pacer) = (self.clock.as_ref(), &mut self.pacer);
        if step {
            pacer.rebase(time_ns, clock.now());
        } else if pacer.is_paced() {
            let due = pacer.due(time_ns, clock.now()).unwrap_or_default();
            match wait_until(due, time_ns, &self.control, clock, pacer) {
                Waited::Stop => {
                    self.summary.stopped = true;
                    return Admit::Stop;
                }
                Waited::Step => pacer.rebase(time_ns, clock.now()),
                Waited::Due(due) => pacer.delivered(time_ns, Some(due), clock.now()),
            }
        } else {
            pacer.unpaced(time_ns);
        }
        match event {
            EntryView::Signal(_) => self.summary.signals += 1,
            EntryView::Outcome(_) => self.summary.outcomes += 1,
        }
        self.summary.last = Some(Position::of(self.order, event));
        Admit::Deliver
    }
}

/// Where a replay starts, as a bound on its keys, and (seq order from a time) the time before
/// which events are skipped.
fn start_bound(
    catalog: &Catalog,
    order: ReplayOrder,
    start: Start,
) -> Result<(Option<Bound>, Option<i64>)> {
    let inclusive = |key| {
        Some(Bound {
            key,
            inclusive: true,
        })
    };
    Ok(match (start, order) {
        (Start::Beginning, _) => (None, None),
        (Start::Seq(seq), ReplayOrder::Seq) => (inclusive((0, seq)), None),
        (Start::Seq(seq), ReplayOrder::Timestamp) => {
            let snapshot = catalog.snapshot();
            if seq < snapshot.first_seq() {
                (None, None)
            } else {
                match snapshot.entry_record(seq)? {
                    Some(entry) => {
                        let time = event_time_ns(&entry_view(&entry));
                        (inclusive((time, seq)), None)
                    }
                    // Beyond the head: nothing to replay.
                    None => (
                        Some(Bound {
                            key: (i64::MAX, u64::MAX),
                            inclusive: false,
                        }),
                        None,
                    ),
                }
            }
        }
        (Start::Time(t), ReplayOrder::Timestamp) => (inclusive((t, 0)), None),
        (Start::Time(t), ReplayOrder::Seq) => (None, Some(t)),
        (Start::After(p), _) => {
            if p.order != order {
                return Err(ReplayError::PositionOrder {
                    position: p.order.name(),
                    replay: order.name(),
                });
            }
            let key = sort_key(order, p.time_ns, p.seq);
            (
                Some(Bound {
                    key,
                    inclusive: false,
                }),
                None,
            )
        }
    })
}

/// An owned entry seen as an event (for its time).
fn entry_view(entry: &OwnedEvent) -> Event<'_> {
    match entry {
        OwnedEvent::Signal(s) => EntryView::Signal(s.as_view()),
        OwnedEvent::Outcome(o) => EntryView::Outcome(o.as_view()),
    }
}

/// Decodes the event at `loc` and re-checks it; None if the index placed it wrongly or it does
/// not meet the filter after all.
fn decode<'c>(
    catalog: &'c Catalog,
    loc: Loc,
    filter: &Filter,
    order: ReplayOrder,
    filter_needs_outcome: bool,
) -> Result<Option<Event<'c>>> {
    match loc {
        Loc::Signal(l) => {
            let Some(view) = catalog
                .snapshot()
                .view_at(l.segment, l.offset as usize, l.seq)?
            else {
                return misplaced(catalog, l.seq);
            };
            // In timestamp order the index's timestamp placed it: it must be the stored one.
            if order == ReplayOrder::Timestamp && view.timestamp_ns != l.timestamp_ns {
                return Ok(None);
            }
            let meets = if filter_needs_outcome {
                filter.matches_view(&catalog.with_outcome(view.clone())?)
            } else {
                filter.matches_view(&view)
            };
            Ok(meets.then_some(EntryView::Signal(view)))
        }
        Loc::Outcome {
            time_ns,
            seq,
            segment,
            offset,
        } => match catalog
            .snapshot()
            .outcome_at(segment, offset as usize, seq)?
        {
            Some(o) => Ok((o.decided_at_ns == time_ns).then_some(EntryView::Outcome(o))),
            None => misplaced(catalog, seq),
        },
    }
}

/// An entry an index placed where no sound frame of its seq is: damage on disk — the error
/// reading the entries reports, whether or not the index came from a sidecar — or else an
/// index that placed it wrongly (None: skipped, never delivered wrong).
pub(crate) fn misplaced<T>(catalog: &Catalog, seq: u64) -> Result<Option<T>> {
    match catalog.snapshot().entries_from(seq).next() {
        Some(Err(e)) => Err(e.into()),
        _ => Ok(None),
    }
}

/// Reads the control: blocks while paused (the pause moves the schedule on), takes up a new
/// speed, and says what to do next.
fn attend(control: &ReplayControl, clock: &dyn Clock, pacer: &mut Pacer) -> Gate {
    let before = clock.now();
    let mut blocked = false;
    let gate = control.gate(&mut blocked);
    if blocked {
        pacer.shift(clock.now().saturating_sub(before));
    }
    if let Some(speed) = control.take_speed() {
        pacer.set_speed(speed, clock.now());
    }
    gate
}

/// Waits until `due` for an event at `time_ns`, heeding the control meanwhile.
fn wait_until(
    mut due: Duration,
    time_ns: i64,
    control: &ReplayControl,
    clock: &dyn Clock,
    pacer: &mut Pacer,
) -> Waited {
    loop {
        if control.needs_attention() {
            match attend(control, clock, pacer) {
                Gate::Stop => return Waited::Stop,
                Gate::Step => return Waited::Step,
                Gate::Go => {
                    // A pause or a new speed moved the schedule: this event's time with it.
                    if let Some(moved) = pacer.due(time_ns, clock.now()) {
                        due = moved;
                    } else {
                        return Waited::Due(clock.now());
                    }
                }
            }
        }
        let now = clock.now();
        if now >= due {
            return Waited::Due(due);
        }
        clock.sleep_until(due.min(now + SLICE));
    }
}

/// A replay as an iterator of owned events.
#[derive(Debug)]
pub struct ReplayEvents {
    replay: Replay,
    failed: bool,
}

impl ReplayEvents {
    /// The replay's control.
    pub fn control(&self) -> ReplayControl {
        self.replay.control()
    }

    /// What was delivered so far.
    pub fn summary(&self) -> ReplaySummary {
        self.replay.summary()
    }
}

impl Iterator for ReplayEvents {
    type Item = Result<OwnedEvent>;

    fn next(&mut self) -> Option<Result<OwnedEvent>> {
        if self.failed {
            return None;
        }
        match self.replay.next_event() {
            Ok(event) => event.map(|e| Ok(e.to_record())),
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

/// A replay running on its own thread: its events arrive on [`ReplayChannel::events`]; when
/// the channel ends, [`ReplayChannel::join`] says whether the replay ended well.
#[derive(Debug)]
pub struct ReplayChannel {
    /// The events, owned, in order.
    pub events: Receiver<OwnedEvent>,
    /// The replay's control.
    pub control: ReplayControl,
    /// None once joined.
    handle: Option<JoinHandle<Result<ReplaySummary>>>,
}

impl ReplayChannel {
    /// Waits for the replay's thread: its summary, or the error that ended it. The events not
    /// received are given up: the receiver is dropped and the replay stopped (a paused replay,
    /// or one waiting out a gap, would not otherwise notice until its next send). The summary
    /// may count events sent but never received: resume from the last event received.
    pub fn join(mut self) -> Result<ReplaySummary> {
        let (_, unused) = sync_channel(0);
        drop(std::mem::replace(&mut self.events, unused));
        self.control.stop();
        let Some(handle) = self.handle.take() else {
            return Ok(ReplaySummary::default());
        };
        handle.join().unwrap_or_else(|_| {
            Err(ReplayError::io(
                "run",
                "the replay thread",
                std::io::Error::other("the replay thread panicked"),
            ))
        })
    }
}

impl Drop for ReplayChannel {
    /// A channel dropped without [`ReplayChannel::join`] stops its replay (the thread ends on
    /// its own, releasing the snapshot).
    fn drop(&mut self) {
        self.control.stop();
    }
}
