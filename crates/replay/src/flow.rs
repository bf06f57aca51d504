//! [`Flow`]: what a replay does with each decoded event on its way out — skips it until the
//! start time, heeds the [`ReplayControl`] (pause, resume, step, stop, a new speed), waits for
//! its due time on the clock, and counts it in the summary.

use std::sync::Arc;
use std::time::Duration;

use signal_ledger_engine::record::EntryView;

use crate::clock::{Clock, SystemClock};
use crate::control::{Gate, ReplayControl};
use crate::event::{event_time_ns, Event};
use crate::order::ReplayOrder;
use crate::pacer::Pacer;
use crate::position::Position;
use crate::speed::Speed;
use crate::summary::ReplaySummary;

/// Longest single sleep while waiting for an event's time: how soon a pause or a stop is seen
/// during a long gap.
const SLICE: Duration = Duration::from_millis(20);

/// What a replay does with each decoded event: skips it until the start time, heeds the
/// control, paces it, and counts it.
pub(crate) struct Flow {
    /// The replay's order (a delivered event's position is in it).
    pub(crate) order: ReplayOrder,
    /// The event times' schedule on the clock, and how late events were.
    pub(crate) pacer: Pacer,
    /// The clock paced by.
    pub(crate) clock: Arc<dyn Clock>,
    /// The replay's control.
    pub(crate) control: ReplayControl,
    /// In seq order from a time: events before the first one at or after it are skipped.
    skip_before: Option<i64>,
    /// Most events to deliver.
    limit: Option<u64>,
    /// What was delivered so far (without the pacing figures, which the pacer holds).
    pub(crate) summary: ReplaySummary,
}

/// What becomes of a decoded event.
pub(crate) enum Admit {
    /// Hand it over now.
    Deliver,
    /// Before the start time: not part of the replay.
    Skip,
    /// Stopped while it waited.
    Stop,
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

impl Flow {
    /// The flow of a replay in `order` at `speed` (gaps cut to `max_gap`), paced by the system
    /// clock, with a control of its own.
    pub(crate) fn new(
        order: ReplayOrder,
        speed: Speed,
        max_gap: Duration,
        skip_before: Option<i64>,
        limit: Option<u64>,
    ) -> Flow {
        Flow {
            order,
            pacer: Pacer::new(speed, max_gap),
            clock: Arc::new(SystemClock::new()),
            control: ReplayControl::new(),
            skip_before,
            limit,
            summary: ReplaySummary::default(),
        }
    }

    /// Events the limit still allows.
    #[inline]
    pub(crate) fn room(&self) -> u64 {
        let delivered = self.summary.signals + self.summary.outcomes;
        self.limit.map_or(u64::MAX, |l| l.saturating_sub(delivered))
    }

    /// Heeds the control before an event: None when stopped, else whether the event is a step
    /// (delivered at once, while paused).
    #[inline]
    pub(crate) fn gate(&mut self) -> Option<bool> {
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
    #[inline]
    pub(crate) fn admit(&mut self, event: &Event<'_>, step: bool) -> Admit {
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
