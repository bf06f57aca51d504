//! [`Start`]: where a replay starts — the beginning, a seq, a time or a saved [`Position`] —
//! and the bound on the replay's keys it comes to ([`start_bound`]).

use signal_ledger_engine::record::EntryView;
use signal_ledger_query::Catalog;

use crate::error::{ReplayError, Result};
use crate::event::{event_time_ns, Event, OwnedEvent};
use crate::order::{sort_key, ReplayOrder};
use crate::position::Position;
use crate::schedule::Bound;

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

/// Where a replay starts, as a bound on its keys, and (seq order from a time) the time before
/// which events are skipped.
pub(crate) fn start_bound(
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
