//! [`Replay`] and [`ReplayOptions`]: a ledger's signals and outcomes in chronological order,
//! paced, delivered to a callback ([`Replay::run`]) or one at a time ([`Replay::next_event`]).
//! Each event's location comes from the [`Schedule`], is read back by [`crate::loc`] and goes
//! out through the [`Flow`]; the iterator and channel forms are in [`crate::channel`].

use std::ops::ControlFlow;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rayon::prelude::*;
use signal_ledger_query::{Catalog, Filter};

use crate::clock::Clock;
use crate::control::ReplayControl;
use crate::error::Result;
use crate::event::Event;
use crate::flow::{Admit, Flow};
use crate::loc::decode;
use crate::order::ReplayOrder;
use crate::schedule::Schedule;
use crate::speed::Speed;
use crate::start::{start_bound, Start};
use crate::summary::{PacingSummary, ReplaySummary};

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
            flow: Flow::new(order, speed, max_gap, skip_before, limit),
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
}
