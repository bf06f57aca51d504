//! [`Loc`]: where an event of a replay is, as the indexes place it, and the event read back
//! from there ([`decode`]): decoded and re-checked, so an index that lies can make a replay
//! skip an event but never deliver a wrong one.

use signal_ledger_engine::record::EntryView;
use signal_ledger_query::{Catalog, Filter, SignalLoc};

use crate::error::Result;
use crate::event::Event;
use crate::order::ReplayOrder;

/// Where an event is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Loc {
    /// A signal, as its segment's index places it.
    Signal(SignalLoc),
    /// An outcome entry: its decision time, seq, segment and frame offset.
    Outcome {
        time_ns: i64,
        seq: u64,
        segment: usize,
        offset: u32,
    },
}

/// Decodes the event at `loc` and re-checks it; None if the index placed it wrongly or it does
/// not meet the filter after all.
#[inline]
pub(crate) fn decode<'c>(
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
