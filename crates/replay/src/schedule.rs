//! [`Schedule`]: where the next event of a replay is, in its order — a lazy k-way merge of the
//! segments' matching signals and the window's outcomes.
//!
//! Signals come from each segment's index ([`Catalog::locate_signals`]), sorted by the
//! replay's key. A segment joins the merge only when the merge reaches the smallest key it can
//! hold (its first seq, or its smallest timestamp: a snapshot knows both without an index), so
//! a replay holds the locations of the segments it is in the middle of, not of the ledger; a
//! producer whose clock arrives late is still merged into place, whichever segment stored it.
//! Outcomes are few: they are all located, decoded for their decision time and sorted once.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use signal_ledger_query::{Catalog, Filter, SignalLoc};

use crate::error::Result;
use crate::loc::{misplaced, Loc};
use crate::order::{sort_key, Key, ReplayOrder};

/// The least key a replay delivers: every event with a key at or after (or strictly after)
/// this one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Bound {
    pub key: Key,
    pub inclusive: bool,
}

impl Bound {
    fn admits(&self, key: Key) -> bool {
        if self.inclusive {
            key >= self.key
        } else {
            key > self.key
        }
    }
}

/// One segment in the merge: its matching signals sorted by key, and how many were taken.
#[derive(Debug)]
struct Active {
    locs: Vec<SignalLoc>,
    taken: usize,
}

/// The locations of a replay's events, in its order.
#[derive(Debug)]
pub(crate) struct Schedule {
    order: ReplayOrder,
    filter: Filter,
    bound: Option<Bound>,
    /// Segments not yet merged, as (least key they can hold, segment), largest first.
    pending: Vec<(Key, usize)>,
    /// Segments in the merge.
    active: Vec<Active>,
    /// The head of each active segment: (key, slot in `active`).
    heads: BinaryHeap<Reverse<(Key, usize)>>,
    /// The outcomes to deliver, by key, and how many were taken.
    outcomes: Vec<(Key, Loc)>,
    outcomes_taken: usize,
}

impl Schedule {
    /// The schedule of the signals of `catalog` meeting `filter` and (if `outcomes`) the
    /// outcomes of such signals decided within the filter's window, from `bound` on.
    pub(crate) fn new(
        catalog: &Catalog,
        filter: &Filter,
        order: ReplayOrder,
        outcomes: bool,
        bound: Option<Bound>,
    ) -> Result<Schedule> {
        let mut pending: Vec<(Key, usize)> = Vec::new();
        for (i, segment) in catalog.snapshot().segments().iter().enumerate() {
            if segment.record_count == 0 {
                continue;
            }
            let (least, most) = match order {
                ReplayOrder::Timestamp => (
                    (segment.min_timestamp_ns, 0),
                    (segment.max_timestamp_ns, u64::MAX),
                ),
                ReplayOrder::Seq => (
                    (0, segment.first_seq()),
                    (0, segment.first_seq() + segment.record_count - 1),
                ),
            };
            let outside_window = order == ReplayOrder::Timestamp
                && (filter.to_ns.is_some_and(|to| least.0 >= to)
                    || filter.from_ns.is_some_and(|from| most.0 < from));
            let before_start = bound.is_some_and(|b| !b.admits(most));
            if !outside_window && !before_start {
                pending.push((least, i));
            }
        }
        pending.sort_unstable_by(|a, b| b.cmp(a));
        let outcomes = if outcomes {
            located_outcomes(catalog, filter, order, bound)?
        } else {
            Vec::new()
        };
        Ok(Schedule {
            order,
            filter: filter.clone(),
            bound,
            pending,
            active: Vec::new(),
            heads: BinaryHeap::new(),
            outcomes,
            outcomes_taken: 0,
        })
    }

    /// The next event's location, or None when the replay is over.
    pub(crate) fn next(&mut self, catalog: &Catalog) -> Result<Option<Loc>> {
        let outcome = self.outcomes.get(self.outcomes_taken).copied();
        // Merge every segment that may hold a key at or before the smallest one in hand.
        while let Some(&(least, segment)) = self.pending.last() {
            let in_hand = [
                self.heads.peek().map(|Reverse((k, _))| *k),
                outcome.map(|o| o.0),
            ]
            .into_iter()
            .flatten()
            .min();
            if in_hand.is_some_and(|k| k < least) {
                break;
            }
            self.pending.pop();
            self.activate(catalog, segment)?;
        }
        let signal_key = self.heads.peek().map(|Reverse((k, _))| *k);
        match (signal_key, outcome) {
            (None, None) => Ok(None),
            (Some(s), Some((o, loc))) if o < s => {
                self.outcomes_taken += 1;
                Ok(Some(loc))
            }
            (None, Some((_, loc))) => {
                self.outcomes_taken += 1;
                Ok(Some(loc))
            }
            (Some(_), _) => Ok(self.take_signal().map(Loc::Signal)),
        }
    }

    /// Adds segment `segment`'s matching signals (from the bound on) to the merge.
    fn activate(&mut self, catalog: &Catalog, segment: usize) -> Result<()> {
        let order = self.order;
        let key = |l: &SignalLoc| sort_key(order, l.timestamp_ns, l.seq);
        let mut locs = catalog.locate_signals(segment, &self.filter)?;
        if let Some(bound) = self.bound {
            locs.retain(|l| bound.admits(key(l)));
        }
        if order == ReplayOrder::Timestamp {
            locs.sort_unstable_by_key(key);
        }
        debug_assert!(locs
            .windows(2)
            .all(|w| w.first().map(key) < w.get(1).map(key)));
        if let Some(first) = locs.first() {
            self.heads.push(Reverse((key(first), self.active.len())));
            self.active.push(Active { locs, taken: 0 });
        }
        Ok(())
    }

    /// Takes the signal with the smallest key.
    fn take_signal(&mut self) -> Option<SignalLoc> {
        let Reverse((_, slot)) = self.heads.pop()?;
        let order = self.order;
        let active = self.active.get_mut(slot)?;
        let loc = active.locs.get(active.taken).copied();
        active.taken += 1;
        match active.locs.get(active.taken) {
            Some(next) => {
                let key = sort_key(order, next.timestamp_ns, next.seq);
                self.heads.push(Reverse((key, slot)));
            }
            // Done with this segment: free its locations.
            None => active.locs = Vec::new(),
        }
        loc
    }
}

/// The outcomes a replay delivers, by key: those decided within the filter's window whose
/// signal meets the rest of the filter, from `bound` on.
fn located_outcomes(
    catalog: &Catalog,
    filter: &Filter,
    order: ReplayOrder,
    bound: Option<Bound>,
) -> Result<Vec<(Key, Loc)>> {
    let of_signal = Filter {
        from_ns: None,
        to_ns: None,
        ..filter.clone()
    };
    let any_signal = of_signal == Filter::default();
    let mut located = Vec::new();
    for loc in catalog.outcomes()?.all() {
        let Some(outcome) =
            catalog
                .snapshot()
                .outcome_at(loc.segment, loc.offset as usize, loc.seq)?
        else {
            // Damage is an error; an index that placed it wrongly, skipped.
            misplaced::<()>(catalog, loc.seq)?;
            continue;
        };
        let time_ns = outcome.decided_at_ns;
        let in_window = filter.from_ns.is_none_or(|from| time_ns >= from)
            && filter.to_ns.is_none_or(|to| time_ns < to);
        let key = sort_key(order, time_ns, loc.seq);
        if !in_window || bound.is_some_and(|b| !b.admits(key)) {
            continue;
        }
        if !any_signal && !catalog.signal_matches(outcome.signal_seq, &of_signal)? {
            continue;
        }
        located.push((
            key,
            Loc::Outcome {
                time_ns,
                seq: loc.seq,
                segment: loc.segment,
                offset: loc.offset,
            },
        ));
    }
    located.sort_unstable_by_key(|&(key, _)| key);
    Ok(located)
}
